/* mod_fedauth_endpoints.c - the module's own URLs: /signin-<id> (the
 * redirect URI), /fedauth/login, /fedauth/logout, /fedauth/session; the
 * error page; cookies. They run as a quick handler, before httpd maps the
 * URL, so no other configuration can hide or protect them by accident. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"
#include "apr_strings.h"
#include <jansson.h>

#include "mod_fedauth.h"
#include "fa_oidc.h"
#include "fa_log.h"

APLOG_USE_MODULE(fedauth);

#define MAX_QUERY_PARAMS 32
#define MAX_FORM_BODY (16 * 1024)
#define MAX_LOGOUT_BODY (64 * 1024)
#define MAX_HINT 256
#define REMEMBER_SUFFIX "_idp"
#define REMEMBER_MAX_AGE (90 * 86400)
#define MAX_STATE_COOKIES 5
#define STATE_COOKIE_INFIX "_state_"

/* ---- cookies --------------------------------------------------------- */

typedef struct cookie_find_t {
    const char *name;
    apr_size_t name_len;
    const char *value;
    apr_size_t len;
} cookie_find_t;

static int find_in_header(void *data, const char *key, const char *hdr)
{
    cookie_find_t *f = data;
    const char *c = hdr, *end;

    while (*c) {
        while (*c == ' ' || *c == ';' || *c == '\t') {
            c++;
        }
        if (!strncmp(c, f->name, f->name_len) && c[f->name_len] == '=') {
            c += f->name_len + 1;
            end = c + strcspn(c, ";");
            while (end > c && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }
            f->value = c;
            f->len = (apr_size_t)(end - c);
            return 0;
        }
        c += strcspn(c, ";");
    }
    return 1;
}

/* Finds a cookie without copying it: the value is not NUL-terminated. */
static int cookie_find(request_rec *r, const char *name, const char **val,
                       apr_size_t *len)
{
    cookie_find_t f;

    f.name = name;
    f.name_len = strlen(name);
    f.value = NULL;
    f.len = 0;
    apr_table_do(find_in_header, &f, r->headers_in, "Cookie", NULL);
    *val = f.value;
    *len = f.len;
    return f.value != NULL;
}

int fedauth_cookie_peek(request_rec *r, const char *name, const char **val,
                        apr_size_t *len)
{
    return cookie_find(r, name, val, len);
}

const char *fedauth_cookie_get(request_rec *r, const char *name)
{
    const char *v;
    apr_size_t len;

    return cookie_find(r, name, &v, &len) ? apr_pstrmemdup(r->pool, v, len)
                                          : NULL;
}

static int request_is_https(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);

    if (sc->redirect_base) {
        return !strncasecmp(sc->redirect_base, "https:", 6);
    }
    return !strcasecmp(ap_http_scheme(r), "https");
}

/* cross_site: the cookie must come along on a cross-site POST (form_post
 * callbacks): SameSite=None, which browsers take only with Secure, so on
 * http it stays Lax (IdP and site must then be same-site). */
static void cookie_set(request_rec *r, const char *name, const char *value,
                       int max_age, int cross_site)
{
    int https = request_is_https(r);
    const char *c = apr_pstrcat(r->pool, name, "=", value,
        "; Path=/; HttpOnly; SameSite=",
        cross_site && https ? "None" : "Lax",
        https ? "; Secure" : "",
        max_age >= 0 ? apr_psprintf(r->pool, "; Max-Age=%d", max_age) : "",
        NULL);

    apr_table_addn(r->err_headers_out, "Set-Cookie", c);
}

void fedauth_cookie_set(request_rec *r, const char *name, const char *value,
                        int max_age)
{
    cookie_set(r, name, value, max_age, 0);
}

static void no_store(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
}

/* ---- errors ---------------------------------------------------------- */

static int status_of(const char *code)
{
    static const char *const bad_gateway[] = {
        "idp_unreachable", "idp_bad_response", "invalid_discovery",
        "discovery_issuer_mismatch", "invalid_jwks", NULL };
    static const char *const bad_request[] = {
        "state_missing", "state_mismatch", "idp_mismatch", "code_missing",
        "invalid_request", NULL };
    int i;

    for (i = 0; bad_gateway[i]; i++) {
        if (!strcmp(code, bad_gateway[i])) {
            return HTTP_BAD_GATEWAY;
        }
    }
    for (i = 0; bad_request[i]; i++) {
        if (!strcmp(code, bad_request[i])) {
            return HTTP_BAD_REQUEST;
        }
    }
    if (!strcmp(code, "provider_disabled")) {
        return HTTP_FORBIDDEN;
    }
    if (!strcmp(code, "unknown_provider")) {
        return HTTP_NOT_FOUND;
    }
    if (!strcmp(code, "store_unavailable")) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!strcmp(code, "internal_error")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return HTTP_UNAUTHORIZED;
}

/* ASCII only: httpd sends error pages as iso-8859-1. */
static const char *ascii(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s ? s : ""), *c;

    for (c = out; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            *c = '?';
        }
    }
    return out;
}

static const char *error_title(int status)
{
    switch (status) {
    case HTTP_BAD_REQUEST: return "Sign-in could not be completed";
    case HTTP_UNAUTHORIZED: return "Sign-in failed";
    case HTTP_BAD_GATEWAY: return "The identity provider could not be reached";
    case HTTP_SERVICE_UNAVAILABLE: return "Sign-in is unavailable";
    default: return "Sign-in error";
    }
}

int fedauth_error(request_rec *r, int status, const char *code,
                  const char *description)
{
    int idx = ap_index_of_response(status);
    const char *desc = ascii(r->pool, description);

    apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR", code);
    apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR_DESCRIPTION", desc);
    apr_table_setn(r->notes, "fedauth-error", code);
    apr_table_setn(r->notes, "fedauth-error-description", desc);
    no_store(r);
    if (!ap_response_code_string(r, idx)) {
        ap_custom_response(r, status, apr_pstrcat(r->pool,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, "
            "initial-scale=1\"><title>", error_title(status),
            "</title></head>\n<body style=\"font-family:sans-serif;"
            "max-width:40em;margin:3em auto;padding:0 1em\">\n<h1>",
            error_title(status), "</h1>\n<p>",
            fa_html_escape(r->pool, desc), "</p>\n<p>Error code: <code>",
            fa_html_escape(r->pool, code), "</code></p>\n"
            "<p><a href=\"/\">Back to the start page</a></p>\n"
            "</body></html>\n", NULL));
    }
    return status;
}

static int fail(request_rec *r, const fedauth_provider_t *prov,
                const fa_err_t *err, const char *user_text)
{
    int status = status_of(err->code);

    ap_log_rerror(APLOG_MARK, status >= 500 ? APLOG_ERR : APLOG_WARNING, 0,
                  r, FALOGNO(00201) "sign-in through %s refused: %s: %s",
                  prov ? prov->idp.id : "-", err->code, err->desc);
    return fedauth_error(r, status, err->code, user_text ? user_text
                         : err->desc);
}

const char *fedauth_map_failure_text(const fa_err_t *err,
                                     const char *otherwise)
{
    if (err->code && !strcmp(err->code, "too_many_roles")) {
        return "The identity provider sent more roles than fit in a "
               "session.";
    }
    if (err->code && !strcmp(err->code, "session_too_large")) {
        return "The identity provider sent more than fits in a session.";
    }
    return otherwise;
}

/* ---- starting a login ------------------------------------------------ */

static const char *redirect_uri(request_rec *r, const fedauth_srv_t *sc,
                                const fedauth_provider_t *prov)
{
    const char *path = apr_pstrcat(r->pool, "/signin-", prov->idp.id, NULL);

    return sc->redirect_base
           ? apr_pstrcat(r->pool, sc->redirect_base, path, NULL)
           : ap_construct_url(r->pool, path, r);
}

typedef struct state_cookies_t {
    request_rec *r;
    const char *prefix;
    apr_size_t prefix_len;
    apr_array_header_t *names;
} state_cookies_t;

