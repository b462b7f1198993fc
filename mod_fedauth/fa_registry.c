/* SPDX-License-Identifier: Apache-2.0 */
/* fa_registry.c - accounts and links: their records, their keys, and the
 * decision at sign-in, over any registry backend (see fa_registry.h). */
#include <string.h>
#include <apr_time.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <openssl/sha.h>

#include "fa_registry.h"
#include "fa_json.h"

/* ---- records ----------------------------------------------------------- */

static const char *const state_names[] = { "active", "disabled", "deleted" };

const char *fa_account_state_name(fa_account_state_t st)
{
    return (unsigned)st < 3 ? state_names[st] : "active";
}

fa_account_t *fa_account_new(apr_pool_t *p, const char *name)
{
    fa_account_t *a = apr_pcalloc(p, sizeof(*a));

    a->name = apr_pstrdup(p, name);
    a->state = FA_ACCOUNT_ACTIVE;
    a->roles = apr_array_make(p, 2, sizeof(const char *));
    a->links = apr_array_make(p, 2, sizeof(fa_link_t));
    a->attrs = apr_array_make(p, 2, sizeof(fa_attr_t));
    a->created = fa_now_sec();
    return a;
}

static json_t *string_array(const apr_array_header_t *a)
{
    json_t *j = json_array();
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        json_array_append_new(j, json_string(APR_ARRAY_IDX(a, i,
                                                           const char *)));
    }
    return j;
}

char *fa_account_encode(apr_pool_t *p, const fa_account_t *a,
                        apr_size_t *len)
{
    json_t *j = json_object(), *links = json_array();
    const fa_link_t *l;
    char *text, *out;
    int i;

    json_object_set_new(j, "v", json_integer(1));
    json_object_set_new(j, "name", json_string(a->name));
    json_object_set_new(j, "state",
                        json_string(fa_account_state_name(a->state)));
    if (a->idps) {
        json_object_set_new(j, "idps", string_array(a->idps));
    }
    json_object_set_new(j, "roles", string_array(a->roles));
    for (i = 0; a->links && i < a->links->nelts; i++) {
        l = &APR_ARRAY_IDX(a->links, i, fa_link_t);
        json_array_append_new(links, json_pack("{s:s, s:s}", "idp", l->idp,
                                               "sub", l->sub));
    }
    json_object_set_new(j, "links", links);
    json_object_set_new(j, "created", json_integer(a->created));
    if (a->last_signin) {
        json_object_set_new(j, "last_signin", json_integer(a->last_signin));
    }
    if (a->attrs && a->attrs->nelts) {
        json_t *attrs = json_object();
        for (i = 0; i < a->attrs->nelts; i++) {
            const fa_attr_t *at = &APR_ARRAY_IDX(a->attrs, i, fa_attr_t);
            json_object_set_new(attrs, at->name, json_string(at->value));
        }
        json_object_set_new(j, "attrs", attrs);
    }
    text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    out = apr_pstrdup(p, text ? text : "{}");
    free(text);
    *len = strlen(out);
    return out;
}

static apr_array_header_t *decode_strings(apr_pool_t *p, json_t *j)
{
    apr_array_header_t *a = apr_array_make(p, 2, sizeof(const char *));
    size_t i;

    for (i = 0; i < json_array_size(j); i++) {
        if (json_is_string(json_array_get(j, i))) {
            APR_ARRAY_PUSH(a, const char *) = apr_pstrdup(p,
                json_string_value(json_array_get(j, i)));
        }
    }
    return a;
}

