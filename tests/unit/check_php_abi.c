/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * check_php_abi: rp_php_abi.h's offsets and constants against the
 * installed PHP 8.2 headers (php8.2-dev), one check per field, so that a
 * wrong number fails here and not in a child walking garbage.  Built with
 * php-config's include paths; the module itself needs none.
 */

#include <stddef.h>
#include <string.h>

#include <check.h>

#include "php.h"
#include "zend_extensions.h"
#include "zend_vm.h"

#include "rp_php_abi.h"
#include "unit_main.h"

#define SAME(ours, theirs)                                                   \
    ck_assert_msg((long)(ours) == (long)(theirs), "%s is %ld, PHP says %ld", \
                  #ours, (long)(ours), (long)(theirs))

START_TEST(the_headers_are_php_8_2)
{
    ck_assert_int_eq(PHP_MAJOR_VERSION, 8);
    ck_assert_int_eq(PHP_MINOR_VERSION, 2);
    ck_assert_int_eq(ZEND_EXTENSION_API_NO, 420220829);
}
END_TEST

START_TEST(offsets)
{
    SAME(RP_PHP_EG_CURRENT_EXECUTE_DATA,
         offsetof(zend_executor_globals, current_execute_data));
    SAME(RP_PHP_EX_OPLINE, offsetof(zend_execute_data, opline));
    SAME(RP_PHP_EX_FUNC, offsetof(zend_execute_data, func));
    SAME(RP_PHP_EX_CALL_INFO, offsetof(zend_execute_data, This.u1.type_info));
    SAME(RP_PHP_EX_PREV, offsetof(zend_execute_data, prev_execute_data));
    SAME(RP_PHP_FN_TYPE, offsetof(zend_function, common.type));
    SAME(RP_PHP_FN_NAME, offsetof(zend_function, common.function_name));
    SAME(RP_PHP_FN_SCOPE, offsetof(zend_function, common.scope));
    SAME(RP_PHP_OP_LAST, offsetof(zend_function, op_array.last));
    SAME(RP_PHP_OP_OPCODES, offsetof(zend_function, op_array.opcodes));
    SAME(RP_PHP_OP_FILENAME, offsetof(zend_function, op_array.filename));
    SAME(RP_PHP_OP_LINE_START, offsetof(zend_function, op_array.line_start));
    SAME(RP_PHP_CE_NAME, offsetof(zend_class_entry, name));
    SAME(RP_PHP_STR_H, offsetof(zend_string, h));
    SAME(RP_PHP_STR_LEN, offsetof(zend_string, len));
    SAME(RP_PHP_STR_VAL, offsetof(zend_string, val));
    SAME(RP_PHP_OPLINE_LINENO, offsetof(zend_op, lineno));
    SAME(RP_PHP_OPLINE_SIZE, sizeof(zend_op));
    /* Widths the walk reads them with. */
    SAME(sizeof(((zend_function *)0)->common.type), 1);
    SAME(sizeof(((zend_function *)0)->op_array.last), 4);
    SAME(sizeof(((zend_function *)0)->op_array.line_start), 4);
    SAME(sizeof(((zend_op *)0)->lineno), 4);
    SAME(sizeof(((zend_string *)0)->len), 8);
}
END_TEST

START_TEST(constants)
{
    SAME(RP_PHP_CALL_TOP, ZEND_CALL_TOP);
    SAME(RP_PHP_FUNC_INTERNAL, ZEND_INTERNAL_FUNCTION);
    SAME(RP_PHP_FUNC_USER, ZEND_USER_FUNCTION);
    SAME(RP_PHP_FUNC_EVAL, ZEND_EVAL_CODE);
    SAME(RP_PHP_VM_KIND_HYBRID, ZEND_VM_KIND_HYBRID);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("php_abi");
    TCase *tc = tcase_create("php82");

    tcase_add_test(tc, the_headers_are_php_8_2);
    tcase_add_test(tc, offsets);
    tcase_add_test(tc, constants);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(suite)
