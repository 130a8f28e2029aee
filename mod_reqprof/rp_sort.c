/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_sort: the table of sort keys (see rp_sort.h).  Keys follow pstats'
 * vocabulary where it has one (tottime, cumtime are accepted aliases).
 */

#include <string.h>

#include <apr_strings.h>

#include "rp_sort.h"

static const rp_sort_key_t sort_keys[] = {
    { "self",       "self samples (time in the function itself)",   1 },
    { "cumulative", "cumulative samples (time in it and below)",    1 },
    { "name",       "function name",                                0 },
    { "file",       "object or source file",                        0 },
    { "tottime",    "alias of self, as in pstats",                  1 },
    { "cumtime",    "alias of cumulative, as in pstats",            1 },
    { NULL, NULL, 0 }
};

const rp_sort_key_t *rp_sort_key_find(const char *name)
{
    const rp_sort_key_t *k;

    for (k = sort_keys; k->name; k++) {
        if (strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

const char *rp_sort_key_names(apr_pool_t *p)
{
    const rp_sort_key_t *k;
    const char *s = NULL;

    for (k = sort_keys; k->name; k++) {
        s = s ? apr_pstrcat(p, s, ", ", k->name, NULL) : k->name;
    }
    return s;
}
