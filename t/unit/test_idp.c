/* SPDX-License-Identifier: Apache-2.0 */
/* test_idp.c - the per-provider discovery and JWKS cache: one fetch for
 * many verifications, one refetch when the IdP rotates its keys (named
 * by kid or not), no refetch storm for unknown keys or bad signatures,
 * the cached copy when the IdP is down.
 * The HTTP client is in-process: it serves the documents the test sets
 * and counts the fetches. */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "unit.h"
#include "fa_idp.h"

#define ISS "https://idp.example"
#define T0 1800000000

static apr_pool_t *pool;

typedef struct fake_idp_t {
    const char *jwks;          /* served at /jwks; NULL: connection fails */
    int discovery_down;
    int discovery_fetches;
    int jwks_fetches;
} fake_idp_t;

static fake_idp_t fake;

static apr_status_t serve(fa_http_t *http, apr_pool_t *p,
                          const fa_http_request_t *req,
                          fa_http_response_t **presp, fa_err_t *err)
{
    fa_http_response_t *resp = apr_pcalloc(p, sizeof(*resp));

    if (!strcmp(req->url, ISS "/.well-known/openid-configuration")) {
        fake.discovery_fetches++;
        if (fake.discovery_down) {
            return fa_err_set(err, "idp_unreachable", "connection refused");
        }
        resp->body = "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":"
                     "\"" ISS "/auth\",\"token_endpoint\":\"" ISS "/token\","
                     "\"jwks_uri\":\"" ISS "/jwks\"}";
    }
    else if (!strcmp(req->url, ISS "/jwks")) {
        fake.jwks_fetches++;
        if (!fake.jwks) {
            return fa_err_set(err, "idp_unreachable", "connection refused");
        }
        resp->body = fake.jwks;
    }
    else {
        resp->status = 404;
        resp->body = "";
        *presp = resp;
        return APR_SUCCESS;
    }
    resp->status = 200;
    resp->body_len = strlen(resp->body);
    *presp = resp;
    return APR_SUCCESS;
}

static fa_http_t http = { serve, NULL };

typedef struct key_t {
    EVP_PKEY *pkey;
    const char *kid;
    const char *jwk;            /* public JWK as JSON text */
} key_t_;

static key_t_ make_key(const char *kid)
{
    key_t_ k;
    unsigned char raw[32];
    size_t len = sizeof(raw);

    k.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ck_assert_ptr_nonnull(k.pkey);
    ck_assert(EVP_PKEY_get_raw_public_key(k.pkey, raw, &len) == 1);
    k.kid = kid;
    k.jwk = apr_psprintf(pool, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                         "\"kid\":\"%s\",\"x\":\"%s\"}", kid,
                         fa_b64url_encode(pool, raw, len));
    return k;
}

static const char *b64(const char *s)
{
    return fa_b64url_encode(pool, (const unsigned char *)s, strlen(s));
}

/* A token signed with k: header and claims are JSON texts. */
static const char *signed_token(const key_t_ *k, const char *header,
                                const char *claims)
{
    const char *input = apr_pstrcat(pool, b64(header), ".", b64(claims),
                                    NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[64];
    size_t len = sizeof(sig);

    ck_assert(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1);
    ck_assert(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input,
                             strlen(input)) == 1);
    EVP_MD_CTX_free(ctx);
    return apr_pstrcat(pool, input, ".", fa_b64url_encode(pool, sig, len),
                       NULL);
}

static const char *header_of(const key_t_ *k, const char *typ)
{
    return apr_psprintf(pool, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"%s%s%s}",
                        k->kid, typ ? ",\"typ\":\"" : "", typ ? typ : "",
                        typ ? "\"" : "");
}

static const char *id_token(const key_t_ *k, const char *aud)
{
    return signed_token(k, header_of(k, NULL), apr_psprintf(pool,
        "{\"iss\":\"" ISS "\",\"aud\":\"%s\",\"sub\":\"alice\","
        "\"iat\":%d,\"exp\":%d,\"nonce\":\"n-1\"}", aud, T0, T0 + 86400));
}

