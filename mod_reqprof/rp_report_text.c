/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_text: every view as plain text with aligned columns, as
 * pstats prints them, for terminals, scripts and diffs.
 *
 * One function per view, chosen from a table in rp_view_e order; the
 * overview writes rp_report_overview's facts, as html and json do.  Every
 * string that came from a request or a binary goes through
 * rp_escape_text, so a URI cannot forge a line or a terminal escape.
 * What is written per row or per tree node (names, file:line, the tree's
 * indentation) is escaped and formatted straight into the sink, and the
 * tree's walk keeps one array of children for the whole path, so an
 * answer takes memory in proportion to the deepest path, not to what it
 * writes.
 */

#include <string.h>

#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"

static const char *esc(const rp_render_t *c, const char *s)
{
    return rp_escape_text(c->p, s ? s : "");
}

/* S escaped, into the sink. */
static void put_esc(const rp_render_t *c, const char *s)
{
    rp_out_escaped(c->out, RP_ESCAPE_TEXT, s);
}

/* "file:line" when known, else the object, into the sink. */
static void put_where(const rp_render_t *c, const rp_func_t *f)
{
    put_esc(c, f->file ? f->file : f->object);
    if (f->file && f->line) {
        rp_out_printf(c->out, ":%d", f->line);
    }
}

/* ------------------------------------------------------------------ */
/* Overview: rp_report_overview's facts, a label and its values a line,
 * tables in aligned columns */

/* A fact's value with its words, escaped; nothing when it has none. */
static void text_value(const rp_render_t *c, const rp_fact_t *f)
{
    if (f->value) {
        put_esc(c, f->before);
        put_esc(c, f->value);
        put_esc(c, f->after);
    }
}

/* A list of rules: the label, then one rule a line with where it was
 * written (the label alone on its line), or "(none)". */
static void text_rules(const rp_render_t *c, const rp_fact_t *f)
{
    const rp_filter_t *flt = c->page->filter;
    int i, n = flt ? rp_filter_count(flt, f->rules) : 0;
    const char *at;

    rp_out_printf(c->out, n ? "%s\n" : "%-16s (none)\n", f->label);
    for (i = 0; i < n; i++) {
        const char *pat = rp_filter_pattern(flt, f->rules, i, &at);
        rp_out_printf(c->out, "  #%-3d %-40s %s\n", i + 1, esc(c, pat),
                      esc(c, at));
    }
}

static void text_rows(const rp_render_t *c, const rp_fact_section_t *s)
{
    int i;

    for (i = 0; i < s->nfacts; i++) {
        const rp_fact_t *f = &s->facts[i];
        if (f->kind == RP_FACT_RULES) {
            text_rules(c, f);
            continue;
        }
        if (f->label) {
            rp_out_printf(c->out, "%-16s ", f->label);
        }
        text_value(c, f);
        if (i + 1 == s->nfacts || s->facts[i + 1].label) {
            rp_out_puts(c->out, "\n");
        }
    }
}

/* A table's cell: the value with its words, or nothing. */
static const char *cell_of(const rp_render_t *c, const rp_fact_t *f)
{
    return f->value ? apr_pstrcat(c->p, f->before ? f->before : "", f->value,
                                  f->after ? f->after : "", NULL)
                    : "";
}

/* The head row's labels, then a row per item; figures right-aligned to
 * their column's width (a cell is escaped before it is measured). */
static void text_table(const rp_render_t *c, const rp_fact_section_t *s)
{
    int rows = s->nfacts / s->ncols, r, k;

    for (r = 0; r < rows; r++) {
        for (k = 0; k < s->ncols; k++) {
            const rp_fact_t *f = &s->facts[r * s->ncols + k];
            rp_out_printf(c->out, "%s%*s", k ? " " : "", s->facts[k].width,
                          esc(c, r ? cell_of(c, f) : f->label));
        }
        rp_out_puts(c->out, "\n");
    }
    if (rows < 2 && s->empty) {
        rp_out_printf(c->out, "(%s)\n", s->empty);
    }
}

