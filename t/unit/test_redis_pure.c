/* SPDX-License-Identifier: Apache-2.0 */
/* test_redis_pure.c - the parts of the Redis client that do no I/O, fed
 * by hand: the Cluster slot map (CLUSTER SLOTS replies built as redisReply
 * trees), MOVED and ASK errors, Sentinel's answer to
 * get-master-addr-by-name, CRC16 and key slots; and the index rule that
 * every store backend shares (fa_store_index_plan). No server runs. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <hiredis.h>
#include "unit.h"
#include "fa_redis_int.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* ---- hand-built replies (from the pool: nothing to free) -------------- */

static redisReply *str_r(const char *s)
{
    redisReply *r = apr_pcalloc(pool, sizeof(*r));

    r->type = REDIS_REPLY_STRING;
    r->str = apr_pstrdup(pool, s);
    r->len = strlen(s);
    return r;
}

static redisReply *int_r(long long v)
{
    redisReply *r = apr_pcalloc(pool, sizeof(*r));

    r->type = REDIS_REPLY_INTEGER;
    r->integer = v;
    return r;
}

static redisReply *nil_r(void)
{
    redisReply *r = apr_pcalloc(pool, sizeof(*r));

    r->type = REDIS_REPLY_NIL;
    return r;
}

/* An array of n replies (NULL-terminated argument list). */
static redisReply *arr_r(redisReply *first, ...)
{
    redisReply *r = apr_pcalloc(pool, sizeof(*r)), *e;
    va_list ap;
    size_t n = 0;

    r->type = REDIS_REPLY_ARRAY;
    r->element = apr_pcalloc(pool, sizeof(redisReply *) * 16);
    va_start(ap, first);
    for (e = first; e && n < 16; e = va_arg(ap, redisReply *)) {
        r->element[n++] = e;
    }
    va_end(ap);
    r->elements = n;
    return r;
}

/* One endpoint: [host, port, id]. */
static redisReply *ep(const char *host, long long port)
{
    return arr_r(str_r(host), int_r(port), str_r("0123abcd"), NULL);
}

/* ---- the slot map -------------------------------------------------- */

static unsigned char owner[FA_REDIS_SLOTS];
static fa_redis_map_node_t found[FA_REDIS_CLUSTER_NODES];

START_TEST(slot_map_three_masters)
{
    redisReply *reply = arr_r(
        arr_r(int_r(0), int_r(5460), ep("10.0.0.1", 7000),
              ep("10.0.0.4", 7003), NULL),
        arr_r(int_r(5461), int_r(10922), ep("10.0.0.2", 7001), NULL),
        arr_r(int_r(10923), int_r(16383), ep("", 7002),
              ep("10.0.0.1", 7000), NULL),
        NULL);
    int n;

    ck_assert_int_eq(fa_redis_map_parse(reply, "seed.example", owner, found,
                                        &n), 1);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(found[0].host, "10.0.0.1");
    ck_assert_int_eq(found[0].port, 7000);
    ck_assert_str_eq(found[1].host, "10.0.0.4");    /* a replica */
    ck_assert_str_eq(found[2].host, "10.0.0.2");
    /* an empty host is the node that was asked */
    ck_assert_str_eq(found[3].host, "seed.example");
    ck_assert_int_eq(found[3].port, 7002);
    ck_assert_int_eq(owner[0], 0);
    ck_assert_int_eq(owner[5460], 0);
    ck_assert_int_eq(owner[5461], 2);
    ck_assert_int_eq(owner[10922], 2);
    ck_assert_int_eq(owner[10923], 3);
    ck_assert_int_eq(owner[16383], 3);
}
END_TEST

START_TEST(slot_map_gaps_and_unknown_endpoints)
{
    /* a range whose master is "?" (unknown) has no owner; the others
     * keep theirs; a bad port makes an endpoint unknown too */
    redisReply *reply = arr_r(
        arr_r(int_r(0), int_r(99), ep("?", 7000), ep("10.0.0.9", 7009),
              NULL),
        arr_r(int_r(100), int_r(199), ep("10.0.0.2", 0), NULL),
        arr_r(int_r(200), int_r(200), ep("10.0.0.3", 7003), NULL),
        NULL);
    int n;

    ck_assert_int_eq(fa_redis_map_parse(reply, "s", owner, found, &n), 1);
    ck_assert_int_eq(owner[0], FA_REDIS_NO_NODE);
    ck_assert_int_eq(owner[150], FA_REDIS_NO_NODE);
    ck_assert_int_eq(owner[200], 1);
    ck_assert_int_eq(owner[201], FA_REDIS_NO_NODE);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(found[0].host, "10.0.0.9");
    ck_assert_str_eq(found[1].host, "10.0.0.3");
}
END_TEST

