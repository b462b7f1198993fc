/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config.c - directives, configuration records and their
 * merging. Each handler calls a pure parser and prefixes its errors with
 * the directive name; <FedAuthProvider> names file:line of the line at
 * fault. Also what the other glue files ask of the configuration: the
 * effective values, which providers a location offers, and the objects
 * post_config made (the request's store, the HTTP client). */
#include <ctype.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_file_io.h"
#include "apr_hash.h"
#include <stdlib.h>

#include "mod_fedauth_config.h"
#include "fa_graph.h"
#include "fa_http.h"
#include "fa_redis_net.h"
#include "fa_clientkey.h"

APLOG_USE_MODULE(fedauth);

#define DEFAULT_COOKIE "fedauth_session"
#define DEFAULT_IDLE 3600
#define DEFAULT_MAX_AGE 28800
#define DEFAULT_HTTP_TIMEOUT 5
#define DEFAULT_SHM_SIZE (64 * 1024 * 1024)
#define DEFAULT_SESSIONS_PER_USER 20
#define DEFAULT_INTROSPECTION_CACHE 300
#define DEFAULT_BASIC_CACHE 60
#define DEFAULT_BASIC_LIMIT_ACCOUNT 10
#define DEFAULT_BASIC_LIMIT_CLIENT 30
#define DEFAULT_BASIC_LIMIT_WINDOW 900

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

    sc->providers = apr_array_make(p, 4, sizeof(fedauth_provider_t *));
    sc->idle_timeout = FEDAUTH_UNSET;
    sc->max_age = FEDAUTH_UNSET;
    sc->http_timeout = FEDAUTH_UNSET;
    sc->remember_choice = FEDAUTH_UNSET;
    sc->token_login = FEDAUTH_UNSET;
    sc->metrics = FEDAUTH_UNSET;
    sc->status = FEDAUTH_UNSET;                 /* FedAuthStatus */
    sc->redis_timeout_ms = FEDAUTH_UNSET;
    sc->logout_at_idp = FEDAUTH_UNSET;
    sc->local_cache_ms = FEDAUTH_UNSET;
    sc->cookie_samesite = FEDAUTH_UNSET;        /* cookies */
    sc->login_samesite = FEDAUTH_UNSET;
    sc->sessions_per_user = FEDAUTH_UNSET;
    sc->refresh_before = FEDAUTH_UNSET;
    sc->refresh_failure = FEDAUTH_UNSET;
    sc->registry = FEDAUTH_UNSET;
    sc->register_on = FEDAUTH_UNSET;
    sc->attempt_stream = FEDAUTH_UNSET;
    sc->introspection_cache = FEDAUTH_UNSET;
    sc->basic_cache = FEDAUTH_UNSET;
    sc->basic_limit_account = FEDAUTH_UNSET;
    sc->basic_limit_client = FEDAUTH_UNSET;
    sc->basic_limit_window = FEDAUTH_UNSET;
    return sc;
}

#define MERGE_PTR(f) m->f = add->f ? add->f : base->f
#define MERGE_INT(f) m->f = add->f != FEDAUTH_UNSET ? add->f : base->f

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
    if (add->store_spec) {
        m->store_spec = add->store_spec;
        m->store_origin = add->store_origin;
        m->redis = add->redis;
    }
    else {
        m->store_spec = base->store_spec;
        m->store_origin = base->store_origin;
        m->redis = base->redis;
    }
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
    m->shm_size = add->shm_size ? add->shm_size : base->shm_size;
    if (add->secret) {
        m->secret = add->secret;
        m->secret_origin = add->secret_origin;
        m->older_secrets = add->older_secrets;
    }
    else {
        m->secret = base->secret;
        m->secret_origin = base->secret_origin;
        m->older_secrets = base->older_secrets;
    }
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
    if (add->cookie_samesite != FEDAUTH_UNSET) {          /* cookies */
        m->cookie_samesite = add->cookie_samesite;
        m->cookie_partitioned = add->cookie_partitioned;
        m->cookie_samesite_at = add->cookie_samesite_at;
    }
    else {
        m->cookie_samesite = base->cookie_samesite;
        m->cookie_partitioned = base->cookie_partitioned;
        m->cookie_samesite_at = base->cookie_samesite_at;
    }
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
    m->unauth = add->unauth != FEDAUTH_UNAUTH_UNSET ? add->unauth
                                                     : base->unauth;
    MERGE_INT(pass_as);
    MERGE_INT(bearer);
    MERGE_PTR(bearer_audience);
    MERGE_INT(pass_token);
    MERGE_INT(preserve_post);
    MERGE_INT(preserve_post_max);
    MERGE_INT(basic);
    return m;
}

const char *fedauth_cookie_name(const fedauth_srv_t *sc)
{
    return sc->cookie_name ? sc->cookie_name : DEFAULT_COOKIE;
}

int fedauth_idle_timeout(const fedauth_srv_t *sc)
{
    return sc->idle_timeout != FEDAUTH_UNSET ? sc->idle_timeout
                                              : DEFAULT_IDLE;
}

int fedauth_max_age(const fedauth_srv_t *sc)
{
    return sc->max_age != FEDAUTH_UNSET ? sc->max_age : DEFAULT_MAX_AGE;
}

int fedauth_sessions_per_user(const fedauth_srv_t *sc)
{
    return sc->sessions_per_user != FEDAUTH_UNSET ? sc->sessions_per_user
                                                   : DEFAULT_SESSIONS_PER_USER;
}

apr_size_t fedauth_shm_size(const fedauth_srv_t *sc)
{
    return sc->shm_size ? sc->shm_size : DEFAULT_SHM_SIZE;
}

int fedauth_refresh_before(const fedauth_srv_t *sc)
{
    return sc->refresh_before > 0 ? sc->refresh_before : 0;
}

int fedauth_refresh_failure(const fedauth_srv_t *sc)
{
    return sc->refresh_failure != FEDAUTH_UNSET ? sc->refresh_failure
                                                 : FEDAUTH_REFRESH_END;
}

int fedauth_keep_tokens(const fedauth_srv_t *sc)
{
    return pass_token_anywhere || fedauth_refresh_before(sc) > 0;
}

int fedauth_introspection_cache(const fedauth_srv_t *sc)
{
    return sc->introspection_cache != FEDAUTH_UNSET
           ? sc->introspection_cache : DEFAULT_INTROSPECTION_CACHE;
}

int fedauth_basic_cache(const fedauth_srv_t *sc)
{
    return sc->basic_cache != FEDAUTH_UNSET ? sc->basic_cache
                                             : DEFAULT_BASIC_CACHE;
}

void fedauth_basic_limits(const fedauth_srv_t *sc, int *account,
                          int *client, int *window)
{
    int set = sc->basic_limit_window != FEDAUTH_UNSET;

    *account = set ? sc->basic_limit_account : DEFAULT_BASIC_LIMIT_ACCOUNT;
    *client = set ? sc->basic_limit_client : DEFAULT_BASIC_LIMIT_CLIENT;
    *window = set ? sc->basic_limit_window : DEFAULT_BASIC_LIMIT_WINDOW;
}

int fedauth_http_timeout(const fedauth_srv_t *sc)
{
    return sc->http_timeout != FEDAUTH_UNSET ? sc->http_timeout
                                              : DEFAULT_HTTP_TIMEOUT;
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

/* ---- pure parsers ---------------------------------------------------- */

static const char *parse_int(apr_pool_t *p, const char *arg, int min,
                             int max, int *out)
{
    char *end;
    long v;

    if (!*arg) {
        return "expects a number";
    }
    v = strtol(arg, &end, 10);
    if (*end || v < min || v > max) {
        return apr_psprintf(p, "expects a whole number from %d to %d", min,
                            max);
    }
    *out = (int)v;
    return NULL;
}

static int valid_provider_id(const char *id)
{
    const char *c;

    if (!*id || strlen(id) > 32) {
        return 0;
    }
    for (c = id; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')
              || *c == '_' || *c == '-')) {
            return 0;
        }
    }
    return 1;
}

static int printable(const char *s, apr_size_t max)
{
    apr_size_t n = 0;

    for (; *s; s++, n++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f || n >= max) {
            return 0;
        }
    }
    return n > 0;
}

static int valid_claim_name(const char *s)
{
    return printable(s, 128) && !strpbrk(s, " \t\"'");
}

/* An absolute URL the module may call or send browsers to: https, or
 * http to a loopback host; no fragment. */
static const char *parse_url(apr_pool_t *p, const char *arg)
{
    apr_uri_t uri;

    if (apr_uri_parse(p, arg, &uri) != APR_SUCCESS
        || !uri.scheme || !uri.hostname || uri.fragment) {
        return "expects an absolute URL such as https://idp.example.com";
    }
    if (!fa_url_is_secure_enough(arg)) {
        return "must be an https URL (http only to 127.0.0.1, ::1 or "
               "localhost), without a user name or password";
    }
    return NULL;
}

