/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_offcpu: the stack of a thread of this process that is blocked in the
 * kernel, taken without signalling it.
 *
 * In real-time mode a sampler thread per child must see where the threads
 * of profiled requests wait (poll, read, nanosleep, futex...).  A signal
 * would interrupt the wait: poll() would fail with EINTR and mod_reqtimeout
 * would fail the request.  Instead, for thread TID, this part reads
 * /proc/self/task/TID/syscall, which says "running" for a thread on a CPU
 * or runnable, and otherwise gives the system call number, its arguments,
 * and the user stack pointer and program counter at which the thread
 * entered the kernel.  A blocked thread's user stack cannot change, so it
 * is unwound with libunwind's remote API over our own memory, read with
 * process_vm_readv (an error, never a fault, if memory went away).  The
 * thread is then checked again; if it ran meanwhile the sample is dropped
 * as "woke".  On-CPU time is not sampled here: the CPU-clock signal does
 * that, and the kernel never delivers it inside a system call.
 *
 * The process must be able to read its own /proc/self/task/TID/syscall:
 * the kernel makes that file root's when the process is not dumpable, which
 * is what an httpd child is after switching to the User (unless
 * CoreDumpDirectory is set).  rp_offcpu_create says so in its reason.
 *
 * A thread waiting in the kernel outside a system call (a major page
 * fault, mmap_lock) is off-CPU too; its line gives the faulting pc and it
 * is sampled the same way.
 *
 * One rp_offcpu_t per sampler thread: it holds the libunwind address space
 * and cursor, a cache of open /proc files keyed by thread id, and a small
 * cache of memory pages.  Only rp_offcpu_result_name is safe in signal
 * context, and none of this belongs on a request's thread: a sample costs
 * several microseconds, the first ones of a process hundreds.
 */

#ifndef RP_OFFCPU_H
#define RP_OFFCPU_H

#include <sys/types.h>

#include <apr_pools.h>

typedef struct rp_offcpu_t rp_offcpu_t;

typedef enum {
    RP_OFFCPU_SAMPLED,  /* blocked: pcs[0..*depth-1] is its stack */
    RP_OFFCPU_RUNNING,  /* on a CPU or runnable: the CPU clock's business */
    RP_OFFCPU_WOKE,     /* was blocked, ran while being unwound: dropped */
    RP_OFFCPU_FAILED    /* gone, not a thread of this process, or no stack */
} rp_offcpu_result_e;

/* Counters since rp_offcpu_create, for the status page. */
typedef struct {
    apr_uint64_t sampled;       /* RP_OFFCPU_SAMPLED results */
    apr_uint64_t running;       /* RP_OFFCPU_RUNNING results */
    apr_uint64_t woke;          /* RP_OFFCPU_WOKE results */
    apr_uint64_t failed;        /* RP_OFFCPU_FAILED results */
    apr_uint64_t not_syscall;   /* samples of a thread blocked outside a
                                 * system call (a page fault's wait) */
    apr_uint64_t fp_found;      /* unwinds that needed RBP and found it
                                 * in a frame record on the stack */
    apr_uint64_t fp_missing;    /* unwinds that stopped for want of RBP */
    apr_uint64_t unwind_short;  /* unwinds that stopped on another error */
    apr_uint64_t stale_fds;     /* cached files of exited threads reopened
                                 * or dropped */
} rp_offcpu_stats_t;

/* Set up one sampler thread's unwinder over this process's memory.
 * Returns NULL, with *WHY (from P) saying why, when the process cannot
 * read its own /proc/self/task/TID/syscall or memory, or libunwind's
 * remote API is unavailable.  Everything it holds is released with P.
 * Call it in the process that samples (after fork).  Not signal-safe. */
rp_offcpu_t *rp_offcpu_create(apr_pool_t *p, const char **why);

/* If thread TID of this process is blocked in the kernel, unwind it
 * without disturbing it: pcs[0] is the pc at which it entered the kernel
 * (in the libc system call wrapper; for a wait outside a system call, such
 * as a major page fault, the faulting instruction), pcs[1..] the return
 * addresses of its callers, innermost first, at most MAX; *DEPTH is the
 * number stored (0 unless SAMPLED).  A stack deeper than MAX is cut to
 * its innermost MAX frames; ask for one more than you keep to know.  Never
 * signals, ptraces or stops TID.  Not signal-safe; one thread per
 * rp_offcpu_t at a time, and never TID itself (FAILED). */
rp_offcpu_result_e rp_offcpu_sample(rp_offcpu_t *o, pid_t tid,
                                    apr_uint64_t *pcs, int max, int *depth);

/* rp_offcpu_sample, and for a SAMPLED thread the number of the system
 * call it waits in (*NR; -1 for a wait outside one) when NR is not
 * NULL: what the live view and the slow-request log name. */
rp_offcpu_result_e rp_offcpu_sample_nr(rp_offcpu_t *o, pid_t tid,
                                       apr_uint64_t *pcs, int max, int *depth,
                                       long *nr);

/* Copy the counters.  Not signal-safe; same thread as rp_offcpu_sample. */
void rp_offcpu_stats(const rp_offcpu_t *o, rp_offcpu_stats_t *out);

/* The name of a result ("sampled", "running", "woke", "failed").
 * Signal-safe (a table lookup). */
const char *rp_offcpu_result_name(rp_offcpu_result_e r);

#endif /* RP_OFFCPU_H */
