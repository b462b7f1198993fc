/* SPDX-License-Identifier: Apache-2.0 */
/* fa_oidc.h - the OpenID Connect client protocol: discovery documents,
 * the authorization request (code flow with PKCE S256) and the token
 * request. No state, no I/O of its own: the HTTP client is passed in.
 * Part of the httpd-free core. */
#ifndef FA_OIDC_H
#define FA_OIDC_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "fa_util.h"
#include "fa_http.h"
#include <jansson.h>

/* Largest discovery document and token response accepted. */
#define FA_OIDC_MAX_DISCOVERY (64 * 1024)
#define FA_OIDC_MAX_TOKEN_RESPONSE (128 * 1024)

typedef struct fa_oidc_metadata_t {
    const char *issuer;
    const char *authorization_endpoint;
    const char *token_endpoint;
    const char *jwks_uri;
    const char *userinfo_endpoint;      /* NULL when not offered */
    const char *end_session_endpoint;   /* NULL when not offered */
    int iss_parameter_supported;        /* RFC 9207 */
    const char *introspection_endpoint; /* RFC 7662, NULL when not offered */
    const char *revocation_endpoint;    /* RFC 7009, NULL when not offered */
    const char *par_endpoint;           /* RFC 9126 pushed_authorization_
                                         * request_endpoint, or NULL */
    int require_par;                    /* require_pushed_authorization_
                                         * requests is true */
    int frontchannel_logout_supported;  /* Front-Channel Logout 1.0 */
    int frontchannel_logout_session_supported;
} fa_oidc_metadata_t;

typedef enum {
    FA_TOKEN_AUTH_UNSET = 0,
    FA_TOKEN_AUTH_BASIC,                /* client_secret_basic */
    FA_TOKEN_AUTH_POST,                 /* client_secret_post */
    FA_TOKEN_AUTH_NONE,                 /* public client: PKCE only */
    FA_TOKEN_AUTH_PRIVATE_KEY_JWT,      /* RFC 7523 assertion, own key */
    FA_TOKEN_AUTH_SECRET_JWT            /* the same, HS256 over the secret */
} fa_token_auth_t;

struct fa_client_key_t;

typedef struct fa_oidc_client_t {
    const char *client_id;
    const char *client_secret;          /* NULL for a public client */
    fa_token_auth_t token_auth;
    const char *scopes;                 /* space-separated, openid added */
    int timeout_sec;
    /* private_key_jwt: the key that signs the assertions (the first
     * ClientKeyFile), read at start (fa_clientkey.h); else NULL. */
    const struct fa_client_key_t *client_key;
    int assertion_aud_issuer;           /* 1: assertions name the issuer as
                                         * aud (FAPI 2.0), 0: the token
                                         * endpoint (OIDC Core 9) */
} fa_oidc_client_t;

/* The OAuth name of a client authentication method
 * ("client_secret_basic", "private_key_jwt", ...). */
const char *fa_oidc_token_auth_name(fa_token_auth_t auth);

typedef struct fa_oidc_tokens_t {
    const char *id_token;
    const char *access_token;           /* never logged */
    const char *token_type;
    apr_int64_t expires_in;             /* -1 when absent */
    const char *refresh_token;          /* NULL when none; never logged */
} fa_oidc_tokens_t;

/* Parses a discovery document. issuer must equal expected_issuer exactly
 * ("discovery_issuer_mismatch"); authorization, token and jwks endpoints
 * must be present and https (http only to loopback hosts)
 * ("invalid_discovery"). The result is allocated from p. */
apr_status_t fa_oidc_metadata_parse(apr_pool_t *p, const char *json,
                                    apr_size_t len,
                                    const char *expected_issuer,
                                    fa_oidc_metadata_t **pmd, fa_err_t *err);

/* The S256 code challenge of a PKCE verifier (RFC 7636 4.2). */
char *fa_oidc_pkce_challenge(apr_pool_t *p, const char *verifier);

/* The scope value to send: the configured scopes with "openid" first and
 * each scope once. */
const char *fa_oidc_scope(apr_pool_t *p, const char *configured);

/* Builds the authorization request URL. extra holds further parameters
 * (prompt, acr_values, login_hint, response_mode, ...), may be NULL. */
char *fa_oidc_auth_url(apr_pool_t *p, const fa_oidc_metadata_t *md,
                       const fa_oidc_client_t *client,
                       const char *redirect_uri, const char *state,
                       const char *nonce, const char *code_challenge,
                       const apr_table_t *extra);

/* The same request as fa_oidc_auth_url, as a form body for a pushed
 * authorization request (RFC 9126; see fa_par.h), to be sent with
 * fa_oidc_client_post: with client_id, except where fa_oidc_client_post
 * adds it itself (client_secret_post, none), as a parameter may appear
 * only once. */
char *fa_oidc_par_body(apr_pool_t *p, const fa_oidc_client_t *client,
                       const char *redirect_uri, const char *state,
                       const char *nonce, const char *code_challenge,
                       const apr_table_t *extra);

/* POSTs a form body (without client authentication) to url, one of the
 * provider's endpoints that authenticate the client (token,
 * introspection, revocation), adding the client's authentication as
 * client->token_auth says. Every call that authenticates the client goes
 * through here. private_key_jwt and client_secret_jwt send a fresh
 * assertion (fa_client_assertion) whose aud is the token endpoint of md
 * (OpenID Connect Core 1.0 section 9), or its issuer with
 * client->assertion_aud_issuer, whatever url is. Errors as
 * fa_http_t's perform, and "internal_error" when no assertion could be
 * signed; an HTTP error status is not an error here. */
