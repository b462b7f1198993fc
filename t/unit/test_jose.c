/* SPDX-License-Identifier: Apache-2.0 */
/* test_jose.c - unit tests of fa_jwk and fa_jwt: the RFC 7515, RFC 8037
 * and RFC 7520 examples, every alg with keys made here, the refusals of
 * the parser and the verifier, the ID token claim checks and JWK(S)
 * parsing. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include "fa_jwk.h"
#include "fa_jwt.h"
#include "fa_json.h"
#include "unit.h"

#define VECTORS FA_TEST_DATA "/rfc_vectors.json"

static apr_pool_t *pool;
static json_t *vectors;

enum { K_RSA, K_RSA2, K_P256, K_P384, K_P521, K_ED25519, K_COUNT };
static EVP_PKEY *keys[K_COUNT];
/* PSS salt length the test signer uses (RFC 7518 wants the hash's). */
static int pss_saltlen = RSA_PSS_SALTLEN_DIGEST;

/* ------------------------------------------------------------------ */
/* Fixtures and helpers                                                 */

static void setup(void)
{
    json_error_t jerr;

    apr_pool_create(&pool, NULL);
    vectors = json_load_file(VECTORS, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_msg(vectors != NULL, "%s: %s", VECTORS, jerr.text);
}

static void teardown(void)
{
    json_decref(vectors);
    vectors = NULL;
    apr_pool_destroy(pool);
    pool = NULL;
}

/* Unchecked (runs once per test case, outside the forked tests): key
 * generation is slow enough to do only once. */
static void keys_setup(void)
{
    keys[K_RSA] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    keys[K_RSA2] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    keys[K_P256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    keys[K_P384] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    keys[K_P521] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    keys[K_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

static void keys_teardown(void)
{
    int i;

    for (i = 0; i < K_COUNT; i++) {
        EVP_PKEY_free(keys[i]);
        keys[i] = NULL;
    }
}

/* field of the RFC vector name (borrowed). */
static json_t *vec(const char *name, const char *field)
{
    json_t *v = json_object_get(json_object_get(vectors, name), field);

    ck_assert_msg(v != NULL, "vector %s.%s missing", name, field);
    return v;
}

static const char *vec_str(const char *name, const char *field)
{
    return json_string_value(vec(name, field));
}

static const char *b64(const char *s)
{
    return fa_b64url_encode(pool, (const unsigned char *)s, strlen(s));
}

static const char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    const char *copy = apr_pstrdup(pool, s);

    free(s);
    return copy;
}

static const char *bn_b64(const BIGNUM *bn, int size)
{
    unsigned char *buf;
    int len = size ? size : BN_num_bytes(bn);

    buf = apr_palloc(pool, (apr_size_t)len);
    ck_assert_int_eq(BN_bn2binpad(bn, buf, len), len);
    return fa_b64url_encode(pool, buf, (apr_size_t)len);
}

static const char *pkey_bn_b64(EVP_PKEY *pkey, const char *param, int size)
{
    BIGNUM *bn = NULL;
    const char *s;

    ck_assert(EVP_PKEY_get_bn_param(pkey, param, &bn) == 1);
    s = bn_b64(bn, size);
    BN_free(bn);
    return s;
}

static void jwk_set_ec(json_t *j, EVP_PKEY *pkey)
{
    int bits = EVP_PKEY_get_bits(pkey), size = (bits + 7) / 8;
    const char *crv = bits == 256 ? "P-256" : bits == 384 ? "P-384"
                    : "P-521";

    json_object_set_new(j, "kty", json_string("EC"));
    json_object_set_new(j, "crv", json_string(crv));
    json_object_set_new(j, "x", json_string(
        pkey_bn_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, size)));
    json_object_set_new(j, "y", json_string(
        pkey_bn_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, size)));
}

/* The public JWK of pkey (a new reference): a test-only exporter. */
static json_t *jwk_of(EVP_PKEY *pkey, const char *kid, const char *alg)
{
    json_t *j = json_object();
    unsigned char raw[32];
    size_t len = sizeof(raw);

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        json_object_set_new(j, "kty", json_string("RSA"));
        json_object_set_new(j, "n", json_string(
            pkey_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0)));
        json_object_set_new(j, "e", json_string(
            pkey_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0)));
    }
    else if (EVP_PKEY_is_a(pkey, "EC")) {
        jwk_set_ec(j, pkey);
    }
    else {
        ck_assert(EVP_PKEY_get_raw_public_key(pkey, raw, &len) == 1);
        json_object_set_new(j, "kty", json_string("OKP"));
        json_object_set_new(j, "crv", json_string("Ed25519"));
        json_object_set_new(j, "x", json_string(
            fa_b64url_encode(pool, raw, len)));
    }
    if (kid) {
        json_object_set_new(j, "kid", json_string(kid));
    }
    if (alg) {
        json_object_set_new(j, "alg", json_string(alg));
    }
    return j;
}

/* Parses {"keys": keys} (keys is stolen); the parse must succeed. */
static fa_jwks_t *jwks_from(json_t *keys_arr)
{
    json_t *doc = json_pack("{s:o}", "keys", keys_arr);
    const char *s = dump(doc);
    fa_jwks_t *jwks = NULL;
    fa_err_t err = { 0 };

    json_decref(doc);
    ck_assert_msg(fa_jwks_parse(pool, s, strlen(s), &jwks, &err)
                  == APR_SUCCESS, "jwks: %s", err.desc);
    return jwks;
}

static fa_jwks_t *jwks_one(EVP_PKEY *pkey, const char *kid, const char *alg)
{
    return jwks_from(json_pack("[o]", jwk_of(pkey, kid, alg)));
}

static const char *md_of(const char *alg)
{
    if (strcmp(alg, "EdDSA") == 0) {
        return NULL;
    }
    return strcmp(alg + 2, "256") == 0 ? "SHA256"
         : strcmp(alg + 2, "384") == 0 ? "SHA384" : "SHA512";
}

/* DER ECDSA signature to JWS R || S of size bytes each. */
static unsigned char *ecdsa_raw(const unsigned char *der, size_t der_len,
                                int size, size_t *out_len)
{
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)der_len);
    const BIGNUM *r, *s;
    unsigned char *raw = apr_palloc(pool, 2 * (apr_size_t)size);

    ck_assert_ptr_nonnull(es);
    ECDSA_SIG_get0(es, &r, &s);
    ck_assert_int_eq(BN_bn2binpad(r, raw, size), size);
    ck_assert_int_eq(BN_bn2binpad(s, raw + size, size), size);
    ECDSA_SIG_free(es);
    *out_len = 2 * (size_t)size;
    return raw;
}

/* Test-only signer for the asymmetric algs. */
static unsigned char *sign_asym(const char *alg, EVP_PKEY *pkey,
                                const char *input, size_t *sig_len)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const char *md = md_of(alg);
    unsigned char *sig;
    size_t len = 0;

    ck_assert(EVP_DigestSignInit_ex(mctx, &pctx, md, NULL, NULL, pkey,
                                    NULL) == 1);
    if (alg[0] == 'P') {
        ck_assert(EVP_PKEY_CTX_set_rsa_padding(pctx,
                                               RSA_PKCS1_PSS_PADDING) > 0);
        ck_assert(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_saltlen) > 0);
        ck_assert(EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, NULL) > 0);
    }
    ck_assert(EVP_DigestSign(mctx, NULL, &len, (const unsigned char *)input,
                             strlen(input)) == 1);
    sig = apr_palloc(pool, len);
    ck_assert(EVP_DigestSign(mctx, sig, &len, (const unsigned char *)input,
                             strlen(input)) == 1);
    EVP_MD_CTX_free(mctx);
    if (alg[0] == 'E' && alg[1] == 'S') {
        return ecdsa_raw(sig, len, (EVP_PKEY_get_bits(pkey) + 7) / 8,
                         sig_len);
    }
    *sig_len = len;
    return sig;
}

/* A compact JWS of header and claims (JSON texts) signed for alg with
 * pkey, or with hkey for HS*. */
static const char *sign_token(const char *alg, EVP_PKEY *pkey,
                              const void *hkey, size_t hkey_len,
                              const char *header, const char *claims)
{
    const char *input = apr_pstrcat(pool, b64(header), ".", b64(claims),
                                    NULL);
    unsigned char mac[EVP_MAX_MD_SIZE], *sig = mac;
    size_t sig_len = 0;

    if (alg[0] == 'H') {
        ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, md_of(alg),
                                        NULL, hkey, hkey_len,
                                        (const unsigned char *)input,
                                        strlen(input), mac, sizeof(mac),
                                        &sig_len));
    }
    else {
        sig = sign_asym(alg, pkey, input, &sig_len);
    }
    return apr_pstrcat(pool, input, ".",
                       fa_b64url_encode(pool, sig, sig_len), NULL);
}

