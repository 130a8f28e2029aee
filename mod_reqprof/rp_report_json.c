/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_json: every view as one JSON object (schema in README.md).
 *
 * Every answer but explain's carries the same head (version, view,
 * settings, generation, focus, totals, counters, children, uris, recent),
 * so a script needs one fetch for the state of the profiler, and then the
 * view's own member: "functions" (+ "stacks"), "callers"/"callees",
 * "tree" and "flame" (nested nodes).  Strings pass rp_escape_json, which
 * also keeps '<', '>' and '&' out, so the JSON is safe inside HTML.
 */

#include <string.h>

#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"

static const char *js(const rp_render_t *c, const char *s)
{
    return rp_escape_json(c->p, s ? s : "");
}

/* "\"s\"" or null. */
static const char *jstr(const rp_render_t *c, const char *s)
{
    return s ? apr_pstrcat(c->p, "\"", js(c, s), "\"", NULL) : "null";
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
    rp_out_printf(c->out, "{\"name\": \"%s\", \"object\": \"%s\", \"file\": "
                  "%s, \"line\": %d, \"self\": %" APR_UINT64_T_FMT
                  ", \"self_ms\": %.3f, \"cum\": %" APR_UINT64_T_FMT
                  ", \"cum_ms\": %.3f}", js(c, f->name), js(c, f->object),
                  jstr(c, f->file), f->line, f->self_count,
                  rp_model_ms(f->self_ns), f->cum_count,
                  rp_model_ms(f->cum_ns));
}

/* ------------------------------------------------------------------ */
/* The head every view shares */

static void json_head(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    const rp_settings_t *s = &m->info->settings;
    double hz = rp_model_delivered_hz(m, NULL);
    int i;

    rp_out_printf(c->out, "{\"version\": \"%s\", \"view\": \"%s\", "
                  "\"settings\": {\"enabled\": %s, \"timer\": \"%s\", "
                  "\"frequency\": %d, \"delivered_hz\": %.2f}, "
                  "\"generation\": %u, \"focus\": %s, \"notice\": %s, "
                  "\"nonce\": %s,\n"
                  "\"first_us\": %" APR_TIME_T_FMT ", \"last_us\": %"
                  APR_TIME_T_FMT ", \"samples\": %" APR_UINT64_T_FMT
                  ", \"ms\": %.3f,\n\"counters\": ", js(c, c->page->version),
                  rp_report_view_names[c->o->view],
                  s->enabled ? "true" : "false",
                  rp_report_timer_name(s->timer), s->frequency, hz,
                  m->info->generation, jstr(c, m->focus),
                  jstr(c, c->page->notice), jstr(c, c->page->nonce),
                  m->first_time, m->last_time,
                  m->samples, rp_model_ms(m->weight_ns));
    json_counters(c, m->counters);
    rp_out_puts(c->out, ",\n\"children\": [");
    for (i = 0; i < m->nregions; i++) {
        const rp_region_t *g = m->regions[i];
        rp_out_printf(c->out, "%s\n  {\"slot\": %d, \"pid\": %d, \"nodes\": "
                      "%u, \"nodes_max\": %u, \"uris\": %u, \"uris_max\": %u, "
                      "\"counters\": ", i ? "," : "", g->slot, (int)g->owner,
                      g->n_nodes, g->cap_nodes, g->n_uris, g->cap_uris);
        json_counters(c, g->counters);
        rp_out_puts(c->out, "}");
    }
    rp_out_puts(c->out, "],\n\"uris\": [");
    for (i = 0; i < m->uris->nelts; i++) {
        const rp_model_uri_t *u = &((rp_model_uri_t *)m->uris->elts)[i];
        rp_out_printf(c->out, "%s\n  {\"uri\": \"%s\", \"requests\": %"
                      APR_UINT64_T_FMT ", \"samples\": %" APR_UINT64_T_FMT
                      ", \"ms\": %.3f, \"wall_us\": %" APR_UINT64_T_FMT
                      ", \"max_wall_us\": %" APR_UINT64_T_FMT ", \"cpu_us\": %"
                      APR_UINT64_T_FMT ", \"max_cpu_us\": %" APR_UINT64_T_FMT
                      "}", i ? "," : "", js(c, u->uri), u->requests,
                      u->samples, rp_model_ms(u->weight_ns), u->sum_wall_us,
                      u->max_wall_us, u->sum_cpu_us, u->max_cpu_us);
    }
    rp_out_puts(c->out, "],\n\"recent\": [");
    for (i = 0; i < m->recent->nelts; i++) {
        const rp_recent_t *x = ((const rp_recent_t **)m->recent->elts)[i];
        rp_out_printf(c->out, "%s\n  {\"time_us\": %" APR_TIME_T_FMT
                      ", \"method\": \"%s\", \"uri\": \"%s\", \"status\": %d, "
                      "\"wall_us\": %" APR_INT64_T_FMT ", \"cpu_us\": %"
                      APR_INT64_T_FMT ", \"samples\": %u}", i ? "," : "",
                      x->time, js(c, x->method), js(c, x->uri), x->status,
                      x->wall_us, x->cpu_us, x->samples);
    }
    rp_out_puts(c->out, "]");
}

