/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_offcpu: unwinding a blocked thread of this process from another
 * thread, without a signal (see rp_offcpu.h for the contract).
 *
 * A thread blocked in a system call has its user registers saved by the
 * kernel and cannot touch its stack until it wakes.  The kernel publishes
 * two of those registers, the stack pointer and the pc, in
 * /proc/self/task/TID/syscall; libunwind's remote API rebuilds the rest of
 * the call chain from them and the DWARF CFI of each frame, reading our own
 * memory through accessors defined here.  Memory is read with
 * process_vm_readv on our own pid (or pread on /proc/self/mem where a
 * seccomp filter refuses process_vm_readv), which returns an error instead
 * of faulting when a page is gone, so a thread that exits or unmaps its
 * stack mid-unwind costs a dropped sample, never a crash.  Reads go through
 * a small cache of whole pages that lives for one sample: a stack's frames
 * share a few pages, so one system call serves dozens of reads.
 *
 * The kernel gives no other register, and x86-64 code built with frame
 * pointers computes its frame address from RBP.  glibc's system call
 * wrappers do not save RBP, so when such a frame calls one (a module built
 * with -fno-omit-frame-pointer, an ASan build) libunwind asks for RBP's
 * live value.  It is then the frame's own frame pointer: the address of a
 * frame record {saved RBP, return address} just above the frame's locals.
 * find_frame_record searches the frame's stack for it and accepts a word
 * only when the return address follows a call instruction whose target,
 * through a PLT stub if need be, is the start of that very function; a
 * direct call verifies exactly, so a stale record left in uninitialised
 * locals is taken only if it came from an earlier call of the same function
 * from a deeper frame.  Calls through a register cannot be verified and end
 * the unwind there instead.  The distance from the stack pointer to the
 * record is remembered per pc, so the search runs once per call site.
 *
 * Whether the thread stayed blocked is checked after unwinding: the
 * syscall line must be byte for byte the same (a thread that woke and
 * blocked elsewhere has another pc or stack pointer), and its schedstat
 * line, whose third field counts the times it was put on a CPU, must not
 * have moved (a thread that woke and blocked again at the same place has
 * the same syscall line).
 *
 * Open files are cached per thread id in a small direct-mapped table and
 * read with pread at offset 0, which regenerates a /proc seq_file.  A
 * cached file of an exited thread fails with ESRCH; it is reopened once,
 * since the id may now name a new thread.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* process_vm_readv, dl_iterate_phdr */
#endif

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <apr_strings.h>

#include "rp_arch.h"
#include "rp_offcpu.h"

static const char *const result_names[] = {
    "sampled",
    "running",
    "woke",
    "failed"
};

const char *rp_offcpu_result_name(rp_offcpu_result_e r)
{
    if ((unsigned)r < sizeof(result_names) / sizeof(result_names[0])) {
        return result_names[r];
    }
    return "unknown";
}

#if defined(RP_ARCH_OFFCPU)

/* The remote API: rp_offcpu.c must not define UNW_LOCAL_ONLY, and links
 * with -lunwind-x86_64 (or -lunwind-generic).  libunwind.so alone exports
 * only the _UL names, whose unw_create_addr_space returns NULL. */
#include <libunwind.h>

#define RP_TASK_SLOTS   64      /* threads whose /proc files stay open */
#define RP_PAGE         4096    /* bytes read by one system call: a page */
#define RP_PAGES        16      /* pages kept during one sample */
#define RP_LINE_MAX     256     /* syscall line: 9 fields, under 170 bytes */
#define RP_FP_SCAN      16384   /* stack bytes searched for a frame record */
#define RP_FP_SLOTS     256     /* remembered record distances, by pc */
#define RP_EXEC_MAX     1024    /* executable segments of loaded objects */

typedef struct {
    pid_t tid;                  /* 0: slot free */
    int sys_fd;                 /* /proc/self/task/TID/syscall */
    int sched_fd;               /* .../schedstat, -1 if unavailable */
} rp_task_t;

typedef struct {
    unw_word_t base;            /* address of the page; 0: empty */
    unsigned char data[RP_PAGE];
} rp_page_t;

typedef struct {
    unw_word_t start;
    unw_word_t end;
} rp_range_t;

