/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_render: which renderer draws which format.  The one file that calls
 * every renderer; the renderers call rp_report (links, names, the
 * overview's facts) and nothing calls back into this, so the files of
 * the page form no circle.
 */

#include "rp_report.h"

typedef void (*render_fn)(const rp_render_t *c);

/* Indexed by rp_format_e: a format added there without its renderer here
 * is a NULL the unit tests find. */
/* clang-format off */
static const render_fn renderers[RP_FORMATS] = {
    [RP_FORMAT_HTML]       = rp_report_html,
    [RP_FORMAT_TEXT]       = rp_report_text,
    [RP_FORMAT_JSON]       = rp_report_json,
    [RP_FORMAT_SVG]        = rp_report_svg,
    [RP_FORMAT_COLLAPSED]  = rp_report_collapsed,
    [RP_FORMAT_PPROF]      = rp_report_pprof,
    [RP_FORMAT_CALLGRIND]  = rp_report_callgrind,
    [RP_FORMAT_DOT]        = rp_report_dot,
    [RP_FORMAT_SPEEDSCOPE] = rp_report_speedscope
};
/* clang-format on */

void rp_report_render(const rp_format_t *f, const rp_render_t *c)
{
    if ((unsigned)f->id < RP_FORMATS && renderers[f->id]) {
        renderers[f->id](c);
    }
}
