/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_tokens.h - what mod_fedauth_tokens.c offers: the access
 * token of a session, kept from the sign-in when the configuration asks
 * for it, and refreshed before it expires, once across all processes and
 * hosts that share the store. */
#ifndef MOD_FEDAUTH_TOKENS_H
#define MOD_FEDAUTH_TOKENS_H

#include "mod_fedauth_types.h"
#include "fa_oidc.h"

/* At sign-in: puts the access token, its expiry and (with a refresh
 * configured) the refresh token of tok into s, when the server keeps
 * tokens (fedauth_keep_tokens); a token that is not header-safe is not
 * kept (one log line). tok may be NULL (token login: no access token). */
void fedauth_tokens_keep(request_rec *r, const fedauth_srv_t *sc,
                         fa_session_t *s, const fa_oidc_tokens_t *tok);

/* 1 when the access token of s is due for a refresh at now: two integers
 * compared, nothing else (the request path when it is not due). */
static inline int fedauth_tokens_due(const fa_session_t *s, int before,
                                     apr_int64_t now)
{
    return s->refresh_token && before > 0 && s->access_exp
           && now + before >= s->access_exp;
}

/* What fedauth_tokens_refresh did with the session. */
typedef enum {
    FEDAUTH_TOKENS_GO_ON,         /* *ps is the session to use (refreshed,
                                   * refreshed elsewhere, or as it was) */
    FEDAUTH_TOKENS_WRITTEN,       /* so, and this process wrote it back */
    FEDAUTH_TOKENS_ENDED          /* the session is gone (deleted here:
                                   * FedAuthRefreshFailure end, or ended
                                   * elsewhere meanwhile) */
} fedauth_tokens_outcome_t;

/* Refreshes the access token of the session at key (*ps, due): under a
 * short lock in the store (key "r:..."), the session read again from the
 * store, the refresh_token grant made, the session written back (put, so
 * that every copy sees it). A request that meets the lock goes on with
 * the current access token while it is valid, else waits a little for
 * the one that holds it (at most FedAuthHTTPTimeout + 1 s), else goes on
 * without a token. A failed refresh does what FedAuthRefreshFailure
 * says. */
fedauth_tokens_outcome_t fedauth_tokens_refresh(request_rec *r,
                                                fedauth_srv_t *sc,
                                                fa_store_t *store,
                                                const char *key,
                                                fa_session_t **ps);

/* The metadata of prov when its sessions' tokens are revoked at logout:
 * the server keeps tokens and the provider has a revocation_endpoint
 * (from its cached discovery document); else NULL (nothing to revoke, no
 * call). */
const fa_oidc_metadata_t *fedauth_tokens_revoker(request_rec *r,
                                                 const fedauth_srv_t *sc,
                                                 fedauth_provider_t *prov);

/* At logout, once the session s is gone from the store: its refresh
 * token, then its access token, revoked at md's revocation_endpoint
 * (RFC 7009, token_type_hint each), the client authenticating as at the
 * token endpoint. Each call within FedAuthHTTPTimeout; when the IdP does
 * not answer the first, the second is not tried. A failure is one log
 * line and a metric, never an error: the logout has happened. */
void fedauth_tokens_revoke(request_rec *r, fedauth_srv_t *sc,
                           fedauth_provider_t *prov,
                           const fa_oidc_metadata_t *md,
                           const fa_session_t *s);
/* The session at key as the store has it now (not a process's copy);
 * APR_NOTFOUND when gone (or unreadable). */
apr_status_t fedauth_tokens_reread(request_rec *r, fa_store_t *store,
                                   const char *key, fa_session_t **ps);
/* The refresh_token grant for s at its provider; s gets the new tokens.
 * Errors as fa_oidc_refresh_request (fa_oidc_invalid_grant tells the
 * IdP's refusal), "idp_unknown", "idp_bad_response". The caller holds
 * the session's refresh lock. */
apr_status_t fedauth_tokens_grant(request_rec *r, fedauth_srv_t *sc,
                                  fa_session_t *s, fa_err_t *err);

/* Writes s back at key (last_seen now; tokens that no longer fit the
 * budget left out, one info line), unless the session ended meanwhile
 * (FEDAUTH_TOKENS_ENDED): a logout during a call to the IdP is not
 * undone. A failed write is logged ("after <after>"); s stays the
 * session to use (FEDAUTH_TOKENS_WRITTEN). */
fedauth_tokens_outcome_t fedauth_tokens_put_back(request_rec *r,
                                                 fedauth_srv_t *sc,
                                                 fa_store_t *store,
                                                 const char *key,
                                                 fa_session_t *s,
                                                 const char *after);

#endif
