/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_types.h - the types every glue file shares: the configuration
 * records of a server, a location and a provider, their constants, and the
 * module record. Types only: what a glue file offers to others is declared
 * in its own header (mod_fedauth_<part>.h), so that the includes of each
 * file show what it uses (build/check-glue-deps.sh draws the graph from
 * them). Only glue files (mod_fedauth*.c) include httpd headers. */
#ifndef MOD_FEDAUTH_TYPES_H
#define MOD_FEDAUTH_TYPES_H

#include "httpd.h"
#include "http_config.h"

#include "fa_util.h"
#include "fa_idp.h"
#include "fa_store.h"
#include "fa_session.h"
#include "fa_claims.h"

/* Log tags: "FA" + five digits, unique per call site, never reused. */
#define FALOGNO(n) "FA" #n ": "

/* The one unset value of a number or flag in a configuration record
 * (strings are NULL when unset, sizes 0). Its default is applied in one
 * place only, the getters of mod_fedauth_config.h. */
#define FEDAUTH_UNSET (-1)

/* At most this many parameters in a query or form the module reads. */
#define FEDAUTH_MAX_PARAMS 32

/* FedAuthSecret takes at most this many values (a rotation needs two). */
#define FEDAUTH_SECRETS_MAX 4

typedef enum {
    FEDAUTH_RESPONSE_UNSET = FEDAUTH_UNSET,
    FEDAUTH_RESPONSE_QUERY = 0,
    FEDAUTH_RESPONSE_FORM_POST
} fedauth_response_mode_t;

typedef struct fedauth_provider_t {
    fa_idp_conf_t idp;             /* id, issuer, client, ... */
    fa_claims_conf_t claims;       /* user name and role rules */
    const char *defined_in;        /* "file:line" of the block */
    int index;                     /* order of definition */
    /* The block's settings: each starts FEDAUTH_UNSET (NULL) and gets
     * its default at the end of the block (fedauth_provider_defaults),
     * so that the request path reads ready values. */
    int enabled;                   /* Enabled */
    int sort_order;                /* SortOrder */
    const char *icon;              /* Icon URL or NULL */
    const char *accent;            /* AccentColor "#rrggbb" or NULL */
    const char *prompt;            /* Prompt or NULL */
    const char *acr_values;        /* AcrValues or NULL */
    fedauth_response_mode_t response_mode;
    int userinfo;                  /* UserInfo On/Off, UNSET: when offered */
    int userinfo_refresh;          /* UserInfoRefresh seconds, 0: off */
    int userinfo_failure;          /* its second word: FEDAUTH_USERINFO_* */
    fa_idp_t *rt;                  /* run-time object, made in post_config */
    const char *introspection_url; /* IntrospectionURL, or NULL: discovery's
                                    * introspection_endpoint */
    int par;                       /* PushedAuthorization: FEDAUTH_PAR_*;
                                    * UNSET: Auto */
    const char *graph_url;         /* GroupsSource graph [url]; NULL: token */
    apr_array_header_t *client_keys; /* ClientKeyFile (fa_client_key_t *):
                                      * the first signs, all are published;
                                      * NULL when none */
    const char *client_cert;       /* ClientCertFile path, or NULL */
    const char *client_cert_at;    /* its "file:line" */
} fedauth_provider_t;

/* PushedAuthorization: when a sign-in pushes its request (RFC 9126). */
#define FEDAUTH_PAR_OFF 0
#define FEDAUTH_PAR_ON 1
#define FEDAUTH_PAR_AUTO 2             /* when discovery requires it */

/* A directive's value and where it was set ("file:line"), for messages. */
typedef struct fedauth_setting_t {
    const char *value;
    const char *origin;
} fedauth_setting_t;

/* The TLS settings of a rediss:// store, by directive. */
enum {
    FEDAUTH_REDIS_CA = 0,          /* FedAuthRedisCAFile */
    FEDAUTH_REDIS_CERT,            /* FedAuthRedisClientCert */
    FEDAUTH_REDIS_KEY,             /* FedAuthRedisClientKey */
    FEDAUTH_REDIS_NAME,            /* FedAuthRedisServerName */
    FEDAUTH_REDIS_TLS_N
};

