/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * bench_render: how long the page takes to render a big profile.
 *
 * Builds a synthetic model of about 10,000 functions and 100,000 call-tree
 * nodes (a random tree up to 48 deep, deterministic seed), then times every view of the
 * page formats and every export into a memory sink, the way the handler
 * calls them (model already built: the handler builds it once per answer,
 * and its cost is timed on its own line).  Prints the median of several
 * runs per line and whether it meets its budget: functions view < 100 ms,
 * every export < 1 s.  Run by `make -f apxs.mk bench`; built with -O2, no
 * sanitizers.  Exit status 1 when a budget is missed.
 *
 * With --memory (`make -f apxs.mk bench-memory`) it renders every view of
 * every page format and every export of the same profile once, into a
 * sink that counts bytes and keeps none, from a pool of its own allocator,
 * and prints for each answer its time, its size and the heap the render
 * left in use when it ended: the pool's growth, since the pool frees
 * nothing before it is destroyed, so that is its peak.  The output is not
 * in that figure (the sink keeps nothing), so it is what the answer costs
 * beyond streaming its bytes.  A few answers with a hostile or a plain
 * match= regex are measured too.  Exit status 1 when an answer needs more
 * than MEM_BUDGET.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "rp_report.h"

#include "unit/unit_heap.h"

#define NFUNCS   10000
#define NNODES   100000
#define RUNS     5
/* What an answer may need beyond its output (--memory). */
#define MEM_BUDGET  (4.0 * 1024 * 1024)

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* A random call tree: node i hangs below a recent node (so the tree is
 * deep as well as wide), calls one of NFUNCS functions spread over a few
 * objects, and has a few self samples. */
static const char **make_lines(apr_pool_t *p, int *n)
{
    int *parent = malloc(sizeof(int) * NNODES);
    int *func = malloc(sizeof(int) * NNODES);
    int *depth = malloc(sizeof(int) * NNODES);
    const char **lines = apr_palloc(p, sizeof(*lines) * NNODES);
    const char **path = malloc(sizeof(char *) * NNODES);
    char **names = apr_palloc(p, sizeof(*names) * NFUNCS);
    int i;

    srand(42);
    for (i = 0; i < NFUNCS; i++) {
        names[i] = apr_psprintf(p, "function_%05d_with_a_long_name@"
                                "/usr/lib/x86_64-linux-gnu/libobject%d.so",
                                i, i % 17);
    }
    for (i = 0; i < NNODES; i++) {
        parent[i] = i < 4 ? -1 : i - 1 - rand() % (i < 64 ? i : 64);
        /* Stacks of up to 48 frames; deeper ones start again at the top. */
        if (parent[i] >= 0 && depth[parent[i]] >= 48) {
            parent[i] = -1;
        }
        depth[i] = parent[i] < 0 ? 1 : depth[parent[i]] + 1;
        func[i] = rand() % NFUNCS;
    }
    for (i = 0; i < NNODES; i++) {
        int d = 0, k, len = 0;
        char *s;
        for (k = i; k >= 0; k = parent[k]) {
            path[d++] = names[func[k]];
        }
        for (k = 0; k < d; k++) {
            len += (int)strlen(path[k]) + 1;
        }
        s = apr_palloc(p, (apr_size_t)len + 32);
        /* The URI of the stack's outermost frame, so that stacks sharing
         * a prefix share its nodes. */
        for (k = i; parent[k] >= 0; k = parent[k]) {
        }
        len = sprintf(s, "/uri/%d", k % 4);
        for (k = d - 1; k >= 0; k--) {
            len += sprintf(s + len, ";%s", path[k]);
        }
        sprintf(s + len, " %d", 1 + rand() % 5);
        lines[i] = s;
    }
    free(parent);
    free(func);
    free(depth);
    free(path);
    *n = NNODES;
    return lines;
}

typedef struct {
    const char *title;
    const char *format;
    rp_view_e view;
    int limit;
    double budget_ms;           /* 0: none */
} job_t;

