/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_signin.c - starting a sign-in: which providers a browser
 * may choose from (FedAuthProviders, SortOrder, the remembered choice),
 * the login state (sealed into a cookie of its own, so that a callback can
 * only finish a login this browser started, and starting one writes
 * nothing to the store but a form body FedAuthPreservePost keeps), and the
 * redirect to the IdP's authorization endpoint. Also the answer to any
 * sign-in step that fails, here or in the callback. */
#include <stdlib.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "mod_fedauth_signin.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_attempts.h"
#include "mod_fedauth_registry.h"
#include "mod_fedauth_metrics.h"
#include "fa_oidc.h"
#include "fa_par.h"
#include "fa_form.h"

APLOG_USE_MODULE(fedauth);

#define REMEMBER_SUFFIX "_idp"
#define REMEMBER_MAX_AGE (90 * 86400)
#define MAX_STATE_COOKIES 5
#define STATE_COOKIE_INFIX "_state_"

/* ---- which providers ------------------------------------------------- */

static int by_sort_order(const void *a, const void *b)
{
    const fedauth_provider_t *pa = *(fedauth_provider_t *const *)a;
    const fedauth_provider_t *pb = *(fedauth_provider_t *const *)b;

    if (pa->sort_order != pb->sort_order) {
        return pa->sort_order < pb->sort_order ? -1 : 1;
    }
    return pa->index < pb->index ? -1 : pa->index > pb->index;
}

apr_array_header_t *fedauth_providers_for(request_rec *r,
                                          const fedauth_srv_t *sc,
                                          const char *only)
{
    apr_array_header_t *list = apr_array_make(r->pool, sc->providers->nelts,
                                              sizeof(fedauth_provider_t *));
    fedauth_provider_t *prov;
    const char *hit;
    apr_size_t len;
    int i;

    for (i = 0; i < sc->providers->nelts; i++) {
        prov = APR_ARRAY_IDX(sc->providers, i, fedauth_provider_t *);
        if (!prov->enabled) {
            continue;
        }
        if (only) {
            len = strlen(prov->idp.id);
            for (hit = strstr(only, prov->idp.id); hit;
                 hit = strstr(hit + 1, prov->idp.id)) {
                if ((hit == only || hit[-1] == ',')
                    && (hit[len] == ',' || hit[len] == '\0')) {
                    break;
                }
            }
            if (!hit) {
                continue;
            }
        }
        APR_ARRAY_PUSH(list, fedauth_provider_t *) = prov;
    }
    qsort(list->elts, (size_t)list->nelts, sizeof(fedauth_provider_t *),
          by_sort_order);
    return list;
}

static const char *remember_cookie_name(request_rec *r,
                                        const fedauth_srv_t *sc)
{
    return apr_pstrcat(r->pool, fedauth_cookie_name(sc), REMEMBER_SUFFIX,
                       NULL);
}

void fedauth_remember_set(request_rec *r, const fedauth_srv_t *sc,
                          const fedauth_provider_t *prov)
{
    fedauth_cookie_set(r, remember_cookie_name(r, sc),
                       apr_pstrcat(r->pool, prov->idp.id, ".",
                                   fa_keys_tag(r->pool, &sc->keys,
                                               "remember", prov->idp.id),
                                   NULL), REMEMBER_MAX_AGE);
}

/* The cookie holds "<id>.<MAC of id>": no other site can make one, and a
 * changed id does not pass. */
