/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_check.c - what only the whole configuration can
 * tell, checked once it is read (post_config, and `apache2 -t`): a Redis
 * store's secret and TLS files, the cookie settings against this host and
 * the providers' response modes, the attempt stream's store, and the
 * FedAuthProviders lines against the providers defined. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_hash.h"
#include "apr_uri.h"

#include "mod_fedauth_config_check.h"
#include "mod_fedauth_config.h"
#include "fa_redis_net.h"

static const char *const redis_tls_names[FEDAUTH_REDIS_TLS_N] = {
    "FedAuthRedisCAFile", "FedAuthRedisClientCert", "FedAuthRedisClientKey",
    "FedAuthRedisServerName"
};

/* The TLS settings of a Redis store: only with rediss://, and files that
 * OpenSSL can read (read now, so that `apachectl -t` fails on them). */
static const char *check_redis_tls(apr_pool_t *p, fedauth_srv_t *sc,
                                   apr_hash_t *checked)
{
    const fedauth_setting_t *t = sc->redis_tls;
    fa_redis_tls_file_t which;
    const char *key, *name;
    SSL_CTX *ctx;
    fa_err_t err;
    int i;

    if (!sc->redis->tls) {
        for (i = 0; i < FEDAUTH_REDIS_TLS_N; i++) {
            if (t[i].value) {
                return apr_psprintf(p, "%s (at %s) is for TLS, but "
                                    "FedAuthSessionStore %s (at %s) is "
                                    "plain: write rediss:// (or "
                                    "rediss-sentinel://, "
                                    "rediss-cluster://) to use TLS",
                                    redis_tls_names[i], t[i].origin,
                                    fedauth_store_spec_loggable(p,
                                        sc->store_spec), sc->store_origin);
            }
        }
        return NULL;
    }
    key = apr_pstrcat(p, t[0].value ? t[0].value : "", "|",
                      t[1].value ? t[1].value : "", "|",
                      t[2].value ? t[2].value : "", NULL);
    if (apr_hash_get(checked, key, APR_HASH_KEY_STRING)) {
        return NULL;
    }
    apr_hash_set(checked, key, APR_HASH_KEY_STRING, "");
    memset(&err, 0, sizeof(err));
    if (fa_redis_tls_context(p, t[FEDAUTH_REDIS_CA].value,
                             t[FEDAUTH_REDIS_CERT].value,
                             t[FEDAUTH_REDIS_KEY].value, &ctx, &which, &err)
        == APR_SUCCESS) {
        return NULL;
    }
    i = which == FA_REDIS_TLS_CERT ? FEDAUTH_REDIS_CERT
        : which == FA_REDIS_TLS_KEY ? FEDAUTH_REDIS_KEY : FEDAUTH_REDIS_CA;
    if (i == FEDAUTH_REDIS_KEY && !t[i].value) {
        i = FEDAUTH_REDIS_CERT;      /* the key was looked for there */
    }
    if (!t[i].value) {
        name = apr_psprintf(p, "FedAuthSessionStore %s",
                            fedauth_store_spec_loggable(p, sc->store_spec));
        return apr_psprintf(p, "%s: %s (at %s)", name, err.desc,
                            sc->store_origin);
    }
    return apr_psprintf(p, "%s: %s (at %s)", redis_tls_names[i], err.desc,
                        t[i].origin);
}

/* 1 when this host is known to be plain http: FedAuthRedirectBase
 * http://..., else ServerName http://... (with neither, a host behind a
 * TLS proxy may still be https: the request decides). */
static int known_plain_http(const server_rec *vs, const fedauth_srv_t *sc)
{
    if (sc->redirect_base) {
        return strncasecmp(sc->redirect_base, "https:", 6) != 0;
    }
    return vs->server_scheme && strcasecmp(vs->server_scheme, "https");
}

/* The site of a URL's host as browsers near enough see it for SameSite:
 * an address or a one-label name as it is, else its last two labels
 * (without the public suffix list: a.example.co.uk and b.example.co.uk
 * count as one site here). */
static const char *site_of(apr_pool_t *p, const char *host)
{
    const char *last, *c;

    if (!host) {
        return "";
    }
    for (c = host; *c && (apr_isdigit(*c) || *c == '.'); c++) {
    }
    if (!*c || strchr(host, ':')) {
        return host;                          /* an address */
    }
    if (!(last = strrchr(host, '.'))) {
        return host;
    }
    for (c = last - 1; c > host && *c != '.'; c--) {
    }
    return apr_pstrdup(p, *c == '.' ? c + 1 : c);
}

/* 1 when the provider's issuer is on another site than this host
 * (FedAuthRedirectBase, else ServerName): a form_post callback then
 * comes as a cross-site POST. */
