/* SPDX-License-Identifier: Apache-2.0 */
/* test_util.c - encodings, comparisons, escaping and the return_to rule. */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "fa_util.h"
#include "fa_attempt.h"
#include "fa_claims.h"
#include <jansson.h>

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(b64url_roundtrip)
{
    unsigned char raw[256], *back;
    apr_size_t i, n, len;
    char *enc;

    for (i = 0; i < sizeof(raw); i++) {
        raw[i] = (unsigned char)(i * 7 + 3);
    }
    for (n = 0; n < 40; n++) {
        enc = fa_b64url_encode(pool, raw, n);
        ck_assert_int_eq(strlen(enc), (n * 4 + 2) / 3);
        ck_assert_ptr_null(strpbrk(enc, "+/="));
        ck_assert_int_eq(fa_b64url_decode(pool, enc, strlen(enc), &back,
                                          &len), APR_SUCCESS);
        ck_assert_uint_eq(len, n);
        ck_assert(memcmp(back, raw, n) == 0);
    }
}
END_TEST

START_TEST(b64url_rejects)
{
    unsigned char *out;
    apr_size_t len;

    /* RFC 4648 test vector, without padding */
    ck_assert_str_eq(fa_b64url_encode(pool, (const unsigned char *)"foob",
                                      4), "Zm9vYg");
    ck_assert_int_ne(fa_b64url_decode(pool, "Zm9vYg==", 8, &out, &len),
                     APR_SUCCESS);
    ck_assert_int_ne(fa_b64url_decode(pool, "ab+/", 4, &out, &len),
                     APR_SUCCESS);
    ck_assert_int_ne(fa_b64url_decode(pool, "a", 1, &out, &len),
                     APR_SUCCESS);
    /* non-zero trailing bits: a second spelling of "f" */
    ck_assert_int_eq(fa_b64url_decode(pool, "Zg", 2, &out, &len),
                     APR_SUCCESS);
    ck_assert_int_ne(fa_b64url_decode(pool, "Zh", 2, &out, &len),
                     APR_SUCCESS);
    ck_assert_str_eq(fa_b64_encode(pool, (const unsigned char *)"a:b", 3),
                     "YTpi");
    ck_assert_str_eq(fa_b64_encode(pool, (const unsigned char *)"ab", 2),
                     "YWI=");
}
END_TEST

/* Every byte value, through the decoder without branches: the 64 of
 * the base64url alphabet give their own 6 bits, the other 192 (the
 * standard alphabet's '+' and '/', '=', NUL, bytes >= 0x80 among them)
 * are refused. */
START_TEST(b64url_every_byte)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char out[4];
    apr_size_t n;
    int c, accepted = 0;

    for (c = 0; c < 256; c++) {
        char in[4] = { (char)c, 'A', 'A', 'A' };
        const char *at = c ? memchr(abc, c, 64) : NULL;
        apr_status_t rv = fa_b64url_decode_buf(in, 4, out, sizeof(out), &n);

        if (at) {
            ck_assert_int_eq(rv, APR_SUCCESS);
            ck_assert_int_eq(out[0] >> 2, (int)(at - abc));
            accepted++;
        }
        else {
            ck_assert_msg(rv != APR_SUCCESS, "byte %d accepted", c);
        }
    }
    ck_assert_int_eq(accepted, 64);
}
END_TEST

/* The decoder takes eight characters at a time where it can: every byte
 * at every place of a cookie id's 43 characters (five groups of eight,
 * then three one by one) gives what a plain table decoder gives. */
static int ref_b64url(const char *in, apr_size_t len, unsigned char *out,
                      apr_size_t *n)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    apr_uint32_t acc = 0;
    apr_size_t i;
    int bits = 0;
    const char *at;

    *n = 0;
    for (i = 0; i < len; i++) {
        if (!in[i] || !(at = memchr(abc, in[i], 64))) {
            return 0;
        }
        acc = (acc << 6) | (apr_uint32_t)(at - abc);
        if ((bits += 6) >= 8) {
            bits -= 8;
            out[(*n)++] = (unsigned char)(acc >> bits);
        }
    }
    return bits == 0 || (acc & ((1u << bits) - 1)) == 0;
}