fedauth_provider_t *fedauth_remembered(request_rec *r,
                                       const fedauth_srv_t *sc,
                                       const apr_array_header_t *list)
{
    const char *v, *dot;
    char *id;
    fedauth_provider_t *prov;
    int i, k;

    if (!fedauth_remember_choice(sc)
        || !(v = fedauth_cookie_get(r, remember_cookie_name(r, sc)))
        || !(dot = strrchr(v, '.')) || dot - v > 32) {
        return NULL;
    }
    id = apr_pstrmemdup(r->pool, v, (apr_size_t)(dot - v));
    /* The first secret's MAC; during a rotation an older one's, and the
     * cookie is then made again under the first. */
    for (k = -1; k < sc->n_older; k++) {
        if (fa_ct_streq(dot + 1, fa_keys_tag(r->pool, k < 0 ? &sc->keys
                                             : &sc->older_keys[k],
                                             "remember", id))) {
            break;
        }
    }
    if (k == sc->n_older) {
        return NULL;
    }
    for (i = 0; i < list->nelts; i++) {
        prov = APR_ARRAY_IDX(list, i, fedauth_provider_t *);
        if (!strcmp(prov->idp.id, id)) {
            if (k >= 0) {
                fedauth_remember_set(r, sc, prov);
            }
            return prov;
        }
    }
    return NULL;
}

void fedauth_remember_clear(request_rec *r, const fedauth_srv_t *sc)
{
    fedauth_cookie_set(r, remember_cookie_name(r, sc), "", 0);
}

/* ---- a sign-in step that failed -------------------------------------- */

/* The status of an error code of the core or of a sign-in step. */
static int status_of(const char *code)
{
    static const char *const bad_gateway[] = {
        "idp_unreachable", "idp_bad_response", "invalid_discovery",
        "discovery_issuer_mismatch", "invalid_jwks", "groups_unavailable",
        NULL };
    static const char *const bad_request[] = {
        "state_missing", "state_mismatch", "idp_mismatch", "code_missing",
        "invalid_request", NULL };
    int i;

    if (fedauth_registry_status(code)) {
        return fedauth_registry_status(code);
    }
    for (i = 0; bad_gateway[i]; i++) {
        if (!strcmp(code, bad_gateway[i])) {
            return HTTP_BAD_GATEWAY;
        }
    }
    for (i = 0; bad_request[i]; i++) {
        if (!strcmp(code, bad_request[i])) {
            return HTTP_BAD_REQUEST;
        }
    }
    if (!strcmp(code, "provider_disabled")) {
        return HTTP_FORBIDDEN;
    }
    if (!strcmp(code, "unknown_provider")) {
        return HTTP_NOT_FOUND;
    }
    if (!strcmp(code, "store_unavailable")) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!strcmp(code, "internal_error")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return HTTP_UNAUTHORIZED;
}

int fedauth_signin_refused(request_rec *r, const fedauth_provider_t *prov,
                           const fa_err_t *err, const char *user_text)
{
    int status = status_of(err->code);

    ap_log_rerror(APLOG_MARK, status >= 500 ? APLOG_ERR : APLOG_WARNING, 0,
                  r, FALOGNO(00201) "sign-in through %s refused: %s: %s",
                  prov ? prov->idp.id : "-", err->code, err->desc);
    fedauth_attempt_user(r, prov ? prov->idp.id : NULL, NULL, NULL);
    fedauth_attempt_log(r, err->code);
    return fedauth_error(r, status, err->code, user_text ? user_text
                         : err->desc);
}

/* ---- the login state and its cookie ---------------------------------- */

typedef struct state_cookies_t {
    request_rec *r;
    const char *prefix;
    apr_size_t prefix_len;
    apr_array_header_t *names;
} state_cookies_t;

static int collect_state_cookies(void *data, const char *key,
                                 const char *hdr)
{
    state_cookies_t *sc = data;
    const char *c = hdr, *eq;

    while (*c) {
        while (*c == ' ' || *c == ';') {
            c++;
        }
        eq = c + strcspn(c, "=;");
        if (*eq == '=' && (apr_size_t)(eq - c) > sc->prefix_len
            && !strncmp(c, sc->prefix, sc->prefix_len)
            && sc->names->nelts < 64) {
            APR_ARRAY_PUSH(sc->names, const char *) =
                apr_pstrmemdup(sc->r->pool, c, (apr_size_t)(eq - c));
        }
        c += strcspn(c, ";");
    }
    return 1;
}

