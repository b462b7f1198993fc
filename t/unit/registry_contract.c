/* SPDX-License-Identifier: Apache-2.0 */
/* registry_contract.c - see registry_contract.h. */
#include <string.h>
#include <check.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "registry_contract.h"

#define THREADS 4
#define CHANGES 25

typedef struct job_t {
    fa_registry_t *reg;
    int n;                        /* this thread's number */
    int failures;
} job_t;

static int add_role(apr_pool_t *p, fa_account_t *a, void *baton,
                    fa_err_t *err)
{
    (void)err;
    APR_ARRAY_PUSH(a->roles, const char *) = apr_pstrdup(p, baton);
    return 1;
}

static void *APR_THREAD_FUNC change_many(apr_thread_t *t, void *data)
{
    job_t *job = data;
    apr_pool_t *p;
    fa_err_t err;
    int i;

    for (i = 0; i < CHANGES; i++) {
        apr_pool_create(&p, NULL);
        if (fa_registry_account_update(job->reg, p, "racer", add_role,
                                       apr_psprintf(p, "t%d-%d", job->n, i),
                                       NULL, &err) != APR_SUCCESS) {
            job->failures++;
        }
        apr_pool_destroy(p);
    }
    (void)t;                      /* a plain return: see test_cache.c */
    return NULL;
}

void registry_contract_update(fa_registry_t *reg, apr_pool_t *p)
{
    apr_thread_t *th[THREADS];
    job_t jobs[THREADS];
    fa_account_t *a;
    fa_err_t err;
    apr_status_t rv;
    char *v;
    apr_size_t len;
    int i, j, found;

    /* replace: only over exactly the value it names */
    ck_assert_int_eq(reg->replace(reg, "a:r", "", 0, "x", 1, p), APR_EEXIST);
    ck_assert_int_eq(reg->get(reg, "a:r", p, &v, &len), APR_NOTFOUND);
    ck_assert_int_eq(reg->create(reg, "a:r", "one", 3, p), APR_SUCCESS);
    ck_assert_int_eq(reg->replace(reg, "a:r", "on", 2, "two", 3, p),
                     APR_EEXIST);
    ck_assert_int_eq(reg->replace(reg, "a:r", "one!", 4, "two", 3, p),
                     APR_EEXIST);
    ck_assert_int_eq(reg->get(reg, "a:r", p, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "one");
    ck_assert_int_eq(reg->replace(reg, "a:r", "one", 3, "two", 3, p),
                     APR_SUCCESS);
    ck_assert_int_eq(reg->get(reg, "a:r", p, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "two");
    ck_assert_int_eq(reg->del(reg, "a:r", p), APR_SUCCESS);

    /* an update of no account, and one that gives up, write nothing */
    ck_assert_int_eq(fa_registry_account_update(reg, p, "racer", add_role,
                                                "x", NULL, &err),
                     APR_NOTFOUND);

    /* four threads, 25 changes each, on one account */
    ck_assert_int_eq(fa_registry_account_put(reg, p,
                                             fa_account_new(p, "racer"),
                                             &err), APR_SUCCESS);
    for (i = 0; i < THREADS; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].reg = reg;
        jobs[i].n = i;
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, change_many,
                                           &jobs[i], p), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, th[i]);
        ck_assert_int_eq(jobs[i].failures, 0);
    }
    ck_assert_int_eq(fa_registry_account_get(reg, p, "racer", &a, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(a->roles->nelts, THREADS * CHANGES);
    for (i = 0; i < THREADS; i++) {
        for (j = 0; j < CHANGES; j++) {
            const char *want = apr_psprintf(p, "t%d-%d", i, j);
            int k;
            found = 0;
            for (k = 0; k < a->roles->nelts; k++) {
                found += !strcmp(APR_ARRAY_IDX(a->roles, k, const char *),
                                 want);
            }
            ck_assert_msg(found == 1, "role %s: %d times", want, found);
        }
    }
    ck_assert_int_eq(reg->del(reg, "a:racer", p), APR_SUCCESS);
}
