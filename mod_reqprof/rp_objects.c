/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_objects: a sorted table of the loaded ELF objects, for PC -> (object,
 * offset).
 *
 * A snapshot walks dl_iterate_phdr once.  For each object it records the
 * span of its PT_LOAD segments, its load bias, its path and its build-id,
 * the last read from the PT_NOTE segments already in memory (the loader
 * maps them with the text), so no file is opened.  The table is an array
 * of pointers sorted by start address; objects never overlap, so a binary
 * search for the last start <= PC and a check against its end decide.
 *
 * Tables are immutable once published.  A refresh builds a new one and
 * swaps the pointer with release semantics; a concurrent find has loaded
 * either the old or the new pointer with acquire semantics and reads a
 * complete table either way.  Old tables and objects are never freed
 * before the pool, which is what keeps the pointers handed out valid.  To
 * keep that from growing without bound, a refresh first asks the loader
 * whether anything was loaded or unloaded (dlpi_adds, dlpi_subs) and stops
 * there if not, and it reuses the rp_loaded_t of every object unchanged.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <link.h>
#include <elf.h>
#include <sys/auxv.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "rp_objects.h"

/* Longest build-id kept, in bytes (SHA-1 ids are 20, some linkers use 32);
 * a longer note is ignored rather than truncated into a false match. */
#define RP_BUILD_ID_MAX     64

typedef struct {
    int n;
    const rp_loaded_t *obj[];       /* sorted by start */
} rp_table_t;

struct rp_objects_t {
    apr_pool_t *pool;               /* ours; used only by create/refresh */
    rp_table_t *table;              /* published with __atomic */
    unsigned long long adds;        /* loader's counters at the snapshot */
    unsigned long long subs;
    int counts;                     /* the loader has them */
};

/* What a dl_iterate_phdr walk collects. */
typedef struct {
    apr_pool_t *pool;               /* for new objects */
    const rp_table_t *old;          /* for reuse; NULL at create */
    apr_array_header_t *list;       /* of const rp_loaded_t *, scratch */
    unsigned long long adds;
    unsigned long long subs;
    int counted;                    /* first object seen */
    int counts;                     /* adds/subs read from it */
} rp_scan_t;


/* ------------------------------------------------------------------ */
/* One object */

/* 1 when [VADDR, VADDR+LEN) lies in the file-backed part of a PT_LOAD, so
 * that it can be read from memory. */
static int in_load(const struct dl_phdr_info *info, ElfW(Addr) vaddr,
                   ElfW(Xword) len)
{
    int i;

    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

        if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr
            && len <= ph->p_filesz
            && vaddr - ph->p_vaddr <= ph->p_filesz - len) {
            return 1;
        }
    }
    return 0;
}

/* The NT_GNU_BUILD_ID of the object as lowercase hex into HEX (at least
 * 2 * RP_BUILD_ID_MAX + 1 bytes), or "". */
static void read_build_id(const struct dl_phdr_info *info, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    int i;

    hex[0] = '\0';
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        const unsigned char *note, *limit;
        apr_size_t align;

        if (ph->p_type != PT_NOTE
            || !in_load(info, ph->p_vaddr, ph->p_memsz)) {
            continue;
        }
        /* Notes are padded to their segment's alignment: 4 by custom on
         * Linux, 8 for segments such as .note.gnu.property. */
        align = ph->p_align == 8 ? 8 : 4;
        note = (const unsigned char *)(apr_uintptr_t)(info->dlpi_addr
                                                      + ph->p_vaddr);
        limit = note + ph->p_memsz;
        while ((apr_size_t)(limit - note) >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)note;
            apr_size_t desc = (sizeof(*nh) + nh->n_namesz + align - 1)
                              & ~(align - 1);
            apr_size_t next = (desc + nh->n_descsz + align - 1) & ~(align - 1);
            apr_size_t k;

            if (next > (apr_size_t)(limit - note)) {
                break;
            }
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4
                && memcmp(note + sizeof(*nh), "GNU", 4) == 0
                && nh->n_descsz > 0 && nh->n_descsz <= RP_BUILD_ID_MAX) {
                for (k = 0; k < nh->n_descsz; k++) {
                    hex[2 * k] = digits[note[desc + k] >> 4];
                    hex[2 * k + 1] = digits[note[desc + k] & 0xf];
                }
                hex[2 * k] = '\0';
                return;
            }
            note += next;
        }
    }
}

