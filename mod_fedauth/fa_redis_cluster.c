/* SPDX-License-Identifier: Apache-2.0 */
/* fa_redis_cluster.c - Redis Cluster for the client (fa_redis_client.c):
 * fa_redis_cluster_command runs a command on the master that serves its
 * key's slot. Each process keeps a map of slots to nodes (CLUSTER SLOTS
 * from a known node or a seed, fetched again on MOVED and when a node
 * fails), a pool of connections per node, and follows MOVED (the map is
 * corrected) and ASK (ASKING first) at most FA_REDIS_CLUSTER_REDIRECTS
 * times. The parts with no I/O, fa_redis_map_parse (a CLUSTER SLOTS reply
 * into a map) and fa_redis_redirect_parse (a MOVED or ASK error), are
 * exposed in fa_redis_int.h for the unit tests. Part of the httpd-free
 * core. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fa_redis_int.h"
#include "fa_log.h"

/* The node at host:port, added when new; -1 when the table is full.
 * Called with the lock held. */
static int node_find_add(fa_redis_t *rs, const char *host, int port)
{
    int i;

    for (i = 0; i < rs->n_nodes; i++) {
        if (rs->nodes[i].port == port && !strcmp(rs->nodes[i].host, host)) {
            return i;
        }
    }
    if (rs->n_nodes >= FA_REDIS_CLUSTER_NODES
        || strlen(host) >= FA_REDIS_HOST_MAX) {
        return -1;
    }
    apr_cpystrn(rs->nodes[i].host, host, sizeof(rs->nodes[i].host));
    rs->nodes[i].port = port;
    return rs->n_nodes++;
}

static int slot_owner(fa_redis_t *rs, unsigned int slot)
{
    int node;

    apr_thread_mutex_lock(rs->lock);
    node = rs->slot_node[slot];
    apr_thread_mutex_unlock(rs->lock);
    return node == FA_REDIS_NO_NODE ? -1 : node;
}

/* One endpoint of a CLUSTER SLOTS entry: [host, port, id, ...]. An empty
 * host means the node asked; "?" an unknown endpoint (skipped). */
static int map_endpoint(const redisReply *e, const char *asked,
                        fa_redis_map_node_t *out)
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

