/* mod_fedauth.c - httpd glue: hooks, the authentication check of
 * AuthType FedAuth, passing the user on to handlers and backends. The
 * protocol work lives in the core (fa_*.c); this file only adapts it. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_provider.h"
#include "mod_auth.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include "mod_fedauth.h"
#include "fa_http.h"
#include "fa_log.h"
#include "fa_cache.h"

#define AUTH_TYPE "FedAuth"
#define HEADER_MAX (8 * 1024)

static fa_http_t *http_client;
/* Sessions this process read from the store lately (FedAuthSessionLocalCache).
 * A copy counts only while the store's version of its key is the one read
 * before the copy was made: with Redis, the version follows Redis's
 * invalidation messages, so a copy saves a round trip per request and a
 * logout elsewhere still reaches every process within milliseconds; while
 * Redis cannot tell (version 0), a copy is good for a second only. The shm
 * store answers from shared memory as fast as a copy, so it gets none by
 * default. */
static fa_cache_t *session_cache;

#define DEFAULT_LOCAL_CACHE_MS 1000
#define SESSION_CACHE_ENTRIES 65536
#define SESSION_CACHE_BYTES (48 * 1024 * 1024)

/* How long a copy made now may serve: as configured; else the store's
 * own default while its version vouches for copies (a minute with Redis,
 * none with shm), a second while it cannot tell. */
static int local_cache_ms(const fedauth_srv_t *sc, const fa_store_t *st,
                          apr_uint32_t version)
{
    if (sc->local_cache_ms != FEDAUTH_UNSET) {
        return sc->local_cache_ms;
    }
    return version ? st->copy_ms : DEFAULT_LOCAL_CACHE_MS;
}

/* The cache key: the store (several stores may share a process) and the
 * session's store key. */
static apr_size_t cache_key(char *buf, apr_size_t size, const fa_store_t *st,
                            const char *key)
{
    return (apr_size_t)apr_snprintf(buf, size, "%pp|%s", (void *)st, key);
}

void fedauth_session_forget(request_rec *r, const char *key)
{
    char ck[FA_SESSION_KEY_LEN + 40];

    if (session_cache && key) {
        fa_cache_del(session_cache, ck,
                     cache_key(ck, sizeof(ck), fedauth_store(r), key));
    }
}

fa_http_t *fedauth_http(void)
{
    return http_client;
}

fa_store_t *fedauth_store(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);

    return sc->store;
}

/* ---- sessions on the request path ------------------------------------ */

apr_status_t fedauth_session_load(request_rec *r, fedauth_srv_t *sc,
                                  fa_session_t **ps, const char **pkey)
{
    fa_store_t *store = fedauth_store(r);
    char key[FA_SESSION_KEY_LEN + 1], *rec = NULL, *fresh;
    char ck[FA_SESSION_KEY_LEN + 40];
    apr_size_t cklen = 0;
    apr_uint32_t version = 0;
    int ttl_ms;
    const char *cookie = NULL;
    fa_session_t *s;
    fedauth_provider_t *prov;
    apr_size_t len, cookie_len = 0;
    apr_int64_t now, refresh_after;
    apr_status_t rv;
    int idle = fedauth_idle_timeout(sc), max_age = fedauth_max_age(sc);

    if (ps) {
        *ps = NULL;
    }
    if (!store) {
        return APR_NOTFOUND;
    }
    if (!fedauth_cookie_peek(r, fedauth_cookie_name(sc), &cookie,
                             &cookie_len) || !cookie_len) {
        return APR_NOTFOUND;
    }
    if (!fa_session_cookie_check(&sc->keys, cookie, cookie_len, key)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00301)
                      "session cookie has a bad MAC or form: ignored");
        return APR_NOTFOUND;
    }
    /* The version is read before the store: a change after it makes the
     * copy below miss from then on. */
    version = store->version ? store->version(store, key) : 0;
    ttl_ms = local_cache_ms(sc, store, version);
    if (ttl_ms > 0 && session_cache) {
        cklen = cache_key(ck, sizeof(ck), store, key);
        rec = fa_cache_get(session_cache, ck, cklen, apr_time_now(), version,
                           r->pool, &len);
        if (rec) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, FALOGNO(00316)
                          "session from this process's copy");
        }
    }
    if (!rec) {
        rv = store->get(store, key, r->pool, &rec, &len);
        if (rv != APR_SUCCESS) {
            if (rv != APR_NOTFOUND) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00302)
                              "session store %s unavailable", store->name);
            }
            return rv;
        }
        if (ttl_ms > 0 && session_cache) {
            fa_cache_put(session_cache, ck, cklen, rec, len,
                         apr_time_now() + apr_time_from_msec(ttl_ms),
                         version);
        }
    }
    if (fa_session_decode(r->pool, rec, len, &s) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00303)
                      "unreadable session record: ignored");
        return APR_NOTFOUND;
    }
    /* A session of a provider this server no longer has, or has switched
     * off, is no session here. */
    prov = fedauth_provider_find(sc, s->idp);
    if (!prov || !prov->enabled) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00313)
                      "session from provider %s, which is not enabled here",
                      s->idp);
        return APR_NOTFOUND;
    }
    now = fa_now_sec();
    if (now >= fa_session_expires_at(s, idle, max_age)) {
        store->del(store, key, r->pool);
        fedauth_session_forget(r, key);
        return APR_NOTFOUND;
    }
    /* The idle clock is reset on use, but written back only once a tenth
     * of the idle window has passed: no store write per request. */
    refresh_after = idle / 10 > 0 ? idle / 10 : 1;
    if (now - s->last_seen >= refresh_after) {
        s->last_seen = now;
        fa_session_encode(r->pool, s, &fresh, &len);
        store->put(store, key, fresh, len,
                   fa_session_expires_at(s, idle, max_age), r->pool);
        /* Without a version, the copy becomes the record just written.
         * With one, this write moved the version on, so the copy misses
         * and the next request reads the store (the version after the
         * write could already include a logout's delete, so it must not
         * be taken for the copy); its buffer is reused then. */
        if (cklen && !version) {
            fa_cache_put(session_cache, ck, cklen, fresh, len,
                         apr_time_now() + apr_time_from_msec(ttl_ms), 0);
        }
    }
    if (pkey) {
        *pkey = apr_pstrdup(r->pool, key);
    }
    if (ps) {
        *ps = s;
    }
    return APR_SUCCESS;
}

