/* SPDX-License-Identifier: Apache-2.0 */
/* fa_idp.c - run-time identity provider and its discovery/JWKS cache; see
 * fa_idp.h.
 *
 * Each cached document lives in a snapshot with its own pool and a
 * reference count: a reader takes a reference under the lock and verifies
 * without it; a refetch swaps the pointer and the last reader frees the old
 * snapshot. Fetches themselves are serialized by a second lock, so many
 * threads that miss at once cause one fetch. */
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "fa_idp.h"
#include "fa_jwk.h"
#include "fa_log.h"

typedef struct snapshot_t {
    apr_pool_t *pool;
    unsigned int refs;
    apr_int64_t fetched_at;
    fa_oidc_metadata_t *md;     /* metadata snapshots */
    fa_jwks_t *jwks;            /* JWKS snapshots */
} snapshot_t;

struct fa_idp_t {
    fa_idp_conf_t conf;
    const char *metadata_url;
    apr_thread_mutex_t *lock;        /* guards the pointers and refs */
    apr_thread_mutex_t *fetch_lock;  /* one fetch at a time */
    snapshot_t *md;
    snapshot_t *jwks;
    apr_int64_t md_tried_at;         /* last fetch attempts, for the */
    apr_int64_t jwks_tried_at;       /* refetch guards */
    apr_int64_t jwks_forced_at;      /* last fetch for an unknown key */
    unsigned int jwks_fetches;
    fa_metrics_t *metrics;           /* or NULL */
    /* The last failed fetch of each document, for the status page; under
     * lock. */
    apr_int64_t md_failed_at, jwks_failed_at;
    char md_error[256], jwks_error[256];
};

#define WELL_KNOWN "/.well-known/openid-configuration"

static void snapshot_release(fa_idp_t *idp, snapshot_t *snap);

/* The cache lives in pools of its own: drop it with the provider. */
static apr_status_t idp_cleanup(void *data)
{
    fa_idp_t *idp = data;
    snapshot_t *md = idp->md, *jwks = idp->jwks;

    idp->md = idp->jwks = NULL;
    snapshot_release(idp, md);
    snapshot_release(idp, jwks);
    return APR_SUCCESS;
}

apr_status_t fa_idp_create(apr_pool_t *p, const fa_idp_conf_t *conf,
                           fa_idp_t **pidp)
{
    fa_idp_t *idp = apr_pcalloc(p, sizeof(*idp));
    apr_size_t len;
    apr_status_t rv;

    *pidp = NULL;
    idp->conf = *conf;
    if (conf->metadata_url) {
        idp->metadata_url = conf->metadata_url;
    }
    else {
        len = strlen(conf->issuer);
        idp->metadata_url = apr_pstrcat(p, conf->issuer,
            (len && conf->issuer[len - 1] == '/') ? WELL_KNOWN + 1
                                                  : WELL_KNOWN, NULL);
    }
    if ((rv = apr_thread_mutex_create(&idp->lock, APR_THREAD_MUTEX_DEFAULT,
                                      p)) != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&idp->fetch_lock,
                                         APR_THREAD_MUTEX_DEFAULT, p))
           != APR_SUCCESS) {
        return rv;
    }
    /* Registered after the mutexes, so it runs before they go away. */
    apr_pool_cleanup_register(p, idp, idp_cleanup, apr_pool_cleanup_null);
    *pidp = idp;
    return APR_SUCCESS;
}

const fa_idp_conf_t *fa_idp_conf(const fa_idp_t *idp)
{
    return &idp->conf;
}

const char *fa_idp_metadata_url(const fa_idp_t *idp)
{
    return idp->metadata_url;
}

void fa_idp_set_metrics(fa_idp_t *idp, fa_metrics_t *m)
{
    idp->metrics = m;
}

unsigned int fa_idp_jwks_fetches(const fa_idp_t *idp)
{
    return idp->jwks_fetches;
}