static const char *header_of(const char *alg, const char *kid)
{
    json_t *h = json_pack("{s:s}", "alg", alg);
    const char *s;

    if (kid) {
        json_object_set_new(h, "kid", json_string(kid));
    }
    s = dump(h);
    json_decref(h);
    return s;
}

#define CLAIMS "{\"iss\":\"https://idp.example.com\",\"sub\":\"alice\"}"

static const char *token(const char *alg, const char *kid, EVP_PKEY *pkey)
{
    return sign_token(alg, pkey, NULL, 0, header_of(alg, kid), CLAIMS);
}

static const char *code_of(fa_err_t *err)
{
    return err->code ? err->code : "(no code)";
}

/* Parses and verifies; "ok" or the error code. */
static const char *verify_code(const char *tok, const fa_jwks_t *jwks,
                               const char *hkey)
{
    fa_jwt_t *jwt = NULL;
    fa_err_t err = { 0 };

    if (fa_jwt_parse(pool, tok, strlen(tok), &jwt, &err) != APR_SUCCESS) {
        ck_assert_ptr_null(jwt);
        return code_of(&err);
    }
    if (fa_jwt_verify(jwt, jwks, (const unsigned char *)hkey,
                      hkey ? strlen(hkey) : 0, &err) != APR_SUCCESS) {
        return code_of(&err);
    }
    return "ok";
}

static const char *parse_code(const char *tok, apr_size_t len)
{
    fa_jwt_t *jwt = NULL;
    fa_err_t err = { 0 };

    if (fa_jwt_parse(pool, tok, len, &jwt, &err) != APR_SUCCESS) {
        ck_assert_ptr_null(jwt);
        return code_of(&err);
    }
    ck_assert_ptr_nonnull(jwt);
    return "ok";
}

static fa_jwt_t *parse_ok(const char *tok)
{
    fa_jwt_t *jwt = NULL;
    fa_err_t err = { 0 };

    ck_assert_msg(fa_jwt_parse(pool, tok, strlen(tok), &jwt, &err)
                  == APR_SUCCESS, "parse: %s", err.desc);
    return jwt;
}

static const char *jwt_verify_code(const fa_jwt_t *jwt,
                                   const fa_jwks_t *jwks,
                                   const unsigned char *hkey,
                                   apr_size_t hkey_len)
{
    fa_err_t err = { 0 };

    if (fa_jwt_verify(jwt, jwks, hkey, hkey_len, &err) != APR_SUCCESS) {
        return code_of(&err);
    }
    return "ok";
}

/* The RFC 7520 and RFC 8037 examples sign text, not a JSON object, so
 * fa_jwt_parse refuses them; this builds the fa_jwt_t by hand. */
static fa_jwt_t *jwt_by_hand(const char *compact)
{
    fa_jwt_t *jwt = apr_pcalloc(pool, sizeof(*jwt));
    const char *dot1 = strchr(compact, '.'), *dot2 = strrchr(compact, '.');
    unsigned char *raw;
    apr_size_t len;

    ck_assert(fa_b64url_decode(pool, compact, (apr_size_t)(dot1 - compact),
                               &raw, &len) == APR_SUCCESS);
    jwt->header = fa_json_pool_own(pool, json_loadb((const char *)raw, len,
                                                    0, NULL));
    ck_assert_ptr_nonnull(jwt->header);
    jwt->alg = json_string_value(json_object_get(jwt->header, "alg"));
    jwt->kid = json_string_value(json_object_get(jwt->header, "kid"));
    jwt->signing_input_len = (apr_size_t)(dot2 - compact);
    jwt->signing_input = apr_pstrmemdup(pool, compact,
                                        jwt->signing_input_len);
    ck_assert(fa_b64url_decode(pool, dot2 + 1, strlen(dot2 + 1), &jwt->sig,
                               &jwt->sig_len) == APR_SUCCESS);
    return jwt;
}

/* Checks that jwt verifies, and that flipping its first or its last
 * signature byte makes it fail with invalid_signature. */
static void check_verifies_and_flips(fa_jwt_t *jwt, const fa_jwks_t *jwks,
                                     const unsigned char *hkey,
                                     apr_size_t hkey_len, const char *what)
{
    apr_size_t last = jwt->sig_len - 1;

    ck_assert_msg(strcmp(jwt_verify_code(jwt, jwks, hkey, hkey_len), "ok")
                  == 0, "%s does not verify", what);
    jwt->sig[0] ^= 0x01;
    ck_assert_str_eq(jwt_verify_code(jwt, jwks, hkey, hkey_len),
                     "invalid_signature");
    jwt->sig[0] ^= 0x01;
    jwt->sig[last] ^= 0x80;
    ck_assert_str_eq(jwt_verify_code(jwt, jwks, hkey, hkey_len),
                     "invalid_signature");
    jwt->sig[last] ^= 0x80;
    ck_assert_str_eq(jwt_verify_code(jwt, jwks, hkey, hkey_len), "ok");
}

static fa_jwks_t *vec_jwks(const char *name)
{
    return jwks_from(json_pack("[O]", vec(name, "jwk")));
}

/* ------------------------------------------------------------------ */
/* RFC examples                                                         */

START_TEST(rfc7515_a1_hs256)
{
    const char *k = vec_str("rfc7515_a1", "k");
    fa_jwt_t *jwt = parse_ok(vec_str("rfc7515_a1", "jws"));
    unsigned char *key;
    apr_size_t key_len;

    ck_assert(fa_b64url_decode(pool, k, strlen(k), &key, &key_len)
              == APR_SUCCESS);
    ck_assert_str_eq(jwt->alg, "HS256");
    check_verifies_and_flips(jwt, NULL, key, key_len, "RFC 7515 A.1");
    /* Without the secret an HMAC token is not accepted at all. */
    ck_assert_str_eq(jwt_verify_code(jwt, NULL, NULL, 0), "unsupported_alg");
    ck_assert_str_eq(jwt_verify_code(jwt, NULL, key, key_len - 1),
                     "invalid_signature");
}
END_TEST

START_TEST(rfc7515_a2_rs256)
{
    fa_jwt_t *jwt = parse_ok(vec_str("rfc7515_a2", "jws"));

    ck_assert_str_eq(jwt->alg, "RS256");
    ck_assert_ptr_null(jwt->kid);
    ck_assert_str_eq(fa_jwt_claim_str(jwt, "iss"), "joe");
    ck_assert(fa_jwt_claim_int(jwt, "exp") == 1300819380);
    ck_assert_uint_eq(jwt->sig_len, 256);
    check_verifies_and_flips(jwt, vec_jwks("rfc7515_a2"), NULL, 0,
                             "RFC 7515 A.2");
}
END_TEST

START_TEST(rfc7515_a3_es256)
{
    fa_jwt_t *jwt = parse_ok(vec_str("rfc7515_a3", "jws"));

    ck_assert_str_eq(jwt->alg, "ES256");
    ck_assert_uint_eq(jwt->sig_len, 64);
    check_verifies_and_flips(jwt, vec_jwks("rfc7515_a3"), NULL, 0,
                             "RFC 7515 A.3");
}
END_TEST

/* RFC 8037 A.4 (EdDSA) and RFC 7520 4.1 (RS256), 4.2 (PS384), 4.3
 * (ES512): their payload is text, so the parser refuses them as ID
 * tokens and the signature is checked on a hand-built fa_jwt_t. */
START_TEST(rfc_text_payload_vectors)
{
    static const char *const names[] = {
        "rfc8037_a4", "rfc7520_4_1", "rfc7520_4_2", "rfc7520_4_3", NULL
    };
    const char *const *n;
    fa_jwt_t *jwt;

    for (n = names; *n; n++) {
        ck_assert_str_eq(parse_code(vec_str(*n, "jws"),
                                    strlen(vec_str(*n, "jws"))),
                         "invalid_token");
        jwt = jwt_by_hand(vec_str(*n, "jws"));
        ck_assert_str_eq(jwt->alg, vec_str(*n, "alg"));
        check_verifies_and_flips(jwt, vec_jwks(*n), NULL, 0, *n);
    }
}
END_TEST

