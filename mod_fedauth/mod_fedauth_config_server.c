/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_server.c - the handlers of the server-wide
 * directives (server config and virtual host): the session store and
 * Redis, the secret, the session's limits, the chooser, the registry, the
 * endpoints switched on, refresh, introspection, app passwords' limits
 * and the outgoing proxy. The cookie directives are in
 * mod_fedauth_config_cookies.c; the table that names them all is
 * mod_fedauth_config_table.c. Each handler calls a pure parser
 * (mod_fedauth_config_parse.c) and prefixes its error with the
 * directive's name; the value is stored unset-or-set, never defaulted
 * here (the defaults are mod_fedauth_config.h's). */
#include <string.h>
#include <stdlib.h>
#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include "http_core.h"
#include "apr_file_io.h"

#include "mod_fedauth_config_server.h"
#include "mod_fedauth_config_parse.h"
#include "fa_http.h"
#include "fa_redis_net.h"

/* A size in bytes, or with K, M or G after it, from 256K to 4G: 1 and
 * *size, else 0. */
static int shm_size_arg(const char *arg, apr_int64_t *size)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (*end == 'K' || *end == 'k') {
        v *= 1024;
        end++;
    }
    else if (*end == 'M' || *end == 'm') {
        v *= 1024 * 1024;
        end++;
    }
    else if (*end == 'G' || *end == 'g') {
        v *= 1024 * 1024 * 1024;
        end++;
    }
    if (*end || end == arg || v < 256 * 1024 || v > APR_INT64_C(4) << 30) {
        return 0;
    }
    *size = v;
    return 1;
}

const char *fedauth_set_store(cmd_parms *cmd, void *dummy, const char *arg)
{
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);
    apr_int64_t size;

    if (!strcmp(arg, "shm")) {
        sc->store_spec = "shm";
        sc->redis = NULL;
        return NULL;
    }
    if (!strncmp(arg, "shm:", 4)) {
        if (!shm_size_arg(arg + 4, &size)) {
            return fedauth_cmd_err(cmd, "expects shm or shm:<size> with a "
                                        "size from 256K to 4G");
        }
        sc->store_spec = "shm";
        sc->redis = NULL;
        sc->shm_size = (apr_size_t)size;
        return NULL;
    }
    if (!strncmp(arg, "redis://", 8) || !strncmp(arg, "rediss://", 9)
        || !strncmp(arg, "redis-sentinel://", 17)
        || !strncmp(arg, "rediss-sentinel://", 18)
        || !strncmp(arg, "redis-cluster://", 16)
        || !strncmp(arg, "rediss-cluster://", 17)) {
        fa_redis_conf_t *rc = apr_pcalloc(cmd->pool, sizeof(*rc));
        const char *err = fa_redis_parse(cmd->pool, arg, rc);
        if (err) {
            return fedauth_cmd_err(cmd, err);
        }
        sc->store_spec = arg;
        sc->redis = rc;
        sc->store_origin = apr_psprintf(cmd->pool, "%s:%d",
                                        cmd->directive->filename,
                                        cmd->directive->line_num);
        return NULL;
    }
    return fedauth_cmd_err(cmd, "expects shm, shm:<size>, redis://..., "
                                "rediss://..., redis-sentinel://..., "
                                "rediss-sentinel://..., "
                                "redis-cluster://... or rediss-cluster://...");
}

/* One value of FedAuthSecret: a passphrase or file:/path, read into *out. */
static const char *secret_value(cmd_parms *cmd, const char *arg,
                                const char **out)
{
    const char *err;

    if (!*arg) {
        return "has an empty value";
    }
    if (!strncmp(arg, "file:", 5)) {
        if ((err = fedauth_read_secret(cmd->pool, arg + 5, &arg)) != NULL) {
            return err;
        }
    }
    if (strlen(arg) < 16) {
        return "must be at least 16 characters long";
    }
    *out = arg;
    return NULL;
}

/* 1 when the line's arguments hold an empty word (""): httpd ends the
 * argument list there, so that FedAuthSecret "a" "" "c" would otherwise
 * quietly lose "c". */
