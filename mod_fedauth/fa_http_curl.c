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

static apr_status_t curl_status(CURLcode rc, const char *url, fa_err_t *err)
{
    switch (rc) {
    case CURLE_OK:
        return APR_SUCCESS;
    case CURLE_WRITE_ERROR:
        return fa_err_set(err, "idp_bad_response",
                          "response from %s is too large", url);
    default:
        return fa_err_set(err, "idp_unreachable", "%s: %s", url,
                          curl_easy_strerror(rc));
    }
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
    curl_easy_setopt(curl, CURLOPT_CURLU, url);
    curl_easy_setopt(curl, CURLOPT_DISALLOW_USERNAME_IN_URL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)req->timeout_sec);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)req->timeout_sec);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mod_fedauth");
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
    if ((rv = curl_status(rc, req->url, err)) != APR_SUCCESS) {
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype);
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->status = (int)status;
    resp->body = buf.data ? buf.data : "";
    resp->body_len = buf.len;
    resp->content_type = ctype ? apr_pstrdup(p, ctype) : NULL;
    *presp = resp;
    fa_log(FA_LOG_DEBUG, "%s %s -> %d (%lu bytes)", req->method, req->url,
           resp->status, (unsigned long)resp->body_len);
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
    return http;
}
