/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * unit_pool: the checked fixture most unit tests share, a fresh APR pool
 * per test (named `pool`), destroyed after it.
 */

#ifndef UNIT_POOL_H
#define UNIT_POOL_H

#include <apr_pools.h>
#include <check.h>

static apr_pool_t *pool;

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
}

#endif /* UNIT_POOL_H */
