/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_runtime: the module's state in each process, and its lifecycle.
 *
 * The parent creates the shared segment once, from the process pool, so
 * that it outlives graceful restarts (profiles survive them), and makes a
 * new one only when its shape (slots, region size) changes.  It also
 * refuses at start a profiling signal that already has a handler.  Each
 * child attaches, claims a slot (keeping the data a previous owner of the
 * slot left), installs the signal handler and, in real-time mode, starts
 * the off-CPU sampler.  The request path and the page read the state
 * through rp_runtime_get().  Not for signal context.
 */

#ifndef RP_RUNTIME_H
#define RP_RUNTIME_H

#include <httpd.h>
#include <apr_hash.h>
#include <apr_thread_mutex.h>

#include "rp_objects.h"
#include "rp_store.h"
#include "rp_symbols.h"

#define RP_SECRET_LEN 32

typedef struct {
    rp_store_t *store;          /* NULL: the segment could not be made */
    int slot;                   /* this child's region, -1: none */
    apr_int32_t pid;            /* this child's (getpid is a system call,
                                 * and request ids name the child) */
    apr_thread_mutex_t *lock;   /* serialises this child's threads' writes
                                 * to its region, and the caches below */
    rp_objects_t *objects;      /* loaded objects, for PC -> object */
    apr_hash_t *object_ids;     /* rp_loaded_t * -> store object index + 1 */
    apr_hash_t *script_ids;     /* "lang name\0file\0line" -> store object
                                 * index + 1 (rp_interp's functions) */
    apr_pool_t *pool;           /* the child's pool */
    rp_symbols_t *symbols;      /* for the page, made on first use */
    const char *sampler_off;    /* NULL, or why this child cannot sample */
    int max_depth;
    int exiting;                /* the child's pool is being destroyed
                                 * (atomic: read by any request thread) */
    unsigned char secret[RP_SECRET_LEN]; /* the page's nonce key, drawn
                                 * once in the parent, kept over graceful
                                 * restarts (rp_control uses it) */
} rp_runtime_t;

/* Hooks. */
int rp_runtime_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s);
/* Last of the post_config hooks (mod_php starts PHP in its own): say in
 * the log, once per start, which interpreters the children will walk and
 * why not the others.  The parent installs nothing. */
int rp_runtime_interp_probe(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s);
void rp_runtime_child_init(apr_pool_t *pchild, server_rec *s);

/* This process's state (a zeroed one in the parent). */
rp_runtime_t *rp_runtime_get(void);

/* This child's symbolizer for the page and the status section, made on
 * first use and kept in rt->symbols; NULL (logged against R) when it
 * cannot be made, or when the child has no lock (no store). */
rp_symbols_t *rp_runtime_symbols(request_rec *r);

#endif /* RP_RUNTIME_H */
