/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config.h - what mod_fedauth_config.c offers: the directive
 * table and the configuration records' life cycle, the effective values
 * with their defaults, which providers a location offers, the checks that
 * span several directives, and the run-time objects post_config makes for
 * everyone (the stores, the HTTP client). The lowest glue layer: it uses
 * no other glue file. */
#ifndef MOD_FEDAUTH_CONFIG_H
#define MOD_FEDAUTH_CONFIG_H

#include "mod_fedauth.h"
#include "fa_http.h"
#include "fa_jwt.h"

extern const command_rec fedauth_cmds[];

void *fedauth_create_srv(apr_pool_t *p, server_rec *s);
void *fedauth_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *fedauth_create_dir(apr_pool_t *p, char *dir);
void *fedauth_merge_dir(apr_pool_t *p, void *basev, void *addv);

/* Effective values with defaults applied. */
const char *fedauth_cookie_name(const fedauth_srv_t *sc);
int fedauth_idle_timeout(const fedauth_srv_t *sc);
int fedauth_max_age(const fedauth_srv_t *sc);
int fedauth_http_timeout(const fedauth_srv_t *sc);
/* FedAuthRefreshBeforeExpiry, 0 when not set (no refresh). */
int fedauth_refresh_before(const fedauth_srv_t *sc);
/* FedAuthRefreshFailure: FEDAUTH_REFRESH_END (default) or _PASS. */
int fedauth_refresh_failure(const fedauth_srv_t *sc);
/* 1 when sessions keep the access token (and, with a refresh, the refresh
 * token): FedAuthPassAccessToken On anywhere, or a refresh configured. */
int fedauth_keep_tokens(const fedauth_srv_t *sc);
int fedauth_sessions_per_user(const fedauth_srv_t *sc);
/* FedAuthIntrospectionCache: seconds an active introspection answer is
 * reused (0: asked each time); default 300. */
int fedauth_introspection_cache(const fedauth_srv_t *sc);
/* FedAuthBasicCache, and FedAuthBasicLimit's three values. */
int fedauth_basic_cache(const fedauth_srv_t *sc);
void fedauth_basic_limits(const fedauth_srv_t *sc, int *account,
                          int *client, int *window);
apr_size_t fedauth_shm_size(const fedauth_srv_t *sc);

/* The provider with this id in the server, enabled or not; NULL if none. */
fedauth_provider_t *fedauth_provider_find(const fedauth_srv_t *sc,
                                          const char *id);
/* 1 when provider prov may be used at a location with config dc: enabled
 * and, when the location lists providers, one of them. */
int fedauth_provider_offered(const fedauth_dir_t *dc,
                             const fedauth_provider_t *prov);
/* The provider whose issuer the token names, among those offered at dc
 * (all enabled ones when dc is NULL). */
fedauth_provider_t *fedauth_provider_by_issuer(const fedauth_srv_t *sc,
                                               const fedauth_dir_t *dc,
                                               const fa_jwt_t *jwt);

/* Forgets the FedAuthProviders uses of an earlier reading (pre_config). */
void fedauth_config_reset(apr_pool_t *pconf);
/* The claims that Require fedauth-claim lines ask about (kept in sessions
 * at login), and a provider id a FedAuthProviders or Require fedauth-idp
 * line names (checked at start). Read from an .htaccess file (at request
 * time) they keep nothing: an unknown provider id, or a claim the server's
 * configuration does not keep, is an error message (the request gets a
 * 500); NULL when fine. */
const apr_array_header_t *fedauth_kept_claims(void);
const char *fedauth_keep_claim(cmd_parms *cmd, const char *name);
const char *fedauth_provider_ref(cmd_parms *cmd, const char *what,
                                 const char *id);

/* The store spec with any password replaced by ***, for messages. */
const char *fedauth_store_spec_loggable(apr_pool_t *p, const char *spec);
/* Checks what only the whole configuration can tell; NULL when fine. */
const char *fedauth_config_check(apr_pool_t *p, server_rec *s);

/* The store of the request's server (made in post_config). */
fa_store_t *fedauth_store(request_rec *r);
/* The HTTP client for calls to identity providers: made in post_config,
 * shared by all servers of the process. */
void fedauth_http_set(fa_http_t *http);
fa_http_t *fedauth_http(void);
/* post_config, after fedauth_http_set: FedAuthOutgoingProxy and
 * FedAuthOutgoingNoProxy of the main server s set on the HTTP client
 * (none: no proxy, whatever the environment says), logged with the
 * proxy's password masked. */
void fedauth_outgoing_proxy(apr_pool_t *pconf, server_rec *s);
/* The outgoing proxy as messages show it (password ***) and the NoProxy
 * list, for the status page; NULL when unset. */
void fedauth_outgoing_shown(const char **proxy, const char **noproxy);

#endif
