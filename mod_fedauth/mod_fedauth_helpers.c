/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_helpers.c - request helpers: cookies, the error page,
 * reading a form body or a return_to, and passing a session on to the
 * request. They know the configuration records, but call no other glue
 * file: everything above uses them, they use nothing of the glue. */
#include <stdlib.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"
#include "apr_strings.h"
#include "apr_atomic.h"

#include "mod_fedauth_helpers.h"
#include "fedauth_defaults.h"
#include "fa_oidc.h"

APLOG_USE_MODULE(fedauth);

/* The longest value passed on as a request header. */
#define HEADER_MAX FA_SESSION_HEADER_MAX

/* ---- cookies --------------------------------------------------------- */

typedef struct cookie_find_t {
    const char *name;
    apr_size_t name_len;
    const char *value;
    apr_size_t len;
} cookie_find_t;

static int find_in_header(void *data, const char *key, const char *hdr)
{
    cookie_find_t *f = data;
    const char *c = hdr, *end;

    (void)key;
    for (;;) {
        while (*c == ' ' || *c == ';' || *c == '\t') {
            c++;
        }
        if (!*c) {
            return 1;
        }
        if (*c == *f->name && !strncmp(c, f->name, f->name_len)
            && c[f->name_len] == '=') {
            c += f->name_len + 1;
            if (!(end = strchr(c, ';'))) {
                end = c + strlen(c);
            }
            while (end > c && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }
            f->value = c;
            f->len = (apr_size_t)(end - c);
            return 0;
        }
        if (!(c = strchr(c, ';'))) {
            return 1;
        }
    }
}

/* strcasecmp(key, "Cookie") == 0 without the call (each request header
 * of every request with a session is asked) */
static inline int is_cookie_word(const char *k)
{
    return (k[0] | 0x20) == 'c' && (k[1] | 0x20) == 'o'
           && (k[2] | 0x20) == 'o' && (k[3] | 0x20) == 'k'
           && (k[4] | 0x20) == 'i' && (k[5] | 0x20) == 'e' && k[6] == '\0';
}

int fedauth_cookie_peek(request_rec *r, const char *name, const char **val,
                        apr_size_t *len)
{
    cookie_find_t f;
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    int i;

    f.name = name;
    f.name_len = strlen(name);
    f.value = NULL;
    f.len = 0;
    /* every Cookie header in order, as apr_table_do would visit them, but
     * without its call per entry: the first letter before the compare */
    arr = apr_table_elts(r->headers_in);
    e = (const apr_table_entry_t *)arr->elts;
    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && is_cookie_word(e[i].key) && e[i].val
            && !find_in_header(&f, e[i].key, e[i].val)) {
            break;
        }
    }
    *val = f.value;
    *len = f.len;
    return f.value != NULL;
}

const char *fedauth_cookie_get(request_rec *r, const char *name)
{
    const char *v;
    apr_size_t len;

    return fedauth_cookie_peek(r, name, &v, &len)
           ? apr_pstrmemdup(r->pool, v, len) : NULL;
}

/* strcasecmp(scheme, "https") == 0, without the call (every request
 * asks, for the session cookie's name) */
static inline int is_https_word(const char *s)
{
    return s && (s[0] | 0x20) == 'h' && (s[1] | 0x20) == 't'
           && (s[2] | 0x20) == 't' && (s[3] | 0x20) == 'p'
           && (s[4] | 0x20) == 's' && s[5] == '\0';
}

static int request_is_https(request_rec *r)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);

    if (sc->redirect_base) {
        return !strncasecmp(sc->redirect_base, "https:", 6);
    }
    return is_https_word(ap_http_scheme(r));
}

/* A warning, once per process, for each thing the cookies could not be
 * as configured on this request (FedAuthCookieSameSite None over plain
 * http, a FedAuthCookieDomain the host is not under). */
static apr_uint32_t warned_plain_none, warned_domain;

static void warn_once(request_rec *r, apr_uint32_t *flag, const char *what)
{
    if (apr_atomic_cas32(flag, 1, 0) == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01250)
                      "%s (logged once per process)", what);
    }
}

/* The SameSite (and Partitioned) of a cookie that asks for mode
 * (FEDAUTH_SAMESITE_*): None only over https, else Lax with a warning
 * when the configuration forced None. */
