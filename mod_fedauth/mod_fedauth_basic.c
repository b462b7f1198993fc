/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_basic.c - app passwords at locations with FedAuthBasic On:
 * "Authorization: Basic base64(account:fap_...)" signs that one request
 * in as the account (fa_apppass.h), with no session and no cookie.
 *
 * Every request reads the account and the password record from the
 * registry (a file each with the directory backend, a GET each with
 * Redis): a disabled or deleted account, a deleted or expired password
 * stop at once, in every process. What is not paid per request is the
 * KDF: a verified (account, secret) pair is kept in a per-process cache
 * for FedAuthBasicCache seconds, under an HMAC of both with a key made
 * at random in each process, next to the hash it matched; a record whose
 * hash changed is verified again. Wrong secrets are never cached.
 *
 * Guessing: failures are counted per account and per client address in
 * the session store (shared by the workers, and by the hosts with Redis)
 * as slots 1..limit, each claimed with the store's atomic add and
 * expiring FedAuthBasicLimit seconds after it was claimed; once the last
 * slot is taken, every request for that account (or from that address)
 * without a cached pass gets 429 with Retry-After until it expires. Past
 * half the limit each failure is answered a second late. At most
 * KDF_AT_ONCE KDF runs (32 MiB each) go on at once in a process; more
 * get 503. The Authorization header never reaches a handler, a CGI
 * script or a proxied backend. */
#include <string.h>
#include <stdlib.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_base64.h"
#include "apr_atomic.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mod_fedauth_basic.h"
#include "fedauth_defaults.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_metrics.h"
#include "mod_fedauth_attempts.h"
#include "mod_fedauth_registry.h"
#include "fa_apppass.h"
#include "fa_cache.h"
#include "fa_oidc.h"

APLOG_USE_MODULE(fedauth);

#define IDP_NAME "app-password"
#define IDP_PREFIX IDP_NAME ":"
/* base64 of "account:secret": a 128-byte name and a secret fit. */
#define VALUE_MAX 512
#define CACHE_MAX_ENTRIES 10000
#define CACHE_MAX_BYTES (1024 * 1024)
#define KDF_AT_ONCE 4
/* A request that finds KDF_AT_ONCE runs going waits for one to end, in
 * steps of KDF_WAIT, at most KDF_WAIT_ROUNDS of them (3 s). */
#define KDF_WAIT apr_time_from_msec(50)
#define KDF_WAIT_ROUNDS 60
#define SLOW_DOWN apr_time_from_sec(1)

static fa_cache_t *cache;
static unsigned char cache_key[32];
static apr_uint32_t kdf_running;

apr_status_t fedauth_basic_child_init(apr_pool_t *p)
{
    apr_status_t rv = fa_random(cache_key, sizeof(cache_key));

    return rv == APR_SUCCESS ? fa_cache_create(p, CACHE_MAX_ENTRIES,
                                               CACHE_MAX_BYTES, &cache)
                             : rv;
}

int fedauth_basic_session(const fa_session_t *s)
{
    return s && s->idp && !strncmp(s->idp, IDP_PREFIX,
                                   sizeof(IDP_PREFIX) - 1);
}

/* One request with an app password. */
typedef struct basic_t {
    request_rec *r;
    fedauth_srv_t *sc;
    fedauth_dir_t *dc;
    const char *account;          /* NULL when the value did not decode */
    const char *secret;
    apr_size_t slen;
    int formed;                   /* the secret has the form and check */
    char id[FA_APPPASS_ID_LEN + 1];
    unsigned char ckey[32];       /* its key in the cache */
    unsigned char chash[FA_APPPASS_HASH_LEN]; /* what the cache holds */
} basic_t;

static void challenge(request_rec *r)
{
    apr_table_addn(r->err_headers_out, "WWW-Authenticate",
                   apr_psprintf(r->pool, "Basic realm=\"%s\", "
                                "charset=\"UTF-8\"", ap_escape_quotes(
                                    r->pool, r->server->server_hostname
                                    ? r->server->server_hostname
                                    : "app passwords")));
}

