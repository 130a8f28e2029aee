/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_handler: the "reqprof" content handler (SetHandler reqprof).
 * Serves the page's views and the exports (GET, HEAD) and hands state
 * changes (POST) to rp_control.  Never samples.
 */

#ifndef RP_HANDLER_H
#define RP_HANDLER_H

#include <httpd.h>

int rp_handler(request_rec *r);

#endif /* RP_HANDLER_H */
