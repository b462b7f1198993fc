/* SPDX-License-Identifier: Apache-2.0 */
/* fa_registry.h - the account registry (FedAuthRegistry): accounts, the
 * links from an IdP identity (provider id + IdentifyingClaim value) to an
 * account, and the decision at sign-in. Kept apart from the session store:
 * accounts must survive reboots, crashes and a full store, so the one-host
 * backend is a directory on disk, not the shm segment.
 *
 * Keys: "a:<account name>" (the account record) and "l:<idp>:<tag>" (a
 * link; tag = base64url of SHA-256 of the IdentifyingClaim value, so no
 * outside text becomes a file name or a key). Values are JSON objects
 * (see fa_account_encode, fa_link_encode).
 * Part of the httpd-free core. */
#ifndef FA_REGISTRY_H
#define FA_REGISTRY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "fa_util.h"
#include "fa_store.h"
#include "fa_session.h"

/* Longest account name, in bytes. */
#define FA_ACCOUNT_NAME_MAX 128
/* Most keys a list returns. */
#define FA_REGISTRY_LIST_MAX 100000

typedef struct fa_registry_t fa_registry_t;
struct fa_registry_t {
    const char *name;             /* "dir <path>", "redis": messages */
    /* APR_SUCCESS and the value (NUL-terminated, from p); APR_NOTFOUND
     * when absent; anything else: the registry is unavailable. */
    apr_status_t (*get)(fa_registry_t *reg, const char *key, apr_pool_t *p,
                        char **val, apr_size_t *len);
    /* Creates key only when absent: APR_EEXIST when it was there. Of
     * several processes or hosts creating the same key, exactly one wins. */
    apr_status_t (*create)(fa_registry_t *reg, const char *key,
                           const char *val, apr_size_t len, apr_pool_t *p);
    /* Writes (replaces) key; never expires. */
    apr_status_t (*put)(fa_registry_t *reg, const char *key, const char *val,
                        apr_size_t len, apr_pool_t *p);
    /* Writes val only while key still holds exactly old (olen bytes), in
     * one atomic step across processes and hosts: APR_EEXIST when key
     * holds something else (or nothing) by now. */
    apr_status_t (*replace)(fa_registry_t *reg, const char *key,
                            const char *old, apr_size_t olen,
                            const char *val, apr_size_t len, apr_pool_t *p);
    /* Deletes; APR_SUCCESS also when there was nothing. */
    apr_status_t (*del)(fa_registry_t *reg, const char *key, apr_pool_t *p);
    /* The keys that start with prefix (const char *, sorted), at most
     * FA_REGISTRY_LIST_MAX. */
    apr_status_t (*list)(fa_registry_t *reg, const char *prefix,
                         apr_pool_t *p, apr_array_header_t **keys);
    void *baton;
};

/* The directory backend: one file per key in dir (created 0700 when
 * missing, its parent must exist). Values are written to a temporary name
 * and rename()d into place, so a reader sees the old value or the new one,
 * never part of one; create uses link(2) (O_EXCL semantics) from the
 * temporary file; put, replace and del hold flock(2) on the directory.
 * Errors say which system call failed on what. */
apr_status_t fa_registry_dir_open(apr_pool_t *p, const char *dir,
                                  fa_registry_t **preg, fa_err_t *err);

/* The Redis backend (in fa_registry_redis.c): keys <prefix>reg:<key>
 * with no expiry (<prefix>{reg}:<key> in a Redis Cluster: one slot), over
 * the connections of the Redis client rs (pool, Sentinel, TLS, Cluster),
 * e.g. fa_store_redis_client of the session store; create is SET NX,
 * replace a script; list is SCAN MATCH with COUNT, bounded. APR_EINVAL
 * when rs is NULL (the session store is not a Redis one). */
apr_status_t fa_registry_redis_open(apr_pool_t *p, fa_redis_t *rs,
                                    fa_registry_t **preg);

/* ---- records ----------------------------------------------------------- */

typedef enum {
    FA_ACCOUNT_ACTIVE = 0,
    FA_ACCOUNT_DISABLED,
    FA_ACCOUNT_DELETED            /* a tombstone: its links stay */
} fa_account_state_t;

