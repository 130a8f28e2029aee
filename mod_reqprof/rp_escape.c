/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_escape: escapers per output format (see rp_escape.h).
 *
 * One implementation per escaper, streaming: the text-safe base scans its
 * input and hands runs of output to the next stage, a pointer into the
 * input for every stretch that passes unchanged and a few bytes of
 * escape otherwise; the JSON and HTML escapers are stages after it, so
 * they cannot disagree with it.  The pool forms run a stage twice, once
 * to measure and once to copy, so the result is sized exactly; when the
 * output is the input unchanged (nearly every name) they give the input
 * back and allocate nothing.
 */

#include <string.h>

#include <apr_strings.h>

#include "rp_escape.h"

/* ------------------------------------------------------------------ */
/* The text-safe base */

/* Length of the valid UTF-8 sequence at S (1..4), or 0 when S does not
 * start one.  Overlong forms, surrogates and values past U+10FFFF are
 * invalid, as in RFC 3629. */
static int utf8_len(const unsigned char *s)
{
    unsigned int c = s[0];
    int n, i;
    unsigned long v;

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    }
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    }
    else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)))
        || (n == 4 && (v < 0x10000 || v > 0x10FFFF))) {
        return 0;
    }
    return n;
}

/* Valid UTF-8 whose bytes are escaped all the same, for the valid
 * sequence of N bytes at S:
 * - C1 controls (U+0080..U+009F), and the line and paragraph separators
 *   (U+2028, U+2029): they act as controls or line breaks in terminals
 *   and viewers;
 * - noncharacters, U+FDD0..U+FDEF and U+nFFFE, U+nFFFF of every plane:
 *   XML 1.0 forbids U+FFFE and U+FFFF outright (one in a URI made the SVG
 *   export ill-formed) and discourages the others, and no tool needs
 *   them as text. */
static int must_escape(const unsigned char *s, int n)
{
    switch (n) {
    case 2:
        return s[0] == 0xC2 && s[1] <= 0x9F;
    case 3:
        return (s[0] == 0xE2 && s[1] == 0x80
                && (s[2] == 0xA8 || s[2] == 0xA9))
               || (s[0] == 0xEF && s[1] == 0xB7
                   && s[2] >= 0x90 && s[2] <= 0xAF)
               || (s[0] == 0xEF && s[1] == 0xBF
                   && (s[2] == 0xBE || s[2] == 0xBF));
    case 4:
        /* The low 16 bits of the code point are FFFE or FFFF: bits 15-12
         * are the low nibble of the second byte. */
        return (s[1] & 0x0F) == 0x0F && s[2] == 0xBF
               && (s[3] == 0xBE || s[3] == 0xBF);
    default:
        return 0;
    }
}

/* Whether the character at S is written as itself and cannot continue
 * a preceding backslash into an escape ("\\" or "\x"). */
static int passes(const unsigned char *s)
{
    int n = utf8_len(s);

    if (n == 1) {
        return *s >= 0x20 && *s < 0x7F && *s != '\\' && *s != 'x';
    }
    return n > 1 && !must_escape(s, n);
}

/* S made text-safe (rp_escape.h), to EMIT in runs. */
static void text_safe(const char *s, rp_escape_emit_fn *emit, void *ctx)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *in = (const unsigned char *)s;
    const unsigned char *run = in;      /* passes unchanged from here */
    char esc[16];
    int n, k, m;

    while (*in) {
        n = utf8_len(in);
        if (n == 1 && *in >= 0x20 && *in < 0x7F) {
            in++;
            /* A backslash is doubled only where what follows in the
             * output could make it read as an escape, so \.css$ reads as
             * written. */
            if (in[-1] == '\\' && *in && !passes(in)) {
                emit(ctx, (const char *)run, (apr_size_t)(in - run));
                emit(ctx, "\\", 1);
                run = in;
            }
            continue;
        }
        if (n > 1 && !must_escape(in, n)) {
            in += n;
            continue;
        }
        /* One "\xNN" per byte: a control byte, an invalid byte, or each
         * byte of a sequence escaped whole. */
        if (in > run) {
            emit(ctx, (const char *)run, (apr_size_t)(in - run));
        }
        m = n > 1 ? n : 1;
        for (k = 0; k < m; k++, in++) {
            esc[4 * k] = '\\';
            esc[4 * k + 1] = 'x';
            esc[4 * k + 2] = hex[*in >> 4];
            esc[4 * k + 3] = hex[*in & 15];
        }
        emit(ctx, esc, (apr_size_t)(4 * m));
        run = in;
    }
    if (in > run) {
        emit(ctx, (const char *)run, (apr_size_t)(in - run));
    }
}

/* ------------------------------------------------------------------ */
/* Stages after the base */

typedef struct {
    rp_escape_emit_fn *emit;
    void *ctx;
} next_t;

/* JSON: the quote, the backslash (of the base's escapes too) and
 * control bytes, and '<', '>', '&' so the JSON is safe inside HTML. */
