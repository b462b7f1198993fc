/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_endpoint_logout.c - the ends of a session: /fedauth/logout
 * (this browser's session; with FedAuthLogoutAtIdP On, then the IdP's
 * session too, RP-Initiated Logout), /signin-<id>/backchannel (the
 * IdP ends sessions by a logout token, Back-Channel Logout: every session
 * of its sid or sub, on every host that shares the store) and
 * /signin-<id>/frontchannel (the IdP's logout page loads it in an iframe,
 * Front-Channel Logout: the sessions of its sid). Each ended session's
 * tokens are revoked at the IdP when it offers revocation (RFC 7009). */
#include <stdlib.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include <jansson.h>

#include "mod_fedauth_endpoint_logout.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_metrics.h"
#include "mod_fedauth_session.h"
#include "mod_fedauth_tokens.h"
#include "fa_oidc.h"

APLOG_USE_MODULE(fedauth);

#define MAX_LOGOUT_BODY (64 * 1024)

/* ---- /fedauth/logout ------------------------------------------------- */

static const char *query_param(request_rec *r, const char *name)
{
    apr_table_t *q;

    if (!r->args || fa_form_parse(r->pool, r->args, strlen(r->args),
                                  FEDAUTH_MAX_PARAMS, &q) != APR_SUCCESS) {
        return NULL;
    }
    return apr_table_get(q, name);
}

static int send_page(request_rec *r, int status, const char *title,
                     const char *body_html)
{
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    fedauth_no_store(r);
    ap_rvputs(r, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
              "<meta charset=\"utf-8\"><meta name=\"viewport\" "
              "content=\"width=device-width, initial-scale=1\"><title>",
              title, "</title></head>\n<body style=\"font-family:sans-serif;"
              "max-width:40em;margin:3em auto;padding:0 1em\">\n<h1>", title,
              "</h1>\n", body_html, "</body></html>\n", NULL);
    return OK;
}

/* RP-Initiated Logout 1.0: the IdP's end_session_endpoint with the ID
 * token as hint and the page to come back to, which must be registered at
 * the IdP as a post-logout redirect URI. NULL when the IdP offers none. */
static const char *idp_logout_url(request_rec *r, fedauth_srv_t *sc,
                                  const fa_session_t *s,
                                  const char *return_to)
{
    fedauth_provider_t *prov = fedauth_provider_find(sc, s->idp);
    fa_oidc_metadata_t *md;
    fa_err_t err;
    const char *back, *state;

    if (!prov || fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md,
                                 &err) != APR_SUCCESS
        || !md->end_session_endpoint) {
        return NULL;
    }
    if (!return_to || !fa_return_to_ok(return_to)) {
        return_to = "/";
    }
    back = sc->redirect_base
           ? apr_pstrcat(r->pool, sc->redirect_base, return_to, NULL)
           : ap_construct_url(r->pool, return_to, r);
    /* RP-Initiated Logout 1.0 section 2: a state some IdPs (Glewlwyd)
     * need before they send the browser back. The way back leads to an
     * ordinary page of the site, not to the module, and the session has
     * ended before: there is nothing it could authorize, so it is sent,
     * not kept. */
    state = fa_random_token(r->pool, 16);
    return apr_pstrcat(r->pool, md->end_session_endpoint,
        strchr(md->end_session_endpoint, '?') ? "&" : "?",
        "client_id=", fa_url_encode(r->pool, prov->idp.client.client_id),
        "&post_logout_redirect_uri=", fa_url_encode(r->pool, back),
        state ? "&state=" : "", state ? state : "",
        s->id_token ? "&id_token_hint=" : "",
        s->id_token ? fa_url_encode(r->pool, s->id_token) : "", NULL);
}

/* The page that asks a signed-in user to confirm: a form that POSTs to
 * the same logout URL (/fedauth/logout, or <FedAuthCookiePath>/fedauth/
 * logout) with the same return_to, which no other site can frame
 * or submit (fedauth_from_this_site). */
static int confirm_page(request_rec *r, int status, const char *return_to)
{
    const char *back = return_to ? return_to : "/";

    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "frame-ancestors 'none'");
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    return send_page(r, status, "Sign out?", apr_pstrcat(r->pool,
        "<p>Do you want to sign out of this site?</p>\n"
        "<form method=\"post\" action=\"logout",
        return_to ? "?return_to=" : "",
        return_to ? fa_html_escape(r->pool, fa_url_encode(r->pool,
                                                          return_to)) : "",
        "\"><button type=\"submit\">Sign out</button></form>\n"
        "<p><a href=\"", fa_html_escape(r->pool, back), "\">Stay signed "
        "in</a></p>\n", NULL));
}

