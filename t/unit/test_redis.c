/* SPDX-License-Identifier: Apache-2.0 */
/* test_redis.c - the Redis store against a real redis-server, started by
 * the test on a free 127.0.0.1 port and stopped by its PID: every store
 * operation, AUTH and SELECT, a restart (the kept connection breaks, the
 * retry does not), the backoff while Redis is down, and the parser of
 * FedAuthSessionStore URLs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <hiredis.h>
#include "unit.h"
#include "fa_store.h"
#include "fa_redis_int.h"
#include "fa_registry.h"
#include "store_contract.h"
#include "registry_contract.h"

static apr_pool_t *pool;
static pid_t redis_pid;
static int redis_port;

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    ck_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void redis_start_with(const char *pw, const char *opt,
                             const char *val, const char *val2);

/* Starts redis-server (with requirepass when pw is not NULL) and waits,
 * at most 5 s, until it answers. */
static void redis_start(const char *pw)
{
    redis_start_with(pw, NULL, NULL, NULL);
}

/* The same with one more option (--opt val [val2]). */
static void redis_start_with(const char *pw, const char *opt,
                             const char *val, const char *val2)
{
    char port[16];
    int i;
    redisContext *c;

    snprintf(port, sizeof(port), "%d", redis_port);
    redis_pid = fork();
    ck_assert(redis_pid >= 0);
    if (redis_pid == 0) {
        /* Gone with the test process, even when a failed test skips its
         * teardown. */
        int devnull = open("/dev/null", O_RDWR);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        const char *argv[20] = { "redis-server", "--port", port, "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly",
                                 "no", "--loglevel", "warning" };
        int n = 11;
        if (pw) {
            argv[n++] = "--requirepass";
            argv[n++] = pw;
        }
        if (opt) {
            argv[n++] = opt;
            argv[n++] = val;
            if (val2) {
                argv[n++] = val2;
            }
        }
        argv[n] = NULL;
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    for (i = 0; i < 100; i++) {
        struct timeval tv = { 0, 100000 };
        c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
        if (c && !c->err) {
            redisFree(c);
            return;
        }
        if (c) {
            redisFree(c);
        }
        usleep(50000);
    }
    ck_abort_msg("redis-server did not start on port %d", redis_port);
}

static void redis_stop(void)
{
    int status;

    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, &status, 0);
        redis_pid = 0;
    }
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    redis_port = free_port();
    redis_pid = 0;
}

static void teardown(void)
{
    redis_stop();
    apr_pool_destroy(pool);
}

static fa_store_t *store_for(const char *spec)
{
    fa_redis_conf_t conf;
    fa_store_t *st;

    ck_assert_ptr_null(fa_redis_parse(pool, spec, &conf));
    conf.timeout_ms = 500;
    ck_assert_int_eq(fa_store_redis_create(pool, &conf, &st), APR_SUCCESS);
    return st;
}

static const char *spec_of(const char *userinfo, const char *db)
{
    return apr_psprintf(pool, "redis://%s127.0.0.1:%d%s", userinfo,
                        redis_port, db);
}

START_TEST(operations)
{
    redis_start(NULL);
    store_contract(store_for(spec_of("", "/3")), pool);
    store_contract_add(store_for(spec_of("", "/3")), pool);
}
END_TEST

/* An index written as a plain set by an earlier version still works. */
START_TEST(index_from_a_plain_set)
{
    fa_store_t *st;
    redisContext *c;
    redisReply *r;
    struct timeval tv = { 1, 0 };
    apr_array_header_t *d;

    redis_start(NULL);
    st = store_for(spec_of("", "/4"));
    c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    freeReplyObject(redisCommand(c, "SELECT 4"));
    freeReplyObject(redisCommand(c, "SET fedauth:s:old v"));
    freeReplyObject(redisCommand(c, "SADD fedauth:i:a s:old s:gone"));
    ck_assert_int_eq(st->index_add(st, "i:a", "s:new", fa_now_sec() + 60, 20,
                                   pool, &d), APR_SUCCESS);
    ck_assert_int_eq(d->nelts, 0);
    r = redisCommand(c, "ZRANGE fedauth:i:a 0 -1");
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(r->elements, 2);
    ck_assert_str_eq(r->element[0]->str, "s:old");
    ck_assert_str_eq(r->element[1]->str, "s:new");
    freeReplyObject(r);
    r = redisCommand(c, "TTL fedauth:i:a");
    ck_assert_int_gt(r->integer, 50);
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "SADD fedauth:i:b s:old"));
    ck_assert_int_eq(st->index_take(st, "i:b", pool, &d), APR_SUCCESS);
    ck_assert_int_eq(d->nelts, 1);
    redisFree(c);
}
END_TEST

/* The account registry over the store's connections: create-if-absent,
 * no expiry, and a list by prefix that pages through SCAN and takes glob
 * characters in the prefix literally. */
