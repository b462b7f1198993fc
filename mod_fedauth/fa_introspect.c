/* SPDX-License-Identifier: Apache-2.0 */
/* fa_introspect.c - token introspection (RFC 7662); see fa_introspect.h. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <jansson.h>
#include "fa_introspect.h"
#include "fa_json.h"

apr_status_t fa_introspect_request(apr_pool_t *p, fa_http_t *http,
                                   const fa_oidc_metadata_t *md,
                                   const fa_oidc_client_t *client,
                                   const char *url, const char *token,
                                   fa_http_response_t **presp,
                                   fa_err_t *err)
{
    const char *body = apr_pstrcat(p, "token=", fa_url_encode(p, token),
                                   "&token_type_hint=access_token", NULL);

    return fa_oidc_client_post(p, http, md, client, url, body,
                               FA_INTROSPECT_MAX_RESPONSE, presp, err);
}

/* A NumericDate member: 1 and *out when it is a number, 0 when absent,
 * -1 when it is something else. */
static int numeric_date(json_t *claims, const char *name, apr_int64_t *out)
{
    json_t *v = json_object_get(claims, name);

    if (!v) {
        return 0;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (json_is_real(v) && json_real_value(v) > -1e15
        && json_real_value(v) < 1e15) {
        *out = (apr_int64_t)json_real_value(v);
        return 1;
    }
    return -1;
}

/* 1 when aud (a string or an array of strings) holds audience; -1 when
 * aud has another shape. */
static int aud_has(json_t *aud, const char *audience)
{
    json_t *item;
    size_t i;
    int found = 0;

    if (json_is_string(aud)) {
        return strcmp(json_string_value(aud), audience) == 0;
    }
    if (!json_is_array(aud)) {
        return -1;
    }
    json_array_foreach(aud, i, item) {
        if (!json_is_string(item)) {
            return -1;
        }
        found |= !strcmp(json_string_value(item), audience);
    }
    return found;
}

/* 1 when the space-separated list have holds the word w. */
static int has_word(const char *have, const char *w, apr_size_t wlen)
{
    const char *s = have, *e;

    while (*s) {
        while (*s == ' ') {
            s++;
        }
        for (e = s; *e && *e != ' '; e++) {
        }
        if ((apr_size_t)(e - s) == wlen && wlen && !strncmp(s, w, wlen)) {
            return 1;
        }
        s = e;
    }
    return 0;
}

/* The first scope of need missing from have, or NULL when none is. */
static const char *missing_scope(apr_pool_t *p, const char *have,
                                 const char *need)
{
    const char *s = need, *e;

    while (*s) {
        while (*s == ' ') {
            s++;
        }
        for (e = s; *e && *e != ' '; e++) {
        }
        if (e > s && !has_word(have, s, (apr_size_t)(e - s))) {
            return apr_pstrmemdup(p, s, (apr_size_t)(e - s));
        }
        s = e;
    }
    return NULL;
}

/* 1 when the answer says the token is a refresh token. */
static int is_refresh_token(json_t *claims)
{
    json_t *tt = json_object_get(claims, "token_type");
    json_t *typ = json_object_get(claims, "typ");

    return (json_is_string(tt)
            && !strcasecmp(json_string_value(tt), "refresh_token"))
           || (json_is_string(typ)
               && (!strcasecmp(json_string_value(typ), "Refresh")
                   || !strcasecmp(json_string_value(typ), "Offline")));
}

/* The checks of time, issuer, audience and scope of an active answer. */
static apr_status_t check_active(apr_pool_t *p, json_t *claims,
                                 const fa_introspect_expect_t *ex,
                                 fa_err_t *err)
{
    const char *aud_want = ex->audience ? ex->audience
                                        : ex->idp->client.client_id;
    json_t *aud = json_object_get(claims, "aud");
    json_t *scope = json_object_get(claims, "scope");
    json_t *iss = json_object_get(claims, "iss");
    json_t *cid = json_object_get(claims, "client_id");
    json_t *tid = json_object_get(claims, "tid");
    apr_int64_t t = 0;
    const char *miss;
    int n;

    if ((n = numeric_date(claims, "exp", &t)) < 0) {
        return fa_err_set(err, "idp_bad_response", "introspection exp is "
                          "not a number");
    }
    if (n > 0 && t <= ex->now - ex->leeway) {
        return fa_err_set(err, "token_expired", "introspection says active "
                          "but exp %" APR_INT64_T_FMT " has passed", t);
    }
    if ((n = numeric_date(claims, "nbf", &t)) < 0) {
        return fa_err_set(err, "idp_bad_response", "introspection nbf is "
                          "not a number");
    }
    if (n > 0 && t > ex->now + ex->leeway) {
        return fa_err_set(err, "token_not_yet_valid", "nbf is in the "
                          "future");
    }
    if (iss && (!json_is_string(iss)
                || !fa_idp_issuer_ok(ex->idp, json_string_value(iss),
                                     json_is_string(tid)
                                     ? json_string_value(tid) : NULL, 0))) {
        return fa_err_set(err, "wrong_iss", "introspection iss '%s' is not "
                          "the provider's", fa_oidc_loggable(p,
                          json_string_value(iss), 200));
    }
    if (aud) {
        if ((n = aud_has(aud, aud_want)) < 0) {
            return fa_err_set(err, "idp_bad_response", "introspection aud "
                              "is not a string or an array of strings");
        }
        if (n == 0) {
            return fa_err_set(err, "wrong_aud", "aud does not contain %s",
                              aud_want);
        }
    }
    else if (!json_is_string(cid)
             || strcmp(json_string_value(cid), aud_want) != 0) {
        return fa_err_set(err, "wrong_aud", "no aud, and client_id '%s' is "
                          "not %s", fa_oidc_loggable(p, json_string_value(
                          cid), 200), aud_want);
    }
    if (scope && !json_is_string(scope)) {
        return fa_err_set(err, "idp_bad_response", "introspection scope is "
                          "not a string");
    }
    if (ex->scopes && (miss = missing_scope(p, scope
                       ? json_string_value(scope) : "", ex->scopes))) {
        return fa_err_set(err, "insufficient_scope", "the token lacks "
                          "scope %s", fa_oidc_loggable(p, miss, 100));
    }
    return APR_SUCCESS;
}

apr_status_t fa_introspect_check(apr_pool_t *p, int status, const char *body,
                                 apr_size_t len,
                                 const fa_introspect_expect_t *ex,
                                 json_t **pclaims, fa_err_t *err)
{
    json_t *claims, *active, *sub;
    apr_status_t rv;

    *pclaims = NULL;
    if (status != 200) {
        return fa_err_set(err, "idp_bad_response", "introspection endpoint "
                          "answered %d%s", status, status == 401
                          || status == 403 ? " (the client's "
                          "authentication was refused)" : "");
    }
    if (len > FA_INTROSPECT_MAX_RESPONSE
        || !(claims = fa_json_object_parse(p, body, len))) {
        return fa_err_set(err, "idp_bad_response", "introspection answer is "
                          "not a JSON object of at most %d bytes",
                          FA_INTROSPECT_MAX_RESPONSE);
    }
    active = json_object_get(claims, "active");
    if (!json_is_boolean(active)) {
        return fa_err_set(err, "idp_bad_response", "introspection answer "
                          "has no boolean active");
    }
    if (!json_is_true(active)) {
        return fa_err_set(err, "token_inactive", "the IdP says the token "
                          "is not active");
    }
    if (is_refresh_token(claims)) {
        return fa_err_set(err, "wrong_token_type", "the token is a refresh "
                          "token");
    }
    if ((rv = check_active(p, claims, ex, err)) != APR_SUCCESS) {
        return rv;
    }
    sub = json_object_get(claims, "sub");
    if (!json_is_string(sub) || !*json_string_value(sub)
        || strlen(json_string_value(sub)) > 255) {
        return fa_err_set(err, "missing_sub", "introspection answer has no "
                          "usable sub");
    }
    *pclaims = claims;
    return APR_SUCCESS;
}

apr_int64_t fa_introspect_until(json_t *claims, apr_int64_t now,
                                int max_sec)
{
    apr_int64_t exp = 0, until = now + (max_sec > 0 ? max_sec : 0);

    if (numeric_date(claims, "exp", &exp) > 0 && exp < until) {
        return exp;
    }
    return until;
}
