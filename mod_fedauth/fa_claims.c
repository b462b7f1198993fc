/* SPDX-License-Identifier: Apache-2.0 */
/* fa_claims.c - claims to user name, attributes and roles; see
 * fa_claims.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fa_claims.h"
#include "fa_log.h"
#include "fa_json.h"

#define MAX_PATH_DEPTH 8
#define MAX_GROUPS 1024

json_t *fa_claims_get(json_t *claims, const char *name)
{
    json_t *v = json_object_get(claims, name);
    const char *seg, *dot;
    char key[256];
    int depth;

    if (v || !strchr(name, '.')) {
        return v;
    }
    v = claims;
    for (seg = name, depth = 0; v && depth < MAX_PATH_DEPTH; depth++) {
        dot = strchr(seg, '.');
        if (!dot) {
            return json_object_get(v, seg);
        }
        if ((apr_size_t)(dot - seg) >= sizeof(key) || dot == seg) {
            return NULL;
        }
        memcpy(key, seg, (apr_size_t)(dot - seg));
        key[dot - seg] = '\0';
        v = json_object_get(v, key);
        seg = dot + 1;
    }
    return NULL;
}

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

/* Ready for a header and an environment variable: no control characters
 * (TAB aside), at most FA_CLAIMS_VALUE_MAX bytes, not cut inside a UTF-8
 * sequence. */
static const char *safe_value(apr_pool_t *p, const char *v)
{
    apr_size_t len, i;
    char *out;

    if (!v) {
        return NULL;
    }
    len = strlen(v);
    if (len > FA_CLAIMS_VALUE_MAX) {
        len = FA_CLAIMS_VALUE_MAX;
        while (len > 0 && ((unsigned char)v[len] & 0xc0) == 0x80) {
            len--;
        }
    }
    out = apr_pstrmemdup(p, v, len);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            out[i] = ' ';
        }
    }
    return out;
}

static const char *claim_str(json_t *claims, const char *name)
{
    json_t *v = fa_claims_get(claims, name);

    return json_is_string(v) && json_string_length(v) > 0
           ? json_string_value(v) : NULL;
}

/* 1 when v has a control character (TAB included): such a value is
 * never a key or a user name, since the form made safe for a header would
 * equal another value's. */
static int has_control(const char *v)
{
    const unsigned char *c;

    for (c = (const unsigned char *)v; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) {
            return 1;
        }
    }
    return 0;
}

/* 1 when candidate v of claim name may become the user name as it is:
 * no control characters, and an email has exactly one '@' (with several,
 * the user part and the domain depend on who splits it). */
static int username_ok(const char *name, const char *v)
{
    const char *at = strchr(v, '@');

    if (strlen(v) > 256 || has_control(v)) {
        return 0;
    }
    return strcmp(name, "email") || (at && !strchr(at + 1, '@'));
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
        if (!v || !username_ok(name, v)) {
            continue;
        }
        if (!strcmp(name, "email")
            && !json_is_true(json_object_get(claims, "email_verified"))) {
            continue;
        }
        return normalize_user(p, v);
    }
    return apr_pstrcat(p, fa_claims_render(p, fa_claims_get(claims,
                           conf->identifying_claim ? conf->identifying_claim
                                                   : "sub")),
                       "@", conf->idp_id, NULL);
}

/* The groups claim as a list: an array of strings, or one string of
 * groups separated by spaces or commas. */
