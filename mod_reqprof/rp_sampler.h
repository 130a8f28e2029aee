/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_sampler: per-thread stack sampling of the request a thread is running.
 *
 * Each thread that runs a profiled request gets, once, a preallocated
 * sample buffer, a warmed-up unwinder and a CPU-clock timer (rp_timer).
 * A thread-local flag says whether the thread is inside a profiled request;
 * the signal callback checks it, unwinds the interrupted stack with
 * libunwind and appends the raw PCs to the thread's buffer.  The callback
 * allocates nothing, takes no lock, calls no APR and logs nothing; it saves
 * errno and ignores re-entry.  Every tick inside a request ends as a
 * sample or a counted drop.
 *
 * In real-time mode a sampler thread per child also samples threads that
 * are blocked in a system call, without signalling them (a signal would
 * make poll() fail with EINTR and break requests): it reads the blocked
 * thread's registers from /proc and unwinds its stack remotely (rp_offcpu).
 * On-CPU time is still sampled by the CPU-clock signal, which the kernel
 * delivers on the way back to user space, never inside a system call.
 *
 * A thread's state (buffers, timer) is handed back when the thread exits,
 * and its struct reused by the next new thread.
 *
 * Only rp_sampler_signal runs in signal context.  begin/end run on the
 * request's own thread; nothing here touches shared memory.
 */

#ifndef RP_SAMPLER_H
#define RP_SAMPLER_H

#include <signal.h>

#include <apr_pools.h>

#include "rp_interp.h"

typedef struct rp_thread_t rp_thread_t;

/* What became of a request's ticks.  A tick is a signal that landed in
 * the request, a credit of time off the CPU, or a look of the off-CPU
 * sampler that took the thread's lock while its request ran; each ends
 * as a sample or as one drop by cause:
 *
 *     ticks == samples + buffer_full + unwind_failed + other_dropped
 *
 * and of those, the off-CPU sampler's looks:
 *
 *     offcpu_looks == offcpu + offcpu_full + offcpu_woke + offcpu_failed
 *
 * (offcpu_full within buffer_full, offcpu_woke within other_dropped,
 * offcpu_failed within unwind_failed). */
typedef struct {
    apr_uint64_t ticks;          /* see above */
    apr_uint64_t samples;        /* stored samples (on- and off-CPU) */
    apr_uint64_t buffer_full;    /* dropped: the thread's buffer was full */
    apr_uint64_t unwind_failed;  /* dropped: no usable stack */
    apr_uint64_t other_dropped;  /* dropped otherwise: the handler was
                                  * interrupted by itself, or the thread
                                  * woke while a look unwound it */
    apr_uint64_t outside_request; /* signals between profiled requests
                                  * since the thread's last request (not
                                  * ticks of this one) */
    apr_uint64_t truncated;      /* kept, innermost frames only */
    apr_uint64_t offcpu;         /* of the samples, taken while blocked */
    apr_uint64_t offcpu_looks;   /* looks of the off-CPU sampler */
    apr_uint64_t offcpu_full;    /* ... dropped: buffer full */
    apr_uint64_t offcpu_woke;    /* ... dropped: the thread woke */
    apr_uint64_t offcpu_failed;  /* ... dropped: no stack came back */
    apr_uint64_t cpu_ns;         /* the thread's CPU time from begin to
                                  * end (set by rp_sampler_end) */
    apr_uint64_t begin_ns;       /* CLOCK_MONOTONIC at begin: sample times
                                  * are relative to it */
    rp_merge_counts_t merge;     /* samples taken while a script ran
                                  * (rp_interp), by what the merge did */
} rp_sampler_counts_t;

/* What a sample's time was spent on, beyond its stack. */
typedef enum {
    RP_SAMPLE_STACK = 0,         /* running, or blocked, in pcs */
    RP_SAMPLE_WAIT_CPU,          /* runnable, waiting for a CPU, at pcs */
    RP_SAMPLE_BLOCKED,           /* blocked where no look caught it */
    RP_SAMPLE_OFF_CPU            /* blocked or waiting for a CPU, not told
                                  * apart, where no look caught it */
} rp_sample_state_e;

typedef struct {
    const apr_uint64_t *pcs;     /* innermost first; pcs[0] exact, the
                                  * rest return addresses */
    int depth;
    int truncated;               /* deeper than ReqProfMaxDepth */
    int offcpu;                  /* taken while the thread was blocked */
    int state;                   /* rp_sample_state_e */
    apr_uint64_t weight_ns;      /* time it stands for */
    apr_uint64_t time_ns;        /* CLOCK_MONOTONIC at the end of that
                                  * time: it covers [time - weight, time] */
} rp_sample_t;

/* Once per child: install the signal handler (refusing a signal in use)
 * and remember the depth cap.  Returns NULL or why nothing can be
 * sampled.  Not signal-safe. */
const char *rp_sampler_child_init(apr_pool_t *pchild, int signo,
                                  int max_depth);

