/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_timer: the profiling signal and the per-thread CPU-clock timers.
 *
 * Like gperftools' profile-handler, this part owns the signal and the
 * timers and knows nothing of stacks or requests.  The signal handler is
 * installed once per child; a handler already installed by someone else
 * (mod_php's SIGPROF, say) is refused, never replaced.  Each thread that
 * takes part gets one timer on its own CPU clock (CLOCK_THREAD_CPUTIME_ID,
 * SIGEV_THREAD_ID), created once and left armed: an idle thread burns no
 * CPU and so gets no ticks, and arming per request would cost a syscall
 * pair per request (measured: +14% CPU on a tiny request).  The first
 * expiry is a random fraction of the period, so requests shorter than the
 * period are sampled fairly over many requests.
 *
 * The callback given to rp_timer_install runs in signal context and must
 * be async-signal-safe.  Nothing else here is.
 */

#ifndef RP_TIMER_H
#define RP_TIMER_H

#include <signal.h>
#include <time.h>

#include <apr_pools.h>

typedef void (*rp_timer_fn)(int signo, siginfo_t *si, void *uctx);

/* Whether SIGNO has a handler other than the default: NULL when free,
 * else a reason naming what was found.  Not signal-safe. */
const char *rp_timer_signal_taken(apr_pool_t *p, int signo);

/* Install FN for SIGNO (SA_SIGINFO | SA_RESTART), unless another handler
 * is there: returns NULL or a reason.  The previous disposition is put
 * back when P is cleaned up.  Not signal-safe. */
const char *rp_timer_install(apr_pool_t *p, int signo, rp_timer_fn fn);

typedef struct {
    timer_t id;
    int created;
} rp_thread_timer_t;

/* For the calling thread: unblock SIGNO (the threaded MPMs block
 * asynchronous signals in workers), create a timer on its CPU clock that
 * signals this thread, and arm it with PERIOD_NS and a random first
 * expiry.  Returns 0 or an errno value.  Not signal-safe. */
int rp_timer_thread_start(rp_thread_timer_t *t, int signo, long period_ns);

/* Re-arm with a new period (random phase again).  Not signal-safe. */
int rp_timer_thread_set(rp_thread_timer_t *t, long period_ns);

/* Disarm and delete.  Not signal-safe. */
void rp_timer_thread_stop(rp_thread_timer_t *t);

/* The period of FREQUENCY_HZ, in nanoseconds. */
long rp_timer_period_ns(int frequency_hz);

#endif /* RP_TIMER_H */
