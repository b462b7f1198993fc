/* SPDX-License-Identifier: Apache-2.0 */
/* micro.c - micro-benchmarks of mod_fedauth's httpd-free core (issue 8):
 * what a protected request costs inside the core, per call, in ns.
 *
 *   t/bench/micro.sh [scale]     (builds this into build/out/bench/ and runs it)
 *
 * Each case is timed RUNS times over N calls with clock_gettime
 * (CLOCK_MONOTONIC); the table shows the median ns per call (and the
 * fastest run). scale multiplies N (default 1; 0.1 for a quick look).
 *
 * Cases:
 *   cookie_check       fa_session_cookie_check of a valid cookie this
 *                      process has checked before (as on every request
 *                      after a browser's first): the remembered cookie,
 *                      compared in constant time, no MAC
 *   cookie_check_bad   the same with a forged tag: never remembered, so
 *                      two base64url decodes and an HMAC-SHA256 with this
 *                      thread's keyed context each time
 *   session_decode     memcpy of a typical record into a request-pool
 *                      buffer + fa_session_decode (user, sub, idp, roles,
 *                      sid, 6 attributes, 1 KiB id_token)
 *   session_encode     fa_session_encode of that session
 *   export_10_values   what the glue's export does with it: user, sub,
 *                      idp, roles and 6 attributes into an env table and,
 *                      checked, into a headers table of 8 client headers
 *                      (apr_table_addn, the names from fa_attr_names)
 *   sha256_1k          EVP_Digest SHA-256 of a 1 KiB token (the bearer
 *                      cache key)
 *   bearer_cache_hit   what a cached bearer token costs in the core, as
 *                      mod_fedauth_bearer.c does it: key string
 *                      (audience NL token), SHA-256, fa_cache_get (a copy
 *                      into the request pool), fa_session_decode
 *   local_copy_hit     a session from the per-process copy, as
 *                      fedauth_session_load does it with
 *                      FedAuthSessionLocalCache: fa_cache_get by
 *                      "<store>|<key>", fa_session_decode
 *   jwt_parse          fa_jwt_parse of an RS256 access-token-sized JWT
 *   jwt_verify_rs256   fa_jwt_verify (RSA 2048, JWKS already parsed)
 *   jwt_parse_verify   both: a new RS256 token (uncached)
 *
 * With MICRO_SESSIONS=N in the environment (N >= 2; 1000000 for a
 * million), two cases at that scale as well (their setup takes a while):
 *   cookie_check_new   fa_session_cookie_check of N valid cookies in
 *                      turn: with N beyond the remembered ones, each is
 *                      new to the process (decodes, MAC, remembered)
 *   shm_head_new       a store of N sessions (sized 1,700 bytes a
 *                      session): get_head of one after another in a
 *                      stride through all of them, then fa_session_decode
 *                      of the head, as the request path reads a session
 *                      nobody read lately (caches and TLB cold)
 *
 * Reference points (not module code; what the same work costs done
 * another way, for the optimizer):
 *   ref_hmac_oneshot   HMAC(EVP_sha256(), 32-byte key, 32 bytes): what
 *                      cookie_check spent on its MAC before it kept a
 *                      context per thread
 *   ref_hmac_reuse     the same MAC with an EVP_MAC_CTX keyed once and
 *                      re-initialised per call (EVP_MAC_init(ctx, NULL...))
 *   ref_sha256_reuse   SHA-256 of 1 KiB with an EVP_MD fetched once and an
 *                      EVP_MD_CTX reused (no implicit fetch per call)
 *   ref_b64url_43      fa_b64url_decode_buf of the 43-character cookie id
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_tables.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "fa_util.h"
#include "fa_session.h"
#include "fa_jwk.h"
#include "fa_jwt.h"
#include "fa_cache.h"
#include "fa_store.h"
#include "fa_metrics.h"

#define RUNS 7

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static volatile unsigned long sink;

typedef void case_fn(void *ctx, long i);

static void run_case(const char *name, case_fn *fn, void *ctx, long n)
{
    double per[RUNS];
    int r;
    long i;

    if (n < 10) {
        n = 10;
    }
    for (i = 0; i < n / 10 + 1; i++) {      /* warm-up */
        fn(ctx, i);
    }
    for (r = 0; r < RUNS; r++) {
        double t0 = now_ns();

        for (i = 0; i < n; i++) {
            fn(ctx, i);
        }
        per[r] = (now_ns() - t0) / (double)n;
    }
    qsort(per, RUNS, sizeof(per[0]), cmp_double);
    printf("| %-18s | %10.0f | %10.0f | %9ld |\n", name, per[RUNS / 2],
           per[0], n);
    fflush(stdout);
}

