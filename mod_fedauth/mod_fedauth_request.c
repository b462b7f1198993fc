/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_request.c - the request path of a protected resource, in
 * the order httpd runs it:
 *   1. post_read_request: client headers that look like ours are dropped;
 *   2. check_access_ex: a CORS preflight from a FedAuthAllowedOrigin is
 *      answered without a session (any other origin: 403);
 *   3. check_authn (AuthType FedAuth): a bearer token, or the session the
 *      cookie names, is checked and passed on (user, environment,
 *      headers); without one, a 401 or the way to sign in;
 *   4. authorization: Require fedauth-role, fedauth-claim, fedauth-idp,
 *      and the 403 (not 401) for a signed-in user one of them refuses;
 *   5. fixups: FedAuthUnauthenticated pass, FEDAUTH_ERROR for an
 *      ErrorDocument, and the CORS grant for an allowed origin.
 * Last, what the Require lines need at configuration time. Everything this
 * path calls is in the layers below (session, bearer, sign-in, request
 * helpers, configuration); nothing here is used by another glue file but
 * the hook table. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "mod_core.h"
#include "ap_provider.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include "ap_regex.h"

#include "mod_fedauth_request.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_session.h"
#include "mod_fedauth_bearer.h"
#include "mod_fedauth_basic.h"
#include "mod_fedauth_signin.h"
#include "mod_fedauth_preserve_post.h"
#include "mod_fedauth_metrics.h"

APLOG_USE_MODULE(fedauth);

#define AUTH_TYPE "FedAuth"
/* What r->ap_auth_type points to once this module made the user known:
 * one address, so that a later hook can tell by comparing pointers. */
static char our_auth_type[] = AUTH_TYPE;

/* 1 when type is AuthType FedAuth (any case): strcasecmp(type, AUTH_TYPE)
 * == 0 without the call (every request of such a location asks). */
static inline int is_our_type(const char *type)
{
    return type && (type[0] | 0x20) == 'f' && (type[1] | 0x20) == 'e'
           && (type[2] | 0x20) == 'd' && (type[3] | 0x20) == 'a'
           && (type[4] | 0x20) == 'u' && (type[5] | 0x20) == 't'
           && (type[6] | 0x20) == 'h' && type[7] == '\0';
}

/* ---- 1. post_read_request -------------------------------------------- */

/* Whatever a client sends as X-FedAuth-* must never look like ours. */
int fedauth_strip_headers(request_rec *r)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i, found = 0;

    /* the first letter before the call: most headers are not X- */
    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && (e[i].key[0] | 0x20) == 'x'
            && fedauth_is_own_header(e[i].key)) {
            found = 1;
            break;
        }
    }
    if (found) {
        apr_table_t *clean = apr_table_make(r->pool, arr->nelts);
        for (i = 0; i < arr->nelts; i++) {
            if (e[i].key && !fedauth_is_own_header(e[i].key)) {
                apr_table_addn(clean, e[i].key, e[i].val);
            }
            else if (e[i].key) {
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00304)
                              "removed client header %.64s", e[i].key);
            }
        }
        r->headers_in = clean;
    }
    return DECLINED;
}

/* ---- 2. check_access_ex: CORS preflights ---------------------------- */

/* What a preflight grant allows: the methods and request headers a page
 * of an allowed origin may use with credentials. A fixed list: the
 * request headers a script needs (X-Requested-With gets it a 401 rather
 * than a sign-in page), none that could pass for ours. */
#define PREFLIGHT_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE"
#define PREFLIGHT_HEADERS "Accept, Authorization, Content-Type, " \
                          "X-Requested-With"

/* A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method)
 * to a location of AuthType FedAuth on a site that lists
 * FedAuthAllowedOrigin. A browser sends a preflight without cookies, so
 * it is answered here, before authentication: 204 with the grant for a
 * listed origin, 403 origin_not_allowed without CORS headers for any
 * other. No session is read, no sign-in started, no handler runs (DONE).
 * Anything else, a plain OPTIONS among them, goes on as before. */
