/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config.c - the configuration records: made, merged, and
 * read through the getters (the defaults are in mod_fedauth_config.h);
 * which providers a location offers; what the directives note for the
 * checks at start (FedAuthProviders references, kept claims, whether an
 * access token is passed anywhere); and the objects post_config makes for
 * everyone (the request's store, the HTTP client, the outgoing proxy).
 * The directives are read by mod_fedauth_config_{server,location,
 * cookies,provider}.c, listed in mod_fedauth_config_table.c, and checked
 * together by mod_fedauth_config_check.c. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "apr_strings.h"

#include "mod_fedauth_config.h"
#include "fa_http.h"

APLOG_USE_MODULE(fedauth);

/* FedAuthProviders uses, checked against the providers in post_config. */
typedef struct provider_ref_t {
    const char *id;
    const char *where;
} provider_ref_t;
static apr_array_header_t *provider_refs;
static apr_array_header_t *kept_claims;
/* FedAuthPassAccessToken On somewhere in this configuration. */
static int pass_token_anywhere;

void *fedauth_create_srv(apr_pool_t *p, server_rec *s)
{
    fedauth_srv_t *sc = apr_pcalloc(p, sizeof(*sc));
    int *const unset[] = {
        &sc->idle_timeout, &sc->max_age, &sc->http_timeout,
        &sc->remember_choice, &sc->token_login, &sc->metrics, &sc->status,
        &sc->redis_timeout_ms, &sc->logout_at_idp, &sc->local_cache_ms,
        &sc->cookie_samesite, &sc->login_samesite, &sc->sessions_per_user,
        &sc->refresh_before, &sc->refresh_failure, &sc->registry,
        &sc->register_on, &sc->attempt_stream, &sc->introspection_cache,
        &sc->basic_cache, &sc->basic_limit_account, &sc->basic_limit_client,
        &sc->basic_limit_window, &sc->host_cache_s
    };
    apr_size_t i;

    for (i = 0; i < sizeof(unset) / sizeof(unset[0]); i++) {
        *unset[i] = FEDAUTH_UNSET;
    }
    sc->providers = apr_array_make(p, 4, sizeof(fedauth_provider_t *));
    return sc;
}

/* One macro per type: a value set in the virtual host (add) wins over the
 * main server's (base); MERGE_WITH takes a field that goes with another
 * (its origin, a second word) from where that other one came. */
#define MERGE_PTR(f) m->f = add->f ? add->f : base->f
#define MERGE_INT(f) m->f = add->f != FEDAUTH_UNSET ? add->f : base->f
#define MERGE_SIZE(f) m->f = add->f ? add->f : base->f
#define MERGE_WITH_PTR(lead, f) m->f = add->lead ? add->f : base->f
#define MERGE_WITH_INT(lead, f) \
    m->f = add->lead != FEDAUTH_UNSET ? add->f : base->f

void *fedauth_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    fedauth_srv_t *base = basev, *add = addv;
    fedauth_srv_t *m = apr_pcalloc(p, sizeof(*m));
    fedauth_provider_t *prov;
    int i, j, overridden;

    /* A virtual host sees the main server's providers and its own; its own
     * win where the ids are the same. */
    m->providers = apr_array_copy(p, add->providers);
    for (i = 0; i < base->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(base->providers, i, fedauth_provider_t *);
        for (overridden = 0, j = 0; j < add->providers->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(add->providers, j,
                                      fedauth_provider_t *)->idp.id,
                        prov->idp.id)) {
                overridden = 1;
            }
        }
        if (!overridden) {
            APR_ARRAY_PUSH(m->providers, fedauth_provider_t *) = prov;
        }
    }
    MERGE_PTR(store_spec);
    MERGE_WITH_PTR(store_spec, store_origin);
    MERGE_WITH_PTR(store_spec, redis);
    MERGE_PTR(redis_prefix);
    MERGE_INT(redis_timeout_ms);
    for (i = 0; i < FEDAUTH_REDIS_TLS_N; i++) {
        m->redis_tls[i] = add->redis_tls[i].value ? add->redis_tls[i]
                                                  : base->redis_tls[i];
    }
    MERGE_INT(logout_at_idp);
    MERGE_PTR(outgoing_proxy);
    MERGE_PTR(outgoing_noproxy);
    MERGE_INT(local_cache_ms);
    MERGE_INT(sessions_per_user);
    MERGE_SIZE(shm_size);
    MERGE_SIZE(host_cache_size);
    MERGE_INT(host_cache_s);
    MERGE_PTR(secret);
    MERGE_WITH_PTR(secret, secret_origin);
    MERGE_WITH_PTR(secret, older_secrets);
    MERGE_PTR(cookie_name);
    MERGE_INT(idle_timeout);
    MERGE_INT(max_age);
    MERGE_INT(http_timeout);
    MERGE_PTR(redirect_base);
    MERGE_PTR(default_role);
    MERGE_INT(remember_choice);
    MERGE_INT(token_login);
    MERGE_INT(metrics);
    MERGE_INT(status);                          /* FedAuthStatus */
    MERGE_INT(refresh_before);
    MERGE_INT(refresh_failure);
    MERGE_PTR(allowed_origins);
    MERGE_PTR(chooser_template);
    MERGE_PTR(attempt_log);
    MERGE_INT(attempt_stream);
    MERGE_INT(registry);
    MERGE_INT(register_on);
    MERGE_PTR(registry_dir);
    MERGE_INT(introspection_cache);
    MERGE_INT(cookie_samesite);                         /* cookies */
    MERGE_WITH_INT(cookie_samesite, cookie_partitioned);
    MERGE_WITH_INT(cookie_samesite, cookie_samesite_at);
    MERGE_INT(login_samesite);
    MERGE_PTR(login_samesite_at);
    MERGE_PTR(cookie_domain);
    MERGE_PTR(cookie_domain_at);
    MERGE_PTR(cookie_path);
    MERGE_PTR(cookie_path_at);
    MERGE_INT(basic_cache);
    MERGE_INT(basic_limit_account);
    MERGE_INT(basic_limit_client);
    MERGE_INT(basic_limit_window);
    return m;
}