/* ------------------------------------------------------------------ data */

static apr_pool_t *root, *scratch;
static fa_keys_t keys;
static char *cookie, *cookie_bad;
static char *rec;
static apr_size_t rec_len;
static fa_session_t sess;
static const char *token;          /* RS256 JWT */
static apr_size_t token_len;
static fa_jwks_t *jwks;
static fa_jwt_t *parsed;
static const char *token_1k;       /* a 1 KiB opaque token for sha256 */
static fa_cache_t *fcache;
static unsigned char bkey[32];
static char skey[80];
static apr_size_t skey_len;

static void die(const char *what)
{
    fprintf(stderr, "micro: %s\n", what);
    exit(1);
}

static const char *b64_of_bn(apr_pool_t *p, EVP_PKEY *pk, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char *buf;
    int n;

    if (!EVP_PKEY_get_bn_param(pk, param, &bn)) {
        die("EVP_PKEY_get_bn_param");
    }
    n = BN_num_bytes(bn);
    buf = apr_palloc(p, (apr_size_t)n);
    BN_bn2bin(bn, buf);
    BN_free(bn);
    return fa_b64url_encode(p, buf, (apr_size_t)n);
}

static void make_token(apr_pool_t *p)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *hdr, *pay, *input, *jwks_json;
    unsigned char sig[512];
    size_t siglen = sizeof(sig);
    long now = (long)time(NULL);
    fa_err_t err;

    if (!pk || !md) {
        die("RSA keygen");
    }
    hdr = fa_b64url_encode(p, (const unsigned char *)
        "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", 38);
    pay = apr_psprintf(p,
        "{\"iss\":\"https://idp.example.com/realms/corp\","
        "\"aud\":[\"api://orders\",\"my-app\"],\"azp\":\"my-app\","
        "\"sub\":\"5c1f3e0a-8a2b-4c1d-9e2f-0a1b2c3d4e5f\","
        "\"exp\":%ld,\"iat\":%ld,\"nbf\":%ld,"
        "\"jti\":\"2f9c1e4b-7d3a-4e8f-b1c2-d3e4f5a6b7c8\","
        "\"scope\":\"openid profile email orders.read\","
        "\"preferred_username\":\"jane.doe\",\"email\":\"jane@example.com\","
        "\"email_verified\":true,\"name\":\"Jane Doe\","
        "\"groups\":[\"staff\",\"orders-readers\",\"vpn-users\"]}",
        now + 3600, now, now);
    pay = fa_b64url_encode(p, (const unsigned char *)pay, strlen(pay));
    input = apr_pstrcat(p, hdr, ".", pay, NULL);
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1
        || EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input,
                          strlen(input)) != 1) {
        die("sign");
    }
    token = apr_pstrcat(p, input, ".", fa_b64url_encode(p, sig, siglen),
                        NULL);
    token_len = strlen(token);
    jwks_json = apr_psprintf(p, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\","
                             "\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"%s\","
                             "\"e\":\"%s\"}]}",
                             b64_of_bn(p, pk, OSSL_PKEY_PARAM_RSA_N),
                             b64_of_bn(p, pk, OSSL_PKEY_PARAM_RSA_E));
    memset(&err, 0, sizeof(err));
    if (fa_jwks_parse(p, jwks_json, strlen(jwks_json), &jwks, &err)
        != APR_SUCCESS || jwks->keys->nelts != 1) {
        die("jwks");
    }
    if (fa_jwt_parse(p, token, token_len, &parsed, &err) != APR_SUCCESS
        || fa_jwt_verify(parsed, jwks, NULL, 0, &err) != APR_SUCCESS) {
        fprintf(stderr, "%s: %s\n", err.code, err.desc);
        die("token does not verify");
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
}

