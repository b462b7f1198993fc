/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_shm.c - the embedded store: the contract every store keeps,
 * its capacity (exactly what it says it holds, all of it usable whatever
 * the keys look like), eviction of the least recently used, expiry, the
 * reports and how often they come, a file found again after a restart or
 * replaced when it is not ours, several processes at once, and a process
 * that dies holding the lock. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "store_contract.h"
#include "fa_store.h"
#include "fa_util.h"

static apr_pool_t *pool;
static char dir[64];
static int reports[4];
static fa_shm_stats_t prefault_seen;   /* written by the prefault thread */

static void count_report(void *baton, fa_shm_event_t ev,
                         const fa_shm_stats_t *st)
{
    (void)baton;
    if (ev == FA_SHM_PREFAULT) {
        prefault_seen = *st;
        __atomic_add_fetch(&reports[ev], 1, __ATOMIC_RELEASE);
        return;
    }
    reports[ev]++;
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    strcpy(dir, "/tmp/fa-shm-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(reports, 0, sizeof(reports));
}

static void teardown(void)
{
    char cmd[96];

    apr_pool_destroy(pool);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static fa_store_t *open_store(apr_pool_t *p, const char *name,
                              apr_size_t size, int *reused)
{
    fa_shm_conf_t conf;
    fa_store_t *st;
    fa_err_t err;
    int dummy;

    memset(&conf, 0, sizeof(conf));
    memset(&err, 0, sizeof(err));
    conf.path = name ? apr_pstrcat(p, dir, "/", name, NULL) : NULL;
    conf.size = size;
    conf.notify = count_report;
    ck_assert_msg(fa_store_shm_open(p, &conf, &st, reused ? reused : &dummy,
                                    &err) == APR_SUCCESS, "%s", err.desc);
    return st;
}

/* A session key as the module makes them ("s:" and 22 base64url
 * characters): every key starts the same, as real ones do. */
static const char *skey(apr_pool_t *p, int i)
{
    return apr_psprintf(p, "s:%022d", i);
}

static char record[1400];

static int has(fa_store_t *st, const char *key)
{
    char *v;
    apr_size_t len;

    return st->get(st, key, pool, &v, &len) == APR_SUCCESS
           && len == sizeof(record) && !memcmp(v, record, len);
}

START_TEST(contract_anonymous_and_file)
{
    store_contract(open_store(pool, NULL, 1 << 20, NULL), pool);
    store_contract(open_store(pool, "contract", 1 << 20, NULL), pool);
    store_contract_add(open_store(pool, NULL, 1 << 20, NULL), pool);
}
END_TEST

/* It holds as many ordinary sessions as it says, and loses none of them
 * until it is full; then exactly those not in use go, oldest first. */
START_TEST(capacity_is_what_it_says)
{
    fa_store_t *st = open_store(pool, "cap", 8 << 20, NULL);
    apr_uint32_t cap = fa_store_shm_capacity(st, 24, sizeof(record));
    fa_shm_stats_t s;
    apr_uint32_t i, lost = 0;

    memset(record, 'r', sizeof(record));
    /* 8 MiB: about 5,000 sessions of 1.4 KB */
    ck_assert_uint_ge(cap, 5000);
    for (i = 0; i < cap; i++) {
        ck_assert_int_eq(st->put(st, skey(pool, (int)i), record,
                                 sizeof(record), fa_now_sec() + 600, pool),
                         APR_SUCCESS);
    }
    fa_store_shm_stats(st, &s);
    ck_assert_uint_eq(s.sessions, cap);
    ck_assert_uint_eq(s.evicted, 0);
    ck_assert_int_eq(reports[FA_SHM_FULL], 0);
    ck_assert_int_eq(reports[FA_SHM_HIGH], 1);
    /* all but the first 100 read, a second after every write (a read
     * notes its second; a use counts when it comes in a later second than
     * the write); the first 100 are not read, so they are not in use */
    usleep(1100 * 1000);
    for (i = 100; i < cap; i++) {
        lost += !has(st, skey(pool, (int)i));
    }
    ck_assert_uint_eq(lost, 0);
    /* 100 more: the 100 not used since they were written go, no other */
    for (i = cap; i < cap + 100; i++) {
        ck_assert_int_eq(st->put(st, skey(pool, (int)i), record,
                                 sizeof(record), fa_now_sec() + 600, pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < cap + 100; i++) {
        ck_assert_int_eq(has(st, skey(pool, (int)i)), i >= 100);
    }
    fa_store_shm_stats(st, &s);
    ck_assert_uint_eq(s.evicted, 100);
    ck_assert_uint_eq(s.sessions, cap);
    /* one report of the evictions, however many there were */
    ck_assert_int_eq(reports[FA_SHM_FULL], 1);
    ck_assert_int_eq(reports[FA_SHM_HIGH], 1);
}
END_TEST

/* get_head: only the head a value's own head field names (the session
 * records' fa_session_head); a value without one, or one that names more
 * than the value, comes whole. */
static apr_size_t head_of_test(const char *v, apr_size_t n)
{
    return n >= 3 && v[0] == 'H' ? (apr_size_t)(v[1] - '0') * 10
                                   + (apr_size_t)(v[2] - '0') : 0;
}

START_TEST(get_head_reads_the_head)
{
    fa_store_t *st = open_store(pool, NULL, 1 << 20, NULL);
    char val[600], *v;
    apr_size_t len;
    int whole = -1;

    memset(val, 'v', sizeof(val));
    memcpy(val, "H40", 3);
    ck_assert_ptr_nonnull(st->get_head);
    st->put(st, skey(pool, 1), val, sizeof(val), fa_now_sec() + 60, pool);
    ck_assert_int_eq(st->get_head(st, skey(pool, 1), pool, head_of_test, &v,
                                  &len, &whole), APR_SUCCESS);
    ck_assert_uint_eq(len, 40);
    ck_assert_int_eq(whole, 0);
    ck_assert_int_eq(memcmp(v, val, 40), 0);
    ck_assert_int_eq(v[40], '\0');
    memcpy(val, "H99", 3);                   /* longer than 16: still cut */
    st->put(st, skey(pool, 2), val, 50, fa_now_sec() + 60, pool);
    ck_assert_int_eq(st->get_head(st, skey(pool, 2), pool, head_of_test, &v,
                                  &len, &whole), APR_SUCCESS);
    ck_assert_uint_eq(len, 50);              /* 99 is past the end: whole */
    ck_assert_int_eq(whole, 1);
    memcpy(val, "x", 1);                     /* no head field */
    st->put(st, skey(pool, 3), val, sizeof(val), fa_now_sec() + 60, pool);
    ck_assert_int_eq(st->get_head(st, skey(pool, 3), pool, head_of_test, &v,
                                  &len, &whole), APR_SUCCESS);
    ck_assert_uint_eq(len, sizeof(val));
    ck_assert_int_eq(whole, 1);
    ck_assert_int_eq(st->get_head(st, skey(pool, 4), pool, head_of_test, &v,
                                  &len, &whole), APR_NOTFOUND);
}
END_TEST

/* Sessions in use stay; the idle ones make room. A read notes its second,
 * and a use counts when it came in a later second than the entry's
 * write, so the ten are used a second after they were written. */
START_TEST(least_recently_used_go_first)
{
    fa_store_t *st = open_store(pool, NULL, 1 << 20, NULL);
    apr_uint32_t cap = fa_store_shm_capacity(st, 24, sizeof(record));
    apr_uint32_t i;

    for (i = 0; i < cap; i++) {
        st->put(st, skey(pool, (int)i), record, sizeof(record),
                fa_now_sec() + 600, pool);
    }
    usleep(1100 * 1000);
    for (i = 0; i < 10; i++) {         /* the oldest ten are in use */
        ck_assert(has(st, skey(pool, (int)i)));
    }
    for (i = cap; i < cap + 10; i++) {
        st->put(st, skey(pool, (int)i), record, sizeof(record),
                fa_now_sec() + 600, pool);
    }
    for (i = 0; i < 10; i++) {
        ck_assert(has(st, skey(pool, (int)i)));
        ck_assert(!has(st, skey(pool, (int)i + 10)));
    }
    ck_assert(has(st, skey(pool, 20)));
}
END_TEST

/* A store whose every entry is in use still makes room at once: a write
 * moves at most MOVE_MAX (1,024) of them to the head, in their order, and
 * ends the next one (the first write: key 1024). */
START_TEST(all_in_use_still_makes_room)
{
    fa_store_t *st = open_store(pool, NULL, 8 << 20, NULL);
    apr_uint32_t cap = fa_store_shm_capacity(st, 24, sizeof(record));
    fa_shm_stats_t s;
    apr_uint32_t i;

    ck_assert_uint_gt(cap, 1024 + 10);
    for (i = 0; i < cap; i++) {
        st->put(st, skey(pool, (int)i), record, sizeof(record),
                fa_now_sec() + 600, pool);
    }
    usleep(1100 * 1000);
    for (i = 0; i < cap; i++) {
        ck_assert(has(st, skey(pool, (int)i)));
    }
    for (i = cap; i < cap + 10; i++) {
        ck_assert_int_eq(st->put(st, skey(pool, (int)i), record,
                                 sizeof(record), fa_now_sec() + 600, pool),
                         APR_SUCCESS);
    }
    fa_store_shm_stats(st, &s);
    ck_assert_uint_eq(s.evicted, 10);
    ck_assert_uint_eq(s.sessions, cap);
    ck_assert(!has(st, skey(pool, 1024)));
    ck_assert(has(st, skey(pool, 1023)));
    ck_assert(has(st, skey(pool, 1025)));
}
END_TEST

/* A flood of sign-in starts (login state, which anyone can cause) takes
 * at most a quarter of the store and never the room of a session. */
START_TEST(login_state_flood_keeps_sessions)
{
    fa_store_t *st = open_store(pool, NULL, 1 << 20, NULL);
    apr_uint32_t cap = fa_store_shm_capacity(st, 24, sizeof(record));
    apr_uint32_t sessions = cap * 7 / 10, i, lost = 0, logins = 0, per;
    fa_shm_stats_t s;
    char state[200];
    char *v;
    apr_size_t len;

    memset(record, 's', sizeof(record));
    memset(state, 'l', sizeof(state));
    for (i = 0; i < sessions; i++) {
        st->put(st, skey(pool, (int)i), record, sizeof(record),
                fa_now_sec() + 600, pool);
    }
    for (i = 0; i < 20000; i++) {
        ck_assert_int_eq(st->put(st, apr_psprintf(pool, "l:%030u", i), state,
                                 sizeof(state), fa_now_sec() + 600, pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < sessions; i++) {
        lost += !has(st, skey(pool, (int)i));
    }
    ck_assert_uint_eq(lost, 0);
    for (i = 0; i < 20000; i++) {
        logins += st->get(st, apr_psprintf(pool, "l:%030u", i), pool, &v,
                          &len) == APR_SUCCESS;
    }
    fa_store_shm_stats(st, &s);
    /* a quarter of the blocks; the newest kept */
    per = (apr_uint32_t)(fa_store_shm_entry_bytes(32, sizeof(state))
                         / FA_SHM_BLOCK_BYTES);
    ck_assert_uint_eq(per, 3);
    ck_assert_uint_le(logins, s.blocks / 4 / per);
    ck_assert_uint_ge(logins, s.blocks / 4 / per - 1);
    ck_assert_int_eq(st->get(st, "l:000000000000000000000000019999", pool,
                             &v, &len), APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "l:000000000000000000000000000000", pool,
                             &v, &len), APR_NOTFOUND);
    ck_assert_uint_eq(s.sessions, sessions);
}
END_TEST

/* child_init maps the used part from a thread and reports it once:
 * the span covers every block written, all of it mapped; a child pool
 * destroyed at once (the thread told to stop, then joined) crashes
 * nothing, and the store still answers. */
static void wait_prefault_report(int n)
{
    int i;

    for (i = 0; i < 500 && __atomic_load_n(&reports[FA_SHM_PREFAULT],
                                           __ATOMIC_ACQUIRE) < n; i++) {
        usleep(10000);
    }
    ck_assert_int_eq(__atomic_load_n(&reports[FA_SHM_PREFAULT],
                                     __ATOMIC_ACQUIRE), n);
}

START_TEST(child_init_maps_the_used_part)
{
    fa_store_t *st = open_store(pool, "pf.shm", 4 * 1024 * 1024, NULL);
    apr_pool_t *child;
    fa_shm_stats_t ss;
    int i;

    /* empty: the header's page and the first links', nothing more */
    apr_pool_create(&child, pool);
    ck_assert_int_eq(st->child_init(st, child), APR_SUCCESS);
    wait_prefault_report(1);
    ck_assert_uint_le(prefault_seen.prefault_span,
                      3 * (apr_size_t)sysconf(_SC_PAGESIZE));
    apr_pool_destroy(child);
    memset(record, 'r', sizeof(record));
    for (i = 0; i < 1000; i++) {
        ck_assert_int_eq(st->put(st, skey(pool, i), record,
                                 sizeof(record), fa_now_sec() + 600, pool),
                         APR_SUCCESS);
    }
    fa_store_shm_stats(st, &ss);
    ck_assert_ptr_nonnull(st->child_init);
    apr_pool_create(&child, pool);
    ck_assert_int_eq(st->child_init(st, child), APR_SUCCESS);
    wait_prefault_report(2);
    ck_assert_int_eq(prefault_seen.prefault_errno, 0);
    ck_assert_uint_eq(prefault_seen.prefault_bytes,
                      prefault_seen.prefault_span);
    ck_assert_uint_ge(prefault_seen.prefault_span,
                      (apr_size_t)ss.blocks_used * FA_SHM_BLOCK);
    ck_assert_uint_le(prefault_seen.prefault_span, 4 * 1024 * 1024);
    apr_pool_destroy(child);
    apr_pool_create(&child, pool);
    ck_assert_int_eq(st->child_init(st, child), APR_SUCCESS);
    apr_pool_destroy(child);
    ck_assert(has(st, skey(pool, 999)));
}
END_TEST

/* Host copies due for renewal (fa_store_shm_due): of the copies that took
 * their place by the time asked, oldest first, those used (made or read)
 * since the second asked are given and the rest left to end at their
 * time; either way they take their place again, so a walk gives each
 * once a turn; a copy placed later waits; login state is not walked. A
 * renewal (fa_store_shm_renew) is not a use: the copy keeps its second. */
static const char *ckey(apr_pool_t *p, int i)
{
    return apr_psprintf(p, "0x55aa|s:%022d", i);
}

static int held(fa_store_t *st, const char *key)
{
    char *v;
    apr_size_t n;

    return st->get(st, key, pool, &v, &n) == APR_SUCCESS;
}

static apr_uint32_t entries(fa_store_t *st)
{
    fa_shm_stats_t stats;

    fa_store_shm_stats(st, &stats);
    return stats.entries;
}

START_TEST(due_gives_the_copies_in_use)
{
    fa_store_t *st = open_store(pool, NULL, 1024 * 1024, NULL);
    apr_array_header_t *keys = apr_array_make(pool, 8, sizeof(const char *));
    apr_int64_t t0, t1;
    char *v;
    apr_size_t n;
    int i;

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(st->put(st, ckey(pool, i), "copy", 4,
                                 fa_now_sec() + 600, pool), APR_SUCCESS);
    }
    ck_assert_int_eq(st->put(st, "l:login", "state", 5, fa_now_sec() + 600,
                             pool), APR_SUCCESS);
    t0 = fa_now_sec();
    /* placed after the time asked: not walked */
    ck_assert_int_eq(fa_store_shm_due(st, t0 - 5, t0 - 5, 10, pool, keys), 0);
    ck_assert_uint_eq(entries(st), 5);
    usleep(1100 * 1000);
    t1 = fa_now_sec();
    ck_assert_int_eq(held(st, ckey(pool, 0)), 1);     /* read now */
    ck_assert_int_eq(held(st, ckey(pool, 2)), 1);
    ck_assert_int_eq(st->put(st, ckey(pool, 9), "later", 5,
                             fa_now_sec() + 600, pool), APR_SUCCESS);
    /* walked: placed by t0; given: used since t1 */
    ck_assert_int_eq(fa_store_shm_due(st, t0, t1, 10, pool, keys), 2);
    ck_assert_int_eq(keys->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 0, const char *), ckey(pool, 0));
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 1, const char *), ckey(pool, 2));
    /* nothing removed: the others end at their time */
    ck_assert_uint_eq(entries(st), 6);
    /* given once a turn: all walked took their place again */
    apr_array_clear(keys);
    ck_assert_int_eq(fa_store_shm_due(st, t0, t0, 10, pool, keys), 0);
    /* made counts as used: with a wider window the unread ones are
     * given at the next turn too */
    usleep(1100 * 1000);
    ck_assert_int_eq(fa_store_shm_due(st, fa_now_sec() - 1, t0 - 1, 10, pool,
                                      keys), 5);
    ck_assert_uint_eq(entries(st), 6);
    ck_assert_int_eq(held(st, "l:login"), 1);
    /* a renewal keeps the second of the last use; a put is a use */
    ck_assert_int_eq(fa_store_shm_renew(st, ckey(pool, 1), "renewed", 7,
                                        fa_now_sec() + 600), APR_SUCCESS);
    ck_assert_int_eq(st->put(st, ckey(pool, 3), "put", 3,
                             fa_now_sec() + 600, pool), APR_SUCCESS);
    apr_array_clear(keys);
    usleep(1100 * 1000);
    /* placed_by is taken as the second before now at the latest: what a
     * walk placed again is never walked again by the same walk */
    ck_assert_int_eq(fa_store_shm_due(st, fa_now_sec() + 5, t0 + 1, 10, pool,
                                      keys), 4);
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 0, const char *), ckey(pool, 9));
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 1, const char *), ckey(pool, 0));
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 2, const char *), ckey(pool, 2));
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 3, const char *), ckey(pool, 3));
    ck_assert_int_eq(st->get(st, ckey(pool, 1), pool, &v, &n), APR_SUCCESS);
    ck_assert_str_eq(v, "renewed");
}
END_TEST