/* Where the values go. apr_table_setn compares a new key with every key
 * of the table that shares its first four letters, and all of ours share
 * them: so a table that holds none of our names yet (the usual case: the
 * client's were removed, nothing set them before) gets the cheaper
 * apr_table_addn, which is the same there because our names are distinct
 * (attribute names are unique and never one of the module's own). */
static int is_fedauth_header(const char *key);

typedef struct export_t {
    request_rec *r;
    int pass_as;
    void (*env_set)(apr_table_t *, const char *, const char *);
    void (*header_set)(apr_table_t *, const char *, const char *);
} export_t;

static int has_env_name(const apr_table_t *t)
{
    const apr_array_header_t *arr = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && !strncasecmp(e[i].key, "FEDAUTH_", 8)) {
            return 1;
        }
    }
    return 0;
}

static int has_header_name(const apr_table_t *t)
{
    const apr_array_header_t *arr = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && is_fedauth_header(e[i].key)) {
            return 1;
        }
    }
    return 0;
}

static void pass_on(const export_t *x, const char *env, const char *header,
                    const char *value)
{
    if (!value) {
        return;
    }
    if (x->pass_as & FEDAUTH_PASS_ENV) {
        x->env_set(x->r->subprocess_env, env, value);
    }
    if (x->pass_as & FEDAUTH_PASS_HEADERS) {
        x->header_set(x->r->headers_in, header,
                      fa_header_value(x->r->pool, value, HEADER_MAX));
    }
}

void fedauth_export_session(request_rec *r, const fedauth_dir_t *dc,
                            const fa_session_t *s)
{
    export_t x;
    int i;

    x.r = r;
    x.pass_as = dc->pass_as == FEDAUTH_UNSET
                ? FEDAUTH_PASS_ENV | FEDAUTH_PASS_HEADERS : dc->pass_as;
    x.env_set = (x.pass_as & FEDAUTH_PASS_ENV)
                && !has_env_name(r->subprocess_env)
                ? apr_table_addn : apr_table_setn;
    x.header_set = (x.pass_as & FEDAUTH_PASS_HEADERS)
                   && !has_header_name(r->headers_in)
                   ? apr_table_addn : apr_table_setn;
    r->user = (char *)s->user;
    pass_on(&x, "FEDAUTH_USER", "X-FedAuth-User", s->user);
    pass_on(&x, "FEDAUTH_SUB", "X-FedAuth-Sub", s->sub);
    pass_on(&x, "FEDAUTH_IDP", "X-FedAuth-IdP", s->idp);
    pass_on(&x, "FEDAUTH_ROLES", "X-FedAuth-Roles", s->roles);
    for (i = 0; s->attrs && i < s->attrs->nelts; i++) {
        const fa_attr_t *a = &APR_ARRAY_IDX(s->attrs, i, fa_attr_t);
        const char *env, *header;
        fa_attr_names(r->pool, a->name, &env, &header);
        pass_on(&x, env, header, a->value);
    }
}

/* ---- hooks ----------------------------------------------------------- */

/* X-FedAuth-, and the spellings with '_' that CGI and some backends take
 * for the same name (X_FedAuth_User becomes HTTP_X_FEDAUTH_USER). */
