/* SPDX-License-Identifier: Apache-2.0 */
/* fa_http_curl.c - the HTTP client of fa_http.h over libcurl.
 *
 * Each thread keeps one curl handle and reuses it (curl_easy_reset keeps
 * its connections and TLS sessions): the userinfo call right after the
 * token request, and the next sign-in on that thread, go over the
 * connection already open to the IdP instead of a new TCP and TLS
 * handshake. A handle belongs to the process that made it: after a fork
 * the child leaves the parent's alone (closing it could write a TLS
 * close_notify into the parent's connection) and makes its own. */
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#include <pthread.h>
#include <apr_strings.h>
#include <curl/curl.h>
#include "fa_http.h"
#include "fa_log.h"

typedef struct body_buf_t {
    apr_pool_t *p;
    char *data;
    apr_size_t len;
    apr_size_t cap;
    apr_size_t max;
    int too_large;
} body_buf_t;

/* The client's settings (fa_http_t's baton). */
typedef struct curl_client_t {
    const char *proxy;            /* NULL: none */
    const char *noproxy;
    const char *masked;           /* proxy with its password as *** */
} curl_client_t;

typedef struct thread_handle_t {
    CURL *curl;
    pid_t pid;
} thread_handle_t;

static pthread_once_t handle_once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;
static int handle_key_ok;

static void handle_free(void *data)
{
    thread_handle_t *th = data;

    if (th->pid == getpid()) {
        curl_easy_cleanup(th->curl);
    }
    free(th);
}

static void handle_key_init(void)
{
    handle_key_ok = pthread_key_create(&handle_key, handle_free) == 0;
}

/* This thread's handle, reset to no options; NULL when there is none to
 * be had (the caller then uses a handle of its own). */
static CURL *thread_handle(void)
{
    thread_handle_t *th;

    if (pthread_once(&handle_once, handle_key_init) != 0 || !handle_key_ok) {
        return NULL;
    }
    th = pthread_getspecific(handle_key);
    if (th && th->pid != getpid()) {
        /* inherited across fork: abandoned, see above */
        th = NULL;
    }
    if (th) {
        curl_easy_reset(th->curl);
        return th->curl;
    }
    if (!(th = calloc(1, sizeof(*th)))) {
        return NULL;
    }
    if (!(th->curl = curl_easy_init())) {
        free(th);
        return NULL;
    }
    th->pid = getpid();
    if (pthread_setspecific(handle_key, th) != 0) {
        curl_easy_cleanup(th->curl);
        free(th);
        return NULL;
    }
    return th->curl;
}

apr_status_t fa_http_curl_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
           ? APR_SUCCESS : APR_EGENERAL;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body_buf_t *b = userdata;
    apr_size_t n = size * nmemb;
    char *grown;

    if (n > b->max - b->len) {
        b->too_large = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        if (cap > b->max + 1) {
            cap = b->max + 1;
        }
        grown = apr_palloc(b->p, cap);
        if (b->len) {
            memcpy(grown, b->data, b->len);
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static apr_status_t curl_status(CURL *curl, CURLcode rc, const char *url,
                                const curl_client_t *cl, fa_err_t *err)
{
    switch (rc) {
    case CURLE_OK:
        return APR_SUCCESS;
    case CURLE_WRITE_ERROR:
        return fa_err_set(err, "idp_bad_response",
                          "response from %s is too large", url);
    default:
        if (cl && cl->proxy) {
            long connect = 0;

            curl_easy_getinfo(curl, CURLINFO_HTTP_CONNECTCODE, &connect);
            return fa_err_set(err, "idp_unreachable", "%s through the "
                              "proxy %s: %s%s", url, cl->masked,
                              curl_easy_strerror(rc), connect == 407
                              ? " (the proxy answered CONNECT with 407: "
                                "proxy authentication required)" : "");
        }
        return fa_err_set(err, "idp_unreachable", "%s: %s", url,
                          curl_easy_strerror(rc));
    }
}

/* A proxy that wants credentials (407) answered for the IdP: for an http
 * URL as the answer itself, for https to the CONNECT (the transfer then
 * failed, and curl_status has said so). */
static apr_status_t proxy_refused(CURL *curl, const char *url,
                                  const curl_client_t *cl, fa_err_t *err)
{
    long status = 0;

    if (!cl || !cl->proxy) {
        return APR_SUCCESS;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 407) {
        return APR_SUCCESS;
    }
    return fa_err_set(err, "idp_unreachable", "%s: the proxy %s answered "
                      "407 (proxy authentication required: "
                      "FedAuthOutgoingProxy needs user:password, or "
                      "others)", url, cl->masked);
}

/* The proxy of every request, never one from the environment: libcurl
 * reads http_proxy and friends unless CURLOPT_PROXY is set, and "" sets
 * it to none; NOPROXY "" likewise ignores no_proxy. */
static void set_proxy(CURL *curl, const curl_client_t *cl)
{
    curl_easy_setopt(curl, CURLOPT_PROXY, cl && cl->proxy ? cl->proxy : "");
    curl_easy_setopt(curl, CURLOPT_NOPROXY,
                     cl && cl->noproxy ? cl->noproxy : "");
}

/* Retry-After of the answer in seconds (a date is turned into the
 * seconds until it by libcurl); 0 when there is none. */
static long retry_after_of(CURL *curl)
{
#if LIBCURL_VERSION_NUM >= 0x074200
    curl_off_t secs = 0;

    if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &secs) == CURLE_OK
        && secs > 0) {
        return secs > 3600 ? 3600 : (long)secs;
    }
#else
    (void)curl;
#endif
    return 0;
}

