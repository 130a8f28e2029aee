/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_handler: the "reqprof" content handler (SetHandler reqprof).
 * Serves the page's views and the exports (GET, HEAD) and hands state
 * changes (POST) to rp_control.  Never samples.
 */

#ifndef RP_HANDLER_H
#define RP_HANDLER_H

#include <httpd.h>

int rp_handler(request_rec *r);

/* The headers every answer of the page carries: CONTENT_TYPE with its
 * charset, no-store, nosniff, no framing, and a CSP that allows only the
 * inline style and script carrying CSP_NONCE (NULL: none at all). */
void rp_handler_headers(request_rec *r, const char *content_type,
                        const char *csp_nonce);

/* Answer STATUS with a one-line plain-text REASON (escaped here). */
int rp_handler_fail(request_rec *r, int status, const char *reason);

#endif /* RP_HANDLER_H */
