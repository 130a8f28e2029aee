/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of rp_store, the shared segment of profile data: formatting
 * and attaching (bad magic, sizes, alignment refused), the live settings,
 * the call tree a request's samples build (counts at each node, totals
 * equal self plus children, equal stacks merge, URIs in separate
 * subtrees), object and URI dedup, the ring of recent requests (wraps,
 * newest first), clearing by generation, full tables (samples land in
 * [table full] nodes, counted, old data kept, the accounting invariant
 * holds), [truncated] stacks, claiming slots (live owners kept, dead ones
 * reclaimed with their data), regions left mid-write by a dead writer
 * (repaired or reset and counted, other regions intact), readers that
 * never write (the segment made read-only), fork()ed writers copied by a
 * reader in a loop (every copy consistent, final counts exact, objects
 * merged by path although their indices differ), clears racing a writer
 * thread, and the cost of writing and of copying.
 *
 * Kept requests: each rule (RECENT, SLOWEST per URI and tail-based,
 * ERRORS) alone and together, records running out (a slow or failed
 * request takes the oldest kept only as recent, counted; the merged
 * profile the same as with keeping off), spans in time order and what
 * happens past RP_KEEP_SPANS, a request's own snapshot, strings and
 * headers cut to fit, clears, a child whose rules differ from those the
 * region was written under, writers that die mid-write (by
 * rp_store_test_break and by SIGKILL at random moments), and copies
 * racing a writer thread.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <pthread.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "rp_store.h"

#include "unit_main.h"
#include "unit_pool.h"

#define KB                  ((apr_size_t)1024)
#define MB                  (1024 * KB)

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3
           + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* ------------------------------------------------------------------ */
/* Helpers */

/* Pids the tests pretend are dead. */
#define MAX_DEAD    16
static apr_int32_t dead[MAX_DEAD];
static int ndead;

static int alive_unless_dead(apr_int32_t pid)
{
    int i;

    for (i = 0; i < ndead; i++) {
        if (dead[i] == pid) {
            return 0;
        }
    }
    return 1;
}

static void mark_dead(apr_int32_t pid)
{
    ck_assert_int_lt(ndead, MAX_DEAD);
    dead[ndead++] = pid;
}

