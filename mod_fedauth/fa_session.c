/* SPDX-License-Identifier: Apache-2.0 */
/* fa_session.c - session ids, cookies, and the session and login state
 * records; see fa_session.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
/* SHA256_Init/Update/Final: see mac_pads_make */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/opensslv.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include "fa_session.h"

static void hmac_sha256(const unsigned char *key, apr_size_t key_len,
                        const void *data, apr_size_t len,
                        unsigned char out[32])
{
    unsigned int out_len = 32;

    HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len);
}

/* The cookie MAC runs on every request whose cookie this process has not
 * checked before (at a million sessions, most of them). HMAC-SHA256 of a
 * 32-byte id is two SHA-256 compressions once the key's two padded
 * blocks have been absorbed; those two midstates depend on the key only,
 * so fa_keys_derive computes them once and a check copies them and runs
 * the two compressions: no allocation, no lookup, no lock (OpenSSL 3's
 * EVP_MAC re-init duplicates two digest contexts each time). Same
 * function, same output as HMAC() (t/unit test_cache checks it against
 * EVP_Q_mac). Where OpenSSL is built without its SHA-256 low-level
 * calls, and for keys not made by fa_keys_derive, the one-shot HMAC. */
#if defined(OPENSSL_NO_DEPRECATED_3_0) || OPENSSL_VERSION_MAJOR >= 4
#define FA_MAC_PADS 0
#else
#define FA_MAC_PADS 1
#endif

#if FA_MAC_PADS
typedef char fa_pads_fit[sizeof(SHA256_CTX)
                         <= sizeof(((fa_keys_t *)0)->cookie_pads[0])
                         ? 1 : -1];

/* The key's inner and outer midstates into keys->cookie_pads. */
static void mac_pads_make(fa_keys_t *keys)
{
    unsigned char pad[2][64];
    SHA256_CTX ctx[2];
    int i, j;

    for (i = 0; i < 64; i++) {
        unsigned char k = i < 32 ? keys->cookie[i] : 0;
        pad[0][i] = k ^ 0x36;
        pad[1][i] = k ^ 0x5c;
    }
    for (j = 0; j < 2; j++) {
        SHA256_Init(&ctx[j]);
        SHA256_Update(&ctx[j], pad[j], 64);
        memcpy(keys->cookie_pads[j], &ctx[j], sizeof(ctx[j]));
    }
    keys->pads_ready = 1;
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(ctx, sizeof(ctx));
}

/* HMAC-SHA256(keys->cookie, data) from the precomputed midstates. */
static void mac_from_pads(const fa_keys_t *keys, const void *data,
                          apr_size_t len, unsigned char out[32])
{
    SHA256_CTX ctx;

    memcpy(&ctx, keys->cookie_pads[0], sizeof(ctx));
    SHA256_Update(&ctx, data, len);
    SHA256_Final(out, &ctx);
    memcpy(&ctx, keys->cookie_pads[1], sizeof(ctx));
    SHA256_Update(&ctx, out, 32);
    SHA256_Final(out, &ctx);
    OPENSSL_cleanse(&ctx, sizeof(ctx));
}
#else
static void mac_pads_make(fa_keys_t *keys)
{
    keys->pads_ready = 0;
}
#endif

void fa_keys_derive(fa_keys_t *keys, const void *secret, apr_size_t len)
{
    unsigned char master[32];
    unsigned int mlen = sizeof(master);
    unsigned char id[32];

    EVP_Digest(secret, len, master, &mlen, EVP_sha256(), NULL);
    hmac_sha256(master, sizeof(master), "fedauth cookie v1", 17,
                keys->cookie);
    hmac_sha256(master, sizeof(master), "fedauth state v1", 16, keys->state);
    hmac_sha256(master, sizeof(master), "fedauth login seal v1", 21,
                keys->seal);
    hmac_sha256(master, sizeof(master), "fedauth keys id v1", 18, id);
    memcpy(&keys->id, id, sizeof(keys->id));
    if (!keys->id) {
        keys->id = 1;
    }
    mac_pads_make(keys);
    OPENSSL_cleanse(master, sizeof(master));
}

apr_status_t fa_keys_random(fa_keys_t *keys)
{
    unsigned char secret[32];
    apr_status_t rv = fa_random(secret, sizeof(secret));

    if (rv == APR_SUCCESS) {
        fa_keys_derive(keys, secret, sizeof(secret));
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    return rv;
}

/* Writes the base64url of n bytes into out (4 * ceil(n/3) + 1 bytes). */
static void b64_into(char *out, const unsigned char *in, apr_size_t n)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    apr_size_t i;
    apr_uint32_t v;

    for (i = 0; i + 2 < n; i += 3) {
        v = ((apr_uint32_t)in[i] << 16) | ((apr_uint32_t)in[i + 1] << 8)
            | in[i + 2];
        *out++ = abc[(v >> 18) & 63];
        *out++ = abc[(v >> 12) & 63];
        *out++ = abc[(v >> 6) & 63];
        *out++ = abc[v & 63];
    }
    if (n - i == 1) {
        v = (apr_uint32_t)in[i] << 16;
        *out++ = abc[(v >> 18) & 63];
        *out++ = abc[(v >> 12) & 63];
    }
    else if (n - i == 2) {
        v = ((apr_uint32_t)in[i] << 16) | ((apr_uint32_t)in[i + 1] << 8);
        *out++ = abc[(v >> 18) & 63];
        *out++ = abc[(v >> 12) & 63];
        *out++ = abc[(v >> 6) & 63];
    }
    *out = '\0';
}

