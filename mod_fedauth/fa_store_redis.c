/* SPDX-License-Identifier: Apache-2.0 */
/* fa_store_redis.c - the session store (fa_store_t, fa_store.h) on a
 * Redis client (fa_redis_client.c): fa_store_redis_create makes both, and
 * fa_store_redis_client gives the client back to whoever builds more on it
 * (the registry, the attempt stream, the status page). Each operation is
 * one command (or one script, so atomic) through fa_redis_command; the
 * pool, Sentinel, Cluster routing and the invalidation listener are the
 * client's. Keys carry the configured prefix. Part of the httpd-free
 * core. */
#include <string.h>
#include <apr_strings.h>
#include "fa_redis_int.h"
#include "fa_log.h"

#if FA_STORE_STAMPED_MAX > FA_REDIS_PIPELINE_MAX
#error "a get_stamped must fit in one pipeline"
#endif

static apr_status_t r_get(fa_store_t *st, const char *key, apr_pool_t *p,
                          char **val, apr_size_t *len)
{
    fa_redis_t *rs = st->baton;
    const char *argv[2] = { "GET", fa_redis_key(p, rs, key) };
    redisReply *reply;
    fa_err_t err;

    if (fa_redis_command(rs, 2, argv, NULL, FA_REDIS_REPLY_VALUE, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    return fa_redis_string_reply(p, reply, val, len);
}

static apr_status_t r_take(fa_store_t *st, const char *key, apr_pool_t *p,
                           char **val, apr_size_t *len)
{
    fa_redis_t *rs = st->baton;
    const char *argv[2] = { "GETDEL", fa_redis_key(p, rs, key) };
    redisReply *reply;
    fa_err_t err;

    if (fa_redis_command(rs, 2, argv, NULL, FA_REDIS_REPLY_VALUE, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    return fa_redis_string_reply(p, reply, val, len);
}

static const char *ttl_of(apr_pool_t *p, apr_int64_t expires_at)
{
    apr_int64_t ttl = expires_at - fa_now_sec();

    return apr_psprintf(p, "%" APR_INT64_T_FMT, ttl > 0 ? ttl : 1);
}

static apr_status_t r_put(fa_store_t *st, const char *key, const char *val,
                          apr_size_t len, apr_int64_t expires_at,
                          apr_pool_t *p)
{
    fa_redis_t *rs = st->baton;
    const char *argv[5] = { "SET", fa_redis_key(p, rs, key), val, "EX",
                            ttl_of(p, expires_at) };
    size_t lens[5];
    redisReply *reply;
    fa_err_t err;
    int i;

    for (i = 0; i < 5; i++) {
        lens[i] = i == 2 ? len : strlen(argv[i]);
    }
    if (fa_redis_command(rs, 5, argv, lens, FA_REDIS_REPLY_SMALL, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

/* SET NX: a nil answer means the key holds a value. */
static apr_status_t r_add(fa_store_t *st, const char *key, const char *val,
                          apr_size_t len, apr_int64_t expires_at,
                          apr_pool_t *p)
{
    fa_redis_t *rs = st->baton;
    const char *argv[6] = { "SET", fa_redis_key(p, rs, key), val, "NX", "EX",
                            ttl_of(p, expires_at) };
    size_t lens[6];
    redisReply *reply;
    fa_err_t err;
    apr_status_t rv;
    int i;

    for (i = 0; i < 6; i++) {
        lens[i] = i == 2 ? len : strlen(argv[i]);
    }
    if (fa_redis_command(rs, 6, argv, lens, FA_REDIS_REPLY_SMALL, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    rv = reply->type == REDIS_REPLY_NIL ? APR_EEXIST : APR_SUCCESS;
    freeReplyObject(reply);
    return rv;
}

static apr_status_t r_del(fa_store_t *st, const char *key, apr_pool_t *p)
{
    fa_redis_t *rs = st->baton;
    const char *argv[2] = { "DEL", fa_redis_key(p, rs, key) };
    redisReply *reply;
    fa_err_t err;

    if (fa_redis_command(rs, 2, argv, NULL, FA_REDIS_REPLY_SMALL, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

/* DEL only while the key holds ARGV[1]: one script, so atomic. */
static const char DEL_IF_LUA[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "  return redis.call('DEL', KEYS[1]) end return 0";

static apr_status_t r_del_if(fa_store_t *st, const char *key,
                             const char *val, apr_size_t len, apr_pool_t *p)
{
    fa_redis_t *rs = st->baton;
    const char *argv[5] = { "EVAL", DEL_IF_LUA, "1", fa_redis_key(p, rs, key),
                            val };
    size_t lens[5];
    redisReply *reply;
    fa_err_t err;
    int i;

    for (i = 0; i < 5; i++) {
        lens[i] = i == 4 ? len : strlen(argv[i]);
    }
    if (fa_redis_command(rs, 5, argv, lens, FA_REDIS_REPLY_SMALL, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

/* An index is a sorted set of session keys (without the prefix), scored
 * by the time they were added. The script drops members whose key is gone,
 * then the oldest beyond max (deleting their keys), returns those, and
 * pushes the index's TTL out, never in. A plain set left by an older
 * version becomes a sorted set first. The members' keys are not declared
 * in KEYS: a Redis Cluster needs them in the index's slot (hash tags).
 * This is fa_store_index_plan's rule (fa_store.c) in Lua: on one Redis
 * the whole add is one script, so atomic; a change to the rule changes
 * both (t/unit/store_contract.c runs the same cases on shm and Redis). */
static const char INDEX_ADD_LUA[] =
    "local k, m, pre, max = KEYS[1], ARGV[1], ARGV[5], tonumber(ARGV[4]) "
    "if redis.call('TYPE', k).ok == 'set' then "
    "  local old = redis.call('SMEMBERS', k) redis.call('DEL', k) "
    "  for _, v in ipairs(old) do redis.call('ZADD', k, 0, v) end "
    "end "
    "redis.call('ZADD', k, ARGV[2], m) "
    "for _, v in ipairs(redis.call('ZRANGE', k, 0, -1)) do "
    "  if v ~= m and redis.call('EXISTS', pre .. v) == 0 then "
    "    redis.call('ZREM', k, v) end "
    "end "
    "local n, gone = redis.call('ZCARD', k), {} "
    "if n > max then "
    "  gone = redis.call('ZRANGE', k, 0, n - max - 1) "
    "  for _, v in ipairs(gone) do "
    "    redis.call('DEL', pre .. v) redis.call('ZREM', k, v) end "
    "end "
    "if redis.call('TTL', k) < tonumber(ARGV[3]) then "
    "  redis.call('EXPIRE', k, ARGV[3]) end "
    "return gone";
static const char INDEX_TAKE_LUA[] =
    "local k = KEYS[1] local m "
    "if redis.call('TYPE', KEYS[1]).ok == 'set' then "
    "  m = redis.call('SMEMBERS', k) "
    "else m = redis.call('ZRANGE', k, 0, -1) end "
    "redis.call('DEL', k) return m";


/* Redis Cluster: a script may only touch keys of one slot, and an index
 * and its sessions' keys are in different slots (see docs/operating.md),
 * so index_add runs in steps there: this script does the index's own part
 * (add, push the TTL out, list the members, oldest first); then
 * fa_store_index_plan decides, asking for each member's key on its own
 * node (EXISTS); the gone ones and the oldest beyond max leave the index
 * (ZREM) and the latter's keys are deleted (DEL). Not atomic, yet
 * sign-ins of one user at the same moment still leave exactly max: the
 * scripts run one after another on the index's node, so each step sees
 * the members of every script before it, a superset of what an earlier
 * step saw; a member an earlier step drops has max newer members in its
 * view, hence in every later view, so the last step drops it too and
 * keeps the newest max of all. A session's key is written before it
 * joins an index, so no step takes a live member for a gone one. */
static const char INDEX_ADD_ONE_LUA[] =
    "local k = KEYS[1] "
    "redis.call('ZADD', k, ARGV[2], ARGV[1]) "
    "if redis.call('TTL', k) < tonumber(ARGV[3]) then "
    "  redis.call('EXPIRE', k, ARGV[3]) end "
    "return redis.call('ZRANGE', k, 0, -1)";

typedef struct alive_ask_t {
    fa_redis_t *rs;
    apr_pool_t *p;
    fa_err_t *err;
} alive_ask_t;

/* fa_store_alive_fn: EXISTS on the member's own node. */
static int member_alive(void *baton, const char *member)
{
    alive_ask_t *a = baton;
    const char *argv[2] = { "EXISTS", fa_redis_key(a->p, a->rs, member) };
    redisReply *reply;
    int alive;

    if (fa_redis_command(a->rs, 2, argv, NULL, FA_REDIS_REPLY_SMALL, &reply,
                         a->err) != APR_SUCCESS) {
        return -1;
    }
    alive = !(reply->type == REDIS_REPLY_INTEGER && reply->integer == 0);
    freeReplyObject(reply);
    return alive;
}

/* Runs one command whose reply only says it was done. */
static apr_status_t just_run(fa_redis_t *rs, int argc, const char **argv,
                             fa_err_t *err)
{
    redisReply *reply;

    if (fa_redis_command(rs, argc, argv, NULL, FA_REDIS_REPLY_SMALL, &reply,
                         err) != APR_SUCCESS) {
        return fa_redis_log_failure(err);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

static apr_status_t cluster_index_add(fa_redis_t *rs, const char *key,
                                      const char *member,
                                      apr_int64_t expires_at, int max,
                                      apr_pool_t *p,
                                      apr_array_header_t **dropped)
{
    const char *fkey = fa_redis_key(p, rs, key);
    const char *argv[7] = {
        "EVAL", INDEX_ADD_ONE_LUA, "1", fkey, member,
        apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_now()),
        ttl_of(p, expires_at)
    };
    const char *one[2], **zrem;
    fa_store_index_plan_t plan;
    alive_ask_t ask;
    redisReply *reply;
    apr_status_t rv;
    fa_err_t err;
    int i, nrem = 0;

    if (fa_redis_command(rs, 7, argv, NULL, FA_REDIS_REPLY_INDEX, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    ask.rs = rs;
    ask.p = p;
    ask.err = &err;
    rv = fa_store_index_plan(p, fa_redis_reply_strings(p, reply), member,
                             max, member_alive, &ask, &plan);
    freeReplyObject(reply);
    if (rv != APR_SUCCESS) {
        return rv == APR_EGENERAL ? fa_redis_log_failure(&err) : rv;
    }
    zrem = apr_palloc(p, sizeof(*zrem) * (size_t)(plan.gone->nelts
                                                  + plan.dropped->nelts + 2));
    zrem[nrem++] = "ZREM";
    zrem[nrem++] = fkey;
    for (i = 0; i < plan.gone->nelts; i++) {
        zrem[nrem++] = APR_ARRAY_IDX(plan.gone, i, const char *);
    }
    for (i = 0; i < plan.dropped->nelts; i++) {
        const char *v = APR_ARRAY_IDX(plan.dropped, i, const char *);
        one[0] = "DEL";
        one[1] = fa_redis_key(p, rs, v);
        if ((rv = just_run(rs, 2, one, &err)) != APR_SUCCESS) {
            return rv;
        }
        zrem[nrem++] = v;
        APR_ARRAY_PUSH(*dropped, const char *) = v;
    }
    return nrem > 2 ? just_run(rs, nrem, zrem, &err) : APR_SUCCESS;
}

static apr_status_t r_index_add(fa_store_t *st, const char *key,
                                const char *member, apr_int64_t expires_at,
                                int max, apr_pool_t *p,
                                apr_array_header_t **dropped)
{
    fa_redis_t *rs = st->baton;
    const char *argv[8] = {
        "EVAL", INDEX_ADD_LUA, "1", fa_redis_key(p, rs, key), member,
        apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_now()),
        ttl_of(p, expires_at), apr_itoa(p, max)
    };
    const char *args[9];
    redisReply *reply;
    fa_err_t err;

    *dropped = apr_array_make(p, 1, sizeof(const char *));
    if (max < 1 || max > FA_STORE_INDEX_MAX) {
        return APR_EINVAL;
    }
    if (rs->conf.cluster) {
        return cluster_index_add(rs, key, member, expires_at, max, p,
                                 dropped);
    }
    memcpy(args, argv, sizeof(argv));
    args[8] = rs->conf.prefix;
    if (fa_redis_command(rs, 9, args, NULL, FA_REDIS_REPLY_INDEX, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    *dropped = fa_redis_reply_strings(p, reply);
    freeReplyObject(reply);
    return APR_SUCCESS;
}

static apr_status_t r_index_take(fa_store_t *st, const char *key,
                                 apr_pool_t *p, apr_array_header_t **members)
{
    fa_redis_t *rs = st->baton;
    const char *argv[4] = { "EVAL", INDEX_TAKE_LUA, "1",
                            fa_redis_key(p, rs, key) };
    redisReply *reply;
    fa_err_t err;

    *members = apr_array_make(p, 4, sizeof(const char *));
    if (fa_redis_command(rs, 4, argv, NULL, FA_REDIS_REPLY_INDEX, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    *members = fa_redis_reply_strings(p, reply);
    freeReplyObject(reply);
    return APR_SUCCESS;
}

/* fa_store_t.get_stamped: every stamp is taken before any GET is sent,
 * and the GETs go pipelined on connections whose reads Redis tracks in
 * the epoch the stamps name (fa_redis_pipeline hands out connections as
 * fa_redis_command does): a change after a stamp moves its key's counter
 * or its voucher's generation, so the copy made from what the GET
 * returned does not count. */
static apr_status_t r_get_stamped(fa_store_t *st, int n,
                                  const char *const *keys, apr_pool_t *p,
                                  char **vals, apr_size_t *lens,
                                  fa_store_stamp_t *stamps,
                                  apr_status_t *each)
{
    fa_redis_t *rs = st->baton;
    const char *argv[FA_STORE_STAMPED_MAX * 2];
    redisReply *replies[FA_STORE_STAMPED_MAX];
    int at[FA_STORE_STAMPED_MAX];
    int i, m = 0;
    apr_status_t rv = APR_SUCCESS;
    fa_err_t err;

    if (n < 1 || n > FA_STORE_STAMPED_MAX) {
        return APR_EINVAL;
    }
    for (i = 0; i < n; i++) {
        vals[i] = NULL;
        lens[i] = 0;
        each[i] = APR_EGENERAL;
        if (!fa_redis_host_stamp(st, keys[i], &stamps[i])) {
            rv = APR_EGENERAL;
            continue;
        }
        argv[m * 2] = "GET";
        argv[m * 2 + 1] = fa_redis_key(p, rs, keys[i]);
        at[m++] = i;
    }
    if (m == 0) {
        return rv;
    }
    /* not logged: the renewal says what it could not read, and a
     * request that needs the key reads it and logs what fails */
    if (fa_redis_pipeline(rs, m, 2, argv, FA_REDIS_REPLY_VALUE, replies,
                          &err) != APR_SUCCESS) {
        rv = APR_EGENERAL;
    }
    for (i = 0; i < m; i++) {
        if (!replies[i]) {
            continue;
        }
        if (replies[i]->type == REDIS_REPLY_STRING
            || replies[i]->type == REDIS_REPLY_NIL) {
            each[at[i]] = fa_redis_string_reply(p, replies[i], &vals[at[i]],
                                                &lens[at[i]]);
        }
        else {
            freeReplyObject(replies[i]);
            rv = APR_EGENERAL;
        }
    }
    return rv;
}

static apr_status_t r_child_init(fa_store_t *st, apr_pool_t *p)
{
    return fa_redis_track_start(st->baton, p);
}

apr_status_t fa_store_redis_create(apr_pool_t *p, const fa_redis_conf_t *conf,
                                   fa_store_t **pst)
{
    fa_store_t *st;
    fa_redis_t *rs;
    apr_status_t rv;

    *pst = NULL;
    if ((rv = fa_redis_create(p, conf, &rs)) != APR_SUCCESS) {
        return rv;
    }
    st = apr_pcalloc(p, sizeof(*st));
    st->name = "redis";
    st->get = r_get;
    st->put = r_put;
    st->add = r_add;
    st->take = r_take;
    st->del = r_del;
    st->del_if = r_del_if;
    st->index_add = r_index_add;
    st->index_take = r_index_take;
    st->version = fa_redis_version;
    if (rs->shared) {
        st->host_stamp = fa_redis_host_stamp;
        st->host_valid = fa_redis_host_valid;
        st->get_stamped = r_get_stamped;
    }
    st->copy_ms = FA_REDIS_COPY_MS;
    st->child_init = r_child_init;
    st->baton = rs;
    *pst = st;
    return APR_SUCCESS;
}

/* By construction, not by name: only fa_store_redis_create puts r_get in
 * a store, and it puts the client in the same store's baton. A wrapper
 * (the metrics' counting store) is looked through, a few deep at most. */
fa_redis_t *fa_store_redis_client(const fa_store_t *st)
{
    int depth;

    for (depth = 0; st && st->get != r_get && depth < 4; depth++) {
        st = st->inner;
    }
    return st && st->get == r_get ? st->baton : NULL;
}
