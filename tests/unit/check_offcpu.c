/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of rp_offcpu, the unwinding of a blocked thread from another
 * thread without a signal: a thread blocked in poll() under three named
 * functions is unwound to libc's poll wrapper, then those functions in
 * order; its poll is not disturbed (it returns 0 after its full timeout,
 * never EINTR) however often it is sampled; a frame whose CFA is computed
 * from RBP (a VLA) is unwound through; a busy thread is RUNNING; a thread
 * that exits, this thread, and a thread of another process are FAILED; a
 * thread that keeps waking is dropped as WOKE, never returned with a torn
 * stack; a thread waiting on a page fault is sampled at the faulting
 * instruction; MAX cuts the stack to its innermost frames; a process that
 * is not dumpable is refused with a reason; the /proc files are closed
 * with the pool.  Costs are printed: a cold and a warm unwind, and the
 * check of a running thread.
 *
 * Frames are named with dladdr, so the test is linked with -rdynamic and
 * the functions it looks for are exported, not inlined, and not left by a
 * tail call (an empty asm after each call keeps the caller's frame).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* dladdr */
#endif

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "rp_arch.h"
#include "rp_offcpu.h"

#include "unit_main.h"
#include "unit_pool.h"

/* noclone: a GCC clone (.constprop, .isra) is a local symbol, and
 * dladdr would not name it. */
#if defined(__clang__)
#define NOINLINE        __attribute__((noinline))
#else
#define NOINLINE        __attribute__((noinline, noclone))
#endif
/* After a call: the caller still has work, so the call is not a jump. */
#define KEEP_FRAME()    __asm__ __volatile__("" ::: "memory")

#define MAX_DEPTH       64

typedef struct {
    pid_t tid;
    int ready;                  /* tid is set */
    int stop;                   /* for the spinner and the sleeper */
    int timeout_ms;             /* of the poll */
    int vla;                    /* block under the VLA chain */
    int rc;                     /* poll's result and errno */
    int err;
    double ms;                  /* poll's duration */
} worker_t;

/* Exported, for dladdr. */
void offcpu_test_a(worker_t *w);
void offcpu_test_b(worker_t *w);
void offcpu_test_c(worker_t *w);
void offcpu_vla_a(worker_t *w);
void offcpu_vla_b(worker_t *w);
void offcpu_vla_c(worker_t *w, int n);
void offcpu_test_spin(worker_t *w);
void offcpu_test_sleeper(worker_t *w);
int offcpu_test_touch(volatile char *page);

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3
           + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ------------------------------------------------------------------ */
/* The threads being sampled */

static void timed_poll(worker_t *w)
{
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    w->rc = poll(NULL, 0, w->timeout_ms);
    w->err = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    w->ms = elapsed_ms(&t0, &t1);
}

NOINLINE void offcpu_test_c(worker_t *w)
{
    timed_poll(w);
    KEEP_FRAME();
}

NOINLINE void offcpu_test_b(worker_t *w)
{
    offcpu_test_c(w);
    KEEP_FRAME();
}

NOINLINE void offcpu_test_a(worker_t *w)
{
    offcpu_test_b(w);
    KEEP_FRAME();
}

/* A variable-length array makes the compiler address the frame from RBP,
 * and describe its CFA as RBP + 16, with or without -fomit-frame-pointer.
 * poll's wrapper does not save RBP, so the unwinder must find it. */
NOINLINE void offcpu_vla_c(worker_t *w, int n)
{
    volatile char buf[n];
    struct timespec t0, t1;

    buf[0] = 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    w->rc = poll(NULL, 0, w->timeout_ms);
    w->err = errno;
    KEEP_FRAME();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    w->ms = elapsed_ms(&t0, &t1) + buf[0] - 1;
}

NOINLINE void offcpu_vla_b(worker_t *w)
{
    offcpu_vla_c(w, 64 + w->timeout_ms % 7);
    KEEP_FRAME();
}

NOINLINE void offcpu_vla_a(worker_t *w)
{
    offcpu_vla_b(w);
    KEEP_FRAME();
}

NOINLINE void offcpu_test_spin(worker_t *w)
{
    while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
        KEEP_FRAME();
    }
}

/* Wakes every few tens of microseconds, always in the same call with the
 * same arguments: its syscall line is the same each time it blocks. */
