/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_handler: the "reqprof" handler: the page's views and the exports.
 *
 * It parses the whole query against one table before doing anything, so a
 * bad parameter gets a 400 with a one-line reason and no other effect.
 * Then: copy every child's region (under their seqlocks, never blocking a
 * profiled request), build one model, and hand it to the renderer of the
 * asked format through a buffered sink.  One kept request (?id= of
 * view=request, ?req= of any other view or export) is looked up before
 * any header, so an unknown or expired one is a 404; its model is that
 * request's alone, and its page's comparison the merged profile of its
 * URI, both from one copy.  POSTs go to rp_control.  Every
 * answer says its charset, must not be stored or framed, and allows only
 * its own inline style and script: the page shows implementation details.
 */

#include <string.h>

#include <apr_base64.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <ap_expr.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "rp_private.h"
#include "rp_answer.h"
#include "rp_config.h"
#include "rp_control.h"
#include "rp_escape.h"
#include "rp_filter.h"
#include "rp_live.h"
#include "rp_handler.h"
#include "rp_query.h"
#include "rp_report.h"
#include "rp_runtime.h"
#include "rp_sort.h"

#define PATH_MAX_LEN 4096
#define SECONDS_MAX 300

/* ------------------------------------------------------------------ */
/* Query parameters */

typedef struct {
    int view;
    int format;
    const char *sort;
    int limit;
    const char *fraction;
    const char *match;
    int strip;
    const char *uri;
    const char *func;
    const char *min;
    int icicle;
    int seconds;
    const char *explain;
    const char *done;       /* after a change: its action (rp_control) */
    const char *id;         /* view=request: the kept request */
    const char *req;        /* any view or export: the kept request */
    const char *uri_match;  /* the list of kept requests: */
    const char *status;
    const char *min_ms;
    const char *order;
} rp_args_t;

static const char *check_path(apr_pool_t *p, const char *v)
{
    (void)p;
    return v[0] == '/' ? NULL : "a request path must start with '/'";
}

static const char *check_sort(apr_pool_t *p, const char *v)
{
    return rp_sort_key_find(v) ? NULL
           : apr_pstrcat(p, "unknown sort key '",
                         apr_pstrndup(p, v, 40), "'; one of: ",
                         rp_sort_key_names(p), NULL);
}

/* A decimal number in [LO, HI], or a reason. */
static const char *check_number(apr_pool_t *p, const char *name,
                                const char *v, double lo, double hi,
                                double *out)
{
    char *end;
    double d = strtod(v, &end);

    if (!*v || *end || d != d || d < lo || d > hi) {
        return apr_psprintf(p, "%s '%s' is not a number from %g to %g", name,
                            apr_pstrndup(p, v, 40), lo, hi);
    }
    if (out) {
        *out = d;
    }
    return NULL;
}

static const char *check_fraction(apr_pool_t *p, const char *v)
{
    return check_number(p, "fraction", v, 0, 1, NULL);
}

static const char *check_min(apr_pool_t *p, const char *v)
{
    return check_number(p, "min", v, 0, 100, NULL);
}

/* The regex is compiled here too, so a bad one is a 400, not a surprise
 * later. */
static const char *check_match(apr_pool_t *p, const char *v)
{
    const char *err = rp_filter_add(rp_filter_create(p), p, RP_RULE_INCLUDE,
                                    v, "match");

    return err ? apr_pstrcat(p, "match: ", err, NULL) : NULL;
}

/* A kept request's id, as the request path makes them and the store
 * keeps them (< RP_KEEP_ID_MAX bytes): what else could not name one. */
#define ID_CHARS                                                             \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"                   \
    "0123456789@_.:-"

static const char *check_id(apr_pool_t *p, const char *v)
{
    apr_size_t n = strspn(v, ID_CHARS);

    if (!*v || v[n] || n >= RP_KEEP_ID_MAX) {
        return apr_psprintf(p,
                            "'%s' is not a request id (1 to %d of the "
                            "characters A-Z a-z 0-9 @ _ . : -)",
                            apr_pstrndup(p, v, 60), RP_KEEP_ID_MAX - 1);
    }
    return NULL;
}

/* Compiled here too, as match's: a bad one is a 400. */
static const char *check_uri_match(apr_pool_t *p, const char *v)
{
    return rp_filter_add(rp_filter_create(p), p, RP_RULE_INCLUDE, v,
                         "uri_match");
}

static const char *check_status(apr_pool_t *p, const char *v)
{
    return rp_report_check_status(p, v, NULL, NULL);
}

