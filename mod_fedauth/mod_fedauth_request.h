/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_request.h - what mod_fedauth_request.c offers: the hooks of
 * the request path of a protected resource, for the hook table in
 * mod_fedauth.c (and nothing else). */
#ifndef MOD_FEDAUTH_REQUEST_H
#define MOD_FEDAUTH_REQUEST_H

#include "mod_fedauth_types.h"

/* post_read_request: drops client headers that look like ours. */
int fedauth_strip_headers(request_rec *r);
/* check_access_ex: answers a CORS preflight to a protected location of a
 * site with FedAuthAllowedOrigin, without a session. */
int fedauth_preflight(request_rec *r);
/* check_authn: the session (or bearer token) of AuthType FedAuth. */
int fedauth_check_authn(request_rec *r);
/* Registers the authorization providers fedauth-role, fedauth-claim and
 * fedauth-idp with mod_authz_core. */
void fedauth_register_authz(apr_pool_t *p);
/* check_config: warns about each Require expr over FEDAUTH_* that httpd
 * decides before sign-in (it does not name REMOTE_USER). */
void fedauth_check_require_expr(server_rec *s);
/* check_authz (auth_checker), before mod_authz_core's: runs the other
 * authorization hooks and gives 403 instead of their 401 when a Require
 * fedauth-* line refused the signed-in user. */
int fedauth_check_authz(request_rec *r);
/* fixups: FedAuthUnauthenticated pass, and FEDAUTH_ERROR for error
 * documents. */
int fedauth_fixups(request_rec *r);

#endif
