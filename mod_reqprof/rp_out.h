/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_out: where a renderer writes.  Renderers never see a request_rec:
 * in httpd the sink is the response (rp_handler), in the unit tests and
 * the render benchmark it is a growing buffer.  So every format can be
 * checked against golden files and timed without a server.
 *
 * Writing through it takes no memory in proportion to the output: formatted
 * lines of any length are formatted through a fixed buffer, and escaped
 * strings go straight from the escaper to the sink (rp_out_escaped), so a
 * renderer that writes a name per frame of a large profile stays in
 * bounded memory.  APR only; not for signal context.
 */

#ifndef RP_OUT_H
#define RP_OUT_H

#include <apr_pools.h>

#include "rp_escape.h"

typedef struct rp_out_t rp_out_t;

struct rp_out_t {
    apr_pool_t *pool;           /* scratch for the render (escapes, ...) */
    void (*write)(rp_out_t *o, const char *s, apr_size_t n);
    void *ctx;                  /* the sink's own state */
    char *buf;                  /* buffer sink: the bytes so far */
    apr_size_t len, cap;
};

void rp_out_write(rp_out_t *o, const void *s, apr_size_t n);
void rp_out_puts(rp_out_t *o, const char *s);
/* As apr_snprintf formats; nothing from the pool, however long. */
void rp_out_printf(rp_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* S (NULL reads as "") escaped as KIND (rp_escape.h), without a copy. */
void rp_out_escaped(rp_out_t *o, rp_escape_e kind, const char *s);

/* A sink that collects everything in memory from P (o->buf, o->len; the
 * bytes are NUL-terminated). */
void rp_out_buffer(rp_out_t *o, apr_pool_t *p);

#endif /* RP_OUT_H */