/* max bounds what one walk gives, and one walk visits at most 4 * max
 * entries; expired copies go whether read or not. */
START_TEST(due_is_bounded)
{
    fa_store_t *st = open_store(pool, NULL, 1024 * 1024, NULL);
    apr_array_header_t *keys = apr_array_make(pool, 8, sizeof(const char *));
    fa_shm_stats_t stats;
    apr_int64_t t0;
    int i, total = 0, got = 1;

    for (i = 0; i < 40; i++) {
        ck_assert_int_eq(st->put(st, ckey(pool, i), "copy", 4,
                                 fa_now_sec() + (i < 20 ? 1 : 600), pool),
                         APR_SUCCESS);
    }
    t0 = fa_now_sec();
    usleep(2100 * 1000);
    for (i = 20; i < 40; i++) {
        ck_assert_int_eq(held(st, ckey(pool, i)), 1);
    }
    /* the first 20 expired: a walk of max 3 visits 12, removing them */
    ck_assert_int_eq(fa_store_shm_due(st, t0, t0, 3, pool, keys), 0);
    fa_store_shm_stats(st, &stats);
    ck_assert_uint_eq(stats.entries, 28);
    for (i = 0; i < 20 && got > 0; i++) {
        got = fa_store_shm_due(st, t0, t0, 3, pool, keys);
        ck_assert_int_le(got, 3);
        total += got;
    }
    ck_assert_int_eq(total, 20);
    ck_assert_int_eq(keys->nelts, 20);
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 0, const char *), ckey(pool, 20));
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 19, const char *), ckey(pool, 39));
    fa_store_shm_stats(st, &stats);
    ck_assert_uint_eq(stats.entries, 20);
}
END_TEST

