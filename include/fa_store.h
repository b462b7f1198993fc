/* SPDX-License-Identifier: Apache-2.0 */
/* fa_store.h - where sessions and login state live: a table of function
 * pointers with one implementation per backend (the embedded shm store
 * in fa_store_shm.c, Redis in fa_store_redis.c), and the index rule they
 * share (fa_store.c). Keys are short ASCII strings made by fa_session.c,
 * never raw outside input. Part of the httpd-free core. */
#ifndef FA_STORE_H
#define FA_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "fa_util.h"

/* Largest value a store must hold. */
#define FA_STORE_MAX_VALUE (32 * 1024)
/* Most members an index may be asked to keep (FedAuthMaxSessionsPerUser). */
#define FA_STORE_INDEX_MAX 1000

/* The most keys one fa_store_t.get_stamped reads. */
#define FA_STORE_STAMPED_MAX 256

/* The bytes fa_store_t.get_head shows its head function. */
#define FA_STORE_HEAD_PROBE 16

/* A copy's stamp for the host (fa_store_t.host_stamp): what lets any
 * process of the host tell later whether a copy made by another is still
 * what the store holds. Stored with the copy; opaque to its keeper. */
typedef struct fa_store_stamp_t {
    apr_uint32_t gen;             /* the key's counter */
    apr_uint32_t voucher;         /* who vouches for the copy */
    apr_uint32_t vgen;            /* and its generation then */
    apr_uint32_t spare;           /* 0 */
} fa_store_stamp_t;

