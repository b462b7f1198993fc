/* mod_fedauth_authz.c - authorization providers for mod_authz_core:
 *   Require fedauth-role r1 r2 ...       any of the roles
 *   Require fedauth-claim name:value ... a kept claim equals the value, or
 *                                        (array claim) contains it
 *   Require fedauth-idp id1 id2 ...      signed in through one of them
 * The Require line is parsed once, at configuration time. Without a user
 * they answer AUTHZ_DENIED_NO_USER, which makes httpd run the
 * authentication (AuthType FedAuth: sign in). A signed-in user they deny
 * gets a 403 page saying so (unless an ErrorDocument 403 is set). */
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

#include "mod_fedauth.h"

APLOG_USE_MODULE(fedauth);

typedef struct claim_req_t {
    const char *name;
    const char *value;
} claim_req_t;

void fedauth_request_session_set(request_rec *r, fa_session_t *s)
{
    ap_set_module_config(r->request_config, &fedauth_module, s);
}

fa_session_t *fedauth_request_session(request_rec *r)
{
    fa_session_t *s = ap_get_module_config(r->request_config,
                                           &fedauth_module);

    for (; !s && r->main; r = r->main) {
        s = ap_get_module_config(r->main->request_config, &fedauth_module);
    }
    return s;
}

/* A signed-in user refused where a Require fedauth-* line stands gets 403,
 * not mod_authz_core's default 401 (which would invite a new sign-in):
 * the line turns on AuthzSendForbiddenOnFailure for its own section. */
static const char *forbidden_on_failure(cmd_parms *cmd)
{
    ap_directive_t d, *saved = cmd->directive;
    const char *err;

    memset(&d, 0, sizeof(d));
    d.directive = "AuthzSendForbiddenOnFailure";
    d.args = "On";
    d.filename = saved ? saved->filename : "mod_fedauth";
    d.line_num = saved ? saved->line_num : 0;
    d.parent = saved ? saved->parent : NULL;
    err = ap_walk_config(&d, cmd, cmd->context);
    cmd->directive = saved;
    return err;
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

static const char *where(cmd_parms *cmd)
{
    return cmd->directive ? apr_psprintf(cmd->pool, "%s:%d",
                                         cmd->directive->filename,
                                         cmd->directive->line_num) : "?";
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
    *parsed = words;
    return forbidden_on_failure(cmd);
}

static const char *parse_claims(cmd_parms *cmd, const char *line,
                                const void **parsed)
{
    apr_array_header_t *words = words_of(cmd->pool, line);
    apr_array_header_t *reqs = apr_array_make(cmd->pool, words->nelts,
                                              sizeof(claim_req_t));
    const char *w, *colon;
    claim_req_t *c;
    int i;

    if (words->nelts == 0) {
        return "Require fedauth-claim needs one or more name:value";
    }
    for (i = 0; i < words->nelts; i++) {
        w = APR_ARRAY_IDX(words, i, const char *);
        colon = strchr(w, ':');
        if (!colon || colon == w) {
            return apr_psprintf(cmd->pool, "Require fedauth-claim: '%s' is "
                                "not name:value", w);
        }
        c = apr_array_push(reqs);
        c->name = apr_pstrmemdup(cmd->pool, w, (apr_size_t)(colon - w));
        c->value = colon + 1;
        fedauth_keep_claim(c->name);
    }
    *parsed = reqs;
    return forbidden_on_failure(cmd);
}

static const char *parse_idps(cmd_parms *cmd, const char *line,
                              const void **parsed)
{
    apr_array_header_t *words = words_of(cmd->pool, line);
    int i;

    if (words->nelts == 0) {
        return "Require fedauth-idp needs one or more provider ids";
    }
    for (i = 0; i < words->nelts; i++) {
        fedauth_provider_ref(cmd->pool, APR_ARRAY_IDX(words, i,
                                                      const char *),
                             where(cmd));
    }
    *parsed = words;
    return forbidden_on_failure(cmd);
}

/* The 403 page for a signed-in user, kept ready whenever a provider looks
 * at one: with Require not, a provider that grants is what refuses. A
 * specific reason (specific = 1) replaces a generic one. Unused when
 * access is granted in the end. */
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
    apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR", "access_denied");
    apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR_DESCRIPTION", needs);
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

static authz_status granted(request_rec *r, const fa_session_t *s)
{
    refusal_page(r, s, "other permissions", 0);
    return AUTHZ_GRANTED;
}

static authz_status deny(request_rec *r, const fa_session_t *s,
                         const char *needs)
{
    refusal_page(r, s, needs, 1);
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

static authz_status check_role(request_rec *r, const char *line,
                               const void *parsed)
{
    const apr_array_header_t *roles = parsed;
    fa_session_t *s;
    authz_status st = session_of(r, &s);
    int i;

    if (st != AUTHZ_GRANTED) {
        return st;
    }
    for (i = 0; i < roles->nelts; i++) {
        if (list_has(s->roles, APR_ARRAY_IDX(roles, i, const char *))) {
            return granted(r, s);
        }
    }
    return deny(r, s, apr_pstrcat(r->pool, "the role ",
                apr_array_pstrcat(r->pool, roles, '|'), NULL));
}

static authz_status check_claim(request_rec *r, const char *line,
                                const void *parsed)
{
    const apr_array_header_t *reqs = parsed;
    const claim_req_t *c;
    const fa_attr_t *a;
    fa_session_t *s;
    authz_status st = session_of(r, &s);
    int i, j;

    if (st != AUTHZ_GRANTED) {
        return st;
    }
    for (i = 0; i < reqs->nelts; i++) {
        c = &APR_ARRAY_IDX(reqs, i, claim_req_t);
        for (j = 0; s->claims && j < s->claims->nelts; j++) {
            a = &APR_ARRAY_IDX(s->claims, j, fa_attr_t);
            if (!strcmp(a->name, c->name) && !strcmp(a->value, c->value)) {
                return granted(r, s);
            }
        }
    }
    return deny(r, s, apr_pstrcat(r->pool, "the claim ", line, NULL));
}

static authz_status check_idp(request_rec *r, const char *line,
                              const void *parsed)
{
    const apr_array_header_t *ids = parsed;
    fa_session_t *s;
    authz_status st = session_of(r, &s);
    int i;

    if (st != AUTHZ_GRANTED) {
        return st;
    }
    for (i = 0; i < ids->nelts; i++) {
        if (!strcmp(s->idp, APR_ARRAY_IDX(ids, i, const char *))) {
            return granted(r, s);
        }
    }
    return deny(r, s, apr_pstrcat(r->pool, "a sign-in through ",
                apr_array_pstrcat(r->pool, ids, '|'), NULL));
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
