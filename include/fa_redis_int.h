/* SPDX-License-Identifier: Apache-2.0 */
/* fa_redis_int.h - what the files of the Redis client share among
 * themselves, and what the unit tests call directly. Not an API for the
 * rest of the module: the glue and the other core files use fa_store.h
 * (the store, fa_store_redis_client) and fa_registry.h.
 *
 * The files, from the bottom up (docs/development.md, "The Redis store's
 * files"):
 *   fa_redis_net.c     one connection, plain or TLS (fa_redis_net.h)
 *   fa_redis_url.c     FedAuthSessionStore URLs; CRC16 and key slots
 *   fa_redis_client.c  the client: pool, Sentinel, fa_redis_command()
 *   fa_redis_cluster.c Cluster: slot map, MOVED/ASK, routing
 *   fa_redis_track.c   client-side caching: tracking, the listener
 *   fa_store_redis.c   the session store (fa_store_t) on a client
 *   fa_registry_redis.c the account registry (fa_registry_t) on a client
 *   fa_redis_stream.c  the attempt stream (XADD, XRANGE) on a client
 * Part of the httpd-free core. */
#ifndef FA_REDIS_INT_H
#define FA_REDIS_INT_H

#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <hiredis.h>
#include "fa_store.h"
#include "fa_redis_net.h"

/* Idle connections a process keeps per server. A process opens no more
 * than its threads use at once, so this bounds only a process of more
 * threads; a connection closed for want of room would end every copy the
 * process made (fa_redis_track_closing), so it is not kept small. */
#define FA_REDIS_MAX_IDLE 1024
#define FA_REDIS_SWEEP_MAX 64
#define FA_REDIS_SWEEP_MS 200
#define FA_REDIS_BACKOFF_MS 1000
/* With Sentinel, how often the master is asked for again while there is
 * traffic: an old master stays writable for a while after a fail-over, so
 * waiting for an error is not enough. */
#define FA_REDIS_SENTINEL_CHECK_MS 1000
#define FA_REDIS_TRACK_SLOTS 65536     /* a power of two */
/* The most a reply may take, by what was asked: a value (GET) can be no
 * larger than the store ever writes; an index holds at most
 * FA_STORE_INDEX_MAX short keys; everything else is a status, a number or
 * a short error. An invalidation message may name many keys (a script
 * that deleted a user's sessions). Beyond these the server is cut off. */
#define FA_REDIS_REPLY_VALUE (FA_STORE_MAX_VALUE + 64)
#define FA_REDIS_REPLY_INDEX (FA_STORE_INDEX_MAX * 256 + 1024)
#define FA_REDIS_REPLY_SMALL 8192
#define FA_REDIS_REPLY_LISTEN (1024 * 1024)
#define FA_REDIS_REPLY_MAP (1024 * 1024)

/* Redis Cluster: the most nodes (masters and replicas) a process keeps
 * track of, the most redirects (MOVED, ASK) one operation follows, how
 * often at most the slot map is fetched again because something failed,
 * how many nodes one fetch asks before it gives up. */
#define FA_REDIS_CLUSTER_NODES 64
#define FA_REDIS_CLUSTER_REDIRECTS 5
#define FA_REDIS_CLUSTER_MAP_MIN_MS 250
#define FA_REDIS_CLUSTER_MAP_TRIES 8
#define FA_REDIS_NO_NODE 0xff
#define FA_REDIS_HOST_MAX 256

/* The state of client-side caching (fa_redis_t.track_state). */
enum {
    FA_REDIS_TRACK_OFF = 0,
    FA_REDIS_TRACK_DOWN,
    FA_REDIS_TRACK_UP,
    FA_REDIS_TRACK_REFUSED
};

typedef struct fa_redis_conn_t fa_redis_conn_t;

/* Host copies (conf.host_copies): what the processes of a host share, in
 * memory mapped before the fork. Each process takes a voucher slot in
 * child_init; its listener moves the slot's generation on whenever it
 * goes up or down (as it moves track_epoch) and notes the time (a
 * monotonic clock) at least every LISTEN_POLL_MS while it is up. Every
 * listener counts the keys Redis names in the one shared gen array. */
