/* SPDX-License-Identifier: Apache-2.0 */
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
    unsigned char state[32];      /* store keys of used states */
    unsigned char seal[32];       /* seals login state into its cookie */
    apr_uint64_t id;              /* names these keys among others (made
                                   * from them, never 0), not secret */
    apr_uint64_t cookie_pads[2][16]; /* the cookie key's HMAC midstates,
                                   * as secret as the key (fa_session.c) */
    int pads_ready;               /* set by fa_keys_derive */
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

/* Secret rotation: the cookie of the same session id under keys (the
 * first secret's), and its store key, for a cookie value that passed
 * fa_session_cookie_check under an older secret's keys. The same id
 * always gives the same pair, so every host and every parallel request
 * that moves one session computes the same new key. APR_EINVAL for a
 * malformed value. */
apr_status_t fa_session_cookie_remake(apr_pool_t *p, const fa_keys_t *keys,
                                      const char *value, apr_size_t len,
                                      char **cookie_value, char **store_key);

/* The longest value passed on as a request header as it is. */
#define FA_SESSION_HEADER_MAX (8 * 1024)

typedef struct fa_attr_t {
    const char *name;             /* ATTRIBUTE, upper case, [A-Z0-9_] */
    const char *value;            /* already rendered text */
    /* value itself when fa_session_decode found it fit for a request
     * header as it is (see fa_session_t's ok_user); else NULL */
    const char *ok_value;
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
    /* When the claims were last read from the IdP (UserInfoRefresh): the
     * sign-in, or the last userinfo read. Field 'U', written only when it
     * differs from created; 0 in a record without it (0.3.0): read it
     * through fa_session_userinfo_at. */
    apr_int64_t userinfo_at;
    /* Set by fa_session_decode, for the request path: each of user, sub,
     * idp and roles (the same pointer) once the decoder found it fit for
     * a request header as it is (at most FA_SESSION_HEADER_MAX bytes, no
     * control character, no tab); NULL otherwise. A value put in later
     * is another pointer, so whoever passes it on checks it again. */
    const char *ok_user, *ok_sub, *ok_idp, *ok_roles;
} fa_session_t;

/* When the claims of s were last read: userinfo_at, else its creation. */
static inline apr_int64_t fa_session_userinfo_at(const fa_session_t *s)
{
    return s->userinfo_at ? s->userinfo_at : s->created;
}

/* Session record format version 1: "FA1\n" then fields
 * "<tag><decimal length>:<bytes>\n". Unknown tags are skipped, so a new
 * optional field (such as 'U') needs no new version: older modules read
 * such a record and skip it, and this one reads older records without
 * it. */
apr_status_t fa_session_encode(apr_pool_t *p, const fa_session_t *s,
                               char **out, apr_size_t *len);
/* A record's ID token is its last field; a record with one starts with
 * a head field ('h', after the magic) that gives the length of all that
 * comes before the ID token, which is what the request path reads
 * (fa_store_t.get_head). Records without it are read whole. This is the
 * head function for get_head: the head's length from a record's first n
 * (FA_STORE_HEAD_PROBE) bytes, 0 when it has no head field. */
apr_size_t fa_session_head(const char *v, apr_size_t n);
/* Bytes one field with a value of len bytes takes in an encoded record. */
apr_size_t fa_session_field_size(apr_size_t len);
/* Decodes in place: buf must be writable and stay alive as long as the
 * session; no copy of the values is made. */
apr_status_t fa_session_decode(apr_pool_t *p, char *buf, apr_size_t len,
                               fa_session_t **ps);

/* The request path's memo of decoded records, one per process. A
 * browser sends the same cookie on every request and its session seldom
 * changes, so a process decodes the same record again and again. The memo
 * keeps, in a slot chosen by the store key, the last key read there and,
 * from its second read on, its record as stored and as decoded; a record
 * of that key equal byte for byte to the memo's (keys and records
 * compared in constant time) is not decoded again: its decoded bytes are
 * copied over buf and the session made from the memo's, its pointers
 * moved into buf. The session returned is the caller's, in p and buf as
 * fa_session_decode's would be, and may be changed: the memo keeps its
 * own copy. A changed record is other bytes, so nothing in the memo can
 * outlive a write or a delete.
 * Threads share it: each slot has a flag taken without waiting; a thread
 * that finds it taken decodes as if there were no memo.
 * The first read of a key only notes it (a key never read again costs a
 * key's copy), the second keeps its record, the third and later are
 * answered. Records over FA_SESSION_MEMO_BYTES, or with more than
 * FA_SESSION_MEMO_VALUES attributes and claims together, are decoded as
 * ever and not kept. */
#define FA_SESSION_MEMO_SLOTS 64
#define FA_SESSION_MEMO_BYTES 2048
#define FA_SESSION_MEMO_VALUES 40