/* The RFC 7520 kid selects the key; another kid finds none. */
START_TEST(rfc7520_kid)
{
    fa_jwt_t *jwt = jwt_by_hand(vec_str("rfc7520_4_1", "jws"));
    fa_jwks_t *jwks = vec_jwks("rfc7520_4_1");

    ck_assert_str_eq(jwt->kid, "bilbo.baggins@hobbiton.example");
    ck_assert_str_eq(jwt_verify_code(jwt, jwks, NULL, 0), "ok");
    jwt->kid = "frodo.baggins@hobbiton.example";
    ck_assert_str_eq(jwt_verify_code(jwt, jwks, NULL, 0), "unknown_key");
    /* The RFC 7520 P-521 key cannot verify RS256. */
    jwt->kid = NULL;
    ck_assert_str_eq(jwt_verify_code(jwt, vec_jwks("rfc7520_4_3"), NULL, 0),
                     "unknown_key");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Every alg, with keys made here                                       */

static const struct {
    const char *alg;
    int key;
} ALG_KEYS[] = {
    { "RS256", K_RSA }, { "RS384", K_RSA }, { "RS512", K_RSA },
    { "PS256", K_RSA }, { "PS384", K_RSA }, { "PS512", K_RSA },
    { "ES256", K_P256 }, { "ES384", K_P384 }, { "ES512", K_P521 },
    { "EdDSA", K_ED25519 }, { NULL, 0 }
};

START_TEST(every_asym_alg)
{
    int i;
    EVP_PKEY *pk;
    const char *alg;
    fa_jwks_t *jwks, *pinned;

    for (i = 0; ALG_KEYS[i].alg; i++) {
        alg = ALG_KEYS[i].alg;
        pk = keys[ALG_KEYS[i].key];
        jwks = jwks_one(pk, "k1", NULL);
        pinned = jwks_one(pk, "k1", alg);
        ck_assert_msg(strcmp(verify_code(token(alg, "k1", pk), jwks, NULL),
                             "ok") == 0, "%s with kid", alg);
        ck_assert_msg(strcmp(verify_code(token(alg, NULL, pk), jwks, NULL),
                             "ok") == 0, "%s without kid", alg);
        ck_assert_msg(strcmp(verify_code(token(alg, "k1", pk), pinned,
                                         NULL), "ok") == 0,
                      "%s with a key that names its alg", alg);
        check_verifies_and_flips(parse_ok(token(alg, "k1", pk)), jwks,
                                 NULL, 0, alg);
    }
}
END_TEST

START_TEST(every_hmac_alg)
{
    static const char *const algs[] = { "HS256", "HS384", "HS512", NULL };
    static const char secret[] = "s3cret";
    const char *const *a;
    const char *tok;

    for (a = algs; *a; a++) {
        tok = sign_token(*a, NULL, secret, strlen(secret),
                         header_of(*a, NULL), CLAIMS);
        ck_assert_str_eq(verify_code(tok, NULL, secret), "ok");
        ck_assert_str_eq(verify_code(tok, NULL, "s3creT"),
                         "invalid_signature");
        ck_assert_str_eq(verify_code(tok, NULL, NULL), "unsupported_alg");
        ck_assert_str_eq(verify_code(tok, NULL, ""), "unsupported_alg");
        check_verifies_and_flips(parse_ok(tok), NULL,
                                 (const unsigned char *)secret,
                                 strlen(secret), *a);
    }
}
END_TEST

/* A signature made by another key of the same type fails. */
START_TEST(other_key_bad_signature)
{
    fa_jwks_t *jwks = jwks_one(keys[K_RSA], "k1", NULL);

    ck_assert_str_eq(verify_code(token("RS256", "k1", keys[K_RSA2]), jwks,
                                 NULL), "invalid_signature");
    ck_assert_str_eq(verify_code(token("PS256", NULL, keys[K_RSA2]), jwks,
                                 NULL), "invalid_signature");
}
END_TEST

/* PS*: the salt must be as long as the hash; the padding must match. */
START_TEST(pss_salt_and_padding)
{
    fa_jwks_t *jwks = jwks_one(keys[K_RSA], NULL, NULL);
    const char *tok;

    pss_saltlen = 0;
    ck_assert_str_eq(verify_code(token("PS256", NULL, keys[K_RSA]), jwks,
                                 NULL), "invalid_signature");
    pss_saltlen = RSA_PSS_SALTLEN_MAX;
    ck_assert_str_eq(verify_code(token("PS384", NULL, keys[K_RSA]), jwks,
                                 NULL), "invalid_signature");
    pss_saltlen = RSA_PSS_SALTLEN_DIGEST;
    ck_assert_str_eq(verify_code(token("PS512", NULL, keys[K_RSA]), jwks,
                                 NULL), "ok");
    /* A PKCS#1 v1.5 signature under a PS256 header, and the reverse. */
    tok = sign_token("RS256", keys[K_RSA], NULL, 0,
                     header_of("PS256", NULL), CLAIMS);
    ck_assert_str_eq(verify_code(tok, jwks, NULL), "invalid_signature");
    tok = sign_token("PS256", keys[K_RSA], NULL, 0,
                     header_of("RS256", NULL), CLAIMS);
    ck_assert_str_eq(verify_code(tok, jwks, NULL), "invalid_signature");
    /* Right key, wrong hash. */
    tok = sign_token("RS384", keys[K_RSA], NULL, 0,
                     header_of("RS256", NULL), CLAIMS);
    ck_assert_str_eq(verify_code(tok, jwks, NULL), "invalid_signature");
}
END_TEST

/* ------------------------------------------------------------------ */
/* What the verifier refuses                                            */

START_TEST(alg_none)
{
    static const char *const nones[] = { "none", "None", "NONE", NULL };
    fa_jwks_t *jwks = jwks_one(keys[K_RSA], NULL, NULL);
    const char *const *n;
    const char *tok;

    for (n = nones; *n; n++) {
        tok = apr_pstrcat(pool, b64(header_of(*n, NULL)), ".", b64(CLAIMS),
                          ".", NULL);
        ck_assert_str_eq(verify_code(tok, jwks, NULL), "unsupported_alg");
        ck_assert_str_eq(verify_code(tok, jwks, "s3cret"),
                         "unsupported_alg");
    }
}
END_TEST

START_TEST(unknown_algs)
{
    static const char *const algs[] = {
        "RS1", "HS128", "ES256K", "Ed25519", "rs256", "RSA-OAEP", "", NULL
    };
    fa_jwks_t *jwks = jwks_one(keys[K_RSA], NULL, NULL);
    const char *const *a;
    const char *tok;

    for (a = algs; *a; a++) {
        tok = apr_pstrcat(pool, b64(header_of(*a, NULL)), ".", b64(CLAIMS),
                          ".c2ln", NULL);
        ck_assert_str_eq(verify_code(tok, jwks, "s3cret"),
                         "unsupported_alg");
    }
}
END_TEST

/* HS256 keyed with the bytes of the RSA public key that the JWKS holds
 * (the classic alg confusion) must not verify. */
START_TEST(alg_confusion)
{
    fa_jwks_t *jwks = jwks_one(keys[K_RSA], "k1", NULL);
    BIO *bio = BIO_new(BIO_s_mem());
    unsigned char *der = NULL;
    char *pem;
    long pem_len;
    int der_len;
    const char *tok;

    ck_assert(PEM_write_bio_PUBKEY(bio, keys[K_RSA]) == 1);
    pem_len = BIO_get_mem_data(bio, &pem);
    tok = sign_token("HS256", NULL, pem, (size_t)pem_len,
                     header_of("HS256", "k1"), CLAIMS);
    ck_assert_str_eq(verify_code(tok, jwks, NULL), "unsupported_alg");
    ck_assert_str_eq(verify_code(tok, jwks, "s3cret"), "invalid_signature");
    BIO_free(bio);

    der_len = i2d_PUBKEY(keys[K_RSA], &der);
    ck_assert_int_gt(der_len, 0);
    tok = sign_token("HS256", NULL, der, (size_t)der_len,
                     header_of("HS256", "k1"), CLAIMS);
    OPENSSL_free(der);
    ck_assert_str_eq(verify_code(tok, jwks, NULL), "unsupported_alg");
}
END_TEST

START_TEST(wrong_curve_or_type)
{
    fa_jwks_t *p384 = jwks_one(keys[K_P384], "k1", NULL);
    fa_jwks_t *ec = jwks_one(keys[K_P256], "k1", NULL);
    fa_jwks_t *rsa = jwks_one(keys[K_RSA], "k1", NULL);

    /* ES256 needs P-256. */
    ck_assert_str_eq(verify_code(token("ES256", "k1", keys[K_P256]), p384,
                                 NULL), "unknown_key");
    ck_assert_str_eq(verify_code(token("ES256", NULL, keys[K_P256]), p384,
                                 NULL), "unknown_key");
    /* RS256 header, EC key. */
    ck_assert_str_eq(verify_code(token("RS256", "k1", keys[K_RSA]), ec,
                                 NULL), "unknown_key");
    /* EdDSA header, RSA key. */
    ck_assert_str_eq(verify_code(token("EdDSA", "k1", keys[K_ED25519]),
                                 rsa, NULL), "unknown_key");
    /* A key that names another alg is not used. */
    ck_assert_str_eq(verify_code(token("RS256", "k1", keys[K_RSA]),
                                 jwks_one(keys[K_RSA], "k1", "RS512"),
                                 NULL), "unknown_key");
    ck_assert_str_eq(verify_code(token("PS256", "k1", keys[K_RSA]),
                                 jwks_one(keys[K_RSA], "k1", "RS256"),
                                 NULL), "unknown_key");
}
END_TEST

START_TEST(kid_selection)
{
    fa_jwks_t *two = jwks_from(json_pack("[o,o]",
                                         jwk_of(keys[K_RSA], "a", NULL),
                                         jwk_of(keys[K_RSA2], "b", NULL)));
    fa_jwks_t *nokids = jwks_from(json_pack("[o,o]",
                                            jwk_of(keys[K_RSA], NULL, NULL),
                                            jwk_of(keys[K_RSA2], NULL,
                                                   NULL)));

    ck_assert_uint_eq(two->keys->nelts, 2);
    ck_assert_str_eq(verify_code(token("RS256", "zz", keys[K_RSA]), two,
                                 NULL), "unknown_key");
    ck_assert_str_eq(verify_code(token("RS256", "b", keys[K_RSA2]), two,
                                 NULL), "ok");
    /* kid b names the other key: the signature cannot verify. */
    ck_assert_str_eq(verify_code(token("RS256", "b", keys[K_RSA]), two,
                                 NULL), "invalid_signature");
    /* No kid: every RSA key is tried, the second one verifies. */
    ck_assert_str_eq(verify_code(token("RS256", NULL, keys[K_RSA2]), two,
                                 NULL), "ok");
    ck_assert_str_eq(verify_code(token("RS256", NULL, keys[K_RSA2]), nokids,
                                 NULL), "ok");
    /* A kid in the token and keys without kid: nothing is chosen. */
    ck_assert_str_eq(verify_code(token("RS256", "a", keys[K_RSA]), nokids,
                                 NULL), "unknown_key");
    ck_assert_str_eq(verify_code(token("ES256", NULL, keys[K_P256]), two,
                                 NULL), "unknown_key");
}
END_TEST

START_TEST(empty_jwks)
{
    fa_jwks_t *empty = jwks_from(json_array());

    ck_assert_uint_eq(empty->keys->nelts, 0);
    ck_assert_str_eq(verify_code(token("RS256", NULL, keys[K_RSA]), empty,
                                 NULL), "unknown_key");
    ck_assert_str_eq(verify_code(token("RS256", NULL, keys[K_RSA]), NULL,
                                 NULL), "unknown_key");
}
END_TEST

/* ES*: the signature must be exactly R || S of the curve's size. */
START_TEST(ecdsa_sig_length)
{
    fa_jwks_t *jwks = jwks_one(keys[K_P256], NULL, NULL);
    fa_jwks_t *jwks521 = jwks_one(keys[K_P521], NULL, NULL);
    fa_jwt_t *jwt = parse_ok(token("ES256", NULL, keys[K_P256]));
    fa_jwt_t *jwt521 = parse_ok(token("ES512", NULL, keys[K_P521]));

    ck_assert_uint_eq(jwt->sig_len, 64);
    ck_assert_uint_eq(jwt521->sig_len, 132);
    ck_assert_str_eq(jwt_verify_code(jwt, jwks, NULL, 0), "ok");
    jwt->sig_len = 63;
    ck_assert_str_eq(jwt_verify_code(jwt, jwks, NULL, 0),
                     "invalid_signature");
    jwt->sig_len = 0;
    ck_assert_str_eq(jwt_verify_code(jwt, jwks, NULL, 0),
                     "invalid_signature");
    jwt521->sig_len = 130;
    ck_assert_str_eq(jwt_verify_code(jwt521, jwks521, NULL, 0),
                     "invalid_signature");
}
END_TEST

/* ------------------------------------------------------------------ */
/* What the parser refuses                                              */

START_TEST(parse_parts)
{
    const char *a2 = vec_str("rfc7515_a2", "jws");
    const char *dot2 = strrchr(a2, '.');
    const char *h = b64("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}");
    fa_jwks_t *jwks = vec_jwks("rfc7515_a2");
    const char *jwe;
    fa_jwt_t *jwt;
    fa_err_t err = { 0 };

    ck_assert_str_eq(parse_code(a2, strlen(a2)), "ok");
    /* Truncated: two parts; a signature cut short. */
    ck_assert_str_eq(parse_code(a2, (apr_size_t)(dot2 - a2)),
                     "invalid_token");
    ck_assert_str_eq(parse_code(a2, strlen(a2) - 1), "invalid_token");
    ck_assert_str_eq(verify_code(apr_pstrndup(pool, a2, strlen(a2) - 2),
                                 jwks, NULL), "invalid_signature");
    ck_assert_str_eq(parse_code(a2, 0), "invalid_token");
    ck_assert_str_eq(parse_code(NULL, 0), "invalid_token");
    ck_assert_str_eq(parse_code("abc", 3), "invalid_token");
    ck_assert_str_eq(parse_code(apr_pstrcat(pool, a2, ".", NULL),
                                strlen(a2) + 1), "invalid_token");
    /* A JWE in compact form has five parts. */
    jwe = apr_pstrcat(pool, h, ".", b64("key"), ".", b64("iv"), ".",
                      b64("ct"), ".", b64("tag"), NULL);
    ck_assert_str_eq(parse_code(jwe, strlen(jwe)), "invalid_token");
    ck_assert(fa_jwt_parse(pool, jwe, strlen(jwe), &jwt, &err)
              == APR_EGENERAL);
    ck_assert_ptr_nonnull(strstr(err.desc, "JWE"));
}
END_TEST

/* Header and payload checks: an object each, alg a string, no crit,
 * no duplicate members. */
START_TEST(parse_header)
{
    static const char *const bad[] = {
        "[1,2]", "\"RS256\"", "not json", "{}", "{\"alg\":1}",
        "{\"alg\":null}", "{\"alg\":\"RS256\",\"crit\":[\"exp\"],"
        "\"exp\":1}", "{\"alg\":\"RS256\",\"crit\":[]}",
        "{\"alg\":\"RS256\",\"alg\":\"none\"}", "{\"alg\":\"RS256\","
        "\"kid\":7}", "{\"alg\":\"RS256\"} x", NULL
    };
    const char *const *h;
    const char *tok;

    for (h = bad; *h; h++) {
        tok = apr_pstrcat(pool, b64(*h), ".", b64(CLAIMS), ".c2ln", NULL);
        ck_assert_msg(strcmp(parse_code(tok, strlen(tok)), "invalid_token")
                      == 0, "header %s accepted", *h);
    }
    tok = apr_pstrcat(pool, b64("{\"alg\":\"RS256\"}"), ".", b64("[]"),
                      ".c2ln", NULL);
    ck_assert_str_eq(parse_code(tok, strlen(tok)), "invalid_token");
    tok = apr_pstrcat(pool, b64("{\"alg\":\"RS256\"}"), ".",
                      b64("{\"a\":1,\"a\":2}"), ".c2ln", NULL);
    ck_assert_str_eq(parse_code(tok, strlen(tok)), "invalid_token");
    tok = apr_pstrcat(pool, b64("{\"alg\":\"RS256\"}"), "..c2ln", NULL);
    ck_assert_str_eq(parse_code(tok, strlen(tok)), "invalid_token");
    tok = apr_pstrcat(pool, b64("{\"alg\":\"RS256\",\"kid\":\"k\"}"), ".",
                      b64(CLAIMS), ".c2ln", NULL);
    ck_assert_str_eq(parse_ok(tok)->kid, "k");
}
END_TEST

/* Strict base64url: no padding, no '+' or '/', no white space. */
START_TEST(parse_base64)
{
    const char *h = b64("{\"alg\":\"HS256\"}");
    const char *c = b64(CLAIMS);
    static const char *const sigs[] = {
        "c2ln=", "c2lnAA==", "c2l+", "c2l/", "c2l n", "c2l\n", "c2lnA",
        NULL
    };
    const char *const *s;
    const char *tok;
    char *nul;

    for (s = sigs; *s; s++) {
        tok = apr_pstrcat(pool, h, ".", c, ".", *s, NULL);
        ck_assert_msg(strcmp(parse_code(tok, strlen(tok)), "invalid_token")
                      == 0, "signature %s accepted", *s);
    }
    tok = apr_pstrcat(pool, h, "=.", c, ".c2ln", NULL);
    ck_assert_str_eq(parse_code(tok, strlen(tok)), "invalid_token");
    /* {"sub":"a?b"} has '/' in standard base64: eyJzdWIiOiJhP2IifQ */
    tok = apr_pstrcat(pool, h, ".", "eyJzdWIiOiJh/2IifQ", ".c2ln", NULL);
    ck_assert_str_eq(parse_code(tok, strlen(tok)), "invalid_token");
    tok = apr_pstrcat(pool, h, ".", "eyJzdWIiOiJh+2IifQ", ".c2ln", NULL);
    ck_assert_str_eq(parse_code(tok, strlen(tok)), "invalid_token");
    tok = apr_pstrcat(pool, h, ".", c, ".c2ln", NULL);
    ck_assert_str_eq(parse_code(tok, strlen(tok)), "ok");
    /* A NUL inside the given length is not ignored. */
    nul = apr_palloc(pool, strlen(tok) + 3);
    memcpy(nul, tok, strlen(tok));
    memcpy(nul + strlen(tok), "\0x", 3);
    ck_assert_str_eq(parse_code(nul, strlen(tok) + 2), "invalid_token");
}
END_TEST

/* A signed HS256 token with a claim of pad_len bytes. */
static const char *padded_token(apr_size_t pad_len)
{
    json_t *claims = json_object();
    char *pad = apr_palloc(pool, pad_len + 1);
    const char *tok;

    memset(pad, 'x', pad_len);
    pad[pad_len] = '\0';
    json_object_set_new(claims, "pad", json_string(pad));
    tok = sign_token("HS256", NULL, "k", 1, "{\"alg\":\"HS256\"}",
                     dump(claims));
    json_decref(claims);
    return tok;
}

START_TEST(parse_size)
{
    const char *tok = padded_token(48000);

    /* A large token under the limit is fine... */
    ck_assert_uint_lt(strlen(tok), FA_JWT_MAX_BYTES);
    ck_assert_uint_gt(strlen(tok), 60000);
    ck_assert_str_eq(verify_code(tok, NULL, "k"), "ok");
    /* ...one over it is refused, however well it is signed. */
    tok = padded_token(49200);
    ck_assert_uint_gt(strlen(tok), FA_JWT_MAX_BYTES);
    ck_assert_str_eq(verify_code(tok, NULL, "k"), "invalid_token");
    ck_assert_str_eq(parse_code(tok, FA_JWT_MAX_BYTES + 1), "invalid_token");
}
END_TEST

START_TEST(claim_accessors)
{
    const char *tok = apr_pstrcat(pool, b64("{\"alg\":\"HS256\"}"), ".",
        b64("{\"s\":\"v\",\"i\":42,\"r\":1.5e9,\"b\":true,\"n\":\"7\"}"),
        ".c2ln", NULL);
    fa_jwt_t *jwt = parse_ok(tok);

    ck_assert_str_eq(fa_jwt_claim_str(jwt, "s"), "v");
    ck_assert_ptr_null(fa_jwt_claim_str(jwt, "i"));
    ck_assert_ptr_null(fa_jwt_claim_str(jwt, "missing"));
    ck_assert(fa_jwt_claim_int(jwt, "i") == 42);
    ck_assert(fa_jwt_claim_int(jwt, "r") == 1500000000);
    ck_assert(fa_jwt_claim_int(jwt, "b") == -1);
    ck_assert(fa_jwt_claim_int(jwt, "n") == -1);
    ck_assert(fa_jwt_claim_int(jwt, "missing") == -1);
    ck_assert_str_eq(jwt->signing_input,
                     apr_pstrndup(pool, tok, strlen(tok) - 5));
    ck_assert_uint_eq(jwt->signing_input_len, strlen(tok) - 5);
    ck_assert_uint_eq(jwt->sig_len, 3);
    ck_assert(memcmp(jwt->sig, "sig", 3) == 0);
}
END_TEST

/* The time a token lives until is exact for any exp: no overflow of
 * exp + leeway, absurd values held at FA_JWT_TIME_MAX. */
START_TEST(time_until_exact)
{
    const char *tok = apr_pstrcat(pool, b64("{\"alg\":\"HS256\"}"), ".",
        b64("{\"e\":1700000000,\"max\":9223372036854775807,"
            "\"big\":1e300,\"neg\":-5,\"r\":1.5e9,\"s\":\"1\","
            "\"edge\":253402300799,\"past\":253402300800}"), ".c2ln", NULL);
    fa_jwt_t *jwt = parse_ok(tok);

    ck_assert(fa_jwt_time_until(jwt, "e", 60) == 1700000060);
    ck_assert(fa_jwt_time_until(jwt, "max", 60) == FA_JWT_TIME_MAX + 60);
    ck_assert(fa_jwt_time_until(jwt, "max", APR_INT64_MAX)
              == 2 * FA_JWT_TIME_MAX);
    ck_assert(fa_jwt_time_until(jwt, "big", 60) == FA_JWT_TIME_MAX + 60);
    ck_assert(fa_jwt_time_until(jwt, "neg", 60) == 60);
    ck_assert(fa_jwt_time_until(jwt, "r", 0) == 1500000000);
    ck_assert(fa_jwt_time_until(jwt, "edge", 1) == FA_JWT_TIME_MAX + 1);
    ck_assert(fa_jwt_time_until(jwt, "past", 1) == FA_JWT_TIME_MAX + 1);
    ck_assert(fa_jwt_time_until(jwt, "s", 60) == -1);
    ck_assert(fa_jwt_time_until(jwt, "missing", 60) == -1);
}
END_TEST

/* typ: the media type without case and with or without "application/";
 * NULL stands for untyped or the generic JWT. */
START_TEST(typ_explicit)
{
    static const struct {
        const char *typ;        /* JSON of the header's typ, or NULL */
        const char *asked;
        int is;
    } cases[] = {
        { NULL, NULL, 1 }, { NULL, "at+jwt", 0 },
        { "\"JWT\"", NULL, 1 }, { "\"jwt\"", NULL, 1 },
        { "\"application/jwt\"", NULL, 1 }, { "\"JWT\"", "at+jwt", 0 },
        { "\"at+jwt\"", "at+jwt", 1 }, { "\"AT+JWT\"", "at+jwt", 1 },
        { "\"application/at+jwt\"", "at+jwt", 1 }, { "\"at+jwt\"", NULL, 0 },
        { "\"logout+jwt\"", "logout+jwt", 1 },
        { "\"logout+jwt\"", "at+jwt", 0 }, { "\"logout+jwt\"", NULL, 0 },
        { "\"application/\"", NULL, 0 }, { "\"\"", NULL, 0 },
        { "\"xat+jwt\"", "at+jwt", 0 }, { "7", NULL, 0 },
        { "null", NULL, 0 }, { "[\"JWT\"]", NULL, 0 },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *h = cases[i].typ
            ? apr_pstrcat(pool, "{\"alg\":\"HS256\",\"typ\":", cases[i].typ,
                          "}", NULL) : "{\"alg\":\"HS256\"}";
        fa_jwt_t *jwt = parse_ok(apr_pstrcat(pool, b64(h), ".",
                                             b64("{}"), ".c2ln", NULL));

        ck_assert_msg(fa_jwt_typ_is(jwt, cases[i].asked) == cases[i].is,
                      "typ %s asked %s", cases[i].typ ? cases[i].typ : "-",
                      cases[i].asked ? cases[i].asked : "(untyped)");
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* ID token claims                                                      */

#define NOW 1700000000
#define ISS "https://idp.example.com"
#define CLIENT "app-123"
#define NONCE "n-0S6_WzA2Mj"

static fa_jwt_expect_t expect_default(void)
{
    fa_jwt_expect_t e;

    memset(&e, 0, sizeof(e));
    e.issuer = ISS;
    e.client_id = CLIENT;
    e.nonce = NONCE;
    e.now = NOW;
    e.leeway = FA_JWT_LEEWAY;
    e.require_iat = 1;
    e.require_sub = 1;
    return e;
}

static json_t *good_claims(void)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "iss", ISS, "aud", CLIENT,
                     "sub", "alice", "exp", (json_int_t)NOW + 300, "iat",
                     (json_int_t)NOW, "nonce", NONCE);
}

/* Checks claims (stolen) against e; "ok" or the error code. */
static const char *claims_code(json_t *claims, const fa_jwt_expect_t *e)
{
    const char *tok = apr_pstrcat(pool, b64("{\"alg\":\"RS256\"}"), ".",
                                  b64(dump(claims)), ".c2ln", NULL);
    fa_err_t err = { 0 };

    json_decref(claims);
    if (fa_jwt_check_claims(parse_ok(tok), e, &err) != APR_SUCCESS) {
        return code_of(&err);
    }
    return "ok";
}

/* good_claims() with member name set to v (stolen), or removed (NULL). */
static json_t *with(const char *name, json_t *v)
{
    json_t *c = good_claims();

    if (v) {
        json_object_set_new(c, name, v);
    }
    else {
        json_object_del(c, name);
    }
    return c;
}

START_TEST(claims_good)
{
    fa_jwt_expect_t e = expect_default();

    ck_assert_str_eq(claims_code(good_claims(), &e), "ok");
    ck_assert_str_eq(claims_code(with("aud", json_pack("[s]", CLIENT)), &e),
                     "ok");
    ck_assert_str_eq(claims_code(with("exp", json_real(NOW + 300.5)), &e),
                     "ok");
    e.nonce = NULL;
    ck_assert_str_eq(claims_code(good_claims(), &e), "ok");
}
END_TEST

START_TEST(claims_iss)
{
    static const char *const alts[] = {
        "https://other.example.com", "https://alt.example.com", NULL
    };
    fa_jwt_expect_t e = expect_default();

    ck_assert_str_eq(claims_code(with("iss", json_string(ISS "/")), &e),
                     "wrong_iss");
    ck_assert_str_eq(claims_code(with("iss", NULL), &e), "wrong_iss");
    ck_assert_str_eq(claims_code(with("iss", json_integer(1)), &e),
                     "wrong_iss");
    ck_assert_str_eq(claims_code(with("iss",
                                      json_string("https://alt.example.com")),
                                 &e), "wrong_iss");
    e.alt_issuers = alts;
    ck_assert_str_eq(claims_code(with("iss",
                                      json_string("https://alt.example.com")),
                                 &e), "ok");
    ck_assert_str_eq(claims_code(good_claims(), &e), "ok");
    ck_assert_str_eq(claims_code(with("iss",
                                      json_string("https://evil.example")),
                                 &e), "wrong_iss");
}
END_TEST

START_TEST(claims_aud_azp)
{
    fa_jwt_expect_t e = expect_default();

    ck_assert_str_eq(claims_code(with("aud", json_string("app-1234")), &e),
                     "wrong_aud");
    ck_assert_str_eq(claims_code(with("aud", json_pack("[s,s]", "a", "b")),
                                 &e), "wrong_aud");
    ck_assert_str_eq(claims_code(with("aud", json_array()), &e),
                     "wrong_aud");
    ck_assert_str_eq(claims_code(with("aud", json_pack("[s,i]", CLIENT, 1)),
                                 &e), "wrong_aud");
    ck_assert_str_eq(claims_code(with("aud", NULL), &e), "wrong_aud");
    ck_assert_str_eq(claims_code(with("aud", json_integer(1)), &e),
                     "wrong_aud");
    /* Several audiences: azp is required and must be the client. */
    ck_assert_str_eq(claims_code(with("aud", json_pack("[s,s]", CLIENT,
                                                       "other")), &e),
                     "wrong_azp");
    ck_assert_str_eq(claims_code(json_pack("{s:s,s:[s,s],s:s,s:s,s:I,s:I,"
                                           "s:s}", "iss", ISS, "aud", CLIENT,
                                           "other", "azp", CLIENT, "sub",
                                           "alice", "exp",
                                           (json_int_t)NOW + 300, "iat",
                                           (json_int_t)NOW, "nonce", NONCE),
                                 &e), "ok");
    ck_assert_str_eq(claims_code(with("azp", json_string("other")), &e),
                     "wrong_azp");
    ck_assert_str_eq(claims_code(with("azp", json_integer(1)), &e),
                     "wrong_azp");
    ck_assert_str_eq(claims_code(with("azp", json_string(CLIENT)), &e),
                     "ok");
}
END_TEST

START_TEST(claims_times)
{
    fa_jwt_expect_t e = expect_default();

    ck_assert_str_eq(claims_code(with("exp", json_integer(NOW - 61)), &e),
                     "token_expired");
    ck_assert_str_eq(claims_code(with("exp", json_integer(NOW - 60)), &e),
                     "token_expired");
    ck_assert_str_eq(claims_code(with("exp", json_integer(NOW - 59)), &e),
                     "ok");
    ck_assert_str_eq(claims_code(with("exp", json_integer(NOW - 30)), &e),
                     "ok");
    ck_assert_str_eq(claims_code(with("exp", NULL), &e), "token_expired");
    ck_assert_str_eq(claims_code(with("exp", json_string("9999999999")),
                                 &e), "token_expired");
    ck_assert_str_eq(claims_code(with("nbf", json_integer(NOW + 61)), &e),
                     "token_not_yet_valid");
    ck_assert_str_eq(claims_code(with("nbf", json_integer(NOW + 30)), &e),
                     "ok");
    ck_assert_str_eq(claims_code(with("nbf", json_string("0")), &e),
                     "token_not_yet_valid");
    ck_assert_str_eq(claims_code(with("iat", json_integer(NOW + 61)), &e),
                     "invalid_iat");
    ck_assert_str_eq(claims_code(with("iat", json_integer(NOW + 30)), &e),
                     "ok");
    ck_assert_str_eq(claims_code(with("iat", json_string("1")), &e),
                     "invalid_iat");
    ck_assert_str_eq(claims_code(with("iat", NULL), &e), "invalid_iat");
    e.require_iat = 0;
    ck_assert_str_eq(claims_code(with("iat", NULL), &e), "ok");
    ck_assert_str_eq(claims_code(with("iat", json_integer(NOW + 61)), &e),
                     "invalid_iat");
    e.leeway = 0;
    ck_assert_str_eq(claims_code(with("exp", json_integer(NOW + 1)), &e),
                     "ok");
    ck_assert_str_eq(claims_code(with("exp", json_integer(NOW)), &e),
                     "token_expired");
    /* exp_optional: a missing exp passes, a present one is still checked,
     * one of another type is still refused; a huge one is no error */
    e.exp_optional = 1;
    ck_assert_str_eq(claims_code(with("exp", NULL), &e), "ok");
    ck_assert_str_eq(claims_code(with("exp", json_integer(NOW)), &e),
                     "token_expired");
    ck_assert_str_eq(claims_code(with("exp", json_string("1")), &e),
                     "token_expired");
    ck_assert_str_eq(claims_code(with("exp", json_integer(APR_INT64_MAX)),
                                 &e), "ok");
}
END_TEST

START_TEST(claims_nonce)
{
    fa_jwt_expect_t e = expect_default();

    ck_assert_str_eq(claims_code(with("nonce", json_string("n-0S6_WzA2MJ")),
                                 &e), "wrong_nonce");
    ck_assert_str_eq(claims_code(with("nonce", json_string("n-0S6_WzA2M")),
                                 &e), "wrong_nonce");
    ck_assert_str_eq(claims_code(with("nonce", json_string("")), &e),
                     "wrong_nonce");
    ck_assert_str_eq(claims_code(with("nonce", json_integer(1)), &e),
                     "wrong_nonce");
    ck_assert_str_eq(claims_code(with("nonce", NULL), &e), "wrong_nonce");
}
END_TEST

START_TEST(claims_sub)
{
    fa_jwt_expect_t e = expect_default();
    char s256[257], s255[256];

    memset(s256, 'a', 256);
    s256[256] = '\0';
    memset(s255, 'a', 255);
    s255[255] = '\0';
    ck_assert_str_eq(claims_code(with("sub", NULL), &e), "missing_sub");
    ck_assert_str_eq(claims_code(with("sub", json_string("")), &e),
                     "missing_sub");
    ck_assert_str_eq(claims_code(with("sub", json_string(s256)), &e),
                     "missing_sub");
    ck_assert_str_eq(claims_code(with("sub", json_integer(5)), &e),
                     "missing_sub");
    ck_assert_str_eq(claims_code(with("sub", json_string(s255)), &e), "ok");
    e.require_sub = 0;
    ck_assert_str_eq(claims_code(with("sub", NULL), &e), "ok");
}
END_TEST

/* ------------------------------------------------------------------ */
/* JWK and JWKS parsing                                                 */

/* fa_jwk_from_json on obj (stolen); "ok" or the error code. */
static const char *jwk_code(json_t *obj, fa_jwk_t **out)
{
    fa_jwk_t *jwk = NULL;
    fa_err_t err = { 0 };
    apr_status_t rv = fa_jwk_from_json(pool, obj, &jwk, &err);

    json_decref(obj);
    if (out) {
        *out = jwk;
    }
    if (rv != APR_SUCCESS) {
        ck_assert_ptr_null(jwk);
        return code_of(&err);
    }
    ck_assert_ptr_nonnull(jwk->pkey);
    return "ok";
}

static const char *jwks_code(const char *doc, apr_size_t len, int *nkeys)
{
    fa_jwks_t *jwks = NULL;
    fa_err_t err = { 0 };

    if (fa_jwks_parse(pool, doc, len, &jwks, &err) != APR_SUCCESS) {
        ck_assert_ptr_null(jwks);
        return code_of(&err);
    }
    *nkeys = jwks->keys->nelts;
    return "ok";
}

/* jwk (stolen) with member name set to v (stolen). */
static json_t *set(json_t *jwk, const char *name, json_t *v)
{
    json_object_set_new(jwk, name, v);
    return jwk;
}

START_TEST(jwk_kinds)
{
    static const struct {
        int key;
        const char *crv;
        int bits;
    } ec[] = {
        { K_P256, "P-256", 256 }, { K_P384, "P-384", 384 },
        { K_P521, "P-521", 521 }
    };
    fa_jwk_t *jwk;
    int i;

    ck_assert_str_eq(jwk_code(json_deep_copy(vec("rfc7515_a2", "jwk")),
                              &jwk), "ok");
    ck_assert_int_eq(jwk->kty, FA_KTY_RSA);
    ck_assert_int_eq(jwk->bits, 2048);
    ck_assert_ptr_null(jwk->kid);
    ck_assert_ptr_null(jwk->alg);
    ck_assert_ptr_null(jwk->crv);
    ck_assert_str_eq(jwk_code(jwk_of(keys[K_RSA], "r1", "PS256"), &jwk),
                     "ok");
    ck_assert_str_eq(jwk->kid, "r1");
    ck_assert_str_eq(jwk->alg, "PS256");
    for (i = 0; i < 3; i++) {
        ck_assert_str_eq(jwk_code(jwk_of(keys[ec[i].key], NULL, NULL),
                                  &jwk), "ok");
        ck_assert_int_eq(jwk->kty, FA_KTY_EC);
        ck_assert_str_eq(jwk->crv, ec[i].crv);
        ck_assert_int_eq(jwk->bits, ec[i].bits);
    }
    ck_assert_str_eq(jwk_code(json_deep_copy(vec("rfc8037_a4", "jwk")),
                              &jwk), "ok");
    ck_assert_int_eq(jwk->kty, FA_KTY_OKP);
    ck_assert_str_eq(jwk->crv, "Ed25519");
    ck_assert_str_eq(jwk_code(set(jwk_of(keys[K_P256], NULL, NULL), "use",
                                  json_string("sig")), NULL), "ok");
}
END_TEST

START_TEST(jwk_refused)
{
    json_t *ec = json_deep_copy(vec("rfc7515_a3", "jwk"));
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);

    ck_assert_str_eq(jwk_code(jwk_of(small, NULL, NULL), NULL),
                     "invalid_jwk");
    EVP_PKEY_free(small);
    ck_assert_str_eq(jwk_code(json_deep_copy(vec("rfc7515_a3",
                                                 "jwk_private")), NULL),
                     "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(jwk_of(keys[K_RSA], NULL, NULL), "d",
                                  json_string("AQAB")), NULL),
                     "invalid_jwk");
    ck_assert_str_eq(jwk_code(json_pack("{s:s,s:s}", "kty", "oct", "k",
                                        "c2VjcmV0"), NULL), "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(json_deep_copy(ec), "use",
                                  json_string("enc")), NULL),
                     "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(json_deep_copy(ec), "crv",
                                  json_string("secp256k1")), NULL),
                     "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(json_deep_copy(ec), "kid",
                                  json_integer(1)), NULL), "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(json_deep_copy(ec), "x",
                                  json_string("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e"
                                              "8Tus9uPHvRVEU=")), NULL),
                     "invalid_jwk");
    /* 33 bytes is too long a coordinate for P-256. */
    ck_assert_str_eq(jwk_code(set(json_deep_copy(ec), "x",
                                  json_string(b64("012345678901234567890"
                                                  "123456789012"))), NULL),
                     "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(json_deep_copy(ec), "kty",
                                  json_string("XYZ")), NULL), "invalid_jwk");
    json_object_del(ec, "kty");
    ck_assert_str_eq(jwk_code(ec, NULL), "invalid_jwk");
    ck_assert_str_eq(jwk_code(json_pack("{s:s,s:s}", "kty", "RSA", "e",
                                        "AQAB"), NULL), "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(json_deep_copy(vec("rfc8037_a4", "jwk")),
                                  "crv", json_string("X25519")), NULL),
                     "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(json_deep_copy(vec("rfc8037_a4", "jwk")),
                                  "crv", json_string("Ed448")), NULL),
                     "invalid_jwk");
    ck_assert_str_eq(jwk_code(json_pack("[]"), NULL), "invalid_jwk");
}
END_TEST

