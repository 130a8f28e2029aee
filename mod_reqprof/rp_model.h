/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_model: from a snapshot of every child's region to what the page
 * shows.  Addresses are symbolized here (never on the request path) and
 * the call trees of all children are merged by function (name and object),
 * not by address: children and restarts may map code at other addresses.
 *
 * The model is a merged call tree whose first level is one node per URI,
 * and derived from it a function table with self and cumulative figures
 * (pstats' tottime and cumtime).  Renderers read it through const
 * pointers and cannot change it.  Not for signal context.
 */

#ifndef RP_MODEL_H
#define RP_MODEL_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "rp_store.h"
#include "rp_symbols.h"

#define RP_MODEL_NONE 0xFFFFFFFFu

/* The object a URI pseudo-function shows; compare kinds, not this. */
#define RP_MODEL_URI_OBJECT "[uri]"

typedef struct {
    rp_frame_kind_e kind;       /* REAL (code), URI (a URI's node),
                                 * UNKNOWN (an address in no object), or
                                 * a marker: TRUNCATED, WAIT_CPU, ... */
    const char *name;           /* function, "[truncated]", URI, ... */
    const char *object;         /* object path, "php" or "python" for a
                                 * script function, or "" */
    const char *file;           /* source file when known, else NULL */
    int line;                   /* a script function's: its first */
    int lang;                   /* rp_lang_e: 0 native code, else the
                                 * script language */
    const char *label;          /* a URI's with RP_MODEL_LABELS: method,
                                 * status, host, handler separated by
                                 * \x1f; else NULL */
    apr_uint64_t self_count, self_ns;
    apr_uint64_t cum_count, cum_ns;   /* counted once per stack (recursion) */
} rp_func_t;

typedef struct {
    apr_uint32_t func;          /* index in funcs, or NONE for the root */
    apr_uint32_t parent;
    apr_uint32_t first_child, next_sibling;
    apr_uint64_t self_count, self_ns;
    apr_uint64_t total_count, total_ns;
} rp_tnode_t;

typedef struct {
    const rp_snapshot_info_t *info;
    int nregions;
    const rp_region_t *const *regions;
    apr_array_header_t *funcs;  /* of rp_func_t */
    apr_array_header_t *nodes;  /* of rp_tnode_t; 0 is the root, its
                                 * children are URI nodes */
    apr_uint64_t counters[RP_CTR_MAX];   /* summed over regions */
    apr_uint64_t samples, weight_ns;     /* of the focus */
    apr_time_t first_time, last_time;
    const char *focus;          /* URI focused on, or NULL */
    apr_array_header_t *uris;   /* of rp_model_uri_t, merged over children,
                                 * most samples first */
    apr_array_header_t *recent; /* of const rp_recent_t *, newest first */
    const rp_kept_t *request;   /* the one request this is the profile of
                                 * (built from rp_snapshot_request), or
                                 * NULL */
    const apr_uint32_t *span_nodes; /* per request->spans[i]: its node in
                                 * the tree, or RP_MODEL_NONE */
} rp_model_t;

/* One URI's exact totals (measured per request) and sampled estimate,
 * summed over every child. */
typedef struct {
    const char *uri;
    apr_uint64_t requests;
    apr_uint64_t samples, weight_ns;
    apr_uint64_t sum_wall_us, max_wall_us;
    apr_uint64_t sum_cpu_us, max_cpu_us;
} rp_model_uri_t;

/* A caller or callee of a function, with the samples of the calls. */
typedef struct {
    apr_uint32_t func;          /* index in funcs */
    apr_uint64_t count, ns;     /* inclusive samples of the edge */
} rp_edge_t;

/* Which functions a table shows, as pstats' print_stats restrictions. */
typedef struct {
    const char *sort;           /* a sort key (rp_sort) */
    const void *match;          /* an rp_filter_t of one include rule that
                                 * names must match, or NULL */
    double fraction;            /* keep this leading share of rows, 0: all */
    int limit;                  /* then at most this many rows, 0: all */
    apr_interval_time_t match_budget;   /* time all names together may
                                 * take to match, 0: RP_MODEL_MATCH_BUDGET */
} rp_select_t;

/* Each match runs under PCRE2's match limit (rp_filter), which bounds a
 * name, not a table: a regex that hits the limit on every name would
 * cost that limit ten thousand times.  So the names of one table share
 * this much time. */
#define RP_MODEL_MATCH_BUDGET   apr_time_from_msec(250)

/* Flags of rp_model_build. */
#define RP_MODEL_STRIP_DIRS 1   /* file and object names without directories */
#define RP_MODEL_LABELS     2   /* one URI node per request label (method,
                                 * status, host, handler), for exports that
                                 * label samples; views merge them */

/* PATH without its directories (itself when it has none; NULL for
 * NULL). */
const char *rp_model_base_name(const char *path);

/* Build the model of SNAP, symbolizing with SYMS; FOCUS (may be NULL)
 * keeps only that URI's samples. */
rp_model_t *rp_model_build(apr_pool_t *p, const rp_snapshot_t *snap,
                           rp_symbols_t *syms, const char *focus,
                           int flags);