static const char *samesite_attrs(request_rec *r, const fedauth_srv_t *sc,
                                  int mode, int https, int forced)
{
    if (mode == FEDAUTH_SAMESITE_STRICT) {
        return "; SameSite=Strict";
    }
    if (mode != FEDAUTH_SAMESITE_NONE) {
        return "; SameSite=Lax";
    }
    if (!https) {
        if (forced) {
            warn_once(r, &warned_plain_none, "SameSite=None needs https: "
                      "this plain http request gets SameSite=Lax cookies");
        }
        return "; SameSite=Lax";
    }
    return sc->cookie_partitioned ? "; SameSite=None; Secure; Partitioned"
                                  : "; SameSite=None; Secure";
}

static void add_cookie(request_rec *r, const char *name, const char *value,
                       const char *attrs, int https, int max_age)
{
    int secure = https && !strstr(attrs, "; Secure");
    const char *c = apr_pstrcat(r->pool, name, "=", value, attrs,
        secure ? "; Secure" : "",
        max_age >= 0 ? apr_psprintf(r->pool, "; Max-Age=%d", max_age) : "",
        NULL);

    apr_table_addn(r->err_headers_out, "Set-Cookie", c);
}

/* The binder of a token-login code: SameSite=None over https when
 * cross_site (an app on another origin asks), else Lax; host-only. */
void fedauth_cookie_set_site(request_rec *r, const char *name,
                             const char *value, int max_age, int cross_site)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    int https = request_is_https(r);
    const char *ss = samesite_attrs(r, sc, cross_site ? FEDAUTH_SAMESITE_NONE
                                    : FEDAUTH_SAMESITE_LAX, https, 0);

    add_cookie(r, name, value, apr_pstrcat(r->pool, "; Path=/; HttpOnly",
                                           ss, NULL), https, max_age);
}

void fedauth_cookie_set(request_rec *r, const char *name, const char *value,
                        int max_age)
{
    fedauth_cookie_set_site(r, name, value, max_age, 0);
}

/* The login state cookie: host-only, Path=/ (the callback is
 * /signin-<id>), FedAuthLoginCookieSameSite; Auto is None (over https)
 * when the callback comes as a cross-site POST (form_post) or when the
 * session cookie is None itself (a sign-in inside another site's frame),
 * else Lax. */
void fedauth_login_cookie_set(request_rec *r, const fedauth_srv_t *sc,
                              const char *name, const char *value,
                              int max_age, int form_post)
{
    int https = request_is_https(r), mode = fedauth_login_samesite(sc);
    int forced = 1;

    if (mode == FEDAUTH_LOGIN_SAMESITE_AUTO) {
        mode = form_post
               || fedauth_cookie_samesite(sc) == FEDAUTH_SAMESITE_NONE
               ? FEDAUTH_SAMESITE_NONE : FEDAUTH_SAMESITE_LAX;
        forced = 0;
    }
    add_cookie(r, name, value, apr_pstrcat(r->pool, "; Path=/; HttpOnly",
               samesite_attrs(r, sc, mode, https, forced), NULL), https,
               max_age);
}

const char *fedauth_session_cookie_name(request_rec *r,
                                        const fedauth_srv_t *sc)
{
    return sc->session_name[request_is_https(r)];
}

/* 1 when the request's host is the cookie domain or under it. */
static int host_in_domain(request_rec *r, const char *domain)
{
    apr_size_t hl, dl = strlen(domain);

    if (!r->hostname || (hl = strlen(r->hostname)) < dl) {
        return 0;
    }
    return (hl == dl || r->hostname[hl - dl - 1] == '.')
           && !strcasecmp(r->hostname + hl - dl, domain);
}

void fedauth_session_cookie_set(request_rec *r, const fedauth_srv_t *sc,
                                const char *value, int max_age)
{
    int https = request_is_https(r), mode = fedauth_cookie_samesite(sc);
    const char *domain = sc->cookie_domain, *old;
    apr_size_t len;

    if (domain && !host_in_domain(r, domain)) {
        warn_once(r, &warned_domain, apr_psprintf(r->pool,
                  "the host %s is not under FedAuthCookieDomain %s: its "
                  "session cookie is host-only", fedauth_ascii(r->pool,
                  r->hostname), domain));
        domain = NULL;
    }
    add_cookie(r, sc->session_name[https], value, apr_pstrcat(r->pool,
               "; Path=", fedauth_cookie_path(sc),
               domain ? "; Domain=" : "", domain ? domain : "",
               "; HttpOnly", samesite_attrs(r, sc, mode, https, 1), NULL),
               https,
               max_age);
    /* After an upgrade to the __Host- name, a cookie under the old name
     * is never read over https again: it is expired, not accepted (any
     * host under the site's domain could have set it). */
    if (https && sc->session_name[1] != sc->session_name[0]
        && fedauth_cookie_peek(r, sc->session_name[0], &old, &len)) {
        add_cookie(r, sc->session_name[0], "", "; Path=/; HttpOnly; "
                   "SameSite=Lax", 1, 0);
    }
}

