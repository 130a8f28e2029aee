/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_request: the per-request decision, the start and the end of a
 * profiled request (see rp_request.h).
 *
 * Only initial requests are considered: subrequests and internal redirects
 * run on the same thread inside the initial request, so its profile already
 * covers them.  A request that is not profiled costs one load of the live
 * settings and, when profiling is on, one PCRE2 JIT match per pattern.
 *
 * A profiled request raises its thread's flag in translate_name and lowers
 * it when the end of its output has passed the REQPROF_END filter on the
 * same thread: under the event MPM the rest (write completion, logging)
 * may run later on another thread, which must not be charged to it.  A
 * request pool cleanup ends what the filter did not (an aborted request).
 * The end drains the thread's samples into this child's region: PCs are
 * placed in their loaded object (never symbolized here), under the
 * child's lock, which only this child's threads take.
 *
 * Each profiled request gets an id at its start, mod_unique_id's
 * UNIQUE_ID when that module set one, else the module's own; it is the
 * request note "reqprof-id" (for LogFormat's %{reqprof-id}n) and what the
 * page opens a kept request by.  What a kept request shows beside its
 * samples (query, host, handler, content type, bytes, request headers
 * with credentials redacted) is gathered at its end, before the lock.
 * With ReqProfServerTiming On, an output filter puts the request's wall
 * and CPU time so far, and its id, in a Server-Timing header as the
 * response's headers go out.
 */

#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mpm_common.h>
#include <util_filter.h>

#include "rp_private.h"
#include "rp_config.h"
#include "rp_filter.h"
#include "rp_live.h"
#include "rp_request.h"
#include "rp_runtime.h"
#include "rp_sampler.h"
#include "rp_store.h"
#include "rp_timer.h"
#include "rp_tsc.h"

#define END_FILTER "REQPROF_END"
#define TIMING_FILTER "REQPROF_TIMING"
#define ID_NOTE       "reqprof-id"

typedef struct {
    request_rec *r;
    rp_thread_t *t;
    apr_uint32_t token;         /* this request's hold on t's flag */
    apr_time_t start;
    apr_uint32_t generation;    /* of the profile when the request began */
    const char *id;             /* its id (the reqprof-id note) */
    rp_live_ref_t live;         /* its record among those in flight */
    int done;
    int timing; /* the Server-Timing filter was added */
} rp_req_ctx_t;

/* The leaf a sample's state puts below its stack (rp_sample_state_e). */
static const rp_frame_kind_e state_kinds[] = {
    RP_FRAME_REAL,              /* RP_SAMPLE_STACK: no leaf */
    RP_FRAME_WAIT_CPU,
    RP_FRAME_BLOCKED,
    RP_FRAME_OFF_CPU
};

static ap_filter_rec_t *end_filter_handle;
static ap_filter_rec_t *timing_filter_handle;
/* This child's own ids: its pid and a count (atomic: any thread). */
static apr_uint32_t id_count;
static int logged_no_thread;
static int logged_offcpu;

/* The store's index of the object holding PC (REL set), or NONE. */
static apr_uint32_t place(rp_runtime_t *rt, apr_uint64_t pc,
                          apr_uint64_t *rel)
{
    const rp_loaded_t *obj = rp_objects_find(rt->objects, pc, rel);
    apr_uintptr_t id;

    if (!obj) {
        /* A library loaded since the last look: look again, once. */
        rp_objects_refresh(rt->objects);
        if (!(obj = rp_objects_find(rt->objects, pc, rel))) {
            *rel = pc;
            return RP_STORE_NONE;
        }
    }
    id = (apr_uintptr_t)apr_hash_get(rt->object_ids, &obj, sizeof(obj));
    if (!id) {
        /* Cached either way: a full object table is not asked again. */
        const rp_loaded_t **key = apr_pmemdup(rt->pool, &obj, sizeof(obj));
        id = (apr_uintptr_t)rp_store_object(rt->store, rt->slot, obj->path,
                                            obj->build_id) + 1;
        apr_hash_set(rt->object_ids, key, sizeof(obj), (void *)id);
    }
    if ((apr_uint32_t)(id - 1) == RP_STORE_NONE) {
        *rel = pc;
    }
    return (apr_uint32_t)(id - 1);
}

/* Script functions a child remembers the object index of; past it a new
 * one is looked up in the store each time (a linear scan there). */
#define SCRIPT_IDS_MAX 65536

/* The object index of the script frame W of a sample of T, its current
 * line in *REL.  SEEN (the request's) caches it by W's entry. */
static apr_uint32_t place_script(rp_runtime_t *rt, const rp_thread_t *t,
                                 apr_hash_t *seen, apr_uint64_t w,
                                 apr_uint64_t *rel)
{
    rp_script_frame_t f;
    apr_uint64_t entry = w & ~(APR_UINT64_C(0xFFFFFF) << 32);
    char key[2 * RP_INAME_MAX + 32];
    apr_size_t len;
    apr_uintptr_t id;

    rp_sampler_script(t, w, &f);
    *rel = (apr_uint64_t)f.line;
    if ((id = (apr_uintptr_t)apr_hash_get(seen, &entry, sizeof(entry)))) {
        return (apr_uint32_t)(id - 1);
    }
    len = (apr_size_t)apr_snprintf(key, sizeof(key), "%d %.*s%c%.*s%c%d",
                                   f.lang, (int)f.name_len, f.name, 0,
                                   (int)f.file_len, f.file, 0, f.first_line);
    id = (apr_uintptr_t)apr_hash_get(rt->script_ids, key, len);
    if (!id) {
        char *name = apr_pstrmemdup(apr_hash_pool_get(seen), f.name,
                                    f.name_len);
        char *file = apr_pstrmemdup(apr_hash_pool_get(seen), f.file,
                                    f.file_len);
        id = (apr_uintptr_t)rp_store_script(rt->store, rt->slot, f.lang, name,
                                            file, f.first_line)
             + 1;
        if (apr_hash_count(rt->script_ids) < SCRIPT_IDS_MAX) {
            apr_hash_set(rt->script_ids, apr_pmemdup(rt->pool, key, len), len,
                         (void *)id);
        }
    }
    apr_hash_set(seen,
                 apr_pmemdup(apr_hash_pool_get(seen), &entry, sizeof(entry)),
                 sizeof(entry), (void *)id);
    return (apr_uint32_t)(id - 1);
}

/* The request headers of R as "name\0value\0" pairs into *LEN bytes,
 * cut at a pair to RP_KEEP_HDR_MAX, the values of credentials and of
 * ReqProfRedact's headers replaced: they never reach shared memory. */
static const char *kept_headers(request_rec *r, const rp_server_conf_t *conf,
                                apr_size_t *len)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    char *buf = apr_palloc(r->pool, RP_KEEP_HDR_MAX);
    apr_size_t used = 0, nl, vl;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        const char *v;

        if (!e[i].key) {
            continue;
        }
        v = rp_config_redacted(conf, e[i].key) ? "[redacted]"
            : e[i].val                         ? e[i].val
                                               : "";
        nl = strlen(e[i].key);
        vl = strlen(v);
        if (used + nl + vl + 2 > RP_KEEP_HDR_MAX) {
            break;
        }
        memcpy(buf + used, e[i].key, nl + 1);
        used += nl + 1;
        memcpy(buf + used, v, vl + 1);
        used += vl + 1;
    }
    *len = used;
    return buf;
}