START_TEST(expiry_and_limits)
{
    fa_store_t *st = open_store(pool, NULL, 1 << 20, NULL);
    fa_shm_stats_t s;
    char *v, big[FA_STORE_MAX_VALUE + 1];
    apr_size_t len;
    apr_uint32_t before;

    ck_assert_int_eq(st->put(st, "s:old", "v", 1, fa_now_sec() - 1, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "s:old", pool, &v, &len), APR_NOTFOUND);
    fa_store_shm_stats(st, &s);
    ck_assert_uint_eq(s.expired, 1);
    ck_assert_uint_eq(s.entries, 0);
    memset(big, 'b', sizeof(big));
    ck_assert_int_eq(st->put(st, "s:big", big, sizeof(big),
                             fa_now_sec() + 60, pool), APR_ENOSPC);
    ck_assert_int_eq(st->put(st, "s:big", big, FA_STORE_MAX_VALUE,
                             fa_now_sec() + 60, pool), APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "s:big", pool, &v, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, FA_STORE_MAX_VALUE);
    ck_assert(!memcmp(v, big, len));
    ck_assert_int_eq(st->put(st, apr_psprintf(pool, "%065d", 1), "v", 1,
                             fa_now_sec() + 60, pool), APR_EINVAL);
    ck_assert_int_eq(st->get(st, "", pool, &v, &len), APR_EINVAL);
    /* the change counter moves with every write and delete of the key */
    before = st->version(st, "s:big");
    st->put(st, "s:big", "x", 1, fa_now_sec() + 60, pool);
    ck_assert_uint_ne(st->version(st, "s:big"), before);
    before = st->version(st, "s:big");
    st->del(st, "s:big", pool);
    ck_assert_uint_ne(st->version(st, "s:big"), before);
}
END_TEST