/* The end of a request that is refused: attempt log, metrics, page. */
static int refuse(basic_t *b, int status, const char *code,
                  fa_metrics_apppass_t outcome, const char *text)
{
    request_rec *r = b->r;

    fa_metrics_apppass(fedauth_metrics(), outcome);
    fedauth_attempt_user(r, IDP_NAME, NULL, b->account);
    fedauth_attempt_log(r, code);
    if (status == HTTP_UNAUTHORIZED) {
        challenge(r);
    }
    if (ap_discard_request_body(r) != OK) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    return fedauth_error(r, status, code, text);
}

/* Splits the Basic value into account and secret; 0 when it is not
 * base64 of "name:secret" with a valid account name. */
static int parse(basic_t *b, const char *value)
{
    apr_size_t len;
    char *plain, *colon;

    while (*value == ' ') {
        value++;
    }
    len = strlen(value);
    while (len > 0 && value[len - 1] == ' ') {
        len--;
    }
    if (len == 0 || len > VALUE_MAX
        || strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                  "wxyz0123456789+/=") != len) {
        return 0;
    }
    value = apr_pstrmemdup(b->r->pool, value, len);
    plain = apr_palloc(b->r->pool, apr_base64_decode_len(value) + 1);
    len = (apr_size_t)apr_base64_decode(plain, value);
    plain[len] = '\0';
    if (strlen(plain) != len || !(colon = strchr(plain, ':'))) {
        return 0;
    }
    *colon = '\0';
    if (!fa_account_name_ok(plain)) {
        return 0;
    }
    b->account = plain;
    b->secret = colon + 1;
    b->slen = strlen(b->secret);
    b->formed = fa_apppass_secret_parse(b->secret, b->slen, b->id);
    return 1;
}

/* ---- guessing ------------------------------------------------------------ */

static const char *slot_key(basic_t *b, const char *kind, int n)
{
    const char *who = *kind == 'a' ? b->account : b->r->useragent_ip;

    return apr_psprintf(b->r->pool, "bf:%s:%s:%d", kind,
                        fa_keys_tag(b->r->pool, &b->sc->keys, kind,
                                    who ? who : "-"), n);
}

/* Seconds until the last slot of kind frees, 0 when it is free. */
static apr_int64_t locked_for(basic_t *b, const char *kind, int limit)
{
    fa_store_t *st = b->sc->store;
    apr_int64_t until, now = fa_now_sec();
    apr_size_t len;
    char *val;

    if (st->get(st, slot_key(b, kind, limit), b->r->pool, &val, &len)
        != APR_SUCCESS) {
        return 0;                 /* free, or the store cannot say */
    }
    until = apr_atoi64(val);
    return until > now ? until - now : 1;
}

/* Claims the first free slot of kind: its number, limit when all are
 * taken, 0 when the store is unavailable. Bounded: limit adds. */
static int claim(basic_t *b, const char *kind, int limit, int window)
{
    fa_store_t *st = b->sc->store;
    apr_int64_t until = fa_now_sec() + window;
    const char *val = apr_psprintf(b->r->pool, "%" APR_INT64_T_FMT, until);
    apr_status_t rv;
    int n;

    for (n = 1; n <= limit; n++) {
        rv = st->add(st, slot_key(b, kind, n), val, strlen(val), until,
                     b->r->pool);
        if (rv == APR_SUCCESS) {
            return n;
        }
        if (rv != APR_EEXIST) {
            return 0;
        }
    }
    return limit;
}