START_TEST(slot_map_malformed_refused)
{
    char longhost[400];
    int n;

    memset(longhost, 'h', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    /* not an array; an error */
    ck_assert_int_eq(fa_redis_map_parse(str_r("nope"), "s", owner, found,
                                        &n), 0);
    ck_assert_int_eq(fa_redis_map_parse(nil_r(), "s", owner, found, &n), 0);
    /* an empty map covers nothing */
    ck_assert_int_eq(fa_redis_map_parse(arr_r(NULL), "s", owner, found, &n),
                     0);
    /* an entry that is not an array, too short, or not numbers */
    ck_assert_int_eq(fa_redis_map_parse(arr_r(int_r(1), NULL), "s", owner,
                                        found, &n), 0);
    ck_assert_int_eq(fa_redis_map_parse(arr_r(arr_r(int_r(0), int_r(9),
                                                    NULL), NULL),
                                        "s", owner, found, &n), 0);
    ck_assert_int_eq(fa_redis_map_parse(
        arr_r(arr_r(str_r("0"), int_r(9), ep("h", 1), NULL), NULL), "s",
        owner, found, &n), 0);
    /* ranges out of order or beyond the last slot */
    ck_assert_int_eq(fa_redis_map_parse(
        arr_r(arr_r(int_r(9), int_r(0), ep("h", 1), NULL), NULL), "s",
        owner, found, &n), 0);
    ck_assert_int_eq(fa_redis_map_parse(
        arr_r(arr_r(int_r(0), int_r(16384), ep("h", 1), NULL), NULL), "s",
        owner, found, &n), 0);
    ck_assert_int_eq(fa_redis_map_parse(
        arr_r(arr_r(int_r(-1), int_r(3), ep("h", 1), NULL), NULL), "s",
        owner, found, &n), 0);
    /* the only master's endpoint is unusable: nothing covered */
    ck_assert_int_eq(fa_redis_map_parse(
        arr_r(arr_r(int_r(0), int_r(3), ep(longhost, 1), NULL), NULL), "s",
        owner, found, &n), 0);
    ck_assert_int_eq(fa_redis_map_parse(
        arr_r(arr_r(int_r(0), int_r(3), ep("h", 70000), NULL), NULL), "s",
        owner, found, &n), 0);
    ck_assert_int_eq(fa_redis_map_parse(
        arr_r(arr_r(int_r(0), int_r(3), arr_r(str_r("h"), str_r("7000"),
                                              NULL), NULL), NULL), "s",
        owner, found, &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(owner[0], FA_REDIS_NO_NODE);
}
END_TEST

/* More distinct endpoints than the table holds: the table stays bounded
 * and the ranges of the nodes left out have no owner. */
START_TEST(slot_map_bounded)
{
    redisReply *reply = apr_pcalloc(pool, sizeof(*reply));
    int i, n;

    reply->type = REDIS_REPLY_ARRAY;
    reply->elements = FA_REDIS_CLUSTER_NODES + 10;
    reply->element = apr_pcalloc(pool, sizeof(redisReply *)
                                       * reply->elements);
    for (i = 0; i < (int)reply->elements; i++) {
        reply->element[i] = arr_r(int_r(i), int_r(i),
                                  ep(apr_psprintf(pool, "10.1.0.%d", i),
                                     7000), NULL);
    }
    ck_assert_int_eq(fa_redis_map_parse(reply, "s", owner, found, &n), 1);
    ck_assert_int_eq(n, FA_REDIS_CLUSTER_NODES);
    ck_assert_int_eq(owner[FA_REDIS_CLUSTER_NODES - 1],
                     FA_REDIS_CLUSTER_NODES - 1);
    ck_assert_int_eq(owner[FA_REDIS_CLUSTER_NODES], FA_REDIS_NO_NODE);
}
END_TEST

/* ---- MOVED and ASK ---------------------------------------------------- */

static int redirect(const char *msg, char *host, int *port)
{
    *port = -1;
    strcpy(host, "unset");
    return fa_redis_redirect_parse(msg, host, FA_REDIS_HOST_MAX, port);
}

START_TEST(redirect_good)
{
    char host[FA_REDIS_HOST_MAX];
    int port;

    ck_assert_int_eq(redirect("MOVED 3999 127.0.0.1:6381", host, &port), 1);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 6381);
    ck_assert_int_eq(redirect("ASK 0 redis-2.example:7002", host, &port), 1);
    ck_assert_str_eq(host, "redis-2.example");
    ck_assert_int_eq(port, 7002);
    ck_assert_int_eq(redirect("MOVED 16383 h:65535", host, &port), 1);
    ck_assert_int_eq(port, 65535);
    /* no host: the node that answered */
    ck_assert_int_eq(redirect("MOVED 12 :7000", host, &port), 1);
    ck_assert_str_eq(host, "");
    ck_assert_int_eq(port, 7000);
}
END_TEST

START_TEST(redirect_ipv6)
{
    char host[FA_REDIS_HOST_MAX];
    int port;

    /* as Redis writes it (no brackets): the port is after the last ':' */
    ck_assert_int_eq(redirect("MOVED 1 2001:db8::7:7000", host, &port), 1);
    ck_assert_str_eq(host, "2001:db8::7");
    ck_assert_int_eq(port, 7000);
    /* with brackets: they go */
    ck_assert_int_eq(redirect("ASK 1 [::1]:7001", host, &port), 1);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 7001);
    ck_assert_int_eq(redirect("MOVED 1 [::1:7001", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 1 ::1]:7001", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 1 [[::1]]:7001", host, &port), 0);
}
END_TEST