apr_status_t fa_account_decode(apr_pool_t *p, const char *buf,
                               apr_size_t len, fa_account_t **pa)
{
    json_t *j = fa_json_object_parse(p, buf, len), *v, *e;
    fa_account_t *a;
    fa_link_t *l;
    const char *st;
    size_t i;

    *pa = NULL;
    if (!j || !json_is_string(json_object_get(j, "name"))) {
        return APR_EGENERAL;
    }
    a = fa_account_new(p, json_string_value(json_object_get(j, "name")));
    st = json_string_value(json_object_get(j, "state"));
    a->state = st && !strcmp(st, "disabled") ? FA_ACCOUNT_DISABLED
               : st && !strcmp(st, "deleted") ? FA_ACCOUNT_DELETED
               : FA_ACCOUNT_ACTIVE;
    if (json_is_array(v = json_object_get(j, "idps"))) {
        a->idps = decode_strings(p, v);
    }
    a->roles = decode_strings(p, json_object_get(j, "roles"));
    v = json_object_get(j, "links");
    for (i = 0; i < json_array_size(v); i++) {
        e = json_array_get(v, i);
        if (json_is_string(json_object_get(e, "idp"))
            && json_is_string(json_object_get(e, "sub"))) {
            l = apr_array_push(a->links);
            l->idp = apr_pstrdup(p, json_string_value(json_object_get(e,
                                                                   "idp")));
            l->sub = apr_pstrdup(p, json_string_value(json_object_get(e,
                                                                   "sub")));
        }
    }
    json_object_foreach(json_object_get(j, "attrs"), st, e) {
        if (json_is_string(e)) {
            fa_attr_t *at = apr_array_push(a->attrs);
            at->name = apr_pstrdup(p, st);
            at->value = apr_pstrdup(p, json_string_value(e));
        }
    }
    a->created = json_integer_value(json_object_get(j, "created"));
    a->last_signin = json_integer_value(json_object_get(j, "last_signin"));
    *pa = a;
    return APR_SUCCESS;
}

/* ---- rules ------------------------------------------------------------- */

int fa_account_idp_allowed(const fa_account_t *a, const char *idp)
{
    int i;

    if (!a->idps) {
        return 1;
    }
    for (i = 0; i < a->idps->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(a->idps, i, const char *), idp)) {
            return 1;
        }
    }
    return 0;
}

/* 1 for a byte that a file name of the directory registry holds as it
 * is (fa_registry_dir.c escapes every other one as %XX). */
static int stored_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
           || c == '@' || c == '+';
}

int fa_account_name_ok(const char *name)
{
    const unsigned char *c;
    apr_size_t n = name ? strlen(name) : 0, stored = 0;
    json_t *utf8;

    if (n == 0 || n > FA_ACCOUNT_NAME_MAX || !strcmp(name, ".")
        || !strcmp(name, "..")) {
        return 0;
    }
    for (c = (const unsigned char *)name; *c; c++) {
        if (*c < 0x20 || *c == 0x7f || *c == '/' || *c == ',') {
            return 0;
        }
        stored += stored_plain(*c) ? 1 : 3;
    }
    if (stored > FA_ACCOUNT_NAME_STORED_MAX) {
        return 0;
    }
    /* the record is JSON: the name must be UTF-8 */
    if (!(utf8 = json_string(name))) {
        return 0;
    }
    json_decref(utf8);
    return 1;
}

const char *fa_account_suffixed(apr_pool_t *p, const char *name)
{
    unsigned char rnd[4];
    apr_uint32_t v;
    apr_size_t n = 0, stored = 0, keep = 0;
    const unsigned char *c = (const unsigned char *)name;

    if (fa_random(rnd, sizeof(rnd)) != APR_SUCCESS) {
        return NULL;
    }
    v = ((apr_uint32_t)rnd[0] << 24 | (apr_uint32_t)rnd[1] << 16
         | (apr_uint32_t)rnd[2] << 8 | rnd[3]) % 1000000;
    /* the name is cut so that it stays within the rule with its 6 digits,
     * never inside a UTF-8 sequence */
    for (; c[n]; n++) {
        stored += stored_plain(c[n]) ? 1 : 3;
        if (n + 1 > FA_ACCOUNT_NAME_MAX - 6
            || stored > FA_ACCOUNT_NAME_STORED_MAX - 6) {
            break;
        }
        if ((c[n + 1] & 0xc0) != 0x80) {
            keep = n + 1;
        }
    }
    if (!c[n]) {
        keep = n;
    }
    return apr_psprintf(p, "%.*s%06u", (int)keep, name, (unsigned)v);
}

static int id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
           || c == '-';
}

