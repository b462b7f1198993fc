/* SPDX-License-Identifier: Apache-2.0 */
/* test_registry.c - the account registry: the directory backend (values,
 * lists, create-if-absent when four processes race for one name), the
 * name-suffix rule, account records, the allowed-providers check, lists
 * of ids and roles, and the decision at sign-in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "fa_registry.h"
#include "registry_contract.h"

static apr_pool_t *pool;
static char dir[64];

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    strcpy(dir, "/tmp/fa-reg-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[96];

    apr_pool_destroy(pool);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static fa_registry_t *open_reg(void)
{
    fa_registry_t *reg;
    fa_err_t err;

    ck_assert_int_eq(fa_registry_dir_open(pool, dir, &reg, &err),
                     APR_SUCCESS);
    return reg;
}

START_TEST(dir_values)
{
    fa_registry_t *reg = open_reg();
    apr_array_header_t *keys;
    char *v;
    apr_size_t len;

    ck_assert_int_eq(reg->get(reg, "a:x", pool, &v, &len), APR_NOTFOUND);
    ck_assert_int_eq(reg->create(reg, "a:x", "one", 3, pool), APR_SUCCESS);
    ck_assert_int_eq(reg->create(reg, "a:x", "two", 3, pool), APR_EEXIST);
    ck_assert_int_eq(reg->get(reg, "a:x", pool, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "one");
    ck_assert_int_eq(reg->put(reg, "a:x", "three", 5, pool), APR_SUCCESS);
    ck_assert_int_eq(reg->get(reg, "a:x", pool, &v, &len), APR_SUCCESS);
    ck_assert_str_eq(v, "three");
    ck_assert_int_eq(len, 5);
    /* names with odd bytes, a slash and a leading dot stay apart */
    ck_assert_int_eq(reg->put(reg, "a:j/o%hn d", "4", 1, pool), APR_SUCCESS);
    ck_assert_int_eq(reg->put(reg, "a:..", "5", 1, pool), APR_SUCCESS);
    ck_assert_int_eq(reg->put(reg, "l:corp:abc", "6", 1, pool), APR_SUCCESS);
    ck_assert_int_eq(reg->list(reg, "a:", pool, &keys), APR_SUCCESS);
    ck_assert_int_eq(keys->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 0, const char *), "a:..");
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 1, const char *), "a:j/o%hn d");
    ck_assert_str_eq(APR_ARRAY_IDX(keys, 2, const char *), "a:x");
    ck_assert_int_eq(reg->del(reg, "a:x", pool), APR_SUCCESS);
    ck_assert_int_eq(reg->del(reg, "a:x", pool), APR_SUCCESS);
    ck_assert_int_eq(reg->get(reg, "a:x", pool, &v, &len), APR_NOTFOUND);
    ck_assert_int_eq(reg->list(reg, "l:", pool, &keys), APR_SUCCESS);
    ck_assert_int_eq(keys->nelts, 1);
}
END_TEST

/* Four processes create the same name at once, many times: exactly one
 * wins each time, and the value is the winner's, whole. */
START_TEST(dir_create_race)
{
    fa_registry_t *reg = open_reg();
    int round, i, status, wins;
    pid_t pids[4];
    char *v;
    apr_size_t len;
    const char *key;

    for (round = 0; round < 20; round++) {
        key = apr_psprintf(pool, "a:race%d", round);
        for (i = 0; i < 4; i++) {
            pids[i] = fork();
            ck_assert_int_ge(pids[i], 0);
            if (pids[i] == 0) {
                apr_pool_t *cp;
                const char *val;
                apr_pool_create(&cp, NULL);
                val = apr_psprintf(cp, "winner %d", i);
                _exit(reg->create(reg, key, val, strlen(val), cp)
                      == APR_SUCCESS ? 10 + i : 0);
            }
        }
        wins = 0;
        for (i = 0; i < 4; i++) {
            ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
            ck_assert(WIFEXITED(status));
            if (WEXITSTATUS(status) >= 10) {
                wins++;
                ck_assert_int_eq(reg->get(reg, key, pool, &v, &len),
                                 APR_SUCCESS);
                ck_assert_str_eq(v, apr_psprintf(pool, "winner %d",
                                                 WEXITSTATUS(status) - 10));
            }
        }
        ck_assert_int_eq(wins, 1);
    }
}
END_TEST

/* replace and the update loop, from four threads (each with its own
 * descriptor, so flock excludes them as it does processes). */
START_TEST(dir_update_race)
{
    registry_contract_update(open_reg(), pool);
}
END_TEST

