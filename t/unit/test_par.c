/* SPDX-License-Identifier: Apache-2.0 */
/* test_par.c - pushed authorization requests (RFC 9126): the body (the
 * authorization request without client_id), what is POSTed where, every
 * rule of the answer, and the URL the browser gets. */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "fa_par.h"

static apr_pool_t *pool;
static fa_oidc_client_t client;
static fa_oidc_metadata_t md;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    memset(&client, 0, sizeof(client));
    client.client_id = "app 1";
    client.client_secret = "s3cret";
    client.token_auth = FA_TOKEN_AUTH_BASIC;
    client.scopes = "email";
    memset(&md, 0, sizeof(md));
    md.authorization_endpoint = "https://idp.example/auth";
    md.par_endpoint = "https://idp.example/par";
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

typedef struct seen_t {
    fa_http_request_t req;
    int status;
    const char *body;
} seen_t;

static apr_status_t answer(fa_http_t *http, apr_pool_t *p,
                           const fa_http_request_t *req,
                           fa_http_response_t **presp, fa_err_t *err)
{
    seen_t *s = http->baton;
    fa_http_response_t *resp = apr_pcalloc(p, sizeof(*resp));

    (void)err;
    s->req = *req;
    resp->status = s->status;
    resp->body = s->body;
    resp->body_len = strlen(s->body);
    *presp = resp;
    return APR_SUCCESS;
}

START_TEST(body_and_request)
{
    seen_t seen = { { 0 }, 201, "{\"request_uri\":\"urn:par:X1\","
                                 "\"expires_in\":60}" };
    fa_http_t http = { answer, &seen };
    apr_table_t *extra = apr_table_make(pool, 2);
    const char *body, *uri;
    fa_err_t err;

    apr_table_setn(extra, "prompt", "login");
    body = fa_oidc_par_body(pool, &client, "https://app/signin-x", "ST",
                            "NO", "CH", extra);
    ck_assert_str_eq(body, "response_type=code&client_id=app%201"
        "&redirect_uri=https%3A%2F%2Fapp%2Fsignin-x"
        "&scope=openid%20email&state=ST&nonce=NO&code_challenge=CH"
        "&code_challenge_method=S256&prompt=login");
    /* the URL form is the same request */
    ck_assert_str_eq(fa_oidc_auth_url(pool, &md, &client,
                     "https://app/signin-x", "ST", "NO", "CH", extra),
                     apr_pstrcat(pool, "https://idp.example/auth?", body,
                                 NULL));
    ck_assert_int_eq(fa_par_request(pool, &http, &md, &client, body, &uri,
                     &err), APR_SUCCESS);
    ck_assert_str_eq(uri, "urn:par:X1");
    ck_assert_str_eq(seen.req.url, "https://idp.example/par");
    ck_assert_str_eq(seen.req.method, "POST");
    ck_assert_str_eq(seen.req.body, body);
    ck_assert_ptr_nonnull(seen.req.authorization);
    ck_assert_int_eq(seen.req.max_response, FA_PAR_MAX_RESPONSE);
    /* client_secret_post: client_id once, added with the secret */
    client.token_auth = FA_TOKEN_AUTH_POST;
    body = fa_oidc_par_body(pool, &client, "r", "S", "N", "C", NULL);
    fa_par_request(pool, &http, &md, &client, body, &uri, &err);
    ck_assert_str_eq(seen.req.body, "response_type=code&redirect_uri=r"
                     "&scope=openid%20email&state=S&nonce=N&code_challenge=C"
                     "&code_challenge_method=S256"
                     "&client_id=app%201&client_secret=s3cret");
    ck_assert_str_eq(fa_par_auth_url(pool, &md, &client, "urn:par:X1"),
                     "https://idp.example/auth?client_id=app%201"
                     "&request_uri=urn%3Apar%3AX1");
    md.authorization_endpoint = "https://idp.example/auth?tenant=t";
    ck_assert_str_eq(fa_par_auth_url(pool, &md, &client, "u"),
                     "https://idp.example/auth?tenant=t&client_id=app%201"
                     "&request_uri=u");
    md.par_endpoint = NULL;
    ck_assert_int_ne(fa_par_request(pool, &http, &md, &client, body, &uri,
                     &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "invalid_discovery");
}
END_TEST

/* The code fa_par_response gives; "" on success. */
static const char *answer_code(int status, const char *body)
{
    const char *uri;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    if (fa_par_response(pool, status, body, strlen(body), &uri, &err)
        == APR_SUCCESS) {
        ck_assert_ptr_nonnull(uri);
        return "";
    }
    ck_assert_ptr_null(uri);
    return err.code;
}

START_TEST(answers)
{
    char big[FA_PAR_MAX_REQUEST_URI + 40];

    ck_assert_str_eq(answer_code(201, "{\"request_uri\":\"urn:x\"}"), "");
    ck_assert_str_eq(answer_code(200, "{\"request_uri\":\"urn:x\"}"), "");
    ck_assert_str_eq(answer_code(400, "{\"error\":\"invalid_request\","
                     "\"error_description\":\"bad\\r\\nX\"}"), "idp_error");
    ck_assert_str_eq(answer_code(401, "{\"error\":\"invalid_client\"}"),
                     "idp_error");
    ck_assert_str_eq(answer_code(400, "oops"), "idp_bad_response");
    ck_assert_str_eq(answer_code(500, "{\"error\":\"server_error\"}"),
                     "idp_bad_response");
    ck_assert_str_eq(answer_code(302, "{\"request_uri\":\"urn:x\"}"),
                     "idp_bad_response");
    ck_assert_str_eq(answer_code(201, "{}"), "idp_bad_response");
    ck_assert_str_eq(answer_code(201, "{\"request_uri\":5}"),
                     "idp_bad_response");
    ck_assert_str_eq(answer_code(201, "{\"request_uri\":\"\"}"),
                     "idp_bad_response");
    ck_assert_str_eq(answer_code(201, "{\"request_uri\":\"a b\"}"),
                     "idp_bad_response");
    ck_assert_str_eq(answer_code(201, "{\"request_uri\":\"a\\r\\nb\"}"),
                     "idp_bad_response");
    strcpy(big, "{\"request_uri\":\"");
    memset(big + 16, 'u', FA_PAR_MAX_REQUEST_URI + 1);
    strcpy(big + 16 + FA_PAR_MAX_REQUEST_URI + 1, "\"}");
    ck_assert_str_eq(answer_code(201, big), "idp_bad_response");
}
END_TEST

Suite *suite_par(void)
{
    Suite *s = suite_create("par");
    TCase *tc = tcase_create("par");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, body_and_request);
    tcase_add_test(tc, answers);
    suite_add_tcase(s, tc);
    return s;
}
