/* SPDX-License-Identifier: Apache-2.0 */
/* test_cache.c - the request path's helpers: the per-thread cookie MAC
 * (checked against an independent HMAC, with more keys than a thread
 * keeps and from several threads at once) and the per-process cache
 * (tags, expiry, refresh in place, the bounds). */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <openssl/evp.h>
#include "unit.h"
#include "fa_session.h"
#include "fa_cache.h"
#include "fa_util.h"

#define NKEYS 6                   /* more than a thread keeps at once */

static apr_pool_t *pool;
static fa_keys_t keys[NKEYS];

static void setup(void)
{
    int i;

    apr_pool_create(&pool, NULL);
    for (i = 0; i < NKEYS; i++) {
        char secret[32];
        apr_snprintf(secret, sizeof(secret), "secret number %d", i);
        fa_keys_derive(&keys[i], secret, strlen(secret));
    }
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* The store key a cookie should give, computed without the module's
 * MAC code: "s:" + base64url of bytes 16..31 of HMAC-SHA256(key, id). */
static const char *expected_key(apr_pool_t *p, const fa_keys_t *k,
                                const char *cookie)
{
    unsigned char id[40], mac[32];
    apr_size_t n = 0, ml = 0;

    ck_assert_int_eq(fa_b64url_decode_buf(cookie, 43, id, sizeof(id), &n),
                     APR_SUCCESS);
    ck_assert_uint_eq(n, 32);
    ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL,
                                    k->cookie, sizeof(k->cookie), id, n,
                                    mac, sizeof(mac), &ml));
    ck_assert_uint_eq(ml, 32);
    return apr_pstrcat(p, "s:", fa_b64url_encode(p, mac + 16, 16), NULL);
}

START_TEST(cookie_mac_matches_hmac_across_keys)
{
    char *cookie[NKEYS * 3], *key[NKEYS * 3];
    char out[FA_SESSION_KEY_LEN + 1];
    int i, round;

    for (i = 0; i < NKEYS * 3; i++) {
        ck_assert_int_eq(fa_session_new_id(pool, &keys[i % NKEYS], &cookie[i],
                                           &key[i]), APR_SUCCESS);
        ck_assert_str_eq(key[i], expected_key(pool, &keys[i % NKEYS],
                                              cookie[i]));
    }
    /* interleaved keys push each other out of the thread's slots */
    for (round = 0; round < 3; round++) {
        for (i = 0; i < NKEYS * 3; i++) {
            ck_assert(fa_session_cookie_check(&keys[i % NKEYS], cookie[i],
                                              FA_SESSION_COOKIE_LEN, out));
            ck_assert_str_eq(out, key[i]);
            /* and no other key accepts it */
            ck_assert(!fa_session_cookie_check(&keys[(i + 1) % NKEYS],
                                               cookie[i],
                                               FA_SESSION_COOKIE_LEN, out));
        }
    }
}
END_TEST

/* Keys given only their cookie key (as fedauthctl reads it from its
 * conf), without the precomputed HMAC midstates, make the same cookie
 * MAC as keys from fa_keys_derive; and a derived key's midstates are
 * the key's own (a cookie made under keys[0] fails under keys[1]
 * whether or not the memo knows it). */
START_TEST(cookie_mac_with_and_without_midstates)
{
    fa_keys_t bare;
    char *cookie, *key, *cookie2, *key2;
    char out[FA_SESSION_KEY_LEN + 1];

    memset(&bare, 0, sizeof(bare));
    memcpy(bare.cookie, keys[2].cookie, sizeof(bare.cookie));
    bare.id = keys[2].id ^ 0x5a5a;   /* not in the memo under this id */
    ck_assert_int_eq(bare.pads_ready, 0);
    ck_assert_int_eq(fa_session_new_id(pool, &bare, &cookie, &key),
                     APR_SUCCESS);
    ck_assert_str_eq(key, expected_key(pool, &keys[2], cookie));
    ck_assert(fa_session_cookie_check(&keys[2], cookie,
                                      FA_SESSION_COOKIE_LEN, out));
    ck_assert_str_eq(out, key);
    ck_assert_int_eq(fa_session_new_id(pool, &keys[2], &cookie2, &key2),
                     APR_SUCCESS);
    bare.id ^= 0xa5a5;
    ck_assert(fa_session_cookie_check(&bare, cookie2,
                                      FA_SESSION_COOKIE_LEN, out));
    ck_assert_str_eq(out, key2);
    ck_assert(!fa_session_cookie_check(&keys[1], cookie2,
                                       FA_SESSION_COOKIE_LEN, out));
}
END_TEST

