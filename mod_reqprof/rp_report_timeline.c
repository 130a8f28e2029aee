/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_timeline: one kept request's samples in time order, as an
 * SVG the request view embeds: what pyinstrument's timeline and
 * speedscope's "time order" view show, drawn by the module, with no
 * script.
 *
 * The request's wall time runs left to right.  Each span of the request
 * (consecutive samples of one stack, rp_store.h) is placed where its time
 * was: [end - weight, end].  On top a lane says, span by span, whether
 * that time was spent on the CPU or blocked (or waiting for a CPU): a
 * span whose leaf is one of the off-CPU frames, greyed in the flame
 * graph too.  (A stack the real timer's off-CPU sampler took of a
 * blocked thread has no such leaf, and the store keeps no mark of it,
 * so such a span shows as on CPU; with the cpu timer, time off the CPU
 * has no samples and shows as a gap, which the legend says.)  Its
 * <title> (the browser's tooltip) holds the span's stack.
 *
 * Below the lane, the stacks themselves, the URI at the top and the leaf
 * at the bottom: a frame goes on as one box while the spans that follow
 * have the same call at that depth (the same tree node, so the same
 * callers too) and follow it within a sample's time or a pixel; so a
 * call that lasts is one long box and a gap in the samples is a gap in
 * the boxes.  Boxes are coloured by function (a fixed palette picked
 * by a hash of the name, so a function has its colour in every request);
 * off-CPU leaves grey, URIs blue.  Each box's title names the function,
 * its object, its times and how much of it was blocked.
 *
 * Geometry and colours are presentation attributes, not style="", which
 * the page's CSP refuses; the text's style is the page's (page.css,
 * #timeline).  Memory follows the deepest stack and the functions, not
 * the boxes: boxes are written as they close.  Not for signal context.
 */

#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "rp_escape.h"
#include "rp_report.h"

/* Geometry, in SVG user units (px at 100 %). */
#define TL_WIDTH     1200
#define TL_PAD       10
#define TL_USABLE    (TL_WIDTH - 2 * TL_PAD)
#define TL_TOP       50 /* title, axis */
#define TL_LANE_H    14 /* the on-CPU / blocked lane */
#define TL_LANE_GAP  6
#define TL_FRAME_H   16
#define TL_BOTTOM    28  /* legend */
#define TL_MIN_W     0.5 /* a box is at least this wide */
#define TL_STACK_MAX 64  /* frames in a span's title */
#define TL_TICKS_MAX 10

/* clang-format off */
/* Frames that are not code, by kind (NULL: code, by the palette). */
static const char *const kind_fills[RP_FRAME_KINDS] = {
    [RP_FRAME_URI]        = "rgb(110,160,225)",
    [RP_FRAME_TRUNCATED]  = "rgb(170,170,170)",
    [RP_FRAME_TABLE_FULL] = "rgb(150,150,150)",
    [RP_FRAME_UNKNOWN]    = "rgb(190,190,190)",
    [RP_FRAME_WAIT_CPU]   = "rgb(205,205,205)",
    [RP_FRAME_BLOCKED]    = "rgb(205,205,205)",
    [RP_FRAME_OFF_CPU]    = "rgb(205,205,205)"
};

/* Code, by a hash of the function's name: light enough for black text,
 * neighbours on the wheel apart. */
static const char *const palette[] = {
    "rgb(244,166,130)", "rgb(250,210,120)", "rgb(190,225,140)",
    "rgb(140,215,190)", "rgb(150,200,240)", "rgb(195,175,235)",
    "rgb(240,170,205)", "rgb(225,190,150)", "rgb(170,230,120)",
    "rgb(120,205,215)", "rgb(215,215,130)", "rgb(235,150,150)"
};
#define NPALETTE ((apr_uint32_t)(sizeof(palette) / sizeof(palette[0])))

/* The lane: on the CPU, and not. */
static const char *const lane_fills[2] = {
    "rgb(60,170,90)", "rgb(175,175,175)"
};
static const char *const lane_names[2] = {
    "on CPU", "blocked or waiting"
};
/* clang-format on */

/* A frame being drawn: the spans at one depth that share its node. */
typedef struct {
    apr_uint32_t node;
    apr_int64_t start, end; /* us */
    apr_uint64_t count;
    apr_uint64_t on_ns, off_ns;
} box_t;

typedef struct {
    const rp_render_t *c;
    const rp_model_t *m;
    double scale;             /* px per us */
    apr_int64_t total;        /* us the drawing spans */
    const char **names;       /* escaped, by function, made lazily */
    apr_array_header_t *open; /* of box_t, by depth (0: the URI) */
    apr_array_header_t *path; /* of apr_uint32_t: a span's nodes */
    int boxes;
} tl_t;

/* FNV-1a: stable, so a function keeps its colour. */
static apr_uint32_t hash(const char *s)
{
    apr_uint32_t h = 2166136261u;

    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 16777619u;
    }
    return h ^ (h >> 15);
}

