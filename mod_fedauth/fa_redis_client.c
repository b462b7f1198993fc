/* SPDX-License-Identifier: Apache-2.0 */
/* fa_redis_client.c - the Redis client (fa_redis_t) that the store, the
 * registry and the attempt stream are built on: one per Redis URL in a
 * process, made by fa_redis_create (fa_store.h). It offers the other
 * fa_redis_*.c files (through fa_redis_int.h) one call, fa_redis_command:
 * a command as an argument vector (binary-safe; nothing from outside is
 * ever formatted into a command), run on a pooled connection.
 *
 * Connections live in a small pool: an operation takes one (or makes one),
 * runs its command and gives it back. A connection that fails is dropped,
 * and the operation is tried once more on a new connection: after a Redis
 * restart or a fail-over the first use of an old connection fails, the
 * retry does not. With Sentinel the master is looked up (and looked up
 * again once a second while there is traffic, and at once when a
 * connection fails); with a Cluster, fa_redis_command hands over to
 * fa_redis_cluster.c. The bytes (and TLS) are fa_redis_net.c's. Also here:
 * what the status page shows of a client (fa_redis_state). */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fa_redis_int.h"
#include "fa_log.h"

apr_int64_t fa_redis_now_ms(void)
{
    return (apr_int64_t)(apr_time_now() / 1000);
}

/* ---- connections ----------------------------------------------------- */

