/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report: the table of formats and views, links between views, and
 * the overview's facts (rp_report.h).  The renderers themselves live one
 * per file.
 *
 * The overview is built here once, as a table of {label, key, value} in
 * sections, and the html, text and json renderers only walk it: a fact
 * added here shows in all three, with the same figure, and none of them
 * can show a fact the others lack.  Values are formatted here, once;
 * escaping is the renderers' (every value and word goes through their
 * escape for the output).
 */

#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"

/* A table, laid out by hand. */
/* clang-format off */
const rp_format_t rp_report_formats[] = {
    /* name        id                   content type
     *             file         attach, page, labels */
    { "html",      RP_FORMAT_HTML,      "text/html; charset=utf-8",
      NULL,        0, 1, 0 },
    { "text",      RP_FORMAT_TEXT,      "text/plain; charset=utf-8",
      NULL,        0, 1, 0 },
    { "json",      RP_FORMAT_JSON,      "application/json; charset=utf-8",
      NULL,        0, 1, 0 },
    { "svg",       RP_FORMAT_SVG,       "image/svg+xml; charset=utf-8",
      "svg",       0, 0, 0 },
    { "collapsed", RP_FORMAT_COLLAPSED, "text/plain; charset=utf-8",
      "folded",    0, 0, 0 },
    { "pprof",     RP_FORMAT_PPROF,     "application/octet-stream",
      "pb.gz",     1, 0, 1 },
    { "callgrind", RP_FORMAT_CALLGRIND, "text/plain; charset=utf-8",
      "callgrind", 0, 0, 0 },
    { "dot",       RP_FORMAT_DOT,       "text/vnd.graphviz; charset=utf-8",
      "dot",       0, 0, 0 },
    { "speedscope", RP_FORMAT_SPEEDSCOPE, "application/json; charset=utf-8",
      "speedscope.json", 1, 0, 0 },
    { NULL }
};
/* clang-format on */

/* clang-format off */
const char *const rp_report_view_names[] = {
    "overview", "functions", "callers", "callees", "tree", "flame",
    "requests", "request", "explain", "now", NULL
};
/* clang-format on */