/* The file outlives the process that made it (a restart of httpd); one
 * of another size, or that is not ours, is replaced. */
START_TEST(file_found_again_or_replaced)
{
    apr_pool_t *p1, *p2;
    fa_store_t *st;
    struct stat sb;
    char *v, *path = apr_pstrcat(pool, dir, "/again", NULL);
    apr_size_t len;
    int reused = -1;
    FILE *f;

    memset(record, 'a', sizeof(record));
    apr_pool_create(&p1, pool);
    st = open_store(p1, "again", 1 << 20, &reused);
    ck_assert_int_eq(reused, 0);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    st->put(st, "s:kept", record, sizeof(record), fa_now_sec() + 60, pool);
    apr_pool_destroy(p1);

    apr_pool_create(&p2, pool);
    st = open_store(p2, "again", 1 << 20, &reused);
    ck_assert_int_eq(reused, 1);
    ck_assert(has(st, "s:kept"));
    apr_pool_destroy(p2);

    /* another size: a new, empty store */
    st = open_store(pool, "again", 2 << 20, &reused);
    ck_assert_int_eq(reused, 0);
    ck_assert_int_eq(st->get(st, "s:kept", pool, &v, &len), APR_NOTFOUND);

    /* a file of the right size that someone else wrote */
    f = fopen(apr_pstrcat(pool, dir, "/foreign", NULL), "w");
    ck_assert_ptr_nonnull(f);
    for (len = 0; len < (1 << 20); len++) {
        fputc((int)(len * 7 % 251), f);
    }
    fclose(f);
    chmod(apr_pstrcat(pool, dir, "/foreign", NULL), 0600);
    st = open_store(pool, "foreign", 1 << 20, &reused);
    ck_assert_int_eq(reused, 0);
    store_contract(st, pool);
}
END_TEST

