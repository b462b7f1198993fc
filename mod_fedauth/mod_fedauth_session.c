/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_session.c - sessions on the request: the one a cookie names
 * (checked, with this process's copies of recent ones, the idle clock
 * moved on), a new one made from a verified token (claims mapped, kept
 * within the budget, indexed by user and IdP session) and stored with its
 * cookie, and the end of one. The records and their cookie are the core's
 * (fa_session.c); this file adds the store, the cookie and the log. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "mod_fedauth_session.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_attempts.h"
#include "mod_fedauth_metrics.h"
#include "mod_fedauth_tokens.h"
#include "mod_fedauth_registry.h"
#include "mod_fedauth_graph.h"
#include "mod_fedauth_host_copies.h"
#include "mod_fedauth_store_shm.h"
#include "fa_oidc.h"
#include "fa_cache.h"
#include "fa_jwt.h"

APLOG_USE_MODULE(fedauth);

/* Sessions this process read from the store lately (FedAuthSessionLocalCache).
 * A copy counts only while the store's version of its key is the one read
 * before the copy was made: with Redis, the version follows Redis's
 * invalidation messages, so a copy saves a round trip per request and a
 * logout elsewhere still reaches every process within milliseconds; while
 * Redis cannot tell (version 0), a copy is good for a second only. The shm
 * store answers from shared memory as fast as a copy, so it gets none by
 * default. */
static fa_cache_t *session_cache;

/* One copy of sessions per host (FedAuthSessionHostCache): an embedded
 * store in memory mapped before the fork and shared by this httpd's
 * processes (a new one at each start or restart), keyed like
 * session_cache. Each record read from Redis for it sits behind the stamp
 * the store gave before the read (fa_store_t.host_stamp), and counts only
 * while the store says that stamp holds (host_valid): the key unchanged,
 * and the process that read it still hearing of changes. */
static fa_store_t *host_cache;

#define DEFAULT_LOCAL_CACHE_MS 1000
#define SESSION_CACHE_ENTRIES 65536
#define SESSION_CACHE_BYTES (48 * 1024 * 1024)

/* How long a copy made now may serve: as configured; else the store's
 * own default while its version vouches for copies (a minute with Redis,
 * none with shm); a second at most while it cannot tell. */
static int local_cache_ms(const fedauth_srv_t *sc, const fa_store_t *st,
                          apr_uint32_t version)
{
    if (sc->local_cache_ms != FEDAUTH_UNSET) {
        return version || sc->local_cache_ms < DEFAULT_LOCAL_CACHE_MS
               ? sc->local_cache_ms : DEFAULT_LOCAL_CACHE_MS;
    }
    return version ? st->copy_ms : DEFAULT_LOCAL_CACHE_MS;
}

void fedauth_session_forget(request_rec *r, const char *key)
{
    char ck[FEDAUTH_COPY_KEY_MAX];
    apr_size_t n;

    if (key && (session_cache || host_cache)) {
        n = fedauth_copy_key(ck, sizeof(ck), fedauth_store(r), key);
        if (session_cache) {
            fa_cache_del(session_cache, ck, n);
        }
        if (host_cache) {
            host_cache->del(host_cache, ck, r->pool);
        }
    }
}

apr_status_t fedauth_session_host_cache(apr_pool_t *pconf, server_rec *s,
                                        apr_size_t size, int seconds)
{
    apr_status_t rv = fedauth_host_copies_open(pconf, s, size, seconds);

    host_cache = fedauth_host_cache();
    return rv;
}

/* The host's copy of the session at key (ck, its cache key), when there
 * is one and it still counts: the record (from p) and *len. */
static char *host_copy_get(request_rec *r, fa_store_t *store, const char *ck,
                           const char *key, apr_size_t *len)
{
    fa_store_stamp_t stamp;
    char *val;
    apr_size_t n;

    if (host_cache->get(host_cache, ck, r->pool, &val, &n) != APR_SUCCESS
        || n < sizeof(stamp)) {
        return NULL;
    }
    memcpy(&stamp, val, sizeof(stamp));
    if (store->host_valid(store, key, &stamp) <= 0) {
        return NULL;
    }
    *len = n - sizeof(stamp);
    return val + sizeof(stamp);
}

/* This process has no copy of the session at key: the host's, when it
 * counts; else NULL and (*stamped) the stamp for what the store returns
 * next. The host keeps a session's head only (fa_session_head: all but
 * the ID token), so *whole is 0 then, as after a store's get_head. The
 * host's copy does not become this process's: a copy of its own would
 * be no faster to read, and would have to end when the host's voucher
 * stops vouching, which only the host's copy asks about. */
static char *host_copy_find(request_rec *r, fa_store_t *store,
                            const char *ck, const char *key,
                            apr_size_t *len, fa_store_stamp_t *stamp,
                            int *stamped, int *whole)
{
    char *rec = host_copy_get(r, store, ck, key, len);
    apr_size_t head;

    if (!rec) {
        *stamped = store->host_stamp(store, key, stamp);
        return NULL;
    }
    head = fa_session_head(rec, *len);
    *whole = head == 0 || head < *len;
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, FALOGNO(00318)
                  "session from this host's copy");
    return rec;
}

/* Puts the head of rec (all of it when it has none) behind stamp in the
 * host's copies (fedauth_host_copy_put). */
static void host_copy_put(request_rec *r, const char *ck, const char *key,
                          const fa_store_stamp_t *stamp, const char *rec,
                          apr_size_t len)
{
    fedauth_host_copy_put(r->pool, ck, key, stamp, rec, len, 0);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, FALOGNO(00319)
                  "session from the store, copied for this host");
}

/* How long a copy of the session at key may serve (0: none is made nor
 * asked for), and the version it is kept under (read before the store:
 * a change after it makes the copy miss from then on). A store that
 * wants no copies (shm) is not asked, unless copies were configured. */