#define FA_REDIS_HOST_SLOTS (1u << 20)   /* a power of two */
#define FA_REDIS_VOUCHERS 4096
typedef struct fa_redis_voucher_t {
    apr_uint32_t gen;             /* atomic */
    apr_int32_t pid;              /* its process, 0: free; atomic */
    apr_int64_t beat_ms;          /* atomic */
} fa_redis_voucher_t;
typedef struct fa_redis_shared_t {
    fa_redis_voucher_t v[FA_REDIS_VOUCHERS];
    apr_uint32_t gen[FA_REDIS_HOST_SLOTS];
} fa_redis_shared_t;

/* One node of a Cluster, with its own pool of idle connections. */
typedef struct fa_redis_node_t {
    char host[FA_REDIS_HOST_MAX];
    int port;
    fa_redis_conn_t *idle;
    int idle_count;
    apr_int64_t down_until_ms;    /* no new connects before this */
    char down_why[160];
    int master;                   /* serves slots in the map (under lock) */
    int track_state;              /* its listener: FA_REDIS_TRACK_DOWN or
                                   * _UP, atomic */
    apr_int64_t track_id;         /* its listener's CLIENT ID (under
                                   * lock) */
} fa_redis_node_t;

/* A pooled connection. */
struct fa_redis_conn_t {
    fa_redis_link_t *c;
    int node;                     /* Cluster: index into nodes, else -1 */
    unsigned int generation;      /* of the master it talks to */
    unsigned int track_epoch;     /* tracking redirected for it, or 0 */
    fa_redis_conn_t *next;
};

/* The client: one per Redis URL (and prefix, timeout, TLS files) in a
 * process; the store, the registry and the stream are built on it. */
struct fa_redis_t {
    fa_redis_conf_t conf;
    SSL_CTX *tls;                 /* rediss://: verification, client cert */
    apr_thread_mutex_t *lock;     /* guards everything below */
    fa_redis_conn_t *idle;
    int idle_count;
    char master_host[FA_REDIS_HOST_MAX];  /* Sentinel: the master found
                                           * last */
    int master_port;
    unsigned int generation;      /* + 1 each time the master changes */
    apr_int64_t checked_ms;       /* Sentinel: last look-up */
    int checking;                 /* a thread is looking up */
    apr_int64_t down_until_ms;    /* no new connects before this */
    char down_why[160];           /* why the last connect failed */
    apr_int64_t failed_ms;        /* that failure, and the last connect */
    apr_int64_t connected_ms;     /* that worked (the status page) */
    /* client-side caching; the atomics are read without the lock. With
     * a Cluster, track_state is UP while the listener thread runs, and
     * each node says whether its own listener is up. */
    int track_state;              /* FA_REDIS_TRACK_*, atomic */
    unsigned int track_epoch;     /* + 1 at each listener up or down, and
                                   * (Cluster) each change of the slot
                                   * map; atomic */
    apr_int64_t track_id;         /* the listener's CLIENT ID */
    int track_all_up;             /* Cluster: every master's listener is
                                   * up; atomic, written under lock */
    apr_uint32_t *track_gen;      /* track_mask + 1 counters, atomic */
    apr_uint32_t track_mask;
    fa_redis_shared_t *shared;    /* host copies, or NULL */
    int voucher;                  /* this process's slot in it, or -1 */
    apr_thread_t *listener;
    int stopping;                 /* atomic */
    /* Cluster (conf.cluster); under lock */
    fa_redis_node_t *nodes;       /* FA_REDIS_CLUSTER_NODES */
    int n_nodes;
    unsigned char *slot_node;     /* FA_REDIS_SLOTS: a node, or NO_NODE */
    apr_int64_t mapped_ms;        /* last fetch of the slot map */
    int mapping;                  /* a thread is fetching it */
};

/* ---- fa_redis_client.c ------------------------------------------------ */

apr_int64_t fa_redis_now_ms(void);
/* A new link to host:port with the client's TLS and timeout; NULL with
 * err set. */
