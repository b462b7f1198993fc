/* SPDX-License-Identifier: Apache-2.0 */
/* fa_oidc.c - the OpenID Connect client protocol; see fa_oidc.h. */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "fa_oidc.h"
#include "fa_json.h"
#include "fa_log.h"
#include "fa_jwt.h"
#include "fa_clientkey.h"

static const char *json_str(apr_pool_t *p, json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    return json_is_string(v) ? apr_pstrdup(p, json_string_value(v)) : NULL;
}

const char *fa_oidc_loggable(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t len, i;
    char *out;

    if (!s) {
        return "(none)";
    }
    len = strlen(s);
    if (len > max) {
        len = max;
    }
    out = apr_pstrmemdup(p, s, len);
    for (i = 0; i < len; i++) {
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
            out[i] = '?';
        }
    }
    return out;
}

/* An endpoint the provider may offer: NULL when absent or not secure
 * enough (https, or http to a loopback host). */
static const char *optional_endpoint(apr_pool_t *p, json_t *doc,
                                     const char *name)
{
    const char *url = json_str(p, doc, name);

    return url && fa_url_is_secure_enough(url) ? url : NULL;
}

apr_status_t fa_oidc_metadata_parse(apr_pool_t *p, const char *json,
                                    apr_size_t len,
                                    const char *expected_issuer,
                                    fa_oidc_metadata_t **pmd, fa_err_t *err)
{
    fa_oidc_metadata_t *md;
    json_t *doc, *v;

    *pmd = NULL;
    if (len > FA_OIDC_MAX_DISCOVERY) {
        return fa_err_set(err, "invalid_discovery",
                          "discovery document larger than %d bytes",
                          FA_OIDC_MAX_DISCOVERY);
    }
    doc = fa_json_object_parse(p, json, len);
    if (!doc) {
        return fa_err_set(err, "invalid_discovery",
                          "discovery document is not a JSON object");
    }
    md = apr_pcalloc(p, sizeof(*md));
    md->issuer = json_str(p, doc, "issuer");
    if (!md->issuer || strcmp(md->issuer, expected_issuer) != 0) {
        return fa_err_set(err, "discovery_issuer_mismatch",
                          "discovery issuer '%s' is not the configured '%s'",
                          fa_oidc_loggable(p, md->issuer, 200),
                          expected_issuer);
    }
    md->authorization_endpoint = json_str(p, doc, "authorization_endpoint");
    md->token_endpoint = json_str(p, doc, "token_endpoint");
    md->jwks_uri = json_str(p, doc, "jwks_uri");
    md->userinfo_endpoint = json_str(p, doc, "userinfo_endpoint");
    md->end_session_endpoint = json_str(p, doc, "end_session_endpoint");
    v = json_object_get(doc, "authorization_response_iss_parameter_supported");
    md->iss_parameter_supported = json_is_true(v);
    md->introspection_endpoint = optional_endpoint(p, doc,
                                                   "introspection_endpoint");
    md->revocation_endpoint = optional_endpoint(p, doc,
                                                "revocation_endpoint");
    md->par_endpoint = optional_endpoint(p, doc,
        "pushed_authorization_request_endpoint");
    md->require_par = json_is_true(json_object_get(doc,
        "require_pushed_authorization_requests"));
    md->frontchannel_logout_supported = json_is_true(json_object_get(doc,
        "frontchannel_logout_supported"));
    md->frontchannel_logout_session_supported = json_is_true(
        json_object_get(doc, "frontchannel_logout_session_supported"));
    if (!fa_url_is_secure_enough(md->authorization_endpoint)
        || !fa_url_is_secure_enough(md->token_endpoint)
        || !fa_url_is_secure_enough(md->jwks_uri)) {
        return fa_err_set(err, "invalid_discovery",
                          "discovery document lacks an https "
                          "authorization_endpoint, token_endpoint or "
                          "jwks_uri (http only to a loopback host, no "
                          "user name or password in the URL)");
    }
    if (md->userinfo_endpoint
        && !fa_url_is_secure_enough(md->userinfo_endpoint)) {
        md->userinfo_endpoint = NULL;
    }
    if (md->end_session_endpoint
        && !fa_url_is_secure_enough(md->end_session_endpoint)) {
        md->end_session_endpoint = NULL;
    }
    *pmd = md;
    return APR_SUCCESS;
}