char *fa_keys_tag(apr_pool_t *p, const fa_keys_t *keys, const char *label,
                  const char *value)
{
    apr_size_t llen = strlen(label), vlen = strlen(value);
    char *msg = apr_palloc(p, llen + 1 + vlen);
    unsigned char mac[32];

    memcpy(msg, label, llen);
    msg[llen] = '\0';
    memcpy(msg + llen + 1, value, vlen);
    hmac_sha256(keys->cookie, sizeof(keys->cookie), msg, llen + 1 + vlen,
                mac);
    return fa_b64url_encode(p, mac, 16);
}

static void session_mac(const fa_keys_t *keys, const unsigned char *id,
                        unsigned char mac[32])
{
#if FA_MAC_PADS
    if (keys->pads_ready) {
        mac_from_pads(keys, id, FA_SESSION_ID_BYTES, mac);
        return;
    }
#endif
    hmac_sha256(keys->cookie, sizeof(keys->cookie), id, FA_SESSION_ID_BYTES,
                mac);
}

/* Cookies this process has checked. The MAC costs more than the rest of
 * an authenticated request's work here together, and a browser sends the
 * same cookie on every request: so a cookie that passed (or was made
 * here) is kept with its store key, and the next check of the same
 * value under the same keys is a constant-time comparison. Only a value
 * that passed the MAC ever gets in, so a client sending garbage pays the
 * MAC each time and displaces nobody; the slot is picked from the id's
 * first bytes, random for every real cookie. Two ways per set, the one
 * hit less recently giving way; 65,536 cookies (about 6 MiB, touched as
 * used) per process. A remembered cookie is only a checked MAC: whether
 * its session still exists is asked of the store on every request. */
#define MEMO_SETS 32768
#define MEMO_LOCKS 64

typedef struct memo_way_t {
    apr_uint64_t keys_id;         /* 0: empty */
    char cookie[FA_SESSION_COOKIE_LEN];
    char key[FA_SESSION_KEY_LEN - 2];
} memo_way_t;

typedef struct memo_set_t {
    memo_way_t way[2];
    unsigned int recent;          /* the way hit or filled last */
} memo_set_t;

static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static memo_set_t *memo;
static pthread_mutex_t memo_lock[MEMO_LOCKS];

static void memo_init_once(void)
{
    int i;

    for (i = 0; i < MEMO_LOCKS; i++) {
        if (pthread_mutex_init(&memo_lock[i], NULL) != 0) {
            return;
        }
    }
    memo = calloc(MEMO_SETS, sizeof(*memo));
}

static unsigned int memo_index(const char *cookie)
{
    apr_uint64_t v;

    memcpy(&v, cookie, sizeof(v));
    return (unsigned int)((v * 0x9e3779b97f4a7c15ULL) >> 40) % MEMO_SETS;
}