START_TEST(redirect_bad)
{
    char host[FA_REDIS_HOST_MAX], msg[600];
    int port;

    /* bad ports */
    ck_assert_int_eq(redirect("MOVED 1 h:0", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 1 h:65536", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 1 h:99999999999999999999", host,
                              &port), 0);
    ck_assert_int_eq(redirect("MOVED 1 h:70x", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 1 h:-1", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 1 h:", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 1 h", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 1 h:7000 trailing", host, &port), 0);
    /* junk */
    ck_assert_int_eq(redirect("", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED ", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 3999", host, &port), 0);
    ck_assert_int_eq(redirect("MOVEDX 1 h:1", host, &port), 0);
    ck_assert_int_eq(redirect("ERR 1 h:1", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED x h:1", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED  h:1", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 16384 h:1", host, &port), 0);
    ck_assert_int_eq(redirect("MOVED 123456 h:1", host, &port), 0);
    /* overlong: a host that does not fit is refused, not cut */
    memset(msg, 'a', sizeof(msg));
    memcpy(msg, "MOVED 1 ", 8);
    strcpy(msg + 8 + FA_REDIS_HOST_MAX, ":7000");
    ck_assert_int_eq(redirect(msg, host, &port), 0);
    strcpy(msg + 8 + FA_REDIS_HOST_MAX - 1, ":7000");
    ck_assert_int_eq(redirect(msg, host, &port), 1);
    ck_assert_uint_eq(strlen(host), FA_REDIS_HOST_MAX - 1);
    strcpy(msg + 8 + FA_REDIS_HOST_MAX - 1, ":7000");
    ck_assert_int_eq(fa_redis_redirect_parse(msg, host, 16, &port), 0);
}
END_TEST

/* ---- Sentinel ---------------------------------------------------------- */

START_TEST(sentinel_answers)
{
    char host[64];
    int port = 0;

    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("127.0.0.1"), str_r("6380"), NULL), host, sizeof(host),
        &port), 1);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 6380);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("::1"), str_r("65535"), NULL), host, sizeof(host),
        &port), 1);
    ck_assert_str_eq(host, "::1");
    port = 0;
    /* nil: the sentinel knows no such master */
    ck_assert_int_eq(fa_redis_sentinel_answer(nil_r(), host, sizeof(host),
                                              &port), 0);
    /* wrong shapes */
    ck_assert_int_eq(fa_redis_sentinel_answer(str_r("127.0.0.1:6380"),
                                              host, sizeof(host), &port), 0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("127.0.0.1"), NULL), host, sizeof(host), &port), 0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("127.0.0.1"), str_r("6380"), str_r("x"), NULL), host,
        sizeof(host), &port), 0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("127.0.0.1"), int_r(6380), NULL), host, sizeof(host),
        &port), 0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(int_r(1), str_r("6380"), NULL), host, sizeof(host), &port),
        0);
    /* bad ports, an empty or overlong host */
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("h"), str_r("0"), NULL), host, sizeof(host), &port), 0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("h"), str_r("65536"), NULL), host, sizeof(host), &port),
        0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("h"), str_r("63x"), NULL), host, sizeof(host), &port),
        0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("h"), str_r("-6379"), NULL), host, sizeof(host), &port),
        0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("h"), str_r(""), NULL), host, sizeof(host), &port), 0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r(""), str_r("6379"), NULL), host, sizeof(host), &port),
        0);
    ck_assert_int_eq(fa_redis_sentinel_answer(
        arr_r(str_r("0123456789"), str_r("6379"), NULL), host, 10, &port),
        0);
    ck_assert_int_eq(port, 0);
}
END_TEST

