/* SPDX-License-Identifier: Apache-2.0 */
/* fa_store_redis.c - the session store in Redis (plain or through
 * Sentinel, with or without TLS); see fa_store.h. The connections are
 * fa_redis_net.c's: hiredis formats the commands and parses the replies,
 * the bytes (and TLS) are ours.
 *
 * Connections live in a small pool: an operation takes one (or makes one),
 * runs its command and gives it back. A connection that fails is dropped,
 * and the operation is tried once more on a new connection: after a Redis
 * restart or a fail-over the first use of an old connection fails, the
 * retry does not. Commands are sent as argument vectors (binary-safe);
 * nothing from outside is ever formatted into a command.
 *
 * Client-side caching: each process runs a listener thread with one
 * connection subscribed to __redis__:invalidate; every pooled connection
 * turns CLIENT TRACKING on with its messages redirected to the listener,
 * so Redis names every key this process read once it changes (by anyone,
 * on any host). The listener bumps a counter per key slot; version() is
 * that counter (and the listener's epoch), or 0 while the listener is
 * down or Redis refuses tracking: a copy is then trusted only briefly. */
#include <poll.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <hiredis.h>
#include "fa_store.h"
#include "fa_redis_net.h"
#include "fa_log.h"
#include "fa_registry.h"

#define MAX_IDLE 64
#define BACKOFF_MS 1000
/* With Sentinel, how often the master is asked for again while there is
 * traffic: an old master stays writable for a while after a fail-over, so
 * waiting for an error is not enough. */
#define SENTINEL_CHECK_MS 1000
#define TRACK_SLOTS 65536          /* a power of two */
#define LISTEN_POLL_MS 200
/* The listener PINGs this often and gives up on a connection that has
 * said nothing for LISTEN_SILENT_MS: a connection that died without a
 * word (a cut network) cannot hide lost invalidations for longer. */
#define LISTEN_PING_MS 1000
#define LISTEN_SILENT_MS 3000
#define INVALIDATE_CHANNEL "__redis__:invalidate"
/* The most a reply may take, by what was asked: a value (GET) can be no
 * larger than the store ever writes; an index holds at most
 * FA_STORE_INDEX_MAX short keys; everything else is a status, a number or
 * a short error. An invalidation message may name many keys (a script
 * that deleted a user's sessions). Beyond these the server is cut off. */
#define REPLY_MAX_VALUE (FA_STORE_MAX_VALUE + 64)
#define REPLY_MAX_INDEX (FA_STORE_INDEX_MAX * 256 + 1024)
#define REPLY_MAX_SMALL 8192
#define REPLY_MAX_LISTEN (1024 * 1024)

enum { TRACK_OFF = 0, TRACK_DOWN, TRACK_UP, TRACK_REFUSED };

/* Redis Cluster: the most nodes (masters and replicas) a process keeps
 * track of, the most redirects (MOVED, ASK) one operation follows, how
 * often at most the slot map is fetched again because something failed,
 * how many nodes one fetch asks before it gives up, and the most a
 * CLUSTER SLOTS reply may take. */
#define CLUSTER_MAX_NODES 64
#define CLUSTER_MAX_REDIRECTS 5
#define CLUSTER_MAP_MIN_MS 250
#define CLUSTER_MAP_TRIES 8
#define REPLY_MAX_MAP (1024 * 1024)
#define NO_NODE 0xff

/* One node of a Cluster, with its own pool of idle connections. */
typedef struct cnode_t {
    char host[256];
    int port;
    struct conn_t *idle;
    int idle_count;
    apr_int64_t down_until_ms;    /* no new connects before this */
    char down_why[160];
} cnode_t;

typedef struct conn_t {
    fa_redis_link_t *c;
    int node;                     /* Cluster: index into nodes, else -1 */
    unsigned int generation;      /* of the master it talks to */
    unsigned int track_epoch;     /* tracking redirected for it, or 0 */
    struct conn_t *next;
} conn_t;

typedef struct redis_t {
    fa_redis_conf_t conf;
    SSL_CTX *tls;                 /* rediss://: verification, client cert */
    apr_thread_mutex_t *lock;     /* guards everything below */
    conn_t *idle;
    int idle_count;
    char master_host[256];        /* Sentinel: the master found last */
    int master_port;
    unsigned int generation;      /* + 1 each time the master changes */
    apr_int64_t checked_ms;       /* Sentinel: last look-up */
    int checking;                 /* a thread is looking up */
    apr_int64_t down_until_ms;    /* no new connects before this */
    char down_why[160];           /* why the last connect failed */
    apr_int64_t failed_ms;        /* that failure, and the last connect */
    apr_int64_t connected_ms;     /* that worked (the status page) */
    /* client-side caching; the atomics are read without the lock */
    int track_state;              /* TRACK_*, atomic */
    unsigned int track_epoch;     /* + 1 at each listener up or down, atomic */
    apr_int64_t track_id;         /* the listener's CLIENT ID */
    apr_uint32_t *track_gen;      /* TRACK_SLOTS counters, atomic */
    apr_thread_t *listener;
    int stopping;                 /* atomic */
    /* Cluster (conf.cluster); under lock */
    cnode_t *nodes;               /* CLUSTER_MAX_NODES */
    int n_nodes;
    unsigned char *slot_node;     /* FA_REDIS_SLOTS: a node, or NO_NODE */
    apr_int64_t mapped_ms;        /* last fetch of the slot map */
    int mapping;                  /* a thread is fetching it */
} redis_t;

static fa_store_t *store_new(apr_pool_t *p, redis_t *rs);

static apr_int64_t now_ms(void)
{
    return (apr_int64_t)(apr_time_now() / 1000);
}

/* ---- configuration --------------------------------------------------- */

static const char *parse_host(apr_pool_t *p, const char *s, apr_size_t len,
                              int default_port, fa_redis_host_t *h)
{
    const char *colon, *end = s + len;
    char *endp;
    long port = default_port;

    if (len == 0) {
        return "a host is missing";
    }
    if (*s == '[') {
        const char *close = memchr(s, ']', len);
        if (!close) {
            return "an IPv6 address lacks its ']'";
        }
        if (close + 1 < end && close[1] != ':') {
            return apr_psprintf(p, "'%.*s' follows an IPv6 address's ']': "
                                "only :port, /db or the end may",
                                (int)(end - close - 1 > 32 ? 32
                                      : end - close - 1), close + 1);
        }
        h->host = apr_pstrmemdup(p, s + 1, (apr_size_t)(close - s - 1));
        colon = close + 1 < end ? close + 1 : NULL;
    }
    else {
        colon = memchr(s, ':', len);
        h->host = apr_pstrmemdup(p, s, colon ? (apr_size_t)(colon - s)
                                             : len);
    }
    if (colon) {
        port = strtol(apr_pstrmemdup(p, colon + 1,
                                     (apr_size_t)(end - colon - 1)),
                      &endp, 10);
        if (*endp || port < 1 || port > 65535) {
            return "a port is not a number from 1 to 65535";
        }
    }
    if (!*h->host || strpbrk(h->host, "/@ ")) {
        return "a host name is malformed";
    }
    h->port = (int)port;
    return NULL;
}

const char *fa_redis_parse(apr_pool_t *p, const char *spec,
                           fa_redis_conf_t *conf)
{
    const char *rest, *at, *slash, *hosts, *comma, *err, *path;
    int sentinel = 0, default_port;
    char *user, *pass, *endp, *colon;
    fa_redis_host_t *h;
    long db;

    memset(conf, 0, sizeof(*conf));
    conf->prefix = "fedauth:";
    conf->timeout_ms = 1000;
    if (!strncmp(spec, "redis://", 8)) {
        sentinel = 0;
        rest = spec + 8;
    }
    else if (!strncmp(spec, "rediss://", 9)) {
        sentinel = 0;
        conf->tls = 1;
        rest = spec + 9;
    }
    else if (!strncmp(spec, "redis-sentinel://", 17)) {
        sentinel = 1;
        rest = spec + 17;
    }
    else if (!strncmp(spec, "rediss-sentinel://", 18)) {
        sentinel = 1;
        conf->tls = 1;
        rest = spec + 18;
    }
    else if (!strncmp(spec, "redis-cluster://", 16)) {
        conf->cluster = 1;
        rest = spec + 16;
    }
    else if (!strncmp(spec, "rediss-cluster://", 17)) {
        conf->cluster = 1;
        conf->tls = 1;
        rest = spec + 17;
    }
    else {
        return "expects redis://..., rediss://..., redis-sentinel://..., "
               "rediss-sentinel://..., redis-cluster://... or "
               "rediss-cluster://...";
    }
    default_port = sentinel ? 26379 : 6379;
    slash = strchr(rest, '/');
    at = strchr(rest, '@');
    if (at && (!slash || at < slash)) {
        user = apr_pstrmemdup(p, rest, (apr_size_t)(at - rest));
        colon = strchr(user, ':');
        if (!colon) {
            return "expects user:password@ before the host";
        }
        *colon = '\0';
        pass = colon + 1;
        if (fa_url_decode(p, user, strlen(user), &user) != APR_SUCCESS
            || fa_url_decode(p, pass, strlen(pass), &pass) != APR_SUCCESS) {
            return "the credentials are not properly %-encoded";
        }
        conf->user = *user ? user : NULL;
        conf->password = *pass ? pass : NULL;
        rest = at + 1;
    }
    hosts = rest;
    slash = strchr(rest, '/');
    conf->hosts = apr_array_make(p, 3, sizeof(fa_redis_host_t));
    for (;;) {
        const char *end = slash ? slash : hosts + strlen(hosts);
        comma = memchr(hosts, ',', (apr_size_t)(end - hosts));
        h = apr_array_push(conf->hosts);
        if ((err = parse_host(p, hosts, comma ? (apr_size_t)(comma - hosts)
                                               : (apr_size_t)(end - hosts),
                              default_port, h)) != NULL) {
            return err;
        }
        if (!comma) {
            break;
        }
        if (!sentinel && !conf->cluster) {
            return "redis:// takes one host; use redis-sentinel:// or "
                   "redis-cluster:// for several";
        }
        if (conf->hosts->nelts >= FA_REDIS_MAX_HOSTS) {
            return apr_psprintf(p, "takes at most %d hosts",
                                FA_REDIS_MAX_HOSTS);
        }
        hosts = comma + 1;
    }
    path = slash ? slash + 1 : "";
    if (sentinel) {
        slash = strchr(path, '/');
        conf->master_name = apr_pstrmemdup(p, path, slash
                                           ? (apr_size_t)(slash - path)
                                           : strlen(path));
        if (!*conf->master_name) {
            return "redis-sentinel:// needs the master's name after the "
                   "hosts";
        }
        path = slash ? slash + 1 : "";
    }
    if (*path) {
        db = strtol(path, &endp, 10);
        if (*endp || db < 0 || db > 10000) {
            return "the database must be a number";
        }
        conf->db = (int)db;
        if (conf->cluster && db != 0) {
            return "a Redis Cluster has only database 0";
        }
    }
    return NULL;
}

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0, not reflected), as
 * the Redis Cluster specification computes key slots with it. */
