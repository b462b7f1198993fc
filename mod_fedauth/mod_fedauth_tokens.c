/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_tokens.c - the access token of a session: kept from the
 * sign-in when configured (FedAuthPassAccessToken On somewhere, or
 * FedAuthRefreshBeforeExpiry), and refreshed before it expires with the
 * refresh token, once across all processes and hosts: the one request
 * that adds the lock key to the store refreshes, the others go on with
 * the current token. No token value ever reaches a log line here. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "mod_fedauth_tokens.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_metrics.h"
#include "fa_oidc.h"
#include "fa_util.h"

APLOG_USE_MODULE(fedauth);

/* How often a request that waits for another's refresh looks again. */
#define WAIT_STEP_MS 100

/* UserInfoRefresh on the provider of s: its sessions keep their tokens
 * to read userinfo with, whatever else the server keeps. */
static int reads_userinfo(const fedauth_srv_t *sc, const fa_session_t *s)
{
    const fedauth_provider_t *prov = fedauth_provider_find(sc, s->idp);

    return prov && prov->userinfo_refresh > 0;
}

void fedauth_tokens_keep(request_rec *r, const fedauth_srv_t *sc,
                         fa_session_t *s, const fa_oidc_tokens_t *tok)
{
    int refresh = fedauth_refresh_before(sc) > 0 || reads_userinfo(sc, s);

    if (!tok || !tok->access_token
        || !(fedauth_keep_tokens(sc) || reads_userinfo(sc, s))) {
        return;
    }
    if (!fa_oidc_token_ok(tok->access_token)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00807)
                      "user %s: the access token from %s (%lu bytes) is "
                      "not kept: longer than 8192 bytes, or not visible "
                      "ASCII; no access token is passed on",
                      fa_oidc_loggable(r->pool, s->user, 256), s->idp,
                      (unsigned long)strlen(tok->access_token));
        return;
    }
    s->access_token = tok->access_token;
    s->access_exp = fa_oidc_access_expiry(r->pool, tok, fa_now_sec());
    if (refresh && tok->refresh_token
        && fa_oidc_token_ok(tok->refresh_token)) {
        s->refresh_token = tok->refresh_token;
    }
    if (refresh && !s->refresh_token) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00808)
                      "user %s: %s sent no usable refresh token: the "
                      "access token of this session is not refreshed",
                      fa_oidc_loggable(r->pool, s->user, 256), s->idp);
    }
}

apr_status_t fedauth_tokens_reread(request_rec *r, fa_store_t *store,
                                   const char *key, fa_session_t **ps)
{
    char *rec;
    apr_size_t len;
    apr_status_t rv;

    if ((rv = store->get(store, key, r->pool, &rec, &len)) != APR_SUCCESS) {
        return rv;
    }
    return fa_session_decode(r->pool, rec, len, ps) == APR_SUCCESS
           ? APR_SUCCESS : APR_NOTFOUND;
}

static apr_status_t write_back(request_rec *r, fedauth_srv_t *sc,
                               fa_store_t *store, const char *key,
                               fa_session_t *s)
{
    char *rec;
    apr_size_t len;

    s->last_seen = fa_now_sec();
    fa_session_encode(r->pool, s, &rec, &len);
    if (len > FA_SESSION_BUDGET) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00804)
                      "session of %s over %d bytes with the refreshed "
                      "tokens: they are not kept; no access token is "
                      "passed on", fa_oidc_loggable(r->pool, s->user, 256),
                      FA_SESSION_BUDGET);
        s->access_token = s->refresh_token = NULL;
        s->access_exp = 0;
        fa_session_encode(r->pool, s, &rec, &len);
    }
    return store->put(store, key, rec, len,
                      fa_session_expires_at(s, fedauth_idle_timeout(sc),
                                            fedauth_max_age(sc)), r->pool);
}

fedauth_tokens_outcome_t fedauth_tokens_put_back(request_rec *r,
                                                 fedauth_srv_t *sc,
                                                 fa_store_t *store,
                                                 const char *key,
                                                 fa_session_t *s,
                                                 const char *after)
{
    fa_session_t *fresh;

    /* A logout (here, elsewhere, or the IdP's back-channel) during the
     * call to the IdP must not be undone by the write. */
    if (fedauth_tokens_reread(r, store, key, &fresh) == APR_NOTFOUND) {
        return FEDAUTH_TOKENS_ENDED;
    }
    if (write_back(r, sc, store, key, s) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00803)
                      "session of %s: cannot write it back to the %s "
                      "store after %s", fa_oidc_loggable(r->pool,
                      s->user, 256), store->name, after);
    }
    return FEDAUTH_TOKENS_WRITTEN;
}

