/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_endpoint_login.h - what mod_fedauth_endpoint_login.c
 * offers: /fedauth/login, for the dispatch in mod_fedauth.c (and nothing
 * else). */
#ifndef MOD_FEDAUTH_ENDPOINT_LOGIN_H
#define MOD_FEDAUTH_ENDPOINT_LOGIN_H

#include "mod_fedauth_types.h"

/* /fedauth/login[?idp=..][&idps=..][&return_to=..][&choose=1]: a login at
 * the provider asked for, remembered or only one, else the chooser. */
int fedauth_handle_login(request_rec *r, fedauth_srv_t *sc);

#endif
