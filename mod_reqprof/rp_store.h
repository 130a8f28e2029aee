/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_store: the shared-memory store of profile data.
 *
 * One fixed-size segment, created by the module before the MPM forks (or
 * kept across a graceful restart), holds a header and one region per child
 * slot.  A child claims a slot at start and is then the only writer of its
 * region; every process may read every region at any time.  The segment
 * holds offsets and indices, never pointers, so each process may map it at
 * a different address.
 *
 * Writers drain one finished request at a time into their region: its
 * stacks go into a call tree (a trie of frames below one node per URI),
 * its totals into a per-URI table and a ring of recent requests, and what
 * the sampler dropped into counters.  Each such write is one section of a
 * per-region seqlock; readers copy the used part of a region, retry when a
 * write overlapped, and never write the segment, so the page never blocks
 * a request.  Clearing is a bump of a generation number in the header:
 * readers ignore regions of an older generation and each writer resets its
 * own region on its next write.  Capacities are fixed by the region size;
 * when a table is full new data goes to explicit "[table full]" nodes and
 * is counted, old data is kept.
 *
 * Counters and the accounting invariant.  For every region,
 *
 *     TICKS == SAMPLES + BUFFER_FULL + UNWIND_FAILED + OTHER_DROPPED
 *
 * where TICKS are the timer ticks that landed in profiled requests, as the
 * sampler counted them, and SAMPLES is the sum of every node's self count:
 * each tick is either a stored sample or a drop counted by cause.  The
 * store keeps every sample it is given (no sample is lost for lack of
 * room: it lands in a [table full] node), so DEPTH_TRUNCATED and
 * TABLE_FULL count samples that are part of SAMPLES, stored with less
 * detail; a sample may count in both.  OUTSIDE_REQUEST counts ticks that
 * found their thread outside any profiled request and is not part of the
 * invariant.  The store adds what the caller reports; the invariant holds
 * when the sampler's counts do.
 *
 * APR only (no httpd headers), so it is unit tested on its own, across
 * fork()ed processes too.  No function here is safe in signal context:
 * the signal handler writes to its thread's buffer, and the request's
 * thread drains that buffer here afterwards.
 */

#ifndef RP_STORE_H
#define RP_STORE_H

#include <apr_pools.h>
#include <apr_time.h>

/* "No such index": no object, no URI, no node. */
#define RP_STORE_NONE           0xFFFFFFFFu

/* Bounds of the region size (ReqProfMemory); it must be a multiple of 64. */
#define RP_STORE_REGION_MIN     ((apr_size_t)64 * 1024)
#define RP_STORE_REGION_MAX     ((apr_size_t)1024 * 1024 * 1024)
/* Bound of the number of slots. */
#define RP_STORE_SLOTS_MAX      4096

/* Frames kept per sample; deeper stacks keep their innermost frames and
 * are stored as truncated (the caller normally cuts at ReqProfMaxDepth). */
#define RP_STORE_DEPTH_MAX      1024
/* ... and ReqProfMaxDepth's default. */
#define RP_STORE_DEPTH_DEFAULT  128
/* Bytes of a URI kept in the URI table; longer URIs are cut (and URIs
 * equal in their first bytes merge). */
#define RP_STORE_URI_MAX        1024
/* Bytes kept of a request's label (what identifies it beside its URI). */
#define RP_STORE_LABEL_MAX      256
/* Bytes kept of a request's method, and of its URI in the ring when the
 * URI table had no room for it (each with its NUL). */
#define RP_STORE_METHOD_MAX     16
#define RP_STORE_RING_URI_MAX   72

/* Declarations by hand: fields and their comments in columns. */
/* clang-format off */

typedef struct rp_store_t rp_store_t;
typedef struct rp_snapshot_t rp_snapshot_t;

/* ------------------------------------------------------------------ */
/* Frames, samples, requests: what the writer hands in */