static int copy_window(const fedauth_srv_t *sc, fa_store_t *store,
                       const char *key, apr_uint32_t *version)
{
    *version = 0;
    if (sc->local_cache_ms == FEDAUTH_UNSET && store->copy_ms == 0) {
        return 0;
    }
    *version = store->version ? store->version(store, key) : 0;
    return local_cache_ms(sc, store, *version);
}

void fedauth_session_child_init(apr_pool_t *p)
{
    if (fa_cache_create(p, SESSION_CACHE_ENTRIES, SESSION_CACHE_BYTES,
                        &session_cache) != APR_SUCCESS) {
        session_cache = NULL;
    }
}

/* ---- the session of a request ---------------------------------------- */

static apr_status_t userinfo_refresh(request_rec *r, fedauth_srv_t *sc,
                                     fedauth_provider_t *prov,
                                     fa_store_t *store, const char *key,
                                     fa_session_t **ps);

/* Refreshes the access token of the session at key (due); the copy of it
 * this process may hold goes. APR_NOTFOUND when the session ended. */
static apr_status_t refresh_tokens(request_rec *r, fedauth_srv_t *sc,
                                   fa_store_t *store, const char *key,
                                   fa_session_t **ps)
{
    switch (fedauth_tokens_refresh(r, sc, store, key, ps)) {
    case FEDAUTH_TOKENS_ENDED:
        fedauth_session_forget(r, key);
        fa_metrics_session_ended(fedauth_metrics(), FA_METRICS_END_EXPIRED,
                                 1);
        return APR_NOTFOUND;
    case FEDAUTH_TOKENS_WRITTEN:
        fedauth_session_forget(r, key);
        return APR_SUCCESS;
    default:
        return APR_SUCCESS;
    }
}

/* 1 when the claims of s are older than UserInfoRefresh: one integer
 * compared when it is off. */
static inline int userinfo_due(const fedauth_provider_t *prov,
                               const fa_session_t *s, apr_int64_t now)
{
    return prov->userinfo_refresh > 0
           && now - fa_session_userinfo_at(s) >= prov->userinfo_refresh;
}

/* The session of a request (not the old one a sign-in replaces) kept
 * current: its access token refreshed when due, then its claims read
 * again when due; nothing but two compares when neither is. APR_NOTFOUND
 * when the session ended. */
static inline apr_status_t keep_current(request_rec *r, fedauth_srv_t *sc,
                                        fedauth_provider_t *prov,
                                        fa_store_t *store, const char *key,
                                        fa_session_t **ps, apr_int64_t now)
{
    if (fedauth_tokens_due(*ps, fedauth_refresh_before(sc), now)
        && refresh_tokens(r, sc, store, key, ps) != APR_SUCCESS) {
        return APR_NOTFOUND;
    }
    if (userinfo_due(prov, *ps, now)) {
        return userinfo_refresh(r, sc, prov, store, key, ps);
    }
    return APR_SUCCESS;
}

static void index_session(request_rec *r, const fedauth_srv_t *sc,
                          fa_store_t *store, const fa_session_t *s,
                          const char *key, apr_int64_t until);

/* Secret rotation: moves the session at okey (a cookie of an older
 * secret) to nkey (the same id under the first secret): written there
 * first, then deleted at okey, so that a parallel request with the old
 * cookie finds it at one key or the other; indexed last, when okey is
 * gone, so that FedAuthMaxSessionsPerUser does not count it twice (and
 * end another session of the user for it). Nothing to move
 * (moved already, ended, expired): nothing done. 1 when the session is
 * to be read at nkey, 0 when it stays at okey (the store refused it). */
static int session_move(request_rec *r, const fedauth_srv_t *sc,
                         fa_store_t *store, const char *okey,
                         const char *nkey)
{
    fa_session_t *s;
    char *rec;
    apr_size_t len;
    apr_int64_t until;

    if (store->get(store, okey, r->pool, &rec, &len) != APR_SUCCESS
        || fa_session_decode(r->pool, rec, len, &s) != APR_SUCCESS) {
        return 1;
    }
    until = fa_session_expires_at(s, fedauth_idle_timeout(sc),
                                  fedauth_max_age(sc));
    if (until <= fa_now_sec()) {
        return 1;
    }
    fa_session_encode(r->pool, s, &rec, &len);
    if (store->put(store, nkey, rec, len, until, r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01300)
                      "cannot move the session of %s to the first "
                      "FedAuthSecret: the %s store refused; it stays under "
                      "the older secret", fa_oidc_loggable(r->pool, s->user,
                      256), store->name);
        return 0;
    }
    store->del(store, okey, r->pool);
    fedauth_session_forget(r, okey);
    index_session(r, sc, store, s, nkey, s->created + fedauth_max_age(sc));
    fa_metrics_session_rekeyed(fedauth_metrics());
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01301)
                  "session of %s moved from an older FedAuthSecret to the "
                  "first", fa_oidc_loggable(r->pool, s->user, 256));
    return 1;
}

/* A cookie the first secret's keys refused, tried under the older ones
 * (only then: one secret costs nothing more). When one accepts it, the
 * session moves to the first secret's store key, which is written into
 * key (FA_SESSION_KEY_LEN + 1 bytes), and the browser gets the cookie of
 * the same id under the first secret when set_cookie. 1, else 0. */
