/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_store: the shared segment of profile data (see rp_store.h).
 *
 * This file owns the segment's layout and every byte in it: formatting,
 * the per-slot regions and their tables, the writer's drain of a finished
 * request, the seqlock that lets readers copy a region without stopping
 * its writer, clearing by generation, claiming and repairing slots, and
 * the checks a copy passes before the page may trust it.  It is modelled
 * on httpd's mod_socache_shmcb: one fixed-size segment, offsets and
 * indices instead of pointers, small macros to find things.
 *
 * Segment (SIZE = header + N * R bytes; the caller maps it anywhere):
 *
 *   +------------------------------+  0
 *   | rp_seg_hdr_t                 |  magic, version, N, R, structure
 *   |                              |  sizes, creation time; atomics:
 *   |                              |  generation, settings word, counters
 *   +------------------------------+  RP_SEG_HDR_SIZE (4096)
 *   | region 0                     |  R bytes, written by slot 0's owner
 *   +------------------------------+  RP_SEG_HDR_SIZE + R
 *   | region 1                     |
 *   +------------------------------+
 *   :  ...                         :
 *   +------------------------------+  RP_SEG_HDR_SIZE + N * R
 *
 * Region (offsets fixed by R alone, see geometry(); each table starts on
 * a 64-byte boundary):
 *
 *   +------------------------------+  0
 *   | rp_region_hdr_t              |  seq (seqlock), owner pid,
 *   |                              |  generation, used counts, counters
 *   +------------------------------+  off_nodes
 *   | nodes[cap_nodes]             |  call tree, 48 bytes each; node 0
 *   |                              |  is the root; used prefix n_nodes
 *   +------------------------------+  off_nhash
 *   | nhash[2 * cap_nodes]         |  open addressing: (parent, frame)
 *   |                              |  -> node index, 0 = empty
 *   +------------------------------+  off_uris
 *   | uris[cap_uris]               |  per (URI, label) totals, 80 bytes
 *   +------------------------------+  off_uhash
 *   | uhash[2 * cap_uris]          |  (URI, label) -> index + 1, 0 = empty
 *   +------------------------------+  off_ustr
 *   | URI strings                  |  append-only, "uri\0" or
 *   |                              |  "uri\0label\0"
 *   +------------------------------+  off_ring
 *   | ring[cap_ring]               |  recent requests, 128 bytes each,
 *   |                              |  entry ring_head % cap_ring next
 *   +------------------------------+  off_objs
 *   | objs[cap_objs]               |  {path, build-id}, 16 bytes each
 *   +------------------------------+  off_ostr
 *   | object strings               |  append-only, NUL-terminated
 *   +------------------------------+  off_kept
 *   | kept[cap_kept]               |  kept requests, 6,784 bytes each:
 *   |                              |  metadata, strings, headers, spans
 *   +------------------------------+  off_kring
 *   | kring[cap_kept]              |  {record, seq} by seq % cap_kept:
 *   |                              |  which record holds each recent one
 *   +------------------------------+  off_kerr
 *   | kerr[cap_kept]               |  the same, of the kept errors
 *   +------------------------------+  <= R
 *
 * The split: the object area is min(R / 8, 128K) (about 1,000 objects at
 * most: a process maps a few hundred at most, and only objects that
 * appear in samples are registered); kept requests take R / 5 (an 8M
 * region keeps 246 requests, a 64K one 1); of the rest, the ring takes 10%
 * (16..4096 entries, the remainder going to nodes), the URI table 12%,
 * URI strings 8%, and the nodes with their hash the remaining ~70%.  A
 * 64K region holds 621 nodes, 57 URIs, 64 objects and 38 recent requests;
 * 1M: 8,908 nodes, 822 URIs, 30 kept requests; 8M: 84,692 nodes, 7,596
 * URIs, 1,024 objects and 4,096 recent requests; 1G: 12.3 million
 * nodes.
 *
 * Why the tree holds self counts only: a sample touches one counter (its
 * leaf) instead of one per frame, and a writer that dies cannot leave
 * totals that disagree with the selfs.  The snapshot computes the totals
 * in one backward pass, since a parent always precedes its children.
 *
 * Why [table full] nodes are reserved: a sample is never thrown away for
 * lack of room.  The region keeps back one node per URI (and one for the
 * root) until that URI's [table full] node exists, so there is always a
 * place to put it: n_nodes + reserve <= cap_nodes at every moment.
 *
 * Kept requests (rp_store.h).  A record is free (reasons 0; on a free
 * list, or past the high-water mark kept_hw, so that a reset touches no
 * record), or held by one or more rules.  RECENT: the record of seq S
 * gives way when request S + RECENT is kept, found through kring; the
 * mark recent_lo says where the last such sweep ended, so that a process
 * with a smaller RECENT than the one before it sweeps from there (one
 * step per request otherwise).  ERRORS: the same through kerr, counted by
 * err_count, from err_lo.  SLOWEST: each URI
 * entry heads a list of its kept-slow records and caches the wall time of
 * their fastest (the floor), so a request that is not slower than the
 * floor costs one comparison; one that is walks the URI's list (SLOWEST
 * records) to find the floor again.  A ring entry is trusted only while
 * its record still carries that seq.  A writer that dies halfway through
 * these steps can leave a record that no rule will ever let go; the
 * region is then not consistent (kept_check) and is reset.
 *
 * Writers and readers.  Only the slot's owner writes its region (its
 * threads serialise on the caller's mutex); a write section makes seq odd,
 * changes the region, and makes it even again.  A reader copies a region
 * between two reads of an equal, even seq, copying the used prefix of each
 * table (the hashes are not needed to read), then checks the copy's
 * structure, and retries a bounded number of times.  Readers never store
 * into the segment.  Claims, the generation and the settings change with
 * atomic compare-and-swap or add, from any process.
 */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "rp_atomic.h"
#include "rp_store.h"

/* ------------------------------------------------------------------ */
/* Constants */

#define RP_STORE_MAGIC      0x52505354u     /* "RPST" */
#define RP_STORE_VERSION    3u              /* of everything below */

/* Bytes before region 0: a page, so that regions of a page-multiple size
 * start on page boundaries. */
#define RP_SEG_HDR_SIZE     4096

#define RP_OBJ_AREA_MAX     ((apr_size_t)512 * 1024)
#define RP_OBJ_LANG_MASK    0xFu            /* rp_sobj_t.tag's language */
#define RP_OBJ_STR_AVG      112             /* bytes of strings per object */
#define RP_RING_MIN         16
#define RP_RING_MAX         4096

/* Reader's patience with one region: tries, of which the first are
 * separated by a yield and the rest by a short sleep, within a time
 * budget.  A write section lasts microseconds (a long request's drain a
 * few milliseconds), so a region that stays busy this long is either
 * being written non-stop or was left mid-write by a dead child. */
#define RP_SNAP_TRIES       1000
#define RP_SNAP_YIELDS      100
#define RP_SNAP_SLEEP       50              /* microseconds */
#define RP_SNAP_BUDGET      apr_time_from_msec(200)

#define RP_ALIGN64(n)       (((n) + 63) & ~(apr_size_t)63)

/* Memory ordering around the seqlock (atomics: see rp_atomic.h).  seq's
 * updates are full barriers, but a reader also needs its plain loads of
 * the data kept before its second load of seq, which only a fence says.
 * The compiler barrier orders the writer's own stores against its death
 * (see add_request). */
#define RP_FENCE_ACQUIRE()  __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define RP_FENCE_RELEASE()  __atomic_thread_fence(__ATOMIC_RELEASE)
#define RP_COMPILER_BARRIER() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* ------------------------------------------------------------------ */
/* Structures in the segment (all naturally aligned, no pointers) */
/* The layout by hand: fields and their comments in columns. */
/* clang-format off */

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t version;
    apr_uint32_t nslots;
    apr_uint32_t header_size;       /* bytes before region 0 */
    apr_uint64_t region_size;
    apr_uint32_t layout[8];         /* sizes of the structures, checked at
                                     * attach: a build with another layout
                                     * must not read this segment */
    apr_int64_t created;            /* apr_time_t */
    /* Changed at run time, atomically, by any process. */
    apr_uint32_t generation;        /* bump = clear; never 0 */
    apr_uint32_t no_slot;           /* claims that found no free slot */
    apr_uint64_t settings;          /* packed rp_settings_t, see below */
    apr_uint32_t regions_repaired;
    apr_uint32_t regions_reset;
    apr_uint64_t samples_lost;
} rp_seg_hdr_t;

typedef struct {
    apr_uint32_t seq;               /* seqlock: odd while the owner writes */
    apr_uint32_t owner;             /* pid, 0 when free; CAS to claim */
    apr_uint32_t generation;        /* of the data here; 0 = never used */
    apr_uint32_t n_nodes;           /* used prefix of nodes, >= 1 */
    apr_uint32_t reserve;           /* nodes held for [table full] nodes */
    apr_uint32_t full_node;         /* root's [table full] node, 0 = none */
    apr_uint32_t n_uris;
    apr_uint32_t ustr_used;
    apr_uint32_t n_objs;
    apr_uint32_t ostr_used;
    apr_uint64_t ring_head;         /* ring entries ever written */
    apr_uint64_t keep_seq;          /* requests ever kept (the last's seq) */
    apr_uint64_t err_count;         /* of them, kept as errors */
    apr_uint64_t recent_lo;         /* no seq below it is held as RECENT */
    apr_uint64_t err_lo;            /* no error below it is held as ERROR */
    apr_uint32_t kept_hw;           /* records ever used: 0..kept_hw-1 */
    apr_uint32_t kfree;             /* free list: record index + 1, 0 end */
    apr_uint32_t kslow_total;       /* records held as SLOW, all URIs */
    apr_uint32_t unused;
    apr_int64_t first_time;         /* of the first and last request */
    apr_int64_t last_time;
    apr_uint64_t counters[RP_CTR_MAX];
} rp_region_hdr_t;

/* A call-tree node.  first_child and next_sibling use 0 for "none": the
 * root is nobody's child or sibling.  Children are linked newest first,
 * so next_sibling < self, and parent < self. */
typedef struct {
    apr_uint32_t parent;
    apr_uint32_t first_child;
    apr_uint32_t next_sibling;
    apr_uint32_t kind;              /* rp_frame_kind_e */
    apr_uint32_t object;            /* object index, URI index or NONE */
    apr_uint32_t unused;
    apr_uint64_t rel;
    apr_uint64_t self_count;
    apr_uint64_t self_weight_ns;
} rp_snode_t;

typedef struct {
    apr_uint32_t str;               /* offset in the URI strings */
    apr_uint32_t len;
    apr_uint32_t hash;
    apr_uint32_t node;              /* its URI node */
    apr_uint32_t full_node;         /* its [table full] node, 0 = none */
    apr_uint32_t label_len;         /* bytes of the label, stored after the
                                     * URI's NUL ("uri\0label\0"); the key
                                     * is both, the hash covers both */
    apr_uint64_t requests;
    apr_uint64_t samples;
    apr_uint64_t weight_ns;
    apr_uint64_t sum_wall_us;
    apr_uint64_t max_wall_us;
    apr_uint64_t sum_cpu_us;
    apr_uint64_t max_cpu_us;
    apr_uint32_t kslow_head;        /* its kept-slow records: index + 1 */
    apr_uint32_t kslow_n;           /* ... how many */
    apr_uint64_t kslow_floor_us;    /* wall time of the fastest of them */
} rp_suri_t;

typedef struct {
    apr_int64_t time;
    apr_int64_t wall_us;
    apr_int64_t cpu_us;
    apr_uint32_t samples;
    apr_int32_t status;
    apr_uint32_t uri;               /* URI index or NONE */
    apr_uint32_t unused;
    char method[RP_STORE_METHOD_MAX];
    char uri_copy[RP_STORE_RING_URI_MAX];
} rp_sring_t;

typedef struct {
    apr_uint32_t path;              /* offsets in the object strings */
    apr_uint32_t build_id;
    apr_uint32_t hash;
    apr_uint32_t tag;               /* 0: code; else a script function:
                                     * language in bits 0-3, first line
                                     * above (path its file, build_id its
                                     * name) */
} rp_sobj_t;

/* A span of a kept request: samples of one leaf, consecutive in time. */
typedef struct {
    apr_uint32_t node;
    apr_uint32_t count;             /* bit 31: taken off the CPU */
    apr_uint32_t end_us;            /* from the request's start */
    apr_uint32_t weight_us;
} rp_sspan_t;

/* Strings of a kept request, in its str[], each NUL-terminated. */
enum { RP_KS_METHOD, RP_KS_URI, RP_KS_QUERY, RP_KS_VHOST, RP_KS_HANDLER,
       RP_KS_CTYPE, RP_KS_MAX };

typedef struct {
    apr_uint32_t reasons;           /* rp_keep_reason_e bits; 0: free */
    apr_uint32_t uri;               /* URI index or NONE */
    apr_uint64_t seq;
    apr_uint32_t next;              /* free list, or the next kept-slow
                                     * record of its URI: index + 1 */
    apr_int32_t status;
    apr_int64_t time;
    apr_int64_t wall_us;
    apr_int64_t cpu_us;
    apr_uint64_t bytes;
    apr_uint32_t samples;
    apr_uint32_t samples_lost;
    apr_uint32_t n_spans;
    apr_uint32_t str_len;           /* bytes used of str */
    apr_uint32_t hdr_len;           /* bytes used of hdr */
    apr_uint32_t unused;
    char id[RP_KEEP_ID_MAX];
    char str[RP_KEEP_STR_MAX];
    char hdr[RP_KEEP_HDR_MAX];      /* "name\0value\0" pairs */
    rp_sspan_t spans[RP_KEEP_SPANS];
} rp_skept_t;

/* Which record holds the kept request of a seq (its low 32 bits). */
typedef struct {
    apr_uint32_t rec;
    apr_uint32_t seq_lo;
} rp_sref_t;

#define RP_SPAN_OFF         0x80000000u
#define RP_SPAN_COUNT(c)    ((c) & ~RP_SPAN_OFF)

/* A reader copies a record up to its spans, and the spans only of the
 * request it was asked for. */
#define RP_KEPT_HEAD        APR_OFFSETOF(rp_skept_t, spans)

/* The layout is part of the version; these fail to compile when a field
 * is added without thought. */