static int alive_kill(apr_int32_t pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* A formatted and attached store in pool memory whose contents are not
 * zero, as format promises to cope with. */
static rp_store_t *make_store(int nslots, apr_size_t region)
{
    apr_size_t size = rp_store_segment_size(nslots, region);
    void *base;
    rp_store_t *s;

    ck_assert_uint_gt(size, 0);
    base = apr_palloc(pool, size);
    memset(base, 0xA5, size);
    ck_assert_int_eq(rp_store_format(base, size, nslots, region), APR_SUCCESS);
    s = rp_store_attach(pool, base, size);
    ck_assert_ptr_nonnull(s);
    return s;
}

static rp_frame_t fr(apr_uint32_t object, apr_uint64_t rel)
{
    rp_frame_t f;

    f.kind = RP_FRAME_REAL;
    f.object = object;
    f.rel = rel;
    return f;
}

/* Store one request on URI with NSAMPLES samples of the same stack
 * (FRAMES innermost first), 1 ms each, every tick a sample. */
static void add(rp_store_t *s, int slot, const char *uri,
                const rp_frame_t *frames, int depth, int truncated,
                int nsamples)
{
    rp_sample_view_t sm[64];
    rp_request_info_t req;
    int i;

    ck_assert_int_le(nsamples, 64);
    for (i = 0; i < nsamples; i++) {
        sm[i].frames = frames;
        sm[i].offcpu = 0;
        sm[i].depth = depth;
        sm[i].truncated = truncated;
        sm[i].weight_ns = 1000000;
    }
    memset(&req, 0, sizeof(req));
    req.time = apr_time_from_sec(1000);
    req.method = "GET";
    req.uri = uri;
    req.status = 200;
    req.wall_us = 1000 * nsamples;
    req.cpu_us = 900 * nsamples;
    rp_store_add_request(s, slot, &req, sm, nsamples, NULL);
}

static const rp_region_t *region_of(const rp_snapshot_t *snap, int slot)
{
    int i;

    for (i = 0; i < rp_snapshot_nregions(snap); i++) {
        if (rp_snapshot_region(snap, i)->slot == slot) {
            return rp_snapshot_region(snap, i);
        }
    }
    return NULL;
}

static apr_uint32_t find_child(const rp_region_t *rg, apr_uint32_t parent,
                               rp_frame_kind_e kind, apr_uint32_t object,
                               apr_uint64_t rel)
{
    apr_uint32_t c;

    for (c = rg->nodes[parent].first_child; c != RP_STORE_NONE;
         c = rg->nodes[c].next_sibling) {
        const rp_frame_t *f = &rg->nodes[c].frame;

        if (f->kind == kind && f->object == object && f->rel == rel) {
            return c;
        }
    }
    return RP_STORE_NONE;
}

static apr_uint32_t find_uri(const rp_region_t *rg, const char *uri)
{
    apr_uint32_t i;

    for (i = 0; i < rg->n_uris; i++) {
        if (strcmp(rg->uris[i].uri, uri) == 0) {
            return i;
        }
    }
    return RP_STORE_NONE;
}

/* The node of URI's stack FRAMES (innermost first), or NONE. */
static apr_uint32_t find_stack(const rp_region_t *rg, const char *uri,
                               const rp_frame_t *frames, int depth)
{
    apr_uint32_t u = find_uri(rg, uri), n;
    int i;

    if (u == RP_STORE_NONE) {
        return RP_STORE_NONE;
    }
    n = rg->uris[u].node;
    for (i = depth - 1; i >= 0 && n != RP_STORE_NONE; i--) {
        n = find_child(rg, n, frames[i].kind, frames[i].object, frames[i].rel);
    }
    return n;
}

/* Everything a reader may rely on, checked independently of the store:
 * parents first, child lists match parents, totals are self plus
 * children, the root holds every sample, each URI's node its samples,
 * the accounting invariant.  Returns NULL or what is wrong. */
static const char *region_problem(const rp_region_t *rg)
{
    apr_uint64_t *tc, *tw, sum_uri = 0;
    apr_uint32_t i, c, nchildren = 0;
    const apr_uint64_t *k = rg->counters;
    const char *why = NULL;

    if (rg->n_nodes < 1 || rg->n_nodes > rg->cap_nodes) {
        return "node count";
    }
    tc = calloc(rg->n_nodes, sizeof(*tc));
    tw = calloc(rg->n_nodes, sizeof(*tw));
    ck_assert_ptr_nonnull(tc);
    ck_assert_ptr_nonnull(tw);
    if (rg->nodes[0].parent != RP_STORE_NONE
        || rg->nodes[0].frame.kind != RP_FRAME_ROOT) {
        why = "root";
    }
    for (i = rg->n_nodes; i-- > 0 && !why;) {
        const rp_node_t *nd = &rg->nodes[i];

        if (i > 0 && nd->parent >= i) {
            why = "parent index not below the node's";
            break;
        }
        tc[i] += nd->self_count;
        tw[i] += nd->self_weight_ns;
        if (tc[i] != nd->total_count || tw[i] != nd->total_weight_ns) {
            why = "total != self + children";
            break;
        }
        if (i > 0) {
            tc[nd->parent] += tc[i];
            tw[nd->parent] += tw[i];
        }
        for (c = nd->first_child; c != RP_STORE_NONE;
             c = rg->nodes[c].next_sibling) {
            if (c >= rg->n_nodes || rg->nodes[c].parent != i) {
                why = "child list";
                break;
            }
            nchildren++;
        }
    }
    if (!why && nchildren != rg->n_nodes - 1) {
        why = "nodes missing from child lists";
    }
    if (!why && rg->nodes[0].total_count != k[RP_CTR_SAMPLES]) {
        why = "root total != samples";
    }
    for (i = 0; i < rg->n_uris && !why; i++) {
        const rp_uri_t *u = &rg->uris[i];

        if (u->node >= rg->n_nodes
            || rg->nodes[u->node].frame.kind != RP_FRAME_URI
            || rg->nodes[u->node].frame.object != i
            || rg->nodes[u->node].total_count != u->samples) {
            why = "URI node";
        }
        sum_uri += u->requests;
    }
    if (!why && sum_uri + k[RP_CTR_URI_FULL] != k[RP_CTR_REQUESTS]) {
        why = "URI requests + uri_full != requests";
    }
    if (!why
        && k[RP_CTR_TICKS] != k[RP_CTR_SAMPLES] + k[RP_CTR_BUFFER_FULL]
                              + k[RP_CTR_UNWIND_FAILED]
                              + k[RP_CTR_OTHER_DROPPED]) {
        why = "ticks != samples + drops";
    }
    if (!why && k[RP_CTR_TABLE_FULL] > k[RP_CTR_SAMPLES]) {
        why = "table_full > samples";
    }
    free(tc);
    free(tw);
    return why;
}

static void assert_consistent(const rp_region_t *rg)
{
    const char *why = region_problem(rg);

    ck_assert_msg(why == NULL, "slot %d: %s", rg->slot, why);
}

/* The [table full] (or other special) child of PARENT. */
static apr_uint32_t special_child(const rp_region_t *rg, apr_uint32_t parent,
                                  rp_frame_kind_e kind)
{
    return find_child(rg, parent, kind, RP_STORE_NONE, 0);
}

/* ------------------------------------------------------------------ */
/* The segment */

START_TEST(test_format_attach)
{
    apr_size_t size = rp_store_segment_size(4, 64 * KB);
    char *base;
    rp_snapshot_t *snap;
    const rp_snapshot_info_t *info;
    rp_store_t *s;

    ck_assert_uint_eq(size, 4096 + 4 * 64 * KB);
    ck_assert_uint_eq(rp_store_segment_size(0, 64 * KB), 0);
    ck_assert_uint_eq(rp_store_segment_size(1, 32 * KB), 0);
    ck_assert_uint_eq(rp_store_segment_size(1, 64 * KB + 8), 0);
    ck_assert_uint_eq(rp_store_segment_size(1, 2048 * MB), 0);
    ck_assert_uint_eq(rp_store_segment_size(RP_STORE_SLOTS_MAX + 1, 64 * KB),
                      0);

    base = apr_palloc(pool, size + 8);
    ck_assert_int_eq(rp_store_format(base, size - 1, 4, 64 * KB), APR_EINVAL);
    ck_assert_int_eq(rp_store_format(base + 4, size, 4, 64 * KB), APR_EINVAL);
    ck_assert_int_eq(rp_store_format(base, size, 4, 100 * KB + 1),
                     APR_EINVAL);
    ck_assert_int_eq(rp_store_format(NULL, size, 4, 64 * KB), APR_EINVAL);

    /* Unformatted memory does not attach. */
    memset(base, 0, size);
    ck_assert_ptr_null(rp_store_attach(pool, base, size));

    ck_assert_int_eq(rp_store_format(base, size, 4, 64 * KB), APR_SUCCESS);
    s = rp_store_attach(pool, base, size);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(rp_store_nslots(s), 4);
    ck_assert_uint_eq(rp_store_region_size(s), 64 * KB);

    /* Too small a mapping, a misaligned one, a bad magic: refused. */
    ck_assert_ptr_null(rp_store_attach(pool, base, size - 1));
    ck_assert_ptr_null(rp_store_attach(pool, base + 4, size));
    ck_assert_ptr_null(rp_store_attach(pool, NULL, size));
    base[0] ^= 0x55;
    ck_assert_ptr_null(rp_store_attach(pool, base, size));
    base[0] ^= 0x55;
    /* A layout version of another build. */
    base[4] ^= 0x01;
    ck_assert_ptr_null(rp_store_attach(pool, base, size));
    base[4] ^= 0x01;
    ck_assert_ptr_nonnull(rp_store_attach(pool, base, size));

    /* Fresh: no region has data. */
    snap = rp_store_snapshot(s, pool);
    info = rp_snapshot_info(snap);
    ck_assert_int_eq(rp_snapshot_nregions(snap), 0);
    ck_assert_int_eq(info->stale, 4);
    ck_assert_int_eq(info->busy, 0);
    ck_assert_int_eq(info->invalid, 0);
    ck_assert_int_eq(info->nslots, 4);
    ck_assert_uint_eq(info->generation, 1);
    ck_assert_int_gt(info->created, 0);
    ck_assert_int_ge(info->taken, info->created);

    ck_assert_str_eq(rp_store_counter_name(RP_CTR_BUFFER_FULL), "buffer_full");
    ck_assert_str_eq(rp_store_counter_name(RP_CTR_WEIGHT_NS), "weight_ns");
    ck_assert_str_eq(rp_store_frame_kind_name(RP_FRAME_TABLE_FULL),
                     "[table full]");
}
END_TEST

START_TEST(test_settings)
{
    apr_size_t size = rp_store_segment_size(2, 64 * KB);
    void *base = apr_palloc(pool, size);
    rp_store_t *s, *other;
    rp_settings_t in, out;

    ck_assert_int_eq(rp_store_format(base, size, 2, 64 * KB), APR_SUCCESS);
    s = rp_store_attach(pool, base, size);
    other = rp_store_attach(pool, base, size);   /* another process's */

    rp_store_settings_get(s, &out);
    ck_assert_int_eq(out.enabled, 0);
    ck_assert_int_eq(out.timer, 0);
    ck_assert_int_eq(out.frequency, 99);
    ck_assert_uint_eq(out.seq, 0);

    in.enabled = 1;
    in.timer = 1;
    in.frequency = 10000;
    in.seq = 12345;                 /* ignored: the store numbers changes */
    ck_assert_uint_eq(rp_store_settings_set(s, &in), 1);
    rp_store_settings_get(other, &out);
    ck_assert_int_eq(out.enabled, 1);
    ck_assert_int_eq(out.timer, 1);
    ck_assert_int_eq(out.frequency, 10000);
    ck_assert_uint_eq(out.seq, 1);

    in.enabled = 0;
    in.timer = 0;
    in.frequency = 1;
    ck_assert_uint_eq(rp_store_settings_set(other, &in), 2);
    rp_store_settings_get(s, &out);
    ck_assert_int_eq(out.enabled, 0);
    ck_assert_int_eq(out.timer, 0);
    ck_assert_int_eq(out.frequency, 1);
    ck_assert_uint_eq(out.seq, 2);

    /* The snapshot carries them; a clear does not touch them. */
    rp_store_clear(s);
    out = rp_snapshot_info(rp_store_snapshot(s, pool))->settings;
    ck_assert_int_eq(out.frequency, 1);
    ck_assert_uint_eq(out.seq, 2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The call tree */

START_TEST(test_tree)
{
    rp_store_t *s = make_store(2, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    apr_uint32_t a, b, ua, ub, n1, n2, n3, n4;
    rp_frame_t s1[3], s2[3];
    const rp_snapshot_t *snap;
    const rp_region_t *rg;
    const apr_uint64_t *k;

    ck_assert_int_eq(slot, 0);
    a = rp_store_object(s, slot, "/usr/lib/a.so", "aaaa");
    b = rp_store_object(s, slot, "/usr/sbin/apache2", NULL);
    ck_assert_uint_ne(a, b);
    /* Innermost first: s1 = main > handler > spin_a, s2 = main > handler
     * > spin_b. */
    s1[0] = fr(a, 0x30);
    s1[1] = fr(b, 0x20);
    s1[2] = fr(b, 0x10);
    s2[0] = fr(a, 0x40);
    s2[1] = s1[1];
    s2[2] = s1[2];

    add(s, slot, "/app", s1, 3, 0, 2);
    add(s, slot, "/app", s1, 3, 0, 1);     /* the same stack merges */
    add(s, slot, "/app", s2, 3, 0, 1);
    add(s, slot, "/other", s1, 3, 0, 4);

    snap = rp_store_snapshot(s, pool);
    ck_assert_int_eq(rp_snapshot_nregions(snap), 1);
    ck_assert_int_eq(rp_snapshot_info(snap)->stale, 1);
    rg = region_of(snap, slot);
    ck_assert_ptr_nonnull(rg);
    assert_consistent(rg);
    k = rg->counters;
    ck_assert_uint_eq(k[RP_CTR_REQUESTS], 4);
    ck_assert_uint_eq(k[RP_CTR_SAMPLES], 8);
    ck_assert_uint_eq(k[RP_CTR_TICKS], 8);
    ck_assert_uint_eq(k[RP_CTR_WEIGHT_NS], 8 * 1000000ULL);
    ck_assert_uint_eq(k[RP_CTR_TABLE_FULL], 0);
    ck_assert_int_eq(rg->owner, 100);

    /* root, 2 URI nodes, /app: 3 + 1 nodes, /other: 3 nodes */
    ck_assert_uint_eq(rg->n_nodes, 10);
    ck_assert_uint_eq(rg->nodes[0].total_count, 8);
    ck_assert_uint_eq(rg->nodes[0].self_count, 0);

    ua = find_uri(rg, "/app");
    ub = find_uri(rg, "/other");
    ck_assert_uint_ne(ua, RP_STORE_NONE);
    ck_assert_uint_ne(ub, RP_STORE_NONE);
    ck_assert_uint_eq(rg->uris[ua].samples, 4);
    ck_assert_uint_eq(rg->uris[ub].samples, 4);
    ck_assert_uint_eq(rg->nodes[rg->uris[ua].node].parent, 0);
    ck_assert_uint_eq(find_child(rg, 0, RP_FRAME_URI, ua, 0),
                      rg->uris[ua].node);

    /* /app: main(4) > handler(4) > {spin_a self 3, spin_b self 1} */
    n1 = find_child(rg, rg->uris[ua].node, RP_FRAME_REAL, b, 0x10);
    ck_assert_uint_ne(n1, RP_STORE_NONE);
    ck_assert_uint_eq(rg->nodes[n1].total_count, 4);
    ck_assert_uint_eq(rg->nodes[n1].self_count, 0);
    n2 = find_child(rg, n1, RP_FRAME_REAL, b, 0x20);
    ck_assert_uint_eq(rg->nodes[n2].total_count, 4);
    n3 = find_child(rg, n2, RP_FRAME_REAL, a, 0x30);
    n4 = find_child(rg, n2, RP_FRAME_REAL, a, 0x40);
    ck_assert_uint_eq(rg->nodes[n3].self_count, 3);
    ck_assert_uint_eq(rg->nodes[n3].total_count, 3);
    ck_assert_uint_eq(rg->nodes[n3].self_weight_ns, 3000000);
    ck_assert_uint_eq(rg->nodes[n4].self_count, 1);
    ck_assert_uint_eq(rg->nodes[n4].first_child, RP_STORE_NONE);
    ck_assert_uint_eq(rg->nodes[n2].total_weight_ns, 4000000);
    ck_assert_uint_eq(find_stack(rg, "/app", s1, 3), n3);

    /* /other: its own subtree, not shared with /app's. */
    n3 = find_stack(rg, "/other", s1, 3);
    ck_assert_uint_ne(n3, RP_STORE_NONE);
    ck_assert_uint_eq(rg->nodes[n3].self_count, 4);
    ck_assert_uint_ne(n3, find_stack(rg, "/app", s1, 3));

    /* Objects by index. */
    ck_assert_uint_eq(rg->n_objects, 2);
    ck_assert_str_eq(rg->objects[a].path, "/usr/lib/a.so");
    ck_assert_str_eq(rg->objects[a].build_id, "aaaa");
    ck_assert_str_eq(rg->objects[b].path, "/usr/sbin/apache2");
    ck_assert_str_eq(rg->objects[b].build_id, "");
}
END_TEST

START_TEST(test_drops_and_odd_frames)
{
    rp_store_t *s = make_store(1, 64 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    rp_frame_t f[2];
    rp_sample_view_t sm[2];
    rp_request_info_t req;
    rp_drop_counts_t drops;
    const rp_region_t *rg;
    apr_uint32_t u, n;

    memset(&req, 0, sizeof(req));
    req.time = 5;
    req.method = "POST";
    req.uri = "/x";
    req.status = 201;
    req.wall_us = -4;               /* a clock step: counted as 0 */
    req.cpu_us = 7;
    /* A frame with a kind a sample may not hold, and an object index
     * that was never handed out. */
    f[0].kind = RP_FRAME_URI;
    f[0].object = 3;
    f[0].rel = 0x99;
    f[1] = fr(77, 0x11);
    sm[0].frames = f;
    sm[0].offcpu = 0;
    sm[0].depth = 2;
    sm[0].truncated = 0;
    sm[0].weight_ns = 10;
    sm[1].frames = NULL;            /* unwinding gave nothing */
    sm[1].offcpu = 0;
    sm[1].depth = 0;
    sm[1].truncated = 0;
    sm[1].weight_ns = 10;
    drops.ticks = 9;
    drops.buffer_full = 3;
    drops.unwind_failed = 2;
    drops.other_dropped = 2;
    drops.outside_request = 40;
    rp_store_add_request(s, slot, &req, sm, 2, &drops);
    /* Ticks between requests only. */
    memset(&drops, 0, sizeof(drops));
    drops.outside_request = 2;
    rp_store_add_request(s, slot, NULL, NULL, 0, &drops);

    rg = region_of(rp_store_snapshot(s, pool), slot);
    ck_assert_ptr_nonnull(rg);
    assert_consistent(rg);
    ck_assert_uint_eq(rg->counters[RP_CTR_TICKS], 9);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 2);
    ck_assert_uint_eq(rg->counters[RP_CTR_BUFFER_FULL], 3);
    ck_assert_uint_eq(rg->counters[RP_CTR_UNWIND_FAILED], 2);
    ck_assert_uint_eq(rg->counters[RP_CTR_OTHER_DROPPED], 2);
    ck_assert_uint_eq(rg->counters[RP_CTR_OUTSIDE_REQUEST], 42);
    ck_assert_uint_eq(rg->counters[RP_CTR_REQUESTS], 1);
    u = find_uri(rg, "/x");
    ck_assert_uint_eq(rg->uris[u].sum_wall_us, 0);
    ck_assert_uint_eq(rg->uris[u].max_cpu_us, 7);
    /* The empty stack counts on the URI node itself. */
    ck_assert_uint_eq(rg->nodes[rg->uris[u].node].self_count, 1);
    /* Outermost: object 77 unknown -> NONE; innermost: kind -> UNKNOWN. */
    n = find_child(rg, rg->uris[u].node, RP_FRAME_REAL, RP_STORE_NONE, 0x11);
    ck_assert_uint_ne(n, RP_STORE_NONE);
    n = find_child(rg, n, RP_FRAME_UNKNOWN, RP_STORE_NONE, 0x99);
    ck_assert_uint_ne(n, RP_STORE_NONE);
    ck_assert_uint_eq(rg->nodes[n].self_count, 1);
    ck_assert_uint_eq(rg->n_recent, 1);
    ck_assert_str_eq(rg->recent[0].method, "POST");
    ck_assert_int_eq(rg->recent[0].status, 201);
    ck_assert_uint_eq(rg->recent[0].samples, 2);
    ck_assert_int_eq(rg->first_time, 5);
    ck_assert_int_eq(rg->last_time, 5);
}
END_TEST

START_TEST(test_dedup)
{
    rp_store_t *s = make_store(2, 64 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    int slot2 = rp_store_claim(s, 101, alive_unless_dead);
    apr_uint32_t a, a2, b, c, d;
    rp_frame_t f[1];
    rp_request_info_t req;
    const rp_region_t *rg;
    const rp_uri_t *u;
    int i;

    a = rp_store_object(s, slot, "/lib/a.so", "0123");
    b = rp_store_object(s, slot, "/lib/a.so", "4567");     /* rebuilt */
    c = rp_store_object(s, slot, "/lib/c.so", NULL);
    ck_assert_uint_eq(rp_store_object(s, slot, "/lib/a.so", "0123"), a);
    ck_assert_uint_eq(rp_store_object(s, slot, "/lib/c.so", ""), c);
    ck_assert_uint_ne(a, b);
    ck_assert_uint_ne(b, c);
    /* Another slot has its own table. */
    d = rp_store_object(s, slot2, "/lib/c.so", NULL);
    a2 = rp_store_object(s, slot2, "/lib/a.so", "0123");
    ck_assert_uint_eq(d, 0);
    ck_assert_uint_eq(a2, 1);

    f[0] = fr(a, 1);
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    for (i = 0; i < 10; i++) {
        req.time = apr_time_from_sec(100 + i);
        req.uri = i % 2 ? "/odd" : "/even";
        req.wall_us = 100 * (i + 1);
        req.cpu_us = 10 * (i + 1);
        {
            rp_sample_view_t sm;

            sm.frames = f;
            sm.offcpu = 0;
            sm.depth = 1;
            sm.truncated = 0;
            sm.weight_ns = 5;
            rp_store_add_request(s, slot, &req, &sm, 1, NULL);
        }
    }
    rg = region_of(rp_store_snapshot(s, pool), slot);
    assert_consistent(rg);
    ck_assert_uint_eq(rg->n_objects, 3);
    ck_assert_uint_eq(rg->n_uris, 2);
    u = &rg->uris[find_uri(rg, "/odd")];
    ck_assert_uint_eq(u->requests, 5);
    ck_assert_uint_eq(u->samples, 5);
    ck_assert_uint_eq(u->weight_ns, 25);
    ck_assert_uint_eq(u->sum_wall_us, 200 + 400 + 600 + 800 + 1000);
    ck_assert_uint_eq(u->max_wall_us, 1000);
    ck_assert_uint_eq(u->sum_cpu_us, 20 + 40 + 60 + 80 + 100);
    ck_assert_uint_eq(u->max_cpu_us, 100);
    /* root, 2 URI nodes, one frame each */
    ck_assert_uint_eq(rg->n_nodes, 5);
    ck_assert_int_eq(rg->first_time, apr_time_from_sec(100));
    ck_assert_int_eq(rg->last_time, apr_time_from_sec(109));

    /* URIs longer than the table keeps are cut, and merge when their
     * first RP_STORE_URI_MAX - 1 bytes are equal. */
    {
        char *longa = apr_palloc(pool, 2001), *longb = apr_palloc(pool, 2001);

        memset(longa, 'a', 2000);
        longa[0] = '/';
        longa[2000] = '\0';
        memcpy(longb, longa, 2001);
        longb[1500] = 'b';
        add(s, slot2, longa, f, 0, 0, 1);
        add(s, slot2, longb, f, 0, 0, 1);
        rg = region_of(rp_store_snapshot(s, pool), slot2);
        assert_consistent(rg);
        ck_assert_uint_eq(rg->n_uris, 1);
        ck_assert_uint_eq(strlen(rg->uris[0].uri), RP_STORE_URI_MAX - 1);
        ck_assert_uint_eq(rg->uris[0].requests, 2);
        ck_assert_str_eq(rg->recent[0].uri, rg->uris[0].uri);
    }
}
END_TEST

START_TEST(test_ring)
{
    rp_store_t *s = make_store(1, 64 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    rp_request_info_t req;
    const rp_region_t *rg;
    char uri[200];
    apr_uint32_t cap, i, total;

    rg = region_of(rp_store_snapshot(s, pool), slot);
    ck_assert_ptr_null(rg);         /* never written: invisible */

    memset(&req, 0, sizeof(req));
    req.time = 1;
    req.method = "GET";
    req.uri = "/first";
    rp_store_add_request(s, slot, &req, NULL, 0, NULL);
    rg = region_of(rp_store_snapshot(s, pool), slot);
    cap = rg->cap_recent;
    ck_assert_uint_ge(cap, 16);
    ck_assert_uint_eq(rg->n_recent, 1);

    total = cap + 10;
    for (i = 2; i <= total; i++) {
        req.time = i;
        req.method = i == total ? "VERY-LONG-METHOD-NAME" : "GET";
        req.status = (int)i;
        apr_snprintf(uri, sizeof(uri), "/r/%u", i);
        req.uri = uri;
        rp_store_add_request(s, slot, &req, NULL, 0, NULL);
    }
    rg = region_of(rp_store_snapshot(s, pool), slot);
    assert_consistent(rg);
    ck_assert_uint_eq(rg->n_recent, cap);
    for (i = 0; i < cap; i++) {
        ck_assert_int_eq(rg->recent[i].time, total - i);
        ck_assert_int_eq(rg->recent[i].status, (int)(total - i));
        apr_snprintf(uri, sizeof(uri), "/r/%u", total - i);
        ck_assert_str_eq(rg->recent[i].uri, uri);
    }
    /* The method is cut to fit; the oldest requests are gone. */
    ck_assert_str_eq(rg->recent[0].method, "VERY-LONG-METHO");
    ck_assert_str_eq(rg->recent[1].method, "GET");
    ck_assert_int_eq(rg->recent[cap - 1].time, 11);
    ck_assert_uint_eq(rg->counters[RP_CTR_REQUESTS], total);
}
END_TEST

START_TEST(test_clear)
{
    rp_store_t *s = make_store(3, 64 * KB);
    int s0 = rp_store_claim(s, 100, alive_unless_dead);
    int s1 = rp_store_claim(s, 101, alive_unless_dead);
    apr_uint32_t a;
    rp_frame_t f[2];
    rp_snapshot_t *snap;
    const rp_region_t *rg;

    a = rp_store_object(s, s0, "/lib/a.so", "x");
    f[0] = fr(a, 0x10);
    f[1] = fr(a, 0x20);
    add(s, s0, "/old", f, 2, 0, 5);
    add(s, s1, "/old", f, 1, 0, 3);
    snap = rp_store_snapshot(s, pool);
    ck_assert_int_eq(rp_snapshot_nregions(snap), 2);

    rp_store_clear(s);
    snap = rp_store_snapshot(s, pool);
    ck_assert_int_eq(rp_snapshot_nregions(snap), 0);
    ck_assert_int_eq(rp_snapshot_info(snap)->stale, 3);
    ck_assert_uint_eq(rp_snapshot_info(snap)->generation, 2);

    /* The writer starts afresh; its object index is still good. */
    ck_assert_uint_eq(rp_store_object(s, s0, "/lib/a.so", "x"), a);
    add(s, s0, "/new", f, 2, 0, 2);
    snap = rp_store_snapshot(s, pool);
    ck_assert_int_eq(rp_snapshot_nregions(snap), 1);
    rg = region_of(snap, s0);
    ck_assert_ptr_nonnull(rg);
    assert_consistent(rg);
    ck_assert_uint_eq(rg->counters[RP_CTR_REQUESTS], 1);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 2);
    ck_assert_uint_eq(rg->n_uris, 1);
    ck_assert_uint_eq(find_uri(rg, "/old"), RP_STORE_NONE);
    ck_assert_uint_eq(rg->n_recent, 1);
    ck_assert_str_eq(rg->recent[0].uri, "/new");
    ck_assert_uint_eq(rg->n_nodes, 4);
    ck_assert_uint_eq(rg->n_objects, 1);
    ck_assert_str_eq(rg->objects[a].path, "/lib/a.so");
    ck_assert_uint_eq(rg->nodes[find_stack(rg, "/new", f, 2)].self_count, 2);
    /* The other writer's old data stays hidden until it writes. */
    ck_assert_ptr_null(region_of(snap, s1));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Capacity */

START_TEST(test_capacity_nodes)
{
    rp_store_t *s = make_store(1, 64 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    apr_uint32_t obj = rp_store_object(s, slot, "/lib/x.so", "b");
    rp_frame_t first[6], f[6];
    const rp_region_t *rg;
    apr_uint32_t u, full, n;
    int i, j, nreq = 400;

    for (j = 0; j < 6; j++) {
        first[j] = fr(obj, 0x100 + (apr_uint64_t)j);
    }
    add(s, slot, "/app", first, 6, 0, 3);
    /* Distinct stacks: 6 new nodes each, far more than fit. */
    for (i = 0; i < nreq; i++) {
        for (j = 0; j < 6; j++) {
            f[j] = fr(obj, 0x10000 + (apr_uint64_t)i * 8 + (apr_uint64_t)j);
        }
        add(s, slot, "/app", f, 6, 0, 2);
    }
    rg = region_of(rp_store_snapshot(s, pool), slot);
    ck_assert_ptr_nonnull(rg);
    assert_consistent(rg);
    ck_assert_uint_le(rg->n_nodes, rg->cap_nodes);
    ck_assert_uint_gt(rg->n_nodes, rg->cap_nodes - 8);   /* it did fill */
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 3 + 2 * nreq);
    ck_assert_uint_gt(rg->counters[RP_CTR_TABLE_FULL], 0);
    ck_assert_uint_eq(rg->counters[RP_CTR_TICKS],
                      rg->counters[RP_CTR_SAMPLES]);
    u = find_uri(rg, "/app");
    full = special_child(rg, rg->uris[u].node, RP_FRAME_TABLE_FULL);
    ck_assert_uint_ne(full, RP_STORE_NONE);
    ck_assert_uint_eq(rg->nodes[full].self_count,
                      rg->counters[RP_CTR_TABLE_FULL]);
    ck_assert_uint_eq(rg->nodes[full].first_child, RP_STORE_NONE);
    /* The early data is kept. */
    n = find_stack(rg, "/app", first, 6);
    ck_assert_uint_ne(n, RP_STORE_NONE);
    ck_assert_uint_eq(rg->nodes[n].self_count, 3);
    /* No half-inserted stacks: every leaf below the URI is 6 deep. */
    for (n = 1; n < rg->n_nodes; n++) {
        if (rg->nodes[n].frame.kind == RP_FRAME_REAL
            && rg->nodes[n].first_child == RP_STORE_NONE) {
            apr_uint32_t d = 0, p = n;

            while (rg->nodes[p].frame.kind == RP_FRAME_REAL) {
                p = rg->nodes[p].parent;
                d++;
            }
            ck_assert_uint_eq(d, 6);
            ck_assert_uint_gt(rg->nodes[n].self_count, 0);
        }
    }
    /* A stack already present still counts normally when full. */
    add(s, slot, "/app", first, 6, 0, 1);
    rg = region_of(rp_store_snapshot(s, pool), slot);
    ck_assert_uint_eq(rg->nodes[find_stack(rg, "/app", first, 6)].self_count,
                      4);
    assert_consistent(rg);
}
END_TEST

START_TEST(test_capacity_uris)
{
    rp_store_t *s = make_store(1, 64 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    rp_frame_t f[1];
    const rp_region_t *rg;
    char uri[64];
    apr_uint32_t full, i, nuri = 300;

    f[0] = fr(RP_STORE_NONE, 0x42);
    for (i = 0; i < nuri; i++) {
        apr_snprintf(uri, sizeof(uri), "/u/%u", i);
        add(s, slot, uri, f, 1, 0, 1);
    }
    rg = region_of(rp_store_snapshot(s, pool), slot);
    ck_assert_ptr_nonnull(rg);
    assert_consistent(rg);
    ck_assert_uint_eq(rg->n_uris, rg->cap_uris);
    ck_assert_uint_eq(rg->counters[RP_CTR_URI_FULL], nuri - rg->cap_uris);
    ck_assert_uint_eq(rg->counters[RP_CTR_TABLE_FULL], nuri - rg->cap_uris);
    ck_assert_uint_eq(rg->counters[RP_CTR_REQUESTS], nuri);
    /* The samples of URIs without room sit under the root. */
    full = special_child(rg, 0, RP_FRAME_TABLE_FULL);
    ck_assert_uint_ne(full, RP_STORE_NONE);
    ck_assert_uint_eq(rg->nodes[full].self_count, nuri - rg->cap_uris);
    ck_assert_uint_eq(rg->nodes[0].total_count, nuri);
    /* The first URIs are kept; the ring holds a copy of the others. */
    ck_assert_uint_ne(find_uri(rg, "/u/0"), RP_STORE_NONE);
    ck_assert_uint_eq(rg->recent[0].uri_index, RP_STORE_NONE);
    apr_snprintf(uri, sizeof(uri), "/u/%u", nuri - 1);
    ck_assert_str_eq(rg->recent[0].uri, uri);
}
END_TEST

START_TEST(test_capacity_objects)
{
    rp_store_t *s = make_store(1, 64 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    char path[64], huge[9000];
    apr_uint32_t i, got = 0, idx;
    const rp_region_t *rg;
    rp_frame_t f[1];

    /* Objects registered before the region's first write survive it. */
    ck_assert_uint_eq(rp_store_object(s, slot, "/lib/early.so", NULL), 0);
    f[0] = fr(0, 1);
    add(s, slot, "/", f, 1, 0, 1);

    memset(huge, 'x', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    ck_assert_uint_eq(rp_store_object(s, slot, huge, NULL), RP_STORE_NONE);
    for (i = 1; i < 1000; i++) {
        apr_snprintf(path, sizeof(path), "/lib/%u.so", i);
        idx = rp_store_object(s, slot, path, "0123456789abcdef");
        if (idx == RP_STORE_NONE) {
            break;
        }
        ck_assert_uint_eq(idx, i);
        got++;
    }
    ck_assert_uint_gt(got, 16);
    ck_assert_uint_lt(got, 1000);
    /* Existing objects are still found. */
    ck_assert_uint_eq(rp_store_object(s, slot, "/lib/3.so",
                                      "0123456789abcdef"), 3);
    ck_assert_uint_eq(rp_store_object(s, slot, "/lib/early.so", ""), 0);
    rg = region_of(rp_store_snapshot(s, pool), slot);
    assert_consistent(rg);
    ck_assert_uint_eq(rg->n_objects, got + 1);
    ck_assert_uint_eq(rg->counters[RP_CTR_OBJECT_FULL], 2);
    ck_assert_str_eq(rg->objects[0].path, "/lib/early.so");
    ck_assert_str_eq(rg->objects[3].path, "/lib/3.so");
    ck_assert_str_eq(rg->objects[3].build_id, "0123456789abcdef");
}
END_TEST

START_TEST(test_truncated)
{
    rp_store_t *s = make_store(1, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    rp_frame_t f[3], *deep;
    const rp_region_t *rg;
    apr_uint32_t u, t, n, d;
    int i;

    f[0] = fr(RP_STORE_NONE, 3);
    f[1] = fr(RP_STORE_NONE, 2);
    f[2] = fr(RP_STORE_NONE, 1);
    add(s, slot, "/t", f, 3, 1, 2);         /* cut by MaxDepth */
    add(s, slot, "/t", f, 3, 0, 1);         /* whole */
    /* Deeper than the store keeps: the innermost frames stay. */
    deep = apr_palloc(pool, (RP_STORE_DEPTH_MAX + 50) * sizeof(*deep));
    for (i = 0; i < RP_STORE_DEPTH_MAX + 50; i++) {
        deep[i] = fr(RP_STORE_NONE, 1000 + (apr_uint64_t)i);
    }
    add(s, slot, "/deep", deep, RP_STORE_DEPTH_MAX + 50, 0, 1);

    rg = region_of(rp_store_snapshot(s, pool), slot);
    assert_consistent(rg);
    ck_assert_uint_eq(rg->counters[RP_CTR_DEPTH_TRUNCATED], 3);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 4);
    u = find_uri(rg, "/t");
    t = special_child(rg, rg->uris[u].node, RP_FRAME_TRUNCATED);
    ck_assert_uint_ne(t, RP_STORE_NONE);
    ck_assert_uint_eq(rg->nodes[t].total_count, 2);
    n = find_child(rg, t, RP_FRAME_REAL, RP_STORE_NONE, 1);
    n = find_child(rg, n, RP_FRAME_REAL, RP_STORE_NONE, 2);
    n = find_child(rg, n, RP_FRAME_REAL, RP_STORE_NONE, 3);
    ck_assert_uint_ne(n, RP_STORE_NONE);
    ck_assert_uint_eq(rg->nodes[n].self_count, 2);
    ck_assert_uint_eq(rg->nodes[find_stack(rg, "/t", f, 3)].self_count, 1);

    u = find_uri(rg, "/deep");
    t = special_child(rg, rg->uris[u].node, RP_FRAME_TRUNCATED);
    ck_assert_uint_ne(t, RP_STORE_NONE);
    for (n = t, d = 0; rg->nodes[n].first_child != RP_STORE_NONE; d++) {
        n = rg->nodes[n].first_child;
    }
    ck_assert_uint_eq(d, RP_STORE_DEPTH_MAX);
    ck_assert_uint_eq(rg->nodes[n].frame.rel, 1000);       /* innermost */
    ck_assert_uint_eq(rg->nodes[n].self_count, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Slots */

/* One URI under two labels is two entries, each with its own subtree;
 * the label comes back from the snapshot, and a request without one gets
 * "" (and is a third entry). */
START_TEST(test_uri_labels)
{
    static const char *const labels[] = {
        "GET\x1f" "200\x1fwww\x1fh", "POST\x1f" "500\x1fwww\x1fh",
        "GET\x1f" "200\x1fwww\x1fh", NULL
    };
    rp_store_t *s = make_store(1, 64 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    apr_uint32_t obj = rp_store_object(s, slot, "/lib/a.so", "");
    rp_frame_t f[1];
    rp_sample_view_t sv;
    rp_request_info_t req;
    const rp_region_t *rg;
    int i;

    f[0] = fr(obj, 16);
    sv.frames = f;
    sv.offcpu = 0;
    sv.depth = 1;
    sv.truncated = 0;
    sv.weight_ns = 1000;
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.uri = "/same";
    for (i = 0; i < 4; i++) {
        req.label = labels[i];
        rp_store_add_request(s, slot, &req, &sv, 1, NULL);
    }
    rg = region_of(rp_store_snapshot(s, pool), slot);
    ck_assert_ptr_nonnull(rg);
    ck_assert_uint_eq(rg->n_uris, 3);
    for (i = 0; i < 3; i++) {
        ck_assert_str_eq(rg->uris[i].uri, "/same");
    }
    ck_assert_str_eq(rg->uris[0].label, labels[0]);
    ck_assert_uint_eq(rg->uris[0].requests, 2);
    ck_assert_uint_eq(rg->uris[0].samples, 2);
    ck_assert_str_eq(rg->uris[1].label, labels[1]);
    ck_assert_uint_eq(rg->uris[1].requests, 1);
    ck_assert_str_eq(rg->uris[2].label, "");
    /* Each its own URI node under the root. */
    ck_assert_uint_ne(rg->uris[0].node, rg->uris[1].node);
    ck_assert_uint_ne(rg->uris[1].node, rg->uris[2].node);
}
END_TEST

START_TEST(test_claim)
{
    rp_store_t *s = make_store(3, 64 * KB);
    const rp_snapshot_info_t *info;
    const rp_region_t *rg;
    rp_frame_t f[1];

    ndead = 0;
    ck_assert_int_eq(rp_store_claim(s, 101, alive_unless_dead), 0);
    ck_assert_int_eq(rp_store_claim(s, 102, alive_unless_dead), 1);
    f[0] = fr(RP_STORE_NONE, 7);
    add(s, 0, "/kept", f, 1, 0, 6);

    /* 101 dies: its slot is preferred over the free slot 2, and its data
     * survives (child recycling). */
    mark_dead(101);
    ck_assert_int_eq(rp_store_claim(s, 103, alive_unless_dead), 0);
    ck_assert_int_eq(rp_store_claim(s, 104, alive_unless_dead), 2);
    ck_assert_int_eq(rp_store_claim(s, 105, alive_unless_dead), -1);
    ck_assert_int_eq(rp_store_claim(s, 106, NULL), -1);
    rg = region_of(rp_store_snapshot(s, pool), 0);
    ck_assert_ptr_nonnull(rg);
    ck_assert_int_eq(rg->owner, 103);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 6);
    assert_consistent(rg);
    add(s, 0, "/kept", f, 1, 0, 1);
    rg = region_of(rp_store_snapshot(s, pool), 0);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 7);
    ck_assert_uint_eq(rg->uris[find_uri(rg, "/kept")].requests, 2);

    /* A clean exit frees the slot; a wrong pid does not. */
    rp_store_release(s, 1, 999);
    ck_assert_int_eq(rp_store_claim(s, 107, alive_unless_dead), -1);
    rp_store_release(s, 1, 102);
    ck_assert_int_eq(rp_store_claim(s, 107, alive_unless_dead), 1);
    /* A pid reused by a new child: its own slot is taken over. */
    ck_assert_int_eq(rp_store_claim(s, 104, alive_unless_dead), 2);

    info = rp_snapshot_info(rp_store_snapshot(s, pool));
    ck_assert_uint_eq(info->no_slot, 3);
    ck_assert_uint_eq(info->regions_repaired, 0);
    ck_assert_uint_eq(info->regions_reset, 0);
}
END_TEST

START_TEST(test_dead_writer)
{
    rp_store_t *s = make_store(2, 64 * KB);
    rp_frame_t f[2];
    const rp_snapshot_t *snap;
    const rp_snapshot_info_t *info;
    const rp_region_t *rg;
    apr_uint64_t other[RP_CTR_MAX];
    apr_uint32_t other_nodes;

    ndead = 0;
    ck_assert_int_eq(rp_store_claim(s, 201, alive_unless_dead), 0);
    ck_assert_int_eq(rp_store_claim(s, 202, alive_unless_dead), 1);
    f[0] = fr(RP_STORE_NONE, 2);
    f[1] = fr(RP_STORE_NONE, 1);
    add(s, 0, "/a", f, 2, 0, 4);
    add(s, 1, "/b", f, 2, 0, 5);
    rg = region_of(rp_store_snapshot(s, pool), 1);
    memcpy(other, rg->counters, sizeof(other));
    other_nodes = rg->n_nodes;

    /* 201 dies inside a write section that had changed nothing yet:
     * readers skip the region (busy), others are read as usual. */
    rp_store_test_break(s, 0, 0);
    mark_dead(201);
    snap = rp_store_snapshot(s, pool);
    info = rp_snapshot_info(snap);
    ck_assert_int_eq(info->busy, 1);
    ck_assert_int_eq(rp_snapshot_nregions(snap), 1);
    ck_assert_ptr_nonnull(region_of(snap, 1));
    /* The next claimant finds it consistent and keeps it. */
    ck_assert_int_eq(rp_store_claim(s, 203, alive_unless_dead), 0);
    snap = rp_store_snapshot(s, pool);
    info = rp_snapshot_info(snap);
    ck_assert_uint_eq(info->regions_repaired, 1);
    ck_assert_uint_eq(info->regions_reset, 0);
    ck_assert_int_eq(info->busy, 0);
    rg = region_of(snap, 0);
    ck_assert_ptr_nonnull(rg);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 4);
    assert_consistent(rg);

    /* 203 dies with a request half stored: the region is reset, the
     * loss counted, the other region untouched. */
    rp_store_test_break(s, 0, 1);
    mark_dead(203);
    ck_assert_int_eq(rp_store_claim(s, 204, alive_unless_dead), 0);
    snap = rp_store_snapshot(s, pool);
    info = rp_snapshot_info(snap);
    ck_assert_uint_eq(info->regions_repaired, 1);
    ck_assert_uint_eq(info->regions_reset, 1);
    ck_assert_uint_eq(info->samples_lost, 4);
    rg = region_of(snap, 0);
    ck_assert_ptr_nonnull(rg);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 0);
    ck_assert_uint_eq(rg->n_nodes, 1);
    assert_consistent(rg);
    rg = region_of(snap, 1);
    ck_assert_ptr_nonnull(rg);
    ck_assert_mem_eq(rg->counters, other, sizeof(other));
    ck_assert_uint_eq(rg->n_nodes, other_nodes);
    assert_consistent(rg);

    /* The new owner writes on as usual. */
    add(s, 0, "/a", f, 2, 0, 1);
    rg = region_of(rp_store_snapshot(s, pool), 0);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 1);
    assert_consistent(rg);

    /* A damaged hash is found too. */
    rp_store_test_break(s, 0, 2);
    mark_dead(204);
    ck_assert_int_eq(rp_store_claim(s, 205, alive_unless_dead), 0);
    info = rp_snapshot_info(rp_store_snapshot(s, pool));
    ck_assert_uint_eq(info->regions_reset, 2);
    ck_assert_uint_eq(info->samples_lost, 5);
}
END_TEST

/* A broken promise in the module: reported, the operation fails, the
 * region it found broken is dropped and counted, the child lives on. */
static int nreports;
static char last_report[200];

static void count_report(const char *what)
{
    nreports++;
    snprintf(last_report, sizeof(last_report), "%s", what);
}

START_TEST(test_broken_reported)
{
    rp_store_t *s = make_store(2, 64 * KB);
    const rp_snapshot_info_t *info;
    const rp_region_t *rg;
    rp_frame_t f[2];

    nreports = 0;
    rp_store_set_reporter(count_report);
    ck_assert_int_eq(rp_store_claim(s, 301, NULL), 0);
    f[0] = fr(RP_STORE_NONE, 2);
    f[1] = fr(RP_STORE_NONE, 1);
    add(s, 0, "/a", f, 2, 0, 3);

    /* A caller's slot out of range: nothing written, one report. */
    add(s, 7, "/a", f, 2, 0, 1);
    ck_assert_int_eq(nreports, 1);
    ck_assert_ptr_nonnull(strstr(last_report, "slot"));
    rp_store_release(s, -1, 301);
    ck_assert_int_eq(nreports, 2);

    /* An index past the node table (memory overwritten): the write that
     * finds it drops the region, which the next write starts afresh. */
    rp_store_test_break(s, 0, 3);
    add(s, 0, "/a", f, 2, 0, 1);
    ck_assert_int_ge(nreports, 3);
    ck_assert_ptr_nonnull(strstr(last_report, "rp_store.c:"));
    info = rp_snapshot_info(rp_store_snapshot(s, pool));
    ck_assert_uint_eq(info->regions_reset, 1);
    ck_assert_ptr_null(region_of(rp_store_snapshot(s, pool), 0));
    add(s, 0, "/c", f, 2, 0, 2);
    rg = region_of(rp_store_snapshot(s, pool), 0);
    ck_assert_ptr_nonnull(rg);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 2);
    assert_consistent(rg);
    rp_store_set_reporter(NULL);
}
END_TEST

/* With no reporter (these tests) a broken promise is an assertion. */
START_TEST(test_broken_asserts)
{
    rp_store_t *s = make_store(2, 64 * KB);
    rp_frame_t f[1];

    rp_store_set_reporter(NULL);
    f[0] = fr(RP_STORE_NONE, 1);
    add(s, 5, "/a", f, 1, 0, 1);
}
END_TEST

/* Readers never write: a snapshot of a read-only mapping works. */
START_TEST(test_reader_read_only)
{
    apr_size_t size = rp_store_segment_size(2, 64 * KB);
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    rp_store_t *s;
    rp_snapshot_t *snap;
    const rp_region_t *rg;
    rp_frame_t f[1];

    ck_assert_ptr_ne(base, MAP_FAILED);
    ck_assert_int_eq(rp_store_format(base, size, 2, 64 * KB), APR_SUCCESS);
    s = rp_store_attach(pool, base, size);
    ck_assert_int_eq(rp_store_claim(s, 300, alive_unless_dead), 0);
    f[0] = fr(rp_store_object(s, 0, "/x", NULL), 5);
    add(s, 0, "/ro", f, 1, 0, 3);
    ck_assert_int_eq(mprotect(base, size, PROT_READ), 0);
    snap = rp_store_snapshot(s, pool);
    ck_assert_int_eq(rp_snapshot_nregions(snap), 1);
    rg = rp_snapshot_region(snap, 0);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 3);
    ck_assert_int_eq(munmap(base, size), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Kept requests */

/* Kept requests get start times one microsecond apart, in write order. */
static apr_time_t kept_clock;

static void set_keep(rp_store_t *s, int recent, int slowest, int errors)
{
    rp_keep_policy_t k;

    k.recent = recent;
    k.slowest = slowest;
    k.errors = errors;
    rp_store_set_keep(s, &k);
}

/* Store a request that may be kept, described by KI (its id and the
 * rest), on URI with METHOD, STATUS and WALL_US, and the N samples SM
 * (NULL when N is 0). */
static void add_keep_info(rp_store_t *s, int slot, const char *method,
                          const char *uri, int status, apr_int64_t wall_us,
                          const rp_keep_info_t *ki,
                          const rp_sample_view_t *sm, int n)
{
    rp_request_info_t req;

    memset(&req, 0, sizeof(req));
    req.time = apr_time_from_sec(2000) + kept_clock++;
    req.method = method;
    req.uri = uri;
    req.status = status;
    req.wall_us = wall_us;
    req.cpu_us = wall_us / 2;
    req.keep = ki;
    rp_store_add_request(s, slot, &req, sm, n, NULL);
}

/* The same with an id and nothing else. */
static void add_keep(rp_store_t *s, int slot, const char *id, const char *uri,
                     int status, apr_int64_t wall_us,
                     const rp_sample_view_t *sm, int n)
{
    rp_keep_info_t ki;

    memset(&ki, 0, sizeof(ki));
    ki.id = id;
    add_keep_info(s, slot, "GET", uri, status, wall_us, &ki, sm, n);
}

/* N samples, 1 ms each and ending at 1, 2, ... N ms: sample i of the
 * stack STACKS + WHICH[i] * DEPTH (innermost first). */
static rp_sample_view_t *timeline(const rp_frame_t *stacks, int depth,
                                  const int *which, int n)
{
    rp_sample_view_t *sm = apr_pcalloc(pool, (n + 1) * sizeof(*sm));
    int i;

    for (i = 0; i < n; i++) {
        sm[i].frames = stacks + which[i] * depth;
        sm[i].offcpu = 0;
        sm[i].depth = depth;
        sm[i].weight_ns = 1000000;
        sm[i].end_us = (apr_uint64_t)(i + 1) * 1000;
    }
    return sm;
}

/* NSTACKS stacks of two frames, innermost first: a shared outer frame
 * (rel 0x100) and a leaf of its own (rel 0x1000 + k). */
static rp_frame_t *two_frame_stacks(int nstacks)
{
    rp_frame_t *st = apr_palloc(pool, 2 * nstacks * sizeof(*st));
    int k;

    for (k = 0; k < nstacks; k++) {
        st[2 * k] = fr(RP_STORE_NONE, 0x1000 + (apr_uint64_t)k);
        st[2 * k + 1] = fr(RP_STORE_NONE, 0x100);
    }
    return st;
}

static const rp_region_t *kept_region(const rp_store_t *s, int slot,
                                      const char *id)
{
    return region_of(rp_store_snapshot_ex(s, pool, RP_SNAP_KEPT, id), slot);
}

/* The ids of RG's kept requests as listed (newest first), comma
 * separated. */
static const char *kept_ids(const rp_region_t *rg)
{
    const char *ids = "";
    apr_uint32_t i;

    for (i = 0; i < rg->n_kept; i++) {
        ids = apr_pstrcat(pool, ids, i ? "," : "", rg->kept[i].id, NULL);
    }
    return ids;
}

/* The same, of those that REASON keeps. */
static const char *kept_ids_for(const rp_region_t *rg, unsigned reason)
{
    const char *ids = "";
    apr_uint32_t i;

    for (i = 0; i < rg->n_kept; i++) {
        if (rg->kept[i].reasons & reason) {
            ids = apr_pstrcat(pool, ids, *ids ? "," : "", rg->kept[i].id,
                              NULL);
        }
    }
    return ids;
}

static const rp_kept_t *kept_in(const rp_region_t *rg, const char *id)
{
    apr_uint32_t i;

    for (i = 0; i < rg->n_kept; i++) {
        if (strcmp(rg->kept[i].id, id) == 0) {
            return &rg->kept[i];
        }
    }
    return NULL;
}

/* What every list of kept requests promises, whatever the rules: at most
 * the capacity, newest first (seq strictly decreasing), each held by at
 * least one rule, its URI the table's, its spans (when copied) on nodes
 * of the region and no more than its samples.  NULL or what is wrong. */
static const char *kept_problem(const rp_region_t *rg)
{
    apr_uint32_t i, j;

    if (rg->n_kept > rg->cap_kept) {
        return "more kept than records";
    }
    for (i = 0; i < rg->n_kept; i++) {
        const rp_kept_t *k = &rg->kept[i];
        apr_uint64_t count = 0;

        if (i > 0 && k->seq >= rg->kept[i - 1].seq) {
            return "not newest first";
        }
        if (k->reasons == 0 || k->reasons >= (1u << RP_KEEP_REASONS)) {
            return "reasons";
        }
        if (k->slot != rg->slot || !k->id || !k->method || !k->uri
            || !k->query || !k->vhost || !k->handler || !k->content_type) {
            return "fields";
        }
        if (k->uri_index != RP_STORE_NONE
            && (k->uri_index >= rg->n_uris
                || strcmp(rg->uris[k->uri_index].uri, k->uri) != 0)) {
            return "URI";
        }
        if (!k->spans && k->n_spans) {
            return "spans counted but not copied";
        }
        for (j = 0; j < k->n_spans; j++) {
            if (k->spans[j].node >= rg->n_nodes || k->spans[j].count == 0) {
                return "span node";
            }
            count += k->spans[j].count;
        }
        if (k->spans && count + k->samples_lost != k->samples) {
            return "span counts + samples_lost != samples";
        }
        if (k->samples_lost > k->samples) {
            return "samples_lost > samples";
        }
    }
    return NULL;
}

static void assert_kept_ok(const rp_region_t *rg)
{
    const char *why = kept_problem(rg);

    ck_assert_msg(why == NULL, "slot %d: kept: %s", rg->slot, why);
}

START_TEST(test_keep_recent)
{
    rp_store_t *s = make_store(1, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    const rp_region_t *rg;
    char id[16];
    int i;

    /* Keeping is off by default, and a request without keep info is
     * never kept. */
    add_keep(s, slot, "off", "/r", 200, 1000, NULL, 0);
    set_keep(s, 4, 0, 0);
    add(s, slot, "/r", NULL, 0, 0, 0);
    rg = kept_region(s, slot, NULL);
    ck_assert_uint_eq(rg->n_kept, 0);
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT], 0);
    ck_assert_uint_eq(rg->cap_kept, rp_store_kept_capacity(s));
    ck_assert_uint_ge(rg->cap_kept, 4);

    for (i = 0; i < 10; i++) {
        apr_snprintf(id, sizeof(id), "r%d", i);
        add_keep(s, slot, id, "/r", 200, 1000 + i, NULL, 0);
    }
    rg = kept_region(s, slot, NULL);
    ck_assert_ptr_nonnull(rg);
    assert_consistent(rg);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids(rg), "r9,r8,r7,r6");
    for (i = 0; i < 4; i++) {
        ck_assert_uint_eq(rg->kept[i].reasons, RP_KEEP_RECENT);
        ck_assert_int_eq(rg->kept[i].wall_us, 1009 - i);
        ck_assert_str_eq(rg->kept[i].uri, "/r");
        ck_assert_uint_eq(rg->kept[i].uri_index, find_uri(rg, "/r"));
    }
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT], 10);
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT_FULL], 0);
    ck_assert_uint_eq(rg->counters[RP_CTR_REQUESTS], 12);
    ck_assert_str_eq(rp_keep_reason_names[0], "recent");
    ck_assert_str_eq(rp_keep_reason_names[2], "error");
    ck_assert_str_eq(rp_store_counter_name(RP_CTR_KEPT_FULL), "kept_full");

    /* A plain snapshot copies none of them. */
    rg = region_of(rp_store_snapshot(s, pool), slot);
    ck_assert_uint_eq(rg->n_kept, 0);

    /* A negative number keeps none: here no recent request is kept any
     * more, and those that were are let go. */
    set_keep(s, -1, -1, 2);
    add_keep(s, slot, "neg", "/r", 200, 1000, NULL, 0);
    rg = kept_region(s, slot, NULL);
    ck_assert_str_eq(kept_ids(rg), "");
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT], 10);
}
END_TEST