static const char *read_secret_file(apr_pool_t *p, const char *path,
                                    const char **out)
{
    apr_file_t *f;
    char buf[4097];
    apr_size_t n = sizeof(buf) - 1;
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot read %s", path);
    }
    rv = apr_file_read(f, buf, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(p, "cannot read %s", path);
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    *out = apr_pstrmemdup(p, buf, n);
    return NULL;
}

static const char *parse_flag(const char *arg, int *out)
{
    if (!strcasecmp(arg, "On")) {
        *out = 1;
    }
    else if (!strcasecmp(arg, "Off")) {
        *out = 0;
    }
    else {
        return "expects On or Off";
    }
    return NULL;
}

/* A URL for an <img src>: a local path or https, nothing that could leave
 * the attribute. */
static const char *parse_icon(const char *arg)
{
    const char *c;

    if (strlen(arg) > 512 || (arg[0] != '/' && strncmp(arg, "https://", 8))
        || !strncmp(arg, "//", 2)) {
        return "expects a path such as /icons/corp.svg or an https URL";
    }
    for (c = arg; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr("\"'<>\\`", *c)) {
            return "expects a URL without spaces, quotes or angle brackets";
        }
    }
    return NULL;
}

static const char *parse_color(const char *arg)
{
    apr_size_t len = strlen(arg), i;

    if (arg[0] != '#' || (len != 4 && len != 7)) {
        return "expects a colour as #rgb or #rrggbb";
    }
    for (i = 1; i < len; i++) {
        if (!apr_isxdigit(arg[i])) {
            return "expects a colour as #rgb or #rrggbb";
        }
    }
    return NULL;
}

static const char *parse_prompt(apr_pool_t *p, const char *arg)
{
    static const char *const allowed[] = { "login", "consent",
                                           "select_account", "none", NULL };
    char *copy = apr_pstrdup(p, arg), *tok, *last;
    int i, seen = 0, n = 0;

    for (tok = apr_strtok(copy, " ", &last); tok;
         tok = apr_strtok(NULL, " ", &last), n++) {
        for (i = 0; allowed[i] && strcmp(allowed[i], tok); i++) {
        }
        if (!allowed[i] || (seen & (1 << i))) {
            return "expects one or more of login, consent, select_account, "
                   "none";
        }
        seen |= 1 << i;
    }
    if (n == 0 || ((seen & 8) && n > 1)) {
        return "expects one or more of login, consent, select_account, "
               "none (none only alone)";
    }
    return NULL;
}

static int valid_attr_name(const char *s)
{
    const char *c;

    if (!*s || strlen(s) > 64) {
        return 0;
    }
    /* FEDAUTH_USER must be the user, never a claim */
    if (fa_attr_name_reserved(s)) {
        return 0;
    }
    for (c = s; *c; c++) {
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
              || *c == '_')) {
            return 0;
        }
    }
    return 1;
}

static int valid_role(const char *s)
{
    return printable(s, 128) && !strpbrk(s, ", \t");
}

/* ClaimMap <claim> <ATTRIBUTE> and GroupMap "<group>" <role>. */
static const char *two_word_directive(apr_pool_t *p,
                                      fedauth_provider_t *prov,
                                      const char *name, const char *args)
{
    char *first = ap_getword_conf(p, &args);
    char *second = ap_getword_conf(p, &args);
    fa_claim_map_t *cm;
    fa_group_map_t *gm;

    if (!*first || !*second || *args) {
        return "takes two arguments";
    }
    if (!strcasecmp(name, "ClaimMap")) {
        ap_str_toupper(second);
        if (!valid_claim_name(first) || !valid_attr_name(second)) {
            return "expects a claim name and an attribute name of "
                   "A-Z 0-9 _ (at most 64), not one of the module's own "
                   "(USER, SUB, IDP, ROLES, ERROR, ERROR_DESCRIPTION, "
                   "ACCESS_TOKEN, ACCESS_TOKEN_EXPIRES)";
        }
        if (!prov->claims.claim_maps) {
            prov->claims.claim_maps = apr_array_make(p, 4,
                                                     sizeof(fa_claim_map_t));
        }
        cm = apr_array_push(prov->claims.claim_maps);
        cm->claim = first;
        cm->attr = second;
        return NULL;
    }
    if (!printable(first, 256) || !valid_role(second)) {
        return "expects a group value and a role name (no commas or spaces)";
    }
    if (!prov->claims.group_maps) {
        prov->claims.group_maps = apr_array_make(p, 8,
                                                 sizeof(fa_group_map_t));
    }
    gm = apr_array_push(prov->claims.group_maps);
    gm->group = first;
    gm->role = second;
    return NULL;
}

/* ValueMap <claim> <ATTRIBUTE> <value> <result> [priority],
 * ValueMapDefault <ATTRIBUTE> <result>, ValueMapSetOnce <ATTRIBUTE>... */
static const char *value_map_directive(apr_pool_t *p,
                                       fedauth_provider_t *prov,
                                       const char *name, const char *args)
{
    char *w[6];
    fa_value_map_t *vm;
    int n, dflt = !strcasecmp(name, "ValueMapDefault");
    const char *err;

    if (!strcasecmp(name, "ValueMapSetOnce")) {
        if (!prov->claims.set_once) {
            prov->claims.set_once = apr_array_make(p, 2, sizeof(char *));
        }
        for (n = 0; *(w[0] = ap_getword_conf(p, &args)); n++) {
            ap_str_toupper(w[0]);
            if (!valid_attr_name(w[0])) {
                return "expects attribute names (A-Z 0-9 _)";
            }
            APR_ARRAY_PUSH(prov->claims.set_once, char *) = w[0];
        }
        return n ? NULL : "expects one or more attribute names";
    }
    for (n = 0; n < 6 && *(w[n] = ap_getword_conf(p, &args)); n++) {
    }
    if (dflt ? n != 2 : n < 4 || n > 5) {
        return dflt ? "takes an attribute name and a result"
                    : "takes a claim, an attribute name, a value, a result "
                      "and an optional priority";
    }
    vm = apr_pcalloc(p, sizeof(*vm));
    vm->priority = FA_VALUE_MAP_PRIORITY;
    if (dflt) {
        vm->attr = w[0];
        vm->result = w[1];
    }
    else {
        vm->claim = w[0];
        vm->attr = w[1];
        vm->value = w[2];
        vm->result = w[3];
        if (n == 5 && (err = parse_int(p, w[4], 0, 1000000, &vm->priority))) {
            return err;
        }
        if (!valid_claim_name(vm->claim) || !printable(vm->value, 256)) {
            return "expects a claim name and a value of at most 256 "
                   "printable bytes";
        }
    }
    ap_str_toupper((char *)vm->attr);
    if (!valid_attr_name(vm->attr) || !printable(vm->result, 1024)) {
        return "expects an attribute name (A-Z 0-9 _, not one of the "
               "module's own) and a result of at most 1024 printable bytes";
    }
    if (!prov->claims.value_maps) {
        prov->claims.value_maps = apr_array_make(p, 4,
                                                 sizeof(fa_value_map_t));
    }
    *(fa_value_map_t *)apr_array_push(prov->claims.value_maps) = *vm;
    return NULL;
}

/* UserInfoRefresh <seconds> [keep|end]: how often an active session reads
 * userinfo again, and what a failing IdP does to it then. */
#define USERINFO_REFRESH_MIN 30
#define USERINFO_REFRESH_MAX 86400
static const char *userinfo_refresh_directive(apr_pool_t *p,
                                              fedauth_provider_t *prov,
                                              const char *args)
{
    char *secs = ap_getword_conf(p, &args);
    char *failure = ap_getword_conf(p, &args);
    const char *err;

    if (*args || (err = parse_int(p, secs, USERINFO_REFRESH_MIN,
                                  USERINFO_REFRESH_MAX,
                                  &prov->userinfo_refresh)) != NULL) {
        return apr_psprintf(p, "expects seconds from %d to %d, then "
                            "optionally keep or end", USERINFO_REFRESH_MIN,
                            USERINFO_REFRESH_MAX);
    }
    if (!*failure || !strcmp(failure, "keep")) {
        prov->userinfo_failure = FEDAUTH_USERINFO_KEEP;
    }
    else if (!strcmp(failure, "end")) {
        prov->userinfo_failure = FEDAUTH_USERINFO_END;
    }
    else {
        return "expects keep or end after the seconds";
    }
    return NULL;
}

/* ---- <FedAuthProvider id> -------------------------------------------- */

/* What a group of the one-word directives below answers for a name that is
 * not one of its own; also the answer when no group knows the name. */
static const char not_a_directive[] =
    "is not a directive of <FedAuthProvider>";

