/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config.h - what mod_fedauth_config.c offers: the
 * configuration records' life cycle (the defaults and their getters are
 * in fedauth_defaults.h, included here), which providers a location
 * offers, what the directives note for the checks at start (provider
 * references, kept claims), and the run-time objects post_config makes
 * for everyone (the stores, the HTTP client). The lowest glue layer: it uses no other glue file. The
 * directives themselves are read by mod_fedauth_config_*.c (the table in
 * mod_fedauth_config_table.c). */
#ifndef MOD_FEDAUTH_CONFIG_H
#define MOD_FEDAUTH_CONFIG_H

#include "mod_fedauth_types.h"
#include "fedauth_defaults.h"
#include "fa_http.h"
#include "fa_jwt.h"

void *fedauth_create_srv(apr_pool_t *p, server_rec *s);
void *fedauth_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *fedauth_create_dir(apr_pool_t *p, char *dir);
void *fedauth_merge_dir(apr_pool_t *p, void *basev, void *addv);

/* A provider's settings get their defaults once, at the end of its block
 * (providers are not merged): the fields are then read as they are. */
void fedauth_provider_defaults(fedauth_provider_t *prov);

/* 1 when sessions keep the access token (and, with a refresh, the refresh
 * token): FedAuthPassAccessToken On anywhere, or a refresh configured. */
int fedauth_keep_tokens(const fedauth_srv_t *sc);
/* FedAuthPassAccessToken On was read somewhere (its handler says so). */
void fedauth_pass_token_seen(void);

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
/* The FedAuthProviders lines that name a provider no server defines: the
 * first one's message, NULL when none (for fedauth_config_check). */
const char *fedauth_config_check_refs(apr_pool_t *p, server_rec *s);

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
