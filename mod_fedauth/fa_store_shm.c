/* SPDX-License-Identifier: Apache-2.0 */
/* fa_store_shm.c - the embedded store: a hash table in one segment of
 * shared memory that every process of a host maps; see fa_store.h.
 *
 * The segment, in this order:
 *   header | change counters[nbuckets] | buckets[nbuckets]
 *          | links[nblocks + 1] | blocks[nblocks]
 * An entry is a chain of FA_SHM_BLOCK-byte blocks (links[] holds each
 * block's successor, and for an entry's first block when it was last
 * used); its first block starts with an ent_t, then come the key and the
 * value. Blocks are numbered from 1, so 0 means none. Free
 * blocks are chained through links[] as well, and blocks from hwm on were
 * never used: their pages are not touched until the store needs them.
 *
 * Every entry is on a list in the order it took its place, the newest at
 * the head: one list for login state, one for the rest. An entry takes
 * its place when it is written, and again when it reaches the tail having
 * been read since (a second chance): a read only notes the second it was
 * made in the entry's link (a relaxed atomic store, once a second at most,
 * no lock), and the list is changed by writers alone. A write that needs
 * room takes it from the tails: the first entry there not read since it
 * took its place goes, and those read meanwhile move to the head on the
 * way (at most MOVE_MAX per write); expired entries go whatever they are.
 * So a session in use is not ended while one unused since its last move
 * is there (an approximation of least recently used), and a busy
 * store's reads never take the lock. Login state, which anyone can make the store
 * hold by starting sign-ins, may take at most a quarter of the blocks:
 * past that, a new one takes the room of the oldest login state, so a
 * flood of sign-in starts cannot push out a single session.
 *
 * One robust, process-shared mutex in the header guards all of it except
 * the change counters, which are atomics read without it (fa_store_t's
 * version). A process that dies holding the mutex leaves the structure in
 * an unknown state; the next one to lock empties the store and says so.
 *
 * Reading a session, the common case by far, takes no lock: the holder of
 * the mutex keeps a sequence number odd while it changes anything, and a
 * reader that copied an entry out between two readings of the same even
 * number copied a consistent one (a sequence lock). A read that saw a
 * change, or an entry that has expired, is done again under the mutex.
 * The second of use a read notes does not change the sequence number, so
 * it sends no other reader to the lock; when the entry's block was taken
 * by another entry meanwhile, the note lands on that one's link (an order
 * slightly off) or on an unused field of a block in a chain, never in a
 * key or a value. So a busy store's reads do not queue for one lock, even
 * when each reads a session nobody read this second (a million sessions
 * read in turn).
 *
 * Since a read without the lock runs beside a write, every word it reads
 * (bucket heads, links, the entry fields it uses, the bytes of keys and
 * values) is written with a release store and read with an acquire load
 * (the sh_* helpers below; plain moves on x86). A reader that loaded
 * anything a write stored thereby sees that write's odd sequence number
 * when it reads the number again, which is what makes the check sound
 * without fences, and no access is a data race (ThreadSanitizer checks).
 *
 * Nothing read from the segment is trusted as an index or a length: each
 * is checked against the geometry this process computed itself, so a
 * damaged segment (or another program's file) can lose entries but never
 * make a process read or write outside the mapping. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <apr_strings.h>
#include "fa_store.h"
#include "fa_util.h"

#define MAGIC "FASTORE"
#define LAYOUT 5                  /* bump whenever the segment changes */
#define KEY_MAX 64
#define ENTRY_MAX (64 * 1024)     /* an index of FA_STORE_INDEX_MAX keys */
#define REPORT_EVERY 60           /* seconds between reports of a kind */
#define HIGH_PERCENT 90
#define SWEEP_MAX 64              /* expired entries removed per write */
#define LOGIN_SHARE 4             /* login state: at most 1/4 of blocks */
#define MOVE_MAX 1024             /* entries read since they took their place
                                   * moved to the head by one write, at most
                                   * (the lock is held meanwhile) */
#define PEEK_STEPS 32             /* a read without the lock walks at most
                                   * this many entries of a bucket */

enum { KIND_OTHER = 0, KIND_SESSION = 1, KIND_LOGIN = 2 };
#define LIST_OF(kind) ((kind) == KIND_LOGIN)

typedef struct ent_t {
    uint32_t hash;
    uint32_t hnext;               /* next entry in the bucket */
    uint32_t lprev, lnext;        /* neighbours in order of use */
    uint32_t vlen;
    uint32_t nblk;                /* blocks of the chain */
    uint16_t klen;
    uint16_t kind;                /* KIND_*: by the key's "s:" or "l:" */
    uint32_t pad;
    int64_t expires;              /* seconds since the epoch */
    int64_t placed;               /* when it took its place in the list */
} ent_t;

/* A block's successor in its chain (or in the free list); for an entry's
 * first block, also the last second it was used (written or read; the
 * time's low 32 bits), which reads store without the lock. */
typedef struct link_t {
    uint32_t next;
    uint32_t used;
} link_t;

#define FIRST_ROOM (FA_SHM_BLOCK - sizeof(ent_t))

typedef struct hdr_t {
    char magic[8];
    uint32_t layout, block;
    uint64_t size;
    uint32_t nbuckets, nblocks;
    pthread_mutex_t lock;
    /* Odd while a process changes the store: a read without the lock
     * that saw the same even number before and after saw no change. */
    uint32_t seq __attribute__((aligned(64)));
    /* under the lock */
    uint32_t free_head, free_count, hwm;
    uint32_t lru_head[2], lru_tail[2];    /* the rest; login state */
    uint32_t entries, sessions;
    uint32_t login_blocks;
    uint64_t evicted, expired, resets;
    uint64_t evicted_reported;    /* evicted at the last FA_SHM_FULL */
    uint64_t resets_reported;     /* resets at the last FA_SHM_RESET */
    int64_t evicted_idle;         /* shortest idle time since then */
    int64_t full_at, high_at;     /* last reports */
} hdr_t;

typedef struct shm_t {
    fa_store_t store;
    unsigned char *base;
    apr_size_t size;
    uint32_t nbuckets, nblocks;   /* this process's own geometry */
    hdr_t *hdr;
    volatile uint32_t *gen;
    uint32_t *buckets;
    link_t *links;
    unsigned char *blocks;
    fa_shm_notify_fn *notify;
    void *baton;
    pthread_t prefault_thread;    /* this process's, from child_init */
    int prefault_started;
    int prefault_stop;            /* set when the child ends (atomic) */
} shm_t;

/* ---- geometry --------------------------------------------------------- */

#define ALIGN(x, a) (((x) + (a) - 1) & ~((apr_size_t)(a) - 1))

/* Lays out a segment of size bytes; 0 when it is too small. */
static int geometry(apr_size_t size, uint32_t *pnb, uint32_t *pnblk,
                    apr_size_t offs[4])
{
    apr_size_t head = ALIGN(sizeof(hdr_t), 64), rest, nblk, nb = 1, need;

    if (size < head + 64 * FA_SHM_BLOCK) {
        return 0;
    }
    /* A block costs its bytes and its link; a bucket and its counter cost
     * 8 bytes, one bucket for about four blocks. */
    rest = size - head;
    nblk = rest / (FA_SHM_BLOCK_BYTES + 2);
    while (nb < nblk / 4) {
        nb <<= 1;
    }
    for (;;) {
        offs[0] = head;                                   /* gen */
        offs[1] = offs[0] + nb * 4;                       /* buckets */
        offs[2] = offs[1] + nb * 4;                       /* links */
        offs[3] = ALIGN(offs[2] + (nblk + 1) * sizeof(link_t), 64);
                                                          /* blocks */
        need = offs[3] + nblk * FA_SHM_BLOCK;
        if (need <= size || nblk < 64) {
            break;
        }
        nblk -= (need - size) / FA_SHM_BLOCK + 1;
    }
    if (need > size || nblk > UINT32_MAX - 1) {
        return 0;
    }
    *pnb = (uint32_t)nb;
    *pnblk = (uint32_t)nblk;
    return 1;
}

