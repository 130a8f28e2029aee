/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_escape: escapers per output format (see rp_escape.h).
 */

#include <string.h>

#include <apr_strings.h>

#include "rp_escape.h"

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

/* C1 controls (U+0080..U+009F) and the Unicode line and paragraph
 * separators are valid UTF-8 but act as controls or line breaks in some
 * terminals and viewers: escape their bytes too. */
static int line_breaking(const unsigned char *s, int n)
{
    return (n == 2 && s[0] == 0xC2 && s[1] <= 0x9F)
           || (n == 3 && s[0] == 0xE2 && s[1] == 0x80
               && (s[2] == 0xA8 || s[2] == 0xA9));
}

/* Whether the character at S is written as itself and cannot continue
 * a preceding backslash into an escape ("\\" or "\x"). */
static int passes(const unsigned char *s)
{
    int n = utf8_len(s);

    if (n == 1) {
        return *s >= 0x20 && *s < 0x7F && *s != '\\' && *s != 'x';
    }
    return n > 1 && !line_breaking(s, n);
}

const char *rp_escape_text(apr_pool_t *p, const char *s)
{
    const unsigned char *in = (const unsigned char *)s;
    char *out, *o;
    int n;

    /* Worst case: every byte becomes \xNN. */
    o = out = apr_palloc(p, strlen(s) * 4 + 1);
    while (*in) {
        n = utf8_len(in);
        if (n == 1 && *in >= 0x20 && *in < 0x7F && *in != '\\') {
            *o++ = (char)*in++;
        }
        else if (n == 1 && *in == '\\') {
            /* Doubled only where what follows in the output could make it
             * read as an escape, so \.css$ reads as written. */
            *o++ = '\\';
            if (in[1] && !passes(in + 1)) {
                *o++ = '\\';
            }
            in++;
        }
        else if (n > 1 && !line_breaking(in, n)) {
            memcpy(o, in, n);
            o += n;
            in += n;
        }
        else {
            /* One byte at a time: a line-breaking sequence's bytes each. */
            int k, m = n > 1 ? n : 1;
            for (k = 0; k < m; k++) {
                o += apr_snprintf(o, 5, "\\x%02X", *in++);
            }
        }
    }
    *o = '\0';
    return out;
}

const char *rp_escape_json(apr_pool_t *p, const char *s)
{
    const unsigned char *in = (const unsigned char *)rp_escape_text(p, s);
    char *out = apr_palloc(p, strlen((const char *)in) * 6 + 1), *o = out;

    for (; *in; in++) {
        if (*in == '"' || *in == '\\') {
            *o++ = '\\';
            *o++ = (char)*in;
        }
        else if (*in < 0x20 || *in == '<' || *in == '>' || *in == '&') {
            o += apr_snprintf(o, 7, "\\u%04x", *in);
        }
        else {
            *o++ = (char)*in;
        }
    }
    *o = '\0';
    return out;
}

const char *rp_escape_html(apr_pool_t *p, const char *s)
{
    static const struct {
        char c;
        const char *entity;
    } entities[] = {
        { '&', "&amp;" }, { '<', "&lt;" }, { '>', "&gt;" },
        { '"', "&quot;" }, { '\'', "&#39;" }, { 0, NULL }
    };
    const char *in = rp_escape_text(p, s);
    char *out, *o;
    int i;

    /* Most names need nothing: give the text-safe string back as it is. */
    if (!in[strcspn(in, "&<>\"'")]) {
        return in;
    }
    out = o = apr_palloc(p, strlen(in) * 6 + 1);
    for (; *in; in++) {
        for (i = 0; entities[i].c && entities[i].c != *in; i++) {
        }
        if (entities[i].c) {
            o = stpcpy(o, entities[i].entity);
        }
        else {
            *o++ = *in;
        }
    }
    *o = '\0';
    return out;
}

const char *rp_escape_url(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *in = (const unsigned char *)s;
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *in; in++) {
        if ((*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z')
            || (*in >= '0' && *in <= '9') || strchr("-._~/", *in)) {
            *o++ = (char)*in;
        }
        else {
            *o++ = '%';
            *o++ = hex[*in >> 4];
            *o++ = hex[*in & 15];
        }
    }
    *o = '\0';
    return out;
}
