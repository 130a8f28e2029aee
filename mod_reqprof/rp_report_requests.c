/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_requests: what the page shows of kept requests, as data
 * (rp_report.h, "Kept requests").  The requests view's list is every
 * kept request of every region, filtered and sorted here once by a table
 * of columns; the request view's facts are sections of rp_fact_t, as the
 * overview's are; a span's place in time and whether it was spent on the
 * CPU are decided here; and so is the comparison of a request with what
 * is typical of its URI.  The html, text and json renderers only walk
 * what this gives them, so they cannot disagree on a row, an order or a
 * figure, and none of this writes output.
 *
 * The comparison maps each node of the request's tree to the node of
 * the same stack in the URI's merged profile, walking both trees from
 * their roots by function (name, object and kind): the two models come
 * from the same snapshot and symbolizer, but their function and node
 * indices are their own.  Not for signal context.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "rp_filter.h"
#include "rp_report.h"

/* ------------------------------------------------------------------ */
/* The list: its columns */

static int cmp_i64(apr_int64_t a, apr_int64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int by_time(const rp_kept_t *a, const rp_kept_t *b)
{
    return cmp_i64(a->time, b->time);
}

static int by_method(const rp_kept_t *a, const rp_kept_t *b)
{
    return cmp_str(a->method, b->method);
}

static int by_uri(const rp_kept_t *a, const rp_kept_t *b)
{
    int d = cmp_str(a->uri, b->uri);

    return d ? d : cmp_str(a->query, b->query);
}

static int by_status(const rp_kept_t *a, const rp_kept_t *b)
{
    return cmp_i64(a->status, b->status);
}

static int by_type(const rp_kept_t *a, const rp_kept_t *b)
{
    return cmp_str(a->content_type, b->content_type);
}

static int by_bytes(const rp_kept_t *a, const rp_kept_t *b)
{
    return a->bytes < b->bytes ? -1 : a->bytes > b->bytes;
}

static int by_wall(const rp_kept_t *a, const rp_kept_t *b)
{
    return cmp_i64(a->wall_us, b->wall_us);
}

static int by_cpu(const rp_kept_t *a, const rp_kept_t *b)
{
    return cmp_i64(a->cpu_us, b->cpu_us);
}

static int by_samples(const rp_kept_t *a, const rp_kept_t *b)
{
    return cmp_i64(a->samples, b->samples);
}

/* Errors, then slow, then recent: the rarer reason first. */
static int by_why(const rp_kept_t *a, const rp_kept_t *b)
{
    return cmp_i64(b->reasons, a->reasons);
}

static const char *text_time(apr_pool_t *p, const rp_kept_t *k)
{
    apr_time_exp_t x;

    if (!k->time || apr_time_exp_gmt(&x, k->time) != APR_SUCCESS) {
        return "-";
    }
    return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d:%02d.%03d",
                        x.tm_year + 1900, x.tm_mon + 1, x.tm_mday, x.tm_hour,
                        x.tm_min, x.tm_sec, x.tm_usec / 1000);
}

static const char *text_method(apr_pool_t *p, const rp_kept_t *k)
{
    return k->method ? k->method : "";
}

static const char *text_uri(apr_pool_t *p, const rp_kept_t *k)
{
    return k->query && *k->query
               ? apr_pstrcat(p, k->uri ? k->uri : "", "?", k->query, NULL)
           : k->uri ? k->uri
                    : "";
}

static const char *text_status(apr_pool_t *p, const rp_kept_t *k)
{
    return apr_itoa(p, k->status);
}

static const char *text_type(apr_pool_t *p, const rp_kept_t *k)
{
    return k->content_type && *k->content_type ? k->content_type : "-";
}

static const char *text_bytes(apr_pool_t *p, const rp_kept_t *k)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT, k->bytes);
}

static const char *text_wall(apr_pool_t *p, const rp_kept_t *k)
{
    return apr_psprintf(p, "%.2f", (double)k->wall_us / 1000.0);
}

static const char *text_cpu(apr_pool_t *p, const rp_kept_t *k)
{
    return apr_psprintf(p, "%.2f", (double)k->cpu_us / 1000.0);
}

static const char *text_samples(apr_pool_t *p, const rp_kept_t *k)
{
    return apr_psprintf(p, "%u", k->samples);
}

