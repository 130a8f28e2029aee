/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Unit tests of rp_objects and rp_symbols, the two halves of turning a
 * sampled PC into a function and a source line in another process.
 *
 * rp_objects: a PC in this test, in libc and in libapr maps to the right
 * object, and PC - base equals the symbol's value in the file (what nm
 * prints, read here with libelf); address 0, the heap, the stack and a
 * kernel address map to nothing; build-ids equal the files' notes; a
 * library dlopen'ed after the snapshot is found after a refresh, which
 * keeps the pointers of unchanged objects, while other threads search;
 * the vDSO is "[vdso]", at its image's addresses.
 *
 * rp_symbols: a static function of this test is named, with this file and
 * the line; a return address minus one gives the line of the call; libc's
 * qsort and libapr's apr_palloc are named; libc's PLT, which no symbol
 * covers, gives "libc.so.6+0xSTART" with START its FDE's (as readelf
 * lists the FDEs); in a stripped library (libz) every address of a
 * static function gives "libz.so.1+0xSTART", its FDE's start, while an
 * exported function keeps its name; a stripped copy of this test gives
 * "name+0xSTART" and its static function back once a separate debug file
 * is found through .gnu_debuglink, but not a debug file of another
 * build, and "name+0xREL" once its .eh_frame is gone too; a stripped
 * library built here gets its static function's name and line from a
 * debug file laid out as -dbgsym packages do (.build-id/xx/yyyy.debug),
 * under the directory rp_symbols is told to look in and only there;
 * DWARF without .debug_aranges (clang's default) still gives lines; the
 * vDSO's functions are named from this process's image, as perf names
 * them (__vdso_clock_gettime); a wrong build-id marks answers stale;
 * missing, relative and non-ELF paths give "name+0xREL"; answers are
 * cached; four threads get the same answers at once.
 *
 * Built with -g; the stripped-copy tests run objcopy, the FDE checks
 * readelf (binutils), the debug-directory test the C compiler ($CC, else
 * cc).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <limits.h>
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>

#include <gelf.h>
#include <elfutils/libdwelf.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "rp_objects.h"
#include "rp_symbols.h"

#include "unit_main.h"

static apr_pool_t *pool;

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    elf_version(EV_CURRENT);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
}


/* ------------------------------------------------------------------ */
/* Known code in this file.  noinline and noclone keep each a function of
 * its own name; volatile keeps the bodies from being folded away. */

#if defined(__GNUC__) && !defined(__clang__)
#define KNOWN_FN    __attribute__((noinline, noclone))
#else
#define KNOWN_FN    __attribute__((noinline))
#endif

static volatile int sink;

static const int static_fn_line = __LINE__ + 2;
static KNOWN_FN int
rp_test_static_fn(int x)
{
    sink = x;
    return sink * 3 + 1;
}

static KNOWN_FN void *rp_test_callee(void)
{
    sink++;
    return __builtin_extract_return_addr(__builtin_return_address(0));
}

/* The return address of a call, and the line of that call. */
static KNOWN_FN void *rp_test_caller(int *line)
{
    void *ra;

    *line = __LINE__; ra = rp_test_callee();
    sink++;
    return ra;
}

static apr_uint64_t addr_of(void (*fn)(void))
{
    return (apr_uint64_t)(apr_uintptr_t)fn;
}

#define FN_ADDR(fn)     addr_of((void (*)(void))(fn))


/* ------------------------------------------------------------------ */
/* What the files say, read with libelf rather than through the code under
 * test. */

static const char *self_path(void)
{
    static char buf[PATH_MAX];

    ck_assert_ptr_nonnull(realpath("/proc/self/exe", buf));
    return buf;
}

/* Call FN(NAME, SYM, ARG) for each defined symbol of PATH's .symtab and
 * .dynsym, until it returns non-zero; what it returned last. */
