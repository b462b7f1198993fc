/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_endpoint_api.c - the endpoints for scripts, which answer
 * JSON and may be called from allowed origins (FedAuthAllowedOrigin,
 * CORS): /fedauth/session, what the session of this browser is, and
 * /fedauth/authenticate (FedAuthTokenLogin On), a sign-in with an ID token
 * an app got itself: a session cookie at once, or a one-time code that a
 * browser turns into one. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include <jansson.h>

#include "mod_fedauth_endpoint_api.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_session.h"
#include "mod_fedauth_attempts.h"
#include "mod_fedauth_registry.h"

APLOG_USE_MODULE(fedauth);

#define MAX_TOKEN_BODY (64 * 1024)
#define CODE_TTL 60
/* Length of fa_keys_tag's answer (16 bytes in base64url). */
#define BINDER_TAG_LEN 22

/* ---- JSON and CORS --------------------------------------------------- */

static int send_json(request_rec *r, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);

    json_decref(doc);
    r->status = status;
    ap_set_content_type(r, "application/json");
    fedauth_no_store(r);
    if (text) {
        ap_rputs(text, r);
        free(text);
    }
    return OK;
}

/* CORS for the endpoints: as fedauth_cors_allow, and Vary: Origin on
 * every answer, with an Origin or without. */
static int cors(request_rec *r, const fedauth_srv_t *sc)
{
    int allowed = fedauth_cors_allow(r, sc);

    if (allowed < 0) {
        apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    }
    return allowed;
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

/* ---- /fedauth/session ------------------------------------------------ */

int fedauth_handle_session(request_rec *r, fedauth_srv_t *sc)
{
    fa_session_t *s;
    apr_status_t rv;

    /* An allowed origin gets the CORS headers; for any other page, its
     * browser keeps the answer from it. */
    cors(r, sc);
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

/* ---- /fedauth/jwks --------------------------------------------------- */

int fedauth_handle_jwks(request_rec *r, fedauth_srv_t *sc)
{
    if (!sc->client_jwks) {
        return DECLINED;
    }
    ap_allow_methods(r, 1, "GET", NULL);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    /* Made at start: no key is touched here. Public keys only, so any
     * cache may keep it; an IdP refetches within the hour. */
    r->status = HTTP_OK;
    ap_set_content_type(r, "application/jwk-set+json");
    apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=3600");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_rputs(sc->client_jwks, r);
    return OK;
}

/* ---- /fedauth/authenticate: sign in with an ID token ----------------- */

/* A refusal logged under the caller's own tag. */
static int auth_refuse_tag(request_rec *r, const char *tag, int status,
                           const char *code, const char *desc)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "%stoken sign-in refused: %s: %s", tag, code, desc);
    fedauth_attempt_log(r, code);
    apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR", code);
    return send_json(r, status, json_pack("{s:s, s:s}", "error", code,
                                          "error_description", code));
}

static int auth_refuse(request_rec *r, int status, const char *code,
                       const char *desc)
{
    return auth_refuse_tag(r, FALOGNO(00214), status, code, desc);
}

/* The cookie that binds a one-time code to the browser that asked for it:
 * <session cookie>_code. */
static const char *binder_cookie(request_rec *r, const fedauth_srv_t *sc)
{
    return apr_pstrcat(r->pool, fedauth_cookie_name(sc), "_code", NULL);
}

/* An ID token signs in once. The marker is keyed on what the IdP signed
 * (header.payload), never on the signature bytes: an ECDSA signature has
 * a twin (r, n - s) that verifies too, and base64url may spell the same
 * bytes twice. The store's add makes one request win, on every host.
 * DECLINED when the sign-in goes on, else the answer sent. */
static int mark_used(request_rec *r, fedauth_srv_t *sc, const fa_jwt_t *jwt)
{
    apr_status_t rv;

    rv = fedauth_add_once(r, sc, "u:", "idtoken", jwt->signing_input,
                          fa_jwt_time_until(jwt, "exp", FA_JWT_LEEWAY));
    if (rv == APR_EEXIST) {
        return auth_refuse_tag(r, FALOGNO(00230), HTTP_UNAUTHORIZED,
                               "token_replayed", "this ID token (the same "
                               "header and claims) signed in before");
    }
    if (rv != APR_SUCCESS) {
        return auth_refuse_tag(r, FALOGNO(00231), HTTP_SERVICE_UNAVAILABLE,
                               "store_unavailable", "cannot mark the ID "
                               "token used");
    }
    return DECLINED;
}

/* want=code: a one-time code for the session, bound to this browser by a
 * random value in a cookie set with it; only the MAC of that value is
 * kept with the code. A page of an allowed origin on another site gets
 * the cookie with SameSite=None (over https), so that it comes along
 * when that page sends the browser to the code. */