char *fa_oidc_pkce_challenge(apr_pool_t *p, const char *verifier)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(),
                    NULL)) {
        return NULL;
    }
    return fa_b64url_encode(p, md, mdlen);
}

const char *fa_oidc_scope(apr_pool_t *p, const char *configured)
{
    char *copy, *tok, *last;
    const char *out = "openid";
    apr_array_header_t *seen = apr_array_make(p, 8, sizeof(char *));
    int i, dup;

    if (!configured) {
        return out;
    }
    copy = apr_pstrdup(p, configured);
    for (tok = apr_strtok(copy, " \t", &last); tok;
         tok = apr_strtok(NULL, " \t", &last)) {
        if (!strcmp(tok, "openid")) {
            continue;
        }
        for (dup = 0, i = 0; i < seen->nelts; i++) {
            if (!strcmp(APR_ARRAY_IDX(seen, i, char *), tok)) {
                dup = 1;
                break;
            }
        }
        if (!dup) {
            APR_ARRAY_PUSH(seen, char *) = tok;
            out = apr_pstrcat(p, out, " ", tok, NULL);
        }
    }
    return out;
}

typedef struct query_ctx_t {
    apr_pool_t *p;
    char *url;
} query_ctx_t;

static int add_param(void *data, const char *key, const char *value)
{
    query_ctx_t *q = data;

    q->url = apr_pstrcat(q->p, q->url, "&", fa_url_encode(q->p, key), "=",
                         fa_url_encode(q->p, value), NULL);
    return 1;
}

/* The parameters of an authorization request after response_type and
 * client_id, each "&name=value": the same for a URL and for a pushed
 * request. */
static char *request_params(apr_pool_t *p, const fa_oidc_client_t *client,
                            const char *redirect_uri, const char *state,
                            const char *nonce, const char *code_challenge,
                            const apr_table_t *extra)
{
    query_ctx_t q;

    q.p = p;
    q.url = apr_pstrcat(p,
        "&redirect_uri=", fa_url_encode(p, redirect_uri),
        "&scope=", fa_url_encode(p, fa_oidc_scope(p, client->scopes)),
        "&state=", fa_url_encode(p, state),
        "&nonce=", fa_url_encode(p, nonce),
        "&code_challenge=", fa_url_encode(p, code_challenge),
        "&code_challenge_method=S256", NULL);
    if (extra) {
        apr_table_do(add_param, &q, extra, NULL);
    }
    return q.url;
}

char *fa_oidc_auth_url(apr_pool_t *p, const fa_oidc_metadata_t *md,
                       const fa_oidc_client_t *client,
                       const char *redirect_uri, const char *state,
                       const char *nonce, const char *code_challenge,
                       const apr_table_t *extra)
{
    return apr_pstrcat(p, md->authorization_endpoint,
        strchr(md->authorization_endpoint, '?') ? "&" : "?",
        "response_type=code",
        "&client_id=", fa_url_encode(p, client->client_id),
        request_params(p, client, redirect_uri, state, nonce,
                       code_challenge, extra), NULL);
}

char *fa_oidc_par_body(apr_pool_t *p, const fa_oidc_client_t *client,
                       const char *redirect_uri, const char *state,
                       const char *nonce, const char *code_challenge,
                       const apr_table_t *extra)
{
    /* client_id is a parameter of the request (oidc-provider insists on
     * it); fa_oidc_client_post already adds it for every method but
     * client_secret_basic, and a parameter twice is refused. */
    int added = client->token_auth != FA_TOKEN_AUTH_BASIC;

    return apr_pstrcat(p, "response_type=code",
                       added ? "" : "&client_id=",
                       added ? "" : fa_url_encode(p, client->client_id),
                       request_params(p, client, redirect_uri, state, nonce,
                                      code_challenge, extra), NULL);
}

static const char *basic_credentials(apr_pool_t *p,
                                     const fa_oidc_client_t *client)
{
    /* RFC 6749 2.3.1: both parts form-urlencoded before base64. */
    const char *pair = apr_pstrcat(p, fa_url_encode(p, client->client_id),
                                   ":",
                                   fa_url_encode(p, client->client_secret),
                                   NULL);

    return apr_pstrcat(p, "Basic ",
                       fa_b64_encode(p, (const unsigned char *)pair,
                                     strlen(pair)), NULL);
}

