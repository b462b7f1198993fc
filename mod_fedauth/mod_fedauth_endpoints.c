/* mod_fedauth_endpoints.c - the module's own URLs: /signin-<id> (the
 * redirect URI), /fedauth/login, /fedauth/logout, /fedauth/session; the
 * error page; cookies. They run as a quick handler, before httpd maps the
 * URL, so no other configuration can hide or protect them by accident. */
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

void fedauth_cookie_set(request_rec *r, const char *name, const char *value,
                        int max_age)
{
    const char *c = apr_pstrcat(r->pool, name, "=", value,
        "; Path=/; HttpOnly; SameSite=Lax",
        request_is_https(r) ? "; Secure" : "",
        max_age >= 0 ? apr_psprintf(r->pool, "; Max-Age=%d", max_age) : "",
        NULL);

    apr_table_addn(r->err_headers_out, "Set-Cookie", c);
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

int fedauth_start_login(request_rec *r, fedauth_provider_t *prov,
                        const char *return_to)
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
    if (!fa_return_to_ok(return_to)) {
        return_to = "/";
    }
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
    fedauth_cookie_set(r, state_cookie_name(r, sc, state), login->bind,
                       FA_LOGIN_STATE_TTL);
    url = fa_oidc_auth_url(r->pool, md, &prov->idp.client,
                           login->redirect_uri, state, login->nonce,
                           fa_oidc_pkce_challenge(r->pool, login->verifier),
                           NULL);
    no_store(r);
    apr_table_setn(r->headers_out, "Location", url);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00202)
                  "sending the browser to %s to sign in", prov->idp.id);
    return HTTP_MOVED_TEMPORARILY;
}

/* ---- the callback: /signin-<id> --------------------------------------- */

static apr_status_t new_session(request_rec *r, fedauth_srv_t *sc,
                                fedauth_provider_t *prov, fa_jwt_t *jwt,
                                const char *id_token, fa_err_t *err)
{
    fa_store_t *store = fedauth_store(r);
    fa_session_t s;
    fa_claims_conf_t cc = prov->claims;
    char *cookie, *key, *rec;
    const char *old;
    apr_size_t len;
    apr_int64_t now = fa_now_sec();
    apr_status_t rv;

    memset(&s, 0, sizeof(s));
    cc.default_role = sc->default_role;
    if ((rv = fa_claims_map(r->pool, &cc, jwt->claims, &s, err))
        != APR_SUCCESS) {
        return rv;
    }
    s.created = s.last_seen = now;
    s.token_exp = fa_jwt_claim_int(jwt, "exp");
    s.idp = prov->idp.id;
    s.sid = fa_jwt_claim_str(jwt, "sid");
    if (strlen(id_token) <= 8192) {
        s.id_token = id_token;
    }
    fa_session_encode(r->pool, &s, &rec, &len);
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
                    fa_session_expires_at(&s, fedauth_idle_timeout(sc),
                                          fedauth_max_age(sc)), r->pool);
    if (rv != APR_SUCCESS) {
        return fa_err_set(err, "store_unavailable", "cannot save the "
                          "session in the %s store", store->name);
    }
    /* A sign-in always gets a new id; an older session of this browser
     * ends (no session fixation). */
    old = NULL;
    if (fedauth_session_load(r, sc, NULL, &old) == APR_SUCCESS && old) {
        store->del(store, old, r->pool);
    }
    fedauth_cookie_set(r, fedauth_cookie_name(sc), cookie, -1);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00203)
                  "signed in %s (sub %s) through %s",
                  fa_oidc_loggable(r->pool, s.user, 256),
                  fa_oidc_loggable(r->pool, s.sub, 256), prov->idp.id);
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
    fa_err_t err;
    const char *state, *key, *bind, *cname, *iss, *code, *e;
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    no_store(r);
    if (r->method_number != M_GET) {
        fa_err_set(&err, "invalid_request", "the callback takes GET, not %s",
                   ascii(r->pool, r->method));
        return fail(r, prov, &err, "This address only takes the answer of "
                    "the identity provider.");
    }
    if (fa_form_parse(r->pool, r->args ? r->args : "",
                      r->args ? strlen(r->args) : 0, MAX_QUERY_PARAMS, &q)
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
    if ((iss && strcmp(iss, prov->idp.issuer))
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
    if (new_session(r, sc, prov, jwt, tok->id_token, &err) != APR_SUCCESS) {
        return fail(r, prov, &err, "The session could not be created.");
    }
    apr_table_setn(r->headers_out, "Location",
                   fa_return_to_ok(login->return_to)
                   ? ap_construct_url(r->pool, login->return_to, r) : "/");
    return HTTP_MOVED_TEMPORARILY;
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

static int handle_login(request_rec *r, fedauth_srv_t *sc)
{
    const char *idp = query_param(r, "idp");
    const char *return_to = query_param(r, "return_to");
    fedauth_provider_t *prov;
    const char *list = "";
    fa_err_t err;
    int i;

    if (!return_to || !fa_return_to_ok(return_to)) {
        return_to = "/";
    }
    if (idp) {
        prov = fedauth_provider_find(sc, idp);
        if (!prov) {
            fa_err_set(&err, "unknown_provider", "no provider %s",
                       fa_oidc_loggable(r->pool, idp, 40));
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00204)
                          "login refused: %s", err.desc);
            return fedauth_error(r, HTTP_NOT_FOUND, err.code,
                                 "There is no such identity provider.");
        }
        return fedauth_start_login(r, prov, return_to);
    }
    if (sc->providers->nelts == 1) {
        return fedauth_start_login(r, APR_ARRAY_IDX(sc->providers, 0,
                                   fedauth_provider_t *), return_to);
    }
    for (i = 0; i < sc->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        list = apr_pstrcat(r->pool, list, "<li><a href=\"/fedauth/login?idp=",
                           fa_url_encode(r->pool, prov->idp.id),
                           "&amp;return_to=",
                           fa_url_encode(r->pool, return_to),
                           "\">Continue with ",
                           fa_html_escape(r->pool, prov->idp.display_name),
                           "</a></li>\n", NULL);
    }
    return send_page(r, HTTP_OK, "Sign in",
                     apr_pstrcat(r->pool, "<ul>\n", list, "</ul>\n", NULL));
}

