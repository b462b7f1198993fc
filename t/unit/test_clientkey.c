/* SPDX-License-Identifier: Apache-2.0 */
/* test_clientkey.c - unit tests of fa_clientkey: the RFC 7638 section
 * 3.1 thumbprint, keys made here written to files (the mode rule, curves,
 * sizes, algs), client assertions checked with the verifier of fa_jwt
 * against the JWKS the module publishes, and the certificate hashes. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "fa_clientkey.h"
#include "fa_jwk.h"
#include "fa_jwt.h"
#include "fa_json.h"
#include "unit.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/fa-unit-clientkey-XXXXXX";

/* RFC 7638 section 3.1 (the key of RFC 7517 appendix A.1). */
static const char RFC7638_N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7"
    "aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXA"
    "rwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7"
    "d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lF"
    "d2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char RFC7638_THUMBPRINT[] =
    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    strcpy(dir, "/tmp/fa-unit-clientkey-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
    (void)rmdir(dir);
}

/* Writes pkey's private PEM to <dir>/<name> with mode; returns the path. */
static const char *write_key(EVP_PKEY *pkey, const char *name, mode_t mode)
{
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL,
                                          NULL), 1);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

static EVP_PKEY *gen(const char *type, const char *arg)
{
    EVP_PKEY *k = !strcmp(type, "RSA")
        ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(arg))
        : EVP_PKEY_Q_keygen(NULL, NULL, type, arg);

    ck_assert_ptr_nonnull(k);
    return k;
}

/* A key made here, written and read back with alg (NULL: by key). */
static fa_client_key_t *load(EVP_PKEY *k, const char *name, const char *alg)
{
    fa_client_key_t *key = NULL;
    fa_err_t err;
    const char *path = write_key(k, name, 0600);

    memset(&err, 0, sizeof(err));
    ck_assert_msg(fa_client_key_load(pool, path, alg, &key, &err)
                  == APR_SUCCESS, "%s", err.desc);
    unlink(path);
    return key;
}

START_TEST(rfc7638_thumbprint)
{
    json_t *j = fa_json_pool_own(pool, json_pack("{s:s, s:s, s:s, s:s}",
        "kty", "RSA", "n", RFC7638_N, "e", "AQAB", "alg", "RS256"));
    fa_jwk_t *jwk = NULL;
    fa_err_t err;

    ck_assert_int_eq(fa_jwk_from_json(pool, j, &jwk, &err), APR_SUCCESS);
    ck_assert_str_eq(fa_client_key_thumbprint(pool, jwk->pkey),
                     RFC7638_THUMBPRINT);
}
END_TEST

/* Signs with key (or secret), then checks the assertion as an IdP does:
 * the header, the claims, and the signature against the published JWKS. */