/* OK, or 429 while the account or the address is locked out. */
static int limited(basic_t *b)
{
    int la, lc, window;
    apr_int64_t wait = 0;

    fedauth_basic_limits(b->sc, &la, &lc, &window);
    if (b->account) {
        wait = locked_for(b, "a", la);
    }
    if (!wait) {
        wait = locked_for(b, "c", lc);
    }
    if (!wait) {
        return OK;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, b->r, FALOGNO(01451)
                  "app password for %s refused: too many failures (for the "
                  "account or from %s); %" APR_INT64_T_FMT " s left",
                  b->account ? fa_oidc_loggable(b->r->pool, b->account, 128)
                             : "-", b->r->useragent_ip, wait);
    apr_table_setn(b->r->err_headers_out, "Retry-After",
                   apr_psprintf(b->r->pool, "%" APR_INT64_T_FMT, wait));
    return refuse(b, HTTP_TOO_MANY_REQUESTS, "app_password_rate_limited",
                  FA_METRICS_APPPASS_RATE_LIMITED, "Too many wrong app "
                  "passwords. Please try again later.");
}

/* A wrong, unknown or malformed password (why: for the log only). */
static int failed(basic_t *b, const char *why)
{
    int la, lc, window, na = 0, nc;

    fedauth_basic_limits(b->sc, &la, &lc, &window);
    if (b->account) {
        na = claim(b, "a", la, window);
    }
    nc = claim(b, "c", lc, window);
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, b->r, FALOGNO(01452)
                  "app password for %s from %s refused: %s (failure %d of "
                  "%d for the account, %d of %d from the address)",
                  b->account ? fa_oidc_loggable(b->r->pool, b->account, 128)
                             : "-", b->r->useragent_ip, why, na, la, nc, lc);
    if (na * 2 > la || nc * 2 > lc) {
        apr_sleep(SLOW_DOWN);
    }
    return refuse(b, HTTP_UNAUTHORIZED, "app_password_wrong",
                  FA_METRICS_APPPASS_WRONG, "The user name or the app "
                  "password is wrong.");
}

/* ---- the check ----------------------------------------------------------- */

/* 1 when this process verified the pair before (b->chash: the hash). */
static int cached(basic_t *b)
{
    apr_size_t alen = strlen(b->account) + 1, len = 0;
    unsigned int n = sizeof(b->ckey);
    char *msg, *val;

    if (!cache || !b->formed || fedauth_basic_cache(b->sc) == 0) {
        return 0;
    }
    msg = apr_palloc(b->r->pool, alen + b->slen);
    memcpy(msg, b->account, alen);         /* with its NUL */
    memcpy(msg + alen, b->secret, b->slen);
    if (!HMAC(EVP_sha256(), cache_key, sizeof(cache_key),
              (const unsigned char *)msg, alen + b->slen, b->ckey, &n)) {
        return 0;
    }
    if (!(val = fa_cache_get(cache, b->ckey, sizeof(b->ckey),
                             apr_time_now(), 0, b->r->pool, &len))
        || len != sizeof(b->chash)) {
        return 0;
    }
    memcpy(b->chash, val, sizeof(b->chash));
    return 1;
}

/* The account and the password record (NULL when absent): OK, or 503
 * when the registry cannot be read. */
static int load(basic_t *b, fa_account_t **pa, fa_apppass_t **pap)
{
    fa_registry_t *reg = b->sc->reg;
    apr_status_t rv;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    *pa = NULL;
    *pap = NULL;
    rv = fa_registry_account_get(reg, b->r->pool, b->account, pa, &err);
    if (rv == APR_SUCCESS && b->formed) {
        rv = fa_apppass_get(reg, b->r->pool, b->account, b->id, pap, &err);
    }
    if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
        return OK;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, b->r, FALOGNO(01453)
                  "app password: %s", err.desc);
    fa_metrics_apppass(fedauth_metrics(), FA_METRICS_APPPASS_BUSY);
    return fedauth_error(b->r, HTTP_SERVICE_UNAVAILABLE, err.code
                         ? err.code : "store_unavailable", "The account "
                         "registry cannot be read at the moment. Please "
                         "try again later.");
}