/* Browsers that start many logins and finish none would pile up state
 * cookies; past a few, the old ones are dropped. */
static void limit_state_cookies(request_rec *r, const fedauth_srv_t *conf,
                                const char *prefix)
{
    state_cookies_t sc;
    int i;

    sc.r = r;
    sc.prefix = prefix;
    sc.prefix_len = strlen(prefix);
    sc.names = apr_array_make(r->pool, 8, sizeof(const char *));
    apr_table_do(collect_state_cookies, &sc, r->headers_in, "Cookie", NULL);
    if (sc.names->nelts >= MAX_STATE_COOKIES) {
        for (i = 0; i < sc.names->nelts; i++) {
            fedauth_login_cookie_set(r, conf, APR_ARRAY_IDX(sc.names, i,
                                     const char *), "", 0, 0);
        }
    }
}

const char *fedauth_state_cookie_name(request_rec *r, const fedauth_srv_t *sc,
                                      const char *state)
{
    return apr_pstrcat(r->pool, fedauth_cookie_name(sc), STATE_COOKIE_INFIX,
                       apr_pstrndup(r->pool, state, 16), NULL);
}

/* ---- the redirect to the IdP ----------------------------------------- */

static const char *redirect_uri(request_rec *r, const fedauth_srv_t *sc,
                                const fedauth_provider_t *prov)
{
    const char *path = apr_pstrcat(r->pool, "/signin-", prov->idp.id, NULL);

    return sc->redirect_base
           ? apr_pstrcat(r->pool, sc->redirect_base, path, NULL)
           : ap_construct_url(r->pool, path, r);
}

/* The authorization request's optional parameters. */
static apr_table_t *auth_params(request_rec *r, const fedauth_provider_t *prov,
                                apr_table_t *hints)
{
    apr_table_t *extra = hints ? apr_table_copy(r->pool, hints)
                               : apr_table_make(r->pool, 4);

    if (prov->prompt) {
        apr_table_setn(extra, "prompt", prov->prompt);
    }
    if (prov->acr_values) {
        apr_table_setn(extra, "acr_values", prov->acr_values);
    }
    if (prov->response_mode == FEDAUTH_RESPONSE_FORM_POST) {
        apr_table_setn(extra, "response_mode", "form_post");
    }
    return extra;
}

/* A return_to longer than a login keeps (FA_LOGIN_RETURN_MAX): its path
 * without the query when that fits, else the site's root. */
static const char *bounded_return_to(request_rec *r, const char *rt)
{
    apr_size_t len = strlen(rt), path = strcspn(rt, "?#");
    const char *kept;

    if (len <= FA_LOGIN_RETURN_MAX) {
        return rt;
    }
    kept = path <= FA_LOGIN_RETURN_MAX ? apr_pstrmemdup(r->pool, rt, path)
                                       : "/";
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00260)
                  "return_to of %" APR_SIZE_T_FMT " bytes is longer than "
                  "the %d a sign-in keeps: after it the user lands on %s",
                  len, FA_LOGIN_RETURN_MAX, *kept == '/' && !kept[1]
                  ? "/" : "its path without the query");
    return kept;
}

/* The login, sealed into its state cookie: nothing goes to the store. OK,
 * else the answer to send. */
