/* SPDX-License-Identifier: Apache-2.0 */
/* fa_jwt.c - compact JWS parsing, signature verification and the ID token
 * claim checks; see fa_jwt.h. Part of the httpd-free core. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include "fa_jwt.h"
#include "fa_json.h"

/* Longest sub accepted (OpenID Connect Core 1.0 section 2). */
#define FA_SUB_MAX 255

typedef enum {
    FAM_RSA_PKCS1,
    FAM_RSA_PSS,
    FAM_ECDSA,
    FAM_EDDSA,
    FAM_HMAC
} alg_family_t;

/* One JWS alg we accept (RFC 7518 section 3, RFC 8037 section 3.1). */
typedef struct {
    const char *name;
    alg_family_t family;
    const char *md;         /* digest name; NULL for EdDSA */
    const char *crv;        /* the only curve the alg may use, or NULL */
    apr_size_t ec_size;     /* ECDSA: bytes of R and of S */
} jws_alg_t;

static const jws_alg_t JWS_ALGS[] = {
    { "RS256", FAM_RSA_PKCS1, "SHA256", NULL, 0 },
    { "RS384", FAM_RSA_PKCS1, "SHA384", NULL, 0 },
    { "RS512", FAM_RSA_PKCS1, "SHA512", NULL, 0 },
    { "PS256", FAM_RSA_PSS, "SHA256", NULL, 0 },
    { "PS384", FAM_RSA_PSS, "SHA384", NULL, 0 },
    { "PS512", FAM_RSA_PSS, "SHA512", NULL, 0 },
    { "ES256", FAM_ECDSA, "SHA256", "P-256", 32 },
    { "ES384", FAM_ECDSA, "SHA384", "P-384", 48 },
    { "ES512", FAM_ECDSA, "SHA512", "P-521", 66 },
    { "EdDSA", FAM_EDDSA, NULL, "Ed25519", 0 },
    { "HS256", FAM_HMAC, "SHA256", NULL, 0 },
    { "HS384", FAM_HMAC, "SHA384", NULL, 0 },
    { "HS512", FAM_HMAC, "SHA512", NULL, 0 },
    { NULL, FAM_HMAC, NULL, NULL, 0 }
};

/* A copy of the untrusted string s fit for a log line: printable ASCII
 * only, cut to fit buf. */
static const char *loggable(char *buf, apr_size_t size, const char *s)
{
    apr_size_t i;

    for (i = 0; s && s[i] && i + 1 < size; i++) {
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }
    buf[i] = '\0';
    return buf;
}

/* Finds the two dots of a compact JWS; any other count is refused. */
static apr_status_t split3(const char *s, apr_size_t len, apr_size_t *dot1,
                           apr_size_t *dot2, fa_err_t *err)
{
    apr_size_t i, dots = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (dots == 0) {
                *dot1 = i;
            }
            else if (dots == 1) {
                *dot2 = i;
            }
            dots++;
        }
    }
    if (dots != 2) {
        return fa_err_set(err, "invalid_token", "token has %lu parts, not "
                          "3%s", (unsigned long)dots + 1,
                          dots == 4 ? " (JWE is not supported)" : "");
    }
    return APR_SUCCESS;
}

/* Decodes one base64url part that must hold a JSON object; the object is
 * released with the pool. */
static apr_status_t part_json(apr_pool_t *p, const char *b64, apr_size_t len,
                              const char *what, json_t **out, fa_err_t *err)
{
    unsigned char *raw;
    apr_size_t rawlen;

    *out = NULL;
    if (len == 0
        || fa_b64url_decode(p, b64, len, &raw, &rawlen) != APR_SUCCESS) {
        return fa_err_set(err, "invalid_token", "token %s is not base64url",
                          what);
    }
    if (!(*out = fa_json_object_parse(p, raw, rawlen))) {
        return fa_err_set(err, "invalid_token", "token %s is not a JSON "
                          "object", what);
    }
    return APR_SUCCESS;
}