/* An empty field of the form is no minimum. */
static const char *check_min_ms(apr_pool_t *p, const char *v)
{
    return *v ? check_number(p, "min_ms", v, 0, 1e9, NULL) : NULL;
}

/* A table laid out as one, by hand (outside clang-format). */
/* clang-format off */
static const rp_qparam_t params[] = {
    { "view", RP_Q_CHOICE, APR_OFFSETOF(rp_args_t, view),
      0, 0, rp_report_view_names, NULL },
    { "format", RP_Q_CHOICE, APR_OFFSETOF(rp_args_t, format),
      0, 0, &rp_report_formats[0].name, NULL, sizeof(rp_format_t) },
    { "sort", RP_Q_STRING, APR_OFFSETOF(rp_args_t, sort),
      0, 32, NULL, check_sort },
    { "limit", RP_Q_INT, APR_OFFSETOF(rp_args_t, limit),
      0, 1000000, NULL, NULL },
    { "fraction", RP_Q_STRING, APR_OFFSETOF(rp_args_t, fraction),
      0, 32, NULL, check_fraction },
    { "match", RP_Q_STRING, APR_OFFSETOF(rp_args_t, match),
      0, 256, NULL, check_match },
    { "strip", RP_Q_FLAG, APR_OFFSETOF(rp_args_t, strip),
      0, 0, NULL, NULL },
    { "uri", RP_Q_STRING, APR_OFFSETOF(rp_args_t, uri),
      0, PATH_MAX_LEN, NULL, check_path },
    { "func", RP_Q_STRING, APR_OFFSETOF(rp_args_t, func),
      0, 1024, NULL, NULL },
    { "min", RP_Q_STRING, APR_OFFSETOF(rp_args_t, min),
      0, 32, NULL, check_min },
    { "icicle", RP_Q_FLAG, APR_OFFSETOF(rp_args_t, icicle),
      0, 0, NULL, NULL },
    { "seconds", RP_Q_INT, APR_OFFSETOF(rp_args_t, seconds),
      1, SECONDS_MAX, NULL, NULL },
    { "explain", RP_Q_STRING, APR_OFFSETOF(rp_args_t, explain),
      0, PATH_MAX_LEN, NULL, check_path },
    { "done", RP_Q_STRING, APR_OFFSETOF(rp_args_t, done),
      0, 32, NULL, rp_control_check_done },
    { "id", RP_Q_STRING, APR_OFFSETOF(rp_args_t, id),
      0, 64, NULL, check_id },
    { "req", RP_Q_STRING, APR_OFFSETOF(rp_args_t, req),
      0, 64, NULL, check_id },
    { "uri_match", RP_Q_STRING, APR_OFFSETOF(rp_args_t, uri_match),
      0, 256, NULL, check_uri_match },
    { "status", RP_Q_STRING, APR_OFFSETOF(rp_args_t, status),
      0, 8, NULL, check_status },
    { "min_ms", RP_Q_STRING, APR_OFFSETOF(rp_args_t, min_ms),
      0, 32, NULL, check_min_ms },
    { "order", RP_Q_STRING, APR_OFFSETOF(rp_args_t, order),
      0, 32, NULL, rp_report_check_order },
    { NULL }
};
/* clang-format on */

/* Bits of rp_query_parse's SEEN, by position in params. */
#define SEEN_VIEW    (1u << 0)
#define SEEN_FORMAT  (1u << 1)

/* ------------------------------------------------------------------ */
/* Output */

/* The sink: 64 KB at a time to the output filters. */
typedef struct {
    request_rec *r;
    char buf[65536];
    apr_size_t used;
} sink_t;

static void sink_flush(sink_t *k)
{
    if (k->used) {
        ap_rwrite(k->buf, (int)k->used, k->r);
        k->used = 0;
    }
}

static void sink_write(rp_out_t *o, const char *s, apr_size_t n)
{
    sink_t *k = o->ctx;

    if (k->used + n > sizeof(k->buf)) {
        sink_flush(k);
        if (n > sizeof(k->buf)) {
            ap_rwrite(s, (int)n, k->r);
            return;
        }
    }
    memcpy(k->buf + k->used, s, n);
    k->used += n;
}

/* 16 random bytes, base64: the nonce of this answer's inline style and
 * script. */
static const char *csp_nonce(request_rec *r)
{
    unsigned char raw[16];
    char *out = apr_palloc(r->pool, apr_base64_encode_len(sizeof(raw)));

    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) {
        return NULL;
    }
    apr_base64_encode(out, (const char *)raw, sizeof(raw));
    return out;
}

