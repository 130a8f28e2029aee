/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_pprof: the profile as pprof's profile.proto, gzipped, which
 * `go tool pprof`, Parca, Grafana Pyroscope and Alloy read.  The encoder
 * is written by hand (varints, length-delimited fields, packed repeated
 * scalars): the format needs a few dozen lines, not libprotobuf.
 *
 * The model merges children by function, not by address (children map
 * objects at other addresses), so there are no real addresses to give.
 * Each object becomes a mapping with a made-up address range, and each
 * function one location at a made-up address inside it; every mapping
 * says has_functions, so pprof shows the names given and never tries to
 * symbolize those addresses against the file on disk.  Functions with no
 * object ([truncated], [table full], bare addresses) have no mapping.
 *
 * One sample per call-tree node with samples of its own: the locations
 * innermost first, without the URI node, which becomes the sample's
 * labels instead: "uri", and from the request label the store keeps with
 * each URI node, "method", "status" (a number), "vhost" and "handler" (so
 * `pprof -tagfocus uri=...` and Pyroscope's label selectors split by
 * them).  Values: [samples/count, cpu|wall/nanoseconds] after the timer.
 *
 * Every string goes through rp_escape_text: proto3 strings must be valid
 * UTF-8 (stricter decoders than pprof's refuse the profile otherwise), and
 * URIs are request-controlled.  Top-level fields are compressed as they
 * are encoded, so a large profile never sits in memory twice; the string
 * table goes last, when every string is known (field order is free in
 * protobuf).  If zlib cannot start, the profile goes out uncompressed,
 * which pprof also reads.
 */

#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <zlib.h>

#include "rp_escape.h"
#include "rp_report.h"

/* ------------------------------------------------------------------ */
/* Protobuf encoding */

#define WIRE_VARINT     0
#define WIRE_LEN        2

/* Fields of profile.proto (github.com/google/pprof proto/profile.proto). */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3,
    PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6,
    PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10,
    PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_COMMENT = 13,
    PROFILE_DEFAULT_SAMPLE_TYPE = 14
};
enum { VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2 };
enum { SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3 };
enum { LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3 };
enum {
    MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3,
    MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6, MAPPING_HAS_FUNCTIONS = 7,
    MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9
};
enum {
    LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3,
    LOCATION_LINE = 4
};
enum { LINE_FUNCTION_ID = 1, LINE_LINE = 2 };
enum {
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3,
    FUNCTION_FILENAME = 4
};

/* A message being built, or the top-level fields not yet compressed: a
 * buffer sink (rp_out_buffer), emptied by setting its len to 0. */
typedef rp_out_t pb_t;