static unsigned int crc16(const char *buf, apr_size_t len)
{
    unsigned int crc = 0;
    apr_size_t i;
    int b;

    for (i = 0; i < len; i++) {
        crc ^= (unsigned int)(unsigned char)buf[i] << 8;
        for (b = 0; b < 8; b++) {
            crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) : (crc << 1);
        }
        crc &= 0xffff;
    }
    return crc;
}

unsigned int fa_redis_crc16(const char *buf, apr_size_t len)
{
    return crc16(buf, len);
}

unsigned int fa_redis_keyslot(const char *key, apr_size_t len)
{
    const char *open = memchr(key, '{', len), *close;

    if (open) {
        close = memchr(open + 1, '}', len - (apr_size_t)(open + 1 - key));
        if (close && close > open + 1) {
            return crc16(open + 1, (apr_size_t)(close - open - 1))
                   & (FA_REDIS_SLOTS - 1);
        }
    }
    return crc16(key, len) & (FA_REDIS_SLOTS - 1);
}

/* ---- connections ----------------------------------------------------- */

static fa_redis_link_t *connect_to(const redis_t *rs, const char *host,
                                   int port, fa_err_t *err)
{
    fa_redis_link_t *c;

    if (fa_redis_link_open(host, port, rs->tls, rs->conf.server_name,
                           rs->conf.timeout_ms, &c, err) != APR_SUCCESS) {
        return NULL;
    }
    return c;
}

/* Runs one command on c; the reply, or NULL with err set. *timed_out
 * says whether the server did not answer in time (a hung server, where a
 * retry would only wait as long again), as opposed to a broken
 * connection. max bounds the reply's size. */
static redisReply *run_timed(fa_redis_link_t *c, int argc, const char **argv,
                             const size_t *lens, apr_size_t max,
                             int *timed_out, fa_err_t *err)
{
    redisReply *reply;

    if (fa_redis_link_command(c, argc, argv, lens, max, &reply, timed_out,
                              err) != APR_SUCCESS) {
        return NULL;
    }
    return reply;
}

static redisReply *run(fa_redis_link_t *c, int argc, const char **argv,
                       const size_t *lens, fa_err_t *err)
{
    return run_timed(c, argc, argv, lens, REPLY_MAX_SMALL, NULL, err);
}

static int reply_ok(redisReply *reply, fa_err_t *err, const char *what)
{
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        fa_err_set(err, "store_unavailable", "redis %s: %.200s", what,
                   reply->str);
        return 0;
    }
    return reply != NULL;
}

/* Asks the sentinels, in order, where the master is. */
static int sentinel_lookup(redis_t *rs, char *host, apr_size_t host_len,
                           int *port, fa_err_t *err)
{
    const char *argv[3] = { "SENTINEL", "get-master-addr-by-name",
                            rs->conf.master_name };
    fa_redis_host_t *s;
    fa_redis_link_t *c;
    redisReply *reply;
    int i, found = 0;

    for (i = 0; i < rs->conf.hosts->nelts && !found; i++) {
        s = &APR_ARRAY_IDX(rs->conf.hosts, i, fa_redis_host_t);
        if (!(c = connect_to(rs, s->host, s->port, err))) {
            continue;
        }
        reply = run(c, 3, argv, NULL, err);
        if (reply && reply->type == REDIS_REPLY_ARRAY
            && reply->elements == 2
            && reply->element[0]->type == REDIS_REPLY_STRING
            && reply->element[1]->type == REDIS_REPLY_STRING
            && reply->element[0]->len < host_len) {
            apr_cpystrn(host, reply->element[0]->str, host_len);
            *port = atoi(reply->element[1]->str);
            found = *port > 0;
        }
        else if (reply) {
            fa_err_set(err, "store_unavailable", "sentinel %s:%d does not "
                       "know master %s", s->host, s->port,
                       rs->conf.master_name);
        }
        if (reply) {
            freeReplyObject(reply);
        }
        fa_redis_link_close(c);
    }
    return found;
}