static int older_cookie(request_rec *r, const fedauth_srv_t *sc,
                        fa_store_t *store, const char *cookie,
                        apr_size_t len, char *key, int set_cookie)
{
    char okey[FA_SESSION_KEY_LEN + 1], *ncookie, *nkey;
    int i;

    for (i = 0; i < sc->n_older; i++) {
        if (fa_session_cookie_check(&sc->older_keys[i], cookie, len, okey)) {
            break;
        }
    }
    if (i == sc->n_older
        || fa_session_cookie_remake(r->pool, &sc->keys, cookie, len,
                                    &ncookie, &nkey) != APR_SUCCESS) {
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(01302)
                  "session cookie made under FedAuthSecret value %d", i + 2);
    if (!session_move(r, sc, store, okey, nkey)) {
        memcpy(key, okey, FA_SESSION_KEY_LEN + 1);
        return 1;
    }
    if (set_cookie) {
        fedauth_session_cookie_set(r, sc, ncookie, -1);
    }
    memcpy(key, nkey, FA_SESSION_KEY_LEN + 1);
    return 1;
}

/* The store key the request's session cookie names, into key
 * (FA_SESSION_KEY_LEN + 1 bytes): 1, else 0 (no cookie, forged, garbled,
 * or of a secret no longer listed). The first secret's keys are tried
 * first and alone when they accept it. */
static inline int cookie_store_key(request_rec *r, const fedauth_srv_t *sc,
                                   fa_store_t *store, int set_cookie,
                                   char *key)
{
    const char *cookie = NULL;
    apr_size_t cookie_len = 0;

    if (!fedauth_cookie_peek(r, fedauth_session_cookie_name(r, sc), &cookie,
                             &cookie_len) || !cookie_len) {
        return 0;
    }
    if (!fa_session_cookie_check(&sc->keys, cookie, cookie_len, key)
        && !(sc->n_older && older_cookie(r, sc, store, cookie, cookie_len,
                                         key, set_cookie))) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00301)
                      "session cookie has a bad MAC or form: ignored");
        return 0;
    }
    return 1;
}

/* The process's memo of the session records it decoded last (see
 * fa_session_decode_memo): the next request with the same cookie, its
 * record unchanged, skips the decoding. A request never keeps a pointer
 * into it (what it gets is copied into its pool), so a slot that later
 * holds another session changes nothing a request still holds. About
 * 330 KiB, in the process's memory as it is used. */
static fa_session_memo_t decode_memo;

/* The session in record rec (len bytes, decoded in place) and its
 * provider: APR_NOTFOUND when the record is unreadable or the provider
 * is no longer here or switched off (a session of it is no session).
 * key: the record's store key, to ask the process's memo (the request
 * path); NULL: not. */
static apr_status_t decode_record(request_rec *r, const fedauth_srv_t *sc,
                                  char *rec, apr_size_t len,
                                  const char *key, fa_session_t **ps,
                                  fedauth_provider_t **pprov)
{
    int hit = 0;

    if (fa_session_decode_memo(key ? &decode_memo : NULL, key, r->pool, rec,
                               len, ps, &hit) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00303)
                      "unreadable session record: ignored");
        return APR_NOTFOUND;
    }
    if (hit) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r, FALOGNO(00323)
                      "session record as this process decoded it before");
    }
    *pprov = fedauth_provider_find(sc, (*ps)->idp);
    if (!*pprov || !(*pprov)->enabled) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00313)
                      "session from provider %s, which is not enabled here",
                      (*ps)->idp);
        return APR_NOTFOUND;
    }
    return APR_SUCCESS;
}

/* The whole record of key, after the request path read only its head
 * and is to write the session back: *ps and *pprov again, from the same
 * key (the cookie is not checked again: a cookie of an older secret has
 * already moved the session to key). */
static apr_status_t read_whole(request_rec *r, const fedauth_srv_t *sc,
                               fa_store_t *store, const char *key,
                               fa_session_t **ps, fedauth_provider_t **pprov)
{
    char *rec;
    apr_size_t len;
    apr_status_t rv = store->get(store, key, r->pool, &rec, &len);

    if (rv != APR_SUCCESS) {
        if (rv != APR_NOTFOUND) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(01660)
                          "session store %s unavailable (reading the whole "
                          "session)", store->name);
        }
        return rv;
    }
    return decode_record(r, sc, rec, len, NULL, ps, pprov);
}

/* 1 when the session (read as its head: no ID token) will be written
 * back or read again on this request: its idle clock (refresh_after),
 * its tokens or its claims are due. Then it is read whole first. */
static inline int head_short(const fedauth_srv_t *sc,
                             const fedauth_provider_t *prov,
                             const fa_session_t *s, apr_int64_t now,
                             apr_int64_t refresh_after)
{
    return now - s->last_seen >= refresh_after
           || fedauth_tokens_due(s, fedauth_refresh_before(sc), now)
           || userinfo_due(prov, s, now);
}

/* The session of the request; refresh 1: kept current (the request
 * path), 0: as it is, never refreshed nor read again (a logout). *pprov,
 * when asked: its provider. sc is the request's server's (every caller
 * reads it so), whose store fedauth_store(r) would return. head (the
 * request path, with pprov): the record is read without the ID token
 * (fa_session_head) when the store can or the host's copy answers (it
 * holds heads), unless this process copies it (its copies are whole);
 * when it will be written back, it is read again whole (read_whole). */
