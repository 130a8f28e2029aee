/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_sampler: the signal callback, the per-thread buffers, and the
 * off-CPU sampler thread of real-time mode (see rp_sampler.h).
 *
 * Buffer format, in 64-bit words, one record per sample:
 *
 *   [ header: depth | TRUNCATED | OFFCPU | state ][ weight_ns ][ time ]
 *     [ pc_0 ... pc_n-1 ]
 *
 * where time is CLOCK_MONOTONIC in ns at the end of the time the sample
 * stands for (the tick, or the look that last credited it): a kept
 * request's timeline places it at [time - weight, time].
 *
 * The signal handler is the only writer of a thread's on-CPU buffer while
 * the thread's flag is up; the off-CPU sampler writes a second buffer of
 * the same format under a process-local mutex that the signal handler
 * never takes.  Both are read only after the flag is down.
 *
 * Wall accounting in real-time mode.  The CPU clock's samples stand for
 * on-CPU time.  The rest of a request's wall time is either blocked or
 * runnable and waiting for a CPU, and the kernel counts the latter per
 * thread (run_delay, the second field of /proc/thread-self/schedstat; the
 * first is the thread's CPU time).  So between two looks at a thread, its
 * blocked time is exactly wall - CPU - run delay, and the off-CPU sampler
 * credits it to the stack it finds the thread blocked in (or, when the
 * thread already woke, to the last such stack of the request, or at the
 * end to a [blocked] leaf when no look ever caught it blocked).  The run
 * delay is credited by the signal handler, on the thread itself: the
 * first CPU tick after a wait is where the thread resumed, so the delay
 * grown since the last tick becomes a [waiting for CPU] leaf under that
 * stack; what grew after the last tick is added at the end, under the
 * request's last stack.  Neither needs a signal to a blocked thread, and
 * each credit is counted as a tick of its own, so the accounting
 * invariant holds.  The run delay costs a read of the file at each end
 * of a request, so only a child whose recent requests spent time off the
 * CPU reads it (acct_begin); otherwise the time off the CPU that no look
 * caught is one [off CPU] leaf, blocked and waiting together.
 */

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <apr_strings.h>

#include "rp_arch.h"
#include "rp_atomic.h"
#include "rp_interp.h"
#include "rp_offcpu.h"
#include "rp_sampler.h"
#include "rp_store.h"
#include "rp_timer.h"
#include "rp_tsc.h"

/* Words per thread buffer: 32K words = 256 KB, about 800 samples of 40
 * frames.  A request that outgrows it keeps its first samples; the rest
 * are counted as buffer_full. */
#define BUF_WORDS           (32 * 1024)
/* Frames of our own above the interrupted one: this handler, the
 * kernel's signal trampoline; plus margin for libunwind's view of them. */
#define SKIP_MARGIN         8
/* The deepest stack ReqProfMaxDepth may ask for: the store's bound. */
#define MAX_DEPTH_CAP       RP_STORE_DEPTH_MAX
/* Threads one child can register (httpd's ThreadsPerChild is at most
 * ThreadLimit, 64 by default, 20000 at most). */
#define MAX_THREADS         20000

#define HDR_DEPTH_MASK      0xFFFFu
#define HDR_TRUNCATED       (1u << 16)
#define HDR_OFFCPU          (1u << 17)
#define HDR_WAIT_CPU        (1u << 18)  /* a [waiting for CPU] leaf */
#define HDR_BLOCKED         (1u << 19)  /* a [blocked] leaf */
#define HDR_OFF_CPU         (1u << 20)  /* an [off CPU] leaf */
/* Words of a record before its PCs: header, weight, time. */
#define REC_WORDS           3
/* Frames of a stack taken for the live view outside a request. */
#define PEEK_DEPTH          48

typedef struct {
    apr_uint64_t *w;
    apr_size_t used;
} rp_buf_t;

struct rp_thread_t {
    apr_uint32_t owner;                 /* token of the profiled request
                                         * this thread runs, 0: none.
                                         * Lowered by CAS from any thread
                                         * (rp_sampler_end), raised only
                                         * by the thread itself. */
    volatile sig_atomic_t in_handler;   /* re-entrancy guard */
    /* A stack asked for outside a profiled request (the live view's
     * watcher, while profiling is paused): want is raised by the
     * watcher, taken down by the handler at the thread's next CPU tick,
     * which writes the stack under peek_seq (odd while it writes). */
    apr_uint32_t want;
    apr_uint32_t peek_seq;
    apr_uint32_t peek_depth;
    apr_uint64_t peek_time;
    apr_uint64_t peek_pcs[PEEK_DEPTH];
    /* Written by the handler only (read and reset by the thread with an
     * atomic exchange, which a signal cannot split): */
    apr_uint64_t sig_reentered;         /* ticks of a request that found
                                         * the handler running */
    apr_uint64_t sig_outside;           /* ticks between requests */
    const void *owner_key;              /* the caller's, for that request: */
    void *owner_data;                   /* see rp_sampler_owner */
    int in_use;                         /* 0: on the free list (thread
                                         * gone; buffers freed, no timer) */
    pid_t tid;                          /* atomic: see real */
    rp_thread_timer_t timer;
    long period_ns;
    rp_buf_t on;                        /* written by the signal handler */
    /* Names of script frames (rp_interp), while an interpreter is
     * walked: [0] the handler's, [1] the off-CPU sampler's (under
     * off_lock, made with the off-CPU buffer). */
    rp_inames_t *names[2];
    rp_merge_counts_t off_mc;           /* the off-CPU sampler's merges */
    rp_sampler_counts_t c;              /* signal-side counters */
    /* Off-CPU side, under off_lock.  real and req_seq are also read
     * unlocked, by the sampler's first look (off_sample_one): written
     * atomically. */
    pthread_mutex_t off_lock;
    int real;                           /* this request: real-time mode */
    apr_uint32_t req_seq;               /* bumped at each begin */
    rp_buf_t off;
    apr_uint64_t off_looks;             /* looks while the request ran */
    apr_uint64_t off_samples, off_woke, off_full, off_failed;
    /* Wall accounting of real-time mode (see the top of this file). */
    int ss_fd;                          /* its /proc schedstat, -1: none */
    int sig_real;                       /* the handler credits run delay */
    apr_uint64_t sig_rq;                /* run delay credited up to */
    apr_size_t sig_last;                /* 1 + offset of the request's last
                                         * on-CPU sample, 0: none */
    apr_uint64_t cpu_begin;             /* CPU time at the request's begin */
    apr_uint64_t mono_begin;            /* CLOCK_MONOTONIC at its begin */
    /* Under off_lock: */
    int acct;                           /* wall accounting for this request */
    int split;                          /* ... with the run delay apart */
    apr_uint64_t wall0, cpu0, rq0;      /* at its begin */
    apr_uint64_t blk_credited;          /* blocked ns credited so far */
    apr_size_t off_last;                /* 1 + offset of the request's last
                                         * blocked sample, 0: none */
    apr_uint64_t off_unseen;            /* blocked ns no look caught */
};

/* initial-exec: a dlopen'ed module's first access to a dynamic TLS
 * variable may call malloc, which must never happen in the handler. */
static __thread rp_thread_t *tls_thread
    __attribute__((tls_model("initial-exec")));

static int cfg_max_depth = RP_STORE_DEPTH_DEFAULT;
static int cfg_signo;
/* Every rp_thread_t this child made.  A struct is never freed, since a
 * request's end may name it from another thread after its thread exited:
 * an exiting thread gives back its buffers and its timer and leaves the
 * struct for the next new thread (threads_lock).  So the table holds at
 * most as many structs as threads were ever alive at once. */
static rp_thread_t *threads[MAX_THREADS];
static apr_uint32_t nthreads;
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
/* Tokens of profiled requests, unique in this child (0 is "none"). */
static apr_uint32_t next_token;
/* Its destructor hands a thread's state back when the thread exits
 * (mod_http2's workers come and go). */
static pthread_key_t thread_key;
static int have_thread_key;
/* The off-CPU sampler: started by the first real-time request (the timer
 * can be switched on the page at any time), then left running until the
 * child's pool goes (off_stop, a pre-cleanup: before anything it reads
 * is freed); it idles while no real-time request is running.  Its period
 * follows the live frequency. */
static long off_period_ns;              /* atomic: 0 until started */
static int off_state;                   /* 0 not tried, 1 running, -1 failed */
static const char *off_why;             /* why it failed */
static apr_pool_t *off_pool;            /* the child's: for messages */
static apr_pool_t *off_own;             /* unmanaged: the unwinder's
                                         * state, freed only once the
                                         * thread is joined */
static pthread_t off_thread;
static int off_quit;                    /* atomic: the thread must end */
static int off_joined;                  /* off_stop saw it end */
static pthread_mutex_t off_start_lock = PTHREAD_MUTEX_INITIALIZER;
/* Real-time requests left that read the run delay (atomic): the child is
 * warm while its recent requests spent time off the CPU (end_blocked). */
static int warm_requests;

/* ------------------------------------------------------------------ */
/* Signal context */

/* Append a sample; FLAGS are HDR_ bits.  Returns 1 + its offset, or 0
 * when the buffer is full (counted). */
static apr_size_t put_sample(rp_buf_t *b, rp_sampler_counts_t *c,
                             void *const *frames, int n, apr_uint32_t flags,
                             apr_uint64_t weight, apr_uint64_t now)
{
    apr_size_t at = b->used;
    int i;

    if (b->used + REC_WORDS + (apr_size_t)n > BUF_WORDS) {
        c->buffer_full++;
        return 0;
    }
    b->w[b->used++] = (apr_uint64_t)n | flags;
    b->w[b->used++] = weight;
    b->w[b->used++] = now;
    for (i = 0; i < n; i++) {
        b->w[b->used++] = (apr_uint64_t)(apr_uintptr_t)frames[i];
    }
    c->samples++;
    if (flags & HDR_TRUNCATED) {
        c->truncated++;
    }
    return at + 1;
}

/* The thread's CPU time and run delay, in ns, from its schedstat file
 * ("cpu_ns run_delay_ns timeslices\n").  Signal-safe (pread and
 * arithmetic).  0 when it cannot be read. */
static int schedstat_read(int fd, apr_uint64_t *cpu, apr_uint64_t *rq)
{
    char buf[96];
    apr_uint64_t v[2] = { 0, 0 };
    ssize_t n;
    int i = 0, k, digits = 0;

    if (fd < 0 || (n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0) {
        return 0;
    }
    for (k = 0; k < n && i < 2; k++) {
        if (buf[k] >= '0' && buf[k] <= '9') {
            v[i] = v[i] * 10 + (apr_uint64_t)(buf[k] - '0');
            digits++;
        }
        else if (digits) {
            i++;
            digits = 0;
        }
    }
    if (i < 2) {
        return 0;
    }
    *cpu = v[0];
    *rq = v[1];
    return 1;
}

static apr_uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_uint64_t)ts.tv_sec * 1000000000u + (apr_uint64_t)ts.tv_nsec;
}