/* /fedauth/logout: a GET with a session gets the confirm page (a link to
 * sign out still works in one click, but a link or a top-level navigation
 * from another site ends nothing); a POST from this site ends the session.
 * A POST from elsewhere gets 403, with or without a session. Without a
 * session there is nothing to end: the cookie is expired and the browser
 * sent on. */
int fedauth_handle_logout(request_rec *r, fedauth_srv_t *sc)
{
    const char *asked = query_param(r, "return_to");
    const char *return_to = asked && fa_return_to_ok(asked) ? asked : NULL;
    const char *key = NULL;
    fa_store_t *store = fedauth_store(r);
    fa_session_t *s = NULL;
    fedauth_provider_t *prov;
    const char *idp_url = NULL;
    /* Never a refresh of a token due for one: this request ends it. */
    apr_status_t rv = fedauth_session_load_to_end(r, sc, &s, &key);

    if (ap_discard_request_body(r) != OK) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    if (rv != APR_SUCCESS || !key) {
        s = NULL;
    }
    if (r->method_number == M_POST && !fedauth_from_this_site(r, sc)) {
        /* Also without a session: a cross-site POST carries no Lax
         * cookie, and its answer must not expire the browser's one. */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00424)
                      "logout of %s refused: not from this site "
                      "(Sec-Fetch-Site %s, Origin %s)",
                      s ? fa_oidc_loggable(r->pool, s->user, 256)
                        : "(no session)",
                      fa_oidc_loggable(r->pool, apr_table_get(r->headers_in,
                          "Sec-Fetch-Site"), 64),
                      fa_oidc_loggable(r->pool, apr_table_get(r->headers_in,
                          "Origin"), 128));
        return confirm_page(r, HTTP_FORBIDDEN, return_to);
    }
    if (s && r->method_number != M_POST) {
        if (asked && !return_to) {
            fedauth_return_to_refused(r, asked, "a confirm page without it");
        }
        return confirm_page(r, HTTP_OK, return_to);
    }
    if (s) {
        store->del(store, key, r->pool);
        fedauth_session_forget(r, key);
        fa_metrics_session_ended(fedauth_metrics(), FA_METRICS_END_LOGOUT, 1);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00205)
                      "signed out %s",
                      fa_oidc_loggable(r->pool, s->user, 256));
        if (fedauth_logout_at_idp(sc)) {
            idp_url = idp_logout_url(r, sc, s, return_to);
        }
        if (s->refresh_token || s->access_token) {
            prov = fedauth_provider_find(sc, s->idp);
            fedauth_tokens_revoke(r, sc, prov,
                                  fedauth_tokens_revoker(r, sc, prov), s);
        }
    }
    fedauth_session_cookie_set(r, sc, "", 0);
    fedauth_no_store(r);
    if (asked && !return_to) {
        fedauth_return_to_refused(r, asked, idp_url ? "/ after the identity "
                          "provider's logout" : "the signed-out page");
    }
    if (idp_url) {
        apr_table_setn(r->headers_out, "Location", idp_url);
        return HTTP_MOVED_TEMPORARILY;
    }
    if (return_to) {
        apr_table_setn(r->headers_out, "Location",
                       ap_construct_url(r->pool, return_to, r));
        return HTTP_MOVED_TEMPORARILY;
    }
    return send_page(r, HTTP_OK, "Signed out",
                     "<p>You are signed out.</p>\n"
                     "<p><a href=\"/fedauth/login?choose=1\">Sign in "
                     "again</a> &middot; <a href=\"/\">Back to the start "
                     "page</a></p>\n");
}

/* ---- /signin-<id>/backchannel ---------------------------------------- */

static int backchannel_answer(request_rec *r, int status, const char *error,
                              const char *desc)
{
    r->status = status;
    ap_set_content_type(r, "application/json");
    fedauth_no_store(r);
    if (error) {
        json_t *doc = json_pack("{s:s, s:s}", "error", error,
                                "error_description", desc);
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        if (text) {
            ap_rputs(text, r);
            free(text);
        }
        json_decref(doc);
    }
    return OK;
}

