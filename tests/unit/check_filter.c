/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of rp_filter, the include/exclude lists of PCRE2 patterns that
 * decide which request paths are profiled: an empty filter profiles every
 * path, exclude wins over include, a non-empty include list must match,
 * rp_filter_explain names the first matching rule, patterns search anywhere
 * in the path and match bytes (invalid UTF-8 included, (*UTF) refused),
 * compile errors carry PCRE2's message and offset, a virtual host's list
 * replaces the main server's of the same kind only, a catastrophic pattern
 * costs a bounded time, and several threads can match at once.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rp_filter.h"

#include "unit_main.h"
#include "unit_pool.h"

/* Add PATTERN to KIND, which must compile. */
static void add_ok(rp_filter_t *f, rp_rule_kind_e kind, const char *pattern,
                   const char *where)
{
    const char *err = rp_filter_add(f, pool, kind, pattern, where);

    ck_assert_msg(err == NULL, "pattern '%s' refused: %s", pattern, err);
}

static int match(const rp_filter_t *f, const char *path)
{
    return rp_filter_match(f, path, strlen(path));
}

/* What PCRE2 itself says of PATTERN compiled as rp_filter compiles it. */
static const char *pcre2_reason(const char *pattern)
{
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off;
    pcre2_code *code;
    int err;

    code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                         PCRE2_NEVER_UTF, &err, &off, NULL);
    ck_assert_msg(code == NULL, "'%s' unexpectedly compiles", pattern);
    pcre2_get_error_message(err, msg, sizeof(msg));
    return apr_psprintf(pool, "%s at offset %" APR_SIZE_T_FMT,
                        (const char *)msg, (apr_size_t)off);
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3
           + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* ------------------------------------------------------------------ */
/* Semantics */

START_TEST(test_empty_profiles_everything)
{
    rp_filter_t *f = rp_filter_create(pool);
    rp_explain_t ex;

    ck_assert_int_eq(rp_filter_count(f, RP_RULE_INCLUDE), 0);
    ck_assert_int_eq(rp_filter_count(f, RP_RULE_EXCLUDE), 0);
    ck_assert_int_eq(match(f, "/"), 1);
    ck_assert_int_eq(match(f, "/anything/at/all"), 1);
    ck_assert_int_eq(rp_filter_match(f, "", 0), 1);

    rp_filter_explain(f, "/x", 2, &ex);
    ck_assert_int_eq(ex.profile, 1);
    ck_assert_int_eq(ex.why, RP_WHY_NO_RULES);
    ck_assert_int_eq(ex.index, -1);
    ck_assert_ptr_null(ex.pattern);
    ck_assert_ptr_null(ex.where);
    ck_assert_int_eq(ex.limit_hits, 0);
}
END_TEST

START_TEST(test_exclude_only)
{
    rp_filter_t *f = rp_filter_create(pool);
    rp_explain_t ex;

    add_ok(f, RP_RULE_EXCLUDE, "^/static/", "t.conf:1");
    ck_assert_int_eq(match(f, "/static/a.css"), 0);
    ck_assert_int_eq(match(f, "/app"), 1);

    rp_filter_explain(f, "/app", 4, &ex);
    ck_assert_int_eq(ex.profile, 1);
    ck_assert_int_eq(ex.why, RP_WHY_NO_RULES);
    ck_assert_int_eq(ex.index, -1);
    ck_assert_ptr_null(ex.pattern);

    rp_filter_explain(f, "/static/a.css", 13, &ex);
    ck_assert_int_eq(ex.profile, 0);
    ck_assert_int_eq(ex.why, RP_WHY_EXCLUDED);
    ck_assert_int_eq(ex.kind, RP_RULE_EXCLUDE);
    ck_assert_int_eq(ex.index, 0);
    ck_assert_str_eq(ex.pattern, "^/static/");
    ck_assert_str_eq(ex.where, "t.conf:1");
}
END_TEST

START_TEST(test_exclude_wins_over_include)
{
    rp_filter_t *f = rp_filter_create(pool);
    rp_explain_t ex;

    add_ok(f, RP_RULE_INCLUDE, "^/api/", "t.conf:1");
    add_ok(f, RP_RULE_EXCLUDE, "^/api/health$", "t.conf:2");

    ck_assert_int_eq(match(f, "/api/users"), 1);
    ck_assert_int_eq(match(f, "/api/health"), 0);

    rp_filter_explain(f, "/api/health", 11, &ex);
    ck_assert_int_eq(ex.profile, 0);
    ck_assert_int_eq(ex.why, RP_WHY_EXCLUDED);
    ck_assert_int_eq(ex.kind, RP_RULE_EXCLUDE);
    ck_assert_int_eq(ex.index, 0);
    ck_assert_str_eq(ex.pattern, "^/api/health$");
    ck_assert_str_eq(ex.where, "t.conf:2");
}
END_TEST