int fedauth_preflight(request_rec *r)
{
    const char *type;
    fedauth_srv_t *sc;

    /* the method first: every other request leaves at once (ap_auth_type
     * alone costs a hundred instructions) */
    if (r->method_number != M_OPTIONS
        || !apr_table_get(r->headers_in, "Access-Control-Request-Method")
        || !apr_table_get(r->headers_in, "Origin")
        || !is_our_type(type = ap_auth_type(r))) {
        return DECLINED;
    }
    sc = ap_get_module_config(r->server->module_config, &fedauth_module);
    if (!sc->allowed_origins) {
        return DECLINED;
    }
    if (ap_discard_request_body(r) != OK) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    if (fedauth_cors_allow(r, sc) != 1) {
        fa_metrics_preflight(fedauth_metrics(), 0);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01401)
                      "CORS preflight for %s from %.128s refused: not a "
                      "FedAuthAllowedOrigin", r->uri,
                      fedauth_ascii(r->pool, apr_table_get(r->headers_in,
                                                           "Origin")));
        return fedauth_error(r, HTTP_FORBIDDEN, "origin_not_allowed",
                             "This origin is not a FedAuthAllowedOrigin.");
    }
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods",
                   PREFLIGHT_METHODS);
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers",
                   PREFLIGHT_HEADERS);
    apr_table_setn(r->err_headers_out, "Access-Control-Max-Age", "600");
    fa_metrics_preflight(fedauth_metrics(), 1);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(01402)
                  "CORS preflight for %s answered without a session",
                  r->uri);
    r->status = HTTP_NO_CONTENT;
    return DONE;
}

/* The CORS grant on an answer of a protected location (the page, its
 * 401 or 403) to a script of an allowed origin, which may then read it;
 * nothing for any other origin, or on a site that lists none. */
static void cors_grant(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);

    if (sc->allowed_origins && !r->main) {
        fedauth_cors_allow(r, sc);
    }
}

/* ---- 3. check_authn -------------------------------------------------- */

/* A script's request (XHR, fetch for JSON) gets a 401 it can act on,
 * not a redirect to a sign-in page it cannot show. */
static int wants_no_redirect(request_rec *r)
{
    const char *xrw = apr_table_get(r->headers_in, "X-Requested-With");
    const char *accept = apr_table_get(r->headers_in, "Accept");

    return (xrw && !strcasecmp(xrw, "XMLHttpRequest"))
           || (accept && strstr(accept, "application/json")
               && !strstr(accept, "text/html"));
}

/* No session that counts here: a 401 where a browser cannot or should not
 * be sent to sign in (FedAuthUnauthenticated 401 or pass, not a GET, an
 * API with bearer tokens, a script's request), else the way to sign in. */
static int no_session(request_rec *r, fedauth_srv_t *sc, fedauth_dir_t *dc)
{
    fedauth_unauth_t unauth = fedauth_unauth(dc);
    int to_signin = unauth != FEDAUTH_UNAUTH_401
                    && unauth != FEDAUTH_UNAUTH_PASS && !fedauth_bearer_on(dc)
                    && !(unauth == FEDAUTH_UNAUTH_AUTO
                         && wants_no_redirect(r));
    int status = fedauth_basic_no_credentials(r, dc);

    if (status != DECLINED) {
        return status;
    }
    /* FedAuthPreservePost: a form POST that can be kept starts the
     * sign-in as a GET would; any other gets the 401. */
    if (to_signin && r->method_number == M_POST
        && fedauth_preserve_post_on(dc)
        && !r->main
        && (status = fedauth_preserve_post(r, sc, dc)) != DECLINED) {
        return status;
    }
    if (!to_signin || r->method_number != M_GET) {
        /* Read away the body this request will not get to use, so that an
         * ErrorDocument handler does not read it as its own. */
        if (ap_discard_request_body(r) != OK) {
            r->connection->keepalive = AP_CONN_CLOSE;
        }
        cors_grant(r);
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       fedauth_bearer_on(dc)
            ? apr_psprintf(r->pool, "Bearer realm=\"%s\"",
                           ap_escape_quotes(r->pool,
                               r->server->server_hostname
                               ? r->server->server_hostname : "api"))
            : "FedAuth realm=\"sign-in required\"");
        return fedauth_error(r, HTTP_UNAUTHORIZED, "no_session",
                             "Sign-in is required.");
    }
    return fedauth_send_to_signin(r, sc, dc, r->unparsed_uri);
}

