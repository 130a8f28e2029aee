/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_model: snapshot -> merged call tree -> function table (rp_model.h).
 *
 * Each region's nodes come parents first, so one pass in index order maps
 * every region node to a merged node: the merged node under the mapped
 * parent with the same function.  Cumulative figures count a function
 * once per stack, however often it recurses: a depth-first walk keeps a
 * count of each function on the current path and credits a node's total
 * only where its function is not already on the path above it.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                 /* qsort_r */
#endif

#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "rp_filter.h"
#include "rp_interp.h"
#include "rp_model.h"
#include "rp_sort.h"

typedef struct {
    apr_pool_t *p;
    rp_model_t *m;
    apr_hash_t *func_ids;       /* "name\0object" -> index + 1 */
    apr_hash_t *edges;          /* (parent, func) -> merged node + 1 */
    rp_symbols_t *syms;
    int strip;
    int labels;                 /* URI nodes apart per request label */
} builder_t;

const char *rp_model_base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;

    return s && s[1] ? s + 1 : path;
}

/* The kind of a frame written by its name alone in collapsed text: a
 * marker ("[truncated]", ...) by the store's names, else code. */
static rp_frame_kind_e kind_named(const char *name)
{
    int k;

    for (k = RP_FRAME_TRUNCATED; k < RP_FRAME_KINDS; k++) {
        if (strcmp(rp_store_frame_kind_name((rp_frame_kind_e)k), name)
            == 0) {
            return (rp_frame_kind_e)k;
        }
    }
    return RP_FRAME_REAL;
}

static apr_uint32_t intern_lang(builder_t *b, rp_frame_kind_e kind,
                                const char *name, const char *object,
                                const char *file, int line, const char *label,
                                int lang)
{
    /* A script function is one per file too: two files' {closure} or
     * {main} are not one function. */
    const char *key = apr_pstrcat(b->p, name, "\x01", object, "\x01",
                                  label ? label : "", "\x01",
                                  lang && file ? file : "", NULL);
    apr_uintptr_t id = (apr_uintptr_t)apr_hash_get(b->func_ids, key,
                                                   APR_HASH_KEY_STRING);
    rp_func_t *f;

    if (id) {
        return (apr_uint32_t)(id - 1);
    }
    f = apr_array_push(b->m->funcs);
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->name = name;
    f->object = b->strip ? rp_model_base_name(object) : object;
    f->file = file && b->strip ? rp_model_base_name(file) : file;
    f->line = line;
    f->label = label;
    f->lang = lang;
    id = (apr_uintptr_t)b->m->funcs->nelts;
    apr_hash_set(b->func_ids, key, APR_HASH_KEY_STRING, (void *)id);
    return (apr_uint32_t)(id - 1);
}

static apr_uint32_t intern_func(builder_t *b, rp_frame_kind_e kind,
                                const char *name, const char *object,
                                const char *file, int line, const char *label)
{
    return intern_lang(b, kind, name, object, file, line, label, 0);
}

/* The function a region node stands for. */
static apr_uint32_t func_of(builder_t *b, const rp_region_t *reg,
                            const rp_node_t *n)
{
    const rp_frame_t *fr = &n->frame;
    const rp_symbol_t *sym;
    const char *path;

    switch (fr->kind) {
    case RP_FRAME_URI:
        if (fr->object >= reg->n_uris) {
            return intern_func(b, RP_FRAME_URI, "?", RP_MODEL_URI_OBJECT,
                               NULL, 0, NULL);
        }
        return intern_func(b, RP_FRAME_URI, reg->uris[fr->object].uri,
                           RP_MODEL_URI_OBJECT, NULL, 0,
                           b->labels ? reg->uris[fr->object].label : NULL);
    case RP_FRAME_REAL:
        if (fr->object < reg->n_objects && reg->objects[fr->object].lang > 0
            && reg->objects[fr->object].lang < RP_LANGS) {
            /* A script function: named when its sample was taken. */
            const rp_object_t *o = &reg->objects[fr->object];
            return intern_lang(b, RP_FRAME_REAL, o->build_id,
                               rp_lang_names[o->lang],
                               *o->path ? o->path : NULL, o->line, NULL,
                               o->lang);
        }
        if (fr->object < reg->n_objects) {
            path = reg->objects[fr->object].path;
            sym = rp_symbols_lookup(b->syms, path,
                                    reg->objects[fr->object].build_id,
                                    fr->rel);
            return intern_func(b, RP_FRAME_REAL, sym->function, path,
                               sym->file, sym->line, NULL);
        }
        return intern_func(b, RP_FRAME_UNKNOWN,
                           apr_psprintf(b->p, "0x%" APR_UINT64_T_HEX_FMT,
                                        fr->rel), "", NULL, 0, NULL);
    default:
        return intern_func(b, fr->kind, rp_store_frame_kind_name(fr->kind),
                           "", NULL, 0, NULL);
    }
}