static void make_session(apr_pool_t *p)
{
    static const char *names[6] = { "EMAIL", "GIVEN_NAME", "FAMILY_NAME",
                                    "LANGUAGE", "DEPARTMENT", "OBJECT_ID" };
    static const char *values[6] = { "jane.doe@example.com", "Jane", "Doe",
                                     "en-GB", "Research and Development",
                                     "5c1f3e0a-8a2b-4c1d-9e2f-0a1b2c3d4e5f" };
    char *idt = apr_palloc(p, 1025), *store_key;
    unsigned char raw[768];
    fa_session_t *back;
    char *copy;
    int i;

    fa_random(raw, sizeof(raw));
    memcpy(idt, fa_b64url_encode(p, raw, sizeof(raw)), 1024);  /* 1024 chars */
    idt[1024] = '\0';
    memset(&sess, 0, sizeof(sess));
    sess.created = (apr_int64_t)time(NULL) - 100;
    sess.last_seen = sess.created + 50;
    sess.token_exp = sess.created + 3600;
    sess.idp = "corp";
    sess.sub = "5c1f3e0a-8a2b-4c1d-9e2f-0a1b2c3d4e5f";
    sess.user = "jane.doe";
    sess.roles = "editor,member,orders-reader";
    sess.sid = "7a1c9e2b-3d4f-4a5b-8c6d-7e8f9a0b1c2d";
    sess.id_token = idt;
    sess.attrs = apr_array_make(p, 6, sizeof(fa_attr_t));
    for (i = 0; i < 6; i++) {
        fa_attr_t *a = apr_array_push(sess.attrs);

        a->name = names[i];
        a->value = values[i];
    }
    if (fa_session_encode(p, &sess, &rec, &rec_len) != APR_SUCCESS) {
        die("encode");
    }
    copy = apr_pmemdup(p, rec, rec_len + 1);
    if (fa_session_decode(p, copy, rec_len, &back) != APR_SUCCESS
        || strcmp(back->user, "jane.doe") || back->attrs->nelts != 6
        || strlen(back->id_token) != 1024) {
        die("decode");
    }
    if (fa_session_new_id(p, &keys, &cookie, &store_key) != APR_SUCCESS) {
        die("new id");
    }
    cookie_bad = apr_pstrdup(p, cookie);
    cookie_bad[FA_SESSION_COOKIE_LEN - 2] =
        cookie_bad[FA_SESSION_COOKIE_LEN - 2] == 'A' ? 'B' : 'A';
}

/* ------------------------------------------------------------------ cases */

static void c_cookie(void *ctx, long i)
{
    char key[FA_SESSION_KEY_LEN + 1];

    (void)ctx; (void)i;
    sink += (unsigned long)fa_session_cookie_check(&keys, cookie,
                                                   FA_SESSION_COOKIE_LEN, key);
    sink += (unsigned char)key[5];
}

static void c_cookie_bad(void *ctx, long i)
{
    char key[FA_SESSION_KEY_LEN + 1];

    (void)ctx; (void)i;
    sink += (unsigned long)fa_session_cookie_check(&keys, cookie_bad,
                                                   FA_SESSION_COOKIE_LEN, key);
}

