/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_status: the reqprof section of mod_status' /server-status page.
 *
 * mod_status runs its optional status_hook at the end of its report; this
 * file answers it and owns nothing else.  As HTML: a heading, whether
 * profiling is on or paused, the timer, the frequency asked and the rate
 * delivered, the totals (requests profiled, samples, drops, kept
 * requests), the five functions with the most self samples, and the way
 * to the reqprof page.  With ?auto (AP_STATUS_SHORT) the same state and
 * totals as "Key: value" lines, as mod_status writes its own.  With
 * ReqProf Off (and profiling not turned on from the page since) the HTML
 * section is one line.  When mod_status is not loaded the hook never runs.
 *
 * Monitoring polls ?auto, so it must stay cheap: one copy of the store, as
 * every view of the page takes, and with ?auto nothing more (the totals
 * are summed from the copy; no model is built, nothing symbolized).  The
 * HTML builds the model the page's functions view builds (the child's
 * cached symbolizer, ReqProfStripDirs) and selects its rows the same way,
 * five of them sorted by self.
 *
 * Where the page is: httpd does not say which URL a handler serves.  The
 * paths of literal <Location> sections whose SetHandler is reqprof are
 * collected from the configuration tree at post_config, and a path is
 * linked only when httpd, asked for it as a subrequest of the status
 * request (looked up, never run), answers that the reqprof handler serves
 * it to this client; else the section names the page without a URL.  A
 * client the page refuses thus costs one "client denied" line in the
 * error log, as httpd logs every refused lookup (mod_autoindex's too).
 */

#include "rp_private.h"

#include <string.h>

#include <apr_fnmatch.h>
#include <apr_optional_hooks.h>
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_cfgtree.h>
#include <mod_status.h>

#include "rp_config.h"
#include "rp_escape.h"
#include "rp_model.h"
#include "rp_runtime.h"
#include "rp_status.h"

/* Rows of the functions table. */
#define TOP_FUNCTIONS 5

#define CTR(c) (1u << (c))

/* The totals in the order shown: the ?auto key, the label people read,
 * and the counters (rp_counter_e bits) summed over every region. */
/* clang-format off */
static const struct {
    const char *key;
    const char *label;
    apr_uint32_t counters;
} totals[] = {
    { "ReqProfRequests", "requests profiled", CTR(RP_CTR_REQUESTS) },
    { "ReqProfSamples",  "samples",           CTR(RP_CTR_SAMPLES) },
    /* Ticks that became no sample, every cause (the page's "drops"). */
    { "ReqProfDropped",  "dropped",           CTR(RP_CTR_BUFFER_FULL)
                                              | CTR(RP_CTR_UNWIND_FAILED)
                                              | CTR(RP_CTR_OTHER_DROPPED) },
    { "ReqProfKept",     "kept requests",     CTR(RP_CTR_KEPT) }
};
/* clang-format on */

#define NTOTALS ((int)(sizeof(totals) / sizeof(totals[0])))

/* ------------------------------------------------------------------ */
/* Where the page is */

/* Paths of the literal <Location> sections that name the reqprof
 * handler, of this configuration (from its pool; NULL once it goes). */
static apr_array_header_t *page_paths;

static apr_status_t forget_paths(void *unused)
{
    (void)unused;
    page_paths = NULL;
    return APR_SUCCESS;
}

/* Whether section D itself says SetHandler reqprof. */
static int names_handler(const ap_directive_t *d, apr_pool_t *p)
{
    for (d = d->first_child; d; d = d->next) {
        const char *args = d->args;
        if (strcasecmp(d->directive, "SetHandler") == 0
            && strcasecmp(ap_getword_conf(p, &args), RP_HANDLER) == 0) {
            return 1;
        }
    }
    return 0;
}

static void collect(const ap_directive_t *d, apr_pool_t *p,
                    apr_array_header_t *out)
{
    for (; d; d = d->next) {
        if (strcasecmp(d->directive, "<Location") == 0
            && names_handler(d, p)) {
            /* The section's arguments end with its '>'. */
            const char *end = strrchr(d->args, '>');
            const char *args = apr_pstrndup(p, d->args,
                                            end ? (apr_size_t)(end - d->args)
                                                : strlen(d->args));
            const char *path = ap_getword_conf(p, &args);
            /* "~ regex" and wildcards name no one URL. */
            if (path[0] == '/' && !apr_fnmatch_test(path)) {
                APR_ARRAY_PUSH(out, const char *) = path;
            }
        }
        if (d->first_child) {
            collect(d->first_child, p, out);
        }
    }
}

static int status_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    (void)ptemp;
    (void)s;
    page_paths = apr_array_make(pconf, 2, sizeof(const char *));
    collect(ap_conftree, pconf, page_paths);
    apr_pool_cleanup_register(pconf, NULL, forget_paths,
                              apr_pool_cleanup_null);
    return OK;
}

