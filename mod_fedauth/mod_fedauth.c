/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth.c - the root of the httpd glue: the dispatch of the
 * module's own URLs to their endpoint files, what runs once per start
 * (stores, keys, providers) and per child, the module record, and last
 * the hook table. The protocol work lives in the core (fa_*.c); the glue
 * only adapts it to httpd, in layers that each use only those below:
 *
 *   mod_fedauth.c                    root: hooks, dispatch, start-up
 *   mod_fedauth_endpoint_callback.c  /signin-<id>
 *   mod_fedauth_endpoint_login.c     /fedauth/login, the chooser
 *   mod_fedauth_endpoint_logout.c    /fedauth/logout, back- and front-
 *                                    channel logout
 *   mod_fedauth_endpoint_api.c       /fedauth/session, /fedauth/authenticate
 *   mod_fedauth_request.c            the request path of a protected
 *                                    resource, top to bottom
 *   mod_fedauth_signin.c             starting a sign-in
 *   mod_fedauth_bearer.c             Authorization: Bearer
 *   mod_fedauth_session.c            sessions of requests
 *   mod_fedauth_helpers.c            cookies, error page, export
 *   mod_fedauth_status.c             /fedauth/status
 *   mod_fedauth_metrics.c            counters, /fedauth/metrics
 *   mod_fedauth_config.c             directives, configuration records
 *   mod_fedauth_store_shm.c          the embedded store in httpd
 *
 * Each file declares what it offers in its own header; mod_fedauth_types.h
 * holds only the shared types. build/check-glue-deps.sh prints the graph
 * and fails on a cycle or on a call its includes do not show. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "mod_fedauth_types.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_config_table.h"
#include "mod_fedauth_config_check.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_store_shm.h"
#include "mod_fedauth_session.h"
#include "mod_fedauth_host_copies.h"
#include "mod_fedauth_bearer.h"
#include "mod_fedauth_basic.h"
#include "mod_fedauth_request.h"
#include "mod_fedauth_endpoint_callback.h"
#include "mod_fedauth_endpoint_login.h"
#include "mod_fedauth_endpoint_logout.h"
#include "mod_fedauth_endpoint_api.h"
#include "mod_fedauth_attempts.h"
#include "mod_fedauth_metrics.h"
#include "mod_fedauth_status.h"
#include "mod_fedauth_registry.h"
#include "fa_http.h"
#include "fa_log.h"
#include "fa_clientkey.h"

/* ---- the module's own URLs ------------------------------------------- */

/* /signin-<id>, /signin-<id>/backchannel, /signin-<id>/frontchannel and
 * /fedauth/<name>, each to its endpoint file. Anything else is not ours,
 * and neither is any URL of a server that start-up gave no keys or store
 * (one without providers).
 * /fedauth/metrics is not answered here: it goes on through access
 * control to the handler (fedauth_metrics_handler), or, with
 * FedAuthMetrics Off, to the 404 of any unknown URL; so does
 * /fedauth/status (fedauth_status_handler, FedAuthStatus). /fedauth/jwks
 * (public keys only) is answered here, to anyone. */
static int dispatch_endpoint(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    const char *uri = r->uri;
    fedauth_provider_t *prov;
    apr_size_t plen;

    /* every endpoint's URL starts "/signin-" or "/fedauth/", unless
     * under FedAuthCookiePath: any other URL leaves at its second byte */
    if (uri[0] == '/' && uri[1] != 's' && uri[1] != 'f'
        && (!sc->cookie_path || !sc->cookie_path[0] || !sc->cookie_path[1])) {
        return DECLINED;
    }
    if (!sc->keys_ready || !fedauth_store(r)) {
        return DECLINED;
    }
    if (!strncmp(uri, "/signin-", 8)) {
        const char *slash = strchr(uri + 8, '/');
        if (slash && !strcmp(slash, "/backchannel")) {
            prov = fedauth_provider_find(sc, apr_pstrmemdup(r->pool, uri + 8,
                                         (apr_size_t)(slash - uri - 8)));
            return prov ? fedauth_handle_backchannel(r, sc, prov) : DECLINED;
        }
        if (slash && !strcmp(slash, "/frontchannel")) {
            prov = fedauth_provider_find(sc, apr_pstrmemdup(r->pool, uri + 8,
                                         (apr_size_t)(slash - uri - 8)));
            return prov ? fedauth_handle_frontchannel(r, sc, prov)
                        : DECLINED;
        }
        prov = fedauth_provider_find(sc, uri + 8);
        return prov ? fedauth_handle_callback(r, sc, prov) : DECLINED;
    }
    /* With FedAuthCookiePath /app, also under /app/fedauth/, where the
     * browser sends the session cookie (to sign out, for instance). */
    plen = sc->cookie_path ? strlen(sc->cookie_path) : 0;
    if (plen > 1 && !strncmp(uri, sc->cookie_path, plen)
        && !strncmp(uri + plen, "/fedauth/", 9)) {
        uri += plen;
    }
    if (strncmp(uri, "/fedauth/", 9)) {
        return DECLINED;
    }
    uri += 9;
    if (!strcmp(uri, "login")) {
        return fedauth_handle_login(r, sc);
    }
    if (!strcmp(uri, "logout")) {
        return fedauth_handle_logout(r, sc);
    }
    if (!strcmp(uri, "session")) {
        return fedauth_handle_session(r, sc);
    }
    if (!strcmp(uri, "authenticate")) {
        return fedauth_handle_authenticate(r, sc);
    }
    if (!strcmp(uri, "jwks")) {
        return fedauth_handle_jwks(r, sc);
    }
    return DECLINED;
}

