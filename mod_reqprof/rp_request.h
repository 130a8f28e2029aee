/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_request: the request path.  Decides, once per request, whether the
 * request is profiled.  This is the only code of the module that every
 * request runs, so it does one branch when profiling is off and one
 * PCRE2 JIT match per pattern when it is on; nothing else.
 */

#ifndef RP_REQUEST_H
#define RP_REQUEST_H

#include <httpd.h>

/* translate_name hook (runs first, always DECLINED): by then r->uri is
 * the decoded, normalised path that the filters are documented to see. */
int rp_request_translate(request_rec *r);

#endif /* RP_REQUEST_H */