START_TEST(registry_backend)
{
    fa_store_t *st;
    fa_registry_t *reg;
    apr_array_header_t *keys;
    redisContext *c;
    redisReply *r;
    struct timeval tv = { 1, 0 };
    char *v;
    apr_size_t len;
    int i;

    redis_start(NULL);
    st = store_for(spec_of("", "/5"));
    ck_assert_int_eq(fa_registry_redis_open(pool, fa_store_redis_client(st),
                                            &reg), APR_SUCCESS);
    ck_assert_int_eq(reg->get(reg, "a:x", pool, &v, &len), APR_NOTFOUND);
    ck_assert_int_eq(reg->create(reg, "a:x", "one", 3, pool), APR_SUCCESS);
    ck_assert_int_eq(reg->create(reg, "a:x", "two", 3, pool), APR_EEXIST);
    ck_assert_int_eq(reg->put(reg, "a:x", "three", 5, pool), APR_SUCCESS);
    ck_assert_int_eq(reg->get(reg, "a:x", pool, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "three");
    for (i = 0; i < 1200; i++) {
        ck_assert_int_eq(reg->put(reg, apr_psprintf(pool, "l:c*:%04d", i),
                                  "1", 1, pool), APR_SUCCESS);
    }
    ck_assert_int_eq(reg->put(reg, "l:cX:1", "1", 1, pool), APR_SUCCESS);
    ck_assert_int_eq(reg->list(reg, "l:c*:", pool, &keys), APR_SUCCESS);
    ck_assert_int_eq(keys->nelts, 1200);
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 0, const char *), "l:c*:0000");
    ck_assert_int_eq(reg->list(reg, "a:", pool, &keys), APR_SUCCESS);
    ck_assert_int_eq(keys->nelts, 1);
    c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    freeReplyObject(redisCommand(c, "SELECT 5"));
    r = redisCommand(c, "TTL fedauth:reg:a:x");
    ck_assert_int_eq(r->integer, -1);
    freeReplyObject(r);
    redisFree(c);
    ck_assert_int_eq(reg->del(reg, "a:x", pool), APR_SUCCESS);
    ck_assert_int_eq(reg->get(reg, "a:x", pool, &v, &len), APR_NOTFOUND);
    registry_contract_update(reg, pool);
    redis_stop();
    ck_assert_int_ne(reg->get(reg, "a:x", pool, &v, &len), APR_NOTFOUND);
}
END_TEST

/* The capped attempt stream: exactly maxlen entries, oldest first, binary
 * safe; refused for a store that is not Redis. */
START_TEST(attempt_stream)
{
    fa_store_t *st;
    fa_redis_t *rs;
    apr_array_header_t *lines;
    int i;

    redis_start(NULL);
    st = store_for(spec_of("", "/7"));
    rs = fa_store_redis_client(st);
    for (i = 0; i < 7; i++) {
        const char *line = apr_psprintf(pool, "{\"n\":%d,\"x\":\"a b\"}", i);
        ck_assert_int_eq(fa_redis_stream_add(rs, "attempts", 5, line,
                                             strlen(line), pool),
                         APR_SUCCESS);
    }
    ck_assert_int_eq(fa_redis_stream_read(rs, "attempts", 100, pool,
                                          &lines), APR_SUCCESS);
    ck_assert_int_eq(lines->nelts, 5);
    ck_assert_str_eq(APR_ARRAY_IDX(lines, 0, const char *),
                     "{\"n\":2,\"x\":\"a b\"}");
    ck_assert_str_eq(APR_ARRAY_IDX(lines, 4, const char *),
                     "{\"n\":6,\"x\":\"a b\"}");
    ck_assert_int_eq(fa_redis_stream_read(rs, "attempts", 2, pool,
                                          &lines), APR_SUCCESS);
    ck_assert_int_eq(lines->nelts, 2);
    ck_assert_int_eq(fa_redis_stream_add(rs, "attempts", 0, "x", 1, pool),
                     APR_EINVAL);
}
END_TEST

/* The registry, the stream and the status page find the Redis client
 * through fa_store_redis_client, which answers by construction: a store
 * that merely calls itself "redis" (or is another backend) has none, and
 * what is built on a client refuses NULL. */
START_TEST(client_by_construction)
{
    fa_store_t fake, *st;
    fa_registry_t *reg;
    fa_redis_state_t state;
    apr_array_header_t *lines;

    memset(&fake, 0, sizeof(fake));
    fake.name = "redis";
    fake.baton = pool;
    ck_assert_ptr_null(fa_store_redis_client(&fake));
    ck_assert_ptr_null(fa_store_redis_client(NULL));
    ck_assert_int_eq(fa_registry_redis_open(pool, NULL, &reg), APR_EINVAL);
    ck_assert_ptr_null(reg);
    ck_assert_int_eq(fa_redis_stream_add(NULL, "a", 5, "x", 1, pool),
                     APR_EINVAL);
    ck_assert_int_eq(fa_redis_stream_read(NULL, "a", 5, pool, &lines),
                     APR_EINVAL);
    ck_assert_int_eq(fa_redis_state(NULL, pool, &state), APR_EINVAL);
    st = store_for(spec_of("", ""));
    ck_assert_ptr_nonnull(fa_store_redis_client(st));
    ck_assert_int_eq(fa_redis_state(fa_store_redis_client(st), pool, &state),
                     APR_SUCCESS);
    ck_assert_str_eq(state.kind, "redis");
}
END_TEST

/* Waits (at most ms) until the store's version of key is or is not 0. */
static apr_uint32_t wait_version(fa_store_t *st, const char *key, int want_set,
                                 int ms)
{
    apr_uint32_t v = st->version(st, key);
    int i;

    for (i = 0; i < ms / 20 && (v != 0) != want_set; i++) {
        usleep(20000);
        v = st->version(st, key);
    }
    return v;
}