typedef struct fa_link_t {
    const char *idp;
    const char *sub;              /* the IdentifyingClaim value */
} fa_link_t;

typedef struct fa_account_t {
    const char *name;
    fa_account_state_t state;
    apr_array_header_t *idps;     /* const char *: allowed providers, or
                                   * NULL: every provider */
    apr_array_header_t *roles;    /* const char *: manual roles */
    apr_array_header_t *links;    /* fa_link_t */
    apr_int64_t created;          /* seconds since epoch */
    apr_int64_t last_signin;      /* 0: never (set when created by one) */
    apr_array_header_t *attrs;    /* fa_attr_t: values kept for
                                   * ValueMapSetOnce attributes */
} fa_account_t;

/* {"v":1,"name":"alice","state":"active","idps":["corp"],"roles":[],
 *  "links":[{"idp":"corp","sub":"..."}],"created":1764790000,
 *  "attrs":{"LANGUAGE":"de"}} */
char *fa_account_encode(apr_pool_t *p, const fa_account_t *a,
                        apr_size_t *len);
apr_status_t fa_account_decode(apr_pool_t *p, const char *buf,
                               apr_size_t len, fa_account_t **pa);
const char *fa_account_state_name(fa_account_state_t st);

/* A new, active account with no links, roles or restriction. */
fa_account_t *fa_account_new(apr_pool_t *p, const char *name);

/* 1 when the account may sign in through provider idp. */
int fa_account_idp_allowed(const fa_account_t *a, const char *idp);

/* The one rule for account names, for a sign-in (a new account) and for
 * fedauthctl alike: 1 to FA_ACCOUNT_NAME_MAX bytes of UTF-8; no control
 * characters, '/' or ','; not "." or ".."; and at most
 * FA_ACCOUNT_NAME_STORED_MAX bytes in its stored form, where each byte
 * other than A-Z a-z 0-9 . _ @ + - takes three (%XX, as the directory
 * registry names its files). FA_ACCOUNT_NAME_RULE says it in words. */
#define FA_ACCOUNT_NAME_STORED_MAX 236
#define FA_ACCOUNT_NAME_RULE "1 to 128 bytes of UTF-8, no control " \
    "characters, '/' or ',', not '.' or '..'; each byte other than " \
    "A-Z a-z 0-9 . _ @ + - counts three, 236 at most"
int fa_account_name_ok(const char *name);

/* name with a random 6-digit suffix (john.doe -> john.doe123456), cut
 * first so that the result stays within FA_ACCOUNT_NAME_MAX. */
const char *fa_account_suffixed(apr_pool_t *p, const char *name);

/* Parses a comma-separated list of ids ([a-z0-9_-]{1,32}) or roles
 * (printable, no comma or space, 1 to 64 bytes); "" is the empty list.
 * NULL and *why on bad input. */
apr_array_header_t *fa_registry_parse_list(apr_pool_t *p, const char *s,
                                           int ids, const char **why);

/* Adds the roles (sorted union) of the account to a sorted,
 * comma-separated role list. */
const char *fa_account_merge_roles(apr_pool_t *p, const char *mapped,
                                   const fa_account_t *a);

/* ValueMapSetOnce: for each attribute in set_once, the account's kept
 * value replaces the session's (session_attrs, of fa_attr_t); one the
 * account does not have yet is kept from the session. 1 when the account
 * changed (it then needs writing). */
int fa_account_set_once(apr_pool_t *p, fa_account_t *a,
                        const apr_array_header_t *set_once,
                        apr_array_header_t *session_attrs);

/* Keys. */
const char *fa_registry_account_key(apr_pool_t *p, const char *name);
const char *fa_registry_link_key(apr_pool_t *p, const char *idp,
                                 const char *sub);

/* Reading and writing records by name / identity: APR_NOTFOUND when
 * absent; a record that does not decode is an error ("registry_damaged"). */
apr_status_t fa_registry_account_get(fa_registry_t *reg, apr_pool_t *p,
                                     const char *name, fa_account_t **pa,
                                     fa_err_t *err);
