/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_registry.h - what mod_fedauth_registry.c offers: the
 * account registry (FedAuthRegistry) at start (opened, and described to
 * fedauthctl) and at sign-in (the account of a verified identity). */
#ifndef MOD_FEDAUTH_REGISTRY_H
#define MOD_FEDAUTH_REGISTRY_H

#include "mod_fedauth_types.h"

/* Opens the registry of every server with FedAuthRegistry On (after the
 * stores are made) and writes <DefaultRuntimeDir>/fedauthctl.conf. */
int fedauth_registry_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                 server_rec *s);

/* At sign-in, once the claims of a verified token are mapped to s: with
 * the registry On, the linked (or a newly registered) account: s->user
 * becomes the account name and its manual roles join s->roles. Errors
 * (err->code): not_registered, account_disabled, account_deleted,
 * not_allowed_idp, invalid_username, store_unavailable, registry_damaged.
 * With the registry Off: APR_SUCCESS, nothing done. */
apr_status_t fedauth_registry_signin(request_rec *r, fedauth_srv_t *sc,
                                     fa_session_t *s, fa_err_t *err);
/* Once the new session of s is stored and indexed: the account is read
 * again and must still be allowed to sign in through s->idp. fedauthctl
 * writes an account's new state before it ends its sessions, so a
 * disable that this sign-in's first look missed either shows here or
 * finds this session in the index. With the registry Off: APR_SUCCESS. */
apr_status_t fedauth_registry_recheck(request_rec *r, fedauth_srv_t *sc,
                                      const fa_session_t *s, fa_err_t *err);
/* The HTTP status of a registry error code, 0 for other codes. */
int fedauth_registry_status(const char *code);
/* What the user reads for a registry error code, NULL for other codes. */
const char *fedauth_registry_text(const char *code);

#endif