static int collect_state_cookies(void *data, const char *key,
                                 const char *hdr)
{
    state_cookies_t *sc = data;
    const char *c = hdr, *eq;

    while (*c) {
        while (*c == ' ' || *c == ';') {
            c++;
        }
        eq = c + strcspn(c, "=;");
        if (*eq == '=' && (apr_size_t)(eq - c) > sc->prefix_len
            && !strncmp(c, sc->prefix, sc->prefix_len)
            && sc->names->nelts < 64) {
            APR_ARRAY_PUSH(sc->names, const char *) =
                apr_pstrmemdup(sc->r->pool, c, (apr_size_t)(eq - c));
        }
        c += strcspn(c, ";");
    }
    return 1;
}

/* Browsers that start many logins and finish none would pile up state
 * cookies; past a few, the old ones are dropped. */
static void limit_state_cookies(request_rec *r, const char *prefix)
{
    state_cookies_t sc;
    int i;

    sc.r = r;
    sc.prefix = prefix;
    sc.prefix_len = strlen(prefix);
    sc.names = apr_array_make(r->pool, 8, sizeof(const char *));
    apr_table_do(collect_state_cookies, &sc, r->headers_in, "Cookie", NULL);
    if (sc.names->nelts >= MAX_STATE_COOKIES) {
        for (i = 0; i < sc.names->nelts; i++) {
            fedauth_cookie_set(r, APR_ARRAY_IDX(sc.names, i, const char *),
                               "", 0);
        }
    }
}

static const char *state_cookie_name(request_rec *r, const fedauth_srv_t *sc,
                                     const char *state)
{
    return apr_pstrcat(r->pool, fedauth_cookie_name(sc), STATE_COOKIE_INFIX,
                       apr_pstrndup(r->pool, state, 16), NULL);
}

/* The authorization request's optional parameters. */
static apr_table_t *auth_params(request_rec *r, const fedauth_provider_t *prov,
                                apr_table_t *hints)
{
    apr_table_t *extra = hints ? apr_table_copy(r->pool, hints)
                               : apr_table_make(r->pool, 4);

    if (prov->prompt) {
        apr_table_setn(extra, "prompt", prov->prompt);
    }
    if (prov->acr_values) {
        apr_table_setn(extra, "acr_values", prov->acr_values);
    }
    if (prov->response_mode == FEDAUTH_RESPONSE_FORM_POST) {
        apr_table_setn(extra, "response_mode", "form_post");
    }
    return extra;
}

/* A return_to that does not lead to a path on this site was refused:
 * says so, and where the user goes instead, so that a broken link is not
 * a silent "/". The value is cut and has no control characters; httpd
 * escapes the rest of the line (another escape here would double it). */
static void return_to_refused(request_rec *r, const char *return_to,
                              const char *instead)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00215)
                  "%s: return_to \"%s%s\" refused: not a path on this "
                  "site; the user goes to %s instead",
                  fa_oidc_loggable(r->pool, r->uri, 128),
                  fa_oidc_loggable(r->pool, return_to, 128),
                  strlen(return_to) > 128 ? "..." : "", instead);
}

/* return_to when it leads to a path on this site, else "/" (logged when
 * one was given). */
static const char *return_to_or_root(request_rec *r, const char *return_to)
{
    if (return_to && fa_return_to_ok(return_to)) {
        return return_to;
    }
    if (return_to) {
        return_to_refused(r, return_to, "/");
    }
    return "/";
}

int fedauth_start_login(request_rec *r, fedauth_provider_t *prov,
                        const char *return_to, apr_table_t *hints)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    fa_store_t *store = fedauth_store(r);
    fa_oidc_metadata_t *md;
    fa_login_t *login;
    fa_err_t err;
    char *state, *rec;
    const char *key, *url;
    apr_size_t len;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    return_to = return_to_or_root(r, return_to);
    if (fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md, &err)
        != APR_SUCCESS) {
        return fail(r, prov, &err, "The identity provider did not answer. "
                    "Please try again in a moment.");
    }
    if (fa_login_new(r->pool, prov->idp.id, return_to,
                     redirect_uri(r, sc, prov), &login, &state)
        != APR_SUCCESS) {
        fa_err_set(&err, "internal_error", "no random numbers");
        return fail(r, prov, &err, "Internal error.");
    }
    key = fa_login_key(r->pool, &sc->keys, state);
    fa_login_encode(r->pool, login, &rec, &len);
    rv = store->put(store, key, rec, len, login->created + FA_LOGIN_STATE_TTL,
                    r->pool);
    if (rv != APR_SUCCESS) {
        fa_err_set(&err, "store_unavailable", "cannot save the login state "
                   "in the %s store", store->name);
        return fail(r, prov, &err, "Sign-in is unavailable right now. "
                    "Please try again in a moment.");
    }
    limit_state_cookies(r, apr_pstrcat(r->pool, fedauth_cookie_name(sc),
                                       STATE_COOKIE_INFIX, NULL));
    cookie_set(r, state_cookie_name(r, sc, state), login->bind,
               FA_LOGIN_STATE_TTL,
               prov->response_mode == FEDAUTH_RESPONSE_FORM_POST);
    url = fa_oidc_auth_url(r->pool, md, &prov->idp.client,
                           login->redirect_uri, state, login->nonce,
                           fa_oidc_pkce_challenge(r->pool, login->verifier),
                           auth_params(r, prov, hints));
    no_store(r);
    apr_table_setn(r->headers_out, "Location", url);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00202)
                  "sending the browser to %s to sign in", prov->idp.id);
    return HTTP_MOVED_TEMPORARILY;
}

/* ---- the callback: /signin-<id> --------------------------------------- */

/* The store key of the set of sessions with the same sid (or sub) at a
 * provider: a MAC of the values, so no outside text becomes a key. */
static const char *index_key(request_rec *r, const fedauth_srv_t *sc,
                             const char *kind, const char *idp,
                             const char *value)
{
    return apr_pstrcat(r->pool, "i:", fa_keys_tag(r->pool, &sc->keys, kind,
                       apr_pstrcat(r->pool, idp, "\n", value, NULL)), NULL);
}

/* Adds a new session to the index of its user's sessions (and of its IdP
 * session); the index keeps FedAuthMaxSessionsPerUser of them, so a
 * sign-in beyond ends that user's oldest session, nobody else's. */
static void index_session(request_rec *r, const fedauth_srv_t *sc,
                          fa_store_t *store, const fa_session_t *s,
                          const char *key, apr_int64_t until)
{
    int max = fedauth_sessions_per_user(sc), i, ended = 0;
    apr_array_header_t *dropped;

    if (s->sid && store->index_add(store, index_key(r, sc, "sid", s->idp,
                                                    s->sid), key, until, max,
                                   r->pool, &dropped) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00207)
                      "cannot index the session by sid: a back-channel "
                      "logout will not find it");
    }
    else if (s->sid) {
        ended += dropped->nelts;
        for (i = 0; i < dropped->nelts; i++) {
            fedauth_session_forget(r, APR_ARRAY_IDX(dropped, i, const char *));
        }
    }
    if (store->index_add(store, index_key(r, sc, "sub", s->idp, s->sub), key,
                         until, max, r->pool, &dropped) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00208)
                      "cannot index the session by sub: a back-channel "
                      "logout will not find it");
        return;
    }
    ended += dropped->nelts;
    for (i = 0; i < dropped->nelts; i++) {
        fedauth_session_forget(r, APR_ARRAY_IDX(dropped, i, const char *));
    }
    if (ended) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00220)
                      "%s signed in through %s with more than %d sessions "
                      "(FedAuthMaxSessionsPerUser): the oldest %d ended",
                      fa_oidc_loggable(r->pool, s->user, 256), s->idp, max,
                      ended);
    }
}

/* Keeps the session within FA_SESSION_BUDGET (fa_claims_fit), with one
 * info line per item left out. */
