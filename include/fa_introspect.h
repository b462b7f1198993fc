/* SPDX-License-Identifier: Apache-2.0 */
/* fa_introspect.h - OAuth 2.0 Token Introspection (RFC 7662) of opaque
 * bearer tokens: the request (through fa_oidc_client_post, so the client
 * authenticates exactly as at the token endpoint) and the checks of the
 * answer, which stand in for the checks of a JWT access token. No state;
 * the caller caches. Part of the httpd-free core. */
#ifndef FA_INTROSPECT_H
#define FA_INTROSPECT_H

#include <apr_pools.h>
#include <jansson.h>
#include "fa_util.h"
#include "fa_http.h"
#include "fa_oidc.h"
#include "fa_idp.h"

/* Largest introspection answer read. */
#define FA_INTROSPECT_MAX_RESPONSE (64 * 1024)
/* How long (s) an answer that a token is not active, or that fails the
 * checks below, is remembered: a flood of bad tokens costs the IdP one
 * call per token per this time. */
#define FA_INTROSPECT_INACTIVE_TTL 10

/* What an active token must say. */
typedef struct fa_introspect_expect_t {
    const fa_idp_conf_t *idp;   /* iss, when present, is one of its
                                 * issuers; its client id is the default
                                 * audience */
    const char *audience;       /* NULL: the client id */
    const char *scopes;         /* space-separated scopes the token must
                                 * all have, or NULL */
    apr_int64_t now;            /* seconds since the epoch */
    int leeway;                 /* seconds, usually FA_JWT_LEEWAY */
} fa_introspect_expect_t;

/* POSTs token=<token>&token_type_hint=access_token to url (the provider's
 * introspection endpoint) with the client's authentication. Errors as
 * fa_oidc_client_post ("idp_unreachable"); any HTTP status is a
 * response. The token never reaches err. */
apr_status_t fa_introspect_request(apr_pool_t *p, fa_http_t *http,
                                   const fa_oidc_metadata_t *md,
                                   const fa_oidc_client_t *client,
                                   const char *url, const char *token,
                                   fa_http_response_t **presp,
                                   fa_err_t *err);

/* Reads an introspection answer and checks it, each rule with its code:
 *   status not 200, larger than FA_INTROSPECT_MAX_RESPONSE, not a JSON
 *   object, active not a boolean, exp/nbf not numbers, aud not a string
 *   or an array of strings, scope not a string  -> "idp_bad_response"
 *   active false                               -> "token_inactive"
 *   token_type refresh_token (or Keycloak's typ Refresh)
 *                                              -> "wrong_token_type"
 *   exp <= now - leeway                        -> "token_expired"
 *   nbf > now + leeway                         -> "token_not_yet_valid"
 *   iss present and not the provider's         -> "wrong_iss"
 *   aud present without the audience, or, with no aud, client_id not
 *   the audience (a token some other client got for itself is no pass
 *   here)                                      -> "wrong_aud"
 *   a required scope missing                   -> "insufficient_scope"
 *   sub missing, not a string, empty or over 255 bytes
 *                                              -> "missing_sub"
 * On success *pclaims is the answer (a JSON object released with p),
 * which maps to a user like the claims of a JWT access token. */
apr_status_t fa_introspect_check(apr_pool_t *p, int status, const char *body,
                                 apr_size_t len,
                                 const fa_introspect_expect_t *expect,
                                 json_t **pclaims, fa_err_t *err);

/* Until when (seconds since the epoch) an active answer may be reused:
 * the earlier of its exp and now + max_sec; now + max_sec when it has no
 * exp. */
apr_int64_t fa_introspect_until(json_t *claims, apr_int64_t now,
                                int max_sec);

#endif
