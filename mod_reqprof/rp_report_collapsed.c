/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_collapsed: the profile as folded stacks, the interchange
 * format of Brendan Gregg's FlameGraph (flamegraph.pl, speedscope,
 * inferno, Pyroscope's importer): one line per call-tree node that has
 * samples of its own,
 *
 *     /uri;outermost;...;innermost COUNT
 *
 * The URI is the first frame, so that every tool that reads the format
 * groups the flame graph by request path as the page does.  COUNT is the
 * node's self samples; the counts sum to the model's samples.
 *
 * Frame names come from requests (URIs) and binaries (C++ names hold
 * spaces, some hold ';').  Each goes through rp_escape_text, which leaves
 * one line of valid UTF-8, and then the bytes the format itself gives a
 * meaning are written as rp_escape_text writes other bytes it cannot keep:
 * ';' (the frame separator) as "\x3B" and a space ending a frame (which a
 * reader that trims fields would lose) as "\x20".  A backslash standing
 * right before such an escape is doubled, as rp_escape_text doubles one
 * before any escape, so the reading rule of rp_escape.h still gives the
 * original name back.  An empty name is written "[unnamed]".
 */

#include <string.h>

#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"

/* A growing byte buffer for one output line, reused for every line. */
typedef struct {
    apr_pool_t *p;
    char *b;
    apr_size_t len, cap;
} line_t;

static void line_put(line_t *l, const char *s, apr_size_t n)
{
    if (l->len + n > l->cap) {
        apr_size_t cap = l->cap ? l->cap * 2 : 1024;
        char *b;
        while (cap < l->len + n) {
            cap *= 2;
        }
        b = apr_palloc(l->p, cap);
        if (l->len) {
            memcpy(b, l->b, l->len);
        }
        l->b = b;
        l->cap = cap;
    }
    memcpy(l->b + l->len, s, n);
    l->len += n;
}

/* One frame name for the folded format (see the top of this file). */
static const char *frame_name(apr_pool_t *p, const char *name)
{
    const char *e = rp_escape_text(p, name ? name : "");
    apr_size_t n = strlen(e), i, extra = 0;
    char *out, *o;

    if (!n) {
        return "[unnamed]";
    }
    for (i = 0; i < n; i++) {
        if (e[i] == ';' || (e[i] == ' ' && i == n - 1)) {
            extra += 5;         /* the escape and a doubled backslash */
        }
    }
    if (!extra) {
        return e;
    }
    out = o = apr_palloc(p, n + extra + 1);
    for (i = 0; i < n; i++) {
        int code = e[i] == ';' ? 0x3b
                   : e[i] == ' ' && i == n - 1 ? 0x20 : 0;
        if (!code) {
            *o++ = e[i];
            continue;
        }
        /* In rp_escape_text's output a backslash before ';' or ' ' stands
         * for itself; before "\xNN" it must be written "\\". */
        if (o > out && o[-1] == '\\') {
            *o++ = '\\';
        }
        o += apr_snprintf(o, 5, "\\x%02X", code);
    }
    *o = '\0';
    return out;
}

void rp_report_collapsed(const rp_render_t *c)
{
    const rp_model_t *m = c->m;
    const rp_tnode_t *nodes = (const rp_tnode_t *)m->nodes->elts;
    int nn = m->nodes->nelts, nf = m->funcs->nelts, i, depth, d;
    const char **names = apr_pcalloc(c->p, sizeof(*names) * (nf + 1));
    apr_uint32_t *path = NULL;
    int path_cap = 0;
    line_t l = { c->p, NULL, 0, 0 };
    char num[32];

    for (i = 1; i < nn; i++) {
        apr_uint32_t k;
        if (!nodes[i].self_count) {
            continue;
        }
        /* The path, innermost first, then written outermost first. */
        depth = 0;
        for (k = (apr_uint32_t)i; k != 0 && k != RP_MODEL_NONE;
             k = nodes[k].parent) {
            if (depth == path_cap) {
                apr_uint32_t *grown;
                path_cap = path_cap ? path_cap * 2 : 64;
                grown = apr_palloc(c->p, sizeof(*grown) * path_cap);
                if (depth) {
                    memcpy(grown, path, sizeof(*grown) * depth);
                }
                path = grown;
            }
            path[depth++] = nodes[k].func;
        }
        l.len = 0;
        for (d = depth - 1; d >= 0; d--) {
            apr_uint32_t f = path[d];
            if (!names[f]) {
                names[f] = frame_name(c->p, rp_model_func(m, f)->name);
            }
            line_put(&l, names[f], strlen(names[f]));
            line_put(&l, d ? ";" : " ", 1);
        }
        line_put(&l, num, (apr_size_t)apr_snprintf(num, sizeof(num),
                                                  "%" APR_UINT64_T_FMT "\n",
                                                  nodes[i].self_count));
        rp_out_write(c->out, l.b, l.len);
    }
}