static int each_symbol(const char *path,
                        int (*fn)(const char *, const GElf_Sym *, void *),
                        void *arg)
{
    Elf_Scn *scn = NULL;
    Elf *elf;
    int fd, done = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    elf = elf_begin(fd, ELF_C_READ, NULL);
    ck_assert_ptr_nonnull(elf);
    while (!done && (scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        Elf_Data *d;
        size_t i;

        if (!gelf_getshdr(scn, &sh)
            || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
            || sh.sh_entsize == 0 || !(d = elf_getdata(scn, NULL))) {
            continue;
        }
        for (i = 0; !done && i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym sym;
            const char *s;

            if (gelf_getsym(d, (int)i, &sym) && sym.st_shndx != SHN_UNDEF
                && (s = elf_strptr(elf, sh.sh_link, sym.st_name)) != NULL) {
                done = fn(s, &sym, arg);
            }
        }
    }
    elf_end(elf);
    close(fd);
    return done;
}

typedef struct {
    const char *name;
    apr_uint64_t value;
    int found;
} named_t;

static int match_name(const char *name, const GElf_Sym *sym, void *arg)
{
    named_t *n = arg;

    if (strcmp(name, n->name) == 0) {
        n->value = sym->st_value;
        n->found = 1;
    }
    return n->found;
}

/* 1 when PATH's .symtab or .dynsym defines NAME, with its value in
 * *VALUE. */
static int has_symbol(const char *path, const char *name,
                      apr_uint64_t *value)
{
    named_t n = { name, 0, 0 };

    each_symbol(path, match_name, &n);
    *value = n.value;
    return n.found;
}

/* The value of defined symbol NAME in PATH's .symtab or .dynsym. */
static apr_uint64_t file_symbol(const char *path, const char *name)
{
    apr_uint64_t value;

    ck_assert_msg(has_symbol(path, name, &value), "no symbol %s in %s",
                  name, path);
    return value;
}

/* 1 when PATH has a section NAME, with its address in *ADDR. */
static int file_section(const char *path, const char *name,
                        apr_uint64_t *addr)
{
    Elf_Scn *scn = NULL;
    size_t shstrndx;
    Elf *elf;
    int fd, found = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    elf = elf_begin(fd, ELF_C_READ, NULL);
    ck_assert_ptr_nonnull(elf);
    ck_assert_int_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
    while (!found && (scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        const char *s;

        if (gelf_getshdr(scn, &sh)
            && (s = elf_strptr(elf, shstrndx, sh.sh_name)) != NULL
            && strcmp(s, name) == 0) {
            *addr = sh.sh_addr;
            found = 1;
        }
    }
    elf_end(elf);
    close(fd);
    return found;
}

/* The build-id note of the file at PATH, in hex, or "". */
static const char *file_build_id(const char *path)
{
    const unsigned char *id;
    char *hex = "";
    Elf *elf;
    int fd, len, i;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    elf = elf_begin(fd, ELF_C_READ, NULL);
    ck_assert_ptr_nonnull(elf);
    len = dwelf_elf_gnu_build_id(elf, (const void **)&id);
    if (len > 0) {
        hex = apr_palloc(pool, 2 * len + 1);
        for (i = 0; i < len; i++) {
            sprintf(hex + 2 * i, "%02x", id[i]);
        }
    }
    elf_end(elf);
    close(fd);
    return hex;
}

/* The address of NAME in the loaded library SONAME (its own definition,
 * not an interposer's such as ASan's). */
static apr_uint64_t lib_symbol(const char *soname, const char *name)
{
    void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    void *sym;

    ck_assert_msg(h != NULL, "%s not loaded", soname);
    sym = dlsym(h, name);
    ck_assert_msg(sym != NULL, "no %s in %s", name, soname);
    dlclose(h);
    return (apr_uint64_t)(apr_uintptr_t)sym;
}

static int ends_with(const char *s, const char *tail)
{
    apr_size_t n = strlen(s), t = strlen(tail);

    return n >= t && strcmp(s + n - t, tail) == 0;
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* The FDEs of PATH (.eh_frame and .debug_frame), as readelf lists them:
 * its pc=LO..HI ranges, into an array of 2 * n apr_uint64_t. */
static apr_array_header_t *file_fdes(const char *path)
{
    apr_array_header_t *fdes = apr_array_make(pool, 256,
                                              sizeof(apr_uint64_t));
    char line[512];
    FILE *fp;

    fp = popen(apr_psprintf(pool, "readelf --debug-dump=frames '%s' "
                            "2>/dev/null", path), "r");
    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof(line), fp)) {
        unsigned long long lo, hi;
        const char *pc = strstr(line, " FDE ") ? strstr(line, "pc=") : NULL;

        if (pc && sscanf(pc, "pc=%llx..%llx", &lo, &hi) == 2 && lo < hi) {
            APR_ARRAY_PUSH(fdes, apr_uint64_t) = lo;
            APR_ARRAY_PUSH(fdes, apr_uint64_t) = hi;
        }
    }
    /* Not its status: readelf 2.40 exits 1 on libc.so.6 after listing
     * every FDE, and says nothing why. */
    pclose(fp);
    ck_assert_msg(fdes->nelts > 0, "readelf lists no FDE in %s", path);
    return fdes;
}

/* 1 when one of FDES covers ADDR, with its range in [*LO, *HI). */
static int fde_of(const apr_array_header_t *fdes, apr_uint64_t addr,
                  apr_uint64_t *lo, apr_uint64_t *hi)
{
    int i;

    for (i = 0; i + 1 < fdes->nelts; i += 2) {
        if (APR_ARRAY_IDX(fdes, i, apr_uint64_t) <= addr
            && addr < APR_ARRAY_IDX(fdes, i + 1, apr_uint64_t)) {
            *lo = APR_ARRAY_IDX(fdes, i, apr_uint64_t);
            *hi = APR_ARRAY_IDX(fdes, i + 1, apr_uint64_t);
            return 1;
        }
    }
    return 0;
}

typedef struct {
    apr_uint64_t lo;
    apr_uint64_t hi;
} span_t;

static int in_span(const char *name, const GElf_Sym *sym, void *arg)
{
    const span_t *r = arg;

    return sym->st_shndx < SHN_LORESERVE && sym->st_value < r->hi
           && sym->st_value + (sym->st_size ? sym->st_size : 1) > r->lo;
}

/* 1 when a defined symbol of PATH (.symtab or .dynsym) starts in or
 * covers part of [LO, HI). */
static int file_has_symbol_in(const char *path, apr_uint64_t lo,
                              apr_uint64_t hi)
{
    span_t r = { lo, hi };

    return each_symbol(path, in_span, &r);
}

static const char *debug_file_of(const char *build_id)
{
    ck_assert_uint_gt(strlen(build_id), 2);
    return apr_psprintf(pool, "/usr/lib/debug/.build-id/%.2s/%s.debug",
                        build_id, build_id + 2);
}

/* Run COMMAND through the shell; 1 when it exited 0. */
static int run(const char *command)
{
    int rc = system(command);

    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

/* This process's vDSO image, written to PATH so that the helpers above
 * (and readelf) read it as a file; its load bias into *BASE.  The
 * image's size is where its section headers or segments end, whichever
 * is last. */
static void vdso_to_file(const char *path, apr_uint64_t *base)
{
    const unsigned char *image = (const unsigned char *)(apr_uintptr_t)
                                 getauxval(AT_SYSINFO_EHDR);
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)image;
    const ElfW(Phdr) *ph;
    apr_size_t size;
    apr_uint64_t lowest = ~(apr_uint64_t)0;
    FILE *fp;
    int i;

    ck_assert_ptr_nonnull(image);
    ck_assert_int_eq(memcmp(eh->e_ident, ELFMAG, SELFMAG), 0);
    ph = (const ElfW(Phdr) *)(image + eh->e_phoff);
    size = eh->e_shoff + (apr_size_t)eh->e_shnum * eh->e_shentsize;
    for (i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            if (ph[i].p_offset + ph[i].p_filesz > size) {
                size = ph[i].p_offset + ph[i].p_filesz;
            }
            if (ph[i].p_vaddr < lowest) {
                lowest = ph[i].p_vaddr;
            }
        }
    }
    ck_assert_uint_ne(lowest, ~(apr_uint64_t)0);
    *base = (apr_uint64_t)(apr_uintptr_t)image - lowest;
    fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(image, 1, size, fp), size);
    ck_assert_int_eq(fclose(fp), 0);
}


/* ------------------------------------------------------------------ */
/* rp_objects */

START_TEST(test_find_self)
{
    rp_objects_t *o = rp_objects_create(pool);
    apr_uint64_t pc = FN_ADDR(rp_test_static_fn), rel = 0;
    const rp_loaded_t *obj = rp_objects_find(o, pc, &rel);
    const char *self = self_path();

    ck_assert_ptr_nonnull(obj);
    ck_assert_str_eq(obj->path, self);
    ck_assert_uint_eq(rel, pc - obj->base);
    ck_assert_uint_eq(rel, file_symbol(self, "rp_test_static_fn"));
    ck_assert_uint_le(obj->start, pc);
    ck_assert_uint_gt(obj->end, pc);
    ck_assert_str_ne(obj->build_id, "");
    ck_assert_str_eq(obj->build_id, file_build_id(self));

    /* Every PC of the object maps to the same entry. */
    ck_assert_ptr_eq(rp_objects_find(o, obj->start, &rel), obj);
    ck_assert_uint_eq(rel, obj->start - obj->base);
    ck_assert_ptr_eq(rp_objects_find(o, obj->end - 1, &rel), obj);
}
END_TEST

START_TEST(test_find_libraries)
{
    static const struct {
        const char *soname;
        const char *symbol;
    } libs[] = {
        { "libc.so.6", "qsort" },
        { "libapr-1.so.0", "apr_palloc" }
    };
    rp_objects_t *o = rp_objects_create(pool);
    apr_size_t i;

    for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        apr_uint64_t pc = lib_symbol(libs[i].soname, libs[i].symbol);
        apr_uint64_t rel = 0;
        const rp_loaded_t *obj = rp_objects_find(o, pc, &rel);
        const ElfW(Sym) *sym = NULL;
        Dl_info info;

        ck_assert_msg(obj != NULL, "%s not found", libs[i].symbol);
        ck_assert_msg(ends_with(obj->path, apr_pstrcat(pool, "/",
                                                       libs[i].soname, NULL)),
                      "%s is in %s", libs[i].symbol, obj->path);
        ck_assert_uint_eq(rel, pc - obj->base);
        /* What nm prints for it, and what the loader says. */
        ck_assert_uint_eq(rel, file_symbol(obj->path, libs[i].symbol));
        ck_assert_int_ne(dladdr1((void *)(apr_uintptr_t)pc, &info,
                                 (void **)&sym, RTLD_DL_SYMENT), 0);
        ck_assert_ptr_nonnull(sym);
        ck_assert_uint_eq(rel, sym->st_value);
        ck_assert_str_eq(obj->build_id, file_build_id(obj->path));
        ck_assert_uint_eq(strlen(obj->build_id), 40);
    }
}
END_TEST

