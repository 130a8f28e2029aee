/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_out: the renderers' output sink (rp_out.h) and its buffer form.
 */

#include <stdarg.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "rp_out.h"

void rp_out_write(rp_out_t *o, const void *s, apr_size_t n)
{
    if (n) {
        o->write(o, s, n);
    }
}

void rp_out_puts(rp_out_t *o, const char *s)
{
    rp_out_write(o, s, strlen(s));
}

/* apr_vformatter's buffer, and where it goes when full. */
typedef struct {
    apr_vformatter_buff_t vb;   /* first: the formatter's pointer is ours */
    rp_out_t *o;
    char buf[1024];
} fmt_t;

static int fmt_flush(apr_vformatter_buff_t *vb)
{
    fmt_t *f = (fmt_t *)vb;

    rp_out_write(f->o, f->buf, (apr_size_t)(vb->curpos - f->buf));
    vb->curpos = f->buf;
    return 0;
}

void rp_out_printf(rp_out_t *o, const char *fmt, ...)
{
    fmt_t f;
    va_list ap;

    /* Through a fixed buffer, flushed to the sink when full: a line of
     * any length (a deep tree's indentation, a long name) costs no pool
     * memory.  The formatter is apr_snprintf's, so the output is too. */
    f.o = o;
    f.vb.curpos = f.buf;
    f.vb.endpos = f.buf + sizeof(f.buf);
    va_start(ap, fmt);
    apr_vformatter(fmt_flush, &f.vb, fmt, ap);
    va_end(ap);
    fmt_flush(&f.vb);
}

static void escaped_write(void *ctx, const char *s, apr_size_t n)
{
    rp_out_t *o = ctx;

    o->write(o, s, n);
}

void rp_out_escaped(rp_out_t *o, rp_escape_e kind, const char *s)
{
    rp_escape_stream(kind, s ? s : "", escaped_write, o);
}

static void buffer_write(rp_out_t *o, const char *s, apr_size_t n)
{
    if (o->len + n + 1 > o->cap) {
        apr_size_t cap = o->cap ? o->cap : 65536;
        char *b;
        while (cap < o->len + n + 1) {
            cap *= 2;
        }
        b = apr_palloc(o->ctx, cap);
        memcpy(b, o->buf, o->len);
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

void rp_out_buffer(rp_out_t *o, apr_pool_t *p)
{
    memset(o, 0, sizeof(*o));
    o->pool = p;
    o->ctx = p;
    o->write = buffer_write;
    o->buf = apr_pcalloc(p, 1);
}
