/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_request: the per-request decision (see rp_request.h).
 *
 * Only initial requests are considered: subrequests and internal redirects
 * run on the same thread inside the initial request, so its profile already
 * covers them.
 */

#include <string.h>

#include "rp_private.h"
#include "rp_config.h"
#include "rp_filter.h"
#include "rp_request.h"

int rp_request_translate(request_rec *r)
{
    const rp_server_conf_t *conf = rp_config_get(r->server);

    if (!conf->enabled || r->main || r->prev || !r->uri) {
        return DECLINED;
    }
    if (rp_filter_match(conf->filter, r->uri, strlen(r->uri))) {
        /* httpd escapes error-log messages itself. */
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, RP_LOGNO(1001)
                      "profiling %s", r->uri);
    }
    return DECLINED;
}
