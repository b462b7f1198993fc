/* SPDX-License-Identifier: Apache-2.0 */
/* fa_util.c - small helpers of the core; see fa_util.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <curl/curl.h>
#include <jansson.h>
#include <hiredis.h>
#include "fa_util.h"

#ifndef FA_VERSION
#define FA_VERSION "unknown"
#endif

apr_status_t fa_err_set(fa_err_t *err, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
        va_end(ap);
    }
    return APR_EGENERAL;
}

static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char B64STD[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(apr_pool_t *p, const unsigned char *in,
                        apr_size_t len, const char *alphabet, int pad)
{
    char *out = apr_palloc(p, ((len + 2) / 3) * 4 + 1);
    char *o = out;
    apr_size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        *o++ = alphabet[in[i] >> 2];
        *o++ = alphabet[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *o++ = alphabet[((in[i + 1] & 0x0f) << 2) | (in[i + 2] >> 6)];
        *o++ = alphabet[in[i + 2] & 0x3f];
    }
    if (i < len) {
        *o++ = alphabet[in[i] >> 2];
        if (i + 1 < len) {
            *o++ = alphabet[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
            *o++ = alphabet[(in[i + 1] & 0x0f) << 2];
        }
        else {
            *o++ = alphabet[(in[i] & 0x03) << 4];
            if (pad) {
                *o++ = '=';
            }
        }
        if (pad) {
            *o++ = '=';
        }
    }
    *o = '\0';
    return out;
}

char *fa_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len)
{
    return b64_encode(p, in, len, B64URL, 0);
}

char *fa_b64_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len)
{
    return b64_encode(p, in, len, B64STD, 1);
}

/* -1 when lo <= c <= hi, else 0 (c, lo, hi in 0..255). */
#define B64_IN(c, lo, hi) ((((lo) - 1 - (c)) & ((c) - (hi) - 1)) >> 8)

/* A character's 6 bits, or -1. Without branches: a cookie's characters
 * are random, so a chain of ifs mispredicts on most of them (a 43-char
 * id cost 0.3 us), and the time taken no longer depends on which
 * characters a secret holds. */