static const char *fill_of(const rp_func_t *f)
{
    const char *fixed = (unsigned)f->kind < RP_FRAME_KINDS
                            ? kind_fills[f->kind]
                            : NULL;

    return fixed ? fixed : palette[hash(f->name ? f->name : "") % NPALETTE];
}

static const char *name_of(tl_t *t, apr_uint32_t func)
{
    if (!t->names[func]) {
        const rp_func_t *f = rp_model_func(t->m, func);
        t->names[func] = rp_escape_html(t->c->p, f->name ? f->name : "");
    }
    return t->names[func];
}

static double x_of(const tl_t *t, apr_int64_t us)
{
    return TL_PAD + (double)us * t->scale;
}

static double ms(apr_int64_t us)
{
    return (double)us / 1000.0;
}

/* The nodes of N's stack, the URI first, into T->path. */
static void stack_of(tl_t *t, apr_uint32_t n)
{
    apr_uint32_t *a;
    int i, k;

    t->path->nelts = 0;
    for (; n != 0 && n != RP_MODEL_NONE; n = rp_model_node(t->m, n)->parent) {
        *(apr_uint32_t *)apr_array_push(t->path) = n;
    }
    a = (apr_uint32_t *)t->path->elts;
    for (i = 0, k = t->path->nelts - 1; i < k; i++, k--) {
        apr_uint32_t x = a[i];
        a[i] = a[k];
        a[k] = x;
    }
}

/* ------------------------------------------------------------------ */
/* Drawing */

static void draw_box(tl_t *t, const box_t *b, int depth)
{
    const rp_render_t *c = t->c;
    const rp_tnode_t *n = rp_model_node(t->m, b->node);
    const rp_func_t *f = rp_model_func(t->m, n->func);
    const char *name = name_of(t, n->func);
    double x = x_of(t, b->start);
    double w = (double)(b->end - b->start) * t->scale;
    int y = TL_TOP + TL_LANE_H + TL_LANE_GAP + depth * TL_FRAME_H;

    w = w < TL_MIN_W ? TL_MIN_W : w;
    rp_out_printf(c->out,
                  "<g class=\"t%s\" data-d=\"%d\" data-s=\"%" APR_INT64_T_FMT
                  "\" data-e=\"%" APR_INT64_T_FMT "\" "
                  "data-n=\"%" APR_UINT64_T_FMT "\"><title>",
                  b->on_ns ? "" : " blocked", depth, b->start, b->end,
                  b->count);
    rp_out_puts(c->out, name);
    if (f->object && *f->object && f->kind != RP_FRAME_URI) {
        rp_out_puts(c->out, " (");
        rp_out_escaped(c->out, RP_ESCAPE_HTML, f->object);
        rp_out_puts(c->out, ")");
    }
    rp_out_printf(c->out, "\n%.2f to %.2f ms (%.2f ms), ", ms(b->start),
                  ms(b->end), ms(b->end - b->start));
    rp_out_printf(c->out, "%" APR_UINT64_T_FMT " samples", b->count);
    if (b->off_ns) {
        rp_out_printf(c->out, ", %.2f ms of them blocked or waiting",
                      rp_model_ms(b->off_ns));
    }
    rp_out_printf(c->out,
                  "</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
                  "height=\"%d\" rx=\"2\" fill=\"%s\"/><text x=\"%.2f\" "
                  "y=\"%d\">",
                  x, y, w, TL_FRAME_H - 1, fill_of(f), x + 3,
                  y + TL_FRAME_H - 4);
    rp_report_flame_label(c->out, name, w);
    rp_out_puts(c->out, "</text></g>\n");
    t->boxes++;
}