/* TokenEndpointAuth: a method by its OAuth name. */
static const char *parse_token_auth(const char *w, fa_token_auth_t *out)
{
    static const fa_token_auth_t methods[] = {
        FA_TOKEN_AUTH_BASIC, FA_TOKEN_AUTH_POST, FA_TOKEN_AUTH_SECRET_JWT,
        FA_TOKEN_AUTH_PRIVATE_KEY_JWT, FA_TOKEN_AUTH_NONE
    };
    apr_size_t i;

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (!strcmp(w, fa_oidc_token_auth_name(methods[i]))) {
            *out = methods[i];
            return NULL;
        }
    }
    return "expects client_secret_basic, client_secret_post, "
           "client_secret_jwt, private_key_jwt or none";
}

/* The directives of the provider's protocol: where it is, who we are to
 * it, and what we ask of it. */
static const char *protocol_directive(apr_pool_t *p, fedauth_provider_t *prov,
                                      const char *name, const char *w)
{
    fa_idp_conf_t *c = &prov->idp;
    const char *err;

    if (!strcasecmp(name, "Issuer")) {
        c->issuer = w;
        return parse_url(p, w);
    }
    if (!strcasecmp(name, "MetadataURL")) {
        c->metadata_url = w;
        return parse_url(p, w);
    }
    if (!strcasecmp(name, "ClientID")) {
        c->client.client_id = w;
        return printable(w, 255) ? NULL : "expects the client id";
    }
    if (!strcasecmp(name, "ClientSecret")) {
        if (!strncmp(w, "file:", 5)) {
            if ((err = read_secret_file(p, w + 5, &w)) != NULL) {
                return err;
            }
        }
        c->client.client_secret = w;
        return printable(w, 1024) ? NULL : "expects the client secret";
    }
    if (!strcasecmp(name, "TokenEndpointAuth")) {
        return parse_token_auth(w, &c->client.token_auth);
    }
    if (!strcasecmp(name, "Scopes")) {
        c->client.scopes = w;
        return printable(w, 1024) ? NULL : "expects space-separated scopes";
    }
    if (!strcasecmp(name, "UserInfo")) {
        return parse_flag(w, &prov->userinfo);
    }
    if (!strcasecmp(name, "Prompt")) {
        prov->prompt = w;
        return parse_prompt(p, w);
    }
    if (!strcasecmp(name, "AcrValues")) {
        prov->acr_values = w;
        return printable(w, 512) ? NULL : "expects space-separated values";
    }
    if (!strcasecmp(name, "ResponseMode")) {
        if (!strcmp(w, "query")) {
            prov->response_mode = FEDAUTH_RESPONSE_QUERY;
        }
        else if (!strcmp(w, "form_post")) {
            prov->response_mode = FEDAUTH_RESPONSE_FORM_POST;
        }
        else {
            return "expects query or form_post";
        }
        return NULL;
    }
    if (!strcasecmp(name, "ValidIssuer")) {
        if (!c->valid_issuers) {
            c->valid_issuers = apr_array_make(p, 2, sizeof(const char *));
        }
        APR_ARRAY_PUSH(c->valid_issuers, const char *) = w;
        /* Only compared, never fetched: a URL is usual, but some IdPs
         * (Google) also issue bare host names. */
        return printable(w, 512) && !strpbrk(w, " \t") ? NULL
               : "expects an issuer (a URL or a name, no spaces)";
    }
    if (!strcasecmp(name, "IntrospectionURL")) {
        prov->introspection_url = w;
        return parse_url(p, w);
    }
    if (!strcasecmp(name, "PushedAuthorization")) {
        if (!strcasecmp(w, "Auto")) {
            prov->par = FEDAUTH_PAR_AUTO;
            return NULL;
        }
        return parse_flag(w, &prov->par) ? "expects On, Off or Auto" : NULL;
    }
    return not_a_directive;
}

/* The one-word directives of claims and roles. */
static const char *claims_directive(fedauth_provider_t *prov,
                                    const char *name, const char *w)
{
    if (!strcasecmp(name, "IdentifyingClaim")) {
        prov->claims.identifying_claim = w;
        return valid_claim_name(w) ? NULL : "expects a claim name";
    }
    if (!strcasecmp(name, "GroupsClaim")) {
        prov->claims.groups_claim = w;
        return valid_claim_name(w) ? NULL : "expects a claim name";
    }
    if (!strcasecmp(name, "FallbackRole")) {
        prov->claims.fallback_role = w;
        return valid_role(w) ? NULL : "expects a role name";
    }
    return not_a_directive;
}

/* The directives of the provider's button in the chooser. */
static const char *chooser_directive(apr_pool_t *p, fedauth_provider_t *prov,
                                     const char *name, const char *w)
{
    if (!strcasecmp(name, "DisplayName")) {
        prov->idp.display_name = w;
        return printable(w, 200) ? NULL : "expects a short text";
    }
    if (!strcasecmp(name, "Enabled")) {
        return parse_flag(w, &prov->enabled);
    }
    if (!strcasecmp(name, "SortOrder")) {
        return parse_int(p, w, 0, 1000, &prov->sort_order);
    }
    if (!strcasecmp(name, "Icon")) {
        prov->icon = w;
        return parse_icon(w);
    }
    if (!strcasecmp(name, "AccentColor")) {
        prov->accent = w;
        return parse_color(w);
    }
    return not_a_directive;
}

/* GroupsSource token|graph [url]: where the groups come from when the
 * token shows Entra ID's group overage (fa_graph.h). */
static const char *groups_source_directive(apr_pool_t *p,
                                           fedauth_provider_t *prov,
                                           const char *args)
{
    const char *what = ap_getword_conf(p, &args);
    const char *url = ap_getword_conf(p, &args);

    if (*args) {
        return "takes token, or graph and an optional Graph URL";
    }
    if (!strcmp(what, "token") && !*url) {
        prov->graph_url = NULL;
        return NULL;
    }
    if (strcmp(what, "graph")) {
        return "expects token or graph [url]";
    }
    if (!*url) {
        url = FA_GRAPH_DEFAULT_URL;
    }
    else if (parse_url(p, url) || strchr(url, '?')) {
        return "expects an https URL of Graph without a query (http only "
               "to 127.0.0.1, ::1 or localhost), without a user name or "
               "password, such as " FA_GRAPH_DEFAULT_URL;
    }
    prov->graph_url = url;
    return NULL;
}

/* ClientKeyFile <pem> [alg] (read now: refused here when unreadable,
 * readable by others, or unfit), ClientCertFile <pem> (read at the end of
 * the block, against the first key) and ClientAssertionAudience. */
static const char *key_directive(apr_pool_t *p, fedauth_provider_t *prov,
                                 const char *name, const char *args,
                                 const char *line)
{
    char *path = ap_getword_conf(p, &args), *alg;
    fa_client_key_t *key;
    fa_err_t err;

    if (!strcasecmp(name, "ClientAssertionAudience")) {
        if (!strcmp(path, "issuer") && !*args) {
            prov->idp.client.assertion_aud_issuer = 1;
        }
        else if (!strcmp(path, "token_endpoint") && !*args) {
            prov->idp.client.assertion_aud_issuer = 0;
        }
        else {
            return "expects token_endpoint or issuer";
        }
        return NULL;
    }
    if (!strcasecmp(name, "ClientCertFile")) {
        if (!*path || *args) {
            return "takes one argument: a PEM certificate file";
        }
        prov->client_cert = ap_server_root_relative(p, path);
        prov->client_cert_at = line;
        return prov->client_cert ? NULL : "expects a file name";
    }
    if (strcasecmp(name, "ClientKeyFile")) {
        return not_a_directive;
    }
    alg = ap_getword_conf(p, &args);
    if (!*path || *args) {
        return "takes a PEM private key file and an optional alg";
    }
    if (prov->client_keys && prov->client_keys->nelts >= 2) {
        return "may be given twice at most (the key that signs, then the "
               "next one, published for a rollover)";
    }
    if (!(path = ap_server_root_relative(p, path))) {
        return "expects a file name";
    }
    memset(&err, 0, sizeof(err));
    if (fa_client_key_load(p, path, *alg ? alg : NULL, &key, &err)
        != APR_SUCCESS) {
        return apr_pstrdup(p, err.desc);
    }
    if (!prov->client_keys) {
        prov->client_keys = apr_array_make(p, 2, sizeof(fa_client_key_t *));
    }
    APR_ARRAY_PUSH(prov->client_keys, fa_client_key_t *) = key;
    return NULL;
}

/* What TokenEndpointAuth, ClientSecret, ClientKeyFile and ClientCertFile
 * need of each other, once the whole block is read. */
