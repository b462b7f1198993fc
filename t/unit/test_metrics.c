/* SPDX-License-Identifier: Apache-2.0 */
/* test_metrics.c - the counters of /fedauth/metrics: counted by several
 * processes and threads at once into one shared mapping, every counter
 * under its labels, the histogram's buckets and sum, a store that counts
 * (the embedded store, and a Redis store whose server is down for the
 * errors), and the text: checked line by line against the exposition
 * format 0.0.4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "unit.h"
#include "fa_metrics.h"
#include "fa_store.h"
#include "fa_util.h"
#include "fa_idp.h"
#include "fa_status.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static fa_metrics_t *make(apr_pool_t *p, const char *ids)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    char *list = apr_pstrdup(p, ids), *last, *id;
    fa_metrics_t *m;
    fa_err_t err;

    for (id = apr_strtok(list, " ", &last); id;
         id = apr_strtok(NULL, " ", &last)) {
        APR_ARRAY_PUSH(a, const char *) = id;
    }
    memset(&err, 0, sizeof(err));
    ck_assert_msg(fa_metrics_create(p, a, &m, &err) == APR_SUCCESS, "%s",
                  err.desc);
    return m;
}

static char *text_of(fa_metrics_t *m)
{
    char *t;
    apr_size_t len;

    fa_metrics_format(m, NULL, NULL, pool, &t, &len);
    ck_assert_uint_eq(strlen(t), len);
    return t;
}

/* The value of one series (name and labels exactly as written), or -1
 * when the text has no such line. */
static double value(const char *text, const char *series)
{
    apr_size_t n = strlen(series);
    const char *l = text;

    while (l && *l) {
        if (!strncmp(l, series, n) && l[n] == ' ') {
            return strtod(l + n + 1, NULL);
        }
        l = strchr(l, '\n');
        l = l ? l + 1 : NULL;
    }
    return -1;
}

/* A strict reading of the text format: every line is # HELP, # TYPE or
 * a sample; a family has one HELP and one TYPE, before its samples, and
 * its samples in one group; a sample's name is the family's (with
 * _bucket, _sum, _count for a histogram); label values are quoted with
 * only \\, \" and \n escaped; values are numbers; no series twice; the
 * buckets of a histogram grow and end with +Inf, equal to _count. */
