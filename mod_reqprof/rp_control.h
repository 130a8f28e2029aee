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

#include "rp_store.h"

/* What control needs of the process's state: the store the changes go
 * to, and the nonce key (drawn once in the parent, by rp_runtime). */
typedef struct {
    rp_store_t *store;          /* NULL: no shared memory */
    const unsigned char *secret;
    apr_size_t secret_len;
} rp_control_keys_t;

/* The nonce that forms rendered now carry, from P. */
const char *rp_control_nonce(apr_pool_t *p, const rp_control_keys_t *k);

/* The page's redirect after a change says which one with ?done=NAME:
 * NULL when NAME is an action's, else a one-line reason from P. */
const char *rp_control_check_done(apr_pool_t *p, const char *name);

/* The notice of the page shown after the change DONE (an action's name,
 * or NULL for none), given the notice STATE the page would show anyway
 * (or NULL): one line, from P, or NULL. */
const char *rp_control_notice(apr_pool_t *p, const char *done,
                              const char *state);

/* Handle a POST to the page: check it, apply it to K's store, answer it
 * (303 to the page on success; 400, 403 or 413 with a one-line reason
 * otherwise).  Returns OK or an HTTP status for httpd to answer. */
int rp_control_post(request_rec *r, const rp_control_keys_t *k);

#endif /* RP_CONTROL_H */
