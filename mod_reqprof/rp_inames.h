/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_inames: the words a script frame travels as in a sample, and the
 * per-thread table of the names they point to (see rp_interp.h for the
 * merge that makes them).
 *
 * A script frame is a tagged word (RP_INTERP_TAG set: no user-space
 * address has bit 63 set) naming an entry of its thread's table: the
 * function's language, name, file and first line, copied when the sample
 * is taken, since PHP frees a request's functions before the request's
 * end drains its samples.  A thread has two tables (one written by its
 * signal handler, one by the off-CPU sampler), kept from request to
 * request until they fill up.  An entry is found again by the function's
 * address and a check word of its strings' addresses and hashes, which
 * tells a function apart from another compiled at the same address.  rp_interp_word and rp_interp_ptr_ok run in signal
 * context; the rest does not.
 */

#ifndef RP_INAMES_H
#define RP_INAMES_H

#include <apr.h>

/* A sample word that is a script frame, not a code address. */
#define RP_INTERP_TAG       (APR_UINT64_C(1) << 63)
#define RP_INTERP_IS_TAG(w) (((w)&RP_INTERP_TAG) != 0)

typedef enum {
    RP_LANG_NONE = 0,
    RP_LANG_PHP,
    RP_LANG_PYTHON,
    RP_LANGS
} rp_lang_e;

/* By rp_lang_e: "", "php", "python" (what the object column shows). */
extern const char *const rp_lang_names[RP_LANGS + 1];

/* What became of the merges of a request's samples: every sample taken
 * while a script ran ends in exactly one of merged, mismatch, fault and
 * cut. */
/* clang-format off */
typedef struct {
    apr_uint64_t merged;        /* script frames in place of the loop's */
    apr_uint64_t mismatch;      /* loop frames and script frames did not
                                 * pair up: native frames kept alone */
    apr_uint64_t fault;         /* a read faulted or failed a check:
                                 * native frames kept alone */
    apr_uint64_t cut;           /* the native stack ended before reaching
                                 * the loop (JIT code has no unwind
                                 * information): the script frames were
                                 * put above what it had */
    apr_uint64_t names_full;    /* frames named "[names full]": the
                                 * thread's table had no room */
    apr_uint64_t copied;        /* names copied into the table (first
                                 * sights; not shown, for the bench) */
} rp_merge_counts_t;
/* clang-format on */

/* A thread's table of script function names. */
typedef struct rp_inames_t rp_inames_t;

/* A script frame, as the drain reads it back. */
typedef struct {
    int lang;         /* rp_lang_e */
    const char *name; /* not NUL-terminated: NAME_LEN bytes */
    apr_size_t name_len;
    const char *file; /* the same */
    apr_size_t file_len;
    int first_line; /* of the function */
    int line;       /* running in that frame */
} rp_script_frame_t;

/* A name table (malloc'd), or NULL.  Free with rp_interp_names_free. */
rp_inames_t *rp_interp_names_new(void);
void rp_interp_names_free(rp_inames_t *nm);

/* Forget the table's entries: O(1). */
void rp_interp_names_reset(rp_inames_t *nm);

/* At a request's begin: keep the entries of earlier requests (a
 * function seen again is found, not copied again: the walk's cost is
 * its first sight) unless the table is three quarters full, then forget
 * them.  The request's words stay valid until its end. */
void rp_interp_names_begin(rp_inames_t *nm);

/* Which table a tagged word names (the WHICH given to the merge). */
int rp_interp_which(apr_uint64_t word);

/* The script frame of tagged word W, named in NM.  0 when the entry is
 * gone (the table was reset since): then *OUT names "[lost]". */
int rp_interp_frame(const rp_inames_t *nm, apr_uint64_t w,
                    rp_script_frame_t *out);

/* The tagged word of the function KEY (with CHECK, which tells a
 * reused address apart) running at LINE, naming it in NM on first sight:
 * NAME(ARG) fills NAME_BUF and FILE_BUF (each RP_INAME_MAX bytes) and
 * returns their lengths and the first line (0: what it read is
 * garbage).  Signal context.  Bounded: a table that is full gives a
 * word naming "[names full]", counted.  0 when NAME failed: the caller
 * counts the sample's merge as a fault. */
#define RP_INAME_MAX 256
typedef int (*rp_iname_fn)(const void *arg, char *name, apr_size_t *name_len,
                           char *file, apr_size_t *file_len, int *first_line);
apr_uint64_t rp_interp_word(rp_inames_t *nm, int which, int lang,
                            apr_uint64_t key, apr_uint64_t check, int line,
                            rp_iname_fn fill, const void *arg,
                            rp_merge_counts_t *mc);

/* Copy the native stack IN (N frames) to OUT (at most MAX), as it is:
 * what a merge gives when no script frame takes a place.  *TRUNCATED:
 * frames did not fit.  Signal context. */
int rp_interp_copy(void *const *in, int n, void **out, int max,
                   int *truncated);

/* Whether P may be read as a pointer to SIZE bytes aligned on ALIGN: in
 * user space, not NULL or near it.  Cheap; a fault past it is caught. */
int rp_interp_ptr_ok(const void *p, apr_size_t align);

/* The script frame of tagged word W as one line of text into BUF (at
 * most LEN bytes): "LANG\x1fNAME\x1fFILE\x1fLINE\n", LANG a digit,
 * separators and newlines in the strings replaced.  Safe while the
 * table's thread writes it (the live view reads another thread's): every
 * offset and length is clamped to the table, so a torn entry gives a
 * wrong name, never a read outside.  Returns the bytes written, 0 when
 * they did not fit.  Not signal-safe. */
apr_size_t rp_interp_frame_text(const rp_inames_t *nm, apr_uint64_t w,
                                char *buf, apr_size_t len);

/* The line of text rp_interp_frame_text wrote, read back into *OUT (its
 * strings point into TEXT, not terminated).  0 when it is not one. */
int rp_interp_text_frame(const char *text, apr_size_t len,
                         rp_script_frame_t *out);

#endif /* RP_INAMES_H */
