/* SPDX-License-Identifier: Apache-2.0 */
/* seed.c - the benchmark's own seeding tool (issue 24): writes N valid
 * sessions into a session store through mod_fedauth's core, as a sign-in
 * writes them, and their cookies to a file for the load generator. Not
 * part of mod_fedauth.so: t/bench/seed.sh builds it from the core's
 * sources into build/out/bench/seed (no httpd, no endpoint, no directive).
 *
 *   seed --store shm:<file>:<bytes> | redis://... | redis-cluster://...
 *        --secret S --n N [--first I] [--idp bench] [--prefix fedauth:]
 *        [--idle 86400] [--max-age 172800] [--per-user 20]
 *        [--threads 8] [--cookie-name fedauth_session] [--sid 0|1]
 *        [--iss URL] [--aud CLIENT] --out FILE
 *
 * Session i (first, first + 1, ...) belongs to the benchmark's IdP account
 * user<i> (t/bench/setup.mjs benchUser: sub bench-sub-<i>, email, names,
 * locale, two groups). For each one, what fedauth_map_session and
 * fedauth_store_session do in the glue, with the same core functions:
 * the claims (ID token claims merged with the userinfo answer) mapped by
 * fa_claims_map under a provider's default claim rules, kept within the
 * budget (fa_claims_fit), an ID token of the shape and size the test IdP
 * signs (RS256, its issuer --iss and audience --aud; its signature here is
 * random bytes: nobody verifies a
 * stored ID token, it is only sent back as a logout hint), a new id from
 * fa_session_new_id under the keys of FedAuthSecret (fa_keys_derive),
 * fa_session_encode, put with fa_session_expires_at, then index_add into
 * the user's index ("sub") and, with --sid 1, the IdP session's ("sid": the
 * test IdP's ID tokens carry none for the bench's clients), keyed with
 * fa_keys_tag as fedauth_index_key does.
 *
 * Output: one line per session, "<cookie name>=<cookie>\t<user>".
 *
 *   seed --store ... --secret S --inspect FILE   (FILE: Cookie header
 *        values, one a line) prints one JSON line per cookie: the record's
 *        size and field tags as the store holds it, the user, attributes
 *        and roles: what "alike" compares (seeded and signed-in sessions).
 *   seed --store shm:... --stats                 the shm store's counters.
 *   seed --store ... --secret S --probe FILE [--rounds R] [--create 1]
 *        what a request's lookup costs in this process, with the cookies
 *        of FILE (seed's output) asked in turn R times over, as wrk asks
 *        them: ns per fa_session_cookie_check (its per-process memory of
 *        checked cookies holds 65,536) and per get + fa_session_decode.
 *        --create 1: a new shm file of that size (no httpd needed).
 * The shm store is opened with fa_store_shm_open on the file httpd maps
 * (<DefaultRuntimeDir>/fedauth-sessions.shm) with httpd's size: while httpd
 * runs, the writes go through the store's own robust mutex in the shared
 * segment, so every httpd process sees them at once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "fa_util.h"
#include "fa_session.h"
#include "fa_claims.h"
#include "fa_store.h"

/* The test IdP's ID token lifetime (t/idp/server.mjs idTokenTTL). */
#define ID_TOKEN_TTL 600

typedef struct opts_t {
    const char *store, *secret, *idp, *prefix, *out, *cookie_name;
    const char *inspect, *iss, *aud, *probe;
    int rounds, create;
    int stats;
    long n, first;
    int idle, max_age, per_user, threads;
    int sid;                      /* --sid 1: the ID token has a sid */
} opts_t;

typedef struct job_t {
    const opts_t *o;
    fa_store_t *st;
    fa_keys_t keys;
    char **lines;                 /* one per session, malloc'ed */
    long next;                    /* under mu */
    long failed;
    const char *why;
    pthread_mutex_t mu;
} job_t;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *b64(apr_pool_t *p, const void *buf, apr_size_t len)
{
    return fa_b64url_encode(p, (const unsigned char *)buf, len);
}