typedef struct fa_store_t fa_store_t;
struct fa_store_t {
    const char *name;   /* "shm", "redis", ... for log lines */
    /* APR_SUCCESS and the value (NUL-terminated, from p); APR_NOTFOUND
     * when absent or expired; anything else: the store is unavailable. */
    apr_status_t (*get)(fa_store_t *st, const char *key, apr_pool_t *p,
                        char **val, apr_size_t *len);
    /* Stores a value that expires at expires_at (seconds since epoch). */
    apr_status_t (*put)(fa_store_t *st, const char *key, const char *val,
                        apr_size_t len, apr_int64_t expires_at,
                        apr_pool_t *p);
    /* get and delete in one atomic step: a value is taken at most once. */
    apr_status_t (*take)(fa_store_t *st, const char *key, apr_pool_t *p,
                         char **val, apr_size_t *len);
    /* Stores a value only when key holds none (or an expired one): a
     * short lock across processes and hosts. APR_EEXIST when key holds a
     * value; anything else but APR_SUCCESS: the store is unavailable. */
    apr_status_t (*add)(fa_store_t *st, const char *key, const char *val,
                        apr_size_t len, apr_int64_t expires_at,
                        apr_pool_t *p);
    /* Deletes; APR_SUCCESS also when there was nothing. */
    apr_status_t (*del)(fa_store_t *st, const char *key, apr_pool_t *p);
    /* Deletes key only while it holds exactly val (len bytes), in one
     * atomic step: releases a lock taken with add under a value only its
     * taker knows, never a lock someone else took after this one expired.
     * APR_SUCCESS whether or not it deleted; anything else: the store is
     * unavailable. */
    apr_status_t (*del_if)(fa_store_t *st, const char *key, const char *val,
                           apr_size_t len, apr_pool_t *p);
    /* An index: the store keys of the sessions of one user (or one IdP
     * session), oldest first. index_add appends member to the index at
     * key, which lives at least until expires_at. Members whose key is no
     * longer in the store leave the index; when more than max remain, the
     * oldest are removed from it and their keys deleted from the store,
     * and come back in *dropped (an array of const char *, from p; never
     * NULL on success). An index thus stays within max members. */
    apr_status_t (*index_add)(fa_store_t *st, const char *key,
                              const char *member, apr_int64_t expires_at,
                              int max, apr_pool_t *p,
                              apr_array_header_t **dropped);
    /* Takes (reads and deletes) the index at key: an array of const
     * char *, empty when there was none. */
    apr_status_t (*index_take)(fa_store_t *st, const char *key,
                               apr_pool_t *p, apr_array_header_t **members);
    /* Optional (NULL when the store cannot tell): a number that changes
     * whenever the value at key is written or deleted, by any process or
     * host. Read before a get, it says later whether a copy of what the
     * get returned is still what the store holds, with no trip to the
     * store. Different keys may share a number (a change to one then only
     * costs the other a fresh read). 0 means it cannot tell right now
     * (Redis without its invalidation listener): a copy is then only good
     * for a short, fixed time. */
    apr_uint32_t (*version)(fa_store_t *st, const char *key);
    /* Optional (NULL: use get): get, but only the value's head when the
     * value says how long its head is. head is given the value's first
     * FA_STORE_HEAD_PROBE bytes (all of a shorter value) and answers the
     * head's length, 0 for the whole value. *whole: 0 when only the head
     * came (NUL-terminated at *len), else 1. */
    apr_status_t (*get_head)(fa_store_t *st, const char *key, apr_pool_t *p,
                             apr_size_t (*head)(const char *v, apr_size_t n),
                             char **val, apr_size_t *len, int *whole);
    /* Optional (NULL: no copies shared by a host's processes). Read
     * before a get, like version: 1 and *stamp when this process can
     * vouch for a copy of what the get returns, kept where every process
     * of the host reads it; 0 when it cannot now. host_valid answers, in
     * any process of the host, while a copy so stamped is still what the
     * store holds (the key has not changed and whoever vouched still
     * hears of changes, within FA_REDIS_BEAT_MS), for how many more
     * milliseconds at least (1 to FA_REDIS_BEAT_MS: until whoever vouched
     * must show again that it hears); 0 when it is not. A copy taken from
     * it must not be trusted for longer without asking again. */
    int (*host_stamp)(fa_store_t *st, const char *key,
                      fa_store_stamp_t *stamp);
    int (*host_valid)(fa_store_t *st, const char *key,
                      const fa_store_stamp_t *stamp);
    /* Optional (with host_stamp): the values of n keys (1 to
     * FA_STORE_STAMPED_MAX) read at once, one round trip per server, each
     * behind the stamp taken before it was read (as host_stamp before a
     * get): what renews the host's copies. For key i, each[i] is
     * APR_SUCCESS with vals[i] (NUL-terminated, from p), lens[i] and
     * stamps[i]; APR_NOTFOUND when it holds nothing; anything else when it
     * was not read (no stamp could be taken, its server did not answer).
     * Returns APR_SUCCESS unless some key was not read. */
    apr_status_t (*get_stamped)(fa_store_t *st, int n,
                                const char *const *keys, apr_pool_t *p,
                                char **vals, apr_size_t *lens,
                                fa_store_stamp_t *stamps,
                                apr_status_t *each);
    /* How long (ms) a process may keep a copy by default while version
     * vouches for it. 0: a copy would be no faster than the store itself
     * (shm), so by default none is made and version is not asked. */
    int copy_ms;
    /* Optional: run in each process that will use the store (after the
     * fork), e.g. to start a thread. */
    apr_status_t (*child_init)(fa_store_t *st, apr_pool_t *p);
    void *baton;
    /* A store that wraps another and passes its calls on (the metrics'
     * counting store) names it here; NULL for a backend. What is built on
     * a backend's own interface (fa_store_redis_client) looks through. */
    fa_store_t *inner;
};

/* The rule of index_add, decided here for every backend: of members (the
 * index as it is, oldest first), those whose key is gone (alive answers
 * 0) leave it (plan->gone); member goes (back) to the end; when more than
 * max remain, the oldest leave and their keys are to be deleted
 * (plan->dropped, oldest first); plan->keep is the index after the add,
 * oldest first, member last. alive answers 1 (the key is there), 0 (it
 * is not) or -1 (cannot tell: the store is unavailable), and is asked
 * once per member but member itself. APR_EINVAL when max is not from 1
 * to FA_STORE_INDEX_MAX; APR_EGENERAL when alive said -1. The arrays are
 * of const char *, from p, never NULL. */
