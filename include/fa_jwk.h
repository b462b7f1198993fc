/* SPDX-License-Identifier: Apache-2.0 */
/* fa_jwk.h - JSON Web Keys (RFC 7517, RFC 7518 section 6, RFC 8037):
 * public signing keys of an IdP, as OpenSSL 3 EVP_PKEY objects.
 * Part of the httpd-free core. */
#ifndef FA_JWK_H
#define FA_JWK_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "fa_util.h"

/* Largest JWKS document and number of keys accepted; more is refused. */
#define FA_JWKS_MAX_BYTES (256 * 1024)
#define FA_JWKS_MAX_KEYS  64

typedef enum {
    FA_KTY_RSA = 1,
    FA_KTY_EC,
    FA_KTY_OKP
} fa_kty_t;

typedef struct fa_jwk_t {
    fa_kty_t kty;
    const char *kid;      /* NULL when the key has none */
    const char *alg;      /* NULL when the key does not restrict its alg */
    const char *crv;      /* EC: P-256|P-384|P-521; OKP: Ed25519; else NULL */
    int bits;             /* RSA modulus / EC field size in bits; 256 for
                           * Ed25519 */
    EVP_PKEY *pkey;       /* public key; freed by a cleanup of the pool */
} fa_jwk_t;

typedef struct fa_jwks_t {
    apr_array_header_t *keys;   /* of fa_jwk_t * */
} fa_jwks_t;

/* Builds one public key from a parsed JWK object. Refuses: private key
 * members (d, p, q, ...), use other than "sig", RSA moduli under 2048
 * bits, EC points not on the curve, unknown kty/crv. Error codes:
 * "invalid_jwk". The key lives as long as p. */
apr_status_t fa_jwk_from_json(apr_pool_t *p, json_t *obj, fa_jwk_t **pkey,
                              fa_err_t *err);

/* Parses a JWKS document ({"keys":[...]}). Keys that cannot be used for
 * signatures (kty oct, use "enc", unknown kty or crv) are skipped; a
 * keys that fa_jwk_from_json refuses (weak RSA, off-curve points,
 * private members) are skipped too, with a warning in the log; a
 * document that is not JSON, has no "keys" array, is larger than
 * FA_JWKS_MAX_BYTES or lists more than FA_JWKS_MAX_KEYS entries is
 * refused ("invalid_jwks"). An empty result is not an error here. */
apr_status_t fa_jwks_parse(apr_pool_t *p, const char *json, apr_size_t len,
                           fa_jwks_t **pjwks, fa_err_t *err);

#endif