typedef char rp_assert_seg_hdr[(sizeof(rp_seg_hdr_t) == 96) ? 1 : -1];
typedef char rp_assert_node[(sizeof(rp_snode_t) == 48) ? 1 : -1];
typedef char rp_assert_uri[(sizeof(rp_suri_t) == 96) ? 1 : -1];
typedef char rp_assert_kept[(sizeof(rp_skept_t) == 6784) ? 1 : -1];

/* Bytes of U's key in the URI strings: the URI, and after its NUL the
 * label when there is one. */
static apr_size_t key_len(const rp_suri_t *u)
{
    return u->len + (u->label_len ? 1 + (apr_size_t)u->label_len : 0);
}
typedef char rp_assert_ring[(sizeof(rp_sring_t) == 128) ? 1 : -1];
typedef char rp_assert_obj[(sizeof(rp_sobj_t) == 16) ? 1 : -1];
typedef char rp_assert_hdr[(sizeof(rp_seg_hdr_t) <= RP_SEG_HDR_SIZE) ? 1 : -1];

/* The settings word: seq in bits 0-31, enabled bit 32, timer bit 33,
 * frequency bits 34-63.  One word, so that a reader never sees half of a
 * change and a writer that dies cannot leave it half written. */
#define RP_SET_ENABLED      (APR_UINT64_C(1) << 32)
#define RP_SET_TIMER        (APR_UINT64_C(1) << 33)
#define RP_SET_FREQ_SHIFT   34
#define RP_SET_FREQ_MAX     0x3FFFFFFF

/* ------------------------------------------------------------------ */
/* Process-local handle and addressing */

/* Where each table of a region starts and how many entries it holds. */
typedef struct {
    apr_uint32_t off_nodes, cap_nodes;
    apr_uint32_t off_nhash, cap_nhash;
    apr_uint32_t off_uris, cap_uris;
    apr_uint32_t off_uhash, cap_uhash;
    apr_uint32_t off_ustr, cap_ustr;
    apr_uint32_t off_ring, cap_ring;
    apr_uint32_t off_objs, cap_objs;
    apr_uint32_t off_ostr, cap_ostr;
    apr_uint32_t off_kept, cap_kept;
    apr_uint32_t off_kring, off_kerr;   /* cap_kept entries each */
} rp_geom_t;

struct rp_store_t {
    char *base;
    rp_seg_hdr_t *hdr;
    int nslots;
    apr_size_t region_size;
    rp_geom_t g;
    rp_keep_policy_t keep;          /* this process's, all 0: none */
};

#define RP_REGION(s, i) \
    ((rp_region_hdr_t *)((s)->base + RP_SEG_HDR_SIZE \
                         + (apr_size_t)(i) * (s)->region_size))
#define RP_AT(r, off, type)     ((type *)((char *)(r) + (off)))

/* A writer's view of one region: the table addresses, computed once. */
typedef struct {
    rp_region_hdr_t *r;
    const rp_geom_t *g;
    rp_snode_t *nodes;
    apr_uint32_t *nhash;
    rp_suri_t *uris;
    apr_uint32_t *uhash;
    char *ustr;
    rp_sring_t *ring;
    rp_sobj_t *objs;
    char *ostr;
    rp_skept_t *kept;
    rp_sref_t *kring;
    rp_sref_t *kerr;
    int broken;                 /* an invariant failed: drop the region */
} rp_wctx_t;

/* A promise broken: by a caller (a slot out of range) or by the region
 * itself (an index past its table: the shared memory was overwritten).
 * With no reporter (the unit tests) that is an assertion: say where and
 * abort.  In the module (rp_store_set_reporter) it is reported and the
 * operation fails instead, a write dropping its region (W): a child must
 * never die of its profile, nor silently. */
static rp_store_reporter_fn reporter;

static int broken(rp_wctx_t *w, const char *what, int line)
{
    char msg[160];

    apr_snprintf(msg, sizeof(msg), "rp_store.c:%d: %s", line, what);
    if (!reporter) {
        fprintf(stderr, "%s: assertion failed\n", msg);
        abort();
    }
    reporter(msg);
    if (w) {
        w->broken = 1;
    }
    return 0;
}

/* COND, or 0 after broken(W, ...). */
#define RP_EXPECT(w, cond) ((cond) ? 1 : broken((w), #cond, __LINE__))

void rp_store_set_reporter(rp_store_reporter_fn fn)
{
    reporter = fn;
}

/* A region to check and read: in place (with its hashes) or a reader's
 * copy (hashes NULL).  Counts come from *hdr. */
typedef struct {
    const rp_region_hdr_t *hdr;
    const rp_snode_t *nodes;
    const rp_suri_t *uris;
    const char *ustr;
    const rp_sring_t *ring;
    apr_uint32_t n_ring;            /* entries present in ring[] */
    const rp_sobj_t *objs;
    const char *ostr;
    const apr_uint32_t *nhash;
    const apr_uint32_t *uhash;
    /* Kept records: N_KEPT of STRIDE bytes (in place, every record up to
     * the high-water mark, free ones too; in a copy, the used ones up to
     * their spans), and the spans of the one asked for (WANT; a copy),
     * else NULL. */
    const char *kept;
    apr_uint32_t n_kept;
    apr_size_t kept_stride;
    const rp_sspan_t *want_spans;
    apr_uint32_t want;              /* its index among the copied */
    /* In place, the rings that name the kept records; NULL in a copy. */
    const rp_sref_t *kring;
    const rp_sref_t *kerr;
} rp_image_t;

static const rp_frame_t frame_full = { RP_FRAME_TABLE_FULL, RP_STORE_NONE, 0 };
static const rp_frame_t frame_trunc = { RP_FRAME_TRUNCATED, RP_STORE_NONE, 0 };

static const char *const counter_names[RP_CTR_MAX] = {
    "requests",
    "ticks",
    "samples",
    "buffer_full",
    "unwind_failed",
    "other_dropped",
    "depth_truncated",
    "table_full",
    "uri_full",
    "object_full",
    "outside_request",
    "weight_ns",
    "kept",
    "kept_full",
    "script_merged",
    "script_mismatch",
    "script_fault",
    "script_cut",
    "script_names_full"
};

const char *const rp_keep_reason_names[RP_KEEP_REASONS + 1] = {
    "recent", "slow", "error", NULL
};

static const char *const frame_kind_names[RP_FRAME_KINDS] = {
    "[root]",
    "real",
    "uri",
    "[truncated]",
    "[table full]",
    "[unknown]",
    "[waiting for CPU]",
    "[blocked]",
    "[off CPU]"
};

/* clang-format on */

/* ------------------------------------------------------------------ */
/* Geometry, hashing */

/* Lay out a region of SIZE bytes.  A pure function of SIZE (and of this
 * file's version), so every process computes the same offsets. */
static int geometry(apr_size_t size, rp_geom_t *g)
{
    apr_size_t hdr = RP_ALIGN64(sizeof(rp_region_hdr_t));
    apr_size_t objs = size / 8 < RP_OBJ_AREA_MAX ? size / 8 : RP_OBJ_AREA_MAX;
    apr_size_t kept = (size / 5)
                      / (sizeof(rp_skept_t) + 2 * sizeof(rp_sref_t));
    /* 11 tables, each may lose up to 63 bytes to alignment. */
    apr_size_t rest = size - hdr - objs - 11 * 64
                      - kept * (sizeof(rp_skept_t) + 2 * sizeof(rp_sref_t));
    apr_size_t ring, uris, nodes, off;

    ring = rest / 10 / sizeof(rp_sring_t);
    ring = ring < RP_RING_MIN ? RP_RING_MIN : ring;
    ring = ring > RP_RING_MAX ? RP_RING_MAX : ring;
    uris = rest * 12 / 100 / (sizeof(rp_suri_t) + 2 * sizeof(apr_uint32_t));
    g->cap_ring = (apr_uint32_t)ring;
    g->cap_uris = (apr_uint32_t)uris;
    g->cap_uhash = (apr_uint32_t)(2 * uris);
    g->cap_ustr = (apr_uint32_t)(rest * 8 / 100);
    nodes = (rest - ring * sizeof(rp_sring_t)
             - uris * (sizeof(rp_suri_t) + 2 * sizeof(apr_uint32_t))
             - g->cap_ustr)
            / (sizeof(rp_snode_t) + 2 * sizeof(apr_uint32_t));
    g->cap_nodes = (apr_uint32_t)nodes;
    g->cap_nhash = (apr_uint32_t)(2 * nodes);
    g->cap_objs = (apr_uint32_t)(objs / (sizeof(rp_sobj_t) + RP_OBJ_STR_AVG));
    g->cap_ostr = (apr_uint32_t)(objs - g->cap_objs * sizeof(rp_sobj_t));

    off = hdr;
    g->off_nodes = (apr_uint32_t)off;
    off = RP_ALIGN64(off + (apr_size_t)g->cap_nodes * sizeof(rp_snode_t));
    g->off_nhash = (apr_uint32_t)off;
    off = RP_ALIGN64(off + (apr_size_t)g->cap_nhash * sizeof(apr_uint32_t));
    g->off_uris = (apr_uint32_t)off;
    off = RP_ALIGN64(off + (apr_size_t)g->cap_uris * sizeof(rp_suri_t));
    g->off_uhash = (apr_uint32_t)off;
    off = RP_ALIGN64(off + (apr_size_t)g->cap_uhash * sizeof(apr_uint32_t));
    g->off_ustr = (apr_uint32_t)off;
    off = RP_ALIGN64(off + g->cap_ustr);
    g->off_ring = (apr_uint32_t)off;
    off = RP_ALIGN64(off + (apr_size_t)g->cap_ring * sizeof(rp_sring_t));
    g->off_objs = (apr_uint32_t)off;
    off = RP_ALIGN64(off + (apr_size_t)g->cap_objs * sizeof(rp_sobj_t));
    g->off_ostr = (apr_uint32_t)off;
    off = RP_ALIGN64(off + g->cap_ostr);
    g->cap_kept = (apr_uint32_t)kept;
    g->off_kept = (apr_uint32_t)off;
    off = RP_ALIGN64(off + (apr_size_t)g->cap_kept * sizeof(rp_skept_t));
    g->off_kring = (apr_uint32_t)off;
    off = RP_ALIGN64(off + (apr_size_t)g->cap_kept * sizeof(rp_sref_t));
    g->off_kerr = (apr_uint32_t)off;
    off += (apr_size_t)g->cap_kept * sizeof(rp_sref_t);
    /* Room for the root, its [table full] node and a URI with its own. */
    return RP_EXPECT(NULL, off <= size)
           && RP_EXPECT(NULL, g->cap_nodes >= 8 && g->cap_uris >= 1
                              && g->cap_objs >= 1);
}

/* Map a 32-bit hash onto 0..n-1 without a division (Lemire's reduction),
 * so that table sizes need not be powers of two. */
static APR_INLINE apr_uint32_t reduce(apr_uint32_t h, apr_uint32_t n)
{
    return (apr_uint32_t)(((apr_uint64_t)h * n) >> 32);
}

static apr_uint32_t frame_hash(apr_uint32_t parent, apr_uint32_t kind,
                               apr_uint32_t object, apr_uint64_t rel)
{
    apr_uint64_t h = rel + kind * APR_UINT64_C(0xC2B2AE3D27D4EB4F);

    h ^= (((apr_uint64_t)parent << 32) | object)
         * APR_UINT64_C(0x9E3779B97F4A7C15);
    /* splitmix64's finaliser: every input bit reaches the top bits. */
    h ^= h >> 30;
    h *= APR_UINT64_C(0xBF58476D1CE4E5B9);
    h ^= h >> 27;
    h *= APR_UINT64_C(0x94D049BB133111EB);
    h ^= h >> 31;
    return (apr_uint32_t)(h >> 32);
}

/* FNV-1a, with a final mix so that the top bits (used by reduce) vary. */
static apr_uint32_t str_hash(const char *str, apr_size_t len)
{
    apr_uint32_t h = 2166136261u;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)str[i]) * 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    return h;
}

