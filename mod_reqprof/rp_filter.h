/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_filter: which request paths are profiled.
 *
 * Two ordered lists of PCRE2 patterns, include and exclude, compiled and
 * JIT-compiled once at configuration time.  A path is profiled when no
 * exclude pattern matches it and either the include list is empty or one of
 * its patterns matches (exclude wins).  Patterns search anywhere in the path
 * (anchor with ^ and $ as needed) and are byte-oriented: PCRE2's UTF mode is
 * refused, so request paths with invalid UTF-8 are matched, not rejected.
 *
 * Every match runs under a match limit, so a hostile pattern and path pair
 * costs a bounded time (about a millisecond at most); a limit hit counts as
 * "no match" and is counted.
 *
 * This file depends on APR and PCRE2 only (no httpd headers), so it is unit
 * tested on its own.  Nothing here is safe in signal context.
 */

#ifndef RP_FILTER_H
#define RP_FILTER_H

#include <apr_pools.h>

typedef enum {
    RP_RULE_EXCLUDE = 0,
    RP_RULE_INCLUDE = 1,
    RP_RULE_KINDS
} rp_rule_kind_e;

/* Why a path is, or is not, profiled. */
typedef enum {
    RP_WHY_NO_RULES,      /* no include list: every path not excluded */
    RP_WHY_EXCLUDED,      /* an exclude pattern matched */
    RP_WHY_INCLUDED,      /* an include pattern matched */
    RP_WHY_NOT_INCLUDED   /* include list non-empty, none matched */
} rp_why_e;

typedef struct rp_filter_t rp_filter_t;

typedef struct {
    int profile;             /* 1 when the path would be profiled */
    rp_why_e why;
    rp_rule_kind_e kind;     /* list of the deciding rule (EXCLUDED/INCLUDED) */
    int index;               /* its 0-based position in that list, or -1 */
    const char *pattern;     /* its pattern, or NULL */
    const char *where;       /* its "file:line", or NULL */
    int limit_hits;          /* patterns that hit the match limit meanwhile */
} rp_explain_t;

/* Create an empty filter (profiles every path). */
rp_filter_t *rp_filter_create(apr_pool_t *p);

/* Compile PATTERN and append it to the KIND list.  WHERE names its origin
 * ("file:line") for explanations.  Returns NULL, or a reason allocated from P
 * that carries PCRE2's message and the offset of the error. */
const char *rp_filter_add(rp_filter_t *f, apr_pool_t *p, rp_rule_kind_e kind,
                          const char *pattern, const char *where);

/* A new filter whose lists are ADD's where ADD has rules of that kind and
 * BASE's otherwise (a virtual host's list replaces the main server's). */
rp_filter_t *rp_filter_merge(apr_pool_t *p, const rp_filter_t *base,
                             const rp_filter_t *add);

/* The hot path: 1 when PATH (LEN bytes) is to be profiled.  No allocation
 * after a thread's first call; thread-safe. */
int rp_filter_match(const rp_filter_t *f, const char *path, apr_size_t len);

/* Like rp_filter_match, and say which rule decided. */
void rp_filter_explain(const rp_filter_t *f, const char *path, apr_size_t len,
                       rp_explain_t *out);

/* Number of rules of KIND, and the pattern and origin of rule I. */
int rp_filter_count(const rp_filter_t *f, rp_rule_kind_e kind);
const char *rp_filter_pattern(const rp_filter_t *f, rp_rule_kind_e kind,
                              int i, const char **where);

/* Matches stopped by the match limit in this process since start. */
apr_uint32_t rp_filter_limit_hits(void);

/* The name of a list kind, as its directive ("ReqProfInclude"). */
const char *rp_filter_kind_name(rp_rule_kind_e kind);

#endif /* RP_FILTER_H */