typedef enum {
    RP_FRAME_ROOT = 0,          /* node 0 only */
    RP_FRAME_REAL,              /* a code address: object + offset in it */
    RP_FRAME_URI,               /* below the root, object = URI index */
    RP_FRAME_TRUNCATED,         /* [truncated]: outermost frames were cut */
    RP_FRAME_TABLE_FULL,        /* [table full]: no room for the stack */
    RP_FRAME_UNKNOWN,           /* an address the caller could not place */
    RP_FRAME_WAIT_CPU,          /* [waiting for CPU]: runnable, not running
                                 * (a leaf, under the stack it resumed at) */
    RP_FRAME_BLOCKED,           /* [blocked]: off-CPU time no look saw the
                                 * stack of (a leaf) */
    RP_FRAME_OFF_CPU,           /* [off CPU]: the same, blocked and waiting
                                 * for a CPU not told apart (a leaf) */
    RP_FRAME_KINDS
} rp_frame_kind_e;

typedef struct {
    rp_frame_kind_e kind;       /* REAL or UNKNOWN in a sample; the
                                 * innermost may be WAIT_CPU, BLOCKED or
                                 * OFF_CPU */
    apr_uint32_t object;        /* rp_store_object() index, or RP_STORE_NONE */
    apr_uint64_t rel;           /* address relative to the object's base (or
                                 * absolute when object is RP_STORE_NONE) */
} rp_frame_t;

typedef struct {
    const rp_frame_t *frames;   /* innermost first, as captured */
    int depth;                  /* number of frames, 0..RP_STORE_DEPTH_MAX */
    int truncated;              /* outermost frames were cut (MaxDepth) */
    apr_uint64_t weight_ns;     /* time this sample stands for */
    apr_uint64_t end_us;        /* the end of that time, in microseconds
                                 * from the request's start (a kept
                                 * request's timeline) */
    int offcpu;                 /* taken while the thread was off the CPU
                                 * (the off-CPU sampler's, or a state
                                 * leaf's time) */
} rp_sample_view_t;

/* ------------------------------------------------------------------ */
/* Kept requests
 *
 * Which requests a region keeps whole (ReqProfKeep), each rule with its
 * own budget, per child: the RECENT most recent; the SLOWEST slowest of
 * each URI (tail-based: a request is kept when it is slower than the
 * fastest of its URI's kept slowest, which then gives way); the ERRORS
 * most recent with a status of 500 or more.  A request kept by several
 * rules stays until the last lets it go.  The records are of one fixed
 * size, taken from a fixed share of the region; when none is free, a
 * slow or failed request takes the oldest record kept only as recent,
 * and otherwise the request is not kept: both are counted (KEPT_FULL).
 * Every request goes into the merged profile either way.
 *
 * A kept request's samples are spans over the call tree's nodes in time
 * order (consecutive samples of one stack merge into one span), at most
 * RP_KEEP_SPANS; past that a sample joins an earlier span of its stack
 * (its place in time is lost, its weight is not) or, when its stack has
 * none, is counted as not kept (samples_lost). */

#define RP_KEEP_ID_MAX          48      /* bytes of an id, with its NUL */
#define RP_KEEP_STR_MAX         1024    /* bytes of method, URI, query,
                                         * host, handler and content type */
#define RP_KEEP_HDR_MAX         1536    /* bytes of the request headers */
#define RP_KEEP_SPANS           256     /* timeline entries per request */

typedef enum {
    RP_KEEP_RECENT = 1,
    RP_KEEP_SLOW = 2,
    RP_KEEP_ERROR = 4
} rp_keep_reason_e;

/* Reasons by bit, and their names ("recent", "slow", "error"). */
#define RP_KEEP_REASONS         3
extern const char *const rp_keep_reason_names[RP_KEEP_REASONS + 1];

typedef struct {
    int recent;                 /* most recent requests kept */
    int slowest;                /* slowest requests kept per URI */
    int errors;                 /* most recent status >= 500 kept */
} rp_keep_policy_t;

