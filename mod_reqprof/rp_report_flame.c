/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_flame: the flame graph as one self-contained SVG, drawn by
 * the module from the merged call tree, for the page's flame view
 * (embedded in its HTML) and for ?format=svg (a standalone document).
 *
 * A frame's width is its node's total samples; its children sit on it
 * from the left in alphabetical order of function (then object), as
 * flamegraph.pl orders them, so a function keeps its place from one
 * profile to the next and two graphs can be compared by eye; the empty
 * space a frame leaves on its right is its self time.  The root "all"
 * is at the bottom (at the top for ?icicle=1) and the URIs are its
 * children.  Colour says which object (module or library) a frame's code
 * is in: a hash of the object's base name picks a warm hue, the function
 * name only shades it, so one module reads as one colour; URIs are blue
 * and the pseudo-frames ([truncated], [table full], ...) grey.
 *
 * Frames narrower than 0.1 px at the drawn width (or under ?min=
 * percent) are left out with their subtrees and counted in a note: a big
 * profile would otherwise give an SVG of millions of invisible rects.
 * Positions are computed from every sibling, drawn or not, so what is
 * drawn stays exact.
 *
 * Interaction is an inline script, no external asset: assets/flame.js,
 * with the style assets/flame.css, both built into rp_assets.h.  The
 * page is served with a CSP of nonces, so the script and the style carry
 * the page's nonce, and nothing is inline otherwise: no on...= handlers
 * (one listener on the svg, delegating), no style="" (the script sets
 * presentation attributes).  Every frame carries its sample offset and
 * count (data-o, data-n) and depth (data-d), so zooming and the search's
 * "Matched" share are exact integer arithmetic in the script.  The
 * script hangs reqprofSearch(), reqprofZoom(), reqprofUnzoom() and
 * reqprofReset() on the svg element for the page around it.
 *
 * The request view draws a second graph of the same kind, the
 * comparison of one request with what is typical of its URI
 * (rp_report_flame_diff_svg): frames as wide as in the request, coloured
 * by how much more (red) or less (blue) of the samples each has than the
 * same stack in the URI's merged profile, as flamegraph.pl's
 * differential graphs are; a frame past RP_DIFF_MARK points either way
 * carries the class "more" or "less" and every frame its difference
 * (data-delta), so the page's reader, a script or a test finds the slow
 * part without reading colours.  Each graph has its own id, the prefix
 * of its parts' ids, so two live on one page.
 *
 * Every name is escaped with rp_escape_html, which makes it valid UTF-8
 * text of characters XML allows and fit both XML and HTML text and
 * attributes.
 *
 * Memory does not grow with the graph: the tree is walked twice, once to
 * learn the height (the <svg> element, written first, needs it) and once
 * to draw, and neither keeps the frames; each function's escaped name is
 * made once and clipped in place, objects are escaped into the sink.  Not
 * for signal context.
 */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "rp_assets.h"
#include "rp_escape.h"
#include "rp_interp.h"
#include "rp_report.h"

/* Geometry, in SVG user units (px at 100 %). */
#define FL_WIDTH        1200
#define FL_PAD          10              /* left and right */
#define FL_FRAME_H      16              /* one stack level */
#define FL_FONT         12
#define FL_CHAR_W       (FL_FONT * 0.59)        /* a mean glyph, Verdana */
#define FL_TOP          62              /* title, subtitle, controls */
#define FL_BOTTOM       44              /* note, details, matched */
#define FL_MIN_PX       0.1             /* narrower frames are not drawn */
#define FL_USABLE       (FL_WIDTH - 2 * FL_PAD)

/* One frame to draw: a tree node at a depth and a sample offset from the
 * left edge of the root. */
typedef struct {
    apr_uint32_t node;
    apr_uint32_t depth;
    apr_uint64_t off;
} frame_t;