static void json_stage(void *ctx, const char *s, apr_size_t n)
{
    const next_t *x = ctx;
    const char *run = s, *end = s + n;
    char u[8];

    for (; s < end; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>'
            && c != '&') {
            continue;
        }
        if (s > run) {
            x->emit(x->ctx, run, (apr_size_t)(s - run));
        }
        if (c == '"' || c == '\\') {
            u[0] = '\\';
            u[1] = (char)c;
            x->emit(x->ctx, u, 2);
        }
        else {
            apr_snprintf(u, sizeof(u), "\\u%04x", c);
            x->emit(x->ctx, u, 6);
        }
        run = s + 1;
    }
    if (end > run) {
        x->emit(x->ctx, run, (apr_size_t)(end - run));
    }
}

/* HTML and XML: the five characters with a meaning in text or in a
 * quoted attribute value. */
static void html_stage(void *ctx, const char *s, apr_size_t n)
{
    const next_t *x = ctx;
    const char *run = s, *end = s + n, *e;

    for (; s < end; s++) {
        switch (*s) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&#39;";
            break;
        default:
            continue;
        }
        if (s > run) {
            x->emit(x->ctx, run, (apr_size_t)(s - run));
        }
        x->emit(x->ctx, e, strlen(e));
        run = s + 1;
    }
    if (end > run) {
        x->emit(x->ctx, run, (apr_size_t)(end - run));
    }
}

/* URLs: RFC 3986's unreserved bytes and '/' pass, every other byte is
 * %XX.  Not after the text-safe base: every byte is written, so none
 * needs it. */
static void url_escape(const char *s, rp_escape_emit_fn *emit, void *ctx)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *in = (const unsigned char *)s, *run = in;
    char pct[3];

    for (; *in; in++) {
        if ((*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z')
            || (*in >= '0' && *in <= '9') || strchr("-._~/", *in)) {
            continue;
        }
        if (in > run) {
            emit(ctx, (const char *)run, (apr_size_t)(in - run));
        }
        pct[0] = '%';
        pct[1] = hex[*in >> 4];
        pct[2] = hex[*in & 15];
        emit(ctx, pct, 3);
        run = in + 1;
    }
    if (in > run) {
        emit(ctx, (const char *)run, (apr_size_t)(in - run));
    }
}

/* Counts what a stream emits, for its callers' return value. */
typedef struct {
    rp_escape_emit_fn *emit;
    void *ctx;
    apr_size_t n;
} counted_t;

static void counted(void *ctx, const char *s, apr_size_t n)
{
    counted_t *c = ctx;

    c->n += n;
    c->emit(c->ctx, s, n);
}

apr_size_t rp_escape_stream(rp_escape_e kind, const char *s,
                            rp_escape_emit_fn *emit, void *ctx)
{
    counted_t c;
    next_t next;

    c.emit = emit;
    c.ctx = ctx;
    c.n = 0;
    next.emit = counted;
    next.ctx = &c;
    switch (kind) {
    case RP_ESCAPE_JSON:
        text_safe(s, json_stage, &next);
        break;
    case RP_ESCAPE_HTML:
        text_safe(s, html_stage, &next);
        break;
    case RP_ESCAPE_URL:
        url_escape(s, counted, &c);
        break;
    default:
        text_safe(s, counted, &c);
        break;
    }
    return c.n;
}

/* ------------------------------------------------------------------ */
/* From a pool: measured, then copied */

typedef struct {
    const char *in;             /* the input */
    apr_size_t len;             /* bytes emitted */
    int same;                   /* so far, the input's own bytes */
    char *out;                  /* the copy, once measured */
} copy_t;

static void measure(void *ctx, const char *s, apr_size_t n)
{
    copy_t *c = ctx;

    /* The output is the input when it comes as one run of its bytes. */
    c->same = c->same && s == c->in + c->len;
    c->len += n;
}

static void copy(void *ctx, const char *s, apr_size_t n)
{
    copy_t *c = ctx;

    memcpy(c->out + c->len, s, n);
    c->len += n;
}

static const char *escape_pool(apr_pool_t *p, rp_escape_e kind,
                               const char *s)
{
    copy_t c;

    c.in = s;
    c.len = 0;
    c.same = 1;
    rp_escape_stream(kind, s, measure, &c);
    if (c.same && s[c.len] == '\0') {
        return s;
    }
    c.out = apr_palloc(p, c.len + 1);
    c.len = 0;
    rp_escape_stream(kind, s, copy, &c);
    c.out[c.len] = '\0';
    return c.out;
}

const char *rp_escape_text(apr_pool_t *p, const char *s)
{
    return escape_pool(p, RP_ESCAPE_TEXT, s);
}

const char *rp_escape_json(apr_pool_t *p, const char *s)
{
    return escape_pool(p, RP_ESCAPE_JSON, s);
}

const char *rp_escape_html(apr_pool_t *p, const char *s)
{
    return escape_pool(p, RP_ESCAPE_HTML, s);
}

const char *rp_escape_url(apr_pool_t *p, const char *s)
{
    return escape_pool(p, RP_ESCAPE_URL, s);
}