/* ReqProfKeep's defaults (see the README for why). */
#define RP_KEEP_RECENT_DEFAULT  32
#define RP_KEEP_SLOWEST_DEFAULT 8
#define RP_KEEP_ERRORS_DEFAULT  16
/* Bound of each number. */
#define RP_KEEP_MAX             100000

/* What a request carries beside its totals, when it may be kept. */
typedef struct {
    const char *id;             /* its id, < RP_KEEP_ID_MAX bytes */
    const char *query;          /* these may be NULL, and are cut so */
    const char *vhost;          /* that all six strings fit in */
    const char *handler;        /* RP_KEEP_STR_MAX, the longest first */
    const char *content_type;
    apr_uint64_t bytes;         /* of the response body sent */
    const char *headers;        /* "name\0value\0" pairs, redacted by the
                                 * caller, cut at a pair to
                                 * RP_KEEP_HDR_MAX */
    apr_size_t headers_len;
} rp_keep_info_t;

typedef struct {
    apr_time_t time;            /* request start */
    const char *method;         /* copied, cut to RP_STORE_METHOD_MAX - 1 */
    const char *uri;            /* the profiled path, NUL-terminated */
    const char *label;          /* or NULL: what else keys its samples
                                 * (method, status, host, handler), cut
                                 * to RP_STORE_LABEL_MAX - 1 bytes */
    int status;
    apr_int64_t wall_us;        /* wall time of the profiled part */
    apr_int64_t cpu_us;         /* CPU time of the thread meanwhile */
    const rp_keep_info_t *keep; /* NULL: not to be kept */
} rp_request_info_t;

/* What the sampler counted for one request (or, with no request, for a
 * thread between requests). */
typedef struct {
    apr_uint64_t ticks;         /* ticks that landed in the request */
    apr_uint64_t buffer_full;   /* ticks dropped: thread buffer full */
    apr_uint64_t unwind_failed; /* ticks dropped: no stack came back */
    apr_uint64_t other_dropped; /* ticks dropped otherwise (re-entry, ...) */
    apr_uint64_t outside_request; /* ticks outside any profiled request */
    /* Samples taken while a PHP or Python script ran (rp_interp.h), by
     * what became of their script frames; not part of the invariant. */
    apr_uint64_t script_merged;     /* in place of the interpreter's */
    apr_uint64_t script_mismatch;   /* did not pair up: native only */
    apr_uint64_t script_fault;      /* a bad read: native only */
    apr_uint64_t script_cut;        /* above a native stack cut short */
    apr_uint64_t script_names_full; /* frames named "[names full]" */
} rp_drop_counts_t;

/* Per-region counters; see the invariant at the top of this file. */
typedef enum {
    RP_CTR_REQUESTS = 0,        /* requests stored */
    RP_CTR_TICKS,               /* ticks that landed in those requests */
    RP_CTR_SAMPLES,             /* samples stored: sum of all self counts */
    RP_CTR_BUFFER_FULL,         /* ticks dropped: thread buffer full */
    RP_CTR_UNWIND_FAILED,       /* ticks dropped: unwinding failed */
    RP_CTR_OTHER_DROPPED,       /* ticks dropped for other causes */
    RP_CTR_DEPTH_TRUNCATED,     /* samples stored under [truncated] */
    RP_CTR_TABLE_FULL,          /* samples stored under [table full] */
    RP_CTR_URI_FULL,            /* requests whose URI found no room */
    RP_CTR_OBJECT_FULL,         /* objects refused: object table full */
    RP_CTR_OUTSIDE_REQUEST,     /* ticks outside profiled requests */
    RP_CTR_WEIGHT_NS,           /* sum of the stored samples' weights */
    RP_CTR_KEPT,                /* requests kept whole */
    RP_CTR_KEPT_FULL,           /* not kept, or let go early, for lack of
                                 * room (see Kept requests) */
    RP_CTR_SCRIPT_MERGED,       /* samples whose script frames took the
                                 * interpreter's place (rp_drop_counts_t) */
    RP_CTR_SCRIPT_MISMATCH,     /* ... that kept native frames alone:
                                 * the two stacks did not pair up */
    RP_CTR_SCRIPT_FAULT,        /* ... : a read of the script's frames
                                 * faulted or failed a check */
    RP_CTR_SCRIPT_CUT,          /* ... whose script frames went above a
                                 * native stack cut short (JIT code) */
    RP_CTR_SCRIPT_NAMES_FULL,   /* script frames named "[names full]" */
    RP_CTR_MAX
} rp_counter_e;