static const char *provider_client_auth(apr_pool_t *p,
                                        fedauth_provider_t *prov)
{
    fa_oidc_client_t *cl = &prov->idp.client;
    fa_client_key_t *first = prov->client_keys
        ? APR_ARRAY_IDX(prov->client_keys, 0, fa_client_key_t *) : NULL;
    fa_err_t err;

    if (cl->token_auth == FA_TOKEN_AUTH_UNSET) {
        cl->token_auth = first ? FA_TOKEN_AUTH_PRIVATE_KEY_JWT
                         : cl->client_secret ? FA_TOKEN_AUTH_BASIC
                         : FA_TOKEN_AUTH_NONE;
    }
    cl->client_key = first;
    if (cl->token_auth == FA_TOKEN_AUTH_PRIVATE_KEY_JWT && !first) {
        return "TokenEndpointAuth private_key_jwt needs a ClientKeyFile";
    }
    if (cl->token_auth != FA_TOKEN_AUTH_NONE
        && cl->token_auth != FA_TOKEN_AUTH_PRIVATE_KEY_JWT
        && !cl->client_secret) {
        return "TokenEndpointAuth needs a ClientSecret";
    }
    if (cl->token_auth == FA_TOKEN_AUTH_SECRET_JWT
        && strlen(cl->client_secret) < FA_CLIENT_SECRET_JWT_MIN) {
        return apr_psprintf(p, "TokenEndpointAuth client_secret_jwt needs a "
                            "ClientSecret of at least %d bytes (HS256)",
                            FA_CLIENT_SECRET_JWT_MIN);
    }
    if (!prov->client_cert) {
        return NULL;
    }
    if (!first) {
        return apr_psprintf(p, "ClientCertFile needs a ClientKeyFile (at %s)",
                            prov->client_cert_at);
    }
    memset(&err, 0, sizeof(err));
    if (fa_client_key_set_cert(p, first, prov->client_cert, &err)
        != APR_SUCCESS) {
        return apr_psprintf(p, "ClientCertFile %s (at %s)", err.desc,
                            prov->client_cert_at);
    }
    return NULL;
}

static const char *provider_directive(apr_pool_t *p, fedauth_provider_t *prov,
                                      const char *name, const char *args,
                                      const char *line)
{
    const char *w, *err;
    char *word;

    if (!strcasecmp(name, "UsernameClaim")) {
        prov->claims.username_claims = apr_array_make(p, 4,
                                                      sizeof(char *));
        while (*(word = ap_getword_conf(p, &args))) {
            if (!valid_claim_name(word)) {
                return "expects claim names";
            }
            APR_ARRAY_PUSH(prov->claims.username_claims, char *) = word;
        }
        return prov->claims.username_claims->nelts ? NULL
               : "expects one or more claim names";
    }
    if (!strcasecmp(name, "ClaimMap") || !strcasecmp(name, "GroupMap")) {
        return two_word_directive(p, prov, name, args);
    }
    if (!strcasecmp(name, "ValueMap") || !strcasecmp(name, "ValueMapDefault")
        || !strcasecmp(name, "ValueMapSetOnce")) {
        return value_map_directive(p, prov, name, args);
    }
    if (!strcasecmp(name, "GroupsSource")) {
        return groups_source_directive(p, prov, args);
    }
    if ((err = key_directive(p, prov, name, args, line))
        != not_a_directive) {
        return err;
    }
    if (!strcasecmp(name, "UserInfoRefresh")) {
        return userinfo_refresh_directive(p, prov, args);
    }
    w = ap_getword_conf(p, &args);
    if (*args) {
        return "takes one argument (quote it when it has spaces)";
    }
    if ((err = protocol_directive(p, prov, name, w)) != not_a_directive
        || (err = claims_directive(prov, name, w)) != not_a_directive) {
        return err;
    }
    return chooser_directive(p, prov, name, w);
}

static const char *provider_section(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    const char *endp = ap_strrchr_c(arg, '>');
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    fedauth_srv_t *sc = ap_get_module_config(cmd->server->module_config,
                                             &fedauth_module);
    fedauth_provider_t *prov;
    ap_directive_t *d;
    const char *id, *line;
    int i;

    if (err) {
        return err;
    }
    if (!endp) {
        return "<FedAuthProvider> directive missing closing '>'";
    }
    arg = apr_pstrndup(cmd->temp_pool, arg, (apr_size_t)(endp - arg));
    id = ap_getword_conf(cmd->pool, &arg);
    if (!valid_provider_id(id) || *arg) {
        return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: the id must "
                            "be 1 to 32 of a-z 0-9 _ -", id);
    }
    for (i = 0; i < sc->providers->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(sc->providers, i,
                                  fedauth_provider_t *)->idp.id, id)) {
            return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: defined "
                                "twice in this server", id);
        }
    }
    prov = apr_pcalloc(cmd->pool, sizeof(*prov));
    prov->enabled = 1;
    prov->userinfo = FEDAUTH_UNSET;
    prov->par = FEDAUTH_UNSET;
    prov->index = sc->providers->nelts;
    prov->idp.id = id;
    prov->claims.idp_id = id;
    prov->defined_in = apr_psprintf(cmd->pool, "%s:%d",
                                    cmd->directive->filename,
                                    cmd->directive->line_num);
    for (d = cmd->directive->first_child; d; d = d->next) {
        line = apr_psprintf(cmd->pool, "%s:%d", d->filename, d->line_num);
        if ((err = provider_directive(cmd->pool, prov, d->directive,
                                      d->args, line)) != NULL) {
            return apr_psprintf(cmd->pool, "<FedAuthProvider %s> %s %s "
                                "(at %s)", id, d->directive, err, line);
        }
    }
    if (!prov->idp.issuer) {
        return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: Issuer is "
                            "required (block at %s)", id, prov->defined_in);
    }
    if (strstr(prov->idp.issuer, FA_IDP_TENANT)
        && !prov->idp.metadata_url) {
        return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: an Issuer "
                            "with %s needs a MetadataURL (block at %s)", id,
                            FA_IDP_TENANT, prov->defined_in);
    }
    if (!prov->idp.client.client_id) {
        return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: ClientID is "
                            "required (block at %s)", id, prov->defined_in);
    }
    if ((err = provider_client_auth(cmd->pool, prov)) != NULL) {
        return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: %s (block "
                            "at %s)", id, err, prov->defined_in);
    }
    if (prov->userinfo_refresh && prov->userinfo == 0) {
        return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: "
                            "UserInfoRefresh needs UserInfo On (or unset): "
                            "the claims read again must be the ones the "
                            "sign-in read (block at %s)", id,
                            prov->defined_in);
    }
    if (!prov->idp.display_name) {
        prov->idp.display_name = id;
    }
    if (prov->graph_url && !prov->claims.group_maps) {
        return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: GroupsSource "
                            "graph needs GroupMap: only the roles the "
                            "groups give are kept (block at %s)", id,
                            prov->defined_in);
    }
    APR_ARRAY_PUSH(sc->providers, fedauth_provider_t *) = prov;
    return NULL;
}

/* ---- server-wide directives ------------------------------------------ */

static fedauth_srv_t *srv_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &fedauth_module);
}

static const char *prefix(cmd_parms *cmd, const char *err)
{
    return err ? apr_pstrcat(cmd->pool, cmd->cmd->name, " ", err, NULL)
               : NULL;
}

static const char *set_store(cmd_parms *cmd, void *dummy, const char *arg)
{
    fedauth_srv_t *sc = srv_conf(cmd);
    char *end;
    apr_int64_t size;

    if (!strcmp(arg, "shm")) {
        sc->store_spec = "shm";
        sc->redis = NULL;
        return NULL;
    }
    if (!strncmp(arg, "shm:", 4)) {
        size = apr_strtoi64(arg + 4, &end, 10);
        if (*end == 'K' || *end == 'k') {
            size *= 1024;
            end++;
        }
        else if (*end == 'M' || *end == 'm') {
            size *= 1024 * 1024;
            end++;
        }
        else if (*end == 'G' || *end == 'g') {
            size *= 1024 * 1024 * 1024;
            end++;
        }
        if (*end || end == arg + 4 || size < 256 * 1024
            || size > APR_INT64_C(4) << 30) {
            return prefix(cmd, "expects shm or shm:<size> with a size from "
                          "256K to 4G");
        }
        sc->store_spec = "shm";
        sc->redis = NULL;
        sc->shm_size = (apr_size_t)size;
        return NULL;
    }
    if (!strncmp(arg, "redis://", 8) || !strncmp(arg, "rediss://", 9)
        || !strncmp(arg, "redis-sentinel://", 17)
        || !strncmp(arg, "rediss-sentinel://", 18)
        || !strncmp(arg, "redis-cluster://", 16)
        || !strncmp(arg, "rediss-cluster://", 17)) {
        fa_redis_conf_t *rc = apr_pcalloc(cmd->pool, sizeof(*rc));
        const char *err = fa_redis_parse(cmd->pool, arg, rc);
        if (err) {
            return prefix(cmd, err);
        }
        sc->store_spec = arg;
        sc->redis = rc;
        sc->store_origin = apr_psprintf(cmd->pool, "%s:%d",
                                        cmd->directive->filename,
                                        cmd->directive->line_num);
        return NULL;
    }
    return prefix(cmd, "expects shm, shm:<size>, redis://..., rediss://..., "
                  "redis-sentinel://..., rediss-sentinel://..., "
                  "redis-cluster://... or rediss-cluster://...");
}

