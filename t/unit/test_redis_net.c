/* SPDX-License-Identifier: Apache-2.0 */
/* test_redis_net.c - the Redis transport (fa_redis_net.c) and what is
 * pure about TLS: rediss:// and rediss-sentinel:// URLs, the TLS context's
 * refusals (missing files, a key without a certificate, no certificate in
 * a file), and the transport's bounds against a fake server on a free
 * 127.0.0.1 port: a reply larger than allowed is refused, a server that
 * accepts but never answers costs the timeout and no more, a refused
 * connect fails at once, TLS to a plain server says so. TLS against a real redis-server is tested by
 * t/integration/315-redis-tls.test.mjs. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <apr_pools.h>
#include <apr_time.h>
#include "unit.h"
#include "fa_store.h"
#include "fa_redis_net.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* A listening socket on a free 127.0.0.1 port. */
static int listen_any(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    ck_assert(listen(fd, 4) == 0);
    ck_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

START_TEST(parse_tls_schemes)
{
    fa_redis_conf_t c;
    fa_redis_host_t *h;

    ck_assert_ptr_null(fa_redis_parse(pool, "redis://h", &c));
    ck_assert_int_eq(c.tls, 0);
    ck_assert_ptr_null(fa_redis_parse(pool,
                       "rediss://u:p%40w@cache.example:6380/2", &c));
    ck_assert_int_eq(c.tls, 1);
    h = &APR_ARRAY_IDX(c.hosts, 0, fa_redis_host_t);
    ck_assert_str_eq(h->host, "cache.example");
    ck_assert_int_eq(h->port, 6380);
    ck_assert_str_eq(c.user, "u");
    ck_assert_str_eq(c.password, "p@w");
    ck_assert_int_eq(c.db, 2);
    ck_assert_ptr_null(c.master_name);
    ck_assert_ptr_null(fa_redis_parse(pool, "rediss://[::1]", &c));
    ck_assert_int_eq(c.tls, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(c.hosts, 0, fa_redis_host_t).port, 6379);
    ck_assert_ptr_null(fa_redis_parse(pool,
                       "rediss-sentinel://s1:26380,s2/mymaster/4", &c));
    ck_assert_int_eq(c.tls, 1);
    ck_assert_int_eq(c.hosts->nelts, 2);
    ck_assert_int_eq(APR_ARRAY_IDX(c.hosts, 1, fa_redis_host_t).port, 26379);
    ck_assert_str_eq(c.master_name, "mymaster");
    ck_assert_int_eq(c.db, 4);
    ck_assert_ptr_null(fa_redis_parse(pool, "redis-sentinel://s1/m", &c));
    ck_assert_int_eq(c.tls, 0);
    /* no file or name comes from the URL */
    ck_assert_ptr_null(c.ca_file);
    ck_assert_ptr_null(c.server_name);
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "rediss://a,b", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "rediss-sentinel://s1", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "redisss://h", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "rediss:/h", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "rediss://", &c));
    ck_assert_ptr_nonnull(fa_redis_parse(pool, "tls://h", &c));
}
END_TEST