static int b64url_value(unsigned char uc)
{
    int c = uc;

    return -1 + (B64_IN(c, 'A', 'Z') & (c - 'A' + 1))
           + (B64_IN(c, 'a', 'z') & (c - 'a' + 27))
           + (B64_IN(c, '0', '9') & (c - '0' + 53))
           + (B64_IN(c, '-', '-') & 63) + (B64_IN(c, '_', '_') & 64);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define B64_SWAR 1
/* Per byte of y (each below 0x80): 0x80 where it is >= lo, or <= hi. No
 * byte carries into the next: 0x7f + 0x80 - lo and 0x80 + hi - y stay
 * within a byte. */
#define B64_ONES 0x0101010101010101ull
#define B64_HIGH 0x8080808080808080ull
#define B64_GE(y, lo) (((y) + (0x80 - (lo)) * B64_ONES) & B64_HIGH)
#define B64_LE(y, hi) (((0x80 + (hi)) * B64_ONES - (y)) & B64_HIGH)
/* y - lo per byte, without a borrow from the next (right where y >= lo) */
#define B64_SUB(y, lo) ((((y) | B64_HIGH) - (lo) * B64_ONES) & ~B64_HIGH)
/* 0x80 per byte -> 0xff per byte */
#define B64_FULL(m) (((m) >> 7) * 0xff)

/* Eight characters at once, as b64url_value does one (no branch, the
 * same time whatever they are): the 48 bits of in[0..7] into out[0..5];
 * 0 when one of them is not in the alphabet. The bytes are loaded as one
 * little-endian word, in[0] in the lowest byte. */
static int b64url_decode8(const char *in, unsigned char *out)
{
    apr_uint64_t x, y, up, lo, dig, dash, und, v;
    int k;

    memcpy(&x, in, 8);
    y = x & ~B64_HIGH;
    up = B64_GE(y, 'A') & B64_LE(y, 'Z');
    lo = B64_GE(y, 'a') & B64_LE(y, 'z');
    dig = B64_GE(y, '0') & B64_LE(y, '9');
    dash = B64_GE(y, '-') & B64_LE(y, '-');
    und = B64_GE(y, '_') & B64_LE(y, '_');
    v = (B64_FULL(up) & B64_SUB(y, 'A'))
        | (B64_FULL(lo) & B64_SUB(y, 'a' - 26))
        | (B64_FULL(dig) & ((y + 4 * B64_ONES) & ~B64_HIGH))
        | (B64_FULL(dash) & (62 * B64_ONES))
        | (B64_FULL(und) & (63 * B64_ONES));
    if (((x & B64_HIGH) | (~(up | lo | dig | dash | und) & B64_HIGH))
        != 0) {
        return 0;
    }
    /* the eight 6-bit values, first character's bits first */
    x = 0;
    for (k = 0; k < 8; k++) {
        x = (x << 6) | ((v >> (8 * k)) & 0x3f);
    }
    for (k = 0; k < 6; k++) {
        out[k] = (unsigned char)(x >> (40 - 8 * k));
    }
    return 1;
}
#endif

apr_status_t fa_b64url_decode_buf(const char *in, apr_size_t inlen,
                                  unsigned char *out, apr_size_t cap,
                                  apr_size_t *outlen)
{
    apr_size_t i = 0, n = 0;
    apr_uint32_t acc = 0;
    int bits = 0, v;

    *outlen = 0;
    if (inlen % 4 == 1 || (inlen / 4) * 3 + (inlen % 4) > cap + 1) {
        return APR_EINVAL;
    }
#ifdef B64_SWAR
    /* whole groups of eight characters (six bytes, no bits left over) */
    for (; i + 8 <= inlen && n + 6 <= cap; i += 8, n += 6) {
        if (!b64url_decode8(in + i, out + n)) {
            return APR_EINVAL;
        }
    }
#endif
    for (; i < inlen; i++) {
        v = b64url_value((unsigned char)in[i]);
        if (v < 0) {
            return APR_EINVAL;
        }
        acc = (acc << 6) | (apr_uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap) {
                return APR_EINVAL;
            }
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    /* Leftover bits must be zero: one string, one encoding. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return APR_EINVAL;
    }
    *outlen = n;
    return APR_SUCCESS;
}

apr_status_t fa_b64url_decode(apr_pool_t *p, const char *in, apr_size_t inlen,
                              unsigned char **out, apr_size_t *outlen)
{
    apr_size_t cap = (inlen * 3) / 4 + 1;
    unsigned char *buf = apr_palloc(p, cap + 1);
    apr_status_t rv;

    *out = NULL;
    rv = fa_b64url_decode_buf(in, inlen, buf, cap, outlen);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    buf[*outlen] = '\0';
    *out = buf;
    return APR_SUCCESS;
}

int fa_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

apr_status_t fa_random(unsigned char *buf, apr_size_t len)
{
    if (len > (apr_size_t)INT32_MAX || RAND_bytes(buf, (int)len) != 1) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

char *fa_random_token(apr_pool_t *p, apr_size_t len)
{
    unsigned char buf[64];

    if (len > sizeof(buf) || fa_random(buf, len) != APR_SUCCESS) {
        return NULL;
    }
    return fa_b64url_encode(p, buf, len);
}

/* Word by word, every byte looked at whatever it holds (CRYPTO_memcmp
 * goes a byte at a time, which the cookie check on every request feels). */
int fa_ct_equal(const void *a, const void *b, apr_size_t len)
{
    const unsigned char *x = a, *y = b;
    apr_uint64_t diff = 0, u, v;
    apr_size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        memcpy(&u, x + i, 8);
        memcpy(&v, y + i, 8);
        diff |= u ^ v;
    }
    for (; i < len; i++) {
        diff |= (apr_uint64_t)(x[i] ^ y[i]);
    }
    /* no branch on diff: fold it to one bit */
    return (int)(((diff | (0 - diff)) >> 63) ^ 1);
}

int fa_ct_streq(const char *a, const char *b)
{
    apr_size_t la, lb;

    if (!a || !b) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    if (la != lb) {
        return 0;
    }
    return CRYPTO_memcmp(a, b, la) == 0;
}

const char *fa_html_escape(apr_pool_t *p, const char *s)
{
    apr_size_t extra = 0;
    const char *c;
    char *out, *o;

    if (!s) {
        return "";
    }
    for (c = s; *c; c++) {
        switch (*c) {
        case '&': extra += 4; break;
        case '<': case '>': extra += 3; break;
        case '"': case '\'': extra += 5; break;
        default: break;
        }
    }
    if (extra == 0) {
        return s;
    }
    out = o = apr_palloc(p, (apr_size_t)(c - s) + extra + 1);
    for (c = s; *c; c++) {
        switch (*c) {
        case '&': memcpy(o, "&amp;", 5); o += 5; break;
        case '<': memcpy(o, "&lt;", 4); o += 4; break;
        case '>': memcpy(o, "&gt;", 4); o += 4; break;
        case '"': memcpy(o, "&#34;", 5); o += 5; break;
        case '\'': memcpy(o, "&#39;", 5); o += 5; break;
        default: *o++ = *c; break;
        }
    }
    *o = '\0';
    return out;
}

char *fa_url_encode(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t len = strlen(s);
    char *out = apr_palloc(p, len * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0x0f];
        }
    }
    *o = '\0';
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

apr_status_t fa_url_decode(apr_pool_t *p, const char *in, apr_size_t len,
                           char **out)
{
    char *buf = apr_palloc(p, len + 1), *o = buf;
    apr_size_t i;
    int hi, lo;

    *out = NULL;
    for (i = 0; i < len; i++) {
        if (in[i] == '+') {
            *o++ = ' ';
        }
        else if (in[i] == '%') {
            if (i + 2 >= len) {
                return APR_EINVAL;
            }
            hi = hex_value(in[i + 1]);
            lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return APR_EINVAL;
            }
            *o++ = (char)((hi << 4) | lo);
            i += 2;
        }
        else if (in[i] == '\0') {
            return APR_EINVAL;
        }
        else {
            *o++ = in[i];
        }
    }
    *o = '\0';
    *out = buf;
    return APR_SUCCESS;
}

