/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_control: checked state changes from the page (see rp_control.h).
 *
 * The order of the checks matters: where the request comes from first
 * (a foreign page must learn nothing, not even whether its nonce was
 * right), then the body's form, then the nonce, then the action.  Each
 * refusal is one log line and one line of answer; nothing changes.
 */

#include <arpa/inet.h>
#include <string.h>

#include <apr_sha1.h>
#include <apr_strings.h>
#include <apr_general.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>

#include "rp_private.h"
#include "rp_answer.h"
#include "rp_control.h"
#include "rp_query.h"
#include "rp_store.h"

#define BODY_MAX 8192

/* ------------------------------------------------------------------ */
/* Nonce */

const char *rp_control_nonce(apr_pool_t *p, const rp_control_keys_t *k)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    apr_uint32_t words[2];
    rp_settings_t now;
    apr_sha1_ctx_t ctx;
    char *out;
    int i;

    rp_store_settings_get(k->store, &now);
    words[0] = rp_store_generation(k->store);
    words[1] = now.seq;
    /* secret | state | secret: a keyed hash that needs no HMAC code. */
    apr_sha1_init(&ctx);
    apr_sha1_update_binary(&ctx, k->secret, (unsigned int)k->secret_len);
    apr_sha1_update_binary(&ctx, (const unsigned char *)words,
                           sizeof(words));
    apr_sha1_update_binary(&ctx, k->secret, (unsigned int)k->secret_len);
    apr_sha1_final(digest, &ctx);
    out = apr_palloc(p, 2 * sizeof(digest) + 1);
    for (i = 0; i < (int)sizeof(digest); i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[2 * sizeof(digest)] = '\0';
    return out;
}

/* Compare in time independent of where the strings differ. */
static int same_secret(const char *a, const char *b)
{
    apr_size_t n = strlen(a), i;
    unsigned char d = (unsigned char)(n != strlen(b));

    for (i = 0; i < n && b[i]; i++) {
        d |= (unsigned char)(a[i] ^ b[i]);
    }
    return d == 0 && i == n;
}

/* ------------------------------------------------------------------ */
/* Where the request comes from */

/* NULL when ORIGIN (a header's value) names this host, as the client
 * addressed it; else why not.  IS_REFERER: a URL whose origin part must
 * match, followed by '/', '?' or nothing. */
static const char *foreign(request_rec *r, const char *value, int is_referer)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    const char *self;
    apr_size_t n;

    if (!host) {
        host = apr_psprintf(r->pool, "%s:%u", r->hostname,
                            ap_get_server_port(r));
    }
    self = apr_pstrcat(r->pool, ap_http_scheme(r), "://", host, NULL);
    n = strlen(self);
    if (strncasecmp(value, self, n) != 0) {
        return "from another origin";
    }
    if (!is_referer ? value[n] != '\0'
                    : (value[n] != '\0' && value[n] != '/'
                       && value[n] != '?')) {
        return "from another origin";
    }
    return NULL;
}