/* A logout token is used once: its jti (required, and signed: not the
 * signature bytes, which may be spelled twice) is remembered for as long
 * as the token would be accepted, by an atomic add, so that of two copies
 * sent at once only one passes, on any host. DECLINED when the logout
 * goes on, else the answer sent. */
static int logout_token_once(request_rec *r, fedauth_srv_t *sc,
                             fedauth_provider_t *prov, const fa_jwt_t *jwt)
{
    fa_store_t *store = fedauth_store(r);
    apr_status_t rv;

    rv = fedauth_add_once(r, sc, "i:", "jti", apr_pstrcat(r->pool,
                          prov->idp.id, "\n", fa_jwt_claim_str(jwt, "jti"),
                          NULL), fa_idp_logout_token_until(jwt));
    if (rv == APR_EEXIST) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00211)
                      "back-channel logout for %s refused: the logout "
                      "token was used before", prov->idp.id);
        return backchannel_answer(r, HTTP_BAD_REQUEST, "invalid_request",
                                  "replayed logout token");
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00235)
                      "back-channel logout for %s failed: the %s store "
                      "cannot keep the token's jti", prov->idp.id,
                      store->name);
        return backchannel_answer(r, HTTP_SERVICE_UNAVAILABLE,
                                  "temporarily_unavailable",
                                  "the session store is unavailable");
    }
    return DECLINED;
}

/* At most this many ended sessions have their tokens revoked by one
 * back- or front-channel logout (each revocation is a call to the IdP,
 * made before the answer): a sid names one session, a sub a user's few;
 * beyond, the sessions still end, their tokens expire at the IdP. */
#define MAX_REVOKED_SESSIONS 8

/* Ends every session in the index at ikey (taken from the store at
 * once), on every host that shares it, then revokes their tokens when
 * prov offers it. The number ended in *ended. APR_SUCCESS, or the store
 * failed (nothing ended). */