static int set_state_cookie(request_rec *r, const fedauth_srv_t *sc,
                            const fedauth_provider_t *prov,
                            const fa_login_t *login, const char *state)
{
    fa_err_t err;
    char *sealed;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    rv = fa_login_seal(r->pool, &sc->keys, state, login, &sealed);
    if (rv == APR_ENOSPC) {
        fa_err_set(&err, "invalid_request", "the login state does not fit "
                   "in a cookie (redirect URI of %lu bytes)",
                   (unsigned long)strlen(login->redirect_uri));
        return fedauth_signin_refused(r, prov, &err, "The address of this "
                                      "site is too long to sign in with.");
    }
    if (rv != APR_SUCCESS) {
        fa_err_set(&err, "internal_error", "cannot seal the login state");
        return fedauth_signin_refused(r, prov, &err, "Internal error.");
    }
    limit_state_cookies(r, sc, apr_pstrcat(r->pool, fedauth_cookie_name(sc),
                                           STATE_COOKIE_INFIX, NULL));
    fedauth_login_cookie_set(r, sc, fedauth_state_cookie_name(r, sc, state),
                             sealed, FA_LOGIN_STATE_TTL,
                             prov->response_mode
                             == FEDAUTH_RESPONSE_FORM_POST);
    return OK;
}

/* 1 when prov's sign-ins push their request (PushedAuthorization On, or
 * Auto, the default, and discovery says the IdP requires it). */
static int use_par(const fedauth_provider_t *prov,
                   const fa_oidc_metadata_t *md)
{
    return prov->par == FEDAUTH_PAR_ON
           || (prov->par != FEDAUTH_PAR_OFF && md->require_par);
}

/* Where the browser goes to sign in: the authorization request in the
 * URL, or, pushed to the IdP first, only client_id and request_uri. OK,
 * or the error page when the IdP refused the pushed request. */
static int auth_url(request_rec *r, fedauth_provider_t *prov,
                    const fa_oidc_metadata_t *md, const fa_login_t *login,
                    const char *state, apr_table_t *hints, const char **url)
{
    const char *challenge = fa_oidc_pkce_challenge(r->pool, login->verifier);
    const char *request_uri;
    fa_err_t err;

    if (!use_par(prov, md)) {
        *url = fa_oidc_auth_url(r->pool, md, &prov->idp.client,
                                login->redirect_uri, state, login->nonce,
                                challenge, auth_params(r, prov, hints));
        return OK;
    }
    memset(&err, 0, sizeof(err));
    if (fa_par_request(r->pool, fedauth_http(), md, &prov->idp.client,
                       fa_oidc_par_body(r->pool, &prov->idp.client,
                                        login->redirect_uri, state,
                                        login->nonce, challenge,
                                        auth_params(r, prov, hints)),
                       &request_uri, &err) != APR_SUCCESS) {
        fa_metrics_par(fedauth_metrics(), 0);
        return fedauth_signin_refused(r, prov, &err, "The identity "
                                      "provider refused the sign-in "
                                      "request.");
    }
    fa_metrics_par(fedauth_metrics(), 1);
    *url = fa_par_auth_url(r->pool, md, &prov->idp.client, request_uri);
    return OK;
}

/* FedAuthPreservePost: the body goes to the store in pieces that any
 * store holds (FA_STORE_MAX_VALUE), each behind a byte so that none is
 * empty, under the state's post key and the piece's number, for as long
 * as the state cookie opens; the login state keeps its digest. 1 when
 * kept. */
static int keep_post(request_rec *r, const fedauth_srv_t *sc,
                     fa_login_t *login, const char *state, const char *body,
                     apr_size_t len)
{
    fa_store_t *store = fedauth_store(r);
    const char *key = fa_login_post_key(r->pool, &sc->keys, state);
    apr_int64_t until = login->created + FA_LOGIN_STATE_TTL + FA_LOGIN_SKEW;
    apr_size_t off = 0, n;
    char *piece = apr_palloc(r->pool, FEDAUTH_POST_PIECE + 1);
    int i = 0;

    login->post = fa_form_digest(r->pool, body, len);
    if (!key || !login->post) {
        return 0;
    }
    do {
        n = len - off < FEDAUTH_POST_PIECE ? len - off : FEDAUTH_POST_PIECE;
        piece[0] = 'F';
        memcpy(piece + 1, body + off, n);
        if (store->put(store, apr_psprintf(r->pool, "%s.%d", key, i++),
                       piece, n + 1, until, r->pool) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(01350)
                          "POST to %s not kept: the %s store is "
                          "unavailable", fa_oidc_loggable(r->pool, r->uri,
                          128), store->name);
            return 0;
        }
        off += n;
    } while (off < len);
    return 1;
}

