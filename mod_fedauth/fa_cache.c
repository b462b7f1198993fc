/* SPDX-License-Identifier: Apache-2.0 */
/* fa_cache.c - the per-process cache; see fa_cache.h.
 *
 * A two-way set-associative table: a key hashes to a set of two slots and
 * can live in either. A new key takes an empty slot of its set, else the
 * one whose entry expires first. Each slot keeps its buffer (key, value,
 * NUL) for the next entry that fits, so a cache in steady use allocates
 * nothing. Sets are guarded by a few striped locks, so threads that look
 * up different sessions seldom wait for each other. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "fa_cache.h"

#define WAYS 2
#define STRIPES 32                /* a power of two */

typedef struct slot_t {
    apr_uint32_t hash;
    apr_uint32_t tag;
    apr_time_t until;
    apr_size_t klen;              /* 0: empty */
    apr_size_t len;
    apr_size_t cap;               /* bytes at buf */
    char *buf;                    /* key, then value and a NUL */
} slot_t;

struct fa_cache_t {
    apr_thread_mutex_t *locks[STRIPES];
    slot_t *slots;                /* nsets * WAYS */
    apr_uint32_t nsets;           /* a power of two */
    apr_size_t max_bytes;
    apr_size_t bytes;             /* buffers, atomically */
    unsigned long hits;           /* atomically */
};

static apr_status_t cache_cleanup(void *data)
{
    fa_cache_t *c = data;
    apr_uint32_t i;

    for (i = 0; c->slots && i < c->nsets * WAYS; i++) {
        free(c->slots[i].buf);
        c->slots[i].buf = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t fa_cache_create(apr_pool_t *p, unsigned int max_entries,
                             apr_size_t max_bytes, fa_cache_t **pcache)
{
    fa_cache_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv;
    int i;

    *pcache = NULL;
    c->nsets = 1;
    while (c->nsets * WAYS < max_entries && c->nsets < (1u << 24)) {
        c->nsets <<= 1;
    }
    for (i = 0; i < STRIPES; i++) {
        if ((rv = apr_thread_mutex_create(&c->locks[i],
                                          APR_THREAD_MUTEX_DEFAULT, p))
            != APR_SUCCESS) {
            return rv;
        }
    }
    c->slots = apr_pcalloc(p, sizeof(slot_t) * c->nsets * WAYS);
    c->max_bytes = max_bytes;
    apr_pool_cleanup_register(p, c, cache_cleanup, apr_pool_cleanup_null);
    *pcache = c;
    return APR_SUCCESS;
}

static apr_uint32_t hash_of(const void *key, apr_size_t klen)
{
    const unsigned char *k = key;
    apr_uint32_t h = 2166136261u;    /* FNV-1a */
    apr_size_t i;

    for (i = 0; i < klen; i++) {
        h = (h ^ k[i]) * 16777619u;
    }
    return h;
}

/* The set of hash h and its lock. */
static slot_t *set_of(fa_cache_t *c, apr_uint32_t h,
                      apr_thread_mutex_t **lock)
{
    apr_uint32_t set = h & (c->nsets - 1);

    *lock = c->locks[set & (STRIPES - 1)];
    return &c->slots[set * WAYS];
}

static int holds(const slot_t *s, apr_uint32_t h, const void *key,
                 apr_size_t klen)
{
    return s->klen == klen && s->hash == h && !memcmp(s->buf, key, klen);
}

char *fa_cache_get(fa_cache_t *c, const void *key, apr_size_t klen,
                   apr_time_t now, apr_uint32_t tag, apr_pool_t *p,
                   apr_size_t *len)
{
    apr_uint32_t h = hash_of(key, klen);
    apr_thread_mutex_t *lock;
    slot_t *set = set_of(c, h, &lock);
    char *copy = NULL;
    int w;

    apr_thread_mutex_lock(lock);
    for (w = 0; w < WAYS; w++) {
        slot_t *s = &set[w];
        if (holds(s, h, key, klen)) {
            if (s->until > now && s->tag == tag) {
                copy = apr_palloc(p, s->len + 1);
                memcpy(copy, s->buf + klen, s->len + 1);
                *len = s->len;
            }
            break;
        }
    }
    apr_thread_mutex_unlock(lock);
    if (copy) {
        __atomic_add_fetch(&c->hits, 1, __ATOMIC_RELAXED);
    }
    return copy;
}

/* The slot a put of key goes to: the one holding it, an empty one, else
 * the one that expires first. */
static slot_t *victim(slot_t *set, apr_uint32_t h, const void *key,
                      apr_size_t klen)
{
    slot_t *pick = NULL;
    int w;

    for (w = 0; w < WAYS; w++) {
        if (holds(&set[w], h, key, klen)) {
            return &set[w];
        }
    }
    for (w = 0; w < WAYS; w++) {
        if (!set[w].klen) {
            return &set[w];
        }
        if (!pick || set[w].until < pick->until) {
            pick = &set[w];
        }
    }
    return pick;
}

void fa_cache_put(fa_cache_t *c, const void *key, apr_size_t klen,
                  const char *val, apr_size_t len, apr_time_t until,
                  apr_uint32_t tag)
{
    apr_uint32_t h = hash_of(key, klen);
    apr_thread_mutex_t *lock;
    slot_t *set = set_of(c, h, &lock), *s;
    apr_size_t need = klen + len + 1, cap;
    char *buf;

    if (!klen || need > c->max_bytes / 4) {
        return;
    }
    apr_thread_mutex_lock(lock);
    s = victim(set, h, key, klen);
    if (s->cap < need) {
        /* Some room to spare, so that a session growing by a few bytes (a
         * later last_seen) still fits next time. */
        cap = need + (len >> 3);
        if (__atomic_add_fetch(&c->bytes, cap - s->cap, __ATOMIC_RELAXED)
            > c->max_bytes || !(buf = malloc(cap))) {
            /* Over the bound: this slot gives its memory back instead. */
            __atomic_sub_fetch(&c->bytes, cap, __ATOMIC_RELAXED);
            free(s->buf);
            s->buf = NULL;
            s->cap = s->klen = 0;
            apr_thread_mutex_unlock(lock);
            return;
        }
        free(s->buf);
        s->buf = buf;
        s->cap = cap;
    }
    memcpy(s->buf, key, klen);
    memcpy(s->buf + klen, val, len);
    s->buf[klen + len] = '\0';
    s->hash = h;
    s->klen = klen;
    s->len = len;
    s->until = until;
    s->tag = tag;
    apr_thread_mutex_unlock(lock);
}

void fa_cache_del(fa_cache_t *c, const void *key, apr_size_t klen)
{
    apr_uint32_t h = hash_of(key, klen);
    apr_thread_mutex_t *lock;
    slot_t *set = set_of(c, h, &lock);
    int w;

    apr_thread_mutex_lock(lock);
    for (w = 0; w < WAYS; w++) {
        if (holds(&set[w], h, key, klen)) {
            set[w].klen = 0;      /* the buffer stays for the next one */
        }
    }
    apr_thread_mutex_unlock(lock);
}

unsigned long fa_cache_hits(const fa_cache_t *c)
{
    return __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
}

apr_size_t fa_cache_bytes(const fa_cache_t *c)
{
    return __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
}
