/* SPDX-License-Identifier: Apache-2.0 */
/* fa_jwk.c - JSON Web Keys to OpenSSL 3 EVP_PKEY public keys; see fa_jwk.h.
 * Part of the httpd-free core. Keys are built with OSSL_PARAM_BLD and
 * EVP_PKEY_fromdata, checked with EVP_PKEY_public_check_quick (EC and OKP
 * keys; RSA keys get cheap checks of their own), and freed by a cleanup
 * of the pool they live in. */
#include <string.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include "fa_jwk.h"
#include "fa_log.h"

/* Smallest and largest RSA modulus accepted (the largest bounds the
 * cost of the public key check on a hostile JWKS). */
#define FA_RSA_MIN_BITS 2048
#define FA_RSA_MAX_BITS 8192
/* OpenSSL accepts public exponents of up to 256 bits. */
#define RSA_MAX_E_BYTES 32

/* Members that only a private (or symmetric) key has. */
static const char *const PRIVATE_MEMBERS[] = {
    "d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL
};

/* The curves we verify with: JWK name, OpenSSL group name, field bytes. */
typedef struct {
    const char *crv;
    const char *group;
    apr_size_t size;
} ec_curve_t;

static const ec_curve_t EC_CURVES[] = {
    { "P-256", "prime256v1", 32 },
    { "P-384", "secp384r1", 48 },
    { "P-521", "secp521r1", 66 },
    { NULL, NULL, 0 }
};

#define ED25519_KEY_BYTES 32

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static const ec_curve_t *ec_curve_find(const char *crv)
{
    const ec_curve_t *c;

    for (c = EC_CURVES; crv && c->crv; c++) {
        if (strcmp(c->crv, crv) == 0) {
            return c;
        }
    }
    return NULL;
}

/* Reads the optional string member name into *out (NULL when absent). */
static apr_status_t opt_str(json_t *obj, const char *name, const char **out,
                            fa_err_t *err)
{
    json_t *v = json_object_get(obj, name);

    *out = NULL;
    if (v == NULL) {
        return APR_SUCCESS;
    }
    if (!json_is_string(v)) {
        return fa_err_set(err, "invalid_jwk", "JWK %s is not a string", name);
    }
    *out = json_string_value(v);
    return APR_SUCCESS;
}

/* Decodes the required base64url member name; it must not be empty. */
static apr_status_t b64_member(apr_pool_t *p, json_t *obj, const char *name,
                               unsigned char **out, apr_size_t *outlen,
                               fa_err_t *err)
{
    json_t *v = json_object_get(obj, name);

    if (!json_is_string(v) || json_string_length(v) == 0) {
        return fa_err_set(err, "invalid_jwk", "JWK lacks %s", name);
    }
    if (fa_b64url_decode(p, json_string_value(v), json_string_length(v),
                         out, outlen) != APR_SUCCESS) {
        return fa_err_set(err, "invalid_jwk", "JWK %s is not base64url",
                          name);
    }
    return APR_SUCCESS;
}

/* Turns the parameters in bld into a public key of type, checked by
 * OpenSSL when check_key is 1.
 *
 * The quick check is the one that matters for EC: the point must be on
 * the named curve, inside the field and not the point at infinity, which
 * is what stops invalid-curve attacks. The full check also multiplies
 * the point by the group order; on P-256, P-384 and P-521 (cofactor 1)
 * every other point on the curve has that order anyway, so the product
 * proves nothing new and costs 50 to 400 us per key, several ms for the
 * first JWKS a process loads. For Ed25519 both checks only ask that a
 * public key is present. */
static apr_status_t pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld,
                                  int check_key, EVP_PKEY **ppkey,
                                  fa_err_t *err)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL, *check = NULL;
    EVP_PKEY *pkey = NULL;
    apr_status_t rv = APR_SUCCESS;

    *ppkey = NULL;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) <= 0
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        rv = fa_err_set(err, "invalid_jwk", "%s key refused by OpenSSL",
                        type);
        goto out;
    }
    check = check_key ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    if (check_key
        && (check == NULL || EVP_PKEY_public_check_quick(check) != 1)) {
        rv = fa_err_set(err, "invalid_jwk", "%s public key check failed",
                        type);
        goto out;
    }
    *ppkey = pkey;
    pkey = NULL;