START_TEST(test_include_must_match)
{
    rp_filter_t *f = rp_filter_create(pool);
    rp_explain_t ex;

    add_ok(f, RP_RULE_INCLUDE, "^/api/", "t.conf:7");
    ck_assert_int_eq(match(f, "/api/x"), 1);
    ck_assert_int_eq(match(f, "/other"), 0);
    ck_assert_int_eq(match(f, "/ap"), 0);

    rp_filter_explain(f, "/other", 6, &ex);
    ck_assert_int_eq(ex.profile, 0);
    ck_assert_int_eq(ex.why, RP_WHY_NOT_INCLUDED);
    ck_assert_int_eq(ex.kind, RP_RULE_INCLUDE);
    ck_assert_int_eq(ex.index, -1);
    ck_assert_ptr_null(ex.pattern);
    ck_assert_ptr_null(ex.where);

    rp_filter_explain(f, "/api/x", 6, &ex);
    ck_assert_int_eq(ex.profile, 1);
    ck_assert_int_eq(ex.why, RP_WHY_INCLUDED);
    ck_assert_int_eq(ex.kind, RP_RULE_INCLUDE);
    ck_assert_int_eq(ex.index, 0);
    ck_assert_str_eq(ex.pattern, "^/api/");
    ck_assert_str_eq(ex.where, "t.conf:7");
}
END_TEST

START_TEST(test_several_patterns_first_match_reported)
{
    rp_filter_t *f = rp_filter_create(pool);
    rp_explain_t ex;

    add_ok(f, RP_RULE_INCLUDE, "^/a/", "i.conf:1");
    add_ok(f, RP_RULE_INCLUDE, "^/b/", "i.conf:2");
    add_ok(f, RP_RULE_INCLUDE, "^/b/c", "i.conf:3");
    add_ok(f, RP_RULE_EXCLUDE, "\\.png$", "e.conf:1");
    add_ok(f, RP_RULE_EXCLUDE, "\\.(png|css)$", "e.conf:2");
    add_ok(f, RP_RULE_EXCLUDE, "/secret", NULL);

    ck_assert_int_eq(rp_filter_count(f, RP_RULE_INCLUDE), 3);
    ck_assert_int_eq(rp_filter_count(f, RP_RULE_EXCLUDE), 3);

    /* Both include 1 and 2 match: the first (index 1) decides. */
    rp_filter_explain(f, "/b/c/d", 6, &ex);
    ck_assert_int_eq(ex.profile, 1);
    ck_assert_int_eq(ex.why, RP_WHY_INCLUDED);
    ck_assert_int_eq(ex.kind, RP_RULE_INCLUDE);
    ck_assert_int_eq(ex.index, 1);
    ck_assert_str_eq(ex.pattern, "^/b/");
    ck_assert_str_eq(ex.where, "i.conf:2");

    /* Both exclude 0 and 1 match: index 0. */
    rp_filter_explain(f, "/a/x.png", 8, &ex);
    ck_assert_int_eq(ex.profile, 0);
    ck_assert_int_eq(ex.why, RP_WHY_EXCLUDED);
    ck_assert_int_eq(ex.kind, RP_RULE_EXCLUDE);
    ck_assert_int_eq(ex.index, 0);
    ck_assert_str_eq(ex.pattern, "\\.png$");
    ck_assert_str_eq(ex.where, "e.conf:1");

    /* Only exclude 1 matches. */
    rp_filter_explain(f, "/a/x.css", 8, &ex);
    ck_assert_int_eq(ex.profile, 0);
    ck_assert_int_eq(ex.index, 1);
    ck_assert_str_eq(ex.pattern, "\\.(png|css)$");
    ck_assert_str_eq(ex.where, "e.conf:2");

    /* A rule without origin. */
    rp_filter_explain(f, "/a/secret", 9, &ex);
    ck_assert_int_eq(ex.profile, 0);
    ck_assert_int_eq(ex.why, RP_WHY_EXCLUDED);
    ck_assert_int_eq(ex.index, 2);
    ck_assert_str_eq(ex.pattern, "/secret");
    ck_assert_ptr_null(ex.where);

    /* The third include only. */
    ck_assert_int_eq(match(f, "/c/d"), 0);
    ck_assert_int_eq(match(f, "/a/x.html"), 1);

    /* explain and match agree. */
    rp_filter_explain(f, "/c/d", 4, &ex);
    ck_assert_int_eq(ex.profile, 0);
    ck_assert_int_eq(ex.why, RP_WHY_NOT_INCLUDED);
}
END_TEST