/* One value of FedAuthSecret: a passphrase or file:/path, read into *out. */
static const char *secret_value(cmd_parms *cmd, const char *arg,
                                const char **out)
{
    const char *err;

    if (!*arg) {
        return "has an empty value";
    }
    if (!strncmp(arg, "file:", 5)) {
        if ((err = read_secret_file(cmd->pool, arg + 5, &arg)) != NULL) {
            return err;
        }
    }
    if (strlen(arg) < 16) {
        return "must be at least 16 characters long";
    }
    *out = arg;
    return NULL;
}

/* 1 when the line's arguments hold an empty word (""): httpd ends the
 * argument list there, so that FedAuthSecret "a" "" "c" would otherwise
 * quietly lose "c". */
static int has_empty_word(cmd_parms *cmd)
{
    const char *a = cmd->directive ? cmd->directive->args : NULL;
    int n;

    for (n = 0; a && *a && n <= FEDAUTH_SECRETS_MAX; n++) {
        if (!*ap_getword_conf(cmd->temp_pool, &a)) {
            return 1;
        }
    }
    return 0;
}

/* FedAuthSecret <first> [<older> ...]: the first makes every new cookie
 * and state, the others are still accepted (a rotation). One line per
 * server: a second would silently replace the first. */
static const char *set_secret(cmd_parms *cmd, void *dummy, int argc,
                              char *const argv[])
{
    fedauth_srv_t *sc = srv_conf(cmd);
    const char *err, *v, **older;
    int i, j;

    if (sc->secret) {
        return prefix(cmd, apr_psprintf(cmd->pool, "is already set at %s: "
                                        "list every secret on one line, "
                                        "the one in use first",
                                        sc->secret_origin));
    }
    if (has_empty_word(cmd)) {
        return prefix(cmd, "has an empty value");
    }
    if (argc < 1 || argc > FEDAUTH_SECRETS_MAX) {
        return prefix(cmd, apr_psprintf(cmd->pool, "takes 1 to %d values",
                                        FEDAUTH_SECRETS_MAX));
    }
    sc->older_secrets = apr_array_make(cmd->pool, argc, sizeof(char *));
    for (i = 0; i < argc; i++) {
        if ((err = secret_value(cmd, argv[i], &v)) != NULL) {
            return prefix(cmd, apr_psprintf(cmd->pool, "value %d %s", i + 1,
                                            err));
        }
        for (j = 0; j < i; j++) {
            if (!strcmp(v, j ? APR_ARRAY_IDX(sc->older_secrets, j - 1,
                                             const char *) : sc->secret)) {
                return prefix(cmd, apr_psprintf(cmd->pool, "value %d is "
                                                "the same secret as value "
                                                "%d", i + 1, j + 1));
            }
        }
        if (i) {
            older = apr_array_push(sc->older_secrets);
            *older = v;
        }
        else {
            sc->secret = v;
        }
    }
    sc->secret_origin = apr_psprintf(cmd->pool, "%s:%d",
                                     cmd->directive->filename,
                                     cmd->directive->line_num);
    return NULL;
}

static const char *set_cookie_name(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    const char *c;

    if (!*arg || strlen(arg) > 64) {
        return prefix(cmd, "expects a cookie name of 1 to 64 characters");
    }
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '-') {
            return prefix(cmd, "expects a cookie name of A-Z a-z 0-9 _ -");
        }
    }
    srv_conf(cmd)->cookie_name = arg;
    return NULL;
}

static const char *set_srv_int(cmd_parms *cmd, void *dummy, const char *arg)
{
    fedauth_srv_t *sc = srv_conf(cmd);
    const char *err;
    const char *name = cmd->cmd->name;
    int v;

    if (!strcasecmp(name, "FedAuthHTTPTimeout")) {
        err = parse_int(cmd->pool, arg, 1, 60, &v);
        sc->http_timeout = v;
    }
    else if (!strcasecmp(name, "FedAuthMaxSessionsPerUser")) {
        err = parse_int(cmd->pool, arg, 1, FA_STORE_INDEX_MAX, &v);
        sc->sessions_per_user = v;
    }
    else if (!strcasecmp(name, "FedAuthSessionIdleTimeout")) {
        err = parse_int(cmd->pool, arg, 10, 30 * 86400, &v);
        sc->idle_timeout = v;
    }
    else {
        err = parse_int(cmd->pool, arg, 10, 365 * 86400, &v);
        sc->max_age = v;
    }
    return prefix(cmd, err);
}

static const char *set_redirect_base(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    apr_uri_t uri;
    const char *err = parse_url(cmd->pool, arg);

    if (err) {
        return prefix(cmd, err);
    }
    apr_uri_parse(cmd->temp_pool, arg, &uri);
    if ((uri.path && strcmp(uri.path, "/") && *uri.path) || uri.query) {
        return prefix(cmd, "expects scheme://host[:port] without a path");
    }
    srv_conf(cmd)->redirect_base = apr_pstrndup(cmd->pool, arg,
        strlen(arg) - (arg[strlen(arg) - 1] == '/' ? 1 : 0));
    return NULL;
}

static const char *set_default_role(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    if (!valid_role(arg)) {
        return prefix(cmd, "expects a role name");
    }
    srv_conf(cmd)->default_role = arg;
    return NULL;
}

static const char *set_remember(cmd_parms *cmd, void *dummy,
                                const char *arg)
{
    return prefix(cmd, parse_flag(arg, &srv_conf(cmd)->remember_choice));
}

static const char *set_chooser_template(cmd_parms *cmd, void *dummy,
                                        const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t fi;
    apr_file_t *f;
    apr_size_t n;
    char *buf;

    if (!path || apr_stat(&fi, path, APR_FINFO_SIZE, cmd->temp_pool)
        != APR_SUCCESS
        || apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT,
                         cmd->temp_pool) != APR_SUCCESS) {
        return prefix(cmd, apr_psprintf(cmd->pool, "cannot read %s", arg));
    }
    if (fi.size > 256 * 1024) {
        apr_file_close(f);
        return prefix(cmd, "expects a template of at most 256 KiB");
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(cmd->pool, n + 1);
    if (apr_file_read_full(f, buf, n, &n) != APR_SUCCESS && n == 0) {
        apr_file_close(f);
        return prefix(cmd, apr_psprintf(cmd->pool, "cannot read %s", arg));
    }
    apr_file_close(f);
    buf[n] = '\0';
    if (!strstr(buf, "{{buttons}}")) {
        return prefix(cmd, apr_psprintf(cmd->pool, "%s has no {{buttons}} "
                                        "placeholder", arg));
    }
    srv_conf(cmd)->chooser_template = buf;
    return NULL;
}

static const char *set_attempt_log(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    if (!*arg || (arg[0] == '|' && !arg[1 + strspn(arg + 1, " \t")])) {
        return prefix(cmd, "expects a file or |program");
    }
    srv_conf(cmd)->attempt_log = arg;
    return NULL;
}

static const char *set_attempt_stream(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    return prefix(cmd, parse_int(cmd->pool, arg, 0, 10000000,
                                 &srv_conf(cmd)->attempt_stream));
}

static const char *set_redis_prefix(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    const char *c;

    if (strlen(arg) > 64) {
        return prefix(cmd, "expects at most 64 characters");
    }
    for (c = arg; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            return prefix(cmd, "expects a prefix without spaces or control "
                          "characters");
        }
    }
    srv_conf(cmd)->redis_prefix = arg;
    return NULL;
}

static const char *set_redis_timeout(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    char *end;
    double v = strtod(arg, &end);

    if (end == arg || *end || v < 0.05 || v > 30) {
        return prefix(cmd, "expects seconds from 0.05 to 30 (e.g. 1 or 0.5)");
    }
    srv_conf(cmd)->redis_timeout_ms = (int)(v * 1000 + 0.5);
    return NULL;
}

/* FedAuthRedisCAFile, FedAuthRedisClientCert, FedAuthRedisClientKey (file
 * paths, relative to ServerRoot; read in check_config, so that `apachectl
 * -t` finds a bad one) and FedAuthRedisServerName; cmd->info is the
 * FEDAUTH_REDIS_* index. */
static const char *set_redis_tls(cmd_parms *cmd, void *dummy, const char *arg)
{
    int which = (int)(apr_uintptr_t)cmd->info;
    fedauth_setting_t *set = &srv_conf(cmd)->redis_tls[which];
    const char *c;

    if (which == FEDAUTH_REDIS_NAME) {
        if (!*arg || strlen(arg) > 253) {
            return prefix(cmd, "expects a host name or IP address");
        }
        for (c = arg; *c; c++) {
            if (!apr_isalnum(*c) && !strchr(".-:_", *c)) {
                return prefix(cmd, "expects a host name or IP address");
            }
        }
        set->value = arg;
    }
    else if (!(set->value = ap_server_root_relative(cmd->pool, arg))) {
        return prefix(cmd, apr_psprintf(cmd->pool, "bad path %s", arg));
    }
    set->origin = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                               cmd->directive->line_num);
    return NULL;
}

