/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_answer: headers and one-line refusals of the page (see rp_answer.h).
 */

#include <apr_strings.h>
#include <http_protocol.h>

#include "rp_private.h"
#include "rp_answer.h"
#include "rp_escape.h"

void rp_answer_headers(request_rec *r, const char *content_type,
                       const char *csp_nonce)
{
    ap_set_content_type(r, content_type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "Referrer-Policy", "same-origin");
    apr_table_setn(r->headers_out, "Content-Security-Policy", csp_nonce
                   ? apr_psprintf(r->pool, "default-src 'none'; style-src "
                                  "'nonce-%s'; script-src 'nonce-%s'; "
                                  "img-src data:; form-action 'self'; "
                                  "frame-ancestors 'none'; base-uri 'none'",
                                  csp_nonce, csp_nonce)
                   : "default-src 'none'; frame-ancestors 'none'");
}

int rp_answer_fail(request_rec *r, int status, const char *reason)
{
    rp_answer_headers(r, "text/plain; charset=utf-8", NULL);
    r->status = status;
    if (!r->header_only) {
        ap_rprintf(r, "%s\n", rp_escape_text(r->pool, reason));
    }
    return OK;
}
