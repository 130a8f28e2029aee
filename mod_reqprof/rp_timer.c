/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_timer: signal installation and per-thread CPU-clock timers (see
 * rp_timer.h for the contract).
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <apr_strings.h>

#include "rp_timer.h"

/* The thread a SIGEV_THREAD_ID timer signals.  POSIX has no name for the
 * field; the kernel's headers and newer C libraries call it
 * sigev_notify_thread_id, while glibc 2.36 (Debian 12) defines no such
 * name and keeps the field as the private _sigev_un._tid. */
#ifdef sigev_notify_thread_id
#define SIGEV_THREAD_ID_OF(sev) ((sev).sigev_notify_thread_id)
#else
#define SIGEV_THREAD_ID_OF(sev) ((sev)._sigev_un._tid)
#endif

typedef struct {
    int signo;
    struct sigaction old;
} rp_installed_t;

long rp_timer_period_ns(int frequency_hz)
{
    return frequency_hz > 0 ? 1000000000L / frequency_hz : 1000000000L;
}

static int handler_set(const struct sigaction *sa)
{
    if (sa->sa_flags & SA_SIGINFO) {
        return sa->sa_sigaction != NULL;
    }
    return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

const char *rp_timer_signal_taken(apr_pool_t *p, int signo)
{
    struct sigaction sa;

    if (sigaction(signo, NULL, &sa) != 0) {
        return apr_psprintf(p, "signal %d cannot be examined: %s", signo,
                            strerror(errno));
    }
    if (handler_set(&sa)) {
        return apr_psprintf(p, "signal %d (%s) already has a handler "
                            "installed by another module or library; "
                            "choose another with ReqProfSignal", signo,
                            strsignal(signo));
    }
    return NULL;
}

static apr_status_t restore(void *data)
{
    rp_installed_t *in = data;
    struct sigaction ign;

    /* A tick still pending, or from a timer not yet deleted, must not
     * meet the default action of a real-time signal: it kills the
     * process.  So "default" is put back as "ignore". */
    if (!handler_set(&in->old) && !(in->old.sa_flags & SA_SIGINFO)
        && in->old.sa_handler == SIG_DFL) {
        memset(&ign, 0, sizeof(ign));
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(in->signo, &ign, NULL);
    }
    else {
        sigaction(in->signo, &in->old, NULL);
    }
    return APR_SUCCESS;
}

const char *rp_timer_install(apr_pool_t *p, int signo, rp_timer_fn fn)
{
    rp_installed_t *in = apr_pcalloc(p, sizeof(*in));
    struct sigaction sa;
    const char *why;

    if ((why = rp_timer_signal_taken(p, signo)) != NULL) {
        return why;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = fn;
    /* SA_RESTART: a tick that lands in a restartable system call must not
     * make it fail.  (CPU-clock ticks are delivered on the way back to user
     * space, so they rarely interrupt one at all.) */
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    in->signo = signo;
    if (sigaction(signo, &sa, &in->old) != 0) {
        return apr_psprintf(p, "sigaction(%d): %s", signo, strerror(errno));
    }
    apr_pool_cleanup_register(p, in, restore, apr_pool_cleanup_null);
    return NULL;
}

/* A first expiry in [1, period] ns, so that the phase of the tick grid
 * relative to request starts is random. */
static void arm_value(struct itimerspec *its, long period_ns)
{
    static __thread unsigned int seed;
    long first;

    if (!seed) {
        seed = (unsigned int)syscall(SYS_gettid) ^ (unsigned int)time(NULL);
    }
    first = 1 + (long)(((double)rand_r(&seed) / RAND_MAX) * (period_ns - 1));
    its->it_value.tv_sec = first / 1000000000L;
    its->it_value.tv_nsec = first % 1000000000L;
    its->it_interval.tv_sec = period_ns / 1000000000L;
    its->it_interval.tv_nsec = period_ns % 1000000000L;
}

int rp_timer_thread_start(rp_thread_timer_t *t, int signo, long period_ns)
{
    struct sigevent sev;
    sigset_t set;
    struct itimerspec its;

    sigemptyset(&set);
    sigaddset(&set, signo);
    if (pthread_sigmask(SIG_UNBLOCK, &set, NULL) != 0) {
        return errno ? errno : EINVAL;
    }
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = signo;
    SIGEV_THREAD_ID_OF(sev) = (pid_t)syscall(SYS_gettid);
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t->id) != 0) {
        return errno;
    }
    t->created = 1;
    arm_value(&its, period_ns);
    if (timer_settime(t->id, 0, &its, NULL) != 0) {
        int rv = errno;
        rp_timer_thread_stop(t);
        return rv;
    }
    return 0;
}

int rp_timer_thread_set(rp_thread_timer_t *t, long period_ns)
{
    struct itimerspec its;

    if (!t->created) {
        return EINVAL;
    }
    arm_value(&its, period_ns);
    return timer_settime(t->id, 0, &its, NULL) == 0 ? 0 : errno;
}

void rp_timer_thread_stop(rp_thread_timer_t *t)
{
    if (t->created) {
        timer_delete(t->id);
        t->created = 0;
    }
}