/* Whether any ReqProfKeep rule keeps requests: else their headers are
 * not worth gathering. */
static int keeps(const rp_server_conf_t *conf)
{
    return conf->keep.recent > 0 || conf->keep.slowest > 0
           || conf->keep.errors > 0;
}

static int by_end(const void *x, const void *y)
{
    const rp_sample_view_t *a = x, *b = y;

    return a->end_us < b->end_us ? -1 : a->end_us > b->end_us ? 1 : 0;
}

/* Store the request; with its samples when OWN (they are on this
 * thread). */
static void drain(rp_req_ctx_t *ctx, int own, const rp_sampler_counts_t *c,
                  apr_int64_t wall_us, apr_int64_t cpu_us)
{
    rp_runtime_t *rt = rp_runtime_get();
    request_rec *r = ctx->r;
    apr_hash_t *seen = NULL; /* script frames' objects, by entry */
    const rp_server_conf_t *conf;
    rp_request_info_t info;
    rp_keep_info_t keep;
    rp_drop_counts_t drops;
    rp_sample_view_t *views;
    rp_frame_t *frames;
    rp_sample_t s;
    apr_size_t pos = 0, nframes = 0;
    int n = 0, i, offcpu = 0;

    while (own && rp_sampler_next(ctx->t, &pos, &s)) {
        n++;
        nframes += (apr_size_t)s.depth + 1;     /* + a state leaf */
    }
    views = apr_palloc(r->pool, sizeof(*views) * (n + 1));
    frames = apr_palloc(r->pool, sizeof(*frames) * (nframes + 1));
    info.time = ctx->start;
    info.method = r->method;
    info.uri = r->uri;
    /* The request's other labels (for exports such as pprof): samples of
     * one URI under another method, status, host or handler are kept
     * apart.  Unit separators between the fields; none of them can hold
     * one (a method is a token, a status a number, host and handler come
     * from the configuration). */
    info.label = apr_psprintf(r->pool, "%s\x1f%d\x1f%s\x1f%s", r->method,
                              r->status, r->server->server_hostname
                              ? r->server->server_hostname : "",
                              r->handler ? r->handler : "");
    info.status = r->status;
    info.wall_us = wall_us;
    info.cpu_us = cpu_us;
    info.keep = NULL;
    conf = rp_config_get(r->server);
    if (ctx->id && keeps(conf)) {
        keep.id = ctx->id;
        keep.query = r->args;
        keep.vhost = r->server->server_hostname;
        keep.handler = r->handler;
        keep.content_type = r->content_type;
        keep.bytes = r->bytes_sent > 0 ? (apr_uint64_t)r->bytes_sent : 0;
        keep.headers = kept_headers(r, conf, &keep.headers_len);
        info.keep = &keep;
    }
    memset(&drops, 0, sizeof(drops));
    drops.ticks = c->ticks;
    drops.buffer_full = c->buffer_full;
    drops.unwind_failed = c->unwind_failed;
    drops.other_dropped = c->other_dropped;
    drops.outside_request = c->outside_request;
    drops.script_merged = c->merge.merged;
    drops.script_mismatch = c->merge.mismatch;
    drops.script_fault = c->merge.fault;
    drops.script_cut = c->merge.cut;
    drops.script_names_full = c->merge.names_full;

    apr_thread_mutex_lock(rt->lock);
    pos = 0;
    n = 0;
    nframes = 0;
    while (own && rp_sampler_next(ctx->t, &pos, &s)) {
        rp_frame_t *f = frames + nframes;
        int lead = s.state != RP_SAMPLE_STACK;
        if (lead) {
            /* Where the time went that the stack does not say: a leaf
             * below the stack's innermost frame. */
            f[0].kind = state_kinds[s.state];
            f[0].object = RP_STORE_NONE;
            f[0].rel = 0;
        }
        for (i = 0; i < s.depth; i++) {
            /* Past the innermost frame the PCs are return addresses: the
             * call is the instruction before. */
            apr_uint64_t pc = s.pcs[i] - (i > 0 ? 1 : 0);
            if (RP_INTERP_IS_TAG(s.pcs[i])) {
                if (!seen) {
                    seen = apr_hash_make(r->pool);
                }
                f[lead + i].object = place_script(rt, ctx->t, seen, s.pcs[i],
                                                  &f[lead + i].rel);
                f[lead + i].kind = f[lead + i].object == RP_STORE_NONE
                                       ? RP_FRAME_UNKNOWN
                                       : RP_FRAME_REAL;
                continue;
            }
            f[lead + i].object = place(rt, pc, &f[lead + i].rel);
            f[lead + i].kind = f[lead + i].object == RP_STORE_NONE
                               ? RP_FRAME_UNKNOWN : RP_FRAME_REAL;
        }
        views[n].frames = f;
        views[n].depth = s.depth + lead;
        views[n].truncated = s.truncated;
        views[n].weight_ns = s.weight_ns;
        views[n].offcpu = s.offcpu;
        views[n].end_us = s.time_ns > c->begin_ns
                              ? (s.time_ns - c->begin_ns) / 1000
                              : 0;
        nframes += (apr_size_t)(s.depth + lead);
        offcpu |= s.offcpu;
        n++;
    }
    if (offcpu && info.keep) {
        /* The off-CPU sampler's samples follow the signal's: in time
         * order for the kept request's timeline. */
        qsort(views, n, sizeof(*views), by_end);
    }
    rp_store_add_request(rt->store, rt->slot, &info, views, n, &drops);
    apr_thread_mutex_unlock(rt->lock);
}

