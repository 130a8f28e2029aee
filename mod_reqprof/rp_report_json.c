/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_json: every view as one JSON object (schema in README.md).
 *
 * Every answer but explain's carries the same head (version, view,
 * settings, generation, focus, totals, counters, children, uris, recent),
 * so a script needs one fetch for the state of the profiler, and then the
 * view's own member: "overview" (rp_report_overview's facts, an object
 * per section but the children, which the head has), "functions" (+
 * "stacks"), "callers"/"callees", "tree" and "flame" (nested nodes),
 * "kept" (the requests view's list of kept requests), and for one
 * request "request" (its facts and headers), "timeline", "diff" (every
 * frame's share against typical) with its functions and tree.
 * The head's children are the overview's table too, plus every counter.
 * Strings pass rp_escape_json, which also keeps '<', '>' and '&' out, so
 * the JSON is safe inside HTML.
 *
 * An answer streams in bounded memory: strings are escaped straight into
 * the sink, stacks are written one at a time (at most ?limit= of them,
 * the heaviest, kept in a heap of that size), and the nested tree is
 * walked with one array of children for the whole path.
 */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"

/* The selection of the functions view, made before the head so that a
 * regex out of its budget can be said in the head's notice. */
typedef struct {
    apr_array_header_t *rows;
    int total;
    const char *err;
} sel_t;

/* S escaped for a JSON string, without the quotes. */
static void js(const rp_render_t *c, const char *s)
{
    rp_out_escaped(c->out, RP_ESCAPE_JSON, s);
}

/* "s" or null. */
static void jstr(const rp_render_t *c, const char *s)
{
    if (!s) {
        rp_out_puts(c->out, "null");
        return;
    }
    rp_out_write(c->out, "\"", 1);
    js(c, s);
    rp_out_write(c->out, "\"", 1);
}

/* PRE, then "s", then POST: a member of a string value. */
static void member(const rp_render_t *c, const char *pre, const char *s,
                   const char *post)
{
    rp_out_puts(c->out, pre);
    jstr(c, s ? s : "");
    rp_out_puts(c->out, post);
}

/* The estimate as a percentage of the exact time (rp_model_covered), of
 * URI U or of all; null when there is no exact time to compare. */
static void json_covered(const rp_render_t *c, const rp_model_uri_t *u)
{
    double covered = rp_model_covered(c->m, u, NULL);

    if (covered < 0) {
        rp_out_puts(c->out, "null");
    }
    else {
        rp_out_printf(c->out, "%.1f", covered);
    }
}

static void json_counters(const rp_render_t *c, const apr_uint64_t *k)
{
    int i;

    rp_out_puts(c->out, "{");
    for (i = 0; i < RP_CTR_MAX; i++) {
        rp_out_printf(c->out, "%s\"%s\": %" APR_UINT64_T_FMT, i ? ", " : "",
                      rp_store_counter_name((rp_counter_e)i), k[i]);
    }
    rp_out_puts(c->out, "}");
}

static void json_func(const rp_render_t *c, const rp_func_t *f)
{
    member(c, "{\"name\": ", f->name, ", \"object\": ");
    jstr(c, f->object ? f->object : "");
    rp_out_puts(c->out, ", \"file\": ");
    jstr(c, f->file);
    rp_out_printf(c->out, ", \"line\": %d, \"self\": %" APR_UINT64_T_FMT
                  ", \"self_ms\": %.3f, \"cum\": %" APR_UINT64_T_FMT
                  ", \"cum_ms\": %.3f}", f->line, f->self_count,
                  rp_model_ms(f->self_ns), f->cum_count,
                  rp_model_ms(f->cum_ns));
}

/* ------------------------------------------------------------------ */
/* The overview's facts (rp_report_overview), one member each */

static void fact_value(const rp_render_t *c, const rp_fact_t *f)
{
    if (f->json) {
        rp_out_puts(c->out, f->json);
    }
    else {
        jstr(c, f->value);
    }
}

/* N, then the member KEY_max. */
static void fact_fill(const rp_render_t *c, const rp_fact_t *f)
{
    rp_out_printf(c->out, "%" APR_UINT64_T_FMT ", \"%s_max\": %"
                  APR_UINT64_T_FMT, f->n, f->key, f->max);
}

static void fact_rules(const rp_render_t *c, const rp_fact_t *f)
{
    const rp_filter_t *flt = c->page->filter;
    int i, n = flt ? rp_filter_count(flt, f->rules) : 0;
    const char *at;

    rp_out_puts(c->out, "[");
    for (i = 0; i < n; i++) {
        const char *pat = rp_filter_pattern(flt, f->rules, i, &at);
        member(c, i ? ", {\"pattern\": " : "{\"pattern\": ", pat,
               ", \"where\": ");
        member(c, "", at, "}");
    }
    rp_out_puts(c->out, "]");
}

static void (*const fact_kinds[RP_FACT_KINDS])(const rp_render_t *c,
                                               const rp_fact_t *f) = {
    fact_value, fact_fill, fact_rules
};

/* FACTS[0..N) as the members of an object, left open for more. */
static void json_facts(const rp_render_t *c, const rp_fact_t *facts, int n)
{
    int i;

    rp_out_puts(c->out, "{");
    for (i = 0; i < n; i++) {
        rp_out_printf(c->out, "%s\"%s\": ", i ? ", " : "", facts[i].key);
        fact_kinds[facts[i].kind](c, &facts[i]);
    }
}

/* One object per region, the table's columns and then every counter. */
static void json_children(const rp_render_t *c)
{
    const rp_fact_section_t *s = rp_report_children(c);
    int r, rows = s->nfacts / s->ncols;

    rp_out_puts(c->out, ",\n\"children\": [");
    for (r = 1; r < rows; r++) {
        rp_out_puts(c->out, r > 1 ? ",\n  " : "\n  ");
        json_facts(c, &s->facts[r * s->ncols], s->ncols);
        rp_out_puts(c->out, ", \"counters\": ");
        json_counters(c, c->m->regions[r - 1]->counters);
        rp_out_puts(c->out, "}");
    }
    rp_out_puts(c->out, "]");
}

/* ------------------------------------------------------------------ */
/* The head every view shares */

static void json_head(const rp_render_t *c, const char *notice)
{
    const rp_model_t *m = c->m;
    const rp_settings_t *s = &m->info->settings;
    double hz = rp_model_delivered_hz(m, NULL);
    int i;

    member(c, "{\"version\": ", c->page->version, ", \"view\": ");
    rp_out_printf(c->out, "\"%s\", \"settings\": {\"enabled\": %s, "
                  "\"timer\": \"%s\", \"frequency\": %d, "
                  "\"delivered_hz\": %.2f}, \"generation\": %u, "
                  "\"focus\": ", rp_report_view_names[c->o->view],
                  s->enabled ? "true" : "false",
                  rp_timer_name(s->timer), s->frequency, hz,
                  m->info->generation);
    jstr(c, m->focus);
    rp_out_puts(c->out, ", \"notice\": ");
    jstr(c, notice);
    rp_out_puts(c->out, ", \"nonce\": ");
    jstr(c, c->page->nonce);
    rp_out_printf(c->out, ",\n\"first_us\": %" APR_TIME_T_FMT ", "
                  "\"last_us\": %" APR_TIME_T_FMT ", \"samples\": %"
                  APR_UINT64_T_FMT ", \"ms\": %.3f, \"clock\": \"%s\", "
                  "\"covered_pct\": ",
                  m->first_time, m->last_time, m->samples,
                  rp_model_ms(m->weight_ns), rp_model_clock_name(m));
    json_covered(c, NULL);
    rp_out_puts(c->out, ",\n\"counters\": ");
    json_counters(c, m->counters);
    json_children(c);
    rp_out_puts(c->out, ",\n\"uris\": [");
    for (i = 0; i < m->uris->nelts; i++) {
        const rp_model_uri_t *u = &((rp_model_uri_t *)m->uris->elts)[i];
        member(c, i ? ",\n  {\"uri\": " : "\n  {\"uri\": ", u->uri, "");
        rp_out_printf(c->out, ", \"requests\": %" APR_UINT64_T_FMT
                      ", \"samples\": %" APR_UINT64_T_FMT ", \"ms\": %.3f, "
                      "\"wall_us\": %" APR_UINT64_T_FMT ", \"max_wall_us\": %"
                      APR_UINT64_T_FMT ", \"cpu_us\": %" APR_UINT64_T_FMT
                      ", \"max_cpu_us\": %" APR_UINT64_T_FMT
                      ", \"covered_pct\": ", u->requests,
                      u->samples, rp_model_ms(u->weight_ns), u->sum_wall_us,
                      u->max_wall_us, u->sum_cpu_us, u->max_cpu_us);
        json_covered(c, u);
        rp_out_puts(c->out, "}");
    }
    rp_out_puts(c->out, "],\n\"recent\": [");
    for (i = 0; i < m->recent->nelts; i++) {
        const rp_recent_t *x = ((const rp_recent_t **)m->recent->elts)[i];
        rp_out_printf(c->out, "%s\n  {\"time_us\": %" APR_TIME_T_FMT
                      ", \"method\": ", i ? "," : "", x->time);
        member(c, "", x->method, ", \"uri\": ");
        jstr(c, x->uri ? x->uri : "");
        rp_out_printf(c->out, ", \"status\": %d, \"wall_us\": %"
                      APR_INT64_T_FMT ", \"cpu_us\": %" APR_INT64_T_FMT
                      ", \"samples\": %u}", x->status, x->wall_us,
                      x->cpu_us, x->samples);
    }
    rp_out_puts(c->out, "]");
}

/* ------------------------------------------------------------------ */
/* Views */

/* The overview's sections, one object each, but the children: the head
 * has them in every view. */
static void json_overview(const rp_render_t *c, const sel_t *sel)
{
    int n, i, first = 1;
    const rp_fact_section_t *s = rp_report_overview(c, &n);

    rp_out_puts(c->out, ",\n\"overview\": {");
    for (i = 0; i < n; i++) {
        if (s[i].ncols) {
            continue;
        }
        rp_out_printf(c->out, "%s\n  \"%s\": ", first ? "" : ",", s[i].key);
        json_facts(c, s[i].facts, s[i].nfacts);
        rp_out_puts(c->out, "}");
        first = 0;
    }
    rp_out_puts(c->out, "}");
}

/* The kept requests the list shows, in its order and with its filters
 * (rp_report_kept); the URIs and the ring are the head's. */
static void json_requests(const rp_render_t *c, const sel_t *sel)
{
    int total, i, r;
    apr_array_header_t *rows = rp_report_kept(c, &total);

    rp_out_printf(c->out,
                  ",\n\"kept_held\": %d, \"kept_shown\": %d, "
                  "\"kept\": [",
                  total, rows->nelts);
    for (i = 0; i < rows->nelts; i++) {
        const rp_kept_t *k = ((const rp_kept_t **)rows->elts)[i];
        member(c, i ? ",\n  {\"id\": " : "\n  {\"id\": ", k->id, "");
        rp_out_printf(c->out,
                      ", \"time_us\": %" APR_TIME_T_FMT ", \"method\": ",
                      k->time);
        member(c, "", k->method, ", \"uri\": ");
        member(c, "", k->uri, ", \"query\": ");
        member(c, "", k->query, ", \"vhost\": ");
        member(c, "", k->vhost, ", \"handler\": ");
        member(c, "", k->handler, ", \"content_type\": ");
        member(c, "", k->content_type, "");
        rp_out_printf(c->out,
                      ", \"status\": %d, \"bytes\": %" APR_UINT64_T_FMT
                      ", \"wall_us\": %" APR_INT64_T_FMT
                      ", \"cpu_us\": %" APR_INT64_T_FMT ", \"samples\": %u, "
                      "\"slot\": %d, \"reasons\": [",
                      k->status, k->bytes, k->wall_us, k->cpu_us, k->samples,
                      k->slot);
        for (r = 0; r < RP_KEEP_REASONS; r++) {
            if (k->reasons & (1u << r)) {
                rp_out_printf(c->out, "%s\"%s\"",
                              (k->reasons & ((1u << r) - 1)) ? ", " : "",
                              rp_keep_reason_names[r]);
            }
        }
        rp_out_puts(c->out, "]}");
    }
    rp_out_puts(c->out, "]");
}

/* Stack order: more self samples first, then the node's index, so the
 * order is total and the same from run to run. */
static int heavier(const rp_tnode_t *nodes, apr_uint32_t a, apr_uint32_t b)
{
    return nodes[a].self_count != nodes[b].self_count
           ? nodes[a].self_count > nodes[b].self_count : a < b;
}

/* qsort_r's comparator: ARG is the node array. */
static int stack_cmp(const void *x, const void *y, void *arg)
{
    apr_uint32_t a = *(const apr_uint32_t *)x, b = *(const apr_uint32_t *)y;

    return a == b ? 0 : heavier(arg, a, b) ? -1 : 1;
}

/* Nodes with self samples, the heaviest LIMIT of them (0: all), heaviest
 * first.  A min-heap of LIMIT entries whose root is the lightest kept,
 * so memory follows the limit, not the profile.  *TOTAL gets how many
 * nodes have self samples. */
static apr_array_header_t *heaviest(const rp_render_t *c, int limit,
                                    int *total)
{
    const rp_model_t *m = c->m;
    const rp_tnode_t *nodes = (const rp_tnode_t *)m->nodes->elts;
    int n = m->nodes->nelts, i, cap, k, kid;
    apr_array_header_t *out;
    apr_uint32_t *h;

    for (*total = 0, i = 1; i < n; i++) {
        *total += nodes[i].self_count != 0;
    }
    cap = limit > 0 && limit < *total ? limit : *total;
    out = apr_array_make(c->p, cap ? cap : 1, sizeof(apr_uint32_t));
    h = (apr_uint32_t *)out->elts;
    for (i = 1; i < n; i++) {
        apr_uint32_t x = (apr_uint32_t)i;
        if (!nodes[i].self_count) {
            continue;
        }
        if (out->nelts < cap) {
            /* Sift up. */
            for (k = out->nelts++; k > 0
                 && heavier(nodes, h[(k - 1) / 2], x); k = (k - 1) / 2) {
                h[k] = h[(k - 1) / 2];
            }
            h[k] = x;
            continue;
        }
        if (!cap || !heavier(nodes, x, h[0])) {
            continue;
        }
        /* Replace the lightest, sift down. */
        for (k = 0; (kid = 2 * k + 1) < cap; k = kid) {
            if (kid + 1 < cap && heavier(nodes, h[kid], h[kid + 1])) {
                kid++;
            }
            if (!heavier(nodes, x, h[kid])) {
                break;
            }
            h[k] = h[kid];
        }
        h[k] = x;
    }
    qsort_r(h, (apr_size_t)out->nelts, sizeof(*h), stack_cmp,
            (void *)nodes);
    return out;
}

/* Nodes with self samples as their paths of function names: the
 * ?limit= heaviest (every one with limit 0), heaviest first. */
static void json_stacks(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    apr_array_header_t *path = apr_array_make(c->p, 64,
                                              sizeof(apr_uint32_t));
    apr_array_header_t *kept;
    int i, k, total;

    kept = heaviest(c, c->o->select.limit, &total);
    rp_out_printf(c->out, ",\n\"stacks_total\": %d, \"stacks\": [", total);
    for (i = 0; i < kept->nelts; i++) {
        apr_uint32_t n = ((apr_uint32_t *)kept->elts)[i];
        const rp_tnode_t *t = rp_model_node(m, n);
        rp_model_path(m, n, path);
        rp_out_printf(c->out, "%s\n  {\"samples\": %" APR_UINT64_T_FMT
                      ", \"ms\": %.3f, \"frames\": [", i ? "," : "",
                      t->self_count, rp_model_ms(t->self_ns));
        for (k = path->nelts - 1; k >= 0; k--) {
            member(c, "", rp_model_func(m, ((apr_uint32_t *)
                                            path->elts)[k])->name,
                   k ? ", " : "");
        }
        rp_out_puts(c->out, "]}");
    }
    rp_out_puts(c->out, "]");
}

static void json_functions(const rp_render_t *c, const sel_t *sel)
{
    int i;

    member(c, ",\n\"sort\": ", c->o->select.sort, "");
    rp_out_printf(c->out, ", \"functions_total\": %d, \"match_error\": ",
                  sel->total);
    jstr(c, sel->err);
    rp_out_puts(c->out, ", \"functions\": [");
    for (i = 0; i < sel->rows->nelts; i++) {
        rp_out_puts(c->out, i ? ",\n  " : "\n  ");
        json_func(c, rp_model_func(c->m,
                                   ((apr_uint32_t *)sel->rows->elts)[i]));
    }
    rp_out_puts(c->out, "]");
    json_stacks(c);
}

static void json_edges(const rp_render_t *c, int callers)
{
    const rp_model_t *m = c->m;
    apr_array_header_t *found = c->o->func
                                ? rp_model_find(c->p, m, c->o->func) : NULL;
    int i, j;

    rp_out_puts(c->out, ",\n\"func\": ");
    jstr(c, c->o->func);
    rp_out_printf(c->out, ", \"%s\": [", callers ? "callers" : "callees");
    for (i = 0; found && i < found->nelts; i++) {
        apr_uint32_t f = ((apr_uint32_t *)found->elts)[i];
        apr_array_header_t *edges = rp_model_edges(c->p, m, f, callers);
        rp_out_puts(c->out, i ? ",\n  {\"function\": " : "\n  {\"function\": ");
        json_func(c, rp_model_func(m, f));
        rp_out_puts(c->out, ", \"edges\": [");
        for (j = 0; j < edges->nelts; j++) {
            const rp_edge_t *e = &((rp_edge_t *)edges->elts)[j];
            const rp_func_t *g = rp_model_func(m, e->func);
            member(c, j ? ",\n    {\"name\": " : "\n    {\"name\": ", g->name,
                   ", \"object\": ");
            jstr(c, g->object ? g->object : "");
            rp_out_printf(c->out, ", \"samples\": %" APR_UINT64_T_FMT
                          ", \"ms\": %.3f}", e->count, rp_model_ms(e->ns));
        }
        rp_out_puts(c->out, "]}");
    }
    rp_out_puts(c->out, "]");
}

static void json_callers(const rp_render_t *c, const sel_t *sel)
{
    json_edges(c, 1);
}

static void json_callees(const rp_render_t *c, const sel_t *sel)
{
    json_edges(c, 0);
}

/* Nested {"name", "object", "value", "self", "children"}: the shape
 * d3-flame-graph reads.  Depth-first with an explicit stack, so deep
 * recursion in the profile cannot overflow ours; nodes under min% are
 * left out and counted.  The children of every level of the current path
 * sit in one array, each level's above its parent's, so the walk holds
 * the path's children, not the tree's. */
typedef struct {
    int start, end;             /* its children: KIDS[start..end) */
    int next;                   /* the next of them to visit */
    int written;                /* children written so far */
} level_t;

static void json_nested(const rp_render_t *c, const char *member_name)
{
    const rp_model_t *m = c->m;
    apr_uint64_t min = (apr_uint64_t)(c->o->min_pct * (double)m->samples
                                      / 100.0);
    apr_array_header_t *stack = apr_array_make(c->p, 64, sizeof(level_t));
    apr_array_header_t *kids = apr_array_make(c->p, 256,
                                              sizeof(apr_uint32_t));
    level_t *lv;
    int pruned = 0;

    rp_out_printf(c->out, ",\n\"min_pct\": %g, \"%s\": ", c->o->min_pct,
                  member_name);
    rp_out_printf(c->out, "{\"name\": \"all\", \"object\": \"\", \"value\": %"
                  APR_UINT64_T_FMT ", \"self\": 0, \"children\": [",
                  m->samples);
    lv = apr_array_push(stack);
    lv->start = 0;
    lv->end = rp_model_children_push(m, 0, kids);
    lv->next = lv->written = 0;
    while (stack->nelts) {
        const rp_tnode_t *t;
        const rp_func_t *f;
        apr_uint32_t k;
        lv = &((level_t *)stack->elts)[stack->nelts - 1];
        if (lv->start + lv->next >= lv->end) {
            rp_out_puts(c->out, "]}");
            kids->nelts = lv->start;
            stack->nelts--;
            continue;
        }
        k = ((apr_uint32_t *)kids->elts)[lv->start + lv->next++];
        t = rp_model_node(m, k);
        if (t->total_count < min || !t->total_count) {
            pruned++;
            continue;
        }
        f = rp_model_func(m, t->func);
        member(c, lv->written++ ? ", {\"name\": " : "{\"name\": ", f->name,
               ", \"object\": ");
        jstr(c, f->object ? f->object : "");
        rp_out_printf(c->out, ", \"value\": %" APR_UINT64_T_FMT
                      ", \"self\": %" APR_UINT64_T_FMT ", \"children\": [",
                      t->total_count, t->self_count);
        lv = apr_array_push(stack);
        lv->start = kids->nelts;
        lv->end = lv->start + rp_model_children_push(m, k, kids);
        lv->next = lv->written = 0;
    }
    rp_out_printf(c->out, ",\n\"pruned\": %d", pruned);
}

static void json_tree(const rp_render_t *c, const sel_t *sel)
{
    json_nested(c, "tree");
}

static void json_flame(const rp_render_t *c, const sel_t *sel)
{
    json_nested(c, "flame");
}

/* A stack from node N up to its URI, outermost first. */
static void json_stack(const rp_render_t *c, apr_uint32_t n,
                       apr_array_header_t *path)
{
    int k;

    rp_model_path(c->m, n, path);
    rp_out_puts(c->out, "[");
    for (k = path->nelts - 1; k >= 0; k--) {
        member(c, "",
               rp_model_func(c->m, ((apr_uint32_t *)path->elts)[k])->name,
               k ? ", " : "");
    }
    rp_out_puts(c->out, "]");
}

/* One request: its facts and headers, its spans in time order, every
 * frame's difference from typical (biggest first), then its functions,
 * stacks and tree as the views of those names give them. */
static void json_request(const rp_render_t *c, const sel_t *sel)
{
    const rp_model_t *m = c->m;
    const rp_kept_t *k = m->request;
    apr_array_header_t *path = apr_array_make(c->p, 64, sizeof(apr_uint32_t));
    apr_array_header_t *order;
    const rp_fact_section_t *s;
    const rp_diff_t *d;
    rp_span_view_t sv;
    apr_uint32_t i;
    int n, r;

    rp_out_puts(c->out, ",\n\"request\": ");
    if (!k) {
        rp_out_puts(c->out, "null");
        return;
    }
    s = rp_report_request_facts(c, &n);
    json_facts(c, s[0].facts, s[0].nfacts);
    rp_out_puts(c->out, ", \"headers\": [");
    for (r = 1; r < s[1].nfacts / s[1].ncols; r++) {
        rp_out_puts(c->out, r > 1 ? ", " : "");
        json_facts(c, &s[1].facts[r * s[1].ncols], s[1].ncols);
        rp_out_puts(c->out, "}");
    }
    rp_out_printf(c->out, "]},\n\"timeline\": {\"us\": %" APR_INT64_T_FMT,
                  rp_report_timeline_us(m));
    rp_out_puts(c->out, ", \"spans\": [");
    for (i = 0; i < k->n_spans; i++) {
        rp_report_span(m, i, &sv);
        rp_out_printf(c->out,
                      "%s\n  {\"start_us\": %" APR_INT64_T_FMT
                      ", \"end_us\": %" APR_INT64_T_FMT ", \"samples\": %u, "
                      "\"ms\": %.3f, \"blocked\": %s, \"stack\": ",
                      i ? "," : "", sv.start_us, sv.end_us, sv.count,
                      rp_model_ms(sv.weight_ns),
                      sv.blocked ? "true" : "false");
        if (sv.node == RP_MODEL_NONE) {
            rp_out_puts(c->out, "[]}");
            continue;
        }
        json_stack(c, sv.node, path);
        rp_out_puts(c->out, "}");
    }
    rp_out_puts(c->out, "]},\n\"diff\": ");
    if (!(d = rp_report_diff(c))) {
        rp_out_puts(c->out, "null");
    }
    else {
        rp_out_printf(c->out, "{\"typical_requests\": %" APR_UINT64_T_FMT,
                      d->base_requests);
        rp_out_printf(c->out, ", \"typical_samples\": %" APR_UINT64_T_FMT,
                      d->base_samples);
        rp_out_printf(c->out, ", \"mark\": %g, \"frames\": [", RP_DIFF_MARK);
        order = rp_report_diff_order(c, d);
        for (r = 0; r < order->nelts; r++) {
            apr_uint32_t x = ((apr_uint32_t *)order->elts)[r];
            const rp_func_t *f = rp_model_func(m, rp_model_node(m, x)->func);
            double delta = d->share[x] - d->typical[x];
            member(c, r ? ",\n  {\"name\": " : "\n  {\"name\": ", f->name,
                   ", \"object\": ");
            jstr(c, f->object ? f->object : "");
            rp_out_printf(c->out,
                          ", \"share\": %.2f, \"typical\": %.2f, "
                          "\"delta\": %.2f, \"more\": %s, \"less\": %s, "
                          "\"stack\": ",
                          d->share[x], d->typical[x], delta,
                          delta >= RP_DIFF_MARK ? "true" : "false",
                          delta <= -RP_DIFF_MARK ? "true" : "false");
            json_stack(c, x, path);
            rp_out_puts(c->out, "}");
        }
        rp_out_puts(c->out, "]}");
    }
    json_functions(c, sel);
    json_nested(c, "tree");
}

/* view=now: the page's own head (there is no model), then the
 * requests. */
static void json_now(const rp_render_t *c, const sel_t *sel)
{
    (void)sel;
    member(c, "{\"version\": ", c->page->version,
           ", \"view\": \"now\", \"host\": ");
    member(c, "", c->page->host, ", ");
    rp_report_now_json(c);
}

static void json_explain(const rp_render_t *c, const sel_t *sel)
{
    const rp_explain_view_t *x = c->page->explain;

    member(c, "{\"version\": ", c->page->version,
           ", \"view\": \"explain\", \"host\": ");
    member(c, "", c->page->host, ", ");
    if (!x) {
        rp_out_puts(c->out, "\"path\": null");
        return;
    }
    member(c, "\"path\": ", x->given, ", \"as_matched\": ");
    member(c, "", x->path, "");
    rp_out_printf(c->out, ", \"bad_escape\": %s, \"profiled\": %s, "
                  "\"reason\": ", x->bad_escape ? "true" : "false",
                  x->e.profile ? "true" : "false");
    member(c, "", rp_report_why(c->p, x), ", \"rule\": ");
    if (x->e.pattern) {
        rp_out_printf(c->out, "{\"list\": \"%s\", \"number\": %d, "
                      "\"pattern\": ", rp_filter_kind_name(x->e.kind),
                      x->e.index + 1);
        member(c, "", x->e.pattern, ", \"where\": ");
        member(c, "", x->e.where, "}");
    }
    else {
        rp_out_puts(c->out, "null");
    }
    rp_out_printf(c->out, ", \"limit_hits\": %d, \"enabled_at_start\": %s",
                  x->e.limit_hits,
                  c->page->configured_enabled ? "true" : "false");
}

/* clang-format off */
static void (*const views[RP_VIEW_COUNT])(const rp_render_t *c,
                                          const sel_t *sel) = {
    json_overview, json_functions, json_callers, json_callees, json_tree,
    json_flame, json_requests, json_request, json_explain,
    json_now
};
/* clang-format on */

void rp_report_json(const rp_render_t *c)
{
    const char *notice = c->page->notice;
    sel_t sel;

    memset(&sel, 0, sizeof(sel));
    if (c->o->view == RP_VIEW_FUNCTIONS || c->o->view == RP_VIEW_REQUEST) {
        sel.rows = rp_model_select(c->p, c->m, &c->o->select, &sel.total,
                                   &sel.err);
        if (sel.err) {
            notice = notice ? apr_pstrcat(c->p, sel.err, "; ", notice, NULL)
                            : sel.err;
        }
    }
    if (!RP_VIEW_NO_MODEL(c->o->view)) {
        json_head(c, notice);
    }
    views[c->o->view](c, &sel);
    rp_out_puts(c->out, "}\n");
}
