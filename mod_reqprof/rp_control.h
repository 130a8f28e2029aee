/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_control: the page's state changes (enable, pause, timer, frequency,
 * clear), POST-only and guarded against cross-site requests.
 *
 * A change needs three things: the POST method, a nonce the page handed
 * out, and an Origin (or, without one, a Referer) of this very host.  The
 * nonce is a keyed hash of the store's generation and settings sequence
 * under a secret drawn at server start: every child hands out and accepts
 * the same nonce without sharing any more state, and any change (a clear,
 * a switch) retires every form showing an older one.  A change goes to the
 * shared header, so every child sees it on its next request.  Not for
 * signal context.
 */

#ifndef RP_CONTROL_H
#define RP_CONTROL_H

#include <httpd.h>

/* Once in the parent, at start (kept over graceful restarts by the
 * caller): draw the secret. */
apr_status_t rp_control_init_secret(unsigned char *secret, apr_size_t len);

/* The nonce that forms rendered now carry, from R's pool. */
const char *rp_control_nonce(request_rec *r);

/* The actions, NULL-terminated; the page's redirect after a change says
 * which one with ?done=NAME, and rp_control_done tells what it did. */
extern const char *const rp_control_actions[];
const char *rp_control_done(int action);

/* Handle a POST to the page: check it, apply it, answer it (303 to the
 * page on success; 400, 403 or 413 with a one-line reason otherwise).
 * Returns OK or an HTTP status for httpd to answer. */
int rp_control_post(request_rec *r);

#endif /* RP_CONTROL_H */
