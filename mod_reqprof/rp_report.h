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

/* clang-format off */
typedef enum {
    RP_VIEW_OVERVIEW = 0,       /* status, accounting, per-child table */
    RP_VIEW_FUNCTIONS,          /* pstats print_stats */
    RP_VIEW_CALLERS,            /* print_callers of ?func= */
    RP_VIEW_CALLEES,            /* print_callees of ?func= */
    RP_VIEW_TREE,               /* call tree, pruned by ?min= percent */
    RP_VIEW_FLAME,              /* flame graph (icicle with ?icicle=1) */
    RP_VIEW_REQUESTS,           /* kept requests, URIs, recent ones */
    RP_VIEW_REQUEST,            /* one kept request (?id=) */
    RP_VIEW_EXPLAIN,            /* filter decision for ?explain= */
    RP_VIEW_NOW,                /* the requests in flight, their stacks */
    RP_VIEW_COUNT
} rp_view_e;
/* clang-format on */

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
    /* One kept request: ?id= of view=request, ?req= of any other view or
     * export; the model is that request's alone.  NULL: every request. */
    const char *req;
    /* The list of kept requests (view=requests): ?uri_match=, a regex
     * the path must match (its source, and compiled as an rp_filter_t of
     * one include rule), or NULL; */
    const char *uri_match;
    const void *uri_re;
    /* ?status=5xx or 404: the statuses shown, 0 0: any; */
    int status_lo, status_hi;
    /* ?min_ms=: the least wall time shown, 0: any; */
    double min_ms;
    /* ?order=: a column's key, '-' before it reverses; NULL: newest
     * first. */
    const char *order;
} rp_view_opts_t;

/* The answer of the explain view. */
typedef struct {
    const char *given;          /* the path as asked */
    const char *path;           /* as the filters see it */
    int bad_escape;             /* it has a bad %-escape */
    rp_explain_t e;
    int n_include;
} rp_explain_view_t;

/* Views rendered from page facts, not from the profile's model. */
#define RP_VIEW_NO_MODEL(v) ((v) == RP_VIEW_EXPLAIN || (v) == RP_VIEW_NOW)

/* A frame of a request in flight, symbolized. */
typedef struct {
    const char *function;
    const char *file; /* NULL: no line information */
    int line;
    const char *object; /* its object's path, NULL: none found */
} rp_now_frame_t;

/* A request in flight (view=now). */
typedef struct {
    int pid, tid;
    const char *method, *uri, *vhost, *id;
    const char *client; /* NULL: not shown (ExtendedStatus Off) */
    double elapsed_ms;
    const char *state;   /* "starting" (not looked at yet: under
                                 * 200 ms), "running", "blocked",
                                 * "unknown" */
    const char *syscall; /* blocked: the system call's name, or
                                 * "syscall N"; NULL */
    double look_ms;      /* age of the look, -1: none */
    double sample_ms;    /* running: its sample's age at the look,
                                 * -1: no sample */
    int truncated;
    int depth;
    const rp_now_frame_t *frames; /* innermost first */
} rp_now_entry_t;

typedef struct {
    const rp_now_entry_t *e; /* oldest first */
    int n;
    int children; /* children with a request in flight */
} rp_now_view_t;

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
    const rp_now_view_t *now;           /* for RP_VIEW_NOW */
} rp_page_t;