apr_array_header_t *fa_registry_parse_list(apr_pool_t *p, const char *s,
                                           int ids, const char **why)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    char *copy = apr_pstrdup(p, s), *tok, *next;
    const char *c;
    apr_size_t n;

    if (!*s) {
        return a;
    }
    for (tok = copy; tok; tok = next) {
        if ((next = strchr(tok, ','))) {
            *next++ = '\0';
        }
        n = strlen(tok);
        if (n == 0 || n > (ids ? 32u : 64u)) {
            *why = apr_psprintf(p, "'%s': %s", tok, ids ? "a provider id "
                                "has 1 to 32 characters" : "a role has 1 to "
                                "64 characters");
            return NULL;
        }
        for (c = tok; *c; c++) {
            if (ids ? !id_char(*c) : (*c <= ' ' || *c == 0x7f)) {
                *why = apr_psprintf(p, "'%s': %s", tok, ids
                                    ? "a provider id is [a-z0-9_-]"
                                    : "a role has no spaces or control "
                                      "characters");
                return NULL;
            }
        }
        APR_ARRAY_PUSH(a, const char *) = tok;
    }
    return a;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *fa_account_merge_roles(apr_pool_t *p, const char *mapped,
                                   const fa_account_t *a)
{
    apr_array_header_t *all = apr_array_make(p, 8, sizeof(const char *));
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    char *copy = apr_pstrdup(p, mapped ? mapped : ""), *tok, *last = NULL;
    int i;

    if (!a->roles || a->roles->nelts == 0) {
        return mapped;
    }
    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        APR_ARRAY_PUSH(all, const char *) = tok;
    }
    apr_array_cat(all, a->roles);
    qsort(all->elts, (size_t)all->nelts, sizeof(const char *), by_string);
    for (i = 0; i < all->nelts; i++) {
        if (i == 0 || strcmp(APR_ARRAY_IDX(all, i, const char *),
                             APR_ARRAY_IDX(all, i - 1, const char *))) {
            APR_ARRAY_PUSH(out, const char *) = APR_ARRAY_IDX(all, i,
                                                              const char *);
        }
    }
    return apr_array_pstrcat(p, out, ',');
}

static fa_attr_t *attr_of(apr_array_header_t *attrs, const char *name)
{
    int i;

    for (i = 0; attrs && i < attrs->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(attrs, i, fa_attr_t).name, name)) {
            return &APR_ARRAY_IDX(attrs, i, fa_attr_t);
        }
    }
    return NULL;
}

int fa_account_set_once(apr_pool_t *p, fa_account_t *a,
                        const apr_array_header_t *set_once,
                        apr_array_header_t *session_attrs)
{
    const char *name;
    fa_attr_t *kept, *now;
    int i, changed = 0;

    for (i = 0; set_once && i < set_once->nelts; i++) {
        name = APR_ARRAY_IDX(set_once, i, const char *);
        kept = attr_of(a->attrs, name);
        now = attr_of(session_attrs, name);
        if (kept && now) {
            now->value = kept->value;
        }
        else if (kept) {
            now = apr_array_push(session_attrs);
            *now = *kept;
        }
        else if (now) {
            kept = apr_array_push(a->attrs);
            kept->name = apr_pstrdup(p, now->name);
            kept->value = apr_pstrdup(p, now->value);
            changed = 1;
        }
    }
    return changed;
}

/* ---- keys and records in the registry ----------------------------------- */

const char *fa_registry_account_key(apr_pool_t *p, const char *name)
{
    return apr_pstrcat(p, "a:", name, NULL);
}

const char *fa_registry_link_key(apr_pool_t *p, const char *idp,
                                 const char *sub)
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)sub, strlen(sub), md);
    return apr_pstrcat(p, "l:", idp, ":", fa_b64url_encode(p, md, sizeof(md)),
                       NULL);
}

apr_status_t fa_registry_unavailable(fa_registry_t *reg, fa_err_t *err,
                                     const char *what, apr_status_t rv)
{
    char buf[120];

    return fa_err_set(err, "store_unavailable", "registry (%s): cannot %s: "
                      "%s", reg->name, what, apr_strerror(rv, buf,
                                                          sizeof(buf)));
}


apr_status_t fa_registry_account_get(fa_registry_t *reg, apr_pool_t *p,
                                     const char *name, fa_account_t **pa,
                                     fa_err_t *err)
{
    char *val;
    apr_size_t len;
    apr_status_t rv;

    *pa = NULL;
    rv = reg->get(reg, fa_registry_account_key(p, name), p, &val, &len);
    if (rv == APR_NOTFOUND) {
        return rv;
    }
    if (rv != APR_SUCCESS) {
        return fa_registry_unavailable(reg, err, "read an account", rv);
    }
    if (fa_account_decode(p, val, len, pa) != APR_SUCCESS) {
        return fa_err_set(err, "registry_damaged", "account record of %s "
                          "does not decode", name);
    }
    return APR_SUCCESS;
}

apr_status_t fa_registry_account_put(fa_registry_t *reg, apr_pool_t *p,
                                     const fa_account_t *a, fa_err_t *err)
{
    apr_size_t len;
    char *rec = fa_account_encode(p, a, &len);
    apr_status_t rv = reg->put(reg, fa_registry_account_key(p, a->name), rec,
                               len, p);

    return rv == APR_SUCCESS
           ? rv : fa_registry_unavailable(reg, err, "write an account", rv);
}