static apr_status_t load(request_rec *r, fedauth_srv_t *sc,
                         fa_session_t **ps, const char **pkey, int refresh,
                         fedauth_provider_t **pprov, int head)
{
    fa_store_t *store = sc->store;
    char key[FA_SESSION_KEY_LEN + 1], *rec = NULL, *fresh;
    char ck[FEDAUTH_COPY_KEY_MAX];
    apr_size_t cklen = 0;
    apr_uint32_t version = 0;
    fa_store_stamp_t stamp;
    int ttl_ms, stamped = 0;
    fa_session_t *s;
    fedauth_provider_t *prov;
    apr_size_t len;
    apr_int64_t now, refresh_after;
    apr_status_t rv;
    int idle = fedauth_idle_timeout(sc), max_age = fedauth_max_age(sc);
    int whole = 1;

    if (ps) {
        *ps = NULL;
    }
    if (!store) {
        return APR_NOTFOUND;
    }
    if (!cookie_store_key(r, sc, store, ps != NULL, key)) {
        return APR_NOTFOUND;
    }
    ttl_ms = copy_window(sc, store, key, &version);
    if (ttl_ms > 0 && session_cache) {
        cklen = fedauth_copy_key(ck, sizeof(ck), store, key);
        rec = fa_cache_get(session_cache, ck, cklen, apr_time_now(), version,
                           r->pool, &len);
        if (rec) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, FALOGNO(00316)
                          "session from this process's copy");
        }
        else if (host_cache && store->host_valid && head) {
            rec = host_copy_find(r, store, ck, key, &len, &stamp, &stamped,
                                 &whole);
        }
    }
    if (!rec) {
        rv = head && !ttl_ms && store->get_head
             ? store->get_head(store, key, r->pool, fa_session_head, &rec,
                               &len, &whole)
             : store->get(store, key, r->pool, &rec, &len);
        if (rv != APR_SUCCESS) {
            if (rv != APR_NOTFOUND) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00302)
                              "session store %s unavailable", store->name);
            }
            return rv;
        }
        if (ttl_ms > 0 && session_cache) {
            fa_cache_put(session_cache, ck, cklen, rec, len,
                         apr_time_now() + apr_time_from_msec(ttl_ms),
                         version);
        }
        if (stamped) {
            host_copy_put(r, ck, key, &stamp, rec, len);
        }
    }
    if (decode_record(r, sc, rec, len, key, &s, &prov) != APR_SUCCESS) {
        return APR_NOTFOUND;
    }
    now = fa_now_sec();
    if (now >= fa_session_expires_at(s, idle, max_age)) {
        store->del(store, key, r->pool);
        fedauth_session_forget(r, key);
        fa_metrics_session_ended(fedauth_metrics(), FA_METRICS_END_EXPIRED,
                                 1);
        return APR_NOTFOUND;
    }
    refresh_after = idle / 10 > 0 ? idle / 10 : 1;
    if (!whole && head_short(sc, prov, s, now, refresh_after)
        && (rv = read_whole(r, sc, store, key, &s, &prov)) != APR_SUCCESS) {
        return rv;
    }
    /* Tokens refreshed, claims read again (UserInfoRefresh) when due;
     * not for a logout. */
    if (ps && refresh
        && keep_current(r, sc, prov, store, key, &s, now) != APR_SUCCESS) {
        return APR_NOTFOUND;
    }
    /* The idle clock is reset on use, but written back only once a tenth
     * of the idle window has passed: no store write per request. */
    if (now - s->last_seen >= refresh_after) {
        s->last_seen = now;
        fa_session_encode(r->pool, s, &fresh, &len);
        store->put(store, key, fresh, len,
                   fa_session_expires_at(s, idle, max_age), r->pool);
        /* Without a version, the copy becomes the record just written.
         * With one, this write moved the version on, so the copy misses
         * and the next request reads the store (the version after the
         * write could already include a logout's delete, so it must not
         * be taken for the copy); its buffer is reused then. */
        if (cklen && !version) {
            fa_cache_put(session_cache, ck, cklen, fresh, len,
                         apr_time_now() + apr_time_from_msec(ttl_ms), 0);
        }
        if (cklen && host_cache) {
            host_cache->del(host_cache, ck, r->pool);
        }
    }
    if (pkey) {
        *pkey = apr_pstrdup(r->pool, key);
    }
    if (ps) {
        *ps = s;
    }
    if (pprov) {
        *pprov = prov;
    }
    return APR_SUCCESS;
}

apr_status_t fedauth_session_load(request_rec *r, fedauth_srv_t *sc,
                                  fa_session_t **ps, const char **pkey)
{
    return load(r, sc, ps, pkey, 1, NULL, 0);
}

apr_status_t fedauth_session_load_prov(request_rec *r, fedauth_srv_t *sc,
                                       fa_session_t **ps,
                                       fedauth_provider_t **pprov)
{
    return load(r, sc, ps, NULL, 1, pprov, 1);
}

apr_status_t fedauth_session_load_to_end(request_rec *r, fedauth_srv_t *sc,
                                         fa_session_t **ps,
                                         const char **pkey)
{
    return load(r, sc, ps, pkey, 0, NULL, 0);
}

/* ---- a new session --------------------------------------------------- */

const fa_keys_t *fedauth_keys_at(const fedauth_srv_t *sc, int i)
{
    return i == 0 ? &sc->keys
           : i > 0 && i <= sc->n_older ? &sc->older_keys[i - 1] : NULL;
}

const char *fedauth_index_key_at(request_rec *r, const fedauth_srv_t *sc,
                                 int i, const char *kind, const char *idp,
                                 const char *value)
{
    const fa_keys_t *keys = fedauth_keys_at(sc, i);

    return keys ? apr_pstrcat(r->pool, "i:", fa_keys_tag(r->pool, keys,
                              kind, apr_pstrcat(r->pool, idp, "\n", value,
                                                NULL)), NULL)
                : NULL;
}

const char *fedauth_index_key(request_rec *r, const fedauth_srv_t *sc,
                              const char *kind, const char *idp,
                              const char *value)
{
    return fedauth_index_key_at(r, sc, 0, kind, idp, value);
}

apr_status_t fedauth_add_once(request_rec *r, const fedauth_srv_t *sc,
                              const char *prefix, const char *label,
                              const char *value, apr_int64_t until)
{
    fa_store_t *store = fedauth_store(r);
    const fa_keys_t *keys;
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; rv == APR_SUCCESS && (keys = fedauth_keys_at(sc, i)); i++) {
        rv = store->add(store, apr_pstrcat(r->pool, prefix,
                        fa_keys_tag(r->pool, keys, label, value), NULL),
                        "1", 1, until, r->pool);
    }
    return rv;
}