/* The file behind the object spanning [START, END) into BUF: "[vdso]" for
 * the vDSO, the loader's name when it is absolute (or names no file),
 * else resolved. */
static const char *object_path(const struct dl_phdr_info *info,
                               apr_uint64_t start, apr_uint64_t end,
                               char *buf, apr_size_t len)
{
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    static const char deleted[] = " (deleted)";
    apr_size_t dl = sizeof(deleted) - 1;
    apr_uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
    ssize_t n;

    /* The loaders call it "linux-vdso.so.1", "linux-gate.so.1" (i386) or
     * "linux-vdso64.so.1" (ppc64, s390x), old ones "" as the main
     * program; perf and /proc/PID/maps call it "[vdso]", and so does a
     * profile.  rp_symbols knows the name and reads it from memory. */
    if (vdso && vdso >= start && vdso < end) {
        return "[vdso]";
    }
    if (name[0] == '/' || (name[0] != '\0' && !strchr(name, '/'))) {
        return name;
    }
    if (name[0] != '\0') {
        /* "./x.so" as given to dlopen: relative to the cwd of that time,
         * which is the best guess we have. */
        return realpath(name, buf) ? buf : name;
    }
    n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0) {
        return "";
    }
    buf[n] = '\0';
    /* A binary replaced on disk since exec reads "PATH (deleted)": keep the
     * path, so that rp_symbols finds the new file and its build-id tells it
     * that the file is stale. */
    if ((apr_size_t)n > dl && strcmp(buf + n - dl, deleted) == 0) {
        buf[n - dl] = '\0';
    }
    return buf;
}

/* An object of OLD equal to the one described, or NULL. */
static const rp_loaded_t *reuse(const rp_table_t *old, const char *path,
                                const char *build_id, apr_uint64_t base,
                                apr_uint64_t start, apr_uint64_t end)
{
    int lo = 0, hi;

    if (!old) {
        return NULL;
    }
    hi = old->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;

        if (old->obj[mid]->start < start) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    if (lo < old->n) {
        const rp_loaded_t *o = old->obj[lo];

        if (o->start == start && o->end == end && o->base == base
            && strcmp(o->path, path) == 0
            && strcmp(o->build_id, build_id) == 0) {
            return o;
        }
    }
    return NULL;
}

/* dl_iterate_phdr callback: record one object.  Runs under the loader's
 * lock, which is fine for malloc (through the pool) but not for dlopen. */
static int scan_one(struct dl_phdr_info *info, size_t size, void *data)
{
    rp_scan_t *scan = data;
    apr_uint64_t start = ~(apr_uint64_t)0, end = 0;
    char buf[PATH_MAX];
    char hex[2 * RP_BUILD_ID_MAX + 1];
    const rp_loaded_t *found;
    const char *path;
    int i;

    if (!scan->counted) {
        if (size >= offsetof(struct dl_phdr_info, dlpi_subs)
                    + sizeof(info->dlpi_subs)) {
            scan->adds = info->dlpi_adds;
            scan->subs = info->dlpi_subs;
            scan->counts = 1;
        }
        scan->counted = 1;
    }
    if (!scan->list) {
        return 1;               /* counting only */
    }
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

        if (ph->p_type == PT_LOAD && ph->p_memsz > 0) {
            apr_uint64_t lo = info->dlpi_addr + ph->p_vaddr;

            if (lo < start) {
                start = lo;
            }
            if (lo + ph->p_memsz > end) {
                end = lo + ph->p_memsz;
            }
        }
    }
    if (end == 0) {
        return 0;               /* nothing mapped: no PC can be in it */
    }
    path = object_path(info, start, end, buf, sizeof(buf));
    read_build_id(info, hex);
    found = reuse(scan->old, path, hex, info->dlpi_addr, start, end);
    if (!found) {
        rp_loaded_t *o = apr_palloc(scan->pool, sizeof(*o));

        o->path = apr_pstrdup(scan->pool, path);
        o->build_id = apr_pstrdup(scan->pool, hex);
        o->base = info->dlpi_addr;
        o->start = start;
        o->end = end;
        found = o;
    }
    APR_ARRAY_PUSH(scan->list, const rp_loaded_t *) = found;
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const rp_loaded_t *x = *(const rp_loaded_t *const *)a;
    const rp_loaded_t *y = *(const rp_loaded_t *const *)b;

    return x->start < y->start ? -1 : x->start > y->start;
}