static int is_fedauth_header(const char *key)
{
    return (key[0] == 'X' || key[0] == 'x')
           && (key[1] == '-' || key[1] == '_')
           && !strncasecmp(key + 2, "FedAuth", 7)
           && (key[9] == '-' || key[9] == '_');
}

/* Whatever a client sends as X-FedAuth-* must never look like ours. */
static int fedauth_strip_headers(request_rec *r)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i, found = 0;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && is_fedauth_header(e[i].key)) {
            found = 1;
            break;
        }
    }
    if (found) {
        apr_table_t *clean = apr_table_make(r->pool, arr->nelts);
        for (i = 0; i < arr->nelts; i++) {
            if (e[i].key && !is_fedauth_header(e[i].key)) {
                apr_table_addn(clean, e[i].key, e[i].val);
            }
            else if (e[i].key) {
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00304)
                              "removed client header %.64s", e[i].key);
            }
        }
        r->headers_in = clean;
    }
    return DECLINED;
}

static int fedauth_quick_handler(request_rec *r, int lookup_uri)
{
    if (lookup_uri || r->main) {
        return DECLINED;
    }
    return fedauth_handle_endpoint(r);
}

/* A script's request (XHR, fetch for JSON) gets a 401 it can act on,
 * not a redirect to a sign-in page it cannot show. */
static int wants_no_redirect(request_rec *r)
{
    const char *xrw = apr_table_get(r->headers_in, "X-Requested-With");
    const char *accept = apr_table_get(r->headers_in, "Accept");

    return (xrw && !strcasecmp(xrw, "XMLHttpRequest"))
           || (accept && strstr(accept, "application/json")
               && !strstr(accept, "text/html"));
}

static int fedauth_check_authn(request_rec *r)
{
    fedauth_srv_t *sc;
    fedauth_dir_t *dc;
    fa_session_t *s;
    fedauth_provider_t *prov;
    const char *type = ap_auth_type(r);
    apr_status_t rv;

    if (!type || strcasecmp(type, AUTH_TYPE)) {
        return DECLINED;
    }
    sc = ap_get_module_config(r->server->module_config, &fedauth_module);
    dc = ap_get_module_config(r->per_dir_config, &fedauth_module);
    r->ap_auth_type = (char *)AUTH_TYPE;
    /* A subrequest (SSI, DirectoryIndex look-ups) of a request this module
     * authenticated keeps its user; one authenticated otherwise does not. */
    if (r->main && r->main->user && fedauth_request_session(r->main)) {
        r->user = r->main->user;
        return OK;
    }
    if (dc->bearer == 1) {
        const char *auth = apr_table_get(r->headers_in, "Authorization");
        if (auth && !strncasecmp(auth, "Bearer ", 7)) {
            return fedauth_bearer_check(r, sc, dc, auth + 7);
        }
    }
    rv = fedauth_session_load(r, sc, &s, NULL);
    if (rv == APR_SUCCESS) {
        /* A session counts only where its provider is offered (and
         * enabled); elsewhere the browser signs in again. */
        prov = fedauth_provider_find(sc, s->idp);
        if (prov && fedauth_provider_offered(dc, prov)) {
            fedauth_export_session(r, dc, s);
            fedauth_request_session_set(r, s);
            return OK;
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00312)
                      "session from provider %s not accepted here",
                      s->idp);
    }
    else if (rv != APR_NOTFOUND) {
        return fedauth_error(r, HTTP_SERVICE_UNAVAILABLE,
                             "store_unavailable", "The session store is "
                             "unavailable. Please try again in a moment.");
    }
    if (dc->unauth == FEDAUTH_UNAUTH_401 || r->method_number != M_GET
        || dc->unauth == FEDAUTH_UNAUTH_PASS
        || dc->bearer == 1
        || (dc->unauth == FEDAUTH_UNAUTH_AUTO && wants_no_redirect(r))) {
        /* Read away the body this request will not get to use, so that an
         * ErrorDocument handler does not read it as its own. */
        if (ap_discard_request_body(r) != OK) {
            r->connection->keepalive = AP_CONN_CLOSE;
        }
        apr_table_setn(r->err_headers_out, "WWW-Authenticate", dc->bearer == 1
            ? apr_psprintf(r->pool, "Bearer realm=\"%s\"",
                           ap_escape_quotes(r->pool,
                               r->server->server_hostname
                               ? r->server->server_hostname : "api"))
            : "FedAuth realm=\"sign-in required\"");
        return fedauth_error(r, HTTP_UNAUTHORIZED, "no_session",
                             "Sign-in is required.");
    }
    return fedauth_send_to_signin(r, sc, dc, r->unparsed_uri);
}

/* FedAuthUnauthenticated pass goes with a Require that lets anyone in,
 * where httpd never asks who the user is: a signed-in user is made known
 * here, before the handler runs; anyone else goes on anonymously. */
