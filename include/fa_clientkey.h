/* SPDX-License-Identifier: Apache-2.0 */
/* fa_clientkey.h - the relying party's own keys: client authentication
 * with a signed JWT (RFC 7523 section 2.2, OpenID Connect Core 1.0
 * section 9: private_key_jwt and client_secret_jwt) and the public JWKS
 * an IdP may fetch from /fedauth/jwks. Keys are read once at start;
 * afterwards everything here is read-only and safe across threads.
 * Part of the httpd-free core. */
#ifndef FA_CLIENTKEY_H
#define FA_CLIENTKEY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <openssl/evp.h>
#include "fa_util.h"

/* An assertion lives this long (exp = iat + this), in seconds. */
#define FA_CLIENT_ASSERTION_TTL 60
/* Shortest client secret client_secret_jwt accepts (HS256 wants a key of
 * at least the hash size, RFC 7518 section 3.2). */
#define FA_CLIENT_SECRET_JWT_MIN 32
/* Largest key or certificate file read. */
#define FA_CLIENT_KEY_FILE_MAX (64 * 1024)

typedef struct fa_client_key_t {
    EVP_PKEY *pkey;         /* private key; freed by a cleanup of the pool */
    const char *alg;        /* RS256, PS256, ES256, ES384, ... */
    const char *kid;        /* RFC 7638 thumbprint of the public key */
    const char *x5t;        /* base64url SHA-1 of the certificate, or NULL */
    const char *x5t_s256;   /* base64url SHA-256 of the certificate */
    const char *x5c;        /* base64 DER of the certificate, or NULL */
    apr_int64_t not_after;  /* the certificate's notAfter (seconds since
                             * the epoch), 0 without one */
} fa_client_key_t;

/* Reads a PEM private key from path. Refused ("invalid_client_key", the
 * description names the file, never its contents): a file that cannot be
 * read or is readable by group or other, no private key in it, RSA under
 * 2048 bits, EC on a curve other than P-256 or P-384, any other key type,
 * or an alg that does not fit the key (RSA: RS256 RS384 RS512 PS256 PS384
 * PS512; P-256: ES256; P-384: ES384). alg NULL: RS256 for RSA, ES256 or
 * ES384 by the curve. The key lives as long as p. */
apr_status_t fa_client_key_load(apr_pool_t *p, const char *path,
                                const char *alg, fa_client_key_t **pkey,
                                fa_err_t *err);

/* Adds the certificate in the PEM file path to key: x5t, x5t#S256 and
 * x5c, and its notAfter. Refused ("invalid_client_key"): no certificate
 * in the file, or a certificate whose public key is not key's (an expired
 * one is not refused here: the caller warns). */
apr_status_t fa_client_key_set_cert(apr_pool_t *p, fa_client_key_t *key,
                                    const char *path, fa_err_t *err);

/* The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public RSA or EC
 * key; NULL for another type. */
const char *fa_client_key_thumbprint(apr_pool_t *p, EVP_PKEY *pkey);

/* The JWKS document of keys (an array of fa_client_key_t *): public parts
 * only (kty, n/e or crv/x/y, kid, alg, use "sig", x5c and x5t#S256 when a
 * certificate is set). */
const char *fa_client_keys_jwks(apr_pool_t *p,
                                const apr_array_header_t *keys);

/* A client assertion (compact JWS) for client_id towards aud: iss = sub
 * = client_id, aud, a fresh jti of 128 random bits, iat = now, exp = now
 * + FA_CLIENT_ASSERTION_TTL. Signed with key (header alg, typ JWT, kid,
 * and x5t / x5t#S256 when set); key NULL: HS256 over secret
 * (client_secret_jwt). Errors: "internal_error". */
apr_status_t fa_client_assertion(apr_pool_t *p, const fa_client_key_t *key,
                                 const char *secret, const char *client_id,
                                 const char *aud, apr_int64_t now,
                                 const char **passertion, fa_err_t *err);

#endif