/* Whether NAME is one this virtual host answers to by configuration. */
static int configured_name(const server_rec *s, const char *name)
{
    const char *const *n;
    int i;

    if (s->server_hostname && strcasecmp(s->server_hostname, name) == 0) {
        return 1;
    }
    if (s->names) {
        n = (const char *const *)s->names->elts;
        for (i = 0; i < s->names->nelts; i++) {
            if (strcasecmp(n[i], name) == 0) {
                return 1;
            }
        }
    }
    if (s->wild_names) {
        n = (const char *const *)s->wild_names->elts;
        for (i = 0; i < s->wild_names->nelts; i++) {
            if (ap_strcasecmp_match(name, n[i]) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* DNS rebinding: a page of attacker.example that rebinds its name to this
 * server's address is same-origin with it for the browser, reads the
 * nonce and posts with a matching Origin and Host.  What it cannot forge
 * is the Host its name puts in the request.  So the Host must be a name
 * of this server (ServerName, ServerAlias), "localhost", or an address
 * literal (nobody can rebind those), on the port the request came in on.
 * NULL when it is, else why not. */
static const char *foreign_host(request_rec *r)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    unsigned char addr[16];
    char *name, *scope;
    apr_port_t port;
    apr_size_t n;

    if (!host) {
        /* HTTP/1.0 without Host: not a browser's request. */
        return NULL;
    }
    if (apr_parse_addr_port(&name, &scope, &port, host, r->pool)
        != APR_SUCCESS || !name || scope) {
        return "the Host header is malformed";
    }
    if (port == 0) {
        port = ap_default_port(r);
    }
    if (r->connection->local_addr
        && port != r->connection->local_addr->port) {
        return "the Host header names another port than the request "
               "came in on";
    }
    n = strlen(name);
    if (n > 1 && name[n - 1] == '.') {
        name[n - 1] = '\0';
    }
    if (strcasecmp(name, "localhost") == 0
        || inet_pton(AF_INET, name, addr) == 1
        || inet_pton(AF_INET6, name, addr) == 1
        || configured_name(r->server, name)) {
        return NULL;
    }
    return apr_pstrcat(r->pool, "the Host header names '",
                       apr_pstrndup(r->pool, name, 64), "', which is not a "
                       "ServerName or ServerAlias of this server (add it "
                       "there to post from it)", NULL);
}

static const char *check_origin(request_rec *r)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *referer = apr_table_get(r->headers_in, "Referer");
    const char *why = foreign_host(r);

    if (why) {
        return why;
    }
    if (origin) {
        return foreign(r, origin, 0);
    }
    if (referer) {
        return foreign(r, referer, 1);
    }
    return "without an Origin or Referer header";
}

/* ------------------------------------------------------------------ */
/* The form */

typedef struct {
    const char *nonce;
    int action;             /* index in actions[], -1: not given */
    int timer;              /* -1: not given */
    int frequency;          /* 0: not given */
    const char *back;
} form_t;

/* The page's own query string: printable ASCII only, so it cannot split
 * the Location header or leave the page. */
static const char *check_back(apr_pool_t *p, const char *v)
{
    const unsigned char *s = (const unsigned char *)v;

    (void)p;
    if (*s && *s != '?') {
        return "back must be a query string starting with '?'";
    }
    for (; *s; s++) {
        if (*s <= 0x20 || *s >= 0x7F) {
            return "back must be printable ASCII";
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Actions: one table, each a change of the shared header */

/* Apply F to ST (and S); NULL when the field it needs was not given,
 * else what it did, for the log. */
typedef const char *(*action_fn)(rp_store_t *s, rp_settings_t *st,
                                 const form_t *f);

static const char *do_enable(rp_store_t *s, rp_settings_t *st,
                             const form_t *f)
{
    st->enabled = 1;
    return "profiling enabled";
}

static const char *do_pause(rp_store_t *s, rp_settings_t *st,
                            const form_t *f)
{
    st->enabled = 0;
    return "profiling paused";
}

static const char *do_clear(rp_store_t *s, rp_settings_t *st,
                            const form_t *f)
{
    rp_store_clear(s);
    return "profile cleared";
}

static const char *do_timer(rp_store_t *s, rp_settings_t *st,
                            const form_t *f)
{
    if (f->timer < 0) {
        return NULL;
    }
    if (st->timer != f->timer) {
        /* Samples of CPU time and of wall time do not add up. */
        st->timer = f->timer;
        rp_store_clear(s);
        return f->timer == RP_TIMER_REAL
               ? "timer set to real (profile cleared)"
               : "timer set to cpu (profile cleared)";
    }
    return "timer unchanged";
}

static const char *do_frequency(rp_store_t *s, rp_settings_t *st,
                                const form_t *f)
{
    if (!f->frequency) {
        return NULL;
    }
    st->frequency = f->frequency;
    return "frequency set";
}

typedef struct {
    const char *name;           /* action=NAME, and ?done=NAME after it */
    action_fn fn;
    const char *needs;          /* the form field it needs, or NULL */
    const char *done;           /* what the page says once it is done */
    int says_state;             /* DONE already tells the state notice
                                 * ("paused"), which it then replaces */
} rp_action_t;

static const rp_action_t actions[] = {
    { "enable", do_enable, NULL, "profiling enabled", 0 },
    { "pause", do_pause, NULL, "profiling paused", 1 },
    { "clear", do_clear, NULL, "profile cleared", 0 },
    { "timer", do_timer, "timer",
      "timer switched (the profile was cleared)", 0 },
    { "frequency", do_frequency, "frequency", "frequency changed", 0 },
    { NULL }
};

static const rp_action_t *find_action(const char *name)
{
    const rp_action_t *a;

    for (a = actions; a->name; a++) {
        if (strcmp(a->name, name) == 0) {
            return a;
        }
    }
    return NULL;
}

/* All the names, for a reason: "enable, pause, ...". */
static const char *action_names(apr_pool_t *p)
{
    const rp_action_t *a;
    const char *all = NULL;

    for (a = actions; a->name; a++) {
        all = all ? apr_pstrcat(p, all, ", ", a->name, NULL) : a->name;
    }
    return all;
}

const char *rp_control_check_done(apr_pool_t *p, const char *name)
{
    return find_action(name) ? NULL
           : apr_pstrcat(p, "unknown action '", name, "'; one of: ",
                         action_names(p), NULL);
}

const char *rp_control_notice(apr_pool_t *p, const char *done,
                              const char *state)
{
    const rp_action_t *a = done ? find_action(done) : NULL;

    if (!a) {
        return state;
    }
    return state && !a->says_state
           ? apr_pstrcat(p, a->done, "; ", state, NULL) : a->done;
}

static const rp_qparam_t form_params[] = {
    { "nonce", RP_Q_STRING, APR_OFFSETOF(form_t, nonce), 0, 64, NULL, NULL },
    { "action", RP_Q_CHOICE, APR_OFFSETOF(form_t, action), 0, 0,
      &actions[0].name, NULL, sizeof(actions[0]) },
    { "timer", RP_Q_CHOICE, APR_OFFSETOF(form_t, timer), 0, 0,
      rp_timer_names, NULL },
    { "frequency", RP_Q_INT, APR_OFFSETOF(form_t, frequency),
      RP_FREQUENCY_MIN, RP_FREQUENCY_MAX, NULL, NULL },
    { "back", RP_Q_STRING, APR_OFFSETOF(form_t, back), 0, 4096, NULL,
      check_back },
    { NULL }
};

/* The body, up to BODY_MAX bytes; NULL with *STATUS set otherwise. */
static const char *read_body(request_rec *r, int *status)
{
    char *buf = apr_palloc(r->pool, BODY_MAX + 1);
    apr_size_t len = 0;
    long n;

    if ((*status = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK))
        != OK) {
        return NULL;
    }
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf + len, BODY_MAX + 1 - len))
               > 0) {
            len += (apr_size_t)n;
            if (len > BODY_MAX) {
                *status = HTTP_REQUEST_ENTITY_TOO_LARGE;
                return NULL;
            }
        }
        if (n < 0) {
            *status = HTTP_BAD_REQUEST;
            return NULL;
        }
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        *status = HTTP_BAD_REQUEST;
        return NULL;
    }
    return buf;
}