/* The timers, and what each one measures.  The one home of these terms:
 * the directive, the page's form and every report use the tables below. */
typedef enum {
    RP_TIMER_CPU = 0,           /* CLOCK_THREAD_CPUTIME_ID: on-CPU time */
    RP_TIMER_REAL = 1,          /* CLOCK_MONOTONIC: wall time, blocked too */
    RP_TIMER_KINDS
} rp_timer_e;

/* By rp_timer_e, NULL-terminated (as the parsers of names take them):
 * the timer's name ("cpu", "real") and the clock it samples ("cpu",
 * "wall"). */
extern const char *const rp_timer_names[RP_TIMER_KINDS + 1];
extern const char *const rp_timer_clocks[RP_TIMER_KINDS + 1];

/* The name of TIMER, "?" when it is none. */
const char *rp_timer_name(int timer);

/* Sampling frequency bounds and default, in Hz.  99, not 100: off the
 * beat of the many things that run at 100 Hz. */
#define RP_FREQUENCY_MIN        1
#define RP_FREQUENCY_MAX        10000
#define RP_FREQUENCY_DEFAULT    99

/* Live settings, written by the page and read by every child. */
typedef struct {
    int enabled;                /* profiling on */
    int timer;                  /* rp_timer_e */
    int frequency;              /* Hz, RP_FREQUENCY_MIN..MAX */
    apr_uint32_t seq;           /* bumped by every rp_store_settings_set */
} rp_settings_t;

/* ------------------------------------------------------------------ */
/* The segment */

/* Bytes of a segment of NSLOTS regions of REGION_SIZE bytes, or 0 when
 * either is out of bounds.  Pure arithmetic. */
apr_size_t rp_store_segment_size(int nslots, apr_size_t region_size);

/* Lay out a fresh segment at BASE (SIZE bytes, 8-byte aligned; its
 * contents need not be zero).  Writes only the header and the region
 * headers, so untouched pages of a large segment stay unallocated.
 * Generation 1, profiling off, timer cpu, RP_FREQUENCY_DEFAULT.
 * APR_EINVAL when the
 * arguments do not fit. */
apr_status_t rp_store_format(void *base, apr_size_t size, int nslots,
                             apr_size_t region_size);

/* A process-local handle on the formatted segment at BASE, allocated from
 * P; NULL when the magic, layout version, structure sizes or sizes do not
 * match (a segment of another build or another configuration).  Each
 * process attaches once; the handle may be shared by its threads. */
rp_store_t *rp_store_attach(apr_pool_t *p, void *base, apr_size_t size);

int rp_store_nslots(const rp_store_t *s);
apr_size_t rp_store_region_size(const rp_store_t *s);

/* Read or replace the live settings, atomically as a whole (one 64-bit
 * word), from any process.  Set returns the new seq. */
void rp_store_settings_get(const rp_store_t *s, rp_settings_t *out);
apr_uint32_t rp_store_settings_set(rp_store_t *s, const rp_settings_t *in);

/* Forget all profile data: bump the generation.  Readers at once ignore
 * every region; each writer resets its region on its next write.  The
 * object table of a region is kept (see rp_store_object).  Lock-free,
 * from any process. */