static APR_INLINE apr_uint32_t next_slot(apr_uint32_t i, apr_uint32_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

/* ------------------------------------------------------------------ */
/* Seqlock, region access */

/* Open a write section; 0 (and nothing changed) when one is open
 * already, which is a second writer: the caller's mutex failed. */
static int write_begin(rp_wctx_t *w)
{
    apr_uint32_t seq = __atomic_fetch_add(&w->r->seq, 1, __ATOMIC_SEQ_CST);

    if (!RP_EXPECT(NULL, (seq & 1) == 0)) {
        __atomic_fetch_sub(&w->r->seq, 1, __ATOMIC_SEQ_CST);
        return 0;
    }
    RP_FENCE_RELEASE();
    return 1;
}

static void write_end(rp_region_hdr_t *r)
{
    __atomic_fetch_add(&r->seq, 1, __ATOMIC_SEQ_CST);
}

static void region_ctx(const rp_store_t *s, int slot, rp_wctx_t *w)
{
    rp_region_hdr_t *r = RP_REGION(s, slot);

    w->r = r;
    w->g = &s->g;
    w->broken = 0;
    w->nodes = RP_AT(r, s->g.off_nodes, rp_snode_t);
    w->nhash = RP_AT(r, s->g.off_nhash, apr_uint32_t);
    w->uris = RP_AT(r, s->g.off_uris, rp_suri_t);
    w->uhash = RP_AT(r, s->g.off_uhash, apr_uint32_t);
    w->ustr = RP_AT(r, s->g.off_ustr, char);
    w->ring = RP_AT(r, s->g.off_ring, rp_sring_t);
    w->objs = RP_AT(r, s->g.off_objs, rp_sobj_t);
    w->ostr = RP_AT(r, s->g.off_ostr, char);
    w->kept = RP_AT(r, s->g.off_kept, rp_skept_t);
    w->kring = RP_AT(r, s->g.off_kring, rp_sref_t);
    w->kerr = RP_AT(r, s->g.off_kerr, rp_sref_t);
}

static void image_in_place(const rp_wctx_t *w, rp_image_t *im)
{
    apr_uint64_t head = w->r->ring_head;

    im->hdr = w->r;
    im->nodes = w->nodes;
    im->uris = w->uris;
    im->ustr = w->ustr;
    im->ring = w->ring;
    im->n_ring = (apr_uint32_t)(head < w->g->cap_ring ? head : w->g->cap_ring);
    im->objs = w->objs;
    im->ostr = w->ostr;
    im->nhash = w->nhash;
    im->uhash = w->uhash;
    im->kept = (const char *)w->kept;
    im->n_kept = w->r->kept_hw;
    im->kept_stride = sizeof(rp_skept_t);
    im->want_spans = NULL;
    im->want = RP_STORE_NONE;
    im->kring = w->kring;
    im->kerr = w->kerr;
}

/* Empty the region for generation GEN: the call tree back to its root,
 * no URIs, an empty ring, zero counters.  The object table is kept unless
 * ALL (the writer's object indices must stay valid across a clear); ALL
 * is for a region whose contents cannot be trusted. */
static void region_reset(rp_wctx_t *w, apr_uint32_t gen, int all)
{
    rp_region_hdr_t *r = w->r;
    rp_snode_t *root = &w->nodes[0];

    memset(w->nhash, 0, (apr_size_t)w->g->cap_nhash * sizeof(apr_uint32_t));
    memset(w->uhash, 0, (apr_size_t)w->g->cap_uhash * sizeof(apr_uint32_t));
    memset(root, 0, sizeof(*root));
    root->kind = RP_FRAME_ROOT;
    root->object = RP_STORE_NONE;
    r->n_nodes = 1;
    r->reserve = 1;                 /* for the root's [table full] */
    r->full_node = 0;
    r->n_uris = 0;
    r->ustr_used = 0;
    r->ring_head = 0;
    r->keep_seq = 0;
    r->err_count = 0;
    r->recent_lo = 1;
    r->err_lo = 0;
    r->kslow_total = 0;
    r->unused = 0;
    r->kept_hw = 0;
    r->kfree = 0;
    r->first_time = 0;
    r->last_time = 0;
    memset(r->counters, 0, sizeof(r->counters));
    if (all) {
        r->n_objs = 0;
        r->ostr_used = 0;
    }
    r->generation = gen;
}

/* ------------------------------------------------------------------ */
/* The segment */

apr_size_t rp_store_segment_size(int nslots, apr_size_t region_size)
{
    if (nslots < 1 || nslots > RP_STORE_SLOTS_MAX
        || region_size < RP_STORE_REGION_MIN
        || region_size > RP_STORE_REGION_MAX || region_size % 64 != 0) {
        return 0;
    }
    if ((apr_size_t)nslots > (APR_SIZE_MAX - RP_SEG_HDR_SIZE) / region_size) {
        return 0;
    }
    return RP_SEG_HDR_SIZE + (apr_size_t)nslots * region_size;
}

static void layout_sizes(apr_uint32_t *out)
{
    out[0] = sizeof(rp_seg_hdr_t);
    out[1] = sizeof(rp_region_hdr_t);
    out[2] = sizeof(rp_snode_t);
    out[3] = sizeof(rp_suri_t);
    out[4] = sizeof(rp_sring_t);
    out[5] = sizeof(rp_sobj_t);
    out[6] = sizeof(rp_skept_t);
    out[7] = sizeof(rp_sref_t);
}

apr_status_t rp_store_format(void *base, apr_size_t size, int nslots,
                             apr_size_t region_size)
{
    apr_size_t need = rp_store_segment_size(nslots, region_size);
    rp_seg_hdr_t *h = base;
    int i;

    if (need == 0 || size < need || base == NULL
        || ((apr_uintptr_t)base & 7) != 0) {
        return APR_EINVAL;
    }
    memset(h, 0, RP_SEG_HDR_SIZE);
    h->version = RP_STORE_VERSION;
    h->nslots = (apr_uint32_t)nslots;
    h->header_size = RP_SEG_HDR_SIZE;
    h->region_size = region_size;
    layout_sizes(h->layout);
    h->created = apr_time_now();
    h->generation = 1;
    h->settings = (apr_uint64_t)RP_FREQUENCY_DEFAULT << RP_SET_FREQ_SHIFT;
    for (i = 0; i < nslots; i++) {
        /* Generation 0: readers skip it and its first write resets it,
         * so the tables need no initialisation (and no page is touched
         * before it is used). */
        memset((char *)base + RP_SEG_HDR_SIZE + (apr_size_t)i * region_size,
               0, sizeof(rp_region_hdr_t));
    }
    /* The magic last: a half-formatted segment does not attach. */
    RP_FENCE_RELEASE();
    h->magic = RP_STORE_MAGIC;
    return APR_SUCCESS;
}

rp_store_t *rp_store_attach(apr_pool_t *p, void *base, apr_size_t size)
{
    rp_seg_hdr_t *h = base;
    apr_uint32_t sizes[8];
    rp_store_t *s;
    apr_size_t need;

    if (base == NULL || ((apr_uintptr_t)base & 7) != 0
        || size < RP_SEG_HDR_SIZE) {
        return NULL;
    }
    layout_sizes(sizes);
    if (h->magic != RP_STORE_MAGIC || h->version != RP_STORE_VERSION
        || h->header_size != RP_SEG_HDR_SIZE
        || memcmp(h->layout, sizes, sizeof(sizes)) != 0
        || h->region_size > RP_STORE_REGION_MAX || h->nslots == 0
        || h->nslots > RP_STORE_SLOTS_MAX) {
        return NULL;
    }
    need = rp_store_segment_size((int)h->nslots, (apr_size_t)h->region_size);
    if (need == 0 || size < need) {
        return NULL;
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->base = base;
    s->hdr = h;
    s->nslots = (int)h->nslots;
    s->region_size = (apr_size_t)h->region_size;
    return geometry(s->region_size, &s->g) ? s : NULL;
}

int rp_store_nslots(const rp_store_t *s)
{
    return s->nslots;
}

apr_size_t rp_store_region_size(const rp_store_t *s)
{
    return s->region_size;
}

void rp_store_settings_get(const rp_store_t *s, rp_settings_t *out)
{
    apr_uint64_t w = __atomic_load_n(&s->hdr->settings, __ATOMIC_ACQUIRE);

    out->seq = (apr_uint32_t)w;
    out->enabled = (w & RP_SET_ENABLED) != 0;
    out->timer = (w & RP_SET_TIMER) != 0;
    out->frequency = (int)(w >> RP_SET_FREQ_SHIFT);
}

apr_uint32_t rp_store_settings_set(rp_store_t *s, const rp_settings_t *in)
{
    apr_uint64_t old, w;
    apr_uint64_t freq = in->frequency < 0 ? 0
                        : in->frequency > RP_SET_FREQ_MAX ? RP_SET_FREQ_MAX
                        : (apr_uint64_t)in->frequency;

    /* A CAS loop: two pages saving at once both bump seq. */
    do {
        old = __atomic_load_n(&s->hdr->settings, __ATOMIC_ACQUIRE);
        w = (apr_uint64_t)(apr_uint32_t)(old + 1)
            | (in->enabled ? RP_SET_ENABLED : 0)
            | (in->timer ? RP_SET_TIMER : 0)
            | (freq << RP_SET_FREQ_SHIFT);
    } while (!__atomic_compare_exchange_n(&s->hdr->settings, &old, w, 0,
                                          __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    return (apr_uint32_t)w;
}

void rp_store_clear(rp_store_t *s)
{
    /* 0 marks a region never written; skip it when the count wraps. */
    if (__atomic_add_fetch(&s->hdr->generation, 1, __ATOMIC_SEQ_CST) == 0) {
        __atomic_add_fetch(&s->hdr->generation, 1, __ATOMIC_SEQ_CST);
    }
}

apr_uint32_t rp_store_generation(const rp_store_t *s)
{
    return __atomic_load_n(&s->hdr->generation, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------------ */
/* Checks */

/* 1 when the NUL-terminated string at OFF lies within the first USED
 * bytes of POOL. */
static int str_ok(const char *pool, apr_uint32_t used, apr_uint32_t off)
{
    return off < used && memchr(pool + off, '\0', used - off) != NULL;
}

/* Index of node I as found through the node hash, probing at most the
 * whole table: a damaged hash may hold no empty slot. */
static int nhash_finds(const rp_geom_t *g, const rp_image_t *im,
                       apr_uint32_t i)
{
    const rp_snode_t *nd = &im->nodes[i];
    apr_uint32_t h = reduce(frame_hash(nd->parent, nd->kind, nd->object,
                                       nd->rel), g->cap_nhash);
    apr_uint32_t k;

    for (k = 0; k < g->cap_nhash; k++, h = next_slot(h, g->cap_nhash)) {
        if (im->nhash[h] == i) {
            return 1;
        }
        if (im->nhash[h] == 0) {
            return 0;
        }
    }
    return 0;
}

static int uhash_finds(const rp_geom_t *g, const rp_image_t *im,
                       apr_uint32_t i)
{
    apr_uint32_t h = reduce(im->uris[i].hash, g->cap_uhash);
    apr_uint32_t k;

    for (k = 0; k < g->cap_uhash; k++, h = next_slot(h, g->cap_uhash)) {
        if (im->uhash[h] == i + 1) {
            return 1;
        }
        if (im->uhash[h] == 0) {
            return 0;
        }
    }
    return 0;
}

/* Whether node I's kind, parent and object fit together. */
static int node_ok(const rp_image_t *im, apr_uint32_t i)
{
    const rp_region_hdr_t *h = im->hdr;
    const rp_snode_t *nd = &im->nodes[i];
    const rp_snode_t *pn = &im->nodes[nd->parent];

    switch (nd->kind) {
    case RP_FRAME_URI:
        return nd->parent == 0 && nd->object < h->n_uris
               && im->uris[nd->object].node == i;
    case RP_FRAME_TRUNCATED:
        return pn->kind == RP_FRAME_URI;
    case RP_FRAME_TABLE_FULL:
        if (nd->parent == 0) {
            return h->full_node == i;
        }
        return pn->kind == RP_FRAME_URI && pn->object < h->n_uris
               && im->uris[pn->object].full_node == i;
    case RP_FRAME_WAIT_CPU:
    case RP_FRAME_BLOCKED:
    case RP_FRAME_OFF_CPU:
        return nd->parent != 0 && nd->object == RP_STORE_NONE;
    case RP_FRAME_REAL:
    case RP_FRAME_UNKNOWN:
        return nd->parent != 0
               && (nd->object < h->n_objs || nd->object == RP_STORE_NONE);
    default:
        return 0;
    }
}

/* Whether the NUL-terminated strings of a kept record's area (LEN bytes
 * of AREA) are N or more (N 0: an even number: name and value pairs). */
static int kept_strings_ok(const char *area, apr_uint32_t len, int n)
{
    apr_uint32_t i, nuls = 0;

    if (len == 0) {
        return n == 0;
    }
    if (area[len - 1] != '\0') {
        return 0;
    }
    for (i = 0; i < len; i++) {
        nuls += area[i] == '\0';
    }
    return n ? nuls >= (apr_uint32_t)n : (nuls % 2) == 0;
}

static const rp_skept_t *krec(const rp_image_t *im, apr_uint32_t i)
{
    return (const rp_skept_t *)(im->kept + (apr_size_t)i * im->kept_stride);
}

/* The record ring entry E names, when it still holds that request (as
 * the writer's ref_rec). */
static apr_uint32_t image_ref(const rp_image_t *im, const rp_sref_t *e)
{
    if (e->rec < im->hdr->kept_hw && krec(im, e->rec)->reasons
        && (apr_uint32_t)krec(im, e->rec)->seq == e->seq_lo) {
        return e->rec;
    }
    return RP_STORE_NONE;
}

/* Check the kept records of IM against the region's tables; in place
 * (IM has the hashes and rings) also that each record is where its rules
 * will find it to let it go, and each free one on the free list: a
 * writer that died between those steps left a record no rule would ever
 * give back. */
static int kept_check(const rp_geom_t *g, const rp_image_t *im)
{
    const rp_region_hdr_t *h = im->hdr;
    apr_uint32_t i, k, c, n, nfree = 0, nslow = 0, nerr = 0, lists = 0;
    apr_uint64_t q;

    if (im->nhash
        && (h->kept_hw > g->cap_kept || h->kfree > h->kept_hw
            || h->recent_lo == 0 || h->recent_lo > h->keep_seq + 1
            || h->err_lo > h->err_count || h->err_count > h->keep_seq)) {
        return 0;
    }
    for (i = 0; i < im->n_kept; i++) {
        const rp_skept_t *k0 = krec(im, i);
        const rp_sspan_t *sp = im->nhash       ? k0->spans
                               : i == im->want ? im->want_spans
                                               : NULL;

        if (!k0->reasons) {
            nfree++;
            continue;
        }
        if (k0->reasons >= (1u << RP_KEEP_REASONS)
            || (k0->uri != RP_STORE_NONE && k0->uri >= h->n_uris)
            || k0->n_spans > RP_KEEP_SPANS || k0->samples_lost > k0->samples
            || k0->str_len > RP_KEEP_STR_MAX || k0->hdr_len > RP_KEEP_HDR_MAX
            || !memchr(k0->id, '\0', sizeof(k0->id))
            || !kept_strings_ok(k0->str, k0->str_len, RP_KS_MAX)
            || !kept_strings_ok(k0->hdr, k0->hdr_len, 0)) {
            return 0;
        }
        for (k = 0; sp && k < k0->n_spans; k++) {
            if (sp[k].node >= h->n_nodes || RP_SPAN_COUNT(sp[k].count) == 0) {
                return 0;
            }
        }
        if (!im->kring) {
            continue;
        }
        /* RECENT: on kring at its seq, above the mark.  ERROR: counted,
         * to match the entries of kerr above its mark. */
        if (k0->seq == 0 || k0->seq > h->keep_seq
            || ((k0->reasons & RP_KEEP_RECENT)
                && (k0->seq < h->recent_lo
                    || image_ref(im, &im->kring[k0->seq % g->cap_kept])
                           != i))) {
            return 0;
        }
        nslow += (k0->reasons & RP_KEEP_SLOW) != 0;
        nerr += (k0->reasons & RP_KEEP_ERROR) != 0;
    }
    if (!im->nhash) {
        return 1;
    }
    /* Lists are walked at most kept_hw steps: a loop is a failure. */
    for (c = h->kfree, n = 0; c != 0; c = krec(im, c - 1)->next) {
        if (c > h->kept_hw || ++n > h->kept_hw || krec(im, c - 1)->reasons) {
            return 0;
        }
    }
    if (n != nfree) {
        return 0;
    }
    for (i = 0; i < h->n_uris; i++) {
        const rp_suri_t *u = &im->uris[i];

        for (c = u->kslow_head, n = 0; c != 0; c = krec(im, c - 1)->next) {
            if (c > h->kept_hw || ++n > h->kept_hw
                || !(krec(im, c - 1)->reasons & RP_KEEP_SLOW)
                || krec(im, c - 1)->uri != i) {
                return 0;
            }
        }
        if (n != u->kslow_n) {
            return 0;
        }
        lists += n;
    }
    if (lists != nslow || h->kslow_total != nslow) {
        return 0;
    }
    /* Each entry of kerr above the mark names its own record (seqs
     * differ), so the count of those still held as errors is exact. */
    if (h->err_count - h->err_lo > g->cap_kept) {
        return 0;
    }
    for (q = h->err_lo, n = 0; q < h->err_count; q++) {
        c = image_ref(im, &im->kerr[q % g->cap_kept]);
        n += c != RP_STORE_NONE && (krec(im, c)->reasons & RP_KEEP_ERROR);
    }
    return n == nerr;
}

/* Check a region against every invariant the writer keeps, without
 * trusting any count or index in it, and compute each node's totals
 * into TC and TW (n_nodes entries).  Used on a reader's copy, and in
 * place on a region whose writer died (then the hashes are checked too).
 * Returns 1 when the region can be used as is. */
static int region_check(const rp_geom_t *g, const rp_image_t *im,
                        apr_uint64_t *tc, apr_uint64_t *tw)
{
    const rp_region_hdr_t *h = im->hdr;
    apr_uint32_t n = h->n_nodes, i, c, prev, linked = 0, reserve, used;
    apr_uint64_t requests;

    if (n < 1 || n > g->cap_nodes || h->reserve > g->cap_nodes - n
        || h->n_uris > g->cap_uris || h->ustr_used > g->cap_ustr
        || h->n_objs > g->cap_objs || h->ostr_used > g->cap_ostr
        || h->full_node >= n) {
        return 0;
    }
    if (im->nodes[0].kind != RP_FRAME_ROOT || im->nodes[0].parent != 0
        || im->nodes[0].next_sibling != 0) {
        return 0;
    }
    tc[0] = im->nodes[0].self_count;
    tw[0] = im->nodes[0].self_weight_ns;
    for (i = 1; i < n; i++) {
        const rp_snode_t *nd = &im->nodes[i];

        if (nd->parent >= i
            || (nd->first_child != 0
                && (nd->first_child <= i || nd->first_child >= n))
            || (nd->next_sibling != 0
                && (nd->next_sibling <= nd->parent
                    || nd->next_sibling >= i))
            || !node_ok(im, i)) {
            return 0;
        }
        tc[i] = nd->self_count;
        tw[i] = nd->self_weight_ns;
    }
    if (im->nodes[0].first_child >= n) {
        return 0;
    }
    /* Every node but the root is on its parent's child list exactly
     * once.  Lists strictly decrease (checked above), so they end. */
    for (i = 0; i < n; i++) {
        prev = n;
        for (c = im->nodes[i].first_child; c != 0;
             c = im->nodes[c].next_sibling) {
            if (c >= prev || im->nodes[c].parent != i) {
                return 0;
            }
            prev = c;
            linked++;
        }
    }
    if (linked != n - 1) {
        return 0;
    }
    for (i = n - 1; i > 0; i--) {
        tc[im->nodes[i].parent] += tc[i];
        tw[im->nodes[i].parent] += tw[i];
    }
    if (tc[0] != h->counters[RP_CTR_SAMPLES]) {
        return 0;
    }

    if (h->full_node != 0
        && (im->nodes[h->full_node].kind != RP_FRAME_TABLE_FULL
            || im->nodes[h->full_node].parent != 0)) {
        return 0;
    }
    reserve = h->full_node == 0;
    requests = 0;
    for (i = 0; i < h->n_uris; i++) {
        const rp_suri_t *u = &im->uris[i];

        if (!str_ok(im->ustr, h->ustr_used, u->str)
            || strlen(im->ustr + u->str) != u->len
            || (u->label_len
                && (!str_ok(im->ustr, h->ustr_used, u->str + u->len + 1)
                    || strlen(im->ustr + u->str + u->len + 1)
                       != u->label_len))
            || u->node >= n || im->nodes[u->node].kind != RP_FRAME_URI
            || im->nodes[u->node].object != i
            || u->full_node >= n
            || (u->full_node != 0
                && (im->nodes[u->full_node].kind != RP_FRAME_TABLE_FULL
                    || im->nodes[u->full_node].parent != u->node))
            || u->samples != tc[u->node]) {
            return 0;
        }
        reserve += u->full_node == 0;
        requests += u->requests;
    }
    /* A request is counted in its URI's entry and in the region's
     * counters in two steps: a writer that died between them (a request
     * of no samples, which the sample counter does not show) left them
     * apart. */
    if (reserve != h->reserve
        || requests + h->counters[RP_CTR_URI_FULL]
               != h->counters[RP_CTR_REQUESTS]) {
        return 0;
    }
    for (i = 0; i < h->n_objs; i++) {
        if (!str_ok(im->ostr, h->ostr_used, im->objs[i].path)
            || !str_ok(im->ostr, h->ostr_used, im->objs[i].build_id)) {
            return 0;
        }
    }
    for (i = 0; i < im->n_ring; i++) {
        if (im->ring[i].uri != RP_STORE_NONE && im->ring[i].uri >= h->n_uris) {
            return 0;
        }
    }
    if (!kept_check(g, im)) {
        return 0;
    }

    if (im->nhash) {
        for (i = 0, used = 0; i < g->cap_nhash; i++) {
            if (im->nhash[i] >= n) {
                return 0;
            }
            used += im->nhash[i] != 0;
        }
        if (used != n - 1) {
            return 0;
        }
        for (i = 1; i < n; i++) {
            if (!nhash_finds(g, im, i)) {
                return 0;
            }
        }
    }
    if (im->uhash) {
        for (i = 0, used = 0; i < g->cap_uhash; i++) {
            if (im->uhash[i] > h->n_uris) {
                return 0;
            }
            used += im->uhash[i] != 0;
        }
        if (used != h->n_uris) {
            return 0;
        }
        for (i = 0; i < h->n_uris; i++) {
            if (im->uris[i].hash != str_hash(im->ustr + im->uris[i].str,
                                             key_len(&im->uris[i]))
                || !uhash_finds(g, im, i)) {
                return 0;
            }
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Claiming slots */

/* Take over SLOT, just claimed.  When its last writer died inside a
 * write section (seq odd), finish the section: keep the region if it
 * passes every check, else reset it, counting the loss. */
static void region_adopt(rp_store_t *s, int slot)
{
    rp_wctx_t w;
    rp_image_t im;
    apr_uint64_t *tot;
    apr_uint32_t gen, n;
    int ok;

    region_ctx(s, slot, &w);
    if ((__atomic_load_n(&w.r->seq, __ATOMIC_ACQUIRE) & 1) == 0) {
        return;
    }
    image_in_place(&w, &im);
    n = w.r->n_nodes;
    ok = 0;
    if (n >= 1 && n <= s->g.cap_nodes
        && (tot = malloc(2 * sizeof(apr_uint64_t) * n)) != NULL) {
        ok = region_check(&s->g, &im, tot, tot + n);
        free(tot);
    }
    gen = __atomic_load_n(&s->hdr->generation, __ATOMIC_ACQUIRE);
    if (ok) {
        __atomic_fetch_add(&s->hdr->regions_repaired, 1, __ATOMIC_RELAXED);
    }
    else {
        if (w.r->generation == gen) {
            __atomic_fetch_add(&s->hdr->samples_lost,
                               w.r->counters[RP_CTR_SAMPLES],
                               __ATOMIC_RELAXED);
        }
        region_reset(&w, gen, 1);
        __atomic_fetch_add(&s->hdr->regions_reset, 1, __ATOMIC_RELAXED);
    }
    /* The dead writer's section ends here; seq is even again. */
    write_end(w.r);
}

int rp_store_claim(rp_store_t *s, apr_int32_t pid,
                   int (*alive)(apr_int32_t pid))
{
    apr_uint32_t me = (apr_uint32_t)pid, owner;
    int pass, i;

    if (!RP_EXPECT(NULL, pid > 0)) {
        return -1;
    }
    /* First the slots of dead owners (their regions may need repair, and
     * a child recycled by MaxConnectionsPerChild takes over its
     * predecessor's data), then free slots. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < s->nslots; i++) {
            rp_region_hdr_t *r = RP_REGION(s, i);

            owner = __atomic_load_n(&r->owner, __ATOMIC_ACQUIRE);
            if (pass == 0) {
                /* Our own pid as owner: a dead child's pid, reused. */
                if (owner == 0
                    || (owner != me
                        && (!alive || alive((apr_int32_t)owner)))) {
                    continue;
                }
            }
            else if (owner != 0) {
                continue;
            }
            if (__atomic_compare_exchange_n(&r->owner, &owner, me, 0,
                                            __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST)) {
                region_adopt(s, i);
                return i;
            }
        }
    }
    __atomic_fetch_add(&s->hdr->no_slot, 1, __ATOMIC_RELAXED);
    return -1;
}

void rp_store_release(rp_store_t *s, int slot, apr_int32_t pid)
{
    apr_uint32_t me = (apr_uint32_t)pid;

    if (!RP_EXPECT(NULL, slot >= 0 && slot < s->nslots)) {
        return;
    }
    __atomic_compare_exchange_n(&RP_REGION(s, slot)->owner, &me, 0, 0,
                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* ------------------------------------------------------------------ */
/* Writer: objects */

static apr_uint32_t object_add(rp_store_t *s, int slot, const char *path,
                               const char *build_id, apr_uint32_t tag);

apr_uint32_t rp_store_object(rp_store_t *s, int slot, const char *path,
                             const char *build_id)
{
    return object_add(s, slot, path, build_id, 0);
}

apr_uint32_t rp_store_script(rp_store_t *s, int slot, int lang,
                             const char *name, const char *file,
                             int first_line)
{
    apr_uint32_t line = first_line > 0 && first_line < (1 << 27)
                            ? (apr_uint32_t)first_line
                            : 0;

    if (lang <= 0 || (apr_uint32_t)lang > RP_OBJ_LANG_MASK) {
        return RP_STORE_NONE;
    }
    return object_add(s, slot, file, name, (apr_uint32_t)lang | (line << 4));
}

static apr_uint32_t object_add(rp_store_t *s, int slot, const char *path,
                               const char *build_id, apr_uint32_t tag)
{
    rp_wctx_t w;
    rp_region_hdr_t *r;
    apr_size_t plen, blen;
    apr_uint32_t h, i;
    rp_sobj_t *o;

    if (!RP_EXPECT(NULL, slot >= 0 && slot < s->nslots)) {
        return RP_STORE_NONE;
    }
    region_ctx(s, slot, &w);
    r = w.r;
    if (!path) {
        path = "";
    }
    if (!build_id) {
        build_id = "";
    }
    plen = strlen(path);
    blen = strlen(build_id);
    h = str_hash(path, plen) ^ (str_hash(build_id, blen) * 31) ^ tag;
    /* A linear scan: objects are few, and the caller caches indices. */
    for (i = 0; i < r->n_objs; i++) {
        o = &w.objs[i];
        if (o->hash == h && o->tag == tag
            && strcmp(w.ostr + o->path, path) == 0
            && strcmp(w.ostr + o->build_id, build_id) == 0) {
            return i;
        }
    }
    if (!write_begin(&w)) {
        return RP_STORE_NONE;
    }
    if (r->n_objs >= s->g.cap_objs
        || plen + blen + 2 > s->g.cap_ostr - r->ostr_used) {
        r->counters[RP_CTR_OBJECT_FULL]++;
        write_end(r);
        return RP_STORE_NONE;
    }
    o = &w.objs[r->n_objs];
    o->hash = h;
    o->tag = tag;
    o->path = r->ostr_used;
    memcpy(w.ostr + o->path, path, plen + 1);
    o->build_id = (apr_uint32_t)(o->path + plen + 1);
    memcpy(w.ostr + o->build_id, build_id, blen + 1);
    r->ostr_used = (apr_uint32_t)(o->build_id + blen + 1);
    i = r->n_objs++;
    write_end(r);
    return i;
}

/* ------------------------------------------------------------------ */
/* Writer: the call tree */

/* The nodes of the previous sample's stack, outermost first, below the
 * request's URI node.  Samples of one request mostly share their outer
 * frames (and a busy loop gives the same stack again and again), so a
 * sample first follows this path, checking each node's key, and only
 * looks up the hash where it departs from it. */
typedef struct {
    int len;                        /* leading entries of node[] known */
    apr_uint32_t node[RP_STORE_DEPTH_MAX + 1];
} rp_path_t;

static APR_INLINE int node_is(const rp_snode_t *nd, apr_uint32_t parent,
                              const rp_frame_t *f)
{
    return nd->parent == parent && nd->rel == f->rel
           && nd->object == f->object && nd->kind == (apr_uint32_t)f->kind;
}

/* The child of PARENT for frame F, or 0 with *SLOT set to the empty hash
 * slot where it belongs.  The hash is at most half full, so a probe ends
 * after about 1.5 (hit) to 2.5 (miss) slots on average. */
static apr_uint32_t node_find(rp_wctx_t *w, apr_uint32_t parent,
                              const rp_frame_t *f, apr_uint32_t *slot)
{
    apr_uint32_t cap = w->g->cap_nhash;
    apr_uint32_t i = reduce(frame_hash(parent, f->kind, f->object, f->rel),
                            cap);
    apr_uint32_t n;

    for (;; i = next_slot(i, cap)) {
        const rp_snode_t *nd;

        if ((n = w->nhash[i]) == 0) {
            *slot = i;
            return 0;
        }
        if (!RP_EXPECT(w, n < w->r->n_nodes)) {
            *slot = cap;            /* node_add refuses it */
            return 0;
        }
        nd = &w->nodes[n];
        if (node_is(nd, parent, f)) {
            return n;
        }
    }
}

/* Append a child of PARENT for frame F, entered at hash SLOT. */
static apr_uint32_t node_add(rp_wctx_t *w, apr_uint32_t parent,
                             const rp_frame_t *f, apr_uint32_t slot)
{
    rp_region_hdr_t *r = w->r;
    apr_uint32_t n = r->n_nodes;
    rp_snode_t *nd;

    /* Refused, the sample stays at PARENT, which exists. */
    if (!RP_EXPECT(w, n < w->g->cap_nodes && parent < n
                      && slot < w->g->cap_nhash && w->nhash[slot] == 0)) {
        return parent < n ? parent : 0;
    }
    nd = &w->nodes[n];
    nd->parent = parent;
    nd->first_child = 0;
    nd->next_sibling = w->nodes[parent].first_child;
    nd->kind = f->kind;
    nd->object = f->object;
    nd->unused = 0;
    nd->rel = f->rel;
    nd->self_count = 0;
    nd->self_weight_ns = 0;
    r->n_nodes = n + 1;
    w->nhash[slot] = n;
    w->nodes[parent].first_child = n;
    return n;
}

/* The [table full] node below PARENT, whose index lives at *WHERE (a URI
 * entry's or the region's), created from the reserve on first use. */
static apr_uint32_t full_node(rp_wctx_t *w, apr_uint32_t parent,
                              apr_uint32_t *where)
{
    apr_uint32_t slot, n;

    if (*where == 0) {
        if (!RP_EXPECT(w, w->r->reserve > 0)) {
            return parent;
        }
        w->r->reserve--;
        n = node_find(w, parent, &frame_full, &slot);
        RP_EXPECT(w, n == 0);
        *where = n != 0 ? n : node_add(w, parent, &frame_full, slot);
    }
    return *where;
}

/* The K-th frame of a sample to insert, outermost first, as stored: a
 * [truncated] marker first when cut, then the caller's frames with kinds
 * and objects it may not use turned into UNKNOWN and NONE. */
static void frame_at(const rp_wctx_t *w, const rp_frame_t *frames,
                     int depth, int cut, int k, rp_frame_t *out)
{
    const rp_frame_t *src;

    if (k < cut) {
        *out = frame_trunc;
        return;
    }
    src = &frames[depth - 1 - (k - cut)];
    if ((src->kind == RP_FRAME_WAIT_CPU || src->kind == RP_FRAME_BLOCKED
         || src->kind == RP_FRAME_OFF_CPU) && k == depth - 1 + cut) {
        /* A state leaf: where the time went that no stack shows. */
        out->kind = src->kind;
        out->object = RP_STORE_NONE;
        out->rel = 0;
        return;
    }
    out->kind = src->kind == RP_FRAME_REAL ? RP_FRAME_REAL : RP_FRAME_UNKNOWN;
    out->object = src->object < w->r->n_objs ? src->object : RP_STORE_NONE;
    out->rel = src->rel;
}

/* Insert one sample below URI (an index, or NONE) and count it in its
 * leaf, which it returns; D gathers the counter changes, PATH is the
 * previous sample's.
 * When the stack's new nodes do not fit, nothing is added but the sample
 * goes to the URI's [table full] node (the root's when the URI had no
 * room). */
static apr_uint32_t add_sample(rp_wctx_t *w, apr_uint32_t uri,
                               const rp_sample_view_t *sm, rp_path_t *path,
                               apr_uint64_t *d)
{
    rp_region_hdr_t *r = w->r;
    int depth = sm->frames && sm->depth > 0 ? sm->depth : 0;
    int cut = sm->truncated ? 1 : 0;
    int k, total;
    apr_uint32_t p, n, slot = 0;
    rp_frame_t f;
    rp_snode_t *leaf;

    if (depth > RP_STORE_DEPTH_MAX) {
        depth = RP_STORE_DEPTH_MAX;         /* frames[0] is innermost */
        cut = 1;
    }
    d[RP_CTR_DEPTH_TRUNCATED] += cut;
    total = depth + cut;
    if (uri == RP_STORE_NONE) {
        p = full_node(w, 0, &r->full_node);
        d[RP_CTR_TABLE_FULL]++;
        goto count;
    }
    p = w->uris[uri].node;
    for (k = 0; k < total; k++) {
        frame_at(w, sm->frames, depth, cut, k, &f);
        if (k < path->len) {
            if (node_is(&w->nodes[path->node[k]], p, &f)) {
                p = path->node[k];
                continue;
            }
            path->len = k;
        }
        if ((n = node_find(w, p, &f, &slot)) == 0) {
            break;
        }
        p = path->node[k] = n;
        path->len = k + 1;
    }
    if (k < total) {
        /* All or nothing: a half-inserted stack would be a wrong one. */
        if ((apr_uint64_t)r->n_nodes + r->reserve + (apr_uint64_t)(total - k)
            > w->g->cap_nodes) {
            p = full_node(w, w->uris[uri].node, &w->uris[uri].full_node);
            d[RP_CTR_TABLE_FULL]++;
            goto count;
        }
        p = path->node[k] = node_add(w, p, &f, slot);
        for (k++; k < total; k++) {
            frame_at(w, sm->frames, depth, cut, k, &f);
            n = node_find(w, p, &f, &slot);
            RP_EXPECT(w, n == 0);
            p = path->node[k] = node_add(w, p, &f, slot);
        }
        path->len = total;
    }
count:
    leaf = &w->nodes[p];
    leaf->self_count++;
    leaf->self_weight_ns += sm->weight_ns;
    d[RP_CTR_WEIGHT_NS] += sm->weight_ns;
    return p;
}

/* ------------------------------------------------------------------ */
/* Writer: URIs, ring, requests */

/* The index of (URI, LABEL) in the URI table, added with its node when
 * new; NONE when there is no room (table, strings, or nodes for it and
 * its reserved [table full]).  One URI with other labels (method, status,
 * host, handler) is another entry, with its own subtree. */
static apr_uint32_t uri_get(rp_wctx_t *w, const char *uri, const char *label)
{
    rp_region_hdr_t *r = w->r;
    const rp_geom_t *g = w->g;
    apr_size_t len = strnlen(uri, RP_STORE_URI_MAX - 1);
    apr_size_t llen = label ? strnlen(label, RP_STORE_LABEL_MAX - 1) : 0;
    char key[RP_STORE_URI_MAX + RP_STORE_LABEL_MAX];
    apr_size_t klen = len + (llen ? 1 + llen : 0);
    apr_uint32_t h, i, e, idx, slot;
    rp_frame_t f;
    rp_suri_t *u;

    memcpy(key, uri, len);
    key[len] = '\0';
    if (llen) {
        memcpy(key + len + 1, label, llen);
    }
    h = str_hash(key, klen);
    for (i = reduce(h, g->cap_uhash); (e = w->uhash[i]) != 0;
         i = next_slot(i, g->cap_uhash)) {
        u = &w->uris[e - 1];
        if (u->hash == h && u->len == len && u->label_len == llen
            && memcmp(w->ustr + u->str, key, klen) == 0) {
            return e - 1;
        }
    }
    if (r->n_uris >= g->cap_uris || klen + 1 > g->cap_ustr - r->ustr_used
        || (apr_uint64_t)r->n_nodes + r->reserve + 2 > g->cap_nodes) {
        return RP_STORE_NONE;
    }
    idx = r->n_uris;
    u = &w->uris[idx];
    memset(u, 0, sizeof(*u));
    u->str = r->ustr_used;
    u->len = (apr_uint32_t)len;
    u->label_len = (apr_uint32_t)llen;
    u->hash = h;
    memcpy(w->ustr + u->str, key, klen);
    w->ustr[u->str + klen] = '\0';
    r->ustr_used += (apr_uint32_t)klen + 1;
    f.kind = RP_FRAME_URI;
    f.object = idx;
    f.rel = 0;
    if (node_find(w, 0, &f, &slot) == 0) {
        u->node = node_add(w, 0, &f, slot);
    }
    r->reserve++;                   /* for this URI's [table full] */
    r->n_uris = idx + 1;
    w->uhash[i] = idx + 1;
    return idx;
}

static apr_uint64_t clamp_us(apr_int64_t us)
{
    return us > 0 ? (apr_uint64_t)us : 0;
}

static void ring_put(rp_wctx_t *w, const rp_request_info_t *req,
                     apr_uint32_t uri, int nsamples)
{
    rp_region_hdr_t *r = w->r;
    rp_sring_t *e = &w->ring[r->ring_head % w->g->cap_ring];

    e->time = req->time;
    e->wall_us = req->wall_us;
    e->cpu_us = req->cpu_us;
    e->samples = (apr_uint32_t)nsamples;
    e->status = req->status;
    e->uri = uri;
    e->unused = 0;
    apr_cpystrn(e->method, req->method ? req->method : "", sizeof(e->method));
    apr_cpystrn(e->uri_copy, req->uri ? req->uri : "", sizeof(e->uri_copy));
    r->ring_head++;
}

/* ------------------------------------------------------------------ */
/* Writer: kept requests */

static apr_uint32_t min_u32(apr_uint64_t a, apr_uint64_t b)
{
    apr_uint64_t m = a < b ? a : b;

    return m > 0xFFFFFFFFu ? 0xFFFFFFFFu : (apr_uint32_t)m;
}

/* The record a ring entry names, while it still holds that request. */
static apr_uint32_t ref_rec(const rp_wctx_t *w, const rp_sref_t *e)
{
    if (e->rec < w->r->kept_hw && w->kept[e->rec].reasons
        && (apr_uint32_t)w->kept[e->rec].seq == e->seq_lo) {
        return e->rec;
    }
    return RP_STORE_NONE;
}

/* Walk URI entry U's kept-slow records: set its floor (the fastest's
 * wall time; ties: the oldest) and return that record, or NONE. */
static apr_uint32_t slow_floor(rp_wctx_t *w, rp_suri_t *u)
{
    apr_uint32_t c, n = 0, best = RP_STORE_NONE;

    for (c = u->kslow_head; c != 0; c = w->kept[c - 1].next) {
        const rp_skept_t *k;

        if (!RP_EXPECT(w, c <= w->r->kept_hw && ++n <= w->r->kept_hw)) {
            break;
        }
        k = &w->kept[c - 1];
        /* As keep_begin compares: a negative time (a clock step) is 0,
         * not the slowest of all, never to give way. */
        if (best == RP_STORE_NONE
            || clamp_us(k->wall_us) < clamp_us(w->kept[best].wall_us)
            || (clamp_us(k->wall_us) == clamp_us(w->kept[best].wall_us)
                && k->seq < w->kept[best].seq)) {
            best = c - 1;
        }
    }
    u->kslow_floor_us = best == RP_STORE_NONE
                            ? 0
                            : clamp_us(w->kept[best].wall_us);
    return best;
}

/* Take record I off its URI's slow list. */
static void slow_unlink(rp_wctx_t *w, apr_uint32_t i)
{
    rp_skept_t *k = &w->kept[i];
    apr_uint32_t *link, n = 0;
    rp_suri_t *u;

    if (!RP_EXPECT(w, k->uri < w->r->n_uris)) {
        return;
    }
    u = &w->uris[k->uri];
    for (link = &u->kslow_head; *link != 0; link = &w->kept[*link - 1].next) {
        if (!RP_EXPECT(w, *link <= w->r->kept_hw && ++n <= w->r->kept_hw)) {
            return;
        }
        if (*link - 1 == i) {
            *link = k->next;
            k->next = 0;
            u->kslow_n--;
            w->r->kslow_total--;
            /* Its URI's floor may have been this one. */
            slow_floor(w, u);
            return;
        }
    }
    RP_EXPECT(w, !"a kept-slow record on its URI's list");
}

/* Record I is no longer kept for REASON; free when no rule keeps it. */
static void demote(rp_wctx_t *w, apr_uint32_t i, unsigned reason)
{
    rp_skept_t *k = &w->kept[i];

    if (!(k->reasons & reason)) {
        return;
    }
    if (reason == RP_KEEP_SLOW) {
        slow_unlink(w, i);
    }
    k->reasons &= ~reason;
    if (!k->reasons) {
        k->next = w->r->kfree;
        w->r->kfree = i + 1;
    }
}

static apr_uint32_t kept_alloc(rp_wctx_t *w)
{
    rp_region_hdr_t *r = w->r;
    apr_uint32_t i;

    if (r->kfree) {
        i = r->kfree - 1;
        if (!RP_EXPECT(w, i < r->kept_hw && !w->kept[i].reasons)) {
            r->kfree = 0;
            return RP_STORE_NONE;
        }
        r->kfree = w->kept[i].next;
        return i;
    }
    return r->kept_hw < w->g->cap_kept ? r->kept_hw++ : RP_STORE_NONE;
}

/* Cut the N lengths LEN so that their sum is at most ROOM, the longest
 * first: every length is cut to one share, and the shares are as equal
 * as can be once the lengths below them are whole.  So a long query
 * string leaves the host, handler and content type whole. */
static void fit_lengths(apr_size_t *len, int n, apr_size_t room)
{
    apr_size_t total = 0, share, extra;
    int whole[RP_KS_MAX], left = n, changed = 1, i;

    for (i = 0; i < n; i++) {
        total += len[i];
        whole[i] = 0;
    }
    if (total <= room) {
        return;
    }
    /* Each round makes whole those within a share of the room left;
     * that only raises the share of the others.  Some stay cut: the
     * total does not fit. */
    while (changed) {
        changed = 0;
        share = room / (apr_size_t)left;
        for (i = 0; i < n; i++) {
            if (!whole[i] && len[i] <= share) {
                whole[i] = 1;
                room -= len[i];
                left--;
                changed = 1;
            }
        }
    }
    share = room / (apr_size_t)left;
    extra = room % (apr_size_t)left;
    for (i = 0; i < n; i++) {
        if (!whole[i]) {
            len[i] = share + (extra > 0);
            extra -= extra > 0;
        }
    }
}

/* Copy the strings of a kept request into K->str, cut so that all fit,
 * and its headers, cut at a pair. */
static void kept_text(rp_skept_t *k, const rp_request_info_t *req)
{
    const rp_keep_info_t *ki = req->keep;
    const char *v[RP_KS_MAX];
    apr_size_t lens[RP_KS_MAX];
    apr_size_t used = 0, len, i;

    v[RP_KS_METHOD] = req->method;
    v[RP_KS_URI] = req->uri;
    v[RP_KS_QUERY] = ki->query;
    v[RP_KS_VHOST] = ki->vhost;
    v[RP_KS_HANDLER] = ki->handler;
    v[RP_KS_CTYPE] = ki->content_type;
    for (i = 0; i < RP_KS_MAX; i++) {
        lens[i] = v[i] ? strnlen(v[i], RP_KEEP_STR_MAX) : 0;
    }
    fit_lengths(lens, RP_KS_MAX, RP_KEEP_STR_MAX - RP_KS_MAX);
    for (i = 0; i < RP_KS_MAX; i++) {
        memcpy(k->str + used, v[i] ? v[i] : "", lens[i]);
        k->str[used + lens[i]] = '\0';
        used += lens[i] + 1;
    }
    k->str_len = (apr_uint32_t)used;
    len = ki->headers ? ki->headers_len : 0;
    if (len > RP_KEEP_HDR_MAX) {
        /* Back to the end of a whole pair. */
        apr_size_t nuls = 0, end = 0;
        for (i = 0; i < RP_KEEP_HDR_MAX; i++) {
            if (ki->headers[i] == '\0' && ++nuls % 2 == 0) {
                end = i + 1;
            }
        }
        len = end;
    }
    else if (len && ki->headers[len - 1] != '\0') {
        len = 0; /* not pairs: keep none */
    }
    memcpy(k->hdr, ki->headers ? ki->headers : "", len);
    k->hdr_len = (apr_uint32_t)(kept_strings_ok(k->hdr, (apr_uint32_t)len, 0)
                                    ? len
                                    : 0);
}

/* Let go, for REASON, of the requests of RING (kring or kerr, indexed
 * by seq or by error count) from *LO up to UPTO, NEXT being the index
 * the next one would be written at; *LO becomes UPTO.  Only the last
 * cap_kept entries are still in the ring, and the mark keeps within
 * them: every write of an entry is preceded by a sweep to no less than
 * its index + 1 - cap_kept. */
static void keep_sweep(rp_wctx_t *w, const rp_sref_t *ring, unsigned reason,
                       apr_uint64_t *lo, apr_uint64_t upto, apr_uint64_t next)
{
    apr_uint32_t cap = w->g->cap_kept, old;
    apr_uint64_t q = *lo;

    if (next > cap && q < next - cap) {
        q = next - cap;
    }
    for (; q < upto; q++) {
        old = ref_rec(w, &ring[q % cap]);
        if (old != RP_STORE_NONE
            && (reason != RP_KEEP_RECENT || w->kept[old].seq == q)) {
            demote(w, old, reason);
        }
    }
    if (upto > *lo) {
        *lo = upto;
    }
}

/* Decide whether REQ is kept, by the rules of K; if so take and fill a
 * record for it (spans are added by keep_span) and return its index,
 * else NONE.  D gathers the counter changes. */
/* The records SLOWEST may hold over all URIs: what RECENT's NREC and
 * ERRORS' NERR leave of CAP, so that a server with many URIs keeps its
 * recent and failed requests too (and a quarter when they ask for all). */
static apr_uint32_t slow_room(apr_uint32_t cap, apr_uint32_t nrec,
                              apr_uint32_t nerr)
{
    return (apr_uint64_t)nrec + nerr < cap ? cap - nrec - nerr : cap / 4;
}

/* The record held as SLOW with the least wall time over all URIs (ties:
 * the oldest), or NONE: a walk of the records, taken only when SLOWEST's
 * room is full and a URI's list grows. */
static apr_uint32_t slowest_fastest(const rp_wctx_t *w)
{
    apr_uint32_t i, best = RP_STORE_NONE;

    for (i = 0; i < w->r->kept_hw; i++) {
        const rp_skept_t *k = &w->kept[i];

        if ((k->reasons & RP_KEEP_SLOW)
            && (best == RP_STORE_NONE || k->wall_us < w->kept[best].wall_us
                || (k->wall_us == w->kept[best].wall_us
                    && k->seq < w->kept[best].seq))) {
            best = i;
        }
    }
    return best;
}

static apr_uint32_t keep_begin(rp_wctx_t *w, const rp_keep_policy_t *kp,
                               const rp_request_info_t *req, apr_uint32_t uri,
                               apr_uint64_t *d)
{
    rp_region_hdr_t *r = w->r;
    apr_uint32_t cap = w->g->cap_kept, i, old, victim = RP_STORE_NONE;
    apr_uint64_t seq = r->keep_seq + 1, wall = clamp_us(req->wall_us), q;
    apr_uint32_t nrec = min_u32((apr_uint64_t)kp->recent, cap);
    apr_uint32_t nerr = min_u32((apr_uint64_t)kp->errors, cap);
    apr_uint64_t is_err, upto;
    unsigned reasons = 0;
    rp_skept_t *k;

    if (!req->keep || !req->keep->id || cap == 0
        || (kp->recent <= 0 && kp->slowest <= 0 && kp->errors <= 0)) {
        return RP_STORE_NONE;
    }
    if (nrec) {
        reasons |= RP_KEEP_RECENT;
    }
    if (nerr && req->status >= 500) {
        reasons |= RP_KEEP_ERROR;
    }
    /* Those this one replaces let go first: their records may be the
     * room it needs.  RECENT keeps the NREC newest (this one among them),
     * ERRORS the NERR newest failed ones (this one among them when it
     * failed).  Swept from a mark, not one step per request, so that a
     * child whose rules keep fewer than those of the child that wrote
     * the region before it (recycled, or after a graceful restart) lets
     * the surplus go too. */
    upto = nrec ? seq + 1 - min_u32(nrec, seq) : seq;
    keep_sweep(w, w->kring, RP_KEEP_RECENT, &r->recent_lo, upto, seq);
    is_err = (reasons & RP_KEEP_ERROR) != 0;
    upto = r->err_count + is_err - min_u32(nerr, r->err_count + is_err);
    keep_sweep(w, w->kerr, RP_KEEP_ERROR, &r->err_lo, upto, r->err_count);
    if (uri != RP_STORE_NONE) {
        rp_suri_t *u = &w->uris[uri];
        apr_uint32_t nslow = min_u32((apr_uint64_t)kp->slowest, cap);

        /* The same for SLOWEST, one URI at a time: its fastest go, and
         * the floor is that of those left. */
        if (u->kslow_n > nslow) {
            while (u->kslow_n > nslow && !w->broken
                   && (old = slow_floor(w, u)) != RP_STORE_NONE) {
                demote(w, old, RP_KEEP_SLOW);
            }
            slow_floor(w, u);
        }
        if (nslow && u->kslow_n < nslow) {
            reasons |= RP_KEEP_SLOW;
        }
        else if (nslow && wall > u->kslow_floor_us) {
            reasons |= RP_KEEP_SLOW;
            victim = slow_floor(w, u);
        }
    }
    if ((reasons & RP_KEEP_SLOW) && victim == RP_STORE_NONE
        && r->kslow_total >= slow_room(cap, nrec, nerr)) {
        /* One more URI's slowest would take the room of the recent and
         * failed requests: among all URIs, the fastest kept as slow gives
         * way, if this one is slower. */
        apr_int64_t fastest;

        old = slowest_fastest(w);
        fastest = old != RP_STORE_NONE ? w->kept[old].wall_us : 0;
        if (old != RP_STORE_NONE && wall > clamp_us(fastest)) {
            /* Let go early for lack of room: counted as such. */
            victim = old;
            d[RP_CTR_KEPT_FULL]++;
        }
        else {
            reasons &= ~(unsigned)RP_KEEP_SLOW;
            d[RP_CTR_KEPT_FULL] += reasons == 0;
        }
    }
    if (!reasons) {
        return RP_STORE_NONE;
    }
    if (victim != RP_STORE_NONE) {
        demote(w, victim, RP_KEEP_SLOW);
    }
    i = kept_alloc(w);
    if (i == RP_STORE_NONE && (reasons & (RP_KEEP_SLOW | RP_KEEP_ERROR))) {
        /* No room: the oldest request kept only as recent gives way to a
         * slow or failed one. */
        for (q = seq > cap ? seq - cap : 1; q < seq; q++) {
            old = ref_rec(w, &w->kring[q % cap]);
            if (old != RP_STORE_NONE && w->kept[old].seq == q
                && w->kept[old].reasons == RP_KEEP_RECENT) {
                demote(w, old, RP_KEEP_RECENT);
                d[RP_CTR_KEPT_FULL]++;
                break;
            }
        }
        i = kept_alloc(w);
    }
    if (i == RP_STORE_NONE) {
        d[RP_CTR_KEPT_FULL]++;
        return RP_STORE_NONE;
    }
    k = &w->kept[i];
    k->reasons = reasons;
    k->uri = uri;
    k->seq = seq;
    k->next = 0;
    k->status = req->status;
    k->time = req->time;
    k->wall_us = req->wall_us;
    k->cpu_us = req->cpu_us;
    k->bytes = req->keep->bytes;
    k->samples = 0;
    k->samples_lost = 0;
    k->n_spans = 0;
    k->unused = 0;
    apr_cpystrn(k->id, req->keep->id, sizeof(k->id));
    kept_text(k, req);
    r->keep_seq = seq;
    w->kring[seq % cap].rec = i;
    w->kring[seq % cap].seq_lo = (apr_uint32_t)seq;
    if (reasons & RP_KEEP_ERROR) {
        w->kerr[r->err_count % cap].rec = i;
        w->kerr[r->err_count % cap].seq_lo = (apr_uint32_t)seq;
        r->err_count++;
    }
    if (reasons & RP_KEEP_SLOW) {
        rp_suri_t *u = &w->uris[uri];
        k->next = u->kslow_head;
        u->kslow_head = i + 1;
        u->kslow_n++;
        r->kslow_total++;
        slow_floor(w, u);
    }
    d[RP_CTR_KEPT]++;
    return i;
}

/* Add a sample of leaf LEAF to kept record K: to the last span when it
 * is of the same leaf and follows it within a sample's time, else to a
 * new span; with no span left, to an earlier span of the same leaf
 * (losing its place in time), else it is counted as not kept. */
static void keep_span(rp_skept_t *k, apr_uint32_t leaf,
                      const rp_sample_view_t *sm)
{
    apr_uint32_t wus = min_u32((sm->weight_ns + 500) / 1000, 0xFFFFFFFFu);
    apr_uint32_t end = min_u32(sm->end_us, 0xFFFFFFFFu);
    apr_uint32_t off = sm->offcpu ? RP_SPAN_OFF : 0;
    rp_sspan_t *sp;
    apr_uint32_t i;

    k->samples++;
    if (k->n_spans) {
        sp = &k->spans[k->n_spans - 1];
        if (sp->node == leaf && (sp->count & RP_SPAN_OFF) == off
            && RP_SPAN_COUNT(sp->count) < RP_SPAN_OFF - 1 && end >= sp->end_us
            && end - sp->end_us <= 2 * (apr_uint64_t)wus + 1) {
            sp->count++;
            sp->weight_us = min_u32((apr_uint64_t)sp->weight_us + wus,
                                    0xFFFFFFFFu);
            sp->end_us = end;
            return;
        }
    }
    if (k->n_spans < RP_KEEP_SPANS) {
        sp = &k->spans[k->n_spans++];
        sp->node = leaf;
        sp->count = 1 | off;
        sp->end_us = end;
        sp->weight_us = wus;
        return;
    }
    for (i = 0; i < RP_KEEP_SPANS; i++) {
        sp = &k->spans[i];
        if (sp->node == leaf && (sp->count & RP_SPAN_OFF) == off
            && RP_SPAN_COUNT(sp->count) < RP_SPAN_OFF - 1) {
            sp->count++;
            sp->weight_us = min_u32((apr_uint64_t)sp->weight_us + wus,
                                    0xFFFFFFFFu);
            return;
        }
    }
    k->samples_lost++;
}

void rp_store_set_keep(rp_store_t *s, const rp_keep_policy_t *k)
{
    /* A negative number keeps none (keep_begin would read it as huge). */
    s->keep.recent = k->recent > 0 ? k->recent : 0;
    s->keep.slowest = k->slowest > 0 ? k->slowest : 0;
    s->keep.errors = k->errors > 0 ? k->errors : 0;
}

apr_uint32_t rp_store_kept_capacity(const rp_store_t *s)
{
    return s->g.cap_kept;
}

void rp_store_add_request(rp_store_t *s, int slot,
                          const rp_request_info_t *req,
                          const rp_sample_view_t *samples, int nsamples,
                          const rp_drop_counts_t *drops)
{
    apr_uint64_t d[RP_CTR_MAX];
    apr_uint32_t gen, uri = RP_STORE_NONE, kept = RP_STORE_NONE, leaf;
    rp_region_hdr_t *r;
    rp_path_t path;                 /* 4 KB of stack */
    rp_wctx_t w;
    int i;

    if (!RP_EXPECT(NULL, slot >= 0 && slot < s->nslots)
        || !RP_EXPECT(NULL, nsamples >= 0 && (req || nsamples == 0))) {
        return;
    }
    memset(d, 0, sizeof(d));
    region_ctx(s, slot, &w);
    r = w.r;

    if (!write_begin(&w)) {
        return;
    }
    gen = __atomic_load_n(&s->hdr->generation, __ATOMIC_ACQUIRE);
    if (r->generation != gen) {
        region_reset(&w, gen, 0);
    }
    if (req) {
        uri = uri_get(&w, req->uri ? req->uri : "", req->label);
        d[RP_CTR_URI_FULL] = uri == RP_STORE_NONE;
        d[RP_CTR_REQUESTS] = 1;
        kept = keep_begin(&w, &s->keep, req, uri, d);
    }
    path.len = 0;
    for (i = 0; i < nsamples; i++) {
        leaf = add_sample(&w, uri, &samples[i], &path, d);
        if (kept != RP_STORE_NONE) {
            keep_span(&w.kept[kept], leaf, &samples[i]);
        }
    }
    if (req) {
        if (uri != RP_STORE_NONE) {
            rp_suri_t *u = &w.uris[uri];
            apr_uint64_t wall = clamp_us(req->wall_us);
            apr_uint64_t cpu = clamp_us(req->cpu_us);

            u->samples += (apr_uint64_t)nsamples;
            u->requests++;
            u->weight_ns += d[RP_CTR_WEIGHT_NS];
            u->sum_wall_us += wall;
            u->sum_cpu_us += cpu;
            u->max_wall_us = wall > u->max_wall_us ? wall : u->max_wall_us;
            u->max_cpu_us = cpu > u->max_cpu_us ? cpu : u->max_cpu_us;
        }
        ring_put(&w, req, uri, nsamples);
        if (r->first_time == 0 || req->time < r->first_time) {
            r->first_time = req->time;
        }
        if (req->time > r->last_time) {
            r->last_time = req->time;
        }
    }
    if (drops) {
        d[RP_CTR_TICKS] = drops->ticks;
        d[RP_CTR_BUFFER_FULL] = drops->buffer_full;
        d[RP_CTR_UNWIND_FAILED] = drops->unwind_failed;
        d[RP_CTR_OTHER_DROPPED] = drops->other_dropped;
        d[RP_CTR_OUTSIDE_REQUEST] = drops->outside_request;
        d[RP_CTR_SCRIPT_MERGED] = drops->script_merged;
        d[RP_CTR_SCRIPT_MISMATCH] = drops->script_mismatch;
        d[RP_CTR_SCRIPT_FAULT] = drops->script_fault;
        d[RP_CTR_SCRIPT_CUT] = drops->script_cut;
        d[RP_CTR_SCRIPT_NAMES_FULL] = drops->script_names_full;
    }
    else {
        d[RP_CTR_TICKS] = (apr_uint64_t)nsamples;
    }
    for (i = 0; i < RP_CTR_MAX; i++) {
        if (i != RP_CTR_SAMPLES) {
            r->counters[i] += d[i];
        }
    }
    /* The sample counter last, after a compiler barrier: if this process
     * dies before it, the selfs (or a URI's samples) disagree with it and
     * region_check sees the half-stored request; after it, the request is
     * complete. */
    RP_COMPILER_BARRIER();
    r->counters[RP_CTR_SAMPLES] += (apr_uint64_t)nsamples;
    if (w.broken) {
        /* What it holds cannot be trusted: readers skip a region of
         * generation 0 and the next write resets it (counted as a
         * reset, as a region a dead writer broke). */
        r->generation = 0;
        __atomic_fetch_add(&s->hdr->regions_reset, 1, __ATOMIC_RELAXED);
    }
    write_end(r);
}

/* ------------------------------------------------------------------ */
/* Reader */

/* clang-format off */
struct rp_snapshot_t {
    rp_snapshot_info_t info;
    int nregions;
    rp_region_t *regions;
    const rp_kept_t *request;       /* rp_snapshot_request's, else NULL */
};
/* clang-format on */

/* A reader's private buffers, reused from region to region (malloc'd,
 * freed at the end: they hold the raw copy, the pool holds the result). */
typedef struct {
    void *p;
    apr_size_t size;
} rp_buf_t;

typedef struct {
    rp_region_hdr_t hdr;            /* copy of the region header */
    rp_buf_t raw;                   /* copy of the tables' used parts */
    rp_buf_t tot;                   /* node totals: counts, then weights */
    rp_buf_t kept;                  /* kept records up to their spans, then
                                     * the spans of the one asked for */
    int flags;                      /* RP_SNAP_ */
    const char *id;                 /* the kept request asked for, or NULL */
} rp_scratch_t;

typedef enum {
    RP_COPY_OK,
    RP_COPY_STALE,                  /* no data of this generation */
    RP_COPY_BUSY                    /* never caught between writes */
} rp_copy_e;

static int buf_grow(rp_buf_t *b, apr_size_t need)
{
    void *np;

    if (need <= b->size) {
        return 1;
    }
    need += need / 4;               /* the region may grow between tries */
    if (!(np = realloc(b->p, need))) {
        return 0;
    }
    b->p = np;
    b->size = need;
    return 1;
}

static apr_uint32_t min32(apr_uint32_t a, apr_uint32_t b)
{
    return a < b ? a : b;
}

/* The tables a reader copies, in the order of rp_image_t's pointers. */
enum { RP_T_NODES, RP_T_URIS, RP_T_USTR, RP_T_RING, RP_T_OBJS, RP_T_OSTR,
       RP_T_MAX };

/* Copy the used kept records of the region at R (HW of them at most,
 * as its header said) into SC: each up to its spans, and the spans of
 * the one whose id is SC->id.  Returns 0 when memory ran out. */
static int kept_copy(const rp_store_t *s, const char *r, apr_uint32_t hw,
                     rp_scratch_t *sc, rp_image_t *im)
{
    const rp_skept_t *src = (const rp_skept_t *)(r + s->g.off_kept);
    apr_size_t spans = sizeof(rp_sspan_t) * RP_KEEP_SPANS;
    apr_uint32_t i, n = 0;
    char *buf;

    hw = min32(hw, s->g.cap_kept);
    if (!buf_grow(&sc->kept, (apr_size_t)hw * RP_KEPT_HEAD + spans + 64)) {
        return 0;
    }
    buf = sc->kept.p;
    im->want = RP_STORE_NONE;
    im->want_spans = NULL;
    for (i = 0; i < hw; i++) {
        if (!src[i].reasons) {
            continue;
        }
        memcpy(buf + (apr_size_t)n * RP_KEPT_HEAD, &src[i], RP_KEPT_HEAD);
        if (sc->id && im->want == RP_STORE_NONE
            && strncmp(src[i].id, sc->id, RP_KEEP_ID_MAX) == 0) {
            im->want = n;
        }
        n++;
    }
    if (im->want != RP_STORE_NONE) {
        /* The record may have been reused since: the seqlock says. */
        char *at = buf + RP_ALIGN64((apr_size_t)n * RP_KEPT_HEAD);
        for (i = 0; i < hw; i++) {
            if (strncmp(src[i].id, sc->id, RP_KEEP_ID_MAX) == 0
                && src[i].reasons) {
                memcpy(at, src[i].spans, spans);
                break;
            }
        }
        im->want_spans = (const rp_sspan_t *)at;
    }
    im->kept = buf;
    im->n_kept = n;
    im->kept_stride = RP_KEPT_HEAD;
    return 1;
}

/* Copy the used part of SLOT's region into SC and describe it in IM. */
static rp_copy_e region_copy(const rp_store_t *s, int slot, apr_uint32_t gen,
                             rp_scratch_t *sc, rp_image_t *im,
                             rp_snapshot_info_t *info)
{
    const rp_geom_t *g = &s->g;
    const char *r = (const char *)RP_REGION(s, slot);
    apr_uint32_t *seq = &RP_REGION(s, slot)->seq;
    rp_region_hdr_t *h = &sc->hdr;
    apr_time_t start = apr_time_now();
    apr_size_t src[RP_T_MAX], len[RP_T_MAX], dst[RP_T_MAX], need;
    apr_uint32_t s1, n_ring;
    char *buf;
    int tries, t;

    src[RP_T_NODES] = g->off_nodes;
    src[RP_T_URIS] = g->off_uris;
    src[RP_T_USTR] = g->off_ustr;
    src[RP_T_RING] = g->off_ring;
    src[RP_T_OBJS] = g->off_objs;
    src[RP_T_OSTR] = g->off_ostr;
    for (tries = 0; tries < RP_SNAP_TRIES; tries++) {
        if (tries > 0) {
            info->retries++;
            if (apr_time_now() - start > RP_SNAP_BUDGET) {
                break;
            }
            if (tries < RP_SNAP_YIELDS) {
                apr_thread_yield();
            }
            else {
                apr_sleep(RP_SNAP_SLEEP);
            }
        }
        s1 = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            continue;
        }
        memcpy(h, r, sizeof(*h));
        if (h->generation != gen) {
            RP_FENCE_ACQUIRE();
            if (__atomic_load_n(seq, __ATOMIC_RELAXED) == s1) {
                return RP_COPY_STALE;
            }
            continue;
        }
        /* Counts read during a write may be anything: bound them by the
         * capacities so that the copy stays inside the region; the seq
         * check, then region_check, reject what is not consistent. */
        h->n_nodes = min32(h->n_nodes, g->cap_nodes);
        h->n_uris = min32(h->n_uris, g->cap_uris);
        h->ustr_used = min32(h->ustr_used, g->cap_ustr);
        h->n_objs = min32(h->n_objs, g->cap_objs);
        h->ostr_used = min32(h->ostr_used, g->cap_ostr);
        n_ring = h->ring_head < g->cap_ring ? (apr_uint32_t)h->ring_head
                                            : g->cap_ring;
        len[RP_T_NODES] = (apr_size_t)h->n_nodes * sizeof(rp_snode_t);
        len[RP_T_URIS] = (apr_size_t)h->n_uris * sizeof(rp_suri_t);
        len[RP_T_USTR] = h->ustr_used;
        len[RP_T_RING] = (apr_size_t)n_ring * sizeof(rp_sring_t);
        len[RP_T_OBJS] = (apr_size_t)h->n_objs * sizeof(rp_sobj_t);
        len[RP_T_OSTR] = h->ostr_used;
        for (t = 0, need = 0; t < RP_T_MAX; t++) {
            dst[t] = need;
            need = RP_ALIGN64(need + len[t]);
        }
        if (!buf_grow(&sc->raw, need)) {
            return RP_COPY_BUSY;
        }
        buf = sc->raw.p;
        for (t = 0; t < RP_T_MAX; t++) {
            memcpy(buf + dst[t], r + src[t], len[t]);
        }
        im->kept = NULL;
        im->n_kept = 0;
        im->kept_stride = RP_KEPT_HEAD;
        im->want_spans = NULL;
        im->want = RP_STORE_NONE;
        if ((sc->flags & RP_SNAP_KEPT)
            && !kept_copy(s, r, h->kept_hw, sc, im)) {
            return RP_COPY_BUSY;
        }
        RP_FENCE_ACQUIRE();
        if (__atomic_load_n(seq, __ATOMIC_RELAXED) != s1) {
            continue;
        }
        im->hdr = h;
        im->nodes = (const rp_snode_t *)(buf + dst[RP_T_NODES]);
        im->uris = (const rp_suri_t *)(buf + dst[RP_T_URIS]);
        im->ustr = buf + dst[RP_T_USTR];
        im->ring = (const rp_sring_t *)(buf + dst[RP_T_RING]);
        im->n_ring = n_ring;
        im->objs = (const rp_sobj_t *)(buf + dst[RP_T_OBJS]);
        im->ostr = buf + dst[RP_T_OSTR];
        im->nhash = NULL;
        im->uhash = NULL;
        im->kring = NULL;
        im->kerr = NULL;
        return RP_COPY_OK;
    }
    return RP_COPY_BUSY;
}

static apr_uint32_t link_out(apr_uint32_t i)
{
    return i == 0 ? RP_STORE_NONE : i;
}

static int kept_by_seq(const void *x, const void *y)
{
    const rp_kept_t *a = x, *b = y;

    return a->seq < b->seq ? 1 : a->seq > b->seq ? -1 : 0;
}

/* The kept records of a checked copy, newest first (URIS: the region's,
 * already converted). */
static void kept_view(apr_pool_t *p, int slot, const rp_image_t *im,
                      const rp_uri_t *uris, rp_region_t *out)
{
    rp_kept_t *kept = apr_pcalloc(p, (im->n_kept + 1) * sizeof(*kept));
    const char *v[RP_KS_MAX];
    apr_uint32_t i, k, j, n;

    for (i = 0; i < im->n_kept; i++) {
        const rp_skept_t *src = krec(im, i);
        rp_kept_t *o = &kept[i];
        const char *str = apr_pmemdup(p, src->str, src->str_len);

        for (k = 0, j = 0; k < RP_KS_MAX; k++) {
            v[k] = str + j;
            j += (apr_uint32_t)strlen(str + j) + 1;
        }
        o->id = apr_pstrndup(p, src->id, sizeof(src->id));
        o->reasons = src->reasons;
        o->seq = src->seq;
        o->slot = slot;
        o->time = src->time;
        o->method = v[RP_KS_METHOD];
        o->uri = src->uri != RP_STORE_NONE ? uris[src->uri].uri
                                           : v[RP_KS_URI];
        o->query = v[RP_KS_QUERY];
        o->vhost = v[RP_KS_VHOST];
        o->handler = v[RP_KS_HANDLER];
        o->content_type = v[RP_KS_CTYPE];
        o->uri_index = src->uri;
        o->status = src->status;
        o->bytes = src->bytes;
        o->wall_us = src->wall_us;
        o->cpu_us = src->cpu_us;
        o->samples = src->samples;
        o->samples_lost = src->samples_lost;
        if (src->hdr_len) {
            const char *hdr = apr_pmemdup(p, src->hdr, src->hdr_len);
            rp_header_t *hs;

            for (j = 0, n = 0; j < src->hdr_len; j++) {
                n += hdr[j] == '\0';
            }
            hs = apr_palloc(p, (n / 2 + 1) * sizeof(*hs));
            for (j = 0, k = 0; k < n / 2; k++) {
                hs[k].name = hdr + j;
                j += (apr_uint32_t)strlen(hdr + j) + 1;
                hs[k].value = hdr + j;
                j += (apr_uint32_t)strlen(hdr + j) + 1;
            }
            o->headers = hs;
            o->n_headers = n / 2;
        }
        if (i == im->want && im->want_spans) {
            rp_span_t *sp = apr_palloc(p, (src->n_spans + 1) * sizeof(*sp));

            for (k = 0; k < src->n_spans; k++) {
                sp[k].node = im->want_spans[k].node;
                sp[k].count = RP_SPAN_COUNT(im->want_spans[k].count);
                sp[k].offcpu = (im->want_spans[k].count & RP_SPAN_OFF) != 0;
                sp[k].end_us = im->want_spans[k].end_us;
                sp[k].weight_ns = (apr_uint64_t)im->want_spans[k].weight_us
                                  * 1000;
                o->weight_ns += sp[k].weight_ns;
            }
            o->spans = sp;
            o->n_spans = src->n_spans;
        }
    }
    qsort(kept, im->n_kept, sizeof(*kept), kept_by_seq);
    out->kept = kept;
    out->n_kept = im->n_kept;
}

/* Turn a checked copy into the public, pool-allocated form. */
static void region_view(apr_pool_t *p, const rp_store_t *s, int slot,
                        const rp_image_t *im, const apr_uint64_t *tc,
                        const apr_uint64_t *tw, rp_region_t *out)
{
    const rp_region_hdr_t *h = im->hdr;
    const rp_geom_t *g = &s->g;
    const char *ustr = apr_pmemdup(p, im->ustr, h->ustr_used);
    const char *ostr = apr_pmemdup(p, im->ostr, h->ostr_used);
    rp_node_t *nodes = apr_palloc(p, h->n_nodes * sizeof(*nodes));
    rp_object_t *objs = apr_palloc(p, (h->n_objs + 1) * sizeof(*objs));
    rp_uri_t *uris = apr_palloc(p, (h->n_uris + 1) * sizeof(*uris));
    rp_recent_t *recent = apr_palloc(p, (im->n_ring + 1) * sizeof(*recent));
    apr_uint32_t i;

    out->slot = slot;
    out->owner = (apr_int32_t)h->owner;
    out->first_time = h->first_time;
    out->last_time = h->last_time;
    memcpy(out->counters, h->counters, sizeof(out->counters));

    for (i = 0; i < h->n_nodes; i++) {
        const rp_snode_t *nd = &im->nodes[i];

        nodes[i].parent = i == 0 ? RP_STORE_NONE : nd->parent;
        nodes[i].first_child = link_out(nd->first_child);
        nodes[i].next_sibling = link_out(nd->next_sibling);
        nodes[i].frame.kind = (rp_frame_kind_e)nd->kind;
        nodes[i].frame.object = nd->object;
        nodes[i].frame.rel = nd->rel;
        nodes[i].self_count = nd->self_count;
        nodes[i].self_weight_ns = nd->self_weight_ns;
        nodes[i].total_count = tc[i];
        nodes[i].total_weight_ns = tw[i];
    }
    out->nodes = nodes;
    out->n_nodes = h->n_nodes;
    out->cap_nodes = g->cap_nodes;

    for (i = 0; i < h->n_objs; i++) {
        objs[i].path = ostr + im->objs[i].path;
        objs[i].build_id = ostr + im->objs[i].build_id;
        objs[i].lang = (int)(im->objs[i].tag & RP_OBJ_LANG_MASK);
        objs[i].line = (int)(im->objs[i].tag >> 4);
    }
    out->objects = objs;
    out->n_objects = h->n_objs;
    out->cap_objects = g->cap_objs;

    for (i = 0; i < h->n_uris; i++) {
        const rp_suri_t *u = &im->uris[i];

        uris[i].uri = ustr + u->str;
        uris[i].label = u->label_len ? ustr + u->str + u->len + 1 : "";
        uris[i].node = u->node;
        uris[i].requests = u->requests;
        uris[i].samples = u->samples;
        uris[i].weight_ns = u->weight_ns;
        uris[i].sum_wall_us = u->sum_wall_us;
        uris[i].max_wall_us = u->max_wall_us;
        uris[i].sum_cpu_us = u->sum_cpu_us;
        uris[i].max_cpu_us = u->max_cpu_us;
    }
    out->uris = uris;
    out->n_uris = h->n_uris;
    out->cap_uris = g->cap_uris;

    for (i = 0; i < im->n_ring; i++) {
        const rp_sring_t *e = &im->ring[(h->ring_head - 1 - i) % g->cap_ring];
        rp_recent_t *o = &recent[i];

        o->time = e->time;
        o->method = apr_pstrndup(p, e->method, sizeof(e->method));
        o->uri_index = e->uri;
        o->uri = e->uri != RP_STORE_NONE
                 ? uris[e->uri].uri
                 : apr_pstrndup(p, e->uri_copy, sizeof(e->uri_copy));
        o->status = e->status;
        o->wall_us = e->wall_us;
        o->cpu_us = e->cpu_us;
        o->samples = e->samples;
    }
    out->recent = recent;
    out->n_recent = im->n_ring;
    out->cap_recent = g->cap_ring;
    kept_view(p, slot, im, uris, out);
    out->cap_kept = g->cap_kept;
}

rp_snapshot_t *rp_store_snapshot(const rp_store_t *s, apr_pool_t *p)
{
    return rp_store_snapshot_ex(s, p, 0, NULL);
}

rp_snapshot_t *rp_store_snapshot_ex(const rp_store_t *s, apr_pool_t *p,
                                    int flags, const char *id)
{
    rp_snapshot_t *snap = apr_pcalloc(p, sizeof(*snap));
    rp_snapshot_info_t *info = &snap->info;
    rp_seg_hdr_t *sh = s->hdr;
    rp_scratch_t sc;
    rp_image_t im;
    apr_uint64_t *tot;
    int i;

    memset(&sc, 0, sizeof(sc));
    sc.flags = flags | (id ? RP_SNAP_KEPT : 0);
    sc.id = id;
    info->taken = apr_time_now();
    info->created = sh->created;
    info->generation = __atomic_load_n(&sh->generation, __ATOMIC_ACQUIRE);
    rp_store_settings_get(s, &info->settings);
    info->nslots = s->nslots;
    info->region_size = s->region_size;
    info->no_slot = __atomic_load_n(&sh->no_slot, __ATOMIC_RELAXED);
    info->regions_repaired = __atomic_load_n(&sh->regions_repaired,
                                             __ATOMIC_RELAXED);
    info->regions_reset = __atomic_load_n(&sh->regions_reset,
                                          __ATOMIC_RELAXED);
    info->samples_lost = __atomic_load_n(&sh->samples_lost, __ATOMIC_RELAXED);
    snap->regions = apr_pcalloc(p, s->nslots * sizeof(rp_region_t));

    for (i = 0; i < s->nslots; i++) {
        switch (region_copy(s, i, info->generation, &sc, &im, info)) {
        case RP_COPY_STALE:
            info->stale++;
            continue;
        case RP_COPY_BUSY:
            info->busy++;
            continue;
        case RP_COPY_OK:
            break;
        }
        if (!buf_grow(&sc.tot, 2 * sizeof(apr_uint64_t) * im.hdr->n_nodes)) {
            info->busy++;
            continue;
        }
        tot = sc.tot.p;
        if (!region_check(&s->g, &im, tot, tot + im.hdr->n_nodes)) {
            info->invalid++;
            continue;
        }
        region_view(p, s, i, &im, tot, tot + im.hdr->n_nodes,
                    &snap->regions[snap->nregions++]);
    }
    free(sc.raw.p);
    free(sc.tot.p);
    free(sc.kept.p);
    return snap;
}

const rp_kept_t *rp_snapshot_find(const rp_snapshot_t *snap, const char *id)
{
    const rp_kept_t *found = NULL;
    apr_uint32_t k;
    int i;

    for (i = 0; i < snap->nregions; i++) {
        for (k = 0; k < snap->regions[i].n_kept; k++) {
            const rp_kept_t *o = &snap->regions[i].kept[k];
            /* The newest of a (pasted, foreign) id given twice. */
            if (strcmp(o->id, id) == 0
                && (!found || o->time > found->time
                    || (o->spans && !found->spans))) {
                found = o;
            }
        }
    }
    return found;
}

const rp_kept_t *rp_snapshot_kept(const rp_snapshot_t *snap)
{
    return snap->request;
}

rp_snapshot_t *rp_snapshot_request(apr_pool_t *p, const rp_snapshot_t *snap,
                                   const char *id)
{
    const rp_kept_t *k = rp_snapshot_find(snap, id);
    const rp_region_t *reg = NULL;
    rp_snapshot_t *one;
    rp_region_t *out;
    rp_kept_t *ko;
    rp_node_t *nodes;
    rp_span_t *spans;
    rp_recent_t *rec;
    apr_uint64_t *cnt, *wt;
    apr_uint32_t *map, i, n, uri_node = RP_STORE_NONE;
    int r;

    /* Without its timeline (SNAP was not taken with its id) there is no
     * profile of it to make. */
    if (!k || !k->spans) {
        return NULL;
    }
    for (r = 0; r < snap->nregions; r++) {
        if (snap->regions[r].slot == k->slot) {
            reg = &snap->regions[r];
        }
    }
    if (!reg || !reg->n_nodes) {
        return NULL;
    }
    n = reg->n_nodes;
    cnt = apr_pcalloc(p, sizeof(*cnt) * n);
    wt = apr_pcalloc(p, sizeof(*wt) * n);
    map = apr_palloc(p, sizeof(*map) * n);
    for (i = 0; i < k->n_spans; i++) {
        cnt[k->spans[i].node] += k->spans[i].count;
        wt[k->spans[i].node] += k->spans[i].weight_ns;
    }
    /* Totals bottom-up: a node is kept when it has any. */
    {
        apr_uint64_t *tc = apr_pmemdup(p, cnt, sizeof(*cnt) * n);
        apr_uint64_t *tw = apr_pmemdup(p, wt, sizeof(*wt) * n);
        apr_uint32_t m = 0;

        if (k->uri_index != RP_STORE_NONE && k->uri_index < reg->n_uris) {
            uri_node = reg->uris[k->uri_index].node;
        }
        for (i = n - 1; i > 0; i--) {
            tc[reg->nodes[i].parent] += tc[i];
            tw[reg->nodes[i].parent] += tw[i];
        }
        nodes = apr_pcalloc(p, sizeof(*nodes) * n);
        for (i = 0; i < n; i++) {
            const rp_node_t *src = &reg->nodes[i];
            rp_node_t *d;

            map[i] = RP_STORE_NONE;
            if (i != 0 && tc[i] == 0 && i != uri_node) {
                continue;
            }
            map[i] = m;
            d = &nodes[m++];
            *d = *src;
            d->parent = i == 0 ? RP_STORE_NONE : map[src->parent];
            d->first_child = RP_STORE_NONE;
            d->next_sibling = RP_STORE_NONE;
            d->self_count = cnt[i];
            d->self_weight_ns = wt[i];
            d->total_count = tc[i];
            d->total_weight_ns = tw[i];
            if (d->frame.kind == RP_FRAME_URI) {
                d->frame.object = 0;
            }
            if (i != 0) {
                /* Children newest first, as the store links them. */
                d->next_sibling = nodes[d->parent].first_child;
                nodes[d->parent].first_child = m - 1;
            }
        }
        n = m;
    }
    one = apr_pcalloc(p, sizeof(*one));
    one->info = snap->info;
    one->nregions = 1;
    one->regions = out = apr_pcalloc(p, sizeof(*out));
    out->slot = reg->slot;
    out->owner = reg->owner;
    out->first_time = out->last_time = k->time;
    out->nodes = nodes;
    out->n_nodes = out->cap_nodes = n;
    out->objects = reg->objects;
    out->n_objects = reg->n_objects;
    out->cap_objects = reg->cap_objects;
    if (uri_node != RP_STORE_NONE) {
        rp_uri_t *u = apr_pcalloc(p, sizeof(*u));
        *u = reg->uris[k->uri_index];
        u->node = map[uri_node];
        u->requests = 1;
        u->samples = nodes[u->node].total_count;
        u->weight_ns = nodes[u->node].total_weight_ns;
        u->sum_wall_us = u->max_wall_us = k->wall_us > 0
                                              ? (apr_uint64_t)k->wall_us
                                              : 0;
        u->sum_cpu_us = u->max_cpu_us = k->cpu_us > 0
                                            ? (apr_uint64_t)k->cpu_us
                                            : 0;
        out->uris = u;
        out->n_uris = out->cap_uris = 1;
    }
    out->counters[RP_CTR_REQUESTS] = 1;
    out->counters[RP_CTR_SAMPLES] = nodes[0].total_count;
    out->counters[RP_CTR_TICKS] = nodes[0].total_count;
    out->counters[RP_CTR_WEIGHT_NS] = nodes[0].total_weight_ns;
    out->counters[RP_CTR_KEPT] = 1;
    rec = apr_pcalloc(p, sizeof(*rec));
    rec->time = k->time;
    rec->method = k->method;
    rec->uri = k->uri;
    rec->uri_index = uri_node != RP_STORE_NONE ? 0 : RP_STORE_NONE;
    rec->status = k->status;
    rec->wall_us = k->wall_us;
    rec->cpu_us = k->cpu_us;
    rec->samples = k->samples;
    out->recent = rec;
    out->n_recent = out->cap_recent = 1;
    ko = apr_pmemdup(p, k, sizeof(*k));
    spans = apr_palloc(p, sizeof(*spans) * (k->n_spans + 1));
    for (i = 0; i < k->n_spans; i++) {
        spans[i] = k->spans[i];
        spans[i].node = map[k->spans[i].node];
    }
    ko->spans = spans;
    ko->uri_index = rec->uri_index;
    out->kept = ko;
    out->n_kept = out->cap_kept = 1;
    one->request = ko;
    return one;
}

const rp_snapshot_info_t *rp_snapshot_info(const rp_snapshot_t *snap)
{
    return &snap->info;
}

int rp_snapshot_nregions(const rp_snapshot_t *snap)
{
    return snap->nregions;
}

const rp_region_t *rp_snapshot_region(const rp_snapshot_t *snap, int i)
{
    return RP_EXPECT(NULL, i >= 0 && i < snap->nregions)
           ? &snap->regions[i] : NULL;
}

const char *rp_store_counter_name(rp_counter_e c)
{
    return (unsigned)c < RP_CTR_MAX ? counter_names[c] : "?";
}

const char *rp_store_frame_kind_name(rp_frame_kind_e kind)
{
    return (unsigned)kind < RP_FRAME_KINDS ? frame_kind_names[kind] : "?";
}

const char *const rp_timer_names[RP_TIMER_KINDS + 1] = { "cpu", "real", NULL };
const char *const rp_timer_clocks[RP_TIMER_KINDS + 1] = { "cpu", "wall", NULL };

const char *rp_timer_name(int timer)
{
    return (unsigned)timer < RP_TIMER_KINDS ? rp_timer_names[timer] : "?";
}

/* ------------------------------------------------------------------ */
/* Tests only */

void rp_store_test_break(rp_store_t *s, int slot, int damage)
{
    rp_wctx_t w;
    apr_uint32_t i;

    assert(slot >= 0 && slot < s->nslots);
    region_ctx(s, slot, &w);
    (void)write_begin(&w);          /* and never write_end */
    if (damage == 1 && w.r->n_nodes > 1) {
        w.nodes[w.r->n_nodes - 1].self_count++;
    }
    else if (damage == 3) {
        /* The entry of the newest node now points past the table: the
         * next write of that node's stack probes it. */
        for (i = 0; i < s->g.cap_nhash; i++) {
            if (w.nhash[i] != 0 && w.nhash[i] == w.r->n_nodes - 1) {
                w.nhash[i] = w.r->n_nodes;
                break;
            }
        }
    }
    else if (damage == 2) {
        for (i = 0; i < s->g.cap_nhash; i++) {
            if (w.nhash[i] == 0) {
                w.nhash[i] = w.r->n_nodes;
                break;
            }
        }
    }
    if (damage == 3) {
        write_end(w.r);             /* a stray write, not a dead writer */
    }
}