/* More cookies than a process remembers (65,536): every one still
 * checks to its own store key, a remembered cookie with one character
 * changed is refused, and no other keys accept a remembered cookie. */
START_TEST(cookie_memo_more_cookies_than_room)
{
    enum { N = 70000 };
    char **cookie = apr_palloc(pool, N * sizeof(char *));
    char **key = apr_palloc(pool, N * sizeof(char *));
    char out[FA_SESSION_KEY_LEN + 1], bad[FA_SESSION_COOKIE_LEN + 1];
    int i, round;

    for (i = 0; i < N; i++) {
        ck_assert_int_eq(fa_session_new_id(pool, &keys[0], &cookie[i],
                                           &key[i]), APR_SUCCESS);
    }
    for (round = 0; round < 2; round++) {
        for (i = 0; i < N; i++) {
            ck_assert(fa_session_cookie_check(&keys[0], cookie[i],
                                              FA_SESSION_COOKIE_LEN, out));
            ck_assert_str_eq(out, key[i]);
        }
    }
    for (i = N - 100; i < N; i++) {
        ck_assert(fa_session_cookie_check(&keys[0], cookie[i],
                                          FA_SESSION_COOKIE_LEN, out));
        memcpy(bad, cookie[i], sizeof(bad));
        bad[50] = bad[50] == 'A' ? 'B' : 'A';
        ck_assert(!fa_session_cookie_check(&keys[0], bad,
                                           FA_SESSION_COOKIE_LEN, out));
        memcpy(bad, cookie[i], sizeof(bad));
        bad[3] = bad[3] == 'A' ? 'B' : 'A';
        ck_assert(!fa_session_cookie_check(&keys[0], bad,
                                           FA_SESSION_COOKIE_LEN, out));
        ck_assert(!fa_session_cookie_check(&keys[1], cookie[i],
                                           FA_SESSION_COOKIE_LEN, out));
    }
    /* keys made from the same secret are the same keys */
    {
        fa_keys_t again;
        fa_keys_derive(&again, "secret number 0", 15);
        ck_assert(fa_session_cookie_check(&again, cookie[N - 1],
                                          FA_SESSION_COOKIE_LEN, out));
        ck_assert_str_eq(out, key[N - 1]);
    }
}
END_TEST

typedef struct job_t {
    char *cookie[NKEYS];
    const char *key[NKEYS];
    int failures;
} job_t;

static void *APR_THREAD_FUNC check_many(apr_thread_t *t, void *data)
{
    job_t *job = data;
    char out[FA_SESSION_KEY_LEN + 1];
    int i;

    for (i = 0; i < 3000; i++) {
        int k = (i * 7) % NKEYS;
        if (!fa_session_cookie_check(&keys[k], job->cookie[k],
                                     FA_SESSION_COOKIE_LEN, out)
            || strcmp(out, job->key[k])) {
            job->failures++;
        }
    }
    /* A plain return, not apr_thread_exit: pthread_exit's unwinding trips
     * a false stack-buffer-underflow report in this ASan's thread exit. */
    (void)t;
    return NULL;
}

START_TEST(cookie_mac_from_several_threads)
{
    apr_thread_t *th[4];
    job_t job;
    apr_status_t rv;
    char *k;
    int i;

    memset(&job, 0, sizeof(job));
    for (i = 0; i < NKEYS; i++) {
        fa_session_new_id(pool, &keys[i], &job.cookie[i], &k);
        job.key[i] = k;
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, check_many, &job,
                                           pool), APR_SUCCESS);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, th[i]);
    }
    /* failures is only ever incremented on a wrong answer */
    ck_assert_int_eq(job.failures, 0);
}
END_TEST