START_TEST(b64url_every_byte_every_place)
{
    unsigned char raw[32], got[40], want[40];
    apr_size_t gn, wn, place;
    char *id;
    int c, ok;

    for (c = 0; c < 32; c++) {
        raw[c] = (unsigned char)(c * 73 + 5);
    }
    id = fa_b64url_encode(pool, raw, 32);
    ck_assert_uint_eq(strlen(id), 43);
    for (place = 0; place < 43; place++) {
        for (c = 0; c < 256; c++) {
            char in[43];

            memcpy(in, id, 43);
            in[place] = (char)c;
            ok = ref_b64url(in, 43, want, &wn);
            ck_assert_int_eq(fa_b64url_decode_buf(in, 43, got, sizeof(got),
                                                  &gn) == APR_SUCCESS, ok);
            if (ok) {
                ck_assert_uint_eq(gn, wn);
                ck_assert(memcmp(got, want, wn) == 0);
            }
        }
    }
    /* and the id itself, back to its bytes */
    ck_assert_int_eq(fa_b64url_decode_buf(id, 43, got, 32, &gn), APR_SUCCESS);
    ck_assert_uint_eq(gn, 32);
    ck_assert(memcmp(got, raw, 32) == 0);
}
END_TEST

/* Every length up to 24 characters (groups of eight, then a tail of up to
 * seven one by one), every byte at every place, and output buffers of
 * exactly the size needed and one byte less: the same answers as the
 * table decoder, leftover bits that are not zero refused. */
START_TEST(b64url_every_length)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char got[24], want[24];
    apr_size_t len, place, gn, wn;
    int c, ok, refused_bits = 0;

    for (len = 0; len <= 24; len++) {
        for (place = 0; place < (len ? len : 1); place++) {
            for (c = 0; c < 256; c++) {
                char in[24];
                apr_size_t k;
                apr_status_t rv;

                for (k = 0; k < len; k++) {
                    in[k] = abc[(k * 29 + len) % 64];
                }
                if (len) {
                    in[place] = (char)c;
                }
                ok = len % 4 != 1 && ref_b64url(in, len, want, &wn);
                rv = fa_b64url_decode_buf(in, len, got, sizeof(got), &gn);
                ck_assert_msg((rv == APR_SUCCESS) == ok,
                              "length %u, byte %d at %u", (unsigned)len, c,
                              (unsigned)place);
                if (!ok) {
                    refused_bits += len % 4 != 1 && c < 128
                                    && memchr(abc, c, 64) != NULL;
                    continue;
                }
                ck_assert_uint_eq(gn, wn);
                ck_assert(memcmp(got, want, wn) == 0);
                /* exactly the room needed: the same; one byte less: no */
                ck_assert_int_eq(fa_b64url_decode_buf(in, len, got, wn,
                                                      &gn), APR_SUCCESS);
                ck_assert_uint_eq(gn, wn);
                ck_assert(memcmp(got, want, wn) == 0);
                if (wn > 0) {
                    ck_assert_int_ne(fa_b64url_decode_buf(in, len, got,
                                                          wn - 1, &gn),
                                     APR_SUCCESS);
                }
            }
        }
    }
    /* characters of the alphabet refused only for their leftover bits */
    ck_assert_int_gt(refused_bits, 0);
}
END_TEST

START_TEST(constant_time_compare)
{
    ck_assert(fa_ct_streq("abc", "abc"));
    ck_assert(!fa_ct_streq("abc", "abd"));
    ck_assert(!fa_ct_streq("abc", "abcd"));
    ck_assert(!fa_ct_streq(NULL, "a"));
    ck_assert(fa_ct_equal("xyz", "xyz", 3));
    ck_assert(!fa_ct_equal("xyz", "xyZ", 3));
    /* every length across the word boundaries, a difference in any byte
     * and any bit of it */
    {
        unsigned char a[72], b[72];
        int len, i, bit;
        for (i = 0; i < 72; i++) {
            a[i] = b[i] = (unsigned char)(i * 37 + 11);
        }
        for (len = 0; len <= 70; len++) {
            ck_assert(fa_ct_equal(a, b, (apr_size_t)len));
            for (i = 0; i < len; i++) {
                for (bit = 0; bit < 8; bit++) {
                    b[i] ^= (unsigned char)(1 << bit);
                    ck_assert(!fa_ct_equal(a, b, (apr_size_t)len));
                    b[i] ^= (unsigned char)(1 << bit);
                }
            }
            /* a difference past len does not count */
            b[len] ^= 0x80;
            ck_assert(fa_ct_equal(a, b, (apr_size_t)len));
            b[len] ^= 0x80;
        }
    }
}
END_TEST