/* The endpoints run as a quick handler, before httpd maps the URL, so no
 * other configuration can hide or protect them by accident; subrequests
 * and look-ups never reach them. */
static int fedauth_quick_handler(request_rec *r, int lookup_uri)
{
    if (lookup_uri || r->main) {
        return DECLINED;
    }
    return dispatch_endpoint(r);
}

/* ---- start-up -------------------------------------------------------- */

/* 1 when msg starts with a tag "FAnnnnn: " (FALOGNO in fa_log.h). */
static int core_tagged(const char *msg)
{
    int i;

    if (msg[0] != 'F' || msg[1] != 'A') {
        return 0;
    }
    for (i = 2; i < 7; i++) {
        if (msg[i] < '0' || msg[i] > '9') {
            return 0;
        }
    }
    return msg[7] == ':' && msg[8] == ' ';
}

/* The core's messages carry their own tags; one without (there should be
 * none) gets FA00306, so that every line of the module has one. */
static void core_log(void *baton, fa_log_level_t level, const char *file,
                     int line, const char *msg)
{
    static const int levels[] = { APLOG_ERR, APLOG_WARNING, APLOG_INFO,
                                  APLOG_DEBUG };

    if (core_tagged(msg)) {
        ap_log_error(file, line, APLOG_MODULE_INDEX, levels[level], 0,
                     (server_rec *)baton, "%s", msg);
        return;
    }
    ap_log_error(file, line, APLOG_MODULE_INDEX, levels[level], 0,
                 (server_rec *)baton, FALOGNO(00306) "%s", msg);
}

static int fedauth_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp)
{
    fedauth_config_reset(pconf);
    return OK;
}

/* Runs for `apachectl -t` too: what spans several directives. */
static int fedauth_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    const char *err = fedauth_config_check(ptemp, s);

    fedauth_check_require_expr(s);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     FALOGNO(00307) "%s", err);
        return !OK;
    }
    return OK;
}

/* One store per distinct FedAuthSessionStore: the embedded shm store when
 * any server uses it, one Redis store per Redis URL. */
