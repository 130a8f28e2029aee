/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * unit_tsan: linked into the unit tests built with ThreadSanitizer (the
 * *_tsan programs of apxs.mk), so that they carry what TSan must be told
 * and run the same by hand as under tests/run_tests.py.  TSan reads these
 * hooks at start-up; TSAN_OPTIONS given in the environment still apply.
 *
 * Each suppression is a thing TSan cannot judge, not a race of ours:
 *
 * called_from_lib:libunwind.so.8
 *   libunwind keeps a per-thread trace cache behind a pthread key whose
 *   destructor puts itself back until the last destructor round and then
 *   locks a mutex; TSan has torn the exiting thread down by then and
 *   crashes in its pthread_mutex_lock interceptor (google/sanitizers#943,
 *   open since 2018).  This passes libunwind's own calls into the
 *   intercepted functions straight through; libunwind is not instrumented
 *   anyway, so nothing of ours goes unchecked.
 *
 * race:region_copy
 *   rp_store's seqlock: a reader copies a region while its writer may be
 *   changing it, and keeps the copy only when seq was even and unchanged
 *   around it (then region_check).  The copy racing with the writer is
 *   the design, which TSan cannot know; seq itself, the generation and
 *   the other shared words are atomics that TSan does check.
 */

const char *__tsan_default_suppressions(void);

const char *__tsan_default_suppressions(void)
{
    return "called_from_lib:libunwind.so.8\n"
           "race:region_copy\n";
}