START_TEST(html_escape)
{
    ck_assert_str_eq(fa_html_escape(pool, "<script>alert('x&\"y')</script>"),
                     "&lt;script&gt;alert(&#39;x&amp;&#34;y&#39;)"
                     "&lt;/script&gt;");
    ck_assert_str_eq(fa_html_escape(pool, "plain"), "plain");
    ck_assert_str_eq(fa_html_escape(pool, NULL), "");
}
END_TEST

START_TEST(url_codec_and_form)
{
    apr_table_t *t;
    char *out;
    const char *q = "a=1&b=x%20y+z&empty=&flag";

    ck_assert_str_eq(fa_url_encode(pool, "a b/c?d=é"),
                     "a%20b%2Fc%3Fd%3D%C3%A9");
    ck_assert_int_eq(fa_url_decode(pool, "%41%42", 6, &out), APR_SUCCESS);
    ck_assert_str_eq(out, "AB");
    ck_assert_int_ne(fa_url_decode(pool, "%4", 2, &out), APR_SUCCESS);
    ck_assert_int_ne(fa_url_decode(pool, "%zz", 3, &out), APR_SUCCESS);
    ck_assert_int_ne(fa_url_decode(pool, "a%00b", 5, &out), APR_SUCCESS);
    ck_assert_int_eq(fa_form_parse(pool, q, strlen(q), 10, &t), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "a"), "1");
    ck_assert_str_eq(apr_table_get(t, "b"), "x y z");
    ck_assert_str_eq(apr_table_get(t, "empty"), "");
    ck_assert_str_eq(apr_table_get(t, "flag"), "");
    /* a repeated name is refused, and so are too many parameters */
    ck_assert_int_ne(fa_form_parse(pool, "state=a&state=b", 15, 10, &t),
                     APR_SUCCESS);
    ck_assert_int_ne(fa_form_parse(pool, q, strlen(q), 3, &t), APR_SUCCESS);
}
END_TEST

START_TEST(return_to_rule)
{
    static const char *const good[] = {
        "/", "/app", "/app/page?x=1&y=%2F", "/a/b#frag", "/x/%2F/y",
        NULL };
    static const char *const bad[] = {
        "", "https://evil.example/", "//evil.example", "/\\evil.example",
        "\\\\evil", "evil", "/%2F%2Fevil", "/%2fevil", "/%5Cevil",
        "/a%0d%0aSet-Cookie:x", "/a\r\nX: y", "/a%00", "javascript:alert(1)",
        " /app", "/a\\b", NULL };
    char *big;
    int i;

    for (i = 0; good[i]; i++) {
        ck_assert_msg(fa_return_to_ok(good[i]), "refused %s", good[i]);
    }
    for (i = 0; bad[i]; i++) {
        ck_assert_msg(!fa_return_to_ok(bad[i]), "accepted %s", bad[i]);
    }
    big = apr_pcalloc(pool, 2050);
    memset(big, 'a', 2049);
    big[0] = '/';
    ck_assert(!fa_return_to_ok(big));
    ck_assert(!fa_return_to_ok(NULL));
}
END_TEST