void rp_store_clear(rp_store_t *s);

/* The current generation (bumped by every clear). */
apr_uint32_t rp_store_generation(const rp_store_t *s);

/* ------------------------------------------------------------------ */
/* Writer side */

/* Claim a slot for the process PID: one whose owner is 0 (free) or no
 * longer alive (ALIVE(owner) false; the module passes a kill(pid, 0)
 * test), taken with a compare-and-swap, so concurrent claimants get
 * different slots.  Slots of dead owners are preferred, so that a region
 * a crashed child left is repaired soon.  A region found in the middle of
 * a write (its writer died) is checked: kept when consistent, else reset
 * and counted in the header (no other region is touched).  A healthy
 * region is kept with its data: profiles survive child recycling.
 * ALIVE NULL takes free slots only.  Returns the slot, or -1 (counted)
 * when every slot has a live owner: the child then profiles nothing. */
int rp_store_claim(rp_store_t *s, apr_int32_t pid,
                   int (*alive)(apr_int32_t pid));

/* This process's retention rules for the requests it stores (default:
 * nothing is kept; a negative number is 0).  Process-local; set before
 * the first write.  What a region holds under the rules of the process
 * that wrote it before is let go under these as requests are stored (the
 * slowest of a URI when that URI is next written), unless these keep
 * nothing at all. */
void rp_store_set_keep(rp_store_t *s, const rp_keep_policy_t *k);

/* Records a region holds for kept requests (fixed by the region size). */
apr_uint32_t rp_store_kept_capacity(const rp_store_t *s);

/* Give SLOT back (a child exiting cleanly); its data stays visible. */
void rp_store_release(rp_store_t *s, int slot, apr_int32_t pid);

/* The index of the object (PATH, BUILD_ID) in SLOT's region, added when
 * new; RP_STORE_NONE (counted) when the object table is full or a string
 * is too long.  BUILD_ID may be NULL.  Indices stay valid while the slot
 * is owned: a clear keeps the object table.  Cache them per process.
 * Called under the caller's mutex, as rp_store_add_request. */
apr_uint32_t rp_store_object(rp_store_t *s, int slot, const char *path,
                             const char *build_id);

/* The index of the script function NAME of language LANG (rp_lang_e,
 * 1..15) in FILE, starting at FIRST_LINE, in SLOT's object table: a
 * frame of kind REAL with this object and its current line as rel is a
 * script frame.  Otherwise as rp_store_object. */
apr_uint32_t rp_store_script(rp_store_t *s, int slot, int lang,
                             const char *name, const char *file,
                             int first_line);

/* Store one finished request in SLOT's region, in one write section: each
 * sample's frames go into the call tree below the request's URI node
 * (outermost first, below a [truncated] node when cut), its totals into
 * the URI table and the ring, DROPS into the counters.  REQ may be NULL
 * (and NSAMPLES 0) to add only DROPS, say ticks outside requests; DROPS
 * may be NULL (every tick became a sample).  Frames of a kind other than
 * REAL or UNKNOWN are stored as UNKNOWN, unknown object indices as NONE.
 *
 * The caller serialises the writers of one slot (the threads of the child
 * that owns it) with its own process-local mutex; nothing here locks. */
void rp_store_add_request(rp_store_t *s, int slot,
                          const rp_request_info_t *req,
                          const rp_sample_view_t *samples, int nsamples,
                          const rp_drop_counts_t *drops);

/* ------------------------------------------------------------------ */
/* Reader side: a private, consistent copy */

/* A call-tree node.  Node 0 is the root; a node's parent always has a
 * smaller index, so a pass in index order sees parents first.  Totals are
 * computed by the snapshot: total = self + the totals of the children. */
