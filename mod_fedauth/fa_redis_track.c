/* SPDX-License-Identifier: Apache-2.0 */
/* fa_redis_track.c - client-side caching for the client: what lets a
 * process keep a copy of a session and know, with no trip to Redis, that
 * it is still what Redis holds (fa_store_t.version, FA_REDIS_COPY_MS).
 *
 * Each process runs a listener thread with one connection subscribed to
 * __redis__:invalidate (fa_redis_track_start, from the store's
 * child_init); every pooled connection turns CLIENT TRACKING on with its
 * messages redirected to the listener (fa_redis_track_register, when the
 * client hands out a connection), so Redis names every key this process
 * read once it changes (by anyone, on any host). The listener bumps a
 * counter per key slot; fa_redis_version is that counter (and the
 * listener's epoch), or 0 while the listener is down or Redis refuses
 * tracking: a copy is then trusted only briefly.
 *
 * With a Cluster, tracking only works within one node: the same thread
 * keeps one listener connection per master of the slot map (poll() over
 * all of them), each data connection redirects to the listener of its
 * own node, and fa_redis_version is 0 while any master's listener is
 * not up. Any listener going up or down and any change of the slot map
 * moves the epoch on, so no copy made before is trusted after.
 *
 * Host copies (conf.host_copies, FedAuthSessionHostCache): the key
 * counters live in memory shared by the host's processes
 * (fa_redis_shared_t), so a change any listener hears of reaches the
 * copies of all of them. A copy one process made for the host is stamped
 * with the key's counter and with that process's voucher slot: its
 * generation, which moves on with the epoch (the listener went up or
 * down), and its heartbeat, which the listener renews while it is up. A
 * copy counts while the counter and the generation are those stamped and
 * the heartbeat is younger than FA_REDIS_BEAT_MS: Redis names a changed
 * key to the listeners of the connections that read it, so the one that
 * read it for the copy must still be listening (a process that exits
 * gives its slot up, one that is killed or stopped stops beating). Part
 * of the httpd-free core. */
#include <poll.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <apr_strings.h>
#include "fa_redis_int.h"
#include "fa_log.h"

#define LISTEN_POLL_MS 200
/* The listener PINGs this often and gives up on a connection that has
 * said nothing for LISTEN_SILENT_MS: a connection that died without a
 * word (a cut network) cannot hide lost invalidations for longer. */
#define LISTEN_PING_MS 1000
#define LISTEN_SILENT_MS 3000
#define INVALIDATE_CHANNEL "__redis__:invalidate"

static int track_state(fa_redis_t *rs)
{
    return __atomic_load_n(&rs->track_state, __ATOMIC_ACQUIRE);
}

static apr_uint32_t track_slot(const fa_redis_t *rs, const char *key,
                               apr_size_t len)
{
    apr_uint32_t h = 2166136261u;    /* FNV-1a */
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    }
    return h & rs->track_mask;
}

/* Milliseconds of a clock that all processes of the host share and that
 * no setting of the time moves. */
static apr_int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Host copies: the copies this process vouched for count no more. Called
 * after the state that says why was stored, so a stamp that reads the
 * new generation also sees that state. */
static void voucher_bump(fa_redis_t *rs)
{
    if (rs->shared && rs->voucher >= 0) {
        __atomic_add_fetch(&rs->shared->v[rs->voucher].gen, 1,
                           __ATOMIC_ACQ_REL);
    }
}

/* Host copies: the listener is up and says so. */
static void voucher_beat(fa_redis_t *rs)
{
    if (rs->shared && rs->voucher >= 0) {
        __atomic_store_n(&rs->shared->v[rs->voucher].beat_ms, mono_ms(),
                         __ATOMIC_RELEASE);
    }
}

/* Copies vouched for so far are not any more (the listener went down or
 * came up: messages may have been lost in between). */
static void track_set(fa_redis_t *rs, int state)
{
    __atomic_add_fetch(&rs->track_epoch, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&rs->track_state, state, __ATOMIC_RELEASE);
    voucher_bump(rs);
}

/* Cluster: is every master's listener up? Called with the lock held,
 * after the epoch moved on (so a version that sees 1 sees the new
 * epoch). */