static int handle_logout(request_rec *r, fedauth_srv_t *sc)
{
    const char *return_to = query_param(r, "return_to");
    const char *key = NULL;
    fa_store_t *store = fedauth_store(r);
    fa_session_t *s;

    if (fedauth_session_load(r, sc, &s, &key) == APR_SUCCESS && key) {
        store->del(store, key, r->pool);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00205)
                      "signed out %s",
                      fa_oidc_loggable(r->pool, s->user, 256));
    }
    fedauth_cookie_set(r, fedauth_cookie_name(sc), "", 0);
    no_store(r);
    if (return_to && fa_return_to_ok(return_to)) {
        apr_table_setn(r->headers_out, "Location",
                       ap_construct_url(r->pool, return_to, r));
        return HTTP_MOVED_TEMPORARILY;
    }
    return send_page(r, HTTP_OK, "Signed out",
                     "<p>You are signed out.</p>\n"
                     "<p><a href=\"/\">Back to the start page</a></p>\n");
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

static int handle_session(request_rec *r, fedauth_srv_t *sc)
{
    fa_session_t *s;
    json_t *doc, *roles, *attrs;
    char *copy, *tok, *last;
    apr_status_t rv;
    int i;

    rv = fedauth_session_load(r, sc, &s, NULL);
    if (rv == APR_NOTFOUND) {
        return send_json(r, HTTP_UNAUTHORIZED,
                         json_pack("{s:s}", "error", "no_session"));
    }
    if (rv != APR_SUCCESS) {
        return send_json(r, HTTP_SERVICE_UNAVAILABLE,
                         json_pack("{s:s}", "error", "store_unavailable"));
    }
    roles = json_array();
    copy = apr_pstrdup(r->pool, s->roles);
    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        json_array_append_new(roles, json_string(tok));
    }
    attrs = json_object();
    for (i = 0; s->attrs && i < s->attrs->nelts; i++) {
        fa_attr_t *a = &APR_ARRAY_IDX(s->attrs, i, fa_attr_t);
        json_object_set_new(attrs, a->name, json_string(a->value));
    }
    doc = json_pack("{s:s?, s:s?, s:s?, s:o, s:o, s:I}",
                    "user", s->user, "sub", s->sub, "idp", s->idp,
                    "roles", roles, "attributes", attrs, "expires_at",
                    (json_int_t)fa_session_expires_at(s,
                        fedauth_idle_timeout(sc), fedauth_max_age(sc)));
    return send_json(r, HTTP_OK, doc ? doc : json_object());
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
        return handle_session(r, sc);
    }
    return DECLINED;
}
