/* SPDX-License-Identifier: Apache-2.0 */
/* fa_idp.h - one identity provider at run time: its configuration, and a
 * per-process cache of its discovery document and JWKS (fetched lazily,
 * kept for FA_IDP_CACHE_TTL, refetched once when a token's key may be one
 * the cache does not have, but never more often than FA_IDP_REFETCH_MIN).
 * Thread-safe. Part of the httpd-free core. */
#ifndef FA_IDP_H
#define FA_IDP_H

#include <apr_pools.h>
#include "fa_util.h"
#include "fa_http.h"
#include "fa_oidc.h"
#include "fa_jwt.h"
#include "fa_metrics.h"

#define FA_IDP_CACHE_TTL 3600
#define FA_IDP_REFETCH_MIN 10

typedef struct fa_idp_conf_t {
    const char *id;               /* [a-z0-9_-]{1,32} */
    const char *display_name;
    const char *issuer;
    const char *metadata_url;     /* NULL: issuer + well-known suffix */
    fa_oidc_client_t client;
    apr_array_header_t *valid_issuers; /* of const char *: more accepted iss,
                                        * may hold {tenantid}; or NULL */
} fa_idp_conf_t;

/* The text that stands for the token's own tid claim in an issuer. */
#define FA_IDP_TENANT "{tenantid}"

/* 1 when iss is an issuer of this provider: equal to Issuer or to a
 * ValidIssuer, where {tenantid} in either stands for a tenant id (1-64 of
 * A-Z a-z 0-9 -). With tid not NULL the tenant id in iss must be tid (ID
 * tokens: their own tid claim); with tid NULL any tenant id is accepted
 * (the iss parameter of an authorization response, which has no tid). */
int fa_idp_issuer_ok(const fa_idp_conf_t *conf, const char *iss,
                     const char *tid, int any_tenant);

typedef struct fa_idp_t fa_idp_t;

/* Creates the run-time object; p must live as long as the process. */
apr_status_t fa_idp_create(apr_pool_t *p, const fa_idp_conf_t *conf,
                           fa_idp_t **pidp);
const fa_idp_conf_t *fa_idp_conf(const fa_idp_t *idp);
/* The discovery URL that will be fetched. */
const char *fa_idp_metadata_url(const fa_idp_t *idp);

/* The provider's metadata, copied into p; fetched when not cached. */
apr_status_t fa_idp_metadata(fa_idp_t *idp, fa_http_t *http, apr_pool_t *p,
                             fa_oidc_metadata_t **pmd, fa_err_t *err);

/* Parses and verifies an ID token of this provider: signature, then the
 * claims (iss, aud, azp, exp, nbf, iat, sub, and nonce when given).
 * HS* signatures use the client secret; others the JWKS, fetched once
 * more and tried again when the key may be new: the token's kid is not
 * in the cached JWKS, no cached key fits its alg, or the token has no kid
 * and no cached key of the right type verifies it. Within
 * FA_IDP_REFETCH_MIN of the last such refetch the cached JWKS is final
 * ("unknown_key" or "invalid_signature"); an ordinary fetch (the first,
 * or of a stale copy) does not count. Access and logout tokens below
 * are verified the same way. */
apr_status_t fa_idp_verify_id_token(fa_idp_t *idp, fa_http_t *http,
                                    apr_pool_t *p, const char *token,
                                    const char *nonce, apr_int64_t now,
                                    fa_jwt_t **pjwt, fa_err_t *err);

/* Each verifier refuses the other kinds of token a provider issues
 * (explicit typing, RFC 8725 section 3.11), before the signature is
 * checked:
 *  - ID token: header typ absent or "JWT"; no events claim. Else
 *    "invalid_token".
 *  - access token: typ "at+jwt" (RFC 9068), or absent / "JWT" (Entra ID
 *    and others) and then no nonce, at_hash or c_hash; no events claim.
 *    Else "invalid_token".
 *  - logout token: typ "logout+jwt", or absent / "JWT"; see below.
 * ("application/" before a typ and its case do not matter.) */

