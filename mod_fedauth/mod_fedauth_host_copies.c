/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_host_copies.c - the host's copies of Redis sessions
 * (FedAuthSessionHostCache): how one is made, and a thread in each child
 * that renews those in use before they end.
 *
 * A copy serves for FedAuthSessionHostCache's seconds at most (three
 * quarters of them at least, by its key), Redis's word aside: that bounds
 * how long a copy is trusted should an invalidation ever be lost. Left at
 * that, every copy in use ends in turn and the request that finds it
 * ended reads Redis, one round trip on the request path per session and
 * period; with a million sessions that is thousands of round trips a
 * second. So each child renews, off the request path, the copies of
 * sessions in use (made or read within the last two turns) once they have
 * served five eighths of the seconds (a turn): the host's store gives them
 * out oldest first, each to one child (fa_store_shm_due, which leaves the
 * others to end at their time), and the child reads them again from
 * Redis in one pipelined round trip per server, each behind a stamp taken
 * before it (fa_store_t.get_stamped), exactly as a request makes a copy.
 * A renewal is not a use: a session nobody asks for is renewed twice at
 * most. Redis's load is bounded by RENEW_BATCH keys per RENEW_TICK_MS and
 * child. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "mod_fedauth_host_copies.h"
#include "mod_fedauth_metrics.h"
#include "mod_fedauth_store_shm.h"

APLOG_USE_MODULE(fedauth);

#define RENEW_TICK_MS 250
#define RENEW_BATCH FA_STORE_STAMPED_MAX
#define RENEW_ROUNDS 4            /* full batches per tick at most */
#define RENEW_REPORT_S 60         /* between reports of copies not read */
/* Reads are noted to the second, and a copy counts as read only in a
 * second after the one it was made in: with seconds below this, a copy
 * in use would be due before a read of it could show, so none is
 * renewed (each ends at its time, as before). */
#define RENEW_MIN_S 4
/* A copy is renewed while its session was used (its copy made, or read)
 * within this many turns: a user who pauses for a few minutes comes back
 * to a copy, and one who left costs at most two renewals more. */
#define RENEW_IN_USE_TURNS 2

static int copy_s;                /* how long a host copy may serve */

/* The stores whose sessions have host copies, with the start of their
 * copy keys. */
typedef struct copied_store_t {
    fa_store_t *st;
    char prefix[40];
    apr_size_t plen;
} copied_store_t;

typedef struct renewer_t {
    server_rec *s;
    fa_store_t *copies;
    copied_store_t *stores;
    int n_stores;
    int stopping;                 /* atomic */
    apr_thread_t *thread;
    apr_int64_t reported;         /* the last FA00325 */
} renewer_t;

apr_size_t fedauth_copy_key(char *buf, apr_size_t size, const fa_store_t *st,
                            const char *key)
{
    return (apr_size_t)apr_snprintf(buf, size, "%pp|%s", (void *)st, key);
}

apr_status_t fedauth_host_copies_open(apr_pool_t *pconf, server_rec *s,
                                      apr_size_t size, int seconds)
{
    copy_s = seconds;
    return fedauth_host_cache_open(pconf, s, size, seconds);
}

/* The head is what the request path reads; the ID token, two thirds of
 * a usual record, is read from the store when needed, as with the
 * embedded store. Copies made together (every session's, in the first
 * minutes after a start) would end together and send their sessions back
 * to Redis at once: each lasts between three quarters of copy_s and all
 * of it, by its store key's (a MAC's) first characters. */
void fedauth_host_copy_put(apr_pool_t *p, const char *ck, const char *key,
                           const fa_store_stamp_t *stamp, const char *rec,
                           apr_size_t len, int renewal)
{
    fa_store_t *copies = fedauth_host_cache();
    apr_size_t head = fa_session_head(rec, len);
    unsigned int spread = (unsigned char)key[2]
                          | (unsigned int)(unsigned char)key[3] << 8;
    apr_int64_t expires;
    char *val;

    if (head > 0 && head < len) {
        len = head;
    }
    val = apr_palloc(p, sizeof(*stamp) + len);
    memcpy(val, stamp, sizeof(*stamp));
    memcpy(val + sizeof(*stamp), rec, len);
    expires = fa_now_sec() + copy_s
              - (int)(spread % (unsigned int)(copy_s / 4 + 1));
    if (renewal) {
        fa_store_shm_renew(copies, ck, val, sizeof(*stamp) + len, expires);
    }
    else {
        copies->put(copies, ck, val, sizeof(*stamp) + len, expires, p);
    }
}

