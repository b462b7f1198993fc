/* SPDX-License-Identifier: Apache-2.0 */
/* fa_http.h - the core's HTTP client: a table of function pointers, so the
 * protocol code never sees libcurl (fa_http_curl.c is the adapter).
 * Part of the httpd-free core. */
#ifndef FA_HTTP_H
#define FA_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "fa_util.h"

typedef struct fa_http_request_t {
    const char *method;          /* "GET" or "POST" */
    const char *url;
    const char *body;            /* POST body, or NULL */
    apr_size_t body_len;
    const char *content_type;    /* of the body */
    const char *authorization;   /* whole Authorization value, or NULL */
    int timeout_sec;             /* for connect + transfer together */
    apr_size_t max_response;     /* bytes; a longer body is an error */
} fa_http_request_t;

typedef struct fa_http_response_t {
    int status;
    const char *body;            /* NUL-terminated */
    apr_size_t body_len;
    const char *content_type;    /* NULL when the server sent none */
    long retry_after;            /* Retry-After in seconds; 0: none */
} fa_http_response_t;

typedef struct fa_http_t fa_http_t;
struct fa_http_t {
    /* Performs one request. Errors: "idp_unreachable" (connect, DNS,
     * timeout, TLS), "idp_bad_response" (larger than max_response or
     * unreadable). An HTTP error status is not an error here. */
    apr_status_t (*perform)(fa_http_t *http, apr_pool_t *p,
                            const fa_http_request_t *req,
                            fa_http_response_t **presp, fa_err_t *err);
    void *baton;
};

/* FedAuthOutgoingProxy: NULL when url is a proxy URL the module takes
 * (http:// or https://, a host, an optional port and user:password,
 * nothing after the authority but "/"), else what is wrong with it. On
 * success *pmasked (from p) is the URL to show in messages: the password
 * replaced by "***". */
const char *fa_http_proxy_check(apr_pool_t *p, const char *url,
                                const char **pmasked);

/* The outgoing proxy of a libcurl client: every request goes through
 * proxy, except to the hosts noproxy names (libcurl's NOPROXY list:
 * comma-separated host names, .domain suffixes, IP addresses; NULL:
 * none). proxy NULL: no proxy. Either way the environment (http_proxy,
 * https_proxy, all_proxy, no_proxy) is never read. masked is proxy as
 * fa_http_proxy_check shows it, named in connection errors. Call before
 * the first request. */
void fa_http_curl_set_proxy(fa_http_t *http, const char *proxy,
                            const char *noproxy, const char *masked);

/* Once per process, before threads: curl_global_init. */
apr_status_t fa_http_curl_global_init(void);
/* A libcurl client. Redirects are not followed; only http and https. */
fa_http_t *fa_http_curl_create(apr_pool_t *p);

#endif