static apr_uint32_t child_of(builder_t *b, apr_uint32_t parent,
                             apr_uint32_t func)
{
    apr_uint32_t key[2] = { parent, func };
    apr_uintptr_t id = (apr_uintptr_t)apr_hash_get(b->edges, key,
                                                   sizeof(key));
    rp_tnode_t *n, *par;
    apr_uint32_t *k;

    if (id) {
        return (apr_uint32_t)(id - 1);
    }
    n = apr_array_push(b->m->nodes);
    memset(n, 0, sizeof(*n));
    n->func = func;
    n->parent = parent;
    n->first_child = RP_MODEL_NONE;
    id = (apr_uintptr_t)b->m->nodes->nelts;
    par = &((rp_tnode_t *)b->m->nodes->elts)[parent];
    n->next_sibling = par->first_child;
    par->first_child = (apr_uint32_t)(id - 1);
    k = apr_pmemdup(b->p, key, sizeof(key));
    apr_hash_set(b->edges, k, sizeof(key), (void *)id);
    return (apr_uint32_t)(id - 1);
}

/* Merge REG's tree into the model's; returns the map of REG's nodes to
 * the model's (RP_MODEL_NONE: left out), or NULL when REG has none. */
static const apr_uint32_t *merge_region(builder_t *b, const rp_region_t *reg)
{
    apr_uint32_t *map = apr_palloc(b->p, sizeof(*map) * (reg->n_nodes + 1));
    apr_uint32_t i;
    int c;

    if (!reg->n_nodes) {
        return NULL;
    }
    map[0] = 0;
    for (i = 1; i < reg->n_nodes; i++) {
        const rp_node_t *n = &reg->nodes[i];
        rp_tnode_t *t;

        map[i] = RP_MODEL_NONE;
        if (n->parent >= i || map[n->parent] == RP_MODEL_NONE) {
            continue;
        }
        /* Focus: only the chosen URI's subtree. */
        if (n->parent == 0 && b->m->focus
            && (n->frame.kind != RP_FRAME_URI
                || n->frame.object >= reg->n_uris
                || strcmp(reg->uris[n->frame.object].uri, b->m->focus))) {
            continue;
        }
        map[i] = child_of(b, map[n->parent], func_of(b, reg, n));
        t = &((rp_tnode_t *)b->m->nodes->elts)[map[i]];
        t->self_count += n->self_count;
        t->self_ns += n->self_weight_ns;
    }
    for (c = 0; c < RP_CTR_MAX; c++) {
        b->m->counters[c] += reg->counters[c];
    }
    if (reg->first_time && (!b->m->first_time
                            || reg->first_time < b->m->first_time)) {
        b->m->first_time = reg->first_time;
    }
    if (reg->last_time > b->m->last_time) {
        b->m->last_time = reg->last_time;
    }
    return map;
}

/* Depth-first over the tree (iteratively: STACK holds the path, NEXT the
 * child to visit next at each level), adding each node's totals to the
 * figures of KEY[node] unless the same key is already on the path above
 * it: what "once per stack" means under recursion, for cumulative time by
 * function and for call edges alike.  KEY[node] is below NKEYS, or
 * RP_MODEL_NONE for nodes that count for nothing.  The figures of key k
 * are the apr_uint64_t at COUNT and NS plus k * STRIDE bytes, so they can
 * be fields of the caller's own records.  ON_PATH is zeroed scratch of
 * NKEYS + 1 words, or NULL to take it from P.  The path arrays grow with
 * the deepest path, not with the tree. */