static apr_size_t blocks_for(apr_size_t bytes)
{
    return bytes <= FIRST_ROOM ? 1
           : 1 + (bytes - FIRST_ROOM + FA_SHM_BLOCK - 1) / FA_SHM_BLOCK;
}

apr_size_t fa_store_shm_entry_bytes(apr_size_t klen, apr_size_t vlen)
{
    return blocks_for(klen + vlen) * FA_SHM_BLOCK_BYTES;
}

/* ---- words that a read without the lock may see -------------------------- */

static uint32_t sh_ld32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void sh_st32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void sh_st16(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void sh_st64(int64_t *p, int64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Copies n bytes out of the segment (src) into dst: bytes up to an
 * 8-byte boundary of src, then words, each an acquire load, so that a
 * read without the lock is no data race. Atomics are not vectorized;
 * a whole block is one unrolled run instead (callgrind, 2,000 sessions:
 * the copy costs some 220 instructions a request more than memcpy did,
 * 0.5% of the request; a loop per word cost 1,000). */
static inline void sh_load(unsigned char *dst, const unsigned char *src,
                           apr_size_t n)
{
    const uint64_t *s;
    uint64_t w;
    int k;

    /* A whole block, the usual case past a record's first block: one
     * straight run of loads and stores, no loop to count. */
    if (n == FA_SHM_BLOCK && !((uintptr_t)src & 7)) {
        s = (const uint64_t *)(const void *)src;
#pragma GCC unroll 16
        for (k = 0; k < FA_SHM_BLOCK / 8; k++) {
            w = __atomic_load_n(s + k, __ATOMIC_ACQUIRE);
            memcpy(dst + 8 * k, &w, 8);
        }
        return;
    }
    for (; n > 0 && ((uintptr_t)src & 7); n--) {
        *dst++ = __atomic_load_n(src++, __ATOMIC_ACQUIRE);
    }
    for (s = (const uint64_t *)(const void *)src; n >= 8;
         n -= 8, s++, dst += 8) {
        w = __atomic_load_n(s, __ATOMIC_ACQUIRE);
        memcpy(dst, &w, 8);
    }
    for (src = (const unsigned char *)s; n > 0; n--) {
        *dst++ = __atomic_load_n(src++, __ATOMIC_ACQUIRE);
    }
}

/* Copies n bytes from src into the segment at dst, as sh_load reads. */
static void sh_store(unsigned char *dst, const unsigned char *src,
                     apr_size_t n)
{
    uint64_t *d, w;

    for (; n > 0 && ((uintptr_t)dst & 7); n--) {
        __atomic_store_n(dst++, *src++, __ATOMIC_RELEASE);
    }
    for (d = (uint64_t *)(void *)dst; n >= 8; n -= 8, d++, src += 8) {
        memcpy(&w, src, 8);
        __atomic_store_n(d, w, __ATOMIC_RELEASE);
    }
    for (dst = (unsigned char *)d; n > 0; n--) {
        __atomic_store_n(dst++, *src++, __ATOMIC_RELEASE);
    }
}

/* ---- blocks and entries ----------------------------------------------- */

static int valid(const shm_t *m, uint32_t i)
{
    return i >= 1 && i <= m->nblocks;
}

static unsigned char *blk(const shm_t *m, uint32_t i)
{
    return m->blocks + (apr_size_t)(i - 1) * FA_SHM_BLOCK;
}

static ent_t *ent(const shm_t *m, uint32_t i)
{
    return (ent_t *)blk(m, i);
}

/* An entry's key lies in its first block, after the header. */
typedef char key_in_first_block[KEY_MAX <= FIRST_ROOM ? 1 : -1];

/* 1 when entry i's key (klen bytes, klen <= KEY_MAX) is key, compared
 * in place (no chain to follow: see above), each word an acquire load as
 * sh_load reads. */
static inline int key_is(const shm_t *m, uint32_t i, const char *key,
                         apr_size_t klen)
{
    const unsigned char *src = blk(m, i) + sizeof(ent_t);
    apr_size_t n = 0;
    uint64_t w, k;

    if (!((uintptr_t)src & 7)) {
        for (; n + 8 <= klen; n += 8) {
            w = __atomic_load_n((const uint64_t *)(const void *)(src + n),
                                __ATOMIC_ACQUIRE);
            memcpy(&k, key + n, 8);
            if (w != k) {
                return 0;
            }
        }
    }
    for (; n < klen; n++) {
        if (__atomic_load_n(src + n, __ATOMIC_ACQUIRE)
            != (unsigned char)key[n]) {
            return 0;
        }
    }
    return 1;
}

/* A key's hash: eight bytes at a time (a session key's 43 bytes in six
 * steps, the last word overlapping the one before; FNV-1a byte by byte
 * cost some 170 instructions a read), then mixed so that its low bits,
 * which pick the bucket, depend on every byte. Keys are MACs, or names
 * the module makes. */
static inline uint32_t hash_key(const char *key, apr_size_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)len, w = 0;
    apr_size_t i;

    if (len < 8) {
        for (i = 0; i < len; i++) {
            w = (w << 8) | (unsigned char)key[i];
        }
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    }
    else {
        for (i = 0; i + 8 < len; i += 8) {
            memcpy(&w, key + i, 8);
            h = (h ^ w) * 0xFF51AFD7ED558CCDull;
            h ^= h >> 32;
        }
        memcpy(&w, key + len - 8, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    }
    h ^= h >> 29;
    h *= 0xC4CEB9FE1A85EC53ull;
    return (uint32_t)(h ^ (h >> 32));
}

/* Copies len bytes from offset off of entry i's data (key, then value)
 * into dst, or from src into the entry when dst is NULL. 0 when the chain
 * is broken. */
static int chain_io(const shm_t *m, uint32_t i, apr_size_t off,
                    unsigned char *dst, const unsigned char *src,
                    apr_size_t len)
{
    unsigned char *b = blk(m, i) + sizeof(ent_t);
    apr_size_t room = FIRST_ROOM, n;
    uint32_t hops = 0;

    while (off >= room) {
        off -= room;
        i = sh_ld32(&m->links[i].next);
        if (!valid(m, i) || ++hops > m->nblocks) {
            return 0;
        }
        b = blk(m, i);
        room = FA_SHM_BLOCK;
    }
    while (len > 0) {
        n = room - off < len ? room - off : len;
        if (dst) {
            sh_load(dst, b + off, n);
            dst += n;
        }
        else {
            sh_store(b + off, src, n);
            src += n;
        }
        len -= n;
        off = 0;
        if (len > 0) {
            i = sh_ld32(&m->links[i].next);
            if (!valid(m, i) || ++hops > m->nblocks) {
                return 0;
            }
            b = blk(m, i);
            room = FA_SHM_BLOCK;
        }
    }
    return 1;
}

static void gen_bump(shm_t *m, uint32_t h)
{
    __atomic_add_fetch(&m->gen[h & (m->nbuckets - 1)], 1, __ATOMIC_RELEASE);
}

static void lru_unlink(shm_t *m, uint32_t i)
{
    hdr_t *hd = m->hdr;
    ent_t *e = ent(m, i);
    int l = LIST_OF(e->kind);

    if (valid(m, e->lprev)) {
        sh_st32(&ent(m, e->lprev)->lnext, e->lnext);
    }
    else {
        hd->lru_head[l] = e->lnext;
    }
    if (valid(m, e->lnext)) {
        sh_st32(&ent(m, e->lnext)->lprev, e->lprev);
    }
    else {
        hd->lru_tail[l] = e->lprev;
    }
    sh_st32(&e->lprev, 0);
    sh_st32(&e->lnext, 0);
}

static void lru_push(shm_t *m, uint32_t i)
{
    hdr_t *hd = m->hdr;
    ent_t *e = ent(m, i);
    int l = LIST_OF(e->kind);

    sh_st32(&e->lprev, 0);
    sh_st32(&e->lnext, valid(m, hd->lru_head[l]) ? hd->lru_head[l] : 0);
    if (e->lnext) {
        sh_st32(&ent(m, e->lnext)->lprev, i);
    }
    hd->lru_head[l] = i;
    if (!valid(m, hd->lru_tail[l])) {
        hd->lru_tail[l] = i;
    }
}

/* Notes that entry i (a block number checked valid) is used now: a store
 * without the lock, once a second at most (a load first, so that a
 * session read many times a second does not pass its link's cache line
 * between processors). Relaxed: the time orders nothing else. */
static inline void mark_used(shm_t *m, uint32_t i, apr_int64_t now)
{
    uint32_t t = (uint32_t)now;

    if (__atomic_load_n(&m->links[i].used, __ATOMIC_RELAXED) != t) {
        __atomic_store_n(&m->links[i].used, t, __ATOMIC_RELAXED);
    }
}

/* Seconds since entry i was last used (0 when its note is in the future:
 * another host's clock, or a damaged segment). */
static apr_int64_t idle_of(const shm_t *m, uint32_t i, apr_int64_t now)
{
    int32_t d = (int32_t)((uint32_t)now
                          - __atomic_load_n(&m->links[i].used,
                                            __ATOMIC_RELAXED));

    return d > 0 ? d : 0;
}

/* 1 when entry i was used after it took its place in the list. */
static int used_since_placed(const shm_t *m, uint32_t i)
{
    uint32_t used = __atomic_load_n(&m->links[i].used, __ATOMIC_RELAXED);

    return (int32_t)(used - (uint32_t)ent(m, i)->placed) > 0;
}

static void reset_locked(shm_t *m);

/* Entry i with key, or 0; *pprev: the entry before it in its bucket. */
static uint32_t find(shm_t *m, const char *key, apr_size_t klen, uint32_t h,
                     uint32_t *pprev)
{
    uint32_t i = m->buckets[h & (m->nbuckets - 1)], prev = 0, steps = 0;
    ent_t *e;

    while (i) {
        if (!valid(m, i) || ++steps > m->nblocks) {
            reset_locked(m);      /* a damaged chain: start over */
            return 0;
        }
        e = ent(m, i);
        if (e->hash == h && e->klen == klen && key_is(m, i, key, klen)) {
            if (pprev) {
                *pprev = prev;
            }
            return i;
        }
        prev = i;
        i = e->hnext;
    }
    return 0;
}

/* Removes entry i (prev: before it in its bucket, from find) and frees
 * its blocks. */
static void remove_entry(shm_t *m, uint32_t i, uint32_t prev)
{
    hdr_t *hd = m->hdr;
    ent_t *e = ent(m, i);
    uint32_t b = i, next, n;

    if (prev) {
        sh_st32(&ent(m, prev)->hnext, e->hnext);
    }
    else {
        sh_st32(&m->buckets[e->hash & (m->nbuckets - 1)], e->hnext);
    }
    lru_unlink(m, i);
    gen_bump(m, e->hash);
    hd->entries--;
    if (e->kind == KIND_SESSION) {
        hd->sessions--;
    }
    else if (e->kind == KIND_LOGIN && hd->login_blocks >= e->nblk) {
        hd->login_blocks -= e->nblk;
    }
    for (n = e->nblk < m->nblocks ? e->nblk : m->nblocks;
         n > 0 && valid(m, b); n--) {
        next = m->links[b].next;
        sh_st32(&m->links[b].next, hd->free_head);
        hd->free_head = b;
        hd->free_count++;
        b = next;
    }
}

/* Removes entry i when it is found again by its key (the bucket
 * predecessor is needed to unlink it). */
static void remove_by_index(shm_t *m, uint32_t i)
{
    ent_t *e = ent(m, i);
    uint32_t prev = 0, j = m->buckets[e->hash & (m->nbuckets - 1)];
    uint32_t steps = 0;

    while (j && j != i) {
        if (!valid(m, j) || ++steps > m->nblocks) {
            reset_locked(m);
            return;
        }
        prev = j;
        j = ent(m, j)->hnext;
    }
    if (j == i) {
        remove_entry(m, i, prev);
    }
}

static uint32_t free_blocks(const shm_t *m)
{
    return m->hdr->free_count + (m->nblocks - m->hdr->hwm);
}

/* The tail entry to go next: of the login list when login state is over
 * its share (or would be with need more blocks of it), else the one of
 * the two tails that has been idle longer. */
static uint32_t next_victim(const shm_t *m, uint32_t login_need,
                            apr_int64_t now)
{
    const hdr_t *hd = m->hdr;
    uint32_t a = hd->lru_tail[0], b = hd->lru_tail[1];

    if (login_need && hd->login_blocks + login_need
                      > m->nblocks / LOGIN_SHARE && valid(m, b)) {
        return b;
    }
    if (!valid(m, a)) {
        return b;
    }
    if (!valid(m, b)) {
        return a;
    }
    return idle_of(m, b, now) > idle_of(m, a, now) ? b : a;
}

/* Makes room for n blocks of an entry of kind: expired entries and then
 * those not used since they took their place leave from the tails; one
 * used meanwhile takes its place again at the head (MOVE_MAX of them at
 * most, then the tail goes whatever it is). 0 when even an empty store
 * has no room. */
static int make_room(shm_t *m, uint32_t n, int kind, apr_int64_t now)
{
    hdr_t *hd = m->hdr;
    uint32_t i, guard = 0, moved = 0;
    uint32_t login_need = kind == KIND_LOGIN ? n : 0;
    apr_int64_t idle;
    ent_t *e;

    if (n > m->nblocks || login_need > m->nblocks / LOGIN_SHARE) {
        return 0;
    }
    while (free_blocks(m) < n
           || (login_need && hd->login_blocks + login_need
                             > m->nblocks / LOGIN_SHARE)) {
        i = next_victim(m, login_need, now);
        if (!valid(m, i) || ++guard > m->nblocks + MOVE_MAX) {
            reset_locked(m);
            return free_blocks(m) >= n;
        }
        e = ent(m, i);
        idle = idle_of(m, i, now);
        if (e->expires > now && moved < MOVE_MAX
            && used_since_placed(m, i)) {
            moved++;
            sh_st64(&e->placed, now - idle);
            lru_unlink(m, i);
            lru_push(m, i);
            continue;
        }
        if (e->expires <= now) {
            hd->expired++;
        }
        else {
            if (hd->evicted == hd->evicted_reported
                || idle < hd->evicted_idle) {
                hd->evicted_idle = idle;
            }
            hd->evicted++;
        }
        remove_by_index(m, i);
    }
    return 1;
}

static uint32_t alloc_block(shm_t *m)
{
    hdr_t *hd = m->hdr;
    uint32_t b;

    if (valid(m, hd->free_head) && hd->free_count > 0) {
        b = hd->free_head;
        hd->free_head = m->links[b].next;
        hd->free_count--;
        return b;
    }
    if (hd->hwm < m->nblocks) {
        /* atomic: each child's prefault thread reads it without the lock
         * (used_ranges) */
        return __atomic_add_fetch(&hd->hwm, 1, __ATOMIC_RELAXED);
    }
    return 0;
}

/* The header of a new entry in a block that a read without the lock may
 * still be looking at (as an entry or as part of a value). */
static void ent_init(ent_t *e, uint32_t h, apr_size_t klen, apr_size_t vlen,
                     uint32_t n, int kind)
{
    sh_st32(&e->hash, h);
    sh_st32(&e->hnext, 0);
    sh_st32(&e->lprev, 0);
    sh_st32(&e->lnext, 0);
    sh_st32(&e->vlen, (uint32_t)vlen);
    sh_st32(&e->nblk, n);
    sh_st16(&e->klen, (uint16_t)klen);
    sh_st16(&e->kind, (uint16_t)kind);
    sh_st32(&e->pad, 0);
}

/* Writes an entry, last used at used (now, but for a renewal); the
 * caller removed any old one with this key. */
static apr_status_t put_locked(shm_t *m, const char *key, apr_size_t klen,
                               uint32_t h, const char *val, apr_size_t vlen,
                               apr_int64_t expires_at, apr_int64_t now,
                               uint32_t used)
{
    hdr_t *hd = m->hdr;
    uint32_t n = (uint32_t)blocks_for(klen + vlen), first, b, prev = 0, k;
    uint32_t *bucket = &m->buckets[h & (m->nbuckets - 1)];
    int kind = klen < 2 || key[1] != ':' ? KIND_OTHER
               : key[0] == 's' ? KIND_SESSION
               : key[0] == 'l' ? KIND_LOGIN : KIND_OTHER;
    ent_t *e;

    if (!make_room(m, n, kind, now)) {
        return APR_ENOSPC;
    }
    first = 0;
    for (k = 0; k < n; k++) {
        b = alloc_block(m);
        if (!b) {                 /* cannot happen after make_room */
            reset_locked(m);
            return APR_ENOSPC;
        }
        if (prev) {
            sh_st32(&m->links[prev].next, b);
        }
        else {
            first = b;
        }
        prev = b;
    }
    sh_st32(&m->links[prev].next, 0);
    e = ent(m, first);
    ent_init(e, h, klen, vlen, n, kind);
    sh_st64(&e->expires, expires_at);
    sh_st64(&e->placed, now);
    __atomic_store_n(&m->links[first].used, used, __ATOMIC_RELAXED);
    chain_io(m, first, 0, NULL, (const unsigned char *)key, klen);
    chain_io(m, first, klen, NULL, (const unsigned char *)val, vlen);
    sh_st32(&e->hnext, valid(m, *bucket) ? *bucket : 0);
    sh_st32(bucket, first);
    lru_push(m, first);
    hd->entries++;
    if (kind == KIND_SESSION) {
        hd->sessions++;
    }
    else if (kind == KIND_LOGIN) {
        hd->login_blocks += n;
    }
    gen_bump(m, h);
    return APR_SUCCESS;
}

/* ---- the lock ---------------------------------------------------------- */

static void init_lock(hdr_t *hd)
{
    pthread_mutexattr_t a;

    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&hd->lock, &a);
    pthread_mutexattr_destroy(&a);
}

/* Empties the store (the lock is held). Every change counter moves on, so
 * no process keeps using a copy of what was there. */
static void reset_locked(shm_t *m)
{
    hdr_t *hd = m->hdr;
    uint32_t i;

    for (i = 0; i < m->nbuckets; i++) {
        sh_st32(&m->buckets[i], 0);
        __atomic_add_fetch(&m->gen[i], 1, __ATOMIC_RELEASE);
    }
    hd->free_head = hd->free_count = 0;
    __atomic_store_n(&hd->hwm, 0, __ATOMIC_RELAXED);
    hd->lru_head[0] = hd->lru_tail[0] = hd->lru_head[1] = hd->lru_tail[1] = 0;
    hd->entries = hd->sessions = hd->login_blocks = 0;
    hd->resets++;
    /* still odd, but no longer what a read without the lock saw */
    __atomic_store_n(&hd->seq, (hd->seq | 1) + 2, __ATOMIC_RELAXED);
}

static void stats_locked(const shm_t *m, fa_shm_stats_t *out)
{
    const hdr_t *hd = m->hdr;

    memset(out, 0, sizeof(*out));
    out->size = m->size;
    out->blocks = m->nblocks;
    out->blocks_used = m->nblocks - free_blocks(m);
    out->entries = hd->entries;
    out->sessions = hd->sessions;
    out->evicted = hd->evicted;
    out->evicted_recent = hd->evicted - hd->evicted_reported;
    out->evicted_idle = hd->evicted_idle;
    out->expired = hd->expired;
    out->resets = hd->resets;
}

static void notify(shm_t *m, fa_shm_event_t ev, const fa_shm_stats_t *st)
{
    if (m->notify) {
        m->notify(m->baton, ev, st);
    }
}

/* 1 when the header's own numbers are possible (checked at each lock, a
 * few comparisons): what the rest of the code takes for granted. */
static int header_sane(const shm_t *m)
{
    const hdr_t *hd = m->hdr;

    return hd->hwm <= m->nblocks && hd->free_count <= hd->hwm
           && hd->entries <= hd->hwm && hd->sessions <= hd->entries
           && hd->login_blocks <= hd->hwm
           && (hd->lru_head[0] == 0 || valid(m, hd->lru_head[0]))
           && (hd->lru_tail[0] == 0 || valid(m, hd->lru_tail[0]))
           && (hd->lru_head[1] == 0 || valid(m, hd->lru_head[1]))
           && (hd->lru_tail[1] == 0 || valid(m, hd->lru_tail[1]));
}

/* The holder of the mutex marks the store as changing (seq odd) until it
 * lets go; whatever a process that died holding it left, the next holder
 * makes it odd and the one after that even and larger. */
static void seq_enter(hdr_t *hd)
{
    /* no fence: each store that follows is a release (sh_st32 ...) */
    __atomic_store_n(&hd->seq, __atomic_load_n(&hd->seq, __ATOMIC_RELAXED)
                               | 1, __ATOMIC_RELAXED);
}

static void unlock(shm_t *m)
{
    hdr_t *hd = m->hdr;

    __atomic_store_n(&hd->seq, (__atomic_load_n(&hd->seq, __ATOMIC_RELAXED)
                                | 1) + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&hd->lock);
}

static apr_status_t lock(shm_t *m)
{
    fa_shm_stats_t st;
    int rc = pthread_mutex_lock(&m->hdr->lock);

    if (rc == EOWNERDEAD) {
        seq_enter(m->hdr);
        reset_locked(m);
        pthread_mutex_consistent(&m->hdr->lock);
        m->hdr->resets_reported = m->hdr->resets;
        stats_locked(m, &st);
        unlock(m);
        notify(m, FA_SHM_RESET, &st);
        rc = pthread_mutex_lock(&m->hdr->lock);
    }
    if (rc == 0) {
        seq_enter(m->hdr);
        if (!header_sane(m)) {
            reset_locked(m);      /* reported after the next write */
        }
    }
    return rc == 0 ? APR_SUCCESS : APR_FROM_OS_ERROR(rc);
}

/* After a write: drops expired entries from the tail when the store is
 * nearly full, and says whether a report is due (the lock is held). */
static int report_due(shm_t *m, apr_int64_t now, fa_shm_stats_t *st)
{
    hdr_t *hd = m->hdr;
    uint32_t i, n;

    if (hd->resets != hd->resets_reported) {
        /* A damaged chain was found and the store emptied. */
        hd->resets_reported = hd->resets;
        stats_locked(m, st);
        return 1 + FA_SHM_RESET;
    }
    if (hd->evicted != hd->evicted_reported
        && now - hd->full_at >= REPORT_EVERY) {
        stats_locked(m, st);
        hd->full_at = hd->high_at = now;
        hd->evicted_reported = hd->evicted;
        return 1 + FA_SHM_FULL;
    }
    if ((uint64_t)(m->nblocks - free_blocks(m)) * 100
        < (uint64_t)m->nblocks * HIGH_PERCENT) {
        return 0;
    }
    for (n = 0; n < SWEEP_MAX; n++) {
        i = hd->lru_tail[n & 1];
        if (!valid(m, i) || ent(m, i)->expires > now) {
            i = hd->lru_tail[!(n & 1)];
            if (!valid(m, i) || ent(m, i)->expires > now) {
                break;
            }
        }
        hd->expired++;
        remove_by_index(m, i);
    }
    if ((uint64_t)(m->nblocks - free_blocks(m)) * 100
        >= (uint64_t)m->nblocks * HIGH_PERCENT
        && now - hd->high_at >= REPORT_EVERY) {
        stats_locked(m, st);
        hd->high_at = now;
        return 1 + FA_SHM_HIGH;
    }
    return 0;
}

static void unlock_and_report(shm_t *m, apr_int64_t now)
{
    fa_shm_stats_t st;
    int due = report_due(m, now, &st);

    unlock(m);
    if (due) {
        notify(m, (fa_shm_event_t)(due - 1), &st);
    }
}

/* ---- the store's operations --------------------------------------------- */

static apr_status_t key_ok(const char *key, apr_size_t *klen)
{
    *klen = strlen(key);
    return *klen > 0 && *klen <= KEY_MAX ? APR_SUCCESS : APR_EINVAL;
}

/* What a get_head asks (fn) and learns (whole: the whole value came). */
typedef struct head_t {
    apr_size_t (*fn)(const char *v, apr_size_t n);
    int whole;
} head_t;

/* Copies the value of entry i (vlen bytes after its klen-byte key) into v
 * (vlen + 1 bytes), or only its head when hd (may be NULL) asks for it and
 * its fn answers a length shorter than the value for the first bytes;
 * NUL-terminated. 0 when the chain is broken, else 1 and *n, the bytes
 * copied. Without the lock, what fn is shown may be changing: whatever it
 * answers, no more than vlen bytes are copied, and the caller's check of
 * seq discards the copy. */
static int copy_value(const shm_t *m, uint32_t i, apr_size_t klen,
                      apr_size_t vlen, char *v, head_t *hd,
                      apr_size_t *n)
{
    apr_size_t probe = 0, h;

    *n = vlen;
    if (hd) {
        probe = vlen < FA_STORE_HEAD_PROBE ? vlen : FA_STORE_HEAD_PROBE;
        if (!chain_io(m, i, klen, (unsigned char *)v, NULL, probe)) {
            return 0;
        }
        h = hd->fn(v, probe);
        if (h >= probe && h < vlen) {
            *n = h;
        }
        hd->whole = *n == vlen;
    }
    if (!chain_io(m, i, klen + probe, (unsigned char *)v + probe, NULL,
                  *n - probe)) {
        return 0;
    }
    v[*n] = '\0';
    return 1;
}

/* Reads entry i's value (or its head, see copy_value) into p (the lock is
 * held). */
static char *value_of(shm_t *m, uint32_t i, apr_pool_t *p, head_t *hd,
                      apr_size_t *len)
{
    ent_t *e = ent(m, i);
    char *v;

    if (e->vlen > ENTRY_MAX) {
        return NULL;
    }
    v = apr_palloc(p, (apr_size_t)e->vlen + 1);
    if (!copy_value(m, i, e->klen, e->vlen, v, hd, len)) {
        return NULL;
    }
    return v;
}

/* Entry of key when present and not expired; an expired one is removed.
 * With use set, it is noted as used now. */
static uint32_t lookup(shm_t *m, const char *key, apr_size_t klen,
                       uint32_t h, apr_int64_t now, int use,
                       uint32_t *pprev)
{
    uint32_t prev = 0, i = find(m, key, klen, h, &prev);
    ent_t *e;

    if (!i) {
        return 0;
    }
    e = ent(m, i);
    if (e->expires <= now) {
        m->hdr->expired++;
        remove_entry(m, i, prev);
        return 0;
    }
    if (use) {
        mark_used(m, i, now);
    }
    if (pprev) {
        *pprev = prev;
    }
    return i;
}

/* A read without the lock (see the top of the file): 1 when the entry of
 * key was copied into p, 0 when there is none, -1 when it must be read
 * under the lock (the store changed meanwhile, or the entry has expired).
 * The entry found is noted as used. Whatever it reads may be changing under it, so every number is
 * checked before use, as for a damaged segment, and the entry's header is
 * read once into a copy. */
static int peek(shm_t *m, const char *key, apr_size_t klen, uint32_t h,
                apr_int64_t now, apr_pool_t *p, head_t *hd, char **val,
                apr_size_t *len)
{
    uint32_t seq = __atomic_load_n(&m->hdr->seq, __ATOMIC_ACQUIRE);
    uint32_t i, steps = 0;
    ent_t e;
    char *v;

    if (seq & 1) {
        return -1;
    }
    i = sh_ld32(&m->buckets[h & (m->nbuckets - 1)]);
    for (; i; i = e.hnext) {
        if (!valid(m, i) || ++steps > PEEK_STEPS) {
            return -1;
        }
        /* the whole header only for an entry of the same hash */
        if (sh_ld32(&ent(m, i)->hash) != h) {
            e.hnext = sh_ld32(&ent(m, i)->hnext);
            continue;
        }
        sh_load((unsigned char *)&e, (const unsigned char *)ent(m, i),
                sizeof(e));
        if (e.hash == h && e.klen == klen && key_is(m, i, key, klen)) {
            break;
        }
    }
    /* The loads above are acquires: none of them can pass this one. */
    if (!i) {
        return __atomic_load_n(&m->hdr->seq, __ATOMIC_RELAXED) == seq ? 0 : -1;
    }
    if (e.expires <= now || e.vlen > ENTRY_MAX) {
        return -1;
    }
    v = apr_palloc(p, (apr_size_t)e.vlen + 1);
    if (!copy_value(m, i, klen, e.vlen, v, hd, len)) {
        return -1;
    }
    if (__atomic_load_n(&m->hdr->seq, __ATOMIC_RELAXED) != seq) {
        return -1;
    }
    *val = v;
    mark_used(m, i, now);
    return 1;
}

/* get (hd: see copy_value), or with take, take. */
static apr_status_t get_or_take(fa_store_t *st, const char *key,
                                apr_pool_t *p, head_t *hd, char **val,
                                apr_size_t *len, int take)
{
    shm_t *m = st->baton;
    apr_size_t klen;
    apr_int64_t now = fa_now_sec();
    uint32_t h, i, prev = 0;
    apr_status_t rv;
    int seen;

    if ((rv = key_ok(key, &klen)) != APR_SUCCESS) {
        return rv;
    }
    h = hash_key(key, klen);
    if (!take
        && (seen = peek(m, key, klen, h, now, p, hd, val, len)) >= 0) {
        return seen ? APR_SUCCESS : APR_NOTFOUND;
    }
    if ((rv = lock(m)) != APR_SUCCESS) {
        return rv;
    }
    i = lookup(m, key, klen, h, now, !take, &prev);
    rv = APR_NOTFOUND;
    if (i && (*val = value_of(m, i, p, hd, len)) != NULL) {
        rv = APR_SUCCESS;
    }
    if (i && take) {
        remove_entry(m, i, prev);
    }
    unlock(m);
    return rv;
}

static apr_status_t shm_get(fa_store_t *st, const char *key, apr_pool_t *p,
                            char **val, apr_size_t *len)
{
    return get_or_take(st, key, p, NULL, val, len, 0);
}

static apr_status_t shm_get_head(fa_store_t *st, const char *key,
                                 apr_pool_t *p,
                                 apr_size_t (*fn)(const char *, apr_size_t),
                                 char **val, apr_size_t *len, int *whole)
{
    head_t hd;
    apr_status_t rv;

    hd.fn = fn;
    hd.whole = 1;
    rv = get_or_take(st, key, p, &hd, val, len, 0);
    *whole = hd.whole;
    return rv;
}

static apr_status_t shm_take(fa_store_t *st, const char *key, apr_pool_t *p,
                             char **val, apr_size_t *len)
{
    return get_or_take(st, key, p, NULL, val, len, 1);
}

/* put, or with only_new (add) only when no live entry has the key. */
/* How write_entry writes. */
enum { WRITE_PUT, WRITE_ADD, WRITE_RENEW };

static apr_status_t write_entry(fa_store_t *st, const char *key,
                                const char *val, apr_size_t len,
                                apr_int64_t expires_at, int how)
{
    shm_t *m = st->baton;
    apr_size_t klen;
    apr_int64_t now = fa_now_sec();
    uint32_t h, i, prev = 0, used = (uint32_t)now;
    apr_status_t rv;

    if ((rv = key_ok(key, &klen)) != APR_SUCCESS) {
        return rv;
    }
    if (len > FA_STORE_MAX_VALUE) {
        return APR_ENOSPC;
    }
    h = hash_key(key, klen);
    if ((rv = lock(m)) != APR_SUCCESS) {
        return rv;
    }
    /* lookup removes an expired entry: only a live one stops an add. */
    if (how == WRITE_ADD && lookup(m, key, klen, h, now, 0, NULL)) {
        rv = APR_EEXIST;
    }
    else {
        if ((i = find(m, key, klen, h, &prev)) != 0) {
            if (how == WRITE_RENEW) {
                used = __atomic_load_n(&m->links[i].used, __ATOMIC_RELAXED);
            }
            remove_entry(m, i, prev);
        }
        rv = put_locked(m, key, klen, h, val, len, expires_at, now, used);
    }
    unlock_and_report(m, now);
    return rv;
}

static apr_status_t shm_put(fa_store_t *st, const char *key, const char *val,
                            apr_size_t len, apr_int64_t expires_at,
                            apr_pool_t *p)
{
    (void)p;
    return write_entry(st, key, val, len, expires_at, WRITE_PUT);
}

static apr_status_t shm_add(fa_store_t *st, const char *key, const char *val,
                            apr_size_t len, apr_int64_t expires_at,
                            apr_pool_t *p)
{
    (void)p;
    return write_entry(st, key, val, len, expires_at, WRITE_ADD);
}

static apr_status_t shm_del(fa_store_t *st, const char *key, apr_pool_t *p)
{
    shm_t *m = st->baton;
    apr_size_t klen;
    uint32_t h, i, prev = 0;
    apr_status_t rv;

    (void)p;
    if ((rv = key_ok(key, &klen)) != APR_SUCCESS) {
        return rv;
    }
    h = hash_key(key, klen);
    if ((rv = lock(m)) != APR_SUCCESS) {
        return rv;
    }
    if ((i = find(m, key, klen, h, &prev)) != 0) {
        remove_entry(m, i, prev);
    }
    unlock(m);
    return APR_SUCCESS;
}

static apr_status_t shm_del_if(fa_store_t *st, const char *key,
                               const char *val, apr_size_t len,
                               apr_pool_t *p)
{
    shm_t *m = st->baton;
    apr_size_t klen, vlen;
    uint32_t h, i, prev = 0;
    apr_status_t rv;
    char *v;

    if ((rv = key_ok(key, &klen)) != APR_SUCCESS) {
        return rv;
    }
    h = hash_key(key, klen);
    if ((rv = lock(m)) != APR_SUCCESS) {
        return rv;
    }
    if ((i = find(m, key, klen, h, &prev)) != 0
        && (v = value_of(m, i, p, NULL, &vlen)) != NULL
        && vlen == len && memcmp(v, val, len) == 0) {
        remove_entry(m, i, prev);
    }
    unlock(m);
    return APR_SUCCESS;
}

static apr_uint32_t shm_version(fa_store_t *st, const char *key)
{
    shm_t *m = st->baton;
    uint32_t h = hash_key(key, strlen(key));

    h = __atomic_load_n(&m->gen[h & (m->nbuckets - 1)], __ATOMIC_ACQUIRE);
    return h ? h : 1;             /* 0 would mean "cannot tell" */
}

/* An index value: a line with the time it lives until, then one line per
 * member, oldest first. Parsed in place. */
static apr_int64_t index_parse(char *val, apr_array_header_t *members)
{
    char *line, *last;
    apr_int64_t until = 0;

    if ((line = apr_strtok(val, "\n", &last)) != NULL) {
        until = apr_atoi64(line);
    }
    while ((line = apr_strtok(NULL, "\n", &last)) != NULL) {
        APR_ARRAY_PUSH(members, const char *) = line;
    }
    return until;
}

typedef struct shm_alive_t {
    shm_t *m;
    apr_int64_t now;
} shm_alive_t;

/* fa_store_alive_fn, with the lock held. */
static int shm_alive(void *baton, const char *member)
{
    shm_alive_t *a = baton;
    apr_size_t n = strlen(member);

    return n > 0 && n <= KEY_MAX
           && lookup(a->m, member, n, hash_key(member, n), a->now, 0, NULL);
}

static apr_status_t shm_index_add(fa_store_t *st, const char *key,
                                  const char *member, apr_int64_t expires_at,
                                  int max, apr_pool_t *p,
                                  apr_array_header_t **dropped)
{
    shm_t *m = st->baton;
    apr_array_header_t *old;
    fa_store_index_plan_t plan;
    shm_alive_t alive;
    apr_size_t klen, mlen, len = 0, vlen;
    apr_int64_t now = fa_now_sec(), until = expires_at;
    uint32_t h, i, prev = 0;
    const char *mk;
    char *val, *out, *o;
    apr_status_t rv;
    int k;

    *dropped = apr_array_make(p, 1, sizeof(const char *));
    if ((rv = key_ok(key, &klen)) != APR_SUCCESS
        || (rv = key_ok(member, &mlen)) != APR_SUCCESS) {
        return rv;
    }
    if (max < 1 || max > FA_STORE_INDEX_MAX) {
        return APR_EINVAL;
    }
    h = hash_key(key, klen);
    old = apr_array_make(p, max + 1, sizeof(const char *));
    if ((rv = lock(m)) != APR_SUCCESS) {
        return rv;
    }
    i = lookup(m, key, klen, h, now, 1, &prev);
    if (i && (val = value_of(m, i, p, NULL, &vlen)) != NULL) {
        apr_int64_t was = index_parse(val, old);
        until = was > until ? was : until;
    }
    alive.m = m;
    alive.now = now;
    fa_store_index_plan(p, old, member, max, shm_alive, &alive, &plan);
    for (k = 0; k < plan.dropped->nelts; k++) {
        mk = APR_ARRAY_IDX(plan.dropped, k, const char *);
        mlen = strlen(mk);
        if ((i = find(m, mk, mlen, hash_key(mk, mlen), &prev)) != 0) {
            remove_entry(m, i, prev);
        }
    }
    *dropped = plan.dropped;
    for (k = 0; k < plan.keep->nelts; k++) {
        len += strlen(APR_ARRAY_IDX(plan.keep, k, const char *)) + 1;
    }
    o = out = apr_palloc(p, len + 24);
    o += apr_snprintf(o, 24, "%" APR_INT64_T_FMT "\n", until);
    for (k = 0; k < plan.keep->nelts; k++) {
        mk = APR_ARRAY_IDX(plan.keep, k, const char *);
        mlen = strlen(mk);
        memcpy(o, mk, mlen);
        o += mlen;
        *o++ = '\n';
    }
    if ((i = find(m, key, klen, h, &prev)) != 0) {
        remove_entry(m, i, prev);
    }
    rv = put_locked(m, key, klen, h, out, (apr_size_t)(o - out), until, now,
                    (uint32_t)now);
    unlock_and_report(m, now);
    return rv;
}

static apr_status_t shm_index_take(fa_store_t *st, const char *key,
                                   apr_pool_t *p,
                                   apr_array_header_t **members)
{
    char *val;
    apr_size_t len;
    apr_status_t rv;

    *members = apr_array_make(p, 4, sizeof(const char *));
    rv = shm_take(st, key, p, &val, &len);
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        index_parse(val, *members);
    }
    return rv;
}