/* clang-format off */
static const job_t jobs[] = {
    { "html functions, 100 rows",   "html", RP_VIEW_FUNCTIONS, 100, 100 },
    { "html functions, all rows",   "html", RP_VIEW_FUNCTIONS, 0,   100 },
    { "text functions, all rows",   "text", RP_VIEW_FUNCTIONS, 0,   100 },
    { "json functions + stacks",    "json", RP_VIEW_FUNCTIONS, 0,   0 },
    { "html overview",              "html", RP_VIEW_OVERVIEW,  100, 0 },
    { "html callers",               "html", RP_VIEW_CALLERS,   100, 0 },
    { "html call tree, every node", "html", RP_VIEW_TREE,      100, 0 },
    { "html flame graph",           "html", RP_VIEW_FLAME,     100, 0 },
    { "svg",                        "svg",  RP_VIEW_FLAME,     0, 1000 },
    { "collapsed",                  "collapsed", RP_VIEW_OVERVIEW, 0, 1000 },
    { "pprof",                      "pprof", RP_VIEW_OVERVIEW, 0, 1000 },
    { "callgrind",                  "callgrind", RP_VIEW_OVERVIEW, 0, 1000 },
    { "dot",                        "dot",  RP_VIEW_OVERVIEW,  0, 1000 },
    { "speedscope",                 "speedscope", RP_VIEW_OVERVIEW, 0, 1000 },
    { NULL }
};
/* clang-format on */

static int always_alive(apr_int32_t pid)
{
    (void)pid;
    return 1;
}

/* The page's own cost before rendering: snapshot the shared store and
 * build the model, symbolizing real code.  Four child slots each hold
 * random stacks of up to 40 frames at random offsets in libc's text (so
 * libdw names real functions), about 100,000 nodes in all. */
static void bench_snapshot(apr_pool_t *pool)
{
    const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
    apr_size_t region = (apr_size_t)64 * 1024 * 1024;
    int nslots = 4, slot, i, k, r;
    apr_size_t size = rp_store_segment_size(nslots, region);
    void *base = malloc(size);
    rp_store_t *st;
    rp_frame_t frames[40];
    rp_sample_view_t sv;
    rp_request_info_t info;
    rp_drop_counts_t drops;
    apr_uint64_t pcs[400];
    double times[RUNS], t0;
    int nodes = 0;
    rp_symbols_t *syms = rp_symbols_create(pool);

    if (!base || rp_store_format(base, size, nslots, region) != APR_SUCCESS) {
        printf("snapshot bench: no memory\n");
        return;
    }
    st = rp_store_attach(pool, base, size);
    srand(7);
    for (i = 0; i < 400; i++) {
        /* libc's text lies roughly in its first 1.5 MB */
        pcs[i] = 0x28000 + (apr_uint64_t)(rand() % 0x150000);
    }
    memset(&drops, 0, sizeof(drops));
    memset(&info, 0, sizeof(info));
    info.method = "GET";
    info.status = 200;
    for (slot = 0; slot < nslots; slot++) {
        apr_uint32_t obj;
        rp_store_claim(st, 1000 + slot, always_alive);
        obj = rp_store_object(st, slot, libc, "");
        for (r = 0; r < 2500; r++) {
            int depth = 10 + rand() % 30;
            info.uri = apr_psprintf(pool, "/uri/%d", r % 8);
            info.time = apr_time_now();
            for (k = 0; k < depth; k++) {
                frames[k].kind = RP_FRAME_REAL;
                frames[k].object = obj;
                frames[k].rel = pcs[(k * 37 + (k > depth - 12 ? rand() : 0))
                                    % 400];
            }
            sv.frames = frames;
            sv.offcpu = 0;
            sv.depth = depth;
            sv.truncated = 0;
            sv.weight_ns = 10101010;
            drops.ticks = 1;
            rp_store_add_request(st, slot, &info, &sv, 1, &drops);
        }
    }
    /* The first build loads libc's debug information: time it apart. */
    t0 = now_ms();
    nodes = rp_model_build(pool, rp_store_snapshot(st, pool), syms, NULL,
                           0)->nodes->nelts;
    printf("\npage before rendering: snapshot of %d slots + model "
           "(%d merged nodes)\n  first, loading symbols: %.1f ms\n",
           nslots, nodes, now_ms() - t0);
    for (r = 0; r < RUNS; r++) {
        apr_pool_t *p;
        apr_pool_create(&p, pool);
        t0 = now_ms();
        rp_model_build(p, rp_store_snapshot(st, p), syms, NULL, 0);
        times[r] = now_ms() - t0;
        apr_pool_destroy(p);
    }
    qsort(times, RUNS, sizeof(double), cmp_double);
    printf("  then, median of %d: %.1f ms (max %.1f)\n", RUNS,
           times[RUNS / 2], times[RUNS - 1]);
    free(base);
}

