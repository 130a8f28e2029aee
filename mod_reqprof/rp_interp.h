/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_interp: PHP and Python functions in place of the interpreter's own
 * native frames, in one stack per sample.
 *
 * A request that runs PHP (mod_php) or Python (mod_wsgi, embedded) spends
 * its samples in the interpreter's evaluation loop: execute_ex, or
 * _PyEval_EvalFrameDefault.  Each native frame of that loop stands for
 * one or more frames of the script, which the interpreter keeps in its
 * own linked list.  When a sample is taken, the merge walks that list
 * beside the native stack and replaces each loop frame by the script
 * frames it was running, keeping the native frames above and below (a
 * PHP function calling preg_match keeps PCRE2 under it).
 *
 * Script frames travel in a sample as tagged words naming an entry of
 * the thread's name table (rp_inames.h).
 *
 * Which interpreters are there is found at child start with dlsym, and
 * each one checks its version and mode (rp_interp_php.c for PHP 8.2,
 * rp_interp_python.c for CPython 3.11): no link-time dependency; without
 * them nothing here runs.  Every read of the interpreter's memory may meet garbage (a
 * frame half pushed, a function freed): reads are bounded and checked,
 * and a fault is caught (SIGSEGV and SIGBUS while a walk runs on this
 * thread), dropping the script frames of that sample only.
 *
 * rp_interp_merge runs in signal context; the rest does not.
 */

#ifndef RP_INTERP_H
#define RP_INTERP_H

#include <apr_pools.h>

#include "rp_inames.h"


/* The parts, in the order their merges run (a table, not a switch);
 * one language's merge passes another's tagged words through. */
#define RP_INTERP_LANGS_MAX 2

/* At child start: find the interpreters loaded in this process and
 * whether each can be walked, quietly (the parent said it, with
 * rp_interp_probe), and install the fault guard.  ENABLED 0
 * (ReqProfInterpreters Off): none is looked for.  LOG(DATA, LINE) hears
 * what goes wrong later (the guard lost).  Returns how many will be
 * walked.  Not signal-safe. */
int rp_interp_child_init(int enabled,
                         void (*log)(void *data, const char *line),
                         void *data);

/* The same, in the parent, to say once per start what the children will
 * find, one line to LOG per interpreter found (what is walked, or why
 * not): nothing is installed and nothing is walked here. */
int rp_interp_probe(int enabled, void (*log)(void *data, const char *line),
                    void *data);

/* At a profiled request's begin, at most once a second (NOW_NS, a
 * monotonic clock): whether the fault guard's handler is still
 * installed.  When another has replaced it, no walk runs in this child
 * from then on (logged once).  Not signal-safe. */
void rp_interp_guard_check(apr_uint64_t now_ns);

/* Whether any interpreter is walked in this child. */
int rp_interp_active(void);


/* Signal context (or the off-CPU sampler while the thread is blocked):
 * merge the native stack IN (N frames, innermost first, IN[0] exact and
 * the rest return addresses) with the scripts running on the calling
 * thread, or, for the off-CPU sampler, on thread TID (0: the calling
 * thread), into OUT (at most MAX words), naming script frames in NM,
 * whose tags carry WHICH (0 or 1: which of the thread's tables).
 * Returns the words written; *TRUNCATED is set when they did not fit
 * (the innermost are kept).  A sample no script runs in is copied as it
 * is and counted nowhere. */
int rp_interp_merge(rp_inames_t *nm, int which, int tid, void *const *in,
                    int n, void **out, int max, int *truncated,
                    rp_merge_counts_t *mc);


/* ------------------------------------------------------------------ */
/* For the language parts (rp_interp_php.c, rp_interp_python.c) */

/* What a frame of the interpreter's list is. */
typedef enum {
    RP_SF_SCRIPT = 0, /* script code: it takes a loop frame's place */
    RP_SF_NATIVE,     /* a function of the interpreter's written in C
                         * (PHP's internal ones): its own native frames
                         * show it, so it is shown only above a native
                         * stack cut short; it leads the next group */
    RP_SF_NONE        /* no function: never shown */
} rp_sframe_e;

/* What one language part offers: the walk's primitives.  The merge rule
 * is rp_interp's, one for every language: each native frame of the
 * interpreter's loop stands for the script frames from the cursor up to
 * and including the next one entered from C.
 *
 * detect: NULL when the interpreter is loaded and can be walked; "" when
 * it is not loaded; else why not.  The rest run in signal context, on
 * memory that may be changing (rp_interp checks each frame's pointer and
 * bounds the chain; a fault is caught):
 * top: the innermost frame of the script running on thread TID, or NULL.
 * in_loop: whether PC (an exact address) is in the interpreter's loop.
 * frame: F's kind (rp_sframe_e), whether it was entered from C (it ends
 * its loop frame's group), and its caller; 0 when what it read is
 * garbage.
 * word: the tagged word of F (SCRIPT or NATIVE), named in NM (table
 * WHICH); 0 when what it read is garbage. */
typedef struct {
    rp_lang_e lang;
    const char *(*detect)(apr_pool_t *p);
    const void *(*top)(int tid);
    int (*in_loop)(apr_uint64_t pc);
    int (*frame)(const void *f, int *kind, int *entry, const void **prev);
    apr_uint64_t (*word)(rp_inames_t *nm, int which, const void *f,
                         rp_merge_counts_t *mc);
} rp_interp_lang_t;

extern const rp_interp_lang_t rp_interp_php;
extern const rp_interp_lang_t rp_interp_python;


/* ------------------------------------------------------------------ */
/* Tests only */

/* Walk PHP in this process without looking for it: its globals at
 * GLOBALS, execute_ex's code at [LO, HI); install the fault guard.
 * 0 when the guard cannot be installed. */
int rp_interp_test_php(const void *globals, apr_uint64_t lo, apr_uint64_t hi);

/* rp_interp_php's half of it. */
void rp_interp_php_set(const void *globals, apr_uint64_t lo, apr_uint64_t hi);

/* Walk Python in this process without looking for it: its runtime at
 * RT, its code, str and bytes types, _PyEval_EvalFrameDefault's code at
 * [LO, HI); install the fault guard.  0 when the guard cannot be
 * installed. */
int rp_interp_test_python(const void *rt, const void *code, const void *str,
                          const void *bytes, apr_uint64_t lo,
                          apr_uint64_t hi);

/* rp_interp_python's half of it. */
void rp_interp_python_set(const void *rt, const void *code, const void *str,
                          const void *bytes, apr_uint64_t lo,
                          apr_uint64_t hi);

/* The line of CODE (a PyCodeObject) at code unit ADDR, as the walk
 * decodes it; -1 when its table says none. */
int rp_interp_python_line(const void *code, long addr);

/* Run FN(ARG) under the fault guard: 1 when it faulted (and was caught),
 * else 0.  The guard must be installed (rp_interp_test_php). */
int rp_interp_test_guarded(void (*fn)(void *arg), void *arg);

#endif /* RP_INTERP_H */