/* End the profile of CTX's request, exactly once, on whatever thread
 * this runs.  Its samples are read only on its own thread, while that
 * thread still runs it; ended elsewhere, the request is kept with its
 * exact wall time and no samples or CPU time (neither is known). */
static void finish(rp_req_ctx_t *ctx)
{
    rp_runtime_t *rt = rp_runtime_get();
    rp_sampler_counts_t counts;
    apr_int64_t wall_us, cpu_us = 0;
    apr_uint64_t tsc = RP_TSC_NOW();
    int own;

    if (ctx->done) {
        return;
    }
    ctx->done = 1;
    rp_live_end(&ctx->live);
    own = rp_sampler_end(ctx->t, ctx->token, &counts);
    rp_tsc_add(RP_TSC_END, counts.samples > 0, tsc);
    if (__atomic_load_n(&rt->exiting, __ATOMIC_ACQUIRE)) {
        /* The child's pool is going (prefork's hard stop can get here
         * from a signal handler): the tables drain needs may be freed
         * already, and a half-written region is repaired at the next
         * claim anyway. */
        return;
    }
    if (rp_store_generation(rt->store) != ctx->generation) {
        /* The profile was cleared meanwhile (by Clear, or by a timer
         * switch, whose samples of the old clock must not join the new):
         * a request that began before it is not part of the new one. */
        return;
    }
    wall_us = (apr_int64_t)(apr_time_now() - ctx->start);
    if (own) {
        /* The sampler read the thread's CPU clock at both ends. */
        cpu_us = (apr_int64_t)(counts.cpu_ns / 1000);
    }
    tsc = RP_TSC_NOW();
    drain(ctx, own, &counts, wall_us, cpu_us);
    rp_tsc_add(RP_TSC_DRAIN, counts.samples > 0, tsc);
}