static int idp_cross_site(apr_pool_t *p, const server_rec *vs,
                          const fedauth_srv_t *sc,
                          const fedauth_provider_t *prov)
{
    apr_uri_t idp, rp;

    if (apr_uri_parse(p, prov->idp.issuer, &idp) != APR_SUCCESS) {
        return 0;
    }
    memset(&rp, 0, sizeof(rp));
    if (!sc->redirect_base
        || apr_uri_parse(p, sc->redirect_base, &rp) != APR_SUCCESS) {
        memset(&rp, 0, sizeof(rp));
        rp.scheme = (char *)vs->server_scheme;
        rp.hostname = vs->server_hostname;
    }
    if (idp.scheme && rp.scheme && strcasecmp(idp.scheme, rp.scheme)) {
        return 1;
    }
    return strcasecmp(site_of(p, idp.hostname), site_of(p, rp.hostname))
           != 0;
}

/* What the cookie directives cannot be together, or on this host. */
static const char *check_cookies(apr_pool_t *p, const server_rec *vs,
                                 const fedauth_srv_t *sc)
{
    const fedauth_provider_t *prov;
    apr_uri_t rp;
    apr_size_t hl, dl;
    int i;

    if (known_plain_http(vs, sc)) {
        if (fedauth_cookie_samesite(sc) == FEDAUTH_SAMESITE_NONE) {
            return apr_psprintf(p, "FedAuthCookieSameSite None (at %s) "
                                "needs https: browsers drop a SameSite=None "
                                "cookie without Secure, and this host is "
                                "http (FedAuthRedirectBase or ServerName)",
                                sc->cookie_samesite_at);
        }
        if (fedauth_login_samesite(sc) == FEDAUTH_SAMESITE_NONE) {
            return apr_psprintf(p, "FedAuthLoginCookieSameSite None (at %s) "
                                "needs https, and this host is http "
                                "(FedAuthRedirectBase or ServerName)",
                                sc->login_samesite_at);
        }
    }
    if (sc->cookie_domain && sc->redirect_base
        && apr_uri_parse(p, sc->redirect_base, &rp) == APR_SUCCESS
        && rp.hostname) {
        hl = strlen(rp.hostname);
        dl = strlen(sc->cookie_domain);
        if (!(hl == dl || (hl > dl && rp.hostname[hl - dl - 1] == '.'))
            || strcasecmp(rp.hostname + hl - dl, sc->cookie_domain)) {
            return apr_psprintf(p, "FedAuthCookieDomain %s (at %s) is not "
                                "a domain of this host (%s): browsers would "
                                "refuse the cookie", sc->cookie_domain,
                                sc->cookie_domain_at, rp.hostname);
        }
    }
    for (i = 0; fedauth_login_samesite(sc) == FEDAUTH_SAMESITE_LAX
                && i < sc->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        if (prov->response_mode == FEDAUTH_RESPONSE_FORM_POST
            && idp_cross_site(p, vs, sc, prov)) {
            return apr_psprintf(p, "FedAuthLoginCookieSameSite Lax (at %s) "
                                "cannot work with provider %s (at %s): its "
                                "ResponseMode form_post comes back as a "
                                "POST from another site (%s), which never "
                                "carries a Lax cookie; use Auto or None",
                                sc->login_samesite_at, prov->idp.id,
                                prov->defined_in, prov->idp.issuer);
        }
    }
    return NULL;
}

const char *fedauth_config_check(apr_pool_t *p, server_rec *s)
{
    apr_hash_t *checked = apr_hash_make(p);
    server_rec *vs;
    fedauth_srv_t *sc;
    const char *err;

    for (vs = s; vs; vs = vs->next) {
        sc = ap_get_module_config(vs->module_config, &fedauth_module);
        if (sc->redis && !sc->secret) {
            return apr_psprintf(p, "FedAuthSessionStore %s (at %s) is shared "
                                "by several hosts: it needs FedAuthSecret, so "
                                "that every host can check every other "
                                "host's cookies",
                                fedauth_store_spec_loggable(p, sc->store_spec),
                                sc->store_origin);
        }
        if (sc->redis && (err = check_redis_tls(p, sc, checked)) != NULL) {
            return err;
        }
        if ((err = check_cookies(p, vs, sc)) != NULL) {
            return err;
        }
        if (!sc->redis && fedauth_attempt_stream(sc) > 0) {
            return "FedAuthAttemptStream needs a Redis FedAuthSessionStore "
                   "(the stream lives there); with shm, use "
                   "FedAuthAttemptLog";
        }
    }

    return fedauth_config_check_refs(p, s);
}