static void check_format(const char *text)
{
    char *copy = apr_pstrdup(pool, text), *line, *last;
    apr_hash_t *types = apr_hash_make(pool), *series = apr_hash_make(pool),
               *done = apr_hash_make(pool);
    const char *family = NULL, *type = NULL;
    double prev_bucket = -1, inf = -1;
    int lines = 0;

    ck_assert(text[strlen(text) - 1] == '\n');
    for (line = apr_strtok(copy, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        char name[128], kind[32], *p, *end;
        double v;

        lines++;
        if (!strncmp(line, "# HELP ", 7)) {
            ck_assert_int_eq(sscanf(line + 7, "%127s", name), 1);
            ck_assert_msg(!apr_hash_get(done, name, APR_HASH_KEY_STRING),
                          "family %s twice", name);
            apr_hash_set(done, apr_pstrdup(pool, name), APR_HASH_KEY_STRING,
                         "");
            family = apr_pstrdup(pool, name);
            type = NULL;
            continue;
        }
        if (!strncmp(line, "# TYPE ", 7)) {
            ck_assert_int_eq(sscanf(line + 7, "%127s %31s", name, kind), 2);
            ck_assert_str_eq(name, family);
            ck_assert_ptr_null(type);
            ck_assert(!strcmp(kind, "counter") || !strcmp(kind, "gauge")
                      || !strcmp(kind, "histogram"));
            type = apr_pstrdup(pool, kind);
            apr_hash_set(types, family, APR_HASH_KEY_STRING, type);
            continue;
        }
        ck_assert_msg(line[0] != '#', "stray comment: %s", line);
        ck_assert_msg(type != NULL, "sample before TYPE: %s", line);
        p = line + strspn(line, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ_:0123456789");
        apr_cpystrn(name, line, (apr_size_t)(p - line) + 1 < sizeof(name)
                    ? (apr_size_t)(p - line) + 1 : sizeof(name));
        if (!strcmp(type, "histogram")) {
            const char *suffix = name + strlen(family);
            ck_assert(!strncmp(name, family, strlen(family)));
            ck_assert_msg(!strcmp(suffix, "_bucket") || !strcmp(suffix, "_sum")
                          || !strcmp(suffix, "_count"), "%s", name);
        }
        else {
            ck_assert_str_eq(name, family);
        }
        if (*p == '{') {
            p++;
            while (*p != '}') {
                ck_assert(strchr("abcdefghijklmnopqrstuvwxyz_", *p) != NULL);
                p += strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");
                ck_assert(p[0] == '=' && p[1] == '"');
                for (p += 2; *p != '"'; p++) {
                    ck_assert(*p && *p != '\n');
                    if (*p == '\\') {
                        p++;
                        ck_assert(*p == '\\' || *p == '"' || *p == 'n');
                    }
                }
                p++;
                ck_assert(*p == ',' || *p == '}');
                if (*p == ',') {
                    p++;
                }
            }
            p++;
        }
        ck_assert_msg(*p == ' ', "%s", line);
        v = strtod(p + 1, &end);
        ck_assert_msg(*end == '\0' && end != p + 1 && v >= 0, "%s", line);
        ck_assert_msg(!apr_hash_get(series, line, (apr_ssize_t)(p - line)),
                      "series twice: %s", line);
        apr_hash_set(series, line, (apr_ssize_t)(p - line), "");
        if (!strcmp(type, "histogram")) {
            if (strstr(name, "_bucket")) {
                ck_assert_msg(v >= prev_bucket, "%s", line);
                prev_bucket = v;
                if (strstr(line, "le=\"+Inf\"")) {
                    inf = v;
                }
            }
            else if (strstr(name, "_count")) {
                ck_assert(inf == v);
                prev_bucket = inf = -1;
            }
        }
    }
    ck_assert_int_gt(lines, 50);
}

START_TEST(counts_under_their_labels)
{
    fa_metrics_t *m = make(pool, "corp google");
    char *t;

    fa_metrics_signin(m, "corp", NULL);
    fa_metrics_signin(m, "corp", "ok");
    fa_metrics_signin(m, "corp", "state_mismatch");
    fa_metrics_signin(m, "google", "wrong_nonce");
    fa_metrics_signin(m, "google", "something_new");
    fa_metrics_signin(m, "nobody", NULL);    /* no such provider: not counted */
    fa_metrics_session_created(m, "corp");
    fa_metrics_session_ended(m, FA_METRICS_END_LOGOUT, 1);
    fa_metrics_session_ended(m, FA_METRICS_END_BACKCHANNEL, 3);
    fa_metrics_session_ended(m, FA_METRICS_END_USER_LIMIT, 0);
    fa_metrics_session_rekeyed(m);
    fa_metrics_session_rekeyed(m);
    fa_metrics_fetch(m, "corp", FA_METRICS_DISCOVERY, 1);
    fa_metrics_fetch(m, "corp", FA_METRICS_JWKS, 1);
    fa_metrics_fetch(m, "google", FA_METRICS_JWKS, 0);
    fa_metrics_bearer_cache(m, 1);
    fa_metrics_bearer_cache(m, 1);
    fa_metrics_bearer_cache(m, 0);
    t = text_of(m);
    check_format(t);
    ck_assert(value(t, "fedauth_signins_total{provider=\"corp\","
                    "outcome=\"ok\"}") == 2);
    ck_assert(value(t, "fedauth_signins_total{provider=\"corp\","
                    "outcome=\"state_mismatch\"}") == 1);
    ck_assert(value(t, "fedauth_signins_total{provider=\"google\","
                    "outcome=\"wrong_nonce\"}") == 1);
    ck_assert(value(t, "fedauth_signins_total{provider=\"google\","
                    "outcome=\"other\"}") == 1);
    ck_assert(value(t, "fedauth_signins_total{provider=\"google\","
                    "outcome=\"ok\"}") == 0);
    ck_assert(value(t, "fedauth_signins_total{provider=\"nobody\","
                    "outcome=\"ok\"}") == -1);
    ck_assert(value(t, "fedauth_sessions_created_total{provider=\"corp\"}")
              == 1);
    ck_assert(value(t, "fedauth_sessions_ended_total{reason=\"logout\"}")
              == 1);
    ck_assert(value(t, "fedauth_sessions_ended_total{reason=\"backchannel\"}")
              == 3);
    ck_assert(value(t, "fedauth_sessions_ended_total{reason=\"user_limit\"}")
              == 0);
    ck_assert(value(t, "fedauth_sessions_rekeyed_total") == 2);
    ck_assert(value(t, "fedauth_idp_fetches_total{provider=\"corp\","
                    "document=\"discovery\"}") == 1);
    ck_assert(value(t, "fedauth_idp_fetches_total{provider=\"google\","
                    "document=\"jwks\"}") == 1);
    ck_assert(value(t, "fedauth_idp_fetch_failures_total{provider=\"google\","
                    "document=\"jwks\"}") == 1);
    ck_assert(value(t, "fedauth_idp_fetch_failures_total{provider=\"corp\","
                    "document=\"jwks\"}") == 0);
    ck_assert(value(t, "fedauth_bearer_cache_hits_total") == 2);
    ck_assert(value(t, "fedauth_bearer_cache_misses_total") == 1);
    /* Every outcome is shown for every provider, zero or not, so that a
     * rate over the first failure of a kind is not lost. */
    ck_assert(value(t, "fedauth_signins_total{provider=\"google\","
                    "outcome=\"invalid_signature\"}") == 0);
}
END_TEST

START_TEST(many_providers)
{
    /* 40 providers: far more text than the first buffer holds. */
    char ids[40 * 8] = "", *t;
    fa_metrics_t *m;
    int i;

    for (i = 0; i < 40; i++) {
        apr_snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%sp%d",
                     i ? " " : "", i);
    }
    m = make(pool, ids);
    for (i = 0; i < 40; i++) {
        fa_metrics_signin(m, apr_psprintf(pool, "p%d", i),
                          i % 2 ? NULL : "token_error");
    }
    t = text_of(m);
    ck_assert_uint_gt(strlen(t), 64 * 1024);
    check_format(t);
    for (i = 0; i < 40; i++) {
        ck_assert(value(t, apr_psprintf(pool, "fedauth_signins_total"
                        "{provider=\"p%d\",outcome=\"%s\"}", i,
                        i % 2 ? "ok" : "token_error")) == 1);
    }
    ck_assert(value(t, "fedauth_bearer_cache_misses_total") == 0);
}
END_TEST

START_TEST(nothing_without_metrics)
{
    /* Metrics off: every count is a no-op, a store is not wrapped. */
    fa_store_t st;

    memset(&st, 0, sizeof(st));
    fa_metrics_signin(NULL, "corp", NULL);
    fa_metrics_session_created(NULL, "corp");
    fa_metrics_session_ended(NULL, FA_METRICS_END_EXPIRED, 1);
    fa_metrics_fetch(NULL, "corp", FA_METRICS_JWKS, 0);
    fa_metrics_bearer_cache(NULL, 1);
    fa_metrics_store_op(NULL, FA_METRICS_OP_GET, 10, 1);
    ck_assert_ptr_eq(fa_metrics_store_wrap(pool, NULL, &st), &st);
}
END_TEST

START_TEST(histogram_buckets_and_sum)
{
    fa_metrics_t *m = make(pool, "corp");
    char *t;

    /* A bound belongs to its bucket (le: less or equal). */
    fa_metrics_store_op(m, FA_METRICS_OP_GET, 1000, 0);
    fa_metrics_store_op(m, FA_METRICS_OP_GET, 1001, 0);
    fa_metrics_store_op(m, FA_METRICS_OP_GET, 2000000, 0);
    fa_metrics_store_op(m, FA_METRICS_OP_GET, 3000000000ULL, 1);
    fa_metrics_store_op(m, FA_METRICS_OP_DEL, 400, 0);
    t = text_of(m);
    check_format(t);
    ck_assert(value(t, "fedauth_store_operation_seconds_bucket{op=\"get\","
                    "le=\"0.000001\"}") == 1);
    ck_assert(value(t, "fedauth_store_operation_seconds_bucket{op=\"get\","
                    "le=\"0.000005\"}") == 2);
    ck_assert(value(t, "fedauth_store_operation_seconds_bucket{op=\"get\","
                    "le=\"0.001\"}") == 2);
    ck_assert(value(t, "fedauth_store_operation_seconds_bucket{op=\"get\","
                    "le=\"0.0025\"}") == 3);
    ck_assert(value(t, "fedauth_store_operation_seconds_bucket{op=\"get\","
                    "le=\"2.5\"}") == 3);
    ck_assert(value(t, "fedauth_store_operation_seconds_bucket{op=\"get\","
                    "le=\"+Inf\"}") == 4);
    ck_assert(value(t, "fedauth_store_operation_seconds_count{op=\"get\"}")
              == 4);
    ck_assert_ptr_nonnull(strstr(t, "fedauth_store_operation_seconds_sum"
                                 "{op=\"get\"} 3.002002001\n"));
    ck_assert_ptr_nonnull(strstr(t, "fedauth_store_operation_seconds_sum"
                                 "{op=\"del\"} 0.000000400\n"));
    ck_assert(value(t, "fedauth_store_errors_total{op=\"get\"}") == 1);
    ck_assert(value(t, "fedauth_store_errors_total{op=\"del\"}") == 0);
    ck_assert(value(t, "fedauth_store_operation_seconds_count{op=\"put\"}")
              == 0);
}
END_TEST

START_TEST(label_values_escaped)
{
    fa_metrics_t *m;
    char *t;

    ck_assert_str_eq(fa_metrics_label_escape(pool, "corp"), "corp");
    ck_assert_str_eq(fa_metrics_label_escape(pool, "a\\b\"c\nd"),
                     "a\\\\b\\\"c\\nd");
    /* Provider ids are [a-z0-9_-] (the configuration says so), but the
     * text would stay well-formed whatever they were. */
    m = make(pool, "we\"ird");
    fa_metrics_signin(m, "we\"ird", NULL);
    t = text_of(m);
    check_format(t);
    ck_assert(value(t, "fedauth_signins_total{provider=\"we\\\"ird\","
                    "outcome=\"ok\"}") == 1);
}
END_TEST

/* Several processes and threads count at once, without a lock: every
 * increment is there. */
#define KIDS 4
#define THREADS 4
#define PER_THREAD 20000

static void *APR_THREAD_FUNC hammer(apr_thread_t *th, void *data)
{
    fa_metrics_t *m = data;
    int i;

    for (i = 0; i < PER_THREAD; i++) {
        fa_metrics_signin(m, "corp", i % 2 ? NULL : "state_mismatch");
        fa_metrics_store_op(m, FA_METRICS_OP_GET, 500, 0);
        fa_metrics_bearer_cache(m, 1);
    }
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

START_TEST(processes_and_threads_share_them)
{
    fa_metrics_t *m = make(pool, "corp google");
    pid_t kids[KIDS];
    int k, status;
    char *t;
    double all = (double)KIDS * THREADS * PER_THREAD;

    for (k = 0; k < KIDS; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            apr_thread_t *th[THREADS];
            apr_status_t rv;
            apr_pool_t *cp;
            int i;

            apr_pool_create(&cp, NULL);
            for (i = 0; i < THREADS; i++) {
                apr_thread_create(&th[i], NULL, hammer, m, cp);
            }
            for (i = 0; i < THREADS; i++) {
                apr_thread_join(&rv, th[i]);
            }
            _exit(0);
        }
    }
    for (k = 0; k < KIDS; k++) {
        ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    t = text_of(m);
    check_format(t);
    ck_assert(value(t, "fedauth_signins_total{provider=\"corp\","
                    "outcome=\"ok\"}") == all / 2);
    ck_assert(value(t, "fedauth_signins_total{provider=\"corp\","
                    "outcome=\"state_mismatch\"}") == all / 2);
    ck_assert(value(t, "fedauth_store_operation_seconds_count{op=\"get\"}")
              == all);
    ck_assert(value(t, "fedauth_bearer_cache_hits_total") == all);
    ck_assert_ptr_nonnull(strstr(t, apr_psprintf(pool,
        "fedauth_store_operation_seconds_sum{op=\"get\"} %.9f\n",
        all * 500 / 1e9)));
}
END_TEST

START_TEST(a_store_that_counts)
{
    fa_metrics_t *m = make(pool, "corp");
    fa_shm_conf_t conf;
    fa_store_t *shm, *st;
    apr_array_header_t *dropped, *members;
    fa_shm_stats_t stats;
    fa_err_t err;
    char *v, *t;
    apr_size_t len;
    int reused;

    memset(&conf, 0, sizeof(conf));
    memset(&err, 0, sizeof(err));
    conf.size = 1 << 20;
    ck_assert_int_eq(fa_store_shm_open(pool, &conf, &shm, &reused, &err),
                     APR_SUCCESS);
    st = fa_metrics_store_wrap(pool, m, shm);
    ck_assert_ptr_ne(st, shm);
    ck_assert_str_eq(st->name, shm->name);
    ck_assert_int_eq(st->copy_ms, shm->copy_ms);
    ck_assert_int_eq(st->put(st, "s:a", "one", 3, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(st->get(st, "s:a", pool, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "one");
    ck_assert_uint_eq(st->version(st, "s:a"), shm->version(shm, "s:a"));
    ck_assert_int_eq(st->get(st, "s:none", pool, &v, &len), APR_NOTFOUND);
    ck_assert_int_eq(st->take(st, "s:a", pool, &v, &len), APR_SUCCESS);
    ck_assert_int_eq(st->del(st, "s:a", pool), APR_SUCCESS);
    ck_assert_int_eq(st->index_add(st, "i:u", "s:b", fa_now_sec() + 60, 5,
                                   pool, &dropped), APR_SUCCESS);
    ck_assert_int_eq(st->index_take(st, "i:u", pool, &members), APR_SUCCESS);
    t = text_of(m);
    check_format(t);
    ck_assert(value(t, "fedauth_store_operation_seconds_count{op=\"get\"}")
              == 2);
    ck_assert(value(t, "fedauth_store_operation_seconds_count{op=\"put\"}")
              == 1);
    ck_assert(value(t, "fedauth_store_operation_seconds_count{op=\"take\"}")
              == 1);
    ck_assert(value(t, "fedauth_store_operation_seconds_count{op=\"del\"}")
              == 1);
    ck_assert(value(t, "fedauth_store_operation_seconds_count"
                    "{op=\"index_add\"}") == 1);
    ck_assert(value(t, "fedauth_store_operation_seconds_count"
                    "{op=\"index_take\"}") == 1);
    /* Not found is an answer, not an error. */
    ck_assert(value(t, "fedauth_store_errors_total{op=\"get\"}") == 0);
    /* The shm store answers within microseconds, far below a second. */
    ck_assert(value(t, "fedauth_store_operation_seconds_bucket{op=\"get\","
                    "le=\"0.1\"}") == 2);
    /* With the embedded store's own numbers. */
    ck_assert_int_eq(st->put(st, "s:c", "two", 3, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    fa_store_shm_stats(shm, &stats);
    fa_metrics_format(m, &stats, NULL, pool, &t, &len);
    check_format(t);
    ck_assert(strstr(t, "fedauth_host_cache_") == NULL);
    ck_assert(value(t, "fedauth_shm_sessions") == 1);
    ck_assert(value(t, "fedauth_shm_entries") == 1);
    ck_assert(value(t, "fedauth_shm_size_bytes")
              == (double)stats.blocks * FA_SHM_BLOCK);
    ck_assert(value(t, "fedauth_shm_used_bytes") > 0);
    ck_assert(value(t, "fedauth_shm_evictions_total") == 0);
    ck_assert(value(t, "fedauth_shm_resets_total") == 0);
    /* and the host's copies' (FedAuthSessionHostCache), from their own
     * numbers */
    stats.entries = 7;
    stats.blocks_used = 70;
    stats.evicted = 3;
    fa_metrics_format(m, NULL, &stats, pool, &t, &len);
    check_format(t);
    ck_assert(strstr(t, "fedauth_shm_sessions") == NULL);
    ck_assert(value(t, "fedauth_host_cache_entries") == 7);
    ck_assert(value(t, "fedauth_host_cache_used_bytes") == 70 * FA_SHM_BLOCK);
    ck_assert(value(t, "fedauth_host_cache_size_bytes")
              == (double)stats.blocks * FA_SHM_BLOCK);
    ck_assert(value(t, "fedauth_host_cache_evictions_total") == 3);
    /* the renewals of the copies in use, by outcome, added up over
     * batches; none counted without a metrics segment */
    ck_assert(value(t, "fedauth_host_cache_renewals_total{outcome=\"renewed\"}")
              == 0);
    fa_metrics_host_renewals(m, 200, 3, 0);
    fa_metrics_host_renewals(m, 56, 0, 9);
    fa_metrics_host_renewals(NULL, 1, 1, 1);
    fa_metrics_format(m, NULL, &stats, pool, &t, &len);
    check_format(t);
    ck_assert(value(t, "fedauth_host_cache_renewals_total{outcome=\"renewed\"}")
              == 256);
    ck_assert(value(t, "fedauth_host_cache_renewals_total{outcome=\"ended\"}")
              == 3);
    ck_assert(value(t, "fedauth_host_cache_renewals_total{outcome=\"unread\"}")
              == 9);
    /* only with the host's copies */
    fa_metrics_format(m, NULL, NULL, pool, &t, &len);
    ck_assert(strstr(t, "fedauth_host_cache_renewals_total") == NULL);
}
END_TEST

START_TEST(store_errors_counted)
{
    /* A Redis store whose server is not there (a port nobody listens
     * on): every operation fails, and each failure is counted. */
    fa_metrics_t *m = make(pool, "corp");
    fa_redis_conf_t conf;
    fa_store_t *redis, *st;
    char *v, *t;
    apr_size_t len;

    memset(&conf, 0, sizeof(conf));
    ck_assert_ptr_null(fa_redis_parse(pool, "redis://127.0.0.1:1", &conf));
    conf.timeout_ms = 200;
    ck_assert_int_eq(fa_store_redis_create(pool, &conf, &redis), APR_SUCCESS);
    st = fa_metrics_store_wrap(pool, m, redis);
    /* the registry, the stream and the status page find the client
     * through the counting wrapper */
    ck_assert_ptr_nonnull(fa_store_redis_client(redis));
    ck_assert_ptr_eq(fa_store_redis_client(st), fa_store_redis_client(redis));
    ck_assert_int_ne(st->get(st, "s:a", pool, &v, &len), APR_SUCCESS);
    ck_assert_int_ne(st->put(st, "s:a", "x", 1, fa_now_sec() + 60, pool),
                     APR_SUCCESS);
    t = text_of(m);
    check_format(t);
    ck_assert(value(t, "fedauth_store_errors_total{op=\"get\"}") == 1);
    ck_assert(value(t, "fedauth_store_errors_total{op=\"put\"}") == 1);
    ck_assert(value(t, "fedauth_store_operation_seconds_count{op=\"get\"}")
              == 1);
}
END_TEST

/* The single numbers the status page reads, and what it makes of them. */
START_TEST(single_numbers_read_back)
{
    fa_metrics_t *m = make(pool, "a b");

    fa_metrics_signin(m, "a", NULL);
    fa_metrics_signin(m, "a", "state_mismatch");
    fa_metrics_signin(m, "a", "state_mismatch");
    fa_metrics_signin(m, "b", "no-such-code");
    fa_metrics_session_created(m, "a");
    fa_metrics_session_ended(m, FA_METRICS_END_LOGOUT, 3);
    fa_metrics_fetch(m, "b", FA_METRICS_JWKS, 0);
    fa_metrics_store_op(m, FA_METRICS_OP_PUT, 10, 1);
    ck_assert_uint_eq(fa_metrics_signins_of(m, "a", "ok"), 1);
    ck_assert_uint_eq(fa_metrics_signins_of(m, "a", "state_mismatch"), 2);
    ck_assert_uint_eq(fa_metrics_signins_of(m, "b", "other"), 1);
    ck_assert_uint_eq(fa_metrics_signins_of(m, "b", "no-such-code"), 0);
    ck_assert_uint_eq(fa_metrics_signins_of(m, "zz", "ok"), 0);
    ck_assert_uint_eq(fa_metrics_created_of(m, "a"), 1);
    ck_assert_uint_eq(fa_metrics_ended_of(m, FA_METRICS_END_LOGOUT), 3);
    ck_assert_uint_eq(fa_metrics_fetches_of(m, "b", FA_METRICS_JWKS, 0), 1);
    ck_assert_uint_eq(fa_metrics_fetches_of(m, "b", FA_METRICS_JWKS, 1), 1);
    ck_assert_uint_eq(fa_metrics_fetches_of(m, "a", FA_METRICS_JWKS, 1), 0);
    ck_assert_uint_eq(fa_metrics_store_errors_of(m), 1);
    ck_assert_str_eq(fa_metrics_end_name(FA_METRICS_END_USER_LIMIT),
                     "user_limit");
    ck_assert_uint_eq(fa_metrics_signins_of(NULL, "a", "ok"), 0);
}
END_TEST

/* A provider never fetched, with markup in its name and a byte that is
 * not ASCII: the JSON has it (the byte as ?), the page has it escaped. */
START_TEST(status_document_and_page)
{
    fa_metrics_t *m = make(pool, "x");
    apr_array_header_t *idps = apr_array_make(pool, 1, sizeof(fa_idp_t *));
    fa_idp_conf_t conf;
    fa_status_in_t in;
    fa_shm_stats_t shm;
    fa_idp_t *idp;
    json_t *doc, *p;
    const char *html;

    memset(&conf, 0, sizeof(conf));
    conf.id = "x";
    conf.display_name = "<b>X</b> & \"Y\" \xff";
    conf.issuer = "https://idp.example/";
    ck_assert_int_eq(fa_idp_create(pool, &conf, &idp), APR_SUCCESS);
    APR_ARRAY_PUSH(idps, fa_idp_t *) = idp;
    fa_metrics_signin(m, "x", "wrong_aud");
    memset(&shm, 0, sizeof(shm));
    shm.blocks = 200;
    shm.blocks_used = 50;
    shm.sessions = 7;
    memset(&in, 0, sizeof(in));
    in.providers = idps;
    in.shm = &shm;
    in.metrics = m;
    in.pid = 42;
    in.now = 1800000000;
    doc = fa_status_json(pool, &in);
    ck_assert_ptr_nonnull(doc);
    p = json_array_get(json_object_get(doc, "providers"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(p, "name")),
                     "<b>X</b> & \"Y\" ?");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p,
                     "discovery"), "state")), "not_fetched");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p,
                     "discovery"), "url")),
                     "https://idp.example/.well-known/openid-configuration");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
        json_object_get(p, "signins"), "failures"), "wrong_aud")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
        json_object_get(doc, "store"), "fill"), "percent")), 25);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc,
                     "sessions"), "current")), 7);
    html = fa_status_html(pool, doc);
    ck_assert_ptr_nonnull(strstr(html, "&lt;b&gt;X&lt;/b&gt; &amp; "
                                       "&#34;Y&#34; ?"));
    ck_assert_ptr_null(strstr(html, "<b>X"));
    ck_assert_ptr_nonnull(strstr(html, "process <b>42</b>"));
    ck_assert_ptr_nonnull(strstr(html,
                                 "<code>wrong_aud</code></td><td>1<"));
    ck_assert_ptr_nonnull(strstr(html, "Fill: 25%"));
}
END_TEST