START_TEST(cache_tags_and_expiry)
{
    fa_cache_t *c;
    apr_size_t len = 0;
    apr_time_t now = apr_time_now();
    char *v;

    ck_assert_int_eq(fa_cache_create(pool, 100, 1 << 20, &c), APR_SUCCESS);
    fa_cache_put(c, "k1", 2, "value one", 9, now + apr_time_from_sec(5), 7);
    v = fa_cache_get(c, "k1", 2, now, 7, pool, &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, 9);
    ck_assert_str_eq(v, "value one");
    /* another tag: the store changed since the copy was made */
    ck_assert_ptr_null(fa_cache_get(c, "k1", 2, now, 8, pool, &len));
    /* expired */
    ck_assert_ptr_null(fa_cache_get(c, "k1", 2, now + apr_time_from_sec(6),
                                    7, pool, &len));
    ck_assert_ptr_null(fa_cache_get(c, "k2", 2, now, 7, pool, &len));
    fa_cache_del(c, "k1", 2);
    ck_assert_ptr_null(fa_cache_get(c, "k1", 2, now, 7, pool, &len));
    ck_assert_uint_eq(fa_cache_hits(c), 1);
}
END_TEST

START_TEST(cache_refresh_in_place)
{
    fa_cache_t *c;
    char val[2000], *v;
    apr_size_t len = 0, after_first;
    apr_time_t now = apr_time_now();
    int i;

    memset(val, 'a', sizeof(val));
    ck_assert_int_eq(fa_cache_create(pool, 100, 1 << 20, &c), APR_SUCCESS);
    fa_cache_put(c, "sess", 4, val, 1400, now + apr_time_from_sec(1), 0);
    after_first = fa_cache_bytes(c);
    ck_assert_uint_gt(after_first, 1400);
    /* a refresh every "second" with a value of about the same size does
     * not take more memory */
    for (i = 0; i < 10000; i++) {
        val[0] = (char)('a' + i % 26);
        fa_cache_put(c, "sess", 4, val, 1400 + (apr_size_t)(i % 100),
                     now + apr_time_from_sec(1 + i), 0);
    }
    ck_assert_uint_eq(fa_cache_bytes(c), after_first);
    v = fa_cache_get(c, "sess", 4, now, 0, pool, &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, 1400 + 9999 % 100);
    ck_assert_int_eq(v[0], 'a' + 9999 % 26);
    ck_assert_int_eq(v[len], '\0');
    /* a value that no longer fits takes a new buffer */
    fa_cache_put(c, "sess", 4, val, sizeof(val), now + apr_time_from_sec(9),
                 0);
    ck_assert_uint_gt(fa_cache_bytes(c), after_first);
    v = fa_cache_get(c, "sess", 4, now, 0, pool, &len);
    ck_assert_uint_eq(len, sizeof(val));
}
END_TEST

START_TEST(cache_bounds)
{
    fa_cache_t *c;
    char key[16], val[100];
    apr_size_t len = 0;
    apr_time_t now = apr_time_now();
    int i;

    memset(val, 'v', sizeof(val));
    ck_assert_int_eq(fa_cache_create(pool, 50, 64 * 1024, &c), APR_SUCCESS);
    for (i = 0; i < 5000; i++) {
        apr_snprintf(key, sizeof(key), "k%d", i);
        fa_cache_put(c, key, strlen(key), val, sizeof(val),
                     now + apr_time_from_sec(60), 0);
        ck_assert_uint_le(fa_cache_bytes(c), 64 * 1024);
    }
    /* the last one is there, one from long ago is not */
    ck_assert_ptr_nonnull(fa_cache_get(c, "k4999", 5, now, 0, pool, &len));
    ck_assert_ptr_null(fa_cache_get(c, "k1", 2, now, 0, pool, &len));
    /* a value larger than a quarter of the bound is not kept */
    {
        char *big = apr_palloc(pool, 20000);
        memset(big, 'b', 20000);
        fa_cache_put(c, "big", 3, big, 20000, now + apr_time_from_sec(60),
                     0);
        ck_assert_ptr_null(fa_cache_get(c, "big", 3, now, 0, pool, &len));
    }
}
END_TEST