/* A subrequest (SSI, negotiation, a type map) whose main request has a
 * session of ours: httpd asks here only when the target's configuration
 * differs from the main request's. The session is reused, not reloaded,
 * but counts only where the target offers its provider, as if the target
 * were asked for directly; the target's Require lines then see it.
 * DECLINED: nothing to reuse (no session, or the main request came with a
 * bearer token, which the target checks for itself). */
static int subrequest_session(request_rec *r, fedauth_srv_t *sc,
                              fedauth_dir_t *dc)
{
    fedauth_dir_t *mdc = ap_get_module_config(r->main->per_dir_config,
                                              &fedauth_module);
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    fedauth_provider_t *prov;
    fa_session_t *s;

    if (!r->main->user || !(s = fedauth_request_session(r->main))
        || (fedauth_bearer_on(mdc) && auth
            && !strncasecmp(auth, "Bearer ", 7))) {
        return DECLINED;
    }
    /* an app password counts where FedAuthBasic is On */
    prov = fedauth_basic_session(s) ? NULL : fedauth_provider_find(sc,
                                                                   s->idp);
    if (fedauth_basic_session(s) ? !fedauth_basic_on(dc)
        : !prov || !fedauth_provider_offered(dc, prov)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00420)
                      "subrequest for %s refused: a session from provider "
                      "%s is not accepted there", r->uri, s->idp);
        return HTTP_UNAUTHORIZED;
    }
    r->user = r->main->user;
    fedauth_export_session(r, dc, s);
    fedauth_request_session_set(r, s);
    return OK;
}

int fedauth_check_authn(request_rec *r)
{
    fedauth_srv_t *sc;
    fedauth_dir_t *dc;
    fa_session_t *s;
    fedauth_provider_t *prov;
    const char *type = ap_auth_type(r);
    apr_status_t rv;
    int rc;

    if (!is_our_type(type)) {
        return DECLINED;
    }
    sc = ap_get_module_config(r->server->module_config, &fedauth_module);
    dc = ap_get_module_config(r->per_dir_config, &fedauth_module);
    r->ap_auth_type = our_auth_type;
    if (r->main && (rc = subrequest_session(r, sc, dc)) != DECLINED) {
        return rc;
    }
    if (fedauth_bearer_on(dc)) {
        const char *auth = apr_table_get(r->headers_in, "Authorization");
        if (auth && !strncasecmp(auth, "Bearer ", 7)) {
            return fedauth_bearer_check(r, sc, dc, auth + 7);
        }
    }
    if (fedauth_basic_on(dc)) {
        const char *auth = apr_table_get(r->headers_in, "Authorization");
        if (auth && !strncasecmp(auth, "Basic ", 6)) {
            return fedauth_basic_check(r, sc, dc, auth + 6);
        }
        if (r->prev && (rc = fedauth_basic_redirected(r, dc)) == OK) {
            return rc;
        }
    }
    rv = fedauth_session_load_prov(r, sc, &s, &prov);
    if (rv == APR_SUCCESS) {
        /* A session counts only where its provider is offered (and
         * enabled); elsewhere the browser signs in again. */
        if (fedauth_provider_offered(dc, prov)) {
            fedauth_export_session(r, dc, s);
            fedauth_request_session_set(r, s);
            return OK;
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00312)
                      "session from provider %s not accepted here",
                      s->idp);
    }
    else if (rv != APR_NOTFOUND) {
        return fedauth_error(r, HTTP_SERVICE_UNAVAILABLE,
                             "store_unavailable", "The session store is "
                             "unavailable. Please try again in a moment.");
    }
    return no_session(r, sc, dc);
}

/* ---- 4. authorization ------------------------------------------------ */

