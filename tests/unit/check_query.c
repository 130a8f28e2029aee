/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of rp_query, the table-driven query string parser of the
 * handler.  A table with one parameter of each type (a string with a
 * further check, an int with bounds, a choice, a flag) is parsed against
 * good and bad query strings: values are decoded and stored at their
 * offsets, the seen bits are set, and every kind of bad input (unknown or
 * repeated parameter, bad percent-encoding, out of range, not a number,
 * not a choice, not a flag, too long) gives a reason that says what is
 * wrong, with request-controlled text shortened.  rp_query_unescape is
 * tested on its own.
 */

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "rp_query.h"

#include "unit_main.h"
#include "unit_pool.h"

typedef struct {
    const char *fn;         /* STRING, at most 16 bytes, no '/' */
    int depth;              /* INT, 1..100 */
    int format;             /* CHOICE of formats[] */
    int raw;                /* FLAG */
} args_t;

enum { P_FN, P_DEPTH, P_FORMAT, P_RAW };

static const char *const formats[] = { "text", "html", "json", NULL };

static const char *check_no_slash(apr_pool_t *p, const char *value)
{
    (void)p;
    return strchr(value, '/') ? "must not contain '/'" : NULL;
}

static const rp_qparam_t table[] = {
    { "fn", RP_Q_STRING, offsetof(args_t, fn), 0, 16, NULL, check_no_slash },
    { "depth", RP_Q_INT, offsetof(args_t, depth), 1, 100, NULL, NULL },
    { "format", RP_Q_CHOICE, offsetof(args_t, format), 0, 0, formats, NULL },
    { "raw", RP_Q_FLAG, offsetof(args_t, raw), 0, 0, NULL, NULL },
    { NULL }
};

static void defaults(args_t *a)
{
    a->fn = "default";
    a->depth = 50;
    a->format = 0;
    a->raw = -1;
}

/* Parse ARGS, which must succeed. */
static void parse_ok(const char *args, args_t *a, apr_uint32_t *seen)
{
    const char *err;

    defaults(a);
    *seen = 0xdeadbeef;
    err = rp_query_parse(pool, args, table, a, seen);
    ck_assert_msg(err == NULL, "'%s' refused: %s", args ? args : "(null)",
                  err);
}

/* Parse ARGS, which must fail with a reason holding NEEDLE. */
static const char *parse_bad(const char *args, const char *needle)
{
    args_t a;
    apr_uint32_t seen;
    const char *err;

    defaults(&a);
    err = rp_query_parse(pool, args, table, &a, &seen);
    ck_assert_msg(err != NULL, "'%s' accepted", args);
    ck_assert_msg(strstr(err, needle) != NULL,
                  "'%s': reason '%s' lacks '%s'", args, err, needle);
    return err;
}

