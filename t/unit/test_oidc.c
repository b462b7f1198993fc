/* SPDX-License-Identifier: Apache-2.0 */
/* test_oidc.c - discovery documents, PKCE, the authorization URL and the
 * token request (through an in-process HTTP client that records what it
 * was asked and answers what the test says). */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "fa_oidc.h"
#include "fa_jwt.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

#define DISCOVERY(iss, tok) \
    "{\"issuer\":\"" iss "\"," \
    "\"authorization_endpoint\":\"https://idp.example/auth\"," \
    "\"token_endpoint\":\"" tok "\"," \
    "\"jwks_uri\":\"https://idp.example/jwks\"," \
    "\"userinfo_endpoint\":\"http://idp.example/userinfo\"," \
    "\"authorization_response_iss_parameter_supported\":true}"

START_TEST(discovery_parse)
{
    const char *doc = DISCOVERY("https://idp.example",
                                "https://idp.example/token");
    fa_oidc_metadata_t *md;
    fa_err_t err;

    ck_assert_int_eq(fa_oidc_metadata_parse(pool, doc, strlen(doc),
                     "https://idp.example", &md, &err), APR_SUCCESS);
    ck_assert_str_eq(md->token_endpoint, "https://idp.example/token");
    ck_assert(md->iss_parameter_supported);
    /* a plain-http userinfo endpoint to a public host is dropped */
    ck_assert_ptr_null(md->userinfo_endpoint);
}
END_TEST

