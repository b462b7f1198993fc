/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_registry.c - the account registry in httpd: opened by the
 * parent at start (a directory on disk with the shm session store, keys
 * in Redis with a Redis store; see fa_registry.h), described to fedauthctl
 * in a root-only file, and asked once per sign-in. The authenticated
 * request path never reads it: a session carries the account name and
 * roles it was made with, and fedauthctl ends the sessions of an account
 * it disables or deletes. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "unixd.h"
#include "apr_strings.h"
#include "apr_file_io.h"

#include "mod_fedauth_registry.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_attempts.h"
#include "fa_registry.h"
#include "fa_oidc.h"

APLOG_USE_MODULE(fedauth);

#define CTL_CONF "fedauthctl.conf"

/* 1 when uid/gid may search (x) the directory st describes, by its mode
 * bits (supplementary groups and ACLs are not looked at). */
static int searchable(const struct stat *st, uid_t uid, gid_t gid)
{
    if (st->st_uid == uid) {
        return (st->st_mode & S_IXUSR) != 0;
    }
    if (st->st_gid == gid) {
        return (st->st_mode & S_IXGRP) != 0;
    }
    return (st->st_mode & S_IXOTH) != 0;
}

/* The workers reach the directory as httpd's User: each parent must be
 * searchable by it, or every sign-in gets 503. Said at start, with the
 * parent that stops it (a warning: groups and ACLs may still let it in). */
static void check_parents(server_rec *s, apr_pool_t *p, const char *dir)
{
    uid_t uid = ap_unixd_config.user_id;
    gid_t gid = ap_unixd_config.group_id;
    char *path = apr_pstrdup(p, dir), *slash = path;
    struct stat st;

    if (geteuid() != 0 || uid == 0 || path[0] != '/') {
        return;
    }
    while (slash) {
        slash = strchr(slash + 1, '/');
        if (slash) {
            *slash = '\0';
        }
        if (stat(path, &st) == 0
            && !searchable(&st, uid, gid)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FALOGNO(00830)
                         "FedAuthRegistryDir %s: httpd's User (uid %ld) "
                         "cannot search %s (mode %04o): every sign-in "
                         "will fail with 503 store_unavailable", dir,
                         (long)uid, path,
                         (unsigned)(st.st_mode & 07777));
            return;
        }
        if (slash) {
            *slash = '/';
        }
    }
}

/* The registry directory: made by the parent (root) and given to httpd's
 * User, so that the workers can write in it. */
static apr_status_t open_dir(apr_pool_t *pconf, server_rec *s,
                             const char *dir, fa_registry_t **preg)
{
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, APR_FROM_OS_ERROR(errno), s,
                     FALOGNO(00901) "FedAuthRegistryDir: cannot make %s "
                     "(its parent must exist)", dir);
        return APR_EGENERAL;
    }
    if (geteuid() == 0 && chown(dir, ap_unixd_config.user_id,
                                ap_unixd_config.group_id) != 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, APR_FROM_OS_ERROR(errno), s,
                     FALOGNO(00902) "FedAuthRegistryDir: cannot give %s to "
                     "httpd's User", dir);
        return APR_EGENERAL;
    }
    check_parents(s, pconf, dir);
    if (fa_registry_dir_open(pconf, dir, preg, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00903)
                     "FedAuthRegistryDir: %s", err.desc);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static const char *hex(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, n * 2 + 1);
    apr_size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

/* What fedauthctl needs, one "name value" a line (see docs/accounts.md,
 * "fedauthctl"): where the registry and the sessions are, the key that
 * names the session indexes, and the attempt log. Root only (0600): it
 * holds that key and any Redis password. Written to a temporary name and
 * renamed. */