/* The SLOWEST rule is per URI and tail-based: a request is kept when
 * slower than the fastest of its URI's kept ones, which gives way. */
START_TEST(test_keep_slowest)
{
    rp_store_t *s = make_store(1, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    apr_int64_t bwall[50], top[3] = { 0, 0, 0 };
    const char *expect_b = "";
    const rp_region_t *rg;
    char id[16];
    apr_uint64_t kept;
    int i, j;

    set_keep(s, 0, 3, 0);
    ck_assert_uint_ge(rp_store_kept_capacity(s), 6);
    for (i = 0; i < 50; i++) {
        apr_int64_t awall = i == 7    ? 90000
                            : i == 23 ? 95000
                            : i == 41 ? 80000
                                      : 10000;

        apr_snprintf(id, sizeof(id), "a%d", i);
        add_keep(s, slot, id, "/a", 200, awall, NULL, 0);
        /* /b: 50 distinct times in a scrambled order. */
        bwall[i] = 1000 * (1 + (i * 37) % 101);
        apr_snprintf(id, sizeof(id), "b%d", i);
        add_keep(s, slot, id, "/b", 200, bwall[i], NULL, 0);
        for (j = 0; j < 3; j++) {
            if (bwall[i] > top[j]) {
                memmove(top + j + 1, top + j, (2 - j) * sizeof(*top));
                top[j] = bwall[i];
                break;
            }
        }
    }
    /* /b's three slowest, newest first as the list is. */
    for (i = 49; i >= 0; i--) {
        if (bwall[i] >= top[2]) {
            expect_b = apr_psprintf(pool, "%s%sb%d", expect_b,
                                    *expect_b ? "," : "", i);
        }
    }
    rg = kept_region(s, slot, NULL);
    assert_consistent(rg);
    assert_kept_ok(rg);
    ck_assert_uint_eq(rg->n_kept, 6);
    for (i = 0; i < 6; i++) {
        ck_assert_uint_eq(rg->kept[i].reasons, RP_KEEP_SLOW);
    }
    {
        const char *a = "", *b = "";

        for (i = 0; i < 6; i++) {
            const rp_kept_t *k = &rg->kept[i];
            const char **to = strcmp(k->uri, "/a") == 0 ? &a : &b;

            *to = apr_pstrcat(pool, *to, **to ? "," : "", k->id, NULL);
        }
        ck_assert_str_eq(a, "a41,a23,a7");
        ck_assert_str_eq(b, expect_b);
    }
    ck_assert_int_eq(kept_in(rg, "a7")->wall_us, 90000);
    ck_assert_int_eq(kept_in(rg, "a41")->wall_us, 80000);
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT_FULL], 0);
    kept = rg->counters[RP_CTR_KEPT];

    /* Slower than the floor (80 ms): replaces it. */
    add_keep(s, slot, "a50", "/a", 200, 85000, NULL, 0);
    /* Equal to the new floor (85 ms), or below it: not kept. */
    add_keep(s, slot, "a51", "/a", 200, 85000, NULL, 0);
    add_keep(s, slot, "a52", "/a", 200, 84999, NULL, 0);
    rg = kept_region(s, slot, NULL);
    assert_kept_ok(rg);
    ck_assert_ptr_null(kept_in(rg, "a41"));
    ck_assert_ptr_null(kept_in(rg, "a51"));
    ck_assert_ptr_null(kept_in(rg, "a52"));
    ck_assert_ptr_nonnull(kept_in(rg, "a50"));
    ck_assert_ptr_nonnull(kept_in(rg, "a23"));
    ck_assert_ptr_nonnull(kept_in(rg, "a7"));
    ck_assert_uint_eq(rg->n_kept, 6);
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT], kept + 1);

    /* A negative wall time (a clock step) is no time at all: it does not
     * become the slowest forever. */
    s = make_store(1, 256 * KB);
    ck_assert_int_eq(rp_store_claim(s, 100, NULL), 0);
    set_keep(s, 0, 3, 0);
    add_keep(s, 0, "c0", "/c", 200, -5, NULL, 0);
    add_keep(s, 0, "c1", "/c", 200, 10, NULL, 0);
    add_keep(s, 0, "c2", "/c", 200, 20, NULL, 0);
    add_keep(s, 0, "c3", "/c", 200, 30, NULL, 0);
    rg = kept_region(s, 0, NULL);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids(rg), "c3,c2,c1");
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT_FULL], 0);
}
END_TEST

