/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * check_interp: the merge of PHP frames into native stacks, on PHP
 * structures laid out here by hand at rp_php_abi.h's offsets (whose
 * agreement with PHP's own headers check_php_abi checks): one execute_ex
 * frame per group of user frames up to a ZEND_CALL_TOP one, internal
 * functions beside their native frames, names with class, {main} and
 * file and line, a mismatch and a fault keeping the native stack alone,
 * a native stack cut short getting the whole chain above it, the name
 * table's reset and its bound, and the fault guard.
 */

#include <string.h>
#include <sys/mman.h>

#include <apr_strings.h>
#include <check.h>

#include "rp_interp.h"
#include "rp_php_abi.h"
#include "unit_main.h"

/* execute_ex's code, and other native code, at made-up addresses. */
#define VM_LO     0x10000000u
#define VM_HI     0x10010000u
#define VM        ((void *)(apr_uintptr_t)(VM_LO + 0x100))
#define NATIVE(n) ((void *)(apr_uintptr_t)(0x20000000u + 0x10u * (n)))

#define PUT_PTR(b, off, v) memcpy((char *)(b) + (off), &(v), sizeof(void *))
#define PUT_U32(b, off, v)                                                   \
    do {                                                                     \
        apr_uint32_t v_ = (v);                                               \
        memcpy((char *)(b) + (off), &v_, 4);                                 \
    } while (0)

typedef struct {
    _Alignas(8) char b[256];
} blob_t;

typedef struct {
    _Alignas(8) char b[1024];
} globals_t;

static globals_t eg;
static blob_t strs[1024], funcs[512], frames[512], ces[8];
static int nstrs, nfuncs, nframes, nces;
static apr_pool_t *pool;
static rp_inames_t *nm;

static const char *zstr(const char *s)
{
    blob_t *z = &strs[nstrs++];
    apr_uint64_t len = strlen(s);

    memcpy(z->b + RP_PHP_STR_LEN, &len, 8);
    memcpy(z->b + RP_PHP_STR_VAL, s, len);
    return z->b;
}

static const char *klass(const char *name)
{
    blob_t *c = &ces[nces++];
    const char *n = zstr(name);

    PUT_PTR(c->b, RP_PHP_CE_NAME, n);
    return c->b;
}

/* A user function NAME (NULL: a file's code) of FILE from line FIRST. */
static const char *user(const char *name, const char *scope, int first)
{
    blob_t *f = &funcs[nfuncs++];
    const char *n = name ? zstr(name) : NULL;
    const char *file = zstr("/srv/app/index.php");

    f->b[RP_PHP_FN_TYPE] = RP_PHP_FUNC_USER;
    PUT_PTR(f->b, RP_PHP_FN_NAME, n);
    PUT_PTR(f->b, RP_PHP_FN_SCOPE, scope);
    PUT_PTR(f->b, RP_PHP_OP_FILENAME, file);
    PUT_U32(f->b, RP_PHP_OP_LINE_START, (apr_uint32_t)first);
    return f->b;
}

static const char *internal(const char *name)
{
    blob_t *f = &funcs[nfuncs++];
    const char *n = zstr(name);

    f->b[RP_PHP_FN_TYPE] = RP_PHP_FUNC_INTERNAL;
    PUT_PTR(f->b, RP_PHP_FN_NAME, n);
    return f->b;
}

/* A frame of FUNC called by PREV; TOP: entered from C. */
static const char *frame(const char *func, const char *prev, int top)
{
    blob_t *x = &frames[nframes++];

    PUT_PTR(x->b, RP_PHP_EX_FUNC, func);
    PUT_PTR(x->b, RP_PHP_EX_PREV, prev);
    PUT_U32(x->b, RP_PHP_EX_CALL_INFO, top ? RP_PHP_CALL_TOP : 0);
    return x->b;
}

static void running(const char *ex)
{
    PUT_PTR(eg.b, RP_PHP_EG_CURRENT_EXECUTE_DATA, ex);
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    memset(&eg, 0, sizeof(eg));
    memset(strs, 0, sizeof(strs));
    memset(funcs, 0, sizeof(funcs));
    memset(frames, 0, sizeof(frames));
    nstrs = nfuncs = nframes = nces = 0;
    ck_assert(rp_interp_test_php(eg.b, VM_LO, VM_HI));
    nm = rp_interp_names_new();
    ck_assert_ptr_nonnull(nm);
}