typedef struct {
    unw_word_t ip;              /* a frame's pc; 0: empty */
    unw_word_t start;           /* its function's first instruction */
    unw_word_t delta;           /* its frame record minus its stack pointer */
} rp_fp_hint_t;

typedef struct {
    char text[RP_LINE_MAX];
    apr_size_t len;
    int running;
    long nr;                    /* system call number, -1 outside one */
    unw_word_t sp;
    unw_word_t pc;
} rp_line_t;

struct rp_offcpu_t {
    unw_addr_space_t as;        /* ours, with the accessors below */
    const unw_accessors_t *local;   /* libunwind's own: CFI lookup */
    unw_cursor_t cursor;
    pid_t pid;
    int task_dir;               /* /proc/self/task */
    int mem_fd;                 /* /proc/self/mem, or -1: process_vm_readv */

    /* The sample being taken. */
    unw_word_t sp, pc;          /* innermost frame, from the syscall line */
    unw_word_t frame_ip;        /* the frame being stepped from */
    unw_word_t frame_sp;
    int frame_first;            /* frame_ip is exact, not a return address */
    int rbp_state;              /* 0 not asked, 1 found, -1 not found */
    unw_word_t rbp;

    rp_page_t *pages;           /* RP_PAGES */
    unsigned page_next;

    rp_task_t tasks[RP_TASK_SLOTS];
    rp_fp_hint_t fp_hints[RP_FP_SLOTS];

    rp_range_t *exec;           /* RP_EXEC_MAX, sorted by start */
    int nexec;
    int exec_valid;
    unsigned long long dl_adds, dl_subs;

    rp_offcpu_stats_t stats;
};

/* ------------------------------------------------------------------ */
/* Our own memory, read safely */

static int read_direct(rp_offcpu_t *o, unw_word_t addr, void *buf,
                       apr_size_t len)
{
    ssize_t n;

    if (o->mem_fd < 0) {
        struct iovec local, remote;

        local.iov_base = buf;
        local.iov_len = len;
        remote.iov_base = (void *)(uintptr_t)addr;
        remote.iov_len = len;
        n = process_vm_readv(o->pid, &local, 1, &remote, 1, 0);
    }
    else {
        if (addr > (unw_word_t)INT64_MAX) {
            return 0;
        }
        n = pread(o->mem_fd, buf, len, (off_t)addr);
    }
    return n == (ssize_t)len;
}

static int in_exec(rp_offcpu_t *o, unw_word_t addr);

/* Before a sample: forget the pages read for the last one, except code of
 * loaded objects, which does not change while they stay loaded
 * (objects_check forgets everything when one is unloaded). */
static void pages_reset(rp_offcpu_t *o, int all)
{
    int i;

    for (i = 0; i < RP_PAGES; i++) {
        if (all || !in_exec(o, o->pages[i].base)) {
            o->pages[i].base = 0;
        }
    }
}

/* The page at BASE, read once per sample; NULL if it is not mapped. */
static const unsigned char *page_get(rp_offcpu_t *o, unw_word_t base)
{
    rp_page_t *pg;
    int i;

    for (i = 0; i < RP_PAGES; i++) {
        if (o->pages[i].base == base) {
            return o->pages[i].data;
        }
    }
    pg = &o->pages[o->page_next];
    o->page_next = (o->page_next + 1) % RP_PAGES;
    if (!read_direct(o, base, pg->data, RP_PAGE)) {
        pg->base = 0;
        return NULL;
    }
    pg->base = base;
    return pg->data;
}

/* Copy LEN bytes at ADDR; 0 if any of them is unreadable. */
static int mem_copy(rp_offcpu_t *o, unw_word_t addr, void *buf,
                    apr_size_t len)
{
    unsigned char *out = buf;

    while (len > 0) {
        unw_word_t base = addr & ~(unw_word_t)(RP_PAGE - 1);
        apr_size_t off = (apr_size_t)(addr - base);
        apr_size_t n = RP_PAGE - off;
        const unsigned char *pg;

        /* Page 0 is never mapped, and 0 marks an empty cache slot. */
        if (base == 0 || !(pg = page_get(o, base))) {
            return 0;
        }
        if (n > len) {
            n = len;
        }
        memcpy(out, pg + off, n);
        out += n;
        addr += n;
        len -= n;
    }
    return 1;
}

