/* SPDX-License-Identifier: Apache-2.0 */
/* fa_apppass.c - app passwords: the secret's form, its scrypt hash, the
 * record and its place in the registry (see fa_apppass.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "fa_apppass.h"
#include "fa_json.h"

/* lower-case Crockford base32: no i, l, o, u */
static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* n characters of base32 from the low 5 bits of each random byte. */
static apr_status_t random_chars(char *out, apr_size_t n)
{
    unsigned char b[FA_APPPASS_BODY_LEN];
    apr_size_t i;

    if (n > sizeof(b) || fa_random(b, n) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < n; i++) {
        out[i] = alphabet[b[i] & 31];
    }
    memset(b, 0, sizeof(b));
    return APR_SUCCESS;
}

/* The check characters of the len bytes at s: 20 bits of SHA-256. */
static void check_chars(const char *s, apr_size_t len, char *out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    apr_uint32_t v;
    int i;

    SHA256((const unsigned char *)s, len, md);
    v = ((apr_uint32_t)md[0] << 12) | ((apr_uint32_t)md[1] << 4)
        | (md[2] >> 4);
    for (i = FA_APPPASS_CHECK_LEN - 1; i >= 0; i--) {
        out[i] = alphabet[v & 31];
        v >>= 5;
    }
}

apr_status_t fa_apppass_secret_new(apr_pool_t *p, char **secret,
                                   const char **id)
{
    char *s = apr_pcalloc(p, FA_APPPASS_LEN + 1), *at = s;

    memcpy(at, FA_APPPASS_PREFIX, 4);
    at += 4;
    if (random_chars(at, FA_APPPASS_ID_LEN) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    at += FA_APPPASS_ID_LEN;
    *at++ = '_';
    if (random_chars(at, FA_APPPASS_BODY_LEN) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    at += FA_APPPASS_BODY_LEN;
    check_chars(s, (apr_size_t)(at - s), at);
    *secret = s;
    *id = apr_pstrmemdup(p, s + 4, FA_APPPASS_ID_LEN);
    return APR_SUCCESS;
}

static int in_alphabet(const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (!s[i] || !strchr(alphabet, s[i])) {
            return 0;
        }
    }
    return 1;
}

int fa_apppass_secret_parse(const char *s, apr_size_t len, char *id)
{
    char check[FA_APPPASS_CHECK_LEN];
    apr_size_t body = FA_APPPASS_LEN - FA_APPPASS_CHECK_LEN;

    if (len != FA_APPPASS_LEN || memcmp(s, FA_APPPASS_PREFIX, 4)
        || s[4 + FA_APPPASS_ID_LEN] != '_'
        || !in_alphabet(s + 4, FA_APPPASS_ID_LEN)
        || !in_alphabet(s + 5 + FA_APPPASS_ID_LEN,
                        FA_APPPASS_BODY_LEN + FA_APPPASS_CHECK_LEN)) {
        return 0;
    }
    check_chars(s, body, check);
    if (!fa_ct_equal(check, s + body, FA_APPPASS_CHECK_LEN)) {
        return 0;
    }
    memcpy(id, s + 4, FA_APPPASS_ID_LEN);
    id[FA_APPPASS_ID_LEN] = '\0';
    return 1;
}

int fa_apppass_label_ok(const char *label)
{
    apr_size_t n = strlen(label);

    return n >= 1 && n <= FA_APPPASS_LABEL_MAX
           && strspn(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                     "TUVWXYZ0123456789._-") == n;
}

/* ---- the hash ------------------------------------------------------------ */

static int cost_ok(int log_n, int r, int p)
{
    return log_n >= 10 && log_n <= 20 && r >= 1 && r <= 32 && p >= 1
           && p <= 4;
}

static int scrypt(const char *secret, apr_size_t len,
                  const unsigned char *salt, int log_n, int r, int p,
                  unsigned char *out)
{
    apr_uint64_t n = (apr_uint64_t)1 << log_n;
    /* what scrypt needs (128 r N, plus 128 r p) and some room */
    apr_uint64_t maxmem = 128 * (apr_uint64_t)r * (n + (apr_uint64_t)p)
                          + 1024 * 1024;

    return EVP_PBE_scrypt(secret, len, salt, FA_APPPASS_SALT_LEN, n,
                          (apr_uint64_t)r, (apr_uint64_t)p, maxmem, out,
                          FA_APPPASS_HASH_LEN) == 1;
}

apr_status_t fa_apppass_hash(fa_apppass_t *ap, const char *secret,
                             apr_size_t len, fa_err_t *err)
{
    if (!ap->log_n) {
        ap->log_n = FA_APPPASS_LOG_N;
        ap->r = FA_APPPASS_R;
        ap->p = FA_APPPASS_P;
    }
    if (!cost_ok(ap->log_n, ap->r, ap->p)) {
        return fa_err_set(err, "internal_error", "scrypt cost out of "
                          "bounds");
    }
    if (fa_random(ap->salt, sizeof(ap->salt)) != APR_SUCCESS) {
        return fa_err_set(err, "internal_error", "no random salt");
    }
    if (!scrypt(secret, len, ap->salt, ap->log_n, ap->r, ap->p, ap->hash)) {
        return fa_err_set(err, "internal_error", "scrypt failed");
    }
    return APR_SUCCESS;
}

int fa_apppass_verify(const fa_apppass_t *ap, const char *secret,
                      apr_size_t len)
{
    unsigned char h[FA_APPPASS_HASH_LEN];
    int ok;

    if (!cost_ok(ap->log_n, ap->r, ap->p)
        || !scrypt(secret, len, ap->salt, ap->log_n, ap->r, ap->p, h)) {
        return 0;
    }
    ok = fa_ct_equal(h, ap->hash, sizeof(h));
    memset(h, 0, sizeof(h));
    return ok;
}

void fa_apppass_dummy(const char *secret, apr_size_t len)
{
    static const unsigned char salt[FA_APPPASS_SALT_LEN];
    unsigned char h[FA_APPPASS_HASH_LEN];

    scrypt(secret, len, salt, FA_APPPASS_LOG_N, FA_APPPASS_R, FA_APPPASS_P,
           h);
}

/* ---- the record ---------------------------------------------------------- */

char *fa_apppass_encode(apr_pool_t *p, const fa_apppass_t *ap,
                        apr_size_t *len)
{
    json_t *j = json_object(), *roles;
    char *text, *out;
    int i;

    json_object_set_new(j, "v", json_integer(1));
    json_object_set_new(j, "account", json_string(ap->account));
    json_object_set_new(j, "id", json_string(ap->id));
    json_object_set_new(j, "label", json_string(ap->label));
    json_object_set_new(j, "created", json_integer(ap->created));
    json_object_set_new(j, "expires", json_integer(ap->expires));
    if (ap->roles) {
        roles = json_array();
        for (i = 0; i < ap->roles->nelts; i++) {
            json_array_append_new(roles, json_string(
                APR_ARRAY_IDX(ap->roles, i, const char *)));
        }
        json_object_set_new(j, "roles", roles);
    }
    json_object_set_new(j, "kdf", json_string("scrypt"));
    json_object_set_new(j, "ln", json_integer(ap->log_n));
    json_object_set_new(j, "r", json_integer(ap->r));
    json_object_set_new(j, "p", json_integer(ap->p));
    json_object_set_new(j, "salt", json_string(fa_b64url_encode(p, ap->salt,
                        sizeof(ap->salt))));
    json_object_set_new(j, "hash", json_string(fa_b64url_encode(p, ap->hash,
                        sizeof(ap->hash))));
    text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    out = apr_pstrdup(p, text ? text : "{}");
    free(text);
    *len = strlen(out);
    return out;
}

static const char *str_of(apr_pool_t *p, json_t *j, const char *name)
{
    const char *v = json_string_value(json_object_get(j, name));

    return v ? apr_pstrdup(p, v) : NULL;
}

static int bytes_of(json_t *j, const char *name, unsigned char *out,
                    apr_size_t n)
{
    const char *v = json_string_value(json_object_get(j, name));
    apr_size_t got;

    return v && fa_b64url_decode_buf(v, strlen(v), out, n, &got)
                == APR_SUCCESS && got == n;
}

apr_status_t fa_apppass_decode(apr_pool_t *p, const char *buf,
                               apr_size_t len, fa_apppass_t **pap)
{
    json_t *j = fa_json_object_parse(p, buf, len), *roles;
    fa_apppass_t *ap = apr_pcalloc(p, sizeof(*ap));
    const char *kdf;
    size_t i;

    *pap = NULL;
    if (!j) {
        return APR_EGENERAL;
    }
    ap->account = str_of(p, j, "account");
    ap->id = str_of(p, j, "id");
    ap->label = str_of(p, j, "label");
    kdf = json_string_value(json_object_get(j, "kdf"));
    ap->created = json_integer_value(json_object_get(j, "created"));
    ap->expires = json_integer_value(json_object_get(j, "expires"));
    ap->log_n = (int)json_integer_value(json_object_get(j, "ln"));
    ap->r = (int)json_integer_value(json_object_get(j, "r"));
    ap->p = (int)json_integer_value(json_object_get(j, "p"));
    if (!ap->account || !ap->id || !ap->label || !kdf
        || strcmp(kdf, "scrypt") || !cost_ok(ap->log_n, ap->r, ap->p)
        || !bytes_of(j, "salt", ap->salt, sizeof(ap->salt))
        || !bytes_of(j, "hash", ap->hash, sizeof(ap->hash))) {
        return APR_EGENERAL;
    }
    roles = json_object_get(j, "roles");
    if (json_is_array(roles)) {
        ap->roles = apr_array_make(p, 2, sizeof(const char *));
        for (i = 0; i < json_array_size(roles); i++) {
            if (json_is_string(json_array_get(roles, i))) {
                APR_ARRAY_PUSH(ap->roles, const char *) = apr_pstrdup(p,
                    json_string_value(json_array_get(roles, i)));
            }
        }
    }
    *pap = ap;
    return APR_SUCCESS;
}

static int has(const apr_array_header_t *list, const char *item)
{
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(list, i, const char *), item)) {
            return 1;
        }
    }
    return 0;
}