static void teardown(void)
{
    rp_interp_names_free(nm);
    apr_pool_destroy(pool);
}

/* OUT's words as "name" (native: "#n"), space separated. */
static const char *show(void *const *out, int n)
{
    const char *s = "";
    rp_script_frame_t f;
    int i;

    for (i = 0; i < n; i++) {
        apr_uint64_t w = (apr_uint64_t)(apr_uintptr_t)out[i];
        if (w >= VM_LO && w < VM_HI) {
            s = apr_psprintf(pool, "%s%sexecute_ex", s, i ? " " : "");
        }
        else if (RP_INTERP_IS_TAG(w)) {
            rp_interp_frame(nm, w, &f);
            s = apr_psprintf(pool, "%s%s%.*s", s, i ? " " : "",
                             (int)f.name_len, f.name);
        }
        else {
            s = apr_psprintf(pool, "%s%s#%d", s, i ? " " : "",
                             (int)((w - 0x20000000u) / 0x10));
        }
    }
    return s;
}

static const char *merge(void *const *in, int n, rp_merge_counts_t *mc)
{
    void *out[64];
    int cut = 0, m;

    memset(mc, 0, sizeof(*mc));
    m = rp_interp_merge(nm, 0, 0, in, n, out, 64, &cut, mc);
    ck_assert_int_eq(cut, 0);
    return show(out, m);
}

START_TEST(one_group_in_place_of_execute_ex)
{
    const char *mainf = user(NULL, NULL, 1), *a = user("a", NULL, 10);
    const char *b = user("b", NULL, 20);
    void *in[] = { NATIVE(1), VM, NATIVE(2), NATIVE(3) };
    rp_merge_counts_t mc;

    running(frame(b, frame(a, frame(mainf, NULL, 1), 0), 0));
    ck_assert_str_eq(merge(in, 4, &mc), "#1 b a {main} #2 #3");
    ck_assert_int_eq(mc.merged, 1);
    ck_assert_int_eq(mc.mismatch + mc.fault + mc.cut, 0);
}
END_TEST

START_TEST(groups_split_at_top_frames)
{
    /* {main} -> f -> array_map (C) -> {closure} (entered from C). */
    const char *mainf = user(NULL, NULL, 1), *f = user("f", NULL, 5);
    const char *map = internal("array_map");
    const char *clo = user("{closure}", klass("Shop"), 7);
    void *in[] = { VM, NATIVE(4), NATIVE(5), VM, NATIVE(6) };
    rp_merge_counts_t mc;

    running(frame(clo, frame(map, frame(f, frame(mainf, NULL, 1), 0), 0), 1));
    ck_assert_str_eq(merge(in, 5, &mc), "Shop::{closure} #4 #5 f {main} #6");
    ck_assert_int_eq(mc.merged, 1);
}
END_TEST

START_TEST(inner_internal_frame_is_its_native_one)
{
    /* The VM called preg_match: its C frames are inner; its PHP frame
     * goes. */
    const char *mainf = user(NULL, NULL, 1), *g = user("g", NULL, 3);
    void *in[] = { NATIVE(7), NATIVE(8), VM, NATIVE(9) };
    rp_merge_counts_t mc;

    running(
        frame(internal("preg_match"), frame(g, frame(mainf, NULL, 1), 0), 0));
    ck_assert_str_eq(merge(in, 4, &mc), "#7 #8 g {main} #9");
}
END_TEST

START_TEST(more_script_than_loop_frames_is_a_mismatch)
{
    const char *mainf = user(NULL, NULL, 1), *a = user("a", NULL, 2);
    void *in[] = { VM, NATIVE(1) };
    rp_merge_counts_t mc;

    /* a was entered from C, but no second execute_ex is on the stack. */
    running(frame(a, frame(mainf, NULL, 1), 1));
    ck_assert_str_eq(merge(in, 2, &mc), "execute_ex #1");
    ck_assert_int_eq(mc.mismatch, 1);
    ck_assert_int_eq(mc.merged, 0);
}
END_TEST