static void c_decode(void *ctx, long i)
{
    fa_session_t *s;
    char *buf;

    (void)ctx;
    if (i % 256 == 0) {
        apr_pool_clear(scratch);
    }
    buf = apr_pmemdup(scratch, rec, rec_len + 1);
    if (fa_session_decode(scratch, buf, rec_len, &s) != APR_SUCCESS) {
        die("decode");
    }
    sink += (unsigned long)s->attrs->nelts;
}

/* The record's head (what the request path reads: all but the ID
 * token), decoded; then the same head answered by the process's memo of
 * decoded sessions, which holds it (the glue's request path from a
 * session's third request in a process on): two constant-time compares,
 * a copy, the pointers moved. */
static fa_session_memo_t memo;
static const char memo_key[FA_SESSION_KEY_LEN + 1] = "s:AAAAAAAAAAAAAAAAAAAAAA";

static apr_size_t head_len(void)
{
    apr_size_t h = fa_session_head(rec, rec_len < FA_STORE_HEAD_PROBE
                                        ? rec_len : FA_STORE_HEAD_PROBE);

    if (!h) {
        die("no head in the record");
    }
    return h;
}

/* The head decoded, through the memo when ctx is it (answered from the
 * third call on), else by the decoder alone. */
static void c_decode_head(void *ctx, long i)
{
    static apr_size_t h;
    fa_session_t *s;
    char *buf;
    int hit = 0;

    if (!h) {
        h = head_len();
    }
    if (i % 256 == 0) {
        apr_pool_clear(scratch);
    }
    buf = apr_pmemdup(scratch, rec, h + 1);
    if (fa_session_decode_memo(ctx, ctx ? memo_key : NULL, scratch, buf, h,
                               &s, &hit) != APR_SUCCESS
        || (ctx && !hit && i >= 2)) {
        die("decode of the head");
    }
    sink += (unsigned long)s->attrs->nelts;
}

/* What the glue's fedauth_export_session does with a decoded session: each
 * value into r->subprocess_env as FEDAUTH_<NAME> and into r->headers_in as
 * X-FedAuth-<Name> (checked for control characters), apr_table_addn into
 * tables shaped like a request's (headers_in with 8 client headers, none
 * of them ours). */
static void export_one(apr_table_t *env, apr_table_t *hdr, const char *e,
                       const char *h, const char *v)
{
    apr_table_addn(env, e, v);
    apr_table_addn(hdr, h, fa_header_value(scratch, v, 8192));
}

static void c_export(void *ctx, long i)
{
    apr_table_t *env, *hdr;
    int k;

    (void)ctx;
    if (i % 256 == 0) {
        apr_pool_clear(scratch);
    }
    env = apr_table_make(scratch, 24);
    hdr = apr_table_make(scratch, 24);
    apr_table_setn(hdr, "Host", "app.example.org");
    apr_table_setn(hdr, "User-Agent", "Mozilla/5.0 (X11; Linux x86_64)");
    apr_table_setn(hdr, "Accept", "text/html,application/xhtml+xml");
    apr_table_setn(hdr, "Accept-Language", "en-GB,en;q=0.9");
    apr_table_setn(hdr, "Accept-Encoding", "gzip, deflate, br");
    apr_table_setn(hdr, "Connection", "keep-alive");
    apr_table_setn(hdr, "Cookie", "fedauth_session=x");
    apr_table_setn(hdr, "Upgrade-Insecure-Requests", "1");
    export_one(env, hdr, "FEDAUTH_USER", "X-FedAuth-User", sess.user);
    export_one(env, hdr, "FEDAUTH_SUB", "X-FedAuth-Sub", sess.sub);
    export_one(env, hdr, "FEDAUTH_IDP", "X-FedAuth-IdP", sess.idp);
    export_one(env, hdr, "FEDAUTH_ROLES", "X-FedAuth-Roles", sess.roles);
    for (k = 0; k < sess.attrs->nelts; k++) {
        const fa_attr_t *a = &APR_ARRAY_IDX(sess.attrs, k, fa_attr_t);
        const char *e, *h;
        fa_attr_names(scratch, a->name, &e, &h);
        export_one(env, hdr, e, h, a->value);
    }
    sink += (unsigned long)apr_table_elts(hdr)->nelts;
}