START_TEST(suffix_rule)
{
    const char *s = fa_account_suffixed(pool, "john.doe");
    char longname[200];
    int i;

    ck_assert_uint_eq(strlen(s), 14);
    ck_assert(!strncmp(s, "john.doe", 8));
    for (i = 8; i < 14; i++) {
        ck_assert(s[i] >= '0' && s[i] <= '9');
    }
    memset(longname, 'x', sizeof(longname));
    longname[sizeof(longname) - 1] = '\0';
    s = fa_account_suffixed(pool, longname);
    ck_assert_uint_eq(strlen(s), FA_ACCOUNT_NAME_MAX);
    ck_assert(fa_account_name_ok("alice@example.com"));
    ck_assert(!fa_account_name_ok(""));
    ck_assert(!fa_account_name_ok(".."));
    ck_assert(!fa_account_name_ok("a/b"));
    ck_assert(!fa_account_name_ok("a,b"));
    ck_assert(!fa_account_name_ok("a\nb"));
    ck_assert(!fa_account_name_ok(longname));
}
END_TEST

/* The one rule for account names (sign-in and fedauthctl): UTF-8, and a
 * name that fits the directory registry's file names, with its suffix
 * too. */
START_TEST(name_rule)
{
    fa_registry_t *reg = open_reg();
    char name[200], big[400];
    const char *s;
    int i;

    ck_assert(fa_account_name_ok("kim"));
    ck_assert(fa_account_name_ok("j\xc3\xbcrgen"));             /* UTF-8 */
    ck_assert(!fa_account_name_ok("j\xfcrgen"));                 /* Latin-1 */
    ck_assert(!fa_account_name_ok("a\x7f"));
    ck_assert(!fa_account_name_ok("."));
    /* 128 plain bytes: yes; 129: no */
    memset(name, 'k', 128);
    name[128] = '\0';
    ck_assert(fa_account_name_ok(name));
    name[128] = 'k';
    name[129] = '\0';
    ck_assert(!fa_account_name_ok(name));
    /* 39 two-byte letters (78 bytes, 234 stored): yes; 40: no */
    for (i = 0; i < 40; i++) {
        memcpy(big + 2 * i, "\xd0\xb6", 2);
    }
    big[78] = '\0';
    ck_assert(fa_account_name_ok(big));
    big[78] = '\xd0';
    big[80] = '\0';
    ck_assert(!fa_account_name_ok(big));
    /* every name the rule takes is stored, suffixed or not */
    big[78] = '\0';
    ck_assert_int_eq(reg->create(reg, fa_registry_account_key(pool, big),
                                 "{}", 2, pool), APR_SUCCESS);
    s = fa_account_suffixed(pool, big);
    ck_assert(fa_account_name_ok(s));
    ck_assert_uint_eq(strlen(s), 76 + 6);             /* one letter cut */
    ck_assert_int_eq(reg->create(reg, fa_registry_account_key(pool, s),
                                 "{}", 2, pool), APR_SUCCESS);
    name[128] = '\0';
    ck_assert_int_eq(reg->create(reg, fa_registry_account_key(pool, name),
                                 "{}", 2, pool), APR_SUCCESS);
}
END_TEST

/* users del: an account with no link goes at once (its name is free); one
 * with links stays a tombstone until its last link goes. */