/* Authorization providers for mod_authz_core:
 *   Require fedauth-role r1 r2 ...       any of the roles
 *   Require fedauth-claim name:value ... a kept claim equals the value, or
 *                                        (array claim) contains it
 *   Require fedauth-claim name~regex ... a kept value matches the regex
 *                                        (anchored only as written)
 *   Require fedauth-idp id1 id2 ...      signed in through one of them
 * mod_authz_core asks them first without a user: they answer
 * AUTHZ_DENIED_NO_USER, which makes httpd run the authentication check
 * above (AuthType FedAuth: sign in), and then again with the user. A
 * signed-in user they deny gets a 403 page saying so (unless an
 * ErrorDocument 403 is set). */

/* Require fedauth-claim name:value or name~regex, as parsed at
 * configuration time: re is NULL for an exact match. */
typedef struct claim_req_t {
    const char *name;
    const char *value;
    ap_regex_t *re;
} claim_req_t;

/* The most backtracking steps one regex match may take (PCRE's own limit,
 * set in the pattern): a rule that would backtrack badly over a long
 * claim value (ReDoS) fails fast and refuses, instead of holding a
 * worker. Values are at most FA_CLAIMS_VALUE_MAX bytes per claim. */
#define CLAIM_RE_LIMIT "(*LIMIT_MATCH=100000)(*LIMIT_DEPTH=10000)"
#define LIMIT_LEN (sizeof(CLAIM_RE_LIMIT) - 1)

/* A Require fedauth-* line as parsed at configuration time. */
typedef struct line_t {
    apr_array_header_t *items;  /* the words, or claim_req_t */
    int negated;                /* under Require not or <RequireNone>: a
                                 * grant is what refuses */
} line_t;

/* The note a line leaves when it is what refuses a signed-in user: such a
 * user gets 403 (fedauth_check_authz), not a new sign-in. */
#define NOTE_REFUSED "fedauth-refused"

/* The 403 page for a signed-in user, kept ready whenever a provider looks
 * at one: with Require not, a provider that grants is what refuses. A
 * specific reason (specific = 1) replaces a generic one. Unused when
 * access is granted in the end (and FEDAUTH_ERROR is set only once it is
 * not: fedauth_check_authz). */
static void refusal_page(request_rec *r, const fa_session_t *s,
                         const char *needs, int specific)
{
    int idx = ap_index_of_response(HTTP_FORBIDDEN);
    const char *had = apr_table_get(r->notes, "fedauth-error-description");

    if (had && !specific) {
        return;
    }
    apr_table_setn(r->notes, "fedauth-error", "access_denied");
    apr_table_setn(r->notes, "fedauth-error-description", needs);
    if (apr_table_get(r->notes, "fedauth-own-403")
        || !ap_response_code_string(r, idx)) {
        apr_table_setn(r->notes, "fedauth-own-403", "1");
        ap_custom_response(r, HTTP_FORBIDDEN, apr_pstrcat(r->pool,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, "
            "initial-scale=1\"><title>Access denied</title></head>\n"
            "<body style=\"font-family:sans-serif;max-width:40em;margin:3em "
            "auto;padding:0 1em\">\n<h1>Access denied</h1>\n<p>You are "
            "signed in as <strong>", fa_html_escape(r->pool, s->user),
            "</strong>, but this page needs ", fa_html_escape(r->pool, needs),
            ".</p>\n<p>Error code: <code>access_denied</code></p>\n"
            "<p><a href=\"/fedauth/logout?return_to=/\">Sign out</a> &middot; "
            "<a href=\"/\">Back to the start page</a></p>\n</body></html>\n",
            NULL));
    }
}

static authz_status granted(request_rec *r, const fa_session_t *s,
                            const line_t *line)
{
    refusal_page(r, s, "other permissions", 0);
    if (line->negated) {
        apr_table_setn(r->notes, NOTE_REFUSED, "1");
    }
    return AUTHZ_GRANTED;
}

