/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_dot: the call graph as a Graphviz digraph, drawn the way
 * gprof2dot draws one, so `dot -Tsvg` gives the picture people know: a
 * box per function with its name, object, cumulative share, self share
 * and samples, coloured on a ramp from dark blue (little) to red (most of
 * the time), and an arrow per caller -> callee edge, as thick and as red
 * as its share.  URIs are nodes too, the roots of their requests' calls.
 *
 * Small things are dropped so the picture stays readable: functions whose
 * cumulative share is below the threshold (?min=, default 0.5 % of the
 * samples), and edges below it or touching a dropped function.  The
 * graph's label says the threshold and how much was dropped, so nobody
 * takes a pruned graph for the whole.
 *
 * Names come from binaries and requests: each goes through rp_escape_text
 * (one line of valid UTF-8), then backslash and quote are escaped for a
 * dot string, and '&' is written "&amp;" because Graphviz reads entity
 * references in labels.  Names and colours are written straight into the
 * sink, so ?min=0.0001 (every function and edge) takes no memory per
 * node beyond the model's edge table.
 */

#include <stdio.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"

#define DEFAULT_MIN_PCT     0.5


/* The dot stage after rp_escape_text: backslash and quote escaped for a
 * dot string, '&' as an entity. */
static void dot_stage(void *ctx, const char *s, apr_size_t n)
{
    rp_out_t *out = ctx;
    const char *run = s, *end = s + n;

    for (; s < end; s++) {
        if (*s != '&' && *s != '\\' && *s != '"') {
            continue;
        }
        rp_out_write(out, run, (apr_size_t)(s - run));
        if (*s == '&') {
            rp_out_write(out, "&amp;", 5);
        }
        else {
            rp_out_write(out, "\\", 1);
            rp_out_write(out, s, 1);
        }
        run = s + 1;
    }
    rp_out_write(out, run, (apr_size_t)(end - run));
}

/* S for the inside of a dot string (see the top of this file), into the
 * sink. */
static void put_dot(const rp_render_t *c, const char *s)
{
    rp_escape_stream(RP_ESCAPE_TEXT, s ? s : "", dot_stage, c->out);
}

/* The colour of a share W (0..1), "#rrggbb" into BUF: hue from blue to
 * red, saturation and lightness rising with it, so heavy nodes stand out
 * and light ones recede, as in gprof2dot's default theme. */
static const char *ramp(char *buf, apr_size_t len, double w)
{
    double h, s, l, q, pp, rgb[3];
    int i;

    w = w < 0 ? 0 : w > 1 ? 1 : w;
    h = (2.0 / 3.0) * (1.0 - w);
    s = 0.8 + 0.2 * w;
    l = 0.25 + 0.25 * w;
    q = l < 0.5 ? l * (1 + s) : l + s - l * s;
    pp = 2 * l - q;
    for (i = 0; i < 3; i++) {
        double t = h + (1 - i) / 3.0;      /* r: h + 1/3, g: h, b: h - 1/3 */
        t = t < 0 ? t + 1 : t > 1 ? t - 1 : t;
        rgb[i] = t < 1.0 / 6 ? pp + (q - pp) * 6 * t
                 : t < 0.5 ? q
                 : t < 2.0 / 3 ? pp + (q - pp) * (2.0 / 3 - t) * 6
                 : pp;
    }
    apr_snprintf(buf, len, "#%02x%02x%02x", (int)(rgb[0] * 255 + 0.5),
                 (int)(rgb[1] * 255 + 0.5), (int)(rgb[2] * 255 + 0.5));
    return buf;
}

