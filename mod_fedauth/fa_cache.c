/* fa_cache.c - the per-process cache; see fa_cache.h. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "fa_cache.h"

typedef struct entry_t {
    apr_time_t until;
    apr_uint32_t tag;
    char *val;
    apr_size_t len;
    apr_size_t cap;               /* bytes at val, reused on refresh */
} entry_t;

struct fa_cache_t {
    apr_thread_mutex_t *lock;
    apr_pool_t *pool;             /* unmanaged: cleared whole when full */
    apr_hash_t *map;
    unsigned int max_entries;
    apr_size_t max_bytes;
    apr_size_t bytes;             /* allocated from pool since the clear */
    unsigned long hits;
};

static apr_status_t cache_cleanup(void *data)
{
    fa_cache_t *c = data;

    if (c->pool) {
        apr_pool_destroy(c->pool);
        c->pool = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t fa_cache_create(apr_pool_t *p, unsigned int max_entries,
                             apr_size_t max_bytes, fa_cache_t **pcache)
{
    fa_cache_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv;

    *pcache = NULL;
    if ((rv = apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p))
        != APR_SUCCESS
        || (rv = apr_pool_create_unmanaged_ex(&c->pool, NULL, NULL))
           != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, c, cache_cleanup, apr_pool_cleanup_null);
    c->map = apr_hash_make(c->pool);
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    *pcache = c;
    return APR_SUCCESS;
}

char *fa_cache_get(fa_cache_t *c, const void *key, apr_size_t klen,
                   apr_time_t now, apr_uint32_t tag, apr_pool_t *p,
                   apr_size_t *len)
{
    entry_t *e;
    char *copy = NULL;

    apr_thread_mutex_lock(c->lock);
    e = apr_hash_get(c->map, key, (apr_ssize_t)klen);
    if (e && e->until > now && e->tag == tag) {
        copy = apr_palloc(p, e->len + 1);
        memcpy(copy, e->val, e->len);
        copy[e->len] = '\0';
        *len = e->len;
        c->hits++;
    }
    apr_thread_mutex_unlock(c->lock);
    return copy;
}

void fa_cache_put(fa_cache_t *c, const void *key, apr_size_t klen,
                  const char *val, apr_size_t len, apr_time_t until,
                  apr_uint32_t tag)
{
    entry_t *e;
    apr_size_t need = sizeof(*e) + klen + len + 1 + (len >> 3);

    if (need > c->max_bytes / 4) {
        return;
    }
    apr_thread_mutex_lock(c->lock);
    e = apr_hash_get(c->map, key, (apr_ssize_t)klen);
    if (e && e->cap > len) {
        need = 0;                 /* the refresh of an entry: in place */
    }
    else if (apr_hash_count(c->map) >= c->max_entries
             || c->bytes + need > c->max_bytes) {
        apr_pool_clear(c->pool);
        c->map = apr_hash_make(c->pool);
        c->bytes = 0;
        e = NULL;
    }
    if (!e) {
        e = apr_palloc(c->pool, sizeof(*e));
        e->cap = 0;
        apr_hash_set(c->map, apr_pmemdup(c->pool, key, klen),
                     (apr_ssize_t)klen, e);
    }
    if (e->cap <= len) {
        /* Some room to spare, so that a session growing by a few bytes
         * (a later last_seen) still fits next time. */
        e->cap = len + 1 + (len >> 3);
        e->val = apr_palloc(c->pool, e->cap);
    }
    memcpy(e->val, val, len);
    e->val[len] = '\0';
    e->len = len;
    e->until = until;
    e->tag = tag;
    c->bytes += need;
    apr_thread_mutex_unlock(c->lock);
}

void fa_cache_del(fa_cache_t *c, const void *key, apr_size_t klen)
{
    apr_thread_mutex_lock(c->lock);
    apr_hash_set(c->map, key, (apr_ssize_t)klen, NULL);
    apr_thread_mutex_unlock(c->lock);
}

unsigned long fa_cache_hits(const fa_cache_t *c)
{
    return c->hits;
}

apr_size_t fa_cache_bytes(const fa_cache_t *c)
{
    return c->bytes;
}