/* RSA keys that OpenSSL imports but its public key check refuses. */
START_TEST(jwk_rsa_public_check)
{
    json_t *rsa = json_deep_copy(vec("rfc7515_a2", "jwk"));
    const char *n = json_string_value(json_object_get(rsa, "n"));
    unsigned char *raw;
    apr_size_t len;

    ck_assert(fa_b64url_decode(pool, n, strlen(n), &raw, &len)
              == APR_SUCCESS);
    raw[len - 1] ^= 0x01;
    ck_assert_str_eq(jwk_code(set(json_deep_copy(rsa), "n", json_string(
                                  fa_b64url_encode(pool, raw, len))), NULL),
                     "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(json_deep_copy(rsa), "e",
                                  json_string("AQ")), NULL), "invalid_jwk");
    ck_assert_str_eq(jwk_code(set(json_deep_copy(rsa), "e",
                                  json_string("AAEAAQ")), NULL), "ok");
    ck_assert_str_eq(jwk_code(rsa, NULL), "ok");
}
END_TEST

/* A point that is not on the curve is refused. */
START_TEST(jwk_point_off_curve)
{
    json_t *ec = json_deep_copy(vec("rfc7515_a3", "jwk"));
    const char *y = json_string_value(json_object_get(ec, "y"));
    unsigned char *raw;
    apr_size_t len;
    int n = 0;
    const char *doc;

    ck_assert(fa_b64url_decode(pool, y, strlen(y), &raw, &len)
              == APR_SUCCESS);
    raw[len - 1] ^= 0x01;
    json_object_set_new(ec, "y", json_string(fa_b64url_encode(pool, raw,
                                                              len)));
    doc = apr_psprintf(pool, "{\"keys\":[%s]}", dump(ec));
    ck_assert_str_eq(jwk_code(ec, NULL), "invalid_jwk");
    /* In a JWKS the broken key is left out and the rest still loads. */
    ck_assert_str_eq(jwks_code(doc, strlen(doc), &n), "ok");
    ck_assert_int_eq(n, 0);
}
END_TEST