static const char *text_why(apr_pool_t *p, const rp_kept_t *k)
{
    return rp_report_kept_why(p, k->reasons);
}

/* A table laid out as one, by hand (outside clang-format). */
/* clang-format off */
const rp_kept_col_t rp_report_kept_cols[] = {
    { "time",    "time",    "when the request began (UTC); darker is "
                            "newer", 1, by_time, text_time },
    { "method",  "method",  "the request's method", 0, by_method,
      text_method },
    { "uri",     "URI",     "path and query; links to the request's own "
                            "profile", 0, by_uri, text_uri },
    { "status",  "status",  "the response's status", 1, by_status,
      text_status },
    { "type",    "type",    "the response's Content-Type", 0, by_type,
      text_type },
    { "bytes",   "bytes",   "bytes of the response body sent", 1,
      by_bytes, text_bytes },
    { "wall",    "wall ms", "wall time of the profiled part (exact)", 1,
      by_wall, text_wall },
    { "cpu",     "CPU ms",  "CPU time of its thread meanwhile (exact)", 1,
      by_cpu, text_cpu },
    { "samples", "samples", "samples taken of it", 1, by_samples,
      text_samples },
    { "why",     "kept as", "why it was kept: among the most recent, the "
                            "slowest of its URI, or a server error", 0,
      by_why, text_why },
    { NULL }
};
/* clang-format on */

const rp_kept_col_t *rp_report_kept_order(const char *order, int *reversed)
{
    const rp_kept_col_t *col;

    *reversed = 0;
    if (!order) {
        return &rp_report_kept_cols[0];
    }
    if (*order == '-') {
        *reversed = 1;
        order++;
    }
    for (col = rp_report_kept_cols; col->key; col++) {
        if (strcmp(col->key, order) == 0) {
            return col;
        }
    }
    return NULL;
}

const char *rp_report_check_order(apr_pool_t *p, const char *v)
{
    const rp_kept_col_t *col;
    const char *names = "";
    int rev;

    if (rp_report_kept_order(v, &rev)) {
        return NULL;
    }
    for (col = rp_report_kept_cols; col->key; col++) {
        names = apr_pstrcat(p, names, *names ? ", " : "", col->key, NULL);
    }
    return apr_pstrcat(p, "unknown column '", apr_pstrndup(p, v, 40),
                       "'; one of: ", names,
                       " (a '-' before it reverses "
                       "the order)",
                       NULL);
}