int fa_redis_map_parse(const redisReply *reply, const char *asked,
                       unsigned char *owner, fa_redis_map_node_t *found,
                       int *n_found)
{
    fa_redis_map_node_t ep;
    size_t i, j;
    int k, covered = 0;
    long long lo, hi, s;

    memset(owner, FA_REDIS_NO_NODE, FA_REDIS_SLOTS);
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
            if (k == *n_found && *n_found < FA_REDIS_CLUSTER_NODES) {
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

/* Asks one node for the slot map (CLUSTER SLOTS); 1 when it told one. */
static int map_ask(fa_redis_t *rs, const fa_redis_map_node_t *node,
                   unsigned char *owner, fa_redis_map_node_t *found,
                   int *n_found)
{
    const char *argv[2] = { "CLUSTER", "SLOTS" };
    fa_redis_link_t *c;
    redisReply *reply;
    fa_err_t err;
    int loaded = 0;

    memset(&err, 0, sizeof(err));
    if (!(c = fa_redis_connect(rs, node->host, node->port, &err))) {
        return 0;
    }
    if (fa_redis_prepare(rs, c, &err)
        && (reply = fa_redis_run(c, 2, argv, NULL, FA_REDIS_REPLY_MAP, NULL,
                                 &err)) != NULL) {
        loaded = fa_redis_map_parse(reply, node->host, owner, found,
                                    n_found);
        freeReplyObject(reply);
    }
    fa_redis_link_close(c);
    return loaded;
}

/* Makes a parsed map the client's: the nodes it names join the table.
 * Called with the lock held. */
static void map_install(fa_redis_t *rs, const unsigned char *owner,
                        const fa_redis_map_node_t *found, int n_found)
{
    unsigned char map[FA_REDIS_CLUSTER_NODES], to;
    int k, idx, changed = 0;

    for (k = 0; k < n_found; k++) {
        idx = node_find_add(rs, found[k].host, found[k].port);
        map[k] = idx < 0 ? FA_REDIS_NO_NODE : (unsigned char)idx;
    }
    for (k = 0; k < rs->n_nodes; k++) {
        rs->nodes[k].master = 0;
    }
    for (k = 0; k < FA_REDIS_SLOTS; k++) {
        to = owner[k] == FA_REDIS_NO_NODE ? FA_REDIS_NO_NODE : map[owner[k]];
        if (to != FA_REDIS_NO_NODE) {
            rs->nodes[to].master = 1;
        }
        if (rs->slot_node[k] != to) {
            /* read without the lock by fa_redis_version */
            __atomic_store_n(&rs->slot_node[k], to, __ATOMIC_RELAXED);
            changed = 1;
        }
    }
    if (changed) {
        fa_redis_track_remapped(rs);
    }
}

/* Fetches the slot map (CLUSTER SLOTS) from the first node that answers:
 * the known nodes that were not down lately first, then the configured
 * seeds; at most FA_REDIS_CLUSTER_MAP_TRIES nodes, and none after the
 * store's timeout has passed. force: now, even when another thread is at
 * it (no map yet); else at most every FA_REDIS_CLUSTER_MAP_MIN_MS and by
 * one thread. 1 when a map was loaded. */
static int cluster_refresh(fa_redis_t *rs, int force)
{
    fa_redis_map_node_t *cand, *found;
    unsigned char *owner;
    int n_cand = 0, n_found = 0, i, k, loaded = 0, pass, tries = 0;
    apr_int64_t now = fa_redis_now_ms();

    apr_thread_mutex_lock(rs->lock);
    if (!force && (rs->mapping
                   || now - rs->mapped_ms < FA_REDIS_CLUSTER_MAP_MIN_MS)) {
        apr_thread_mutex_unlock(rs->lock);
        return 0;
    }
    rs->mapping++;
    rs->mapped_ms = now;
    cand = malloc(sizeof(*cand) * (FA_REDIS_CLUSTER_NODES + FA_REDIS_MAX_HOSTS
                                   + 1)
                  + sizeof(*found) * FA_REDIS_CLUSTER_NODES + FA_REDIS_SLOTS);
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
    found = cand + FA_REDIS_CLUSTER_NODES + FA_REDIS_MAX_HOSTS + 1;
    owner = (unsigned char *)(found + FA_REDIS_CLUSTER_NODES);
    /* bounded: a few nodes, and no new one after the store's timeout
     * (hung nodes each cost that much) */
    for (i = 0; i < n_cand && !loaded && tries < FA_REDIS_CLUSTER_MAP_TRIES
                && (tries == 0
                    || fa_redis_now_ms() - now < rs->conf.timeout_ms);
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
        loaded = map_ask(rs, &cand[i], owner, found, &n_found);
    }
    apr_thread_mutex_lock(rs->lock);
    if (loaded) {
        map_install(rs, owner, found, n_found);
    }
    rs->mapping--;
    apr_thread_mutex_unlock(rs->lock);
    free(cand);
    if (!loaded) {
        fa_log(FA_LOG_DEBUG, FALOGNO(01710) "redis cluster: no node told "
               "the slot map");
    }
    return loaded;
}

void fa_redis_cluster_remap(fa_redis_t *rs)
{
    (void)cluster_refresh(rs, 0);
}

void fa_redis_cluster_prefetch(fa_redis_t *rs)
{
    if (rs && rs->conf.cluster) {
        (void)cluster_refresh(rs, 1);
    }
}

/* An idle connection to node, or a new one; *reused says which. */
static fa_redis_conn_t *node_acquire(fa_redis_t *rs, int node, int *reused,
                            fa_err_t *err)
{
    fa_redis_node_t *n = &rs->nodes[node];
    char host[FA_REDIS_HOST_MAX];
    int port;
    apr_int64_t down_until;
    fa_redis_link_t *c;
    fa_redis_conn_t *conn;

    apr_thread_mutex_lock(rs->lock);
    conn = n->idle;
    if (conn) {
        n->idle = conn->next;
        n->idle_count--;
    }
    down_until = n->down_until_ms;
    apr_cpystrn(host, n->host, sizeof(host));
    port = n->port;
    if (!conn && fa_redis_now_ms() < down_until) {
        fa_err_set(err, "store_unavailable", "redis cluster node %s:%d was "
                   "unreachable a moment ago (%s); not trying again yet",
                   host, port, n->down_why);
    }
    apr_thread_mutex_unlock(rs->lock);
    *reused = conn != NULL;
    if (conn) {
        if (fa_redis_track_register(rs, conn, err)) {
            return conn;
        }
        /* closed unused (a late answer would be read as the next
         * command's); a new connection instead */
        fa_redis_release(rs, conn, 1);
        *reused = 0;
    }
    if (fa_redis_now_ms() < down_until) {
        return NULL;
    }
    c = fa_redis_connect(rs, host, port, err);
    if (!c || !fa_redis_prepare(rs, c, err)
        || !(conn = malloc(sizeof(*conn)))) {
        if (c) {
            fa_redis_link_close(c);
        }
        apr_thread_mutex_lock(rs->lock);
        n->down_until_ms = fa_redis_now_ms() + FA_REDIS_BACKOFF_MS;
        apr_cpystrn(n->down_why, err->desc, sizeof(n->down_why));
        apr_thread_mutex_unlock(rs->lock);
        return NULL;
    }
    memset(conn, 0, sizeof(*conn));
    conn->c = c;
    conn->node = node;
    if (!fa_redis_track_register(rs, conn, err)) {
        fa_redis_release(rs, conn, 1);
        return NULL;
    }
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

static int all_digits(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return len > 0;
}

int fa_redis_redirect_parse(const char *msg, char *host, apr_size_t host_len,
                            int *port)
{
    const char *slot, *addr, *colon, *hs, *he;
    long v;

    if (!strncmp(msg, "MOVED ", 6)) {
        slot = msg + 6;
    }
    else if (!strncmp(msg, "ASK ", 4)) {
        slot = msg + 4;
    }
    else {
        return 0;
    }
    if (!(addr = strchr(slot, ' ')) || !all_digits(slot, (apr_size_t)(addr
                                                                 - slot))
        || addr - slot > 5 || atoi(slot) >= FA_REDIS_SLOTS) {
        return 0;
    }
    addr++;
    if (!(colon = strrchr(addr, ':')) || !all_digits(colon + 1,
                                                     strlen(colon + 1))
        || strlen(colon + 1) > 5) {
        return 0;
    }
    v = strtol(colon + 1, NULL, 10);
    hs = addr;
    he = colon;
    if (he > hs && *hs == '[') {
        if (he[-1] != ']') {
            return 0;
        }
        hs++;
        he--;
    }
    if (v < 1 || v > 65535 || (apr_size_t)(he - hs) >= host_len
        || memchr(hs, ' ', (apr_size_t)(he - hs))
        || memchr(hs, '[', (apr_size_t)(he - hs))
        || memchr(hs, ']', (apr_size_t)(he - hs))) {
        return 0;
    }
    memcpy(host, hs, (apr_size_t)(he - hs));
    host[he - hs] = '\0';
    *port = (int)v;
    return 1;
}

/* The node a MOVED or ASK error names (added to the table), or -1. An
 * empty host means the host of the node that said it. */
static int redirect_target(fa_redis_t *rs, const char *msg, int from)
{
    char host[FA_REDIS_HOST_MAX];
    int port, node;

    if (!fa_redis_redirect_parse(msg, host, sizeof(host), &port)) {
        return -1;
    }
    apr_thread_mutex_lock(rs->lock);
    if (!*host) {
        apr_cpystrn(host, rs->nodes[from].host, sizeof(host));
    }
    node = node_find_add(rs, host, port);
    apr_thread_mutex_unlock(rs->lock);
    return node;
}

/* The owner of slot after a failure at node: a fresh map's, when it
 * names another node; else -1. */
static int owner_after_failure(fa_redis_t *rs, unsigned int slot, int node)
{
    int now_owner;

    cluster_refresh(rs, 0);
    now_owner = slot_owner(rs, slot);
    return now_owner != node ? now_owner : -1;
}

/* ASKING (when ask: it holds for the next command on this connection),
 * then the command; its reply or NULL (err, *timed_out). */
static redisReply *send_on(fa_redis_conn_t *conn, int ask, int argc,
                           const char **argv, const size_t *lens,
                           apr_size_t max, int *timed_out, fa_err_t *err)
{
    const char *asking[1] = { "ASKING" };
    redisReply *reply;

    *timed_out = 0;
    if (ask) {
        reply = fa_redis_run(conn->c, 1, asking, NULL, FA_REDIS_REPLY_SMALL,
                             timed_out, err);
        if (!reply) {
            return NULL;
        }
        freeReplyObject(reply);
    }
    return fa_redis_run(conn->c, argc, argv, lens, max, timed_out, err);
}

/* A node that did not answer in time: no new connects for a moment. */
static void node_hung(fa_redis_t *rs, int node, const fa_err_t *err)
{
    apr_thread_mutex_lock(rs->lock);
    rs->nodes[node].down_until_ms = fa_redis_now_ms() + FA_REDIS_BACKOFF_MS;
    apr_cpystrn(rs->nodes[node].down_why, err->desc,
                sizeof(rs->nodes[node].down_why));
    apr_thread_mutex_unlock(rs->lock);
}

/* A MOVED or ASK reply from node (conn goes back, reply is freed): the
 * node to go to next, or -1 (err set). MOVED corrects the map (and has
 * the rest fetched again: other slots may have moved too); ASK does not
 * and sets *ask. */
static int follow(fa_redis_t *rs, fa_redis_conn_t *conn, redisReply *reply,
                  int node, unsigned int slot, const char *cmd, int *ask,
                  fa_err_t *err)
{
    int moved = reply->str[0] == 'M';
    int to = redirect_target(rs, reply->str, node);

    fa_redis_release(rs, conn, 0);
    if (to < 0) {
        fa_err_set(err, "store_unavailable", "redis %s: %.200s (cannot "
                   "follow)", cmd, reply->str);
    }
    freeReplyObject(reply);
    if (to >= 0 && moved) {
        apr_thread_mutex_lock(rs->lock);
        if (rs->slot_node[slot] != (unsigned char)to) {
            __atomic_store_n(&rs->slot_node[slot], (unsigned char)to,
                             __ATOMIC_RELAXED);
            rs->nodes[to].master = 1;
            fa_redis_track_remapped(rs);
        }
        apr_thread_mutex_unlock(rs->lock);
        cluster_refresh(rs, 0);
    }
    if (to >= 0 && !moved) {
        /* a slot being migrated: the node that answers may not be one
         * whose listener vouches for what it sends */
        apr_thread_mutex_lock(rs->lock);
        fa_redis_track_remapped(rs);
        apr_thread_mutex_unlock(rs->lock);
    }
    *ask = !moved;
    return to;
}

/* Any other error reply from node (conn goes back, reply is freed; err
 * set): the node to try instead, or -1 to give up. */
static int refused(fa_redis_t *rs, fa_redis_conn_t *conn, redisReply *reply,
                   int node, unsigned int slot, const char *cmd,
                   fa_err_t *err)
{
    int moved_on = fa_redis_moved_on(reply);

    fa_err_set(err, "store_unavailable", "redis %s: %.200s", cmd,
               reply->str);
    if (!moved_on && (!strncmp(reply->str, "CLUSTERDOWN", 11)
                      || !strncmp(reply->str, "TRYAGAIN", 8))) {
        cluster_refresh(rs, 0);
    }
    freeReplyObject(reply);
    fa_redis_release(rs, conn, moved_on);
    /* a node that no longer serves us (a former master that came back
     * as a replica, one still loading): its slot's new owner */
    return moved_on ? owner_after_failure(rs, slot, node) : -1;
}

static int is_redirect(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR
           && (!strncmp(reply->str, "MOVED ", 6)
               || !strncmp(reply->str, "ASK ", 4));
}

/* Runs a command on the master that serves its key's slot, following
 * MOVED (the map is corrected) and ASK (ASKING first, the map is not),
 * at most FA_REDIS_CLUSTER_REDIRECTS times. A broken pooled connection is
 * replaced once; when a node cannot be reached, the map is fetched again
 * (a fail-over may have moved its slots) and the command goes to the new
 * owner. */
apr_status_t fa_redis_cluster_command(fa_redis_t *rs, int argc,
                                      const char **argv, const size_t *lens,
                                      apr_size_t max, redisReply **preply,
                                      fa_err_t *err)
{
    const char *key;
    apr_size_t klen;
    unsigned int slot;
    int node = -1, ask = 0, hop, reused, timed_out, retried = 0;
    fa_redis_conn_t *conn;
    redisReply *reply;

    *preply = NULL;
    route_key(argc, argv, lens, &key, &klen);
    slot = fa_redis_keyslot(key, klen);
    for (hop = 0; hop <= FA_REDIS_CLUSTER_REDIRECTS + 1; hop++) {
        if (node < 0 && (node = slot_owner(rs, slot)) < 0) {
            cluster_refresh(rs, 1);
            if ((node = slot_owner(rs, slot)) < 0) {
                fa_err_set(err, "store_unavailable", "redis cluster: no "
                           "node is known to serve slot %u", slot);
                return APR_EGENERAL;
            }
        }
        if (!(conn = node_acquire(rs, node, &reused, err))) {
            ask = 0;
            if ((node = owner_after_failure(rs, slot, node)) >= 0) {
                continue;
            }
            return APR_EGENERAL;
        }
        reply = send_on(conn, ask, argc, argv, lens, max, &timed_out, err);
        ask = 0;
        if (!reply) {
            fa_redis_release(rs, conn, 1);
            if (timed_out) {
                node_hung(rs, node, err);
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
        if (is_redirect(reply)) {
            if ((node = follow(rs, conn, reply, node, slot, argv[0], &ask,
                               err)) < 0) {
                return APR_EGENERAL;
            }
            continue;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            if ((node = refused(rs, conn, reply, node, slot, argv[0],
                                err)) >= 0) {
                continue;
            }
            return APR_EGENERAL;
        }
        fa_redis_release(rs, conn, 0);
        *preply = reply;
        return APR_SUCCESS;
    }
    fa_err_set(err, "store_unavailable", "redis cluster: more than %d "
               "redirects for slot %u", FA_REDIS_CLUSTER_REDIRECTS, slot);
    return APR_EGENERAL;
}

apr_status_t fa_redis_cluster_pipeline(fa_redis_t *rs, int n, int argc,
                                       const char **argv, apr_size_t max,
                                       redisReply **replies, fa_err_t *err)
{
    unsigned char node_of[FA_REDIS_PIPELINE_MAX];
    char done[FA_REDIS_PIPELINE_MAX];
    const char *sub[FA_REDIS_PIPELINE_MAX * 2];
    redisReply *got[FA_REDIS_PIPELINE_MAX];
    int at[FA_REDIS_PIPELINE_MAX];
    int i, j, m, node, reused, timed_out, moved = 0;
    fa_redis_conn_t *conn;
    apr_status_t rv = APR_SUCCESS, r;

    if (n < 1) {
        return APR_SUCCESS;
    }
    if (n > FA_REDIS_PIPELINE_MAX || argc != 2) {
        return fa_err_set(err, "store_unavailable", "redis cluster: a "
                          "pipeline of %d commands of %d arguments", n,
                          argc);
    }
    apr_thread_mutex_lock(rs->lock);
    for (i = 0; i < n; i++) {
        node_of[i] = rs->slot_node[fa_redis_keyslot(argv[i * 2 + 1],
                                                    strlen(argv[i * 2
                                                                + 1]))];
    }
    apr_thread_mutex_unlock(rs->lock);
    memset(done, 0, sizeof(done));
    /* one round trip per master, in the order first met */
    for (i = 0; i < n; i++) {
        if (done[i]) {
            continue;
        }
        if (node_of[i] == FA_REDIS_NO_NODE) {
            rv = fa_err_set(err, "store_unavailable", "redis cluster: no "
                            "node is known to serve slot %u",
                            fa_redis_keyslot(argv[i * 2 + 1],
                                             strlen(argv[i * 2 + 1])));
            continue;
        }
        node = node_of[i];
        for (m = 0, j = i; j < n; j++) {
            if (!done[j] && node_of[j] == node) {
                at[m] = j;
                sub[m * 2] = argv[j * 2];
                sub[m * 2 + 1] = argv[j * 2 + 1];
                done[j] = 1;
                m++;
            }
        }
        if (!(conn = node_acquire(rs, node, &reused, err))) {
            rv = APR_EGENERAL;
            continue;
        }
        r = fa_redis_link_pipeline(conn->c, m, 2, sub, NULL, max, got,
                                   &timed_out, err);
        fa_redis_release(rs, conn, r != APR_SUCCESS);
        if (r != APR_SUCCESS) {
            if (timed_out) {
                node_hung(rs, node, err);
            }
            rv = r;
            continue;
        }
        for (j = 0; j < m; j++) {
            replies[at[j]] = got[j];
            moved |= is_redirect(got[j]);
        }
    }
    if (moved) {
        /* a slot moved: the map is fetched again; the command is not
         * followed (whoever asked reads the key again when needed) */
        cluster_refresh(rs, 0);
    }
    return rv;
}