/* 1 and the store key's 22 characters after "s:" when value is known. */
static int memo_find(const fa_keys_t *keys, const char *value, char *key22)
{
    unsigned int i = memo_index(value), w, found = 0;
    memo_set_t *set;

    if (pthread_once(&memo_once, memo_init_once) != 0 || !memo) {
        return 0;
    }
    set = &memo[i];
    pthread_mutex_lock(&memo_lock[i % MEMO_LOCKS]);
    for (w = 0; w < 2; w++) {
        memo_way_t *e = &set->way[w];
        if (e->keys_id == keys->id
            && fa_ct_equal(e->cookie, value, FA_SESSION_COOKIE_LEN)) {
            memcpy(key22, e->key, sizeof(e->key));
            set->recent = w;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&memo_lock[i % MEMO_LOCKS]);
    return found;
}

static void memo_add(const fa_keys_t *keys, const char *value,
                     const char *key22)
{
    unsigned int i = memo_index(value);
    memo_set_t *set;
    memo_way_t *e;

    if (pthread_once(&memo_once, memo_init_once) != 0 || !memo) {
        return;
    }
    set = &memo[i];
    pthread_mutex_lock(&memo_lock[i % MEMO_LOCKS]);
    set->recent = !set->recent;
    e = &set->way[set->recent];
    e->keys_id = keys->id;
    memcpy(e->cookie, value, FA_SESSION_COOKIE_LEN);
    memcpy(e->key, key22, sizeof(e->key));
    pthread_mutex_unlock(&memo_lock[i % MEMO_LOCKS]);
}

/* The cookie value and store key of session id under keys, remembered
 * as checked (the cookie was made here). */
static void cookie_of_id(apr_pool_t *p, const fa_keys_t *keys,
                         const unsigned char *id, char **cookie_value,
                         char **store_key)
{
    unsigned char mac[32];
    char *cookie, *key;

    session_mac(keys, id, mac);
    cookie = apr_palloc(p, FA_SESSION_COOKIE_LEN + 1);
    b64_into(cookie, id, FA_SESSION_ID_BYTES);
    cookie[43] = '.';
    b64_into(cookie + 44, mac, 16);
    key = apr_palloc(p, FA_SESSION_KEY_LEN + 1);
    key[0] = 's';
    key[1] = ':';
    b64_into(key + 2, mac + 16, 16);
    memo_add(keys, cookie, key + 2);
    *cookie_value = cookie;
    *store_key = key;
}

apr_status_t fa_session_new_id(apr_pool_t *p, const fa_keys_t *keys,
                               char **cookie_value, char **store_key)
{
    unsigned char id[FA_SESSION_ID_BYTES];

    if (fa_random(id, sizeof(id)) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    cookie_of_id(p, keys, id, cookie_value, store_key);
    return APR_SUCCESS;
}

int fa_session_cookie_check(const fa_keys_t *keys, const char *value,
                            apr_size_t len, char *key_out)
{
    unsigned char id[FA_SESSION_ID_BYTES + 1], tag[17], mac[32];
    apr_size_t n;

    if (len != FA_SESSION_COOKIE_LEN || value[43] != '.') {
        return 0;
    }
    if (memo_find(keys, value, key_out + 2)) {
        key_out[0] = 's';
        key_out[1] = ':';
        key_out[FA_SESSION_KEY_LEN] = '\0';
        return 1;
    }
    if (fa_b64url_decode_buf(value, 43, id, sizeof(id), &n) != APR_SUCCESS
        || n != FA_SESSION_ID_BYTES
        || fa_b64url_decode_buf(value + 44, 22, tag, sizeof(tag), &n)
           != APR_SUCCESS || n != 16) {
        return 0;
    }
    session_mac(keys, id, mac);
    if (!fa_ct_equal(mac, tag, 16)) {
        return 0;
    }
    key_out[0] = 's';
    key_out[1] = ':';
    b64_into(key_out + 2, mac + 16, 16);
    memo_add(keys, value, key_out + 2);
    return 1;
}

apr_status_t fa_session_cookie_remake(apr_pool_t *p, const fa_keys_t *keys,
                                      const char *value, apr_size_t len,
                                      char **cookie_value, char **store_key)
{
    unsigned char id[FA_SESSION_ID_BYTES + 1];
    apr_size_t n;

    if (len != FA_SESSION_COOKIE_LEN || value[43] != '.'
        || fa_b64url_decode_buf(value, 43, id, sizeof(id), &n)
           != APR_SUCCESS || n != FA_SESSION_ID_BYTES) {
        return APR_EINVAL;
    }
    cookie_of_id(p, keys, id, cookie_value, store_key);
    OPENSSL_cleanse(id, sizeof(id));
    return APR_SUCCESS;
}

/* The record format: "FA1\n" then "<tag><len>:<bytes>\n" per field. */
#define SESSION_MAGIC "FA1\n"
#define LOGIN_MAGIC "FL2\n"

static void put_field(apr_array_header_t *parts, apr_pool_t *p, char tag,
                      const char *value)
{
    if (value) {
        APR_ARRAY_PUSH(parts, const char *) =
            apr_psprintf(p, "%c%lu:%s\n", tag, (unsigned long)strlen(value),
                         value);
    }
}

apr_size_t fa_session_field_size(apr_size_t len)
{
    apr_size_t digits = 1, n;

    for (n = len; n >= 10; n /= 10) {
        digits++;
    }
    return 1 + digits + 1 + len + 1;   /* tag, length, ':', value, '\n' */
}

static void put_int(apr_array_header_t *parts, apr_pool_t *p, char tag,
                    apr_int64_t v)
{
    put_field(parts, p, tag, apr_psprintf(p, "%" APR_INT64_T_FMT, v));
}

static void join(apr_pool_t *p, apr_array_header_t *parts, char **out,
                 apr_size_t *len)
{
    *out = apr_array_pstrcat(p, parts, '\0');
    *len = strlen(*out);
}

/* The head field: "h<digits>:<the head's length>\n", first after the
 * magic; the head is every field before the ID token, which comes last
 * (fa_session_head). At most HEAD_MAX: the field then fits the probe. */
#define HEAD_MAX 99999

/* Sets parts[1] to the head field: parts[0 .. n - 1] (the head field's
 * own bytes counted too) are the head, the ID token's field follows. */
static void put_head(apr_array_header_t *parts, apr_pool_t *p, int n)
{
    apr_size_t head = 0;
    int i;

    for (i = 0; i < n; i++) {
        head += strlen(APR_ARRAY_IDX(parts, i, const char *));
    }
    if (head + 8 <= 9999) {       /* "h4:0123\n", 8 bytes */
        APR_ARRAY_IDX(parts, 1, const char *) =
            apr_psprintf(p, "h4:%04lu\n", (unsigned long)(head + 8));
    }
    else if (head + 9 <= HEAD_MAX) {
        APR_ARRAY_IDX(parts, 1, const char *) =
            apr_psprintf(p, "h5:%05lu\n", (unsigned long)(head + 9));
    }
}

apr_status_t fa_session_encode(apr_pool_t *p, const fa_session_t *s,
                               char **out, apr_size_t *len)
{
    apr_array_header_t *parts = apr_array_make(p, 20, sizeof(const char *));
    int i, n;

    APR_ARRAY_PUSH(parts, const char *) = SESSION_MAGIC;
    APR_ARRAY_PUSH(parts, const char *) = "";     /* the head field */
    put_int(parts, p, 'c', s->created);
    put_int(parts, p, 'l', s->last_seen);
    put_int(parts, p, 'x', s->token_exp);
    if (s->userinfo_at && s->userinfo_at != s->created) {
        put_int(parts, p, 'U', s->userinfo_at);
    }
    put_field(parts, p, 'i', s->idp);
    put_field(parts, p, 's', s->sub);
    put_field(parts, p, 'S', s->token_sub);
    put_field(parts, p, 'u', s->user);
    put_field(parts, p, 'r', s->roles);
    put_field(parts, p, 'd', s->sid);
    if (s->access_token) {
        put_field(parts, p, 'A', s->access_token);
        put_int(parts, p, 'E', s->access_exp);
    }
    put_field(parts, p, 'R', s->refresh_token);
    for (i = 0; s->attrs && i < s->attrs->nelts; i++) {
        const fa_attr_t *a = &APR_ARRAY_IDX(s->attrs, i, fa_attr_t);
        put_field(parts, p, 'a', a->name);
        put_field(parts, p, 'v', a->value);
    }
    for (i = 0; s->claims && i < s->claims->nelts; i++) {
        const fa_attr_t *a = &APR_ARRAY_IDX(s->claims, i, fa_attr_t);
        put_field(parts, p, 'k', a->name);
        put_field(parts, p, 'w', a->value);
    }
    n = parts->nelts;
    put_field(parts, p, 't', s->id_token);
    if (n < parts->nelts) {
        put_head(parts, p, n);
    }
    join(p, parts, out, len);
    return APR_SUCCESS;
}

apr_size_t fa_session_head(const char *v, apr_size_t n)
{
    apr_size_t head = 0, i, digits;

    /* "FA1\nh4:" or "FA1\nh5:", byte by byte (no call) */
    if (n < 8 || v[0] != 'F' || v[1] != 'A' || v[2] != '1' || v[3] != '\n'
        || v[4] != 'h' || (v[5] != '4' && v[5] != '5') || v[6] != ':') {
        return 0;
    }
    digits = (apr_size_t)(v[5] - '0');
    if (n < 8 + digits) {
        return 0;
    }
    for (i = 0; i < digits; i++) {
        if (v[7 + i] < '0' || v[7 + i] > '9') {
            return 0;
        }
        head = head * 10 + (apr_size_t)(v[7 + i] - '0');
    }
    return v[7 + digits] == '\n' ? head : 0;
}

/* Reads the next field of a record in place. 0 at the end, -1 on junk.
 * Inlined into the decoders: the request path decodes a session record
 * on every request, so the cursor stays in a register. */
static inline int next_field(char **cur, char *end, char *tag, char **value)
{
    char *c = *cur, *colon, *stop;
    unsigned long n = 0;
    unsigned int d;

    if (c >= end) {
        return 0;
    }
    *tag = *c++;
    /* at most 6 digits, and none at or past end */
    stop = end - c > 6 ? c + 6 : end;
    for (colon = c; colon < stop
         && (d = (unsigned int)(unsigned char)*colon - '0') <= 9; colon++) {
        n = n * 10 + d;
    }
    if (colon == c || colon >= end || *colon != ':'
        || n >= (unsigned long)(end - colon - 1)
        || colon[1 + n] != '\n') {
        return -1;
    }
    *value = colon + 1;
    colon[1 + n] = '\0';
    *cur = colon + 2 + n;
    return 1;
}

/* A field's number: at most 18 decimal digits, nothing else (the
 * encoder writes no sign or space); -1 otherwise, which no time is. */
static apr_int64_t to_int(const char *v)
{
    apr_int64_t n = 0;
    int i;
    unsigned int d;

    for (i = 0; (d = (unsigned int)(unsigned char)v[i] - '0') <= 9; i++) {
        if (i == 18) {
            return -1;
        }
        n = n * 10 + d;
    }
    return i == 0 || v[i] ? -1 : n;
}

/* to_int of a field value of n bytes (next_field ends it with a NUL): the
 * usual times (10 digits) with their first 8 digits read as one word;
 * anything else, and any non-digit, as to_int reads it. */
static inline apr_int64_t to_int_n(const char *v, apr_size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const apr_uint64_t highs = 0xF0F0F0F0F0F0F0F0ull;
    const apr_uint64_t zeros = 0x3030303030303030ull;
    apr_uint64_t x, d8, d9;
    apr_size_t i;

    if (n >= 8 && n <= 18) {
        memcpy(&x, v, 8);
        /* all eight '0'..'9': high nibble 3, and no carry into it at +6 */
        if ((x & highs) == zeros
            && ((x + 0x0606060606060606ull) & highs) == zeros) {
            x -= zeros;           /* first digit in the lowest byte */
            x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFull;
            x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFull;
            x = (x * 10000 + (x >> 32)) & 0xFFFFFFFFull;
            /* the usual 10 digits: the last two at once */
            if (n == 10 && (d8 = (unsigned char)v[8] - '0') <= 9
                && (d9 = (unsigned char)v[9] - '0') <= 9) {
                return (apr_int64_t)(x * 100 + d8 * 10 + d9);
            }
            for (i = 8; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
                x = x * 10 + (apr_uint64_t)(v[i] - '0');
            }
            if (i == n) {
                return (apr_int64_t)x;
            }
        }
    }
#endif
    (void)n;
    return to_int(v);
}

/* 1 when t can be a creation or last-seen time: seconds since the epoch
 * that later arithmetic (now - t, t + timeout) cannot overflow, whatever
 * a corrupt or forged record in the store says. */
#define FA_TIME_LIMIT ((apr_int64_t)1 << 40)
static int time_ok(apr_int64_t t)
{
    return t >= 0 && t < FA_TIME_LIMIT;
}

/* Nonzero when one of the 8 bytes of x is below 0x20 or is 0x7f (a tab
 * counts too, as do bytes after such a byte). */
static inline apr_uint64_t control_in(apr_uint64_t x)
{
    const apr_uint64_t ones = 0x0101010101010101ull;
    apr_uint64_t y = x ^ (0x7f * ones);

    return (((x - 0x20 * ones) & ~x) | ((y - ones) & ~y))
           & 0x8080808080808080ull;
}

/* v (n bytes, inside a record that ends at end) when it can go into a
 * request header as it is: at most FA_SESSION_HEADER_MAX bytes, none a
 * control character or a tab; NULL when it is not, or not known here
 * (the caller's own check then decides, exactly). Eight bytes at a time;
 * the last few read with the record's bytes after them, which are
 * masked to spaces. */
static inline const char *header_fit(const char *v, apr_size_t n,
                                     const char *end)
{
    apr_uint64_t x, keep;
    apr_size_t i;

    if (n > FA_SESSION_HEADER_MAX) {
        return NULL;
    }
    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&x, v + i, 8);
        if (control_in(x)) {
            return NULL;
        }
    }
    if (i == n) {
        return v;
    }
    if (end - (v + i) < 8) {
        /* a value at the record's end: its last bytes one by one */
        for (; i < n; i++) {
            if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
                return NULL;
            }
        }
        return v;
    }
    memcpy(&x, v + i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    keep = ~0ull << (8 * (8 - (n - i)));
#else
    keep = ~0ull >> (8 * (8 - (n - i)));
#endif
    x = (x & keep) | (0x2020202020202020ull & ~keep);
    return control_in(x) ? NULL : v;
}

