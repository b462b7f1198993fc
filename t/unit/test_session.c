/* SPDX-License-Identifier: Apache-2.0 */
/* test_session.c - session ids and cookies, the record formats, expiry,
 * and the mapping of claims to user name, attributes and roles. */
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "fa_session.h"
#include "fa_util.h"
#include "fa_claims.h"
#include "fa_log.h"
#include "fa_store.h"

static apr_pool_t *pool;
static fa_keys_t keys;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    fa_keys_derive(&keys, "a test secret of some length", 28);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(cookie_roundtrip_and_forgery)
{
    char *cookie, *key, *other_cookie, *other_key;
    char out[FA_SESSION_KEY_LEN + 1];
    fa_keys_t other;

    ck_assert_int_eq(fa_session_new_id(pool, &keys, &cookie, &key),
                     APR_SUCCESS);
    ck_assert_uint_eq(strlen(cookie), FA_SESSION_COOKIE_LEN);
    ck_assert_uint_eq(strlen(key), FA_SESSION_KEY_LEN);
    ck_assert(fa_session_cookie_check(&keys, cookie, strlen(cookie), out));
    ck_assert_str_eq(out, key);
    /* the store key is not in the cookie */
    ck_assert_ptr_null(strstr(cookie, key + 2));
    /* one changed character anywhere is refused */
    cookie[5] = cookie[5] == 'A' ? 'B' : 'A';
    ck_assert(!fa_session_cookie_check(&keys, cookie, strlen(cookie), out));
    cookie[5] = cookie[5] == 'A' ? 'B' : 'A';
    cookie[60] = cookie[60] == 'A' ? 'B' : 'A';
    ck_assert(!fa_session_cookie_check(&keys, cookie, strlen(cookie), out));
    /* another host's secret does not accept it */
    fa_keys_derive(&other, "a different secret value", 24);
    fa_session_new_id(pool, &other, &other_cookie, &other_key);
    ck_assert(!fa_session_cookie_check(&keys, other_cookie,
                                       strlen(other_cookie), out));
    ck_assert(!fa_session_cookie_check(&keys, "short", 5, out));
    ck_assert(!fa_session_cookie_check(&keys, other_cookie, 65, out));
}
END_TEST

/* Secret rotation: a cookie of the older secret passes only under its
 * keys; remade under the new keys it keeps its id, gets another tag and
 * store key, passes under the new keys only, and every remake of the
 * same cookie gives the same pair (two hosts, two parallel requests move
 * a session to one key). A cookie of a removed secret passes nowhere. */
START_TEST(cookie_rotation_remake)
{
    fa_keys_t old_k, new_k, gone_k;
    char *cookie, *key, *c2, *k2, *c3, *k3, *gc, *gk;
    char out[FA_SESSION_KEY_LEN + 1];

    fa_keys_derive(&old_k, "the old secret of the site", 26);
    fa_keys_derive(&new_k, "the new secret of the site", 26);
    fa_keys_derive(&gone_k, "a secret no longer listed", 25);
    ck_assert_int_eq(fa_session_new_id(pool, &old_k, &cookie, &key),
                     APR_SUCCESS);
    ck_assert(!fa_session_cookie_check(&new_k, cookie, strlen(cookie), out));
    ck_assert(fa_session_cookie_check(&old_k, cookie, strlen(cookie), out));
    ck_assert_str_eq(out, key);
    ck_assert_int_eq(fa_session_cookie_remake(pool, &new_k, cookie,
                                              strlen(cookie), &c2, &k2),
                     APR_SUCCESS);
    ck_assert_uint_eq(strlen(c2), FA_SESSION_COOKIE_LEN);
    ck_assert_int_eq(strncmp(c2, cookie, 44), 0);     /* same id */
    ck_assert_str_ne(c2 + 44, cookie + 44);           /* other tag */
    ck_assert_str_ne(k2, key);
    ck_assert(fa_session_cookie_check(&new_k, c2, strlen(c2), out));
    ck_assert_str_eq(out, k2);
    ck_assert(!fa_session_cookie_check(&old_k, c2, strlen(c2), out));
    ck_assert_int_eq(fa_session_cookie_remake(pool, &new_k, cookie,
                                              strlen(cookie), &c3, &k3),
                     APR_SUCCESS);
    ck_assert_str_eq(c3, c2);
    ck_assert_str_eq(k3, k2);
    /* the remake under the old keys is the cookie itself */
    ck_assert_int_eq(fa_session_cookie_remake(pool, &old_k, c2, strlen(c2),
                                              &c3, &k3), APR_SUCCESS);
    ck_assert_str_eq(c3, cookie);
    ck_assert_str_eq(k3, key);
    /* a removed secret's cookie passes under neither listed secret */
    fa_session_new_id(pool, &gone_k, &gc, &gk);
    ck_assert(!fa_session_cookie_check(&new_k, gc, strlen(gc), out));
    ck_assert(!fa_session_cookie_check(&old_k, gc, strlen(gc), out));
    /* malformed values are not remade */
    ck_assert_int_eq(fa_session_cookie_remake(pool, &new_k, "short", 5, &c3,
                                              &k3), APR_EINVAL);
    c3 = apr_pstrdup(pool, cookie);
    c3[43] = 'x';
    ck_assert_int_eq(fa_session_cookie_remake(pool, &new_k, c3, strlen(c3),
                                              &c3, &k3), APR_EINVAL);
}
END_TEST

START_TEST(ids_are_unique)
{
    char *c1, *k1, *c2, *k2;

    fa_session_new_id(pool, &keys, &c1, &k1);
    fa_session_new_id(pool, &keys, &c2, &k2);
    ck_assert_str_ne(c1, c2);
    ck_assert_str_ne(k1, k2);
}
END_TEST

START_TEST(session_record_roundtrip)
{
    fa_session_t s, *d;
    fa_attr_t *a;
    char *rec;
    apr_size_t len;

    memset(&s, 0, sizeof(s));
    s.created = 1700000000;
    s.last_seen = 1700000100;
    s.token_exp = 1700003600;
    s.idp = "corp";
    s.sub = "248289761001";
    s.user = "jane.doe";
    s.roles = "admin,viewer";
    s.id_token = "eyJ.x.y";
    s.attrs = apr_array_make(pool, 2, sizeof(fa_attr_t));
    a = apr_array_push(s.attrs);
    a->name = "EMAIL";
    a->value = "jane@example.com";
    a = apr_array_push(s.attrs);
    a->name = "NOTE";
    a->value = "line1\nline2:with\ncolons 12:";
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_int_eq(d->created, 1700000000);
    ck_assert_int_eq(d->last_seen, 1700000100);
    ck_assert_int_eq(d->token_exp, 1700003600);
    ck_assert_str_eq(d->idp, "corp");
    ck_assert_str_eq(d->sub, "248289761001");
    ck_assert_str_eq(d->user, "jane.doe");
    ck_assert_str_eq(d->roles, "admin,viewer");
    ck_assert_str_eq(d->id_token, "eyJ.x.y");
    ck_assert_int_eq(d->attrs->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(d->attrs, 1, fa_attr_t).value,
                     "line1\nline2:with\ncolons 12:");
    /* the token's sub, set only when IdentifyingClaim is not sub, comes
     * back; a record without it has none */
    ck_assert_ptr_null(d->token_sub);
    s.token_sub = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ";
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_str_eq(d->sub, "248289761001");
    ck_assert_str_eq(d->token_sub,
                     "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ");
}
END_TEST

/* The ID token comes last, after a head field that gives the length of
 * what comes before it: that prefix decodes to the same session without
 * the ID token; a record without an ID token, or of the earlier layout
 * (ID token anywhere, no head field), has no head and is read whole. */
START_TEST(session_record_head)
{
    fa_session_t s, *d;
    fa_attr_t *a;
    char *rec, *cut, big[12001];
    apr_size_t len, head;

    memset(&s, 0, sizeof(s));
    s.created = 1700000000;
    s.last_seen = 1700000100;
    s.idp = "corp";
    s.sub = "248289761001";
    s.user = "jane.doe";
    s.roles = "admin";
    s.id_token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
    s.refresh_token = "rt";
    s.attrs = apr_array_make(pool, 1, sizeof(fa_attr_t));
    a = apr_array_push(s.attrs);
    a->name = "EMAIL";
    a->value = "jane@example.com";
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_int_eq(strncmp(rec, "FA1\nh4:", 7), 0);
    head = fa_session_head(rec, FA_STORE_HEAD_PROBE);
    ck_assert_uint_gt(head, 0);
    ck_assert_uint_lt(head, len);
    ck_assert_int_eq(strncmp(rec + head, "t41:eyJ", 7), 0);
    ck_assert_uint_eq(head + fa_session_field_size(strlen(s.id_token)), len);
    cut = apr_pstrmemdup(pool, rec, head);
    ck_assert_int_eq(fa_session_decode(pool, cut, head, &d), APR_SUCCESS);
    ck_assert_ptr_null(d->id_token);
    ck_assert_str_eq(d->user, "jane.doe");
    ck_assert_str_eq(d->refresh_token, "rt");
    ck_assert_str_eq(APR_ARRAY_IDX(d->attrs, 0, fa_attr_t).value,
                     "jane@example.com");
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_str_eq(d->id_token, s.id_token);
    /* a head of five digits */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    a->value = big;
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_int_eq(strncmp(rec, "FA1\nh5:", 7), 0);
    head = fa_session_head(rec, FA_STORE_HEAD_PROBE);
    ck_assert_int_eq(strncmp(rec + head, "t41:", 4), 0);
    /* no ID token: no head field */
    s.id_token = NULL;
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_uint_eq(fa_session_head(rec, FA_STORE_HEAD_PROBE), 0);
    /* the earlier layout, and junk */
    ck_assert_uint_eq(fa_session_head("FA1\nc10:1700000000\nt3:a.b\n", 16),
                      0);
    ck_assert_uint_eq(fa_session_head("FA1\nh4:12x4\n", 12), 0);
    ck_assert_uint_eq(fa_session_head("FA1\nh4:1234", 11), 0);
    ck_assert_uint_eq(fa_session_head("FA1\nh9:123456789\n", 16), 0);
}
END_TEST

