/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_preserve_post.h - what mod_fedauth_preserve_post.c offers:
 * a form POST without a session kept across the sign-in
 * (FedAuthPreservePost), and posted again by the callback. */
#ifndef MOD_FEDAUTH_PRESERVE_POST_H
#define MOD_FEDAUTH_PRESERVE_POST_H

#include "mod_fedauth_types.h"

/* A POST without a session where FedAuthPreservePost is On and the
 * browser would be sent to sign in: keeps a form body that qualifies and
 * starts the sign-in (the redirect, or the error page of a sign-in that
 * cannot start). DECLINED, with a log line saying why, when the body is
 * not kept: the caller answers as without the directive (401). */
int fedauth_preserve_post(request_rec *r, fedauth_srv_t *sc,
                          fedauth_dir_t *dc);
/* After a callback made the session: when login kept a body, takes it
 * from the store (once), and answers the page that posts it again to
 * the original URL; OK then. DECLINED when there is none (the caller
 * redirects to return_to), also when it is gone or changed (logged). */
int fedauth_preserve_post_replay(request_rec *r, fedauth_srv_t *sc,
                                 const fa_login_t *login, const char *state);

#endif