apr_status_t fa_form_parse(apr_pool_t *p, const char *in, apr_size_t len,
                           int max_params, apr_table_t **out)
{
    apr_table_t *t = apr_table_make(p, 8);
    const char *end = in + len, *pair, *amp, *eq;
    char *name, *value;
    int count = 0;

    *out = NULL;
    for (pair = in; pair < end; pair = amp + 1) {
        amp = memchr(pair, '&', (apr_size_t)(end - pair));
        if (!amp) {
            amp = end;
        }
        if (amp == pair) {
            continue;
        }
        if (++count > max_params) {
            return APR_EINVAL;
        }
        eq = memchr(pair, '=', (apr_size_t)(amp - pair));
        if (!eq) {
            eq = amp;
        }
        if (fa_url_decode(p, pair, (apr_size_t)(eq - pair), &name)
            != APR_SUCCESS
            || fa_url_decode(p, eq < amp ? eq + 1 : amp,
                             eq < amp ? (apr_size_t)(amp - eq - 1) : 0,
                             &value) != APR_SUCCESS) {
            return APR_EINVAL;
        }
        if (apr_table_get(t, name)) {
            return APR_EINVAL;
        }
        apr_table_setn(t, name, value);
        if (amp == end) {
            break;
        }
    }
    *out = t;
    return APR_SUCCESS;
}

int fa_return_to_ok(const char *path)
{
    const unsigned char *c;
    apr_size_t len;

    if (!path || path[0] != '/') {
        return 0;
    }
    len = strlen(path);
    if (len > 2048) {
        return 0;
    }
    /* "//host" and "/\host" are scheme-relative to browsers. */
    if (path[1] == '/' || path[1] == '\\') {
        return 0;
    }
    for (c = (const unsigned char *)path; *c; c++) {
        if (*c < 0x20 || *c == 0x7f || *c == '\\') {
            return 0;
        }
    }
    /* An encoded slash or backslash right after the first one could be
     * decoded into "//" by a later hop; refuse it there. */
    if (path[1] == '%' && path[2] == '2'
        && (path[3] == 'f' || path[3] == 'F')) {
        return 0;
    }
    if (path[1] == '%' && path[2] == '5'
        && (path[3] == 'c' || path[3] == 'C')) {
        return 0;
    }
    /* Encoded control characters (CR, LF, NUL, ...) are never wanted. */
    for (c = (const unsigned char *)path; *c; c++) {
        if (c[0] == '%' && (c[1] == '0' || c[1] == '1')
            && hex_value((char)c[2]) >= 0) {
            return 0;
        }
        if (c[0] == '%' && c[1] == '7' && (c[2] == 'f' || c[2] == 'F')) {
            return 0;
        }
    }
    return 1;
}

int fa_header_value_ok(const char *s)
{
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n') {
            return 0;
        }
    }
    return 1;
}

/* Nonzero when one of the 8 bytes of x is below 0x20 or is 0x7f (a tab
 * counts too): exact for "none", and the byte loop decides otherwise. */
static apr_uint64_t word_has_control(apr_uint64_t x)
{
    const apr_uint64_t ones = 0x0101010101010101ull;
    const apr_uint64_t highs = 0x8080808080808080ull;
    apr_uint64_t y = x ^ (0x7f * ones);

    return (((x - 0x20 * ones) & ~x) | ((y - ones) & ~y)) & highs;
}