/* The decoder's header verdicts (ok_user, ok_value...): set only to the
 * value itself, and only for a value that fa_header_value would pass as
 * it is and that holds no tab; set for every such value that is not at
 * the record's very end (the bytes after a value are masked, not read
 * as its own), whatever its length up to FA_SESSION_HEADER_MAX. */
static void check_verdict(const char *v, const char *ok, int must)
{
    ck_assert_msg(!ok || ok == v, "verdict not the value itself");
    if (ok) {
        ck_assert_ptr_eq(fa_header_value(pool, v, FA_SESSION_HEADER_MAX), v);
        ck_assert_ptr_null(strchr(v, '\t'));
    }
    if (must) {
        ck_assert_msg(ok != NULL, "clean value of %zu bytes refused",
                      strlen(v));
    }
}

START_TEST(session_record_header_verdicts)
{
    static const char bad[] = { '\t', '\r', '\n', 0x01, 0x1f, 0x7f };
    fa_session_t s, *d;
    fa_attr_t *a;
    char *rec, v[40];
    apr_size_t len, n, at, b;

    memset(&s, 0, sizeof(s));
    s.created = 1700000000;
    s.last_seen = 1700000100;
    s.idp = "corp";
    s.sub = "248289761001";
    s.roles = "";
    s.attrs = apr_array_make(pool, 1, sizeof(fa_attr_t));
    a = apr_array_push(s.attrs);
    a->name = "NOTE";
    for (n = 0; n < 30; n++) {
        for (at = 0; at <= n; at++) {
            for (b = 0; b <= sizeof(bad); b++) {
                memset(v, 'a', n);
                memcpy(v, "\xc3\xa9", n >= 2 ? 2 : 0);    /* UTF-8 is fine */
                v[n] = '\0';
                if (at < n && b < sizeof(bad)) {
                    v[at] = bad[b];
                }
                s.user = v;
                a->value = v;
                fa_session_encode(pool, &s, &rec, &len);
                ck_assert_int_eq(fa_session_decode(pool, rec, len, &d),
                                 APR_SUCCESS);
                check_verdict(d->user, d->ok_user, at == n
                              || b == sizeof(bad));
                check_verdict(d->idp, d->ok_idp, 1);
                check_verdict(d->sub, d->ok_sub, 1);
                check_verdict(d->roles, d->ok_roles, 1);
                check_verdict(APR_ARRAY_IDX(d->attrs, 0, fa_attr_t).value,
                              APR_ARRAY_IDX(d->attrs, 0, fa_attr_t).ok_value,
                              0);
            }
        }
    }
    /* the length limit of a header value, exactly */
    rec = apr_palloc(pool, FA_SESSION_HEADER_MAX + 2);
    memset(rec, 'x', FA_SESSION_HEADER_MAX + 1);
    rec[FA_SESSION_HEADER_MAX + 1] = '\0';
    s.user = rec;
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_ptr_null(d->ok_user);
    s.user = apr_pstrndup(pool, s.user, FA_SESSION_HEADER_MAX);
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    check_verdict(d->user, d->ok_user, 1);
}
END_TEST

/* A session record for the memo's tests: user u, roles r, n attributes
 * (the last one with a tab, unfit for a header) and two claims. */
static char *memo_record(const char *u, const char *r, int n,
                         apr_size_t *len)
{
    fa_session_t s;
    fa_attr_t *a;
    char *rec;
    int i;

    memset(&s, 0, sizeof(s));
    s.created = 1700000000;
    s.last_seen = 1700000100;
    s.token_exp = 1700003600;
    s.idp = "corp";
    s.sub = "248289761001";
    s.user = u;
    s.roles = r;
    s.sid = "sid-1";
    s.refresh_token = "rt-1";
    s.access_token = "at-1";
    s.access_exp = 1700001800;
    s.token_sub = "the-token-sub";
    s.userinfo_at = 1700000050;
    s.id_token = "eyJ.x.y";
    s.attrs = apr_array_make(pool, 1, sizeof(fa_attr_t));
    for (i = 0; i < n; i++) {
        a = apr_array_push(s.attrs);
        a->name = apr_psprintf(pool, "A%d", i);
        a->value = i == n - 1 ? "tab\there" : apr_psprintf(pool, "v%d", i);
    }
    s.claims = apr_array_make(pool, 2, sizeof(fa_attr_t));
    a = apr_array_push(s.claims);
    a->name = "groups";
    a->value = "g1";
    a = apr_array_push(s.claims);
    a->name = "groups";
    a->value = "g2";
    fa_session_encode(pool, &s, &rec, len);
    return rec;
}

/* Store keys (FA_SESSION_KEY_LEN bytes, NUL-terminated): KEY1; KEY2 in
 * another slot of the memo; KEY3 in KEY1's. */
static char KEY1[FA_SESSION_KEY_LEN + 1], KEY2[FA_SESSION_KEY_LEN + 1],
            KEY3[FA_SESSION_KEY_LEN + 1];

static void memo_keys(void)
{
    char k[FA_SESSION_KEY_LEN + 1];
    int i, got2 = 0, got3 = 0;

    snprintf(KEY1, sizeof(KEY1), "s:%022d", 1);
    for (i = 2; i < 100000 && !(got2 && got3); i++) {
        snprintf(k, sizeof(k), "s:%06dAAAAAAAAAAAAAAAA", i);
        if (!got2 && fa_session_memo_index(k)
                     != fa_session_memo_index(KEY1)) {
            memcpy(KEY2, k, sizeof(k));
            got2 = 1;
        }
        else if (!got3 && fa_session_memo_index(k)
                          == fa_session_memo_index(KEY1)) {
            memcpy(KEY3, k, sizeof(k));
            got3 = 1;
        }
    }
    ck_assert(got2 && got3);
}

/* p lies in the len bytes at buf */
static int inside(const char *p, const char *buf, apr_size_t len)
{
    return p >= buf && p < buf + len;
}

/* Two sessions alike: every field, and every header verdict. */
static void same_session(const fa_session_t *a, const fa_session_t *b)
{
    int k, i;

    ck_assert_int_eq(a->created, b->created);
    ck_assert_int_eq(a->last_seen, b->last_seen);
    ck_assert_int_eq(a->token_exp, b->token_exp);
    ck_assert_str_eq(a->idp, b->idp);
    ck_assert_str_eq(a->sub, b->sub);
    ck_assert_str_eq(a->user, b->user);
    ck_assert_str_eq(a->roles, b->roles);
    ck_assert_str_eq(a->sid, b->sid);
    ck_assert_str_eq(a->refresh_token, b->refresh_token);
    ck_assert_str_eq(a->access_token, b->access_token);
    ck_assert_int_eq(a->access_exp, b->access_exp);
    ck_assert_str_eq(a->token_sub, b->token_sub);
    ck_assert_int_eq(a->userinfo_at, b->userinfo_at);
    ck_assert_str_eq(a->id_token, b->id_token);
    ck_assert_int_eq(!a->ok_user, !b->ok_user);
    ck_assert_int_eq(!a->ok_roles, !b->ok_roles);
    ck_assert_ptr_eq(a->ok_user, a->ok_user ? a->user : NULL);
    ck_assert_ptr_eq(a->ok_roles, a->ok_roles ? a->roles : NULL);
    ck_assert_ptr_eq(a->ok_sub, a->sub);
    ck_assert_ptr_eq(a->ok_idp, a->idp);
    for (k = 0; k < 2; k++) {
        const apr_array_header_t *x = k ? a->claims : a->attrs;
        const apr_array_header_t *y = k ? b->claims : b->attrs;

        ck_assert_int_eq(x->nelts, y->nelts);
        for (i = 0; i < x->nelts; i++) {
            const fa_attr_t *e = &APR_ARRAY_IDX(x, i, fa_attr_t);
            const fa_attr_t *f = &APR_ARRAY_IDX(y, i, fa_attr_t);

            ck_assert_str_eq(e->name, f->name);
            ck_assert_str_eq(e->value, f->value);
            ck_assert_int_eq(!e->ok_value, !f->ok_value);
            ck_assert_ptr_eq(e->ok_value, e->ok_value ? e->value : NULL);
        }
    }
}

/* The memo answers a record it decoded before with the session the
 * decoder makes, in the caller's buffer; what the caller changes in it
 * does not reach the memo. */
START_TEST(memo_answers_as_the_decoder)
{
    static fa_session_memo_t memo;
    fa_session_t *want, *d;
    fa_attr_t *a;
    char *rec, *buf;
    apr_size_t len;
    int hit, i, round;

    memset(&memo, 0, sizeof(memo));
    memo_keys();
    rec = memo_record("jane.doe", "admin,viewer", 5, &len);
    ck_assert_int_eq(fa_session_decode(pool, apr_pmemdup(pool, rec, len),
                                       len, &want), APR_SUCCESS);
    ck_assert_ptr_null(APR_ARRAY_IDX(want->attrs, 4, fa_attr_t).ok_value);
    /* the first read notes the key, the second keeps the record, the
     * third and later are answered */
    for (round = 0; round < 5; round++) {
        buf = apr_pmemdup(pool, rec, len);
        ck_assert_int_eq(fa_session_decode_memo(&memo, KEY1, pool, buf, len,
                                                &d, &hit), APR_SUCCESS);
        ck_assert_int_eq(hit, round > 1);
        same_session(d, want);
        /* every value in the caller's buffer, none in the memo: not a
         * word of the session points into the memo (a pointer field
         * added to fa_session_t must be moved in session_move_into, and
         * set in memo_record) */
        ck_assert(inside(d->user, buf, len) && inside(d->sub, buf, len)
                  && inside(d->idp, buf, len) && inside(d->sid, buf, len)
                  && inside(d->roles, buf, len)
                  && inside(d->token_sub, buf, len)
                  && inside(d->id_token, buf, len)
                  && inside(d->access_token, buf, len)
                  && inside(d->refresh_token, buf, len));
        for (i = 0; (apr_size_t)i + sizeof(void *) <= sizeof(*d);
             i += (int)sizeof(void *)) {
            const char *w;

            memcpy(&w, (const char *)d + i, sizeof(w));
            ck_assert(!inside(w, (const char *)&memo, sizeof(memo)));
        }
        if (sizeof(void *) == 8) {
            /* 5 times and 15 pointers: a new field must be added above */
            ck_assert_uint_eq(sizeof(fa_session_t), 5 * 8 + 15 * 8);
        }
        for (i = 0; i < d->attrs->nelts; i++) {
            a = &APR_ARRAY_IDX(d->attrs, i, fa_attr_t);
            ck_assert(inside(a->name, buf, len)
                      && inside(a->value, buf, len));
        }
        a = &APR_ARRAY_IDX(d->claims, 1, fa_attr_t);
        ck_assert(inside(a->value, buf, len));
        /* the caller changes its session and its buffer, and grows its
         * arrays: the next answer is as before */
        d->last_seen = 1;
        d->user = "mallory";
        APR_ARRAY_IDX(d->attrs, 0, fa_attr_t).value = "changed";
        a = apr_array_push(d->attrs);
        a->name = "EXTRA";
        a->value = "x";
        memset(buf, 'Z', len);
    }
    ck_assert_int_eq(want->attrs->nelts, 5);
}
END_TEST

