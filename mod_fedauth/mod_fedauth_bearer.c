/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_bearer.c - Authorization: Bearer <JWT> at locations with
 * FedAuthBearer On: the token of one of the offered providers is verified
 * (signature, iss, exp/nbf, aud) and mapped to user, attributes and roles
 * like a sign-in, without a session. A verified token is kept in a
 * per-process cache under the SHA-256 of the expected audience and the
 * token until it expires (at most CACHE_MAX_SECONDS), so a client that
 * sends the same token again costs a hash and a lookup, not a signature
 * check. With FedAuthRegistry On the token's user must be an account
 * that may sign in through its provider, as at a sign-in; the decision is
 * then kept at most REGISTRY_RECHECK_SECONDS, so a disabled account's
 * tokens stop working within that time in every process. A token that
 * is not a JWT is judged by token introspection at the provider offered
 * here that has it (mod_fedauth_introspect.c); the answer is kept in the
 * same cache, and a refusal for FA_INTROSPECT_INACTIVE_TTL. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include <openssl/evp.h>

#include "mod_fedauth_bearer.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_introspect.h"
#include "mod_fedauth_metrics.h"
#include "mod_fedauth_registry.h"
#include "mod_fedauth_session.h"
#include "fa_jwt.h"
#include "fa_cache.h"
#include "fa_introspect.h"
#include "fa_oidc.h"

APLOG_USE_MODULE(fedauth);

#define CACHE_MAX_ENTRIES 10000
#define CACHE_MAX_BYTES (32 * 1024 * 1024)
#define CACHE_MAX_SECONDS 300
#define REGISTRY_RECHECK_SECONDS 10

static fa_cache_t *cache;

apr_status_t fedauth_bearer_child_init(apr_pool_t *p)
{
    return fa_cache_create(p, CACHE_MAX_ENTRIES, CACHE_MAX_BYTES, &cache);
}

/* 401 with an RFC 6750 challenge; code is one of our stable codes (plain
 * ASCII, safe in the quoted string). */
static int refuse(request_rec *r, const char *code, const char *desc)
{
    const char *realm = ap_escape_quotes(r->pool, r->server->server_hostname
                                         ? r->server->server_hostname
                                         : "api");

    apr_table_setn(r->err_headers_out, "WWW-Authenticate", code
        ? apr_psprintf(r->pool, "Bearer realm=\"%s\", error=\"invalid_token\""
                       ", error_description=\"%s\"", realm, code)
        : apr_psprintf(r->pool, "Bearer realm=\"%s\"", realm));
    return fedauth_error(r, HTTP_UNAUTHORIZED, code ? code : "no_token",
                         desc);
}

/* FedAuthRegistry On: the account of the token's user, as a sign-in
 * decides it (linked, registered when FedAuthRegister On, refused when
 * disabled, deleted or not allowed through this provider). OK, or the
 * error page: 403 with the registry's code, 503 when it cannot be read. */
static int registry_check(request_rec *r, fedauth_srv_t *sc,
                          fa_session_t *s)
{
    fa_err_t err;
    int status;

    memset(&err, 0, sizeof(err));
    if (!sc->reg || fedauth_registry_signin(r, sc, s, &err) == APR_SUCCESS) {
        return OK;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00507)
                  "bearer token of sub %s from %s refused by the account "
                  "registry: %s", fa_oidc_loggable(r->pool, s->sub, 256),
                  s->idp, err.code ? err.code : "-");
    status = fedauth_registry_status(err.code);
    if (status == HTTP_FORBIDDEN) {
        return fedauth_error(r, status, err.code,
                             fedauth_registry_text(err.code));
    }
    return fedauth_error(r, status ? status : HTTP_SERVICE_UNAVAILABLE,
                         err.code ? err.code : "store_unavailable",
                         "The account registry cannot be read at the "
                         "moment. Please try again later.");
}

/* The process's cached answer for the token (key h): OK (its user),
 * the refusal of an opaque token remembered, or DECLINED (none). */
static int from_cache(request_rec *r, fedauth_dir_t *dc, fedauth_srv_t *sc,
                      const unsigned char *h)
{
    fedauth_provider_t *prov;
    const char *idp, *code;
    fa_session_t *sp;
    apr_size_t len;
    char *rec;

    if (!cache || !(rec = fa_cache_get(cache, h, 32, apr_time_now(), 0,
                                       r->pool, &len))) {
        return DECLINED;
    }
    if ((idp = fedauth_introspect_marked(r->pool, rec, len, &code))) {
        if (!(prov = fedauth_provider_find(sc, idp))
            || !fedauth_provider_offered(dc, prov)) {
            return DECLINED;
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01105)
                      "opaque bearer token refused: %s said %s less than "
                      "%d s ago", idp, code, FA_INTROSPECT_INACTIVE_TTL);
        fa_metrics_bearer_cache(fedauth_metrics(), 1);
        return refuse(r, code, "The bearer token is not active or not "
                      "meant for this site.");
    }
    if (fa_session_decode(r->pool, rec, len, &sp) != APR_SUCCESS
        || !(prov = fedauth_provider_find(sc, sp->idp))
        || !fedauth_provider_offered(dc, prov)) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00501)
                  "bearer token of %s from the cache (%lu hits)",
                  sp->user, fa_cache_hits(cache));
    fa_metrics_bearer_cache(fedauth_metrics(), 1);
    fedauth_export_session(r, dc, sp);
    fedauth_request_session_set(r, sp);
    return OK;
}

/* A token that is not a JWT (jerr: why not): judged by introspection when
 * a provider offered here has it, else malformed. */
