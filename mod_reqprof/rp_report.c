/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report: the table of formats and views, and links between views
 * (rp_report.h).  The renderers themselves live one per file.
 */

#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"

static const rp_format_t formats[] = {
    /* name        content type                         file     attach,
     *                                                           page, labels */
    { "html",      "text/html; charset=utf-8",          NULL,        0, 1, 0,
      rp_report_html },
    { "text",      "text/plain; charset=utf-8",         NULL,        0, 1, 0,
      rp_report_text },
    { "json",      "application/json; charset=utf-8",   NULL,        0, 1, 0,
      rp_report_json },
    { "svg",       "image/svg+xml; charset=utf-8",      "svg",       0, 0, 0,
      rp_report_svg },
    { "collapsed", "text/plain; charset=utf-8",         "folded",    0, 0, 0,
      rp_report_collapsed },
    { "pprof",     "application/octet-stream",          "pb.gz",     1, 0, 1,
      rp_report_pprof },
    { "callgrind", "text/plain; charset=utf-8",         "callgrind", 0, 0, 0,
      rp_report_callgrind },
    { "dot",       "text/vnd.graphviz; charset=utf-8",  "dot",       0, 0, 0,
      rp_report_dot },
    { NULL, NULL, NULL, 0, 0, 0, NULL }
};

const char *const rp_report_format_names[] = {
    "html", "text", "json", "svg", "collapsed", "pprof", "callgrind", "dot",
    NULL
};

const char *const rp_report_view_names[] = {
    "overview", "functions", "callers", "callees", "tree", "flame",
    "requests", "explain", NULL
};

const rp_format_t *rp_report_format(const char *name)
{
    const rp_format_t *f;

    for (f = formats; f->name; f++) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

const char *rp_report_timer_name(int timer)
{
    static const char *const names[] = { "cpu", "real" };

    return timer >= 0 && timer < 2 ? names[timer] : "?";
}

const char *rp_report_why(apr_pool_t *p, const rp_explain_view_t *x)
{
    static const char *const whys[] = {
        /* RP_WHY_NO_RULES */
        "profiled: no exclude pattern matches and there is no include list",
        /* RP_WHY_EXCLUDED */
        "not profiled: an exclude pattern matches (exclude wins)",
        /* RP_WHY_INCLUDED */
        "profiled: an include pattern matches and no exclude pattern does",
        /* RP_WHY_NOT_INCLUDED */
        NULL
    };

    if (x->e.why == RP_WHY_NOT_INCLUDED) {
        return apr_psprintf(p, "not profiled: none of the %d include "
                            "patterns matches", x->n_include);
    }
    return x->e.why <= RP_WHY_INCLUDED ? whys[x->e.why] : "?";
}

/* ------------------------------------------------------------------ */
/* Links that keep the view options */

void rp_report_state(const rp_render_t *c, rp_kv_t *kv)
{
    const rp_view_opts_t *o = c->o;
    const rp_explain_view_t *x = c->page ? c->page->explain : NULL;
    const rp_kv_t state[] = {
        { "view",     rp_report_view_names[o->view] },
        { "sort",     o->select.sort },
        /* Always: without it the handler applies ReqProfLimit. */
        { "limit",    apr_itoa(c->p, o->select.limit) },
        { "fraction", o->select.fraction > 0
                      ? apr_psprintf(c->p, "%g", o->select.fraction) : NULL },
        { "match",    o->match && *o->match ? o->match : NULL },
        { "strip",    o->strip_dirs ? "1" : "0" },
        { "uri",      o->focus },
        { "func",     o->func },
        { "min",      o->min_pct > 0
                      ? apr_psprintf(c->p, "%g", o->min_pct) : NULL },
        { "icicle",   o->icicle ? "1" : NULL },
        { "explain",  o->view == RP_VIEW_EXPLAIN && x ? x->given : NULL },
        { "format",   NULL },
        { "seconds",  NULL },
        { NULL, NULL }
    };

    memcpy(kv, state, sizeof(state));
}

static rp_kv_t *kv_get(rp_kv_t *kv, const char *key)
{
    while (kv->key && strcmp(kv->key, key) != 0) {
        kv++;
    }
    return kv;      /* the terminator when KEY is not there */
}

const char *rp_report_link(const rp_render_t *c, ...)
{
    rp_kv_t kv[RP_REPORT_STATE_MAX];
    const rp_format_t *fmt;
    const char *key, *out = "";
    va_list ap;
    int i;

    rp_report_state(c, kv);
    va_start(ap, c);
    while ((key = va_arg(ap, const char *)) != NULL) {
        rp_kv_t *k = kv_get(kv, key);
        const char *value = va_arg(ap, const char *);
        if (k->key) {
            k->value = value;
        }
    }
    va_end(ap);
    fmt = rp_report_format(kv_get(kv, "format")->value
                           ? kv_get(kv, "format")->value : "html");
    if (fmt && !fmt->page) {
        kv_get(kv, "view")->value = NULL;
    }
    /* The explain question goes only with the explain view. */
    if (!kv_get(kv, "view")->value
        || strcmp(kv_get(kv, "view")->value, "explain") != 0) {
        kv_get(kv, "explain")->value = NULL;
    }
    for (i = 0; kv[i].key; i++) {
        if (kv[i].value) {
            out = apr_pstrcat(c->p, out, *out ? "&" : "?", kv[i].key, "=",
                              rp_escape_url(c->p, kv[i].value), NULL);
        }
    }
    return out;
}
