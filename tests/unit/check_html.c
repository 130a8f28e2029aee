/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of rp_report_html, the page's renderer, on synthetic models
 * (rp_model_from_folded) written into a buffer sink: every view renders
 * and balances its elements; a function named like markup and a URI with
 * invalid UTF-8 come out escaped in every view; links carry their values
 * URL- then HTML-escaped (the per-row link templates give the same link
 * as rp_report_link); the sort key orders the rows; the call tree shows
 * every level, however deep, and prunes by ?min=; the page has no inline
 * style or event handler (the CSP would refuse them) and its own style
 * and script carry the CSP nonce; the control forms exist only with a
 * nonce and carry it; the overview's facts (rp_report_overview) show in
 * html, text and json alike, each with its label, key and value.  And
 * every answer, of every format, renders a large profile of hostile names
 * in a few MB of pool whatever it writes (measured with unit_heap.h, no
 * time bound).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "rp_escape.h"
#include "rp_report.h"

#include "unit_heap.h"
#include "unit_main.h"
#include "unit_pool.h"

#define EVIL_FUNC "<script>alert(1)</script>"
#define EVIL_URI  "/x\xff\xfe"

static const char *const folded[] = {
    "/spin;main@/usr/sbin/apache2;ap_run_handler@/usr/sbin/apache2;"
        "fixture_spin_a@/usr/lib/mod_fixture.so 60",
    "/spin;main@/usr/sbin/apache2;ap_run_handler@/usr/sbin/apache2;"
        "fixture_spin_b@/usr/lib/mod_fixture.so 30",
    "/spin;main@/usr/sbin/apache2;zz_small@/lib/libz.so 5",
    "/x\xff\xfe;main@/usr/sbin/apache2;" EVIL_FUNC "@/lib/evil\"'.so 7",
    "/x\xff\xfe;main@/usr/sbin/apache2;a&b c@/lib/amp.so 3",
};
#define NFOLDED ((int)(sizeof(folded) / sizeof(folded[0])))

typedef struct {
    rp_view_opts_t o;
    rp_page_t page;
    rp_render_t c;
    rp_out_t out;
} fix_t;

static fix_t *fix_new(const rp_model_t *m, rp_view_e view)
{
    fix_t *f = apr_pcalloc(pool, sizeof(*f));

    f->o.view = view;
    f->o.select.sort = "self";
    f->page.self = "/reqprof";
    f->page.csp_nonce = "CSPn0nce+/=";
    f->page.version = "0.test";
    f->page.host = "test.example:80";
    f->page.configured_enabled = 1;
    f->page.max_depth = 64;
    f->page.signame = "SIGPROF";
    f->page.signo = 27;
    f->page.memory = 1 << 20;
    f->page.slot = 0;
    f->c.m = m;
    f->c.o = &f->o;
    f->c.page = &f->page;
    f->c.out = &f->out;
    f->c.p = pool;
    return f;
}

static const char *render(fix_t *f)
{
    rp_out_buffer(&f->out, pool);
    rp_report_html(&f->c);
    ck_assert_uint_eq(strlen(f->out.buf), f->out.len);
    return f->out.buf;
}

static rp_model_t *model(void)
{
    rp_model_t *m = rp_model_from_folded(pool, folded, NFOLDED, 1000000);
    rp_model_uri_t *u;
    rp_recent_t *r;

    /* A synthetic model has no URI table or ring: give it one of each,
     * with the hostile URI, so the requests view has rows. */
    u = apr_array_push(m->uris);
    memset(u, 0, sizeof(*u));
    u->uri = EVIL_URI;
    u->requests = 2;
    u->samples = 10;
    u->weight_ns = 10000000;
    u->sum_wall_us = 3000;
    u->max_wall_us = 2000;
    r = apr_pcalloc(pool, sizeof(*r));
    r->time = apr_time_from_sec(1700000000);
    r->method = "G<E>T";
    r->uri = EVIL_URI;
    r->status = 404;
    r->wall_us = 1500;
    *(const rp_recent_t **)apr_array_push(m->recent) = r;
    return m;
}

/* The next NEEDLE in HAY.  By hand: ASan's strstr measures the whole
 * haystack on every call, which makes a count over a large page
 * quadratic. */
static const char *next(const char *hay, const char *needle)
{
    apr_size_t n = strlen(needle);

    for (; *hay; hay++) {
        if (*hay == *needle && strncmp(hay, needle, n) == 0) {
            return hay;
        }
    }
    return NULL;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    const char *s;

    for (s = next(hay, needle); s; s = next(s + 1, needle)) {
        n++;
    }
    return n;
}

/* Offset of NEEDLE in HAY, failing when absent. */
static long at(const char *hay, const char *needle)
{
    const char *s = strstr(hay, needle);

    ck_assert_msg(s != NULL, "'%s' not in the page", needle);
    return (long)(s - hay);
}

/* What every page must satisfy whatever it shows. */
static void check_page(const char *html)
{
    const char *s;

    ck_assert_msg(strncmp(html, "<!doctype html>", 15) == 0, "no doctype");
    ck_assert_ptr_nonnull(strstr(html, "<meta charset=\"utf-8\">"));
    ck_assert_ptr_nonnull(strstr(html, "</html>"));
    /* The CSP refuses inline style attributes and event handlers. */
    ck_assert_ptr_null(strstr(html, "style=\""));
    for (s = next(html, " on"); s; s = next(s + 1, " on")) {
        const char *e = s + 3;
        while (*e >= 'a' && *e <= 'z') {
            e++;
        }
        ck_assert_msg(*e != '=', "an inline handler at '%.40s'", s);
    }
    ck_assert_ptr_null(strstr(html, "javascript:"));
    /* Only the page's own style and script, with the nonce. */
    ck_assert_int_eq(count(html, "<style"),
                     count(html, "<style nonce=\"CSPn0nce+/=\">"));
    ck_assert_int_eq(count(html, "<script"),
                     count(html, "<script nonce=\"CSPn0nce+/=\">"));
    ck_assert_int_ge(count(html, "<script"), 1);
    /* Never the raw markup or bytes of a request or a binary. */
    ck_assert_ptr_null(strstr(html, EVIL_FUNC));
    ck_assert_ptr_null(strstr(html, "\xff"));
    ck_assert_ptr_null(strstr(html, "evil\"'"));
    /* Elements that nest are balanced. */
    ck_assert_int_eq(count(html, "<details"), count(html, "</details>"));
    ck_assert_int_eq(count(html, "<table"), count(html, "</table>"));
    ck_assert_int_eq(count(html, "<form"), count(html, "</form>"));
    ck_assert_int_eq(count(html, "<a "), count(html, "</a>"));
}

/* ------------------------------------------------------------------ */

