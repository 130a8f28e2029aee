/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_tsc: the sums of rp_tsc.h's measuring build.  Empty in every other
 * build.  The sums are atomics: the threads of a child add to them at
 * once; a request's parts cost some tens of cycles each to count, which
 * the figures include.
 */

#include "rp_private.h"
#include "rp_tsc.h"

#ifdef RP_TSC

#include <time.h>

#include <apr_strings.h>
#include <apr_time.h>

static apr_uint64_t sum[RP_TSC_PARTS][2];
static apr_uint64_t count[RP_TSC_PARTS][2];
static double cycles_per_ns;
static server_rec *server;

static const char *const part_names[RP_TSC_PARTS] = {
    "match", "sampler", "cpuclock", "begin", "end", "drain", "merge"
};

void rp_tsc_add(rp_tsc_part_e part, int sampled, apr_uint64_t start)
{
    apr_uint64_t d = __rdtsc() - start;

    __atomic_add_fetch(&sum[part][sampled != 0], d, __ATOMIC_RELAXED);
    __atomic_add_fetch(&count[part][sampled != 0], 1, __ATOMIC_RELAXED);
}

static apr_uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_uint64_t)ts.tv_sec * 1000000000u + (apr_uint64_t)ts.tv_nsec;
}

static double ns_of(int part, int sampled)
{
    return count[part][sampled] && cycles_per_ns > 0
               ? (double)sum[part][sampled] / (double)count[part][sampled]
                     / cycles_per_ns
               : 0;
}

static apr_status_t report(void *unused)
{
    int s, p;

    (void)unused;
    for (s = 0; s < 2; s++) {
        char line[256];
        int at = 0;

        for (p = 0; p < RP_TSC_PARTS; p++) {
            at += apr_snprintf(line + at, sizeof(line) - at,
                               " %s %" APR_UINT64_T_FMT " %.0f",
                               part_names[p], count[p][s], ns_of(p, s));
        }
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, server,
                     RP_LOGNO(1004) "tsc %s:%s", s ? "sampled" : "unsampled",
                     line);
    }
    return APR_SUCCESS;
}

void rp_tsc_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_uint64_t t0 = mono_ns(), c0 = __rdtsc(), t1, c1;

    apr_sleep(apr_time_from_msec(20));
    t1 = mono_ns();
    c1 = __rdtsc();
    cycles_per_ns = (double)(c1 - c0) / (double)(t1 - t0);
    server = s;
    apr_pool_cleanup_register(pchild, NULL, report, apr_pool_cleanup_null);
}

#else

/* Nothing: the module proper measures nothing. */
typedef int rp_tsc_unused_t;

#endif
