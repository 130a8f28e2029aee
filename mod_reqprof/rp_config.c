/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * rp_config: per-server configuration and every directive setter.
 *
 * Setters return NULL or a message naming the directive, repeating the bad
 * value and giving the reason; httpd prefixes it with the file and line.
 * Numeric directives share one setter driven by a table of ranges, so every
 * bound is stated once.  Process-wide settings are refused inside
 * <VirtualHost>: a signal or a shared-memory size cannot differ per host.
 *
 * The main server's record starts with the defaults; a virtual host's starts
 * unset and inherits from the main server when merged.
 */

#include <errno.h>
#include <signal.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include "rp_private.h"
#include "rp_config.h"
#include "rp_sort.h"

#define DEFAULT_MEMORY      (8 * 1024 * 1024)
#define DEFAULT_SORT        "self"
#define DEFAULT_LIMIT       100

/* ------------------------------------------------------------------ */
/* Tables */

/* cmd->info of the two list directives. */
static const rp_rule_kind_e kind_include = RP_RULE_INCLUDE;
static const rp_rule_kind_e kind_exclude = RP_RULE_EXCLUDE;

/* Numeric directives: where the value goes and which values make sense. */
typedef struct {
    apr_size_t offset;      /* of an int in rp_server_conf_t */
    apr_int64_t min;
    apr_int64_t max;
    const char *unit;
    const char *why_max;    /* reason for the upper bound */
} rp_int_desc_t;

static const rp_int_desc_t frequency_desc = {
    APR_OFFSETOF(rp_server_conf_t, frequency),
    RP_FREQUENCY_MIN, RP_FREQUENCY_MAX, "Hz",
    "faster sampling would cost more than the work it measures"
};
static const rp_int_desc_t max_depth_desc = {
    APR_OFFSETOF(rp_server_conf_t, max_depth), 4, RP_STORE_DEPTH_MAX, "frames",
    "each sample's frames are stored in a fixed buffer"
};
static const rp_int_desc_t limit_desc = {
    APR_OFFSETOF(rp_server_conf_t, limit), 0, 1000000, "rows",
    "use 0 for no limit"
};

/* Signals an operator may name.  The reason refuses a signal that httpd,
 * the C library or the kernel already gives a meaning to. */
typedef struct {
    const char *name;       /* without "SIG" */
    int signo;
    const char *refused;    /* NULL: usable */
} rp_signal_name_t;

static const rp_signal_name_t signal_names[] = {
    { "PROF",   SIGPROF,   NULL },
    { "VTALRM", SIGVTALRM, NULL },
    { "USR2",   SIGUSR2,   NULL },
    { "ALRM",   SIGALRM,   NULL },
    { "HUP",    SIGHUP,    "httpd uses it to restart" },
    { "USR1",   SIGUSR1,   "httpd uses it for a graceful restart" },
    { "TERM",   SIGTERM,   "httpd uses it to stop" },
    { "WINCH",  SIGWINCH,  "httpd uses it for a graceful stop" },
    { "INT",    SIGINT,    "httpd uses it to stop" },
    { "QUIT",   SIGQUIT,   "it ends the process" },
    { "CHLD",   SIGCHLD,   "httpd uses it to reap children" },
    { "PIPE",   SIGPIPE,   "httpd ignores it to survive closed sockets" },
    { "SEGV",   SIGSEGV,   "it reports a crash" },
    { "BUS",    SIGBUS,    "it reports a crash" },
    { "ILL",    SIGILL,    "it reports a crash" },
    { "FPE",    SIGFPE,    "it reports a crash" },
    { "ABRT",   SIGABRT,   "it reports a crash" },
    { "KILL",   SIGKILL,   "it cannot be caught" },
    { "STOP",   SIGSTOP,   "it cannot be caught" },
    { NULL, 0, NULL }
};

#define DEFAULT_SIGNAL_NAME     "RTMIN+4"

/* ------------------------------------------------------------------ */
/* Value parsers (pure: return NULL or a reason) */

/* A decimal integer, nothing else around it. */
static const char *parse_int(const char *arg, apr_int64_t *out)
{
    char *end;
    const char *c;

    for (c = arg; *c; c++) {
        if (!apr_isdigit(*c) && !(c == arg && *c == '-')) {
            return "not a whole number";
        }
    }
    if (!*arg || (arg[0] == '-' && !arg[1])) {
        return "not a whole number";
    }
    errno = 0;
    *out = apr_strtoi64(arg, &end, 10);
    if (*end || errno == ERANGE) {
        return "not a whole number in range";
    }
    return NULL;
}