static apr_status_t end_indexed(request_rec *r, fedauth_srv_t *sc,
                                fedauth_provider_t *prov, const char *ikey,
                                fa_metrics_end_t reason, int *ended)
{
    fa_store_t *store = fedauth_store(r);
    const fa_oidc_metadata_t *md = fedauth_tokens_revoker(r, sc, prov);
    apr_array_header_t *keys, *gone;
    fa_session_t *s;
    const char *key;
    char *rec;
    apr_size_t len;
    apr_status_t rv;
    int i;

    *ended = 0;
    if (store->index_take(store, ikey, r->pool, &keys) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    gone = apr_array_make(r->pool, 1, sizeof(fa_session_t *));
    for (i = 0; i < keys->nelts; i++) {
        key = APR_ARRAY_IDX(keys, i, const char *);
        /* When its tokens will be revoked, the session is taken (read and
         * deleted in one step, as cheap as the delete); else deleted. */
        rv = md && gone->nelts < MAX_REVOKED_SESSIONS
             ? store->take(store, key, r->pool, &rec, &len) : APR_EGENERAL;
        if (rv == APR_SUCCESS) {
            (*ended)++;
            if (fa_session_decode(r->pool, rec, len, &s) == APR_SUCCESS) {
                APR_ARRAY_PUSH(gone, fa_session_t *) = s;
            }
        }
        else if (rv != APR_NOTFOUND
                 && store->del(store, key, r->pool) == APR_SUCCESS) {
            (*ended)++;
        }
        fedauth_session_forget(r, key);
    }
    fa_metrics_session_ended(fedauth_metrics(), reason, (unsigned)*ended);
    for (i = 0; i < gone->nelts; i++) {
        fedauth_tokens_revoke(r, sc, prov, md,
                              APR_ARRAY_IDX(gone, i, fa_session_t *));
    }
    return APR_SUCCESS;
}

/* end_indexed for the index of kind and value at prov under every listed
 * secret: during a rotation, sessions made under an older one are in
 * its index. */
static apr_status_t end_indexed_all(request_rec *r, fedauth_srv_t *sc,
                                    fedauth_provider_t *prov,
                                    const char *kind, const char *value,
                                    fa_metrics_end_t reason, int *ended)
{
    const char *ikey;
    int i, n;

    *ended = 0;
    for (i = 0; (ikey = fedauth_index_key_at(r, sc, i, kind, prov->idp.id,
                                             value)); i++) {
        if (end_indexed(r, sc, prov, ikey, reason, &n) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        *ended += n;
    }
    return APR_SUCCESS;
}

/* OpenID Connect Back-Channel Logout 1.0: the IdP POSTs a logout_token;
 * every session of its sid (or, without sid, of its sub) at this provider
 * ends, on every host that shares the store. */
int fedauth_handle_backchannel(request_rec *r, fedauth_srv_t *sc,
                               fedauth_provider_t *prov)
{
    fa_store_t *store = fedauth_store(r);
    apr_table_t *form;
    fa_jwt_t *jwt;
    fa_err_t err;
    const char *body, *token, *sid, *sub;
    apr_size_t len;
    int ended = 0, status;

    memset(&err, 0, sizeof(err));
    if (r->method_number != M_POST || !prov->enabled
        || fedauth_read_form_body(r, MAX_LOGOUT_BODY, &body, &len)
           != APR_SUCCESS
        || fa_form_parse(r->pool, body, len, FEDAUTH_MAX_PARAMS, &form)
           != APR_SUCCESS
        || !(token = apr_table_get(form, "logout_token"))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00209)
                      "back-channel logout for %s refused: not a POST of a "
                      "logout_token to an enabled provider", prov->idp.id);
        return backchannel_answer(r, HTTP_BAD_REQUEST, "invalid_request",
                                  "expected a POST with a logout_token");
    }
    if (fa_idp_verify_logout_token(prov->rt, fedauth_http(), r->pool, token,
                                   fa_now_sec(), &jwt, &err)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(00210)
                      "back-channel logout for %s refused: %s: %s",
                      prov->idp.id, err.code, err.desc);
        return backchannel_answer(r, HTTP_BAD_REQUEST, "invalid_request",
                                  err.code);
    }
    if ((status = logout_token_once(r, sc, prov, jwt)) != DECLINED) {
        return status;
    }
    sid = fa_jwt_claim_str(jwt, "sid");
    sub = fa_jwt_claim_str(jwt, "sub");
    if (end_indexed_all(r, sc, prov, sid ? "sid"
                        : fedauth_logout_sub_kind(prov), sid ? sid : sub,
                        FA_METRICS_END_BACKCHANNEL, &ended) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(00212)
                      "back-channel logout for %s failed: the %s store is "
                      "unavailable", prov->idp.id, store->name);
        return backchannel_answer(r, HTTP_SERVICE_UNAVAILABLE,
                                  "temporarily_unavailable",
                                  "the session store is unavailable");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00213)
                  "back-channel logout from %s ended %d session(s) of %s %s",
                  prov->idp.id, ended, sid ? "sid" : "sub",
                  fa_oidc_loggable(r->pool, sid ? sid : sub, 128));
    return backchannel_answer(r, HTTP_OK, NULL, NULL);
}

/* ---- /signin-<id>/frontchannel --------------------------------------- */

/* Longest sid and iss taken (an IdP's session id is a few dozen bytes). */
#define MAX_FRONTCHANNEL_SID 255
#define MAX_FRONTCHANNEL_ISS 1024

/* Appends origin (if any) to the space-separated list at *list, once. */
static void add_origin(apr_pool_t *p, const char **list, const char *origin)
{
    apr_size_t n;
    const char *at;

    if (!origin) {
        return;
    }
    n = strlen(origin);
    for (at = *list; at && (at = strstr(at, origin)) != NULL; at += n) {
        if ((at == *list || at[-1] == ' ') && (!at[n] || at[n] == ' ')) {
            return;
        }
    }
    *list = *list ? apr_pstrcat(p, *list, " ", origin, NULL) : origin;
}

/* The pages that may frame the answer: the origins of the IdP's issuer,
 * authorization and end-session endpoints (its logout page is at one of
 * them); the configured Issuer's alone while discovery fails; 'none'
 * when no origin is usable. */
static const char *frame_ancestors(request_rec *r, fedauth_provider_t *prov)
{
    fa_oidc_metadata_t *md;
    fa_err_t err;
    const char *list = NULL;

    memset(&err, 0, sizeof(err));
    if (fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md, &err)
        == APR_SUCCESS) {
        add_origin(r->pool, &list, fa_oidc_origin(r->pool, md->issuer));
        add_origin(r->pool, &list, fa_oidc_origin(r->pool,
                   md->authorization_endpoint));
        add_origin(r->pool, &list, fa_oidc_origin(r->pool,
                   md->end_session_endpoint));
    }
    else {
        add_origin(r->pool, &list, fa_oidc_origin(r->pool,
                                                  prov->idp.issuer));
    }
    return list ? list : "'none'";
}