static apr_status_t fit_session(request_rec *r, fa_session_t *s,
                                fa_err_t *err)
{
    apr_array_header_t *shed;
    const fa_shed_t *it;
    const char *user;
    apr_status_t rv;
    int i;

    if ((rv = fa_claims_fit(r->pool, s, FA_SESSION_BUDGET, &shed, err))
        != APR_SUCCESS) {
        return rv;
    }
    user = fa_oidc_loggable(r->pool, s->user, 256);
    for (i = 0; i < shed->nelts; i++) {
        it = &APR_ARRAY_IDX(shed, i, fa_shed_t);
        switch (it->kind) {
        case FA_SHED_ID_TOKEN:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00216)
                          "session of %s over %d bytes: ID token (%lu "
                          "bytes) not kept; logout at the IdP goes without "
                          "id_token_hint", user, FA_SESSION_BUDGET,
                          (unsigned long)it->size);
            break;
        case FA_SHED_CLAIM:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00217)
                          "session of %s over %d bytes: claim %s (%d "
                          "value(s), %lu bytes) not kept; Require "
                          "fedauth-claim on it refuses", user,
                          FA_SESSION_BUDGET,
                          fa_oidc_loggable(r->pool, it->name, 64),
                          it->values, (unsigned long)it->size);
            break;
        case FA_SHED_ATTR:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00218)
                          "session of %s over %d bytes: attribute %s (%lu "
                          "bytes) not kept; FEDAUTH_%s is not passed on",
                          user, FA_SESSION_BUDGET, it->name,
                          (unsigned long)it->size, it->name);
            break;
        }
    }
    return APR_SUCCESS;
}

apr_status_t fedauth_map_session(request_rec *r, fedauth_srv_t *sc,
                                 fedauth_provider_t *prov, fa_jwt_t *jwt,
                                 const char *id_token, fa_session_t *s,
                                 fa_err_t *err)
{
    fa_claims_conf_t cc = prov->claims;
    apr_status_t rv;

    memset(s, 0, sizeof(*s));
    cc.default_role = sc->default_role;
    cc.kept_claims = fedauth_kept_claims();
    if ((rv = fa_claims_map(r->pool, &cc, jwt->claims, s, err))
        != APR_SUCCESS) {
        return rv;
    }
    s->created = s->last_seen = fa_now_sec();
    s->token_exp = fa_jwt_claim_int(jwt, "exp");
    s->idp = prov->idp.id;
    s->sid = fa_jwt_claim_str(jwt, "sid");
    if (id_token && strlen(id_token) <= 8192) {
        s->id_token = id_token;
    }
    else if (id_token) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00219)
                      "user %s: ID token of %lu bytes not kept in the "
                      "session (more than 8192): logout at the IdP goes "
                      "without id_token_hint",
                      fa_oidc_loggable(r->pool, s->user, 256),
                      (unsigned long)strlen(id_token));
    }
    return fit_session(r, s, err);
}

apr_status_t fedauth_store_session(request_rec *r, fedauth_srv_t *sc,
                                   fa_session_t *s, fa_err_t *err)
{
    fa_store_t *store = fedauth_store(r);
    char *cookie, *key, *rec;
    const char *old;
    apr_size_t len;
    apr_status_t rv;

    fa_session_encode(r->pool, s, &rec, &len);
    if (len > FA_STORE_MAX_VALUE) {
        return fa_err_set(err, "internal_error", "the session would be %lu "
                          "bytes, more than the store takes",
                          (unsigned long)len);
    }
    if (fa_session_new_id(r->pool, &sc->keys, &cookie, &key)
        != APR_SUCCESS) {
        return fa_err_set(err, "internal_error", "no random numbers");
    }
    rv = store->put(store, key, rec, len,
                    fa_session_expires_at(s, fedauth_idle_timeout(sc),
                                          fedauth_max_age(sc)), r->pool);
    if (rv != APR_SUCCESS) {
        return fa_err_set(err, "store_unavailable", "cannot save the "
                          "session in the %s store", store->name);
    }
    index_session(r, sc, store, s, key, s->created + fedauth_max_age(sc));
    /* A sign-in always gets a new id; an older session of this browser
     * ends (no session fixation). */
    old = NULL;
    if (fedauth_session_load(r, sc, NULL, &old) == APR_SUCCESS && old) {
        store->del(store, old, r->pool);
        fedauth_session_forget(r, old);
    }
    fedauth_cookie_set(r, fedauth_cookie_name(sc), cookie, -1);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00203)
                  "signed in %s (sub %s) through %s",
                  fa_oidc_loggable(r->pool, s->user, 256),
                  fa_oidc_loggable(r->pool, s->sub, 256), s->idp);
    return APR_SUCCESS;
}

static apr_status_t new_session(request_rec *r, fedauth_srv_t *sc,
                                fedauth_provider_t *prov, fa_jwt_t *jwt,
                                const char *id_token, fa_err_t *err)
{
    fa_session_t s;
    apr_status_t rv;

    if ((rv = fedauth_map_session(r, sc, prov, jwt, id_token, &s, err))
        != APR_SUCCESS) {
        return rv;
    }
    return fedauth_store_session(r, sc, &s, err);
}

fedauth_provider_t *fedauth_provider_by_issuer(const fedauth_srv_t *sc,
                                               const fedauth_dir_t *dc,
                                               const fa_jwt_t *jwt)
{
    const char *iss = fa_jwt_claim_str(jwt, "iss");
    const char *tid = fa_jwt_claim_str(jwt, "tid");
    fedauth_provider_t *prov;
    int i;

    for (i = 0; iss && i < sc->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        if (fedauth_provider_offered(dc, prov)
            && fa_idp_issuer_ok(&prov->idp, iss, tid, 0)) {
            return prov;
        }
    }
    return NULL;
}

/* 1 when the request's Origin is this site itself. */
static int same_origin(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *self = sc->redirect_base ? sc->redirect_base
                                         : ap_construct_url(r->pool, "", r);
    apr_size_t len = strlen(self);

    while (len > 0 && self[len - 1] == '/') {
        len--;
    }
    return origin && strlen(origin) == len && !strncmp(origin, self, len);
}

int fedauth_cors(request_rec *r, const fedauth_srv_t *sc)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    int i;

    apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    if (!origin) {
        return -1;
    }
    for (i = 0; sc->allowed_origins && i < sc->allowed_origins->nelts; i++) {
        if (!strcmp(origin, APR_ARRAY_IDX(sc->allowed_origins, i,
                                          const char *))) {
            apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin",
                           origin);
            apr_table_setn(r->err_headers_out,
                           "Access-Control-Allow-Credentials", "true");
            return 1;
        }
    }
    return 0;
}

/* UserInfo On, or unset and the IdP offers the endpoint; and there is an
 * access token to ask with. */
static int use_userinfo(const fedauth_provider_t *prov,
                        const fa_oidc_metadata_t *md,
                        const fa_oidc_tokens_t *tok)
{
    return prov->userinfo != 0 && md->userinfo_endpoint
           && tok->access_token;
}

