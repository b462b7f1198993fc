/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_graph.h - what mod_fedauth_graph.c offers: Entra ID's group
 * overage at sign-in (GroupsSource graph): the user's group ids looked up
 * at Microsoft Graph by the callback, and handed to the role mapping of
 * the same request only (never kept: only the roles they give). */
#ifndef MOD_FEDAUTH_GRAPH_H
#define MOD_FEDAUTH_GRAPH_H

#include <jansson.h>
#include "mod_fedauth_types.h"

/* A step of the callback, after UserInfo: when prov has GroupsSource
 * graph and claims show group overage (fa_graph_overage), asks Graph for
 * the user's groups with the access token, counts the lookup, and keeps
 * the ids in r's pool for fedauth_graph_groups. Nothing to do: success.
 * Errors: "groups_unavailable" (err says why; the token never). */
apr_status_t fedauth_graph_lookup(request_rec *r, const fedauth_srv_t *sc,
                                  const fedauth_provider_t *prov,
                                  json_t *claims, const char *access_token,
                                  fa_err_t *err);

/* The groups of this sign-in for the role mapping: *pgroups the ids
 * fedauth_graph_lookup found on r, else NULL (the groups claim). Claims
 * that show overage without such a lookup (a sign-in by ID token or a
 * bearer token, which bring no access token for Graph) are refused with
 * "groups_unavailable" under GroupsSource graph, never mapped without
 * their groups; under GroupsSource token they are mapped as they are,
 * with an info line saying the groups were left out. */
apr_status_t fedauth_graph_groups(request_rec *r,
                                  const fedauth_provider_t *prov,
                                  json_t *claims,
                                  const apr_array_header_t **pgroups,
                                  fa_err_t *err);

#endif