static apr_status_t end_cleanup(void *data)
{
    finish(data);
    return APR_SUCCESS;
}

static apr_status_t end_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    rp_req_ctx_t *ctx = f->ctx;
    int eos = !APR_BRIGADE_EMPTY(bb)
              && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb));
    apr_status_t rv = ap_pass_brigade(f->next, bb);

    if (eos) {
        ap_remove_output_filter(f);
        finish(ctx);
    }
    return rv;
}

/* Whether ID may name a kept request: what the page accepts. */
static int id_ok(const char *id)
{
    apr_size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                              "qrstuvwxyz0123456789@_.:-");

    return n > 0 && n < RP_KEEP_ID_MAX && id[n] == '\0';
}

/* R's id: mod_unique_id's when it set one the page can take, else this
 * child's own: start time, pid and a count, in hex (unique over the
 * children and restarts of one host). */
static const char *request_id(request_rec *r, apr_time_t start)
{
    const char *u = apr_table_get(r->subprocess_env, "UNIQUE_ID");

    if (u && id_ok(u)) {
        return u;
    }
    return apr_psprintf(r->pool, "%" APR_UINT64_T_HEX_FMT "-%x-%x",
                        (apr_uint64_t)start, (unsigned)rp_runtime_get()->pid,
                        __atomic_add_fetch(&id_count, 1, __ATOMIC_RELAXED));
}