static char *rand_b64(apr_pool_t *p, apr_size_t bytes)
{
    unsigned char buf[512];

    RAND_bytes(buf, (int)bytes);
    return b64(p, buf, bytes);
}

/* The claims a sign-in of user<i> at the test IdP comes to: the ID
 * token's (as oidc-provider signs them for scopes openid email profile)
 * with the userinfo answer merged in. */
static json_t *user_claims(apr_pool_t *p, const opts_t *o, long i,
                           apr_int64_t now, const char *sid)
{
    static const char *const locales[] = { "en-GB", "de-DE", "fr-FR",
                                           "nl-NL" };
    char id[32], team[16];

    apr_snprintf(id, sizeof(id), "%05ld", i);
    apr_snprintf(team, sizeof(team), "team-%02ld", i % 50);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s,"
                     " s:b, s:s, s:s, s:s, s:s, s:s, s:[s,s]}",
                     "iss", o->iss,
                     "sub", apr_pstrcat(p, "bench-sub-", id, NULL),
                     "aud", o->aud,
                     "exp", (json_int_t)(now + ID_TOKEN_TTL),
                     "iat", (json_int_t)now,
                     "nonce", rand_b64(p, 32), "at_hash", rand_b64(p, 16),
                     "sid", sid,
                     "email", apr_pstrcat(p, "user", id,
                                          "@bench.example.org", NULL),
                     "email_verified", 1,
                     "preferred_username", apr_pstrcat(p, "user", id, NULL),
                     "name", apr_pstrcat(p, "Bench User ", id, NULL),
                     "given_name", "Bench",
                     "family_name", apr_pstrcat(p, "User ", id, NULL),
                     "locale", locales[i % 4],
                     "groups", "staff", team);
}

/* An ID token of the test IdP's shape: RS256 header with a kid, the
 * payload of its claims (the test IdP puts the profile and email claims in
 * the ID token too), a 2048-bit signature's length of random bytes. */
static const char *id_token(apr_pool_t *p, json_t *claims)
{
    static const char *const in_token[] = {
        "sub", "email", "email_verified", "name", "given_name", "family_name",
        "preferred_username", "locale", "groups", "nonce", "at_hash", "sid",
        "aud", "exp", "iat", "iss", NULL };
    const char *hdr = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":"
                      "\"rsa-1\"}";
    json_t *t = json_object();
    char *payload;
    int k;

    for (k = 0; in_token[k]; k++) {
        if (json_object_get(claims, in_token[k])) {
            json_object_set(t, in_token[k], json_object_get(claims,
                                                            in_token[k]));
        }
    }
    payload = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    hdr = apr_pstrcat(p, b64(p, hdr, strlen(hdr)), ".",
                      b64(p, payload, strlen(payload)), ".",
                      rand_b64(p, 256), NULL);
    free(payload);
    return hdr;
}

/* The index key fedauth_index_key makes for kind, idp and value. */
static const char *index_key(apr_pool_t *p, const fa_keys_t *keys,
                             const char *kind, const char *idp,
                             const char *value)
{
    return apr_pstrcat(p, "i:", fa_keys_tag(p, keys, kind,
                       apr_pstrcat(p, idp, "\n", value, NULL)), NULL);
}