/* 1 when prov's identity is the token's sub (the default IdentifyingClaim):
 * the user's index is then also the one a logout token's sub names. */
static int identity_is_sub(const fedauth_provider_t *prov)
{
    const char *claim = prov->claims.identifying_claim;

    return !claim || !strcmp(claim, "sub");
}

const char *fedauth_logout_sub_kind(const fedauth_provider_t *prov)
{
    /* With another IdentifyingClaim, another kind of index: a sub equal
     * to some user's oid (or email, ...) never finds that user's
     * sessions. */
    return identity_is_sub(prov) ? "sub" : "token-sub";
}

const char *fedauth_logout_sub_key(request_rec *r, const fedauth_srv_t *sc,
                                   const fedauth_provider_t *prov,
                                   const char *sub)
{
    return fedauth_index_key(r, sc, fedauth_logout_sub_kind(prov),
                             prov->idp.id, sub);
}

/* Appends key to the index at ikey, which keeps at most max members: the
 * sessions it drops (ended) are forgotten here and added to *ended. */
static apr_status_t index_one(request_rec *r, fa_store_t *store,
                              const char *ikey, const char *key,
                              apr_int64_t until, int max, int *ended)
{
    apr_array_header_t *dropped;
    apr_status_t rv;
    int i;

    rv = store->index_add(store, ikey, key, until, max, r->pool, &dropped);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *ended += dropped->nelts;
    for (i = 0; i < dropped->nelts; i++) {
        fedauth_session_forget(r, APR_ARRAY_IDX(dropped, i, const char *));
    }
    return APR_SUCCESS;
}

/* index_one for the index of kind, idp and value under the first secret;
 * during a rotation, the members of the same index under each older
 * secret join it first (that index is taken): the user's sessions made
 * under any listed secret count for FedAuthMaxSessionsPerUser, and a
 * back-channel logout finds them all. */
static apr_status_t index_all(request_rec *r, const fedauth_srv_t *sc,
                              fa_store_t *store, const char *kind,
                              const char *idp, const char *value,
                              const char *key, apr_int64_t until, int max,
                              int *ended)
{
    const char *ikey = fedauth_index_key(r, sc, kind, idp, value), *okey;
    apr_array_header_t *members;
    int i, j;

    for (i = 1; (okey = fedauth_index_key_at(r, sc, i, kind, idp, value));
         i++) {
        if (store->index_take(store, okey, r->pool, &members)
            != APR_SUCCESS) {
            continue;
        }
        for (j = 0; j < members->nelts; j++) {
            index_one(r, store, ikey, APR_ARRAY_IDX(members, j,
                      const char *), until, max, ended);
        }
    }
    return index_one(r, store, ikey, key, until, max, ended);
}

/* Adds a new session to the index of its user's sessions (and of its IdP
 * session, and, when IdentifyingClaim is not sub, of its token's sub, for
 * back-channel logout); the user's index keeps FedAuthMaxSessionsPerUser
 * of them, so a sign-in beyond ends that user's oldest session, nobody
 * else's. */
static void index_session(request_rec *r, const fedauth_srv_t *sc,
                          fa_store_t *store, const fa_session_t *s,
                          const char *key, apr_int64_t until)
{
    int max = fedauth_sessions_per_user(sc), ended = 0;
    const fedauth_provider_t *prov = fedauth_provider_find(sc, s->idp);

    if (s->sid && index_all(r, sc, store, "sid", s->idp, s->sid, key, until,
                            max, &ended) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00207)
                      "cannot index the session by sid: a back-channel "
                      "logout will not find it");
    }
    if (index_all(r, sc, store, "sub", s->idp, s->sub, key, until, max,
                  &ended) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00208)
                      "cannot index the session by sub: a back-channel "
                      "logout will not find it");
        return;
    }
    /* The token's sub, when the user's index is not the one a logout
     * token's sub names (IdentifyingClaim is another claim). */
    if (prov && !identity_is_sub(prov)
        && index_all(r, sc, store, "token-sub", s->idp,
                     s->token_sub ? s->token_sub : s->sub, key, until, max,
                     &ended) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00990)
                      "cannot index the session by the ID token's sub: a "
                      "back-channel logout by sub will not find it");
    }
    if (ended) {
        fa_metrics_session_ended(fedauth_metrics(), FA_METRICS_END_USER_LIMIT,
                                 (unsigned)ended);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00220)
                      "%s signed in through %s with more than %d sessions "
                      "(FedAuthMaxSessionsPerUser): the oldest %d ended",
                      fa_oidc_loggable(r->pool, s->user, 256), s->idp, max,
                      ended);
    }
}

/* Keeps the session within FA_SESSION_BUDGET (fa_claims_fit), with one
 * info line per item left out. */
static apr_status_t fit_session(request_rec *r, fa_session_t *s,
                                fa_err_t *err)
{
    apr_array_header_t *shed;
    const fa_shed_t *it;
    const char *user;
    apr_status_t rv;
    int i;

    if ((rv = fa_claims_fit(r->pool, s, FA_SESSION_BUDGET, &shed, err))
        != APR_SUCCESS) {
        return rv;
    }
    user = fa_oidc_loggable(r->pool, s->user, 256);
    for (i = 0; i < shed->nelts; i++) {
        it = &APR_ARRAY_IDX(shed, i, fa_shed_t);
        switch (it->kind) {
        case FA_SHED_ID_TOKEN:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00216)
                          "session of %s over %d bytes: ID token (%lu "
                          "bytes) not kept; logout at the IdP goes without "
                          "id_token_hint", user, FA_SESSION_BUDGET,
                          (unsigned long)it->size);
            break;
        case FA_SHED_TOKENS:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00811)
                          "session of %s over %d bytes: access and refresh "
                          "tokens (%lu bytes) not kept; no access token is "
                          "passed on or refreshed", user, FA_SESSION_BUDGET,
                          (unsigned long)it->size);
            break;
        case FA_SHED_CLAIM:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00217)
                          "session of %s over %d bytes: claim %s (%d "
                          "value(s), %lu bytes) not kept; Require "
                          "fedauth-claim on it refuses", user,
                          FA_SESSION_BUDGET,
                          fa_oidc_loggable(r->pool, it->name, 64),
                          it->values, (unsigned long)it->size);
            break;
        case FA_SHED_ATTR:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00218)
                          "session of %s over %d bytes: attribute %s (%lu "
                          "bytes) not kept; FEDAUTH_%s is not passed on",
                          user, FA_SESSION_BUDGET, it->name,
                          (unsigned long)it->size, it->name);
            break;
        }
    }
    return APR_SUCCESS;
}

