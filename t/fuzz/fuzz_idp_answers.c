/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_idp_answers.c - libFuzzer target: the answers that the features
 * of 0.4.0 read from an identity provider or Microsoft Graph:
 *  - an introspection answer (fa_introspect_check), whose accepted
 *    claims must be an object saying active: true;
 *  - a page of Graph's getMemberObjects (fa_graph_page_parse), whose ids
 *    must be strings within the bound, and whose next link is only
 *    compared with the configured origin (fa_graph_same_origin);
 *  - a pushed authorization answer (fa_par_response), whose request_uri
 *    must be a non-empty string without control characters or spaces.
 * Input: one byte (low 2 bits: which answer; next 4: HTTP status), then
 * the body. */
#include "fuzz_common.h"
#include "fa_idp.h"
#include "fa_introspect.h"
#include "fa_graph.h"
#include "fa_par.h"
#include "fuzz_keys.h"

static fa_idp_conf_t idp;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    memset(&idp, 0, sizeof(idp));
    idp.id = "fuzz";
    idp.issuer = FUZZ_ISSUER;
    idp.client.client_id = FUZZ_CLIENT_ID;
    return 0;
}

static void introspection(apr_pool_t *p, int status, const char *body,
                          size_t len)
{
    fa_introspect_expect_t ex;
    json_t *claims = NULL;
    fa_err_t err;

    memset(&ex, 0, sizeof(ex));
    memset(&err, 0, sizeof(err));
    ex.idp = &idp;
    ex.scopes = (len & 1) ? "read write" : NULL;
    ex.now = FUZZ_NOW;
    ex.leeway = 60;
    if (fa_introspect_check(p, status, body, len, &ex, &claims, &err)
        == APR_SUCCESS) {
        FUZZ_CHECK(status == 200 && json_is_object(claims));
        FUZZ_CHECK(json_is_true(json_object_get(claims, "active")));
        FUZZ_CHECK(fa_introspect_until(claims, FUZZ_NOW, 300)
                   <= FUZZ_NOW + 300);
    }
    else {
        fuzz_check_err(&err);
    }
}

static void graph_page(apr_pool_t *p, const char *body, size_t len)
{
    apr_array_header_t *ids = apr_array_make(p, 8, sizeof(const char *));
    const char *next = NULL;
    fa_err_t err;
    int i;

    memset(&err, 0, sizeof(err));
    if (fa_graph_page_parse(p, body, len, ids, 50, &next, &err)
        == APR_SUCCESS) {
        FUZZ_CHECK(ids->nelts <= 50);
        for (i = 0; i < ids->nelts; i++) {
            FUZZ_CHECK(APR_ARRAY_IDX(ids, i, const char *) != NULL);
        }
        if (next) {
            (void)fa_graph_same_origin("https://graph.microsoft.com/v1.0",
                                       next);
        }
    }
    else {
        fuzz_check_err(&err);
    }
}

static void par(apr_pool_t *p, int status, const char *body, size_t len)
{
    const char *uri = NULL, *c;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    if (fa_par_response(p, status, body, len, &uri, &err) == APR_SUCCESS) {
        FUZZ_CHECK(uri && *uri);
        for (c = uri; *c; c++) {
            FUZZ_CHECK((unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f);
        }
    }
    else {
        fuzz_check_err(&err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *body;
    int status;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    body = fuzz_copy(p, data + 1, size - 1);
    status = FUZZ_STATUSES[(data[0] >> 2) & 0x0f];
    switch (data[0] & 3) {
    case 0:
    case 3:
        introspection(p, status, body, size - 1);
        break;
    case 1:
        graph_page(p, body, size - 1);
        break;
    default:
        par(p, status, body, size - 1);
        break;
    }
    apr_pool_destroy(p);
    return 0;
}