/* jwk (stolen) with coordinate name set to the bytes of hex (size
 * bytes, left-padded with zeros). */
static json_t *set_coord_hex(json_t *jwk, const char *name, const char *hex,
                             int size)
{
    BIGNUM *bn = NULL;
    json_t *out;

    ck_assert(BN_hex2bn(&bn, hex) > 0);
    out = set(jwk, name, json_string(bn_b64(bn, size)));
    BN_free(bn);
    return out;
}

/* The same on every curve, with keys made here, and the other ways a
 * point can be bad: y changed in its last bit (the point then lies on
 * another curve with the same a, which is what an invalid-curve attack
 * sends), (0, 0), a coordinate equal to the field prime. The good keys
 * load. */
START_TEST(jwk_points_off_curve)
{
    static const int ec[] = { K_P256, K_P384, K_P521 };
    static const char *const p256 =
        "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF";
    json_t *good;
    const char *y;
    unsigned char *raw;
    apr_size_t len;
    int i, size;

    for (i = 0; i < 3; i++) {
        size = (EVP_PKEY_get_bits(keys[ec[i]]) + 7) / 8;
        good = jwk_of(keys[ec[i]], "k", NULL);
        y = json_string_value(json_object_get(good, "y"));
        ck_assert(fa_b64url_decode(pool, y, strlen(y), &raw, &len)
                  == APR_SUCCESS);
        raw[len - 1] ^= 0x01;
        ck_assert_str_eq(jwk_code(set(json_deep_copy(good), "y",
                                      json_string(fa_b64url_encode(
                                          pool, raw, len))), NULL),
                         "invalid_jwk");
        ck_assert_str_eq(jwk_code(set_coord_hex(set_coord_hex(
                                      json_deep_copy(good), "x", "0", size),
                                      "y", "0", size), NULL),
                         "invalid_jwk");
        ck_assert_str_eq(jwk_code(good, NULL), "ok");
    }
    good = jwk_of(keys[K_P256], "k", NULL);
    ck_assert_str_eq(jwk_code(set_coord_hex(json_deep_copy(good), "x",
                                            p256, 32), NULL),
                     "invalid_jwk");
    ck_assert_str_eq(jwk_code(set_coord_hex(json_deep_copy(good), "y",
                                            p256, 32), NULL),
                     "invalid_jwk");
    json_decref(good);
}
END_TEST