static authz_status deny(request_rec *r, const fa_session_t *s,
                         const line_t *line, const char *needs)
{
    refusal_page(r, s, needs, 1);
    if (!line->negated) {
        apr_table_setn(r->notes, NOTE_REFUSED, "1");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00401)
                  "%s (signed in through %s) refused: needs %s",
                  s->user, s->idp, needs);
    return AUTHZ_DENIED;
}

/* The session of a signed-in user, or why there is none. */
static authz_status session_of(request_rec *r, fa_session_t **ps)
{
    *ps = NULL;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    *ps = fedauth_request_session(r);
    return *ps ? AUTHZ_GRANTED : AUTHZ_DENIED;
}

/* 1 when the comma-separated list holds item. */
static int list_has(const char *list, const char *item)
{
    apr_size_t len = strlen(item);
    const char *hit;

    for (hit = strstr(list, item); hit; hit = strstr(hit + 1, item)) {
        if ((hit == list || hit[-1] == ',')
            && (hit[len] == ',' || hit[len] == '\0')) {
            return 1;
        }
    }
    return 0;
}

/* Require fedauth-role and fedauth-idp: granted when one of the line's
 * words fits the session; else denied, with what the page needs: what,
 * then the words. */
static authz_status check_words(request_rec *r, const line_t *line,
                                int (*fits)(const fa_session_t *,
                                            const char *),
                                const char *what)
{
    const apr_array_header_t *words = line->items;
    fa_session_t *s;
    authz_status st = session_of(r, &s);
    int i;

    if (st != AUTHZ_GRANTED) {
        return st;
    }
    for (i = 0; i < words->nelts; i++) {
        if (fits(s, APR_ARRAY_IDX(words, i, const char *))) {
            return granted(r, s, line);
        }
    }
    return deny(r, s, line, apr_pstrcat(r->pool, what,
                apr_array_pstrcat(r->pool, words, '|'), NULL));
}

static int has_role(const fa_session_t *s, const char *role)
{
    return list_has(s->roles, role);
}

static int signed_in_through(const fa_session_t *s, const char *id)
{
    return !strcmp(s->idp, id);
}

static authz_status check_role(request_rec *r, const char *line,
                               const void *parsed)
{
    return check_words(r, parsed, has_role, "the role ");
}

static authz_status check_idp(request_rec *r, const char *line,
                              const void *parsed)
{
    return check_words(r, parsed, signed_in_through, "a sign-in through ");
}

/* 1 when value fits rule c (equal, or matches its regex), 0 when not,
 * -1 when PCRE gave up (its step limit: a pattern that backtracks badly
 * over this value): the rule then refuses without trying more values, so
 * one request costs at most one such match per rule, and the line is
 * logged for the administrator to fix. */
static int claim_fits(request_rec *r, const claim_req_t *c,
                      const char *value)
{
    int rc;

    if (!c->re) {
        return !strcmp(value, c->value);
    }
    rc = ap_regexec(c->re, value, 0, NULL, 0);
    if (rc != 0 && rc != AP_REG_NOMATCH) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(01400)
                      "Require fedauth-claim %s~%s: the regex gave up on "
                      "a value of %" APR_SIZE_T_FMT " bytes (PCRE step "
                      "limit or error %d); the request fails (500)",
                      c->name, c->value, strlen(value), rc);
        fa_metrics_claim_regex_gave_up(fedauth_metrics());
        return -1;
    }
    return rc == 0;
}

static authz_status check_claim(request_rec *r, const char *text,
                                const void *parsed)
{
    const line_t *line = parsed;
    const apr_array_header_t *reqs = line->items;
    const claim_req_t *c;
    const fa_attr_t *a;
    fa_session_t *s;
    authz_status st = session_of(r, &s);
    int i, j, fit, gave_up = 0;

    if (st != AUTHZ_GRANTED) {
        return st;
    }
    for (i = 0; i < reqs->nelts; i++) {
        c = &APR_ARRAY_IDX(reqs, i, claim_req_t);
        fit = 0;
        for (j = 0; s->claims && j < s->claims->nelts && fit == 0; j++) {
            a = &APR_ARRAY_IDX(s->claims, j, fa_attr_t);
            if (!strcmp(a->name, c->name)
                && (fit = claim_fits(r, c, a->value)) == 1) {
                return granted(r, s, line);
            }
        }
        gave_up |= fit < 0;
    }
    /* A regex that gave up decides nothing: neither "no match", which
     * `Require not` would turn into a pass for whoever can make a claim
     * value the pattern chokes on, nor "match". The request fails (500),
     * whichever way the line is used. */
    if (gave_up) {
        return AUTHZ_GENERAL_ERROR;
    }
    return deny(r, s, line, apr_pstrcat(r->pool, "the claim ", text,
                                        NULL));
}

