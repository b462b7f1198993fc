/* SPDX-License-Identifier: Apache-2.0 */
/* fa_clientkey.c - the relying party's own keys and client assertions;
 * see fa_clientkey.h. Part of the httpd-free core. Keys are read with
 * OpenSSL 3's PEM readers from memory (the file is opened once, its mode
 * checked on the open descriptor), signatures made with EVP_DigestSign;
 * ECDSA's DER signature becomes R || S (RFC 7518 section 3.4). */
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include "fa_clientkey.h"
#include "fa_json.h"

#define RSA_MIN_BITS 2048

typedef enum { SIG_RSA, SIG_PSS, SIG_EC } sig_family_t;

/* The algorithms a key of ours may sign with. */
typedef struct {
    const char *name;
    const char *md;
    sig_family_t family;
    const char *group;      /* EC: the OpenSSL group the key must be on */
    apr_size_t ec_size;     /* EC: bytes of R and of S */
} sign_alg_t;

static const sign_alg_t SIGN_ALGS[] = {
    { "RS256", "SHA256", SIG_RSA, NULL, 0 },
    { "RS384", "SHA384", SIG_RSA, NULL, 0 },
    { "RS512", "SHA512", SIG_RSA, NULL, 0 },
    { "PS256", "SHA256", SIG_PSS, NULL, 0 },
    { "PS384", "SHA384", SIG_PSS, NULL, 0 },
    { "PS512", "SHA512", SIG_PSS, NULL, 0 },
    { "ES256", "SHA256", SIG_EC, "prime256v1", 32 },
    { "ES384", "SHA384", SIG_EC, "secp384r1", 48 },
    { NULL, NULL, 0, NULL, 0 }
};

static const sign_alg_t *sign_alg_find(const char *name)
{
    const sign_alg_t *a;

    for (a = SIGN_ALGS; name && a->name; a++) {
        if (!strcmp(a->name, name)) {
            return a;
        }
    }
    return NULL;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* The OpenSSL group name of an EC key ("prime256v1"), or "". */
static const char *ec_group(apr_pool_t *p, EVP_PKEY *pkey)
{
    char name[64];
    size_t len = 0;

    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                       name, sizeof(name), &len) != 1) {
        ERR_clear_error();
        return "";
    }
    return apr_pstrmemdup(p, name, len);
}

/* Reads the whole file at path into a buffer of p, at most
 * FA_CLIENT_KEY_FILE_MAX bytes; with private, refuses a file that group
 * or other may read (checked on the descriptor that is read). */
static apr_status_t read_file(apr_pool_t *p, const char *path, int private,
                              char **pbuf, apr_size_t *plen, fa_err_t *err)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    char *buf;
    apr_status_t rv;

    if (apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p)
        != APR_SUCCESS) {
        return fa_err_set(err, "invalid_client_key", "cannot read %s", path);
    }
    rv = apr_file_info_get(&fi, APR_FINFO_PROT | APR_FINFO_SIZE
                           | APR_FINFO_TYPE | APR_FINFO_OWNER, f);
    if (rv != APR_SUCCESS || fi.filetype != APR_REG
        || fi.size > FA_CLIENT_KEY_FILE_MAX) {
        apr_file_close(f);
        return fa_err_set(err, "invalid_client_key", "%s is not a regular "
                          "file of at most %d bytes", path,
                          FA_CLIENT_KEY_FILE_MAX);
    }
    if (private && (fi.protection & (APR_GREAD | APR_WREAD
                                     | APR_GWRITE | APR_WWRITE))) {
        apr_file_close(f);
        return fa_err_set(err, "invalid_client_key", "%s may be read or "
                          "written by group or other: make it readable by "
                          "its owner only (chmod 600 or 400)", path);
    }
    /* Its owner may read it too: only the user that reads the
     * configuration (root), never the one the children and their CGI
     * scripts run as. */
    if (private && fi.user != (apr_uid_t)geteuid()) {
        apr_file_close(f);
        return fa_err_set(err, "invalid_client_key", "%s belongs to uid %ld, "
                          "not to uid %ld that reads the configuration "
                          "(chown root)", path, (long)fi.user,
                          (long)geteuid());
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    rv = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return fa_err_set(err, "invalid_client_key", "cannot read %s", path);
    }
    buf[n] = '\0';
    *pbuf = buf;
    *plen = n;
    return APR_SUCCESS;
}

