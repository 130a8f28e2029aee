/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_private: included first by every file of the module that talks to
 * httpd.  It ties the files' log calls to the module, so that
 * "LogLevel reqprof:debug" works everywhere, and defines the log tag.
 *
 * Every ap_log_* call site carries its own RP_LOGNO(n); numbers are never
 * reused (httpd's AH numbers are for httpd itself).
 */

#ifndef RP_PRIVATE_H
#define RP_PRIVATE_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

APLOG_USE_MODULE(reqprof);

#define RP_LOGNO(n)         "reqprof(" #n "): "

#define RP_VERSION          "0.1.0"

/* The handler name for SetHandler. */
#define RP_HANDLER          "reqprof"

#endif /* RP_PRIVATE_H */