START_TEST(a_cut_stack_gets_the_whole_chain_above)
{
    const char *mainf = user(NULL, NULL, 1), *re = user("regex", NULL, 40);
    void *in[] = { NATIVE(99) };
    rp_merge_counts_t mc;

    running(frame(internal("preg_match"), frame(re, frame(mainf, NULL, 1), 0),
                  0));
    ck_assert_str_eq(merge(in, 1, &mc), "#99 preg_match regex {main}");
    ck_assert_int_eq(mc.cut, 1);
}
END_TEST

START_TEST(no_script_running_copies_the_stack)
{
    void *in[] = { NATIVE(1), NATIVE(2) };
    rp_merge_counts_t mc;

    running(NULL);
    ck_assert_str_eq(merge(in, 2, &mc), "#1 #2");
    ck_assert_int_eq(mc.merged + mc.mismatch + mc.fault + mc.cut, 0);
}
END_TEST

START_TEST(a_bad_pointer_is_a_fault_not_a_crash)
{
    /* A function pointer into a page that is not readable: the read
     * faults inside the walk and the guard drops the script frames. */
    char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                      0);
    void *in[] = { VM, NATIVE(1) };
    rp_merge_counts_t mc;

    ck_assert_ptr_ne(page, MAP_FAILED);
    running(frame(page + 64, NULL, 1));
    ck_assert_str_eq(merge(in, 2, &mc), "execute_ex #1");
    ck_assert_int_eq(mc.fault, 1);
    /* A frame pointer out of user space fails the check before a read. */
    running((const char *)(apr_uintptr_t)0x8);
    ck_assert_str_eq(merge(in, 2, &mc), "execute_ex #1");
    ck_assert_int_eq(mc.fault, 1);
    munmap(page, 4096);
}
END_TEST

START_TEST(names_lines_and_reset)
{
    _Alignas(8) char ops[4 * RP_PHP_OPLINE_SIZE];
    const char *mainf = user(NULL, NULL, 1);
    const char *m = user("total", klass("Shop"), 27);
    const char *ex;
    void *in[] = { VM }, *out[8];
    rp_script_frame_t f;
    rp_merge_counts_t mc;
    int cut, n;

    memset(ops, 0, sizeof(ops));
    PUT_U32(ops + 2 * RP_PHP_OPLINE_SIZE, RP_PHP_OPLINE_LINENO, 29);
    PUT_U32((char *)m, RP_PHP_OP_LAST, 4);
    {
        const char *o = ops;
        PUT_PTR((char *)m, RP_PHP_OP_OPCODES, o);
    }
    ex = frame(m, frame(mainf, NULL, 1), 0);
    {
        const char *op = ops + 2 * RP_PHP_OPLINE_SIZE;
        PUT_PTR((char *)ex, RP_PHP_EX_OPLINE, op);
    }
    running(ex);
    memset(&mc, 0, sizeof(mc));
    n = rp_interp_merge(nm, 0, 0, in, 1, out, 8, &cut, &mc);
    ck_assert_int_eq(n, 2);
    ck_assert(rp_interp_frame(nm, (apr_uint64_t)(apr_uintptr_t)out[0], &f));
    ck_assert_int_eq(f.lang, RP_LANG_PHP);
    ck_assert_str_eq(apr_pstrmemdup(pool, f.name, f.name_len), "Shop::total");
    ck_assert_str_eq(apr_pstrmemdup(pool, f.file, f.file_len), "/srv/app/"
                                                               "index.php");
    ck_assert_int_eq(f.first_line, 27);
    ck_assert_int_eq(f.line, 29);
    /* An opline outside the function's opcodes: its first line. */
    ck_assert(rp_interp_frame(nm, (apr_uint64_t)(apr_uintptr_t)out[1], &f));
    ck_assert_int_eq(f.line, 1);
    /* A new request keeps the names while the table has room: the
     * function is found again, not copied again. */
    rp_interp_names_begin(nm);
    ck_assert(rp_interp_frame(nm, (apr_uint64_t)(apr_uintptr_t)out[0], &f));
    ck_assert_str_eq(apr_pstrmemdup(pool, f.name, f.name_len), "Shop::total");
    memset(&mc, 0, sizeof(mc));
    n = rp_interp_merge(nm, 0, 0, in, 1, out + 2, 6, &cut, &mc);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(mc.copied, 0);
    ck_assert_uint_eq((apr_uint64_t)(apr_uintptr_t)out[2],
                      (apr_uint64_t)(apr_uintptr_t)out[0]);
    /* Forgotten, the word names nothing now. */
    rp_interp_names_reset(nm);
    ck_assert(!rp_interp_frame(nm, (apr_uint64_t)(apr_uintptr_t)out[0], &f));
    ck_assert_str_eq(apr_pstrmemdup(pool, f.name, f.name_len), "[lost]");
}
END_TEST