/* AUTH and SELECT on a new connection. */
static int prepare(redis_t *rs, fa_redis_link_t *c, fa_err_t *err)
{
    const char *argv[3];
    char db[16];
    redisReply *reply;
    int argc = 0, ok;

    if (rs->conf.password) {
        argv[argc++] = "AUTH";
        if (rs->conf.user) {
            argv[argc++] = rs->conf.user;
        }
        argv[argc++] = rs->conf.password;
        reply = run(c, argc, argv, NULL, err);
        ok = reply_ok(reply, err, "AUTH");
        if (reply) {
            freeReplyObject(reply);
        }
        if (!ok) {
            return 0;
        }
    }
    if (rs->conf.db) {
        apr_snprintf(db, sizeof(db), "%d", rs->conf.db);
        argv[0] = "SELECT";
        argv[1] = db;
        reply = run(c, 2, argv, NULL, err);
        ok = reply_ok(reply, err, "SELECT");
        if (reply) {
            freeReplyObject(reply);
        }
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

static conn_t *conn_open(redis_t *rs, fa_err_t *err)
{
    char host[256];
    int port;
    fa_redis_link_t *c = NULL;
    conn_t *conn;

    if (rs->conf.master_name) {
        apr_thread_mutex_lock(rs->lock);
        apr_cpystrn(host, rs->master_host, sizeof(host));
        port = rs->master_port;
        apr_thread_mutex_unlock(rs->lock);
        if (!port) {
            if (!sentinel_lookup(rs, host, sizeof(host), &port, err)) {
                return NULL;
            }
            apr_thread_mutex_lock(rs->lock);
            apr_cpystrn(rs->master_host, host, sizeof(rs->master_host));
            rs->master_port = port;
            rs->checked_ms = now_ms();
            apr_thread_mutex_unlock(rs->lock);
            fa_log(FA_LOG_INFO, "redis master %s is at %s:%d",
                   rs->conf.master_name, host, port);
        }
    }
    else {
        const fa_redis_host_t *h = &APR_ARRAY_IDX(rs->conf.hosts, 0,
                                                  fa_redis_host_t);
        apr_cpystrn(host, h->host, sizeof(host));
        port = h->port;
    }
    if (!(c = connect_to(rs, host, port, err)) || !prepare(rs, c, err)) {
        if (c) {
            fa_redis_link_close(c);
        }
        return NULL;
    }
    conn = malloc(sizeof(*conn));
    if (!conn) {
        fa_redis_link_close(c);
        fa_err_set(err, "store_unavailable", "out of memory");
        return NULL;
    }
    conn->c = c;
    conn->node = -1;
    conn->next = NULL;
    conn->track_epoch = 0;
    apr_thread_mutex_lock(rs->lock);
    conn->generation = rs->generation;
    rs->connected_ms = now_ms();
    apr_thread_mutex_unlock(rs->lock);
    return conn;
}

/* Forgets the master (Sentinel) and delays new connects for a moment. */
static void mark_down(redis_t *rs, int forget_master)
{
    apr_thread_mutex_lock(rs->lock);
    if (forget_master && rs->conf.master_name) {
        rs->master_port = 0;
        rs->generation++;
    }
    rs->down_until_ms = now_ms() + BACKOFF_MS;
    apr_thread_mutex_unlock(rs->lock);
}

static void free_list(conn_t *conn)
{
    conn_t *next;

    for (; conn; conn = next) {
        next = conn->next;
        fa_redis_link_close(conn->c);
        free(conn);
    }
}

/* Sentinel: asks again where the master is, at most once a second and by
 * one thread at a time; when it moved, connections to the old one are
 * dropped (idle ones now, busy ones when they come back). */
static void sentinel_recheck(redis_t *rs)
{
    char host[256];
    int port = 0, go;
    conn_t *stale = NULL;
    fa_err_t err;
    apr_int64_t now = now_ms();

    apr_thread_mutex_lock(rs->lock);
    go = !rs->checking && rs->master_port
         && now - rs->checked_ms >= SENTINEL_CHECK_MS;
    if (go) {
        rs->checking = 1;
    }
    apr_thread_mutex_unlock(rs->lock);
    if (!go) {
        return;
    }
    memset(&err, 0, sizeof(err));
    go = sentinel_lookup(rs, host, sizeof(host), &port, &err);
    apr_thread_mutex_lock(rs->lock);
    rs->checking = 0;
    rs->checked_ms = now;
    if (go && (port != rs->master_port || strcmp(host, rs->master_host))) {
        apr_cpystrn(rs->master_host, host, sizeof(rs->master_host));
        rs->master_port = port;
        rs->generation++;
        stale = rs->idle;
        rs->idle = NULL;
        rs->idle_count = 0;
    }
    apr_thread_mutex_unlock(rs->lock);
    if (stale) {
        fa_log(FA_LOG_WARN, "redis master %s moved to %s:%d",
               rs->conf.master_name, host, port);
        free_list(stale);
    }
}

static void track_register(redis_t *rs, conn_t *conn);

/* An idle connection, or a new one; *reused says which. */
static conn_t *acquire(redis_t *rs, int *reused, fa_err_t *err)
{
    conn_t *conn;
    apr_int64_t down_until;

    if (rs->conf.master_name) {
        sentinel_recheck(rs);
    }
    apr_thread_mutex_lock(rs->lock);
    conn = rs->idle;
    if (conn) {
        rs->idle = conn->next;
        rs->idle_count--;
    }
    down_until = rs->down_until_ms;
    apr_thread_mutex_unlock(rs->lock);
    *reused = conn != NULL;
    if (!conn) {
        if (now_ms() < down_until) {
            apr_thread_mutex_lock(rs->lock);
            fa_err_set(err, "store_unavailable", "redis was unreachable a "
                       "moment ago (%s); not trying again yet",
                       rs->down_why);
            apr_thread_mutex_unlock(rs->lock);
            return NULL;
        }
        if (!(conn = conn_open(rs, err))) {
            mark_down(rs, 1);
            apr_thread_mutex_lock(rs->lock);
            apr_cpystrn(rs->down_why, err->desc, sizeof(rs->down_why));
            rs->failed_ms = now_ms();
            apr_thread_mutex_unlock(rs->lock);
            return NULL;
        }
    }
    track_register(rs, conn);
    return conn;
}

static void release(redis_t *rs, conn_t *conn, int broken)
{
    if (!broken && conn->node >= 0) {
        cnode_t *n = &rs->nodes[conn->node];
        apr_thread_mutex_lock(rs->lock);
        if (n->idle_count < MAX_IDLE) {
            conn->next = n->idle;
            n->idle = conn;
            n->idle_count++;
            conn = NULL;
        }
        apr_thread_mutex_unlock(rs->lock);
    }
    else if (!broken) {
        apr_thread_mutex_lock(rs->lock);
        if (rs->idle_count < MAX_IDLE
            && conn->generation == rs->generation) {
            conn->next = rs->idle;
            rs->idle = conn;
            rs->idle_count++;
            conn = NULL;
        }
        apr_thread_mutex_unlock(rs->lock);
    }
    if (conn) {
        fa_redis_link_close(conn->c);
        free(conn);
    }
}

/* A reply that means this server cannot serve us now (a replica after a
 * fail-over, a loading or a master-less server). */
static int moved_on(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR
           && (!strncmp(reply->str, "READONLY", 8)
               || !strncmp(reply->str, "LOADING", 7)
               || !strncmp(reply->str, "MASTERDOWN", 10));
}

/* ---- Redis Cluster ---------------------------------------------------- */

/* The node at host:port, added when new; -1 when the table is full.
 * Called with the lock held. */
static int node_find_add(redis_t *rs, const char *host, int port)
{
    int i;

    for (i = 0; i < rs->n_nodes; i++) {
        if (rs->nodes[i].port == port && !strcmp(rs->nodes[i].host, host)) {
            return i;
        }
    }
    if (rs->n_nodes >= CLUSTER_MAX_NODES || strlen(host) >= 256) {
        return -1;
    }
    apr_cpystrn(rs->nodes[i].host, host, sizeof(rs->nodes[i].host));
    rs->nodes[i].port = port;
    return rs->n_nodes++;
}

static int slot_owner(redis_t *rs, unsigned int slot)
{
    int node;

    apr_thread_mutex_lock(rs->lock);
    node = rs->slot_node[slot];
    apr_thread_mutex_unlock(rs->lock);
    return node == NO_NODE ? -1 : node;
}

typedef struct map_node_t {
    char host[256];
    int port;
} map_node_t;

/* One endpoint of a CLUSTER SLOTS entry: [host, port, id, ...]. An empty
 * host means the node asked; "?" an unknown endpoint (skipped). */
static int map_endpoint(const redisReply *e, const char *asked,
                        map_node_t *out)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2
        || e->element[0]->type != REDIS_REPLY_STRING
        || e->element[1]->type != REDIS_REPLY_INTEGER
        || e->element[0]->len >= sizeof(out->host)
        || e->element[1]->integer < 1 || e->element[1]->integer > 65535
        || !strcmp(e->element[0]->str, "?")) {
        return 0;
    }
    apr_cpystrn(out->host, e->element[0]->len ? e->element[0]->str : asked,
                sizeof(out->host));
    out->port = (int)e->element[1]->integer;
    return 1;
}

/* Reads a CLUSTER SLOTS reply into owner (FA_REDIS_SLOTS indexes into
 * found, or NO_NODE) and found (masters first as they come, then
 * replicas); *n_found at most CLUSTER_MAX_NODES. 0 when it is not a map
 * at all. */
static int map_parse(const redisReply *reply, const char *asked,
                     unsigned char *owner, map_node_t *found, int *n_found)
{
    map_node_t ep;
    size_t i, j;
    int k, covered = 0;
    long long lo, hi, s;

    memset(owner, NO_NODE, FA_REDIS_SLOTS);
    *n_found = 0;
    if (reply->type != REDIS_REPLY_ARRAY) {
        return 0;
    }
    for (i = 0; i < reply->elements && i < FA_REDIS_SLOTS; i++) {
        const redisReply *r = reply->element[i];
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 3
            || r->element[0]->type != REDIS_REPLY_INTEGER
            || r->element[1]->type != REDIS_REPLY_INTEGER) {
            return 0;
        }
        lo = r->element[0]->integer;
        hi = r->element[1]->integer;
        if (lo < 0 || hi < lo || hi >= FA_REDIS_SLOTS) {
            return 0;
        }
        for (j = 2; j < r->elements; j++) {
            if (!map_endpoint(r->element[j], asked, &ep)) {
                continue;
            }
            for (k = 0; k < *n_found; k++) {
                if (found[k].port == ep.port
                    && !strcmp(found[k].host, ep.host)) {
                    break;
                }
            }
            if (k == *n_found && *n_found < CLUSTER_MAX_NODES) {
                found[(*n_found)++] = ep;
            }
            if (j == 2 && k < *n_found) {
                for (s = lo; s <= hi; s++) {
                    owner[s] = (unsigned char)k;
                }
                covered = 1;
            }
        }
    }
    return covered;
}

/* Fetches the slot map (CLUSTER SLOTS) from the first node that answers:
 * the known nodes that were not down lately first, then the configured
 * seeds; at most CLUSTER_MAP_TRIES nodes, and none after the store's
 * timeout has passed. force: now, even when another thread is at it (no
 * map yet); else at most every CLUSTER_MAP_MIN_MS and by one thread. 1
 * when a map was loaded. */