/* A record that differs in one byte is not the memo's, nor one of
 * another key; each slot keeps the last key read there; a junk record, a
 * long one or one with many values is decoded as ever and never kept. */
START_TEST(memo_misses_what_changed)
{
    static fa_session_memo_t memo;
    fa_session_t *d;
    char *a, *b, *c, *big;
    apr_size_t la, lb, lc, lbig;
    int hit;

    memset(&memo, 0, sizeof(memo));
    memo_keys();
#define DEC(k, rec, l) fa_session_decode_memo(&memo, k, pool, \
                           apr_pmemdup(pool, rec, l), l, &d, &hit)
#define MISS(k, rec, l) do { \
        ck_assert_int_eq(DEC(k, rec, l), APR_SUCCESS); \
        ck_assert(!hit); \
    } while (0)
#define HIT(k, rec, l) do { \
        ck_assert_int_eq(DEC(k, rec, l), APR_SUCCESS); \
        ck_assert(hit); \
    } while (0)
    a = memo_record("jane.doe", "admin", 2, &la);
    b = memo_record("jane.doe", "admim", 2, &lb);     /* one byte */
    c = memo_record("john.roe", "admin", 2, &lc);
    ck_assert_uint_eq(la, lb);
    ck_assert_uint_eq(la, lc);
    MISS(KEY1, a, la);                  /* noted */
    MISS(KEY1, a, la);                  /* kept */
    HIT(KEY1, a, la);
    ck_assert_str_eq(d->roles, "admin");
    /* the same key, one byte changed: decoded and kept, then answered */
    MISS(KEY1, b, lb);
    ck_assert_str_eq(d->roles, "admim");
    HIT(KEY1, b, lb);
    ck_assert_str_eq(d->roles, "admim");
    /* the record of key 1 under key 2 is not answered from key 1's */
    MISS(KEY2, b, lb);
    MISS(KEY2, c, lc);
    HIT(KEY2, c, lc);
    ck_assert_str_eq(d->user, "john.roe");
    /* both keys answer, each from its slot */
    HIT(KEY1, b, lb);
    ck_assert_str_eq(d->user, "jane.doe");
    HIT(KEY2, c, lc);
    /* a key of key 1's slot, with the very record key 1 has kept: not
     * answered from it, and it takes the slot; key 2 is not touched */
    MISS(KEY3, b, lb);
    HIT(KEY2, c, lc);
    MISS(KEY1, b, lb);
    MISS(KEY1, a, la);
    HIT(KEY1, a, la);
    /* junk under a kept key: refused every time; the key's record is
     * kept again on its next read */
    ck_assert_int_eq(DEC(KEY1, "FA1\nu3:abc", 10), APR_EINVAL);
    ck_assert_int_eq(DEC(KEY1, "FA1\nu3:abc", 10), APR_EINVAL);
    ck_assert_int_eq(DEC(KEY1, "XXXX", 4), APR_EINVAL);
    MISS(KEY1, a, la);
    HIT(KEY1, a, la);
    /* more values than it holds: decoded, never kept */
    big = memo_record("many", "", FA_SESSION_MEMO_VALUES, &lbig);
    ck_assert_uint_le(lbig, FA_SESSION_MEMO_BYTES);
    MISS(KEY2, big, lbig);
    MISS(KEY2, big, lbig);
    MISS(KEY2, big, lbig);
    ck_assert_int_eq(d->attrs->nelts, FA_SESSION_MEMO_VALUES);
    ck_assert_int_eq(d->claims->nelts, 2);
    /* longer than it holds: likewise */
    big = memo_record(apr_psprintf(pool, "%0*d", FA_SESSION_MEMO_BYTES, 7),
                      "", 1, &lbig);
    ck_assert_uint_gt(lbig, FA_SESSION_MEMO_BYTES);
    MISS(KEY2, big, lbig);
    MISS(KEY2, big, lbig);
    MISS(KEY2, big, lbig);
    ck_assert_uint_eq(strlen(d->user), FA_SESSION_MEMO_BYTES);
    /* no memo, or no key: the decoder alone */
    ck_assert_int_eq(fa_session_decode_memo(NULL, KEY1, pool,
                     apr_pmemdup(pool, a, la), la, &d, &hit), APR_SUCCESS);
    ck_assert(!hit);
    MISS(NULL, a, la);
    MISS(NULL, a, la);
    MISS(NULL, a, la);
    ck_assert_str_eq(d->user, "jane.doe");
#undef HIT
#undef MISS
#undef DEC
}
END_TEST

/* Threads share the memo: four of them decode the records of three keys
 * (two of one slot) in turn, each from its own pool; every answer is its
 * key's session, and the memo answers some of them. The TSan tier runs
 * this too. */
#define MEMO_THREADS 4
#define MEMO_ROUNDS 3000
static fa_session_memo_t shared_memo;
static char *memo_recs[3];
static apr_size_t memo_lens[3];
static const char *memo_users[3] = { "jane.doe", "john.roe", "rita.moe" };

typedef struct {
    apr_pool_t *p;
    int n, bad, hits;
} memo_worker_t;

static void *memo_worker(void *arg)
{
    memo_worker_t *w = arg;
    const char *mkeys[3] = { KEY1, KEY3, KEY2 };
    fa_session_t *d;
    int i, k, hit;

    for (i = 0; i < MEMO_ROUNDS; i++) {
        k = (i + w->n) % 3;
        if (fa_session_decode_memo(&shared_memo, mkeys[k], w->p,
                                   apr_pmemdup(w->p, memo_recs[k],
                                               memo_lens[k]),
                                   memo_lens[k], &d, &hit) != APR_SUCCESS
            || strcmp(d->user, memo_users[k]) != 0
            || strcmp(APR_ARRAY_IDX(d->claims, 1, fa_attr_t).value, "g2")
            || d->ok_user != d->user) {
            w->bad++;
        }
        w->hits += hit;
        if (i % 100 == 99) {
            apr_pool_clear(w->p);
        }
    }
    return NULL;
}

START_TEST(memo_shared_by_threads)
{
    pthread_t t[MEMO_THREADS];
    memo_worker_t w[MEMO_THREADS];
    int i, k, hits = 0;

    memo_keys();
    memset(&shared_memo, 0, sizeof(shared_memo));
    for (k = 0; k < 3; k++) {
        memo_recs[k] = memo_record(memo_users[k], "admin", 3, &memo_lens[k]);
    }
    for (i = 0; i < MEMO_THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        apr_pool_create(&w[i].p, NULL);
        w[i].n = i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, memo_worker, &w[i]), 0);
    }
    for (i = 0; i < MEMO_THREADS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].bad, 0);
        hits += w[i].hits;
        apr_pool_destroy(w[i].p);
    }
    /* key 2 alone in its slot: answered from its third read on in
     * each thread at the latest */
    ck_assert_int_gt(hits, MEMO_ROUNDS / 3);
}
END_TEST

/* Times are read the same whatever their length: 8 digits and more go a
 * word at a time, and a non-digit anywhere (or a NUL inside) makes the
 * record unreadable, as it always did. */
START_TEST(session_record_times)
{
    static const struct { const char *c; apr_int64_t want; } cases[] = {
        { "1", 1 }, { "1234567", 1234567 }, { "12345678", 12345678 },
        { "1700000000", 1700000000 }, { "0000001700000000", 1700000000 },
        { "1099511627775", 1099511627775LL },
        { "1099511627776", -1 }, { "17000000a0", -1 }, { "1700000/00", -1 },
        { "17000:0000", -1 }, { "1700000000 ", -1 }, { "-170000000", -1 },
        { "170000000x", -1 }, { "1700000009", 1700000009 },
        { "9999999999", 9999999999LL },
        { "", -1 }, { "1234567890123456789", -1 },
    };
    fa_session_t *d;
    apr_size_t i, n;
    char *rec;
    apr_status_t rv;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = strlen(cases[i].c);
        rec = apr_psprintf(pool, "FA1\ni4:corp\ns3:sub\nu4:jane\n"
                           "c%lu:%s\nl10:1700000100\n", (unsigned long)n,
                           cases[i].c);
        rv = fa_session_decode(pool, rec, strlen(rec), &d);
        if (cases[i].want < 0) {
            ck_assert_msg(rv != APR_SUCCESS, "case %s read", cases[i].c);
        }
        else {
            ck_assert_msg(rv == APR_SUCCESS, "case %s refused", cases[i].c);
            ck_assert_int_eq(d->created, cases[i].want);
        }
    }
    /* a NUL inside: read up to it, as before */
    rec = apr_pstrdup(pool, "FA1\ni4:corp\ns3:sub\nu4:jane\n"
                      "c11:1700000000Z\nl10:1700000100\n");
    n = strlen(rec);
    rec[n - 17] = '\0';          /* the Z */
    ck_assert_int_eq(fa_session_decode(pool, rec, n, &d), APR_SUCCESS);
    ck_assert_int_eq(d->created, 1700000000);
}
END_TEST