/* ------------------------------------------------------------------ */
/* --memory: the heap each answer needs beyond its output */

static void count_write(rp_out_t *o, const char *s, apr_size_t n)
{
    (void)s;
    o->len += n;
}

typedef struct {
    const char *format;
    rp_view_e view;
    const char *match;          /* a match= regex, or NULL */
    int limit;
} mem_job_t;

static const mem_job_t mem_extra[] = {
    { "json", RP_VIEW_FUNCTIONS, NULL, 100 },
    { "html", RP_VIEW_FUNCTIONS, "^(\\w+)+_$", 0 },
    { "text", RP_VIEW_FUNCTIONS, "^(\\w+)+_$", 100 },
    { "html", RP_VIEW_FUNCTIONS, "^function_0004", 0 },
    { "html", RP_VIEW_FUNCTIONS, "_name$", 100 },
    { NULL }
};

/* One answer from a fresh allocator; prints it and returns its heap. */
static double mem_one(const rp_model_t *m, const rp_page_t *page,
                      const mem_job_t *j)
{
    const rp_format_t *fmt = rp_report_format(j->format);
    apr_allocator_t *alloc;
    apr_pool_t *p;
    rp_view_opts_t o;
    rp_render_t c;
    rp_out_t out;
    double before, used, t0, ms;
    const char *what;

    /* A fresh allocator has no free blocks to hand out: every block the
     * pool takes shows (unit_heap.h). */
    apr_allocator_create(&alloc);
    apr_pool_create_ex(&p, NULL, NULL, alloc);
    apr_allocator_owner_set(alloc, p);
    memset(&o, 0, sizeof(o));
    o.view = j->view;
    o.select.sort = "self";
    o.select.limit = j->limit;
    o.func = "function_00042_with_a_long_name";
    if (j->match) {
        rp_filter_t *f = rp_filter_create(p);
        rp_filter_add(f, p, RP_RULE_INCLUDE, j->match, "match");
        o.select.match = f;
        o.match = j->match;
    }
    /* After the regex is compiled: PCRE2's JIT maps its code too. */
    before = unit_heap_in_use();
    memset(&out, 0, sizeof(out));
    out.pool = p;
    out.write = count_write;
    c.m = m;
    c.o = &o;
    c.page = page;
    c.out = &out;
    c.p = p;
    t0 = now_ms();
    rp_report_render(fmt, &c);
    ms = now_ms() - t0;
    used = unit_heap_in_use() - before;
    what = fmt->page ? apr_psprintf(p, "%s %s%s%s%s", j->format,
                                    rp_report_view_names[j->view],
                                    j->limit ? apr_psprintf(p, " limit=%d",
                                                            j->limit) : "",
                                    j->match ? " match=" : "",
                                    j->match ? j->match : "")
                     : j->format;
    printf("%-44s %9.1f %12lu %10.2f  %s\n", what, ms,
           (unsigned long)out.len, used / 1048576.0,
           used <= MEM_BUDGET ? "ok" : "OVER");
    apr_pool_destroy(p);
    return used;
}

