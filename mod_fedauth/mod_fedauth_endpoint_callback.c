/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_endpoint_callback.c - the redirect URI /signin-<id>: the
 * IdP's answer to a login started here (mod_fedauth_signin.c). The answer
 * must finish a login that this browser started, at this provider, not
 * long ago (its sealed state cookie says so); then the code is exchanged
 * for tokens (the state claimed in the store meanwhile, so that one
 * callback of two sends the code), the ID token verified, UserInfo merged
 * when asked for, the state marked used, and a new session made. A
 * callback that fails leaves no trace in the store. Any step that
 * fails ends the sign-in with an error page (fedauth_signin_refused). */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include <jansson.h>

#include "mod_fedauth_endpoint_callback.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_session.h"
#include "mod_fedauth_signin.h"
#include "mod_fedauth_attempts.h"
#include "mod_fedauth_registry.h"
#include "mod_fedauth_graph.h"
#include "mod_fedauth_preserve_post.h"
#include "fa_oidc.h"

#define MAX_FORM_BODY (16 * 1024)

/* UserInfo On, or unset and the IdP offers the endpoint; and there is an
 * access token to ask with. */
static int use_userinfo(const fedauth_provider_t *prov,
                        const fa_oidc_metadata_t *md,
                        const fa_oidc_tokens_t *tok)
{
    return prov->userinfo != 0 && md->userinfo_endpoint
           && tok->access_token;
}

/* The authorization response: the query for ResponseMode query (GET),
 * the body for form_post (POST); any other combination is refused. */
static apr_status_t callback_params(request_rec *r,
                                    const fedauth_provider_t *prov,
                                    const char **params, apr_size_t *len)
{
    if (prov->response_mode == FEDAUTH_RESPONSE_FORM_POST) {
        if (r->method_number != M_POST) {
            return APR_EINVAL;
        }
        return fedauth_read_form_body(r, MAX_FORM_BODY, params, len);
    }
    if (r->method_number != M_GET) {
        return APR_EINVAL;
    }
    *params = r->args ? r->args : "";
    *len = strlen(*params);
    return APR_SUCCESS;
}

/* Step 1: the parameters of the answer. OK and *pq, else the answer to
 * send. */
static int callback_query(request_rec *r, fedauth_provider_t *prov,
                          apr_table_t **pq)
{
    const char *params;
    apr_size_t len;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    if (!prov->enabled) {
        fa_err_set(&err, "provider_disabled", "provider %s is switched off "
                   "(Enabled Off)", prov->idp.id);
        return fedauth_signin_refused(r, prov, &err, "Sign-in through this "
                                      "identity provider is switched off.");
    }
    if (callback_params(r, prov, &params, &len) != APR_SUCCESS) {
        fa_err_set(&err, "invalid_request", "the callback of a %s provider "
                   "got %s%s", prov->response_mode == FEDAUTH_RESPONSE_QUERY
                   ? "query" : "form_post", fedauth_ascii(r->pool, r->method),
                   r->method_number == M_POST ? " with an unusable body"
                   : "");
        return fedauth_signin_refused(r, prov, &err, "This address only "
                                      "takes the answer of the identity "
                                      "provider.");
    }
    if (fa_form_parse(r->pool, params, len, FEDAUTH_MAX_PARAMS, pq)
        != APR_SUCCESS) {
        fa_err_set(&err, "invalid_request", "malformed or repeated query "
                   "parameters");
        return fedauth_signin_refused(r, prov, &err, "The answer of the "
                                      "identity provider was malformed.");
    }
    return OK;
}

/* Step 2: the login the answer finishes. It comes from the browser's
 * state cookie, which must open for the state parameter (so it was made
 * here, for this login, and is unchanged), for this provider, not long
 * ago. A callback refused here writes nothing and expires no cookie:
 * someone who learns a state value cannot spoil the sign-in in progress.
 * OK with *plogin, the cookie's name and the state's store key, else the
 * answer to send. */