typedef int fa_store_alive_fn(void *baton, const char *member);
typedef struct fa_store_index_plan_t {
    apr_array_header_t *keep;
    apr_array_header_t *gone;
    apr_array_header_t *dropped;
} fa_store_index_plan_t;
apr_status_t fa_store_index_plan(apr_pool_t *p,
                                 const apr_array_header_t *members,
                                 const char *member, int max,
                                 fa_store_alive_fn *alive, void *baton,
                                 fa_store_index_plan_t *plan);

/* ---- the embedded store: shared memory of one host ------------------ */

/* What the embedded store has to say, each at most once a minute across
 * all processes that share it (and FA_SHM_RESET whenever it happens). */
typedef enum {
    FA_SHM_FULL,       /* entries were evicted to make room */
    FA_SHM_HIGH,       /* more than 90% of the blocks are in use */
    FA_SHM_RESET,      /* a process died holding the lock: emptied */
    FA_SHM_PREFAULT    /* this child has mapped the used part (prefault_*),
                        * once per child, from a thread of its own */
} fa_shm_event_t;

typedef struct fa_shm_stats_t {
    apr_size_t size;              /* bytes of the segment */
    apr_uint32_t blocks;          /* blocks for entries, and in use */
    apr_uint32_t blocks_used;
    apr_uint32_t entries;         /* all entries, and sessions ("s:" keys) */
    apr_uint32_t sessions;
    apr_uint64_t evicted;         /* entries dropped for room, ever */
    apr_uint64_t evicted_recent;  /* since the last FA_SHM_FULL */
    apr_int64_t evicted_idle;     /* shortest idle time (s) among those */
    apr_uint64_t expired;         /* expired entries removed, ever */
    apr_uint64_t resets;
    apr_size_t prefault_bytes;    /* FA_SHM_PREFAULT: mapped, of span */
    apr_size_t prefault_span;
    apr_int64_t prefault_us;      /* how long it took */
    int prefault_errno;           /* why it stopped short (0: it did not) */
} fa_shm_stats_t;

typedef void fa_shm_notify_fn(void *baton, fa_shm_event_t ev,
                              const fa_shm_stats_t *stats);

typedef struct fa_shm_conf_t {
    const char *path;             /* file to map, created mode 0600; NULL:
                                   * anonymous memory, shared only with
                                   * processes forked later */
    apr_size_t size;              /* bytes, 256 KiB to 4 GiB */
    fa_shm_notify_fn *notify;     /* may be NULL; called outside the lock */
    void *baton;
} fa_shm_conf_t;

/* Bytes per block; what a block takes of the segment with its link (its
 * successor, and the second it was last used); and what one entry with a
 * key of klen bytes and a value of vlen bytes takes, for sizing. */
#define FA_SHM_BLOCK 128
#define FA_SHM_BLOCK_BYTES (FA_SHM_BLOCK + 8)
apr_size_t fa_store_shm_entry_bytes(apr_size_t klen, apr_size_t vlen);

/* Opens the embedded store: maps the file at conf->path, taking over what
 * it holds when it was made for this size by this version of the code
 * (*reused = 1: sessions outlive a restart of httpd), else a new file in
 * its place (a process that still maps the old one keeps it to itself).
 * Call before forking the processes that use it. The mapping ends with
 * p. Errors say which system call failed on what. */
apr_status_t fa_store_shm_open(apr_pool_t *p, const fa_shm_conf_t *conf,
                               fa_store_t **pst, int *reused, fa_err_t *err);
/* A snapshot of the counters (takes the lock). */
void fa_store_shm_stats(fa_store_t *st, fa_shm_stats_t *out);
/* How many entries with keys of klen and values of vlen bytes the store
 * holds when it holds nothing else. */
apr_uint32_t fa_store_shm_capacity(fa_store_t *st, apr_size_t klen,
                                   apr_size_t vlen);
/* The copies due for renewal in a store of copies (the host's copies of
 * sessions, FedAuthSessionHostCache): walks its entries (but login
 * state) from the one that took its place longest ago, over those that
 * took it at or before placed_by (the second before now at the latest),
 * at most max * 4 of them. Each takes
 * its place again (so that no walk gives it again before the next turn);
 * one used (made, or read) at or after used_since has its key added to
 * keys (const char *, from p); one not used since is left to end at its
 * time; an expired one is removed. Returns how many keys it added (at
 * most max). */
