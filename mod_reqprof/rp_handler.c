/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_handler: the "reqprof" handler.
 *
 * It parses the whole query against one table before doing anything, so a
 * bad parameter gets a 400 with a one-line reason and no other effect.
 * Today it answers two questions in plain text: how is the profiler set up
 * for this host, and would a given path be profiled here, and which rule
 * decided (?explain=/some/path).  Every string that came from a request or
 * the configuration is escaped for the output, and every response says its
 * charset and must not be stored: the page shows implementation details.
 */

#include <string.h>

#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "rp_private.h"
#include "rp_config.h"
#include "rp_escape.h"
#include "rp_filter.h"
#include "rp_handler.h"
#include "rp_query.h"
#include "rp_report.h"
#include "rp_runtime.h"
#include "rp_sort.h"

#define EXPLAIN_MAX 4096

/* ------------------------------------------------------------------ */
/* Query parameters */

typedef struct {
    const char *explain;    /* path to explain, or NULL */
    int format;             /* index in rp_report_format_names */
    const char *sort;       /* a sort key */
    int limit;              /* rows, 0 = all */
    int strip;              /* strip directories */
    const char *uri;        /* focus on this URI, or NULL */
} rp_args_t;

static const char *check_path(apr_pool_t *p, const char *v)
{
    (void)p;
    return v[0] == '/' ? NULL : "a request path must start with '/'";
}

static const char *check_sort(apr_pool_t *p, const char *v)
{
    return rp_sort_key_find(v) ? NULL
           : apr_pstrcat(p, "unknown sort key '",
                         apr_pstrndup(p, v, 40), "'; one of: ",
                         rp_sort_key_names(p), NULL);
}

static const rp_qparam_t params[] = {
    { "explain", RP_Q_STRING, APR_OFFSETOF(rp_args_t, explain),
      0, EXPLAIN_MAX, NULL, check_path },
    { "format", RP_Q_CHOICE, APR_OFFSETOF(rp_args_t, format),
      0, 0, rp_report_format_names, NULL },
    { "sort", RP_Q_STRING, APR_OFFSETOF(rp_args_t, sort),
      0, 32, NULL, check_sort },
    { "limit", RP_Q_INT, APR_OFFSETOF(rp_args_t, limit),
      0, 1000000, NULL, NULL },
    { "strip", RP_Q_FLAG, APR_OFFSETOF(rp_args_t, strip),
      0, 0, NULL, NULL },
    { "uri", RP_Q_STRING, APR_OFFSETOF(rp_args_t, uri),
      0, EXPLAIN_MAX, NULL, check_path },
    { NULL }
};

/* ------------------------------------------------------------------ */
/* Output helpers */

/* Headers every answer carries (mod_status' page leaks as much as ours;
 * unlike it, we keep it out of caches and frames). */