#define UPDATE_ROUNDS 30

/* 0 to 2 * (round + 1) ms, at random (about 1 s over every round). */
static int pause_ms(int round)
{
    unsigned char b;

    if (fa_random(&b, 1) != APR_SUCCESS) {
        b = 128;
    }
    return (int)b * 2 * (round + 1) / 256;
}

apr_status_t fa_registry_account_update(fa_registry_t *reg, apr_pool_t *p,
                                        const char *name,
                                        fa_account_change_t change,
                                        void *baton, fa_account_t **pa,
                                        fa_err_t *err)
{
    const char *key = fa_registry_account_key(p, name);
    fa_account_t *a;
    char *old, *rec;
    apr_size_t olen, len;
    apr_status_t rv;
    int round, changed;

    for (round = 0; round < UPDATE_ROUNDS; round++) {
        rv = reg->get(reg, key, p, &old, &olen);
        if (rv == APR_NOTFOUND) {
            return rv;
        }
        if (rv != APR_SUCCESS) {
            return fa_registry_unavailable(reg, err, "read an account", rv);
        }
        if (fa_account_decode(p, old, olen, &a) != APR_SUCCESS) {
            return fa_err_set(err, "registry_damaged", "account record of "
                              "%s does not decode", name);
        }
        if ((changed = change(p, a, baton, err)) < 0) {
            return APR_EGENERAL;
        }
        if (pa) {
            *pa = a;
        }
        if (changed == 0) {
            return APR_SUCCESS;
        }
        rec = fa_account_encode(p, a, &len);
        rv = reg->replace(reg, key, old, olen, rec, len, p);
        if (rv == APR_SUCCESS) {
            return rv;
        }
        if (rv != APR_EEXIST) {
            return fa_registry_unavailable(reg, err, "write an account", rv);
        }
        /* written in between: try again after a short random pause, so
         * that writers that keep meeting spread out */
        apr_sleep(apr_time_from_msec(1 + pause_ms(round)));
    }
    return fa_err_set(err, "store_unavailable", "registry (%s): account %s "
                      "keeps changing", reg->name, name);
}

apr_status_t fa_registry_link_get(fa_registry_t *reg, apr_pool_t *p,
                                  const char *idp, const char *sub,
                                  const char **name, fa_err_t *err)
{
    char *val;
    apr_size_t len;
    json_t *j;
    apr_status_t rv;

    *name = NULL;
    rv = reg->get(reg, fa_registry_link_key(p, idp, sub), p, &val, &len);
    if (rv == APR_NOTFOUND) {
        return rv;
    }
    if (rv != APR_SUCCESS) {
        return fa_registry_unavailable(reg, err, "read a link", rv);
    }
    j = fa_json_object_parse(p, val, len);
    if (!j || !json_is_string(json_object_get(j, "account"))) {
        return fa_err_set(err, "registry_damaged", "a link record of %s "
                          "does not decode", idp);
    }
    *name = apr_pstrdup(p, json_string_value(json_object_get(j, "account")));
    return APR_SUCCESS;
}

static char *link_record(apr_pool_t *p, const char *name, const char *idp,
                         const char *sub, apr_size_t *len)
{
    json_t *j = json_pack("{s:i, s:s, s:s, s:s}", "v", 1, "account", name,
                          "idp", idp, "sub", sub);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    char *out = apr_pstrdup(p, text ? text : "{}");

    free(text);
    json_decref(j);
    *len = strlen(out);
    return out;
}

static void add_link(apr_pool_t *p, fa_account_t *a, const char *idp,
                     const char *sub)
{
    fa_link_t *l = apr_array_push(a->links);

    l->idp = apr_pstrdup(p, idp);
    l->sub = apr_pstrdup(p, sub);
}

typedef struct link_change_t {
    const char *idp;
    const char *sub;
} link_change_t;

static int add_link_change(apr_pool_t *p, fa_account_t *a, void *baton,
                           fa_err_t *err)
{
    link_change_t *l = baton;

    /* a tombstone takes no new link: fa_registry_account_delete may be
     * removing it right now (it removes one with no link) */
    if (a->state == FA_ACCOUNT_DELETED) {
        fa_err_set(err, "deleted", "account %s is deleted", a->name);
        return -1;
    }
    add_link(p, a, l->idp, l->sub);
    return 1;
}