/* ---- CRC16 and key slots ---------------------------------------------- */

static unsigned int slot(const char *key)
{
    return fa_redis_keyslot(key, strlen(key));
}

START_TEST(keyslot_vectors)
{
    ck_assert_uint_eq(fa_redis_crc16("123456789", 9), 0x31C3);
    ck_assert_uint_eq(slot("foo"), 12182);
    ck_assert_uint_eq(slot("hello"), 866);
    /* a hash tag: only what is between the braces counts */
    ck_assert_uint_eq(slot("{user1000}.following"),
                      slot("{user1000}.followers"));
    ck_assert_uint_eq(slot("{user1000}.following"), slot("user1000"));
    /* an empty tag: the whole key */
    ck_assert_uint_eq(slot("foo{}{bar}"),
                      fa_redis_crc16("foo{}{bar}", 10) % FA_REDIS_SLOTS);
    /* the first '{' and the next '}' */
    ck_assert_uint_eq(slot("foo{{bar}}zap"),
                      fa_redis_crc16("{bar", 4) % FA_REDIS_SLOTS);
    ck_assert_uint_eq(slot("foo{bar}{zap}"), slot("bar"));
}
END_TEST

/* ---- the index rule ----------------------------------------------------- */

/* alive: members named "gone..." are gone, "fail" cannot be told. */
static int alive_by_name(void *baton, const char *member)
{
    (*(int *)baton)++;
    if (!strcmp(member, "fail")) {
        return -1;
    }
    return strncmp(member, "gone", 4) != 0;
}

static apr_array_header_t *list_of(const char *csv)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    char *s = apr_pstrdup(pool, csv), *last, *t;

    for (t = apr_strtok(s, ",", &last); t; t = apr_strtok(NULL, ",", &last)) {
        APR_ARRAY_PUSH(a, const char *) = t;
    }
    return a;
}

static const char *csv_of(const apr_array_header_t *a)
{
    const char *out = "";
    int i;

    for (i = 0; i < a->nelts; i++) {
        out = apr_pstrcat(pool, out, i ? "," : "",
                          APR_ARRAY_IDX(a, i, const char *), NULL);
    }
    return out;
}