START_TEST(test_search_mode_unanchored)
{
    rp_filter_t *f = rp_filter_create(pool);

    add_ok(f, RP_RULE_INCLUDE, "admin", NULL);
    ck_assert_int_eq(match(f, "/x/admin/y"), 1);
    ck_assert_int_eq(match(f, "/superadministrator"), 1);
    ck_assert_int_eq(match(f, "admin"), 1);
    ck_assert_int_eq(match(f, "/adm/in"), 0);

    /* Anchors restrict it. */
    f = rp_filter_create(pool);
    add_ok(f, RP_RULE_INCLUDE, "^/admin$", NULL);
    ck_assert_int_eq(match(f, "/admin"), 1);
    ck_assert_int_eq(match(f, "/x/admin"), 0);
    ck_assert_int_eq(match(f, "/admin/"), 0);
}
END_TEST

START_TEST(test_length_is_honoured)
{
    rp_filter_t *f = rp_filter_create(pool);
    static const char nul_path[] = "/a\0b";

    add_ok(f, RP_RULE_INCLUDE, "X", NULL);
    /* Only the first LEN bytes are the path. */
    ck_assert_int_eq(rp_filter_match(f, "/abcX", 5), 1);
    ck_assert_int_eq(rp_filter_match(f, "/abcX", 4), 0);

    /* An embedded NUL is one more byte, not the end. */
    f = rp_filter_create(pool);
    add_ok(f, RP_RULE_INCLUDE, "b$", NULL);
    ck_assert_int_eq(rp_filter_match(f, nul_path, sizeof(nul_path) - 1), 1);
    f = rp_filter_create(pool);
    add_ok(f, RP_RULE_INCLUDE, "a\\x00b", NULL);
    ck_assert_int_eq(rp_filter_match(f, nul_path, sizeof(nul_path) - 1), 1);
}
END_TEST

START_TEST(test_invalid_utf8_bytes)
{
    rp_filter_t *f = rp_filter_create(pool);
    apr_uint32_t hits = rp_filter_limit_hits();
    rp_explain_t ex;

    add_ok(f, RP_RULE_INCLUDE, "^/", NULL);
    ck_assert_int_eq(match(f, "/\xff\xfe"), 1);
    ck_assert_int_eq(match(f, "/\xc0\xaf"), 1);
    ck_assert_int_eq(match(f, "/\xed\xa0\x80"), 1);

    /* A byte pattern matches a byte of an invalid sequence. */
    f = rp_filter_create(pool);
    add_ok(f, RP_RULE_INCLUDE, "\\xfe$", NULL);
    ck_assert_int_eq(match(f, "/\xff\xfe"), 1);
    ck_assert_int_eq(match(f, "/\xfe\xff"), 0);

    /* . is one byte, not one character. */
    f = rp_filter_create(pool);
    add_ok(f, RP_RULE_INCLUDE, "^/..$", NULL);
    ck_assert_int_eq(match(f, "/\xff\xfe"), 1);
    ck_assert_int_eq(match(f, "/\xc3\xa9"), 1);   /* e-acute: 2 bytes */

    rp_filter_explain(f, "/\xff\xfe", 3, &ex);
    ck_assert_int_eq(ex.profile, 1);
    ck_assert_int_eq(ex.why, RP_WHY_INCLUDED);
    ck_assert_int_eq(ex.limit_hits, 0);
    /* No error of any kind was counted. */
    ck_assert_uint_eq(rp_filter_limit_hits(), hits);
}
END_TEST