static int fedauth_make_stores(apr_pool_t *pconf, apr_pool_t *ptemp,
                               server_rec *s)
{
    fedauth_srv_t *sc, *main_sc = ap_get_module_config(s->module_config,
                                                       &fedauth_module);
    apr_hash_t *made = apr_hash_make(ptemp);
    fa_redis_conf_t rc;
    fa_store_t *st;
    server_rec *vs;
    const char *key;
    int need_shm = 0, host_copies = 0;

    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        need_shm |= !sc->redis;
    }
    if (need_shm && fedauth_shm_post_config(pconf, ptemp, s,
                                            fedauth_shm_size(main_sc))
            != APR_SUCCESS) {
        return !OK;
    }
    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        if (!sc->redis) {
            sc->store = fedauth_shm_store();
            continue;
        }
        rc = *sc->redis;
        rc.prefix = fedauth_redis_prefix(sc);
        rc.timeout_ms = fedauth_redis_timeout_ms(sc);
        /* Invalidation messages only matter to a server that keeps
         * copies. */
        rc.track = sc->local_cache_ms != 0;
        /* FedAuthSessionHostCache: counters shared by the children */
        rc.host_copies = rc.track && main_sc->host_cache_size > 0;
        host_copies |= rc.host_copies;
        if (rc.tls) {
            rc.ca_file = sc->redis_tls[FEDAUTH_REDIS_CA].value;
            rc.cert_file = sc->redis_tls[FEDAUTH_REDIS_CERT].value;
            rc.key_file = sc->redis_tls[FEDAUTH_REDIS_KEY].value;
            rc.server_name = sc->redis_tls[FEDAUTH_REDIS_NAME].value;
        }
        key = apr_psprintf(ptemp, "%s|%s|%d|%d%d|%s|%s|%s|%s",
                           sc->store_spec, rc.prefix, rc.timeout_ms, rc.track,
                           rc.host_copies,
                           rc.ca_file ? rc.ca_file : "",
                           rc.cert_file ? rc.cert_file : "",
                           rc.key_file ? rc.key_file : "",
                           rc.server_name ? rc.server_name : "");
        st = apr_hash_get(made, key, APR_HASH_KEY_STRING);
        if (!st) {
            if (fa_store_redis_create(pconf, &rc, &st) != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00314)
                             "FedAuthSessionStore %s: cannot set up",
                             fedauth_store_spec_loggable(ptemp,
                                                         sc->store_spec));
                return !OK;
            }
            /* the children are forked from here: each starts knowing
             * every node of a Cluster, not only its seeds */
            fa_redis_cluster_prefetch(fa_store_redis_client(st));
            apr_hash_set(made, key, APR_HASH_KEY_STRING, st);
        }
        sc->store = st;
    }
    if (main_sc->host_cache_size && !host_copies) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FALOGNO(00321)
                     "FedAuthSessionHostCache has no effect here: no server "
                     "keeps its sessions in Redis with copies "
                     "(FedAuthSessionStore redis..., FedAuthSessionLocalCache "
                     "not 0)");
    }
    fedauth_session_host_cache(pconf, s, host_copies
                                         ? main_sc->host_cache_size : 0,
                               fedauth_host_cache_s(main_sc));
    return OK;
}

/* Days before a ClientCertFile's end from which start-up warns. */
#define CERT_WARN_DAYS 30

/* A warning, once per provider, when its ClientCertFile ends soon or has
 * ended: the IdP (Entra ID) then refuses the sign-ins. */
static void client_cert_warn(server_rec *s, apr_hash_t *warned,
                             const fedauth_provider_t *prov)
{
    const fa_client_key_t *k = prov->idp.client.client_key;
    apr_int64_t left;

    if (!k || !k->not_after || apr_hash_get(warned, &prov, sizeof(prov))) {
        return;
    }
    apr_hash_set(warned, apr_pmemdup(apr_hash_pool_get(warned), &prov,
                                     sizeof(prov)), sizeof(prov), "");
    left = k->not_after - fa_now_sec();
    if (left < (apr_int64_t)CERT_WARN_DAYS * 86400) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FALOGNO(01000)
                     "provider %s: the ClientCertFile %s %s%" APR_INT64_T_FMT
                     " days%s: renew it and register the new one at the "
                     "IdP", prov->idp.id, prov->client_cert,
                     left < 0 ? "ended " : "ends in ",
                     (left < 0 ? -left : left) / 86400,
                     left < 0 ? " ago" : "");
    }
}

/* The JWKS of /fedauth/jwks: every ClientKeyFile of the server's
 * providers, made once here so that the endpoint does no crypto. */
static void client_jwks(apr_pool_t *pconf, server_rec *s, apr_hash_t *warned,
                        fedauth_srv_t *sc)
{
    apr_array_header_t *all = apr_array_make(pconf, 4, sizeof(void *));
    fedauth_provider_t *prov;
    int i;

    for (i = 0; i < sc->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        if (prov->client_keys) {
            apr_array_cat(all, prov->client_keys);
            client_cert_warn(s, warned, prov);
        }
    }
    sc->client_jwks = all->nelts ? fa_client_keys_jwks(pconf, all) : NULL;
}

/* The keys of FedAuthSecret's older values (a rotation). */
static void older_keys(fedauth_srv_t *sc)
{
    const char *v;
    int i;

    sc->n_older = 0;
    for (i = 0; sc->older_secrets && i < sc->older_secrets->nelts
         && i < FEDAUTH_SECRETS_MAX - 1; i++) {
        v = APR_ARRAY_IDX(sc->older_secrets, i, const char *);
        fa_keys_derive(&sc->older_keys[i], v, strlen(v));
        sc->n_older++;
    }
}