/* The claims of prov's user to user name, identity, attributes, roles
 * and kept claims of s: at the sign-in and at each re-read of userinfo
 * (UserInfoRefresh), the same rules. */
static apr_status_t map_claims(request_rec *r, const fedauth_srv_t *sc,
                               const fedauth_provider_t *prov,
                               json_t *claims, fa_session_t *s,
                               fa_err_t *err)
{
    fa_claims_conf_t cc = prov->claims;
    apr_status_t rv;

    cc.default_role = sc->default_role;
    cc.kept_claims = fedauth_kept_claims();
    if ((rv = fedauth_graph_groups(r, prov, claims, &cc.groups, err))
        != APR_SUCCESS
        || (rv = fa_claims_map(r->pool, &cc, claims, s, err))
        != APR_SUCCESS) {
        return rv;
    }
    fedauth_attempt_user(r, prov->idp.id, s->sub, s->user);
    return APR_SUCCESS;
}

apr_status_t fedauth_map_session(request_rec *r, fedauth_srv_t *sc,
                                 fedauth_provider_t *prov, fa_jwt_t *jwt,
                                 const char *id_token,
                                 const fa_oidc_tokens_t *tok,
                                 fa_session_t *s, fa_err_t *err)
{
    apr_status_t rv;

    memset(s, 0, sizeof(*s));
    if ((rv = map_claims(r, sc, prov, jwt->claims, s, err)) != APR_SUCCESS) {
        return rv;
    }
    s->created = s->last_seen = s->userinfo_at = fa_now_sec();
    s->token_exp = fa_jwt_claim_int(jwt, "exp");
    s->idp = prov->idp.id;
    s->sid = fa_jwt_claim_str(jwt, "sid");
    s->token_sub = fa_jwt_claim_str(jwt, "sub");
    if (s->token_sub && !strcmp(s->token_sub, s->sub)) {
        s->token_sub = NULL;
    }
    if (id_token && strlen(id_token) <= 8192) {
        s->id_token = id_token;
    }
    else if (id_token) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00219)
                      "user %s: ID token of %lu bytes not kept in the "
                      "session (more than 8192): logout at the IdP goes "
                      "without id_token_hint",
                      fa_oidc_loggable(r->pool, s->user, 256),
                      (unsigned long)strlen(id_token));
    }
    fedauth_tokens_keep(r, sc, s, tok);
    return fit_session(r, s, err);
}

apr_status_t fedauth_store_session(request_rec *r, fedauth_srv_t *sc,
                                   fa_session_t *s, fa_err_t *err)
{
    fa_store_t *store = fedauth_store(r);
    char *cookie, *key, *rec;
    const char *old;
    apr_size_t len;
    apr_status_t rv;

    fa_session_encode(r->pool, s, &rec, &len);
    if (len > FA_STORE_MAX_VALUE) {
        return fa_err_set(err, "internal_error", "the session would be %lu "
                          "bytes, more than the store takes",
                          (unsigned long)len);
    }
    if (fa_session_new_id(r->pool, &sc->keys, &cookie, &key)
        != APR_SUCCESS) {
        return fa_err_set(err, "internal_error", "no random numbers");
    }
    rv = store->put(store, key, rec, len,
                    fa_session_expires_at(s, fedauth_idle_timeout(sc),
                                          fedauth_max_age(sc)), r->pool);
    if (rv != APR_SUCCESS) {
        return fa_err_set(err, "store_unavailable", "cannot save the "
                          "session in the %s store", store->name);
    }
    index_session(r, sc, store, s, key, s->created + fedauth_max_age(sc));
    if (fedauth_registry_recheck(r, sc, s, err) != APR_SUCCESS) {
        store->del(store, key, r->pool);
        return APR_EGENERAL;
    }
    /* A sign-in always gets a new id; an older session of this browser
     * ends (no session fixation). */
    old = NULL;
    if (fedauth_session_load(r, sc, NULL, &old) == APR_SUCCESS && old) {
        store->del(store, old, r->pool);
        fedauth_session_forget(r, old);
        fa_metrics_session_ended(fedauth_metrics(), FA_METRICS_END_REPLACED,
                                 1);
    }
    fa_metrics_session_created(fedauth_metrics(), s->idp);
    fedauth_session_cookie_set(r, sc, cookie, -1);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00203)
                  "signed in %s (sub %s) through %s",
                  fa_oidc_loggable(r->pool, s->user, 256),
                  fa_oidc_loggable(r->pool, s->sub, 256), s->idp);
    fedauth_attempt_user(r, s->idp, s->sub, s->user);
    fedauth_attempt_log(r, NULL);
    return APR_SUCCESS;
}

const char *fedauth_map_failure_text(const fa_err_t *err,
                                     const char *otherwise)
{
    if (err->code && !strcmp(err->code, "too_many_roles")) {
        return "The identity provider sent more roles than fit in a "
               "session.";
    }
    if (err->code && !strcmp(err->code, "session_too_large")) {
        return "The identity provider sent more than fits in a session.";
    }
    if (err->code && !strcmp(err->code, "groups_unavailable")) {
        return "Your group memberships could not be read, so your roles "
               "on this site cannot be decided.";
    }
    return otherwise;
}


