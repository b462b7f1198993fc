/* SPDX-License-Identifier: Apache-2.0 */
/* fa_cache.h - a small per-process cache: short binary keys to byte
 * values with an expiry, bounded in entries and bytes. A new key takes the
 * place of the entry that expires first among the few it may share a
 * place with (never a bulk drop, no ageing bookkeeping on the request
 * path); a cache in steady use allocates nothing. Thread-safe. Values are
 * copied in and out.
 * Part of the httpd-free core. */
#ifndef FA_CACHE_H
#define FA_CACHE_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct fa_cache_t fa_cache_t;

/* p must live as long as the cache; the entries live in a pool of their
 * own. */
apr_status_t fa_cache_create(apr_pool_t *p, unsigned int max_entries,
                             apr_size_t max_bytes, fa_cache_t **pcache);

/* A copy (NUL-terminated, from p) of the value of key when it is there,
 * not expired at now, and was stored with this tag; NULL otherwise. The
 * tag lets a caller tie a copy to something that says whether it is
 * still good (the shm store's change counter); 0 when nothing does. */
char *fa_cache_get(fa_cache_t *c, const void *key, apr_size_t klen,
                   apr_time_t now, apr_uint32_t tag, apr_pool_t *p,
                   apr_size_t *len);

/* Stores a copy of val under key until until. A value that fits the
 * buffer of the place it goes to reuses it: a cache refreshed every
 * second does not grow. One over a quarter of max_bytes is not kept, nor
 * any that would take the cache over max_bytes. */
void fa_cache_put(fa_cache_t *c, const void *key, apr_size_t klen,
                  const char *val, apr_size_t len, apr_time_t until,
                  apr_uint32_t tag);

void fa_cache_del(fa_cache_t *c, const void *key, apr_size_t klen);

/* Bytes of the buffers the cache holds. */
apr_size_t fa_cache_bytes(const fa_cache_t *c);

/* Lookups answered from the cache so far. */
unsigned long fa_cache_hits(const fa_cache_t *c);

#endif
