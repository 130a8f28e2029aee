/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_live: the requests in flight and the slow-request log (see
 * rp_live.h).
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <ap_mpm.h>
#include <http_core.h>
#include <http_log.h>
#include <scoreboard.h>

#include "rp_private.h"
#include "rp_config.h"
#include "rp_interp.h"
#include "rp_live.h"
#include "rp_objects.h"
#include "rp_offcpu.h"
#include "rp_sampler.h"
#include "rp_symbols.h"

#define LIVE_KEY "reqprof-live"
#define LOOK_AFTER_US                                                        \
    200000 /* a request is looked at from
                                         * this age, and this often */
#define ROW_MAX 1024

/* One record in shared memory: what its thread serves (written by that
 * thread, seq) and what the watcher saw it do (written by the watcher,
 * wseq).  Strings are cut to their fields and always terminated. */
typedef struct {
    apr_uint32_t owner; /* tid of the thread holding it, 0: free
                                 * (taken with a CAS) */
    apr_uint32_t seq;   /* odd while the thread writes */
    apr_uint32_t gen;   /* its request's number, 0: none */
    apr_int32_t pid, tid;
    apr_int64_t start;
    char method[16];
    char id[64];
    char vhost[64];
    char client[48];
    char uri[256];
    /* the watcher's */
    apr_uint32_t wseq;
    apr_uint32_t wgen; /* the request its look is of */
    apr_int32_t state;
    apr_int32_t truncated;
    apr_int64_t sysno;
    apr_int64_t look;
    apr_int64_t sample_age_us;
    apr_uint32_t depth;
    apr_uint32_t pad;
    apr_uint64_t pcs[RP_LIVE_DEPTH]; /* a script frame: RP_INTERP_TAG |
                                 * its line in script */
    char script[RP_LIVE_SCRIPT];     /* rp_interp_frame_text's lines */
} rp_live_rec_t;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t nslots;
    apr_uint32_t width; /* records per row */
    apr_uint32_t pad;
} rp_live_hdr_t;

#define LIVE_MAGIC 0x52504c56u

/* Kept in the process pool over restarts, like the store's segment. */
typedef struct {
    apr_shm_t *shm;
    int nslots, width;
} rp_live_state_t;

struct rp_slowlog_t {
    apr_file_t *f;
    const char *name;
};

static rp_live_hdr_t *live_hdr; /* the segment (all processes) */
static rp_live_rec_t *my_row;   /* this child's row */
static apr_int32_t my_pid;
static apr_uint32_t my_gen; /* request numbers (atomic) */
/* Per record of this child: the host of its request (written by its
 * thread before the seqlock releases it), and the watcher's own count of
 * dumps. */
static const server_rec **row_server;
static apr_uint32_t *dump_gen;
static int *dumps;

static __thread apr_uint32_t my_idx __attribute__((tls_model("initial-"
                                                             "exec")));
static pthread_key_t idx_key;
static int have_idx_key;

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static int watch_state; /* 0 not started, 1 running, -1 */
static int watch_quit;  /* atomic */
static pthread_t watch_thread;
static apr_pool_t *watch_own;             /* unmanaged: the watcher's */
static const rp_objects_t *child_objects; /* the child's, for the log */

static rp_live_rec_t *rec_at(int slot, int i)
{
    return (rp_live_rec_t *)(live_hdr + 1)
           + (apr_size_t)slot * live_hdr->width + i;
}

/* ------------------------------------------------------------------ */
/* System call names: the ones requests wait in, by this machine's
 * numbers. */

typedef struct {
    long nr;
    const char *name;
} rp_sysname_t;