/* "5xx" is a class of statuses, "404" one status. */
const char *rp_report_check_status(apr_pool_t *p, const char *v, int *lo,
                                   int *hi)
{
    int l = 0, h = 0;

    if (strlen(v) == 3 && v[0] >= '1' && v[0] <= '5') {
        if ((v[1] == 'x' || v[1] == 'X') && (v[2] == 'x' || v[2] == 'X')) {
            l = (v[0] - '0') * 100;
            h = l + 99;
        }
        else if (v[1] >= '0' && v[1] <= '9' && v[2] >= '0' && v[2] <= '9') {
            l = h = atoi(v);
        }
    }
    if (!*v) {
        l = h = 0; /* an empty field of the form: any */
    }
    else if (!l) {
        return apr_pstrcat(p, "'", apr_pstrndup(p, v, 40),
                           "' is not a "
                           "status class (1xx to 5xx) or a status (100 to "
                           "599)",
                           NULL);
    }
    if (lo) {
        *lo = l;
        *hi = h;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The list: the rows */

typedef struct {
    const rp_kept_col_t *col;
    int reversed;
} order_t;

static int row_cmp(const void *x, const void *y, void *arg)
{
    const rp_kept_t *a = *(const rp_kept_t *const *)x;
    const rp_kept_t *b = *(const rp_kept_t *const *)y;
    const order_t *o = arg;
    int d = o->col->cmp(a, b);

    /* Figures largest first, words from A; then newest first, then by
     * region and keep order, so that the order is total. */
    if (o->col->numeric) {
        d = -d;
    }
    if (o->reversed) {
        d = -d;
    }
    if (!d) {
        d = -by_time(a, b);
    }
    if (!d) {
        d = a->slot != b->slot ? (a->slot < b->slot ? -1 : 1)
                               : (a->seq > b->seq ? -1 : a->seq < b->seq);
    }
    return d;
}

/* Whether K shows: of the focused URI (every figure of a focused page
 * is of its requests only), and through the list's filters. */
static int passes(const rp_view_opts_t *o, const char *focus,
                  const rp_kept_t *k)
{
    const char *uri = k->uri ? k->uri : "";

    if (focus && strcmp(focus, uri) != 0) {
        return 0;
    }

    if (o->status_lo
        && (k->status < o->status_lo || k->status > o->status_hi)) {
        return 0;
    }
    if (o->min_ms > 0 && (double)k->wall_us < o->min_ms * 1000.0) {
        return 0;
    }
    return !o->uri_re || rp_filter_match(o->uri_re, uri, strlen(uri));
}

apr_array_header_t *rp_report_kept(const rp_render_t *c, int *total)
{
    const rp_model_t *m = c->m;
    apr_array_header_t *rows = apr_array_make(c->p, 64,
                                              sizeof(const rp_kept_t *));
    order_t ord;
    apr_uint32_t k;
    int i, n = 0;

    for (i = 0; m && i < m->nregions; i++) {
        const rp_region_t *g = m->regions[i];
        for (k = 0; g->kept && k < g->n_kept; k++) {
            n++;
            if (passes(c->o, m->focus, &g->kept[k])) {
                *(const rp_kept_t **)apr_array_push(rows) = &g->kept[k];
            }
        }
    }
    ord.col = rp_report_kept_order(c->o->order, &ord.reversed);
    if (!ord.col) {
        ord.col = &rp_report_kept_cols[0];
        ord.reversed = 0;
    }
    qsort_r(rows->elts, (apr_size_t)rows->nelts, sizeof(const rp_kept_t *),
            row_cmp, &ord);
    if (total) {
        *total = n;
    }
    return rows;
}

const char *rp_report_kept_why(apr_pool_t *p, unsigned reasons)
{
    const char *s = "";
    int i;

    for (i = 0; i < RP_KEEP_REASONS; i++) {
        if (reasons & (1u << i)) {
            s = apr_pstrcat(p, s, *s ? ", " : "", rp_keep_reason_names[i],
                            NULL);
        }
    }
    return *s ? s : "-";
}

/* ------------------------------------------------------------------ */
/* The request's facts */

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *facts;
} build_t;

static rp_fact_t *fact(build_t *b, const char *label, const char *key,
                       const char *value, const char *json, const char *after)
{
    return rp_report_fact(b->facts, label, key, NULL, value, json, after);
}

static rp_fact_t *num(build_t *b, const char *label, const char *key,
                      apr_int64_t v, const char *after)
{
    const char *s = apr_psprintf(b->p, "%" APR_INT64_T_FMT, v);

    return fact(b, label, key, s, s, after);
}

static rp_fact_t *ms(build_t *b, const char *label, const char *key,
                     apr_int64_t us)
{
    const char *s = apr_psprintf(b->p, "%.3f", (double)us / 1000.0);

    return fact(b, label, key, s, s, " ms");
}

/* A string, "" for none: the store keeps absent strings empty. */
static rp_fact_t *str(build_t *b, const char *label, const char *key,
                      const char *s)
{
    return fact(b, label, key, s ? s : "", NULL, NULL);
}

static int request_section(build_t *b, const rp_render_t *c)
{
    const rp_kept_t *k = c->m->request;
    apr_time_exp_t x;
    const char *reasons = "[", *when = "-";
    int i;

    if (apr_time_exp_gmt(&x, k->time) == APR_SUCCESS) {
        when = apr_psprintf(b->p, "%04d-%02d-%02d %02d:%02d:%02d.%06d UTC",
                            x.tm_year + 1900, x.tm_mon + 1, x.tm_mday,
                            x.tm_hour, x.tm_min, x.tm_sec, x.tm_usec);
    }
    for (i = 0; i < RP_KEEP_REASONS; i++) {
        if (k->reasons & (1u << i)) {
            reasons = apr_pstrcat(b->p, reasons, reasons[1] ? ", \"" : "\"",
                                  rp_keep_reason_names[i], "\"", NULL);
        }
    }
    str(b, "id", "id", k->id);
    fact(b, "time", "time_us", when,
         apr_psprintf(b->p, "%" APR_TIME_T_FMT, k->time), NULL);
    str(b, "method", "method", k->method);
    str(b, "URI", "uri", k->uri);
    str(b, "query", "query", k->query);
    str(b, "virtual host", "vhost", k->vhost);
    str(b, "handler", "handler", k->handler);
    num(b, "status", "status", k->status, NULL)->cls = k->status >= 500
                                                           ? "bad"
                                                           : NULL;
    str(b, "content type", "content_type", k->content_type);
    fact(b, "body bytes", "bytes",
         apr_psprintf(b->p, "%" APR_UINT64_T_FMT, k->bytes),
         apr_psprintf(b->p, "%" APR_UINT64_T_FMT, k->bytes), NULL);
    ms(b, "wall time", "wall_ms", k->wall_us);
    ms(b, "CPU time", "cpu_ms", k->cpu_us);
    num(b, "samples", "samples", k->samples, " taken; ");
    num(b, NULL, "samples_lost", k->samples_lost,
        " not on the timeline (its record was full)");
    fact(b, "kept as", "reasons", rp_report_kept_why(b->p, k->reasons),
         apr_pstrcat(b->p, reasons, "]", NULL), NULL);
    num(b, "child", "slot", k->slot, NULL)->before = "slot ";
    return 0;
}

/* A head row, then a row of name and value per header. */
static int headers_section(build_t *b, const rp_render_t *c)
{
    const rp_kept_t *k = c->m->request;
    apr_uint32_t i;

    fact(b, "name", "name", NULL, NULL, NULL);
    fact(b, "value", "value", NULL, NULL, NULL);
    for (i = 0; k->headers && i < k->n_headers; i++) {
        str(b, "name", "name", k->headers[i].name);
        str(b, "value", "value", k->headers[i].value);
    }
    return 2;
}

/* clang-format off */
static const struct {
    const char *key;
    const char *title;
    const char *note;
    const char *empty;
    int (*build)(build_t *b, const rp_render_t *c);
} sections[] = {
    { "request", "Request", NULL, NULL, request_section },
    { "headers", "Request headers", "as the request path stored them: "
                 "credentials (Authorization, Cookie and the like) are "
                 "redacted before they reach the store",
      "none stored", headers_section }
};
/* clang-format on */

#define NSECTIONS ((int)(sizeof(sections) / sizeof(sections[0])))

const rp_fact_section_t *rp_report_request_facts(const rp_render_t *c, int *n)
{
    rp_fact_section_t *s = apr_pcalloc(c->p, NSECTIONS * sizeof(*s));
    build_t b;
    int i;

    *n = 0;
    if (!c->m || !c->m->request) {
        return s;
    }
    b.p = c->p;
    for (i = 0; i < NSECTIONS; i++) {
        b.facts = apr_array_make(c->p, 16, sizeof(rp_fact_t));
        s[i].ncols = sections[i].build(&b, c);
        s[i].key = sections[i].key;
        s[i].title = sections[i].title;
        s[i].note = sections[i].note;
        s[i].empty = sections[i].empty;
        s[i].facts = (const rp_fact_t *)b.facts->elts;
        s[i].nfacts = b.facts->nelts;
    }
    *n = NSECTIONS;
    return s;
}

/* ------------------------------------------------------------------ */
/* The timeline's spans */

/* Leaves that stand for time off the CPU, which the flame graph greys. */
static int off_cpu_kind(rp_frame_kind_e kind)
{
    return kind == RP_FRAME_BLOCKED || kind == RP_FRAME_OFF_CPU
           || kind == RP_FRAME_WAIT_CPU;
}

void rp_report_span(const rp_model_t *m, apr_uint32_t i, rp_span_view_t *out)
{
    const rp_span_t *sp = &m->request->spans[i];
    apr_int64_t w = (apr_int64_t)((sp->weight_ns + 500) / 1000);

    out->end_us = sp->end_us;
    out->start_us = sp->end_us > w ? sp->end_us - w : 0;
    out->count = sp->count;
    out->weight_ns = sp->weight_ns;
    out->node = m->span_nodes ? m->span_nodes[i] : RP_MODEL_NONE;
    /* Off the CPU: taken by the off-CPU sampler, or a state leaf (the
     * time no look saw a stack for). */
    out->blocked =
        sp->offcpu
        || (out->node != RP_MODEL_NONE
            && off_cpu_kind(
                rp_model_func(m, rp_model_node(m, out->node)->func)->kind));
}

apr_int64_t rp_report_timeline_us(const rp_model_t *m)
{
    apr_int64_t end = m->request ? m->request->wall_us : 0;
    apr_uint32_t i;

    for (i = 0; m->request && i < m->request->n_spans; i++) {
        if (m->request->spans[i].end_us > end) {
            end = m->request->spans[i].end_us;
        }
    }
    return end > 0 ? end : 1;
}

/* ------------------------------------------------------------------ */
/* The comparison with typical */

static int same_func(const rp_func_t *a, const rp_func_t *b)
{
    return a->kind == b->kind && strcmp(a->name, b->name) == 0
           && strcmp(a->object ? a->object : "", b->object ? b->object : "")
                  == 0;
}

/* The child of BASE's node PARENT that is function F of the request's
 * model, or NONE. */
static apr_uint32_t base_child(const rp_model_t *base, apr_uint32_t parent,
                               const rp_func_t *f)
{
    apr_uint32_t ch;

    for (ch = rp_model_node(base, parent)->first_child; ch != RP_MODEL_NONE;
         ch = rp_model_node(base, ch)->next_sibling) {
        if (same_func(rp_model_func(base, rp_model_node(base, ch)->func),
                      f)) {
            return ch;
        }
    }
    return RP_MODEL_NONE;
}

const rp_diff_t *rp_report_diff(const rp_render_t *c)
{
    const rp_model_t *m = c->m, *base = c->base;
    rp_diff_t *d;
    apr_uint32_t *map, n, i;
    double *share, *typical, mine, theirs;
    int u;

    if (!m || !base || !m->request) {
        return NULL;
    }
    n = (apr_uint32_t)m->nodes->nelts;
    d = apr_pcalloc(c->p, sizeof(*d));
    map = apr_palloc(c->p, sizeof(*map) * n);
    share = apr_pcalloc(c->p, sizeof(*share) * n);
    typical = apr_pcalloc(c->p, sizeof(*typical) * n);
    mine = (double)rp_model_node(m, 0)->total_count;
    theirs = (double)rp_model_node(base, 0)->total_count;
    /* Parents come before their children in a model's nodes. */
    map[0] = 0;
    for (i = 0; i < n; i++) {
        const rp_tnode_t *t = rp_model_node(m, i);
        if (i) {
            map[i] = map[t->parent] == RP_MODEL_NONE
                         ? RP_MODEL_NONE
                         : base_child(base, map[t->parent],
                                      rp_model_func(m, t->func));
        }
        share[i] = mine > 0 ? 100.0 * (double)t->total_count / mine : 0;
        typical[i] =
            map[i] != RP_MODEL_NONE && theirs > 0
                ? 100.0 * (double)rp_model_node(base, map[i])->total_count
                      / theirs
                : 0;
    }
    d->n = n;
    d->share = share;
    d->typical = typical;
    d->base_samples = base->samples;
    for (u = 0; u < base->uris->nelts; u++) {
        d->base_requests += ((rp_model_uri_t *)base->uris->elts)[u].requests;
    }
    return d;
}

static int diff_cmp(const void *x, const void *y, void *arg)
{
    const rp_diff_t *d = arg;
    apr_uint32_t a = *(const apr_uint32_t *)x, b = *(const apr_uint32_t *)y;
    double da = d->share[a] - d->typical[a], db = d->share[b] - d->typical[b];

    if (da != db) {
        return da > db ? -1 : 1;
    }
    if (d->share[a] != d->share[b]) {
        return d->share[a] > d->share[b] ? -1 : 1;
    }
    return a < b ? -1 : a > b;
}

apr_array_header_t *rp_report_diff_order(const rp_render_t *c,
                                         const rp_diff_t *d)
{
    apr_array_header_t *out = apr_array_make(c->p, 64, sizeof(apr_uint32_t));
    apr_uint32_t i;

    for (i = 1; d && i < d->n; i++) {
        if (d->share[i] > 0 || d->typical[i] > 0) {
            *(apr_uint32_t *)apr_array_push(out) = i;
        }
    }
    qsort_r(out->elts, (apr_size_t)out->nelts, sizeof(apr_uint32_t), diff_cmp,
            (void *)d);
    return out;
}
