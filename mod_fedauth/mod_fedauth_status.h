/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_status.h - what mod_fedauth_status.c offers: the operator's
 * page /fedauth/status (FedAuthStatus On), answered after access control
 * like /fedauth/metrics. */
#ifndef MOD_FEDAUTH_STATUS_H
#define MOD_FEDAUTH_STATUS_H

#include "mod_fedauth_types.h"

/* In post_config: warns (FA00610) for each server with FedAuthStatus On
 * and no <Location> that could hold a Require for the page. */
void fedauth_status_post_config(server_rec *s);
/* The handler hook: answers GET /fedauth/status, in HTML, or in JSON for
 * ?format=json or an Accept naming application/json. Declines every
 * other URL, and this one when FedAuthStatus is not On. */
int fedauth_status_handler(request_rec *r);

#endif
