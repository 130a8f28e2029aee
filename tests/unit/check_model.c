/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * check_model: the model's figures on small profiles whose answers are
 * known by hand: self and cumulative with recursion counted once, callers
 * and callees (with recursion, an edge counted once per stack), children
 * order, pstats' restrictions in their order, the time budget that all
 * names of a table share under match= (no rows and a reason, in every
 * page format, when a regex spends it), a text rendering against a
 * golden string, and the model of one kept request (rp_snapshot_request:
 * its request, where its spans landed, its samples only).
 */

#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "rp_filter.h"
#include "rp_model.h"
#include "rp_out.h"
#include "rp_report.h"
#include "rp_store.h"
#include "rp_symbols.h"
#include "unit_main.h"
#include "unit_pool.h"

/* main -> work -> leaf (6), main -> leaf (2), main -> rec -> rec -> leaf
 * (4, recursion), under two URIs. */
static const char *const PROFILE[] = {
    "/a;main;work;leaf 6",
    "/a;main;leaf 2",
    "/a;main 1",
    "/b;main;rec;rec;leaf 4",
    "/b;main;rec 1",
};
#define NPROFILE (int)(sizeof(PROFILE) / sizeof(PROFILE[0]))

static rp_model_t *model(void)
{
    return rp_model_from_folded(pool, PROFILE, NPROFILE, 1000000);
}

static const rp_func_t *named(const rp_model_t *m, const char *name)
{
    apr_array_header_t *f = rp_model_find(pool, m, name);

    ck_assert_int_eq(f->nelts, 1);
    return rp_model_func(m, ((apr_uint32_t *)f->elts)[0]);
}

START_TEST(test_self_and_cumulative)
{
    rp_model_t *m = model();

    ck_assert_uint_eq(m->samples, 14);
    ck_assert_uint_eq(named(m, "leaf")->self_count, 12);
    ck_assert_uint_eq(named(m, "leaf")->cum_count, 12);
    ck_assert_uint_eq(named(m, "main")->self_count, 1);
    ck_assert_uint_eq(named(m, "main")->cum_count, 14);
    /* rec recurses: its 5 samples once, not 9 */
    ck_assert_uint_eq(named(m, "rec")->cum_count, 5);
    ck_assert_uint_eq(named(m, "rec")->self_count, 1);
    ck_assert_uint_eq(named(m, "work")->cum_ns, 6000000);
}
END_TEST

static apr_uint64_t edge(apr_array_header_t *edges, const rp_model_t *m,
                         const char *name)
{
    int i;

    for (i = 0; i < edges->nelts; i++) {
        const rp_edge_t *e = &((rp_edge_t *)edges->elts)[i];
        if (strcmp(rp_model_func(m, e->func)->name, name) == 0) {
            return e->count;
        }
    }
    return 0;
}

START_TEST(test_callers_and_callees)
{
    rp_model_t *m = model();
    apr_uint32_t leaf = ((apr_uint32_t *)rp_model_find(pool, m, "leaf")
                         ->elts)[0];
    apr_uint32_t rec = ((apr_uint32_t *)rp_model_find(pool, m, "rec")
                        ->elts)[0];
    apr_uint32_t main_ = ((apr_uint32_t *)rp_model_find(pool, m, "main")
                          ->elts)[0];
    apr_array_header_t *e;

    e = rp_model_edges(pool, m, leaf, 1);
    ck_assert_int_eq(e->nelts, 3);
    ck_assert_uint_eq(edge(e, m, "work"), 6);
    ck_assert_uint_eq(edge(e, m, "rec"), 4);
    ck_assert_uint_eq(edge(e, m, "main"), 2);
    /* Most samples first. */
    ck_assert_str_eq(rp_model_func(m, ((rp_edge_t *)e->elts)[0].func)->name,
                     "work");
    /* rec calls rec once per stack (4 + ... the inner rec's 4 are inside
     * the outer rec -> rec edge's own total, counted once). */
    e = rp_model_edges(pool, m, rec, 0);
    ck_assert_uint_eq(edge(e, m, "rec"), 4);
    ck_assert_uint_eq(edge(e, m, "leaf"), 4);
    e = rp_model_edges(pool, m, rec, 1);
    ck_assert_uint_eq(edge(e, m, "main"), 5);
    ck_assert_uint_eq(edge(e, m, "rec"), 4);
    /* An outermost frame's caller is its URI. */
    e = rp_model_edges(pool, m, main_, 1);
    ck_assert_uint_eq(edge(e, m, "/a"), 9);
    ck_assert_uint_eq(edge(e, m, "/b"), 5);
}
END_TEST

