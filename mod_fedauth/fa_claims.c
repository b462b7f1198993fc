/* fa_claims.c - claims to user name, attributes and roles; see
 * fa_claims.h. */
#include <ctype.h>
#include <string.h>
#include <apr_strings.h>
#include "fa_claims.h"

/* Longest user name, sub and attribute value kept in a session. */
#define MAX_VALUE 8192

const char *fa_claims_render(apr_pool_t *p, json_t *value)
{
    char *dump;
    const char *out;
    size_t i;
    json_t *item;
    apr_array_header_t *parts;

    if (!value || json_is_null(value)) {
        return NULL;
    }
    if (json_is_string(value)) {
        return apr_pstrmemdup(p, json_string_value(value),
                              json_string_length(value));
    }
    if (json_is_array(value)) {
        parts = apr_array_make(p, (int)json_array_size(value) + 1,
                               sizeof(const char *));
        json_array_foreach(value, i, item) {
            const char *v = fa_claims_render(p, item);
            if (v) {
                APR_ARRAY_PUSH(parts, const char *) = v;
            }
        }
        return apr_array_pstrcat(p, parts, ',');
    }
    dump = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!dump) {
        return NULL;
    }
    out = apr_pstrdup(p, dump);
    free(dump);
    return out;
}

static const char *claim_str(json_t *claims, const char *name)
{
    json_t *v = json_object_get(claims, name);

    return json_is_string(v) && json_string_length(v) > 0
           ? json_string_value(v) : NULL;
}

static const char *normalize_user(apr_pool_t *p, const char *name)
{
    char *out = apr_pstrdup(p, name), *c;

    for (c = out; *c; c++) {
        if (*c == ' ') {
            *c = '.';
        }
        else {
            *c = (char)tolower((unsigned char)*c);
        }
    }
    return out;
}

const char *fa_claims_username(apr_pool_t *p, const fa_claims_conf_t *conf,
                               json_t *claims)
{
    static const char *const defaults[] = { "preferred_username", "email" };
    const char *name, *v;
    int i, n;

    n = conf->username_claims ? conf->username_claims->nelts : 2;
    for (i = 0; i < n; i++) {
        name = conf->username_claims
               ? APR_ARRAY_IDX(conf->username_claims, i, const char *)
               : defaults[i];
        v = claim_str(claims, name);
        if (!v || strlen(v) > 256) {
            continue;
        }
        if (!strcmp(name, "email")
            && !json_is_true(json_object_get(claims, "email_verified"))) {
            continue;
        }
        return normalize_user(p, v);
    }
    return apr_pstrcat(p, claim_str(claims, conf->identifying_claim
                                    ? conf->identifying_claim : "sub"),
                       "@", conf->idp_id, NULL);
}

static void add_attr(apr_pool_t *p, apr_array_header_t *attrs,
                     const char *name, const char *value)
{
    fa_attr_t *a;

    if (!value) {
        return;
    }
    a = apr_array_push(attrs);
    a->name = name;
    a->value = value;
}

apr_status_t fa_claims_map(apr_pool_t *p, const fa_claims_conf_t *conf,
                           json_t *claims, fa_session_t *s, fa_err_t *err)
{
    const char *id_claim = conf->identifying_claim
                           ? conf->identifying_claim : "sub";
    const char *sub = fa_claims_render(p, json_object_get(claims, id_claim));

    if (!sub || !*sub || strlen(sub) > 255) {
        return fa_err_set(err, "missing_sub",
                          "the identifying claim %s has no usable value",
                          id_claim);
    }
    s->sub = sub;
    s->user = fa_claims_username(p, conf, claims);
    s->attrs = apr_array_make(p, 8, sizeof(fa_attr_t));
    if (json_is_true(json_object_get(claims, "email_verified"))
        || !json_object_get(claims, "email_verified")) {
        add_attr(p, s->attrs, "EMAIL", claim_str(claims, "email"));
    }
    add_attr(p, s->attrs, "GIVEN_NAME", claim_str(claims, "given_name"));
    add_attr(p, s->attrs, "FAMILY_NAME", claim_str(claims, "family_name"));
    add_attr(p, s->attrs, "LANGUAGE", claim_str(claims, "locale"));
    if (conf->default_role) {
        s->roles = conf->default_role;
    }
    else if (conf->fallback_role) {
        s->roles = conf->fallback_role;
    }
    else {
        s->roles = "";
    }
    return APR_SUCCESS;
}
