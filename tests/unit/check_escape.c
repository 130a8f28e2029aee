/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of rp_escape_text, the plain-text escaper every request- or
 * binary-controlled string passes through: printable ASCII and valid UTF-8
 * pass unchanged, a backslash is doubled, control bytes and each byte of an
 * invalid UTF-8 sequence (stray, truncated, overlong, surrogate, past
 * U+10FFFF) become \xNN, so do the bytes of valid characters that act as
 * controls (C1, U+2028/2029) and of noncharacters (U+FDD0..U+FDEF,
 * U+nFFFE/U+nFFFF), and the result never holds a control byte or a
 * noncharacter and can be decoded back to the input.  Every escaper
 * inherits that, and the streaming form of each gives the bytes of its
 * pool form.  Also the sort key table of rp_sort.
 */

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_sort.h"

#include "unit_main.h"
#include "unit_pool.h"
#include "unit_utf8.h"

static void expect(const char *in, const char *out)
{
    const char *got = rp_escape_text(pool, in);

    ck_assert_msg(strcmp(got, out) == 0, "escaped '%s' is '%s', not '%s'",
                  in, got, out);
}

static int hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;                  /* lower case is not produced */
}

/* Undo rp_escape_text as its header says; NULL when S is not something
 * it produces. */
static char *unescape(const char *s)
{
    char *out = apr_palloc(pool, strlen(s) + 1), *o = out;
    int hi, lo;

    while (*s) {
        if (*s != '\\') {
            *o++ = *s++;
        }
        else if (s[1] == '\\') {
            *o++ = '\\';
            s += 2;
        }
        else if (s[1] == 'x' && (hi = hex(s[2])) >= 0
                 && (lo = hex(s[3])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            s += 4;
        }
        else if (s[1] == 'x') {
            return NULL;        /* "\x" not followed by hex: never made */
        }
        else {
            *o++ = *s++;        /* any other backslash stands for itself */
        }
    }
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* rp_escape_text */

START_TEST(test_printable_ascii)
{
    char all[0x7F - 0x20 + 1];
    char *expected;
    int c, i = 0;

    expect("", "");
    expect("/index.html?a=b&c=d", "/index.html?a=b&c=d");
    expect("GET", "GET");
    expect(" ~!\"#$%&'()*+,-./:;<=>?@[]^_`{|}",
           " ~!\"#$%&'()*+,-./:;<=>?@[]^_`{|}");

    /* Every printable byte but the backslash passes. */
    for (c = 0x20; c < 0x7F; c++) {
        if (c != '\\') {
            all[i++] = (char)c;
        }
    }
    all[i] = '\0';
    expected = apr_pstrdup(pool, all);
    expect(all, expected);
}
END_TEST

START_TEST(test_backslash_doubled)
{
    /* Doubled only before '\\' or 'x', where it could read as an escape. */
    expect("\\", "\\");
    expect("a\\b", "a\\b");
    expect("\\.css$", "\\.css$");
    expect("\\\\", "\\\\\\");
    expect("\\x41", "\\\\x41");
    expect("\\\\x41", "\\\\\\\\x41");
    ck_assert_str_eq(unescape(rp_escape_text(pool, "\\\\x41\\")),
                     "\\\\x41\\");
}
END_TEST

START_TEST(test_round_trip_random)
{
    /* Strings from the characters that interact: backslash, 'x', hex
     * digits, a control byte, an invalid byte, the halves of a C1
     * control and of a valid character. */
    static const char alphabet[] = "\\xA0\n\xff\xc2\x85\xc3\xa9.";
    char s[16];
    unsigned int seed = 12345;
    int i, k, len;

    for (i = 0; i < 20000; i++) {
        len = (int)(rand_r(&seed) % (sizeof(s) - 1));
        for (k = 0; k < len; k++) {
            s[k] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
        }
        s[len] = '\0';
        ck_assert_str_eq(unescape(rp_escape_text(pool, s)), s);
    }
}
END_TEST

START_TEST(test_control_bytes)
{
    char s[2] = { 0, 0 };
    const char *got;
    int c;

    expect("a\nb", "a\\x0Ab");
    expect("\t", "\\x09");
    expect("\r\n", "\\x0D\\x0A");
    expect("\x1b[31mred", "\\x1B[31mred");
    expect("\x7f", "\\x7F");
    expect("\x01", "\\x01");
    expect("\x1f", "\\x1F");

    for (c = 1; c < 0x20; c++) {
        s[0] = (char)c;
        got = rp_escape_text(pool, s);
        ck_assert_str_eq(got, apr_psprintf(pool, "\\x%02X", c));
    }
}
END_TEST

START_TEST(test_valid_utf8_unchanged)
{
    expect("\xc3\xa9", "\xc3\xa9");                     /* U+00E9 */
    expect("\xe2\x82\xac", "\xe2\x82\xac");             /* U+20AC */
    expect("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");     /* U+1F600 */
    expect("caf\xc3\xa9 \xe2\x82\xac" "5 \xf0\x9f\x98\x80!",
           "caf\xc3\xa9 \xe2\x82\xac" "5 \xf0\x9f\x98\x80!");
    /* The boundaries of each length. */
    expect("\xc2\xa0", "\xc2\xa0");                     /* U+00A0 */
    expect("\xdf\xbf", "\xdf\xbf");                     /* U+07FF */
    expect("\xe0\xa0\x80", "\xe0\xa0\x80");             /* U+0800 */
    expect("\xed\x9f\xbf", "\xed\x9f\xbf");             /* U+D7FF */
    expect("\xee\x80\x80", "\xee\x80\x80");             /* U+E000 */
    expect("\xef\xbf\xbd", "\xef\xbf\xbd");             /* U+FFFD */
    expect("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");     /* U+10000 */
    expect("\xf4\x8f\xbf\xbd", "\xf4\x8f\xbf\xbd");     /* U+10FFFD */
}
END_TEST

START_TEST(test_line_breaking_escaped)
{
    /* C1 controls act as controls in terminals (U+009B is CSI). */
    expect("\xc2\x80", "\\xC2\\x80");                 /* U+0080 */
    expect("\xc2\x85", "\\xC2\\x85");                 /* NEL */
    expect("a\xc2\x9b" "31m", "a\\xC2\\x9B31m");       /* CSI */
    /* Line and paragraph separators break lines in viewers. */
    expect("\xe2\x80\xa8", "\\xE2\\x80\\xA8");         /* U+2028 */
    expect("\xe2\x80\xa9", "\\xE2\\x80\\xA9");         /* U+2029 */
    /* Their neighbours pass. */
    expect("\xe2\x80\xa7", "\xe2\x80\xa7");             /* U+2027 */
    expect("\xe2\x80\xaa", "\xe2\x80\xaa");             /* U+202A */
}
END_TEST

/* Noncharacters are valid UTF-8 but not characters to interchange: XML
 * refuses U+FFFE and U+FFFF (a URI with %EF%BF%BE made the SVG export
 * ill-formed).  Each byte is escaped, in every plane; the neighbours
 * pass. */
START_TEST(test_noncharacters_escaped)
{
    unsigned int plane;
    char s[5];

    expect("\xef\xbf\xbe", "\\xEF\\xBF\\xBE");         /* U+FFFE */
    expect("\xef\xbf\xbf", "\\xEF\\xBF\\xBF");         /* U+FFFF */
    expect("/a\xef\xbf\xbe" "b", "/a\\xEF\\xBF\\xBEb");
    expect("\xef\xb7\x90", "\\xEF\\xB7\\x90");         /* U+FDD0 */
    expect("\xef\xb7\xaf", "\\xEF\\xB7\\xAF");         /* U+FDEF */
    expect("\xf0\x9f\xbf\xbe", "\\xF0\\x9F\\xBF\\xBE"); /* U+1FFFE */
    expect("\xf4\x8f\xbf\xbf", "\\xF4\\x8F\\xBF\\xBF"); /* U+10FFFF */
    /* Neighbours. */
    expect("\xef\xb7\x8f", "\xef\xb7\x8f");             /* U+FDCF */
    expect("\xef\xb7\xb0", "\xef\xb7\xb0");             /* U+FDF0 */
    expect("\xef\xbf\xbd", "\xef\xbf\xbd");             /* U+FFFD */
    expect("\xf0\x9f\xbf\xbd", "\xf0\x9f\xbf\xbd");     /* U+1FFFD */
    expect("\xf0\xaf\xbf\xbe", "\\xF0\\xAF\\xBF\\xBE"); /* U+2FFFE */
    expect("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");     /* U+10000 */
    /* U+nFFFE and U+nFFFF of each of the 17 planes. */
    for (plane = 1; plane <= 16; plane++) {
        unsigned long v = ((unsigned long)plane << 16) | 0xFFFF;
        s[0] = (char)(0xF0 | (v >> 18));
        s[1] = (char)(0x80 | ((v >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((v >> 6) & 0x3F));
        s[3] = (char)(0x80 | (v & 0x3F));
        s[4] = '\0';
        ck_assert_msg(rp_escape_text(pool, s)[0] == '\\', "U+%lX passed", v);
        ck_assert_str_eq(unescape(rp_escape_text(pool, s)), s);
        s[3] = (char)(0x80 | ((v - 1) & 0x3F));
        ck_assert_msg(rp_escape_text(pool, s)[0] == '\\', "U+%lX passed",
                      v - 1);
    }
    /* The escapers built on it escape them too; the URL escaper writes
     * every such byte as %XX anyway. */
    ck_assert_str_eq(rp_escape_json(pool, "\xef\xbf\xbe"),
                     "\\\\xEF\\\\xBF\\\\xBE");
    ck_assert_str_eq(rp_escape_html(pool, "<\xef\xbf\xbf"),
                     "&lt;\\xEF\\xBF\\xBF");
    ck_assert_str_eq(rp_escape_url(pool, "\xef\xbf\xbe"), "%EF%BF%BE");
    /* The oracle agrees: the raw character is not valid text. */
    ck_assert(!unit_valid_utf8((const unsigned char *)"\xef\xbf\xbe"));
    ck_assert(!unit_valid_utf8((const unsigned char *)"\xef\xb7\x90"));
    ck_assert(!unit_valid_utf8((const unsigned char *)"\xf4\x8f\xbf\xbf"));
    ck_assert(unit_valid_utf8((const unsigned char *)"\xef\xbf\xbd"));
}
END_TEST

START_TEST(test_invalid_utf8_escaped)
{
    /* Stray bytes. */
    expect("\xff", "\\xFF");
    expect("a\xff" "b", "a\\xFFb");
    expect("\x80", "\\x80");
    expect("\xfe\xff", "\\xFE\\xFF");
    /* Truncated sequences, at the end and before ASCII. */
    expect("\xe2\x82", "\\xE2\\x82");
    expect("\xe2\x82" "a", "\\xE2\\x82a");
    expect("\xf0\x9f\x98", "\\xF0\\x9F\\x98");
    expect("\xc3", "\\xC3");
    /* Overlong forms. */
    expect("\xc0\xaf", "\\xC0\\xAF");
    expect("\xc1\xbf", "\\xC1\\xBF");
    expect("\xe0\x80\xaf", "\\xE0\\x80\\xAF");
    expect("\xf0\x80\x80\xaf", "\\xF0\\x80\\x80\\xAF");
    /* Surrogates. */
    expect("\xed\xa0\x80", "\\xED\\xA0\\x80");
    expect("\xed\xbf\xbf", "\\xED\\xBF\\xBF");
    /* Past U+10FFFF, and lead bytes that never occur. */
    expect("\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80");
    expect("\xf5\x80\x80\x80", "\\xF5\\x80\\x80\\x80");
    expect("\xf8\x88\x80\x80\x80", "\\xF8\\x88\\x80\\x80\\x80");
    /* A valid character right after an invalid byte survives. */
    expect("\xff\xc3\xa9", "\\xFF\xc3\xa9");
    expect("\xe2\x82\xe2\x82\xac", "\\xE2\\x82\xe2\x82\xac");
}
END_TEST

START_TEST(test_no_control_bytes_in_output)
{
    char all[256];
    const unsigned char *got;
    const char *back;
    int c;

    for (c = 1; c < 256; c++) {
        all[c - 1] = (char)c;
    }
    all[255] = '\0';
    got = (const unsigned char *)rp_escape_text(pool, all);
    for (c = 0; got[c]; c++) {
        ck_assert_msg(got[c] >= 0x20 && got[c] != 0x7F,
                      "byte 0x%02X at %d in the output", got[c], c);
    }
    ck_assert_msg(unit_valid_utf8(got), "output is not valid UTF-8");
    ck_assert_ptr_null(strchr((const char *)got, '\n'));

    /* Reversible: the text says exactly which bytes there were. */
    back = unescape((const char *)got);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back, all);

    back = unescape(rp_escape_text(pool, "\\x41\xff\\\n\xe2\x82\xac"));
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back, "\\x41\xff\\\n\xe2\x82\xac");
}
END_TEST

START_TEST(test_worst_case_length)
{
    /* Every byte becomes four: the output buffer must hold that. */
    char in[1025];
    const char *got;

    memset(in, '\x01', 1024);
    in[1024] = '\0';
    got = rp_escape_text(pool, in);
    ck_assert_uint_eq(strlen(got), 4096);
    ck_assert_int_eq(strncmp(got, "\\x01\\x01", 8), 0);

    memset(in, '\xff', 1024);
    got = rp_escape_text(pool, in);
    ck_assert_uint_eq(strlen(got), 4096);
    ck_assert_str_eq(got + 4092, "\\xFF");
}
END_TEST

START_TEST(test_markup_unchanged)
{
    /* Text escaping only: markup is the HTML escaper's business. */
    expect("<script>alert(1)</script>", "<script>alert(1)</script>");
    expect("a & b \"c\" 'd'", "a & b \"c\" 'd'");
}
END_TEST

/* ------------------------------------------------------------------ */
/* rp_sort */

START_TEST(test_sort_key_find)
{
    const rp_sort_key_t *k;

    k = rp_sort_key_find("self");
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(k->name, "self");
    ck_assert_int_eq(k->descending, 1);
    ck_assert_ptr_nonnull(k->title);

    k = rp_sort_key_find("cumulative");
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(k->name, "cumulative");
    ck_assert_int_eq(k->descending, 1);

    k = rp_sort_key_find("name");
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(k->descending, 0);

    ck_assert_ptr_nonnull(rp_sort_key_find("file"));
    ck_assert_ptr_nonnull(rp_sort_key_find("tottime"));
    ck_assert_ptr_nonnull(rp_sort_key_find("cumtime"));

    ck_assert_ptr_null(rp_sort_key_find("bogus"));
    ck_assert_ptr_null(rp_sort_key_find(""));
    ck_assert_ptr_null(rp_sort_key_find("sel"));
    ck_assert_ptr_null(rp_sort_key_find("selfx"));
    ck_assert_ptr_null(rp_sort_key_find("self "));
}
END_TEST

START_TEST(test_sort_key_names)
{
    const char *names = rp_sort_key_names(pool);
    char *copy, *state, *name;
    int n = 0;

    ck_assert_ptr_nonnull(names);
    ck_assert_ptr_nonnull(strstr(names, "self"));
    ck_assert_ptr_nonnull(strstr(names, "cumulative"));
    ck_assert_int_eq(strncmp(names, "self, cumulative", 16), 0);

    /* Every listed name is found. */
    copy = apr_pstrdup(pool, names);
    for (name = apr_strtok(copy, ", ", &state); name;
         name = apr_strtok(NULL, ", ", &state)) {
        ck_assert_msg(rp_sort_key_find(name) != NULL,
                      "listed key '%s' not found", name);
        n++;
    }
    ck_assert_int_ge(n, 2);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_html_escapes_markup_and_quotes)
{
    ck_assert_str_eq(rp_escape_html(pool, "<script>alert('x')</script>"),
                     "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    ck_assert_str_eq(rp_escape_html(pool, "a\"b&c"), "a&quot;b&amp;c");
    /* Text-safe first: control and invalid bytes become \xNN. */
    ck_assert_str_eq(rp_escape_html(pool, "/x\xff\n<"), "/x\\xFF\\x0A&lt;");
    ck_assert_str_eq(rp_escape_html(pool, "plain_name"), "plain_name");
}
END_TEST

START_TEST(test_url_escapes_all_but_unreserved)
{
    ck_assert_str_eq(rp_escape_url(pool, "/a b&c=d?e#f"),
                     "/a%20b%26c%3Dd%3Fe%23f");
    ck_assert_str_eq(rp_escape_url(pool, "\"<>\xff"), "%22%3C%3E%FF");
    ck_assert_str_eq(rp_escape_url(pool, "A-z_0.9~"), "A-z_0.9~");
}
END_TEST

/* Every code point, encoded: the text escaper's output is valid UTF-8
 * of characters only (the oracle refuses noncharacters), and reads back
 * as the input. */
START_TEST(test_every_character_text_safe)
{
    unsigned long v;
    unsigned char s[5];
    const char *got;

    for (v = 0x80; v <= 0x10FFFF; v++) {
        if (v >= 0xD800 && v <= 0xDFFF) {
            continue;
        }
        if (v < 0x800) {
            s[0] = (unsigned char)(0xC0 | (v >> 6));
            s[1] = (unsigned char)(0x80 | (v & 0x3F));
            s[2] = 0;
        }
        else if (v < 0x10000) {
            s[0] = (unsigned char)(0xE0 | (v >> 12));
            s[1] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
            s[2] = (unsigned char)(0x80 | (v & 0x3F));
            s[3] = 0;
        }
        else {
            s[0] = (unsigned char)(0xF0 | (v >> 18));
            s[1] = (unsigned char)(0x80 | ((v >> 12) & 0x3F));
            s[2] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
            s[3] = (unsigned char)(0x80 | (v & 0x3F));
            s[4] = 0;
        }
        got = rp_escape_text(pool, (const char *)s);
        /* Asserted only on failure: each ck_assert marks a point through
         * check's pipe, and 1.1 million of them take seconds. */
        if (!unit_valid_utf8((const unsigned char *)got)) {
            ck_abort_msg("U+%04lX gave invalid text", v);
        }
        /* Only what the header names is escaped. */
        if ((got[0] == '\\')
            != ((v >= 0x80 && v <= 0x9F) || v == 0x2028 || v == 0x2029
                || (v >= 0xFDD0 && v <= 0xFDEF) || (v & 0xFFFE) == 0xFFFE)) {
            ck_abort_msg("U+%04lX: '%s'", v, got);
        }
        if (got[0] == '\\') {
            ck_assert_str_eq(unescape(got), (const char *)s);
        }
    }
}
END_TEST

typedef struct {
    char buf[512];
    apr_size_t len;
    int runs;
} collect_t;

static void collect(void *ctx, const char *s, apr_size_t n)
{
    collect_t *c = ctx;

    ck_assert_uint_gt(n, 0);
    ck_assert_uint_lt(c->len + n, sizeof(c->buf));
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    c->buf[c->len] = '\0';
    c->runs++;
}

/* The streaming escapers give the bytes of the pool ones, in runs, and
 * the pool ones give a plain name back as it is, without a copy. */
START_TEST(test_stream_matches_pool)
{
    static const char *const inputs[] = {
        "", "plain_name", "a\\x41\\", "<a href=\"x\">&'</a>", "/x\xff\xfe\n",
        "\xef\xbf\xbe\xc2\x85\xe2\x80\xa8", "caf\xc3\xa9 \xf0\x9f\x98\x80",
        "\\\xef\xbf\xbf", "q\"\\\x01<>&", NULL
    };
    const char *(*const pooled[])(apr_pool_t *, const char *) = {
        rp_escape_text, rp_escape_json, rp_escape_html, rp_escape_url
    };
    const rp_escape_e kinds[] = {
        RP_ESCAPE_TEXT, RP_ESCAPE_JSON, RP_ESCAPE_HTML, RP_ESCAPE_URL
    };
    collect_t c;
    int i, k;
    apr_size_t n;

    for (i = 0; inputs[i]; i++) {
        for (k = 0; k < 4; k++) {
            memset(&c, 0, sizeof(c));
            n = rp_escape_stream(kinds[k], inputs[i], collect, &c);
            ck_assert_uint_eq(n, c.len);
            ck_assert_str_eq(c.buf, pooled[k](pool, inputs[i]));
        }
    }
    /* Unchanged: one run, the input itself, and no copy. */
    memset(&c, 0, sizeof(c));
    rp_escape_stream(RP_ESCAPE_JSON, "plain_name", collect, &c);
    ck_assert_int_eq(c.runs, 1);
    ck_assert_ptr_eq(rp_escape_html(pool, inputs[1]), inputs[1]);
    ck_assert_ptr_eq(rp_escape_text(pool, inputs[6]), inputs[6]);
}
END_TEST

static Suite *escape_suite(void)
{
    Suite *s = suite_create("rp_escape");
    TCase *tc = tcase_create("text");
    TCase *tc_sort = tcase_create("sort");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_printable_ascii);
    tcase_add_test(tc, test_backslash_doubled);
    tcase_add_test(tc, test_round_trip_random);
    tcase_add_test(tc, test_control_bytes);
    tcase_add_test(tc, test_valid_utf8_unchanged);
    tcase_add_test(tc, test_line_breaking_escaped);
    tcase_add_test(tc, test_noncharacters_escaped);
    tcase_add_test(tc, test_every_character_text_safe);
    tcase_add_test(tc, test_stream_matches_pool);
    tcase_add_test(tc, test_invalid_utf8_escaped);
    tcase_add_test(tc, test_no_control_bytes_in_output);
    tcase_add_test(tc, test_worst_case_length);
    tcase_add_test(tc, test_markup_unchanged);
    tcase_add_test(tc, test_html_escapes_markup_and_quotes);
    tcase_add_test(tc, test_url_escapes_all_but_unreserved);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tc_sort, setup, teardown);
    tcase_add_test(tc_sort, test_sort_key_find);
    tcase_add_test(tc_sort, test_sort_key_names);
    suite_add_tcase(s, tc_sort);
    return s;
}

UNIT_MAIN(escape_suite)