/* Revocations by provider and outcome, front-channel requests by
 * outcome, the frontchannel reason of ended sessions; nothing without
 * metrics or for an unknown provider. */
START_TEST(logout_counters)
{
    fa_metrics_t *m = make(pool, "a b");
    char *t;

    fa_metrics_revocation(m, "a", 1);
    fa_metrics_revocation(m, "a", 0);
    fa_metrics_revocation(m, "b", 1);
    fa_metrics_revocation(m, "zz", 0);
    fa_metrics_revocation(NULL, "a", 0);
    fa_metrics_frontchannel(m, 1);
    fa_metrics_frontchannel(m, 0);
    fa_metrics_frontchannel(m, 0);
    fa_metrics_frontchannel(NULL, 1);
    fa_metrics_session_ended(m, FA_METRICS_END_FRONTCHANNEL, 2);
    t = text_of(m);
    ck_assert(value(t, "fedauth_token_revocations_total{provider=\"a\"}")
              == 2);
    ck_assert(value(t, "fedauth_token_revocation_failures_total"
                    "{provider=\"a\"}") == 1);
    ck_assert(value(t, "fedauth_token_revocations_total{provider=\"b\"}")
              == 1);
    ck_assert(value(t, "fedauth_token_revocation_failures_total"
                    "{provider=\"b\"}") == 0);
    ck_assert(value(t, "fedauth_frontchannel_logouts_total"
                    "{outcome=\"ok\"}") == 1);
    ck_assert(value(t, "fedauth_frontchannel_logouts_total"
                    "{outcome=\"refused\"}") == 2);
    ck_assert(value(t, "fedauth_sessions_ended_total"
                    "{reason=\"frontchannel\"}") == 2);
    ck_assert_uint_eq(fa_metrics_revocations_of(m, "a", 0), 2);
    ck_assert_uint_eq(fa_metrics_revocations_of(m, "a", 1), 1);
    ck_assert_uint_eq(fa_metrics_revocations_of(m, "zz", 0), 0);
    ck_assert_uint_eq(fa_metrics_revocations_of(NULL, "a", 0), 0);
    ck_assert_str_eq(fa_metrics_end_name(FA_METRICS_END_FRONTCHANNEL),
                     "frontchannel");
}
END_TEST