/* Reads an application/x-www-form-urlencoded body of at most max bytes. */
static apr_status_t read_form_body(request_rec *r, apr_size_t max,
                                   const char **out, apr_size_t *outlen)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    char *buf, extra;
    apr_size_t len = 0;
    long n;

    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33)
        || ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        return APR_EINVAL;
    }
    buf = apr_palloc(r->pool, max + 1);
    if (ap_should_client_block(r)) {
        while (len < max
               && (n = ap_get_client_block(r, buf + len, max - len)) > 0) {
            len += (apr_size_t)n;
        }
        if (len == max && ap_get_client_block(r, &extra, 1) > 0) {
            return APR_ENOSPC;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return APR_SUCCESS;
}

/* The authorization response: the query for ResponseMode query (GET),
 * the body for form_post (POST); any other combination is refused. */
static apr_status_t callback_params(request_rec *r,
                                    const fedauth_provider_t *prov,
                                    const char **params, apr_size_t *len)
{
    if (prov->response_mode == FEDAUTH_RESPONSE_FORM_POST) {
        if (r->method_number != M_POST) {
            return APR_EINVAL;
        }
        return read_form_body(r, MAX_FORM_BODY, params, len);
    }
    if (r->method_number != M_GET) {
        return APR_EINVAL;
    }
    *params = r->args ? r->args : "";
    *len = strlen(*params);
    return APR_SUCCESS;
}

static int handle_callback(request_rec *r, fedauth_srv_t *sc,
                           fedauth_provider_t *prov)
{
    fa_store_t *store = fedauth_store(r);
    apr_table_t *q;
    fa_login_t *login;
    fa_oidc_metadata_t *md;
    fa_oidc_tokens_t *tok;
    fa_jwt_t *jwt;
    json_t *info;
    fa_err_t err;
    const char *state, *key, *bind, *cname, *iss, *code, *e, *params;
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    no_store(r);
    if (!prov->enabled) {
        fa_err_set(&err, "provider_disabled", "provider %s is switched off "
                   "(Enabled Off)", prov->idp.id);
        return fail(r, prov, &err, "Sign-in through this identity provider "
                    "is switched off.");
    }
    if (callback_params(r, prov, &params, &len) != APR_SUCCESS) {
        fa_err_set(&err, "invalid_request", "the callback of a %s provider "
                   "got %s%s", prov->response_mode == FEDAUTH_RESPONSE_QUERY
                   ? "query" : "form_post", ascii(r->pool, r->method),
                   r->method_number == M_POST ? " with an unusable body"
                   : "");
        return fail(r, prov, &err, "This address only takes the answer of "
                    "the identity provider.");
    }
    if (fa_form_parse(r->pool, params, len, MAX_QUERY_PARAMS, &q)
        != APR_SUCCESS) {
        fa_err_set(&err, "invalid_request", "malformed or repeated query "
                   "parameters");
        return fail(r, prov, &err, "The answer of the identity provider "
                    "was malformed.");
    }
    state = apr_table_get(q, "state");
    if (!state) {
        fa_err_set(&err, "state_missing", "no state parameter");
        return fail(r, prov, &err, "The answer of the identity provider "
                    "has no state. Please start again.");
    }
    key = fa_login_key(r->pool, &sc->keys, state);
    cname = key ? state_cookie_name(r, sc, state) : NULL;
    bind = cname ? fedauth_cookie_get(r, cname) : NULL;
    if (!key || !bind) {
        fa_err_set(&err, "state_mismatch", key ? "no state cookie: the "
                   "login was started in another browser, or too long ago"
                   : "malformed state parameter");
        return fail(r, prov, &err, "This sign-in was not started here, or "
                    "it took too long. Please start again.");
    }
    fedauth_cookie_set(r, cname, "", 0);
    rv = store->take(store, key, r->pool, &rec, &len);
    if (rv == APR_NOTFOUND) {
        fa_err_set(&err, "state_mismatch", "unknown, used or expired state");
        return fail(r, prov, &err, "This sign-in was already used or has "
                    "expired. Please start again.");
    }
    if (rv != APR_SUCCESS) {
        fa_err_set(&err, "store_unavailable", "cannot read the login state "
                   "from the %s store", store->name);
        return fail(r, prov, &err, "Sign-in is unavailable right now.");
    }
    if (fa_login_decode(r->pool, rec, len, &login) != APR_SUCCESS) {
        fa_err_set(&err, "state_mismatch", "unreadable login state");
        return fail(r, prov, &err, "Please start again.");
    }
    if (!fa_ct_streq(bind, login->bind)) {
        fa_err_set(&err, "state_mismatch", "the state cookie belongs to "
                   "another login");
        return fail(r, prov, &err, "This sign-in was not started in this "
                    "browser. Please start again.");
    }
    if (strcmp(login->idp, prov->idp.id)) {
        fa_err_set(&err, "idp_mismatch", "state was made for provider %s",
                   login->idp);
        return fail(r, prov, &err, "The answer came from another identity "
                    "provider than the one chosen. Please start again.");
    }
    if (fa_now_sec() - login->created > FA_LOGIN_STATE_TTL) {
        fa_err_set(&err, "state_mismatch", "login state expired");
        return fail(r, prov, &err, "The sign-in took too long. Please start "
                    "again.");
    }
    if ((e = apr_table_get(q, "error")) != NULL) {
        const char *d = apr_table_get(q, "error_description");
        fa_err_set(&err, "idp_error", "the provider answered error=%s (%s)",
                   fa_oidc_loggable(r->pool, e, 64),
                   fa_oidc_loggable(r->pool, d, 160));
        return fail(r, prov, &err, apr_psprintf(r->pool, "The identity "
                    "provider refused the sign-in: %s%s%s",
                    fa_oidc_loggable(r->pool, e, 64), d ? ": " : "",
                    d ? fa_oidc_loggable(r->pool, d, 300) : ""));
    }
    if (fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md, &err)
        != APR_SUCCESS) {
        return fail(r, prov, &err, "The identity provider did not answer.");
    }
    iss = apr_table_get(q, "iss");
    if ((iss && !fa_idp_issuer_ok(&prov->idp, iss, NULL, 1))
        || (!iss && md->iss_parameter_supported)) {
        fa_err_set(&err, "wrong_iss", "the iss parameter is %s, expected %s",
                   fa_oidc_loggable(r->pool, iss, 200), prov->idp.issuer);
        return fail(r, prov, &err, "The answer did not come from the "
                    "expected identity provider.");
    }
    if (!(code = apr_table_get(q, "code")) || !*code) {
        fa_err_set(&err, "code_missing", "no code parameter");
        return fail(r, prov, &err, "The answer of the identity provider "
                    "has no authorization code.");
    }
    if (fa_oidc_token_request(r->pool, fedauth_http(), md, &prov->idp.client,
                              login->redirect_uri, code, login->verifier,
                              &tok, &err) != APR_SUCCESS) {
        return fail(r, prov, &err, !strcmp(err.code, "token_error")
                    ? "The identity provider did not accept the sign-in."
                    : "The identity provider did not answer properly.");
    }
    if (fa_idp_verify_id_token(prov->rt, fedauth_http(), r->pool,
                               tok->id_token, login->nonce, fa_now_sec(),
                               &jwt, &err) != APR_SUCCESS) {
        return fail(r, prov, &err, "The identity token from the identity "
                    "provider did not pass the checks.");
    }
    if (use_userinfo(prov, md, tok)
        && (fa_oidc_userinfo(r->pool, fedauth_http(), md, tok->access_token,
                             fedauth_http_timeout(sc), &info, &err)
            != APR_SUCCESS
            || fa_claims_merge_userinfo(jwt->claims, info, &err)
               != APR_SUCCESS)) {
        return fail(r, prov, &err, !strcmp(err.code, "userinfo_sub_mismatch")
                    ? "The identity provider's user information is about "
                      "another user." : "The identity provider did not "
                      "answer properly.");
    }
    if (new_session(r, sc, prov, jwt, tok->id_token, &err) != APR_SUCCESS) {
        return fail(r, prov, &err, fedauth_map_failure_text(&err,
                    "The session could not be created."));
    }
    apr_table_setn(r->headers_out, "Location",
                   ap_construct_url(r->pool,
                                    return_to_or_root(r, login->return_to),
                                    r));
    return HTTP_MOVED_TEMPORARILY;
}

/* ---- /signin-<id>/backchannel ------------------------------------------ */

static int backchannel_answer(request_rec *r, int status, const char *error,
                              const char *desc)
{
    r->status = status;
    ap_set_content_type(r, "application/json");
    no_store(r);
    if (error) {
        json_t *doc = json_pack("{s:s, s:s}", "error", error,
                                "error_description", desc);
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        if (text) {
            ap_rputs(text, r);
            free(text);
        }
        json_decref(doc);
    }
    return OK;
}

/* OpenID Connect Back-Channel Logout 1.0: the IdP POSTs a logout_token;
 * every session of its sid (or, without sid, of its sub) at this provider
 * ends, on every host that shares the store. */