/* Close the open boxes from depth FROM down. */
static void close_from(tl_t *t, int from)
{
    int d;

    for (d = t->open->nelts - 1; d >= from; d--) {
        draw_box(t, &((box_t *)t->open->elts)[d], d);
    }
    if (from < t->open->nelts) {
        t->open->nelts = from;
    }
}

/* Span S's rect in the lane, its stack in the title. */
static void draw_lane(tl_t *t, const rp_span_view_t *s)
{
    const rp_render_t *c = t->c;
    double x = x_of(t, s->start_us);
    double w = (double)(s->end_us - s->start_us) * t->scale;
    int i;

    w = w < TL_MIN_W ? TL_MIN_W : w;
    rp_out_printf(c->out,
                  "<rect class=\"lane %s\" data-state=\"%s\" "
                  "data-s=\"%" APR_INT64_T_FMT "\" data-e=\"%" APR_INT64_T_FMT
                  "\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
                  "height=\"%d\" fill=\"%s\"><title>%s: %.2f to %.2f ms, "
                  "%u sample%s",
                  s->blocked ? "off" : "on", s->blocked ? "blocked" : "cpu",
                  s->start_us, s->end_us, x, TL_TOP, w, TL_LANE_H,
                  lane_fills[s->blocked], lane_names[s->blocked],
                  ms(s->start_us), ms(s->end_us), s->count,
                  s->count == 1 ? "" : "s");
    /* Innermost first, as a debugger prints a stack. */
    for (i = t->path->nelts - 1; i >= 0; i--) {
        apr_uint32_t n = ((apr_uint32_t *)t->path->elts)[i];
        if (t->path->nelts - 1 - i == TL_STACK_MAX) {
            rp_out_printf(c->out, "\n  ... %d more", i + 1);
            break;
        }
        rp_out_puts(c->out, "\n  ");
        rp_out_puts(c->out, name_of(t, rp_model_node(t->m, n)->func));
    }
    rp_out_puts(c->out, "</title></rect>\n");
}

/* Time marks every 1, 2 or 5 times a power of ten ms, at most
 * TL_TICKS_MAX of them, as lines across the drawing. */
static void axis(tl_t *t, int height)
{
    double step = 0.001, total = ms(t->total), v;
    static const double mult[] = { 2, 2.5, 2 };
    int i = 0;

    while (total / step > TL_TICKS_MAX) {
        step *= mult[i++ % 3];
    }
    for (v = 0; v <= total + 1e-9; v += step) {
        double x = TL_PAD + v * 1000.0 * t->scale;
        rp_out_printf(t->c->out,
                      "<line class=\"tick\" x1=\"%.2f\" "
                      "y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#d0d7de\"/>"
                      "<text class=\"tick\" x=\"%.2f\" y=\"%d\">%g ms"
                      "</text>\n",
                      x, TL_TOP - 4, x, height - TL_BOTTOM, x, TL_TOP - 8, v);
    }
}