/* Why the off-CPU sampler of real-time mode could not start (it is tried
 * once, at the first real-time request), or NULL.  Not signal-safe. */
const char *rp_sampler_offcpu_failed(void);

/* On the request's thread, at its start: set the thread up on first use
 * (buffer, unwinder warm-up, timer at PERIOD_NS) and raise its flag for
 * a new request, whose token goes to *TOKEN and whose OWNER_DATA
 * rp_sampler_owner(OWNER_KEY) answers on this thread until the request
 * ends.  A
 * request still holding the flag (one that left the thread without
 * ending on it) loses it and its samples.  REAL: the request is timed in
 * real time, so its blocked time is sampled too (the off-CPU sampler
 * starts with the child's first such request).  Returns NULL when this
 * thread cannot sample (setup failed; logged by the caller once).  Not
 * signal-safe. */
rp_thread_t *rp_sampler_begin(long period_ns, int real,
                              const void *owner_key, void *owner_data,
                              apr_uint32_t *token);

/* End the request TOKEN that began on T, on any thread, exactly once.
 * On T's own thread, while T still runs that request: lower the flag,
 * merge in the off-CPU samples, set *COUNTS and return 1; the samples
 * can then be read with rp_sampler_next until the next rp_sampler_begin
 * on this thread.  Elsewhere (the request's end runs on another thread,
 * or its thread has begun another request): lower T's flag if it is
 * still this request's, and return 0 with *COUNTS zeroed: the samples
 * are not the caller's to read.  A thread's state outlives the thread
 * (it is reused by a later thread), so T may be named after its thread
 * exited.  Not signal-safe. */
int rp_sampler_end(rp_thread_t *t, apr_uint32_t token,
                   rp_sampler_counts_t *counts);

/* Iterate the samples of the request just ended: *POS starts at 0; returns
 * 0 at the end. */
int rp_sampler_next(const rp_thread_t *t, apr_size_t *pos, rp_sample_t *s);

/* The script frame a tagged word (RP_INTERP_IS_TAG) of a sample of the
 * request just ended on T names, read as rp_sampler_next's samples are.
 * 0 when it is gone (*OUT then names "[lost]").  Not signal-safe. */
int rp_sampler_script(const rp_thread_t *t, apr_uint64_t word,
                      rp_script_frame_t *out);

/* The CPU time of the calling thread since its request's begin on T, in ns; 0 when T is not the calling thread's.  A clock read, for
 * a response's Server-Timing.  Not signal-safe. */
apr_uint64_t rp_sampler_cpu_ns(const rp_thread_t *t);

/* The OWNER_DATA of the profiled request running on the calling thread,
 * if it began with OWNER_KEY, else NULL.  The key is only compared, so a
 * caller can ask with what it knows to be alive (a connection) before
 * it trusts the data.  Not signal-safe. */
void *rp_sampler_owner(const void *owner_key);

/* The newest on-CPU sample of the profiled request running now on
 * thread TID of this child: its PCs (innermost first, at most MAX) in
 * PCS, their number in *DEPTH, and its CLOCK_MONOTONIC time in *TIME_NS.
 * 0 when the thread runs no profiled request or took no sample in it
 * yet.  Outside a profiled request, the stack its CPU-clock handler took
 * when last asked, and the ask for the next one (see rp_sampler_attach);
 * the caller tells whether that stack is of the request it watches by
 * its time.  For the live view, from a thread of its own: the copy is made
 * under the lock a thread's exit frees its buffer under, and may be torn
 * by a sample taken meanwhile (a stack half of one, half of the next; the
 * depth is bounded).  A script frame (RP_INTERP_IS_TAG) comes as
 * RP_INTERP_TAG | K: the K-th line of text in NAMES (NAMES_LEN bytes,
 * NUL-terminated; rp_interp_frame_text's lines), or RP_INTERP_TAG |
 * 0xFFFFFFFF when NAMES had no room.  Not signal-safe. */
int rp_sampler_peek(pid_t tid, apr_uint64_t *pcs, int max, int *depth,
                    apr_uint64_t *time_ns, char *names, apr_size_t names_len);

/* On a request's thread that is watched (the live view, the slow log)
 * but not profiled (profiling paused): set the thread up as a profiled
 * request's first would (its CPU-clock timer at PERIOD_NS), so that when
 * the watcher asks for its stack the next CPU tick takes one.  Outside a
 * profiled request the handler does nothing else.  0 when the thread
 * cannot be set up.  Not signal-safe. */
int rp_sampler_attach(long period_ns);

/* Threads holding sampling state now (IN_USE: a buffer and a timer
 * each) and thread structs ever made (MADE: the most threads alive at
 * once).  Not signal-safe. */
void rp_sampler_stats(apr_uint32_t *in_use, apr_uint32_t *made);

/* The signal callback (installed by rp_sampler_child_init).  Signal
 * context: async-signal-safe. */
void rp_sampler_signal(int signo, siginfo_t *si, void *uctx);

#endif /* RP_SAMPLER_H */
