/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_html: the page an operator reads, every view as one HTML
 * document with no external assets.
 *
 * This file owns the page's frame (header with the views, the other
 * formats and the exports, the live controls) and one function per view,
 * chosen from a table in rp_view_e order.  The requests view's list of
 * kept requests and one request's page walk rp_report_requests' data
 * (columns, facts, the comparison) and embed the timeline and the
 * flame graphs their files draw.  The functions view is a table
 * of columns {header, sort key, cell}, so a column is one line; the
 * overview writes rp_report_overview's facts, as text and json do.  The
 * page's style and script are assets/page.css and assets/page.js, built
 * into rp_assets.h, so they are read and changed as what they are.
 *
 * Safety is by construction, not by care at each call site: every string
 * that came from a request or a binary goes through h() (rp_escape_html,
 * which also quotes attribute values), every link is built by
 * rp_report_link (URL escapes) and then h()'d as a whole.  The page is
 * served under a CSP that runs only the <style> and <script> carrying
 * page->csp_nonce, so there are no style="" attributes and no inline
 * event handlers here; the script only improves what works without it
 * (empty fields of GET forms, expand/collapse in the tree).
 *
 * State changes are POST forms carrying page->nonce and the page's own
 * query string ("back"), so the handler can send the operator back where
 * they were.  Rendering is linear in what is shown: per-row links of the
 * functions and edge tables are a template cut once, the call tree is
 * walked with an explicit stack (no depth limit).  It is bounded in
 * memory too: what is written per row or per tree node is escaped
 * straight into the sink (put_h, put_where, tpl_put), never built in the
 * pool, and the tree's walk keeps one array of children for the whole
 * path.  Not for signal context.
 */

#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "rp_assets.h"
#include "rp_escape.h"
#include "rp_report.h"
#include "rp_sort.h"

/* A frame's object in the model when it stands for a URI. */

/* Marks the place of a value in a link template (tpl_make). */
#define MARK     "\x01rp\x01"
#define MARK_URL "%01rp%01"


/* ------------------------------------------------------------------ */
/* Small helpers */

/* HTML text or attribute value for S (NULL reads as ""). */
static const char *h(const rp_render_t *c, const char *s)
{
    return rp_escape_html(c->p, s ? s : "");
}

/* The escaped href of the page with QUERY (from rp_report_link). */
static const char *href(const rp_render_t *c, const char *query)
{
    return h(c, apr_pstrcat(c->p, c->page->self, query, NULL));
}

static void put(const rp_render_t *c, const char *s)
{
    rp_out_puts(c->out, s);
}

/* S as HTML text or attribute value, into the sink. */
static void put_h(const rp_render_t *c, const char *s)
{
    rp_out_escaped(c->out, RP_ESCAPE_HTML, s);
}

/* <a href="self+QUERY" ATTRS>TEXT</a>; TEXT already escaped. */
static void link_to(const rp_render_t *c, const char *query,
                    const char *attrs, const char *text)
{
    rp_out_printf(c->out, "<a href=\"%s\"%s%s>%s</a>", href(c, query),
                  attrs ? " " : "", attrs ? attrs : "", text);
}

static int is_uri(const rp_func_t *f)
{
    return f->kind == RP_FRAME_URI;
}

/* "file:line" when known, else the file, else the object: escaped, into
 * the sink. */
static void put_where(const rp_render_t *c, const rp_func_t *f)
{
    put_h(c, f->file ? f->file : f->object);
    if (f->file && f->line) {
        rp_out_printf(c->out, ":%d", f->line);
    }
}

static const char *fmt_time(const rp_render_t *c, apr_time_t t)
{
    apr_time_exp_t x;

    if (!t || apr_time_exp_gmt(&x, t) != APR_SUCCESS) {
        return "-";
    }
    return apr_psprintf(c->p, "%04d-%02d-%02d %02d:%02d:%02d UTC",
                        x.tm_year + 1900, x.tm_mon + 1, x.tm_mday,
                        x.tm_hour, x.tm_min, x.tm_sec);
}

static double us_ms(apr_uint64_t us)
{
    return (double)us / 1000.0;
}

static double mean_ms(apr_uint64_t sum_us, apr_uint64_t n)
{
    return n ? (double)sum_us / (double)n / 1000.0 : 0.0;
}

/* The nonce attribute of the page's own <style> and <script>. */
static const char *nonce_attr(const rp_render_t *c)
{
    return c->page->csp_nonce
           ? apr_pstrcat(c->p, " nonce=\"", h(c, c->page->csp_nonce), "\"",
                         NULL)
           : "";
}

/* ------------------------------------------------------------------ */
/* Link templates: one rp_report_link per table, not per row */

typedef struct {
    const char *pre, *post;     /* escaped href around the value */
} tpl_t;

/* A template of the link that sets KEY (uri, func or id; its value comes
 * per row) and KEY2=VALUE2 (KEY2 may be NULL) on top of the current
 * options.  Only ids (which cannot hold the mark) and numbers follow uri
 * and func in rp_report_link's order, so the last mark in the link is
 * ours, even when a request-controlled value before it (a match regex)
 * holds the mark's bytes. */
static void tpl_make(const rp_render_t *c, tpl_t *t, const char *view,
                     const char *key, const char *key2, const char *value2)
{
    const char *q = key2 ? rp_report_link(c, "view", view, key, MARK, key2,
                                          value2, NULL)
                         : rp_report_link(c, "view", view, key, MARK, NULL);
    const char *at = NULL, *s;

    for (s = strstr(q, MARK_URL); s; s = strstr(s + 1, MARK_URL)) {
        at = s;
    }
    if (!at) {
        t->pre = href(c, q);
        t->post = "";
        return;
    }
    t->pre = href(c, apr_pstrndup(c->p, q, (apr_size_t)(at - q)));
    t->post = h(c, at + sizeof(MARK_URL) - 1);
}

/* The href of template T with VALUE, into the sink.  A URL escape holds
 * no HTML special character, so it goes in as it is. */
static void tpl_put(const rp_render_t *c, const tpl_t *t, const char *value)
{
    put(c, t->pre);
    rp_out_escaped(c->out, RP_ESCAPE_URL, value);
    put(c, t->post);
}

/* ------------------------------------------------------------------ */
/* Hidden fields: a GET form keeps the view options it does not set */

/* Emit a hidden input for each current option but those named in SKIP
 * (a NULL-terminated list). */
static void hidden_state(const rp_render_t *c, const char *const *skip)
{
    rp_kv_t kv[RP_REPORT_STATE_MAX];
    int i, k;

    rp_report_state(c, kv);
    for (i = 0; kv[i].key; i++) {
        /* The explain view's question is asked by its own form. */
        if (strcmp(kv[i].key, "explain") == 0) {
            continue;
        }
        for (k = 0; skip[k] && strcmp(skip[k], kv[i].key) != 0; k++) {
        }
        if (!skip[k] && kv[i].value) {
            rp_out_printf(c->out, "<input type=\"hidden\" name=\"%s\" "
                          "value=\"%s\">", kv[i].key, h(c, kv[i].value));
        }
    }
}

/* The value of option KEY as links carry it, "" when not set. */
static const char *state_value(const rp_render_t *c, const char *key)
{
    rp_kv_t kv[RP_REPORT_STATE_MAX];
    int i;

    rp_report_state(c, kv);
    for (i = 0; kv[i].key; i++) {
        if (strcmp(kv[i].key, key) == 0) {
            return kv[i].value ? kv[i].value : "";
        }
    }
    return "";
}

static void form_get(const rp_render_t *c, const char *id)
{
    rp_out_printf(c->out, "<form class=\"get\" method=\"get\" "
                  "action=\"%s\" id=\"%s\">", h(c, c->page->self), id);
}

/* ------------------------------------------------------------------ */
/* The frame: head, header, controls */

/* clang-format off */
static const char *const view_titles[RP_VIEW_COUNT] = {
    "Overview", "Functions", "Callers", "Callees", "Call tree",
    "Flame graph", "Requests", "Request", "Explain", "Now"
};
/* clang-format on */

static const char *const page_formats[] = { "text", "json", NULL };
static const char *const exports[] = {
    "svg", "collapsed", "pprof", "callgrind", "dot", "speedscope", NULL,
};

