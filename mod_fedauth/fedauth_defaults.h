/* SPDX-License-Identifier: Apache-2.0 */
/* fedauth_defaults.h - every setting's default, and its getter: the one
 * place where an unset value becomes the value in effect. A leaf beside
 * mod_fedauth_types.h (it needs only the configuration types): the getters are
 * static inline, so a glue file that reads a setting includes this header
 * and depends on no other glue file for it; mod_fedauth_config.h
 * includes it for its users. */
#ifndef FEDAUTH_DEFAULTS_H
#define FEDAUTH_DEFAULTS_H

#include "mod_fedauth_types.h"

/* ---- defaults: the one place ------------------------------------------
 * Every setting starts unset (FEDAUTH_UNSET for numbers and flags, NULL
 * for strings, 0 for sizes), is merged with one macro per type, and gets
 * its default here, in the getter below it; every reader goes through the
 * getter. Each default has a comment line "Directive: `shown`" that
 * build/check-conf.sh compares with docs/directives.md's "Default:" line
 * of that directive (and with the value). The getters are static inline:
 * the request path pays one comparison, as when it read the field. */

/* FedAuthSessionCookie: `fedauth_session` */
#define FEDAUTH_DEFAULT_COOKIE_NAME "fedauth_session"
/* FedAuthSessionIdleTimeout: `3600` */
#define FEDAUTH_DEFAULT_IDLE_TIMEOUT 3600
/* FedAuthSessionMaxAge: `28800` */
#define FEDAUTH_DEFAULT_MAX_AGE 28800
/* FedAuthHTTPTimeout: `5` */
#define FEDAUTH_DEFAULT_HTTP_TIMEOUT 5
/* FedAuthMaxSessionsPerUser: `20` */
#define FEDAUTH_DEFAULT_SESSIONS_PER_USER 20
/* FedAuthIntrospectionCache: `300` */
#define FEDAUTH_DEFAULT_INTROSPECTION_CACHE 300
/* FedAuthBasicCache: `60` */
#define FEDAUTH_DEFAULT_BASIC_CACHE 60
/* FedAuthBasicLimit: `10 30 900` */
#define FEDAUTH_DEFAULT_BASIC_LIMIT_ACCOUNT 10
#define FEDAUTH_DEFAULT_BASIC_LIMIT_CLIENT 30
#define FEDAUTH_DEFAULT_BASIC_LIMIT_WINDOW 900
/* FedAuthRefreshBeforeExpiry: none (0: no refresh) */
#define FEDAUTH_DEFAULT_REFRESH_BEFORE 0
/* FedAuthRefreshFailure: `end` */
#define FEDAUTH_DEFAULT_REFRESH_FAILURE FEDAUTH_REFRESH_END
/* FedAuthRedisPrefix: `fedauth:` */
#define FEDAUTH_DEFAULT_REDIS_PREFIX "fedauth:"
/* FedAuthRedisTimeout: `1` (second) */
#define FEDAUTH_DEFAULT_REDIS_TIMEOUT_MS 1000
/* FedAuthRegistryDir: `/var/lib/apache2/fedauth` */
#define FEDAUTH_DEFAULT_REGISTRY_DIR "/var/lib/apache2/fedauth"
/* FedAuthAttemptStream: `0` */
#define FEDAUTH_DEFAULT_ATTEMPT_STREAM 0
/* FedAuthCookiePath: `/` */
#define FEDAUTH_DEFAULT_COOKIE_PATH "/"
/* FedAuthCookieSameSite: `Lax` */
#define FEDAUTH_DEFAULT_COOKIE_SAMESITE FEDAUTH_SAMESITE_LAX
/* FedAuthLoginCookieSameSite: `Auto` */
#define FEDAUTH_DEFAULT_LOGIN_SAMESITE FEDAUTH_LOGIN_SAMESITE_AUTO
/* FedAuthRememberChoice: `Off` */
#define FEDAUTH_DEFAULT_REMEMBER_CHOICE 0
/* FedAuthTokenLogin: `Off` */
#define FEDAUTH_DEFAULT_TOKEN_LOGIN 0
/* FedAuthMetrics: `Off` */
#define FEDAUTH_DEFAULT_METRICS 0
/* FedAuthStatus: `Off` */
#define FEDAUTH_DEFAULT_STATUS 0
/* FedAuthLogoutAtIdP: `Off` */
#define FEDAUTH_DEFAULT_LOGOUT_AT_IDP 0
/* FedAuthRegistry: `Off` */
#define FEDAUTH_DEFAULT_REGISTRY 0
/* FedAuthRegister: `On` */
#define FEDAUTH_DEFAULT_REGISTER 1
/* FedAuthSessionStore: `shm` (of this size; shm:<size> sets another) */
#define FEDAUTH_DEFAULT_SHM_SIZE ((apr_size_t)64 * 1024 * 1024)
/* FedAuthSessionHostCache's seconds: how long a copy the host keeps may
 * serve while Redis has not said its session changed. */