/* The first collected path, URL-escaped, that httpd would serve R's
 * client with the reqprof handler; or NULL. */
static const char *page_url(request_rec *r)
{
    int i;

    for (i = 0; page_paths && i < page_paths->nelts; i++) {
        const char *url = rp_escape_url(r->pool, APR_ARRAY_IDX(page_paths, i,
                                                               const char *));
        request_rec *rr = ap_sub_req_lookup_uri(url, r, NULL);
        int ok = rr->status == HTTP_OK && rr->handler
                 && strcmp(rr->handler, RP_HANDLER) == 0;

        ap_destroy_sub_req(rr);
        if (ok) {
            return url;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The section */

static const char *h(request_rec *r, const char *s)
{
    return rp_escape_html(r->pool, s ? s : "");
}

/* The totals of every copied region, in the order of totals[]. */
static void sum_totals(const rp_snapshot_t *snap, apr_uint64_t *out)
{
    int i, t, c;

    memset(out, 0, NTOTALS * sizeof(*out));
    for (i = 0; i < rp_snapshot_nregions(snap); i++) {
        const rp_region_t *g = rp_snapshot_region(snap, i);
        for (t = 0; t < NTOTALS; t++) {
            for (c = 0; c < RP_CTR_MAX; c++) {
                if (totals[t].counters & CTR(c)) {
                    out[t] += g->counters[c];
                }
            }
        }
    }
}

static void put_auto(request_rec *r, const rp_snapshot_t *snap)
{
    const rp_snapshot_info_t *in = rp_snapshot_info(snap);
    apr_uint64_t sums[NTOTALS];
    int t;

    sum_totals(snap, sums);
    ap_rprintf(r,
               "ReqProfEnabled: %d\n"
               "ReqProfTimer: %s\n"
               "ReqProfFrequency: %d\n",
               in->settings.enabled ? 1 : 0,
               rp_escape_text(r->pool, rp_timer_name(in->settings.timer)),
               in->settings.frequency);
    for (t = 0; t < NTOTALS; t++) {
        ap_rprintf(r, "%s: %" APR_UINT64_T_FMT "\n", totals[t].key, sums[t]);
    }
    /* Each clear starts a new one, and the totals at 0: what a poller
     * needs to tell a clear from a counter going backwards. */
    ap_rprintf(r, "ReqProfGeneration: %u\n", (unsigned)in->generation);
}

/* Where function F is: "file:line", the file, or its object. */
static const char *where(request_rec *r, const rp_func_t *f)
{
    if (f->file && f->line) {
        return apr_psprintf(r->pool, "%s:%d", h(r, f->file), f->line);
    }
    return h(r, f->file ? f->file : f->object);
}

/* At most TOP_FUNCTIONS functions of M, those with the most self samples
 * (none without): a table, or lines when mod_status was asked for no
 * tables. */
static void put_top(request_rec *r, const rp_model_t *m, int flags)
{
    int notable = (flags & AP_STATUS_NOTABLE) != 0;
    apr_array_header_t *rows;
    rp_select_t sel;
    int total, n, i;

    memset(&sel, 0, sizeof(sel));
    sel.sort = "self";
    sel.limit = TOP_FUNCTIONS;
    rows = rp_model_select(r->pool, m, &sel, &total, NULL);
    /* Sorted by self: those without come last. */
    for (n = 0; n < rows->nelts; n++) {
        if (!rp_model_func(m, APR_ARRAY_IDX(rows, n, apr_uint32_t))
                 ->self_count) {
            break;
        }
    }
    if (!n) {
        ap_rputs("<p>No samples yet.</p>\n", r);
        return;
    }
    ap_rprintf(r,
               "<p>Top functions by self samples (%d of %d "
               "functions):</p>\n",
               n, total);
    ap_rputs(notable ? "<dl>\n"
                     : "<table border=\"0\"><tr><th>self</th>"
                       "<th>self %</th><th>self ms</th><th>function</th>"
                       "<th>where</th></tr>\n",
             r);
    for (i = 0; i < n; i++) {
        const rp_func_t *f =
            rp_model_func(m, APR_ARRAY_IDX(rows, i, apr_uint32_t));
        double pct = rp_model_pct(f->self_count, m->samples);
        double ms = rp_model_ms(f->self_ns);

        if (notable) {
            ap_rprintf(r,
                       "<dt><code>%s</code> %" APR_UINT64_T_FMT " samples "
                       "(%.1f%%, %.1f ms), %s</dt>\n",
                       h(r, f->name), f->self_count, pct, ms, where(r, f));
        }
        else {
            ap_rprintf(r,
                       "<tr><td>%" APR_UINT64_T_FMT "</td><td>%.1f%%</td>"
                       "<td>%.1f</td><td><code>%s</code></td><td>%s</td>"
                       "</tr>\n",
                       f->self_count, pct, ms, h(r, f->name), where(r, f));
        }
    }
    ap_rputs(notable ? "</dl>\n" : "</table>\n", r);
}

static void put_html(request_rec *r, const rp_server_conf_t *conf,
                     const rp_snapshot_t *snap, int flags)
{
    const rp_snapshot_info_t *in = rp_snapshot_info(snap);
    rp_symbols_t *syms = rp_runtime_symbols(r);
    const rp_model_t *m = NULL;
    apr_uint64_t sums[NTOTALS], us = 0;
    const char *url;
    double hz = 0;
    int t;

    if (syms) {
        m = rp_model_build(r->pool, snap, syms, NULL,
                           conf->strip_dirs ? RP_MODEL_STRIP_DIRS : 0);
        hz = rp_model_delivered_hz(m, &us);
    }
    sum_totals(snap, sums);
    ap_rprintf(r, "<dl>\n<dt>Profiling: %s; %s timer, %d Hz asked",
               in->settings.enabled ? "on" : "paused",
               h(r, rp_timer_name(in->settings.timer)),
               in->settings.frequency);
    if (us) {
        ap_rprintf(r, ", %.1f Hz delivered", hz);
    }
    ap_rputs("</dt>\n<dt>Totals: ", r);
    for (t = 0; t < NTOTALS; t++) {
        ap_rprintf(r, "%s%" APR_UINT64_T_FMT " %s", t ? ", " : "", sums[t],
                   h(r, totals[t].label));
    }
    ap_rputs("</dt>\n</dl>\n", r);
    if (m) {
        put_top(r, m, flags);
    }
    else {
        ap_rputs("<p>No functions: the symbolizer could not be set up "
                 "(see the error log).</p>\n",
                 r);
    }
    if ((url = page_url(r)) != NULL) {
        ap_rvputs(r,
                  "<p>For the whole profile, see the reqprof handler "
                  "page at <a href=\"",
                  h(r, url), "\">", h(r, url), "</a>.</p>\n", NULL);
    }
    else {
        ap_rputs("<p>For the whole profile, see the reqprof handler "
                 "page.</p>\n",
                 r);
    }
}

static int status_section(request_rec *r, int flags)
{
    const rp_server_conf_t *conf = rp_config_get(r->server);
    rp_runtime_t *rt = rp_runtime_get();
    int brief = (flags & AP_STATUS_SHORT) != 0;
    rp_settings_t live;

    /* mod_status writes its page for a HEAD too; the filters drop it. */
    if (r->header_only) {
        return OK;
    }
    if (!brief) {
        ap_rputs("<hr />\n<h2>mod_reqprof</h2>\n", r);
    }
    if (!rt->store) {
        ap_rputs(brief ? "ReqProfEnabled: 0\n"
                       : "<p>No profile: the shared memory could not be "
                         "set up (see the error log).</p>\n",
                 r);
        return OK;
    }
    rp_store_settings_get(rt->store, &live);
    if (!brief && !live.enabled && !conf->enabled) {
        ap_rputs("<p>ReqProf is Off: no request is profiled.</p>\n", r);
        return OK;
    }
    /* One copy, as the page's (never blocks a profiled request). */
    if (brief) {
        put_auto(r, rp_store_snapshot(rt->store, r->pool));
    }
    else {
        put_html(r, conf, rp_store_snapshot(rt->store, r->pool), flags);
    }
    return OK;
}

void rp_status_register(apr_pool_t *p)
{
    (void)p;
    APR_OPTIONAL_HOOK(ap, status_hook, status_section, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_hook_post_config(status_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}
