/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_jws.c - libFuzzer target: compact JWS parsing (fa_jwt_parse),
 * signature verification (fa_jwt_verify) against a fixed JWKS of RSA, EC
 * and OKP keys and an HMAC key, and the ID token claim checks
 * (fa_jwt_check_claims), as an ID token and as an access token.
 * The keys and the expectations are in fuzz_keys.h (made by
 * make-corpus.mjs together with seed tokens that verify). */
#include "fuzz_common.h"
#include "fa_jwk.h"
#include "fa_jwt.h"
#include "fa_idp.h"
#include "fuzz_keys.h"

static fa_jwks_t *jwks;
static unsigned char *hmac_key;
static apr_size_t hmac_key_len;
static fa_idp_conf_t idp_conf;
/* The keys live in pool memory, which LeakSanitizer does not scan (APR
 * may take it from mmap): these globals keep them visibly reachable. */
static EVP_PKEY *roots[FUZZ_JWKS_COUNT];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static apr_pool_t *keep;
    apr_array_header_t *alt;
    fa_err_t err;
    int i;

    (void)argc;
    (void)argv;
    fuzz_init();
    apr_pool_create(&keep, NULL);
    if (fa_jwks_parse(keep, FUZZ_JWKS, strlen(FUZZ_JWKS), &jwks, &err)
        != APR_SUCCESS || jwks->keys->nelts != FUZZ_JWKS_COUNT) {
        fprintf(stderr, "fuzz_jws: the fixed JWKS does not load\n");
        abort();
    }
    for (i = 0; i < jwks->keys->nelts; i++) {
        roots[i] = APR_ARRAY_IDX(jwks->keys, i, fa_jwk_t *)->pkey;
    }
    if (fa_b64url_decode(keep, FUZZ_HMAC_KEY_B64, strlen(FUZZ_HMAC_KEY_B64),
                         &hmac_key, &hmac_key_len) != APR_SUCCESS) {
        abort();
    }
    memset(&idp_conf, 0, sizeof(idp_conf));
    idp_conf.id = "fuzz";
    idp_conf.issuer = FUZZ_ISSUER;
    idp_conf.client.client_id = FUZZ_CLIENT_ID;
    alt = apr_array_make(keep, 2, sizeof(const char *));
    APR_ARRAY_PUSH(alt, const char *) = FUZZ_TENANT_ISSUER;
    idp_conf.valid_issuers = alt;
    return 0;
}

static int is_hmac(const char *alg)
{
    return alg[0] == 'H' && alg[1] == 'S';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const alt[] = { FUZZ_ALT_ISSUER, NULL };
    apr_pool_t *p = fuzz_pool();
    char *token = fuzz_copy(p, data, size);
    fa_jwt_expect_t id, at;
    fa_jwt_t *jwt;
    fa_err_t err;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    rv = fa_jwt_parse(p, token, size, &jwt, &err);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(jwt == NULL);
        fuzz_check_err(&err);
        goto out;
    }
    FUZZ_CHECK(jwt->alg != NULL && json_is_object(jwt->claims)
               && json_is_object(jwt->header));
    FUZZ_CHECK(jwt->signing_input_len < size
               && memcmp(jwt->signing_input, token,
                         jwt->signing_input_len) == 0);

    /* With the client secret as HMAC key, then as a public client. */
    if (fa_jwt_verify(jwt, jwks, hmac_key, hmac_key_len, &err)
        != APR_SUCCESS) {
        fuzz_check_err(&err);
    }
    if (fa_jwt_verify(jwt, jwks, NULL, 0, &err) == APR_SUCCESS) {
        /* Never an HMAC token without a secret, never alg none. */
        FUZZ_CHECK(!is_hmac(jwt->alg) && strcmp(jwt->alg, "none") != 0);
    }
    else {
        fuzz_check_err(&err);
    }
    if (fa_jwt_verify(jwt, NULL, NULL, 0, &err) == APR_SUCCESS) {
        FUZZ_CHECK(0);  /* nothing verifies without any key */
    }

    /* The claims: as an ID token of a provider, and as an access token. */
    memset(&id, 0, sizeof(id));
    id.issuer = fa_idp_issuer_ok(&idp_conf, fa_jwt_claim_str(jwt, "iss"),
                                 fa_jwt_claim_str(jwt, "tid"), 0)
                ? fa_jwt_claim_str(jwt, "iss") : FUZZ_ISSUER;
    id.client_id = FUZZ_CLIENT_ID;
    id.nonce = FUZZ_NONCE;
    id.now = FUZZ_NOW;
    id.leeway = FA_JWT_LEEWAY;
    id.require_iat = 1;
    id.require_sub = 1;
    if (fa_jwt_check_claims(jwt, &id, &err) != APR_SUCCESS) {
        fuzz_check_err(&err);
    }
    memset(&at, 0, sizeof(at));
    at.issuer = FUZZ_ISSUER;
    at.alt_issuers = alt;
    at.client_id = FUZZ_AUDIENCE;
    at.now = FUZZ_NOW;
    at.leeway = FA_JWT_LEEWAY;
    at.require_sub = 1;
    at.skip_azp = 1;
    if (fa_jwt_check_claims(jwt, &at, &err) != APR_SUCCESS) {
        fuzz_check_err(&err);
    }
    (void)fa_jwt_claim_str(jwt, "sid");
    (void)fa_jwt_claim_int(jwt, "exp");
    (void)fa_jwt_claim_int(jwt, "auth_time");
out:
    apr_pool_destroy(p);
    return 0;
}