static void write_ctl_conf(apr_pool_t *pconf, apr_pool_t *ptemp,
                           server_rec *s, const fedauth_srv_t *sc)
{
    /* one shm store for all servers, sized by the main server */
    const fedauth_srv_t *main_sc = ap_get_module_config(s->module_config,
                                                        &fedauth_module);
    const char *path = ap_runtime_dir_relative(ptemp, CTL_CONF), *tmp;
    const char *text;
    apr_file_t *f;
    apr_status_t rv;
    int i;
    static const char *const tls_names[FEDAUTH_REDIS_TLS_N] = {
        "redis_ca", "redis_cert", "redis_key", "redis_server_name" };

    text = apr_psprintf(ptemp, "# written by mod_fedauth at start: what "
                        "fedauthctl needs; root only\nversion 1\n"
                        "registry %s\nstore %s\nprefix %s\n"
                        "redis_timeout_ms %d\ncookie_key %s\nmax_age %d\n"
                        "idle_timeout %d\nmax_sessions %d\n",
                        sc->redis ? "redis" : apr_pstrcat(ptemp, "dir ",
                            fedauth_registry_dir(sc), NULL),
                        sc->redis ? sc->store_spec
                        : apr_psprintf(ptemp, "shm %s %lu",
                              ap_runtime_dir_relative(ptemp,
                                  "fedauth-sessions.shm"),
                              (unsigned long)fedauth_shm_size(main_sc)),
                        fedauth_redis_prefix(sc),
                        fedauth_redis_timeout_ms(sc),
                        hex(ptemp, sc->keys.cookie, sizeof(sc->keys.cookie)),
                        fedauth_max_age(sc), fedauth_idle_timeout(sc),
                        fedauth_sessions_per_user(sc));
    for (i = 0; sc->redis && i < FEDAUTH_REDIS_TLS_N; i++) {
        if (sc->redis_tls[i].value) {
            text = apr_pstrcat(ptemp, text, tls_names[i], " ",
                               sc->redis_tls[i].value, "\n", NULL);
        }
    }
    /* A rotation: the older secrets' cookie keys, to find the indexes
     * made under them. */
    for (i = 0; i < sc->n_older; i++) {
        text = apr_pstrcat(ptemp, text, i ? " " : "older_cookie_keys ",
                           hex(ptemp, sc->older_keys[i].cookie,
                               sizeof(sc->older_keys[i].cookie)),
                           i + 1 == sc->n_older ? "\n" : "", NULL);
    }
    text = apr_pstrcat(ptemp, text, "providers", NULL);
    for (i = 0; i < sc->providers->nelts; i++) {
        text = apr_pstrcat(ptemp, text, " ", APR_ARRAY_IDX(sc->providers, i,
                           fedauth_provider_t *)->idp.id, NULL);
    }
    text = apr_pstrcat(ptemp, text, "\n", NULL);
    if (sc->redis && fedauth_attempt_stream(sc) > 0) {
        text = apr_psprintf(ptemp, "%sattempt_stream %s %d\n", text,
                            FEDAUTH_STREAM_KEY, fedauth_attempt_stream(sc));
    }
    if (sc->attempt_log && sc->attempt_log[0] != '|') {
        text = apr_pstrcat(ptemp, text, "attempt_log ",
                           ap_server_root_relative(ptemp, sc->attempt_log),
                           "\n", NULL);
    }
    tmp = apr_pstrcat(ptemp, path, ".new", NULL);
    apr_file_remove(tmp, ptemp);
    rv = apr_file_open(&f, tmp, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                       | APR_FOPEN_EXCL | APR_FOPEN_TRUNCATE,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE, ptemp);
    if (rv == APR_SUCCESS) {
        rv = apr_file_write_full(f, text, strlen(text), NULL);
        apr_file_close(f);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmp, path, ptemp);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, FALOGNO(00904)
                     "cannot write %s: fedauthctl needs --conf", path);
    }
}

int fedauth_registry_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                 server_rec *s)
{
    fedauth_srv_t *sc, *described = NULL;
    server_rec *vs;
    apr_status_t rv;

    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        sc->reg = NULL;
        if (!fedauth_registry_on(sc)) {
            continue;
        }
        if (sc->redis) {
            rv = fa_registry_redis_open(pconf,
                                        fa_store_redis_client(sc->store),
                                        &sc->reg);
            if (rv != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, FALOGNO(00905)
                             "FedAuthRegistry On: the store %s cannot hold "
                             "the registry", fedauth_store_spec_loggable(
                                 ptemp, sc->store_spec));
                return !OK;
            }
        }
        else if (open_dir(pconf, s, fedauth_registry_dir(sc), &sc->reg)
                 != APR_SUCCESS) {
            return !OK;
        }
        if (!described) {
            described = sc;
            write_ctl_conf(pconf, ptemp, s, sc);
        }
    }
    return OK;
}

/* An account that was there when the sign-in looked and is gone now. */
static apr_status_t account_gone(fa_err_t *err, const char *name)
{
    return fa_err_set(err, "account_deleted", "account %s went during the "
                      "sign-in", name);
}

/* ValueMapSetOnce at a sign-in, applied to the account as stored now:
 * one that was disabled (or lost this provider) since the sign-in read it
 * is not written, and the sign-in is refused. */
typedef struct set_once_t {
    const char *idp;
    const apr_array_header_t *set_once;
    apr_array_header_t *attrs;
} set_once_t;