static void once_per_stack(apr_pool_t *p, const rp_tnode_t *nodes,
                           const apr_uint32_t *key, apr_uint32_t nkeys,
                           apr_uint64_t *count, apr_uint64_t *ns,
                           apr_size_t stride, apr_uint32_t *on_path)
{
    apr_uint32_t cap = 256, *stack, *next, *grown;
    int sp = 0;

    if (!on_path) {
        on_path = apr_pcalloc(p, sizeof(*on_path) * (nkeys + 1));
    }
    stack = apr_palloc(p, sizeof(*stack) * cap * 2);
    next = stack + cap;
    stack[0] = 0;
    next[0] = nodes[0].first_child;
    while (sp >= 0) {
        apr_uint32_t c = next[sp];
        if (c == RP_MODEL_NONE) {
            if (key[stack[sp]] != RP_MODEL_NONE) {
                on_path[key[stack[sp]]]--;
            }
            sp--;
            continue;
        }
        next[sp] = nodes[c].next_sibling;
        if (key[c] != RP_MODEL_NONE && on_path[key[c]]++ == 0) {
            *(apr_uint64_t *)((char *)count + key[c] * stride)
                += nodes[c].total_count;
            *(apr_uint64_t *)((char *)ns + key[c] * stride)
                += nodes[c].total_ns;
        }
        if ((apr_uint32_t)sp + 1 >= cap) {
            grown = apr_palloc(p, sizeof(*grown) * cap * 4);
            memcpy(grown, stack, sizeof(*stack) * cap);
            memcpy(grown + cap * 2, next, sizeof(*next) * cap);
            stack = grown;
            next = grown + cap * 2;
            cap *= 2;
        }
        stack[++sp] = c;
        next[sp] = nodes[c].first_child;
    }
}

/* Totals bottom-up (children have larger indices than parents), then
 * cumulative per function, once per stack. */
void rp_model_totals(rp_model_t *m, apr_pool_t *p)
{
    rp_tnode_t *nodes = (rp_tnode_t *)m->nodes->elts;
    rp_func_t *funcs = (rp_func_t *)m->funcs->elts;
    int n = m->nodes->nelts, i;
    apr_uint32_t *key;
    apr_uint64_t *count, *ns;

    for (i = 0; i < m->funcs->nelts; i++) {
        funcs[i].self_count = funcs[i].self_ns = 0;
        funcs[i].cum_count = funcs[i].cum_ns = 0;
    }
    for (i = 0; i < n; i++) {
        nodes[i].total_count = nodes[i].self_count;
        nodes[i].total_ns = nodes[i].self_ns;
    }
    for (i = n - 1; i > 0; i--) {
        nodes[nodes[i].parent].total_count += nodes[i].total_count;
        nodes[nodes[i].parent].total_ns += nodes[i].total_ns;
    }
    m->samples = nodes[0].total_count;
    m->weight_ns = nodes[0].total_ns;
    for (i = 1; i < n; i++) {
        rp_func_t *f = &funcs[nodes[i].func];
        f->self_count += nodes[i].self_count;
        f->self_ns += nodes[i].self_ns;
    }
    key = apr_palloc(p, sizeof(*key) * (n + 1));
    count = apr_pcalloc(p, sizeof(*count) * (m->funcs->nelts + 1));
    ns = apr_pcalloc(p, sizeof(*ns) * (m->funcs->nelts + 1));
    key[0] = RP_MODEL_NONE;
    for (i = 1; i < n; i++) {
        key[i] = nodes[i].func;
    }
    once_per_stack(p, nodes, key, (apr_uint32_t)m->funcs->nelts, count, ns,
                   sizeof(*count), NULL);
    for (i = 0; i < m->funcs->nelts; i++) {
        funcs[i].cum_count = count[i];
        funcs[i].cum_ns = ns[i];
    }
}

/* ------------------------------------------------------------------ */
/* Per-URI totals and recent requests, merged over children */

static int uri_by_samples(const void *x, const void *y)
{
    const rp_model_uri_t *a = x, *b = y;

    if (a->samples != b->samples) {
        return a->samples < b->samples ? 1 : -1;
    }
    return strcmp(a->uri, b->uri);
}

static int recent_by_time(const void *x, const void *y)
{
    const rp_recent_t *a = *(const rp_recent_t *const *)x;
    const rp_recent_t *b = *(const rp_recent_t *const *)y;

    return a->time < b->time ? 1 : a->time > b->time ? -1 : 0;
}