START_TEST(delete_rule)
{
    fa_registry_t *reg = open_reg();
    fa_account_t *a;
    fa_err_t err;
    const char *name;
    int removed, created;

    memset(&err, 0, sizeof(err));
    fa_registry_account_put(reg, pool, fa_account_new(pool, "kim"), &err);
    ck_assert_int_eq(fa_registry_account_delete(reg, pool, "kim", &a,
                                                &removed, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(removed, 1);
    ck_assert_int_eq(fa_registry_account_get(reg, pool, "kim", &a, &err),
                     APR_NOTFOUND);
    /* one deleted before (a tombstone with no link): removed too */
    a = fa_account_new(pool, "kim");
    a->state = FA_ACCOUNT_DELETED;
    fa_registry_account_put(reg, pool, a, &err);
    ck_assert_int_eq(fa_registry_account_delete(reg, pool, "kim", &a,
                                                &removed, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(removed, 1);
    ck_assert_int_eq(fa_registry_account_delete(reg, pool, "kim", &a,
                                                &removed, &err),
                     APR_NOTFOUND);
    /* linked: a tombstone */
    ck_assert_int_eq(fa_registry_signin(reg, pool, "corp", "s9", "kim", 1,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_int_eq(fa_registry_account_delete(reg, pool, "kim", &a,
                                                &removed, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(removed, 0);
    ck_assert_int_eq(a->state, FA_ACCOUNT_DELETED);
    /* a tombstone takes no new link (so a removal never strands one) */
    ck_assert_int_ne(fa_registry_link(reg, pool, "kim", "corp", "s10",
                                      &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "deleted");
    ck_assert_int_eq(fa_registry_link_get(reg, pool, "corp", "s10", &name,
                                          &err), APR_NOTFOUND);
    ck_assert_int_ne(fa_registry_signin(reg, pool, "corp", "s9", "kim", 1,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "account_deleted");
    ck_assert_int_eq(fa_registry_unlink(reg, pool, "corp", "s9", &name,
                                        &err), APR_SUCCESS);
    ck_assert_int_eq(fa_registry_account_get(reg, pool, "kim", &a, &err),
                     APR_NOTFOUND);
}
END_TEST

START_TEST(record_roundtrip)
{
    fa_account_t *a = fa_account_new(pool, "al\"ice"), *b;
    fa_link_t *l;
    const char *why;
    char *rec;
    apr_size_t len;

    a->state = FA_ACCOUNT_DISABLED;
    a->idps = fa_registry_parse_list(pool, "corp,partners", 1, &why);
    a->roles = fa_registry_parse_list(pool, "editor", 0, &why);
    l = apr_array_push(a->links);
    l->idp = "corp";
    l->sub = "s\x01ub";
    rec = fa_account_encode(pool, a, &len);
    ck_assert_int_eq(fa_account_decode(pool, rec, len, &b), APR_SUCCESS);
    ck_assert_str_eq(b->name, "al\"ice");
    ck_assert_int_eq(b->state, FA_ACCOUNT_DISABLED);
    ck_assert_int_eq(b->idps->nelts, 2);
    ck_assert_int_eq(b->roles->nelts, 1);
    ck_assert_int_eq(b->links->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(b->links, 0, fa_link_t).sub, "s\x01ub");
    ck_assert_int_eq(b->created, a->created);
    ck_assert_int_ne(fa_account_decode(pool, "{\"v\":1}", 7, &b),
                     APR_SUCCESS);
    ck_assert_int_ne(fa_account_decode(pool, "nope", 4, &b), APR_SUCCESS);
}
END_TEST

START_TEST(allowed_idps)
{
    fa_account_t *a = fa_account_new(pool, "alice");
    const char *why = NULL;

    ck_assert(fa_account_idp_allowed(a, "corp"));
    a->idps = fa_registry_parse_list(pool, "corp,partners", 1, &why);
    ck_assert(fa_account_idp_allowed(a, "corp"));
    ck_assert(fa_account_idp_allowed(a, "partners"));
    ck_assert(!fa_account_idp_allowed(a, "google"));
    ck_assert(!fa_account_idp_allowed(a, "corp2"));
    a->idps = fa_registry_parse_list(pool, "", 1, &why);
    ck_assert(!fa_account_idp_allowed(a, "corp"));
    ck_assert_ptr_null(fa_registry_parse_list(pool, "Corp", 1, &why));
    ck_assert_ptr_null(fa_registry_parse_list(pool, ",", 1, &why));
    ck_assert_ptr_null(fa_registry_parse_list(pool, "a,,b", 1, &why));
    ck_assert_ptr_null(fa_registry_parse_list(pool, "a,", 1, &why));
    ck_assert_int_eq(fa_registry_parse_list(pool, "a,b-2", 1, &why)->nelts,
                     2);
    ck_assert_ptr_null(fa_registry_parse_list(pool, "a b", 0, &why));
    a->roles = fa_registry_parse_list(pool, "editor,admin", 0, &why);
    ck_assert_str_eq(fa_account_merge_roles(pool, "admin,viewer", a),
                     "admin,editor,viewer");
    ck_assert_str_eq(fa_account_merge_roles(pool, "", a), "admin,editor");
}
END_TEST

/* ValueMapSetOnce: the first value an account gets is kept, and wins over
 * later sign-ins; attributes that are not set-once are untouched. */
START_TEST(set_once_attrs)
{
    fa_account_t *a = fa_account_new(pool, "alice"), *b;
    apr_array_header_t *once = apr_array_make(pool, 2, sizeof(char *));
    apr_array_header_t *attrs = apr_array_make(pool, 4, sizeof(fa_attr_t));
    fa_attr_t *at;
    char *rec;
    apr_size_t len;

    APR_ARRAY_PUSH(once, const char *) = "LANGUAGE";
    APR_ARRAY_PUSH(once, const char *) = "TENANT";
    at = apr_array_push(attrs);
    at->name = "LANGUAGE";
    at->value = "de";
    at = apr_array_push(attrs);
    at->name = "EMAIL";
    at->value = "a@x";
    ck_assert_int_eq(fa_account_set_once(pool, a, once, attrs), 1);
    ck_assert_int_eq(a->attrs->nelts, 1);
    ck_assert_int_eq(fa_account_set_once(pool, a, once, attrs), 0);
    rec = fa_account_encode(pool, a, &len);
    ck_assert_ptr_nonnull(strstr(rec, "\"attrs\":{\"LANGUAGE\":\"de\"}"));
    ck_assert_int_eq(fa_account_decode(pool, rec, len, &b), APR_SUCCESS);
    /* a later sign-in says fr: the account keeps de */
    attrs = apr_array_make(pool, 4, sizeof(fa_attr_t));
    at = apr_array_push(attrs);
    at->name = "LANGUAGE";
    at->value = "fr";
    ck_assert_int_eq(fa_account_set_once(pool, b, once, attrs), 0);
    ck_assert_str_eq(APR_ARRAY_IDX(attrs, 0, fa_attr_t).value, "de");
    /* and one that no longer maps at all still gets it */
    attrs = apr_array_make(pool, 4, sizeof(fa_attr_t));
    ck_assert_int_eq(fa_account_set_once(pool, b, once, attrs), 0);
    ck_assert_int_eq(attrs->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(attrs, 0, fa_attr_t).value, "de");
}
END_TEST

START_TEST(signin_rules)
{
    fa_registry_t *reg = open_reg();
    fa_account_t *a;
    fa_err_t err;
    const char *name;
    int created;

    memset(&err, 0, sizeof(err));
    ck_assert_int_ne(fa_registry_signin(reg, pool, "corp", "s1", "john", 0,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "not_registered");
    ck_assert_int_eq(fa_registry_signin(reg, pool, "corp", "s1", "john", 1,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_int_eq(created, 1);
    ck_assert_str_eq(a->name, "john");
    ck_assert_int_eq(fa_registry_signin(reg, pool, "corp", "s1", "other", 0,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_int_eq(created, 0);
    ck_assert_str_eq(a->name, "john");
    /* another identity wanting the same name gets a suffix */
    ck_assert_int_eq(fa_registry_signin(reg, pool, "google", "s2", "john", 1,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_uint_eq(strlen(a->name), 10);
    ck_assert(!strncmp(a->name, "john", 4));
    /* restricted, disabled, deleted */
    ck_assert_int_eq(fa_registry_account_get(reg, pool, "john", &a, &err),
                     APR_SUCCESS);
    a->idps = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(a->idps, const char *) = "partners";
    fa_registry_account_put(reg, pool, a, &err);
    ck_assert_int_ne(fa_registry_signin(reg, pool, "corp", "s1", "john", 1,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "not_allowed_idp");
    fa_registry_account_get(reg, pool, "john", &a, &err);
    a->idps = NULL;
    a->state = FA_ACCOUNT_DISABLED;
    fa_registry_account_put(reg, pool, a, &err);
    ck_assert_int_ne(fa_registry_signin(reg, pool, "corp", "s1", "john", 1,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "account_disabled");
    fa_registry_account_get(reg, pool, "john", &a, &err);
    a->state = FA_ACCOUNT_DELETED;
    fa_registry_account_put(reg, pool, a, &err);
    ck_assert_int_ne(fa_registry_signin(reg, pool, "corp", "s1", "john", 1,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "account_deleted");
    /* unlinking the tombstone's last link removes it: may register again */
    ck_assert_int_eq(fa_registry_unlink(reg, pool, "corp", "s1", &name,
                                        &err), APR_SUCCESS);
    ck_assert_str_eq(name, "john");
    ck_assert_int_eq(fa_registry_account_get(reg, pool, "john", &a, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(fa_registry_signin(reg, pool, "corp", "s1", "john", 1,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_str_eq(a->name, "john");
    /* a hand-made link */
    fa_registry_account_put(reg, pool, fa_account_new(pool, "alice"), &err);
    ck_assert_int_eq(fa_registry_link(reg, pool, "alice", "corp", "s3",
                                      &err), APR_SUCCESS);
    ck_assert_int_eq(fa_registry_link(reg, pool, "alice", "corp", "s3",
                                      &err), APR_EEXIST);
    ck_assert_int_eq(fa_registry_signin(reg, pool, "corp", "s3", "x", 0,
                                        &a, &created, &err), APR_SUCCESS);
    ck_assert_str_eq(a->name, "alice");
}
END_TEST

Suite *suite_registry(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dir_values);
    tcase_add_test(tc, dir_create_race);
    tcase_add_test(tc, dir_update_race);
    tcase_add_test(tc, suffix_rule);
    tcase_add_test(tc, name_rule);
    tcase_add_test(tc, delete_rule);
    tcase_add_test(tc, record_roundtrip);
    tcase_add_test(tc, allowed_idps);
    tcase_add_test(tc, signin_rules);
    tcase_add_test(tc, set_once_attrs);
    suite_add_tcase(s, tc);
    return s;
}
