/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_model_diff: the profile gathered between two models (rp_model.h),
 * for ?seconds=N exports: the handler takes one snapshot, waits, takes
 * another, and serves AFTER minus BEFORE, which is what continuous
 * profilers (Parca, Pyroscope/Alloy with delta) expect of a scrape.
 *
 * Stacks are matched by the path of (function name, object) pairs from
 * the root, not by index: each model interns its own functions and
 * numbers its own nodes.  Self figures are subtracted (never below zero:
 * a child that died or was reset between the two snapshots takes its
 * samples with it), then the tree is pruned of nodes left with nothing,
 * so the result looks like a model built from the window alone; totals
 * and the function table are recomputed as rp_model.c computes them.
 * Counters and per-URI totals are subtracted too (maxima cannot be, so
 * AFTER's stand); recent requests are AFTER's that BEFORE did not have.
 * When a clear happened between the two (another generation), AFTER alone
 * is the window's profile.
 */

#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "rp_model.h"

static apr_uint64_t minus(apr_uint64_t a, apr_uint64_t b)
{
    return a > b ? a - b : 0;
}

/* For each node of AFTER, the node of BEFORE at the same path of (name,
 * object) pairs, or RP_MODEL_NONE. */
static apr_uint32_t *match_nodes(apr_pool_t *p, const rp_model_t *before,
                                 const rp_model_t *after)
{
    const rp_tnode_t *an = (const rp_tnode_t *)after->nodes->elts;
    const rp_tnode_t *bn = (const rp_tnode_t *)before->nodes->elts;
    const rp_func_t *af = (const rp_func_t *)after->funcs->elts;
    const rp_func_t *bf = (const rp_func_t *)before->funcs->elts;
    apr_uint32_t *bfunc = apr_palloc(p, sizeof(*bfunc)
                                        * (before->funcs->nelts + 1));
    apr_uint32_t *map = apr_palloc(p, sizeof(*map)
                                      * (after->nodes->nelts + 1));
    apr_hash_t *names = apr_hash_make(p), *kids = apr_hash_make(p);
    int i;

    /* BEFORE's functions as AFTER's indices, by name, object and label. */
    for (i = 0; i < after->funcs->nelts; i++) {
        apr_hash_set(names, apr_pstrcat(p, af[i].name, "\x01", af[i].object,
                                        "\x01", af[i].label ? af[i].label
                                                            : "", NULL),
                     APR_HASH_KEY_STRING,
                     (void *)(apr_uintptr_t)(i + 1));
    }
    for (i = 0; i < before->funcs->nelts; i++) {
        apr_uintptr_t id = (apr_uintptr_t)
            apr_hash_get(names, apr_pstrcat(p, bf[i].name, "\x01",
                                            bf[i].object, "\x01",
                                            bf[i].label ? bf[i].label : "",
                                            NULL),
                         APR_HASH_KEY_STRING);
        bfunc[i] = id ? (apr_uint32_t)(id - 1) : RP_MODEL_NONE;
    }
    /* BEFORE's nodes by (parent, function as AFTER's index). */
    for (i = 1; i < before->nodes->nelts; i++) {
        apr_uint32_t *key;
        if (bfunc[bn[i].func] == RP_MODEL_NONE) {
            continue;                   /* no such path in AFTER */
        }
        key = apr_palloc(p, 2 * sizeof(*key));
        key[0] = bn[i].parent;
        key[1] = bfunc[bn[i].func];
        apr_hash_set(kids, key, 2 * sizeof(*key),
                     (void *)(apr_uintptr_t)(i + 1));
    }
    /* Parents first, so the parent's match is known. */
    map[0] = 0;
    for (i = 1; i < after->nodes->nelts; i++) {
        apr_uint32_t key[2];
        apr_uintptr_t id;
        map[i] = RP_MODEL_NONE;
        if (map[an[i].parent] == RP_MODEL_NONE) {
            continue;
        }
        key[0] = map[an[i].parent];
        key[1] = an[i].func;
        id = (apr_uintptr_t)apr_hash_get(kids, key, sizeof(key));
        map[i] = id ? (apr_uint32_t)(id - 1) : RP_MODEL_NONE;
    }
    return map;
}

/* Copy of M's tree keeping the nodes with samples below them, and of its
 * functions keeping those such nodes use; indices are renumbered, order
 * kept (parents before children, siblings as they were). */
static void prune(rp_model_t *d, apr_pool_t *p)
{
    const rp_tnode_t *on = (const rp_tnode_t *)d->nodes->elts;
    const rp_func_t *of = (const rp_func_t *)d->funcs->elts;
    int n = d->nodes->nelts, nf = d->funcs->nelts, i;
    apr_uint32_t *nmap = apr_palloc(p, sizeof(*nmap) * (n + 1));
    apr_uint32_t *fmap = apr_palloc(p, sizeof(*fmap) * (nf + 1));
    apr_array_header_t *nodes = apr_array_make(p, n, sizeof(rp_tnode_t));
    apr_array_header_t *funcs = apr_array_make(p, nf, sizeof(rp_func_t));
    rp_tnode_t *t;

    memset(fmap, 0xFF, sizeof(*fmap) * (nf + 1));
    t = apr_array_push(nodes);
    *t = on[0];
    t->first_child = RP_MODEL_NONE;
    nmap[0] = 0;
    for (i = 1; i < n; i++) {
        rp_tnode_t *par;
        nmap[i] = RP_MODEL_NONE;
        if (!on[i].total_count && !on[i].total_ns) {
            continue;                   /* nor anything below it */
        }
        if (fmap[on[i].func] == RP_MODEL_NONE) {
            *(rp_func_t *)apr_array_push(funcs) = of[on[i].func];
            fmap[on[i].func] = (apr_uint32_t)(funcs->nelts - 1);
        }
        t = apr_array_push(nodes);
        *t = on[i];
        t->func = fmap[on[i].func];
        t->parent = nmap[on[i].parent];
        t->first_child = RP_MODEL_NONE;
        nmap[i] = (apr_uint32_t)(nodes->nelts - 1);
        /* Prepending in index order keeps the model's sibling order,
         * newest first. */
        par = &((rp_tnode_t *)nodes->elts)[t->parent];
        t->next_sibling = par->first_child;
        par->first_child = nmap[i];
    }
    d->nodes = nodes;
    d->funcs = funcs;
}

static int uri_by_samples(const void *x, const void *y)
{
    const rp_model_uri_t *a = x, *b = y;

    if (a->samples != b->samples) {
        return a->samples < b->samples ? 1 : -1;
    }
    return strcmp(a->uri, b->uri);
}

static void diff_uris(rp_model_t *d, apr_pool_t *p, const rp_model_t *before,
                      const rp_model_t *after)
{
    apr_hash_t *old = apr_hash_make(p);
    int i;

    d->uris = apr_array_make(p, after->uris->nelts + 1,
                             sizeof(rp_model_uri_t));
    for (i = 0; i < before->uris->nelts; i++) {
        const rp_model_uri_t *b = &((const rp_model_uri_t *)
                                    before->uris->elts)[i];
        apr_hash_set(old, b->uri, APR_HASH_KEY_STRING, b);
    }
    for (i = 0; i < after->uris->nelts; i++) {
        const rp_model_uri_t *a = &((const rp_model_uri_t *)
                                    after->uris->elts)[i];
        const rp_model_uri_t *b = apr_hash_get(old, a->uri,
                                               APR_HASH_KEY_STRING);
        rp_model_uri_t *u;
        if (b && a->requests <= b->requests && a->samples <= b->samples) {
            continue;                   /* nothing new */
        }
        u = apr_array_push(d->uris);
        *u = *a;
        if (b) {
            u->requests = minus(a->requests, b->requests);
            u->samples = minus(a->samples, b->samples);
            u->weight_ns = minus(a->weight_ns, b->weight_ns);
            u->sum_wall_us = minus(a->sum_wall_us, b->sum_wall_us);
            u->sum_cpu_us = minus(a->sum_cpu_us, b->sum_cpu_us);
        }
    }
    qsort(d->uris->elts, d->uris->nelts, sizeof(rp_model_uri_t),
          uri_by_samples);
}

/* AFTER's recent requests that BEFORE did not list. */
static void diff_recent(rp_model_t *d, apr_pool_t *p,
                        const rp_model_t *before, const rp_model_t *after)
{
    apr_hash_t *old = apr_hash_make(p);
    int i;

    d->recent = apr_array_make(p, after->recent->nelts + 1,
                               sizeof(const rp_recent_t *));
    for (i = 0; i < before->recent->nelts; i++) {
        const rp_recent_t *r = ((const rp_recent_t *const *)
                                before->recent->elts)[i];
        apr_hash_set(old, apr_psprintf(p, "%" APR_TIME_T_FMT " %d %s %s",
                                       r->time, r->status, r->method,
                                       r->uri), APR_HASH_KEY_STRING, r);
    }
    for (i = 0; i < after->recent->nelts; i++) {
        const rp_recent_t *r = ((const rp_recent_t *const *)
                                after->recent->elts)[i];
        if (!apr_hash_get(old, apr_psprintf(p, "%" APR_TIME_T_FMT " %d %s %s",
                                            r->time, r->status, r->method,
                                            r->uri), APR_HASH_KEY_STRING)) {
            *(const rp_recent_t **)apr_array_push(d->recent) = r;
        }
    }
}

rp_model_t *rp_model_diff(apr_pool_t *p, const rp_model_t *before,
                          const rp_model_t *after)
{
    rp_model_t *d;
    apr_uint32_t *map;
    const rp_tnode_t *bn;
    rp_tnode_t *dn;
    int i;

    if (!before || (before->info && after->info
                    && before->info->generation != after->info->generation)) {
        return (rp_model_t *)after;
    }
    d = apr_pmemdup(p, after, sizeof(*d));
    d->nodes = apr_array_copy(p, after->nodes);
    d->funcs = apr_array_copy(p, after->funcs);
    map = match_nodes(p, before, after);
    bn = (const rp_tnode_t *)before->nodes->elts;
    dn = (rp_tnode_t *)d->nodes->elts;
    for (i = 1; i < d->nodes->nelts; i++) {
        if (map[i] != RP_MODEL_NONE) {
            dn[i].self_count = minus(dn[i].self_count, bn[map[i]].self_count);
            dn[i].self_ns = minus(dn[i].self_ns, bn[map[i]].self_ns);
        }
    }
    rp_model_totals(d, p);
    prune(d, p);
    rp_model_totals(d, p);

    for (i = 0; i < RP_CTR_MAX; i++) {
        d->counters[i] = minus(after->counters[i], before->counters[i]);
    }
    diff_uris(d, p, before, after);
    diff_recent(d, p, before, after);
    /* The window: from the first snapshot to the second. */
    if (before->info && before->info->taken) {
        d->first_time = before->info->taken;
    }
    if (after->info && after->info->taken) {
        d->last_time = after->info->taken;
    }
    return d;
}