static int has_empty_word(cmd_parms *cmd)
{
    const char *a = cmd->directive ? cmd->directive->args : NULL;
    int n;

    for (n = 0; a && *a && n <= FEDAUTH_SECRETS_MAX; n++) {
        if (!*ap_getword_conf(cmd->temp_pool, &a)) {
            return 1;
        }
    }
    return 0;
}

/* FedAuthSecret <first> [<older> ...]: the first makes every new cookie
 * and state, the others are still accepted (a rotation). One line per
 * server: a second would silently replace the first. */
const char *fedauth_set_secret(cmd_parms *cmd, void *dummy, int argc,
                               char *const argv[])
{
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);
    const char *err, *v, **older;
    int i, j;

    if (sc->secret) {
        return fedauth_cmd_err(cmd, apr_psprintf(cmd->pool,
                               "is already set at %s: list every secret on "
                               "one line, the one in use first",
                               sc->secret_origin));
    }
    if (has_empty_word(cmd)) {
        return fedauth_cmd_err(cmd, "has an empty value");
    }
    if (argc < 1 || argc > FEDAUTH_SECRETS_MAX) {
        return fedauth_cmd_err(cmd, apr_psprintf(cmd->pool,
                               "takes 1 to %d values", FEDAUTH_SECRETS_MAX));
    }
    sc->older_secrets = apr_array_make(cmd->pool, argc, sizeof(char *));
    for (i = 0; i < argc; i++) {
        if ((err = secret_value(cmd, argv[i], &v)) != NULL) {
            return fedauth_cmd_err(cmd, apr_psprintf(cmd->pool,
                                   "value %d %s", i + 1, err));
        }
        for (j = 0; j < i; j++) {
            if (!strcmp(v, j ? APR_ARRAY_IDX(sc->older_secrets, j - 1,
                                             const char *) : sc->secret)) {
                return fedauth_cmd_err(cmd, apr_psprintf(cmd->pool,
                                       "value %d is the same secret as "
                                       "value %d", i + 1, j + 1));
            }
        }
        if (i) {
            older = apr_array_push(sc->older_secrets);
            *older = v;
        }
        else {
            sc->secret = v;
        }
    }
    sc->secret_origin = apr_psprintf(cmd->pool, "%s:%d",
                                     cmd->directive->filename,
                                     cmd->directive->line_num);
    return NULL;
}

const char *fedauth_set_cookie_name(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    const char *c;

    if (!*arg || strlen(arg) > 64) {
        return fedauth_cmd_err(cmd, "expects a cookie name of 1 to 64 "
                                    "characters");
    }
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '-') {
            return fedauth_cmd_err(cmd, "expects a cookie name of A-Z a-z 0-9 "
                                        "_ -");
        }
    }
    fedauth_cmd_srv(cmd)->cookie_name = arg;
    return NULL;
}

const char *fedauth_set_srv_int(cmd_parms *cmd, void *dummy, const char *arg)
{
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);
    const char *err;
    const char *name = cmd->cmd->name;
    int v;

    if (!strcasecmp(name, "FedAuthHTTPTimeout")) {
        err = fedauth_parse_int(cmd->pool, arg, 1, 60, &v);
        sc->http_timeout = v;
    }
    else if (!strcasecmp(name, "FedAuthMaxSessionsPerUser")) {
        err = fedauth_parse_int(cmd->pool, arg, 1, FA_STORE_INDEX_MAX, &v);
        sc->sessions_per_user = v;
    }
    else if (!strcasecmp(name, "FedAuthSessionIdleTimeout")) {
        err = fedauth_parse_int(cmd->pool, arg, 10, 30 * 86400, &v);
        sc->idle_timeout = v;
    }
    else {
        err = fedauth_parse_int(cmd->pool, arg, 10, 365 * 86400, &v);
        sc->max_age = v;
    }
    return fedauth_cmd_err(cmd, err);
}

const char *fedauth_set_redirect_base(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    apr_uri_t uri;
    const char *err = fedauth_parse_url(cmd->pool, arg);

    if (err) {
        return fedauth_cmd_err(cmd, err);
    }
    apr_uri_parse(cmd->temp_pool, arg, &uri);
    if ((uri.path && strcmp(uri.path, "/") && *uri.path) || uri.query) {
        return fedauth_cmd_err(cmd, "expects scheme://host[:port] without a "
                                    "path");
    }
    fedauth_cmd_srv(cmd)->redirect_base = apr_pstrndup(cmd->pool, arg,
        strlen(arg) - (arg[strlen(arg) - 1] == '/' ? 1 : 0));
    return NULL;
}

