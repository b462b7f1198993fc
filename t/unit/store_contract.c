/* SPDX-License-Identifier: Apache-2.0 */
/* store_contract.c - the behaviour every session store shares; see
 * store_contract.h. */
#include <string.h>
#include <apr_strings.h>
#include "unit.h"
#include "store_contract.h"
#include "fa_util.h"

/* The members of an index as "a,b,c" (taking it). */
static const char *take_joined(fa_store_t *st, const char *key,
                               apr_pool_t *p)
{
    apr_array_header_t *m;
    const char *out = "";
    int i;

    ck_assert_int_eq(st->index_take(st, key, p, &m), APR_SUCCESS);
    for (i = 0; i < m->nelts; i++) {
        out = apr_pstrcat(p, out, i ? "," : "",
                          APR_ARRAY_IDX(m, i, const char *), NULL);
    }
    return out;
}

static void put_session(fa_store_t *st, const char *key, apr_pool_t *p)
{
    ck_assert_int_eq(st->put(st, key, "rec", 3, fa_now_sec() + 60, p),
                     APR_SUCCESS);
}

static int present(fa_store_t *st, const char *key, apr_pool_t *p)
{
    char *v;
    apr_size_t len;

    return st->get(st, key, p, &v, &len) == APR_SUCCESS;
}

static void add(fa_store_t *st, const char *index, const char *member,
                int max, apr_pool_t *p, const char *expect_dropped)
{
    apr_array_header_t *d;
    const char *got = "";
    int i;

    ck_assert_int_eq(st->index_add(st, index, member, fa_now_sec() + 60, max,
                                   p, &d), APR_SUCCESS);
    ck_assert_ptr_nonnull(d);
    for (i = 0; i < d->nelts; i++) {
        got = apr_pstrcat(p, got, i ? "," : "",
                          APR_ARRAY_IDX(d, i, const char *), NULL);
    }
    ck_assert_str_eq(got, expect_dropped);
}

void store_contract_add(fa_store_t *st, apr_pool_t *p)
{
    char *v;
    apr_size_t len;
    apr_int64_t t0;
    int i;

    ck_assert_int_eq(st->add(st, "r:lock", "1", 1, fa_now_sec() + 60, p),
                     APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "r:lock", p, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "1");
    ck_assert_int_eq(st->add(st, "r:lock", "2", 1, fa_now_sec() + 60, p),
                     APR_EEXIST);
    ck_assert_int_eq(st->get(st, "r:lock", p, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "1");
    /* a value put is a value too */
    put_session(st, "s:held", p);
    ck_assert_int_eq(st->add(st, "s:held", "x", 1, fa_now_sec() + 60, p),
                     APR_EEXIST);
    ck_assert_int_eq(st->del(st, "r:lock", p), APR_SUCCESS);
    ck_assert_int_eq(st->add(st, "r:lock", "3", 1, fa_now_sec() + 60, p),
                     APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "r:lock", p, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "3");
    /* after its expiry a lock is no more */
    t0 = fa_now_sec();
    ck_assert_int_eq(st->add(st, "r:short", "1", 1, t0 + 1, p), APR_SUCCESS);
    ck_assert_int_eq(st->add(st, "r:short", "2", 1, t0 + 1, p), APR_EEXIST);
    for (i = 0; i < 40 && fa_now_sec() < t0 + 2; i++) {
        apr_sleep(apr_time_from_msec(100));
    }
    apr_sleep(apr_time_from_msec(200));
    ck_assert_int_eq(st->add(st, "r:short", "4", 1, fa_now_sec() + 60, p),
                     APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "r:short", p, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "4");
    /* del_if: only while the key holds exactly that value */
    ck_assert_int_eq(st->del_if(st, "r:lock", "4", 1, p), APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "r:lock", p, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "3");
    ck_assert_int_eq(st->del_if(st, "r:lock", "3x", 2, p), APR_SUCCESS);
    ck_assert_int_eq(st->del_if(st, "r:lock", "", 0, p), APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "r:lock", p, &v, &len), APR_SUCCESS);
    ck_assert_int_eq(st->del_if(st, "r:lock", "3", 1, p), APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "r:lock", p, &v, &len), APR_NOTFOUND);
    ck_assert_int_eq(st->del_if(st, "r:none", "3", 1, p), APR_SUCCESS);
    st->del(st, "r:short", p);
    st->del(st, "r:lock", p);
    st->del(st, "s:held", p);
}

