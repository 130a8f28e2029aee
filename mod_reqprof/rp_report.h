/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_report: renderers of the profile, one per format, chosen from a table
 * {name, content type, render}.  They read the model through const
 * pointers and write to the request; they change no state.
 */

#ifndef RP_REPORT_H
#define RP_REPORT_H

#include <httpd.h>

#include "rp_model.h"

typedef struct {
    const char *sort;           /* a key of rp_sort */
    int limit;                  /* rows, 0 = all */
    int strip_dirs;
} rp_view_opts_t;

typedef struct {
    const char *name;           /* ?format= */
    const char *content_type;
    void (*render)(request_rec *r, const rp_model_t *m,
                   const rp_view_opts_t *o);
} rp_format_t;

/* The format named NAME, or NULL. */
const rp_format_t *rp_report_format(const char *name);

/* The names, in table order, NULL-terminated (for the query table). */
extern const char *const rp_report_format_names[];

#endif /* RP_REPORT_H */