START_TEST(index_plan_rule)
{
    fa_store_index_plan_t plan;
    int asked = 0;

    /* a new index */
    ck_assert_int_eq(fa_store_index_plan(pool, list_of(""), "s:1", 3,
                                         alive_by_name, &asked, &plan),
                     APR_SUCCESS);
    ck_assert_str_eq(csv_of(plan.keep), "s:1");
    ck_assert_int_eq(plan.gone->nelts + plan.dropped->nelts, 0);
    ck_assert_int_eq(asked, 0);
    /* gone members leave, and do not count against max */
    ck_assert_int_eq(fa_store_index_plan(pool, list_of("a,gone1,b,gone2"),
                                         "c", 3, alive_by_name, &asked,
                                         &plan), APR_SUCCESS);
    ck_assert_str_eq(csv_of(plan.keep), "a,b,c");
    ck_assert_str_eq(csv_of(plan.gone), "gone1,gone2");
    ck_assert_int_eq(plan.dropped->nelts, 0);
    ck_assert_int_eq(asked, 4);
    /* beyond max the oldest go: only they */
    ck_assert_int_eq(fa_store_index_plan(pool, list_of("a,b,gone,c,d"),
                                         "e", 2, alive_by_name, &asked,
                                         &plan), APR_SUCCESS);
    ck_assert_str_eq(csv_of(plan.keep), "d,e");
    ck_assert_str_eq(csv_of(plan.dropped), "a,b,c");
    ck_assert_str_eq(csv_of(plan.gone), "gone");
    /* a member added again moves to the end and is not asked about */
    asked = 0;
    ck_assert_int_eq(fa_store_index_plan(pool, list_of("a,b,c"), "a", 2,
                                         alive_by_name, &asked, &plan),
                     APR_SUCCESS);
    ck_assert_str_eq(csv_of(plan.keep), "c,a");
    ck_assert_str_eq(csv_of(plan.dropped), "b");
    ck_assert_int_eq(asked, 2);
    /* max 1: only the new one */
    ck_assert_int_eq(fa_store_index_plan(pool, list_of("a,b"), "c", 1,
                                         alive_by_name, &asked, &plan),
                     APR_SUCCESS);
    ck_assert_str_eq(csv_of(plan.keep), "c");
    ck_assert_str_eq(csv_of(plan.dropped), "a,b");
}
END_TEST

START_TEST(index_plan_refusals)
{
    fa_store_index_plan_t plan;
    int asked = 0;

    ck_assert_int_eq(fa_store_index_plan(pool, list_of("a"), "b", 0,
                                         alive_by_name, &asked, &plan),
                     APR_EINVAL);
    ck_assert_int_eq(fa_store_index_plan(pool, list_of("a"), "b",
                                         FA_STORE_INDEX_MAX + 1,
                                         alive_by_name, &asked, &plan),
                     APR_EINVAL);
    ck_assert_int_eq(asked, 0);
    /* the store cannot tell: nothing is decided, nothing dropped */
    ck_assert_int_eq(fa_store_index_plan(pool, list_of("a,fail,b"), "c", 1,
                                         alive_by_name, &asked, &plan),
                     APR_EGENERAL);
    ck_assert_int_eq(plan.dropped->nelts, 0);
}
END_TEST

/* ---- Cluster copies: a version per node's listener ------------------- */