void store_contract(fa_store_t *st, apr_pool_t *p)
{
    const char bin[] = "a\0b\r\nc";
    char *v, key[16];
    apr_size_t len;
    apr_array_header_t *d;
    int i;

    ck_assert_int_eq(st->get(st, "s:x", p, &v, &len), APR_NOTFOUND);
    ck_assert_int_eq(st->put(st, "s:x", bin, sizeof(bin), fa_now_sec() + 60,
                             p), APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "s:x", p, &v, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, sizeof(bin));
    ck_assert(memcmp(v, bin, sizeof(bin)) == 0);
    ck_assert_int_eq(v[len], '\0');
    /* a new value replaces the old one */
    ck_assert_int_eq(st->put(st, "s:x", "new", 3, fa_now_sec() + 60, p),
                     APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "s:x", p, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "new");
    /* take is once */
    ck_assert_int_eq(st->take(st, "s:x", p, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "new");
    ck_assert_int_eq(st->take(st, "s:x", p, &v, &len), APR_NOTFOUND);
    put_session(st, "s:y", p);
    ck_assert_int_eq(st->del(st, "s:y", p), APR_SUCCESS);
    ck_assert_int_eq(st->del(st, "s:y", p), APR_SUCCESS);
    ck_assert(!present(st, "s:y", p));

    /* an index keeps its members in the order they came */
    put_session(st, "s:1", p);
    put_session(st, "s:2", p);
    put_session(st, "s:3", p);
    add(st, "i:a", "s:1", 20, p, "");
    add(st, "i:a", "s:2", 20, p, "");
    add(st, "i:a", "s:3", 20, p, "");
    ck_assert_str_eq(take_joined(st, "i:a", p), "s:1,s:2,s:3");
    ck_assert_str_eq(take_joined(st, "i:a", p), "");
    /* one added again is the newest */
    add(st, "i:a", "s:1", 20, p, "");
    add(st, "i:a", "s:2", 20, p, "");
    add(st, "i:a", "s:1", 20, p, "");
    ck_assert_str_eq(take_joined(st, "i:a", p), "s:2,s:1");
    /* a member whose key is gone leaves the index */
    add(st, "i:a", "s:1", 20, p, "");
    add(st, "i:a", "s:2", 20, p, "");
    ck_assert_int_eq(st->del(st, "s:1", p), APR_SUCCESS);
    add(st, "i:a", "s:3", 20, p, "");
    ck_assert_str_eq(take_joined(st, "i:a", p), "s:2,s:3");

    /* beyond max, the oldest leave the index and the store: only they */
    for (i = 1; i <= 5; i++) {
        apr_snprintf(key, sizeof(key), "s:u%d", i);
        put_session(st, key, p);
    }
    put_session(st, "s:other", p);
    add(st, "i:u", "s:u1", 3, p, "");
    add(st, "i:u", "s:u2", 3, p, "");
    add(st, "i:u", "s:u3", 3, p, "");
    add(st, "i:u", "s:u4", 3, p, "s:u1");
    add(st, "i:u", "s:u5", 3, p, "s:u2");
    ck_assert(!present(st, "s:u1", p));
    ck_assert(!present(st, "s:u2", p));
    ck_assert(present(st, "s:u3", p));
    ck_assert(present(st, "s:u5", p));
    ck_assert(present(st, "s:other", p));
    ck_assert_str_eq(take_joined(st, "i:u", p), "s:u3,s:u4,s:u5");

    /* an index never holds more than max, however many come */
    for (i = 0; i < 60; i++) {
        apr_snprintf(key, sizeof(key), "s:m%d", i);
        put_session(st, key, p);
        ck_assert_int_eq(st->index_add(st, "i:m", key, fa_now_sec() + 60, 20,
                                       p, &d), APR_SUCCESS);
        ck_assert_int_eq(d->nelts, i < 20 ? 0 : 1);
    }
    ck_assert_int_eq(st->index_take(st, "i:m", p, &d), APR_SUCCESS);
    ck_assert_int_eq(d->nelts, 20);
    ck_assert_str_eq(APR_ARRAY_IDX(d, 0, const char *), "s:m40");
    ck_assert(!present(st, "s:m39", p));
    ck_assert(present(st, "s:m40", p));
    /* max outside 1..FA_STORE_INDEX_MAX is refused */
    ck_assert_int_ne(st->index_add(st, "i:z", "s:m50", fa_now_sec() + 60, 0,
                                   p, &d), APR_SUCCESS);
}