void fa_store_shm_stats(fa_store_t *st, fa_shm_stats_t *out)
{
    shm_t *m = st->baton;

    memset(out, 0, sizeof(*out));
    if (lock(m) == APR_SUCCESS) {
        stats_locked(m, out);
        unlock(m);
    }
}

apr_uint32_t fa_store_shm_capacity(fa_store_t *st, apr_size_t klen,
                                   apr_size_t vlen)
{
    shm_t *m = st->baton;

    return m->nblocks / (uint32_t)blocks_for(klen + vlen);
}

apr_status_t fa_store_shm_renew(fa_store_t *st, const char *key,
                                const char *val, apr_size_t len,
                                apr_int64_t expires_at)
{
    return write_entry(st, key, val, len, expires_at, WRITE_RENEW);
}

int fa_store_shm_due(fa_store_t *st, apr_int64_t placed_by,
                     apr_int64_t used_since, int max, apr_pool_t *p,
                     apr_array_header_t *keys)
{
    shm_t *m = st->baton;
    apr_int64_t now = fa_now_sec();
    uint32_t i, visits;
    int got = 0, in_use;
    ent_t *e;
    char *key;

    if (max < 1 || lock(m) != APR_SUCCESS) {
        return 0;
    }
    /* what this walk places again (now) is not walked again */
    if (placed_by >= now) {
        placed_by = now - 1;
    }
    for (visits = 0; got < max && visits < (uint32_t)max * 4; visits++) {
        i = m->hdr->lru_tail[0];
        if (!valid(m, i)) {
            break;
        }
        e = ent(m, i);
        if (e->placed > placed_by) {
            break;                /* the rest took their place later */
        }
        if (e->expires <= now || e->klen == 0 || e->klen > KEY_MAX) {
            if (e->expires <= now) {
                m->hdr->expired++;
            }
            remove_by_index(m, i);
            continue;
        }
        in_use = (int32_t)(__atomic_load_n(&m->links[i].used,
                                           __ATOMIC_RELAXED)
                           - (uint32_t)used_since) >= 0;
        /* at the head again, as new, either way: given once a turn, and
         * one not in use is left to end at its time (before its next
         * turn, which removes it) */
        sh_st64(&e->placed, now);
        lru_unlink(m, i);
        lru_push(m, i);
        if (!in_use) {
            continue;
        }
        key = apr_palloc(p, (apr_size_t)e->klen + 1);
        if (!chain_io(m, i, 0, (unsigned char *)key, NULL, e->klen)) {
            reset_locked(m);      /* a damaged chain: start over */
            break;
        }
        key[e->klen] = '\0';
        APR_ARRAY_PUSH(keys, const char *) = key;
        got++;
    }
    unlock_and_report(m, now);
    return got;
}

