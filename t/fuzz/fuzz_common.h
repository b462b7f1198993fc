/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_common.h - what the libFuzzer targets in t/fuzz/ share: one-time
 * APR setup, a log callback that formats and drops every message, an
 * APR pool per input, exact-size copies of the input (so that
 * AddressSanitizer sees every byte read past its end) and an in-process
 * fa_http_t that answers every request with the fuzz input.
 * Links only the httpd-free core (mod_fedauth/fa_*.c). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "fa_util.h"
#include "fa_log.h"
#include "fa_http.h"

/* Stops the run: libFuzzer reports it as a crash with the input. */
#define FUZZ_CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, \
            __FILE__, __LINE__); abort(); } } while (0)

static void fuzz_log(void *baton, fa_log_level_t level, const char *file,
                     int line, const char *msg)
{
    const char *c;

    (void)baton;
    (void)level;
    (void)file;
    (void)line;
    /* A log line never spans lines: nothing from outside may inject one. */
    for (c = msg; *c; c++) {
        FUZZ_CHECK(*c != '\n' && *c != '\r');
    }
}

static void fuzz_init(void)
{
    static int done;

    if (!done) {
        apr_initialize();
        fa_log_set(fuzz_log, NULL, FA_LOG_DEBUG);
        done = 1;
    }
}

/* A pool of its own for one input: its memory goes back to malloc when it
 * is destroyed, so a use after the end of an input is seen. */
static apr_pool_t *fuzz_pool(void)
{
    apr_pool_t *p = NULL;

    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        abort();
    }
    return p;
}

static apr_status_t fuzz_free(void *data)
{
    free(data);
    return APR_SUCCESS;
}

/* A NUL-terminated copy of len bytes in a malloc block of exactly len + 1
 * bytes (freed with p), so that any read past it is reported. */
static char *fuzz_copy(apr_pool_t *p, const uint8_t *data, size_t len)
{
    char *buf = malloc(len + 1);

    if (!buf) {
        abort();
    }
    if (len) {
        memcpy(buf, data, len);
    }
    buf[len] = '\0';
    apr_pool_cleanup_register(p, buf, fuzz_free, apr_pool_cleanup_null);
    return buf;
}

/* An error the core returns: a stable code and a one-line description. */
static void fuzz_check_err(const fa_err_t *err)
{
    const char *c;

    FUZZ_CHECK(err->code != NULL && *err->code);
    for (c = err->desc; *c; c++) {
        FUZZ_CHECK(*c != '\n' && *c != '\r');
    }
}

/* ---- an HTTP client that answers with the fuzz input ----------------- */

typedef struct fuzz_http_t {
    fa_http_t http;
    int status;
    const char *content_type;
    const char *body;           /* NUL-terminated */
    apr_size_t len;
    int calls;
} fuzz_http_t;

static apr_status_t fuzz_perform(fa_http_t *http, apr_pool_t *p,
                                 const fa_http_request_t *req,
                                 fa_http_response_t **presp, fa_err_t *err)
{
    fuzz_http_t *f = http->baton;
    fa_http_response_t *resp;

    *presp = NULL;
    f->calls++;
    FUZZ_CHECK(req->method != NULL && req->url != NULL);
    FUZZ_CHECK(req->max_response > 0);
    /* As fa_http_curl.c does: a body over the limit is never handed on. */
    if (f->len > req->max_response) {
        return fa_err_set(err, "idp_bad_response", "response from %s is too "
                          "large", req->url);
    }
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->status = f->status;
    resp->body = f->body;
    resp->body_len = f->len;
    resp->content_type = f->content_type;
    *presp = resp;
    return APR_SUCCESS;
}

/* Status codes an IdP might answer with, chosen by one input byte. */
static const int FUZZ_STATUSES[16] = {
    200, 200, 200, 200, 200, 200, 200, 200,
    400, 401, 403, 500, 502, 302, 204, 0
};

static void fuzz_http_init(fuzz_http_t *f, int status,
                           const char *content_type, const char *body,
                           apr_size_t len)
{
    memset(f, 0, sizeof(*f));
    f->http.perform = fuzz_perform;
    f->http.baton = f;
    f->status = status;
    f->content_type = content_type;
    f->body = body;
    f->len = len;
}

#endif