const char *fa_apppass_roles(apr_pool_t *p, const fa_account_t *a,
                             const fa_apppass_t *ap)
{
    fa_account_t kept = *a;
    const char *role;
    int i;

    if (ap->roles) {
        kept.roles = apr_array_make(p, 2, sizeof(const char *));
        for (i = 0; a->roles && i < a->roles->nelts; i++) {
            role = APR_ARRAY_IDX(a->roles, i, const char *);
            if (has(ap->roles, role)) {
                APR_ARRAY_PUSH(kept.roles, const char *) = role;
            }
        }
    }
    return fa_account_merge_roles(p, "", &kept);
}

int fa_apppass_duration(const char *s, apr_int64_t *secs)
{
    char *end;
    apr_int64_t v = apr_strtoi64(s, &end, 10), unit = 1;

    if (!apr_isdigit(*s) || v <= 0 || v > 3650L * 86400) {
        return -1;
    }
    switch (*end) {
    case 'd': unit = 86400; end++; break;
    case 'h': unit = 3600; end++; break;
    case 'm': unit = 60; end++; break;
    case 's': end++; break;
    case '\0': break;
    default: return -1;
    }
    if (*end || v > 3650L * 86400 / unit) {
        return -1;
    }
    *secs = v * unit;
    return 0;
}