static const char *set_local_cache(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    char *end;
    double v = strtod(arg, &end);

    if (end == arg || *end || v < 0 || v > 60) {
        return prefix(cmd, "expects seconds from 0 (off) to 60, e.g. 1 or "
                      "0.5");
    }
    srv_conf(cmd)->local_cache_ms = (int)(v * 1000 + 0.5);
    return NULL;
}

static const char *set_logout_at_idp(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    return prefix(cmd, parse_flag(arg, &srv_conf(cmd)->logout_at_idp));
}

static const char *set_registry(cmd_parms *cmd, void *dummy,
                                const char *arg)
{
    return prefix(cmd, parse_flag(arg, &srv_conf(cmd)->registry));
}

static const char *set_register(cmd_parms *cmd, void *dummy,
                                const char *arg)
{
    return prefix(cmd, parse_flag(arg, &srv_conf(cmd)->register_on));
}

static const char *set_registry_dir(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!*arg || !path || strlen(path) > 200) {
        return prefix(cmd, "expects a directory path (at most 200 bytes)");
    }
    srv_conf(cmd)->registry_dir = path;
    return NULL;
}

static const char *set_token_login(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    return prefix(cmd, parse_flag(arg, &srv_conf(cmd)->token_login));
}

static const char *set_metrics(cmd_parms *cmd, void *dummy, const char *arg)
{
    return prefix(cmd, parse_flag(arg, &srv_conf(cmd)->metrics));
}

/* FedAuthStatus On|Off: /fedauth/status (mod_fedauth_status.c). */
static const char *set_status(cmd_parms *cmd, void *dummy, const char *arg)
{
    return prefix(cmd, parse_flag(arg, &srv_conf(cmd)->status));
}

/* An origin: scheme://host[:port], nothing else. */
static const char *set_allowed_origin(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    fedauth_srv_t *sc = srv_conf(cmd);
    apr_uri_t uri;

    if (apr_uri_parse(cmd->temp_pool, arg, &uri) != APR_SUCCESS
        || !uri.scheme || !uri.hostname
        || (strcasecmp(uri.scheme, "https") && strcasecmp(uri.scheme, "http"))
        || (uri.path && *uri.path) || uri.query || uri.fragment
        || uri.user || arg[strlen(arg) - 1] == '/') {
        return prefix(cmd, "expects an origin such as https://spa.example.com "
                      "(scheme, host and port only)");
    }
    if (!sc->allowed_origins) {
        sc->allowed_origins = apr_array_make(cmd->pool, 2,
                                             sizeof(const char *));
    }
    APR_ARRAY_PUSH(sc->allowed_origins, const char *) = arg;
    return NULL;
}

/* ---- per-directory directives ---------------------------------------- */

static const char *set_providers(cmd_parms *cmd, void *dcv, const char *arg)
{
    fedauth_dir_t *dc = dcv;
    if (!valid_provider_id(arg)) {
        return prefix(cmd, "expects provider ids (a-z 0-9 _ -)");
    }
    if (!dc->providers) {
        dc->providers = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(dc->providers, const char *) = arg;
    return fedauth_provider_ref(cmd, "FedAuthProviders", arg);
}

static const char *set_unauth(cmd_parms *cmd, void *dcv, const char *arg)
{
    fedauth_dir_t *dc = dcv;

    if (!strcasecmp(arg, "redirect")) {
        dc->unauth = FEDAUTH_UNAUTH_REDIRECT;
    }
    else if (!strcmp(arg, "401")) {
        dc->unauth = FEDAUTH_UNAUTH_401;
    }
    else if (!strcasecmp(arg, "pass")) {
        dc->unauth = FEDAUTH_UNAUTH_PASS;
    }
    else if (!strcasecmp(arg, "auto")) {
        dc->unauth = FEDAUTH_UNAUTH_AUTO;
    }
    else {
        return prefix(cmd, "expects redirect, 401, pass or auto");
    }
    return NULL;
}

static const char *set_bearer(cmd_parms *cmd, void *dcv, const char *arg)
{
    return prefix(cmd, parse_flag(arg, &((fedauth_dir_t *)dcv)->bearer));
}

static const char *set_bearer_audience(cmd_parms *cmd, void *dcv,
                                       const char *arg)
{
    if (!printable(arg, 512) || strpbrk(arg, " \t")) {
        return prefix(cmd, "expects one audience value");
    }
    ((fedauth_dir_t *)dcv)->bearer_audience = arg;
    return NULL;
}

static const char *set_pass_token(cmd_parms *cmd, void *dcv,
                                  const char *arg)
{
    fedauth_dir_t *dc = dcv;
    const char *err = parse_flag(arg, &dc->pass_token);

    if (!err && dc->pass_token == 1) {
        pass_token_anywhere = 1;
    }
    return prefix(cmd, err);
}

/* ---- keeping a POST across sign-in ---------------------------------- */

static const char *set_preserve_post(cmd_parms *cmd, void *dcv,
                                     const char *arg)
{
    return prefix(cmd, parse_flag(arg,
                                  &((fedauth_dir_t *)dcv)->preserve_post));
}

static const char *set_preserve_post_max(cmd_parms *cmd, void *dcv,
                                         const char *arg)
{
    return prefix(cmd, parse_int(cmd->pool, arg,
                                 FEDAUTH_PRESERVE_POST_MIN_LIMIT,
                                 FEDAUTH_PRESERVE_POST_MAX_LIMIT,
                                 &((fedauth_dir_t *)dcv)->preserve_post_max));
}

static const char *set_refresh_before(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    int v = 0;
    const char *err = parse_int(cmd->pool, arg, 1, 3600, &v);

    if (err) {
        return prefix(cmd, err);
    }
    srv_conf(cmd)->refresh_before = v;
    return NULL;
}

static const char *set_refresh_failure(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    if (!strcasecmp(arg, "end")) {
        srv_conf(cmd)->refresh_failure = FEDAUTH_REFRESH_END;
    }
    else if (!strcasecmp(arg, "pass")) {
        srv_conf(cmd)->refresh_failure = FEDAUTH_REFRESH_PASS;
    }
    else {
        return prefix(cmd, "expects end or pass");
    }
    return NULL;
}

static const char *set_introspection_cache(cmd_parms *cmd, void *dummy,
                                           const char *arg)
{
    int v = 0;
    const char *err = parse_int(cmd->pool, arg, 0, 86400, &v);

    if (err) {
        return prefix(cmd, err);
    }
    srv_conf(cmd)->introspection_cache = v;
    return NULL;
}

/* App passwords: FedAuthBasic On|Off (per location), FedAuthBasicCache
 * <s> and FedAuthBasicLimit <account> <client> <s> (server). */
static const char *set_basic(cmd_parms *cmd, void *dcv, const char *arg)
{
    return prefix(cmd, parse_flag(arg, &((fedauth_dir_t *)dcv)->basic));
}

static const char *set_basic_cache(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    int v = 0;
    const char *err = parse_int(cmd->pool, arg, 0, 3600, &v);

    if (err) {
        return prefix(cmd, err);
    }
    srv_conf(cmd)->basic_cache = v;
    return NULL;
}

static const char *set_basic_limit(cmd_parms *cmd, void *dummy,
                                   const char *account, const char *client,
                                   const char *window)
{
    fedauth_srv_t *sc = srv_conf(cmd);
    const char *err = parse_int(cmd->pool, account, 1, 1000,
                                &sc->basic_limit_account);

    if (err || (err = parse_int(cmd->pool, client, 1, 1000,
                                &sc->basic_limit_client))) {
        return prefix(cmd, apr_pstrcat(cmd->pool, "failures: ", err, NULL));
    }
    if ((err = parse_int(cmd->pool, window, 1, 86400,
                         &sc->basic_limit_window))) {
        return prefix(cmd, apr_pstrcat(cmd->pool, "seconds: ", err, NULL));
    }
    return NULL;
}

/* FedAuthOutgoingProxy and FedAuthOutgoingNoProxy: server-wide only,
 * like the one HTTP client they set. */
static const char *set_outgoing_proxy(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *masked;

    if (err) {
        return err;
    }
    if ((err = fa_http_proxy_check(cmd->temp_pool, arg, &masked)) != NULL) {
        /* httpd names the file and line; the URL is not repeated, it
         * may hold a password */
        return prefix(cmd, err);
    }
    srv_conf(cmd)->outgoing_proxy = arg;
    return NULL;
}

static const char *set_outgoing_noproxy(cmd_parms *cmd, void *dummy,
                                        const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    fedauth_srv_t *sc = srv_conf(cmd);
    const char *c;

    if (err) {
        return err;
    }
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && !strchr(".-:[]*_", *c)) {
            return apr_psprintf(cmd->pool, "%s expects host names, "
                                ".domains or addresses, not %s",
                                cmd->cmd->name, arg);
        }
    }
    if (!*arg || strlen(arg) > 255) {
        return apr_psprintf(cmd->pool, "%s expects host names of 1 to 255 "
                            "characters", cmd->cmd->name);
    }
    sc->outgoing_noproxy = sc->outgoing_noproxy
        ? apr_pstrcat(cmd->pool, sc->outgoing_noproxy, ",", arg, NULL)
        : apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_pass_as(cmd_parms *cmd, void *dcv, const char *arg)
{
    fedauth_dir_t *dc = dcv;
    int bits = dc->pass_as == FEDAUTH_UNSET ? 0 : dc->pass_as;

    if (!strcasecmp(arg, "headers")) {
        bits |= FEDAUTH_PASS_HEADERS;
    }
    else if (!strcasecmp(arg, "env")) {
        bits |= FEDAUTH_PASS_ENV;
    }
    else if (!strcasecmp(arg, "both")) {
        bits |= FEDAUTH_PASS_HEADERS | FEDAUTH_PASS_ENV;
    }
    else if (!strcasecmp(arg, "none")) {
        bits = 0;
    }
    else {
        return prefix(cmd, "expects headers, env, both or none");
    }
    dc->pass_as = bits;
    return NULL;
}