/* ---- renewing --------------------------------------------------------- */

/* The store key in copy key ck of one of r's stores (*which), or NULL.
 * The copy keys come from memory only this httpd's processes write, but
 * the key is checked to be a session's anyway before it goes to Redis. */
static const char *key_of(const renewer_t *rn, const char *ck, int *which)
{
    const char *key;
    apr_size_t n;
    int i;

    for (i = 0; i < rn->n_stores; i++) {
        if (!strncmp(ck, rn->stores[i].prefix, rn->stores[i].plen)) {
            key = ck + rn->stores[i].plen;
            n = strlen(key);
            if (n < 4 || n > FA_SESSION_KEY_LEN || key[0] != 's'
                || key[1] != ':'
                || strspn(key + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                   "opqrstuvwxyz0123456789-_") != n - 2) {
                return NULL;
            }
            *which = i;
            return key;
        }
    }
    return NULL;
}

/* Renews the copies of the store at which among cks (n of them, with
 * their store keys): *renewed, *ended (no session any more), *unread. */
static void renew_store(renewer_t *rn, apr_pool_t *p, int which,
                        const char **cks, const char **keys, int n,
                        int *renewed, int *ended, int *unread)
{
    fa_store_t *st = rn->stores[which].st;
    char *vals[RENEW_BATCH];
    apr_size_t lens[RENEW_BATCH];
    fa_store_stamp_t stamps[RENEW_BATCH];
    apr_status_t each[RENEW_BATCH];
    int i;

    st->get_stamped(st, n, keys, p, vals, lens, stamps, each);
    for (i = 0; i < n; i++) {
        if (each[i] == APR_SUCCESS) {
            fedauth_host_copy_put(p, cks[i], keys[i], &stamps[i], vals[i],
                                  lens[i], 1);
            (*renewed)++;
        }
        else if (each[i] == APR_NOTFOUND) {
            rn->copies->del(rn->copies, cks[i], p);
            (*ended)++;
        }
        else {
            (*unread)++;          /* it ends at its time */
        }
    }
}

/* One batch: the copies due now, renewed. How many were due. */
static int renew_batch(renewer_t *rn, apr_pool_t *p)
{
    apr_array_header_t *due = apr_array_make(p, RENEW_BATCH,
                                             sizeof(const char *));
    const char *cks[RENEW_BATCH], *keys[RENEW_BATCH];
    int at[RENEW_BATCH];
    int i, j, m, which, got, renewed = 0, ended = 0, unread = 0;
    apr_int64_t now = fa_now_sec();
    int due_age = copy_s * 5 / 8;   /* 2 at least (RENEW_MIN_S) */

    got = fa_store_shm_due(rn->copies, now - due_age,
                           now - RENEW_IN_USE_TURNS * due_age, RENEW_BATCH, p,
                           due);
    for (i = 0; i < due->nelts && i < RENEW_BATCH; i++) {
        cks[i] = APR_ARRAY_IDX(due, i, const char *);
        keys[i] = key_of(rn, cks[i], &at[i]);
        if (!keys[i]) {
            rn->copies->del(rn->copies, cks[i], p);
        }
    }
    /* one get_stamped per store (there is usually one) */
    for (which = 0; which < rn->n_stores; which++) {
        const char *sub_cks[RENEW_BATCH], *sub_keys[RENEW_BATCH];

        for (m = 0, j = 0; j < i; j++) {
            if (keys[j] && at[j] == which) {
                sub_cks[m] = cks[j];
                sub_keys[m++] = keys[j];
            }
        }
        if (m) {
            renew_store(rn, p, which, sub_cks, sub_keys, m, &renewed,
                        &ended, &unread);
        }
    }
    fa_metrics_host_renewals(fedauth_metrics(), (unsigned int)renewed,
                             (unsigned int)ended, (unsigned int)unread);
    if (got) {
        ap_log_error(APLOG_MARK, APLOG_TRACE1, 0, rn->s, FALOGNO(00324)
                     "host copies in use renewed: %d of %d (%d sessions "
                     "ended, %d not read)", renewed, got, ended, unread);
    }
    if (unread && now - rn->reported >= RENEW_REPORT_S) {
        rn->reported = now;
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, rn->s, FALOGNO(00325)
                     "%d of the host's copies of sessions in use could not "
                     "be renewed (Redis did not answer, or this process's "
                     "invalidation listener is down): they end at their "
                     "time, and the next request of each reads Redis",
                     unread);
    }
    return got;
}