void rp_report_timeline_svg(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    const rp_kept_t *k = m ? m->request : NULL;
    apr_uint32_t i, unplaced;
    int depth = 0, height;
    rp_span_view_t s;
    tl_t t;

    if (!k) {
        return;
    }
    memset(&t, 0, sizeof(t));
    t.c = c;
    t.m = m;
    t.total = rp_report_timeline_us(m);
    t.scale = (double)TL_USABLE / (double)t.total;
    t.names = apr_pcalloc(c->p, sizeof(*t.names) * (m->funcs->nelts + 1));
    t.open = apr_array_make(c->p, 64, sizeof(box_t));
    t.path = apr_array_make(c->p, 64, sizeof(apr_uint32_t));
    /* The height first: the svg element, written first, needs it. */
    for (i = 0; i < k->n_spans; i++) {
        rp_report_span(m, i, &s);
        stack_of(&t, s.node);
        depth = t.path->nelts > depth ? t.path->nelts : depth;
    }
    height = TL_TOP + TL_LANE_H + TL_LANE_GAP + depth * TL_FRAME_H
             + TL_BOTTOM;
    rp_out_printf(c->out,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                  "version=\"1.1\" id=\"timeline\" "
                  "class=\"reqprof-timeline\" "
                  "width=\"100%%\" viewBox=\"0 0 %d %d\" "
                  "data-us=\"%" APR_INT64_T_FMT "\" data-spans=\"%u\">\n",
                  TL_WIDTH, height, t.total, k->n_spans);
    rp_out_printf(c->out,
                  "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
                  "fill=\"#fbfbfc\"/>\n<text class=\"title\" x=\"%d\" "
                  "y=\"18\">Timeline: %.2f ms of wall time, %u samples in "
                  "%u spans</text>\n",
                  TL_WIDTH, height, TL_PAD, ms(t.total), k->samples,
                  k->n_spans);
    axis(&t, height);
    unplaced = k->samples_lost;
    for (i = 0; i < k->n_spans; i++) {
        box_t *open;
        double tol;
        int d0 = 0, d;
        rp_report_span(m, i, &s);
        if (s.node == RP_MODEL_NONE) {
            unplaced += s.count;
            continue;
        }
        stack_of(&t, s.node);
        draw_lane(&t, &s);
        /* A box goes on while the stack keeps its node at that depth and
         * the span follows within a sample's time, or a pixel. */
        tol = 1.0 / t.scale;
        if (s.count && (double)s.weight_ns / 1000.0 / s.count > tol) {
            tol = (double)s.weight_ns / 1000.0 / s.count;
        }
        open = (box_t *)t.open->elts;
        while (d0 < t.open->nelts && d0 < t.path->nelts
               && open[d0].node == ((apr_uint32_t *)t.path->elts)[d0]
               && (double)(s.start_us - open[d0].end) <= tol) {
            d0++;
        }
        close_from(&t, d0);
        for (d = 0; d < t.path->nelts; d++) {
            box_t *b;
            if (d >= d0) {
                b = apr_array_push(t.open);
                memset(b, 0, sizeof(*b));
                b->node = ((apr_uint32_t *)t.path->elts)[d];
                b->start = s.start_us;
            }
            b = &((box_t *)t.open->elts)[d];
            b->end = s.end_us > b->end ? s.end_us : b->end;
            b->count += s.count;
            if (s.blocked) {
                b->off_ns += s.weight_ns;
            }
            else {
                b->on_ns += s.weight_ns;
            }
        }
    }
    close_from(&t, 0);
    /* The legend, and what could not be placed. */
    rp_out_printf(c->out,
                  "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" "
                  "fill=\"%s\"/><text class=\"legend\" x=\"%d\" y=\"%d\">%s"
                  "</text><rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" "
                  "fill=\"%s\"/><text class=\"legend\" x=\"%d\" y=\"%d\">%s"
                  "</text>\n",
                  TL_PAD, height - 18, lane_fills[0], TL_PAD + 16, height - 9,
                  lane_names[0], TL_PAD + 90, height - 18, lane_fills[1],
                  TL_PAD + 106, height - 9, lane_names[1]);
    rp_out_printf(c->out,
                  "<text class=\"legend note\" x=\"%d\" y=\"%d\">"
                  "hover for the stack; frames coloured by function",
                  TL_PAD + 260, height - 9);
    if (unplaced) {
        rp_out_printf(c->out, "; %u sample%s not placed in time", unplaced,
                      unplaced == 1 ? "" : "s");
    }
    if (!k->n_spans) {
        rp_out_puts(c->out, "; no samples were taken of this request");
    }
    else if (m->info && m->info->settings.timer == RP_TIMER_CPU) {
        /* Its ticks count CPU time: where the request was off the CPU
         * there is nothing, not a grey span. */
        rp_out_puts(c->out, "; the cpu timer samples time on a CPU only: "
                            "a gap is time off it");
    }
    rp_out_puts(c->out, "</text>\n</svg>\n");
}
