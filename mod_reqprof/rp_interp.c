/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_interp: the language-neutral half of mixed stacks (see rp_interp.h):
 * which interpreters are walked, the merge rule every language shares
 * (each gives only the primitives of its walk), and the fault guard
 * around it (the names: rp_inames).
 *
 * The fault guard.  A walk reads memory the interpreter may be changing
 * under it (the signal landed in the middle of a call).  Checks catch
 * most garbage; a pointer that passes them and still points nowhere
 * faults.  While a walk runs, a thread-local jump buffer is set, and our
 * SIGSEGV/SIGBUS handler, installed once when an interpreter is found,
 * jumps back to the walk's start, which drops the sample's script
 * frames.  A fault with no walk running is not ours: the handler puts
 * back the disposition it found (httpd's core dumper, or the default)
 * and returns, so the instruction faults again and meets it as if we had
 * never been there.  The handler is installed with SA_NODEFER so a walk
 * leaves the signal mask as it found it, and the jump buffer is saved
 * without the mask (sigsetjmp(, 0)): no system call per sample.
 */

#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "rp_interp.h"


/* The parts, in the order their merges run (a table, not a switch). */
static const rp_interp_lang_t *const langs[] = {
    &rp_interp_php,
    &rp_interp_python,
};
#define NLANGS ((int)(sizeof(langs) / sizeof(langs[0])))

static const rp_interp_lang_t *active[NLANGS];
static int nactive;

/* The fault guard (see the top of this file).  initial-exec: the
 * handler must not allocate on a first access. */
static __thread sigjmp_buf *guard_jb __attribute__((tls_model("initial-"
                                                              "exec")));
static struct sigaction old_segv, old_bus;
/* Someone installed a handler over ours since (an application's
 * faulthandler, say): no walk runs from then on (atomic). */
static int guard_lost;
static apr_uint64_t guard_checked; /* atomic: ns of the last look */
static void (*guard_log)(void *data, const char *line);
static void *guard_log_data;

static void on_fault(int signo, siginfo_t *si, void *uc)
{
    sigjmp_buf *jb = guard_jb;

    (void)si;
    (void)uc;
    if (jb) {
        guard_jb = NULL;
        siglongjmp(*jb, 1);
    }
    sigaction(signo, signo == SIGBUS ? &old_bus : &old_segv, NULL);
}

static int guard_install(void)
{
    struct sigaction sa, now;

    /* Installed already (a second init): the handler found then is the
     * one to hand a stranger's fault to, not ours. */
    if (sigaction(SIGSEGV, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO)
        && now.sa_sigaction == on_fault) {
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &old_segv) != 0) {
        return 0;
    }
    if (sigaction(SIGBUS, &sa, &old_bus) != 0) {
        sigaction(SIGSEGV, &old_segv, NULL);
        return 0;
    }
    return 1;
}

/* Find what can be walked into active[]; LOG each finding. */
static int detect(int enabled, void (*log)(void *data, const char *line),
                  void *data)
{
    apr_pool_t *p;
    const char *why;
    int i;

    nactive = 0;
    if (!enabled || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < NLANGS; i++) {
        why = langs[i]->detect(p);
        if (!why) {
            active[nactive++] = langs[i];
        }
        if (!log) {
            continue;
        }
        if (!why) {
            log(data, apr_psprintf(p,
                                   "%s functions are shown in the "
                                   "native stacks",
                                   rp_lang_names[langs[i]->lang]));
        }
        else if (*why) {
            log(data, apr_psprintf(p,
                                   "%s functions are not shown (%s): "
                                   "its native frames are",
                                   rp_lang_names[langs[i]->lang], why));
        }
    }
    apr_pool_destroy(p);
    return nactive;
}

int rp_interp_probe(int enabled, void (*log)(void *data, const char *line),
                    void *data)
{
    int n = detect(enabled, log, data);

    nactive = 0;
    return n;
}

