/* mod_fedauth.h - what the glue files of mod_fedauth share: configuration
 * records, the endpoint handlers and the shm store. Only glue files
 * (mod_fedauth*.c) include httpd headers. */
#ifndef MOD_FEDAUTH_H
#define MOD_FEDAUTH_H

#include "httpd.h"
#include "http_config.h"

#include "fa_util.h"
#include "fa_idp.h"
#include "fa_store.h"
#include "fa_session.h"
#include "fa_claims.h"

/* Log tags: "FA" + five digits, unique per call site, never reused. */
#define FALOGNO(n) "FA" #n ": "

#define FEDAUTH_UNSET (-1)

typedef enum {
    FEDAUTH_RESPONSE_QUERY = 0,
    FEDAUTH_RESPONSE_FORM_POST
} fedauth_response_mode_t;

typedef struct fedauth_provider_t {
    fa_idp_conf_t idp;             /* id, issuer, client, ... */
    fa_claims_conf_t claims;       /* user name and role rules */
    const char *defined_in;        /* "file:line" of the block */
    int index;                     /* order of definition */
    int enabled;                   /* Enabled; default 1 */
    int sort_order;                /* SortOrder; default 0 */
    const char *icon;              /* Icon URL or NULL */
    const char *accent;            /* AccentColor "#rrggbb" or NULL */
    const char *prompt;            /* Prompt or NULL */
    const char *acr_values;        /* AcrValues or NULL */
    fedauth_response_mode_t response_mode;
    int userinfo;                  /* UserInfo On/Off, UNSET: when offered */
    fa_idp_t *rt;                  /* run-time object, made in post_config */
} fedauth_provider_t;

typedef struct fedauth_srv_t {
    apr_array_header_t *providers; /* of fedauth_provider_t *, merged */
    const char *store_spec;        /* "shm" (default) or a redis URL */
    const char *store_origin;      /* "file:line" of FedAuthSessionStore */
    fa_redis_conf_t *redis;        /* parsed redis spec, or NULL (shm) */
    const char *redis_prefix;      /* FedAuthRedisPrefix */
    int redis_timeout_ms;          /* FedAuthRedisTimeout, UNSET */
    int logout_at_idp;             /* FedAuthLogoutAtIdP, UNSET */
    int local_cache_ms;            /* FedAuthSessionLocalCache, UNSET */
    int sessions_per_user;         /* FedAuthMaxSessionsPerUser, UNSET */
    fa_store_t *store;             /* made in post_config */
    apr_size_t shm_size;
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
    apr_array_header_t *allowed_origins; /* FedAuthAllowedOrigin, or NULL */
    const char *chooser_template;  /* contents of FedAuthChooserTemplate */
    fa_keys_t keys;                /* made in post_config */
    int keys_ready;
} fedauth_srv_t;

typedef enum {
    FEDAUTH_UNAUTH_UNSET = 0,
    FEDAUTH_UNAUTH_REDIRECT,
    FEDAUTH_UNAUTH_401,
    FEDAUTH_UNAUTH_PASS,
    FEDAUTH_UNAUTH_AUTO            /* 401 for XHR / JSON, else redirect */
} fedauth_unauth_t;

#define FEDAUTH_PASS_HEADERS 1
#define FEDAUTH_PASS_ENV 2

typedef struct fedauth_dir_t {
    apr_array_header_t *providers; /* of const char * ids, or NULL: all */
    fedauth_unauth_t unauth;
    int pass_as;                   /* FEDAUTH_PASS_* bits, UNSET */
    int bearer;                    /* FedAuthBearer, UNSET */
    const char *bearer_audience;   /* FedAuthBearerAudience, or NULL */
} fedauth_dir_t;

extern module AP_MODULE_DECLARE_DATA fedauth_module;
extern const command_rec fedauth_cmds[];

void *fedauth_create_srv(apr_pool_t *p, server_rec *s);
void *fedauth_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *fedauth_create_dir(apr_pool_t *p, char *dir);
void *fedauth_merge_dir(apr_pool_t *p, void *basev, void *addv);

/* Effective values with defaults applied. */
const char *fedauth_cookie_name(const fedauth_srv_t *sc);
int fedauth_idle_timeout(const fedauth_srv_t *sc);
int fedauth_max_age(const fedauth_srv_t *sc);
int fedauth_http_timeout(const fedauth_srv_t *sc);
int fedauth_sessions_per_user(const fedauth_srv_t *sc);
apr_size_t fedauth_shm_size(const fedauth_srv_t *sc);

fedauth_provider_t *fedauth_provider_find(const fedauth_srv_t *sc,
                                          const char *id);

/* Forgets the FedAuthProviders uses of an earlier reading (pre_config). */
void fedauth_config_reset(apr_pool_t *pconf);
/* The claims that Require fedauth-claim lines ask about (kept in sessions
 * at login), and a provider id a Require fedauth-idp line names (checked
 * at start like FedAuthProviders). */