/* Reads alg and kid from the header and refuses crit. */
static apr_status_t header_fields(fa_jwt_t *jwt, fa_err_t *err)
{
    json_t *alg = json_object_get(jwt->header, "alg");
    json_t *kid = json_object_get(jwt->header, "kid");

    if (!json_is_string(alg)) {
        return fa_err_set(err, "invalid_token", "token header has no alg");
    }
    if (kid != NULL && !json_is_string(kid)) {
        return fa_err_set(err, "invalid_token", "token kid is not a string");
    }
    /* We understand no extension, so any crit must be refused (RFC 7515
     * section 4.1.11). */
    if (json_object_get(jwt->header, "crit") != NULL) {
        return fa_err_set(err, "invalid_token", "token header has crit");
    }
    jwt->alg = json_string_value(alg);
    jwt->kid = json_string_value(kid);
    return APR_SUCCESS;
}

apr_status_t fa_jwt_parse(apr_pool_t *p, const char *compact, apr_size_t len,
                          fa_jwt_t **pjwt, fa_err_t *err)
{
    apr_size_t dot1 = 0, dot2 = 0;
    fa_jwt_t *jwt;
    apr_status_t rv;

    *pjwt = NULL;
    if (compact == NULL || len > FA_JWT_MAX_BYTES) {
        return fa_err_set(err, "invalid_token", "token missing or over %d "
                          "bytes", FA_JWT_MAX_BYTES);
    }
    if ((rv = split3(compact, len, &dot1, &dot2, err)) != APR_SUCCESS) {
        return rv;
    }
    jwt = apr_pcalloc(p, sizeof(*jwt));
    if ((rv = part_json(p, compact, dot1, "header", &jwt->header, err))
        != APR_SUCCESS
        || (rv = header_fields(jwt, err)) != APR_SUCCESS
        || (rv = part_json(p, compact + dot1 + 1, dot2 - dot1 - 1,
                           "payload", &jwt->claims, err)) != APR_SUCCESS) {
        return rv;
    }
    if (fa_b64url_decode(p, compact + dot2 + 1, len - dot2 - 1, &jwt->sig,
                         &jwt->sig_len) != APR_SUCCESS) {
        return fa_err_set(err, "invalid_token", "token signature is not "
                          "base64url");
    }
    jwt->signing_input = apr_pstrmemdup(p, compact, dot2);
    jwt->signing_input_len = dot2;
    *pjwt = jwt;
    return APR_SUCCESS;
}

static const jws_alg_t *alg_find(const char *name)
{
    const jws_alg_t *a;

    for (a = JWS_ALGS; name && a->name; a++) {
        if (strcmp(a->name, name) == 0) {
            return a;
        }
    }
    return NULL;
}

/* 1 when key k may verify alg a: right type and curve, and its own alg,
 * when it names one, is a. */
static int key_fits(const jws_alg_t *a, const fa_jwk_t *k)
{
    fa_kty_t kty = a->family == FAM_ECDSA ? FA_KTY_EC
                 : a->family == FAM_EDDSA ? FA_KTY_OKP : FA_KTY_RSA;

    if (k->kty != kty || k->pkey == NULL) {
        return 0;
    }
    if (a->crv != NULL && (k->crv == NULL || strcmp(a->crv, k->crv) != 0)) {
        return 0;
    }
    return k->alg == NULL || strcmp(k->alg, a->name) == 0;
}

/* Turns a JWS ECDSA signature (R || S, RFC 7518 section 3.4) into DER,
 * allocated with OPENSSL_malloc. Returns the DER length, 0 on error. */
static int ecdsa_sig_der(const unsigned char *sig, apr_size_t half,
                         unsigned char **der)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
    int len = 0;

    *der = NULL;
    if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    len = i2d_ECDSA_SIG(es, der);
out:
    ECDSA_SIG_free(es);
    return len > 0 ? len : 0;
}

static int set_pss(EVP_PKEY_CTX *pctx, const char *md)
{
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0
        && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0
        && EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, NULL) > 0;
}