static void merge_uris(rp_model_t *m, apr_pool_t *p)
{
    apr_hash_t *ids = apr_hash_make(p);
    int i;
    apr_uint32_t k;

    m->uris = apr_array_make(p, 16, sizeof(rp_model_uri_t));
    m->recent = apr_array_make(p, 16, sizeof(const rp_recent_t *));
    for (i = 0; i < m->nregions; i++) {
        const rp_region_t *g = m->regions[i];
        for (k = 0; k < g->n_uris; k++) {
            const rp_uri_t *x = &g->uris[k];
            apr_uintptr_t id;
            rp_model_uri_t *u;
            if (m->focus && strcmp(m->focus, x->uri) != 0) {
                continue;
            }
            id = (apr_uintptr_t)apr_hash_get(ids, x->uri,
                                             APR_HASH_KEY_STRING);
            if (!id) {
                u = apr_array_push(m->uris);
                memset(u, 0, sizeof(*u));
                u->uri = x->uri;
                id = (apr_uintptr_t)m->uris->nelts;
                apr_hash_set(ids, x->uri, APR_HASH_KEY_STRING, (void *)id);
            }
            u = &((rp_model_uri_t *)m->uris->elts)[id - 1];
            u->requests += x->requests;
            u->samples += x->samples;
            u->weight_ns += x->weight_ns;
            u->sum_wall_us += x->sum_wall_us;
            u->sum_cpu_us += x->sum_cpu_us;
            if (x->max_wall_us > u->max_wall_us) {
                u->max_wall_us = x->max_wall_us;
            }
            if (x->max_cpu_us > u->max_cpu_us) {
                u->max_cpu_us = x->max_cpu_us;
            }
        }
        for (k = 0; k < g->n_recent; k++) {
            if (!m->focus || strcmp(m->focus, g->recent[k].uri) == 0) {
                *(const rp_recent_t **)apr_array_push(m->recent)
                    = &g->recent[k];
            }
        }
    }
    qsort(m->uris->elts, m->uris->nelts, sizeof(rp_model_uri_t),
          uri_by_samples);
    qsort(m->recent->elts, m->recent->nelts, sizeof(const rp_recent_t *),
          recent_by_time);
}

static rp_model_t *model_new(apr_pool_t *p, builder_t *b, const char *focus,
                             int flags)
{
    rp_model_t *m = apr_pcalloc(p, sizeof(*m));
    rp_tnode_t *root;

    m->focus = focus;
    m->funcs = apr_array_make(p, 256, sizeof(rp_func_t));
    m->nodes = apr_array_make(p, 1024, sizeof(rp_tnode_t));
    root = apr_array_push(m->nodes);
    memset(root, 0, sizeof(*root));
    root->func = root->parent = root->next_sibling = RP_MODEL_NONE;
    root->first_child = RP_MODEL_NONE;
    b->p = p;
    b->m = m;
    b->func_ids = apr_hash_make(p);
    b->edges = apr_hash_make(p);
    b->syms = NULL;
    b->strip = (flags & RP_MODEL_STRIP_DIRS) != 0;
    b->labels = (flags & RP_MODEL_LABELS) != 0;
    return m;
}

rp_model_t *rp_model_build(apr_pool_t *p, const rp_snapshot_t *snap,
                           rp_symbols_t *syms, const char *focus,
                           int flags)
{
    builder_t b;
    rp_model_t *m = model_new(p, &b, focus, flags);
    const rp_region_t **regs;
    int i;

    b.syms = syms;
    m->info = rp_snapshot_info(snap);
    m->nregions = rp_snapshot_nregions(snap);
    regs = apr_palloc(p, sizeof(*regs) * (m->nregions + 1));
    for (i = 0; i < m->nregions; i++) {
        regs[i] = rp_snapshot_region(snap, i);
    }
    m->regions = regs;
    for (i = 0; i < m->nregions; i++) {
        const apr_uint32_t *map = merge_region(&b, regs[i]);
        const rp_kept_t *k = rp_snapshot_kept(snap);

        if (k && map) {
            /* A request's own profile: where each span landed. */
            apr_uint32_t *sn = apr_palloc(p, sizeof(*sn) * (k->n_spans + 1));
            apr_uint32_t j;

            for (j = 0; j < k->n_spans; j++) {
                sn[j] = k->spans[j].node < regs[i]->n_nodes
                            ? map[k->spans[j].node]
                            : RP_MODEL_NONE;
            }
            m->request = k;
            m->span_nodes = sn;
        }
    }
    rp_model_totals(m, p);
    merge_uris(m, p);
    return m;
}

