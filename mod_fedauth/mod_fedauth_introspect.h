/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_introspect.h - what mod_fedauth_introspect.c offers: the
 * judgement of an opaque bearer token (not a JWT) by token introspection
 * (RFC 7662) at the provider offered at the location, its answers shared
 * through the session store, and the mark the bearer cache keeps for a
 * token found not good. */
#ifndef MOD_FEDAUTH_INTROSPECT_H
#define MOD_FEDAUTH_INTROSPECT_H

#include "mod_fedauth_types.h"

/* The user of the opaque bearer token, as the provider offered at dc
 * that introspects tokens says (from the session store when a host asked
 * it lately): APR_SUCCESS, *ps and *puntil (how long the answer may be
 * reused, 0: not at all). APR_NOTFOUND when no provider offered at dc
 * introspects tokens (the token is then simply malformed). Otherwise err
 * holds the code: idp_unreachable, idp_bad_response, invalid_discovery
 * and the like (the IdP could not judge the token: *pidp NULL), or a
 * refusal (token_inactive, wrong_aud, ...: *pidp the provider's id, and
 * the refusal may be remembered for FA_INTROSPECT_INACTIVE_TTL). The
 * token is never logged. */
apr_status_t fedauth_introspect(request_rec *r, fedauth_srv_t *sc,
                                fedauth_dir_t *dc, const char *token,
                                fa_session_t **ps, apr_int64_t *puntil,
                                const char **pidp, fa_err_t *err);

/* The value the caches keep for an opaque token that provider idp
 * refused with code, and, for a cached value, the provider it names when
 * it is such a mark, with *pcode (NULL: it is not a mark). */
const char *fedauth_introspect_mark(apr_pool_t *p, const char *idp,
                                    const char *code);
const char *fedauth_introspect_marked(apr_pool_t *p, const char *rec,
                                      apr_size_t len, const char **pcode);

#endif