START_TEST(test_compile_errors)
{
    static const struct {
        const char *pattern;
        const char *message;    /* part of PCRE2's message */
    } bad[] = {
        { "(", "missing closing parenthesis" },
        { "a{2,1}", "numbers out of order" },
        { "[z-a]", "range out of order" },
        { "x)", "closing parenthesis" },
        { "\\", "\\ at end of pattern" },
        { NULL, NULL }
    };
    rp_filter_t *f = rp_filter_create(pool);
    const char *err;
    int i;

    for (i = 0; bad[i].pattern; i++) {
        err = rp_filter_add(f, pool, RP_RULE_INCLUDE, bad[i].pattern, "x:1");
        ck_assert_msg(err != NULL, "'%s' accepted", bad[i].pattern);
        ck_assert_msg(strstr(err, bad[i].message) != NULL,
                      "'%s': reason '%s' lacks '%s'", bad[i].pattern, err,
                      bad[i].message);
        ck_assert_msg(strstr(err, "at offset ") != NULL,
                      "'%s': reason '%s' lacks the offset", bad[i].pattern,
                      err);
        ck_assert_str_eq(err, pcre2_reason(bad[i].pattern));
    }
    /* Known offsets. */
    err = rp_filter_add(f, pool, RP_RULE_EXCLUDE, "(", NULL);
    ck_assert_str_eq(err, "missing closing parenthesis at offset 1");
    err = rp_filter_add(f, pool, RP_RULE_EXCLUDE, "[z-a]", NULL);
    ck_assert_ptr_nonnull(strstr(err, "at offset 3"));

    /* Nothing was added by a failure. */
    ck_assert_int_eq(rp_filter_count(f, RP_RULE_INCLUDE), 0);
    ck_assert_int_eq(rp_filter_count(f, RP_RULE_EXCLUDE), 0);
    ck_assert_int_eq(match(f, "/x"), 1);
}
END_TEST

START_TEST(test_backreference)
{
    rp_filter_t *f = rp_filter_create(pool);

    /* Groups capture, so a backreference compiles and works. */
    ck_assert_ptr_null(rp_filter_add(f, pool, RP_RULE_INCLUDE,
                                     "^/(\\w+)/\\1$", "t:1"));
    ck_assert_int_eq(rp_filter_match(f, "/ab/ab", 6), 1);
    ck_assert_int_eq(rp_filter_match(f, "/ab/cd", 6), 0);
}
END_TEST

START_TEST(test_utf_refused)
{
    rp_filter_t *f = rp_filter_create(pool);
    const char *err;

    err = rp_filter_add(f, pool, RP_RULE_INCLUDE, "(*UTF)^/caf\xc3\xa9", NULL);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "UTF") != NULL, "reason: %s", err);
    ck_assert_msg(strstr(err, "at offset ") != NULL, "reason: %s", err);
    ck_assert_str_eq(err, pcre2_reason("(*UTF)^/caf\xc3\xa9"));
    ck_assert_int_eq(rp_filter_count(f, RP_RULE_INCLUDE), 0);

    /* A UTF-8 literal without (*UTF) is a byte string, and allowed. */
    add_ok(f, RP_RULE_INCLUDE, "^/caf\xc3\xa9$", NULL);
    ck_assert_int_eq(match(f, "/caf\xc3\xa9"), 1);
    ck_assert_int_eq(match(f, "/cafe"), 0);
}
END_TEST