/* What an action's field must be, from the form's own table: the
 * names of a choice, the bounds of a number. */
static const char *field_wants(apr_pool_t *p, const char *field)
{
    const rp_qparam_t *q;
    const char *const *n;
    const char *all = NULL;

    for (q = form_params; q->name; q++) {
        if (strcmp(q->name, field) != 0) {
            continue;
        }
        if (q->type == RP_Q_INT) {
            return apr_psprintf(p, "%s=%" APR_INT64_T_FMT "..%"
                                APR_INT64_T_FMT, field,
                                (apr_int64_t)q->min, (apr_int64_t)q->max);
        }
        for (n = q->choices; n && *n; n++) {
            all = all ? apr_pstrcat(p, all, "|", *n, NULL) : *n;
        }
        return apr_pstrcat(p, field, "=", all ? all : "...", NULL);
    }
    return field;
}

/* ------------------------------------------------------------------ */

static int refuse(request_rec *r, int status, const char *why)
{
    const char *from = apr_table_get(r->headers_in, "Origin");

    /* One line per refused request: a forged post is worth knowing of. */
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, RP_LOGNO(1201)
                  "refused a page change: %s (Origin %s, client %s)", why,
                  from ? from : "-", r->useragent_ip);
    return rp_answer_fail(r, status, apr_pstrcat(r->pool,
                           "change refused: ", why, NULL));
}

int rp_control_post(request_rec *r, const rp_control_keys_t *k)
{
    const char *why, *body, *type, *done;
    const rp_action_t *act;
    rp_settings_t st;
    apr_uint32_t seen;
    form_t f;
    int status;

    if ((why = check_origin(r)) != NULL) {
        return refuse(r, HTTP_FORBIDDEN, why);
    }
    type = apr_table_get(r->headers_in, "Content-Type");
    if (!type || strncasecmp(type, "application/x-www-form-urlencoded",
                             33) != 0) {
        return refuse(r, HTTP_BAD_REQUEST, "the body must be "
                      "application/x-www-form-urlencoded");
    }
    if (!(body = read_body(r, &status))) {
        return refuse(r, status, status == HTTP_REQUEST_ENTITY_TOO_LARGE
                      ? "the body is too large" : "the body cannot be read");
    }
    memset(&f, 0, sizeof(f));
    f.timer = -1;
    f.action = -1;
    f.back = "";
    if ((why = rp_query_parse(r->pool, body, form_params, &f, &seen))) {
        return refuse(r, HTTP_BAD_REQUEST, why);
    }
    if (!k->store) {
        return refuse(r, HTTP_SERVICE_UNAVAILABLE, "no shared memory (see "
                      "the error log)");
    }
    if (!f.nonce || !same_secret(rp_control_nonce(r->pool, k), f.nonce)) {
        return refuse(r, HTTP_FORBIDDEN, "the nonce is missing or old "
                      "(reload the page)");
    }
    if (f.action < 0) {
        return refuse(r, HTTP_BAD_REQUEST, "no action given");
    }
    act = &actions[f.action];
    rp_store_settings_get(k->store, &st);
    if (!(done = act->fn(k->store, &st, &f))) {
        return refuse(r, HTTP_BAD_REQUEST, apr_pstrcat(r->pool, "action ",
                      act->name, " needs ", field_wants(r->pool, act->needs),
                      NULL));
    }
    rp_store_settings_set(k->store, &st);
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, RP_LOGNO(1202)
                  "page: %s (client %s)", done, r->useragent_ip);
    rp_answer_headers(r, "text/plain; charset=utf-8", NULL);
    /* Back to the view the form was on, saying what was done. */
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, ap_escape_uri(r->pool, r->uri),
                               *f.back ? f.back : "?", *f.back ? "&" : "",
                               "done=", act->name, NULL));
    r->status = HTTP_SEE_OTHER;
    ap_rprintf(r, "%s\n", done);
    return OK;
}
