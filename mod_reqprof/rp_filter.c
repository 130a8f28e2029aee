/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_filter: PCRE2 include/exclude lists over request paths.
 *
 * Patterns are compiled and JIT-compiled at configuration time, before the
 * MPM forks, so every child shares the compiled code.  The request path does
 * one pcre2_jit_match per pattern (tens of nanoseconds) with a match context
 * that bounds the work.  PCRE2 needs a match-data block per call; each thread
 * keeps one in thread-specific data, created on its first match and freed
 * when the thread exits, so matching allocates nothing after warm-up.
 */

#include <string.h>
#include <pthread.h>

#include <apr_strings.h>
#include <apr_tables.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rp_atomic.h"
#include "rp_filter.h"

/* Upper bound of backtracking work per match.  With JIT, 200,000 steps of
 * the classic catastrophic pattern ^(a+)+$ take well under a millisecond on
 * a 2 GHz core; real URI patterns need a few hundred. */
#define RP_MATCH_LIMIT      200000
/* Interpreter-only bounds, used when JIT is unavailable. */
#define RP_DEPTH_LIMIT      1000
#define RP_HEAP_LIMIT_KIB   1024

typedef struct {
    pcre2_code *code;
    const char *pattern;
    const char *where;
    int jit;                        /* JIT compiled: use pcre2_jit_match */
} rp_rule_t;

struct rp_filter_t {
    apr_array_header_t *rules[RP_RULE_KINDS];   /* of rp_rule_t */
    pcre2_match_context *ctx;                   /* the limits */
};

static const char *const kind_names[RP_RULE_KINDS] = {
    "ReqProfExclude",
    "ReqProfInclude"
};

/* One match-data block per thread, behind a key created at configuration
 * time (single-threaded) and deleted with the configuration pool, so no
 * destructor can outlive this module's code after an unload. */
static pthread_key_t tls_md_key;
static int tls_md_ok;
static apr_uint32_t limit_hits;         /* atomic, a statistic */

/* ------------------------------------------------------------------ */
/* Per-thread match data, per-filter match context */

static void md_free(void *md)
{
    pcre2_match_data_free((pcre2_match_data *)md);
}

static apr_status_t key_cleanup(void *unused)
{
    (void)unused;
    if (tls_md_ok) {
        pcre2_match_data *md = pthread_getspecific(tls_md_key);
        pcre2_match_data_free(md);
        pthread_key_delete(tls_md_key);
        tls_md_ok = 0;
    }
    return APR_SUCCESS;
}

static void key_init(apr_pool_t *p)
{
    if (tls_md_ok) {
        return;
    }
    tls_md_ok = (pthread_key_create(&tls_md_key, md_free) == 0);
    if (tls_md_ok) {
        apr_pool_cleanup_register(p, NULL, key_cleanup,
                                  apr_pool_cleanup_null);
    }
}

static apr_status_t ctx_cleanup(void *ctx)
{
    pcre2_match_context_free((pcre2_match_context *)ctx);
    return APR_SUCCESS;
}

static pcre2_match_context *ctx_create(apr_pool_t *p)
{
    pcre2_match_context *ctx = pcre2_match_context_create(NULL);

    if (ctx) {
        pcre2_set_match_limit(ctx, RP_MATCH_LIMIT);
        pcre2_set_depth_limit(ctx, RP_DEPTH_LIMIT);
        pcre2_set_heap_limit(ctx, RP_HEAP_LIMIT_KIB);
        apr_pool_cleanup_register(p, ctx, ctx_cleanup, apr_pool_cleanup_null);
    }
    return ctx;
}

static pcre2_match_data *thread_md(void)
{
    pcre2_match_data *md;

    if (!tls_md_ok) {
        return NULL;
    }
    md = pthread_getspecific(tls_md_key);
    if (!md) {
        md = pcre2_match_data_create(1, NULL);
        if (md && pthread_setspecific(tls_md_key, md) != 0) {
            pcre2_match_data_free(md);
            md = NULL;
        }
    }
    return md;
}

/* ------------------------------------------------------------------ */
/* Compilation */

static apr_status_t code_cleanup(void *code)
{
    pcre2_code_free((pcre2_code *)code);
    return APR_SUCCESS;
}

rp_filter_t *rp_filter_create(apr_pool_t *p)
{
    rp_filter_t *f = apr_pcalloc(p, sizeof(*f));
    int k;

    for (k = 0; k < RP_RULE_KINDS; k++) {
        f->rules[k] = apr_array_make(p, 2, sizeof(rp_rule_t));
    }
    key_init(p);
    f->ctx = ctx_create(p);
    return f;
}

const char *rp_filter_add(rp_filter_t *f, apr_pool_t *p, rp_rule_kind_e kind,
                          const char *pattern, const char *where)
{
    rp_rule_t *rule;
    pcre2_code *code;
    int err;
    PCRE2_SIZE off;
    PCRE2_UCHAR msg[256];

    /* NEVER_UTF: URIs are bytes; a (*UTF) pattern would make every path
     * with invalid UTF-8 an error at match time.  Groups still capture, so
     * backreferences work; the one-pair match data ignores the captures. */
    code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                         PCRE2_NEVER_UTF, &err, &off, NULL);
    if (!code) {
        pcre2_get_error_message(err, msg, sizeof(msg));
        return apr_psprintf(p, "%s at offset %" APR_SIZE_T_FMT,
                            (const char *)msg, (apr_size_t)off);
    }
    apr_pool_cleanup_register(p, code, code_cleanup, apr_pool_cleanup_null);

    rule = apr_array_push(f->rules[kind]);
    rule->code = code;
    rule->pattern = apr_pstrdup(p, pattern);
    rule->where = where ? apr_pstrdup(p, where) : NULL;
    /* JIT failure (no executable memory, say) is not fatal: the
     * interpreter gives the same answers, only slower. */
    rule->jit = (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0);
    return NULL;
}