/* A place among the KDF_AT_ONCE runs of this process: 1, or 0 when
 * none freed within KDF_WAIT_ROUNDS; *waited 1 when it had to wait. */
static int kdf_slot(int *waited)
{
    int round;

    *waited = 0;
    for (round = 0; round <= KDF_WAIT_ROUNDS; round++) {
        if (apr_atomic_inc32(&kdf_running) < KDF_AT_ONCE) {
            return 1;
        }
        apr_atomic_dec32(&kdf_running);
        *waited = 1;
        apr_sleep(KDF_WAIT);
    }
    return 0;
}

/* The KDF run: OK when the secret is ap's, else the refusal. */
static int verify(basic_t *b, const fa_account_t *a, const fa_apppass_t *ap)
{
    int ok, waited;

    if (!kdf_slot(&waited)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, b->r, FALOGNO(01454)
                      "app password for %s: %d KDF runs at once in this "
                      "process for 3 s: 503", fa_oidc_loggable(b->r->pool,
                          b->account, 128), KDF_AT_ONCE);
        apr_table_setn(b->r->err_headers_out, "Retry-After", "1");
        return refuse(b, HTTP_SERVICE_UNAVAILABLE, "app_password_busy",
                      FA_METRICS_APPPASS_BUSY, "Too many app passwords are "
                      "being checked at the moment. Please try again.");
    }
    if (a && ap && waited && cached(b)
        && fa_ct_equal(b->chash, ap->hash, sizeof(b->chash))) {
        ok = 1;                   /* a client's parallel requests: the
                                   * first one verified it meanwhile */
    }
    else if (a && ap) {
        ok = fa_apppass_verify(ap, b->secret, b->slen);
    }
    else {
        /* as long as a wrong secret: whether the account or the
         * password exists does not show in the time of the answer */
        fa_apppass_dummy(b->secret, b->slen);
        ok = 0;
    }
    apr_atomic_dec32(&kdf_running);
    if (!ok) {
        return failed(b, !a ? "no such account" : !ap ? "no such password"
                             : "wrong secret");
    }
    return OK;
}

/* A right secret: the account's state and the password's expiry decide;
 * then the request is signed in as the account. */
static int let_in(basic_t *b, fa_account_t *a, const fa_apppass_t *ap,
                  int hit)
{
    request_rec *r = b->r;
    apr_int64_t now = fa_now_sec();
    fa_session_t *s;

    if (ap->expires && now >= ap->expires) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01455)
                      "app password %s of %s expired at %" APR_INT64_T_FMT,
                      ap->label, fa_oidc_loggable(r->pool, a->name, 128),
                      ap->expires);
        return refuse(b, HTTP_UNAUTHORIZED, "app_password_expired",
                      FA_METRICS_APPPASS_EXPIRED, "This app password has "
                      "expired.");
    }
    if (a->state != FA_ACCOUNT_ACTIVE) {
        const char *code = a->state == FA_ACCOUNT_DISABLED
                           ? "account_disabled" : "account_deleted";
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01456)
                      "app password %s of %s refused: %s", ap->label,
                      fa_oidc_loggable(r->pool, a->name, 128), code);
        return refuse(b, HTTP_FORBIDDEN, code, FA_METRICS_APPPASS_REFUSED,
                      fedauth_registry_text(code));
    }
    if (!hit && cache && fedauth_basic_cache(b->sc) > 0) {
        fa_cache_put(cache, b->ckey, sizeof(b->ckey), (const char *)ap->hash,
                     sizeof(ap->hash), apr_time_from_sec(now
                         + fedauth_basic_cache(b->sc)), 0);
    }
    s = apr_pcalloc(r->pool, sizeof(*s));
    s->created = s->last_seen = now;
    s->user = a->name;
    s->sub = a->name;
    s->idp = apr_pstrcat(r->pool, IDP_PREFIX, ap->label, NULL);
    s->roles = fa_apppass_roles(r->pool, a, ap);
    s->attrs = a->attrs;
    /* the secret goes no further than this module */
    apr_table_unset(r->headers_in, "Authorization");
    fedauth_export_session(r, b->dc, s);
    fedauth_request_session_set(r, s);
    fa_metrics_apppass(fedauth_metrics(), hit ? FA_METRICS_APPPASS_CACHED
                                              : FA_METRICS_APPPASS_OK);
    if (!hit) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01457)
                      "app password %s of %s verified", ap->label,
                      fa_oidc_loggable(r->pool, a->name, 128));
        fedauth_attempt_user(r, IDP_NAME, NULL, a->name);
        fedauth_attempt_log(r, NULL);
    }
    return OK;
}