START_TEST(test_keep_errors)
{
    static const int status[5] = { 200, 500, 503, 200, 502 };
    rp_store_t *s = make_store(2, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    int slot2 = rp_store_claim(s, 101, alive_unless_dead);
    const rp_region_t *rg;
    char id[16];
    int i;

    set_keep(s, 0, 0, 2);
    for (i = 0; i < 5; i++) {
        apr_snprintf(id, sizeof(id), "e%d", i);
        add_keep(s, slot, id, "/e", status[i], 1000, NULL, 0);
    }
    rg = kept_region(s, slot, NULL);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids(rg), "e4,e2");
    ck_assert_uint_eq(rg->kept[0].reasons, RP_KEEP_ERROR);
    ck_assert_uint_eq(rg->kept[1].reasons, RP_KEEP_ERROR);
    ck_assert_int_eq(rg->kept[0].status, 502);
    ck_assert_int_eq(rg->kept[1].status, 503);
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT], 3);

    /* Held by two rules, a request stays until the last lets go. */
    set_keep(s, 2, 0, 1);
    add_keep(s, slot2, "x0", "/x", 500, 1000, NULL, 0);
    add_keep(s, slot2, "x1", "/x", 200, 1000, NULL, 0);
    rg = kept_region(s, slot2, NULL);
    ck_assert_str_eq(kept_ids(rg), "x1,x0");
    ck_assert_uint_eq(rg->kept[1].reasons, RP_KEEP_RECENT | RP_KEEP_ERROR);
    add_keep(s, slot2, "x2", "/x", 200, 1000, NULL, 0);
    rg = kept_region(s, slot2, NULL);
    ck_assert_str_eq(kept_ids(rg), "x2,x1,x0");
    ck_assert_uint_eq(rg->kept[2].reasons, RP_KEEP_ERROR);
    add_keep(s, slot2, "x3", "/x", 200, 1000, NULL, 0);
    rg = kept_region(s, slot2, NULL);
    ck_assert_str_eq(kept_ids(rg), "x3,x2,x0");
    /* A newer error: x0 is let go by its last rule, x2 by RECENT. */
    add_keep(s, slot2, "x4", "/x", 503, 1000, NULL, 0);
    rg = kept_region(s, slot2, NULL);
    ck_assert_str_eq(kept_ids(rg), "x4,x3");
    ck_assert_uint_eq(rg->kept[0].reasons, RP_KEEP_RECENT | RP_KEEP_ERROR);
    add_keep(s, slot2, "x5", "/x", 200, 1000, NULL, 0);
    add_keep(s, slot2, "x6", "/x", 200, 1000, NULL, 0);
    rg = kept_region(s, slot2, NULL);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids(rg), "x6,x5,x4");
    ck_assert_uint_eq(rg->kept[2].reasons, RP_KEEP_ERROR);
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_RECENT), "x6,x5");
}
END_TEST