/* The authorization hooks that come after this module's (mod_authz_core's
 * among them), run as httpd's own runner does: the first answer that is
 * not DECLINED wins. DECLINED when there are none. */
static int run_later_authz(request_rec *r)
{
    apr_array_header_t *hooks = ap_hook_get_auth_checker();
    ap_LINK_auth_checker_t *h;
    int i, rc = DECLINED, after = 0;

    for (i = 0; hooks && i < hooks->nelts && rc == DECLINED; i++) {
        h = &APR_ARRAY_IDX(hooks, i, ap_LINK_auth_checker_t);
        if (after) {
            rc = h->pFunc(r);
        }
        else {
            after = h->pFunc == fedauth_check_authz;
        }
    }
    return rc;
}

/* mod_authz_core answers a signed-in user it refuses with 401 unless
 * AuthzSendForbiddenOnFailure is On, inviting a new sign-in that changes
 * nothing. This hook runs first, runs the later authorization hooks
 * itself, and turns their 401 into 403 only when a Require fedauth-* line
 * is what refused: the module's own page, no loop, and the
 * administrator's AuthzSendForbiddenOnFailure left to decide for the
 * other Require lines. */
int fedauth_check_authz(request_rec *r)
{
    int rc;

    /* Only a user this module made known can be refused by its lines
     * (httpd copies the pointer into subrequests and redirects). */
    if (!r->user || r->ap_auth_type != our_auth_type) {
        return DECLINED;
    }
    rc = run_later_authz(r);
    if (rc == HTTP_UNAUTHORIZED && apr_table_get(r->notes, NOTE_REFUSED)) {
        apr_table_unset(r->err_headers_out, "WWW-Authenticate");
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FALOGNO(00423)
                      "%s refused by a Require fedauth-* line: 403",
                      r->user);
        rc = HTTP_FORBIDDEN;
    }
    if (rc == HTTP_FORBIDDEN) {
        cors_grant(r);
    }
    if (rc == HTTP_FORBIDDEN && apr_table_get(r->notes, "fedauth-error")) {
        /* the refused request's own environment (access log) */
        apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR", "access_denied");
        apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR_DESCRIPTION",
                       apr_table_get(r->notes, "fedauth-error-description"));
    }
    return rc;
}

/* ---- 5. fixups ------------------------------------------------------- */

/* FedAuthUnauthenticated pass goes with a Require that lets anyone in,
 * where httpd never asks who the user is: a signed-in user is made known
 * here, before the handler runs; anyone else goes on anonymously. */
static void pass_session(request_rec *r)
{
    const char *type;
    fedauth_dir_t *dc;
    fedauth_srv_t *sc;
    fedauth_provider_t *prov;
    fa_session_t *s;

    /* a known user first: ap_auth_type alone costs a hundred
     * instructions */
    if (r->user || !is_our_type(type = ap_auth_type(r))) {
        return;
    }
    dc = ap_get_module_config(r->per_dir_config, &fedauth_module);
    if (fedauth_unauth(dc) != FEDAUTH_UNAUTH_PASS) {
        return;
    }
    sc = ap_get_module_config(r->server->module_config, &fedauth_module);
    if (fedauth_session_load(r, sc, &s, NULL) == APR_SUCCESS
        && (prov = fedauth_provider_find(sc, s->idp)) != NULL
        && fedauth_provider_offered(dc, prov)) {
        r->ap_auth_type = our_auth_type;
        fedauth_export_session(r, dc, s);
        fedauth_request_session_set(r, s);
    }
}