/* Session i: mapped, stored and indexed; its output line into *line. */
static const char *seed_one(job_t *j, long i, apr_pool_t *p, char **line)
{
    const opts_t *o = j->o;
    fa_claims_conf_t cc;
    fa_session_t s;
    apr_array_header_t *shed, *dropped;
    fa_err_t err;
    json_t *claims;
    char *cookie, *key, *rec;
    apr_size_t len;
    apr_int64_t now = fa_now_sec();
    apr_status_t rv;

    memset(&cc, 0, sizeof(cc));
    memset(&s, 0, sizeof(s));
    memset(&err, 0, sizeof(err));
    cc.idp_id = o->idp;
    claims = user_claims(p, o, i, now, rand_b64(p, 16));
    if (!o->sid) {
        json_object_del(claims, "sid");
    }
    rv = fa_claims_map(p, &cc, claims, &s, &err);
    if (rv == APR_SUCCESS) {
        s.created = s.last_seen = s.userinfo_at = now;
        s.token_exp = now + ID_TOKEN_TTL;
        s.idp = o->idp;
        s.sid = o->sid ? apr_pstrdup(p, json_string_value(json_object_get(
                                          claims, "sid"))) : NULL;
        s.id_token = id_token(p, claims);
        rv = fa_claims_fit(p, &s, FA_SESSION_BUDGET, &shed, &err);
    }
    json_decref(claims);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "claims: %s", err.desc);
    }
    fa_session_encode(p, &s, &rec, &len);
    if (fa_session_new_id(p, &j->keys, &cookie, &key) != APR_SUCCESS) {
        return "no random numbers";
    }
    if (j->st->put(j->st, key, rec, len,
                   fa_session_expires_at(&s, o->idle, o->max_age), p)
        != APR_SUCCESS) {
        return "put refused";
    }
    if ((s.sid && j->st->index_add(j->st, index_key(p, &j->keys, "sid",
                                                    s.idp, s.sid),
                                   key, s.created + o->max_age, o->per_user,
                                   p, &dropped) != APR_SUCCESS)
        || j->st->index_add(j->st, index_key(p, &j->keys, "sub", s.idp,
                                             s.sub),
                            key, s.created + o->max_age, o->per_user, p,
                            &dropped) != APR_SUCCESS) {
        return "index_add refused";
    }
    *line = strdup(apr_pstrcat(p, o->cookie_name, "=", cookie, "\t", s.user,
                               NULL));
    return NULL;
}

