/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of rp_timer and rp_sampler outside httpd: a thread's CPU work
 * in a known function is sampled there, only while its flag is up, without
 * the handler's own frames; a blocked thread is sampled off-CPU in real
 * mode without its sleep being cut short; a signal already in use is
 * refused.  Each test runs in its own process (Check forks), since the
 * signal handler is per process.
 */

#include <dlfcn.h>
#include <sched.h>
#include <stddef.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <apr_general.h>
#include <apr_pools.h>

#include "rp_sampler.h"
#include "rp_timer.h"
#include "unit_main.h"

#define NOINLINE __attribute__((noinline))

/* Under ThreadSanitizer (apxs.mk's *_tsan programs define UNIT_TSAN) the
 * CPU clock's signal reaches the handler late: TSan holds an asynchronous
 * signal until the thread reaches one of its own safe points (an
 * intercepted call such as clock_gettime), so the interrupted pc is no
 * longer on the stack the handler unwinds and every tick is counted as
 * unwind_failed.  What depends on where an on-CPU sample lands or on its
 * weight is checked without TSan only; the rest of these tests (flags
 * raised and lowered across threads, the off-CPU sampler thread, the
 * accounting of blocked time, threads coming and going) runs under both. */
#ifdef UNIT_TSAN
#define ON_CPU_SAMPLES      0
#else
#define ON_CPU_SAMPLES      1
#endif

void unit_spin_here(long ms);
void unit_block_here(long ms);

static apr_pool_t *pool;
static unsigned long sink;         /* atomic: threads spin at once */

static long cpu_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

NOINLINE void unit_spin_here(long ms)
{
    long end = cpu_ms() + ms;
    unsigned long x = __atomic_load_n(&sink, __ATOMIC_RELAXED);
    int i;

    while (cpu_ms() < end) {
        for (i = 0; i < 100000; i++) {
            x = x * 6364136223846793005UL + 1;
            __asm__ volatile("" : "+r"(x));
        }
    }
    __atomic_store_n(&sink, x, __ATOMIC_RELAXED);
    __asm__ volatile("" ::: "memory");
}

NOINLINE void unit_block_here(long ms)
{
    int rc = poll(NULL, 0, (int)ms);

    /* The whole point of off-CPU sampling: no signal cuts the wait. */
    ck_assert_int_eq(rc, 0);
    __asm__ volatile("" ::: "memory");
}

static const char *name_of(apr_uint64_t pc)
{
    Dl_info info;

    if (dladdr((void *)(apr_uintptr_t)pc, &info) && info.dli_sname) {
        return info.dli_sname;
    }
    return "?";
}

static void setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

typedef struct {
    long period_ns;
    int mode;                   /* 0 spin, 1 block, 2 spin with flag down */
    rp_sampler_counts_t counts;
    int in_spin, in_block, with_handler, total;
    int setup_failed;
} job_t;

static void *worker(void *arg)
{
    job_t *j = arg;
    rp_thread_t *t;
    rp_sample_t s;
    apr_size_t pos = 0;
    apr_uint32_t tok;
    int i;

    if (j->mode == 2) {
        /* Set the thread up, then work with the flag down. */
        t = rp_sampler_begin(j->period_ns, j->mode == 1, NULL, NULL, &tok);
        if (!t) {
            j->setup_failed = 1;
            return NULL;
        }
        rp_sampler_end(t, tok, &j->counts);
        unit_spin_here(200);
        t = rp_sampler_begin(j->period_ns, j->mode == 1, NULL, NULL, &tok);
        rp_sampler_end(t, tok, &j->counts);
    }
    else {
        t = rp_sampler_begin(j->period_ns, j->mode == 1, NULL, NULL, &tok);
        if (!t) {
            j->setup_failed = 1;
            return NULL;
        }
        if (j->mode == 0) {
            unit_spin_here(300);
        }
        else {
            unit_block_here(300);
        }
        rp_sampler_end(t, tok, &j->counts);
    }
    while (rp_sampler_next(t, &pos, &s)) {
        j->total++;
        if (strcmp(name_of(s.pcs[0]), "unit_spin_here") == 0) {
            j->in_spin++;
        }
        for (i = 0; i < s.depth; i++) {
            const char *n = name_of(s.pcs[i]);
            if (strcmp(n, "unit_block_here") == 0) {
                j->in_block++;
            }
            if (strcmp(n, "rp_sampler_signal") == 0) {
                j->with_handler++;
            }
        }
    }
    return NULL;
}