/* Every value that goes into a Set-Cookie comes from the configuration
 * or from the module itself; still, nothing that could end or split a
 * header or a cookie attribute gets through start-up. */
static int cookie_safe(const char *v)
{
    for (; v && *v; v++) {
        if (*v < 0x21 || *v > 0x7e || *v == ';' || *v == ',') {
            return 0;
        }
    }
    return 1;
}

const char *fedauth_cookies_prepare(apr_pool_t *p, fedauth_srv_t *sc,
                                    const char *name)
{
    if (!cookie_safe(name) || !cookie_safe(sc->cookie_domain)
        || !cookie_safe(sc->cookie_path)) {
        return "a cookie name, domain or path holds a character a cookie "
               "cannot carry";
    }
    sc->session_name[0] = name;
    sc->session_name[1] = sc->cookie_domain
                          || strcmp(fedauth_cookie_path(sc), "/")
                          ? name : apr_pstrcat(p, "__Host-", name, NULL);
    return NULL;
}

/* ---- answers --------------------------------------------------------- */

int fedauth_origin_is_site(request_rec *r, const fedauth_srv_t *sc)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *self;
    apr_size_t len;

    if (!origin) {
        return 0;
    }
    self = sc->redirect_base ? sc->redirect_base
                             : ap_construct_url(r->pool, "", r);
    for (len = strlen(self); len > 0 && self[len - 1] == '/'; len--) {
    }
    return strlen(origin) == len && !strncmp(origin, self, len);
}

int fedauth_from_this_site(request_rec *r, const fedauth_srv_t *sc)
{
    const char *fetch_site = apr_table_get(r->headers_in, "Sec-Fetch-Site");

    if (fetch_site) {
        return !strcmp(fetch_site, "same-origin");
    }
    return fedauth_origin_is_site(r, sc);
}

int fedauth_cors_allow(request_rec *r, const fedauth_srv_t *sc)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    int i;

    if (!origin) {
        return -1;
    }
    apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    for (i = 0; sc->allowed_origins && i < sc->allowed_origins->nelts; i++) {
        if (!strcmp(origin, APR_ARRAY_IDX(sc->allowed_origins, i,
                                          const char *))) {
            apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin",
                           origin);
            apr_table_setn(r->err_headers_out,
                           "Access-Control-Allow-Credentials", "true");
            return 1;
        }
    }
    return 0;
}

void fedauth_no_store(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
}

/* ASCII only: httpd sends error pages as iso-8859-1. */
const char *fedauth_ascii(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s ? s : ""), *c;

    for (c = out; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            *c = '?';
        }
    }
    return out;
}

static const char *error_title(int status)
{
    switch (status) {
    case HTTP_BAD_REQUEST: return "Sign-in could not be completed";
    case HTTP_UNAUTHORIZED: return "Sign-in failed";
    case HTTP_BAD_GATEWAY: return "The identity provider could not be reached";
    case HTTP_SERVICE_UNAVAILABLE: return "Sign-in is unavailable";
    default: return "Sign-in error";
    }
}

int fedauth_error(request_rec *r, int status, const char *code,
                  const char *description)
{
    int idx = ap_index_of_response(status);
    const char *desc = fedauth_ascii(r->pool, description);

    apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR", code);
    apr_table_setn(r->subprocess_env, "FEDAUTH_ERROR_DESCRIPTION", desc);
    apr_table_setn(r->notes, "fedauth-error", code);
    apr_table_setn(r->notes, "fedauth-error-description", desc);
    fedauth_no_store(r);
    if (!ap_response_code_string(r, idx)) {
        ap_custom_response(r, status, apr_pstrcat(r->pool,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, "
            "initial-scale=1\"><title>", error_title(status),
            "</title></head>\n<body style=\"font-family:sans-serif;"
            "max-width:40em;margin:3em auto;padding:0 1em\">\n<h1>",
            error_title(status), "</h1>\n<p>",
            fa_html_escape(r->pool, desc), "</p>\n<p>Error code: <code>",
            fa_html_escape(r->pool, code), "</code></p>\n"
            "<p><a href=\"/\">Back to the start page</a></p>\n"
            "</body></html>\n", NULL));
    }
    return status;
}