START_TEST(jwks_docs)
{
    static const char *const junk[] = {
        "", "not json", "[]", "{}", "{\"keys\":{}}", "{\"keys\":\"x\"}",
        "{\"keys\":[]", "{\"keys\":[],\"keys\":[]}", "null", NULL
    };
    const char *const *j;
    int n = -1;

    for (j = junk; *j; j++) {
        ck_assert_msg(strcmp(jwks_code(*j, strlen(*j), &n),
                             "invalid_jwks") == 0, "%s accepted", *j);
    }
    ck_assert_str_eq(jwks_code(NULL, 0, &n), "invalid_jwks");
    ck_assert_str_eq(jwks_code("{\"keys\":[]}", 11, &n), "ok");
    ck_assert_int_eq(n, 0);
}
END_TEST

/* oct, use=enc, unknown kty or crv and non-objects are skipped. */
START_TEST(jwks_skips)
{
    json_t *keys_arr = json_pack("[{s:s,s:s},o,o,o,{s:s},i,o,o]",
        "kty", "oct", "k", "c2VjcmV0",
        set(jwk_of(keys[K_RSA], "enc", NULL), "use", json_string("enc")),
        set(jwk_of(keys[K_P256], "c", NULL), "crv", json_string("P-192")),
        set(jwk_of(keys[K_ED25519], "x", NULL), "crv", json_string("X25519")),
        "kty", "XYZ", 7,
        jwk_of(keys[K_P256], "good", NULL),
        jwk_of(keys[K_ED25519], "good2", NULL));
    fa_jwks_t *jwks = jwks_from(keys_arr);
    fa_jwk_t *k;

    ck_assert_int_eq(jwks->keys->nelts, 2);
    k = APR_ARRAY_IDX(jwks->keys, 0, fa_jwk_t *);
    ck_assert_str_eq(k->kid, "good");
    k = APR_ARRAY_IDX(jwks->keys, 1, fa_jwk_t *);
    ck_assert_str_eq(k->kid, "good2");
}
END_TEST

