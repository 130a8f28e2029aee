/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_answer: the headers and the refusals of every answer the page gives,
 * views, exports and state changes alike.  A leaf: it calls nothing of the
 * module but the escaper, so the handler and rp_control both use it
 * without using each other.  Not for signal context.
 */

#ifndef RP_ANSWER_H
#define RP_ANSWER_H

#include <httpd.h>

/* The headers every answer of the page carries: CONTENT_TYPE with its
 * charset, no-store, nosniff, no framing, and a CSP that allows only the
 * inline style and script carrying CSP_NONCE (NULL: none at all). */
void rp_answer_headers(request_rec *r, const char *content_type,
                       const char *csp_nonce);

/* Answer STATUS with a one-line plain-text REASON (escaped here). */
int rp_answer_fail(request_rec *r, int status, const char *reason);

#endif /* RP_ANSWER_H */