static int keep_set_once(apr_pool_t *p, fa_account_t *a, void *baton,
                         fa_err_t *err)
{
    set_once_t *so = baton;

    if (fa_registry_check(a, so->idp, err) != APR_SUCCESS) {
        return -1;
    }
    return fa_account_set_once(p, a, so->set_once, so->attrs);
}

apr_status_t fedauth_registry_signin(request_rec *r, fedauth_srv_t *sc,
                                     fa_session_t *s, fa_err_t *err)
{
    fedauth_provider_t *prov;
    fa_account_t *a;
    set_once_t so;
    apr_status_t rv;
    int created;

    if (!sc->reg) {
        return APR_SUCCESS;
    }
    rv = fa_registry_signin(sc->reg, r->pool, s->idp, s->sub, s->user,
                            fedauth_register_on(sc), &a, &created, err);
    if (a) {
        fedauth_attempt_user(r, s->idp, s->sub, a->name);
    }
    if (rv != APR_SUCCESS) {
        if (!strcmp(err->code, "store_unavailable")
            || !strcmp(err->code, "registry_damaged")) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00906)
                          "account registry: %s", err->desc);
        }
        return rv;
    }
    if (created) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, FALOGNO(00907)
                      "account %s registered for sub %s at %s",
                      fa_oidc_loggable(r->pool, a->name, 256),
                      fa_oidc_loggable(r->pool, s->sub, 256), s->idp);
    }
    s->user = a->name;
    s->roles = fa_account_merge_roles(r->pool, s->roles, a);
    /* ValueMapSetOnce: the account keeps the first value; writing the
     * account happens only when it gets one it did not have. */
    prov = fedauth_provider_find(sc, s->idp);
    if (!prov || !prov->claims.set_once
        || !fa_account_set_once(r->pool, a, prov->claims.set_once,
                                s->attrs)) {
        return APR_SUCCESS;
    }
    so.idp = s->idp;
    so.set_once = prov->claims.set_once;
    so.attrs = s->attrs;
    rv = fa_registry_account_update(sc->reg, r->pool, a->name, keep_set_once,
                                    &so, NULL, err);
    if (rv == APR_SUCCESS) {
        return rv;
    }
    if (rv == APR_NOTFOUND || fedauth_registry_status(err->code)) {
        if (rv == APR_NOTFOUND) {
            account_gone(err, a->name);
        }
        return APR_EGENERAL;      /* changed meanwhile: refused now */
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00908)
                  "account %s: cannot keep its ValueMapSetOnce values "
                  "(%s); they are kept at a later sign-in",
                  fa_oidc_loggable(r->pool, a->name, 256), err->desc);
    return APR_SUCCESS;
}

apr_status_t fedauth_registry_recheck(request_rec *r, fedauth_srv_t *sc,
                                      const fa_session_t *s, fa_err_t *err)
{
    fa_account_t *a;
    apr_status_t rv;

    if (!sc->reg) {
        return APR_SUCCESS;
    }
    rv = fa_registry_account_get(sc->reg, r->pool, s->user, &a, err);
    if (rv == APR_NOTFOUND) {
        return account_gone(err, s->user);
    }
    if (rv == APR_SUCCESS) {
        rv = fa_registry_check(a, s->idp, err);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00910)
                      "account %s changed during its sign-in: %s",
                      fa_oidc_loggable(r->pool, s->user, 256), err->desc);
    }
    return rv;
}

int fedauth_registry_status(const char *code)
{
    static const char *const forbidden[] = {
        "not_registered", "account_disabled", "account_deleted",
        "not_allowed_idp", "invalid_username", NULL };
    int i;

    for (i = 0; code && forbidden[i]; i++) {
        if (!strcmp(code, forbidden[i])) {
            return HTTP_FORBIDDEN;
        }
    }
    if (code && !strcmp(code, "registry_damaged")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return 0;
}

const char *fedauth_registry_text(const char *code)
{
    if (!code) {
        return NULL;
    }
    if (!strcmp(code, "not_registered")) {
        return "This account is not registered here. Please ask the "
               "site's administrator for access.";
    }
    if (!strcmp(code, "account_disabled")) {
        return "This account is disabled.";
    }
    if (!strcmp(code, "account_deleted")) {
        return "This account was deleted.";
    }
    if (!strcmp(code, "not_allowed_idp")) {
        return "This account may not sign in through this identity "
               "provider.";
    }
    if (!strcmp(code, "invalid_username")) {
        return "The user name from the identity provider cannot be an "
               "account name here.";
    }
    return NULL;
}
