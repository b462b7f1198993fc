/* SPDX-License-Identifier: Apache-2.0 */
/* fa_apppass.h - app passwords: secrets an account's owner gives to a
 * client that cannot sign in through an IdP (WebDAV, rclone, git, a
 * script), which then sends them with HTTP Basic (FedAuthBasic On).
 *
 * A secret reads fap_<id>_<body><check>: id is 8 characters that name the
 * password among the account's (not secret: it lets one request cost one
 * KDF run, not one per password), body 32 characters (160 random bits
 * from the OS CSPRNG), check 4 characters (20 bits of SHA-256 over all
 * that comes before it: a typo or a truncated paste is caught without a
 * KDF run). All in lower-case Crockford base32 (0-9 a-z without i l o u).
 * The fixed prefix makes a leaked secret easy to find with a scanner.
 *
 * The registry keeps, under "p:<account>:<id>", only a salted scrypt hash
 * of the whole secret with its parameters, and the metadata (label,
 * created, expires, roles); never the secret.
 * Part of the httpd-free core. */
#ifndef FA_APPPASS_H
#define FA_APPPASS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "fa_util.h"
#include "fa_registry.h"

#define FA_APPPASS_PREFIX "fap_"
#define FA_APPPASS_ID_LEN 8
#define FA_APPPASS_BODY_LEN 32
#define FA_APPPASS_CHECK_LEN 4
/* "fap_" id "_" body check */
#define FA_APPPASS_LEN (4 + FA_APPPASS_ID_LEN + 1 + FA_APPPASS_BODY_LEN \
                        + FA_APPPASS_CHECK_LEN)
/* Longest label (--name): [A-Za-z0-9._-], 1 to this many bytes. */
#define FA_APPPASS_LABEL_MAX 64
/* Most passwords an account may have. */
#define FA_APPPASS_PER_ACCOUNT 50
#define FA_APPPASS_SALT_LEN 16
#define FA_APPPASS_HASH_LEN 32

/* scrypt parameters of new hashes: N = 2^15, r = 8, p = 1 (32 MiB,
 * about 0.1 s on one core). Each record keeps its own, so they can be
 * raised later without making old passwords unusable. */
#define FA_APPPASS_LOG_N 15
#define FA_APPPASS_R 8
#define FA_APPPASS_P 1

typedef struct fa_apppass_t {
    const char *account;
    const char *id;               /* FA_APPPASS_ID_LEN characters */
    const char *label;
    apr_int64_t created;          /* seconds since epoch */
    apr_int64_t expires;          /* 0: never */
    apr_array_header_t *roles;    /* const char *: narrows the account's
                                   * roles; NULL: all of them */
    int log_n, r, p;              /* scrypt cost */
    unsigned char salt[FA_APPPASS_SALT_LEN];
    unsigned char hash[FA_APPPASS_HASH_LEN];
} fa_apppass_t;

/* A new secret (FA_APPPASS_LEN characters, from p) and its id. */
apr_status_t fa_apppass_secret_new(apr_pool_t *p, char **secret,
                                   const char **id);
/* 1 when s (len bytes) has the form of a secret and its check digits fit;
 * then id (FA_APPPASS_ID_LEN + 1 bytes) gets its id. */
int fa_apppass_secret_parse(const char *s, apr_size_t len, char *id);
/* 1 when label is a valid --name. */
int fa_apppass_label_ok(const char *label);

/* Hashes secret into ap with a new random salt and ap's cost (the
 * defaults when ap->log_n is 0). */
apr_status_t fa_apppass_hash(fa_apppass_t *ap, const char *secret,
                             apr_size_t len, fa_err_t *err);
/* 1 when secret is the one ap was made from (scrypt with ap's salt and
 * cost, compared in constant time); 0 otherwise or when scrypt fails. */
int fa_apppass_verify(const fa_apppass_t *ap, const char *secret,
                      apr_size_t len);
/* One scrypt run with the default cost whose result is thrown away: a
 * request for an account or a password that does not exist takes as
 * long as one with a wrong secret. */
void fa_apppass_dummy(const char *secret, apr_size_t len);

/* {"v":1,"account":"alice","id":"...","label":"laptop-dav",
 *  "created":1764790000,"expires":0,"roles":["a"],
 *  "kdf":"scrypt","ln":15,"r":8,"p":1,"salt":"<b64url>","hash":"<b64url>"}
 * "roles" only when the password narrows them. */
char *fa_apppass_encode(apr_pool_t *p, const fa_apppass_t *ap,
                        apr_size_t *len);
/* APR_EGENERAL for a record that does not decode, or whose cost is out
 * of bounds (ln 10..20, r 1..32, p 1..4): such a record verifies nothing. */
apr_status_t fa_apppass_decode(apr_pool_t *p, const char *buf,
                               apr_size_t len, fa_apppass_t **pap);

/* The roles (sorted, comma-separated) a request signed in with ap gets:
 * the account's manual roles, narrowed to ap->roles when it has some. */
const char *fa_apppass_roles(apr_pool_t *p, const fa_account_t *a,
                             const fa_apppass_t *ap);

/* Parses --expires: a number with s, m, h or d (90d), at most 10 years.
 * 0 and *secs on success, -1 otherwise. */
int fa_apppass_duration(const char *s, apr_int64_t *secs);

/* ---- in the registry ---------------------------------------------------- */

const char *fa_apppass_key(apr_pool_t *p, const char *account,
                           const char *id);
/* The password id of account: APR_NOTFOUND when absent, errors with
 * err->code store_unavailable or registry_damaged. */
apr_status_t fa_apppass_get(fa_registry_t *reg, apr_pool_t *p,
                            const char *account, const char *id,
                            fa_apppass_t **pap, fa_err_t *err);
/* Stores a new password: APR_EEXIST (err->code label_taken) when the
 * account has one with that label already, or too_many when it has
 * FA_APPPASS_PER_ACCOUNT. */
apr_status_t fa_apppass_add(fa_registry_t *reg, apr_pool_t *p,
                            const fa_apppass_t *ap, fa_err_t *err);
/* The passwords of account (fa_apppass_t *), sorted by creation time,
 * then label. */
apr_status_t fa_apppass_list(fa_registry_t *reg, apr_pool_t *p,
                             const char *account, apr_array_header_t **out,
                             fa_err_t *err);
/* Deletes the password of account whose label or id is which:
 * APR_NOTFOUND when none; *pap gets the deleted one. */
apr_status_t fa_apppass_del(fa_registry_t *reg, apr_pool_t *p,
                            const char *account, const char *which,
                            fa_apppass_t **pap, fa_err_t *err);
/* Deletes every password of account; *n gets how many. */
apr_status_t fa_apppass_del_all(fa_registry_t *reg, apr_pool_t *p,
                                const char *account, int *n, fa_err_t *err);

#endif