apr_status_t fa_oidc_client_post(apr_pool_t *p, fa_http_t *http,
                                 const fa_oidc_metadata_t *md,
                                 const fa_oidc_client_t *client,
                                 const char *url, const char *body,
                                 apr_size_t max_response,
                                 fa_http_response_t **presp, fa_err_t *err);

/* Exchanges an authorization code at the token endpoint. Errors:
 * "idp_unreachable", "idp_bad_response" (not JSON, 5xx, no id_token),
 * "token_error" (the IdP answered with an OAuth error; desc holds its
 * error code and a cut, sanitized description). */
apr_status_t fa_oidc_token_request(apr_pool_t *p, fa_http_t *http,
                                   const fa_oidc_metadata_t *md,
                                   const fa_oidc_client_t *client,
                                   const char *redirect_uri,
                                   const char *code, const char *verifier,
                                   fa_oidc_tokens_t **ptok, fa_err_t *err);

/* Uses a refresh token at the token endpoint (RFC 6749 6; client
 * authentication as for the code). The answer need not hold an ID token
 * but must hold an access token. Errors as fa_oidc_token_request;
 * "token_error" with invalid_grant when the IdP no longer honours the
 * refresh token. The tokens never reach err. */
apr_status_t fa_oidc_refresh_request(apr_pool_t *p, fa_http_t *http,
                                     const fa_oidc_metadata_t *md,
                                     const fa_oidc_client_t *client,
                                     const char *refresh_token,
                                     fa_oidc_tokens_t **ptok, fa_err_t *err);

/* Reads a token endpoint answer (status and body): what both requests
 * above do with it; need_id_token: 1 for a code, 0 for a refresh (which
 * then needs an access token). */
apr_status_t fa_oidc_token_response(apr_pool_t *p, int status,
                                    const char *body, apr_size_t len,
                                    int need_id_token,
                                    fa_oidc_tokens_t **ptok, fa_err_t *err);

/* When the access token of tok expires (seconds since epoch): now +
 * expires_in when the answer has it, else the exp of the access token when
 * it is a JWT (read, not verified: it only times the refresh), else 0
 * (unknown). */
apr_int64_t fa_oidc_access_expiry(apr_pool_t *p, const fa_oidc_tokens_t *tok,
                                  apr_int64_t now);

/* 1 when a token can be passed on as a header value and kept in a
 * session record: 1 to 8192 visible ASCII characters (RFC 6750 b64token
 * is narrower; no space, control or 8-bit byte). */
int fa_oidc_token_ok(const char *token);

/* Largest revocation response read (RFC 7009: the body is empty). */
#define FA_OIDC_MAX_REVOCATION_RESPONSE (16 * 1024)

/* Revokes one token at the provider's revocation_endpoint (RFC 7009),
 * the client authenticating as at the token endpoint
 * (fa_oidc_client_post); hint is the token_type_hint ("refresh_token",
 * "access_token") or NULL. Within client->timeout_sec. APR_SUCCESS when
 * the IdP answered 200. Errors: "invalid_discovery" (no
 * revocation_endpoint), "idp_unreachable", "token_error" (an OAuth error
 * answer: desc holds its status and error code), "idp_bad_response"
 * (any other status). The token never reaches err. */
apr_status_t fa_oidc_revoke(apr_pool_t *p, fa_http_t *http,
                            const fa_oidc_metadata_t *md,
                            const fa_oidc_client_t *client,
                            const char *token, const char *hint,
                            fa_err_t *err);

/* The origin of an http(s) URL, "scheme://host[:port]" as written, from
 * p; NULL when url is not http(s), has user information, or holds
 * anything but letters, digits and . - : [ ] in its host part (so the
 * result can stand in a Content-Security-Policy source list). */
const char *fa_oidc_origin(apr_pool_t *p, const char *url);

/* Largest userinfo response accepted. */
#define FA_OIDC_MAX_USERINFO (64 * 1024)

/* Fetches the userinfo endpoint with the access token. The result is a
 * JSON object released with p. Errors: "idp_unreachable",
 * "idp_bad_response" (not 200, not a JSON object, or a signed JWT, which
 * is not supported). */
apr_status_t fa_oidc_userinfo(apr_pool_t *p, fa_http_t *http,
                              const fa_oidc_metadata_t *md,
                              const char *access_token, int timeout_sec,
                              json_t **pinfo, fa_err_t *err);

/* The same, also giving the HTTP status of the answer (*pstatus, 0 when
 * there was none): a re-read (UserInfoRefresh) tells a token the IdP no
 * longer honours (401) from an IdP that fails. */
apr_status_t fa_oidc_userinfo_read(apr_pool_t *p, fa_http_t *http,
                                   const fa_oidc_metadata_t *md,
                                   const char *access_token,
                                   int timeout_sec, int *pstatus,
                                   json_t **pinfo, fa_err_t *err);

/* 1 when err is a token endpoint's invalid_grant ("token_error" from
 * fa_oidc_refresh_request): the IdP no longer honours the grant. */
int fa_oidc_invalid_grant(const fa_err_t *err);

/* A printable, bounded copy of a value from the outside for a log line:
 * control characters become '?', at most max bytes. */
const char *fa_oidc_loggable(apr_pool_t *p, const char *s, apr_size_t max);

#endif
