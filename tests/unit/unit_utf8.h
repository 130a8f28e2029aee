/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * unit_utf8: an oracle for the tests of escapers and renderers: whether a
 * string is valid UTF-8 text of characters only, written independently
 * of rp_escape.
 */

#ifndef UNIT_UTF8_H
#define UNIT_UTF8_H

/* 1 when S is valid UTF-8 (RFC 3629) and holds no noncharacter
 * (U+FDD0..U+FDEF, U+nFFFE, U+nFFFF: XML refuses U+FFFE and U+FFFF, and
 * every output of the module must be well-formed XML text where it is
 * XML), written independently of rp_escape. */
static int unit_valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned long v;
        int n, i;

        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xE0) == 0xC0) {
            n = 2;
            v = *s & 0x1F;
        }
        else if ((*s & 0xF0) == 0xE0) {
            n = 3;
            v = *s & 0x0F;
        }
        else if ((*s & 0xF8) == 0xF0) {
            n = 4;
            v = *s & 0x07;
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
        if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800)
            || (n == 4 && v < 0x10000) || v > 0x10FFFF
            || (v >= 0xD800 && v <= 0xDFFF)
            || (v >= 0xFDD0 && v <= 0xFDEF) || (v & 0xFFFE) == 0xFFFE) {
            return 0;
        }
        s += n;
    }
    return 1;
}

#endif /* UNIT_UTF8_H */
