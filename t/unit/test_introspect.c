/* SPDX-License-Identifier: Apache-2.0 */
/* test_introspect.c - token introspection (RFC 7662): what is sent (through
 * an in-process HTTP client that records the request) and every rule the
 * answer must pass. */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "fa_introspect.h"
#include "fa_jwt.h"

#define NOW 1700000000

static apr_pool_t *pool;
static fa_idp_conf_t idp;
static fa_introspect_expect_t ex;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    memset(&idp, 0, sizeof(idp));
    idp.id = "corp";
    idp.issuer = "https://idp.example";
    idp.client.client_id = "app";
    idp.client.client_secret = "s3cret";
    idp.client.token_auth = FA_TOKEN_AUTH_BASIC;
    memset(&ex, 0, sizeof(ex));
    ex.idp = &idp;
    ex.now = NOW;
    ex.leeway = FA_JWT_LEEWAY;
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* The code fa_introspect_check gives body (status 200); "" on success. */
static const char *check(const char *body)
{
    json_t *claims;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    if (fa_introspect_check(pool, 200, body, strlen(body), &ex, &claims,
                            &err) == APR_SUCCESS) {
        ck_assert_ptr_nonnull(claims);
        return "";
    }
    ck_assert_ptr_null(claims);
    return err.code;
}

typedef struct seen_t {
    fa_http_request_t req;
} seen_t;

static apr_status_t record(fa_http_t *http, apr_pool_t *p,
                           const fa_http_request_t *req,
                           fa_http_response_t **presp, fa_err_t *err)
{
    seen_t *s = http->baton;
    fa_http_response_t *resp = apr_pcalloc(p, sizeof(*resp));

    (void)err;
    s->req = *req;
    resp->status = 200;
    resp->body = "{\"active\":false}";
    resp->body_len = strlen(resp->body);
    *presp = resp;
    return APR_SUCCESS;
}

START_TEST(request_as_token_endpoint)
{
    seen_t seen;
    fa_http_t http = { record, &seen };
    fa_oidc_metadata_t md;
    fa_http_response_t *resp;
    fa_err_t err;

    memset(&md, 0, sizeof(md));
    memset(&seen, 0, sizeof(seen));
    ck_assert_int_eq(fa_introspect_request(pool, &http, &md, &idp.client,
                     "https://idp.example/introspect", "a+b/c=", &resp,
                     &err), APR_SUCCESS);
    ck_assert_str_eq(seen.req.method, "POST");
    ck_assert_str_eq(seen.req.url, "https://idp.example/introspect");
    ck_assert_str_eq(seen.req.body, "token=a%2Bb%2Fc%3D"
                     "&token_type_hint=access_token");
    ck_assert_str_eq(seen.req.authorization, "Basic YXBwOnMzY3JldA==");
    ck_assert_int_eq(seen.req.max_response, FA_INTROSPECT_MAX_RESPONSE);
    idp.client.token_auth = FA_TOKEN_AUTH_POST;
    fa_introspect_request(pool, &http, &md, &idp.client, "https://i/x",
                          "T", &resp, &err);
    ck_assert_ptr_null(seen.req.authorization);
    ck_assert_str_eq(seen.req.body, "token=T&token_type_hint=access_token"
                     "&client_id=app&client_secret=s3cret");
}
END_TEST

START_TEST(active_and_mapped)
{
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u1\","
                           "\"client_id\":\"app\",\"exp\":1700000300}"), "");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u1\",\"aud\":"
                           "[\"x\",\"app\"],\"iss\":\"https://idp.example\","
                           "\"token_type\":\"Bearer\",\"scope\":\"a b\"}"),
                     "");
    /* exp is optional (RFC 7662 2.2); a real number is taken */
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"exp\":1700000300.5}"), "");
}
END_TEST

