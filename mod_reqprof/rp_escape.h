/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_escape: make request- or binary-controlled strings safe for an output.
 *
 * Every string that came from a request (URI, method, query) or from a
 * binary (function and file names) passes through the escaper of the
 * format it is written into.  Each escaper exists twice: streaming
 * (rp_escape_stream: the escaped bytes go to a callback in runs, nothing
 * is allocated, so a renderer that writes a name per frame stays in
 * bounded memory) and from a pool (rp_escape_text etc.: the result sized
 * exactly, or the input itself when nothing needs escaping).  Both give
 * the same bytes.  APR only; not for signal context.
 */

#ifndef RP_ESCAPE_H
#define RP_ESCAPE_H

#include <apr_pools.h>

/* Plain text: printable ASCII and valid UTF-8 pass; control bytes,
 * invalid UTF-8 bytes, and the bytes of characters that act as controls
 * or are not characters at all become "\xNN": the C1 controls
 * (U+0080..U+009F), the line and paragraph separators (U+2028, U+2029),
 * and the noncharacters (U+FDD0..U+FDEF and the last two code points of
 * every plane, U+nFFFE and U+nFFFF), which XML forbids or discourages
 * (an SVG with U+FFFE is not well-formed).  A backslash becomes "\\"
 * where the next output could make it read as an escape (a backslash,
 * an 'x', or an escaped byte follows), and stands as it is elsewhere, so
 * \.css$ reads as written.  The result is valid UTF-8 of characters only
 * (no noncharacter), on one line, and reversible: read "\\" as one
 * backslash, "\xNN" as that byte, and any other backslash as itself.
 * Every other escaper below starts from this one (but the URL escaper,
 * which leaves only ASCII), so each inherits it. */
const char *rp_escape_text(apr_pool_t *p, const char *s);

/* A JSON string body (without the quotes) for S: first made text-safe as
 * above, then '"', '\\' and control characters escaped, and '<', '>',
 * '&' as \u003c etc. so the JSON is safe inside HTML too. */
const char *rp_escape_json(apr_pool_t *p, const char *s);

/* HTML text or a quoted attribute value (either quote) for S: first made
 * text-safe as above, then '&', '<', '>', '"' and '\'' as entities.  Also
 * XML text and attribute values (the SVG). */
const char *rp_escape_html(apr_pool_t *p, const char *s);

/* A query-string value for S (RFC 3986 unreserved bytes and '/' pass,
 * every other byte as %XX).  The result holds no HTML special character,
 * so it needs no HTML escaping in an attribute. */
const char *rp_escape_url(apr_pool_t *p, const char *s);

/* The escapers, for rp_escape_stream. */
typedef enum {
    RP_ESCAPE_TEXT = 0,
    RP_ESCAPE_JSON,
    RP_ESCAPE_HTML,
    RP_ESCAPE_URL
} rp_escape_e;

/* Receives the escaped output in order, in runs of N bytes (N > 0); a
 * run may point into the input. */
typedef void rp_escape_emit_fn(void *ctx, const char *s, apr_size_t n);

/* S escaped as KIND, given to EMIT in runs; allocates nothing.  Returns
 * the number of bytes emitted. */
apr_size_t rp_escape_stream(rp_escape_e kind, const char *s,
                            rp_escape_emit_fn *emit, void *ctx);

#endif /* RP_ESCAPE_H */