/* A mixed run of requests for test_keep_full: several URIs, stacks,
 * times and statuses. */
static void keep_full_run(rp_store_t *s, int slot)
{
    rp_frame_t *st = two_frame_stacks(5);
    int which[6];
    char id[16], uri[16];
    int i, j;

    for (i = 0; i < 80; i++) {
        for (j = 0; j < 6; j++) {
            which[j] = (i + j * j) % 5;
        }
        apr_snprintf(id, sizeof(id), "f%d", i);
        apr_snprintf(uri, sizeof(uri), "/f/%d", i % 3);
        add_keep(s, slot, id, uri, i % 9 == 0 ? 500 : 200,
                 1000 * (1 + (i * 13) % 29), timeline(st, 2, which, i % 7),
                 i % 7);
    }
}

/* Keeping never changes the merged profile, and when the records run out
 * a slow or failed request takes the oldest record kept only as recent
 * (counted), else it is not kept (counted). */
START_TEST(test_keep_full)
{
    static const apr_size_t sizes[2] = { 64 * KB, 256 * KB };
    int z;

    for (z = 0; z < 2; z++) {
        rp_store_t *on = make_store(1, sizes[z]);
        rp_store_t *off = make_store(1, sizes[z]);
        const rp_region_t *a, *b;
        apr_uint32_t cap = rp_store_kept_capacity(on), i;
        int c;

        ck_assert_uint_eq(cap, z == 0 ? 1 : 7);
        ck_assert_int_eq(rp_store_claim(on, 100, NULL), 0);
        ck_assert_int_eq(rp_store_claim(off, 100, NULL), 0);
        set_keep(on, 1000, 1000, 1000);
        keep_full_run(on, 0);
        keep_full_run(off, 0);
        a = kept_region(on, 0, NULL);
        b = kept_region(off, 0, NULL);
        assert_consistent(a);
        assert_kept_ok(a);
        ck_assert_uint_eq(a->n_kept, cap);
        ck_assert_uint_eq(b->n_kept, 0);
        ck_assert_uint_gt(a->counters[RP_CTR_KEPT_FULL], 0);
        ck_assert_uint_le(a->counters[RP_CTR_KEPT], 80);
        ck_assert_uint_ge(a->counters[RP_CTR_KEPT], cap);
        ck_assert_uint_eq(b->counters[RP_CTR_KEPT], 0);
        ck_assert_uint_eq(b->counters[RP_CTR_KEPT_FULL], 0);
        for (c = 0; c < RP_CTR_MAX; c++) {
            if (c != RP_CTR_KEPT && c != RP_CTR_KEPT_FULL) {
                ck_assert_uint_eq(a->counters[c], b->counters[c]);
            }
        }
        for (i = 0, c = 0; i < 80; i++) {
            c += (int)i % 7;
        }
        ck_assert_uint_eq(a->counters[RP_CTR_SAMPLES], (apr_uint64_t)c);
        ck_assert_uint_eq(a->n_nodes, b->n_nodes);
        for (i = 0; i < a->n_nodes; i++) {
            const rp_node_t *x = &a->nodes[i], *y = &b->nodes[i];

            ck_assert_uint_eq(x->parent, y->parent);
            ck_assert_int_eq(x->frame.kind, y->frame.kind);
            ck_assert_uint_eq(x->frame.rel, y->frame.rel);
            ck_assert_uint_eq(x->self_count, y->self_count);
            ck_assert_uint_eq(x->self_weight_ns, y->self_weight_ns);
            ck_assert_uint_eq(x->total_count, y->total_count);
        }
        ck_assert_uint_eq(a->n_uris, b->n_uris);
        for (i = 0; i < a->n_uris; i++) {
            ck_assert_str_eq(a->uris[i].uri, b->uris[i].uri);
            ck_assert_uint_eq(a->uris[i].requests, b->uris[i].requests);
            ck_assert_uint_eq(a->uris[i].samples, b->uris[i].samples);
            ck_assert_uint_eq(a->uris[i].sum_wall_us, b->uris[i].sum_wall_us);
        }
        ck_assert_uint_eq(a->n_recent, b->n_recent);
    }

    /* Eviction, in a region of 7 records.  RECENT asks for them all, so
     * SLOWEST may hold a quarter: 1 record over all URIs. */
    {
        rp_store_t *s = make_store(1, 256 * KB);
        const rp_region_t *rg;
        char id[16];
        int i;

        ck_assert_int_eq(rp_store_claim(s, 100, NULL), 0);
        set_keep(s, 1000, 1, 0);
        add_keep(s, 0, "S", "/s", 200, 5000, NULL, 0);
        rg = kept_region(s, 0, NULL);
        ck_assert_uint_eq(kept_in(rg, "S")->reasons,
                          RP_KEEP_RECENT | RP_KEEP_SLOW);
        /* F0, the first of /f and slower than S: S gives way as SLOW,
         * for lack of room (counted). */
        for (i = 0; i < 6; i++) {
            apr_snprintf(id, sizeof(id), "F%d", i);
            add_keep(s, 0, id, "/f", 200, 10000, NULL, 0);
        }
        rg = kept_region(s, 0, NULL);
        assert_kept_ok(rg);
        ck_assert_str_eq(kept_ids(rg), "F5,F4,F3,F2,F1,F0,S");
        ck_assert_uint_eq(kept_in(rg, "S")->reasons, RP_KEEP_RECENT);
        ck_assert_uint_eq(kept_in(rg, "F0")->reasons,
                          RP_KEEP_RECENT | RP_KEEP_SLOW);
        ck_assert_uint_eq(kept_in(rg, "F1")->reasons, RP_KEEP_RECENT);
        ck_assert_uint_eq(rg->counters[RP_CTR_KEPT_FULL], 1);
        /* S leaves the 7 most recent: its record is F6's. */
        add_keep(s, 0, "F6", "/f", 200, 10000, NULL, 0);
        rg = kept_region(s, 0, NULL);
        ck_assert_str_eq(kept_ids(rg), "F6,F5,F4,F3,F2,F1,F0");
        /* A slower one of /f: F0 gives way as SLOW and, the oldest, as
         * RECENT. */
        add_keep(s, 0, "SLOW", "/f", 200, 50000, NULL, 0);
        rg = kept_region(s, 0, NULL);
        assert_kept_ok(rg);
        ck_assert_str_eq(kept_ids(rg), "SLOW,F6,F5,F4,F3,F2,F1");
        ck_assert_uint_eq(kept_in(rg, "SLOW")->reasons,
                          RP_KEEP_RECENT | RP_KEEP_SLOW);
        /* A new URI's first request, faster than every kept slow one:
         * recent only. */
        add_keep(s, 0, "T", "/t", 200, 1, NULL, 0);
        rg = kept_region(s, 0, NULL);
        assert_kept_ok(rg);
        ck_assert_str_eq(kept_ids(rg), "T,SLOW,F6,F5,F4,F3,F2");
        ck_assert_uint_eq(kept_in(rg, "T")->reasons, RP_KEEP_RECENT);
        ck_assert_uint_eq(rg->counters[RP_CTR_KEPT], 10);
        ck_assert_uint_eq(rg->counters[RP_CTR_KEPT_FULL], 1);
    }

    /* SLOWEST's room is what RECENT and ERRORS leave: 7 - 3 - 2 = 2
     * records over all URIs, so the first requests of many URIs cannot
     * crowd out the recent and failed ones. */
    {
        rp_store_t *s = make_store(1, 256 * KB);
        const rp_region_t *rg;

        ck_assert_int_eq(rp_store_claim(s, 100, NULL), 0);
        set_keep(s, 3, 4, 2);
        add_keep(s, 0, "A", "/a", 200, 100, NULL, 0);
        add_keep(s, 0, "B", "/b", 200, 100, NULL, 0);
        /* Not slower than the fastest kept slow one (A): recent only. */
        add_keep(s, 0, "C", "/c", 200, 100, NULL, 0);
        add_keep(s, 0, "D", "/d", 200, 100, NULL, 0);
        add_keep(s, 0, "E1", "/e", 500, 1, NULL, 0);
        add_keep(s, 0, "E2", "/e", 500, 1, NULL, 0);
        rg = kept_region(s, 0, NULL);
        assert_kept_ok(rg);
        ck_assert_str_eq(kept_ids(rg), "E2,E1,D,B,A");
        ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_SLOW), "B,A");
        ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_RECENT), "E2,E1,D");
        ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_ERROR), "E2,E1");
        /* A slower first request of another URI takes A's place. */
        add_keep(s, 0, "F", "/f", 200, 300, NULL, 0);
        rg = kept_region(s, 0, NULL);
        assert_kept_ok(rg);
        ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_SLOW), "F,B");
        ck_assert_ptr_null(kept_in(rg, "A"));
    }
}
END_TEST

/* A stack the thread was blocked in and the same stack on the CPU are
 * spans apart, and say which they are. */
START_TEST(test_keep_spans_offcpu)
{
    static const int same[4] = { 0, 0, 0, 0 };
    rp_store_t *s = make_store(1, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    rp_frame_t *st = two_frame_stacks(1);
    rp_sample_view_t *sm = timeline(st, 2, same, 4);
    const rp_region_t *rg;
    const rp_kept_t *k;

    set_keep(s, 10, 0, 0);
    /* on, off, off, on: three spans, the middle one off the CPU */
    sm[1].offcpu = 1;
    sm[2].offcpu = 1;
    add_keep(s, slot, "mix", "/m", 200, 4000, sm, 4);
    rg = kept_region(s, slot, "mix");
    k = kept_in(rg, "mix");
    ck_assert_ptr_nonnull(k);
    ck_assert_uint_eq(k->n_spans, 3);
    ck_assert_int_eq(k->spans[0].offcpu, 0);
    ck_assert_int_eq(k->spans[1].offcpu, 1);
    ck_assert_uint_eq(k->spans[1].count, 2);
    ck_assert_int_eq(k->spans[2].offcpu, 0);
    ck_assert_uint_eq(k->spans[0].node, k->spans[1].node);
}
END_TEST

/* Many URIs: SLOWEST keeps the slowest over all of them within its room,
 * and the recent and failed requests keep theirs. */
START_TEST(test_keep_many_uris)
{
    static const char recent[] = "u99-9,u98-9,u97-9,u96-9";
    rp_store_t *s = make_store(1, 1024 * KB);
    apr_uint32_t cap = rp_store_kept_capacity(s), room;
    const rp_region_t *rg;
    char id[32], uri[32];
    int j, u;

    ck_assert_int_eq(rp_store_claim(s, 100, NULL), 0);
    ck_assert_uint_ge(cap, 20);
    set_keep(s, 4, 8, 2);
    room = cap - 4 - 2;
    add_keep(s, 0, "E0", "/err", 500, 1, NULL, 0);
    add_keep(s, 0, "E1", "/err", 503, 1, NULL, 0);
    for (j = 0; j < 10; j++) {
        for (u = 0; u < 100; u++) {
            apr_snprintf(id, sizeof(id), "u%d-%d", u, j);
            apr_snprintf(uri, sizeof(uri), "/u%d", u);
            /* Distinct walls; the slowest are j = 9's, the last URIs. */
            add_keep(s, 0, id, uri, 200, 1000 * (apr_int64_t)j + u + 10, NULL,
                     0);
        }
    }
    rg = kept_region(s, 0, NULL);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_RECENT), recent);
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_ERROR), "E1,E0");
    {
        const char *want = "";
        apr_uint32_t k;

        for (k = 0; k < room; k++) {
            want = apr_psprintf(pool, "%s%su%u-9", want, k ? "," : "",
                                99 - k);
        }
        ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_SLOW), want);
    }
    /* The recent ones are among the slowest. */
    ck_assert_uint_eq(rg->n_kept, room + 2);
}
END_TEST

/* Samples become spans over the tree's nodes, in time order. */
START_TEST(test_keep_spans)
{
    static const int aaba[4] = { 0, 0, 1, 0 };
    rp_store_t *s = make_store(1, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    rp_frame_t *st = two_frame_stacks(300);
    rp_sample_view_t *sm;
    const rp_region_t *rg;
    const rp_kept_t *k;
    apr_uint32_t na, nb, i;
    apr_uint64_t count;
    int *which = apr_palloc(pool, 600 * sizeof(*which));
    int j;

    set_keep(s, 10, 0, 0);
    add_keep(s, slot, "aaba", "/s", 200, 4000, timeline(st, 2, aaba, 4), 4);
    rg = kept_region(s, slot, "aaba");
    assert_consistent(rg);
    assert_kept_ok(rg);
    k = kept_in(rg, "aaba");
    ck_assert_ptr_nonnull(k->spans);
    na = find_stack(rg, "/s", st, 2);
    nb = find_stack(rg, "/s", st + 2, 2);
    ck_assert_uint_ne(na, RP_STORE_NONE);
    ck_assert_uint_ne(nb, RP_STORE_NONE);
    ck_assert_uint_eq(k->n_spans, 3);
    ck_assert_uint_eq(k->spans[0].node, na);
    ck_assert_uint_eq(k->spans[0].count, 2);
    ck_assert_int_eq(k->spans[0].end_us, 2000);
    ck_assert_uint_eq(k->spans[0].weight_ns, 2000000);
    ck_assert_uint_eq(k->spans[1].node, nb);
    ck_assert_uint_eq(k->spans[1].count, 1);
    ck_assert_int_eq(k->spans[1].end_us, 3000);
    ck_assert_uint_eq(k->spans[2].node, na);
    ck_assert_uint_eq(k->spans[2].count, 1);
    ck_assert_int_eq(k->spans[2].end_us, 4000);
    ck_assert_uint_eq(k->samples, 4);
    ck_assert_uint_eq(k->samples_lost, 0);
    ck_assert_uint_eq(k->weight_ns, 4000000);

    /* One stack, with a gap in time: two spans. */
    sm = timeline(st, 2, aaba, 2);
    sm[1].end_us = 10000;
    add_keep(s, slot, "gap", "/s", 200, 10000, sm, 2);
    k = kept_in(kept_region(s, slot, "gap"), "gap");
    ck_assert_uint_eq(k->n_spans, 2);
    ck_assert_uint_eq(k->spans[0].count, 1);
    ck_assert_int_eq(k->spans[1].end_us, 10000);

    /* Two stacks alternating, more samples than spans: the spans run
     * out, later samples join the earlier span of their stack. */
    for (j = 0; j < 600; j++) {
        which[j] = j % 2;
    }
    add_keep(s, slot, "alt", "/s", 200, 600000, timeline(st, 2, which, 600),
             600);
    rg = kept_region(s, slot, "alt");
    assert_kept_ok(rg);
    k = kept_in(rg, "alt");
    ck_assert_uint_eq(k->n_spans, RP_KEEP_SPANS);
    ck_assert_uint_eq(k->samples, 600);
    ck_assert_uint_eq(k->samples_lost, 0);
    for (i = 0, count = 0; i < k->n_spans; i++) {
        count += k->spans[i].count;
        ck_assert_uint_eq(k->spans[i].node, i % 2 ? nb : na);
    }
    ck_assert_uint_eq(count, 600);
    ck_assert_uint_eq(k->spans[0].count, 1 + (600 - RP_KEEP_SPANS) / 2);
    ck_assert_uint_eq(k->weight_ns, 600 * 1000000ULL);
    /* The region's tree has every sample, kept or not. */
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 4 + 2 + 600);

    /* 300 stacks in turn: those without a span are not kept. */
    for (j = 0; j < 600; j++) {
        which[j] = j % 300;
    }
    add_keep(s, slot, "many", "/s", 200, 600000, timeline(st, 2, which, 600),
             600);
    rg = kept_region(s, slot, "many");
    assert_consistent(rg);
    assert_kept_ok(rg);
    k = kept_in(rg, "many");
    ck_assert_uint_eq(k->n_spans, RP_KEEP_SPANS);
    ck_assert_uint_eq(k->samples, 600);
    ck_assert_uint_eq(k->samples_lost, 2 * (300 - RP_KEEP_SPANS));
    for (i = 0, count = 0; i < k->n_spans; i++) {
        count += k->spans[i].count;
        ck_assert_uint_eq(k->spans[i].count, 2);
    }
    ck_assert_uint_eq(count + k->samples_lost, 600);
    /* Only the request asked for has its spans copied. */
    ck_assert_ptr_null(kept_in(rg, "alt")->spans);
    ck_assert_uint_eq(kept_in(rg, "alt")->n_spans, 0);
    ck_assert_uint_eq(kept_in(rg, "alt")->samples, 600);
}
END_TEST