static void all_up_update(fa_redis_t *rs)
{
    int i, masters = 0, up = 1;

    for (i = 0; i < rs->n_nodes; i++) {
        if (rs->nodes[i].master) {
            masters++;
            up &= __atomic_load_n(&rs->nodes[i].track_state,
                                  __ATOMIC_ACQUIRE) == FA_REDIS_TRACK_UP;
        }
    }
    __atomic_store_n(&rs->track_all_up, masters && up, __ATOMIC_RELEASE);
}

void fa_redis_track_node_set(fa_redis_t *rs, int node, int state)
{
    apr_thread_mutex_lock(rs->lock);
    __atomic_add_fetch(&rs->track_epoch, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&rs->nodes[node].track_state, state, __ATOMIC_RELEASE);
    all_up_update(rs);
    voucher_bump(rs);
    apr_thread_mutex_unlock(rs->lock);
}

static int node_state(fa_redis_t *rs, int node)
{
    return __atomic_load_n(&rs->nodes[node].track_state, __ATOMIC_ACQUIRE);
}

void fa_redis_track_remapped(fa_redis_t *rs)
{
    __atomic_add_fetch(&rs->track_epoch, 1, __ATOMIC_ACQ_REL);
    all_up_update(rs);
    voucher_bump(rs);
}

/* Has Redis send the invalidations of what conn reads to the listener
 * (with a Cluster, the one of conn's node), once per epoch. A refusal
 * (Redis before 6, an ACL without CLIENT) turns client-side caching off
 * for good. */
int fa_redis_track_register(fa_redis_t *rs, fa_redis_conn_t *conn,
                            fa_err_t *perr)
{
    const char *argv[5] = { "CLIENT", "TRACKING", "on", "REDIRECT", NULL };
    unsigned int epoch;
    char id[32];
    redisReply *reply;

    if (track_state(rs) != FA_REDIS_TRACK_UP
        || (conn->node >= 0
            && node_state(rs, conn->node) != FA_REDIS_TRACK_UP)) {
        return 1;
    }
    /* the epoch before the id: an id newer than the epoch only costs
     * one more CLIENT TRACKING */
    epoch = __atomic_load_n(&rs->track_epoch, __ATOMIC_ACQUIRE);
    if (conn->track_epoch == epoch) {
        return 1;
    }
    apr_thread_mutex_lock(rs->lock);
    apr_snprintf(id, sizeof(id), "%" APR_INT64_T_FMT, conn->node >= 0
                 ? rs->nodes[conn->node].track_id : rs->track_id);
    apr_thread_mutex_unlock(rs->lock);
    argv[4] = id;
    reply = fa_redis_run(conn->c, 5, argv, NULL, FA_REDIS_REPLY_SMALL, NULL,
                         perr);
    if (!reply) {
        return 0;
    }
    if (reply->type != REDIS_REPLY_ERROR) {
        conn->track_epoch = epoch;
    }
    else if (strstr(reply->str, "does not exist")) {
        /* The listener's connection is gone: nothing is vouched for until
         * it is back. */
        conn->track_epoch = 0;
        if (conn->node >= 0) {
            fa_redis_track_node_set(rs, conn->node, FA_REDIS_TRACK_DOWN);
        }
        else {
            track_set(rs, FA_REDIS_TRACK_DOWN);
        }
    }
    else {
        fa_log(FA_LOG_WARN, FALOGNO(01711) "redis refuses CLIENT TRACKING "
               "(%.200s): each process keeps a copy of a session for at "
               "most a second (FedAuthSessionLocalCache)", reply->str);
        track_set(rs, FA_REDIS_TRACK_REFUSED);
    }
    freeReplyObject(reply);
    return 1;
}