out:
    if (rv != APR_SUCCESS) {
        ERR_clear_error();
    }
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rv;
}

static apr_status_t rsa_from_json(apr_pool_t *p, json_t *obj, fa_jwk_t *jwk,
                                  fa_err_t *err)
{
    unsigned char *n, *e;
    apr_size_t nlen, elen;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    apr_status_t rv;

    if ((rv = b64_member(p, obj, "n", &n, &nlen, err)) != APR_SUCCESS
        || (rv = b64_member(p, obj, "e", &e, &elen, err)) != APR_SUCCESS) {
        return rv;
    }
    if (nlen > FA_RSA_MAX_BITS / 8 + 1 || elen > RSA_MAX_E_BYTES) {
        return fa_err_set(err, "invalid_jwk", "RSA n or e too long");
    }
    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    if (bn_n == NULL || bn_e == NULL) {
        rv = fa_err_set(err, "invalid_jwk", "RSA key: out of memory");
        goto out;
    }
    if (BN_num_bits(bn_n) < FA_RSA_MIN_BITS
        || BN_num_bits(bn_n) > FA_RSA_MAX_BITS) {
        rv = fa_err_set(err, "invalid_jwk", "RSA key of %d bits, not in "
                        "%d..%d", BN_num_bits(bn_n), FA_RSA_MIN_BITS,
                        FA_RSA_MAX_BITS);
        goto out;
    }
    /* OpenSSL's RSA public key check adds a Miller-Rabin test of n: about
     * 5 ms for 2048 bits, 170 ms for 8192, so a hostile JWKS of 64 such
     * keys would hold a worker for 11 s. A key only ever verifies
     * signatures, where a malformed one can do no more than fail: the
     * cheap structural checks suffice. */
    if (!BN_is_odd(bn_n) || !BN_is_odd(bn_e) || BN_is_one(bn_e)) {
        rv = fa_err_set(err, "invalid_jwk", "RSA n or e is even, or e is 1");
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
        rv = fa_err_set(err, "invalid_jwk", "RSA key: out of memory");
        goto out;
    }
    rv = pkey_fromdata("RSA", bld, 0, &jwk->pkey, err);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return rv;
}

/* Decodes coordinate name of a point on curve c into dst (c->size bytes),
 * left-padded with zeros when the JWK omitted leading zero octets. */
static apr_status_t ec_coord(apr_pool_t *p, json_t *obj, const char *name,
                             const ec_curve_t *c, unsigned char *dst,
                             fa_err_t *err)
{
    unsigned char *v;
    apr_size_t len;
    apr_status_t rv;

    if ((rv = b64_member(p, obj, name, &v, &len, err)) != APR_SUCCESS) {
        return rv;
    }
    if (len > c->size) {
        return fa_err_set(err, "invalid_jwk", "EC %s too long for %s",
                          name, c->crv);
    }
    memset(dst, 0, c->size - len);
    memcpy(dst + c->size - len, v, len);
    return APR_SUCCESS;
}

static apr_status_t ec_from_json(apr_pool_t *p, json_t *obj, fa_jwk_t *jwk,
                                 fa_err_t *err)
{
    const ec_curve_t *c = ec_curve_find(jwk->crv);
    unsigned char *point;
    OSSL_PARAM_BLD *bld;
    apr_status_t rv;

    if (c == NULL) {
        return fa_err_set(err, "invalid_jwk", "EC crv missing or not "
                          "P-256, P-384 or P-521");
    }
    /* Uncompressed SEC1 point: 0x04 || X || Y. */
    point = apr_palloc(p, 1 + 2 * c->size);
    point[0] = 0x04;
    if ((rv = ec_coord(p, obj, "x", c, point + 1, err)) != APR_SUCCESS
        || (rv = ec_coord(p, obj, "y", c, point + 1 + c->size, err))
           != APR_SUCCESS) {
        return rv;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                            c->group, 0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                             point, 1 + 2 * c->size)) {
        rv = fa_err_set(err, "invalid_jwk", "EC key: out of memory");
        goto out;
    }
    rv = pkey_fromdata("EC", bld, 1, &jwk->pkey, err);