static int mem_word(rp_offcpu_t *o, unw_word_t addr, unw_word_t *w)
{
    return mem_copy(o, addr, w, sizeof(*w));
}

/* ------------------------------------------------------------------ */
/* Loaded objects: executable ranges, and when they change */

static int exec_collect(struct dl_phdr_info *info, size_t size, void *data)
{
    rp_offcpu_t *o = data;
    int i;

    for (i = 0; i < info->dlpi_phnum && o->nexec < RP_EXEC_MAX; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            o->exec[o->nexec].start = info->dlpi_addr + ph->p_vaddr;
            o->exec[o->nexec].end = o->exec[o->nexec].start + ph->p_memsz;
            o->nexec++;
        }
    }
    return 0;
}

static int range_cmp(const void *a, const void *b)
{
    const rp_range_t *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/* Whether ADDR is in the code of a loaded object (the vDSO included). */
static int in_exec(rp_offcpu_t *o, unw_word_t addr)
{
    int lo = 0, hi;

    if (!o->exec_valid) {
        o->nexec = 0;
        dl_iterate_phdr(exec_collect, o);
        qsort(o->exec, (size_t)o->nexec, sizeof(rp_range_t), range_cmp);
        o->exec_valid = 1;
    }
    hi = o->nexec;
    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (addr < o->exec[mid].start) {
            hi = mid;
        }
        else if (addr >= o->exec[mid].end) {
            lo = mid + 1;
        }
        else {
            return 1;
        }
    }
    return 0;
}

static int dl_generation(struct dl_phdr_info *info, size_t size, void *data)
{
    unsigned long long *g = data;

    if (size >= offsetof(struct dl_phdr_info, dlpi_subs)
                + sizeof(info->dlpi_subs)) {
        g[0] = info->dlpi_adds;
        g[1] = info->dlpi_subs;
    }
    return 1;                   /* the first object is enough */
}

/* After a dlclose, code may sit where other code was: libunwind's cache of
 * register rules by pc, and our frame record distances, are then wrong.
 * The check is one loader lock and one callback. */
static void objects_check(rp_offcpu_t *o)
{
    unsigned long long g[2] = { 0, 0 };

    dl_iterate_phdr(dl_generation, g);
    if (g[1] != o->dl_subs) {
        unw_flush_cache(o->as, 0, 0);
        memset(o->fp_hints, 0, sizeof(o->fp_hints));
    }
    if (g[0] != o->dl_adds || g[1] != o->dl_subs) {
        o->exec_valid = 0;
        pages_reset(o, 1);
    }
    o->dl_adds = g[0];
    o->dl_subs = g[1];
}

/* ------------------------------------------------------------------ */
/* Frame records: RBP of a frame-pointer frame, found on its stack */

/* Where a PLT stub at T jumps, or T. */
static unw_word_t through_plt(rp_offcpu_t *o, unw_word_t t)
{
    unsigned char c[RP_ARCH_PLT_BYTES];
    apr_uint64_t slot;
    unw_word_t to;

    if (mem_copy(o, t, c, sizeof(c)) && rp_arch_plt_slot(t, c, &slot)
        && mem_word(o, (unw_word_t)slot, &to)) {
        return to;
    }
    return t;
}

/* Whether RA is a return address whose call went to the function starting
 * at START, directly or through a PLT stub (rp_arch_call_before). */
static int called_from(rp_offcpu_t *o, unw_word_t ra, unw_word_t start)
{
    unsigned char b[RP_ARCH_CALL_BYTES];
    apr_uint64_t to;
    unw_word_t t;

    if (!in_exec(o, ra) || !mem_copy(o, ra - sizeof(b), b, sizeof(b))) {
        return 0;
    }
    switch (rp_arch_call_before(ra, b, &to)) {
    case 1:
        t = (unw_word_t)to;
        break;
    case 2:
        if (!mem_word(o, (unw_word_t)to, &t)) {
            return 0;
        }
        break;
    default:
        return 0;
    }
    return t == start || through_plt(o, t) == start;
}