START_TEST(test_merge)
{
    rp_filter_t *base = rp_filter_create(pool);
    rp_filter_t *add = rp_filter_create(pool);
    rp_filter_t *empty = rp_filter_create(pool);
    rp_filter_t *m;
    const char *where;

    add_ok(base, RP_RULE_INCLUDE, "^/main/", "main.conf:1");
    add_ok(base, RP_RULE_INCLUDE, "^/both/", "main.conf:2");
    add_ok(base, RP_RULE_EXCLUDE, "\\.css$", "main.conf:3");
    add_ok(add, RP_RULE_INCLUDE, "^/vhost/", "vhost.conf:1");

    /* The vhost's include list replaces the main one; exclude inherited. */
    m = rp_filter_merge(pool, base, add);
    ck_assert_int_eq(rp_filter_count(m, RP_RULE_INCLUDE), 1);
    ck_assert_int_eq(rp_filter_count(m, RP_RULE_EXCLUDE), 1);
    ck_assert_str_eq(rp_filter_pattern(m, RP_RULE_INCLUDE, 0, &where),
                     "^/vhost/");
    ck_assert_str_eq(where, "vhost.conf:1");
    ck_assert_str_eq(rp_filter_pattern(m, RP_RULE_EXCLUDE, 0, &where),
                     "\\.css$");
    ck_assert_str_eq(where, "main.conf:3");
    ck_assert_int_eq(match(m, "/vhost/x"), 1);
    ck_assert_int_eq(match(m, "/main/x"), 0);
    ck_assert_int_eq(match(m, "/both/x"), 0);
    ck_assert_int_eq(match(m, "/vhost/x.css"), 0);

    /* Neither input changed. */
    ck_assert_int_eq(rp_filter_count(base, RP_RULE_INCLUDE), 2);
    ck_assert_int_eq(match(base, "/main/x"), 1);
    ck_assert_int_eq(rp_filter_count(add, RP_RULE_EXCLUDE), 0);
    ck_assert_int_eq(match(add, "/vhost/x.css"), 1);

    /* An exclude-only vhost: its excludes replace, includes inherited. */
    add = rp_filter_create(pool);
    add_ok(add, RP_RULE_EXCLUDE, "^/main/private", "vhost.conf:9");
    m = rp_filter_merge(pool, base, add);
    ck_assert_int_eq(rp_filter_count(m, RP_RULE_INCLUDE), 2);
    ck_assert_int_eq(rp_filter_count(m, RP_RULE_EXCLUDE), 1);
    ck_assert_int_eq(match(m, "/main/x.css"), 1);       /* base's gone */
    ck_assert_int_eq(match(m, "/main/private"), 0);
    ck_assert_int_eq(match(m, "/other"), 0);

    /* An empty vhost inherits everything; an empty base gives the vhost's. */
    m = rp_filter_merge(pool, base, empty);
    ck_assert_int_eq(rp_filter_count(m, RP_RULE_INCLUDE), 2);
    ck_assert_int_eq(rp_filter_count(m, RP_RULE_EXCLUDE), 1);
    ck_assert_int_eq(match(m, "/main/x"), 1);
    ck_assert_int_eq(match(m, "/main/x.css"), 0);
    m = rp_filter_merge(pool, empty, base);
    ck_assert_int_eq(rp_filter_count(m, RP_RULE_INCLUDE), 2);
    ck_assert_int_eq(match(m, "/both/y"), 1);
    m = rp_filter_merge(pool, empty, empty);
    ck_assert_int_eq(match(m, "/anything"), 1);
}
END_TEST

