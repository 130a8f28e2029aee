/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_runtime: shared segment and per-child set-up (see rp_runtime.h).
 */

#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <ap_mpm.h>
#include <http_core.h>

#include "rp_private.h"
#include "rp_config.h"
#include "rp_interp.h"
#include "rp_live.h"
#include "rp_runtime.h"
#include "rp_sampler.h"
#include "rp_timer.h"
#include "rp_tsc.h"

#define SHM_KEY "reqprof-shm"

/* Kept in the process pool's user data across restarts. */
typedef struct {
    apr_shm_t *shm;
    rp_store_t *store;
    int nslots;
    apr_size_t region_size;
    rp_settings_t applied;      /* configured settings of the last start */
    unsigned char secret[RP_SECRET_LEN];  /* nonce key; kept, like the
                                 * segment, over graceful restarts */
    int have_secret;
} rp_shm_state_t;

static rp_runtime_t rt = { NULL, -1 };

rp_runtime_t *rp_runtime_get(void)
{
    return &rt;
}

/* Created on first use, not at child start: a child that never serves
 * the page (or the status section) never pays for it.  The first check
 * is a lock-free read, so the pointer is published with release order. */
rp_symbols_t *rp_runtime_symbols(request_rec *r)
{
    rp_symbols_t *syms = __atomic_load_n(&rt.symbols, __ATOMIC_ACQUIRE);

    if (!syms && rt.lock) {
        apr_thread_mutex_lock(rt.lock);
        if (!(syms = rt.symbols)) {
            syms = rp_symbols_create(rt.pool);
            __atomic_store_n(&rt.symbols, syms, __ATOMIC_RELEASE);
        }
        apr_thread_mutex_unlock(rt.lock);
        if (!syms) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          RP_LOGNO(1103) "cannot create the page's "
                                         "symbolizer");
        }
    }
    return syms;
}

static int pid_alive(apr_int32_t pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* Slots: one per process the MPM may run at once (MaxRequestWorkers over
 * ThreadsPerChild), twice over, because after a graceful restart the old
 * generation's children finish their requests while the new generation
 * starts.  Pages of unused slots are never touched, so they cost address
 * space only. */
static int slot_count(void)
{
    int limit = 0, hard = 0;

    if (ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &limit) != APR_SUCCESS
        || limit < 1) {
        limit = 16;
    }
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &hard) == APR_SUCCESS
        && hard > 0 && limit > hard) {
        limit = hard;
    }
    limit *= 2;
    return limit > RP_STORE_SLOTS_MAX ? RP_STORE_SLOTS_MAX : limit;
}

static apr_status_t release_slot(void *unused)
{
    (void)unused;
    if (rt.store && rt.slot >= 0) {
        rp_store_release(rt.store, rt.slot, (apr_int32_t)getpid());
        rt.slot = -1;
    }
    return APR_SUCCESS;
}

/* The store's broken promises: logged, never fatal in a server. */
static void store_broken(const char *what)
{
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, NULL, RP_LOGNO(1312)
                 "profile store: %s; the operation was dropped", what);
}

static rp_shm_state_t *shm_state(server_rec *s, apr_pool_t *pconf)
{
    apr_pool_t *pproc = s->process->pool;
    const rp_server_conf_t *conf = rp_config_get(s);
    rp_shm_state_t *st = NULL;
    int nslots = slot_count();
    apr_size_t region = (apr_size_t)conf->memory & ~(apr_size_t)63;
    apr_size_t size = rp_store_segment_size(nslots, region);
    apr_status_t rv;

    apr_pool_userdata_get((void **)&st, SHM_KEY, pproc);
    if (st && st->nslots == nslots && st->region_size == region) {
        return st;
    }
    if (st) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, RP_LOGNO(1301)
                     "shared memory shape changed (%d x %" APR_SIZE_T_FMT
                     " -> %d x %" APR_SIZE_T_FMT " bytes): collected "
                     "profiles are dropped", st->nslots, st->region_size,
                     nslots, region);
        apr_shm_destroy(st->shm);
    }
    else {
        st = apr_pcalloc(pproc, sizeof(*st));
        apr_pool_userdata_set(st, SHM_KEY, apr_pool_cleanup_null, pproc);
    }
    st->store = NULL;
    if (!size) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, RP_LOGNO(1302)
                     "no shared memory layout for %d slots of %"
                     APR_SIZE_T_FMT " bytes", nslots, region);
        return st;
    }
    /* Anonymous: inherited by every child, gone with the parent. */
    rv = apr_shm_create(&st->shm, size, NULL, pproc);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, RP_LOGNO(1303)
                     "cannot create %" APR_SIZE_T_FMT " bytes of shared "
                     "memory (%d slots of ReqProfMemory %" APR_SIZE_T_FMT
                     "); profiling is off", size, nslots, region);
        return st;
    }
    rv = rp_store_format(apr_shm_baseaddr_get(st->shm), size, nslots,
                         region);
    if (rv == APR_SUCCESS) {
        st->store = rp_store_attach(pproc, apr_shm_baseaddr_get(st->shm),
                                    size);
    }
    if (!st->store) {
        /* Sizes were checked above: only a build whose layout and sizes
         * disagree gets here.  Say so rather than profile nothing. */
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, RP_LOGNO(1310)
                     "cannot lay out the profile store in %" APR_SIZE_T_FMT
                     " bytes of shared memory (%d slots of %" APR_SIZE_T_FMT
                     " bytes); profiling is off", size, nslots, region);
        apr_shm_destroy(st->shm);
        st->shm = NULL;
        return st;
    }
    st->nslots = nslots;
    st->region_size = region;
    memset(&st->applied, 0, sizeof(st->applied));
    (void)pconf;
    return st;
}