/* ------------------------------------------------------------------ */
/* Views */

static void json_overview(const rp_render_t *c)
{
    (void)c;
}

static void json_requests(const rp_render_t *c)
{
    (void)c;    /* the head has them */
}

/* Every node with self samples, as its path of function names. */
static void json_stacks(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    apr_array_header_t *path = apr_array_make(c->p, 64,
                                              sizeof(apr_uint32_t));
    int i, first = 1, k;

    rp_out_puts(c->out, "[");
    for (i = 1; i < m->nodes->nelts; i++) {
        const rp_tnode_t *t = rp_model_node(m, (apr_uint32_t)i);
        if (!t->self_count) {
            continue;
        }
        rp_model_path(m, (apr_uint32_t)i, path);
        rp_out_printf(c->out, "%s\n  {\"samples\": %" APR_UINT64_T_FMT
                      ", \"ms\": %.3f, \"frames\": [", first ? "" : ",",
                      t->self_count, rp_model_ms(t->self_ns));
        for (k = path->nelts - 1; k >= 0; k--) {
            rp_out_printf(c->out, "\"%s\"%s",
                          js(c, rp_model_func(m, ((apr_uint32_t *)
                                                  path->elts)[k])->name),
                          k ? ", " : "");
        }
        rp_out_puts(c->out, "]}");
        first = 0;
    }
    rp_out_puts(c->out, "]");
}

static void json_functions(const rp_render_t *c)
{
    int total, i;
    apr_array_header_t *rows = rp_model_select(c->p, c->m, &c->o->select,
                                               &total);

    rp_out_printf(c->out, ",\n\"sort\": \"%s\", \"functions_total\": %d, "
                  "\"functions\": [", js(c, c->o->select.sort), total);
    for (i = 0; i < rows->nelts; i++) {
        rp_out_puts(c->out, i ? ",\n  " : "\n  ");
        json_func(c, rp_model_func(c->m, ((apr_uint32_t *)rows->elts)[i]));
    }
    rp_out_puts(c->out, "],\n\"stacks\": ");
    json_stacks(c);
}

static void json_edges(const rp_render_t *c, int callers)
{
    const rp_model_t *m = c->m;
    apr_array_header_t *found = c->o->func
                                ? rp_model_find(c->p, m, c->o->func) : NULL;
    int i, j;

    rp_out_printf(c->out, ",\n\"func\": %s, \"%s\": [", jstr(c, c->o->func),
                  callers ? "callers" : "callees");
    for (i = 0; found && i < found->nelts; i++) {
        apr_uint32_t f = ((apr_uint32_t *)found->elts)[i];
        apr_array_header_t *edges = rp_model_edges(c->p, m, f, callers);
        rp_out_puts(c->out, i ? ",\n  {\"function\": " : "\n  {\"function\": ");
        json_func(c, rp_model_func(m, f));
        rp_out_puts(c->out, ", \"edges\": [");
        for (j = 0; j < edges->nelts; j++) {
            const rp_edge_t *e = &((rp_edge_t *)edges->elts)[j];
            const rp_func_t *g = rp_model_func(m, e->func);
            rp_out_printf(c->out, "%s\n    {\"name\": \"%s\", \"object\": "
                          "\"%s\", \"samples\": %" APR_UINT64_T_FMT
                          ", \"ms\": %.3f}", j ? "," : "", js(c, g->name),
                          js(c, g->object), e->count, rp_model_ms(e->ns));
        }
        rp_out_puts(c->out, "]}");
    }
    rp_out_puts(c->out, "]");
}

static void json_callers(const rp_render_t *c)
{
    json_edges(c, 1);
}

static void json_callees(const rp_render_t *c)
{
    json_edges(c, 0);
}