static int opaque(request_rec *r, fedauth_srv_t *sc, fedauth_dir_t *dc,
                  const char *token, const unsigned char *h,
                  const fa_err_t *jerr)
{
    apr_int64_t now = fa_now_sec(), until;
    fa_session_t *sp;
    const char *idp, *mark, *rec;
    apr_size_t len;
    fa_err_t err;
    apr_status_t rv;
    int status;

    memset(&err, 0, sizeof(err));
    /* What no IdP issues (over 8 KiB, spaces, control or 8-bit bytes) is
     * not worth a call. */
    rv = fa_oidc_token_ok(token) ? fedauth_introspect(r, sc, dc, token, &sp,
                                                      &until, &idp, &err)
                                 : APR_NOTFOUND;
    if (rv == APR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00502)
                      "bearer token refused: %s: %s", jerr->code,
                      jerr->desc);
        return refuse(r, "invalid_token", "The bearer token is "
                      "malformed.");
    }
    if (rv != APR_SUCCESS && !idp) {
        return fedauth_error(r, HTTP_SERVICE_UNAVAILABLE, err.code, "The "
                             "identity provider could not judge the bearer "
                             "token. Please try again later.");
    }
    if (rv != APR_SUCCESS) {
        mark = fedauth_introspect_mark(r->pool, idp, err.code);
        if (cache) {
            fa_cache_put(cache, h, 32, mark, strlen(mark), apr_time_from_sec(
                         now + FA_INTROSPECT_INACTIVE_TTL), 0);
        }
        return refuse(r, err.code, "The bearer token is not active or not "
                      "meant for this site.");
    }
    if ((status = registry_check(r, sc, sp)) != OK) {
        return status;
    }
    if (sc->reg && until > now + REGISTRY_RECHECK_SECONDS) {
        until = now + REGISTRY_RECHECK_SECONDS;
    }
    if (cache && until > now) {
        fa_session_encode(r->pool, sp, (char **)&rec, &len);
        fa_cache_put(cache, h, 32, rec, len, apr_time_from_sec(until), 0);
    }
    fedauth_export_session(r, dc, sp);
    fedauth_request_session_set(r, sp);
    return OK;
}

int fedauth_bearer_check(request_rec *r, fedauth_srv_t *sc,
                         fedauth_dir_t *dc, const char *token)
{
    unsigned char h[32];
    unsigned int hlen = sizeof(h);
    apr_size_t tlen, len;
    apr_int64_t now = fa_now_sec(), until;
    fedauth_provider_t *prov;
    fa_session_t s, *sp;
    fa_jwt_t *jwt;
    fa_err_t err;
    const char *key;
    char *rec;
    int status;

    memset(&err, 0, sizeof(err));
    while (*token == ' ') {
        token++;
    }
    tlen = strlen(token);
    while (tlen > 0 && token[tlen - 1] == ' ') {
        tlen--;
    }
    if (tlen == 0 || tlen > FA_JWT_MAX_BYTES) {
        return refuse(r, "invalid_token", "The bearer token is empty or too "
                      "large.");
    }
    token = apr_pstrmemdup(r->pool, token, tlen);
    /* The key holds the audience expected here: a token verified for one
     * location's audience is no pass for another's. */
    key = apr_pstrcat(r->pool, dc->bearer_audience ? dc->bearer_audience
                                                   : "", "\n", token, NULL);
    EVP_Digest(key, strlen(key), h, &hlen, EVP_sha256(), NULL);
    if ((status = from_cache(r, dc, sc, h)) != DECLINED) {
        return status;
    }
    fa_metrics_bearer_cache(fedauth_metrics(), 0);
    if (fa_jwt_parse(r->pool, token, tlen, &jwt, &err) != APR_SUCCESS) {
        return opaque(r, sc, dc, token, h, &err);
    }
    if (!(prov = fedauth_provider_by_issuer(sc, dc, jwt))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00503)
                      "bearer token refused: no provider offered here has "
                      "issuer %s", fa_oidc_loggable(r->pool,
                          fa_jwt_claim_str(jwt, "iss"), 200));
        return refuse(r, "wrong_iss", "The bearer token is not from an "
                      "identity provider of this site.");
    }
    if (fa_idp_verify_access_token(prov->rt, fedauth_http(), r->pool, token,
                                   dc->bearer_audience, now, &jwt, &err)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00504)
                      "bearer token from %s refused: %s: %s", prov->idp.id,
                      err.code, err.desc);
        if (!strcmp(err.code, "idp_unreachable")) {
            return fedauth_error(r, HTTP_BAD_GATEWAY, err.code, "The "
                                 "identity provider could not be reached.");
        }
        return refuse(r, err.code, "The bearer token did not pass the "
                      "checks.");
    }
    if (fedauth_map_session(r, sc, prov, jwt, NULL, NULL, &s, &err)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00506)
                      "bearer token from %s refused: %s: %s", prov->idp.id,
                      err.code, err.desc);
        return refuse(r, err.code, fedauth_map_failure_text(&err,
                      "The bearer token names no user."));
    }
    if ((status = registry_check(r, sc, &s)) != OK) {
        return status;
    }
    until = now + (sc->reg ? REGISTRY_RECHECK_SECONDS : CACHE_MAX_SECONDS);
    until = s.token_exp < until ? s.token_exp : until;
    fa_session_encode(r->pool, &s, &rec, &len);
    if (cache) {
        fa_cache_put(cache, h, sizeof(h), rec, len, apr_time_from_sec(until),
                     0);
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00505)
                  "bearer token of %s from %s verified and cached",
                  s.user, prov->idp.id);
    sp = apr_pmemdup(r->pool, &s, sizeof(s));
    fedauth_export_session(r, dc, sp);
    fedauth_request_session_set(r, sp);
    return OK;
}