const char *fedauth_set_default_role(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    if (!fedauth_valid_role(arg)) {
        return fedauth_cmd_err(cmd, "expects a role name");
    }
    fedauth_cmd_srv(cmd)->default_role = arg;
    return NULL;
}

const char *fedauth_set_remember(cmd_parms *cmd, void *dummy,
                                 const char *arg)
{
    int *v = &fedauth_cmd_srv(cmd)->remember_choice;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

const char *fedauth_set_chooser_template(cmd_parms *cmd, void *dummy,
                                         const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t fi;
    apr_file_t *f;
    apr_size_t n;
    char *buf;

    if (!path || apr_stat(&fi, path, APR_FINFO_SIZE, cmd->temp_pool)
        != APR_SUCCESS
        || apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT,
                         cmd->temp_pool) != APR_SUCCESS) {
        return fedauth_cmd_err(cmd, apr_psprintf(cmd->pool, "cannot read %s",
                                                 arg));
    }
    if (fi.size > 256 * 1024) {
        apr_file_close(f);
        return fedauth_cmd_err(cmd, "expects a template of at most 256 KiB");
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(cmd->pool, n + 1);
    if (apr_file_read_full(f, buf, n, &n) != APR_SUCCESS && n == 0) {
        apr_file_close(f);
        return fedauth_cmd_err(cmd, apr_psprintf(cmd->pool, "cannot read %s",
                                                 arg));
    }
    apr_file_close(f);
    buf[n] = '\0';
    if (!strstr(buf, "{{buttons}}")) {
        return fedauth_cmd_err(cmd, apr_psprintf(cmd->pool,
                               "%s has no {{buttons}} placeholder", arg));
    }
    fedauth_cmd_srv(cmd)->chooser_template = buf;
    return NULL;
}

const char *fedauth_set_attempt_log(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    if (!*arg || (arg[0] == '|' && !arg[1 + strspn(arg + 1, " \t")])) {
        return fedauth_cmd_err(cmd, "expects a file or |program");
    }
    fedauth_cmd_srv(cmd)->attempt_log = arg;
    return NULL;
}

const char *fedauth_set_attempt_stream(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    return fedauth_cmd_err(cmd, fedauth_parse_int(cmd->pool, arg, 0, 10000000,
                                 &fedauth_cmd_srv(cmd)->attempt_stream));
}

const char *fedauth_set_redis_prefix(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    const char *c;

    if (strlen(arg) > 64) {
        return fedauth_cmd_err(cmd, "expects at most 64 characters");
    }
    for (c = arg; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            return fedauth_cmd_err(cmd, "expects a prefix without spaces or "
                                        "control characters");
        }
    }
    fedauth_cmd_srv(cmd)->redis_prefix = arg;
    return NULL;
}

const char *fedauth_set_redis_timeout(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    char *end;
    double v = strtod(arg, &end);

    if (end == arg || *end || v < 0.05 || v > 30) {
        return fedauth_cmd_err(cmd, "expects seconds from 0.05 to 30 (e.g. 1 "
                                    "or 0.5)");
    }
    fedauth_cmd_srv(cmd)->redis_timeout_ms = (int)(v * 1000 + 0.5);
    return NULL;
}

/* FedAuthRedisCAFile, FedAuthRedisClientCert, FedAuthRedisClientKey (file
 * paths, relative to ServerRoot; read in check_config, so that `apachectl
 * -t` finds a bad one) and FedAuthRedisServerName; cmd->info is the
 * FEDAUTH_REDIS_* index. */