/* The live controls: one POST form per change. */
/* The start of a control's form, that sends the operator back to
 * QUERY. */
static const char *control_form(const rp_render_t *c, const char *query)
{
    return apr_psprintf(c->p,
                        "<form method=\"post\" action=\"%s\"><input "
                        "type=\"hidden\" name=\"nonce\" value=\"%s\">"
                        "<input type=\"hidden\" name=\"back\" "
                        "value=\"%s\">",
                        h(c, c->page->self), h(c, c->page->nonce),
                        h(c, query));
}

static void controls(const rp_render_t *c)
{
    const rp_settings_t *s = &c->m->info->settings;
    const char *open = control_form(c, rp_report_link(c, NULL));
    /* A clear (and a new timer, which clears) forgets every kept
     * request: back to the list, or the view, not to a request gone. */
    const char *view = c->o->view == RP_VIEW_REQUEST
                           ? "requests"
                           : rp_report_view_names[c->o->view];
    const char *open_clear =
        !c->o->req ? open
                   : control_form(c, rp_report_link(c, "view", view, "req",
                                                    NULL, "id", NULL, NULL));

    put(c, "<div class=\"controls\">");
    put(c, open);
    put(c, s->enabled
        ? "<button id=\"btn-pause\" name=\"action\" value=\"pause\" "
          "title=\"stop collecting; the profile is kept\">Pause</button>"
        : "<button id=\"btn-enable\" name=\"action\" value=\"enable\" "
          "title=\"start collecting samples\">Enable</button>");
    put(c, "</form>");
    put(c, open_clear);
    put(c, "<button id=\"btn-clear\" class=\"danger\" name=\"action\" "
        "value=\"clear\" title=\"forget every sample of every child\">"
        "Clear</button></form>");
    put(c, open_clear);
    rp_out_printf(c->out, "<label for=\"timer\" class=\"lbl\">timer</label>"
                  "<select id=\"timer\" name=\"timer\">"
                  "<option value=\"cpu\"%s>cpu</option>"
                  "<option value=\"real\"%s>real</option></select>"
                  "<button id=\"btn-timer\" name=\"action\" value=\"timer\" "
                  "title=\"a new timer clears the profile: samples of CPU "
                  "and of wall time do not add up\">Set</button></form>",
                  s->timer == RP_TIMER_CPU ? " selected" : "",
                  s->timer == RP_TIMER_REAL ? " selected" : "");
    put(c, open);
    rp_out_printf(c->out, "<label for=\"frequency\" class=\"lbl\">Hz</label>"
                  "<input id=\"frequency\" type=\"number\" "
                  "name=\"frequency\" min=\"1\" max=\"10000\" required "
                  "value=\"%d\"><button id=\"btn-frequency\" name=\"action\" "
                  "value=\"frequency\">Set</button></form>",
                  s->frequency >= 1 && s->frequency <= 10000
                  ? s->frequency : 99);
    put(c, "</div>");
}

/* State and totals, on every view that has a model. */
static void status_bar(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    const rp_settings_t *s = &m->info->settings;

    put(c, "<div class=\"bar\">");
    rp_out_printf(c->out, "<span><span class=\"lbl\">profiling</span> "
                  "<b id=\"state\" class=\"%s\">%s</b></span>",
                  s->enabled ? "ok" : "bad", s->enabled ? "on" : "paused");
    rp_out_printf(c->out, "<span><span class=\"lbl\">timer</span> "
                  "<b id=\"timer-now\">%s</b></span>",
                  rp_timer_name(s->timer));
    rp_out_printf(c->out, "<span><span class=\"lbl\">frequency</span> "
                  "<b id=\"hz\">%d</b> Hz</span>", s->frequency);
    rp_out_printf(c->out, "<span><span class=\"lbl\">requests</span> "
                  "<b id=\"total-requests\">%" APR_UINT64_T_FMT "</b></span>"
                  "<span><span class=\"lbl\">samples</span> "
                  "<b id=\"total-samples\">%" APR_UINT64_T_FMT "</b></span>"
                  "<span><span class=\"lbl\">ticks</span> "
                  "<b id=\"total-ticks\">%" APR_UINT64_T_FMT "</b></span>",
                  m->counters[RP_CTR_REQUESTS], m->counters[RP_CTR_SAMPLES],
                  m->counters[RP_CTR_TICKS]);
    if (c->page->nonce) {
        controls(c);
    }
    put(c, "</div>");
}

/* On every view of one request's profile but its own page: which, and
 * the way back to every request. */
static void request_banner(const rp_render_t *c)
{
    const rp_kept_t *k = c->m ? c->m->request : NULL;

    put(c, "<p class=\"focus\" id=\"req-focus\">Profile of one kept "
           "request, ");
    link_to(c, rp_report_link(c, "view", "request", NULL), "id=\"req-page\"",
            apr_pstrcat(c->p, "<code>", h(c, c->o->req), "</code>", NULL));
    if (k) {
        rp_out_printf(c->out, " (<code>%s %s</code>, %d, %.2f ms)",
                      h(c, k->method), h(c, k->uri), k->status,
                      (double)k->wall_us / 1000.0);
    }
    put(c, ": every figure below is of it alone. ");
    link_to(c, rp_report_link(c, "req", NULL, "id", NULL, NULL),
            "id=\"req-clear\"", "Show every request");
    put(c, "</p>\n");
}

static void header(const rp_render_t *c)
{
    const rp_page_t *pg = c->page;
    int i;

    rp_out_printf(c->out, "<!doctype html>\n<html lang=\"en\"><head>"
                  "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
                  "content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"referrer\" content=\"same-origin\">\n"
                  "<title>reqprof: %s - %s</title>\n<style%s>\n",
                  view_titles[c->o->view], h(c, pg->host), nonce_attr(c));
    rp_out_write(c->out, RP_ASSET_PAGE_CSS, sizeof(RP_ASSET_PAGE_CSS) - 1);
    rp_out_printf(c->out, "</style>\n</head>\n<body class=\"view-%s\">\n",
                  rp_report_view_names[c->o->view]);
    rp_out_printf(c->out, "<header class=\"top\"><div class=\"brand\">"
                  "<h1>mod_reqprof</h1><span class=\"host\">%s</span>"
                  "<span class=\"ver\">%s</span><span class=\"ver\">"
                  "other formats:", h(c, pg->host), h(c, pg->version));
    for (i = 0; page_formats[i]; i++) {
        put(c, " ");
        /* The explain view's question is not a view option: carry it. */
        link_to(c, rp_report_link(c, "format", page_formats[i], "explain",
                                  c->o->view == RP_VIEW_EXPLAIN
                                  && pg->explain ? pg->explain->given : NULL,
                                  NULL),
                apr_psprintf(c->p, "id=\"fmt-%s\"", page_formats[i]),
                page_formats[i]);
    }
    put(c, " &middot; download:");
    /* Exports render the whole profile; the handler refuses a view. */
    for (i = 0; exports[i]; i++) {
        put(c, " ");
        link_to(c, rp_report_link(c, "format", exports[i], "view", NULL,
                                  NULL),
                apr_psprintf(c->p, "id=\"export-%s\"", exports[i]),
                exports[i]);
    }
    put(c, "</span></div>\n<nav class=\"views\">");
    for (i = 0; i < RP_VIEW_COUNT; i++) {
        /* One request's page exists only when one is chosen. */
        if (i == RP_VIEW_REQUEST && !c->o->req) {
            continue;
        }
        link_to(c, rp_report_link(c, "view", rp_report_view_names[i], NULL),
                apr_psprintf(c->p, "id=\"nav-%s\"%s",
                             rp_report_view_names[i],
                             i == (int)c->o->view
                             ? " class=\"cur\" aria-current=\"page\"" : ""),
                view_titles[i]);
    }
    put(c, "</nav></header>\n");
    if (c->m) {
        status_bar(c);
    }
    put(c, "<main>\n");
    if (pg->notice) {
        rp_out_printf(c->out, "<p class=\"notice\" id=\"notice\">%s</p>\n",
                      h(c, pg->notice));
    }
    if (c->o->focus && !RP_VIEW_NO_MODEL(c->o->view)) {
        rp_out_printf(c->out, "<p class=\"focus\" id=\"focus\">Focused on "
                      "URI <code>%s</code>: every figure below is of its "
                      "requests only. ", h(c, c->o->focus));
        link_to(c, rp_report_link(c, "uri", NULL, NULL),
                "id=\"focus-clear\"", "Show every URI");
        put(c, "</p>\n");
    }
    if (c->o->req && c->o->view != RP_VIEW_REQUEST
        && !RP_VIEW_NO_MODEL(c->o->view)) {
        request_banner(c);
    }
}