START_TEST(test_children_sorted)
{
    rp_model_t *m = model();
    apr_array_header_t *top = rp_model_children(pool, m, 0);
    const rp_tnode_t *first;

    ck_assert_int_eq(top->nelts, 2);
    first = rp_model_node(m, ((apr_uint32_t *)top->elts)[0]);
    ck_assert_str_eq(rp_model_func(m, first->func)->name, "/a");
    ck_assert_uint_eq(first->total_count, 9);
}
END_TEST

static const char *row_names(apr_array_header_t *rows, const rp_model_t *m)
{
    const char *s = "";
    int i;

    for (i = 0; i < rows->nelts; i++) {
        s = apr_pstrcat(pool, s, i ? "," : "",
                        rp_model_func(m, ((apr_uint32_t *)rows->elts)[i])
                        ->name, NULL);
    }
    return s;
}

START_TEST(test_select_in_pstats_order)
{
    rp_model_t *m = model();
    rp_select_t sel = { "cumulative", NULL, 0, 0 };
    rp_filter_t *re = rp_filter_create(pool);
    int total;

    ck_assert_str_eq(row_names(rp_model_select(pool, m, &sel, &total, NULL),
                               m),
                     "main,leaf,work,rec");
    ck_assert_int_eq(total, 4);
    sel.sort = "name";
    ck_assert_str_eq(row_names(rp_model_select(pool, m, &sel, NULL, NULL), m),
                     "leaf,main,rec,work");
    sel.fraction = 0.5;
    ck_assert_str_eq(row_names(rp_model_select(pool, m, &sel, NULL, NULL), m),
                     "leaf,main");
    ck_assert_ptr_null(rp_filter_add(re, pool, RP_RULE_INCLUDE, "^[mrw]",
                                     "t"));
    sel.match = re;
    /* regex first (main, rec, work), then half of them (2 of 3 rounds
     * to 2), then the count */
    ck_assert_str_eq(row_names(rp_model_select(pool, m, &sel, NULL, NULL), m),
                     "main,rec");
    sel.limit = 1;
    ck_assert_str_eq(row_names(rp_model_select(pool, m, &sel, NULL, NULL), m),
                     "main");
}
END_TEST

/* NAMES one-frame stacks "/u;function_NNNNN_with_a_long_name". */
static rp_model_t *many_names(int names)
{
    const char **lines = apr_palloc(pool, sizeof(*lines) * names);
    int i;

    for (i = 0; i < names; i++) {
        lines[i] = apr_psprintf(pool, "/u;function_%05d_with_a_long_name %d",
                                i, 1 + i % 7);
    }
    return rp_model_from_folded(pool, lines, names, 1000000);
}

static const char *render_view(const rp_model_t *m, const rp_select_t *sel,
                               void (*fn)(const rp_render_t *c))
{
    rp_view_opts_t o;
    rp_page_t page;
    rp_render_t c;
    rp_out_t out;

    memset(&o, 0, sizeof(o));
    memset(&page, 0, sizeof(page));
    o.view = RP_VIEW_FUNCTIONS;
    o.select = *sel;
    o.match = "^(\\w+)+_$";
    page.self = "/reqprof";
    page.version = "t";
    page.host = "h:80";
    rp_out_buffer(&out, pool);
    c.m = m;
    c.o = &o;
    c.page = &page;
    c.out = &out;
    c.p = pool;
    fn(&c);
    return out.buf;
}

/* PCRE2's match limit bounds one name; ^(\w+)+_$ hits it on every name
 * (about 0.4 ms each), so ten thousand names would take seconds.  The
 * names of a table share a budget: past it, no rows and a reason. */
