/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_symbols: (object path, ELF address) -> function, source file and line.
 *
 * The other half of rp_objects: the address is the one rp_objects_find
 * returned in *rel, taken in any process (another child, a process before
 * a restart); this file opens the object by its path, offline, with
 * elfutils' libdwfl, whether or not it is mapped here.  Function names come
 * from .symtab when the object has one (static functions included), else
 * from .dynsym, else (a static function of a stripped object) from the
 * start of the function's FDE in .eh_frame or .debug_frame; file and line
 * from DWARF, in the object or in a separate
 * debug file found by build-id (/usr/lib/debug/.build-id/xx/yyyy.debug) or
 * by .gnu_debuglink next to the object, in its .debug directory or under
 * /usr/lib/debug.  A separate debug file is used only when its build-id is
 * the object's.  Nothing is ever fetched over the network (debuginfod is
 * not consulted, whatever DEBUGINFOD_URLS says).
 *
 * The vDSO, which has no file, is asked about by the name rp_objects gives
 * it, "[vdso]" (or a loader's, "linux-vdso.so.1"), and read from this
 * process's memory: every process of one kernel maps the same image.
 *
 * Answers are cached per (path, address) for the life of the pool; each
 * object stays open (one descriptor and its mappings) until then.
 *
 * This file depends on APR and elfutils only.  Nothing here is safe in
 * signal context, and nothing belongs on the request path: a first lookup
 * in an object reads its symbol table and, for file:line, its DWARF (50 ms
 * and 15 MB for libc with its debug file installed).
 */

#ifndef RP_SYMBOLS_H
#define RP_SYMBOLS_H

#include <apr_pools.h>

typedef struct {
    const char *function;     /* symbol name (not demangled); when no symbol
                               * covers the address, "BASENAME+0xSTART"
                               * with BASENAME the object's file name and
                               * START the ELF address where the FDE
                               * covering REL starts (its function's),
                               * else "BASENAME+0xREL"; a name gets
                               * " [stale]" appended when the object on
                               * disk is not the one sampled (stale) */
    const char *file;         /* source file from DWARF line info, or NULL */
    int line;                 /* its line, or 0 */
    const char *object;       /* the object path asked about */
    apr_uint64_t sym_offset;  /* address - symbol start; REL - START for
                               * an FDE; REL when neither covers it */
    int stale;                /* the file's build-id is not the one asked
                               * for: it was replaced since the sample */
} rp_symbol_t;

typedef struct rp_symbols_t rp_symbols_t;

/* An empty symbolizer, or NULL when its lock cannot be created.
 * Allocates from a subpool of P, and keeps every object it opens open
 * until P is cleared or destroyed.  Not signal-safe. */
rp_symbols_t *rp_symbols_create(apr_pool_t *p);

/* The function, file and line at REL, an ELF virtual address in the object
 * at PATH (as rp_objects_find gives it).  For a return address pass REL - 1,
 * so that the line is the call's and a call ending a function is not
 * charged to the next one.
 *
 * BUILD_ID (hex, as rp_loaded_t's; NULL or "" when unknown) is checked
 * against the file's.  When they differ, or the sampled object had one and
 * the file has none, the file was replaced since the samples were taken:
 * its symbol at REL is still the best guess (a rebuild usually moves little
 * code), so it is given with " [stale]" appended, stale set and no file or
 * line, which would be precise-looking and wrong.  An address no symbol
 * covers gives "BASENAME+0xREL" then: the file's FDEs start at its own
 * build's addresses, which would pass for the sampled object's.
 *
 * A PATH that is not absolute (but for the vDSO's names), missing or not
 * a readable ELF file gives "BASENAME+0xREL", file NULL.
 *
 * Never NULL.  The answer is cached: the same (PATH, BUILD_ID staleness,
 * REL) gives the same pointer, valid for the life of the pool.  Thread-safe
 * (one internal mutex; a lookup that opens an object holds it for the
 * time that takes).  Not signal-safe. */
const rp_symbol_t *rp_symbols_lookup(rp_symbols_t *s, const char *path,
                                     const char *build_id, apr_uint64_t rel);

/* Look for separate debug files under DIR instead of /usr/lib/debug: by
 * build-id, DIR/.build-id/xx/yyyy.debug, and by .gnu_debuglink, DIR
 * followed by the object's directory.  NULL or "" restores the default.
 * For tests, which make a debug file on the spot, and for systems that
 * keep them elsewhere.  Objects already opened keep the directory they
 * were opened with, so call it before the first lookup.  DIR is copied.
 * Thread-safe; not signal-safe. */
void rp_symbols_set_debug_dir(rp_symbols_t *s, const char *dir);

#endif /* RP_SYMBOLS_H */