void fa_redis_track_closing(fa_redis_t *rs, fa_redis_conn_t *conn,
                            const char *why)
{
    unsigned int epoch = __atomic_load_n(&rs->track_epoch, __ATOMIC_ACQUIRE);

    /* A connection last redirected in an older epoch read nothing that a
     * copy still counts for: the epoch moved since, and with it every
     * version and the voucher's generation. */
    if (conn->track_epoch == 0 || conn->track_epoch != epoch) {
        return;
    }
    if (__atomic_compare_exchange_n(&rs->track_epoch, &epoch, epoch + 1, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        voucher_bump(rs);
    }
    /* at info what says something of Redis; a close of the module's
     * own doing (a surplus, a restart, a master that moved, which
     * FA01707 tells) at debug */
    fa_log(strncmp(why, "closed: ", 8) ? FA_LOG_INFO : FA_LOG_DEBUG,
           FALOGNO(01720) "redis connection %s: what it read is vouched "
           "for no more, the copies of sessions made so far are dropped",
           why);
}

apr_uint32_t fa_redis_version(fa_store_t *st, const char *key)
{
    fa_redis_t *rs = st->baton;
    apr_uint32_t epoch, v;

    /* A Cluster vouches only while every master's listener is up: the
     * key's own node would cost a CRC16 of the key per request. */
    if (track_state(rs) != FA_REDIS_TRACK_UP
        || (rs->conf.cluster
            && !__atomic_load_n(&rs->track_all_up, __ATOMIC_ACQUIRE))) {
        return 0;
    }
    epoch = __atomic_load_n(&rs->track_epoch, __ATOMIC_ACQUIRE);
    v = __atomic_load_n(&rs->track_gen[track_slot(rs, key, strlen(key))],
                        __ATOMIC_ACQUIRE) + epoch * 0x9e3779b1u;
    return v ? v : 1;
}

int fa_redis_host_stamp(fa_store_t *st, const char *key,
                        fa_store_stamp_t *stamp)
{
    fa_redis_t *rs = st->baton;
    fa_redis_voucher_t *v;
    apr_int64_t age;

    if (!rs->shared || rs->voucher < 0) {
        return 0;
    }
    v = &rs->shared->v[rs->voucher];
    /* the generation first: a listener that goes down after this moves
     * it on, one that went down before shows in the state read next */
    stamp->vgen = __atomic_load_n(&v->gen, __ATOMIC_ACQUIRE);
    age = mono_ms() - __atomic_load_n(&v->beat_ms, __ATOMIC_ACQUIRE);
    if (fa_redis_version(st, key) == 0 || age < 0
        || age > FA_REDIS_BEAT_MS) {
        return 0;
    }
    stamp->voucher = (apr_uint32_t)rs->voucher;
    stamp->gen = __atomic_load_n(&rs->track_gen[track_slot(rs, key,
                                                           strlen(key))],
                                 __ATOMIC_ACQUIRE);
    stamp->spare = 0;
    return 1;
}

int fa_redis_host_valid(fa_store_t *st, const char *key,
                        const fa_store_stamp_t *stamp)
{
    fa_redis_t *rs = st->baton;
    fa_redis_voucher_t *v;
    apr_int64_t age;

    if (!rs->shared || stamp->voucher >= FA_REDIS_VOUCHERS) {
        return 0;
    }
    v = &rs->shared->v[stamp->voucher];
    if (__atomic_load_n(&v->gen, __ATOMIC_ACQUIRE) != stamp->vgen) {
        return 0;
    }
    age = mono_ms() - __atomic_load_n(&v->beat_ms, __ATOMIC_ACQUIRE);
    if (age < 0 || age >= FA_REDIS_BEAT_MS
        || __atomic_load_n(&rs->shared->gen[track_slot(rs, key,
                                                      strlen(key))],
                           __ATOMIC_ACQUIRE) != stamp->gen) {
        return 0;
    }
    return (int)(FA_REDIS_BEAT_MS - age);
}

/* One message from the invalidation channel: the keys that changed (ours
 * have our prefix), or none for a flush of everything. */
static void invalidate(fa_redis_t *rs, const redisReply *msg)
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
        /* FLUSHDB / FLUSHALL: forget all */
        track_set(rs, FA_REDIS_TRACK_UP);
        return;
    }
    for (i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type == REDIS_REPLY_STRING && k->len >= plen
            && !memcmp(k->str, rs->conf.prefix, plen)) {
            __atomic_add_fetch(&rs->track_gen[track_slot(rs, k->str + plen,
                                                         k->len - plen)],
                               1, __ATOMIC_ACQ_REL);
        }
    }
}

/* Makes c a listener: CLIENT ID (into *id), then SUBSCRIBE; 1 when
 * both worked. */