/* ---- in the registry ---------------------------------------------------- */

const char *fa_apppass_key(apr_pool_t *p, const char *account,
                           const char *id)
{
    return apr_pstrcat(p, "p:", account, ":", id, NULL);
}


apr_status_t fa_apppass_get(fa_registry_t *reg, apr_pool_t *p,
                            const char *account, const char *id,
                            fa_apppass_t **pap, fa_err_t *err)
{
    apr_size_t len;
    char *val;
    apr_status_t rv;

    *pap = NULL;
    rv = reg->get(reg, fa_apppass_key(p, account, id), p, &val, &len);
    if (rv == APR_NOTFOUND) {
        return rv;
    }
    if (rv != APR_SUCCESS) {
        return fa_registry_unavailable(reg, err, "read an app password", rv);
    }
    if (fa_apppass_decode(p, val, len, pap) != APR_SUCCESS
        || strcmp((*pap)->account, account) || strcmp((*pap)->id, id)) {
        *pap = NULL;
        return fa_err_set(err, "registry_damaged", "app password record "
                          "%s of %s does not decode", id, account);
    }
    return APR_SUCCESS;
}

static int by_created(const void *a, const void *b)
{
    const fa_apppass_t *x = *(fa_apppass_t *const *)a;
    const fa_apppass_t *y = *(fa_apppass_t *const *)b;

    if (x->created != y->created) {
        return x->created < y->created ? -1 : 1;
    }
    return strcmp(x->label, y->label);
}

