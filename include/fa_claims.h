/* fa_claims.h - from what the IdP says (claims) to what the site sees:
 * user name, attributes and roles. Runs once, at login; the result is kept
 * in the session. Part of the httpd-free core. */
#ifndef FA_CLAIMS_H
#define FA_CLAIMS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "fa_session.h"

typedef struct fa_claims_conf_t {
    const char *idp_id;
    const char *identifying_claim;        /* default "sub" */
    apr_array_header_t *username_claims;  /* of const char *; NULL: default */
    const char *default_role;             /* FedAuthDefaultRole or NULL */
    const char *fallback_role;            /* FallbackRole or NULL */
} fa_claims_conf_t;

/* A claim's value as text: strings as is, arrays joined with commas,
 * numbers and booleans as JSON text, objects as compact JSON. NULL for
 * null or absent. */
const char *fa_claims_render(apr_pool_t *p, json_t *value);

/* The user name: the first claim of the chain with a value (email only
 * when email_verified is true), lower-cased, spaces turned to dots; else
 * "<sub>@<idp>". */
const char *fa_claims_username(apr_pool_t *p, const fa_claims_conf_t *conf,
                               json_t *claims);

/* Fills user, sub, roles and attributes of s from the claims. */
apr_status_t fa_claims_map(apr_pool_t *p, const fa_claims_conf_t *conf,
                           json_t *claims, fa_session_t *s, fa_err_t *err);

#endif