#define FEDAUTH_DEFAULT_HOST_CACHE_S 600
/* FedAuthUnauthenticated: `redirect` */
#define FEDAUTH_DEFAULT_UNAUTH FEDAUTH_UNAUTH_REDIRECT
/* FedAuthPassClaimsAs: `both` */
#define FEDAUTH_DEFAULT_PASS_AS (FEDAUTH_PASS_HEADERS | FEDAUTH_PASS_ENV)
/* FedAuthBearer: `Off` */
#define FEDAUTH_DEFAULT_BEARER 0
/* FedAuthPassAccessToken: `Off` */
#define FEDAUTH_DEFAULT_PASS_TOKEN 0
/* FedAuthPreservePost: `Off` */
#define FEDAUTH_DEFAULT_PRESERVE_POST 0
/* FedAuthPreservePostMax: `65536` */
#define FEDAUTH_DEFAULT_PRESERVE_POST_MAX FEDAUTH_PRESERVE_POST_MAX
/* FedAuthBasic: `Off` */
#define FEDAUTH_DEFAULT_BASIC 0
/* Enabled: `On` */
#define FEDAUTH_DEFAULT_ENABLED 1
/* SortOrder: `0` */
#define FEDAUTH_DEFAULT_SORT_ORDER 0
/* ResponseMode: `query` */
#define FEDAUTH_DEFAULT_RESPONSE_MODE FEDAUTH_RESPONSE_QUERY
/* PushedAuthorization: `Auto` */
#define FEDAUTH_DEFAULT_PAR FEDAUTH_PAR_AUTO

/* A number or flag as set, else its default. */
#define FEDAUTH_OR(v, dflt) ((v) != FEDAUTH_UNSET ? (v) : (dflt))
/* A string as set, else its default. */
#define FEDAUTH_OR_STR(v, dflt) ((v) ? (v) : (dflt))

static APR_INLINE const char *fedauth_cookie_name(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR_STR(sc->cookie_name, FEDAUTH_DEFAULT_COOKIE_NAME);
}

static APR_INLINE int fedauth_idle_timeout(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->idle_timeout, FEDAUTH_DEFAULT_IDLE_TIMEOUT);
}

static APR_INLINE int fedauth_max_age(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->max_age, FEDAUTH_DEFAULT_MAX_AGE);
}

static APR_INLINE int fedauth_http_timeout(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->http_timeout, FEDAUTH_DEFAULT_HTTP_TIMEOUT);
}

static APR_INLINE int fedauth_sessions_per_user(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->sessions_per_user,
                      FEDAUTH_DEFAULT_SESSIONS_PER_USER);
}

/* FedAuthIntrospectionCache: seconds an active introspection answer is
 * reused (0: asked each time). */
static APR_INLINE int fedauth_introspection_cache(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->introspection_cache,
                      FEDAUTH_DEFAULT_INTROSPECTION_CACHE);
}

static APR_INLINE int fedauth_basic_cache(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->basic_cache, FEDAUTH_DEFAULT_BASIC_CACHE);
}

/* FedAuthBasicLimit's three values (set together, by one line). */
static APR_INLINE void fedauth_basic_limits(const fedauth_srv_t *sc,
                                            int *account, int *client,
                                            int *window)
{
    int set = sc->basic_limit_window != FEDAUTH_UNSET;

    *account = set ? sc->basic_limit_account
                   : FEDAUTH_DEFAULT_BASIC_LIMIT_ACCOUNT;
    *client = set ? sc->basic_limit_client
                  : FEDAUTH_DEFAULT_BASIC_LIMIT_CLIENT;
    *window = set ? sc->basic_limit_window
                  : FEDAUTH_DEFAULT_BASIC_LIMIT_WINDOW;
}

/* FedAuthRefreshBeforeExpiry, 0 when not set (no refresh). */
static APR_INLINE int fedauth_refresh_before(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->refresh_before, FEDAUTH_DEFAULT_REFRESH_BEFORE);
}

/* FedAuthRefreshFailure: FEDAUTH_REFRESH_END or _PASS. */
static APR_INLINE int fedauth_refresh_failure(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->refresh_failure, FEDAUTH_DEFAULT_REFRESH_FAILURE);
}