static rp_fp_hint_t *fp_hint(rp_offcpu_t *o, unw_word_t ip)
{
    /* Fibonacci hashing of the pc. */
    apr_uint64_t h = (apr_uint64_t)ip * UINT64_C(0x9e3779b97f4a7c15);

    return &o->fp_hints[h >> 56];
}

/* Whether X is the frame record of the frame being stepped from, which
 * starts at START: its return address was pushed by a call to START. */
static int frame_record_at(rp_offcpu_t *o, unw_word_t x, unw_word_t start)
{
    unw_word_t ra;

    return mem_word(o, x + 8, &ra) && called_from(o, ra, start);
}

/* The live value of RBP for the frame being stepped from, which libunwind
 * needs because that frame's CFA is RBP-based and no inner frame saved it:
 * the address of the frame's own record {saved RBP, return address}.
 * Searched once per sample at most; the answer, or its absence, holds for
 * the rest of it (RBP has one live value). */
static int find_frame_record(rp_offcpu_t *o, unw_word_t *rbp)
{
    rp_fp_hint_t *hint = fp_hint(o, o->frame_ip);
    unw_word_t x, start, end;

    if (o->rbp_state) {
        *rbp = o->rbp;
        return o->rbp_state > 0;
    }
    o->rbp_state = -1;

    if (hint->ip == o->frame_ip) {
        start = hint->start;
        x = o->frame_sp + hint->delta;
    }
    else {
        unw_proc_info_t pi;

        /* A return address is one past its call: look up the call. */
        memset(&pi, 0, sizeof(pi));
        if (o->local->find_proc_info(o->as, o->frame_first ? o->frame_ip
                                                           : o->frame_ip - 1,
                                     &pi, 0, o) < 0
            || pi.start_ip == 0) {
            return 0;
        }
        start = pi.start_ip;
        x = 0;
    }
    if (!x || !frame_record_at(o, x, start)) {
        end = o->frame_sp + RP_FP_SCAN;
        for (x = (o->frame_sp + 7) & ~(unw_word_t)7; x < end; x += 8) {
            if (frame_record_at(o, x, start)) {
                break;
            }
        }
        if (x >= end) {
            return 0;
        }
        hint->ip = o->frame_ip;
        hint->start = start;
        hint->delta = x - o->frame_sp;
    }
    o->rbp = *rbp = x;
    o->rbp_state = 1;
    o->stats.fp_found++;
    return 1;
}

/* ------------------------------------------------------------------ */
/* libunwind accessors */

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
                      int write, void *arg)
{
    if (write) {
        return -UNW_EINVAL;
    }
    return mem_word(arg, addr, val) ? 0 : -UNW_EINVAL;
}

/* The kernel tells us the innermost frame's pc and stack pointer only;
 * every other register libunwind needs is one an inner frame saved on the
 * stack, except RBP in frame-pointer code (find_frame_record). */
static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val,
                      int write, void *arg)
{
    rp_offcpu_t *o = arg;

    if (write) {
        return -UNW_EREADONLYREG;
    }
    switch (reg) {
    case RP_ARCH_UNW_PC:
        *val = o->pc;
        return 0;
    case RP_ARCH_UNW_SP:
        *val = o->sp;
        return 0;
    case RP_ARCH_UNW_FP:
        return find_frame_record(o, val) ? 0 : -UNW_EBADREG;
    default:
        return -UNW_EBADREG;
    }
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
                        unw_fpreg_t *val, int write, void *arg)
{
    return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
    return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf,
                         size_t len, unw_word_t *off, void *arg)
{
    return -UNW_ENOINFO;        /* symbols are rp_symbols' business */
}

/* ------------------------------------------------------------------ */
/* /proc/self/task/TID files */

static void task_close(rp_task_t *t)
{
    if (t->tid) {
        close(t->sys_fd);
        if (t->sched_fd >= 0) {
            close(t->sched_fd);
        }
    }
    t->tid = 0;
    t->sys_fd = t->sched_fd = -1;
}