static void check_assertion(fa_client_key_t *key, const char *secret,
                            const char *alg)
{
    apr_array_header_t *arr = apr_array_make(pool, 1, sizeof(void *));
    const char *a = NULL, *doc;
    fa_jwks_t *jwks = NULL;
    fa_jwt_t *jwt = NULL;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(fa_client_assertion(pool, key, secret, "client-1",
                                         "https://idp.example/token", 1000,
                                         &a, &err), APR_SUCCESS);
    ck_assert_int_eq(fa_jwt_parse(pool, a, strlen(a), &jwt, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(jwt->alg, alg);
    ck_assert_str_eq(json_string_value(json_object_get(jwt->header, "typ")),
                     "JWT");
    ck_assert_str_eq(fa_jwt_claim_str(jwt, "iss"), "client-1");
    ck_assert_str_eq(fa_jwt_claim_str(jwt, "sub"), "client-1");
    ck_assert_str_eq(fa_jwt_claim_str(jwt, "aud"),
                     "https://idp.example/token");
    ck_assert_int_ge(strlen(fa_jwt_claim_str(jwt, "jti")), 22);
    ck_assert_int_eq(fa_jwt_claim_int(jwt, "iat"), 1000);
    ck_assert_int_eq(fa_jwt_claim_int(jwt, "exp"), 1060);
    if (!key) {
        ck_assert_ptr_null(jwt->kid);
        ck_assert_int_eq(fa_jwt_verify(jwt, NULL,
                                       (const unsigned char *)secret,
                                       strlen(secret), &err), APR_SUCCESS);
        return;
    }
    ck_assert_str_eq(jwt->kid, key->kid);
    APR_ARRAY_PUSH(arr, fa_client_key_t *) = key;
    doc = fa_client_keys_jwks(pool, arr);
    ck_assert_ptr_null(strstr(doc, "\"d\""));
    ck_assert_int_eq(fa_jwks_parse(pool, doc, strlen(doc), &jwks, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(jwks->keys->nelts, 1);
    ck_assert_msg(fa_jwt_verify(jwt, jwks, NULL, 0, &err) == APR_SUCCESS,
                  "%s: %s", alg, err.desc);
}

START_TEST(assertions_verify)
{
    EVP_PKEY *rsa = gen("RSA", "2048");
    EVP_PKEY *p256 = gen("EC", "P-256"), *p384 = gen("EC", "P-384");
    int i;

    for (i = 0; i < 3; i++) {   /* ECDSA signatures vary in DER length */
        check_assertion(load(p256, "p256.pem", NULL), NULL, "ES256");
        check_assertion(load(p384, "p384.pem", NULL), NULL, "ES384");
    }
    check_assertion(load(rsa, "rsa.pem", NULL), NULL, "RS256");
    check_assertion(load(rsa, "rsa.pem", "PS256"), NULL, "PS256");
    check_assertion(load(rsa, "rsa.pem", "RS512"), NULL, "RS512");
    check_assertion(NULL, "0123456789abcdef0123456789abcdef", "HS256");
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
}
END_TEST

START_TEST(fresh_jti)
{
    const char *a = NULL, *b = NULL;
    fa_err_t err;

    fa_client_assertion(pool, NULL, "0123456789abcdef0123456789abcdef",
                        "c", "https://x/t", 1, &a, &err);
    fa_client_assertion(pool, NULL, "0123456789abcdef0123456789abcdef",
                        "c", "https://x/t", 1, &b, &err);
    ck_assert_str_ne(a, b);
}
END_TEST

/* fa_client_key_load refuses path with alg, saying want. */
static void refused(const char *path, const char *alg, const char *want)
{
    fa_client_key_t *key = NULL;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    ck_assert_int_ne(fa_client_key_load(pool, path, alg, &key, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(key);
    ck_assert_str_eq(err.code, "invalid_client_key");
    ck_assert_msg(strstr(err.desc, want) != NULL, "%s", err.desc);
    ck_assert_ptr_null(strstr(err.desc, "PRIVATE"));
}

START_TEST(refusals)
{
    EVP_PKEY *p256 = gen("EC", "P-256"), *p521 = gen("EC", "P-521");
    EVP_PKEY *small = gen("RSA", "1024"), *ed = gen("ED25519", NULL);
    const char *p;

    p = write_key(p256, "open.pem", 0644);
    refused(p, NULL, "group or other");
    chmod(p, 0640);
    refused(p, NULL, "group or other");
    chmod(p, 0602);
    refused(p, NULL, "group or other");
    chmod(p, 0600);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(p, 65534, 65534), 0);
        refused(p, NULL, "belongs to uid 65534");
        ck_assert_int_eq(chown(p, 0, 0), 0);
    }
    chmod(p, 0400);
    refused(p, "RS256", "RS256 needs");
    refused(p, "ES384", "ES256 for a P-256 key");
    refused(p, "HS256", "unknown alg");
    refused(p, "none", "unknown alg");
    unlink(p);
    p = apr_pstrcat(pool, dir, "/enc.pem", NULL);
    {
        FILE *f = fopen(p, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(PEM_write_PrivateKey(f, p256, EVP_aes_256_cbc(),
                                              (unsigned char *)"pass", 4,
                                              NULL, NULL), 1);
        fclose(f);
        chmod(p, 0600);
    }
    refused(p, NULL, "with a passphrase");
    unlink(p);
    p = write_key(p521, "p521.pem", 0600);
    refused(p, NULL, "P-256 or P-384");
    unlink(p);
    p = write_key(small, "small.pem", 0600);
    refused(p, NULL, "at least 2048 bits");
    unlink(p);
    p = write_key(ed, "ed.pem", 0600);
    refused(p, NULL, "RSA or EC");
    unlink(p);
    refused(apr_pstrcat(pool, dir, "/missing.pem", NULL), NULL,
            "cannot read");
    refused(dir, NULL, "regular file");
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(small);
    EVP_PKEY_free(ed);
}
END_TEST

/* A self-signed certificate of pkey in <dir>/<name>; its DER in *der. */
static const char *write_cert(EVP_PKEY *pkey, const char *name,
                              unsigned char **der, int *len)
{
    X509 *x = X509_new();
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f;

    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"unit", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    ck_assert_int_gt(X509_sign(x, pkey, EVP_sha256()), 0);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    PEM_write_X509(f, x);
    fclose(f);
    *der = NULL;
    *len = i2d_X509(x, der);
    X509_free(x);
    return path;
}

START_TEST(certificate)
{
    EVP_PKEY *k = gen("EC", "P-256"), *other = gen("EC", "P-256");
    fa_client_key_t *key = load(k, "k.pem", NULL);
    unsigned char *der, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    const char *a = NULL, *path;
    fa_jwt_t *jwt = NULL;
    fa_err_t err;
    int len;

    path = write_cert(other, "other.crt", &der, &len);
    OPENSSL_free(der);
    ck_assert_int_ne(fa_client_key_set_cert(pool, key, path, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err.desc, "is not for"));
    unlink(path);
    path = write_cert(k, "k.crt", &der, &len);
    ck_assert_int_eq(fa_client_key_set_cert(pool, key, path, &err),
                     APR_SUCCESS);
    unlink(path);
    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL);
    ck_assert_str_eq(key->x5t, fa_b64url_encode(pool, md, mdlen));
    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
    ck_assert_str_eq(key->x5t_s256, fa_b64url_encode(pool, md, mdlen));
    ck_assert_str_eq(key->x5c, fa_b64_encode(pool, der, (apr_size_t)len));
    ck_assert_int_le(llabs((long long)(key->not_after - fa_now_sec()
                                       - 3600)), 5);
    OPENSSL_free(der);
    fa_client_assertion(pool, key, NULL, "c", "https://x/t", 1, &a, &err);
    ck_assert_int_eq(fa_jwt_parse(pool, a, strlen(a), &jwt, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(jwt->header, "x5t")),
                     key->x5t);
    ck_assert_str_eq(json_string_value(json_object_get(jwt->header,
                                                       "x5t#S256")),
                     key->x5t_s256);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}
END_TEST

Suite *suite_clientkey(void)
{
    Suite *s = suite_create("clientkey");
    TCase *tc = tcase_create("clientkey");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rfc7638_thumbprint);
    tcase_add_test(tc, assertions_verify);
    tcase_add_test(tc, fresh_jti);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, certificate);
    suite_add_tcase(s, tc);
    return s;
}
