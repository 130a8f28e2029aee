/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of the exports (collapsed, pprof, callgrind, dot) and of
 * rp_model_diff, on models made from folded stacks.
 *
 * Each export is read back the way its consumers read it: folded lines
 * are split and summed, and frame names decoded by rp_escape.h's rule;
 * the pprof output is gunzipped with zlib and decoded by a small
 * protobuf reader written here, independently of the encoder; callgrind
 * cost lines are summed per function and per call; the dot graph is
 * searched for its nodes, edges and label.  The collapsed, callgrind and
 * dot outputs of one model are also compared with golden files in
 * tests/unit/golden/ (the pprof bytes depend on zlib's version, so its
 * decoded content is checked instead).  To regenerate the golden files
 * after an intended change, from the top directory:
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

#include "rp_model.h"
#include "rp_out.h"
#include "rp_report.h"

#include "unit_main.h"
#include "unit_pool.h"

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
