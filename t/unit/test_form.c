/* SPDX-License-Identifier: Apache-2.0 */
/* test_form.c - a form POST kept across a sign-in: which content types
 * qualify, the fields in order with duplicates, what is refused, the
 * digest, the page and its escaping, and the login state that carries
 * the digest. */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "fa_form.h"
#include "fa_session.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(type_ok)
{
    ck_assert(fa_form_type_ok("application/x-www-form-urlencoded"));
    ck_assert(fa_form_type_ok("Application/X-WWW-Form-Urlencoded"));
    ck_assert(fa_form_type_ok("application/x-www-form-urlencoded; "
                              "charset=UTF-8"));
    ck_assert(fa_form_type_ok("application/x-www-form-urlencoded;"
                              "charset=\"utf-8\""));
    ck_assert(fa_form_type_ok("application/x-www-form-urlencoded; a=b"));
    ck_assert(!fa_form_type_ok(NULL));
    ck_assert(!fa_form_type_ok("multipart/form-data; boundary=x"));
    ck_assert(!fa_form_type_ok("application/json"));
    ck_assert(!fa_form_type_ok("application/x-www-form-urlencodedx"));
    ck_assert(!fa_form_type_ok("application/x-www-form-urlencoded; "
                               "charset=iso-8859-1"));
    ck_assert(!fa_form_type_ok("application/x-www-form-urlencoded; "
                               "charset=\"utf-8"));
}
END_TEST

static const fa_form_field_t *field(apr_array_header_t *a, int i)
{
    return &APR_ARRAY_IDX(a, i, fa_form_field_t);
}

START_TEST(fields_in_order)
{
    const char *body = "a=1&b=x+y&a=%26%3D%2B&c&e=%C3%A9&q=%22%27%3C";
    apr_array_header_t *a;

    ck_assert_int_eq(fa_form_fields(pool, body, strlen(body), 10, &a),
                     APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 6);
    ck_assert_str_eq(field(a, 0)->name, "a");
    ck_assert_str_eq(field(a, 0)->value, "1");
    ck_assert_str_eq(field(a, 1)->value, "x y");
    ck_assert_str_eq(field(a, 2)->name, "a");
    ck_assert_str_eq(field(a, 2)->value, "&=+");
    ck_assert_str_eq(field(a, 3)->name, "c");
    ck_assert_str_eq(field(a, 3)->value, "");
    ck_assert_str_eq(field(a, 4)->value, "\xC3\xA9");
    ck_assert_str_eq(field(a, 5)->value, "\"'<");
    ck_assert_int_eq(fa_form_fields(pool, "", 0, 10, &a), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 0);
}
END_TEST

START_TEST(fields_refused)
{
    static const char *const bad[] = {
        "=x", "a=%zz", "a=%00", "a=%C3", "a=%C0%80", "a=%ED%A0%80",
        "a=%F5%80%80%80", "%FF=1", "a=1&b=2&c=3&d=4", NULL };
    apr_array_header_t *a;
    int i;

    for (i = 0; bad[i]; i++) {
        ck_assert_msg(fa_form_fields(pool, bad[i], strlen(bad[i]), 3, &a)
                      == APR_EINVAL, "%s", bad[i]);
        ck_assert(a == NULL);
    }
}
END_TEST

START_TEST(digest)
{
    const char *d = fa_form_digest(pool, "a=1", 3);

    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(strncmp(d, "3.", 2), 0);
    ck_assert_int_eq(strlen(d), 2 + 43);
    ck_assert_str_ne(d, fa_form_digest(pool, "a=2", 3));
    ck_assert_str_eq(fa_form_digest(pool, "", 0),
                     "0.47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
}
END_TEST

START_TEST(page_escapes)
{
    apr_array_header_t *a = apr_array_make(pool, 2, sizeof(fa_form_field_t));
    fa_form_field_t *f = apr_array_push(a);
    char *page;

    f->name = "x\"><script>alert(1)</script>";
    f->value = "it's <b>&amp;</b>\r\nline";
    f = apr_array_push(a);
    f->name = "submit";
    f->value = "";
    page = fa_form_page(pool, "https://h.example/p?a=\"><img src=x>'&b",
                        a, "N0nce");
    ck_assert_ptr_null(strstr(page, "<script>alert"));
    ck_assert_ptr_null(strstr(page, "<img"));
    ck_assert_ptr_null(strstr(page, "<b>"));
    ck_assert_ptr_nonnull(strstr(page, "action=\"https://h.example/p?a="
                                       "&#34;&gt;&lt;img src=x&gt;&#39;"
                                       "&amp;b\""));
    ck_assert_ptr_nonnull(strstr(page, "name=\"x&#34;&gt;&lt;script&gt;"));
    ck_assert_ptr_nonnull(strstr(page, "value=\"it&#39;s &lt;b&gt;&amp;amp;"
                                       "&lt;/b&gt;&#13;&#10;line\""));
    ck_assert_ptr_nonnull(strstr(page, "<script nonce=\"N0nce\">"));
    ck_assert_ptr_nonnull(strstr(page, "HTMLFormElement.prototype.submit"));
    ck_assert_ptr_nonnull(strstr(page, "<noscript>"));
    /* the one script is ours */
    ck_assert_ptr_null(strstr(strstr(page, "<script nonce") + 1,
                              "<script"));
}
END_TEST

START_TEST(login_keeps_digest)
{
    fa_keys_t keys;
    fa_login_t *l, *back;
    char *state, *sealed, *rec;
    apr_size_t len;
    const char *k1, *k2;

    fa_keys_derive(&keys, "secret", 6);
    ck_assert_int_eq(fa_login_new(pool, "idp", "/form", "https://h/cb", &l,
                                  &state), APR_SUCCESS);
    l->post = fa_form_digest(pool, "a=1", 3);
    ck_assert_int_eq(fa_login_seal(pool, &keys, state, l, &sealed),
                     APR_SUCCESS);
    ck_assert_int_eq(fa_login_open(pool, &keys, "idp", state, sealed,
                                   l->created, &back), APR_SUCCESS);
    ck_assert_str_eq(back->post, l->post);
    l->post = NULL;
    fa_login_encode(pool, l, &rec, &len);
    ck_assert_int_eq(fa_login_decode(pool, rec, len, &back), APR_SUCCESS);
    ck_assert_ptr_null(back->post);
    k1 = fa_login_post_key(pool, &keys, state);
    k2 = fa_login_key(pool, &keys, state);
    ck_assert_ptr_nonnull(k1);
    ck_assert_int_eq(strncmp(k1, "l:post:", 7), 0);
    ck_assert_str_ne(k1, k2);
    ck_assert_ptr_null(fa_login_post_key(pool, &keys, "short"));
}
END_TEST

Suite *suite_form(void)
{
    Suite *s = suite_create("form");
    TCase *tc = tcase_create("form");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, type_ok);
    tcase_add_test(tc, fields_in_order);
    tcase_add_test(tc, fields_refused);
    tcase_add_test(tc, digest);
    tcase_add_test(tc, page_escapes);
    tcase_add_test(tc, login_keeps_digest);
    suite_add_tcase(s, tc);
    return s;
}