START_TEST(header_values)
{
    char *big;
    const char *v;

    ck_assert(fa_header_value_ok("fine value"));
    ck_assert(!fa_header_value_ok("a\r\nInjected: 1"));
    ck_assert_str_eq(fa_header_value(pool, "a\r\nb\tc", 100), "a  b\tc");
    big = apr_pcalloc(pool, 10000);
    memset(big, 'x', 9999);
    v = fa_header_value(pool, big, 8192);
    ck_assert_uint_eq(strlen(v), 8192);
    /* a control character at any place of a value of any length, and the
     * bytes around the edges of the allowed range */
    {
        char buf[40];
        const char *out;
        int len, at, k;
        static const unsigned char bad_bytes[] = { 0x00 + 1, 0x0a, 0x0d, 0x1f,
                                                   0x7f };
        for (len = 1; len < 40; len++) {
            for (at = 0; at < len; at++) {
                for (k = 0; k < (int)sizeof(bad_bytes); k++) {
                    memset(buf, 'a', sizeof(buf));
                    buf[len] = '\0';
                    buf[at] = (char)bad_bytes[k];
                    out = fa_header_value(pool, buf, 100);
                    ck_assert_ptr_ne(out, buf);
                    ck_assert_uint_eq(strlen(out), (apr_size_t)len);
                    ck_assert_int_eq(out[at], ' ');
                }
                memset(buf, 'a', sizeof(buf));
                buf[len] = '\0';
                buf[at] = '\t';
                ck_assert_ptr_eq(fa_header_value(pool, buf, 100), buf);
                buf[at] = (char)0x80;
                ck_assert_ptr_eq(fa_header_value(pool, buf, 100), buf);
                buf[at] = (char)0xff;
                ck_assert_ptr_eq(fa_header_value(pool, buf, 100), buf);
                buf[at] = ' ';
                ck_assert_ptr_eq(fa_header_value(pool, buf, 100), buf);
                buf[at] = '~';
                ck_assert_ptr_eq(fa_header_value(pool, buf, 100), buf);
                buf[at] = (char)0xa0;
                ck_assert_ptr_eq(fa_header_value(pool, buf, 100), buf);
                buf[at] = '~';
                ck_assert_ptr_eq(fa_header_value(pool, buf, 100), buf);
            }
        }
    }
    /* a cut never splits a UTF-8 sequence: "é" is two bytes */
    ck_assert_str_eq(fa_header_value(pool, "ab\xc3\xa9", 3), "ab");
    /* attribute names to header names */
    ck_assert_str_eq(fa_header_name(pool, "GIVEN_NAME"),
                     "X-FedAuth-Given-Name");
    ck_assert_str_eq(fa_header_name(pool, "EMAIL"), "X-FedAuth-Email");
    ck_assert_str_eq(fa_header_name(pool, "A1_B2"), "X-FedAuth-A1-B2");
}
END_TEST

/* The kept names: right for every name, the same strings the second
 * time, and still right past the table's bound (made each time then). */
START_TEST(attribute_names_kept)
{
    const char *env, *hdr, *env2, *hdr2;
    char name[80];
    int i, round;

    /* reserved, while the table has room (kept) */
    ck_assert(!fa_attr_names(pool, "SUB", &env, &hdr));
    ck_assert(!fa_attr_names(pool, "SUB", &env, &hdr));
    ck_assert(fa_attr_names(pool, "GIVEN_NAME", &env, &hdr));
    ck_assert_str_eq(env, "FEDAUTH_GIVEN_NAME");
    ck_assert_str_eq(hdr, "X-FedAuth-Given-Name");
    fa_attr_names(pool, "GIVEN_NAME", &env2, &hdr2);
    ck_assert_ptr_eq(env, env2);
    ck_assert_ptr_eq(hdr, hdr2);
    for (round = 0; round < 2; round++) {
        for (i = 0; i < 1000; i++) {
            apr_snprintf(name, sizeof(name), "ATTR_%d_X", i);
            fa_attr_names(pool, name, &env, &hdr);
            ck_assert_str_eq(env, apr_pstrcat(pool, "FEDAUTH_", name, NULL));
            ck_assert_str_eq(hdr, apr_psprintf(pool, "X-FedAuth-Attr-%d-X",
                                               i));
        }
    }
    /* and once the table is full (made each time): never passed on */
    for (round = 0; round < 2; round++) {
        env = hdr = NULL;
        ck_assert(!fa_attr_names(pool, "USER", &env, &hdr));
        ck_assert(!fa_attr_names(pool, "ROLES", &env, &hdr));
        ck_assert_ptr_null(env);
        ck_assert_ptr_null(hdr);
    }
    ck_assert(fa_attr_name_reserved("ERROR_DESCRIPTION"));
    ck_assert(!fa_attr_name_reserved("USER_EMAIL"));
    /* a name longer than the table keeps */
    memset(name, 'A', 70);
    name[70] = '\0';
    fa_attr_names(pool, name, &env, &hdr);
    ck_assert_str_eq(env, apr_pstrcat(pool, "FEDAUTH_", name, NULL));
    ck_assert_uint_eq(strlen(hdr), 80);
}
END_TEST