int fa_store_shm_due(fa_store_t *st, apr_int64_t placed_by,
                     apr_int64_t used_since, int max, apr_pool_t *p,
                     apr_array_header_t *keys);
/* A renewed copy: put, but the entry keeps the second its key was last
 * used (a renewal is not a use), so that a copy nobody uses any more is
 * renewed only while that second is recent enough. */
apr_status_t fa_store_shm_renew(fa_store_t *st, const char *key,
                                const char *val, apr_size_t len,
                                apr_int64_t expires_at);
/* For tests: takes the store's lock and keeps it, so that a process that
 * exits then shows what a crash while holding it does. */
void fa_store_shm_hold_lock(fa_store_t *st);

/* ---- Redis ------------------------------------------------------------ */

typedef struct fa_redis_host_t {
    const char *host;
    int port;
} fa_redis_host_t;

typedef struct fa_redis_conf_t {
    apr_array_header_t *hosts;    /* fa_redis_host_t: the server, or the
                                   * sentinels */
    const char *master_name;      /* with Sentinel: the master's name */
    const char *user;             /* AUTH user (ACL), or NULL */
    const char *password;         /* AUTH password, or NULL */
    int db;                       /* SELECT, 0 by default */
    int cluster;                  /* redis[s]-cluster://: hosts are seeds */
    const char *prefix;           /* key prefix, "fedauth:" by default */
    int timeout_ms;               /* connect, TLS handshake, each command */
    int track;                    /* client-side caching (see below) */
    int host_copies;              /* with track: the keys' counters are
                                   * shared by the processes forked after
                                   * fa_store_redis_create, and the store
                                   * stamps copies for all of them
                                   * (host_stamp, host_valid) */
    /* TLS (rediss://, rediss-sentinel://: the sentinels and the master) */
    int tls;
    const char *ca_file;          /* PEM CAs; NULL: the system's store */
    const char *cert_file;        /* client certificate (PEM), or NULL */
    const char *key_file;         /* its key; NULL: in cert_file */
    const char *server_name;      /* name the server certificates must
                                   * carry; NULL: the host connected to */
} fa_redis_conf_t;

/* Parses redis://[user:password@]host[:port][/db] or
 * redis-sentinel://[user:password@]host:port[,host:port...]/master[/db]
 * (the credentials are the master's) or
 * redis-cluster://[user:password@]host[:port][,host[:port]...][/0]
 * (seed nodes of a Redis Cluster, conf->cluster; only db 0), and the same
 * with rediss://, rediss-sentinel:// and rediss-cluster:// for TLS
 * (conf->tls). At most FA_REDIS_MAX_HOSTS hosts. NULL on success, else
 * why not. */
#define FA_REDIS_MAX_HOSTS 32
const char *fa_redis_parse(apr_pool_t *p, const char *spec,
                           fa_redis_conf_t *conf);

/* Redis Cluster: the slot of a key (CRC16 of the key, or of its hash tag,
 * the part between the first '{' and the next '}' when that is not
 * empty, modulo 16384), and the CRC16 itself (XMODEM), for tests. */
#define FA_REDIS_SLOTS 16384
unsigned int fa_redis_keyslot(const char *key, apr_size_t len);
unsigned int fa_redis_crc16(const char *buf, apr_size_t len);

/* A Redis client: what the Redis store, registry and stream are built on
 * (include/fa_redis_int.h lists its files). One per Redis URL in a
 * process; thread-safe. */
typedef struct fa_redis_t fa_redis_t;

/* Makes a client from conf (see fa_store_redis_create); p must live as
 * long as the client. */
apr_status_t fa_redis_create(apr_pool_t *p, const fa_redis_conf_t *conf,
                             fa_redis_t **prs);