static void snapshot_release(fa_idp_t *idp, snapshot_t *snap)
{
    int last;

    if (!snap) {
        return;
    }
    apr_thread_mutex_lock(idp->lock);
    last = (--snap->refs == 0);
    apr_thread_mutex_unlock(idp->lock);
    if (last) {
        apr_pool_destroy(snap->pool);
    }
}

/* Takes a reference to *slot when it is fresh enough (max_age seconds, or
 * any age when max_age < 0). */
static snapshot_t *snapshot_acquire(fa_idp_t *idp, snapshot_t **slot,
                                    apr_int64_t now, apr_int64_t max_age)
{
    snapshot_t *snap;

    apr_thread_mutex_lock(idp->lock);
    snap = *slot;
    if (snap && (max_age < 0 || now - snap->fetched_at < max_age)) {
        snap->refs++;
    }
    else {
        snap = NULL;
    }
    apr_thread_mutex_unlock(idp->lock);
    return snap;
}

/* Installs a new snapshot, holding one reference for the caller. */
static void snapshot_install(fa_idp_t *idp, snapshot_t **slot,
                             snapshot_t *snap)
{
    snapshot_t *old;

    snap->refs = 2;      /* the slot's and the caller's */
    apr_thread_mutex_lock(idp->lock);
    old = *slot;
    *slot = snap;
    apr_thread_mutex_unlock(idp->lock);
    snapshot_release(idp, old);
}

static apr_status_t snapshot_new(snapshot_t **psnap)
{
    apr_pool_t *pool;
    apr_status_t rv;

    *psnap = NULL;
    if ((rv = apr_pool_create_unmanaged_ex(&pool, NULL, NULL))
        != APR_SUCCESS) {
        return rv;
    }
    *psnap = apr_pcalloc(pool, sizeof(snapshot_t));
    (*psnap)->pool = pool;
    return APR_SUCCESS;
}

static apr_status_t http_get(fa_idp_t *idp, fa_http_t *http, apr_pool_t *p,
                             const char *url, apr_size_t max,
                             fa_http_response_t **presp, fa_err_t *err)
{
    fa_http_request_t req;
    apr_status_t rv;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    req.timeout_sec = idp->conf.client.timeout_sec;
    req.max_response = max;
    if ((rv = http->perform(http, p, &req, presp, err)) != APR_SUCCESS) {
        return rv;
    }
    if ((*presp)->status != 200) {
        return fa_err_set(err, "idp_bad_response", "GET %s answered %d",
                          url, (*presp)->status);
    }
    return APR_SUCCESS;
}

/* Remembers why a fetch of the discovery document (jwks 0) or the JWKS
 * failed, for fa_idp_state. */
static void note_failure(fa_idp_t *idp, int jwks, apr_int64_t now,
                         const fa_err_t *err)
{
    char *slot = jwks ? idp->jwks_error : idp->md_error;

    apr_thread_mutex_lock(idp->lock);
    *(jwks ? &idp->jwks_failed_at : &idp->md_failed_at) = now;
    apr_snprintf(slot, sizeof(idp->md_error), "%s: %s",
                 err && err->code ? err->code : "failed",
                 err ? err->desc : "no details");
    apr_thread_mutex_unlock(idp->lock);
}

static apr_status_t fetch_metadata(fa_idp_t *idp, fa_http_t *http,
                                   apr_int64_t now, snapshot_t **psnap,
                                   fa_err_t *err)
{
    fa_http_response_t *resp;
    snapshot_t *snap;
    apr_status_t rv;

    if ((rv = snapshot_new(&snap)) != APR_SUCCESS) {
        return fa_err_set(err, "internal_error", "out of memory");
    }
    rv = http_get(idp, http, snap->pool, idp->metadata_url,
                  FA_OIDC_MAX_DISCOVERY, &resp, err);
    if (rv == APR_SUCCESS) {
        rv = fa_oidc_metadata_parse(snap->pool, resp->body, resp->body_len,
                                    idp->conf.issuer, &snap->md, err);
    }
    fa_metrics_fetch(idp->metrics, idp->conf.id, FA_METRICS_DISCOVERY,
                     rv == APR_SUCCESS);
    if (rv != APR_SUCCESS) {
        note_failure(idp, 0, now, err);
        apr_pool_destroy(snap->pool);
        return rv;
    }
    snap->fetched_at = now;
    snapshot_install(idp, &idp->md, snap);
    *psnap = snap;
    return APR_SUCCESS;
}