static void c_encode(void *ctx, long i)
{
    char *out;
    apr_size_t len;

    (void)ctx;
    if (i % 64 == 0) {
        apr_pool_clear(scratch);
    }
    fa_session_encode(scratch, &sess, &out, &len);
    sink += len;
}

static void c_sha256(void *ctx, long i)
{
    unsigned char h[32];
    unsigned int hl = sizeof(h);

    (void)ctx; (void)i;
    EVP_Digest(token_1k, 1024, h, &hl, EVP_sha256(), NULL);
    sink += h[0];
}

static void c_bearer_hit(void *ctx, long i)
{
    unsigned char h[32];
    unsigned int hl = sizeof(h);
    const char *key;
    char *copy;
    apr_size_t len;
    fa_session_t *s;

    (void)ctx;
    if (i % 256 == 0) {
        apr_pool_clear(scratch);
    }
    key = apr_pstrcat(scratch, "api://orders", "\n", token_1k, NULL);
    EVP_Digest(key, strlen(key), h, &hl, EVP_sha256(), NULL);
    copy = fa_cache_get(fcache, h, sizeof(h), apr_time_now(), 0, scratch,
                        &len);
    if (!copy || fa_session_decode(scratch, copy, len, &s) != APR_SUCCESS) {
        die("bearer cache");
    }
    sink += (unsigned long)s->user[0];
}

static void c_local_hit(void *ctx, long i)
{
    char *copy;
    apr_size_t len;
    fa_session_t *s;

    (void)ctx;
    if (i % 256 == 0) {
        apr_pool_clear(scratch);
    }
    copy = fa_cache_get(fcache, skey, skey_len, apr_time_now(), 0, scratch,
                        &len);
    if (!copy || fa_session_decode(scratch, copy, len, &s) != APR_SUCCESS) {
        die("local copy");
    }
    sink += (unsigned long)s->user[0];
}

/* The embedded store holding SHM_SESSIONS sessions: a read of one of them
 * (hash, lock, copy out, most recently used), then the decode, as the
 * request path does with FedAuthSessionLocalCache 0. */
#define SHM_SESSIONS 20000
static fa_store_t *shm;
static char (*shm_keys)[FA_SESSION_KEY_LEN + 1];

static void shm_setup(void)
{
    fa_shm_conf_t conf;
    fa_err_t err;
    int reused, k;

    memset(&conf, 0, sizeof(conf));
    conf.size = 64 * 1024 * 1024;
    if (fa_store_shm_open(root, &conf, &shm, &reused, &err)
        != APR_SUCCESS) {
        die(err.desc);
    }
    shm_keys = apr_palloc(root, sizeof(*shm_keys) * SHM_SESSIONS);
    for (k = 0; k < SHM_SESSIONS; k++) {
        char *c, *key;
        if (fa_session_new_id(scratch, &keys, &c, &key) != APR_SUCCESS
            || shm->put(shm, key, rec, rec_len, fa_now_sec() + 3600,
                        scratch) != APR_SUCCESS) {
            die("shm put");
        }
        memcpy(shm_keys[k], key, FA_SESSION_KEY_LEN + 1);
    }
    apr_pool_clear(scratch);
}

static void c_shm_get(void *ctx, long i)
{
    char *v;
    apr_size_t len;
    fa_session_t *s;

    (void)ctx;
    if (i % 256 == 0) {
        apr_pool_clear(scratch);
    }
    /* a stride through all of them, as many users' requests would */
    if (shm->get(shm, shm_keys[(i * 7919) % SHM_SESSIONS], scratch, &v, &len)
        != APR_SUCCESS
        || fa_session_decode(scratch, v, len, &s) != APR_SUCCESS) {
        die("shm get");
    }
    sink += (unsigned long)s->user[0];
}