/* clang-format off */
static const rp_sysname_t sysnames[] = {
    { SYS_read, "read" },               { SYS_write, "write" },
    { SYS_readv, "readv" },             { SYS_writev, "writev" },
    { SYS_pread64, "pread64" },         { SYS_pwrite64, "pwrite64" },
#ifdef SYS_poll
    { SYS_poll, "poll" },
#endif
#ifdef SYS_select
    { SYS_select, "select" },
#endif
    { SYS_ppoll, "ppoll" },             { SYS_pselect6, "pselect6" },
#ifdef SYS_epoll_wait
    { SYS_epoll_wait, "epoll_wait" },
#endif
    { SYS_epoll_pwait, "epoll_pwait" }, { SYS_futex, "futex" },
    { SYS_nanosleep, "nanosleep" },
    { SYS_clock_nanosleep, "clock_nanosleep" },
    { SYS_connect, "connect" },         { SYS_accept4, "accept4" },
#ifdef SYS_accept
    { SYS_accept, "accept" },
#endif
    { SYS_recvfrom, "recvfrom" },       { SYS_sendto, "sendto" },
    { SYS_recvmsg, "recvmsg" },         { SYS_sendmsg, "sendmsg" },
    { SYS_sendfile, "sendfile" },       { SYS_wait4, "wait4" },
    { SYS_waitid, "waitid" },           { SYS_openat, "openat" },
    { SYS_fsync, "fsync" },             { SYS_fdatasync, "fdatasync" },
    { SYS_flock, "flock" },             { SYS_fcntl, "fcntl" },
    { SYS_rt_sigtimedwait, "rt_sigtimedwait" },
    { SYS_semtimedop, "semtimedop" },   { SYS_msgrcv, "msgrcv" },
    { SYS_close, "close" },             { SYS_shutdown, "shutdown" },
    { -1, NULL }
};
/* clang-format on */

