/* fa_session.h - sessions and login state: ids, cookies, the versioned
 * record format kept in the store.
 *
 * Cookie value: <id>.<tag>, id = 32 random bytes and tag = the first 16
 * bytes of HMAC-SHA256(cookie key, id), both base64url. The store key is
 * made from the other 16 bytes, so one MAC both rejects forged cookies
 * without a store round trip and keeps the store free of anything a
 * leaked dump could replay as a cookie.
 * Part of the httpd-free core. */
#ifndef FA_SESSION_H
#define FA_SESSION_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "fa_util.h"

#define FA_SESSION_ID_BYTES 32
#define FA_SESSION_COOKIE_LEN 66   /* 43 + '.' + 22 */
#define FA_SESSION_KEY_LEN 24      /* "s:" + 22 */
#define FA_STATE_LEN 43            /* 32 random bytes, base64url */

typedef struct fa_keys_t {
    unsigned char cookie[32];     /* session cookie MAC */
    unsigned char state[32];      /* login state keys */
    apr_uint64_t id;              /* names these keys among others (made
                                   * from them, never 0), not secret */
} fa_keys_t;

/* Derives the keys from a secret (passphrase or file contents). */
void fa_keys_derive(fa_keys_t *keys, const void *secret, apr_size_t len);
/* Random keys, for a single host with no FedAuthSecret. */
apr_status_t fa_keys_random(fa_keys_t *keys);

/* A short MAC for small signed cookies: base64url of the first 16 bytes of
 * HMAC-SHA256(cookie key, label NUL value). */
char *fa_keys_tag(apr_pool_t *p, const fa_keys_t *keys, const char *label,
                  const char *value);

/* A new session id: the cookie value and the store key. */
apr_status_t fa_session_new_id(apr_pool_t *p, const fa_keys_t *keys,
                               char **cookie_value, char **store_key);
/* Checks a cookie value; on success writes the store key into key_out
 * (FA_SESSION_KEY_LEN + 1 bytes). No allocation. 0 when forged/garbled.
 * A process remembers the cookies it has checked (or made), so that the
 * MAC is computed once per cookie, not once per request; see
 * fa_session.c. */
int fa_session_cookie_check(const fa_keys_t *keys, const char *value,
                            apr_size_t len, char *key_out);

typedef struct fa_attr_t {
    const char *name;             /* ATTRIBUTE, upper case, [A-Z0-9_] */
    const char *value;            /* already rendered text */
} fa_attr_t;

typedef struct fa_session_t {
    apr_int64_t created;          /* seconds since epoch */
    apr_int64_t last_seen;        /* last time the idle clock was reset */
    apr_int64_t token_exp;        /* the ID token's exp */
    const char *idp;
    const char *sub;              /* the identity: IdentifyingClaim's
                                   * value (sub by default) */
    /* The sub of the token the session was made from, only when it
     * differs from sub (IdentifyingClaim names another claim): the key
     * back-channel logout finds the session by. NULL: it is sub. */
    const char *token_sub;
    const char *user;
    const char *roles;            /* sorted, comma-separated, may be "" */
    const char *sid;              /* the IdP's session id, may be NULL */
    const char *id_token;         /* for logout hints, may be NULL */
    /* Only when the server keeps tokens (FedAuthPassAccessToken On
     * somewhere, or FedAuthRefreshBeforeExpiry): never logged. */
    const char *access_token;     /* may be NULL */
    apr_int64_t access_exp;       /* its expiry, 0 when unknown */
    const char *refresh_token;    /* may be NULL */
    apr_array_header_t *attrs;    /* of fa_attr_t */
    apr_array_header_t *claims;   /* of fa_attr_t: claim name and one value
                                   * (an array claim has one entry per
                                   * element), for Require fedauth-claim */
} fa_session_t;

/* Session record format version 1: "FA1\n" then fields
 * "<tag><decimal length>:<bytes>\n". Unknown tags are skipped. */
apr_status_t fa_session_encode(apr_pool_t *p, const fa_session_t *s,
                               char **out, apr_size_t *len);
/* Bytes one field with a value of len bytes takes in an encoded record. */
apr_size_t fa_session_field_size(apr_size_t len);
/* Decodes in place: buf must be writable and stay alive as long as the
 * session; no copy of the values is made. */
apr_status_t fa_session_decode(apr_pool_t *p, char *buf, apr_size_t len,
                               fa_session_t **ps);

/* When the session ends: the earlier of idle and absolute expiry. */
apr_int64_t fa_session_expires_at(const fa_session_t *s, int idle_timeout,
                                  int max_age);

/* Login state: what the callback needs, kept in the store under a key
 * derived from the state value for 10 minutes. */
#define FA_LOGIN_STATE_TTL 600

typedef struct fa_login_t {
    const char *idp;
    const char *nonce;
    const char *verifier;         /* PKCE */
    const char *return_to;
    const char *redirect_uri;
    const char *bind;             /* the browser's state cookie value */
    apr_int64_t created;
} fa_login_t;

/* A new login: random state, nonce, verifier and browser binding. */
apr_status_t fa_login_new(apr_pool_t *p, const char *idp,
                          const char *return_to, const char *redirect_uri,
                          fa_login_t **plogin, char **state);
apr_status_t fa_login_encode(apr_pool_t *p, const fa_login_t *l, char **out,
                             apr_size_t *len);
apr_status_t fa_login_decode(apr_pool_t *p, char *buf, apr_size_t len,
                             fa_login_t **pl);
/* The store key of a state value; NULL when state is not well-formed. */
const char *fa_login_key(apr_pool_t *p, const fa_keys_t *keys,
                         const char *state);

#endif
