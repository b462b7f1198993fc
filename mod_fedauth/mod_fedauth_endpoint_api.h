/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_endpoint_api.h - what mod_fedauth_endpoint_api.c offers:
 * the JSON endpoints for scripts, /fedauth/session and
 * /fedauth/authenticate, and /fedauth/jwks, for the dispatch in mod_fedauth.c (and nothing
 * else). */
#ifndef MOD_FEDAUTH_ENDPOINT_API_H
#define MOD_FEDAUTH_ENDPOINT_API_H

#include "mod_fedauth_types.h"

/* /fedauth/session: this browser's session as JSON, or 401. */
int fedauth_handle_session(request_rec *r, fedauth_srv_t *sc);
/* /fedauth/authenticate (FedAuthTokenLogin On): an ID token becomes a
 * session, or a one-time code that becomes one. */
int fedauth_handle_authenticate(request_rec *r, fedauth_srv_t *sc);
/* /fedauth/jwks: the public keys of the server's ClientKeyFiles, made at
 * start; DECLINED (404) when there are none. */
int fedauth_handle_jwks(request_rec *r, fedauth_srv_t *sc);

#endif