static int subscribe(fa_redis_t *rs, fa_redis_link_t *c, apr_int64_t *id,
                     fa_err_t *err)
{
    const char *cid[2] = { "CLIENT", "ID" };
    const char *sub[2] = { "SUBSCRIBE", INVALIDATE_CHANNEL };
    redisReply *reply;

    reply = fa_redis_run(c, 2, cid, NULL, FA_REDIS_REPLY_SMALL, NULL, err);
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        fa_log(FA_LOG_WARN, FALOGNO(01712) "redis refuses CLIENT ID "
               "(%.200s): each process keeps a copy of a session for at "
               "most a second (FedAuthSessionLocalCache)", reply->str);
        track_set(rs, FA_REDIS_TRACK_REFUSED);
    }
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        if (reply) {
            fa_err_set(err, "store_unavailable", "redis CLIENT ID: %.200s",
                       reply->type == REDIS_REPLY_ERROR ? reply->str
                                                         : "not a number");
            freeReplyObject(reply);
        }
        return 0;
    }
    *id = (apr_int64_t)reply->integer;
    freeReplyObject(reply);
    reply = fa_redis_run(c, 2, sub, NULL, FA_REDIS_REPLY_SMALL, NULL, err);
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply) {
            fa_err_set(err, "store_unavailable", "redis SUBSCRIBE: %.200s",
                       reply->type == REDIS_REPLY_ERROR ? reply->str
                                                         : "not an array");
            freeReplyObject(reply);
        }
        return 0;
    }
    freeReplyObject(reply);
    return 1;
}

/* Opens the listener's connection (one Redis, or Sentinel's master). */
static fa_redis_conn_t *listener_open(fa_redis_t *rs, apr_int64_t *id,
                                      fa_err_t *err)
{
    fa_redis_conn_t *conn = fa_redis_conn_open(rs, err);

    if (conn && !subscribe(rs, conn->c, id, err)) {
        fa_redis_release(rs, conn, 1);
        return NULL;
    }
    return conn;
}

static int stopping(fa_redis_t *rs)
{
    return __atomic_load_n(&rs->stopping, __ATOMIC_ACQUIRE);
}

/* Everything that arrived on a listener's connection, TLS's buffers
 * included, so that the next poll() tells the truth; 0 when it broke. */
static int drain(fa_redis_t *rs, fa_redis_link_t *c)
{
    redisReply *reply;
    fa_err_t err;

    if (fa_redis_link_read(c, FA_REDIS_REPLY_LISTEN, &err) != APR_SUCCESS) {
        return 0;
    }
    for (;;) {
        if (fa_redis_link_reply(c, &reply, &err) != APR_SUCCESS) {
            return 0;
        }
        if (!reply) {
            return 1;
        }
        invalidate(rs, reply);
        freeReplyObject(reply);
    }
}

/* Reads invalidation messages until the connection breaks or falls
 * silent, the store is being closed, or (Sentinel) the master moved. */
static void listen_on(fa_redis_t *rs, fa_redis_conn_t *conn)
{
    const char *ping[1] = { "PING" };
    apr_int64_t heard = fa_redis_now_ms(), pinged = heard, swept = heard;
    apr_int64_t now;
    struct pollfd pfd;
    fa_err_t err;
    int n;

    pfd.fd = fa_redis_link_fd(conn->c);
    pfd.events = POLLIN;
    while (!stopping(rs)
           && track_state(rs)
              == FA_REDIS_TRACK_UP) {
        apr_thread_mutex_lock(rs->lock);
        n = conn->generation != rs->generation;
        apr_thread_mutex_unlock(rs->lock);
        now = fa_redis_now_ms();
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
        if (now - swept >= FA_REDIS_SWEEP_MS) {
            swept = now;
            fa_redis_pool_sweep(rs);
        }
        voucher_beat(rs);
        n = poll(&pfd, 1, LISTEN_POLL_MS);
        if (n < 0 && errno != EINTR) {
            return;
        }
        if (n <= 0) {
            continue;
        }
        if (!drain(rs, conn->c)) {
            return;
        }
        heard = fa_redis_now_ms();
    }
}