out:
    OSSL_PARAM_BLD_free(bld);
    return rv;
}

static apr_status_t okp_from_json(apr_pool_t *p, json_t *obj, fa_jwk_t *jwk,
                                  fa_err_t *err)
{
    unsigned char *x;
    apr_size_t len;
    OSSL_PARAM_BLD *bld;
    apr_status_t rv;

    if (jwk->crv == NULL || strcmp(jwk->crv, "Ed25519") != 0) {
        return fa_err_set(err, "invalid_jwk", "OKP crv missing or not "
                          "Ed25519");
    }
    if ((rv = b64_member(p, obj, "x", &x, &len, err)) != APR_SUCCESS) {
        return rv;
    }
    if (len != ED25519_KEY_BYTES) {
        return fa_err_set(err, "invalid_jwk", "Ed25519 x of %lu bytes",
                          (unsigned long)len);
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                             x, len)) {
        rv = fa_err_set(err, "invalid_jwk", "OKP key: out of memory");
        goto out;
    }
    rv = pkey_fromdata("ED25519", bld, 1, &jwk->pkey, err);
out:
    OSSL_PARAM_BLD_free(bld);
    return rv;
}

/* Reads kty, kid, alg, crv and use, refusing private members. */
static apr_status_t jwk_members(json_t *obj, fa_jwk_t *jwk, const char **kty,
                                fa_err_t *err)
{
    const char *const *m;
    const char *use;
    apr_status_t rv;

    for (m = PRIVATE_MEMBERS; *m; m++) {
        if (json_object_get(obj, *m) != NULL) {
            return fa_err_set(err, "invalid_jwk",
                              "JWK has private member %s", *m);
        }
    }
    if ((rv = opt_str(obj, "kty", kty, err)) != APR_SUCCESS
        || (rv = opt_str(obj, "kid", &jwk->kid, err)) != APR_SUCCESS
        || (rv = opt_str(obj, "alg", &jwk->alg, err)) != APR_SUCCESS
        || (rv = opt_str(obj, "crv", &jwk->crv, err)) != APR_SUCCESS
        || (rv = opt_str(obj, "use", &use, err)) != APR_SUCCESS) {
        return rv;
    }
    if (*kty == NULL) {
        return fa_err_set(err, "invalid_jwk", "JWK lacks kty");
    }
    if (use != NULL && strcmp(use, "sig") != 0) {
        return fa_err_set(err, "invalid_jwk", "JWK use is not sig");
    }
    return APR_SUCCESS;
}

/* Builds jwk->pkey from obj; decoded members go to the scratch pool. */
static apr_status_t jwk_build(apr_pool_t *scratch, json_t *obj,
                              const char *kty, fa_jwk_t *jwk, fa_err_t *err)
{
    if (strcmp(kty, "RSA") == 0) {
        jwk->kty = FA_KTY_RSA;
        jwk->crv = NULL;
        return rsa_from_json(scratch, obj, jwk, err);
    }
    if (strcmp(kty, "EC") == 0) {
        jwk->kty = FA_KTY_EC;
        return ec_from_json(scratch, obj, jwk, err);
    }
    if (strcmp(kty, "OKP") == 0) {
        jwk->kty = FA_KTY_OKP;
        return okp_from_json(scratch, obj, jwk, err);
    }
    return fa_err_set(err, "invalid_jwk", "kty is not RSA, EC or OKP");
}