/* The profile of one kept request. */
START_TEST(test_keep_request_snapshot)
{
    static const int q1[5] = { 0, 0, 0, 1, 1 };
    static const int q2[4] = { 2, 2, 2, 2 };
    static const int q3[5] = { 0, 0, 0, 0, 0 };
    rp_store_t *s = make_store(1, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    rp_frame_t *st = two_frame_stacks(3);
    rp_keep_info_t ki;
    rp_snapshot_t *snap, *one;
    const rp_region_t *rg, *r1;
    const rp_kept_t *k, *k1;
    apr_uint32_t nf, ng, i, u;
    static const char hdrs[] = "Host\0www.example.com\0Accept\0*/*\0";

    set_keep(s, 10, 0, 0);
    memset(&ki, 0, sizeof(ki));
    ki.id = "q1";
    ki.query = "a=1&b=2";
    ki.vhost = "www.example.com";
    ki.handler = "php-fpm";
    ki.content_type = "text/html; charset=utf-8";
    ki.bytes = 1234;
    ki.headers = hdrs;
    ki.headers_len = sizeof(hdrs) - 1;
    add_keep(s, slot, "q0", "/x", 200, 3000, timeline(st, 2, q3, 3), 3);
    add_keep_info(s, slot, "POST", "/x", 201, 5000, &ki,
                  timeline(st, 2, q1, 5), 5);
    add_keep(s, slot, "q2", "/y", 200, 4000, timeline(st, 2, q2, 4), 4);
    add_keep(s, slot, "q3", "/x", 200, 5000, timeline(st, 2, q3, 5), 5);

    snap = rp_store_snapshot_ex(s, pool, RP_SNAP_KEPT, "q1");
    ck_assert_ptr_null(rp_snapshot_kept(snap));
    k = rp_snapshot_find(snap, "q1");
    ck_assert_ptr_nonnull(k);
    ck_assert_ptr_nonnull(k->spans);
    ck_assert_ptr_null(rp_snapshot_find(snap, "nope"));
    ck_assert_ptr_null(rp_snapshot_request(pool, snap, "nope"));
    /* What was kept, back as given. */
    ck_assert_str_eq(k->method, "POST");
    ck_assert_str_eq(k->uri, "/x");
    ck_assert_str_eq(k->query, "a=1&b=2");
    ck_assert_str_eq(k->vhost, "www.example.com");
    ck_assert_str_eq(k->handler, "php-fpm");
    ck_assert_str_eq(k->content_type, "text/html; charset=utf-8");
    ck_assert_int_eq(k->status, 201);
    ck_assert_uint_eq(k->bytes, 1234);
    ck_assert_int_eq(k->wall_us, 5000);
    ck_assert_int_eq(k->cpu_us, 2500);
    ck_assert_int_eq(k->slot, slot);
    ck_assert_uint_eq(k->n_headers, 2);
    ck_assert_str_eq(k->headers[0].name, "Host");
    ck_assert_str_eq(k->headers[0].value, "www.example.com");
    ck_assert_str_eq(k->headers[1].name, "Accept");
    ck_assert_str_eq(k->headers[1].value, "*/*");
    /* Absent strings come back empty. */
    k1 = rp_snapshot_find(snap, "q2");
    ck_assert_str_eq(k1->query, "");
    ck_assert_str_eq(k1->content_type, "");
    ck_assert_uint_eq(k1->n_headers, 0);
    ck_assert_ptr_null(k1->spans);

    one = rp_snapshot_request(pool, snap, "q1");
    ck_assert_ptr_nonnull(one);
    k1 = rp_snapshot_kept(one);
    ck_assert_ptr_nonnull(k1);
    ck_assert_str_eq(k1->id, "q1");
    ck_assert_int_eq(rp_snapshot_nregions(one), 1);
    r1 = rp_snapshot_region(one, 0);
    assert_consistent(r1);
    assert_kept_ok(r1);
    ck_assert_uint_eq(r1->n_kept, 1);
    ck_assert_ptr_eq(&r1->kept[0], k1);
    /* Its tree: root, /x, the shared frame, f and g. */
    ck_assert_uint_eq(r1->n_nodes, 5);
    ck_assert_uint_eq(r1->n_uris, 1);
    ck_assert_uint_eq(find_uri(r1, "/y"), RP_STORE_NONE);
    u = find_uri(r1, "/x");
    ck_assert_uint_eq(u, 0);
    ck_assert_uint_eq(r1->uris[u].requests, 1);
    ck_assert_uint_eq(r1->uris[u].samples, 5);
    ck_assert_uint_eq(r1->uris[u].sum_wall_us, 5000);
    ck_assert_uint_eq(r1->uris[u].max_wall_us, 5000);
    ck_assert_uint_eq(r1->uris[u].sum_cpu_us, 2500);
    ck_assert_uint_eq(r1->uris[u].max_cpu_us, 2500);
    ck_assert_uint_eq(r1->uris[u].weight_ns, 5000000);
    nf = find_stack(r1, "/x", st, 2);
    ng = find_stack(r1, "/x", st + 2, 2);
    ck_assert_uint_ne(nf, RP_STORE_NONE);
    ck_assert_uint_ne(ng, RP_STORE_NONE);
    ck_assert_uint_eq(find_stack(r1, "/x", st + 4, 2), RP_STORE_NONE);
    ck_assert_uint_eq(r1->nodes[nf].self_count, 3);
    ck_assert_uint_eq(r1->nodes[nf].self_weight_ns, 3000000);
    ck_assert_uint_eq(r1->nodes[ng].self_count, 2);
    ck_assert_uint_eq(r1->nodes[r1->uris[u].node].total_count, 5);
    ck_assert_uint_eq(r1->nodes[0].total_count, 5);
    ck_assert_uint_eq(r1->counters[RP_CTR_REQUESTS], 1);
    ck_assert_uint_eq(r1->counters[RP_CTR_SAMPLES], 5);
    ck_assert_uint_eq(r1->counters[RP_CTR_TICKS], 5);
    ck_assert_uint_eq(r1->counters[RP_CTR_WEIGHT_NS], 5000000);
    ck_assert_uint_eq(r1->n_recent, 1);
    ck_assert_str_eq(r1->recent[0].uri, "/x");
    ck_assert_uint_eq(r1->recent[0].uri_index, 0);
    ck_assert_int_eq(r1->recent[0].status, 201);
    /* Its spans, on the new tree's nodes. */
    ck_assert_uint_eq(k1->n_spans, 2);
    ck_assert_uint_eq(k1->spans[0].node, nf);
    ck_assert_uint_eq(k1->spans[0].count, 3);
    ck_assert_uint_eq(k1->spans[1].node, ng);
    ck_assert_uint_eq(k1->spans[1].count, 2);
    ck_assert_uint_eq(k1->uri_index, 0);
    /* The region copy it came from is as it was: /x has all its
     * requests' samples. */
    rg = region_of(snap, slot);
    ck_assert_uint_eq(rg->uris[find_uri(rg, "/x")].samples, 13);
    ck_assert_uint_eq(rg->uris[find_uri(rg, "/x")].requests, 3);
    for (i = 0; i < k->n_spans; i++) {
        ck_assert_uint_lt(k->spans[i].node, rg->n_nodes);
    }

    /* A list has no spans, and no request's profile can be made of it. */
    snap = rp_store_snapshot_ex(s, pool, RP_SNAP_KEPT, NULL);
    rg = region_of(snap, slot);
    assert_kept_ok(rg);
    ck_assert_uint_eq(rg->n_kept, 4);
    for (i = 0; i < rg->n_kept; i++) {
        ck_assert_ptr_null(rg->kept[i].spans);
        ck_assert_uint_eq(rg->kept[i].n_spans, 0);
    }
    ck_assert_ptr_nonnull(rp_snapshot_find(snap, "q1"));
    ck_assert_ptr_null(rp_snapshot_request(pool, snap, "q1"));
    /* A request of no samples has an empty profile of its URI. */
    add_keep(s, slot, "q4", "/z", 200, 1, NULL, 0);
    snap = rp_store_snapshot_ex(s, pool, RP_SNAP_KEPT, "q4");
    one = rp_snapshot_request(pool, snap, "q4");
    ck_assert_ptr_nonnull(one);
    r1 = rp_snapshot_region(one, 0);
    assert_consistent(r1);
    ck_assert_uint_eq(r1->n_nodes, 2);
    ck_assert_uint_eq(r1->n_uris, 1);
    ck_assert_str_eq(r1->uris[0].uri, "/z");
    ck_assert_uint_eq(rp_snapshot_kept(one)->n_spans, 0);
}
END_TEST

/* Strings and headers longer than a record holds are cut: strings so
 * that the short ones stay whole, headers at a whole pair. */
START_TEST(test_keep_strings_cut)
{
    rp_store_t *s = make_store(1, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    char *query = apr_palloc(pool, 3001), *ctype = apr_palloc(pool, 1501);
    char *hdr = apr_palloc(pool, 4096), id[RP_KEEP_ID_MAX + 20];
    apr_size_t len = 0;
    int npairs = 0, whole_pairs = 0, i, n;
    rp_keep_info_t ki;
    const rp_kept_t *k;

    set_keep(s, 10, 0, 0);
    memset(query, 'q', 3000);
    query[3000] = '\0';
    memset(ctype, 't', 1500);
    ctype[1500] = '\0';
    /* 40 pairs of 53 bytes: more than RP_KEEP_HDR_MAX. */
    for (i = 0; i < 40; i++) {
        n = apr_snprintf(hdr + len, 4096 - len, "X-Header-%02d", i);
        len += (apr_size_t)n + 1;
        memset(hdr + len, 'a' + i % 26, 40);
        hdr[len + 40] = '\0';
        len += 41;
        npairs++;
        if (len <= RP_KEEP_HDR_MAX) {
            whole_pairs = npairs;
        }
    }
    ck_assert_uint_gt(len, RP_KEEP_HDR_MAX);
    memset(&ki, 0, sizeof(ki));
    ki.id = "long";
    ki.query = query;
    ki.vhost = "www.example.com";
    ki.handler = "h";
    ki.content_type = "text/plain";
    ki.headers = hdr;
    ki.headers_len = len;
    add_keep_info(s, slot, "GET", "/l", 200, 1, &ki, NULL, 0);
    k = kept_in(kept_region(s, slot, NULL), "long");
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(k->method, "GET");
    ck_assert_str_eq(k->vhost, "www.example.com");
    ck_assert_str_eq(k->handler, "h");
    ck_assert_str_eq(k->content_type, "text/plain");
    ck_assert_uint_eq(strlen(k->query),
                      RP_KEEP_STR_MAX - 6 - 3 - 2 - 15 - 1 - 10);
    ck_assert_int_eq(strncmp(k->query, query, strlen(k->query)), 0);
    ck_assert_uint_eq(k->n_headers, (apr_uint32_t)whole_pairs);
    ck_assert_uint_eq(whole_pairs, 28);
    ck_assert_str_eq(k->headers[27].name, "X-Header-27");
    ck_assert_uint_eq(strlen(k->headers[27].value), 40);

    /* Two long strings share what is left. */
    ki.id = "two";
    ki.content_type = ctype;
    add_keep_info(s, slot, "GET", "/l", 200, 1, &ki, NULL, 0);
    k = kept_in(kept_region(s, slot, NULL), "two");
    ck_assert_str_eq(k->vhost, "www.example.com");
    ck_assert_str_eq(k->handler, "h");
    len = strlen(k->query) + strlen(k->content_type);
    ck_assert_uint_eq(len + 3 + 2 + 15 + 1 + 6, RP_KEEP_STR_MAX);
    ck_assert_uint_ge(strlen(k->query), 400);
    ck_assert_uint_ge(strlen(k->content_type), 400);

    /* Headers that are not whole pairs are not kept at all. */
    ki.id = "odd";
    ki.headers = "Host\0www\0Accept\0";
    ki.headers_len = 16;
    add_keep_info(s, slot, "GET", "/o", 200, 1, &ki, NULL, 0);
    ki.id = "unended";
    ki.headers = "Host\0www";
    ki.headers_len = 8;
    add_keep_info(s, slot, "GET", "/o", 200, 1, &ki, NULL, 0);
    /* An id is cut to RP_KEEP_ID_MAX - 1 bytes. */
    memset(id, 'i', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    ki.id = id;
    ki.headers = NULL;
    add_keep_info(s, slot, "GET", "/o", 200, 1, &ki, NULL, 0);
    {
        const rp_region_t *rg = kept_region(s, slot, NULL);

        assert_kept_ok(rg);
        ck_assert_uint_eq(kept_in(rg, "odd")->n_headers, 0);
        ck_assert_uint_eq(kept_in(rg, "unended")->n_headers, 0);
        ck_assert_uint_eq(strlen(rg->kept[0].id), RP_KEEP_ID_MAX - 1);
    }
}
END_TEST

START_TEST(test_keep_clear)
{
    rp_store_t *s = make_store(1, 256 * KB);
    int slot = rp_store_claim(s, 100, alive_unless_dead);
    const rp_snapshot_t *snap;
    const rp_region_t *rg;
    char id[16];
    int i;

    set_keep(s, 2, 2, 2);
    for (i = 0; i < 8; i++) {
        apr_snprintf(id, sizeof(id), "old%d", i);
        add_keep(s, slot, id, "/c", i % 3 ? 200 : 500, 1000 * (10 - i), NULL,
                 0);
    }
    rg = kept_region(s, slot, NULL);
    ck_assert_uint_ge(rg->n_kept, 4);
    rp_store_clear(s);
    ck_assert_ptr_null(kept_region(s, slot, NULL));
    add_keep(s, slot, "new0", "/c", 200, 1, NULL, 0);
    rg = kept_region(s, slot, NULL);
    ck_assert_ptr_nonnull(rg);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids(rg), "new0");
    ck_assert_uint_eq(rg->kept[0].reasons, RP_KEEP_RECENT | RP_KEEP_SLOW);
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT], 1);
    snap = rp_store_snapshot_ex(s, pool, RP_SNAP_KEPT, "old7");
    ck_assert_ptr_null(rp_snapshot_find(snap, "old7"));
    /* The rules start afresh: /c's slow list is the new requests'. */
    add_keep(s, slot, "new1", "/c", 500, 2, NULL, 0);
    add_keep(s, slot, "new2", "/c", 200, 3, NULL, 0);
    add_keep(s, slot, "new3", "/c", 200, 1, NULL, 0);
    rg = kept_region(s, slot, NULL);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_SLOW), "new2,new1");
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_RECENT), "new3,new2");
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_ERROR), "new1");
    ck_assert_str_eq(kept_ids(rg), "new3,new2,new1");
}
END_TEST

/* The rules are the process's: a child that takes over a region kept
 * under other rules applies its own to what it finds. */
START_TEST(test_keep_policy_change)
{
    rp_store_t *s = make_store(1, 256 * KB);
    const rp_region_t *rg;
    char id[16];
    int i;

    ndead = 0;
    ck_assert_int_eq(rp_store_claim(s, 100, alive_unless_dead), 0);
    set_keep(s, 6, 0, 3);
    for (i = 0; i < 6; i++) {
        apr_snprintf(id, sizeof(id), "p%d", i);
        add_keep(s, 0, id, "/p", i < 3 ? 500 : 200, 1, NULL, 0);
    }
    rg = kept_region(s, 0, NULL);
    ck_assert_str_eq(kept_ids(rg), "p5,p4,p3,p2,p1,p0");
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_ERROR), "p2,p1,p0");

    /* A recycled child, fewer recent, fewer errors. */
    mark_dead(100);
    ck_assert_int_eq(rp_store_claim(s, 101, alive_unless_dead), 0);
    set_keep(s, 2, 0, 1);
    add_keep(s, 0, "p6", "/p", 200, 1, NULL, 0);
    rg = kept_region(s, 0, NULL);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_RECENT), "p6,p5");
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_ERROR), "p2");
    ck_assert_str_eq(kept_ids(rg), "p6,p5,p2");
    add_keep(s, 0, "p7", "/p", 500, 1, NULL, 0);
    rg = kept_region(s, 0, NULL);
    ck_assert_str_eq(kept_ids_for(rg, RP_KEEP_ERROR), "p7");
    ck_assert_str_eq(kept_ids(rg), "p7,p6");

    /* One that keeps no recent requests, slow ones only. */
    mark_dead(101);
    ck_assert_int_eq(rp_store_claim(s, 102, alive_unless_dead), 0);
    set_keep(s, 0, 1, 0);
    add_keep(s, 0, "p8", "/q", 200, 1, NULL, 0);
    rg = kept_region(s, 0, NULL);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids(rg), "p8");
    ck_assert_uint_eq(rg->kept[0].reasons, RP_KEEP_SLOW);

    /* Three slowest of /s, then one: the fastest two go when /s is next
     * written, and a request that is not slower than the one left is not
     * kept. */
    mark_dead(102);
    ck_assert_int_eq(rp_store_claim(s, 103, alive_unless_dead), 0);
    set_keep(s, 0, 3, 0);
    add_keep(s, 0, "s0", "/s", 200, 10, NULL, 0);
    add_keep(s, 0, "s1", "/s", 200, 30, NULL, 0);
    add_keep(s, 0, "s2", "/s", 200, 20, NULL, 0);
    rg = kept_region(s, 0, NULL);
    ck_assert_str_eq(kept_ids(rg), "s2,s1,s0,p8");
    mark_dead(103);
    ck_assert_int_eq(rp_store_claim(s, 104, alive_unless_dead), 0);
    set_keep(s, 0, 1, 0);
    add_keep(s, 0, "s3", "/s", 200, 25, NULL, 0);
    rg = kept_region(s, 0, NULL);
    assert_kept_ok(rg);
    ck_assert_str_eq(kept_ids(rg), "s1,p8");
    add_keep(s, 0, "s4", "/s", 200, 31, NULL, 0);
    rg = kept_region(s, 0, NULL);
    ck_assert_str_eq(kept_ids(rg), "s4,p8");
}
END_TEST