void fa_store_shm_hold_lock(fa_store_t *st)
{
    shm_t *m = st->baton;

    lock(m);
}

/* ---- opening ------------------------------------------------------------ */

static apr_status_t unmap(void *data)
{
    shm_t *m = data;

    if (m->base) {
        munmap(m->base, m->size);
        m->base = NULL;
    }
    return APR_SUCCESS;
}

static int header_fits(const hdr_t *hd, apr_size_t size, uint32_t nb,
                       uint32_t nblk)
{
    return !memcmp(hd->magic, MAGIC, sizeof(MAGIC)) && hd->layout == LAYOUT
           && hd->block == FA_SHM_BLOCK && hd->size == size
           && hd->nbuckets == nb && hd->nblocks == nblk;
}

/* Maps the file at path: the one there when it is a regular file of this
 * user, mode 0600 and of the right size, else a new one in its place. */
static apr_status_t map_file(const char *path, apr_size_t size,
                             unsigned char **pbase, int *fresh, fa_err_t *err)
{
    struct stat sb;
    void *base;
    int fd, e;

    *fresh = 0;
    fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)
                    || sb.st_uid != geteuid() || (sb.st_mode & 077)
                    || (apr_size_t)sb.st_size != size)) {
        close(fd);
        fd = -1;
        if (unlink(path) != 0 && errno != ENOENT) {
            e = errno;
            return fa_err_set(err, "store_unavailable", "cannot replace %s: "
                              "%s", path, strerror(e));
        }
    }
    if (fd < 0) {
        unlink(path);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
            e = errno;
            if (fd >= 0) {
                close(fd);
            }
            return fa_err_set(err, "store_unavailable", "cannot create %s "
                              "(%lu bytes): %s", path, (unsigned long)size,
                              strerror(e));
        }
        *fresh = 1;
    }
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    e = errno;
    close(fd);
    if (base == MAP_FAILED) {
        return fa_err_set(err, "store_unavailable", "cannot map %s: %s",
                          path, strerror(e));
    }
    *pbase = base;
    return APR_SUCCESS;
}

