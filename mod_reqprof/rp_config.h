/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_config: the module's configuration, its directives and their checks.
 *
 * All values are checked when the configuration is read, so that a bad one
 * fails "apachectl -t" with the file, line, directive, value and reason, and
 * request-time code never parses anything.  Settings that are process-wide
 * (timer, frequency, depth, signal, memory, whether profiling starts on) are
 * accepted in the main server only; the URI lists and the page defaults may
 * differ per virtual host.  Nothing here is safe in signal context.
 */

#ifndef RP_CONFIG_H
#define RP_CONFIG_H

#include <httpd.h>
#include <http_config.h>

#include "rp_filter.h"
#include "rp_store.h"

#define RP_UNSET            (-1)

typedef struct {
    int enabled;            /* ReqProf: profiling on at start */
    rp_filter_t *filter;    /* ReqProfInclude / ReqProfExclude */
    int timer;              /* ReqProfTimer: rp_timer_e */
    int frequency;          /* ReqProfFrequency: samples per second asked */
    int max_depth;          /* ReqProfMaxDepth: frames kept per sample */
    int signo;              /* ReqProfSignal: resolved signal number */
    const char *signame;    /* ... as the operator wrote it */
    apr_int64_t memory;     /* ReqProfMemory: bytes of shm per child slot */
    const char *sort;       /* ReqProfSort: page default sort key */
    int strip_dirs;         /* ReqProfStripDirs: page default */
    int limit;              /* ReqProfLimit: page default rows, 0 = all */
    int interpreters;       /* ReqProfInterpreters: script frames */
    rp_keep_policy_t keep;  /* ReqProfKeep: requests kept whole, per child */
    int keep_set;
    apr_array_header_t *redact; /* ReqProfRedact: header names (const char
                             * *) whose values are never kept, beside
                             * Cookie, Authorization and
                             * Proxy-Authorization */
    int slow_after;             /* ReqProfSlowLog: seconds, 0 off, RP_UNSET */
    const char *slow_file;      /* ... its FILE (or "|command"), NULL: the
                             * error log; as written */
    struct rp_slowlog_t *slow_log; /* ... opened by rp_live at
                             * post_config, NULL for the error log */
} rp_server_conf_t;

/* ReqProfSlowLog's bounds (seconds). */
#define RP_SLOW_MAX 86400

/* Per directory (and so per server and virtual host, whose defaults are
 * their directory configuration outside any section). */
typedef struct {
    int server_timing; /* ReqProfServerTiming: RP_UNSET, 0 or 1 */
} rp_dir_conf_t;

extern const command_rec rp_config_cmds[];

void *rp_config_create_server(apr_pool_t *p, server_rec *s);
void *rp_config_merge_server(apr_pool_t *p, void *basev, void *addv);
void *rp_config_create_dir(apr_pool_t *p, char *dir);
void *rp_config_merge_dir(apr_pool_t *p, void *basev, void *addv);

/* The effective configuration of S (after merging, defaults applied). */
const rp_server_conf_t *rp_config_get(const server_rec *s);

/* Whether R's response carries Server-Timing (ReqProfServerTiming). */
int rp_config_server_timing(const request_rec *r);

/* Whether the value of request header NAME is kept as "[redacted]"
 * under CONF. */
int rp_config_redacted(const rp_server_conf_t *conf, const char *name);

#endif /* RP_CONFIG_H */
