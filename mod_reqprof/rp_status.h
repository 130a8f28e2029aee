/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_status: the reqprof section of mod_status' /server-status page (its
 * optional status_hook).  When mod_status is not loaded the hook never
 * runs and this costs nothing.  Not for signal context.
 */

#ifndef RP_STATUS_H
#define RP_STATUS_H

#include <apr_pools.h>

/* Register the status hook and what it needs (from register_hooks). */
void rp_status_register(apr_pool_t *p);

#endif /* RP_STATUS_H */