static void run(job_t *j)
{
    pthread_t th;

    pthread_create(&th, NULL, worker, j);
    pthread_join(th, NULL);
    ck_assert_msg(!j->setup_failed, "thread set-up failed");
}

/* Every tick a sample or a drop by cause, the off-CPU sampler's looks
 * included (rp_sampler.h). */
#define assert_accounted(c)                                               \
    do {                                                                  \
        ck_assert_uint_eq((c)->ticks, (c)->samples + (c)->buffer_full     \
                          + (c)->unwind_failed + (c)->other_dropped);     \
        ck_assert_uint_eq((c)->offcpu_looks, (c)->offcpu                  \
                          + (c)->offcpu_full + (c)->offcpu_woke           \
                          + (c)->offcpu_failed);                          \
        ck_assert_uint_le((c)->offcpu_full, (c)->buffer_full);            \
        ck_assert_uint_le((c)->offcpu_woke, (c)->other_dropped);          \
        ck_assert_uint_le((c)->offcpu_failed, (c)->unwind_failed);        \
    } while (0)

START_TEST(test_cpu_samples_land_in_the_spinner)
{
    job_t j = { 4000000L, 0 };    /* 250 Hz */

    ck_assert_ptr_null(rp_sampler_child_init(pool, SIGRTMIN + 4, 64));
    run(&j);
    /* 300 ms of CPU at up to 250 Hz (kernel tick bound): tens of ticks. */
    ck_assert_uint_ge(j.counts.ticks, 20);
    assert_accounted(&j.counts);
    ck_assert_int_eq(j.total, (int)j.counts.samples);
    ck_assert_msg(j.in_spin * 10 >= j.total * 9, "%d of %d in the spinner",
                  j.in_spin, j.total);
    ck_assert_int_eq(j.with_handler, 0);
}
END_TEST

START_TEST(test_no_samples_with_flag_down)
{
    job_t j = { 4000000L, 2 };

    ck_assert_ptr_null(rp_sampler_child_init(pool, SIGRTMIN + 4, 64));
    run(&j);
    ck_assert_int_eq(j.total, 0);
    ck_assert_uint_eq(j.counts.ticks, 0);
    /* 200 ms of CPU between the requests at 250 Hz: the ticks that found
     * no request come back with the next one's counts. */
    ck_assert_msg(j.counts.outside_request >= 5, "%lu outside",
                  (unsigned long)j.counts.outside_request);
}
END_TEST

START_TEST(test_blocked_thread_sampled_off_cpu)
{
    job_t j = { 2000000L, 1 };    /* 500 Hz */

    ck_assert_ptr_null(rp_sampler_child_init(pool, SIGRTMIN + 4, 64));
    run(&j);
    /* 300 ms blocked at 500 Hz: about 150 off-CPU samples. */
    ck_assert_msg(j.counts.offcpu >= 100 && j.counts.offcpu <= 170,
                  "%lu off-CPU samples", (unsigned long)j.counts.offcpu);
    ck_assert_msg(j.in_block * 10 >= j.total * 9, "%d of %d below the "
                  "blocking call", j.in_block, j.total);
    /* Each of the off-CPU sampler's looks ended somewhere, and every one
     * that took a sample is a tick. */
    ck_assert_uint_ge(j.counts.offcpu_looks, j.counts.offcpu);
    ck_assert_uint_ge(j.counts.ticks, j.counts.offcpu_looks);
    assert_accounted(&j.counts);
}
END_TEST

static void other_handler(int sig)
{
    (void)sig;
}

START_TEST(test_signal_in_use_is_refused)
{
    const char *why;

    signal(SIGRTMIN + 5, other_handler);
    why = rp_sampler_child_init(pool, SIGRTMIN + 5, 64);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "already has a handler"));
    ck_assert_ptr_null(rp_timer_signal_taken(pool, SIGRTMIN + 6));
}
END_TEST

/* ---- wall accounting of the real timer --------------------------- */

