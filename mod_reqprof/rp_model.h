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

#include "rp_store.h"
#include "rp_symbols.h"

#define RP_MODEL_NONE 0xFFFFFFFFu

typedef struct {
    const char *name;           /* function, "[truncated]", URI, ... */
    const char *object;         /* object path, or "" */
    const char *file;           /* source file when known, else NULL */
    int line;
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
} rp_model_t;

/* Build the model of SNAP, symbolizing with SYMS; FOCUS (may be NULL)
 * keeps only that URI's samples.  STRIP_DIRS shortens file and object
 * names to their base names. */
rp_model_t *rp_model_build(apr_pool_t *p, const rp_snapshot_t *snap,
                           rp_symbols_t *syms, const char *focus,
                           int strip_dirs);

/* Function indices sorted by KEY ("self", "cumulative", "name", "file",
 * "tottime", "cumtime"); URI pseudo-functions are left out. */
apr_array_header_t *rp_model_sorted(apr_pool_t *p, const rp_model_t *m,
                                    const char *key);

#endif /* RP_MODEL_H */