static int issue_code(request_rec *r, fedauth_srv_t *sc, fa_session_t *s,
                      int allowed, apr_int64_t now)
{
    fa_store_t *store = fedauth_store(r);
    const char *code = fa_random_token(r->pool, 32);
    const char *binder = fa_random_token(r->pool, 32);
    char *rec, *val;
    apr_size_t len;

    if (!code || !binder) {
        return auth_refuse(r, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
                           "no random bytes for a code");
    }
    fa_session_encode(r->pool, s, &rec, &len);
    val = apr_palloc(r->pool, BINDER_TAG_LEN + 1 + len);
    memcpy(val, fa_keys_tag(r->pool, &sc->keys, "codebind", binder),
           BINDER_TAG_LEN);
    val[BINDER_TAG_LEN] = '\n';
    memcpy(val + BINDER_TAG_LEN + 1, rec, len);
    if (store->put(store, apr_pstrcat(r->pool, "c:", fa_keys_tag(r->pool,
                   &sc->keys, "code", code), NULL), val,
                   BINDER_TAG_LEN + 1 + len, now + CODE_TTL, r->pool)
        != APR_SUCCESS) {
        return auth_refuse(r, HTTP_SERVICE_UNAVAILABLE,
                           "store_unavailable", "cannot keep the code");
    }
    fedauth_cookie_set_site(r, binder_cookie(r, sc), binder, CODE_TTL,
                            allowed == 1 && !fedauth_origin_is_site(r, sc));
    return send_json(r, HTTP_OK, json_pack("{s:s, s:i}", "code", code,
                                           "expires_in", CODE_TTL));
}

/* POST id_token=<JWT>[&nonce=...][&want=code]: a verified ID token of one
 * of the providers (aud = its ClientID) becomes a session (cookie), or a
 * one-time code for GET ?code=... in the same browser. */
static int authenticate_token(request_rec *r, fedauth_srv_t *sc,
                              int allowed)
{
    apr_table_t *form;
    fedauth_provider_t *prov;
    fa_session_t s;
    fa_jwt_t *jwt;
    fa_err_t err;
    const char *body, *token, *nonce, *want, *tnonce;
    apr_size_t len;
    apr_int64_t now = fa_now_sec();
    int status;

    memset(&err, 0, sizeof(err));
    if (fedauth_read_form_body(r, MAX_TOKEN_BODY, &body, &len) != APR_SUCCESS
        || fa_form_parse(r->pool, body, len, FEDAUTH_MAX_PARAMS, &form)
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
    fedauth_attempt_user(r, prov->idp.id, NULL, NULL);
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
    fedauth_attempt_user(r, NULL, fa_jwt_claim_str(jwt, "sub"), NULL);
    if ((status = mark_used(r, sc, jwt)) != DECLINED) {
        return status;
    }
    if (fedauth_map_session(r, sc, prov, jwt, token, NULL, &s, &err)
        != APR_SUCCESS) {
        return auth_refuse(r, err.code ? HTTP_UNAUTHORIZED
                           : HTTP_SERVICE_UNAVAILABLE, err.code ? err.code
                           : "store_unavailable", err.code ? err.desc
                           : "no session");
    }
    if (fedauth_registry_signin(r, sc, &s, &err) != APR_SUCCESS) {
        return auth_refuse(r, fedauth_registry_status(err.code)
                           ? fedauth_registry_status(err.code)
                           : HTTP_SERVICE_UNAVAILABLE, err.code, err.desc);
    }
    if (want && !strcmp(want, "code")) {
        return issue_code(r, sc, &s, allowed, now);
    }
    if (fedauth_store_session(r, sc, &s, &err) != APR_SUCCESS) {
        return auth_refuse(r, fedauth_registry_status(err.code)
                           ? fedauth_registry_status(err.code)
                           : HTTP_SERVICE_UNAVAILABLE, err.code, err.desc);
    }
    return send_json(r, HTTP_OK, session_json(&s, fa_session_expires_at(&s,
                     fedauth_idle_timeout(sc), fedauth_max_age(sc))));
}

/* 1 when the Referer of this request is a page of an allowed origin. */
static int referer_allowed(request_rec *r, const fedauth_srv_t *sc)
{
    const char *ref = apr_table_get(r->headers_in, "Referer");
    const char *o;
    apr_size_t len;
    int i;

    for (i = 0; ref && sc->allowed_origins && i < sc->allowed_origins->nelts;
         i++) {
        o = APR_ARRAY_IDX(sc->allowed_origins, i, const char *);
        len = strlen(o);
        if (!strncmp(ref, o, len) && (ref[len] == '\0' || ref[len] == '/')) {
            return 1;
        }
    }
    return 0;
}

/* The exchange of a code is refused when the browser says it was sent
 * here by a page of another site (Sec-Fetch-Site: cross-site: a link, an
 * <img>, a form of that site), unless that page is of an allowed origin
 * (its Referer). An Origin that is not allowed was refused before. */
static int code_from_elsewhere(request_rec *r, const fedauth_srv_t *sc)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");

    return site && !strcasecmp(site, "cross-site")
           && !referer_allowed(r, sc);
}