static apr_array_header_t *groups_of(apr_pool_t *p, json_t *v)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    char *copy, *tok, *last;
    json_t *item;
    size_t i;

    if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (json_is_string(item) && out->nelts < MAX_GROUPS) {
                APR_ARRAY_PUSH(out, const char *) = json_string_value(item);
            }
        }
    }
    else if (json_is_string(v)) {
        copy = apr_pstrdup(p, json_string_value(v));
        for (tok = apr_strtok(copy, " ,", &last);
             tok && out->nelts < MAX_GROUPS;
             tok = apr_strtok(NULL, " ,", &last)) {
            APR_ARRAY_PUSH(out, const char *) = tok;
        }
    }
    return out;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *fa_claims_roles(apr_pool_t *p, const fa_claims_conf_t *conf,
                            json_t *claims)
{
    apr_array_header_t *groups, *roles;
    const fa_group_map_t *gm;
    int i, j, n = 0;

    roles = apr_array_make(p, 4, sizeof(const char *));
    if ((conf->groups_claim || conf->groups) && conf->group_maps) {
        groups = conf->groups ? (apr_array_header_t *)conf->groups
                 : groups_of(p, fa_claims_get(claims, conf->groups_claim));
        for (i = 0; i < conf->group_maps->nelts; i++) {
            gm = &APR_ARRAY_IDX(conf->group_maps, i, fa_group_map_t);
            for (j = 0; j < groups->nelts; j++) {
                if (!strcmp(gm->group,
                            APR_ARRAY_IDX(groups, j, const char *))) {
                    APR_ARRAY_PUSH(roles, const char *) = gm->role;
                    break;
                }
            }
        }
    }
    if (roles->nelts == 0) {
        if (conf->default_role) {
            return conf->default_role;
        }
        return conf->fallback_role ? conf->fallback_role : "";
    }
    qsort(roles->elts, (size_t)roles->nelts, sizeof(const char *),
          by_string);
    for (i = 1; i < roles->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(roles, i, const char *),
                   APR_ARRAY_IDX(roles, n, const char *))) {
            APR_ARRAY_IDX(roles, ++n, const char *) =
                APR_ARRAY_IDX(roles, i, const char *);
        }
    }
    roles->nelts = n + 1;
    return apr_array_pstrcat(p, roles, ',');
}

apr_status_t fa_claims_merge_userinfo(json_t *claims, json_t *userinfo,
                                      fa_err_t *err)
{
    json_t *sub = json_object_get(userinfo, "sub");
    json_t *id_sub = json_object_get(claims, "sub");
    const char *key;
    json_t *value;

    if (!json_is_object(userinfo) || !json_is_string(sub)
        || !json_is_string(id_sub)
        || !json_equal(sub, id_sub)) {
        return fa_err_set(err, "userinfo_sub_mismatch", "the userinfo "
                          "response is not about the ID token's sub");
    }
    json_object_foreach(userinfo, key, value) {
        if (!json_object_get(claims, key)) {
            json_object_set(claims, key, value);
        }
    }
    return APR_SUCCESS;
}

/* Claims of an ID token that describe the sign-in, not the user: kept
 * from it when userinfo is read again. */
static const char *const signin_claims[] = {
    "iss", "aud", "azp", "exp", "iat", "nbf", "auth_time", "nonce", "acr",
    "amr", "sid", "tid", "at_hash", "c_hash", NULL
};

json_t *fa_claims_reread(apr_pool_t *p, const fa_claims_conf_t *conf,
                         json_t *id_claims, json_t *userinfo,
                         const char *identity)
{
    const char *id_claim = conf->identifying_claim
                           ? conf->identifying_claim : "sub";
    json_t *out = fa_json_pool_own(p, json_object()), *v;
    int i;

    if (!out) {
        return NULL;
    }
    json_object_update(out, userinfo);
    /* The sign-in's own claims come from its verified ID token, as at
     * the sign-in (where the ID token wins). */
    for (i = 0; id_claims && signin_claims[i]; i++) {
        if ((v = json_object_get(id_claims, signin_claims[i])) != NULL) {
            json_object_set(out, signin_claims[i], v);
        }
    }
    if (!fa_claims_get(out, id_claim) && identity) {
        json_object_set_new(out, id_claim, json_string(identity));
    }
    return out;
}

/* Adds or replaces attribute name. */
static void set_attr(apr_pool_t *p, apr_array_header_t *attrs,
                     const char *name, const char *value)
{
    fa_attr_t *a;
    int i;

    if (!value) {
        return;
    }
    value = safe_value(p, value);
    for (i = 0; i < attrs->nelts; i++) {
        a = &APR_ARRAY_IDX(attrs, i, fa_attr_t);
        if (!strcmp(a->name, name)) {
            a->value = value;
            return;
        }
    }
    a = apr_array_push(attrs);
    a->name = name;
    a->value = value;
}

/* Keeps value v of claim name unless the claim is full: at most
 * FA_CLAIMS_KEPT_VALUES values and FA_CLAIMS_VALUE_MAX bytes of values per
 * claim. A value that does not fit is left out whole, never cut: a cut
 * value could equal what a Require asks for. */
static void keep_value(fa_session_t *s, const char *name, const char *v,
                       int *kept, apr_size_t *used, int *left_out)
{
    apr_size_t len = strlen(v);
    fa_attr_t *a;

    if (*kept >= FA_CLAIMS_KEPT_VALUES
        || len > FA_CLAIMS_VALUE_MAX - *used) {
        (*left_out)++;
        return;
    }
    a = apr_array_push(s->claims);
    a->name = name;
    a->value = v;
    (*kept)++;
    *used += len;
}