/* A new entry at the end of *arr, which is made on first use with room
 * for n: the array's header and its first n entries in one allocation,
 * left uninitialized (each entry is written whole at once). */
static inline fa_attr_t *push_attr(apr_pool_t *p, apr_array_header_t **arr,
                                   int n)
{
    apr_array_header_t *a = *arr;

    if (!a) {
        a = apr_palloc(p, APR_ALIGN_DEFAULT(sizeof(*a))
                          + (apr_size_t)n * sizeof(fa_attr_t));
        a->pool = p;
        a->elt_size = sizeof(fa_attr_t);
        a->nelts = 0;
        a->nalloc = n;
        a->elts = (char *)a + APR_ALIGN_DEFAULT(sizeof(*a));
        *arr = a;
    }
    if (a->nelts < a->nalloc) {
        return &((fa_attr_t *)(void *)a->elts)[a->nelts++];
    }
    return apr_array_push(a);
}

/* The length of the field value just read: next_field left cur after
 * its closing newline. */
#define VLEN ((apr_size_t)(cur - value - 1))

apr_status_t fa_session_decode(apr_pool_t *p, char *buf, apr_size_t len,
                               fa_session_t **ps)
{
    fa_session_t *s;
    char *cur = buf, *end = buf + len, *value;
    char tag;
    int rc;
    fa_attr_t *attr = NULL;

    *ps = NULL;
    if (len < 4 || memcmp(buf, SESSION_MAGIC, 4) != 0) {
        return APR_EINVAL;
    }
    s = apr_pcalloc(p, sizeof(*s));
    cur += 4;
    while ((rc = next_field(&cur, end, &tag, &value)) == 1) {
        switch (tag) {
        case 'c': s->created = to_int_n(value, VLEN); break;
        case 'l': s->last_seen = to_int_n(value, VLEN); break;
        case 'x': s->token_exp = to_int_n(value, VLEN); break;
        case 'U':
            /* Checked here: a record without it pays nothing. */
            if (!time_ok(s->userinfo_at = to_int(value))) {
                return APR_EINVAL;
            }
            break;
        case 'i': s->ok_idp = header_fit(s->idp = value, VLEN, end); break;
        case 's': s->ok_sub = header_fit(s->sub = value, VLEN, end); break;
        case 'S': s->token_sub = value; break;
        case 'u': s->ok_user = header_fit(s->user = value, VLEN, end); break;
        case 'r': s->ok_roles = header_fit(s->roles = value, VLEN, end); break;
        case 'd': s->sid = value; break;
        case 't': s->id_token = value; break;
        case 'A': s->access_token = value; break;
        case 'E': s->access_exp = to_int(value); break;
        case 'R': s->refresh_token = value; break;
        case 'a':
        case 'k':
            attr = tag == 'a' ? push_attr(p, &s->attrs, 8)
                              : push_attr(p, &s->claims, 4);
            attr->name = value;
            attr->value = "";
            attr->ok_value = NULL;
            break;
        case 'v':
        case 'w':
            if (!attr) {
                return APR_EINVAL;
            }
            attr->value = value;
            if (tag == 'v') {
                attr->ok_value = header_fit(value, VLEN, end);
            }
            attr = NULL;
            break;
        default:
            break;
        }
    }
    if (rc < 0 || !s->idp || !s->sub || !s->user || !s->created
        || !time_ok(s->created) || !time_ok(s->last_seen)) {
        return APR_EINVAL;
    }
    if (!s->roles) {
        s->ok_roles = s->roles = "";      /* nothing to check in "" */
    }
    if (!s->access_token || !time_ok(s->access_exp)) {
        s->access_exp = 0;        /* unknown: never refreshed, passed on */
    }
    *ps = s;
    return APR_SUCCESS;
}
#undef VLEN