static void footer(const rp_render_t *c)
{
    rp_out_printf(c->out, "</main>\n<script%s>\n", nonce_attr(c));
    rp_out_write(c->out, RP_ASSET_PAGE_JS, sizeof(RP_ASSET_PAGE_JS) - 1);
    rp_out_puts(c->out, "</script>\n</body></html>\n");
}

/* "N samples, X ms estimated" of the profile shown. */
static void profile_line(const rp_render_t *c)
{
    apr_uint64_t exact;
    double covered = rp_model_covered(c->m, NULL, &exact);

    rp_out_printf(c->out, "<p class=\"hint\">%" APR_UINT64_T_FMT " samples "
                  "(%.1f ms estimated) in this profile", c->m->samples,
                  rp_model_ms(c->m->weight_ns));
    if (covered >= 0 && !c->m->focus) {
        rp_out_printf(c->out, "; they account for <span id=\"covered\">"
                      "%.0f%%</span> of the %.1f ms of %s time the profiled "
                      "requests took", covered, us_ms(exact),
                      rp_model_clock_name(c->m));
    }
    put(c, ".</p>\n");
}

/* A URI's "covered" cell: the estimate as a share of the exact time. */
static void covered_cell(const rp_render_t *c, const rp_model_uri_t *u)
{
    double covered = rp_model_covered(c->m, u, NULL);

    if (covered < 0) {
        put(c, "<td class=\"num muted\">-</td>");
    }
    else {
        rp_out_printf(c->out, "<td class=\"num\">%.0f%%</td>", covered);
    }
}

/* ------------------------------------------------------------------ */
/* Overview */

static void kv_row(const rp_render_t *c, const char *key, const char *value)
{
    rp_out_printf(c->out, "<tr><th>%s</th><td>%s</td></tr>\n", key, value);
}

/* A meter of a table's fill, N of CAP. */
static const char *fill(const rp_render_t *c, apr_uint64_t n,
                        apr_uint64_t cap)
{
    return apr_psprintf(c->p, "<meter min=\"0\" max=\"%" APR_UINT64_T_FMT
                        "\" value=\"%" APR_UINT64_T_FMT "\" high=\"%"
                        APR_UINT64_T_FMT "\"></meter>", cap ? cap : 1, n,
                        cap - cap / 10);
}

/* A fact's value with its words, escaped; MARK: the value in a span
 * that names its key (and carries its class), so that a script or a test
 * finds each figure of a row by the JSON member it is, and a fact without
 * a value (JSON null) is still there, empty. */
static void fact_value(const rp_render_t *c, const rp_fact_t *f, int mark)
{
    if (!f->value) {
        if (mark) {
            rp_out_printf(c->out, "<span data-key=\"%s\"></span>",
                          h(c, f->key));
        }
        return;
    }
    put_h(c, f->before);
    if (mark) {
        rp_out_printf(c->out, "<span data-key=\"%s\"%s%s%s>", h(c, f->key),
                      f->cls ? " class=\"" : "", f->cls ? h(c, f->cls) : "",
                      f->cls ? "\"" : "");
    }
    put_h(c, f->value);
    if (mark) {
        put(c, "</span>");
    }
    if (f->kind == RP_FACT_FILL) {
        put(c, " ");
        put(c, fill(c, f->n, f->max));
    }
    put_h(c, f->after);
}

/* A list of rules, each with where it was written, or "none". */
static void fact_rules(const rp_render_t *c, const rp_fact_t *f)
{
    const rp_filter_t *flt = c->page->filter;
    int i, n = flt ? rp_filter_count(flt, f->rules) : 0;
    const char *at;

    rp_out_printf(c->out, "<span data-key=\"%s\"%s>", h(c, f->key),
                  n ? "" : " class=\"muted\"");
    if (!n) {
        put(c, "none");
    }
    for (i = 0; i < n; i++) {
        const char *pat = rp_filter_pattern(flt, f->rules, i, &at);
        rp_out_printf(c->out, "%s<code>%s</code> <span class=\"muted\">%s"
                      "</span>", i ? "<br>" : "", h(c, pat), h(c, at));
    }
    put(c, "</span>");
}

/* Rows of a label and its values. */
static void fact_rows(const rp_render_t *c, const rp_fact_section_t *s)
{
    int i;

    rp_out_printf(c->out, "<table class=\"kv\" id=\"%s\">\n", h(c, s->key));
    for (i = 0; i < s->nfacts; i++) {
        const rp_fact_t *f = &s->facts[i];
        if (f->label) {
            rp_out_printf(c->out, "%s<tr><th>%s</th><td%s%s%s>",
                          i ? "</td></tr>\n" : "", h(c, f->label),
                          f->id ? " id=\"" : "", f->id ? h(c, f->id) : "",
                          f->id ? "\"" : "");
        }
        if (f->kind == RP_FACT_RULES) {
            fact_rules(c, f);
        }
        else {
            fact_value(c, f, 1);
        }
    }
    put(c, s->nfacts ? "</td></tr>\n</table>\n" : "</table>\n");
}

/* A table: the head row's labels as column heads (with their keys),
 * then a row per item; figures align right. */
static void fact_table(const rp_render_t *c, const rp_fact_section_t *s)
{
    int rows = s->nfacts / s->ncols, r, k;

    rp_out_printf(c->out, "<table class=\"data\" id=\"%s\"><thead><tr>",
                  h(c, s->key));
    for (k = 0; k < s->ncols; k++) {
        rp_out_printf(c->out, "<th%s data-key=\"%s\">%s</th>",
                      s->facts[k].width ? " class=\"num\"" : "",
                      h(c, s->facts[k].key), h(c, s->facts[k].label));
    }
    put(c, "</tr></thead><tbody>\n");
    for (r = 1; r < rows; r++) {
        put(c, "<tr>");
        for (k = 0; k < s->ncols; k++) {
            const rp_fact_t *f = &s->facts[r * s->ncols + k];
            put(c, s->facts[k].width ? "<td class=\"num\">" : "<td>");
            fact_value(c, f, 0);
            put(c, "</td>");
        }
        put(c, "</tr>\n");
    }
    if (rows < 2 && s->empty) {
        rp_out_printf(c->out, "<tr><td colspan=\"%d\" class=\"muted\">%s"
                      "</td></tr>\n", s->ncols, h(c, s->empty));
    }
    put(c, "</tbody></table>\n");
}