typedef struct {
    int cpu;                    /* pin to this CPU, -1: no */
    long block_ms, spin_ms;
    apr_uint64_t wall_ns, weight_ns, wait_ns, blocked_leaf_ns, block_ns;
    apr_uint64_t off_ns;        /* all but the CPU clock's samples */
    rp_sampler_counts_t counts;
} acct_job_t;

static apr_uint64_t mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_uint64_t)ts.tv_sec * 1000000000u + (apr_uint64_t)ts.tv_nsec;
}

/* One real-time request: block, then spin (CPU time), then a wait too
 * short for any look to catch; sum its samples' weights by kind. */
static void *acct_request(void *arg)
{
    acct_job_t *j = arg;
    rp_thread_t *t;
    rp_sample_t s;
    apr_size_t pos = 0;
    apr_uint32_t tok;
    apr_uint64_t t0;
    int i;

    if (j->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(j->cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    /* The thread's and the child's first real-time request set up the
     * timer, the buffers and the sampler thread: outside the wall. */
    t = rp_sampler_begin(1000000L, 1, NULL, NULL, &tok);
    ck_assert_ptr_nonnull(t);
    rp_sampler_end(t, tok, &j->counts);
    t0 = mono();
    t = rp_sampler_begin(1000000L, 1, NULL, NULL, &tok);
    ck_assert_ptr_nonnull(t);
    if (j->block_ms) {
        unit_block_here(j->block_ms);
    }
    unit_spin_here(j->spin_ms);
    ck_assert_int_eq(rp_sampler_end(t, tok, &j->counts), 1);
    j->wall_ns = mono() - t0;
    while (rp_sampler_next(t, &pos, &s)) {
        j->weight_ns += s.weight_ns;
        if (s.offcpu || s.state != RP_SAMPLE_STACK) {
            j->off_ns += s.weight_ns;
        }
        if (s.state == RP_SAMPLE_WAIT_CPU) {
            j->wait_ns += s.weight_ns;
        }
        else if (s.state == RP_SAMPLE_BLOCKED) {
            j->blocked_leaf_ns += s.weight_ns;
        }
        else if (s.offcpu) {
            for (i = 0; i < s.depth; i++) {
                if (strcmp(name_of(s.pcs[i]), "unit_block_here") == 0) {
                    j->block_ns += s.weight_ns;
                    break;
                }
            }
        }
    }
    return NULL;
}

/* Blocked time is credited exactly (wall - CPU - run delay between two
 * looks) to the stack it was spent in, and the CPU time by the CPU
 * clock's samples: the weights add up to the wall time, the time off the
 * CPU exactly, the CPU time as closely as its ten-odd ticks can say. */
START_TEST(test_real_weights_add_up_to_the_wall)
{
    acct_job_t j = { -1, 60, 40 };
    pthread_t th;
    apr_int64_t off_error;
    double share;

    ck_assert_ptr_null(rp_sampler_child_init(pool, SIGRTMIN + 4, 64));
    pthread_create(&th, NULL, acct_request, &j);
    pthread_join(th, NULL);
    /* The test's wall starts a little before the sampler's begin and ends
     * a little after its end: 2 ms of slack. */
    off_error = (apr_int64_t)(j.wall_ns - j.counts.cpu_ns)
                - (apr_int64_t)j.off_ns;
    ck_assert_msg(off_error >= -2000000 && off_error <= 2000000,
                  "off-CPU weights %lu ns for %lu ns off the CPU",
                  (unsigned long)j.off_ns,
                  (unsigned long)(j.wall_ns - j.counts.cpu_ns));
    /* The CPU part is sampled: on a loaded machine the ticks of its last
     * milliseconds come after the end and are lost (as much as a fifth
     * of the 40 ms with other programs busy on every core). */
    share = (double)j.weight_ns / (double)j.wall_ns;
    ck_assert_msg(share >= (ON_CPU_SAMPLES ? 0.7 : 0) && share <= 1.15,
                  "weights %.3f of the wall", share);
    /* The 60 ms wait is in the blocking function, whole (with, on a
     * loaded machine, the wait for a CPU after it: this first request of
     * the process does not tell the two apart).  Its off-CPU samples are
     * counted: a CPU tick may land in that function too, as it enters or
     * leaves the wait (CI saw 2.6 ms of them once). */
    ck_assert_msg(j.block_ns >= 55000000u && j.block_ns <= j.off_ns,
                  "%lu ns under unit_block_here, %lu off the CPU",
                  (unsigned long)j.block_ns, (unsigned long)j.off_ns);
    /* The exact CPU time comes back with the counts. */
    ck_assert_msg(j.counts.cpu_ns >= 39000000u
                  && j.counts.cpu_ns <= 60000000u, "cpu %lu ns",
                  (unsigned long)j.counts.cpu_ns);
    assert_accounted(&j.counts);
}
END_TEST

/* Two CPU-bound requests on one CPU: each waits about half its wall for
 * the CPU, which shows as [waiting for CPU] once the process is warm
 * (its first request counts the wait as blocked). */
START_TEST(test_real_waiting_for_cpu_shown)
{
    acct_job_t a = { 0, 0, 80 }, b = { 0, 0, 80 };
    pthread_t ta, tb;
    int round;

    ck_assert_ptr_null(rp_sampler_child_init(pool, SIGRTMIN + 4, 64));
    for (round = 0; round < 2; round++) {
        memset(&a.wall_ns, 0, sizeof(a) - offsetof(acct_job_t, wall_ns));
        memset(&b.wall_ns, 0, sizeof(b) - offsetof(acct_job_t, wall_ns));
        pthread_create(&ta, NULL, acct_request, &a);
        pthread_create(&tb, NULL, acct_request, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
    }
    ck_assert_msg(a.wall_ns > 120000000u, "wall %lu ns: not sharing a CPU",
                  (unsigned long)a.wall_ns);
    ck_assert_msg((!ON_CPU_SAMPLES || a.weight_ns >= a.wall_ns * 9 / 10)
                  && a.weight_ns <= a.wall_ns * 11 / 10,
                  "weights %lu of wall %lu", (unsigned long)a.weight_ns,
                  (unsigned long)a.wall_ns);
    ck_assert_msg(a.wait_ns + b.wait_ns >= (a.wall_ns + b.wall_ns) / 4,
                  "waiting %lu + %lu of %lu + %lu", (unsigned long)a.wait_ns,
                  (unsigned long)b.wait_ns, (unsigned long)a.wall_ns,
                  (unsigned long)b.wall_ns);
}
END_TEST

/* ---- a request's end on another thread, a thread's exit ---------- */

typedef struct {
    rp_thread_t *t;
    apr_uint32_t token;
    int ended;
    pthread_barrier_t *b;
} handoff_t;

static void *end_elsewhere(void *arg)
{
    handoff_t *h = arg;
    rp_sampler_counts_t c;

    h->ended = rp_sampler_end(h->t, h->token, &c);
    return NULL;
}

static void *owner_thread(void *arg)
{
    handoff_t *h = arg;
    rp_sampler_counts_t c;
    pthread_t th;
    int key = 0;

    h->t = rp_sampler_begin(4000000L, 0, &key, h, &h->token);
    ck_assert_ptr_nonnull(h->t);
    ck_assert_ptr_eq(rp_sampler_owner(&key), h);
    ck_assert_ptr_null(rp_sampler_owner(h));
    /* The request ends on another thread: that lowers this thread's flag
     * but reads nothing of its buffer. */
    pthread_create(&th, NULL, end_elsewhere, h);
    pthread_join(th, NULL);
    ck_assert_int_eq(h->ended, 0);
    ck_assert_ptr_null(rp_sampler_owner(&key));
    unit_spin_here(100);
    /* Its own end, later: already ended. */
    ck_assert_int_eq(rp_sampler_end(h->t, h->token, &c), 0);
    ck_assert_uint_eq(c.ticks, 0);
    return NULL;
}

START_TEST(test_end_on_another_thread_lowers_the_flag)
{
    handoff_t h;
    pthread_t th;

    memset(&h, 0, sizeof(h));
    ck_assert_ptr_null(rp_sampler_child_init(pool, SIGRTMIN + 4, 64));
    pthread_create(&th, NULL, owner_thread, &h);
    pthread_join(th, NULL);
}
END_TEST

static void *stale_then_new(void *arg)
{
    rp_sampler_counts_t c;
    apr_uint32_t old, cur;
    rp_thread_t *t;
    handoff_t h;
    pthread_t th;

    (void)arg;
    t = rp_sampler_begin(4000000L, 0, NULL, NULL, &old);
    ck_assert_ptr_nonnull(t);
    /* A request that left without ending; the next begin takes the flag. */
    ck_assert_ptr_eq(rp_sampler_begin(4000000L, 0, NULL, NULL, &cur), t);
    ck_assert_uint_ne(old, cur);
    /* The old request's late end, from another thread, must not lower
     * the new request's flag. */
    h.t = t;
    h.token = old;
    pthread_create(&th, NULL, end_elsewhere, &h);
    pthread_join(th, NULL);
    ck_assert_int_eq(h.ended, 0);
    unit_spin_here(200);
    ck_assert_int_eq(rp_sampler_end(t, old, &c), 0);
    ck_assert_int_eq(rp_sampler_end(t, cur, &c), 1);
    /* The flag stayed up: ticks came (about 50, but on a loaded machine
     * the kernel folds several periods into one tick, as few as 5). */
    ck_assert_uint_ge(c.ticks, 1);
    assert_accounted(&c);
    return NULL;
}

START_TEST(test_a_new_request_takes_a_stale_flag)
{
    pthread_t th;

    ck_assert_ptr_null(rp_sampler_child_init(pool, SIGRTMIN + 4, 64));
    pthread_create(&th, NULL, stale_then_new, NULL);
    pthread_join(th, NULL);
}
END_TEST

static void *one_request(void *arg)
{
    rp_sampler_counts_t c;
    apr_uint32_t tok;
    rp_thread_t *t = rp_sampler_begin(4000000L, *(int *)arg, NULL, NULL,
                                      &tok);

    ck_assert_ptr_nonnull(t);
    unit_spin_here(5);
    ck_assert_int_eq(rp_sampler_end(t, tok, &c), 1);
    return NULL;
}

/* POSIX timers of this process, from /proc/self/timers (-1: unreadable). */
static int process_timers(void)
{
    FILE *f = fopen("/proc/self/timers", "r");
    char line[256];
    int n = 0;

    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        n += strncmp(line, "ID:", 3) == 0;
    }
    fclose(f);
    return n;
}

START_TEST(test_thread_exit_gives_back_its_state)
{
    apr_uint32_t in_use, made;
    int real = _i, before, i;
    pthread_t th[4];

    ck_assert_ptr_null(rp_sampler_child_init(pool, SIGRTMIN + 4, 64));
    before = process_timers();
    /* Threads come and go, as mod_http2's workers do: 10 bursts of 4. */
    for (i = 0; i < 40; i++) {
        pthread_create(&th[i % 4], NULL, one_request, &real);
        if (i % 4 == 3) {
            int k;
            for (k = 0; k < 4; k++) {
                pthread_join(th[k], NULL);
            }
        }
    }
    rp_sampler_stats(&in_use, &made);
    ck_assert_uint_eq(in_use, 0);
    ck_assert_msg(made <= 4, "%u thread structs for 4 at a time", made);
    if (before >= 0) {
        ck_assert_int_eq(process_timers(), before);
    }
}
END_TEST

static Suite *sampler_suite(void)
{
    Suite *s = suite_create("rp_sampler");
    TCase *tc = tcase_create("sampler");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    if (ON_CPU_SAMPLES) {
        tcase_add_test(tc, test_cpu_samples_land_in_the_spinner);
    }
    tcase_add_test(tc, test_no_samples_with_flag_down);
    tcase_add_test(tc, test_blocked_thread_sampled_off_cpu);
    tcase_add_test(tc, test_signal_in_use_is_refused);
    tcase_add_test(tc, test_real_weights_add_up_to_the_wall);
    tcase_add_test(tc, test_real_waiting_for_cpu_shown);
    tcase_add_test(tc, test_end_on_another_thread_lowers_the_flag);
    tcase_add_test(tc, test_a_new_request_takes_a_stale_flag);
    tcase_add_loop_test(tc, test_thread_exit_gives_back_its_state, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(sampler_suite)
