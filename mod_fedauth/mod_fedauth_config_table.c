/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_table.c - the module's directive table, as httpd
 * reads it: every FedAuth* directive with its handler, its argument
 * shape, where it may be written and its help text (apache2 -h shows it).
 * The sub-directives of <FedAuthProvider> have their own table in
 * mod_fedauth_config_provider.c. build/check-conf.sh reads both tables
 * and checks each name against conf.d/fedauth.conf and
 * docs/directives.md. */
#include "httpd.h"
#include "http_config.h"

#include "mod_fedauth_config_table.h"
#include "mod_fedauth_config_provider.h"
#include "mod_fedauth_config_server.h"
#include "mod_fedauth_config_location.h"
#include "mod_fedauth_config_cookies.h"

const command_rec fedauth_cmds[] = {
    AP_INIT_RAW_ARGS("<FedAuthProvider", fedauth_provider_section, NULL,
        RSRC_CONF,
        "an identity provider: <FedAuthProvider id> ... </FedAuthProvider>"),
    AP_INIT_TAKE1("FedAuthSessionStore", fedauth_set_store, NULL, RSRC_CONF,
        "where sessions live: shm, shm:<size>, redis[s]://..., "
        "redis[s]-sentinel://... or redis[s]-cluster://..."),
    AP_INIT_TAKE_ARGV("FedAuthSecret", fedauth_set_secret, NULL, RSRC_CONF,
        "passphrases or file:/path for cookie and state keys: the first "
        "signs, all verify"),
    AP_INIT_TAKE1("FedAuthSessionCookie", fedauth_set_cookie_name, NULL,
        RSRC_CONF, "session cookie name"),
    AP_INIT_TAKE1("FedAuthSessionIdleTimeout", fedauth_set_srv_int, NULL,
        RSRC_CONF, "seconds of inactivity that end a session"),
    AP_INIT_TAKE1("FedAuthSessionMaxAge", fedauth_set_srv_int, NULL, RSRC_CONF,
        "seconds after which a session ends in any case"),
    AP_INIT_TAKE1("FedAuthMaxSessionsPerUser", fedauth_set_srv_int, NULL,
        RSRC_CONF,
        "sessions one user may have through one provider; a sign-in beyond "
        "ends the oldest"),
    AP_INIT_TAKE1("FedAuthHTTPTimeout", fedauth_set_srv_int, NULL, RSRC_CONF,
        "seconds for each call to an identity provider"),
    AP_INIT_TAKE1("FedAuthRedirectBase", fedauth_set_redirect_base, NULL,
        RSRC_CONF, "scheme://host[:port] of redirect URIs"),
    AP_INIT_TAKE1("FedAuthDefaultRole", fedauth_set_default_role, NULL,
        RSRC_CONF, "role of users no GroupMap matched"),
    AP_INIT_TAKE1("FedAuthRememberChoice", fedauth_set_remember, NULL,
        RSRC_CONF, "On: a cookie remembers the provider chosen last"),
    AP_INIT_TAKE1("FedAuthChooserTemplate", fedauth_set_chooser_template, NULL,
        RSRC_CONF, "HTML template of the provider chooser"),
    AP_INIT_TAKE1("FedAuthAttemptLog", fedauth_set_attempt_log, NULL, RSRC_CONF,
        "file (or |program) that gets one line of JSON per sign-in attempt"),
    AP_INIT_TAKE1("FedAuthAttemptStream", fedauth_set_attempt_stream, NULL,
        RSRC_CONF, "with a Redis store: the attempt lines also go to the "
        "stream <prefix>attempts, capped at this many entries (0: none)"),
    AP_INIT_TAKE1("FedAuthRedisPrefix", fedauth_set_redis_prefix, NULL,
        RSRC_CONF, "key prefix in a shared Redis"),
    AP_INIT_TAKE1("FedAuthRedisTimeout", fedauth_set_redis_timeout, NULL,
        RSRC_CONF, "seconds for a Redis connect and each command"),
    AP_INIT_TAKE1("FedAuthRedisCAFile", fedauth_set_redis_tls,
        (void *)FEDAUTH_REDIS_CA, RSRC_CONF, "PEM file of the CAs that "
        "rediss:// server certificates must chain to (default: the "
        "system's)"),
    AP_INIT_TAKE1("FedAuthRedisClientCert", fedauth_set_redis_tls,
        (void *)FEDAUTH_REDIS_CERT, RSRC_CONF, "PEM client certificate "
        "presented to a rediss:// server"),
    AP_INIT_TAKE1("FedAuthRedisClientKey", fedauth_set_redis_tls,
        (void *)FEDAUTH_REDIS_KEY, RSRC_CONF, "PEM key of "
        "FedAuthRedisClientCert (default: in the same file)"),
    AP_INIT_TAKE1("FedAuthRedisServerName", fedauth_set_redis_tls,
        (void *)FEDAUTH_REDIS_NAME, RSRC_CONF, "name the rediss:// server "
        "certificates must carry (default: the host connected to)"),
    AP_INIT_TAKE1("FedAuthSessionLocalCache", fedauth_set_local_cache, NULL,
        RSRC_CONF, "seconds a worker process may reuse a session it read "
        "from the store (0: ask the store on every request)"),
    AP_INIT_TAKE12("FedAuthSessionHostCache", fedauth_set_host_cache, NULL,
        RSRC_CONF, "with Redis: bytes of shared memory for one copy of "
        "sessions per host, read by all its processes (0: none), and the "
        "seconds a copy may serve (default 600)"),
    AP_INIT_TAKE1("FedAuthLogoutAtIdP", fedauth_set_logout_at_idp, NULL,
        RSRC_CONF, "On: logout also ends the session at the identity provider"),
    AP_INIT_TAKE1("FedAuthRegistry", fedauth_set_registry, NULL, RSRC_CONF,
        "On: sign-ins go through the account registry (see fedauthctl)"),
    AP_INIT_TAKE1("FedAuthRegister", fedauth_set_register, NULL, RSRC_CONF,
        "On (default): a first sign-in creates the account; Off: only "
        "accounts an administrator added or linked may sign in"),
    AP_INIT_TAKE1("FedAuthRegistryDir", fedauth_set_registry_dir, NULL,
        RSRC_CONF,
        "directory of the registry with the shm session store (default "
        "/var/lib/apache2/fedauth)"),
    AP_INIT_TAKE1("FedAuthTokenLogin", fedauth_set_token_login, NULL, RSRC_CONF,
        "On: POST /fedauth/authenticate signs in with an ID token"),
    AP_INIT_TAKE1("FedAuthMetrics", fedauth_set_metrics, NULL, RSRC_CONF,
        "On: GET /fedauth/metrics answers the counters in Prometheus text, "
        "under the access control of its <Location>"),
    AP_INIT_TAKE1("FedAuthStatus", fedauth_set_status, NULL, RSRC_CONF,
        "On: GET /fedauth/status answers the providers', store's and "
        "sessions' state (HTML or JSON), under the access control of its "
        "<Location>"),
    AP_INIT_ITERATE("FedAuthAllowedOrigin", fedauth_set_allowed_origin, NULL,
        RSRC_CONF, "origins allowed to call /fedauth/authenticate and "
        "/fedauth/session with CORS"),
    AP_INIT_TAKE1("FedAuthRefreshBeforeExpiry", fedauth_set_refresh_before,
        NULL,
        RSRC_CONF, "seconds before its expiry an access token is "
        "refreshed (with a refresh token)"),
    AP_INIT_TAKE1("FedAuthRefreshFailure", fedauth_set_refresh_failure, NULL,
        RSRC_CONF, "end (the session ends) or pass (it goes on without "
        "tokens) when a refresh fails"),
    /* Not in .htaccess: whoever writes one would get the users' tokens. */
    AP_INIT_TAKE1("FedAuthPassAccessToken", fedauth_set_pass_token, NULL,
        RSRC_CONF | ACCESS_CONF, "On: the access token reaches handlers "
        "and backends here (FEDAUTH_ACCESS_TOKEN, X-FedAuth-Access-Token)"),
    AP_INIT_TAKE1("FedAuthBearer", fedauth_set_bearer, NULL, OR_AUTHCFG,
        "On: accept Authorization: Bearer <JWT> from the providers"),
    AP_INIT_TAKE1("FedAuthBearerAudience", fedauth_set_bearer_audience, NULL,
        OR_AUTHCFG, "expected aud of bearer tokens (default: the client id)"),
    AP_INIT_ITERATE("FedAuthProviders", fedauth_set_providers, NULL, OR_AUTHCFG,
        "ids of the providers this location offers"),
    AP_INIT_TAKE1("FedAuthUnauthenticated", fedauth_set_unauth, NULL,
        OR_AUTHCFG, "redirect, 401 or pass"),
    AP_INIT_ITERATE("FedAuthPassClaimsAs", fedauth_set_pass_as, NULL,
        OR_AUTHCFG, "headers, env, both or none"),
    AP_INIT_TAKE1("FedAuthIntrospectionCache", fedauth_set_introspection_cache,
        NULL,
        RSRC_CONF, "seconds an active introspection answer is reused "
        "(0: not kept; default 300)"),
    /* The outgoing proxy: one for the whole server (one HTTP client). */
    AP_INIT_TAKE1("FedAuthOutgoingProxy", fedauth_set_outgoing_proxy, NULL,
        RSRC_CONF, "http(s)://[user:password@]host:port of the proxy for "
        "every call to an identity provider and to Microsoft Graph"),
    AP_INIT_ITERATE("FedAuthOutgoingNoProxy", fedauth_set_outgoing_noproxy,
        NULL,
        RSRC_CONF, "hosts, .domains and addresses called without the "
        "proxy"),
    /* Cookies an administrator fits to the site. */
    AP_INIT_TAKE12("FedAuthCookieSameSite", fedauth_set_cookie_samesite, NULL,
        RSRC_CONF, "Lax (default), Strict or None [Partitioned]: the "
        "SameSite of the session cookie"),
    AP_INIT_TAKE1("FedAuthLoginCookieSameSite", fedauth_set_login_samesite,
        NULL,
        RSRC_CONF, "Auto (default), Lax or None: the SameSite of the "
        "login state cookie"),
    AP_INIT_TAKE1("FedAuthCookieDomain", fedauth_set_cookie_domain, NULL,
        RSRC_CONF, ".example.com: the session cookie goes to every host "
        "under it (default: this host only)"),
    AP_INIT_TAKE1("FedAuthCookiePath", fedauth_set_cookie_path, NULL, RSRC_CONF,
        "URL path the session cookie is sent to (default /)"),
    /* Keeping a POST across sign-in: not in .htaccess, since it lets
     * anonymous clients write to the store. */
    AP_INIT_TAKE1("FedAuthPreservePost", fedauth_set_preserve_post, NULL,
        RSRC_CONF | ACCESS_CONF, "On: a form POST without a session is "
        "kept in the store and posted again after the sign-in"),
    AP_INIT_TAKE1("FedAuthPreservePostMax", fedauth_set_preserve_post_max, NULL,
        RSRC_CONF | ACCESS_CONF, "largest form body kept, bytes (1024 to "
        "1048576; default 65536)"),
    /* App passwords from the account registry (HTTP Basic). */
    AP_INIT_TAKE1("FedAuthBasic", fedauth_set_basic, NULL, OR_AUTHCFG,
        "On: Authorization: Basic <account>:<app password> signs a request "
        "in (FedAuthRegistry On)"),
    AP_INIT_TAKE1("FedAuthBasicCache", fedauth_set_basic_cache, NULL, RSRC_CONF,
        "seconds a verified app password skips the KDF in a process "
        "(0: never; default 60)"),
    AP_INIT_TAKE3("FedAuthBasicLimit", fedauth_set_basic_limit, NULL, RSRC_CONF,
        "failures per account, failures per client address, within "
        "seconds, before app passwords are refused (429; default 10 30 "
        "900)"),
    { NULL }
};