static int callback_login(request_rec *r, fedauth_srv_t *sc,
                          fedauth_provider_t *prov, apr_table_t *q,
                          fa_login_t **plogin, const char **pcname,
                          const char **pkey)
{
    fa_login_t *login;
    fa_err_t err;
    const char *state, *sealed, *cname;
    const fa_keys_t *keys = NULL;
    apr_status_t rv;
    int i;

    memset(&err, 0, sizeof(err));
    state = apr_table_get(q, "state");
    if (!state) {
        fa_err_set(&err, "state_missing", "no state parameter");
        return fedauth_signin_refused(r, prov, &err, "The answer of the "
                                      "identity provider has no state. "
                                      "Please start again.");
    }
    if (!fa_login_key(r->pool, &sc->keys, state)) {
        fa_err_set(&err, "state_mismatch", "malformed state parameter");
        return fedauth_signin_refused(r, prov, &err, "This sign-in was not "
                                      "started here. Please start again.");
    }
    cname = fedauth_state_cookie_name(r, sc, state);
    if (!(sealed = fedauth_cookie_get(r, cname))) {
        fa_err_set(&err, "state_mismatch", "no state cookie: the login was "
                   "started in another browser, or too long ago, or is "
                   "already finished");
        return fedauth_signin_refused(r, prov, &err, "This sign-in was not "
                                      "started here, or it took too long. "
                                      "Please start again.");
    }
    /* Sealed under the first secret, or (a rotation) an older one: only
     * the keys that sealed it open it, and its used mark is made under
     * them, so hosts with the secrets in another order claim the same
     * key. */
    rv = APR_EINVAL;
    for (i = 0; rv == APR_EINVAL && (keys = fedauth_keys_at(sc, i)); i++) {
        rv = fa_login_open(r->pool, keys, prov->idp.id, state, sealed,
                           fa_now_sec(), &login);
    }
    if (rv == APR_TIMEUP) {
        fa_err_set(&err, "state_mismatch", "login state expired");
        return fedauth_signin_refused(r, prov, &err, "The sign-in took too "
                                      "long. Please start again.");
    }
    if (rv == FA_LOGIN_OTHER_IDP) {
        fa_err_set(&err, "idp_mismatch", "state was made for provider %s",
                   login->idp);
        return fedauth_signin_refused(r, prov, &err, "The answer came from "
                                      "another identity provider than the "
                                      "one chosen. Please start again.");
    }
    if (rv != APR_SUCCESS) {
        fa_err_set(&err, "state_mismatch", "the state cookie does not open "
                   "for this state (another login's, changed, or made "
                   "under other keys)");
        return fedauth_signin_refused(r, prov, &err, "This sign-in was not "
                                      "started in this browser. Please "
                                      "start again.");
    }
    *plogin = login;
    *pcname = cname;
    *pkey = fa_login_key(r->pool, keys, state);
    return OK;
}

/* The claim on a state while its code is at the IdP: an add under the
 * state's store key with a value only this request knows, living no
 * longer than the exchange can take (token request, keys, UserInfo: each
 * within FedAuthHTTPTimeout). Of two callbacks with the same state (two
 * hosts, one store) one sends the code, the other is refused: a real IdP
 * refuses both when a code comes twice at once. A claim that fails is
 * released, so a callback that the IdP does not vouch for leaves nothing
 * in the store, and the store holds no more claims than there are
 * callbacks in progress. OK and *plock, else the answer to send. */
static int callback_claim(request_rec *r, fedauth_srv_t *sc,
                          fedauth_provider_t *prov, const char *key,
                          const char **plock)
{
    fa_store_t *store = fedauth_store(r);
    const char *lock = fa_random_token(r->pool, 16);
    apr_int64_t until = fa_now_sec() + 3 * fedauth_http_timeout(sc) + 10;
    fa_err_t err;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    rv = lock ? store->add(store, key, lock, strlen(lock), until, r->pool)
              : APR_EGENERAL;
    if (APR_STATUS_IS_EEXIST(rv)) {
        fa_err_set(&err, "state_mismatch", "state already used, or its "
                   "answer is being handled by another request");
        return fedauth_signin_refused(r, prov, &err, "This sign-in was "
                                      "already used. Please start again.");
    }
    if (rv != APR_SUCCESS) {
        fa_err_set(&err, "store_unavailable", "cannot claim the state in "
                   "the %s store", store->name);
        return fedauth_signin_refused(r, prov, &err, "Sign-in is "
                                      "unavailable right now.");
    }
    *plock = lock;
    return OK;
}

/* A claim of a callback that failed: released, the state usable again
 * (its code is spent at the IdP all the same). */
static void callback_release(request_rec *r, const char *key,
                             const char *lock)
{
    fa_store_t *store = fedauth_store(r);

    if (lock) {
        store->del_if(store, key, lock, strlen(lock), r->pool);
    }
}

