/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_graph.c - Entra ID's group overage at sign-in; see
 * mod_fedauth_graph.h. The lookup itself (requests, paging, bounds) is
 * the core's (fa_graph.c); this file decides when to ask, logs, counts,
 * and hands the ids on within the request. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "mod_fedauth_graph.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_metrics.h"
#include "fa_graph.h"
#include "fa_oidc.h"

APLOG_USE_MODULE(fedauth);

/* The key of the ids in r->pool's user data. */
#define GROUPS_KEY "fedauth-graph-groups"

apr_status_t fedauth_graph_lookup(request_rec *r, const fedauth_srv_t *sc,
                                  const fedauth_provider_t *prov,
                                  json_t *claims, const char *access_token,
                                  fa_err_t *err)
{
    apr_array_header_t *ids = NULL;
    fa_graph_outcome_t outcome = FA_GRAPH_OK;
    apr_time_t t0 = apr_time_now();
    apr_status_t rv;

    if (!prov->graph_url
        || !fa_graph_overage(claims, prov->claims.groups_claim)) {
        return APR_SUCCESS;
    }
    if (!access_token) {
        fa_metrics_graph(fedauth_metrics(), prov->idp.id,
                         FA_GRAPH_DENIED);
        return fa_err_set(err, "groups_unavailable", "the token shows "
                          "group overage, and the token endpoint gave no "
                          "access token to ask Graph with");
    }
    rv = fa_graph_member_groups(r->pool, fedauth_http(), prov->graph_url,
                                access_token, fedauth_http_timeout(sc),
                                &ids, &outcome, err);
    fa_metrics_graph(fedauth_metrics(), prov->idp.id, (int)outcome);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(01050)
                      "provider %s: group overage: the lookup at %s failed "
                      "(%s) after %" APR_TIME_T_FMT " ms: %s", prov->idp.id,
                      prov->graph_url, fa_graph_outcome_name(outcome),
                      (apr_time_now() - t0) / 1000, err->desc);
        return rv;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01051)
                  "provider %s: group overage: %d group id(s) from %s in "
                  "%" APR_TIME_T_FMT " ms, mapped with GroupMap",
                  prov->idp.id, ids->nelts, prov->graph_url,
                  (apr_time_now() - t0) / 1000);
    apr_pool_userdata_setn(ids, GROUPS_KEY, NULL, r->pool);
    return APR_SUCCESS;
}

apr_status_t fedauth_graph_groups(request_rec *r,
                                  const fedauth_provider_t *prov,
                                  json_t *claims,
                                  const apr_array_header_t **pgroups,
                                  fa_err_t *err)
{
    void *ids = NULL;

    *pgroups = NULL;
    if (!fa_graph_overage(claims, prov->claims.groups_claim)) {
        return APR_SUCCESS;
    }
    if (!prov->graph_url) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01052)
                      "provider %s: the token shows group overage (no "
                      "groups claim, but _claim_names or hasgroups): "
                      "mapped without groups; GroupsSource graph would "
                      "read them from Microsoft Graph", prov->idp.id);
        return APR_SUCCESS;
    }
    apr_pool_userdata_get(&ids, GROUPS_KEY, r->pool);
    if (!ids) {
        return fa_err_set(err, "groups_unavailable", "the token shows "
                          "group overage, and this kind of sign-in brings "
                          "no access token to ask Graph with");
    }
    *pgroups = ids;
    return APR_SUCCESS;
}