START_TEST(jwks_limits)
{
    json_t *arr = json_array();
    json_t *one = jwk_of(keys[K_P256], NULL, NULL);
    const char *doc;
    char *big;
    int i, n = 0;

    for (i = 0; i < FA_JWKS_MAX_KEYS; i++) {
        json_array_append(arr, one);
    }
    doc = apr_psprintf(pool, "{\"keys\":%s}", dump(arr));
    ck_assert_str_eq(jwks_code(doc, strlen(doc), &n), "ok");
    ck_assert_int_eq(n, FA_JWKS_MAX_KEYS);
    json_array_append(arr, one);
    doc = apr_psprintf(pool, "{\"keys\":%s}", dump(arr));
    ck_assert_str_eq(jwks_code(doc, strlen(doc), &n), "invalid_jwks");
    json_decref(arr);
    json_decref(one);
    /* Over FA_JWKS_MAX_BYTES, even when it is valid JSON. */
    big = apr_palloc(pool, FA_JWKS_MAX_BYTES + 2);
    memset(big, ' ', FA_JWKS_MAX_BYTES + 1);
    memcpy(big, "{\"keys\":[]}", 11);
    big[FA_JWKS_MAX_BYTES + 1] = '\0';
    ck_assert_str_eq(jwks_code(big, FA_JWKS_MAX_BYTES + 1, &n),
                     "invalid_jwks");
    ck_assert_str_eq(jwks_code(big, FA_JWKS_MAX_BYTES, &n), "ok");
}
END_TEST

