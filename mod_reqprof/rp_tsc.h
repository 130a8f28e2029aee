/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_tsc: what each part of the request path costs, in CPU cycles, in a
 * build made to measure it (make -f apxs.mk bench-request defines RP_TSC)
 * and in no other: there every macro here is nothing.  The parts are the
 * filter match, the begin (of which the sampler's begin), the end (the
 * sampler's end, counts) and the drain into shared memory, the last two
 * apart for requests with and without samples; and, per sample, the
 * merge of PHP or Python frames (rp_interp).  Each child logs its sums
 * when it exits (reqprof(1004)), in ns by the TSC's rate, measured at
 * child start.
 */

#ifndef RP_TSC_H
#define RP_TSC_H

#include <apr.h>

typedef enum {
    RP_TSC_MATCH = 0,
    RP_TSC_SAMPLER,  /* rp_sampler_begin, within BEGIN */
    RP_TSC_CPUCLOCK, /* its read of the thread's CPU clock */
    RP_TSC_BEGIN,
    RP_TSC_END,
    RP_TSC_DRAIN,
    RP_TSC_MERGE, /* per sample, in the signal handler: the walk of a
                   * script's frames (sampled: every name was in the
                   * thread's table; unsampled: some were copied, or
                   * no script ran) */
    RP_TSC_PARTS
} rp_tsc_part_e;

#ifdef RP_TSC
#include <x86intrin.h>

#include <httpd.h>

#define RP_TSC_NOW() __rdtsc()
/* Add the cycles since START to PART, for a request with samples
 * (SAMPLED) or without. */
void rp_tsc_add(rp_tsc_part_e part, int sampled, apr_uint64_t start);
/* At child start: measure the TSC's rate, log the sums at exit. */
void rp_tsc_child_init(apr_pool_t *pchild, server_rec *s);

#else

#define RP_TSC_NOW() ((apr_uint64_t)0)
#define rp_tsc_add(part, sampled, start)                                     \
    ((void)(part), (void)(sampled), (void)(start))
#define rp_tsc_child_init(pchild, s) ((void)0)

#endif

#endif /* RP_TSC_H */
