/* SPDX-License-Identifier: Apache-2.0 */
/* fa_metrics.h - counters of what the module did, for the Prometheus
 * endpoint /fedauth/metrics: sign-ins by provider and outcome, sessions
 * made and ended, store operations (a latency histogram and errors),
 * discovery and JWKS fetches, bearer cache hits and misses, re-reads of
 * userinfo by outcome.
 *
 * The counters live in one anonymous shared mapping made before the
 * worker processes fork, so every process adds to the same numbers. An
 * increment is one relaxed atomic add: no lock, no allocation, no system
 * call. Every function that counts takes a NULL fa_metrics_t (metrics
 * off) and then does nothing.
 * Part of the httpd-free core. */
#ifndef FA_METRICS_H
#define FA_METRICS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "fa_util.h"
#include "fa_store.h"

typedef struct fa_metrics_t fa_metrics_t;

/* Why a session ended. */
typedef enum {
    FA_METRICS_END_LOGOUT = 0,    /* /fedauth/logout */
    FA_METRICS_END_BACKCHANNEL,   /* the IdP's back-channel logout */
    FA_METRICS_END_EXPIRED,       /* found past its idle or absolute time */
    FA_METRICS_END_USER_LIMIT,    /* FedAuthMaxSessionsPerUser */
    FA_METRICS_END_REPLACED,      /* a new sign-in in the same browser */
    FA_METRICS_END_FRONTCHANNEL,  /* the IdP's front-channel logout */
    FA_METRICS_END_COUNT
} fa_metrics_end_t;

/* What was fetched from an identity provider. */
typedef enum {
    FA_METRICS_DISCOVERY = 0,
    FA_METRICS_JWKS,
    FA_METRICS_FETCH_COUNT
} fa_metrics_fetch_t;

/* Operations of a session store (fa_store_t). */
typedef enum {
    FA_METRICS_OP_GET = 0,
    FA_METRICS_OP_PUT,
    FA_METRICS_OP_TAKE,
    FA_METRICS_OP_DEL,
    FA_METRICS_OP_INDEX_ADD,
    FA_METRICS_OP_INDEX_TAKE,
    FA_METRICS_OP_ADD,
    FA_METRICS_OP_COUNT
} fa_metrics_op_t;

/* What an introspection call (RFC 7662) of an opaque bearer token said. */
typedef enum {
    FA_METRICS_INTROSPECT_ACTIVE = 0,  /* active, passed every check */
    FA_METRICS_INTROSPECT_INACTIVE,    /* active: false */
    FA_METRICS_INTROSPECT_REFUSED,     /* active, but failed a check (aud,
                                        * iss, exp, type, sub) */
    FA_METRICS_INTROSPECT_ERROR,       /* no answer, or no usable one */
    FA_METRICS_INTROSPECT_COUNT
} fa_metrics_introspect_t;
/* What a re-read of userinfo (UserInfoRefresh) came to. */
typedef enum {
    FA_METRICS_USERINFO_OK = 0,       /* read, claims mapped again */
    FA_METRICS_USERINFO_INVALID,      /* the IdP no longer honours the
                                       * token (401, invalid_grant): ended */
    FA_METRICS_USERINFO_NO_TOKEN,     /* no usable access token: ended */
    FA_METRICS_USERINFO_SUB_MISMATCH, /* userinfo about another sub: ended */
    FA_METRICS_USERINFO_REFUSED,      /* the new claims refused (identity
                                       * changed, account, too large) */
    FA_METRICS_USERINFO_FAILED_KEPT,  /* the IdP failed; session kept */
    FA_METRICS_USERINFO_FAILED_ENDED, /* the IdP failed; session ended */
    FA_METRICS_USERINFO_COUNT
} fa_metrics_userinfo_t;