apr_status_t fedauth_tokens_grant(request_rec *r, fedauth_srv_t *sc,
                                  fa_session_t *s, fa_err_t *err)
{
    fedauth_provider_t *prov = fedauth_provider_find(sc, s->idp);
    fa_oidc_metadata_t *md;
    fa_oidc_tokens_t *tok;
    apr_status_t rv;

    if (!prov) {
        return fa_err_set(err, "idp_unknown", "no provider %s", s->idp);
    }
    if ((rv = fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md, err))
        != APR_SUCCESS
        || (rv = fa_oidc_refresh_request(r->pool, fedauth_http(), md,
                                         &prov->idp.client, s->refresh_token,
                                         &tok, err)) != APR_SUCCESS) {
        return rv;
    }
    if (!fa_oidc_token_ok(tok->access_token)
        || (tok->refresh_token && !fa_oidc_token_ok(tok->refresh_token))) {
        return fa_err_set(err, "idp_bad_response", "the refreshed tokens "
                          "are longer than 8192 bytes or not visible "
                          "ASCII");
    }
    s->access_token = tok->access_token;
    s->access_exp = fa_oidc_access_expiry(r->pool, tok, fa_now_sec());
    if (tok->refresh_token) {
        s->refresh_token = tok->refresh_token;   /* rotated */
    }
    return APR_SUCCESS;
}

/* Holding the lock: the session as stored now; refreshed unless another
 * request did it just before; on failure, FedAuthRefreshFailure. */
static fedauth_tokens_outcome_t refresh_locked(request_rec *r,
                                               fedauth_srv_t *sc,
                                               fa_store_t *store,
                                               const char *key,
                                               fa_session_t **ps)
{
    fa_session_t *s;
    fa_err_t err;
    apr_status_t rv;
    apr_int64_t now = fa_now_sec();
    int end = fedauth_refresh_failure(sc) == FEDAUTH_REFRESH_END;

    if ((rv = fedauth_tokens_reread(r, store, key, &s)) == APR_NOTFOUND) {
        return FEDAUTH_TOKENS_ENDED;
    }
    if (rv != APR_SUCCESS) {
        return FEDAUTH_TOKENS_GO_ON;     /* the store failed: next time */
    }
    if (!fedauth_tokens_due(s, fedauth_refresh_before(sc), now)) {
        *ps = s;                  /* refreshed meanwhile, or no tokens */
        return FEDAUTH_TOKENS_GO_ON;
    }
    memset(&err, 0, sizeof(err));
    if (fedauth_tokens_grant(r, sc, s, &err) == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00801)
                      "access token of %s refreshed at %s: valid for %"
                      APR_INT64_T_FMT " s", fa_oidc_loggable(r->pool,
                      s->user, 256), s->idp,
                      s->access_exp ? s->access_exp - now : -1);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00802)
                      "refresh of the access token of %s at %s failed: "
                      "%s: %s; FedAuthRefreshFailure %s: %s",
                      fa_oidc_loggable(r->pool, s->user, 256), s->idp,
                      err.code, err.desc, end ? "end" : "pass",
                      end ? "the session ends" : "the session goes on "
                      "without tokens");
        if (end) {
            store->del(store, key, r->pool);
            return FEDAUTH_TOKENS_ENDED;
        }
        s->access_token = s->refresh_token = NULL;
        s->access_exp = 0;
    }
    *ps = s;
    return fedauth_tokens_put_back(r, sc, store, key, s, "the refresh");
}

/* Another request holds the lock and the access token has expired: looks
 * again at the session until that request wrote it back, or let go of the
 * lock, or FedAuthHTTPTimeout + 1 s passed; then goes on without a token
 * when there is still no valid one. */
static fedauth_tokens_outcome_t wait_for_other(request_rec *r,
                                               fedauth_srv_t *sc,
                                               fa_store_t *store,
                                               const char *key,
                                               const char *lock_key,
                                               fa_session_t **ps)
{
    int steps = (fedauth_http_timeout(sc) + 1) * (1000 / WAIT_STEP_MS), i;
    fa_session_t *s;
    char *v;
    apr_size_t len;
    apr_status_t rv;

    for (i = 0; i < steps; i++) {
        apr_sleep(apr_time_from_msec(WAIT_STEP_MS));
        s = NULL;
        if ((rv = fedauth_tokens_reread(r, store, key, &s)) == APR_NOTFOUND) {
            return FEDAUTH_TOKENS_ENDED;
        }
        if (rv == APR_SUCCESS
            && (!s->access_token || s->access_exp > fa_now_sec())) {
            *ps = s;
            return FEDAUTH_TOKENS_GO_ON;
        }
        if (store->get(store, lock_key, r->pool, &v, &len) != APR_SUCCESS) {
            break;
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00806)
                  "access token of %s expired and being refreshed by "
                  "another request: this one goes on without it",
                  fa_oidc_loggable(r->pool, (*ps)->user, 256));
    (*ps)->access_token = NULL;
    return FEDAUTH_TOKENS_GO_ON;
}

