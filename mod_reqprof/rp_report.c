/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report: the profile as text (pstats-like columns) and as JSON.
 *
 * Both show the same things from the same model: the settings at the
 * snapshot, the accounting line (every tick a sample or a counted drop),
 * the delivered sampling rate, one row per child slot, the per-URI totals
 * and the function table; JSON adds every distinct stack (by function),
 * outermost first, so tools and tests can check where samples sit.
 */

#include <string.h>

#include <apr_strings.h>
#include <http_protocol.h>

#include "rp_private.h"
#include "rp_config.h"
#include "rp_escape.h"
#include "rp_report.h"

static void render_text(request_rec *r, const rp_model_t *m,
                        const rp_view_opts_t *o);
static void render_json(request_rec *r, const rp_model_t *m,
                        const rp_view_opts_t *o);

static const rp_format_t formats[] = {
    { "text", "text/plain; charset=utf-8",       render_text },
    { "json", "application/json; charset=utf-8", render_json },
    { NULL, NULL, NULL }
};

const char *const rp_report_format_names[] = { "text", "json", NULL };

const rp_format_t *rp_report_format(const char *name)
{
    const rp_format_t *f;

    for (f = formats; f->name; f++) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Shared figures */

static double ms(apr_uint64_t ns)
{
    return (double)ns / 1e6;
}

static double pct(apr_uint64_t part, apr_uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Samples delivered per second of the time the timer measures (CPU time
 * for the cpu timer, wall time for real) in the profiled requests. */
static double delivered_hz(const rp_model_t *m, apr_uint64_t *time_us)
{
    apr_uint64_t us = 0;
    int i;
    apr_uint32_t u;

    for (i = 0; i < m->nregions; i++) {
        const rp_region_t *reg = m->regions[i];
        for (u = 0; u < reg->n_uris; u++) {
            us += m->info->settings.timer == RP_TIMER_REAL
                  ? reg->uris[u].sum_wall_us : reg->uris[u].sum_cpu_us;
        }
    }
    *time_us = us;
    return us ? (double)m->counters[RP_CTR_SAMPLES] * 1e6 / (double)us : 0;
}

static const char *name_of(const rp_model_t *m, apr_uint32_t f)
{
    return ((const rp_func_t *)m->funcs->elts)[f].name;
}

/* ------------------------------------------------------------------ */
/* Text */

static void text_accounting(request_rec *r, const rp_model_t *m)
{
    const apr_uint64_t *c = m->counters;
    apr_uint64_t us;
    double hz = delivered_hz(m, &us);

    ap_rprintf(r, "settings         profiling %s, %s timer, %d Hz asked, "
               "%.1f Hz delivered\n",
               m->info->settings.enabled ? "on" : "off",
               rp_config_timer_name(m->info->settings.timer),
               m->info->settings.frequency, hz);
    ap_rprintf(r, "requests         %" APR_UINT64_T_FMT " profiled\n",
               c[RP_CTR_REQUESTS]);
    ap_rprintf(r, "accounting       ticks %" APR_UINT64_T_FMT " = samples %"
               APR_UINT64_T_FMT " + buffer_full %" APR_UINT64_T_FMT
               " + unwind_failed %" APR_UINT64_T_FMT " + other %"
               APR_UINT64_T_FMT "\n", c[RP_CTR_TICKS], c[RP_CTR_SAMPLES],
               c[RP_CTR_BUFFER_FULL], c[RP_CTR_UNWIND_FAILED],
               c[RP_CTR_OTHER_DROPPED]);
    ap_rprintf(r, "stored with less detail: truncated %" APR_UINT64_T_FMT
               ", table_full %" APR_UINT64_T_FMT "; uri_full %"
               APR_UINT64_T_FMT ", object_full %" APR_UINT64_T_FMT "\n",
               c[RP_CTR_DEPTH_TRUNCATED], c[RP_CTR_TABLE_FULL],
               c[RP_CTR_URI_FULL], c[RP_CTR_OBJECT_FULL]);
    ap_rprintf(r, "generation       %u; regions repaired %u, reset %u "
               "(%" APR_UINT64_T_FMT " samples lost), busy %d; no slot %u\n",
               m->info->generation, m->info->regions_repaired,
               m->info->regions_reset, m->info->samples_lost,
               m->info->busy, m->info->no_slot);
}

static void text_children(request_rec *r, const rp_model_t *m)
{
    int i;

    ap_rputs("\nslot      pid  requests   samples     ticks     drops\n", r);
    for (i = 0; i < m->nregions; i++) {
        const rp_region_t *g = m->regions[i];
        const apr_uint64_t *c = g->counters;
        ap_rprintf(r, "%4d %8d %9" APR_UINT64_T_FMT " %9" APR_UINT64_T_FMT
                   " %9" APR_UINT64_T_FMT " %9" APR_UINT64_T_FMT "\n",
                   g->slot, (int)g->owner, c[RP_CTR_REQUESTS],
                   c[RP_CTR_SAMPLES], c[RP_CTR_TICKS],
                   c[RP_CTR_BUFFER_FULL] + c[RP_CTR_UNWIND_FAILED]
                   + c[RP_CTR_OTHER_DROPPED]);
    }
}

static void text_functions(request_rec *r, const rp_model_t *m,
                           const rp_view_opts_t *o)
{
    apr_array_header_t *order = rp_model_sorted(r->pool, m, o->sort);
    const rp_func_t *funcs = (const rp_func_t *)m->funcs->elts;
    int i, n = order->nelts;

    if (o->limit && n > o->limit) {
        n = o->limit;
    }
    ap_rprintf(r, "\n%s%s%s: %" APR_UINT64_T_FMT " samples, %.1f ms "
               "estimated; %d functions, sorted by %s%s\n\n",
               m->focus ? "profile of " : "profile",
               m->focus ? rp_escape_text(r->pool, m->focus) : "", "",
               m->samples, ms(m->weight_ns), order->nelts, o->sort,
               n < order->nelts ? apr_psprintf(r->pool, ", first %d", n)
                                : "");
    ap_rputs("    self  self%    self ms      cum   cum%     cum ms  "
             "function  (file)\n", r);
    for (i = 0; i < n; i++) {
        const rp_func_t *f = &funcs[((apr_uint32_t *)order->elts)[i]];
        ap_rprintf(r, "%8" APR_UINT64_T_FMT " %5.1f%% %10.2f %8"
                   APR_UINT64_T_FMT " %5.1f%% %10.2f  %s  (%s%s)\n",
                   f->self_count, pct(f->self_count, m->samples),
                   ms(f->self_ns), f->cum_count,
                   pct(f->cum_count, m->samples), ms(f->cum_ns),
                   rp_escape_text(r->pool, f->name),
                   rp_escape_text(r->pool, f->file ? f->file : f->object),
                   f->file && f->line
                   ? apr_psprintf(r->pool, ":%d", f->line) : "");
    }
}

static void render_text(request_rec *r, const rp_model_t *m,
                        const rp_view_opts_t *o)
{
    text_accounting(r, m);
    text_children(r, m);
    text_functions(r, m, o);
}

/* ------------------------------------------------------------------ */
/* JSON */

static const char *js(request_rec *r, const char *s)
{
    return rp_escape_json(r->pool, s ? s : "");
}

static void json_counters(request_rec *r, const apr_uint64_t *c)
{
    int i;

    ap_rputs("{", r);
    for (i = 0; i < RP_CTR_MAX; i++) {
        ap_rprintf(r, "%s\"%s\": %" APR_UINT64_T_FMT, i ? ", " : "",
                   rp_store_counter_name((rp_counter_e)i), c[i]);
    }
    ap_rputs("}", r);
}

/* Every node with self samples, as its path of function names. */
static void json_stacks(request_rec *r, const rp_model_t *m)
{
    const rp_tnode_t *nodes = (const rp_tnode_t *)m->nodes->elts;
    apr_uint32_t *path = apr_palloc(r->pool, sizeof(*path)
                                    * (m->nodes->nelts + 1));
    int i, first = 1, depth, k;

    ap_rputs("[", r);
    for (i = 1; i < m->nodes->nelts; i++) {
        apr_uint32_t n;
        if (!nodes[i].self_count) {
            continue;
        }
        depth = 0;
        for (n = (apr_uint32_t)i; n != 0; n = nodes[n].parent) {
            path[depth++] = nodes[n].func;
        }
        ap_rprintf(r, "%s\n  {\"samples\": %" APR_UINT64_T_FMT ", \"ms\": "
                   "%.3f, \"frames\": [", first ? "" : ",",
                   nodes[i].self_count, ms(nodes[i].self_ns));
        for (k = depth - 1; k >= 0; k--) {
            ap_rprintf(r, "\"%s\"%s", js(r, name_of(m, path[k])),
                       k ? ", " : "");
        }
        ap_rputs("]}", r);
        first = 0;
    }
    ap_rputs("]", r);
}

static void render_json(request_rec *r, const rp_model_t *m,
                        const rp_view_opts_t *o)
{
    apr_array_header_t *order = rp_model_sorted(r->pool, m, o->sort);
    const rp_func_t *funcs = (const rp_func_t *)m->funcs->elts;
    apr_uint64_t us;
    double hz = delivered_hz(m, &us);
    int i, n = order->nelts;
    apr_uint32_t u;

    if (o->limit && n > o->limit) {
        n = o->limit;
    }
    ap_rprintf(r, "{\"version\": \"%s\", \"settings\": {\"enabled\": %s, "
               "\"timer\": \"%s\", \"frequency\": %d, \"delivered_hz\": "
               "%.2f}, \"generation\": %u, \"focus\": %s%s%s,\n"
               "\"samples\": %" APR_UINT64_T_FMT ", \"ms\": %.3f,\n"
               "\"counters\": ", RP_VERSION,
               m->info->settings.enabled ? "true" : "false",
               rp_config_timer_name(m->info->settings.timer),
               m->info->settings.frequency, hz, m->info->generation,
               m->focus ? "\"" : "", m->focus ? js(r, m->focus) : "null",
               m->focus ? "\"" : "", m->samples, ms(m->weight_ns));
    json_counters(r, m->counters);
    ap_rputs(",\n\"children\": [", r);
    for (i = 0; i < m->nregions; i++) {
        ap_rprintf(r, "%s\n  {\"slot\": %d, \"pid\": %d, \"counters\": ",
                   i ? "," : "", m->regions[i]->slot,
                   (int)m->regions[i]->owner);
        json_counters(r, m->regions[i]->counters);
        ap_rputs("}", r);
    }
    ap_rputs("],\n\"uris\": [", r);
    for (i = 0, u = 0; i < m->nregions; i++) {
        const rp_region_t *g = m->regions[i];
        apr_uint32_t k;
        for (k = 0; k < g->n_uris; k++, u++) {
            const rp_uri_t *x = &g->uris[k];
            ap_rprintf(r, "%s\n  {\"slot\": %d, \"uri\": \"%s\", "
                       "\"requests\": %" APR_UINT64_T_FMT ", \"samples\": %"
                       APR_UINT64_T_FMT ", \"wall_us\": %" APR_UINT64_T_FMT
                       ", \"max_wall_us\": %" APR_UINT64_T_FMT ", \"cpu_us\": %"
                       APR_UINT64_T_FMT ", \"max_cpu_us\": %" APR_UINT64_T_FMT
                       "}", u ? "," : "", g->slot, js(r, x->uri), x->requests,
                       x->samples, x->sum_wall_us, x->max_wall_us,
                       x->sum_cpu_us, x->max_cpu_us);
        }
    }
    ap_rputs("],\n\"recent\": [", r);
    for (i = 0, u = 0; i < m->nregions; i++) {
        const rp_region_t *g = m->regions[i];
        apr_uint32_t k;
        for (k = 0; k < g->n_recent; k++, u++) {
            const rp_recent_t *x = &g->recent[k];
            ap_rprintf(r, "%s\n  {\"slot\": %d, \"time_us\": %" APR_TIME_T_FMT
                       ", \"method\": \"%s\", \"uri\": \"%s\", \"status\": %d, "
                       "\"wall_us\": %" APR_INT64_T_FMT ", \"cpu_us\": %"
                       APR_INT64_T_FMT ", \"samples\": %u}", u ? "," : "",
                       g->slot, x->time, js(r, x->method), js(r, x->uri),
                       x->status, x->wall_us, x->cpu_us, x->samples);
        }
    }
    ap_rputs("],\n\"functions\": [", r);
    for (i = 0; i < n; i++) {
        const rp_func_t *f = &funcs[((apr_uint32_t *)order->elts)[i]];
        ap_rprintf(r, "%s\n  {\"name\": \"%s\", \"object\": \"%s\", \"file\": "
                   "%s%s%s, \"line\": %d, \"self\": %" APR_UINT64_T_FMT
                   ", \"self_ms\": %.3f, \"cum\": %" APR_UINT64_T_FMT
                   ", \"cum_ms\": %.3f}", i ? "," : "", js(r, f->name),
                   js(r, f->object), f->file ? "\"" : "",
                   f->file ? js(r, f->file) : "null", f->file ? "\"" : "",
                   f->line, f->self_count, ms(f->self_ns), f->cum_count,
                   ms(f->cum_ns));
    }
    ap_rputs("],\n\"stacks\": ", r);
    json_stacks(r, m);
    ap_rputs("}\n", r);
}