/* RTMIN, RTMIN+N, RTMAX or RTMAX-N (without "SIG"). */
static const char *parse_rt_signal(const char *name, int *signo)
{
    int from_min = (strncasecmp(name, "RTMIN", 5) == 0);
    char want = from_min ? '+' : '-';
    apr_int64_t n = 0;

    name += 5;
    if (*name && (*name != want || parse_int(name + 1, &n) || n < 0)) {
        return from_min ? "write RTMIN+N" : "write RTMAX-N";
    }
    if (n > SIGRTMAX - SIGRTMIN) {
        return "beyond the last real-time signal";
    }
    *signo = from_min ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
    return NULL;
}

static const char *parse_signal(apr_pool_t *p, const char *arg, int *signo)
{
    const rp_signal_name_t *sn;
    const char *name = arg;
    apr_int64_t n;

    if (strncasecmp(name, "SIG", 3) == 0) {
        name += 3;
    }
    if (strncasecmp(name, "RTMIN", 5) == 0
        || strncasecmp(name, "RTMAX", 5) == 0) {
        return parse_rt_signal(name, signo);
    }
    if (apr_isdigit(*name)) {
        if (parse_int(name, &n) || n < 1 || n > SIGRTMAX) {
            return apr_psprintf(p, "signal numbers run from 1 to %d",
                                SIGRTMAX);
        }
        *signo = (int)n;
        if (n >= SIGRTMIN) {
            return NULL;
        }
        if (n < SIGRTMIN && n > 31) {
            return "the C library reserves it for threads";
        }
    }
    else {
        *signo = 0;
    }
    for (sn = signal_names; sn->name; sn++) {
        if ((*signo && sn->signo == *signo)
            || (!*signo && strcasecmp(sn->name, name) == 0)) {
            *signo = sn->signo;
            return sn->refused;
        }
    }
    return *signo ? "httpd or the C library may use it; choose PROF, "
                    "VTALRM, USR2, ALRM or a real-time signal"
                  : "unknown signal name";
}

/* A size in bytes with an optional K, M or G suffix. */
static const char *parse_size(const char *arg, apr_int64_t *out)
{
    char num[32];
    apr_size_t len = strlen(arg);
    apr_int64_t mult = 1;

    if (len == 0 || len >= sizeof(num)) {
        return "not a size";
    }
    memcpy(num, arg, len + 1);
    switch (apr_toupper(num[len - 1])) {
    case 'K': mult = 1024; break;
    case 'M': mult = 1024 * 1024; break;
    case 'G': mult = 1024 * 1024 * 1024; break;
    default: break;
    }
    if (mult > 1) {
        num[--len] = '\0';
    }
    if (parse_int(num, out) || *out < 0 || *out > APR_INT64_C(1) << 40) {
        return "not a size (a number of bytes, optionally with K, M or G)";
    }
    *out *= mult;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Setters */

static rp_server_conf_t *conf_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &reqprof_module);
}

/* Refuse a process-wide directive inside <VirtualHost> and friends. */
static const char *global_only(cmd_parms *cmd, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return apr_psprintf(cmd->pool, "%s '%s': not allowed here: it "
                            "applies to the whole server (%s)",
                            cmd->cmd->name, arg, err);
    }
    return NULL;
}

static const char *bad(cmd_parms *cmd, const char *arg, const char *reason)
{
    return apr_psprintf(cmd->pool, "%s '%s': %s", cmd->cmd->name, arg,
                        reason);
}

/* On or Off.  httpd's own FLAG parser would not repeat the bad value. */
static const char *parse_on_off(cmd_parms *cmd, const char *arg, int *on)
{
    if (strcasecmp(arg, "On") == 0) {
        *on = 1;
    }
    else if (strcasecmp(arg, "Off") == 0) {
        *on = 0;
    }
    else {
        return bad(cmd, arg, "must be On or Off");
    }
    return NULL;
}

static const char *set_enabled(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd, arg);

    (void)dc;
    return err ? err : parse_on_off(cmd, arg, &conf_of(cmd)->enabled);
}