static void *worker(void *arg)
{
    job_t *j = arg;
    apr_pool_t *p;
    const char *why;
    long i;

    apr_pool_create(&p, NULL);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        i = j->next < j->o->n ? j->next++ : -1;
        pthread_mutex_unlock(&j->mu);
        if (i < 0) {
            break;
        }
        why = seed_one(j, j->o->first + i, p, &j->lines[i]);
        if (why) {
            pthread_mutex_lock(&j->mu);
            if (!j->failed++) {
                j->why = strdup(why);
            }
            pthread_mutex_unlock(&j->mu);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

/* shm:<file>:<bytes> or a Redis URL: the store, or exits. */
static int probe(const opts_t *o, fa_store_t *st, apr_pool_t *p);
static fa_store_t *open_store(apr_pool_t *p, const char *spec, const char
                              *prefix, int *threads, int create)
{
    fa_store_t *st = NULL;
    fa_err_t err;
    const char *why;
    char *path, *colon;
    int reused = 0;

    memset(&err, 0, sizeof(err));
    if (!strncmp(spec, "shm:", 4)) {
        fa_shm_conf_t sc;
        struct stat sb;

        path = apr_pstrdup(p, spec + 4);
        colon = strrchr(path, ':');
        if (!colon) {
            fprintf(stderr, "seed: --store shm:<file>:<bytes>\n");
            exit(2);
        }
        *colon = '\0';
        memset(&sc, 0, sizeof(sc));
        sc.path = path;
        sc.size = (apr_size_t)apr_atoi64(colon + 1);
        /* Never the store's own replacement of a file of another size:
         * httpd would keep mapping the old one and see nothing. */
        if (!create
            && (stat(path, &sb) != 0 || (apr_size_t)sb.st_size != sc.size)) {
            fprintf(stderr, "seed: %s is not a store of %lu bytes: start "
                    "httpd with FedAuthSessionStore shm:%lu first\n", path,
                    (unsigned long)sc.size, (unsigned long)sc.size);
            exit(1);
        }
        if (fa_store_shm_open(p, &sc, &st, &reused, &err) != APR_SUCCESS) {
            fprintf(stderr, "seed: %s\n", err.desc);
            exit(1);
        }
        if (!reused && !create) {
            fprintf(stderr, "seed: %s was made by another version of the "
                    "store: httpd does not see this one\n", path);
            exit(1);
        }
        *threads = 1;             /* one lock: more threads only queue */
        return st;
    }
    {
        fa_redis_conf_t rc;

        memset(&rc, 0, sizeof(rc));
        if ((why = fa_redis_parse(p, spec, &rc)) != NULL) {
            fprintf(stderr, "seed: %s: %s\n", spec, why);
            exit(2);
        }
        rc.prefix = prefix;
        rc.timeout_ms = 5000;
        if (fa_store_redis_create(p, &rc, &st) != APR_SUCCESS) {
            fprintf(stderr, "seed: cannot make a Redis store for %s\n", spec);
            exit(1);
        }
    }
    return st;
}

/* The field tags of an encoded record, in order ("FA1\n" then
 * "<tag><len>:<bytes>\n" each). */
static const char *record_tags(apr_pool_t *p, const char *rec,
                               apr_size_t len)
{
    char *tags = apr_palloc(p, len + 1), *end;
    apr_size_t off = 4, n = 0;
    unsigned long flen;

    while (off < len) {
        tags[n++] = rec[off];
        flen = strtoul(rec + off + 1, &end, 10);
        off = (apr_size_t)(end - rec) + 1 + flen + 1;
    }
    tags[n] = '\0';
    return tags;
}

/* --inspect: each cookie's record, one JSON line each. */
static int inspect(const opts_t *o, fa_store_t *st, apr_pool_t *p)
{
    fa_keys_t keys;
    fa_session_t *s;
    char line[8192], key[FA_SESSION_KEY_LEN + 1], *v, *e, *rec, *copy;
    apr_size_t len;
    FILE *f = fopen(o->inspect, "r");

    if (!f) {
        perror(o->inspect);
        return 1;
    }
    fa_keys_derive(&keys, o->secret, strlen(o->secret));
    while (fgets(line, sizeof(line), f)) {
        v = strstr(line, o->cookie_name);
        v = v ? v + strlen(o->cookie_name) + 1 : NULL;
        e = v ? v + strcspn(v, "; \t\r\n") : NULL;
        if (!v || !fa_session_cookie_check(&keys, v, (apr_size_t)(e - v),
                                           key)
            || st->get(st, key, p, &rec, &len) != APR_SUCCESS) {
            printf("{\"found\":false}\n");
            continue;
        }
        copy = apr_pmemdup(p, rec, len + 1);
        if (fa_session_decode(p, copy, len, &s) != APR_SUCCESS) {
            printf("{\"found\":true,\"decoded\":false}\n");
            continue;
        }
        printf("{\"found\":true,\"bytes\":%lu,\"tags\":\"%s\",\"user\":"
               "\"%s\",\"attrs\":%d,\"roles\":\"%s\",\"id_token\":%lu,\"jwt\":\"%s\"}\n",
               (unsigned long)len, record_tags(p, rec, len), s->user,
               s->attrs ? s->attrs->nelts : 0, s->roles,
               (unsigned long)(s->id_token ? strlen(s->id_token) : 0),
               s->id_token ? s->id_token : "");
    }
    fclose(f);
    return 0;
}

/* The cookie values of a file of seed's output (or Cookie header values). */
static apr_array_header_t *read_cookies(const opts_t *o, apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 1024, sizeof(char *));
    char line[8192], *v;
    FILE *f = fopen(o->probe, "r");

    if (!f) {
        perror(o->probe);
        exit(1);
    }
    while (fgets(line, sizeof(line), f)) {
        v = strstr(line, o->cookie_name);
        if (v) {
            v += strlen(o->cookie_name) + 1;
            v[strcspn(v, "; \t\r\n")] = '\0';
            APR_ARRAY_PUSH(out, char *) = apr_pstrdup(p, v);
        }
    }
    fclose(f);
    return out;
}

static double cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --probe: CPU ns (this thread's: a busy machine's preemption left out)
 * per cookie check, then per get + decode, cookies in turn, each loop
 * timed as a whole. The first round of checks fills this process's
 * memory of checked cookies, as a new worker's first requests do. */
static int probe(const opts_t *o, fa_store_t *st, apr_pool_t *p)
{
    apr_array_header_t *cookies = read_cookies(o, p);
    fa_keys_t keys;
    fa_session_t *s;
    char *keyv, *rec;
    apr_size_t len;
    apr_pool_t *rp;
    double t0, t_first, t_check, t_get;
    long bad = 0;
    int r, i, n = cookies->nelts, rounds = o->rounds > 0 ? o->rounds : 3;

    fa_keys_derive(&keys, o->secret, strlen(o->secret));
    apr_pool_create(&rp, p);
    keyv = apr_palloc(p, (apr_size_t)n * (FA_SESSION_KEY_LEN + 1));
    t0 = cpu_s();
    for (i = 0; i < n; i++) {
        const char *c = APR_ARRAY_IDX(cookies, i, char *);

        bad += !fa_session_cookie_check(&keys, c, strlen(c),
                                        keyv + i * (FA_SESSION_KEY_LEN + 1));
    }
    t_first = cpu_s() - t0;
    t0 = cpu_s();
    for (r = 0; r < rounds; r++) {
        for (i = 0; i < n; i++) {
            const char *c = APR_ARRAY_IDX(cookies, i, char *);

            bad += !fa_session_cookie_check(&keys, c, strlen(c),
                                            keyv + i * (FA_SESSION_KEY_LEN
                                                        + 1));
        }
    }
    t_check = cpu_s() - t0;
    t0 = cpu_s();
    for (r = 0; r < rounds; r++) {
        for (i = 0; i < n; i++) {
            if (st->get(st, keyv + i * (FA_SESSION_KEY_LEN + 1), rp, &rec,
                        &len) != APR_SUCCESS
                || fa_session_decode(rp, rec, len, &s) != APR_SUCCESS) {
                bad++;
            }
            apr_pool_clear(rp);
        }
    }
    t_get = cpu_s() - t0;
    printf("{\"cookies\":%d,\"rounds\":%d,\"first_check_ns\":%.0f,"
           "\"check_ns\":%.0f,\"get_decode_ns\":%.0f,\"bad\":%ld}\n",
           n, rounds, 1e9 * t_first / n, 1e9 * t_check / ((double)n * rounds),
           1e9 * t_get / ((double)n * rounds), bad);
    return bad ? 1 : 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: seed --store shm:<file>:<bytes>|redis://...|"
            "redis-cluster://... --secret S --n N --out FILE [--first 1] "
            "[--idp bench] [--prefix fedauth:] [--idle 86400] [--max-age "
            "172800] [--per-user 20] [--threads 8] [--cookie-name "
            "fedauth_session] [--sid 0|1] [--iss URL] [--aud CLIENT]\n");
    exit(2);
}