static int remove_link_change(apr_pool_t *p, fa_account_t *a, void *baton,
                              fa_err_t *err)
{
    link_change_t *lc = baton;
    apr_array_header_t *kept = apr_array_make(p, a->links->nelts,
                                              sizeof(fa_link_t));
    fa_link_t *l;
    int i;

    (void)err;
    for (i = 0; i < a->links->nelts; i++) {
        l = &APR_ARRAY_IDX(a->links, i, fa_link_t);
        if (strcmp(l->idp, lc->idp) || strcmp(l->sub, lc->sub)) {
            *(fa_link_t *)apr_array_push(kept) = *l;
        }
    }
    a->links = kept;
    return 1;
}

apr_status_t fa_registry_link(fa_registry_t *reg, apr_pool_t *p,
                              const char *name, const char *idp,
                              const char *sub, fa_err_t *err)
{
    fa_account_t *a;
    link_change_t lc;
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    if ((rv = fa_registry_account_get(reg, p, name, &a, err))
        != APR_SUCCESS) {
        return rv;
    }
    rec = link_record(p, name, idp, sub, &len);
    rv = reg->create(reg, fa_registry_link_key(p, idp, sub), rec, len, p);
    if (rv == APR_EEXIST) {
        return rv;
    }
    if (rv != APR_SUCCESS) {
        return fa_registry_unavailable(reg, err, "write a link", rv);
    }
    lc.idp = idp;
    lc.sub = sub;
    rv = fa_registry_account_update(reg, p, name, add_link_change, &lc, NULL,
                                    err);
    if (rv != APR_SUCCESS) {
        /* the account went (or cannot be written): no link may name it */
        reg->del(reg, fa_registry_link_key(p, idp, sub), p);
    }
    return rv;
}

apr_status_t fa_registry_unlink(fa_registry_t *reg, apr_pool_t *p,
                                const char *idp, const char *sub,
                                const char **name, fa_err_t *err)
{
    fa_account_t *a;
    link_change_t lc;
    apr_status_t rv;

    if ((rv = fa_registry_link_get(reg, p, idp, sub, name, err))
        != APR_SUCCESS) {
        return rv;
    }
    rv = reg->del(reg, fa_registry_link_key(p, idp, sub), p);
    if (rv != APR_SUCCESS) {
        return fa_registry_unavailable(reg, err, "delete a link", rv);
    }
    lc.idp = idp;
    lc.sub = sub;
    rv = fa_registry_account_update(reg, p, *name, remove_link_change, &lc,
                                    &a, err);
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (a->state == FA_ACCOUNT_DELETED && a->links->nelts == 0) {
        rv = reg->del(reg, fa_registry_account_key(p, a->name), p);
        return rv == APR_SUCCESS ? rv : fa_registry_unavailable(reg, err,
                                                    "delete an account", rv);
    }
    return APR_SUCCESS;
}

static int delete_change(apr_pool_t *p, fa_account_t *a, void *baton,
                         fa_err_t *err)
{
    (void)p;
    (void)baton;
    (void)err;
    if (a->state == FA_ACCOUNT_DELETED) {
        return 0;                 /* nothing to write: maybe to remove */
    }
    a->state = FA_ACCOUNT_DELETED;
    return 1;
}

apr_status_t fa_registry_account_delete(fa_registry_t *reg, apr_pool_t *p,
                                        const char *name, fa_account_t **pa,
                                        int *removed, fa_err_t *err)
{
    apr_status_t rv;

    *removed = 0;
    rv = fa_registry_account_update(reg, p, name, delete_change, NULL, pa,
                                    err);
    if (rv != APR_SUCCESS || (*pa)->links->nelts > 0) {
        return rv;
    }
    /* no identity is linked to it: no tombstone is needed */
    rv = reg->del(reg, fa_registry_account_key(p, name), p);
    if (rv != APR_SUCCESS) {
        return fa_registry_unavailable(reg, err, "delete an account", rv);
    }
    *removed = 1;
    return APR_SUCCESS;
}

apr_status_t fa_registry_account_names(fa_registry_t *reg, apr_pool_t *p,
                                       apr_array_header_t **names,
                                       fa_err_t *err)
{
    apr_array_header_t *keys;
    apr_status_t rv = reg->list(reg, "a:", p, &keys);
    int i;

    if (rv != APR_SUCCESS) {
        return fa_registry_unavailable(reg, err, "list the accounts", rv);
    }
    *names = apr_array_make(p, keys->nelts, sizeof(const char *));
    for (i = 0; i < keys->nelts; i++) {
        APR_ARRAY_PUSH(*names, const char *) =
            APR_ARRAY_IDX(keys, i, const char *) + 2;
    }
    return APR_SUCCESS;
}