static APR_INLINE const char *fedauth_redis_prefix(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR_STR(sc->redis_prefix, FEDAUTH_DEFAULT_REDIS_PREFIX);
}

static APR_INLINE int fedauth_redis_timeout_ms(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->redis_timeout_ms,
                      FEDAUTH_DEFAULT_REDIS_TIMEOUT_MS);
}

static APR_INLINE const char *fedauth_registry_dir(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR_STR(sc->registry_dir, FEDAUTH_DEFAULT_REGISTRY_DIR);
}

static APR_INLINE int fedauth_attempt_stream(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->attempt_stream, FEDAUTH_DEFAULT_ATTEMPT_STREAM);
}

static APR_INLINE const char *fedauth_cookie_path(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR_STR(sc->cookie_path, FEDAUTH_DEFAULT_COOKIE_PATH);
}

/* FEDAUTH_SAMESITE_* of the session cookie. */
static APR_INLINE int fedauth_cookie_samesite(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->cookie_samesite, FEDAUTH_DEFAULT_COOKIE_SAMESITE);
}

/* FEDAUTH_SAMESITE_* or FEDAUTH_LOGIN_SAMESITE_AUTO of the login cookie. */
static APR_INLINE int fedauth_login_samesite(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->login_samesite, FEDAUTH_DEFAULT_LOGIN_SAMESITE);
}

static APR_INLINE int fedauth_remember_choice(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->remember_choice, FEDAUTH_DEFAULT_REMEMBER_CHOICE);
}

static APR_INLINE int fedauth_token_login(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->token_login, FEDAUTH_DEFAULT_TOKEN_LOGIN);
}

static APR_INLINE int fedauth_metrics_on(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->metrics, FEDAUTH_DEFAULT_METRICS);
}

static APR_INLINE int fedauth_status_on(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->status, FEDAUTH_DEFAULT_STATUS);
}

static APR_INLINE int fedauth_logout_at_idp(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->logout_at_idp, FEDAUTH_DEFAULT_LOGOUT_AT_IDP);
}

static APR_INLINE int fedauth_registry_on(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->registry, FEDAUTH_DEFAULT_REGISTRY);
}

static APR_INLINE int fedauth_register_on(const fedauth_srv_t *sc)
{
    return FEDAUTH_OR(sc->register_on, FEDAUTH_DEFAULT_REGISTER);
}

static APR_INLINE apr_size_t fedauth_shm_size(const fedauth_srv_t *sc)
{
    return sc->shm_size ? sc->shm_size : FEDAUTH_DEFAULT_SHM_SIZE;
}

static APR_INLINE int fedauth_host_cache_s(const fedauth_srv_t *sc)
{
    return sc->host_cache_s != FEDAUTH_UNSET ? sc->host_cache_s
                                            : FEDAUTH_DEFAULT_HOST_CACHE_S;
}

static APR_INLINE fedauth_unauth_t fedauth_unauth(const fedauth_dir_t *dc)
{
    return dc->unauth != FEDAUTH_UNAUTH_UNSET ? dc->unauth
                                               : FEDAUTH_DEFAULT_UNAUTH;
}

/* FEDAUTH_PASS_* bits. */
static APR_INLINE int fedauth_pass_as(const fedauth_dir_t *dc)
{
    return FEDAUTH_OR(dc->pass_as, FEDAUTH_DEFAULT_PASS_AS);
}

static APR_INLINE int fedauth_bearer_on(const fedauth_dir_t *dc)
{
    return FEDAUTH_OR(dc->bearer, FEDAUTH_DEFAULT_BEARER);
}

static APR_INLINE int fedauth_pass_token(const fedauth_dir_t *dc)
{
    return FEDAUTH_OR(dc->pass_token, FEDAUTH_DEFAULT_PASS_TOKEN);
}

static APR_INLINE int fedauth_preserve_post_on(const fedauth_dir_t *dc)
{
    return FEDAUTH_OR(dc->preserve_post, FEDAUTH_DEFAULT_PRESERVE_POST);
}

static APR_INLINE int fedauth_preserve_post_max(const fedauth_dir_t *dc)
{
    return FEDAUTH_OR(dc->preserve_post_max,
                      FEDAUTH_DEFAULT_PRESERVE_POST_MAX);
}

static APR_INLINE int fedauth_basic_on(const fedauth_dir_t *dc)
{
    return FEDAUTH_OR(dc->basic, FEDAUTH_DEFAULT_BASIC);
}

#endif
