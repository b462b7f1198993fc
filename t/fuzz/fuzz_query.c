/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_query.c - libFuzzer target: query strings and form bodies
 * (fa_form_parse, fa_url_decode), the return_to rule (fa_return_to_ok),
 * header values (fa_header_value), HTML escaping (fa_html_escape), the
 * iss parameter of a callback (fa_idp_issuer_ok) and base64url, each with
 * the property it promises checked. */
#include "fuzz_common.h"
#include "fa_oidc.h"
#include "fa_idp.h"

#define MAX_PARAMS 32
#define HEADER_MAX 64

static fa_idp_conf_t idp_conf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static apr_pool_t *keep;
    apr_array_header_t *alt;

    (void)argc;
    (void)argv;
    fuzz_init();
    apr_pool_create(&keep, NULL);
    memset(&idp_conf, 0, sizeof(idp_conf));
    idp_conf.id = "fuzz";
    idp_conf.issuer = "https://login.example.com/{tenantid}/v2.0";
    alt = apr_array_make(keep, 2, sizeof(const char *));
    APR_ARRAY_PUSH(alt, const char *) = "https://sts.example.net/{tenantid}/";
    APR_ARRAY_PUSH(alt, const char *) = "accounts.example.org";
    idp_conf.valid_issuers = alt;
    return 0;
}

/* A path a browser would take to another host, or a header splitter. */
static int leaves_site(const char *s)
{
    return s[0] != '/' || s[1] == '/' || s[1] == '\\'
           || strchr(s, '\\') || strpbrk(s, "\r\n");
}

static void one_value(apr_pool_t *p, const char *v)
{
    const char *h, *e, *c;
    char *enc, *dec;
    apr_size_t len = strlen(v);

    if (fa_return_to_ok(v)) {
        FUZZ_CHECK(len <= 2048 && !leaves_site(v));
        /* Decoded once more (a later hop might), still local. */
        if (fa_url_decode(p, v, len, &dec) == APR_SUCCESS) {
            FUZZ_CHECK(dec[0] == '/' && dec[1] != '/' && dec[1] != '\\');
            FUZZ_CHECK(!strpbrk(dec, "\r\n"));
        }
    }
    h = fa_header_value(p, v, HEADER_MAX);
    FUZZ_CHECK(strlen(h) <= HEADER_MAX && fa_header_value_ok(h));
    for (c = h; *c; c++) {
        FUZZ_CHECK((unsigned char)*c >= 0x20 || *c == '\t');
    }
    e = fa_html_escape(p, v);
    FUZZ_CHECK(!strpbrk(e, "<>\"'"));
    enc = fa_url_encode(p, v);
    FUZZ_CHECK(fa_url_decode(p, enc, strlen(enc), &dec) == APR_SUCCESS
               && strcmp(dec, v) == 0);
    (void)fa_oidc_loggable(p, v, 200);
    (void)fa_idp_issuer_ok(&idp_conf, v, "tenant-1", 0);
    (void)fa_idp_issuer_ok(&idp_conf, v, NULL, 1);
    (void)fa_url_is_secure_enough(v);
}

static int each(void *data, const char *key, const char *value)
{
    one_value(data, key);
    one_value(data, value);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *in = fuzz_copy(p, data, size), *dec;
    unsigned char *raw;
    apr_size_t rawlen;
    apr_table_t *t;

    if (fa_form_parse(p, in, size, MAX_PARAMS, &t) == APR_SUCCESS) {
        FUZZ_CHECK(apr_table_elts(t)->nelts <= MAX_PARAMS);
        apr_table_do(each, p, t, NULL);
    }
    else {
        FUZZ_CHECK(t == NULL);
    }
    if (fa_url_decode(p, in, size, &dec) == APR_SUCCESS) {
        FUZZ_CHECK(strlen(dec) <= size);
    }
    if (strlen(in) == size) {
        one_value(p, in);
    }
    /* base64url is strict: what decodes has exactly one encoding. */
    if (fa_b64url_decode(p, in, size, &raw, &rawlen) == APR_SUCCESS) {
        FUZZ_CHECK(strcmp(fa_b64url_encode(p, raw, rawlen), in) == 0);
    }
    apr_pool_destroy(p);
    return 0;
}