/* ------------------------------------------------------------------ */
/* Sorting: a table of comparators, keyed by rp_sort's names */

typedef int (*cmp_fn)(const rp_func_t *a, const rp_func_t *b);

static int by_self(const rp_func_t *a, const rp_func_t *b)
{
    return a->self_ns < b->self_ns ? 1 : a->self_ns > b->self_ns ? -1 : 0;
}

static int by_cum(const rp_func_t *a, const rp_func_t *b)
{
    return a->cum_ns < b->cum_ns ? 1 : a->cum_ns > b->cum_ns ? -1 : 0;
}

static int by_name(const rp_func_t *a, const rp_func_t *b)
{
    return strcmp(a->name, b->name);
}

static int by_file(const rp_func_t *a, const rp_func_t *b)
{
    int c = strcmp(a->file ? a->file : a->object,
                   b->file ? b->file : b->object);

    return c ? c : a->line - b->line;
}

static const struct {
    const char *key;
    cmp_fn cmp;
} comparators[] = {
    { "self", by_self }, { "tottime", by_self },
    { "cumulative", by_cum }, { "cumtime", by_cum },
    { "name", by_name }, { "file", by_file },
    { NULL, NULL }
};

/* What cmp_index compares by, passed through qsort_r. */
typedef struct {
    const rp_func_t *funcs;
    cmp_fn cmp;
} sort_by_t;

static int cmp_index(const void *x, const void *y, void *arg)
{
    const sort_by_t *by = arg;
    apr_uint32_t a = *(const apr_uint32_t *)x, b = *(const apr_uint32_t *)y;
    int c = by->cmp(&by->funcs[a], &by->funcs[b]);

    /* Ties: by name, then by index, so the order is stable and total. */
    if (!c) {
        c = strcmp(by->funcs[a].name, by->funcs[b].name);
    }
    return c ? c : (a < b ? -1 : a > b);
}

apr_array_header_t *rp_model_sorted(apr_pool_t *p, const rp_model_t *m,
                                    const char *key)
{
    apr_array_header_t *out = apr_array_make(p, m->funcs->nelts,
                                             sizeof(apr_uint32_t));
    const rp_func_t *funcs = (const rp_func_t *)m->funcs->elts;
    sort_by_t by;
    int i;

    by.funcs = funcs;
    by.cmp = by_self;
    for (i = 0; comparators[i].key; i++) {
        if (strcmp(comparators[i].key, key) == 0) {
            by.cmp = comparators[i].cmp;
        }
    }
    for (i = 0; i < m->funcs->nelts; i++) {
        if (funcs[i].kind != RP_FRAME_URI) {
            *(apr_uint32_t *)apr_array_push(out) = (apr_uint32_t)i;
        }
    }
    qsort_r(out->elts, out->nelts, sizeof(apr_uint32_t), cmp_index, &by);
    return out;
}


/* ------------------------------------------------------------------ */
/* Function tables: selection as pstats restricts print_stats */

apr_array_header_t *rp_model_select(apr_pool_t *p, const rp_model_t *m,
                                    const rp_select_t *sel, int *total,
                                    const char **err)
{
    apr_array_header_t *rows = rp_model_sorted(p, m, sel->sort);
    const rp_func_t *funcs = (const rp_func_t *)m->funcs->elts;
    apr_uint32_t *idx = (apr_uint32_t *)rows->elts;
    apr_interval_time_t budget = sel->match_budget > 0
                                 ? sel->match_budget : RP_MODEL_MATCH_BUDGET;
    apr_time_t start;
    int i, n = 0, enough;

    if (total) {
        *total = rows->nelts;
    }
    if (err) {
        *err = NULL;
    }
    if (sel->match) {
        /* Without a fraction, which needs every match counted, the rows
         * after the limit are never shown: their names need no match. */
        enough = sel->limit > 0 && !(sel->fraction > 0 && sel->fraction < 1)
                 ? sel->limit : rows->nelts;
        start = apr_time_now();
        for (i = 0; i < rows->nelts && n < enough; i++) {
            const char *name = funcs[idx[i]].name;
            if (rp_filter_match(sel->match, name, strlen(name))) {
                idx[n++] = idx[i];
            }
            if (apr_time_now() - start > budget) {
                if (err) {
                    *err = apr_psprintf(p, "match: the regex took more "
                                        "than %d ms over the function "
                                        "names (stopped after %d of %d): "
                                        "simplify it (a nested repeat "
                                        "such as (\\w+)+ backtracks)",
                                        (int)apr_time_as_msec(budget),
                                        i + 1, rows->nelts);
                }
                rows->nelts = 0;
                return rows;
            }
        }
        rows->nelts = n;
    }
    if (sel->fraction > 0 && sel->fraction < 1) {
        /* pstats rounds to the nearest row count */
        rows->nelts = (int)(rows->nelts * sel->fraction + 0.5);
    }
    if (sel->limit > 0 && rows->nelts > sel->limit) {
        rows->nelts = sel->limit;
    }
    return rows;
}

