/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_interp_python: CPython 3.11 functions in native stacks (mod_wsgi in
 * embedded mode; see rp_interp.h for the merge and its guard).
 *
 * What is read.  A thread running Python has a thread state whose
 * cframe->current_frame is its innermost frame; frames link to their
 * caller by previous.  Which thread state is the sampled thread's: the
 * one holding the GIL (_PyRuntime.gilstate.tstate_current) when its
 * native_thread_id is that thread's, else the one of that id, with
 * frames, in the interpreters' lists (mod_wsgi runs each application
 * group in a sub-interpreter with its own thread states, and a thread
 * that released the GIL, in sleep() or zlib, keeps its chain intact).  A
 * frame names its code object: qualified name, file, first line, and the
 * line of its last instruction, decoded from 3.11's location table here,
 * bounded (PyCode_Addr2Line is not ours to call in a signal handler).
 * Strings are copied as UTF-8 from any of the three layouts (compact
 * ASCII, compact of kind 1, 2 or 4, not compact).  Every object read is
 * checked against its type (PyCode_Type, PyUnicode_Type, PyBytes_Type)
 * before its fields are believed.  Offsets are 3.11's (rp_py_abi.h,
 * checked against the headers by check_py_abi); any other version turns
 * the walk off with the reason logged.
 *
 * The merge (rp_interp's rule, py-spy's): each native
 * _PyEval_EvalFrameDefault frame stands for the Python frames from the
 * cursor up to and including the next one flagged is_entry (the first
 * frame of each C-level call of the evaluator: "entered from C").  C
 * functions called from Python (zlib.compress) have no Python frame;
 * their native frames stay where they are.
 */

#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include <apr_strings.h>

#include "rp_interp.h"
#include "rp_py_abi.h"

/* Bounds: interpreters and thread states looked through, location-table
 * entries decoded per frame. */
#define INTERPS_MAX     256
#define THREADS_MAX     4096
#define LINETABLE_STEPS 65536

#define RD_PTR(p, off) (*(const char *const *)((const char *)(p) + (off)))
#define RD_U32(p, off) (*(const apr_uint32_t *)((const char *)(p) + (off)))
#define RD_I32(p, off) (*(const apr_int32_t *)((const char *)(p) + (off)))
#define RD_U64(p, off) (*(const apr_uint64_t *)((const char *)(p) + (off)))
#define RD_U8(p, off)  (*(const unsigned char *)((const char *)(p) + (off)))

static const char *runtime; /* &_PyRuntime */
static const void *code_type, *str_type, *bytes_type;
static apr_uint64_t eval_lo, eval_hi; /* _PyEval_EvalFrameDefault */

/* ------------------------------------------------------------------ */
/* Detection (child start) */

