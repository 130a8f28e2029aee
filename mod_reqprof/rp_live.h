/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_live: the requests in flight, as they are now, for every child: the
 * table behind view=now and the slow-request log (ReqProfSlowLog).
 *
 * The parent makes one more anonymous shared segment: a row per child
 * slot of the profile store, a record per thread of that child.  A
 * thread that begins a matching request writes who it serves (method,
 * URI, host, client, id, start) into its own record under the record's
 * seqlock; its end lowers it.  That is all the request path pays: a copy
 * of a few hundred bytes, no lock, no system call.
 *
 * The rest is a watcher thread in each child, started by its first such
 * request: every 200 ms it looks at the requests of its child that have
 * run 200 ms or more, and writes into their records, under a second
 * seqlock of their own, what each thread does: blocked in which system
 * call, with the stack the blocked-thread unwinder (rp_offcpu) takes
 * without signalling it, or running, with its newest CPU sample and its
 * age.  No signal is ever sent for this.  The page copies every row
 * without a lock, so reading it never makes a request wait, and
 * symbolizes the PCs in its own process: children are forked from the
 * parent after every module is loaded, so an address means the same
 * object in all of them (an object a child loads later shows as an
 * address).
 *
 * The slow log is the watcher's too: a request running longer than its
 * host's ReqProfSlowLog SECONDS is dumped once, then each further
 * SECONDS, at most RP_SLOW_DUMPS times, as a header line and a line per
 * frame, to the error log at warn or to the FILE the parent opened (a
 * write of the whole block from the watcher: a slow pipe holds the
 * watcher up, never a worker).  Not for signal context.
 */

#ifndef RP_LIVE_H
#define RP_LIVE_H

#include <httpd.h>

#include "rp_inames.h"
#include "rp_objects.h"

#define RP_SLOW_DUMPS 5

/* What a request's end needs to lower its record. */
typedef struct {
    apr_uint32_t idx; /* record + 1 in this child's row, 0: none */
    apr_uint32_t gen; /* the request's number in its record */
} rp_live_ref_t;

/* One request in flight, as copied for the page (PCs not symbolized). */
#define RP_LIVE_DEPTH  48
/* Bytes of the names of its script frames (PHP, Python). */
#define RP_LIVE_SCRIPT 2048

typedef enum {
    RP_LIVE_NEW = 0, /* not looked at yet (under 200 ms) */
    RP_LIVE_RUNNING, /* on a CPU or runnable */
    RP_LIVE_BLOCKED, /* waiting in the kernel */
    RP_LIVE_UNKNOWN  /* its thread could not be read */
} rp_live_state_e;

typedef struct {
    apr_int32_t pid, tid;
    const char *method, *uri, *vhost, *client, *id;
    apr_time_t start;
    rp_live_state_e state;
    long sysno;                /* BLOCKED: the system call, -1: none */
    apr_time_t look;           /* when the watcher looked, 0: never */
    apr_int64_t sample_age_us; /* RUNNING: age of the sample at the
                                 * look, -1: no sample */
    int depth;
    int truncated;
    apr_uint64_t pcs[RP_LIVE_DEPTH]; /* a script frame: RP_INTERP_TAG |
                                 * its line in script (rp_live_script) */
    const char *script;
} rp_live_entry_t;

/* Parent, post_config: make (or keep, over a restart of the same shape)
 * the segment for NSLOTS child slots, and open every host's slow log
 * FILE.  Returns an HTTP status (OK, or 500 with the reason logged). */
int rp_live_post_config(apr_pool_t *pconf, server_rec *s, int nslots);

/* Child, once its store slot is claimed: its row, emptied; OBJECTS
 * (the child's loaded objects) place the slow log's frames. */
void rp_live_child_init(apr_pool_t *pchild, int slot, apr_int32_t pid,
                        const rp_objects_t *objects);

/* On R's thread, as a matching request begins: its record, or a zero
 * ref when there is no room (the thread is not shown) or no table. */
rp_live_ref_t rp_live_begin(request_rec *r, const char *id);

/* The end of the request REF names, from any thread. */
void rp_live_end(rp_live_ref_t *ref);

/* Every request in flight in every child, into *OUT (from P); returns
 * their number.  *CHILDREN: the rows read. */
int rp_live_read(apr_pool_t *p, rp_live_entry_t **out, int *children);

/* The script frame WORD (RP_INTERP_IS_TAG) of an entry whose script is
 * SCRIPT, into *OUT (its strings point into SCRIPT); 0 when it has no
 * name there. */
int rp_live_script(const char *script, apr_uint64_t word,
                   rp_script_frame_t *out);

/* The name of system call NR on this machine ("poll"), or NULL. */
const char *rp_live_syscall_name(long nr);

#endif /* RP_LIVE_H */