START_TEST(test_every_view_renders)
{
    rp_model_t *m = model();
    rp_explain_view_t x;
    int v;

    for (v = 0; v < RP_VIEW_COUNT; v++) {
        fix_t *f = fix_new(v == RP_VIEW_EXPLAIN ? NULL : m, (rp_view_e)v);
        const char *html;
        int i;
        if (v == RP_VIEW_REQUEST) {
            /* An id the model has no request of: the page says so. */
            f->o.req = "gone-1";
        }
        if (v == RP_VIEW_CALLERS || v == RP_VIEW_CALLEES) {
            f->o.func = "main";
        }
        html = render(f);
        check_page(html);
        /* Links to every view, the other formats and the exports; one
         * request's page only once one is chosen. */
        for (i = 0; rp_report_view_names[i]; i++) {
            if (i == RP_VIEW_REQUEST && v != RP_VIEW_REQUEST) {
                ck_assert_ptr_null(strstr(html, "id=\"nav-request\""));
                continue;
            }
            at(html, apr_psprintf(pool, "id=\"nav-%s\"",
                                  rp_report_view_names[i]));
        }
        at(html, "format=text");
        at(html, "format=json");
        at(html, "id=\"export-pprof\"");
        /* An export renders the whole profile and takes no view. */
        {
            long e = at(html, "\" id=\"export-pprof\"");
            long a = e;
            while (a > 0 && strncmp(html + a, "href=\"", 6) != 0) {
                a--;
            }
            ck_assert_msg(a > 0 && e - a < 400, "no href before export");
            ck_assert_ptr_null(strstr(apr_pstrndup(pool, html + a,
                                                   (apr_size_t)(e - a)),
                                      "view="));
            ck_assert_int_eq(strncmp(html + e - 12, "format=pprof", 12), 0);
        }
        at(html, "format=callgrind");
        at(html, "aria-current=\"page\"");
    }
    memset(&x, 0, sizeof(x));
    x.given = "/a/../" EVIL_FUNC;
    x.path = "/" EVIL_FUNC;
    x.e.why = RP_WHY_EXCLUDED;
    x.e.pattern = "^/<b>";
    x.e.where = "httpd.conf:3";
    {
        fix_t *f = fix_new(NULL, RP_VIEW_EXPLAIN);
        const char *html;
        f->page.explain = &x;
        f->page.configured_enabled = 0;
        html = render(f);
        check_page(html);
        at(html, "an exclude pattern matches");
        at(html, "^/&lt;b&gt;");
        at(html, "httpd.conf:3");
        at(html, "id=\"off\"");
        /* The other formats answer the same question. */
        {
            /* <a href="...format=text..." id="fmt-text"> */
            const char *id = html + at(html, "\" id=\"fmt-text\"");
            const char *a = id;
            while (a > html && strncmp(a, "<a href=\"", 9) != 0) {
                a--;
            }
            ck_assert_ptr_nonnull(strstr(apr_pstrndup(pool, a, id - a),
                                         "explain=/a/../%3Cscript%3E"));
            ck_assert_ptr_nonnull(strstr(apr_pstrndup(pool, a, id - a),
                                         "&amp;format=text"));
        }
    }
}
END_TEST