static void set_headers(request_rec *r, const char *content_type)
{
    ap_set_content_type(r, content_type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'; frame-ancestors 'none'");
}

/* A one-line error answer with STATUS. */
static int fail(request_rec *r, int status, const char *reason)
{
    set_headers(r, "text/plain; charset=utf-8");
    r->status = status;
    if (!r->header_only) {
        ap_rprintf(r, "%s\n", rp_escape_text(r->pool, reason));
    }
    return OK;
}

static const char *esc(request_rec *r, const char *s)
{
    return rp_escape_text(r->pool, s ? s : "");
}

/* ------------------------------------------------------------------ */
/* Views */

static void show_rules(request_rec *r, const rp_filter_t *f,
                       rp_rule_kind_e kind)
{
    int i, n = rp_filter_count(f, kind);
    const char *where;

    ap_rprintf(r, "%s%s\n", rp_filter_kind_name(kind),
               n ? "" : "   (none)");
    for (i = 0; i < n; i++) {
        const char *pat = rp_filter_pattern(f, kind, i, &where);
        ap_rprintf(r, "  #%-3d %-40s %s\n", i + 1, esc(r, pat),
                   esc(r, where));
    }
}

static void show_status(request_rec *r, const rp_server_conf_t *conf)
{
    ap_rprintf(r, "mod_reqprof %s\n\n", RP_VERSION);
    ap_rprintf(r, "host             %s:%u\n",
               esc(r, r->server->server_hostname), ap_get_server_port(r));
    ap_rprintf(r, "profiling        %s\n", conf->enabled ? "on" : "off");
    ap_rprintf(r, "timer            %s\n", rp_config_timer_name(conf->timer));
    ap_rprintf(r, "frequency        %d Hz\n", conf->frequency);
    ap_rprintf(r, "max depth        %d frames\n", conf->max_depth);
    ap_rprintf(r, "signal           %s (%d)\n", esc(r, conf->signame),
               conf->signo);
    ap_rprintf(r, "memory           %" APR_INT64_T_FMT " bytes per child\n",
               conf->memory);
    ap_rprintf(r, "page defaults    sort=%s strip_dirs=%s limit=%d\n",
               esc(r, conf->sort), conf->strip_dirs ? "on" : "off",
               conf->limit);
    ap_rputs("\n", r);
    show_rules(r, conf->filter, RP_RULE_INCLUDE);
    show_rules(r, conf->filter, RP_RULE_EXCLUDE);
    ap_rprintf(r, "\nmatch-limit hits %u (this child; counted as no "
               "match)\n", rp_filter_limit_hits());
    ap_rprintf(r, "\nexplain a path:  %s?explain=/some/path\n",
               esc(r, r->uri));
    ap_rprintf(r, "this child       slot %d%s%s\n", rp_runtime_get()->slot,
               rp_runtime_get()->sampler_off ? ", not sampling: " : "",
               rp_runtime_get()->sampler_off
               ? esc(r, rp_runtime_get()->sampler_off) : "");
}

/* Snapshot every child's region, build the model, render it. */
static void show_profile(request_rec *r, const rp_args_t *args,
                         const rp_format_t *fmt)
{
    rp_runtime_t *rt = rp_runtime_get();
    rp_view_opts_t opts;
    rp_snapshot_t *snap;
    rp_model_t *m;

    if (!rt->store) {
        ap_rputs("\nno profile: the shared memory could not be set up (see "
                 "the error log)\n", r);
        return;
    }
    if (!rt->symbols) {
        apr_thread_mutex_lock(rt->lock);
        if (!rt->symbols) {
            rt->symbols = rp_symbols_create(rt->pool);
        }
        apr_thread_mutex_unlock(rt->lock);
    }
    opts.sort = args->sort;
    opts.limit = args->limit;
    opts.strip_dirs = args->strip;
    /* Copy under the seqlocks, then render with no lock held. */
    snap = rp_store_snapshot(rt->store, r->pool);
    m = rp_model_build(r->pool, snap, rt->symbols, args->uri,
                       args->strip);
    fmt->render(r, m, &opts);
}

/* The path as the filters would see it: percent-decoded (a '/' encoded as
 * %2F stays encoded, as httpd's default AllowEncodedSlashes Off rejects
 * it anyway) and with "." and ".." segments resolved. */
static const char *as_uri(request_rec *r, const char *given, int *bad)
{
    char *path = apr_pstrdup(r->pool, given);
    char *q = strchr(path, '?');

    if (q) {
        *q = '\0';
    }
    *bad = (ap_unescape_url_keep2f(path, 1) != OK);
    ap_getparents(path);
    return path;
}

static const char *why_text(request_rec *r, const rp_explain_t *e,
                            int n_include)
{
    switch (e->why) {
    case RP_WHY_NO_RULES:
        return "profiled: no exclude pattern matches and there is no "
               "include list";
    case RP_WHY_EXCLUDED:
        return "not profiled: an exclude pattern matches (exclude wins)";
    case RP_WHY_INCLUDED:
        return "profiled: an include pattern matches and no exclude "
               "pattern does";
    case RP_WHY_NOT_INCLUDED:
        return apr_psprintf(r->pool, "not profiled: none of the %d include "
                            "patterns matches", n_include);
    }
    return "?";
}

static void show_explain(request_rec *r, const rp_server_conf_t *conf,
                         const char *given)
{
    rp_explain_t e;
    int bad;
    const char *path = as_uri(r, given, &bad);

    rp_filter_explain(conf->filter, path, strlen(path), &e);
    ap_rprintf(r, "path             %s\n", esc(r, given));
    ap_rprintf(r, "as matched       %s\n", esc(r, path));
    if (bad) {
        ap_rputs("warning          the path has a bad %-escape; httpd "
                 "would answer it with 400 before any profiling\n", r);
    }
    ap_rprintf(r, "host             %s:%u\n",
               esc(r, r->server->server_hostname), ap_get_server_port(r));
    ap_rprintf(r, "decision         %s\n",
               why_text(r, &e, rp_filter_count(conf->filter,
                                               RP_RULE_INCLUDE)));
    if (e.pattern) {
        ap_rprintf(r, "rule             %s #%d '%s' at %s\n",
                   rp_filter_kind_name(e.kind), e.index + 1,
                   esc(r, e.pattern), esc(r, e.where));
    }
    if (e.limit_hits) {
        ap_rprintf(r, "limit hits       %d pattern(s) hit the match limit "
                   "and counted as no match\n", e.limit_hits);
    }
    if (!conf->enabled) {
        ap_rputs("note             profiling is off (ReqProf Off): nothing "
                 "is profiled until it is switched on\n", r);
    }
}

/* ------------------------------------------------------------------ */
/* Entry */

int rp_handler(request_rec *r)
{
    const rp_server_conf_t *conf;
    rp_args_t args;
    apr_uint32_t seen;
    const rp_format_t *fmt;
    const char *err;

    if (!r->handler || strcmp(r->handler, RP_HANDLER) != 0) {
        return DECLINED;
    }
    ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", NULL);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    conf = rp_config_get(r->server);
    memset(&args, 0, sizeof(args));
    args.sort = conf->sort;
    args.limit = conf->limit;
    args.strip = conf->strip_dirs;
    if ((err = rp_query_parse(r->pool, r->args, params, &args, &seen))) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, RP_LOGNO(1101)
                      "bad query: %s", esc(r, err));
        return fail(r, HTTP_BAD_REQUEST, err);
    }
    fmt = rp_report_format(rp_report_format_names[args.format]);
    if (args.explain && strcmp(fmt->name, "text") != 0) {
        return fail(r, HTTP_BAD_REQUEST, "explain is answered in text only");
    }
    set_headers(r, args.explain ? "text/plain; charset=utf-8"
                                : fmt->content_type);
    if (r->header_only) {
        return OK;
    }
    if (args.explain) {
        show_explain(r, conf, args.explain);
    }
    else if (strcmp(fmt->name, "text") == 0) {
        show_status(r, conf);
        show_profile(r, &args, fmt);
    }
    else {
        show_profile(r, &args, fmt);
    }
    return OK;
}