/* ---- the memo of decoded records ------------------------------------- */

/* v moved from the buffer at from (len bytes) to the one at to; a pointer
 * outside it (NULL, a constant such as "") stays as it is. */
static inline const char *moved(const char *v, const char *from,
                                apr_size_t len, char *to)
{
    apr_size_t off = (apr_size_t)((apr_uintptr_t)v - (apr_uintptr_t)from);

    return off < len ? to + off : v;
}

/* The session s decoded in from (len bytes) with its pointers moved to
 * to; its arrays' entries go to vals (the memo's) when vals, else to one
 * allocation from p with the array headers. */
static void session_move_into(fa_session_t *dst, const fa_session_t *s,
                              int n_attrs, int n_claims, const char *from,
                              apr_size_t len, char *to, fa_attr_t *vals,
                              apr_pool_t *p)
{
    const fa_attr_t *src[2];
    apr_array_header_t **arr[2];
    int n[2], k, i;

    *dst = *s;
    dst->idp = moved(s->idp, from, len, to);
    dst->sub = moved(s->sub, from, len, to);
    dst->token_sub = moved(s->token_sub, from, len, to);
    dst->user = moved(s->user, from, len, to);
    dst->roles = moved(s->roles, from, len, to);
    dst->sid = moved(s->sid, from, len, to);
    dst->id_token = moved(s->id_token, from, len, to);
    dst->access_token = moved(s->access_token, from, len, to);
    dst->refresh_token = moved(s->refresh_token, from, len, to);
    dst->ok_user = moved(s->ok_user, from, len, to);
    dst->ok_sub = moved(s->ok_sub, from, len, to);
    dst->ok_idp = moved(s->ok_idp, from, len, to);
    dst->ok_roles = moved(s->ok_roles, from, len, to);
    src[0] = s->attrs ? (const fa_attr_t *)(void *)s->attrs->elts : NULL;
    src[1] = s->claims ? (const fa_attr_t *)(void *)s->claims->elts : NULL;
    n[0] = n_attrs;
    n[1] = n_claims;
    arr[0] = &dst->attrs;
    arr[1] = &dst->claims;
    for (k = 0; k < 2; k++) {
        fa_attr_t *out;
        apr_array_header_t *a;

        if (n[k] < 0) {
            *arr[k] = NULL;
            continue;
        }
        if (vals) {
            /* the memo: its entries only, no header (made on a hit) */
            out = vals;
            vals += n[k];
            a = NULL;
        }
        else {
            a = apr_palloc(p, APR_ALIGN_DEFAULT(sizeof(*a))
                              + (apr_size_t)(n[k] ? n[k] : 1)
                                * sizeof(fa_attr_t));
            a->pool = p;
            a->elt_size = sizeof(fa_attr_t);
            a->nelts = n[k];
            a->nalloc = n[k] ? n[k] : 1;
            a->elts = (char *)a + APR_ALIGN_DEFAULT(sizeof(*a));
            out = (fa_attr_t *)(void *)a->elts;
        }
        for (i = 0; i < n[k]; i++) {
            out[i].name = moved(src[k][i].name, from, len, to);
            out[i].value = moved(src[k][i].value, from, len, to);
            out[i].ok_value = moved(src[k][i].ok_value, from, len, to);
        }
        *arr[k] = a;
    }
}