apr_array_header_t *rp_model_find(apr_pool_t *p, const rp_model_t *m,
                                  const char *name)
{
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(apr_uint32_t));
    const rp_func_t *funcs = (const rp_func_t *)m->funcs->elts;
    int i;

    for (i = 0; i < m->funcs->nelts; i++) {
        if (strcmp(funcs[i].name, name) == 0
            && funcs[i].kind != RP_FRAME_URI) {
            *(apr_uint32_t *)apr_array_push(out) = (apr_uint32_t)i;
        }
    }
    return out;
}

static int edge_cmp(const void *x, const void *y)
{
    const rp_edge_t *a = x, *b = y;

    if (a->count != b->count) {
        return a->count < b->count ? 1 : -1;
    }
    return a->func < b->func ? -1 : a->func > b->func;
}

/* Every caller -> callee edge of the call tree in one pass; the same
 * figures as rp_model_edges, which walks the edges of one function.  An
 * edge counts a node's totals only where the same edge is not already on
 * the path above it (recursion), as rp_model_totals does for functions.
 * Each node's edge is found in an open-addressing table of first nodes
 * (the key of an entry is read from its node), so the memory is a few
 * words per node and the edges themselves, sized exactly. */
apr_array_header_t *rp_model_calls(apr_pool_t *p, const rp_model_t *m)
{
    const rp_tnode_t *nodes = (const rp_tnode_t *)m->nodes->elts;
    int n = m->nodes->nelts, i, ne = 0, filled = 0;
    apr_uint32_t *eid = apr_palloc(p, sizeof(*eid) * (n + 1));
    apr_uint32_t size = 64, mask, *table;
    apr_array_header_t *edges;
    rp_call_t *e;

    /* At most 4/5 full (there are fewer edges than nodes): a few probes
     * a lookup, and 4 bytes a slot. */
    while (size < (apr_uint32_t)n + (apr_uint32_t)n / 4) {
        size *= 2;
    }
    mask = size - 1;
    table = apr_pcalloc(p, sizeof(*table) * size);     /* first node + 1 */
    eid[0] = RP_MODEL_NONE;
    for (i = 1; i < n; i++) {
        apr_uint32_t from, to, h, t;
        if (nodes[i].parent == 0 || nodes[i].parent == RP_MODEL_NONE) {
            eid[i] = RP_MODEL_NONE;     /* a URI node: no caller */
            continue;
        }
        from = nodes[nodes[i].parent].func;
        to = nodes[i].func;
        h = (from * 0x9E3779B1u) ^ (to * 0x85EBCA77u);
        for (h ^= h >> 15; (t = table[h & mask]) != 0; h++) {
            t--;
            if (nodes[t].func == to && nodes[nodes[t].parent].func == from) {
                break;
            }
        }
        if (table[h & mask]) {
            eid[i] = eid[table[h & mask] - 1];
        }
        else {
            table[h & mask] = (apr_uint32_t)i + 1;
            eid[i] = (apr_uint32_t)ne++;
        }
    }
    /* Edge ids were given in node order: the first node of each fills
     * it in. */
    edges = apr_array_make(p, ne ? ne : 1, sizeof(rp_call_t));
    edges->nelts = ne;
    e = (rp_call_t *)edges->elts;
    for (i = 1; i < n && filled < ne; i++) {
        if (eid[i] == (apr_uint32_t)filled) {
            e[filled].from = nodes[nodes[i].parent].func;
            e[filled].to = nodes[i].func;
            e[filled].count = e[filled].ns = 0;
            filled++;
        }
    }
    if (ne) {
        /* The table is done with, and has more slots than there are
         * edges: it is the walk's scratch. */
        memset(table, 0, sizeof(*table) * size);
        once_per_stack(p, nodes, eid, (apr_uint32_t)ne, &e[0].count,
                       &e[0].ns, sizeof(*e), table);
    }
    return edges;
}