/* The version line: configure.ac's release, then each library by name. */
START_TEST(version_line)
{
    const char *v = fa_version_line(pool);
    const char *head = FA_VERSION " (OpenSSL ";

    ck_assert_str_ne(FA_VERSION, "unknown");
    ck_assert_int_eq(strncmp(v, head, strlen(head)), 0);
    ck_assert_ptr_nonnull(strstr(v, ", libcurl "));
    ck_assert_ptr_nonnull(strstr(v, ", jansson "));
    ck_assert_ptr_nonnull(strstr(v, ", hiredis "));
    ck_assert_int_eq(v[strlen(v) - 1], ')');
}
END_TEST

START_TEST(loopback_and_urls)
{
    ck_assert(fa_host_is_loopback("127.0.0.1"));
    ck_assert(fa_host_is_loopback("127.1.2.3"));
    ck_assert(fa_host_is_loopback("localhost"));
    ck_assert(fa_host_is_loopback("::1"));
    ck_assert(!fa_host_is_loopback("127.0.0.1.evil.example"));
    ck_assert(!fa_host_is_loopback("10.0.0.1"));
    ck_assert(!fa_host_is_loopback("127..127."));
    ck_assert(!fa_host_is_loopback("127.0.0.1."));
    ck_assert(!fa_host_is_loopback("127.0.0.256"));
    ck_assert(fa_url_is_secure_enough("https://idp.example.com/x"));
    ck_assert(fa_url_is_secure_enough("http://127.0.0.1:8080/x"));
    ck_assert(fa_url_is_secure_enough("http://[::1]:8080/x"));
    ck_assert(!fa_url_is_secure_enough("http://idp.example.com/x"));
    ck_assert(!fa_url_is_secure_enough("http://127.0.0.1.nip.io/"));
    ck_assert(!fa_url_is_secure_enough("ftp://127.0.0.1/"));
    ck_assert(!fa_url_is_secure_enough("https:///path"));
    /* decided on libcurl's parse: userinfo is refused wherever the host
     * it hides behind would be */
    ck_assert(!fa_url_is_secure_enough("http://127.0.0.1:1@127.1:9/token"));
    ck_assert(!fa_url_is_secure_enough(
        "http://127.0.0.1:1@evil.example:80/token"));
    ck_assert(!fa_url_is_secure_enough("http://localhost@evil.example/"));
    ck_assert(!fa_url_is_secure_enough("https://user@idp.example.com/"));
    ck_assert(!fa_url_is_secure_enough("https://u:p@idp.example.com/"));
    ck_assert(!fa_url_is_secure_enough("https://:p@idp.example.com/"));
    ck_assert(!fa_url_is_secure_enough("https://;o@idp.example.com/"));
    ck_assert(!fa_url_is_secure_enough("http://127.0.0.1\\@evil.example/"));
    ck_assert(!fa_url_is_secure_enough("http://127.0.0.1 @evil.example/"));
    ck_assert(!fa_url_is_secure_enough("http://127.0.0.1\t.evil.example/"));
    ck_assert(!fa_url_is_secure_enough("http://evil.example#@127.0.0.1/"));
    ck_assert(!fa_url_is_secure_enough("http://evil.example?@127.0.0.1/"));
    ck_assert(!fa_url_is_secure_enough("http://0x7f000001.evil/"));
    ck_assert(!fa_url_is_secure_enough("//127.0.0.1/x"));
    ck_assert(!fa_url_is_secure_enough("127.0.0.1/x"));
    ck_assert(!fa_url_is_secure_enough("http:/127.0.0.1/x"));
    ck_assert(!fa_url_is_secure_enough("https://idp.example.com\xc3\xa9/"));
    ck_assert(!fa_url_is_secure_enough(NULL));
    ck_assert(fa_url_is_secure_enough("HTTP://127.0.0.1:8080/x?a=@b#c"));
    ck_assert(fa_url_is_secure_enough("http://127.1:8080/x"));
    ck_assert(fa_url_is_secure_enough("http://LOCALHOST/x"));
    ck_assert(fa_url_is_secure_enough("https://idp.example.com:8443/t/"
                                      "v2.0/.well-known/x?p=1"));
}
END_TEST