typedef struct fa_session_memo_slot_t {
    int busy;                           /* taken by a thread (atomic) */
    int used;                           /* 0: empty; 1: key noted */
    char key[FA_SESSION_KEY_LEN];       /* the store key, when used */
    apr_size_t len;                     /* 0: no record kept */
    int n_attrs, n_claims;              /* -1: no array */
    fa_session_t s;                     /* its pointers into dec */
    fa_attr_t vals[FA_SESSION_MEMO_VALUES];   /* attributes, then claims */
    char rec[FA_SESSION_MEMO_BYTES];    /* the record as stored */
    char dec[FA_SESSION_MEMO_BYTES];    /* the same, decoded in place */
} fa_session_memo_slot_t;

/* Zeroed before use (static, or apr_pcalloc). */
typedef struct fa_session_memo_t {
    fa_session_memo_slot_t slot[FA_SESSION_MEMO_SLOTS];
} fa_session_memo_t;

/* The slot of store key key (FA_SESSION_KEY_LEN bytes). */
unsigned int fa_session_memo_index(const char *key);

/* fa_session_decode of the record of store key key (FA_SESSION_KEY_LEN
 * bytes) through memo m (either NULL: no memo). *hit, when given: 1 when
 * the memo answered. */
apr_status_t fa_session_decode_memo(fa_session_memo_t *m, const char *key,
                                    apr_pool_t *p, char *buf,
                                    apr_size_t len, fa_session_t **ps,
                                    int *hit);

/* When the session ends: the earlier of idle and absolute expiry. */
apr_int64_t fa_session_expires_at(const fa_session_t *s, int idle_timeout,
                                  int max_age);

/* Login state: what the callback needs. It travels in the browser's
 * state cookie, sealed (fa_login_seal), so that starting a sign-in writes
 * nothing to the store; the store only learns of a state once a sign-in
 * through it has passed the IdP (fa_login_key: the mark that it is used).
 * Good for 10 minutes. */
#define FA_LOGIN_STATE_TTL 600
/* How far a login's creation time may lie ahead of this host's clock
 * (another host behind the same load balancer made it). */
#define FA_LOGIN_SKEW 60
/* The longest return_to a login keeps (the glue cuts longer ones), and
 * the longest sealed cookie value made: a cookie of a name, this and its
 * attributes stays well under the 4 KiB browsers keep. */
#define FA_LOGIN_RETURN_MAX 1024
#define FA_LOGIN_SEALED_MAX 3072

typedef struct fa_login_t {
    const char *idp;
    const char *nonce;
    const char *verifier;         /* PKCE */
    const char *return_to;
    const char *redirect_uri;
    apr_int64_t created;
    const char *post;             /* FedAuthPreservePost: the digest of
                                   * the body kept under
                                   * fa_login_post_key (fa_form_digest),
                                   * or NULL: none */
} fa_login_t;

/* A new login: random state, nonce and verifier. */
apr_status_t fa_login_new(apr_pool_t *p, const char *idp,
                          const char *return_to, const char *redirect_uri,
                          fa_login_t **plogin, char **state);
/* The record inside the seal, format "FL2\n" then fields as in a session
 * record; decoding is strict: every field once, no other. */
apr_status_t fa_login_encode(apr_pool_t *p, const fa_login_t *l, char **out,
                             apr_size_t *len);
apr_status_t fa_login_decode(apr_pool_t *p, char *buf, apr_size_t len,
                             fa_login_t **pl);

/* Sealed login state, the state cookie's value: base64url of
 *   version (1 byte, 1) | AES-256-GCM ciphertext of the record | 16-byte tag
 * under a key of its own for each login, HMAC-SHA256(seal key, label,
 * state), with a zero IV (each key seals one record) and the version byte
 * as associated data. Only the state it was made for opens it, and only
 * under the keys that made it; any changed byte fails the tag.
 * APR_ENOSPC when the value would pass FA_LOGIN_SEALED_MAX; APR_EINVAL
 * for a malformed state. */
apr_status_t fa_login_seal(apr_pool_t *p, const fa_keys_t *keys,
                           const char *state, const fa_login_t *l,
                           char **sealed);
/* Opens a state cookie for the state parameter of a callback to provider
 * idp at time now. APR_SUCCESS and *pl; APR_EINVAL when it does not open
 * (another state, other keys, changed, garbled, unknown version);
 * APR_TIMEUP when it is older than FA_LOGIN_STATE_TTL or from the future;
 * FA_LOGIN_OTHER_IDP when it opens but was made for another provider
 * (*pl then says which). */
#define FA_LOGIN_OTHER_IDP APR_EACCES
apr_status_t fa_login_open(apr_pool_t *p, const fa_keys_t *keys,
                           const char *idp, const char *state,
                           const char *sealed, apr_int64_t now,
                           fa_login_t **pl);
/* The store key that marks a state used; NULL when state is not
 * well-formed. */
const char *fa_login_key(apr_pool_t *p, const fa_keys_t *keys,
                         const char *state);
/* The store key of the form body a login keeps (FedAuthPreservePost):
 * "l:post:" and a MAC of the state, so that it counts as login state in
 * the embedded store (at most a quarter of it: a flood of kept bodies
 * cannot push out a session); NULL when state is not well-formed. */
const char *fa_login_post_key(apr_pool_t *p, const fa_keys_t *keys,
                              const char *state);

#endif