const char *fa_oidc_token_auth_name(fa_token_auth_t auth)
{
    switch (auth) {
    case FA_TOKEN_AUTH_BASIC:
        return "client_secret_basic";
    case FA_TOKEN_AUTH_POST:
        return "client_secret_post";
    case FA_TOKEN_AUTH_PRIVATE_KEY_JWT:
        return "private_key_jwt";
    case FA_TOKEN_AUTH_SECRET_JWT:
        return "client_secret_jwt";
    default:
        return "none";
    }
}

/* body with a client assertion (RFC 7523 2.2) and the client id. */
static apr_status_t add_assertion(apr_pool_t *p,
                                  const fa_oidc_metadata_t *md,
                                  const fa_oidc_client_t *client,
                                  const char **body, fa_err_t *err)
{
    const char *assertion;
    const fa_client_key_t *key = NULL;

    if (client->token_auth == FA_TOKEN_AUTH_PRIVATE_KEY_JWT) {
        key = client->client_key;
        if (!key) {
            return fa_err_set(err, "internal_error", "private_key_jwt "
                              "without a ClientKeyFile");
        }
    }
    if (fa_client_assertion(p, key, client->client_secret,
                            client->client_id, client->assertion_aud_issuer
                            ? md->issuer : md->token_endpoint,
                            fa_now_sec(), &assertion, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *body = apr_pstrcat(p, *body, "&client_assertion_type=urn%3Aietf%3A"
                        "params%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
                        "&client_assertion=", assertion,
                        "&client_id=", fa_url_encode(p, client->client_id),
                        NULL);
    return APR_SUCCESS;
}

apr_status_t fa_oidc_client_post(apr_pool_t *p, fa_http_t *http,
                                 const fa_oidc_metadata_t *md,
                                 const fa_oidc_client_t *client,
                                 const char *url, const char *body,
                                 apr_size_t max_response,
                                 fa_http_response_t **presp, fa_err_t *err)
{
    fa_http_request_t req;

    *presp = NULL;
    memset(&req, 0, sizeof(req));
    switch (client->token_auth) {
    case FA_TOKEN_AUTH_BASIC:
        req.authorization = basic_credentials(p, client);
        break;
    case FA_TOKEN_AUTH_POST:
        body = apr_pstrcat(p, body,
            "&client_id=", fa_url_encode(p, client->client_id),
            "&client_secret=", fa_url_encode(p, client->client_secret),
            NULL);
        break;
    case FA_TOKEN_AUTH_PRIVATE_KEY_JWT:
    case FA_TOKEN_AUTH_SECRET_JWT:
        if (add_assertion(p, md, client, &body, err) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        break;
    default:
        body = apr_pstrcat(p, body,
            "&client_id=", fa_url_encode(p, client->client_id), NULL);
        break;
    }
    req.method = "POST";
    req.url = url;
    req.body = body;
    req.body_len = strlen(body);
    req.content_type = "application/x-www-form-urlencoded";
    req.timeout_sec = client->timeout_sec;
    req.max_response = max_response;
    return http->perform(http, p, &req, presp, err);
}

/* POSTs a grant (body without client authentication) to the token
 * endpoint with the client's authentication, and reads the answer. */
static apr_status_t token_post(apr_pool_t *p, fa_http_t *http,
                               const fa_oidc_metadata_t *md,
                               const fa_oidc_client_t *client,
                               const char *body, int need_id_token,
                               fa_oidc_tokens_t **ptok, fa_err_t *err)
{
    fa_http_response_t *resp;
    apr_status_t rv;

    *ptok = NULL;
    rv = fa_oidc_client_post(p, http, md, client, md->token_endpoint, body,
                             FA_OIDC_MAX_TOKEN_RESPONSE, &resp, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = fa_oidc_token_response(p, resp->status, resp->body,
                                resp->body_len, need_id_token, ptok, err);
    if (rv != APR_SUCCESS && err && !strcmp(err->code, "token_error")) {
        /* Which credential the IdP refused: the method, and for a key
         * its kid, so that a rollover mistake shows in the log. */
        const char *was = apr_pstrdup(p, err->desc);
        const fa_client_key_t *key = client->client_key;
        int with_kid = client->token_auth == FA_TOKEN_AUTH_PRIVATE_KEY_JWT
                       && key;
        fa_err_set(err, "token_error", "%s%s%s: %s",
                   fa_oidc_token_auth_name(client->token_auth),
                   with_kid ? " kid " : "", with_kid ? key->kid : "", was);
    }
    return rv;
}

apr_status_t fa_oidc_token_response(apr_pool_t *p, int status,
                                    const char *body, apr_size_t len,
                                    int need_id_token,
                                    fa_oidc_tokens_t **ptok, fa_err_t *err)
{
    fa_oidc_tokens_t *tok;
    json_t *doc, *v;
    const char *oerr;

    *ptok = NULL;
    doc = fa_json_object_parse(p, body, len);
    if (status >= 400 && status < 500 && doc
        && (oerr = json_str(p, doc, "error")) != NULL) {
        return fa_err_set(err, "token_error",
                          "token endpoint answered %d error=%s (%s)",
                          status, fa_oidc_loggable(p, oerr, 64),
                          fa_oidc_loggable(p, json_str(p, doc,
                              "error_description"), 160));
    }
    if (status != 200 || !doc) {
        return fa_err_set(err, "idp_bad_response",
                          "token endpoint answered %d with %s",
                          status, doc ? "JSON" : "no JSON object");
    }
    tok = apr_pcalloc(p, sizeof(*tok));
    tok->id_token = json_str(p, doc, "id_token");
    tok->access_token = json_str(p, doc, "access_token");
    tok->token_type = json_str(p, doc, "token_type");
    tok->refresh_token = json_str(p, doc, "refresh_token");
    v = json_object_get(doc, "expires_in");
    tok->expires_in = json_is_integer(v) && json_integer_value(v) >= 0
                      ? json_integer_value(v) : -1;
    if (need_id_token && !tok->id_token) {
        return fa_err_set(err, "idp_bad_response",
                          "token endpoint response has no id_token");
    }
    if (!need_id_token && !tok->access_token) {
        return fa_err_set(err, "idp_bad_response",
                          "token endpoint response has no access_token");
    }
    *ptok = tok;
    return APR_SUCCESS;
}

apr_status_t fa_oidc_token_request(apr_pool_t *p, fa_http_t *http,
                                   const fa_oidc_metadata_t *md,
                                   const fa_oidc_client_t *client,
                                   const char *redirect_uri,
                                   const char *code, const char *verifier,
                                   fa_oidc_tokens_t **ptok, fa_err_t *err)
{
    const char *body;

    body = apr_pstrcat(p, "grant_type=authorization_code",
                       "&code=", fa_url_encode(p, code),
                       "&redirect_uri=", fa_url_encode(p, redirect_uri),
                       "&code_verifier=", fa_url_encode(p, verifier), NULL);
    return token_post(p, http, md, client, body, 1, ptok, err);
}

apr_status_t fa_oidc_refresh_request(apr_pool_t *p, fa_http_t *http,
                                     const fa_oidc_metadata_t *md,
                                     const fa_oidc_client_t *client,
                                     const char *refresh_token,
                                     fa_oidc_tokens_t **ptok, fa_err_t *err)
{
    const char *body;

    body = apr_pstrcat(p, "grant_type=refresh_token",
                       "&refresh_token=", fa_url_encode(p, refresh_token),
                       NULL);
    return token_post(p, http, md, client, body, 0, ptok, err);
}

apr_int64_t fa_oidc_access_expiry(apr_pool_t *p, const fa_oidc_tokens_t *tok,
                                  apr_int64_t now)
{
    fa_jwt_t *jwt;
    fa_err_t err;
    apr_int64_t exp;

    if (!tok->access_token) {
        return 0;
    }
    if (tok->expires_in >= 0 && tok->expires_in < ((apr_int64_t)1 << 32)) {
        return now + tok->expires_in;
    }
    memset(&err, 0, sizeof(err));
    if (strchr(tok->access_token, '.')
        && fa_jwt_parse(p, tok->access_token, strlen(tok->access_token),
                        &jwt, &err) == APR_SUCCESS
        && (exp = fa_jwt_claim_int(jwt, "exp")) > 0
        && exp < ((apr_int64_t)1 << 40)) {
        return exp;
    }
    return 0;
}

int fa_oidc_token_ok(const char *token)
{
    apr_size_t i;

    if (!token || !*token) {
        return 0;
    }
    for (i = 0; token[i]; i++) {
        if (i >= 8192 || token[i] <= 0x20 || token[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

apr_status_t fa_oidc_userinfo(apr_pool_t *p, fa_http_t *http,
                              const fa_oidc_metadata_t *md,
                              const char *access_token, int timeout_sec,
                              json_t **pinfo, fa_err_t *err)
{
    int status;

    return fa_oidc_userinfo_read(p, http, md, access_token, timeout_sec,
                                 &status, pinfo, err);
}

apr_status_t fa_oidc_userinfo_read(apr_pool_t *p, fa_http_t *http,
                                   const fa_oidc_metadata_t *md,
                                   const char *access_token,
                                   int timeout_sec, int *pstatus,
                                   json_t **pinfo, fa_err_t *err)
{
    fa_http_request_t req;
    fa_http_response_t *resp;
    json_t *doc;
    apr_status_t rv;

    *pinfo = NULL;
    *pstatus = 0;
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = md->userinfo_endpoint;
    req.authorization = apr_pstrcat(p, "Bearer ", access_token, NULL);
    req.timeout_sec = timeout_sec;
    req.max_response = FA_OIDC_MAX_USERINFO;
    if ((rv = http->perform(http, p, &req, &resp, err)) != APR_SUCCESS) {
        return rv;
    }
    *pstatus = resp->status;
    if (resp->status != 200) {
        return fa_err_set(err, "idp_bad_response", "userinfo answered %d",
                          resp->status);
    }
    if (resp->content_type
        && !strncasecmp(resp->content_type, "application/jwt", 15)) {
        return fa_err_set(err, "idp_bad_response", "userinfo answered with "
                          "a signed JWT, which is not supported");
    }
    if (!(doc = fa_json_object_parse(p, resp->body, resp->body_len))) {
        return fa_err_set(err, "idp_bad_response", "userinfo is not a JSON "
                          "object");
    }
    *pinfo = doc;
    return APR_SUCCESS;
}

apr_status_t fa_oidc_revoke(apr_pool_t *p, fa_http_t *http,
                            const fa_oidc_metadata_t *md,
                            const fa_oidc_client_t *client,
                            const char *token, const char *hint,
                            fa_err_t *err)
{
    fa_http_response_t *resp;
    apr_status_t rv;
    const char *body;

    if (!md->revocation_endpoint) {
        return fa_err_set(err, "invalid_discovery", "the provider has no "
                          "revocation_endpoint");
    }
    body = apr_pstrcat(p, "token=", fa_url_encode(p, token),
                       hint ? "&token_type_hint=" : "",
                       hint ? fa_url_encode(p, hint) : "", NULL);
    rv = fa_oidc_client_post(p, http, md, client, md->revocation_endpoint,
                             body, FA_OIDC_MAX_REVOCATION_RESPONSE, &resp,
                             err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* RFC 7009 2.2: 200 also for a token the server does not know (any
     * more); anything else is a refusal or a failure. */
    if (resp->status != 200) {
        json_t *doc = fa_json_object_parse(p, resp->body, resp->body_len);
        const char *oerr = doc ? json_str(p, doc, "error") : NULL;

        return fa_err_set(err, oerr ? "token_error" : "idp_bad_response",
                          "revocation endpoint answered %d%s%s", resp->status,
                          oerr ? " error=" : "",
                          oerr ? fa_oidc_loggable(p, oerr, 64) : "");
    }
    return APR_SUCCESS;
}

const char *fa_oidc_origin(apr_pool_t *p, const char *url)
{
    const char *host, *end;
    apr_size_t i;

    if (!url) {
        return NULL;
    }
    if (!strncasecmp(url, "https://", 8)) {
        host = url + 8;
    }
    else if (!strncasecmp(url, "http://", 7)) {
        host = url + 7;
    }
    else {
        return NULL;
    }
    end = host + strcspn(host, "/?#");
    if (end == host || (apr_size_t)(end - url) > 512) {
        return NULL;
    }
    /* Host names, IPv4 and [IPv6] literals and a port: nothing that could
     * end a directive of a Content-Security-Policy or name a user. */
    for (i = 0; host + i < end; i++) {
        if (!apr_isalnum(host[i]) && !strchr(".-:[]", host[i])) {
            return NULL;
        }
    }
    return apr_pstrmemdup(p, url, (apr_size_t)(end - url));
}

int fa_oidc_invalid_grant(const fa_err_t *err)
{
    /* token_error's description, as fa_oidc_token_response writes it. */
    return err->code && !strcmp(err->code, "token_error")
           && strstr(err->desc, " error=invalid_grant (") != NULL;
}