apr_status_t fa_jwk_from_json(apr_pool_t *p, json_t *obj, fa_jwk_t **pkey,
                              fa_err_t *err)
{
    apr_pool_t *scratch;
    fa_jwk_t *jwk;
    const char *kty = NULL;
    apr_status_t rv;

    *pkey = NULL;
    if (!json_is_object(obj)) {
        return fa_err_set(err, "invalid_jwk", "JWK is not an object");
    }
    jwk = apr_pcalloc(p, sizeof(*jwk));
    if ((rv = jwk_members(obj, jwk, &kty, err)) != APR_SUCCESS) {
        return rv;
    }
    if (apr_pool_create(&scratch, p) != APR_SUCCESS) {
        return fa_err_set(err, "invalid_jwk", "out of memory");
    }
    rv = jwk_build(scratch, obj, kty, jwk, err);
    apr_pool_destroy(scratch);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, jwk->pkey, pkey_cleanup,
                              apr_pool_cleanup_null);
    /* Copies: the key must not depend on the lifetime of obj. */
    jwk->kid = jwk->kid ? apr_pstrdup(p, jwk->kid) : NULL;
    jwk->alg = jwk->alg ? apr_pstrdup(p, jwk->alg) : NULL;
    jwk->crv = jwk->crv ? apr_pstrdup(p, jwk->crv) : NULL;
    jwk->bits = EVP_PKEY_get_bits(jwk->pkey);
    *pkey = jwk;
    return APR_SUCCESS;
}

/* 1 when the JWK is meant for signatures with a kty and crv we know;
 * other keys in a JWKS are skipped without complaint. */
static int jwk_is_for_us(json_t *obj)
{
    const char *kty = json_string_value(json_object_get(obj, "kty"));
    const char *crv = json_string_value(json_object_get(obj, "crv"));
    json_t *use = json_object_get(obj, "use");

    if (use != NULL && !(json_is_string(use)
                         && strcmp(json_string_value(use), "sig") == 0)) {
        return 0;
    }
    if (kty == NULL) {
        return 0;
    }
    if (strcmp(kty, "RSA") == 0) {
        return 1;
    }
    if (strcmp(kty, "EC") == 0) {
        return ec_curve_find(crv) != NULL;
    }
    return strcmp(kty, "OKP") == 0 && crv && strcmp(crv, "Ed25519") == 0;
}

/* Adds each usable key of the array to jwks; broken ones are logged and
 * skipped, so that one bad key does not stop logins with the others. */
static void jwks_add_keys(apr_pool_t *p, json_t *keys, fa_jwks_t *jwks)
{
    size_t i;
    json_t *obj;
    fa_jwk_t *jwk;
    fa_err_t kerr;

    json_array_foreach(keys, i, obj) {
        if (!json_is_object(obj) || !jwk_is_for_us(obj)) {
            fa_log(FA_LOG_DEBUG, FALOGNO(01704) "JWKS: key %lu skipped: "
                   "not a signing key we support", (unsigned long)i);
            continue;
        }
        if (fa_jwk_from_json(p, obj, &jwk, &kerr) != APR_SUCCESS) {
            fa_log(FA_LOG_WARN, FALOGNO(01705) "JWKS: key %lu skipped: %s",
                   (unsigned long)i, kerr.desc);
            continue;
        }
        APR_ARRAY_PUSH(jwks->keys, fa_jwk_t *) = jwk;
    }
}

apr_status_t fa_jwks_parse(apr_pool_t *p, const char *json, apr_size_t len,
                           fa_jwks_t **pjwks, fa_err_t *err)
{
    json_t *root = NULL, *keys;
    json_error_t jerr;
    fa_jwks_t *jwks;
    apr_status_t rv = APR_SUCCESS;

    *pjwks = NULL;
    if (json == NULL || len > FA_JWKS_MAX_BYTES) {
        return fa_err_set(err, "invalid_jwks", "JWKS missing or over %d "
                          "bytes", FA_JWKS_MAX_BYTES);
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    keys = json_object_get(root, "keys");
    if (root == NULL || !json_is_array(keys)) {
        rv = fa_err_set(err, "invalid_jwks", "JWKS is not JSON with a keys "
                        "array");
        goto out;
    }
    if (json_array_size(keys) > FA_JWKS_MAX_KEYS) {
        rv = fa_err_set(err, "invalid_jwks", "JWKS lists %lu keys, over %d",
                        (unsigned long)json_array_size(keys),
                        FA_JWKS_MAX_KEYS);
        goto out;
    }
    jwks = apr_pcalloc(p, sizeof(*jwks));
    jwks->keys = apr_array_make(p, (int)json_array_size(keys) + 1,
                                sizeof(fa_jwk_t *));
    jwks_add_keys(p, keys, jwks);
    *pjwks = jwks;
out:
    json_decref(root);
    return rv;
}