const apr_array_header_t *fedauth_kept_claims(void);
void fedauth_keep_claim(const char *name);
void fedauth_provider_ref(apr_pool_t *p, const char *id, const char *where);

/* Authorization providers fedauth-role, fedauth-claim, fedauth-idp. */
void fedauth_register_authz(apr_pool_t *p);
/* The session of this request, set by the authentication check. */
void fedauth_request_session_set(request_rec *r, fa_session_t *s);
fa_session_t *fedauth_request_session(request_rec *r);

/* The store spec with any password replaced by ***, for messages. */
const char *fedauth_store_spec_loggable(apr_pool_t *p, const char *spec);
/* Checks what only the whole configuration can tell; NULL when fine. */
const char *fedauth_config_check(apr_pool_t *p, server_rec *s);

/* The embedded store, shared by all workers of a host: opened (or found
 * again after a restart) in post_config, before the children fork. */
apr_status_t fedauth_shm_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                     server_rec *s, apr_size_t size);
fa_store_t *fedauth_shm_store(void);
/* The store of the request's server. */
fa_store_t *fedauth_store(request_rec *r);

/* Endpoints (mod_fedauth_endpoints.c). */
int fedauth_handle_endpoint(request_rec *r);
/* 1 when provider prov may be used at a location with config dc: enabled
 * and, when the location lists providers, one of them. */
int fedauth_provider_offered(const fedauth_dir_t *dc,
                             const fedauth_provider_t *prov);
/* Starts a login at provider prov for return_to: a redirect to the IdP.
 * hints: login_hint / domain_hint for the IdP, or NULL. */
int fedauth_start_login(request_rec *r, fedauth_provider_t *prov,
                        const char *return_to, apr_table_t *hints);
/* Where a browser without a session goes: straight to the one provider
 * (or the remembered one), else the chooser. */
int fedauth_send_to_signin(request_rec *r, fedauth_srv_t *sc,
                           fedauth_dir_t *dc, const char *return_to);
/* Ends the request with an error page, FEDAUTH_ERROR and a log line made
 * by the caller. Returns status. */
int fedauth_error(request_rec *r, int status, const char *code,
                  const char *description);
/* Reads a cookie of the request; NULL when absent. */
const char *fedauth_cookie_get(request_rec *r, const char *name);
/* The same without a copy: *val points into the Cookie header and is not
 * NUL-terminated. 0 when the request has no such cookie. */
int fedauth_cookie_peek(request_rec *r, const char *name, const char **val,
                        apr_size_t *len);
void fedauth_cookie_set(request_rec *r, const char *name, const char *value,
                        int max_age);
fa_http_t *fedauth_http(void);

/* Bearer tokens (mod_fedauth_bearer.c): the per-process cache, and the
 * check of an Authorization: Bearer token at a location. */
apr_status_t fedauth_bearer_child_init(apr_pool_t *p);
int fedauth_bearer_check(request_rec *r, fedauth_srv_t *sc,
                         fedauth_dir_t *dc, const char *token);
/* The provider whose issuer the token names, among those offered here. */
fedauth_provider_t *fedauth_provider_by_issuer(const fedauth_srv_t *sc,
                                               const fedauth_dir_t *dc,
                                               const fa_jwt_t *jwt);
/* CORS for /fedauth/authenticate and /fedauth/session: 1 when the
 * request's Origin may use the answer (headers set), 0 when it has an
 * Origin that is not allowed, -1 when it has none. */
int fedauth_cors(request_rec *r, const fedauth_srv_t *sc);
/* Maps the claims of a verified ID token to a new session of prov, within
 * FA_SESSION_BUDGET (what does not fit is left out, one info line each). */
apr_status_t fedauth_map_session(request_rec *r, fedauth_srv_t *sc,
                                 fedauth_provider_t *prov, fa_jwt_t *jwt,
                                 const char *id_token, fa_session_t *s,
                                 fa_err_t *err);
/* What the user reads when fedauth_map_session failed with err;
 * otherwise when the reason is none of the session's limits. */
const char *fedauth_map_failure_text(const fa_err_t *err,
                                     const char *otherwise);
/* Stores s as a new session and sets the session cookie. */
apr_status_t fedauth_store_session(request_rec *r, fedauth_srv_t *sc,
                                   fa_session_t *s, fa_err_t *err);
/* Exports a session to the request (user, env, headers). */
void fedauth_export_session(request_rec *r, const fedauth_dir_t *dc,
                            const fa_session_t *s);

/* Drops this process's copy of a session (logout, back-channel logout). */
void fedauth_session_forget(request_rec *r, const char *key);

/* Session lookup of the request: APR_SUCCESS and *ps; APR_NOTFOUND when
 * there is no valid session; other: the store failed. */
apr_status_t fedauth_session_load(request_rec *r, fedauth_srv_t *sc,
                                  fa_session_t **ps, const char **pkey);

#endif
