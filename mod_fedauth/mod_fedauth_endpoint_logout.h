/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_endpoint_logout.h - what mod_fedauth_endpoint_logout.c
 * offers: /fedauth/logout, /signin-<id>/backchannel and
 * /signin-<id>/frontchannel, for the dispatch
 * in mod_fedauth.c (and nothing else). */
#ifndef MOD_FEDAUTH_ENDPOINT_LOGOUT_H
#define MOD_FEDAUTH_ENDPOINT_LOGOUT_H

#include "mod_fedauth_types.h"

/* /fedauth/logout[?return_to=..]: ends this browser's session (and, with
 * FedAuthLogoutAtIdP On, goes on to the IdP's logout). */
int fedauth_handle_logout(request_rec *r, fedauth_srv_t *sc);
/* /signin-<id>/backchannel: a logout token of prov ends the sessions it
 * names, on every host that shares the store. */
int fedauth_handle_backchannel(request_rec *r, fedauth_srv_t *sc,
                               fedauth_provider_t *prov);
/* /signin-<id>/frontchannel?sid=..[&iss=..]: the IdP's logout page ends
 * the sessions of that IdP session (Front-Channel Logout 1.0), on every
 * host that shares the store. */
int fedauth_handle_frontchannel(request_rec *r, fedauth_srv_t *sc,
                                fedauth_provider_t *prov);

#endif