/* Function indices sorted by KEY ("self", "cumulative", "name", "file",
 * "tottime", "cumtime"); URI pseudo-functions are left out. */
apr_array_header_t *rp_model_sorted(apr_pool_t *p, const rp_model_t *m,
                                    const char *key);

/* The rows of a function table: sorted by SEL->sort, then restricted in
 * pstats' order: names matching SEL->match, the leading SEL->fraction of
 * those, at most SEL->limit of those.  *TOTAL (may be NULL) gets the
 * number of functions before any restriction.  Names are matched in
 * sort order and no further than the rows asked for need.  When matching
 * takes longer than the budget (rp_select_t), the answer is no rows and
 * *ERR (may be NULL; else NULL on success) gets a one-line reason, from
 * P, that starts "match: ". */
apr_array_header_t *rp_model_select(apr_pool_t *p, const rp_model_t *m,
                                    const rp_select_t *sel, int *total,
                                    const char **err);

/* Functions named NAME (there may be several: static functions of other
 * objects), as an array of apr_uint32_t indices. */
apr_array_header_t *rp_model_find(apr_pool_t *p, const rp_model_t *m,
                                  const char *name);

/* Callers (CALLERS != 0) or callees of function F: one rp_edge_t per
 * other function, most samples first.  A caller of an outermost frame is
 * its URI (object "[uri]").  The figures are rp_model_calls' for the
 * edges of F, from a walk of F's edges only. */
apr_array_header_t *rp_model_edges(apr_pool_t *p, const rp_model_t *m,
                                   apr_uint32_t f, int callers);

/* Every caller -> callee pair of the tree in one pass, as an array of
 * rp_call_t, with the figures rp_model_edges gives (for exports that need
 * all of them: calling rp_model_edges per function is quadratic). */
typedef struct {
    apr_uint32_t from, to;      /* function indices */
    apr_uint64_t count, ns;     /* inclusive, once per stack */
} rp_call_t;

apr_array_header_t *rp_model_calls(apr_pool_t *p, const rp_model_t *m);

/* (Re)compute the node totals bottom-up, m->samples and m->weight_ns, and
 * the function table (self; cumulative once per stack) from the nodes'
 * self figures.  For models whose self figures were changed (diff). */
void rp_model_totals(rp_model_t *m, apr_pool_t *p);

/* The stack of tree node N: the functions from N up to and including its
 * URI node, innermost first, into PATH (of apr_uint32_t, emptied first).
 * For renderers that write a stack per node with samples of its own. */
void rp_model_path(const rp_model_t *m, apr_uint32_t n,
                   apr_array_header_t *path);

/* The children of tree node N, most samples first (ties by name). */
apr_array_header_t *rp_model_children(apr_pool_t *p, const rp_model_t *m,
                                      apr_uint32_t n);

/* The same children appended to KIDS (of apr_uint32_t); returns how many.
 * For walks of the whole tree: one array used as a stack of the levels
 * of the current path takes memory in proportion to the path, where an
 * array per node would take it in proportion to the tree. */
int rp_model_children_push(const rp_model_t *m, apr_uint32_t n,
                           apr_array_header_t *kids);

/* A model without a snapshot, for unit tests and the render benchmark:
 * from N folded stacks "uri;outer;...;inner COUNT", each sample weighing
 * NS_PER_SAMPLE; a frame "name@object" names its object. */
rp_model_t *rp_model_from_folded(apr_pool_t *p, const char *const *lines,
                                 int n, apr_uint64_t ns_per_sample);

/* The profile gathered between two models of the same focus and
 * strip_dirs: AFTER minus BEFORE, stack by stack (counters, URIs and
 * times too).  When a clear happened in between (AFTER's generation
 * differs), AFTER alone is the answer.  Written in rp_model_diff.c. */
rp_model_t *rp_model_diff(apr_pool_t *p, const rp_model_t *before,
                          const rp_model_t *after);

/* Helpers for renderers. */
double rp_model_ms(apr_uint64_t ns);
double rp_model_pct(apr_uint64_t part, apr_uint64_t whole);
/* Samples delivered per second of the time the timer measures (CPU time
 * for cpu, wall time for real) in the profiled requests; *TIME_US (may be
 * NULL) gets that time. */
double rp_model_delivered_hz(const rp_model_t *m, apr_uint64_t *time_us);
/* How much of the exact time the timer measures (wall time for real,
 * CPU time for cpu) the samples' estimate accounts for, in percent: of
 * URI U's requests, or of every URI's when U is NULL.  *EXACT_US (may be
 * NULL) gets that exact time; -1 when it is 0 (nothing to compare). */
double rp_model_covered(const rp_model_t *m, const rp_model_uri_t *u,
                        apr_uint64_t *exact_us);
/* The name of what the timer measures: "wall" or "CPU". */
const char *rp_model_clock_name(const rp_model_t *m);
/* Name of function F, or of the function of tree node N. */
const rp_func_t *rp_model_func(const rp_model_t *m, apr_uint32_t f);
const rp_tnode_t *rp_model_node(const rp_model_t *m, apr_uint32_t n);

#endif /* RP_MODEL_H */
