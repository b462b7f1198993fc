/* SPDX-License-Identifier: Apache-2.0 */
/* test_apppass.c - app passwords: the secret's form and check digits,
 * the scrypt hash (right, wrong, a changed record), the record, the
 * narrowed roles, --expires, and add/list/del in a directory registry
 * (labels unique per account, another account's keys with the same
 * prefix left alone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "fa_apppass.h"

static apr_pool_t *pool;
static char dir[64];

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    strcpy(dir, "/tmp/fa-pw-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[96];

    apr_pool_destroy(pool);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(secret_form)
{
    char *s, *t, id[FA_APPPASS_ID_LEN + 1];
    const char *sid, *tid;
    apr_size_t i;

    ck_assert_int_eq(fa_apppass_secret_new(pool, &s, &sid), APR_SUCCESS);
    ck_assert_int_eq(fa_apppass_secret_new(pool, &t, &tid), APR_SUCCESS);
    ck_assert_uint_eq(strlen(s), FA_APPPASS_LEN);
    ck_assert_str_ne(s, t);
    ck_assert(!strncmp(s, "fap_", 4));
    ck_assert_int_eq(s[12], '_');
    ck_assert_int_eq(fa_apppass_secret_parse(s, strlen(s), id), 1);
    ck_assert_str_eq(id, sid);
    /* every single-character change is caught by the check digits or
     * the alphabet */
    for (i = 0; i < strlen(s); i++) {
        char *c = apr_pstrdup(pool, s);
        c[i] = c[i] == 'a' ? 'b' : 'a';
        ck_assert_int_eq(fa_apppass_secret_parse(c, strlen(c), id), 0);
    }
    ck_assert_int_eq(fa_apppass_secret_parse(s, strlen(s) - 1, id), 0);
    ck_assert_int_eq(fa_apppass_secret_parse("fap_", 4, id), 0);
    ck_assert(fa_apppass_label_ok("laptop-dav"));
    ck_assert(!fa_apppass_label_ok(""));
    ck_assert(!fa_apppass_label_ok("a b"));
    ck_assert(!fa_apppass_label_ok("a:b"));
}
END_TEST

START_TEST(hash_verify)
{
    fa_apppass_t ap, *back;
    fa_err_t err;
    char *s, *rec, keep;
    const char *id;
    apr_size_t len;

    memset(&ap, 0, sizeof(ap));
    ck_assert_int_eq(fa_apppass_secret_new(pool, &s, &id), APR_SUCCESS);
    ap.account = "alice";
    ap.id = id;
    ap.label = "dav";
    ap.created = 1764790000;
    ck_assert_int_eq(fa_apppass_hash(&ap, s, strlen(s), &err), APR_SUCCESS);
    ck_assert_int_eq(ap.log_n, FA_APPPASS_LOG_N);
    ck_assert_int_eq(fa_apppass_verify(&ap, s, strlen(s)), 1);
    keep = s[20];
    s[20] = keep == 'a' ? 'b' : 'a';
    ck_assert_int_eq(fa_apppass_verify(&ap, s, strlen(s)), 0);
    s[20] = keep;
    rec = fa_apppass_encode(pool, &ap, &len);
    ck_assert_ptr_null(strstr(rec, s));
    ck_assert_ptr_nonnull(strstr(rec, "\"kdf\":\"scrypt\""));
    ck_assert_int_eq(fa_apppass_decode(pool, rec, len, &back), APR_SUCCESS);
    ck_assert_int_eq(fa_apppass_verify(back, s, strlen(s)), 1);
    ck_assert_ptr_null(back->roles);
    /* a cost out of bounds verifies nothing */
    back->log_n = 30;
    ck_assert_int_eq(fa_apppass_verify(back, s, strlen(s)), 0);
    rec = apr_pstrcat(pool, "{\"account\":\"a\",\"id\":\"x\",\"label\":\"l\","
                      "\"kdf\":\"scrypt\",\"ln\":40,\"r\":8,\"p\":1}", NULL);
    ck_assert_int_eq(fa_apppass_decode(pool, rec, strlen(rec), &back),
                     APR_EGENERAL);
}
END_TEST