/* The access token, its expiry and the refresh token come back; a record
 * without them (as an older version wrote, or tokens not kept) has none;
 * an expiry without a token, or a junk one, counts as unknown (0). */
START_TEST(session_record_tokens)
{
    fa_session_t s, *d;
    char *rec, *junk;
    apr_size_t len;

    memset(&s, 0, sizeof(s));
    s.created = s.last_seen = 1700000000;
    s.idp = "corp";
    s.sub = "sub-1";
    s.user = "jane";
    s.roles = "";
    s.access_token = "at.eyJ-payload_x.sig";
    s.access_exp = 1700000600;
    s.refresh_token = "rt:with:colons/and/slashes";
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_ptr_nonnull(strstr(rec, "A20:at.eyJ-payload_x.sig\n"));
    ck_assert_ptr_nonnull(strstr(rec, "E10:1700000600\n"));
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_str_eq(d->access_token, "at.eyJ-payload_x.sig");
    ck_assert_int_eq(d->access_exp, 1700000600);
    ck_assert_str_eq(d->refresh_token, "rt:with:colons/and/slashes");
    ck_assert_str_eq(d->user, "jane");

    s.access_token = s.refresh_token = NULL;
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_ptr_null(strstr(rec, "\nA"));
    ck_assert_ptr_null(strstr(rec, "\nE"));
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_ptr_null(d->access_token);
    ck_assert_ptr_null(d->refresh_token);
    ck_assert_int_eq(d->access_exp, 0);

    /* (decode works in place: a fresh record for each) */
    fa_session_encode(pool, &s, &rec, &len);
    junk = apr_pstrcat(pool, rec, "E3:-12\nA2:AT\n", NULL);
    ck_assert_int_eq(fa_session_decode(pool, junk, strlen(junk), &d),
                     APR_SUCCESS);
    ck_assert_str_eq(d->access_token, "AT");
    ck_assert_int_eq(d->access_exp, 0);
    fa_session_encode(pool, &s, &rec, &len);
    junk = apr_pstrcat(pool, rec, "E10:1700000600\n", NULL);
    ck_assert_int_eq(fa_session_decode(pool, junk, strlen(junk), &d),
                     APR_SUCCESS);
    ck_assert_int_eq(d->access_exp, 0);
}
END_TEST

START_TEST(session_record_rejects_junk)
{
    fa_session_t *d;
    const char *junk[] = { "", "FA2\n", "FA1\nu99:short\n", "FA1\nu3:abcd",
                           "FA1\nuX:abc\n", "FA1\nu3:abc\n" /* no idp */,
                           NULL };
    int i;

    for (i = 0; junk[i]; i++) {
        char *copy = apr_pstrdup(pool, junk[i]);
        ck_assert_msg(fa_session_decode(pool, copy, strlen(copy), &d)
                      != APR_SUCCESS, "accepted %s", junk[i]);
    }
}
END_TEST

/* The last userinfo read ('U', UserInfoRefresh): written only when it
 * differs from created; a record without it (as 0.3.0 wrote them) reads
 * as read at its creation; a bad one is a bad record. */
START_TEST(session_record_userinfo_at)
{
    fa_session_t s, *d;
    char *rec, *old, *bad;
    apr_size_t len;

    memset(&s, 0, sizeof(s));
    s.created = 1700000000;
    s.last_seen = 1700000100;
    s.idp = "corp";
    s.sub = "abc";
    s.user = "jane";
    s.userinfo_at = s.created;
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_ptr_null(strstr(rec, "\nU"));
    old = apr_pstrdup(pool, rec);
    ck_assert_int_eq(fa_session_decode(pool, old, len, &d), APR_SUCCESS);
    ck_assert_int_eq(d->userinfo_at, 0);
    ck_assert_int_eq(fa_session_userinfo_at(d), 1700000000);

    s.userinfo_at = 1700000050;
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_ptr_nonnull(strstr(rec, "\nU10:1700000050\n"));
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_int_eq(fa_session_userinfo_at(d), 1700000050);

    s.userinfo_at = 0;
    fa_session_encode(pool, &s, &rec, &len);
    bad = apr_pstrcat(pool, "FA1\nU3:-12\n", rec + 4, NULL);
    ck_assert_int_ne(fa_session_decode(pool, bad, strlen(bad), &d),
                     APR_SUCCESS);
}
END_TEST

START_TEST(session_expiry)
{
    fa_session_t s;

    memset(&s, 0, sizeof(s));
    s.created = 1000;
    s.last_seen = 5000;
    ck_assert_int_eq(fa_session_expires_at(&s, 3600, 28800), 8600);
    s.last_seen = 28000;
    ck_assert_int_eq(fa_session_expires_at(&s, 3600, 28800), 29800);
}
END_TEST

START_TEST(login_state)
{
    fa_login_t *l, *d;
    char *state, *rec;
    const char *k1, *k2;
    apr_size_t len;

    ck_assert_int_eq(fa_login_new(pool, "corp", "/app?x=1",
                                  "https://app.example/signin-corp", &l,
                                  &state), APR_SUCCESS);
    ck_assert_uint_eq(strlen(state), FA_STATE_LEN);
    ck_assert_str_ne(l->nonce, l->verifier);
    ck_assert_uint_eq(strlen(l->verifier), 43);
    fa_login_encode(pool, l, &rec, &len);
    ck_assert_int_eq(fa_login_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_str_eq(d->idp, "corp");
    ck_assert_str_eq(d->return_to, "/app?x=1");
    ck_assert_str_eq(d->nonce, l->nonce);
    k1 = fa_login_key(pool, &keys, state);
    k2 = fa_login_key(pool, &keys, state);
    ck_assert_ptr_nonnull(k1);
    ck_assert_str_eq(k1, k2);
    ck_assert_ptr_null(strstr(k1, state));
    ck_assert_ptr_null(fa_login_key(pool, &keys, "short"));
    ck_assert_ptr_null(fa_login_key(pool, &keys,
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"));
}
END_TEST

/* A fresh login for the seal tests, made at time t. */
static fa_login_t *sealed_login(const char *return_to, apr_int64_t t,
                                char **state, char **sealed)
{
    fa_login_t *l;

    ck_assert_int_eq(fa_login_new(pool, "corp", return_to,
                                  "https://app.example/signin-corp", &l,
                                  state), APR_SUCCESS);
    l->created = t;
    ck_assert_int_eq(fa_login_seal(pool, &keys, *state, l, sealed),
                     APR_SUCCESS);
    return l;
}

START_TEST(login_seal_roundtrip)
{
    fa_login_t *l, *d;
    char *state, *sealed, *state2, *sealed2;

    l = sealed_login("/app?x=1", 1000000, &state, &sealed);
    ck_assert_uint_le(strlen(sealed), FA_LOGIN_SEALED_MAX);
    ck_assert_ptr_null(strstr(sealed, l->nonce));
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state, sealed,
                                   1000000 + 10, &d), APR_SUCCESS);
    ck_assert_str_eq(d->idp, "corp");
    ck_assert_str_eq(d->nonce, l->nonce);
    ck_assert_str_eq(d->verifier, l->verifier);
    ck_assert_str_eq(d->return_to, "/app?x=1");
    ck_assert_str_eq(d->redirect_uri, "https://app.example/signin-corp");
    ck_assert_int_eq(d->created, 1000000);
    /* the same login sealed twice: the same value (one key per state) */
    ck_assert_int_eq(fa_login_seal(pool, &keys, state, l, &sealed2),
                     APR_SUCCESS);
    ck_assert_str_eq(sealed, sealed2);
    /* another login's cookie does not open for this state, nor the
     * reverse */
    sealed_login("/app?x=1", 1000000, &state2, &sealed2);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state, sealed2,
                                   1000000, &d), APR_EINVAL);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state2, sealed,
                                   1000000, &d), APR_EINVAL);
    ck_assert_ptr_null(d);
}
END_TEST

START_TEST(login_seal_refuses)
{
    fa_login_t *d;
    fa_keys_t other;
    char *state, *sealed, *t;
    unsigned char *raw;
    apr_size_t i, n, rawlen;
    const char *abc = "AQgz_-";

    sealed_login("/", 1000000, &state, &sealed);
    n = strlen(sealed);
    /* every character changed (to each of a few others): refused */
    for (i = 0; i < n; i++) {
        const char *c;
        for (c = abc; *c; c++) {
            if (*c == sealed[i]) {
                continue;
            }
            t = apr_pstrdup(pool, sealed);
            t[i] = *c;
            ck_assert_int_ne(fa_login_open(pool, &keys, "corp", state, t,
                                           1000000, &d), APR_SUCCESS);
        }
    }
    /* cut, lengthened, empty, junk, NULL */
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state,
                                   apr_pstrndup(pool, sealed, n - 1),
                                   1000000, &d), APR_EINVAL);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state,
                                   apr_pstrndup(pool, sealed, n - 4),
                                   1000000, &d), APR_EINVAL);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state,
                                   apr_pstrcat(pool, sealed, "AAAA", NULL),
                                   1000000, &d), APR_EINVAL);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state, "", 1000000,
                                   &d), APR_EINVAL);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state, "a;b=c",
                                   1000000, &d), APR_EINVAL);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state, NULL,
                                   1000000, &d), APR_EINVAL);
    /* another version byte, the rest unchanged */
    ck_assert_int_eq(fa_b64url_decode(pool, sealed, n, &raw, &rawlen),
                     APR_SUCCESS);
    ck_assert_int_eq(raw[0], 1);
    raw[0] = 2;
    t = fa_b64url_encode(pool, raw, rawlen);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state, t, 1000000,
                                   &d), APR_EINVAL);
    /* other keys */
    fa_keys_derive(&other, "a different secret value", 24);
    ck_assert_int_eq(fa_login_open(pool, &other, "corp", state, sealed,
                                   1000000, &d), APR_EINVAL);
    /* a malformed state */
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", "short", sealed,
                                   1000000, &d), APR_EINVAL);
    /* too old, from the future, just in time */
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state, sealed,
                                   1000000 + FA_LOGIN_STATE_TTL + 1, &d),
                     APR_TIMEUP);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state, sealed,
                                   1000000 - FA_LOGIN_SKEW - 1, &d),
                     APR_TIMEUP);
    ck_assert_int_eq(fa_login_open(pool, &keys, "corp", state, sealed,
                                   1000000 + FA_LOGIN_STATE_TTL, &d),
                     APR_SUCCESS);
    /* another provider: says which */
    ck_assert_int_eq(fa_login_open(pool, &keys, "other", state, sealed,
                                   1000000, &d), FA_LOGIN_OTHER_IDP);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->idp, "corp");
}
END_TEST