unsigned int fa_session_memo_index(const char *key)
{
    apr_uint32_t x;

    /* the key's first characters after "s:" come from a MAC: spread
     * evenly already; the multiply folds all four into the top bits */
    memcpy(&x, key + 2, 4);
    return (unsigned int)((x * 2654435761u) >> 26)
           % FA_SESSION_MEMO_SLOTS;
}

/* slot's record (len bytes) answered into buf and *ps, in p */
static void memo_answer(const fa_session_memo_slot_t *slot, apr_pool_t *p,
                        char *buf, apr_size_t len, fa_session_t **ps)
{
    fa_session_t *s, held;
    apr_array_header_t attrs, claims;

    memcpy(buf, slot->dec, len);
    /* the memo's entries stand for the arrays while moving */
    held = slot->s;
    attrs.elts = (char *)slot->vals;
    claims.elts = (char *)(slot->vals
                           + (slot->n_attrs > 0 ? slot->n_attrs : 0));
    held.attrs = slot->n_attrs >= 0 ? &attrs : NULL;
    held.claims = slot->n_claims >= 0 ? &claims : NULL;
    s = apr_palloc(p, sizeof(*s));
    session_move_into(s, &held, slot->n_attrs, slot->n_claims, slot->dec,
                      len, buf, NULL, p);
    *ps = s;
}

/* Decodes buf (len bytes) and keeps it in slot, whose key it is. */
static apr_status_t memo_keep(fa_session_memo_slot_t *slot, apr_pool_t *p,
                              char *buf, apr_size_t len, fa_session_t **ps)
{
    fa_session_t *s;
    apr_status_t rv;
    int na, nc;

    slot->len = 0;
    memcpy(slot->rec, buf, len);
    rv = fa_session_decode(p, buf, len, ps);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s = *ps;
    na = s->attrs ? s->attrs->nelts : -1;
    nc = s->claims ? s->claims->nelts : -1;
    if ((na > 0 ? na : 0) + (nc > 0 ? nc : 0) > FA_SESSION_MEMO_VALUES) {
        return APR_SUCCESS;
    }
    memcpy(slot->dec, buf, len);
    session_move_into(&slot->s, s, na, nc, buf, len, slot->dec, slot->vals,
                      NULL);
    slot->n_attrs = na;
    slot->n_claims = nc;
    slot->len = len;
    return APR_SUCCESS;
}