/* The same through the store that counts (FedAuthMetrics On): two
 * clock reads and two atomic adds more. */
static fa_store_t *shm_counted;
static fa_metrics_t *metrics;

static void c_shm_get_counted(void *ctx, long i)
{
    char *v;
    apr_size_t len;
    fa_session_t *s;

    (void)ctx;
    if (i % 256 == 0) {
        apr_pool_clear(scratch);
    }
    if (shm_counted->get(shm_counted, shm_keys[(i * 7919) % SHM_SESSIONS],
                         scratch, &v, &len) != APR_SUCCESS
        || fa_session_decode(scratch, v, len, &s) != APR_SUCCESS) {
        die("shm get counted");
    }
    sink += (unsigned long)s->user[0];
}

/* MICRO_SESSIONS=N: N cookies and N sessions in a store of their own. */
static long big_n;
static char (*big_cookies)[FA_SESSION_COOKIE_LEN + 1];
static char (*big_keys)[FA_SESSION_KEY_LEN + 1];
static fa_store_t *big_shm;

static void big_setup(long n)
{
    fa_shm_conf_t conf;
    fa_err_t err;
    int reused;
    long k;

    memset(&conf, 0, sizeof(conf));
    conf.size = (apr_size_t)n * 1700 + 64 * 1024 * 1024;
    if (fa_store_shm_open(root, &conf, &big_shm, &reused, &err)
        != APR_SUCCESS) {
        die(err.desc);
    }
    big_cookies = malloc(sizeof(*big_cookies) * (size_t)n);
    big_keys = malloc(sizeof(*big_keys) * (size_t)n);
    if (!big_cookies || !big_keys) {
        die("malloc");
    }
    for (k = 0; k < n; k++) {
        char *c, *key;
        if (k % 256 == 0) {
            apr_pool_clear(scratch);
        }
        if (fa_session_new_id(scratch, &keys, &c, &key) != APR_SUCCESS
            || big_shm->put(big_shm, key, rec, rec_len, fa_now_sec() + 3600,
                            scratch) != APR_SUCCESS) {
            die("big put");
        }
        memcpy(big_cookies[k], c, FA_SESSION_COOKIE_LEN + 1);
        memcpy(big_keys[k], key, FA_SESSION_KEY_LEN + 1);
    }
    apr_pool_clear(scratch);
    big_n = n;
}

/* a stride through all n, coprime with n (a prime that does not divide
 * it), so each index comes once per n calls and neighbours lie apart */
static long big_index(long i)
{
    long step = big_n % 1000003 ? 1000003 : 999983;

    return (long)(((unsigned long long)i * (unsigned long long)step)
                  % (unsigned long long)big_n);
}

static void c_cookie_new(void *ctx, long i)
{
    char key[FA_SESSION_KEY_LEN + 1];

    (void)ctx;
    if (!fa_session_cookie_check(&keys, big_cookies[big_index(i)],
                                 FA_SESSION_COOKIE_LEN, key)) {
        die("cookie_check_new");
    }
    sink += (unsigned char)key[5];
}

static void c_shm_head_new(void *ctx, long i)
{
    char *v;
    apr_size_t len;
    fa_session_t *s;
    int whole;

    (void)ctx;
    if (i % 256 == 0) {
        apr_pool_clear(scratch);
    }
    if (big_shm->get_head(big_shm, big_keys[big_index(i)], scratch,
                          fa_session_head, &v, &len, &whole) != APR_SUCCESS
        || fa_session_decode(scratch, v, len, &s) != APR_SUCCESS) {
        die("shm_head_new");
    }
    sink += (unsigned long)s->user[0] + (unsigned long)whole;
}

/* One counter, as a bearer cache hit counts. */
static void c_metrics_add(void *ctx, long i)
{
    (void)ctx;
    (void)i;
    fa_metrics_bearer_cache(metrics, 1);
}