START_TEST(test_count_and_pattern)
{
    rp_filter_t *f = rp_filter_create(pool);
    const char *where = "unset";
    char pattern[] = "^/mutable/";

    add_ok(f, RP_RULE_EXCLUDE, "^/e0", "a.conf:10");
    add_ok(f, RP_RULE_EXCLUDE, "^/e1", NULL);
    add_ok(f, RP_RULE_INCLUDE, pattern, "b.conf:3");
    ck_assert_int_eq(rp_filter_count(f, RP_RULE_EXCLUDE), 2);
    ck_assert_int_eq(rp_filter_count(f, RP_RULE_INCLUDE), 1);

    ck_assert_str_eq(rp_filter_pattern(f, RP_RULE_EXCLUDE, 0, &where),
                     "^/e0");
    ck_assert_str_eq(where, "a.conf:10");
    ck_assert_str_eq(rp_filter_pattern(f, RP_RULE_EXCLUDE, 1, &where),
                     "^/e1");
    ck_assert_ptr_null(where);
    ck_assert_str_eq(rp_filter_pattern(f, RP_RULE_EXCLUDE, 1, NULL), "^/e1");

    /* The filter keeps its own copy of the pattern. */
    pattern[1] = 'X';
    ck_assert_str_eq(rp_filter_pattern(f, RP_RULE_INCLUDE, 0, &where),
                     "^/mutable/");
    ck_assert_str_eq(where, "b.conf:3");

    ck_assert_str_eq(rp_filter_kind_name(RP_RULE_INCLUDE), "ReqProfInclude");
    ck_assert_str_eq(rp_filter_kind_name(RP_RULE_EXCLUDE), "ReqProfExclude");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bounded cost */

START_TEST(test_redos_bounded)
{
    rp_filter_t *f = rp_filter_create(pool);
    apr_size_t len = 8000 + 1;
    char *path = apr_palloc(pool, len + 1);
    apr_uint32_t hits_before;
    struct timespec t0, t1;
    double ms, best = 1e9;
    rp_explain_t ex;
    int i, r;

    memset(path, 'a', len - 1);
    path[len - 1] = 'b';
    path[len] = '\0';
    add_ok(f, RP_RULE_INCLUDE, "^(a+)+$", NULL);

    /* Warm-up: the thread's match data is created on its first match. */
    ck_assert_int_eq(match(f, "aa"), 1);

    hits_before = rp_filter_limit_hits();
    /* Best of three, so that a preemption does not fail the test. */
    for (i = 0; i < 3; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = rp_filter_match(f, path, len);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ck_assert_int_eq(r, 0);
        ms = elapsed_ms(&t0, &t1);
        if (ms < best) {
            best = ms;
        }
    }
    ck_assert_msg(best < 5.0, "^(a+)+$ took %.3f ms", best);
    /* Most likely the limit stopped it; if PCRE2 was fast on its own, the
     * counter may be unchanged, but it never goes backwards. */
    ck_assert_uint_ge(rp_filter_limit_hits(), hits_before);

    /* explain gives the same answer and counts its own limit hits. */
    hits_before = rp_filter_limit_hits();
    rp_filter_explain(f, path, len, &ex);
    ck_assert_int_eq(ex.profile, 0);
    ck_assert_int_eq(ex.why, RP_WHY_NOT_INCLUDED);
    ck_assert_int_eq(ex.index, -1);
    ck_assert_int_eq(ex.limit_hits,
                     (int)(rp_filter_limit_hits() - hits_before));

    /* A limit hit in an exclude pattern is "no match": not excluded. */
    f = rp_filter_create(pool);
    add_ok(f, RP_RULE_EXCLUDE, "^(a+)+$", NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = rp_filter_match(f, path, len);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(r, 1);
    ck_assert_msg(elapsed_ms(&t0, &t1) < 50.0, "exclude took %.3f ms",
                  elapsed_ms(&t0, &t1));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads */

#define N_THREADS   4
#define N_MATCHES   10000

typedef struct {
    const rp_filter_t *f;
    int id;
    int wrong;          /* matches with a wrong result */
} worker_t;

static void *worker(void *arg)
{
    static const struct {
        const char *path;
        int expect;
    } cases[] = {
        { "/api/users", 1 },
        { "/api/health", 0 },
        { "/static/x.css", 0 },
        { "/home", 0 },
        { "/api/\xff\xfe", 1 },
        { "/api/x.css", 0 },
        { "/api/v2/items/42", 1 }
    };
    worker_t *w = arg;
    apr_size_t ncases = sizeof(cases) / sizeof(cases[0]);
    int i;

    for (i = 0; i < N_MATCHES; i++) {
        apr_size_t c = (apr_size_t)(i + w->id) % ncases;

        if (rp_filter_match(w->f, cases[c].path, strlen(cases[c].path))
            != cases[c].expect) {
            w->wrong++;
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    rp_filter_t *f = rp_filter_create(pool);
    pthread_t tid[N_THREADS];
    worker_t w[N_THREADS];
    int i;

    add_ok(f, RP_RULE_INCLUDE, "^/api/", NULL);
    add_ok(f, RP_RULE_EXCLUDE, "^/api/health$", NULL);
    add_ok(f, RP_RULE_EXCLUDE, "\\.css$", NULL);

    for (i = 0; i < N_THREADS; i++) {
        w[i].f = f;
        w[i].id = i;
        w[i].wrong = 0;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, worker, &w[i]), 0);
    }
    for (i = 0; i < N_THREADS; i++) {
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
    }
    for (i = 0; i < N_THREADS; i++) {
        ck_assert_msg(w[i].wrong == 0, "thread %d: %d wrong results", i,
                      w[i].wrong);
    }
    /* The main thread still matches after the workers are gone. */
    ck_assert_int_eq(match(f, "/api/users"), 1);
    ck_assert_int_eq(match(f, "/api/health"), 0);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *filter_suite(void)
{
    Suite *s = suite_create("rp_filter");
    TCase *tc = tcase_create("semantics");
    TCase *tc_cost = tcase_create("cost");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_empty_profiles_everything);
    tcase_add_test(tc, test_exclude_only);
    tcase_add_test(tc, test_exclude_wins_over_include);
    tcase_add_test(tc, test_include_must_match);
    tcase_add_test(tc, test_several_patterns_first_match_reported);
    tcase_add_test(tc, test_search_mode_unanchored);
    tcase_add_test(tc, test_length_is_honoured);
    tcase_add_test(tc, test_invalid_utf8_bytes);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_utf_refused);
    tcase_add_test(tc, test_backreference);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_count_and_pattern);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tc_cost, setup, teardown);
    tcase_set_timeout(tc_cost, 30);
    tcase_add_test(tc_cost, test_redos_bounded);
    tcase_add_test(tc_cost, test_threads);
    suite_add_tcase(s, tc_cost);
    return s;
}

UNIT_MAIN(filter_suite)