static int handle_backchannel(request_rec *r, fedauth_srv_t *sc,
                              fedauth_provider_t *prov)
{
    fa_store_t *store = fedauth_store(r);
    apr_array_header_t *keys;
    apr_table_t *form;
    fa_jwt_t *jwt;
    fa_err_t err;
    const char *body, *token, *sid, *sub, *jti, *ikey, *jkey;
    char *seen;
    apr_size_t len;
    int i, ended = 0;

    memset(&err, 0, sizeof(err));
    if (r->method_number != M_POST || !prov->enabled
        || read_form_body(r, MAX_LOGOUT_BODY, &body, &len) != APR_SUCCESS
        || fa_form_parse(r->pool, body, len, MAX_QUERY_PARAMS, &form)
           != APR_SUCCESS
        || !(token = apr_table_get(form, "logout_token"))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00209)
                      "back-channel logout for %s refused: not a POST of a "
                      "logout_token to an enabled provider", prov->idp.id);
        return backchannel_answer(r, HTTP_BAD_REQUEST, "invalid_request",
                                  "expected a POST with a logout_token");
    }
    if (fa_idp_verify_logout_token(prov->rt, fedauth_http(), r->pool, token,
                                   fa_now_sec(), &jwt, &err)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00210)
                      "back-channel logout for %s refused: %s: %s",
                      prov->idp.id, err.code, err.desc);
        return backchannel_answer(r, HTTP_BAD_REQUEST, "invalid_request",
                                  err.code);
    }
    /* A logout token is used once: its jti is remembered until it
     * expires. */
    if ((jti = fa_jwt_claim_str(jwt, "jti")) != NULL) {
        jkey = index_key(r, sc, "jti", prov->idp.id, jti);
        if (store->get(store, jkey, r->pool, &seen, &len) == APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00211)
                          "back-channel logout for %s refused: the logout "
                          "token was used before", prov->idp.id);
            return backchannel_answer(r, HTTP_BAD_REQUEST, "invalid_request",
                                      "replayed logout token");
        }
        store->put(store, jkey, "1", 1, fa_jwt_claim_int(jwt, "exp") + 60,
                   r->pool);
    }
    sid = fa_jwt_claim_str(jwt, "sid");
    sub = fa_jwt_claim_str(jwt, "sub");
    ikey = sid ? index_key(r, sc, "sid", prov->idp.id, sid)
               : index_key(r, sc, "sub", prov->idp.id, sub);
    if (store->index_take(store, ikey, r->pool, &keys) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00212)
                      "back-channel logout for %s failed: the %s store is "
                      "unavailable", prov->idp.id, store->name);
        return backchannel_answer(r, HTTP_SERVICE_UNAVAILABLE,
                                  "temporarily_unavailable",
                                  "the session store is unavailable");
    }
    for (i = 0; i < keys->nelts; i++) {
        if (store->del(store, APR_ARRAY_IDX(keys, i, const char *), r->pool)
            == APR_SUCCESS) {
            ended++;
        }
        fedauth_session_forget(r, APR_ARRAY_IDX(keys, i, const char *));
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00213)
                  "back-channel logout from %s ended %d session(s) of %s %s",
                  prov->idp.id, ended, sid ? "sid" : "sub",
                  fa_oidc_loggable(r->pool, sid ? sid : sub, 128));
    return backchannel_answer(r, HTTP_OK, NULL, NULL);
}

static int send_json(request_rec *r, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);

    json_decref(doc);
    r->status = status;
    ap_set_content_type(r, "application/json");
    no_store(r);
    if (text) {
        ap_rputs(text, r);
        free(text);
    }
    return OK;
}

/* ---- /fedauth/authenticate: sign in with an ID token --------------------- */

#define CODE_TTL 60


static int auth_refuse(request_rec *r, int status, const char *code,
                       const char *desc)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00214)
                  "token sign-in refused: %s: %s", code, desc);
    apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR", code);
    return send_json(r, status, json_pack("{s:s, s:s}", "error", code,
                                          "error_description", code));
}

static json_t *session_json(const fa_session_t *s, apr_int64_t expires_at)
{
    json_t *roles = json_array(), *attrs = json_object();
    const char *c, *comma;
    int i;

    for (c = s->roles; c && *c; c = comma ? comma + 1 : c + strlen(c)) {
        comma = strchr(c, ',');
        json_array_append_new(roles, json_stringn(c, comma
                              ? (size_t)(comma - c) : strlen(c)));
    }
    for (i = 0; s->attrs && i < s->attrs->nelts; i++) {
        const fa_attr_t *a = &APR_ARRAY_IDX(s->attrs, i, fa_attr_t);
        json_object_set_new(attrs, a->name, json_string(a->value));
    }
    return json_pack("{s:s?, s:s?, s:s?, s:o, s:o, s:I}", "user", s->user,
                     "sub", s->sub, "idp", s->idp, "roles", roles,
                     "attributes", attrs, "expires_at",
                     (json_int_t)expires_at);
}

/* POST id_token=<JWT>[&nonce=...][&want=code]: a verified ID token of one
 * of the providers (aud = its ClientID) becomes a session (cookie), or a
 * one-time code for GET ?code=... */
static int authenticate_token(request_rec *r, fedauth_srv_t *sc)
{
    fa_store_t *store = fedauth_store(r);
    apr_table_t *form;
    fedauth_provider_t *prov;
    fa_session_t s;
    fa_jwt_t *jwt;
    fa_err_t err;
    const char *body, *token, *nonce, *want, *tnonce, *used, *code;
    char *rec, *seen;
    apr_size_t len;
    apr_int64_t now = fa_now_sec();

    memset(&err, 0, sizeof(err));
    if (read_form_body(r, MAX_LOGOUT_BODY, &body, &len) != APR_SUCCESS
        || fa_form_parse(r->pool, body, len, MAX_QUERY_PARAMS, &form)
           != APR_SUCCESS
        || !(token = apr_table_get(form, "id_token"))) {
        return auth_refuse(r, HTTP_BAD_REQUEST, "invalid_request",
                           "expected a form with an id_token");
    }
    nonce = apr_table_get(form, "nonce");
    want = apr_table_get(form, "want");
    if (fa_jwt_parse(r->pool, token, strlen(token), &jwt, &err)
        != APR_SUCCESS
        || !(prov = fedauth_provider_by_issuer(sc, NULL, jwt))) {
        return auth_refuse(r, HTTP_UNAUTHORIZED, err.code ? err.code
                           : "wrong_iss", "not an ID token of a provider");
    }
    /* The token's nonce, when it has one, must be the app's. */
    tnonce = fa_jwt_claim_str(jwt, "nonce");
    if (tnonce && (!nonce || !fa_ct_streq(nonce, tnonce))) {
        return auth_refuse(r, HTTP_UNAUTHORIZED, "wrong_nonce",
                           "the nonce is not the one the app declared");
    }
    if (fa_idp_verify_id_token(prov->rt, fedauth_http(), r->pool, token,
                               tnonce, now, &jwt, &err) != APR_SUCCESS) {
        return auth_refuse(r, !strcmp(err.code, "idp_unreachable")
                           ? HTTP_BAD_GATEWAY : HTTP_UNAUTHORIZED, err.code,
                           err.desc);
    }
    /* An ID token signs in once. */
    used = apr_pstrcat(r->pool, "u:", fa_keys_tag(r->pool, &sc->keys,
                       "idtoken", token), NULL);
    if (store->get(store, used, r->pool, &seen, &len) == APR_SUCCESS) {
        return auth_refuse(r, HTTP_UNAUTHORIZED, "token_replayed",
                           "this ID token was used to sign in before");
    }
    if (store->put(store, used, "1", 1, fa_jwt_claim_int(jwt, "exp")
                   + FA_JWT_LEEWAY, r->pool) != APR_SUCCESS
        || fedauth_map_session(r, sc, prov, jwt, token, &s, &err)
           != APR_SUCCESS) {
        return auth_refuse(r, err.code ? HTTP_UNAUTHORIZED
                           : HTTP_SERVICE_UNAVAILABLE, err.code ? err.code
                           : "store_unavailable", err.code ? err.desc
                           : "no session");
    }
    if (want && !strcmp(want, "code")) {
        code = fa_random_token(r->pool, 32);
        fa_session_encode(r->pool, &s, &rec, &len);
        if (!code || store->put(store, apr_pstrcat(r->pool, "c:",
                                fa_keys_tag(r->pool, &sc->keys, "code",
                                            code), NULL),
                                rec, len, now + CODE_TTL, r->pool)
                     != APR_SUCCESS) {
            return auth_refuse(r, HTTP_SERVICE_UNAVAILABLE,
                               "store_unavailable", "cannot keep the code");
        }
        return send_json(r, HTTP_OK, json_pack("{s:s, s:i}", "code", code,
                                               "expires_in", CODE_TTL));
    }
    if (fedauth_store_session(r, sc, &s, &err) != APR_SUCCESS) {
        return auth_refuse(r, HTTP_SERVICE_UNAVAILABLE, err.code, err.desc);
    }
    return send_json(r, HTTP_OK, session_json(&s, fa_session_expires_at(&s,
                     fedauth_idle_timeout(sc), fedauth_max_age(sc))));
}