START_TEST(roles_narrowed)
{
    fa_account_t *a = fa_account_new(pool, "alice");
    fa_apppass_t ap;

    memset(&ap, 0, sizeof(ap));
    APR_ARRAY_PUSH(a->roles, const char *) = "editor";
    APR_ARRAY_PUSH(a->roles, const char *) = "admin";
    ck_assert_str_eq(fa_apppass_roles(pool, a, &ap), "admin,editor");
    ap.roles = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(ap.roles, const char *) = "editor";
    APR_ARRAY_PUSH(ap.roles, const char *) = "owner";
    ck_assert_str_eq(fa_apppass_roles(pool, a, &ap), "editor");
}
END_TEST

START_TEST(durations)
{
    apr_int64_t v;

    ck_assert_int_eq(fa_apppass_duration("90d", &v), 0);
    ck_assert_int_eq(v, 90 * 86400);
    ck_assert_int_eq(fa_apppass_duration("2s", &v), 0);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(fa_apppass_duration("10m", &v), 0);
    ck_assert_int_eq(v, 600);
    ck_assert_int_eq(fa_apppass_duration("0d", &v), -1);
    ck_assert_int_eq(fa_apppass_duration("-1d", &v), -1);
    ck_assert_int_eq(fa_apppass_duration("5w", &v), -1);
    ck_assert_int_eq(fa_apppass_duration("99999d", &v), -1);
    ck_assert_int_eq(fa_apppass_duration("", &v), -1);
}
END_TEST

static fa_apppass_t *made(const char *account, const char *label,
                          apr_int64_t created)
{
    fa_apppass_t *ap = apr_pcalloc(pool, sizeof(*ap));
    fa_err_t err;
    char *s;

    ck_assert_int_eq(fa_apppass_secret_new(pool, &s, &ap->id), APR_SUCCESS);
    ap->account = account;
    ap->label = label;
    ap->created = created;
    ap->log_n = 10;               /* cheap: a test of the registry */
    ap->r = 1;
    ap->p = 1;
    ck_assert_int_eq(fa_apppass_hash(ap, s, strlen(s), &err), APR_SUCCESS);
    return ap;
}

START_TEST(in_registry)
{
    fa_registry_t *reg;
    apr_array_header_t *list;
    fa_apppass_t *one, *two, *other, *got;
    fa_err_t err;
    int n;

    ck_assert_int_eq(fa_registry_dir_open(pool, dir, &reg, &err),
                     APR_SUCCESS);
    one = made("bob", "dav", 100);
    two = made("bob", "git", 200);
    other = made("bob:x", "dav", 50);
    ck_assert_int_eq(fa_apppass_add(reg, pool, two, &err), APR_SUCCESS);
    ck_assert_int_eq(fa_apppass_add(reg, pool, one, &err), APR_SUCCESS);
    ck_assert_int_eq(fa_apppass_add(reg, pool, other, &err), APR_SUCCESS);
    ck_assert_int_eq(fa_apppass_add(reg, pool, made("bob", "dav", 300),
                                    &err), APR_EEXIST);
    ck_assert_str_eq(err.code, "label_taken");
    ck_assert_int_eq(fa_apppass_list(reg, pool, "bob", &list, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, fa_apppass_t *)->label, "dav");
    ck_assert_str_eq(APR_ARRAY_IDX(list, 1, fa_apppass_t *)->label, "git");
    ck_assert_int_eq(fa_apppass_get(reg, pool, "bob", one->id, &got, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(got->label, "dav");
    ck_assert_int_eq(fa_apppass_del(reg, pool, "bob", "dav", &got, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fa_apppass_get(reg, pool, "bob", one->id, &got, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(fa_apppass_del(reg, pool, "bob", two->id, &got, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fa_apppass_del(reg, pool, "bob", "git", &got, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(fa_apppass_del_all(reg, pool, "bob:x", &n, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(n, 1);
}
END_TEST

Suite *suite_apppass(void)
{
    Suite *s = suite_create("apppass");
    TCase *tc = tcase_create("apppass");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, secret_form);
    tcase_add_test(tc, hash_verify);
    tcase_add_test(tc, roles_narrowed);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, in_registry);
    suite_add_tcase(s, tc);
    return s;
}