/* ---- cookies: FedAuthCookieSameSite, FedAuthLoginCookieSameSite,
 * FedAuthCookieDomain, FedAuthCookiePath ------------------------------ */

static const char *cookie_where(cmd_parms *cmd)
{
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                        cmd->directive->line_num);
}

static const char *set_cookie_samesite(cmd_parms *cmd, void *dummy,
                                       const char *arg, const char *flag)
{
    fedauth_srv_t *sc = srv_conf(cmd);

    if (!strcasecmp(arg, "Lax")) {
        sc->cookie_samesite = FEDAUTH_SAMESITE_LAX;
    }
    else if (!strcasecmp(arg, "Strict")) {
        sc->cookie_samesite = FEDAUTH_SAMESITE_STRICT;
    }
    else if (!strcasecmp(arg, "None")) {
        sc->cookie_samesite = FEDAUTH_SAMESITE_NONE;
    }
    else {
        return prefix(cmd, "expects Lax, Strict or None [Partitioned]");
    }
    sc->cookie_partitioned = 0;
    if (flag && strcasecmp(flag, "Partitioned")) {
        return prefix(cmd, "expects Partitioned as its second word");
    }
    if (flag && sc->cookie_samesite != FEDAUTH_SAMESITE_NONE) {
        return prefix(cmd, "Partitioned needs None: browsers keep a "
                      "partitioned cookie only with SameSite=None");
    }
    sc->cookie_partitioned = flag != NULL;
    sc->cookie_samesite_at = cookie_where(cmd);
    return NULL;
}

static const char *set_login_samesite(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    fedauth_srv_t *sc = srv_conf(cmd);

    if (!strcasecmp(arg, "Auto")) {
        sc->login_samesite = FEDAUTH_LOGIN_SAMESITE_AUTO;
    }
    else if (!strcasecmp(arg, "Lax")) {
        sc->login_samesite = FEDAUTH_SAMESITE_LAX;
    }
    else if (!strcasecmp(arg, "None")) {
        sc->login_samesite = FEDAUTH_SAMESITE_NONE;
    }
    else {
        return prefix(cmd, "expects Auto, Lax or None (Strict would never "
                      "come back from the identity provider)");
    }
    sc->login_samesite_at = cookie_where(cmd);
    return NULL;
}

/* A cookie domain: two or more labels of a-z 0-9 -, the last not all
 * digits (an address), no empty label; a leading dot is dropped. */
static const char *parse_cookie_domain(const char *d)
{
    const char *c, *label = d;
    int labels = 1, digits_only = 1;

    if (*d == '.') {
        label = ++d;
    }
    if (!*d || strlen(d) > 253) {
        return "expects a domain such as .example.com";
    }
    for (c = d; ; c++) {
        if (*c == '.' || !*c) {
            if (c == label || c - label > 63 || *label == '-'
                || c[-1] == '-') {
                return "expects a domain of labels a-z 0-9 - (no empty "
                       "label, none starting or ending with -)";
            }
            if (!*c) {
                break;
            }
            labels++;
            label = c + 1;
            digits_only = 1;
        }
        else if (apr_isdigit(*c)) {
        }
        else if (apr_isalpha(*c) || *c == '-') {
            digits_only = 0;
        }
        else {
            return "expects a domain of a-z 0-9 - and dots (no ';', ',', "
                   "space, port or address)";
        }
    }
    if (digits_only) {
        return "expects a domain name, not an IP address (a cookie for an "
               "address is host-only: leave FedAuthCookieDomain out)";
    }
    if (labels < 2) {
        return "expects a domain under a top-level domain (.example.com), "
               "not a bare top-level domain";
    }
    return NULL;
}

static const char *set_cookie_domain(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    fedauth_srv_t *sc = srv_conf(cmd);
    const char *err = parse_cookie_domain(arg);

    if (err) {
        return prefix(cmd, err);
    }
    sc->cookie_domain = apr_pstrdup(cmd->pool, arg + (*arg == '.'));
    ap_str_tolower((char *)sc->cookie_domain);
    sc->cookie_domain_at = cookie_where(cmd);
    return NULL;
}

static const char *set_cookie_path(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    fedauth_srv_t *sc = srv_conf(cmd);
    apr_size_t len = strlen(arg);
    const char *c;

    if (*arg != '/' || len > 200) {
        return prefix(cmd, "expects a URL path of at most 200 characters "
                      "starting with /");
    }
    for (c = arg; *c; c++) {
        if (*c <= ' ' || *c >= 0x7f || *c == ';' || *c == ','
            || *c == '?' || *c == '#' || *c == '"' || *c == '\\') {
            return prefix(cmd, "expects a URL path without spaces, "
                          "controls, ; , ? # \" or \\");
        }
    }
    while (len > 1 && arg[len - 1] == '/') {
        len--;
    }
    sc->cookie_path = apr_pstrmemdup(cmd->pool, arg, len);
    sc->cookie_path_at = cookie_where(cmd);
    return NULL;
}