/* GET ?code=...[&return_to=/path]: the one-time code becomes the session
 * cookie of this browser. */
static int authenticate_code(request_rec *r, fedauth_srv_t *sc,
                             apr_table_t *q)
{
    fa_store_t *store = fedauth_store(r);
    const char *code = apr_table_get(q, "code");
    const char *return_to = apr_table_get(q, "return_to");
    fa_session_t *s;
    fa_err_t err;
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    rv = store->take(store, apr_pstrcat(r->pool, "c:",
                     fa_keys_tag(r->pool, &sc->keys, "code", code), NULL),
                     r->pool, &rec, &len);
    if (rv == APR_NOTFOUND
        || (rv == APR_SUCCESS
            && fa_session_decode(r->pool, rec, len, &s) != APR_SUCCESS)) {
        return auth_refuse(r, HTTP_BAD_REQUEST, "invalid_code",
                           "unknown, used or expired code");
    }
    if (rv != APR_SUCCESS) {
        return auth_refuse(r, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
                           "cannot read the code");
    }
    s->created = s->last_seen = fa_now_sec();
    if (fedauth_store_session(r, sc, s, &err) != APR_SUCCESS) {
        return auth_refuse(r, HTTP_SERVICE_UNAVAILABLE, err.code, err.desc);
    }
    return_to = return_to_or_root(r, return_to);
    apr_table_setn(r->headers_out, "Location",
                   ap_construct_url(r->pool, return_to, r));
    no_store(r);
    return HTTP_MOVED_TEMPORARILY;
}

static int handle_authenticate(request_rec *r, fedauth_srv_t *sc)
{
    apr_table_t *q = NULL;
    int cors;

    if (sc->token_login != 1) {
        return DECLINED;
    }
    cors = fedauth_cors(r, sc);
    if (r->method_number == M_OPTIONS) {
        if (cors != 1) {
            return auth_refuse(r, HTTP_FORBIDDEN, "origin_not_allowed",
                               "this origin is not a FedAuthAllowedOrigin");
        }
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods",
                       "GET, POST");
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers",
                       "Content-Type");
        apr_table_setn(r->err_headers_out, "Access-Control-Max-Age", "600");
        r->status = HTTP_NO_CONTENT;
        return OK;
    }
    /* A page of another origin may not sign this browser in (login CSRF):
     * only same-origin requests, allowed origins, and clients that send no
     * Origin at all (not browsers). */
    if (cors == 0 && !same_origin(r)) {
        return auth_refuse(r, HTTP_FORBIDDEN, "origin_not_allowed",
                           "this origin is not a FedAuthAllowedOrigin");
    }
    if (r->method_number == M_POST) {
        return authenticate_token(r, sc);
    }
    if (r->method_number == M_GET && r->args
        && fa_form_parse(r->pool, r->args, strlen(r->args), MAX_QUERY_PARAMS,
                         &q) == APR_SUCCESS && apr_table_get(q, "code")) {
        return authenticate_code(r, sc, q);
    }
    return auth_refuse(r, HTTP_BAD_REQUEST, "invalid_request",
                       "POST an id_token, or GET with a code");
}

/* ---- /fedauth/login, /fedauth/logout, /fedauth/session ---------------- */

static const char *query_param(request_rec *r, const char *name)
{
    apr_table_t *q;

    if (!r->args || fa_form_parse(r->pool, r->args, strlen(r->args),
                                  MAX_QUERY_PARAMS, &q) != APR_SUCCESS) {
        return NULL;
    }
    return apr_table_get(q, name);
}

static int send_page(request_rec *r, int status, const char *title,
                     const char *body_html)
{
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    no_store(r);
    ap_rvputs(r, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
              "<meta charset=\"utf-8\"><meta name=\"viewport\" "
              "content=\"width=device-width, initial-scale=1\"><title>",
              title, "</title></head>\n<body style=\"font-family:sans-serif;"
              "max-width:40em;margin:3em auto;padding:0 1em\">\n<h1>", title,
              "</h1>\n", body_html, "</body></html>\n", NULL);
    return OK;
}

/* ---- which providers, and the chooser ---------------------------------- */

int fedauth_provider_offered(const fedauth_dir_t *dc,
                             const fedauth_provider_t *prov)
{
    int i;

    if (!prov->enabled) {
        return 0;
    }
    if (!dc || !dc->providers) {
        return 1;
    }
    for (i = 0; i < dc->providers->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(dc->providers, i, const char *),
                    prov->idp.id)) {
            return 1;
        }
    }
    return 0;
}

static int by_sort_order(const void *a, const void *b)
{
    const fedauth_provider_t *pa = *(fedauth_provider_t *const *)a;
    const fedauth_provider_t *pb = *(fedauth_provider_t *const *)b;

    if (pa->sort_order != pb->sort_order) {
        return pa->sort_order < pb->sort_order ? -1 : 1;
    }
    return pa->index < pb->index ? -1 : pa->index > pb->index;
}

/* The enabled providers, limited to the comma-separated ids in only when
 * it is given, in SortOrder. */
static apr_array_header_t *providers_for(request_rec *r,
                                         const fedauth_srv_t *sc,
                                         const char *only)
{
    apr_array_header_t *list = apr_array_make(r->pool, sc->providers->nelts,
                                              sizeof(fedauth_provider_t *));
    fedauth_provider_t *prov;
    const char *hit;
    apr_size_t len;
    int i;

    for (i = 0; i < sc->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        if (!prov->enabled) {
            continue;
        }
        if (only) {
            len = strlen(prov->idp.id);
            for (hit = strstr(only, prov->idp.id); hit;
                 hit = strstr(hit + 1, prov->idp.id)) {
                if ((hit == only || hit[-1] == ',')
                    && (hit[len] == ',' || hit[len] == '\0')) {
                    break;
                }
            }
            if (!hit) {
                continue;
            }
        }
        APR_ARRAY_PUSH(list, fedauth_provider_t *) = prov;
    }
    qsort(list->elts, (size_t)list->nelts, sizeof(fedauth_provider_t *),
          by_sort_order);
    return list;
}

static const char *remember_cookie_name(request_rec *r,
                                        const fedauth_srv_t *sc)
{
    return apr_pstrcat(r->pool, fedauth_cookie_name(sc), REMEMBER_SUFFIX,
                       NULL);
}

static void remember_set(request_rec *r, const fedauth_srv_t *sc,
                         const fedauth_provider_t *prov)
{
    fedauth_cookie_set(r, remember_cookie_name(r, sc),
                       apr_pstrcat(r->pool, prov->idp.id, ".",
                                   fa_keys_tag(r->pool, &sc->keys,
                                               "remember", prov->idp.id),
                                   NULL), REMEMBER_MAX_AGE);
}

/* The provider of a valid remembered-choice cookie that is in list. */
static fedauth_provider_t *remembered(request_rec *r,
                                      const fedauth_srv_t *sc,
                                      const apr_array_header_t *list)
{
    const char *v, *dot;
    char *id;
    fedauth_provider_t *prov;
    int i;

    if (sc->remember_choice != 1
        || !(v = fedauth_cookie_get(r, remember_cookie_name(r, sc)))
        || !(dot = strrchr(v, '.')) || dot - v > 32) {
        return NULL;
    }
    id = apr_pstrmemdup(r->pool, v, (apr_size_t)(dot - v));
    if (!fa_ct_streq(dot + 1, fa_keys_tag(r->pool, &sc->keys, "remember",
                                          id))) {
        return NULL;
    }
    for (i = 0; i < list->nelts; i++) {
        prov = APR_ARRAY_IDX(list, i, fedauth_provider_t *);
        if (!strcmp(prov->idp.id, id)) {
            return prov;
        }
    }
    return NULL;
}