/* With room for all (no KEPT_FULL), every rule holds exactly what it
 * should: RECENT the NREC newest, ERROR the NERR newest failed ones,
 * SLOW NSLOW of each of NURIS URIs, and nothing holds a record for no
 * rule.  NULL or what is wrong. */
static const char *kept_policy_problem(const rp_region_t *rg, int nrec,
                                       int nslow, int nerr, int nuris)
{
    int slow[16], errors = 0, i;
    apr_uint32_t j;

    memset(slow, 0, sizeof(slow));
    for (j = 0; j < rg->n_kept; j++) {
        const rp_kept_t *k = &rg->kept[j];
        int is_err = k->status >= 500;

        if (!(k->reasons & RP_KEEP_RECENT) != !((int)j < nrec)) {
            return "RECENT not the newest";
        }
        if (!(k->reasons & RP_KEEP_ERROR) != !(is_err && errors < nerr)) {
            return "ERROR not the newest failed";
        }
        errors += is_err;
        if (k->reasons & RP_KEEP_SLOW) {
            if (k->uri_index >= rg->n_uris || k->uri_index >= 16) {
                return "SLOW of no URI";
            }
            slow[k->uri_index]++;
        }
    }
    if ((int)rg->n_uris != nuris) {
        return "URIs";
    }
    for (i = 0; i < nuris; i++) {
        if (slow[i] != nslow) {
            return "SLOW per URI";
        }
    }
    return kept_problem(rg);
}

/* Requests for a writer that keeps {4, 2, 2} of 5 URIs: request J of
 * writer C. */
#define KW_URIS 5

static void keep_writer_request(rp_store_t *s, int slot, int c, int j)
{
    static const char *const uris[KW_URIS] = { "/k0", "/k1", "/k2", "/k3",
                                               "/k4" };
    rp_frame_t f[2];
    rp_sample_view_t sm[2];
    char id[32];
    int n = j % 3, i;

    f[0] = fr(RP_STORE_NONE, 0x10 + (apr_uint64_t)(j % 4));
    f[1] = fr(RP_STORE_NONE, 0x1);
    for (i = 0; i < n; i++) {
        sm[i].frames = f;
        sm[i].offcpu = 0;
        sm[i].depth = 2;
        sm[i].truncated = 0;
        sm[i].weight_ns = 1000;
        sm[i].end_us = (apr_uint64_t)(i + 1) * 1000;
    }
    apr_snprintf(id, sizeof(id), "w%d-%d", c, j);
    add_keep(s, slot, id, uris[j % KW_URIS], j % 7 == 3 ? 503 : 200,
             1000 + (apr_int64_t)((unsigned)(j * 2654435761u) % 100000), sm,
             n);
}

/* A writer that died inside a write section, with kept requests: the
 * next owner keeps the region when it is consistent, kept lists and all,
 * else resets it; either way the rules hold on from there. */
START_TEST(test_keep_dead_writer)
{
    rp_store_t *s = make_store(2, MB);
    const rp_snapshot_info_t *info;
    const rp_region_t *rg;
    const char *before;
    int j;

    ndead = 0;
    ck_assert_int_eq(rp_store_claim(s, 201, alive_unless_dead), 0);
    set_keep(s, 4, 2, 2);
    ck_assert_uint_ge(rp_store_kept_capacity(s), 4 + 2 * KW_URIS + 2);
    for (j = 0; j < 40; j++) {
        keep_writer_request(s, 0, 0, j);
    }
    rg = kept_region(s, 0, NULL);
    ck_assert_msg(!kept_policy_problem(rg, 4, 2, 2, KW_URIS), "%s",
                  kept_policy_problem(rg, 4, 2, 2, KW_URIS));
    before = kept_ids(rg);

    /* Died before changing anything: repaired, kept requests and all. */
    rp_store_test_break(s, 0, 0);
    mark_dead(201);
    ck_assert_int_eq(rp_store_claim(s, 202, alive_unless_dead), 0);
    info = rp_snapshot_info(rp_store_snapshot(s, pool));
    ck_assert_uint_eq(info->regions_repaired, 1);
    rg = kept_region(s, 0, NULL);
    assert_consistent(rg);
    ck_assert_str_eq(kept_ids(rg), before);
    for (j = 40; j < 80; j++) {
        keep_writer_request(s, 0, 0, j);
    }
    rg = kept_region(s, 0, NULL);
    ck_assert_msg(!kept_policy_problem(rg, 4, 2, 2, KW_URIS), "%s",
                  kept_policy_problem(rg, 4, 2, 2, KW_URIS));

    /* Died with a request half stored: reset, no kept request left. */
    rp_store_test_break(s, 0, 1);
    mark_dead(202);
    ck_assert_int_eq(rp_store_claim(s, 203, alive_unless_dead), 0);
    info = rp_snapshot_info(rp_store_snapshot(s, pool));
    ck_assert_uint_eq(info->regions_reset, 1);
    rg = kept_region(s, 0, NULL);
    ck_assert_uint_eq(rg->n_kept, 0);
    for (j = 0; j < 40; j++) {
        keep_writer_request(s, 0, 1, j);
    }
    rg = kept_region(s, 0, NULL);
    assert_consistent(rg);
    ck_assert_msg(!kept_policy_problem(rg, 4, 2, 2, KW_URIS), "%s",
                  kept_policy_problem(rg, 4, 2, 2, KW_URIS));
    ck_assert_uint_eq(rg->counters[RP_CTR_KEPT_FULL], 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Processes */

#define FORK_WRITERS    4
#define FORK_REQUESTS   1000
#define FORK_URIS       3
#define FORK_STACKS     5

static const char *const fork_uris[FORK_URIS] = { "/f/0", "/f/1", "/f/2" };
static const char *const fork_objs[2] = { "/lib/even.so", "/usr/sbin/odd" };

static int fork_depth(int k)
{
    return 8 + 3 * k;
}

/* Stack K, innermost first, with OBJ[] mapping the two object paths to
 * the indices of one region.  Stacks share their outer frames. */
static void fork_stack(int k, const apr_uint32_t *obj, rp_frame_t *out)
{
    int depth = fork_depth(k), q;

    for (q = 0; q < depth; q++) {
        out[depth - 1 - q] = fr(obj[q % 2], q == depth - 1
                                            ? 0x9000 + (apr_uint64_t)k
                                            : 0x1000 + (apr_uint64_t)q * 16);
    }
}

/* Each writer claims its slot, says so on READY, and starts writing when
 * GO reaches end of file: all claim before any exits, so each gets a slot
 * of its own (a writer that exited early would otherwise hand its slot,
 * data and all, to a late one, as a recycled child does). */
static void fork_writer(rp_store_t *s, int c, int ready, int go)
{
    rp_frame_t stacks[FORK_STACKS][32];
    rp_sample_view_t sm[4];
    rp_request_info_t req;
    rp_drop_counts_t drops;
    apr_uint32_t obj[2];
    int slot = rp_store_claim(s, (apr_int32_t)getpid(), alive_kill);
    int j, i, k;
    char byte = 'c';

    if (slot < 0 || write(ready, &byte, 1) != 1) {
        _exit(2);
    }
    while (read(go, &byte, 1) > 0) {
        ;
    }
    /* Register the objects in a different order per child, so that
     * indices differ between regions. */
    obj[c % 2] = rp_store_object(s, slot, fork_objs[c % 2], "id");
    obj[1 - c % 2] = rp_store_object(s, slot, fork_objs[1 - c % 2], "id");
    for (k = 0; k < FORK_STACKS; k++) {
        fork_stack(k, obj, stacks[k]);
    }
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.status = 200;
    for (j = 0; j < FORK_REQUESTS; j++) {
        int n = j % 4 + 1;

        for (i = 0; i < n; i++) {
            k = (j + i) % FORK_STACKS;
            sm[i].frames = stacks[k];
            sm[i].offcpu = 0;
            sm[i].depth = fork_depth(k);
            sm[i].truncated = 0;
            sm[i].weight_ns = 1000;
        }
        req.time = apr_time_from_sec(1) + j;
        req.uri = fork_uris[j % FORK_URIS];
        req.wall_us = 10;
        req.cpu_us = 5;
        memset(&drops, 0, sizeof(drops));
        drops.ticks = (apr_uint64_t)n + (j % 7 == 0);
        drops.buffer_full = j % 7 == 0;
        rp_store_add_request(s, slot, &req, sm, n, &drops);
        if (j % 8 == 0) {
            apr_thread_yield();     /* spread the writes over time */
        }
    }
    _exit(0);
}

START_TEST(test_fork_writers)
{
    apr_size_t size = rp_store_segment_size(FORK_WRITERS, 256 * KB);
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    apr_uint64_t expect[FORK_URIS][FORK_STACKS], got[FORK_URIS][FORK_STACKS];
    apr_uint64_t last_req[FORK_WRITERS], requests = 0, samples = 0;
    apr_uint64_t ticks = 0, buffer_full = 0, exp_samples = 0, exp_bf = 0;
    pid_t pids[FORK_WRITERS];
    int ready[2], go[2];
    char byte;
    int c, j, i, k, u, running, status, snaps = 0, busy = 0, retries = 0;
    int with_data = 0;
    rp_frame_t stack[32];
    rp_snapshot_t *snap;
    const rp_snapshot_info_t *info;
    const rp_region_t *rg;
    apr_pool_t *sp;
    rp_store_t *s;

    ck_assert_ptr_ne(base, MAP_FAILED);
    ck_assert_int_eq(rp_store_format(base, size, FORK_WRITERS, 256 * KB),
                     APR_SUCCESS);
    s = rp_store_attach(pool, base, size);
    memset(last_req, 0, sizeof(last_req));

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    for (c = 0; c < FORK_WRITERS; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            close(go[1]);
            fork_writer(s, c, ready[1], go[0]);
        }
    }
    close(go[0]);
    for (c = 0; c < FORK_WRITERS; c++) {
        ck_assert_int_eq(read(ready[0], &byte, 1), 1);
    }
    close(go[1]);                   /* go */
    apr_pool_create(&sp, pool);
    for (running = FORK_WRITERS; running > 0;) {
        apr_pool_clear(sp);
        snap = rp_store_snapshot(s, sp);
        snaps++;
        busy += rp_snapshot_info(snap)->busy;
        retries += (int)rp_snapshot_info(snap)->retries;
        ck_assert_int_eq(rp_snapshot_info(snap)->invalid, 0);
        for (i = 0; i < rp_snapshot_nregions(snap); i++) {
            rg = rp_snapshot_region(snap, i);
            assert_consistent(rg);
            /* Copies only move forward. */
            ck_assert_uint_ge(rg->counters[RP_CTR_REQUESTS],
                              last_req[rg->slot]);
            last_req[rg->slot] = rg->counters[RP_CTR_REQUESTS];
            with_data += rg->counters[RP_CTR_REQUESTS] > 0
                         && rg->counters[RP_CTR_REQUESTS] < FORK_REQUESTS;
        }
        for (c = 0; c < FORK_WRITERS; c++) {
            if (pids[c] > 0 && waitpid(pids[c], &status, WNOHANG) == pids[c]) {
                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                              "writer %d failed (status %d)", c, status);
                pids[c] = 0;
                running--;
            }
        }
    }

    /* What the writers stored, computed the same way. */
    memset(expect, 0, sizeof(expect));
    for (c = 0; c < FORK_WRITERS; c++) {
        for (j = 0; j < FORK_REQUESTS; j++) {
            for (i = 0; i < j % 4 + 1; i++) {
                expect[j % FORK_URIS][(j + i) % FORK_STACKS]++;
                exp_samples++;
            }
            exp_bf += j % 7 == 0;
        }
    }

    /* Merge over regions, mapping objects by path in each region. */
    snap = rp_store_snapshot(s, pool);
    info = rp_snapshot_info(snap);
    ck_assert_msg(rp_snapshot_nregions(snap) == FORK_WRITERS,
                  "%d regions: %d stale, %d busy, %d invalid",
                  rp_snapshot_nregions(snap), info->stale, info->busy,
                  info->invalid);
    memset(got, 0, sizeof(got));
    for (i = 0; i < rp_snapshot_nregions(snap); i++) {
        apr_uint32_t obj[2], o, n;

        rg = rp_snapshot_region(snap, i);
        assert_consistent(rg);
        ck_assert_uint_eq(rg->n_objects, 2);
        for (o = 0; o < 2; o++) {
            obj[o] = strcmp(rg->objects[0].path, fork_objs[o]) == 0 ? 0 : 1;
            ck_assert_str_eq(rg->objects[obj[o]].path, fork_objs[o]);
        }
        for (u = 0; u < FORK_URIS; u++) {
            for (k = 0; k < FORK_STACKS; k++) {
                fork_stack(k, obj, stack);
                n = find_stack(rg, fork_uris[u], stack, fork_depth(k));
                ck_assert_uint_ne(n, RP_STORE_NONE);
                got[u][k] += rg->nodes[n].self_count;
            }
        }
        requests += rg->counters[RP_CTR_REQUESTS];
        samples += rg->counters[RP_CTR_SAMPLES];
        ticks += rg->counters[RP_CTR_TICKS];
        buffer_full += rg->counters[RP_CTR_BUFFER_FULL];
        ck_assert_uint_eq(rg->counters[RP_CTR_TABLE_FULL], 0);
    }
    ck_assert_uint_eq(requests, FORK_WRITERS * FORK_REQUESTS);
    ck_assert_uint_eq(samples, exp_samples);
    ck_assert_uint_eq(buffer_full, exp_bf);
    ck_assert_uint_eq(ticks, samples + buffer_full);
    ck_assert_mem_eq(got, expect, sizeof(got));
    printf("fork: %d writers x %d requests, %d snapshots during the writes "
           "(%d saw partial data), %d copies retried, %d regions skipped "
           "busy\n", FORK_WRITERS, FORK_REQUESTS, snaps, with_data, retries,
           busy);
    ck_assert_int_eq(munmap(base, size), 0);
}
END_TEST

/* A thread writes without pause while another clears and copies: every
 * copy is consistent, and a clear hides everything written before it.
 * stop and written cross threads: atomics. */
typedef struct {
    rp_store_t *s;
    int slot;
    int stop;
    int written;
} clear_writer_t;

