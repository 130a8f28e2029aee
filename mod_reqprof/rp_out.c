/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_out: the renderers' output sink (rp_out.h) and its buffer form.
 */

#include <stdarg.h>
#include <string.h>

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

void rp_out_printf(rp_out_t *o, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    int n;

    /* Nearly every line fits the stack buffer; longer ones (long names)
     * go through the pool. */
    va_start(ap, fmt);
    n = apr_vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < (int)sizeof(small) - 1) {
        rp_out_write(o, small, (apr_size_t)n);
        return;
    }
    va_start(ap, fmt);
    rp_out_puts(o, apr_pvsprintf(o->pool, fmt, ap));
    va_end(ap);
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