static void view_overview(const rp_render_t *c)
{
    int n, i;
    const rp_fact_section_t *s = rp_report_overview(c, &n);

    for (i = 0; i < n; i++) {
        rp_out_printf(c->out, "<h2>%s</h2>\n", h(c, s[i].title));
        if (s[i].note) {
            rp_out_printf(c->out, "<p class=\"hint\">%s</p>\n",
                          h(c, s[i].note));
        }
        if (s[i].ncols) {
            fact_table(c, &s[i]);
        }
        else {
            fact_rows(c, &s[i]);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Functions: a table of columns */

typedef struct {
    tpl_t callers, callees;     /* links of the name cell */
} row_links_t;

typedef void (*cell_fn)(const rp_render_t *c, const row_links_t *l,
                        const rp_func_t *f);

static void cell_self(const rp_render_t *c, const row_links_t *l,
                      const rp_func_t *f)
{
    rp_out_printf(c->out, "%" APR_UINT64_T_FMT, f->self_count);
}

static void cell_self_pct(const rp_render_t *c, const row_links_t *l,
                          const rp_func_t *f)
{
    rp_out_printf(c->out, "%.2f%%", rp_model_pct(f->self_count,
                                                 c->m->samples));
}

static void cell_self_ms(const rp_render_t *c, const row_links_t *l,
                         const rp_func_t *f)
{
    rp_out_printf(c->out, "%.2f", rp_model_ms(f->self_ns));
}

static void cell_cum(const rp_render_t *c, const row_links_t *l,
                     const rp_func_t *f)
{
    rp_out_printf(c->out, "%" APR_UINT64_T_FMT, f->cum_count);
}

static void cell_cum_pct(const rp_render_t *c, const row_links_t *l,
                         const rp_func_t *f)
{
    rp_out_printf(c->out, "%.2f%%", rp_model_pct(f->cum_count,
                                                 c->m->samples));
}

static void cell_cum_ms(const rp_render_t *c, const row_links_t *l,
                        const rp_func_t *f)
{
    rp_out_printf(c->out, "%.2f", rp_model_ms(f->cum_ns));
}

/* Cells of every row are written with puts, not printf: in a table of
 * ten thousand rows the formatter's cost shows. */
static void cell_name(const rp_render_t *c, const row_links_t *l,
                      const rp_func_t *f)
{
    put(c, "<a href=\"");
    tpl_put(c, &l->callers, f->name);
    put(c, "\" title=\"who calls it\">");
    put_h(c, f->name);
    put(c, "</a><a class=\"sub\" href=\"");
    tpl_put(c, &l->callees, f->name);
    put(c, "\" title=\"what it calls\">callees&#8250;</a>");
}

static void cell_file(const rp_render_t *c, const row_links_t *l,
                      const rp_func_t *f)
{
    put_where(c, f);
}

typedef struct {
    const char *head;           /* header text */
    const char *col;            /* the column's id (data-col) */
    const char *key;            /* sort key (rp_sort), or NULL */
    const char *cls;            /* class of its cells */
    const char *title;          /* header tooltip */
    cell_fn cell;
} column_t;

static const column_t columns[] = {
    { "self", "self", "self", "num",
      "samples in the function itself (pstats tottime)", cell_self },
    { "self %", "self_pct", NULL, "num",
      "self samples as a share of every sample", cell_self_pct },
    { "self ms", "self_ms", NULL, "num",
      "estimated time in the function itself", cell_self_ms },
    { "cumulative", "cum", "cumulative", "num",
      "samples in it and what it calls, once per stack (pstats cumtime)",
      cell_cum },
    { "cum %", "cum_pct", NULL, "num",
      "cumulative samples as a share of every sample", cell_cum_pct },
    { "cum ms", "cum_ms", NULL, "num",
      "estimated time in it and below", cell_cum_ms },
    { "function", "name", "name", "fn",
      "the name links to its callers", cell_name },
    { "file", "file", "file", "file",
      "source file:line where known, else the object", cell_file },
    { NULL }
};

/* pstats' aliases name the same column. */
static const char *canonical_sort(const char *key)
{
    if (!key) {
        return "self";
    }
    if (strcmp(key, "tottime") == 0) {
        return "self";
    }
    if (strcmp(key, "cumtime") == 0) {
        return "cumulative";
    }
    return key;
}

static void functions_form(const rp_render_t *c)
{
    static const char *const mine[] = {
        "limit", "fraction", "match", "func", "min", "icicle", NULL
    };
    static const char *const focus_mine[] = {
        "uri", "func", "min", "icicle", NULL
    };
    const rp_view_opts_t *o = c->o;

    /* Fields keep a valid value even without the script: limit 0 and
     * fraction 1 restrict nothing. */
    put(c, "<div class=\"filters\">");
    form_get(c, "restrict");
    hidden_state(c, mine);
    rp_out_printf(c->out, "<label>rows <input type=\"number\" name=\"limit\" "
                  "min=\"0\" max=\"1000000\" value=\"%d\" title=\"at most "
                  "this many rows, 0: all\"></label>"
                  "<label>fraction <input type=\"number\" name=\"fraction\" "
                  "min=\"0\" max=\"1\" step=\"any\" value=\"%s\" "
                  "title=\"the leading share of rows, 1: all\"></label>"
                  "<label>name matches <input type=\"text\" name=\"match\" "
                  "size=\"24\" value=\"%s\" placeholder=\"regex, e.g. "
                  "^apr_\"></label><button>Apply</button></form>\n",
                  o->select.limit,
                  o->select.fraction > 0
                  ? apr_psprintf(c->p, "%g", o->select.fraction) : "1",
                  h(c, o->match));
    /* Focus in a form of its own: its field must not be sent empty. */
    form_get(c, "focus-form");
    hidden_state(c, focus_mine);
    rp_out_printf(c->out, "<label>focus on URI <input type=\"text\" "
                  "name=\"uri\" size=\"30\" required pattern=\"/.*\" "
                  "value=\"%s\" placeholder=\"/path\"></label>"
                  "<button>Focus</button></form></div>\n", h(c, o->focus));
}

/* The rows the options select, as a table with what restricted them;
 * the functions view and a request's page. */
static void functions_table(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    const rp_view_opts_t *o = c->o;
    const char *sort = canonical_sort(o->select.sort);
    apr_array_header_t *rows;
    const column_t *col;
    const char *td[sizeof(columns) / sizeof(columns[0])];
    row_links_t links;
    const char *err;
    int total, i, k;

    rows = rp_model_select(c->p, m, &o->select, &total, &err);
    if (err) {
        /* No rows rather than the rows of the names it got through:
         * those would pass for the whole answer. */
        rp_out_printf(c->out, "<p class=\"notice\" id=\"match-budget\">%s"
                      "</p>\n", h(c, err));
    }

    put(c, "<div class=\"tools\"><span id=\"shown\">");
    rp_out_printf(c->out, "showing %d of %d functions", rows->nelts, total);
    if (rows->nelts < total) {
        put(c, ", restricted by");
        if (o->match && *o->match) {
            rp_out_printf(c->out, " names matching <code>%s</code>",
                          h(c, o->match));
        }
        if (o->select.fraction > 0 && o->select.fraction < 1) {
            rp_out_printf(c->out, " the leading %g of them",
                          o->select.fraction);
        }
        if (o->select.limit > 0) {
            rp_out_printf(c->out, " at most %d rows", o->select.limit);
        }
    }
    rp_out_printf(c->out, "; sorted by %s</span>", h(c, o->select.sort));
    link_to(c, rp_report_link(c, "strip", o->strip_dirs ? "0" : "1", NULL),
            "id=\"strip-toggle\"", o->strip_dirs ? "show directories"
                                                 : "strip directories");
    if (rows->nelts < total) {
        link_to(c, rp_report_link(c, "limit", "0", "fraction", NULL,
                                  "match", NULL, NULL),
                "id=\"show-all\"", "show all rows");
    }
    put(c, "</div>\n");

    put(c, "<table class=\"data\" id=\"functions\"><thead><tr>");
    for (col = columns; col->head; col++) {
        int cur = col->key && strcmp(col->key, sort) == 0;
        int down = cur && rp_sort_key_find(col->key)->descending;
        rp_out_printf(c->out, "<th class=\"%s%s\" data-col=\"%s\"",
                      strcmp(col->cls, "num") == 0 ? "num" : "",
                      cur ? " sorted" : "", col->col);
        if (col->key) {
            rp_out_printf(c->out, " data-key=\"%s\"%s", col->key,
                          !cur ? "" : down ? " aria-sort=\"descending\""
                                           : " aria-sort=\"ascending\"");
        }
        rp_out_printf(c->out, " title=\"%s\">", col->title);
        if (col->key) {
            link_to(c, rp_report_link(c, "sort", col->key, NULL), NULL,
                    apr_pstrcat(c->p, col->head, !cur ? ""
                                : down ? " &#9660;" : " &#9650;", NULL));
        }
        else {
            put(c, col->head);
        }
        put(c, "</th>");
    }
    put(c, "</tr></thead>\n<tbody>\n");
    tpl_make(c, &links.callers, "callers", "func", NULL, NULL);
    tpl_make(c, &links.callees, "callees", "func", NULL, NULL);
    for (col = columns, k = 0; col->head; col++, k++) {
        td[k] = apr_pstrcat(c->p, "<td class=\"", col->cls, "\">", NULL);
    }
    for (i = 0; i < rows->nelts; i++) {
        const rp_func_t *f = rp_model_func(m, ((apr_uint32_t *)rows->elts)[i]);
        put(c, "<tr>");
        for (col = columns, k = 0; col->head; col++, k++) {
            put(c, td[k]);
            col->cell(c, &links, f);
            put(c, "</td>");
        }
        put(c, "</tr>\n");
    }
    put(c, "</tbody></table>\n");
    if (!total) {
        put(c, "<p class=\"hint\" id=\"empty\">No samples yet: send "
            "requests that the include rules match (see the overview and "
            "the explain view), then reload.</p>\n");
    }
}

static void view_functions(const rp_render_t *c)
{
    profile_line(c);
    functions_form(c);
    functions_table(c);
}

/* ------------------------------------------------------------------ */
/* Callers and callees */

static void func_summary(const rp_render_t *c, const rp_func_t *f)
{
    rp_out_printf(c->out, "<h2 class=\"func\"><code>%s</code> <span "
                  "class=\"obj\">%s</span></h2>\n", h(c, f->name),
                  h(c, f->object));
    rp_out_printf(c->out, "<table class=\"data func-row\"><thead><tr>"
                  "<th class=\"num\">self</th><th class=\"num\">self %%</th>"
                  "<th class=\"num\">self ms</th><th class=\"num\">"
                  "cumulative</th><th class=\"num\">cum %%</th>"
                  "<th class=\"num\">cum ms</th><th>function</th>"
                  "<th>file</th></tr></thead><tbody><tr>"
                  "<td class=\"num\">%" APR_UINT64_T_FMT "</td>"
                  "<td class=\"num\">%.2f%%</td><td class=\"num\">%.2f</td>"
                  "<td class=\"num\">%" APR_UINT64_T_FMT "</td>"
                  "<td class=\"num\">%.2f%%</td><td class=\"num\">%.2f</td>"
                  "<td class=\"fn\">%s</td><td class=\"file\">",
                  f->self_count, rp_model_pct(f->self_count, c->m->samples),
                  rp_model_ms(f->self_ns), f->cum_count,
                  rp_model_pct(f->cum_count, c->m->samples),
                  rp_model_ms(f->cum_ns), h(c, f->name));
    put_where(c, f);
    put(c, "</td></tr></tbody></table>\n");
}

static void edges_table(const rp_render_t *c, apr_uint32_t f, int callers)
{
    const rp_model_t *m = c->m;
    apr_array_header_t *edges = rp_model_edges(c->p, m, f, callers);
    const char *view = callers ? "callers" : "callees";
    const char *requests = href(c, rp_report_link(c, "view", "requests",
                                                  NULL));
    tpl_t fn_link, uri_link;
    int i;

    /* Links per row from templates cut once: a function may have
     * thousands of callers. */
    tpl_make(c, &fn_link, view, "func", NULL, NULL);
    tpl_make(c, &uri_link, "functions", "uri", "func", NULL);
    rp_out_printf(c->out, "<h3>%s</h3>\n<table class=\"data edges\" "
                  "id=\"%s-%u\"><thead><tr><th class=\"num\">samples</th>"
                  "<th class=\"num\">%%</th><th class=\"num\">est. ms</th>"
                  "<th>%s</th><th>file</th></tr></thead><tbody>\n",
                  callers ? "Called by" : "Calls", view, f,
                  callers ? "caller" : "callee");
    for (i = 0; i < edges->nelts; i++) {
        const rp_edge_t *e = &((rp_edge_t *)edges->elts)[i];
        const rp_func_t *g = rp_model_func(m, e->func);
        rp_out_printf(c->out, "<tr><td class=\"num\">%" APR_UINT64_T_FMT
                      "</td><td class=\"num\">%.2f%%</td><td class=\"num\">"
                      "%.2f</td><td class=\"fn\">", e->count,
                      rp_model_pct(e->count, m->samples), rp_model_ms(e->ns));
        if (is_uri(g)) {
            /* The outermost frame's caller is the request itself. */
            put(c, "request <a href=\"");
            tpl_put(c, &uri_link, g->name);
            put(c, "\" class=\"uri\" title=\"the functions of this URI\">");
            put_h(c, g->name);
            put(c, "</a></td><td class=\"file\"><a href=\"");
            put(c, requests);
            put(c, "\">requests</a>");
        }
        else {
            put(c, "<a href=\"");
            tpl_put(c, &fn_link, g->name);
            put(c, "\">");
            put_h(c, g->name);
            put(c, "</a></td><td class=\"file\">");
            put_where(c, g);
        }
        put(c, "</td></tr>\n");
    }
    if (!edges->nelts) {
        rp_out_printf(c->out, "<tr><td colspan=\"5\" class=\"muted\">none: "
                      "%s</td></tr>\n", callers
                      ? "not called from a sampled frame"
                      : "no sampled callee; all its time is self");
    }
    put(c, "</tbody></table>\n");
}

static void view_edges(const rp_render_t *c, int callers)
{
    const rp_model_t *m = c->m;
    apr_array_header_t *found;
    int i;

    profile_line(c);
    if (!c->o->func) {
        put(c, "<p class=\"hint\" id=\"pick\">Pick a function: every name "
            "in the ");
        link_to(c, rp_report_link(c, "view", "functions", NULL), NULL,
                "functions view");
        rp_out_printf(c->out, " links to its callers, and its "
                      "<em>callees</em> link to what it calls.</p>\n");
        return;
    }
    found = rp_model_find(c->p, m, c->o->func);
    if (!found->nelts) {
        rp_out_printf(c->out, "<p class=\"notice\" id=\"no-func\">No "
                      "function named <code>%s</code> in this profile%s. "
                      "Pick one in the ", h(c, c->o->func),
                      c->o->focus ? " (of the focused URI)" : "");
        link_to(c, rp_report_link(c, "view", "functions", "func", NULL,
                                  NULL), NULL, "functions view");
        put(c, ".</p>\n");
        return;
    }
    put(c, "<div class=\"tools\">");
    link_to(c, rp_report_link(c, "view", callers ? "callees" : "callers",
                              NULL), "id=\"flip\"",
            callers ? "what it calls &#8250;" : "&#8249; who calls it");
    link_to(c, rp_report_link(c, "view", "functions", "func", NULL, NULL),
            NULL, "all functions");
    put(c, "</div>\n");
    if (found->nelts > 1) {
        rp_out_printf(c->out, "<p class=\"hint\">%d functions have this "
                      "name (static functions of different objects); each "
                      "is shown.</p>\n", found->nelts);
    }
    for (i = 0; i < found->nelts; i++) {
        apr_uint32_t f = ((apr_uint32_t *)found->elts)[i];
        func_summary(c, rp_model_func(m, f));
        edges_table(c, f, callers);
    }
}

static void view_callers(const rp_render_t *c)
{
    view_edges(c, 1);
}

static void view_callees(const rp_render_t *c)
{
    view_edges(c, 0);
}

/* ------------------------------------------------------------------ */
/* Call tree: nested <details>, walked with an explicit stack */

/* A stack entry: a node to open, or (CLOSE) the end of one. */
typedef struct {
    apr_uint32_t node;
    int close;
} walk_t;

static void min_form(const rp_render_t *c, const char *id)
{
    static const char *const mine[] = { "min", NULL };

    form_get(c, id);
    hidden_state(c, mine);
    rp_out_printf(c->out, "<label>hide nodes under <input type=\"number\" "
                  "name=\"min\" min=\"0\" max=\"100\" step=\"any\" "
                  "value=\"%g\"> %% of the samples</label>"
                  "<button>Apply</button></form>\n", c->o->min_pct);
}

/* Nodes with this share of the samples or more start open: the hot
 * paths show at once, and at most 1/share of the nodes of a level do. */
#define TREE_OPEN_SHARE 0.2

static void tree_node(const rp_render_t *c, const rp_tnode_t *t, int leaf)
{
    const rp_model_t *m = c->m;
    const rp_func_t *f = rp_model_func(m, t->func);
    int uri = is_uri(f);
    int open = !leaf && (double)t->total_count
                        >= TREE_OPEN_SHARE * (double)m->samples;

    rp_out_printf(c->out, "<details class=\"node%s%s\"%s><summary>"
                  "<span class=\"fn\">", uri ? " uri" : "",
                  leaf ? " leaf" : "", open ? " open" : "");
    put_h(c, f->name);
    put(c, "</span><span class=\"obj\">");
    if (!uri) {
        put_h(c, rp_model_base_name(f->object));
    }
    rp_out_printf(c->out, "</span><span class=\"n\">%" APR_UINT64_T_FMT
                  "</span><span class=\"p\">%.1f%%</span>"
                  "<span class=\"ms\">%.1f</span>"
                  "<span class=\"s\">%" APR_UINT64_T_FMT "</span>"
                  "</summary>\n", t->total_count,
                  rp_model_pct(t->total_count, m->samples),
                  rp_model_ms(t->total_ns), t->self_count);
}

/* The tree itself, every level however deep; the tree view and a
 * request's page. */
static void tree_body(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    double min = c->o->min_pct * (double)m->samples;
    apr_array_header_t *stack = apr_array_make(c->p, 256, sizeof(walk_t));
    apr_array_header_t *kids = apr_array_make(c->p, 64,
                                              sizeof(apr_uint32_t));
    int shown = 0, pruned = 0, i;
    walk_t *w;

    put(c, "<div class=\"tools\"><button type=\"button\" data-tree=\"open\" "
        "id=\"expand-all\" hidden>expand all</button><button type=\"button\" "
        "data-tree=\"close\" id=\"collapse-all\" hidden>collapse all"
        "</button><span class=\"muted\">largest first; nodes with 20% of "
        "the samples or more start open</span></div>\n");
    put(c, "<div id=\"tree\"><div class=\"row\"><span class=\"fn\">"
        "function</span><span class=\"obj\">object</span><span "
        "class=\"n\" title=\"samples in it and below\">samples</span>"
        "<span class=\"p\">share</span><span class=\"ms\" title=\""
        "estimated time in it and below\">est. ms</span><span "
        "class=\"s\" title=\"samples in the function itself\">self"
        "</span></div>\n");
    w = apr_array_push(stack);
    w->node = 0;
    w->close = 0;
    while (stack->nelts) {
        walk_t e = ((walk_t *)stack->elts)[--stack->nelts];
        int k;
        if (e.close) {
            put(c, "</details>\n");
            continue;
        }
        /* The children of this node only: the stack holds what is left
         * of each level of the path. */
        kids->nelts = 0;
        rp_model_children_push(m, e.node, kids);
        if (e.node != 0) {
            tree_node(c, rp_model_node(m, e.node), kids->nelts == 0);
            w = apr_array_push(stack);
            w->node = e.node;
            w->close = 1;
            shown++;
        }
        /* Pushed in reverse, so the biggest child comes out first. */
        for (k = kids->nelts - 1; k >= 0; k--) {
            apr_uint32_t n = ((apr_uint32_t *)kids->elts)[k];
            const rp_tnode_t *t = rp_model_node(m, n);
            if (!t->total_count || (double)t->total_count * 100.0 < min) {
                pruned++;
                continue;
            }
            w = apr_array_push(stack);
            w->node = n;
            w->close = 0;
        }
    }
    put(c, "</div>\n");
    i = m->nodes->nelts - 1 - shown;
    rp_out_printf(c->out, "<p class=\"hint\" id=\"pruned\">%d nodes shown; "
                  "%d nodes in %d subtrees hidden (under %g%% of the "
                  "samples, or without samples).</p>\n", shown, i, pruned,
                  c->o->min_pct);
    if (!shown) {
        put(c, "<p class=\"hint\" id=\"empty\">No samples yet.</p>\n");
    }
}

static void view_tree(const rp_render_t *c)
{
    profile_line(c);
    min_form(c, "min-form");
    tree_body(c);
}

/* ------------------------------------------------------------------ */
/* Flame graph */

static void view_flame(const rp_render_t *c)
{
    profile_line(c);
    min_form(c, "min-form");
    put(c, "<div class=\"tools\">");
    link_to(c, rp_report_link(c, "icicle", c->o->icicle ? NULL : "1", NULL),
            "id=\"icicle-toggle\"", c->o->icicle ? "flame graph (roots at "
                                                   "the bottom)"
                                                 : "icicle (roots at the "
                                                   "top)");
    link_to(c, rp_report_link(c, "format", "svg", "view", NULL, NULL),
            "id=\"flame-download\" download", "download SVG");
    link_to(c, rp_report_link(c, "format", "collapsed", "view", NULL, NULL),
            NULL, "folded stacks");
    put(c, "</div>\n<div id=\"flame-box\">\n");
    rp_report_flame_svg(c, 1);
    put(c, "</div>\n");
}

/* ------------------------------------------------------------------ */
/* Requests: the kept ones, then the URIs, then the ring of recent ones */

/* Age classes of a kept request's time against the snapshot's, for its
 * row's shading (page.css): under a minute, ten, an hour, older. */
static const apr_interval_time_t ages[] = { APR_USEC_PER_SEC * 60,
                                            APR_USEC_PER_SEC * 600,
                                            APR_USEC_PER_SEC * 3600 };
#define NAGES ((int)(sizeof(ages) / sizeof(ages[0])))

static int age_class(const rp_render_t *c, apr_time_t t)
{
    apr_time_t now = c->m->info->taken;
    int i;

    for (i = 0; i < NAGES && now - t >= ages[i]; i++) {
    }
    return i;
}

/* The filters of the list, a GET form that keeps the other options;
 * every field holds a valid value without the script, too. */
static void kept_form(const rp_render_t *c)
{
    static const char *const mine[] = { "uri_match", "status", "min_ms",
                                        NULL };
    static const char *const classes[] = { "",    "1xx", "2xx", "3xx",
                                           "4xx", "5xx", NULL };
    const rp_view_opts_t *o = c->o;
    const char *cur = state_value(c, "status");
    int i;

    put(c, "<div class=\"filters\">");
    form_get(c, "kept-filter");
    hidden_state(c, mine);
    rp_out_printf(c->out,
                  "<label>URI matches <input type=\"text\" "
                  "name=\"uri_match\" size=\"24\" value=\"%s\" "
                  "placeholder=\"regex, e.g. ^/api/\"></label>"
                  "<label>status <select name=\"status\">",
                  h(c, o->uri_match));
    for (i = 0; classes[i]; i++) {
        rp_out_printf(c->out, "<option value=\"%s\"%s>%s</option>",
                      classes[i],
                      strcmp(classes[i], cur) == 0 ? " selected" : "",
                      *classes[i] ? classes[i] : "any");
    }
    if (*cur && cur[1] != 'x') {
        /* One status, asked for by hand: keep it selected. */
        rp_out_printf(c->out, "<option value=\"%s\" selected>%s</option>",
                      cur, cur);
    }
    rp_out_printf(c->out,
                  "</select></label><label>at least <input "
                  "type=\"number\" name=\"min_ms\" min=\"0\" step=\"any\" "
                  "value=\"%g\"> ms</label><button>Apply</button></form>"
                  "</div>\n",
                  o->min_ms);
}

/* The wall time as a bar, the CPU time within it, to the list's
 * slowest: the eye finds the slow ones without reading figures. */
static void cost_bar(const rp_render_t *c, const rp_kept_t *k,
                     apr_int64_t most)
{
    double wall = most > 0 ? 100.0 * (double)k->wall_us / (double)most : 0;
    double cpu = most > 0 ? 100.0 * (double)k->cpu_us / (double)most : 0;

    rp_out_printf(c->out,
                  "<svg class=\"cost\" width=\"100\" height=\"10\" "
                  "viewBox=\"0 0 100 10\"><title>wall %.2f ms, CPU %.2f ms"
                  "</title><rect width=\"%.1f\" height=\"10\" "
                  "fill=\"#bcd3f0\"/><rect width=\"%.1f\" height=\"10\" "
                  "fill=\"#0969da\"/></svg>",
                  (double)k->wall_us / 1000.0, (double)k->cpu_us / 1000.0,
                  wall, cpu < wall ? cpu : wall);
}

#define NOTHING_KEPT                                                         \
    "none kept yet: ReqProfKeep keeps whole requests, the most recent by "   \
    "default"

static void kept_table(const rp_render_t *c)
{
    const rp_kept_col_t *cur, *col;
    apr_array_header_t *rows;
    apr_uint64_t kept = c->m->counters[RP_CTR_KEPT];
    apr_uint64_t full = c->m->counters[RP_CTR_KEPT_FULL];
    apr_int64_t most = 0;
    tpl_t to;
    int total, rev, i;

    rows = rp_report_kept(c, &total);
    cur = rp_report_kept_order(c->o->order, &rev);
    put(c, "<h2>Kept requests</h2>\n<p class=\"hint\">Whole requests each "
           "child keeps (ReqProfKeep): the most recent, the slowest of each "
           "URI and the latest server errors. Each links to its own profile: "
           "its timeline, and how it differs from the typical request of its "
           "URI.</p>\n");
    kept_form(c);
    rp_out_printf(c->out,
                  "<p class=\"hint\" id=\"kept-counts\">showing <span "
                  "data-key=\"shown\">%d</span> of <span "
                  "data-key=\"held\">%d</span> kept requests; ",
                  rows->nelts, total);
    rp_out_printf(c->out, "<span data-key=\"kept\">%" APR_UINT64_T_FMT, kept);
    rp_out_printf(c->out,
                  "</span> kept since the last clear, <span "
                  "data-key=\"kept_full\"%s>",
                  full ? " class=\"bad\"" : "");
    rp_out_printf(c->out, "%" APR_UINT64_T_FMT, full);
    put(c, "</span> requests could not be kept for lack of room</p>\n");
    for (i = 0; i < rows->nelts; i++) {
        const rp_kept_t *k = ((const rp_kept_t **)rows->elts)[i];
        most = k->wall_us > most ? k->wall_us : most;
    }
    put(c, "<table class=\"data\" id=\"kept\"><thead><tr>");
    for (col = rp_report_kept_cols; col->key; col++) {
        int on = col == cur;
        int down = on && col->numeric != rev;
        rp_out_printf(c->out,
                      "<th class=\"%s%s\" data-col=\"%s\"%s "
                      "title=\"%s\">",
                      col->numeric && col != rp_report_kept_cols ? "num" : "",
                      on ? " sorted" : "", col->key,
                      !on    ? ""
                      : down ? " aria-sort=\"descending\""
                             : " aria-sort=\"ascending\"",
                      h(c, col->title));
        /* The sorted column's head turns its order round. */
        link_to(c,
                rp_report_link(c, "order",
                               on && !rev
                                   ? apr_pstrcat(c->p, "-", col->key, NULL)
                                   : col->key,
                               NULL),
                NULL,
                apr_pstrcat(c->p, h(c, col->head),
                            !on    ? ""
                            : down ? " &#9660;"
                                   : " &#9650;",
                            NULL));
        put(c, "</th>");
    }
    put(c, "<th title=\"wall time, the CPU time within it darker, against "
           "the slowest shown\">cost</th></tr></thead><tbody>\n");
    tpl_make(c, &to, "request", "id", NULL, NULL);
    for (i = 0; i < rows->nelts; i++) {
        const rp_kept_t *k = ((const rp_kept_t **)rows->elts)[i];
        int age = age_class(c, k->time);
        rp_out_printf(c->out, "<tr class=\"kept age%d%s\" data-id=\"%s\">",
                      age, k->status >= 500 ? " err" : "", h(c, k->id));
        for (col = rp_report_kept_cols; col->key; col++) {
            const char *v = col->text(c->p, k);
            if (col == rp_report_kept_cols) {
                rp_out_printf(c->out,
                              "<td class=\"t\" title=\"%.0f s "
                              "before the snapshot\"><a href=\"",
                              (double)(c->m->info->taken - k->time)
                                  / APR_USEC_PER_SEC);
                tpl_put(c, &to, k->id);
                put(c, "\">");
                put_h(c, v);
                put(c, "</a></td>");
            }
            else if (strcmp(col->key, "uri") == 0) {
                put(c, "<td class=\"fn\"><a href=\"");
                tpl_put(c, &to, k->id);
                put(c, "\">");
                put_h(c, v);
                put(c, "</a></td>");
            }
            else {
                put(c, col->numeric ? "<td class=\"num\">" : "<td>");
                put_h(c, v);
                put(c, "</td>");
            }
        }
        put(c, "<td>");
        cost_bar(c, k, most);
        put(c, "</td></tr>\n");
    }
    if (!rows->nelts) {
        rp_out_printf(c->out,
                      "<tr><td colspan=\"11\" class=\"muted\">%s"
                      "</td></tr>\n",
                      total ? "none passes the filters" : NOTHING_KEPT);
    }
    put(c, "</tbody></table>\n");
}

static void view_requests(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    tpl_t focus;
    int i;

    profile_line(c);
    kept_table(c);
    tpl_make(c, &focus, "functions", "uri", "func", NULL);
    put(c, "<h2>URIs</h2>\n<p class=\"hint\">Requests and times are exact "
        "(measured per request); samples and estimated ms are the "
        "sampler's. A URI links to its functions.</p>\n"
        "<table class=\"data\" id=\"uris\"><thead><tr><th>URI</th>"
        "<th class=\"num\">requests</th><th class=\"num\">samples</th>"
        "<th class=\"num\">est. ms</th><th class=\"num\" title=\"est. ms "
        "as a share of the exact time the timer measures (wall for real, "
        "CPU for cpu)\">covered</th><th class=\"num\">wall ms mean</th>"
        "<th class=\"num\">wall ms max</th><th class=\"num\">wall ms total"
        "</th><th class=\"num\">CPU ms mean</th><th class=\"num\">CPU ms "
        "max</th><th class=\"num\">CPU ms total</th></tr></thead><tbody>\n");
    for (i = 0; i < m->uris->nelts; i++) {
        const rp_model_uri_t *u = &((rp_model_uri_t *)m->uris->elts)[i];
        put(c, "<tr><td class=\"fn\"><a href=\"");
        tpl_put(c, &focus, u->uri);
        put(c, "\">");
        put_h(c, u->uri);
        rp_out_printf(c->out, "</a></td><td class=\"num\">%"
                      APR_UINT64_T_FMT "</td><td class=\"num\">%"
                      APR_UINT64_T_FMT "</td>"
                      "<td class=\"num\">%.1f</td>", u->requests,
                      u->samples, rp_model_ms(u->weight_ns));
        covered_cell(c, u);
        rp_out_printf(c->out, "<td class=\"num\">%.2f</td>"
                      "<td class=\"num\">%.2f</td><td class=\"num\">%.1f</td>"
                      "<td class=\"num\">%.2f</td><td class=\"num\">%.2f</td>"
                      "<td class=\"num\">%.1f</td></tr>\n",
                      mean_ms(u->sum_wall_us, u->requests),
                      us_ms(u->max_wall_us), us_ms(u->sum_wall_us),
                      mean_ms(u->sum_cpu_us, u->requests),
                      us_ms(u->max_cpu_us), us_ms(u->sum_cpu_us));
    }
    if (!m->uris->nelts) {
        put(c, "<tr><td colspan=\"11\" class=\"muted\">no profiled request "
            "yet</td></tr>\n");
    }
    put(c, "</tbody></table>\n");

    put(c, "<h2>Recent requests</h2>\n<p class=\"hint\">Every profiled "
           "request, kept or not, newest first.</p>\n"
           "<table class=\"data\" id=\"recent\">"
           "<thead><tr><th>time</th><th>method</th><th>URI</th>"
           "<th class=\"num\">status</th><th class=\"num\">wall ms</th>"
           "<th class=\"num\">CPU ms</th><th class=\"num\">samples</th>"
           "</tr></thead><tbody>\n");
    for (i = 0; i < m->recent->nelts; i++) {
        const rp_recent_t *x = ((const rp_recent_t **)m->recent->elts)[i];
        rp_out_printf(c->out, "<tr><td>%s</td><td>", fmt_time(c, x->time));
        put_h(c, x->method);
        put(c, "</td><td class=\"fn\"><a href=\"");
        tpl_put(c, &focus, x->uri);
        put(c, "\">");
        put_h(c, x->uri);
        rp_out_printf(c->out, "</a></td><td class=\"num\">%d</td>"
                      "<td class=\"num\">%.2f</td><td class=\"num\">%.2f</td>"
                      "<td class=\"num\">%u</td></tr>\n", x->status,
                      (double)x->wall_us / 1000.0,
                      (double)x->cpu_us / 1000.0, x->samples);
    }
    if (!m->recent->nelts) {
        put(c, "<tr><td colspan=\"7\" class=\"muted\">none yet</td></tr>\n");
    }
    put(c, "</tbody></table>\n");
}

/* ------------------------------------------------------------------ */
/* One request: what it was, when its time went, how it differs from
 * the typical request of its URI, and its profile */

/* Rows of this many frames at most in the table of what stands out. */
#define DIFF_ROWS 10

/* The frames with RP_DIFF_MARK points more of the samples than typical,
 * the most first: what the red of the graph says, in figures. */
static void diff_table(const rp_render_t *c, const rp_diff_t *d)
{
    apr_array_header_t *order = rp_report_diff_order(c, d);
    int i, rows = 0;

    put(c, "<table class=\"data\" id=\"diff-top\"><thead><tr><th>function"
           "</th><th>called from</th><th class=\"num\" title=\"share of this "
           "request's samples\">this request</th><th class=\"num\" "
           "title=\"share of the URI's samples, over all its requests\">"
           "typical</th><th class=\"num\">difference</th></tr></thead>"
           "<tbody>\n");
    for (i = 0; i < order->nelts && rows < DIFF_ROWS; i++) {
        apr_uint32_t n = ((apr_uint32_t *)order->elts)[i];
        const rp_tnode_t *t = rp_model_node(c->m, n);
        const rp_tnode_t *up = rp_model_node(c->m, t->parent);
        double delta = d->share[n] - d->typical[n];
        if (delta < RP_DIFF_MARK) {
            break;
        }
        rows++;
        put(c, "<tr class=\"more\"><td class=\"fn\">");
        put_h(c, rp_model_func(c->m, t->func)->name);
        put(c, "</td><td class=\"fn\">");
        put_h(c, up->func == RP_MODEL_NONE
                     ? ""
                     : rp_model_func(c->m, up->func)->name);
        rp_out_printf(c->out,
                      "</td><td class=\"num\">%.1f%%</td>"
                      "<td class=\"num\">%.1f%%</td><td class=\"num\">"
                      "%+.1f</td></tr>\n",
                      d->share[n], d->typical[n], delta);
    }
    if (!rows) {
        rp_out_printf(c->out,
                      "<tr><td colspan=\"5\" class=\"muted\">"
                      "nothing stands out: no frame has %g points more of "
                      "the samples than typical</td></tr>\n",
                      RP_DIFF_MARK);
    }
    put(c, "</tbody></table>\n");
}

static void view_request(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    const rp_kept_t *k = m->request;
    const rp_fact_section_t *s;
    const rp_diff_t *d;
    int n, i;

    if (!k) {
        put(c, "<p class=\"notice\" id=\"no-request\">No request chosen: "
               "pick one in the ");
        link_to(c,
                rp_report_link(c, "view", "requests", "id", NULL, "req", NULL,
                               NULL),
                NULL, "list of kept requests");
        put(c, ".</p>\n");
        return;
    }
    put(c, "<div class=\"tools\">");
    link_to(c,
            rp_report_link(c, "view", "requests", "id", NULL, "req", NULL,
                           NULL),
            "id=\"to-list\"", "&#8249; all kept requests");
    link_to(c,
            rp_report_link(c, "view", "functions", "id", NULL, "req", NULL,
                           "uri", k->uri, NULL),
            "id=\"to-uri\"", "the profile of its URI");
    put(c, "</div>\n");
    s = rp_report_request_facts(c, &n);
    /* The request first; its headers go last, they are long. */
    rp_out_printf(c->out, "<h2>Request <code>%s</code></h2>\n", h(c, k->id));
    fact_rows(c, &s[0]);

    put(c, "<h2>Timeline</h2>\n<p class=\"hint\">Its wall time left to "
           "right: the lane on top says when it ran on a CPU (green) and "
           "when "
           "it was blocked or waiting (grey); below, its stacks in time "
           "order, "
           "the URI at the top. Hover for the stacks.</p>\n"
           "<div id=\"timeline-box\">\n");
    rp_report_timeline_svg(c);
    put(c, "</div>\n");

    d = rp_report_diff(c);
    put(c, "<h2>Compared with typical</h2>\n");
    if (d) {
        rp_out_printf(c->out,
                      "<p class=\"hint\" id=\"typical\">Each frame "
                      "as wide as in this request, red where it took more "
                      "of the request's samples than it takes of the "
                      "%" APR_UINT64_T_FMT " samples of its URI's "
                      "%" APR_UINT64_T_FMT " requests (this one among them), "
                      "blue where less. Frames %g points or more above "
                      "typical:</p>\n",
                      d->base_samples, d->base_requests, RP_DIFF_MARK);
        diff_table(c, d);
        put(c, "<div id=\"diff-box\">\n");
        rp_report_flame_diff_svg(c, d);
        put(c, "</div>\n");
    }
    else {
        put(c, "<p class=\"hint\" id=\"typical\">No profile of its URI "
               "to compare with.</p>\n");
    }

    put(c, "<h2>Flame graph</h2>\n<div id=\"flame-box\">\n");
    rp_report_flame_svg(c, 1);
    put(c, "</div>\n<h2>Functions</h2>\n");
    functions_table(c);
    put(c, "<h2>Call tree</h2>\n");
    tree_body(c);
    for (i = 1; i < n; i++) {
        rp_out_printf(c->out, "<h2>%s</h2>\n", h(c, s[i].title));
        if (s[i].note) {
            rp_out_printf(c->out, "<p class=\"hint\">%s</p>\n",
                          h(c, s[i].note));
        }
        fact_table(c, &s[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Explain */

static void view_explain(const rp_render_t *c)
{
    const rp_explain_view_t *x = c->page->explain;
    const rp_page_t *pg = c->page;

    put(c, "<h2>Would this path be profiled?</h2>\n");
    form_get(c, "explain-form");
    rp_out_printf(c->out, "<input type=\"hidden\" name=\"view\" "
                  "value=\"explain\"><label>path <input type=\"text\" "
                  "name=\"explain\" size=\"50\" required pattern=\"/.*\" "
                  "value=\"%s\" placeholder=\"/some/path\"></label>"
                  "<button>Explain</button></form>\n",
                  x ? h(c, x->given) : "");
    if (!pg->configured_enabled) {
        put(c, "<p class=\"notice\" id=\"off\">Profiling is off in the "
            "configuration (ReqProf Off): nothing is profiled until it is "
            "switched on.</p>\n");
    }
    if (!x) {
        put(c, "<p class=\"hint\">Give a request path as the client sends "
            "it; the answer names the rule that decides, for this host.</p>"
            "\n");
        return;
    }
    put(c, "<table class=\"kv\" id=\"explain\">\n");
    kv_row(c, "path", apr_pstrcat(c->p, "<code>", h(c, x->given), "</code>",
                                  NULL));
    kv_row(c, "as matched", apr_pstrcat(c->p, "<code>", h(c, x->path),
                                        "</code>", NULL));
    if (x->bad_escape) {
        kv_row(c, "warning", "<span class=\"bad\">the path has a bad "
               "%-escape; httpd would answer it with 400 before any "
               "profiling</span>");
    }
    kv_row(c, "host", h(c, pg->host));
    kv_row(c, "decision", apr_pstrcat(c->p, "<b id=\"decision\" class=\"",
                                      x->e.profile ? "ok" : "bad", "\">",
                                      h(c, rp_report_why(c->p, x)), "</b>",
                                      NULL));
    if (x->e.pattern) {
        kv_row(c, "rule", apr_psprintf(c->p, "%s #%d <code>%s</code> at %s",
                                       rp_filter_kind_name(x->e.kind),
                                       x->e.index + 1, h(c, x->e.pattern),
                                       h(c, x->e.where)));
    }
    if (x->e.limit_hits) {
        kv_row(c, "limit hits", apr_psprintf(c->p, "%d pattern(s) hit the "
                                             "match limit and counted as "
                                             "no match", x->e.limit_hits));
    }
    put(c, "</table>\n");
}

/* ------------------------------------------------------------------ */

/* In rp_view_e order; all but explain and now read the model. */
/* clang-format off */
static void (*const views[RP_VIEW_COUNT])(const rp_render_t *c) = {
    view_overview, view_functions, view_callers, view_callees, view_tree,
    view_flame, view_requests, view_request, view_explain,
    rp_report_now_html
};
/* clang-format on */

void rp_report_html(const rp_render_t *c)
{
    header(c);
    if (c->m || RP_VIEW_NO_MODEL(c->o->view)) {
        views[c->o->view](c);
    }
    footer(c);
}