rp_filter_t *rp_filter_merge(apr_pool_t *p, const rp_filter_t *base,
                             const rp_filter_t *add)
{
    rp_filter_t *f = apr_pcalloc(p, sizeof(*f));
    int k;

    for (k = 0; k < RP_RULE_KINDS; k++) {
        f->rules[k] = add->rules[k]->nelts ? add->rules[k] : base->rules[k];
    }
    f->ctx = add->ctx;
    return f;
}

/* ------------------------------------------------------------------ */
/* Matching */

/* Index of the first rule of LIST matching PATH, or -1. */
static int first_match(const rp_filter_t *f, rp_rule_kind_e kind,
                       const char *path, apr_size_t len, pcre2_match_data *md)
{
    const apr_array_header_t *list = f->rules[kind];
    const rp_rule_t *rules = (const rp_rule_t *)list->elts;
    int i, rc;

    for (i = 0; i < list->nelts; i++) {
        if (rules[i].jit) {
            rc = pcre2_jit_match(rules[i].code, (PCRE2_SPTR)path, len, 0, 0,
                                 md, f->ctx);
        }
        else {
            rc = pcre2_match(rules[i].code, (PCRE2_SPTR)path, len, 0, 0,
                             md, f->ctx);
        }
        if (rc >= 0) {
            return i;
        }
        if (rc != PCRE2_ERROR_NOMATCH) {
            /* Match, depth or heap limit: a bounded "no match", counted. */
            __atomic_fetch_add(&limit_hits, 1, __ATOMIC_RELAXED);
        }
    }
    return -1;
}

void rp_filter_explain(const rp_filter_t *f, const char *path, apr_size_t len,
                       rp_explain_t *out)
{
    const apr_array_header_t *exc = f->rules[RP_RULE_EXCLUDE];
    const apr_array_header_t *inc = f->rules[RP_RULE_INCLUDE];
    pcre2_match_data *md;
    apr_uint32_t hits_before = __atomic_load_n(&limit_hits,
                                               __ATOMIC_RELAXED);
    int i = -1;

    memset(out, 0, sizeof(*out));
    out->index = -1;
    if (exc->nelts == 0 && inc->nelts == 0) {
        out->profile = 1;
        out->why = RP_WHY_NO_RULES;
        return;
    }
    md = thread_md();
    if (!md) {
        /* Out of memory: profiling nothing is the safe answer. */
        out->why = RP_WHY_NOT_INCLUDED;
        return;
    }
    if (exc->nelts && (i = first_match(f, RP_RULE_EXCLUDE, path, len, md)) >= 0) {
        out->why = RP_WHY_EXCLUDED;
        out->kind = RP_RULE_EXCLUDE;
    }
    else if (inc->nelts == 0) {
        out->profile = 1;
        out->why = RP_WHY_NO_RULES;
    }
    else if ((i = first_match(f, RP_RULE_INCLUDE, path, len, md)) >= 0) {
        out->profile = 1;
        out->why = RP_WHY_INCLUDED;
        out->kind = RP_RULE_INCLUDE;
    }
    else {
        out->why = RP_WHY_NOT_INCLUDED;
        out->kind = RP_RULE_INCLUDE;
    }
    if (i >= 0) {
        const rp_rule_t *r = &((const rp_rule_t *)f->rules[out->kind]->elts)[i];
        out->index = i;
        out->pattern = r->pattern;
        out->where = r->where;
    }
    out->limit_hits = (int)(__atomic_load_n(&limit_hits, __ATOMIC_RELAXED)
                            - hits_before);
}

int rp_filter_match(const rp_filter_t *f, const char *path, apr_size_t len)
{
    const apr_array_header_t *exc = f->rules[RP_RULE_EXCLUDE];
    const apr_array_header_t *inc = f->rules[RP_RULE_INCLUDE];
    pcre2_match_data *md;

    if (exc->nelts == 0 && inc->nelts == 0) {
        return 1;
    }
    if (!(md = thread_md())) {
        return 0;
    }
    if (exc->nelts && first_match(f, RP_RULE_EXCLUDE, path, len, md) >= 0) {
        return 0;
    }
    return inc->nelts == 0 || first_match(f, RP_RULE_INCLUDE, path, len, md) >= 0;
}

/* ------------------------------------------------------------------ */
/* Introspection */

int rp_filter_count(const rp_filter_t *f, rp_rule_kind_e kind)
{
    return f->rules[kind]->nelts;
}

const char *rp_filter_pattern(const rp_filter_t *f, rp_rule_kind_e kind,
                              int i, const char **where)
{
    const rp_rule_t *r = &((const rp_rule_t *)f->rules[kind]->elts)[i];

    if (where) {
        *where = r->where;
    }
    return r->pattern;
}

apr_uint32_t rp_filter_limit_hits(void)
{
    return __atomic_load_n(&limit_hits, __ATOMIC_RELAXED);
}

const char *rp_filter_kind_name(rp_rule_kind_e kind)
{
    return kind_names[kind];
}