const rp_format_t *rp_report_format(const char *name)
{
    const rp_format_t *f;

    for (f = rp_report_formats; f->name; f++) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

/* What each timer (rp_timer_e; its name is rp_timer_name's) measures. */
static const char *const timer_measures[RP_TIMER_KINDS] = {
    [RP_TIMER_CPU]  = "CPU time of the request's thread",
    [RP_TIMER_REAL] = "wall-clock time, blocked time too"
};

const char *rp_report_why(apr_pool_t *p, const rp_explain_view_t *x)
{
    static const char *const whys[] = {
        /* RP_WHY_NO_RULES */
        "profiled: no exclude pattern matches and there is no include list",
        /* RP_WHY_EXCLUDED */
        "not profiled: an exclude pattern matches (exclude wins)",
        /* RP_WHY_INCLUDED */
        "profiled: an include pattern matches and no exclude pattern does",
        /* RP_WHY_NOT_INCLUDED */
        NULL
    };

    if (x->e.why == RP_WHY_NOT_INCLUDED) {
        return apr_psprintf(p, "not profiled: none of the %d include "
                            "patterns matches", x->n_include);
    }
    return x->e.why <= RP_WHY_INCLUDED ? whys[x->e.why] : "?";
}

/* ------------------------------------------------------------------ */
/* Links that keep the view options */

void rp_report_state(const rp_render_t *c, rp_kv_t *kv)
{
    const rp_view_opts_t *o = c->o;
    const rp_explain_view_t *x = c->page ? c->page->explain : NULL;
    /* clang-format off */
    const rp_kv_t state[] = {
        { "view",     rp_report_view_names[o->view] },
        { "sort",     o->select.sort },
        /* Always: without it the handler applies ReqProfLimit. */
        { "limit",    apr_itoa(c->p, o->select.limit) },
        { "fraction", o->select.fraction > 0
                      ? apr_psprintf(c->p, "%g", o->select.fraction) : NULL },
        { "match",    o->match && *o->match ? o->match : NULL },
        /* Request-controlled strings before uri and func, which per-row
         * link templates mark (see rp_report_html's tpl_make); after
         * them only ids (which hold no mark) and numbers. */
        { "uri_match", o->uri_match && *o->uri_match ? o->uri_match
                                                      : NULL },
        { "strip",    o->strip_dirs ? "1" : "0" },
        { "uri",      o->focus },
        { "func",     o->func },
        { "req",      o->view == RP_VIEW_REQUEST ? NULL : o->req },
        { "id",       o->view == RP_VIEW_REQUEST ? o->req : NULL },
        { "status",   !o->status_lo ? NULL
                      : o->status_lo == o->status_hi
                      ? apr_itoa(c->p, o->status_lo)
                      : apr_psprintf(c->p, "%dxx", o->status_lo / 100) },
        { "min_ms",   o->min_ms > 0
                      ? apr_psprintf(c->p, "%g", o->min_ms) : NULL },
        { "order",    o->order },
        { "min",      o->min_pct > 0
                      ? apr_psprintf(c->p, "%g", o->min_pct) : NULL },
        { "icicle",   o->icicle ? "1" : NULL },
        { "explain",  o->view == RP_VIEW_EXPLAIN && x ? x->given : NULL },
        { "format",   NULL },
        { "seconds",  NULL },
        { NULL, NULL }
    };
    /* clang-format on */

    memcpy(kv, state, sizeof(state));
}

static rp_kv_t *kv_get(rp_kv_t *kv, const char *key)
{
    while (kv->key && strcmp(kv->key, key) != 0) {
        kv++;
    }
    return kv;      /* the terminator when KEY is not there */
}

const char *rp_report_link(const rp_render_t *c, ...)
{
    rp_kv_t kv[RP_REPORT_STATE_MAX];
    const rp_format_t *fmt;
    const char *key, *out = "";
    va_list ap;
    int i;

    rp_report_state(c, kv);
    va_start(ap, c);
    while ((key = va_arg(ap, const char *)) != NULL) {
        rp_kv_t *k = kv_get(kv, key);
        const char *value = va_arg(ap, const char *);
        if (k->key) {
            k->value = value;
        }
    }
    va_end(ap);
    fmt = rp_report_format(kv_get(kv, "format")->value
                           ? kv_get(kv, "format")->value : "html");
    if (fmt && !fmt->page) {
        kv_get(kv, "view")->value = NULL;
    }
    /* One request: id= with its own view, req= with any other. */
    if (kv_get(kv, "view")->value
        && strcmp(kv_get(kv, "view")->value, "request") == 0) {
        if (!kv_get(kv, "id")->value) {
            kv_get(kv, "id")->value = kv_get(kv, "req")->value;
        }
        kv_get(kv, "req")->value = NULL;
    }
    else if (kv_get(kv, "id")->value) {
        if (!kv_get(kv, "req")->value) {
            kv_get(kv, "req")->value = kv_get(kv, "id")->value;
        }
        kv_get(kv, "id")->value = NULL;
    }
    /* The explain question goes only with the explain view. */
    if (!kv_get(kv, "view")->value
        || strcmp(kv_get(kv, "view")->value, "explain") != 0) {
        kv_get(kv, "explain")->value = NULL;
    }
    for (i = 0; kv[i].key; i++) {
        if (kv[i].value) {
            out = apr_pstrcat(c->p, out, *out ? "&" : "?", kv[i].key, "=",
                              rp_escape_url(c->p, kv[i].value), NULL);
        }
    }
    return out;
}

/* ------------------------------------------------------------------ */
/* The overview's facts */

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *facts;  /* of rp_fact_t: the section being built */
} build_t;