/* What a frame draws of its function, computed once per function. */
typedef struct {
    const char *name;           /* escaped */
    const char *object;         /* as in the model, "" when none */
    int units;                  /* length of the name as the script sees
                                 * it (UTF-16 units, entities decoded) */
    char fill[24];
    int lang; /* rp_lang_e of a script function */
} look_t;

/* A child while the children are put in order. */
typedef struct {
    const char *name;
    const char *object;
    apr_uint32_t node;
} kid_t;

typedef struct flame_s flame_t;

/* What a walk does with each frame drawn, in document order. */
typedef void (*visit_fn)(flame_t *fl, const frame_t *f);

struct flame_s {
    const rp_render_t *c;
    const rp_model_t *m;
    const rp_tnode_t *nodes;
    apr_uint64_t total;
    double min_n;               /* samples of the narrowest drawn frame */
    apr_array_header_t *stack;  /* of frame_t: the walk's, reused */
    apr_array_header_t *kids;   /* of kid_t: one node's, reused */
    apr_uint32_t drawn;         /* frames the first walk found */
    apr_uint32_t max_depth;
    int height;                 /* of the whole graph */
    look_t **looks;             /* by function index, filled lazily */
    look_t root_look;
    /* The svg's id and its parts' prefix; the comparison to colour by,
     * or NULL. */
    const char *id;
    const rp_diff_t *diff;
};


/* ------------------------------------------------------------------ */
/* Colours */

/* Fills of frames that are not code of a known object, by kind (NULL:
 * code, coloured by its object). */
static const char *const kind_fills[RP_FRAME_KINDS] = {
    [RP_FRAME_URI]        = "rgb(110,160,225)",
    [RP_FRAME_TRUNCATED]  = "rgb(170,170,170)",
    [RP_FRAME_TABLE_FULL] = "rgb(150,150,150)",
    [RP_FRAME_UNKNOWN]    = "rgb(190,190,190)",
    [RP_FRAME_WAIT_CPU]   = "rgb(200,200,200)",
    [RP_FRAME_BLOCKED]    = "rgb(200,200,200)",
    [RP_FRAME_OFF_CPU]    = "rgb(200,200,200)"
};
#define FL_NO_OBJECT_FILL "rgb(200,200,200)"

#define FL_ROOT_FILL    "rgb(210,190,160)"
#define FL_MATCH_FILL   "rgb(230,0,230)"

/* FNV-1a, then a finaliser so that the low bits of near names differ
 * too; stable, so a module has one colour in every graph. */
