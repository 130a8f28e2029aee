/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report_now: view=now, the requests in flight in every child with
 * what each thread does and its stack (rp_page_t's now, made by the
 * handler from rp_live), in html, text and json.  The three say the same
 * thing in the same order (oldest request first), and every string is
 * escaped for its format.
 */

#include <apr_strings.h>

#include "rp_escape.h"
#include "rp_report.h"

static const char *h(const rp_render_t *c, const char *s)
{
    return rp_escape_html(c->p, s ? s : "");
}

static const char *t(const rp_render_t *c, const char *s)
{
    return rp_escape_text(c->p, s ? s : "");
}

static void jstr(const rp_render_t *c, const char *s)
{
    if (!s) {
        rp_out_puts(c->out, "null");
        return;
    }
    rp_out_printf(c->out, "\"%s\"", rp_escape_json(c->p, s));
}

/* Where the stack comes from, in words. */
static const char *stack_note(const rp_render_t *c, const rp_now_entry_t *e)
{
    if (!e->depth) {
        return strcmp(e->state, "starting") == 0
                   ? "looked at from 200 ms on"
                   : "no stack (a running thread shows its newest CPU "
                     "sample: none while profiling is paused)";
    }
    if (strcmp(e->state, "blocked") == 0) {
        return apr_psprintf(c->p, "unwound while blocked, %.0f ms ago",
                            e->look_ms);
    }
    return apr_psprintf(c->p, "its newest CPU sample, %.0f ms old",
                        e->look_ms + e->sample_ms);
}

static const char *state_text(const rp_render_t *c, const rp_now_entry_t *e)
{
    return e->syscall ? apr_pstrcat(c->p, e->state, " in ", e->syscall, NULL)
                      : e->state;
}

static const char *frame_name(const rp_render_t *c, const rp_now_frame_t *f)
{
    if (f->file) {
        return apr_psprintf(c->p, "%s (%s:%d)", f->function, f->file,
                            f->line);
    }
    return f->function;
}

void rp_report_now_html(const rp_render_t *c)
{
    const rp_now_view_t *v = c->page->now;
    int i, k;

    rp_out_puts(c->out, "<h2>Requests in flight</h2>\n");
    if (!v || !v->n) {
        rp_out_puts(c->out, "<p id=\"now-none\">No profiled request is "
                            "running now.</p>\n");
        return;
    }
    rp_out_printf(c->out,
                  "<p id=\"now-count\">%d in %d child%s, oldest "
                  "first.  Stacks are looked at every 200 ms, without "
                  "signalling the thread.</p>\n",
                  v->n, v->children, v->children == 1 ? "" : "ren");
    rp_out_puts(c->out, "<table class=\"now\" id=\"now\"><thead><tr>"
                        "<th>pid</th><th>thread</th><th>method</th><th>URI</"
                        "th>"
                        "<th>host</th><th>client</th><th>elapsed ms</th>"
                        "<th>state</th><th>stack</th></tr></thead><tbody>\n");
    for (i = 0; i < v->n; i++) {
        const rp_now_entry_t *e = &v->e[i];

        rp_out_printf(c->out,
                      "<tr class=\"now-req\" data-state=\"%s\">"
                      "<td>%d</td><td>%d</td><td>%s</td><td><code>%s"
                      "</code></td><td>%s</td><td>%s</td><td class=\"n\">"
                      "%.0f</td><td class=\"state\">%s</td><td>"
                      "<details%s><summary>%s</summary><ol class=\"stack\">",
                      h(c, e->state), e->pid, e->tid, h(c, e->method),
                      h(c, e->uri), h(c, e->vhost),
                      e->client ? h(c, e->client) : "", e->elapsed_ms,
                      h(c, state_text(c, e)), e->depth ? " open" : "",
                      h(c, stack_note(c, e)));
        for (k = 0; k < e->depth; k++) {
            rp_out_printf(c->out, "<li><code>%s</code></li>",
                          h(c, frame_name(c, &e->frames[k])));
        }
        rp_out_printf(c->out, "%s</ol></details></td></tr>\n",
                      e->truncated ? "<li>&hellip;</li>" : "");
    }
    rp_out_puts(c->out, "</tbody></table>\n");
}

void rp_report_now_text(const rp_render_t *c)
{
    const rp_now_view_t *v = c->page->now;
    int i, k;

    if (!v || !v->n) {
        rp_out_puts(c->out, "requests in flight: none\n");
        return;
    }
    rp_out_printf(c->out,
                  "requests in flight: %d in %d children, oldest "
                  "first\n",
                  v->n, v->children);
    for (i = 0; i < v->n; i++) {
        const rp_now_entry_t *e = &v->e[i];

        rp_out_printf(c->out,
                      "\npid %d tid %d %s %s host %s client %s "
                      "id %s\n  elapsed %.0f ms, %s; %s\n",
                      e->pid, e->tid, t(c, e->method), t(c, e->uri),
                      t(c, e->vhost), e->client ? t(c, e->client) : "-",
                      e->id ? t(c, e->id) : "-", e->elapsed_ms,
                      t(c, state_text(c, e)), t(c, stack_note(c, e)));
        for (k = 0; k < e->depth; k++) {
            rp_out_printf(c->out, "  #%-3d %s\n", k,
                          t(c, frame_name(c, &e->frames[k])));
        }
        if (e->truncated) {
            rp_out_puts(c->out, "  ...\n");
        }
    }
}

void rp_report_now_json(const rp_render_t *c)
{
    const rp_now_view_t *v = c->page->now;
    int i, k;

    rp_out_printf(c->out, "\"children\": %d, \"requests\": [",
                  v ? v->children : 0);
    for (i = 0; v && i < v->n; i++) {
        const rp_now_entry_t *e = &v->e[i];

        rp_out_printf(c->out, "%s\n{\"pid\": %d, \"tid\": %d, \"method\": ",
                      i ? "," : "", e->pid, e->tid);
        jstr(c, e->method);
        rp_out_puts(c->out, ", \"uri\": ");
        jstr(c, e->uri);
        rp_out_puts(c->out, ", \"host\": ");
        jstr(c, e->vhost);
        rp_out_puts(c->out, ", \"client\": ");
        jstr(c, e->client);
        rp_out_puts(c->out, ", \"id\": ");
        jstr(c, e->id);
        rp_out_printf(c->out,
                      ", \"elapsed_ms\": %.3f, \"state\": ", e->elapsed_ms);
        jstr(c, e->state);
        rp_out_puts(c->out, ", \"syscall\": ");
        jstr(c, e->syscall);
        rp_out_printf(c->out,
                      ", \"look_ms\": %.3f, \"sample_ms\": %.3f, "
                      "\"truncated\": %s, \"stack\": [",
                      e->look_ms, e->sample_ms,
                      e->truncated ? "true" : "false");
        for (k = 0; k < e->depth; k++) {
            const rp_now_frame_t *f = &e->frames[k];

            rp_out_puts(c->out, k ? ", {\"function\": " : "{\"function\": ");
            jstr(c, f->function);
            rp_out_puts(c->out, ", \"file\": ");
            jstr(c, f->file);
            rp_out_printf(c->out, ", \"line\": %d, \"object\": ", f->line);
            jstr(c, f->object);
            rp_out_puts(c->out, "}");
        }
        rp_out_puts(c->out, "]}");
    }
    rp_out_puts(c->out, "]");
}
