/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_query: table-driven parsing and checking of a query string.
 *
 * The handler describes each parameter it accepts (name, type, bounds,
 * choices) in a table; rp_query_parse decodes the query string against it
 * and fills a caller's struct, or returns a one-line reason for a 400:
 * unknown parameter, repeated parameter, bad percent-encoding, a value out
 * of range or not among the choices.  Request-controlled text in a reason
 * is shortened and may hold any byte; escape it for the output.
 *
 * APR only, no httpd headers.  Not for signal context.
 */

#ifndef RP_QUERY_H
#define RP_QUERY_H

#include <apr_pools.h>

typedef enum {
    RP_Q_STRING,        /* const char *, decoded, at most max bytes */
    RP_Q_INT,           /* int, decimal, min..max */
    RP_Q_CHOICE,        /* int: index in choices */
    RP_Q_FLAG           /* int: 1 for 1/on/yes/true or empty, 0 for 0/off/no/false */
} rp_qtype_e;

typedef struct {
    const char *name;
    rp_qtype_e type;
    apr_size_t offset;              /* of the field in the caller's struct */
    apr_int64_t min, max;           /* INT: bounds; STRING: max = length */
    const char *const *choices;     /* CHOICE: NULL-terminated */
    /* Optional further check of a STRING: NULL or a reason. */
    const char *(*check)(apr_pool_t *p, const char *value);
    /* CHOICE: 0 when CHOICES is an array of names; else CHOICES is the
     * first member (a name) of a table's first entry, the entries are
     * STRIDE bytes apart and one with a NULL name ends it.  So a table
     * of actions is its own list of names. */
    apr_size_t stride;
} rp_qparam_t;

/* Parse ARGS (may be NULL) against TABLE (ended by a NULL name) into OUT.
 * Fields of absent parameters are left as they were (defaults).  Bit i of
 * *SEEN is set when TABLE[i] was given (at most 32 parameters).  Returns
 * NULL or a reason allocated from P. */
const char *rp_query_parse(apr_pool_t *p, const char *args,
                           const rp_qparam_t *table, void *out,
                           apr_uint32_t *seen);

/* Decode %XX and '+' in place; returns -1 on a bad escape or a NUL byte,
 * else the decoded length. */
long rp_query_unescape(char *s);

#endif /* RP_QUERY_H */