START_TEST(test_hostile_strings_escaped)
{
    rp_model_t *m = model();
    static const rp_view_e views[] = {
        RP_VIEW_FUNCTIONS, RP_VIEW_CALLEES, RP_VIEW_TREE, RP_VIEW_REQUESTS
    };
    int i;

    for (i = 0; i < (int)(sizeof(views) / sizeof(views[0])); i++) {
        fix_t *f = fix_new(m, views[i]);
        const char *html;
        f->o.func = "main";
        html = render(f);
        check_page(html);
        if (views[i] != RP_VIEW_REQUESTS) {
            at(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
        }
        if (views[i] == RP_VIEW_TREE || views[i] == RP_VIEW_REQUESTS) {
            at(html, "/x\\xFF\\xFE");
        }
    }
    /* The object's quotes, in text and in the file column. */
    {
        fix_t *f = fix_new(m, RP_VIEW_FUNCTIONS);
        const char *html = render(f);
        at(html, "/lib/evil&quot;&#39;.so");
        /* A link's value: URL-escaped, then the href HTML-escaped. */
        at(html, "func=%3Cscript%3Ealert%281%29%3C/script%3E");
    }
    /* Request method and focus link of the requests view. */
    {
        fix_t *f = fix_new(m, RP_VIEW_REQUESTS);
        const char *html = render(f);
        at(html, "G&lt;E&gt;T");
        at(html, "uri=/x%FF%FE");
        at(html, "id=\"uris\"");
        at(html, "id=\"recent\"");
        at(html, "2023-11-14 22:13:20 UTC");
    }
    /* A focus on a hostile URI, and a notice. */
    {
        fix_t *f = fix_new(m, RP_VIEW_FUNCTIONS);
        const char *html;
        f->o.focus = "/\"><script>alert(2)</script>";
        f->page.notice = "<b>notice</b>";
        html = render(f);
        check_page(html);
        ck_assert_ptr_null(strstr(html, "<script>alert(2)"));
        at(html, "&lt;b&gt;notice&lt;/b&gt;");
        at(html, "id=\"focus-clear\"");
        at(html, "uri=/%22%3E%3Cscript%3Ealert%282%29%3C/script%3E");
    }
}
END_TEST

START_TEST(test_row_links_match_report_link)
{
    rp_model_t *m = model();
    fix_t *f = fix_new(m, RP_VIEW_FUNCTIONS);
    const char *html, *want;

    /* Options before and after func in the link's order stay in place. */
    f->o.focus = "/spin";
    f->o.min_pct = 2.5;
    f->o.icicle = 1;
    f->o.strip_dirs = 1;
    html = render(f);
    want = rp_escape_html(pool, apr_pstrcat(pool, "/reqprof",
                          rp_report_link(&f->c, "view", "callers", "func",
                                         "a&b c", NULL), NULL));
    at(html, apr_pstrcat(pool, "href=\"", want, "\"", NULL));
    ck_assert_ptr_nonnull(strstr(want, "func=a%26b%20c&amp;min=2.5"
                                 "&amp;icicle=1"));
    want = rp_escape_html(pool, apr_pstrcat(pool, "/reqprof",
                          rp_report_link(&f->c, "view", "callees", "func",
                                         EVIL_FUNC, NULL), NULL));
    at(html, apr_pstrcat(pool, "href=\"", want, "\"", NULL));
}
END_TEST

START_TEST(test_sort_changes_order)
{
    rp_model_t *m = model();
    fix_t *f = fix_new(m, RP_VIEW_FUNCTIONS);
    const char *html;

    html = render(f);
    /* By self samples: spin_a (60) before spin_b (30) before zz (5). */
    ck_assert_int_lt(at(html, ">fixture_spin_a<"), at(html,
                                                      ">fixture_spin_b<"));
    ck_assert_int_lt(at(html, ">fixture_spin_b<"), at(html, ">zz_small<"));
    at(html, "data-key=\"self\" aria-sort=\"descending\"");
    at(html, "showing 7 of 7 functions");

    f->o.select.sort = "name";
    html = render(f);
    ck_assert_int_lt(at(html, "&lt;script&gt;"), at(html, ">a&amp;b c<"));
    ck_assert_int_lt(at(html, ">a&amp;b c<"), at(html, ">ap_run_handler<"));
    ck_assert_int_lt(at(html, ">fixture_spin_b<"), at(html, ">main<"));
    ck_assert_int_lt(at(html, ">main<"), at(html, ">zz_small<"));
    at(html, "data-key=\"name\" aria-sort=\"ascending\"");

    /* The alias marks the same column. */
    f->o.select.sort = "cumtime";
    html = render(f);
    at(html, "class=\"num sorted\" data-col=\"cum\"");
    ck_assert_int_lt(at(html, ">main<"), at(html, ">fixture_spin_a<"));

    /* Restrictions, and the header links that change the sort. */
    f->o.select.sort = "self";
    f->o.select.limit = 2;
    html = render(f);
    at(html, "showing 2 of 7 functions, restricted by at most 2 rows");
    ck_assert_ptr_null(strstr(html, ">zz_small<"));
    at(html, "href=\"/reqprof?view=functions&amp;sort=cumulative&amp;"
       "limit=2&amp;strip=0\"");
    at(html, "id=\"strip-toggle\"");
    at(html, "strip=1");
    at(html, "id=\"show-all\"");
}
END_TEST

START_TEST(test_tree_every_level)
{
    enum { DEPTH = 1500 };
    char *line = apr_palloc(pool, DEPTH * 12 + 32), *p = line;
    const char *lines[2];
    rp_model_t *m;
    fix_t *f;
    const char *html;
    int i;

    /* A chain deeper than any fixed limit a renderer might keep. */
    p += sprintf(p, "/deep");
    for (i = 0; i < DEPTH; i++) {
        p += sprintf(p, ";f%d@/o", i);
    }
    sprintf(p, " 10");
    lines[0] = line;
    lines[1] = "/deep;other@/lib/x.so 1";
    m = rp_model_from_folded(pool, lines, 2, 1000);
    f = fix_new(m, RP_VIEW_TREE);
    html = render(f);
    check_page(html);
    ck_assert_int_eq(count(html, "<details class=\"node"), DEPTH + 2);
    ck_assert_int_eq(count(html, "<details class=\"node uri"), 1);
    for (i = 0; i < DEPTH; i += 37) {
        at(html, apr_psprintf(pool, ">f%d<", i));
    }
    at(html, apr_psprintf(pool, ">f%d<", DEPTH - 1));
    /* Nesting: f1 opens inside f0, before f0 closes. */
    ck_assert_int_lt(at(html, ">f0<"), at(html, ">f1<"));
    ck_assert_int_lt(at(html, ">f1<"), at(html, ">other<"));
    at(html, "1502 nodes shown; 0 nodes in 0 subtrees");

    /* ?min= prunes a subtree under the threshold and says so. */
    f->o.min_pct = 50;
    html = render(f);
    check_page(html);
    ck_assert_ptr_null(strstr(html, ">other<"));
    at(html, "1 nodes in 1 subtrees hidden (under 50% of the samples");
}
END_TEST

START_TEST(test_callers_callees)
{
    rp_model_t *m = model();
    fix_t *f = fix_new(m, RP_VIEW_CALLERS);
    const char *html;

    html = render(f);
    at(html, "id=\"pick\"");

    f->o.func = "nosuch<x>";
    html = render(f);
    at(html, "No function named <code>nosuch&lt;x&gt;</code>");

    /* main's callers are the requests (URI pseudo-functions). */
    f->o.func = "main";
    html = render(f);
    check_page(html);
    at(html, "request <a href=\"/reqprof?view=functions&amp;sort=self&amp;"
       "limit=0&amp;strip=0&amp;uri=/spin\"");
    at(html, ">/x\\xFF\\xFE</a>");

    f->o.view = RP_VIEW_CALLEES;
    html = render(f);
    check_page(html);
    at(html, "Calls</h3>");
    /* Callees link to the callees view of each. */
    at(html, "view=callees&amp;sort=self&amp;limit=0&amp;strip=0&amp;"
       "func=ap_run_handler\">ap_run_handler</a>");
    /* ap_run_handler: 90 of 105 samples. */
    at(html, ">90</td><td class=\"num\">85.71%</td>");
}
END_TEST

START_TEST(test_controls_need_nonce)
{
    rp_model_t *m = model();
    fix_t *f = fix_new(m, RP_VIEW_FUNCTIONS);
    const char *html;

    html = render(f);
    ck_assert_ptr_null(strstr(html, "method=\"post\""));
    ck_assert_ptr_null(strstr(html, "btn-clear"));
    at(html, "id=\"total-samples\">105<");
    at(html, "id=\"total-ticks\">105<");

    f->page.nonce = "abc123";
    f->o.select.limit = 5;
    html = render(f);
    check_page(html);
    ck_assert_int_eq(count(html, "method=\"post\""), 4);
    ck_assert_int_eq(count(html, "name=\"nonce\" value=\"abc123\""), 4);
    ck_assert_int_eq(count(html, "name=\"back\" value=\"?view=functions"
                           "&amp;sort=self&amp;limit=5&amp;strip=0\""), 4);
    at(html, "id=\"btn-clear\" class=\"danger\" name=\"action\" "
       "value=\"clear\"");
    at(html, "id=\"btn-enable\"");      /* the zeroed settings: paused */
    at(html, "id=\"btn-timer\"");
    at(html, "id=\"btn-frequency\"");
    at(html, "name=\"timer\"");
    at(html, "name=\"frequency\" min=\"1\" max=\"10000\"");
    ck_assert_ptr_null(strstr(html, "id=\"btn-pause\""));
}
END_TEST

START_TEST(test_overview)
{
    rp_model_t *m = model();
    fix_t *f = fix_new(m, RP_VIEW_OVERVIEW);
    const char *html;

    html = render(f);
    check_page(html);
    at(html, "<td id=\"accounting\">ticks <span data-key=\"ticks\">105</span>"
       " = samples <span data-key=\"samples\">105</span> + buffer_full "
       "<span data-key=\"buffer_full\">0</span> + unwind_failed <span "
       "data-key=\"unwind_failed\">0</span> + other <span data-key=\""
       "other_dropped\">0</span>: <span data-key=\"adds_up\" class=\"ok\">"
       "adds up</span></td>");
    at(html, "id=\"total-requests\"");
    at(html, "<span data-key=\"signal\">SIGPROF</span> (<span data-key=\""
       "signo\">27</span>)");
    at(html, "id=\"children\"");
    at(html, "no child has stored data of this generation yet");
}
END_TEST

/* The overview of FORMAT. */
static const char *render_as(fix_t *f, const char *format)
{
    rp_out_buffer(&f->out, pool);
    rp_report_render(rp_report_format(format), &f->c);
    ck_assert_uint_eq(strlen(f->out.buf), f->out.len);
    return f->out.buf;
}

/* The line of HAY that NEEDLE starts (NEEDLE, which must be there, may
 * begin with the newline before it). */
static const char *line_of(const char *hay, const char *needle)
{
    const char *s = hay + at(hay, needle), *e;

    s += *s == '\n';
    e = strchr(s, '\n');

    return e ? apr_pstrndup(pool, s, (apr_size_t)(e - s)) : s;
}

/* Fact F of section S shows in all three: its label in the html and at
 * the start of a text line (a table's column head: in the head line),
 * its key with its value in the section's JSON (SECTION_JSON, one line),
 * its value for people in the html (marked with its key in rows) and in
 * the text. */
static void check_fact(const rp_fact_section_t *s, const rp_fact_t *f,
                       const rp_fact_t *head, const char *html,
                       const char *text, const char *section_json)
{
    const char *v = f->value ? f->value : "";
    const char *json = f->json ? f->json
                       : f->value ? apr_pstrcat(pool, "\"", rp_escape_json(
                                                pool, f->value), "\"", NULL)
                       : "null";

    if (head->label) {
        at(html, apr_pstrcat(pool, s->ncols ? ">" : "<th>",
                             rp_escape_html(pool, head->label), "</th>",
                             NULL));
        if (s->ncols) {
            at(line_of(text, "\nslot "), rp_escape_text(pool, head->label));
        }
        else {
            at(text, apr_pstrcat(pool, "\n", rp_escape_text(pool,
                                                            head->label),
                                 NULL));
        }
    }
    /* The test's filter: one include rule, no exclude rule. */
    if (f->kind == RP_FACT_RULES && f->rules == RP_RULE_INCLUDE) {
        at(section_json, apr_pstrcat(pool, "\"", f->key, "\": [{\"pattern\": "
                                     "\"^/spin\\u003c\", \"where\": \"test."
                                     "conf:7\"}]", NULL));
        at(html, apr_pstrcat(pool, "<span data-key=\"", f->key, "\"><code>"
                             "^/spin&lt;</code> <span class=\"muted\">"
                             "test.conf:7</span></span>", NULL));
        at(text, "\nReqProfInclude\n  #1   ^/spin<");
        return;
    }
    if (f->kind == RP_FACT_RULES) {
        at(section_json, apr_pstrcat(pool, "\"", f->key, "\": []", NULL));
        at(html, apr_pstrcat(pool, "<span data-key=\"", f->key, "\" "
                             "class=\"muted\">none</span>", NULL));
        at(text, "\nReqProfExclude   (none)\n");
        return;
    }
    if (f->kind == RP_FACT_FILL) {
        at(section_json, apr_psprintf(pool, "\"%s\": %" APR_UINT64_T_FMT
                                      ", \"%s_max\": %" APR_UINT64_T_FMT,
                                      f->key, f->n, f->key, f->max));
    }
    else {
        at(section_json, apr_pstrcat(pool, "\"", f->key, "\": ", json,
                                     NULL));
    }
    if (!f->value) {
        return;
    }
    at(html, s->ncols ? rp_escape_html(pool, v)
                      : apr_pstrcat(pool, "<span data-key=\"", f->key, "\"",
                                    f->cls ? " class=\"" : "",
                                    f->cls ? f->cls : "", f->cls ? "\"" : "",
                                    ">", rp_escape_html(pool, v), "</span>",
                                    NULL));
    at(text, rp_escape_text(pool, v));
}

START_TEST(test_overview_one_table)
{
    rp_model_t *m = model();
    fix_t *f = fix_new(m, RP_VIEW_OVERVIEW);
    rp_filter_t *flt = rp_filter_create(pool);
    const rp_region_t *regions[1];
    const rp_fact_section_t *s;
    rp_region_t g;
    const char *html, *text, *json;
    int n, i, k, j, facts = 0;

    /* Every kind of fact, and strings that need escaping. */
    ck_assert_ptr_null(rp_filter_add(flt, pool, RP_RULE_INCLUDE, "^/spin<",
                                     "test.conf:7"));
    f->page.filter = flt;
    f->page.sampler_off = "no <signal> & \"so\"";
    f->page.default_sort = "cumulative";
    memset(&g, 0, sizeof(g));
    g.slot = 2;
    g.owner = 4242;
    g.counters[RP_CTR_REQUESTS] = 7;
    g.counters[RP_CTR_BUFFER_FULL] = 3;
    g.n_nodes = 11;
    g.cap_nodes = 100;
    g.n_uris = 3;
    g.cap_uris = 50;
    g.n_objects = 4;
    g.cap_objects = 64;
    g.last_time = apr_time_from_sec(1700000000);
    regions[0] = &g;
    m->regions = regions;
    m->nregions = 1;
    m->first_time = apr_time_from_sec(1699999000);

    s = rp_report_overview(&f->c, &n);
    html = render_as(f, "html");
    text = render_as(f, "text");
    json = render_as(f, "json");
    check_page(html);
    for (i = 0; i < n; i++) {
        const char *section_json;
        at(html, apr_pstrcat(pool, "<h2>", s[i].title, "</h2>", NULL));
        at(html, apr_pstrcat(pool, " id=\"", s[i].key, "\"", NULL));
        at(text, apr_pstrcat(pool, "\n", s[i].title, NULL));
        /* The children are the head's, in every view; the others are
         * members of "overview". */
        section_json = s[i].ncols ? line_of(json, "\n  {\"slot\": ")
                                  : line_of(json, apr_pstrcat(
                                        pool, "\n  \"", s[i].key, "\": {",
                                        NULL));
        if (s[i].ncols) {
            ck_assert_int_eq(s[i].nfacts, 2 * s[i].ncols);
        }
        for (k = s[i].ncols; k < s[i].nfacts; k++) {
            const rp_fact_t *x = &s[i].facts[k];
            const rp_fact_t *head = s[i].ncols
                                    ? &s[i].facts[k % s[i].ncols] : x;
            ck_assert_ptr_nonnull(x->key);
            ck_assert_msg(k > s[i].ncols || x->label, "%s starts with a "
                          "continuation", s[i].key);
            /* A key names one value of its section. */
            for (j = s[i].ncols; j < k; j++) {
                ck_assert_msg(strcmp(s[i].facts[j].key, x->key) != 0,
                              "%s twice in %s", x->key, s[i].key);
            }
            check_fact(&s[i], x, head, html, text, section_json);
            facts++;
        }
    }
    ck_assert_int_ge(facts, 50);
    /* The figures of the fake child, in its row. */
    at(line_of(text, "\n   2     4242 "), "11 / 100");
    at(html, "<td class=\"num\">11 / 100 <meter");
    at(line_of(json, "\n  {\"slot\": "), "\"drops\": 3");
    at(line_of(json, "\n  {\"slot\": "), "\"counters\": {\"requests\": 7");
    at(text, "\nthis child       slot 0; not sampling: no <signal> & \"so\"");
    at(json, "\"sampler_off\": \"no \\u003csignal\\u003e \\u0026 \\\"so\\\"\"");
    /* What the three forms differed in before they came from one table. */
    at(json, "\"regions_reset\": 0, \"samples_lost\": 0");
    at(json, "\"outside_request\": 0");
    at(text, "\nsnapshot         taken ");
    at(html, "<th>page defaults</th>");
}
END_TEST

START_TEST(test_flame_view)
{
    rp_model_t *m = model();
    fix_t *f = fix_new(m, RP_VIEW_FLAME);
    const char *html;

    html = render(f);
    check_page(html);
    at(html, "<svg");
    at(html, "href=\"/reqprof?view=flame&amp;sort=self&amp;limit=0&amp;"
       "strip=0&amp;icicle=1\" id=\"icicle-toggle\"");
    at(html, "format=svg");
    f->o.icicle = 1;
    html = render(f);
    at(html, "href=\"/reqprof?view=flame&amp;sort=self&amp;limit=0&amp;"
       "strip=0\" id=\"icicle-toggle\"");
}
END_TEST

/* Ten thousand functions over a hundred thousand nodes, as the render
 * benchmark has them; the bound is loose (sanitizers, shared machines):
 * the benchmark holds the real budget. */
START_TEST(test_large_profile_renders)
{
    enum { NFUNC = 10000, NLINES = 25000 };
    const char **lines = apr_palloc(pool, sizeof(*lines) * NLINES);
    unsigned int seed = 7;
    rp_model_t *m;
    fix_t *f;
    int i;

    for (i = 0; i < NLINES; i++) {
        lines[i] = apr_psprintf(pool, "/u%d;main@/bin/x;f%u@/lib/a.so;"
                                "f%u@/lib/b.so;f%u@/lib/c.so %d", i % 7,
                                rand_r(&seed) % NFUNC, rand_r(&seed) % NFUNC,
                                (unsigned)i % NFUNC, 1 + i % 5);
    }
    m = rp_model_from_folded(pool, lines, NLINES, 1000000);
    ck_assert_int_ge(m->funcs->nelts, NFUNC);
    ck_assert_int_ge(m->nodes->nelts, 70000);

    f = fix_new(m, RP_VIEW_FUNCTIONS);
    f->o.select.limit = 0;
    /* How long it takes is the render benchmark's business
     * (make -f apxs.mk bench-render), not a unit test's. */
    render(f);
    ck_assert_int_ge(count(f->out.buf, "<tr>"), NFUNC);

    f = fix_new(m, RP_VIEW_TREE);
    render(f);
    ck_assert_int_ge(count(f->out.buf, "<details"), 70000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Kept requests, from a real store: the list, one request's page */

#define SPIN_A "mod_fixture.so+0x30"
#define SPIN_B "mod_fixture.so+0x40"
#define SECRET "s3cr3t-cookie-value"

typedef struct {
    rp_store_t *store;
    rp_symbols_t *syms;
    apr_uint32_t obj;
} kstore_t;

static rp_frame_t frame(rp_frame_kind_e kind, apr_uint32_t object,
                        apr_uint64_t rel)
{
    rp_frame_t f;

    f.kind = kind;
    f.object = object;
    f.rel = rel;
    return f;
}

/* A store of one region that keeps requests, with one object whose file
 * does not exist (so its functions are named BASENAME+0xREL). */
static kstore_t *kstore(void)
{
    kstore_t *k = apr_pcalloc(pool, sizeof(*k));
    apr_size_t region = 1024 * 1024;
    apr_size_t size = rp_store_segment_size(1, region);
    rp_keep_policy_t keep = { 16, 2, 4 };
    void *base = apr_palloc(pool, size);

    ck_assert_int_eq(rp_store_format(base, size, 1, region), APR_SUCCESS);
    k->store = rp_store_attach(pool, base, size);
    ck_assert_ptr_nonnull(k->store);
    ck_assert_int_eq(rp_store_claim(k->store, 100, NULL), 0);
    rp_store_set_keep(k->store, &keep);
    ck_assert_uint_ge(rp_store_kept_capacity(k->store), 16);
    k->obj = rp_store_object(k->store, 0, "/nonexistent/mod_fixture.so",
                             NULL);
    k->syms = rp_symbols_create(pool);
    return k;
}

/* One request of ID on URI: NA samples in spin_a, then NB in spin_b,
 * then NBLOCKED [blocked] below spin_b, 1 ms each and back to back;
 * taken AGO seconds before 1700000000. */
static void kadd(kstore_t *k, const char *id, const char *uri,
                 const char *query, int status, int na, int nb, int nblocked,
                 int ago)
{
    static const char headers[] = "Host\0test\0Cookie\0[redacted]\0"
                                  "User-Agent\0<b>ua</b>\0";
    rp_frame_t a[3], b[3], blk[4];
    rp_sample_view_t sm[128];
    rp_keep_info_t info;
    rp_request_info_t req;
    int i, n = 0;

    a[0] = frame(RP_FRAME_REAL, k->obj, 0x30);
    b[0] = frame(RP_FRAME_REAL, k->obj, 0x40);
    a[1] = b[1] = frame(RP_FRAME_REAL, k->obj, 0x20);
    a[2] = b[2] = frame(RP_FRAME_REAL, k->obj, 0x10);
    blk[0] = frame(RP_FRAME_BLOCKED, RP_STORE_NONE, 0);
    memcpy(blk + 1, b, sizeof(b));
    for (i = 0; i < na + nb + nblocked; i++) {
        sm[n].frames = i < na ? a : i < na + nb ? b : blk;
        sm[n].offcpu = 0;
        sm[n].depth = i < na + nb ? 3 : 4;
        sm[n].truncated = 0;
        sm[n].weight_ns = 1000000;
        sm[n].end_us = (apr_uint64_t)(i + 1) * 1000;
        n++;
    }
    memset(&info, 0, sizeof(info));
    info.id = id;
    info.query = query;
    info.vhost = "test.example";
    info.handler = "fixture";
    info.content_type = "text/plain";
    info.bytes = 1234;
    info.headers = headers;
    info.headers_len = sizeof(headers) - 1;
    memset(&req, 0, sizeof(req));
    req.time = apr_time_from_sec(1700000000 - ago);
    req.method = "GET";
    req.uri = uri;
    req.status = status;
    req.wall_us = 1000 * n + 500;
    req.cpu_us = 1000 * (na + nb);
    req.keep = &info;
    rp_store_add_request(k->store, 0, &req, sm, n, NULL);
}

/* Four typical requests of /x/spin (mostly spin_a), a slow one that is
 * mostly spin_b and blocked, a failed one of /fail. */
static kstore_t *kept_requests(void)
{
    kstore_t *k = kstore();

    kadd(k, "typ-1", "/x/spin", "a=8&b=2", 200, 8, 2, 0, 3000);
    kadd(k, "typ-2", "/x/spin", "a=8&b=2", 200, 8, 2, 0, 500);
    kadd(k, "typ-3", "/x/spin", "a=8&b=2", 200, 8, 2, 0, 400);
    kadd(k, "typ-4", "/x/spin", "a=8&b=2", 200, 8, 2, 0, 300);
    kadd(k, "slow-1", "/x/spin", "a=2&b=<12>", 200, 2, 12, 5, 30);
    kadd(k, "err-1", "/fail", NULL, 503, 1, 0, 0, 10);
    return k;
}

/* The list's model: every region with its kept requests. */
static fix_t *list_fix(kstore_t *k)
{
    rp_snapshot_t *snap = rp_store_snapshot_ex(k->store, pool, RP_SNAP_KEPT,
                                               NULL);
    rp_model_t *m = rp_model_build(pool, snap, k->syms, NULL, 0);
    rp_snapshot_info_t *in = (rp_snapshot_info_t *)m->info;

    in->taken = apr_time_from_sec(1700000000);
    return fix_new(m, RP_VIEW_REQUESTS);
}

/* One request's page: its model, and its URI's as the base. */
static fix_t *request_fix(kstore_t *k, const char *id)
{
    rp_snapshot_t *snap = rp_store_snapshot_ex(k->store, pool, RP_SNAP_KEPT,
                                               id);
    rp_snapshot_t *one = rp_snapshot_request(pool, snap, id);
    fix_t *f;

    ck_assert_ptr_nonnull(one);
    f = fix_new(rp_model_build(pool, one, k->syms, NULL, 0), RP_VIEW_REQUEST);
    ck_assert_ptr_nonnull(f->c.m->request);
    f->c.base = rp_model_build(pool, snap, k->syms,
                               rp_snapshot_kept(one)->uri, 0);
    f->o.req = id;
    return f;
}

/* Every id="..." of HTML once. */
static void check_ids_unique(const char *html)
{
    apr_hash_t *seen = apr_hash_make(pool);
    const char *s, *e;

    for (s = next(html, " id=\""); s; s = next(s + 1, " id=\"")) {
        const char *id;
        s += 5;
        e = strchr(s, '"');
        id = apr_pstrndup(pool, s, (apr_size_t)(e - s));
        ck_assert_msg(!apr_hash_get(seen, id, APR_HASH_KEY_STRING),
                      "id \"%s\" twice", id);
        apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
    }
}

/* The ids of the rows of the kept table, in order, "a,b,c". */
static const char *kept_rows(const char *html)
{
    const char *s = html + at(html, "id=\"kept\""), *end, *out = "";

    end = strstr(s, "</table>");
    for (s = strstr(s, "data-id=\""); s && s < end; s = strstr(s + 1, "data-"
                                                                      "id="
                                                                      "\"")) {
        const char *e = strchr(s + 9, '"');
        out = apr_pstrcat(pool, out, *out ? "," : "",
                          apr_pstrndup(pool, s + 9, (apr_size_t)(e - s - 9)),
                          NULL);
    }
    return out;
}

START_TEST(test_kept_list)
{
    kstore_t *k = kept_requests();
    fix_t *f = list_fix(k);
    rp_filter_t *re = rp_filter_create(pool);
    rp_snapshot_t *snap;
    const char *html, *text, *json;

    html = render(f);
    check_page(html);
    check_ids_unique(html);
    /* Newest first, every one a link to its page. */
    ck_assert_str_eq(kept_rows(html), "err-1,slow-1,typ-4,typ-3,typ-2,typ-1");
    at(html, "href=\"/reqprof?view=request&amp;sort=self&amp;limit=0&amp;"
             "strip=0&amp;id=slow-1\">/x/spin?a=2&amp;b=&lt;12&gt;</a>");
    at(html, "data-col=\"time\" aria-sort=\"descending\"");
    /* Age shading against the snapshot; server errors marked. */
    at(html, "<tr class=\"kept age0 err\" data-id=\"err-1\">");
    at(html, "<tr class=\"kept age1\" data-id=\"typ-4\">");
    at(html, "<tr class=\"kept age2\" data-id=\"typ-1\">");
    /* Why each was kept: the slowest two of /x/spin as slow too. */
    at(html, "<td>recent, slow</td>");
    at(html, "<td>recent, slow, error</td>");
    at(html, "<svg class=\"cost\"");
    at(html, "<span data-key=\"kept\">6</span> kept since the last clear");
    at(html, "<span data-key=\"kept_full\">0</span> requests could not be "
             "kept for lack of room");
    /* The per-URI table and the ring stay. */
    at(html, "id=\"uris\"");
    at(html, "id=\"recent\"");

    /* Sorted by a column, and reversed; the head turns it round. */
    f->o.order = "wall";
    html = render(f);
    ck_assert_str_eq(kept_rows(html), "slow-1,typ-4,typ-3,typ-2,typ-1,err-1");
    at(html, "order=-wall\">wall ms &#9660;</a>");
    f->o.order = "-wall";
    html = render(f);
    /* Ties stay newest first. */
    ck_assert_str_eq(kept_rows(html), "err-1,typ-4,typ-3,typ-2,typ-1,slow-1");
    f->o.order = "uri";
    html = render(f);
    ck_assert_str_eq(kept_rows(html), "err-1,slow-1,typ-4,typ-3,typ-2,typ-1");

    /* Filters: a status class, a URI regex, a minimum of wall time. */
    f->o.order = NULL;
    f->o.status_lo = 500;
    f->o.status_hi = 599;
    html = render(f);
    ck_assert_str_eq(kept_rows(html), "err-1");
    at(html, "<option value=\"5xx\" selected>5xx</option>");
    at(html, "showing <span data-key=\"shown\">1</span> of <span "
             "data-key=\"held\">6</span>");
    f->o.status_lo = f->o.status_hi = 0;
    ck_assert_ptr_null(
        rp_filter_add(re, pool, RP_RULE_INCLUDE, "^/x/", "uri_match"));
    f->o.uri_re = re;
    f->o.uri_match = "^/x/";
    f->o.min_ms = 15;
    html = render(f);
    ck_assert_str_eq(kept_rows(html), "slow-1");
    /* The filters ride along in the row links. */
    at(html, "uri_match=%5E/x/&amp;strip=0&amp;id=slow-1&amp;min_ms=15\"");

    /* Text and json: the same rows in the same order. */
    text = render_as(f, "text");
    at(text, "kept requests: 1 shown of 6 held; 6 kept since the last "
             "clear, 0 could not be kept for lack of room");
    at(text, "slow-1  /x/spin?a=2&b=<12>\n");
    ck_assert_ptr_null(strstr(text, "typ-1"));
    json = render_as(f, "json");
    at(json, "\"kept_held\": 6, \"kept_shown\": 1, \"kept\": [\n  "
             "{\"id\": \"slow-1\"");
    at(json, "\"query\": \"a=2\\u0026b=\\u003c12\\u003e\"");
    at(json, "\"reasons\": [\"recent\", \"slow\"]");

    /* A focused page lists the requests of its URI only. */
    snap = rp_store_snapshot_ex(k->store, pool, RP_SNAP_KEPT, NULL);
    f = fix_new(rp_model_build(pool, snap, k->syms, "/fail", 0),
                RP_VIEW_REQUESTS);
    ck_assert_str_eq(kept_rows(render(f)), "err-1");
}
END_TEST

START_TEST(test_request_page)
{
    kstore_t *k = kept_requests();
    fix_t *f = request_fix(k, "slow-1");
    const char *html, *s;

    html = render(f);
    check_page(html);
    check_ids_unique(html);
    /* Its facts, its headers as stored (redacted), escaped. */
    at(html, "<h2>Request <code>slow-1</code></h2>");
    at(html, "<span data-key=\"query\">a=2&amp;b=&lt;12&gt;</span>");
    at(html, "<span data-key=\"wall_ms\">19.500</span> ms");
    at(html, "<span data-key=\"reasons\">recent, slow</span>");
    at(html, "<td>Cookie</td><td>[redacted]</td>");
    at(html, "<td>&lt;b&gt;ua&lt;/b&gt;</td>");
    ck_assert_ptr_null(strstr(html, SECRET));
    /* Every part of its profile, each once. */
    at(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
             "id=\"timeline\"");
    at(html, "id=\"diff-flame\"");
    at(html, "id=\"flame\"");
    at(html, "id=\"functions\"");
    at(html, "id=\"tree\"");
    at(html, ">" SPIN_B "<");
    /* The timeline: 19 spans of 1 ms, merged by stack into three, in
     * time order; the last one blocked. */
    at(html, "data-state=\"cpu\" data-s=\"0\" data-e=\"2000\"");
    at(html, "data-state=\"cpu\" data-s=\"2000\" data-e=\"14000\"");
    at(html, "data-state=\"blocked\" data-s=\"14000\" data-e=\"19000\"");
    /* spin_b's box goes on across its on-CPU and blocked spans. */
    s = html
        + at(html, "<g class=\"t\" data-d=\"3\" data-s=\"2000\" "
                   "data-e=\"19000\" data-n=\"17\"><title>" SPIN_B);
    at(s, ", 5.00 ms of them blocked or waiting");
    at(html, "<g class=\"t blocked\" data-d=\"4\" data-s=\"14000\" "
             "data-e=\"19000\" data-n=\"5\"><title>[blocked]");
    /* Compared with typical: spin_b has far more of this request than
     * of its URI, spin_a far less; the table says which. */
    s = html + at(html, "id=\"diff-flame\"");
    at(s, "<g class=\"f more\"");
    at(s, "<g class=\"f less\"");
    {
        const char *b = s + at(s, SPIN_B " (");
        while (strncmp(b, "<g ", 3) != 0) {
            b--;
        }
        ck_assert_int_eq(strncmp(b, "<g class=\"f more\"", 17), 0);
        at(apr_pstrndup(pool, b, 200), "data-delta=\"47.");
    }
    at(html, "<tr class=\"more\"><td class=\"fn\">" SPIN_B "</td>");
    at(html, "5 requests (this one among them)");
    /* Links keep to the request: other views and the exports take req. */
    at(html, "id=\"nav-request\"");
    at(html, "view=functions&amp;sort=self&amp;limit=0&amp;strip=0&amp;"
             "req=slow-1\" id=\"nav-functions\"");
    at(html, "strip=0&amp;req=slow-1&amp;format=pprof\" id=\"export-pprof\"");
    at(html, "href=\"/reqprof?view=requests&amp;sort=self&amp;limit=0&amp;"
             "strip=0\" id=\"to-list\"");

    /* After a clear the request is gone: its forms go back to the
     * list; pausing goes back to the request. */
    f->page.nonce = "n0nce";
    html = render(f);
    ck_assert_int_eq(count(html, "name=\"back\" value=\"?view=requests&amp;"
                                 "sort=self&amp;limit=0&amp;strip=0\""),
                     2);
    ck_assert_int_eq(count(html, "name=\"back\" value=\"?view=request&amp;"
                                 "sort=self&amp;limit=0&amp;strip=0&amp;"
                                 "id=slow-1\""),
                     2);
    f->page.nonce = NULL;

    /* Another view of the request says which it is. */
    f->o.view = RP_VIEW_FUNCTIONS;
    html = render(f);
    check_page(html);
    at(html, "id=\"req-focus\"");
    at(html, "view=request&amp;sort=self&amp;limit=0&amp;strip=0&amp;"
             "id=slow-1\" id=\"req-page\"");
    at(html, "limit=0&amp;strip=0\" id=\"req-clear\"");
}
END_TEST

START_TEST(test_request_text_json)
{
    kstore_t *k = kept_requests();
    fix_t *f = request_fix(k, "slow-1");
    const char *text, *json;

    text = render_as(f, "text");
    at(text, "\nid               slow-1\n");
    at(text, "\n    0.00     2.00  cpu            2  " SPIN_A " <- ");
    at(text,
       "\n   14.00    19.00  blocked        5  [blocked] <- " SPIN_B " <- ");
    at(text, "+47.");
    at(text, SPIN_B "  (mod_fixture.so+0x20)\n");
    at(text, "\nCookie: [redacted]\n");
    at(text, "User-Agent: <b>ua</b>\n");

    json = render_as(f, "json");
    at(json, "\"view\": \"request\"");
    at(json, "\"request\": {\"id\": \"slow-1\"");
    at(json, "\"reasons\": [\"recent\", \"slow\"]");
    at(json, "\"headers\": [{\"name\": \"Host\", \"value\": \"test\"}, "
             "{\"name\": \"Cookie\", \"value\": \"[redacted]\"}");
    at(json, "{\"start_us\": 14000, \"end_us\": 19000, \"samples\": 5, "
             "\"ms\": 5.000, \"blocked\": true, \"stack\": [\"/x/spin\", ");
    at(json, "\"diff\": {\"typical_requests\": 5, ");
    at(json, "{\"name\": \"" SPIN_B "\", \"object\": "
             "\"/nonexistent/mod_fixture.so\", \"share\": 89.47, ");
    at(json, "\"more\": true");
    at(json, "\"less\": true");
    at(json, "\"functions\": [");
    at(json, "\"tree\": {\"name\": \"all\"");
    ck_assert_ptr_null(strstr(json, SECRET));
}
END_TEST

/* Exports of one request cover it alone. */
START_TEST(test_request_exports)
{
    kstore_t *k = kept_requests();
    fix_t *f = request_fix(k, "err-1");
    const char *stacks;

    f->c.base = NULL;
    f->o.view = RP_VIEW_OVERVIEW;
    stacks = render_as(f, "collapsed");
    ck_assert_str_eq(stacks, "/fail;mod_fixture.so+0x10;mod_fixture.so+"
                             "0x20;" SPIN_A " 1\n");
    /* Without a base (not its page) there is no comparison. */
    f->o.view = RP_VIEW_REQUEST;
    at(render(f), "No profile of its URI to compare with.");
}
END_TEST

START_TEST(test_kept_counters_in_overview)
{
    rp_model_t *m = model();
    fix_t *f = fix_new(m, RP_VIEW_OVERVIEW);

    m->counters[RP_CTR_KEPT] = 12;
    m->counters[RP_CTR_KEPT_FULL] = 3;
    at(render_as(f, "html"), "<span data-key=\"kept\">12</span> kept whole; "
                             "<span data-key=\"kept_full\" "
                             "class=\"bad\">3</span> requests could "
                             "not be kept for lack of room");
    at(render_as(f, "text"), "\nkept requests    12 kept whole; 3 requests "
                             "could not be kept for lack of room\n");
    at(render_as(f, "json"), "\"kept\": 12, \"kept_full\": 3");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Memory: what an answer takes beyond its output */

/* What an answer may take from its pool.  The most is the edge table of
 * callgrind and dot (24 bytes an edge); every other answer needs well
 * under a megabyte.  Before answers streamed, the JSON stacks took
 * hundreds of MB here and the trees tens. */
#define ANSWER_HEAP_MAX     (4.0 * 1024 * 1024)

static void count_write(rp_out_t *o, const char *s, apr_size_t n)
{
    (void)s;
    o->len += n;
}

/* Renders FORMAT (VIEW for a page format) of M into a sink that counts
 * and keeps nothing, from a pool of a fresh allocator, and returns what
 * the heap grew by (the pool frees nothing before it is destroyed, so
 * that is its peak); *BYTES gets the size of the answer. */
static double answer_heap(const rp_model_t *m, const char *format,
                          rp_view_e view, apr_size_t *bytes)
{
    fix_t *f = fix_new(m, view);
    apr_allocator_t *alloc;
    apr_pool_t *p;
    double before, used;

    f->o.select.limit = 0;
    f->o.func = "f42";
    ck_assert_int_eq(apr_allocator_create(&alloc), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create_ex(&p, NULL, NULL, alloc), APR_SUCCESS);
    apr_allocator_owner_set(alloc, p);
    memset(&f->out, 0, sizeof(f->out));
    f->out.pool = p;
    f->out.write = count_write;
    f->c.p = p;
    before = unit_heap_in_use();
    rp_report_render(rp_report_format(format), &f->c);
    used = unit_heap_in_use() - before;
    *bytes = f->out.len;
    apr_pool_destroy(p);
    return used;
}

/* Ten thousand functions with names every format must escape (markup,
 * an invalid byte, a noncharacter), in tens of thousands of stacks, and
 * one 700 frames deep, so the text tree writes lines longer than any
 * formatting buffer. */
static rp_model_t *hostile_model(void)
{
    enum { NFUNC = 10000, NLINES = 20000, DEEP = 700 };
    const char **lines = apr_palloc(pool, sizeof(*lines) * (NLINES + 1));
    const char *deep = "/deep";
    unsigned int seed = 11;
    int i;

    for (i = 0; i < NLINES; i++) {
        lines[i] = apr_psprintf(pool, "/u%d\xef\xbf\xbe;main@/bin/x;"
                                "f%u<&\xff>@/lib/a\".so;f%u<&\xff>@/lib/b.so;"
                                "f%u<&\xff>@/lib/c.so %d", i % 7,
                                rand_r(&seed) % NFUNC, rand_r(&seed) % NFUNC,
                                (unsigned)i % NFUNC, 1 + i % 5);
    }
    for (i = 0; i < DEEP; i++) {
        deep = apr_psprintf(pool, "%s;d%d<&\xff>@/lib/d.so", deep, i % 50);
    }
    lines[NLINES] = apr_pstrcat(pool, deep, " 3", NULL);
    return rp_model_from_folded(pool, lines, NLINES + 1, 1000000);
}

START_TEST(test_answers_in_bounded_memory)
{
    static const char *const pages[] = { "html", "text", "json", NULL };
    static const char *const exports[] = {
        "svg", "collapsed", "pprof", "callgrind", "dot", NULL
    };
    rp_model_t *m = hostile_model();
    apr_allocator_t *alloc;
    apr_pool_t *p;
    apr_size_t bytes, most = 0;
    double before, used;
    int i, v;

    ck_assert_int_ge(m->funcs->nelts, 10000);
    ck_assert_int_ge(m->nodes->nelts, 55000);

    /* The measure sees a pool's growth. */
    apr_allocator_create(&alloc);
    apr_pool_create_ex(&p, NULL, NULL, alloc);
    apr_allocator_owner_set(alloc, p);
    before = unit_heap_in_use();
    for (i = 0; i < 64; i++) {
        memset(apr_palloc(p, 32768), 1, 32768);
    }
    used = unit_heap_in_use() - before;
    apr_pool_destroy(p);
    ck_assert_msg(used >= 2.0 * 1024 * 1024, "the measure saw %.0f of 2 MB",
                  used);

    for (i = 0; pages[i]; i++) {
        for (v = 0; v < RP_VIEW_COUNT; v++) {
            if (v == RP_VIEW_EXPLAIN) {
                continue;
            }
            used = answer_heap(m, pages[i], (rp_view_e)v, &bytes);
            ck_assert_msg(used <= ANSWER_HEAP_MAX, "%s %s took %.2f MB for "
                          "%lu bytes", pages[i], rp_report_view_names[v],
                          used / 1048576.0, (unsigned long)bytes);
            most = bytes > most ? bytes : most;
        }
    }
    for (i = 0; exports[i]; i++) {
        used = answer_heap(m, exports[i], RP_VIEW_OVERVIEW, &bytes);
        ck_assert_msg(used <= ANSWER_HEAP_MAX, "%s took %.2f MB for %lu "
                      "bytes", exports[i], used / 1048576.0,
                      (unsigned long)bytes);
    }
    /* The bound means something: an answer far bigger than it. */
    ck_assert_uint_gt(most, 3 * ANSWER_HEAP_MAX);
}
END_TEST

static Suite *html_suite(void)
{
    Suite *s = suite_create("rp_report_html");
    TCase *tc = tcase_create("views");
    TCase *big = tcase_create("large");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_every_view_renders);
    tcase_add_test(tc, test_hostile_strings_escaped);
    tcase_add_test(tc, test_row_links_match_report_link);
    tcase_add_test(tc, test_sort_changes_order);
    tcase_add_test(tc, test_tree_every_level);
    tcase_add_test(tc, test_callers_callees);
    tcase_add_test(tc, test_controls_need_nonce);
    tcase_add_test(tc, test_overview);
    tcase_add_test(tc, test_overview_one_table);
    tcase_add_test(tc, test_flame_view);
    tcase_add_test(tc, test_kept_list);
    tcase_add_test(tc, test_request_page);
    tcase_add_test(tc, test_request_text_json);
    tcase_add_test(tc, test_request_exports);
    tcase_add_test(tc, test_kept_counters_in_overview);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(big, setup, teardown);
    tcase_set_timeout(big, 60);
    tcase_add_test(big, test_large_profile_renders);
    tcase_add_test(big, test_answers_in_bounded_memory);
    suite_add_tcase(s, big);
    return s;
}

UNIT_MAIN(html_suite)