fa_redis_link_t *fa_redis_connect(const fa_redis_t *rs, const char *host,
                                  int port, fa_err_t *err);
/* One command on a link; NULL with err set. *timed_out (may be NULL)
 * tells a hung server from a broken connection; max bounds the reply. */
redisReply *fa_redis_run(fa_redis_link_t *c, int argc, const char **argv,
                         const size_t *lens, apr_size_t max, int *timed_out,
                         fa_err_t *err);
/* AUTH and SELECT on a new link; 0 with err set when refused. */
int fa_redis_prepare(fa_redis_t *rs, fa_redis_link_t *c, fa_err_t *err);
/* A new connection to the server (or Sentinel's master). */
fa_redis_conn_t *fa_redis_conn_open(fa_redis_t *rs, fa_err_t *err);
/* Gives a connection back to its pool, or closes it when broken. */
void fa_redis_release(fa_redis_t *rs, fa_redis_conn_t *conn, int broken);
/* Closes the idle connections that the server closed (its `timeout`, a
 * CLIENT KILL, a restart) or wrote to unasked: at most FA_REDIS_SWEEP_MAX
 * a call. The listener calls it every FA_REDIS_SWEEP_MS, so that copies
 * of what such a connection read stop counting then, not when a request
 * next takes the connection (fa_redis_track_closing). */
void fa_redis_pool_sweep(fa_redis_t *rs);
/* A reply that says this server cannot serve us now (READONLY, LOADING,
 * MASTERDOWN). */
int fa_redis_moved_on(const redisReply *reply);
/* Runs a command (on the Cluster node that serves its key, with a
 * Cluster), with one retry on a fresh connection; its reply may take at
 * most max bytes; the caller frees it with freeReplyObject. */
apr_status_t fa_redis_command(fa_redis_t *rs, int argc, const char **argv,
                              const size_t *lens, apr_size_t max,
                              redisReply **preply, fa_err_t *err);
/* Runs n commands of argc arguments each (argv: n * argc of them, the
 * second of each its key) pipelined: one connection and one round trip
 * per server (with a Cluster, per master that serves their keys), no
 * retry and no redirect followed. replies[i] is command i's reply, each
 * at most max bytes (the caller frees it; a MOVED or an ASK stays an
 * error reply), or NULL when its server could not be asked or did not
 * answer. APR_SUCCESS when every command got a reply; else err says why
 * the last one did not. */
apr_status_t fa_redis_pipeline(fa_redis_t *rs, int n, int argc,
                               const char **argv, apr_size_t max,
                               redisReply **replies, fa_err_t *err);
/* Sentinel's answer to get-master-addr-by-name: 1 and host, port when it
 * names a master ([host, port], a port from 1 to 65535, a host shorter
 * than host_len), else 0 (nil: no such master; any other shape). */
int fa_redis_sentinel_answer(const redisReply *reply, char *host,
                             apr_size_t host_len, int *port);

/* Helpers of the files built on a client. */
const char *fa_redis_key(apr_pool_t *p, const fa_redis_t *rs,
                         const char *key);       /* prefix + key */
apr_status_t fa_redis_log_failure(const fa_err_t *err);
/* A string reply copied into p (APR_NOTFOUND for any other); frees it. */
apr_status_t fa_redis_string_reply(apr_pool_t *p, redisReply *reply,
                                   char **val, apr_size_t *len);
/* The strings of an array reply, copied into p. */
apr_array_header_t *fa_redis_reply_strings(apr_pool_t *p,
                                           const redisReply *reply);

/* ---- fa_redis_cluster.c ----------------------------------------------- */

typedef struct fa_redis_map_node_t {
    char host[FA_REDIS_HOST_MAX];
    int port;
} fa_redis_map_node_t;

/* Reads a CLUSTER SLOTS reply into owner (FA_REDIS_SLOTS indexes into
 * found, or FA_REDIS_NO_NODE) and found (masters first as they come,
 * then replicas); *n_found at most FA_REDIS_CLUSTER_NODES. An endpoint
 * with an empty host is the node asked (asked); "?" is skipped. 1 when
 * the reply is a map that covers at least one slot; 0 when it is not a
 * map at all (owner then says nothing). */