static void text_overview(const rp_render_t *c)
{
    int n, i;
    const rp_fact_section_t *s = rp_report_overview(c, &n);

    rp_out_printf(c->out, "mod_reqprof %s\n", c->page->version);
    for (i = 0; i < n; i++) {
        rp_out_printf(c->out, "\n%s%s%s%s\n", s[i].title,
                      s[i].note ? " (" : "", s[i].note ? s[i].note : "",
                      s[i].note ? ")" : "");
        if (s[i].ncols) {
            text_table(c, &s[i]);
        }
        else {
            text_rows(c, &s[i]);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Functions */

static void func_row(const rp_render_t *c, const rp_func_t *f)
{
    const rp_model_t *m = c->m;

    rp_out_printf(c->out, "%8" APR_UINT64_T_FMT " %5.1f%% %10.2f %8"
                  APR_UINT64_T_FMT " %5.1f%% %10.2f  ",
                  f->self_count, rp_model_pct(f->self_count, m->samples),
                  rp_model_ms(f->self_ns), f->cum_count,
                  rp_model_pct(f->cum_count, m->samples),
                  rp_model_ms(f->cum_ns));
    put_esc(c, f->name);
    rp_out_puts(c->out, "  (");
    put_where(c, f);
    rp_out_puts(c->out, ")\n");
}

static const char FUNC_HEAD[] =
    "    self  self%    self ms      cum   cum%     cum ms  "
    "function  (file)\n";

static void text_title(const rp_render_t *c)
{
    const rp_model_t *m = c->m;

    rp_out_printf(c->out, "%s%s: %" APR_UINT64_T_FMT " samples, %.1f ms "
                  "estimated\n", m->focus ? "profile of " : "profile",
                  m->focus ? esc(c, m->focus) : "", m->samples,
                  rp_model_ms(m->weight_ns));
}

static void text_functions(const rp_render_t *c)
{
    const rp_view_opts_t *o = c->o;
    int total, i;
    const char *err;
    apr_array_header_t *rows = rp_model_select(c->p, c->m, &o->select,
                                               &total, &err);

    text_title(c);
    rp_out_printf(c->out, "%d of %d functions, sorted by %s", rows->nelts,
                  total, o->select.sort);
    if (o->match) {
        rp_out_puts(c->out, ", names matching '");
        put_esc(c, o->match);
        rp_out_puts(c->out, "'");
    }
    if (o->select.fraction > 0) {
        rp_out_printf(c->out, ", first %g of them", o->select.fraction);
    }
    if (o->select.limit) {
        rp_out_printf(c->out, ", at most %d", o->select.limit);
    }
    rp_out_puts(c->out, "\n");
    if (err) {
        /* No rows rather than the rows of the names it got through:
         * those would pass for the whole answer. */
        rp_out_puts(c->out, "notice           ");
        put_esc(c, err);
        rp_out_puts(c->out, "\n");
    }
    rp_out_puts(c->out, "\n");
    rp_out_puts(c->out, FUNC_HEAD);
    for (i = 0; i < rows->nelts; i++) {
        func_row(c, rp_model_func(c->m, ((apr_uint32_t *)rows->elts)[i]));
    }
}

/* ------------------------------------------------------------------ */
/* Callers and callees */

static void text_edges(const rp_render_t *c, int callers)
{
    const rp_model_t *m = c->m;
    apr_array_header_t *found;
    int i, j;

    text_title(c);
    if (!c->o->func) {
        rp_out_puts(c->out, "\nname a function with func=NAME (see the "
                    "functions view)\n");
        return;
    }
    found = rp_model_find(c->p, m, c->o->func);
    if (!found->nelts) {
        rp_out_printf(c->out, "\nno function named '%s' in this profile\n",
                      esc(c, c->o->func));
        return;
    }
    for (i = 0; i < found->nelts; i++) {
        apr_uint32_t f = ((apr_uint32_t *)found->elts)[i];
        apr_array_header_t *edges = rp_model_edges(c->p, m, f, callers);
        rp_out_puts(c->out, "\n");
        rp_out_puts(c->out, FUNC_HEAD);
        func_row(c, rp_model_func(m, f));
        rp_out_printf(c->out, "\n%s:\n  samples      %%         ms  "
                      "function  (file)\n", callers ? "called by"
                                                    : "calls");
        for (j = 0; j < edges->nelts; j++) {
            const rp_edge_t *e = &((rp_edge_t *)edges->elts)[j];
            const rp_func_t *g = rp_model_func(m, e->func);
            rp_out_printf(c->out, "%9" APR_UINT64_T_FMT " %5.1f%% %10.2f  ",
                          e->count, rp_model_pct(e->count, m->samples),
                          rp_model_ms(e->ns));
            put_esc(c, g->name);
            rp_out_puts(c->out, "  (");
            if (g->kind == RP_FRAME_URI) {
                rp_out_puts(c->out, "request");
            }
            else {
                put_where(c, g);
            }
            rp_out_puts(c->out, ")\n");
        }
        if (!edges->nelts) {
            rp_out_printf(c->out, "  (none: %s)\n", callers
                          ? "not called from a sampled frame"
                          : "no sampled callee; all its time is self");
        }
    }
}

static void text_callers(const rp_render_t *c)
{
    text_edges(c, 1);
}

static void text_callees(const rp_render_t *c)
{
    text_edges(c, 0);
}

/* ------------------------------------------------------------------ */
/* Call tree: depth-first with an explicit stack (no depth limit) */

/* A node to write, at its depth (-1: the root, not written). */
typedef struct {
    apr_uint32_t node;
    int depth;
} walk_t;

static void text_tree(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    apr_uint64_t min = (apr_uint64_t)(c->o->min_pct * (double)m->samples
                                      / 100.0);
    apr_array_header_t *stack = apr_array_make(c->p, 64, sizeof(walk_t));
    apr_array_header_t *kids = apr_array_make(c->p, 64,
                                              sizeof(apr_uint32_t));
    int pruned = 0, i;
    walk_t *w;

    text_title(c);
    rp_out_printf(c->out, "call tree, nodes under %g%% of the samples "
                  "pruned\n\n     total      %%       self  function\n",
                  c->o->min_pct);
    w = apr_array_push(stack);
    w->node = 0;
    w->depth = -1;
    while (stack->nelts) {
        walk_t e = ((walk_t *)stack->elts)[--stack->nelts];
        const rp_tnode_t *t = rp_model_node(m, e.node);
        if (e.node != 0) {
            const rp_func_t *f = rp_model_func(m, t->func);
            int uri = f->kind == RP_FRAME_URI;
            /* The indentation through the formatter, as any long line:
             * it takes no memory however deep the node. */
            rp_out_printf(c->out, "%10" APR_UINT64_T_FMT " %5.1f%% %10"
                          APR_UINT64_T_FMT "  %*s", t->total_count,
                          rp_model_pct(t->total_count, m->samples),
                          t->self_count, e.depth * 2, "");
            put_esc(c, f->name);
            if (*f->object && !uri) {
                rp_out_puts(c->out, "  ");
                put_esc(c, f->object);
            }
            rp_out_puts(c->out, "\n");
        }
        /* The children of this node only: the stack holds what is left
         * of each level of the path. */
        kids->nelts = 0;
        rp_model_children_push(m, e.node, kids);
        /* Pushed in reverse, so the biggest child comes out first. */
        for (i = kids->nelts - 1; i >= 0; i--) {
            apr_uint32_t k = ((apr_uint32_t *)kids->elts)[i];
            if (rp_model_node(m, k)->total_count < min
                || !rp_model_node(m, k)->total_count) {
                pruned++;
                continue;
            }
            w = apr_array_push(stack);
            w->node = k;
            w->depth = e.depth + 1;
        }
    }
    if (pruned) {
        rp_out_printf(c->out, "\n%d subtrees pruned (under %g%%)\n", pruned,
                      c->o->min_pct);
    }
}

/* ------------------------------------------------------------------ */
/* Flame graph: in text, the folded stacks it is drawn from */

static void text_flame(const rp_render_t *c)
{
    rp_report_collapsed(c);
}

/* ------------------------------------------------------------------ */
/* Requests */

static double per(apr_uint64_t sum_us, apr_uint64_t n)
{
    return n ? (double)sum_us / (double)n / 1000.0 : 0.0;
}

/* The kept requests: the list's columns (rp_report_kept_cols), each as
 * wide as its widest cell, the URI last as it is the longest; then the
 * id a request's page takes. */
static void text_kept(const rp_render_t *c)
{
    const rp_kept_col_t *col;
    apr_array_header_t *rows;
    int total, i, k, ncols = 0, *width, uri = -1;

    rows = rp_report_kept(c, &total);
    rp_out_printf(c->out, "\nkept requests: %d shown of %d held; ",
                  rows->nelts, total);
    rp_out_printf(c->out, "%" APR_UINT64_T_FMT, c->m->counters[RP_CTR_KEPT]);
    rp_out_printf(c->out, " kept since the last clear, %" APR_UINT64_T_FMT,
                  c->m->counters[RP_CTR_KEPT_FULL]);
    rp_out_puts(c->out, " could not be kept for lack of room\n");
    for (col = rp_report_kept_cols; col->key; col++) {
        ncols++;
    }
    width = apr_pcalloc(c->p, sizeof(*width) * ncols);
    for (k = 0; k < ncols; k++) {
        width[k] = (int)strlen(rp_report_kept_cols[k].head);
        if (strcmp(rp_report_kept_cols[k].key, "uri") == 0) {
            uri = k;
        }
        for (i = 0; i < rows->nelts; i++) {
            const rp_kept_t *x = ((const rp_kept_t **)rows->elts)[i];
            int w = (int)strlen(esc(c, rp_report_kept_cols[k].text(c->p, x)));
            width[k] = w > width[k] ? w : width[k];
        }
    }
    for (k = 0; k < ncols; k++) {
        if (k != uri) {
            rp_out_printf(c->out, "%-*s  ", width[k],
                          rp_report_kept_cols[k].head);
        }
    }
    rp_out_puts(c->out, "id  uri\n");
    for (i = 0; i < rows->nelts; i++) {
        const rp_kept_t *x = ((const rp_kept_t **)rows->elts)[i];
        for (k = 0; k < ncols; k++) {
            if (k != uri) {
                rp_out_printf(c->out,
                              rp_report_kept_cols[k].numeric && k ? "%*s  "
                                                                  : "%-*s  ",
                              width[k],
                              esc(c, rp_report_kept_cols[k].text(c->p, x)));
            }
        }
        put_esc(c, x->id);
        rp_out_puts(c->out, "  ");
        put_esc(c, rp_report_kept_cols[uri].text(c->p, x));
        rp_out_puts(c->out, "\n");
    }
    if (!rows->nelts) {
        rp_out_puts(c->out, total ? "(none passes the filters)\n"
                                  : "(none kept yet)\n");
    }
}

static void text_requests(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    apr_uint64_t exact;
    double covered;
    int i;

    text_title(c);
    text_kept(c);
    covered = rp_model_covered(m, NULL, &exact);
    if (covered >= 0) {
        rp_out_printf(c->out, "the samples account for %.0f%% of the %.1f ms "
                      "of %s time the profiled requests took\n", covered,
                      (double)exact / 1000.0, rp_model_clock_name(m));
    }
    rp_out_puts(c->out, "\nrequests   samples  est. ms covered  wall ms (mean"
                "   max   total)  cpu ms (mean   max   total)  uri\n");
    for (i = 0; i < m->uris->nelts; i++) {
        const rp_model_uri_t *u = &((rp_model_uri_t *)m->uris->elts)[i];
        covered = rp_model_covered(m, u, NULL);
        rp_out_printf(c->out, "%8" APR_UINT64_T_FMT " %9" APR_UINT64_T_FMT
                      " %8.1f %6.0f%%  %14.2f %6.2f %8.1f %14.2f %6.2f %7.1f  ",
                      u->requests, u->samples, rp_model_ms(u->weight_ns),
                      covered < 0 ? 0.0 : covered,
                      per(u->sum_wall_us, u->requests),
                      (double)u->max_wall_us / 1000.0,
                      (double)u->sum_wall_us / 1000.0,
                      per(u->sum_cpu_us, u->requests),
                      (double)u->max_cpu_us / 1000.0,
                      (double)u->sum_cpu_us / 1000.0);
        put_esc(c, u->uri);
        rp_out_puts(c->out, "\n");
    }
    rp_out_puts(c->out, "\nrecent requests, newest first\n"
                "time                           method  status  wall ms"
                "   cpu ms  samples  uri\n");
    for (i = 0; i < m->recent->nelts; i++) {
        const rp_recent_t *x = ((const rp_recent_t **)m->recent->elts)[i];
        char when[APR_RFC822_DATE_LEN];
        apr_rfc822_date(when, x->time);
        rp_out_printf(c->out, "%-30s %-7s %6d %8.2f %8.2f %8u  ", when,
                      esc(c, x->method), x->status,
                      (double)x->wall_us / 1000.0,
                      (double)x->cpu_us / 1000.0, x->samples);
        put_esc(c, x->uri);
        rp_out_puts(c->out, "\n");
    }
}

/* ------------------------------------------------------------------ */
/* One request */

/* Frames in the list of what stands out against typical. */
#define DIFF_ROWS 10

static void text_request(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    const rp_kept_t *k = m->request;
    const rp_fact_section_t *s;
    apr_array_header_t *path = apr_array_make(c->p, 64, sizeof(apr_uint32_t));
    apr_array_header_t *order;
    const rp_diff_t *d;
    rp_span_view_t sv;
    apr_uint32_t i;
    int n, j, rows = 0;

    if (!k) {
        rp_out_puts(c->out, "no request: name one with id=ID (see "
                            "view=requests)\n");
        return;
    }
    s = rp_report_request_facts(c, &n);
    rp_out_puts(c->out, "request\n");
    text_rows(c, &s[0]);

    rp_out_printf(c->out,
                  "\ntimeline: %.2f ms, %u spans in time order "
                  "(ms from the request's start)\n   start      end  state"
                  "    samples  stack (innermost first)\n",
                  (double)rp_report_timeline_us(m) / 1000.0, k->n_spans);
    for (i = 0; i < k->n_spans; i++) {
        rp_report_span(m, i, &sv);
        rp_out_printf(c->out, "%8.2f %8.2f  %-7s %8u  ",
                      (double)sv.start_us / 1000.0,
                      (double)sv.end_us / 1000.0,
                      sv.blocked ? "blocked" : "cpu", sv.count);
        if (sv.node != RP_MODEL_NONE) {
            rp_model_path(m, sv.node, path);
            for (j = 0; j < path->nelts; j++) {
                rp_out_puts(c->out, j ? " <- " : "");
                put_esc(c, rp_model_func(m, ((apr_uint32_t *)path->elts)[j])
                               ->name);
            }
        }
        rp_out_puts(c->out, "\n");
    }

    d = rp_report_diff(c);
    if (d) {
        rp_out_printf(c->out,
                      "\ncompared with typical (%" APR_UINT64_T_FMT
                      " requests of its URI): frames %g points or more above"
                      "\n    this  typical  difference  function  (called "
                      "from)\n",
                      d->base_requests, RP_DIFF_MARK);
        order = rp_report_diff_order(c, d);
        for (j = 0; j < order->nelts && rows < DIFF_ROWS; j++) {
            apr_uint32_t x = ((apr_uint32_t *)order->elts)[j];
            const rp_tnode_t *t = rp_model_node(m, x);
            const rp_tnode_t *up = rp_model_node(m, t->parent);
            if (d->share[x] - d->typical[x] < RP_DIFF_MARK) {
                break;
            }
            rows++;
            rp_out_printf(c->out, "%7.1f%% %7.1f%% %+11.1f  ", d->share[x],
                          d->typical[x], d->share[x] - d->typical[x]);
            put_esc(c, rp_model_func(m, t->func)->name);
            rp_out_puts(c->out, "  (");
            put_esc(c, up->func == RP_MODEL_NONE
                           ? ""
                           : rp_model_func(m, up->func)->name);
            rp_out_puts(c->out, ")\n");
        }
        if (!rows) {
            rp_out_puts(c->out, "(nothing stands out)\n");
        }
    }
    rp_out_puts(c->out, "\n");
    text_functions(c);
    rp_out_puts(c->out, "\n");
    text_tree(c);
    for (j = 1; j < n; j++) {
        rp_out_printf(c->out, "\n%s (%s)\n", s[j].title, s[j].note);
        for (i = 1; i < (apr_uint32_t)(s[j].nfacts / 2); i++) {
            put_esc(c, s[j].facts[2 * i].value);
            rp_out_puts(c->out, ": ");
            put_esc(c, s[j].facts[2 * i + 1].value);
            rp_out_puts(c->out, "\n");
        }
    }
}

/* ------------------------------------------------------------------ */
/* Explain */

static void text_explain(const rp_render_t *c)
{
    const rp_explain_view_t *x = c->page->explain;

    if (!x) {
        rp_out_puts(c->out, "explain a path: ?explain=/some/path\n");
        return;
    }
    rp_out_printf(c->out, "path             %s\n", esc(c, x->given));
    rp_out_printf(c->out, "as matched       %s\n", esc(c, x->path));
    if (x->bad_escape) {
        rp_out_puts(c->out, "warning          the path has a bad "
                    "%-escape; httpd would answer it with 400 before any "
                    "profiling\n");
    }
    rp_out_printf(c->out, "host             %s\n", esc(c, c->page->host));
    rp_out_printf(c->out, "decision         %s\n", rp_report_why(c->p, x));
    if (x->e.pattern) {
        rp_out_printf(c->out, "rule             %s #%d '%s' at %s\n",
                      rp_filter_kind_name(x->e.kind), x->e.index + 1,
                      esc(c, x->e.pattern), esc(c, x->e.where));
    }
    if (x->e.limit_hits) {
        rp_out_printf(c->out, "limit hits       %d pattern(s) hit the "
                      "match limit and counted as no match\n",
                      x->e.limit_hits);
    }
    if (!c->page->configured_enabled) {
        rp_out_puts(c->out, "note             profiling is off (ReqProf "
                    "Off): nothing is profiled until it is switched on\n");
    }
}

/* ------------------------------------------------------------------ */

/* clang-format off */
static void (*const views[RP_VIEW_COUNT])(const rp_render_t *c) = {
    text_overview, text_functions, text_callers, text_callees, text_tree,
    text_flame, text_requests, text_request, text_explain,
    rp_report_now_text
};
/* clang-format on */

void rp_report_text(const rp_render_t *c)
{
    if (c->page->notice) {
        rp_out_printf(c->out, "notice           %s\n\n",
                      esc(c, c->page->notice));
    }
    views[c->o->view](c);
}
