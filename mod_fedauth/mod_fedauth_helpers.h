/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_helpers.h - what mod_fedauth_helpers.c offers: the small
 * request helpers that the request path and the endpoints share: cookies,
 * the error page, reading a form or a return_to, and passing a session on
 * to the request (user, environment, headers). */
#ifndef MOD_FEDAUTH_HELPERS_H
#define MOD_FEDAUTH_HELPERS_H

#include "mod_fedauth_types.h"

/* ---- cookies --------------------------------------------------------- */

/* Finds a cookie of the request without a copy: *val points into the
 * Cookie header and is not NUL-terminated. 0 when there is no such
 * cookie. */
int fedauth_cookie_peek(request_rec *r, const char *name, const char **val,
                        apr_size_t *len);
/* Reads a cookie of the request; NULL when absent. */
const char *fedauth_cookie_get(request_rec *r, const char *name);
/* Sets a host-only cookie (Path=/, HttpOnly, SameSite=Lax, Secure on
 * https); no Max-Age when max_age is negative, 0 ends it. */
void fedauth_cookie_set(request_rec *r, const char *name, const char *value,
                        int max_age);
/* The same for a cookie that must come along on a cross-site request
 * when cross_site is 1 (SameSite=None over https): a token-login binder. */
void fedauth_cookie_set_site(request_rec *r, const char *name,
                             const char *value, int max_age, int cross_site);
/* Sets (max_age 0: ends) a login state cookie; form_post: its provider
 * answers with a POST (FedAuthLoginCookieSameSite Auto makes it None). */
void fedauth_login_cookie_set(request_rec *r, const fedauth_srv_t *sc,
                              const char *name, const char *value,
                              int max_age, int form_post);
/* The session cookie's name on this request (no allocation):
 * __Host-<name> over https when the cookie may carry that prefix. */
const char *fedauth_session_cookie_name(request_rec *r,
                                        const fedauth_srv_t *sc);
/* Sets (max_age 0: ends) the session cookie with the FedAuthCookie*
 * attributes; a sign-in over https also ends a cookie of the unprefixed
 * name. */
void fedauth_session_cookie_set(request_rec *r, const fedauth_srv_t *sc,
                                const char *value, int max_age);
/* post_config: checks what goes into the cookies and makes the session
 * cookie's names from name (FedAuthSessionCookie). NULL, or the error. */
const char *fedauth_cookies_prepare(apr_pool_t *p, fedauth_srv_t *sc,
                                    const char *name);

/* ---- answers --------------------------------------------------------- */

/* Cache-Control: no-store, on every answer that is about a user. */
void fedauth_no_store(request_rec *r);
/* 1 when the request's Origin header names this site itself
 * (FedAuthRedirectBase, else the URL httpd makes for the request). */
int fedauth_origin_is_site(request_rec *r, const fedauth_srv_t *sc);
/* 1 when the browser says the request comes from a page of this site:
 * Sec-Fetch-Site same-origin, or (browsers without it) an Origin that is
 * this site. Neither header: not a browser's form from here, 0 too. */
int fedauth_from_this_site(request_rec *r, const fedauth_srv_t *sc);
/* CORS: 1 when the request's Origin is a FedAuthAllowedOrigin (then
 * Access-Control-Allow-Origin: that origin, -Credentials: true), 0 when
 * it has another Origin, -1 when it has none. Vary: Origin is added
 * whenever it has one. */
int fedauth_cors_allow(request_rec *r, const fedauth_srv_t *sc);
/* A copy of s (or "" for NULL) with ? for anything but printable ASCII. */
const char *fedauth_ascii(apr_pool_t *p, const char *s);
/* Ends the request with an error page, FEDAUTH_ERROR and a log line made
 * by the caller. Returns status. */
int fedauth_error(request_rec *r, int status, const char *code,
                  const char *description);

/* ---- reading the request --------------------------------------------- */

/* Reads an application/x-www-form-urlencoded body of at most max bytes:
 * APR_EINVAL when it is no such body, APR_ENOSPC when it is longer,
 * APR_EGENERAL when reading it failed (httpd's Timeout, a reset). */
apr_status_t fedauth_read_form_body(request_rec *r, apr_size_t max,
                                    const char **out, apr_size_t *outlen);
/* Logs that a return_to was refused and where the user goes instead. */
void fedauth_return_to_refused(request_rec *r, const char *return_to,
                               const char *instead);
/* return_to when it leads to a path on this site, else "/" (logged when
 * one was given). */
const char *fedauth_return_to_or_root(request_rec *r, const char *return_to);

/* ---- passing the user on --------------------------------------------- */

/* 1 for a header name the module sets itself (X-FedAuth-*, also spelled
 * with '_'), which no client may send. */
int fedauth_is_own_header(const char *key);
/* Exports a session to the request: r->user, and the values as
 * environment variables and request headers (FedAuthPassClaimsAs). */
void fedauth_export_session(request_rec *r, const fedauth_dir_t *dc,
                            const fa_session_t *s);
/* The session of this request, as the authentication check found it; a
 * subrequest sees its main request's. */
void fedauth_request_session_set(request_rec *r, fa_session_t *s);
fa_session_t *fedauth_request_session(request_rec *r);

#endif
