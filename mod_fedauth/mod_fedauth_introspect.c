/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_introspect.c - opaque bearer tokens (RFC 7662 token
 * introspection) at locations with FedAuthBearer On.
 *
 * Which provider: the first one offered at the location (in the order the
 * providers are defined) whose IntrospectionURL is set or whose discovery
 * names an introspection_endpoint. A token is sent to that one provider
 * only, never tried at a second: an opaque token from one IdP handed to
 * another would give that IdP's operator a token that works at the first.
 * When the discovery of a provider before it cannot be read, the token is
 * not judged at all (503), for the same reason.
 *
 * An active answer is shared through the session store under a MAC of
 * the expected audience and the token with the server's key (never the
 * token itself), until the earlier of its exp and now +
 * FedAuthIntrospectionCache, so that other processes and hosts need not
 * ask again. A refusal is never written to the store: anyone can send
 * random tokens, and each would be an entry (in the embedded store, room
 * taken from the sessions). The bearer cache of each process
 * (mod_fedauth_bearer.c, bounded) keeps refusals for
 * FA_INTROSPECT_INACTIVE_TTL and active answers as well. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "mod_fedauth_introspect.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_metrics.h"
#include "mod_fedauth_session.h"
#include "fa_introspect.h"

APLOG_USE_MODULE(fedauth);

/* What a cached value starts with: an active answer ("A <until>\n" and a
 * session record) or a refusal ("FAI\n<idp>\n<code>"). */
#define MARK "FAI\n"
#define MARK_LEN 4

const char *fedauth_introspect_mark(apr_pool_t *p, const char *idp,
                                    const char *code)
{
    return apr_pstrcat(p, MARK, idp, "\n", code, NULL);
}

const char *fedauth_introspect_marked(apr_pool_t *p, const char *rec,
                                      apr_size_t len, const char **pcode)
{
    const char *idp, *nl;

    if (len <= MARK_LEN || memcmp(rec, MARK, MARK_LEN) != 0) {
        return NULL;
    }
    idp = apr_pstrmemdup(p, rec + MARK_LEN, len - MARK_LEN);
    if (!(nl = strchr(idp, '\n'))) {
        *pcode = "token_inactive";
        return idp;
    }
    *pcode = nl + 1;
    return apr_pstrmemdup(p, idp, nl - idp);
}

/* The store key of the token's answer at this location's audience. */
static const char *store_key(request_rec *r, const fedauth_srv_t *sc,
                             const fedauth_dir_t *dc, const char *token)
{
    return apr_pstrcat(r->pool, "n:", fa_keys_tag(r->pool, &sc->keys,
                       "introspect", apr_pstrcat(r->pool,
                       dc->bearer_audience ? dc->bearer_audience : "", "\n",
                       token, NULL)), NULL);
}

/* The provider that judges opaque tokens at dc, its metadata and its
 * introspection URL: APR_SUCCESS, APR_NOTFOUND (none), or the error of a
 * discovery that could not be read. */
static apr_status_t pick(request_rec *r, fedauth_srv_t *sc,
                         fedauth_dir_t *dc, fedauth_provider_t **pprov,
                         fa_oidc_metadata_t **pmd, const char **purl,
                         fa_err_t *err)
{
    fedauth_provider_t *prov;
    int i;

    for (i = 0; i < sc->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        if (!prov->rt || !fedauth_provider_offered(dc, prov)) {
            continue;
        }
        if (fa_idp_metadata(prov->rt, fedauth_http(), r->pool, pmd, err)
            != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01100)
                          "opaque bearer token not judged: the discovery "
                          "of %s, which may introspect tokens here, cannot "
                          "be read: %s: %s", prov->idp.id, err->code,
                          err->desc);
            return APR_EGENERAL;
        }
        *purl = prov->introspection_url ? prov->introspection_url
                                        : (*pmd)->introspection_endpoint;
        if (*purl) {
            *pprov = prov;
            return APR_SUCCESS;
        }
    }
    return APR_NOTFOUND;
}

/* An active answer another process or host stored: 1 with *ps; 0 when
 * there is none to use. */
static int from_store(request_rec *r, fedauth_srv_t *sc, fedauth_dir_t *dc,
                      const char *key, fa_session_t **ps,
                      apr_int64_t *puntil)
{
    fa_store_t *store = fedauth_store(r);
    fedauth_provider_t *prov;
    char *val, *nl;
    apr_size_t len;
    apr_int64_t until;

    if (!store || store->get(store, key, r->pool, &val, &len)
        != APR_SUCCESS) {
        return 0;
    }
    if (len < 3 || strncmp(val, "A ", 2) != 0
        || !(nl = memchr(val, '\n', len))) {
        return 0;
    }
    *nl = '\0';
    until = apr_atoi64(val + 2);
    if (until <= fa_now_sec()
        || fa_session_decode(r->pool, nl + 1, len - (nl + 1 - val), ps)
           != APR_SUCCESS
        || !(prov = fedauth_provider_find(sc, (*ps)->idp))
        || !fedauth_provider_offered(dc, prov)) {
        return 0;
    }
    *puntil = until;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(01101)
                  "opaque bearer token of %s from %s: answer taken from the "
                  "%s store", (*ps)->user, prov->idp.id, store->name);
    return 1;
}

/* Keeps an answer in the store for other processes and hosts (a failure
 * to keep it only costs them a call of their own). */
static void to_store(request_rec *r, const char *key, const char *val,
                     apr_int64_t until)
{
    fa_store_t *store = fedauth_store(r);

    if (store && store->put(store, key, val, strlen(val), until, r->pool)
                 != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01102)
                      "introspection answer not kept in the %s store",
                      store->name);
    }
}