/* An ID token whose header names no kid, as some IdPs send them. */
static const char *id_token_nokid(const key_t_ *k)
{
    return signed_token(k, "{\"alg\":\"EdDSA\"}", apr_psprintf(pool,
        "{\"iss\":\"" ISS "\",\"aud\":\"app\",\"sub\":\"alice\","
        "\"iat\":%d,\"exp\":%d,\"nonce\":\"n-1\"}", T0, T0 + 86400));
}

/* tok with one bit of its signature's first byte flipped. */
static const char *tampered(const char *tok)
{
    char *t = apr_pstrdup(pool, tok);
    char *sig = strrchr(t, '.') + 1;

    *sig = *sig == 'A' ? 'B' : 'A';
    return t;
}

static const char *jwks_of(const key_t_ *a, const key_t_ *b)
{
    return apr_psprintf(pool, "{\"keys\":[%s%s%s]}", a->jwk, b ? "," : "",
                        b ? b->jwk : "");
}

static fa_idp_t *new_idp(void)
{
    fa_idp_conf_t conf;
    fa_idp_t *idp;

    memset(&conf, 0, sizeof(conf));
    conf.id = "corp";
    conf.issuer = ISS;
    conf.client.client_id = "app";
    conf.client.timeout_sec = 2;
    ck_assert_int_eq(fa_idp_create(pool, &conf, &idp), APR_SUCCESS);
    return idp;
}