static int fedauth_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    fedauth_srv_t *sc, *main_sc = ap_get_module_config(s->module_config,
                                                       &fedauth_module);
    fedauth_provider_t *prov;
    fa_keys_t random_keys;
    apr_hash_t *warned = apr_hash_make(ptemp);
    server_rec *vs;
    const char *err;
    int i, any = 0;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        any |= sc->providers->nelts > 0;
    }
    if (!any) {
        return OK;
    }
    fa_log_set(core_log, s, APLOG_IS_LEVEL(s, APLOG_DEBUG) ? FA_LOG_DEBUG
               : FA_LOG_INFO);
    if (fa_http_curl_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00308)
                     "cannot initialize libcurl");
        return !OK;
    }
    fedauth_http_set(fa_http_curl_create(pconf));
    fedauth_outgoing_proxy(pconf, s);
    if (fedauth_make_stores(pconf, ptemp, s) != OK
        || fedauth_attempts_open(pconf, s) != OK) {
        return !OK;
    }
    if (fa_keys_random(&random_keys) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00309)
                     "no random numbers for the session keys");
        return !OK;
    }
    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        if (sc->secret) {
            fa_keys_derive(&sc->keys, sc->secret, strlen(sc->secret));
            older_keys(sc);
        }
        else {
            sc->keys = random_keys;
        }
        if ((err = fedauth_cookies_prepare(pconf, sc,
                                           fedauth_cookie_name(sc)))) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(01251)
                         "%s", err);
            return !OK;
        }
        sc->keys_ready = 1;
        client_jwks(pconf, s, warned, sc);
        for (i = 0; i < sc->providers->nelts; i++) {
            prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
            if (!prov->rt) {
                prov->idp.client.timeout_sec = fedauth_http_timeout(sc);
                if (fa_idp_create(pconf, &prov->idp, &prov->rt)
                    != APR_SUCCESS) {
                    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                                 FALOGNO(00310) "cannot set up provider %s",
                                 prov->idp.id);
                    return !OK;
                }
                if (prov->userinfo_refresh > 0 && fedauth_token_login(sc)) {
                    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                                 FALOGNO(01210) "provider %s: sessions made "
                                 "by token login (FedAuthTokenLogin On) "
                                 "have no access token: UserInfoRefresh "
                                 "ends them after %d s", prov->idp.id,
                                 prov->userinfo_refresh);
                }
            }
        }
    }
    if (fedauth_registry_post_config(pconf, ptemp, s) != OK
        || fedauth_metrics_post_config(pconf, s) != APR_SUCCESS) {
        return !OK;
    }
    fedauth_status_post_config(s);
    if (main_sc->n_older) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, FALOGNO(01303)
                     "FedAuthSecret (%s) lists %d older value(s): their "
                     "cookies and login state are still accepted, and each "
                     "session made under one moves to the first at its "
                     "next request", main_sc->secret_origin,
                     main_sc->n_older);
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, FALOGNO(00111)
                 "mod_fedauth %s configured", fa_version_line(ptemp));
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, FALOGNO(00311)
                 "mod_fedauth ready; sessions in %s%s",
                 main_sc->redis ? fedauth_store_spec_loggable(ptemp,
                     main_sc->store_spec) : "the embedded shm store",
                 main_sc->secret ? "" : " with keys made at startup (no "
                 "FedAuthSecret: sessions end when httpd restarts)");
    return OK;
}

static void fedauth_child_init(apr_pool_t *p, server_rec *s)
{
    apr_hash_t *started = apr_hash_make(p);
    fedauth_srv_t *sc;
    server_rec *vs;

    /* Each store once (servers share them): Redis starts its invalidation
     * listener in this process. */
    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        if (sc->store && sc->store->child_init
            && !apr_hash_get(started, &sc->store, sizeof(sc->store))) {
            apr_hash_set(started, apr_pmemdup(p, &sc->store,
                                              sizeof(sc->store)),
                         sizeof(sc->store), "");
            if (sc->store->child_init(sc->store, p) != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FALOGNO(00317)
                             "session store %s: cannot start its thread; "
                             "copies of sessions last a second",
                             sc->store->name);
            }
        }
    }
    /* the host's copies: this child maps what is there already (after a
     * child of the same generation was replaced), off the request path */
    if (fedauth_host_cache() && fedauth_host_cache()->child_init) {
        fedauth_host_cache()->child_init(fedauth_host_cache(), p);
    }
    fedauth_session_child_init(p);
    fedauth_host_copies_child_init(p, s);
    if (fedauth_bearer_child_init(p) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FALOGNO(00315)
                     "cannot set up the bearer token cache; tokens are "
                     "verified on every request");
    }
    if (fedauth_basic_child_init(p) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FALOGNO(01458)
                     "cannot set up the app password cache; each request "
                     "with an app password runs the KDF");
    }
}

static void fedauth_hooks(apr_pool_t *p);