/* What a key needs to sign with alg a; NULL when it fits. */
static const char *key_misfit(apr_pool_t *p, EVP_PKEY *pkey,
                              const sign_alg_t *a)
{
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS) {
            return "an RSA key of at least 2048 bits";
        }
        return a->family == SIG_EC ? "an EC key for an ES* alg" : NULL;
    }
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        const char *g = ec_group(p, pkey);
        if (strcmp(g, "prime256v1") && strcmp(g, "secp384r1")) {
            return "an EC key on P-256 or P-384";
        }
        if (a->family != SIG_EC) {
            return "an RSA key for an RS* or PS* alg";
        }
        return strcmp(g, a->group) ? "ES256 for a P-256 key, ES384 for a "
                                     "P-384 key" : NULL;
    }
    return "an RSA or EC (P-256, P-384) key";
}

static const char *default_alg(apr_pool_t *p, EVP_PKEY *pkey)
{
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        return strcmp(ec_group(p, pkey), "secp384r1") ? "ES256" : "ES384";
    }
    return "RS256";
}

apr_status_t fa_client_key_load(apr_pool_t *p, const char *path,
                                const char *alg, fa_client_key_t **pkey,
                                fa_err_t *err)
{
    fa_client_key_t *k;
    const sign_alg_t *a;
    const char *misfit;
    EVP_PKEY *key;
    BIO *bio;
    char *buf;
    apr_size_t len;

    *pkey = NULL;
    if (alg && !sign_alg_find(alg)) {
        return fa_err_set(err, "invalid_client_key", "unknown alg (one of "
                          "RS256 RS384 RS512 PS256 PS384 PS512 ES256 "
                          "ES384)");
    }
    if (read_file(p, path, 1, &buf, &len, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    bio = BIO_new_mem_buf(buf, (int)len);
    key = bio ? PEM_read_bio_PrivateKey(bio, NULL, fa_no_passphrase, NULL)
              : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(buf, len);
    ERR_clear_error();
    if (!key) {
        return fa_err_set(err, "invalid_client_key", "%s holds no PEM "
                          "private key (or one with a passphrase)", path);
    }
    apr_pool_cleanup_register(p, key, pkey_cleanup, apr_pool_cleanup_null);
    a = sign_alg_find(alg ? alg : default_alg(p, key));
    if ((misfit = key_misfit(p, key, a)) != NULL) {
        return fa_err_set(err, "invalid_client_key", "%s: %s needs %s",
                          path, a->name, misfit);
    }
    k = apr_pcalloc(p, sizeof(*k));
    k->pkey = key;
    k->alg = a->name;
    k->kid = fa_client_key_thumbprint(p, key);
    if (!k->kid) {
        return fa_err_set(err, "invalid_client_key", "%s: cannot read the "
                          "public key", path);
    }
    *pkey = k;
    return APR_SUCCESS;
}

/* base64url of a digest of der. */
static const char *digest_b64url(apr_pool_t *p, const EVP_MD *md,
                                 const unsigned char *der, apr_size_t len)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (EVP_Digest(der, len, out, &n, md, NULL) != 1) {
        return NULL;
    }
    return fa_b64url_encode(p, out, n);
}

/* notAfter of cert in seconds since the epoch; 0 when unreadable. */
static apr_int64_t cert_not_after(const X509 *cert)
{
    ASN1_TIME *zero = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0, ok;

    ok = zero && ASN1_TIME_diff(&days, &secs, zero, X509_get0_notAfter(cert));
    ASN1_TIME_free(zero);
    return ok ? (apr_int64_t)days * 86400 + secs : 0;
}

apr_status_t fa_client_key_set_cert(apr_pool_t *p, fa_client_key_t *key,
                                    const char *path, fa_err_t *err)
{
    X509 *cert = NULL;
    BIO *bio;
    unsigned char *der = NULL;
    char *buf;
    apr_size_t len;
    int dlen = 0, same;

    if (read_file(p, path, 0, &buf, &len, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    bio = BIO_new_mem_buf(buf, (int)len);
    cert = bio ? PEM_read_bio_X509(bio, NULL, fa_no_passphrase, NULL) : NULL;
    BIO_free(bio);
    if (cert) {
        dlen = i2d_X509(cert, &der);
        key->not_after = cert_not_after(cert);
    }
    same = cert && EVP_PKEY_eq(X509_get0_pubkey(cert), key->pkey) == 1;
    X509_free(cert);
    ERR_clear_error();
    if (!cert || dlen <= 0) {
        OPENSSL_free(der);
        return fa_err_set(err, "invalid_client_key", "%s holds no PEM "
                          "certificate", path);
    }
    if (!same) {
        OPENSSL_free(der);
        return fa_err_set(err, "invalid_client_key", "the certificate in %s "
                          "is not for the (first) ClientKeyFile's key", path);
    }
    key->x5t = digest_b64url(p, EVP_sha1(), der, (apr_size_t)dlen);
    key->x5t_s256 = digest_b64url(p, EVP_sha256(), der, (apr_size_t)dlen);
    key->x5c = fa_b64_encode(p, der, (apr_size_t)dlen);
    OPENSSL_free(der);
    return key->x5t && key->x5t_s256 ? APR_SUCCESS
           : fa_err_set(err, "invalid_client_key", "cannot hash %s", path);
}

/* base64url of a big-number parameter of pkey, left-padded with zeros to
 * pad bytes (0: its own length). */
static const char *bn_param(apr_pool_t *p, EVP_PKEY *pkey, const char *name,
                            int pad)
{
    BIGNUM *bn = NULL;
    unsigned char *bin;
    int len;
    const char *out = NULL;

    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
        ERR_clear_error();
        return NULL;
    }
    len = pad ? pad : BN_num_bytes(bn);
    bin = apr_palloc(p, (apr_size_t)len + 1);
    if (BN_bn2binpad(bn, bin, len) == len) {
        out = fa_b64url_encode(p, bin, (apr_size_t)len);
    }
    BN_free(bn);
    return out;
}

/* The required public members of an RSA or EC key as a JSON object whose
 * members are in the lexical order RFC 7638 hashes them in. */
static json_t *public_members(apr_pool_t *p, EVP_PKEY *pkey)
{
    const char *a, *b, *g;
    int size;

    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        a = bn_param(p, pkey, OSSL_PKEY_PARAM_RSA_E, 0);
        b = bn_param(p, pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        return a && b ? json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA",
                                  "n", b) : NULL;
    }
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
        return NULL;
    }
    g = ec_group(p, pkey);
    size = !strcmp(g, "prime256v1") ? 32 : !strcmp(g, "secp384r1") ? 48 : 0;
    if (!size) {
        return NULL;
    }
    a = bn_param(p, pkey, OSSL_PKEY_PARAM_EC_PUB_X, size);
    b = bn_param(p, pkey, OSSL_PKEY_PARAM_EC_PUB_Y, size);
    return a && b ? json_pack("{s:s, s:s, s:s, s:s}", "crv",
                              size == 32 ? "P-256" : "P-384", "kty", "EC",
                              "x", a, "y", b) : NULL;
}