/* 1 when the signature of jwt verifies with pkey under alg a. */
static int verify_with_key(const jws_alg_t *a, EVP_PKEY *pkey,
                           const fa_jwt_t *jwt)
{
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    const unsigned char *sig = jwt->sig;
    size_t sig_len = jwt->sig_len;
    int ok = 0;

    if (a->family == FAM_ECDSA) {
        if (jwt->sig_len != 2 * a->ec_size
            || (sig_len = ecdsa_sig_der(jwt->sig, a->ec_size, &der)) == 0) {
            goto out;
        }
        sig = der;
    }
    mctx = EVP_MD_CTX_new();
    if (mctx == NULL || EVP_DigestVerifyInit_ex(mctx, &pctx, a->md, NULL,
                                                NULL, pkey, NULL) != 1) {
        goto out;
    }
    if (a->family == FAM_RSA_PKCS1
        && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
        goto out;
    }
    if (a->family == FAM_RSA_PSS && !set_pss(pctx, a->md)) {
        goto out;
    }
    ok = EVP_DigestVerify(mctx, sig, sig_len,
                          (const unsigned char *)jwt->signing_input,
                          jwt->signing_input_len) == 1;
out:
    if (!ok) {
        ERR_clear_error();
    }
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(der);
    return ok;
}

/* Chooses keys as fa_jwt.h says and tries each until one verifies. */
static apr_status_t verify_asym(const jws_alg_t *a, const fa_jwt_t *jwt,
                                const fa_jwks_t *jwks, fa_err_t *err)
{
    const fa_jwk_t *k;
    int i, kid_seen = 0, tried = 0;
    char buf[64];

    for (i = 0; jwks && jwks->keys && i < jwks->keys->nelts; i++) {
        k = APR_ARRAY_IDX(jwks->keys, i, const fa_jwk_t *);
        if (jwt->kid && (k->kid == NULL || strcmp(k->kid, jwt->kid) != 0)) {
            continue;
        }
        kid_seen = 1;
        if (!key_fits(a, k)) {
            continue;
        }
        tried++;
        if (verify_with_key(a, k->pkey, jwt)) {
            return APR_SUCCESS;
        }
    }
    if (jwt->kid && !kid_seen) {
        return fa_err_set(err, "unknown_key", "no key with kid %s",
                          loggable(buf, sizeof(buf), jwt->kid));
    }
    if (tried == 0) {
        return fa_err_set(err, "unknown_key", "no key fits alg %s", a->name);
    }
    return fa_err_set(err, "invalid_signature", "%s signature does not "
                      "verify (%d key(s) tried)", a->name, tried);
}

static apr_status_t verify_hmac(const jws_alg_t *a, const fa_jwt_t *jwt,
                                const unsigned char *key, apr_size_t keylen,
                                fa_err_t *err)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;

    if (key == NULL || keylen == 0) {
        return fa_err_set(err, "unsupported_alg", "%s needs a client secret",
                          a->name);
    }
    if (EVP_Q_mac(NULL, "HMAC", NULL, a->md, NULL, key, keylen,
                  (const unsigned char *)jwt->signing_input,
                  jwt->signing_input_len, mac, sizeof(mac), &mac_len)
        == NULL) {
        ERR_clear_error();
        return fa_err_set(err, "invalid_signature", "%s failed", a->name);
    }
    if (jwt->sig_len != mac_len || !fa_ct_equal(mac, jwt->sig, mac_len)) {
        return fa_err_set(err, "invalid_signature", "%s signature does not "
                          "verify", a->name);
    }
    return APR_SUCCESS;
}

apr_status_t fa_jwt_verify(const fa_jwt_t *jwt, const fa_jwks_t *jwks,
                           const unsigned char *hmac_key,
                           apr_size_t hmac_key_len, fa_err_t *err)
{
    const jws_alg_t *a;
    char buf[32];

    if (jwt == NULL || jwt->alg == NULL || jwt->signing_input == NULL) {
        return fa_err_set(err, "invalid_token", "no parsed token");
    }
    a = alg_find(jwt->alg);
    if (a == NULL) {
        return fa_err_set(err, "unsupported_alg", "alg %s is not accepted",
                          loggable(buf, sizeof(buf), jwt->alg));
    }
    if (a->family == FAM_HMAC) {
        return verify_hmac(a, jwt, hmac_key, hmac_key_len, err);
    }
    return verify_asym(a, jwt, jwks, err);
}