START_TEST(not_an_answer)
{
    json_t *claims;
    fa_err_t err;
    const char *ok = "{\"active\":true,\"sub\":\"u\",\"aud\":\"app\"}";

    ck_assert_int_ne(fa_introspect_check(pool, 401, ok, strlen(ok), &ex,
                     &claims, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_bad_response");
    ck_assert_int_ne(fa_introspect_check(pool, 500, ok, strlen(ok), &ex,
                     &claims, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_bad_response");
    ck_assert_int_ne(fa_introspect_check(pool, 200, ok,
                     FA_INTROSPECT_MAX_RESPONSE + 1, &ex, &claims, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "idp_bad_response");
    ck_assert_str_eq(check("<html>"), "idp_bad_response");
    ck_assert_str_eq(check("[true]"), "idp_bad_response");
    ck_assert_str_eq(check("{\"sub\":\"u\"}"), "idp_bad_response");
    ck_assert_str_eq(check("{\"active\":\"true\",\"sub\":\"u\"}"),
                     "idp_bad_response");
    ck_assert_str_eq(check("{\"active\":1,\"sub\":\"u\"}"),
                     "idp_bad_response");
    /* duplicate members are refused by the JSON reader */
    ck_assert_str_eq(check("{\"active\":false,\"active\":true,\"sub\":\"u\","
                           "\"aud\":\"app\"}"), "idp_bad_response");
}
END_TEST

START_TEST(inactive_and_type)
{
    ck_assert_str_eq(check("{\"active\":false}"), "token_inactive");
    ck_assert_str_eq(check("{\"active\":false,\"sub\":\"u\",\"aud\":\"app\"}"),
                     "token_inactive");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"token_type\":\"refresh_token\"}"),
                     "wrong_token_type");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"typ\":\"Refresh\"}"), "wrong_token_type");
}
END_TEST

START_TEST(times)
{
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"exp\":1699999000}"), "token_expired");
    /* within the leeway */
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"exp\":1699999990}"), "");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"exp\":\"soon\"}"), "idp_bad_response");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"nbf\":1700001000}"), "token_not_yet_valid");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"nbf\":[1]}"), "idp_bad_response");
}
END_TEST

START_TEST(issuer)
{
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"iss\":\"https://evil.example\"}"), "wrong_iss");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"iss\":7}"), "wrong_iss");
    idp.valid_issuers = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(idp.valid_issuers, const char *) =
        "https://login.example/{tenantid}/v2.0";
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"iss\":\"https://login.example/t1/v2.0\","
                           "\"tid\":\"t1\"}"), "");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"iss\":\"https://login.example/t1/v2.0\","
                           "\"tid\":\"t2\"}"), "wrong_iss");
}
END_TEST

START_TEST(audience)
{
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":"
                           "\"other\"}"), "wrong_aud");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":"
                           "[\"other\"],\"client_id\":\"app\"}"),
                     "wrong_aud");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":"
                           "[\"app\",3]}"), "idp_bad_response");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":{}}"),
                     "idp_bad_response");
    /* no aud: the token must have been issued to the audience */
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\","
                           "\"client_id\":\"spa\"}"), "wrong_aud");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\"}"), "wrong_aud");
    ex.audience = "api://orders";
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":"
                           "\"app\"}"), "wrong_aud");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":"
                           "\"api://orders\"}"), "");
}
END_TEST

START_TEST(scopes_and_sub)
{
    ex.scopes = "orders:read  orders:write";
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"scope\":\"orders:write openid orders:read\"}"),
                     "");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"scope\":\"orders:read orders:writer\"}"),
                     "insufficient_scope");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\"}"),
                     "insufficient_scope");
    ck_assert_str_eq(check("{\"active\":true,\"sub\":\"u\",\"aud\":\"app\","
                           "\"scope\":[\"orders:read\"]}"),
                     "idp_bad_response");
    ex.scopes = NULL;
    ck_assert_str_eq(check("{\"active\":true,\"aud\":\"app\","
                           "\"username\":\"kim\"}"), "missing_sub");
    ck_assert_str_eq(check("{\"active\":true,\"aud\":\"app\",\"sub\":\"\"}"),
                     "missing_sub");
    ck_assert_str_eq(check("{\"active\":true,\"aud\":\"app\",\"sub\":5}"),
                     "missing_sub");
}
END_TEST

START_TEST(until)
{
    json_t *c = json_pack("{s:I}", "exp", (json_int_t)(NOW + 100));

    ck_assert_int_eq(fa_introspect_until(c, NOW, 300), NOW + 100);
    ck_assert_int_eq(fa_introspect_until(c, NOW, 30), NOW + 30);
    ck_assert_int_eq(fa_introspect_until(c, NOW, 0), NOW);
    json_object_del(c, "exp");
    ck_assert_int_eq(fa_introspect_until(c, NOW, 300), NOW + 300);
    json_decref(c);
}
END_TEST

Suite *suite_introspect(void)
{
    Suite *s = suite_create("introspect");
    TCase *tc = tcase_create("introspect");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, request_as_token_endpoint);
    tcase_add_test(tc, active_and_mapped);
    tcase_add_test(tc, not_an_answer);
    tcase_add_test(tc, inactive_and_type);
    tcase_add_test(tc, times);
    tcase_add_test(tc, issuer);
    tcase_add_test(tc, audience);
    tcase_add_test(tc, scopes_and_sub);
    tcase_add_test(tc, until);
    suite_add_tcase(s, tc);
    return s;
}