/* ------------------------------------------------------------------ */
/* Snapshots */

/* Walk the loaded objects into a new table, or return NULL when OLD is
 * still right (same objects, in the same order). */
static rp_table_t *snapshot(rp_objects_t *o, const rp_table_t *old)
{
    apr_pool_t *scratch;
    rp_scan_t scan;
    rp_table_t *t = NULL;
    int i, same;

    apr_pool_create(&scratch, o->pool);
    memset(&scan, 0, sizeof(scan));
    scan.pool = o->pool;
    scan.old = old;
    scan.list = apr_array_make(scratch, 64, sizeof(const rp_loaded_t *));
    dl_iterate_phdr(scan_one, &scan);
    o->adds = scan.adds;
    o->subs = scan.subs;
    o->counts = scan.counts;

    qsort(scan.list->elts, scan.list->nelts, sizeof(const rp_loaded_t *),
          by_start);
    same = old && old->n == scan.list->nelts;
    for (i = 0; same && i < old->n; i++) {
        same = old->obj[i] == APR_ARRAY_IDX(scan.list, i, const rp_loaded_t *);
    }
    if (!same) {
        t = apr_palloc(o->pool, sizeof(*t)
                                + scan.list->nelts * sizeof(t->obj[0]));
        t->n = scan.list->nelts;
        if (t->n) {
            memcpy(t->obj, scan.list->elts, t->n * sizeof(t->obj[0]));
        }
    }
    apr_pool_destroy(scratch);
    return t;
}

rp_objects_t *rp_objects_create(apr_pool_t *p)
{
    apr_pool_t *sub;
    rp_objects_t *o;

    apr_pool_create(&sub, p);
    apr_pool_tag(sub, "rp_objects");
    o = apr_pcalloc(sub, sizeof(*o));
    o->pool = sub;
    __atomic_store_n(&o->table, snapshot(o, NULL), __ATOMIC_RELEASE);
    return o;
}

void rp_objects_refresh(rp_objects_t *o)
{
    rp_table_t *old = __atomic_load_n(&o->table, __ATOMIC_ACQUIRE);
    rp_table_t *t;
    rp_scan_t count;

    memset(&count, 0, sizeof(count));
    dl_iterate_phdr(scan_one, &count);
    if (count.counts && o->counts
        && count.adds == o->adds && count.subs == o->subs) {
        return;
    }
    t = snapshot(o, old);
    if (t) {
        __atomic_store_n(&o->table, t, __ATOMIC_RELEASE);
    }
}


/* ------------------------------------------------------------------ */
/* Lookup */

const rp_loaded_t *rp_objects_find(const rp_objects_t *o, apr_uint64_t pc,
                                   apr_uint64_t *rel)
{
    const rp_table_t *t = __atomic_load_n(&o->table, __ATOMIC_ACQUIRE);
    const rp_loaded_t *obj;
    int lo = 0, hi = t->n;

    /* lo ends as the number of objects starting at or below PC. */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;

        if (t->obj[mid]->start <= pc) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return NULL;
    }
    obj = t->obj[lo - 1];
    if (pc >= obj->end) {
        return NULL;
    }
    *rel = pc - obj->base;
    return obj;
}