/* The attempt log's lines: valid JSON whatever the values hold, each
 * value bounded, nothing cut inside a UTF-8 sequence. */
static json_t *attempt_json(const fa_attempt_t *a, apr_size_t *len)
{
    char *line = fa_attempt_line(pool, a, len);
    json_error_t e;
    json_t *j;

    ck_assert_uint_lt(*len, FA_ATTEMPT_LINE_MAX);
    ck_assert_uint_eq(strlen(line), *len);
    ck_assert_int_eq(line[*len - 1], '\n');
    ck_assert_ptr_null(memchr(line, '\n', *len - 1));
    j = json_loadb(line, *len, 0, &e);
    ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, line);
    return j;
}

START_TEST(attempt_lines)
{
    fa_attempt_t a;
    apr_size_t len;
    json_t *j;
    char big[700];
    int i;

    memset(&a, 0, sizeof(a));
    a.time = apr_time_from_sec(1796331005) + 123456;    /* 2026-12-03 */
    a.idp = "corp";
    a.sub = "248289761001";
    a.account = "alice";
    a.client = "127.0.0.1";
    ck_assert_str_eq(fa_attempt_line(pool, &a, &len),
        "{\"time\":\"2026-12-03T20:50:05.123Z\",\"outcome\":\"success\","
        "\"reason\":null,\"idp\":\"corp\",\"sub\":\"248289761001\","
        "\"account\":\"alice\",\"client\":\"127.0.0.1\"}\n");

    /* a failure before anything is known of the user */
    a.sub = a.account = NULL;
    a.reason = "state_mismatch";
    j = attempt_json(&a, &len);
    ck_assert_str_eq(json_string_value(json_object_get(j, "outcome")),
                     "failure");
    ck_assert_str_eq(json_string_value(json_object_get(j, "reason")),
                     "state_mismatch");
    ck_assert(json_is_null(json_object_get(j, "sub")));
    json_decref(j);

    /* quotes, backslashes, control characters, bytes that are not UTF-8 */
    a.sub = "a\"b\\c\r\nInjected\x01\x7f";
    a.account = "caf\xc3\xa9 \xff\xc3( \xed\xa0\x80";
    j = attempt_json(&a, &len);
    ck_assert_str_eq(json_string_value(json_object_get(j, "sub")),
                     "a\"b\\c\r\nInjected\x01\x7f");
    ck_assert_str_eq(json_string_value(json_object_get(j, "account")),
                     "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd( "
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);

    /* long values: cut at 256 bytes, never inside a sequence */
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    memcpy(big + 254, "\xf0\x9f\x98\x80", 4);     /* U+1F600 across 256 */
    a.sub = big;
    j = attempt_json(&a, &len);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(j, "sub"))),
                      254);
    json_decref(j);

    /* the worst case in every value: still one line, bounded, JSON */
    for (i = 0; i < (int)sizeof(big) - 1; i++) {
        big[i] = (char)(1 + i % 31);
    }
    a.idp = a.sub = a.account = a.reason = a.client = big;
    j = attempt_json(&a, &len);
    ck_assert_uint_le(strlen(json_string_value(json_object_get(j, "sub"))),
                      FA_ATTEMPT_VALUE_MAX);
    json_decref(j);
}
END_TEST

/* The identity (sub or IdentifyingClaim) is the key exactly as sent, or
 * the sign-in is refused; it is never rewritten into another user's. */
static const char *identity(const char *json, const char *claim,
                            const char **code)
{
    fa_claims_conf_t c;
    fa_session_t s;
    fa_err_t err;
    json_t *j = json_loads(json, 0, NULL);
    apr_status_t rv;

    ck_assert_ptr_nonnull(j);
    memset(&c, 0, sizeof(c));
    memset(&s, 0, sizeof(s));
    memset(&err, 0, sizeof(err));
    c.idp_id = "corp";
    c.identifying_claim = claim;
    rv = fa_claims_map(pool, &c, j, &s, &err);
    json_decref(j);
    *code = rv == APR_SUCCESS ? NULL : err.code;
    return rv == APR_SUCCESS ? s.sub : NULL;
}