/* Waits (at most ms) until the version of key is no longer was. */
static apr_uint32_t wait_change(fa_store_t *st, const char *key,
                                apr_uint32_t was, int ms)
{
    apr_uint32_t v = st->version(st, key);
    int i;

    for (i = 0; i < ms / 10 && v == was; i++) {
        usleep(10000);
        v = st->version(st, key);
    }
    return v;
}

static void cli(const char *fmt, const char *arg)
{
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);

    ck_assert(c && !c->err);
    freeReplyObject(redisCommand(c, "SELECT 2"));
    freeReplyObject(redisCommand(c, fmt, arg));
    redisFree(c);
}

/* A store on the test's Redis with tracking (and, host_copies, host
 * stamps), its child_init run: timeout_ms is set before the listener
 * thread starts, which reads it. */
static fa_store_t *tracked_store_with(int host_copies, int timeout_ms)
{
    fa_redis_conf_t conf;
    fa_store_t *st;

    ck_assert_ptr_null(fa_redis_parse(pool, spec_of("", "/2"), &conf));
    conf.timeout_ms = timeout_ms;
    conf.track = 1;
    conf.host_copies = host_copies;
    ck_assert_int_eq(fa_store_redis_create(pool, &conf, &st), APR_SUCCESS);
    ck_assert_int_eq(st->child_init(st, pool), APR_SUCCESS);
    return st;
}

static fa_store_t *tracked_store(void)
{
    return tracked_store_with(0, 500);
}

/* Client-side caching: once the listener is up, a change of a key this
 * process read, by anyone, moves its version at once; so does a flush; a
 * lost listener connection makes every version 0 until it is back, and
 * then none of the old ones. */