const char *fedauth_set_redis_tls(cmd_parms *cmd, void *dummy, const char *arg)
{
    int which = (int)(apr_uintptr_t)cmd->info;
    fedauth_setting_t *set = &fedauth_cmd_srv(cmd)->redis_tls[which];
    const char *c;

    if (which == FEDAUTH_REDIS_NAME) {
        if (!*arg || strlen(arg) > 253) {
            return fedauth_cmd_err(cmd, "expects a host name or IP address");
        }
        for (c = arg; *c; c++) {
            if (!apr_isalnum(*c) && !strchr(".-:_", *c)) {
                return fedauth_cmd_err(cmd,
                                       "expects a host name or IP address");
            }
        }
        set->value = arg;
    }
    else if (!(set->value = ap_server_root_relative(cmd->pool, arg))) {
        return fedauth_cmd_err(cmd, apr_psprintf(cmd->pool, "bad path %s",
                                                 arg));
    }
    set->origin = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                               cmd->directive->line_num);
    return NULL;
}

const char *fedauth_set_local_cache(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    char *end;
    double v = strtod(arg, &end);

    if (end == arg || *end || v < 0 || v > 60) {
        return fedauth_cmd_err(cmd, "expects seconds from 0 (off) to 60, e.g. "
                                    "1 or 0.5");
    }
    fedauth_cmd_srv(cmd)->local_cache_ms = (int)(v * 1000 + 0.5);
    return NULL;
}

/* FedAuthSessionHostCache size [seconds]: server-wide only, one per
 * host. */
const char *fedauth_set_host_cache(cmd_parms *cmd, void *dummy,
                                   const char *arg, const char *secs)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);
    apr_int64_t size = 0, s = FEDAUTH_UNSET;
    char *end;

    if (err) {
        return err;
    }
    if (strcmp(arg, "0") && strcasecmp(arg, "off")
        && !shm_size_arg(arg, &size)) {
        return fedauth_cmd_err(cmd, "expects 0 (off) or a size from 256K to "
                                    "4G, e.g. 512M, then seconds (1 to "
                                    "3600) if not 600");
    }
    if (secs) {
        s = apr_strtoi64(secs, &end, 10);
        if (*end || end == secs || s < 1 || s > 3600) {
            return fedauth_cmd_err(cmd, "expects a size, then seconds from 1 "
                                        "to 3600 (default 600)");
        }
    }
    sc->host_cache_size = (apr_size_t)size;
    sc->host_cache_s = (int)s;
    return NULL;
}

