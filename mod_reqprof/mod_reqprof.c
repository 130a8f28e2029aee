/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * mod_reqprof: a sampling profiler for the requests an httpd serves.
 *
 * This file holds the module record and the hook registrations only; each
 * hook is a call into the rp_* file that owns the concern:
 *
 *   rp_config   directives, per-server configuration
 *   rp_filter   PCRE2 include/exclude lists over request paths
 *   rp_runtime  shared memory, per-child set-up
 *   rp_request  the per-request decision, start and end of profiled requests
 *   rp_timer    the profiling signal and per-thread CPU-clock timers
 *   rp_sampler  the signal callback, thread buffers, off-CPU sampler
 *   rp_offcpu   unwinding blocked threads without signalling them
 *   rp_objects  PC -> loaded object and offset
 *   rp_store    the shared-memory store (per-child regions)
 *   rp_symbols  object offset -> function, source file and line (libdw)
 *   rp_model    snapshot -> merged call tree and function table
 *   rp_handler  the "reqprof" page
 *   rp_status   the reqprof section of mod_status' /server-status
 *   rp_query    query-string parsing against a parameter table
 *   rp_escape   escaping for each output format
 *   rp_sort     the page's sort keys
 */

#include "rp_private.h"
#include "rp_config.h"
#include "rp_handler.h"
#include "rp_request.h"
#include "rp_runtime.h"
#include "rp_status.h"

#include <http_core.h>
#include <http_request.h>

static void rp_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(rp_runtime_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(rp_runtime_interp_probe, NULL, NULL,
                        APR_HOOK_REALLY_LAST);
    ap_hook_child_init(rp_runtime_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    rp_request_register(p);
    /* First, so the decision precedes other modules' work on the request;
     * it always declines, so it changes nothing of the translation. */
    ap_hook_translate_name(rp_request_translate, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    ap_hook_handler(rp_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* mod_status' optional hook: runs only where mod_status is loaded. */
    rp_status_register(p);
}

/* Declared plainly: rp_private.h already did APLOG_USE_MODULE. */
module AP_MODULE_DECLARE_DATA reqprof_module = {
    STANDARD20_MODULE_STUFF,
    rp_config_create_dir,    /* per-directory config: Server-Timing     */
    rp_config_merge_dir,     /* only; the rest is per server            */
    rp_config_create_server, /* per-server config, defaults in main     */
    rp_config_merge_server,  /* virtual hosts inherit from main         */
    rp_config_cmds,          /* directive table (rp_config.c)           */
    rp_register_hooks,       /* hooks above                             */
    AP_MODULE_FLAG_NONE      /* flags                                   */
};