static void pb_varint(pb_t *b, apr_uint64_t v)
{
    unsigned char v8[10];
    apr_size_t n = 0;

    while (v >= 0x80) {
        v8[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    v8[n++] = (unsigned char)v;
    rp_out_write(b, v8, n);
}

static apr_size_t varint_size(apr_uint64_t v)
{
    apr_size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void pb_tag(pb_t *b, int field, int wire)
{
    pb_varint(b, ((apr_uint64_t)field << 3) | (apr_uint64_t)wire);
}

/* A varint field.  Zero is proto3's default and is left out. */
static void pb_int(pb_t *b, int field, apr_uint64_t v)
{
    if (v) {
        pb_tag(b, field, WIRE_VARINT);
        pb_varint(b, v);
    }
}

static void pb_bytes(pb_t *b, int field, const void *s, apr_size_t n)
{
    pb_tag(b, field, WIRE_LEN);
    pb_varint(b, n);
    rp_out_write(b, s, n);
}

static void pb_msg(pb_t *b, int field, const pb_t *m)
{
    pb_bytes(b, field, m->buf, m->len);
}

/* A packed repeated varint field (proto3's encoding of repeated
 * scalars). */
static void pb_packed(pb_t *b, int field, const apr_uint64_t *v, int n)
{
    apr_size_t size = 0;
    int i;

    if (n <= 0) {
        return;
    }
    for (i = 0; i < n; i++) {
        size += varint_size(v[i]);
    }
    pb_tag(b, field, WIRE_LEN);
    pb_varint(b, size);
    for (i = 0; i < n; i++) {
        pb_varint(b, v[i]);
    }
}

/* ------------------------------------------------------------------ */
/* The profile being written */

#define ZCHUNK      (64 * 1024)

typedef struct {
    const rp_render_t *c;
    apr_hash_t *str_ids;        /* string as given -> index + 1 */
    apr_array_header_t *strs;   /* of const char *, in index order */
    pb_t top;                   /* Profile fields not yet compressed */
    pb_t msg, sub;              /* a message, a message inside it */
    z_stream z;
    int zok;                    /* deflate is running */
    unsigned char *zbuf;
} pprof_t;

/* Index of S in the string table, which holds it as TABLE_FORM.  The
 * table is keyed by the string as given, so a name asked for once per
 * function (a file) is escaped once, not once per ask. */
static apr_uint64_t str_as(pprof_t *x, const char *s, const char *table_form)
{
    apr_uintptr_t id = (apr_uintptr_t)apr_hash_get(x->str_ids, s,
                                                   APR_HASH_KEY_STRING);

    if (!id) {
        *(const char **)apr_array_push(x->strs)
            = table_form ? table_form : rp_escape_text(x->c->p, s);
        id = (apr_uintptr_t)x->strs->nelts;
        apr_hash_set(x->str_ids, s, APR_HASH_KEY_STRING, (void *)id);
    }
    return (apr_uint64_t)(id - 1);
}

/* Index of S, a constant of this file (needs no escaping; escaping is
 * one to one, so no escaped string can equal it but its own). */
static apr_uint64_t str_raw(pprof_t *x, const char *s)
{
    return str_as(x, s, s);
}

/* Index of S, a string from a binary or a request. */
static apr_uint64_t str(pprof_t *x, const char *s)
{
    return s && *s ? str_as(x, s, NULL) : 0;
}

static void z_feed(pprof_t *x, const unsigned char *in, apr_size_t n,
                   int flush)
{
    if (!x->zok) {
        rp_out_write(x->c->out, in, n);
        return;
    }
    x->z.next_in = (Bytef *)in;
    x->z.avail_in = (uInt)n;
    do {
        x->z.next_out = x->zbuf;
        x->z.avail_out = ZCHUNK;
        deflate(&x->z, flush);
        rp_out_write(x->c->out, x->zbuf, ZCHUNK - x->z.avail_out);
    } while (x->z.avail_out == 0);
}

/* Compress what the top-level buffer holds once it is worth a call. */
static void top_flush(pprof_t *x, int force)
{
    if (x->top.len >= ZCHUNK || (force && x->top.len)) {
        z_feed(x, (const unsigned char *)x->top.buf, x->top.len,
               Z_NO_FLUSH);
        x->top.len = 0;
    }
}

static void value_type(pprof_t *x, int field, const char *type,
                       const char *unit)
{
    x->msg.len = 0;
    pb_int(&x->msg, VALUE_TYPE_TYPE, str_raw(x, type));
    pb_int(&x->msg, VALUE_TYPE_UNIT, str_raw(x, unit));
    pb_msg(&x->top, field, &x->msg);
}

/* ------------------------------------------------------------------ */
/* Mappings: one per object, with a made-up address range */

typedef struct {
    const char *object;
    apr_uint64_t start;         /* the range is [start, start + 16 * n] */
    apr_uint32_t n;             /* functions placed so far */
    int has_files, has_lines;
} mapping_t;

/* The object of a module or library ("x.so", "x.so.1") or a pseudo-object
 * ("[vdso]"); anything else is taken for the main binary. */
static int is_library(const char *object)
{
    const char *base = strrchr(object, '/');

    base = base ? base + 1 : object;
    return *base == '[' || strstr(base, ".so") != NULL;
}

/* Build ids of every object in the regions, by path and by base name
 * (the model's objects are base names under strip_dirs). */
static apr_hash_t *build_ids(apr_pool_t *p, const rp_model_t *m)
{
    apr_hash_t *h = apr_hash_make(p);
    apr_uint32_t k;
    int i;

    for (i = 0; i < m->nregions; i++) {
        const rp_region_t *g = m->regions[i];
        for (k = 0; g && k < g->n_objects; k++) {
            const rp_object_t *o = &g->objects[k];
            const char *base;
            if (!o->path || !o->build_id || !*o->build_id || o->lang) {
                continue;
            }
            base = strrchr(o->path, '/');
            apr_hash_set(h, o->path, APR_HASH_KEY_STRING, o->build_id);
            apr_hash_set(h, base ? base + 1 : o->path, APR_HASH_KEY_STRING,
                         o->build_id);
        }
    }
    return h;
}

/* MAP[f]: the mapping index + 1 of function F (0: none); ADDR[f] its
 * location's address.  The main binary's mapping comes first, as pprof
 * expects. */
static apr_array_header_t *place_functions(pprof_t *x, apr_uint32_t *map,
                                           apr_uint64_t *addr)
{
    const rp_model_t *m = x->c->m;
    apr_pool_t *p = x->c->p;
    apr_array_header_t *maps = apr_array_make(p, 16, sizeof(mapping_t));
    apr_hash_t *ids = apr_hash_make(p);
    int nf = m->funcs->nelts, pass, i;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < nf; i++) {
            const rp_func_t *f = rp_model_func(m, (apr_uint32_t)i);
            apr_uintptr_t id;
            mapping_t *mp;
            if (!*f->object || f->kind == RP_FRAME_URI
                || is_library(f->object) != pass) {
                continue;
            }
            id = (apr_uintptr_t)apr_hash_get(ids, f->object,
                                             APR_HASH_KEY_STRING);
            if (!id) {
                mp = apr_array_push(maps);
                memset(mp, 0, sizeof(*mp));
                mp->object = f->object;
                id = (apr_uintptr_t)maps->nelts;
                /* 4 GB apart: no range can reach the next. */
                mp->start = (apr_uint64_t)id << 32;
                apr_hash_set(ids, f->object, APR_HASH_KEY_STRING,
                             (void *)id);
            }
            mp = &((mapping_t *)maps->elts)[id - 1];
            map[i] = (apr_uint32_t)id;
            addr[i] = mp->start + 16 * (apr_uint64_t)++mp->n;
            mp->has_files |= f->file != NULL;
            mp->has_lines |= f->line > 0;
        }
    }
    return maps;
}

/* ------------------------------------------------------------------ */
/* The renderer */

/* The labels of a URI node's samples, as string table ids (num for the
 * status), made once per URI pseudo-function. */
typedef struct {
    int done;
    apr_uint64_t uri, method, vhost, handler;
    apr_int64_t status;
} uri_labels_t;

/* The string keys of the labels, in the order of uri_labels_t. */
typedef struct {
    apr_uint64_t uri, method, status, vhost, handler;
} label_keys_t;

static void make_labels(pprof_t *x, const rp_func_t *f, uri_labels_t *l)
{
    char *fields[4] = { NULL, NULL, NULL, NULL };
    char *copy, *last, *t;
    int i = 0;

    l->done = 1;
    l->uri = str(x, f->name);
    if (f->label && *f->label) {
        copy = apr_pstrdup(x->c->p, f->label);
        for (t = apr_strtok(copy, "\x1f", &last); t && i < 4;
             t = apr_strtok(NULL, "\x1f", &last)) {
            fields[i++] = t;
        }
    }
    l->method = fields[0] ? str(x, fields[0]) : 0;
    l->status = fields[1] ? apr_atoi64(fields[1]) : 0;
    l->vhost = fields[2] ? str(x, fields[2]) : 0;
    l->handler = fields[3] ? str(x, fields[3]) : 0;
}

static void put_label(pprof_t *x, apr_uint64_t key, int field,
                      apr_uint64_t value)
{
    if (!value) {
        return;         /* not known: no label rather than an empty one */
    }
    x->sub.len = 0;
    pb_int(&x->sub, LABEL_KEY, key);
    pb_int(&x->sub, field, value);
    pb_msg(&x->msg, SAMPLE_LABEL, &x->sub);
}

static void write_samples(pprof_t *x)
{
    const rp_model_t *m = x->c->m;
    const rp_tnode_t *nodes = (const rp_tnode_t *)m->nodes->elts;
    int nn = m->nodes->nelts, i, d, depth;
    apr_array_header_t *path = apr_array_make(x->c->p, 64,
                                              sizeof(apr_uint32_t));
    apr_uint64_t *locs = NULL;
    int cap = 0;
    uri_labels_t *labels = apr_pcalloc(x->c->p, sizeof(*labels)
                                                * (m->funcs->nelts + 1));
    label_keys_t key;

    key.uri = str_raw(x, "uri");
    key.method = str_raw(x, "method");
    key.status = str_raw(x, "status");
    key.vhost = str_raw(x, "vhost");
    key.handler = str_raw(x, "handler");
    for (i = 1; i < nn; i++) {
        apr_uint64_t vals[2];
        apr_uint32_t uri;
        uri_labels_t *l;
        if (!nodes[i].self_count && !nodes[i].self_ns) {
            continue;
        }
        /* Innermost first; the outermost entry is the URI node, a set of
         * labels rather than a location. */
        rp_model_path(m, (apr_uint32_t)i, path);
        depth = path->nelts - 1;
        uri = ((apr_uint32_t *)path->elts)[depth];
        if (depth > cap) {
            cap = depth * 2;
            locs = apr_palloc(x->c->p, sizeof(*locs) * cap);
        }
        for (d = 0; d < depth; d++) {
            locs[d] = (apr_uint64_t)((apr_uint32_t *)path->elts)[d] + 1;
        }
        l = &labels[uri];
        if (!l->done) {
            make_labels(x, rp_model_func(m, uri), l);
        }
        vals[0] = nodes[i].self_count;
        vals[1] = nodes[i].self_ns;
        x->msg.len = 0;
        pb_packed(&x->msg, SAMPLE_LOCATION_ID, locs, depth);
        pb_packed(&x->msg, SAMPLE_VALUE, vals, 2);
        put_label(x, key.uri, LABEL_STR, l->uri);
        put_label(x, key.method, LABEL_STR, l->method);
        put_label(x, key.status, LABEL_NUM, (apr_uint64_t)l->status);
        put_label(x, key.vhost, LABEL_STR, l->vhost);
        put_label(x, key.handler, LABEL_STR, l->handler);
        pb_msg(&x->top, PROFILE_SAMPLE, &x->msg);
        top_flush(x, 0);
    }
}

static void write_tables(pprof_t *x)
{
    const rp_model_t *m = x->c->m;
    int nf = m->funcs->nelts, i;
    apr_uint32_t *map = apr_pcalloc(x->c->p, sizeof(*map) * (nf + 1));
    apr_uint64_t *addr = apr_pcalloc(x->c->p, sizeof(*addr) * (nf + 1));
    apr_array_header_t *maps = place_functions(x, map, addr);
    apr_hash_t *bids = build_ids(x->c->p, m);

    for (i = 0; i < maps->nelts; i++) {
        const mapping_t *mp = &((const mapping_t *)maps->elts)[i];
        x->msg.len = 0;
        pb_int(&x->msg, MAPPING_ID, (apr_uint64_t)i + 1);
        pb_int(&x->msg, MAPPING_MEMORY_START, mp->start);
        pb_int(&x->msg, MAPPING_MEMORY_LIMIT, mp->start + 16 * (mp->n + 1));
        pb_int(&x->msg, MAPPING_FILENAME, str(x, mp->object));
        pb_int(&x->msg, MAPPING_BUILD_ID,
               str(x, apr_hash_get(bids, mp->object, APR_HASH_KEY_STRING)));
        pb_int(&x->msg, MAPPING_HAS_FUNCTIONS, 1);
        pb_int(&x->msg, MAPPING_HAS_FILENAMES, mp->has_files);
        pb_int(&x->msg, MAPPING_HAS_LINE_NUMBERS, mp->has_lines);
        pb_msg(&x->top, PROFILE_MAPPING, &x->msg);
        top_flush(x, 0);
    }
    /* One location per function, both with the function's index + 1 as
     * id; URI pseudo-functions are labels, not frames. */
    for (i = 0; i < nf; i++) {
        const rp_func_t *f = rp_model_func(m, (apr_uint32_t)i);
        if (f->kind == RP_FRAME_URI) {
            continue;
        }
        x->msg.len = 0;
        pb_int(&x->msg, LOCATION_ID, (apr_uint64_t)i + 1);
        pb_int(&x->msg, LOCATION_MAPPING_ID, map[i]);
        pb_int(&x->msg, LOCATION_ADDRESS, addr[i]);
        x->sub.len = 0;
        pb_int(&x->sub, LINE_FUNCTION_ID, (apr_uint64_t)i + 1);
        pb_int(&x->sub, LINE_LINE, f->line > 0 ? (apr_uint64_t)f->line : 0);
        pb_msg(&x->msg, LOCATION_LINE, &x->sub);
        pb_msg(&x->top, PROFILE_LOCATION, &x->msg);
        top_flush(x, 0);
    }
    for (i = 0; i < nf; i++) {
        const rp_func_t *f = rp_model_func(m, (apr_uint32_t)i);
        apr_uint64_t name;
        if (f->kind == RP_FRAME_URI) {
            continue;
        }
        name = str(x, *f->name ? f->name : "[unnamed]");
        x->msg.len = 0;
        pb_int(&x->msg, FUNCTION_ID, (apr_uint64_t)i + 1);
        pb_int(&x->msg, FUNCTION_NAME, name);
        pb_int(&x->msg, FUNCTION_SYSTEM_NAME, name);
        pb_int(&x->msg, FUNCTION_FILENAME, str(x, f->file));
        pb_msg(&x->top, PROFILE_FUNCTION, &x->msg);
        top_flush(x, 0);
    }
}

void rp_report_pprof(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    int timer = m->info ? m->info->settings.timer : 0;
    int hz = m->info ? m->info->settings.frequency : 0;
    int seconds = c->o ? c->o->seconds : 0;
    const char *kind = timer == RP_TIMER_REAL ? "wall" : "cpu";
    apr_int64_t start_us, duration_ns;
    apr_uint64_t comments[3];
    int ncomments = 0, i;
    pprof_t x;

    memset(&x, 0, sizeof(x));
    x.c = c;
    x.str_ids = apr_hash_make(c->p);
    x.strs = apr_array_make(c->p, 1024, sizeof(const char *));
    rp_out_buffer(&x.top, c->p);
    rp_out_buffer(&x.msg, c->p);
    rp_out_buffer(&x.sub, c->p);
    x.zbuf = apr_palloc(c->p, ZCHUNK);
    /* windowBits 15 + 16: a gzip wrapper, as profile.proto asks. */
    x.zok = deflateInit2(&x.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16,
                         8, Z_DEFAULT_STRATEGY) == Z_OK;

    str_raw(&x, "");
    comments[ncomments++] = str(&x, apr_psprintf(c->p, "mod_reqprof: %s "
                                                 "timer, %d Hz",
                                                 rp_timer_name(timer),
                                                 hz));
    if (m->focus) {
        comments[ncomments++] = str(&x, apr_pstrcat(c->p, "focus: uri=",
                                                    m->focus, NULL));
    }
    if (seconds > 0) {
        comments[ncomments++] = str(&x, apr_psprintf(c->p, "delta: the "
                                                     "last %d s", seconds));
    }

    value_type(&x, PROFILE_SAMPLE_TYPE, "samples", "count");
    value_type(&x, PROFILE_SAMPLE_TYPE, kind, "nanoseconds");
    write_samples(&x);
    write_tables(&x);

    /* Every string is known now. */
    for (i = 0; i < x.strs->nelts; i++) {
        const char *s = ((const char **)x.strs->elts)[i];
        pb_bytes(&x.top, PROFILE_STRING_TABLE, s, strlen(s));
        top_flush(&x, 0);
    }

    if (seconds > 0) {
        start_us = (m->info && m->info->taken ? m->info->taken
                    : m->last_time) - (apr_int64_t)seconds * APR_USEC_PER_SEC;
        duration_ns = (apr_int64_t)seconds * 1000000000;
    }
    else {
        start_us = m->first_time;
        duration_ns = m->last_time > m->first_time
                      ? (m->last_time - m->first_time) * 1000 : 0;
    }
    pb_int(&x.top, PROFILE_TIME_NANOS,
           start_us > 0 ? (apr_uint64_t)start_us * 1000 : 0);
    pb_int(&x.top, PROFILE_DURATION_NANOS, (apr_uint64_t)duration_ns);
    value_type(&x, PROFILE_PERIOD_TYPE, kind, "nanoseconds");
    pb_int(&x.top, PROFILE_PERIOD, hz > 0 ? 1000000000u / (unsigned)hz : 0);
    pb_packed(&x.top, PROFILE_COMMENT, comments, ncomments);
    pb_int(&x.top, PROFILE_DEFAULT_SAMPLE_TYPE, str_raw(&x, kind));

    top_flush(&x, 1);
    if (x.zok) {
        z_feed(&x, NULL, 0, Z_FINISH);
        deflateEnd(&x.z);
    }
}