static void parse(int argc, char **argv, opts_t *o)
{
    int a;

    memset(o, 0, sizeof(*o));
    o->idp = "bench";
    o->prefix = "fedauth:";
    o->cookie_name = "fedauth_session";
    o->first = 1;
    o->idle = 86400;
    o->max_age = 172800;
    o->per_user = 20;
    o->threads = 8;
    o->iss = "http://127.0.0.1:8000";
    o->aud = "bench-B";
    if (argc > 1 && !strcmp(argv[argc - 1], "--stats")) {
        o->stats = 1;
        argc--;
    }
    for (a = 1; a + 1 < argc; a += 2) {
        const char *k = argv[a], *v = argv[a + 1];

        if (!strcmp(k, "--store")) o->store = v;
        else if (!strcmp(k, "--secret")) o->secret = v;
        else if (!strcmp(k, "--n")) o->n = atol(v);
        else if (!strcmp(k, "--first")) o->first = atol(v);
        else if (!strcmp(k, "--idp")) o->idp = v;
        else if (!strcmp(k, "--prefix")) o->prefix = v;
        else if (!strcmp(k, "--out")) o->out = v;
        else if (!strcmp(k, "--idle")) o->idle = atoi(v);
        else if (!strcmp(k, "--max-age")) o->max_age = atoi(v);
        else if (!strcmp(k, "--per-user")) o->per_user = atoi(v);
        else if (!strcmp(k, "--threads")) o->threads = atoi(v);
        else if (!strcmp(k, "--cookie-name")) o->cookie_name = v;
        else if (!strcmp(k, "--inspect")) o->inspect = v;
        else if (!strcmp(k, "--probe")) o->probe = v;
        else if (!strcmp(k, "--rounds")) o->rounds = atoi(v);
        else if (!strcmp(k, "--create")) o->create = atoi(v);
        else if (!strcmp(k, "--sid")) o->sid = atoi(v);
        else if (!strcmp(k, "--iss")) o->iss = v;
        else if (!strcmp(k, "--aud")) o->aud = v;
        else usage();
    }
    if (o->store && (o->stats || ((o->inspect || o->probe) && o->secret))) {
        return;
    }
    if (a != argc || !o->store || !o->secret || o->n <= 0 || !o->out
        || o->threads < 1 || o->threads > 64) {
        usage();
    }
}