void *fedauth_create_dir(apr_pool_t *p, char *dir)
{
    fedauth_dir_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->unauth = FEDAUTH_UNAUTH_UNSET;
    dc->pass_as = FEDAUTH_UNSET;
    dc->bearer = FEDAUTH_UNSET;
    dc->pass_token = FEDAUTH_UNSET;
    dc->preserve_post = FEDAUTH_UNSET;
    dc->preserve_post_max = FEDAUTH_UNSET;
    dc->basic = FEDAUTH_UNSET;
    return dc;
}

void *fedauth_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    fedauth_dir_t *base = basev, *add = addv;
    fedauth_dir_t *m = apr_pcalloc(p, sizeof(*m));

    MERGE_PTR(providers);
    MERGE_INT(unauth);
    MERGE_INT(pass_as);
    MERGE_INT(bearer);
    MERGE_PTR(bearer_audience);
    MERGE_INT(pass_token);
    MERGE_INT(preserve_post);
    MERGE_INT(preserve_post_max);
    MERGE_INT(basic);
    return m;
}

int fedauth_keep_tokens(const fedauth_srv_t *sc)
{
    return pass_token_anywhere || fedauth_refresh_before(sc) > 0;
}

void fedauth_pass_token_seen(void)
{
    pass_token_anywhere = 1;
}

void fedauth_provider_defaults(fedauth_provider_t *prov)
{
    prov->enabled = FEDAUTH_OR(prov->enabled, FEDAUTH_DEFAULT_ENABLED);
    prov->sort_order = FEDAUTH_OR(prov->sort_order,
                                  FEDAUTH_DEFAULT_SORT_ORDER);
    if (prov->response_mode == FEDAUTH_RESPONSE_UNSET) {
        prov->response_mode = FEDAUTH_DEFAULT_RESPONSE_MODE;
    }
    prov->par = FEDAUTH_OR(prov->par, FEDAUTH_DEFAULT_PAR);
    if (!prov->idp.display_name) {
        prov->idp.display_name = prov->idp.id;   /* DisplayName: the id */
    }
    /* UserInfo stays FEDAUTH_UNSET: read when discovery offers it. */
}

fedauth_provider_t *fedauth_provider_find(const fedauth_srv_t *sc,
                                          const char *id)
{
    int i;

    for (i = 0; i < sc->providers->nelts; i++) {
        fedauth_provider_t *prov =
            APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        if (!strcmp(prov->idp.id, id)) {
            return prov;
        }
    }
    return NULL;
}

int fedauth_provider_offered(const fedauth_dir_t *dc,
                             const fedauth_provider_t *prov)
{
    int i;

    if (!prov->enabled) {
        return 0;
    }
    if (!dc || !dc->providers) {
        return 1;
    }
    for (i = 0; i < dc->providers->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(dc->providers, i, const char *),
                    prov->idp.id)) {
            return 1;
        }
    }
    return 0;
}

fedauth_provider_t *fedauth_provider_by_issuer(const fedauth_srv_t *sc,
                                               const fedauth_dir_t *dc,
                                               const fa_jwt_t *jwt)
{
    const char *iss = fa_jwt_claim_str(jwt, "iss");
    const char *tid = fa_jwt_claim_str(jwt, "tid");
    fedauth_provider_t *prov;
    int i;

    for (i = 0; iss && i < sc->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        if (fedauth_provider_offered(dc, prov)
            && fa_idp_issuer_ok(&prov->idp, iss, tid, 0)) {
            return prov;
        }
    }
    return NULL;
}

/* ---- what post_config makes ------------------------------------------ */

static fa_http_t *http_client;
/* The outgoing proxy as messages show it (password ***), and NoProxy. */
static const char *proxy_shown, *noproxy_shown;

fa_store_t *fedauth_store(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);

    return sc->store;
}

