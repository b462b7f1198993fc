/* fa_store.h - where sessions and login state live: a table of function
 * pointers with one implementation per backend (the embedded shm store
 * in the glue, Redis in fa_store_redis.c). Keys are short ASCII strings
 * made by fa_session.c, never raw outside input.
 * Part of the httpd-free core. */
#ifndef FA_STORE_H
#define FA_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "fa_util.h"

/* Largest value a store must hold. */
#define FA_STORE_MAX_VALUE (32 * 1024)

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
    /* Deletes; APR_SUCCESS also when there was nothing. */
    apr_status_t (*del)(fa_store_t *st, const char *key, apr_pool_t *p);
    /* Adds member to the set at key, which lives at least until
     * expires_at. */
    apr_status_t (*set_add)(fa_store_t *st, const char *key,
                            const char *member, apr_int64_t expires_at,
                            apr_pool_t *p);
    /* Takes (reads and deletes) the set at key: an array of const char *,
     * empty when there was none. */
    apr_status_t (*set_take)(fa_store_t *st, const char *key, apr_pool_t *p,
                             apr_array_header_t **members);
    /* Optional (NULL when the store cannot tell): a number that changes
     * whenever the value at key is written or deleted, by any process.
     * Read before a get, it says later whether a copy of what the get
     * returned is still what the store holds, with no trip to the store.
     * Different keys may share a number (a change to one then only costs
     * the other a fresh read). */
    apr_uint32_t (*version)(fa_store_t *st, const char *key);
    void *baton;
};

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
    const char *prefix;           /* key prefix, "fedauth:" by default */
    int timeout_ms;               /* connect and each command */
} fa_redis_conf_t;

/* Parses redis://[user:password@]host[:port][/db] or
 * redis-sentinel://[user:password@]host:port[,host:port...]/master[/db]
 * (the credentials are the master's). NULL on success, else why not. */
const char *fa_redis_parse(apr_pool_t *p, const char *spec,
                           fa_redis_conf_t *conf);

/* A Redis store. Connections are made on first use and kept for reuse
 * (one per concurrent user, returned after each operation); a broken one
 * is dropped and the operation tried once more on a fresh connection.
 * With Sentinel, the master is looked up again whenever a connection
 * fails or the server no longer takes writes. After a failed connect, new
 * connects are not tried for a second (no worker waits on a dead server
 * again and again). p must live as long as the store. Thread-safe. */
apr_status_t fa_store_redis_create(apr_pool_t *p, const fa_redis_conf_t *conf,
                                   fa_store_t **pst);

#endif