/* Verifies a JWT access token sent as a bearer token: signature from the
 * JWKS (never HS*), iss, exp and nbf, aud containing audience (NULL: the
 * client id), sub; azp is not checked (it names the calling client); its
 * kind as above. */
apr_status_t fa_idp_verify_access_token(fa_idp_t *idp, fa_http_t *http,
                                        apr_pool_t *p, const char *token,
                                        const char *audience,
                                        apr_int64_t now, fa_jwt_t **pjwt,
                                        fa_err_t *err);

/* How long a logout token without exp is accepted after its iat (the
 * final text of Back-Channel Logout 1.0 did not require exp; an erratum
 * of 2023 does, and some IdPs, e.g. Glewlwyd 2.7, send none). */
#define FA_IDP_LOGOUT_WINDOW 300

/* Verifies a back-channel logout token (OpenID Connect Back-Channel
 * Logout 1.0, section 2.6): signature, iss, aud, iat as for ID tokens;
 * exp as for ID tokens, or, when it has none, an iat at most
 * FA_IDP_LOGOUT_WINDOW + FA_JWT_LEEWAY seconds old ("token_expired"); an
 * "events" claim holding the back-channel logout event; no nonce; a jti
 * (required: it is the replay marker); sid or sub. Extra error code:
 * "invalid_logout_token". */
apr_status_t fa_idp_verify_logout_token(fa_idp_t *idp, fa_http_t *http,
                                        apr_pool_t *p, const char *token,
                                        apr_int64_t now, fa_jwt_t **pjwt,
                                        fa_err_t *err);

/* The last second at which a verified logout token is still accepted,
 * exactly (exp + leeway, or iat + window + leeway without exp): how long
 * its jti must be remembered. */
apr_int64_t fa_idp_logout_token_until(const fa_jwt_t *jwt);

/* Counts this provider's discovery and JWKS fetches in m (NULL: not
 * counted). Set before the first request. */
void fa_idp_set_metrics(fa_idp_t *idp, fa_metrics_t *m);

/* How many times this process fetched the JWKS (for tests and logs). */
unsigned int fa_idp_jwks_fetches(const fa_idp_t *idp);

/* ---- for the status page (/fedauth/status) ---------------------------- */

/* Loads what this process's cache lacks or holds past FA_IDP_CACHE_TTL,
 * as a sign-in would: the discovery document, then the JWKS (under the
 * same guards: a failed fetch is not tried again for FA_IDP_REFETCH_MIN
 * while a copy remains). */
apr_status_t fa_idp_warm(fa_idp_t *idp, fa_http_t *http, fa_err_t *err);

/* One cached document of this process: when the copy in use was fetched
 * and when it is due again (0: none), the last failed fetch (0: none) and
 * its error code and description. */
typedef struct fa_idp_doc_state_t {
    apr_int64_t fetched_at;
    apr_int64_t refresh_at;
    apr_int64_t failed_at;
    const char *error;
} fa_idp_doc_state_t;

typedef struct fa_idp_key_state_t {
    const char *kid;              /* NULL: the key has none */
    const char *kty;
    const char *alg;              /* NULL: not restricted */
    int bits;
} fa_idp_key_state_t;

typedef struct fa_idp_state_t {
    fa_idp_doc_state_t discovery;
    fa_idp_doc_state_t jwks;
    const char *jwks_uri;         /* from the cached discovery, or NULL */
    apr_array_header_t *keys;     /* fa_idp_key_state_t, the cached JWKS */
    unsigned int jwks_fetches;
} fa_idp_state_t;

/* A copy (from p) of what this process's cache holds now. */
void fa_idp_state(fa_idp_t *idp, apr_pool_t *p, fa_idp_state_t *out);

#endif
