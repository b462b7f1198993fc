/* fa_claims.h - from what the IdP says (claims) to what the site sees:
 * user name, attributes and roles. Runs once, at login; the result is kept
 * in the session, so requests do no mapping work. Part of the httpd-free
 * core. */
#ifndef FA_CLAIMS_H
#define FA_CLAIMS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "fa_session.h"

/* Longest attribute value kept; longer ones are cut (on a UTF-8
 * boundary). Values never hold CR, LF, NUL or other control characters. */
#define FA_CLAIMS_VALUE_MAX 8192

/* Kept claims (Require fedauth-claim) are bounded per claim: at most this
 * many values (array elements), together at most FA_CLAIMS_VALUE_MAX
 * bytes. A value that does not fit is left out whole (logged at info),
 * so a Require on it refuses; the session stays within the store's
 * limit. */
#define FA_CLAIMS_KEPT_VALUES 256

typedef struct fa_claim_map_t {
    const char *claim;            /* claim name (or dotted path) */
    const char *attr;             /* ATTRIBUTE: [A-Z0-9_]{1,64} */
} fa_claim_map_t;

typedef struct fa_group_map_t {
    const char *group;            /* exact, case-sensitive group value */
    const char *role;
} fa_group_map_t;

typedef struct fa_claims_conf_t {
    const char *idp_id;
    const char *identifying_claim;        /* default "sub" */
    apr_array_header_t *username_claims;  /* of const char *; NULL: default */
    apr_array_header_t *claim_maps;       /* of fa_claim_map_t, or NULL */
    const char *groups_claim;             /* GroupsClaim or NULL */
    apr_array_header_t *group_maps;       /* of fa_group_map_t, or NULL */
    const char *default_role;             /* FedAuthDefaultRole or NULL */
    const char *fallback_role;            /* FallbackRole or NULL */
    /* Claims that Require fedauth-claim asks about: their values are kept
     * in the session. Of const char *, or NULL. */
    const apr_array_header_t *kept_claims;
} fa_claims_conf_t;

/* A claim by name: the member of that exact name, else, when the name has
 * dots, the path through nested objects ("realm_access.roles"). */
json_t *fa_claims_get(json_t *claims, const char *name);

/* A claim's value as text: strings as is, arrays joined with commas,
 * numbers and booleans as JSON text, objects as compact JSON. NULL for
 * null or absent. */
const char *fa_claims_render(apr_pool_t *p, json_t *value);

/* The user name: the first claim of the chain with a value (email only
 * when email_verified is true), lower-cased, spaces turned to dots; else
 * "<sub>@<idp>". */
const char *fa_claims_username(apr_pool_t *p, const fa_claims_conf_t *conf,
                               json_t *claims);

/* The roles: every GroupMap role whose group is in the groups claim (an
 * array, or a string of groups separated by spaces or commas); when none
 * matched, the default role, else the fallback role, else none. Sorted,
 * each once, comma-separated ("" for none). */
const char *fa_claims_roles(apr_pool_t *p, const fa_claims_conf_t *conf,
                            json_t *claims);

/* Merges userinfo claims into the ID token's claims (the ID token wins on
 * conflict). The userinfo sub must equal the ID token's sub
 * ("userinfo_sub_mismatch"). */
apr_status_t fa_claims_merge_userinfo(json_t *claims, json_t *userinfo,
                                      fa_err_t *err);

/* Fills user, sub, roles, attributes and kept claims of s. */
apr_status_t fa_claims_map(apr_pool_t *p, const fa_claims_conf_t *conf,
                           json_t *claims, fa_session_t *s, fa_err_t *err);

#endif