START_TEST(test_match_budget)
{
    rp_model_t *m = many_names(10000);
    rp_filter_t *bad = rp_filter_create(pool), *good = rp_filter_create(pool);
    rp_select_t sel = { "self", NULL, 0, 0, 0 };
    apr_array_header_t *rows;
    const char *err = "unset", *out;
    int total;

    ck_assert_ptr_null(rp_filter_add(bad, pool, RP_RULE_INCLUDE,
                                     "^(\\w+)+_$", "t"));
    ck_assert_ptr_null(rp_filter_add(good, pool, RP_RULE_INCLUDE,
                                     "^function_0000", "t"));
    sel.match = bad;
    sel.match_budget = apr_time_from_msec(5);
    rows = rp_model_select(pool, m, &sel, &total, &err);
    ck_assert_int_eq(total, 10000);
    ck_assert_int_eq(rows->nelts, 0);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strncmp(err, "match: the regex took more than 5 ms", 36)
                  == 0, "%s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    /* The default budget ends it too (10,000 names would take seconds). */
    sel.match_budget = 0;
    rows = rp_model_select(pool, m, &sel, NULL, &err);
    ck_assert_int_eq(rows->nelts, 0);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "250 ms"));
    /* No place for the reason: still no rows. */
    sel.match_budget = apr_time_from_msec(5);
    ck_assert_int_eq(rp_model_select(pool, m, &sel, NULL, NULL)->nelts, 0);
    /* A plain regex stays well inside the budget: rows, no reason. */
    sel.match = good;
    sel.match_budget = 0;
    rows = rp_model_select(pool, m, &sel, NULL, &err);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(rows->nelts, 10);
    sel.limit = 3;
    ck_assert_int_eq(rp_model_select(pool, m, &sel, NULL, &err)->nelts, 3);
    ck_assert_ptr_null(err);

    /* Every page format says so where the rows would be. */
    sel.match = bad;
    sel.limit = 0;
    sel.match_budget = apr_time_from_msec(5);
    out = render_view(m, &sel, rp_report_text);
    ck_assert_ptr_nonnull(strstr(out, "0 of 10000 functions"));
    ck_assert_ptr_nonnull(strstr(out, "\nnotice           match: the "
                                      "regex took more than 5 ms"));
    out = render_view(m, &sel, rp_report_json);
    ck_assert_ptr_nonnull(strstr(out, "\"match_error\": \"match: the regex "
                                      "took more than 5 ms"));
    ck_assert_ptr_nonnull(strstr(out, "\"notice\": \"match: the regex"));
    ck_assert_ptr_nonnull(strstr(out, "\"functions\": []"));
    out = render_view(m, &sel, rp_report_html);
    ck_assert_ptr_nonnull(strstr(out, "<p class=\"notice\" id=\"match-budget\""
                                      ">match: the regex took more than 5 "
                                      "ms"));
}
END_TEST

START_TEST(test_text_functions_golden)
{
    static const char golden[] =
        "profile: 14 samples, 14.0 ms estimated\n"
        "4 of 4 functions, sorted by self\n\n"
        "    self  self%    self ms      cum   cum%     cum ms  "
        "function  (file)\n"
        "      12  85.7%      12.00       12  85.7%      12.00  leaf  ()\n"
        "       1   7.1%       1.00       14 100.0%      14.00  main  ()\n"
        "       1   7.1%       1.00        5  35.7%       5.00  rec  ()\n"
        "       0   0.0%       0.00        6  42.9%       6.00  work  ()\n";
    rp_model_t *m = model();
    rp_view_opts_t o;
    rp_page_t page;
    rp_render_t c;
    rp_out_t out;

    memset(&o, 0, sizeof(o));
    memset(&page, 0, sizeof(page));
    o.view = RP_VIEW_FUNCTIONS;
    o.select.sort = "self";
    rp_out_buffer(&out, pool);
    c.m = m;
    c.o = &o;
    c.page = &page;
    c.out = &out;
    c.p = pool;
    rp_report_text(&c);
    ck_assert_str_eq(out.buf, golden);
}
END_TEST

START_TEST(test_links_keep_options)
{
    rp_view_opts_t o;
    rp_render_t c;

    memset(&o, 0, sizeof(o));
    memset(&c, 0, sizeof(c));
    o.view = RP_VIEW_FUNCTIONS;
    o.select.sort = "self";
    o.select.limit = 50;
    o.focus = "/a b&c";
    c.o = &o;
    c.p = pool;
    ck_assert_str_eq(rp_report_link(&c, "sort", "name", NULL),
                     "?view=functions&sort=name&limit=50&strip=0"
                     "&uri=/a%20b%26c");
    ck_assert_str_eq(rp_report_link(&c, "uri", NULL, "view", "tree", NULL),
                     "?view=tree&sort=self&limit=50&strip=0");
}
END_TEST

/* The model of one kept request (rp_snapshot_request): the request it is
 * of, where each of its spans landed, and only its samples. */