apr_status_t fa_apppass_list(fa_registry_t *reg, apr_pool_t *p,
                             const char *account, apr_array_header_t **out,
                             fa_err_t *err)
{
    const char *prefix = fa_apppass_key(p, account, ""), *key;
    apr_size_t plen = strlen(prefix);
    apr_array_header_t *keys;
    fa_apppass_t *ap;
    apr_status_t rv;
    int i;

    *out = apr_array_make(p, 4, sizeof(fa_apppass_t *));
    if ((rv = reg->list(reg, prefix, p, &keys)) != APR_SUCCESS) {
        return fa_registry_unavailable(reg, err, "list app passwords", rv);
    }
    for (i = 0; i < keys->nelts; i++) {
        key = APR_ARRAY_IDX(keys, i, const char *);
        /* "p:<account>:<id>": another account whose name starts with
         * "<account>:" has keys with the same prefix */
        if (strlen(key) != plen + FA_APPPASS_ID_LEN
            || !in_alphabet(key + plen, FA_APPPASS_ID_LEN)) {
            continue;
        }
        rv = fa_apppass_get(reg, p, account, key + plen, &ap, err);
        if (rv == APR_NOTFOUND) {
            continue;             /* deleted meanwhile */
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        APR_ARRAY_PUSH(*out, fa_apppass_t *) = ap;
    }
    qsort((*out)->elts, (size_t)(*out)->nelts, sizeof(fa_apppass_t *),
          by_created);
    return APR_SUCCESS;
}

apr_status_t fa_apppass_add(fa_registry_t *reg, apr_pool_t *p,
                            const fa_apppass_t *ap, fa_err_t *err)
{
    apr_array_header_t *have;
    apr_size_t len;
    char *rec;
    apr_status_t rv;
    int i;

    if ((rv = fa_apppass_list(reg, p, ap->account, &have, err))
        != APR_SUCCESS) {
        return rv;
    }
    if (have->nelts >= FA_APPPASS_PER_ACCOUNT) {
        return fa_err_set(err, "too_many", "%s has %d app passwords "
                          "already", ap->account, have->nelts);
    }
    for (i = 0; i < have->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(have, i, fa_apppass_t *)->label,
                    ap->label)) {
            fa_err_set(err, "label_taken", "%s has an app password named "
                       "%s already", ap->account, ap->label);
            return APR_EEXIST;
        }
    }
    rec = fa_apppass_encode(p, ap, &len);
    rv = reg->create(reg, fa_apppass_key(p, ap->account, ap->id), rec, len,
                     p);
    if (rv == APR_EEXIST) {
        fa_err_set(err, "label_taken", "app password id %s exists", ap->id);
        return rv;
    }
    return rv == APR_SUCCESS ? rv : fa_registry_unavailable(reg, err,
                                                "write an app password", rv);
}

apr_status_t fa_apppass_del(fa_registry_t *reg, apr_pool_t *p,
                            const char *account, const char *which,
                            fa_apppass_t **pap, fa_err_t *err)
{
    apr_array_header_t *have;
    fa_apppass_t *ap;
    apr_status_t rv;
    int i;

    *pap = NULL;
    if ((rv = fa_apppass_list(reg, p, account, &have, err))
        != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < have->nelts && !*pap; i++) {
        ap = APR_ARRAY_IDX(have, i, fa_apppass_t *);
        if (!strcmp(ap->label, which) || !strcmp(ap->id, which)) {
            *pap = ap;
        }
    }
    if (!*pap) {
        return APR_NOTFOUND;
    }
    rv = reg->del(reg, fa_apppass_key(p, account, (*pap)->id), p);
    return rv == APR_SUCCESS ? rv : fa_registry_unavailable(reg, err,
                                                "delete an app password", rv);
}

apr_status_t fa_apppass_del_all(fa_registry_t *reg, apr_pool_t *p,
                                const char *account, int *n, fa_err_t *err)
{
    apr_array_header_t *have;
    apr_status_t rv;
    int i;

    *n = 0;
    if ((rv = fa_apppass_list(reg, p, account, &have, err))
        != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < have->nelts; i++) {
        rv = reg->del(reg, fa_apppass_key(p, account,
                      APR_ARRAY_IDX(have, i, fa_apppass_t *)->id), p);
        if (rv != APR_SUCCESS) {
            return fa_registry_unavailable(reg, err,
                                           "delete an app password", rv);
        }
        (*n)++;
    }
    return APR_SUCCESS;
}