/* RSA under 2048 bits and private keys are left out of a JWKS. */
START_TEST(jwks_refused_keys_skipped)
{
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    fa_jwks_t *jwks = jwks_from(json_pack("[o,O,o]",
                                          jwk_of(small, "small", NULL),
                                          vec("rfc7515_a3", "jwk_private"),
                                          jwk_of(keys[K_RSA], "ok", NULL)));

    EVP_PKEY_free(small);
    ck_assert_int_eq(jwks->keys->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(jwks->keys, 0, fa_jwk_t *)->kid, "ok");
}
END_TEST

/* ------------------------------------------------------------------ */

static TCase *tcase(const char *name, int with_keys)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    if (with_keys) {
        tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
    }
    tcase_set_timeout(tc, 60);
    return tc;
}

Suite *suite_jose(void)
{
    Suite *s = suite_create("jose");
    TCase *tc;

    tc = tcase("rfc", 0);
    tcase_add_test(tc, rfc7515_a1_hs256);
    tcase_add_test(tc, rfc7515_a2_rs256);
    tcase_add_test(tc, rfc7515_a3_es256);
    tcase_add_test(tc, rfc_text_payload_vectors);
    tcase_add_test(tc, rfc7520_kid);
    suite_add_tcase(s, tc);

    tc = tcase("verify", 1);
    tcase_add_test(tc, every_asym_alg);
    tcase_add_test(tc, every_hmac_alg);
    tcase_add_test(tc, other_key_bad_signature);
    tcase_add_test(tc, pss_salt_and_padding);
    tcase_add_test(tc, alg_none);
    tcase_add_test(tc, unknown_algs);
    tcase_add_test(tc, alg_confusion);
    tcase_add_test(tc, wrong_curve_or_type);
    tcase_add_test(tc, kid_selection);
    tcase_add_test(tc, empty_jwks);
    tcase_add_test(tc, ecdsa_sig_length);
    suite_add_tcase(s, tc);

    tc = tcase("parse", 0);
    tcase_add_test(tc, parse_parts);
    tcase_add_test(tc, parse_header);
    tcase_add_test(tc, parse_base64);
    tcase_add_test(tc, parse_size);
    tcase_add_test(tc, claim_accessors);
    tcase_add_test(tc, time_until_exact);
    tcase_add_test(tc, typ_explicit);
    suite_add_tcase(s, tc);

    tc = tcase("claims", 0);
    tcase_add_test(tc, claims_good);
    tcase_add_test(tc, claims_iss);
    tcase_add_test(tc, claims_aud_azp);
    tcase_add_test(tc, claims_times);
    tcase_add_test(tc, claims_nonce);
    tcase_add_test(tc, claims_sub);
    suite_add_tcase(s, tc);

    tc = tcase("jwk", 1);
    tcase_add_test(tc, jwk_kinds);
    tcase_add_test(tc, jwk_refused);
    tcase_add_test(tc, jwk_point_off_curve);
    tcase_add_test(tc, jwk_points_off_curve);
    tcase_add_test(tc, jwk_rsa_public_check);
    tcase_add_test(tc, jwks_docs);
    tcase_add_test(tc, jwks_skips);
    tcase_add_test(tc, jwks_limits);
    tcase_add_test(tc, jwks_refused_keys_skipped);
    suite_add_tcase(s, tc);

    return s;
}