START_TEST(invalidation_moves_the_version)
{
    fa_store_t *st;
    char *v;
    apr_size_t len;
    apr_uint32_t v1, v2, v3;

    redis_start(NULL);
    st = tracked_store();
    ck_assert_uint_ne(wait_version(st, "s:t", 1, 5000), 0);
    ck_assert_int_eq(st->put(st, "s:t", "one", 3, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    v1 = st->version(st, "s:t");
    ck_assert_int_eq(st->get(st, "s:t", pool, &v, &len), APR_SUCCESS);
    usleep(100000);
    ck_assert_uint_eq(st->version(st, "s:t"), v1);   /* nothing changed */
    /* another client (another host) changes it */
    cli("SET fedauth:s:t %s", "two");
    v2 = wait_change(st, "s:t", v1, 2000);
    ck_assert_uint_ne(v2, v1);
    ck_assert_uint_ne(v2, 0);
    /* a key read again is tracked again; a delete elsewhere moves it */
    ck_assert_int_eq(st->get(st, "s:t", pool, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "two");
    cli("DEL %s", "fedauth:s:t");
    v3 = wait_change(st, "s:t", v2, 2000);
    ck_assert_uint_ne(v3, v2);
    /* a flush moves every version */
    st->put(st, "s:u", "x", 1, fa_now_sec() + 60, pool);
    v1 = st->version(st, "s:u");
    st->get(st, "s:u", pool, &v, &len);
    cli("FLUSHDB %s", "SYNC");
    ck_assert_uint_ne(wait_change(st, "s:u", v1, 2000), v1);
    /* the listener's connection killed: 0 until it is back, then new */
    v1 = st->version(st, "s:u");
    cli("CLIENT KILL TYPE %s", "pubsub");
    ck_assert_uint_eq(wait_version(st, "s:u", 0, 2000), 0);
    v2 = wait_version(st, "s:u", 1, 5000);
    ck_assert_uint_ne(v2, 0);
    ck_assert_uint_ne(v2, v1);
    /* and invalidations reach the new listener */
    st->put(st, "s:w", "x", 1, fa_now_sec() + 60, pool);
    v1 = st->version(st, "s:w");
    st->get(st, "s:w", pool, &v, &len);
    cli("SET fedauth:s:w %s", "y");
    ck_assert_uint_ne(wait_change(st, "s:w", v1, 2000), v1);
}
END_TEST

/* Waits (at most ms) for a stamp of key: 1 and *s when one came. */
static int wait_stamp(fa_store_t *st, const char *key, fa_store_stamp_t *s,
                      int ms)
{
    int i, ok = st->host_stamp(st, key, s);

    for (i = 0; i < ms / 20 && !ok; i++) {
        usleep(20000);
        ok = st->host_stamp(st, key, s);
    }
    return ok;
}

/* Waits (at most ms) until a copy so stamped counts no more: 1 when it
 * still counts at the end. */
static int wait_invalid(fa_store_t *st, const char *key,
                        const fa_store_stamp_t *s, int ms)
{
    int i, ok = st->host_valid(st, key, s) > 0;

    for (i = 0; i < ms / 10 && ok; i++) {
        usleep(10000);
        ok = st->host_valid(st, key, s) > 0;
    }
    return ok;
}

/* Host copies (conf.host_copies): a stamp taken before a read counts
 * while nobody changed the key, for as long as the listener keeps
 * beating (past FA_REDIS_BEAT_MS); a change elsewhere ends it, and so
 * does the listener going down, for good (a new stamp after it is back
 * has a new generation); a stamp naming a slot nobody beats for, or no
 * slot, never counts. */
START_TEST(host_stamps_follow_redis_and_the_voucher)
{
    fa_redis_conf_t conf;
    fa_store_t *st;
    fa_store_stamp_t s1, s2, s3, forged;
    char *v;
    apr_size_t len;

    redis_start(NULL);
    ck_assert_ptr_null(fa_redis_parse(pool, spec_of("", "/2"), &conf));
    conf.timeout_ms = 500;
    conf.track = 1;
    conf.host_copies = 1;
    ck_assert_int_eq(fa_store_redis_create(pool, &conf, &st), APR_SUCCESS);
    ck_assert_ptr_nonnull(st->host_stamp);
    ck_assert_ptr_nonnull(st->host_valid);
    ck_assert_int_eq(st->child_init(st, pool), APR_SUCCESS);
    ck_assert_int_eq(wait_stamp(st, "s:h", &s1, 5000), 1);
    ck_assert_int_eq(st->put(st, "s:h", "one", 3, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(st->host_stamp(st, "s:h", &s1), 1);
    ck_assert_int_eq(st->get(st, "s:h", pool, &v, &len), APR_SUCCESS);
    ck_assert_int_gt(st->host_valid(st, "s:h", &s1), 0);
    /* longer than FA_REDIS_BEAT_MS: the listener's beats keep it */
    usleep(1500000);
    ck_assert_int_gt(st->host_valid(st, "s:h", &s1), 0);
    /* another host changes it */
    cli("SET fedauth:s:h %s", "two");
    ck_assert_int_eq(wait_invalid(st, "s:h", &s1, 2000), 0);
    /* stamped and read again; then the listener is lost */
    ck_assert_int_eq(st->host_stamp(st, "s:h", &s2), 1);
    ck_assert_int_eq(st->get(st, "s:h", pool, &v, &len), APR_SUCCESS);
    ck_assert_int_gt(st->host_valid(st, "s:h", &s2), 0);
    cli("CLIENT KILL TYPE %s", "pubsub");
    ck_assert_int_eq(wait_invalid(st, "s:h", &s2, 2000), 0);
    /* back: new stamps count, the old one never again */
    ck_assert_int_eq(wait_stamp(st, "s:h", &s3, 5000), 1);
    ck_assert_uint_ne(s3.vgen, s2.vgen);
    ck_assert_int_gt(st->host_valid(st, "s:h", &s3), 0);
    ck_assert_int_le(st->host_valid(st, "s:h", &s3), FA_REDIS_BEAT_MS);
    ck_assert_int_eq(st->host_valid(st, "s:h", &s2), 0);
    /* a slot nobody holds (no beat), and no slot at all */
    forged = s3;
    forged.voucher = s3.voucher + 1;
    forged.vgen = 0;
    ck_assert_int_eq(st->host_valid(st, "s:h", &forged), 0);
    forged.voucher = 1u << 30;
    ck_assert_int_eq(st->host_valid(st, "s:h", &forged), 0);
    /* another key's stamp is not this key's */
    ck_assert_int_eq(st->host_stamp(st, "s:other", &forged), 1);
    ck_assert_int_eq(st->host_valid(st, "s:h", &forged) > 0,
                     forged.gen == s3.gen);
}
END_TEST

/* get_stamped (what renews the host's copies): many keys in one
 * pipeline, each with its stamp taken before; values up to the largest a
 * store writes, side by side in one reply stream; a key with no value;
 * the reads are tracked (a change to one key after it ends that key's
 * stamp, not the others'); Redis gone: nothing read, nothing hangs. */
START_TEST(stamped_reads_in_one_pipeline)
{
    fa_redis_conf_t conf;
    fa_store_t *st;
    fa_store_stamp_t stamps[FA_STORE_STAMPED_MAX], s0;
    const char *keys[FA_STORE_STAMPED_MAX];
    char *vals[FA_STORE_STAMPED_MAX], *big;
    apr_size_t lens[FA_STORE_STAMPED_MAX];
    apr_status_t each[FA_STORE_STAMPED_MAX];
    int i, n = FA_STORE_STAMPED_MAX;

    redis_start(NULL);
    ck_assert_ptr_null(fa_redis_parse(pool, spec_of("", "/3"), &conf));
    conf.timeout_ms = 1000;
    conf.track = 1;
    conf.host_copies = 1;
    ck_assert_int_eq(fa_store_redis_create(pool, &conf, &st), APR_SUCCESS);
    ck_assert_ptr_nonnull(st->get_stamped);
    ck_assert_int_eq(st->child_init(st, pool), APR_SUCCESS);
    ck_assert_int_eq(wait_stamp(st, "s:p0", &s0, 5000), 1);
    big = apr_palloc(pool, FA_STORE_MAX_VALUE);
    memset(big, 'b', FA_STORE_MAX_VALUE);
    for (i = 0; i < n; i++) {
        keys[i] = apr_psprintf(pool, "s:p%d", i);
        if (i == 7) {
            continue;             /* no value */
        }
        ck_assert_int_eq(st->put(st, keys[i], i % 50 == 1 ? big
                                 : apr_psprintf(pool, "value %d", i),
                                 i % 50 == 1 ? FA_STORE_MAX_VALUE
                                 : strlen(apr_psprintf(pool, "value %d", i)),
                                 fa_now_sec() + 60, pool), APR_SUCCESS);
    }
    ck_assert_int_eq(st->get_stamped(st, n, keys, pool, vals, lens, stamps,
                                     each), APR_SUCCESS);
    for (i = 0; i < n; i++) {
        if (i == 7) {
            ck_assert_int_eq(each[i], APR_NOTFOUND);
            continue;
        }
        ck_assert_int_eq(each[i], APR_SUCCESS);
        if (i % 50 == 1) {
            ck_assert_uint_eq(lens[i], FA_STORE_MAX_VALUE);
            ck_assert_int_eq(memcmp(vals[i], big, lens[i]), 0);
        }
        else {
            ck_assert_str_eq(vals[i], apr_psprintf(pool, "value %d", i));
        }
        ck_assert_int_gt(st->host_valid(st, keys[i], &stamps[i]), 0);
    }
    /* tracked: a change after the read ends that key's stamp only (keys
     * 3 and 4 do not share a counter) */
    cli("SET fedauth:s:p3 %s", "changed");
    ck_assert_int_eq(wait_invalid(st, "s:p3", &stamps[3], 2000), 0);
    ck_assert_int_gt(st->host_valid(st, "s:p4", &stamps[4]), 0);
    /* bounds */
    ck_assert_int_eq(st->get_stamped(st, 0, keys, pool, vals, lens, stamps,
                                     each), APR_EINVAL);
    ck_assert_int_eq(st->get_stamped(st, n + 1, keys, pool, vals, lens,
                                     stamps, each), APR_EINVAL);
    /* Redis gone: nothing read */
    redis_stop();
    ck_assert_int_ne(st->get_stamped(st, 5, keys, pool, vals, lens, stamps,
                                     each), APR_SUCCESS);
    for (i = 0; i < 5; i++) {
        ck_assert_int_ne(each[i], APR_SUCCESS);
        ck_assert_int_ne(each[i], APR_NOTFOUND);
        ck_assert_ptr_null(vals[i]);
    }
}
END_TEST

/* Redis forgets what a connection read once the connection is gone, and
 * then says nothing when such a key changes (checked here first, so the
 * test shows why the rest matters): a tracked connection that closes,
 * whether Redis closed it while idle (CLIENT KILL; its `timeout`) or this
 * process did (broken, more idle than kept), moves every version and the
 * host stamps' generation on; one that was not tracked in this epoch
 * moves nothing. */
START_TEST(closed_connection_moves_the_version)
{
    fa_store_t *st;
    fa_redis_t *rs;
    fa_redis_conn_t *conn;
    fa_store_stamp_t s1, s2;
    fa_err_t err;
    apr_uint32_t v1, v2;
    char *v;
    apr_size_t len;
    int i;

    redis_start(NULL);
    st = tracked_store_with(1, 500);
    rs = st->baton;
    ck_assert_uint_ne(wait_version(st, "s:k", 1, 5000), 0);
    ck_assert_int_eq(st->put(st, "s:k", "one", 3, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    /* read through an idle connection of the pool; Redis kills it */
    v1 = st->version(st, "s:k");
    ck_assert_int_eq(st->host_stamp(st, "s:k", &s1), 1);
    ck_assert_int_eq(st->get(st, "s:k", pool, &v, &len), APR_SUCCESS);
    usleep(300000);
    ck_assert_uint_eq(st->version(st, "s:k"), v1);
    ck_assert_int_gt(st->host_valid(st, "s:k", &s1), 0);
    cli("CLIENT KILL TYPE %s", "normal");
    /* within the listener's sweep (FA_REDIS_SWEEP_MS), not at the next
     * use of the connection */
    v2 = wait_change(st, "s:k", v1, 2000);
    ck_assert_uint_ne(v2, v1);
    ck_assert_int_eq(wait_invalid(st, "s:k", &s1, 1000), 0);
    /* what Redis does not say: a change now would not be heard of */
    cli("SET fedauth:s:k %s", "two");
    usleep(300000);
    ck_assert_uint_eq(st->version(st, "s:k"), v2);
    /* closed by this process (broken) after tracking in this epoch */
    memset(&err, 0, sizeof(err));
    conn = fa_redis_conn_open(rs, &err);
    ck_assert_ptr_nonnull(conn);
    fa_redis_track_register(rs, conn, &err);
    ck_assert_uint_ne(conn->track_epoch, 0);
    v1 = st->version(st, "s:k");
    ck_assert_int_eq(st->host_stamp(st, "s:k", &s2), 1);
    fa_redis_release(rs, conn, 1);
    ck_assert_uint_ne(st->version(st, "s:k"), v1);
    ck_assert_int_eq(st->host_valid(st, "s:k", &s2), 0);
    /* never tracked (or in an older epoch): nothing moves */
    conn = fa_redis_conn_open(rs, &err);
    ck_assert_ptr_nonnull(conn);
    v1 = st->version(st, "s:k");
    ck_assert_int_eq(st->host_stamp(st, "s:k", &s2), 1);
    fa_redis_release(rs, conn, 1);
    ck_assert_uint_eq(st->version(st, "s:k"), v1);
    ck_assert_int_gt(st->host_valid(st, "s:k", &s2), 0);
    /* and the store still works, its copies vouched for again */
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(st->get(st, "s:k", pool, &v, &len), APR_SUCCESS);
    }
    ck_assert_str_eq(v, "two");
    v1 = st->version(st, "s:k");
    cli("DEL %s", "fedauth:s:k");
    ck_assert_uint_ne(wait_change(st, "s:k", v1, 2000), v1);
}
END_TEST

/* CLIENT TRACKING is sent on a connection when it is handed out in a new
 * epoch. When its answer does not come in time, the connection must not
 * be used: the late "+OK" would be read as the next command's reply, and
 * that command's reply (a session) as the one after it, another user's
 * request. Redis paused (CLIENT PAUSE) past the timeout while the one
 * idle connection is due to send CLIENT TRACKING again: every read
 * answers its own key, or fails. */
START_TEST(tracking_timeout_never_desyncs)
{
    fa_store_t *st;
    fa_redis_t *rs;
    fa_redis_conn_t *conn;
    fa_err_t err;
    apr_status_t rv;
    char *v;
    apr_size_t len;

    redis_start(NULL);
    st = tracked_store_with(0, 300);
    rs = st->baton;
    ck_assert_uint_ne(wait_version(st, "s:a", 1, 5000), 0);
    ck_assert_int_eq(st->put(st, "s:a", "value-of-a", 10, fa_now_sec() + 60,
                             pool), APR_SUCCESS);
    ck_assert_int_eq(st->put(st, "s:b", "value-of-b", 10, fa_now_sec() + 60,
                             pool), APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "s:a", pool, &v, &len), APR_SUCCESS);
    /* a new epoch: the idle connection sends CLIENT TRACKING at its next
     * use (a tracked connection closed moves the epoch) */
    memset(&err, 0, sizeof(err));
    conn = fa_redis_conn_open(rs, &err);
    ck_assert_ptr_nonnull(conn);
    fa_redis_track_register(rs, conn, &err);
    fa_redis_release(rs, conn, 1);
    cli("CLIENT PAUSE %s ALL", "450");
    rv = st->get(st, "s:a", pool, &v, &len);
    ck_assert_msg(rv != APR_SUCCESS || !strcmp(v, "value-of-a"),
                  "s:a read as \"%s\"", v);
    usleep(400000);
    rv = st->get(st, "s:b", pool, &v, &len);
    ck_assert_int_eq(rv, APR_SUCCESS);
    ck_assert_str_eq(v, "value-of-b");
    rv = st->get(st, "s:a", pool, &v, &len);
    ck_assert_int_eq(rv, APR_SUCCESS);
    ck_assert_str_eq(v, "value-of-a");
}
END_TEST

/* A Redis that refuses CLIENT: versions stay 0 (copies last a second),
 * the store works. */
START_TEST(invalidation_refused)
{
    fa_store_t *st;
    char *v;
    apr_size_t len;

    redis_start_with(NULL, "--rename-command", "CLIENT", "\"\"");
    st = tracked_store();
    usleep(1500000);
    ck_assert_uint_eq(st->version(st, "s:t"), 0);
    ck_assert_int_eq(st->put(st, "s:t", "one", 3, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "s:t", pool, &v, &len), APR_SUCCESS);
    ck_assert_uint_eq(st->version(st, "s:t"), 0);
}
END_TEST

START_TEST(expiry_prefix_and_db)
{
    fa_store_t *st;
    redisContext *c;
    redisReply *r;
    struct timeval tv = { 1, 0 };
    char *v;
    apr_size_t len;

    redis_start(NULL);
    st = store_for(spec_of("", "/5"));
    ck_assert_int_eq(st->put(st, "s:z", "v", 1, fa_now_sec() + 100, pool),
                     APR_SUCCESS);
    c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    r = redisCommand(c, "SELECT 5");
    freeReplyObject(r);
    r = redisCommand(c, "TTL fedauth:s:z");
    ck_assert_int_ge(r->integer, 98);
    ck_assert_int_le(r->integer, 100);
    freeReplyObject(r);
    /* an expiry in the past still gives a short, positive TTL */
    st->put(st, "s:old", "v", 1, fa_now_sec() - 5, pool);
    r = redisCommand(c, "TTL fedauth:s:old");
    ck_assert_int_eq(r->integer, 1);
    freeReplyObject(r);
    redisFree(c);
    ck_assert_int_eq(st->get(st, "s:z", pool, &v, &len), APR_SUCCESS);
}
END_TEST

START_TEST(auth_and_restart)
{
    fa_store_t *good, *bad;
    char *v;
    apr_size_t len;

    redis_start("p@ss:word");
    good = store_for(spec_of(":p%40ss%3Aword@", ""));
    bad = store_for(spec_of(":wrong@", ""));
    ck_assert_int_eq(good->put(good, "s:a", "v", 1, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    ck_assert_int_ne(bad->get(bad, "s:a", pool, &v, &len), APR_SUCCESS);
    ck_assert_int_ne(bad->get(bad, "s:a", pool, &v, &len), APR_NOTFOUND);
    /* a restart breaks the kept connection; the retry on a new one works */
    redis_stop();
    redis_start("p@ss:word");
    ck_assert_int_eq(good->get(good, "s:a", pool, &v, &len), APR_NOTFOUND);
    ck_assert_int_eq(good->put(good, "s:a", "w", 1, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
}
END_TEST

START_TEST(down_fails_fast)
{
    fa_store_t *st;
    char *v;
    apr_size_t len;
    apr_time_t t0;

    redis_start(NULL);
    st = store_for(spec_of("", ""));
    ck_assert_int_eq(st->put(st, "s:a", "v", 1, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    redis_stop();
    t0 = apr_time_now();
    ck_assert_int_ne(st->get(st, "s:a", pool, &v, &len), APR_SUCCESS);
    ck_assert_int_ne(st->get(st, "s:a", pool, &v, &len), APR_NOTFOUND);
    /* refused connects are quick, and the backoff answers at once */
    ck_assert_int_lt(apr_time_now() - t0, apr_time_from_msec(500));
    redis_start(NULL);
    /* within the backoff second it still fails; after it, it works */
    usleep(1100000);
    ck_assert_int_eq(st->get(st, "s:a", pool, &v, &len), APR_NOTFOUND);
}
END_TEST

START_TEST(parse_specs)
{
    fa_redis_conf_t c;
    fa_redis_host_t *h;

    ck_assert_ptr_null(fa_redis_parse(pool, "redis://cache.example", &c));
    h = &APR_ARRAY_IDX(c.hosts, 0, fa_redis_host_t);
    ck_assert_str_eq(h->host, "cache.example");
    ck_assert_int_eq(h->port, 6379);
    ck_assert_int_eq(c.db, 0);
    ck_assert_ptr_null(c.password);
    ck_assert_str_eq(c.prefix, "fedauth:");
    ck_assert_ptr_null(fa_redis_parse(pool,
                       "redis://app:s%40cret@[::1]:6380/4", &c));
    h = &APR_ARRAY_IDX(c.hosts, 0, fa_redis_host_t);
    ck_assert_str_eq(h->host, "::1");
    ck_assert_int_eq(h->port, 6380);
    ck_assert_str_eq(c.user, "app");
    ck_assert_str_eq(c.password, "s@cret");
    ck_assert_int_eq(c.db, 4);
    ck_assert_ptr_null(fa_redis_parse(pool,
        "redis-sentinel://:pw@s1:26380,s2,10.0.0.3:26381/mymaster/2", &c));
    ck_assert_int_eq(c.hosts->nelts, 3);
    ck_assert_int_eq(APR_ARRAY_IDX(c.hosts, 1, fa_redis_host_t).port, 26379);
    ck_assert_str_eq(c.master_name, "mymaster");
    ck_assert_int_eq(c.db, 2);
    ck_assert_ptr_null(c.user);
    ck_assert_str_eq(c.password, "pw");
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redis://a,b", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redis://h:99999", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redis://h/x", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redis-sentinel://s1", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redis://", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "memcache://h", &c));
}
END_TEST

/* Redis Cluster seeds: several hosts, default port 6379, only db 0. */
START_TEST(parse_cluster)
{
    fa_redis_conf_t c;
    char many[512];
    int i;

    ck_assert_ptr_null(fa_redis_parse(pool,
        "redis-cluster://u:p%2F@10.0.0.1:7000,[::1]:7001,node3", &c));
    ck_assert_int_eq(c.cluster, 1);
    ck_assert_int_eq(c.tls, 0);
    ck_assert_ptr_null(c.master_name);
    ck_assert_int_eq(c.hosts->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(c.hosts, 0, fa_redis_host_t).host,
                     "10.0.0.1");
    ck_assert_int_eq(APR_ARRAY_IDX(c.hosts, 0, fa_redis_host_t).port, 7000);
    ck_assert_str_eq(APR_ARRAY_IDX(c.hosts, 1, fa_redis_host_t).host, "::1");
    ck_assert_int_eq(APR_ARRAY_IDX(c.hosts, 2, fa_redis_host_t).port, 6379);
    ck_assert_str_eq(c.user, "u");
    ck_assert_str_eq(c.password, "p/");
    ck_assert_int_eq(c.db, 0);
    ck_assert_ptr_null(fa_redis_parse(pool, "rediss-cluster://h1:7000/0",
                                      &c));
    ck_assert_int_eq(c.cluster, 1);
    ck_assert_int_eq(c.tls, 1);
    ck_assert_int_eq(c.hosts->nelts, 1);
    ck_assert_ptr_null(fa_redis_parse(pool, "redis://h", &c));
    ck_assert_int_eq(c.cluster, 0);
    /* a Cluster has only database 0 */
    ck_assert_str_eq(fa_redis_parse(pool, "redis-cluster://h:7000/1", &c),
                     "a Redis Cluster has only database 0");
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redis-cluster://", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redis-cluster://a,,b", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redis-cluster://a:0", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redis-cluster://a/x", &c));
    /* bounded: at most FA_REDIS_MAX_HOSTS seeds */
    strcpy(many, "redis-cluster://h");
    for (i = 1; i < FA_REDIS_MAX_HOSTS; i++) {
        strcat(many, ",h");
    }
    ck_assert_ptr_null(fa_redis_parse(pool, many, &c));
    ck_assert_int_eq(c.hosts->nelts, FA_REDIS_MAX_HOSTS);
    strcat(many, ",h");
    ck_assert_ptr_nonnull(fa_redis_parse(pool, many, &c));
}
END_TEST

static unsigned int slot_of(const char *key)
{
    return fa_redis_keyslot(key, strlen(key));
}

/* CRC16 (XMODEM) and key slots, by the Redis Cluster specification's
 * examples and what CLUSTER KEYSLOT answers. */
START_TEST(cluster_keyslot)
{
    ck_assert_uint_eq(fa_redis_crc16("123456789", 9), 0x31C3);
    ck_assert_uint_eq(fa_redis_crc16("", 0), 0);
    ck_assert_uint_eq(slot_of("123456789"), 0x31C3 & 16383);
    ck_assert_uint_eq(slot_of("foo"), 12182);
    ck_assert_uint_eq(slot_of("bar"), 5061);
    ck_assert_uint_eq(slot_of("somekey"), 11058);
    ck_assert_uint_eq(slot_of("hello"), 866);
    ck_assert_uint_eq(slot_of(""), 0);
    /* the hash tag: the part between the first { and the next } */
    ck_assert_uint_eq(slot_of("{user1000}.following"),
                      slot_of("{user1000}.followers"));
    ck_assert_uint_eq(slot_of("{user1000}.following"), slot_of("user1000"));
    ck_assert_uint_eq(slot_of("foo{bar}"), slot_of("bar"));
    ck_assert_uint_eq(slot_of("foo{bar}{zap}"), slot_of("bar"));
    ck_assert_uint_eq(slot_of("{a}{b}"), slot_of("a"));
    ck_assert_uint_eq(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    /* as redis-server 7.0's CLUSTER KEYSLOT answers */
    ck_assert_uint_eq(slot_of("123456789"), 12739);
    ck_assert_uint_eq(slot_of("{}"), 15257);
    ck_assert_uint_eq(slot_of("foo{}{bar}"), 8363);
    ck_assert_uint_eq(slot_of("{a}{b}"), 15495);
    /* an empty tag or no closing brace: the whole key */
    ck_assert_uint_eq(slot_of("{}"), fa_redis_crc16("{}", 2) & 16383);
    ck_assert_uint_eq(slot_of("foo{}{bar}"),
                      fa_redis_crc16("foo{}{bar}", 10) & 16383);
    ck_assert_uint_ne(slot_of("foo{}{bar}"), slot_of("bar"));
    ck_assert_uint_eq(slot_of("foo{bar"), fa_redis_crc16("foo{bar", 7)
                                          & 16383);
    ck_assert_uint_eq(slot_of("}foo{"), fa_redis_crc16("}foo{", 5) & 16383);
    /* only len bytes count */
    ck_assert_uint_eq(fa_redis_keyslot("foo{bar}", 3), slot_of("foo"));
    ck_assert_uint_eq(fa_redis_keyslot("{bar}", 4),
                      fa_redis_crc16("{bar", 4) & 16383);
}
END_TEST

/* After an IPv6 address's ']' only :port, then /db, or the end. */
START_TEST(parse_ipv6_brackets)
{
    fa_redis_conf_t c;
    fa_redis_host_t *h;
    const char *err;

    ck_assert_ptr_null(fa_redis_parse(pool, "redis://[::1]:6379/2", &c));
    h = &APR_ARRAY_IDX(c.hosts, 0, fa_redis_host_t);
    ck_assert_str_eq(h->host, "::1");
    ck_assert_int_eq(h->port, 6379);
    ck_assert_int_eq(c.db, 2);
    ck_assert_ptr_null(fa_redis_parse(pool, "redis://[::1]/3", &c));
    ck_assert_int_eq(APR_ARRAY_IDX(c.hosts, 0, fa_redis_host_t).port, 6379);
    ck_assert_int_eq(c.db, 3);
    ck_assert_ptr_null(fa_redis_parse(pool, "redis://[::1]", &c));
    ck_assert_str_eq(APR_ARRAY_IDX(c.hosts, 0, fa_redis_host_t).host, "::1");

    err = fa_redis_parse(pool, "redis://[::1]junk", &c);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, "'junk' follows an IPv6 address's ']': only "
                     ":port, /db or the end may");
    err = fa_redis_parse(pool, "redis://[::1]junk/2", &c);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "'junk' follows"));
    err = fa_redis_parse(pool, "redis-sentinel://s1,[::1]x:26379/m", &c);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "'x:26379' follows"));
    err = fa_redis_parse(pool, "redis://[::1]:6379x", &c);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, "a port is not a number from 1 to 65535");
    err = fa_redis_parse(pool, "redis://[::1]:", &c);
    ck_assert_str_eq(err, "a port is not a number from 1 to 65535");
    err = fa_redis_parse(pool, "redis://[::1", &c);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, "an IPv6 address lacks its ']'");
    err = fa_redis_parse(pool, "redis://[]:6379", &c);
    ck_assert_str_eq(err, "a host name is malformed");
}
END_TEST

Suite *suite_redis(void)
{
    Suite *s = suite_create("redis");
    TCase *tc = tcase_create("redis");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, parse_specs);
    tcase_add_test(tc, parse_ipv6_brackets);
    tcase_add_test(tc, parse_cluster);
    tcase_add_test(tc, cluster_keyslot);
    tcase_add_test(tc, operations);
    tcase_add_test(tc, index_from_a_plain_set);
    tcase_add_test(tc, registry_backend);
    tcase_add_test(tc, attempt_stream);
    tcase_add_test(tc, client_by_construction);
    tcase_add_test(tc, invalidation_moves_the_version);
    tcase_add_test(tc, invalidation_refused);
    tcase_add_test(tc, host_stamps_follow_redis_and_the_voucher);
    tcase_add_test(tc, stamped_reads_in_one_pipeline);
    tcase_add_test(tc, closed_connection_moves_the_version);
    tcase_add_test(tc, tracking_timeout_never_desyncs);
    tcase_add_test(tc, expiry_prefix_and_db);
    tcase_add_test(tc, auth_and_restart);
    tcase_add_test(tc, down_fails_fast);
    suite_add_tcase(s, tc);
    return s;
}