static apr_uint32_t hash(const char *s)
{
    apr_uint32_t h = 2166136261u;

    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static double hsl_part(double p, double q, double t)
{
    if (t < 0) {
        t += 1;
    }
    if (t > 1) {
        t -= 1;
    }
    if (t < 1.0 / 6) {
        return p + (q - p) * 6 * t;
    }
    if (t < 0.5) {
        return q;
    }
    if (t < 2.0 / 3) {
        return p + (q - p) * (2.0 / 3 - t) * 6;
    }
    return p;
}

/* Hue (red to yellow), saturation and lightness from the object, so a
 * module reads as one colour and two modules rarely alike; the function
 * only shades the lightness, so neighbours within one object can still
 * be told apart. */
static void code_fill(char *buf, apr_size_t len, const char *object,
                      const char *name)
{
    apr_uint32_t ho = hash(rp_model_base_name(object)), hn = hash(name);
    double h = (double)(ho % 61) / 360.0;
    double s = 0.60 + (double)((ho >> 8) % 36) / 100.0;
    double l = 0.50 + (double)((ho >> 16) % 19) / 100.0
               + ((double)(hn % 5) - 2) / 100.0;
    double q = l < 0.5 ? l * (1 + s) : l + s - l * s, p = 2 * l - q;

    apr_snprintf(buf, len, "rgb(%d,%d,%d)",
                 (int)(255 * hsl_part(p, q, h + 1.0 / 3) + 0.5),
                 (int)(255 * hsl_part(p, q, h) + 0.5),
                 (int)(255 * hsl_part(p, q, h - 1.0 / 3) + 0.5));
}

/* Script functions, by language (rp_lang_e): a hue of their own, far
 * from native code's reds and yellows, shaded by the function. */
static const int lang_hues[RP_LANGS] = { 0, 265, 130 };

static void script_fill(char *buf, apr_size_t len, int lang, const char *name)
{
    apr_uint32_t hn = hash(name);
    double h = (double)(lang_hues[lang] + (int)(hn % 21) - 10) / 360.0;
    double s = 0.45, l = 0.62 + (double)((hn >> 8) % 11) / 100.0;
    double q = l < 0.5 ? l * (1 + s) : l + s - l * s, p = 2 * l - q;

    apr_snprintf(buf, len, "rgb(%d,%d,%d)",
                 (int)(255 * hsl_part(p, q, h + 1.0 / 3) + 0.5),
                 (int)(255 * hsl_part(p, q, h) + 0.5),
                 (int)(255 * hsl_part(p, q, h - 1.0 / 3) + 0.5));
}

static void fill_of(char *buf, apr_size_t len, const rp_func_t *f)
{
    const char *fixed = (unsigned)f->kind < RP_FRAME_KINDS
                        ? kind_fills[f->kind] : NULL;

    if (!fixed && !*f->object) {
        fixed = FL_NO_OBJECT_FILL;
    }
    if (fixed) {
        apr_cpystrn(buf, fixed, len);
        return;
    }
    if (f->lang > 0 && f->lang < RP_LANGS) {
        script_fill(buf, len, f->lang, f->name);
        return;
    }
    code_fill(buf, len, f->object, f->name);
}


/* The colour of a difference of DELTA points: white-grey at none, then
 * towards red (more than typical) or blue (less) until DIFF_FULL points,
 * as flamegraph.pl's differential graphs. */
#define DIFF_FULL 25.0

static void diff_fill(char *buf, apr_size_t len, double delta)
{
    static const int none[3] = { 235, 235, 235 };
    static const int more[3] = { 215, 40, 40 };
    static const int less[3] = { 50, 100, 215 };
    const int *to = delta >= 0 ? more : less;
    double k = (delta >= 0 ? delta : -delta) / DIFF_FULL;

    k = k > 1 ? 1 : k;
    apr_snprintf(buf, len, "rgb(%d,%d,%d)",
                 (int)(none[0] + (to[0] - none[0]) * k + 0.5),
                 (int)(none[1] + (to[1] - none[1]) * k + 0.5),
                 (int)(none[2] + (to[2] - none[2]) * k + 0.5));
}


/* ------------------------------------------------------------------ */
/* Escaped names: length and clipping as the browser will count them */

/* Bytes of the next character of escaped text S and, in *UNITS, how many
 * UTF-16 units it is once the browser has decoded it: an entity is one,
 * a four-byte UTF-8 sequence two. */
static apr_size_t next_char(const char *s, int *units)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t n = 1;

    *units = 1;
    if (*u == '&') {
        const char *semi = strchr(s, ';');
        return semi ? (apr_size_t)(semi - s) + 1 : 1;
    }
    if (*u >= 0xF0) {
        *units = 2;
    }
    while (u[n] >= 0x80 && u[n] < 0xC0) {
        n++;
    }
    return n;
}

static int units_of(const char *s)
{
    int total = 0, u;

    while (*s) {
        s += next_char(s, &u);
        total += u;
    }
    return total;
}

/* ESC clipped to a frame of WIDTH px, into the sink: whole when it
 * fits, else as many characters as fit less two, then "..", and nothing
 * when not even three characters fit (the script clips the same way when
 * it zooms). */