const command_rec fedauth_cmds[] = {
    AP_INIT_RAW_ARGS("<FedAuthProvider", provider_section, NULL, RSRC_CONF,
        "an identity provider: <FedAuthProvider id> ... </FedAuthProvider>"),
    AP_INIT_TAKE1("FedAuthSessionStore", set_store, NULL, RSRC_CONF,
        "where sessions live: shm, shm:<size>, redis[s]://..., "
        "redis[s]-sentinel://... or redis[s]-cluster://..."),
    AP_INIT_TAKE_ARGV("FedAuthSecret", set_secret, NULL, RSRC_CONF,
        "passphrases or file:/path for cookie and state keys: the first "
        "signs, all verify"),
    AP_INIT_TAKE1("FedAuthSessionCookie", set_cookie_name, NULL, RSRC_CONF,
        "session cookie name"),
    AP_INIT_TAKE1("FedAuthSessionIdleTimeout", set_srv_int, NULL, RSRC_CONF,
        "seconds of inactivity that end a session"),
    AP_INIT_TAKE1("FedAuthSessionMaxAge", set_srv_int, NULL, RSRC_CONF,
        "seconds after which a session ends in any case"),
    AP_INIT_TAKE1("FedAuthMaxSessionsPerUser", set_srv_int, NULL, RSRC_CONF,
        "sessions one user may have through one provider; a sign-in beyond "
        "ends the oldest"),
    AP_INIT_TAKE1("FedAuthHTTPTimeout", set_srv_int, NULL, RSRC_CONF,
        "seconds for each call to an identity provider"),
    AP_INIT_TAKE1("FedAuthRedirectBase", set_redirect_base, NULL, RSRC_CONF,
        "scheme://host[:port] of redirect URIs"),
    AP_INIT_TAKE1("FedAuthDefaultRole", set_default_role, NULL, RSRC_CONF,
        "role of users no GroupMap matched"),
    AP_INIT_TAKE1("FedAuthRememberChoice", set_remember, NULL, RSRC_CONF,
        "On: a cookie remembers the provider chosen last"),
    AP_INIT_TAKE1("FedAuthChooserTemplate", set_chooser_template, NULL,
        RSRC_CONF, "HTML template of the provider chooser"),
    AP_INIT_TAKE1("FedAuthAttemptLog", set_attempt_log, NULL, RSRC_CONF,
        "file (or |program) that gets one line of JSON per sign-in attempt"),
    AP_INIT_TAKE1("FedAuthAttemptStream", set_attempt_stream, NULL,
        RSRC_CONF, "with a Redis store: the attempt lines also go to the "
        "stream <prefix>attempts, capped at this many entries (0: none)"),
    AP_INIT_TAKE1("FedAuthRedisPrefix", set_redis_prefix, NULL, RSRC_CONF,
        "key prefix in a shared Redis"),
    AP_INIT_TAKE1("FedAuthRedisTimeout", set_redis_timeout, NULL, RSRC_CONF,
        "seconds for a Redis connect and each command"),
    AP_INIT_TAKE1("FedAuthRedisCAFile", set_redis_tls,
        (void *)FEDAUTH_REDIS_CA, RSRC_CONF, "PEM file of the CAs that "
        "rediss:// server certificates must chain to (default: the "
        "system's)"),
    AP_INIT_TAKE1("FedAuthRedisClientCert", set_redis_tls,
        (void *)FEDAUTH_REDIS_CERT, RSRC_CONF, "PEM client certificate "
        "presented to a rediss:// server"),
    AP_INIT_TAKE1("FedAuthRedisClientKey", set_redis_tls,
        (void *)FEDAUTH_REDIS_KEY, RSRC_CONF, "PEM key of "
        "FedAuthRedisClientCert (default: in the same file)"),
    AP_INIT_TAKE1("FedAuthRedisServerName", set_redis_tls,
        (void *)FEDAUTH_REDIS_NAME, RSRC_CONF, "name the rediss:// server "
        "certificates must carry (default: the host connected to)"),
    AP_INIT_TAKE1("FedAuthSessionLocalCache", set_local_cache, NULL,
        RSRC_CONF, "seconds a worker process may reuse a session it read "
        "from the store (0: ask the store on every request)"),
    AP_INIT_TAKE1("FedAuthLogoutAtIdP", set_logout_at_idp, NULL, RSRC_CONF,
        "On: logout also ends the session at the identity provider"),
    AP_INIT_TAKE1("FedAuthRegistry", set_registry, NULL, RSRC_CONF,
        "On: sign-ins go through the account registry (see fedauthctl)"),
    AP_INIT_TAKE1("FedAuthRegister", set_register, NULL, RSRC_CONF,
        "On (default): a first sign-in creates the account; Off: only "
        "accounts an administrator added or linked may sign in"),
    AP_INIT_TAKE1("FedAuthRegistryDir", set_registry_dir, NULL, RSRC_CONF,
        "directory of the registry with the shm session store (default "
        "/var/lib/apache2/fedauth)"),
    AP_INIT_TAKE1("FedAuthTokenLogin", set_token_login, NULL, RSRC_CONF,
        "On: POST /fedauth/authenticate signs in with an ID token"),
    AP_INIT_TAKE1("FedAuthMetrics", set_metrics, NULL, RSRC_CONF,
        "On: GET /fedauth/metrics answers the counters in Prometheus text, "
        "under the access control of its <Location>"),
    AP_INIT_TAKE1("FedAuthStatus", set_status, NULL, RSRC_CONF,
        "On: GET /fedauth/status answers the providers', store's and "
        "sessions' state (HTML or JSON), under the access control of its "
        "<Location>"),
    AP_INIT_ITERATE("FedAuthAllowedOrigin", set_allowed_origin, NULL,
        RSRC_CONF, "origins allowed to call /fedauth/authenticate and "
        "/fedauth/session with CORS"),
    AP_INIT_TAKE1("FedAuthRefreshBeforeExpiry", set_refresh_before, NULL,
        RSRC_CONF, "seconds before its expiry an access token is "
        "refreshed (with a refresh token)"),
    AP_INIT_TAKE1("FedAuthRefreshFailure", set_refresh_failure, NULL,
        RSRC_CONF, "end (the session ends) or pass (it goes on without "
        "tokens) when a refresh fails"),
    /* Not in .htaccess: whoever writes one would get the users' tokens. */
    AP_INIT_TAKE1("FedAuthPassAccessToken", set_pass_token, NULL,
        RSRC_CONF | ACCESS_CONF, "On: the access token reaches handlers "
        "and backends here (FEDAUTH_ACCESS_TOKEN, X-FedAuth-Access-Token)"),
    AP_INIT_TAKE1("FedAuthBearer", set_bearer, NULL, OR_AUTHCFG,
        "On: accept Authorization: Bearer <JWT> from the providers"),
    AP_INIT_TAKE1("FedAuthBearerAudience", set_bearer_audience, NULL,
        OR_AUTHCFG, "expected aud of bearer tokens (default: the client id)"),
    AP_INIT_ITERATE("FedAuthProviders", set_providers, NULL, OR_AUTHCFG,
        "ids of the providers this location offers"),
    AP_INIT_TAKE1("FedAuthUnauthenticated", set_unauth, NULL, OR_AUTHCFG,
        "redirect, 401 or pass"),
    AP_INIT_ITERATE("FedAuthPassClaimsAs", set_pass_as, NULL, OR_AUTHCFG,
        "headers, env, both or none"),
    AP_INIT_TAKE1("FedAuthIntrospectionCache", set_introspection_cache, NULL,
        RSRC_CONF, "seconds an active introspection answer is reused "
        "(0: not kept; default 300)"),
    /* The outgoing proxy: one for the whole server (one HTTP client). */
    AP_INIT_TAKE1("FedAuthOutgoingProxy", set_outgoing_proxy, NULL,
        RSRC_CONF, "http(s)://[user:password@]host:port of the proxy for "
        "every call to an identity provider and to Microsoft Graph"),
    AP_INIT_ITERATE("FedAuthOutgoingNoProxy", set_outgoing_noproxy, NULL,
        RSRC_CONF, "hosts, .domains and addresses called without the "
        "proxy"),
    /* Cookies an administrator fits to the site. */
    AP_INIT_TAKE12("FedAuthCookieSameSite", set_cookie_samesite, NULL,
        RSRC_CONF, "Lax (default), Strict or None [Partitioned]: the "
        "SameSite of the session cookie"),
    AP_INIT_TAKE1("FedAuthLoginCookieSameSite", set_login_samesite, NULL,
        RSRC_CONF, "Auto (default), Lax or None: the SameSite of the "
        "login state cookie"),
    AP_INIT_TAKE1("FedAuthCookieDomain", set_cookie_domain, NULL,
        RSRC_CONF, ".example.com: the session cookie goes to every host "
        "under it (default: this host only)"),
    AP_INIT_TAKE1("FedAuthCookiePath", set_cookie_path, NULL, RSRC_CONF,
        "URL path the session cookie is sent to (default /)"),
    /* Keeping a POST across sign-in: not in .htaccess, since it lets
     * anonymous clients write to the store. */
    AP_INIT_TAKE1("FedAuthPreservePost", set_preserve_post, NULL,
        RSRC_CONF | ACCESS_CONF, "On: a form POST without a session is "
        "kept in the store and posted again after the sign-in"),
    AP_INIT_TAKE1("FedAuthPreservePostMax", set_preserve_post_max, NULL,
        RSRC_CONF | ACCESS_CONF, "largest form body kept, bytes (1024 to "
        "1048576; default 65536)"),
    /* App passwords from the account registry (HTTP Basic). */
    AP_INIT_TAKE1("FedAuthBasic", set_basic, NULL, OR_AUTHCFG,
        "On: Authorization: Basic <account>:<app password> signs a request "
        "in (FedAuthRegistry On)"),
    AP_INIT_TAKE1("FedAuthBasicCache", set_basic_cache, NULL, RSRC_CONF,
        "seconds a verified app password skips the KDF in a process "
        "(0: never; default 60)"),
    AP_INIT_TAKE3("FedAuthBasicLimit", set_basic_limit, NULL, RSRC_CONF,
        "failures per account, failures per client address, within "
        "seconds, before app passwords are refused (429; default 10 30 "
        "900)"),
    { NULL }
};

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
        return fedauth_provider_find(srv_conf(cmd), id) ? NULL
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
        if (sc->cookie_samesite == FEDAUTH_SAMESITE_NONE) {
            return apr_psprintf(p, "FedAuthCookieSameSite None (at %s) "
                                "needs https: browsers drop a SameSite=None "
                                "cookie without Secure, and this host is "
                                "http (FedAuthRedirectBase or ServerName)",
                                sc->cookie_samesite_at);
        }
        if (sc->login_samesite == FEDAUTH_SAMESITE_NONE) {
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
    for (i = 0; sc->login_samesite == FEDAUTH_SAMESITE_LAX
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
    provider_ref_t *ref;
    const char *err;
    int i, found;

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
        if (!sc->redis && sc->attempt_stream > 0) {
            return "FedAuthAttemptStream needs a Redis FedAuthSessionStore "
                   "(the stream lives there); with shm, use "
                   "FedAuthAttemptLog";
        }
    }

    for (i = 0; provider_refs && i < provider_refs->nelts; i++) {
        ref = &APR_ARRAY_IDX(provider_refs, i, provider_ref_t);
        for (found = 0, vs = s; vs && !found; vs = vs->next) {
            sc = ap_get_module_config(vs->module_config, &fedauth_module);
            found = fedauth_provider_find(sc, ref->id) != NULL;
        }
        if (!found) {
            return apr_psprintf(p, "FedAuthProviders names %s, but no "
                                "<FedAuthProvider %s> is defined (at %s)",
                                ref->id, ref->id, ref->where);
        }
    }
    return NULL;
}