static apr_status_t watch_end(void *data)
{
    rp_live_end(data);
    return APR_SUCCESS;
}

/* A request watched, not profiled (profiling paused, its host has a slow
 * log): in flight until its pool goes. */
static void watch_only(request_rec *r, long period_ns)
{
    rp_live_ref_t *ref = apr_palloc(r->pool, sizeof(*ref));

    /* A running thread's stack comes from its CPU-clock tick. */
    rp_sampler_attach(period_ns);

    *ref = rp_live_begin(r, request_id(r, r->request_time));
    if (ref->idx) {
        apr_pool_cleanup_register(r->pool, ref, watch_end,
                                  apr_pool_cleanup_null);
    }
}

int rp_request_translate(request_rec *r)
{
    rp_runtime_t *rt = rp_runtime_get();
    const rp_server_conf_t *conf;
    rp_settings_t live;
    rp_req_ctx_t *ctx;
    rp_thread_t *t;
    apr_uint64_t tsc, tsc_sampler;

    /* Not a path (OPTIONS *, such as the MPMs' own wake-up requests at a
     * restart): nothing the filters could have meant. */
    if (r->main || r->prev || !r->uri || r->uri[0] != '/' || !rt->store
        || rt->sampler_off) {
        return DECLINED;
    }
    rp_store_settings_get(rt->store, &live);
    conf = rp_config_get(r->server);
    /* Paused, a host with a slow log still watches its requests. */
    if (!live.enabled && conf->slow_after <= 0) {
        return DECLINED;
    }
    tsc = RP_TSC_NOW();
    if (!rp_filter_match(conf->filter, r->uri, strlen(r->uri))) {
        rp_tsc_add(RP_TSC_MATCH, 0, tsc);
        return DECLINED;
    }
    rp_tsc_add(RP_TSC_MATCH, 0, tsc);
    if (!live.enabled) {
        watch_only(r, rp_timer_period_ns(live.frequency));
        return DECLINED;
    }
    tsc = RP_TSC_NOW();
    /* httpd escapes error-log messages itself. */
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, RP_LOGNO(1001)
                  "profiling %s", r->uri);
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    tsc_sampler = RP_TSC_NOW();
    t = rp_sampler_begin(rp_timer_period_ns(live.frequency),
                         live.timer == RP_TIMER_REAL, r->connection, ctx,
                         &ctx->token);
    rp_tsc_add(RP_TSC_SAMPLER, 0, tsc_sampler);
    if (!t) {
        if (!logged_no_thread) {
            logged_no_thread = 1;
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, RP_LOGNO(1002)
                          "cannot sample on this thread (timer or memory): "
                          "its requests are not profiled");
        }
        return DECLINED;
    }
    if (live.timer == RP_TIMER_REAL && !logged_offcpu
        && rp_sampler_offcpu_failed()) {
        logged_offcpu = 1;
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, RP_LOGNO(1003)
                      "%s", rp_sampler_offcpu_failed());
    }
    ctx->r = r;
    ctx->t = t;
    ctx->generation = rp_store_generation(rt->store);
    ctx->start = apr_time_now();
    ctx->id = request_id(r, ctx->start);
    apr_table_setn(r->notes, ID_NOTE, ctx->id);
    ctx->live = rp_live_begin(r, ctx->id);
    ap_set_module_config(r->request_config, &reqprof_module, ctx);
    ap_add_output_filter_handle(end_filter_handle, ctx, r, r->connection);
    apr_pool_cleanup_register(r->pool, ctx, end_cleanup,
                              apr_pool_cleanup_null);
    rp_tsc_add(RP_TSC_BEGIN, 0, tsc);
    return DECLINED;
}