/* FedAuthCookieSameSite and FedAuthLoginCookieSameSite. */
#define FEDAUTH_SAMESITE_LAX 0
#define FEDAUTH_SAMESITE_STRICT 1
#define FEDAUTH_SAMESITE_NONE 2
#define FEDAUTH_LOGIN_SAMESITE_AUTO 3  /* None when it must be, else Lax */

typedef struct fedauth_srv_t {
    apr_array_header_t *providers; /* of fedauth_provider_t *, merged */
    const char *store_spec;        /* "shm" (default) or a redis URL */
    const char *store_origin;      /* "file:line" of FedAuthSessionStore */
    fa_redis_conf_t *redis;        /* parsed redis spec, or NULL (shm) */
    const char *redis_prefix;      /* FedAuthRedisPrefix */
    int redis_timeout_ms;          /* FedAuthRedisTimeout, UNSET */
    fedauth_setting_t redis_tls[FEDAUTH_REDIS_TLS_N]; /* by FEDAUTH_REDIS_* */
    int logout_at_idp;             /* FedAuthLogoutAtIdP, UNSET */
    int local_cache_ms;            /* FedAuthSessionLocalCache, UNSET */
    int sessions_per_user;         /* FedAuthMaxSessionsPerUser, UNSET */
    fa_store_t *store;             /* made in post_config */
    apr_size_t shm_size;
    apr_size_t host_cache_size;    /* FedAuthSessionHostCache, 0: off */
    int host_cache_s;              /* its seconds, UNSET */
    const char *secret;            /* passphrase, or NULL */
    const char *secret_origin;     /* "file:line" where it was set */
    const char *cookie_name;
    int idle_timeout;
    int max_age;
    int http_timeout;
    const char *redirect_base;     /* "https://host[:port]" or NULL */
    const char *default_role;
    int remember_choice;           /* FedAuthRememberChoice, UNSET */
    int token_login;               /* FedAuthTokenLogin, UNSET */
    int metrics;                   /* FedAuthMetrics, UNSET */
    int status;                    /* FedAuthStatus, UNSET */
    int refresh_before;            /* FedAuthRefreshBeforeExpiry (s), UNSET */
    int refresh_failure;           /* FedAuthRefreshFailure, UNSET */
    apr_array_header_t *allowed_origins; /* FedAuthAllowedOrigin, or NULL */
    const char *chooser_template;  /* contents of FedAuthChooserTemplate */
    const char *attempt_log;       /* FedAuthAttemptLog: path or "|program" */
    apr_file_t *attempt_file;      /* opened in post_config, or NULL */
    int attempt_stream;            /* FedAuthAttemptStream entries, UNSET */
    int registry;                  /* FedAuthRegistry, UNSET */
    int register_on;               /* FedAuthRegister, UNSET */
    const char *registry_dir;      /* FedAuthRegistryDir, or NULL */
    struct fa_registry_t *reg;     /* made in post_config when On */
    fa_keys_t keys;                /* made in post_config */
    int keys_ready;
    int introspection_cache;       /* FedAuthIntrospectionCache (s), UNSET */
    const char *outgoing_proxy;    /* FedAuthOutgoingProxy URL, or NULL */
    const char *outgoing_noproxy;  /* FedAuthOutgoingNoProxy, comma list */
    const char *client_jwks;       /* /fedauth/jwks: the public ClientKeyFile
                                    * keys of every provider, made in
                                    * post_config; NULL when none */
    /* Cookies (FedAuthCookieSameSite, FedAuthLoginCookieSameSite,
     * FedAuthCookieDomain, FedAuthCookiePath) and what post_config makes
     * of them, so that the request path only picks a ready string. */
    int cookie_samesite;           /* FEDAUTH_SAMESITE_*, UNSET: Lax */
    int cookie_partitioned;        /* Partitioned (only with None) */
    const char *cookie_samesite_at; /* "file:line" */
    int login_samesite;            /* FEDAUTH_LOGIN_SAMESITE_*, UNSET: Auto */
    const char *login_samesite_at;
    const char *cookie_domain;     /* without a leading dot, or NULL */
    const char *cookie_domain_at;
    const char *cookie_path;       /* NULL: / */
    const char *cookie_path_at;
    const char *session_name[2];   /* made in post_config: [0] over http,
                                    * [1] over https (__Host-<name> when
                                    * no Domain and Path=/) */
    /* Secret rotation: FedAuthSecret's values after the first (const
     * char *), still accepted, never used to sign; their keys, made in
     * post_config, tried only when the first keys refuse. */
    apr_array_header_t *older_secrets;
    fa_keys_t older_keys[FEDAUTH_SECRETS_MAX - 1];
    int n_older;
    /* app passwords (FedAuthBasic): */
    int basic_cache;               /* FedAuthBasicCache (s), UNSET */
    int basic_limit_account;       /* FedAuthBasicLimit: failures per */
    int basic_limit_client;        /* account, per client address, */
    int basic_limit_window;        /* within seconds; all UNSET */
} fedauth_srv_t;