rp_fact_t *rp_report_fact(apr_array_header_t *facts, const char *label,
                          const char *key, const char *before,
                          const char *value, const char *json,
                          const char *after)
{
    rp_fact_t *f = apr_array_push(facts);

    memset(f, 0, sizeof(*f));
    f->label = label;
    f->key = key;
    f->before = before;
    f->value = value;
    f->json = json;
    f->after = after;
    return f;
}

static rp_fact_t *fact(build_t *b, const char *label, const char *key,
                       const char *before, const char *value,
                       const char *json, const char *after)
{
    return rp_report_fact(b->facts, label, key, before, value, json, after);
}

static rp_fact_t *num(build_t *b, const char *label, const char *key,
                      const char *before, apr_uint64_t v, const char *after)
{
    const char *s = apr_psprintf(b->p, "%" APR_UINT64_T_FMT, v);

    return fact(b, label, key, before, s, s, after);
}

static rp_fact_t *inum(build_t *b, const char *label, const char *key,
                       const char *before, apr_int64_t v, const char *after)
{
    const char *s = apr_psprintf(b->p, "%" APR_INT64_T_FMT, v);

    return fact(b, label, key, before, s, s, after);
}

/* A measure, to a tenth: the precision people read, and scripts get. */
static rp_fact_t *real(build_t *b, const char *label, const char *key,
                       const char *before, double v, const char *after)
{
    const char *s = apr_psprintf(b->p, "%.1f", v);

    return fact(b, label, key, before, s, s, after);
}

static rp_fact_t *flag(build_t *b, const char *label, const char *key,
                       const char *before, int on, const char *yes,
                       const char *no)
{
    return fact(b, label, key, before, on ? yes : no, on ? "true" : "false",
                NULL);
}

/* A time: to the second in UTC for people ("-" when none), microseconds
 * (null when none) for scripts. */
static rp_fact_t *when(build_t *b, const char *label, const char *key,
                       const char *before, apr_time_t t, const char *after)
{
    apr_time_exp_t x;

    if (!t || apr_time_exp_gmt(&x, t) != APR_SUCCESS) {
        return fact(b, label, key, before, "-", "null", after);
    }
    return fact(b, label, key, before,
                apr_psprintf(b->p, "%04d-%02d-%02d %02d:%02d:%02d UTC",
                             x.tm_year + 1900, x.tm_mon + 1, x.tm_mday,
                             x.tm_hour, x.tm_min, x.tm_sec),
                apr_psprintf(b->p, "%" APR_TIME_T_FMT, t), after);
}

/* A string (JSON: escaped by the renderer); S NULL: none. */
static rp_fact_t *str(build_t *b, const char *label, const char *key,
                      const char *before, const char *s, const char *after)
{
    return fact(b, label, key, before, s, NULL, after);
}

static rp_fact_t *fill(build_t *b, const char *label, const char *key,
                       apr_uint64_t n, apr_uint64_t max, int width)
{
    rp_fact_t *f = fact(b, label, key, NULL,
                        apr_psprintf(b->p, "%" APR_UINT64_T_FMT " / %"
                                     APR_UINT64_T_FMT, n, max), NULL, NULL);

    f->kind = RP_FACT_FILL;
    f->n = n;
    f->max = max;
    f->width = width;
    return f;
}

static rp_fact_t *rules(build_t *b, const char *key, rp_rule_kind_e kind)
{
    rp_fact_t *f = fact(b, rp_filter_kind_name(kind), key, NULL, "", NULL,
                        NULL);

    f->kind = RP_FACT_RULES;
    f->rules = kind;
    return f;
}