typedef struct {
    apr_uint32_t parent;        /* RP_STORE_NONE for the root */
    apr_uint32_t first_child;   /* RP_STORE_NONE: none */
    apr_uint32_t next_sibling;  /* RP_STORE_NONE: last */
    rp_frame_t frame;           /* URI: object = index in the URI table */
    apr_uint64_t self_count;
    apr_uint64_t self_weight_ns;
    apr_uint64_t total_count;
    apr_uint64_t total_weight_ns;
} rp_node_t;

typedef struct {
    const char *path;           /* a script function's: its file */
    const char *build_id;       /* "" when none was given; a script
                                 * function's: its name */
    int lang;                   /* 0: code; else a script function's
                                 * language (rp_lang_e of rp_interp.h) */
    int line;                   /* a script function's first line */
} rp_object_t;

typedef struct {
    const char *uri;
    const char *label;          /* "" when none was given */
    apr_uint32_t node;          /* its URI node */
    apr_uint64_t requests;
    apr_uint64_t samples;       /* = total_count of its node */
    apr_uint64_t weight_ns;
    apr_uint64_t sum_wall_us, max_wall_us;
    apr_uint64_t sum_cpu_us, max_cpu_us;
} rp_uri_t;

typedef struct {
    apr_time_t time;
    const char *method;
    const char *uri;            /* from the URI table, or a cut copy */
    apr_uint32_t uri_index;     /* RP_STORE_NONE when not in the table */
    int status;
    apr_int64_t wall_us, cpu_us;
    apr_uint32_t samples;
} rp_recent_t;

/* One span of a kept request's timeline. */
typedef struct {
    apr_uint32_t node;          /* its leaf in the region's tree (in a
                                 * request snapshot: in that tree) */
    apr_uint32_t count;         /* samples in it */
    apr_int64_t end_us;         /* its end, from the request's start */
    apr_uint64_t weight_ns;     /* time it stands for */
    int offcpu;                 /* its samples were taken off the CPU */
} rp_span_t;

typedef struct {
    const char *name, *value;
} rp_header_t;

/* A kept request.  In a list (RP_SNAP_KEPT) the timeline is left out
 * (NULL, 0) but for the request asked for by id. */
typedef struct {
    const char *id;
    unsigned reasons;           /* rp_keep_reason_e bits */
    apr_uint64_t seq;           /* keep order in its region */
    int slot;                   /* its region's slot */
    apr_time_t time;
    const char *method, *uri, *query, *vhost, *handler, *content_type;
    apr_uint32_t uri_index;     /* in its region's URI table, or NONE */
    int status;
    apr_uint64_t bytes;
    apr_int64_t wall_us, cpu_us;
    apr_uint32_t samples;       /* the request's samples */
    apr_uint32_t samples_lost;  /* ... not in its spans (record full) */
    apr_uint64_t weight_ns;     /* of its spans */
    const rp_span_t *spans;     /* in time order */
    apr_uint32_t n_spans;
    const rp_header_t *headers;
    apr_uint32_t n_headers;
} rp_kept_t;

/* One copied region.  Arrays and strings live in the snapshot's pool. */
typedef struct {
    int slot;
    apr_int32_t owner;          /* pid, 0 when the slot is free */
    apr_time_t first_time;      /* of the first and last request stored */
    apr_time_t last_time;
    apr_uint64_t counters[RP_CTR_MAX];
    const rp_node_t *nodes;
    apr_uint32_t n_nodes, cap_nodes;
    const rp_object_t *objects;
    apr_uint32_t n_objects, cap_objects;
    const rp_uri_t *uris;
    apr_uint32_t n_uris, cap_uris;
    const rp_recent_t *recent;  /* newest first */
    apr_uint32_t n_recent, cap_recent;
    const rp_kept_t *kept;      /* with RP_SNAP_KEPT, newest first */
    apr_uint32_t n_kept, cap_kept;
} rp_region_t;