/* 1 when none of the len bytes at s is a control character but tab:
 * eight at a time, the last eight overlapping the ones before when len is
 * not a multiple of 8; byte by byte from the first word that has a
 * control character or a tab, and for values shorter than 8. */
static int header_safe(const unsigned char *s, apr_size_t len)
{
    apr_uint64_t x;
    apr_size_t i = 0;

    if (len >= 8) {
        for (; i + 8 <= len; i += 8) {
            memcpy(&x, s + i, 8);
            if (word_has_control(x)) {
                break;
            }
        }
        if (i + 8 > len) {
            memcpy(&x, s + len - 8, 8);
            if (!word_has_control(x)) {
                return 1;
            }
            i = len - 8;
        }
    }
    for (; i < len; i++) {
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
            return 0;
        }
    }
    return 1;
}

const char *fa_header_value(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t len = strlen(s), i;
    char *out;

    if (len <= max && header_safe((const unsigned char *)s, len)) {
        return s;                 /* the usual value */
    }
    if (len > max) {
        len = max;
        /* Do not cut a UTF-8 sequence in half. */
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80) {
            len--;
        }
    }
    out = apr_pstrmemdup(p, s, len);
    for (i = 0; i < len; i++) {
        unsigned char o = (unsigned char)out[i];
        if ((o < 0x20 && o != '\t') || o == 0x7f) {
            out[i] = ' ';
        }
    }
    return out;
}

int fa_host_is_loopback(const char *host)
{
    struct in_addr a;

    if (!host) {
        return 0;
    }
    if (!strcasecmp(host, "localhost") || !strcmp(host, "::1")
        || !strcmp(host, "[::1]")) {
        return 1;
    }
    /* four decimal numbers exactly ("127..1." is a host name, which any
     * resolver may answer for) */
    return inet_pton(AF_INET, host, &a) == 1
           && (ntohl(a.s_addr) >> 24) == 127;
}

/* 1 when url holds only printable ASCII and no backslash: the bytes a
 * browser, libcurl and a proxy could each read differently (controls,
 * spaces, backslashes, non-ASCII) have no place in an IdP URL. */
static int url_chars_ok(const char *url)
{
    const unsigned char *c;

    for (c = (const unsigned char *)url; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '\\') {
            return 0;
        }
    }
    return 1;
}

/* 1 when libcurl's parse u has part (user name, password, login
 * options). */
static int url_has_part(CURLU *u, CURLUPart part)
{
    char *v = NULL;
    CURLUcode rc = curl_url_get(u, part, &v, 0);

    curl_free(v);
    return rc == CURLUE_OK;
}

/* The rule on libcurl's parse u: scheme, host, no userinfo. */
static int url_rule_ok(CURLU *u)
{
    char *scheme = NULL, *host = NULL;
    int ok = 0;

    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK
        || !*host || url_has_part(u, CURLUPART_USER)
        || url_has_part(u, CURLUPART_PASSWORD)
        || url_has_part(u, CURLUPART_OPTIONS)) {
        goto out;
    }
    if (!strcasecmp(scheme, "https")) {
        ok = 1;
    }
    else if (!strcasecmp(scheme, "http")) {
        ok = fa_host_is_loopback(host);
    }
out:
    curl_free(scheme);
    curl_free(host);
    return ok;
}

struct Curl_URL *fa_url_parse_checked(const char *url)
{
    const char *authority;
    CURLU *u;

    if (!url || !url_chars_ok(url)) {
        return NULL;
    }
    authority = !strncasecmp(url, "https://", 8) ? url + 8
                : !strncasecmp(url, "http://", 7) ? url + 7 : NULL;
    /* libcurl reads "https:///host" as host "host": that spelling is not
     * an IdP's either */
    if (!authority || !*authority || *authority == '/'
        || !(u = curl_url())) {
        return NULL;
    }
    if (curl_url_set(u, CURLUPART_URL, url, FA_CURLU_FLAGS) != CURLUE_OK
        || !url_rule_ok(u)) {
        curl_url_cleanup(u);
        return NULL;
    }
    return u;
}

int fa_url_is_secure_enough(const char *url)
{
    CURLU *u = fa_url_parse_checked(url);

    curl_url_cleanup(u);
    return u != NULL;
}

/* Writes "X-FedAuth-" + attr in header case into out (strlen(attr) + 11
 * bytes). */
