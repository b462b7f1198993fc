/* SPDX-License-Identifier: Apache-2.0 */
/* fa_par.c - pushed authorization requests (RFC 9126); see fa_par.h. */
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include "fa_par.h"
#include "fa_json.h"

apr_status_t fa_par_request(apr_pool_t *p, fa_http_t *http,
                            const fa_oidc_metadata_t *md,
                            const fa_oidc_client_t *client, const char *body,
                            const char **prequest_uri, fa_err_t *err)
{
    fa_http_response_t *resp;
    apr_status_t rv;

    *prequest_uri = NULL;
    if (!md->par_endpoint) {
        return fa_err_set(err, "invalid_discovery", "the provider's "
                          "discovery names no usable "
                          "pushed_authorization_request_endpoint");
    }
    rv = fa_oidc_client_post(p, http, md, client, md->par_endpoint, body,
                             FA_PAR_MAX_RESPONSE, &resp, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return fa_par_response(p, resp->status, resp->body, resp->body_len,
                           prequest_uri, err);
}

/* 1 when s is 1 to FA_PAR_MAX_REQUEST_URI visible ASCII characters. */
static int request_uri_ok(const char *s)
{
    apr_size_t i;

    for (i = 0; s[i]; i++) {
        if (i >= FA_PAR_MAX_REQUEST_URI || s[i] <= 0x20 || s[i] >= 0x7f) {
            return 0;
        }
    }
    return i > 0;
}

apr_status_t fa_par_response(apr_pool_t *p, int status, const char *body,
                             apr_size_t len, const char **prequest_uri,
                             fa_err_t *err)
{
    json_t *doc, *v;

    *prequest_uri = NULL;
    doc = len <= FA_PAR_MAX_RESPONSE ? fa_json_object_parse(p, body, len)
                                     : NULL;
    if (status >= 400 && status < 500 && doc
        && json_is_string(v = json_object_get(doc, "error"))) {
        return fa_err_set(err, "idp_error", "pushed authorization request "
                          "answered %d error=%s (%s)", status,
                          fa_oidc_loggable(p, json_string_value(v), 64),
                          fa_oidc_loggable(p, json_string_value(
                              json_object_get(doc, "error_description")),
                              160));
    }
    if ((status != 201 && status != 200) || !doc) {
        return fa_err_set(err, "idp_bad_response", "pushed authorization "
                          "request answered %d with %s", status,
                          doc ? "JSON" : "no JSON object");
    }
    v = json_object_get(doc, "request_uri");
    if (!json_is_string(v) || !request_uri_ok(json_string_value(v))) {
        return fa_err_set(err, "idp_bad_response", "pushed authorization "
                          "answer has no usable request_uri");
    }
    *prequest_uri = apr_pstrdup(p, json_string_value(v));
    return APR_SUCCESS;
}

char *fa_par_auth_url(apr_pool_t *p, const fa_oidc_metadata_t *md,
                      const fa_oidc_client_t *client,
                      const char *request_uri)
{
    return apr_pstrcat(p, md->authorization_endpoint,
                       strchr(md->authorization_endpoint, '?') ? "&" : "?",
                       "client_id=", fa_url_encode(p, client->client_id),
                       "&request_uri=", fa_url_encode(p, request_uri), NULL);
}