static int cluster_refresh(redis_t *rs, int force)
{
    const char *argv[2] = { "CLUSTER", "SLOTS" };
    map_node_t *cand, *found;
    unsigned char *owner;
    int n_cand = 0, n_found = 0, i, k, idx, loaded = 0, pass, tries = 0;
    apr_int64_t now = now_ms();
    fa_redis_link_t *c;
    redisReply *reply;
    fa_err_t err;

    apr_thread_mutex_lock(rs->lock);
    if (!force && (rs->mapping || now - rs->mapped_ms < CLUSTER_MAP_MIN_MS)) {
        apr_thread_mutex_unlock(rs->lock);
        return 0;
    }
    rs->mapping++;
    rs->mapped_ms = now;
    cand = malloc(sizeof(*cand) * (CLUSTER_MAX_NODES + FA_REDIS_MAX_HOSTS
                                   + 1)
                  + sizeof(*found) * CLUSTER_MAX_NODES + FA_REDIS_SLOTS);
    if (cand) {
        for (pass = 0; pass < 2; pass++) {
            for (i = 0; i < rs->n_nodes; i++) {
                if ((rs->nodes[i].down_until_ms > now) == pass) {
                    apr_cpystrn(cand[n_cand].host, rs->nodes[i].host,
                                sizeof(cand[0].host));
                    cand[n_cand++].port = rs->nodes[i].port;
                }
            }
        }
    }
    apr_thread_mutex_unlock(rs->lock);
    if (!cand) {
        apr_thread_mutex_lock(rs->lock);
        rs->mapping--;
        apr_thread_mutex_unlock(rs->lock);
        return 0;
    }
    for (i = 0; i < rs->conf.hosts->nelts; i++) {
        const fa_redis_host_t *h = &APR_ARRAY_IDX(rs->conf.hosts, i,
                                                  fa_redis_host_t);
        apr_cpystrn(cand[n_cand].host, h->host, sizeof(cand[0].host));
        cand[n_cand++].port = h->port;
    }
    found = cand + CLUSTER_MAX_NODES + FA_REDIS_MAX_HOSTS + 1;
    owner = (unsigned char *)(found + CLUSTER_MAX_NODES);
    /* bounded: a few nodes, and no new one after the store's timeout
     * (hung nodes each cost that much) */
    for (i = 0; i < n_cand && !loaded && tries < CLUSTER_MAP_TRIES
                && (tries == 0 || now_ms() - now < rs->conf.timeout_ms);
         i++) {
        for (k = 0; k < i; k++) {
            if (cand[k].port == cand[i].port
                && !strcmp(cand[k].host, cand[i].host)) {
                break;
            }
        }
        if (k < i) {
            continue;
        }
        tries++;
        memset(&err, 0, sizeof(err));
        if (!(c = connect_to(rs, cand[i].host, cand[i].port, &err))) {
            continue;
        }
        if (prepare(rs, c, &err)
            && (reply = run_timed(c, 2, argv, NULL, REPLY_MAX_MAP, NULL,
                                  &err)) != NULL) {
            loaded = map_parse(reply, cand[i].host, owner, found, &n_found);
            freeReplyObject(reply);
        }
        fa_redis_link_close(c);
    }
    apr_thread_mutex_lock(rs->lock);
    if (loaded) {
        unsigned char map[CLUSTER_MAX_NODES];
        for (k = 0; k < n_found; k++) {
            idx = node_find_add(rs, found[k].host, found[k].port);
            map[k] = idx < 0 ? NO_NODE : (unsigned char)idx;
        }
        for (i = 0; i < FA_REDIS_SLOTS; i++) {
            rs->slot_node[i] = owner[i] == NO_NODE ? NO_NODE
                                                   : map[owner[i]];
        }
    }
    rs->mapping--;
    apr_thread_mutex_unlock(rs->lock);
    free(cand);
    if (!loaded) {
        fa_log(FA_LOG_DEBUG, "redis cluster: no node told the slot map");
    }
    return loaded;
}

/* An idle connection to node, or a new one; *reused says which. */
static conn_t *node_acquire(redis_t *rs, int node, int *reused,
                            fa_err_t *err)
{
    cnode_t *n = &rs->nodes[node];
    char host[256];
    int port;
    apr_int64_t down_until;
    fa_redis_link_t *c;
    conn_t *conn;

    apr_thread_mutex_lock(rs->lock);
    conn = n->idle;
    if (conn) {
        n->idle = conn->next;
        n->idle_count--;
    }
    down_until = n->down_until_ms;
    apr_cpystrn(host, n->host, sizeof(host));
    port = n->port;
    if (!conn && now_ms() < down_until) {
        fa_err_set(err, "store_unavailable", "redis cluster node %s:%d was "
                   "unreachable a moment ago (%s); not trying again yet",
                   host, port, n->down_why);
    }
    apr_thread_mutex_unlock(rs->lock);
    *reused = conn != NULL;
    if (conn) {
        return conn;
    }
    if (now_ms() < down_until) {
        return NULL;
    }
    c = connect_to(rs, host, port, err);
    if (!c || !prepare(rs, c, err)
        || !(conn = malloc(sizeof(*conn)))) {
        if (c) {
            fa_redis_link_close(c);
        }
        apr_thread_mutex_lock(rs->lock);
        n->down_until_ms = now_ms() + BACKOFF_MS;
        apr_cpystrn(n->down_why, err->desc, sizeof(n->down_why));
        apr_thread_mutex_unlock(rs->lock);
        return NULL;
    }
    memset(conn, 0, sizeof(*conn));
    conn->c = c;
    conn->node = node;
    return conn;
}

/* The key a command is routed by: EVAL's first key; SCAN's MATCH
 * pattern (the registry's: its hash tag names the one slot that holds
 * what it looks for); else the first argument (every other command of
 * this store names one key). */
static void route_key(int argc, const char **argv, const size_t *lens,
                      const char **key, apr_size_t *klen)
{
    int i = (!strcasecmp(argv[0], "EVAL") || !strcasecmp(argv[0], "EVALSHA"))
            ? 3 : !strcasecmp(argv[0], "SCAN") ? 3 : 1;

    if (i >= argc) {
        *key = "";
        *klen = 0;
        return;
    }
    *key = argv[i];
    *klen = lens ? lens[i] : strlen(argv[i]);
}

/* "MOVED 3999 127.0.0.1:6381" or "ASK ...": the node named (added to the
 * table), or -1. An empty host means the host of the node that said
 * it. */
static int redirect_target(redis_t *rs, const char *msg, int from)
{
    const char *sp = strchr(msg, ' '), *addr, *colon;
    char host[256];
    long port;
    int node;

    if (!sp || !(addr = strchr(sp + 1, ' '))) {
        return -1;
    }
    addr++;
    colon = strrchr(addr, ':');
    if (!colon || (apr_size_t)(colon - addr) >= sizeof(host)) {
        return -1;
    }
    port = strtol(colon + 1, NULL, 10);
    if (port < 1 || port > 65535) {
        return -1;
    }
    apr_thread_mutex_lock(rs->lock);
    if (colon == addr) {
        apr_cpystrn(host, rs->nodes[from].host, sizeof(host));
    }
    else {
        apr_cpystrn(host, addr, (apr_size_t)(colon - addr) + 1);
    }
    node = node_find_add(rs, host, (int)port);
    apr_thread_mutex_unlock(rs->lock);
    return node;
}

/* The owner of slot after a failure at node: a fresh map's, when it
 * names another node; else -1. */
static int owner_after_failure(redis_t *rs, unsigned int slot, int node)
{
    int now_owner;

    cluster_refresh(rs, 0);
    now_owner = slot_owner(rs, slot);
    return now_owner != node ? now_owner : -1;
}

/* Runs a command on the master that serves its key's slot, following
 * MOVED (the map is corrected) and ASK (ASKING first, the map is not),
 * at most CLUSTER_MAX_REDIRECTS times. A broken pooled connection is
 * replaced once; when a node cannot be reached, the map is fetched again
 * (a fail-over may have moved its slots) and the command goes to the new
 * owner. */
static apr_status_t cluster_command(redis_t *rs, int argc, const char **argv,
                                    const size_t *lens, apr_size_t max,
                                    redisReply **preply, fa_err_t *err)
{
    const char *key, *asking[1] = { "ASKING" };
    apr_size_t klen;
    unsigned int slot;
    int node = -1, ask = 0, hop, reused, timed_out, retried = 0, ok;
    conn_t *conn;
    redisReply *reply;

    *preply = NULL;
    route_key(argc, argv, lens, &key, &klen);
    slot = fa_redis_keyslot(key, klen);
    for (hop = 0; hop <= CLUSTER_MAX_REDIRECTS + 1; hop++) {
        if (node < 0 && (node = slot_owner(rs, slot)) < 0) {
            cluster_refresh(rs, 1);
            if ((node = slot_owner(rs, slot)) < 0) {
                fa_err_set(err, "store_unavailable", "redis cluster: no "
                           "node is known to serve slot %u", slot);
                return APR_EGENERAL;
            }
        }
        if (!(conn = node_acquire(rs, node, &reused, err))) {
            if ((node = owner_after_failure(rs, slot, node)) >= 0) {
                ask = 0;
                continue;
            }
            return APR_EGENERAL;
        }
        timed_out = 0;
        reply = NULL;
        ok = 1;
        if (ask) {
            /* ASKING holds for the next command on this connection */
            reply = run_timed(conn->c, 1, asking, NULL, REPLY_MAX_SMALL,
                              &timed_out, err);
            ok = reply != NULL;
            if (reply) {
                freeReplyObject(reply);
                reply = NULL;
            }
            ask = 0;
        }
        if (ok) {
            reply = run_timed(conn->c, argc, argv, lens, max, &timed_out,
                              err);
        }
        if (!reply) {
            release(rs, conn, 1);
            if (timed_out) {
                apr_thread_mutex_lock(rs->lock);
                rs->nodes[node].down_until_ms = now_ms() + BACKOFF_MS;
                apr_cpystrn(rs->nodes[node].down_why, err->desc,
                            sizeof(rs->nodes[node].down_why));
                apr_thread_mutex_unlock(rs->lock);
                return APR_EGENERAL;
            }
            if (reused && !retried) {
                retried = 1;
                continue;
            }
            if ((node = owner_after_failure(rs, slot, node)) >= 0) {
                continue;
            }
            return APR_EGENERAL;
        }
        if (reply->type == REDIS_REPLY_ERROR
            && (!strncmp(reply->str, "MOVED ", 6)
                || !strncmp(reply->str, "ASK ", 4))) {
            int moved = reply->str[0] == 'M', to;
            to = redirect_target(rs, reply->str, node);
            release(rs, conn, 0);
            if (to < 0) {
                fa_err_set(err, "store_unavailable", "redis %s: %.200s "
                           "(cannot follow)", argv[0], reply->str);
                freeReplyObject(reply);
                return APR_EGENERAL;
            }
            freeReplyObject(reply);
            if (moved) {
                apr_thread_mutex_lock(rs->lock);
                rs->slot_node[slot] = (unsigned char)to;
                apr_thread_mutex_unlock(rs->lock);
                /* other slots may have moved too */
                cluster_refresh(rs, 0);
            }
            node = to;
            ask = !moved;
            continue;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            fa_err_set(err, "store_unavailable", "redis %s: %.200s",
                       argv[0], reply->str);
            if (moved_on(reply)) {
                /* a node that no longer serves us (a former master that
                 * came back as a replica, one still loading) */
                freeReplyObject(reply);
                release(rs, conn, 1);
                if ((node = owner_after_failure(rs, slot, node)) >= 0) {
                    continue;
                }
                return APR_EGENERAL;
            }
            if (!strncmp(reply->str, "CLUSTERDOWN", 11)
                || !strncmp(reply->str, "TRYAGAIN", 8)) {
                cluster_refresh(rs, 0);
            }
            freeReplyObject(reply);
            release(rs, conn, 0);
            return APR_EGENERAL;
        }
        release(rs, conn, 0);
        *preply = reply;
        return APR_SUCCESS;
    }
    fa_err_set(err, "store_unavailable", "redis cluster: more than %d "
               "redirects for slot %u", CLUSTER_MAX_REDIRECTS, slot);
    return APR_EGENERAL;
}