START_TEST(login_seal_size_and_strict_record)
{
    fa_login_t *l, *d;
    char *state, *sealed, *big, *rec;
    apr_size_t len;

    /* the longest return_to the glue keeps fits, with room to spare */
    big = apr_palloc(pool, FA_LOGIN_RETURN_MAX + 1);
    memset(big, 'x', FA_LOGIN_RETURN_MAX);
    big[0] = '/';
    big[FA_LOGIN_RETURN_MAX] = '\0';
    l = sealed_login(big, 1000000, &state, &sealed);
    ck_assert_uint_lt(strlen(sealed), 2048);
    /* far more does not: APR_ENOSPC, no value */
    l->return_to = apr_psprintf(pool, "/%03000d", 1);
    ck_assert_int_eq(fa_login_seal(pool, &keys, state, l, &sealed),
                     APR_ENOSPC);
    ck_assert_ptr_null(sealed);
    /* the record: a repeated or unknown field is refused */
    rec = apr_pstrdup(pool, "FL2\ni4:corp\nn1:n\nv1:v\nr1:/\nu1:u\nc2:10\n");
    ck_assert_int_eq(fa_login_decode(pool, rec, strlen(rec), &d),
                     APR_SUCCESS);
    rec = apr_pstrdup(pool,
                      "FL2\ni4:corp\nn1:n\nv1:v\nr1:/\nu1:u\nc2:10\ni1:x\n");
    ck_assert_int_eq(fa_login_decode(pool, rec, strlen(rec), &d),
                     APR_EINVAL);
    rec = apr_pstrdup(pool,
                      "FL2\ni4:corp\nn1:n\nv1:v\nr1:/\nu1:u\nc2:10\nz1:x\n");
    ck_assert_int_eq(fa_login_decode(pool, rec, strlen(rec), &d),
                     APR_EINVAL);
    rec = apr_pstrdup(pool, "FL2\ni4:corp\nn1:n\nv1:v\nr1:/\nu1:u\n");
    len = strlen(rec);
    ck_assert_int_eq(fa_login_decode(pool, rec, len, &d), APR_EINVAL);
    rec = apr_pstrdup(pool, "FL1\ni4:corp\nn1:n\nv1:v\nr1:/\nu1:u\nc2:10\n");
    ck_assert_int_eq(fa_login_decode(pool, rec, strlen(rec), &d),
                     APR_EINVAL);
}
END_TEST

static json_t *claims_of(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    ck_assert_ptr_nonnull(j);
    return j;
}

START_TEST(username_chain)
{
    fa_claims_conf_t c;
    json_t *j;

    memset(&c, 0, sizeof(c));
    c.idp_id = "corp";
    j = claims_of("{\"sub\":\"s1\",\"preferred_username\":\"John Doe\","
                  "\"email\":\"jd@example.com\",\"email_verified\":true}");
    ck_assert_str_eq(fa_claims_username(pool, &c, j), "john.doe");
    json_decref(j);
    j = claims_of("{\"sub\":\"s1\",\"email\":\"JD@example.com\","
                  "\"email_verified\":true}");
    ck_assert_str_eq(fa_claims_username(pool, &c, j), "jd@example.com");
    json_decref(j);
    /* an unverified email does not name anyone */
    j = claims_of("{\"sub\":\"s1\",\"email\":\"jd@example.com\","
                  "\"email_verified\":false}");
    ck_assert_str_eq(fa_claims_username(pool, &c, j), "s1@corp");
    json_decref(j);
    j = claims_of("{\"sub\":\"s1\",\"preferred_username\":\"\"}");
    ck_assert_str_eq(fa_claims_username(pool, &c, j), "s1@corp");
    json_decref(j);
}
END_TEST

START_TEST(render_values)
{
    json_t *j = claims_of("{\"a\":[\"x\",\"y\",3],\"n\":42,\"b\":true,"
                          "\"o\":{\"k\":[1,2]},\"z\":null}");

    ck_assert_str_eq(fa_claims_render(pool, json_object_get(j, "a")),
                     "x,y,3");
    ck_assert_str_eq(fa_claims_render(pool, json_object_get(j, "n")), "42");
    ck_assert_str_eq(fa_claims_render(pool, json_object_get(j, "b")),
                     "true");
    ck_assert_str_eq(fa_claims_render(pool, json_object_get(j, "o")),
                     "{\"k\":[1,2]}");
    ck_assert_ptr_null(fa_claims_render(pool, json_object_get(j, "z")));
    ck_assert_ptr_null(fa_claims_render(pool, json_object_get(j, "none")));
    json_decref(j);
}
END_TEST

START_TEST(map_claims)
{
    fa_claims_conf_t c;
    fa_session_t s;
    fa_err_t err;
    json_t *j;

    memset(&c, 0, sizeof(c));
    memset(&s, 0, sizeof(s));
    c.idp_id = "corp";
    c.fallback_role = "viewer";
    j = claims_of("{\"sub\":\"s1\",\"preferred_username\":\"alice\","
                  "\"email\":\"a@example.com\",\"email_verified\":true,"
                  "\"given_name\":\"Alice\",\"locale\":\"de-CH\"}");
    ck_assert_int_eq(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    ck_assert_str_eq(s.user, "alice");
    ck_assert_str_eq(s.sub, "s1");
    ck_assert_str_eq(s.roles, "viewer");
    ck_assert_int_eq(s.attrs->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(s.attrs, 0, fa_attr_t).name, "EMAIL");
    ck_assert_str_eq(APR_ARRAY_IDX(s.attrs, 2, fa_attr_t).value, "de-CH");
    /* FedAuthDefaultRole comes before the provider's FallbackRole */
    c.default_role = "member";
    ck_assert_int_eq(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    ck_assert_str_eq(s.roles, "member");
    json_decref(j);
    j = claims_of("{\"preferred_username\":\"nosub\"}");
    ck_assert_int_ne(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "missing_sub");
    json_decref(j);
}
END_TEST

static apr_array_header_t *group_maps(const char *const *pairs)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(fa_group_map_t));
    fa_group_map_t *g;

    for (; *pairs; pairs += 2) {
        g = apr_array_push(a);
        g->group = pairs[0];
        g->role = pairs[1];
    }
    return a;
}

START_TEST(role_rule)
{
    static const char *const maps[] = {
        "AD-Admins", "admin", "AD-Editors", "editor", "Staff", "editor",
        "Ops", "admin", NULL };
    fa_claims_conf_t c;
    json_t *j;

    memset(&c, 0, sizeof(c));
    c.idp_id = "corp";
    c.groups_claim = "groups";
    c.group_maps = group_maps(maps);
    /* sorted, each role once */
    j = claims_of("{\"groups\":[\"Staff\",\"Ops\",\"AD-Admins\","
                  "\"AD-Editors\",\"Other\"]}");
    ck_assert_str_eq(fa_claims_roles(pool, &c, j), "admin,editor");
    json_decref(j);
    /* a string of groups, spaces or commas */
    j = claims_of("{\"groups\":\"Other, Staff AD-Admins\"}");
    ck_assert_str_eq(fa_claims_roles(pool, &c, j), "admin,editor");
    json_decref(j);
    /* exact, case-sensitive */
    j = claims_of("{\"groups\":[\"ad-admins\",\"AD-Admins \"]}");
    ck_assert_str_eq(fa_claims_roles(pool, &c, j), "");
    /* none matched: default role first, then the fallback role */
    c.fallback_role = "viewer";
    ck_assert_str_eq(fa_claims_roles(pool, &c, j), "viewer");
    c.default_role = "member";
    ck_assert_str_eq(fa_claims_roles(pool, &c, j), "member");
    json_decref(j);
    /* a match wins over both */
    j = claims_of("{\"groups\":[\"Ops\"]}");
    ck_assert_str_eq(fa_claims_roles(pool, &c, j), "admin");
    json_decref(j);
    /* no groups claim at all */
    j = claims_of("{\"sub\":\"x\"}");
    ck_assert_str_eq(fa_claims_roles(pool, &c, j), "member");
    /* groups from Graph (overage) stand in for the claim, which a token
     * with overage lacks; they are not read from the claims */
    {
        apr_array_header_t *g = apr_array_make(pool, 2, sizeof(char *));

        APR_ARRAY_PUSH(g, const char *) = "AD-Editors";
        APR_ARRAY_PUSH(g, const char *) = "Ops";
        c.groups = g;
        ck_assert_str_eq(fa_claims_roles(pool, &c, j), "admin,editor");
        json_decref(j);
        j = claims_of("{\"groups\":[\"AD-Admins\"]}");
        g->nelts = 0;
        ck_assert_str_eq(fa_claims_roles(pool, &c, j), "member");
        c.groups = NULL;
    }
    json_decref(j);
}
END_TEST

START_TEST(dotted_claims)
{
    json_t *j = claims_of("{\"realm_access\":{\"roles\":[\"a\",\"b\"]},"
                          "\"http://schemas.example/claims/upn\":\"u1\","
                          "\"a.b\":\"flat\",\"a\":{\"b\":\"deep\"}}");

    ck_assert_str_eq(fa_claims_render(pool, fa_claims_get(j,
                     "realm_access.roles")), "a,b");
    /* a member whose name has dots is found as it is */
    ck_assert_str_eq(fa_claims_render(pool, fa_claims_get(j,
                     "http://schemas.example/claims/upn")), "u1");
    ck_assert_str_eq(fa_claims_render(pool, fa_claims_get(j, "a.b")),
                     "flat");
    ck_assert_ptr_null(fa_claims_get(j, "realm_access.none"));
    ck_assert_ptr_null(fa_claims_get(j, "realm_access..roles"));
    json_decref(j);
}
END_TEST

