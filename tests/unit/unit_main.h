/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * unit_main: the main() every unit test shares.  It initialises APR, runs
 * the suite with Check's normal output (its "N%: Checks: ..." line is what
 * tests/run_tests.py reads) and exits non-zero on any failure.
 */

#ifndef UNIT_MAIN_H
#define UNIT_MAIN_H

#include <stdlib.h>

#include <apr_general.h>
#include <check.h>

static int unit_run(Suite *s)
{
    SRunner *sr;
    int failed;

    if (apr_initialize() != APR_SUCCESS) {
        return EXIT_FAILURE;
    }
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define UNIT_MAIN(suite_fn) \
    int main(void)          \
    {                       \
        return unit_run(suite_fn()); \
    }

#endif /* UNIT_MAIN_H */