static void header_name_into(char *out, const char *attr)
{
    const char *a;
    char *c = out + 10;
    int upper = 1;

    memcpy(out, "X-FedAuth-", 10);
    for (a = attr; *a; a++, c++) {
        if (*a == '_') {
            *c = '-';
            upper = 1;
        }
        else {
            *c = upper ? apr_toupper(*a) : apr_tolower(*a);
            upper = 0;
        }
    }
    *c = '\0';
}

const char *fa_header_name(apr_pool_t *p, const char *attr)
{
    char *h = apr_palloc(p, strlen(attr) + 11);

    header_name_into(h, attr);
    return h;
}

static const char *const reserved_attrs[] = {
    "USER", "SUB", "IDP", "ROLES", "ERROR", "ERROR_DESCRIPTION",
    "ACCESS_TOKEN", "ACCESS_TOKEN_EXPIRES", NULL
};

int fa_attr_name_reserved(const char *attr)
{
    int i;

    for (i = 0; reserved_attrs[i]; i++) {
        if (!strcmp(attr, reserved_attrs[i])) {
            return 1;
        }
    }
    return 0;
}

/* The names of fa_attr_names: an open-addressed table of entries that
 * are never changed or freed once published, so a reader needs no lock
 * (an acquire load pairs with the writer's release store); writers take
 * a mutex. Bounded: NAME_SLOTS slots, NAME_KEEP names of at most
 * NAME_MAX_LEN bytes. A reserved name is kept too, with no names. */
#define NAME_SLOTS 512
#define NAME_KEEP 384
#define NAME_MAX_LEN 64

typedef struct attr_names_t {
    const char *env;              /* NULL: reserved */
    const char *header;
    char attr[1];
} attr_names_t;

static attr_names_t *name_slot[NAME_SLOTS];
static unsigned int name_count;
static pthread_mutex_t name_lock = PTHREAD_MUTEX_INITIALIZER;

/* One allocation: attr, then "FEDAUTH_" + attr, then the header name. */
static attr_names_t *names_make(const char *attr, apr_size_t len)
{
    attr_names_t *n = malloc(sizeof(*n) + 3 * (len + 1) + 18);
    char *env;

    if (n) {
        memcpy(n->attr, attr, len + 1);
        n->env = n->header = NULL;
        if (!fa_attr_name_reserved(attr)) {
            env = n->attr + len + 1;
            memcpy(env, "FEDAUTH_", 8);
            memcpy(env + 8, attr, len + 1);
            header_name_into(env + 8 + len + 1, attr);
            n->env = env;
            n->header = env + 8 + len + 1;
        }
    }
    return n;
}

int fa_attr_names(apr_pool_t *p, const char *attr, const char **env,
                  const char **header)
{
    apr_size_t len, probe;
    apr_uint32_t h = 2166136261u;
    const char *c;
    attr_names_t *n;

    for (c = attr; *c; c++) {
        h = (h ^ (unsigned char)*c) * 16777619u;
    }
    len = (apr_size_t)(c - attr);     /* the hash's walk is the strlen */
    for (probe = 0; len <= NAME_MAX_LEN && probe < 16; probe++) {
        attr_names_t **slot = &name_slot[(h + probe) % NAME_SLOTS];
        n = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (!n) {
            pthread_mutex_lock(&name_lock);
            n = *slot;
            if (!n && name_count < NAME_KEEP
                && (n = names_make(attr, len)) != NULL) {
                name_count++;
                __atomic_store_n(slot, n, __ATOMIC_RELEASE);
            }
            pthread_mutex_unlock(&name_lock);
            if (!n) {
                break;
            }
        }
        if (!strcmp(n->attr, attr)) {
            *env = n->env;
            *header = n->header;
            return n->env != NULL;
        }
    }
    if (fa_attr_name_reserved(attr)) {
        return 0;
    }
    *env = apr_pstrcat(p, "FEDAUTH_", attr, NULL);
    *header = fa_header_name(p, attr);
    return 1;
}

const char *fa_version_line(apr_pool_t *p)
{
    const char *jansson = JANSSON_VERSION;

#if JANSSON_VERSION_HEX >= 0x020d00
    jansson = jansson_version_str();
#endif
    /* hiredis has no run-time version query: the one built against */
    return apr_psprintf(p, "%s (OpenSSL %s, libcurl %s, jansson %s, "
                        "hiredis %d.%d.%d)", FA_VERSION,
                        OpenSSL_version(OPENSSL_VERSION_STRING),
                        curl_version_info(CURLVERSION_NOW)->version, jansson,
                        HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
}