/* ---- claims kept current (UserInfoRefresh) ----------------------------- */

/* What a re-read of userinfo came to. */
typedef enum {
    UI_READ,                      /* read, about the session's sub */
    UI_INVALID,                   /* the IdP no longer honours the token
                                   * (userinfo 401, invalid_grant) */
    UI_NO_TOKEN,                  /* no access token to read with */
    UI_SUB_MISMATCH,              /* userinfo about another sub */
    UI_REFUSED,                   /* the new claims cannot make a session */
    UI_FAILED                     /* the IdP failed: unreachable, 5xx, ... */
} ui_read_t;

/* The session's access token made ready to read userinfo with: refreshed
 * first when it expires within FedAuthRefreshBeforeExpiry (or, unset,
 * FedAuthHTTPTimeout) and a refresh token is kept. */
static ui_read_t ui_token(request_rec *r, fedauth_srv_t *sc, fa_session_t *s,
                          fa_err_t *err)
{
    apr_int64_t now = fa_now_sec();
    int margin = fedauth_refresh_before(sc) > 0 ? fedauth_refresh_before(sc)
                                                : fedauth_http_timeout(sc);

    if (!s->access_token) {
        fa_err_set(err, "no_token", "the session keeps no access token "
                   "(made before UserInfoRefresh, by token login, or its "
                   "tokens did not fit)");
        return UI_NO_TOKEN;
    }
    if (!s->access_exp || now + margin < s->access_exp) {
        return UI_READ;
    }
    if (!s->refresh_token) {
        if (s->access_exp > now) {
            return UI_READ;
        }
        fa_err_set(err, "no_token", "the access token expired and there is "
                   "no refresh token");
        return UI_NO_TOKEN;
    }
    if (fedauth_tokens_grant(r, sc, s, err) == APR_SUCCESS) {
        return UI_READ;
    }
    return fa_oidc_invalid_grant(err) ? UI_INVALID : UI_FAILED;
}

/* Reads userinfo for s (*pinfo), which must be about its sub (OIDC Core
 * 5.3.2). */
static ui_read_t ui_read(request_rec *r, fedauth_srv_t *sc,
                         fedauth_provider_t *prov, fa_session_t *s,
                         json_t **pinfo, fa_err_t *err)
{
    const char *want = s->token_sub ? s->token_sub : s->sub;
    fa_oidc_metadata_t *md;
    json_t *sub;
    int status = 0;
    ui_read_t got;

    if ((got = ui_token(r, sc, s, err)) != UI_READ) {
        return got;
    }
    if (fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md, err)
        != APR_SUCCESS) {
        return UI_FAILED;
    }
    if (!md->userinfo_endpoint) {
        fa_err_set(err, "idp_bad_response", "the provider offers no "
                   "userinfo_endpoint");
        return UI_FAILED;
    }
    if (fa_oidc_userinfo_read(r->pool, fedauth_http(), md, s->access_token,
                              fedauth_http_timeout(sc), &status, pinfo, err)
        != APR_SUCCESS) {
        return status == 401 ? UI_INVALID : UI_FAILED;
    }
    sub = json_object_get(*pinfo, "sub");
    if (!json_is_string(sub) || json_string_length(sub) != strlen(want)
        || strcmp(json_string_value(sub), want)) {
        fa_err_set(err, "userinfo_sub_mismatch", "userinfo is about sub %s, "
                   "the session's is %s", json_is_string(sub)
                   ? fa_oidc_loggable(r->pool, json_string_value(sub), 128)
                   : "(none)", fa_oidc_loggable(r->pool, want, 128));
        return UI_SUB_MISMATCH;
    }
    return UI_READ;
}

/* The claims read again mapped into s by the sign-in's rules (map_claims,
 * the registry, the budget); the identity must stay the same. */
static apr_status_t ui_remap(request_rec *r, fedauth_srv_t *sc,
                             fedauth_provider_t *prov, fa_session_t *s,
                             json_t *info, fa_err_t *err)
{
    fa_session_t n;
    fa_jwt_t *jwt = NULL;
    fa_err_t jerr;
    json_t *claims;
    apr_status_t rv;

    /* The ID token was verified at the sign-in; only its claims about
     * that sign-in are taken (fa_claims_reread). */
    memset(&jerr, 0, sizeof(jerr));
    if (s->id_token && fa_jwt_parse(r->pool, s->id_token,
                                    strlen(s->id_token), &jwt, &jerr)
                       != APR_SUCCESS) {
        jwt = NULL;
    }
    claims = fa_claims_reread(r->pool, &prov->claims,
                              jwt ? jwt->claims : NULL, info, s->sub);
    if (!claims) {
        return fa_err_set(err, "internal_error", "out of memory");
    }
    memset(&n, 0, sizeof(n));
    if ((rv = map_claims(r, sc, prov, claims, &n, err)) != APR_SUCCESS) {
        return rv;
    }
    if (strcmp(n.sub, s->sub)) {
        return fa_err_set(err, "identity_changed", "its %s is now %s",
                          prov->claims.identifying_claim
                          ? prov->claims.identifying_claim : "sub",
                          fa_oidc_loggable(r->pool, n.sub, 128));
    }
    s->user = n.user;
    s->roles = n.roles;
    s->attrs = n.attrs;
    s->claims = n.claims;
    if ((rv = fedauth_registry_signin(r, sc, s, err)) != APR_SUCCESS) {
        return rv;
    }
    return fit_session(r, s, err);
}

