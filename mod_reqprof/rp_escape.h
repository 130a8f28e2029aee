/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_escape: make request- or binary-controlled strings safe for an output.
 *
 * Every string that came from a request (URI, method, query) or from a
 * binary (function and file names) passes through the escaper of the
 * format it is written into.  APR only; not for signal context.
 */

#ifndef RP_ESCAPE_H
#define RP_ESCAPE_H

#include <apr_pools.h>

/* Plain text: printable ASCII and valid UTF-8 pass; control bytes,
 * invalid UTF-8 bytes, and the bytes of C1 controls and U+2028/U+2029
 * become "\xNN"; a backslash becomes "\\" where the next output could
 * make it read as an escape (a backslash, an 'x', or an escaped byte
 * follows), and stands as it is elsewhere, so \.css$ reads as written.
 * The result is valid UTF-8 on one line, and reversible: read "\\" as
 * one backslash, "\xNN" as that byte, and any other backslash as itself. */
const char *rp_escape_text(apr_pool_t *p, const char *s);

/* A JSON string body (without the quotes) for S: first made text-safe as
 * above, then '"', '\\' and control characters escaped, and '<', '>',
 * '&' as \u003c etc. so the JSON is safe inside HTML too. */
const char *rp_escape_json(apr_pool_t *p, const char *s);

/* HTML text or a quoted attribute value (either quote) for S: first made
 * text-safe as above, then '&', '<', '>', '"' and '\'' as entities. */
const char *rp_escape_html(apr_pool_t *p, const char *s);

/* A query-string value for S (RFC 3986 unreserved bytes pass, every other
 * byte as %XX); still to be HTML-escaped when put in an attribute. */
const char *rp_escape_url(apr_pool_t *p, const char *s);

#endif /* RP_ESCAPE_H */
