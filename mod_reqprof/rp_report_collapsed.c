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
    int nn = m->nodes->nelts, nf = m->funcs->nelts, i, d;
    const char **names = apr_pcalloc(c->p, sizeof(*names) * (nf + 1));
    apr_array_header_t *path = apr_array_make(c->p, 64,
                                              sizeof(apr_uint32_t));

    for (i = 1; i < nn; i++) {
        const rp_tnode_t *t = rp_model_node(m, (apr_uint32_t)i);
        if (!t->self_count) {
            continue;
        }
        /* The stack comes innermost first; the line goes outermost
         * first. */
        rp_model_path(m, (apr_uint32_t)i, path);
        for (d = path->nelts - 1; d >= 0; d--) {
            apr_uint32_t f = ((apr_uint32_t *)path->elts)[d];
            if (!names[f]) {
                names[f] = frame_name(c->p, rp_model_func(m, f)->name);
            }
            rp_out_puts(c->out, names[f]);
            rp_out_write(c->out, d ? ";" : " ", 1);
        }
        rp_out_printf(c->out, "%" APR_UINT64_T_FMT "\n", t->self_count);
    }
}