/* A signed-in user's answer gets the CORS grant for an allowed origin.
 * An ErrorDocument runs in a new request: give it FEDAUTH_ERROR as such,
 * not only as REDIRECT_FEDAUTH_ERROR. */
int fedauth_fixups(request_rec *r)
{
    const char *code;

    pass_session(r);
    if (r->user && r->ap_auth_type == our_auth_type) {
        cors_grant(r);
    }

    if (r->prev && (code = apr_table_get(r->prev->notes, "fedauth-error"))) {
        apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR", code);
        apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR_DESCRIPTION",
                       apr_table_get(r->prev->notes,
                                     "fedauth-error-description"));
    }
    return DECLINED;
}

/* ---- the Require lines, at configuration time ------------------------ */

/* 1 when the Require line being parsed counts negated: after "not", or
 * inside an odd number of <RequireNone> sections. */
static int negated(cmd_parms *cmd)
{
    const ap_directive_t *d = cmd->directive;
    const char *args;
    int neg = 0;

    if (!d) {
        return 0;
    }
    for (args = d->args ? d->args : ""; apr_isspace(*args); args++) {
    }
    neg = !strncasecmp(args, "not", 3) && apr_isspace(args[3]);
    for (d = d->parent; d; d = d->parent) {
        if (d->directive && !strcasecmp(d->directive, "<RequireNone")) {
            neg = !neg;
        }
    }
    return neg;
}

/* The parsed form of a Require line. */
static const void *line_of(cmd_parms *cmd, apr_array_header_t *items)
{
    line_t *line = apr_palloc(cmd->pool, sizeof(*line));

    line->items = items;
    line->negated = negated(cmd);
    return line;
}

/* The words of a Require line, parsed at configuration time. */
static apr_array_header_t *words_of(apr_pool_t *p, const char *line)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    const char *w;

    while (*(w = ap_getword_conf(p, &line))) {
        APR_ARRAY_PUSH(words, const char *) = w;
    }
    return words;
}

static const char *parse_roles(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    apr_array_header_t *words = words_of(cmd->pool, line);
    int i;

    if (words->nelts == 0) {
        return "Require fedauth-role needs one or more role names";
    }
    for (i = 0; i < words->nelts; i++) {
        if (strchr(APR_ARRAY_IDX(words, i, const char *), ',')) {
            return "Require fedauth-role: role names have no commas";
        }
    }
    *parsed = line_of(cmd, words);
    return NULL;
}

static apr_status_t free_claim_re(void *re)
{
    ap_regfree(re);
    return APR_SUCCESS;
}

/* Rule c's regex, compiled once here with httpd's regex API (PCRE,
 * httpd's default options), under CLAIM_RE_LIMIT; anchored only as
 * written. NULL, or why the pattern is refused. */
static const char *compile_claim_re(cmd_parms *cmd, claim_req_t *c)
{
    char msg[256];
    int rc;

    if (!*c->value) {
        return apr_psprintf(cmd->pool, "Require fedauth-claim %s~: the "
                            "regex is empty", c->name);
    }
    if (!strncmp(c->value, "(*", 2)) {
        return apr_psprintf(cmd->pool, "Require fedauth-claim %s~%s: a "
                            "regex may not start with PCRE's (* options",
                            c->name, c->value);
    }
    c->re = apr_palloc(cmd->pool, sizeof(*c->re));
    rc = ap_regcomp(c->re, apr_pstrcat(cmd->pool, CLAIM_RE_LIMIT, c->value,
                                       NULL), 0);
    if (rc != 0) {
        ap_regerror(rc, c->re, msg, sizeof(msg));
        return apr_psprintf(cmd->pool, "Require fedauth-claim %s~%s: not a "
                            "valid regex (%s; PCRE stopped at character "
                            "%" APR_SIZE_T_FMT ")", c->name, c->value,
                            rc == AP_REG_INVARG ? "refused" : msg,
                            c->re->re_erroffset > LIMIT_LEN
                            ? c->re->re_erroffset - LIMIT_LEN + 1 : 1);
    }
    apr_pool_cleanup_register(cmd->pool, c->re, free_claim_re,
                              apr_pool_cleanup_null);
    return NULL;
}

