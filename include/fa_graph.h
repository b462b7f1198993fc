/* SPDX-License-Identifier: Apache-2.0 */
/* fa_graph.h - a user's group ids from Microsoft Graph, for Entra ID's
 * group overage: when a user is in more groups than fit in a token, Entra
 * ID sends no groups claim but says where to ask (_claim_names and
 * _claim_sources, or hasgroups). With GroupsSource graph the module then
 * asks Graph's getMemberObjects (security groups only) with the user's
 * access token, follows its pages within bounds, and maps the ids with
 * GroupMap. The ids are never kept: only the roles they give. Part of the
 * httpd-free core. */
#ifndef FA_GRAPH_H
#define FA_GRAPH_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "fa_util.h"
#include "fa_http.h"

/* Graph's root when GroupsSource graph names none (national clouds have
 * their own: https://graph.microsoft.us/v1.0, ...). */
#define FA_GRAPH_DEFAULT_URL "https://graph.microsoft.com/v1.0"

/* Bounds of one lookup: pages followed, ids accepted, bytes of a page. */
#define FA_GRAPH_MAX_PAGES 20
#define FA_GRAPH_MAX_IDS 5000
#define FA_GRAPH_MAX_PAGE (512 * 1024)

/* How a lookup ended, for the metrics (fedauth_graph_lookups_total). */
typedef enum {
    FA_GRAPH_OK = 0,
    FA_GRAPH_DENIED,              /* 401 or 403 */
    FA_GRAPH_THROTTLED,           /* 429 or 503 past the one retry */
    FA_GRAPH_UNREACHABLE,         /* no answer in time */
    FA_GRAPH_BAD_RESPONSE,        /* other status, not the documented JSON */
    FA_GRAPH_TOO_MANY,            /* past the pages or ids bound */
    FA_GRAPH_REFUSED_LINK,        /* a nextLink to another origin */
    FA_GRAPH_OUTCOME_COUNT
} fa_graph_outcome_t;

/* The label value of an outcome ("ok", "denied", ...). */
const char *fa_graph_outcome_name(fa_graph_outcome_t o);

/* 1 when claims show group overage and carry no groups claim of this
 * name (NULL: "groups"): _claim_names has a member of that name (Entra
 * ID's distributed groups claim, its source in _claim_sources), or
 * hasgroups is true (implicit flow). */
int fa_graph_overage(json_t *claims, const char *groups_claim);

/* 1 when url has the origin of base (scheme, host ignoring case, and
 * port, default ports made explicit) and keeps the IdP URL rule
 * (fa_url_is_secure_enough). */
int fa_graph_same_origin(const char *base, const char *url);

/* Reads one page of a getMemberObjects answer (a JSON object with a
 * "value" array of id strings, and "@odata.nextLink" when more follow):
 * appends the ids to ids (of const char *, from p) and sets *pnext to
 * the next link or NULL. Errors: "groups_unavailable" when the page is
 * not that shape, or (returning APR_ENOSPC) when ids would pass
 * max_ids. */
apr_status_t fa_graph_page_parse(apr_pool_t *p, const char *body,
                                 apr_size_t len, apr_array_header_t *ids,
                                 int max_ids, const char **pnext,
                                 fa_err_t *err);

/* The user's security group ids: POST <base_url>/me/getMemberObjects with
 * {"securityEnabledOnly":true} and the access token as Bearer, then GET
 * each @odata.nextLink (same origin as base_url only), at most
 * FA_GRAPH_MAX_PAGES pages and FA_GRAPH_MAX_IDS ids, all within
 * timeout_sec seconds. A 429 or 503 is tried once more after its
 * Retry-After (1 s without one) when that still fits the time. *pids
 * (from p) on success; *outcome always. Every refusal is
 * "groups_unavailable" with a description naming the cause (status,
 * Graph's error code, the bound passed); the token never reaches err. */
apr_status_t fa_graph_member_groups(apr_pool_t *p, fa_http_t *http,
                                    const char *base_url,
                                    const char *access_token,
                                    int timeout_sec,
                                    apr_array_header_t **pids,
                                    fa_graph_outcome_t *outcome,
                                    fa_err_t *err);

#endif
