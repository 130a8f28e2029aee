/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_php_abi: where PHP 8.2 keeps what rp_interp_php reads, on LP64.
 *
 * Byte offsets of the few fields walked, taken from php8.2-dev's headers
 * (Zend API 20220829, fixed for every 8.2.x) so that the module builds
 * and loads with no PHP headers or library at all.  check_php_abi
 * compiles the same names against the installed headers and fails on
 * any difference.
 */

#ifndef RP_PHP_ABI_H
#define RP_PHP_ABI_H

/* zend_executor_globals */
#define RP_PHP_EG_CURRENT_EXECUTE_DATA 488
/* zend_execute_data */
#define RP_PHP_EX_OPLINE               0
#define RP_PHP_EX_FUNC                 24
#define RP_PHP_EX_CALL_INFO            40 /* This.u1.type_info */
#define RP_PHP_EX_PREV                 48
/* zend_function (common, then op_array) */
#define RP_PHP_FN_TYPE                 0   /* a byte */
#define RP_PHP_FN_NAME                 8   /* function_name */
#define RP_PHP_FN_SCOPE                16  /* scope */
#define RP_PHP_OP_LAST                 80  /* op_array.last */
#define RP_PHP_OP_OPCODES              88  /* op_array.opcodes */
#define RP_PHP_OP_FILENAME             152 /* op_array.filename */
#define RP_PHP_OP_LINE_START           160 /* op_array.line_start */
/* zend_class_entry */
#define RP_PHP_CE_NAME                 8
/* zend_string */
#define RP_PHP_STR_H                   8 /* its hash, 0: not yet */
#define RP_PHP_STR_LEN                 16
#define RP_PHP_STR_VAL                 24
/* zend_op */
#define RP_PHP_OPLINE_LINENO           24
#define RP_PHP_OPLINE_SIZE             32
/* Constants */
#define RP_PHP_CALL_TOP                (1u << 17) /* ZEND_CALL_TOP */
#define RP_PHP_FUNC_INTERNAL           1
#define RP_PHP_FUNC_USER               2
#define RP_PHP_FUNC_EVAL               4
#define RP_PHP_VM_KIND_HYBRID          4

#endif /* RP_PHP_ABI_H */