START_TEST(test_request_model)
{
    static const int which[6] = { 0, 0, 1, 0, 2, 2 };
    apr_size_t size = rp_store_segment_size(1, 256 * 1024);
    void *base = apr_palloc(pool, size);
    rp_keep_policy_t kp = { 4, 0, 0 };
    rp_symbols_t *syms = rp_symbols_create(pool);
    rp_frame_t st[3][2];
    rp_sample_view_t sm[6];
    rp_request_info_t req;
    rp_keep_info_t ki;
    rp_snapshot_t *snap, *one;
    const rp_kept_t *k;
    rp_model_t *m;
    apr_uint64_t self = 0;
    rp_store_t *s;
    int i;

    ck_assert_int_eq(rp_store_format(base, size, 1, 256 * 1024), APR_SUCCESS);
    s = rp_store_attach(pool, base, size);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(rp_store_claim(s, 100, NULL), 0);
    rp_store_set_keep(s, &kp);
    /* Leaves 0x10, 0x20, 0x30 below one outer frame 0x1, of no object. */
    for (i = 0; i < 3; i++) {
        st[i][0].kind = RP_FRAME_REAL;
        st[i][0].object = RP_STORE_NONE;
        st[i][0].rel = 0x10 * (apr_uint64_t)(i + 1);
        st[i][1].kind = RP_FRAME_REAL;
        st[i][1].object = RP_STORE_NONE;
        st[i][1].rel = 0x1;
    }
    memset(sm, 0, sizeof(sm));
    for (i = 0; i < 6; i++) {
        sm[i].frames = st[which[i]];
        sm[i].offcpu = 0;
        sm[i].depth = 2;
        sm[i].weight_ns = 1000000;
        sm[i].end_us = 1000 * (apr_uint64_t)(i + 1);
    }
    memset(&req, 0, sizeof(req));
    memset(&ki, 0, sizeof(ki));
    req.method = "GET";
    req.uri = "/m";
    req.status = 200;
    req.wall_us = 6000;
    req.keep = &ki;
    ki.id = "one";
    rp_store_add_request(s, 0, &req, sm, 6, NULL);
    /* Another request of the same URI, not of the request's profile. */
    ki.id = "two";
    rp_store_add_request(s, 0, &req, sm, 2, NULL);

    snap = rp_store_snapshot_ex(s, pool, RP_SNAP_KEPT, "one");
    m = rp_model_build(pool, snap, syms, NULL, 0);
    ck_assert_ptr_null(m->request);
    ck_assert_ptr_null(m->span_nodes);
    ck_assert_uint_eq(m->samples, 8);

    one = rp_snapshot_request(pool, snap, "one");
    ck_assert_ptr_nonnull(one);
    k = rp_snapshot_kept(one);
    m = rp_model_build(pool, one, syms, NULL, 0);
    ck_assert_ptr_eq(m->request, k);
    ck_assert_ptr_nonnull(m->span_nodes);
    /* 0x10 twice, 0x20, 0x10, 0x30 twice: four spans. */
    ck_assert_uint_eq(k->n_spans, 4);
    for (i = 0; i < 4; i++) {
        ck_assert_uint_ne(m->span_nodes[i], RP_MODEL_NONE);
        ck_assert_uint_lt(m->span_nodes[i], (apr_uint32_t)m->nodes->nelts);
    }
    ck_assert_uint_eq(m->span_nodes[0], m->span_nodes[2]);
    ck_assert_uint_ne(m->span_nodes[0], m->span_nodes[1]);
    ck_assert_str_eq(
        rp_model_func(m, rp_model_node(m, m->span_nodes[0])->func)->name,
        "0x10");
    ck_assert_str_eq(
        rp_model_func(m, rp_model_node(m, m->span_nodes[1])->func)->name,
        "0x20");
    ck_assert_str_eq(
        rp_model_func(m, rp_model_node(m, m->span_nodes[3])->func)->name,
        "0x30");
    ck_assert_uint_eq(rp_model_node(m, m->span_nodes[0])->self_count, 3);
    ck_assert_uint_eq(rp_model_node(m, m->span_nodes[3])->self_count, 2);
    /* The function table holds the request's samples, no more. */
    ck_assert_uint_eq(m->samples, 6);
    ck_assert_uint_eq(k->samples, 6);
    for (i = 0; i < m->funcs->nelts; i++) {
        self += rp_model_func(m, (apr_uint32_t)i)->self_count;
    }
    ck_assert_uint_eq(self, 6);
    ck_assert_uint_eq(named(m, "0x10")->self_count, 3);
    ck_assert_uint_eq(named(m, "0x1")->cum_count, 6);
    ck_assert_uint_eq(m->counters[RP_CTR_REQUESTS], 1);
    ck_assert_uint_eq(m->counters[RP_CTR_SAMPLES], 6);
    ck_assert_int_eq(m->uris->nelts, 1);
    ck_assert_uint_eq(((rp_model_uri_t *)m->uris->elts)[0].requests, 1);
    ck_assert_uint_eq(((rp_model_uri_t *)m->uris->elts)[0].sum_wall_us, 6000);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("rp_model");
    TCase *tc = tcase_create("model");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_self_and_cumulative);
    tcase_add_test(tc, test_callers_and_callees);
    tcase_add_test(tc, test_children_sorted);
    tcase_add_test(tc, test_select_in_pstats_order);
    tcase_add_test(tc, test_text_functions_golden);
    tcase_add_test(tc, test_match_budget);
    tcase_add_test(tc, test_links_keep_options);
    tcase_add_test(tc, test_request_model);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(model_suite)