/* The log line and the count of a re-read; 1 when the session ends. */
static int ui_ends(request_rec *r, const fedauth_provider_t *prov,
                   const fa_session_t *s, ui_read_t got, const fa_err_t *err)
{
    const char *user = fa_oidc_loggable(r->pool, s->user, 256);
    int end = prov->userinfo_failure == FEDAUTH_USERINFO_END;
    fa_metrics_t *m = fedauth_metrics();

    switch (got) {
    case UI_READ:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01201)
                      "claims of %s read again from userinfo at %s: roles "
                      "\"%s\"", user, s->idp, s->roles);
        fa_metrics_userinfo(m, s->idp, FA_METRICS_USERINFO_OK);
        return 0;
    case UI_INVALID:
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, FALOGNO(01202)
                      "%s no longer honours the access token of %s (%s: "
                      "%s): the session ends", s->idp, user, err->code,
                      err->desc);
        fa_metrics_userinfo(m, s->idp, FA_METRICS_USERINFO_INVALID);
        return 1;
    case UI_NO_TOKEN:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01203)
                      "session of %s: cannot read userinfo at %s again: %s; "
                      "the session ends (UserInfoRefresh)", user, s->idp,
                      err->desc);
        fa_metrics_userinfo(m, s->idp, FA_METRICS_USERINFO_NO_TOKEN);
        return 1;
    case UI_SUB_MISMATCH:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01204)
                      "session of %s: %s at %s: the session ends", user,
                      err->desc, s->idp);
        fa_metrics_userinfo(m, s->idp, FA_METRICS_USERINFO_SUB_MISMATCH);
        return 1;
    case UI_REFUSED:
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, FALOGNO(01205)
                      "session of %s: the claims read again from %s are "
                      "refused: %s: %s; the session ends", user, s->idp,
                      err->code, err->desc);
        fa_metrics_userinfo(m, s->idp, FA_METRICS_USERINFO_REFUSED);
        return 1;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01206)
                      "session of %s: cannot read userinfo at %s again: "
                      "%s: %s; UserInfoRefresh %s: %s", user, s->idp,
                      err->code, err->desc, end ? "end" : "keep",
                      end ? "the session ends" : "the session goes on with "
                      "its claims, read again after the interval");
        fa_metrics_userinfo(m, s->idp, end ? FA_METRICS_USERINFO_FAILED_ENDED
                                           : FA_METRICS_USERINFO_FAILED_KEPT);
        return end;
    }
}

/* Holding the lock: the session as stored now, its claims read again
 * unless another request did it just before; written back, or ended. */
static fedauth_tokens_outcome_t ui_locked(request_rec *r, fedauth_srv_t *sc,
                                          fedauth_provider_t *prov,
                                          fa_store_t *store, const char *key,
                                          fa_session_t **ps)
{
    fa_session_t *s;
    json_t *info = NULL;
    fa_err_t err;
    apr_int64_t now = fa_now_sec();
    ui_read_t got;
    apr_status_t rv;

    if ((rv = fedauth_tokens_reread(r, store, key, &s)) == APR_NOTFOUND) {
        return FEDAUTH_TOKENS_ENDED;
    }
    if (rv != APR_SUCCESS) {
        return FEDAUTH_TOKENS_GO_ON;     /* the store failed: next time */
    }
    if (now - fa_session_userinfo_at(s) < prov->userinfo_refresh) {
        *ps = s;                          /* read meanwhile elsewhere */
        return FEDAUTH_TOKENS_GO_ON;
    }
    memset(&err, 0, sizeof(err));
    got = ui_read(r, sc, prov, s, &info, &err);
    if (got == UI_READ
        && ui_remap(r, sc, prov, s, info, &err) != APR_SUCCESS) {
        got = UI_REFUSED;
    }
    if (ui_ends(r, prov, s, got, &err)) {
        store->del(store, key, r->pool);
        return FEDAUTH_TOKENS_ENDED;
    }
    s->userinfo_at = now;
    *ps = s;
    return fedauth_tokens_put_back(r, sc, store, key, s, "reading userinfo");
}

/* The claims of the session at key (*ps) read again from userinfo, once
 * across all processes and hosts: under the session's refresh lock in
 * the store (the one the token refresh takes, mod_fedauth_tokens.c). A
 * request that meets the lock goes on with the current claims.
 * APR_NOTFOUND when the session ended. */
static apr_status_t userinfo_refresh(request_rec *r, fedauth_srv_t *sc,
                                     fedauth_provider_t *prov,
                                     fa_store_t *store, const char *key,
                                     fa_session_t **ps)
{
    const char *lock_key = apr_pstrcat(r->pool, "r:", key + 2, NULL);
    const char *mine = fa_random_token(r->pool, 16);
    apr_int64_t until = fa_now_sec() + 3 * fedauth_http_timeout(sc) + 1;
    fedauth_tokens_outcome_t out;
    apr_status_t rv;

    rv = mine ? store->add(store, lock_key, mine, strlen(mine), until,
                           r->pool)
              : APR_EGENERAL;
    if (APR_STATUS_IS_EEXIST(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, FALOGNO(01208)
                      "claims of %s being read again (or its token "
                      "refreshed) by another request: the current ones "
                      "are used", fa_oidc_loggable(r->pool, (*ps)->user,
                                                   256));
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, FALOGNO(01209)
                      "cannot take the refresh lock in the %s store: the "
                      "claims of %s are not read again now", store->name,
                      fa_oidc_loggable(r->pool, (*ps)->user, 256));
        return APR_SUCCESS;
    }
    out = ui_locked(r, sc, prov, store, key, ps);
    store->del_if(store, lock_key, mine, strlen(mine), r->pool);
    if (out == FEDAUTH_TOKENS_GO_ON) {
        return APR_SUCCESS;
    }
    fedauth_session_forget(r, key);
    if (out == FEDAUTH_TOKENS_ENDED) {
        fa_metrics_session_ended(fedauth_metrics(), FA_METRICS_END_EXPIRED,
                                 1);
        return APR_NOTFOUND;
    }
    return APR_SUCCESS;
}