const char *fa_client_key_thumbprint(apr_pool_t *p, EVP_PKEY *pkey)
{
    json_t *j = fa_json_pool_own(p, public_members(p, pkey));
    char *text;
    const char *out;

    if (!j) {
        return NULL;
    }
    /* RFC 7638 3.3: no whitespace, members sorted, UTF-8. */
    text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        return NULL;
    }
    out = digest_b64url(p, EVP_sha256(), (const unsigned char *)text,
                        strlen(text));
    free(text);
    return out;
}

const char *fa_client_keys_jwks(apr_pool_t *p,
                                const apr_array_header_t *keys)
{
    json_t *doc = fa_json_pool_own(p, json_object());
    json_t *arr = json_array(), *jwk;
    const fa_client_key_t *k;
    const char *out;
    char *text;
    int i;

    json_object_set_new(doc, "keys", arr);
    for (i = 0; keys && i < keys->nelts; i++) {
        k = APR_ARRAY_IDX(keys, i, const fa_client_key_t *);
        jwk = public_members(p, k->pkey);
        if (!jwk) {
            continue;
        }
        json_object_set_new(jwk, "kid", json_string(k->kid));
        json_object_set_new(jwk, "alg", json_string(k->alg));
        json_object_set_new(jwk, "use", json_string("sig"));
        if (k->x5c) {
            json_object_set_new(jwk, "x5c", json_pack("[s]", k->x5c));
            json_object_set_new(jwk, "x5t#S256", json_string(k->x5t_s256));
        }
        json_array_append_new(arr, jwk);
    }
    text = json_dumps(doc, JSON_COMPACT);
    out = text ? apr_pstrdup(p, text) : NULL;
    free(text);
    return out;
}

