/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_preserve_post.c - keeping a form POST across the sign-in
 * (FedAuthPreservePost).
 *
 * A browser without a session that posts a form to a protected location
 * would lose what it typed: the module can only send it to sign in with
 * a redirect, and a redirect ends in a GET. Here such a body, when it is
 * an application/x-www-form-urlencoded form in UTF-8 of at most
 * FedAuthPreservePostMax bytes, goes to the store under a key derived
 * from the login's state (never to the browser), its digest into the
 * sealed login state; after the callback made the session, the callback
 * answers a page that posts the fields again, once, to the original URL.
 *
 * Anyone can post without a session, so each kept body is bounded: per
 * client address (an IPv6 client per /64) at most POSTS_PER_CLIENT bodies
 * in POST_WINDOW seconds, counted in the store (so across processes and
 * hosts); and in the embedded store kept bodies count as login state,
 * which may fill at most a quarter of it (a flood pushes out other login
 * state, never a session). */
#include <stdlib.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "mod_fedauth_preserve_post.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_metrics.h"
#include "mod_fedauth_signin.h"
#include "fa_form.h"
#include "fa_metrics.h"
#include "fa_oidc.h"

APLOG_USE_MODULE(fedauth);

#define POSTS_PER_CLIENT 10
#define POST_WINDOW FA_LOGIN_STATE_TTL

/* ---- keeping ---------------------------------------------------------- */

/* Who counts as one client: its address, an IPv6 one by its /64 (one
 * host usually has a whole /64 to pick from). */
static const char *client_of(request_rec *r)
{
    const apr_sockaddr_t *sa = r->useragent_addr;
    const unsigned char *b;

#if APR_HAVE_IPV6
    if (sa && sa->family == APR_INET6 && r->useragent_ip
        && !strchr(r->useragent_ip, '.')) {
        b = (const unsigned char *)sa->ipaddr_ptr;
        return apr_psprintf(r->pool, "%02x%02x:%02x%02x:%02x%02x:%02x%02x"
                            "::/64", b[0], b[1], b[2], b[3], b[4], b[5],
                            b[6], b[7]);
    }
#else
    (void)sa;
    (void)b;
#endif
    return r->useragent_ip ? r->useragent_ip : "-";
}

/* The store key of a client's slot i in a window, or with i < 0 of its
 * count. */
static const char *limit_key(request_rec *r, fedauth_srv_t *sc,
                             const char *who, apr_int64_t window, int i)
{
    return apr_pstrcat(r->pool, "l:pr:", fa_keys_tag(r->pool, &sc->keys,
                       "post-limit", apr_psprintf(r->pool, "%s/%"
                       APR_INT64_T_FMT "/%d", who, window, i)), NULL);
}

/* One more kept body for this client in this window: a slot of
 * POSTS_PER_CLIENT taken with add (atomic across processes and hosts),
 * from the count this client's last kept body wrote. The count, written
 * last, is the entry of the client that a full store pushes out last, so
 * a client cannot free its own slots with its own bodies. 0 when the
 * slots are taken, or the store cannot say. Costs one read when over. */
static int client_within_limit(request_rec *r, fedauth_srv_t *sc)
{
    fa_store_t *store = fedauth_store(r);
    apr_int64_t window = fa_now_sec() / POST_WINDOW;
    apr_int64_t until = (window + 1) * POST_WINDOW;
    const char *who = client_of(r), *count = limit_key(r, sc, who, window,
                                                        -1);
    char *val, num[16];
    apr_size_t vlen;
    apr_status_t rv;
    int i = 0;

    rv = store->get(store, count, r->pool, &val, &vlen);
    if (rv == APR_SUCCESS) {
        i = atoi(val);
    }
    else if (rv != APR_NOTFOUND) {
        return 0;
    }
    for (i = i < 0 ? 0 : i; i < POSTS_PER_CLIENT; i++) {
        rv = store->add(store, limit_key(r, sc, who, window, i), "1", 1,
                        until, r->pool);
        if (rv == APR_SUCCESS) {
            apr_snprintf(num, sizeof(num), "%d", i + 1);
            store->put(store, count, num, strlen(num), until, r->pool);
            return 1;
        }
        if (!APR_STATUS_IS_EEXIST(rv)) {
            return 0;
        }
    }
    return 0;
}