/* Step 3: what the IdP answered. An answer without the right iss
 * (RFC 9207; checked first, so that an error from elsewhere is no
 * idp_error), an error, or no code ends here. OK with the provider's
 * metadata and the code, else the answer to send. */
static int callback_answer(request_rec *r, fedauth_provider_t *prov,
                           apr_table_t *q, fa_oidc_metadata_t **pmd,
                           const char **pcode)
{
    fa_oidc_metadata_t *md;
    fa_err_t err;
    const char *e, *iss, *code;

    memset(&err, 0, sizeof(err));
    if (fa_idp_metadata(prov->rt, fedauth_http(), r->pool, &md, &err)
        != APR_SUCCESS) {
        return fedauth_signin_refused(r, prov, &err, "The identity provider "
                                      "did not answer.");
    }
    iss = apr_table_get(q, "iss");
    if ((iss && !fa_idp_issuer_ok(&prov->idp, iss, NULL, 1))
        || (!iss && md->iss_parameter_supported)) {
        fa_err_set(&err, "wrong_iss", "the iss parameter is %s, expected %s",
                   fa_oidc_loggable(r->pool, iss, 200), prov->idp.issuer);
        return fedauth_signin_refused(r, prov, &err, "The answer did not "
                                      "come from the expected identity "
                                      "provider.");
    }
    if ((e = apr_table_get(q, "error")) != NULL) {
        const char *d = apr_table_get(q, "error_description");
        fa_err_set(&err, "idp_error", "the provider answered error=%s (%s)",
                   fa_oidc_loggable(r->pool, e, 64),
                   fa_oidc_loggable(r->pool, d, 160));
        return fedauth_signin_refused(r, prov, &err, apr_psprintf(r->pool,
                                      "The identity provider refused the "
                                      "sign-in: %s%s%s",
                                      fa_oidc_loggable(r->pool, e, 64),
                                      d ? ": " : "",
                                      d ? fa_oidc_loggable(r->pool, d, 300)
                                        : ""));
    }
    if (!(code = apr_table_get(q, "code")) || !*code) {
        fa_err_set(&err, "code_missing", "no code parameter");
        return fedauth_signin_refused(r, prov, &err, "The answer of the "
                                      "identity provider has no "
                                      "authorization code.");
    }
    *pmd = md;
    *pcode = code;
    return OK;
}

/* Step 4: the state is claimed (callback_claim), the code exchanged for
 * tokens, the ID token verified against the login's nonce, and UserInfo
 * merged into its claims when asked for. OK with *ptok and *pjwt, else
 * the answer to send. */
static int callback_tokens(request_rec *r, fedauth_srv_t *sc,
                           fedauth_provider_t *prov, apr_table_t *q,
                           const fa_login_t *login, const char *key,
                           const char **plock, fa_oidc_tokens_t **ptok,
                           fa_jwt_t **pjwt)
{
    fa_oidc_metadata_t *md = NULL;
    fa_oidc_tokens_t *tok;
    json_t *info;
    fa_err_t err;
    const char *code = NULL;
    int status;

    memset(&err, 0, sizeof(err));
    if ((status = callback_answer(r, prov, q, &md, &code)) != OK) {
        return status;
    }
    if ((status = callback_claim(r, sc, prov, key, plock)) != OK) {
        return status;
    }
    if (fa_oidc_token_request(r->pool, fedauth_http(), md, &prov->idp.client,
                              login->redirect_uri, code, login->verifier,
                              &tok, &err) != APR_SUCCESS) {
        return fedauth_signin_refused(r, prov, &err,
                                      !strcmp(err.code, "token_error")
                                      ? "The identity provider did not "
                                        "accept the sign-in."
                                      : "The identity provider did not "
                                        "answer properly.");
    }
    if (fa_idp_verify_id_token(prov->rt, fedauth_http(), r->pool,
                               tok->id_token, login->nonce, fa_now_sec(),
                               pjwt, &err) != APR_SUCCESS) {
        return fedauth_signin_refused(r, prov, &err, "The identity token "
                                      "from the identity provider did not "
                                      "pass the checks.");
    }
    fedauth_attempt_user(r, prov->idp.id, fa_jwt_claim_str(*pjwt, "sub"),
                         NULL);
    if (use_userinfo(prov, md, tok)
        && (fa_oidc_userinfo(r->pool, fedauth_http(), md, tok->access_token,
                             fedauth_http_timeout(sc), &info, &err)
            != APR_SUCCESS
            || fa_claims_merge_userinfo((*pjwt)->claims, info, &err)
               != APR_SUCCESS)) {
        return fedauth_signin_refused(r, prov, &err,
                                      !strcmp(err.code,
                                              "userinfo_sub_mismatch")
                                      ? "The identity provider's user "
                                        "information is about another "
                                        "user."
                                      : "The identity provider did not "
                                        "answer properly.");
    }
    if (fedauth_graph_lookup(r, sc, prov, (*pjwt)->claims, tok->access_token,
                             &err) != APR_SUCCESS) {
        return fedauth_signin_refused(r, prov, &err, "Your group "
                                      "memberships could not be read from "
                                      "Microsoft Graph, so your roles on "
                                      "this site cannot be decided.");
    }
    *ptok = tok;
    return OK;
}