/* The event MPM suspends a connection whose handler returned SUSPENDED
 * (asynchronous tunnels, timed callbacks): the thread goes back to the
 * pool and the request resumes, or ends, on another.  Its profile is
 * what ran on its own thread: end it here, while that thread is still
 * the one holding its samples. */
static void suspend_connection(conn_rec *c, request_rec *r)
{
    rp_req_ctx_t *ctx = rp_sampler_owner(c);

    (void)r;
    if (ctx) {
        finish(ctx);
    }
}

/* Server-Timing, as the response's headers are about to go: the wall
 * and CPU time of the request so far (the handler's work for most
 * responses; not what streaming the body takes after) and its id. */
static apr_status_t timing_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    rp_req_ctx_t *ctx = f->ctx;
    request_rec *r = f->r;
    double wall = (double)(apr_time_now() - ctx->start) / 1000.0;
    double cpu = (double)rp_sampler_cpu_ns(ctx->t) / 1e6;

    /* err_headers_out: kept when an error response replaces the rest.
     * Set, not merged, in it alone: an error response after a first
     * pass moves that table to headers_out and runs this again. */
    apr_table_unset(r->headers_out, "Server-Timing");
    apr_table_setn(r->err_headers_out, "Server-Timing",
                   apr_psprintf(r->pool,
                                "reqprof-wall;dur=%.3f, "
                                "reqprof-cpu;dur=%.3f, "
                                "reqprof-id;desc=\"%s\"",
                                wall, cpu, ctx->id));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* insert_filter: by now the directory's configuration is known. */
static void insert_timing(request_rec *r)
{
    rp_req_ctx_t *ctx = ap_get_module_config(r->request_config,
                                             &reqprof_module);

    if (ctx && !ctx->timing && !ctx->done && ctx->r == r
        && rp_config_server_timing(r)) {
        ctx->timing = 1;
        ap_add_output_filter_handle(timing_filter_handle, ctx, r,
                                    r->connection);
    }
}

/* insert_error_filter: an error response starts again from the protocol
 * filters (ap_send_error_response), without the one added above. */
static void insert_timing_error(request_rec *r)
{
    rp_req_ctx_t *ctx = ap_get_module_config(r->request_config,
                                             &reqprof_module);

    if (ctx && !ctx->done && ctx->r == r && rp_config_server_timing(r)) {
        ctx->timing = 1;
        ap_add_output_filter_handle(timing_filter_handle, ctx, r,
                                    r->connection);
    }
}

void rp_request_register(apr_pool_t *p)
{
    (void)p;
    /* Before the header filter (a protocol filter) and after the content
     * filters. */
    timing_filter_handle =
        ap_register_output_filter(TIMING_FILTER, timing_filter, NULL,
                                  AP_FTYPE_CONTENT_SET + 9);
    ap_hook_insert_filter(insert_timing, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(insert_timing_error, NULL, NULL,
                                APR_HOOK_MIDDLE);
    /* After the content filters (deflate's work is the request's), before
     * the connection's: a per-request protocol filter. */
    end_filter_handle = ap_register_output_filter(END_FILTER, end_filter,
                                                  NULL,
                                                  AP_FTYPE_PROTOCOL + 4);
    ap_hook_suspend_connection(suspend_connection, NULL, NULL,
                               APR_HOOK_MIDDLE);
}