/* Whether SIGNO's handler is still ours. */
static int still_ours(int signo)
{
    struct sigaction now;

    return sigaction(signo, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO)
           && now.sa_sigaction == on_fault;
}

void rp_interp_guard_check(apr_uint64_t now_ns)
{
    apr_uint64_t last = __atomic_load_n(&guard_checked, __ATOMIC_RELAXED);

    if (!nactive || __atomic_load_n(&guard_lost, __ATOMIC_RELAXED)
        || now_ns - last < APR_UINT64_C(1000000000)
        || !__atomic_compare_exchange_n(&guard_checked, &last, now_ns, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        return;
    }
    if (!still_ours(SIGSEGV) || !still_ours(SIGBUS)) {
        /* Taking it back would hand their faults to them and theirs
         * (which may hand them back to us) to us: a loop on a real
         * crash.  Walking without it could crash on a torn read.  So
         * the stacks stay native from here on. */
        __atomic_store_n(&guard_lost, 1, __ATOMIC_RELAXED);
        if (guard_log) {
            guard_log(guard_log_data, "script functions are no longer shown "
                                      "in this child: "
                                      "another SIGSEGV or SIGBUS handler "
                                      "replaced the one "
                                      "that guards their walk (Python's "
                                      "faulthandler?)");
        }
    }
}

int rp_interp_child_init(int enabled,
                         void (*log)(void *data, const char *line),
                         void *data)
{
    guard_log = log;
    guard_log_data = data;
    /* What was found is said by the parent (rp_interp_probe), once. */
    if (detect(enabled, NULL, NULL) && !guard_install()) {
        log(data, "no script functions are shown: the fault guard could "
                  "not be installed");
        nactive = 0;
    }
    return nactive;
}

int rp_interp_active(void)
{
    return nactive;
}


/* The deepest chain walked: deeper is taken for a loop in garbage. */
#define CHAIN_MAX 4096

/* Append W to OUT (*O words of MAX). */
static void put(void **out, int *o, int max, int *truncated, apr_uint64_t w)
{
    if (*o < max) {
        out[(*o)++] = (void *)(apr_uintptr_t)w;
    }
    else {
        *truncated = 1;
    }
}

/* One step down L's chain: frame F checked and read. */
static int step(const rp_interp_lang_t *l, const void *f, int *steps,
                int *kind, int *entry, const void **prev)
{
    return rp_interp_ptr_ok(f, 8) && ++*steps <= CHAIN_MAX
           && l->frame(f, kind, entry, prev);
}

/* The merge rule (rp_interp.h), for language L: its words, other
 * languages' and native frames pass through.  When loop frames and
 * script frames do not pair up, the native stack stays alone
 * (mismatch); when the native stack never reaches the loop (it stopped
 * in JIT code, which has no unwind information), the whole chain goes
 * above what it had (cut). */
static int merge_one(const rp_interp_lang_t *l, rp_inames_t *nm, int which,
                     int tid, void *const *in, int n, void **out, int max,
                     int *truncated, rp_merge_counts_t *mc)
{
    const void *first = l->top(tid), *f, *prev = NULL;
    apr_uint64_t names_full = mc->names_full, w;
    int i, o = 0, loops = 0, steps = 0, emitted, kind, entry;

    *truncated = 0;
    if (!first) {
        return rp_interp_copy(in, n, out, max, truncated);
    }
    f = first;
    for (i = 0; i < n; i++) {
        w = (apr_uint64_t)(apr_uintptr_t)in[i];
        /* Past the innermost, return addresses: the call is before. */
        if (RP_INTERP_IS_TAG(w) || !l->in_loop(w - (i > 0 ? 1 : 0))) {
            put(out, &o, max, truncated, w);
            continue;
        }
        loops++;
        emitted = 0;
        while (f) {
            if (!step(l, f, &steps, &kind, &entry, &prev)) {
                goto fault;
            }
            if (kind != RP_SF_SCRIPT) {
                if (kind == RP_SF_NATIVE && emitted) {
                    break; /* it leads the next group */
                }
                f = prev;
                continue;
            }
            if (!(w = l->word(nm, which, f, mc))) {
                goto fault;
            }
            put(out, &o, max, truncated, w);
            emitted++;
            f = prev;
            if (entry) {
                break;
            }
        }
        if (!emitted) {
            goto mismatch;
        }
    }
    /* What is left of the chain must hold no script frame. */
    for (; f; f = prev) {
        if (!step(l, f, &steps, &kind, &entry, &prev)) {
            goto fault;
        }
        if (kind == RP_SF_SCRIPT) {
            break;
        }
    }
    if (!f) {
        if (loops) {
            mc->merged++;
        }
        return o;
    }
    if (loops) {
        goto mismatch;
    }
    for (f = first, steps = 0; f; f = prev) {
        if (!step(l, f, &steps, &kind, &entry, &prev)) {
            goto fault;
        }
        if (kind != RP_SF_NONE) {
            if (!(w = l->word(nm, which, f, mc))) {
                goto fault;
            }
            put(out, &o, max, truncated, w);
        }
    }
    mc->cut++;
    return o;

mismatch:
    mc->mismatch++;
    mc->names_full = names_full;
    return rp_interp_copy(in, n, out, max, truncated);
fault:
    mc->fault++;
    mc->names_full = names_full;
    return rp_interp_copy(in, n, out, max, truncated);
}

/* Each walked language's merge in turn, under the guard. */
static int run_merges(rp_inames_t *nm, int which, int tid, void *const *in,
                      int n, void **out, int max, int *truncated,
                      rp_merge_counts_t *mc)
{
    /* With two languages, the first's words are the second's native
     * stack. */
    void *tmp[1024];
    void *const *src = in;
    int i, m = n;

    for (i = 0; i < nactive; i++) {
        void **dst = i == nactive - 1 ? out : tmp;
        int cap = i == nactive - 1 ? max : 1024;
        int cut = 0;

        m = merge_one(active[i], nm, which, tid, src, m, dst, cap, &cut, mc);
        *truncated |= cut;
        src = dst;
    }
    return m;
}

int rp_interp_merge(rp_inames_t *nm, int which, int tid, void *const *in,
                    int n, void **out, int max, int *truncated,
                    rp_merge_counts_t *mc)
{
    sigjmp_buf jb;
    int m;

    *truncated = 0;
    if (!nactive || __atomic_load_n(&guard_lost, __ATOMIC_RELAXED)) {
        return rp_interp_copy(in, n, out, max, truncated);
    }
    if (sigsetjmp(jb, 0)) {
        /* A read faulted: what was written is not to be trusted. */
        guard_jb = NULL;
        mc->fault++;
        return rp_interp_copy(in, n, out, max, truncated);
    }
    guard_jb = &jb;
    m = run_merges(nm, which, tid, in, n, out, max, truncated, mc);
    guard_jb = NULL;
    return m;
}


/* ------------------------------------------------------------------ */
/* Tests only */

int rp_interp_test_php(const void *globals, apr_uint64_t lo, apr_uint64_t hi)
{
    rp_interp_php_set(globals, lo, hi);
    active[0] = &rp_interp_php;
    nactive = 1;
    return guard_install();
}

int rp_interp_test_python(const void *rt, const void *code, const void *str,
                          const void *bytes, apr_uint64_t lo, apr_uint64_t hi)
{
    rp_interp_python_set(rt, code, str, bytes, lo, hi);
    active[0] = &rp_interp_python;
    nactive = 1;
    return guard_install();
}

int rp_interp_test_guarded(void (*fn)(void *arg), void *arg)
{
    sigjmp_buf jb;

    if (sigsetjmp(jb, 0)) {
        guard_jb = NULL;
        return 1;
    }
    guard_jb = &jb;
    fn(arg);
    guard_jb = NULL;
    return 0;
}