static apr_status_t check_iss(const fa_jwt_t *jwt,
                              const fa_jwt_expect_t *expect, fa_err_t *err)
{
    const char *iss = json_string_value(json_object_get(jwt->claims, "iss"));
    const char *const *alt;
    char buf[128];

    if (iss == NULL) {
        return fa_err_set(err, "wrong_iss", "token has no iss");
    }
    if (expect->issuer && strcmp(iss, expect->issuer) == 0) {
        return APR_SUCCESS;
    }
    for (alt = expect->alt_issuers; alt && *alt; alt++) {
        if (strcmp(iss, *alt) == 0) {
            return APR_SUCCESS;
        }
    }
    return fa_err_set(err, "wrong_iss", "iss %s is not the expected issuer",
                      loggable(buf, sizeof(buf), iss));
}

/* aud must be client_id or an array of strings holding it; *naud says
 * how many audiences the token names. */
static apr_status_t check_aud(const fa_jwt_t *jwt,
                              const fa_jwt_expect_t *expect,
                              apr_size_t *naud, fa_err_t *err)
{
    json_t *aud = json_object_get(jwt->claims, "aud"), *v;
    const char *id = expect->client_id;
    int found = 0;
    size_t i;

    *naud = 0;
    if (json_is_string(aud)) {
        *naud = 1;
        found = id && strcmp(json_string_value(aud), id) == 0;
    }
    else if (json_is_array(aud)) {
        json_array_foreach(aud, i, v) {
            if (!json_is_string(v)) {
                return fa_err_set(err, "wrong_aud", "aud holds a "
                                  "non-string");
            }
            found = found || (id && strcmp(json_string_value(v), id) == 0);
        }
        *naud = json_array_size(aud);
    }
    if (!found) {
        return fa_err_set(err, "wrong_aud", "aud missing or without the "
                          "client_id");
    }
    return APR_SUCCESS;
}

static apr_status_t check_azp(const fa_jwt_t *jwt,
                              const fa_jwt_expect_t *expect,
                              apr_size_t naud, fa_err_t *err)
{
    json_t *azp = json_object_get(jwt->claims, "azp");

    if (azp == NULL) {
        if (naud > 1) {
            return fa_err_set(err, "wrong_azp", "%lu audiences and no azp",
                              (unsigned long)naud);
        }
        return APR_SUCCESS;
    }
    if (!json_is_string(azp) || expect->client_id == NULL
        || strcmp(json_string_value(azp), expect->client_id) != 0) {
        return fa_err_set(err, "wrong_azp", "azp is not the client_id");
    }
    return APR_SUCCESS;
}

/* 1 and *t when claim name is a number, 0 when absent, -1 otherwise. */
static int claim_time(const fa_jwt_t *jwt, const char *name, double *t)
{
    json_t *v = json_object_get(jwt->claims, name);

    if (v == NULL) {
        return 0;
    }
    if (!json_is_number(v)) {
        return -1;
    }
    *t = json_number_value(v);
    return 1;
}

static apr_status_t check_times(const fa_jwt_t *jwt,
                                const fa_jwt_expect_t *expect,
                                fa_err_t *err)
{
    double now = (double)expect->now, leeway = expect->leeway, t = 0;
    int rc;

    rc = claim_time(jwt, "exp", &t);
    if (rc < 0 || (rc == 0 && !expect->exp_optional)) {
        return fa_err_set(err, "token_expired", "exp missing or not a "
                          "number");
    }
    if (rc > 0 && t <= now - leeway) {
        return fa_err_set(err, "token_expired", "token expired %.0f s ago",
                          now - t);
    }
    rc = claim_time(jwt, "nbf", &t);
    if (rc < 0 || (rc > 0 && t > now + leeway)) {
        return fa_err_set(err, "token_not_yet_valid", "nbf is not a number "
                          "or in the future");
    }
    rc = claim_time(jwt, "iat", &t);
    if (rc < 0 || (rc == 0 && expect->require_iat)
        || (rc > 0 && t > now + leeway)) {
        return fa_err_set(err, "invalid_iat", "iat missing, not a number "
                          "or in the future");
    }
    return APR_SUCCESS;
}

