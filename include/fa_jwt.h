/* SPDX-License-Identifier: Apache-2.0 */
/* fa_jwt.h - signed JSON Web Tokens (RFC 7515 compact JWS, RFC 7519) and
 * the ID token checks of OpenID Connect Core 1.0 section 3.1.3.7.
 * Part of the httpd-free core. */
#ifndef FA_JWT_H
#define FA_JWT_H

#include <apr_pools.h>
#include <jansson.h>
#include "fa_util.h"
#include "fa_jwk.h"

/* Largest compact JWS accepted (bytes); more is refused before decoding. */
#define FA_JWT_MAX_BYTES (64 * 1024)
/* Clock skew allowed for exp, nbf and iat, in seconds. */
#define FA_JWT_LEEWAY 60
/* Latest time a token is taken to live until (9999-12-31T23:59:59Z): an
 * exp past it counts as this, so that exp + leeway is always exact and
 * fits every store's expiry. */
#define FA_JWT_TIME_MAX APR_INT64_C(253402300799)

typedef struct fa_jwt_t {
    const char *alg;            /* from the header, never NULL */
    const char *kid;            /* from the header, NULL when absent */
    json_t *header;             /* decoded header; released with the pool */
    json_t *claims;             /* decoded payload (a JSON object) */
    const char *signing_input;  /* "<b64 header>.<b64 payload>" */
    apr_size_t signing_input_len;
    unsigned char *sig;         /* decoded signature */
    apr_size_t sig_len;
} fa_jwt_t;

/* Splits and decodes a compact JWS. Refuses (code "invalid_token"): more or
 * fewer than three parts, bad base64url, a header or payload that is not
 * a JSON object, a missing or non-string alg, any "crit" header, and input
 * over FA_JWT_MAX_BYTES. JWE (five parts) is refused too. */
apr_status_t fa_jwt_parse(apr_pool_t *p, const char *compact, apr_size_t len,
                          fa_jwt_t **pjwt, fa_err_t *err);

/* Verifies the signature.
 *  - alg none, and any alg not in: RS256 RS384 RS512 PS256 PS384 PS512
 *    ES256 ES384 ES512 EdDSA HS256 HS384 HS512 -> "unsupported_alg"
 *  - HS*: only when hmac_key is not NULL (the client secret); the JWKS is
 *    never used for HMAC, so a public key can never serve as an HMAC key.
 *    hmac_key NULL -> "unsupported_alg".
 *  - asymmetric: the key is chosen from jwks by kid when the header has one
 *    (no key with that kid -> "unknown_key", so the caller may refetch the
 *    JWKS once); without kid every key whose type fits the alg is tried.
 *    A key of the wrong type or curve for the alg, or whose own "alg"
 *    differs, is never used ("unknown_key" when nothing fits).
 *  - ES*: the signature is R||S of the curve's size (RFC 7518 3.4).
 *  - PS*: salt length equals the hash length (RFC 7518 3.5).
 *  - a signature that does not verify -> "invalid_signature". */
apr_status_t fa_jwt_verify(const fa_jwt_t *jwt, const fa_jwks_t *jwks,
                           const unsigned char *hmac_key,
                           apr_size_t hmac_key_len, fa_err_t *err);

/* What an ID token must say. */
typedef struct fa_jwt_expect_t {
    const char *issuer;         /* iss must equal this exactly */
    const char *const *alt_issuers; /* NULL-terminated extra accepted iss,
                                     * exact strings (a {tenantid} template
                                     * is filled in by the caller), or NULL */
    const char *client_id;      /* aud must contain it; azp rules below */
    const char *nonce;          /* when not NULL, nonce must equal it */
    apr_int64_t now;            /* seconds since the epoch */
    int leeway;                 /* seconds, usually FA_JWT_LEEWAY */
    int require_iat;            /* 1 for ID tokens */
    int require_sub;            /* 1 for ID tokens */
    int skip_azp;               /* 1 for access tokens: their azp names the
                                 * calling client, not the audience */
    int exp_optional;           /* 1: a missing exp is no error (the caller
                                 * bounds the token's age by its iat) */
} fa_jwt_expect_t;

/* Checks the claims, each with its own code:
 *   iss missing or different           -> "wrong_iss"
 *   aud missing / without client_id    -> "wrong_aud"
 *   several aud and azp missing, or azp present and not client_id
 *                                      -> "wrong_azp"
 *   exp missing (unless exp_optional) or <= now - leeway
 *                                      -> "token_expired"
 *   nbf > now + leeway                 -> "token_not_yet_valid"
 *   iat missing (when required), not a number, or > now + leeway
 *                                      -> "invalid_iat"
 *   nonce missing or different         -> "wrong_nonce" (constant-time)
 *   sub missing, not a string, empty or over 255 bytes
 *                                      -> "missing_sub"  */
apr_status_t fa_jwt_check_claims(const fa_jwt_t *jwt,
                                 const fa_jwt_expect_t *expect,
                                 fa_err_t *err);

/* Convenience accessors on jwt->claims: NULL / -1 when absent or of
 * another type; numeric dates given as reals are truncated. */
const char *fa_jwt_claim_str(const fa_jwt_t *jwt, const char *name);
apr_int64_t fa_jwt_claim_int(const fa_jwt_t *jwt, const char *name);

/* The last second (since the epoch) at which a token with this NumericDate
 * claim (exp, or iat for a token whose age the caller bounds) is still
 * accepted: the claim + add, computed exactly, the claim taken as 0 when
 * negative and as FA_JWT_TIME_MAX when later. -1 when the claim is absent
 * or not a number. For how long a replay marker must be kept. */
apr_int64_t fa_jwt_time_until(const fa_jwt_t *jwt, const char *name,
                              apr_int64_t add);

/* Explicit typing (RFC 8725 section 3.11): 1 when the header's typ is
 * type, compared without case and with or without the "application/"
 * prefix (RFC 7515 section 4.1.9); with type NULL, 1 when the token is
 * not explicitly typed: no typ, or the generic "JWT". */
int fa_jwt_typ_is(const fa_jwt_t *jwt, const char *type);

#endif