/* Step 5: the IdP vouched for the sign-in: the claim becomes the mark
 * that the state is used, kept as long as the state cookie could open,
 * and the state cookie has done its work. OK, else the answer to send. */
static int callback_mark_used(request_rec *r, fedauth_provider_t *prov,
                              const char *key, const fa_login_t *login,
                              const char *cname)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    fa_store_t *store = fedauth_store(r);
    apr_int64_t now = fa_now_sec();
    apr_int64_t until = (login->created > now ? login->created : now)
                        + FA_LOGIN_STATE_TTL + FA_LOGIN_SKEW;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    if (store->put(store, key, "1", 1, until, r->pool) != APR_SUCCESS) {
        fa_err_set(&err, "store_unavailable", "cannot mark the state used "
                   "in the %s store", store->name);
        return fedauth_signin_refused(r, prov, &err, "Sign-in is "
                                      "unavailable right now.");
    }
    fedauth_login_cookie_set(r, sc, cname, "", 0, prov->response_mode
                             == FEDAUTH_RESPONSE_FORM_POST);
    return OK;
}

static apr_status_t new_session(request_rec *r, fedauth_srv_t *sc,
                                fedauth_provider_t *prov, fa_jwt_t *jwt,
                                const fa_oidc_tokens_t *tok, fa_err_t *err)
{
    fa_session_t s;
    apr_status_t rv;

    if ((rv = fedauth_map_session(r, sc, prov, jwt, tok->id_token, tok, &s,
                                  err)) != APR_SUCCESS
        || (rv = fedauth_registry_signin(r, sc, &s, err)) != APR_SUCCESS) {
        return rv;
    }
    return fedauth_store_session(r, sc, &s, err);
}

int fedauth_handle_callback(request_rec *r, fedauth_srv_t *sc,
                            fedauth_provider_t *prov)
{
    apr_table_t *q = NULL;
    fa_login_t *login = NULL;
    fa_oidc_tokens_t *tok = NULL;
    fa_jwt_t *jwt = NULL;
    const char *cname = NULL, *key = NULL, *lock = NULL;
    fa_err_t err;
    int status;

    memset(&err, 0, sizeof(err));
    fedauth_no_store(r);
    if ((status = callback_query(r, prov, &q)) != OK
        || (status = callback_login(r, sc, prov, q, &login, &cname, &key))
           != OK) {
        return status;
    }
    if ((status = callback_tokens(r, sc, prov, q, login, key, &lock, &tok,
                                  &jwt)) != OK
        || (status = callback_mark_used(r, prov, key, login, cname)) != OK) {
        callback_release(r, key, lock);
        return status;
    }
    if (new_session(r, sc, prov, jwt, tok, &err) != APR_SUCCESS) {
        return fedauth_signin_refused(r, prov, &err,
                                      fedauth_registry_text(err.code)
                                      ? fedauth_registry_text(err.code)
                                      : fedauth_map_failure_text(&err,
                                          "The session could not be "
                                          "created."));
    }
    if (fedauth_preserve_post_replay(r, sc, login,
                                     apr_table_get(q, "state")) == OK) {
        return OK;
    }
    apr_table_setn(r->headers_out, "Location",
                   ap_construct_url(r->pool,
                                    fedauth_return_to_or_root(r,
                                        login->return_to), r));
    return HTTP_MOVED_TEMPORARILY;
}