/* The user name fa_claims_username picks from json. */
static const char *username(const char *json)
{
    fa_claims_conf_t c;
    json_t *j = json_loads(json, 0, NULL);
    const char *u;

    ck_assert_ptr_nonnull(j);
    memset(&c, 0, sizeof(c));
    c.idp_id = "corp";
    u = fa_claims_username(pool, &c, j);
    json_decref(j);
    return u;
}

START_TEST(identity_keys_exact)
{
    const char *code;

    ck_assert_str_eq(identity("{\"sub\":\"esc [31mRED \"}", NULL, &code),
                     "esc [31mRED ");
    ck_assert_ptr_null(identity("{\"sub\":\"esc\\u001b[31mRED\\u0007\"}",
                                NULL, &code));
    ck_assert_str_eq(code, "invalid_sub");
    ck_assert_ptr_null(identity("{\"sub\":\"a\\tb\"}", NULL, &code));
    ck_assert_str_eq(code, "invalid_sub");
    ck_assert_ptr_null(identity("{\"sub\":\"a\\u007fb\"}", NULL, &code));
    ck_assert_str_eq(code, "invalid_sub");
    ck_assert_ptr_null(identity("{\"sub\":\"\"}", NULL, &code));
    ck_assert_str_eq(code, "missing_sub");
    ck_assert_ptr_null(identity("{\"x\":1}", NULL, &code));
    ck_assert_str_eq(code, "missing_sub");
    /* IdentifyingClaim: a string or a whole number; an array ["o X"]
     * would render as "o X", another user's value */
    ck_assert_str_eq(identity("{\"sub\":\"s\",\"oid\":\"o X\"}", "oid",
                              &code), "o X");
    ck_assert_str_eq(identity("{\"sub\":\"s\",\"oid\":42}", "oid", &code),
                     "42");
    ck_assert_ptr_null(identity("{\"sub\":\"s\",\"oid\":[\"o X\"]}", "oid",
                                &code));
    ck_assert_str_eq(code, "invalid_sub");
    ck_assert_ptr_null(identity("{\"sub\":\"s\",\"oid\":{\"a\":1}}", "oid",
                                &code));
    ck_assert_str_eq(code, "invalid_sub");
    ck_assert_ptr_null(identity("{\"sub\":\"s\",\"oid\":true}", "oid",
                                &code));
    ck_assert_str_eq(code, "invalid_sub");
    /* the user name: an email needs exactly one '@', nothing with control
     * characters becomes a name */
    ck_assert_str_eq(username("{\"sub\":\"s1\",\"email\":\"a@b.example\","
                              "\"email_verified\":true}"), "a@b.example");
    ck_assert_str_eq(username("{\"sub\":\"s1\",\"email\":\"a@b@c.example\","
                              "\"email_verified\":true}"), "s1@corp");
    ck_assert_str_eq(username("{\"sub\":\"s1\",\"email\":\"ab.example\","
                              "\"email_verified\":true}"), "s1@corp");
    ck_assert_str_eq(username("{\"sub\":\"s1\",\"email\":\"a\\u0007@b.ex\","
                              "\"email_verified\":true}"), "s1@corp");
    ck_assert_str_eq(username("{\"sub\":\"s1\",\"preferred_username\":"
                              "\"x\\u001by\",\"email\":\"a@b.example\","
                              "\"email_verified\":true}"), "a@b.example");
    /* a preferred_username may hold several '@' (it is not an email) */
    ck_assert_str_eq(username("{\"sub\":\"s1\",\"preferred_username\":"
                              "\"a@b@c\"}"), "a@b@c");
}
END_TEST

Suite *suite_util(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, b64url_roundtrip);
    tcase_add_test(tc, b64url_rejects);
    tcase_add_test(tc, b64url_every_byte);
    tcase_add_test(tc, b64url_every_byte_every_place);
    tcase_add_test(tc, b64url_every_length);
    tcase_add_test(tc, constant_time_compare);
    tcase_add_test(tc, attribute_names_kept);
    tcase_add_test(tc, html_escape);
    tcase_add_test(tc, url_codec_and_form);
    tcase_add_test(tc, return_to_rule);
    tcase_add_test(tc, header_values);
    tcase_add_test(tc, attempt_lines);
    tcase_add_test(tc, loopback_and_urls);
    tcase_add_test(tc, version_line);
    tcase_add_test(tc, identity_keys_exact);
    suite_add_tcase(s, tc);
    return s;
}