static const char *parse_claims(cmd_parms *cmd, const char *line,
                                const void **parsed)
{
    apr_array_header_t *words = words_of(cmd->pool, line);
    apr_array_header_t *reqs = apr_array_make(cmd->pool, words->nelts,
                                              sizeof(claim_req_t));
    const char *w, *colon, *err;
    claim_req_t *c;
    int i;

    if (words->nelts == 0) {
        return "Require fedauth-claim needs one or more name:value or "
               "name~regex";
    }
    for (i = 0; i < words->nelts; i++) {
        w = APR_ARRAY_IDX(words, i, const char *);
        colon = w + strcspn(w, ":~");
        if (!*colon || colon == w) {
            return apr_psprintf(cmd->pool, "Require fedauth-claim: '%s' is "
                                "not name:value or name~regex", w);
        }
        c = apr_array_push(reqs);
        c->name = apr_pstrmemdup(cmd->pool, w, (apr_size_t)(colon - w));
        c->value = colon + 1;
        c->re = NULL;
        if ((err = fedauth_keep_claim(cmd, c->name)) != NULL
            || (*colon == '~' && (err = compile_claim_re(cmd, c)) != NULL)) {
            return err;
        }
    }
    *parsed = line_of(cmd, reqs);
    return NULL;
}

static const char *parse_idps(cmd_parms *cmd, const char *line,
                              const void **parsed)
{
    apr_array_header_t *words = words_of(cmd->pool, line);
    const char *err;
    int i;

    if (words->nelts == 0) {
        return "Require fedauth-idp needs one or more provider ids";
    }
    for (i = 0; i < words->nelts; i++) {
        err = fedauth_provider_ref(cmd, "Require fedauth-idp",
                                   APR_ARRAY_IDX(words, i, const char *));
        if (err) {
            return err;
        }
    }
    *parsed = line_of(cmd, words);
    return NULL;
}

/* 1 when a Require line's arguments are "expr ..." or "not expr ...". */
static int is_require_expr(const char *args)
{
    while (apr_isspace(*args)) {
        args++;
    }
    if (!strncasecmp(args, "not", 3) && apr_isspace(args[3])) {
        for (args += 3; apr_isspace(*args); args++) {
        }
    }
    return !strncasecmp(args, "expr", 4) && apr_isspace(args[4]);
}

/* httpd decides a Require expr line first without a user; only a line
 * that names REMOTE_USER waits for the sign-in. A line over FEDAUTH_*
 * that does not is decided with those unset: 403 for everyone, or, when
 * it holds then (a negation), anyone in without signing in. Warned about
 * at start with its file:line (not refused: the administrator may mean
 * it). Walks the configuration tree (not .htaccess files). */
static void warn_require_expr(server_rec *s, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "Require") && d->args
            && is_require_expr(d->args) && strstr(d->args, "FEDAUTH_")
            && !strstr(d->args, "REMOTE_USER")) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                         FALOGNO(01403) "%s:%d: Require %s is decided "
                         "before sign-in (FEDAUTH_* unset): add "
                         "\"-n %%{REMOTE_USER} &&\" so that httpd signs "
                         "the user in first (docs/claims-and-roles.md)",
                         d->filename, d->line_num, d->args);
        }
        warn_require_expr(s, d->first_child);
    }
}

void fedauth_check_require_expr(server_rec *s)
{
    warn_require_expr(s, ap_conftree);
}

static const authz_provider role_provider = { check_role, parse_roles };
static const authz_provider claim_provider = { check_claim, parse_claims };
static const authz_provider idp_provider = { check_idp, parse_idps };

void fedauth_register_authz(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "fedauth-role",
                              AUTHZ_PROVIDER_VERSION, &role_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "fedauth-claim",
                              AUTHZ_PROVIDER_VERSION, &claim_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "fedauth-idp",
                              AUTHZ_PROVIDER_VERSION, &idp_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