static void attach(shm_t *m, unsigned char *base, const apr_size_t offs[4])
{
    m->base = base;
    m->hdr = (hdr_t *)base;
    m->gen = (volatile uint32_t *)(base + offs[0]);
    m->buckets = (uint32_t *)(base + offs[1]);
    m->links = (link_t *)(base + offs[2]);
    m->blocks = base + offs[3];
}

/* Maps the segment: the file when there is a path (the one there when it
 * was made for this geometry by this version of the code, else a new
 * one), anonymous memory otherwise. *fresh: it is all zero. */
static apr_status_t map_segment(shm_t *m, const char *path,
                                const apr_size_t offs[4], int *fresh,
                                fa_err_t *err)
{
    unsigned char *base;
    apr_status_t rv;
    void *anon;

    *fresh = 1;
    if (!path) {
        anon = mmap(NULL, m->size, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (anon == MAP_FAILED) {
            return fa_err_set(err, "store_unavailable", "cannot map %lu "
                              "bytes of shared memory: %s",
                              (unsigned long)m->size, strerror(errno));
        }
        attach(m, anon, offs);
        return APR_SUCCESS;
    }
    if ((rv = map_file(path, m->size, &base, fresh, err)) != APR_SUCCESS) {
        return rv;
    }
    attach(m, base, offs);
    if (!*fresh && !header_fits(m->hdr, m->size, m->nbuckets, m->nblocks)) {
        /* Made by another version: a file of our own in its place (a
         * process that still maps the old one keeps it). */
        munmap(base, m->size);
        unlink(path);
        if ((rv = map_file(path, m->size, &base, fresh, err))
            != APR_SUCCESS) {
            m->base = NULL;
            return rv;
        }
        attach(m, base, offs);
    }
    return APR_SUCCESS;
}

/* ---- a child's start: the used part mapped before requests need it -- */

/* A child maps the segment afresh (fork does not copy the page table of a
 * shared file), so the first touch of each page in each child faults. At
 * a million sessions (1.9 GB) that was a third of the requests of a round
 * of the benchmark. A thread of each child asks the kernel to map the
 * pages below the blocks' high-water mark (Linux 5.14 on), in steps, so
 * that requests, served meanwhile, find them mapped (used_ranges: pages
 * no entry has used stay unallocated). For reading: on tmpfs (/run,
 * where httpd's runtime directory usually is) a page mapped so is
 * writable too, and reading maps 16 pages a fault where a populating
 * write maps one (1.9 GB: 0.14 s against 0.3-0.5 s). (On a disk file,
 * a write after the kernel has written the page back faults whatever
 * was done ahead.) Nothing is locked, and the mark, read once, is only
 * a bound. Where the kernel refuses, nothing more is tried. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#define PREFAULT_STEP (32u << 20)

static apr_int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The parts of the segment in use, page-aligned: the header; the change
 * counters and buckets once the store holds enough entries to have
 * touched nearly every page of them (hwm >= nblocks / 64: then there
 * are dozens of entries per page of buckets); the links and the blocks
 * up to the high-water mark. Pages never used stay unallocated. */
static int used_ranges(const shm_t *m, apr_size_t from[3],
                       apr_size_t to[3])
{
    uint32_t hwm = __atomic_load_n(&m->hdr->hwm, __ATOMIC_RELAXED);
    apr_size_t page = (apr_size_t)sysconf(_SC_PAGESIZE), links, blocks;
    int n = 0, i;

    if (hwm > m->nblocks) {
        hwm = m->nblocks;
    }
    links = (apr_size_t)((unsigned char *)m->links - m->base);
    blocks = (apr_size_t)(m->blocks - m->base);
    from[n] = 0;
    to[n++] = hwm >= m->nblocks / 64 ? links : sizeof(hdr_t);
    from[n] = links;
    to[n++] = links + ((apr_size_t)hwm + 1) * sizeof(link_t);
    from[n] = blocks;
    to[n++] = blocks + (apr_size_t)hwm * FA_SHM_BLOCK;
    for (i = 0; i < n; i++) {
        from[i] -= from[i] % page;
        to[i] = ALIGN(to[i], page);
        to[i] = to[i] < m->size ? to[i] : m->size;
    }
    return n;
}

/* Maps [from, to) in steps; 0 or why the kernel refused. */
static int populate(shm_t *m, apr_size_t from, apr_size_t to,
                    apr_size_t *done)
{
    apr_size_t n;

    while (from < to && !__atomic_load_n(&m->prefault_stop,
                                         __ATOMIC_RELAXED)) {
        n = to - from < PREFAULT_STEP ? to - from : PREFAULT_STEP;
        if (madvise(m->base + from, n, MADV_POPULATE_READ) != 0) {
            return errno;
        }
        from += n;
        *done += n;
    }
    return 0;
}

static void *prefault_run(void *data)
{
    shm_t *m = data;
    fa_shm_stats_t st;
    apr_size_t from[3], to[3], span = 0, done = 0;
    apr_int64_t t0 = mono_us();
    int e = 0, n = used_ranges(m, from, to), i;

    for (i = 0; i < n; i++) {
        span += to[i] > from[i] ? to[i] - from[i] : 0;
    }
    for (i = 0; i < n && !e; i++) {
        e = populate(m, from[i], to[i], &done);
    }
    if (m->notify && !__atomic_load_n(&m->prefault_stop, __ATOMIC_RELAXED)) {
        memset(&st, 0, sizeof(st));
        st.size = m->size;
        st.prefault_bytes = done;
        st.prefault_span = span;
        st.prefault_us = mono_us() - t0;
        st.prefault_errno = e;
        m->notify(m->baton, FA_SHM_PREFAULT, &st);
    }
    return NULL;
}

static apr_status_t prefault_end(void *data)
{
    shm_t *m = data;

    if (m->prefault_started) {
        __atomic_store_n(&m->prefault_stop, 1, __ATOMIC_RELAXED);
        pthread_join(m->prefault_thread, NULL);
        m->prefault_started = 0;
    }
    return APR_SUCCESS;
}

/* child_init: starts the thread; it ends with p (or when done). */
static apr_status_t shm_child_init(fa_store_t *st, apr_pool_t *p)
{
    shm_t *m = st->baton;

    if (m->prefault_started || !m->base) {
        return APR_SUCCESS;
    }
    m->prefault_stop = 0;
    if (pthread_create(&m->prefault_thread, NULL, prefault_run, m) == 0) {
        m->prefault_started = 1;
        apr_pool_cleanup_register(p, m, prefault_end,
                                  apr_pool_cleanup_null);
    }
    return APR_SUCCESS;
}

apr_status_t fa_store_shm_open(apr_pool_t *p, const fa_shm_conf_t *conf,
                               fa_store_t **pst, int *reused, fa_err_t *err)
{
    shm_t *m = apr_pcalloc(p, sizeof(*m));
    apr_size_t offs[4];
    apr_status_t rv;
    int fresh;

    *pst = NULL;
    *reused = 0;
    if (conf->size < 256 * 1024
        || (apr_uint64_t)conf->size > (APR_UINT64_C(4) << 30)
        || !geometry(conf->size, &m->nbuckets, &m->nblocks, offs)) {
        return fa_err_set(err, "internal_error", "a size of %lu bytes is "
                          "outside 256 KiB to 4 GiB",
                          (unsigned long)conf->size);
    }
    m->size = conf->size;
    if ((rv = map_segment(m, conf->path, offs, &fresh, err))
        != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, m, unmap, apr_pool_cleanup_null);
    if (fresh) {
        /* New memory is zero: only the header needs writing. */
        memcpy(m->hdr->magic, MAGIC, sizeof(MAGIC));
        m->hdr->layout = LAYOUT;
        m->hdr->block = FA_SHM_BLOCK;
        m->hdr->size = conf->size;
        m->hdr->nbuckets = m->nbuckets;
        m->hdr->nblocks = m->nblocks;
        init_lock(m->hdr);
    }
    *reused = !fresh;
    m->notify = conf->notify;
    m->baton = conf->baton;
    m->store.name = "shm";
    m->store.get = shm_get;
    m->store.get_head = shm_get_head;
    m->store.put = shm_put;
    m->store.add = shm_add;
    m->store.take = shm_take;
    m->store.del = shm_del;
    m->store.del_if = shm_del_if;
    m->store.index_add = shm_index_add;
    m->store.index_take = shm_index_take;
    m->store.version = shm_version;
    m->store.copy_ms = 0;         /* reads are as fast as a copy */
    m->store.child_init = shm_child_init;
    m->store.baton = m;
    *pst = &m->store;
    return APR_SUCCESS;
}