/* What a request with an app password (FedAuthBasic) came to. */
typedef enum {
    FA_METRICS_APPPASS_OK = 0,        /* verified (a KDF run) */
    FA_METRICS_APPPASS_CACHED,        /* verified before, in this process */
    FA_METRICS_APPPASS_WRONG,         /* wrong, unknown or malformed */
    FA_METRICS_APPPASS_EXPIRED,       /* right, but past --expires */
    FA_METRICS_APPPASS_REFUSED,       /* right, account disabled/deleted */
    FA_METRICS_APPPASS_RATE_LIMITED,  /* refused: too many failures */
    FA_METRICS_APPPASS_BUSY,          /* refused: too many KDF runs at
                                       * once in the process */
    FA_METRICS_APPPASS_COUNT
} fa_metrics_apppass_t;
/* The upper bounds of the store latency histogram's buckets, in
 * nanoseconds (the last bucket, +Inf, is not listed). */
#define FA_METRICS_BUCKETS 17
extern const apr_uint64_t fa_metrics_bucket_ns[FA_METRICS_BUCKETS];

/* The outcome codes a sign-in is counted under: "ok" first, then the
 * stable FEDAUTH_ERROR codes a sign-in can end with, and "other" for any
 * code not in the list. NULL-terminated. */
extern const char *const fa_metrics_outcomes[];

/* Makes the counters, all zero, in a new anonymous shared mapping (ended
 * with p) for the providers with these ids (an array of const char *;
 * copied). Call before forking the processes that count. */
apr_status_t fa_metrics_create(apr_pool_t *p,
                               const apr_array_header_t *providers,
                               fa_metrics_t **pm, fa_err_t *err);

/* A sign-in through provider id ended with code (NULL or "ok": it made a
 * session). Unknown providers are not counted; unknown codes count as
 * "other". */
void fa_metrics_signin(fa_metrics_t *m, const char *provider,
                       const char *code);
/* A new session of provider id. */
void fa_metrics_session_created(fa_metrics_t *m, const char *provider);
/* n sessions ended for reason. */
void fa_metrics_session_ended(fa_metrics_t *m, fa_metrics_end_t reason,
                              unsigned int n);
/* A fetch of provider id's discovery document or JWKS; ok 0: it failed
 * (no answer, not 200, or not a usable document). */
void fa_metrics_fetch(fa_metrics_t *m, const char *provider,
                      fa_metrics_fetch_t what, int ok);
/* A token revocation at provider id's revocation_endpoint (RFC 7009) at
 * a logout; ok 0: it failed (no answer, or not 200). */
void fa_metrics_revocation(fa_metrics_t *m, const char *provider, int ok);
/* A front-channel logout request; ok 0: refused (400). */
void fa_metrics_frontchannel(fa_metrics_t *m, int ok);
/* A session moved from an older FedAuthSecret value to the first. */
void fa_metrics_session_rekeyed(fa_metrics_t *m);
/* A group lookup at Microsoft Graph of provider id that ended with
 * outcome (an fa_graph_outcome_t, fa_graph.h). */
void fa_metrics_graph(fa_metrics_t *m, const char *provider, int outcome);
apr_uint64_t fa_metrics_graph_of(const fa_metrics_t *m, const char *provider,
                                 int outcome);
/* A re-read of userinfo for a session of provider id, with outcome. */
void fa_metrics_userinfo(fa_metrics_t *m, const char *provider,
                         fa_metrics_userinfo_t outcome);
/* A bearer token found in (hit 1) or missing from the cache. */
void fa_metrics_bearer_cache(fa_metrics_t *m, int hit);
/* An introspection call that ended with outcome. */
void fa_metrics_introspection(fa_metrics_t *m,
                              fa_metrics_introspect_t outcome);
/* A pushed authorization request (RFC 9126) at a sign-in's start; ok 0:
 * it failed (no answer, a refusal, no usable request_uri). */