/* CORS preflights by outcome and claim regex give-ups, after the
 * per-provider parts (their offsets follow them); nothing without
 * metrics. */
START_TEST(claim_rule_counters)
{
    fa_metrics_t *m = make(pool, "a b c");
    char *t;

    fa_metrics_preflight(m, 1);
    fa_metrics_preflight(m, 1);
    fa_metrics_preflight(m, 0);
    fa_metrics_preflight(NULL, 1);
    fa_metrics_claim_regex_gave_up(m);
    fa_metrics_claim_regex_gave_up(NULL);
    fa_metrics_userinfo(m, "c", FA_METRICS_USERINFO_FAILED_ENDED);
    t = text_of(m);
    ck_assert(value(t, "fedauth_cors_preflights_total"
                    "{outcome=\"allowed\"}") == 2);
    ck_assert(value(t, "fedauth_cors_preflights_total"
                    "{outcome=\"refused\"}") == 1);
    ck_assert(value(t, "fedauth_claim_regex_gave_up_total") == 1);
    ck_assert_uint_eq(fa_metrics_userinfo_of(m, "c",
                      FA_METRICS_USERINFO_FAILED_ENDED), 1);
}
END_TEST

START_TEST(app_password_counters)
{
    fa_metrics_t *m = make(pool, "a");
    char *t;

    fa_metrics_apppass(m, FA_METRICS_APPPASS_OK);
    fa_metrics_apppass(m, FA_METRICS_APPPASS_WRONG);
    fa_metrics_apppass(m, FA_METRICS_APPPASS_WRONG);
    fa_metrics_apppass(m, FA_METRICS_APPPASS_RATE_LIMITED);
    fa_metrics_apppass(m, FA_METRICS_APPPASS_COUNT);
    fa_metrics_apppass(NULL, FA_METRICS_APPPASS_OK);
    t = text_of(m);
    ck_assert(value(t, "fedauth_app_passwords_total{outcome=\"ok\"}") == 1);
    ck_assert(value(t, "fedauth_app_passwords_total{outcome=\"wrong\"}")
              == 2);
    ck_assert(value(t, "fedauth_app_passwords_total"
                    "{outcome=\"rate_limited\"}") == 1);
    ck_assert(value(t, "fedauth_app_passwords_total{outcome=\"busy\"}")
              == 0);
    ck_assert_uint_eq(fa_metrics_apppass_of(m, FA_METRICS_APPPASS_WRONG), 2);
    ck_assert_uint_eq(fa_metrics_apppass_of(NULL, FA_METRICS_APPPASS_OK), 0);
}
END_TEST

Suite *suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, counts_under_their_labels);
    tcase_add_test(tc, many_providers);
    tcase_add_test(tc, nothing_without_metrics);
    tcase_add_test(tc, histogram_buckets_and_sum);
    tcase_add_test(tc, label_values_escaped);
    tcase_add_test(tc, processes_and_threads_share_them);
    tcase_add_test(tc, a_store_that_counts);
    tcase_add_test(tc, store_errors_counted);
    tcase_add_test(tc, single_numbers_read_back);
    tcase_add_test(tc, status_document_and_page);
    tcase_add_test(tc, logout_counters);
    tcase_add_test(tc, claim_rule_counters);
    tcase_add_test(tc, app_password_counters);
    suite_add_tcase(s, tc);
    return s;
}