/* Four processes write, read and delete at once; the store stays whole
 * and counts what it holds. */
START_TEST(several_processes)
{
    fa_store_t *st = open_store(pool, "procs", 4 << 20, NULL);
    fa_shm_stats_t s;
    pid_t kids[4];
    int k, status, i, found = 0;

    memset(record, 'p', sizeof(record));
    for (k = 0; k < 4; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            apr_pool_t *cp;
            int bad = 0;
            apr_pool_create(&cp, NULL);
            for (i = 0; i < 3000; i++) {
                const char *key = apr_psprintf(cp, "s:%d-%020d", k, i % 500);
                char *v;
                apr_size_t len;
                st->put(st, key, record, 100 + (apr_size_t)(i % 1300),
                        fa_now_sec() + 60, cp);
                if (st->get(st, key, cp, &v, &len) != APR_SUCCESS
                    || len != 100 + (apr_size_t)(i % 1300)
                    || memcmp(v, record, len)) {
                    bad++;
                }
                if (i % 7 == 0) {
                    st->del(st, key, cp);
                }
            }
            _exit(bad ? 1 : 0);
        }
    }
    for (k = 0; k < 4; k++) {
        ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    for (k = 0; k < 4; k++) {
        for (i = 0; i < 500; i++) {
            char *v;
            apr_size_t len;
            found += st->get(st, apr_psprintf(pool, "s:%d-%020d", k, i), pool,
                             &v, &len) == APR_SUCCESS;
        }
    }
    fa_store_shm_stats(st, &s);
    ck_assert_uint_eq(s.entries, (apr_uint32_t)found);
    ck_assert_uint_eq(s.evicted, 0);
    ck_assert_int_gt(found, 1000);
}
END_TEST

