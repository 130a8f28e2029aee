/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of rp_report_flame, the SVG flame graph, on synthetic models
 * (rp_model_from_folded) rendered into a buffer: frame widths are
 * proportional to samples and siblings are in alphabetical order; every
 * name is escaped (markup, quotes, invalid UTF-8) and its data-l length
 * matches what the browser will decode; flame and icicle put the root at
 * the bottom and the top; narrow frames are pruned and counted in the
 * note; the output obeys the page's CSP (nonces on the script and the
 * style, no on...= handler, no style attribute); and a 100,000-node
 * profile renders quickly.
 */

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "rp_report.h"

#include "unit_main.h"
#include "unit_pool.h"
#include "unit_utf8.h"

#define FULL_WIDTH 1180.0       /* 1200 less 10 px each side */

static rp_model_t *model(const char *const *lines, int n)
{
    return rp_model_from_folded(pool, lines, n, 4000000);
}

static const char *render_opts(const rp_model_t *m, int icicle,
                               double min_pct, const char *nonce,
                               int embedded, apr_size_t *len)
{
    rp_view_opts_t o;
    rp_page_t pg;
    rp_render_t c;
    rp_out_t out;

    memset(&o, 0, sizeof(o));
    memset(&pg, 0, sizeof(pg));
    o.view = RP_VIEW_FLAME;
    o.icicle = icicle;
    o.min_pct = min_pct;
    pg.csp_nonce = nonce;
    rp_out_buffer(&out, pool);
    c.m = m;
    c.o = &o;
    c.page = &pg;
    c.out = &out;
    c.p = pool;
    rp_report_flame_svg(&c, embedded);
    ck_assert_uint_eq(strlen(out.buf), out.len);
    if (len) {
        *len = out.len;
    }
    return out.buf;
}

static const char *render(const rp_model_t *m)
{
    return render_opts(m, 0, 0, "n0nce", 0, NULL);
}

/* The geometry of the frame whose <title> starts with TITLE (escaped,
 * including what follows the name: " (" or "\n"); 0 when none. */
static int frame(const char *svg, const char *title, double *x, int *y,
                 double *w)
{
    const char *t = strstr(svg, apr_pstrcat(pool, "<title>", title, NULL));
    const char *r;

    if (!t) {
        return 0;
    }
    r = strstr(t, "<rect x=\"");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(sscanf(r, "<rect x=\"%lf\" y=\"%d\" width=\"%lf\"",
                            x, y, w), 3);
    return 1;
}

static double width_of(const char *svg, const char *title)
{
    double x, w;
    int y;

    ck_assert_msg(frame(svg, title, &x, &y, &w), "no frame '%s'", title);
    return w;
}

static int count(const char *s, const char *what)
{
    int n = 0;

    while ((s = strstr(s, what)) != NULL) {
        n++;
        s += strlen(what);
    }
    return n;
}

/* ------------------------------------------------------------------ */

START_TEST(test_widths_proportional)
{
    static const char *const lines[] = {
        "/u;main@app;fa@liba.so 200",
        "/u;main@app;fb@libb.so 100",
        "/v;main@app 100",
    };
    const char *svg = render(model(lines, 3));
    double wa = width_of(svg, "fa (liba.so)\n");
    double wb = width_of(svg, "fb (libb.so)\n");

    ck_assert_double_eq_tol(width_of(svg, "all\n"), FULL_WIDTH, 0.01);
    ck_assert_double_eq_tol(wa / wb, 2.0, 0.01);
    ck_assert_double_eq_tol(wa, FULL_WIDTH * 200 / 400, 0.01);
    ck_assert_double_eq_tol(width_of(svg, "/u ([uri])\n"),
                            FULL_WIDTH * 300 / 400, 0.01);
    ck_assert_ptr_nonnull(strstr(svg, "300 samples, 75.00%, est. 1200.00 "
                                 "ms</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "data-n=\"200\""));
}
END_TEST

START_TEST(test_alphabetical_order)
{
    /* zz has more samples but aa comes first, as in flamegraph.pl. */
    static const char *const lines[] = {
        "/u;zz@x.so 300",
        "/u;aa@x.so 100",
        "/u;mm@x.so 100",
    };
    const char *svg = render(model(lines, 3));
    double xa, xm, xz, w;
    int y;

    ck_assert(frame(svg, "aa (x.so)", &xa, &y, &w));
    ck_assert(frame(svg, "mm (x.so)", &xm, &y, &w));
    ck_assert(frame(svg, "zz (x.so)", &xz, &y, &w));
    ck_assert_double_eq_tol(xa, 10.0, 0.01);
    ck_assert_double_lt(xa, xm);
    ck_assert_double_lt(xm, xz);
    ck_assert_double_eq_tol(xz, 10.0 + FULL_WIDTH * 200 / 500, 0.01);
}
END_TEST