/* A client by hand: a Cluster of two masters, tracking on, no I/O. */
static fa_redis_t *cluster_client(void)
{
    fa_redis_t *rs = apr_pcalloc(pool, sizeof(*rs));

    rs->conf.cluster = 1;
    rs->conf.prefix = "fedauth:";
    rs->nodes = apr_pcalloc(pool, sizeof(*rs->nodes)
                                  * FA_REDIS_CLUSTER_NODES);
    rs->n_nodes = 2;
    rs->nodes[0].master = rs->nodes[1].master = 1;
    rs->slot_node = apr_palloc(pool, FA_REDIS_SLOTS);
    memset(rs->slot_node, FA_REDIS_NO_NODE, FA_REDIS_SLOTS);
    rs->track_gen = apr_pcalloc(pool, FA_REDIS_TRACK_SLOTS
                                      * sizeof(apr_uint32_t));
    rs->track_state = FA_REDIS_TRACK_UP;
    apr_thread_mutex_create(&rs->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    return rs;
}

START_TEST(cluster_version_per_node)
{
    fa_redis_t *rs = cluster_client();
    fa_store_t st;
    apr_uint32_t v;

    memset(&st, 0, sizeof(st));
    st.baton = rs;
    /* no listener up yet */
    ck_assert_uint_eq(fa_redis_version(&st, "s:abc"), 0);
    fa_redis_track_node_set(rs, 0, FA_REDIS_TRACK_UP);
    /* one master's listener up, the other's not: nothing is vouched
     * for, whichever node holds the key */
    ck_assert_uint_eq(fa_redis_version(&st, "s:abc"), 0);
    fa_redis_track_node_set(rs, 1, FA_REDIS_TRACK_UP);
    v = fa_redis_version(&st, "s:abc");
    ck_assert_uint_ne(v, 0);
    ck_assert_uint_eq(fa_redis_version(&st, "s:abc"), v);
    /* a change of the slot map: what was vouched for is not any more */
    apr_thread_mutex_lock(rs->lock);
    fa_redis_track_remapped(rs);
    apr_thread_mutex_unlock(rs->lock);
    ck_assert_uint_ne(fa_redis_version(&st, "s:abc"), v);
    v = fa_redis_version(&st, "s:abc");
    ck_assert_uint_ne(v, 0);
    /* a listener down and up again: not the version from before */
    fa_redis_track_node_set(rs, 1, FA_REDIS_TRACK_DOWN);
    ck_assert_uint_eq(fa_redis_version(&st, "s:abc"), 0);
    fa_redis_track_node_set(rs, 1, FA_REDIS_TRACK_UP);
    ck_assert_uint_ne(fa_redis_version(&st, "s:abc"), v);
    ck_assert_uint_ne(fa_redis_version(&st, "s:abc"), 0);
    /* a new master in the map (a promoted replica) with no listener yet */
    apr_thread_mutex_lock(rs->lock);
    rs->n_nodes = 3;
    rs->nodes[2].master = 1;
    fa_redis_track_remapped(rs);
    apr_thread_mutex_unlock(rs->lock);
    ck_assert_uint_eq(fa_redis_version(&st, "s:abc"), 0);
    fa_redis_track_node_set(rs, 2, FA_REDIS_TRACK_UP);
    ck_assert_uint_ne(fa_redis_version(&st, "s:abc"), 0);
    /* the listener thread not running: nothing is vouched for */
    rs->track_state = FA_REDIS_TRACK_OFF;
    ck_assert_uint_eq(fa_redis_version(&st, "s:abc"), 0);
}
END_TEST

START_TEST(cluster_tracking_described)
{
    fa_redis_t *rs = cluster_client();

    rs->nodes[0].track_state = FA_REDIS_TRACK_UP;
    rs->nodes[1].track_state = FA_REDIS_TRACK_DOWN;
    ck_assert_str_eq(fa_redis_track_describe(rs, pool),
                     "down (1 of 2 masters' listeners up)");
    rs->nodes[1].track_state = FA_REDIS_TRACK_UP;
    ck_assert_str_eq(fa_redis_track_describe(rs, pool), "up");
    /* a node that serves no slot (a replica) does not count */
    rs->n_nodes = 3;
    ck_assert_str_eq(fa_redis_track_describe(rs, pool), "up");
    rs->nodes[0].master = rs->nodes[1].master = 0;
    ck_assert_str_eq(fa_redis_track_describe(rs, pool),
                     "down (0 of 0 masters' listeners up)");
    rs->track_state = FA_REDIS_TRACK_REFUSED;
    ck_assert_str_eq(fa_redis_track_describe(rs, pool), "refused");
    rs->conf.cluster = 0;
    rs->track_state = FA_REDIS_TRACK_DOWN;
    ck_assert_str_eq(fa_redis_track_describe(rs, pool), "down");
}
END_TEST

Suite *suite_redis_pure(void)
{
    Suite *s = suite_create("redis_pure");
    TCase *tc = tcase_create("redis_pure");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, slot_map_three_masters);
    tcase_add_test(tc, slot_map_gaps_and_unknown_endpoints);
    tcase_add_test(tc, slot_map_malformed_refused);
    tcase_add_test(tc, slot_map_bounded);
    tcase_add_test(tc, redirect_good);
    tcase_add_test(tc, redirect_ipv6);
    tcase_add_test(tc, redirect_bad);
    tcase_add_test(tc, sentinel_answers);
    tcase_add_test(tc, keyslot_vectors);
    tcase_add_test(tc, index_plan_rule);
    tcase_add_test(tc, index_plan_refusals);
    tcase_add_test(tc, cluster_version_per_node);
    tcase_add_test(tc, cluster_tracking_described);
    suite_add_tcase(s, tc);
    return s;
}
