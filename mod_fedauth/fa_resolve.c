/* SPDX-License-Identifier: Apache-2.0 */
/* fa_resolve.c - a name lookup that its caller can stop waiting for; see
 * fa_resolve.h. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include "fa_resolve.h"

/* A name lookup on a thread of its own, so that the caller can stop
 * waiting at its deadline: a resolver that does not answer would otherwise
 * hold a worker for its own timeouts (5 s per try and server). Whoever
 * lets go last, the caller or the thread, frees it: a lookup given up on
 * finishes and is freed by its thread, and nothing leaks. The thread is
 * ours (pthread_create), not getaddrinfo_a's, which glibc starts behind
 * the back of a ThreadSanitizer build (and it crashes there), so the
 * whole hand-over is checked by the TSan tier. */
typedef struct lookup_t {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char name[256];
    char service[16];
    struct addrinfo *res;         /* under mu: the result, until taken */
    int rc, done, refs;           /* under mu */
} lookup_t;

/* Drops one reference (mu is held); frees lk when it was the last. */
static void lookup_release(lookup_t *lk)
{
    int last = --lk->refs == 0;

    pthread_mutex_unlock(&lk->mu);
    if (last) {
        if (lk->res) {
            freeaddrinfo(lk->res);
        }
        pthread_cond_destroy(&lk->cv);
        pthread_mutex_destroy(&lk->mu);
        free(lk);
    }
}

static void *lookup_main(void *arg)
{
    lookup_t *lk = arg;
    struct addrinfo hints, *res = NULL;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(lk->name, lk->service, &hints, &res);
    pthread_mutex_lock(&lk->mu);
    lk->res = rc == 0 ? res : NULL;
    lk->rc = rc;
    lk->done = 1;
    pthread_cond_signal(&lk->cv);
    lookup_release(lk);
    return NULL;
}

/* A lookup of host on its own (detached) thread, or NULL. */
static lookup_t *lookup_start(const char *host, const char *service)
{
    pthread_condattr_t ca;
    pthread_attr_t ta;
    pthread_t th;
    lookup_t *lk;
    int rc;

    if (strlen(host) >= sizeof(lk->name) || !(lk = calloc(1, sizeof(*lk)))) {
        return NULL;
    }
    apr_cpystrn(lk->name, host, sizeof(lk->name));
    apr_cpystrn(lk->service, service, sizeof(lk->service));
    pthread_mutex_init(&lk->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&lk->cv, &ca);
    pthread_condattr_destroy(&ca);
    lk->refs = 2;                 /* the caller and the thread */
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &ta, lookup_main, lk);
    pthread_attr_destroy(&ta);
    if (rc != 0) {                /* never started: only the caller */
        pthread_cond_destroy(&lk->cv);
        pthread_mutex_destroy(&lk->mu);
        free(lk);
        return NULL;
    }
    return lk;
}

struct addrinfo *fa_resolve(const char *host, const char *service,
                            apr_int64_t left_ms, const char **why)
{
    struct addrinfo hints, *res = NULL;
    struct timespec until;
    apr_int64_t left = left_ms > 0 ? left_ms : 0;
    lookup_t *lk;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(host, service, &hints, &res) == 0) {
        return res;
    }
    if (!(lk = lookup_start(host, service))) {
        *why = "cannot look the name up";
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(left / 1000);
    until.tv_nsec += (long)(left % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lk->mu);
    while (!lk->done) {
        if (pthread_cond_timedwait(&lk->cv, &lk->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    if (lk->done && lk->rc == 0) {
        res = lk->res;            /* ours now: the thread frees only lk */
        lk->res = NULL;
    }
    else {
        *why = !lk->done ? "name lookup timed out" : gai_strerror(lk->rc);
    }
    lookup_release(lk);
    return res;
}