/* Reads take no lock: two processes read while two others rewrite the
 * same keys (and a small store evicts), and a read gives a whole value
 * as it was written, or none, never a mix of two. Each value says which
 * write it is: its length and every byte follow from its first four. */
static apr_size_t torn_len(unsigned int n)
{
    return 8 + (apr_size_t)(n * 37u % 2000u);
}

static int torn_whole(const char *v, apr_size_t len)
{
    unsigned int n;
    apr_size_t i;

    if (len < 8) {
        return 0;
    }
    memcpy(&n, v, sizeof(n));
    if (len != torn_len(n)) {
        return 0;
    }
    for (i = 4; i < len; i++) {
        if ((unsigned char)v[i] != (unsigned char)(n * 7u + i)) {
            return 0;
        }
    }
    return 1;
}

/* Writer (k 0 or 1) or reader (2 or 3) of the torn-read tests: 0 when
 * all went well, 1 for a torn read, 2 for a reader that never found one. */
static int torn_worker(fa_store_t *st, int k, int rounds)
{
    apr_pool_t *cp;
    char buf[2100], *v;
    apr_size_t len, i;
    unsigned int n;
    int round, bad = 0, seen = 0;

    apr_pool_create(&cp, NULL);
    for (round = 0; round < rounds; round++) {
        const char *key = apr_psprintf(cp, "s:%022d", round % 200);
        if (k < 2) {
            n = (unsigned int)(round * 2 + k);
            memcpy(buf, &n, sizeof(n));
            for (i = 4; i < torn_len(n); i++) {
                buf[i] = (char)(n * 7u + i);
            }
            st->put(st, key, buf, torn_len(n), fa_now_sec() + 60, cp);
        }
        else if (st->get(st, key, cp, &v, &len) == APR_SUCCESS) {
            seen++;
            bad += !torn_whole(v, len);
        }
        if (round % 1000 == 999) {
            apr_pool_clear(cp);
        }
    }
    apr_pool_destroy(cp);
    return bad ? 1 : k >= 2 && seen == 0 ? 2 : 0;
}