static int status(build_t *b, const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    const rp_settings_t *s = &m->info->settings;
    int known = s->timer >= 0 && s->timer < RP_TIMER_KINDS;
    apr_uint64_t us;
    double hz = rp_model_delivered_hz(m, &us);

    str(b, "host", "host", NULL, c->page->host, NULL);
    flag(b, "profiling", "enabled", NULL, s->enabled, "on", "paused");
    str(b, "timer", "timer", NULL, rp_timer_name(s->timer),
        known ? apr_pstrcat(b->p, " (", timer_measures[s->timer], ")", NULL)
              : NULL);
    num(b, "frequency", "frequency", NULL, (apr_uint64_t)s->frequency,
        " Hz asked, ");
    real(b, NULL, "delivered_hz", NULL, hz, " Hz delivered over ");
    real(b, NULL, "profiled_ms", NULL, (double)us / 1000.0,
         apr_pstrcat(b->p, " ms of profiled ", rp_model_clock_name(m),
                     " time", NULL));
    when(b, "since", "first_us", NULL, m->first_time,
         " (first request stored); last ");
    when(b, NULL, "last_us", NULL, m->last_time, NULL);
    num(b, "generation", "generation", NULL, m->info->generation,
        " (each clear starts a new one)");
    return 0;
}

/* What became of the samples taken while PHP or Python ran (rp_interp):
 * shown once there were any, so a server without them reads as before.
 * A sample that kept its native frames alone is a failure to merge. */
static void script_frames(build_t *b, const apr_uint64_t *k)
{
    apr_uint64_t failed = k[RP_CTR_SCRIPT_MISMATCH] + k[RP_CTR_SCRIPT_FAULT];
    apr_uint64_t all = failed + k[RP_CTR_SCRIPT_MERGED]
                       + k[RP_CTR_SCRIPT_CUT];

    if (!all) {
        return;
    }
    num(b, "script frames", "script_merged", NULL, k[RP_CTR_SCRIPT_MERGED],
        " samples with PHP or Python functions in place of the "
        "interpreter's, ");
    num(b, NULL, "script_cut", NULL, k[RP_CTR_SCRIPT_CUT],
        " above a native stack cut short (JIT code); ");
    num(b, NULL, "script_mismatch", NULL, k[RP_CTR_SCRIPT_MISMATCH],
        " kept native frames alone as the stacks did not pair up, ")
        ->cls = failed * 100 > all ? "bad" : NULL;
    num(b, NULL, "script_fault", NULL, k[RP_CTR_SCRIPT_FAULT],
        " after a bad read; ")
        ->cls = failed * 100 > all ? "bad" : NULL;
    num(b, NULL, "script_names_full", NULL, k[RP_CTR_SCRIPT_NAMES_FULL],
        " frames named [names full]");
}

static int totals(build_t *b, const rp_render_t *c)
{
    const apr_uint64_t *k = c->m->counters;
    apr_uint64_t sum = k[RP_CTR_SAMPLES] + k[RP_CTR_BUFFER_FULL]
                       + k[RP_CTR_UNWIND_FAILED] + k[RP_CTR_OTHER_DROPPED];
    int adds_up = sum == k[RP_CTR_TICKS];

    num(b, "requests profiled", "requests", NULL, k[RP_CTR_REQUESTS], NULL);
    /* Every tick is a sample or a drop counted by cause: say so, and say
     * when it does not hold (a region copied mid-way, a bug). */
    num(b, "accounting", "ticks", "ticks ", k[RP_CTR_TICKS],
        NULL)->id = "accounting";
    num(b, NULL, "samples", " = samples ", k[RP_CTR_SAMPLES], NULL);
    num(b, NULL, "buffer_full", " + buffer_full ", k[RP_CTR_BUFFER_FULL],
        NULL);
    num(b, NULL, "unwind_failed", " + unwind_failed ",
        k[RP_CTR_UNWIND_FAILED], NULL);
    num(b, NULL, "other_dropped", " + other ", k[RP_CTR_OTHER_DROPPED],
        NULL);
    flag(b, NULL, "adds_up", ": ", adds_up, "adds up",
         "does not add up")->cls = adds_up ? "ok" : "bad";
    real(b, "estimated", "estimated_ms", NULL,
         rp_model_ms(k[RP_CTR_WEIGHT_NS]), " ms, the samples' weights");
    num(b, "stored with less detail", "depth_truncated", NULL,
        k[RP_CTR_DEPTH_TRUNCATED], " samples under [truncated] (deeper "
        "than the depth cap), ");
    num(b, NULL, "table_full", NULL, k[RP_CTR_TABLE_FULL],
        " under [table full]; ");
    num(b, NULL, "uri_full", NULL, k[RP_CTR_URI_FULL],
        " requests found no room for their URI, ");
    num(b, NULL, "object_full", NULL, k[RP_CTR_OBJECT_FULL],
        " objects no room");
    num(b, "outside requests", "outside_request", NULL,
        k[RP_CTR_OUTSIDE_REQUEST], " ticks (not profiled work, not in the "
        "invariant)");
    script_frames(b, k);
    return 0;
}