/* Callers or callees of F: a node's key is the function at the other end
 * of its edge when that edge touches F, so the one once-per-stack walk
 * counts exactly what rp_model_calls counts for F's edges, without
 * building every other edge.  EXISTS keeps edges of no samples (a diff
 * can have them), as rp_model_calls does. */
apr_array_header_t *rp_model_edges(apr_pool_t *p, const rp_model_t *m,
                                   apr_uint32_t f, int callers)
{
    const rp_tnode_t *nodes = (const rp_tnode_t *)m->nodes->elts;
    int n = m->nodes->nelts, nf = m->funcs->nelts, i;
    apr_uint32_t *key = apr_palloc(p, sizeof(*key) * (n + 1));
    apr_uint64_t *count = apr_pcalloc(p, sizeof(*count) * (nf + 1));
    apr_uint64_t *ns = apr_pcalloc(p, sizeof(*ns) * (nf + 1));
    char *exists = apr_pcalloc(p, (apr_size_t)nf + 1);
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(rp_edge_t));

    key[0] = RP_MODEL_NONE;
    for (i = 1; i < n; i++) {
        apr_uint32_t par = nodes[i].parent;
        key[i] = RP_MODEL_NONE;
        if (par == 0 || par == RP_MODEL_NONE) {
            continue;                   /* a URI node: no caller */
        }
        if (callers && nodes[i].func == f) {
            key[i] = nodes[par].func;
        }
        else if (!callers && nodes[par].func == f) {
            key[i] = nodes[i].func;
        }
        if (key[i] != RP_MODEL_NONE) {
            exists[key[i]] = 1;
        }
    }
    once_per_stack(p, nodes, key, (apr_uint32_t)nf, count, ns,
                   sizeof(*count), NULL);
    for (i = 0; i < nf; i++) {
        if (exists[i]) {
            rp_edge_t *e = apr_array_push(out);
            e->func = (apr_uint32_t)i;
            e->count = count[i];
            e->ns = ns[i];
        }
    }
    qsort(out->elts, out->nelts, sizeof(rp_edge_t), edge_cmp);
    return out;
}

void rp_model_path(const rp_model_t *m, apr_uint32_t n,
                   apr_array_header_t *path)
{
    const rp_tnode_t *nodes = (const rp_tnode_t *)m->nodes->elts;

    path->nelts = 0;
    for (; n != 0 && n != RP_MODEL_NONE; n = nodes[n].parent) {
        *(apr_uint32_t *)apr_array_push(path) = nodes[n].func;
    }
}

/* Children by total count, then name; ARG: the model (qsort_r). */
static int child_cmp(const void *x, const void *y, void *arg)
{
    const rp_model_t *m = arg;
    const rp_tnode_t *nodes = (const rp_tnode_t *)m->nodes->elts;
    const rp_func_t *funcs = (const rp_func_t *)m->funcs->elts;
    const rp_tnode_t *a = &nodes[*(const apr_uint32_t *)x];
    const rp_tnode_t *b = &nodes[*(const apr_uint32_t *)y];

    if (a->total_count != b->total_count) {
        return a->total_count < b->total_count ? 1 : -1;
    }
    return strcmp(funcs[a->func].name, funcs[b->func].name);
}

int rp_model_children_push(const rp_model_t *m, apr_uint32_t n,
                           apr_array_header_t *kids)
{
    const rp_tnode_t *nodes = (const rp_tnode_t *)m->nodes->elts;
    int start = kids->nelts;
    apr_uint32_t c;

    for (c = nodes[n].first_child; c != RP_MODEL_NONE;
         c = nodes[c].next_sibling) {
        *(apr_uint32_t *)apr_array_push(kids) = c;
    }
    qsort_r((apr_uint32_t *)kids->elts + start,
            (apr_size_t)(kids->nelts - start), sizeof(apr_uint32_t),
            child_cmp, (void *)m);
    return kids->nelts - start;
}

apr_array_header_t *rp_model_children(apr_pool_t *p, const rp_model_t *m,
                                      apr_uint32_t n)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(apr_uint32_t));

    rp_model_children_push(m, n, out);
    return out;
}

/* ------------------------------------------------------------------ */
/* Helpers for renderers */