AP_DECLARE_MODULE(fedauth) = {
    STANDARD20_MODULE_STUFF,
    fedauth_create_dir,
    fedauth_merge_dir,
    fedauth_create_srv,
    fedauth_merge_srv,
    fedauth_cmds,
    fedauth_hooks,
    AP_MODULE_FLAG_NONE
};

/* ---- the hook table -------------------------------------------------- */

/* In the order a request meets them, then start-up. */
static void fedauth_hooks(apr_pool_t *p)
{
    /* post_read_request, REALLY_FIRST: the X-FedAuth-* headers a client
     * sends are dropped before any other module can read them or act on
     * them (mod_headers' early RequestHeader runs FIRST, mod_setenvif
     * later), so that whatever carries those names afterwards is ours or
     * the administrator's. */
    ap_hook_post_read_request(fedauth_strip_headers, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    /* quick_handler, FIRST: the endpoints answer before URL mapping and
     * access control, so no <Location> can shadow or protect them; they
     * do their own checks. FIRST like mod_cache's: either order is safe,
     * since every answer of ours says Cache-Control: no-store, but for
     * /fedauth/jwks, public keys that anyone may cache. */
    ap_hook_quick_handler(fedauth_quick_handler, NULL, NULL,
                          APR_HOOK_FIRST);
    /* check_access_ex, FIRST: a CORS preflight to a location of AuthType
     * FedAuth comes without cookies; it is answered (DONE) before
     * mod_authz_core (LAST) could ask for a user and so start a sign-in.
     * It declines everything else at its first test (the method). */
    ap_hook_check_access_ex(fedauth_preflight, NULL, NULL, APR_HOOK_FIRST,
                            AP_AUTH_INTERNAL_PER_CONF);
    /* check_authn, MIDDLE: the session (or bearer token) of AuthType
     * FedAuth. It declines any other AuthType, so its place among the
     * other authentication modules does not matter. PER_CONF: the answer
     * depends on the configuration only, so httpd may reuse it for a
     * subrequest or internal redirect with the same configuration. */
    ap_hook_check_authn(fedauth_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    /* Authorization providers (Require fedauth-role, fedauth-claim,
     * fedauth-idp): mod_authz_core calls them in the authorization phase,
     * after check_authn gave the request a user; PER_CONF as above. */
    fedauth_register_authz(p);
    /* check_authz, FIRST: around mod_authz_core's (LAST), which it runs
     * itself: a signed-in user refused by a Require fedauth-* line gets
     * 403 rather than the 401 that would send them to sign in again,
     * without touching AuthzSendForbiddenOnFailure, which stays the
     * administrator's for every other Require line. PER_CONF like the
     * providers it wraps. */
    ap_hook_check_authz(fedauth_check_authz, NULL, NULL, APR_HOOK_FIRST,
                        AP_AUTH_INTERNAL_PER_CONF);
    /* fixups, MIDDLE: after access control, just before the handler: an
     * ErrorDocument request sees the FEDAUTH_ERROR of the request that
     * failed, and FedAuthUnauthenticated pass makes a signed-in user
     * known. Before mod_headers' fixup (LAST), so that RequestHeader can
     * still change what is passed on. */
    ap_hook_fixups(fedauth_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    /* handler, REALLY_FIRST: /fedauth/metrics (FedAuthMetrics On), after
     * access control, so the Require of its <Location> applies; first, so
     * that no ProxyPass or other handler of the URL space answers it
     * instead. It declines every other URL. */
    ap_hook_handler(fedauth_metrics_handler, NULL, NULL,
                    APR_HOOK_REALLY_FIRST);
    /* handler, REALLY_FIRST: /fedauth/status (FedAuthStatus On), for the
     * same reasons; it too declines every other URL. */
    ap_hook_handler(fedauth_status_handler, NULL, NULL,
                    APR_HOOK_REALLY_FIRST);
    /* pre_config: before the directives are read (again, on a restart),
     * the lists the last reading collected are forgotten. */
    ap_hook_pre_config(fedauth_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* check_config: after reading, and for `apachectl -t` too: what only
     * several directives together can get wrong. */
    ap_hook_check_config(fedauth_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* post_config: the session stores, keys, providers and counters, once
     * per (re)start, in the parent, so the children inherit the shm
     * store's and the counters' mappings. Needs nothing of other modules'
     * post_config. */
    ap_hook_post_config(fedauth_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* child_init: each child makes its own caches (session copies, bearer
     * tokens) and starts the stores' threads (Redis invalidations):
     * threads do not survive the fork. */
    ap_hook_child_init(fedauth_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
