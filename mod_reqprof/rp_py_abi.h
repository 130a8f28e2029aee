/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_py_abi: where CPython 3.11 keeps what rp_interp_python reads, on
 * LP64.
 *
 * Byte offsets of the few fields walked, from CPython 3.11's internal
 * headers (libpython3.11-dev, Py_BUILD_CORE: the frame and runtime
 * structures are not part of the stable API, and 3.11 has no debug
 * offsets table), so that the module builds and loads with no Python
 * headers or library.  check_py_abi compiles the same names against the
 * installed headers and fails on any difference; the walk refuses any
 * Python other than 3.11 (Py_Version).
 */

#ifndef RP_PY_ABI_H
#define RP_PY_ABI_H

/* _PyRuntimeState */
#define RP_PY_RT_INTERPRETERS_HEAD 40
#define RP_PY_RT_TSTATE_CURRENT    576 /* gilstate.tstate_current */
/* PyInterpreterState */
#define RP_PY_IS_NEXT              0
#define RP_PY_IS_THREADS_HEAD      16
/* PyThreadState */
#define RP_PY_TS_NEXT              8
#define RP_PY_TS_CFRAME            56
#define RP_PY_TS_NATIVE_THREAD_ID  160
/* _PyCFrame */
#define RP_PY_CF_CURRENT_FRAME     8
/* _PyInterpreterFrame */
#define RP_PY_FR_CODE              32 /* f_code */
#define RP_PY_FR_PREVIOUS          48
#define RP_PY_FR_PREV_INSTR        56
#define RP_PY_FR_IS_ENTRY          68 /* a bool, one byte */
/* PyObject, PyVarObject, PyBytesObject */
#define RP_PY_OB_TYPE              8
#define RP_PY_OB_SIZE              16
#define RP_PY_BYTES_SVAL           32
/* PyCodeObject */
#define RP_PY_CO_FIRSTLINENO       72 /* an int */
#define RP_PY_CO_FILENAME          112
#define RP_PY_CO_QUALNAME          128
#define RP_PY_CO_LINETABLE         136
#define RP_PY_CO_CODE_ADAPTIVE     184
/* PyASCIIObject, PyCompactUnicodeObject, PyUnicodeObject */
#define RP_PY_STR_LENGTH           16
#define RP_PY_STR_HASH             24 /* -1 until computed */
#define RP_PY_STR_STATE            32 /* bit fields, 32 bits */
#define RP_PY_STR_ASCII_DATA       48 /* sizeof(PyASCIIObject) */
#define RP_PY_STR_COMPACT_DATA     72 /* sizeof(PyCompact...) */
#define RP_PY_STR_DATA_ANY         72 /* data.any, not compact */
/* state: interned 2 bits, kind 3, compact 1, ascii 1, ready 1 */
#define RP_PY_STATE_KIND(s)        (((s) >> 2) & 7u)
#define RP_PY_STATE_COMPACT(s)     (((s) >> 5) & 1u)
#define RP_PY_STATE_ASCII(s)       (((s) >> 6) & 1u)
/* Py_Version's major and minor: 3.11 */
#define RP_PY_VERSION_3_11         0x030B

#endif /* RP_PY_ABI_H */