void fedauth_http_set(fa_http_t *http)
{
    http_client = http;
}

fa_http_t *fedauth_http(void)
{
    return http_client;
}

void fedauth_outgoing_shown(const char **proxy, const char **noproxy)
{
    *proxy = proxy_shown;
    *noproxy = noproxy_shown;
}

void fedauth_outgoing_proxy(apr_pool_t *pconf, server_rec *s)
{
    fedauth_srv_t *sc = ap_get_module_config(s->module_config,
                                             &fedauth_module);
    const char *masked = NULL;

    proxy_shown = noproxy_shown = NULL;
    if (!sc->outgoing_proxy
        || fa_http_proxy_check(pconf, sc->outgoing_proxy, &masked)) {
        fa_http_curl_set_proxy(http_client, NULL, NULL, NULL);
        return;
    }
    fa_http_curl_set_proxy(http_client, sc->outgoing_proxy,
                           sc->outgoing_noproxy, masked);
    proxy_shown = masked;
    noproxy_shown = sc->outgoing_noproxy;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, FALOGNO(01070)
                 "calls to identity providers and Microsoft Graph go "
                 "through the proxy %s%s%s", masked,
                 sc->outgoing_noproxy ? ", except to " : "",
                 sc->outgoing_noproxy ? sc->outgoing_noproxy : "");
}

void fedauth_config_reset(apr_pool_t *pconf)
{
    provider_refs = apr_array_make(pconf, 8, sizeof(provider_ref_t));
    kept_claims = apr_array_make(pconf, 4, sizeof(const char *));
    pass_token_anywhere = 0;
}

/* Directives are read while httpd serves requests only from .htaccess
 * files (the server's configuration is read before the MPM runs): those
 * are read by many threads at once, into the request's pool, for every
 * request, so nothing that lives longer may be written then. */
static int read_at_request_time(void)
{
    return ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_RUN_MPM;
}

const char *fedauth_provider_ref(cmd_parms *cmd, const char *what,
                                 const char *id)
{
    provider_ref_t *ref;

    if (read_at_request_time()) {
        /* Every provider is known by now: check at once, keep nothing. */
        return fedauth_provider_find(ap_get_module_config(
                   cmd->server->module_config, &fedauth_module), id) ? NULL
            : apr_psprintf(cmd->pool, FALOGNO(00421) "%s names %s, but no "
                           "<FedAuthProvider %s> is defined for this "
                           "server", what, id, id);
    }
    if (provider_refs) {
        ref = apr_array_push(provider_refs);
        ref->id = apr_pstrdup(provider_refs->pool, id);
        ref->where = cmd->directive
            ? apr_psprintf(provider_refs->pool, "%s:%d",
                           cmd->directive->filename,
                           cmd->directive->line_num) : "?";
    }
    return NULL;
}

const apr_array_header_t *fedauth_kept_claims(void)
{
    return kept_claims && kept_claims->nelts ? kept_claims : NULL;
}

const char *fedauth_keep_claim(cmd_parms *cmd, const char *name)
{
    int i;

    if (!kept_claims) {
        return NULL;
    }
    for (i = 0; i < kept_claims->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(kept_claims, i, const char *), name)) {
            return NULL;
        }
    }
    if (read_at_request_time()) {
        /* Sessions keep the claims named at start only: one named first
         * in an .htaccess file could never be granted. */
        return apr_psprintf(cmd->pool, FALOGNO(00422) "Require "
                            "fedauth-claim names the claim %s, which no "
                            "Require fedauth-claim of the server's "
                            "configuration names, so sessions do not keep "
                            "it", name);
    }
    APR_ARRAY_PUSH(kept_claims, const char *) =
        apr_pstrdup(kept_claims->pool, name);
    return NULL;
}

const char *fedauth_store_spec_loggable(apr_pool_t *p, const char *spec)
{
    const char *scheme_end = strstr(spec, "://"), *at, *slash;

    if (!scheme_end) {
        return spec;
    }
    at = strchr(scheme_end + 3, '@');
    slash = strchr(scheme_end + 3, '/');
    if (!at || (slash && slash < at)) {
        return spec;
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, spec,
                       (apr_size_t)(scheme_end + 3 - spec)), "***", at,
                       NULL);
}

const char *fedauth_config_check_refs(apr_pool_t *p, server_rec *s)
{
    const provider_ref_t *ref;
    server_rec *vs;
    int i, found;

    for (i = 0; provider_refs && i < provider_refs->nelts; i++) {
        ref = &APR_ARRAY_IDX(provider_refs, i, provider_ref_t);
        for (found = 0, vs = s; vs && !found; vs = vs->next) {
            found = fedauth_provider_find(ap_get_module_config(
                        vs->module_config, &fedauth_module), ref->id) != NULL;
        }
        if (!found) {
            return apr_psprintf(p, "FedAuthProviders names %s, but no "
                                "<FedAuthProvider %s> is defined (at %s)",
                                ref->id, ref->id, ref->where);
        }
    }
    return NULL;
}