/* Runs a command with one retry on a fresh connection; its reply may take
 * at most max bytes. The reply is released by the caller with
 * freeReplyObject. */
static apr_status_t command(redis_t *rs, int argc, const char **argv,
                            const size_t *lens, apr_size_t max,
                            redisReply **preply, fa_err_t *err)
{
    conn_t *conn;
    redisReply *reply;
    int attempt, reused, timed_out;

    *preply = NULL;
    if (rs->conf.cluster) {
        return cluster_command(rs, argc, argv, lens, max, preply, err);
    }
    for (attempt = 0; attempt < 2; attempt++) {
        if (!(conn = acquire(rs, &reused, err))) {
            return APR_EGENERAL;
        }
        reply = run_timed(conn->c, argc, argv, lens, max, &timed_out, err);
        if (reply && !moved_on(reply)) {
            release(rs, conn, 0);
            if (reply->type == REDIS_REPLY_ERROR) {
                fa_err_set(err, "store_unavailable", "redis %s: %.200s",
                           argv[0], reply->str);
                freeReplyObject(reply);
                return APR_EGENERAL;
            }
            *preply = reply;
            return APR_SUCCESS;
        }
        if (reply) {
            fa_err_set(err, "store_unavailable", "redis %s: %.200s",
                       argv[0], reply->str);
            freeReplyObject(reply);
        }
        release(rs, conn, 1);
        if (rs->conf.master_name) {
            mark_down(rs, 1);
            apr_thread_mutex_lock(rs->lock);
            rs->down_until_ms = 0;   /* look the master up right away */
            apr_thread_mutex_unlock(rs->lock);
        }
        if (timed_out) {
            /* A hung server: no second wait, and no new connects for a
             * moment. */
            mark_down(rs, 0);
            break;
        }
        if (!reused && !rs->conf.master_name) {
            break;
        }
    }
    return APR_EGENERAL;
}

/* ---- client-side caching ---------------------------------------------- */

static apr_uint32_t track_slot(const char *key, apr_size_t len)
{
    apr_uint32_t h = 2166136261u;    /* FNV-1a */
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    }
    return h & (TRACK_SLOTS - 1);
}

/* Copies vouched for so far are not any more (the listener went down or
 * came up: messages may have been lost in between). */
static void track_set(redis_t *rs, int state)
{
    __atomic_add_fetch(&rs->track_epoch, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&rs->track_state, state, __ATOMIC_RELEASE);
}

/* Has Redis send the invalidations of what conn reads to the listener,
 * once per listener connection. A refusal (Redis before 6, an ACL
 * without CLIENT) turns client-side caching off for good. */
static void track_register(redis_t *rs, conn_t *conn)
{
    const char *argv[5] = { "CLIENT", "TRACKING", "on", "REDIRECT", NULL };
    unsigned int epoch;
    char id[32];
    redisReply *reply;
    fa_err_t err;

    if (__atomic_load_n(&rs->track_state, __ATOMIC_ACQUIRE) != TRACK_UP) {
        return;
    }
    epoch = __atomic_load_n(&rs->track_epoch, __ATOMIC_ACQUIRE);
    if (conn->track_epoch == epoch) {
        return;
    }
    apr_thread_mutex_lock(rs->lock);
    apr_snprintf(id, sizeof(id), "%" APR_INT64_T_FMT, rs->track_id);
    apr_thread_mutex_unlock(rs->lock);
    argv[4] = id;
    reply = run(conn->c, 5, argv, NULL, &err);
    if (reply && reply->type != REDIS_REPLY_ERROR) {
        conn->track_epoch = epoch;
    }
    else if (reply && strstr(reply->str, "does not exist")) {
        /* The listener's connection is gone: nothing is vouched for until
         * it is back. */
        conn->track_epoch = 0;
        track_set(rs, TRACK_DOWN);
    }
    else if (reply) {
        fa_log(FA_LOG_WARN, "redis refuses CLIENT TRACKING (%.200s): each "
               "process keeps a copy of a session for at most a second "
               "(FedAuthSessionLocalCache)", reply->str);
        track_set(rs, TRACK_REFUSED);
    }
    if (reply) {
        freeReplyObject(reply);
    }
}

static apr_uint32_t r_version(fa_store_t *st, const char *key)
{
    redis_t *rs = st->baton;
    apr_uint32_t epoch, v;

    if (__atomic_load_n(&rs->track_state, __ATOMIC_ACQUIRE) != TRACK_UP) {
        return 0;
    }
    epoch = __atomic_load_n(&rs->track_epoch, __ATOMIC_ACQUIRE);
    v = __atomic_load_n(&rs->track_gen[track_slot(key, strlen(key))],
                        __ATOMIC_ACQUIRE) + epoch * 0x9e3779b1u;
    return v ? v : 1;
}

/* One message from the invalidation channel: the keys that changed (ours
 * have our prefix), or none for a flush of everything. */
static void invalidate(redis_t *rs, const redisReply *msg)
{
    apr_size_t plen = strlen(rs->conf.prefix), i;
    const redisReply *keys;

    if (msg->type != REDIS_REPLY_ARRAY || msg->elements != 3
        || msg->element[0]->type != REDIS_REPLY_STRING
        || strcmp(msg->element[0]->str, "message")) {
        return;               /* the subscription's own answer */
    }
    keys = msg->element[2];
    if (keys->type != REDIS_REPLY_ARRAY) {
        track_set(rs, TRACK_UP);     /* FLUSHDB / FLUSHALL: forget all */
        return;
    }
    for (i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type == REDIS_REPLY_STRING && k->len >= plen
            && !memcmp(k->str, rs->conf.prefix, plen)) {
            __atomic_add_fetch(&rs->track_gen[track_slot(k->str + plen,
                                                         k->len - plen)],
                               1, __ATOMIC_ACQ_REL);
        }
    }
}

/* Opens the listener's connection: CLIENT ID, then SUBSCRIBE. */
static conn_t *listener_open(redis_t *rs, apr_int64_t *id, fa_err_t *err)
{
    const char *cid[2] = { "CLIENT", "ID" };
    const char *sub[2] = { "SUBSCRIBE", INVALIDATE_CHANNEL };
    redisReply *reply;
    conn_t *conn = conn_open(rs, err);

    if (!conn) {
        return NULL;
    }
    reply = run(conn->c, 2, cid, NULL, err);
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        fa_log(FA_LOG_WARN, "redis refuses CLIENT ID (%.200s): each process "
               "keeps a copy of a session for at most a second "
               "(FedAuthSessionLocalCache)", reply->str);
        track_set(rs, TRACK_REFUSED);
    }
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        if (reply) {
            fa_err_set(err, "store_unavailable", "redis CLIENT ID: %.200s",
                       reply->type == REDIS_REPLY_ERROR ? reply->str
                                                         : "not a number");
            freeReplyObject(reply);
        }
        release(rs, conn, 1);
        return NULL;
    }
    *id = (apr_int64_t)reply->integer;
    freeReplyObject(reply);
    reply = run(conn->c, 2, sub, NULL, err);
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply) {
            freeReplyObject(reply);
        }
        release(rs, conn, 1);
        return NULL;
    }
    freeReplyObject(reply);
    return conn;
}

static int stopping(redis_t *rs)
{
    return __atomic_load_n(&rs->stopping, __ATOMIC_ACQUIRE);
}

/* Reads invalidation messages until the connection breaks or falls
 * silent, the store is being closed, or (Sentinel) the master moved. */
static void listen_on(redis_t *rs, conn_t *conn)
{
    const char *ping[1] = { "PING" };
    apr_int64_t heard = now_ms(), pinged = heard, now;
    struct pollfd pfd;
    redisReply *reply;
    fa_err_t err;
    int n;

    pfd.fd = fa_redis_link_fd(conn->c);
    pfd.events = POLLIN;
    while (!stopping(rs)
           && __atomic_load_n(&rs->track_state, __ATOMIC_ACQUIRE)
              == TRACK_UP) {
        apr_thread_mutex_lock(rs->lock);
        n = conn->generation != rs->generation;
        apr_thread_mutex_unlock(rs->lock);
        now = now_ms();
        if (n || now - heard > LISTEN_SILENT_MS) {
            return;
        }
        if (now - pinged >= LISTEN_PING_MS) {
            /* In subscribed mode PING answers ["pong", ""]. */
            pinged = now;
            if (fa_redis_link_send(conn->c, 1, ping, NULL, &err)
                != APR_SUCCESS) {
                return;
            }
        }
        n = poll(&pfd, 1, LISTEN_POLL_MS);
        if (n < 0 && errno != EINTR) {
            return;
        }
        if (n <= 0) {
            continue;
        }
        /* everything that arrived, TLS's buffers included, so that the
         * next poll() tells the truth */
        if (fa_redis_link_read(conn->c, REPLY_MAX_LISTEN, &err)
            != APR_SUCCESS) {
            return;
        }
        heard = now_ms();
        for (;;) {
            if (fa_redis_link_reply(conn->c, &reply, &err) != APR_SUCCESS) {
                return;
            }
            if (!reply) {
                break;
            }
            invalidate(rs, reply);
            freeReplyObject(reply);
        }
    }
}