START_TEST(test_find_nothing)
{
    rp_objects_t *o = rp_objects_create(pool);
    apr_uint64_t rel = 12345;
    void *heap = malloc(64);
    int local = 0;

    ck_assert_ptr_null(rp_objects_find(o, 0, &rel));
    ck_assert_ptr_null(rp_objects_find(o, 4096, &rel));
    ck_assert_ptr_null(rp_objects_find(o, (apr_uint64_t)(apr_uintptr_t)heap,
                                       &rel));
    ck_assert_ptr_null(rp_objects_find(o, (apr_uint64_t)(apr_uintptr_t)&local,
                                       &rel));
    ck_assert_ptr_null(rp_objects_find(o, ~(apr_uint64_t)0, &rel));
    ck_assert_ptr_null(rp_objects_find(o, 0xffffffff81000000ULL, &rel));
    ck_assert_uint_eq(rel, 12345);
    free(heap);
}
END_TEST

/* The vDSO is "[vdso]", as perf names it, whatever the loader calls it;
 * PC - base is the address in its image, its build-id the image's. */
START_TEST(test_find_vdso)
{
    char path[] = "/tmp/rp_vdso.XXXXXX";
    rp_objects_t *o = rp_objects_create(pool);
    apr_uint64_t base, value, rel = 0;
    const rp_loaded_t *obj;
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    close(fd);
    vdso_to_file(path, &base);
    value = file_symbol(path, "__vdso_clock_gettime");
    obj = rp_objects_find(o, base + value, &rel);
    ck_assert_ptr_nonnull(obj);
    ck_assert_str_eq(obj->path, "[vdso]");
    ck_assert_uint_eq(obj->base, base);
    ck_assert_uint_eq(rel, value);
    ck_assert_str_eq(obj->build_id, file_build_id(path));
    ck_assert_int_eq(unlink(path), 0);
}
END_TEST

/* A library that is installed and not loaded yet. */
static const char *unloaded_library(void)
{
    static const char *const names[] = {
        "libpcre2-posix.so.3", "libunwind.so.8", "libz.so.1", "libm.so.6"
    };
    apr_size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        void *h = dlopen(names[i], RTLD_LAZY | RTLD_NOLOAD);

        if (h) {
            dlclose(h);
            continue;
        }
        if ((h = dlopen(names[i], RTLD_LAZY)) != NULL) {
            dlclose(h);
            if ((h = dlopen(names[i], RTLD_LAZY | RTLD_NOLOAD)) == NULL) {
                return names[i];    /* and unloaded again */
            }
            dlclose(h);
        }
    }
    ck_abort_msg("no unloaded library to dlopen");
    return NULL;
}

START_TEST(test_refresh)
{
    rp_objects_t *o = rp_objects_create(pool);
    apr_uint64_t qsort_pc = lib_symbol("libc.so.6", "qsort"), rel;
    const rp_loaded_t *libc = rp_objects_find(o, qsort_pc, &rel);
    const rp_loaded_t *obj;
    const char *name = unloaded_library();
    struct link_map *map;
    apr_uint64_t pc;
    void *h;

    ck_assert_ptr_nonnull(libc);
    h = dlopen(name, RTLD_NOW);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(dlinfo(h, RTLD_DI_LINKMAP, &map), 0);
    /* Its dynamic section is mapped inside it. */
    pc = (apr_uint64_t)(apr_uintptr_t)map->l_ld;
    ck_assert_ptr_null(rp_objects_find(o, pc, &rel));

    rp_objects_refresh(o);
    obj = rp_objects_find(o, pc, &rel);
    ck_assert_ptr_nonnull(obj);
    ck_assert_str_eq(obj->path, map->l_name);
    ck_assert_uint_eq(obj->base, map->l_addr);
    ck_assert_uint_eq(rel, pc - map->l_addr);
    ck_assert_str_eq(obj->build_id, file_build_id(obj->path));
    /* Unchanged objects keep their entries. */
    ck_assert_ptr_eq(rp_objects_find(o, qsort_pc, &rel), libc);

    /* Nothing changed: nothing changes. */
    rp_objects_refresh(o);
    ck_assert_ptr_eq(rp_objects_find(o, pc, &rel), obj);

    /* Unloaded: gone from the table, the old entry still readable. */
    ck_assert_int_eq(dlclose(h), 0);
    rp_objects_refresh(o);
    ck_assert_ptr_null(rp_objects_find(o, pc, &rel));
    ck_assert_uint_gt(strlen(obj->path), 0);
    ck_assert_ptr_eq(rp_objects_find(o, qsort_pc, &rel), libc);
}
END_TEST

#define N_THREADS   4

typedef struct {
    const rp_objects_t *o;
    const rp_loaded_t *expect;
    apr_uint64_t pc;
    apr_uint64_t rel;
    int *stop;
    long finds;                 /* read by the main thread meanwhile */
    long wrong;
} finder_t;