/* Global only: the interpreters are looked for once per child. */
static const char *set_interpreters(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd, arg);

    (void)dc;
    return err ? err : parse_on_off(cmd, arg, &conf_of(cmd)->interpreters);
}

static const char *add_rule(cmd_parms *cmd, void *dc, const char *arg)
{
    rp_server_conf_t *conf = conf_of(cmd);
    rp_rule_kind_e kind = *(const rp_rule_kind_e *)cmd->info;
    const char *where, *err;

    (void)dc;
    if (!*arg) {
        return bad(cmd, arg, "an empty pattern would match every path");
    }
    where = apr_psprintf(cmd->pool, "%s:%d",
                         cmd->directive ? cmd->directive->filename : "?",
                         cmd->directive ? cmd->directive->line_num : 0);
    err = rp_filter_add(conf->filter, cmd->pool, kind, arg, where);
    return err ? bad(cmd, arg, apr_pstrcat(cmd->pool, "invalid regular "
                                           "expression: ", err, NULL))
               : NULL;
}

static const char *set_timer(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd, arg);
    int i;

    (void)dc;
    if (err) {
        return err;
    }
    for (i = 0; rp_timer_names[i]; i++) {
        if (strcasecmp(arg, rp_timer_names[i]) == 0) {
            conf_of(cmd)->timer = i;
            return NULL;
        }
    }
    return bad(cmd, arg, "must be 'cpu' (on-CPU time) or 'real' (wall "
               "time, including time blocked)");
}

static const char *set_int(cmd_parms *cmd, void *dc, const char *arg)
{
    const rp_int_desc_t *d = cmd->info;
    apr_int64_t v;
    const char *err;

    (void)dc;
    if (d != &limit_desc && (err = global_only(cmd, arg)) != NULL) {
        return err;
    }
    if ((err = parse_int(arg, &v)) != NULL) {
        return bad(cmd, arg, err);
    }
    if (v < d->min || v > d->max) {
        return bad(cmd, arg, apr_psprintf(cmd->pool, "out of range: must be "
                   "%" APR_INT64_T_FMT " to %" APR_INT64_T_FMT " %s (%s)",
                   d->min, d->max, d->unit, d->why_max));
    }
    *(int *)((char *)conf_of(cmd) + d->offset) = (int)v;
    return NULL;
}

