/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report: the renderers of the page and of every export, chosen from a
 * table {name, content type, render}.  One snapshot makes one model
 * (rp_model); every renderer reads it, and the page facts below, through
 * const pointers and writes to an rp_out_t sink; none of them changes
 * state or sees a request_rec, so each can be checked against golden files
 * and timed without a server.
 *
 * Views (?view=) are what the page shows; formats (?format=) how.  The
 * page formats (html, text, json) render every view; the exports (svg,
 * collapsed, pprof, callgrind, dot, speedscope) render the profile as a
 * whole and ignore the view.  Not for signal context.
 */

#ifndef RP_REPORT_H
#define RP_REPORT_H

#include "rp_filter.h"
#include "rp_model.h"
#include "rp_out.h"

typedef enum {
    RP_VIEW_OVERVIEW = 0,       /* status, accounting, per-child table */
    RP_VIEW_FUNCTIONS,          /* pstats print_stats */
    RP_VIEW_CALLERS,            /* print_callers of ?func= */
    RP_VIEW_CALLEES,            /* print_callees of ?func= */
    RP_VIEW_TREE,               /* call tree, pruned by ?min= percent */
    RP_VIEW_FLAME,              /* flame graph (icicle with ?icicle=1) */
    RP_VIEW_REQUESTS,           /* per-URI table and recent requests */
    RP_VIEW_EXPLAIN,            /* filter decision for ?explain= */
    RP_VIEW_COUNT
} rp_view_e;

/* View names in rp_view_e order, NULL-terminated (for the query table). */
extern const char *const rp_report_view_names[];
/* Format names in table order, NULL-terminated. */

/* What the query asked for; all validated before rendering. */
typedef struct {
    rp_view_e view;
    rp_select_t select;         /* sort, name regex, fraction, limit */
    const char *match;          /* the regex source of select.match, or NULL */
    int strip_dirs;
    const char *focus;          /* ?uri=: profile of this URI only, or NULL */
    const char *func;           /* ?func=: callers/callees of this name */
    double min_pct;             /* ?min=: tree and flame prune, percent */
    int icicle;                 /* ?icicle=1: flame graph top-down */
    int seconds;                /* ?seconds=N: the model is the difference
                                 * over N seconds (exports), 0: cumulative */
} rp_view_opts_t;

/* The answer of the explain view. */
typedef struct {
    const char *given;          /* the path as asked */
    const char *path;           /* as the filters see it */
    int bad_escape;             /* it has a bad %-escape */
    rp_explain_t e;
    int n_include;
} rp_explain_view_t;

/* Facts of the page that are not in the model. */
typedef struct {
    const char *self;           /* the page's path (for links and forms) */
    const char *nonce;          /* CSRF nonce for the control forms */
    const char *csp_nonce;      /* nonce of the page's inline style/script */
    const char *version;        /* RP_VERSION */
    const char *host;           /* "name:port" */
    const char *notice;         /* a one-line message to show, or NULL */
    /* configuration (the live settings are in the model's info) */
    int configured_enabled;
    int configured_timer;
    int configured_frequency;
    const char *default_sort;   /* ReqProfSort, ReqProfStripDirs, */
    int default_strip;          /* ReqProfLimit */
    int default_limit;
    int max_depth;
    const char *signame;
    int signo;
    apr_int64_t memory;
    const rp_filter_t *filter;  /* this host's include/exclude lists */
    /* this child */
    int slot;
    const char *sampler_off;    /* why this child cannot sample, or NULL */
    apr_uint32_t limit_hits;    /* filter match-limit hits, this child */
    const rp_explain_view_t *explain;   /* for RP_VIEW_EXPLAIN */
} rp_page_t;

typedef struct {
    const rp_model_t *m;        /* NULL for the explain view */
    const rp_view_opts_t *o;
    const rp_page_t *page;
    rp_out_t *out;
    apr_pool_t *p;              /* scratch */
} rp_render_t;

/* The formats; rp_render binds each to its renderer. */
typedef enum {
    RP_FORMAT_HTML = 0,
    RP_FORMAT_TEXT,
    RP_FORMAT_JSON,
    RP_FORMAT_SVG,
    RP_FORMAT_COLLAPSED,
    RP_FORMAT_PPROF,
    RP_FORMAT_CALLGRIND,
    RP_FORMAT_DOT,
    RP_FORMAT_SPEEDSCOPE,
    RP_FORMATS
} rp_format_e;

typedef struct {
    const char *name;           /* ?format= (first: the table is its own
                                 * list of names, see rp_query's stride) */
    rp_format_e id;
    const char *content_type;
    const char *extension;      /* of the file name given; NULL: none */
    int attachment;             /* 1: a download, not shown inline */
    int page;                   /* 1: renders views; 0: an export */
    int labels;                 /* 1: wants URI nodes per request label */
} rp_format_t;