static void *APR_THREAD_FUNC listener_main(apr_thread_t *t, void *data)
{
    fa_redis_t *rs = data;
    fa_redis_conn_t *conn;
    apr_int64_t id = 0;
    fa_err_t err;
    int i, said = 0;

    (void)t;
    while (!stopping(rs)
           && track_state(rs)
              != FA_REDIS_TRACK_REFUSED) {
        memset(&err, 0, sizeof(err));
        if ((conn = listener_open(rs, &id, &err)) != NULL) {
            apr_thread_mutex_lock(rs->lock);
            rs->track_id = id;
            apr_thread_mutex_unlock(rs->lock);
            track_set(rs, FA_REDIS_TRACK_UP);
            fa_log(FA_LOG_DEBUG, FALOGNO(01713) "redis invalidation "
                   "listener up (client %" APR_INT64_T_FMT ")", id);
            if (said) {
                fa_log(FA_LOG_INFO, FALOGNO(01714) "redis invalidation "
                       "listener back");
                said = 0;
            }
            listen_on(rs, conn);
            if (track_state(rs)
                == FA_REDIS_TRACK_UP) {
                track_set(rs, FA_REDIS_TRACK_DOWN);
            }
            fa_redis_release(rs, conn, 1);
        }
        if (!said && !stopping(rs)
            && track_state(rs)
               != FA_REDIS_TRACK_REFUSED) {
            fa_log(FA_LOG_WARN, FALOGNO(01715) "redis invalidation "
                   "listener down%s%s: a copy of a session lasts a second "
                   "at most until it is back", err.desc[0] ? ": " : "",
                   err.desc);
            said = 1;
        }
        /* a second before the next try, awake for the end */
        for (i = 0; i < 1000 / LISTEN_POLL_MS && !stopping(rs); i++) {
            apr_sleep(apr_time_from_msec(LISTEN_POLL_MS));
        }
    }
    return NULL;
}

/* ---- Cluster: one listener connection per master ---------------------- */

/* The listener thread's own view of one node (no lock needed). */
typedef struct node_listener_t {
    fa_redis_link_t *c;           /* subscribed, or NULL */
    apr_int64_t heard;            /* last bytes from it */
    apr_int64_t pinged;
    apr_int64_t retry_ms;         /* no new connect before this */
    int said;                     /* its being down was logged */
} node_listener_t;

/* Closes node's listener connection: its copies are not vouched for. */
static void node_drop(fa_redis_t *rs, node_listener_t *l, int node,
                      int failed)
{
    fa_redis_link_close(l->c);
    l->c = NULL;
    if (node_state(rs, node) != FA_REDIS_TRACK_DOWN) {
        fa_redis_track_node_set(rs, node, FA_REDIS_TRACK_DOWN);
    }
    l->retry_ms = fa_redis_now_ms() + (failed ? FA_REDIS_BACKOFF_MS : 0);
    if (failed) {
        /* a fail-over shows in the map: the new master gets a listener
         * without waiting for traffic */
        fa_redis_cluster_remap(rs);
    }
}

/* Opens node's listener connection (a blocking connect, bounded by the
 * store's timeout). */
static void node_listen(fa_redis_t *rs, node_listener_t *l, int node)
{
    char host[FA_REDIS_HOST_MAX];
    apr_int64_t id = 0;
    fa_redis_link_t *c;
    fa_err_t err;
    int port;

    memset(&err, 0, sizeof(err));
    apr_thread_mutex_lock(rs->lock);
    apr_cpystrn(host, rs->nodes[node].host, sizeof(host));
    port = rs->nodes[node].port;
    apr_thread_mutex_unlock(rs->lock);
    c = fa_redis_connect(rs, host, port, &err);
    if (c && fa_redis_prepare(rs, c, &err) && subscribe(rs, c, &id, &err)) {
        apr_thread_mutex_lock(rs->lock);
        rs->nodes[node].track_id = id;
        apr_thread_mutex_unlock(rs->lock);
        l->c = c;
        l->heard = l->pinged = fa_redis_now_ms();
        fa_redis_track_node_set(rs, node, FA_REDIS_TRACK_UP);
        fa_log(l->said ? FA_LOG_INFO : FA_LOG_DEBUG, FALOGNO(01716)
               "redis cluster node %s:%d: invalidation listener up (client "
               "%" APR_INT64_T_FMT ")", host, port, id);
        l->said = 0;
        return;
    }
    if (c) {
        fa_redis_link_close(c);
    }
    if (!l->said && track_state(rs) != FA_REDIS_TRACK_REFUSED) {
        fa_log(FA_LOG_WARN, FALOGNO(01717) "redis cluster node %s:%d: "
               "invalidation listener down%s%s: a copy of a session lasts a "
               "second at most until it is back", host, port,
               err.desc[0] ? ": " : "", err.desc);
        l->said = 1;
    }
    l->retry_ms = fa_redis_now_ms() + FA_REDIS_BACKOFF_MS;
    fa_redis_cluster_remap(rs);
}

