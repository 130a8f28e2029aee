/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_sort: the sort keys of the functions view, as data.
 *
 * One table names every key the page and ReqProfSort accept, with the
 * column it orders and whether larger values come first.  The model adds
 * its comparators beside these names; the configuration and the query
 * parser only need to know which names exist.  APR only, no httpd headers.
 */

#ifndef RP_SORT_H
#define RP_SORT_H

#include <apr_pools.h>

typedef struct {
    const char *name;         /* as written in ReqProfSort and ?sort= */
    const char *title;        /* what it orders, for help texts */
    int descending;           /* 1: largest first */
} rp_sort_key_t;

/* The key named NAME, or NULL. */
const rp_sort_key_t *rp_sort_key_find(const char *name);

/* "self, cumulative, ..." for error messages, allocated from P. */
const char *rp_sort_key_names(apr_pool_t *p);

#endif /* RP_SORT_H */