NOINLINE void offcpu_test_sleeper(worker_t *w)
{
    static const struct timespec ts = { 0, 20000 };

    while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
        nanosleep(&ts, NULL);
        KEEP_FRAME();
    }
}

/* Reads a page whose fault a userfaultfd holds: blocked, not in a
 * system call. */
NOINLINE int offcpu_test_touch(volatile char *page)
{
    int v = page[0];

    KEEP_FRAME();
    return v;
}

static volatile char *touch_page;

static void *touch_main(void *arg)
{
    worker_t *w = arg;

    w->tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
    w->rc = offcpu_test_touch(touch_page);
    return NULL;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;

    w->tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
    if (w->vla) {
        offcpu_vla_a(w);
    }
    else {
        offcpu_test_a(w);
    }
    return NULL;
}

static void *spin_main(void *arg)
{
    worker_t *w = arg;

    w->tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
    offcpu_test_spin(w);
    return NULL;
}

static void *sleeper_main(void *arg)
{
    worker_t *w = arg;

    w->tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
    offcpu_test_sleeper(w);
    return NULL;
}

static void *exit_main(void *arg)
{
    worker_t *w = arg;

    w->tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void start(pthread_t *th, worker_t *w, void *(*fn)(void *))
{
    ck_assert_int_eq(pthread_create(th, NULL, fn, w), 0);
    while (!__atomic_load_n(&w->ready, __ATOMIC_ACQUIRE)) {
        sched_yield();
    }
}

/* ------------------------------------------------------------------ */
/* Stacks */

/* Frame I's function; a return address is looked up one byte back, in
 * its call instruction. */
static const char *frame_name(const apr_uint64_t *pcs, int i)
{
    Dl_info info;
    apr_uint64_t pc = i == 0 ? pcs[i] : pcs[i] - 1;

    if (dladdr((void *)(uintptr_t)pc, &info) && info.dli_sname) {
        return info.dli_sname;
    }
    return "?";
}

static const char *frame_object(const apr_uint64_t *pcs, int i)
{
    Dl_info info;

    if (dladdr((void *)(uintptr_t)pcs[i], &info) && info.dli_fname) {
        return info.dli_fname;
    }
    return "?";
}

static int frame_index(const apr_uint64_t *pcs, int depth, const char *name)
{
    int i;

    for (i = 0; i < depth; i++) {
        if (strcmp(frame_name(pcs, i), name) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *stack_text(const apr_uint64_t *pcs, int depth)
{
    const char *s = "";
    int i;

    for (i = 0; i < depth; i++) {
        s = apr_psprintf(pool, "%s%s%s", s, i ? " <- " : "",
                         frame_name(pcs, i));
    }
    return s;
}

static rp_offcpu_t *create_ok(apr_pool_t *p)
{
    const char *why = NULL;
    rp_offcpu_t *o = rp_offcpu_create(p, &why);

    ck_assert_msg(o != NULL, "rp_offcpu_create: %s", why);
    ck_assert_ptr_null(why);
    return o;
}

/* Sample W until it is found blocked under FUNCTION (it may still be on
 * its way into poll); fail after two seconds. */
static void sample_blocked(rp_offcpu_t *o, worker_t *w, const char *function,
                           apr_uint64_t *pcs, int *depth)
{
    rp_offcpu_result_e r = RP_OFFCPU_FAILED;
    int i;

    for (i = 0; i < 2000; i++) {
        r = rp_offcpu_sample(o, w->tid, pcs, MAX_DEPTH, depth);
        if (r == RP_OFFCPU_SAMPLED
            && frame_index(pcs, *depth, function) >= 0) {
            return;
        }
        usleep(1000);
    }
    ck_abort_msg("thread %ld never seen blocked under %s: last %s, %s",
                 (long)w->tid, function, rp_offcpu_result_name(r),
                 r == RP_OFFCPU_SAMPLED ? stack_text(pcs, *depth) : "");
}

/* The thread's poll ran its whole timeout and returned 0: not EINTR. */
static void assert_undisturbed(const worker_t *w)
{
    ck_assert_msg(w->rc == 0, "poll returned %d (%s): sampling disturbed it",
                  w->rc, strerror(w->err));
    ck_assert_msg(w->ms >= w->timeout_ms - 1.0,
                  "poll returned after %.1f ms of %d", w->ms, w->timeout_ms);
}

/* ------------------------------------------------------------------ */
/* Blocked threads */

START_TEST(test_blocked_stack)
{
    rp_offcpu_t *o = create_ok(pool);
    apr_uint64_t pcs[MAX_DEPTH], again[MAX_DEPTH];
    worker_t w = { 0 };
    pthread_t th;
    rp_offcpu_stats_t st0, st;
    int depth, depth2, ia, ib, ic, i, n = 1000, same = 0;
    double t0, t1;

    w.timeout_ms = 2000;
    start(&th, &w, worker_main);
    sample_blocked(o, &w, "offcpu_test_c", pcs, &depth);

    /* Innermost first: libc's poll wrapper (maybe under a sanitizer's
     * interceptor), then c, b, a. */
    ic = frame_index(pcs, depth, "offcpu_test_c");
    ib = frame_index(pcs, depth, "offcpu_test_b");
    ia = frame_index(pcs, depth, "offcpu_test_a");
    ck_assert_msg(ic >= 1 && ib == ic + 1 && ia == ib + 1,
                  "stack: %s", stack_text(pcs, depth));
    ck_assert_msg(strstr(frame_name(pcs, 0), "poll") != NULL
                  && strstr(frame_object(pcs, 0), "libc.so") != NULL,
                  "innermost frame %s in %s: stack %s", frame_name(pcs, 0),
                  frame_object(pcs, 0), stack_text(pcs, depth));
    ck_assert_msg(ic <= 3, "poll is %d frames under offcpu_test_c: %s", ic,
                  stack_text(pcs, depth));
    /* And on, above a, to the thread's start. */
    ck_assert_msg(frame_index(pcs, depth, "offcpu_test_a") < depth - 1,
                  "stack ends at a: %s", stack_text(pcs, depth));

    /* Warm: the same stack every time, and the thread never noticed.
     * (It may have been caught waking on its way into poll before.) */
    rp_offcpu_stats(o, &st0);
    t0 = now_us();
    for (i = 0; i < n; i++) {
        rp_offcpu_result_e r = rp_offcpu_sample(o, w.tid, again, MAX_DEPTH,
                                                &depth2);

        ck_assert_msg(r == RP_OFFCPU_SAMPLED, "sample %d: %s", i,
                      rp_offcpu_result_name(r));
        same += depth2 == depth
                && memcmp(again, pcs, sizeof(*pcs) * (size_t)depth) == 0;
    }
    t1 = now_us();
    ck_assert_int_eq(same, n);
    rp_offcpu_stats(o, &st);
    printf("check_offcpu: blocked thread: %s\n", stack_text(pcs, depth));
    printf("check_offcpu: blocked thread, %d frames: %.1f us per sample "
           "(warm, mean of %d; %" APR_UINT64_T_FMT " frame records "
           "searched)\n", depth, (t1 - t0) / n, n,
           st.fp_found - st0.fp_found);

    ck_assert_uint_eq(st.sampled - st0.sampled, (apr_uint64_t)n);
    ck_assert_uint_eq(st.woke, st0.woke);

    ck_assert_int_eq(pthread_join(th, NULL), 0);
    assert_undisturbed(&w);
}
END_TEST

START_TEST(test_cold_cost)
{
    apr_uint64_t pcs[MAX_DEPTH];
    worker_t w = { 0 };
    pthread_t th;
    rp_offcpu_t *o;
    int depth;
    double t0, t1, t2;

    w.timeout_ms = 500;
    start(&th, &w, worker_main);
    /* Once it is blocked, time a first unwind with empty caches. */
    sample_blocked(create_ok(pool), &w, "offcpu_test_c", pcs, &depth);
    o = create_ok(pool);
    t0 = now_us();
    ck_assert_int_eq(rp_offcpu_sample(o, w.tid, pcs, MAX_DEPTH, &depth),
                     RP_OFFCPU_SAMPLED);
    t1 = now_us();
    ck_assert_int_eq(rp_offcpu_sample(o, w.tid, pcs, MAX_DEPTH, &depth),
                     RP_OFFCPU_SAMPLED);
    t2 = now_us();
    printf("check_offcpu: first sample %.0f us (cold), second %.0f us\n",
           t1 - t0, t2 - t1);
    ck_assert_int_ge(frame_index(pcs, depth, "offcpu_test_a"), 3);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    assert_undisturbed(&w);
}
END_TEST

START_TEST(test_frame_pointer_frame)
{
    rp_offcpu_t *o = create_ok(pool);
    apr_uint64_t pcs[MAX_DEPTH];
    rp_offcpu_stats_t st;
    worker_t w = { 0 };
    pthread_t th;
    int depth, ia, ib, ic, i;
    double t0, t1;

    w.timeout_ms = 1000;
    w.vla = 1;
    start(&th, &w, worker_main);
    sample_blocked(o, &w, "offcpu_vla_c", pcs, &depth);

    ic = frame_index(pcs, depth, "offcpu_vla_c");
    ib = frame_index(pcs, depth, "offcpu_vla_b");
    ia = frame_index(pcs, depth, "offcpu_vla_a");
    ck_assert_msg(ic >= 1 && ib == ic + 1 && ia == ib + 1,
                  "stack: %s", stack_text(pcs, depth));
    rp_offcpu_stats(o, &st);
    ck_assert_msg(st.fp_found >= 1, "no frame record was searched for: "
                  "is offcpu_vla_c's CFA not RBP-based?");

    /* The record's distance is remembered: warm cost as without one. */
    t0 = now_us();
    for (i = 0; i < 200; i++) {
        ck_assert_int_eq(rp_offcpu_sample(o, w.tid, pcs, MAX_DEPTH, &depth),
                         RP_OFFCPU_SAMPLED);
    }
    t1 = now_us();
    ck_assert_int_eq(frame_index(pcs, depth, "offcpu_vla_a"), ia);
    printf("check_offcpu: RBP-based frame: %s\n", stack_text(pcs, depth));
    printf("check_offcpu: through an RBP-based frame: %.1f us per sample\n",
           (t1 - t0) / 200);

    ck_assert_int_eq(pthread_join(th, NULL), 0);
    assert_undisturbed(&w);
}
END_TEST

START_TEST(test_truncated)
{
    rp_offcpu_t *o = create_ok(pool);
    apr_uint64_t pcs[MAX_DEPTH], two[MAX_DEPTH];
    worker_t w = { 0 };
    pthread_t th;
    int depth, d2, d1;

    w.timeout_ms = 500;
    start(&th, &w, worker_main);
    sample_blocked(o, &w, "offcpu_test_a", pcs, &depth);

    /* The innermost MAX frames. */
    ck_assert_int_eq(rp_offcpu_sample(o, w.tid, two, 2, &d2),
                     RP_OFFCPU_SAMPLED);
    ck_assert_int_eq(d2, 2);
    ck_assert(two[0] == pcs[0] && two[1] == pcs[1]);
    ck_assert_int_eq(rp_offcpu_sample(o, w.tid, two, 1, &d1),
                     RP_OFFCPU_SAMPLED);
    ck_assert_int_eq(d1, 1);
    ck_assert(two[0] == pcs[0]);
    /* Nothing to store into: refused. */
    ck_assert_int_eq(rp_offcpu_sample(o, w.tid, two, 0, &d1),
                     RP_OFFCPU_FAILED);
    ck_assert_int_eq(d1, 0);

    ck_assert_int_eq(pthread_join(th, NULL), 0);
    assert_undisturbed(&w);
}
END_TEST

/* A thread waiting in the kernel outside a system call (here a page fault
 * held by a userfaultfd; in httpd, a major fault or mmap_lock) is off-CPU
 * too: its line is "-1 SP PC", PC at the faulting instruction. */
START_TEST(test_page_fault_wait)
{
#ifdef UFFD_USER_MODE_ONLY
    rp_offcpu_t *o = create_ok(pool);
    apr_uint64_t pcs[MAX_DEPTH];
    rp_offcpu_stats_t st;
    struct uffdio_api api;
    struct uffdio_register reg;
    struct uffdio_zeropage zero;
    worker_t w = { 0 };
    pthread_t th;
    long size = sysconf(_SC_PAGESIZE);
    int uffd, depth, i;
    void *page;

    uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (uffd < 0) {
        printf("check_offcpu: no userfaultfd (%s), page fault wait not "
               "tested\n", strerror(errno));
        return;
    }
    memset(&api, 0, sizeof(api));
    api.api = UFFD_API;
    ck_assert_int_eq(ioctl(uffd, UFFDIO_API, &api), 0);
    page = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(page != MAP_FAILED);
    memset(&reg, 0, sizeof(reg));
    reg.range.start = (unsigned long)page;
    reg.range.len = (unsigned long)size;
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    ck_assert_int_eq(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);

    touch_page = page;
    start(&th, &w, touch_main);
    for (i = 0; i < 2000; i++) {
        if (rp_offcpu_sample(o, w.tid, pcs, MAX_DEPTH, &depth)
            == RP_OFFCPU_SAMPLED) {
            break;
        }
        usleep(1000);
    }
    ck_assert_msg(i < 2000, "the faulting thread was never sampled");
    ck_assert_msg(strcmp(frame_name(pcs, 0), "offcpu_test_touch") == 0,
                  "stack: %s", stack_text(pcs, depth));
    rp_offcpu_stats(o, &st);
    ck_assert_uint_eq(st.not_syscall, 1);

    memset(&zero, 0, sizeof(zero));
    zero.range = reg.range;
    ck_assert_int_eq(ioctl(uffd, UFFDIO_ZEROPAGE, &zero), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(w.rc, 0);
    close(uffd);
    munmap(page, (size_t)size);
#else
    printf("check_offcpu: no UFFD_USER_MODE_ONLY, page fault wait not "
           "tested\n");
#endif
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads that are not blocked, or not there */

START_TEST(test_running)
{
    rp_offcpu_t *o = create_ok(pool);
    apr_uint64_t pcs[MAX_DEPTH];
    rp_offcpu_stats_t st;
    worker_t w = { 0 };
    pthread_t th;
    int depth, i, n = 1000;
    double t0, t1;

    start(&th, &w, spin_main);
    t0 = now_us();
    for (i = 0; i < n; i++) {
        rp_offcpu_result_e r = rp_offcpu_sample(o, w.tid, pcs, MAX_DEPTH,
                                                &depth);

        ck_assert_msg(r == RP_OFFCPU_RUNNING, "sample %d: %s", i,
                      rp_offcpu_result_name(r));
        ck_assert_int_eq(depth, 0);
    }
    t1 = now_us();
    printf("check_offcpu: running thread: %.2f us per check (mean of %d)\n",
           (t1 - t0) / n, n);
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELAXED);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    rp_offcpu_stats(o, &st);
    ck_assert_uint_eq(st.running, (apr_uint64_t)n);
}
END_TEST

START_TEST(test_exited)
{
    rp_offcpu_t *o = create_ok(pool);
    apr_uint64_t pcs[MAX_DEPTH];
    rp_offcpu_stats_t st;
    worker_t w = { 0 }, v = { 0 };
    pthread_t th;
    int depth;

    /* Never sampled before it exited: its directory is gone. */
    start(&th, &w, exit_main);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(rp_offcpu_sample(o, w.tid, pcs, MAX_DEPTH, &depth),
                     RP_OFFCPU_FAILED);
    ck_assert_int_eq(depth, 0);

    /* Sampled, so its files are cached, then exited. */
    v.timeout_ms = 200;
    start(&th, &v, worker_main);
    sample_blocked(o, &v, "offcpu_test_c", pcs, &depth);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    assert_undisturbed(&v);
    ck_assert_int_eq(rp_offcpu_sample(o, v.tid, pcs, MAX_DEPTH, &depth),
                     RP_OFFCPU_FAILED);
    ck_assert_int_eq(depth, 0);
    rp_offcpu_stats(o, &st);
    ck_assert_uint_ge(st.stale_fds, 1);
    /* And again, from a clean slot. */
    ck_assert_int_eq(rp_offcpu_sample(o, v.tid, pcs, MAX_DEPTH, &depth),
                     RP_OFFCPU_FAILED);
}
END_TEST

START_TEST(test_not_ours)
{
    rp_offcpu_t *o = create_ok(pool);
    apr_uint64_t pcs[MAX_DEPTH];
    int depth;

    /* This thread: its line would describe the read of that line. */
    ck_assert_int_eq(rp_offcpu_sample(o, (pid_t)syscall(SYS_gettid), pcs,
                                      MAX_DEPTH, &depth), RP_OFFCPU_FAILED);
    /* Another process's thread is not under /proc/self/task. */
    ck_assert_int_eq(rp_offcpu_sample(o, getppid(), pcs, MAX_DEPTH, &depth),
                     RP_OFFCPU_FAILED);
    ck_assert_int_eq(rp_offcpu_sample(o, 0, pcs, MAX_DEPTH, &depth),
                     RP_OFFCPU_FAILED);
    ck_assert_int_eq(rp_offcpu_sample(o, -1, pcs, MAX_DEPTH, &depth),
                     RP_OFFCPU_FAILED);
    ck_assert_int_eq(depth, 0);
    ck_assert_str_eq(rp_offcpu_result_name(RP_OFFCPU_WOKE), "woke");
}
END_TEST

START_TEST(test_woke_dropped)
{
    rp_offcpu_t *o = create_ok(pool);
    apr_uint64_t pcs[MAX_DEPTH];
    rp_offcpu_stats_t st;
    worker_t w = { 0 };
    pthread_t th;
    int depth, i, count[4] = { 0, 0, 0, 0 };

    start(&th, &w, sleeper_main);
    /* Paced, so that the sleeper gets a CPU when this thread shares
     * its; until both outcomes are seen, or 20,000 tries. */
    for (i = 0; i < 20000; i++) {
        rp_offcpu_result_e r = rp_offcpu_sample(o, w.tid, pcs, MAX_DEPTH,
                                                &depth);

        count[r]++;
        if (r == RP_OFFCPU_SAMPLED) {
            /* Every stack kept is whole: the sleeper under its start. */
            ck_assert_msg(frame_index(pcs, depth, "offcpu_test_sleeper") >= 1,
                          "torn stack: %s", stack_text(pcs, depth));
        }
        if (i >= 2000 && count[RP_OFFCPU_WOKE] > 0
            && count[RP_OFFCPU_SAMPLED] >= 100) {
            break;
        }
        usleep(i % 50);
    }
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELAXED);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    printf("check_offcpu: a thread waking every ~20 us: %d sampled, "
           "%d running, %d woke, %d failed\n",
           count[RP_OFFCPU_SAMPLED], count[RP_OFFCPU_RUNNING],
           count[RP_OFFCPU_WOKE], count[RP_OFFCPU_FAILED]);
    fflush(stdout);
    ck_assert_int_eq(count[RP_OFFCPU_FAILED], 0);
    ck_assert_int_gt(count[RP_OFFCPU_WOKE], 0);
    ck_assert_int_gt(count[RP_OFFCPU_SAMPLED], 0);
    rp_offcpu_stats(o, &st);
    ck_assert_uint_eq(st.woke, (apr_uint64_t)count[RP_OFFCPU_WOKE]);
    ck_assert_uint_eq(st.sampled, (apr_uint64_t)count[RP_OFFCPU_SAMPLED]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Resources and permissions */

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

START_TEST(test_fds_released)
{
    apr_uint64_t pcs[MAX_DEPTH];
    worker_t w[3];
    pthread_t th[3];
    apr_pool_t *sub;
    rp_offcpu_t *o;
    int before, depth, i;

    /* libunwind opens a pipe of its own, once per process, on first use:
     * not ours to count. */
    ck_assert_int_eq(apr_pool_create(&sub, pool), APR_SUCCESS);
    create_ok(sub);
    apr_pool_destroy(sub);

    memset(w, 0, sizeof(w));
    for (i = 0; i < 3; i++) {
        w[i].timeout_ms = 300;
        start(&th[i], &w[i], worker_main);
    }
    before = open_fds();
    ck_assert_int_eq(apr_pool_create(&sub, pool), APR_SUCCESS);
    o = create_ok(sub);
    for (i = 0; i < 3; i++) {
        sample_blocked(o, &w[i], "offcpu_test_c", pcs, &depth);
    }
    ck_assert_int_gt(open_fds(), before);
    apr_pool_destroy(sub);
    ck_assert_int_eq(open_fds(), before);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        assert_undisturbed(&w[i]);
    }
}
END_TEST

/* In a child switched to "nobody", as an httpd child after its User
 * directive: refused, saying why, until the process is made dumpable. */
START_TEST(test_not_dumpable)
{
    pid_t pid;
    int status;

    if (geteuid() != 0) {
        printf("check_offcpu: not root, dumpability not tested\n");
        return;
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_uint64_t pcs[MAX_DEPTH];
        worker_t w = { 0 };
        pthread_t th;
        const char *why = NULL;
        rp_offcpu_t *o;
        int depth, i;

        if (setgid(65534) != 0 || setuid(65534) != 0) {
            _exit(10);
        }
        o = rp_offcpu_create(pool, &why);
        if (o != NULL || why == NULL || strstr(why, "dumpable") == NULL) {
            _exit(11);
        }
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) {
            _exit(12);
        }
        o = rp_offcpu_create(pool, &why);
        if (o == NULL) {
            _exit(13);
        }
        w.timeout_ms = 300;
        if (pthread_create(&th, NULL, worker_main, &w) != 0) {
            _exit(14);
        }
        while (!__atomic_load_n(&w.ready, __ATOMIC_ACQUIRE)) {
            sched_yield();
        }
        for (i = 0; i < 200; i++) {
            if (rp_offcpu_sample(o, w.tid, pcs, MAX_DEPTH, &depth)
                == RP_OFFCPU_SAMPLED
                && frame_index(pcs, depth, "offcpu_test_a") > 0) {
                break;
            }
            usleep(1000);
        }
        pthread_join(th, NULL);
        _exit(i < 200 ? 0 : 15);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child failed at step %d", WEXITSTATUS(status));
}
END_TEST

/* ------------------------------------------------------------------ */

/* The machine code rp_arch reads, on bytes written by hand. */
START_TEST(test_arch_decoding)
{
    /* mov %eax,%eax; call rel32 -0x10: target = ra - 0x10. */
    static const unsigned char direct[6] = { 0x89, 0xe8, 0xf0, 0xff,
                                             0xff, 0xff };
    /* call *0x20(%rip): the target is the word at ra + 0x20. */
    static const unsigned char slot[6] = { 0xff, 0x15, 0x20, 0, 0, 0 };
    /* call *%rax (ff d0) after four other bytes: not checkable. */
    static const unsigned char reg[6] = { 0x90, 0x90, 0x90, 0x90, 0xff,
                                          0xd0 };
    /* endbr64; bnd jmp *0x100(%rip); padding */
    static const unsigned char plt[12] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xf2,
                                           0xff, 0x25, 0x00, 0x01, 0, 0,
                                           0x90 };
    static const unsigned char notplt[12] = { 0x55, 0x48, 0x89, 0xe5 };
    apr_uint64_t to = 0;

    ck_assert_int_eq(rp_arch_call_before(0x1000, direct, &to), 1);
    ck_assert_uint_eq(to, 0x1000 - 0x10);
    ck_assert_int_eq(rp_arch_call_before(0x2000, slot, &to), 2);
    ck_assert_uint_eq(to, 0x2000 + 0x20);
    ck_assert_int_eq(rp_arch_call_before(0x3000, reg, &to), 0);
    ck_assert_int_eq(rp_arch_plt_slot(0x4000, plt, &to), 1);
    /* The jmp ends at 0x4000 + 4 + 1 + 6 = 0x400b. */
    ck_assert_uint_eq(to, 0x400b + 0x100);
    ck_assert_int_eq(rp_arch_plt_slot(0x5000, notplt, &to), 0);
}
END_TEST

static Suite *offcpu_suite(void)
{
    Suite *s = suite_create("rp_offcpu");
    TCase *tc = tcase_create("offcpu");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_arch_decoding);
    tcase_add_test(tc, test_blocked_stack);
    tcase_add_test(tc, test_cold_cost);
    tcase_add_test(tc, test_frame_pointer_frame);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_page_fault_wait);
    tcase_add_test(tc, test_running);
    tcase_add_test(tc, test_exited);
    tcase_add_test(tc, test_not_ours);
    tcase_add_test(tc, test_woke_dropped);
    tcase_add_test(tc, test_fds_released);
    tcase_add_test(tc, test_not_dumpable);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(offcpu_suite)
