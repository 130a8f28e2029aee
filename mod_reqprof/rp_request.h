/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_request: the request path.  Decides, once per request, whether the
 * request is profiled, starts and ends the sampling of profiled requests
 * on their own thread and hands their samples to the store.  This is the
 * only code of the module that every request runs: one load and a branch
 * when profiling is off, one PCRE2 JIT match per pattern when it is on.
 */

#ifndef RP_REQUEST_H
#define RP_REQUEST_H

#include <httpd.h>

/* translate_name hook (runs first, always DECLINED): by then r->uri is
 * the decoded, normalised path that the filters are documented to see.
 * Starts sampling the thread when the request is to be profiled. */
int rp_request_translate(request_rec *r);

/* Register the filter that ends a profiled request (register_hooks). */
void rp_request_register(apr_pool_t *p);

#endif /* RP_REQUEST_H */
