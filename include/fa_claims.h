/* SPDX-License-Identifier: Apache-2.0 */
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

/* The most an encoded session may take: under the store's
 * FA_STORE_MAX_VALUE, with room left for the idle clock's rewrite. */
#define FA_SESSION_BUDGET (30 * 1024)

typedef struct fa_claim_map_t {
    const char *claim;            /* claim name (or dotted path) */
    const char *attr;             /* ATTRIBUTE: [A-Z0-9_]{1,64} */
} fa_claim_map_t;

typedef struct fa_group_map_t {
    const char *group;            /* exact, case-sensitive group value */
    const char *role;
} fa_group_map_t;

/* ValueMap <claim> <ATTRIBUTE> <value> <result> [priority]: when the claim
 * equals value (an array claim: when any element does), ATTRIBUTE is
 * result; of several matching rules of one attribute, the lowest priority
 * wins (ties: the first defined). ValueMapDefault <ATTRIBUTE> <result>
 * (claim NULL) applies when none matched. A value map replaces whatever
 * ClaimMap or the automatic attributes gave that attribute. */
#define FA_VALUE_MAP_PRIORITY 100
typedef struct fa_value_map_t {
    const char *claim;            /* NULL: the default of attr */
    const char *attr;
    const char *value;
    const char *result;
    int priority;
} fa_value_map_t;

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
    apr_array_header_t *value_maps;       /* of fa_value_map_t, or NULL */
    /* ValueMapSetOnce: attributes an account keeps from its first
     * sign-in (FedAuthRegistry On); of const char *, or NULL. */
    apr_array_header_t *set_once;
    /* Groups read elsewhere for this sign-in (Microsoft Graph, for Entra
     * ID's group overage): used in place of the groups claim, and only
     * the roles they give are kept. Of const char *, or NULL. */
    const apr_array_header_t *groups;
} fa_claims_conf_t;

/* The value the ValueMap rules give attr for these claims, or NULL. */
const char *fa_claims_value_map(apr_pool_t *p, const fa_claims_conf_t *conf,
                                json_t *claims, const char *attr);

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
 * array, or a string of groups separated by spaces or commas; or
 * conf->groups when set); when none
 * matched, the default role, else the fallback role, else none. Sorted,
 * each once, comma-separated ("" for none). */
const char *fa_claims_roles(apr_pool_t *p, const fa_claims_conf_t *conf,
                            json_t *claims);

/* Merges userinfo claims into the ID token's claims (the ID token wins on
 * conflict). The userinfo sub must equal the ID token's sub
 * ("userinfo_sub_mismatch"). */
apr_status_t fa_claims_merge_userinfo(json_t *claims, json_t *userinfo,
                                      fa_err_t *err);

/* The claims a re-read of userinfo (UserInfoRefresh) maps, a new object:
 * every claim of userinfo (the IdP's word now, so a group or role taken
 * away at the IdP goes), and of the ID token of the sign-in (id_claims,
 * may be NULL) only the claims about that sign-in (iss, aud, azp,
 * auth_time, acr, amr, sid, tid, ...), which win as at the sign-in. When
 * the identifying claim (conf) is in neither, it is set to identity, the
 * session's: the identity of a session never changes, and an IdP whose
 * userinfo does not carry it (Entra ID's oid) keeps it. The caller has
 * checked userinfo's sub. Released with p; NULL without memory. */
json_t *fa_claims_reread(apr_pool_t *p, const fa_claims_conf_t *conf,
                         json_t *id_claims, json_t *userinfo,
                         const char *identity);

/* Fills user, sub, roles, attributes and kept claims of s. Roles over
 * FA_CLAIMS_VALUE_MAX bytes together are refused ("too_many_roles"), not
 * cut: a cut list could end in a shorter role's name. */
apr_status_t fa_claims_map(apr_pool_t *p, const fa_claims_conf_t *conf,
                           json_t *claims, fa_session_t *s, fa_err_t *err);

/* What fa_claims_fit left out of a session. */
typedef enum {
    FA_SHED_ID_TOKEN,             /* the stored ID token */
    FA_SHED_TOKENS,               /* the access and refresh tokens */
    FA_SHED_CLAIM,                /* a kept claim, all its values */
    FA_SHED_ATTR                  /* an attribute */
} fa_shed_kind_t;

typedef struct fa_shed_t {
    fa_shed_kind_t kind;
    const char *name;             /* claim or attribute; NULL: a token */
    apr_size_t size;              /* bytes it took in the record */
    int values;                   /* a kept claim's values; else 1 */
} fa_shed_t;

/* Makes s fit in budget bytes once encoded (fa_session_encode), leaving
 * out whole items in this order until it does: first the ID token (logout
 * at the IdP then goes without id_token_hint), then the access and
 * refresh tokens together (no access token is passed on, none refreshed),
 * then kept claims, largest
 * first (a Require fedauth-claim on one then refuses), then attributes,
 * largest first; of equal sizes, the one listed last goes first. User,
 * sub (and the token's sub), idp, roles, sid and the times are never
 * left out: when they alone do not fit, nothing is left out and the
 * answer is "session_too_large".
 * *shed (from p) lists what was left out, in order. */
apr_status_t fa_claims_fit(apr_pool_t *p, fa_session_t *s, apr_size_t budget,
                           apr_array_header_t **shed, fa_err_t *err);

#endif