START_TEST(discovery_rejects)
{
    const char *other = DISCOVERY("https://idp.example/",
                                  "https://idp.example/token");
    const char *http = DISCOVERY("https://idp.example",
                                 "http://idp.example/token");
    const char *dup = "{\"issuer\":\"a\",\"issuer\":\"b\"}";
    fa_oidc_metadata_t *md;
    fa_err_t err;

    /* the issuer must match exactly, even a trailing slash counts */
    ck_assert_int_ne(fa_oidc_metadata_parse(pool, other, strlen(other),
                     "https://idp.example", &md, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "discovery_issuer_mismatch");
    ck_assert_int_ne(fa_oidc_metadata_parse(pool, http, strlen(http),
                     "https://idp.example", &md, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_discovery");
    ck_assert_int_ne(fa_oidc_metadata_parse(pool, "[1]", 3,
                     "https://idp.example", &md, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_discovery");
    ck_assert_int_ne(fa_oidc_metadata_parse(pool, dup, strlen(dup), "a",
                     &md, &err), APR_SUCCESS);
}
END_TEST

START_TEST(pkce_rfc7636_vector)
{
    /* RFC 7636 Appendix B */
    ck_assert_str_eq(fa_oidc_pkce_challenge(pool,
                     "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}
END_TEST

START_TEST(scope_and_auth_url)
{
    fa_oidc_metadata_t md;
    fa_oidc_client_t client;
    apr_table_t *extra = apr_table_make(pool, 2);
    char *url;

    ck_assert_str_eq(fa_oidc_scope(pool, "email openid profile email"),
                     "openid email profile");
    ck_assert_str_eq(fa_oidc_scope(pool, NULL), "openid");
    memset(&md, 0, sizeof(md));
    memset(&client, 0, sizeof(client));
    md.authorization_endpoint = "https://idp.example/auth?tenant=x";
    client.client_id = "app 1";
    client.scopes = "email";
    apr_table_setn(extra, "prompt", "login");
    url = fa_oidc_auth_url(pool, &md, &client,
                           "https://app.example/signin-corp", "ST", "NO",
                           "CH", extra);
    ck_assert_str_eq(url, "https://idp.example/auth?tenant=x"
        "&response_type=code&client_id=app%201"
        "&redirect_uri=https%3A%2F%2Fapp.example%2Fsignin-corp"
        "&scope=openid%20email&state=ST&nonce=NO&code_challenge=CH"
        "&code_challenge_method=S256&prompt=login");
}
END_TEST

/* An HTTP client that answers from the test. */
typedef struct canned_t {
    int status;
    const char *body;
    const char *fail_code;
    fa_http_request_t seen;
} canned_t;

static apr_status_t canned_perform(fa_http_t *http, apr_pool_t *p,
                                   const fa_http_request_t *req,
                                   fa_http_response_t **presp, fa_err_t *err)
{
    canned_t *c = http->baton;
    fa_http_response_t *resp;

    c->seen = *req;
    if (c->fail_code) {
        return fa_err_set(err, c->fail_code, "canned failure");
    }
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->status = c->status;
    resp->body = c->body;
    resp->body_len = strlen(c->body);
    *presp = resp;
    return APR_SUCCESS;
}

/* The token endpoint and the client both token() and refresh() ask with. */
static void test_client(fa_oidc_metadata_t *md, fa_oidc_client_t *client,
                        fa_token_auth_t auth)
{
    memset(md, 0, sizeof(*md));
    memset(client, 0, sizeof(*client));
    md->token_endpoint = "https://idp.example/token";
    client->client_id = "app:1";
    client->client_secret = "s3cr&t";
    client->token_auth = auth;
    client->timeout_sec = 5;
}

static apr_status_t token(canned_t *c, fa_token_auth_t auth,
                          fa_oidc_tokens_t **tok, fa_err_t *err)
{
    fa_http_t http = { canned_perform, c };
    fa_oidc_metadata_t md;
    fa_oidc_client_t client;

    test_client(&md, &client, auth);
    return fa_oidc_token_request(pool, &http, &md, &client,
                                 "https://app.example/signin-corp", "C0DE",
                                 "VERIFIER", tok, err);
}

START_TEST(token_request_auth_methods)
{
    canned_t c = { 200, "{\"id_token\":\"a.b.c\",\"access_token\":\"AT\","
                        "\"token_type\":\"Bearer\",\"expires_in\":300}",
                   NULL, { 0 } };
    fa_oidc_tokens_t *tok;
    fa_err_t err;

    ck_assert_int_eq(token(&c, FA_TOKEN_AUTH_BASIC, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(tok->id_token, "a.b.c");
    ck_assert_int_eq(tok->expires_in, 300);
    /* base64("app%3A1:s3cr%26t"): both halves form-encoded first */
    ck_assert_str_eq(c.seen.authorization, "Basic YXBwJTNBMTpzM2NyJTI2dA==");
    ck_assert_str_eq(c.seen.body, "grant_type=authorization_code&code=C0DE"
        "&redirect_uri=https%3A%2F%2Fapp.example%2Fsignin-corp"
        "&code_verifier=VERIFIER");
    ck_assert_int_eq(token(&c, FA_TOKEN_AUTH_POST, &tok, &err), APR_SUCCESS);
    ck_assert_ptr_null(c.seen.authorization);
    ck_assert_ptr_nonnull(strstr(c.seen.body,
                          "&client_id=app%3A1&client_secret=s3cr%26t"));
    ck_assert_int_eq(token(&c, FA_TOKEN_AUTH_NONE, &tok, &err), APR_SUCCESS);
    ck_assert_ptr_null(strstr(c.seen.body, "client_secret"));
    ck_assert_ptr_nonnull(strstr(c.seen.body, "&client_id=app%3A1"));
}
END_TEST

/* The assertion in a POST body (RFC 7523 2.2), parsed. */
static fa_jwt_t *body_assertion(const char *body)
{
    const char *a = strstr(body, "&client_assertion=");
    const char *end;
    fa_jwt_t *jwt = NULL;
    fa_err_t err;

    ck_assert_ptr_nonnull(a);
    a += strlen("&client_assertion=");
    end = strchr(a, '&');
    ck_assert_ptr_nonnull(end);
    ck_assert_int_eq(fa_jwt_parse(pool, a, (apr_size_t)(end - a), &jwt,
                                  &err), APR_SUCCESS);
    return jwt;
}

/* client_secret_jwt: an HS256 assertion and the client id in the body,
 * no secret, no Authorization; its aud is the token endpoint for every
 * endpoint called; a refusal names the method; private_key_jwt without a
 * key signs nothing. */
START_TEST(client_post_jwt)
{
    canned_t c = { 200, "{\"id_token\":\"a.b.c\"}", NULL, { 0 } };
    fa_http_t http = { canned_perform, &c };
    fa_http_response_t *resp;
    fa_oidc_metadata_t md;
    fa_oidc_client_t client;
    fa_oidc_tokens_t *tok;
    fa_jwt_t *jwt;
    fa_err_t err;

    ck_assert_int_eq(token(&c, FA_TOKEN_AUTH_SECRET_JWT, &tok, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(c.seen.authorization);
    ck_assert_ptr_null(strstr(c.seen.body, "client_secret="));
    ck_assert_ptr_nonnull(strstr(c.seen.body, "&client_assertion_type=urn%3A"
        "ietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"));
    ck_assert_ptr_nonnull(strstr(c.seen.body, "&client_id=app%3A1"));
    jwt = body_assertion(c.seen.body);
    ck_assert_str_eq(jwt->alg, "HS256");
    ck_assert_int_eq(fa_jwt_verify(jwt, NULL, (const unsigned char *)"s3cr&t",
                                   6, &err), APR_SUCCESS);
    test_client(&md, &client, FA_TOKEN_AUTH_SECRET_JWT);
    ck_assert_int_eq(fa_oidc_client_post(pool, &http, &md, &client,
                                         "https://idp.example/introspect",
                                         "token=x", 1024, &resp, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(c.seen.url, "https://idp.example/introspect");
    ck_assert_str_eq(fa_jwt_claim_str(body_assertion(c.seen.body), "aud"),
                     "https://idp.example/token");
    c.status = 401;
    c.body = "{\"error\":\"invalid_client\"}";
    ck_assert_int_ne(token(&c, FA_TOKEN_AUTH_SECRET_JWT, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "token_error");
    ck_assert_ptr_nonnull(strstr(err.desc, "client_secret_jwt: token "
                                 "endpoint answered 401 error="
                                 "invalid_client"));
    ck_assert_int_ne(token(&c, FA_TOKEN_AUTH_PRIVATE_KEY_JWT, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "internal_error");
}
END_TEST

START_TEST(token_request_failures)
{
    canned_t c = { 400, "{\"error\":\"invalid_grant\",\"error_description\":"
                        "\"code\\r\\nreused\"}", NULL, { 0 } };
    fa_oidc_tokens_t *tok;
    fa_err_t err;

    ck_assert_int_ne(token(&c, FA_TOKEN_AUTH_BASIC, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "token_error");
    ck_assert_ptr_nonnull(strstr(err.desc, "invalid_grant"));
    /* what the IdP says reaches the log without line breaks */
    ck_assert_ptr_null(strpbrk(err.desc, "\r\n"));
    c.status = 500;
    c.body = "<html>oops</html>";
    ck_assert_int_ne(token(&c, FA_TOKEN_AUTH_BASIC, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_bad_response");
    c.status = 200;
    c.body = "{\"access_token\":\"AT\"}";
    ck_assert_int_ne(token(&c, FA_TOKEN_AUTH_BASIC, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_bad_response");
    c.fail_code = "idp_unreachable";
    ck_assert_int_ne(token(&c, FA_TOKEN_AUTH_BASIC, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_unreachable");
}
END_TEST

static apr_status_t refresh(canned_t *c, fa_token_auth_t auth,
                            fa_oidc_tokens_t **tok, fa_err_t *err)
{
    fa_http_t http = { canned_perform, c };
    fa_oidc_metadata_t md;
    fa_oidc_client_t client;

    test_client(&md, &client, auth);
    return fa_oidc_refresh_request(pool, &http, &md, &client, "R+T/1=",
                                   tok, err);
}

/* The refresh_token grant: client authentication as for the code; the
 * answer needs an access token, not an ID token; a rotated refresh token
 * comes back; invalid_grant is a token_error that names it and never
 * holds the refresh token. */
START_TEST(refresh_request)
{
    canned_t c = { 200, "{\"access_token\":\"AT2\",\"token_type\":"
                        "\"Bearer\",\"expires_in\":300,"
                        "\"refresh_token\":\"RT2\"}", NULL, { 0 } };
    fa_oidc_tokens_t *tok;
    fa_err_t err;

    ck_assert_int_eq(refresh(&c, FA_TOKEN_AUTH_BASIC, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(c.seen.method, "POST");
    ck_assert_str_eq(c.seen.url, "https://idp.example/token");
    ck_assert_str_eq(c.seen.body,
                     "grant_type=refresh_token&refresh_token=R%2BT%2F1%3D");
    ck_assert_str_eq(c.seen.authorization, "Basic YXBwJTNBMTpzM2NyJTI2dA==");
    ck_assert_str_eq(c.seen.content_type,
                     "application/x-www-form-urlencoded");
    ck_assert_str_eq(tok->access_token, "AT2");
    ck_assert_str_eq(tok->refresh_token, "RT2");
    ck_assert_ptr_null(tok->id_token);
    ck_assert_int_eq(tok->expires_in, 300);
    ck_assert_int_eq(fa_oidc_access_expiry(pool, tok, 1700000000),
                     1700000300);
    ck_assert_int_eq(refresh(&c, FA_TOKEN_AUTH_POST, &tok, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(c.seen.authorization);
    ck_assert_str_eq(c.seen.body, "grant_type=refresh_token"
        "&refresh_token=R%2BT%2F1%3D&client_id=app%3A1"
        "&client_secret=s3cr%26t");
    ck_assert_int_eq(refresh(&c, FA_TOKEN_AUTH_NONE, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(c.seen.body, "grant_type=refresh_token"
        "&refresh_token=R%2BT%2F1%3D&client_id=app%3A1");
    /* no rotation: no refresh token in the answer */
    c.body = "{\"access_token\":\"AT3\"}";
    ck_assert_int_eq(refresh(&c, FA_TOKEN_AUTH_BASIC, &tok, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(tok->refresh_token);
    ck_assert_int_eq(tok->expires_in, -1);
    ck_assert_int_eq(fa_oidc_access_expiry(pool, tok, 1700000000), 0);
    /* no access token */
    c.body = "{\"id_token\":\"a.b.c\"}";
    ck_assert_int_ne(refresh(&c, FA_TOKEN_AUTH_BASIC, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_bad_response");
    c.status = 400;
    c.body = "{\"error\":\"invalid_grant\",\"error_description\":"
             "\"grant request is invalid\"}";
    ck_assert_int_ne(refresh(&c, FA_TOKEN_AUTH_BASIC, &tok, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "token_error");
    ck_assert_ptr_nonnull(strstr(err.desc, "error=invalid_grant"));
    ck_assert_ptr_null(strstr(err.desc, "R+T"));
}
END_TEST

/* The expiry of an access token without expires_in: the exp of a JWT
 * (not verified); a negative expires_in counts as none. */
START_TEST(access_expiry_and_token_ok)
{
    fa_oidc_tokens_t tok;
    /* {"alg":"none"} . {"exp":1700000900} . sig */
    const char *jwt = "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDA5MDB9.c2ln";
    fa_oidc_tokens_t *pt;
    fa_err_t err;

    memset(&tok, 0, sizeof(tok));
    tok.access_token = jwt;
    tok.expires_in = -1;
    ck_assert_int_eq(fa_oidc_access_expiry(pool, &tok, 1700000000),
                     1700000900);
    tok.expires_in = 60;
    ck_assert_int_eq(fa_oidc_access_expiry(pool, &tok, 1700000000),
                     1700000060);
    tok.access_token = "opaque";
    tok.expires_in = -1;
    ck_assert_int_eq(fa_oidc_access_expiry(pool, &tok, 1700000000), 0);
    ck_assert_int_eq(fa_oidc_token_response(pool, 200, "{\"id_token\":"
                     "\"a\",\"expires_in\":-5}", 32, 1, &pt, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(pt->expires_in, -1);
    ck_assert(fa_oidc_token_ok(jwt));
    ck_assert(!fa_oidc_token_ok(""));
    ck_assert(!fa_oidc_token_ok(NULL));
    ck_assert(!fa_oidc_token_ok("a b"));
    ck_assert(!fa_oidc_token_ok("a\r\nX-Evil: 1"));
    ck_assert(!fa_oidc_token_ok("caf\xc3\xa9"));
}
END_TEST

/* RFC 7009: the token and its hint in the body, the client's
 * authentication added as at the token endpoint, 200 (also with a body)
 * is success, an OAuth error or another status fails, the token never
 * in the error; no revocation_endpoint: nothing is sent. */
START_TEST(revoke_request)
{
    canned_t c = { 200, "", NULL, { 0 } };
    fa_http_t http = { canned_perform, &c };
    fa_oidc_metadata_t md;
    fa_oidc_client_t client;
    fa_err_t err;

    test_client(&md, &client, FA_TOKEN_AUTH_POST);
    memset(&err, 0, sizeof(err));
    ck_assert_int_ne(fa_oidc_revoke(pool, &http, &md, &client, "R+T",
                                    "refresh_token", &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_discovery");
    ck_assert_ptr_null(c.seen.url);
    md.revocation_endpoint = "https://idp.example/revoke";
    ck_assert_int_eq(fa_oidc_revoke(pool, &http, &md, &client, "R+T",
                                    "refresh_token", &err), APR_SUCCESS);
    ck_assert_str_eq(c.seen.url, "https://idp.example/revoke");
    ck_assert_str_eq(c.seen.method, "POST");
    ck_assert_str_eq(c.seen.body, "token=R%2BT&token_type_hint="
                     "refresh_token&client_id=app%3A1&client_secret="
                     "s3cr%26t");
    c.body = "{}";
    ck_assert_int_eq(fa_oidc_revoke(pool, &http, &md, &client, "AT",
                                    NULL, &err), APR_SUCCESS);
    ck_assert_ptr_null(strstr(c.seen.body, "token_type_hint"));
    c.status = 400;
    c.body = "{\"error\":\"unsupported_token_type\"}";
    ck_assert_int_ne(fa_oidc_revoke(pool, &http, &md, &client, "SECRET-AT",
                                    "access_token", &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "token_error");
    ck_assert_ptr_nonnull(strstr(err.desc, "unsupported_token_type"));
    ck_assert_ptr_null(strstr(err.desc, "SECRET-AT"));
    c.status = 503;
    c.body = "<html>busy</html>";
    ck_assert_int_ne(fa_oidc_revoke(pool, &http, &md, &client, "AT",
                                    "access_token", &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_bad_response");
    c.fail_code = "idp_unreachable";
    ck_assert_int_ne(fa_oidc_revoke(pool, &http, &md, &client, "AT",
                                    "access_token", &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_unreachable");
}
END_TEST

/* Origins for a Content-Security-Policy source list. */
START_TEST(origin_of_url)
{
    ck_assert_str_eq(fa_oidc_origin(pool, "https://idp.example/realms/x"),
                     "https://idp.example");
    ck_assert_str_eq(fa_oidc_origin(pool, "http://127.0.0.1:8080?a=b"),
                     "http://127.0.0.1:8080");
    ck_assert_str_eq(fa_oidc_origin(pool, "https://[::1]:9443/#x"),
                     "https://[::1]:9443");
    ck_assert_str_eq(fa_oidc_origin(pool, "https://login.example"),
                     "https://login.example");
    ck_assert_ptr_null(fa_oidc_origin(pool, NULL));
    ck_assert_ptr_null(fa_oidc_origin(pool, "ftp://idp.example/"));
    ck_assert_ptr_null(fa_oidc_origin(pool, "https:///path"));
    ck_assert_ptr_null(fa_oidc_origin(pool, "https://u:p@idp.example/"));
    ck_assert_ptr_null(fa_oidc_origin(pool, "https://idp.example;x/"));
    ck_assert_ptr_null(fa_oidc_origin(pool, "https://a b/"));
    ck_assert_ptr_null(fa_oidc_origin(pool, "https://idp'.example/"));
}
END_TEST

Suite *suite_oidc(void)
{
    Suite *s = suite_create("oidc");
    TCase *tc = tcase_create("oidc");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, discovery_parse);
    tcase_add_test(tc, discovery_rejects);
    tcase_add_test(tc, pkce_rfc7636_vector);
    tcase_add_test(tc, scope_and_auth_url);
    tcase_add_test(tc, token_request_auth_methods);
    tcase_add_test(tc, token_request_failures);
    tcase_add_test(tc, client_post_jwt);
    tcase_add_test(tc, refresh_request);
    tcase_add_test(tc, access_expiry_and_token_ok);
    tcase_add_test(tc, revoke_request);
    tcase_add_test(tc, origin_of_url);
    suite_add_tcase(s, tc);
    return s;
}