static void c_jwt_parse(void *ctx, long i)
{
    fa_jwt_t *jwt;
    fa_err_t err;

    (void)ctx;
    if (i % 16 == 0) {
        apr_pool_clear(scratch);
    }
    if (fa_jwt_parse(scratch, token, token_len, &jwt, &err) != APR_SUCCESS) {
        die("parse");
    }
    sink += jwt->sig_len;
}

static void c_jwt_verify(void *ctx, long i)
{
    fa_err_t err;

    (void)ctx; (void)i;
    if (fa_jwt_verify(parsed, jwks, NULL, 0, &err) != APR_SUCCESS) {
        die("verify");
    }
    sink++;
}

static void c_jwt_both(void *ctx, long i)
{
    fa_jwt_t *jwt;
    fa_err_t err;

    (void)ctx;
    if (i % 16 == 0) {
        apr_pool_clear(scratch);
    }
    if (fa_jwt_parse(scratch, token, token_len, &jwt, &err) != APR_SUCCESS
        || fa_jwt_verify(jwt, jwks, NULL, 0, &err) != APR_SUCCESS) {
        die("parse+verify");
    }
    sink++;
}

static EVP_MAC_CTX *mac_ctx;
static EVP_MD *md_sha256;
static EVP_MD_CTX *md_ctx;
static unsigned char id32[32];

static void c_hmac_oneshot(void *ctx, long i)
{
    unsigned char out[32];
    unsigned int ol = sizeof(out);

    (void)ctx; (void)i;
    HMAC(EVP_sha256(), keys.cookie, 32, id32, 32, out, &ol);
    sink += out[0];
}

static void c_hmac_reuse(void *ctx, long i)
{
    unsigned char out[32];
    size_t ol = sizeof(out);

    (void)ctx; (void)i;
    if (EVP_MAC_init(mac_ctx, NULL, 0, NULL) != 1
        || EVP_MAC_update(mac_ctx, id32, 32) != 1
        || EVP_MAC_final(mac_ctx, out, &ol, sizeof(out)) != 1) {
        die("EVP_MAC");
    }
    sink += out[0];
}

static void c_sha256_reuse(void *ctx, long i)
{
    unsigned char h[32];
    unsigned int hl = sizeof(h);

    (void)ctx; (void)i;
    EVP_DigestInit_ex2(md_ctx, md_sha256, NULL);
    EVP_DigestUpdate(md_ctx, token_1k, 1024);
    EVP_DigestFinal_ex(md_ctx, h, &hl);
    sink += h[0];
}

static void c_b64(void *ctx, long i)
{
    unsigned char out[40];
    apr_size_t n;

    (void)ctx; (void)i;
    fa_b64url_decode_buf(cookie, 43, out, sizeof(out), &n);
    sink += n;
}

