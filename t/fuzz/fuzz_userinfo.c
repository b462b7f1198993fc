/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_userinfo.c - libFuzzer target: the userinfo endpoint's answer as
 * fa_oidc_userinfo sees it (in-process fa_http_t), merged into an ID
 * token's claims (fa_claims_merge_userinfo) and mapped to user, roles and
 * attributes (fa_claims_map), whose session record must survive an
 * encode/decode round trip.
 * Input: one byte (low 4 bits: HTTP status; next 2: Content-Type), then
 * the body. */
#include "fuzz_common.h"
#include "fa_oidc.h"
#include "fa_claims.h"
#include "fa_session.h"
#include "fuzz_keys.h"

static fa_claims_conf_t conf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static apr_pool_t *keep;
    static const fa_claim_map_t maps[] = {
        { "name", "NAME" }, { "groups", "GROUPS" },
        { "realm_access.roles", "REALM_ROLES" }, { "address", "ADDRESS" },
        { "email_verified", "VERIFIED" }, { "a.b.c.d.e.f.g.h.i", "DEEP" }
    };
    static const fa_group_map_t groups[] = {
        { "staff", "member" }, { "wonderland-admins", "admin" },
        { "", "empty" }, { "admin", "admin" }
    };
    apr_array_header_t *a;
    size_t i;

    (void)argc;
    (void)argv;
    fuzz_init();
    apr_pool_create(&keep, NULL);
    memset(&conf, 0, sizeof(conf));
    conf.idp_id = "fuzz";
    a = apr_array_make(keep, 3, sizeof(const char *));
    APR_ARRAY_PUSH(a, const char *) = "preferred_username";
    APR_ARRAY_PUSH(a, const char *) = "upn";
    APR_ARRAY_PUSH(a, const char *) = "email";
    conf.username_claims = a;
    a = apr_array_make(keep, 6, sizeof(fa_claim_map_t));
    for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        APR_ARRAY_PUSH(a, fa_claim_map_t) = maps[i];
    }
    conf.claim_maps = a;
    conf.groups_claim = "groups";
    a = apr_array_make(keep, 4, sizeof(fa_group_map_t));
    for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        APR_ARRAY_PUSH(a, fa_group_map_t) = groups[i];
    }
    conf.group_maps = a;
    conf.fallback_role = "viewer";
    a = apr_array_make(keep, 3, sizeof(const char *));
    APR_ARRAY_PUSH(a, const char *) = "groups";
    APR_ARRAY_PUSH(a, const char *) = "email_verified";
    APR_ARRAY_PUSH(a, const char *) = "realm_access.roles";
    conf.kept_claims = a;
    return 0;
}

static void same_str(const char *a, const char *b)
{
    FUZZ_CHECK((a == NULL && b == NULL)
               || (a != NULL && b != NULL && strcmp(a, b) == 0));
}

static void same_attrs(const apr_array_header_t *a,
                       const apr_array_header_t *b)
{
    int i, na = a ? a->nelts : 0, nb = b ? b->nelts : 0;

    FUZZ_CHECK(na == nb);
    for (i = 0; i < na; i++) {
        same_str(APR_ARRAY_IDX(a, i, fa_attr_t).name,
                 APR_ARRAY_IDX(b, i, fa_attr_t).name);
        same_str(APR_ARRAY_IDX(a, i, fa_attr_t).value,
                 APR_ARRAY_IDX(b, i, fa_attr_t).value);
    }
}

/* The mapped session is stored and read back: nothing may change. */
static void round_trip(apr_pool_t *p, const fa_session_t *s)
{
    fa_session_t *d;
    char *rec;
    apr_size_t len;
    const char *c;
    int i;

    FUZZ_CHECK(fa_session_encode(p, s, &rec, &len) == APR_SUCCESS);
    FUZZ_CHECK(fa_session_decode(p, rec, len, &d) == APR_SUCCESS);
    same_str(s->idp, d->idp);
    same_str(s->sub, d->sub);
    same_str(s->user, d->user);
    same_str(s->roles, d->roles);
    same_attrs(s->attrs, d->attrs);
    same_attrs(s->claims, d->claims);
    /* What reaches headers and the environment: no control characters,
     * at most FA_CLAIMS_VALUE_MAX bytes. */
    for (i = 0; s->attrs && i < s->attrs->nelts; i++) {
        c = APR_ARRAY_IDX(s->attrs, i, fa_attr_t).value;
        FUZZ_CHECK(strlen(c) <= FA_CLAIMS_VALUE_MAX);
        for (; *c; c++) {
            FUZZ_CHECK((unsigned char)*c >= 0x20 || *c == '\t');
        }
    }
}

static void map(apr_pool_t *p, json_t *claims)
{
    fa_session_t s;
    fa_err_t err;

    memset(&s, 0, sizeof(s));
    s.created = s.last_seen = FUZZ_NOW;
    s.idp = "fuzz";
    if (fa_claims_map(p, &conf, claims, &s, &err) == APR_SUCCESS) {
        FUZZ_CHECK(s.sub && *s.sub && s.user && s.roles);
        round_trip(p, &s);
    }
    else {
        fuzz_check_err(&err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ctypes[4] = {
        "application/json", NULL, "application/jwt",
        "application/json; charset=utf-8"
    };
    apr_pool_t *p;
    fuzz_http_t http;
    fa_oidc_metadata_t md;
    json_t *info, *claims;
    fa_err_t err;
    char *body;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    body = fuzz_copy(p, data + 1, size - 1);
    fuzz_http_init(&http, FUZZ_STATUSES[data[0] & 0x0f],
                   ctypes[(data[0] >> 4) & 3], body, size - 1);
    memset(&md, 0, sizeof(md));
    md.issuer = FUZZ_ISSUER;
    md.userinfo_endpoint = FUZZ_ISSUER "/me";
    memset(&err, 0, sizeof(err));
    if (fa_oidc_userinfo(p, &http.http, &md, "access-token", 5, &info, &err)
        != APR_SUCCESS) {
        FUZZ_CHECK(info == NULL);
        fuzz_check_err(&err);
        goto out;
    }
    FUZZ_CHECK(json_is_object(info));
    /* The ID token's claims, as the callback has them. */
    claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", FUZZ_ISSUER,
                       "sub", FUZZ_USERINFO_SUB, "aud", FUZZ_CLIENT_ID,
                       "exp", (json_int_t)FUZZ_NOW + 600,
                       "iat", (json_int_t)FUZZ_NOW, "name", "Id Token Name");
    FUZZ_CHECK(claims != NULL);
    if (fa_claims_merge_userinfo(claims, info, &err) == APR_SUCCESS) {
        map(p, claims);
    }
    else {
        fuzz_check_err(&err);
    }
    json_decref(claims);
    /* The userinfo object alone, as if it were the ID token. */
    map(p, info);
out:
    apr_pool_destroy(p);
    return 0;
}