/* The user of an active answer, as a JWT access token with these claims
 * maps: the user name from UsernameClaim, by default from username, then
 * preferred_username, then (verified) email, else sub@provider. */
static apr_status_t map_user(request_rec *r, fedauth_srv_t *sc,
                             fedauth_provider_t *prov, json_t *claims,
                             fa_session_t *s, fa_err_t *err)
{
    fedauth_provider_t copy = *prov;
    fa_jwt_t jwt;
    apr_array_header_t *names;

    if (!copy.claims.username_claims) {
        names = apr_array_make(r->pool, 3, sizeof(const char *));
        APR_ARRAY_PUSH(names, const char *) = "username";
        APR_ARRAY_PUSH(names, const char *) = "preferred_username";
        APR_ARRAY_PUSH(names, const char *) = "email";
        copy.claims.username_claims = names;
    }
    memset(&jwt, 0, sizeof(jwt));
    jwt.alg = "none";
    jwt.claims = claims;
    return fedauth_map_session(r, sc, &copy, &jwt, NULL, NULL, s, err);
}

/* Counts and logs what the IdP's answer came to. */
static void outcome(request_rec *r, const fedauth_provider_t *prov,
                    const fa_err_t *err)
{
    fa_metrics_introspect_t what = FA_METRICS_INTROSPECT_REFUSED;
    int level = APLOG_INFO;

    if (!err) {
        fa_metrics_introspection(fedauth_metrics(),
                                 FA_METRICS_INTROSPECT_ACTIVE);
        return;
    }
    if (!strcmp(err->code, "token_inactive")) {
        what = FA_METRICS_INTROSPECT_INACTIVE;
    }
    else if (!strcmp(err->code, "idp_unreachable")
             || !strcmp(err->code, "idp_bad_response")) {
        what = FA_METRICS_INTROSPECT_ERROR;
        level = APLOG_WARNING;
    }
    fa_metrics_introspection(fedauth_metrics(), what);
    ap_log_rerror(APLOG_MARK, level, 0, r, FALOGNO(01103)
                  "opaque bearer token refused by introspection at %s: "
                  "%s: %s", prov->idp.id, err->code, err->desc);
}

/* Asks the IdP: APR_SUCCESS and s, or err. */
static apr_status_t ask(request_rec *r, fedauth_srv_t *sc, fedauth_dir_t *dc,
                        fedauth_provider_t *prov, fa_oidc_metadata_t *md,
                        const char *url, const char *token, fa_session_t *s,
                        apr_int64_t *puntil, fa_err_t *err)
{
    fa_introspect_expect_t ex;
    fa_http_response_t *resp;
    json_t *claims;
    apr_status_t rv;

    memset(&ex, 0, sizeof(ex));
    ex.idp = &prov->idp;
    ex.audience = dc->bearer_audience;
    ex.now = fa_now_sec();
    ex.leeway = FA_JWT_LEEWAY;
    if ((rv = fa_introspect_request(r->pool, fedauth_http(), md,
                                    &prov->idp.client, url, token, &resp,
                                    err)) != APR_SUCCESS
        || (rv = fa_introspect_check(r->pool, resp->status, resp->body,
                                     resp->body_len, &ex, &claims, err))
           != APR_SUCCESS
        || (rv = map_user(r, sc, prov, claims, s, err)) != APR_SUCCESS) {
        outcome(r, prov, err);
        return rv;
    }
    outcome(r, prov, NULL);
    *puntil = fa_introspect_until(claims, ex.now,
                                  fedauth_introspection_cache(sc));
    s->token_exp = *puntil;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(01104)
                  "opaque bearer token of %s active at %s (reused for %"
                  APR_INT64_T_FMT " s)", s->user, prov->idp.id,
                  *puntil - ex.now);
    return APR_SUCCESS;
}

/* 1 when err says the IdP could not judge the token (not a refusal). */
static int unjudged(const fa_err_t *err)
{
    return !strcmp(err->code, "idp_unreachable")
           || !strcmp(err->code, "idp_bad_response")
           || !strcmp(err->code, "invalid_discovery")
           || !strcmp(err->code, "discovery_issuer_mismatch")
           || !strcmp(err->code, "internal_error");
}

apr_status_t fedauth_introspect(request_rec *r, fedauth_srv_t *sc,
                                fedauth_dir_t *dc, const char *token,
                                fa_session_t **ps, apr_int64_t *puntil,
                                const char **pidp, fa_err_t *err)
{
    fedauth_provider_t *prov;
    fa_oidc_metadata_t *md;
    const char *url, *key, *rec;
    fa_session_t s;
    apr_size_t len;
    apr_status_t rv;

    *ps = NULL;
    *pidp = NULL;
    *puntil = 0;
    if ((rv = pick(r, sc, dc, &prov, &md, &url, err)) != APR_SUCCESS) {
        return rv;
    }
    key = store_key(r, sc, dc, token);
    if (from_store(r, sc, dc, key, ps, puntil)) {
        return APR_SUCCESS;
    }
    if (ask(r, sc, dc, prov, md, url, token, &s, puntil, err)
        != APR_SUCCESS) {
        if (!unjudged(err)) {
            *pidp = prov->idp.id;   /* a refusal: this process keeps it */
        }
        return APR_EGENERAL;
    }
    *ps = apr_pmemdup(r->pool, &s, sizeof(s));
    if (*puntil > fa_now_sec()) {
        fa_session_encode(r->pool, &s, (char **)&rec, &len);
        to_store(r, key, apr_psprintf(r->pool, "A %" APR_INT64_T_FMT "\n%s",
                                      *puntil, rec), *puntil);
    }
    return APR_SUCCESS;
}