START_TEST(userinfo_merge)
{
    json_t *id = claims_of("{\"sub\":\"s1\",\"email\":\"id@x\"}");
    json_t *ui = claims_of("{\"sub\":\"s1\",\"email\":\"ui@x\","
                           "\"groups\":[\"g\"]}");
    json_t *other = claims_of("{\"sub\":\"s2\",\"groups\":[\"g\"]}");
    json_t *nosub = claims_of("{\"groups\":[\"g\"]}");
    fa_err_t err;

    ck_assert_int_eq(fa_claims_merge_userinfo(id, ui, &err), APR_SUCCESS);
    /* the ID token wins on conflict; new claims come in */
    ck_assert_str_eq(json_string_value(json_object_get(id, "email")),
                     "id@x");
    ck_assert_ptr_nonnull(json_object_get(id, "groups"));
    ck_assert_int_ne(fa_claims_merge_userinfo(id, other, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "userinfo_sub_mismatch");
    ck_assert_int_ne(fa_claims_merge_userinfo(id, nosub, &err),
                     APR_SUCCESS);
    json_decref(id);
    json_decref(ui);
    json_decref(other);
    json_decref(nosub);
}
END_TEST

/* The claims a re-read maps: userinfo's (a group taken away goes), the ID
 * token's only about the sign-in (and those win), the identity kept when
 * userinfo lacks it. */
START_TEST(userinfo_reread_claims)
{
    json_t *id = claims_of("{\"sub\":\"s1\",\"oid\":\"o-1\","
                           "\"acr\":\"mfa\",\"tid\":\"t-1\","
                           "\"groups\":[\"admins\",\"staff\"],"
                           "\"preferred_username\":\"old\"}");
    json_t *ui = claims_of("{\"sub\":\"s1\",\"acr\":\"none\","
                           "\"preferred_username\":\"new\"}");
    fa_claims_conf_t conf;
    json_t *out;

    memset(&conf, 0, sizeof(conf));
    out = fa_claims_reread(pool, &conf, id, ui, "s1");
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_null(json_object_get(out, "groups"));
    ck_assert_ptr_null(json_object_get(out, "oid"));
    ck_assert_str_eq(json_string_value(json_object_get(out, "acr")), "mfa");
    ck_assert_str_eq(json_string_value(json_object_get(out, "tid")), "t-1");
    ck_assert_str_eq(json_string_value(json_object_get(out,
                     "preferred_username")), "new");
    conf.identifying_claim = "oid";
    out = fa_claims_reread(pool, &conf, id, ui, "o-1");
    ck_assert_str_eq(json_string_value(json_object_get(out, "oid")), "o-1");
    out = fa_claims_reread(pool, &conf, NULL, ui, "o-1");
    ck_assert_str_eq(json_string_value(json_object_get(out, "oid")), "o-1");
    ck_assert_str_eq(json_string_value(json_object_get(out, "acr")), "none");
    json_decref(id);
    json_decref(ui);
}
END_TEST

START_TEST(claim_map_and_kept_claims)
{
    fa_claims_conf_t c;
    fa_session_t s, *d;
    fa_claim_map_t *m;
    fa_err_t err;
    apr_array_header_t *kept = apr_array_make(pool, 2, sizeof(char *));
    char *rec, *big;
    apr_size_t len;
    json_t *j;

    memset(&c, 0, sizeof(c));
    memset(&s, 0, sizeof(s));
    c.idp_id = "corp";
    c.claim_maps = apr_array_make(pool, 4, sizeof(fa_claim_map_t));
    m = apr_array_push(c.claim_maps);
    m->claim = "department";
    m->attr = "DEPARTMENT";
    m = apr_array_push(c.claim_maps);
    m->claim = "evil";
    m->attr = "EVIL";
    m = apr_array_push(c.claim_maps);
    m->claim = "big";
    m->attr = "BIG";
    m = apr_array_push(c.claim_maps);
    m->claim = "upn";
    m->attr = "EMAIL";
    APR_ARRAY_PUSH(kept, const char *) = "email_verified";
    APR_ARRAY_PUSH(kept, const char *) = "amr";
    c.kept_claims = kept;
    big = apr_pcalloc(pool, 9000);
    memset(big, 'x', 8999);
    j = claims_of("{\"sub\":\"s1\",\"department\":\"R&D\","
                  "\"evil\":\"a\\r\\nX-Injected: 1\","
                  "\"email\":\"e@x\",\"upn\":\"u@x\","
                  "\"email_verified\":true,\"amr\":[\"pwd\",\"mfa\"]}");
    json_object_set_new(j, "big", json_string(big));
    ck_assert_int_eq(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    fa_session_encode(pool, &s, &rec, &len);
    s.created = 1;
    s.idp = "corp";
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_int_eq(d->attrs->nelts, 4);
    /* ClaimMap to an automatic attribute replaces it */
    ck_assert_str_eq(APR_ARRAY_IDX(d->attrs, 0, fa_attr_t).name, "EMAIL");
    ck_assert_str_eq(APR_ARRAY_IDX(d->attrs, 0, fa_attr_t).value, "u@x");
    ck_assert_str_eq(APR_ARRAY_IDX(d->attrs, 1, fa_attr_t).value, "R&D");
    /* never a line break in a value; long values cut at 8 KiB */
    ck_assert_str_eq(APR_ARRAY_IDX(d->attrs, 2, fa_attr_t).value,
                     "a  X-Injected: 1");
    ck_assert_uint_eq(strlen(APR_ARRAY_IDX(d->attrs, 3, fa_attr_t).value),
                      FA_CLAIMS_VALUE_MAX);
    /* kept claims: one entry per array element */
    ck_assert_int_eq(d->claims->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(d->claims, 0, fa_attr_t).value, "true");
    ck_assert_str_eq(APR_ARRAY_IDX(d->claims, 2, fa_attr_t).name, "amr");
    ck_assert_str_eq(APR_ARRAY_IDX(d->claims, 2, fa_attr_t).value, "mfa");
    json_decref(j);
}
END_TEST

/* Log lines of the core, for tests that check what an admin sees. */
static char logged[8][1024];
static int nlogged;

static void log_to_array(void *baton, fa_log_level_t level,
                         const char *file, int line, const char *msg)
{
    (void)baton;
    (void)file;
    (void)line;
    if (level <= FA_LOG_INFO && nlogged < 8) {
        apr_cpystrn(logged[nlogged++], msg, sizeof(logged[0]));
    }
}

/* The values of kept claim name in d, joined with '|'. */
static const char *kept_values(const fa_session_t *d, const char *name,
                               int *n)
{
    const char *out = "";
    int i;

    *n = 0;
    for (i = 0; d->claims && i < d->claims->nelts; i++) {
        const fa_attr_t *a = &APR_ARRAY_IDX(d->claims, i, fa_attr_t);
        if (!strcmp(a->name, name)) {
            out = (*n)++ ? apr_pstrcat(pool, out, "|", a->value, NULL)
                         : a->value;
        }
    }
    return out;
}

/* Kept claims are bounded per claim (FA_CLAIMS_KEPT_VALUES values,
 * FA_CLAIMS_VALUE_MAX bytes); what does not fit is left out whole and
 * logged once per claim; the session stays small enough for the store. */
START_TEST(kept_claims_bounded)
{
    apr_array_header_t *kept = apr_array_make(pool, 4, sizeof(char *));
    char *huge, *third, *rec;
    fa_claims_conf_t c;
    fa_session_t s, *d;
    fa_err_t err;
    apr_size_t len;
    json_t *j, *many, *fat, *mixed;
    int i, n;

    memset(&c, 0, sizeof(c));
    memset(&s, 0, sizeof(s));
    c.idp_id = "corp";
    APR_ARRAY_PUSH(kept, const char *) = "huge";
    APR_ARRAY_PUSH(kept, const char *) = "many";
    APR_ARRAY_PUSH(kept, const char *) = "fat";
    APR_ARRAY_PUSH(kept, const char *) = "mixed";
    APR_ARRAY_PUSH(kept, const char *) = "dept";
    c.kept_claims = kept;
    huge = apr_pcalloc(pool, 40001);
    memset(huge, 'h', 40000);
    third = apr_pcalloc(pool, 3001);
    memset(third, 't', 3000);
    j = claims_of("{\"sub\":\"s1\",\"preferred_username\":\"alice\","
                  "\"dept\":\"R&D\"}");
    json_object_set_new(j, "huge", json_string(huge));
    /* 300 short values: the first 256 are kept */
    many = json_array();
    for (i = 0; i < 300; i++) {
        json_array_append_new(many, json_string(apr_psprintf(pool, "g%d",
                                                              i)));
    }
    json_object_set_new(j, "many", many);
    /* 1000 values of 100 bytes: as many as fit in 8 KiB */
    fat = json_array();
    for (i = 0; i < 1000; i++) {
        json_array_append_new(fat, json_string(apr_psprintf(pool, "%0100d",
                                                             i)));
    }
    json_object_set_new(j, "fat", fat);
    /* one value too long among short ones: only it is left out */
    mixed = json_array();
    json_array_append_new(mixed, json_string("a"));
    json_array_append_new(mixed, json_string(huge + 30000));
    json_array_append_new(mixed, json_string("b"));
    json_object_set_new(j, "mixed", mixed);

    nlogged = 0;
    fa_log_set(log_to_array, NULL, FA_LOG_DEBUG);
    ck_assert_int_eq(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    fa_log_set(NULL, NULL, FA_LOG_WARN);
    s.created = 1;
    s.idp = "corp";
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_uint_le(len, FA_STORE_MAX_VALUE);
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);

    kept_values(d, "huge", &n);
    ck_assert_int_eq(n, 0);
    kept_values(d, "many", &n);
    ck_assert_int_eq(n, FA_CLAIMS_KEPT_VALUES);
    ck_assert_str_eq(APR_ARRAY_IDX(d->claims, 0, fa_attr_t).value, "g0");
    ck_assert_str_eq(APR_ARRAY_IDX(d->claims, 255, fa_attr_t).value,
                     "g255");
    kept_values(d, "fat", &n);
    ck_assert_int_eq(n, FA_CLAIMS_VALUE_MAX / 100);
    ck_assert_str_eq(kept_values(d, "mixed", &n), "a|b");
    ck_assert_str_eq(kept_values(d, "dept", &n), "R&D");

    /* one info line per claim that lost values, naming user and claim */
    ck_assert_int_eq(nlogged, 4);
    ck_assert_str_eq(logged[0], "FA01700: user alice: 1 value(s) of claim "
                     "huge not kept for Require fedauth-claim (over 256 "
                     "values or 8192 bytes per claim), 0 kept");
    ck_assert_ptr_nonnull(strstr(logged[1], "44 value(s) of claim many "));
    ck_assert_ptr_nonnull(strstr(logged[2], "919 value(s) of claim fat "));
    ck_assert_ptr_nonnull(strstr(logged[3], "1 value(s) of claim mixed "));
    ck_assert_ptr_nonnull(strstr(logged[3], "2 kept"));
    json_decref(j);

    /* claims within the bounds: kept whole, nothing logged */
    j = claims_of("{\"sub\":\"s1\",\"dept\":\"R&D\",\"many\":[\"x\"]}");
    json_object_set_new(j, "huge", json_string(huge + 40000 -
                                               FA_CLAIMS_VALUE_MAX));
    nlogged = 0;
    fa_log_set(log_to_array, NULL, FA_LOG_DEBUG);
    ck_assert_int_eq(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    fa_log_set(NULL, NULL, FA_LOG_WARN);
    ck_assert_int_eq(nlogged, 0);
    ck_assert_int_eq(s.claims->nelts, 3);
    ck_assert_uint_eq(strlen(APR_ARRAY_IDX(s.claims, 0, fa_attr_t).value),
                      FA_CLAIMS_VALUE_MAX);
    json_decref(j);
}
END_TEST

/* ---- the session budget (fa_claims_fit) ---- */

static char *filled(apr_size_t n, char c)
{
    char *out = apr_palloc(pool, n + 1);

    memset(out, c, n);
    out[n] = '\0';
    return out;
}

/* A session of alice with attributes A1.. of the given sizes and DEPT,
 * kept claims kbig (8000 bytes), karr (100 values of 50 bytes) and
 * ksmall, role admin, sid, and an 8000-byte ID token. */
static void big_session(const apr_size_t *attr_sizes, int n, fa_session_t *s)
{
    static const char *const maps[] = { "G", "admin", NULL };
    apr_array_header_t *kept = apr_array_make(pool, 4, sizeof(char *));
    apr_array_header_t *cms = apr_array_make(pool, 8,
                                             sizeof(fa_claim_map_t));
    fa_claim_map_t *cm;
    fa_claims_conf_t c;
    fa_err_t err;
    json_t *j, *arr;
    int i;

    memset(&c, 0, sizeof(c));
    memset(s, 0, sizeof(*s));
    c.idp_id = "corp";
    c.groups_claim = "groups";
    c.group_maps = group_maps(maps);
    APR_ARRAY_PUSH(kept, const char *) = "kbig";
    APR_ARRAY_PUSH(kept, const char *) = "karr";
    APR_ARRAY_PUSH(kept, const char *) = "ksmall";
    c.kept_claims = kept;
    j = claims_of("{\"sub\":\"alice-sub\",\"preferred_username\":\"alice\","
                  "\"groups\":[\"G\"],\"dept\":\"R&D\",\"ksmall\":\"x\"}");
    for (i = 0; i < n; i++) {
        cm = apr_array_push(cms);
        cm->claim = apr_psprintf(pool, "a%d", i + 1);
        cm->attr = apr_psprintf(pool, "A%d", i + 1);
        json_object_set_new(j, cm->claim,
                            json_string(filled(attr_sizes[i], 'a' + i)));
    }
    cm = apr_array_push(cms);
    cm->claim = "dept";
    cm->attr = "DEPT";
    c.claim_maps = cms;
    json_object_set_new(j, "kbig", json_string(filled(8000, 'k')));
    arr = json_array();
    for (i = 0; i < 100; i++) {
        json_array_append_new(arr, json_string(apr_psprintf(pool, "%050d",
                                                             i)));
    }
    json_object_set_new(j, "karr", arr);
    ck_assert_int_eq(fa_claims_map(pool, &c, j, s, &err), APR_SUCCESS);
    json_decref(j);
    s->created = s->last_seen = 1700000000;
    s->token_exp = 1700003600;
    s->idp = "corp";
    s->sid = "sid-1";
    s->id_token = filled(8000, 't');
}

static const fa_attr_t *attr_named(const apr_array_header_t *a,
                                   const char *name)
{
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(a, i, fa_attr_t).name, name)) {
            return &APR_ARRAY_IDX(a, i, fa_attr_t);
        }
    }
    return NULL;
}