typedef enum {
    FEDAUTH_UNAUTH_UNSET = FEDAUTH_UNSET,
    FEDAUTH_UNAUTH_REDIRECT,
    FEDAUTH_UNAUTH_401,
    FEDAUTH_UNAUTH_PASS,
    FEDAUTH_UNAUTH_AUTO            /* 401 for XHR / JSON, else redirect */
} fedauth_unauth_t;

/* FedAuthRefreshFailure: what a failed refresh of the access token does. */
#define FEDAUTH_REFRESH_END 0      /* the session ends: sign in again */
#define FEDAUTH_REFRESH_PASS 1     /* the session goes on without tokens */

/* UserInfoRefresh <s> keep|end: what an IdP that fails (unreachable,
 * 5xx, timeout) at a re-read of userinfo does to the session. */
#define FEDAUTH_USERINFO_KEEP 0    /* kept as it is; read again after <s> */
#define FEDAUTH_USERINFO_END 1     /* the session ends */

#define FEDAUTH_PASS_HEADERS 1
#define FEDAUTH_PASS_ENV 2

typedef struct fedauth_dir_t {
    apr_array_header_t *providers; /* of const char * ids, or NULL: all */
    fedauth_unauth_t unauth;
    int pass_as;                   /* FEDAUTH_PASS_* bits, UNSET */
    int bearer;                    /* FedAuthBearer, UNSET */
    const char *bearer_audience;   /* FedAuthBearerAudience, or NULL */
    int pass_token;                /* FedAuthPassAccessToken, UNSET */
    /* Keeping a POST across sign-in (issue 23) */
    int preserve_post;             /* FedAuthPreservePost, UNSET: Off */
    int preserve_post_max;         /* FedAuthPreservePostMax, UNSET:
                                    * FEDAUTH_PRESERVE_POST_MAX */
    int basic;                     /* FedAuthBasic (app passwords), UNSET */
} fedauth_dir_t;

/* FedAuthPreservePostMax: default and bounds, bytes. */
#define FEDAUTH_PRESERVE_POST_MAX 65536
#define FEDAUTH_PRESERVE_POST_MIN_LIMIT 1024
#define FEDAUTH_PRESERVE_POST_MAX_LIMIT 1048576
/* A kept body lies in the store in pieces of this many bytes (each value
 * one lead byte more, well within FA_STORE_MAX_VALUE). */
#define FEDAUTH_POST_PIECE 16384

/* The module record (AP_DECLARE_MODULE in mod_fedauth.c). Every glue file
 * needs it for its configuration (ap_get_module_config) and for its log
 * lines (APLOG_USE_MODULE); it is the module's identity, not a call into
 * another file, so it is declared here with the types. */
extern module AP_MODULE_DECLARE_DATA fedauth_module;

#endif