START_TEST(test_escape_markup)
{
    static const char *const lines[] = {
        "/u<i>;<script>alert(1)</script>@x\"y'<b>.so 10",
        "/u<i>;a&b@x.so 10",
    };
    const char *svg = render(model(lines, 2));

    ck_assert_ptr_null(strstr(svg, "<script>alert"));
    ck_assert_ptr_null(strstr(svg, "<b>"));
    ck_assert_ptr_null(strstr(svg, "<i>"));
    ck_assert_ptr_null(strstr(svg, "a&b"));
    ck_assert_int_eq(count(svg, "<script"), 1);
    ck_assert_ptr_nonnull(strstr(svg, "<title>&lt;script&gt;alert(1)"
                                 "&lt;/script&gt; (x&quot;y&#39;&lt;b&gt;"
                                 ".so)\n"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>/u&lt;i&gt; ([uri])"));
    /* data-l: the name's length once the browser decodes the entities. */
    ck_assert_ptr_nonnull(strstr(svg, "data-l=\"25\"><title>&lt;script"));
    ck_assert_ptr_nonnull(strstr(svg, "data-l=\"3\"><title>a&amp;b (x.so)"));
}
END_TEST

START_TEST(test_escape_invalid_utf8)
{
    static const char *const lines[] = {
        "/u;bad\xff\xfe@x.so 10",
        "/u;caf\xc3\xa9\xf0\x9f\x94\xa5@x.so 10",
        "/u;ctl\x01\x1b[31m@x.so 10",
    };
    const char *svg = render(model(lines, 3));

    ck_assert(unit_valid_utf8((const unsigned char *)svg));
    ck_assert_ptr_nonnull(strstr(svg, "<title>bad\\xFF\\xFE (x.so)"));
    ck_assert_ptr_nonnull(strstr(svg, "data-l=\"11\"><title>bad"));
    ck_assert_ptr_null(strchr(svg, '\x01'));
    ck_assert_ptr_null(strchr(svg, '\x1b'));
    /* Valid UTF-8 passes; the emoji is two UTF-16 units. */
    ck_assert_ptr_nonnull(strstr(svg, "data-l=\"6\"><title>caf\xc3\xa9"));
}
END_TEST

/* A request for /a%EF%BF%BE puts U+FFFE in a URI frame: XML refuses it
 * (and U+FFFF, and discourages the other noncharacters), so it must not
 * reach the SVG as a character. */
START_TEST(test_escape_noncharacters)
{
    static const char *const lines[] = {
        "/a\xef\xbf\xbe;f@x.so 10",
        "/b\xef\xbf\xbf;g\xef\xb7\x90@x.so 10",
        "/c;h\xf4\x8f\xbf\xbf@x.so 10",
    };
    const char *svg = render(model(lines, 3));

    ck_assert(unit_valid_utf8((const unsigned char *)svg));
    ck_assert_ptr_null(strstr(svg, "\xef\xbf\xbe"));
    ck_assert_ptr_null(strstr(svg, "\xef\xbf\xbf"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>/a\\xEF\\xBF\\xBE ([uri])"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>g\\xEF\\xB7\\x90 (x.so)"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>h\\xF4\\x8F\\xBF\\xBF (x.so)"));
}
END_TEST

START_TEST(test_flame_and_icicle)
{
    static const char *const lines[] = {
        "/u;outer@x.so;inner@x.so 10",
    };
    const rp_model_t *m = model(lines, 1);
    const char *flame = render_opts(m, 0, 0, NULL, 0, NULL);
    const char *icicle = render_opts(m, 1, 0, NULL, 0, NULL);
    double x, w;
    int root, uri, outer, inner;

    ck_assert(frame(flame, "all\n", &x, &root, &w));
    ck_assert(frame(flame, "/u (", &x, &uri, &w));
    ck_assert(frame(flame, "outer (", &x, &outer, &w));
    ck_assert(frame(flame, "inner (", &x, &inner, &w));
    ck_assert_int_gt(root, uri);
    ck_assert_int_gt(uri, outer);
    ck_assert_int_gt(outer, inner);
    ck_assert_int_eq(root - uri, 16);
    ck_assert_ptr_nonnull(strstr(flame, ">Flame graph<"));

    ck_assert(frame(icicle, "all\n", &x, &root, &w));
    ck_assert(frame(icicle, "/u (", &x, &uri, &w));
    ck_assert(frame(icicle, "inner (", &x, &inner, &w));
    ck_assert_int_lt(root, uri);
    ck_assert_int_lt(uri, inner);
    ck_assert_ptr_nonnull(strstr(icicle, ">Icicle graph<"));
}
END_TEST

START_TEST(test_prune_narrow)
{
    static const char *const lines[] = {
        "/u;big@x.so 1000000",
        "/u;small@x.so;deeper@x.so 1",
    };
    const char *svg = render(model(lines, 2));

    ck_assert_ptr_nonnull(strstr(svg, "big (x.so)"));
    ck_assert_ptr_null(strstr(svg, "small"));
    ck_assert_ptr_null(strstr(svg, "deeper"));
    ck_assert_int_eq(count(svg, "<g class=\"f\""), 3);
    ck_assert_ptr_nonnull(strstr(svg, ">2 frames narrower than 0.1 px not "
                                 "drawn</text>"));
}
END_TEST

START_TEST(test_prune_min_pct)
{
    static const char *const lines[] = {
        "/u;a@x.so 50",
        "/u;b@x.so 30",
        "/u;c@x.so 20",
    };
    const rp_model_t *m = model(lines, 3);
    const char *svg = render_opts(m, 0, 25, NULL, 0, NULL);
    double xa, xb, w;
    int y;

    ck_assert_ptr_null(strstr(svg, "<title>c ("));
    ck_assert_ptr_nonnull(strstr(svg, ">1 frame under 25% not drawn<"));
    /* What is drawn keeps its place. */
    ck_assert(frame(svg, "a (", &xa, &y, &w));
    ck_assert(frame(svg, "b (", &xb, &y, &w));
    ck_assert_double_eq_tol(xb - xa, FULL_WIDTH / 2, 0.01);

    svg = render_opts(m, 0, 0, NULL, 0, NULL);
    ck_assert_ptr_nonnull(strstr(svg, "<title>c ("));
    ck_assert_ptr_nonnull(strstr(svg, "<text id=\"flame-note\" "
                                 "class=\"note\" x=\"10\" y=\""));
    ck_assert_ptr_null(strstr(svg, "not drawn"));
}
END_TEST

/* Every tag outside the script's CDATA, checked for on...= attributes
 * and style="". */
static void check_no_inline_code(const char *svg)
{
    char *copy = apr_pstrdup(pool, svg), *s, *e, *tag;

    s = strstr(copy, "<![CDATA[");
    e = s ? strstr(s, "]]>") : NULL;
    if (s && e) {
        memmove(s, e + 3, strlen(e + 3) + 1);
    }
    for (tag = strchr(copy, '<'); tag; tag = strchr(tag + 1, '<')) {
        char *end = strchr(tag, '>'), *a;
        ck_assert_ptr_nonnull(end);
        *end = '\0';
        for (a = tag; (a = strstr(a, " on")) != NULL; a += 3) {
            char *q = a + 3;
            while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')) {
                q++;
            }
            ck_assert_msg(*q != '=', "handler attribute in <%s>", tag + 1);
        }
        ck_assert_msg(!strstr(tag, "style="), "style in <%s>", tag + 1);
        *end = '>';
    }
}

START_TEST(test_csp)
{
    static const char *const lines[] = {
        "/u;onclick=alert(1)@x.so 10",
        "/u;f@x.so 10",
    };
    const rp_model_t *m = model(lines, 2);
    const char *svg = render_opts(m, 0, 0, "ab+/c=", 0, NULL);

    ck_assert_ptr_nonnull(strstr(svg, "<script nonce=\"ab+/c=\"><![CDATA["));
    ck_assert_ptr_nonnull(strstr(svg, "<style nonce=\"ab+/c=\">"));
    ck_assert_int_eq(count(svg, "<script"), 1);
    ck_assert_int_eq(count(svg, "<style"), 1);
    ck_assert_int_eq(count(svg, "]]>"), 1);
    ck_assert_ptr_null(strstr(svg, "style=\""));
    check_no_inline_code(svg);

    /* A nonce is escaped like any other string. */
    svg = render_opts(m, 0, 0, "a\"><x", 1, NULL);
    ck_assert_ptr_nonnull(strstr(svg, "<script nonce=\"a&quot;&gt;&lt;x\">"));

    svg = render_opts(m, 0, 0, NULL, 0, NULL);
    ck_assert_ptr_nonnull(strstr(svg, "<script><![CDATA["));
    ck_assert_ptr_nonnull(strstr(svg, "<style>"));
    ck_assert_ptr_null(strstr(svg, "nonce"));
}
END_TEST

START_TEST(test_standalone_and_embedded)
{
    static const char *const lines[] = { "/u;f@x.so 10" };
    const rp_model_t *m = model(lines, 1);
    const char *alone = render_opts(m, 0, 0, NULL, 0, NULL);
    const char *inside = render_opts(m, 0, 0, NULL, 1, NULL);
    const char *ids[] = { "id=\"flame\"", "id=\"flame-search\"",
                          "id=\"flame-reset\"", "id=\"flame-matched\"",
                          "id=\"flame-note\"", "id=\"flame-details\"",
                          "xmlns=\"http://www.w3.org/2000/svg\"",
                          "reqprofSearch", "reqprofReset", NULL };
    int i;

    ck_assert_int_eq(strncmp(alone, "<?xml version=\"1.0\"", 19), 0);
    ck_assert_int_eq(strncmp(inside, "<svg ", 5), 0);
    ck_assert_ptr_nonnull(strstr(alone, "width=\"1200\" height=\""));
    ck_assert_ptr_nonnull(strstr(inside, "width=\"100%\" viewBox="));
    for (i = 0; ids[i]; i++) {
        ck_assert_ptr_nonnull(strstr(alone, ids[i]));
        ck_assert_ptr_nonnull(strstr(inside, ids[i]));
    }
    ck_assert_int_eq(strcmp(alone + strlen(alone) - 7, "</svg>\n"), 0);

    /* format=svg is the standalone graph. */
    {
        rp_view_opts_t o;
        rp_render_t c;
        rp_out_t out;
        memset(&o, 0, sizeof(o));
        memset(&c, 0, sizeof(c));
        rp_out_buffer(&out, pool);
        c.m = m;
        c.o = &o;
        c.out = &out;
        c.p = pool;
        rp_report_svg(&c);
        ck_assert_str_eq(out.buf, alone);
        ck_assert_ptr_nonnull(rp_report_format("svg"));
        ck_assert_int_eq(rp_report_format("svg")->id, RP_FORMAT_SVG);
    }
}
END_TEST

START_TEST(test_focus_title)
{
    static const char *const lines[] = { "/a<b>;f@x.so 10" };
    rp_model_t *m = model(lines, 1);
    const char *svg;

    m->focus = "/a<b>";
    svg = render(m);
    ck_assert_ptr_nonnull(strstr(svg, ">Flame graph, focus: /a&lt;b&gt;"
                                 "</text>"));
}
END_TEST

START_TEST(test_colours)
{
    static const char *const lines[] = {
        "/u;f@/usr/lib/libfoo.so;[truncated] 10",
        "/u;g@/usr/lib/libfoo.so 10",
        "/u;h@/opt/libfoo.so 10",
    };
    const char *svg = render(model(lines, 3));
    const char *uri = strstr(svg, "<title>/u ([uri])");
    const char *trunc = strstr(svg, "<title>[truncated]\n");

    ck_assert_ptr_nonnull(uri);
    ck_assert_ptr_nonnull(trunc);
    ck_assert_ptr_nonnull(strstr(uri, "fill=\"rgb(110,160,225)\""));
    ck_assert_ptr_nonnull(strstr(trunc, "fill=\"rgb(170,170,170)\""));
    /* Warm: every code frame has more red than blue. */
    {
        const char *s = svg;
        int r, g, b, n = 0;
        while ((s = strstr(s, "<title>")) != NULL) {
            const char *f = strstr(s, "fill=\"rgb(");
            s += 7;
            if (strncmp(s, "all", 3) == 0 || strncmp(s, "/u", 2) == 0
                || strncmp(s, "[trunc", 6) == 0) {
                continue;
            }
            ck_assert_int_eq(sscanf(f, "fill=\"rgb(%d,%d,%d)", &r, &g, &b),
                             3);
            ck_assert_int_gt(r, b + 60);
            n++;
        }
        ck_assert_int_eq(n, 3);
    }
}
END_TEST

START_TEST(test_clip)
{
    static const char *const lines[] = {
        "/u;a_function_with_a_long_name_that_does_not_fit@x.so 4",
        "/u;b@x.so 96",
        "/u;wide_name_&_more@x.so 900",
    };
    const char *svg = render(model(lines, 3));
    const char *a = strstr(svg, "<title>a_function");
    const char *t;

    /* 4 of 1000 samples: 4.7 px, no room for any text. */
    ck_assert_ptr_nonnull(a);
    t = strstr(a, "<text ");
    ck_assert_ptr_nonnull(strstr(t, "\"></text>"));
    ck_assert(strstr(t, "\"></text>") < strstr(t, "</g>"));
    /* A wide frame shows the whole escaped name. */
    ck_assert_ptr_nonnull(strstr(svg, ">wide_name_&amp;_more</text>"));
}
END_TEST

START_TEST(test_clip_dots)
{
    static const char *const lines[] = {
        "/u;abcdefghijklmnopqrstuvwxyz&abcdefghijklmnopqrstuvwxyz@x.so 60",
        "/u;zz@x.so 940",
    };
    const char *svg = render(model(lines, 2));
    const char *a = strstr(svg, "<title>abcdef");
    const char *t = strstr(a, "<text ");
    const char *text = strchr(t, '>') + 1;
    double x, w;
    int y, fit;

    ck_assert(frame(svg, "abcdef", &x, &y, &w));
    fit = (int)((w - 6) / (12 * 0.59));
    /* 70.8 px: 9 characters fit, 7 of the name and "..". */
    ck_assert_int_eq(fit, 9);
    ck_assert_int_eq(strncmp(text, "abcdefg..</text>", 16), 0);
}
END_TEST

START_TEST(test_empty)
{
    const rp_model_t *m = model(NULL, 0);
    const char *svg = render(m);

    ck_assert_ptr_nonnull(strstr(svg, "No samples yet."));
    ck_assert_ptr_null(strstr(svg, "<g class=\"f\""));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
}
END_TEST

START_TEST(test_deep)
{
    enum { DEPTH = 3000 };
    char *line = apr_palloc(pool, DEPTH * 8 + 32), *s = line;
    const char *lines[1];
    const char *svg;
    int i;

    s += sprintf(s, "/deep");
    for (i = 0; i < DEPTH; i++) {
        s += sprintf(s, ";f%d@x", i);
    }
    sprintf(s, " 7");
    lines[0] = line;
    svg = render(model(lines, 1));
    ck_assert_int_eq(count(svg, "<g class=\"f\""), DEPTH + 2);
    ck_assert_ptr_nonnull(strstr(svg, "data-d=\"3001\""));
    ck_assert_ptr_nonnull(strstr(svg, "viewBox=\"0 0 1200 48138\""));
}
END_TEST

/* A profile of about 100,000 nodes: 10 URIs, each with 10 x 100 x 100
 * paths, sample counts spread so that many frames are too narrow. */
START_TEST(test_big_profile_pruned)
{
    enum { LINES = 100000 };
    const char **lines = apr_palloc(pool, sizeof(*lines) * LINES);
    const rp_model_t *m;
    apr_size_t len;
    const char *svg;
    int i;
    unsigned seed = 12345;

    for (i = 0; i < LINES; i++) {
        seed = seed * 1103515245u + 12345u;
        lines[i] = apr_psprintf(pool, "/uri%d;main@httpd;mod_%d@mod_%d.so;"
                                "lib_%d@lib%d.so;leaf_%d@lib%d.so %u",
                                i % 10, i % 7, i % 7, i % 100, i % 13, i,
                                i % 13, 1 + (seed >> 16) % 200);
    }
    m = model(lines, LINES);
    ck_assert_int_ge(m->nodes->nelts, 100000);
    /* How long it takes is the render benchmark's business
     * (make -f apxs.mk bench-render), not a unit test's. */
    svg = render_opts(m, 0, 0, "n", 0, &len);
    ck_assert_int_gt(count(svg, "<g class=\"f\""), 1000);
    ck_assert_uint_eq(strlen(svg), len);
    ck_assert_ptr_nonnull(strstr(svg, "frames narrower than 0.1 px"));
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *flame_suite(void)
{
    Suite *s = suite_create("rp_report_flame");
    TCase *tc = tcase_create("svg");
    TCase *tc_big = tcase_create("big");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_widths_proportional);
    tcase_add_test(tc, test_alphabetical_order);
    tcase_add_test(tc, test_escape_markup);
    tcase_add_test(tc, test_escape_invalid_utf8);
    tcase_add_test(tc, test_escape_noncharacters);
    tcase_add_test(tc, test_flame_and_icicle);
    tcase_add_test(tc, test_prune_narrow);
    tcase_add_test(tc, test_prune_min_pct);
    tcase_add_test(tc, test_csp);
    tcase_add_test(tc, test_standalone_and_embedded);
    tcase_add_test(tc, test_focus_title);
    tcase_add_test(tc, test_colours);
    tcase_add_test(tc, test_clip);
    tcase_add_test(tc, test_clip_dots);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_deep);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tc_big, setup, teardown);
    tcase_set_timeout(tc_big, 60);
    tcase_add_test(tc_big, test_big_profile_pruned);
    suite_add_tcase(s, tc_big);
    return s;
}

UNIT_MAIN(flame_suite)