static void *clear_writer(void *arg)
{
    clear_writer_t *cw = arg;
    rp_frame_t f[3];
    int i;

    f[0] = fr(RP_STORE_NONE, 3);
    f[1] = fr(RP_STORE_NONE, 2);
    f[2] = fr(RP_STORE_NONE, 1);
    for (i = 0; !__atomic_load_n(&cw->stop, __ATOMIC_ACQUIRE); i++) {
        f[0].rel = 3 + (apr_uint64_t)(i % 50);
        add(cw->s, cw->slot, i % 2 ? "/c/odd" : "/c/even", f, 3, i % 5 == 0,
            i % 3 + 1);
        __atomic_store_n(&cw->written, i + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

START_TEST(test_clear_while_writing)
{
    rp_store_t *s = make_store(2, 64 * KB);
    clear_writer_t cw;
    pthread_t tid;
    rp_snapshot_t *snap;
    apr_pool_t *sp;
    int i, j, seen = 0, busy = 0;
    struct timespec t0, t1;

    cw.s = s;
    cw.slot = rp_store_claim(s, 600, alive_unless_dead);
    cw.stop = 0;
    cw.written = 0;
    ck_assert_int_eq(pthread_create(&tid, NULL, clear_writer, &cw), 0);
    apr_pool_create(&sp, pool);
    while (__atomic_load_n(&cw.written, __ATOMIC_ACQUIRE) == 0) {
        apr_thread_yield();
    }
    /* At least 2000 copies and 5000 requests, at most 10 s. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < 2000 || __atomic_load_n(&cw.written, __ATOMIC_ACQUIRE)
                            < 5000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (elapsed_ms(&t0, &t1) > 10000) {
            break;
        }
        apr_pool_clear(sp);
        if (i % 10 == 0) {
            rp_store_clear(s);
        }
        snap = rp_store_snapshot(s, sp);
        ck_assert_int_eq(rp_snapshot_info(snap)->invalid, 0);
        busy += rp_snapshot_info(snap)->busy;
        for (j = 0; j < rp_snapshot_nregions(snap); j++) {
            assert_consistent(rp_snapshot_region(snap, j));
            seen++;
        }
    }
    /* With no more clears, the writer's data shows again. */
    for (j = 0; j < 10000; j++) {
        apr_pool_clear(sp);
        snap = rp_store_snapshot(s, sp);
        if (rp_snapshot_nregions(snap) == 1) {
            assert_consistent(rp_snapshot_region(snap, 0));
            break;
        }
        apr_sleep(1000);
    }
    ck_assert_int_eq(rp_snapshot_nregions(snap), 1);
    __atomic_store_n(&cw.stop, 1, __ATOMIC_RELEASE);
    ck_assert_int_eq(pthread_join(tid, NULL), 0);
    rp_store_clear(s);
    ck_assert_int_eq(rp_snapshot_nregions(rp_store_snapshot(s, pool)), 0);
    printf("clear: %d requests written during %d copies and %d clears, "
           "%d regions copied, %d skipped busy\n", cw.written, i,
           (i + 9) / 10, seen, busy);
}
END_TEST

/* A fork()ed writer keeps requests without pause and is killed at a
 * random moment, often inside a write section; the next owner repairs or
 * resets its region, and then the rules hold exactly.  A record that
 * the dead writer left half taken (held for a rule whose list does not
 * have it, or free but on no free list) would break them. */
START_TEST(test_keep_writer_killed)
{
    apr_size_t size = rp_store_segment_size(1, MB);
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    apr_int32_t me = (apr_int32_t)getpid();
    int iter, j, ready[2], status;
    const rp_snapshot_info_t *info;
    const rp_region_t *rg;
    unsigned seed = 12345;
    rp_store_t *s;
    pid_t pid;
    char byte;

    ck_assert_ptr_ne(base, MAP_FAILED);
    ck_assert_int_eq(rp_store_format(base, size, 1, MB), APR_SUCCESS);
    s = rp_store_attach(pool, base, size);
    set_keep(s, 4, 2, 2);
    for (iter = 0; iter < 150; iter++) {
        ck_assert_int_eq(pipe(ready), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int slot = rp_store_claim(s, (apr_int32_t)getpid(), alive_kill);

            byte = 'r';
            if (slot != 0 || write(ready[1], &byte, 1) != 1) {
                _exit(2);
            }
            for (j = 0;; j++) {
                keep_writer_request(s, 0, iter, j);
            }
        }
        close(ready[1]);
        ck_assert_int_eq(read(ready[0], &byte, 1), 1);
        close(ready[0]);
        usleep(200 + rand_r(&seed) % 3000);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status));

        /* Readers skip or read it; none finds it invalid.  Now and then
         * only: a region left mid-write costs a reader its whole budget
         * (200 ms) before it is skipped. */
        if (iter % 25 == 0) {
            info = rp_snapshot_info(
                rp_store_snapshot_ex(s, pool, RP_SNAP_KEPT, NULL));
            ck_assert_int_eq(info->invalid, 0);
        }
        ck_assert_int_eq(rp_store_claim(s, me, alive_kill), 0);
        for (j = 0; j < 40; j++) {
            keep_writer_request(s, 0, 1000 + iter, j);
        }
        rg = kept_region(s, 0, NULL);
        ck_assert_ptr_nonnull(rg);
        assert_consistent(rg);
        ck_assert_msg(!kept_policy_problem(rg, 4, 2, 2, KW_URIS),
                      "iteration %d: %s", iter,
                      kept_policy_problem(rg, 4, 2, 2, KW_URIS));
        rp_store_release(s, 0, me);
    }
    info = rp_snapshot_info(rp_store_snapshot(s, pool));
    printf("keep, writer killed: %d times, %u regions repaired, %u reset\n",
           iter, info->regions_repaired, info->regions_reset);
    ck_assert_int_eq(munmap(base, size), 0);
}
END_TEST

/* A thread keeps requests without pause while another copies them, the
 * spans of one too: every copy is consistent. */
typedef struct {
    rp_store_t *s;
    int stop;
    int written;
} keep_thread_t;

static void *keep_thread(void *arg)
{
    keep_thread_t *kt = arg;
    int j;

    for (j = 0; !__atomic_load_n(&kt->stop, __ATOMIC_ACQUIRE); j++) {
        keep_writer_request(kt->s, 0, 0, j);
        __atomic_store_n(&kt->written, j + 1, __ATOMIC_RELEASE);
        if (j % 8 == 0) {
            /* Let copies through now and then, and keep the writer from
             * outrunning a slow (TSan) reader by more than the 4 recent
             * requests it asks about. */
            apr_sleep(50);
        }
    }
    return NULL;
}

START_TEST(test_keep_read_while_writing)
{
    rp_store_t *s = make_store(1, MB);
    keep_thread_t kt;
    pthread_t tid;
    rp_snapshot_t *snap;
    const rp_region_t *rg;
    apr_pool_t *sp;
    char id[32];
    int i, found = 0, busy = 0, written;
    struct timespec t0, t1;

    kt.s = s;
    kt.stop = 0;
    kt.written = 0;
    ck_assert_int_eq(rp_store_claim(s, 700, NULL), 0);
    set_keep(s, 4, 2, 2);
    ck_assert_int_eq(pthread_create(&tid, NULL, keep_thread, &kt), 0);
    apr_pool_create(&sp, pool);
    /* 3000 copies, or as many as 5 s allow (a copy of a region written
     * all the time may wait out its whole budget). */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < 3000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (elapsed_ms(&t0, &t1) > 5000) {
            break;
        }
        apr_pool_clear(sp);
        written = __atomic_load_n(&kt.written, __ATOMIC_ACQUIRE);
        /* One of the newest: usually still kept. */
        apr_snprintf(id, sizeof(id), "w0-%d", written > 0 ? written - 1 : 0);
        snap = rp_store_snapshot_ex(s, sp, RP_SNAP_KEPT, id);
        ck_assert_int_eq(rp_snapshot_info(snap)->invalid, 0);
        busy += rp_snapshot_info(snap)->busy;
        rg = region_of(snap, 0);
        if (!rg) {
            continue;
        }
        assert_consistent(rg);
        assert_kept_ok(rg);
        if (rp_snapshot_find(snap, id)) {
            rp_snapshot_t *one = rp_snapshot_request(sp, snap, id);

            ck_assert_ptr_nonnull(one);
            assert_consistent(rp_snapshot_region(one, 0));
            assert_kept_ok(rp_snapshot_region(one, 0));
            found++;
        }
    }
    __atomic_store_n(&kt.stop, 1, __ATOMIC_RELEASE);
    ck_assert_int_eq(pthread_join(tid, NULL), 0);
    rg = kept_region(s, 0, NULL);
    ck_assert_msg(!kept_policy_problem(rg, 4, 2, 2, KW_URIS), "%s",
                  kept_policy_problem(rg, 4, 2, 2, KW_URIS));
    ck_assert_int_gt(found, 0);
    printf("keep: %d requests kept during %d copies, %d with the request "
           "asked for, %d regions skipped busy\n",
           kt.written, i, found, busy);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cost */

/* A deterministic pseudo-random sequence. */
static apr_uint64_t rnd_state = 88172645463325252ULL;

static apr_uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* NSTACKS stacks of DEPTH frames, innermost first, over three objects of
 * slot 0 (indices 0..2).  The frame at level Q (from the outermost) of
 * stack ID is ID modulo 1 + Q * Q / 4, so that outer frames are shared by
 * many stacks and inner ones by few, as in real profiles.  ID is drawn
 * from 0..SPREAD-1. */
static rp_frame_t *make_stacks(int nstacks, int depth, apr_uint64_t spread)
{
    rp_frame_t *st = apr_palloc(pool, (apr_size_t)nstacks * depth
                                      * sizeof(*st));
    int i, q;

    for (i = 0; i < nstacks; i++) {
        apr_uint64_t id = spread > (apr_uint64_t)nstacks ? rnd() % spread
                                                         : (apr_uint64_t)i;

        for (q = 0; q < depth; q++) {
            apr_uint64_t m = 1 + (apr_uint64_t)q * (apr_uint64_t)q / 4;

            st[i * depth + depth - 1 - q] = fr((apr_uint32_t)(q % 3),
                                               ((apr_uint64_t)q << 32)
                                               | (id % m));
        }
    }
    return st;
}

/* Store NREQ requests of NS samples into SLOT, each sample one of the
 * NSTACKS stacks at random, on one of NURIS URIs.  Returns the samples. */
static apr_uint64_t fill(rp_store_t *s, int slot, int nreq, int ns,
                         const rp_frame_t *stacks, int nstacks, int depth,
                         int nuris)
{
    rp_sample_view_t sm[8];
    rp_request_info_t req;
    char uris[64][16];
    int r, i;

    ck_assert_int_le(ns, 8);
    ck_assert_int_le(nuris, 64);
    ck_assert_uint_eq(rp_store_object(s, slot, "/usr/sbin/apache2", "1"), 0);
    ck_assert_uint_eq(rp_store_object(s, slot, "/usr/lib/libapr-1.so.0", "2"),
                      1);
    ck_assert_uint_eq(rp_store_object(s, slot, "/usr/lib/libc.so.6", "3"), 2);
    for (i = 0; i < nuris; i++) {
        apr_snprintf(uris[i], sizeof(uris[i]), "/app/%d", i);
    }
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    for (r = 0; r < nreq; r++) {
        for (i = 0; i < ns; i++) {
            sm[i].frames = stacks + (rnd() % (apr_uint64_t)nstacks) * depth;
            sm[i].offcpu = 0;
            sm[i].depth = depth;
            sm[i].truncated = 0;
            sm[i].weight_ns = 4000000;
        }
        req.uri = uris[rnd() % (apr_uint64_t)nuris];
        req.time = r;
        rp_store_add_request(s, slot, &req, sm, ns, NULL);
    }
    return (apr_uint64_t)nreq * ns;
}

START_TEST(test_cost_add_request)
{
    rp_store_t *s = make_store(1, 16 * MB);
    int slot = rp_store_claim(s, 400, alive_unless_dead);
    rp_frame_t *stacks = make_stacks(300, 40, 300);
    struct timespec t0, t1;
    apr_uint64_t n;
    const rp_region_t *rg;
    double ms;

    /* Warm: the stacks exist; then measure, as in steady state: depth 40,
     * 300 distinct stacks at random (the worst order: consecutive samples
     * share only their outer frames), 10 URIs.  They take about 104,000
     * nodes: more than an 8M region holds now that kept requests take a
     * fifth of it (84,692), and this measures cost, not capacity. */
    fill(s, slot, 2000, 5, stacks, 300, 40, 10);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = fill(s, slot, 10000, 5, stacks, 300, 40, 10);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = elapsed_ms(&t0, &t1);
    rg = region_of(rp_store_snapshot(s, pool), slot);
    assert_consistent(rg);
    ck_assert_uint_eq(rg->counters[RP_CTR_TABLE_FULL], 0);
    printf("add_request: %.0f ns per sample of depth 40, stacks drawn at "
           "random from 300 (%.2f us per request of 5), %u nodes\n",
           ms * 1e6 / (double)n, ms * 1e3 / 10000, rg->n_nodes);
    /* Generous: catches an O(n) scan, not a slow machine. */
    ck_assert_msg(ms * 1e6 / (double)n < 100000, "%.0f ns per sample",
                  ms * 1e6 / (double)n);

    /* A busy loop: every sample of a request has the same stack. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = fill(s, slot, 10000, 5, stacks, 1, 40, 10);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = elapsed_ms(&t0, &t1);
    printf("add_request: %.0f ns per sample of depth 40, one stack "
           "(%.2f us per request of 5)\n",
           ms * 1e6 / (double)n, ms * 1e3 / 10000);
    rg = region_of(rp_store_snapshot(s, pool), slot);
    assert_consistent(rg);
    ck_assert_uint_eq(rg->counters[RP_CTR_SAMPLES], 2000 * 5 + 2 * n);
}
END_TEST

START_TEST(test_cost_snapshot)
{
    rp_store_t *s = make_store(16, 1 * MB);
    rp_frame_t *stacks = make_stacks(8192, 24, APR_UINT64_C(1) << 40);
    struct timespec t0, t1;
    double ms, best = 1e9;
    apr_uint64_t nodes = 0, full = 0;
    const rp_snapshot_t *snap = NULL;
    apr_pool_t *sp;
    int i;

    ndead = 0;
    for (i = 0; i < 16; i++) {
        ck_assert_int_eq(rp_store_claim(s, 500 + i, alive_unless_dead), i);
        /* Many distinct deep stacks: the node table fills. */
        fill(s, i, 1500, 4, stacks, 8192, 24, 60);
    }
    apr_pool_create(&sp, pool);
    for (i = 0; i < 5; i++) {
        apr_pool_clear(sp);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        snap = rp_store_snapshot(s, sp);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = elapsed_ms(&t0, &t1);
        best = ms < best ? ms : best;
    }
    ck_assert_int_eq(rp_snapshot_nregions(snap), 16);
    for (i = 0; i < 16; i++) {
        const rp_region_t *rg = rp_snapshot_region(snap, i);

        assert_consistent(rg);
        nodes += rg->n_nodes;
        full += rg->counters[RP_CTR_TABLE_FULL];
        ck_assert_uint_gt(rg->n_nodes, rg->cap_nodes - 32);
    }
    ck_assert_uint_gt(full, 0);
    printf("snapshot: 16 regions of 1 MB, %lu nodes: %.2f ms (best of 5)\n",
           (unsigned long)nodes, best);
    ck_assert_msg(best < 2000, "snapshot took %.1f ms", best);
}
END_TEST

/* ------------------------------------------------------------------ */

/* Not under ThreadSanitizer (apxs.mk's check_store_tsan defines
 * UNIT_TSAN): the cost tests run on one thread, where TSan has nothing to
 * check, and their bounds would time its instrumentation (five to ten
 * times slower), not the store. */
#ifdef UNIT_TSAN
#define COST_TESTS          0
#else
#define COST_TESTS          1
#endif

static Suite *store_suite(void)
{
    Suite *s = suite_create("rp_store");
    TCase *tc = tcase_create("semantics");
    TCase *tc_proc = tcase_create("processes");
    TCase *tc_cost = tcase_create("cost");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_format_attach);
    tcase_add_test(tc, test_settings);
    tcase_add_test(tc, test_tree);
    tcase_add_test(tc, test_drops_and_odd_frames);
    tcase_add_test(tc, test_dedup);
    tcase_add_test(tc, test_ring);
    tcase_add_test(tc, test_clear);
    tcase_add_test(tc, test_capacity_nodes);
    tcase_add_test(tc, test_capacity_uris);
    tcase_add_test(tc, test_capacity_objects);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_uri_labels);
    tcase_add_test(tc, test_claim);
    tcase_add_test(tc, test_dead_writer);
    tcase_add_test(tc, test_reader_read_only);
    tcase_add_test(tc, test_keep_recent);
    tcase_add_test(tc, test_keep_slowest);
    tcase_add_test(tc, test_keep_errors);
    tcase_add_test(tc, test_keep_full);
    tcase_add_test(tc, test_keep_many_uris);
    tcase_add_test(tc, test_keep_spans_offcpu);
    tcase_add_test(tc, test_keep_spans);
    tcase_add_test(tc, test_keep_request_snapshot);
    tcase_add_test(tc, test_keep_strings_cut);
    tcase_add_test(tc, test_keep_clear);
    tcase_add_test(tc, test_keep_policy_change);
    tcase_add_test(tc, test_keep_dead_writer);
    tcase_add_test(tc, test_broken_reported);
    tcase_add_test_raise_signal(tc, test_broken_asserts, SIGABRT);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tc_proc, setup, teardown);
    tcase_set_timeout(tc_proc, 120);
    tcase_add_test(tc_proc, test_fork_writers);
    tcase_add_test(tc_proc, test_clear_while_writing);
    tcase_add_test(tc_proc, test_keep_writer_killed);
    tcase_add_test(tc_proc, test_keep_read_while_writing);
    suite_add_tcase(s, tc_proc);

    tcase_add_checked_fixture(tc_cost, setup, teardown);
    tcase_set_timeout(tc_cost, 120);
    if (COST_TESTS) {
        tcase_add_test(tc_cost, test_cost_add_request);
        tcase_add_test(tc_cost, test_cost_snapshot);
    }
    suite_add_tcase(s, tc_cost);
    return s;
}

UNIT_MAIN(store_suite)