static apr_status_t verify(fa_idp_t *idp, const char *token,
                           apr_int64_t now, fa_err_t *err)
{
    fa_jwt_t *jwt;

    memset(err, 0, sizeof(*err));
    return fa_idp_verify_id_token(idp, &http, pool, token, "n-1", now, &jwt,
                                  err);
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    memset(&fake, 0, sizeof(fake));
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(one_fetch_many_verifications)
{
    key_t_ k1 = make_key("k1");
    fa_idp_t *idp = new_idp();
    fa_err_t err;
    int i;

    ck_assert_str_eq(fa_idp_metadata_url(idp),
                     ISS "/.well-known/openid-configuration");
    fake.jwks = jwks_of(&k1, NULL);
    for (i = 0; i < 5; i++) {
        ck_assert_msg(verify(idp, id_token(&k1, "app"), T0 + i, &err)
                      == APR_SUCCESS, "%s: %s", err.code, err.desc);
    }
    ck_assert_int_eq(fake.jwks_fetches, 1);
    ck_assert_int_eq(fa_idp_jwks_fetches(idp), 1);
    /* claims are checked after the signature: the audience is wrong */
    ck_assert_int_ne(verify(idp, id_token(&k1, "other"), T0 + 6, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "wrong_aud");
    EVP_PKEY_free(k1.pkey);
}
END_TEST

START_TEST(rotation_refetches_once_and_no_storm)
{
    key_t_ k1 = make_key("k1"), k2 = make_key("k2"), k3 = make_key("k3");
    fa_idp_t *idp = new_idp();
    fa_err_t err;

    fake.jwks = jwks_of(&k1, NULL);
    ck_assert_int_eq(verify(idp, id_token(&k1, "app"), T0, &err),
                     APR_SUCCESS);
    /* the IdP rotates to k2: a token with k2 makes one refetch */
    fake.jwks = jwks_of(&k2, NULL);
    ck_assert_msg(verify(idp, id_token(&k2, "app"), T0 + 20, &err)
                  == APR_SUCCESS, "%s: %s", err.code, err.desc);
    ck_assert_int_eq(fake.jwks_fetches, 2);
    ck_assert_int_eq(verify(idp, id_token(&k2, "app"), T0 + 21, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fake.jwks_fetches, 2);
    /* unknown keys right after a fetch: refused without a fetch */
    ck_assert_int_ne(verify(idp, id_token(&k3, "app"), T0 + 22, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "unknown_key");
    ck_assert_int_ne(verify(idp, id_token(&k3, "app"), T0 + 23, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fake.jwks_fetches, 2);
    /* FA_IDP_REFETCH_MIN later one more look is allowed */
    ck_assert_int_ne(verify(idp, id_token(&k3, "app"),
                            T0 + 20 + FA_IDP_REFETCH_MIN, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fake.jwks_fetches, 3);
    ck_assert_str_eq(err.code, "unknown_key");
    EVP_PKEY_free(k1.pkey);
    EVP_PKEY_free(k2.pkey);
    EVP_PKEY_free(k3.pkey);
}
END_TEST

/* A key rotated right after an ordinary fetch gets its refetch at once
 * (not FA_IDP_REFETCH_MIN later); a second unknown key right after that
 * refetch does not. */
START_TEST(rotation_right_after_a_fetch)
{
    key_t_ k1 = make_key("k1"), k2 = make_key("k2"), k3 = make_key("k3");
    fa_idp_t *idp = new_idp();
    fa_err_t err;

    fake.jwks = jwks_of(&k1, NULL);
    ck_assert_int_eq(verify(idp, id_token(&k1, "app"), T0, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fake.jwks_fetches, 1);
    fake.jwks = jwks_of(&k1, &k2);
    ck_assert_msg(verify(idp, id_token(&k2, "app"), T0 + 1, &err)
                  == APR_SUCCESS, "%s: %s", err.code, err.desc);
    ck_assert_int_eq(fake.jwks_fetches, 2);
    ck_assert_int_ne(verify(idp, id_token(&k3, "app"), T0 + 2, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "unknown_key");
    ck_assert_int_eq(fake.jwks_fetches, 2);
    EVP_PKEY_free(k1.pkey);
    EVP_PKEY_free(k2.pkey);
    EVP_PKEY_free(k3.pkey);
}
END_TEST

START_TEST(rotation_without_kid_refetches_once)
{
    key_t_ k1 = make_key("k1"), k2 = make_key("k2");
    fa_idp_t *idp = new_idp();
    fa_err_t err;

    fake.jwks = jwks_of(&k1, NULL);
    ck_assert_msg(verify(idp, id_token_nokid(&k1), T0, &err) == APR_SUCCESS,
                  "%s: %s", err.code, err.desc);
    ck_assert_int_eq(fake.jwks_fetches, 1);
    /* the IdP rotates to k2 and still sends no kid: nothing names the
     * new key, yet a signature that no cached key verifies makes one
     * refetch, and the token verifies with the new JWKS */
    fake.jwks = jwks_of(&k2, NULL);
    ck_assert_msg(verify(idp, id_token_nokid(&k2), T0 + 20, &err)
                  == APR_SUCCESS, "%s: %s", err.code, err.desc);
    ck_assert_int_eq(fake.jwks_fetches, 2);
    ck_assert_int_eq(fa_idp_jwks_fetches(idp), 2);
    ck_assert_int_eq(verify(idp, id_token_nokid(&k2), T0 + 21, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fake.jwks_fetches, 2);
    /* the old key is gone from the JWKS: its tokens are refused, and
     * within the guard without a fetch */
    ck_assert_int_ne(verify(idp, id_token_nokid(&k1), T0 + 22, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_signature");
    ck_assert_int_eq(fake.jwks_fetches, 2);
    EVP_PKEY_free(k1.pkey);
    EVP_PKEY_free(k2.pkey);
}
END_TEST

START_TEST(bad_signature_without_kid_no_storm)
{
    key_t_ k1 = make_key("k1");
    fa_idp_t *idp = new_idp();
    const char *bad = tampered(id_token_nokid(&k1));
    fa_err_t err;
    int i;

    fake.jwks = jwks_of(&k1, NULL);
    /* a cold cache: the first fetch is the only one, the guard keeps the
     * forged token from making a second */
    ck_assert_int_ne(verify(idp, bad, T0, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_signature");
    ck_assert_int_eq(fake.jwks_fetches, 1);
    /* later: one refetch, then invalid_signature; more forged tokens in
     * the guard window fetch nothing */
    ck_assert_int_ne(verify(idp, bad, T0 + 20, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_signature");
    ck_assert_int_eq(fake.jwks_fetches, 2);
    for (i = 1; i < FA_IDP_REFETCH_MIN; i++) {
        ck_assert_int_ne(verify(idp, bad, T0 + 20 + i, &err), APR_SUCCESS);
        ck_assert_str_eq(err.code, "invalid_signature");
    }
    ck_assert_int_eq(fake.jwks_fetches, 2);
    /* good tokens meanwhile verify with the cached keys */
    ck_assert_int_eq(verify(idp, id_token_nokid(&k1), T0 + 25, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(verify(idp, id_token(&k1, "app"), T0 + 25, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fake.jwks_fetches, 2);
    /* once the guard has passed, one more look */
    ck_assert_int_ne(verify(idp, bad, T0 + 20 + FA_IDP_REFETCH_MIN, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_signature");
    ck_assert_int_eq(fake.jwks_fetches, 3);
    /* a token that names its key and fails with it does not refetch:
     * the key is known, the signature is wrong */
    ck_assert_int_ne(verify(idp, tampered(id_token(&k1, "app")),
                            T0 + 100, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_signature");
    ck_assert_int_eq(fake.jwks_fetches, 3);
    EVP_PKEY_free(k1.pkey);
}
END_TEST

START_TEST(stale_copy_when_idp_down)
{
    key_t_ k1 = make_key("k1");
    fa_idp_t *idp = new_idp();
    fa_err_t err;

    fake.jwks = jwks_of(&k1, NULL);
    ck_assert_int_eq(verify(idp, id_token(&k1, "app"), T0, &err),
                     APR_SUCCESS);
    /* past the cache TTL the JWKS is fetched again; when that fails the
     * keys already known still serve */
    fake.jwks = NULL;
    ck_assert_msg(verify(idp, id_token(&k1, "app"),
                         T0 + FA_IDP_CACHE_TTL + 5, &err) == APR_SUCCESS,
                  "%s: %s", err.code, err.desc);
    ck_assert_int_eq(fake.jwks_fetches, 2);
    /* with the IdP down and the discovery copy stale, many verifications
     * try the IdP once, not each time */
    fake.discovery_down = 1;
    fake.discovery_fetches = 0;
    fake.jwks_fetches = 0;
    ck_assert_int_eq(verify(idp, id_token(&k1, "app"),
                            T0 + 3 * FA_IDP_CACHE_TTL, &err), APR_SUCCESS);
    ck_assert_int_eq(verify(idp, id_token(&k1, "app"),
                            T0 + 3 * FA_IDP_CACHE_TTL + 1, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(verify(idp, id_token(&k1, "app"),
                            T0 + 3 * FA_IDP_CACHE_TTL + 2, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fake.discovery_fetches, 1);
    ck_assert_int_le(fake.jwks_fetches, 1);
    EVP_PKEY_free(k1.pkey);
}
END_TEST

START_TEST(idp_unreachable_from_the_start)
{
    key_t_ k1 = make_key("k1");
    fa_idp_t *idp = new_idp();
    fa_oidc_metadata_t *md;
    fa_err_t err;

    fake.discovery_down = 1;
    memset(&err, 0, sizeof(err));
    ck_assert_int_ne(fa_idp_metadata(idp, &http, pool, &md, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_unreachable");
    ck_assert_int_ne(verify(idp, id_token(&k1, "app"), T0, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_unreachable");
    /* back up: discovery and keys are fetched and the token verifies */
    fake.discovery_down = 0;
    fake.jwks = jwks_of(&k1, NULL);
    ck_assert_int_eq(fa_idp_metadata(idp, &http, pool, &md, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(md->token_endpoint, ISS "/token");
    ck_assert_msg(verify(idp, id_token(&k1, "app"), T0 + 1, &err)
                  == APR_SUCCESS, "%s: %s", err.code, err.desc);
    EVP_PKEY_free(k1.pkey);
}
END_TEST

START_TEST(issuer_templates)
{
    fa_idp_conf_t c;
    apr_array_header_t *extra = apr_array_make(pool, 2, sizeof(char *));

    memset(&c, 0, sizeof(c));
    c.issuer = "https://login.example/{tenantid}/v2.0";
    /* the token's own tid fills the template */
    ck_assert(fa_idp_issuer_ok(&c, "https://login.example/t-1/v2.0", "t-1",
                               0));
    ck_assert(!fa_idp_issuer_ok(&c, "https://login.example/t-1/v2.0", "t-2",
                                0));
    ck_assert(!fa_idp_issuer_ok(&c, "https://login.example/t-1/v2.0", NULL,
                                0));
    ck_assert(!fa_idp_issuer_ok(&c, "https://login.example/t-1/v2.0", "t-",
                                0));
    /* an authorization response's iss parameter has no tid to compare */
    ck_assert(fa_idp_issuer_ok(&c, "https://login.example/t-9/v2.0", NULL,
                               1));
    /* the tenant part is one path segment of safe characters */
    ck_assert(!fa_idp_issuer_ok(&c, "https://login.example/a/b/v2.0", "a/b",
                                0));
    ck_assert(!fa_idp_issuer_ok(&c, "https://login.example//v2.0", "", 0));
    ck_assert(!fa_idp_issuer_ok(&c, "https://login.example/x/v2.0/", "x",
                                0));
    ck_assert(!fa_idp_issuer_ok(&c, "https://evil.example/x/v2.0", "x", 0));
    /* ValidIssuer: exact, or templated too */
    c.issuer = "https://idp.example";
    APR_ARRAY_PUSH(extra, const char *) = "https://other.example";
    APR_ARRAY_PUSH(extra, const char *) = "https://t.example/{tenantid}";
    c.valid_issuers = extra;
    ck_assert(fa_idp_issuer_ok(&c, "https://idp.example", NULL, 0));
    ck_assert(fa_idp_issuer_ok(&c, "https://other.example", NULL, 0));
    ck_assert(fa_idp_issuer_ok(&c, "https://t.example/abc", "abc", 0));
    ck_assert(!fa_idp_issuer_ok(&c, "https://t.example/abc", "abd", 0));
    ck_assert(!fa_idp_issuer_ok(&c, "https://idp.example/", NULL, 0));
    ck_assert(!fa_idp_issuer_ok(&c, NULL, NULL, 0));
}
END_TEST

START_TEST(access_tokens)
{
    key_t_ k1 = make_key("k1");
    fa_idp_t *idp = new_idp();
    fa_jwt_t *jwt;
    fa_err_t err;
    const char *at = apr_psprintf(pool, "{\"iss\":\"" ISS "\","
        "\"aud\":[\"api://orders\",\"api://other\"],\"azp\":\"spa\","
        "\"sub\":\"alice\",\"exp\":%d}", T0 + 600);

    fake.jwks = jwks_of(&k1, NULL);
    /* azp names the calling app: not checked; iat not needed */
    ck_assert_msg(fa_idp_verify_access_token(idp, &http, pool,
                  signed_token(&k1, header_of(&k1, "at+jwt"), at),
                  "api://orders", T0, &jwt, &err) == APR_SUCCESS,
                  "%s: %s", err.code, err.desc);
    ck_assert_int_ne(fa_idp_verify_access_token(idp, &http, pool,
                     signed_token(&k1, header_of(&k1, NULL), at),
                     "api://billing", T0, &jwt, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "wrong_aud");
    ck_assert_int_ne(fa_idp_verify_access_token(idp, &http, pool,
                     signed_token(&k1, header_of(&k1, NULL), at),
                     "api://orders", T0 + 700, &jwt, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "token_expired");
    /* an ID token of the app is no access token to its API */
    ck_assert_int_ne(fa_idp_verify_access_token(idp, &http, pool,
                     id_token(&k1, "app"), NULL, T0, &jwt, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_token");
    /* ...unless it says it is one (RFC 9068) */
    ck_assert_int_eq(fa_idp_verify_access_token(idp, &http, pool,
                     signed_token(&k1, header_of(&k1, "at+jwt"),
                     apr_psprintf(pool, "{\"iss\":\"" ISS "\",\"aud\":"
                     "\"app\",\"sub\":\"a\",\"exp\":%d,\"nonce\":\"x\"}",
                     T0 + 60)), NULL, T0, &jwt, &err), APR_SUCCESS);
    EVP_PKEY_free(k1.pkey);
}
END_TEST

START_TEST(hmac_never_for_bearer)
{
    fa_idp_conf_t conf;
    fa_idp_t *idp;
    fa_jwt_t *jwt;
    fa_err_t err;
    const char *input = apr_pstrcat(pool,
        b64("{\"alg\":\"HS256\"}"), ".",
        b64(apr_psprintf(pool, "{\"iss\":\"" ISS "\",\"aud\":\"app\","
                         "\"sub\":\"a\",\"exp\":%d,\"iat\":%d}",
                         T0 + 60, T0)), NULL);
    unsigned char mac[32];
    size_t maclen = sizeof(mac);
    const char *tok;

    memset(&conf, 0, sizeof(conf));
    conf.id = "corp";
    conf.issuer = ISS;
    conf.client.client_id = "app";
    conf.client.client_secret = "client-secret-value";
    ck_assert_int_eq(fa_idp_create(pool, &conf, &idp), APR_SUCCESS);
    ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL,
        conf.client.client_secret, strlen(conf.client.client_secret),
        (const unsigned char *)input, strlen(input), mac, sizeof(mac),
        &maclen));
    tok = apr_pstrcat(pool, input, ".", fa_b64url_encode(pool, mac, maclen),
                      NULL);
    /* fine as an ID token of a client with a secret ... */
    ck_assert_int_eq(fa_idp_verify_id_token(idp, &http, pool, tok, NULL, T0,
                                            &jwt, &err), APR_SUCCESS);
    /* ... never as a bearer token: anyone with the secret could mint one */
    ck_assert_int_ne(fa_idp_verify_access_token(idp, &http, pool, tok, NULL,
                                                T0, &jwt, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "unsupported_alg");
}
END_TEST

START_TEST(logout_tokens)
{
    key_t_ k1 = make_key("k1");
    fa_idp_t *idp = new_idp();
    fa_jwt_t *jwt;
    fa_err_t err;
    const char *ev = "\"events\":{\"http://schemas.openid.net/event/"
                     "backchannel-logout\":{}}";
    const char *base = apr_psprintf(pool, "\"iss\":\"" ISS "\","
                                    "\"aud\":\"app\",\"iat\":%d,"
                                    "\"exp\":%d,\"jti\":\"j1\"", T0,
                                    T0 + 120);

    fake.jwks = jwks_of(&k1, NULL);
    ck_assert_msg(fa_idp_verify_logout_token(idp, &http, pool,
                  signed_token(&k1, header_of(&k1, "logout+jwt"),
                  apr_psprintf(pool, "{%s,%s,\"sid\":\"s-1\"}", base, ev)),
                  T0, &jwt, &err) == APR_SUCCESS, "%s: %s", err.code,
                  err.desc);
    /* sub alone is enough too */
    ck_assert_int_eq(fa_idp_verify_logout_token(idp, &http, pool,
                     signed_token(&k1, header_of(&k1, NULL),
                     apr_psprintf(pool, "{%s,%s,\"sub\":\"alice\"}", base,
                                  ev)), T0, &jwt, &err), APR_SUCCESS);
    /* no event, a nonce, neither sid nor sub: refused */
    ck_assert_int_ne(fa_idp_verify_logout_token(idp, &http, pool,
                     signed_token(&k1, header_of(&k1, NULL),
                     apr_psprintf(pool, "{%s,\"sid\":\"s-1\"}", base)), T0,
                     &jwt, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_logout_token");
    ck_assert_int_ne(fa_idp_verify_logout_token(idp, &http, pool,
                     signed_token(&k1, header_of(&k1, NULL),
                     apr_psprintf(pool, "{%s,%s,\"sid\":\"s\",\"nonce\":"
                                  "\"n\"}", base, ev)), T0, &jwt, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_logout_token");
    ck_assert_int_ne(fa_idp_verify_logout_token(idp, &http, pool,
                     signed_token(&k1, header_of(&k1, NULL),
                     apr_psprintf(pool, "{%s,%s}", base, ev)), T0, &jwt,
                     &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_logout_token");
    /* and the checks of every token: audience */
    ck_assert_int_ne(fa_idp_verify_logout_token(idp, &http, pool,
                     signed_token(&k1, header_of(&k1, NULL),
                     apr_psprintf(pool, "{\"iss\":\"" ISS "\",\"aud\":"
                     "\"other\",\"iat\":%d,\"exp\":%d,%s,\"sid\":\"s\","
                     "\"jti\":\"j\"}", T0, T0 + 60, ev)), T0, &jwt, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "wrong_aud");
    EVP_PKEY_free(k1.pkey);
}
END_TEST

/* One provider issues ID, access and logout tokens with the same key and
 * often the same aud: each verifier refuses the other kinds. */
#define EV "\"events\":{\"http://schemas.openid.net/event/" \
           "backchannel-logout\":{}}"

static const char *kind_code(int verifier, const key_t_ *k, const char *typ,
                             const char *claims)
{
    const char *tok = signed_token(k, header_of(k, typ), claims);
    fa_idp_t *idp = new_idp();
    fa_jwt_t *jwt;
    fa_err_t err;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    rv = verifier == 0
         ? fa_idp_verify_id_token(idp, &http, pool, tok, NULL, T0, &jwt,
                                  &err)
         : verifier == 1
         ? fa_idp_verify_access_token(idp, &http, pool, tok, NULL, T0, &jwt,
                                      &err)
         : fa_idp_verify_logout_token(idp, &http, pool, tok, T0, &jwt, &err);
    return rv == APR_SUCCESS ? "ok" : err.code;
}

START_TEST(token_kinds)
{
    key_t_ k1 = make_key("k1");
    const char *idt = apr_psprintf(pool, "{\"iss\":\"" ISS "\",\"aud\":"
        "\"app\",\"sub\":\"alice\",\"iat\":%d,\"exp\":%d}", T0, T0 + 600);
    const char *at = apr_psprintf(pool, "{\"iss\":\"" ISS "\",\"aud\":"
        "\"app\",\"sub\":\"alice\",\"client_id\":\"spa\",\"iat\":%d,"
        "\"exp\":%d,\"jti\":\"a1\"}", T0, T0 + 600);
    const char *lt = apr_psprintf(pool, "{\"iss\":\"" ISS "\",\"aud\":"
        "\"app\",\"sub\":\"alice\",\"iat\":%d,\"exp\":%d,\"jti\":\"l1\","
        EV "}", T0, T0 + 120);
    enum { ID, ACCESS, LOGOUT };

    fake.jwks = jwks_of(&k1, NULL);
    /* each kind where it belongs */
    ck_assert_str_eq(kind_code(ID, &k1, NULL, idt), "ok");
    ck_assert_str_eq(kind_code(ID, &k1, "JWT", idt), "ok");
    ck_assert_str_eq(kind_code(ACCESS, &k1, "at+jwt", at), "ok");
    ck_assert_str_eq(kind_code(ACCESS, &k1, "application/AT+JWT", at), "ok");
    ck_assert_str_eq(kind_code(ACCESS, &k1, "JWT", at), "ok");  /* Entra */
    ck_assert_str_eq(kind_code(ACCESS, &k1, NULL, at), "ok");
    ck_assert_str_eq(kind_code(LOGOUT, &k1, "logout+jwt", lt), "ok");
    ck_assert_str_eq(kind_code(LOGOUT, &k1, "JWT", lt), "ok");
    /* a logout token is no ID token, typed or not */
    ck_assert_str_eq(kind_code(ID, &k1, "logout+jwt", lt), "invalid_token");
    ck_assert_str_eq(kind_code(ID, &k1, NULL, lt), "invalid_token");
    ck_assert_str_eq(kind_code(ID, &k1, "JWT", lt), "invalid_token");
    /* an RFC 9068 access token (aud = the client id) is no ID token */
    ck_assert_str_eq(kind_code(ID, &k1, "at+jwt", at), "invalid_token");
    ck_assert_str_eq(kind_code(ID, &k1, "application/at+jwt", at),
                     "invalid_token");
    /* a logout token is no access token, typed or not */
    ck_assert_str_eq(kind_code(ACCESS, &k1, "logout+jwt", lt),
                     "invalid_token");
    ck_assert_str_eq(kind_code(ACCESS, &k1, NULL, lt), "invalid_token");
    ck_assert_str_eq(kind_code(ACCESS, &k1, "at+jwt", lt), "invalid_token");
    /* nor another explicitly typed token */
    ck_assert_str_eq(kind_code(ACCESS, &k1, "secevent+jwt", at),
                     "invalid_token");
    ck_assert_str_eq(kind_code(ID, &k1, "secevent+jwt", idt),
                     "invalid_token");
    /* access and ID tokens are no logout tokens */
    ck_assert_str_eq(kind_code(LOGOUT, &k1, "at+jwt", lt),
                     "invalid_logout_token");
    ck_assert_str_eq(kind_code(LOGOUT, &k1, "at+jwt", at),
                     "invalid_logout_token");
    ck_assert_str_eq(kind_code(LOGOUT, &k1, NULL, idt),
                     "invalid_logout_token");
    EVP_PKEY_free(k1.pkey);
}
END_TEST

/* What the logout verifier says at now of a logout+jwt token with these
 * claims (after the common head): "ok" or the error code; *pjwt. */
static const char *logout_code(fa_idp_t *idp, const key_t_ *k,
                               const char *claims, apr_int64_t now,
                               fa_jwt_t **pjwt)
{
    fa_err_t err;
    const char *tok = signed_token(k, header_of(k, "logout+jwt"),
        apr_pstrcat(pool, "{\"iss\":\"" ISS "\",\"aud\":\"app\","
                    "\"sid\":\"s\"," EV, claims, "}", NULL));

    memset(&err, 0, sizeof(err));
    return fa_idp_verify_logout_token(idp, &http, pool, tok, now, pjwt,
                                      &err) == APR_SUCCESS ? "ok" : err.code;
}

/* jti is required; a logout token without exp is good for
 * FA_IDP_LOGOUT_WINDOW + leeway after its iat, and its jti is kept that
 * long; exp + leeway is exact for any exp. */
START_TEST(logout_jti_and_exp)
{
    key_t_ k1 = make_key("k1");
    fa_idp_t *idp = new_idp();
    fa_jwt_t *jwt;
    apr_int64_t window = FA_IDP_LOGOUT_WINDOW + FA_JWT_LEEWAY;
    const char *times = apr_psprintf(pool, ",\"iat\":%d,\"exp\":%d", T0,
                                     T0 + 120);
    const char *no_exp = apr_psprintf(pool, ",\"iat\":%d,\"jti\":\"g1\"",
                                      T0);

    fake.jwks = jwks_of(&k1, NULL);
    ck_assert_str_eq(logout_code(idp, &k1, times, T0, &jwt),
                     "invalid_logout_token");
    ck_assert_str_eq(logout_code(idp, &k1, apr_pstrcat(pool, times,
                     ",\"jti\":\"\"", NULL), T0, &jwt),
                     "invalid_logout_token");
    /* no exp (Glewlwyd 2.7): fine within the window after iat */
    ck_assert_str_eq(logout_code(idp, &k1, no_exp, T0 + window, &jwt), "ok");
    ck_assert(fa_idp_logout_token_until(jwt) == T0 + window);
    ck_assert_str_eq(logout_code(idp, &k1, no_exp, T0 + window + 1, &jwt),
                     "token_expired");
    /* and without iat either: refused */
    ck_assert_str_eq(logout_code(idp, &k1, ",\"jti\":\"g2\"", T0, &jwt),
                     "invalid_iat");
    /* with exp: until exp + leeway, exactly, even for the largest exp */
    ck_assert_str_eq(logout_code(idp, &k1, apr_pstrcat(pool, times,
                     ",\"jti\":\"e1\"", NULL), T0, &jwt), "ok");
    ck_assert(fa_idp_logout_token_until(jwt) == T0 + 120 + FA_JWT_LEEWAY);
    ck_assert_str_eq(logout_code(idp, &k1, apr_psprintf(pool, ",\"iat\":%d,"
                     "\"exp\":9223372036854775807,\"jti\":\"e2\"", T0), T0,
                     &jwt), "ok");
    ck_assert(fa_idp_logout_token_until(jwt)
              == FA_JWT_TIME_MAX + FA_JWT_LEEWAY);
    EVP_PKEY_free(k1.pkey);
}
END_TEST

Suite *suite_idp(void)
{
    Suite *s = suite_create("idp");
    TCase *tc = tcase_create("idp");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, one_fetch_many_verifications);
    tcase_add_test(tc, rotation_refetches_once_and_no_storm);
    tcase_add_test(tc, rotation_right_after_a_fetch);
    tcase_add_test(tc, rotation_without_kid_refetches_once);
    tcase_add_test(tc, bad_signature_without_kid_no_storm);
    tcase_add_test(tc, stale_copy_when_idp_down);
    tcase_add_test(tc, idp_unreachable_from_the_start);
    tcase_add_test(tc, issuer_templates);
    tcase_add_test(tc, access_tokens);
    tcase_add_test(tc, hmac_never_for_bearer);
    tcase_add_test(tc, logout_tokens);
    tcase_add_test(tc, token_kinds);
    tcase_add_test(tc, logout_jti_and_exp);
    suite_add_tcase(s, tc);
    return s;
}