/* The answer: the same small page whether a session ended or not, never
 * stored, framed only by the IdP's pages; 400 for a refused request. */
static int frontchannel_page(request_rec *r, fedauth_provider_t *prov,
                             int status)
{
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   apr_pstrcat(r->pool, "default-src 'none'; "
                               "frame-ancestors ",
                               frame_ancestors(r, prov), NULL));
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (status == HTTP_OK) {
        fa_metrics_frontchannel(fedauth_metrics(), 1);
        return send_page(r, HTTP_OK, "Signed out",
                         "<p>Signed out of this site.</p>\n");
    }
    fa_metrics_frontchannel(fedauth_metrics(), 0);
    return send_page(r, status, "Bad logout request",
                     "<p>This front-channel logout request lacks a valid "
                     "sid or names another issuer.</p>\n");
}

/* 1 when v is 1 to max printable ASCII bytes. */
static int printable_value(const char *v, apr_size_t max)
{
    apr_size_t i;

    for (i = 0; v && v[i]; i++) {
        if (i >= max || v[i] < 0x21 || v[i] > 0x7e) {
            return 0;
        }
    }
    return v && i > 0;
}

/* OpenID Connect Front-Channel Logout 1.0: GET ?iss=..&sid=.. ends every
 * session of that IdP session at this provider, on every host that shares
 * the store. Any site can make a browser send this GET, so the sid is
 * what authorizes it: without one nothing ends (the cookie is neither
 * read nor cleared: a cross-site GET must not end the browser's session,
 * and in the IdP's iframe it is often not sent at all). iss, when given,
 * must be an issuer of this provider; it is optional because the path
 * already names the provider, and Entra ID sends sid alone. */
int fedauth_handle_frontchannel(request_rec *r, fedauth_srv_t *sc,
                                fedauth_provider_t *prov)
{
    apr_table_t *q = NULL;
    const char *sid = NULL, *iss = NULL;
    int ended = 0;

    if (ap_discard_request_body(r) != OK) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01154)
                      "front-channel logout for %s refused: %s, not GET",
                      prov->idp.id, fedauth_ascii(r->pool, r->method));
        return frontchannel_page(r, prov, HTTP_METHOD_NOT_ALLOWED);
    }
    if (r->args && fa_form_parse(r->pool, r->args, strlen(r->args),
                                 FEDAUTH_MAX_PARAMS, &q) == APR_SUCCESS) {
        sid = apr_table_get(q, "sid");
        iss = apr_table_get(q, "iss");
    }
    if (!prov->enabled || !printable_value(sid, MAX_FRONTCHANNEL_SID)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01155)
                      "front-channel logout for %s refused: %s",
                      prov->idp.id, !prov->enabled ? "provider not enabled"
                      : sid ? "sid longer than 255 bytes or not printable "
                      "ASCII" : "no sid (the IdP must send iss and sid: "
                      "register frontchannel_logout_session_required)");
        return frontchannel_page(r, prov, HTTP_BAD_REQUEST);
    }
    if (iss && (!printable_value(iss, MAX_FRONTCHANNEL_ISS)
                || !fa_idp_issuer_ok(&prov->idp, iss, NULL, 1))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01156)
                      "front-channel logout for %s refused: iss %s is not "
                      "an issuer of this provider", prov->idp.id,
                      fa_oidc_loggable(r->pool, iss, 256));
        return frontchannel_page(r, prov, HTTP_BAD_REQUEST);
    }
    if (end_indexed_all(r, sc, prov, "sid", sid, FA_METRICS_END_FRONTCHANNEL,
                        &ended) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(01157)
                      "front-channel logout for %s failed: the %s store is "
                      "unavailable", prov->idp.id, fedauth_store(r)->name);
        return frontchannel_page(r, prov, HTTP_SERVICE_UNAVAILABLE);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01158)
                  "front-channel logout from %s ended %d session(s) of sid "
                  "%s", prov->idp.id, ended,
                  fa_oidc_loggable(r->pool, sid, 128));
    return frontchannel_page(r, prov, HTTP_OK);
}
