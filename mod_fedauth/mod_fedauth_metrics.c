/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_metrics.c - the module's counters in httpd (FedAuthMetrics
 * On): made in post_config, before the fork, so all children of a
 * generation share them; the stores wrapped so that each operation is
 * timed; and /fedauth/metrics, which, unlike the module's other
 * endpoints, is answered by an ordinary handler after httpd's access
 * control, so that a <Location /fedauth/metrics> with Require decides who
 * may read it. The counting and the text format are the core's
 * (fa_metrics.c). */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "mod_fedauth_metrics.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_store_shm.h"
#include "fedauth_defaults.h"

APLOG_USE_MODULE(fedauth);

#define METRICS_PATH "/fedauth/metrics"

/* The counters of this generation of children, or NULL. */
static fa_metrics_t *metrics;

fa_metrics_t *fedauth_metrics(void)
{
    return metrics;
}

int fedauth_location_configured(server_rec *s, const char *path)
{
    core_server_config *core = ap_get_core_module_config(s->module_config);
    core_dir_config *d;
    int i;

    for (i = 0; core->sec_url && i < core->sec_url->nelts; i++) {
        d = ap_get_core_module_config(APR_ARRAY_IDX(core->sec_url, i,
                                                    ap_conf_vector_t *));
        if (d->r || d->d_is_fnmatch) {
            return 1;
        }
        if (d->d && (!strncmp(d->d, path, strlen(path))
                     || !strcmp(d->d, "/fedauth")
                     || !strcmp(d->d, "/fedauth/"))) {
            return 1;
        }
    }
    return 0;
}

/* The providers of every server, each id once, in the order met. */
static apr_array_header_t *provider_ids(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *ids = apr_array_make(p, 8, sizeof(const char *));
    apr_hash_t *seen = apr_hash_make(p);
    fedauth_provider_t *prov;
    fedauth_srv_t *sc;
    server_rec *vs;
    int i;

    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        for (i = 0; i < sc->providers->nelts; i++) {
            prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
            if (!apr_hash_get(seen, prov->idp.id, APR_HASH_KEY_STRING)) {
                apr_hash_set(seen, prov->idp.id, APR_HASH_KEY_STRING, "");
                APR_ARRAY_PUSH(ids, const char *) = prov->idp.id;
            }
        }
    }
    return ids;
}

/* Every store is replaced by one that times and counts its operations
 * (servers that shared a store share its wrapper), and every provider
 * counts its fetches. */
static void count_everything(apr_pool_t *pconf, server_rec *s)
{
    apr_hash_t *wrapped = apr_hash_make(pconf);
    fedauth_provider_t *prov;
    fedauth_srv_t *sc;
    fa_store_t *w;
    server_rec *vs;
    int i;

    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        if (sc->store) {
            w = apr_hash_get(wrapped, &sc->store, sizeof(sc->store));
            if (!w) {
                w = fa_metrics_store_wrap(pconf, metrics, sc->store);
                apr_hash_set(wrapped, apr_pmemdup(pconf, &sc->store,
                                                  sizeof(sc->store)),
                             sizeof(sc->store), w);
            }
            sc->store = w;
        }
        for (i = 0; i < sc->providers->nelts; i++) {
            prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
            if (prov->rt) {
                fa_idp_set_metrics(prov->rt, metrics);
            }
        }
    }
}

apr_status_t fedauth_metrics_post_config(apr_pool_t *pconf, server_rec *s)
{
    fedauth_srv_t *sc;
    server_rec *vs;
    fa_err_t err;
    int on = 0;

    metrics = NULL;
    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        /* status: the counts */
        on |= fedauth_metrics_on(sc) || fedauth_status_on(sc);
    }
    if (!on) {
        return APR_SUCCESS;
    }
    memset(&err, 0, sizeof(err));
    if (fa_metrics_create(pconf, provider_ids(pconf, s), &metrics, &err)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00601)
                     "FedAuthMetrics: %s", err.desc);
        return APR_EGENERAL;
    }
    count_everything(pconf, s);
    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        if (fedauth_metrics_on(sc)
            && !fedauth_location_configured(vs, METRICS_PATH)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs, FALOGNO(00602)
                         "FedAuthMetrics On in %s:%u, but no <Location %s>: "
                         "whoever may read the site may read the counters; "
                         "put a Require in one", vs->server_hostname
                         ? vs->server_hostname : "the main server",
                         (unsigned)vs->port, METRICS_PATH);
        }
    }
    return APR_SUCCESS;
}

int fedauth_metrics_wanted(request_rec *r, const fedauth_srv_t *sc)
{
    return fedauth_metrics_on(sc) && metrics && !strcmp(r->uri, METRICS_PATH);
}

int fedauth_metrics_handler(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    fa_shm_stats_t st, host;
    char *text;
    apr_size_t len;

    if (r->main || !fedauth_metrics_wanted(r, sc)) {
        return DECLINED;
    }
    ap_allow_methods(r, 1, "GET", NULL);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (fedauth_shm_store()) {
        fa_store_shm_stats(fedauth_shm_store(), &st);
    }
    if (fedauth_host_cache()) {
        fa_store_shm_stats(fedauth_host_cache(), &host);
    }
    fa_metrics_format(metrics, fedauth_shm_store() ? &st : NULL,
                      fedauth_host_cache() ? &host : NULL, r->pool, &text,
                      &len);
    fedauth_no_store(r);
    ap_set_content_type(r, "text/plain; version=0.0.4");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
    }
    return OK;
}