void fa_metrics_par(fa_metrics_t *m, int ok);
/* Keeping a POST across sign-in (FedAuthPreservePost). */
typedef enum {
    FA_METRICS_POST_KEPT = 0,     /* a body kept, the sign-in started */
    FA_METRICS_POST_REPLAYED,     /* posted again after the sign-in */
    FA_METRICS_POST_REFUSED,      /* not kept: too large, malformed, over
                                   * a client address's limit, no store */
    FA_METRICS_POST_LOST,         /* kept, but gone at the callback
                                   * (expired, pushed out, changed) */
    FA_METRICS_POST_COUNT
} fa_metrics_post_t;
void fa_metrics_preserved_post(fa_metrics_t *m, fa_metrics_post_t what);
/* A CORS preflight to a protected location, answered without a session;
 * allowed 0: its origin is not a FedAuthAllowedOrigin. */
void fa_metrics_preflight(fa_metrics_t *m, int allowed);
/* A Require fedauth-claim regex match that PCRE gave up on. */
void fa_metrics_claim_regex_gave_up(fa_metrics_t *m);
/* A request with an app password that came to outcome. */
void fa_metrics_apppass(fa_metrics_t *m, fa_metrics_apppass_t outcome);
apr_uint64_t fa_metrics_apppass_of(const fa_metrics_t *m,
                                   fa_metrics_apppass_t outcome);
/* A batch of renewals of the host's copies of sessions in use
 * (FedAuthSessionHostCache): copies read again and renewed, copies
 * removed as their session was gone, copies whose read failed. */
void fa_metrics_host_renewals(fa_metrics_t *m, unsigned int renewed,
                              unsigned int ended, unsigned int unread);
/* A store operation that took ns nanoseconds; failed 1: the store was
 * unavailable (not found is no failure). */
void fa_metrics_store_op(fa_metrics_t *m, fa_metrics_op_t op,
                         apr_uint64_t ns, int failed);

/* A store that passes every call on to inner and counts it with
 * fa_metrics_store_op (two reads of the monotonic clock per call, from
 * the vDSO: no system call). Same name, copy_ms, version and child_init
 * as inner. Made from p. */
fa_store_t *fa_metrics_store_wrap(apr_pool_t *p, fa_metrics_t *m,
                                  fa_store_t *inner);

/* The Prometheus text exposition (format 0.0.4) of every counter, from p:
 * # HELP and # TYPE lines, label values escaped; with shm (not NULL) also
 * the embedded store's own numbers (fa_store_shm_stats), with host those
 * of the host's copies of Redis sessions. */
void fa_metrics_format(const fa_metrics_t *m, const fa_shm_stats_t *shm,
                       const fa_shm_stats_t *host, apr_pool_t *p,
                       char **out, apr_size_t *len);

/* Single numbers, for the status page (0 for an unknown provider,
 * outcome or reason): sign-ins of provider with outcome, sessions made by
 * provider, fetches of one document (failed 1: only the failed ones),
 * sessions ended for reason, failed store operations of any kind. */
apr_uint64_t fa_metrics_signins_of(const fa_metrics_t *m,
                                   const char *provider, const char *outcome);
apr_uint64_t fa_metrics_created_of(const fa_metrics_t *m,
                                   const char *provider);
apr_uint64_t fa_metrics_fetches_of(const fa_metrics_t *m,
                                   const char *provider,
                                   fa_metrics_fetch_t what, int failed);
apr_uint64_t fa_metrics_ended_of(const fa_metrics_t *m,
                                 fa_metrics_end_t reason);
apr_uint64_t fa_metrics_store_errors_of(const fa_metrics_t *m);
/* Token revocations at provider (failed 1: only the failed ones). */
apr_uint64_t fa_metrics_revocations_of(const fa_metrics_t *m,
                                       const char *provider, int failed);
apr_uint64_t fa_metrics_userinfo_of(const fa_metrics_t *m,
                                    const char *provider,
                                    fa_metrics_userinfo_t outcome);
/* The label value of a reason (fedauth_sessions_ended_total). */
const char *fa_metrics_end_name(fa_metrics_end_t reason);

/* A label value escaped for the text format: \ " and newline. From p. */
const char *fa_metrics_label_escape(apr_pool_t *p, const char *v);

#endif