static int stopping(renewer_t *rn)
{
    return __atomic_load_n(&rn->stopping, __ATOMIC_ACQUIRE);
}

static void *APR_THREAD_FUNC renewer_main(apr_thread_t *t, void *data)
{
    renewer_t *rn = data;
    apr_allocator_t *a = NULL;
    apr_pool_t *p = NULL;
    int round;

    (void)t;
    /* a pool of its own: no other thread allocates from it */
    if (apr_allocator_create(&a) != APR_SUCCESS
        || apr_pool_create_unmanaged_ex(&p, NULL, a) != APR_SUCCESS) {
        if (a) {
            apr_allocator_destroy(a);
        }
        return NULL;
    }
    apr_allocator_owner_set(a, p);
    while (!stopping(rn)) {
        apr_sleep(apr_time_from_msec(RENEW_TICK_MS));
        for (round = 0; round < RENEW_ROUNDS && !stopping(rn); round++) {
            apr_pool_clear(p);
            if (renew_batch(rn, p) < RENEW_BATCH) {
                break;
            }
        }
    }
    apr_pool_destroy(p);
    return NULL;
}

/* Which of rn's stores st is, or -1. */
static int store_of(const renewer_t *rn, const fa_store_t *st)
{
    int i;

    for (i = 0; i < rn->n_stores; i++) {
        if (rn->stores[i].st == st) {
            return i;
        }
    }
    return -1;
}

static apr_status_t renewer_stop(void *data)
{
    renewer_t *rn = data;
    apr_status_t rv;

    __atomic_store_n(&rn->stopping, 1, __ATOMIC_RELEASE);
    if (rn->thread) {
        apr_thread_join(&rv, rn->thread);
        rn->thread = NULL;
    }
    return APR_SUCCESS;
}

void fedauth_host_copies_child_init(apr_pool_t *p, server_rec *s)
{
    fa_store_t *copies = fedauth_host_cache();
    renewer_t *rn;
    fedauth_srv_t *sc;
    server_rec *vs;
    apr_array_header_t *stores;
    copied_store_t *cs;

    if (!copies || copy_s < RENEW_MIN_S) {
        return;
    }
    rn = apr_pcalloc(p, sizeof(*rn));
    rn->s = s;
    rn->copies = copies;
    stores = apr_array_make(p, 2, sizeof(copied_store_t));
    /* the stores as requests see them (after the metrics' wrapping):
     * their pointers are in the copy keys */
    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        if (!sc->store || !sc->store->get_stamped) {
            continue;
        }
        rn->stores = (copied_store_t *)stores->elts;
        rn->n_stores = stores->nelts;
        if (store_of(rn, sc->store) >= 0) {
            continue;             /* shared by several servers */
        }
        cs = apr_array_push(stores);
        cs->st = sc->store;
        cs->plen = fedauth_copy_key(cs->prefix, sizeof(cs->prefix),
                                    sc->store, "");
    }
    rn->stores = (copied_store_t *)stores->elts;
    rn->n_stores = stores->nelts;
    if (!rn->n_stores) {
        return;
    }
    if (apr_thread_create(&rn->thread, NULL, renewer_main, rn, p)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FALOGNO(00326)
                     "FedAuthSessionHostCache: cannot start the thread that "
                     "renews the host's copies in use; each ends at its "
                     "time, and the next request of its session reads "
                     "Redis");
        rn->thread = NULL;
        return;
    }
    apr_pool_cleanup_register(p, rn, renewer_stop, apr_pool_cleanup_null);
}