/* The values Require fedauth-claim compares with: one entry per array
 * element, else the rendered value; bounded per claim (keep_value), so a
 * huge claim cannot make the session too large for the store. */
static void keep_claims(apr_pool_t *p, const fa_claims_conf_t *conf,
                        json_t *claims, fa_session_t *s)
{
    const char *name, *v;
    json_t *value, *item;
    apr_size_t used;
    size_t j;
    int i, kept, left_out;

    if (!conf->kept_claims) {
        return;
    }
    s->claims = apr_array_make(p, conf->kept_claims->nelts,
                               sizeof(fa_attr_t));
    for (i = 0; i < conf->kept_claims->nelts; i++) {
        name = APR_ARRAY_IDX(conf->kept_claims, i, const char *);
        value = fa_claims_get(claims, name);
        kept = left_out = 0;
        used = 0;
        if (json_is_array(value)) {
            json_array_foreach(value, j, item) {
                if ((v = fa_claims_render(p, item)) != NULL) {
                    keep_value(s, name, v, &kept, &used, &left_out);
                }
            }
        }
        else if ((v = fa_claims_render(p, value)) != NULL) {
            keep_value(s, name, v, &kept, &used, &left_out);
        }
        if (left_out) {
            fa_log(FA_LOG_INFO, FALOGNO(01700) "user %.64s: %d value(s) "
                   "of claim %.64s not kept for Require fedauth-claim (over "
                   "%d values or %d bytes per claim), %d kept",
                   s->user ? s->user : "-", left_out, name,
                   FA_CLAIMS_KEPT_VALUES, FA_CLAIMS_VALUE_MAX, kept);
        }
    }
}

/* 1 when the claim's value (or, for an array, one of its elements)
 * renders as want. */
static int claim_has(apr_pool_t *p, json_t *v, const char *want)
{
    const char *text;
    size_t i;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            if (claim_has(p, json_array_get(v, i), want)) {
                return 1;
            }
        }
        return 0;
    }
    text = json_is_string(v) ? json_string_value(v) : fa_claims_render(p, v);
    return text && !strcmp(text, want);
}

const char *fa_claims_value_map(apr_pool_t *p, const fa_claims_conf_t *conf,
                                json_t *claims, const char *attr)
{
    const fa_value_map_t *vm, *best = NULL, *dflt = NULL;
    int i;

    for (i = 0; conf->value_maps && i < conf->value_maps->nelts; i++) {
        vm = &APR_ARRAY_IDX(conf->value_maps, i, fa_value_map_t);
        if (strcmp(vm->attr, attr)) {
            continue;
        }
        if (!vm->claim) {
            dflt = vm;
        }
        else if ((!best || vm->priority < best->priority)
                 && claim_has(p, fa_claims_get(claims, vm->claim),
                              vm->value)) {
            best = vm;
        }
    }
    return best ? best->result : dflt ? dflt->result : NULL;
}

/* Every attribute that has ValueMap rules gets what they give. */
static void value_maps(apr_pool_t *p, const fa_claims_conf_t *conf,
                       json_t *claims, apr_array_header_t *attrs)
{
    const fa_value_map_t *vm;
    int i, j, seen;

    for (i = 0; conf->value_maps && i < conf->value_maps->nelts; i++) {
        vm = &APR_ARRAY_IDX(conf->value_maps, i, fa_value_map_t);
        for (seen = 0, j = 0; j < i && !seen; j++) {
            seen = !strcmp(APR_ARRAY_IDX(conf->value_maps, j,
                                         fa_value_map_t).attr, vm->attr);
        }
        if (!seen) {
            set_attr(p, attrs, vm->attr,
                     fa_claims_value_map(p, conf, claims, vm->attr));
        }
    }
}

/* The identity at the IdP, exactly as sent: the key of the registry's
 * link, of the sessions-by-sub index and of the attempt log. A string (or
 * a whole number, as its digits) of 1 to 255 bytes without control
 * characters; anything else is refused, never rewritten into a key that
 * another identity may already have. */