/* What every transfer is: the checked URL, the time bound, the proxy,
 * no redirects, http and https only, certificates checked. */
static void transfer_options(CURL *curl, CURLU *url, int timeout_sec,
                             const curl_client_t *cl)
{
    curl_easy_setopt(curl, CURLOPT_CURLU, url);
    curl_easy_setopt(curl, CURLOPT_DISALLOW_USERNAME_IN_URL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)timeout_sec);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)timeout_sec);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    set_proxy(curl, cl);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mod_fedauth");
}

static apr_status_t curl_perform(fa_http_t *http, apr_pool_t *p,
                                 const fa_http_request_t *req,
                                 fa_http_response_t **presp, fa_err_t *err)
{
    CURL *curl;
    CURLU *url;
    struct curl_slist *headers = NULL;
    body_buf_t buf;
    fa_http_response_t *resp;
    CURLcode rc;
    long status = 0;
    char *ctype = NULL;
    apr_status_t rv;
    int own;

    *presp = NULL;
    memset(&buf, 0, sizeof(buf));
    buf.p = p;
    buf.max = req->max_response;
    /* libcurl is handed the very parse the URL rule checked, so the host
     * it connects to is the one the rule allowed. */
    if (!(url = fa_url_parse_checked(req->url))) {
        /* the discovery and configuration checks keep such URLs out;
         * this is the last line, with a 502 code the callers know */
        return fa_err_set(err, "idp_unreachable", "not called: an IdP URL "
                          "that is not https (or http to a loopback host) "
                          "or has a user name or password");
    }
    own = !(curl = thread_handle());
    if (own && !(curl = curl_easy_init())) {
        curl_url_cleanup(url);
        return fa_err_set(err, "internal_error", "curl_easy_init failed");
    }
    transfer_options(curl, url, req->timeout_sec, http->baton);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (req->authorization) {
        headers = curl_slist_append(headers,
            apr_pstrcat(p, "Authorization: ", req->authorization, NULL));
    }
    if (req->body) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
        headers = curl_slist_append(headers,
            apr_pstrcat(p, "Content-Type: ", req->content_type
                        ? req->content_type
                        : "application/x-www-form-urlencoded", NULL));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    rc = curl_easy_perform(curl);
    if (rc == CURLE_WRITE_ERROR && !buf.too_large) {
        rc = CURLE_RECV_ERROR;
    }
    if ((rv = curl_status(curl, rc, req->url, http->baton, err)) != APR_SUCCESS
        || (rv = proxy_refused(curl, req->url, http->baton, err))
           != APR_SUCCESS) {
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype);
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->status = (int)status;
    resp->body = buf.data ? buf.data : "";
    resp->body_len = buf.len;
    resp->content_type = ctype ? apr_pstrdup(p, ctype) : NULL;
    resp->retry_after = retry_after_of(curl);
    *presp = resp;
    fa_log(FA_LOG_DEBUG, FALOGNO(01701) "%s %s -> %d (%lu bytes)",
           req->method, req->url, resp->status,
           (unsigned long)resp->body_len);
out:
    /* The handle keeps pointers to these until the next reset: clear them
     * now, so nothing dangles between requests. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(curl, CURLOPT_CURLU, NULL);
    curl_slist_free_all(headers);
    curl_url_cleanup(url);
    if (own) {
        curl_easy_cleanup(curl);
    }
    return rv;
}

fa_http_t *fa_http_curl_create(apr_pool_t *p)
{
    fa_http_t *http = apr_pcalloc(p, sizeof(*http));

    http->perform = curl_perform;
    http->baton = apr_pcalloc(p, sizeof(curl_client_t));
    return http;
}

void fa_http_curl_set_proxy(fa_http_t *http, const char *proxy,
                            const char *noproxy, const char *masked)
{
    curl_client_t *cl = http->baton;

    cl->proxy = proxy;
    cl->noproxy = noproxy;
    cl->masked = masked ? masked : "(set)";
}

/* The parts of a proxy URL; every one freed by the caller. */
typedef struct proxy_parts_t {
    char *scheme, *user, *password, *host, *port, *path, *query,
         *fragment;
} proxy_parts_t;

static const char *proxy_parts(CURLU *u, proxy_parts_t *pp)
{
    curl_url_get(u, CURLUPART_SCHEME, &pp->scheme, 0);
    curl_url_get(u, CURLUPART_USER, &pp->user, 0);
    curl_url_get(u, CURLUPART_PASSWORD, &pp->password, 0);
    curl_url_get(u, CURLUPART_HOST, &pp->host, 0);
    curl_url_get(u, CURLUPART_PORT, &pp->port, 0);
    curl_url_get(u, CURLUPART_PATH, &pp->path, 0);
    curl_url_get(u, CURLUPART_QUERY, &pp->query, 0);
    curl_url_get(u, CURLUPART_FRAGMENT, &pp->fragment, 0);
    if (!pp->scheme || (strcasecmp(pp->scheme, "http")
                        && strcasecmp(pp->scheme, "https"))) {
        return "expects an http:// or https:// URL of a proxy";
    }
    if (!pp->host || !*pp->host) {
        return "expects a URL with a host";
    }
    if ((pp->path && strcmp(pp->path, "/")) || pp->query || pp->fragment) {
        return "expects only scheme, [user:password@]host and port";
    }
    return NULL;
}

const char *fa_http_proxy_check(apr_pool_t *p, const char *url,
                                const char **pmasked)
{
    proxy_parts_t pp;
    const char *bad = NULL, *c;
    CURLU *u;

    *pmasked = NULL;
    for (c = url; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '\\') {
            return "expects a URL of printable ASCII without spaces";
        }
    }
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
        return "expects an http:// or https:// URL of a proxy";
    }
    memset(&pp, 0, sizeof(pp));
    if (!(u = curl_url())) {
        return "cannot parse URLs (out of memory)";
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        bad = "expects a URL such as http://proxy.example.com:3128";
    }
    else if (!(bad = proxy_parts(u, &pp))) {
        *pmasked = apr_pstrcat(p, pp.scheme, "://",
                               pp.user ? pp.user : "",
                               pp.password ? ":***" : "",
                               pp.user || pp.password ? "@" : "",
                               pp.host, pp.port ? ":" : "",
                               pp.port ? pp.port : "", NULL);
    }
    curl_free(pp.scheme);
    curl_free(pp.user);
    curl_free(pp.password);
    curl_free(pp.host);
    curl_free(pp.port);
    curl_free(pp.path);
    curl_free(pp.query);
    curl_free(pp.fragment);
    curl_url_cleanup(u);
    return bad;
}