/* ---- reading the request --------------------------------------------- */

apr_status_t fedauth_read_form_body(request_rec *r, apr_size_t max,
                                    const char **out, apr_size_t *outlen)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    char *buf, extra;
    apr_size_t len = 0;
    long n = 0;

    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33)
        || ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        return APR_EINVAL;
    }
    buf = apr_palloc(r->pool, max + 1);
    if (ap_should_client_block(r)) {
        while (len < max
               && (n = ap_get_client_block(r, buf + len, max - len)) > 0) {
            len += (apr_size_t)n;
        }
        if (len < max && n < 0) {
            return APR_EGENERAL;  /* timeout, reset, bad chunking */
        }
        if (len == max && (n = ap_get_client_block(r, &extra, 1)) != 0) {
            return n > 0 ? APR_ENOSPC : APR_EGENERAL;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return APR_SUCCESS;
}

/* A return_to that does not lead to a path on this site was refused:
 * says so, and where the user goes instead, so that a broken link is not
 * a silent "/". The value is cut and has no control characters; httpd
 * escapes the rest of the line (another escape here would double it). */
void fedauth_return_to_refused(request_rec *r, const char *return_to,
                               const char *instead)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00215)
                  "%s: return_to \"%s%s\" refused: not a path on this "
                  "site; the user goes to %s instead",
                  fa_oidc_loggable(r->pool, r->uri, 128),
                  fa_oidc_loggable(r->pool, return_to, 128),
                  strlen(return_to) > 128 ? "..." : "", instead);
}

const char *fedauth_return_to_or_root(request_rec *r, const char *return_to)
{
    if (return_to && fa_return_to_ok(return_to)) {
        return return_to;
    }
    if (return_to) {
        fedauth_return_to_refused(r, return_to, "/");
    }
    return "/";
}

/* ---- passing the user on --------------------------------------------- */

/* X-FedAuth-, and the spellings with '_' that CGI and some backends take
 * for the same name (X_FedAuth_User becomes HTTP_X_FEDAUTH_USER). */
int fedauth_is_own_header(const char *key)
{
    return (key[0] == 'X' || key[0] == 'x')
           && (key[1] == '-' || key[1] == '_')
           && !strncasecmp(key + 2, "FedAuth", 7)
           && (key[9] == '-' || key[9] == '_');
}

/* Where the values go. apr_table_setn compares a new key with every key
 * of the table that shares its first four letters, and all of ours share
 * them: so a table that holds none of our names yet (the usual case: the
 * client's were removed, nothing set them before) gets the cheaper
 * apr_table_addn, which is the same there because our names are distinct
 * (attribute names are unique and never one of the module's own). */
typedef struct export_t {
    request_rec *r;
    int pass_as;
    void (*env_set)(apr_table_t *, const char *, const char *);
    void (*header_set)(apr_table_t *, const char *, const char *);
} export_t;

static int has_env_name(const apr_table_t *t)
{
    const apr_array_header_t *arr = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && !strncasecmp(e[i].key, "FEDAUTH_", 8)) {
            return 1;
        }
    }
    return 0;
}

static int has_header_name(const apr_table_t *t)
{
    const apr_array_header_t *arr = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && (e[i].key[0] | 0x20) == 'x'
            && fedauth_is_own_header(e[i].key)) {
            return 1;
        }
    }
    return 0;
}

/* value as it can go into a request header: itself when the session's
 * decoder found it fit (ok == value), else checked (and made fit) here. */
static inline const char *header_ready(request_rec *r, const char *value,
                                     const char *ok)
{
    return value == ok ? value : fa_header_value(r->pool, value, HEADER_MAX);
}

/* ok: value itself when the session's decoder already found it fit for
 * a header as it is (fa_session_t's ok_user), else anything else: then
 * it is checked (and made fit) here. */
static inline void pass_on(const export_t *x, const char *env,
                           const char *header, const char *value,
                           const char *ok)
{
    if (!value) {
        return;
    }
    if (x->pass_as & FEDAUTH_PASS_ENV) {
        x->env_set(x->r->subprocess_env, env, value);
    }
    if (x->pass_as & FEDAUTH_PASS_HEADERS) {
        x->header_set(x->r->headers_in, header, header_ready(x->r, value, ok));
    }
}

