/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_objects: which loaded ELF object a program counter lies in.
 *
 * A raw PC means nothing outside the process that took it: every child maps
 * its libraries where the loader chose, and a graceful restart reloads the
 * module elsewhere.  What survives is (object, offset): the object's path
 * and build-id, and the PC minus the object's load bias, which is the ELF
 * virtual address of the instruction (for shared objects and PIE programs as
 * for fixed-address ones).  rp_symbols turns that pair into a function and a
 * source line in any process.
 *
 * An rp_objects_t is a snapshot of dl_iterate_phdr, sorted by address, that
 * rp_objects_find searches without allocating or locking.  The build-id is
 * read from the objects' PT_NOTE segments in memory, never from disk.
 *
 * This file depends on APR and the C library only.  Nothing here is safe in
 * signal context (dl_iterate_phdr takes the loader's lock, and a snapshot
 * allocates): store raw PCs from the handler, translate them later.
 */

#ifndef RP_OBJECTS_H
#define RP_OBJECTS_H

#include <apr_pools.h>

/* One loaded object.  (rp_store's rp_object_t is the part of it kept in
 * shared memory: path and build-id.) */
typedef struct {
    const char *path;        /* absolute path of the ELF file (the main
                              * program's from /proc/self/exe); "[vdso]"
                              * for the vDSO, as perf names it; else the
                              * loader's name of an object without a
                              * file */
    const char *build_id;    /* lowercase hex of NT_GNU_BUILD_ID, or "" */
    apr_uint64_t base;       /* dlpi_addr: load bias */
    apr_uint64_t start;      /* lowest runtime address of its PT_LOADs */
    apr_uint64_t end;        /* highest runtime address + 1 */
} rp_loaded_t;

typedef struct rp_objects_t rp_objects_t;

/* A snapshot of the objects loaded now.  Allocates from a subpool of P, so
 * P may go on being used by its owner.  Not signal-safe. */
rp_objects_t *rp_objects_create(apr_pool_t *p);

/* The object containing PC, with *REL = PC - base (the ELF virtual address
 * for shared objects and PIE), or NULL, leaving *REL alone.  After a NULL
 * the caller may call rp_objects_refresh once and retry: the object may have
 * been dlopen'ed since the snapshot.  No allocation, no lock; safe from any
 * number of threads at once, also during a refresh.  Not signal-safe by
 * contract: the signal handler stores raw PCs, the page translates them. */
const rp_loaded_t *rp_objects_find(const rp_objects_t *o, apr_uint64_t pc,
                                   apr_uint64_t *rel);

/* Re-read the loaded objects if any was loaded or unloaded since the last
 * snapshot (one dl_iterate_phdr step to tell; nothing allocated when
 * nothing changed), then publish the new table atomically.  Every
 * rp_loaded_t returned earlier stays valid for the life of the pool, and an
 * object still loaded unchanged keeps its pointer.  Calls must be
 * serialized by the caller; concurrent finds are fine.  Not signal-safe. */
void rp_objects_refresh(rp_objects_t *o);

#endif /* RP_OBJECTS_H */
