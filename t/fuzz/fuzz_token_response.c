/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_token_response.c - libFuzzer target: the token endpoint's answer
 * as fa_oidc_token_request sees it, through an in-process fa_http_t.
 * Input: one byte that chooses the HTTP status and the client
 * authentication method, then the response body. An ID token that comes
 * back is parsed (fa_jwt_parse) as the callback would. */
#include "fuzz_common.h"
#include "fa_oidc.h"
#include "fa_jwt.h"
#include "fuzz_keys.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fa_token_auth_t auths[4] = {
        FA_TOKEN_AUTH_BASIC, FA_TOKEN_AUTH_POST, FA_TOKEN_AUTH_NONE,
        FA_TOKEN_AUTH_UNSET
    };
    apr_pool_t *p;
    fuzz_http_t http;
    fa_oidc_metadata_t md;
    fa_oidc_client_t client;
    fa_oidc_tokens_t *tok;
    fa_jwt_t *jwt;
    fa_err_t err;
    char *body;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    body = fuzz_copy(p, data + 1, size - 1);
    fuzz_http_init(&http, FUZZ_STATUSES[data[0] & 0x0f], "application/json",
                   body, size - 1);
    memset(&md, 0, sizeof(md));
    md.issuer = FUZZ_ISSUER;
    md.authorization_endpoint = FUZZ_ISSUER "/auth";
    md.token_endpoint = FUZZ_ISSUER "/token";
    md.jwks_uri = FUZZ_ISSUER "/jwks";
    memset(&client, 0, sizeof(client));
    client.client_id = FUZZ_CLIENT_ID;
    client.client_secret = "s3cret:with&odd=chars";
    client.token_auth = auths[(data[0] >> 4) & 3];
    client.timeout_sec = 5;
    memset(&err, 0, sizeof(err));
    if (fa_oidc_token_request(p, &http.http, &md, &client,
                              "https://app.example/signin-fuzz", "the-code",
                              "the-verifier", &tok, &err) == APR_SUCCESS) {
        FUZZ_CHECK(http.status == 200 && tok->id_token != NULL);
        if (fa_jwt_parse(p, tok->id_token, strlen(tok->id_token), &jwt,
                         &err) != APR_SUCCESS) {
            fuzz_check_err(&err);
        }
    }
    else {
        FUZZ_CHECK(tok == NULL);
        fuzz_check_err(&err);
        FUZZ_CHECK(!strcmp(err.code, "token_error")
                   || !strcmp(err.code, "idp_bad_response"));
    }
    FUZZ_CHECK(http.calls == 1);
    apr_pool_destroy(p);
    return 0;
}