double rp_model_ms(apr_uint64_t ns)
{
    return (double)ns / 1e6;
}

double rp_model_pct(apr_uint64_t part, apr_uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static int model_real(const rp_model_t *m)
{
    return m->info && m->info->settings.timer == RP_TIMER_REAL;
}

/* The exact time the timer measures of URI U's requests. */
static apr_uint64_t exact_us(const rp_model_t *m, const rp_model_uri_t *u)
{
    return model_real(m) ? u->sum_wall_us : u->sum_cpu_us;
}

/* The exact time of every URI; *NS (may be NULL) gets their estimate. */
static apr_uint64_t total_exact_us(const rp_model_t *m, apr_uint64_t *ns)
{
    apr_uint64_t us = 0, est = 0;
    int i;

    for (i = 0; i < m->uris->nelts; i++) {
        const rp_model_uri_t *u = &((const rp_model_uri_t *)m->uris->elts)[i];
        us += exact_us(m, u);
        est += u->weight_ns;
    }
    if (ns) {
        *ns = est;
    }
    return us;
}

double rp_model_delivered_hz(const rp_model_t *m, apr_uint64_t *time_us)
{
    apr_uint64_t us = total_exact_us(m, NULL);

    if (time_us) {
        *time_us = us;
    }
    return us ? (double)m->counters[RP_CTR_SAMPLES] * 1e6 / (double)us : 0;
}

double rp_model_covered(const rp_model_t *m, const rp_model_uri_t *u,
                        apr_uint64_t *exact)
{
    apr_uint64_t ns, us;

    if (u) {
        us = exact_us(m, u);
        ns = u->weight_ns;
    }
    else {
        us = total_exact_us(m, &ns);
    }
    if (exact) {
        *exact = us;
    }
    return us ? 100.0 * (double)ns / (1000.0 * (double)us) : -1.0;
}

const char *rp_model_clock_name(const rp_model_t *m)
{
    return model_real(m) ? "wall" : "CPU";
}

const rp_func_t *rp_model_func(const rp_model_t *m, apr_uint32_t f)
{
    return &((const rp_func_t *)m->funcs->elts)[f];
}

const rp_tnode_t *rp_model_node(const rp_model_t *m, apr_uint32_t n)
{
    return &((const rp_tnode_t *)m->nodes->elts)[n];
}

/* ------------------------------------------------------------------ */
/* Synthetic models (tests, benchmark) */

rp_model_t *rp_model_from_folded(apr_pool_t *p, const char *const *lines,
                                 int n, apr_uint64_t ns_per_sample)
{
    static rp_snapshot_info_t info;
    builder_t b;
    rp_model_t *m = model_new(p, &b, NULL, 0);
    int i;

    m->info = &info;
    m->regions = apr_pcalloc(p, sizeof(*m->regions));
    for (i = 0; i < n; i++) {
        char *line = apr_pstrdup(p, lines[i]), *sp = strrchr(line, ' ');
        char *frame, *last, *at;
        apr_uint32_t node = 0;
        apr_uint64_t count;
        int depth = 0;
        rp_tnode_t *t;
        if (!sp) {
            continue;
        }
        *sp = '\0';
        count = apr_strtoi64(sp + 1, NULL, 10);
        for (frame = apr_strtok(line, ";", &last); frame;
             frame = apr_strtok(NULL, ";", &last), depth++) {
            at = strchr(frame, '@');
            if (at) {
                *at++ = '\0';
            }
            node = child_of(&b, node,
                            intern_func(&b, depth ? (at ? RP_FRAME_REAL
                                                        : kind_named(frame))
                                                  : RP_FRAME_URI, frame,
                                        depth ? (at ? at : "")
                                              : RP_MODEL_URI_OBJECT,
                                        NULL, 0, NULL));
        }
        t = &((rp_tnode_t *)m->nodes->elts)[node];
        t->self_count += count;
        t->self_ns += count * ns_per_sample;
        m->counters[RP_CTR_SAMPLES] += count;
        m->counters[RP_CTR_TICKS] += count;
        m->counters[RP_CTR_WEIGHT_NS] += count * ns_per_sample;
    }
    rp_model_totals(m, p);
    m->uris = apr_array_make(p, 1, sizeof(rp_model_uri_t));
    m->recent = apr_array_make(p, 1, sizeof(const rp_recent_t *));
    return m;
}