typedef struct {
    const rp_model_t *m;        /* NULL for the explain view */
    /* view=request: the merged profile of the request's URI, what is
     * typical of it (the comparison's base); else NULL. */
    const rp_model_t *base;
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

/* view=now in each page format (rp_report_now.c); the JSON one writes
 * the members after the opening brace. */
void rp_report_now_html(const rp_render_t *c);
void rp_report_now_text(const rp_render_t *c);
void rp_report_now_json(const rp_render_t *c);

/* The flame graph as an <svg> element, for the html view (EMBEDDED: no
 * XML prolog, script nonce from page->csp_nonce) and for format=svg. */
void rp_report_flame_svg(const rp_render_t *c, int embedded);

/* The differential flame graph of the request view, embedded, id
 * "diff-flame": frames as wide as in c->m (the request), coloured by
 * D (rp_report_diff, indexed by c->m's nodes): red where a frame has
 * more of the samples than in c->base, blue where less. */
typedef struct rp_diff_s rp_diff_t;
void rp_report_flame_diff_svg(const rp_render_t *c, const rp_diff_t *d);

/* ESC (text escaped for HTML) as a frame WIDTH px wide shows it, into
 * OUT: whole, or clipped with "..", or nothing, as the flame graph and
 * its script clip names (12 px Verdana). */
void rp_report_flame_label(rp_out_t *out, const char *esc, double width);

/* The timeline of c->m->request as an embedded <svg> (id "timeline"):
 * its wall time left to right, a lane of its spans on CPU or blocked,
 * and below it the stacks of its spans in time order, a frame merged
 * with its neighbour where both are the same call (rp_report_timeline.c).
 * Nothing when the model is of no request. */
void rp_report_timeline_svg(const rp_render_t *c);


/* The reason of an explain answer, as one line (from P). */
const char *rp_report_why(apr_pool_t *p, const rp_explain_view_t *x);

/* The view options of C as query pairs (view, sort, limit, fraction,
 * match, uri_match, strip, uri, func, req, id, status, min_ms, order, min,
 * icicle, explain, format, seconds; a NULL value: not set), ended by a
 * NULL key, in KV of RP_REPORT_STATE_MAX.  The request of C goes as id
 * with view=request, as req with any other. */
typedef struct {
    const char *key;
    const char *value;
} rp_kv_t;

#define RP_REPORT_STATE_MAX 24

void rp_report_state(const rp_render_t *c, rp_kv_t *kv);

/* A query string for a link that keeps C's view options but sets
 * KEY=VALUE (VALUE NULL: drop KEY); pairs end with NULL.  A link to an
 * export drops the view (exports take none), and the explain question
 * goes only with the explain view.  The request goes as id with
 * view=request and as req otherwise, whichever of the two was set; so a
 * link from a request's page to another view keeps to that request.
 * Escaped for a URL, not yet for HTML. */
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

/* A new fact pushed on FACTS (of rp_fact_t), its other fields zero: a
 * row when LABEL is set, else more of the row above.  For every builder
 * of facts (the overview's, a kept request's). */
rp_fact_t *rp_report_fact(apr_array_header_t *facts, const char *label,
                          const char *key, const char *before,
                          const char *value, const char *json,
                          const char *after);

/* The overview of C (c->m and c->page) as *N sections: status, totals,
 * store health, children (a table, rows in c->m->regions order) and
 * configuration.  From c->p. */
const rp_fact_section_t *rp_report_overview(const rp_render_t *c, int *n);

/* The children table alone, as in rp_report_overview (the JSON head
 * carries it in every view). */
const rp_fact_section_t *rp_report_children(const rp_render_t *c);

/* ------------------------------------------------------------------ */
/* Kept requests (rp_report_requests.c): what the requests view lists
 * and what the request view shows of one, as data that the html, text
 * and json renderers walk alike, so the three show the same rows in the
 * same order with the same figures. */

/* A column of the list of kept requests: its key (?order=KEY, the
 * html's data-col), head and tooltip; whether it is a figure (aligned
 * right, largest first when sorted by it); its order (ascending); and
 * its cell as people read it (html and text; json has the fields), not
 * escaped. */
typedef struct {
    const char *key;
    const char *head;
    const char *title;
    int numeric;
    int (*cmp)(const rp_kept_t *a, const rp_kept_t *b);
    const char *(*text)(apr_pool_t *p, const rp_kept_t *k);
} rp_kept_col_t;

/* The columns in the order they show, ended by a NULL key. */
extern const rp_kept_col_t rp_report_kept_cols[];

/* The column ORDER names ("-KEY": the same, reversed, *REVERSED set), or
 * NULL when it names none.  ORDER NULL is the default: time, newest
 * first. */
const rp_kept_col_t *rp_report_kept_order(const char *order, int *reversed);

/* The list: every kept request of c->m's regions (a snapshot taken with
 * RP_SNAP_KEPT) of its focus, if any, that passes c->o's filters (uri_re
 * on the path, status, min_ms), sorted by c->o->order, as an array of
 * const rp_kept_t *.
 * *TOTAL (may be NULL) gets how many are kept, before the filters. */
apr_array_header_t *rp_report_kept(const rp_render_t *c, int *total);

/* REASONS (rp_keep_reason_e bits) as words: "recent, slow"; from P. */
const char *rp_report_kept_why(apr_pool_t *p, unsigned reasons);

/* c->m->request as *N sections of facts (rp_fact_section_t): the request
 * (who asked what, its answer, its times and samples, why it was kept)
 * and its headers, a table of name and value (as the store has them:
 * redacted on the request path).  None when the model is of no request.
 * From c->p. */
const rp_fact_section_t *rp_report_request_facts(const rp_render_t *c,
                                                 int *n);

/* Span I of c->m->request as the timeline places it: from its end
 * less its weight (not before 0) to its end, in microseconds from the
 * request's start; its leaf in c->m's tree (or NONE), samples and
 * weight; and whether it was blocked or waiting, not on a CPU: its leaf
 * is a [blocked], [off CPU] or [waiting for CPU] frame, the greys of the
 * flame graph. */
typedef struct {
    apr_int64_t start_us, end_us;
    apr_uint32_t node;
    apr_uint32_t count;
    apr_uint64_t weight_ns;
    int blocked;
} rp_span_view_t;

void rp_report_span(const rp_model_t *m, apr_uint32_t i, rp_span_view_t *out);

/* The time the timeline spans: the request's wall time, or the end of
 * its last span when that is later; at least 1. */
apr_int64_t rp_report_timeline_us(const rp_model_t *m);

/* The comparison of a request with what is typical of its URI: for
 * every node of c->m (the request's tree), its share of the request's
 * samples and the share of the same stack (the same functions from the
 * URI down) in c->base, the merged profile of the URI.  Delta is the
 * first less the second, in percentage points. */
struct rp_diff_s {
    apr_uint32_t n;             /* c->m's nodes */
    const double *share;        /* of the request's samples, percent */
    const double *typical;      /* of the base's (0: not in it), percent */
    apr_uint64_t base_requests; /* requests of the URI in the base */
    apr_uint64_t base_samples;  /* and their samples */
};

/* A frame with this many points more of the samples than typical is
 * "more than typical" (html: class "more"; json: "more": true); with as
 * many less, "less than typical". */
#define RP_DIFF_MARK 5.0

/* The comparison of c, or NULL without c->base or c->m->request.  From
 * c->p. */
const rp_diff_t *rp_report_diff(const rp_render_t *c);

/* The nodes of D with samples on either side (not the root), biggest
 * difference first (ties: more samples first), as apr_uint32_t. */
apr_array_header_t *rp_report_diff_order(const rp_render_t *c,
                                         const rp_diff_t *d);

/* Check ?order= and ?status= values: NULL, or a reason for a 400. */
const char *rp_report_check_order(apr_pool_t *p, const char *v);
const char *rp_report_check_status(apr_pool_t *p, const char *v, int *lo,
                                   int *hi);

#endif /* RP_REPORT_H */