static void refs_setup(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    mac_ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (!mac_ctx || EVP_MAC_init(mac_ctx, keys.cookie, 32, params) != 1) {
        die("EVP_MAC setup");
    }
    EVP_MAC_free(mac);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_ctx = EVP_MD_CTX_new();
    if (!md_sha256 || !md_ctx) {
        die("EVP_MD setup");
    }
    fa_random(id32, sizeof(id32));
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    long n = (long)(200000 * scale), nrsa = (long)(5000 * scale);
    unsigned char raw[768];
    char *idt;

    if (scale <= 0) {
        scale = 1.0;
        n = 200000;
        nrsa = 5000;
    }
    apr_initialize();
    atexit(apr_terminate);
    apr_pool_create(&root, NULL);
    apr_pool_create(&scratch, root);
    fa_keys_derive(&keys, "a benchmark secret of some length", 33);
    make_session(root);
    make_token(root);
    fa_random(raw, sizeof(raw));
    idt = fa_b64url_encode(root, raw, sizeof(raw));
    idt[1024] = '\0';
    token_1k = idt;
    if (fa_cache_create(root, 10000, 64 * 1024 * 1024, &fcache)
        != APR_SUCCESS) {
        die("fa_cache_create");
    }
    {
        char *k = apr_pstrcat(root, "api://orders", "\n", token_1k, NULL);
        unsigned int hl = sizeof(bkey);
        apr_time_t until = apr_time_now() + apr_time_from_sec(3600);

        EVP_Digest(k, strlen(k), bkey, &hl, EVP_sha256(), NULL);
        fa_cache_put(fcache, bkey, sizeof(bkey), rec, rec_len, until, 0);
        skey_len = (apr_size_t)apr_snprintf(skey, sizeof(skey), "%pp|%s",
                                            (void *)fcache,
                                            "s:AAAAAAAAAAAAAAAAAAAAAA");
        fa_cache_put(fcache, skey, skey_len, rec, rec_len, until, 0);
    }

    printf("session record %lu bytes, RS256 token %lu bytes, %s\n",
           (unsigned long)rec_len, (unsigned long)token_len,
           OpenSSL_version(OPENSSL_VERSION));
    printf("| %-18s | %10s | %10s | %9s |\n", "case", "ns/call",
           "fastest", "calls/run");
    printf("|--------------------|-----------:|-----------:|----------:|\n");
    run_case("cookie_check", c_cookie, NULL, n);
    run_case("cookie_check_bad", c_cookie_bad, NULL, n);
    run_case("session_decode", c_decode, NULL, n);
    run_case("session_decode_head", c_decode_head, NULL, n);
    run_case("session_decode_memo", c_decode_head, &memo, n);
    run_case("session_encode", c_encode, NULL, n);
    run_case("export_10_values", c_export, NULL, n);
    run_case("sha256_1k", c_sha256, NULL, n);
    run_case("bearer_cache_hit", c_bearer_hit, NULL, n);
    run_case("local_copy_hit", c_local_hit, NULL, n);
    shm_setup();
    run_case("shm_get_20000", c_shm_get, NULL, n);
    {
        apr_array_header_t *ids = apr_array_make(root, 1, sizeof(char *));
        fa_err_t merr;

        APR_ARRAY_PUSH(ids, const char *) = "corp";
        if (fa_metrics_create(root, ids, &metrics, &merr) != APR_SUCCESS) {
            die("fa_metrics_create");
        }
        shm_counted = fa_metrics_store_wrap(root, metrics, shm);
    }
    run_case("shm_get_counted", c_shm_get_counted, NULL, n);
    run_case("metrics_add", c_metrics_add, NULL, n);
    if (getenv("MICRO_SESSIONS") && atol(getenv("MICRO_SESSIONS")) >= 2) {
        long big = atol(getenv("MICRO_SESSIONS"));

        big_setup(big);
        printf("| %-18s | %10s | %10s | %9s |\n",
               apr_psprintf(root, "at %ld sessions", big), "", "", "");
        run_case("cookie_check_new", c_cookie_new, NULL, n);
        run_case("shm_head_new", c_shm_head_new, NULL, n);
    }
    run_case("jwt_parse", c_jwt_parse, NULL, n / 4);
    run_case("jwt_verify_rs256", c_jwt_verify, NULL, nrsa);
    run_case("jwt_parse_verify", c_jwt_both, NULL, nrsa);
    refs_setup();
    printf("| %-18s | %10s | %10s | %9s |\n", "reference", "", "", "");
    run_case("ref_hmac_oneshot", c_hmac_oneshot, NULL, n);
    run_case("ref_hmac_reuse", c_hmac_reuse, NULL, n);
    run_case("ref_sha256_reuse", c_sha256_reuse, NULL, n);
    run_case("ref_b64url_43", c_b64, NULL, n);
    printf("(median of %d runs; sink %lu)\n", RUNS, (unsigned long)(sink & 1));
    EVP_MAC_CTX_free(mac_ctx);
    EVP_MD_CTX_free(md_ctx);
    EVP_MD_free(md_sha256);
    apr_pool_destroy(root);
    return 0;
}