static void put_clipped(rp_out_t *out, const char *esc, int units,
                        double width)
{
    int fit = (int)((width - 6) / FL_CHAR_W), used = 0, u;
    const char *s = esc;

    if (fit < 3) {
        return;
    }
    if (units <= fit) {
        rp_out_puts(out, esc);
        return;
    }
    while (*s) {
        apr_size_t n = next_char(s, &u);
        if (used + u > fit - 2) {
            break;
        }
        used += u;
        s += n;
    }
    rp_out_write(out, esc, (apr_size_t)(s - esc));
    rp_out_write(out, "..", 2);
}

void rp_report_flame_label(rp_out_t *out, const char *esc, double width)
{
    put_clipped(out, esc, units_of(esc), width);
}

static const look_t *look_of(flame_t *fl, apr_uint32_t func)
{
    const rp_func_t *f;
    look_t *lk;

    if (func == RP_MODEL_NONE) {
        return &fl->root_look;
    }
    if (fl->looks[func]) {
        return fl->looks[func];
    }
    f = rp_model_func(fl->m, func);
    lk = apr_palloc(fl->c->p, sizeof(*lk));
    lk->name = rp_escape_html(fl->c->p, f->name ? f->name : "");
    lk->object = f->object ? f->object : "";
    lk->units = units_of(lk->name);
    fill_of(lk->fill, sizeof(lk->fill), f);
    lk->lang = f->lang;
    fl->looks[func] = lk;
    return lk;
}


/* ------------------------------------------------------------------ */
/* Layout: which frames are drawn, and where */

static int kid_cmp(const void *x, const void *y)
{
    const kid_t *a = x, *b = y;
    int d = strcmp(a->name, b->name);

    if (d == 0) {
        d = strcmp(a->object, b->object);
    }
    if (d == 0) {
        d = a->node < b->node ? -1 : a->node > b->node;
    }
    return d;
}

/* Depth first with an explicit stack (stacks may be thousands deep),
 * frames in document order, each given to VISIT: a frame, then its drawn
 * children left to right.  The stack holds the frames still to visit of
 * each level of the path, so it grows with the path, not the graph. */
static void walk(flame_t *fl, visit_fn visit)
{
    apr_array_header_t *stack = fl->stack, *kids = fl->kids;
    frame_t *top;
    apr_uint32_t ch;
    int i, first;

    stack->nelts = 0;
    top = apr_array_push(stack);
    top->node = 0;
    top->depth = 0;
    top->off = 0;
    while (stack->nelts) {
        frame_t f = ((frame_t *)stack->elts)[--stack->nelts];
        apr_uint64_t off = f.off;

        visit(fl, &f);
        kids->nelts = 0;
        for (ch = fl->nodes[f.node].first_child; ch != RP_MODEL_NONE;
             ch = fl->nodes[ch].next_sibling) {
            const rp_func_t *fn = rp_model_func(fl->m, fl->nodes[ch].func);
            kid_t *k = apr_array_push(kids);
            k->name = fn->name ? fn->name : "";
            k->object = fn->object ? fn->object : "";
            k->node = ch;
        }
        qsort(kids->elts, kids->nelts, sizeof(kid_t), kid_cmp);
        /* Offsets left to right over every child, drawn or not; pushed
         * right to left so the leftmost comes out of the stack first. */
        first = stack->nelts;
        for (i = 0; i < kids->nelts; i++) {
            const rp_tnode_t *n = &fl->nodes[((kid_t *)kids->elts)[i].node];
            if (n->total_count && (double)n->total_count >= fl->min_n) {
                top = apr_array_push(stack);
                top->node = ((kid_t *)kids->elts)[i].node;
                top->depth = f.depth + 1;
                top->off = off;
            }
            off += n->total_count;
        }
        for (i = 0; i < (stack->nelts - first) / 2; i++) {
            frame_t *a = &((frame_t *)stack->elts)[first + i];
            frame_t *b = &((frame_t *)stack->elts)[stack->nelts - 1 - i];
            frame_t t = *a;
            *a = *b;
            *b = t;
        }
    }
}