static void check_shed(const apr_array_header_t *shed, int i,
                       fa_shed_kind_t kind, const char *name,
                       apr_size_t size, int values)
{
    const fa_shed_t *it = &APR_ARRAY_IDX(shed, i, fa_shed_t);

    ck_assert_int_eq(it->kind, kind);
    if (name) {
        ck_assert_str_eq(it->name, name);
    }
    else {
        ck_assert_ptr_null(it->name);
    }
    ck_assert_uint_eq(it->size, size);
    ck_assert_int_eq(it->values, values);
}

/* Everything too large: the ID token goes, then every kept claim (largest
 * first), then the largest attribute; what stays fits the budget and the
 * user, sub, idp, roles and sid are intact. */
static void add_value_map(fa_claims_conf_t *c, const char *claim,
                          const char *attr, const char *value,
                          const char *result, int priority)
{
    fa_value_map_t *vm;

    if (!c->value_maps) {
        c->value_maps = apr_array_make(pool, 8, sizeof(fa_value_map_t));
    }
    vm = apr_array_push(c->value_maps);
    vm->claim = claim;
    vm->attr = attr;
    vm->value = value;
    vm->result = result;
    vm->priority = priority;
}

/* ValueMap: an exact value, an element of an array claim, numbers and
 * booleans as text; the lowest priority wins (ties: the first defined);
 * the default when nothing matched; none: the attribute as before. */
START_TEST(value_map_priority_and_default)
{
    fa_claims_conf_t c;
    fa_session_t s;
    fa_err_t err;
    json_t *j;

    memset(&c, 0, sizeof(c));
    c.idp_id = "corp";
    add_value_map(&c, "groups", "TENANT", "sales", "t-sales", 20);
    add_value_map(&c, "groups", "TENANT", "admins", "t-admin", 10);
    add_value_map(&c, "groups", "TENANT", "staff", "t-staff", 10);
    add_value_map(&c, NULL, "TENANT", NULL, "t-none", 0);
    add_value_map(&c, "locale", "LANGUAGE", "de-CH", "de", FA_VALUE_MAP_PRIORITY);
    add_value_map(&c, "level", "TIER", "3", "gold", FA_VALUE_MAP_PRIORITY);
    add_value_map(&c, "vip", "TIER", "true", "platinum", 1);

    j = claims_of("{\"sub\":\"s\",\"groups\":[\"sales\",\"staff\","
                  "\"admins\"],\"locale\":\"de-CH\",\"level\":3}");
    ck_assert_str_eq(fa_claims_value_map(pool, &c, j, "TENANT"), "t-admin");
    ck_assert_str_eq(fa_claims_value_map(pool, &c, j, "TIER"), "gold");
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    ck_assert_str_eq(attr_named(s.attrs, "TENANT")->value, "t-admin");
    /* replaces the automatic LANGUAGE (from locale) */
    ck_assert_str_eq(attr_named(s.attrs, "LANGUAGE")->value, "de");
    json_decref(j);

    j = claims_of("{\"sub\":\"s\",\"groups\":\"sales\",\"vip\":true,"
                  "\"level\":3,\"locale\":\"fr\"}");
    ck_assert_str_eq(fa_claims_value_map(pool, &c, j, "TENANT"), "t-sales");
    ck_assert_str_eq(fa_claims_value_map(pool, &c, j, "TIER"), "platinum");
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    ck_assert_str_eq(attr_named(s.attrs, "LANGUAGE")->value, "fr");
    json_decref(j);

    j = claims_of("{\"sub\":\"s\",\"groups\":[\"other\"]}");
    ck_assert_str_eq(fa_claims_value_map(pool, &c, j, "TENANT"), "t-none");
    ck_assert_ptr_null(fa_claims_value_map(pool, &c, j, "TIER"));
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    ck_assert_ptr_null(attr_named(s.attrs, "TIER"));
    json_decref(j);
}
END_TEST