static void *APR_THREAD_FUNC listener_main(apr_thread_t *t, void *data)
{
    redis_t *rs = data;
    conn_t *conn;
    apr_int64_t id = 0;
    fa_err_t err;
    int i, said = 0;

    (void)t;
    while (!stopping(rs)
           && __atomic_load_n(&rs->track_state, __ATOMIC_ACQUIRE)
              != TRACK_REFUSED) {
        memset(&err, 0, sizeof(err));
        if ((conn = listener_open(rs, &id, &err)) != NULL) {
            apr_thread_mutex_lock(rs->lock);
            rs->track_id = id;
            apr_thread_mutex_unlock(rs->lock);
            track_set(rs, TRACK_UP);
            fa_log(FA_LOG_DEBUG, "redis invalidation listener up (client "
                   "%" APR_INT64_T_FMT ")", id);
            if (said) {
                fa_log(FA_LOG_INFO, "redis invalidation listener back");
                said = 0;
            }
            listen_on(rs, conn);
            if (__atomic_load_n(&rs->track_state, __ATOMIC_ACQUIRE)
                == TRACK_UP) {
                track_set(rs, TRACK_DOWN);
            }
            release(rs, conn, 1);
        }
        if (!said && !stopping(rs)
            && __atomic_load_n(&rs->track_state, __ATOMIC_ACQUIRE)
               != TRACK_REFUSED) {
            fa_log(FA_LOG_WARN, "redis invalidation listener down%s%s: "
                   "sessions are read from Redis each time until it is "
                   "back", err.desc[0] ? ": " : "", err.desc);
            said = 1;
        }
        /* a second before the next try, awake for the end */
        for (i = 0; i < 1000 / LISTEN_POLL_MS && !stopping(rs); i++) {
            apr_sleep(apr_time_from_msec(LISTEN_POLL_MS));
        }
    }
    return NULL;
}

static apr_status_t listener_stop(void *data)
{
    redis_t *rs = data;
    apr_status_t rv;

    __atomic_store_n(&rs->stopping, 1, __ATOMIC_RELEASE);
    if (rs->listener) {
        apr_thread_join(&rv, rs->listener);
        rs->listener = NULL;
    }
    __atomic_store_n(&rs->track_state, TRACK_OFF, __ATOMIC_RELEASE);
    return APR_SUCCESS;
}