static int bench_memory(const rp_model_t *m, const rp_page_t *page)
{
    static const char *const pages[] = { "html", "text", "json", NULL };
    static const char *const exports[] = {
        "svg", "collapsed", "pprof", "callgrind", "dot", "speedscope", NULL,
    };
    mem_job_t j;
    double worst = 0, used;
    int i, v, over = 0;

    printf("%-44s %9s %12s %10s\n", "answer", "ms", "bytes out",
           "heap MB");
    memset(&j, 0, sizeof(j));
    for (i = 0; pages[i]; i++) {
        for (v = 0; v < RP_VIEW_COUNT; v++) {
            if (v == RP_VIEW_EXPLAIN) {
                continue;       /* no model: nothing to measure */
            }
            j.format = pages[i];
            j.view = (rp_view_e)v;
            used = mem_one(m, page, &j);
            over |= used > MEM_BUDGET;
            worst = used > worst ? used : worst;
        }
    }
    j.view = RP_VIEW_OVERVIEW;
    for (i = 0; exports[i]; i++) {
        j.format = exports[i];
        used = mem_one(m, page, &j);
        over |= used > MEM_BUDGET;
        worst = used > worst ? used : worst;
    }
    for (i = 0; mem_extra[i].format; i++) {
        used = mem_one(m, page, &mem_extra[i]);
        over |= used > MEM_BUDGET;
        worst = used > worst ? used : worst;
    }
    printf("\nmost heap for one answer: %.2f MB (budget %.0f MB): %s\n",
           worst / 1048576.0, MEM_BUDGET / 1048576.0,
           over ? "MISSED" : "met");
    return over;
}

int main(int argc, char **argv)
{
    apr_pool_t *pool, *p;
    rp_model_t *m;
    const char **lines;
    rp_page_t page;
    rp_view_opts_t o;
    rp_render_t c;
    rp_out_t out;
    double t0, build_ms, times[RUNS];
    int n, i, r, missed = 0;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    lines = make_lines(pool, &n);
    t0 = now_ms();
    m = rp_model_from_folded(pool, lines, n, 10101010);
    build_ms = now_ms() - t0;
    printf("synthetic profile: %d functions, %d call-tree nodes, %"
           APR_UINT64_T_FMT " samples (model built in %.0f ms)\n\n",
           m->funcs->nelts, m->nodes->nelts, m->samples, build_ms);
    memset(&page, 0, sizeof(page));
    page.self = "/reqprof";
    page.nonce = "0123456789abcdef0123456789abcdef01234567";
    page.csp_nonce = "bench";
    page.version = "bench";
    page.host = "bench:80";
    page.signame = "SIGRTMIN+4";
    page.default_sort = "self";
    if (argc > 1 && strcmp(argv[1], "--memory") == 0) {
        missed = bench_memory(m, &page);
        apr_pool_destroy(pool);
        apr_terminate();
        return missed;
    }
    printf("%-28s %10s %10s %12s  %s\n", "render", "median ms", "max ms",
           "bytes", "budget");
    for (i = 0; jobs[i].title; i++) {
        const rp_format_t *fmt = rp_report_format(jobs[i].format);
        apr_size_t bytes = 0;
        for (r = 0; r < RUNS; r++) {
            apr_pool_create(&p, pool);
            memset(&o, 0, sizeof(o));
            o.view = jobs[i].view;
            o.select.sort = "self";
            o.select.limit = jobs[i].limit;
            o.func = "function_00042_with_a_long_name";
            c.m = m;
            c.o = &o;
            c.page = &page;
            c.p = p;
            rp_out_buffer(&out, p);
            c.out = &out;
            t0 = now_ms();
            rp_report_render(fmt, &c);
            times[r] = now_ms() - t0;
            bytes = out.len;
            apr_pool_destroy(p);
        }
        qsort(times, RUNS, sizeof(double), cmp_double);
        printf("%-28s %10.1f %10.1f %12lu  %s\n", jobs[i].title,
               times[RUNS / 2], times[RUNS - 1], (unsigned long)bytes,
               !jobs[i].budget_ms ? "-"
               : times[RUNS / 2] < jobs[i].budget_ms
               ? apr_psprintf(pool, "< %.0f ms: met", jobs[i].budget_ms)
               : apr_psprintf(pool, "< %.0f ms: MISSED", jobs[i].budget_ms));
        if (jobs[i].budget_ms && times[RUNS / 2] >= jobs[i].budget_ms) {
            missed = 1;
        }
    }
    bench_snapshot(pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return missed;
}