const char *rp_live_syscall_name(long nr)
{
    const rp_sysname_t *s;

    for (s = sysnames; s->name; s++) {
        if (s->nr == nr) {
            return s->name;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Parent */

static int row_width(void)
{
    int threads = 0;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS
        || threads < 1) {
        threads = 1;
    }
    /* mod_http2's workers serve requests too, beside the MPM's. */
    threads = threads * 2 + 8;
    return threads > ROW_MAX ? ROW_MAX : threads;
}

static const char *open_slow_log(apr_pool_t *pconf, server_rec *s,
                                 apr_hash_t *opened, rp_server_conf_t *conf)
{
    struct rp_slowlog_t *l = apr_hash_get(opened, conf->slow_file,
                                          APR_HASH_KEY_STRING);
    apr_status_t rv;

    if (!l) {
        l = apr_pcalloc(pconf, sizeof(*l));
        l->name = conf->slow_file;
        if (conf->slow_file[0] == '|') {
            piped_log *pl = ap_open_piped_log(pconf, conf->slow_file + 1);

            if (!pl) {
                return apr_psprintf(pconf,
                                    "ReqProfSlowLog: cannot start "
                                    "the piped log '%s'",
                                    conf->slow_file + 1);
            }
            l->f = ap_piped_log_write_fd(pl);
        }
        else {
            const char *path = ap_server_root_relative(pconf,
                                                       conf->slow_file);

            if (!path) {
                return apr_psprintf(pconf, "ReqProfSlowLog: bad path '%s'",
                                    conf->slow_file);
            }
            rv = apr_file_open(&l->f, path,
                               APR_FOPEN_WRITE | APR_FOPEN_APPEND
                                   | APR_FOPEN_CREATE,
                               APR_OS_DEFAULT, pconf);
            if (rv != APR_SUCCESS) {
                char buf[120];

                return apr_psprintf(pconf,
                                    "ReqProfSlowLog: cannot open "
                                    "'%s': %s",
                                    path, apr_strerror(rv, buf, sizeof(buf)));
            }
        }
        apr_hash_set(opened, conf->slow_file, APR_HASH_KEY_STRING, l);
    }
    conf->slow_log = l;
    (void)s;
    return NULL;
}

int rp_live_post_config(apr_pool_t *pconf, server_rec *s, int nslots)
{
    apr_pool_t *pproc = s->process->pool;
    rp_live_state_t *st = NULL;
    apr_hash_t *opened = apr_hash_make(pconf);
    int width = row_width();
    apr_size_t size = sizeof(rp_live_hdr_t)
                      + sizeof(rp_live_rec_t) * (apr_size_t)nslots * width;
    server_rec *v;
    apr_status_t rv;

    for (v = s; v; v = v->next) {
        rp_server_conf_t *conf = (rp_server_conf_t *)rp_config_get(v);
        const char *err;

        if (conf->slow_after > 0 && conf->slow_file
            && (err = open_slow_log(pconf, v, opened, conf)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, RP_LOGNO(1401) "%s",
                         err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    apr_pool_userdata_get((void **)&st, LIVE_KEY, pproc);
    if (st && st->shm && st->nslots == nslots && st->width == width) {
        live_hdr = apr_shm_baseaddr_get(st->shm);
        return OK;
    }
    if (!st) {
        st = apr_pcalloc(pproc, sizeof(*st));
        apr_pool_userdata_set(st, LIVE_KEY, apr_pool_cleanup_null, pproc);
    }
    else if (st->shm) {
        apr_shm_destroy(st->shm);
        st->shm = NULL;
    }
    live_hdr = NULL;
    rv = apr_shm_create(&st->shm, size, NULL, pproc);
    if (rv != APR_SUCCESS) {
        /* The profile goes on without the live view. */
        const char *what = "view=now and ReqProfSlowLog are off";

        /* clang-format off */
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, RP_LOGNO(1402)
                     "cannot create %" APR_SIZE_T_FMT " bytes of shared "
                     "memory for the requests in flight: %s", size, what);
        /* clang-format on */
        st->shm = NULL;
        return OK;
    }
    /* Anonymous shared memory starts zeroed: the rows of slots never
     * used are never touched, and cost address space only. */
    live_hdr = apr_shm_baseaddr_get(st->shm);
    live_hdr->nslots = (apr_uint32_t)nslots;
    live_hdr->width = (apr_uint32_t)width;
    live_hdr->magic = LIVE_MAGIC;
    st->nslots = nslots;
    st->width = width;
    return OK;
}

/* ------------------------------------------------------------------ */
/* Request threads */

static void idx_gone(void *data)
{
    rp_live_rec_t *rec = data;

    __atomic_store_n(&rec->gen, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&rec->owner, 0, __ATOMIC_RELEASE);
}

/* This thread's record, taken on its first request. */
static rp_live_rec_t *my_record(void)
{
    apr_uint32_t i, tid;

    if (my_idx) {
        return &my_row[my_idx - 1];
    }
    tid = (apr_uint32_t)syscall(SYS_gettid);
    for (i = 0; i < live_hdr->width; i++) {
        apr_uint32_t free_ = 0;

        if (__atomic_compare_exchange_n(&my_row[i].owner, &free_, tid, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            my_idx = i + 1;
            if (have_idx_key) {
                pthread_setspecific(idx_key, &my_row[i]);
            }
            return &my_row[i];
        }
    }
    return NULL;
}

static void copy_field(char *dst, apr_size_t size, const char *src)
{
    apr_cpystrn(dst, src ? src : "", size);
}

static void watch_start(void);

rp_live_ref_t rp_live_begin(request_rec *r, const char *id)
{
    rp_live_ref_t ref = { 0, 0 };
    rp_live_rec_t *rec;
    apr_uint32_t s, g;

    if (!my_row || !(rec = my_record())) {
        return ref;
    }
    if (!__atomic_load_n(&watch_state, __ATOMIC_ACQUIRE)) {
        watch_start();
    }
    do {
        g = __atomic_add_fetch(&my_gen, 1, __ATOMIC_RELAXED);
    } while (!g);
    s = rec->seq;
    __atomic_store_n(&rec->seq, s + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&rec->gen, 0, __ATOMIC_RELAXED);
    rec->pid = my_pid;
    rec->tid = (apr_int32_t)rec->owner;
    rec->start = r->request_time;
    copy_field(rec->method, sizeof(rec->method), r->method);
    copy_field(rec->id, sizeof(rec->id), id);
    copy_field(rec->vhost, sizeof(rec->vhost), r->server->server_hostname);
    /* The client, as mod_status shows it: only with ExtendedStatus. */
    copy_field(rec->client, sizeof(rec->client),
               ap_extended_status ? r->useragent_ip : NULL);
    copy_field(rec->uri, sizeof(rec->uri), r->uri);
    row_server[my_idx - 1] = r->server;
    __atomic_store_n(&rec->gen, g, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->seq, s + 2, __ATOMIC_RELEASE);
    ref.idx = my_idx;
    ref.gen = g;
    return ref;
}

void rp_live_end(rp_live_ref_t *ref)
{
    apr_uint32_t g = ref->gen;

    if (!ref->idx || !my_row) {
        return;
    }
    /* Only if the record still holds this request (its thread may have
     * begun another since, when the end runs elsewhere). */
    __atomic_compare_exchange_n(&my_row[ref->idx - 1].gen, &g, 0, 0,
                                __ATOMIC_RELEASE, __ATOMIC_RELAXED);
    ref->idx = 0;
}

/* ------------------------------------------------------------------ */
/* Readers */

/* Copy REC's request (both parts) into E; 0 when it has none or the
 * copies kept being torn. */
static int rec_copy(const rp_live_rec_t *rec, rp_live_rec_t *e)
{
    apr_uint32_t s1, s2, w1, w2;
    int tries;

    for (tries = 0; tries < 8; tries++) {
        s1 = __atomic_load_n(&rec->seq, __ATOMIC_ACQUIRE);
        w1 = __atomic_load_n(&rec->wseq, __ATOMIC_ACQUIRE);
        if ((s1 & 1) || (w1 & 1)) {
            continue;
        }
        memcpy(e, rec, sizeof(*e));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        s2 = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
        w2 = __atomic_load_n(&rec->wseq, __ATOMIC_RELAXED);
        if (s1 == s2 && w1 == w2) {
            return e->gen != 0;
        }
    }
    return 0;
}

static int pid_alive(apr_int32_t pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static void terminate(rp_live_rec_t *e)
{
    e->method[sizeof(e->method) - 1] = '\0';
    e->id[sizeof(e->id) - 1] = '\0';
    e->vhost[sizeof(e->vhost) - 1] = '\0';
    e->client[sizeof(e->client) - 1] = '\0';
    e->uri[sizeof(e->uri) - 1] = '\0';
    if (e->depth > RP_LIVE_DEPTH) {
        e->depth = RP_LIVE_DEPTH;
    }
}

static void to_entry(apr_pool_t *p, const rp_live_rec_t *c,
                     rp_live_entry_t *o)
{
    memset(o, 0, sizeof(*o));
    o->pid = c->pid;
    o->tid = c->tid;
    o->method = apr_pstrdup(p, c->method);
    o->uri = apr_pstrdup(p, c->uri);
    o->vhost = apr_pstrdup(p, c->vhost);
    o->client = c->client[0] ? apr_pstrdup(p, c->client) : NULL;
    o->id = c->id[0] ? apr_pstrdup(p, c->id) : NULL;
    o->start = c->start;
    o->state = RP_LIVE_NEW;
    o->sysno = -1;
    o->sample_age_us = -1;
    if (c->wgen == c->gen && c->look) {
        o->state = c->state >= RP_LIVE_RUNNING && c->state <= RP_LIVE_UNKNOWN
                       ? (rp_live_state_e)c->state
                       : RP_LIVE_UNKNOWN;
        o->sysno = (long)c->sysno;
        o->look = c->look;
        o->sample_age_us = c->sample_age_us;
        o->depth = (int)c->depth;
        o->truncated = c->truncated != 0;
        memcpy(o->pcs, c->pcs, sizeof(o->pcs[0]) * (apr_size_t)o->depth);
        o->script = apr_pstrndup(p, c->script, sizeof(c->script));
    }
}

int rp_live_read(apr_pool_t *p, rp_live_entry_t **out, int *children)
{
    apr_array_header_t *a = apr_array_make(p, 16, sizeof(rp_live_entry_t));
    rp_live_rec_t copy;
    apr_uint32_t slot, i;

    *children = 0;
    *out = NULL;
    if (!live_hdr || live_hdr->magic != LIVE_MAGIC) {
        return 0;
    }
    for (slot = 0; slot < live_hdr->nslots; slot++) {
        apr_int32_t pid = 0;

        for (i = 0; i < live_hdr->width; i++) {
            const rp_live_rec_t *rec = rec_at((int)slot, (int)i);

            if (!__atomic_load_n(&rec->gen, __ATOMIC_RELAXED)
                || !rec_copy(rec, &copy)) {
                continue;
            }
            terminate(&copy);
            /* A child that died in a request left its records up. */
            if (copy.pid != pid) {
                if (!pid_alive(copy.pid)) {
                    continue;
                }
                pid = copy.pid;
            }
            to_entry(p, &copy, apr_array_push(a));
        }
        *children += pid != 0;
    }
    *out = (rp_live_entry_t *)a->elts;
    return a->nelts;
}

/* ------------------------------------------------------------------ */
/* The watcher */

typedef struct {
    rp_offcpu_t *o; /* NULL: blocked threads are not unwound */
    rp_symbols_t *sym;
    apr_pool_t *p;   /* cleared each round */
    rp_inames_t *nm; /* names of a blocked thread's script frames, NULL:
                      * no interpreter is walked */
} rp_watch_t;

/* A blocked thread's script frames in place of its interpreter's (its
 * frames hold still while it waits), named in SCRIPT's lines as
 * rp_sampler_peek names a running one's. */
static int blocked_scripts(rp_watch_t *w, pid_t tid, apr_uint64_t *pcs,
                           int depth, char *script, apr_size_t len)
{
    void *in[RP_LIVE_DEPTH + 1], *out[RP_LIVE_DEPTH + 1];
    rp_merge_counts_t mc;
    apr_size_t used = 0;
    apr_uint32_t line = 0;
    int i, m, cut;

    script[0] = 0;
    if (!w->nm) {
        return depth;
    }
    for (i = 0; i < depth; i++) {
        in[i] = (void *)(apr_uintptr_t)pcs[i];
    }
    memset(&mc, 0, sizeof(mc));
    rp_interp_names_begin(w->nm);
    m = rp_interp_merge(w->nm, 0, tid, in, depth, out, RP_LIVE_DEPTH, &cut,
                        &mc);
    for (i = 0; i < m; i++) {
        apr_uint64_t v = (apr_uint64_t)(apr_uintptr_t)out[i];
        if (RP_INTERP_IS_TAG(v)) {
            apr_size_t n = used + 1 < len
                               ? rp_interp_frame_text(w->nm, v, script + used,
                                                      len - used - 1)
                               : 0;
            v = RP_INTERP_TAG | (n ? line++ : 0xFFFFFFFFu);
            used += n;
            script[used] = 0;
        }
        pcs[i] = v;
    }
    return m;
}

static apr_uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_uint64_t)ts.tv_sec * 1000000000u + (apr_uint64_t)ts.tv_nsec;
}

int rp_live_script(const char *script, apr_uint64_t word,
                   rp_script_frame_t *out)
{
    apr_uint64_t k = word & 0xFFFFFFFFu, n = 0;
    const char *p = script, *nl;

    memset(out, 0, sizeof(*out));
    for (; p && *p; p = nl + 1) {
        if (!(nl = strchr(p, '\n'))) {
            return 0;
        }
        if (n++ == k) {
            return rp_interp_text_frame(p, (apr_size_t)(nl - p + 1), out);
        }
    }
    return 0;
}

/* Look at the thread of E (a copy of REC) and publish what it does. */
static void look(rp_watch_t *w, rp_live_rec_t *rec, const rp_live_rec_t *e,
                 apr_time_t now)
{
    apr_uint64_t pcs[RP_LIVE_DEPTH + 1], t_ns = 0;
    char script[RP_LIVE_SCRIPT];
    rp_live_state_e state = RP_LIVE_UNKNOWN;
    rp_offcpu_result_e rv = RP_OFFCPU_FAILED;
    apr_int64_t age = -1;
    long nr = -1;
    int depth = 0, truncated = 0;
    apr_uint32_t s;

    if (w->o) {
        rv = rp_offcpu_sample_nr(w->o, (pid_t)e->tid, pcs, RP_LIVE_DEPTH + 1,
                                 &depth, &nr);
    }
    script[0] = 0;
    if (rv == RP_OFFCPU_SAMPLED) {
        state = RP_LIVE_BLOCKED;
        truncated = depth > RP_LIVE_DEPTH;
        if (truncated) {
            depth = RP_LIVE_DEPTH;
        }
        depth = blocked_scripts(w, (pid_t)e->tid, pcs, depth, script,
                                sizeof(script));
    }
    else {
        depth = 0;
        if (rv == RP_OFFCPU_RUNNING || rv == RP_OFFCPU_WOKE) {
            state = RP_LIVE_RUNNING;
        }
        if (rp_sampler_peek((pid_t)e->tid, pcs, RP_LIVE_DEPTH, &depth, &t_ns,
                            script, sizeof(script))) {
            apr_uint64_t m = mono_ns();

            age = m > t_ns ? (apr_int64_t)((m - t_ns) / 1000) : 0;
            if (state == RP_LIVE_UNKNOWN && !w->o) {
                state = RP_LIVE_RUNNING;
            }
        }
    }
    s = rec->wseq;
    __atomic_store_n(&rec->wseq, s + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    rec->wgen = e->gen;
    rec->state = (apr_int32_t)state;
    rec->sysno = state == RP_LIVE_BLOCKED ? nr : -1;
    rec->look = now;
    rec->sample_age_us = age;
    rec->truncated = truncated;
    rec->depth = (apr_uint32_t)depth;
    memcpy(rec->pcs, pcs, sizeof(pcs[0]) * (apr_size_t)depth);
    memcpy(rec->script, script, strlen(script) + 1);
    __atomic_store_n(&rec->wseq, s + 2, __ATOMIC_RELEASE);
}

/* One frame, as the slow log writes it. */
static const char *frame_text(rp_watch_t *w, const rp_live_rec_t *e,
                              apr_uint64_t pc, int i)
{
    const rp_loaded_t *obj;
    const rp_symbol_t *sym;
    const char *base;
    apr_uint64_t rel;
    rp_script_frame_t f;

    if (RP_INTERP_IS_TAG(pc)) {
        if (!rp_live_script(e->script, pc, &f)) {
            return "[script frame]";
        }
        return apr_psprintf(w->p, "%.*s (%.*s:%d) [%s]", (int)f.name_len,
                            f.name, (int)f.file_len, f.file, f.line,
                            rp_lang_names[f.lang]);
    }
    if (!child_objects || !(obj = rp_objects_find(child_objects, pc, &rel))) {
        return apr_psprintf(w->p, "0x%" APR_UINT64_T_HEX_FMT, pc);
    }
    base = strrchr(obj->path, '/');
    base = base ? base + 1 : obj->path;
    if (!w->sym) {
        return apr_psprintf(w->p, "%s+0x%" APR_UINT64_T_HEX_FMT, base, rel);
    }
    sym = rp_symbols_lookup(w->sym, obj->path, obj->build_id,
                            i > 0 && rel ? rel - 1 : rel);
    if (sym->file) {
        return apr_psprintf(w->p, "%s (%s:%d) [%s]", sym->function, sym->file,
                            sym->line, base);
    }
    return apr_psprintf(w->p, "%s [%s]", sym->function, base);
}

static void slow_dump(rp_watch_t *w, const server_rec *s,
                      const rp_server_conf_t *conf, const rp_live_rec_t *e,
                      apr_time_t now)
{
    char when[64];
    apr_size_t len;
    apr_time_exp_t tm;
    const char *state, *sc, *head, *block;
    int i;

    apr_time_exp_lt(&tm, now);
    apr_strftime(when, &len, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    sc = rp_live_syscall_name((long)e->sysno);
    state = e->state == RP_LIVE_BLOCKED
                ? (sc ? apr_pstrcat(w->p, "blocked in ", sc, NULL)
                      : apr_psprintf(w->p, "blocked (system call %ld)",
                                     (long)e->sysno))
            : e->state == RP_LIVE_RUNNING
                ? (e->depth ? apr_psprintf(w->p,
                                           "running (stack of a "
                                           "sample %.0f ms old)",
                                           (double)e->sample_age_us / 1000)
                            : "running (no sample yet)")
                : "state unknown";
    head = apr_psprintf(w->p,
                        "slow request: %s.%03d pid %d tid %d id %s "
                        "%s %s elapsed %.3f s, %s, %u frames",
                        when, (int)(apr_time_usec(now) / 1000), (int)e->pid,
                        (int)e->tid, e->id[0] ? e->id : "-", e->method,
                        e->uri, (double)(now - e->start) / 1e6, state,
                        (unsigned)e->depth);
    if (!conf->slow_log) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, RP_LOGNO(1403) "%s",
                     head);
        for (i = 0; i < (int)e->depth; i++) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         RP_LOGNO(1404) "slow request %s:   #%d %s",
                         e->id[0] ? e->id : "-", i,
                         frame_text(w, e, e->pcs[i], i));
        }
        return;
    }
    /* One write per dump: blocks of two children do not interleave in a
     * file opened to append, nor on a pipe up to PIPE_BUF bytes (4 KB, a
     * dump of some 40 frames). */
    block = apr_pstrcat(w->p, head, "\n", NULL);
    for (i = 0; i < (int)e->depth; i++) {
        block = apr_psprintf(w->p, "%s  #%d %s\n", block, i,
                             frame_text(w, e, e->pcs[i], i));
    }
    len = strlen(block);
    apr_file_write_full(conf->slow_log->f, block, len, NULL);
}

static void watch_round(rp_watch_t *w)
{
    apr_time_t now = apr_time_now();
    rp_live_rec_t copy;
    apr_uint32_t i;

    for (i = 0; i < live_hdr->width; i++) {
        rp_live_rec_t *rec = &my_row[i];
        const server_rec *s;
        const rp_server_conf_t *conf;
        apr_int64_t age;
        int due;

        if (!__atomic_load_n(&rec->gen, __ATOMIC_ACQUIRE)
            || !rec_copy(rec, &copy)) {
            continue;
        }
        terminate(&copy);
        age = now - copy.start;
        if (age < LOOK_AFTER_US) {
            continue;
        }
        s = row_server[i];
        conf = s ? rp_config_get(s) : NULL;
        if (dump_gen[i] != copy.gen) {
            dump_gen[i] = copy.gen;
            dumps[i] = 0;
        }
        due = conf && conf->slow_after > 0 && dumps[i] < RP_SLOW_DUMPS
              && age >= (apr_int64_t)(dumps[i] + 1) * conf->slow_after
                            * APR_USEC_PER_SEC;
        look(w, rec, &copy, now);
        if (due && rec_copy(rec, &copy) && copy.gen == dump_gen[i]) {
            terminate(&copy);
            slow_dump(w, s, conf, &copy, now);
            dumps[i]++;
        }
    }
}

static void *watch_main(void *arg)
{
    rp_watch_t *w = arg;
    struct timespec next;
    sigset_t all;

    /* Never the profiling signal's or httpd's. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!__atomic_load_n(&watch_quit, __ATOMIC_ACQUIRE)) {
        next.tv_nsec += LOOK_AFTER_US * 1000L;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL)
               == EINTR) {
        }
        if (__atomic_load_n(&watch_quit, __ATOMIC_ACQUIRE)) {
            break;
        }
        watch_round(w);
        apr_pool_clear(w->p);
    }
    return NULL;
}

/* Pre-cleanup of the child's pool: the watcher ends before what it
 * reads goes (as the off-CPU sampler does; it never takes a lock a
 * request holds, so it ends within a round). */
static apr_status_t watch_stop(void *unused)
{
    struct timespec deadline;

    (void)unused;
    __atomic_store_n(&watch_quit, 1, __ATOMIC_RELEASE);
    if (__atomic_load_n(&watch_state, __ATOMIC_ACQUIRE) != 1) {
        return APR_SUCCESS;
    }
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    if (pthread_timedjoin_np(watch_thread, NULL, &deadline) == 0
        && watch_own) {
        apr_pool_destroy(watch_own);
        watch_own = NULL;
    }
    __atomic_store_n(&watch_state, -1, __ATOMIC_RELEASE);
    return APR_SUCCESS;
}

static void watch_start(void)
{
    rp_watch_t *w;
    const char *why = NULL;

    pthread_mutex_lock(&watch_lock);
    if (__atomic_load_n(&watch_state, __ATOMIC_ACQUIRE)
        || __atomic_load_n(&watch_quit, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&watch_lock);
        return;
    }
    __atomic_store_n(&watch_state, -1, __ATOMIC_RELEASE);
    if (apr_pool_create_unmanaged_ex(&watch_own, NULL, NULL) != APR_SUCCESS) {
        watch_own = NULL;
        pthread_mutex_unlock(&watch_lock);
        return;
    }
    w = apr_pcalloc(watch_own, sizeof(*w));
    apr_pool_create(&w->p, watch_own);
    /* Its own /proc/self/task/TID/syscall is closed to a child that is
     * not dumpable: the same step as real-time mode's (see README). */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    w->o = rp_offcpu_create(watch_own, &why);
    if (!w->o) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL,
                     RP_LOGNO(1405) "the requests in flight are shown "
                                    "without the stacks "
                                    "of blocked threads: %s",
                     why ? why : "?");
    }
    w->sym = rp_symbols_create(watch_own);
    w->nm = rp_interp_active() ? rp_interp_names_new() : NULL;
    if (pthread_create(&watch_thread, NULL, watch_main, w) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL,
                     RP_LOGNO(1406) "cannot start the thread that watches "
                                    "requests in "
                                    "flight: view=now shows no stacks and "
                                    "ReqProfSlowLog "
                                    "is off in this child");
        apr_pool_destroy(watch_own);
        watch_own = NULL;
    }
    else {
        __atomic_store_n(&watch_state, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&watch_lock);
}

void rp_live_child_init(apr_pool_t *pchild, int slot, apr_int32_t pid,
                        const rp_objects_t *objects)
{
    apr_uint32_t i;

    if (!live_hdr || live_hdr->magic != LIVE_MAGIC || slot < 0
        || (apr_uint32_t)slot >= live_hdr->nslots) {
        return;
    }
    child_objects = objects;
    my_pid = pid;
    my_row = rec_at(slot, 0);
    /* What a previous owner of the slot left. */
    for (i = 0; i < live_hdr->width; i++) {
        memset(&my_row[i], 0, sizeof(my_row[i]));
    }
    row_server = apr_pcalloc(pchild, sizeof(*row_server) * live_hdr->width);
    dump_gen = apr_pcalloc(pchild, sizeof(*dump_gen) * live_hdr->width);
    dumps = apr_pcalloc(pchild, sizeof(*dumps) * live_hdr->width);
    have_idx_key = pthread_key_create(&idx_key, idx_gone) == 0;
    apr_pool_pre_cleanup_register(pchild, NULL, watch_stop);
}