/* More keys than room, asked in turn: the cache keeps serving part of
 * them (a cache that started over when full would serve none), and its
 * memory stays put. */
START_TEST(cache_more_keys_than_room)
{
    fa_cache_t *c;
    char key[16], val[1400];
    apr_size_t len = 0, bytes = 0;
    apr_time_t now = apr_time_now();
    unsigned long hits;
    int i, round;

    memset(val, 'v', sizeof(val));
    ck_assert_int_eq(fa_cache_create(pool, 1000, 64 << 20, &c), APR_SUCCESS);
    for (round = 0; round < 3; round++) {
        hits = fa_cache_hits(c);
        for (i = 0; i < 1500; i++) {
            apr_snprintf(key, sizeof(key), "s:%d", i);
            if (!fa_cache_get(c, key, strlen(key), now, 0, pool, &len)) {
                fa_cache_put(c, key, strlen(key), val, sizeof(val),
                             now + apr_time_from_sec(60), 0);
            }
        }
        if (round == 1) {
            bytes = fa_cache_bytes(c);
        }
        if (round > 0) {
            ck_assert_uint_gt(fa_cache_hits(c) - hits, 400);
        }
    }
    ck_assert_uint_eq(fa_cache_bytes(c), bytes);
    ck_assert_uint_le(bytes, 1024 * (sizeof(val) + 200));
}
END_TEST

typedef struct worker_t {
    fa_cache_t *c;
    int id;
    int bad;
} worker_t;

static void *APR_THREAD_FUNC cache_worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    apr_pool_t *p;
    char key[32], val[600], *got;
    apr_size_t len;
    int i;

    (void)t;
    apr_pool_create(&p, NULL);
    for (i = 0; i < 20000; i++) {
        apr_size_t n = 100 + (apr_size_t)(i % 500);
        apr_snprintf(key, sizeof(key), "w%d-%d", w->id, i % 300);
        memset(val, 'a' + w->id, n);
        val[0] = (char)('0' + i % 10);
        fa_cache_put(w->c, key, strlen(key), val, n,
                     apr_time_now() + apr_time_from_sec(60), 0);
        got = fa_cache_get(w->c, key, strlen(key), apr_time_now(), 0, p,
                           &len);
        /* another thread may have taken the place; never a mixed value */
        if (got && (len != n || got[0] != val[0]
                    || memcmp(got + 1, val + 1, n - 1))) {
            w->bad++;
        }
        if (i % 512 == 0) {
            apr_pool_clear(p);
        }
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(cache_from_several_threads)
{
    fa_cache_t *c;
    apr_thread_t *th[4];
    worker_t w[4];
    apr_status_t rv;
    int i;

    ck_assert_int_eq(fa_cache_create(pool, 256, 1 << 20, &c), APR_SUCCESS);
    for (i = 0; i < 4; i++) {
        w[i].c = c;
        w[i].id = i;
        w[i].bad = 0;
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, cache_worker, &w[i],
                                           pool), APR_SUCCESS);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, th[i]);
        ck_assert_int_eq(w[i].bad, 0);
    }
    ck_assert_uint_le(fa_cache_bytes(c), 1 << 20);
}
END_TEST

Suite *suite_cache(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cookie_mac_matches_hmac_across_keys);
    tcase_add_test(tc, cookie_mac_from_several_threads);
    tcase_add_test(tc, cookie_mac_with_and_without_midstates);
    tcase_add_test(tc, cookie_memo_more_cookies_than_room);
    tcase_add_test(tc, cache_tags_and_expiry);
    tcase_add_test(tc, cache_refresh_in_place);
    tcase_add_test(tc, cache_bounds);
    tcase_add_test(tc, cache_more_keys_than_room);
    tcase_add_test(tc, cache_from_several_threads);
    suite_add_tcase(s, tc);
    return s;
}