/* Every key the workers use holds a whole value before they start, so a
 * reader that runs before the writers (a loaded machine) still reads. */
static void torn_fill(fa_store_t *st)
{
    char buf[2100];
    apr_size_t i;
    unsigned int n = 0;
    int key;

    for (i = 0; i < torn_len(n); i++) {
        buf[i] = (char)(n * 7u + i);
    }
    memcpy(buf, &n, sizeof(n));
    for (key = 0; key < 200; key++) {
        ck_assert_int_eq(st->put(st, apr_psprintf(pool, "s:%022d", key), buf,
                                 torn_len(n), fa_now_sec() + 60, pool),
                         APR_SUCCESS);
    }
}

START_TEST(reads_without_the_lock_are_never_torn)
{
    fa_store_t *st = open_store(pool, "torn", 256 << 10, NULL);
    pid_t kids[4];
    int k, status;

    torn_fill(st);
    for (k = 0; k < 4; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            _exit(torn_worker(st, k, 40000));
        }
    }
    for (k = 0; k < 4; k++) {
        ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "process %d: status %d", k, status);
    }
}
END_TEST

/* The same with threads of one process (as the event MPM's), where
 * ThreadSanitizer sees both sides: a read without the lock beside a
 * write is no data race. */
typedef struct {
    fa_store_t *st;
    int k, rv;
} torn_thread_t;

static void *torn_thread(void *arg)
{
    torn_thread_t *t = arg;

    t->rv = torn_worker(t->st, t->k, 6000);
    return NULL;
}

START_TEST(threads_read_without_the_lock)
{
    fa_store_t *st = open_store(pool, NULL, 256 << 10, NULL);
    torn_thread_t t[4];
    pthread_t th[4];
    int k;

    torn_fill(st);
    for (k = 0; k < 4; k++) {
        t[k].st = st;
        t[k].k = k;
        t[k].rv = -1;
        ck_assert_int_eq(pthread_create(&th[k], NULL, torn_thread, &t[k]), 0);
    }
    for (k = 0; k < 4; k++) {
        ck_assert_int_eq(pthread_join(th[k], NULL), 0);
    }
    for (k = 0; k < 4; k++) {
        ck_assert_msg(t[k].rv == 0, "thread %d: %d", k, t[k].rv);
    }
}
END_TEST

