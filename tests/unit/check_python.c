/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * check_python: the CPython 3.11 walk against CPython itself.  The
 * offsets of rp_py_abi.h against the installed headers (libpython3.11-dev,
 * internal ones included), one check per field; then, with Python
 * embedded here, the location-table decoding against PyCode_Addr2Line
 * for every instruction of real functions, and a merge done from inside
 * a call from Python into C: the native stack of this very thread, with
 * its _PyEval_EvalFrameDefault frames, merged with its live frames.
 */

#define Py_BUILD_CORE 1
#define UNW_LOCAL_ONLY
#include <Python.h>
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <stddef.h>
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"

#include "rp_interp.h"
#include "rp_py_abi.h"
#include "unit_main.h"

/* An embedded Python is never finalised here (3.11 cannot start again
 * once finalised, and each test starts it in its own process): what it
 * holds at exit is not a leak of ours. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

#define SAME(ours, theirs)                                                   \
    ck_assert_msg((long)(ours) == (long)(theirs),                            \
                  "%s is %ld, Python says %ld", #ours, (long)(ours),         \
                  (long)(theirs))

START_TEST(offsets)
{
    PyASCIIObject a;
    apr_uint32_t state;

    ck_assert_int_eq(PY_MAJOR_VERSION, 3);
    ck_assert_int_eq(PY_MINOR_VERSION, 11);
    SAME(RP_PY_RT_INTERPRETERS_HEAD,
         offsetof(_PyRuntimeState, interpreters.head));
    SAME(RP_PY_RT_TSTATE_CURRENT,
         offsetof(_PyRuntimeState, gilstate.tstate_current));
    SAME(RP_PY_IS_NEXT, offsetof(PyInterpreterState, next));
    SAME(RP_PY_IS_THREADS_HEAD, offsetof(PyInterpreterState, threads.head));
    SAME(RP_PY_TS_NEXT, offsetof(PyThreadState, next));
    SAME(RP_PY_TS_CFRAME, offsetof(PyThreadState, cframe));
    SAME(RP_PY_TS_NATIVE_THREAD_ID,
         offsetof(PyThreadState, native_thread_id));
    SAME(RP_PY_CF_CURRENT_FRAME, offsetof(_PyCFrame, current_frame));
    SAME(RP_PY_FR_CODE, offsetof(_PyInterpreterFrame, f_code));
    SAME(RP_PY_FR_PREVIOUS, offsetof(_PyInterpreterFrame, previous));
    SAME(RP_PY_FR_PREV_INSTR, offsetof(_PyInterpreterFrame, prev_instr));
    SAME(RP_PY_FR_IS_ENTRY, offsetof(_PyInterpreterFrame, is_entry));
    SAME(sizeof(((_PyInterpreterFrame *)0)->is_entry), 1);
    SAME(RP_PY_OB_TYPE, offsetof(PyObject, ob_type));
    SAME(RP_PY_OB_SIZE, offsetof(PyVarObject, ob_size));
    SAME(RP_PY_BYTES_SVAL, offsetof(PyBytesObject, ob_sval));
    SAME(RP_PY_CO_FIRSTLINENO, offsetof(PyCodeObject, co_firstlineno));
    SAME(RP_PY_CO_FILENAME, offsetof(PyCodeObject, co_filename));
    SAME(RP_PY_CO_QUALNAME, offsetof(PyCodeObject, co_qualname));
    SAME(RP_PY_CO_LINETABLE, offsetof(PyCodeObject, co_linetable));
    SAME(RP_PY_CO_CODE_ADAPTIVE, offsetof(PyCodeObject, co_code_adaptive));
    SAME(sizeof(_Py_CODEUNIT), 2);
    SAME(RP_PY_STR_LENGTH, offsetof(PyASCIIObject, length));
    SAME(RP_PY_STR_HASH, offsetof(PyASCIIObject, hash));
    SAME(RP_PY_STR_STATE, offsetof(PyASCIIObject, state));
    SAME(RP_PY_STR_ASCII_DATA, sizeof(PyASCIIObject));
    SAME(RP_PY_STR_COMPACT_DATA, sizeof(PyCompactUnicodeObject));
    SAME(RP_PY_STR_DATA_ANY, offsetof(PyUnicodeObject, data.any));
    /* The state's bit fields where the walk reads them. */
    memset(&a, 0, sizeof(a));
    a.state.kind = PyUnicode_4BYTE_KIND;
    a.state.compact = 1;
    a.state.ascii = 0;
    memcpy(&state, (char *)&a + RP_PY_STR_STATE, 4);
    SAME(RP_PY_STATE_KIND(state), PyUnicode_4BYTE_KIND);
    SAME(RP_PY_STATE_COMPACT(state), 1);
    SAME(RP_PY_STATE_ASCII(state), 0);
    a.state.ascii = 1;
    memcpy(&state, (char *)&a + RP_PY_STR_STATE, 4);
    SAME(RP_PY_STATE_ASCII(state), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* With Python running here */

static const char SOURCE[] = "def inner(n):\n"
                             "    x = 0\n"
                             "    for i in range(n):\n"
                             "        x += i\n"
                             "\n"
                             "    if x > 5:\n"
                             "        x = (x *\n"
                             "             3)\n"
                             "    return probe()\n"
                             "\n"
                             "class K:\n"
                             "    def m\u00e9thode(self):\n"
                             "        return [inner(k) for k in (3, 4)][0]\n"
                             "\n"
                             "def gen():\n"
                             "    yield K().m\u00e9thode()\n"
                             "\n"
                             "def outer():\n"
                             "    return next(gen())\n";

static rp_inames_t *nm;
static char seen[4096]; /* the names the probe merged */

/* Called from Python (inner): the merge of this thread's stack now. */
static PyObject *probe(PyObject *self, PyObject *unused)
{
    void *frames[256], *out[512];
    rp_merge_counts_t mc;
    rp_script_frame_t f;
    int n, m, i, cut;
    apr_size_t at = 0;

    (void)self;
    (void)unused;
    n = unw_backtrace(frames, 256);
    memset(&mc, 0, sizeof(mc));
    m = rp_interp_merge(nm, 0, (int)PyThread_get_thread_native_id(), frames,
                        n, out, 512, &cut, &mc);
    for (i = 0; i < m; i++) {
        apr_uint64_t w = (apr_uint64_t)(apr_uintptr_t)out[i];
        if (RP_INTERP_IS_TAG(w)) {
            rp_interp_frame(nm, w, &f);
            at += apr_snprintf(seen + at, sizeof(seen) - at, "%s%.*s:%d",
                               at ? " " : "", (int)f.name_len, f.name,
                               f.line);
        }
    }
    if (mc.merged != 1 || mc.mismatch || mc.fault) {
        apr_snprintf(seen, sizeof(seen), "not merged (%d %d %d %d)",
                     (int)mc.merged, (int)mc.mismatch, (int)mc.fault,
                     (int)mc.cut);
    }
    return PyLong_FromLong(0);
}

static PyMethodDef probe_def = { "probe", probe, METH_NOARGS, NULL };

static PyObject *globals;

static void python_up(void)
{
    PyObject *code, *fn;
    void *eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    Dl_info info;
    const ElfW(Sym) *sym = NULL;

    Py_Initialize();
    globals = PyDict_New();
    PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
    fn = PyCFunction_New(&probe_def, NULL);
    PyDict_SetItemString(globals, "probe", fn);
    code = Py_CompileString(SOURCE, "/srv/app/m\u00f6d.py", Py_file_input);
    ck_assert_ptr_nonnull(code);
    ck_assert_ptr_nonnull(PyEval_EvalCode(code, globals, globals));
    ck_assert(dladdr1(eval, &info, (void **)&sym, RTLD_DL_SYMENT) && sym);
    ck_assert(rp_interp_test_python(&_PyRuntime, &PyCode_Type,
                                    &PyUnicode_Type, &PyBytes_Type,
                                    (apr_uint64_t)(apr_uintptr_t)eval,
                                    (apr_uint64_t)(apr_uintptr_t)eval
                                        + sym->st_size));
    nm = rp_interp_names_new();
}

START_TEST(lines_as_python_decodes_them)
{
    static const char *const names[] = { "inner", "outer", "gen", NULL };
    int i;

    python_up();
    for (i = 0; names[i]; i++) {
        PyObject *fn = PyDict_GetItemString(globals, names[i]);
        PyCodeObject *co = (PyCodeObject *)PyFunction_GetCode(fn);
        Py_ssize_t units = Py_SIZE(co), a; /* code units */

        for (a = -1; a < units; a++) {
            int want = a < 0 ? co->co_firstlineno
                             : PyCode_Addr2Line(co, (int)a * 2);
            ck_assert_msg(rp_interp_python_line(co, a) == want,
                          "%s at %ld: %d, Python says %d", names[i], (long)a,
                          rp_interp_python_line(co, a), want);
        }
    }
}
END_TEST

START_TEST(a_merge_from_inside_python)
{
    PyObject *r;

    python_up();
    r = PyRun_String("outer()", Py_eval_input, globals, globals);
    ck_assert_ptr_nonnull(r);
    /* Innermost first: each with the line it is at; the comprehension,
     * the generator and the module code are frames too, and the names
     * are UTF-8. */
    ck_assert_str_eq(seen, "inner:9 K.m\u00e9thode.<locals>.<listcomp>:13 "
                           "K.m\u00e9thode:13 gen:16 outer:19 <module>:1");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("python");
    TCase *tc = tcase_create("py311");

    tcase_add_test(tc, offsets);
    tcase_add_test(tc, lines_as_python_decodes_them);
    tcase_add_test(tc, a_merge_from_inside_python);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(suite)