/* One round over the nodes: a listener for each master that has none
 * (once its pause is over), none for a node that is no longer a master,
 * PINGs, silence. Fills pfd/which with the connections to poll. */
static int cluster_tend(fa_redis_t *rs, node_listener_t *ls,
                        struct pollfd *pfd, int *which)
{
    unsigned char master[FA_REDIS_CLUSTER_NODES];
    const char *ping[1] = { "PING" };
    int i, n_nodes, n = 0;
    apr_int64_t now;
    fa_err_t err;

    apr_thread_mutex_lock(rs->lock);
    n_nodes = rs->n_nodes;
    for (i = 0; i < n_nodes; i++) {
        master[i] = (unsigned char)rs->nodes[i].master;
    }
    apr_thread_mutex_unlock(rs->lock);
    for (i = 0; i < n_nodes && !stopping(rs); i++) {
        node_listener_t *l = &ls[i];
        now = fa_redis_now_ms();
        if (l->c && (!master[i] || now - l->heard > LISTEN_SILENT_MS
                     || node_state(rs, i) != FA_REDIS_TRACK_UP)) {
            node_drop(rs, l, i, master[i]);
        }
        if (!l->c && master[i] && now >= l->retry_ms) {
            node_listen(rs, l, i);
        }
        if (l->c && now - l->pinged >= LISTEN_PING_MS) {
            l->pinged = now;
            if (fa_redis_link_send(l->c, 1, ping, NULL, &err)
                != APR_SUCCESS) {
                node_drop(rs, l, i, 1);
            }
        }
        if (l->c) {
            pfd[n].fd = fa_redis_link_fd(l->c);
            pfd[n].events = POLLIN;
            pfd[n].revents = 0;
            which[n++] = i;
        }
    }
    return n;
}

static void *APR_THREAD_FUNC cluster_listener_main(apr_thread_t *t,
                                                   void *data)
{
    fa_redis_t *rs = data;
    node_listener_t ls[FA_REDIS_CLUSTER_NODES];
    struct pollfd pfd[FA_REDIS_CLUSTER_NODES];
    int which[FA_REDIS_CLUSTER_NODES];
    int i, n, ready;
    apr_int64_t swept = 0, now;

    (void)t;
    memset(ls, 0, sizeof(ls));
    while (!stopping(rs) && track_state(rs) != FA_REDIS_TRACK_REFUSED) {
        now = fa_redis_now_ms();
        if (now - swept >= FA_REDIS_SWEEP_MS) {
            swept = now;
            fa_redis_pool_sweep(rs);
        }
        if ((n = cluster_tend(rs, ls, pfd, which)) == 0) {
            apr_sleep(apr_time_from_msec(LISTEN_POLL_MS));
            continue;
        }
        if (__atomic_load_n(&rs->track_all_up, __ATOMIC_ACQUIRE)) {
            voucher_beat(rs);
        }
        ready = poll(pfd, (nfds_t)n, LISTEN_POLL_MS);
        for (i = 0; ready > 0 && i < n; i++) {
            if (!pfd[i].revents) {
                continue;
            }
            if (drain(rs, ls[which[i]].c)) {
                ls[which[i]].heard = fa_redis_now_ms();
            }
            else {
                node_drop(rs, &ls[which[i]], which[i], 1);
            }
        }
    }
    for (i = 0; i < FA_REDIS_CLUSTER_NODES; i++) {
        if (ls[i].c) {
            node_drop(rs, &ls[i], i, 0);
        }
    }
    return NULL;
}

const char *fa_redis_track_describe(fa_redis_t *rs, apr_pool_t *p)
{
    static const char *const names[] = { "off", "down", "up", "refused" };
    int state = track_state(rs) & 3, i, masters = 0, up = 0;

    if (!rs->conf.cluster || state != FA_REDIS_TRACK_UP) {
        return names[state];
    }
    for (i = 0; i < rs->n_nodes; i++) {
        if (rs->nodes[i].master) {
            masters++;
            up += node_state(rs, i) == FA_REDIS_TRACK_UP;
        }
    }
    if (masters && up == masters) {
        return "up";
    }
    return apr_psprintf(p, "down (%d of %d masters' listeners up)", up,
                        masters);
}

/* Gives this process's voucher slot back: what it vouched for counts no
 * more (the generation moves), and another process may claim it. */