typedef struct {
    apr_time_t taken;           /* when the copy began */
    apr_time_t created;         /* when the segment was formatted */
    apr_uint32_t generation;
    rp_settings_t settings;     /* as at the copy */
    int nslots;
    apr_size_t region_size;
    apr_uint32_t no_slot;       /* claims that found no free slot */
    apr_uint32_t regions_repaired; /* dead writer, data found consistent */
    apr_uint32_t regions_reset; /* dead writer, data found broken: reset */
    apr_uint64_t samples_lost;  /* samples in the regions reset */
    int stale;                  /* slots with no data of this generation */
    int busy;                   /* regions skipped: writes kept overlapping */
    int invalid;                /* regions skipped: the copy failed checks */
    apr_uint32_t retries;       /* copies begun again */
} rp_snapshot_info_t;

/* Copy every region of the current generation into P.  Per region: read
 * the seqlock, copy the used part of each table (not the whole region),
 * re-read the seqlock, retry when a write overlapped (bounded in tries
 * and time, then the region is skipped and counted as busy), and check
 * the copy's structure before use.  Never blocks or writes the segment. */
rp_snapshot_t *rp_store_snapshot(const rp_store_t *s, apr_pool_t *p);

/* The same with kept requests: FLAGS RP_SNAP_KEPT copies every kept
 * request's metadata and headers; ID (may be NULL) the timeline of the
 * request of that id as well. */
#define RP_SNAP_KEPT    1
rp_snapshot_t *rp_store_snapshot_ex(const rp_store_t *s, apr_pool_t *p,
                                    int flags, const char *id);

/* The kept request of id ID in SNAP (taken with that ID), or NULL. */
const rp_kept_t *rp_snapshot_find(const rp_snapshot_t *snap, const char *id);

/* A snapshot of that one request, as if its region held nothing else:
 * one region whose tree has only the nodes on its spans' paths, with
 * the spans' counts and weights as self figures, its URI alone with one
 * request, and counters of it alone (requests 1, ticks and samples its
 * samples).  Its spans refer to the new tree's nodes.  From P; NULL when
 * SNAP has no such request or no timeline of it (SNAP was not taken with
 * ID). */
rp_snapshot_t *rp_snapshot_request(apr_pool_t *p, const rp_snapshot_t *snap,
                                   const char *id);

/* The request a snapshot of rp_snapshot_request is of, else NULL. */
const rp_kept_t *rp_snapshot_kept(const rp_snapshot_t *snap);

const rp_snapshot_info_t *rp_snapshot_info(const rp_snapshot_t *snap);
int rp_snapshot_nregions(const rp_snapshot_t *snap);
const rp_region_t *rp_snapshot_region(const rp_snapshot_t *snap, int i);

/* The name of a counter ("ticks", "buffer_full", ...) and of a frame
 * kind ("real", "[truncated]", ...). */
const char *rp_store_counter_name(rp_counter_e c);
const char *rp_store_frame_kind_name(rp_frame_kind_e kind);

/* Who hears of a broken promise (a slot out of range, an index in a
 * region past its table): with none set, as in the unit tests, it is an
 * assertion failure and the process aborts; with one, the store reports
 * WHAT (one line: file, line, condition) and fails the operation, a write
 * dropping the region it found broken.  Process-wide; set it before any
 * thread uses the store. */
typedef void (*rp_store_reporter_fn)(const char *what);
void rp_store_set_reporter(rp_store_reporter_fn fn);

/* ------------------------------------------------------------------ */
/* Tests only */

/* Leave SLOT as a writer that died inside a write section leaves it: the
 * seqlock odd and, when DAMAGE is 1, the last request half applied (a
 * node's self count raised without the region's sample counter), or,
 * when 2, a hash entry pointing past the last node.  DAMAGE 3: the
 * newest node's hash entry points past the last node and the write
 * section is closed (memory overwritten under a live writer). */
void rp_store_test_break(rp_store_t *s, int slot, int damage);

/* clang-format on */

#endif /* RP_STORE_H */