static void pass_session(request_rec *r)
{
    const char *type = ap_auth_type(r);
    fedauth_dir_t *dc;
    fedauth_srv_t *sc;
    fedauth_provider_t *prov;
    fa_session_t *s;

    if (r->user || !type || strcasecmp(type, AUTH_TYPE)) {
        return;
    }
    dc = ap_get_module_config(r->per_dir_config, &fedauth_module);
    if (dc->unauth != FEDAUTH_UNAUTH_PASS) {
        return;
    }
    sc = ap_get_module_config(r->server->module_config, &fedauth_module);
    if (fedauth_session_load(r, sc, &s, NULL) == APR_SUCCESS
        && (prov = fedauth_provider_find(sc, s->idp)) != NULL
        && fedauth_provider_offered(dc, prov)) {
        r->ap_auth_type = (char *)AUTH_TYPE;
        fedauth_export_session(r, dc, s);
        fedauth_request_session_set(r, s);
    }
}

/* An ErrorDocument runs in a new request: give it FEDAUTH_ERROR as such,
 * not only as REDIRECT_FEDAUTH_ERROR. */
static int fedauth_fixups(request_rec *r)
{
    const char *code;

    pass_session(r);

    if (r->prev && (code = apr_table_get(r->prev->notes, "fedauth-error"))) {
        apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR", code);
        apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR_DESCRIPTION",
                       apr_table_get(r->prev->notes,
                                     "fedauth-error-description"));
    }
    return DECLINED;
}

static void core_log(void *baton, fa_log_level_t level, const char *file,
                     int line, const char *msg)
{
    static const int levels[] = { APLOG_ERR, APLOG_WARNING, APLOG_INFO,
                                  APLOG_DEBUG };

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
    int need_shm = 0;

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
        if (sc->redis_prefix) {
            rc.prefix = sc->redis_prefix;
        }
        if (sc->redis_timeout_ms != FEDAUTH_UNSET) {
            rc.timeout_ms = sc->redis_timeout_ms;
        }
        /* Invalidation messages only matter to a server that keeps
         * copies. */
        rc.track = sc->local_cache_ms != 0;
        key = apr_psprintf(ptemp, "%s|%s|%d|%d", sc->store_spec, rc.prefix,
                           rc.timeout_ms, rc.track);
        st = apr_hash_get(made, key, APR_HASH_KEY_STRING);
        if (!st) {
            if (fa_store_redis_create(pconf, &rc, &st) != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00314)
                             "FedAuthSessionStore %s: cannot set up",
                             fedauth_store_spec_loggable(ptemp,
                                                         sc->store_spec));
                return !OK;
            }
            apr_hash_set(made, key, APR_HASH_KEY_STRING, st);
        }
        sc->store = st;
    }
    return OK;
}

static int fedauth_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    fedauth_srv_t *sc, *main_sc = ap_get_module_config(s->module_config,
                                                       &fedauth_module);
    fedauth_provider_t *prov;
    fa_keys_t random_keys;
    server_rec *vs;
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
    http_client = fa_http_curl_create(pconf);
    if (fedauth_make_stores(pconf, ptemp, s) != OK) {
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
        }
        else {
            sc->keys = random_keys;
        }
        sc->keys_ready = 1;
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
            }
        }
    }
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
    if (fa_cache_create(p, SESSION_CACHE_ENTRIES, SESSION_CACHE_BYTES,
                        &session_cache) != APR_SUCCESS) {
        session_cache = NULL;
    }
    if (fedauth_bearer_child_init(p) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FALOGNO(00315)
                     "cannot set up the bearer token cache; tokens are "
                     "verified on every request");
    }
}

static void fedauth_hooks(apr_pool_t *p)
{
    /* Before any other module reads the headers: drop forged X-FedAuth-*. */
    ap_hook_post_read_request(fedauth_strip_headers, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    /* Our endpoints answer before URL mapping and access control: they
     * do their own checks, and no Location block may shadow them. */
    ap_hook_quick_handler(fedauth_quick_handler, NULL, NULL,
                          APR_HOOK_FIRST);
    /* The session check of AuthType FedAuth. */
    ap_hook_check_authn(fedauth_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    /* Require fedauth-role, fedauth-claim, fedauth-idp. */
    fedauth_register_authz(p);
    /* Error documents see FEDAUTH_ERROR of the request that failed;
     * FedAuthUnauthenticated pass makes a signed-in user known. */
    ap_hook_fixups(fedauth_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    /* The session store, keys and providers, once per (re)start, in the
     * parent: the children inherit the store's mapping. */
    ap_hook_pre_config(fedauth_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(fedauth_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(fedauth_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* Each child makes its own caches (session copies, bearer tokens). */
    ap_hook_child_init(fedauth_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

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