fa_redis_link_t *fa_redis_connect(const fa_redis_t *rs, const char *host,
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
redisReply *fa_redis_run(fa_redis_link_t *c, int argc, const char **argv,
                         const size_t *lens, apr_size_t max, int *timed_out,
                         fa_err_t *err)
{
    redisReply *reply;

    if (fa_redis_link_command(c, argc, argv, lens, max, &reply, timed_out,
                              err) != APR_SUCCESS) {
        return NULL;
    }
    return reply;
}

static redisReply *run(fa_redis_link_t *c, int argc, const char **argv,
                       fa_err_t *err)
{
    return fa_redis_run(c, argc, argv, NULL, FA_REDIS_REPLY_SMALL, NULL, err);
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

int fa_redis_sentinel_answer(const redisReply *reply, char *host,
                             apr_size_t host_len, int *port)
{
    const redisReply *h, *n;
    char *end;
    long v;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        return 0;
    }
    h = reply->element[0];
    n = reply->element[1];
    if (h->type != REDIS_REPLY_STRING || n->type != REDIS_REPLY_STRING
        || h->len == 0 || h->len >= host_len
        || memchr(h->str, '\0', h->len) || n->len == 0 || n->len > 5
        || n->str[0] < '0' || n->str[0] > '9') {
        return 0;
    }
    v = strtol(n->str, &end, 10);
    if (*end || v < 1 || v > 65535) {
        return 0;
    }
    memcpy(host, h->str, h->len);
    host[h->len] = '\0';
    *port = (int)v;
    return 1;
}

/* Asks the sentinels, in order, where the master is. */
static int sentinel_lookup(fa_redis_t *rs, char *host, apr_size_t host_len,
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
        if (!(c = fa_redis_connect(rs, s->host, s->port, err))) {
            continue;
        }
        reply = run(c, 3, argv, err);
        if (reply && fa_redis_sentinel_answer(reply, host, host_len, port)) {
            found = 1;
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
int fa_redis_prepare(fa_redis_t *rs, fa_redis_link_t *c, fa_err_t *err)
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
        reply = run(c, argc, argv, err);
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
        reply = run(c, 2, argv, err);
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

fa_redis_conn_t *fa_redis_conn_open(fa_redis_t *rs, fa_err_t *err)
{
    char host[FA_REDIS_HOST_MAX];
    int port;
    fa_redis_link_t *c = NULL;
    fa_redis_conn_t *conn;

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
            rs->checked_ms = fa_redis_now_ms();
            apr_thread_mutex_unlock(rs->lock);
            fa_log(FA_LOG_INFO, FALOGNO(01706) "redis master %s is at %s:%d",
                   rs->conf.master_name, host, port);
        }
    }
    else {
        const fa_redis_host_t *h = &APR_ARRAY_IDX(rs->conf.hosts, 0,
                                                  fa_redis_host_t);
        apr_cpystrn(host, h->host, sizeof(host));
        port = h->port;
    }
    if (!(c = fa_redis_connect(rs, host, port, err))
        || !fa_redis_prepare(rs, c, err)) {
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
    rs->connected_ms = fa_redis_now_ms();
    apr_thread_mutex_unlock(rs->lock);
    return conn;
}

/* Forgets the master (Sentinel) and delays new connects for a moment. */
static void mark_down(fa_redis_t *rs, int forget_master)
{
    apr_thread_mutex_lock(rs->lock);
    if (forget_master && rs->conf.master_name) {
        rs->master_port = 0;
        rs->generation++;
    }
    rs->down_until_ms = fa_redis_now_ms() + FA_REDIS_BACKOFF_MS;
    apr_thread_mutex_unlock(rs->lock);
}

/* Closes a pooled connection. Redis forgets what a connection read once
 * it is gone, and says nothing to the listener when such a key changes
 * later: what this process read through it under tracking is vouched for
 * no more (fa_redis_track_closing), before the connection goes. */
static void conn_close(fa_redis_t *rs, fa_redis_conn_t *conn,
                       const char *why)
{
    fa_redis_track_closing(rs, conn, why);
    fa_redis_link_close(conn->c);
    free(conn);
}

static void free_list(fa_redis_t *rs, fa_redis_conn_t *conn,
                      const char *why)
{
    fa_redis_conn_t *next;

    for (; conn; conn = next) {
        next = conn->next;
        conn_close(rs, conn, why);
    }
}

/* Sentinel: asks again where the master is, at most once a second and by
 * one thread at a time; when it moved, connections to the old one are
 * dropped (idle ones now, busy ones when they come back). */
static void sentinel_recheck(fa_redis_t *rs)
{
    char host[FA_REDIS_HOST_MAX];
    int port = 0, go;
    fa_redis_conn_t *stale = NULL;
    fa_err_t err;
    apr_int64_t now = fa_redis_now_ms();

    apr_thread_mutex_lock(rs->lock);
    go = !rs->checking && rs->master_port
         && now - rs->checked_ms >= FA_REDIS_SENTINEL_CHECK_MS;
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
        fa_log(FA_LOG_WARN, FALOGNO(01707) "redis master %s moved to %s:%d",
               rs->conf.master_name, host, port);
        free_list(rs, stale, "closed: the master moved");
    }
}

/* An idle connection, or a new one; *reused says which. A connection
 * that fails its CLIENT TRACKING is closed unused: an idle one is then
 * replaced by a new one, a new one is a failure. */
static fa_redis_conn_t *acquire(fa_redis_t *rs, int *reused, fa_err_t *err)
{
    fa_redis_conn_t *conn = NULL;
    apr_int64_t down_until;
    int fresh = 0;

    if (rs->conf.master_name) {
        sentinel_recheck(rs);
    }
again:
    apr_thread_mutex_lock(rs->lock);
    if (!fresh) {
        conn = rs->idle;
        if (conn) {
            rs->idle = conn->next;
            rs->idle_count--;
        }
    }
    down_until = rs->down_until_ms;
    apr_thread_mutex_unlock(rs->lock);
    *reused = conn != NULL;
    if (!conn) {
        if (fa_redis_now_ms() < down_until) {
            apr_thread_mutex_lock(rs->lock);
            fa_err_set(err, "store_unavailable", "redis was unreachable a "
                       "moment ago (%s); not trying again yet",
                       rs->down_why);
            apr_thread_mutex_unlock(rs->lock);
            return NULL;
        }
        if (!(conn = fa_redis_conn_open(rs, err))) {
            mark_down(rs, 1);
            apr_thread_mutex_lock(rs->lock);
            apr_cpystrn(rs->down_why, err->desc, sizeof(rs->down_why));
            rs->failed_ms = fa_redis_now_ms();
            apr_thread_mutex_unlock(rs->lock);
            return NULL;
        }
    }
    if (!fa_redis_track_register(rs, conn, err)) {
        fa_redis_release(rs, conn, 1);
        conn = NULL;
        if (*reused) {
            fresh = 1;
            goto again;
        }
        return NULL;
    }
    return conn;
}

void fa_redis_release(fa_redis_t *rs, fa_redis_conn_t *conn, int broken)
{
    if (!broken && conn->node >= 0) {
        fa_redis_node_t *n = &rs->nodes[conn->node];
        apr_thread_mutex_lock(rs->lock);
        if (n->idle_count < FA_REDIS_MAX_IDLE) {
            conn->next = n->idle;
            n->idle = conn;
            n->idle_count++;
            conn = NULL;
        }
        apr_thread_mutex_unlock(rs->lock);
    }
    else if (!broken) {
        apr_thread_mutex_lock(rs->lock);
        if (rs->idle_count < FA_REDIS_MAX_IDLE
            && conn->generation == rs->generation) {
            conn->next = rs->idle;
            rs->idle = conn;
            rs->idle_count++;
            conn = NULL;
        }
        apr_thread_mutex_unlock(rs->lock);
    }
    if (conn) {
        conn_close(rs, conn, broken ? "broken" : "closed: more idle than kept");
    }
}

/* Moves the idle connections of *list that the server closed or wrote
 * to unasked (an idle connection is owed nothing) into dead, at most
 * room of them; how many. Under the lock: poll() with no wait. */
static int idle_dead(fa_redis_conn_t **list, int *count,
                     fa_redis_conn_t **dead, int room)
{
    fa_redis_conn_t **at = list, *d;
    struct pollfd pfd;
    int n = 0;

    while (*at && n < room) {
        pfd.fd = fa_redis_link_fd((*at)->c);
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (pfd.fd >= 0 && poll(&pfd, 1, 0) == 0) {
            at = &(*at)->next;
            continue;
        }
        d = *at;
        *at = d->next;
        (*count)--;
        dead[n++] = d;
    }
    return n;
}

void fa_redis_pool_sweep(fa_redis_t *rs)
{
    fa_redis_conn_t *dead[FA_REDIS_SWEEP_MAX];
    int n, i;

    apr_thread_mutex_lock(rs->lock);
    n = idle_dead(&rs->idle, &rs->idle_count, dead, FA_REDIS_SWEEP_MAX);
    for (i = 0; i < rs->n_nodes; i++) {
        n += idle_dead(&rs->nodes[i].idle, &rs->nodes[i].idle_count,
                       dead + n, FA_REDIS_SWEEP_MAX - n);
    }
    apr_thread_mutex_unlock(rs->lock);
    for (i = 0; i < n; i++) {
        conn_close(rs, dead[i], "closed by the server while idle");
    }
}

/* A reply that means this server cannot serve us now (a replica after a
 * fail-over, a loading or a master-less server). */
int fa_redis_moved_on(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR
           && (!strncmp(reply->str, "READONLY", 8)
               || !strncmp(reply->str, "LOADING", 7)
               || !strncmp(reply->str, "MASTERDOWN", 10));
}

/* Runs a command with one retry on a fresh connection; its reply may take
 * at most max bytes. The reply is released by the caller with
 * freeReplyObject. */
apr_status_t fa_redis_command(fa_redis_t *rs, int argc, const char **argv,
                            const size_t *lens, apr_size_t max,
                            redisReply **preply, fa_err_t *err)
{
    fa_redis_conn_t *conn;
    redisReply *reply;
    int attempt, reused, timed_out;

    *preply = NULL;
    if (rs->conf.cluster) {
        return fa_redis_cluster_command(rs, argc, argv, lens, max, preply,
                                        err);
    }
    for (attempt = 0; attempt < 2; attempt++) {
        if (!(conn = acquire(rs, &reused, err))) {
            return APR_EGENERAL;
        }
        reply = fa_redis_run(conn->c, argc, argv, lens, max, &timed_out, err);
        if (reply && !fa_redis_moved_on(reply)) {
            fa_redis_release(rs, conn, 0);
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
        fa_redis_release(rs, conn, 1);
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


apr_status_t fa_redis_pipeline(fa_redis_t *rs, int n, int argc,
                               const char **argv, apr_size_t max,
                               redisReply **replies, fa_err_t *err)
{
    fa_redis_conn_t *conn;
    int reused, timed_out, i;
    apr_status_t rv;

    for (i = 0; i < n; i++) {
        replies[i] = NULL;
    }
    if (rs->conf.cluster) {
        return fa_redis_cluster_pipeline(rs, n, argc, argv, max, replies,
                                         err);
    }
    if (n < 1) {
        return APR_SUCCESS;
    }
    if (!(conn = acquire(rs, &reused, err))) {
        return APR_EGENERAL;
    }
    rv = fa_redis_link_pipeline(conn->c, n, argc, argv, NULL, max, replies,
                                &timed_out, err);
    fa_redis_release(rs, conn, rv != APR_SUCCESS);
    if (rv != APR_SUCCESS && timed_out) {
        mark_down(rs, 0);
    }
    return rv;
}

/* ---- the store -------------------------------------------------------- */

const char *fa_redis_key(apr_pool_t *p, const fa_redis_t *rs,
                         const char *key)
{
    return apr_pstrcat(p, rs->conf.prefix, key, NULL);
}

apr_status_t fa_redis_log_failure(const fa_err_t *err)
{
    fa_log(FA_LOG_ERR, FALOGNO(01708) "%s", err->desc);
    return APR_EGENERAL;
}

apr_status_t fa_redis_string_reply(apr_pool_t *p, redisReply *reply,
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

/* The strings of an array reply, copied into p. */
apr_array_header_t *fa_redis_reply_strings(apr_pool_t *p,
                                           const redisReply *reply)
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

static apr_status_t redis_cleanup(void *data)
{
    fa_redis_t *rs = data;
    int i;

    free_list(rs, rs->idle, "closed: the store is closed");
    rs->idle = NULL;
    rs->idle_count = 0;
    for (i = 0; i < rs->n_nodes; i++) {
        free_list(rs, rs->nodes[i].idle, "closed: the store is closed");
        rs->nodes[i].idle = NULL;
        rs->nodes[i].idle_count = 0;
    }
    return APR_SUCCESS;
}

apr_status_t fa_redis_create(apr_pool_t *p, const fa_redis_conf_t *conf,
                             fa_redis_t **prs)
{
    fa_redis_t *rs = apr_pcalloc(p, sizeof(*rs));
    apr_status_t rv;

    *prs = NULL;
    rs->conf = *conf;
    if (conf->cluster) {
        rs->nodes = apr_pcalloc(p, sizeof(*rs->nodes)
                                   * FA_REDIS_CLUSTER_NODES);
        rs->slot_node = apr_palloc(p, FA_REDIS_SLOTS);
        memset(rs->slot_node, FA_REDIS_NO_NODE, FA_REDIS_SLOTS);
    }
    if (conf->tls) {
        fa_redis_tls_file_t which;
        fa_err_t err;
        if (fa_redis_tls_context(p, conf->ca_file, conf->cert_file,
                                 conf->key_file, &rs->tls, &which, &err)
            != APR_SUCCESS) {
            fa_log(FA_LOG_ERR, FALOGNO(01709) "redis TLS: %s", err.desc);
            return APR_EINVAL;
        }
    }
    if ((rv = apr_thread_mutex_create(&rs->lock, APR_THREAD_MUTEX_DEFAULT,
                                      p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = fa_redis_track_share(rs, p)) != APR_SUCCESS) {
        fa_log(FA_LOG_ERR, FALOGNO(01719) "redis: cannot map the memory "
               "for FedAuthSessionHostCache's counters (%d bytes)",
               (int)sizeof(fa_redis_shared_t));
        return rv;
    }
    apr_pool_cleanup_register(p, rs, redis_cleanup, apr_pool_cleanup_null);
    *prs = rs;
    return APR_SUCCESS;
}

/* ---- what the status page shows --------------------------------------- */

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
static void state_cluster(fa_redis_t *rs, apr_pool_t *p, apr_int64_t now,
                          fa_redis_state_t *out)
{
    fa_redis_node_state_t *n;
    unsigned int slot;
    int i, *slots = apr_pcalloc(p, sizeof(int) * FA_REDIS_CLUSTER_NODES);

    for (slot = 0; rs->slot_node && slot < FA_REDIS_SLOTS; slot++) {
        if (rs->slot_node[slot] != FA_REDIS_NO_NODE) {
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

apr_status_t fa_redis_state(fa_redis_t *rs, apr_pool_t *p,
                            fa_redis_state_t *out)
{
    fa_redis_node_state_t *n;
    const fa_redis_host_t *h;
    apr_int64_t now = fa_redis_now_ms();
    int i, down;

    memset(out, 0, sizeof(*out));
    if (!rs) {
        return APR_EINVAL;
    }
    out->kind = rs->conf.cluster ? "redis-cluster"
                : rs->conf.master_name ? "redis-sentinel" : "redis";
    out->tls = rs->conf.tls;
    out->master_name = rs->conf.master_name;
    out->db = rs->conf.db;
    out->nodes = apr_array_make(p, 4, sizeof(fa_redis_node_state_t));
    apr_thread_mutex_lock(rs->lock);
    out->tracking = fa_redis_track_describe(rs, p);
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