static int task_open(rp_offcpu_t *o, rp_task_t *t, pid_t tid)
{
    char path[64];

    task_close(t);
    apr_snprintf(path, sizeof(path), "%ld/syscall", (long)tid);
    t->sys_fd = openat(o->task_dir, path, O_RDONLY | O_CLOEXEC);
    if (t->sys_fd < 0) {
        return 0;
    }
    /* Optional: without CONFIG_SCHED_INFO only the syscall line is
     * compared. */
    apr_snprintf(path, sizeof(path), "%ld/schedstat", (long)tid);
    t->sched_fd = openat(o->task_dir, path, O_RDONLY | O_CLOEXEC);
    t->tid = tid;
    return 1;
}

/* pread at 0 makes a /proc seq_file generate its text afresh. */
static int read_text(int fd, char *buf, apr_size_t size, apr_size_t *len)
{
    ssize_t n;

    do {
        n = pread(fd, buf, size - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    *len = (apr_size_t)n;
    return 1;
}

/* "running", or "NR ARG1..ARG6 SP PC" (NR >= 0), or "-1 SP PC" for a
 * thread blocked outside a system call; numbers after NR are 0x-hex. */
static int line_parse(rp_line_t *l)
{
    unw_word_t w[8];
    char *s = l->text, *end;
    int n = 0;

    l->running = (strncmp(s, "running", 7) == 0);
    if (l->running) {
        return 1;
    }
    l->nr = strtol(s, &end, 10);
    if (end == s) {
        return 0;
    }
    for (s = end; n < 8; s = end) {
        while (*s == ' ') {
            s++;
        }
        if (*s == '\0' || *s == '\n') {
            break;
        }
        w[n++] = (unw_word_t)strtoull(s, &end, 16);
        if (end == s) {
            return 0;
        }
    }
    if (n < 2) {
        return 0;
    }
    l->sp = w[n - 2];
    l->pc = w[n - 1];
    return l->sp != 0 && l->pc != 0;
}

/* Read TID's syscall line into L and, if it is blocked, its schedstat
 * line into SCHED (*SCHED_LEN is 0 without one).  A cached file of an
 * exited thread fails with ESRCH: reopen once, as the id may be reused. */
static int task_read(rp_offcpu_t *o, pid_t tid, rp_line_t *l, char *sched,
                     apr_size_t sched_size, apr_size_t *sched_len)
{
    rp_task_t *t = &o->tasks[(apr_uint32_t)tid % RP_TASK_SLOTS];
    int tries;

    *sched_len = 0;
    for (tries = 0; tries < 2; tries++) {
        if (t->tid != tid && !task_open(o, t, tid)) {
            return 0;
        }
        if (read_text(t->sys_fd, l->text, sizeof(l->text), &l->len)) {
            if (!line_parse(l)) {
                return 0;
            }
            if (!l->running && t->sched_fd >= 0
                && !read_text(t->sched_fd, sched, sched_size, sched_len)) {
                *sched_len = 0;
            }
            return 1;
        }
        o->stats.stale_fds++;
        task_close(t);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Unwinding */

static int unwind(rp_offcpu_t *o, const rp_line_t *l, apr_uint64_t *pcs,
                  int max)
{
    unw_word_t ip, sp, prev_sp = 0;
    int n = 0, rc;

    o->pc = l->pc;
    o->sp = l->sp;
    o->rbp_state = 0;
    o->frame_first = 1;
    pages_reset(o, 0);
    if (unw_init_remote(&o->cursor, o->as, o) < 0) {
        return 0;
    }
    while (n < max) {
        if (unw_get_reg(&o->cursor, UNW_REG_IP, &ip) < 0 || ip == 0
            || unw_get_reg(&o->cursor, UNW_REG_SP, &sp) < 0) {
            break;
        }
        /* A stack unwinds upwards; anything else is garbage (or a
         * sigaltstack, which httpd's threads do not use). */
        if (n > 0 && sp <= prev_sp) {
            o->stats.unwind_short++;
            break;
        }
        pcs[n++] = ip;
        if (n == max) {
            break;
        }
        o->frame_ip = ip;
        o->frame_sp = prev_sp = sp;
        rc = unw_step(&o->cursor);
        if (rc < 0) {
            if (o->rbp_state < 0) {
                o->stats.fp_missing++;
            }
            else {
                o->stats.unwind_short++;
            }
        }
        if (rc <= 0) {
            break;
        }
        o->frame_first = 0;
    }
    return n;
}

rp_offcpu_result_e rp_offcpu_sample(rp_offcpu_t *o, pid_t tid,
                                    apr_uint64_t *pcs, int max, int *depth)
{
    return rp_offcpu_sample_nr(o, tid, pcs, max, depth, NULL);
}

rp_offcpu_result_e rp_offcpu_sample_nr(rp_offcpu_t *o, pid_t tid,
                                       apr_uint64_t *pcs, int max, int *depth,
                                       long *nr)
{
    rp_line_t before, after;
    char sched0[128], sched1[128];
    apr_size_t sched0_len, sched1_len;
    int n;

    *depth = 0;
    /* Our own line would describe the pread reading it. */
    if (tid <= 0 || max <= 0 || tid == (pid_t)syscall(SYS_gettid)) {
        o->stats.failed++;
        return RP_OFFCPU_FAILED;
    }
    if (!task_read(o, tid, &before, sched0, sizeof(sched0), &sched0_len)) {
        o->stats.failed++;
        return RP_OFFCPU_FAILED;
    }
    if (before.running) {
        o->stats.running++;
        return RP_OFFCPU_RUNNING;
    }
    objects_check(o);
    n = unwind(o, &before, pcs, max);

    if (!task_read(o, tid, &after, sched1, sizeof(sched1), &sched1_len)) {
        o->stats.failed++;      /* exited meanwhile */
        return RP_OFFCPU_FAILED;
    }
    if (after.len != before.len
        || memcmp(after.text, before.text, before.len) != 0
        || sched1_len != sched0_len
        || memcmp(sched1, sched0, sched0_len) != 0) {
        o->stats.woke++;
        return RP_OFFCPU_WOKE;
    }
    if (n == 0) {
        o->stats.failed++;
        return RP_OFFCPU_FAILED;
    }
    if (before.nr < 0) {
        o->stats.not_syscall++;
    }
    if (nr) {
        *nr = before.nr;
    }
    o->stats.sampled++;
    *depth = n;
    return RP_OFFCPU_SAMPLED;
}

void rp_offcpu_stats(const rp_offcpu_t *o, rp_offcpu_stats_t *out)
{
    *out = o->stats;
}

/* ------------------------------------------------------------------ */
/* Set-up */

static apr_status_t offcpu_cleanup(void *data)
{
    rp_offcpu_t *o = data;
    int i;

    for (i = 0; i < RP_TASK_SLOTS; i++) {
        task_close(&o->tasks[i]);
    }
    if (o->mem_fd >= 0) {
        close(o->mem_fd);
    }
    if (o->task_dir >= 0) {
        close(o->task_dir);
    }
    if (o->as) {
        unw_flush_cache(o->as, 0, 0);   /* unmaps any .debug_frame read */
        unw_destroy_addr_space(o->as);
    }
    return APR_SUCCESS;
}

/* Whether our own memory can be read, with process_vm_readv or else with
 * /proc/self/mem (Docker's default seccomp profile refuses the former
 * without CAP_SYS_PTRACE). */
static const char *memory_probe(rp_offcpu_t *o, apr_pool_t *p)
{
    static const unw_word_t probe = 0x5250524f46ULL;
    unw_word_t w = 0;
    int vm_errno;

    if (read_direct(o, (unw_word_t)(uintptr_t)&probe, &w, sizeof(w))
        && w == probe) {
        return NULL;
    }
    vm_errno = errno;
    o->mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (o->mem_fd >= 0
        && read_direct(o, (unw_word_t)(uintptr_t)&probe, &w, sizeof(w))
        && w == probe) {
        return NULL;
    }
    return apr_psprintf(p, "cannot read this process's memory: "
                        "process_vm_readv: %s; /proc/self/mem: %s",
                        strerror(vm_errno), strerror(errno));
}

rp_offcpu_t *rp_offcpu_create(apr_pool_t *p, const char **why)
{
    rp_offcpu_t *o = apr_pcalloc(p, sizeof(*o));
    unw_accessors_t acc, *mine;
    rp_line_t l;
    const char *err;
    pid_t self = (pid_t)syscall(SYS_gettid);
    char path[64];
    int i, fd;

    *why = NULL;
    o->pid = getpid();
    o->mem_fd = -1;
    for (i = 0; i < RP_TASK_SLOTS; i++) {
        o->tasks[i].sys_fd = o->tasks[i].sched_fd = -1;
    }
    o->pages = apr_pcalloc(p, RP_PAGES * sizeof(rp_page_t));
    o->exec = apr_pcalloc(p, RP_EXEC_MAX * sizeof(rp_range_t));
    o->task_dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    apr_pool_cleanup_register(p, o, offcpu_cleanup, apr_pool_cleanup_null);
    if (o->task_dir < 0) {
        *why = apr_psprintf(p, "cannot open /proc/self/task: %s",
                            strerror(errno));
        return NULL;
    }

    /* Our own line is readable exactly when every thread's is. */
    apr_snprintf(path, sizeof(path), "%ld/syscall", (long)self);
    fd = openat(o->task_dir, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !read_text(fd, l.text, sizeof(l.text), &l.len)) {
        int e = errno;

        if (fd >= 0) {
            close(fd);
        }
        *why = apr_psprintf(p, "cannot read /proc/self/task/%ld/syscall: "
                            "%s%s", (long)self, strerror(e),
                            e == EACCES ? " (the process is not dumpable, "
                            "as an httpd child is after switching to its "
                            "User; prctl(PR_SET_DUMPABLE, 1) or "
                            "CoreDumpDirectory makes it so)" : "");
        return NULL;
    }
    close(fd);

    if ((err = memory_probe(o, p)) != NULL) {
        *why = err;
        return NULL;
    }

    /* Our accessors first; CFI lookup comes from the local address space
     * below (it reads through our access_mem, as this address space is
     * not the local one). */
    memset(&acc, 0, sizeof(acc));
    acc.access_mem = access_mem;
    acc.access_reg = access_reg;
    acc.access_fpreg = access_fpreg;
    acc.resume = resume;
    acc.get_proc_name = get_proc_name;
    o->as = unw_create_addr_space(&acc, 0);
    if (!o->as) {
        *why = "libunwind's remote API is unavailable (linked with the "
               "local-only libunwind instead of libunwind-x86_64?)";
        return NULL;
    }
    /* A new address space caches nothing.  The global cache is per
     * address space, that is per rp_offcpu_t: no other thread takes its
     * lock.  This call also initialises libunwind-x86_64, which must come
     * before unw_get_accessors: libunwind.so exports a function of that
     * name too, which initialises only itself, and when it is the one
     * bound (-lunwind before -lunwind-x86_64) the local address space
     * would still be empty. */
    unw_set_caching_policy(o->as, UNW_CACHE_GLOBAL);
    o->local = unw_get_accessors(unw_local_addr_space);
    if (!o->local || !o->local->find_proc_info) {
        *why = "libunwind's local address space is not initialised";
        return NULL;
    }
    mine = unw_get_accessors(o->as);
    mine->find_proc_info = o->local->find_proc_info;
    mine->put_unwind_info = o->local->put_unwind_info;
    mine->get_dyn_info_list_addr = o->local->get_dyn_info_list_addr;
    return o;
}

#else /* !RP_ARCH_OFFCPU */

struct rp_offcpu_t {
    rp_offcpu_stats_t stats;
};

rp_offcpu_t *rp_offcpu_create(apr_pool_t *p, const char **why)
{
    *why = "off-CPU sampling is implemented for x86-64 only";
    return NULL;
}

rp_offcpu_result_e rp_offcpu_sample(rp_offcpu_t *o, pid_t tid,
                                    apr_uint64_t *pcs, int max, int *depth)
{
    *depth = 0;
    return RP_OFFCPU_FAILED;
}

rp_offcpu_result_e rp_offcpu_sample_nr(rp_offcpu_t *o, pid_t tid,
                                       apr_uint64_t *pcs, int max, int *depth,
                                       long *nr)
{
    (void)nr;
    return rp_offcpu_sample(o, tid, pcs, max, depth);
}

void rp_offcpu_stats(const rp_offcpu_t *o, rp_offcpu_stats_t *out)
{
    *out = o->stats;
}

#endif /* RP_ARCH_OFFCPU */