/* ------------------------------------------------------------------ */
/* Where the handler was named */

/* mod_status' documented hazard: whoever may write a .htaccess file could
 * open the page.  Refuse when a .htaccess read for this request names the
 * handler (SetHandler), or when the handler came from elsewhere than
 * SetHandler (AddHandler, ForceType...) and any .htaccess was read. */
static int named_in_htaccess(request_rec *r)
{
    const struct htaccess_result *h;
    const core_dir_config *d;
    const char *err = NULL, *v;
    int read_any = 0;

    for (h = r->htaccess; h; h = h->next) {
        /* An entry without a configuration is a directory where httpd
         * looked for a .htaccess file (AllowOverride not None) and found
         * none. */
        if (!h->htaccess) {
            continue;
        }
        read_any = 1;
        d = ap_get_core_module_config(h->htaccess);
        if (d && d->expr_handler) {
            v = ap_expr_str_exec(r, d->expr_handler, &err);
            if (!err && v && strcmp(v, RP_HANDLER) == 0) {
                return 1;
            }
        }
    }
    if (read_any) {
        d = ap_get_core_module_config(r->per_dir_config);
        if (!d || !d->expr_handler) {
            return 1;
        }
        v = ap_expr_str_exec(r, d->expr_handler, &err);
        if (err || !v || strcmp(v, RP_HANDLER) != 0) {
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Explain */

/* The path as the filters would see it: percent-decoded (a '/' encoded as
 * %2F stays encoded, as httpd's default AllowEncodedSlashes Off rejects
 * it anyway) and with "." and ".." segments resolved. */
static rp_explain_view_t *explain(request_rec *r,
                                  const rp_server_conf_t *conf,
                                  const char *given)
{
    rp_explain_view_t *x = apr_pcalloc(r->pool, sizeof(*x));
    char *path = apr_pstrdup(r->pool, given);
    char *q = strchr(path, '?');

    if (q) {
        *q = '\0';
    }
    x->given = given;
    x->bad_escape = (ap_unescape_url_keep2f(path, 1) != OK);
    ap_getparents(path);
    x->path = path;
    rp_filter_explain(conf->filter, path, strlen(path), &x->e);
    x->n_include = rp_filter_count(conf->filter, RP_RULE_INCLUDE);
    return x;
}

/* ------------------------------------------------------------------ */
/* The model */

static int model_flags(const rp_view_opts_t *o, const rp_format_t *fmt)
{
    return (o->strip_dirs ? RP_MODEL_STRIP_DIRS : 0)
           | (fmt->labels ? RP_MODEL_LABELS : 0);
}

/* The model of one kept request (o->req) into C, and for its own page
 * the merged profile of its URI too (c->base, what is typical of it);
 * or a reason for a 404 when no child keeps a request of that id. */
static const char *build_request(request_rec *r, const rp_view_opts_t *o,
                                 const rp_format_t *fmt, rp_render_t *c)
{
    rp_runtime_t *rt = rp_runtime_get();
    int flags = model_flags(o, fmt);
    rp_snapshot_t *snap, *one;
    const rp_kept_t *k;

    /* One copy of every region, with that request's timeline: its own
     * profile and its URI's come from the same moment. */
    snap = rp_store_snapshot_ex(rt->store, r->pool, RP_SNAP_KEPT, o->req);
    one = rp_snapshot_request(r->pool, snap, o->req);
    if (!one || !(k = rp_snapshot_kept(one))) {
        return apr_pstrcat(r->pool, "no kept request has the id ", o->req,
                           ": it was never kept, has given way to newer "
                           "ones, or the profile was cleared",
                           NULL);
    }
    c->m = rp_model_build(r->pool, one, rt->symbols, o->focus, flags);
    if (o->view == RP_VIEW_REQUEST) {
        c->base = rp_model_build(r->pool, snap, rt->symbols, k->uri, flags);
    }
    return NULL;
}

static rp_model_t *build_model(request_rec *r, const rp_view_opts_t *o,
                               const rp_format_t *fmt)
{
    rp_runtime_t *rt = rp_runtime_get();
    rp_snapshot_t *snap;
    rp_model_t *before;
    int flags = model_flags(o, fmt);

    /* Copy under the seqlocks; render later with no lock held.  The
     * requests view lists the kept requests too. */
    snap = rp_store_snapshot_ex(rt->store, r->pool,
                                o->view == RP_VIEW_REQUESTS ? RP_SNAP_KEPT
                                                            : 0,
                                NULL);
    before = rp_model_build(r->pool, snap, rt->symbols, o->focus, flags);
    if (!o->seconds) {
        return before;
    }
    /* The next N seconds only, as Go's /debug/pprof/profile?seconds=N. */
    apr_sleep(apr_time_from_sec(o->seconds));
    snap = rp_store_snapshot(rt->store, r->pool);
    return rp_model_diff(r->pool, before,
                         rp_model_build(r->pool, snap, rt->symbols,
                                        o->focus, flags));
}

/* ------------------------------------------------------------------ */
/* The requests in flight */

static int by_start(const void *x, const void *y)
{
    const rp_live_entry_t *a = x, *b = y;

    return a->start < b->start ? -1 : a->start > b->start ? 1 : 0;
}

static const char *const live_states[] = { "starting", "running", "blocked",
                                           "unknown" };

/* view=now's facts: every child's requests in flight, their PCs placed
 * in this process's objects (the children's, since all are forked after
 * every module is loaded) and symbolized. */
static const rp_now_view_t *now_view(request_rec *r, rp_runtime_t *rt)
{
    rp_now_view_t *v = apr_pcalloc(r->pool, sizeof(*v));
    rp_now_entry_t *out;
    rp_live_entry_t *in;
    apr_time_t now = apr_time_now();
    int i, k;

    v->n = rp_live_read(r->pool, &in, &v->children);
    qsort(in, (apr_size_t)v->n, sizeof(*in), by_start);
    v->e = out = apr_pcalloc(r->pool, sizeof(*out) * (v->n + 1));
    for (i = 0; i < v->n; i++) {
        const rp_live_entry_t *e = &in[i];
        rp_now_entry_t *o = &out[i];
        rp_now_frame_t *f;

        o->pid = e->pid;
        o->tid = e->tid;
        o->method = e->method;
        o->uri = e->uri;
        o->vhost = e->vhost;
        o->client = e->client;
        o->id = e->id;
        o->elapsed_ms = (double)(now - e->start) / 1000.0;
        o->state = live_states[e->state];
        if (e->state == RP_LIVE_BLOCKED) {
            o->syscall = rp_live_syscall_name(e->sysno);
            if (!o->syscall) {
                o->syscall = e->sysno >= 0
                                 ? apr_psprintf(r->pool, "syscall %ld",
                                                e->sysno)
                                 : "a page fault";
            }
        }
        o->look_ms = e->look ? (double)(now - e->look) / 1000.0 : -1;
        o->sample_ms = e->sample_age_us >= 0
                           ? (double)e->sample_age_us / 1000.0
                           : -1;
        o->truncated = e->truncated;
        o->depth = e->depth;
        o->frames = f = apr_pcalloc(r->pool, sizeof(*f) * (e->depth + 1));
        for (k = 0; k < e->depth; k++) {
            apr_uint64_t rel = 0;
            const rp_loaded_t *obj = NULL;
            const rp_symbol_t *sym;
            rp_script_frame_t sf;

            if (RP_INTERP_IS_TAG(e->pcs[k])) {
                /* Named by the child that ran it. */
                if (rp_live_script(e->script, e->pcs[k], &sf)) {
                    f[k].function = apr_pstrmemdup(r->pool, sf.name,
                                                   sf.name_len);
                    f[k].file = sf.file_len ? apr_pstrmemdup(r->pool, sf.file,
                                                             sf.file_len)
                                            : NULL;
                    f[k].line = sf.line;
                    f[k].object = rp_lang_names[sf.lang];
                }
                else {
                    f[k].function = "[script frame]";
                }
                continue;
            }
            obj = rt->objects ? rp_objects_find(rt->objects, e->pcs[k], &rel)
                              : NULL;

            if (!obj) {
                f[k].function = apr_psprintf(r->pool,
                                             "0x%" APR_UINT64_T_HEX_FMT,
                                             e->pcs[k]);
                continue;
            }
            /* Past the innermost frame the PCs are return addresses. */
            sym = rp_symbols_lookup(rt->symbols, obj->path, obj->build_id,
                                    k > 0 && rel ? rel - 1 : rel);
            f[k].function = sym->function;
            f[k].file = sym->file;
            f[k].line = sym->line;
            f[k].object = obj->path;
        }
    }
    return v;
}

/* ------------------------------------------------------------------ */
/* Entry */

/* From the parsed query to the view options, or a reason for a 400. */
static const char *view_opts(request_rec *r, const rp_args_t *a,
                             apr_uint32_t seen, const rp_format_t *fmt,
                             rp_view_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->view = a->explain ? RP_VIEW_EXPLAIN : (rp_view_e)a->view;
    if (a->explain && (seen & SEEN_VIEW) && a->view != RP_VIEW_EXPLAIN) {
        return "explain= goes with view=explain";
    }
    if (!fmt->page && (seen & SEEN_VIEW)) {
        return apr_pstrcat(r->pool, "format ", fmt->name, " exports the "
                           "whole profile and takes no view", NULL);
    }
    if (a->seconds && fmt->page) {
        return "seconds= goes with an export format (pprof, collapsed, "
               "callgrind, dot, svg)";
    }
    if (a->explain && !fmt->page) {
        return "explain is answered as html, text or json";
    }
    /* One request: id= names it on its own page, req= in any other view
     * or export. */
    if (a->id && o->view != RP_VIEW_REQUEST) {
        return "id= goes with view=request (req= picks a request for any "
               "other view or export)";
    }
    if (a->id && a->req && strcmp(a->id, a->req) != 0) {
        return "id= and req= name different requests";
    }
    o->req = a->id ? a->id : a->req;
    if (o->view == RP_VIEW_REQUEST && !o->req) {
        return "view=request needs id=ID, the id of a kept request (see "
               "view=requests)";
    }
    if (o->req && a->seconds) {
        return "seconds= and req= do not go together: a kept request is "
               "already over";
    }
    if (o->req && RP_VIEW_NO_MODEL(o->view)) {
        return o->view == RP_VIEW_NOW ? "view=now shows the requests running "
                                        "now: no req="
                                      : "explain answers for a path, not a "
                                        "request: no req=";
    }
    if (a->uri_match && *a->uri_match) {
        rp_filter_t *f = rp_filter_create(r->pool);
        rp_filter_add(f, r->pool, RP_RULE_INCLUDE, a->uri_match, "uri_match");
        o->uri_re = f;
        o->uri_match = a->uri_match;
    }
    if (a->status) {
        rp_report_check_status(r->pool, a->status, &o->status_lo,
                               &o->status_hi);
    }
    o->min_ms = a->min_ms && *a->min_ms ? strtod(a->min_ms, NULL) : 0;
    o->order = a->order && *a->order ? a->order : NULL;
    o->select.sort = a->sort;
    o->select.limit = a->limit;
    if (a->fraction) {
        o->select.fraction = strtod(a->fraction, NULL);
    }
    if (a->match) {
        rp_filter_t *f = rp_filter_create(r->pool);
        rp_filter_add(f, r->pool, RP_RULE_INCLUDE, a->match, "match");
        o->select.match = f;
        o->match = a->match;
    }
    o->strip_dirs = a->strip;
    o->focus = a->uri;
    o->func = a->func;
    o->min_pct = a->min ? strtod(a->min, NULL) : 0;
    o->icicle = a->icicle;
    o->seconds = a->seconds;
    return NULL;
}

/* What rp_control needs of this process's state. */
static const rp_control_keys_t *control_keys(rp_control_keys_t *k)
{
    const rp_runtime_t *rt = rp_runtime_get();

    k->store = rt->store;
    k->secret = rt->secret;
    k->secret_len = sizeof(rt->secret);
    return k;
}

static void page_facts(request_rec *r, const rp_server_conf_t *conf,
                       const rp_args_t *a, const char *nonce,
                       rp_page_t *pg)
{
    rp_runtime_t *rt = rp_runtime_get();
    rp_control_keys_t keys;

    memset(pg, 0, sizeof(*pg));
    pg->self = ap_escape_uri(r->pool, r->uri);
    pg->csp_nonce = nonce;
    pg->nonce = rt->store ? rp_control_nonce(r->pool, control_keys(&keys))
                          : NULL;
    pg->version = RP_VERSION;
    pg->host = apr_psprintf(r->pool, "%s:%u", r->server->server_hostname,
                            ap_get_server_port(r));
    pg->configured_enabled = conf->enabled;
    pg->configured_timer = conf->timer;
    pg->configured_frequency = conf->frequency;
    pg->default_sort = conf->sort;
    pg->default_strip = conf->strip_dirs;
    pg->default_limit = conf->limit;
    pg->max_depth = conf->max_depth;
    pg->signame = conf->signame;
    pg->signo = conf->signo;
    pg->memory = conf->memory;
    pg->filter = conf->filter;
    pg->slot = rt->slot;
    pg->sampler_off = rt->sampler_off;
    pg->limit_hits = rp_filter_limit_hits();
    if (a->explain) {
        pg->explain = explain(r, conf, a->explain);
    }
    if (rt->store) {
        rp_settings_t now;
        rp_store_settings_get(rt->store, &now);
        if (!now.enabled) {
            pg->notice = "profiling is paused: nothing new is collected";
        }
    }
    pg->notice = rp_control_notice(r->pool, a->done, pg->notice);
}

int rp_handler(request_rec *r)
{
    const rp_server_conf_t *conf;
    rp_runtime_t *rt = rp_runtime_get();
    rp_control_keys_t keys;
    rp_args_t args;
    rp_view_opts_t opts;
    rp_page_t page;
    rp_render_t c;
    rp_out_t out;
    sink_t *sink;
    apr_uint32_t seen;
    const rp_format_t *fmt;
    const char *err, *nonce = NULL;

    if (!r->handler || strcmp(r->handler, RP_HANDLER) != 0) {
        return DECLINED;
    }
    if (named_in_htaccess(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RP_LOGNO(1102)
                      "the reqprof handler is named in a .htaccess file "
                      "(or not by SetHandler): refused; name it with "
                      "SetHandler in the server configuration");
        return rp_answer_fail(r, HTTP_FORBIDDEN, "the reqprof page may "
                               "only be enabled with SetHandler in the "
                               "server configuration, not in .htaccess");
    }
    ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", "POST", NULL);
    if (r->method_number == M_POST) {
        return rp_control_post(r, control_keys(&keys));
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    conf = rp_config_get(r->server);
    memset(&args, 0, sizeof(args));
    args.sort = conf->sort;
    args.limit = conf->limit;
    args.strip = conf->strip_dirs;
    if ((err = rp_query_parse(r->pool, r->args, params, &args, &seen))) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, RP_LOGNO(1101)
                      "bad query: %s", rp_escape_text(r->pool, err));
        return rp_answer_fail(r, HTTP_BAD_REQUEST, err);
    }
    fmt = &rp_report_formats[args.format];
    if ((err = view_opts(r, &args, seen, fmt, &opts))) {
        return rp_answer_fail(r, HTTP_BAD_REQUEST, err);
    }
    if (opts.view != RP_VIEW_EXPLAIN && !rt->store) {
        return rp_answer_fail(r, HTTP_SERVICE_UNAVAILABLE, "no profile: "
                               "the shared memory could not be set up (see "
                               "the error log)");
    }
    if (opts.view != RP_VIEW_EXPLAIN && !rp_runtime_symbols(r)) {
        return rp_answer_fail(r, HTTP_SERVICE_UNAVAILABLE, "no profile: "
                              "the symbolizer could not be set up (see the "
                              "error log)");
    }
    memset(&c, 0, sizeof(c));
    if (opts.req && (err = build_request(r, &opts, fmt, &c))) {
        /* Known before any header: a HEAD of a gone request is a 404
         * too. */
        return rp_answer_fail(r, HTTP_NOT_FOUND, err);
    }
    if (strcmp(fmt->name, "html") == 0 || strcmp(fmt->name, "svg") == 0) {
        nonce = csp_nonce(r);
    }
    rp_answer_headers(r, fmt->content_type, nonce);
    if (fmt->extension) {
        apr_table_setn(r->headers_out, "Content-Disposition",
                       apr_psprintf(r->pool, "%s; filename=\"reqprof-%"
                                    APR_TIME_T_FMT ".%s\"",
                                    fmt->attachment ? "attachment"
                                                    : "inline",
                                    apr_time_sec(r->request_time),
                                    fmt->extension));
    }
    if (r->header_only) {
        return OK;
    }
    page_facts(r, conf, &args, nonce, &page);
    sink = apr_palloc(r->pool, sizeof(*sink));
    sink->r = r;
    sink->used = 0;
    memset(&out, 0, sizeof(out));
    out.pool = r->pool;
    out.ctx = sink;
    out.write = sink_write;
    if (!c.m && !RP_VIEW_NO_MODEL(opts.view)) {
        c.m = build_model(r, &opts, fmt);
    }
    if (opts.view == RP_VIEW_NOW) {
        page.now = now_view(r, rt);
    }
    c.o = &opts;
    c.page = &page;
    c.out = &out;
    c.p = r->pool;
    rp_report_render(fmt, &c);
    sink_flush(sink);
    return OK;
}
