/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_atomic: how the module touches a word that another thread (or, in
 * the shared segment, another process) reads or writes at the same time.
 * There is one style: GCC's __atomic builtins (clang has the same), with
 * the memory order spelled out at each call:
 *
 *   __atomic_load_n(&x, __ATOMIC_ACQUIRE)    a flag or count that guards
 *                                            what is read after it
 *   __atomic_store_n(&x, v, __ATOMIC_RELEASE) publishing what was written
 *                                            before it
 *   __ATOMIC_RELAXED                         a statistic, or a first look
 *                                            checked again under a lock
 *   __ATOMIC_SEQ_CST                         a read-modify-write that
 *                                            claims or orders (CAS, seq)
 *
 * Why these and not apr_atomic_*: they are inline, lock-free on every
 * target we build for (checked below), so they are async-signal-safe and
 * work in memory shared between processes; each says its ordering; and
 * ThreadSanitizer sees them.  apr_atomic_* are calls into an
 * uninstrumented libapr that TSan cannot see, so it would report a race
 * on every word that one of them guards, and miss one on the word itself.
 * No `volatile` for sharing between threads: it orders nothing; it stays
 * only for a sig_atomic_t flag that a signal handler shares with its own
 * thread (rp_sampler's re-entrancy guard).  A word that is only touched
 * under one mutex needs none of this.
 */

#ifndef RP_ATOMIC_H
#define RP_ATOMIC_H

/* The words shared through these builtins are 32 and 64 bits wide, and
 * must never fall back to libatomic's locks (not signal-safe, not shared
 * between processes). */
#if !defined(__GCC_ATOMIC_INT_LOCK_FREE) || __GCC_ATOMIC_INT_LOCK_FREE != 2 \
    || !defined(__GCC_ATOMIC_LLONG_LOCK_FREE) \
    || __GCC_ATOMIC_LLONG_LOCK_FREE != 2
#error "mod_reqprof needs lock-free 32- and 64-bit __atomic builtins"
#endif

#endif /* RP_ATOMIC_H */