/* The first walk: how deep and how many. */
static void measure(flame_t *fl, const frame_t *f)
{
    fl->drawn++;
    if (f->depth > fl->max_depth) {
        fl->max_depth = f->depth;
    }
}

/* ------------------------------------------------------------------ */
/* Drawing */

/* D with up to three decimals and no trailing zeros ("0.1", "25"):
 * apr_snprintf's %g drops the leading zero (".1"). */
static const char *number(apr_pool_t *p, double d)
{
    char *s = apr_psprintf(p, "%.3f", d), *e = s + strlen(s) - 1;

    while (*e == '0') {
        *e-- = '\0';
    }
    if (*e == '.') {
        *e = '\0';
    }
    return s;
}

/* The second walk: each frame drawn. */
static void draw_frame(flame_t *fl, const frame_t *f)
{
    const rp_render_t *c = fl->c;
    const rp_tnode_t *n = &fl->nodes[f->node];
    const look_t *lk = look_of(fl, n->func);
    double scale = (double)FL_USABLE / (double)fl->total;
    double x = FL_PAD + (double)f->off * scale;
    double w = (double)n->total_count * scale;
    int y = c->o->icicle
            ? FL_TOP + (int)f->depth * FL_FRAME_H
            : fl->height - FL_BOTTOM - ((int)f->depth + 1) * FL_FRAME_H;
    const char *fill = lk->fill;
    char dfill[24];
    double delta = 0;

    if (fl->diff) {
        delta = fl->diff->share[f->node] - fl->diff->typical[f->node];
        diff_fill(dfill, sizeof(dfill), delta);
        fill = dfill;
    }
    rp_out_printf(c->out,
                  "<g class=\"f%s\" data-o=\"%" APR_UINT64_T_FMT
                  "\" data-n=\"%" APR_UINT64_T_FMT "\" data-d=\"%u\" "
                  "data-l=\"%d\"",
                  !fl->diff                ? ""
                  : delta >= RP_DIFF_MARK  ? " more"
                  : delta <= -RP_DIFF_MARK ? " less"
                                           : "",
                  f->off, n->total_count, f->depth, lk->units);
    if (fl->diff) {
        rp_out_printf(c->out, " data-delta=\"%.1f\"", delta);
    }
    if (lk->lang > 0 && lk->lang < RP_LANGS) {
        rp_out_printf(c->out, " data-lang=\"%s\"", rp_lang_names[lk->lang]);
    }
    rp_out_puts(c->out, "><title>");
    rp_out_puts(c->out, lk->name);
    if (*lk->object) {
        rp_out_puts(c->out, " (");
        rp_out_escaped(c->out, RP_ESCAPE_HTML, lk->object);
        rp_out_puts(c->out, ")");
    }
    rp_out_printf(c->out,
                  "\n%" APR_UINT64_T_FMT " samples, %.2f%%, est. "
                  "%.2f ms",
                  n->total_count, rp_model_pct(n->total_count, fl->total),
                  rp_model_ms(n->total_ns));
    if (fl->diff) {
        rp_out_printf(c->out,
                      "\n%+.1f points against typical (%.1f%% of "
                      "this request, %.1f%% typically)",
                      delta, fl->diff->share[f->node],
                      fl->diff->typical[f->node]);
    }
    rp_out_printf(c->out,
                  "</title><rect x=\"%.2f\" y=\"%d\" "
                  "width=\"%.2f\" height=\"%d\" rx=\"2\" fill=\"%s\"/>"
                  "<text x=\"%.2f\" y=\"%d\">",
                  x, y, w, FL_FRAME_H - 1, fill, x + 3, y + FL_FRAME_H - 4);
    put_clipped(c->out, lk->name, lk->units, w);
    rp_out_puts(c->out, "</text></g>\n");
}