static apr_status_t identity_of(apr_pool_t *p, json_t *v, const char *claim,
                                const char **out, fa_err_t *err)
{
    const char *id = json_is_string(v) ? json_string_value(v)
                     : json_is_integer(v) ? fa_claims_render(p, v) : NULL;

    *out = NULL;
    if (!v || (json_is_string(v) && !*id)) {
        return fa_err_set(err, "missing_sub",
                          "the identifying claim %s has no usable value",
                          claim);
    }
    if (!id || strlen(id) > 255 || has_control(id)
        || (json_is_string(v) && json_string_length(v) != strlen(id))) {
        return fa_err_set(err, "invalid_sub", "the identifying claim %s is "
                          "not a string of 1 to 255 bytes without control "
                          "characters (or a whole number)", claim);
    }
    *out = apr_pstrdup(p, id);
    return APR_SUCCESS;
}

apr_status_t fa_claims_map(apr_pool_t *p, const fa_claims_conf_t *conf,
                           json_t *claims, fa_session_t *s, fa_err_t *err)
{
    const char *id_claim = conf->identifying_claim
                           ? conf->identifying_claim : "sub";
    json_t *verified = json_object_get(claims, "email_verified");
    const fa_claim_map_t *cm;
    int i;

    if (identity_of(p, fa_claims_get(claims, id_claim), id_claim, &s->sub,
                    err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    s->user = safe_value(p, fa_claims_username(p, conf, claims));
    s->attrs = apr_array_make(p, 8, sizeof(fa_attr_t));
    /* An email the IdP says is unverified is not passed on as EMAIL. */
    if (!verified || json_is_true(verified)) {
        set_attr(p, s->attrs, "EMAIL", claim_str(claims, "email"));
    }
    set_attr(p, s->attrs, "GIVEN_NAME", claim_str(claims, "given_name"));
    set_attr(p, s->attrs, "FAMILY_NAME", claim_str(claims, "family_name"));
    set_attr(p, s->attrs, "LANGUAGE", claim_str(claims, "locale"));
    for (i = 0; conf->claim_maps && i < conf->claim_maps->nelts; i++) {
        cm = &APR_ARRAY_IDX(conf->claim_maps, i, fa_claim_map_t);
        set_attr(p, s->attrs, cm->attr,
                 fa_claims_render(p, fa_claims_get(claims, cm->claim)));
    }
    value_maps(p, conf, claims, s->attrs);
    s->roles = fa_claims_roles(p, conf, claims);
    if (strlen(s->roles) > FA_CLAIMS_VALUE_MAX) {
        return fa_err_set(err, "too_many_roles", "the roles of %.64s are "
                          "%lu bytes, over %d", s->user,
                          (unsigned long)strlen(s->roles),
                          FA_CLAIMS_VALUE_MAX);
    }
    s->roles = safe_value(p, s->roles);
    keep_claims(p, conf, claims, s);
    return APR_SUCCESS;
}

/* ---- the session budget ------------------------------------------------ */

/* A candidate for leaving out: a kept claim (all entries of that name) or
 * an attribute. */
typedef struct shed_item_t {
    const char *name;
    apr_size_t size;
    int values;
    int gone;
} shed_item_t;

static apr_size_t pair_size(const fa_attr_t *a)
{
    return fa_session_field_size(strlen(a->name))
           + (a->value ? fa_session_field_size(strlen(a->value)) : 0);
}

/* The items of a list of fa_attr_t, by name (a kept claim's values share
 * one name); their sizes added to *sum. */
static apr_array_header_t *items_of(apr_pool_t *p,
                                    const apr_array_header_t *list,
                                    apr_size_t *sum)
{
    apr_array_header_t *items = apr_array_make(p, 8, sizeof(shed_item_t));
    const fa_attr_t *a;
    shed_item_t *it;
    int i, j;

    for (i = 0; list && i < list->nelts; i++) {
        a = &APR_ARRAY_IDX(list, i, fa_attr_t);
        for (j = 0, it = NULL; j < items->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(items, j, shed_item_t).name, a->name)) {
                it = &APR_ARRAY_IDX(items, j, shed_item_t);
                break;
            }
        }
        if (!it) {
            it = apr_array_push(items);
            it->name = a->name;
            it->size = 0;
            it->values = 0;
            it->gone = 0;
        }
        it->size += pair_size(a);
        it->values++;
        *sum += pair_size(a);
    }
    return items;
}

/* Leaves out the largest items (of equal sizes, the last) while *total is
 * over budget, recording each in shed. */