START_TEST(budget_sheds_in_order)
{
    static const apr_size_t sizes[] = { 7000, 8000, 7500, 6500, 6000 };
    apr_array_header_t *shed;
    fa_session_t s, *d;
    fa_err_t err;
    apr_size_t before, len, sum = 0;
    char *rec;
    int i, n;

    big_session(sizes, 5, &s);
    fa_session_encode(pool, &s, &rec, &before);
    ck_assert_uint_gt(before, FA_STORE_MAX_VALUE);
    ck_assert_int_eq(fa_claims_fit(pool, &s, FA_SESSION_BUDGET, &shed, &err),
                     APR_SUCCESS);
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_uint_le(len, FA_SESSION_BUDGET);

    ck_assert_int_eq(shed->nelts, 5);
    /* "t8000:" + 8000 + "\n" */
    check_shed(shed, 0, FA_SHED_ID_TOKEN, NULL, 8016, 1);   /* and "h5:" */
    /* "k4:kbig\n" + "w8000:" + 8000 + "\n" */
    check_shed(shed, 1, FA_SHED_CLAIM, "kbig", 8015, 1);
    /* 100 x ("k4:karr\n" + "w50:" + 50 + "\n") */
    check_shed(shed, 2, FA_SHED_CLAIM, "karr", 6300, 100);
    check_shed(shed, 3, FA_SHED_CLAIM, "ksmall", 15, 1);
    /* the largest attribute, A2 (listed second): "a2:A2\n" + "v8000:…\n" */
    check_shed(shed, 4, FA_SHED_ATTR, "A2", 8013, 1);
    for (i = 0; i < shed->nelts; i++) {
        sum += APR_ARRAY_IDX(shed, i, fa_shed_t).size;
    }
    ck_assert_uint_eq(before - sum, len);

    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    ck_assert_str_eq(d->user, "alice");
    ck_assert_str_eq(d->sub, "alice-sub");
    ck_assert_str_eq(d->idp, "corp");
    ck_assert_str_eq(d->roles, "admin");
    ck_assert_str_eq(d->sid, "sid-1");
    ck_assert_int_eq(d->created, 1700000000);
    ck_assert_ptr_null(d->id_token);
    ck_assert(!d->claims || d->claims->nelts == 0);
    kept_values(d, "ksmall", &n);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(attr_named(d->attrs, "A2"));
    ck_assert_uint_eq(strlen(attr_named(d->attrs, "A1")->value), 7000);
    ck_assert_uint_eq(strlen(attr_named(d->attrs, "A5")->value), 6000);
    ck_assert_str_eq(attr_named(d->attrs, "DEPT")->value, "R&D");
    ck_assert_int_eq(d->attrs->nelts, 5);
}
END_TEST

/* Tokens go right after the ID token, access and refresh token at once,
 * before any kept claim. */
START_TEST(budget_sheds_tokens_after_id_token)
{
    static const apr_size_t sizes[] = { 6000 };
    apr_array_header_t *shed;
    fa_session_t s;
    fa_err_t err;
    apr_size_t len;
    char *rec;
    int n;

    big_session(sizes, 1, &s);
    s.access_token = filled(9000, 'x');
    s.access_exp = 1700000600;
    s.refresh_token = filled(3000, 'r');
    ck_assert_int_eq(fa_claims_fit(pool, &s, FA_SESSION_BUDGET, &shed, &err),
                     APR_SUCCESS);
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_uint_le(len, FA_SESSION_BUDGET);
    ck_assert_int_ge(shed->nelts, 2);
    check_shed(shed, 0, FA_SHED_ID_TOKEN, NULL, 8016, 1);   /* and "h5:" */
    /* "A9000:" + 9000 + "\n", "E10:1700000600\n", "R3000:" + 3000 + "\n" */
    check_shed(shed, 1, FA_SHED_TOKENS, NULL, 9007 + 15 + 3007, 1);
    ck_assert_ptr_null(s.access_token);
    ck_assert_ptr_null(s.refresh_token);
    ck_assert_int_eq(s.access_exp, 0);
    /* enough room then: no kept claim went */
    ck_assert_int_eq(shed->nelts, 2);
    kept_values(&s, "ksmall", &n);
    ck_assert_int_eq(n, 1);

    /* a session that fits keeps its tokens */
    big_session(sizes, 1, &s);
    s.id_token = NULL;
    s.claims = NULL;
    s.access_token = "AT";
    s.refresh_token = "RT";
    s.access_exp = 1700000600;
    ck_assert_int_eq(fa_claims_fit(pool, &s, FA_SESSION_BUDGET, &shed, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(shed->nelts, 0);
    ck_assert_str_eq(s.access_token, "AT");
}
END_TEST

/* Only as much as needed goes: the ID token and the largest kept claim;
 * the other kept claims (all values) and every attribute stay. Of equal
 * sizes, the attribute listed last goes first. */
START_TEST(budget_sheds_only_what_is_needed)
{
    static const apr_size_t sizes[] = { 8000, 7500, 4500 };
    static const apr_size_t ties[] = { 8000, 8000, 8000, 8000 };
    apr_array_header_t *shed;
    fa_session_t s, *d;
    fa_err_t err;
    apr_size_t len;
    char *rec;
    int n;

    big_session(sizes, 3, &s);
    ck_assert_int_eq(fa_claims_fit(pool, &s, FA_SESSION_BUDGET, &shed, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(shed->nelts, 2);
    check_shed(shed, 0, FA_SHED_ID_TOKEN, NULL, 8016, 1);   /* and "h5:" */
    check_shed(shed, 1, FA_SHED_CLAIM, "kbig", 8015, 1);
    fa_session_encode(pool, &s, &rec, &len);
    ck_assert_uint_le(len, FA_SESSION_BUDGET);
    ck_assert_int_eq(fa_session_decode(pool, rec, len, &d), APR_SUCCESS);
    kept_values(d, "kbig", &n);
    ck_assert_int_eq(n, 0);
    kept_values(d, "karr", &n);
    ck_assert_int_eq(n, 100);
    ck_assert_str_eq(kept_values(d, "ksmall", &n), "x");
    ck_assert_int_eq(d->attrs->nelts, 4);
    ck_assert_str_eq(d->roles, "admin");

    /* ties: A4 (listed last) before A3 */
    big_session(ties, 4, &s);
    ck_assert_int_eq(fa_claims_fit(pool, &s, FA_SESSION_BUDGET, &shed, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(shed->nelts, 5);
    check_shed(shed, 4, FA_SHED_ATTR, "A4", 8013, 1);
    ck_assert_ptr_nonnull(attr_named(s.attrs, "A3"));
    ck_assert_ptr_null(attr_named(s.attrs, "A4"));
}
END_TEST

/* Within the budget nothing changes; roles over 8 KiB refuse the sign-in
 * (never cut); when the fields never left out do not fit, nothing is left
 * out and the answer is session_too_large. */
START_TEST(budget_limits)
{
    static const apr_size_t small[] = { 100 };
    apr_array_header_t *shed, *maps;
    fa_group_map_t *g;
    fa_claims_conf_t c;
    fa_session_t s;
    fa_err_t err;
    json_t *j, *groups;
    int i;

    big_session(small, 1, &s);
    ck_assert_int_eq(fa_claims_fit(pool, &s, FA_SESSION_BUDGET, &shed, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(shed->nelts, 0);
    ck_assert_uint_eq(strlen(s.id_token), 8000);
    ck_assert_int_eq(s.claims->nelts, 102);
    ck_assert_int_eq(s.attrs->nelts, 2);

    /* 300 groups mapped to roles of 40 bytes: 12299 bytes of roles */
    memset(&c, 0, sizeof(c));
    c.idp_id = "corp";
    c.groups_claim = "groups";
    maps = apr_array_make(pool, 300, sizeof(fa_group_map_t));
    groups = json_array();
    for (i = 0; i < 300; i++) {
        g = apr_array_push(maps);
        g->group = apr_psprintf(pool, "g%d", i);
        g->role = apr_psprintf(pool, "role-%035d", i);
        json_array_append_new(groups, json_string(g->group));
    }
    c.group_maps = maps;
    j = claims_of("{\"sub\":\"s1\",\"preferred_username\":\"alice\"}");
    json_object_set_new(j, "groups", groups);
    memset(&s, 0, sizeof(s));
    memset(&err, 0, sizeof(err));
    ck_assert_int_ne(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "too_many_roles");
    ck_assert_str_eq(err.desc, "the roles of alice are 12299 bytes, "
                     "over 8192");
    /* 199 roles fit (8158 bytes; 200 would be 8199) */
    while (json_array_size(groups) > 199) {
        json_array_remove(groups, 0);
    }
    ck_assert_int_eq(fa_claims_map(pool, &c, j, &s, &err), APR_SUCCESS);
    ck_assert_uint_eq(strlen(s.roles), 199 * 41 - 1);
    json_decref(j);

    /* a 40000-byte sid cannot be left out */
    big_session(small, 1, &s);
    s.sid = filled(40000, 's');
    memset(&err, 0, sizeof(err));
    ck_assert_int_ne(fa_claims_fit(pool, &s, FA_SESSION_BUDGET, &shed, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.code, "session_too_large");
    ck_assert_int_eq(shed->nelts, 0);
    ck_assert_ptr_nonnull(s.id_token);
    ck_assert_int_eq(s.claims->nelts, 102);
}
END_TEST

Suite *suite_session(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("session");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cookie_roundtrip_and_forgery);
    tcase_add_test(tc, ids_are_unique);
    tcase_add_test(tc, cookie_rotation_remake);
    tcase_add_test(tc, session_record_roundtrip);
    tcase_add_test(tc, session_record_head);
    tcase_add_test(tc, session_record_header_verdicts);
    tcase_add_test(tc, memo_answers_as_the_decoder);
    tcase_add_test(tc, memo_misses_what_changed);
    tcase_add_test(tc, memo_shared_by_threads);
    tcase_add_test(tc, session_record_times);
    tcase_add_test(tc, session_record_tokens);
    tcase_add_test(tc, session_record_rejects_junk);
    tcase_add_test(tc, session_expiry);
    tcase_add_test(tc, session_record_userinfo_at);
    tcase_add_test(tc, userinfo_reread_claims);
    tcase_add_test(tc, login_state);
    tcase_add_test(tc, login_seal_roundtrip);
    tcase_add_test(tc, login_seal_refuses);
    tcase_add_test(tc, login_seal_size_and_strict_record);
    tcase_add_test(tc, username_chain);
    tcase_add_test(tc, render_values);
    tcase_add_test(tc, map_claims);
    tcase_add_test(tc, role_rule);
    tcase_add_test(tc, dotted_claims);
    tcase_add_test(tc, userinfo_merge);
    tcase_add_test(tc, claim_map_and_kept_claims);
    tcase_add_test(tc, value_map_priority_and_default);
    tcase_add_test(tc, kept_claims_bounded);
    tcase_add_test(tc, budget_sheds_in_order);
    tcase_add_test(tc, budget_sheds_tokens_after_id_token);
    tcase_add_test(tc, budget_sheds_only_what_is_needed);
    tcase_add_test(tc, budget_limits);
    suite_add_tcase(s, tc);
    return s;
}
