/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_callgrind: the profile in Callgrind's format (Valgrind manual,
 * "Callgrind Format Specification"), for KCachegrind, QCachegrind and
 * callgrind_annotate.
 *
 * Two events, Samples and Nanoseconds (of CPU or wall time after the
 * timer).  One fn= block per function, URI pseudo-functions included
 * (object and file "[uri]"), so that every outermost frame has its URI
 * as caller, as on the page: its self cost on one line, then one
 * cfn=/calls= pair per callee with the inclusive cost of that edge,
 * counted once per stack as rp_model_edges counts it.  Direct recursion
 * (f -> f) is left out: its cost is already in the outer call's, and
 * callgrind_annotate adds every call into a function to its inclusive
 * cost, so it would count the same samples twice.  A sampling
 * profiler counts no calls, so calls= carries the edge's samples: a
 * number of the right size for KCachegrind's call-graph layout, not a
 * call count.  The position is the line rp_symbols found for the function
 * (0 when unknown); fl= is its source file, ob= its object.
 *
 * Names are compressed, "(id) name" the first time and "(id)" after, as
 * Callgrind writes them.  Every name goes through rp_escape_text, so it
 * stays on its line, escaped straight into the sink the one time it is
 * written: the ids of objects and files are kept by the name as the model
 * has it (escaping is one to one), a function's id is its index, so what
 * the export holds beyond the model's edge table is a few words per
 * function, however many calls it writes.  callgrind_annotate stops
 * reading the header at the events: line, so that comes last.
 */

#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"


/* ------------------------------------------------------------------ */
/* Compressed names */

typedef struct {
    apr_hash_t *ids;            /* name as in the model -> id */
    int n;
} names_t;

/* KEY=, then "(id) name" the first time NAME is written, "(id)" after,
 * then a newline. */
static void put_compressed(const rp_render_t *c, names_t *t,
                           const char *key, const char *name)
{
    apr_uintptr_t id;

    name = name && *name ? name : "???";
    id = (apr_uintptr_t)apr_hash_get(t->ids, name, APR_HASH_KEY_STRING);
    if (id) {
        rp_out_printf(c->out, "%s=(%d)\n", key, (int)id);
        return;
    }
    id = (apr_uintptr_t)++t->n;
    apr_hash_set(t->ids, name, APR_HASH_KEY_STRING, (void *)id);
    rp_out_printf(c->out, "%s=(%d) ", key, (int)id);
    rp_out_escaped(c->out, RP_ESCAPE_TEXT, name);
    rp_out_write(c->out, "\n", 1);
}

/* KEY=, then function F's compressed name: its id is its index + 1. */
static void put_fn(const rp_render_t *c, char *written, const char *key,
                   apr_uint32_t f)
{
    rp_out_printf(c->out, "%s=(%u)", key, f + 1);
    if (!written[f]) {
        written[f] = 1;
        rp_out_write(c->out, " ", 1);
        rp_out_escaped(c->out, RP_ESCAPE_TEXT,
                       rp_model_func(c->m, f)->name);
    }
    rp_out_write(c->out, "\n", 1);
}

/* The file a function's costs are given in: its source file, or "???"
 * as Callgrind writes an unknown one (callgrind_annotate would otherwise
 * try to annotate the object as if it were source). */
static const char *file_of(const rp_func_t *f)
{
    return f->file && *f->file ? f->file : "???";
}

/* ------------------------------------------------------------------ */

void rp_report_callgrind(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    int nf = m->funcs->nelts, timer = m->info ? m->info->settings.timer : 0;
    apr_array_header_t *edges = rp_model_calls(c->p, m);
    const rp_call_t *e = (const rp_call_t *)edges->elts;
    int *first = apr_pcalloc(c->p, sizeof(*first) * (nf + 2));
    int *order = apr_palloc(c->p, sizeof(*order) * (edges->nelts + 1));
    char *written = apr_pcalloc(c->p, (apr_size_t)nf + 1);
    names_t obs = { apr_hash_make(c->p), 0 };
    names_t fls = { apr_hash_make(c->p), 0 };
    int i, j;

    /* Edges grouped by caller (a counting sort, stable). */
    for (i = 0; i < edges->nelts; i++) {
        first[e[i].from + 1]++;
    }
    for (i = 0; i < nf; i++) {
        first[i + 1] += first[i];
    }
    for (i = 0; i < edges->nelts; i++) {
        order[first[e[i].from]++] = i;
    }
    for (i = nf; i > 0; i--) {
        first[i] = first[i - 1];
    }
    first[0] = 0;

    rp_out_printf(c->out, "# callgrind format\nversion: 1\n"
                  "creator: mod_reqprof %s\n",
                  c->page && c->page->version ? c->page->version : "");
    rp_out_printf(c->out, "desc: Timer: %s, %d Hz\n",
                  rp_timer_name(timer),
                  m->info ? m->info->settings.frequency : 0);
    rp_out_printf(c->out, "desc: Nanoseconds: %s time the samples stand "
                  "for; calls: samples of the call, not a call count\n",
                  timer == RP_TIMER_REAL ? "wall" : "CPU");
    if (m->focus) {
        rp_out_puts(c->out, "desc: Focus: uri=");
        rp_out_escaped(c->out, RP_ESCAPE_TEXT, m->focus);
        rp_out_write(c->out, "\n", 1);
    }
    if (c->o && c->o->seconds > 0) {
        rp_out_printf(c->out, "desc: Delta: the last %d s\n",
                      c->o->seconds);
    }
    rp_out_printf(c->out, "positions: line\nevents: Samples Nanoseconds\n"
                  "summary: %" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT "\n",
                  m->samples, m->weight_ns);

    for (i = 0; i < nf; i++) {
        const rp_func_t *f = rp_model_func(m, (apr_uint32_t)i);
        const char *ob = f->object;
        if (!f->self_count && !f->self_ns && first[i] == first[i + 1]
            && !f->cum_count) {
            continue;                   /* no cost at all (a diff) */
        }
        rp_out_write(c->out, "\n", 1);
        put_compressed(c, &obs, "ob", ob);
        put_compressed(c, &fls, "fl", file_of(f));
        put_fn(c, written, "fn", (apr_uint32_t)i);
        if (f->self_count || f->self_ns) {
            rp_out_printf(c->out, "%d %" APR_UINT64_T_FMT " %"
                          APR_UINT64_T_FMT "\n", f->line, f->self_count,
                          f->self_ns);
        }
        for (j = first[i]; j < first[i + 1]; j++) {
            const rp_call_t *x = &e[order[j]];
            const rp_func_t *g = rp_model_func(m, x->to);
            if ((!x->count && !x->ns) || x->to == (apr_uint32_t)i) {
                continue;               /* see the top of this file */
            }
            if (strcmp(g->object, ob) != 0) {
                put_compressed(c, &obs, "cob", g->object);
            }
            put_compressed(c, &fls, "cfi", file_of(g));
            put_fn(c, written, "cfn", x->to);
            rp_out_printf(c->out, "calls=%" APR_UINT64_T_FMT " %d\n%d %"
                          APR_UINT64_T_FMT " %" APR_UINT64_T_FMT "\n",
                          x->count ? x->count : 1, g->line, f->line,
                          x->count, x->ns);
        }
    }
    rp_out_printf(c->out, "\ntotals: %" APR_UINT64_T_FMT " %"
                  APR_UINT64_T_FMT "\n", m->samples, m->weight_ns);
}
