/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_inames: the per-thread name tables of script frames and their tagged
 * words (see rp_inames.h).
 *
 * Open addressing over a power-of-two array, keyed by the interpreter's
 * function (or code object) address, with a check word (its name and
 * file strings' addresses) telling a reused address apart; names and
 * files copied into an arena.  An entry is live when its generation is
 * the table's, so a reset is one increment.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_inames.h"

#define NAMES_SLOTS  1024        /* entries: a power of two */
#define NAMES_PROBE  16          /* slots looked at per lookup */
#define NAMES_ARENA  (64 * 1024) /* bytes of names and files */
/* The entry index of "[names full]" in a tagged word. */
#define ENTRY_FULL   0xFFFFFFFFu
/* Tagged word: bit 63 tag, bit 62 which table, bits 32..55 the line,
 * bits 0..31 the entry. */
#define W_WHICH      (APR_UINT64_C(1) << 62)
#define W_LINE_SHIFT 32
#define W_LINE_MAX   0xFFFFFF
#define W_ENTRY(w)   ((apr_uint32_t)((w)&0xFFFFFFFFu))
#define W_LINE(w)    ((int)(((w) >> W_LINE_SHIFT) & W_LINE_MAX))

const char *const rp_lang_names[RP_LANGS + 1] = { "", "php", "python", NULL };

typedef struct {
    apr_uint64_t key;
    apr_uint64_t check;
    apr_uint32_t gen;
    apr_uint32_t first_line;
    apr_uint32_t name; /* offsets in the arena */
    apr_uint32_t file;
    apr_uint16_t name_len;
    apr_uint16_t file_len;
    apr_uint32_t lang;
} rp_iname_t;

struct rp_inames_t {
    apr_uint32_t gen;   /* never 0: 0 marks a free entry */
    apr_uint32_t used;  /* arena bytes */
    apr_uint32_t count; /* live entries */
    rp_iname_t e[NAMES_SLOTS];
    char arena[NAMES_ARENA];
};

rp_inames_t *rp_interp_names_new(void)
{
    rp_inames_t *nm = calloc(1, sizeof(*nm));

    if (nm) {
        nm->gen = 1;
    }
    return nm;
}

void rp_interp_names_free(rp_inames_t *nm)
{
    free(nm);
}

void rp_interp_names_reset(rp_inames_t *nm)
{
    if (++nm->gen == 0) {
        /* 2^32 requests on one thread: entries of generation 1 from
         * long ago would pass for live ones. */
        memset(nm->e, 0, sizeof(nm->e));
        nm->gen = 1;
    }
    nm->used = 0;
    nm->count = 0;
}

void rp_interp_names_begin(rp_inames_t *nm)
{
    if (nm->used > NAMES_ARENA / 4 * 3 || nm->count > NAMES_SLOTS / 4 * 3) {
        rp_interp_names_reset(nm);
    }
}

int rp_interp_copy(void *const *in, int n, void **out, int max,
                   int *truncated)
{
    int k = n < max ? n : max;

    memcpy(out, in, sizeof(*out) * (apr_size_t)k);
    *truncated = k < n;
    return k;
}

int rp_interp_ptr_ok(const void *p, apr_size_t align)
{
    apr_uintptr_t v = (apr_uintptr_t)p;

    return v >= 65536 && v < ((apr_uintptr_t)1 << 47)
           && (v & (align - 1)) == 0;
}

static apr_uint64_t word_of(int which, apr_uint32_t entry, int line)
{
    apr_uint64_t l = line < 0            ? 0
                     : line > W_LINE_MAX ? W_LINE_MAX
                                         : (apr_uint64_t)line;

    return RP_INTERP_TAG | (which ? W_WHICH : 0) | (l << W_LINE_SHIFT)
           | entry;
}

apr_uint64_t rp_interp_word(rp_inames_t *nm, int which, int lang,
                            apr_uint64_t key, apr_uint64_t check, int line,
                            rp_iname_fn fill, const void *arg,
                            rp_merge_counts_t *mc)
{
    char name[RP_INAME_MAX], file[RP_INAME_MAX];
    apr_size_t nlen = 0, flen = 0;
    apr_uint32_t h =
        (apr_uint32_t)(((key >> 3) * APR_UINT64_C(0x9E3779B97F4A7C15)) >> 40);
    apr_uint32_t i, at, free_at = ENTRY_FULL;
    rp_iname_t *e;
    int first = 0;

    for (i = 0; i < NAMES_PROBE; i++) {
        at = (h + i) & (NAMES_SLOTS - 1);
        e = &nm->e[at];
        if (e->gen != nm->gen) {
            if (free_at == ENTRY_FULL) {
                free_at = at;
            }
            continue;
        }
        if (e->key == key && e->check == check && e->lang == (unsigned)lang) {
            return word_of(which, at, line);
        }
    }
    if (free_at != ENTRY_FULL
        && !fill(arg, name, &nlen, file, &flen, &first)) {
        return 0; /* garbage: the caller drops the sample's merge */
    }
    if (free_at == ENTRY_FULL || nlen + flen > NAMES_ARENA - nm->used) {
        mc->names_full++;
        return word_of(which, ENTRY_FULL, line) | ((apr_uint64_t)lang << 56);
    }
    e = &nm->e[free_at];
    e->key = key;
    e->check = check;
    e->lang = (apr_uint32_t)lang;
    e->first_line = first > 0 ? (apr_uint32_t)first : 0;
    e->name = nm->used;
    memcpy(nm->arena + nm->used, name, nlen);
    nm->used += (apr_uint32_t)nlen;
    e->file = nm->used;
    memcpy(nm->arena + nm->used, file, flen);
    nm->used += (apr_uint32_t)flen;
    e->name_len = (apr_uint16_t)nlen;
    e->file_len = (apr_uint16_t)flen;
    e->gen = nm->gen;
    nm->count++;
    mc->copied++;
    return word_of(which, free_at, line);
}


int rp_interp_which(apr_uint64_t word)
{
    return (word & W_WHICH) != 0;
}

int rp_interp_frame(const rp_inames_t *nm, apr_uint64_t w,
                    rp_script_frame_t *out)
{
    apr_uint32_t at = W_ENTRY(w);
    const rp_iname_t *e;

    memset(out, 0, sizeof(*out));
    out->line = W_LINE(w);
    if (at == ENTRY_FULL) {
        out->lang = (int)((w >> 56) & 0x3);
        out->name = "[names full]";
        out->name_len = strlen(out->name);
        out->file = "";
        return 1;
    }
    if (!nm || at >= NAMES_SLOTS || nm->e[at].gen != nm->gen) {
        out->name = "[lost]";
        out->name_len = strlen(out->name);
        out->file = "";
        return 0;
    }
    e = &nm->e[at];
    out->lang = (int)e->lang;
    out->name = nm->arena + e->name;
    out->name_len = e->name_len;
    out->file = nm->arena + e->file;
    out->file_len = e->file_len;
    out->first_line = (int)e->first_line;
    return 1;
}

/* Copy N bytes of SRC to DST, the text format's separators replaced. */
static void text_copy(char *dst, const char *src, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        dst[i] = src[i] == '\n' || src[i] == '\x1f' ? '?' : src[i];
    }
}