apr_status_t fa_session_decode_memo(fa_session_memo_t *m, const char *key,
                                    apr_pool_t *p, char *buf,
                                    apr_size_t len, fa_session_t **ps,
                                    int *hit)
{
    fa_session_memo_slot_t *slot;
    apr_status_t rv;
    int answered = 0;

    if (hit) {
        *hit = 0;
    }
    if (!m || !key || !len || len > FA_SESSION_MEMO_BYTES) {
        return fa_session_decode(p, buf, len, ps);
    }
    slot = &m->slot[fa_session_memo_index(key)];
    if (__atomic_exchange_n(&slot->busy, 1, __ATOMIC_ACQUIRE)) {
        return fa_session_decode(p, buf, len, ps);      /* never waits */
    }
    if (!slot->used || !fa_ct_equal(slot->key, key, FA_SESSION_KEY_LEN)) {
        /* a key not read here lately: noted, its record not kept yet */
        memcpy(slot->key, key, FA_SESSION_KEY_LEN);
        slot->used = 1;
        slot->len = 0;
        __atomic_store_n(&slot->busy, 0, __ATOMIC_RELEASE);
        return fa_session_decode(p, buf, len, ps);
    }
    if (slot->len == len && fa_ct_equal(slot->rec, buf, len)) {
        memo_answer(slot, p, buf, len, ps);
        answered = 1;
        rv = APR_SUCCESS;
    }
    else {
        /* read again, for the first time or changed: kept */
        rv = memo_keep(slot, p, buf, len, ps);
    }
    __atomic_store_n(&slot->busy, 0, __ATOMIC_RELEASE);
    if (hit) {
        *hit = answered;
    }
    return rv;
}

apr_int64_t fa_session_expires_at(const fa_session_t *s, int idle_timeout,
                                  int max_age)
{
    apr_int64_t idle_end = s->last_seen + idle_timeout;
    apr_int64_t hard_end = s->created + max_age;

    return idle_end < hard_end ? idle_end : hard_end;
}

apr_status_t fa_login_new(apr_pool_t *p, const char *idp,
                          const char *return_to, const char *redirect_uri,
                          fa_login_t **plogin, char **state)
{
    fa_login_t *l = apr_pcalloc(p, sizeof(*l));

    *plogin = NULL;
    *state = fa_random_token(p, 32);
    l->nonce = fa_random_token(p, 32);
    l->verifier = fa_random_token(p, 32);
    if (!*state || !l->nonce || !l->verifier) {
        return APR_EGENERAL;
    }
    l->idp = idp;
    l->return_to = return_to;
    l->redirect_uri = redirect_uri;
    l->created = fa_now_sec();
    *plogin = l;
    return APR_SUCCESS;
}

apr_status_t fa_login_encode(apr_pool_t *p, const fa_login_t *l, char **out,
                             apr_size_t *len)
{
    apr_array_header_t *parts = apr_array_make(p, 8, sizeof(const char *));

    APR_ARRAY_PUSH(parts, const char *) = LOGIN_MAGIC;
    put_field(parts, p, 'i', l->idp);
    put_field(parts, p, 'n', l->nonce);
    put_field(parts, p, 'v', l->verifier);
    put_field(parts, p, 'r', l->return_to);
    put_field(parts, p, 'u', l->redirect_uri);
    put_int(parts, p, 'c', l->created);
    if (l->post) {
        put_field(parts, p, 'p', l->post);
    }
    join(p, parts, out, len);
    return APR_SUCCESS;
}

/* Where a login record's field goes, by its tag; NULL for none. */
static const char **login_slot(fa_login_t *l, char tag, const char **c)
{
    switch (tag) {
    case 'i': return &l->idp;
    case 'n': return &l->nonce;
    case 'v': return &l->verifier;
    case 'r': return &l->return_to;
    case 'u': return &l->redirect_uri;
    case 'p': return &l->post;
    case 'c': return c;
    default: return NULL;
    }
}

apr_status_t fa_login_decode(apr_pool_t *p, char *buf, apr_size_t len,
                             fa_login_t **pl)
{
    fa_login_t *l;
    char *cur = buf, *end = buf + len, *value;
    const char **slot, *created = NULL;
    char tag;
    int rc;

    *pl = NULL;
    if (len < 4 || memcmp(buf, LOGIN_MAGIC, 4) != 0) {
        return APR_EINVAL;
    }
    l = apr_pcalloc(p, sizeof(*l));
    cur += 4;
    while ((rc = next_field(&cur, end, &tag, &value)) == 1) {
        if (!(slot = login_slot(l, tag, &created)) || *slot) {
            return APR_EINVAL;    /* unknown or repeated */
        }
        *slot = value;
    }
    if (rc < 0 || !l->idp || !l->nonce || !l->verifier || !l->return_to
        || !l->redirect_uri || !created) {
        return APR_EINVAL;
    }
    l->created = to_int(created);
    if (!time_ok(l->created)) {
        return APR_EINVAL;
    }
    *pl = l;
    return APR_SUCCESS;
}

/* The raw 32 bytes of a well-formed state value (43 base64url characters
 * in their one encoding); 0 when it is not one. */