fedauth_tokens_outcome_t fedauth_tokens_refresh(request_rec *r,
                                                fedauth_srv_t *sc,
                                                fa_store_t *store,
                                                const char *key,
                                                fa_session_t **ps)
{
    const char *lock_key = apr_pstrcat(r->pool, "r:", key + 2, NULL);
    /* The lock holds a value only this request knows: released with
     * del_if, it is never one that another request took after this one's
     * expired (a refresh that outlived it), which would let a third
     * refresh at the same time, with a refresh token already spent. */
    const char *mine = fa_random_token(r->pool, 16);
    apr_int64_t now = fa_now_sec();
    fedauth_tokens_outcome_t out;
    apr_status_t rv;

    rv = mine ? store->add(store, lock_key, mine, strlen(mine),
                           now + fedauth_http_timeout(sc) + 1, r->pool)
              : APR_EGENERAL;
    if (rv == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, FALOGNO(00809)
                      "access token of %s due: refreshing",
                      fa_oidc_loggable(r->pool, (*ps)->user, 256));
        out = refresh_locked(r, sc, store, key, ps);
        store->del_if(store, lock_key, mine, strlen(mine), r->pool);
        return out;
    }
    if (rv != APR_EEXIST) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, FALOGNO(00810)
                      "cannot take the refresh lock in the %s store: the "
                      "access token of %s is not refreshed now",
                      store->name, fa_oidc_loggable(r->pool, (*ps)->user,
                                                    256));
    }
    else if ((*ps)->access_exp <= now) {
        return wait_for_other(r, sc, store, key, lock_key, ps);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, FALOGNO(00805)
                      "access token of %s being refreshed by another "
                      "request: the current one is passed on",
                      fa_oidc_loggable(r->pool, (*ps)->user, 256));
    }
    if ((*ps)->access_exp <= now) {
        (*ps)->access_token = NULL;
    }
    return FEDAUTH_TOKENS_GO_ON;
}

/* ---- revocation at logout (RFC 7009) --------------------------------- */

const fa_oidc_metadata_t *fedauth_tokens_revoker(request_rec *r,
                                                 const fedauth_srv_t *sc,
                                                 fedauth_provider_t *prov)
{
    fa_oidc_metadata_t *md;
    fa_err_t err;

    if (!prov || !fedauth_keep_tokens(sc)) {
        return NULL;
    }
    memset(&err, 0, sizeof(err));
    if (fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md, &err)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01150)
                      "logout at %s: tokens not revoked, no discovery "
                      "document: %s: %s", prov->idp.id, err.code, err.desc);
        fa_metrics_revocation(fedauth_metrics(), prov->idp.id, 0);
        return NULL;
    }
    return md->revocation_endpoint ? md : NULL;
}

/* One token of s at its provider; 1 when the IdP could not be reached
 * (the next one is not tried then). */
static int revoke_one(request_rec *r, fedauth_provider_t *prov,
                      const fa_oidc_metadata_t *md, const fa_session_t *s,
                      const char *token, const char *hint)
{
    fa_err_t err;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    rv = fa_oidc_revoke(r->pool, fedauth_http(), md, &prov->idp.client,
                        token, hint, &err);
    fa_metrics_revocation(fedauth_metrics(), prov->idp.id,
                          rv == APR_SUCCESS);
    if (rv == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01151)
                      "%s of %s revoked at %s", hint,
                      fa_oidc_loggable(r->pool, s->user, 256), prov->idp.id);
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01152)
                  "revocation of the %s of %s at %s failed: %s: %s; the "
                  "logout goes on", hint,
                  fa_oidc_loggable(r->pool, s->user, 256), prov->idp.id,
                  err.code, err.desc);
    return err.code && !strcmp(err.code, "idp_unreachable");
}

void fedauth_tokens_revoke(request_rec *r, fedauth_srv_t *sc,
                           fedauth_provider_t *prov,
                           const fa_oidc_metadata_t *md,
                           const fa_session_t *s)
{
    if (!md || !prov || (!s->refresh_token && !s->access_token)) {
        return;
    }
    /* The refresh token first: while it lives, it makes new access
     * tokens (and at many IdPs its revocation ends the grant, access
     * tokens included). */
    if (s->refresh_token
        && revoke_one(r, prov, md, s, s->refresh_token, "refresh_token")) {
        if (s->access_token) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01153)
                          "access token of %s not revoked: %s did not "
                          "answer", fa_oidc_loggable(r->pool, s->user, 256),
                          prov->idp.id);
        }
        return;
    }
    if (s->access_token) {
        revoke_one(r, prov, md, s, s->access_token, "access_token");
    }
}