static int store(build_t *b, const rp_render_t *c)
{
    const rp_snapshot_info_t *in = c->m->info;

    num(b, "slots", "slots", NULL, (apr_uint64_t)in->nslots,
        " regions of ");
    num(b, NULL, "region_bytes", NULL, in->region_size, " bytes");
    when(b, "snapshot", "taken_us", "taken ", in->taken, "; ");
    num(b, NULL, "regions_copied", NULL, (apr_uint64_t)c->m->nregions,
        " region(s) copied, ");
    num(b, NULL, "busy", NULL, (apr_uint64_t)in->busy, " busy, ");
    num(b, NULL, "invalid", NULL, (apr_uint64_t)in->invalid, " invalid, ");
    num(b, NULL, "stale", NULL, (apr_uint64_t)in->stale,
        " without data of this generation, ");
    num(b, NULL, "retries", NULL, in->retries, " retries");
    num(b, "regions repaired", "regions_repaired", NULL,
        in->regions_repaired, " (a child died mid-write; its data was "
        "consistent)");
    num(b, "regions reset", "regions_reset", NULL, in->regions_reset, " (");
    num(b, NULL, "samples_lost", NULL, in->samples_lost, " samples lost: a "
        "child died mid-write and its data was broken)");
    num(b, "no slot", "no_slot", NULL, in->no_slot, " children found no "
        "free slot (they profile nothing)");
    /* Kept requests (ReqProfKeep): how many were, and how many found no
     * record free, which says the region is too small for the rules. */
    num(b, "kept requests", "kept", NULL, c->m->counters[RP_CTR_KEPT],
        " kept whole; ");
    num(b, NULL, "kept_full", NULL, c->m->counters[RP_CTR_KEPT_FULL],
        " requests could not be kept for lack of room")
        ->cls = c->m->counters[RP_CTR_KEPT_FULL] ? "bad" : NULL;
    return 0;
}

/* One row of the children table: region G, or the head (G zeroed). */
static void child(build_t *b, const rp_region_t *g)
{
    const apr_uint64_t *n = g->counters;

    inum(b, "slot", "slot", NULL, g->slot, NULL)->width = 4;
    fact(b, "pid", "pid", NULL,
         g->owner ? apr_itoa(b->p, (int)g->owner) : "free",
         apr_itoa(b->p, (int)g->owner), NULL)->width = 8;
    num(b, "requests", "requests", NULL, n[RP_CTR_REQUESTS], NULL)->width = 9;
    num(b, "samples", "samples", NULL, n[RP_CTR_SAMPLES], NULL)->width = 9;
    num(b, "ticks", "ticks", NULL, n[RP_CTR_TICKS], NULL)->width = 9;
    num(b, "drops", "drops", NULL, n[RP_CTR_BUFFER_FULL]
        + n[RP_CTR_UNWIND_FAILED] + n[RP_CTR_OTHER_DROPPED], NULL)->width = 9;
    fill(b, "call-tree nodes", "nodes", g->n_nodes, g->cap_nodes, 17);
    fill(b, "URIs", "uris", g->n_uris, g->cap_uris, 13);
    fill(b, "objects", "objects", g->n_objects, g->cap_objects, 13);
    when(b, "last request", "last_us", NULL, g->last_time, NULL);
}

