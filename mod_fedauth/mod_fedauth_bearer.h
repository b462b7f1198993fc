/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_bearer.h - what mod_fedauth_bearer.c offers: the check of an
 * Authorization: Bearer token at a location with FedAuthBearer On, and
 * its per-process cache of verified tokens. */
#ifndef MOD_FEDAUTH_BEARER_H
#define MOD_FEDAUTH_BEARER_H

#include "mod_fedauth_types.h"

/* Makes this process's cache of verified tokens (child_init). */
apr_status_t fedauth_bearer_child_init(apr_pool_t *p);
/* OK with the token's user exported to the request, else the error
 * answer (401 with a Bearer challenge, 502 when the IdP is unreachable). */
int fedauth_bearer_check(request_rec *r, fedauth_srv_t *sc,
                         fedauth_dir_t *dc, const char *token);

#endif