static char *repeat(char c, apr_size_t n)
{
    char *s = apr_palloc(pool, n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ------------------------------------------------------------------ */

START_TEST(test_null_and_empty)
{
    args_t a;
    apr_uint32_t seen;

    parse_ok(NULL, &a, &seen);
    ck_assert_uint_eq(seen, 0);
    ck_assert_str_eq(a.fn, "default");
    ck_assert_int_eq(a.depth, 50);
    ck_assert_int_eq(a.format, 0);
    ck_assert_int_eq(a.raw, -1);

    parse_ok("", &a, &seen);
    ck_assert_uint_eq(seen, 0);
    ck_assert_str_eq(a.fn, "default");
    ck_assert_int_eq(a.depth, 50);
    ck_assert_int_eq(a.raw, -1);

    /* Empty pairs are skipped. */
    parse_ok("&&", &a, &seen);
    ck_assert_uint_eq(seen, 0);
    ck_assert_int_eq(a.depth, 50);
}
END_TEST

START_TEST(test_good_values)
{
    args_t a;
    apr_uint32_t seen;

    parse_ok("fn=main&depth=42&format=json&raw=on", &a, &seen);
    ck_assert_str_eq(a.fn, "main");
    ck_assert_int_eq(a.depth, 42);
    ck_assert_int_eq(a.format, 2);
    ck_assert_int_eq(a.raw, 1);
    ck_assert_uint_eq(seen, (1u << P_FN) | (1u << P_DEPTH)
                            | (1u << P_FORMAT) | (1u << P_RAW));

    /* Any order; empty pairs between. */
    parse_ok("raw=0&&format=html&depth=7", &a, &seen);
    ck_assert_str_eq(a.fn, "default");
    ck_assert_int_eq(a.depth, 7);
    ck_assert_int_eq(a.format, 1);
    ck_assert_int_eq(a.raw, 0);
    ck_assert_uint_eq(seen, (1u << P_DEPTH) | (1u << P_FORMAT)
                            | (1u << P_RAW));
}
END_TEST

START_TEST(test_seen_bits)
{
    args_t a;
    apr_uint32_t seen;

    parse_ok("depth=3", &a, &seen);
    ck_assert_uint_eq(seen, 1u << P_DEPTH);
    ck_assert_int_eq(a.depth, 3);
    /* Absent parameters keep their defaults. */
    ck_assert_str_eq(a.fn, "default");
    ck_assert_int_eq(a.format, 0);
    ck_assert_int_eq(a.raw, -1);

    parse_ok("raw", &a, &seen);
    ck_assert_uint_eq(seen, 1u << P_RAW);

    parse_ok("fn=", &a, &seen);
    ck_assert_uint_eq(seen, 1u << P_FN);
    ck_assert_str_eq(a.fn, "");

    /* A parameter given with its default value is still seen. */
    parse_ok("format=text", &a, &seen);
    ck_assert_uint_eq(seen, 1u << P_FORMAT);
    ck_assert_int_eq(a.format, 0);
}
END_TEST

START_TEST(test_string)
{
    args_t a;
    apr_uint32_t seen;
    const char *err;

    parse_ok("fn=a%20b+c", &a, &seen);
    ck_assert_str_eq(a.fn, "a b c");
    /* Decoded after splitting: an encoded & or = is part of the value. */
    parse_ok("fn=a%26b%3Dc", &a, &seen);
    ck_assert_str_eq(a.fn, "a&b=c");
    parse_ok("fn=x=y", &a, &seen);
    ck_assert_str_eq(a.fn, "x=y");
    /* Bytes that are not UTF-8 are allowed in a string. */
    parse_ok("fn=%ff%FE", &a, &seen);
    ck_assert_str_eq(a.fn, "\xff\xfe");

    /* Exactly the maximum length, and one more. */
    parse_ok("fn=0123456789abcdef", &a, &seen);
    ck_assert_str_eq(a.fn, "0123456789abcdef");
    err = parse_bad("fn=0123456789abcdefg", "fn");
    ck_assert_ptr_nonnull(strstr(err, "16"));
    ck_assert_ptr_nonnull(strstr(err, "longer"));
    /* The limit is on the decoded length. */
    parse_ok("fn=%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41", &a, &seen);
    ck_assert_str_eq(a.fn, "AAAAAAAAAAAAAAAA");

    /* The further check, after decoding. */
    err = parse_bad("fn=a/b", "must not contain '/'");
    ck_assert_str_eq(err, "fn: must not contain '/'");
    parse_bad("fn=a%2Fb", "must not contain '/'");
}
END_TEST

START_TEST(test_unknown_parameter)
{
    const char *err;

    err = parse_bad("bogus=1", "bogus");
    ck_assert_ptr_nonnull(strstr(err, "unknown"));
    parse_bad("depth=3&nosuch", "nosuch");
    /* Names are case-sensitive. */
    parse_bad("Depth=3", "Depth");
    /* Decoded before the lookup and shown decoded. */
    parse_bad("no+such=1", "no such");
    parse_bad("=5", "unknown parameter ''");
}
END_TEST

START_TEST(test_long_unknown_name_shortened)
{
    const char *name = repeat('x', 300);
    const char *err;

    err = parse_bad(apr_pstrcat(pool, name, "=1", NULL), "...");
    ck_assert_ptr_null(strstr(err, name));
    ck_assert_ptr_nonnull(strstr(err, repeat('x', 40)));
    ck_assert_ptr_null(strstr(err, repeat('x', 41)));
    ck_assert_uint_lt(strlen(err), 100);

    /* A name of exactly 40 bytes is shown whole. */
    name = repeat('y', 40);
    err = parse_bad(name, name);
    ck_assert_ptr_null(strstr(err, "..."));

    /* Long values in a reason are shortened as well. */
    err = parse_bad(apr_pstrcat(pool, "depth=", repeat('9', 200), NULL),
                    "...");
    ck_assert_uint_lt(strlen(err), 150);
    err = parse_bad(apr_pstrcat(pool, "format=", repeat('z', 200), NULL),
                    "...");
    ck_assert_uint_lt(strlen(err), 150);
    err = parse_bad(apr_pstrcat(pool, "raw=", repeat('m', 200), NULL),
                    "...");
    ck_assert_uint_lt(strlen(err), 150);
}
END_TEST

START_TEST(test_repeated_parameter)
{
    const char *err;

    err = parse_bad("depth=1&depth=2", "depth");
    ck_assert_ptr_nonnull(strstr(err, "more than once"));
    parse_bad("raw&fn=x&raw", "more than once");
    /* Even with the same value, and spelled differently. */
    parse_bad("depth=1&depth=1", "more than once");
    parse_bad("fn=a&f%6E=b", "more than once");
}
END_TEST

START_TEST(test_bad_percent_encoding)
{
    const char *err;

    err = parse_bad("fn=%zz", "percent-encoding");
    ck_assert_ptr_nonnull(strstr(err, "fn"));
    parse_bad("fn=%4", "percent-encoding");
    parse_bad("fn=%", "percent-encoding");
    parse_bad("fn=ab%4g", "percent-encoding");
    err = parse_bad("fn=%00", "percent-encoding");
    ck_assert_ptr_nonnull(strstr(err, "fn"));
    parse_bad("depth=%", "percent-encoding");
    /* In the name. */
    err = parse_bad("%zz=1", "percent-encoding");
    ck_assert_ptr_nonnull(strstr(err, "name"));
    parse_bad("d%00epth=1", "percent-encoding");
    /* A bad name is shown as it was sent, not half decoded. */
    parse_bad("a+b%zz=1", "'a+b%zz'");
    parse_bad("depth=1&x%2By%4", "'x%2By%4'");
}
END_TEST

START_TEST(test_plus_is_space)
{
    args_t a;
    apr_uint32_t seen;

    parse_ok("fn=a+b", &a, &seen);
    ck_assert_str_eq(a.fn, "a b");
    parse_ok("fn=+", &a, &seen);
    ck_assert_str_eq(a.fn, " ");
    /* An encoded plus is a plus. */
    parse_ok("fn=a%2Bb", &a, &seen);
    ck_assert_str_eq(a.fn, "a+b");
}
END_TEST

START_TEST(test_int)
{
    args_t a;
    apr_uint32_t seen;
    const char *err;

    parse_ok("depth=1", &a, &seen);
    ck_assert_int_eq(a.depth, 1);
    parse_ok("depth=100", &a, &seen);
    ck_assert_int_eq(a.depth, 100);
    parse_ok("depth=007", &a, &seen);
    ck_assert_int_eq(a.depth, 7);

    /* Out of range: the reason gives the bounds. */
    err = parse_bad("depth=0", "depth");
    ck_assert_ptr_nonnull(strstr(err, "1 to 100"));
    parse_bad("depth=101", "1 to 100");
    parse_bad("depth=-5", "1 to 100");
    parse_bad("depth=4294967297", "1 to 100");   /* 2^32 + 1: no wrap */

    /* Not a number. */
    err = parse_bad("depth=abc", "whole number");
    ck_assert_ptr_nonnull(strstr(err, "abc"));
    parse_bad("depth=", "whole number");
    parse_bad("depth", "whole number");
    parse_bad("depth=-", "whole number");
    parse_bad("depth=5x", "whole number");
    parse_bad("depth=5.0", "whole number");
    parse_bad("depth=0x10", "whole number");
    parse_bad("depth=+5", "whole number");
    parse_bad("depth=%205", "whole number");
    parse_bad("depth=5%20", "whole number");

    /* Too large for 64 bits. */
    err = parse_bad("depth=99999999999999999999", "depth");
    ck_assert_msg(strstr(err, "whole number") || strstr(err, "1 to 100"),
                  "reason: %s", err);
    parse_bad("depth=-99999999999999999999", "depth");
}
END_TEST

START_TEST(test_choice)
{
    args_t a;
    apr_uint32_t seen;
    const char *err;

    parse_ok("format=text", &a, &seen);
    ck_assert_int_eq(a.format, 0);
    parse_ok("format=html", &a, &seen);
    ck_assert_int_eq(a.format, 1);
    parse_ok("format=json", &a, &seen);
    ck_assert_int_eq(a.format, 2);
    /* Case-insensitive. */
    parse_ok("format=JSON", &a, &seen);
    ck_assert_int_eq(a.format, 2);

    err = parse_bad("format=xml", "xml");
    ck_assert_ptr_nonnull(strstr(err, "format"));
    ck_assert_ptr_nonnull(strstr(err, "text, html, json"));
    parse_bad("format=", "text, html, json");
    parse_bad("format=jso", "text, html, json");
    parse_bad("format=json%20", "text, html, json");
}
END_TEST

START_TEST(test_flag)
{
    static const struct {
        const char *args;
        int value;
    } good[] = {
        { "raw", 1 },
        { "raw=", 1 },
        { "raw=1", 1 },
        { "raw=on", 1 },
        { "raw=ON", 1 },
        { "raw=yes", 1 },
        { "raw=true", 1 },
        { "raw=0", 0 },
        { "raw=off", 0 },
        { "raw=Off", 0 },
        { "raw=no", 0 },
        { "raw=false", 0 },
        { NULL, 0 }
    };
    args_t a;
    apr_uint32_t seen;
    const char *err;
    int i;

    for (i = 0; good[i].args; i++) {
        parse_ok(good[i].args, &a, &seen);
        ck_assert_msg(a.raw == good[i].value, "'%s' gave %d", good[i].args,
                      a.raw);
        ck_assert_uint_eq(seen, 1u << P_RAW);
    }
    err = parse_bad("raw=maybe", "maybe");
    ck_assert_ptr_nonnull(strstr(err, "raw"));
    parse_bad("raw=2", "raw");
    parse_bad("raw=+", "raw");
    parse_bad("raw=onn", "raw");
}
END_TEST

START_TEST(test_unescape)
{
    static const struct {
        const char *in;
        const char *out;        /* NULL: must fail */
    } cases[] = {
        { "", "" },
        { "plain", "plain" },
        { "a+b", "a b" },
        { "++", "  " },
        { "a%41b", "aAb" },
        { "%2b%2B", "++" },
        { "%e2%82%AC", "\xe2\x82\xac" },
        { "%ff", "\xff" },
        { "%25", "%" },
        { "%2525", "%25" },           /* decoded once only */
        { "%zz", NULL },
        { "%4", NULL },
        { "%", NULL },
        { "a%", NULL },
        { "%g0", NULL },
        { "%0g", NULL },
        { "%00", NULL },
        { "ab%00cd", NULL },
        { NULL, NULL }
    };
    char *s;
    long n;
    int i;

    for (i = 0; cases[i].in; i++) {
        s = apr_pstrdup(pool, cases[i].in);
        n = rp_query_unescape(s);
        if (cases[i].out) {
            ck_assert_msg(n == (long)strlen(cases[i].out),
                          "'%s': length %ld", cases[i].in, n);
            ck_assert_msg(strcmp(s, cases[i].out) == 0, "'%s' gave '%s'",
                          cases[i].in, s);
        }
        else {
            ck_assert_msg(n == -1, "'%s' accepted (%ld)", cases[i].in, n);
        }
    }
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *query_suite(void)
{
    Suite *s = suite_create("rp_query");
    TCase *tc = tcase_create("parse");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_null_and_empty);
    tcase_add_test(tc, test_good_values);
    tcase_add_test(tc, test_seen_bits);
    tcase_add_test(tc, test_string);
    tcase_add_test(tc, test_unknown_parameter);
    tcase_add_test(tc, test_long_unknown_name_shortened);
    tcase_add_test(tc, test_repeated_parameter);
    tcase_add_test(tc, test_bad_percent_encoding);
    tcase_add_test(tc, test_plus_is_space);
    tcase_add_test(tc, test_int);
    tcase_add_test(tc, test_choice);
    tcase_add_test(tc, test_flag);
    tcase_add_test(tc, test_unescape);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(query_suite)