static void shed_largest(apr_array_header_t *items, fa_shed_kind_t kind,
                         apr_size_t budget, apr_size_t *total,
                         apr_array_header_t *shed)
{
    shed_item_t *it, *big;
    fa_shed_t *out;
    int i;

    while (*total > budget) {
        for (i = 0, big = NULL; i < items->nelts; i++) {
            it = &APR_ARRAY_IDX(items, i, shed_item_t);
            if (!it->gone && (!big || it->size >= big->size)) {
                big = it;
            }
        }
        if (!big) {
            return;
        }
        big->gone = 1;
        *total -= big->size;
        out = apr_array_push(shed);
        out->kind = kind;
        out->name = big->name;
        out->size = big->size;
        out->values = big->values;
    }
}

/* The entries of list whose item was not left out. */
static apr_array_header_t *without_gone(apr_pool_t *p,
                                        const apr_array_header_t *list,
                                        const apr_array_header_t *items)
{
    apr_array_header_t *out = apr_array_make(p, list->nelts > 0
                                             ? list->nelts : 1,
                                             sizeof(fa_attr_t));
    const fa_attr_t *a;
    int i, j, gone;

    for (i = 0; i < list->nelts; i++) {
        a = &APR_ARRAY_IDX(list, i, fa_attr_t);
        for (j = 0, gone = 0; j < items->nelts; j++) {
            const shed_item_t *it = &APR_ARRAY_IDX(items, j, shed_item_t);
            if (!strcmp(it->name, a->name)) {
                gone = it->gone;
                break;
            }
        }
        if (!gone) {
            *(fa_attr_t *)apr_array_push(out) = *a;
        }
    }
    return out;
}

/* Bytes the access and refresh tokens (and the expiry) take in a record. */
static apr_size_t tokens_size(const fa_session_t *s)
{
    apr_size_t n = 0;
    char num[24];

    if (s->access_token) {
        n += fa_session_field_size(strlen(s->access_token));
        n += fa_session_field_size((apr_size_t)apr_snprintf(num, sizeof(num),
                                   "%" APR_INT64_T_FMT, s->access_exp));
    }
    if (s->refresh_token) {
        n += fa_session_field_size(strlen(s->refresh_token));
    }
    return n;
}

static void shed_one(apr_array_header_t *shed, fa_shed_kind_t kind,
                     apr_size_t size)
{
    fa_shed_t *out = apr_array_push(shed);

    out->kind = kind;
    out->name = NULL;
    out->size = size;
    out->values = 1;
}

apr_status_t fa_claims_fit(apr_pool_t *p, fa_session_t *s, apr_size_t budget,
                           apr_array_header_t **shed, fa_err_t *err)
{
    apr_array_header_t *claim_items, *attr_items;
    apr_size_t total, token = 0, tokens, sheddable = 0;
    char *rec;

    *shed = apr_array_make(p, 4, sizeof(fa_shed_t));
    fa_session_encode(p, s, &rec, &total);
    if (total <= budget) {
        return APR_SUCCESS;
    }
    if (s->id_token) {
        /* its field and the head field that comes with it */
        const char *id_token = s->id_token;
        apr_size_t without;

        s->id_token = NULL;
        fa_session_encode(p, s, &rec, &without);
        s->id_token = id_token;
        token = total - without;
    }
    tokens = tokens_size(s);
    claim_items = items_of(p, s->claims, &sheddable);
    attr_items = items_of(p, s->attrs, &sheddable);
    if (total - token - tokens - sheddable > budget) {
        return fa_err_set(err, "session_too_large", "the session of %.64s "
                          "would be %lu bytes without ID token, tokens, "
                          "kept claims and attributes, over %lu", s->user,
                          (unsigned long)(total - token - tokens
                                          - sheddable),
                          (unsigned long)budget);
    }
    if (s->id_token) {
        total -= token;
        s->id_token = NULL;
        shed_one(*shed, FA_SHED_ID_TOKEN, token);
    }
    if (total > budget && tokens) {
        total -= tokens;
        s->access_token = s->refresh_token = NULL;
        s->access_exp = 0;
        shed_one(*shed, FA_SHED_TOKENS, tokens);
    }
    shed_largest(claim_items, FA_SHED_CLAIM, budget, &total, *shed);
    shed_largest(attr_items, FA_SHED_ATTR, budget, &total, *shed);
    if (s->claims) {
        s->claims = without_gone(p, s->claims, claim_items);
    }
    if (s->attrs) {
        s->attrs = without_gone(p, s->attrs, attr_items);
    }
    return APR_SUCCESS;
}
