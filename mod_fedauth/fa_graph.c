/* SPDX-License-Identifier: Apache-2.0 */
/* fa_graph.c - group ids from Microsoft Graph for Entra ID's group
 * overage; see fa_graph.h.
 *
 * One lookup is a POST to getMemberObjects and then a GET of each
 * @odata.nextLink Graph gives, all under one clock: each request may take
 * what is left of timeout_sec, and one throttled answer (429 or 503) is
 * waited out only when its Retry-After ends before that clock does. A
 * nextLink is followed only to the origin of the configured Graph URL:
 * the access token goes nowhere else. */
#include <string.h>
#include <strings.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <curl/curl.h>
#include "fa_graph.h"
#include "fa_json.h"
#include "fa_oidc.h"

#define GRAPH_BODY "{\"securityEnabledOnly\":true}"
#define GRAPH_NEXT "@odata.nextLink"

static const char *const outcome_names[FA_GRAPH_OUTCOME_COUNT] = {
    "ok", "denied", "throttled", "unreachable", "bad_response", "too_many",
    "refused_link"
};

const char *fa_graph_outcome_name(fa_graph_outcome_t o)
{
    return (unsigned)o < FA_GRAPH_OUTCOME_COUNT ? outcome_names[o] : "other";
}

int fa_graph_overage(json_t *claims, const char *groups_claim)
{
    const char *name = groups_claim ? groups_claim : "groups";
    json_t *names;

    if (!json_is_object(claims) || json_object_get(claims, name)) {
        return 0;
    }
    names = json_object_get(claims, "_claim_names");
    if (json_is_object(names) && json_object_get(names, name)) {
        return 1;
    }
    return json_is_true(json_object_get(claims, "hasgroups"));
}

/* The origin of a URL that keeps the IdP URL rule: "scheme://host:port",
 * host lower-cased; NULL when the URL does not keep the rule. */
