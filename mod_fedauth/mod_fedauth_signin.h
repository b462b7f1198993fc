/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_signin.h - what mod_fedauth_signin.c offers: starting a
 * sign-in. Which providers a browser may choose from (and the one it
 * chose last time), the login state and its cookie, the redirect to the
 * IdP, and the answer when a sign-in step fails. Used by the request path
 * (a browser without a session) and by the login and callback endpoints. */
#ifndef MOD_FEDAUTH_SIGNIN_H
#define MOD_FEDAUTH_SIGNIN_H

#include "mod_fedauth_types.h"

/* Where a browser without a session goes: straight to the one provider
 * (or the remembered one), else the chooser at /fedauth/login. */
int fedauth_send_to_signin(request_rec *r, fedauth_srv_t *sc,
                           fedauth_dir_t *dc, const char *return_to);
/* The provider a browser without a session would go to straight away
 * (the only one offered here, or the remembered one); NULL when it would
 * see the chooser first, or none is offered. */
fedauth_provider_t *fedauth_signin_direct(request_rec *r,
                                          fedauth_srv_t *sc,
                                          fedauth_dir_t *dc);
/* fedauth_start_login that also keeps a form body of len bytes for the
 * callback to post again (FedAuthPreservePost): DECLINED, with nothing
 * sent or set, when the store did not take it. */
int fedauth_start_login_kept(request_rec *r, fedauth_provider_t *prov,
                             const char *return_to, apr_table_t *hints,
                             const char *body, apr_size_t len);
/* Starts a login at provider prov for return_to: a redirect to the IdP.
 * hints: login_hint / domain_hint for the IdP, or NULL. */
int fedauth_start_login(request_rec *r, fedauth_provider_t *prov,
                        const char *return_to, apr_table_t *hints);
/* The answer to a sign-in step that failed with err: logged, and an error
 * page whose status follows err->code; user_text (or err->desc when NULL)
 * is what the user reads. Returns the status. */
int fedauth_signin_refused(request_rec *r, const fedauth_provider_t *prov,
                           const fa_err_t *err, const char *user_text);
/* The name of the cookie that binds the login of state to this browser. */
const char *fedauth_state_cookie_name(request_rec *r, const fedauth_srv_t *sc,
                                      const char *state);

/* The enabled providers, limited to the comma-separated ids in only when
 * it is given, in SortOrder. */
apr_array_header_t *fedauth_providers_for(request_rec *r,
                                          const fedauth_srv_t *sc,
                                          const char *only);
/* FedAuthRememberChoice: the provider of a valid remembered-choice cookie
 * that is in list, or NULL; setting and ending that cookie. */
fedauth_provider_t *fedauth_remembered(request_rec *r,
                                       const fedauth_srv_t *sc,
                                       const apr_array_header_t *list);
void fedauth_remember_set(request_rec *r, const fedauth_srv_t *sc,
                          const fedauth_provider_t *prov);
void fedauth_remember_clear(request_rec *r, const fedauth_srv_t *sc);

#endif