/* A Redis store on a client of its own. With conf->tls, the TLS context
 * is made here (the CA
 * file, the client certificate and key are read now); a failure is
 * logged and returned. Connections are made on first use and kept for reuse
 * (one per concurrent user, returned after each operation); a broken one
 * is dropped and the operation tried once more on a fresh connection.
 * With Sentinel, the master is looked up again whenever a connection
 * fails or the server no longer takes writes. After a failed connect, new
 * connects are not tried for a second (no worker waits on a dead server
 * again and again). With a Cluster (conf->cluster), each process keeps
 * a map of slots to masters (CLUSTER SLOTS from a seed or a known node,
 * fetched again on MOVED and when a node fails), a pool per node, follows
 * MOVED and ASK at most 5 times per operation, runs index_add in
 * single-key steps (keys of several slots), and keeps one invalidation
 * listener connection per master (version() is 0 while any master's
 * listener is down). p must live as long as the store.
 * Thread-safe. */
apr_status_t fa_store_redis_create(apr_pool_t *p, const fa_redis_conf_t *conf,
                                   fa_store_t **pst);
/* The client a store is built on when fa_store_redis_create made it (or
 * made the store it wraps, fa_store_t.inner); NULL for any other store
 * (shm, a test's): decided by construction, not by the store's name. */
fa_redis_t *fa_store_redis_client(const fa_store_t *st);

/* A Cluster's slot map, asked for now (nothing for one Redis or
 * Sentinel): a process forked after this call (each of httpd's children)
 * then knows every node the Cluster had, not only the configured seeds,
 * so one whose first request comes after its only seed died still finds
 * the others. Bounded like any fetch of the map; opens no connection
 * that outlives the call. */
void fa_redis_cluster_prefetch(fa_redis_t *rs);
/* Client-side caching: after child_init, a thread of each process keeps a
 * connection subscribed to Redis's invalidation messages (CLIENT TRACKING,
 * Redis 6 or later), and version() vouches for a copy until Redis says its
 * key changed. While that connection is down, or where Redis refuses
 * tracking (an older server, an ACL without CLIENT), version() is 0. */
#define FA_REDIS_COPY_MS 60000
/* With host copies: a process's listener shows it is up at least every
 * 200 ms; a copy it vouched for counts no more once it has not done so
 * for this long (a process stopped, killed, or stuck in a connect). */
#define FA_REDIS_BEAT_MS 1000

/* What a Redis store's process knows of its servers, for the status page
 * (no round trip, no credentials): its kind ("redis", "redis-sentinel",
 * "redis-cluster"), TLS, and one entry per server it knows: the
 * configured server, the sentinels and the master they named last, or
 * the Cluster nodes of this process's slot map. */
typedef struct fa_redis_node_state_t {
    const char *host;
    int port;
    const char *role;             /* "server", "sentinel", "master", "seed",
                                   * "node" */
    int slots;                    /* Cluster: slots it owns in the map */
    int down;                     /* 1: the last connect failed (a Cluster
                                   * node: within the last second) */
    const char *why;              /* the last connect failure, or NULL */
} fa_redis_node_state_t;

typedef struct fa_redis_state_t {
    const char *kind;
    int tls;
    const char *master_name;      /* Sentinel, or NULL */
    int db;
    const char *tracking;         /* "off", "down", "up", "refused" */
    int idle;                     /* pooled connections of this process */
    apr_array_header_t *nodes;    /* fa_redis_node_state_t */
} fa_redis_state_t;

/* Fills out (from p) for a client; APR_EINVAL when rs is NULL. */
apr_status_t fa_redis_state(fa_redis_t *rs, apr_pool_t *p,
                            fa_redis_state_t *out);

/* A capped stream on a client (FedAuthAttemptStream, fa_redis_stream.c):
 * XADD of one entry with field "a" = line to <prefix><key>, trimmed to
 * exactly maxlen entries (MAXLEN); APR_EINVAL when rs is NULL. */
apr_status_t fa_redis_stream_add(fa_redis_t *rs, const char *key,
                                 int maxlen, const char *line,
                                 apr_size_t len, apr_pool_t *p);
/* The oldest max entries' lines (XRANGE - + COUNT max), oldest first. */
apr_status_t fa_redis_stream_read(fa_redis_t *rs, const char *key,
                                  int max, apr_pool_t *p,
                                  apr_array_header_t **lines);

#endif
