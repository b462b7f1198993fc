/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_discovery.c - libFuzzer target: discovery documents
 * (fa_oidc_metadata_parse), and the authorization request URL built from
 * a document that was accepted (fa_oidc_auth_url). */
#include "fuzz_common.h"
#include "fa_oidc.h"
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
    apr_pool_t *p = fuzz_pool();
    char *doc = fuzz_copy(p, data, size);
    fa_oidc_metadata_t *md;
    fa_oidc_client_t client;
    apr_table_t *extra;
    fa_err_t err;
    char *url;

    memset(&err, 0, sizeof(err));
    if (fa_oidc_metadata_parse(p, doc, size, FUZZ_DISCOVERY_ISSUER, &md,
                               &err) != APR_SUCCESS) {
        FUZZ_CHECK(md == NULL);
        fuzz_check_err(&err);
        goto out;
    }
    FUZZ_CHECK(strcmp(md->issuer, FUZZ_DISCOVERY_ISSUER) == 0);
    FUZZ_CHECK(fa_url_is_secure_enough(md->authorization_endpoint)
               && fa_url_is_secure_enough(md->token_endpoint)
               && fa_url_is_secure_enough(md->jwks_uri));
    FUZZ_CHECK(!md->userinfo_endpoint
               || fa_url_is_secure_enough(md->userinfo_endpoint));
    FUZZ_CHECK(!md->end_session_endpoint
               || fa_url_is_secure_enough(md->end_session_endpoint));

    memset(&client, 0, sizeof(client));
    client.client_id = FUZZ_CLIENT_ID;
    client.scopes = "openid email profile";
    extra = apr_table_make(p, 2);
    apr_table_setn(extra, "prompt", "login");
    url = fa_oidc_auth_url(p, md, &client, "https://app.example/signin-x",
                           "state", "nonce", "challenge", extra);
    FUZZ_CHECK(url != NULL
               && !strncmp(url, md->authorization_endpoint,
                           strlen(md->authorization_endpoint)));
out:
    apr_pool_destroy(p);
    return 0;
}
