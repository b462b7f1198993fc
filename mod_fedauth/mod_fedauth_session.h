/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_session.h - what mod_fedauth_session.c offers: the sessions
 * of requests: finding the one a cookie names (with this process's copies
 * of recent ones), making a new one from a verified token, storing it with
 * its cookie, and ending one. */
#ifndef MOD_FEDAUTH_SESSION_H
#define MOD_FEDAUTH_SESSION_H

#include "mod_fedauth_types.h"
#include "fa_jwt.h"
#include "fa_oidc.h"

/* Makes this process's cache of session copies (child_init); without it,
 * every request reads the store. */
void fedauth_session_child_init(apr_pool_t *p);

/* Session lookup of the request: APR_SUCCESS and *ps (and *pkey, its store
 * key, when pkey is not NULL); APR_NOTFOUND when there is no valid
 * session; other: the store failed. */
apr_status_t fedauth_session_load(request_rec *r, fedauth_srv_t *sc,
                                  fa_session_t **ps, const char **pkey);
/* fedauth_session_load that also gives the session's provider (enabled),
 * found once by the load: the request path asks no second time. */
apr_status_t fedauth_session_load_prov(request_rec *r, fedauth_srv_t *sc,
                                       fa_session_t **ps,
                                       fedauth_provider_t **pprov);
/* The same for a request that is about to end the session (logout): the
 * access token is never refreshed first, even when due (the IdP would
 * issue tokens that are then only revoked). */
apr_status_t fedauth_session_load_to_end(request_rec *r, fedauth_srv_t *sc,
                                         fa_session_t **ps,
                                         const char **pkey);
/* Drops this process's copy of a session, and the host's (logout,
 * back-channel logout). */
void fedauth_session_forget(request_rec *r, const char *key);
/* FedAuthSessionHostCache: makes the host's copies of size bytes, each
 * to serve for seconds at most, in post_config, before the fork (size
 * 0: none); logs why when it cannot. */
apr_status_t fedauth_session_host_cache(apr_pool_t *pconf, server_rec *s,
                                        apr_size_t size, int seconds);

/* The keys of FedAuthSecret's value i (0: the first, which signs;
 * others: older values, which only verify), NULL past the last. */
const fa_keys_t *fedauth_keys_at(const fedauth_srv_t *sc, int i);
/* fedauth_index_key under the keys of value i, NULL past the last. */
const char *fedauth_index_key_at(request_rec *r, const fedauth_srv_t *sc,
                                 int i, const char *kind, const char *idp,
                                 const char *value);
/* A mark that something was used once (an ID token, a logout token):
 * prefix + fa_keys_tag(label, value) added to the store until then,
 * under every listed secret, so that hosts that share at least one
 * secret see each other's marks during a rotation. APR_SUCCESS the first
 * time; APR_EEXIST when any mark was there; else the store failed. */
apr_status_t fedauth_add_once(request_rec *r, const fedauth_srv_t *sc,
                              const char *prefix, const char *label,
                              const char *value, apr_int64_t until);

/* The store key of the set of sessions with the same value of kind (sid,
 * sub; jti for used logout tokens) at provider idp: a MAC of the values,
 * so no outside text becomes a key. */
const char *fedauth_index_key(request_rec *r, const fedauth_srv_t *sc,
                              const char *kind, const char *idp,
                              const char *value);

/* The store key of the index back-channel logout finds the sessions of a
 * logout token's sub at prov by: the user's index (kind sub) when
 * IdentifyingClaim is sub, else the index of the ID tokens' sub (kind
 * token-sub), so that a logout ends exactly the sessions made from ID
 * tokens with that sub. */
/* Its kind: "sub" or "token-sub". */
const char *fedauth_logout_sub_kind(const fedauth_provider_t *prov);
const char *fedauth_logout_sub_key(request_rec *r, const fedauth_srv_t *sc,
                                   const fedauth_provider_t *prov,
                                   const char *sub);

/* Maps the claims of a verified ID token to a new session of prov, with
 * the access token of tok (may be NULL) when the server keeps tokens,
 * within FA_SESSION_BUDGET (what does not fit is left out, one info line
 * each). */
apr_status_t fedauth_map_session(request_rec *r, fedauth_srv_t *sc,
                                 fedauth_provider_t *prov, fa_jwt_t *jwt,
                                 const char *id_token,
                                 const fa_oidc_tokens_t *tok,
                                 fa_session_t *s, fa_err_t *err);
/* What the user reads when fedauth_map_session failed with err;
 * otherwise when the reason is none of the session's limits. */
const char *fedauth_map_failure_text(const fa_err_t *err,
                                     const char *otherwise);
/* Stores s as a new session and sets the session cookie; a session this
 * browser had before ends. */
apr_status_t fedauth_store_session(request_rec *r, fedauth_srv_t *sc,
                                   fa_session_t *s, fa_err_t *err);

#endif