static apr_status_t r_child_init(fa_store_t *st, apr_pool_t *p)
{
    redis_t *rs = st->baton;
    apr_status_t rv;

    if (!rs->conf.track || rs->listener) {
        return APR_SUCCESS;
    }
    rs->track_gen = apr_pcalloc(p, TRACK_SLOTS * sizeof(apr_uint32_t));
    __atomic_store_n(&rs->stopping, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&rs->track_state, TRACK_DOWN, __ATOMIC_RELEASE);
    rv = apr_thread_create(&rs->listener, NULL, listener_main, rs, p);
    if (rv != APR_SUCCESS) {
        rs->listener = NULL;
        __atomic_store_n(&rs->track_state, TRACK_OFF, __ATOMIC_RELEASE);
        return rv;
    }
    apr_pool_cleanup_register(p, rs, listener_stop, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* ---- the store -------------------------------------------------------- */

static const char *full_key(apr_pool_t *p, const redis_t *rs,
                            const char *key)
{
    return apr_pstrcat(p, rs->conf.prefix, key, NULL);
}

static apr_status_t log_failure(const fa_err_t *err)
{
    fa_log(FA_LOG_ERR, "%s", err->desc);
    return APR_EGENERAL;
}

static apr_status_t string_reply(apr_pool_t *p, redisReply *reply,
                                 char **val, apr_size_t *len)
{
    apr_status_t rv = APR_SUCCESS;

    if (reply->type == REDIS_REPLY_STRING) {
        *val = apr_pstrmemdup(p, reply->str, reply->len);
        *len = reply->len;
    }
    else {
        rv = APR_NOTFOUND;
    }
    freeReplyObject(reply);
    return rv;
}

static apr_status_t r_get(fa_store_t *st, const char *key, apr_pool_t *p,
                          char **val, apr_size_t *len)
{
    redis_t *rs = st->baton;
    const char *argv[2] = { "GET", full_key(p, rs, key) };
    redisReply *reply;
    fa_err_t err;

    if (command(rs, 2, argv, NULL, REPLY_MAX_VALUE, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    return string_reply(p, reply, val, len);
}

static apr_status_t r_take(fa_store_t *st, const char *key, apr_pool_t *p,
                           char **val, apr_size_t *len)
{
    redis_t *rs = st->baton;
    const char *argv[2] = { "GETDEL", full_key(p, rs, key) };
    redisReply *reply;
    fa_err_t err;

    if (command(rs, 2, argv, NULL, REPLY_MAX_VALUE, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    return string_reply(p, reply, val, len);
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
    redis_t *rs = st->baton;
    const char *argv[5] = { "SET", full_key(p, rs, key), val, "EX",
                            ttl_of(p, expires_at) };
    size_t lens[5];
    redisReply *reply;
    fa_err_t err;
    int i;

    for (i = 0; i < 5; i++) {
        lens[i] = i == 2 ? len : strlen(argv[i]);
    }
    if (command(rs, 5, argv, lens, REPLY_MAX_SMALL, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

/* SET NX: a nil answer means the key holds a value. */
static apr_status_t r_add(fa_store_t *st, const char *key, const char *val,
                          apr_size_t len, apr_int64_t expires_at,
                          apr_pool_t *p)
{
    redis_t *rs = st->baton;
    const char *argv[6] = { "SET", full_key(p, rs, key), val, "NX", "EX",
                            ttl_of(p, expires_at) };
    size_t lens[6];
    redisReply *reply;
    fa_err_t err;
    apr_status_t rv;
    int i;

    for (i = 0; i < 6; i++) {
        lens[i] = i == 2 ? len : strlen(argv[i]);
    }
    if (command(rs, 6, argv, lens, REPLY_MAX_SMALL, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    rv = reply->type == REDIS_REPLY_NIL ? APR_EEXIST : APR_SUCCESS;
    freeReplyObject(reply);
    return rv;
}

static apr_status_t r_del(fa_store_t *st, const char *key, apr_pool_t *p)
{
    redis_t *rs = st->baton;
    const char *argv[2] = { "DEL", full_key(p, rs, key) };
    redisReply *reply;
    fa_err_t err;

    if (command(rs, 2, argv, NULL, REPLY_MAX_SMALL, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
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
    redis_t *rs = st->baton;
    const char *argv[5] = { "EVAL", DEL_IF_LUA, "1", full_key(p, rs, key),
                            val };
    size_t lens[5];
    redisReply *reply;
    fa_err_t err;
    int i;

    for (i = 0; i < 5; i++) {
        lens[i] = i == 4 ? len : strlen(argv[i]);
    }
    if (command(rs, 5, argv, lens, REPLY_MAX_SMALL, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

/* An index is a sorted set of session keys (without the prefix), scored
 * by the time they were added. The script drops members whose key is gone,
 * then the oldest beyond max (deleting their keys), returns those, and
 * pushes the index's TTL out, never in. A plain set left by an older
 * version becomes a sorted set first. The members' keys are not declared
 * in KEYS: a Redis Cluster needs them in the index's slot (hash tags). */
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

/* The strings of an array reply, copied into p. */
static apr_array_header_t *reply_strings(apr_pool_t *p, redisReply *reply)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    size_t i;

    for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
         i++) {
        if (reply->element[i]->type == REDIS_REPLY_STRING) {
            APR_ARRAY_PUSH(out, const char *) =
                apr_pstrmemdup(p, reply->element[i]->str,
                               reply->element[i]->len);
        }
    }
    return out;
}

/* Redis Cluster: a script may only touch keys of one slot, and an index
 * and its sessions' keys are in different slots (see docs/operating.md), so
 * index_add runs in steps there: this script does the index's own part
 * (add, push the TTL out, list the members, oldest first); then each
 * member's key is asked for on its own node (EXISTS), the gone ones and
 * the oldest beyond max leave the index (ZREM) and the latter's keys are
 * deleted (DEL). Not atomic: two sign-ins of one user at the same moment
 * may each drop the same oldest session, or one more than needed. */
static const char INDEX_ADD_ONE_LUA[] =
    "local k = KEYS[1] "
    "redis.call('ZADD', k, ARGV[2], ARGV[1]) "
    "if redis.call('TTL', k) < tonumber(ARGV[3]) then "
    "  redis.call('EXPIRE', k, ARGV[3]) end "
    "return redis.call('ZRANGE', k, 0, -1)";

static apr_status_t cluster_index_add(redis_t *rs, const char *key,
                                      const char *member,
                                      apr_int64_t expires_at, int max,
                                      apr_pool_t *p,
                                      apr_array_header_t **dropped)
{
    const char *fkey = full_key(p, rs, key);
    const char *argv[7] = {
        "EVAL", INDEX_ADD_ONE_LUA, "1", fkey, member,
        apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_now()),
        ttl_of(p, expires_at)
    };
    const char *one[2], **zrem;
    apr_array_header_t *members, *live;
    redisReply *reply;
    fa_err_t err;
    int i, nrem = 0, over;

    if (command(rs, 7, argv, NULL, REPLY_MAX_INDEX, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    members = reply_strings(p, reply);
    freeReplyObject(reply);
    live = apr_array_make(p, members->nelts, sizeof(const char *));
    zrem = apr_palloc(p, sizeof(*zrem) * (size_t)(members->nelts + 2));
    zrem[0] = "ZREM";
    zrem[1] = fkey;
    for (i = 0; i < members->nelts; i++) {
        const char *v = APR_ARRAY_IDX(members, i, const char *);
        if (strcmp(v, member)) {
            one[0] = "EXISTS";
            one[1] = full_key(p, rs, v);
            if (command(rs, 2, one, NULL, REPLY_MAX_SMALL, &reply, &err)
                != APR_SUCCESS) {
                return log_failure(&err);
            }
            if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
                zrem[2 + nrem++] = v;
                freeReplyObject(reply);
                continue;
            }
            freeReplyObject(reply);
        }
        APR_ARRAY_PUSH(live, const char *) = v;
    }
    over = live->nelts - max;
    for (i = 0; i < over; i++) {
        const char *v = APR_ARRAY_IDX(live, i, const char *);
        one[0] = "DEL";
        one[1] = full_key(p, rs, v);
        if (command(rs, 2, one, NULL, REPLY_MAX_SMALL, &reply, &err)
            != APR_SUCCESS) {
            return log_failure(&err);
        }
        freeReplyObject(reply);
        zrem[2 + nrem++] = v;
        APR_ARRAY_PUSH(*dropped, const char *) = v;
    }
    if (nrem) {
        if (command(rs, 2 + nrem, zrem, NULL, REPLY_MAX_SMALL, &reply, &err)
            != APR_SUCCESS) {
            return log_failure(&err);
        }
        freeReplyObject(reply);
    }
    return APR_SUCCESS;
}

static apr_status_t r_index_add(fa_store_t *st, const char *key,
                                const char *member, apr_int64_t expires_at,
                                int max, apr_pool_t *p,
                                apr_array_header_t **dropped)
{
    redis_t *rs = st->baton;
    const char *argv[8] = {
        "EVAL", INDEX_ADD_LUA, "1", full_key(p, rs, key), member,
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
    if (command(rs, 9, args, NULL, REPLY_MAX_INDEX, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    *dropped = reply_strings(p, reply);
    freeReplyObject(reply);
    return APR_SUCCESS;
}

static apr_status_t r_index_take(fa_store_t *st, const char *key,
                                 apr_pool_t *p, apr_array_header_t **members)
{
    redis_t *rs = st->baton;
    const char *argv[4] = { "EVAL", INDEX_TAKE_LUA, "1",
                            full_key(p, rs, key) };
    redisReply *reply;
    fa_err_t err;

    *members = apr_array_make(p, 4, sizeof(const char *));
    if (command(rs, 4, argv, NULL, REPLY_MAX_INDEX, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    *members = reply_strings(p, reply);
    freeReplyObject(reply);
    return APR_SUCCESS;
}

static apr_status_t redis_cleanup(void *data)
{
    redis_t *rs = data;

    int i;

    free_list(rs->idle);
    rs->idle = NULL;
    rs->idle_count = 0;
    for (i = 0; i < rs->n_nodes; i++) {
        free_list(rs->nodes[i].idle);
        rs->nodes[i].idle = NULL;
        rs->nodes[i].idle_count = 0;
    }
    return APR_SUCCESS;
}

static fa_store_t *store_new(apr_pool_t *p, redis_t *rs)
{
    fa_store_t *st = apr_pcalloc(p, sizeof(*st));

    st->name = "redis";
    st->get = r_get;
    st->put = r_put;
    st->add = r_add;
    st->take = r_take;
    st->del = r_del;
    st->del_if = r_del_if;
    st->index_add = r_index_add;
    st->index_take = r_index_take;
    st->version = r_version;
    st->copy_ms = FA_REDIS_COPY_MS;
    st->child_init = r_child_init;
    st->baton = rs;
    return st;
}

apr_status_t fa_store_redis_create(apr_pool_t *p, const fa_redis_conf_t *conf,
                                   fa_store_t **pst)
{
    redis_t *rs = apr_pcalloc(p, sizeof(*rs));
    apr_status_t rv;

    *pst = NULL;
    rs->conf = *conf;
    if (conf->cluster) {
        /* The invalidation listener would need a connection to every
         * master, each data connection's tracking redirected to the one
         * of its node: not done. Copies then last at most a second, as
         * with a Redis that refuses tracking. */
        rs->conf.track = 0;
        rs->nodes = apr_pcalloc(p, sizeof(*rs->nodes) * CLUSTER_MAX_NODES);
        rs->slot_node = apr_palloc(p, FA_REDIS_SLOTS);
        memset(rs->slot_node, NO_NODE, FA_REDIS_SLOTS);
    }
    if (conf->tls) {
        fa_redis_tls_file_t which;
        fa_err_t err;
        if (fa_redis_tls_context(p, conf->ca_file, conf->cert_file,
                                 conf->key_file, &rs->tls, &which, &err)
            != APR_SUCCESS) {
            fa_log(FA_LOG_ERR, "redis TLS: %s", err.desc);
            return APR_EINVAL;
        }
    }
    if ((rv = apr_thread_mutex_create(&rs->lock, APR_THREAD_MUTEX_DEFAULT,
                                      p)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, rs, redis_cleanup, apr_pool_cleanup_null);
    *pst = store_new(p, rs);
    return APR_SUCCESS;
}

/* ---- what the status page shows ---------------------------------------- */

static fa_redis_node_state_t *state_node(apr_pool_t *p, fa_redis_state_t *out,
                                         const char *host, int port,
                                         const char *role)
{
    fa_redis_node_state_t *n = apr_array_push(out->nodes);

    memset(n, 0, sizeof(*n));
    n->host = apr_pstrdup(p, host);
    n->port = port;
    n->role = role;
    return n;
}

/* The Cluster nodes of this process's map, with their slots. Called with
 * the lock held. */
static void state_cluster(redis_t *rs, apr_pool_t *p, apr_int64_t now,
                          fa_redis_state_t *out)
{
    fa_redis_node_state_t *n;
    unsigned int slot;
    int i, *slots = apr_pcalloc(p, sizeof(int) * CLUSTER_MAX_NODES);

    for (slot = 0; rs->slot_node && slot < FA_REDIS_SLOTS; slot++) {
        if (rs->slot_node[slot] != NO_NODE) {
            slots[rs->slot_node[slot]]++;
        }
    }
    for (i = 0; i < rs->n_nodes; i++) {
        n = state_node(p, out, rs->nodes[i].host, rs->nodes[i].port, "node");
        n->slots = slots[i];
        n->down = now < rs->nodes[i].down_until_ms;
        n->why = rs->nodes[i].down_why[0]
                 ? apr_pstrdup(p, rs->nodes[i].down_why) : NULL;
    }
}

apr_status_t fa_store_redis_state(fa_store_t *st, apr_pool_t *p,
                                  fa_redis_state_t *out)
{
    static const char *const track[] = { "off", "down", "up", "refused" };
    redis_t *rs = st ? st->baton : NULL;
    fa_redis_node_state_t *n;
    const fa_redis_host_t *h;
    apr_int64_t now = now_ms();
    int i, down;

    memset(out, 0, sizeof(*out));
    if (!st || !st->name || strcmp(st->name, "redis") || !rs) {
        return APR_EINVAL;
    }
    out->kind = rs->conf.cluster ? "redis-cluster"
                : rs->conf.master_name ? "redis-sentinel" : "redis";
    out->tls = rs->conf.tls;
    out->master_name = rs->conf.master_name;
    out->db = rs->conf.db;
    out->tracking = track[__atomic_load_n(&rs->track_state,
                                          __ATOMIC_RELAXED) & 3];
    out->nodes = apr_array_make(p, 4, sizeof(fa_redis_node_state_t));
    apr_thread_mutex_lock(rs->lock);
    out->idle = rs->idle_count;
    down = rs->failed_ms > rs->connected_ms;
    for (i = 0; i < rs->conf.hosts->nelts; i++) {
        h = &APR_ARRAY_IDX(rs->conf.hosts, i, fa_redis_host_t);
        n = state_node(p, out, h->host, h->port, rs->conf.cluster ? "seed"
                       : rs->conf.master_name ? "sentinel" : "server");
        if (!rs->conf.cluster && !rs->conf.master_name) {
            n->down = down;
            n->why = rs->down_why[0] ? apr_pstrdup(p, rs->down_why) : NULL;
        }
    }
    if (rs->conf.master_name && rs->master_port) {
        n = state_node(p, out, rs->master_host, rs->master_port, "master");
        n->down = down;
        n->why = rs->down_why[0] ? apr_pstrdup(p, rs->down_why) : NULL;
    }
    else if (rs->conf.master_name && rs->down_why[0]) {
        out->master_name = apr_pstrcat(p, rs->conf.master_name,
                                       " (not found: ", rs->down_why, ")",
                                       NULL);
    }
    if (rs->conf.cluster) {
        state_cluster(rs, p, now, out);
    }
    apr_thread_mutex_unlock(rs->lock);
    return APR_SUCCESS;
}

/* ---- the account registry in Redis (fa_registry.h) -------------------- */

/* Registry keys live under <prefix>reg: with no expiry, over the store's
 * connections (pool, Sentinel, TLS). Self-contained: only command() and
 * full_key() of the store above are used. */

#define REG_SCAN_COUNT "500"
#define REG_SCAN_ROUNDS 100000

/* In a cluster the registry's keys share one slot, by the hash tag
 * {reg}: its list is one SCAN on the master of that slot. */
static const char *reg_key(apr_pool_t *p, const redis_t *rs, const char *key)
{
    return apr_pstrcat(p, rs->conf.prefix, rs->conf.cluster ? "{reg}:"
                       : "reg:", key, NULL);
}

static apr_status_t reg_simple(fa_registry_t *reg, int argc,
                               const char **argv, const size_t *lens,
                               apr_size_t max, redisReply **preply)
{
    fa_err_t err;

    if (command(reg->baton, argc, argv, lens, max, preply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    return APR_SUCCESS;
}

static apr_status_t reg_get(fa_registry_t *reg, const char *key,
                            apr_pool_t *p, char **val, apr_size_t *len)
{
    const char *argv[2] = { "GET", reg_key(p, reg->baton, key) };
    redisReply *reply;
    apr_status_t rv = reg_simple(reg, 2, argv, NULL, REPLY_MAX_VALUE, &reply);

    return rv != APR_SUCCESS ? rv : string_reply(p, reply, val, len);
}

static apr_status_t reg_set(fa_registry_t *reg, const char *key,
                            const char *val, apr_size_t len, int nx,
                            apr_pool_t *p)
{
    const char *argv[4] = { "SET", reg_key(p, reg->baton, key), val, "NX" };
    size_t lens[4] = { 3, strlen(argv[1]), len, 2 };
    redisReply *reply;
    apr_status_t rv;

    if ((rv = reg_simple(reg, nx ? 4 : 3, argv, lens, REPLY_MAX_SMALL,
                         &reply)) != APR_SUCCESS) {
        return rv;
    }
    rv = reply->type == REDIS_REPLY_NIL ? APR_EEXIST : APR_SUCCESS;
    freeReplyObject(reply);
    return rv;
}

/* SET only while the key holds ARGV[1]: one script, so atomic. */
static const char REG_REPLACE_LUA[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "  redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0";

static apr_status_t reg_replace(fa_registry_t *reg, const char *key,
                                const char *old, apr_size_t olen,
                                const char *val, apr_size_t len,
                                apr_pool_t *p)
{
    const char *argv[6] = { "EVAL", REG_REPLACE_LUA, "1",
                            reg_key(p, reg->baton, key), old, val };
    size_t lens[6] = { 4, sizeof(REG_REPLACE_LUA) - 1, 1, strlen(argv[3]),
                       olen, len };
    redisReply *reply;
    apr_status_t rv;

    if ((rv = reg_simple(reg, 6, argv, lens, REPLY_MAX_SMALL, &reply))
        != APR_SUCCESS) {
        return rv;
    }
    rv = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1
         ? APR_SUCCESS : APR_EEXIST;
    freeReplyObject(reply);
    return rv;
}

static apr_status_t reg_create(fa_registry_t *reg, const char *key,
                               const char *val, apr_size_t len,
                               apr_pool_t *p)
{
    return reg_set(reg, key, val, len, 1, p);
}

static apr_status_t reg_put(fa_registry_t *reg, const char *key,
                            const char *val, apr_size_t len, apr_pool_t *p)
{
    return reg_set(reg, key, val, len, 0, p);
}

static apr_status_t reg_del(fa_registry_t *reg, const char *key,
                            apr_pool_t *p)
{
    const char *argv[2] = { "DEL", reg_key(p, reg->baton, key) };
    redisReply *reply;
    apr_status_t rv = reg_simple(reg, 2, argv, NULL, REPLY_MAX_SMALL, &reply);

    if (rv == APR_SUCCESS) {
        freeReplyObject(reply);
    }
    return rv;
}

/* A glob pattern matching exactly the keys that start with s. */
static const char *glob_prefix(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 2 + 2), *o = out;

    for (; *s; s++) {
        if (strchr("*?[]\\", *s)) {
            *o++ = '\\';
        }
        *o++ = *s;
    }
    *o++ = '*';
    *o = '\0';
    return out;
}

static int reg_by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static apr_status_t reg_list(fa_registry_t *reg, const char *prefix,
                             apr_pool_t *p, apr_array_header_t **keys)
{
    redis_t *rs = reg->baton;
    const char *base = reg_key(p, rs, "");
    const char *argv[6] = { "SCAN", "0", "MATCH",
                            glob_prefix(p, reg_key(p, rs, prefix)), "COUNT",
                            REG_SCAN_COUNT };
    apr_size_t blen = strlen(base);
    redisReply *reply, *page;
    apr_status_t rv;
    size_t i;
    int rounds;

    *keys = apr_array_make(p, 16, sizeof(const char *));
    for (rounds = 0; rounds < REG_SCAN_ROUNDS; rounds++) {
        if ((rv = reg_simple(reg, 6, argv, NULL, REPLY_MAX_INDEX, &reply))
            != APR_SUCCESS) {
            return rv;
        }
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
            || reply->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(reply);
            return APR_EGENERAL;
        }
        page = reply->element[1];
        for (i = 0; i < page->elements
                    && (*keys)->nelts < FA_REGISTRY_LIST_MAX; i++) {
            if (page->element[i]->type == REDIS_REPLY_STRING
                && page->element[i]->len > blen) {
                APR_ARRAY_PUSH(*keys, const char *) = apr_pstrmemdup(p,
                    page->element[i]->str + blen, page->element[i]->len
                    - blen);
            }
        }
        argv[1] = apr_pstrdup(p, reply->element[0]->str);
        freeReplyObject(reply);
        if (!strcmp(argv[1], "0") || (*keys)->nelts >= FA_REGISTRY_LIST_MAX) {
            break;
        }
    }
    qsort((*keys)->elts, (size_t)(*keys)->nelts, sizeof(const char *),
          reg_by_string);
    return APR_SUCCESS;
}

apr_status_t fa_registry_redis_open(apr_pool_t *p, fa_store_t *st,
                                    fa_registry_t **preg)
{
    fa_registry_t *reg;

    *preg = NULL;
    if (!st || strcmp(st->name, "redis")) {
        return APR_EINVAL;
    }
    reg = apr_pcalloc(p, sizeof(*reg));
    reg->name = "redis";
    reg->get = reg_get;
    reg->create = reg_create;
    reg->put = reg_put;
    reg->replace = reg_replace;
    reg->del = reg_del;
    reg->list = reg_list;
    reg->baton = st->baton;
    *preg = reg;
    return APR_SUCCESS;
}

/* ---- the attempt stream (FedAuthAttemptStream) ------------------------- */

/* Self-contained like the registry section: only command() and
 * full_key() of the store above. */

apr_status_t fa_store_redis_stream_add(fa_store_t *st, const char *key,
                                       int maxlen, const char *line,
                                       apr_size_t len, apr_pool_t *p)
{
    redis_t *rs;
    const char *argv[7];
    size_t lens[7];
    redisReply *reply;
    fa_err_t err;
    int i;

    if (!st || strcmp(st->name, "redis") || maxlen < 1) {
        return APR_EINVAL;
    }
    rs = st->baton;
    argv[0] = "XADD";
    argv[1] = full_key(p, rs, key);
    argv[2] = "MAXLEN";
    argv[3] = apr_itoa(p, maxlen);
    argv[4] = "*";
    argv[5] = "a";
    argv[6] = line;
    for (i = 0; i < 7; i++) {
        lens[i] = i == 6 ? len : strlen(argv[i]);
    }
    if (command(rs, 7, argv, lens, REPLY_MAX_SMALL, &reply, &err)
        != APR_SUCCESS) {
        return log_failure(&err);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

apr_status_t fa_store_redis_stream_read(fa_store_t *st, const char *key,
                                        int max, apr_pool_t *p,
                                        apr_array_header_t **lines)
{
    redis_t *rs;
    const char *argv[6] = { "XRANGE", NULL, "-", "+", "COUNT", NULL };
    redisReply *reply, *entry, *fields;
    fa_err_t err;
    size_t i, j;

    *lines = apr_array_make(p, 16, sizeof(const char *));
    if (!st || strcmp(st->name, "redis") || max < 1) {
        return APR_EINVAL;
    }
    rs = st->baton;
    argv[1] = full_key(p, rs, key);
    argv[5] = apr_itoa(p, max);
    if (command(rs, 6, argv, NULL, (apr_size_t)max * 5000 + 1024, &reply,
                &err) != APR_SUCCESS) {
        return log_failure(&err);
    }
    for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
         i++) {
        entry = reply->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
            || entry->element[1]->type != REDIS_REPLY_ARRAY) {
            continue;
        }
        fields = entry->element[1];
        for (j = 0; j + 1 < fields->elements; j += 2) {
            if (fields->element[j + 1]->type == REDIS_REPLY_STRING) {
                APR_ARRAY_PUSH(*lines, const char *) = apr_pstrmemdup(p,
                    fields->element[j + 1]->str,
                    fields->element[j + 1]->len);
            }
        }
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}