static const char *set_signal(cmd_parms *cmd, void *dc, const char *arg)
{
    rp_server_conf_t *conf = conf_of(cmd);
    const char *err = global_only(cmd, arg);
    int signo = 0;

    (void)dc;
    if (err) {
        return err;
    }
    if ((err = parse_signal(cmd->pool, arg, &signo)) != NULL) {
        return bad(cmd, arg, err);
    }
    conf->signo = signo;
    conf->signame = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_memory(cmd_parms *cmd, void *dc, const char *arg)
{
    const apr_int64_t min = RP_STORE_REGION_MIN, max = RP_STORE_REGION_MAX;
    const char *err = global_only(cmd, arg);
    apr_int64_t v;

    (void)dc;
    if (err) {
        return err;
    }
    if ((err = parse_size(arg, &v)) != NULL) {
        return bad(cmd, arg, err);
    }
    if (v < min || v > max) {
        return bad(cmd, arg, apr_psprintf(cmd->pool, "out of range: must "
                   "be %" APR_INT64_T_FMT "K to %" APR_INT64_T_FMT "G per "
                   "child (it is reserved once per child slot)",
                   min >> 10, max >> 30));
    }
    conf_of(cmd)->memory = v;
    return NULL;
}

static const char *set_sort(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (!rp_sort_key_find(arg)) {
        return bad(cmd, arg, apr_pstrcat(cmd->pool, "unknown sort key; one "
                   "of: ", rp_sort_key_names(cmd->pool), NULL));
    }
    conf_of(cmd)->sort = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_strip_dirs(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return parse_on_off(cmd, arg, &conf_of(cmd)->strip_dirs);
}

/* ReqProfKeep's words, and where each number goes. */
/* clang-format off */
static const struct {
    const char *word;
    apr_size_t offset;      /* of an int in rp_keep_policy_t */
} keep_words[] = {
    { "recent",  APR_OFFSETOF(rp_keep_policy_t, recent) },
    { "slowest", APR_OFFSETOF(rp_keep_policy_t, slowest) },
    { "errors",  APR_OFFSETOF(rp_keep_policy_t, errors) },
    { NULL, 0 }
};
/* clang-format on */

/* "Off", or pairs "WORD N" of keep_words, each word at most once; a word
 * left out keeps nothing for its rule. */
static const char *set_keep(cmd_parms *cmd, void *dc, int argc,
                            char *const argv[])
{
    rp_server_conf_t *conf = conf_of(cmd);
    const char *all = "", *err, *why;
    rp_keep_policy_t k;
    unsigned seen = 0;
    apr_int64_t v;
    int i, w;

    (void)dc;
    for (i = 0; i < argc; i++) {
        all = apr_pstrcat(cmd->pool, all, i ? " " : "", argv[i], NULL);
    }
    if ((err = global_only(cmd, all)) != NULL) {
        return err;
    }
    memset(&k, 0, sizeof(k));
    if (argc == 1 && strcasecmp(argv[0], "Off") == 0) {
        conf->keep = k;
        conf->keep_set = 1;
        return NULL;
    }
    if (argc == 0 || argc % 2) {
        return bad(cmd, all,
                   "expected Off, or pairs of a rule (recent, slowest, "
                   "errors) and a number, e.g. 'recent 32 slowest 8 "
                   "errors 16'");
    }
    for (i = 0; i < argc; i += 2) {
        for (w = 0; keep_words[w].word; w++) {
            if (strcasecmp(argv[i], keep_words[w].word) == 0) {
                break;
            }
        }
        if (!keep_words[w].word) {
            why = apr_psprintf(cmd->pool,
                               "unknown rule '%s': one of "
                               "recent, slowest, errors",
                               argv[i]);
            return bad(cmd, all, why);
        }
        if (seen & (1u << w)) {
            why = apr_psprintf(cmd->pool, "'%s' is given twice",
                               keep_words[w].word);
            return bad(cmd, all, why);
        }
        seen |= 1u << w;
        if (parse_int(argv[i + 1], &v) != NULL || v < 0 || v > RP_KEEP_MAX) {
            why = apr_psprintf(cmd->pool,
                               "%s '%s' must be a whole number "
                               "from 0 to %d",
                               keep_words[w].word, argv[i + 1], RP_KEEP_MAX);
            return bad(cmd, all, why);
        }
        *(int *)((char *)&k + keep_words[w].offset) = (int)v;
    }
    conf->keep = k;
    conf->keep_set = 1;
    return NULL;
}

/* A header name is an HTTP token. */
static const char *add_redact(cmd_parms *cmd, void *dc, const char *arg)
{
    rp_server_conf_t *conf = conf_of(cmd);
    const char *c;

    (void)dc;
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("!#$%&'*+-.^_`|~", *c)) {
            return bad(cmd, arg,
                       "not a header name (letters, digits and "
                       "!#$%&'*+-.^_`|~ only)");
        }
    }
    if (!*arg) {
        return bad(cmd, arg, "an empty header name");
    }
    if (!conf->redact) {
        conf->redact = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    *(const char **)apr_array_push(conf->redact) = apr_pstrdup(cmd->pool,
                                                               arg);
    return NULL;
}

/* SECONDS [FILE]: Off or 0 turns it off; FILE is "|command" (a piped
 * log) or a path under ServerRoot, opened by the parent at start. */
static const char *set_slow_log(cmd_parms *cmd, void *dc, const char *secs,
                                const char *file)
{
    rp_server_conf_t *conf = conf_of(cmd);
    const char *all = file ? apr_pstrcat(cmd->pool, secs, " ", file, NULL)
                           : secs;
    apr_int64_t v;

    (void)dc;
    if (strcasecmp(secs, "Off") == 0) {
        v = 0;
    }
    else if (parse_int(secs, &v) != NULL || v < 0 || v > RP_SLOW_MAX) {
        return bad(cmd, all,
                   "SECONDS must be Off or a whole number from 0 "
                   "to " APR_STRINGIFY(RP_SLOW_MAX));
    }
    if (file && (!*file || (file[0] == '|' && !file[1]))) {
        return bad(cmd, all, "FILE is empty");
    }
    if (file && v == 0) {
        return bad(cmd, all, "a FILE for a slow log that is off");
    }
    conf->slow_after = (int)v;
    conf->slow_file = file ? apr_pstrdup(cmd->pool, file) : NULL;
    return NULL;
}

static const char *set_server_timing(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    return parse_on_off(cmd, arg, &((rp_dir_conf_t *)dc)->server_timing);
}

/* A table, laid out by hand. */
/* clang-format off */
const command_rec rp_config_cmds[] = {
    AP_INIT_TAKE1("ReqProf", set_enabled, NULL, RSRC_CONF,
                  "On|Off: whether profiling is running at start (default "
                  "Off; the page can switch it later)"),
    AP_INIT_ITERATE("ReqProfInclude", add_rule,
                    (void *)&kind_include, RSRC_CONF,
                    "PCRE2 patterns; when any is given, only request paths "
                    "matching one of them are profiled"),
    AP_INIT_ITERATE("ReqProfExclude", add_rule,
                    (void *)&kind_exclude, RSRC_CONF,
                    "PCRE2 patterns; request paths matching one are never "
                    "profiled (exclude wins over include)"),
    AP_INIT_TAKE1("ReqProfTimer", set_timer, NULL, RSRC_CONF,
                  "cpu|real: the clock that drives sampling (default cpu)"),
    AP_INIT_TAKE1("ReqProfFrequency", set_int, (void *)&frequency_desc,
                  RSRC_CONF, "samples per second, "
                  APR_STRINGIFY(RP_FREQUENCY_MIN) "-"
                  APR_STRINGIFY(RP_FREQUENCY_MAX) " (default "
                  APR_STRINGIFY(RP_FREQUENCY_DEFAULT) ")"),
    AP_INIT_TAKE1("ReqProfMaxDepth", set_int, (void *)&max_depth_desc,
                  RSRC_CONF, "frames kept per sample, innermost first, "
                  "4-" APR_STRINGIFY(RP_STORE_DEPTH_MAX) " (default "
                  APR_STRINGIFY(RP_STORE_DEPTH_DEFAULT) ")"),
    AP_INIT_TAKE1("ReqProfSignal", set_signal, NULL, RSRC_CONF,
                  "the signal that carries samples (default "
                  "SIGRTMIN+4)"),
    AP_INIT_TAKE1("ReqProfMemory", set_memory, NULL, RSRC_CONF,
                  "shared memory per child slot, 64K-1G (default 8M)"),
    AP_INIT_TAKE1("ReqProfSort", set_sort, NULL, RSRC_CONF,
                  "the page's default sort key (default self)"),
    AP_INIT_TAKE1("ReqProfStripDirs", set_strip_dirs, NULL, RSRC_CONF,
                  "On|Off: the page shows file names without directories "
                  "(default Off)"),
    AP_INIT_TAKE1("ReqProfLimit", set_int, (void *)&limit_desc, RSRC_CONF,
                  "the page's default number of rows, 0 for all (default "
                  "100)"),
    AP_INIT_TAKE_ARGV("ReqProfKeep", set_keep, NULL, RSRC_CONF,
                      "requests each child keeps whole: Off, or 'recent N "
                      "slowest K errors E' (default recent "
                      APR_STRINGIFY(RP_KEEP_RECENT_DEFAULT) " slowest "
                      APR_STRINGIFY(RP_KEEP_SLOWEST_DEFAULT) " errors "
                      APR_STRINGIFY(RP_KEEP_ERRORS_DEFAULT) ")"),
    AP_INIT_ITERATE("ReqProfRedact", add_redact, NULL, RSRC_CONF,
                    "request headers whose values kept requests show as "
                    "[redacted], beside Cookie, Authorization and "
                    "Proxy-Authorization"),
    AP_INIT_TAKE12("ReqProfSlowLog", set_slow_log, NULL, RSRC_CONF,
                   "SECONDS [FILE]: the stack of a profiled-path request "
                   "running longer than SECONDS is logged, again each "
                   "further SECONDS (5 times at most), to the error log or "
                   "to FILE ('|command' for a piped log); default Off"),
    AP_INIT_TAKE1("ReqProfInterpreters", set_interpreters, NULL, RSRC_CONF,
                  "On|Off: PHP (mod_php 8.2) and Python (mod_wsgi, CPython "
                  "3.11) functions in place of their interpreter's frames "
                  "(default On)"),
    AP_INIT_TAKE1("ReqProfServerTiming", set_server_timing, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "On|Off: profiled responses carry a Server-Timing header "
                  "with their wall and CPU time and id (default Off: it "
                  "tells clients about the server's timings)"),
    { NULL }
};
/* clang-format on */

/* ------------------------------------------------------------------ */
/* Create and merge */

void *rp_config_create_server(apr_pool_t *p, server_rec *s)
{
    rp_server_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    const char *err;

    conf->filter = rp_filter_create(p);
    conf->enabled = conf->timer = conf->frequency = conf->max_depth
        = conf->signo = conf->strip_dirs = conf->limit = RP_UNSET;
    conf->interpreters = RP_UNSET;
    conf->memory = RP_UNSET;
    conf->slow_after = RP_UNSET;
    if (s->is_virtual) {
        return conf;
    }
    /* The main server holds the defaults; hosts inherit on merge. */
    conf->enabled = 0;
    conf->timer = RP_TIMER_CPU;
    conf->frequency = RP_FREQUENCY_DEFAULT;
    conf->max_depth = RP_STORE_DEPTH_DEFAULT;
    conf->signame = DEFAULT_SIGNAL_NAME;
    err = parse_signal(p, DEFAULT_SIGNAL_NAME, &conf->signo);
    ap_assert(err == NULL);
    conf->memory = DEFAULT_MEMORY;
    conf->sort = DEFAULT_SORT;
    conf->strip_dirs = 0;
    conf->limit = DEFAULT_LIMIT;
    conf->keep.recent = RP_KEEP_RECENT_DEFAULT;
    conf->keep.slowest = RP_KEEP_SLOWEST_DEFAULT;
    conf->keep.errors = RP_KEEP_ERRORS_DEFAULT;
    conf->keep_set = 1;
    conf->slow_after = 0;
    conf->interpreters = 1;
    return conf;
}

#define MERGE(field) \
    conf->field = (add->field != RP_UNSET) ? add->field : base->field

void *rp_config_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    const rp_server_conf_t *base = basev, *add = addv;
    rp_server_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    MERGE(enabled);
    MERGE(timer);
    MERGE(frequency);
    MERGE(max_depth);
    MERGE(signo);
    MERGE(memory);
    MERGE(strip_dirs);
    MERGE(limit);
    MERGE(interpreters);
    if (add->slow_after != RP_UNSET) {
        conf->slow_after = add->slow_after;
        conf->slow_file = add->slow_file;
    }
    else {
        conf->slow_after = base->slow_after;
        conf->slow_file = base->slow_file;
    }
    conf->signame = add->signame ? add->signame : base->signame;
    conf->sort = add->sort ? add->sort : base->sort;
    conf->filter = rp_filter_merge(p, base->filter, add->filter);
    conf->keep = add->keep_set ? add->keep : base->keep;
    conf->keep_set = add->keep_set || base->keep_set;
    conf->redact = !add->redact ? base->redact
                   : !base->redact
                       ? add->redact
                       : apr_array_append(p, base->redact, add->redact);
    return conf;
}

void *rp_config_create_dir(apr_pool_t *p, char *dir)
{
    rp_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    (void)dir;
    d->server_timing = RP_UNSET;
    return d;
}

void *rp_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const rp_dir_conf_t *base = basev, *add = addv;
    rp_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    d->server_timing = add->server_timing != RP_UNSET ? add->server_timing
                                                      : base->server_timing;
    return d;
}

int rp_config_server_timing(const request_rec *r)
{
    const rp_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                                  &reqprof_module);

    return d && d->server_timing == 1;
}

/* Always redacted: what carries credentials. */
static const char *const redact_always[] = { "Cookie", "Authorization",
                                             "Proxy-Authorization", NULL };

int rp_config_redacted(const rp_server_conf_t *conf, const char *name)
{
    int i;

    for (i = 0; redact_always[i]; i++) {
        if (strcasecmp(name, redact_always[i]) == 0) {
            return 1;
        }
    }
    for (i = 0; conf->redact && i < conf->redact->nelts; i++) {
        if (strcasecmp(name, APR_ARRAY_IDX(conf->redact, i, const char *))
            == 0) {
            return 1;
        }
    }
    return 0;
}

const rp_server_conf_t *rp_config_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &reqprof_module);
}