static fa_oidc_metadata_t *metadata_copy(apr_pool_t *p,
                                         const fa_oidc_metadata_t *src)
{
    fa_oidc_metadata_t *md = apr_pmemdup(p, src, sizeof(*md));

    md->issuer = apr_pstrdup(p, src->issuer);
    md->authorization_endpoint = apr_pstrdup(p, src->authorization_endpoint);
    md->token_endpoint = apr_pstrdup(p, src->token_endpoint);
    md->jwks_uri = apr_pstrdup(p, src->jwks_uri);
    md->userinfo_endpoint = apr_pstrdup(p, src->userinfo_endpoint);
    md->end_session_endpoint = apr_pstrdup(p, src->end_session_endpoint);
    md->introspection_endpoint = apr_pstrdup(p,
                                             src->introspection_endpoint);
    md->revocation_endpoint = apr_pstrdup(p, src->revocation_endpoint);
    md->par_endpoint = apr_pstrdup(p, src->par_endpoint);
    return md;
}

/* A snapshot of the metadata; a stale one serves when a refetch fails. */
static apr_status_t metadata_acquire(fa_idp_t *idp, fa_http_t *http,
                                     apr_int64_t now, snapshot_t **psnap,
                                     fa_err_t *err)
{
    snapshot_t *snap;
    apr_status_t rv;

    *psnap = snapshot_acquire(idp, &idp->md, now, FA_IDP_CACHE_TTL);
    if (*psnap) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(idp->fetch_lock);
    snap = snapshot_acquire(idp, &idp->md, now, FA_IDP_CACHE_TTL);
    if (!snap && idp->md && now - idp->md_tried_at < FA_IDP_REFETCH_MIN) {
        /* A refresh failed moments ago: do not wait on the IdP again. */
        snap = snapshot_acquire(idp, &idp->md, now, -1);
    }
    if (!snap) {
        idp->md_tried_at = now;
        rv = fetch_metadata(idp, http, now, &snap, err);
        if (rv != APR_SUCCESS) {
            snap = snapshot_acquire(idp, &idp->md, now, -1);
            if (snap) {
                fa_log(FA_LOG_WARN, FALOGNO(01702) "provider %s: "
                       "refreshing discovery failed (%s), using the cached "
                       "copy", idp->conf.id, err ? err->desc : "?");
            }
        }
    }
    apr_thread_mutex_unlock(idp->fetch_lock);
    *psnap = snap;
    return snap ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t fa_idp_metadata(fa_idp_t *idp, fa_http_t *http, apr_pool_t *p,
                             fa_oidc_metadata_t **pmd, fa_err_t *err)
{
    snapshot_t *snap;
    apr_status_t rv;

    *pmd = NULL;
    if ((rv = metadata_acquire(idp, http, fa_now_sec(), &snap, err))
        != APR_SUCCESS) {
        return rv;
    }
    *pmd = metadata_copy(p, snap->md);
    snapshot_release(idp, snap);
    return APR_SUCCESS;
}

/* Fetches the JWKS unless another thread did so since `seen` was taken,
 * or a fetch of the same kind is younger than FA_IDP_REFETCH_MIN: for an
 * ordinary fetch (missing or stale copy), any attempt when there is a copy
 * to fall back on; for a forced one (a key the copy lacks), the last
 * forced one. So a key rotated right after an ordinary fetch still gets
 * its one look at once, and tokens naming made-up keys cause at most one
 * fetch per FA_IDP_REFETCH_MIN. */
static apr_status_t jwks_refresh(fa_idp_t *idp, fa_http_t *http,
                                 apr_int64_t now, snapshot_t *seen,
                                 int forced, snapshot_t **psnap,
                                 fa_err_t *err)
{
    snapshot_t *snap = NULL, *mdsnap = NULL;
    fa_http_response_t *resp;
    apr_status_t rv = APR_SUCCESS;
    fa_err_t local;

    *psnap = NULL;
    if (!err) {                   /* the status page wants the reason */
        memset(&local, 0, sizeof(local));
        err = &local;
    }
    /* Before the fetch lock: a stale discovery document is fetched under
     * that same lock. */
    if ((rv = metadata_acquire(idp, http, now, &mdsnap, err))
        != APR_SUCCESS) {
        return rv;
    }
    apr_thread_mutex_lock(idp->fetch_lock);
    if (idp->jwks != seen) {
        /* Someone else refreshed meanwhile: use theirs. */
        *psnap = snapshot_acquire(idp, &idp->jwks, now, -1);
        goto out;
    }
    if (forced ? now - idp->jwks_forced_at < FA_IDP_REFETCH_MIN
               : now - idp->jwks_tried_at < FA_IDP_REFETCH_MIN && idp->jwks) {
        /* Tried moments ago: the caller keeps what it has. */
        rv = fa_err_set(err, "unknown_key", "the token's key is not in the "
                        "JWKS of %s, fetched %ld s ago", idp->conf.id,
                        (long)(now - idp->jwks_tried_at));
        goto out;
    }
    idp->jwks_tried_at = now;
    if (forced) {
        idp->jwks_forced_at = now;
    }
    if ((rv = snapshot_new(&snap)) != APR_SUCCESS) {
        rv = fa_err_set(err, "internal_error", "out of memory");
        goto out;
    }
    rv = http_get(idp, http, snap->pool, mdsnap->md->jwks_uri,
                  FA_JWKS_MAX_BYTES, &resp, err);
    if (rv == APR_SUCCESS) {
        rv = fa_jwks_parse(snap->pool, resp->body, resp->body_len,
                           &snap->jwks, err);
    }
    fa_metrics_fetch(idp->metrics, idp->conf.id, FA_METRICS_JWKS,
                     rv == APR_SUCCESS);
    if (rv != APR_SUCCESS) {
        note_failure(idp, 1, now, err);
        apr_pool_destroy(snap->pool);
        goto out;
    }
    idp->jwks_fetches++;
    snap->fetched_at = now;
    snapshot_install(idp, &idp->jwks, snap);
    *psnap = snap;
    fa_log(FA_LOG_INFO, FALOGNO(01703) "provider %s: fetched JWKS with %d "
           "usable keys", idp->conf.id, snap->jwks->keys->nelts);
out:
    apr_thread_mutex_unlock(idp->fetch_lock);
    snapshot_release(idp, mdsnap);
    return rv;
}

static int tenant_id_ok(const char *s, apr_size_t len)
{
    apr_size_t i;

    if (len == 0 || len > 64) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* 1 when iss fits the issuer template tmpl (see fa_idp_issuer_ok). */
static int issuer_fits(const char *tmpl, const char *iss, const char *tid,
                       int any_tenant)
{
    const char *ph = strstr(tmpl, FA_IDP_TENANT), *after;
    apr_size_t pre, post, len = strlen(iss);

    if (!ph) {
        return strcmp(tmpl, iss) == 0;
    }
    pre = (apr_size_t)(ph - tmpl);
    after = ph + sizeof(FA_IDP_TENANT) - 1;
    post = strlen(after);
    if (len <= pre + post || strncmp(iss, tmpl, pre) != 0
        || strcmp(iss + len - post, after) != 0
        || !tenant_id_ok(iss + pre, len - pre - post)) {
        return 0;
    }
    if (any_tenant) {
        return 1;
    }
    return tid && strlen(tid) == len - pre - post
           && strncmp(iss + pre, tid, len - pre - post) == 0;
}

int fa_idp_issuer_ok(const fa_idp_conf_t *conf, const char *iss,
                     const char *tid, int any_tenant)
{
    int i;

    if (!iss) {
        return 0;
    }
    if (issuer_fits(conf->issuer, iss, tid, any_tenant)) {
        return 1;
    }
    for (i = 0; conf->valid_issuers && i < conf->valid_issuers->nelts; i++) {
        if (issuer_fits(APR_ARRAY_IDX(conf->valid_issuers, i, const char *),
                        iss, tid, any_tenant)) {
            return 1;
        }
    }
    return 0;
}

static const unsigned char *hmac_key(const fa_idp_t *idp, apr_size_t *len)
{
    const char *secret = idp->conf.client.client_secret;

    *len = secret ? strlen(secret) : 0;
    return (const unsigned char *)secret;
}

/* The kinds of token a provider issues that a verifier must tell apart:
 * each is refused where another is expected (RFC 8725 section 3.11). */
typedef enum {
    KIND_ID,
    KIND_ACCESS,
    KIND_LOGOUT
} token_kind_t;

/* What a kind of token must satisfy beyond its signature. */
typedef struct verify_opts_t {
    token_kind_t kind;
    const char *nonce;          /* when not NULL, nonce must equal it */
    const char *audience;       /* NULL: the client id */
    int require_sub;
    int require_iat;
    int allow_hmac;             /* HS* keyed by the client secret */
    int skip_azp;
} verify_opts_t;

#define BACKCHANNEL_EVENT "http://schemas.openid.net/event/backchannel-logout"

static int has_claim(const fa_jwt_t *jwt, const char *name)
{
    return json_object_get(jwt->claims, name) != NULL;
}

/* An ID token is untyped or typed JWT, and carries no events (that is a
 * logout token, or another security event). */
static apr_status_t kind_id(const fa_jwt_t *jwt, fa_err_t *err)
{
    if (!fa_jwt_typ_is(jwt, NULL)) {
        return fa_err_set(err, "invalid_token", "an explicitly typed token "
                          "(not JWT) is not an ID token");
    }
    if (has_claim(jwt, "events")) {
        return fa_err_set(err, "invalid_token", "a token with an events "
                          "claim (a logout token) is not an ID token");
    }
    return APR_SUCCESS;
}

/* An access token is typed at+jwt (RFC 9068), or untyped / JWT as Entra
 * ID and others send them; then it must not look like an ID token. Never
 * events. */
static apr_status_t kind_access(const fa_jwt_t *jwt, fa_err_t *err)
{
    int at = fa_jwt_typ_is(jwt, "at+jwt");

    if (!at && !fa_jwt_typ_is(jwt, NULL)) {
        return fa_err_set(err, "invalid_token", "an explicitly typed token "
                          "other than at+jwt is not an access token");
    }
    if (has_claim(jwt, "events")) {
        return fa_err_set(err, "invalid_token", "a token with an events "
                          "claim (a logout token) is not an access token");
    }
    /* An ID token is for the client that asked for it, not a key to an
     * API: refuse what looks like one unless it says it is an access
     * token. */
    if (!at && (has_claim(jwt, "nonce") || has_claim(jwt, "at_hash")
                || has_claim(jwt, "c_hash"))) {
        return fa_err_set(err, "invalid_token", "an ID token is not "
                          "accepted as a bearer token");
    }
    return APR_SUCCESS;
}

/* Back-Channel Logout 1.0 sections 2.4 and 2.6: typed logout+jwt, or
 * untyped / JWT as before the final text; the back-channel event; never
 * a nonce; a jti (the replay marker); sid or sub. */
static apr_status_t kind_logout(const fa_jwt_t *jwt, fa_err_t *err)
{
    json_t *events = json_object_get(jwt->claims, "events");
    const char *jti = fa_jwt_claim_str(jwt, "jti");

    if (!fa_jwt_typ_is(jwt, "logout+jwt") && !fa_jwt_typ_is(jwt, NULL)) {
        return fa_err_set(err, "invalid_logout_token", "an explicitly typed "
                          "token other than logout+jwt is not a logout "
                          "token");
    }
    if (!json_is_object(events)
        || !json_is_object(json_object_get(events, BACKCHANNEL_EVENT))) {
        return fa_err_set(err, "invalid_logout_token", "no back-channel "
                          "logout event in the events claim");
    }
    if (has_claim(jwt, "nonce")) {
        return fa_err_set(err, "invalid_logout_token", "a logout token must "
                          "not have a nonce");
    }
    if (!jti || !*jti) {
        return fa_err_set(err, "invalid_logout_token", "no jti: a logout "
                          "token without one could be replayed");
    }
    if (!fa_jwt_claim_str(jwt, "sid") && !fa_jwt_claim_str(jwt, "sub")) {
        return fa_err_set(err, "invalid_logout_token", "neither sid nor sub");
    }
    return APR_SUCCESS;
}

static apr_status_t check_kind(const fa_jwt_t *jwt, token_kind_t kind,
                               fa_err_t *err)
{
    return kind == KIND_ID ? kind_id(jwt, err)
         : kind == KIND_ACCESS ? kind_access(jwt, err)
         : kind_logout(jwt, err);
}

static apr_status_t verify_token(fa_idp_t *idp, fa_http_t *http,
                                 apr_pool_t *p, const char *token,
                                 const verify_opts_t *opts, apr_int64_t now,
                                 fa_jwt_t **pjwt, fa_err_t *err);

apr_status_t fa_idp_verify_id_token(fa_idp_t *idp, fa_http_t *http,
                                    apr_pool_t *p, const char *token,
                                    const char *nonce, apr_int64_t now,
                                    fa_jwt_t **pjwt, fa_err_t *err)
{
    verify_opts_t opts = { KIND_ID, nonce, NULL, 1, 1, 1, 0 };

    return verify_token(idp, http, p, token, &opts, now, pjwt, err);
}

apr_status_t fa_idp_verify_access_token(fa_idp_t *idp, fa_http_t *http,
                                        apr_pool_t *p, const char *token,
                                        const char *audience,
                                        apr_int64_t now, fa_jwt_t **pjwt,
                                        fa_err_t *err)
{
    verify_opts_t opts = { KIND_ACCESS, NULL, audience, 1, 0, 0, 1 };

    return verify_token(idp, http, p, token, &opts, now, pjwt, err);
}

apr_status_t fa_idp_verify_logout_token(fa_idp_t *idp, fa_http_t *http,
                                        apr_pool_t *p, const char *token,
                                        apr_int64_t now, fa_jwt_t **pjwt,
                                        fa_err_t *err)
{
    verify_opts_t opts = { KIND_LOGOUT, NULL, NULL, 0, 1, 1, 0 };
    fa_jwt_t *jwt;
    apr_status_t rv;

    *pjwt = NULL;
    if ((rv = verify_token(idp, http, p, token, &opts, now, &jwt, err))
        != APR_SUCCESS) {
        return rv;
    }
    /* Without exp (IdPs that follow the text before its 2023 erratum),
     * the token is good for FA_IDP_LOGOUT_WINDOW after its iat. */
    if (!has_claim(jwt, "exp")
        && fa_idp_logout_token_until(jwt) < now) {
        return fa_err_set(err, "token_expired", "logout token without exp "
                          "issued more than %d s ago", FA_IDP_LOGOUT_WINDOW
                          + FA_JWT_LEEWAY);
    }
    *pjwt = jwt;
    return APR_SUCCESS;
}

apr_int64_t fa_idp_logout_token_until(const fa_jwt_t *jwt)
{
    if (has_claim(jwt, "exp")) {
        return fa_jwt_time_until(jwt, "exp", FA_JWT_LEEWAY);
    }
    return fa_jwt_time_until(jwt, "iat", FA_IDP_LOGOUT_WINDOW
                             + FA_JWT_LEEWAY);
}

/* 1 when a signature that failed with the cached JWKS may verify with
 * a newer one: the token names a kid the cache lacks, no cached key fits
 * its alg, or it names no kid and none of the keys that fit verified it.
 * An IdP that leaves kid out gives no other sign that it rotated. */
static int key_may_be_new(const fa_jwt_t *jwt, const fa_err_t *err)
{
    if (!err->code) {
        return 0;
    }
    if (!strcmp(err->code, "unknown_key")) {
        return 1;
    }
    return jwt->kid == NULL && !strcmp(err->code, "invalid_signature");
}

/* Verifies the signature of jwt with the JWKS: the cached one, fetched
 * when missing or older than FA_IDP_CACHE_TTL; once more, fetched anew,
 * when the key may be new and the JWKS was not fetched for this very
 * token (jwks_refresh keeps that to one fetch per FA_IDP_REFETCH_MIN). */
static apr_status_t verify_jwks(fa_idp_t *idp, fa_http_t *http,
                                const fa_jwt_t *jwt, apr_int64_t now,
                                fa_err_t *err)
{
    snapshot_t *snap, *fresh;
    fa_err_t local;
    apr_status_t rv;
    int just_fetched = 0;

    /* The error code decides on the refetch, so keep one when the caller
     * does not. */
    if (!err) {
        memset(&local, 0, sizeof(local));
        err = &local;
    }
    snap = snapshot_acquire(idp, &idp->jwks, now, FA_IDP_CACHE_TTL);
    if (!snap) {
        rv = jwks_refresh(idp, http, now, idp->jwks, 0, &snap, err);
        just_fetched = rv == APR_SUCCESS;
        if (rv != APR_SUCCESS) {
            snap = snapshot_acquire(idp, &idp->jwks, now, -1);
            if (!snap) {
                return rv;
            }
        }
    }
    rv = fa_jwt_verify(jwt, snap->jwks, NULL, 0, err);
    if (rv != APR_SUCCESS && !just_fetched && key_may_be_new(jwt, err)) {
        /* Perhaps the IdP rotated its keys: look once more. */
        if (jwks_refresh(idp, http, now, snap, 1, &fresh, NULL)
            == APR_SUCCESS && fresh) {
            snapshot_release(idp, snap);
            snap = fresh;
            rv = fa_jwt_verify(jwt, snap->jwks, NULL, 0, err);
        }
    }
    snapshot_release(idp, snap);
    return rv;
}

static apr_status_t verify_token(fa_idp_t *idp, fa_http_t *http,
                                 apr_pool_t *p, const char *token,
                                 const verify_opts_t *opts, apr_int64_t now,
                                 fa_jwt_t **pjwt, fa_err_t *err)
{
    fa_jwt_expect_t expect;
    fa_jwt_t *jwt;
    const unsigned char *key;
    const char *iss;
    apr_size_t key_len;
    apr_status_t rv;

    *pjwt = NULL;
    if ((rv = fa_jwt_parse(p, token, strlen(token), &jwt, err))
        != APR_SUCCESS
        || (rv = check_kind(jwt, opts->kind, err)) != APR_SUCCESS) {
        return rv;
    }
    key = opts->allow_hmac ? hmac_key(idp, &key_len) : NULL;
    if (!key) {
        key_len = 0;
    }
    if (!strncmp(jwt->alg, "HS", 2)) {
        rv = fa_jwt_verify(jwt, NULL, key, key_len, err);
    }
    else {
        rv = verify_jwks(idp, http, jwt, now, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    memset(&expect, 0, sizeof(expect));
    /* iss: the configured issuer, or another accepted one (ValidIssuer,
     * {tenantid} filled in with the token's own tid). */
    iss = fa_jwt_claim_str(jwt, "iss");
    expect.issuer = fa_idp_issuer_ok(&idp->conf, iss,
                                     fa_jwt_claim_str(jwt, "tid"), 0)
                    ? iss : idp->conf.issuer;
    expect.client_id = opts->audience ? opts->audience
                                      : idp->conf.client.client_id;
    expect.nonce = opts->nonce;
    expect.now = now;
    expect.leeway = FA_JWT_LEEWAY;
    expect.require_iat = opts->require_iat;
    expect.require_sub = opts->require_sub;
    expect.skip_azp = opts->skip_azp;
    expect.exp_optional = opts->kind == KIND_LOGOUT;
    if ((rv = fa_jwt_check_claims(jwt, &expect, err)) != APR_SUCCESS) {
        return rv;
    }
    *pjwt = jwt;
    return APR_SUCCESS;
}

/* ---- the status page -------------------------------------------------- */

apr_status_t fa_idp_warm(fa_idp_t *idp, fa_http_t *http, fa_err_t *err)
{
    apr_int64_t now = fa_now_sec();
    snapshot_t *snap;
    apr_status_t rv;

    if ((rv = metadata_acquire(idp, http, now, &snap, err)) != APR_SUCCESS) {
        return rv;
    }
    snapshot_release(idp, snap);
    snap = snapshot_acquire(idp, &idp->jwks, now, FA_IDP_CACHE_TTL);
    if (!snap) {
        rv = jwks_refresh(idp, http, now, idp->jwks, 0, &snap, err);
        if (rv != APR_SUCCESS) {
            /* An older copy still serves, as in verify_jwks; the failure,
             * if there was a fetch, is in the state. */
            snap = snapshot_acquire(idp, &idp->jwks, now, -1);
            rv = snap ? APR_SUCCESS : rv;
        }
    }
    snapshot_release(idp, snap);
    return rv;
}

static void doc_state(const snapshot_t *snap, apr_int64_t failed_at,
                      const char *error, apr_pool_t *p,
                      fa_idp_doc_state_t *out)
{
    out->fetched_at = snap ? snap->fetched_at : 0;
    out->refresh_at = snap ? snap->fetched_at + FA_IDP_CACHE_TTL : 0;
    out->failed_at = failed_at;
    out->error = failed_at ? apr_pstrdup(p, error) : NULL;
}

void fa_idp_state(fa_idp_t *idp, apr_pool_t *p, fa_idp_state_t *out)
{
    const fa_jwk_t *k;
    fa_idp_key_state_t *ks;
    int i;

    memset(out, 0, sizeof(*out));
    out->keys = apr_array_make(p, 4, sizeof(fa_idp_key_state_t));
    apr_thread_mutex_lock(idp->lock);
    doc_state(idp->md, idp->md_failed_at, idp->md_error, p,
              &out->discovery);
    doc_state(idp->jwks, idp->jwks_failed_at, idp->jwks_error, p,
              &out->jwks);
    out->jwks_fetches = idp->jwks_fetches;
    if (idp->md && idp->md->md->jwks_uri) {
        out->jwks_uri = apr_pstrdup(p, idp->md->md->jwks_uri);
    }
    for (i = 0; idp->jwks && i < idp->jwks->jwks->keys->nelts; i++) {
        k = APR_ARRAY_IDX(idp->jwks->jwks->keys, i, const fa_jwk_t *);
        ks = apr_array_push(out->keys);
        ks->kid = k->kid ? apr_pstrdup(p, k->kid) : NULL;
        ks->alg = k->alg ? apr_pstrdup(p, k->alg) : NULL;
        ks->kty = k->kty == FA_KTY_RSA ? "RSA"
                  : k->kty == FA_KTY_EC ? "EC" : "OKP";
        ks->bits = k->bits;
    }
    apr_thread_mutex_unlock(idp->lock);
}
