/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_basic.h - what mod_fedauth_basic.c offers: app passwords
 * from the account registry, sent with HTTP Basic at locations with
 * FedAuthBasic On (WebDAV clients, rclone, git, scripts). */
#ifndef MOD_FEDAUTH_BASIC_H
#define MOD_FEDAUTH_BASIC_H

#include "mod_fedauth_types.h"

/* Makes this process's cache of verified app passwords and its key
 * (child_init). */
apr_status_t fedauth_basic_child_init(apr_pool_t *p);
/* Authorization: Basic <value> at a location with FedAuthBasic On: OK
 * with the account exported to the request (no session, no cookie), else
 * the error answer (401 with a Basic challenge, 403 for a disabled
 * account, 429 after too many failures, 503). */
int fedauth_basic_check(request_rec *r, fedauth_srv_t *sc,
                        fedauth_dir_t *dc, const char *value);
/* A request without credentials at a location with FedAuthBasic On that
 * is not a browser's navigation: the 401 with a Basic challenge that
 * makes WebDAV clients and curl send their app password. DECLINED for a
 * navigation (it is sent to sign in) or when FedAuthBasic is not On. */
int fedauth_basic_no_credentials(request_rec *r, fedauth_dir_t *dc);
/* An internal redirect (ErrorDocument, a handler's redirect) of a request
 * signed in with an app password, whose Authorization header is gone by
 * now, to a location with FedAuthBasic On: OK with the same account.
 * DECLINED otherwise. */
int fedauth_basic_redirected(request_rec *r, fedauth_dir_t *dc);
/* 1 when s was made from an app password (not by a sign-in). */
int fedauth_basic_session(const fa_session_t *s);

#endif