/* A process that dies holding the lock: the next one empties the store,
 * says so once, and goes on. */
START_TEST(death_while_holding_the_lock)
{
    fa_store_t *st = open_store(pool, "death", 1 << 20, NULL);
    pid_t kid;
    int status;
    char *v;
    apr_size_t len;

    st->put(st, "s:before", "v", 1, fa_now_sec() + 60, pool);
    kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        fa_store_shm_hold_lock(st);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(kid, &status, 0), kid);
    ck_assert_int_eq(st->get(st, "s:before", pool, &v, &len), APR_NOTFOUND);
    ck_assert_int_eq(reports[FA_SHM_RESET], 1);
    ck_assert_int_eq(st->put(st, "s:after", "w", 1, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "s:after", pool, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "w");
    ck_assert_int_eq(reports[FA_SHM_RESET], 1);
}
END_TEST

/* Whatever the segment holds past its header (another program wrote into
 * the file, a bug), operations stay inside the mapping and the store
 * recovers. Run under AddressSanitizer in CI. */
START_TEST(damaged_segment_never_crashes)
{
    fa_store_t *st = open_store(pool, "damaged", 1 << 20, NULL);
    const char *path = apr_pstrcat(pool, dir, "/damaged", NULL);
    apr_array_header_t *d;
    unsigned int seed = 12345;
    char *v;
    apr_size_t len;
    FILE *f;
    int i, round;

    memset(record, 'd', sizeof(record));
    for (round = 0; round < 3; round++) {
        for (i = 0; i < 300; i++) {
            st->put(st, skey(pool, i), record, (apr_size_t)(i * 4),
                    fa_now_sec() + 60, pool);
        }
        f = fopen(path, "r+");
        ck_assert_ptr_nonnull(f);
        fseek(f, 4096 + round * 1000, SEEK_SET);
        for (i = 0; i < (1 << 20) - 8192; i++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly small numbers, as offsets and lengths would be */
            fputc(round == 1 ? (int)((seed >> 16) & 0x03)
                             : (int)((seed >> 16) & 0xff), f);
        }
        fclose(f);
        for (i = 0; i < 3000; i++) {
            const char *k = skey(pool, i % 400);
            switch (i % 5) {
            case 0:
                st->put(st, k, record, (apr_size_t)(i % 1400),
                        fa_now_sec() + 60, pool);
                break;
            case 1:
            case 2:
                st->get(st, k, pool, &v, &len);
                break;
            case 3:
                st->index_add(st, "i:x", k, fa_now_sec() + 60, 20, pool, &d);
                break;
            default:
                st->del(st, k, pool);
            }
        }
        ck_assert_int_eq(st->put(st, "s:end", "ok", 2, fa_now_sec() + 60,
                                 pool), APR_SUCCESS);
        ck_assert_int_eq(st->get(st, "s:end", pool, &v, &len), APR_SUCCESS);
        ck_assert_str_eq(v, "ok");
    }
    /* the damage was seen (and said), not silently worked on */
    ck_assert_int_ge(reports[FA_SHM_RESET], 1);
}
END_TEST

Suite *suite_store_shm(void)
{
    Suite *s = suite_create("store_shm");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, contract_anonymous_and_file);
    tcase_add_test(tc, capacity_is_what_it_says);
    tcase_add_test(tc, get_head_reads_the_head);
    tcase_add_test(tc, least_recently_used_go_first);
    tcase_add_test(tc, all_in_use_still_makes_room);
    tcase_add_test(tc, login_state_flood_keeps_sessions);
    tcase_add_test(tc, expiry_and_limits);
    tcase_add_test(tc, due_gives_the_copies_in_use);
    tcase_add_test(tc, due_is_bounded);
    tcase_add_test(tc, child_init_maps_the_used_part);
    tcase_add_test(tc, file_found_again_or_replaced);
    tcase_add_test(tc, several_processes);
    tcase_add_test(tc, reads_without_the_lock_are_never_torn);
    tcase_add_test(tc, threads_read_without_the_lock);
    tcase_add_test(tc, death_while_holding_the_lock);
    tcase_add_test(tc, damaged_segment_never_crashes);
    suite_add_tcase(s, tc);
    return s;
}
