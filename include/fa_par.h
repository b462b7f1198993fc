/* SPDX-License-Identifier: Apache-2.0 */
/* fa_par.h - Pushed Authorization Requests (RFC 9126): the sign-in's
 * authorization parameters are POSTed to the provider's
 * pushed_authorization_request_endpoint (through fa_oidc_client_post, so
 * the client authenticates as at the token endpoint), and the browser is
 * sent to the authorization endpoint with only client_id and the
 * request_uri the IdP answered. Nothing of the request travels through
 * the browser, where it could be read or changed. No state, no I/O of its
 * own. Part of the httpd-free core. */
#ifndef FA_PAR_H
#define FA_PAR_H

#include <apr_pools.h>
#include "fa_util.h"
#include "fa_http.h"
#include "fa_oidc.h"

/* Largest answer read, and longest request_uri taken. */
#define FA_PAR_MAX_RESPONSE (16 * 1024)
#define FA_PAR_MAX_REQUEST_URI 1024

/* Pushes body (fa_oidc_par_body) to md->par_endpoint and reads the
 * answer: APR_SUCCESS and *prequest_uri. Errors: "invalid_discovery" (the
 * provider has no such endpoint), "idp_unreachable", "idp_error" (the IdP
 * answered 4xx with an OAuth error; desc holds its code and a cut,
 * sanitized description), "idp_bad_response" (anything but 200/201 with a
 * JSON object holding a request_uri of 1 to FA_PAR_MAX_REQUEST_URI
 * visible ASCII characters). */
apr_status_t fa_par_request(apr_pool_t *p, fa_http_t *http,
                            const fa_oidc_metadata_t *md,
                            const fa_oidc_client_t *client, const char *body,
                            const char **prequest_uri, fa_err_t *err);

/* Reads the endpoint's answer (what fa_par_request does with it). */
apr_status_t fa_par_response(apr_pool_t *p, int status, const char *body,
                             apr_size_t len, const char **prequest_uri,
                             fa_err_t *err);

/* The URL the browser is sent to: the authorization endpoint with
 * client_id and request_uri. */
char *fa_par_auth_url(apr_pool_t *p, const fa_oidc_metadata_t *md,
                      const fa_oidc_client_t *client,
                      const char *request_uri);

#endif
