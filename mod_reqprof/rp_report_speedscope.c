/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_speedscope: the profile in speedscope's own file format
 * (https://www.speedscope.app/file-format-schema.json), which speedscope
 * opens with its time order, left heavy and sandwich views.  Collapsed
 * stacks open there too, but lose what this keeps: the time order of one
 * request, weights in nanoseconds rather than counts, source files and
 * lines, and a profile per URI.
 *
 * Every profile is of the "sampled" type in nanoseconds: stacks of frame
 * indices, outermost first, each with a weight.  The shared frame table
 * is the model's function table, a frame's index its function's, so
 * nothing maps one to the other.  A frame's "file" is the source file
 * when it is known, else the object, so that static functions of one
 * name in two objects can still be told apart; speedscope has no other
 * place for the object.  The URI is the outermost frame of every stack,
 * as in the other exports.
 *
 * The whole profile: one speedscope profile per URI node (the root's
 * children, busiest first: speedscope opens the first, and its profile
 * menu switches between URIs), with one sample per call-tree node that
 * has time of its own, weighted with that time.  The samples go in the
 * order of a depth-first walk, heaviest child first, so the time order
 * view draws the URI's tree left heavy instead of in the order the store
 * happened to add nodes.  A profile spans 0 to the URI's total weight.
 *
 * One request (a model of rp_snapshot_request, m->request set): one
 * profile whose samples are the request's spans in time order, so the
 * time order view is the request's timeline, left to right.  It spans 0
 * to the request's wall time (or to its samples' weight, when that is
 * more, as with a CPU timer's last tick).  Spans whose node the model
 * lost are left out.
 *
 * Strings pass rp_escape_json straight into the sink; the one array of
 * the render is a node list per URI (four bytes a node).  Not for signal
 * context.
 */

#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"

#define SCHEMA "https://www.speedscope.app/file-format-schema.json"

/* "S", escaped. */
static void jstr(const rp_render_t *c, const char *s)
{
    rp_out_write(c->out, "\"", 1);
    rp_out_escaped(c->out, RP_ESCAPE_JSON, s);
    rp_out_write(c->out, "\"", 1);
}

/* Where function F is: its source file, else its object, else NULL (a
 * URI, a marker). */
static const char *where(const rp_func_t *f)
{
    if (f->file) {
        return f->file;
    }
    if (f->kind == RP_FRAME_URI || !f->object || !*f->object) {
        return NULL;
    }
    return f->object;
}

/* The shared frames: one per function, in function index order. */
static void frames(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    int nf = m->funcs->nelts, i;

    rp_out_puts(c->out, "\"shared\": {\"frames\": [");
    for (i = 0; i < nf; i++) {
        const rp_func_t *f = rp_model_func(m, (apr_uint32_t)i);
        rp_out_puts(c->out, i ? ",\n{\"name\": " : "\n{\"name\": ");
        jstr(c, f->name && *f->name ? f->name : "[unnamed]");
        if (where(f)) {
            rp_out_puts(c->out, ", \"file\": ");
            jstr(c, where(f));
        }
        if (f->file && f->line > 0) {
            rp_out_printf(c->out, ", \"line\": %d", f->line);
        }
        rp_out_puts(c->out, "}");
    }
    rp_out_puts(c->out, "\n]},\n");
}

/* The head of a profile, up to its samples. */
static void profile_head(const rp_render_t *c, const char *name,
                         apr_uint64_t end_ns)
{
    rp_out_puts(c->out, "{\"type\": \"sampled\", \"name\": ");
    jstr(c, name);
    rp_out_printf(c->out,
                  ", \"unit\": \"nanoseconds\", \"startValue\": 0, "
                  "\"endValue\": %" APR_UINT64_T_FMT ",\n\"samples\": [",
                  end_ns);
}

/* The stack of tree node N as frame indices, outermost first (PATH:
 * scratch). */
static void stack(const rp_render_t *c, apr_uint32_t n, int first,
                  apr_array_header_t *path)
{
    int d;

    rp_model_path(c->m, n, path);
    rp_out_puts(c->out, first ? "\n[" : ",\n[");
    for (d = path->nelts - 1; d >= 0; d--) {
        rp_out_printf(c->out, d ? "%u," : "%u",
                      ((const apr_uint32_t *)path->elts)[d]);
    }
    rp_out_puts(c->out, "]");
}

/* Weight I of a list, ten to a line. */
static void weight(const rp_render_t *c, apr_uint64_t ns, int i)
{
    if (i) {
        rp_out_puts(c->out, i % 10 ? ", " : ",\n");
    }
    rp_out_printf(c->out, "%" APR_UINT64_T_FMT, ns);
}

/* The nodes under URI node U (itself included) that have time of their
 * own, into ORDER: depth first, heaviest child first.  TODO holds the
 * nodes still to visit, each level's children reversed so the heaviest
 * comes off first. */
static void walk(const rp_model_t *m, apr_uint32_t u,
                 apr_array_header_t *todo, apr_array_header_t *order)
{
    todo->nelts = 0;
    order->nelts = 0;
    *(apr_uint32_t *)apr_array_push(todo) = u;
    while (todo->nelts) {
        apr_uint32_t *t = (apr_uint32_t *)todo->elts;
        apr_uint32_t n = t[--todo->nelts];
        int lo = todo->nelts, hi;
        if (rp_model_node(m, n)->self_ns) {
            *(apr_uint32_t *)apr_array_push(order) = n;
        }
        hi = lo + rp_model_children_push(m, n, todo) - 1;
        t = (apr_uint32_t *)todo->elts;
        for (; lo < hi; lo++, hi--) {
            apr_uint32_t x = t[lo];
            t[lo] = t[hi];
            t[hi] = x;
        }
    }
}

/* One profile per URI node. */
static void whole_profile(const rp_render_t *c, apr_array_header_t *path)
{
    const rp_model_t *m = c->m;
    apr_array_header_t *uris = rp_model_children(c->p, m, 0);
    apr_array_header_t *todo = apr_array_make(c->p, 64, sizeof(apr_uint32_t));
    apr_array_header_t *order = apr_array_make(c->p, 256,
                                               sizeof(apr_uint32_t));
    int i, k, written = 0;

    for (i = 0; i < uris->nelts; i++) {
        apr_uint32_t u = ((const apr_uint32_t *)uris->elts)[i];
        const rp_tnode_t *t = rp_model_node(m, u);
        const apr_uint32_t *o;
        if (!t->total_ns) {
            continue;
        }
        walk(m, u, todo, order);
        o = (const apr_uint32_t *)order->elts;
        rp_out_puts(c->out, written++ ? ",\n" : "\n");
        profile_head(c, rp_model_func(m, t->func)->name, t->total_ns);
        for (k = 0; k < order->nelts; k++) {
            stack(c, o[k], k == 0, path);
        }
        rp_out_puts(c->out, "],\n\"weights\": [");
        for (k = 0; k < order->nelts; k++) {
            weight(c, rp_model_node(m, o[k])->self_ns, k);
        }
        rp_out_puts(c->out, "]}");
    }
    if (!written) {
        /* speedscope opens no file without a profile: say why it is
         * empty instead. */
        rp_out_puts(c->out, "\n");
        profile_head(c, "no samples", 0);
        rp_out_puts(c->out, "],\n\"weights\": []}");
    }
}

/* The name of the request's profile. */
static const char *request_name(const rp_render_t *c)
{
    const rp_kept_t *k = c->m->request;

    return apr_pstrcat(c->p, k->method ? k->method : "?", " ",
                       k->uri ? k->uri : "?", " (request ",
                       k->id ? k->id : "?", ")", NULL);
}

/* One profile: the request's spans in time order. */
static void request_profile(const rp_render_t *c, apr_array_header_t *path)
{
    const rp_model_t *m = c->m;
    const rp_kept_t *k = m->request;
    apr_uint64_t sum = 0, wall;
    apr_uint32_t i;
    int n;

    for (i = 0; i < k->n_spans; i++) {
        if (m->span_nodes[i] != RP_MODEL_NONE) {
            sum += k->spans[i].weight_ns;
        }
    }
    wall = k->wall_us > 0 ? (apr_uint64_t)k->wall_us * 1000 : 0;
    rp_out_puts(c->out, "\n");
    profile_head(c, request_name(c), wall > sum ? wall : sum);
    for (i = 0, n = 0; i < k->n_spans; i++) {
        if (m->span_nodes[i] != RP_MODEL_NONE) {
            stack(c, m->span_nodes[i], n++ == 0, path);
        }
    }
    rp_out_puts(c->out, "],\n\"weights\": [");
    for (i = 0, n = 0; i < k->n_spans; i++) {
        if (m->span_nodes[i] != RP_MODEL_NONE) {
            weight(c, k->spans[i].weight_ns, n++);
        }
    }
    rp_out_puts(c->out, "]}");
}

void rp_report_speedscope(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    const rp_page_t *pg = c->page;
    int timer = m->info ? m->info->settings.timer : 0;
    int hz = m->info ? m->info->settings.frequency : 0;
    int seconds = c->o ? c->o->seconds : 0;
    apr_array_header_t *path = apr_array_make(c->p, 64, sizeof(apr_uint32_t));
    const char *name;

    if (m->request) {
        name = request_name(c);
    }
    else {
        name = apr_psprintf(c->p, "%s: %s timer, %d Hz",
                            pg && pg->host ? pg->host : "httpd",
                            rp_timer_name(timer), hz);
        if (m->focus) {
            name = apr_pstrcat(c->p, name, ", uri=", m->focus, NULL);
        }
        if (seconds > 0) {
            name = apr_psprintf(c->p, "%s, the last %d s", name, seconds);
        }
    }
    rp_out_puts(c->out, "{\"$schema\": \"" SCHEMA "\",\n\"exporter\": ");
    jstr(c, apr_pstrcat(c->p, "mod_reqprof ",
                        pg && pg->version ? pg->version : "", NULL));
    rp_out_puts(c->out, ",\n\"name\": ");
    jstr(c, name);
    rp_out_puts(c->out, ",\n\"activeProfileIndex\": 0,\n");
    frames(c);
    rp_out_puts(c->out, "\"profiles\": [");
    if (m->request) {
        request_profile(c, path);
    }
    else {
        whole_profile(c, path);
    }
    rp_out_puts(c->out, "\n]}\n");
}
