/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of the exports (collapsed, pprof, callgrind, dot, speedscope)
 * and of rp_model_diff, on models made from folded stacks, and of the
 * speedscope export of one request kept by a real store in memory.
 *
 * Each export is read back the way its consumers read it: folded lines
 * are split and summed, and frame names decoded by rp_escape.h's rule;
 * the pprof output is gunzipped with zlib and decoded by a small
 * protobuf reader written here, independently of the encoder; callgrind
 * cost lines are summed per function and per call; the dot graph is
 * searched for its nodes, edges and label; the speedscope JSON is read by
 * a strict JSON reader written here and checked against the model.  The
 * collapsed, callgrind and dot outputs of one model are also compared
 * with golden files in tests/unit/golden/ (the pprof bytes depend on
 * zlib's version, so its decoded content is checked instead).  To
 * regenerate the golden files after an intended change, from the top
 * directory:
 *
 *     RP_REGEN_GOLDEN=1 build/check_exports
 *
 * and review the diff.  The tests look for the files relative to the
 * current directory (the top directory, as make runs them) unless
 * RP_GOLDEN_DIR names their directory.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <zlib.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "rp_escape.h"
#include "rp_model.h"
#include "rp_out.h"
#include "rp_report.h"
#include "rp_store.h"
#include "rp_symbols.h"

#include "unit_main.h"
#include "unit_pool.h"
#include "unit_utf8.h"

#define NS 1000000              /* each sample stands for 1 ms */

/* A request of the fixture module and some oddities: a recursion, a
 * pseudo-frame without object, a sample on the URI node itself. */
static const char *const stacks[] = {
    "/spin;main@/usr/sbin/apache2;ap_run_handler@/usr/sbin/apache2;"
    "fixture_handler@/mod/mod_fixture.so;fixture_spin_a@/mod/mod_fixture.so"
    " 200",
    "/spin;main@/usr/sbin/apache2;ap_run_handler@/usr/sbin/apache2;"
    "fixture_handler@/mod/mod_fixture.so;fixture_spin_b@/mod/mod_fixture.so"
    " 100",
    "/spin;main@/usr/sbin/apache2;ap_run_handler@/usr/sbin/apache2;"
    "fixture_handler@/mod/mod_fixture.so 3",
    "/other;main@/usr/sbin/apache2;rec@/usr/sbin/apache2;"
    "rec@/usr/sbin/apache2;leaf@/lib/libc.so.6 4",
    "/other;main@/usr/sbin/apache2;[truncated] 1",
    "/other 2",
};
#define NSTACKS ((int)(sizeof(stacks) / sizeof(stacks[0])))
#define TOTAL 310

static rp_snapshot_info_t info_cpu, info_real;

static rp_model_t *model(void)
{
    rp_model_t *m = rp_model_from_folded(pool, stacks, NSTACKS, NS);

    info_cpu.settings.timer = 0;
    info_cpu.settings.frequency = 999;
    info_cpu.generation = 1;
    m->info = &info_cpu;
    return m;
}

static rp_view_opts_t opts;
static rp_page_t page;

static const char *render(const rp_model_t *m,
                          void (*fn)(const rp_render_t *c),
                          apr_size_t *len)
{
    rp_out_t out;
    rp_render_t c;

    page.version = "0.0-test";
    rp_out_buffer(&out, pool);
    c.m = m;
    c.o = &opts;
    c.page = &page;
    c.out = &out;
    c.p = pool;
    fn(&c);
    if (len) {
        *len = out.len;
    }
    return out.buf;
}

/* ------------------------------------------------------------------ */
/* Golden files */

static void golden(const char *name, const char *got)
{
    const char *dir = getenv("RP_GOLDEN_DIR");
    const char *path = apr_pstrcat(pool, dir ? dir : "tests/unit/golden",
                                   "/", name, NULL);
    FILE *f;
    char *want;
    long n;

    if (getenv("RP_REGEN_GOLDEN")) {
        f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot write %s", path);
        fputs(got, f);
        fclose(f);
        return;
    }
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "no golden file %s (run from the top directory "
                  "or set RP_GOLDEN_DIR)", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    want = apr_palloc(pool, (apr_size_t)n + 1);
    ck_assert_int_eq(fread(want, 1, (size_t)n, f), (size_t)n);
    want[n] = '\0';
    fclose(f);
    ck_assert_msg(strcmp(want, got) == 0, "%s differs; got:\n%s", path, got);
}

/* ------------------------------------------------------------------ */
/* Collapsed */

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A frame name back, by rp_escape.h's rule: "\\" is a backslash, "\xNN"
 * that byte, any other backslash itself. */
static char *unescape(const char *s, apr_size_t n)
{
    char *out = apr_palloc(pool, n + 1), *o = out;
    const char *end = s + n;

    while (s < end) {
        if (*s == '\\' && s + 1 < end && s[1] == '\\') {
            *o++ = '\\';
            s += 2;
        }
        else if (*s == '\\' && s + 3 < end && s[1] == 'x' && hex(s[2]) >= 0
                 && hex(s[3]) >= 0) {
            *o++ = (char)(hex(s[2]) * 16 + hex(s[3]));
            s += 4;
        }
        else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* Lines of TEXT as "frames count"; the frames decoded, joined by '|'. */
static apr_array_header_t *folded_lines(const char *text, apr_uint64_t *sum)
{
    apr_array_header_t *out = apr_array_make(pool, 8, sizeof(char *));
    char *copy = apr_pstrdup(pool, text), *line, *last;

    *sum = 0;
    for (line = apr_strtok(copy, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        char *sp = strrchr(line, ' '), *end;
        const char *f, *semi, *joined = NULL;
        apr_uint64_t count;
        ck_assert_msg(sp != NULL, "no count: %s", line);
        count = apr_strtoi64(sp + 1, &end, 10);
        ck_assert_msg(*end == '\0' && count > 0, "bad count: %s", line);
        *sum += count;
        for (f = line; f < sp; f = semi + 1) {
            const char *name;
            semi = memchr(f, ';', (apr_size_t)(sp - f));
            if (!semi) {
                semi = sp;
            }
            ck_assert_msg(semi > f, "empty frame: %s", line);
            ck_assert_msg(semi[-1] != ' ', "frame ends in a space: %s", line);
            name = unescape(f, (apr_size_t)(semi - f));
            joined = joined ? apr_pstrcat(pool, joined, "|", name, NULL)
                            : name;
        }
        *(const char **)apr_array_push(out)
            = apr_psprintf(pool, "%s %" APR_UINT64_T_FMT, joined, count);
    }
    return out;
}

static int has_line(const apr_array_header_t *lines, const char *want)
{
    int i;

    for (i = 0; i < lines->nelts; i++) {
        if (strcmp(((const char **)lines->elts)[i], want) == 0) {
            return 1;
        }
    }
    return 0;
}

START_TEST(test_collapsed_lines_and_sum)
{
    rp_model_t *m = model();
    const char *text = render(m, rp_report_collapsed, NULL);
    apr_uint64_t sum;
    apr_array_header_t *lines = folded_lines(text, &sum);

    ck_assert_uint_eq(m->samples, TOTAL);
    ck_assert_uint_eq(sum, m->samples);
    ck_assert_int_eq(lines->nelts, NSTACKS);
    ck_assert(has_line(lines, "/spin|main|ap_run_handler|fixture_handler|"
                       "fixture_spin_a 200"));
    ck_assert(has_line(lines, "/spin|main|ap_run_handler|fixture_handler 3"));
    ck_assert(has_line(lines, "/other|main|rec|rec|leaf 4"));
    ck_assert(has_line(lines, "/other|main|[truncated] 1"));
    ck_assert(has_line(lines, "/other 2"));
    golden("exports.folded", text);
}
END_TEST

/* Names with the format's own bytes come back intact. */
START_TEST(test_collapsed_escapes_names)
{
    static const char *const odd[] = {
        "a;b", "tail ", "back\\;slash", "new\nline", "", "back\\ ",
        "operator()(int, char) const", "x\\;\\x3B"
    };
    const char *line = "/u;f0;f1;f2;f3;f4;f5;f6;f7 1";
    rp_model_t *m = rp_model_from_folded(pool, &line, 1, NS);
    rp_func_t *funcs = (rp_func_t *)m->funcs->elts;
    apr_array_header_t *lines;
    const char *text, *want = "/u";
    apr_uint64_t sum;
    int i;

    for (i = 0; i < 8; i++) {
        funcs[i + 1].name = odd[i];
        want = apr_pstrcat(pool, want, "|", *odd[i] ? odd[i] : "[unnamed]",
                           NULL);
    }
    text = render(m, rp_report_collapsed, NULL);
    ck_assert_msg(strchr(text, '\n') == text + strlen(text) - 1,
                  "one line: %s", text);
    ck_assert(strstr(text, "a\\x3Bb;") != NULL);
    ck_assert(strstr(text, ";tail\\x20;") != NULL);
    lines = folded_lines(text, &sum);
    ck_assert_int_eq(lines->nelts, 1);
    ck_assert_str_eq(((const char **)lines->elts)[0],
                     apr_pstrcat(pool, want, " 1", NULL));
}
END_TEST

/* ------------------------------------------------------------------ */
/* pprof: gunzip and decode */

typedef struct {
    const unsigned char *p, *end;
} rd_t;

static int rd_varint(rd_t *r, apr_uint64_t *v)
{
    int shift = 0;

    *v = 0;
    while (r->p < r->end && shift < 64) {
        unsigned char b = *r->p++;
        *v |= (apr_uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            return 1;
        }
        shift += 7;
    }
    return 0;
}

/* The next field: number, wire type, and its value (varint) or its bytes
 * (length-delimited).  0 at the end; fails the test on bad input. */
static int rd_field(rd_t *r, int *field, apr_uint64_t *v, rd_t *bytes)
{
    apr_uint64_t key, n;

    if (r->p >= r->end) {
        return 0;
    }
    ck_assert(rd_varint(r, &key));
    *field = (int)(key >> 3);
    switch (key & 7) {
    case 0:
        ck_assert(rd_varint(r, v));
        bytes->p = bytes->end = NULL;
        return 1;
    case 2:
        ck_assert(rd_varint(r, &n));
        ck_assert(n <= (apr_uint64_t)(r->end - r->p));
        bytes->p = r->p;
        bytes->end = r->p + n;
        r->p += n;
        *v = 0;
        return 2;
    default:
        ck_abort_msg("unexpected wire type %d", (int)(key & 7));
        return 0;
    }
}

/* A repeated varint field, packed (KIND 2) or not (KIND 1). */
static void rd_repeated(apr_array_header_t *a, int kind, apr_uint64_t v,
                        rd_t *b)
{
    if (kind == 1) {
        *(apr_uint64_t *)apr_array_push(a) = v;
        return;
    }
    while (b->p < b->end) {
        ck_assert(rd_varint(b, &v));
        *(apr_uint64_t *)apr_array_push(a) = v;
    }
}

typedef struct {
    apr_array_header_t *locs, *vals;   /* of apr_uint64_t */
    apr_uint64_t label_key, label_str;
} pp_sample_t;

typedef struct {
    apr_uint64_t id, mapping, address, func, line;
} pp_location_t;

typedef struct {
    apr_uint64_t id, name, system_name, filename;
} pp_function_t;

typedef struct {
    apr_uint64_t id, start, limit, filename, build_id;
    apr_uint64_t has_functions, has_filenames, has_lines;
} pp_mapping_t;

typedef struct {
    apr_array_header_t *strings;        /* of const char * */
    apr_array_header_t *types;          /* of apr_uint64_t pairs */
    apr_array_header_t *samples, *locations, *functions, *mappings;
    apr_array_header_t *comments;
    apr_uint64_t period_type[2], period, time_nanos, duration_nanos;
    apr_uint64_t default_type;
} pp_profile_t;

static void pp_value_type(rd_t *b, apr_uint64_t *out)
{
    int field, kind;
    apr_uint64_t v;
    rd_t x;

    out[0] = out[1] = 0;
    while ((kind = rd_field(b, &field, &v, &x)) != 0) {
        if (field == 1 || field == 2) {
            out[field - 1] = v;
        }
    }
}

static void pp_decode(pp_profile_t *pp, const unsigned char *buf,
                      apr_size_t len)
{
    rd_t r = { buf, buf + len }, b, x;
    int field, kind, f2, k2, f3, k3;
    apr_uint64_t v, v2, v3;

    memset(pp, 0, sizeof(*pp));
    pp->strings = apr_array_make(pool, 64, sizeof(const char *));
    pp->types = apr_array_make(pool, 4, 2 * sizeof(apr_uint64_t));
    pp->samples = apr_array_make(pool, 16, sizeof(pp_sample_t));
    pp->locations = apr_array_make(pool, 16, sizeof(pp_location_t));
    pp->functions = apr_array_make(pool, 16, sizeof(pp_function_t));
    pp->mappings = apr_array_make(pool, 4, sizeof(pp_mapping_t));
    pp->comments = apr_array_make(pool, 4, sizeof(apr_uint64_t));
    while ((kind = rd_field(&r, &field, &v, &b)) != 0) {
        switch (field) {
        case 1:
            pp_value_type(&b, apr_array_push(pp->types));
            break;
        case 2: {
            pp_sample_t *s = apr_array_push(pp->samples);
            memset(s, 0, sizeof(*s));
            s->locs = apr_array_make(pool, 8, sizeof(apr_uint64_t));
            s->vals = apr_array_make(pool, 2, sizeof(apr_uint64_t));
            while ((k2 = rd_field(&b, &f2, &v2, &x)) != 0) {
                if (f2 == 1) {
                    rd_repeated(s->locs, k2, v2, &x);
                }
                else if (f2 == 2) {
                    rd_repeated(s->vals, k2, v2, &x);
                }
                else if (f2 == 3) {
                    rd_t y;
                    while ((k3 = rd_field(&x, &f3, &v3, &y)) != 0) {
                        if (f3 == 1) {
                            s->label_key = v3;
                        }
                        else if (f3 == 2) {
                            s->label_str = v3;
                        }
                    }
                }
            }
            break;
        }
        case 3: {
            pp_mapping_t *mp = apr_array_push(pp->mappings);
            apr_uint64_t *slot[] = {
                NULL, &mp->id, &mp->start, &mp->limit, NULL, &mp->filename,
                &mp->build_id, &mp->has_functions, &mp->has_filenames,
                &mp->has_lines
            };
            memset(mp, 0, sizeof(*mp));
            while ((k2 = rd_field(&b, &f2, &v2, &x)) != 0) {
                if (f2 < 10 && slot[f2]) {
                    *slot[f2] = v2;
                }
            }
            break;
        }
        case 4: {
            pp_location_t *l = apr_array_push(pp->locations);
            memset(l, 0, sizeof(*l));
            while ((k2 = rd_field(&b, &f2, &v2, &x)) != 0) {
                if (f2 == 1) {
                    l->id = v2;
                }
                else if (f2 == 2) {
                    l->mapping = v2;
                }
                else if (f2 == 3) {
                    l->address = v2;
                }
                else if (f2 == 4) {
                    rd_t y;
                    ck_assert_uint_eq(l->func, 0);   /* no inlines here */
                    while ((k3 = rd_field(&x, &f3, &v3, &y)) != 0) {
                        if (f3 == 1) {
                            l->func = v3;
                        }
                        else if (f3 == 2) {
                            l->line = v3;
                        }
                    }
                }
            }
            break;
        }
        case 5: {
            pp_function_t *fn = apr_array_push(pp->functions);
            memset(fn, 0, sizeof(*fn));
            while ((k2 = rd_field(&b, &f2, &v2, &x)) != 0) {
                if (f2 == 1) {
                    fn->id = v2;
                }
                else if (f2 == 2) {
                    fn->name = v2;
                }
                else if (f2 == 3) {
                    fn->system_name = v2;
                }
                else if (f2 == 4) {
                    fn->filename = v2;
                }
            }
            break;
        }
        case 6:
            ck_assert_int_eq(kind, 2);
            *(const char **)apr_array_push(pp->strings)
                = apr_pstrmemdup(pool, (const char *)b.p,
                                 (apr_size_t)(b.end - b.p));
            break;
        case 9:
            pp->time_nanos = v;
            break;
        case 10:
            pp->duration_nanos = v;
            break;
        case 11:
            pp_value_type(&b, pp->period_type);
            break;
        case 12:
            pp->period = v;
            break;
        case 13:
            rd_repeated(pp->comments, kind, v, &b);
            break;
        case 14:
            pp->default_type = v;
            break;
        default:
            ck_abort_msg("unexpected Profile field %d", field);
        }
    }
}

static unsigned char *gunzip(const char *in, apr_size_t n, apr_size_t *out_n)
{
    z_stream z;
    apr_size_t cap = n * 8 + 1024;
    unsigned char *out = apr_palloc(pool, cap);
    int rc;

    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(n > 2 && (unsigned char)in[0] == 0x1f
                     && (unsigned char)in[1] == 0x8b, 1);
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    for (;;) {
        z.next_out = out + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            break;
        }
        ck_assert_msg(rc == Z_OK || rc == Z_BUF_ERROR, "inflate: %d", rc);
        if (z.avail_out == 0) {
            unsigned char *grown = apr_palloc(pool, cap * 2);
            memcpy(grown, out, z.total_out);
            out = grown;
            cap *= 2;
        }
        else {
            ck_abort_msg("truncated gzip stream");
        }
    }
    ck_assert_uint_eq(z.avail_in, 0);
    *out_n = z.total_out;
    inflateEnd(&z);
    return out;
}

static const char *pp_str(const pp_profile_t *pp, apr_uint64_t i)
{
    ck_assert_msg(i < (apr_uint64_t)pp->strings->nelts,
                  "string %d out of the table", (int)i);
    return ((const char **)pp->strings->elts)[i];
}

static const pp_location_t *pp_location(const pp_profile_t *pp,
                                        apr_uint64_t id)
{
    int i;

    for (i = 0; i < pp->locations->nelts; i++) {
        const pp_location_t *l = &((pp_location_t *)pp->locations->elts)[i];
        if (l->id == id) {
            return l;
        }
    }
    ck_abort_msg("no location %d", (int)id);
    return NULL;
}

static const pp_function_t *pp_function(const pp_profile_t *pp,
                                        apr_uint64_t id)
{
    int i;

    for (i = 0; i < pp->functions->nelts; i++) {
        const pp_function_t *f = &((pp_function_t *)pp->functions->elts)[i];
        if (f->id == id) {
            return f;
        }
    }
    ck_abort_msg("no function %d", (int)id);
    return NULL;
}

static const pp_mapping_t *pp_mapping(const pp_profile_t *pp,
                                      apr_uint64_t id)
{
    int i;

    for (i = 0; i < pp->mappings->nelts; i++) {
        const pp_mapping_t *mp = &((pp_mapping_t *)pp->mappings->elts)[i];
        if (mp->id == id) {
            return mp;
        }
    }
    ck_abort_msg("no mapping %d", (int)id);
    return NULL;
}

/* Sample S's stack as "uri:leaf|...|outer", checking every reference. */
static const char *pp_stack(const pp_profile_t *pp, const pp_sample_t *s)
{
    const char *out = apr_pstrcat(pool, pp_str(pp, s->label_str), ":",
                                  NULL);
    int i;

    ck_assert_str_eq(pp_str(pp, s->label_key), "uri");
    for (i = 0; i < s->locs->nelts; i++) {
        const pp_location_t *l
            = pp_location(pp, ((apr_uint64_t *)s->locs->elts)[i]);
        const pp_function_t *f = pp_function(pp, l->func);
        if (l->mapping) {
            const pp_mapping_t *mp = pp_mapping(pp, l->mapping);
            ck_assert(l->address >= mp->start && l->address < mp->limit);
            ck_assert_uint_eq(mp->has_functions, 1);
        }
        ck_assert_str_eq(pp_str(pp, f->name), pp_str(pp, f->system_name));
        out = apr_pstrcat(pool, out, i ? "|" : "", pp_str(pp, f->name),
                          NULL);
    }
    return out;
}

static void pp_render(const rp_model_t *m, pp_profile_t *pp)
{
    apr_size_t n, raw_n;
    const char *gz = render(m, rp_report_pprof, &n);
    unsigned char *raw = gunzip(gz, n, &raw_n);

    pp_decode(pp, raw, raw_n);
}

START_TEST(test_pprof_decodes)
{
    rp_model_t *m = model();
    pp_profile_t pp;
    apr_uint64_t *t, count = 0, ns = 0;
    int i, seen = 0, mapping_a = 0;

    m->first_time = apr_time_from_sec(1700000000);
    m->last_time = m->first_time + apr_time_from_sec(5);
    pp_render(m, &pp);

    ck_assert_int_ge(pp.strings->nelts, 10);
    ck_assert_str_eq(pp_str(&pp, 0), "");
    ck_assert_int_eq(pp.types->nelts, 2);
    t = (apr_uint64_t *)pp.types->elts;
    ck_assert_str_eq(pp_str(&pp, t[0]), "samples");
    ck_assert_str_eq(pp_str(&pp, t[1]), "count");
    ck_assert_str_eq(pp_str(&pp, t[2]), "cpu");
    ck_assert_str_eq(pp_str(&pp, t[3]), "nanoseconds");
    ck_assert_str_eq(pp_str(&pp, pp.period_type[0]), "cpu");
    ck_assert_str_eq(pp_str(&pp, pp.period_type[1]), "nanoseconds");
    ck_assert_str_eq(pp_str(&pp, pp.default_type), "cpu");
    ck_assert_uint_eq(pp.period, 1000000000u / 999);
    ck_assert_uint_eq(pp.time_nanos, 1700000000ull * 1000000000ull);
    ck_assert_uint_eq(pp.duration_nanos, 5000000000ull);
    ck_assert_int_ge(pp.comments->nelts, 1);
    ck_assert(strstr(pp_str(&pp, ((apr_uint64_t *)pp.comments->elts)[0]),
                     "cpu timer, 999 Hz") != NULL);

    ck_assert_int_eq(pp.samples->nelts, NSTACKS);
    for (i = 0; i < pp.samples->nelts; i++) {
        const pp_sample_t *s = &((pp_sample_t *)pp.samples->elts)[i];
        const char *stack = pp_stack(&pp, s);
        apr_uint64_t *v = (apr_uint64_t *)s->vals->elts;
        ck_assert_int_eq(s->vals->nelts, 2);
        ck_assert_uint_eq(v[1], v[0] * NS);
        count += v[0];
        ns += v[1];
        if (strcmp(stack, "/spin:fixture_spin_a|fixture_handler|"
                   "ap_run_handler|main") == 0) {
            ck_assert_uint_eq(v[0], 200);
            seen |= 1;
        }
        if (strcmp(stack, "/other:leaf|rec|rec|main") == 0) {
            ck_assert_uint_eq(v[0], 4);
            seen |= 2;
        }
        if (strcmp(stack, "/other:") == 0) {
            ck_assert_uint_eq(v[0], 2);
            seen |= 4;
        }
    }
    ck_assert_int_eq(seen, 7);
    ck_assert_uint_eq(count, TOTAL);
    ck_assert_uint_eq(ns, (apr_uint64_t)TOTAL * NS);

    /* One mapping per object, the main binary first; ranges apart. */
    ck_assert_int_eq(pp.mappings->nelts, 3);
    ck_assert_str_eq(pp_str(&pp, ((pp_mapping_t *)pp.mappings->elts)[0]
                              .filename), "/usr/sbin/apache2");
    for (i = 0; i < pp.mappings->nelts; i++) {
        const pp_mapping_t *a = &((pp_mapping_t *)pp.mappings->elts)[i];
        int j;
        if (strcmp(pp_str(&pp, a->filename), "/mod/mod_fixture.so") == 0) {
            mapping_a = 1;
        }
        ck_assert(a->start < a->limit);
        for (j = 0; j < i; j++) {
            const pp_mapping_t *b = &((pp_mapping_t *)pp.mappings->elts)[j];
            ck_assert(a->limit <= b->start || b->limit <= a->start);
        }
    }
    ck_assert(mapping_a);
}
END_TEST

START_TEST(test_pprof_real_timer_and_focus)
{
    rp_model_t *m = model();
    pp_profile_t pp;
    apr_uint64_t *t;
    int i, found = 0;

    info_real.settings.timer = 1;
    info_real.settings.frequency = 100;
    info_real.taken = apr_time_from_sec(1700000100);
    m->info = &info_real;
    m->focus = "/spin";
    opts.seconds = 10;
    pp_render(m, &pp);
    opts.seconds = 0;
    t = (apr_uint64_t *)pp.types->elts;
    ck_assert_str_eq(pp_str(&pp, t[2]), "wall");
    ck_assert_str_eq(pp_str(&pp, pp.period_type[0]), "wall");
    ck_assert_str_eq(pp_str(&pp, pp.default_type), "wall");
    ck_assert_uint_eq(pp.period, 10000000);
    ck_assert_uint_eq(pp.duration_nanos, 10000000000ull);
    ck_assert_uint_eq(pp.time_nanos, 1700000090ull * 1000000000ull);
    for (i = 0; i < pp.comments->nelts; i++) {
        const char *s = pp_str(&pp, ((apr_uint64_t *)pp.comments->elts)[i]);
        found |= strstr(s, "uri=/spin") ? 1 : 0;
        found |= strstr(s, "10 s") ? 2 : 0;
    }
    ck_assert_int_eq(found, 3);
}
END_TEST

/* Strings are valid UTF-8 whatever the names hold. */
START_TEST(test_pprof_escapes_strings)
{
    const char *line = "/u\xff;f 3";
    rp_model_t *m = rp_model_from_folded(pool, &line, 1, NS);
    pp_profile_t pp;
    int i, uri = 0;

    ((rp_func_t *)m->funcs->elts)[1].name = "bad\x80\nname";
    pp_render(m, &pp);
    for (i = 0; i < pp.strings->nelts; i++) {
        const char *s = pp_str(&pp, (apr_uint64_t)i);
        ck_assert_msg(strchr(s, '\n') == NULL && !strchr(s, '\x80'), "%s", s);
        uri |= strcmp(s, "/u\\xFF") == 0;
    }
    ck_assert(uri);
    ck_assert_int_eq(pp.samples->nelts, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Callgrind */

typedef struct {
    apr_hash_t *names;          /* "(id)" -> name, per kind */
    apr_hash_t *self;           /* fn -> samples */
    apr_hash_t *calls;          /* "caller>callee" -> inclusive samples */
    apr_uint64_t self_sum, summary, totals;
} cg_t;

static const char *cg_name(cg_t *g, const char *kind, const char *v)
{
    const char *close = strchr(v, ')'), *key;

    ck_assert_msg(*v == '(' && close, "uncompressed name %s", v);
    key = apr_pstrcat(pool, kind, apr_pstrmemdup(pool, v, close + 1 - v),
                      NULL);
    if (close[1] == ' ') {
        apr_hash_set(g->names, key, APR_HASH_KEY_STRING,
                     apr_pstrdup(pool, close + 2));
    }
    v = apr_hash_get(g->names, key, APR_HASH_KEY_STRING);
    ck_assert_msg(v != NULL, "name %s used before it was given", key);
    return v;
}

static apr_uint64_t *cg_slot(apr_hash_t *h, const char *key)
{
    apr_uint64_t *s = apr_hash_get(h, key, APR_HASH_KEY_STRING);

    if (!s) {
        s = apr_pcalloc(pool, sizeof(*s));
        apr_hash_set(h, apr_pstrdup(pool, key), APR_HASH_KEY_STRING, s);
    }
    return s;
}

static void cg_parse(cg_t *g, const char *text)
{
    char *copy = apr_pstrdup(pool, text), *line, *last;
    const char *fn = NULL, *cfn = NULL;
    int in_header = 1, after_calls = 0;

    memset(g, 0, sizeof(*g));
    g->names = apr_hash_make(pool);
    g->self = apr_hash_make(pool);
    g->calls = apr_hash_make(pool);
    ck_assert(strncmp(text, "# callgrind format\n", 19) == 0);
    for (line = apr_strtok(copy, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        if (*line == '#') {
            continue;
        }
        if (in_header) {
            if (strncmp(line, "events: ", 8) == 0) {
                ck_assert_str_eq(line, "events: Samples Nanoseconds");
                in_header = 0;
            }
            continue;
        }
        if (strncmp(line, "summary: ", 9) == 0) {
            g->summary = apr_strtoi64(line + 9, NULL, 10);
        }
        else if (strncmp(line, "totals: ", 8) == 0) {
            g->totals = apr_strtoi64(line + 8, NULL, 10);
        }
        else if (strncmp(line, "fn=", 3) == 0) {
            fn = cg_name(g, "fn", line + 3);
        }
        else if (strncmp(line, "cfn=", 4) == 0) {
            cfn = cg_name(g, "fn", line + 4);
        }
        else if (strncmp(line, "fl=", 3) == 0 || strncmp(line, "cfi=", 4) == 0
                 || strncmp(line, "ob=", 3) == 0
                 || strncmp(line, "cob=", 4) == 0) {
            cg_name(g, line[0] == 'c' ? (line[1] == 'o' ? "ob" : "fl")
                                      : (line[0] == 'o' ? "ob" : "fl"),
                    strchr(line, '=') + 1);
        }
        else if (strncmp(line, "calls=", 6) == 0) {
            after_calls = 1;
        }
        else if (*line >= '0' && *line <= '9') {
            char *end;
            apr_uint64_t s;
            apr_strtoi64(line, &end, 10);
            s = apr_strtoi64(end, &end, 10);
            ck_assert(fn != NULL);
            if (after_calls) {
                *cg_slot(g->calls, apr_pstrcat(pool, fn, ">", cfn, NULL))
                    += s;
                after_calls = 0;
            }
            else {
                *cg_slot(g->self, fn) += s;
                g->self_sum += s;
            }
        }
        else {
            ck_abort_msg("unexpected line: %s", line);
        }
    }
}

START_TEST(test_callgrind_costs)
{
    rp_model_t *m = model();
    const char *text = render(m, rp_report_callgrind, NULL);
    cg_t g;

    cg_parse(&g, text);
    ck_assert_uint_eq(g.self_sum, TOTAL);
    ck_assert_uint_eq(g.summary, TOTAL);
    ck_assert_uint_eq(g.totals, TOTAL);
    ck_assert_uint_eq(*cg_slot(g.self, "fixture_spin_a"), 200);
    ck_assert_uint_eq(*cg_slot(g.self, "fixture_spin_b"), 100);
    ck_assert_uint_eq(*cg_slot(g.self, "fixture_handler"), 3);
    ck_assert_uint_eq(*cg_slot(g.calls, "fixture_handler>fixture_spin_a"),
                      200);
    ck_assert_uint_eq(*cg_slot(g.calls, "ap_run_handler>fixture_handler"),
                      303);
    ck_assert_uint_eq(*cg_slot(g.calls, "/spin>main"), 303);
    /* Recursion: each edge once per stack, direct recursion left out. */
    ck_assert_uint_eq(*cg_slot(g.calls, "main>rec"), 4);
    ck_assert_uint_eq(*cg_slot(g.calls, "rec>rec"), 0);
    ck_assert_uint_eq(*cg_slot(g.calls, "rec>leaf"), 4);
    ck_assert(strstr(text, "desc: Timer: cpu, 999 Hz\n") != NULL);
    golden("exports.callgrind", text);
}
END_TEST

/* The same figures as rp_model_edges, which the one-pass edge table of
 * the callgrind and dot renderers stands in for. */
START_TEST(test_callgrind_matches_model_edges)
{
    rp_model_t *m = model();
    cg_t g;
    int f, i;

    cg_parse(&g, render(m, rp_report_callgrind, NULL));
    for (f = 0; f < m->funcs->nelts; f++) {
        apr_array_header_t *e = rp_model_edges(pool, m, (apr_uint32_t)f, 0);
        for (i = 0; i < e->nelts; i++) {
            const rp_edge_t *x = &((rp_edge_t *)e->elts)[i];
            const char *key;
            if (x->func == (apr_uint32_t)f) {
                continue;               /* direct recursion: left out */
            }
            key = apr_pstrcat(pool, rp_model_func(m, (apr_uint32_t)f)->name,
                              ">", rp_model_func(m, x->func)->name, NULL);
            ck_assert_msg(*cg_slot(g.calls, key) == x->count, "%s", key);
        }
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dot */

START_TEST(test_dot_graph)
{
    rp_model_t *m = model();
    const char *text = render(m, rp_report_dot, NULL);

    ck_assert(strncmp(text, "digraph reqprof {\n", 18) == 0);
    ck_assert(strstr(text, "label=\"fixture_spin_a\\nmod_fixture.so\\n"
                     "64.52% (64.52%)\\n200 samples\"") != NULL);
    ck_assert(strstr(text, "label=\"fixture_spin_b\\nmod_fixture.so\\n")
              != NULL);
    ck_assert(strstr(text, "label=\"/spin\\n[uri]\\n97.74% (0.00%)")
              != NULL);
    /* 1 sample of 310 is 0.32 %: [truncated] falls below 0.5 %. */
    ck_assert(strstr(text, "[truncated]") == NULL);
    ck_assert(strstr(text, "functions below 0.5% cumulative dropped: 1 of "
                     "10;") != NULL);
    ck_assert(strstr(text, "function dropped: 1 of 10") != NULL);
    golden("exports.dot", text);
}
END_TEST

START_TEST(test_dot_threshold_and_escapes)
{
    rp_model_t *m = model();
    const char *text;

    ((rp_func_t *)m->funcs->elts)[4].name = "q\"uo\\te&amp";
    opts.min_pct = 50;
    text = render(m, rp_report_dot, NULL);
    opts.min_pct = 0;
    ck_assert(strstr(text, "fixture_spin_b") == NULL);
    ck_assert(strstr(text, "q\\\"uo\\\\te&amp;amp\\n") != NULL);
    ck_assert(strstr(text, "functions below 50% cumulative") != NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* JSON stacks: the functions view's export of every stack */

/* The "samples" of each stack in JSON, in order, as "n,n,..."; *N gets
 * how many stacks there are. */
static const char *stack_samples(const char *json, int *n)
{
    const char *s = strstr(json, "\"stacks\": [");
    const char *out = "";

    ck_assert_ptr_nonnull(s);
    *n = 0;
    while ((s = strstr(s, "{\"samples\": ")) != NULL) {
        s += strlen("{\"samples\": ");
        out = apr_psprintf(pool, "%s%s%ld", out, *n ? "," : "",
                           strtol(s, NULL, 10));
        (*n)++;
    }
    return out;
}

/* ?limit= bounds the stacks as it bounds the rows: the heaviest LIMIT of
 * them, heaviest first, and stacks_total says how many there are. */
START_TEST(test_json_stacks_obey_limit)
{
    rp_model_t *m = model();
    const char *json;
    int n;

    page.notice = NULL;
    opts.view = RP_VIEW_FUNCTIONS;
    opts.select.sort = "self";
    opts.select.limit = 2;
    json = render(m, rp_report_json, NULL);
    ck_assert_str_eq(stack_samples(json, &n), "200,100");
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(json, "\"stacks_total\": 6,"));
    ck_assert_ptr_nonnull(strstr(json, "{\"samples\": 200, \"ms\": 200.000, "
                                 "\"frames\": [\"/spin\", \"main\", "
                                 "\"ap_run_handler\", \"fixture_handler\", "
                                 "\"fixture_spin_a\"]}"));
    /* A limit above the count, and 0: every stack, heaviest first; ties
     * (none here) in tree order. */
    opts.select.limit = 1000;
    ck_assert_str_eq(stack_samples(render(m, rp_report_json, NULL), &n),
                     "200,100,4,3,2,1");
    opts.select.limit = 0;
    ck_assert_str_eq(stack_samples(render(m, rp_report_json, NULL), &n),
                     "200,100,4,3,2,1");
    opts.select.limit = 1;
    json = render(m, rp_report_json, NULL);
    ck_assert_str_eq(stack_samples(json, &n), "200");
    /* The rows obey it too, as before. */
    ck_assert_ptr_nonnull(strstr(json, "\"functions_total\": 8, "
                                 "\"match_error\": null, \"functions\": "
                                 "[\n  {\"name\": \"fixture_spin_a\""));
    ck_assert_ptr_null(strstr(json, "\"name\": \"fixture_spin_b\""));
    memset(&opts, 0, sizeof(opts));
}
END_TEST

/* ------------------------------------------------------------------ */
/* rp_model_diff */

static void add_uri(rp_model_t *m, const char *uri, apr_uint64_t requests,
                    apr_uint64_t samples)
{
    rp_model_uri_t *u = apr_array_push(m->uris);

    memset(u, 0, sizeof(*u));
    u->uri = uri;
    u->requests = requests;
    u->samples = samples;
    u->sum_cpu_us = requests * 1000;
    u->max_cpu_us = 1000;
}

static const char *folded(const rp_model_t *m)
{
    apr_uint64_t sum;
    apr_array_header_t *l = folded_lines(render(m, rp_report_collapsed,
                                                NULL), &sum);
    const char *out = "";
    int i;

    ck_assert_uint_eq(sum, m->samples);
    for (i = 0; i < l->nelts; i++) {
        out = apr_pstrcat(pool, out, ((const char **)l->elts)[i], "\n",
                          NULL);
    }
    return out;
}

static const rp_func_t *named(const rp_model_t *m, const char *name)
{
    apr_array_header_t *f = rp_model_find(pool, m, name);

    ck_assert_int_eq(f->nelts, 1);
    return rp_model_func(m, ((apr_uint32_t *)f->elts)[0]);
}

START_TEST(test_diff_subtracts)
{
    static const char *const b[] = {
        "/a;main;f 10", "/a;main;g 5", "/a;main;f;f 2", "/gone;main;x 7"
    };
    static const char *const a[] = {
        "/a;main;g 5", "/a;main;f 15", "/a;main;f;f 3", "/b;main;h@lib 3",
        "/gone;main;x 7", "/a;main;f@other 4"
    };
    rp_model_t *before = rp_model_from_folded(pool, b, 4, NS);
    rp_model_t *after = rp_model_from_folded(pool, a, 6, NS);
    rp_model_t *d;
    const rp_model_uri_t *u;

    before->info = after->info = &info_cpu;
    before->uris = apr_array_make(pool, 2, sizeof(rp_model_uri_t));
    after->uris = apr_array_make(pool, 3, sizeof(rp_model_uri_t));
    add_uri(before, "/a", 10, 17);
    add_uri(before, "/gone", 1, 7);
    add_uri(after, "/a", 15, 27);
    add_uri(after, "/b", 2, 3);
    add_uri(after, "/gone", 1, 7);
    d = rp_model_diff(pool, before, after);

    ck_assert_str_eq(folded(d), "/a|main|f 5\n/a|main|f|f 1\n/b|main|h 3\n"
                     "/a|main|f 4\n");
    ck_assert_uint_eq(d->samples, 13);
    ck_assert_uint_eq(d->weight_ns, 13ull * NS);
    /* Pruned: g and x had nothing new. */
    ck_assert_int_eq(rp_model_find(pool, d, "g")->nelts, 0);
    ck_assert_int_eq(rp_model_find(pool, d, "x")->nelts, 0);
    ck_assert_uint_eq(named(d, "main")->cum_count, 13);
    ck_assert_uint_eq(rp_model_func(d, ((apr_uint32_t *)
                                        rp_model_find(pool, d, "f")->elts)[0])
                      ->self_count + rp_model_func(d, ((apr_uint32_t *)
                                        rp_model_find(pool, d, "f")->elts)[1])
                      ->self_count, 10);
    ck_assert_uint_eq(d->counters[RP_CTR_SAMPLES], 37 - 24);
    ck_assert_uint_eq(d->counters[RP_CTR_WEIGHT_NS], 13ull * NS);
    /* URIs: new ones and the new part of old ones, most samples first. */
    ck_assert_int_eq(d->uris->nelts, 2);
    u = &((rp_model_uri_t *)d->uris->elts)[0];
    ck_assert_str_eq(u->uri, "/a");
    ck_assert_uint_eq(u->requests, 5);
    ck_assert_uint_eq(u->samples, 10);
    ck_assert_uint_eq(u->sum_cpu_us, 5000);
    u = &((rp_model_uri_t *)d->uris->elts)[1];
    ck_assert_str_eq(u->uri, "/b");
    ck_assert_uint_eq(u->requests, 2);
    /* The model's own accessors work on the result. */
    ck_assert_int_eq(rp_model_children(pool, d, 0)->nelts, 2);
    ck_assert_uint_eq(rp_model_node(d, 0)->total_count, 13);
}
END_TEST

START_TEST(test_diff_of_same_is_empty)
{
    rp_model_t *m = model(), *d;

    d = rp_model_diff(pool, m, m);
    ck_assert_uint_eq(d->samples, 0);
    ck_assert_int_eq(d->nodes->nelts, 1);
    ck_assert_int_eq(d->funcs->nelts, 0);
    ck_assert_str_eq(render(d, rp_report_collapsed, NULL), "");
    ck_assert(strstr(render(d, rp_report_dot, NULL), "digraph") != NULL);
    ck_assert(strstr(render(d, rp_report_callgrind, NULL), "totals: 0 0")
              != NULL);
    {
        pp_profile_t pp;
        pp_render(d, &pp);
        ck_assert_int_eq(pp.samples->nelts, 0);
        ck_assert_str_eq(pp_str(&pp, 0), "");
    }
}
END_TEST

START_TEST(test_diff_after_clear_is_after)
{
    rp_model_t *before = model(), *after = model();
    static rp_snapshot_info_t cleared;

    cleared = info_cpu;
    cleared.generation = info_cpu.generation + 1;
    after->info = &cleared;
    ck_assert_ptr_eq(rp_model_diff(pool, before, after), after);
}
END_TEST

/* Counts below BEFORE's (a child's region reset in between) stop at 0. */
START_TEST(test_diff_clamps)
{
    static const char *const b[] = { "/a;f 10" };
    static const char *const a[] = { "/a;f 4", "/a;g 2" };
    rp_model_t *before = rp_model_from_folded(pool, b, 1, NS);
    rp_model_t *after = rp_model_from_folded(pool, a, 2, NS);
    rp_model_t *d = rp_model_diff(pool, before, after);

    ck_assert_str_eq(folded(d), "/a|g 2\n");
    ck_assert_uint_eq(d->counters[RP_CTR_SAMPLES], 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Speedscope */

/* A JSON reader as strict as RFC 8259 (but for numbers, read as
 * doubles), written here independently of the renderers, so that an
 * export that is not JSON fails here, not in speedscope. */
typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jkind_e;

typedef struct jv_t jv_t;
struct jv_t {
    jkind_e kind;
    double num;                /* J_NUM, J_BOOL */
    const char *str;           /* J_STR, decoded */
    apr_array_header_t *items; /* J_ARR, J_OBJ: of jv_t * */
    apr_array_header_t *keys;  /* J_OBJ: of const char *, as items */
};

typedef struct {
    const char *s;
    const char *err; /* the first error, or NULL */
} jr_t;

static jv_t *j_value(jr_t *r, int depth);

static void j_ws(jr_t *r)
{
    while (*r->s == ' ' || *r->s == '\t' || *r->s == '\n' || *r->s == '\r') {
        r->s++;
    }
}

static jv_t *j_fail(jr_t *r, const char *why)
{
    if (!r->err) {
        r->err = apr_psprintf(pool, "%s at \"%.40s\"", why, r->s);
    }
    return NULL;
}

static void put_utf8(char **o, unsigned long v)
{
    char *p = *o;

    if (v < 0x80) {
        *p++ = (char)v;
    }
    else if (v < 0x800) {
        *p++ = (char)(0xC0 | (v >> 6));
        *p++ = (char)(0x80 | (v & 0x3F));
    }
    else if (v < 0x10000) {
        *p++ = (char)(0xE0 | (v >> 12));
        *p++ = (char)(0x80 | ((v >> 6) & 0x3F));
        *p++ = (char)(0x80 | (v & 0x3F));
    }
    else {
        *p++ = (char)(0xF0 | (v >> 18));
        *p++ = (char)(0x80 | ((v >> 12) & 0x3F));
        *p++ = (char)(0x80 | ((v >> 6) & 0x3F));
        *p++ = (char)(0x80 | (v & 0x3F));
    }
    *o = p;
}

static int hex4(const char *s, unsigned long *v)
{
    int i;

    *v = 0;
    for (i = 0; i < 4; i++) {
        int d = s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : hex(s[i]);
        if (d < 0) {
            return 0;
        }
        *v = *v * 16 + (unsigned long)d;
    }
    return 1;
}

static const char *j_string(jr_t *r)
{
    char *out = apr_palloc(pool, strlen(r->s) + 1), *o = out;

    r->s++; /* the opening quote */
    while (*r->s != '"') {
        unsigned char ch = (unsigned char)*r->s;
        unsigned long v, lo;
        if (ch < 0x20) {
            j_fail(r, ch ? "control byte in a string" : "unended string");
            return NULL;
        }
        if (ch != '\\') {
            *o++ = *r->s++;
            continue;
        }
        switch (r->s[1]) {
        case '"':
        case '\\':
        case '/':
            *o++ = r->s[1];
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u':
            if (!hex4(r->s + 2, &v)) {
                j_fail(r, "bad \\u escape");
                return NULL;
            }
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (r->s[6] != '\\' || r->s[7] != 'u' || !hex4(r->s + 8, &lo)
                    || lo < 0xDC00 || lo > 0xDFFF) {
                    j_fail(r, "lone surrogate");
                    return NULL;
                }
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                r->s += 6;
            }
            else if (v >= 0xDC00 && v <= 0xDFFF) {
                j_fail(r, "lone surrogate");
                return NULL;
            }
            put_utf8(&o, v);
            r->s += 4;
            break;
        default:
            j_fail(r, "bad escape");
            return NULL;
        }
        r->s += 2;
    }
    r->s++;
    *o = '\0';
    return out;
}

static jv_t *j_new(jkind_e kind)
{
    jv_t *v = apr_pcalloc(pool, sizeof(*v));

    v->kind = kind;
    if (kind == J_ARR || kind == J_OBJ) {
        v->items = apr_array_make(pool, 4, sizeof(jv_t *));
        v->keys = apr_array_make(pool, 4, sizeof(const char *));
    }
    return v;
}

/* An array (CLOSE ']') or an object ('}'). */
static jv_t *j_list(jr_t *r, char close, int depth)
{
    jv_t *v = j_new(close == ']' ? J_ARR : J_OBJ), *item;
    const char *key = NULL;

    r->s++;
    j_ws(r);
    if (*r->s == close) {
        r->s++;
        return v;
    }
    for (;;) {
        j_ws(r);
        if (close == '}') {
            if (*r->s != '"' || !(key = j_string(r))) {
                return j_fail(r, "object key expected");
            }
            j_ws(r);
            if (*r->s++ != ':') {
                return j_fail(r, "':' expected");
            }
        }
        if (!(item = j_value(r, depth + 1))) {
            return NULL;
        }
        *(jv_t **)apr_array_push(v->items) = item;
        *(const char **)apr_array_push(v->keys) = key;
        j_ws(r);
        if (*r->s == ',') {
            r->s++;
            continue;
        }
        if (*r->s != close) {
            return j_fail(r, "',' or end of list expected");
        }
        r->s++;
        return v;
    }
}

static jv_t *j_value(jr_t *r, int depth)
{
    jv_t *v;
    const char *start;

    j_ws(r);
    if (depth > 64) {
        return j_fail(r, "too deep");
    }
    switch (*r->s) {
    case '{':
        return j_list(r, '}', depth);
    case '[':
        return j_list(r, ']', depth);
    case '"':
        v = j_new(J_STR);
        return (v->str = j_string(r)) ? v : NULL;
    }
    if (strncmp(r->s, "true", 4) == 0 || strncmp(r->s, "false", 5) == 0) {
        v = j_new(J_BOOL);
        v->num = *r->s == 't';
        r->s += *r->s == 't' ? 4 : 5;
        return v;
    }
    if (strncmp(r->s, "null", 4) == 0) {
        r->s += 4;
        return j_new(J_NULL);
    }
    /* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
    start = r->s;
    if (*r->s == '-') {
        r->s++;
    }
    if (*r->s == '0') {
        r->s++;
    }
    else if (*r->s >= '1' && *r->s <= '9') {
        while (*r->s >= '0' && *r->s <= '9') {
            r->s++;
        }
    }
    else {
        return j_fail(r, "value expected");
    }
    if (*r->s == '.') {
        if (!(*++r->s >= '0' && *r->s <= '9')) {
            return j_fail(r, "digit expected");
        }
        while (*r->s >= '0' && *r->s <= '9') {
            r->s++;
        }
    }
    if (*r->s == 'e' || *r->s == 'E') {
        r->s++;
        if (*r->s == '+' || *r->s == '-') {
            r->s++;
        }
        if (!(*r->s >= '0' && *r->s <= '9')) {
            return j_fail(r, "digit expected");
        }
        while (*r->s >= '0' && *r->s <= '9') {
            r->s++;
        }
    }
    v = j_new(J_NUM);
    v->num = strtod(apr_pstrndup(pool, start, (apr_size_t)(r->s - start)),
                    NULL);
    return v;
}

/* TEXT as one JSON value, or the test fails saying where it is not. */
static const jv_t *json_parse(const char *text)
{
    jr_t r;
    const jv_t *v;

    ck_assert_msg(unit_valid_utf8((const unsigned char *)text), "not UTF-8");
    r.s = text;
    r.err = NULL;
    v = j_value(&r, 0);
    j_ws(&r);
    if (v && *r.s) {
        j_fail(&r, "text after the value");
    }
    ck_assert_msg(r.err == NULL, "not JSON: %s", r.err);
    return v;
}

/* Member KEY of object O (the test fails without it), of kind KIND. */
static const jv_t *jget(const jv_t *o, const char *key, jkind_e kind)
{
    int i;

    ck_assert_int_eq(o->kind, J_OBJ);
    for (i = 0; i < o->items->nelts; i++) {
        if (strcmp(((const char **)o->keys->elts)[i], key) == 0) {
            const jv_t *v = ((jv_t **)o->items->elts)[i];
            ck_assert_msg(v->kind == kind, "member %s of kind %d", key,
                          (int)v->kind);
            return v;
        }
    }
    ck_abort_msg("no member %s", key);
    return NULL;
}

/* Member KEY of O, or NULL. */
static const jv_t *jfind(const jv_t *o, const char *key)
{
    int i;

    for (i = 0; i < o->items->nelts; i++) {
        if (strcmp(((const char **)o->keys->elts)[i], key) == 0) {
            return ((jv_t **)o->items->elts)[i];
        }
    }
    return NULL;
}

static const jv_t *jat(const jv_t *a, int i)
{
    ck_assert_int_lt(i, a->items->nelts);
    return ((jv_t **)a->items->elts)[i];
}

/* A whole number of JSON, as an integer. */
static apr_uint64_t jint(const jv_t *v)
{
    ck_assert_int_eq(v->kind, J_NUM);
    ck_assert_msg(v->num >= 0 && v->num == (double)(apr_uint64_t)v->num,
                  "not a count: %g", v->num);
    return (apr_uint64_t)v->num;
}

/* The reader itself refuses what is not JSON, so that a pass means
 * something. */
START_TEST(test_json_reader_refuses)
{
    static const char *const bad[] = {
        "",          "{",    "[1,]",      "{\"a\" 1}", "{\"a\": 1,}",
        "[01]",      "[1.]", "\"a\x01\"", "\"\\x41\"", "\"\\ud800\"",
        "[1] 2",     "nul",  "{a: 1}",    "'a'",       "[-]",
        "\"unended", NULL
    };
    const jv_t *v, *a;
    int i;

    for (i = 0; bad[i]; i++) {
        jr_t r;
        r.s = bad[i];
        r.err = NULL;
        v = j_value(&r, 0);
        j_ws(&r);
        ck_assert_msg(!v || r.err || *r.s, "took %s", bad[i]);
    }
    v = json_parse("{\"a\": [1, -2.5e3, true, null, \"\\u00e9\\ud83d"
                   "\\ude00\\n\"], \"b\": {}}");
    a = jget(v, "a", J_ARR);
    ck_assert_str_eq(jat(a, 4)->str, "\xc3\xa9\xf0\x9f\x98\x80\n");
    ck_assert(jat(a, 1)->num == -2500.0);
}
END_TEST

/* The string member KEY of O. */
static const char *jstr_of(const jv_t *o, const char *key)
{
    return jget(o, key, J_STR)->str;
}

#define SS_SCHEMA "https://www.speedscope.app/file-format-schema.json"

/* The document's head as speedscope's schema asks, with its frames
 * (*FRAMES) and profiles (*PROFILES). */
static void ss_head(const jv_t *doc, const jv_t **frames,
                    const jv_t **profiles)
{
    ck_assert_str_eq(jstr_of(doc, "$schema"), SS_SCHEMA);
    ck_assert_str_eq(jstr_of(doc, "exporter"), "mod_reqprof 0.0-test");
    jstr_of(doc, "name");
    ck_assert_uint_eq(jint(jget(doc, "activeProfileIndex", J_NUM)), 0);
    *frames = jget(jget(doc, "shared", J_OBJ), "frames", J_ARR);
    *profiles = jget(doc, "profiles", J_ARR);
    ck_assert_int_ge((*profiles)->items->nelts, 1);
}

/* Profile P's samples as frame names joined by '|', one per sample, each
 * followed by " WEIGHT"; *SUM gets the weights' sum.  Checks what every
 * sampled profile must be: in nanoseconds from 0, as many weights as
 * samples, every frame index in FRAMES. */
static apr_array_header_t *ss_samples(const jv_t *p, const jv_t *frames,
                                      apr_uint64_t *sum)
{
    const jv_t *samples = jget(p, "samples", J_ARR);
    const jv_t *weights = jget(p, "weights", J_ARR);
    apr_array_header_t *out = apr_array_make(pool, 8, sizeof(char *));
    int i, d;

    ck_assert_str_eq(jget(p, "type", J_STR)->str, "sampled");
    ck_assert_str_eq(jget(p, "unit", J_STR)->str, "nanoseconds");
    ck_assert_uint_eq(jint(jget(p, "startValue", J_NUM)), 0);
    jstr_of(p, "name");
    ck_assert_int_eq(samples->items->nelts, weights->items->nelts);
    *sum = 0;
    for (i = 0; i < samples->items->nelts; i++) {
        const jv_t *st = jat(samples, i);
        const char *joined = "", *line;
        ck_assert_int_eq(st->kind, J_ARR);
        ck_assert_int_ge(st->items->nelts, 1);
        for (d = 0; d < st->items->nelts; d++) {
            apr_uint64_t f = jint(jat(st, d));
            const char *name;
            ck_assert_uint_lt(f, (apr_uint64_t)frames->items->nelts);
            name = jstr_of(jat(frames, (int)f), "name");
            joined = apr_pstrcat(pool, joined, d ? "|" : "", name, NULL);
        }
        *sum += jint(jat(weights, i));
        line = apr_psprintf(pool, "%s %" APR_UINT64_T_FMT, joined,
                            jint(jat(weights, i)));
        *(const char **)apr_array_push(out) = line;
    }
    return out;
}

static const char *speedscope(const rp_model_t *m)
{
    memset(&opts, 0, sizeof(opts));
    return render(m, rp_report_speedscope, NULL);
}

/* The whole profile: a profile per URI, busiest first, whose samples are
 * the tree's stacks (URI outermost) with their self weights, heaviest
 * child first; the frames are the model's functions. */
START_TEST(test_speedscope_whole_profile)
{
    /* clang-format off */
    static const char *const want_spin[] = {
        "/spin|main|ap_run_handler|fixture_handler 3000000",
        "/spin|main|ap_run_handler|fixture_handler|fixture_spin_a 200000000",
        "/spin|main|ap_run_handler|fixture_handler|fixture_spin_b 100000000"
    };
    static const char *const want_other[] = {
        "/other 2000000", "/other|main|rec|rec|leaf 4000000",
        "/other|main|[truncated] 1000000"
    };
    /* clang-format on */
    rp_model_t *m = model();
    const char *out = speedscope(m);
    const jv_t *doc = json_parse(out), *frames, *profiles, *p, *f;
    apr_array_header_t *spin, *other;
    apr_uint64_t sum_spin, sum_other;
    const char *title;
    int i;

    ss_head(doc, &frames, &profiles);
    ck_assert_int_eq(frames->items->nelts, m->funcs->nelts);
    for (i = 0; i < m->funcs->nelts; i++) {
        const rp_func_t *fn = rp_model_func(m, (apr_uint32_t)i);
        f = jat(frames, i);
        ck_assert_str_eq(jstr_of(f, "name"), fn->name);
        if (fn->kind == RP_FRAME_URI || !*fn->object) {
            ck_assert_ptr_null(jfind(f, "file"));
        }
        else {
            /* No source file in a folded model: the object stands in. */
            ck_assert_str_eq(jstr_of(f, "file"), fn->object);
        }
    }
    ck_assert_int_eq(profiles->items->nelts, 2);
    p = jat(profiles, 0);
    ck_assert_str_eq(jstr_of(p, "name"), "/spin");
    spin = ss_samples(p, frames, &sum_spin);
    ck_assert_uint_eq(jint(jget(p, "endValue", J_NUM)), sum_spin);
    /* Depth first, a node before its children, heaviest child first. */
    ck_assert_int_eq(spin->nelts, 3);
    for (i = 0; i < 3; i++) {
        ck_assert_str_eq(((const char **)spin->elts)[i], want_spin[i]);
    }
    p = jat(profiles, 1);
    ck_assert_str_eq(jstr_of(p, "name"), "/other");
    other = ss_samples(p, frames, &sum_other);
    ck_assert_uint_eq(jint(jget(p, "endValue", J_NUM)), sum_other);
    ck_assert_int_eq(other->nelts, 3);
    for (i = 0; i < 3; i++) {
        ck_assert_str_eq(((const char **)other->elts)[i], want_other[i]);
    }
    ck_assert_uint_eq(sum_spin + sum_other, m->weight_ns);
    ck_assert_uint_eq(m->weight_ns, (apr_uint64_t)TOTAL * NS);
    title = jstr_of(doc, "name");
    ck_assert_ptr_nonnull(strstr(title, "cpu timer, 999 Hz"));
}
END_TEST

/* Names from requests and binaries come back as rp_escape_text leaves
 * them (the JSON escaper starts from it), in JSON that parses; an empty
 * model is one empty profile, which speedscope still opens. */
START_TEST(test_speedscope_escapes_and_empty)
{
    static const char *const odd = "/q\"<&>\\;x;a\"b\\c\x01\xff@/o\"bj.so;"
                                   "\xe2\x80\xa8tab\there 5";
    rp_model_t *m = rp_model_from_folded(pool, &odd, 1, NS);
    const jv_t *doc, *frames, *profiles;
    apr_array_header_t *got;
    apr_uint64_t sum;
    const char *want;

    m->info = &info_cpu;
    doc = json_parse(speedscope(m));
    ss_head(doc, &frames, &profiles);
    ck_assert_int_eq(profiles->items->nelts, 1);
    got = ss_samples(jat(profiles, 0), frames, &sum);
    ck_assert_int_eq(got->nelts, 1);
    want = apr_pstrcat(pool, rp_escape_text(pool, "/q\"<&>\\"), "|",
                       rp_escape_text(pool, "x"), "|",
                       rp_escape_text(pool, "a\"b\\c\x01\xff"), "|",
                       rp_escape_text(pool, "\xe2\x80\xa8tab\there"),
                       " 5000000", NULL);
    ck_assert_str_eq(((const char **)got->elts)[0], want);
    ck_assert_str_eq(jstr_of(jat(frames, 2), "file"), "/o\"bj.so");

    m = rp_model_from_folded(pool, NULL, 0, NS);
    m->info = &info_cpu;
    doc = json_parse(speedscope(m));
    ss_head(doc, &frames, &profiles);
    ck_assert_int_eq(profiles->items->nelts, 1);
    ck_assert_str_eq(jstr_of(jat(profiles, 0), "name"), "no samples");
    ck_assert_int_eq(ss_samples(jat(profiles, 0), frames, &sum)->nelts, 0);
    ck_assert_uint_eq(jint(jget(jat(profiles, 0), "endValue", J_NUM)), 0);
}
END_TEST

/* A formatted and attached store of one slot in pool memory. */
static rp_store_t *make_store(apr_size_t region)
{
    apr_size_t size = rp_store_segment_size(1, region);
    void *base;
    rp_store_t *s;

    ck_assert_uint_gt(size, 0);
    base = apr_pcalloc(pool, size);
    ck_assert_int_eq(rp_store_format(base, size, 1, region), APR_SUCCESS);
    s = rp_store_attach(pool, base, size);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* One request, kept: its profile is its spans in time order.  Samples
 * of leaves A A B A C C (consecutive ones of a leaf merge into a span),
 * so the spans are A B A C, and A's two spans must stay apart, in their
 * places. */
START_TEST(test_speedscope_one_request)
{
    /* A table, laid out by hand. */
    /* clang-format off */
    static const struct {
        apr_uint64_t rel;       /* of the leaf */
        apr_uint64_t end_us, weight_us;
    } seq[] = {
        { 0x100, 1000, 1000 }, { 0x100, 2000, 1000 },
        { 0x200, 3500, 1500 },
        { 0x100, 4000, 500 },
        { 0x300, 5000, 1000 }, { 0x300, 6000, 1000 }
    };
    /* clang-format on */
    static const apr_uint64_t want_ns[] = { 2000000, 1500000, 500000,
                                            2000000 };
    rp_store_t *s = make_store(512 * 1024);
    rp_keep_policy_t kp = { 4, 0, 0 };
    rp_keep_info_t ki;
    rp_request_info_t req;
    rp_frame_t fr[6][2];
    rp_sample_view_t sm[6];
    const rp_snapshot_t *snap;
    rp_snapshot_t *one;
    const rp_model_t *m;
    const jv_t *doc, *frames, *profiles, *p, *samples;
    apr_array_header_t *got;
    apr_uint64_t sum;
    apr_uint32_t obj;
    const char *leaf[4];
    int slot, i;

    slot = rp_store_claim(s, 4242, NULL);
    ck_assert_int_eq(slot, 0);
    rp_store_set_keep(s, &kp);
    obj = rp_store_object(s, slot, "/nonexistent/libunit.so", NULL);
    ck_assert_uint_ne(obj, RP_STORE_NONE);
    for (i = 0; i < 6; i++) {
        fr[i][0].kind = RP_FRAME_REAL; /* innermost first */
        fr[i][0].object = obj;
        fr[i][0].rel = seq[i].rel;
        fr[i][1].kind = RP_FRAME_REAL;
        fr[i][1].object = obj;
        fr[i][1].rel = 0x10;
        sm[i].frames = fr[i];
        sm[i].offcpu = 0;
        sm[i].depth = 2;
        sm[i].truncated = 0;
        sm[i].weight_ns = seq[i].weight_us * 1000;
        sm[i].end_us = seq[i].end_us;
    }
    memset(&ki, 0, sizeof(ki));
    ki.id = "req-17";
    memset(&req, 0, sizeof(req));
    req.time = apr_time_from_sec(1000);
    req.method = "GET";
    req.uri = "/one";
    req.status = 200;
    req.wall_us = 7000;
    req.cpu_us = 6000;
    req.keep = &ki;
    rp_store_add_request(s, slot, &req, sm, 6, NULL);

    snap = rp_store_snapshot_ex(s, pool, RP_SNAP_KEPT, "req-17");
    ck_assert_ptr_nonnull(snap);
    one = rp_snapshot_request(pool, snap, "req-17");
    ck_assert_ptr_nonnull(one);
    m = rp_model_build(pool, one, rp_symbols_create(pool), NULL, 0);
    ck_assert_ptr_nonnull(m->request);
    ck_assert_uint_eq(m->request->n_spans, 4);

    doc = json_parse(speedscope(m));
    ss_head(doc, &frames, &profiles);
    ck_assert_int_eq(profiles->items->nelts, 1);
    p = jat(profiles, 0);
    ck_assert_str_eq(jstr_of(p, "name"), "GET /one (request req-17)");
    ck_assert_str_eq(jstr_of(doc, "name"), "GET /one (request req-17)");
    got = ss_samples(p, frames, &sum);
    ck_assert_int_eq(got->nelts, 4);
    ck_assert_uint_eq(sum, 6000000);
    /* The wall time is more than the samples' weight: the end is it. */
    ck_assert_uint_eq(jint(jget(p, "endValue", J_NUM)), 7000000);
    samples = jget(p, "samples", J_ARR);
    for (i = 0; i < 4; i++) {
        const jv_t *st = jat(samples, i);
        const char *line = ((const char **)got->elts)[i];
        ck_assert_int_eq(st->items->nelts, 3); /* URI, outer, leaf */
        ck_assert_msg(strncmp(line, "/one|", 5) == 0, "%s", line);
        ck_assert_uint_eq(jint(jat(jget(p, "weights", J_ARR), i)),
                          want_ns[i]);
        leaf[i] = jstr_of(jat(frames, (int)jint(jat(st, 2))), "name");
        ck_assert_uint_eq(jint(jat(st, 1)), jint(jat(jat(samples, 0), 1)));
    }
    /* A, B, A, C: the first leaf comes back third, in its place.  (The
     * object is not on disk: each leaf is named by its offset.) */
    ck_assert_msg(strstr(leaf[0], "0x100") && strstr(leaf[1], "0x200")
                      && strstr(leaf[3], "0x300"),
                  "leaves %s %s %s %s", leaf[0], leaf[1], leaf[2], leaf[3]);
    ck_assert_str_eq(leaf[0], leaf[2]);
    ck_assert_str_ne(leaf[0], leaf[1]);
    ck_assert_str_ne(leaf[0], leaf[3]);
    ck_assert_str_ne(leaf[1], leaf[3]);

    /* A request whose samples weigh more than its wall time: the end is
     * their weight, so speedscope shows every sample. */
    ((rp_kept_t *)m->request)->wall_us = 1000;
    p = jat(jget(json_parse(speedscope(m)), "profiles", J_ARR), 0);
    ck_assert_uint_eq(jint(jget(p, "endValue", J_NUM)), 6000000);
}
END_TEST

static Suite *exports_suite(void)
{
    Suite *s = suite_create("rp_exports");
    TCase *tc = tcase_create("exports");
    TCase *td = tcase_create("diff");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_collapsed_lines_and_sum);
    tcase_add_test(tc, test_collapsed_escapes_names);
    tcase_add_test(tc, test_pprof_decodes);
    tcase_add_test(tc, test_pprof_real_timer_and_focus);
    tcase_add_test(tc, test_pprof_escapes_strings);
    tcase_add_test(tc, test_callgrind_costs);
    tcase_add_test(tc, test_callgrind_matches_model_edges);
    tcase_add_test(tc, test_dot_graph);
    tcase_add_test(tc, test_dot_threshold_and_escapes);
    tcase_add_test(tc, test_json_stacks_obey_limit);
    tcase_add_test(tc, test_json_reader_refuses);
    tcase_add_test(tc, test_speedscope_whole_profile);
    tcase_add_test(tc, test_speedscope_escapes_and_empty);
    tcase_add_test(tc, test_speedscope_one_request);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(td, setup, teardown);
    tcase_add_test(td, test_diff_subtracts);
    tcase_add_test(td, test_diff_of_same_is_empty);
    tcase_add_test(td, test_diff_after_clear_is_after);
    tcase_add_test(td, test_diff_clamps);
    suite_add_tcase(s, td);
    return s;
}

UNIT_MAIN(exports_suite)
