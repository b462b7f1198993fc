/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_status.c - /fedauth/status (FedAuthStatus On): the state of
 * the server's providers, session store and sessions, for people (HTML)
 * and for scripts (JSON). Like /fedauth/metrics it is answered by an
 * ordinary handler, after httpd's access control, so the Require of a
 * <Location /fedauth/status> decides who may read it. The document is
 * the core's (fa_status.c); here only the request and its headers. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "apr_strings.h"

#include "mod_fedauth_status.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_metrics.h"
#include "mod_fedauth_store_shm.h"
#include "fa_status.h"

APLOG_USE_MODULE(fedauth);

#define STATUS_PATH "/fedauth/status"

void fedauth_status_post_config(server_rec *s)
{
    fedauth_srv_t *sc;
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        if (fedauth_status_on(sc)
            && !fedauth_location_configured(vs, STATUS_PATH)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs, FALOGNO(00610)
                         "FedAuthStatus On in %s:%u, but no <Location %s>: "
                         "whoever may read the site may read the status of "
                         "its providers and store; put a Require in one",
                         vs->server_hostname ? vs->server_hostname
                         : "the main server", (unsigned)vs->port,
                         STATUS_PATH);
        }
    }
}

/* JSON for ?format=json, or an Accept that names application/json. */
static int wants_json(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    apr_table_t *args = NULL;
    const char *format;

    if (r->args) {
        ap_args_to_table(r, &args);
        format = apr_table_get(args, "format");
        if (format) {
            return !strcmp(format, "json");
        }
    }
    return accept && ap_strcasestr(accept, "application/json") != NULL;
}

/* Brings this process's provider caches up to date, as a sign-in would,
 * so the page shows what the next sign-in here would meet. */
static void warm_providers(request_rec *r, fedauth_srv_t *sc,
                           apr_array_header_t *idps)
{
    fedauth_provider_t *prov;
    fa_err_t err;
    int i;

    for (i = 0; i < sc->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        if (!prov->rt) {
            continue;
        }
        memset(&err, 0, sizeof(err));
        if (fa_idp_warm(prov->rt, fedauth_http(), &err) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00611)
                          "status: provider %s: %s", prov->idp.id,
                          fedauth_ascii(r->pool, err.desc));
        }
        APR_ARRAY_PUSH(idps, fa_idp_t *) = prov->rt;
    }
}

static void answer(request_rec *r, const char *type, const char *body)
{
    apr_size_t len = strlen(body);

    fedauth_no_store(r);
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; "
                   "frame-ancestors 'none'; base-uri 'none'; "
                   "form-action 'none'");
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    ap_set_content_type(r, type);
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(body, (int)len, r);
    }
}

int fedauth_status_handler(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    fa_status_in_t in;
    fa_shm_stats_t st;
    json_t *doc;
    char *text;

    if (r->main || !fedauth_status_on(sc) || strcmp(r->uri, STATUS_PATH)) {
        return DECLINED;
    }
    ap_allow_methods(r, 1, "GET", NULL);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    memset(&in, 0, sizeof(in));
    in.providers = apr_array_make(r->pool, sc->providers->nelts + 1,
                                  sizeof(fa_idp_t *));
    warm_providers(r, sc, (apr_array_header_t *)in.providers);
    in.store = sc->store;
    if (fedauth_shm_store_of(sc->store)) {
        fa_store_shm_stats(fedauth_shm_store_of(sc->store), &st);
        in.shm = &st;
    }
    in.metrics = fedauth_metrics();
    fedauth_outgoing_shown(&in.proxy, &in.noproxy);
    in.pid = (long)getpid();
    in.now = fa_now_sec();
    doc = fa_status_json(r->pool, &in);
    if (!doc) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00612)
                      "status: the status document could not be made");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (wants_json(r)) {
        text = json_dumps(doc, JSON_COMPACT);
        if (!text) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        answer(r, "application/json", apr_pstrcat(r->pool, text, "\n", NULL));
        free(text);
        return OK;
    }
    answer(r, "text/html; charset=utf-8", fa_status_html(r->pool, doc));
    return OK;
}