/* ---- sign-in ----------------------------------------------------------- */

apr_status_t fa_registry_check(const fa_account_t *a, const char *idp,
                               fa_err_t *err)
{
    if (a->state == FA_ACCOUNT_DELETED) {
        return fa_err_set(err, "account_deleted", "account %s was deleted",
                          a->name);
    }
    if (a->state == FA_ACCOUNT_DISABLED) {
        return fa_err_set(err, "account_disabled", "account %s is disabled",
                          a->name);
    }
    if (!fa_account_idp_allowed(a, idp)) {
        return fa_err_set(err, "not_allowed_idp", "account %s may not sign "
                          "in through %s", a->name, idp);
    }
    return APR_SUCCESS;
}

/* A new account for idp/sub named wanted, or wanted with a suffix: the
 * account record first (create-if-absent makes the name ours), then the
 * link. APR_EEXIST when another sign-in of the same identity linked it
 * first (our account is removed again). */
static apr_status_t register_account(fa_registry_t *reg, apr_pool_t *p,
                                     const char *idp, const char *sub,
                                     const char *wanted, fa_account_t **pa,
                                     fa_err_t *err)
{
    fa_account_t *a;
    const char *name = wanted;
    char *rec;
    apr_size_t len;
    apr_status_t rv = APR_EEXIST;
    int tries;

    for (tries = 0; tries < 20; tries++) {
        if (tries > 0 && !(name = fa_account_suffixed(p, wanted))) {
            return fa_err_set(err, "internal_error", "no random numbers");
        }
        a = fa_account_new(p, name);
        a->last_signin = a->created;
        add_link(p, a, idp, sub);
        rec = fa_account_encode(p, a, &len);
        rv = reg->create(reg, fa_registry_account_key(p, name), rec, len, p);
        if (rv != APR_EEXIST) {
            break;
        }
    }
    if (rv != APR_SUCCESS) {
        return fa_registry_unavailable(reg, err, "create an account", rv);
    }
    rec = link_record(p, name, idp, sub, &len);
    rv = reg->create(reg, fa_registry_link_key(p, idp, sub), rec, len, p);
    if (rv != APR_SUCCESS) {
        reg->del(reg, fa_registry_account_key(p, name), p);
        return rv == APR_EEXIST
               ? rv : fa_registry_unavailable(reg, err, "write a link", rv);
    }
    *pa = a;
    return APR_SUCCESS;
}

apr_status_t fa_registry_signin(fa_registry_t *reg, apr_pool_t *p,
                                const char *idp, const char *sub,
                                const char *wanted, int reg_on,
                                fa_account_t **pa, int *created,
                                fa_err_t *err)
{
    const char *name;
    apr_status_t rv;
    int round;

    *pa = NULL;
    *created = 0;
    for (round = 0; round < 3; round++) {
        rv = fa_registry_link_get(reg, p, idp, sub, &name, err);
        if (rv == APR_SUCCESS) {
            rv = fa_registry_account_get(reg, p, name, pa, err);
            if (rv == APR_NOTFOUND) {
                return fa_err_set(err, "registry_damaged", "the link of "
                                  "this identity names account %s, which "
                                  "does not exist", name);
            }
            return rv != APR_SUCCESS ? rv : fa_registry_check(*pa, idp,
                                                               err);
        }
        if (rv != APR_NOTFOUND) {
            return rv;
        }
        if (!reg_on) {
            return fa_err_set(err, "not_registered", "no account is linked "
                              "to this identity of %s, and FedAuthRegister "
                              "is Off", idp);
        }
        if (!fa_account_name_ok(wanted)) {
            return fa_err_set(err, "invalid_username", "the user name is "
                              "not usable as an account name ("
                              FA_ACCOUNT_NAME_RULE ")");
        }
        rv = register_account(reg, p, idp, sub, wanted, pa, err);
        if (rv == APR_SUCCESS) {
            *created = 1;
            return rv;
        }
        if (rv != APR_EEXIST) {
            return rv;
        }
    }
    return fa_err_set(err, "store_unavailable", "registry (%s): the link "
                      "of this identity keeps changing", reg->name);
}