/* Text on a colour: black or white, whichever contrasts more (WCAG). */
static const char *text_on(const char *hex)
{
    unsigned int v[3];
    double c[3], lum;
    int i;

    if (strlen(hex) == 4) {
        for (i = 0; i < 3; i++) {
            sscanf(hex + 1 + i, "%1x", &v[i]);
            v[i] *= 17;
        }
    }
    else {
        sscanf(hex + 1, "%2x%2x%2x", &v[0], &v[1], &v[2]);
    }
    for (i = 0; i < 3; i++) {
        c[i] = v[i] / 255.0;
        c[i] = c[i] <= 0.03928 ? c[i] / 12.92
                               : pow((c[i] + 0.055) / 1.055, 2.4);
    }
    lum = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    return (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) ? "#fff" : "#000";
}

static const char *chooser_form(request_rec *r, const fedauth_srv_t *sc,
                                const apr_array_header_t *list,
                                const char *return_to, const char *only,
                                const apr_table_t *hints)
{
    apr_pool_t *p = r->pool;
    const char *html, *style;
    fedauth_provider_t *prov;
    int i;

    html = apr_pstrcat(p, "<form method=\"get\" action=\"/fedauth/login\" "
        "class=\"fedauth-chooser\">\n<input type=\"hidden\" "
        "name=\"return_to\" value=\"", fa_html_escape(p, return_to), "\">\n",
        only ? apr_pstrcat(p, "<input type=\"hidden\" name=\"idps\" value=\"",
                           fa_html_escape(p, only), "\">\n", NULL) : "",
        NULL);
    /* login_hint / domain_hint go on to the provider chosen. */
    for (i = 0; hints && i < 2; i++) {
        const char *name = i ? "domain_hint" : "login_hint";
        const char *v = apr_table_get(hints, name);
        if (v) {
            html = apr_pstrcat(p, html, "<input type=\"hidden\" name=\"",
                               name, "\" value=\"", fa_html_escape(p, v),
                               "\">\n", NULL);
        }
    }
    html = apr_pstrcat(p, html, "<ul class=\"fedauth-providers\">\n", NULL);
    for (i = 0; i < list->nelts; i++) {
        prov = APR_ARRAY_IDX(list, i, fedauth_provider_t *);
        style = prov->accent
                ? apr_pstrcat(p, " style=\"background:", prov->accent,
                              ";border-color:", prov->accent, ";color:",
                              text_on(prov->accent), "\"", NULL) : "";
        html = apr_pstrcat(p, html, "<li><button type=\"submit\" name=\"idp\" "
            "value=\"", prov->idp.id, "\" id=\"fedauth-idp-", prov->idp.id,
            "\" class=\"fedauth-button\"", style, ">",
            prov->icon ? apr_pstrcat(p, "<img src=\"",
                                     fa_html_escape(p, prov->icon),
                                     "\" alt=\"\" width=\"24\" "
                                     "height=\"24\">", NULL) : "",
            "<span>Continue with ",
            fa_html_escape(p, prov->idp.display_name),
            "</span></button></li>\n", NULL);
    }
    return apr_pstrcat(p, html, "</ul>\n", sc->remember_choice == 1
        ? "<label class=\"fedauth-remember\"><input type=\"checkbox\" "
          "name=\"remember\" value=\"1\"> Remember my choice on this "
          "device</label>\n" : "", "</form>\n", NULL);
}

static const char BUILTIN_CHOOSER[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, "
    "initial-scale=1\">\n<title>{{title}}</title>\n<style>\n"
    "body{margin:0;background:#f3f4f6;color:#111827;font-family:system-ui,"
    "-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,"
    "sans-serif;line-height:1.5}\n"
    "main{box-sizing:border-box;max-width:26rem;margin:12vh auto;"
    "padding:2rem;background:#fff;border-radius:12px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.15)}\n"
    "h1{font-size:1.5rem;margin:0 0 1.5rem}\n"
    ".fedauth-providers{list-style:none;margin:0;padding:0}\n"
    ".fedauth-providers li{margin:0 0 .75rem}\n"
    ".fedauth-button{display:flex;align-items:center;gap:.75rem;"
    "box-sizing:border-box;width:100%;min-height:3rem;padding:.75rem 1rem;"
    "font:inherit;font-weight:600;text-align:left;cursor:pointer;"
    "color:#111827;background:#fff;border:1px solid #6b7280;"
    "border-radius:8px}\n"
    ".fedauth-button:hover{filter:brightness(.93)}\n"
    ".fedauth-button:focus-visible{outline:3px solid #1d4ed8;"
    "outline-offset:2px}\n"
    ".fedauth-button img{flex:none}\n"
    ".fedauth-remember{display:flex;gap:.5rem;align-items:center;"
    "margin-top:1.25rem}\n"
    "@media (max-width:30rem){main{margin:0;min-height:100vh;"
    "border-radius:0;box-shadow:none}}\n"
    "</style></head>\n<body><main>\n<h1>{{title}}</h1>\n{{buttons}}"
    "</main></body></html>\n";

/* Fills the placeholders {{title}}, {{buttons}} and {{return_to}}; any
 * other {{...}} stays as it is. */
static const char *fill_template(apr_pool_t *p, const char *tmpl,
                                 const char *buttons, const char *return_to)
{
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(const char *));
    const char *c = tmpl, *open, *value;

    while ((open = strstr(c, "{{")) != NULL) {
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrmemdup(p, c, (apr_size_t)(open - c));
        if (!strncmp(open, "{{title}}", 9)) {
            value = "Sign in";
            c = open + 9;
        }
        else if (!strncmp(open, "{{buttons}}", 11)) {
            value = buttons;
            c = open + 11;
        }
        else if (!strncmp(open, "{{return_to}}", 13)) {
            value = fa_html_escape(p, return_to);
            c = open + 13;
        }
        else {
            value = "{{";
            c = open + 2;
        }
        APR_ARRAY_PUSH(out, const char *) = value;
    }
    APR_ARRAY_PUSH(out, const char *) = c;
    return apr_array_pstrcat(p, out, '\0');
}

static int send_chooser(request_rec *r, const fedauth_srv_t *sc,
                        const apr_array_header_t *list,
                        const char *return_to, const char *only,
                        const apr_table_t *hints)
{
    const char *buttons = chooser_form(r, sc, list, return_to, only, hints);

    ap_set_content_type(r, "text/html; charset=utf-8");
    no_store(r);
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "frame-ancestors 'none'");
    ap_rputs(fill_template(r->pool, sc->chooser_template
                           ? sc->chooser_template : BUILTIN_CHOOSER,
                           buttons, return_to), r);
    return OK;
}

int fedauth_send_to_signin(request_rec *r, fedauth_srv_t *sc,
                           fedauth_dir_t *dc, const char *return_to)
{
    apr_array_header_t *list;
    fedauth_provider_t *prov;
    const char *only = NULL;

    if (dc->providers) {
        only = apr_array_pstrcat(r->pool, dc->providers, ',');
    }
    list = providers_for(r, sc, only);
    if (list->nelts == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00206)
                      "AuthType FedAuth, but no enabled <FedAuthProvider> "
                      "is offered here");
        return fedauth_error(r, HTTP_INTERNAL_SERVER_ERROR, "no_provider",
                             "No identity provider is available here.");
    }
    prov = list->nelts == 1 ? APR_ARRAY_IDX(list, 0, fedauth_provider_t *)
                            : remembered(r, sc, list);
    if (prov) {
        return fedauth_start_login(r, prov, return_to, NULL);
    }
    apr_table_setn(r->headers_out, "Location", ap_construct_url(r->pool,
        apr_pstrcat(r->pool, "/fedauth/login?return_to=",
                    fa_url_encode(r->pool, return_to),
                    only ? "&idps=" : "",
                    only ? fa_url_encode(r->pool, only) : "", NULL), r));
    no_store(r);
    return HTTP_MOVED_TEMPORARILY;
}