int fa_redis_map_parse(const redisReply *reply, const char *asked,
                       unsigned char *owner, fa_redis_map_node_t *found,
                       int *n_found);
/* "MOVED <slot> <host>:<port>" or "ASK ...": 1 and the node it names
 * (host without IPv6 brackets; "" when the reply names none, which means
 * the node that said it), else 0: another word, a slot that is not a
 * number below FA_REDIS_SLOTS, a port that is not a number from 1 to
 * 65535, a host of host_len bytes or more, anything after the port. */
int fa_redis_redirect_parse(const char *msg, char *host, apr_size_t host_len,
                            int *port);
/* Fetches the slot map again unless it was fetched less than
 * FA_REDIS_CLUSTER_MAP_MIN_MS ago or another thread is at it (the
 * listener, when a master's listener connection fails). */
void fa_redis_cluster_remap(fa_redis_t *rs);
/* fa_redis_pipeline on a Cluster: the commands grouped by the master
 * that serves each key's slot (replies NULL on entry). */
apr_status_t fa_redis_cluster_pipeline(fa_redis_t *rs, int n, int argc,
                                       const char **argv, apr_size_t max,
                                       redisReply **replies, fa_err_t *err);
apr_status_t fa_redis_cluster_command(fa_redis_t *rs, int argc,
                                      const char **argv, const size_t *lens,
                                      apr_size_t max, redisReply **preply,
                                      fa_err_t *err);

/* ---- fa_redis_track.c ------------------------------------------------- */

/* Redirects conn's tracking to the listener (once per listener epoch).
 * 0 (err set) when the connection failed meanwhile (no answer in time, or
 * it broke): the caller closes it, unused, since a late answer would be
 * read as its next command's. */
int fa_redis_track_register(fa_redis_t *rs, fa_redis_conn_t *conn,
                            fa_err_t *err);
/* conn is about to be closed (why, for the log line: "broken", "closed
 * by the server while idle", or "closed: <the module's reason>", logged at
 * debug). Redis drops the
 * tracking of a connection that is gone, so a key it read changes later
 * without an invalidation message: when conn was tracked in the current
 * epoch, the epoch moves on and the voucher's generation with it, and no
 * copy made before (of this process, or vouched for the host by it)
 * counts any more. */
void fa_redis_track_closing(fa_redis_t *rs, fa_redis_conn_t *conn,
                            const char *why);
/* fa_store_t.version of a store on a client (st->baton), installed
 * as it is: the one store call of an authenticated request with a copy
 * kept, so no call in between. 0 while it cannot tell. */
apr_uint32_t fa_redis_version(fa_store_t *st, const char *key);
/* fa_store_t.host_stamp and host_valid of a store on a client. */
int fa_redis_host_stamp(fa_store_t *st, const char *key,
                        fa_store_stamp_t *stamp);
int fa_redis_host_valid(fa_store_t *st, const char *key,
                        const fa_store_stamp_t *stamp);
/* With conf.host_copies: maps what the processes forked later share
 * (from fa_redis_create; unmapped with p). */
apr_status_t fa_redis_track_share(fa_redis_t *rs, apr_pool_t *p);
/* Starts the invalidation listener of this process (conf.track). */
apr_status_t fa_redis_track_start(fa_redis_t *rs, apr_pool_t *p);
/* The slot map changed, or an ASK was followed (fa_redis_cluster.c,
 * with the lock held): copies vouched for so far are not any more. */
void fa_redis_track_remapped(fa_redis_t *rs);
/* A Cluster node's listener went up or down (FA_REDIS_TRACK_UP or
 * _DOWN): the epoch moves on; takes the lock. */
void fa_redis_track_node_set(fa_redis_t *rs, int node, int state);
/* Cluster: "up" when every master's listener is up, else how many are
 * (from p); rs->track_state's name otherwise. Called with the lock held. */
const char *fa_redis_track_describe(fa_redis_t *rs, apr_pool_t *p);

#endif