int main(int argc, char **argv)
{
    opts_t o;
    job_t j;
    apr_pool_t *p;
    pthread_t th[64];
    FILE *f;
    double t0, t1;
    long i, written = 0;
    int t;

    parse(argc, argv, &o);
    apr_initialize();
    apr_pool_create(&p, NULL);
    memset(&j, 0, sizeof(j));
    j.o = &o;
    pthread_mutex_init(&j.mu, NULL);
    if (o.secret) {
        fa_keys_derive(&j.keys, o.secret, strlen(o.secret));
    }
    j.st = open_store(p, o.store, o.prefix, &o.threads, o.create);
    if (o.stats) {
        fa_shm_stats_t ss;

        fa_store_shm_stats(j.st, &ss);
        printf("{\"size\":%lu,\"blocks\":%u,\"blocks_used\":%u,"
               "\"entries\":%u,\"sessions\":%u,\"evicted\":%lu}\n",
               (unsigned long)ss.size, ss.blocks, ss.blocks_used, ss.entries,
               ss.sessions, (unsigned long)ss.evicted);
        return 0;
    }
    if (o.inspect) {
        return inspect(&o, j.st, p);
    }
    if (o.probe) {
        return probe(&o, j.st, p);
    }
    j.lines = calloc((size_t)o.n, sizeof(char *));
    t0 = now_s();
    for (t = 0; t < o.threads; t++) {
        pthread_create(&th[t], NULL, worker, &j);
    }
    for (t = 0; t < o.threads; t++) {
        pthread_join(th[t], NULL);
    }
    t1 = now_s();
    if (!(f = fopen(o.out, "w"))) {
        perror(o.out);
        return 1;
    }
    for (i = 0; i < o.n; i++) {
        if (j.lines[i]) {
            fprintf(f, "%s\n", j.lines[i]);
            free(j.lines[i]);
            written++;
        }
    }
    fclose(f);
    printf("{\"seeded\":%ld,\"failed\":%ld,\"seconds\":%.3f,"
           "\"per_second\":%.0f,\"threads\":%d}\n", written, j.failed,
           t1 - t0, written / (t1 - t0 > 0 ? t1 - t0 : 1e-9), o.threads);
    if (j.failed) {
        fprintf(stderr, "seed: %ld failed, the first: %s\n", j.failed,
                j.why);
    }
    free(j.lines);
    apr_pool_destroy(p);
    apr_terminate();
    return j.failed ? 1 : 0;
}