/* Every format, ended by a NULL name; indexed by rp_format_e. */
extern const rp_format_t rp_report_formats[];

/* The format named NAME, or NULL. */
const rp_format_t *rp_report_format(const char *name);

/* Render C in format F (rp_render.c: the one file that calls every
 * renderer, so that none of them is called back by what it calls). */
void rp_report_render(const rp_format_t *f, const rp_render_t *c);

/* The renderers, one file each (rp_report_<name>.c). */
void rp_report_html(const rp_render_t *c);
void rp_report_text(const rp_render_t *c);
void rp_report_json(const rp_render_t *c);
void rp_report_svg(const rp_render_t *c);
void rp_report_collapsed(const rp_render_t *c);
void rp_report_pprof(const rp_render_t *c);
void rp_report_callgrind(const rp_render_t *c);
void rp_report_dot(const rp_render_t *c);
void rp_report_speedscope(const rp_render_t *c);

/* The flame graph as an <svg> element, for the html view (EMBEDDED: no
 * XML prolog, script nonce from page->csp_nonce) and for format=svg. */
void rp_report_flame_svg(const rp_render_t *c, int embedded);


/* The reason of an explain answer, as one line (from P). */
const char *rp_report_why(apr_pool_t *p, const rp_explain_view_t *x);

/* The view options of C as query pairs (view, sort, limit, fraction,
 * match, strip, uri, func, min, icicle, explain, format, seconds; a NULL
 * value: not set), ended by a NULL key, in KV of RP_REPORT_STATE_MAX. */
typedef struct {
    const char *key;
    const char *value;
} rp_kv_t;

#define RP_REPORT_STATE_MAX 16

void rp_report_state(const rp_render_t *c, rp_kv_t *kv);

/* A query string for a link that keeps C's view options but sets
 * KEY=VALUE (VALUE NULL: drop KEY); pairs end with NULL.  A link to an
 * export drops the view (exports take none), and the explain question
 * goes only with the explain view.  Escaped for a URL, not yet for
 * HTML. */
const char *rp_report_link(const rp_render_t *c, ...);

/* ------------------------------------------------------------------ */
/* The overview: its facts built once, as mod_md's status builds its
 * table of {label, key, value}, and rendered three ways.  People read a
 * fact's label and value (html, text), scripts its key and value (json);
 * a value is formatted once, so all three show the same figure. */

typedef enum {
    RP_FACT_VALUE = 0,          /* one value */
    RP_FACT_FILL,               /* a table's use: N of MAX; in JSON the
                                 * members KEY and KEY_max */
    RP_FACT_RULES,              /* page->filter's rules of kind RULES: in
                                 * JSON [{"pattern", "where"}] */
    RP_FACT_KINDS
} rp_fact_kind_e;

typedef struct {
    const char *label;          /* for people: the row's (html <th>, the
                                 * text's first column) or the column's;
                                 * NULL: more of the row above */
    const char *key;            /* for scripts: the JSON member, unique in
                                 * its section */
    rp_fact_kind_e kind;
    const char *value;          /* as people read it, not escaped; NULL:
                                 * none (nothing shown, JSON null) */
    const char *json;           /* the value as a JSON literal (number,
                                 * true, false, null); NULL: VALUE as a
                                 * JSON string */
    const char *before;         /* words around the value for people, not */
    const char *after;          /* escaped; shown only with a value */
    apr_uint64_t n, max;        /* RP_FACT_FILL */
    rp_rule_kind_e rules;       /* RP_FACT_RULES */
    const char *cls;            /* html: class of the value ("ok", "bad") */
    const char *id;             /* html: id of the row's value cell (on a
                                 * row's first fact), or NULL */
    int width;                  /* in a table: a figure right-aligned in
                                 * this many text columns; 0: words */
} rp_fact_t;

/* A heading and its facts: rows of a label and values, or (ncols > 0) a
 * table whose first row names the columns (its values mean nothing),
 * then one row per item, ncols facts each, one fact a column.  A list of
 * rules is a row of its own. */
typedef struct {
    const char *key;            /* its JSON member, its html table's id */
    const char *title;          /* its heading */
    const char *note;           /* a line under the heading, or NULL */
    const char *empty;          /* what a table without rows says */
    const rp_fact_t *facts;
    int nfacts;
    int ncols;                  /* 0: rows of label and values */
} rp_fact_section_t;

/* The overview of C (c->m and c->page) as *N sections: status, totals,
 * store health, children (a table, rows in c->m->regions order) and
 * configuration.  From c->p. */
const rp_fact_section_t *rp_report_overview(const rp_render_t *c, int *n);

/* The children table alone, as in rp_report_overview (the JSON head
 * carries it in every view). */
const rp_fact_section_t *rp_report_children(const rp_render_t *c);

#endif /* RP_REPORT_H */