/* Nested {"name", "object", "value", "self", "children"}: the shape
 * d3-flame-graph reads.  Depth-first with an explicit stack, so deep
 * recursion in the profile cannot overflow ours; nodes under min% are
 * left out and counted. */
typedef struct {
    apr_array_header_t *kids;   /* sorted children of the level's node */
    int next;                   /* the next of them to visit */
    int written;                /* children written so far */
} level_t;

static void json_nested(const rp_render_t *c, const char *member)
{
    const rp_model_t *m = c->m;
    apr_uint64_t min = (apr_uint64_t)(c->o->min_pct * (double)m->samples
                                      / 100.0);
    apr_array_header_t *stack = apr_array_make(c->p, 64, sizeof(level_t));
    level_t *lv;
    int pruned = 0;

    rp_out_printf(c->out, ",\n\"min_pct\": %g, \"%s\": ", c->o->min_pct,
                  member);
    rp_out_printf(c->out, "{\"name\": \"all\", \"object\": \"\", \"value\": %"
                  APR_UINT64_T_FMT ", \"self\": 0, \"children\": [",
                  m->samples);
    lv = apr_array_push(stack);
    lv->kids = rp_model_children(c->p, m, 0);
    lv->next = lv->written = 0;
    while (stack->nelts) {
        const rp_tnode_t *t;
        const rp_func_t *f;
        apr_uint32_t k;
        lv = &((level_t *)stack->elts)[stack->nelts - 1];
        if (lv->next >= lv->kids->nelts) {
            rp_out_puts(c->out, "]}");
            stack->nelts--;
            continue;
        }
        k = ((apr_uint32_t *)lv->kids->elts)[lv->next++];
        t = rp_model_node(m, k);
        if (t->total_count < min || !t->total_count) {
            pruned++;
            continue;
        }
        f = rp_model_func(m, t->func);
        rp_out_printf(c->out, "%s{\"name\": \"%s\", \"object\": \"%s\", "
                      "\"value\": %" APR_UINT64_T_FMT ", \"self\": %"
                      APR_UINT64_T_FMT ", \"children\": [",
                      lv->written++ ? ", " : "", js(c, f->name),
                      js(c, f->object), t->total_count, t->self_count);
        lv = apr_array_push(stack);
        lv->kids = rp_model_children(c->p, m, k);
        lv->next = lv->written = 0;
    }
    rp_out_printf(c->out, ",\n\"pruned\": %d", pruned);
}

static void json_tree(const rp_render_t *c)
{
    json_nested(c, "tree");
}

static void json_flame(const rp_render_t *c)
{
    json_nested(c, "flame");
}

static void json_explain(const rp_render_t *c)
{
    const rp_explain_view_t *x = c->page->explain;

    rp_out_printf(c->out, "{\"version\": \"%s\", \"view\": \"explain\", "
                  "\"host\": \"%s\", ", js(c, c->page->version),
                  js(c, c->page->host));
    if (!x) {
        rp_out_puts(c->out, "\"path\": null");
        return;
    }
    rp_out_printf(c->out, "\"path\": \"%s\", \"as_matched\": \"%s\", "
                  "\"bad_escape\": %s, \"profiled\": %s, \"reason\": \"%s\", "
                  "\"rule\": ", js(c, x->given), js(c, x->path),
                  x->bad_escape ? "true" : "false",
                  x->e.profile ? "true" : "false",
                  js(c, rp_report_why(c->p, x)));
    if (x->e.pattern) {
        rp_out_printf(c->out, "{\"list\": \"%s\", \"number\": %d, "
                      "\"pattern\": \"%s\", \"where\": \"%s\"}",
                      rp_filter_kind_name(x->e.kind), x->e.index + 1,
                      js(c, x->e.pattern), js(c, x->e.where));
    }
    else {
        rp_out_puts(c->out, "null");
    }
    rp_out_printf(c->out, ", \"limit_hits\": %d, \"enabled_at_start\": %s",
                  x->e.limit_hits,
                  c->page->configured_enabled ? "true" : "false");
}

static void (*const views[RP_VIEW_COUNT])(const rp_render_t *c) = {
    json_overview, json_functions, json_callers, json_callees, json_tree,
    json_flame, json_requests, json_explain
};

void rp_report_json(const rp_render_t *c)
{
    if (c->o->view != RP_VIEW_EXPLAIN) {
        json_head(c);
    }
    views[c->o->view](c);
    rp_out_puts(c->out, "}\n");
}