static void draw(flame_t *fl, int embedded, apr_uint32_t dropped)
{
    const rp_render_t *c = fl->c;
    const rp_model_t *m = fl->m;
    const char *nonce = c->page && c->page->csp_nonce
                        ? apr_pstrcat(c->p, " nonce=\"",
                                      rp_escape_html(c->p,
                                                     c->page->csp_nonce),
                                      "\"", NULL)
                        : "";
    int height = FL_TOP + ((int)fl->max_depth + 1) * FL_FRAME_H + FL_BOTTOM;

    if (!embedded) {
        rp_out_puts(c->out, "<?xml version=\"1.0\" encoding=\"UTF-8\" "
                    "standalone=\"no\"?>\n");
    }
    rp_out_printf(c->out,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                  "version=\"1.1\" id=\"%s\" class=\"reqprof-flame%s\" "
                  "width=\"%s\" %sviewBox=\"0 0 %d %d\" data-pad=\"%d\" "
                  "data-usable=\"%d\" data-cw=\"%.2f\" data-match=\"%s\">\n",
                  fl->id, c->o->icicle ? " icicle" : "",
                  embedded ? "100%" : apr_itoa(c->p, FL_WIDTH),
                  embedded ? ""
                           : apr_psprintf(c->p, "height=\"%d\" ", height),
                  FL_WIDTH, height, FL_PAD, FL_USABLE, FL_CHAR_W,
                  FL_MATCH_FILL);
    rp_out_printf(c->out, "<style%s>\n", nonce);
    rp_out_write(c->out, RP_ASSET_FLAME_CSS, sizeof(RP_ASSET_FLAME_CSS) - 1);
    rp_out_puts(c->out, "</style>\n");
    rp_out_printf(c->out,
                  "<defs><linearGradient id=\"%s-bg\" x1=\"0\" "
                  "y1=\"0\" x2=\"0\" y2=\"1\"><stop offset=\"5%%\" "
                  "stop-color=\"#eeeeee\"/><stop offset=\"95%%\" "
                  "stop-color=\"%s\"/></linearGradient></defs>\n"
                  "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
                  "fill=\"url(#%s-bg)\"/>\n",
                  fl->id, fl->diff ? "#f8f8f8" : "#eeeeb0", FL_WIDTH, height,
                  fl->id);
    rp_out_printf(c->out,
                  "<text class=\"title\" x=\"%d\" y=\"24\">%s"
                  "%s%s</text>\n",
                  FL_WIDTH / 2,
                  fl->diff       ? "This request against typical"
                  : c->o->icicle ? "Icicle graph"
                                 : "Flame graph",
                  m->focus ? ", focus: " : "",
                  m->focus ? rp_escape_html(c->p, m->focus) : "");
    if (fl->diff) {
        rp_out_printf(c->out,
                      "<text class=\"sub\" x=\"%d\" y=\"44\">"
                      "width: this request's %" APR_UINT64_T_FMT " samples; "
                      "red: more of them than in its URI's %" APR_UINT64_T_FMT
                      " requests, blue: less</text>\n",
                      FL_WIDTH / 2, fl->total, fl->diff->base_requests);
    }
    else {
        rp_out_printf(c->out, "<text class=\"sub\" x=\"%d\" y=\"44\">",
                      FL_WIDTH / 2);
        rp_out_printf(c->out, "%" APR_UINT64_T_FMT, fl->total);
        rp_out_printf(c->out,
                      " samples, est. %.1f ms; click a frame to "
                      "zoom</text>\n",
                      rp_model_ms(m->weight_ns));
    }
    rp_out_printf(c->out,
                  "<text id=\"%s-reset\" class=\"ctl\" x=\"%d\" "
                  "y=\"44\">Reset zoom</text>\n",
                  fl->id, FL_PAD);
    rp_out_printf(c->out,
                  "<text id=\"%s-search\" class=\"ctl right\" "
                  "x=\"%d\" y=\"44\">Search</text>\n",
                  fl->id, FL_WIDTH - FL_PAD);
    if (!fl->total) {
        rp_out_printf(c->out, "<text class=\"note\" x=\"%d\" y=\"%d\">No "
                      "samples yet.</text>\n", FL_PAD, FL_TOP + 12);
    }
    else {
        fl->height = height;
        walk(fl, draw_frame);
    }
    rp_out_printf(c->out,
                  "<text id=\"%s-note\" class=\"note\" x=\"%d\" "
                  "y=\"%d\">",
                  fl->id, FL_PAD, height - 26);
    if (dropped && c->o->min_pct > 0) {
        rp_out_printf(c->out, "%u frame%s under %s%% not drawn", dropped,
                      dropped == 1 ? "" : "s", number(c->p, c->o->min_pct));
    }
    else if (dropped) {
        rp_out_printf(c->out, "%u frame%s narrower than %s px not drawn",
                      dropped, dropped == 1 ? "" : "s",
                      number(c->p, FL_MIN_PX));
    }
    rp_out_puts(c->out, "</text>\n");
    rp_out_printf(c->out,
                  "<text id=\"%s-details\" x=\"%d\" y=\"%d\">"
                  "</text>\n",
                  fl->id, FL_PAD, height - 8);
    rp_out_printf(c->out,
                  "<text id=\"%s-matched\" class=\"right\" "
                  "x=\"%d\" y=\"%d\"></text>\n",
                  fl->id, FL_WIDTH - FL_PAD, height - 8);
    /* Inside CDATA, so the script needs no escaping as XML, and HTML's
     * parser honours CDATA inside <svg> too; the build refuses a script
     * that holds "]]>". */
    rp_out_printf(c->out, "<script%s><![CDATA[\n", nonce);
    rp_out_write(c->out, RP_ASSET_FLAME_JS, sizeof(RP_ASSET_FLAME_JS) - 1);
    rp_out_puts(c->out, "]]></script>\n</svg>\n");
}