static const char *origin_of(apr_pool_t *p, const char *url)
{
    CURLU *u = fa_url_parse_checked(url);
    char *scheme = NULL, *host = NULL, *port = NULL;
    const char *out = NULL;

    if (!u) {
        return NULL;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK
        && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK
        && curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)
           == CURLUE_OK) {
        char *c = apr_pstrcat(p, scheme, "://", host, ":", port, NULL);

        for (out = c; *c; c++) {
            *c = (char)apr_tolower(*c);
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

int fa_graph_same_origin(const char *base, const char *url)
{
    apr_pool_t *p;
    const char *a, *b;
    int same;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    a = origin_of(p, base);
    b = origin_of(p, url);
    same = a && b && !strcmp(a, b);
    apr_pool_destroy(p);
    return same;
}

apr_status_t fa_graph_page_parse(apr_pool_t *p, const char *body,
                                 apr_size_t len, apr_array_header_t *ids,
                                 int max_ids, const char **pnext,
                                 fa_err_t *err)
{
    json_t *doc, *value, *item, *next;
    size_t i;

    *pnext = NULL;
    if (!(doc = fa_json_object_parse(p, body, len))
        || !json_is_array(value = json_object_get(doc, "value"))) {
        return fa_err_set(err, "groups_unavailable", "Graph answered "
                          "without a \"value\" array of group ids");
    }
    next = json_object_get(doc, GRAPH_NEXT);
    if (next && !json_is_string(next)) {
        return fa_err_set(err, "groups_unavailable", "Graph's "
                          GRAPH_NEXT " is not a string");
    }
    if (json_array_size(value) > (size_t)(max_ids - ids->nelts)) {
        fa_err_set(err, "groups_unavailable", "the user is in more than %d "
                   "groups (Graph's answer)", max_ids);
        return APR_ENOSPC;
    }
    json_array_foreach(value, i, item) {
        if (!json_is_string(item) || !json_string_length(item)
            || json_string_length(item) > 255) {
            return fa_err_set(err, "groups_unavailable", "Graph's value "
                              "holds something other than a group id");
        }
        APR_ARRAY_PUSH(ids, const char *) =
            apr_pstrdup(p, json_string_value(item));
    }
    *pnext = next ? apr_pstrdup(p, json_string_value(next)) : NULL;
    return APR_SUCCESS;
}

/* Graph's own error code of an error answer, cut and printable, or "-". */
static const char *graph_error_code(apr_pool_t *p,
                                    const fa_http_response_t *resp)
{
    json_t *doc = fa_json_object_parse(p, resp->body, resp->body_len);
    json_t *code = json_object_get(json_object_get(doc, "error"), "code");

    return json_is_string(code)
           ? fa_oidc_loggable(p, json_string_value(code), 64) : "-";
}

/* Seconds left until deadline, rounded up; 0 when it has passed. */
static int seconds_left(apr_time_t deadline)
{
    apr_time_t left = deadline - apr_time_now();

    return left <= 0 ? 0
           : (int)((left + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC);
}

typedef struct lookup_t {
    apr_pool_t *p;
    fa_http_t *http;
    const char *authorization;
    apr_time_t deadline;
    int timeout_sec;
    int retried;
    fa_graph_outcome_t *outcome;
} lookup_t;

static apr_status_t fail(lookup_t *l, fa_graph_outcome_t o, fa_err_t *err,
                         const char *desc)
{
    *l->outcome = o;
    return fa_err_set(err, "groups_unavailable", "%s", desc);
}

/* One request (the first page: POST, a nextLink: GET), with the one
 * retry after a throttled answer. *presp has status 200 on success. */
static apr_status_t fetch_page(lookup_t *l, const char *url, int first,
                               fa_http_response_t **presp, fa_err_t *err)
{
    fa_http_request_t req;
    fa_http_response_t *resp = NULL;
    long wait;

    memset(&req, 0, sizeof(req));
    req.method = first ? "POST" : "GET";
    req.url = url;
    if (first) {
        req.body = GRAPH_BODY;
        req.body_len = sizeof(GRAPH_BODY) - 1;
        req.content_type = "application/json";
    }
    req.authorization = l->authorization;
    req.max_response = FA_GRAPH_MAX_PAGE;
    for (;;) {
        if (!(req.timeout_sec = seconds_left(l->deadline))) {
            return fail(l, FA_GRAPH_UNREACHABLE, err, apr_psprintf(l->p,
                        "Graph's answers took more than %d s",
                        l->timeout_sec));
        }
        if (l->http->perform(l->http, l->p, &req, &resp, err)
            != APR_SUCCESS) {
            return fail(l, !strcmp(err->code, "idp_unreachable")
                        ? FA_GRAPH_UNREACHABLE : FA_GRAPH_BAD_RESPONSE,
                        err, apr_psprintf(l->p, "Graph: %s", err->desc));
        }
        if ((resp->status != 429 && resp->status != 503) || l->retried) {
            break;
        }
        wait = resp->retry_after > 0 ? resp->retry_after : 1;
        if (apr_time_now() + apr_time_from_sec(wait) >= l->deadline) {
            break;
        }
        l->retried = 1;
        apr_sleep(apr_time_from_sec(wait));
    }
    *presp = resp;
    return APR_SUCCESS;
}

/* A page's status that is not 200, as a refusal naming it. */
static apr_status_t fail_status(lookup_t *l,
                                const fa_http_response_t *resp,
                                fa_err_t *err)
{
    const char *code = graph_error_code(l->p, resp);

    if (resp->status == 401 || resp->status == 403) {
        return fail(l, FA_GRAPH_DENIED, err, apr_psprintf(l->p,
                    "Graph refused the user's access token: %d %s%s",
                    resp->status, code, resp->status == 403
                    ? " (the app needs the GroupMember.Read.All "
                      "permission with admin consent)" : ""));
    }
    if (resp->status == 429 || resp->status == 503) {
        return fail(l, FA_GRAPH_THROTTLED, err, apr_psprintf(l->p,
                    "Graph throttled the lookup: %d %s, and its "
                    "Retry-After did not fit in %d s (or came twice)",
                    resp->status, code, l->timeout_sec));
    }
    return fail(l, FA_GRAPH_BAD_RESPONSE, err, apr_psprintf(l->p,
                "Graph answered %d %s", resp->status, code));
}

apr_status_t fa_graph_member_groups(apr_pool_t *p, fa_http_t *http,
                                    const char *base_url,
                                    const char *access_token,
                                    int timeout_sec,
                                    apr_array_header_t **pids,
                                    fa_graph_outcome_t *outcome,
                                    fa_err_t *err)
{
    apr_array_header_t *ids = apr_array_make(p, 64, sizeof(const char *));
    const char *url, *next = NULL;
    fa_http_response_t *resp = NULL;
    apr_status_t rv;
    lookup_t l;
    int page;

    *pids = NULL;
    memset(&l, 0, sizeof(l));
    l.p = p;
    l.http = http;
    l.authorization = apr_pstrcat(p, "Bearer ", access_token, NULL);
    l.timeout_sec = timeout_sec > 0 ? timeout_sec : 1;
    l.deadline = apr_time_now() + apr_time_from_sec(l.timeout_sec);
    l.outcome = outcome;
    url = apr_pstrcat(p, base_url, base_url[strlen(base_url) - 1] == '/'
                      ? "" : "/", "me/getMemberObjects", NULL);
    for (page = 0; url; page++, url = next) {
        if (page == FA_GRAPH_MAX_PAGES) {
            return fail(&l, FA_GRAPH_TOO_MANY, err, apr_psprintf(p,
                        "Graph has more than %d pages of the user's "
                        "groups", FA_GRAPH_MAX_PAGES));
        }
        if (page && !fa_graph_same_origin(base_url, url)) {
            return fail(&l, FA_GRAPH_REFUSED_LINK, err, apr_psprintf(p,
                        "Graph's " GRAPH_NEXT " leads to another origin "
                        "than %s: %s, not followed",
                        fa_oidc_loggable(p, base_url, 200),
                        fa_oidc_loggable(p, url, 200)));
        }
        if (fetch_page(&l, url, page == 0, &resp, err) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        if (resp->status != 200) {
            return fail_status(&l, resp, err);
        }
        if ((rv = fa_graph_page_parse(p, resp->body, resp->body_len, ids,
                                      FA_GRAPH_MAX_IDS, &next, err))
            != APR_SUCCESS) {
            *outcome = rv == APR_ENOSPC ? FA_GRAPH_TOO_MANY
                       : FA_GRAPH_BAD_RESPONSE;
            return APR_EGENERAL;
        }
    }
    *outcome = FA_GRAPH_OK;
    *pids = ids;
    return APR_SUCCESS;
}