static int state_raw(const char *state, unsigned char raw[33])
{
    apr_size_t n;

    return state && strlen(state) == FA_STATE_LEN
           && fa_b64url_decode_buf(state, FA_STATE_LEN, raw, 33, &n)
              == APR_SUCCESS && n == 32;
}

/* The key that seals the one login of this state. A key of its own per
 * login, not one key with random IVs: anyone can start sign-ins, as many
 * as they like, and AES-GCM with random 96-bit IVs must not pass 2^32
 * records under one key; 256 random bits of state never repeat. */
#define SEAL_LABEL "fedauth login v1"
#define SEAL_VERSION 1
#define SEAL_TAG 16

static void seal_key(const fa_keys_t *keys, const unsigned char raw[32],
                     unsigned char key[32])
{
    unsigned char msg[sizeof(SEAL_LABEL) + 32];

    memcpy(msg, SEAL_LABEL, sizeof(SEAL_LABEL));     /* with its NUL */
    memcpy(msg + sizeof(SEAL_LABEL), raw, 32);
    hmac_sha256(keys->seal, sizeof(keys->seal), msg, sizeof(msg), key);
}

/* AES-256-GCM of in (len bytes) into out, both ways: enc 1 seals (writes
 * the tag), 0 opens (checks it). 1 on success. */
static int gcm(int enc, const unsigned char key[32], const unsigned char *in,
               int len, unsigned char *out, unsigned char tag[SEAL_TAG])
{
    static const unsigned char iv[12] = { 0 };
    const unsigned char aad[1] = { SEAL_VERSION };
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok;

    ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv,
                                  enc) == 1
         && EVP_CipherUpdate(ctx, NULL, &n, aad, sizeof(aad)) == 1
         && EVP_CipherUpdate(ctx, out, &n, in, len) == 1 && n == len
         && (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
                                        tag) == 1)
         && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && fin == 0
         && (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
                                         SEAL_TAG, tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* Raw bytes of a sealed value at most: version, record, tag. */
#define SEALED_RAW_MAX (FA_LOGIN_SEALED_MAX / 4 * 3)

apr_status_t fa_login_seal(apr_pool_t *p, const fa_keys_t *keys,
                           const char *state, const fa_login_t *l,
                           char **sealed)
{
    unsigned char raw[33], key[32], *box;
    char *rec;
    apr_size_t len;
    int ok;

    *sealed = NULL;
    if (!state_raw(state, raw)) {
        return APR_EINVAL;
    }
    fa_login_encode(p, l, &rec, &len);
    if (1 + len + SEAL_TAG > SEALED_RAW_MAX) {
        return APR_ENOSPC;
    }
    box = apr_palloc(p, 1 + len + SEAL_TAG);
    box[0] = SEAL_VERSION;
    seal_key(keys, raw, key);
    ok = gcm(1, key, (const unsigned char *)rec, (int)len, box + 1,
             box + 1 + len);
    OPENSSL_cleanse(key, sizeof(key));
    if (!ok) {
        return APR_EGENERAL;
    }
    *sealed = fa_b64url_encode(p, box, 1 + len + SEAL_TAG);
    return APR_SUCCESS;
}

apr_status_t fa_login_open(apr_pool_t *p, const fa_keys_t *keys,
                           const char *idp, const char *state,
                           const char *sealed, apr_int64_t now,
                           fa_login_t **pl)
{
    unsigned char raw[33], key[32], *box;
    apr_size_t slen = sealed ? strlen(sealed) : 0, n;
    char *rec;
    fa_login_t *l;
    int ok;

    *pl = NULL;
    if (!state_raw(state, raw) || slen > FA_LOGIN_SEALED_MAX) {
        return APR_EINVAL;
    }
    box = apr_palloc(p, SEALED_RAW_MAX + 1);
    if (fa_b64url_decode_buf(sealed, slen, box, SEALED_RAW_MAX + 1, &n)
        != APR_SUCCESS || n < 1 + 4 + SEAL_TAG || box[0] != SEAL_VERSION) {
        return APR_EINVAL;
    }
    n -= 1 + SEAL_TAG;
    rec = apr_palloc(p, n + 1);
    seal_key(keys, raw, key);
    ok = gcm(0, key, box + 1, (int)n, (unsigned char *)rec, box + 1 + n);
    OPENSSL_cleanse(key, sizeof(key));
    if (!ok || fa_login_decode(p, rec, n, &l) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (now - l->created > FA_LOGIN_STATE_TTL
        || l->created - now > FA_LOGIN_SKEW) {
        return APR_TIMEUP;
    }
    *pl = l;
    return strcmp(l->idp, idp) ? FA_LOGIN_OTHER_IDP : APR_SUCCESS;
}

const char *fa_login_key(apr_pool_t *p, const fa_keys_t *keys,
                         const char *state)
{
    unsigned char raw[33], mac[32];
    char *key;

    if (!state_raw(state, raw)) {
        return NULL;
    }
    hmac_sha256(keys->state, sizeof(keys->state), raw, 32, mac);
    key = apr_palloc(p, 2 + 32 + 1);
    key[0] = 'l';
    key[1] = ':';
    b64_into(key + 2, mac, 24);
    return key;
}

const char *fa_login_post_key(apr_pool_t *p, const fa_keys_t *keys,
                              const char *state)
{
    unsigned char raw[33];

    if (!state_raw(state, raw)) {
        return NULL;
    }
    return apr_pstrcat(p, "l:post:", fa_keys_tag(p, keys, "post", state),
                       NULL);
}