static void voucher_release(fa_redis_t *rs)
{
    if (rs->shared && rs->voucher >= 0) {
        voucher_bump(rs);
        __atomic_store_n(&rs->shared->v[rs->voucher].pid, 0,
                         __ATOMIC_RELEASE);
        rs->voucher = -1;
    }
}

static apr_status_t listener_stop(void *data)
{
    fa_redis_t *rs = data;
    apr_status_t rv;

    __atomic_store_n(&rs->stopping, 1, __ATOMIC_RELEASE);
    if (rs->listener) {
        apr_thread_join(&rv, rs->listener);
        rs->listener = NULL;
    }
    __atomic_store_n(&rs->track_state, FA_REDIS_TRACK_OFF, __ATOMIC_RELEASE);
    voucher_release(rs);
    return APR_SUCCESS;
}

static apr_status_t share_unmap(void *data)
{
    munmap(data, sizeof(fa_redis_shared_t));
    return APR_SUCCESS;
}

apr_status_t fa_redis_track_share(fa_redis_t *rs, apr_pool_t *p)
{
    void *m;

    rs->voucher = -1;
    if (!rs->conf.track || !rs->conf.host_copies) {
        return APR_SUCCESS;
    }
    m = mmap(NULL, sizeof(fa_redis_shared_t), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        return APR_FROM_OS_ERROR(errno);
    }
    rs->shared = m;
    rs->track_mask = FA_REDIS_HOST_SLOTS - 1;
    apr_pool_cleanup_register(p, m, share_unmap, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* A free voucher slot, or one whose process is gone (the generation moves
 * on: what it vouched for counts no more); -1 when all are taken. */
static int voucher_claim(fa_redis_shared_t *sh)
{
    apr_int32_t me = (apr_int32_t)getpid(), pid;
    int i;

    for (i = 0; i < FA_REDIS_VOUCHERS; i++) {
        pid = __atomic_load_n(&sh->v[i].pid, __ATOMIC_ACQUIRE);
        if (pid != 0 && (pid == me || kill((pid_t)pid, 0) == 0
                         || errno != ESRCH)) {
            continue;
        }
        if (__atomic_compare_exchange_n(&sh->v[i].pid, &pid, me, 0,
                                        __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            __atomic_store_n(&sh->v[i].beat_ms, 0, __ATOMIC_RELEASE);
            __atomic_add_fetch(&sh->v[i].gen, 1, __ATOMIC_ACQ_REL);
            return i;
        }
    }
    return -1;
}

apr_status_t fa_redis_track_start(fa_redis_t *rs, apr_pool_t *p)
{
    apr_status_t rv;

    if (!rs->conf.track || rs->listener) {
        return APR_SUCCESS;
    }
    if (rs->shared) {
        rs->track_gen = rs->shared->gen;
        rs->track_mask = FA_REDIS_HOST_SLOTS - 1;
        if ((rs->voucher = voucher_claim(rs->shared)) < 0) {
            fa_log(FA_LOG_WARN, FALOGNO(01718) "redis: all %d voucher "
                   "slots of FedAuthSessionHostCache are taken: this "
                   "process reads the host's copies but makes none",
                   FA_REDIS_VOUCHERS);
        }
    }
    else {
        rs->track_gen = apr_pcalloc(p, FA_REDIS_TRACK_SLOTS
                                       * sizeof(apr_uint32_t));
        rs->track_mask = FA_REDIS_TRACK_SLOTS - 1;
    }
    __atomic_store_n(&rs->stopping, 0, __ATOMIC_RELEASE);
    /* a Cluster's nodes say whether they vouch, each for itself */
    __atomic_store_n(&rs->track_state, rs->conf.cluster ? FA_REDIS_TRACK_UP
                                       : FA_REDIS_TRACK_DOWN,
                     __ATOMIC_RELEASE);
    rv = apr_thread_create(&rs->listener, NULL, rs->conf.cluster
                           ? cluster_listener_main : listener_main, rs, p);
    if (rv != APR_SUCCESS) {
        rs->listener = NULL;
        __atomic_store_n(&rs->track_state, FA_REDIS_TRACK_OFF,
                         __ATOMIC_RELEASE);
        voucher_release(rs);
        return rv;
    }
    apr_pool_cleanup_register(p, rs, listener_stop, apr_pool_cleanup_null);
    return APR_SUCCESS;
}