int fedauth_start_login(request_rec *r, fedauth_provider_t *prov,
                        const char *return_to, apr_table_t *hints)
{
    return fedauth_start_login_kept(r, prov, return_to, hints, NULL, 0);
}

int fedauth_start_login_kept(request_rec *r, fedauth_provider_t *prov,
                             const char *return_to, apr_table_t *hints,
                             const char *body, apr_size_t len)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    fa_oidc_metadata_t *md;
    fa_login_t *login;
    fa_err_t err;
    char *state;
    const char *url = NULL;
    int status;

    memset(&err, 0, sizeof(err));
    return_to = bounded_return_to(r, fedauth_return_to_or_root(r,
                                                               return_to));
    if (fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md, &err)
        != APR_SUCCESS) {
        return fedauth_signin_refused(r, prov, &err, "The identity "
                                      "provider did not answer. Please try "
                                      "again in a moment.");
    }
    if (fa_login_new(r->pool, prov->idp.id, return_to,
                     redirect_uri(r, sc, prov), &login, &state)
        != APR_SUCCESS) {
        fa_err_set(&err, "internal_error", "no random numbers");
        return fedauth_signin_refused(r, prov, &err, "Internal error.");
    }
    if (body && !keep_post(r, sc, login, state, body, len)) {
        return DECLINED;
    }
    if ((status = set_state_cookie(r, sc, prov, login, state)) != OK) {
        return status;
    }
    if ((status = auth_url(r, prov, md, login, state, hints, &url)) != OK) {
        return status;
    }
    fedauth_no_store(r);
    apr_table_setn(r->headers_out, "Location", url);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00202)
                  "sending the browser to %s to sign in", prov->idp.id);
    return HTTP_MOVED_TEMPORARILY;
}

/* ---- a browser without a session ------------------------------------- */

fedauth_provider_t *fedauth_signin_direct(request_rec *r,
                                          fedauth_srv_t *sc,
                                          fedauth_dir_t *dc)
{
    apr_array_header_t *list = fedauth_providers_for(r, sc, dc->providers
        ? apr_array_pstrcat(r->pool, dc->providers, ',') : NULL);

    if (list->nelts == 1) {
        return APR_ARRAY_IDX(list, 0, fedauth_provider_t *);
    }
    return list->nelts ? fedauth_remembered(r, sc, list) : NULL;
}

int fedauth_send_to_signin(request_rec *r, fedauth_srv_t *sc,
                           fedauth_dir_t *dc, const char *return_to)
{
    apr_array_header_t *list;
    fedauth_provider_t *prov;
    const char *only = NULL;

    if (dc->providers) {
        only = apr_array_pstrcat(r->pool, dc->providers, ',');
    }
    list = fedauth_providers_for(r, sc, only);
    if (list->nelts == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00206)
                      "AuthType FedAuth, but no enabled <FedAuthProvider> "
                      "is offered here");
        return fedauth_error(r, HTTP_INTERNAL_SERVER_ERROR, "no_provider",
                             "No identity provider is available here.");
    }
    prov = list->nelts == 1 ? APR_ARRAY_IDX(list, 0, fedauth_provider_t *)
                            : fedauth_remembered(r, sc, list);
    if (prov) {
        return fedauth_start_login(r, prov, return_to, NULL);
    }
    apr_table_setn(r->headers_out, "Location", ap_construct_url(r->pool,
        apr_pstrcat(r->pool, "/fedauth/login?return_to=",
                    fa_url_encode(r->pool, return_to),
                    only ? "&idps=" : "",
                    only ? fa_url_encode(r->pool, only) : "", NULL), r));
    fedauth_no_store(r);
    return HTTP_MOVED_TEMPORARILY;
}