static int hint_ok(const char *v)
{
    const char *c;

    if (!v || !*v || strlen(v) > MAX_HINT) {
        return 0;
    }
    for (c = v; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int handle_login(request_rec *r, fedauth_srv_t *sc)
{
    apr_table_t *q = NULL, *hints = apr_table_make(r->pool, 2);
    const char *idp, *return_to, *only, *v;
    apr_array_header_t *list;
    fedauth_provider_t *prov;
    fa_err_t err;

    if (r->args && fa_form_parse(r->pool, r->args, strlen(r->args),
                                 MAX_QUERY_PARAMS, &q) != APR_SUCCESS) {
        return fedauth_error(r, HTTP_BAD_REQUEST, "invalid_request",
                             "The address is malformed.");
    }
    if (!q) {
        q = apr_table_make(r->pool, 1);
    }
    idp = apr_table_get(q, "idp");
    only = apr_table_get(q, "idps");
    return_to = return_to_or_root(r, apr_table_get(q, "return_to"));
    if (hint_ok(v = apr_table_get(q, "login_hint"))) {
        apr_table_setn(hints, "login_hint", v);
    }
    if (hint_ok(v = apr_table_get(q, "domain_hint"))) {
        apr_table_setn(hints, "domain_hint", v);
    }
    if (idp) {
        prov = fedauth_provider_find(sc, idp);
        if (!prov || !prov->enabled) {
            fa_err_set(&err, "unknown_provider", "no enabled provider %s",
                       fa_oidc_loggable(r->pool, idp, 40));
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00204)
                          "login refused: %s", err.desc);
            return fedauth_error(r, HTTP_NOT_FOUND, err.code,
                                 "There is no such identity provider.");
        }
        if (sc->remember_choice == 1
            && (v = apr_table_get(q, "remember")) && !strcmp(v, "1")) {
            remember_set(r, sc, prov);
        }
        return fedauth_start_login(r, prov, return_to, hints);
    }
    list = providers_for(r, sc, only);
    prov = NULL;
    if ((v = apr_table_get(q, "choose")) && !strcmp(v, "1")) {
        fedauth_cookie_set(r, remember_cookie_name(r, sc), "", 0);
    }
    else {
        prov = remembered(r, sc, list);
    }
    if (!prov && list->nelts == 1) {
        prov = APR_ARRAY_IDX(list, 0, fedauth_provider_t *);
    }
    if (prov) {
        return fedauth_start_login(r, prov, return_to, hints);
    }
    if (list->nelts == 0) {
        return fedauth_error(r, HTTP_NOT_FOUND, "no_provider",
                             "No identity provider is available here.");
    }
    return send_chooser(r, sc, list, return_to, only, hints);
}

/* RP-Initiated Logout 1.0: the IdP's end_session_endpoint with the ID
 * token as hint and the page to come back to, which must be registered at
 * the IdP as a post-logout redirect URI. NULL when the IdP offers none. */
static const char *idp_logout_url(request_rec *r, fedauth_srv_t *sc,
                                  const fa_session_t *s,
                                  const char *return_to)
{
    fedauth_provider_t *prov = fedauth_provider_find(sc, s->idp);
    fa_oidc_metadata_t *md;
    fa_err_t err;
    const char *back;

    if (!prov || fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md,
                                 &err) != APR_SUCCESS
        || !md->end_session_endpoint) {
        return NULL;
    }
    if (!return_to || !fa_return_to_ok(return_to)) {
        return_to = "/";
    }
    back = sc->redirect_base
           ? apr_pstrcat(r->pool, sc->redirect_base, return_to, NULL)
           : ap_construct_url(r->pool, return_to, r);
    return apr_pstrcat(r->pool, md->end_session_endpoint,
        strchr(md->end_session_endpoint, '?') ? "&" : "?",
        "client_id=", fa_url_encode(r->pool, prov->idp.client.client_id),
        "&post_logout_redirect_uri=", fa_url_encode(r->pool, back),
        s->id_token ? "&id_token_hint=" : "",
        s->id_token ? fa_url_encode(r->pool, s->id_token) : "", NULL);
}

static int handle_logout(request_rec *r, fedauth_srv_t *sc)
{
    const char *asked = query_param(r, "return_to");
    const char *return_to = asked && fa_return_to_ok(asked) ? asked : NULL;
    const char *key = NULL;
    fa_store_t *store = fedauth_store(r);
    fa_session_t *s;

    const char *idp_url = NULL;

    if (fedauth_session_load(r, sc, &s, &key) == APR_SUCCESS && key) {
        store->del(store, key, r->pool);
        fedauth_session_forget(r, key);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00205)
                      "signed out %s",
                      fa_oidc_loggable(r->pool, s->user, 256));
        if (sc->logout_at_idp == 1) {
            idp_url = idp_logout_url(r, sc, s, return_to);
        }
    }
    fedauth_cookie_set(r, fedauth_cookie_name(sc), "", 0);
    no_store(r);
    if (asked && !return_to) {
        return_to_refused(r, asked, idp_url ? "/ after the identity "
                          "provider's logout" : "the signed-out page");
    }
    if (idp_url) {
        apr_table_setn(r->headers_out, "Location", idp_url);
        return HTTP_MOVED_TEMPORARILY;
    }
    if (return_to) {
        apr_table_setn(r->headers_out, "Location",
                       ap_construct_url(r->pool, return_to, r));
        return HTTP_MOVED_TEMPORARILY;
    }
    return send_page(r, HTTP_OK, "Signed out",
                     "<p>You are signed out.</p>\n"
                     "<p><a href=\"/fedauth/login?choose=1\">Sign in "
                     "again</a> &middot; <a href=\"/\">Back to the start "
                     "page</a></p>\n");
}


static int handle_session(request_rec *r, fedauth_srv_t *sc)
{
    fa_session_t *s;
    apr_status_t rv;

    rv = fedauth_session_load(r, sc, &s, NULL);
    if (rv == APR_NOTFOUND) {
        return send_json(r, HTTP_UNAUTHORIZED,
                         json_pack("{s:s}", "error", "no_session"));
    }
    if (rv != APR_SUCCESS) {
        return send_json(r, HTTP_SERVICE_UNAVAILABLE,
                         json_pack("{s:s}", "error", "store_unavailable"));
    }
    return send_json(r, HTTP_OK, session_json(s, fa_session_expires_at(s,
                     fedauth_idle_timeout(sc), fedauth_max_age(sc))));
}

int fedauth_handle_endpoint(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    const char *uri = r->uri;
    fedauth_provider_t *prov;

    if (!sc->keys_ready || !fedauth_store(r)) {
        return DECLINED;
    }
    if (!strncmp(uri, "/signin-", 8)) {
        const char *slash = strchr(uri + 8, '/');
        if (slash && !strcmp(slash, "/backchannel")) {
            prov = fedauth_provider_find(sc, apr_pstrmemdup(r->pool, uri + 8,
                                         (apr_size_t)(slash - uri - 8)));
            return prov ? handle_backchannel(r, sc, prov) : DECLINED;
        }
        prov = fedauth_provider_find(sc, uri + 8);
        return prov ? handle_callback(r, sc, prov) : DECLINED;
    }
    if (strncmp(uri, "/fedauth/", 9)) {
        return DECLINED;
    }
    uri += 9;
    if (!strcmp(uri, "login")) {
        return handle_login(r, sc);
    }
    if (!strcmp(uri, "logout")) {
        return handle_logout(r, sc);
    }
    if (!strcmp(uri, "session")) {
        fedauth_cors(r, sc);
        return handle_session(r, sc);
    }
    if (!strcmp(uri, "authenticate")) {
        return handle_authenticate(r, sc);
    }
    return DECLINED;
}