/* A body not kept, after its log line: counted. DECLINED. */
static int refused(void)
{
    fa_metrics_preserved_post(fedauth_metrics(), FA_METRICS_POST_REFUSED);
    return DECLINED;
}

/* The body, read when it qualifies by its announced length: OK with it,
 * else DECLINED after the log line. */
static int read_body(request_rec *r, apr_size_t max, const char **body,
                     apr_size_t *len)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_array_header_t *fields;
    apr_status_t rv;

    if ((cl && apr_atoi64(cl) > (apr_int64_t)max)
        || (rv = fedauth_read_form_body(r, max, body, len)) == APR_ENOSPC) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01351)
                      "POST to %s not kept across the sign-in: its body is "
                      "larger than FedAuthPreservePostMax (%" APR_SIZE_T_FMT
                      " bytes)", fa_oidc_loggable(r->pool, r->uri, 128), max);
        return refused();
    }
    if (rv != APR_SUCCESS) {
        r->connection->keepalive = AP_CONN_CLOSE;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01352)
                      "POST to %s not kept across the sign-in: its body "
                      "could not be read (timeout or broken connection)",
                      fa_oidc_loggable(r->pool, r->uri, 128));
        return refused();
    }
    if (fa_form_fields(r->pool, *body, *len, FA_FORM_FIELDS_MAX, &fields)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01353)
                      "POST to %s not kept across the sign-in: not a "
                      "well-formed form in UTF-8 (a field without a name, "
                      "a bad escape, or more than %d fields)",
                      fa_oidc_loggable(r->pool, r->uri, 128),
                      FA_FORM_FIELDS_MAX);
        return refused();
    }
    return OK;
}

int fedauth_preserve_post(request_rec *r, fedauth_srv_t *sc,
                          fedauth_dir_t *dc)
{
    apr_size_t max = (apr_size_t)fedauth_preserve_post_max(dc), len = 0;
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    const char *body = NULL;
    fedauth_provider_t *prov;
    int status;

    if (!fa_form_type_ok(ct)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01354)
                      "POST to %s not kept across the sign-in: Content-Type "
                      "%s is not a form in UTF-8 "
                      "(application/x-www-form-urlencoded)",
                      fa_oidc_loggable(r->pool, r->uri, 128),
                      fa_oidc_loggable(r->pool, ct ? ct : "(none)", 80));
        return DECLINED;
    }
    /* Only a form of this site: a page of another site posting here
     * would otherwise be posted again after a (silent) sign-in, now with
     * the session cookie that SameSite kept off its own POST (CSRF
     * through the sign-in). */
    if (!fedauth_from_this_site(r, sc)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01361)
                      "POST to %s not kept across the sign-in: it does not "
                      "come from a page of this site (Sec-Fetch-Site %s, "
                      "Origin %s)", fa_oidc_loggable(r->pool, r->uri, 128),
                      fa_oidc_loggable(r->pool, apr_table_get(r->headers_in,
                          "Sec-Fetch-Site"), 32),
                      fa_oidc_loggable(r->pool, apr_table_get(r->headers_in,
                          "Origin"), 128));
        return refused();
    }
    if (!(prov = fedauth_signin_direct(r, sc, dc))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01355)
                      "POST to %s not kept across the sign-in: the browser "
                      "has to choose an identity provider first",
                      fa_oidc_loggable(r->pool, r->uri, 128));
        return refused();
    }
    if (strlen(r->unparsed_uri) > FA_LOGIN_RETURN_MAX
        || !fa_return_to_ok(r->unparsed_uri)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01356)
                      "POST to %s not kept across the sign-in: its URL is "
                      "longer than %d bytes or not a plain path",
                      fa_oidc_loggable(r->pool, r->uri, 128),
                      FA_LOGIN_RETURN_MAX);
        return refused();
    }
    if (read_body(r, max, &body, &len) != OK) {
        return DECLINED;
    }
    if (!client_within_limit(r, sc)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01357)
                      "POST to %s not kept across the sign-in: client %s "
                      "already has %d bodies kept in %d seconds (or the "
                      "store cannot count them)",
                      fa_oidc_loggable(r->pool, r->uri, 128), client_of(r),
                      POSTS_PER_CLIENT, POST_WINDOW);
        return refused();
    }
    status = fedauth_start_login_kept(r, prov, r->unparsed_uri, NULL, body,
                                      len);
    if (status == DECLINED) {
        return refused();
    }
    if (status == HTTP_MOVED_TEMPORARILY) {
        fa_metrics_preserved_post(fedauth_metrics(), FA_METRICS_POST_KEPT);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01358)
                      "POST of %" APR_SIZE_T_FMT " bytes to %s kept across "
                      "the sign-in through %s", len,
                      fa_oidc_loggable(r->pool, r->uri, 128), prov->idp.id);
    }
    return status;
}