/* The calling thread's CPU time (exact: the kernel adds the running
 * slice, where schedstat's lags by up to a tick). */
static apr_uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (apr_uint64_t)ts.tv_sec * 1000000000u + (apr_uint64_t)ts.tv_nsec;
}

/* Run delay grown since the last credit, as a [waiting for CPU] sample
 * under the stack FRAMES (N frames, FLAGS its truncation).  On the
 * thread itself: in the handler, or at the end once its flag is down. */
static void credit_wait(rp_thread_t *t, void *const *frames, int n,
                        apr_uint32_t flags, apr_uint64_t rq, apr_uint64_t now)
{
    if (rq <= t->sig_rq) {
        return;
    }
    t->c.ticks++;
    put_sample(&t->on, &t->c, frames, n, flags | HDR_WAIT_CPU, rq - t->sig_rq,
               now);
    t->sig_rq = rq;
}

/* Signal context: the interrupted stack from PC outward into T's peek
 * area, for the live view (a thread outside a profiled request whose
 * stack the watcher asked for).  unw_backtrace as the samples take it;
 * plain stores under a sequence number, no allocation. */
static void peek_take(rp_thread_t *t, void *pc)
{
    void *frames[PEEK_DEPTH + SKIP_MARGIN];
    apr_uint32_t seq = t->peek_seq;
    int n, k, d;

    n = unw_backtrace(frames, PEEK_DEPTH + SKIP_MARGIN);
    for (k = 0; k < n && frames[k] != pc; k++) {
    }
    d = k < n ? n - k : 0;
    if (d > PEEK_DEPTH) {
        d = PEEK_DEPTH;
    }
    __atomic_store_n(&t->peek_seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(t->peek_pcs, frames + k, sizeof(void *) * (apr_size_t)d);
    t->peek_depth = (apr_uint32_t)d;
    t->peek_time = mono_ns();
    __atomic_store_n(&t->peek_seq, seq + 2, __ATOMIC_RELEASE);
    __atomic_store_n(&t->want, 0, __ATOMIC_RELAXED);
}

void rp_sampler_signal(int signo, siginfo_t *si, void *uctx)
{
    int saved_errno = errno;
    rp_thread_t *t = tls_thread;
    void *frames[MAX_DEPTH_CAP + SKIP_MARGIN];
    void *mixed[MAX_DEPTH_CAP];
    const ucontext_t *uc = uctx;
    void *pc;
    apr_uint64_t cpu, rq, now;
    apr_uint32_t flags;
    apr_size_t at;
    int n, k, cap, overrun;

    (void)signo;
    if (!t) {
        /* Only a thread with a struct has a timer: a signal here was
         * sent by hand, and belongs to nobody's count. */
        errno = saved_errno;
        return;
    }
    if (t->in_handler) {
        /* The handler does not interrupt itself (the signal is blocked
         * while it runs) unless sent otherwise: counted, never nested. */
        if (__atomic_load_n(&t->owner, __ATOMIC_RELAXED)) {
            t->sig_reentered++;
        }
        else {
            t->sig_outside++;
        }
        errno = saved_errno;
        return;
    }
    t->in_handler = 1;
    if (!__atomic_load_n(&t->owner, __ATOMIC_RELAXED)) {
        t->sig_outside++;
        if (__atomic_load_n(&t->want, __ATOMIC_RELAXED)) {
            peek_take(t, RP_ARCH_UC_PC(uc));
        }
    }
    else {
        t->c.ticks++;
        overrun = (si && si->si_code == SI_TIMER && si->si_overrun > 0)
                  ? si->si_overrun : 0;
        cap = cfg_max_depth + SKIP_MARGIN;
        n = unw_backtrace(frames, cap);
        pc = RP_ARCH_UC_PC(uc);
        /* Drop our own frames: everything above the interrupted pc. */
        for (k = 0; k < n && frames[k] != pc; k++) {
        }
        if (k >= n) {
            t->c.unwind_failed++;
        }
        else {
            int depth = n - k, truncated = 0, cut = 0;
            void *const *stack;
            if (depth > cfg_max_depth) {
                depth = cfg_max_depth;
                truncated = 1;
            }
            else if (n == cap) {
                truncated = 1;   /* the stack went on beyond what we asked */
            }
            if (t->names[0]) {
                /* Script frames in place of the interpreter's loop; the
                 * bench-request build times it, per sample: "sampled"
                 * when every name was in the table already (the steady
                 * state), else a first sight's copies count too. */
                apr_uint64_t tsc = RP_TSC_NOW();
                apr_uint64_t copied = t->c.merge.copied;

                depth = rp_interp_merge(t->names[0], 0, t->tid, frames + k,
                                        depth, mixed, cfg_max_depth, &cut,
                                        &t->c.merge);
                rp_tsc_add(RP_TSC_MERGE, t->c.merge.copied == copied, tsc);
                truncated |= cut;
                stack = mixed;
            }
            else {
                stack = frames + k;
            }
            flags = truncated ? HDR_TRUNCATED : 0;
            now = mono_ns();
            at = put_sample(&t->on, &t->c, stack, depth, flags,
                            (apr_uint64_t)t->period_ns * (1 + overrun), now);
            if (at) {
                t->sig_last = at;
            }
            if (t->sig_real && schedstat_read(t->ss_fd, &cpu, &rq)) {
                credit_wait(t, stack, depth, flags, rq, now);
            }
        }
    }
    t->in_handler = 0;
    errno = saved_errno;
}

/* ------------------------------------------------------------------ */
/* Thread set-up, begin and end (the request's own thread) */

/* A struct for the calling thread: a free one (its thread exited) or a
 * new one in the table.  NULL when the table is full. */
static rp_thread_t *thread_slot(void)
{
    rp_thread_t *t = NULL;
    apr_uint32_t i, n;

    pthread_mutex_lock(&threads_lock);
    n = __atomic_load_n(&nthreads, __ATOMIC_ACQUIRE);
    for (i = 0; i < n && !t; i++) {
        if (!threads[i]->in_use) {
            t = threads[i];
        }
    }
    if (!t && n < MAX_THREADS && (t = calloc(1, sizeof(*t))) != NULL) {
        pthread_mutex_init(&t->off_lock, NULL);
        t->ss_fd = -1;
        threads[n] = t;
        __atomic_store_n(&nthreads, n + 1, __ATOMIC_RELEASE);
    }
    if (t) {
        t->in_use = 1;
    }
    pthread_mutex_unlock(&threads_lock);
    return t;
}

/* Give back what a thread holds: its timer, its buffers, its struct (to
 * the free list).  On the thread itself, at its exit or after a failed
 * set-up.  The signal handler sees no state from here on; the off-CPU
 * sampler frees nothing and looks at a buffer only under off_lock. */
static void thread_release(rp_thread_t *t)
{
    apr_uint64_t *on = t->on.w, *off;
    rp_inames_t *nm0, *nm1;
    int fd;

    tls_thread = NULL;
    __atomic_store_n(&t->owner, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&t->off_lock);
    off = t->off.w;
    t->off.w = NULL;
    t->off.used = 0;
    nm1 = t->names[1];
    t->names[1] = NULL;
    __atomic_store_n(&t->real, 0, __ATOMIC_RELAXED);
    t->acct = 0;
    t->sig_real = 0;
    fd = t->ss_fd;
    t->ss_fd = -1;
    pthread_mutex_unlock(&t->off_lock);
    if (fd >= 0) {
        close(fd);
    }
    pthread_mutex_lock(&threads_lock);
    /* A signal already queued finds no thread state and returns. */
    rp_timer_thread_stop(&t->timer);
    t->on.w = NULL;
    t->on.used = 0;
    nm0 = t->names[0];
    t->names[0] = NULL;
    t->owner_key = NULL;
    t->owner_data = NULL;
    t->in_use = 0;
    pthread_mutex_unlock(&threads_lock);
    free(on);
    free(off);
    rp_interp_names_free(nm0);
    rp_interp_names_free(nm1);
}

static void thread_gone(void *data)
{
    thread_release(data);
}

static rp_thread_t *thread_setup(long period_ns)
{
    rp_thread_t *t = thread_slot();
    void *warm[8];

    if (!t) {
        return NULL;
    }
    /* The off-CPU buffer comes with the thread's first real-time
     * request (off_buffer). */
    if (!(t->on.w = malloc(BUF_WORDS * sizeof(apr_uint64_t)))) {
        thread_release(t);
        return NULL;
    }
    /* Without a name table the thread's samples stay native. */
    t->names[0] = rp_interp_active() ? rp_interp_names_new() : NULL;
    __atomic_store_n(&t->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
    t->period_ns = period_ns;
    /* Warm up libunwind's lazily allocated per-thread state and caches
     * here, where malloc is allowed, before any signal can arrive. */
    unw_backtrace(warm, 8);
    tls_thread = t;
    if (rp_timer_thread_start(&t->timer, cfg_signo, period_ns) != 0
        || (have_thread_key && pthread_setspecific(thread_key, t) != 0)) {
        thread_release(t);
        return NULL;
    }
    return t;
}

static void off_start(void);

/* The thread's off-CPU buffer, made on its first real-time request.  The
 * sampler thread reads t->off.w only under off_lock. */
static int off_buffer(rp_thread_t *t)
{
    apr_uint64_t *w;

    if (t->off.w) {
        return 1;
    }
    if (!(w = malloc(BUF_WORDS * sizeof(apr_uint64_t)))) {
        return 0;
    }
    pthread_mutex_lock(&t->off_lock);
    t->off.w = w;
    t->off.used = 0;
    t->names[1] = rp_interp_active() ? rp_interp_names_new() : NULL;
    pthread_mutex_unlock(&t->off_lock);
    return 1;
}

/* At a real-time request's begin, on its thread: whether its wall is
 * accounted for (the thread's schedstat file opens), and whether its run
 * delay is told apart from its blocked time (*SPLIT, with the baseline
 * *RQ0).  Reading the file costs about 2 us, as much as a tenth of a
 * tiny request, so only requests of a warm child read it: one whose
 * recent requests spent a millisecond or more off the CPU (end_blocked).
 * In a cold child the time a request spent off the CPU is not split: a
 * look that finds it blocked credits it to that stack, the rest goes to
 * an [off CPU] leaf; the first request that waits long turns the child
 * warm at its end.
 * 0 when the file cannot be opened: then blocked samples stand for the
 * sampling period, as they did before. */
static int acct_begin(rp_thread_t *t, apr_uint64_t *rq0, int *split)
{
    apr_uint64_t cpu;

    if (t->ss_fd < 0) {
        t->ss_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    }
    if (t->ss_fd < 0) {
        return 0;
    }
    *rq0 = 0;
    *split = __atomic_load_n(&warm_requests, __ATOMIC_RELAXED) > 0
             && schedstat_read(t->ss_fd, &cpu, rq0);
    return 1;
}

/* Blocked time of T's request not yet credited, as of NOW with the
 * thread's CPU time CPU and run delay RQ: wall - CPU - run delay since
 * the begin, less what was credited.  A CPU time read while the thread
 * runs may lag (schedstat's), which makes a look's figure high and the
 * next one's low: crediting only the growth of the running total keeps
 * the sum exact once the end reads the exact clock.  Under off_lock. */
static apr_uint64_t acct_blocked(rp_thread_t *t, apr_uint64_t now,
                                 apr_uint64_t cpu, apr_uint64_t rq)
{
    apr_int64_t total = (apr_int64_t)(now - t->wall0)
                        - (apr_int64_t)(cpu - t->cpu0)
                        - (apr_int64_t)(rq - t->rq0);

    if (total <= (apr_int64_t)t->blk_credited) {
        return 0;
    }
    total -= (apr_int64_t)t->blk_credited;
    t->blk_credited += (apr_uint64_t)total;
    return (apr_uint64_t)total;
}

/* Add NS of blocked time to the request's last blocked sample, or, when
 * no look caught it blocked yet, to its unseen time.  Under off_lock. */
static void credit_blocked(rp_thread_t *t, apr_uint64_t ns, apr_uint64_t now)
{
    if (!ns) {
        return;
    }
    if (t->off_last) {
        /* Its span grows to now: [time - weight, time] stays the
         * stretch it stands for. */
        t->off.w[t->off_last] += ns;
        t->off.w[t->off_last + 1] = now;
    }
    else {
        t->off_unseen += ns;
    }
}

rp_thread_t *rp_sampler_begin(long period_ns, int real,
                              const void *owner_key, void *owner_data,
                              apr_uint32_t *token)
{
    rp_thread_t *t = tls_thread;
    apr_uint64_t wall0 = 0, rq0 = 0, tsc;
    apr_uint32_t tok;
    int acct = 0, split = 0;

    if (!cfg_signo) {
        return NULL;
    }
    if (!t) {
        if (!(t = thread_setup(period_ns))) {
            return NULL;
        }
    }
    else {
        /* A request that left this thread without ending here (its end
         * runs elsewhere, later): its flag goes now, and what it left in
         * the buffers with it. */
        __atomic_store_n(&t->owner, 0, __ATOMIC_SEQ_CST);
        if (t->period_ns != period_ns) {
            t->period_ns = period_ns;
            rp_timer_thread_set(&t->timer, period_ns);
        }
    }
    t->on.used = 0;
    t->sig_last = 0;
    t->sig_real = 0;
    memset(&t->c, 0, sizeof(t->c));
    if (t->names[0]) {
        rp_interp_names_begin(t->names[0]);
    }
    if (real) {
        if (!__atomic_load_n(&off_state, __ATOMIC_ACQUIRE)) {
            off_start();
        }
        if (__atomic_load_n(&off_period_ns, __ATOMIC_RELAXED) != period_ns
            && __atomic_load_n(&off_state, __ATOMIC_ACQUIRE) == 1) {
            __atomic_store_n(&off_period_ns, period_ns, __ATOMIC_RELAXED);
        }
        real = __atomic_load_n(&off_state, __ATOMIC_ACQUIRE) == 1
               && off_buffer(t);
    }
    if (real) {
        acct = acct_begin(t, &rq0, &split);
    }
    /* Sample times are kept relative to this (a kept request's
     * timeline). */
    wall0 = mono_ns();
    if (t->names[0]) {
        rp_interp_guard_check(wall0);
    }
    t->mono_begin = wall0;
    tsc = RP_TSC_NOW();
    t->cpu_begin = thread_cpu_ns();
    rp_tsc_add(RP_TSC_CPUCLOCK, 0, tsc);
    if (t->off.w) {
        /* Only an off-CPU sampler thread shares these fields. */
        pthread_mutex_lock(&t->off_lock);
        t->off.used = 0;
        t->off_looks = t->off_samples = t->off_woke = t->off_full = 0;
        t->off_failed = 0;
        memset(&t->off_mc, 0, sizeof(t->off_mc));
        if (t->names[1]) {
            rp_interp_names_begin(t->names[1]);
        }
        __atomic_store_n(&t->req_seq, t->req_seq + 1, __ATOMIC_RELAXED);
        __atomic_store_n(&t->real, real, __ATOMIC_RELAXED);
        t->acct = acct;
        t->split = split;
        t->wall0 = wall0;
        t->cpu0 = t->cpu_begin;
        t->rq0 = rq0;
        t->blk_credited = 0;
        t->off_last = 0;
        t->off_unseen = 0;
        pthread_mutex_unlock(&t->off_lock);
    }
    /* The handler credits run delay from here on. */
    t->sig_rq = rq0;
    t->sig_real = acct && split;
    do {
        tok = __atomic_add_fetch(&next_token, 1, __ATOMIC_RELAXED);
    } while (!tok);
    t->owner_key = owner_key;
    t->owner_data = owner_data;
    *token = tok;
    __atomic_store_n(&t->owner, tok, __ATOMIC_SEQ_CST);
    return t;
}

/* At the end, on the thread with its flag down: the run delay grown
 * since the last tick, under the request's last on-CPU stack (or under
 * its URI when it had none). */
static void end_wait(rp_thread_t *t, apr_uint64_t rq)
{
    void *frames[MAX_DEPTH_CAP];
    apr_uint32_t flags = 0;
    int n = 0, i;

    if (t->sig_last) {
        apr_uint64_t hdr = t->on.w[t->sig_last - 1];
        n = (int)(hdr & HDR_DEPTH_MASK);
        flags = (apr_uint32_t)(hdr & HDR_TRUNCATED);
        for (i = 0; i < n; i++) {
            frames[i] = (void *)(apr_uintptr_t)t->on.w[t->sig_last + 2 + i];
        }
    }
    credit_wait(t, frames, n, flags, rq, mono_ns());
    t->sig_real = 0;
}

/* At the end, under off_lock, with the thread's CPU time CPU and run
 * delay RQ: the blocked time since the last look, and a [blocked] sample
 * for what no look caught: [blocked] when the run delay was told apart,
 * [off CPU] (blocked or waiting for a CPU) when it was not.  A request
 * that spent a millisecond or more off the CPU keeps the child warm for
 * its next WARM_REQUESTS requests. */
#define WARM_REQUESTS       64
#define WARM_GAP_NS         1000000u

static void end_blocked(rp_thread_t *t, apr_uint64_t cpu, apr_uint64_t rq)
{
    rp_sampler_counts_t dummy;
    apr_uint64_t now = mono_ns();

    credit_blocked(t, acct_blocked(t, now, cpu, rq), now);
    if (t->off_unseen) {
        memset(&dummy, 0, sizeof(dummy));
        put_sample(&t->off, &dummy, NULL, 0,
                   HDR_OFFCPU | (t->split ? HDR_BLOCKED : HDR_OFF_CPU),
                   t->off_unseen, now);
        t->off_looks++;
        t->off_samples += dummy.samples;
        t->off_full += dummy.buffer_full;
        t->off_unseen = 0;
    }
    if ((apr_int64_t)(now - t->wall0) - (apr_int64_t)(cpu - t->cpu0)
        >= (apr_int64_t)WARM_GAP_NS) {
        __atomic_store_n(&warm_requests, WARM_REQUESTS, __ATOMIC_RELAXED);
    }
    else if (__atomic_load_n(&warm_requests, __ATOMIC_RELAXED) > 0) {
        __atomic_sub_fetch(&warm_requests, 1, __ATOMIC_RELAXED);
    }
    t->acct = 0;
}

int rp_sampler_end(rp_thread_t *t, apr_uint32_t token,
                   rp_sampler_counts_t *counts)
{
    apr_uint32_t expect = token;
    apr_uint64_t cpu, rq, dummy, reentered;
    apr_size_t room;
    int have_rq;

    memset(counts, 0, sizeof(*counts));
    if (tls_thread != t) {
        /* Another thread ends the request: lower its thread's flag if it
         * still carries this request (CAS: not if that thread began
         * another meanwhile).  Its samples stay where they are, in a
         * buffer that thread reuses: they are not this caller's to read. */
        __atomic_compare_exchange_n(&t->owner, &expect, 0, 0,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return 0;
    }
    if (!__atomic_compare_exchange_n(&t->owner, &expect, 0, 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        /* This thread moved on to another request since: the buffer is
         * that one's now. */
        return 0;
    }
    t->owner_key = NULL;
    t->owner_data = NULL;
    cpu = thread_cpu_ns();
    /* One read of the run delay serves both ends (only a warm thread's
     * request has a baseline for it). */
    have_rq = t->sig_real && schedstat_read(t->ss_fd, &dummy, &rq);
    if (have_rq) {
        end_wait(t, rq);
    }
    t->sig_real = 0;
    /* The handler's own counts, taken whole (a signal cannot split an
     * exchange), and only when there are any: most requests have none,
     * and a plain load costs no locked instruction.  Ticks between
     * requests go with this request's drops, to OUTSIDE_REQUEST. */
    if (__atomic_load_n(&t->sig_reentered, __ATOMIC_RELAXED)) {
        reentered = __atomic_exchange_n(&t->sig_reentered, 0,
                                        __ATOMIC_RELAXED);
        t->c.ticks += reentered;
        t->c.other_dropped += reentered;
    }
    if (__atomic_load_n(&t->sig_outside, __ATOMIC_RELAXED)) {
        t->c.outside_request = __atomic_exchange_n(&t->sig_outside, 0,
                                                   __ATOMIC_RELAXED);
    }
    *counts = t->c;
    counts->cpu_ns = cpu - t->cpu_begin;
    counts->begin_ns = t->mono_begin;
    if (!t->off.w) {
        return 1;
    }
    /* Append the off-CPU samples after the on-CPU ones. */
    pthread_mutex_lock(&t->off_lock);
    __atomic_store_n(&t->req_seq, t->req_seq + 1, __ATOMIC_RELAXED);
    if (t->acct) {
        end_blocked(t, cpu, have_rq ? rq : t->rq0);
    }
    room = BUF_WORDS - t->on.used;
    if (t->off.used == 0) {
        /* nothing taken off-CPU (or no off-CPU sampler at all) */
    }
    else if (t->off.used <= room) {
        memcpy(t->on.w + t->on.used, t->off.w,
               t->off.used * sizeof(apr_uint64_t));
        t->on.used += t->off.used;
        t->c.samples += t->off_samples;
        t->c.offcpu += t->off_samples;
    }
    else {
        t->c.buffer_full += t->off_samples;
        t->c.offcpu_full += t->off_samples;
    }
    /* Every look that took the lock while the request ran: a sample, or
     * a drop by cause (the [blocked] leaf of end_blocked is a sample
     * too, and counted as a look). */
    t->c.ticks += t->off_samples + t->off_full + t->off_woke
                  + t->off_failed;
    t->c.buffer_full += t->off_full;
    t->c.other_dropped += t->off_woke;
    t->c.unwind_failed += t->off_failed;
    t->c.offcpu_looks += t->off_looks;
    t->c.offcpu_full += t->off_full;
    t->c.offcpu_woke += t->off_woke;
    t->c.offcpu_failed += t->off_failed;
    t->c.merge.merged += t->off_mc.merged;
    t->c.merge.mismatch += t->off_mc.mismatch;
    t->c.merge.fault += t->off_mc.fault;
    t->c.merge.cut += t->off_mc.cut;
    t->c.merge.names_full += t->off_mc.names_full;
    t->off.used = 0;
    pthread_mutex_unlock(&t->off_lock);
    *counts = t->c;
    counts->cpu_ns = cpu - t->cpu_begin;
    counts->begin_ns = t->mono_begin;
    return 1;
}

int rp_sampler_next(const rp_thread_t *t, apr_size_t *pos, rp_sample_t *s)
{
    apr_uint64_t hdr;

    if (*pos + REC_WORDS > t->on.used) {
        return 0;
    }
    hdr = t->on.w[*pos];
    s->depth = (int)(hdr & HDR_DEPTH_MASK);
    s->truncated = (hdr & HDR_TRUNCATED) != 0;
    s->offcpu = (hdr & HDR_OFFCPU) != 0;
    s->state = (hdr & HDR_WAIT_CPU) ? RP_SAMPLE_WAIT_CPU
               : (hdr & HDR_BLOCKED) ? RP_SAMPLE_BLOCKED
               : (hdr & HDR_OFF_CPU) ? RP_SAMPLE_OFF_CPU : RP_SAMPLE_STACK;
    s->weight_ns = t->on.w[*pos + 1];
    s->time_ns = t->on.w[*pos + 2];
    s->pcs = t->on.w + *pos + REC_WORDS;
    *pos += REC_WORDS + (apr_size_t)s->depth;
    return 1;
}

int rp_sampler_script(const rp_thread_t *t, apr_uint64_t word,
                      rp_script_frame_t *out)
{
    return rp_interp_frame(t->names[rp_interp_which(word)], word, out);
}

apr_uint64_t rp_sampler_cpu_ns(const rp_thread_t *t)
{
    return tls_thread == t ? thread_cpu_ns() - t->cpu_begin : 0;
}

void *rp_sampler_owner(const void *owner_key)
{
    rp_thread_t *t = tls_thread;

    return t && __atomic_load_n(&t->owner, __ATOMIC_ACQUIRE)
           && t->owner_key == owner_key ? t->owner_data : NULL;
}

/* Lines in the first USED bytes of NAMES. */
static apr_uint32_t script_lines(const char *names, apr_size_t used)
{
    apr_uint32_t n = 0;
    apr_size_t i;

    for (i = 0; i < used; i++) {
        n += names[i] == '\n';
    }
    return n;
}

int rp_sampler_peek(pid_t tid, apr_uint64_t *pcs, int max, int *depth,
                    apr_uint64_t *time_ns, char *names, apr_size_t names_len)
{
    apr_uint32_t i, n;
    int found = 0;
    apr_size_t used = 0;

    *depth = 0;
    if (names && names_len) {
        names[0] = 0;
    }
    /* Never wait: the lock's holder may be a request a signal interrupted
     * to end the process (prefork's hard stop), which waits for us. */
    if (pthread_mutex_trylock(&threads_lock) != 0) {
        return 0;
    }
    n = __atomic_load_n(&nthreads, __ATOMIC_ACQUIRE);
    for (i = 0; i < n && !found; i++) {
        rp_thread_t *t = threads[i];
        apr_size_t at;
        int d, k;

        if (!t->in_use || __atomic_load_n(&t->tid, __ATOMIC_RELAXED) != tid) {
            continue;
        }
        if (!__atomic_load_n(&t->owner, __ATOMIC_ACQUIRE) || !t->on.w) {
            /* Outside a profiled request: what the handler took when
             * asked (rp_sampler_want_stack), and ask again. */
            apr_uint32_t s1 = __atomic_load_n(&t->peek_seq, __ATOMIC_ACQUIRE);

            d = (int)t->peek_depth;
            d = d > max ? max : d > PEEK_DEPTH ? PEEK_DEPTH : d;
            for (k = 0; !(s1 & 1) && k < d; k++) {
                pcs[k] = t->peek_pcs[k];
            }
            *time_ns = t->peek_time;
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if ((s1 & 1)
                || s1 != __atomic_load_n(&t->peek_seq, __ATOMIC_RELAXED)) {
                d = 0;
            }
            __atomic_store_n(&t->want, 1, __ATOMIC_RELAXED);
            *depth = d;
            found = d > 0;
            break;
        }
        /* The handler sets sig_last once the record is whole. */
        at = __atomic_load_n(&t->sig_last, __ATOMIC_ACQUIRE);
        if (!at || at - 1 + REC_WORDS > BUF_WORDS) {
            break;
        }
        at--;
        d = (int)(t->on.w[at] & HDR_DEPTH_MASK);
        if (d > max) {
            d = max;
        }
        if ((apr_size_t)d > BUF_WORDS - at - REC_WORDS) {
            d = (int)(BUF_WORDS - at - REC_WORDS);
        }
        *time_ns = t->on.w[at + 2];
        for (k = 0; k < d; k++) {
            pcs[k] = t->on.w[at + REC_WORDS + k];
            if (RP_INTERP_IS_TAG(pcs[k])) {
                /* Named now, from the thread's table (which its next
                 * request starts over): the text is ours to keep. */
                apr_size_t w = names && used + 1 < names_len
                                   ? rp_interp_frame_text(t->names[0], pcs[k],
                                                          names + used,
                                                          names_len - used
                                                              - 1)
                                   : 0;
                pcs[k] = RP_INTERP_TAG
                         | (w ? (apr_uint64_t)script_lines(names, used)
                              : APR_UINT64_C(0xFFFFFFFF));
                used += w;
                if (names) {
                    names[used] = 0;
                }
            }
        }
        *depth = d;
        found = d > 0;
    }
    pthread_mutex_unlock(&threads_lock);
    return found;
}

int rp_sampler_attach(long period_ns)
{
    if (!cfg_signo) {
        return 0;
    }
    if (!tls_thread && !thread_setup(period_ns)) {
        return 0;
    }
    /* A stack taken for a request before this one is not this one's. */
    __atomic_store_n(&tls_thread->peek_depth, 0, __ATOMIC_RELAXED);
    return 1;
}

void rp_sampler_stats(apr_uint32_t *in_use, apr_uint32_t *made)
{
    apr_uint32_t i, n;

    pthread_mutex_lock(&threads_lock);
    n = __atomic_load_n(&nthreads, __ATOMIC_ACQUIRE);
    *made = n;
    *in_use = 0;
    for (i = 0; i < n; i++) {
        *in_use += threads[i]->in_use ? 1 : 0;
    }
    pthread_mutex_unlock(&threads_lock);
}

/* ------------------------------------------------------------------ */
/* Off-CPU sampler thread (real-time mode) */

static void off_sample_one(rp_offcpu_t *o, rp_thread_t *t)
{
    apr_uint64_t pcs[MAX_DEPTH_CAP];
    void *frames[MAX_DEPTH_CAP], *mixed[MAX_DEPTH_CAP];
    void *const *stack = frames;
    int cut = 0;
    apr_uint64_t now, cpu, rq, blk = 0;
    apr_uint32_t seq;
    int depth = 0, i, have = 0;
    apr_size_t at;
    rp_offcpu_result_e rv;
    rp_sampler_counts_t dummy;

    /* Unlocked first looks: a struct is never freed, and what is acted
     * on is checked again under off_lock. */
    if (!__atomic_load_n(&t->owner, __ATOMIC_RELAXED)
        || !__atomic_load_n(&t->real, __ATOMIC_RELAXED)) {
        return;
    }
    seq = __atomic_load_n(&t->req_seq, __ATOMIC_ACQUIRE);
    rv = rp_offcpu_sample(o, __atomic_load_n(&t->tid, __ATOMIC_RELAXED),
                          pcs, cfg_max_depth, &depth);
    /* A running thread is the CPU clock's.  The end of a wait it woke
     * from is credited by the next look that finds it blocked, or by the
     * request's end, to the same stack: a running thread's CPU time in
     * schedstat lags by up to a tick, and what a look credited too much
     * could not be taken back. */
    if (rv == RP_OFFCPU_RUNNING) {
        return;
    }
    /* Never wait for the request's thread: it may hold the lock in a
     * request that a signal interrupted to end the process (prefork's
     * hard stop), and then off_stop waits for us.  A look skipped costs
     * nothing: the next one credits the time since the last. */
    if (pthread_mutex_trylock(&t->off_lock) != 0) {
        return;
    }
    /* A look counts from here: it holds the lock and its request still
     * runs.  One whose request ended meanwhile belongs to none. */
    if (__atomic_load_n(&t->owner, __ATOMIC_RELAXED) && t->real && t->off.w
        && t->req_seq == seq) {
        t->off_looks++;
        if (rv == RP_OFFCPU_WOKE) {
            t->off_woke++;
        }
        else if (rv == RP_OFFCPU_FAILED) {
            t->off_failed++;
        }
        else {
            /* Blocked: its CPU time in schedstat is exact. */
            now = mono_ns();
            if (t->acct) {
                if ((have = schedstat_read(t->ss_fd, &cpu, &rq)) != 0) {
                    blk = acct_blocked(t, now, cpu,
                                       t->split ? rq : t->rq0);
                }
            }
            for (i = 0; i < depth; i++) {
                frames[i] = (void *)(apr_uintptr_t)pcs[i];
            }
            if (t->names[1]) {
                /* The thread is blocked: its script's frames hold
                 * still. */
                depth = rp_interp_merge(t->names[1], 1, t->tid, frames, depth,
                                        mixed, cfg_max_depth, &cut,
                                        &t->off_mc);
                stack = mixed;
            }
            memset(&dummy, 0, sizeof(dummy));
            /* With accounting, the sample stands for the blocked time
             * since the last look; without, for one period. */
            at = put_sample(
                &t->off, &dummy, stack, depth,
                HDR_OFFCPU
                    | (depth >= cfg_max_depth || cut ? HDR_TRUNCATED : 0),
                have ? blk
                     : (apr_uint64_t)__atomic_load_n(&off_period_ns,
                                                     __ATOMIC_RELAXED),
                now);
            if (at) {
                t->off_last = at;
            }
            else if (have) {
                credit_blocked(t, blk, now);
            }
            t->off_samples += dummy.samples;
            t->off_full += dummy.buffer_full;
        }
    }
    pthread_mutex_unlock(&t->off_lock);
}

static int off_quitting(void)
{
    return __atomic_load_n(&off_quit, __ATOMIC_ACQUIRE);
}

/* While no real-time request runs the sampler looks every 10 ms, not at
 * the sampling rate (a cpu-timer child then pays 100 wake-ups a second,
 * not 1000).  Its first look at a request may come that late, which
 * costs nothing: the blocked time before it is credited by it, since
 * the credit is the blocked time since the request began, not a
 * period. */
#define IDLE_NS             (10 * 1000000L)

static int any_real(void)
{
    apr_uint32_t i, n = __atomic_load_n(&nthreads, __ATOMIC_ACQUIRE);

    for (i = 0; i < n; i++) {
        if (__atomic_load_n(&threads[i]->owner, __ATOMIC_RELAXED)
            && __atomic_load_n(&threads[i]->real, __ATOMIC_RELAXED)) {
            return 1;
        }
    }
    return 0;
}

static void *off_cpu_main(void *arg)
{
    rp_offcpu_t *o = arg;
    struct timespec next;
    sigset_t all;
    apr_uint32_t i, n;

    /* This thread must never take the profiling signal or httpd's. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!off_quitting()) {
        next.tv_nsec += any_real() ? __atomic_load_n(&off_period_ns,
                                                     __ATOMIC_RELAXED)
                                   : IDLE_NS;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL)
               == EINTR) {
        }
        n = __atomic_load_n(&nthreads, __ATOMIC_ACQUIRE);
        for (i = 0; i < n && !off_quitting(); i++) {
            off_sample_one(o, threads[i]);
        }
    }
    return NULL;
}

/* Pre-cleanup of the child's pool: end the off-CPU sampler before
 * anything it reads goes (the unwinder's address space, the /proc
 * descriptors: off_own; the child's pool), and before the module's code
 * can be unloaded at the process's exit.  The sampler never blocks on a
 * lock (off_sample_one), so it ends within one look once told to, even
 * when this runs from a signal handler that interrupted a request
 * holding a thread's off_lock (prefork's hard stop); only a starved CPU
 * delays it, so the join waits up to 5 s.  A sampler that did not end
 * even then keeps its state (the process is about to exit). */
static apr_status_t off_stop(void *unused)
{
    struct timespec deadline;

    (void)unused;
    __atomic_store_n(&off_quit, 1, __ATOMIC_RELEASE);
    if (__atomic_load_n(&off_state, __ATOMIC_ACQUIRE) != 1) {
        return APR_SUCCESS;
    }
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    /* The reason first: a reader that sees -1 reads it. */
    off_why = "the child is exiting";
    __atomic_store_n(&off_state, -1, __ATOMIC_RELEASE);
    if (pthread_timedjoin_np(off_thread, NULL, &deadline) == 0) {
        off_joined = 1;
        if (off_own) {
            apr_pool_destroy(off_own);
            off_own = NULL;
        }
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Child set-up */

static apr_status_t stop_timers(void *unused)
{
    apr_uint32_t i, n;

    (void)unused;
    pthread_mutex_lock(&threads_lock);
    n = __atomic_load_n(&nthreads, __ATOMIC_ACQUIRE);
    for (i = 0; i < n; i++) {
        __atomic_store_n(&threads[i]->owner, 0, __ATOMIC_SEQ_CST);
        rp_timer_thread_stop(&threads[i]->timer);
    }
    pthread_mutex_unlock(&threads_lock);
    return APR_SUCCESS;
}

/* The destructor must not outlive the module's code: the key goes with
 * the child's pool (pthread_key_delete runs no destructor). */
static apr_status_t drop_thread_key(void *unused)
{
    (void)unused;
    if (have_thread_key) {
        have_thread_key = 0;
        pthread_key_delete(thread_key);
    }
    return APR_SUCCESS;
}

const char *rp_sampler_child_init(apr_pool_t *pchild, int signo,
                                  int max_depth)
{
    const char *why = NULL;

    cfg_max_depth = max_depth > MAX_DEPTH_CAP ? MAX_DEPTH_CAP : max_depth;
    if ((why = rp_timer_install(pchild, signo, rp_sampler_signal)) != NULL) {
        return why;
    }
    /* Registered after the handler's cleanup, so it runs before it: the
     * timers go before the handler does. */
    apr_pool_cleanup_register(pchild, NULL, stop_timers,
                              apr_pool_cleanup_null);
    if (pthread_key_create(&thread_key, thread_gone) == 0) {
        have_thread_key = 1;
        apr_pool_cleanup_register(pchild, NULL, drop_thread_key,
                                  apr_pool_cleanup_null);
    }
    apr_pool_pre_cleanup_register(pchild, NULL, off_stop);
    if (off_joined || __atomic_load_n(&off_state, __ATOMIC_ACQUIRE) != 1) {
        /* A new pool after an ended one (the unit tests do that). */
        off_joined = 0;
        __atomic_store_n(&off_state, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&off_quit, 0, __ATOMIC_RELEASE);
    }
    off_pool = pchild;
    cfg_signo = signo;
    return NULL;
}

/* Start the off-CPU sampler thread, once per child, on the first
 * real-time request. */
static void off_start(void)
{
    rp_offcpu_t *o;
    const char *why = NULL;

    pthread_mutex_lock(&off_start_lock);
    if (__atomic_load_n(&off_state, __ATOMIC_ACQUIRE) || off_quitting()) {
        pthread_mutex_unlock(&off_start_lock);
        return;
    }
    /* A child that switched to its User is not dumpable, and then even
     * its own /proc/self/task/TID/syscall is closed to it.  httpd itself
     * makes children dumpable when CoreDumpDirectory is set; real-time
     * mode needs the same (it lets processes of the same user, and root,
     * attach to the child, as they could to a child that dumps core). */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (!off_own && apr_pool_create_unmanaged_ex(&off_own, NULL, NULL)
                    != APR_SUCCESS) {
        off_own = NULL;
    }
    if (!off_own || !(o = rp_offcpu_create(off_own, &why))) {
        off_why = apr_pstrcat(off_pool, "the off-CPU unwinder could not be "
                              "set up (", why ? why : "?", "): real-time "
                              "mode samples on-CPU time only", NULL);
        __atomic_store_n(&off_state, -1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&off_start_lock);
        return;
    }
    __atomic_store_n(&off_period_ns, 10000000L, __ATOMIC_RELAXED);
    if (pthread_create(&off_thread, NULL, off_cpu_main, o) != 0) {
        off_why = "the off-CPU sampler thread could not be started: "
                  "real-time mode samples on-CPU time only";
        __atomic_store_n(&off_state, -1, __ATOMIC_RELEASE);
    }
    else {
        __atomic_store_n(&off_state, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&off_start_lock);
}

const char *rp_sampler_offcpu_failed(void)
{
    return __atomic_load_n(&off_state, __ATOMIC_ACQUIRE) < 0 ? off_why
                                                              : NULL;
}
