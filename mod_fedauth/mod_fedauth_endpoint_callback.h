/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_endpoint_callback.h - what mod_fedauth_endpoint_callback.c
 * offers: the redirect URI /signin-<id>, for the dispatch in
 * mod_fedauth.c (and nothing else). */
#ifndef MOD_FEDAUTH_ENDPOINT_CALLBACK_H
#define MOD_FEDAUTH_ENDPOINT_CALLBACK_H

#include "mod_fedauth_types.h"

/* The IdP's answer to a login started here: a new session, and the
 * browser goes back to where it wanted to go. */
int fedauth_handle_callback(request_rec *r, fedauth_srv_t *sc,
                            fedauth_provider_t *prov);

#endif