/* The names of the attribute at position i of a session, as first found
 * there: a server's sessions carry the same attributes in the same order,
 * so the i-th is usually the name seen there before, and one strcmp
 * replaces fa_attr_names' hash and probe. A position is filled once and
 * never changed or freed (a reader needs no lock: an acquire load pairs
 * with the release store); a name that differs goes to fa_attr_names. */
#define NAMES_AT 16
#define NAMES_AT_LEN 64

typedef struct names_at_t {
    const char *env;              /* NULL: a reserved name, not passed on */
    const char *header;
    char attr[1];
} names_at_t;

static names_at_t *names_at[NAMES_AT];

/* Fills position i with attr's names (env and header as fa_attr_names
 * gave them, ok 0 for a reserved name), when it is still empty. */
static void names_at_fill(int i, const char *attr, int ok, const char *env,
                          const char *header)
{
    apr_size_t al = strlen(attr), el, hl;
    names_at_t *n, *none = NULL;

    if (al > NAMES_AT_LEN
        || __atomic_load_n(&names_at[i], __ATOMIC_ACQUIRE)) {
        return;
    }
    el = ok ? strlen(env) + 1 : 0;
    hl = ok ? strlen(header) + 1 : 0;
    if (!(n = malloc(sizeof(*n) + al + el + hl))) {
        return;
    }
    memcpy(n->attr, attr, al + 1);
    n->env = n->header = NULL;
    if (ok) {
        n->env = memcpy(n->attr + al + 1, env, el);
        n->header = memcpy(n->attr + al + 1 + el, header, hl);
    }
    if (!__atomic_compare_exchange_n(&names_at[i], &none, n, 0,
                                     __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
        free(n);                  /* another thread filled it first */
    }
}

/* fa_attr_names of the attribute at position i. */
static inline int names_of(request_rec *r, int i, const char *attr,
                           const char **env, const char **header)
{
    const names_at_t *n = i < NAMES_AT
        ? __atomic_load_n(&names_at[i], __ATOMIC_ACQUIRE) : NULL;
    int ok;

    if (n && !strcmp(n->attr, attr)) {
        *env = n->env;
        *header = n->header;
        return n->env != NULL;
    }
    ok = fa_attr_names(r->pool, attr, env, header);
    if (!n && i < NAMES_AT) {
        names_at_fill(i, attr, ok, *env, *header);
    }
    return ok;
}

static void names_tables_fill(int n);

/* Each value of s (but the access token) passed on by itself; then, when
 * every position was filled, names_tables for s's attribute count. */
static void pass_values(const export_t *x, const fa_session_t *s)
{
    request_rec *r = x->r;
    const char *env, *header;
    int i;

    pass_on(x, "FEDAUTH_USER", "X-FedAuth-User", s->user, s->ok_user);
    pass_on(x, "FEDAUTH_SUB", "X-FedAuth-Sub", s->sub, s->ok_sub);
    pass_on(x, "FEDAUTH_IDP", "X-FedAuth-IdP", s->idp, s->ok_idp);
    pass_on(x, "FEDAUTH_ROLES", "X-FedAuth-Roles", s->roles, s->ok_roles);
    for (i = 0; s->attrs && i < s->attrs->nelts; i++) {
        const fa_attr_t *a = &APR_ARRAY_IDX(s->attrs, i, fa_attr_t);
        if (names_of(r, i, a->name, &env, &header)) {
            pass_on(x, env, header, a->value, a->ok_value);
        }
    }
    names_tables_fill(s->attrs ? s->attrs->nelts : 0);
}

/* The names of the values of a session with n attributes, each at the
 * position names_at holds for it, made once per process (per n): the
 * entries FEDAUTH_USER, _SUB, _IDP, _ROLES and the attributes' (env), and
 * their X-FedAuth- names (header), every value "". apr_table_addn costs
 * about 60 instructions a value, twice per value. names_append adds the
 * first and the last name with apr_table_addn and copies the entries
 * between them in one apr_array_cat: a table finds a key between the
 * first and the last entry of the same index bucket, and all our names
 * of one table share theirs (they start with the same letter). That
 * is APR's business, so it is tried once, when the names are made
 * (names_append_works), and a pair that fails it is never used. Filled
 * once and never changed or freed, like names_at; each pair in a pool of
 * its own (at most NAMES_AT + 1 per process). */
typedef struct names_tables_t {
    apr_table_t *env;
    apr_table_t *header;
    apr_array_header_t env_mid;     /* the entries between first and last */
    apr_array_header_t header_mid;
} names_tables_t;

static names_tables_t *names_tables[NAMES_AT + 1];

/* In names_tables[n] when APR did not find the appended names: n's
 * values go one by one from then on, and the tables are not tried again
 * (a pool made and destroyed on every request otherwise). */
static names_tables_t names_refused;

/* names' entries between its first and its last, as an array */
static void names_mid(apr_array_header_t *mid, const apr_table_t *names)
{
    const apr_array_header_t *all = apr_table_elts(names);

    *mid = *all;
    mid->elts = all->elts + all->elt_size;
    mid->nelts = all->nelts - 2;
    mid->nalloc = mid->nelts;
}

/* Appends the entries of names (mid: those between its first and its
 * last) to dst and returns the first of them, for the caller to give
 * them their values (the first and the last get val here). */
static apr_table_entry_t *names_append(apr_table_t *dst,
                                       const apr_table_t *names,
                                       const apr_array_header_t *mid,
                                       const char *first, const char *last)
{
    const apr_table_entry_t *ne = (const apr_table_entry_t *)(const void *)
                                  (mid->elts - mid->elt_size);
    apr_array_header_t *arr = (apr_array_header_t *)(void *)
                              apr_table_elts(dst);
    int at = arr->nelts;

    apr_table_addn(dst, ne[0].key, first);
    apr_array_cat(arr, mid);
    apr_table_addn(dst, ne[mid->nelts + 1].key, last);
    return (apr_table_entry_t *)(void *)arr->elts + at;
}

/* 1 when a table with an entry before them finds every name that
 * names_append added, each with its own value. */
static int names_append_works(apr_pool_t *p, const apr_table_t *names,
                              const apr_array_header_t *mid)
{
    apr_table_t *t = apr_table_make(p, 2);
    const apr_table_entry_t *ne =
        (const apr_table_entry_t *)(const void *)apr_table_elts(names)->elts;
    apr_table_entry_t *e;
    int i, n = apr_table_elts(names)->nelts;

    apr_table_addn(t, "Host", "");
    e = names_append(t, names, mid, ne[0].key, ne[n - 1].key);
    for (i = 1; i < n - 1; i++) {
        e[i].val = ne[i].key;
    }
    for (i = 0; i < n; i++) {
        if (apr_table_get(t, ne[i].key) != ne[i].key) {
            return 0;
        }
    }
    return apr_table_get(t, "Host") != NULL;
}

/* Makes the tables for n attributes once positions 0 .. n - 1 are all
 * filled with names that are passed on. */
static void names_tables_fill(int n)
{
    static const char *const fixed[4][2] = {
        { "FEDAUTH_USER", "X-FedAuth-User" },
        { "FEDAUTH_SUB", "X-FedAuth-Sub" },
        { "FEDAUTH_IDP", "X-FedAuth-IdP" },
        { "FEDAUTH_ROLES", "X-FedAuth-Roles" },
    };
    const names_at_t *at[NAMES_AT];
    names_tables_t *t, *none = NULL;
    apr_pool_t *p;
    int i;

    if (n > NAMES_AT || __atomic_load_n(&names_tables[n], __ATOMIC_ACQUIRE)) {
        return;
    }
    for (i = 0; i < n; i++) {
        at[i] = __atomic_load_n(&names_at[i], __ATOMIC_ACQUIRE);
        if (!at[i] || !at[i]->env) {
            return;
        }
    }
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    t = apr_palloc(p, sizeof(*t));
    t->env = apr_table_make(p, n + 4);
    t->header = apr_table_make(p, n + 4);
    for (i = 0; i < 4; i++) {
        apr_table_addn(t->env, fixed[i][0], "");
        apr_table_addn(t->header, fixed[i][1], "");
    }
    for (i = 0; i < n; i++) {
        apr_table_addn(t->env, at[i]->env, "");
        apr_table_addn(t->header, at[i]->header, "");
    }
    names_mid(&t->env_mid, t->env);
    names_mid(&t->header_mid, t->header);
    if (!names_append_works(p, t->env, &t->env_mid)
        || !names_append_works(p, t->header, &t->header_mid)) {
        apr_pool_destroy(p);
        t = &names_refused;
        p = NULL;
    }
    if (!__atomic_compare_exchange_n(&names_tables[n], &none, t, 0,
                                     __ATOMIC_RELEASE, __ATOMIC_RELAXED)
        && p) {
        apr_pool_destroy(p);      /* another thread made them first */
    }
}

/* The values' part of fedauth_export_session through names_tables: 1
 * when done, 0 when this session or request cannot go that way (a table
 * that already holds one of our names, a value missing, an attribute not
 * at the position names_at holds for its name): the caller then passes
 * each value on by itself. */
static int export_by_tables(const export_t *x, const fa_session_t *s)
{
    const names_tables_t *t;
    const names_at_t *at;
    const fa_attr_t *a = NULL;
    apr_table_entry_t *e;
    int i, n = s->attrs ? s->attrs->nelts : 0;

    if (n > NAMES_AT
        || ((x->pass_as & FEDAUTH_PASS_ENV) && x->env_set != apr_table_addn)
        || ((x->pass_as & FEDAUTH_PASS_HEADERS)
            && x->header_set != apr_table_addn)
        || !s->user || !s->sub || !s->idp || !s->roles
        || !(t = __atomic_load_n(&names_tables[n], __ATOMIC_ACQUIRE))
        || t == &names_refused) {
        return 0;
    }
    if (n) {
        a = (const fa_attr_t *)(const void *)s->attrs->elts;
    }
    for (i = 0; i < n; i++) {
        at = __atomic_load_n(&names_at[i], __ATOMIC_ACQUIRE);
        if (!a[i].value || strcmp(at->attr, a[i].name)) {
            return 0;
        }
    }
    if (x->pass_as & FEDAUTH_PASS_ENV) {
        e = names_append(x->r->subprocess_env, t->env, &t->env_mid,
                         s->user, n ? a[n - 1].value : s->roles);
        e[1].val = (char *)s->sub;
        e[2].val = (char *)s->idp;
        if (n) {
            e[3].val = (char *)s->roles;
        }
        for (i = 0; i < n - 1; i++) {
            e[4 + i].val = (char *)a[i].value;
        }
    }
    if (x->pass_as & FEDAUTH_PASS_HEADERS) {
        e = names_append(x->r->headers_in, t->header, &t->header_mid,
                         header_ready(x->r, s->user, s->ok_user),
                         n ? header_ready(x->r, a[n - 1].value,
                                        a[n - 1].ok_value)
                           : header_ready(x->r, s->roles, s->ok_roles));
        e[1].val = (char *)header_ready(x->r, s->sub, s->ok_sub);
        e[2].val = (char *)header_ready(x->r, s->idp, s->ok_idp);
        if (n) {
            e[3].val = (char *)header_ready(x->r, s->roles, s->ok_roles);
        }
        for (i = 0; i < n - 1; i++) {
            e[4 + i].val = (char *)header_ready(x->r, a[i].value,
                                              a[i].ok_value);
        }
    }
    return 1;
}

void fedauth_export_session(request_rec *r, const fedauth_dir_t *dc,
                            const fa_session_t *s)
{
    export_t x;

    x.r = r;
    x.pass_as = fedauth_pass_as(dc);
    x.env_set = (x.pass_as & FEDAUTH_PASS_ENV)
                && !has_env_name(r->subprocess_env)
                ? apr_table_addn : apr_table_setn;
    x.header_set = (x.pass_as & FEDAUTH_PASS_HEADERS)
                   && !has_header_name(r->headers_in)
                   ? apr_table_addn : apr_table_setn;
    r->user = (char *)s->user;
    if (!export_by_tables(&x, s)) {
        pass_values(&x, s);
    }
    /* The access token only where FedAuthPassAccessToken On, and not once
     * it has expired. */
    if (fedauth_pass_token(dc) && s->access_token
        && (!s->access_exp
            || s->access_exp > apr_time_sec(r->request_time))) {
        pass_on(&x, "FEDAUTH_ACCESS_TOKEN", "X-FedAuth-Access-Token",
                s->access_token, NULL);
        if (s->access_exp) {
            pass_on(&x, "FEDAUTH_ACCESS_TOKEN_EXPIRES",
                    "X-FedAuth-Access-Token-Expires",
                    apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                 s->access_exp), NULL);
        }
    }
}

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