int fedauth_basic_check(request_rec *r, fedauth_srv_t *sc,
                        fedauth_dir_t *dc, const char *value)
{
    basic_t b;
    fa_account_t *a;
    fa_apppass_t *ap;
    int rc, hit;

    memset(&b, 0, sizeof(b));
    b.r = r;
    b.sc = sc;
    b.dc = dc;
    if (!sc->reg) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FALOGNO(01450)
                      "FedAuthBasic On at %s, but FedAuthRegistry is not On "
                      "for this server: no app password can be checked",
                      r->uri);
        return fedauth_error(r, HTTP_INTERNAL_SERVER_ERROR, "registry_off",
                             "App passwords are not set up on this site.");
    }
    if (!parse(&b, value)) {
        if ((rc = limited(&b)) != OK) {
            return rc;
        }
        return failed(&b, "Basic credentials that do not decode to "
                      "account:password");
    }
    hit = cached(&b);
    if (!hit && (rc = limited(&b)) != OK) {
        return rc;
    }
    if ((rc = load(&b, &a, &ap)) != OK) {
        return rc;
    }
    if (hit && (!ap || !fa_ct_equal(b.chash, ap->hash, sizeof(b.chash)))) {
        hit = 0;                  /* the record changed since */
    }
    if (!hit && !b.formed) {
        return failed(&b, "not an app password (form or check digits)");
    }
    if (!hit && (rc = verify(&b, a, ap)) != OK) {
        return rc;
    }
    return let_in(&b, a, ap, hit);
}

int fedauth_basic_redirected(request_rec *r, fedauth_dir_t *dc)
{
    fa_session_t *s;
    request_rec *prev;

    if (!fedauth_basic_on(dc)) {
        return DECLINED;
    }
    for (prev = r->prev; prev; prev = prev->prev) {
        s = fedauth_request_session(prev);
        if (s && prev->user && fedauth_basic_session(s)) {
            fedauth_export_session(r, dc, s);
            fedauth_request_session_set(r, s);
            return OK;
        }
    }
    return DECLINED;
}

/* A browser that navigates: Sec-Fetch-Mode says so; an older one sends
 * no Sec-Fetch-Mode but asks for HTML. */
static int navigation(request_rec *r)
{
    const char *mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    const char *accept = apr_table_get(r->headers_in, "Accept");

    if (mode) {
        return !strcasecmp(mode, "navigate");
    }
    return accept && strstr(accept, "text/html") != NULL;
}

int fedauth_basic_no_credentials(request_rec *r, fedauth_dir_t *dc)
{
    if (!fedauth_basic_on(dc) || navigation(r)) {
        return DECLINED;
    }
    if (ap_discard_request_body(r) != OK) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    challenge(r);
    if (fedauth_bearer_on(dc)) {  /* an API that takes both */
        apr_table_addn(r->err_headers_out, "WWW-Authenticate",
                       apr_psprintf(r->pool, "Bearer realm=\"%s\"",
                                    ap_escape_quotes(r->pool,
                                        r->server->server_hostname
                                        ? r->server->server_hostname
                                        : "api")));
    }
    return fedauth_error(r, HTTP_UNAUTHORIZED, "no_session", "Sign-in is "
                         "required: send the account name and an app "
                         "password.");
}
