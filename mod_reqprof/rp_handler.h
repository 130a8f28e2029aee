/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_handler: the "reqprof" content handler (SetHandler reqprof).
 * Serves the status page and the filter explanation.  Never samples.
 */

#ifndef RP_HANDLER_H
#define RP_HANDLER_H

#include <httpd.h>

int rp_handler(request_rec *r);

#endif /* RP_HANDLER_H */
