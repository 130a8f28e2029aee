/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_symbols: offline symbolization with libdwfl, behind a cache.
 *
 * Each object path gets its own Dwfl session holding one module reported
 * with dwfl_report_offline, which opens the file by name: the object need
 * not be mapped in this process, and a file loaded at different addresses
 * in different children is one module here.  libdwfl places an offline
 * ET_DYN module at an address of its choosing; dwfl_module_getelf gives the
 * bias between that space and the file's virtual addresses, so the address
 * to ask about is bias + REL (checked against nm in check_symbols).
 *
 * libdwfl loads lazily: reporting reads the ELF headers; the first symbol
 * table access reads it (and looks for a separate debug file when the
 * object has no .symtab); the first line lookup reads DWARF.
 *
 * dwfl_module_getsrc finds an address's compilation unit through
 * .debug_aranges, which clang does not emit by default (and libdw 0.188
 * does not make up for): when it finds nothing in an object with DWARF,
 * the units' own address ranges, indexed once, are searched instead.
 *
 * A stripped object (Debian's libz.so.1; the static functions of a
 * stripped /usr/sbin/apache2) has no symbol for most of its code, and
 * naming a PC by itself would give each sampled instruction a row of its
 * own.  Its call-frame information still has one FDE per function (the
 * unwinder needs them; .eh_frame is never stripped), and an FDE's
 * initial_location is the function's start: "BASENAME+0xSTART" gathers
 * the samples of a function into one row.  libdw answers for an address
 * with a Dwarf_Frame whose [start, end) is the CFI row at that address
 * (the instructions between two stack adjustments), not the FDE's range,
 * and keeps the FDE to itself; so the FDEs are read with dwarf_next_cfi,
 * once per object, into an array sorted like the symbols'.
 *
 * Symbols are not looked up with dwfl_module_addrinfo, which scans the
 * whole table on every call (110 us per address in libc's 10,000 symbols).
 * The first lookup in an object copies its code symbols into an array
 * sorted by address, and each later one is a binary search.  The choice
 * follows libdwfl's: the closest sized symbol containing the address, else
 * the closest size-less label (hand-written assembly) when no sized symbol
 * ends between it and the address.  Among aliases at one address the name
 * an operator knows wins: global over weak over local, then the one with
 * fewer leading underscores ("malloc", not "__libc_malloc").  Symbol
 * versions are cut ("memcpy", not "memcpy@@GLIBC_2.14").  Our own
 * find_debuginfo callback replaces dwfl_standard_find_debuginfo, which
 * would ask debuginfod servers when DEBUGINFOD_URLS is set: a page render
 * must not wait on the network.
 *
 * The vDSO has no file: the kernel maps its image, an ELF object with its
 * own .dynsym and .eh_frame, into every process at AT_SYSINFO_EHDR.  Its
 * contents are the same in every process of one kernel, only its address
 * differs, and the address asked about is relative to it like any other
 * object's.  So the vDSO of the process that symbolizes stands for the
 * one sampled (its build-id is checked like a file's), copied into a
 * memory file that libdwfl opens as it would the object on disk.  Its
 * functions then get the names perf gives them: "__vdso_clock_gettime",
 * by the alias rule above, rather than its weak alias "clock_gettime".
 *
 * Separate debug files are looked for under one directory, /usr/lib/debug
 * unless rp_symbols_set_debug_dir says otherwise (a test's own tree).
 *
 * A Dwfl is not thread-safe, and the answers are allocated from our pool,
 * so one mutex covers every lookup.  Cached lookups hold it for a hash
 * probe.  Symbol and file name strings point into libdwfl's data, which
 * lives as long as the session, that is as long as the pool.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include <gelf.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <elfutils/libdwelf.h>

#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>

#include "rp_symbols.h"

#define RP_DEBUG_ROOT       "/usr/lib/debug"

/* Longest build-id looked up, in bytes (SHA-1 ids are 20). */
#define RP_BUILD_ID_MAX     64

/* Largest vDSO image read (x86-64's is two pages). */
#define RP_VDSO_MAX         (1024 * 1024)

/* The names the vDSO goes by: rp_objects records it as "[vdso]", the
 * name perf and /proc/PID/maps give it; profiles recorded by earlier
 * builds hold the loaders' own names. */
static const char *const vdso_names[] = {
    "[vdso]", "linux-vdso.so.1", "linux-gate.so.1", "linux-vdso64.so.1",
    "linux-vdso32.so.1"
};

/* A code symbol, at module addresses. */
typedef struct {
    GElf_Addr value;
    GElf_Addr end;              /* value + size; value for a label */
    GElf_Addr maxend;           /* the greatest end of entries 0..this */
    GElf_Addr limit;            /* end of its section: a label's reach */
    const char *name;
    int rank;                   /* higher is the better alias */
    int order;                  /* in the symbol table, for stable sorts */
} rp_sym_t;

/* A compilation unit's address range, for objects without aranges. */
typedef struct {
    GElf_Addr lo;               /* module addresses */
    GElf_Addr hi;
    Dwarf_Off die;              /* its unit DIE */
} rp_unit_t;

/* A function's extent from its FDE, at module addresses. */
typedef struct {
    GElf_Addr lo;
    GElf_Addr hi;
    GElf_Addr maxhi;            /* the greatest hi of entries 0..this */
} rp_fde_t;

/* One object file, opened once. */
typedef struct {
    const char *path;
    const char *base;           /* file name, for "base+0xREL" */
    const char *debug_dir;      /* where separate debug files are */
    Dwfl *dwfl;                 /* NULL when the file could not be read */
    Dwfl_Module *mod;
    GElf_Addr bias;             /* module address - ELF virtual address */
    const char *build_id;       /* hex, or "" */
    rp_sym_t *syms;             /* sorted by value, then rank */
    int nsyms;
    int indexed;                /* syms built */
    Dwarf *dw;                  /* DWARF, when units are indexed */
    Dwarf_Addr dwbias;          /* module address - DWARF address */
    rp_unit_t *units;           /* sorted by lo */
    int nunits;
    int units_indexed;
    rp_fde_t *fdes;             /* sorted by lo */
    int nfdes;
    int fdes_indexed;
    apr_hash_t *fresh;          /* REL -> rp_entry_t, build-id matching */
    apr_hash_t *stale;          /* REL -> rp_entry_t, build-id differing */
} rp_file_t;

/* A cached answer; REL is its own hash key. */
typedef struct {
    rp_symbol_t sym;
    apr_uint64_t rel;
} rp_entry_t;

struct rp_symbols_t {
    apr_pool_t *pool;           /* ours: allocate under the lock only */
    apr_thread_mutex_t *lock;
    apr_hash_t *files;          /* path -> rp_file_t */
    const char *debug_dir;      /* for objects opened from now on */
};


/* ------------------------------------------------------------------ */
/* libdwfl callbacks */

/* Offline modules are opened by path when reported, so libdwfl never
 * needs to find one; the standard callback could reach debuginfod. */
static int find_no_elf(Dwfl_Module *mod, void **userdata, const char *name,
                       Dwarf_Addr base, char **file_name, Elf **elfp)
{
    errno = ENOENT;
    return -1;
}

/* Open CAND if it is an ELF file with build-id ID (LEN bytes): its
 * descriptor, with a malloc'ed copy of CAND in *NAME (libdwfl frees it),
 * or -1. */
static int open_if_id(const char *cand, const unsigned char *id, int len,
                      char **name)
{
    const void *cid = NULL;
    Elf *elf;
    int fd, ok = 0;

    fd = open(cand, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf) {
        ok = dwelf_elf_gnu_build_id(elf, &cid) == len
             && memcmp(cid, id, (size_t)len) == 0;
        elf_end(elf);
    }
    if (ok && (*name = strdup(cand)) != NULL) {
        return fd;
    }
    close(fd);
    return -1;
}

/* Where gdb and dwfl_standard_find_debuginfo look, minus the network:
 * by build-id under the debug directory (DIR/.build-id/xx/yyyy.debug, as
 * Debian's -dbgsym and Fedora's -debuginfo packages install them), then
 * the .gnu_debuglink name in the object's directory, its .debug
 * subdirectory, and the same directory under DIR.  Without a build-id to
 * check a candidate against, no separate file is trusted (a debuglink
 * CRC would mean reading it all).  *USERDATA is the module's rp_file_t. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
                          const char *modname, GElf_Addr base,
                          const char *file_name, const char *debuglink,
                          GElf_Word crc, char **debuginfo_file_name)
{
    static const char digits[] = "0123456789abcdef";
    /* Debuglink places: under DIR or not, then between the object's
     * directory and the link's name. */
    static const struct {
        int under_dir;
        const char *sub;
    } forms[] = {
        { 0, "/" }, { 0, "/.debug/" }, { 1, "/" }
    };
    const rp_file_t *f = *userdata;
    const char *dir = f ? f->debug_dir : RP_DEBUG_ROOT;
    const unsigned char *id;
    GElf_Addr id_vaddr;
    char cand[PATH_MAX], hex[2 * RP_BUILD_ID_MAX + 1];
    int len, i, n, fd;

    len = dwfl_module_build_id(mod, &id, &id_vaddr);
    if (len <= 1 || len > RP_BUILD_ID_MAX) {
        errno = ENOENT;
        return -1;
    }
    for (i = 0; i < len; i++) {
        hex[2 * i] = digits[id[i] >> 4];
        hex[2 * i + 1] = digits[id[i] & 0xf];
    }
    hex[2 * len] = '\0';
    n = snprintf(cand, sizeof(cand), "%s/.build-id/%.2s/%s.debug", dir, hex,
                 hex + 2);
    if (n > 0 && n < (int)sizeof(cand)
        && (fd = open_if_id(cand, id, len, debuginfo_file_name)) >= 0) {
        return fd;
    }
    if (debuglink && !strchr(debuglink, '/') && file_name
        && strrchr(file_name, '/')) {
        int at = (int)(strrchr(file_name, '/') - file_name);

        for (i = 0; i < (int)(sizeof(forms) / sizeof(forms[0])); i++) {
            n = snprintf(cand, sizeof(cand), "%s%.*s%s%s",
                         forms[i].under_dir ? dir : "", at, file_name,
                         forms[i].sub, debuglink);
            if (n <= 0 || n >= (int)sizeof(cand)
                || strcmp(cand, file_name) == 0) {
                continue;
            }
            if ((fd = open_if_id(cand, id, len, debuginfo_file_name)) >= 0) {
                return fd;
            }
        }
    }
    errno = ENOENT;
    return -1;
}

static const Dwfl_Callbacks callbacks = {
    find_no_elf,
    find_debuginfo,
    dwfl_offline_section_address,
    NULL
};


/* ------------------------------------------------------------------ */
/* Objects */

static apr_status_t dwfl_cleanup(void *dwfl)
{
    dwfl_end(dwfl);
    return APR_SUCCESS;
}

/* 1 when PATH names the vDSO. */
static int is_vdso(const char *path)
{
    apr_size_t i;

    for (i = 0; i < sizeof(vdso_names) / sizeof(vdso_names[0]); i++) {
        if (strcmp(path, vdso_names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Extend *SIZE to cover [OFF, OFF + LEN) of an image; 0 when that lies
 * beyond any vDSO's size (a header not to be trusted). */
static int extend(apr_size_t *size, apr_uint64_t off, apr_uint64_t len)
{
    if (off > RP_VDSO_MAX || len > RP_VDSO_MAX - off) {
        return 0;
    }
    if (off + len > *size) {
        *size = (apr_size_t)(off + len);
    }
    return 1;
}

/* A descriptor of a memory file holding a copy of this process's vDSO
 * image, or -1.  The image is the whole ELF file, section headers
 * included (the kernel maps the stripped vdso.so it was built with), so
 * its size is where the last of its headers and segments ends.  That
 * size comes from the image itself: mincore, which fails on any page not
 * mapped, makes sure it is all there before a byte is copied.  A copy,
 * because libelf may write into an image it is given, and the mapping is
 * read-only; a file, because dwfl_report_offline takes a descriptor on
 * every elfutils (dwfl_report_offline_memory is 0.188's). */
static int vdso_open(void)
{
    const unsigned char *image = (const unsigned char *)(apr_uintptr_t)
                                 getauxval(AT_SYSINFO_EHDR);
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)image;
    const ElfW(Phdr) *ph;
    unsigned char resident[RP_VDSO_MAX / 4096];
    apr_size_t page = (apr_size_t)sysconf(_SC_PAGESIZE), size = 0, done;
    ssize_t n;
    int i, fd;

    /* The ELF header is at the start of a mapped page, and so are the
     * program headers that follow it; the rest is known to be mapped
     * only once mincore says so. */
    if (!image || page < 4096 || page > RP_VDSO_MAX
        || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0
        || eh->e_ehsize != sizeof(*eh) || eh->e_phentsize != sizeof(*ph)
        || (eh->e_shnum && eh->e_shentsize != sizeof(ElfW(Shdr)))
        || !extend(&size, eh->e_phoff, eh->e_phnum * sizeof(*ph))
        || size > page
        || !extend(&size, eh->e_shoff, eh->e_shnum * sizeof(ElfW(Shdr)))) {
        return -1;
    }
    ph = (const ElfW(Phdr) *)(image + eh->e_phoff);
    for (i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD
            && !extend(&size, ph[i].p_offset, ph[i].p_filesz)) {
            return -1;
        }
    }
    if (mincore((void *)(apr_uintptr_t)image, size, resident) != 0
        || (fd = memfd_create("[vdso]", MFD_CLOEXEC)) < 0) {
        return -1;
    }
    for (done = 0; done < size; done += (apr_size_t)n) {
        n = write(fd, image + done, size - done);
        if (n < 0 && errno == EINTR) {
            n = 0;
        }
        else if (n <= 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* The object at PATH, opened on first use.  Under the lock. */
static rp_file_t *file_get(rp_symbols_t *s, const char *path)
{
    rp_file_t *f = apr_hash_get(s->files, path, APR_HASH_KEY_STRING);
    const unsigned char *id;
    const char *slash;
    GElf_Addr id_vaddr;
    void **userdata;
    int len, i, fd = -1;

    if (f) {
        return f;
    }
    f = apr_pcalloc(s->pool, sizeof(*f));
    f->path = apr_pstrdup(s->pool, path);
    slash = strrchr(f->path, '/');
    f->base = slash ? slash + 1 : f->path;
    f->debug_dir = s->debug_dir;
    f->build_id = "";
    f->fresh = apr_hash_make(s->pool);
    f->stale = apr_hash_make(s->pool);
    apr_hash_set(s->files, f->path, APR_HASH_KEY_STRING, f);

    if (is_vdso(path)) {
        if ((fd = vdso_open()) < 0) {
            return f;
        }
    }
    /* A relative name would be opened against our cwd: not the file. */
    else if (path[0] != '/') {
        return f;
    }
    if (!(f->dwfl = dwfl_begin(&callbacks))) {
        if (fd >= 0) {
            close(fd);
        }
        return f;
    }
    apr_pool_cleanup_register(s->pool, f->dwfl, dwfl_cleanup,
                              apr_pool_cleanup_null);
    /* A descriptor given is the library's once the module is reported. */
    f->mod = dwfl_report_offline(f->dwfl, f->base, f->path, fd);
    if (!f->mod && fd >= 0) {
        close(fd);
    }
    dwfl_report_end(f->dwfl, NULL, NULL);
    if (!f->mod || !dwfl_module_getelf(f->mod, &f->bias)) {
        f->mod = NULL;
        return f;
    }
    /* find_debuginfo's *userdata, for the debug directory. */
    dwfl_module_info(f->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
    *userdata = f;
    len = dwfl_module_build_id(f->mod, &id, &id_vaddr);
    if (len > 0) {
        char *hex = apr_palloc(s->pool, 2 * (apr_size_t)len + 1);

        for (i = 0; i < len; i++) {
            apr_snprintf(hex + 2 * i, 3, "%02x", id[i]);
        }
        f->build_id = hex;
    }
    return f;
}


/* ------------------------------------------------------------------ */
/* Symbol index */

static int sym_rank(const GElf_Sym *sym, const char *name)
{
    static const int bind_rank[] = { 0, 2, 1 };     /* LOCAL GLOBAL WEAK */
    int bind = GELF_ST_BIND(sym->st_info);
    int under = 0;

    while (name[under] == '_' && under < 63) {
        under++;
    }
    return (bind < 3 ? bind_rank[bind] : 2) * 64 + 63 - under;
}

static int by_value(const void *a, const void *b)
{
    const rp_sym_t *x = a, *y = b;

    if (x->value != y->value) {
        return x->value < y->value ? -1 : 1;
    }
    if (x->rank != y->rank) {
        return x->rank - y->rank;
    }
    return y->order - x->order;
}

/* 1 when section SHNDX of ELF holds code (a PC can be in nothing else),
 * with its header in *SH. */
static int code_section(Elf *elf, GElf_Word shndx, GElf_Shdr *sh)
{
    Elf_Scn *scn;

    return elf && shndx != SHN_UNDEF && shndx < SHN_LORESERVE
           && (scn = elf_getscn(elf, shndx)) != NULL
           && gelf_getshdr(scn, sh) != NULL
           && (sh->sh_flags & SHF_EXECINSTR);
}

/* Copy F's code symbols into F->syms, sorted.  Under the lock. */
static void index_symbols(rp_symbols_t *s, rp_file_t *f)
{
    int n = dwfl_module_getsymtab(f->mod), i;
    GElf_Addr maxend = 0;

    f->indexed = 1;
    if (n <= 1) {
        return;
    }
    f->syms = apr_palloc(s->pool, (apr_size_t)n * sizeof(*f->syms));
    for (i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        GElf_Shdr sh;
        Elf *elf = NULL;
        const char *name = dwfl_module_getsym_info(f->mod, i, &sym, &addr,
                                                   &shndx, &elf, NULL);
        int type = GELF_ST_TYPE(sym.st_info);
        const char *at;
        rp_sym_t *e;

        if (!name || !name[0] || type == STT_SECTION || type == STT_FILE
            || type == STT_TLS || !code_section(elf, shndx, &sh)) {
            continue;
        }
        e = &f->syms[f->nsyms++];
        e->value = addr;
        e->end = addr + sym.st_size;
        e->limit = sh.sh_addr + sh.sh_size + (addr - sym.st_value);
        /* "pthread_mutex_init@@GLIBC_2.2.5" in a .symtab: the version is
         * noise on a profile, and splits one function into two rows. */
        at = strchr(name, '@');
        e->name = at && at > name ? apr_pstrndup(s->pool, name, at - name)
                                  : name;
        e->rank = sym_rank(&sym, name);
        e->order = i;
    }
    qsort(f->syms, (apr_size_t)f->nsyms, sizeof(*f->syms), by_value);
    for (i = 0; i < f->nsyms; i++) {
        if (f->syms[i].end > maxend) {
            maxend = f->syms[i].end;
        }
        f->syms[i].maxend = maxend;
    }
}

/* The symbol of F at module address ADDR, or NULL. */
static const rp_sym_t *symbol_at(const rp_file_t *f, GElf_Addr addr)
{
    const rp_sym_t *sy = f->syms;
    int lo = 0, hi = f->nsyms, i;

    /* lo ends as the number of entries starting at or below ADDR. */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;

        if (sy[mid].value <= addr) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    /* The closest symbol that contains ADDR; the better alias of equals
     * comes later, so first.  maxend says when none further back can. */
    for (i = lo - 1; i >= 0 && sy[i].maxend > addr; i--) {
        if (sy[i].end > addr) {
            return &sy[i];
        }
    }
    /* A label at the closest address, if ADDR is in its section and no
     * sized symbol ends between the two. */
    for (i = lo - 1; i >= 0 && sy[i].value == sy[lo - 1].value; i--) {
        if (sy[i].end == sy[i].value && addr < sy[i].limit
            && sy[lo - 1].maxend <= sy[i].value) {
            return &sy[i];
        }
    }
    return NULL;
}


/* ------------------------------------------------------------------ */
/* Lines without .debug_aranges */

static int by_lo(const void *a, const void *b)
{
    const rp_unit_t *x = a, *y = b;

    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Index the address ranges of F's compilation units.  Under the lock. */
static void index_units(rp_symbols_t *s, rp_file_t *f)
{
    apr_array_header_t *units;
    Dwarf_CU *cu = NULL, *next;
    Dwarf_Die die;

    f->units_indexed = 1;
    if (!(f->dw = dwfl_module_getdwarf(f->mod, &f->dwbias))) {
        return;
    }
    units = apr_array_make(s->pool, 64, sizeof(rp_unit_t));
    while (dwarf_get_units(f->dw, cu, &next, NULL, NULL, &die, NULL) == 0) {
        Dwarf_Addr base, lo, hi;
        ptrdiff_t it = 0;

        cu = next;
        while ((it = dwarf_ranges(&die, it, &base, &lo, &hi)) > 0) {
            if (lo < hi) {
                rp_unit_t *u = apr_array_push(units);

                u->lo = lo + f->dwbias;
                u->hi = hi + f->dwbias;
                u->die = dwarf_dieoffset(&die);
            }
        }
    }
    qsort(units->elts, (apr_size_t)units->nelts, sizeof(rp_unit_t), by_lo);
    f->units = (rp_unit_t *)units->elts;
    f->nunits = units->nelts;
}

/* The source file and *LINE of module address ADDR in F, from the unit
 * whose ranges hold it, or NULL.  Under the lock. */
static const char *unit_line(rp_symbols_t *s, rp_file_t *f, GElf_Addr addr,
                             int *line)
{
    int lo = 0, hi;
    Dwarf_Die die;
    Dwarf_Line *l;

    if (!f->units_indexed) {
        index_units(s, f);
    }
    hi = f->nunits;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;

        if (f->units[mid].lo <= addr) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    if (lo == 0 || addr >= f->units[lo - 1].hi
        || !dwarf_offdie(f->dw, f->units[lo - 1].die, &die)
        || !(l = dwarf_getsrc_die(&die, addr - f->dwbias))
        || dwarf_lineno(l, line) != 0) {
        return NULL;
    }
    return dwarf_linesrc(l, NULL, NULL);
}


/* ------------------------------------------------------------------ */
/* Functions from call-frame information */

/* Read the value at *P (before END) in encoding ENC, a DW_EH_PE_*
 * format and application; HERE is *P's address in the object, for pcrel.
 * Advances *P; 1 when decoded.  Only what FDE addresses use (absolute or
 * pcrel) is applied: the bases of the others are not known here. */
static int read_encoded(const unsigned char **p, const unsigned char *end,
                        int enc, const unsigned char *ident, GElf_Addr here,
                        GElf_Addr *v)
{
    const unsigned char *q = *p;
    int msb = ident[EI_DATA] == ELFDATA2MSB;
    apr_uint64_t u = 0;
    int n, i, shift, byte;

    switch (enc & 0x0f) {
    case DW_EH_PE_absptr:
        n = ident[EI_CLASS] == ELFCLASS32 ? 4 : 8;
        break;
    case DW_EH_PE_udata2: case DW_EH_PE_sdata2:
        n = 2;
        break;
    case DW_EH_PE_udata4: case DW_EH_PE_sdata4:
        n = 4;
        break;
    case DW_EH_PE_udata8: case DW_EH_PE_sdata8:
        n = 8;
        break;
    case DW_EH_PE_uleb128: case DW_EH_PE_sleb128:
        shift = 0;
        do {
            if (q >= end || shift >= 64) {
                return 0;
            }
            byte = *q++;
            u |= (apr_uint64_t)(byte & 0x7f) << shift;
            shift += 7;
        } while (byte & 0x80);
        if ((enc & 0x0f) == DW_EH_PE_sleb128 && shift < 64 && (byte & 0x40)) {
            u |= ~(apr_uint64_t)0 << shift;
        }
        n = 0;
        break;
    default:
        return 0;
    }
    if (n) {
        if (end - q < n) {
            return 0;
        }
        for (i = 0; i < n; i++) {
            u |= (apr_uint64_t)q[msb ? n - 1 - i : i] << (8 * i);
        }
        if ((enc & DW_EH_PE_signed) && n < 8 && (u >> (8 * n - 1) & 1)) {
            u |= ~(apr_uint64_t)0 << (8 * n);
        }
        q += n;
    }
    switch (enc & 0x70) {
    case DW_EH_PE_absptr:
        break;
    case DW_EH_PE_pcrel:
        u += here;
        break;
    default:
        return 0;
    }
    if (enc & DW_EH_PE_indirect) {
        return 0;
    }
    *p = q;
    *v = u;
    return 1;
}

/* The encoding of the addresses in CIE's FDEs, or -1 when its
 * augmentation is not understood. */
static int fde_encoding(const Dwarf_CIE *cie, const unsigned char *ident)
{
    const char *a = cie->augmentation;
    const unsigned char *p = cie->augmentation_data;
    const unsigned char *end = p ? p + cie->augmentation_data_size : NULL;
    GElf_Addr skip;
    int penc;

    if (a[0] == '\0') {
        return DW_EH_PE_absptr;
    }
    /* Without 'z' the data's size is only known from letters we may not
     * know; gcc has emitted 'z' since 2001. */
    if (a[0] != 'z' || !p) {
        return -1;
    }
    for (a++; *a; a++) {
        switch (*a) {
        case 'R':
            return p < end ? *p : -1;
        case 'L':
            if (p++ >= end) {
                return -1;
            }
            break;
        case 'P':
            /* The personality routine's address: skipped, by its size. */
            if (p >= end || (*p & 0x70) == DW_EH_PE_aligned) {
                return -1;
            }
            penc = *p++;
            if (!read_encoded(&p, end, penc & 0x0f, ident, 0, &skip)) {
                return -1;
            }
            break;
        case 'S':
        case 'B':
            break;
        default:
            return -1;
        }
    }
    return DW_EH_PE_absptr;
}

/* Push onto FDES the extent of each FDE in section NAME of ELF, a CFI
 * section (.eh_frame or .debug_frame), at module addresses: ELF address +
 * BIAS.  Under the lock. */
static void read_fdes(apr_array_header_t *fdes, Elf *elf, const char *name,
                      GElf_Addr bias)
{
    const unsigned char *ident;
    Elf_Scn *scn = NULL;
    Elf_Data *d = NULL;
    GElf_Shdr sh;
    size_t shstrndx;
    int eh = strcmp(name, ".eh_frame") == 0, enc = -1;
    Dwarf_Off off = 0, next, cie_off = (Dwarf_Off)-1;
    Dwarf_CFI_Entry entry;

    if (!elf || !(ident = (const unsigned char *)elf_getident(elf, NULL))
        || elf_getshdrstrndx(elf, &shstrndx) != 0) {
        return;
    }
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        const char *sname;

        if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS
            && (sname = elf_strptr(elf, shstrndx, sh.sh_name)) != NULL
            && strcmp(sname, name) == 0) {
            break;
        }
    }
    if (!scn) {
        return;
    }
    /* A separate debug file's sections may be compressed; libdw
     * decompresses them the same way, in place, when it reads them. */
    if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0) {
        return;
    }
    if (!(d = elf_getdata(scn, NULL)) || !d->d_buf) {
        return;
    }
    for (;;) {
        int rc;

        next = (Dwarf_Off)-1;
        rc = dwarf_next_cfi(ident, d, eh, off, &next, &entry);
        if (rc == 1) {
            break;
        }
        if (rc == 0 && !dwarf_cfi_cie_p(&entry)) {
            const unsigned char *p = entry.fde.start;
            GElf_Addr lo, len;

            /* Most FDEs share one CIE: decode it when it changes. */
            if (entry.fde.CIE_pointer != cie_off) {
                Dwarf_CFI_Entry cie;
                Dwarf_Off after;

                cie_off = entry.fde.CIE_pointer;
                enc = dwarf_next_cfi(ident, d, eh, cie_off, &after, &cie) == 0
                      && dwarf_cfi_cie_p(&cie)
                      ? fde_encoding(&cie.cie, ident) : -1;
            }
            /* initial_location 0 is a function the linker discarded
             * (.debug_frame keeps their FDEs). */
            if (enc >= 0
                && read_encoded(&p, entry.fde.end, enc, ident,
                                sh.sh_addr + (GElf_Addr)(p - (const unsigned
                                              char *)d->d_buf), &lo)
                && read_encoded(&p, entry.fde.end, enc & 0x0f, ident, 0,
                                &len)
                && lo != 0 && len > 0 && lo + len > lo) {
                rp_fde_t *r = apr_array_push(fdes);

                r->lo = lo + bias;
                r->hi = lo + len + bias;
            }
        }
        /* An error that cannot be skipped leaves NEXT unset. */
        if (next == (Dwarf_Off)-1 || next <= off) {
            break;
        }
        off = next;
    }
}

static int by_fde_lo(const void *a, const void *b)
{
    const rp_fde_t *x = a, *y = b;

    if (x->lo != y->lo) {
        return x->lo < y->lo ? -1 : 1;
    }
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Index F's FDEs: .eh_frame, in the object, and .debug_frame, with the
 * DWARF, which some builds use instead (-fno-asynchronous-unwind-tables,
 * hand-written assembly).  Under the lock. */
static void index_fdes(rp_symbols_t *s, rp_file_t *f)
{
    apr_array_header_t *fdes = apr_array_make(s->pool, 64, sizeof(rp_fde_t));
    GElf_Addr bias, maxhi = 0;
    Dwarf *dw;
    Elf *elf;
    int i;

    f->fdes_indexed = 1;
    if ((elf = dwfl_module_getelf(f->mod, &bias)) != NULL) {
        read_fdes(fdes, elf, ".eh_frame", bias);
    }
    if ((dw = dwfl_module_getdwarf(f->mod, &bias)) != NULL) {
        read_fdes(fdes, dwarf_getelf(dw), ".debug_frame", bias);
    }
    qsort(fdes->elts, (apr_size_t)fdes->nelts, sizeof(rp_fde_t), by_fde_lo);
    f->fdes = (rp_fde_t *)fdes->elts;
    f->nfdes = fdes->nelts;
    for (i = 0; i < f->nfdes; i++) {
        if (f->fdes[i].hi > maxhi) {
            maxhi = f->fdes[i].hi;
        }
        f->fdes[i].maxhi = maxhi;
    }
}

/* The FDE of F covering module address ADDR, or NULL: the closest start
 * when two cover it (an FDE per part of a function split in two does not
 * overlap, but nothing forbids it).  Under the lock. */
static const rp_fde_t *fde_at(rp_symbols_t *s, rp_file_t *f, GElf_Addr addr)
{
    int lo = 0, hi, i;

    if (!f->fdes_indexed) {
        index_fdes(s, f);
    }
    hi = f->nfdes;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;

        if (f->fdes[mid].lo <= addr) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    for (i = lo - 1; i >= 0 && f->fdes[i].maxhi > addr; i--) {
        if (f->fdes[i].hi > addr) {
            return &f->fdes[i];
        }
    }
    return NULL;
}


/* ------------------------------------------------------------------ */
/* Answers */

/* Resolve REL in F.  Under the lock. */
static rp_entry_t *resolve(rp_symbols_t *s, rp_file_t *f, apr_uint64_t rel,
                           int stale)
{
    rp_entry_t *e = apr_pcalloc(s->pool, sizeof(*e));
    const rp_sym_t *sym = NULL;
    const rp_fde_t *fde = NULL;
    GElf_Addr addr = f->bias + rel;

    e->rel = rel;
    e->sym.object = f->path;
    e->sym.stale = stale;
    if (f->mod) {
        if (!f->indexed) {
            index_symbols(s, f);
        }
        sym = symbol_at(f, addr);
    }
    if (sym) {
        e->sym.function = stale ? apr_pstrcat(s->pool, sym->name, " [stale]",
                                              NULL)
                                : sym->name;
        e->sym.sym_offset = addr - sym->value;
    }
    /* No symbol: the start of the function its FDE describes, an ELF
     * address like REL.  Not in a replaced file, whose FDEs start where
     * its own functions do: an address of it would look like a sampled
     * one, and be another build's; REL at least is the sample's. */
    else if (f->mod && !stale && (fde = fde_at(s, f, addr)) != NULL) {
        e->sym.function = apr_psprintf(s->pool, "%s+0x%" APR_UINT64_T_HEX_FMT,
                                       f->base, (apr_uint64_t)(fde->lo
                                                               - f->bias));
        e->sym.sym_offset = addr - fde->lo;
    }
    else {
        e->sym.function = apr_psprintf(s->pool, "%s+0x%" APR_UINT64_T_HEX_FMT,
                                       f->base, rel);
        e->sym.sym_offset = rel;
    }
    if (f->mod && !stale) {
        Dwfl_Line *line = dwfl_module_getsrc(f->mod, addr);

        if (line) {
            e->sym.file = dwfl_lineinfo(line, NULL, &e->sym.line, NULL, NULL,
                                        NULL);
        }
        else {
            e->sym.file = unit_line(s, f, addr, &e->sym.line);
        }
        if (!e->sym.file) {
            e->sym.line = 0;
        }
    }
    return e;
}


/* ------------------------------------------------------------------ */
/* API */

rp_symbols_t *rp_symbols_create(apr_pool_t *p)
{
    apr_pool_t *sub;
    rp_symbols_t *s;

    elf_version(EV_CURRENT);
    apr_pool_create(&sub, p);
    apr_pool_tag(sub, "rp_symbols");
    s = apr_pcalloc(sub, sizeof(*s));
    s->pool = sub;
    s->files = apr_hash_make(sub);
    s->debug_dir = RP_DEBUG_ROOT;
    if (apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, sub)
        != APR_SUCCESS) {
        apr_pool_destroy(sub);
        return NULL;
    }
    return s;
}

const rp_symbol_t *rp_symbols_lookup(rp_symbols_t *s, const char *path,
                                     const char *build_id, apr_uint64_t rel)
{
    rp_file_t *f;
    rp_entry_t *e;
    apr_hash_t *cache;
    int stale;

    apr_thread_mutex_lock(s->lock);
    f = file_get(s, path ? path : "");
    stale = f->mod && build_id && build_id[0]
            && strcmp(build_id, f->build_id) != 0;
    cache = stale ? f->stale : f->fresh;
    e = apr_hash_get(cache, &rel, sizeof(rel));
    if (!e) {
        e = resolve(s, f, rel, stale);
        apr_hash_set(cache, &e->rel, sizeof(e->rel), e);
    }
    apr_thread_mutex_unlock(s->lock);
    return &e->sym;
}

void rp_symbols_set_debug_dir(rp_symbols_t *s, const char *dir)
{
    apr_thread_mutex_lock(s->lock);
    s->debug_dir = apr_pstrdup(s->pool, dir && dir[0] ? dir : RP_DEBUG_ROOT);
    apr_thread_mutex_unlock(s->lock);
}
