/* fa_store.h - where sessions and login state live: a table of function
 * pointers with one implementation per backend (the embedded shm store
 * in the glue, Redis in fa_store_redis.c). Keys are short ASCII strings
 * made by fa_session.c, never raw outside input.
 * Part of the httpd-free core. */
#ifndef FA_STORE_H
#define FA_STORE_H

#include <apr_pools.h>

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
    void *baton;
};

#endif