/* Writes the account whatever is stored (tests and set-up; a change to
 * an account that may be in use is fa_registry_account_update). */
apr_status_t fa_registry_account_put(fa_registry_t *reg, apr_pool_t *p,
                                     const fa_account_t *a, fa_err_t *err);
/* Whether account a may sign in through idp: APR_SUCCESS, or an error
 * with err->code account_deleted, account_disabled or not_allowed_idp. */
apr_status_t fa_registry_check(const fa_account_t *a, const char *idp,
                               fa_err_t *err);
/* A change to an account: 1 when it changed a (to be written), 0 when
 * there is nothing to write, -1 (err set) to give up. */
typedef int (*fa_account_change_t)(apr_pool_t *p, fa_account_t *a,
                                   void *baton, fa_err_t *err);
/* Reads account name, applies change and writes it back only when nobody
 * wrote it in between (replace); else reads it again and applies change
 * to what is there now, a bounded number of times. So a sign-in that keeps
 * a ValueMapSetOnce value and fedauthctl disabling the same account never
 * undo each other. *pa (may be NULL) gets the account as written.
 * APR_NOTFOUND when there is no such account; the error of change when it
 * gave up. */
apr_status_t fa_registry_account_update(fa_registry_t *reg, apr_pool_t *p,
                                        const char *name,
                                        fa_account_change_t change,
                                        void *baton, fa_account_t **pa,
                                        fa_err_t *err);
/* The account name a link points to. */
apr_status_t fa_registry_link_get(fa_registry_t *reg, apr_pool_t *p,
                                  const char *idp, const char *sub,
                                  const char **name, fa_err_t *err);
/* Links idp/sub to the account (both the link and the account's list);
 * APR_EEXIST when the identity is linked already; an error with err->code
 * "deleted" when the account is deleted (a tombstone takes no new link). */
apr_status_t fa_registry_link(fa_registry_t *reg, apr_pool_t *p,
                              const char *name, const char *idp,
                              const char *sub, fa_err_t *err);
/* users del: marks account name deleted (a tombstone that keeps its
 * links, so its identities can neither sign in nor register again); one
 * with no link is removed at once instead (nothing to keep out; its name
 * is free again), also one deleted before. *pa gets the account as it
 * was written (state deleted), *removed 1 when it went. APR_NOTFOUND when
 * there is no such account. */
apr_status_t fa_registry_account_delete(fa_registry_t *reg, apr_pool_t *p,
                                        const char *name, fa_account_t **pa,
                                        int *removed, fa_err_t *err);
/* Removes the link of idp/sub (APR_NOTFOUND when none) and gives the name
 * of the account it pointed to; a deleted account whose last link goes is
 * removed with it (its name may be taken again). */
apr_status_t fa_registry_unlink(fa_registry_t *reg, apr_pool_t *p,
                                const char *idp, const char *sub,
                                const char **name, fa_err_t *err);
/* Every account name. */
apr_status_t fa_registry_account_names(fa_registry_t *reg, apr_pool_t *p,
                                       apr_array_header_t **names,
                                       fa_err_t *err);

/* The decision at sign-in for the identity idp/sub whose UsernameClaim
 * chain gave wanted: the linked account, when it may sign in through idp;
 * else, when reg_on, a new account named wanted (or wanted with a 6-digit
 * suffix when taken) linked to the identity. Errors (err->code):
 * not_registered, account_disabled, account_deleted, not_allowed_idp,
 * store_unavailable, registry_damaged. *created is 1 for a new account. */
/* Sets err to store_unavailable, saying what could not be done and why
 * (rv); returns APR_EGENERAL. */
apr_status_t fa_registry_unavailable(fa_registry_t *reg, fa_err_t *err,
                                     const char *what, apr_status_t rv);

apr_status_t fa_registry_signin(fa_registry_t *reg, apr_pool_t *p,
                                const char *idp, const char *sub,
                                const char *wanted, int reg_on,
                                fa_account_t **pa, int *created,
                                fa_err_t *err);

#endif