static const char *py_detect(apr_pool_t *p)
{
    const unsigned long *version = dlsym(RTLD_DEFAULT, "Py_Version");
    void *eval;
    Dl_info info;
    const ElfW(Sym) *sym = NULL;

    if (!version) {
        return "";
    }
    if ((*version >> 16) != RP_PY_VERSION_3_11) {
        return apr_psprintf(p, "Python %lu.%lu, not 3.11",
                            (*version >> 24) & 0xFF, (*version >> 16) & 0xFF);
    }
    runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
    code_type = dlsym(RTLD_DEFAULT, "PyCode_Type");
    str_type = dlsym(RTLD_DEFAULT, "PyUnicode_Type");
    bytes_type = dlsym(RTLD_DEFAULT, "PyBytes_Type");
    if (!runtime || !code_type || !str_type || !bytes_type) {
        return "_PyRuntime or a type object is not exported";
    }
    eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    if (!eval || !dladdr1(eval, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym
        || sym->st_size == 0) {
        return "_PyEval_EvalFrameDefault has no size in the symbol table";
    }
    eval_lo = (apr_uint64_t)(apr_uintptr_t)eval;
    eval_hi = eval_lo + sym->st_size;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Signal context */

static int is_a(const char *obj, const void *type)
{
    return rp_interp_ptr_ok(obj, 8) && RD_PTR(obj, RP_PY_OB_TYPE) == type;
}

/* Append code point C as UTF-8 to BUF at *LEN (at most MAX bytes). */
static int put_utf8(char *buf, apr_size_t *len, apr_size_t max,
                    apr_uint32_t c)
{
    char u[4];
    apr_size_t n;

    if (c < 0x80) {
        u[0] = (char)c;
        n = 1;
    }
    else if (c < 0x800) {
        u[0] = (char)(0xC0 | (c >> 6));
        u[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    }
    else if (c < 0x10000) {
        u[0] = (char)(0xE0 | (c >> 12));
        u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    }
    else if (c < 0x110000) {
        u[0] = (char)(0xF0 | (c >> 18));
        u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    else {
        return 0;
    }
    if (n > max - *len) {
        return 0;
    }
    memcpy(buf + *len, u, n);
    *len += n;
    return 1;
}

/* Copy the str S as UTF-8 (cut at a whole character). */
static int str_copy(const char *s, char *buf, apr_size_t *len, apr_size_t max)
{
    apr_uint32_t state, kind;
    apr_uint64_t n, i;
    const char *data;

    if (!is_a(s, str_type)) {
        return 0;
    }
    state = RD_U32(s, RP_PY_STR_STATE);
    kind = RP_PY_STATE_KIND(state);
    n = RD_U64(s, RP_PY_STR_LENGTH);
    if ((kind != 1 && kind != 2 && kind != 4) || n > (1u << 20)) {
        return 0;
    }
    if (RP_PY_STATE_COMPACT(state)) {
        data = s
               + (RP_PY_STATE_ASCII(state) ? RP_PY_STR_ASCII_DATA
                                           : RP_PY_STR_COMPACT_DATA);
    }
    else if (!rp_interp_ptr_ok(data = RD_PTR(s, RP_PY_STR_DATA_ANY), 1)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        apr_uint32_t c = kind == 1 ? (apr_uint32_t)(unsigned char)data[i]
                         : kind == 2
                             ? ((const apr_uint16_t *)(const void *)data)[i]
                             : ((const apr_uint32_t *)(const void *)data)[i];
        if (!put_utf8(buf, len, max, c)) {
            break;
        }
    }
    return 1;
}

static int py_name(const void *arg, char *name, apr_size_t *name_len,
                   char *file, apr_size_t *file_len, int *first_line)
{
    const char *code = arg;

    *name_len = *file_len = 0;
    if (!str_copy(RD_PTR(code, RP_PY_CO_QUALNAME), name, name_len,
                  RP_INAME_MAX)
        || !str_copy(RD_PTR(code, RP_PY_CO_FILENAME), file, file_len,
                     RP_INAME_MAX)) {
        return 0;
    }
    *first_line = RD_I32(code, RP_PY_CO_FIRSTLINENO);
    return 1;
}

static apr_uint32_t varint(const unsigned char **p, const unsigned char *end)
{
    apr_uint32_t read, val, shift = 0;

    if (*p >= end) {
        return 0;
    }
    read = *(*p)++;
    val = read & 63;
    while ((read & 64) && *p < end && shift < 24) {
        read = *(*p)++;
        shift += 6;
        val |= (read & 63) << shift;
    }
    return val;
}

static int svarint(const unsigned char **p, const unsigned char *end)
{
    apr_uint32_t u = varint(p, end);

    return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
}

/* The line of the instruction at code unit ADDR of CODE, from 3.11's
 * location table: entries of a header byte (bit 7 set; bits 3-6 the
 * kind, bits 0-2 the code units covered minus one) and the kind's
 * varints.  -1: the table says none (or is cut short). */
static int code_line(const char *code, apr_int64_t addr)
{
    const char *table = RD_PTR(code, RP_PY_CO_LINETABLE);
    const unsigned char *p, *end, *q;
    apr_int64_t size, pos = 0;
    int line = RD_I32(code, RP_PY_CO_FIRSTLINENO), steps = 0, delta, kind;

    if (addr < 0) {
        return line;
    }
    if (!is_a(table, bytes_type)) {
        return -1;
    }
    size = (apr_int64_t)RD_U64(table, RP_PY_OB_SIZE);
    if (size < 0 || size > (1 << 24)) {
        return -1;
    }
    p = (const unsigned char *)table + RP_PY_BYTES_SVAL;
    end = p + size;
    while (p < end && steps++ < LINETABLE_STEPS) {
        if (!(*p & 0x80)) {
            return -1;
        }
        kind = (*p >> 3) & 15;
        q = p + 1;
        delta = kind == 13 || kind == 14   ? svarint(&q, end)
                : kind >= 10 && kind <= 12 ? kind - 10
                                           : 0;
        line += delta;
        pos += (*p & 7) + 1;
        if (addr < pos) {
            return kind == 15 ? -1 : line;
        }
        /* The next entry starts at the next byte with bit 7 set. */
        do {
            p++;
        } while (p < end && !(*p & 0x80));
    }
    return -1;
}

static int frame_line(const char *frame, const char *code)
{
    const char *instr = RD_PTR(frame, RP_PY_FR_PREV_INSTR);
    const char *first = code + RP_PY_CO_CODE_ADAPTIVE;

    return code_line(code, (instr - first) / 2);
}

/* The thread state of thread TID that is running Python (its innermost
 * frame in *FRAME), or NULL. */
static const char *thread_state(int tid, const char **frame)
{
    const char *ts = RD_PTR(runtime, RP_PY_RT_TSTATE_CURRENT), *is, *cf;
    int i, k;

    *frame = NULL;
    if (ts && rp_interp_ptr_ok(ts, 8)
        && RD_U64(ts, RP_PY_TS_NATIVE_THREAD_ID) == (apr_uint64_t)tid
        && rp_interp_ptr_ok(cf = RD_PTR(ts, RP_PY_TS_CFRAME), 8)
        && (*frame = RD_PTR(cf, RP_PY_CF_CURRENT_FRAME)) != NULL) {
        return ts;
    }
    is = RD_PTR(runtime, RP_PY_RT_INTERPRETERS_HEAD);
    for (i = 0; is && i < INTERPS_MAX; i++) {
        if (!rp_interp_ptr_ok(is, 8)) {
            return NULL;
        }
        ts = RD_PTR(is, RP_PY_IS_THREADS_HEAD);
        for (k = 0; ts && k < THREADS_MAX; k++) {
            if (!rp_interp_ptr_ok(ts, 8)) {
                break;
            }
            if (RD_U64(ts, RP_PY_TS_NATIVE_THREAD_ID) == (apr_uint64_t)tid
                && rp_interp_ptr_ok(cf = RD_PTR(ts, RP_PY_TS_CFRAME), 8)
                && (*frame = RD_PTR(cf, RP_PY_CF_CURRENT_FRAME)) != NULL) {
                return ts;
            }
            ts = RD_PTR(ts, RP_PY_TS_NEXT);
        }
        is = RD_PTR(is, RP_PY_IS_NEXT);
    }
    return NULL;
}

static const void *py_top(int tid)
{
    const char *frame;

    return thread_state(tid, &frame) ? frame : NULL;
}

static int py_in_loop(apr_uint64_t pc)
{
    return pc >= eval_lo && pc < eval_hi;
}

/* Every frame of 3.11's list is Python code: its code object must be
 * one. */
static int py_frame(const void *f, int *kind, int *entry, const void **prev)
{
    *kind = RP_SF_SCRIPT;
    *entry = RD_U8(f, RP_PY_FR_IS_ENTRY) != 0;
    *prev = RD_PTR(f, RP_PY_FR_PREVIOUS);
    return is_a(RD_PTR(f, RP_PY_FR_CODE), code_type);
}

static apr_uint64_t py_word(rp_inames_t *nm, int which, const void *f,
                            rp_merge_counts_t *mc)
{
    const char *code = RD_PTR(f, RP_PY_FR_CODE);
    const char *qual = RD_PTR(code, RP_PY_CO_QUALNAME);
    /* The qualified name's address and hash (-1 until computed): a code
     * object made at the address of a freed one (a closure, exec) with
     * its name at the same address still differs here. */
    apr_uint64_t check =
        (apr_uint64_t)(apr_uintptr_t)qual
        ^ ((apr_uint64_t)(apr_uintptr_t)RD_PTR(code, RP_PY_CO_FILENAME) << 1);

    if (is_a(qual, str_type)) {
        check ^= RD_U64(qual, RP_PY_STR_HASH) * 31;
    }
    return rp_interp_word(nm, which, RP_LANG_PYTHON,
                          (apr_uint64_t)(apr_uintptr_t)code, check,
                          frame_line(f, code), py_name, code, mc);
}

int rp_interp_python_line(const void *code, long addr)
{
    return code_line(code, addr);
}

void rp_interp_python_set(const void *rt, const void *code, const void *str,
                          const void *bytes, apr_uint64_t lo, apr_uint64_t hi)
{
    runtime = rt;
    code_type = code;
    str_type = str;
    bytes_type = bytes;
    eval_lo = lo;
    eval_hi = hi;
}

const rp_interp_lang_t rp_interp_python = {
    RP_LANG_PYTHON, py_detect, py_top, py_in_loop, py_frame, py_word
};