static void *finder(void *arg)
{
    finder_t *f = arg;

    while (!__atomic_load_n(f->stop, __ATOMIC_RELAXED)) {
        apr_uint64_t rel = 0;

        if (rp_objects_find(f->o, f->pc, &rel) != f->expect || rel != f->rel) {
            f->wrong++;
        }
        __atomic_fetch_add(&f->finds, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* Wait until every finder has searched N more times than in BEFORE. */
static void wait_finds(const finder_t *f, const long *before, long n)
{
    int i;

    for (i = 0; i < N_THREADS; i++) {
        while (__atomic_load_n(&f[i].finds, __ATOMIC_RELAXED)
               < before[i] + n) {
            sched_yield();
        }
    }
}

START_TEST(test_find_during_refresh)
{
    rp_objects_t *o = rp_objects_create(pool);
    const char *name = unloaded_library();
    apr_uint64_t pc = lib_symbol("libc.so.6", "qsort");
    pthread_t tid[N_THREADS];
    finder_t f[N_THREADS];
    long before[N_THREADS] = { 0 };
    int stop = 0;
    int i;

    for (i = 0; i < N_THREADS; i++) {
        f[i].o = o;
        f[i].pc = pc;
        f[i].expect = rp_objects_find(o, pc, &f[i].rel);
        f[i].stop = &stop;
        f[i].finds = f[i].wrong = 0;
        ck_assert_ptr_nonnull(f[i].expect);
        ck_assert_int_eq(pthread_create(&tid[i], NULL, finder, &f[i]), 0);
    }
    /* Every thread searching before, during and after the swaps. */
    wait_finds(f, before, 1000);
    for (i = 0; i < 40; i++) {
        void *h = dlopen(name, RTLD_NOW);

        ck_assert_ptr_nonnull(h);
        rp_objects_refresh(o);
        dlclose(h);
        rp_objects_refresh(o);
    }
    for (i = 0; i < N_THREADS; i++) {
        before[i] = __atomic_load_n(&f[i].finds, __ATOMIC_RELAXED);
    }
    wait_finds(f, before, 1000);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (i = 0; i < N_THREADS; i++) {
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
        ck_assert_msg(f[i].wrong == 0, "thread %d: %ld of %ld finds wrong",
                      i, f[i].wrong, f[i].finds);
    }
}
END_TEST


/* ------------------------------------------------------------------ */
/* rp_symbols */

START_TEST(test_static_function)
{
    rp_objects_t *o = rp_objects_create(pool);
    rp_symbols_t *s = rp_symbols_create(pool);
    apr_uint64_t rel;
    const rp_loaded_t *obj = rp_objects_find(o, FN_ADDR(rp_test_static_fn),
                                             &rel);
    const rp_symbol_t *sym;

    ck_assert_ptr_nonnull(obj);
    sym = rp_symbols_lookup(s, obj->path, obj->build_id, rel);
    ck_assert_str_eq(sym->function, "rp_test_static_fn");
    ck_assert_uint_eq(sym->sym_offset, 0);
    ck_assert_str_eq(sym->object, obj->path);
    ck_assert_int_eq(sym->stale, 0);
    ck_assert_ptr_nonnull(sym->file);
    ck_assert_msg(ends_with(sym->file, "/check_symbols.c"), "file %s",
                  sym->file);
    ck_assert_int_ge(sym->line, static_fn_line);
    ck_assert_int_le(sym->line, static_fn_line + 2);

    /* Inside the function: same name, the offset from its start. */
    sym = rp_symbols_lookup(s, obj->path, obj->build_id, rel + 1);
    ck_assert_str_eq(sym->function, "rp_test_static_fn");
    ck_assert_uint_eq(sym->sym_offset, 1);
}
END_TEST

START_TEST(test_return_address_line)
{
    rp_objects_t *o = rp_objects_create(pool);
    rp_symbols_t *s = rp_symbols_create(pool);
    int line = 0;
    apr_uint64_t ra = (apr_uint64_t)(apr_uintptr_t)rp_test_caller(&line);
    apr_uint64_t rel;
    const rp_loaded_t *obj = rp_objects_find(o, ra, &rel);
    const rp_symbol_t *sym;

    ck_assert_ptr_nonnull(obj);
    sym = rp_symbols_lookup(s, obj->path, obj->build_id, rel - 1);
    ck_assert_str_eq(sym->function, "rp_test_caller");
    ck_assert_ptr_nonnull(sym->file);
    ck_assert(ends_with(sym->file, "/check_symbols.c"));
    ck_assert_int_eq(sym->line, line);
    ck_assert_uint_gt(sym->sym_offset, 0);
}
END_TEST

START_TEST(test_library_functions)
{
    static const struct {
        const char *soname;
        const char *symbol;
    } libs[] = {
        { "libc.so.6", "qsort" },
        { "libapr-1.so.0", "apr_palloc" }
    };
    rp_objects_t *o = rp_objects_create(pool);
    rp_symbols_t *s = rp_symbols_create(pool);
    apr_size_t i;

    for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        apr_uint64_t rel;
        const rp_loaded_t *obj;
        const rp_symbol_t *sym;

        obj = rp_objects_find(o, lib_symbol(libs[i].soname, libs[i].symbol),
                              &rel);
        ck_assert_ptr_nonnull(obj);
        sym = rp_symbols_lookup(s, obj->path, obj->build_id, rel);
        ck_assert_str_eq(sym->function, libs[i].symbol);
        ck_assert_uint_eq(sym->sym_offset, 0);
        ck_assert_int_eq(sym->stale, 0);
        /* Lines exactly when there is debug information to give them. */
        if (exists(debug_file_of(obj->build_id))) {
            ck_assert_msg(sym->file != NULL && sym->line > 0,
                          "%s: no line from %s", libs[i].symbol,
                          debug_file_of(obj->build_id));
        }
        sym = rp_symbols_lookup(s, obj->path, obj->build_id, rel + 2);
        ck_assert_str_eq(sym->function, libs[i].symbol);
        ck_assert_uint_eq(sym->sym_offset, 2);
    }
}
END_TEST

/* The PLT holds code that no symbol covers, in a file that has symbols;
 * the linker gives it an FDE of its own. */
START_TEST(test_no_symbol)
{
    rp_objects_t *o = rp_objects_create(pool);
    rp_symbols_t *s = rp_symbols_create(pool);
    apr_uint64_t rel, plt, lo, hi;
    const rp_loaded_t *libc = rp_objects_find(o, lib_symbol("libc.so.6",
                                                            "qsort"), &rel);
    const rp_symbol_t *sym;

    ck_assert_ptr_nonnull(libc);
    if (!file_section(libc->path, ".plt", &plt)) {
        fprintf(stderr, "test_no_symbol: %s has no .plt, not checked\n",
                libc->path);
        return;
    }
    sym = rp_symbols_lookup(s, libc->path, libc->build_id, plt + 0x12);
    if (!fde_of(file_fdes(libc->path), plt + 0x12, &lo, &hi)) {
        lo = 0;                 /* no FDE: the address itself */
    }
    ck_assert_str_eq(sym->function,
                     apr_psprintf(pool, "libc.so.6+0x%" APR_UINT64_T_HEX_FMT,
                                  lo ? lo : plt + 0x12));
    ck_assert_uint_eq(sym->sym_offset, plt + 0x12 - lo);
    ck_assert_ptr_null(sym->file);
    ck_assert_int_eq(sym->line, 0);
    ck_assert_str_eq(sym->object, libc->path);
}
END_TEST

/* A stripped library as Debian ships it: no .symtab, so its static
 * functions have no symbol, only an FDE each. */
START_TEST(test_stripped_library)
{
    static const struct {
        const char *path;
        const char *exported;
    } libs[] = {
        { "/lib/x86_64-linux-gnu/libz.so.1", "deflate" },
        { "/usr/lib/x86_64-linux-gnu/libz.so.1", "deflate" },
        { "/lib/x86_64-linux-gnu/libpcre2-8.so.0", "pcre2_compile_8" },
        { "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0", "pcre2_compile_8" }
    };
    rp_symbols_t *s = rp_symbols_create(pool);
    const apr_array_header_t *fdes;
    const rp_symbol_t *a, *b, *c;
    apr_uint64_t lo = 0, hi = 0, value, addr;
    const char *path = NULL, *base, *want;
    char real[PATH_MAX];
    apr_size_t i;
    int k;

    /* One whose debug file is installed (zlib1g-dbgsym) has its static
     * functions named: test_build_id_debug_dir checks that case. */
    for (i = 0; !path && i < sizeof(libs) / sizeof(libs[0]); i++) {
        if (exists(libs[i].path)
            && !file_section(libs[i].path, ".symtab", &addr)
            && !exists(debug_file_of(file_build_id(libs[i].path)))) {
            path = libs[i].path;
            break;
        }
    }
    if (!path) {
        fprintf(stderr, "test_stripped_library: no stripped libz or "
                "libpcre2 without its debug file installed, not checked\n");
        return;
    }
    base = strrchr(path, '/') + 1;

    /* The largest FDE no symbol touches: a static function. */
    fdes = file_fdes(path);
    for (k = 0; k + 1 < fdes->nelts; k += 2) {
        apr_uint64_t l = APR_ARRAY_IDX(fdes, k, apr_uint64_t);
        apr_uint64_t h = APR_ARRAY_IDX(fdes, k + 1, apr_uint64_t);

        if (h - l > hi - lo && !file_has_symbol_in(path, l, h)) {
            lo = l;
            hi = h;
        }
    }
    ck_assert_msg(hi - lo >= 16, "%s: no static function of 16 bytes", path);

    /* Three PCs in it, one row; the offsets from its start. */
    want = apr_psprintf(pool, "%s+0x%" APR_UINT64_T_HEX_FMT, base, lo);
    a = rp_symbols_lookup(s, path, file_build_id(path), lo + 1);
    b = rp_symbols_lookup(s, path, file_build_id(path), lo + (hi - lo) / 2);
    c = rp_symbols_lookup(s, path, NULL, hi - 1);
    ck_assert_str_eq(a->function, want);
    ck_assert_str_eq(b->function, want);
    ck_assert_str_eq(c->function, want);
    ck_assert_uint_eq(a->sym_offset, 1);
    ck_assert_uint_eq(b->sym_offset, (hi - lo) / 2);
    ck_assert_uint_eq(c->sym_offset, hi - 1 - lo);
    ck_assert_int_eq(a->stale, 0);
    ck_assert_str_eq(a->object, path);
    ck_assert_ptr_ne(a, b);
    /* The start itself, and past the end (its padding, or another
     * function's start). */
    ck_assert_str_eq(rp_symbols_lookup(s, path, NULL, lo)->function, want);
    ck_assert_uint_eq(rp_symbols_lookup(s, path, NULL, lo)->sym_offset, 0);
    ck_assert_str_ne(rp_symbols_lookup(s, path, NULL, hi)->function, want);

    /* Another build's file: its FDEs say nothing of the sampled one. */
    a = rp_symbols_lookup(s, path, "0123456789abcdef", lo + 1);
    ck_assert_int_eq(a->stale, 1);
    ck_assert_str_eq(a->function,
                     apr_psprintf(pool, "%s+0x%" APR_UINT64_T_HEX_FMT, base,
                                  lo + 1));

    /* Exported functions keep their names, by the symlink's real name
     * too. */
    for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        if (strcmp(libs[i].path, path) == 0) {
            break;
        }
    }
    value = file_symbol(path, libs[i].exported);
    a = rp_symbols_lookup(s, path, NULL, value + 4);
    ck_assert_str_eq(a->function, libs[i].exported);
    ck_assert_uint_eq(a->sym_offset, 4);
    ck_assert_ptr_nonnull(realpath(path, real));
    a = rp_symbols_lookup(s, real, NULL, value);
    ck_assert_str_eq(a->function, libs[i].exported);
    a = rp_symbols_lookup(s, real, NULL, lo + 1);
    ck_assert_str_eq(a->function,
                     apr_psprintf(pool, "%s+0x%" APR_UINT64_T_HEX_FMT,
                                  strrchr(real, '/') + 1, lo));
}
END_TEST

START_TEST(test_no_file)
{
    rp_symbols_t *s = rp_symbols_create(pool);
    const rp_symbol_t *sym;

    sym = rp_symbols_lookup(s, "/nonexistent/dir/libnothing.so.1", "abcd",
                            0x1a2b);
    ck_assert_str_eq(sym->function, "libnothing.so.1+0x1a2b");
    ck_assert_ptr_null(sym->file);
    ck_assert_int_eq(sym->line, 0);
    ck_assert_str_eq(sym->object, "/nonexistent/dir/libnothing.so.1");
    ck_assert_uint_eq(sym->sym_offset, 0x1a2b);
    ck_assert_int_eq(sym->stale, 0);

    /* Not an ELF file; a loader name without a file; no path at all. */
    sym = rp_symbols_lookup(s, "/dev/null", NULL, 16);
    ck_assert_str_eq(sym->function, "null+0x10");
    sym = rp_symbols_lookup(s, "linux-nothing.so.1", "", 0xff0);
    ck_assert_str_eq(sym->function, "linux-nothing.so.1+0xff0");
    ck_assert_ptr_null(sym->file);
    sym = rp_symbols_lookup(s, "", "", 1);
    ck_assert_str_eq(sym->function, "+0x1");
}
END_TEST

typedef struct {
    rp_symbols_t *s;
    const char *path;           /* the image, as a file */
    const char *build_id;
    int functions;              /* checked */
} vdso_check_t;

/* Each function of the vDSO's symbol table is named after itself or an
 * alias at its address. */
static int check_vdso_function(const char *name, const GElf_Sym *sym,
                               void *arg)
{
    vdso_check_t *c = arg;
    const rp_symbol_t *got;
    apr_uint64_t value;

    if (GELF_ST_TYPE(sym->st_info) != STT_FUNC || sym->st_size == 0) {
        return 0;
    }
    got = rp_symbols_lookup(c->s, "[vdso]", c->build_id, sym->st_value);
    ck_assert_msg(has_symbol(c->path, got->function, &value)
                  && value == sym->st_value, "%s in the vDSO is named %s",
                  name, got->function);
    ck_assert_uint_eq(got->sym_offset, 0);
    c->functions++;
    return 0;
}

/* The vDSO's functions by the names perf gives them, read from this
 * process's image: __vdso_clock_gettime, the global name, rather than
 * its weak alias clock_gettime. */
START_TEST(test_vdso)
{
    char path[] = "/tmp/rp_vdso.XXXXXX";
    rp_objects_t *o = rp_objects_create(pool);
    rp_symbols_t *s = rp_symbols_create(pool);
    apr_uint64_t base, value, alias, rel = 0;
    const apr_array_header_t *fdes;
    const rp_loaded_t *obj;
    const rp_symbol_t *sym;
    vdso_check_t check;
    int fd = mkstemp(path), k;

    ck_assert_int_ge(fd, 0);
    close(fd);
    vdso_to_file(path, &base);
    value = file_symbol(path, "__vdso_clock_gettime");
    obj = rp_objects_find(o, base + value + 3, &rel);
    ck_assert_ptr_nonnull(obj);

    sym = rp_symbols_lookup(s, obj->path, obj->build_id, rel);
    ck_assert_str_eq(sym->function, "__vdso_clock_gettime");
    ck_assert_uint_eq(sym->sym_offset, 3);
    ck_assert_str_eq(sym->object, "[vdso]");
    ck_assert_int_eq(sym->stale, 0);
    if (has_symbol(path, "clock_gettime", &alias)) {
        ck_assert_uint_eq(alias, value);
    }
    /* By a loader's name too, as an older profile holds it. */
    sym = rp_symbols_lookup(s, "linux-vdso.so.1", obj->build_id, value);
    ck_assert_str_eq(sym->function, "__vdso_clock_gettime");
    ck_assert_uint_eq(sym->sym_offset, 0);
    /* Another kernel's vDSO: the best guess, marked. */
    sym = rp_symbols_lookup(s, "[vdso]", "0123456789abcdef", value);
    ck_assert_str_eq(sym->function, "__vdso_clock_gettime [stale]");
    ck_assert_int_eq(sym->stale, 1);

    check.s = s;
    check.path = path;
    check.build_id = obj->build_id;
    check.functions = 0;
    each_symbol(path, check_vdso_function, &check);
    ck_assert_int_ge(check.functions, 4);

    /* A static function (x86-64's vread_pvclock under kvm-clock) has an
     * FDE and no symbol: one row, at its start. */
    fdes = file_fdes(path);
    for (k = 0; k + 1 < fdes->nelts; k += 2) {
        apr_uint64_t lo = APR_ARRAY_IDX(fdes, k, apr_uint64_t);
        apr_uint64_t hi = APR_ARRAY_IDX(fdes, k + 1, apr_uint64_t);

        if (hi - lo < 2 || file_has_symbol_in(path, lo, hi)) {
            continue;
        }
        sym = rp_symbols_lookup(s, "[vdso]", obj->build_id, lo + 1);
        ck_assert_str_eq(sym->function,
                         apr_psprintf(pool, "[vdso]+0x%"
                                      APR_UINT64_T_HEX_FMT, lo));
        ck_assert_uint_eq(sym->sym_offset, 1);
    }
    ck_assert_int_eq(unlink(path), 0);
}
END_TEST

START_TEST(test_stale)
{
    rp_objects_t *o = rp_objects_create(pool);
    rp_symbols_t *s = rp_symbols_create(pool);
    apr_uint64_t rel;
    const rp_loaded_t *obj = rp_objects_find(o, FN_ADDR(rp_test_static_fn),
                                             &rel);
    const rp_symbol_t *fresh, *stale, *unknown;

    ck_assert_ptr_nonnull(obj);
    stale = rp_symbols_lookup(s, obj->path, "0123456789abcdef", rel);
    ck_assert_str_eq(stale->function, "rp_test_static_fn [stale]");
    ck_assert_int_eq(stale->stale, 1);
    ck_assert_ptr_null(stale->file);
    ck_assert_int_eq(stale->line, 0);

    fresh = rp_symbols_lookup(s, obj->path, obj->build_id, rel);
    ck_assert_str_eq(fresh->function, "rp_test_static_fn");
    ck_assert_int_eq(fresh->stale, 0);
    ck_assert_ptr_nonnull(fresh->file);

    /* No build-id to check: taken as the file's. */
    unknown = rp_symbols_lookup(s, obj->path, "", rel);
    ck_assert_ptr_eq(unknown, fresh);
    ck_assert_ptr_eq(rp_symbols_lookup(s, obj->path, NULL, rel), fresh);
    ck_assert_ptr_eq(rp_symbols_lookup(s, obj->path, "fedcba", rel), stale);
}
END_TEST

START_TEST(test_cache)
{
    rp_objects_t *o = rp_objects_create(pool);
    rp_symbols_t *s = rp_symbols_create(pool);
    apr_uint64_t rel;
    const rp_loaded_t *obj = rp_objects_find(o, FN_ADDR(rp_test_static_fn),
                                             &rel);
    const rp_symbol_t *a, *b;
    char path[PATH_MAX];

    ck_assert_ptr_nonnull(obj);
    a = rp_symbols_lookup(s, obj->path, obj->build_id, rel);
    b = rp_symbols_lookup(s, obj->path, obj->build_id, rel);
    ck_assert_ptr_eq(a, b);
    /* Keyed by the path's contents, not its address. */
    apr_cpystrn(path, obj->path, sizeof(path));
    ck_assert_ptr_eq(rp_symbols_lookup(s, path, obj->build_id, rel), a);
    ck_assert_ptr_ne(rp_symbols_lookup(s, path, obj->build_id, rel + 1), a);
    a = rp_symbols_lookup(s, "/nonexistent/x.so", "", 5);
    ck_assert_ptr_eq(rp_symbols_lookup(s, "/nonexistent/x.so", "", 5), a);
}
END_TEST

static void flip_last_byte(const char *path)
{
    FILE *fp = fopen(path, "r+b");
    int c;

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fseek(fp, -1, SEEK_END), 0);
    c = fgetc(fp);
    ck_assert_int_ne(c, EOF);
    ck_assert_int_eq(fseek(fp, -1, SEEK_END), 0);
    ck_assert_int_ne(fputc(c ^ 0xff, fp), EOF);
    ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_stripped_and_debuglink)
{
    rp_objects_t *o = rp_objects_create(pool);
    apr_uint64_t rel;
    const rp_loaded_t *obj = rp_objects_find(o, FN_ADDR(rp_test_static_fn),
                                             &rel);
    char dir[] = "/tmp/rp_symbols.XXXXXX";
    const char *stripped, *debug, *note;
    apr_uint64_t addr;
    const rp_symbol_t *sym;

    ck_assert_ptr_nonnull(obj);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(mkdir(apr_pstrcat(pool, dir, "/.debug", NULL), 0700), 0);
    stripped = apr_pstrcat(pool, dir, "/stripped", NULL);
    note = apr_pstrcat(pool, dir, "/note", NULL);
    debug = apr_pstrcat(pool, dir, "/.debug/stripped.dbg", NULL);
    ck_assert_msg(run(apr_psprintf(pool, "objcopy --only-keep-debug '%s' '%s'",
                                   obj->path, debug)), "objcopy failed");
    ck_assert(run(apr_psprintf(pool, "objcopy --strip-all "
                               "--add-gnu-debuglink='%s' '%s' '%s'",
                               debug, obj->path, stripped)));
    ck_assert_str_eq(file_build_id(stripped), obj->build_id);

    /* The debug file, found by .gnu_debuglink in .debug/: everything. */
    sym = rp_symbols_lookup(rp_symbols_create(pool), stripped, obj->build_id,
                            rel);
    ck_assert_str_eq(sym->function, "rp_test_static_fn");
    ck_assert_ptr_nonnull(sym->file);
    ck_assert(ends_with(sym->file, "/check_symbols.c"));
    ck_assert_int_ge(sym->line, static_fn_line);

    /* The same debug file with another build-id, as a rebuild would
     * leave: symbols and lines that would look right, and are not used. */
    ck_assert(run(apr_psprintf(pool, "objcopy --dump-section "
                               ".note.gnu.build-id='%s' '%s'", note, debug)));
    flip_last_byte(note);
    ck_assert(run(apr_psprintf(pool, "objcopy --update-section "
                               ".note.gnu.build-id='%s' '%s'", note, debug)));
    ck_assert_str_ne(file_build_id(debug), obj->build_id);
    sym = rp_symbols_lookup(rp_symbols_create(pool), stripped, obj->build_id,
                            rel + 1);
    ck_assert_str_eq(sym->function,
                     apr_psprintf(pool, "stripped+0x%" APR_UINT64_T_HEX_FMT,
                                  rel));
    ck_assert_uint_eq(sym->sym_offset, 1);
    ck_assert_ptr_null(sym->file);

    /* None at all: no symbol covers a static function of a stripped
     * object, and its FDE starts where the function does. */
    ck_assert_int_eq(unlink(debug), 0);
    sym = rp_symbols_lookup(rp_symbols_create(pool), stripped, obj->build_id,
                            rel + 1);
    ck_assert_str_eq(sym->function,
                     apr_psprintf(pool, "stripped+0x%" APR_UINT64_T_HEX_FMT,
                                  rel));
    ck_assert_uint_eq(sym->sym_offset, 1);
    ck_assert_ptr_null(sym->file);

    /* Nor an FDE: the address itself. */
    ck_assert(run(apr_psprintf(pool, "objcopy --strip-all "
                               "--remove-section=.eh_frame "
                               "--remove-section=.eh_frame_hdr '%s' '%s'",
                               obj->path, stripped)));
    ck_assert_int_eq(file_section(stripped, ".eh_frame", &addr), 0);
    sym = rp_symbols_lookup(rp_symbols_create(pool), stripped, obj->build_id,
                            rel + 1);
    ck_assert_str_eq(sym->function,
                     apr_psprintf(pool, "stripped+0x%" APR_UINT64_T_HEX_FMT,
                                  rel + 1));
    ck_assert_uint_eq(sym->sym_offset, rel + 1);

    /* DWARF without .debug_aranges, as clang emits it: lines all the
     * same, from the units' own ranges. */
    ck_assert(run(apr_psprintf(pool, "objcopy --remove-section=.debug_aranges"
                               " '%s' '%s'", obj->path, stripped)));
    ck_assert_int_eq(file_section(stripped, ".debug_aranges", &addr), 0);
    sym = rp_symbols_lookup(rp_symbols_create(pool), stripped, obj->build_id,
                            rel);
    ck_assert_str_eq(sym->function, "rp_test_static_fn");
    ck_assert_ptr_nonnull(sym->file);
    ck_assert(ends_with(sym->file, "/check_symbols.c"));
    ck_assert_int_ge(sym->line, static_fn_line);
    ck_assert_int_le(sym->line, static_fn_line + 2);

    ck_assert_int_eq(unlink(stripped), 0);
    ck_assert_int_eq(unlink(note), 0);
    ck_assert_int_eq(rmdir(apr_pstrcat(pool, dir, "/.debug", NULL)), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A small library, built by the test: a static function that only the
 * debug information names, called by an exported one. */
static const char dbg_lib_src[] =
    "static int __attribute__((noinline)) rp_dbg_hidden(int x)\n"
    "{\n"
    "    volatile int y = x;\n"
    "    return y * 7 + 3;\n"
    "}\n"
    "int rp_dbg_exported(int x)\n"
    "{\n"
    "    return rp_dbg_hidden(x) + 1;\n"
    "}\n"
    "void *rp_dbg_hidden_addr(void)\n"
    "{\n"
    "    return (void *)rp_dbg_hidden;\n"
    "}\n";
#define DBG_HIDDEN_LINE     1

/* A stripped library whose debug file is where a -dbgsym package puts
 * it, DIR/.build-id/xx/yyyy.debug: its static function gets its name,
 * file and line once rp_symbols looks under DIR, and the FDE's
 * "name+0xSTART" while it looks under /usr/lib/debug (which has no such
 * file); a debug file of another build at that name is not used. */
START_TEST(test_build_id_debug_dir)
{
    char dir[] = "/tmp/rp_symbols.XXXXXX";
    const char *src, *lib, *dbg, *root, *debug, *id, *note, *cc, *fdestart;
    apr_uint64_t rel, value, exported;
    rp_objects_t *o;
    rp_symbols_t *s;
    const rp_loaded_t *obj;
    const rp_symbol_t *sym;
    void *(*hidden_addr)(void);
    FILE *fp;
    void *h;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    src = apr_pstrcat(pool, dir, "/rpdbg.c", NULL);
    lib = apr_pstrcat(pool, dir, "/librpdbg.so", NULL);
    dbg = apr_pstrcat(pool, dir, "/librpdbg.dbg", NULL);
    note = apr_pstrcat(pool, dir, "/note", NULL);
    root = apr_pstrcat(pool, dir, "/debug", NULL);
    fp = fopen(src, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_ge(fputs(dbg_lib_src, fp), 0);
    ck_assert_int_eq(fclose(fp), 0);
    cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    ck_assert_msg(run(apr_psprintf(pool, "%s -shared -fPIC -g -O1 "
                                   "-Wl,--build-id=sha1 -o '%s' '%s'", cc,
                                   lib, src)), "%s failed", cc);
    ck_assert(run(apr_psprintf(pool, "objcopy --only-keep-debug '%s' '%s'",
                               lib, dbg)));
    ck_assert(run(apr_psprintf(pool, "objcopy --strip-all '%s'", lib)));
    ck_assert_int_eq(file_section(lib, ".symtab", &value), 0);
    ck_assert_int_eq(has_symbol(lib, "rp_dbg_hidden", &value), 0);
    id = file_build_id(lib);
    ck_assert_uint_eq(strlen(id), 40);
    ck_assert_str_eq(file_build_id(dbg), id);
    ck_assert_int_eq(mkdir(root, 0700), 0);
    ck_assert_int_eq(mkdir(apr_pstrcat(pool, root, "/.build-id", NULL),
                           0700), 0);
    ck_assert_int_eq(mkdir(apr_psprintf(pool, "%s/.build-id/%.2s", root, id),
                           0700), 0);
    debug = apr_psprintf(pool, "%s/.build-id/%.2s/%s.debug", root, id, id + 2);
    ck_assert_int_eq(rename(dbg, debug), 0);

    /* Loaded, sampled, and looked up as the page would. */
    h = dlopen(lib, RTLD_NOW);
    ck_assert_msg(h != NULL, "%s", dlerror());
    *(void **)&hidden_addr = dlsym(h, "rp_dbg_hidden_addr");
    ck_assert_ptr_nonnull(hidden_addr);
    o = rp_objects_create(pool);
    obj = rp_objects_find(o, (apr_uint64_t)(apr_uintptr_t)hidden_addr(),
                          &rel);
    ck_assert_ptr_nonnull(obj);
    ck_assert_str_eq(obj->path, lib);
    ck_assert_str_eq(obj->build_id, id);
    ck_assert_uint_eq(rel, file_symbol(debug, "rp_dbg_hidden"));
    exported = file_symbol(lib, "rp_dbg_exported");
    fdestart = apr_psprintf(pool, "librpdbg.so+0x%" APR_UINT64_T_HEX_FMT, rel);

    /* Not under /usr/lib/debug: the FDE's start; the export's name. */
    s = rp_symbols_create(pool);
    sym = rp_symbols_lookup(s, obj->path, obj->build_id, rel + 1);
    ck_assert_str_eq(sym->function, fdestart);
    ck_assert_ptr_null(sym->file);
    sym = rp_symbols_lookup(s, obj->path, obj->build_id, exported);
    ck_assert_str_eq(sym->function, "rp_dbg_exported");
    ck_assert_ptr_null(sym->file);

    /* Under DIR: everything. */
    s = rp_symbols_create(pool);
    rp_symbols_set_debug_dir(s, root);
    sym = rp_symbols_lookup(s, obj->path, obj->build_id, rel + 1);
    ck_assert_str_eq(sym->function, "rp_dbg_hidden");
    ck_assert_uint_eq(sym->sym_offset, 1);
    ck_assert_int_eq(sym->stale, 0);
    ck_assert_ptr_nonnull(sym->file);
    ck_assert_msg(ends_with(sym->file, "/rpdbg.c"), "file %s", sym->file);
    ck_assert_int_ge(sym->line, DBG_HIDDEN_LINE);
    ck_assert_int_le(sym->line, DBG_HIDDEN_LINE + 3);
    sym = rp_symbols_lookup(s, obj->path, obj->build_id, exported);
    ck_assert_str_eq(sym->function, "rp_dbg_exported");
    ck_assert_ptr_nonnull(sym->file);

    /* Another build's debug file under the id's name: not trusted. */
    ck_assert(run(apr_psprintf(pool, "objcopy --dump-section "
                               ".note.gnu.build-id='%s' '%s'", note, debug)));
    flip_last_byte(note);
    ck_assert(run(apr_psprintf(pool, "objcopy --update-section "
                               ".note.gnu.build-id='%s' '%s'", note, debug)));
    ck_assert_str_ne(file_build_id(debug), id);
    s = rp_symbols_create(pool);
    rp_symbols_set_debug_dir(s, root);
    sym = rp_symbols_lookup(s, obj->path, obj->build_id, rel + 1);
    ck_assert_str_eq(sym->function, fdestart);
    ck_assert_ptr_null(sym->file);

    ck_assert_int_eq(dlclose(h), 0);
    ck_assert_int_eq(unlink(debug), 0);
    ck_assert_int_eq(rmdir(apr_psprintf(pool, "%s/.build-id/%.2s", root, id)),
                     0);
    ck_assert_int_eq(rmdir(apr_pstrcat(pool, root, "/.build-id", NULL)), 0);
    ck_assert_int_eq(rmdir(root), 0);
    ck_assert_int_eq(unlink(note), 0);
    ck_assert_int_eq(unlink(lib), 0);
    ck_assert_int_eq(unlink(src), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

#define N_LOOKUPS   2000

typedef struct {
    rp_symbols_t *s;
    const char *const *paths;
    const char *const *ids;
    const apr_uint64_t *rels;
    int n;
    const rp_symbol_t **got;    /* [n], the answers of the first round */
    int changed;                /* later answers that were other pointers */
} looker_t;

static void *looker(void *arg)
{
    looker_t *l = arg;
    int i, k;

    for (i = 0; i < N_LOOKUPS; i++) {
        for (k = 0; k < l->n; k++) {
            const rp_symbol_t *sym = rp_symbols_lookup(l->s, l->paths[k],
                                                       l->ids[k], l->rels[k]);
            if (i == 0) {
                l->got[k] = sym;
            }
            else if (sym != l->got[k]) {
                l->changed++;
            }
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    enum { N = 6 };
    rp_objects_t *o = rp_objects_create(pool);
    apr_uint64_t pcs[N];
    const char *paths[N], *ids[N];
    apr_uint64_t rels[N];
    rp_symbols_t *s = rp_symbols_create(pool);
    rp_symbols_t *ref = rp_symbols_create(pool);
    pthread_t tid[N_THREADS];
    looker_t l[N_THREADS];
    int i, k, line;

    pcs[0] = FN_ADDR(rp_test_static_fn);
    pcs[1] = (apr_uint64_t)(apr_uintptr_t)rp_test_caller(&line) - 1;
    pcs[2] = lib_symbol("libc.so.6", "qsort");
    pcs[3] = lib_symbol("libc.so.6", "qsort") + 5;
    pcs[4] = lib_symbol("libapr-1.so.0", "apr_palloc");
    for (k = 0; k < N - 1; k++) {
        const rp_loaded_t *obj = rp_objects_find(o, pcs[k], &rels[k]);

        ck_assert_ptr_nonnull(obj);
        paths[k] = obj->path;
        ids[k] = obj->build_id;
    }
    paths[N - 1] = "/nonexistent/libx.so";
    ids[N - 1] = "";
    rels[N - 1] = 0x42;

    for (i = 0; i < N_THREADS; i++) {
        l[i].s = s;
        l[i].paths = paths;
        l[i].ids = ids;
        l[i].rels = rels;
        l[i].n = N;
        l[i].got = apr_pcalloc(pool, N * sizeof(*l[i].got));
        l[i].changed = 0;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, looker, &l[i]), 0);
    }
    for (i = 0; i < N_THREADS; i++) {
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
    }
    for (k = 0; k < N; k++) {
        const rp_symbol_t *want = rp_symbols_lookup(ref, paths[k], ids[k],
                                                    rels[k]);

        for (i = 0; i < N_THREADS; i++) {
            const rp_symbol_t *got = l[i].got[k];

            ck_assert_int_eq(l[i].changed, 0);
            ck_assert_ptr_eq(got, l[0].got[k]);
            ck_assert_str_eq(got->function, want->function);
            ck_assert_int_eq(got->line, want->line);
            ck_assert_uint_eq(got->sym_offset, want->sym_offset);
            if (want->file) {
                ck_assert_str_eq(got->file, want->file);
            }
            else {
                ck_assert_ptr_null(got->file);
            }
        }
    }
    ck_assert_str_eq(l[0].got[0]->function, "rp_test_static_fn");
    ck_assert_str_eq(l[0].got[1]->function, "rp_test_caller");
    ck_assert_int_eq(l[0].got[1]->line, line);
    ck_assert_str_eq(l[0].got[3]->function, "qsort");
    ck_assert_str_eq(l[0].got[5]->function, "libx.so+0x42");
}
END_TEST


/* ------------------------------------------------------------------ */

static Suite *symbols_suite(void)
{
    Suite *s = suite_create("rp_symbols");
    TCase *tc_obj = tcase_create("objects");
    TCase *tc_sym = tcase_create("symbols");

    tcase_add_checked_fixture(tc_obj, setup, teardown);
    tcase_set_timeout(tc_obj, 30);
    tcase_add_test(tc_obj, test_find_self);
    tcase_add_test(tc_obj, test_find_libraries);
    tcase_add_test(tc_obj, test_find_nothing);
    tcase_add_test(tc_obj, test_find_vdso);
    tcase_add_test(tc_obj, test_refresh);
    tcase_add_test(tc_obj, test_find_during_refresh);
    suite_add_tcase(s, tc_obj);

    tcase_add_checked_fixture(tc_sym, setup, teardown);
    tcase_set_timeout(tc_sym, 60);
    tcase_add_test(tc_sym, test_static_function);
    tcase_add_test(tc_sym, test_return_address_line);
    tcase_add_test(tc_sym, test_library_functions);
    tcase_add_test(tc_sym, test_no_symbol);
    tcase_add_test(tc_sym, test_stripped_library);
    tcase_add_test(tc_sym, test_no_file);
    tcase_add_test(tc_sym, test_vdso);
    tcase_add_test(tc_sym, test_stale);
    tcase_add_test(tc_sym, test_cache);
    tcase_add_test(tc_sym, test_stripped_and_debuglink);
    tcase_add_test(tc_sym, test_build_id_debug_dir);
    tcase_add_test(tc_sym, test_threads);
    suite_add_tcase(s, tc_sym);
    return s;
}

UNIT_MAIN(symbols_suite)
