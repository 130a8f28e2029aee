/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_query: parse a query string against a parameter table (rp_query.h).
 *
 * The whole string is checked before anything is used: a request with one
 * bad parameter gets a 400 and changes or shows nothing.
 */

#include <errno.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include "rp_query.h"

/* Request-controlled names in reasons are cut to this many bytes. */
#define SHOWN_MAX 40

static const char *const flag_on[] = { "", "1", "on", "yes", "true", NULL };
static const char *const flag_off[] = { "0", "off", "no", "false", NULL };

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)apr_tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

long rp_query_unescape(char *s)
{
    char *in = s, *out = s;
    int hi, lo;

    while (*in) {
        if (*in == '+') {
            *out++ = ' ';
            in++;
        }
        else if (*in == '%') {
            if ((hi = hexval(in[1])) < 0 || (lo = hexval(in[2])) < 0) {
                return -1;
            }
            if (hi == 0 && lo == 0) {
                return -1;
            }
            *out++ = (char)(hi * 16 + lo);
            in += 3;
        }
        else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return (long)(out - s);
}

static const char *shown(apr_pool_t *p, const char *s)
{
    return strlen(s) > SHOWN_MAX
           ? apr_pstrcat(p, apr_pstrndup(p, s, SHOWN_MAX), "...", NULL)
           : s;
}

/* The I-th name of LIST: an array of names (STRIDE 0), or the first
 * members of a table's entries STRIDE bytes apart. */
static const char *nth(const char *const *list, apr_size_t stride, int i)
{
    return stride ? *(const char *const *)((const char *)list
                                           + (apr_size_t)i * stride)
                  : list[i];
}

static int find_in(const char *const *list, apr_size_t stride,
                   const char *v)
{
    const char *n;
    int i;

    for (i = 0; (n = nth(list, stride, i)) != NULL; i++) {
        if (strcasecmp(n, v) == 0) {
            return i;
        }
    }
    return -1;
}

static int find(const char *const *list, const char *v)
{
    return find_in(list, 0, v);
}

static const char *choices_text(apr_pool_t *p, const char *const *list,
                                apr_size_t stride)
{
    const char *s = nth(list, stride, 0), *n;
    int i;

    for (i = 1; (n = nth(list, stride, i)) != NULL; i++) {
        s = apr_pstrcat(p, s, ", ", n, NULL);
    }
    return s;
}

/* Check VALUE against PARAM and store it in OUT. */
static const char *store(apr_pool_t *p, const rp_qparam_t *param,
                         const char *value, void *out)
{
    char *field = (char *)out + param->offset;
    apr_int64_t n;
    char *end;
    const char *err;
    int i;

    switch (param->type) {
    case RP_Q_STRING:
        if ((apr_int64_t)strlen(value) > param->max) {
            return apr_psprintf(p, "%s is longer than %" APR_INT64_T_FMT
                                " bytes", param->name, param->max);
        }
        if (param->check && (err = param->check(p, value)) != NULL) {
            return apr_psprintf(p, "%s: %s", param->name, err);
        }
        *(const char **)field = value;
        return NULL;
    case RP_Q_INT:
        errno = 0;
        n = apr_strtoi64(value, &end, 10);
        if (!*value || *end || errno || !(apr_isdigit(*value)
                                          || *value == '-')) {
            return apr_psprintf(p, "%s must be a whole number, not '%s'",
                                param->name, shown(p, value));
        }
        if (n < param->min || n > param->max) {
            return apr_psprintf(p, "%s must be %" APR_INT64_T_FMT " to %"
                                APR_INT64_T_FMT ", not %s", param->name,
                                param->min, param->max, shown(p, value));
        }
        *(int *)field = (int)n;
        return NULL;
    case RP_Q_CHOICE:
        if ((i = find_in(param->choices, param->stride, value)) < 0) {
            return apr_psprintf(p, "%s '%s' is not one of: %s", param->name,
                                shown(p, value),
                                choices_text(p, param->choices,
                                             param->stride));
        }
        *(int *)field = i;
        return NULL;
    case RP_Q_FLAG:
        if (find(flag_on, value) >= 0) {
            *(int *)field = 1;
        }
        else if (find(flag_off, value) >= 0) {
            *(int *)field = 0;
        }
        else {
            return apr_psprintf(p, "%s must be 1 or 0, not '%s'",
                                param->name, shown(p, value));
        }
        return NULL;
    }
    return "internal error: unknown parameter type";
}

const char *rp_query_parse(apr_pool_t *p, const char *args,
                           const rp_qparam_t *table, void *out,
                           apr_uint32_t *seen)
{
    char *copy, *pair, *state, *value, *eq;
    const char *err;
    int i;

    *seen = 0;
    if (!args || !*args) {
        return NULL;
    }
    copy = apr_pstrdup(p, args);
    for (pair = apr_strtok(copy, "&", &state); pair;
         pair = apr_strtok(NULL, "&", &state)) {
        if ((eq = strchr(pair, '=')) != NULL) {
            *eq = '\0';
            value = eq + 1;
        }
        else {
            value = pair + strlen(pair);
        }
        if (rp_query_unescape(pair) < 0) {
            /* The name is half decoded now; show it as it was sent. */
            return apr_psprintf(p, "bad percent-encoding in a parameter "
                                "name '%s'",
                                shown(p, apr_pstrndup(p, args + (pair - copy),
                                                      strcspn(args + (pair - copy),
                                                              "=&"))));
        }
        for (i = 0; table[i].name; i++) {
            if (strcmp(table[i].name, pair) == 0) {
                break;
            }
        }
        if (!table[i].name) {
            return apr_psprintf(p, "unknown parameter '%s'", shown(p, pair));
        }
        if (*seen & (1u << i)) {
            return apr_psprintf(p, "parameter '%s' given more than once",
                                table[i].name);
        }
        *seen |= 1u << i;
        if (rp_query_unescape(value) < 0) {
            return apr_psprintf(p, "bad percent-encoding in the value of "
                                "'%s'", table[i].name);
        }
        if ((err = store(p, &table[i], value, out)) != NULL) {
            return err;
        }
    }
    return NULL;
}