/* ------------------------------------------------------------------ */
/* Entry points */

static void flame_svg(const rp_render_t *c, int embedded, const char *id,
                      const rp_diff_t *diff)
{
    flame_t fl;
    apr_uint32_t dropped = 0;

    memset(&fl, 0, sizeof(fl));
    fl.id = id;
    fl.diff = diff;
    fl.c = c;
    fl.m = c->m;
    fl.nodes = (const rp_tnode_t *)c->m->nodes->elts;
    fl.total = fl.nodes[0].total_count;
    fl.stack = apr_array_make(c->p, 256, sizeof(frame_t));
    fl.kids = apr_array_make(c->p, 64, sizeof(kid_t));
    fl.looks = apr_pcalloc(c->p, sizeof(*fl.looks)
                                 * (c->m->funcs->nelts + 1));
    fl.root_look.name = "all";
    fl.root_look.object = "";
    fl.root_look.units = 3;
    apr_cpystrn(fl.root_look.fill, FL_ROOT_FILL, sizeof(fl.root_look.fill));
    fl.min_n = c->o->min_pct > 0
               ? (double)fl.total * c->o->min_pct / 100.0
               : (double)fl.total * FL_MIN_PX / FL_USABLE;
    if (fl.total) {
        walk(&fl, measure);
        dropped = (apr_uint32_t)c->m->nodes->nelts - fl.drawn;
    }
    draw(&fl, embedded, dropped);
}

void rp_report_flame_svg(const rp_render_t *c, int embedded)
{
    flame_svg(c, embedded, "flame", NULL);
}

void rp_report_flame_diff_svg(const rp_render_t *c, const rp_diff_t *d)
{
    if (d && d->n == (apr_uint32_t)c->m->nodes->nelts) {
        flame_svg(c, 1, "diff-flame", d);
    }
}

void rp_report_svg(const rp_render_t *c)
{
    rp_report_flame_svg(c, 0);
}
