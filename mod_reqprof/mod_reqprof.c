/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * mod_reqprof: a sampling profiler for the requests an httpd serves.
 *
 * This file holds the module record and the hook registrations only; each
 * hook is a call into the rp_* file that owns the concern:
 *
 *   rp_config   directives, per-server configuration
 *   rp_filter   PCRE2 include/exclude lists over request paths
 *   rp_request  the per-request decision (the only code every request runs)
 *   rp_handler  the "reqprof" page
 *   rp_query    query-string parsing against a parameter table
 *   rp_escape   escaping for each output format
 *   rp_sort     the page's sort keys
 */

#include "rp_private.h"
#include "rp_config.h"
#include "rp_handler.h"
#include "rp_request.h"

#include <http_core.h>
#include <http_request.h>

static int rp_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    const rp_server_conf_t *conf = rp_config_get(s);

    (void)pconf;
    (void)plog;
    (void)ptemp;
    /* httpd reads its configuration twice at start; speak once. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, RP_LOGNO(1201)
                 "mod_reqprof %s loaded; profiling %s at start", RP_VERSION,
                 conf->enabled ? "on" : "off");
    return OK;
}

static void rp_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(rp_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* First, so the decision precedes other modules' work on the request;
     * it always declines, so it changes nothing of the translation. */
    ap_hook_translate_name(rp_request_translate, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    ap_hook_handler(rp_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

/* Declared plainly: rp_private.h already did APLOG_USE_MODULE. */
module AP_MODULE_DECLARE_DATA reqprof_module = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config: none, the module  */
    NULL,                       /* is configured per server                */
    rp_config_create_server,    /* per-server config, defaults in main     */
    rp_config_merge_server,     /* virtual hosts inherit from main         */
    rp_config_cmds,             /* directive table (rp_config.c)           */
    rp_register_hooks,          /* hooks above                             */
    AP_MODULE_FLAG_NONE         /* flags                                   */
};
