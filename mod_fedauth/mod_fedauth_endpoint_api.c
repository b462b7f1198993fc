/* mod_fedauth_endpoint_api.c - the endpoints for scripts, which answer
 * JSON and may be called from allowed origins (FedAuthAllowedOrigin,
 * CORS): /fedauth/session, what the session of this browser is, and
 * /fedauth/authenticate (FedAuthTokenLogin On), a sign-in with an ID token
 * an app got itself: a session cookie at once, or a one-time code that a
 * browser turns into one. */
#include <stdlib.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
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

/* CORS: 1 when the request's Origin may use the answer (headers set), 0
 * when it has an Origin that is not allowed, -1 when it has none. */
static int cors(request_rec *r, const fedauth_srv_t *sc)
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

/* ---- /fedauth/authenticate: sign in with an ID token ----------------- */

static int auth_refuse(request_rec *r, int status, const char *code,
                       const char *desc)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00214)
                  "token sign-in refused: %s: %s", code, desc);
    fedauth_attempt_log(r, code);
    apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR", code);
    return send_json(r, status, json_pack("{s:s, s:s}", "error", code,
                                          "error_description", code));
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
    /* An ID token signs in once. */
    used = apr_pstrcat(r->pool, "u:", fa_keys_tag(r->pool, &sc->keys,
                       "idtoken", token), NULL);
    if (store->get(store, used, r->pool, &seen, &len) == APR_SUCCESS) {
        return auth_refuse(r, HTTP_UNAUTHORIZED, "token_replayed",
                           "this ID token was used to sign in before");
    }
    if (store->put(store, used, "1", 1, fa_jwt_claim_int(jwt, "exp")
                   + FA_JWT_LEEWAY, r->pool) != APR_SUCCESS
        || fedauth_map_session(r, sc, prov, jwt, token, NULL, &s,
                                  &err)
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
        return auth_refuse(r, fedauth_registry_status(err.code)
                           ? fedauth_registry_status(err.code)
                           : HTTP_SERVICE_UNAVAILABLE, err.code, err.desc);
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

    if (sc->token_login != 1) {
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
    if (allowed == 0 && !same_origin(r)) {
        return auth_refuse(r, HTTP_FORBIDDEN, "origin_not_allowed",
                           "this origin is not a FedAuthAllowedOrigin");
    }
    if (r->method_number == M_POST) {
        return authenticate_token(r, sc);
    }
    if (r->method_number == M_GET && r->args
        && fa_form_parse(r->pool, r->args, strlen(r->args), FEDAUTH_MAX_PARAMS,
                         &q) == APR_SUCCESS && apr_table_get(q, "code")) {
        return authenticate_code(r, sc, q);
    }
    return auth_refuse(r, HTTP_BAD_REQUEST, "invalid_request",
                       "POST an id_token, or GET with a code");
}