apr_size_t rp_interp_frame_text(const rp_inames_t *nm, apr_uint64_t w,
                                char *buf, apr_size_t len)
{
    apr_uint32_t at = W_ENTRY(w), name, file, nlen, flen, lang;
    char tail[32];
    apr_size_t need, tl;
    const char *full = "[names full]";

    if (at == ENTRY_FULL || !nm || at >= NAMES_SLOTS) {
        lang = at == ENTRY_FULL ? (apr_uint32_t)((w >> 56) & 0x3) : 0;
        name = 0;
        nlen = (apr_uint32_t)strlen(full);
        flen = 0;
        file = 0;
    }
    else {
        const rp_iname_t *e = &nm->e[at];
        /* One read of each field; each clamped to the arena. */
        lang = __atomic_load_n(&e->lang, __ATOMIC_RELAXED) & 0x3;
        name = __atomic_load_n(&e->name, __ATOMIC_RELAXED) % NAMES_ARENA;
        file = __atomic_load_n(&e->file, __ATOMIC_RELAXED) % NAMES_ARENA;
        nlen = __atomic_load_n(&e->name_len, __ATOMIC_RELAXED);
        flen = __atomic_load_n(&e->file_len, __ATOMIC_RELAXED);
        nlen = nlen > NAMES_ARENA - name ? NAMES_ARENA - name : nlen;
        flen = flen > NAMES_ARENA - file ? NAMES_ARENA - file : flen;
    }
    tl = (apr_size_t)snprintf(tail, sizeof(tail), "\x1f%d\n", W_LINE(w));
    need = 2 + nlen + 1 + flen + tl;
    if (need > len) {
        return 0;
    }
    buf[0] = (char)('0' + lang);
    buf[1] = '\x1f';
    text_copy(buf + 2,
              at == ENTRY_FULL || !nm || at >= NAMES_SLOTS ? full
                                                           : nm->arena + name,
              nlen);
    buf[2 + nlen] = '\x1f';
    if (flen) {
        text_copy(buf + 3 + nlen, nm->arena + file, flen);
    }
    memcpy(buf + 3 + nlen + flen, tail, tl);
    return need;
}

int rp_interp_text_frame(const char *text, apr_size_t len,
                         rp_script_frame_t *out)
{
    const char *end = text + len, *a, *b, *c;

    memset(out, 0, sizeof(*out));
    if (len < 5 || text[0] < '0' || text[0] > '3' || text[1] != '\x1f'
        || !(a = memchr(text + 2, '\x1f', (apr_size_t)(end - text - 2)))
        || !(b = memchr(a + 1, '\x1f', (apr_size_t)(end - a - 1)))) {
        return 0;
    }
    out->lang = text[0] - '0';
    out->name = text + 2;
    out->name_len = (apr_size_t)(a - out->name);
    out->file = a + 1;
    out->file_len = (apr_size_t)(b - out->file);
    for (c = b + 1; c < end && *c >= '0' && *c <= '9'; c++) {
        out->line = out->line * 10 + (*c - '0');
    }
    return 1;
}