void rp_report_dot(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    double min_pct = c->o && c->o->min_pct > 0 ? c->o->min_pct
                     : DEFAULT_MIN_PCT;
    double whole = (double)m->samples;
    int nf = m->funcs->nelts, i, nodes_total = 0, nodes_kept = 0;
    int edges_total = 0, edges_kept = 0;
    char *keep = apr_pcalloc(c->p, (apr_size_t)nf + 1);
    apr_array_header_t *edges = rp_model_calls(c->p, m);
    const rp_call_t *e = (const rp_call_t *)edges->elts;
    int timer = m->info ? m->info->settings.timer : 0;
    const char *what;
    char min[32], colour[8];

    for (i = 0; i < nf; i++) {
        const rp_func_t *f = rp_model_func(m, (apr_uint32_t)i);
        if (!f->cum_count) {
            continue;
        }
        nodes_total++;
        if (rp_model_pct(f->cum_count, m->samples) >= min_pct) {
            keep[i] = 1;
            nodes_kept++;
        }
    }
    for (i = 0; i < edges->nelts; i++) {
        if (e[i].count) {
            edges_total++;
        }
    }

    rp_out_puts(c->out, "digraph reqprof {\n");
    rp_out_puts(c->out, "  graph [fontname=\"Helvetica\", nodesep=0.125, "
                "ranksep=0.25, labelloc=t, fontsize=12];\n");
    rp_out_puts(c->out, "  node [shape=box, style=filled, "
                "fontcolor=\"#ffffff\", fontname=\"Helvetica\", "
                "fontsize=10, width=0, height=0];\n");
    rp_out_puts(c->out, "  edge [fontname=\"Helvetica\", fontsize=9];\n");

    for (i = 0; i < nf; i++) {
        const rp_func_t *f = rp_model_func(m, (apr_uint32_t)i);
        double w = whole > 0 ? (double)f->cum_count / whole : 0;
        if (!keep[i]) {
            continue;
        }
        /* URIs: rounded, the roots of their requests. */
        rp_out_printf(c->out, "  f%d [color=\"%s\",%s label=\"", i,
                      ramp(colour, sizeof(colour), w),
                      f->kind == RP_FRAME_URI
                      ? " style=\"filled,rounded\"," : "");
        put_dot(c, f->name);
        rp_out_puts(c->out, "\\n");
        if (*f->object) {
            put_dot(c, rp_model_base_name(f->object));
            rp_out_puts(c->out, "\\n");
        }
        rp_out_printf(c->out, "%.2f%% (%.2f%%)\\n%" APR_UINT64_T_FMT
                      " samples\"];\n",
                      rp_model_pct(f->cum_count, m->samples),
                      rp_model_pct(f->self_count, m->samples),
                      f->cum_count);
    }
    for (i = 0; i < edges->nelts; i++) {
        double pct = rp_model_pct(e[i].count, m->samples);
        double w = whole > 0 ? (double)e[i].count / whole : 0;
        if (!e[i].count || !keep[e[i].from] || !keep[e[i].to]
            || pct < min_pct) {
            continue;
        }
        edges_kept++;
        rp_out_printf(c->out, "  f%u -> f%u [color=\"%s\", penwidth=%.2f, "
                      "arrowsize=%.2f, weight=%d, label=\"%.2f%%\\n%"
                      APR_UINT64_T_FMT "\"];\n", e[i].from, e[i].to,
                      ramp(colour, sizeof(colour), w),
                      w * 4 < 0.5 ? 0.5 : w * 4,
                      w * 2 < 0.5 ? 0.5 : w * 2, 1 + (int)(w * 100), pct,
                      e[i].count);
    }

    what = apr_psprintf(c->p, "mod_reqprof: %" APR_UINT64_T_FMT " samples, "
                        "%s timer, %d Hz%s%s%s", m->samples,
                        rp_timer_name(timer),
                        m->info ? m->info->settings.frequency : 0,
                        m->focus ? ", uri " : "", m->focus ? m->focus : "",
                        c->o && c->o->seconds > 0
                        ? apr_psprintf(c->p, ", the last %d s",
                                       c->o->seconds) : "");
    /* libc's %g: APR's writes 0.5 as ".5". */
    snprintf(min, sizeof(min), "%g", min_pct);
    rp_out_puts(c->out, "  label=\"");
    put_dot(c, what);
    rp_out_printf(c->out, "\\lfunctions below %s%% cumulative "
                  "dropped: %d of %d; edges below %s%% or to a dropped "
                  "function dropped: %d of %d\\l\";\n}\n",
                  min, nodes_total - nodes_kept,
                  nodes_total, min, edges_total - edges_kept, edges_total);
}