static void interp_log(void *data, const char *line)
{
    /* clang-format off */
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, data, RP_LOGNO(1313)
                 "%s", line);
    /* clang-format on */
}


int rp_runtime_interp_probe(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        rp_interp_probe(rp_config_get(s)->interpreters, interp_log, s);
    }
    return OK;
}

int rp_runtime_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    const rp_server_conf_t *conf = rp_config_get(s);
    rp_shm_state_t *st;
    rp_settings_t want, now;
    const char *why;

    (void)plog;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    /* A handler already there belongs to someone else (mod_php's
     * SIGPROF, say): refuse to start rather than steal it. */
    if ((why = rp_timer_signal_taken(ptemp, conf->signo)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, RP_LOGNO(1304)
                     "ReqProfSignal %s: %s", conf->signame, why);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rp_store_set_reporter(store_broken);
    st = shm_state(s, pconf);
    if (!st->have_secret) {
        apr_status_t rv = apr_generate_random_bytes(st->secret,
                                                    sizeof(st->secret));
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, RP_LOGNO(1309)
                         "cannot draw the page's nonce secret");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        st->have_secret = 1;
    }
    memcpy(rt.secret, st->secret, sizeof(rt.secret));
    if (!(rt.store = st->store)) {
        return OK;
    }
    if (rp_live_post_config(pconf, s, st->nslots) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* The configuration decides the live settings at each start, but only
     * where it changed since the last start: a switch made on the page
     * survives a graceful restart that did not touch the directives. */
    want.enabled = conf->enabled;
    want.timer = conf->timer;
    want.frequency = conf->frequency;
    rp_store_settings_get(st->store, &now);
    if (st->applied.frequency == 0 || want.enabled != st->applied.enabled
        || want.timer != st->applied.timer
        || want.frequency != st->applied.frequency) {
        if (st->applied.frequency && want.timer != now.timer) {
            /* Samples of two clocks do not add up. */
            rp_store_clear(st->store);
        }
        rp_store_settings_set(st->store, &want);
        st->applied = want;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, RP_LOGNO(1305)
                 "mod_reqprof %s: %d slots of %" APR_SIZE_T_FMT " bytes; "
                 "profiling %s, %s timer, %d Hz", RP_VERSION, st->nslots,
                 st->region_size, want.enabled ? "on" : "off",
                 rp_timer_name(want.timer), want.frequency);
    return OK;
}

/* A pre-cleanup runs before any of the child pool's subpools or
 * cleanups go: requests ending after it (prefork's hard stop destroys
 * the child's pool while a request runs, and that request's pool
 * cleanup then ends it) store nothing, since the tables they would use
 * belong to subpools that may be freed already. */
static apr_status_t child_exiting(void *unused)
{
    (void)unused;
    __atomic_store_n(&rt.exiting, 1, __ATOMIC_RELEASE);
    return APR_SUCCESS;
}

void rp_runtime_child_init(apr_pool_t *pchild, server_rec *s)
{
    const rp_server_conf_t *conf = rp_config_get(s);
    apr_status_t rv;
    rt.pool = pchild;
    __atomic_store_n(&rt.exiting, 0, __ATOMIC_RELEASE);
    apr_pool_pre_cleanup_register(pchild, NULL, child_exiting);
    rt.max_depth = conf->max_depth;
    if (!rt.store) {
        rt.sampler_off = "no shared memory";
        return;
    }
    /* Before the claim: the page needs the lock even in a child that got
     * no slot (it still reads everyone's data). */
    rv = apr_thread_mutex_create(&rt.lock, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv != APR_SUCCESS) {
        /* Without it this child can neither store nor read safely: it
         * stays out of profiling and its page answers 503. */
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, RP_LOGNO(1311)
                     "cannot create this child's profile lock; its "
                     "requests are not profiled and its page is off");
        rt.store = NULL;
        rt.sampler_off = "the child's lock could not be created";
        return;
    }
    rp_store_set_keep(rt.store, &conf->keep);
    rt.pid = (apr_int32_t)getpid();
    rt.slot = rp_store_claim(rt.store, rt.pid, pid_alive);
    if (rt.slot < 0) {
        rt.sampler_off = "every shared memory slot is taken";
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, RP_LOGNO(1306)
                     "no free profile slot for this child: its requests "
                     "are not profiled");
        return;
    }
    /* A clean exit gives the slot back (its data stays visible), so a
     * later process with a recycled pid cannot look like its owner. */
    apr_pool_cleanup_register(pchild, NULL, release_slot,
                              apr_pool_cleanup_null);
    rt.objects = rp_objects_create(pchild);
    rp_live_child_init(pchild, rt.slot, rt.pid, rt.objects);
    rt.object_ids = apr_hash_make(pchild);
    rt.script_ids = apr_hash_make(pchild);
    /* Before the sampler makes any thread's state: each thread gets a
     * name table when an interpreter is walked. */
    rp_interp_child_init(conf->interpreters, interp_log, s);
    rt.sampler_off = rp_sampler_child_init(pchild, conf->signo,
                                           conf->max_depth);
    rp_tsc_child_init(pchild, s);
    if (rt.sampler_off) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, RP_LOGNO(1307)
                     "sampling is off in this child: %s", rt.sampler_off);
    }
}