static apr_status_t check_nonce_sub(const fa_jwt_t *jwt,
                                    const fa_jwt_expect_t *expect,
                                    fa_err_t *err)
{
    const char *nonce = json_string_value(json_object_get(jwt->claims,
                                                          "nonce"));
    json_t *sub = json_object_get(jwt->claims, "sub");
    apr_size_t len;

    if (expect->nonce && (nonce == NULL || !fa_ct_streq(nonce,
                                                        expect->nonce))) {
        return fa_err_set(err, "wrong_nonce", "nonce missing or wrong");
    }
    if (sub == NULL) {
        if (expect->require_sub) {
            return fa_err_set(err, "missing_sub", "token has no sub");
        }
        return APR_SUCCESS;
    }
    len = json_is_string(sub) ? json_string_length(sub) : 0;
    if (len == 0 || len > FA_SUB_MAX) {
        return fa_err_set(err, "missing_sub", "sub is not a string of 1 to "
                          "%d bytes", FA_SUB_MAX);
    }
    return APR_SUCCESS;
}

apr_status_t fa_jwt_check_claims(const fa_jwt_t *jwt,
                                 const fa_jwt_expect_t *expect,
                                 fa_err_t *err)
{
    apr_size_t naud;
    apr_status_t rv;

    if (jwt == NULL || !json_is_object(jwt->claims) || expect == NULL) {
        return fa_err_set(err, "invalid_token", "no parsed token");
    }
    if ((rv = check_iss(jwt, expect, err)) != APR_SUCCESS
        || (rv = check_aud(jwt, expect, &naud, err)) != APR_SUCCESS
        || (!expect->skip_azp
            && (rv = check_azp(jwt, expect, naud, err)) != APR_SUCCESS)
        || (rv = check_times(jwt, expect, err)) != APR_SUCCESS
        || (rv = check_nonce_sub(jwt, expect, err)) != APR_SUCCESS) {
        return rv;
    }
    return APR_SUCCESS;
}

const char *fa_jwt_claim_str(const fa_jwt_t *jwt, const char *name)
{
    if (jwt == NULL || jwt->claims == NULL) {
        return NULL;
    }
    return json_string_value(json_object_get(jwt->claims, name));
}

/* Integers as they are; NumericDate may also be a real (RFC 7519 section
 * 2), which is truncated. */
apr_int64_t fa_jwt_claim_int(const fa_jwt_t *jwt, const char *name)
{
    json_t *v;
    double d;

    if (jwt == NULL || jwt->claims == NULL) {
        return -1;
    }
    v = json_object_get(jwt->claims, name);
    if (json_is_integer(v)) {
        return (apr_int64_t)json_integer_value(v);
    }
    d = json_is_real(v) ? json_real_value(v) : -1;
    if (d > -9.0e18 && d < 9.0e18) {
        return (apr_int64_t)d;
    }
    return -1;
}

apr_int64_t fa_jwt_time_until(const fa_jwt_t *jwt, const char *name,
                              apr_int64_t add)
{
    json_t *v;
    double d;
    apr_int64_t t;

    v = jwt && jwt->claims ? json_object_get(jwt->claims, name) : NULL;
    if (json_is_integer(v)) {
        t = (apr_int64_t)json_integer_value(v);
    }
    else if (json_is_real(v)) {
        d = json_real_value(v);
        /* compared as reals: no conversion of a value out of range */
        t = d >= (double)FA_JWT_TIME_MAX ? FA_JWT_TIME_MAX
            : d <= 0 ? 0 : (apr_int64_t)d;
    }
    else {
        return -1;
    }
    t = t < 0 ? 0 : t > FA_JWT_TIME_MAX ? FA_JWT_TIME_MAX : t;
    /* both terms are small now: the sum is exact */
    add = add < 0 ? 0 : add > FA_JWT_TIME_MAX ? FA_JWT_TIME_MAX : add;
    return t + add;
}

/* 1 when s is type, without case, after an optional "application/". */
static int media_type_is(const char *s, const char *type)
{
    if (!strncasecmp(s, "application/", 12)) {
        s += 12;
    }
    return !strcasecmp(s, type);
}

int fa_jwt_typ_is(const fa_jwt_t *jwt, const char *type)
{
    json_t *v = jwt && jwt->header ? json_object_get(jwt->header, "typ")
                                   : NULL;

    if (v == NULL) {
        return type == NULL;
    }
    if (!json_is_string(v)) {
        return 0;
    }
    return media_type_is(json_string_value(v), type ? type : "jwt");
}
