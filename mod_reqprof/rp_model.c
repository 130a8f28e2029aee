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

#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "rp_model.h"
#include "rp_sort.h"

typedef struct {
    apr_pool_t *p;
    rp_model_t *m;
    apr_hash_t *func_ids;       /* "name\0object" -> index + 1 */
    apr_hash_t *edges;          /* (parent, func) -> merged node + 1 */
    rp_symbols_t *syms;
    int strip;
} builder_t;

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;

    return s ? s + 1 : path;
}

static apr_uint32_t intern_func(builder_t *b, const char *name,
                                const char *object, const char *file,
                                int line)
{
    const char *key = apr_pstrcat(b->p, name, "\x01", object, NULL);
    apr_uintptr_t id = (apr_uintptr_t)apr_hash_get(b->func_ids, key,
                                                   APR_HASH_KEY_STRING);
    rp_func_t *f;

    if (id) {
        return (apr_uint32_t)(id - 1);
    }
    f = apr_array_push(b->m->funcs);
    memset(f, 0, sizeof(*f));
    f->name = name;
    f->object = b->strip ? base_name(object) : object;
    f->file = file && b->strip ? base_name(file) : file;
    f->line = line;
    id = (apr_uintptr_t)b->m->funcs->nelts;
    apr_hash_set(b->func_ids, key, APR_HASH_KEY_STRING, (void *)id);
    return (apr_uint32_t)(id - 1);
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
        return intern_func(b, fr->object < reg->n_uris
                              ? reg->uris[fr->object].uri : "?",
                           "[uri]", NULL, 0);
    case RP_FRAME_REAL:
        if (fr->object < reg->n_objects) {
            path = reg->objects[fr->object].path;
            sym = rp_symbols_lookup(b->syms, path,
                                    reg->objects[fr->object].build_id,
                                    fr->rel);
            return intern_func(b, sym->function, path, sym->file, sym->line);
        }
        return intern_func(b, apr_psprintf(b->p, "0x%" APR_UINT64_T_HEX_FMT,
                                           fr->rel), "", NULL, 0);
    default:
        return intern_func(b, rp_store_frame_kind_name(fr->kind), "", NULL,
                           0);
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

static void merge_region(builder_t *b, const rp_region_t *reg)
{
    apr_uint32_t *map = apr_palloc(b->p, sizeof(*map) * (reg->n_nodes + 1));
    apr_uint32_t i;
    int c;

    if (!reg->n_nodes) {
        return;
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
}

/* Totals bottom-up (children have larger indices than parents), then
 * cumulative per function with an on-path count per function. */
static void compute_totals(rp_model_t *m, apr_pool_t *p)
{
    rp_tnode_t *nodes = (rp_tnode_t *)m->nodes->elts;
    rp_func_t *funcs = (rp_func_t *)m->funcs->elts;
    int n = m->nodes->nelts, i, sp;
    apr_uint32_t *on_path, *stack, *next;

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
    /* Iterative depth-first walk: STACK holds the path, NEXT the child to
     * visit next at each level. */
    on_path = apr_pcalloc(p, sizeof(*on_path) * (m->funcs->nelts + 1));
    stack = apr_palloc(p, sizeof(*stack) * (n + 1));
    next = apr_palloc(p, sizeof(*next) * (n + 1));
    sp = 0;
    stack[0] = 0;
    next[0] = nodes[0].first_child;
    while (sp >= 0) {
        apr_uint32_t c = next[sp];
        if (c == RP_MODEL_NONE) {
            if (stack[sp] != 0) {
                on_path[nodes[stack[sp]].func]--;
            }
            sp--;
            continue;
        }
        next[sp] = nodes[c].next_sibling;
        if (on_path[nodes[c].func]++ == 0) {
            funcs[nodes[c].func].cum_count += nodes[c].total_count;
            funcs[nodes[c].func].cum_ns += nodes[c].total_ns;
        }
        stack[++sp] = c;
        next[sp] = nodes[c].first_child;
    }
}

rp_model_t *rp_model_build(apr_pool_t *p, const rp_snapshot_t *snap,
                           rp_symbols_t *syms, const char *focus,
                           int strip_dirs)
{
    builder_t b;
    rp_model_t *m = apr_pcalloc(p, sizeof(*m));
    rp_tnode_t *root;
    const rp_region_t **regs;
    int i;

    m->info = rp_snapshot_info(snap);
    m->nregions = rp_snapshot_nregions(snap);
    regs = apr_palloc(p, sizeof(*regs) * (m->nregions + 1));
    for (i = 0; i < m->nregions; i++) {
        regs[i] = rp_snapshot_region(snap, i);
    }
    m->regions = regs;
    m->focus = focus;
    m->funcs = apr_array_make(p, 256, sizeof(rp_func_t));
    m->nodes = apr_array_make(p, 1024, sizeof(rp_tnode_t));
    root = apr_array_push(m->nodes);
    memset(root, 0, sizeof(*root));
    root->func = root->parent = root->next_sibling = RP_MODEL_NONE;
    root->first_child = RP_MODEL_NONE;
    b.p = p;
    b.m = m;
    b.func_ids = apr_hash_make(p);
    b.edges = apr_hash_make(p);
    b.syms = syms;
    b.strip = strip_dirs;
    for (i = 0; i < m->nregions; i++) {
        merge_region(&b, regs[i]);
    }
    compute_totals(m, p);
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

static __thread const rp_func_t *sort_funcs;
static __thread cmp_fn sort_cmp;

static int cmp_index(const void *x, const void *y)
{
    apr_uint32_t a = *(const apr_uint32_t *)x, b = *(const apr_uint32_t *)y;
    int c = sort_cmp(&sort_funcs[a], &sort_funcs[b]);

    /* Ties: by name, then by index, so the order is stable and total. */
    if (!c) {
        c = strcmp(sort_funcs[a].name, sort_funcs[b].name);
    }
    return c ? c : (a < b ? -1 : a > b);
}

apr_array_header_t *rp_model_sorted(apr_pool_t *p, const rp_model_t *m,
                                    const char *key)
{
    apr_array_header_t *out = apr_array_make(p, m->funcs->nelts,
                                             sizeof(apr_uint32_t));
    const rp_func_t *funcs = (const rp_func_t *)m->funcs->elts;
    int i;

    sort_cmp = by_self;
    for (i = 0; comparators[i].key; i++) {
        if (strcmp(comparators[i].key, key) == 0) {
            sort_cmp = comparators[i].cmp;
        }
    }
    for (i = 0; i < m->funcs->nelts; i++) {
        if (strcmp(funcs[i].object, "[uri]") != 0) {
            *(apr_uint32_t *)apr_array_push(out) = (apr_uint32_t)i;
        }
    }
    sort_funcs = funcs;
    qsort(out->elts, out->nelts, sizeof(apr_uint32_t), cmp_index);
    return out;
}