/* base64url of a JSON object's compact text. */
static const char *json_b64url(apr_pool_t *p, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    const char *out;

    if (!text) {
        return NULL;
    }
    out = fa_b64url_encode(p, (const unsigned char *)text, strlen(text));
    free(text);
    return out;
}

/* Turns a DER ECDSA signature into R || S of size bytes each, in out
 * (2 * size bytes). 1 on success. */
static int ecdsa_raw(const unsigned char *der, size_t len, apr_size_t size,
                     unsigned char *out)
{
    const unsigned char *q = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)len);
    const BIGNUM *r, *s;
    int ok;

    if (!es) {
        return 0;
    }
    ECDSA_SIG_get0(es, &r, &s);
    ok = BN_bn2binpad(r, out, (int)size) == (int)size
         && BN_bn2binpad(s, out + size, (int)size) == (int)size;
    ECDSA_SIG_free(es);
    return ok;
}

/* The signature of input with key, base64url; NULL on failure. */
static const char *sign_input(apr_pool_t *p, const fa_client_key_t *key,
                              const char *input)
{
    const sign_alg_t *a = sign_alg_find(key->alg);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = NULL, raw[2 * 66];
    size_t len = 0;
    const char *out = NULL;

    if (!a || !mctx || EVP_DigestSignInit_ex(mctx, &pctx, a->md, NULL, NULL,
                                             key->pkey, NULL) != 1) {
        goto done;
    }
    if (a->family == SIG_PSS
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
                                                RSA_PSS_SALTLEN_DIGEST) <= 0)) {
        goto done;
    }
    if (EVP_DigestSign(mctx, NULL, &len, (const unsigned char *)input,
                       strlen(input)) != 1
        || (sig = OPENSSL_malloc(len)) == NULL
        || EVP_DigestSign(mctx, sig, &len, (const unsigned char *)input,
                          strlen(input)) != 1) {
        goto done;
    }
    if (a->family != SIG_EC) {
        out = fa_b64url_encode(p, sig, len);
    }
    else if (ecdsa_raw(sig, len, a->ec_size, raw)) {
        out = fa_b64url_encode(p, raw, 2 * a->ec_size);
    }
done:
    ERR_clear_error();
    OPENSSL_free(sig);
    EVP_MD_CTX_free(mctx);
    return out;
}

static const char *hmac_input(apr_pool_t *p, const char *secret,
                              const char *input)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
              (const unsigned char *)input, strlen(input), mac, &n)) {
        return NULL;
    }
    return fa_b64url_encode(p, mac, n);
}

static json_t *assertion_header(const fa_client_key_t *key)
{
    json_t *h;

    if (!key) {
        return json_pack("{s:s, s:s}", "alg", "HS256", "typ", "JWT");
    }
    h = json_pack("{s:s, s:s, s:s}", "alg", key->alg, "typ", "JWT",
                  "kid", key->kid);
    if (h && key->x5t) {
        json_object_set_new(h, "x5t", json_string(key->x5t));
        json_object_set_new(h, "x5t#S256", json_string(key->x5t_s256));
    }
    return h;
}

apr_status_t fa_client_assertion(apr_pool_t *p, const fa_client_key_t *key,
                                 const char *secret, const char *client_id,
                                 const char *aud, apr_int64_t now,
                                 const char **passertion, fa_err_t *err)
{
    const char *h, *c, *jti = fa_random_token(p, 16), *input, *sig;
    json_t *claims;

    *passertion = NULL;
    if (!jti || (!key && !secret)) {
        return fa_err_set(err, "internal_error", "no random numbers or no "
                          "key for the client assertion");
    }
    claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", client_id,
                       "sub", client_id, "aud", aud, "jti", jti,
                       "iat", (json_int_t)now,
                       "exp", (json_int_t)(now + FA_CLIENT_ASSERTION_TTL));
    h = json_b64url(p, fa_json_pool_own(p, assertion_header(key)));
    c = json_b64url(p, fa_json_pool_own(p, claims));
    if (!h || !c) {
        return fa_err_set(err, "internal_error", "cannot encode the client "
                          "assertion");
    }
    input = apr_pstrcat(p, h, ".", c, NULL);
    sig = key ? sign_input(p, key, input) : hmac_input(p, secret, input);
    if (!sig) {
        return fa_err_set(err, "internal_error", "cannot sign the client "
                          "assertion with %s", key ? key->alg : "HS256");
    }
    *passertion = apr_pstrcat(p, input, ".", sig, NULL);
    return APR_SUCCESS;
}
