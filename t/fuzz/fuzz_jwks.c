/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_jwks.c - libFuzzer target: JWKS documents (fa_jwks_parse) and
 * single JWKs (fa_jwk_from_json on the document itself and on the first
 * members of its "keys"); every key that loads is then tried on fixed
 * tokens of each key type (a wrong key must fail cleanly, never crash). */
#include "fuzz_common.h"
#include "fa_jwk.h"
#include "fa_jwt.h"
#include "fuzz_keys.h"

#define MAX_SINGLE 8

static fa_jwt_t *tokens[16];
static int ntokens;
/* The parsed tokens live in pool memory, which LeakSanitizer does not
 * scan (APR may take it from mmap): keep their JSON visibly reachable. */
static json_t *roots[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const compact[] = { FUZZ_VERIFY_TOKENS, NULL };
    static apr_pool_t *keep;
    fa_err_t err;
    int i;

    (void)argc;
    (void)argv;
    fuzz_init();
    apr_pool_create(&keep, NULL);
    for (i = 0; compact[i] && ntokens < 16; i++) {
        if (fa_jwt_parse(keep, compact[i], strlen(compact[i]),
                         &tokens[ntokens], &err) != APR_SUCCESS) {
            fprintf(stderr, "fuzz_jwks: token %d does not parse\n", i);
            abort();
        }
        roots[2 * ntokens] = tokens[ntokens]->header;
        roots[2 * ntokens + 1] = tokens[ntokens]->claims;
        ntokens++;
    }
    return 0;
}

static void check_key(const fa_jwk_t *k)
{
    FUZZ_CHECK(k != NULL && k->pkey != NULL && k->bits > 0);
    FUZZ_CHECK(k->kty == FA_KTY_RSA || k->kty == FA_KTY_EC
               || k->kty == FA_KTY_OKP);
}

static void verify_all(const fa_jwks_t *jwks)
{
    fa_err_t err;
    int i;

    for (i = 0; i < ntokens; i++) {
        if (fa_jwt_verify(tokens[i], jwks, NULL, 0, &err) != APR_SUCCESS) {
            fuzz_check_err(&err);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *doc = fuzz_copy(p, data, size);
    fa_jwks_t *jwks, one;
    fa_jwk_t *k;
    fa_err_t err;
    json_t *root, *keys, *item;
    size_t i;
    int n;

    memset(&err, 0, sizeof(err));
    if (fa_jwks_parse(p, doc, size, &jwks, &err) == APR_SUCCESS) {
        FUZZ_CHECK(jwks->keys->nelts <= FA_JWKS_MAX_KEYS);
        for (n = 0; n < jwks->keys->nelts; n++) {
            check_key(APR_ARRAY_IDX(jwks->keys, n, fa_jwk_t *));
        }
        verify_all(jwks);
    }
    else {
        FUZZ_CHECK(jwks == NULL);
        fuzz_check_err(&err);
    }

    /* The same bytes as single keys. */
    root = json_loadb(doc, size, 0, NULL);
    one.keys = apr_array_make(p, 1, sizeof(fa_jwk_t *));
    if (fa_jwk_from_json(p, root, &k, &err) == APR_SUCCESS) {
        check_key(k);
        APR_ARRAY_PUSH(one.keys, fa_jwk_t *) = k;
    }
    keys = json_object_get(root, "keys");
    json_array_foreach(keys, i, item) {
        if (i >= MAX_SINGLE) {
            break;
        }
        if (fa_jwk_from_json(p, item, &k, &err) == APR_SUCCESS) {
            check_key(k);
            APR_ARRAY_PUSH(one.keys, fa_jwk_t *) = k;
        }
        else {
            fuzz_check_err(&err);
        }
    }
    if (one.keys->nelts) {
        verify_all(&one);
    }
    json_decref(root);
    apr_pool_destroy(p);
    return 0;
}