START_TEST(tls_context_refusals)
{
    fa_redis_tls_file_t which;
    SSL_CTX *ctx;
    fa_err_t err;
    const char *not_pem = FA_TEST_DATA "/rfc_vectors.json";

    /* the system's store */
    ck_assert_int_eq(fa_redis_tls_context(pool, NULL, NULL, NULL, &ctx,
                                          &which, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_ne(fa_redis_tls_context(pool, "/nonexistent/ca.pem", NULL,
                                          NULL, &ctx, &which, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(ctx);
    ck_assert_int_eq(which, FA_REDIS_TLS_CA);
    ck_assert_msg(strstr(err.desc, "/nonexistent/ca.pem"), "%s", err.desc);
    ck_assert_int_ne(fa_redis_tls_context(pool, not_pem, NULL, NULL, &ctx,
                                          &which, &err), APR_SUCCESS);
    ck_assert_int_eq(which, FA_REDIS_TLS_CA);
    ck_assert_int_ne(fa_redis_tls_context(pool, NULL, not_pem, NULL, &ctx,
                                          &which, &err), APR_SUCCESS);
    ck_assert_int_eq(which, FA_REDIS_TLS_CERT);
    ck_assert_msg(strstr(err.desc, "cannot load a certificate"), "%s",
                  err.desc);
    ck_assert_int_ne(fa_redis_tls_context(pool, NULL, NULL, not_pem, &ctx,
                                          &which, &err), APR_SUCCESS);
    ck_assert_int_eq(which, FA_REDIS_TLS_KEY);
    ck_assert_msg(strstr(err.desc, "needs a client certificate"), "%s",
                  err.desc);
}
END_TEST

/* A fake server: accepts one connection, reads the command, writes
 * answer (len bytes, repeated times), then waits to be killed. */
static pid_t fake_server(int lfd, const char *answer, size_t len, int times)
{
    pid_t pid = fork();
    char buf[512];
    int fd, i;

    ck_assert(pid >= 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        fd = accept(lfd, NULL, NULL);
        if (fd >= 0 && read(fd, buf, sizeof(buf)) > 0) {
            for (i = 0; i < times; i++) {
                if (write(fd, answer, len) < 0) {
                    break;
                }
            }
        }
        pause();
        _exit(0);
    }
    return pid;
}

static void reap(pid_t pid)
{
    int status;

    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

START_TEST(reply_within_bounds)
{
    const char *argv[2] = { "GET", "k" };
    fa_redis_link_t *l;
    redisReply *reply;
    fa_err_t err;
    int port, lfd = listen_any(&port), timed_out;
    pid_t pid = fake_server(lfd, "$5\r\nhello\r\n", 11, 1);

    ck_assert_int_eq(fa_redis_link_open("127.0.0.1", port, NULL, NULL, 1000,
                                        &l, &err), APR_SUCCESS);
    ck_assert_int_eq(fa_redis_link_command(l, 2, argv, NULL, 64, &reply,
                                           &timed_out, &err), APR_SUCCESS);
    ck_assert_int_eq(reply->type, REDIS_REPLY_STRING);
    ck_assert_str_eq(reply->str, "hello");
    freeReplyObject(reply);
    fa_redis_link_close(l);
    reap(pid);
    close(lfd);
}
END_TEST

START_TEST(reply_too_large_is_refused)
{
    static char chunk[4096];
    const char *argv[2] = { "GET", "k" };
    fa_redis_link_t *l;
    redisReply *reply;
    fa_err_t err;
    int port, lfd = listen_any(&port), timed_out;
    pid_t pid;

    /* a bulk string that claims 100 MB, then keeps coming */
    memset(chunk, 'x', sizeof(chunk));
    memcpy(chunk, "$100000000\r\n", 12);
    pid = fake_server(lfd, chunk, sizeof(chunk), 64);
    ck_assert_int_eq(fa_redis_link_open("127.0.0.1", port, NULL, NULL, 2000,
                                        &l, &err), APR_SUCCESS);
    ck_assert_int_ne(fa_redis_link_command(l, 2, argv, NULL,
                                           FA_STORE_MAX_VALUE + 64, &reply,
                                           &timed_out, &err), APR_SUCCESS);
    ck_assert_ptr_null(reply);
    ck_assert_int_eq(timed_out, 0);
    ck_assert_msg(strstr(err.desc, "bytes: refused"), "%s", err.desc);
    fa_redis_link_close(l);
    reap(pid);
    close(lfd);
}
END_TEST

START_TEST(silent_server_costs_the_timeout)
{
    const char *argv[1] = { "PING" };
    fa_redis_link_t *l;
    redisReply *reply;
    fa_err_t err;
    int port, lfd = listen_any(&port), timed_out;
    apr_time_t t0;

    /* never accepted: the kernel's backlog completes the connect */
    ck_assert_int_eq(fa_redis_link_open("127.0.0.1", port, NULL, NULL, 300,
                                        &l, &err), APR_SUCCESS);
    t0 = apr_time_now();
    ck_assert_int_ne(fa_redis_link_command(l, 1, argv, NULL, 64, &reply,
                                           &timed_out, &err), APR_SUCCESS);
    ck_assert_int_eq(timed_out, 1);
    ck_assert_int_ge(apr_time_now() - t0, apr_time_from_msec(250));
    ck_assert_int_lt(apr_time_now() - t0, apr_time_from_msec(1500));
    ck_assert_msg(strstr(err.desc, "no answer within 300 ms"), "%s",
                  err.desc);
    fa_redis_link_close(l);
    close(lfd);
}
END_TEST

START_TEST(tls_to_a_silent_server_costs_the_timeout)
{
    fa_redis_tls_file_t which;
    fa_redis_link_t *l;
    SSL_CTX *ctx;
    fa_err_t err;
    int port, lfd = listen_any(&port);
    apr_time_t t0;

    ck_assert_int_eq(fa_redis_tls_context(pool, NULL, NULL, NULL, &ctx,
                                          &which, &err), APR_SUCCESS);
    t0 = apr_time_now();
    ck_assert_int_ne(fa_redis_link_open("127.0.0.1", port, ctx, NULL, 300,
                                        &l, &err), APR_SUCCESS);
    ck_assert_int_lt(apr_time_now() - t0, apr_time_from_msec(1500));
    ck_assert_msg(strstr(err.desc, "TLS handshake not done in time"), "%s",
                  err.desc);
    close(lfd);
}
END_TEST

START_TEST(tls_to_a_plain_server_says_so)
{
    static const char answer[] = "-ERR unknown command 'x'\r\n";
    fa_redis_tls_file_t which;
    fa_redis_link_t *l;
    SSL_CTX *ctx;
    fa_err_t err;
    int port, lfd = listen_any(&port);
    pid_t pid = fake_server(lfd, answer, sizeof(answer) - 1, 1);

    ck_assert_int_eq(fa_redis_tls_context(pool, NULL, NULL, NULL, &ctx,
                                          &which, &err), APR_SUCCESS);
    ck_assert_int_ne(fa_redis_link_open("127.0.0.1", port, ctx, NULL, 2000,
                                        &l, &err), APR_SUCCESS);
    ck_assert_msg(strstr(err.desc, "TLS handshake failed")
                  && strstr(err.desc, "is this a TLS port?"), "%s",
                  err.desc);
    reap(pid);
    close(lfd);
}
END_TEST

START_TEST(refused_connect_fails_at_once)
{
    fa_redis_link_t *l;
    fa_err_t err;
    int port, lfd = listen_any(&port);

    close(lfd);
    ck_assert_int_ne(fa_redis_link_open("127.0.0.1", port, NULL, NULL, 1000,
                                        &l, &err), APR_SUCCESS);
    ck_assert_ptr_null(l);
    ck_assert_msg(strstr(err.desc, "refused"), "%s", err.desc);
}
END_TEST

/* A host name is looked up on a thread of the lookup's own, which hands
 * the addresses over to the caller (ThreadSanitizer checks the hand-over
 * in the TSan tier): several threads at once connect to "localhost". */
static int lookup_port;

static void *connect_by_name(void *arg)
{
    fa_redis_link_t *l;
    fa_err_t err;
    int i, ok = 0;

    (void)arg;
    for (i = 0; i < 10; i++) {
        if (fa_redis_link_open("localhost", lookup_port, NULL, NULL, 5000,
                               &l, &err) == APR_SUCCESS) {
            ok++;
            fa_redis_link_close(l);
        }
    }
    return (void *)(intptr_t)ok;
}

START_TEST(names_looked_up_from_several_threads)
{
    pthread_t th[4];
    void *ok;
    int k, lfd = listen_any(&lookup_port);

    ck_assert_int_eq(listen(lfd, 64), 0);    /* room for all 40 */
    for (k = 0; k < 4; k++) {
        ck_assert_int_eq(pthread_create(&th[k], NULL, connect_by_name, NULL),
                         0);
    }
    for (k = 0; k < 4; k++) {
        ck_assert_int_eq(pthread_join(th[k], &ok), 0);
        ck_assert_int_eq((int)(intptr_t)ok, 10);
    }
    close(lfd);
}
END_TEST

Suite *suite_redis_net(void)
{
    Suite *s = suite_create("redis_net");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, parse_tls_schemes);
    tcase_add_test(tc, tls_context_refusals);
    tcase_add_test(tc, reply_within_bounds);
    tcase_add_test(tc, reply_too_large_is_refused);
    tcase_add_test(tc, silent_server_costs_the_timeout);
    tcase_add_test(tc, tls_to_a_silent_server_costs_the_timeout);
    tcase_add_test(tc, tls_to_a_plain_server_says_so);
    tcase_add_test(tc, refused_connect_fails_at_once);
    tcase_add_test(tc, names_looked_up_from_several_threads);
    suite_add_tcase(s, tc);
    return s;
}