/* ---- posting it again ------------------------------------------------- */

/* The kept body, taken from the store piece by piece (each at most once:
 * take), and checked against the digest the login state kept; NULL when
 * a piece is gone or anything differs (every piece is taken all the
 * same). */
static const char *take_body(request_rec *r, fedauth_srv_t *sc,
                             const fa_login_t *login, const char *state,
                             apr_size_t *plen)
{
    fa_store_t *store = fedauth_store(r);
    const char *key = fa_login_post_key(r->pool, &sc->keys, state);
    apr_int64_t want = apr_atoi64(login->post);
    apr_size_t len, off = 0, vlen;
    char *buf, *val;
    int i, n, ok = 1;

    if (!key || want < 0 || want > FEDAUTH_PRESERVE_POST_MAX_LIMIT) {
        return NULL;
    }
    len = (apr_size_t)want;
    n = len ? (int)((len + FEDAUTH_POST_PIECE - 1) / FEDAUTH_POST_PIECE) : 1;
    buf = apr_palloc(r->pool, len + 1);
    for (i = 0; i < n; i++) {
        if (store->take(store, apr_psprintf(r->pool, "%s.%d", key, i),
                        r->pool, &val, &vlen) != APR_SUCCESS
            || vlen < 1 || val[0] != 'F' || vlen - 1 > len - off) {
            ok = 0;
            continue;
        }
        memcpy(buf + off, val + 1, vlen - 1);
        off += vlen - 1;
    }
    buf[off] = '\0';
    if (!ok || off != len
        || !fa_ct_streq(fa_form_digest(r->pool, buf, len), login->post)) {
        return NULL;
    }
    *plen = len;
    return buf;
}

int fedauth_preserve_post_replay(request_rec *r, fedauth_srv_t *sc,
                                 const fa_login_t *login, const char *state)
{
    apr_array_header_t *fields;
    const char *body, *nonce, *page;
    apr_size_t len = 0;

    if (!login->post) {
        return DECLINED;
    }
    if (!(body = take_body(r, sc, login, state, &len))
        || fa_form_fields(r->pool, body, len, FA_FORM_FIELDS_MAX, &fields)
           != APR_SUCCESS
        || !fa_return_to_ok(login->return_to)
        || !(nonce = fa_random_token(r->pool, 18))) {
        fa_metrics_preserved_post(fedauth_metrics(), FA_METRICS_POST_LOST);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, FALOGNO(01359)
                      "the POST kept for %s is gone or changed (expired, "
                      "pushed out of the store, or taken): the user lands "
                      "there without it", fa_oidc_loggable(r->pool,
                      login->return_to, 128));
        return DECLINED;
    }
    page = fa_form_page(r->pool, login->return_to, fields, nonce);
    fedauth_no_store(r);
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   apr_pstrcat(r->pool, "default-src 'none'; script-src "
                               "'nonce-", nonce, "'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
                               NULL));
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)strlen(page));
    ap_rwrite(page, (int)strlen(page), r);
    fa_metrics_preserved_post(fedauth_metrics(), FA_METRICS_POST_REPLAYED);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(01360)
                  "posting the kept form (%d fields, %" APR_SIZE_T_FMT
                  " bytes) again to %s", fields->nelts, len,
                  fa_oidc_loggable(r->pool, login->return_to, 128));
    return OK;
}
