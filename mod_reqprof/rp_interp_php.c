/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_interp_php: PHP 8.2 functions in native stacks (mod_php, prefork,
 * non-ZTS; see rp_interp.h for the merge and its guard).
 *
 * What is read.  In a non-ZTS build the executor's globals are a plain
 * exported symbol, executor_globals; its current_execute_data is the
 * innermost frame of the running script, and each frame links to its
 * caller by prev_execute_data.  A frame names its function (func): its
 * type (user code, or an internal function written in C), its name and
 * class, and for user code its file, first line and opcodes; the frame's
 * opline says where it is (the innermost frame's may lag: the VM keeps
 * the current one in a register and stores it before calls).  Offsets
 * are PHP 8.2's on LP64, fixed for every 8.2.x (the extension API,
 * 20220829): a unit test compiles them against php8.2-dev's headers.  We
 * link to nothing of PHP's: everything is found with dlsym at child
 * start, and a version other than Zend Engine 4.2, a ZTS build, another
 * VM kind or opcache's JIT (whose code has no execute_ex frames) turns
 * the walk off with the reason logged.
 *
 * The merge (rp_interp's rule).  PHP's hybrid VM runs nested user calls
 * in one native execute_ex frame; it is entered again only when C code
 * calls PHP (zend_call_function: array_map's callback, a generator
 * resumed, the script itself from php_execute_script), and each such
 * entry flags its first frame ZEND_CALL_TOP: the frame "entered from C".
 * Internal functions (preg_match, array_map) have native frames of their
 * own (zif_preg_match): their PHP frames are RP_SF_NATIVE, shown only
 * above a native stack cut short (JIT-compiled PCRE2 code), where the
 * time then stays under the PHP function that spent it.
 */

#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include <apr_strings.h>

#include "rp_interp.h"
#include "rp_php_abi.h"


#define RD_PTR(p, off) (*(const char *const *)((const char *)(p) + (off)))
#define RD_U32(p, off) (*(const apr_uint32_t *)((const char *)(p) + (off)))
#define RD_U64(p, off) (*(const apr_uint64_t *)((const char *)(p) + (off)))
#define RD_U8(p, off)  (*(const unsigned char *)((const char *)(p) + (off)))

static const char *eg;            /* &executor_globals */
static apr_uint64_t vm_lo, vm_hi; /* execute_ex's code */

/* ------------------------------------------------------------------ */
/* Detection (child start) */

typedef const char *(*version_fn)(void);
typedef int (*vm_kind_fn)(void);
typedef long (*ini_long_fn)(const char *name, size_t len, int orig);
typedef char *(*ini_str_fn)(const char *name, size_t len, int orig);

/* Whether opcache's JIT would run user code: then there is no
 * execute_ex frame to put PHP's in place of. */
static int jit_on(void)
{
    ini_long_fn il = (ini_long_fn)dlsym(RTLD_DEFAULT, "zend_ini_long");
    ini_str_fn is = (ini_str_fn)dlsym(RTLD_DEFAULT, "zend_ini_string");
    static const char *const off[] = { "",        "0",        "off",
                                       "disable", "disabled", NULL };
    const char *mode;
    int i;

    if (!il || !is) {
        return 0;
    }
    if (il("opcache.enable", sizeof("opcache.enable") - 1, 0) <= 0
        || il("opcache.jit_buffer_size",
              sizeof("opcache.jit_buffer_size") - 1, 0)
               <= 0) {
        return 0;
    }
    mode = is("opcache.jit", sizeof("opcache.jit") - 1, 0);
    for (i = 0; mode && off[i]; i++) {
        if (strcasecmp(mode, off[i]) == 0) {
            return 0;
        }
    }
    return 1;
}

static const char *php_detect(apr_pool_t *p)
{
    version_fn version = (version_fn)dlsym(RTLD_DEFAULT, "get_zend_version");
    vm_kind_fn kind;
    const char *v;
    void *ex;
    Dl_info info;
    const ElfW(Sym) *sym = NULL;

    if (!version) {
        return "";
    }
    v = version();
    if (!v || strncmp(v, "Zend Engine v4.2.", 17) != 0) {
        return apr_psprintf(p, "%.40s is not PHP 8.2's Zend Engine 4.2",
                            v ? v : "an engine that gives no version");
    }
    if (!(eg = dlsym(RTLD_DEFAULT, "executor_globals"))) {
        return "a thread-safe (ZTS) build: its globals are per thread";
    }
    kind = (vm_kind_fn)dlsym(RTLD_DEFAULT, "zend_vm_kind");
    if (!kind || kind() != RP_PHP_VM_KIND_HYBRID) {
        return "not the hybrid VM";
    }
    ex = dlsym(RTLD_DEFAULT, "execute_ex");
    if (!ex || !dladdr1(ex, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym
        || sym->st_size == 0) {
        return "execute_ex has no size in the symbol table";
    }
    if (jit_on()) {
        return "opcache's JIT is on: its code has no frames to walk "
               "(opcache.jit=disable keeps opcache and shows PHP)";
    }
    vm_lo = (apr_uint64_t)(apr_uintptr_t)ex;
    vm_hi = vm_lo + sym->st_size;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Signal context */

/* Copy the zend_string S (at most MAX - 1 bytes) to BUF at *LEN. */
static int str_copy(const char *s, char *buf, apr_size_t *len, apr_size_t max)
{
    apr_uint64_t n;

    if (!rp_interp_ptr_ok(s, 8)) {
        return 0;
    }
    n = RD_U64(s, RP_PHP_STR_LEN);
    if (n > (1u << 20)) {
        return 0;
    }
    if (n > max - *len) {
        n = max - *len;
    }
    memcpy(buf + *len, s + RP_PHP_STR_VAL, (apr_size_t)n);
    *len += (apr_size_t)n;
    return 1;
}

static int php_name(const void *arg, char *name, apr_size_t *name_len,
                    char *file, apr_size_t *file_len, int *first_line)
{
    const char *func = arg, *fname = RD_PTR(func, RP_PHP_FN_NAME);
    const char *scope = RD_PTR(func, RP_PHP_FN_SCOPE);
    int user = RD_U8(func, RP_PHP_FN_TYPE) != RP_PHP_FUNC_INTERNAL;

    *name_len = *file_len = 0;
    *first_line = 0;
    if (scope) {
        if (!rp_interp_ptr_ok(scope, 8)
            || !str_copy(RD_PTR(scope, RP_PHP_CE_NAME), name, name_len,
                         RP_INAME_MAX - 2)) {
            return 0;
        }
        memcpy(name + *name_len, "::", 2);
        *name_len += 2;
    }
    if (!fname) {
        memcpy(name + *name_len, "{main}", 6);
        *name_len += 6;
    }
    else if (!str_copy(fname, name, name_len, RP_INAME_MAX)) {
        return 0;
    }
    if (user) {
        if (!str_copy(RD_PTR(func, RP_PHP_OP_FILENAME), file, file_len,
                      RP_INAME_MAX)) {
            return 0;
        }
        *first_line = (int)RD_U32(func, RP_PHP_OP_LINE_START);
    }
    return 1;
}

static const void *php_top(int tid)
{
    (void)tid; /* non-ZTS: one chain per process */
    return RD_PTR(eg, RP_PHP_EG_CURRENT_EXECUTE_DATA);
}

static int php_in_loop(apr_uint64_t pc)
{
    return pc >= vm_lo && pc < vm_hi;
}

static int php_frame(const void *f, int *kind, int *entry, const void **prev)
{
    const char *func = RD_PTR(f, RP_PHP_EX_FUNC);
    unsigned type;

    *prev = RD_PTR(f, RP_PHP_EX_PREV);
    *entry = (RD_U32(f, RP_PHP_EX_CALL_INFO) & RP_PHP_CALL_TOP) != 0;
    if (!func) {
        *kind = RP_SF_NONE;
        return 1;
    }
    if (!rp_interp_ptr_ok(func, 8)) {
        return 0;
    }
    type = RD_U8(func, RP_PHP_FN_TYPE);
    *kind = type == RP_PHP_FUNC_INTERNAL ? RP_SF_NATIVE : RP_SF_SCRIPT;
    return type == RP_PHP_FUNC_INTERNAL || type == RP_PHP_FUNC_USER
           || type == RP_PHP_FUNC_EVAL;
}

/* The line a user frame is at: its opline's, when that lies in its
 * opcodes; else the function's first. */
static int frame_line(const char *ex, const char *func)
{
    const char *op = RD_PTR(ex, RP_PHP_EX_OPLINE),
               *ops = RD_PTR(func, RP_PHP_OP_OPCODES);
    apr_uint64_t last = RD_U32(func, RP_PHP_OP_LAST);

    if (ops && op >= ops && op < ops + last * RP_PHP_OPLINE_SIZE
        && rp_interp_ptr_ok(op, 8)) {
        return (int)RD_U32(op, RP_PHP_OPLINE_LINENO);
    }
    return (int)RD_U32(func, RP_PHP_OP_LINE_START);
}

static apr_uint64_t php_word(rp_inames_t *nm, int which, const void *f,
                             rp_merge_counts_t *mc)
{
    const char *func = RD_PTR(f, RP_PHP_EX_FUNC);
    const char *fname = RD_PTR(func, RP_PHP_FN_NAME);
    int user = RD_U8(func, RP_PHP_FN_TYPE) != RP_PHP_FUNC_INTERNAL;
    apr_uint64_t check =
        (apr_uint64_t)(apr_uintptr_t)fname
        ^ ((apr_uint64_t)(apr_uintptr_t)RD_PTR(func, RP_PHP_FN_SCOPE) << 1);

    if (user) {
        check ^= (apr_uint64_t)(apr_uintptr_t)RD_PTR(func, RP_PHP_OP_FILENAME)
                 << 2;
    }
    /* The name's hash (interned names carry it): a function compiled
     * at the same address as another, with its name at the same
     * address too, still differs here. */
    if (fname && rp_interp_ptr_ok(fname, 8)) {
        check ^= RD_U64(fname, RP_PHP_STR_H) * 31;
    }
    return rp_interp_word(nm, which, RP_LANG_PHP,
                          (apr_uint64_t)(apr_uintptr_t)func, check,
                          user ? frame_line(f, func) : 0, php_name, func, mc);
}

void rp_interp_php_set(const void *globals, apr_uint64_t lo, apr_uint64_t hi)
{
    eg = globals;
    vm_lo = lo;
    vm_hi = hi;
}

const rp_interp_lang_t rp_interp_php = { RP_LANG_PHP, php_detect, php_top,
                                         php_in_loop, php_frame,  php_word };