/* The code's record: the binder's MAC, '\n', the session. APR_EACCES
 * unless this browser's binder cookie has that MAC (constant time);
 * APR_EINVAL for a record that does not decode. */
static apr_status_t code_open(request_rec *r, const fedauth_srv_t *sc,
                              const fa_keys_t *keys, char *rec,
                              apr_size_t len, fa_session_t **ps)
{
    const char *binder = fedauth_cookie_get(r, binder_cookie(r, sc));

    if (len <= BINDER_TAG_LEN || rec[BINDER_TAG_LEN] != '\n') {
        return APR_EINVAL;
    }
    rec[BINDER_TAG_LEN] = '\0';
    if (!binder || !fa_ct_streq(fa_keys_tag(r->pool, keys, "codebind",
                                            binder), rec)) {
        return APR_EACCES;
    }
    return fa_session_decode(r->pool, rec + BINDER_TAG_LEN + 1,
                             len - BINDER_TAG_LEN - 1, ps) == APR_SUCCESS
           ? APR_SUCCESS : APR_EINVAL;
}

/* GET ?code=...[&return_to=/path]: the one-time code becomes the session
 * cookie of the browser that asked for it. */
static int authenticate_code(request_rec *r, fedauth_srv_t *sc,
                             apr_table_t *q)
{
    fa_store_t *store = fedauth_store(r);
    const char *code = apr_table_get(q, "code");
    const char *return_to = apr_table_get(q, "return_to");
    const fa_keys_t *keys = NULL;
    fa_session_t *s;
    fa_err_t err;
    char *rec;
    apr_size_t len;
    apr_status_t rv;
    int i;

    memset(&err, 0, sizeof(err));
    if (code_from_elsewhere(r, sc)) {
        return auth_refuse_tag(r, FALOGNO(00232), HTTP_FORBIDDEN,
                               "origin_not_allowed", "a page of another "
                               "site (Sec-Fetch-Site: cross-site, no allowed "
                               "Referer) sent the browser to a code");
    }
    /* A code made under an older secret (a rotation) is under its key. */
    rv = APR_NOTFOUND;
    for (i = 0; rv == APR_NOTFOUND && (keys = fedauth_keys_at(sc, i)); i++) {
        rv = store->take(store, apr_pstrcat(r->pool, "c:",
                         fa_keys_tag(r->pool, keys, "code", code), NULL),
                         r->pool, &rec, &len);
    }
    if (rv == APR_SUCCESS
        && (rv = code_open(r, sc, keys, rec, len, &s)) == APR_EACCES) {
        return auth_refuse_tag(r, FALOGNO(00233), HTTP_FORBIDDEN,
                               "code_wrong_browser", "the code was asked "
                               "for by another browser (no or another "
                               "binding cookie); it is spent");
    }
    if (rv == APR_EINVAL) {
        return auth_refuse_tag(r, FALOGNO(00234), HTTP_BAD_REQUEST,
                               "invalid_code", "the code's record does not "
                               "decode");
    }
    if (rv == APR_NOTFOUND) {
        return auth_refuse(r, HTTP_BAD_REQUEST, "invalid_code",
                           "unknown, used or expired code");
    }
    if (rv != APR_SUCCESS) {
        return auth_refuse(r, HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
                           "cannot read the code");
    }
    fedauth_cookie_set(r, binder_cookie(r, sc), "", 0);
    s->created = s->last_seen = fa_now_sec();
    if (fedauth_store_session(r, sc, s, &err) != APR_SUCCESS) {
        return auth_refuse(r, fedauth_registry_status(err.code)
                           ? fedauth_registry_status(err.code)
                           : HTTP_SERVICE_UNAVAILABLE, err.code, err.desc);
    }
    return_to = fedauth_return_to_or_root(r, return_to);
    apr_table_setn(r->headers_out, "Location",
                   ap_construct_url(r->pool, return_to, r));
    fedauth_no_store(r);
    return HTTP_MOVED_TEMPORARILY;
}

int fedauth_handle_authenticate(request_rec *r, fedauth_srv_t *sc)
{
    apr_table_t *q = NULL;
    int allowed;

    if (!fedauth_token_login(sc)) {
        return DECLINED;
    }
    allowed = cors(r, sc);
    if (r->method_number == M_OPTIONS) {
        if (allowed != 1) {
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
    if (allowed == 0 && !fedauth_origin_is_site(r, sc)) {
        return auth_refuse(r, HTTP_FORBIDDEN, "origin_not_allowed",
                           "this origin is not a FedAuthAllowedOrigin");
    }
    if (r->method_number == M_POST) {
        return authenticate_token(r, sc, allowed);
    }
    if (r->method_number == M_GET && r->args
        && fa_form_parse(r->pool, r->args, strlen(r->args), FEDAUTH_MAX_PARAMS,
                         &q) == APR_SUCCESS && apr_table_get(q, "code")) {
        return authenticate_code(r, sc, q);
    }
    return auth_refuse(r, HTTP_BAD_REQUEST, "invalid_request",
                       "POST an id_token, or GET with a code");
}