/* The children table: a head row, then one row per region; returns the
 * number of columns. */
static int children(build_t *b, const rp_render_t *c)
{
    rp_region_t head;
    int i, ncols;

    memset(&head, 0, sizeof(head));
    child(b, &head);
    ncols = b->facts->nelts;
    for (i = 0; i < c->m->nregions; i++) {
        child(b, c->m->regions[i]);
    }
    return ncols;
}

static int config(build_t *b, const rp_render_t *c)
{
    const rp_page_t *pg = c->page;

    flag(b, "ReqProf at start", "enabled_at_start", NULL,
         pg->configured_enabled, "On", "Off");
    str(b, "timer at start", "timer_at_start", NULL,
        rp_timer_name(pg->configured_timer), NULL);
    inum(b, "frequency at start", "frequency_at_start", NULL,
         pg->configured_frequency, " Hz");
    inum(b, "max depth", "max_depth", NULL, pg->max_depth,
         " frames (innermost kept)");
    str(b, "signal", "signal", NULL, pg->signame, NULL);
    inum(b, NULL, "signo", " (", pg->signo, ")");
    inum(b, "memory", "memory", NULL, pg->memory,
         apr_psprintf(b->p, " bytes per child (%.1f MB)",
                      (double)pg->memory / 1048576.0));
    str(b, "page defaults", "default_sort", "sort=", pg->default_sort, NULL);
    flag(b, NULL, "default_strip_dirs", " strip_dirs=", pg->default_strip,
         "on", "off");
    inum(b, NULL, "default_limit", " limit=", pg->default_limit, NULL);
    rules(b, "include", RP_RULE_INCLUDE);
    rules(b, "exclude", RP_RULE_EXCLUDE);
    num(b, "match-limit hits", "limit_hits", NULL, pg->limit_hits,
        " in this child (counted as no match)");
    inum(b, "this child", "slot", "slot ", pg->slot, NULL);
    str(b, NULL, "sampler_off", "; not sampling: ", pg->sampler_off, NULL);
    return 0;
}

/* The overview's sections in the order people read them; each builder
 * returns the number of columns of a table, 0 for rows of facts. */
static const struct {
    const char *key;
    const char *title;
    const char *note;
    const char *empty;
    int (*build)(build_t *b, const rp_render_t *c);
} sections[] = {
    { "status",   "Status",        NULL, NULL, status },
    { "totals",   "Totals",        NULL, NULL, totals },
    { "store",    "Store health",  NULL, NULL, store },
    { "children", "Children",      NULL, "no child has stored data of this "
                                         "generation yet", children },
    { "config",   "Configuration", "as the server started; the page may "
                                   "since have changed the live settings",
      NULL, config }
};

#define NSECTIONS ((int)(sizeof(sections) / sizeof(sections[0])))

static void build(const rp_render_t *c, rp_fact_section_t *s, int i)
{
    build_t b;
    int ncols;

    b.p = c->p;
    b.facts = apr_array_make(c->p, 16, sizeof(rp_fact_t));
    ncols = sections[i].build(&b, c);
    s->key = sections[i].key;
    s->title = sections[i].title;
    s->note = sections[i].note;
    s->empty = sections[i].empty;
    s->facts = (const rp_fact_t *)b.facts->elts;
    s->nfacts = b.facts->nelts;
    s->ncols = ncols;
}

const rp_fact_section_t *rp_report_overview(const rp_render_t *c, int *n)
{
    rp_fact_section_t *s = apr_pcalloc(c->p, NSECTIONS * sizeof(*s));
    int i;

    for (i = 0; i < NSECTIONS; i++) {
        build(c, &s[i], i);
    }
    *n = NSECTIONS;
    return s;
}

const rp_fact_section_t *rp_report_children(const rp_render_t *c)
{
    rp_fact_section_t *s = apr_pcalloc(c->p, sizeof(*s));
    int i;

    for (i = 0; sections[i].build != children; i++) {
    }
    build(c, s, i);
    return s;
}