START_TEST(a_full_table_names_the_rest_so)
{
    /* 250 functions of 250-byte names outgrow the 64K of names. */
    const char *prev = frame(user(NULL, NULL, 1), NULL, 1);
    void *in[] = { VM }, *out[256];
    char name[251];
    rp_merge_counts_t mc;
    rp_script_frame_t f;
    int i, cut, n;

    for (i = 0; i < 250; i++) {
        memset(name, 'a' + i % 26, 250);
        apr_snprintf(name, 8, "f%03d", i);
        name[4] = 'x';
        name[250] = 0;
        prev = frame(user(name, NULL, i + 2), prev, 0);
    }
    running(prev);
    memset(&mc, 0, sizeof(mc));
    n = rp_interp_merge(nm, 0, 0, in, 1, out, 256, &cut, &mc);
    ck_assert_int_eq(n, 251);
    ck_assert_int_gt(mc.names_full, 0);
    ck_assert_int_eq(mc.merged, 1);
    rp_interp_frame(nm, (apr_uint64_t)(apr_uintptr_t)out[0], &f);
    ck_assert_int_eq(strncmp(f.name, "f249", 4), 0);
    rp_interp_frame(nm, (apr_uint64_t)(apr_uintptr_t)out[249], &f);
    ck_assert_str_eq(apr_pstrmemdup(pool, f.name, f.name_len), "[names "
                                                               "full]");
    ck_assert_int_eq(f.lang, RP_LANG_PHP);
    /* Three quarters full: the next request starts over. */
    rp_interp_names_begin(nm);
    ck_assert(!rp_interp_frame(nm, (apr_uint64_t)(apr_uintptr_t)out[0], &f));
}
END_TEST

static void touch(void *arg)
{
    *(volatile char *)arg = 1;
}

START_TEST(the_guard_catches_faults_only_while_armed)
{
    char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                      0);
    char ok = 0;

    ck_assert_ptr_ne(page, MAP_FAILED);
    ck_assert_int_eq(rp_interp_test_guarded(touch, page), 1);
    ck_assert_int_eq(rp_interp_test_guarded(touch, page), 1);
    ck_assert_int_eq(rp_interp_test_guarded(touch, &ok), 0);
    ck_assert_int_eq(ok, 1);
    munmap(page, 4096);
}
END_TEST

START_TEST(an_unguarded_fault_meets_the_handler_before_us)
{
    /* Outside a walk the fault is not ours: the process dies of it as
     * it would have without the module (Check's fork sees the signal). */
    char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                      0);

    signal(SIGSEGV, SIG_DFL);
    ck_assert(rp_interp_test_php(eg.b, VM_LO, VM_HI));
    touch(page);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("interp");
    TCase *tc = tcase_create("php");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, one_group_in_place_of_execute_ex);
    tcase_add_test(tc, groups_split_at_top_frames);
    tcase_add_test(tc, inner_internal_frame_is_its_native_one);
    tcase_add_test(tc, more_script_than_loop_frames_is_a_mismatch);
    tcase_add_test(tc, a_cut_stack_gets_the_whole_chain_above);
    tcase_add_test(tc, no_script_running_copies_the_stack);
    tcase_add_test(tc, a_bad_pointer_is_a_fault_not_a_crash);
    tcase_add_test(tc, names_lines_and_reset);
    tcase_add_test(tc, a_full_table_names_the_rest_so);
    tcase_add_test(tc, the_guard_catches_faults_only_while_armed);
    tcase_add_test_raise_signal(
        tc, an_unguarded_fault_meets_the_handler_before_us, SIGSEGV);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(suite)