const char *fedauth_set_logout_at_idp(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    int *v = &fedauth_cmd_srv(cmd)->logout_at_idp;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

const char *fedauth_set_registry(cmd_parms *cmd, void *dummy,
                                 const char *arg)
{
    int *v = &fedauth_cmd_srv(cmd)->registry;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

const char *fedauth_set_register(cmd_parms *cmd, void *dummy,
                                 const char *arg)
{
    int *v = &fedauth_cmd_srv(cmd)->register_on;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

const char *fedauth_set_registry_dir(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!*arg || !path || strlen(path) > 200) {
        return fedauth_cmd_err(cmd, "expects a directory path (at most 200 "
                                    "bytes)");
    }
    fedauth_cmd_srv(cmd)->registry_dir = path;
    return NULL;
}

const char *fedauth_set_token_login(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    int *v = &fedauth_cmd_srv(cmd)->token_login;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

const char *fedauth_set_metrics(cmd_parms *cmd, void *dummy, const char *arg)
{
    int *v = &fedauth_cmd_srv(cmd)->metrics;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

/* FedAuthStatus On|Off: /fedauth/status (mod_fedauth_status.c). */
const char *fedauth_set_status(cmd_parms *cmd, void *dummy, const char *arg)
{
    int *v = &fedauth_cmd_srv(cmd)->status;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

/* An origin: scheme://host[:port], nothing else. */
const char *fedauth_set_allowed_origin(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);
    apr_uri_t uri;

    if (apr_uri_parse(cmd->temp_pool, arg, &uri) != APR_SUCCESS
        || !uri.scheme || !uri.hostname
        || (strcasecmp(uri.scheme, "https") && strcasecmp(uri.scheme, "http"))
        || (uri.path && *uri.path) || uri.query || uri.fragment
        || uri.user || arg[strlen(arg) - 1] == '/') {
        return fedauth_cmd_err(cmd, "expects an origin such as "
                                    "https://spa.example.com "
                                    "(scheme, host and port only)");
    }
    if (!sc->allowed_origins) {
        sc->allowed_origins = apr_array_make(cmd->pool, 2,
                                             sizeof(const char *));
    }
    APR_ARRAY_PUSH(sc->allowed_origins, const char *) = arg;
    return NULL;
}

const char *fedauth_set_refresh_before(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    int v = 0;
    const char *err = fedauth_parse_int(cmd->pool, arg, 1, 3600, &v);

    if (err) {
        return fedauth_cmd_err(cmd, err);
    }
    fedauth_cmd_srv(cmd)->refresh_before = v;
    return NULL;
}

const char *fedauth_set_refresh_failure(cmd_parms *cmd, void *dummy,
                                        const char *arg)
{
    if (!strcasecmp(arg, "end")) {
        fedauth_cmd_srv(cmd)->refresh_failure = FEDAUTH_REFRESH_END;
    }
    else if (!strcasecmp(arg, "pass")) {
        fedauth_cmd_srv(cmd)->refresh_failure = FEDAUTH_REFRESH_PASS;
    }
    else {
        return fedauth_cmd_err(cmd, "expects end or pass");
    }
    return NULL;
}

const char *fedauth_set_introspection_cache(cmd_parms *cmd, void *dummy,
                                            const char *arg)
{
    int v = 0;
    const char *err = fedauth_parse_int(cmd->pool, arg, 0, 86400, &v);

    if (err) {
        return fedauth_cmd_err(cmd, err);
    }
    fedauth_cmd_srv(cmd)->introspection_cache = v;
    return NULL;
}

/* App passwords: FedAuthBasicCache <s> and FedAuthBasicLimit <account>
 * <client> <s> (FedAuthBasic is per location). */
const char *fedauth_set_basic_cache(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    int v = 0;
    const char *err = fedauth_parse_int(cmd->pool, arg, 0, 3600, &v);

    if (err) {
        return fedauth_cmd_err(cmd, err);
    }
    fedauth_cmd_srv(cmd)->basic_cache = v;
    return NULL;
}

const char *fedauth_set_basic_limit(cmd_parms *cmd, void *dummy,
                                    const char *account, const char *client,
                                    const char *window)
{
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);
    const char *err = fedauth_parse_int(cmd->pool, account, 1, 1000,
                                &sc->basic_limit_account);

    if (err || (err = fedauth_parse_int(cmd->pool, client, 1, 1000,
                                &sc->basic_limit_client))) {
        return fedauth_cmd_err(cmd, apr_pstrcat(cmd->pool, "failures: ", err,
                                                NULL));
    }
    if ((err = fedauth_parse_int(cmd->pool, window, 1, 86400,
                         &sc->basic_limit_window))) {
        return fedauth_cmd_err(cmd, apr_pstrcat(cmd->pool, "seconds: ", err,
                                                NULL));
    }
    return NULL;
}

/* FedAuthOutgoingProxy and FedAuthOutgoingNoProxy: server-wide only,
 * like the one HTTP client they set. */
const char *fedauth_set_outgoing_proxy(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *masked;

    if (err) {
        return err;
    }
    if ((err = fa_http_proxy_check(cmd->temp_pool, arg, &masked)) != NULL) {
        /* httpd names the file and line; the URL is not repeated, it
         * may hold a password */
        return fedauth_cmd_err(cmd, err);
    }
    fedauth_cmd_srv(cmd)->outgoing_proxy = arg;
    return NULL;
}

const char *fedauth_set_outgoing_noproxy(cmd_parms *cmd, void *dummy,
                                         const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);
    const char *c;

    if (err) {
        return err;
    }
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && !strchr(".-:[]*_", *c)) {
            return apr_psprintf(cmd->pool, "%s expects host names, "
                                ".domains or addresses, not %s",
                                cmd->cmd->name, arg);
        }
    }
    if (!*arg || strlen(arg) > 255) {
        return apr_psprintf(cmd->pool, "%s expects host names of 1 to 255 "
                            "characters", cmd->cmd->name);
    }
    sc->outgoing_noproxy = sc->outgoing_noproxy
        ? apr_pstrcat(cmd->pool, sc->outgoing_noproxy, ",", arg, NULL)
        : apr_pstrdup(cmd->pool, arg);
    return NULL;
}

