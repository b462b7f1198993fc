/* SPDX-License-Identifier: Apache-2.0 */
/* fa_metrics.c - the module's counters in shared memory and their
 * Prometheus text; see fa_metrics.h.
 *
 * The segment is an array of 64-bit counters, in this order:
 *   signins    [provider][outcome]
 *   created    [provider]
 *   fetches    [provider][discovery, jwks][total, failed]
 *   ended      [reason]
 *   bearer     [hit, miss]
 *   buckets    [op][bucket, +Inf last]   (not cumulative: one add each)
 *   sum_ns     [op]
 *   errors     [op]
 *   revoked    [provider][total, failed]
 *   frontchan  [ok, refused]
 *   introspect [outcome]
 *   par        [ok, failed]
 *   graph      [provider][fa_graph_outcome_t]
 *   userinfo   [provider][outcome]
 *   post       [fa_metrics_post_t]
 *   rekeyed    [1]   (sessions moved to the first FedAuthSecret)
 *   apppass    [outcome]
 *   renewals   [renewed, ended, unread]   (host copies, FedAuthSessionHostCache)
 * Each event is one relaxed __atomic_fetch_add on its counter; a store
 * operation is two (its bucket and the sum), its count being the sum of
 * its buckets. A reader may see one counter of an event before another
 * (a bucket before the sum): each number is exact, their relation only
 * at rest. */
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <apr_strings.h>
#include "fa_metrics.h"
#include "fa_graph.h"

#define N_OUTCOMES \
    (sizeof(fa_metrics_outcomes) / sizeof(fa_metrics_outcomes[0]) - 1)
#define N_BUCKET_SLOTS (FA_METRICS_BUCKETS + 1)
/* renewed, ended, unread (fa_metrics_host_renewals) */
#define N_RENEWALS 3

const char *const fa_metrics_outcomes[] = {
    "ok",
    /* the answer does not finish a sign-in started here */
    "provider_disabled", "invalid_request", "state_missing",
    "state_mismatch", "idp_mismatch", "code_missing",
    /* the IdP */
    "idp_error", "wrong_iss", "token_error", "idp_unreachable",
    "idp_bad_response", "invalid_discovery", "discovery_issuer_mismatch",
    "invalid_jwks",
    /* the ID token */
    "invalid_token", "unsupported_alg", "unknown_key", "invalid_signature",
    "wrong_aud", "wrong_azp", "token_expired", "token_not_yet_valid",
    "invalid_iat", "wrong_nonce", "missing_sub", "invalid_sub",
    /* userinfo and the session */
    "userinfo_sub_mismatch", "too_many_roles", "session_too_large",
    "store_unavailable", "internal_error",
    /* Microsoft Graph (GroupsSource graph) */
    "groups_unavailable",
    "other",
    NULL
};

const apr_uint64_t fa_metrics_bucket_ns[FA_METRICS_BUCKETS] = {
    1000, 5000, 25000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
    10000000, 25000000, 50000000, 100000000, 250000000, 500000000,
    1000000000, 2500000000ULL
};
/* The same bounds as the text of the le label, in seconds. */
static const char *const bucket_le[N_BUCKET_SLOTS] = {
    "0.000001", "0.000005", "0.000025", "0.0001", "0.00025", "0.0005",
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
    "0.5", "1", "2.5", "+Inf"
};

static const char *const end_names[FA_METRICS_END_COUNT] = {
    "logout", "backchannel", "expired", "user_limit", "replaced",
    "frontchannel"
};
static const char *const fetch_names[FA_METRICS_FETCH_COUNT] = {
    "discovery", "jwks"
};
static const char *const introspect_names[FA_METRICS_INTROSPECT_COUNT] = {
    "active", "inactive", "refused", "error"
};
static const char *const userinfo_names[FA_METRICS_USERINFO_COUNT] = {
    "ok", "invalid_token", "no_token", "sub_mismatch", "refused",
    "failed_kept", "failed_ended"
};
static const char *const apppass_names[FA_METRICS_APPPASS_COUNT] = {
    "ok", "cached", "wrong", "expired", "refused", "rate_limited", "busy"
};
static const char *const renewal_names[N_RENEWALS] = {
    "renewed", "ended", "unread"
};
static const char *const op_names[FA_METRICS_OP_COUNT] = {
    "get", "put", "take", "del", "index_add", "index_take", "add"
};

struct fa_metrics_t {
    apr_uint64_t *c;              /* the shared counters */
    apr_size_t bytes;
    int nprov;
    const char **prov;            /* provider ids, process memory */
    apr_size_t signins, created, fetches, ended, bearer, buckets, sum_ns,
               errors, revoked, frontchan, introspect, par, graph,
               userinfo, post, rekeyed, /* offsets of each part in c */
               claimrules,        /* CORS preflights (2), regex gave up */
               apppass, renewals;
};

static apr_status_t unmap(void *data)
{
    fa_metrics_t *m = data;

    munmap(m->c, m->bytes);
    return APR_SUCCESS;
}

apr_status_t fa_metrics_create(apr_pool_t *p,
                               const apr_array_header_t *providers,
                               fa_metrics_t **pm, fa_err_t *err)
{
    fa_metrics_t *m = apr_pcalloc(p, sizeof(*m));
    apr_size_t n;
    void *map;
    int i;

    *pm = NULL;
    m->nprov = providers->nelts;
    m->prov = apr_pcalloc(p, sizeof(char *) * (m->nprov + 1));
    for (i = 0; i < m->nprov; i++) {
        m->prov[i] = apr_pstrdup(p, APR_ARRAY_IDX(providers, i,
                                                  const char *));
    }
    m->signins = 0;
    m->created = m->signins + (apr_size_t)m->nprov * N_OUTCOMES;
    m->fetches = m->created + (apr_size_t)m->nprov;
    m->ended = m->fetches + (apr_size_t)m->nprov * FA_METRICS_FETCH_COUNT * 2;
    m->bearer = m->ended + FA_METRICS_END_COUNT;
    m->buckets = m->bearer + 2;
    m->sum_ns = m->buckets + FA_METRICS_OP_COUNT * N_BUCKET_SLOTS;
    m->errors = m->sum_ns + FA_METRICS_OP_COUNT;
    m->revoked = m->errors + FA_METRICS_OP_COUNT;
    m->frontchan = m->revoked + (apr_size_t)m->nprov * 2;
    m->introspect = m->frontchan + 2;
    m->par = m->introspect + FA_METRICS_INTROSPECT_COUNT;
    m->graph = m->par + 2;
    m->userinfo = m->graph + (apr_size_t)m->nprov * FA_GRAPH_OUTCOME_COUNT;
    m->post = m->userinfo + (apr_size_t)m->nprov * FA_METRICS_USERINFO_COUNT;
    m->rekeyed = m->post + FA_METRICS_POST_COUNT;
    m->claimrules = m->rekeyed + 1;
    m->apppass = m->claimrules + 3;
    m->renewals = m->apppass + FA_METRICS_APPPASS_COUNT;
    n = m->renewals + N_RENEWALS;
    m->bytes = n * sizeof(apr_uint64_t);
    map = mmap(NULL, m->bytes, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        return fa_err_set(err, "internal_error", "mmap of %lu bytes for the "
                          "metrics failed", (unsigned long)m->bytes);
    }
    m->c = map;                   /* anonymous memory starts zeroed */
    apr_pool_cleanup_register(p, m, unmap, apr_pool_cleanup_null);
    *pm = m;
    return APR_SUCCESS;
}

/* ---- counting ---------------------------------------------------------- */

static inline void add(fa_metrics_t *m, apr_size_t i, apr_uint64_t n)
{
    __atomic_fetch_add(&m->c[i], n, __ATOMIC_RELAXED);
}

static inline apr_uint64_t get(const fa_metrics_t *m, apr_size_t i)
{
    return __atomic_load_n(&m->c[i], __ATOMIC_RELAXED);
}

static int provider_slot(const fa_metrics_t *m, const char *id)
{
    int i;

    for (i = 0; id && i < m->nprov; i++) {
        if (!strcmp(m->prov[i], id)) {
            return i;
        }
    }
    return -1;
}

static apr_size_t outcome_slot(const char *code)
{
    apr_size_t i;

    if (!code) {
        return 0;
    }
    for (i = 0; i < N_OUTCOMES - 1; i++) {
        if (!strcmp(fa_metrics_outcomes[i], code)) {
            return i;
        }
    }
    return N_OUTCOMES - 1;        /* other */
}

void fa_metrics_signin(fa_metrics_t *m, const char *provider,
                       const char *code)
{
    int slot;

    if (m && (slot = provider_slot(m, provider)) >= 0) {
        add(m, m->signins + (apr_size_t)slot * N_OUTCOMES
               + outcome_slot(code), 1);
    }
}

void fa_metrics_session_created(fa_metrics_t *m, const char *provider)
{
    int slot;

    if (m && (slot = provider_slot(m, provider)) >= 0) {
        add(m, m->created + (apr_size_t)slot, 1);
    }
}

void fa_metrics_session_ended(fa_metrics_t *m, fa_metrics_end_t reason,
                              unsigned int n)
{
    if (m && n && (unsigned)reason < FA_METRICS_END_COUNT) {
        add(m, m->ended + reason, n);
    }
}

void fa_metrics_fetch(fa_metrics_t *m, const char *provider,
                      fa_metrics_fetch_t what, int ok)
{
    apr_size_t i;
    int slot;

    if (!m || (slot = provider_slot(m, provider)) < 0
        || (unsigned)what >= FA_METRICS_FETCH_COUNT) {
        return;
    }
    i = m->fetches + ((apr_size_t)slot * FA_METRICS_FETCH_COUNT + what) * 2;
    add(m, i, 1);
    if (!ok) {
        add(m, i + 1, 1);
    }
}

void fa_metrics_revocation(fa_metrics_t *m, const char *provider, int ok)
{
    int slot;

    if (m && (slot = provider_slot(m, provider)) >= 0) {
        add(m, m->revoked + (apr_size_t)slot * 2, 1);
        if (!ok) {
            add(m, m->revoked + (apr_size_t)slot * 2 + 1, 1);
        }
    }
}

void fa_metrics_frontchannel(fa_metrics_t *m, int ok)
{
    if (m) {
        add(m, m->frontchan + (ok ? 0 : 1), 1);
    }
}

void fa_metrics_session_rekeyed(fa_metrics_t *m)
{
    if (m) {
        add(m, m->rekeyed, 1);
    }
}

void fa_metrics_preflight(fa_metrics_t *m, int allowed)
{
    if (m) {
        add(m, m->claimrules + (allowed ? 0 : 1), 1);
    }
}

void fa_metrics_claim_regex_gave_up(fa_metrics_t *m)
{
    if (m) {
        add(m, m->claimrules + 2, 1);
    }
}

void fa_metrics_graph(fa_metrics_t *m, const char *provider, int outcome)
{
    int slot;

    if (m && (slot = provider_slot(m, provider)) >= 0
        && outcome >= 0 && outcome < FA_GRAPH_OUTCOME_COUNT) {
        add(m, m->graph + (apr_size_t)slot * FA_GRAPH_OUTCOME_COUNT
               + (apr_size_t)outcome, 1);
    }
}

apr_uint64_t fa_metrics_graph_of(const fa_metrics_t *m, const char *provider,
                                 int outcome)
{
    int slot;

    if (!m || (slot = provider_slot(m, provider)) < 0 || outcome < 0
        || outcome >= FA_GRAPH_OUTCOME_COUNT) {
        return 0;
    }
    return get(m, m->graph + (apr_size_t)slot * FA_GRAPH_OUTCOME_COUNT
                  + (apr_size_t)outcome);
}

void fa_metrics_userinfo(fa_metrics_t *m, const char *provider,
                         fa_metrics_userinfo_t outcome)
{
    int slot;

    if (m && (unsigned)outcome < FA_METRICS_USERINFO_COUNT
        && (slot = provider_slot(m, provider)) >= 0) {
        add(m, m->userinfo + (apr_size_t)slot * FA_METRICS_USERINFO_COUNT
               + outcome, 1);
    }
}

void fa_metrics_bearer_cache(fa_metrics_t *m, int hit)
{
    if (m) {
        add(m, m->bearer + (hit ? 0 : 1), 1);
    }
}

void fa_metrics_introspection(fa_metrics_t *m,
                              fa_metrics_introspect_t outcome)
{
    if (m && (unsigned)outcome < FA_METRICS_INTROSPECT_COUNT) {
        add(m, m->introspect + outcome, 1);
    }
}

void fa_metrics_par(fa_metrics_t *m, int ok)
{
    if (m) {
        add(m, m->par + (ok ? 0 : 1), 1);
    }
}

void fa_metrics_preserved_post(fa_metrics_t *m, fa_metrics_post_t what)
{
    if (m && (unsigned)what < FA_METRICS_POST_COUNT) {
        add(m, m->post + what, 1);
    }
}

void fa_metrics_apppass(fa_metrics_t *m, fa_metrics_apppass_t outcome)
{
    if (m && (unsigned)outcome < FA_METRICS_APPPASS_COUNT) {
        add(m, m->apppass + outcome, 1);
    }
}

void fa_metrics_host_renewals(fa_metrics_t *m, unsigned int renewed,
                              unsigned int ended, unsigned int unread)
{
    if (m) {
        if (renewed) {
            add(m, m->renewals, renewed);
        }
        if (ended) {
            add(m, m->renewals + 1, ended);
        }
        if (unread) {
            add(m, m->renewals + 2, unread);
        }
    }
}

apr_uint64_t fa_metrics_apppass_of(const fa_metrics_t *m,
                                   fa_metrics_apppass_t outcome)
{
    if (!m || (unsigned)outcome >= FA_METRICS_APPPASS_COUNT) {
        return 0;
    }
    return get(m, m->apppass + outcome);
}

void fa_metrics_store_op(fa_metrics_t *m, fa_metrics_op_t op,
                         apr_uint64_t ns, int failed)
{
    apr_size_t b = 0;

    if (!m || (unsigned)op >= FA_METRICS_OP_COUNT) {
        return;
    }
    while (b < FA_METRICS_BUCKETS && ns > fa_metrics_bucket_ns[b]) {
        b++;
    }
    add(m, m->buckets + (apr_size_t)op * N_BUCKET_SLOTS + b, 1);
    add(m, m->sum_ns + op, ns);
    if (failed) {
        add(m, m->errors + op, 1);
    }
}

/* ---- single numbers ---------------------------------------------------- */

apr_uint64_t fa_metrics_signins_of(const fa_metrics_t *m,
                                   const char *provider, const char *outcome)
{
    apr_size_t o;
    int slot;

    if (!m || !outcome || (slot = provider_slot(m, provider)) < 0) {
        return 0;
    }
    o = outcome_slot(outcome);
    if (o == N_OUTCOMES - 1 && strcmp(outcome, "other")) {
        return 0;
    }
    return get(m, m->signins + (apr_size_t)slot * N_OUTCOMES + o);
}

apr_uint64_t fa_metrics_created_of(const fa_metrics_t *m,
                                   const char *provider)
{
    int slot;

    if (!m || (slot = provider_slot(m, provider)) < 0) {
        return 0;
    }
    return get(m, m->created + (apr_size_t)slot);
}

apr_uint64_t fa_metrics_fetches_of(const fa_metrics_t *m,
                                   const char *provider,
                                   fa_metrics_fetch_t what, int failed)
{
    int slot;

    if (!m || (slot = provider_slot(m, provider)) < 0
        || (unsigned)what >= FA_METRICS_FETCH_COUNT) {
        return 0;
    }
    return get(m, m->fetches + ((apr_size_t)slot * FA_METRICS_FETCH_COUNT
                                + what) * 2 + (failed ? 1 : 0));
}

apr_uint64_t fa_metrics_ended_of(const fa_metrics_t *m,
                                 fa_metrics_end_t reason)
{
    if (!m || (unsigned)reason >= FA_METRICS_END_COUNT) {
        return 0;
    }
    return get(m, m->ended + reason);
}

apr_uint64_t fa_metrics_store_errors_of(const fa_metrics_t *m)
{
    apr_uint64_t n = 0;
    apr_size_t op;

    for (op = 0; m && op < FA_METRICS_OP_COUNT; op++) {
        n += get(m, m->errors + op);
    }
    return n;
}

apr_uint64_t fa_metrics_revocations_of(const fa_metrics_t *m,
                                       const char *provider, int failed)
{
    int slot;

    if (!m || (slot = provider_slot(m, provider)) < 0) {
        return 0;
    }
    return get(m, m->revoked + (apr_size_t)slot * 2 + (failed ? 1 : 0));
}

apr_uint64_t fa_metrics_userinfo_of(const fa_metrics_t *m,
                                    const char *provider,
                                    fa_metrics_userinfo_t outcome)
{
    int slot;

    if (!m || (unsigned)outcome >= FA_METRICS_USERINFO_COUNT
        || (slot = provider_slot(m, provider)) < 0) {
        return 0;
    }
    return get(m, m->userinfo + (apr_size_t)slot * FA_METRICS_USERINFO_COUNT
                  + outcome);
}

const char *fa_metrics_end_name(fa_metrics_end_t reason)
{
    return (unsigned)reason < FA_METRICS_END_COUNT ? end_names[reason] : "";
}

/* ---- the store that counts ------------------------------------------- */

typedef struct wrap_t {
    fa_store_t st;                /* first: the fa_store_t * is a wrap_t * */
    fa_store_t *inner;
    fa_metrics_t *m;
} wrap_t;

static inline apr_uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_uint64_t)ts.tv_sec * 1000000000u + (apr_uint64_t)ts.tv_nsec;
}

static inline apr_status_t counted(wrap_t *w, fa_metrics_op_t op,
                                   apr_uint64_t t0, apr_status_t rv)
{
    fa_metrics_store_op(w->m, op, now_ns() - t0,
                        rv != APR_SUCCESS && rv != APR_NOTFOUND);
    return rv;
}

static apr_status_t wrap_get(fa_store_t *st, const char *key, apr_pool_t *p,
                             char **val, apr_size_t *len)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns();

    return counted(w, FA_METRICS_OP_GET, t0,
                   w->inner->get(w->inner, key, p, val, len));
}

static apr_status_t wrap_get_head(fa_store_t *st, const char *key,
                                  apr_pool_t *p,
                                  apr_size_t (*head)(const char *,
                                                     apr_size_t),
                                  char **val, apr_size_t *len, int *whole)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns();

    return counted(w, FA_METRICS_OP_GET, t0,
                   w->inner->get_head(w->inner, key, p, head, val, len,
                                      whole));
}

static apr_status_t wrap_put(fa_store_t *st, const char *key,
                             const char *val, apr_size_t len,
                             apr_int64_t expires_at, apr_pool_t *p)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns();

    return counted(w, FA_METRICS_OP_PUT, t0,
                   w->inner->put(w->inner, key, val, len, expires_at, p));
}

static apr_status_t wrap_add(fa_store_t *st, const char *key,
                             const char *val, apr_size_t len,
                             apr_int64_t expires_at, apr_pool_t *p)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns();
    apr_status_t rv = w->inner->add(w->inner, key, val, len, expires_at, p);

    /* A held lock is an answer, not an error. */
    fa_metrics_store_op(w->m, FA_METRICS_OP_ADD, now_ns() - t0,
                        rv != APR_SUCCESS && rv != APR_EEXIST);
    return rv;
}

static apr_status_t wrap_take(fa_store_t *st, const char *key, apr_pool_t *p,
                              char **val, apr_size_t *len)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns();

    return counted(w, FA_METRICS_OP_TAKE, t0,
                   w->inner->take(w->inner, key, p, val, len));
}

static apr_status_t wrap_del(fa_store_t *st, const char *key, apr_pool_t *p)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns();

    return counted(w, FA_METRICS_OP_DEL, t0, w->inner->del(w->inner, key, p));
}

static apr_status_t wrap_del_if(fa_store_t *st, const char *key,
                                const char *val, apr_size_t len,
                                apr_pool_t *p)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns();

    return counted(w, FA_METRICS_OP_DEL, t0,
                   w->inner->del_if(w->inner, key, val, len, p));
}

static apr_status_t wrap_index_add(fa_store_t *st, const char *key,
                                   const char *member, apr_int64_t expires_at,
                                   int max, apr_pool_t *p,
                                   apr_array_header_t **dropped)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns();

    return counted(w, FA_METRICS_OP_INDEX_ADD, t0,
                   w->inner->index_add(w->inner, key, member, expires_at,
                                       max, p, dropped));
}

static apr_status_t wrap_index_take(fa_store_t *st, const char *key,
                                    apr_pool_t *p,
                                    apr_array_header_t **members)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns();

    return counted(w, FA_METRICS_OP_INDEX_TAKE, t0,
                   w->inner->index_take(w->inner, key, p, members));
}

static apr_uint32_t wrap_version(fa_store_t *st, const char *key)
{
    wrap_t *w = (wrap_t *)st;

    return w->inner->version(w->inner, key);
}

static int wrap_host_stamp(fa_store_t *st, const char *key,
                           fa_store_stamp_t *stamp)
{
    wrap_t *w = (wrap_t *)st;

    return w->inner->host_stamp(w->inner, key, stamp);
}

static int wrap_host_valid(fa_store_t *st, const char *key,
                           const fa_store_stamp_t *stamp)
{
    wrap_t *w = (wrap_t *)st;

    return w->inner->host_valid(w->inner, key, stamp);
}

/* Each key read counts as a get, with its share of the round trips. */
static apr_status_t wrap_get_stamped(fa_store_t *st, int n,
                                     const char *const *keys, apr_pool_t *p,
                                     char **vals, apr_size_t *lens,
                                     fa_store_stamp_t *stamps,
                                     apr_status_t *each)
{
    wrap_t *w = (wrap_t *)st;
    apr_uint64_t t0 = now_ns(), share;
    apr_status_t rv = w->inner->get_stamped(w->inner, n, keys, p, vals, lens,
                                            stamps, each);
    int i;

    if (rv == APR_EINVAL) {
        return rv;                /* nothing was asked: each is unset */
    }
    share = n > 0 ? (now_ns() - t0) / (apr_uint64_t)n : 0;
    for (i = 0; i < n; i++) {
        fa_metrics_store_op(w->m, FA_METRICS_OP_GET, share,
                            each[i] != APR_SUCCESS
                            && each[i] != APR_NOTFOUND);
    }
    return rv;
}

static apr_status_t wrap_child_init(fa_store_t *st, apr_pool_t *p)
{
    wrap_t *w = (wrap_t *)st;

    return w->inner->child_init(w->inner, p);
}

fa_store_t *fa_metrics_store_wrap(apr_pool_t *p, fa_metrics_t *m,
                                  fa_store_t *inner)
{
    wrap_t *w;

    if (!m || !inner) {
        return inner;
    }
    w = apr_pcalloc(p, sizeof(*w));
    w->inner = inner;
    w->m = m;
    w->st.name = inner->name;
    w->st.get = wrap_get;
    w->st.put = wrap_put;
    w->st.add = wrap_add;
    w->st.take = wrap_take;
    w->st.del = wrap_del;
    w->st.del_if = wrap_del_if;
    w->st.index_add = wrap_index_add;
    w->st.index_take = wrap_index_take;
    w->st.version = inner->version ? wrap_version : NULL;
    w->st.get_head = inner->get_head ? wrap_get_head : NULL;
    w->st.host_stamp = inner->host_stamp ? wrap_host_stamp : NULL;
    w->st.host_valid = inner->host_valid ? wrap_host_valid : NULL;
    w->st.get_stamped = inner->get_stamped ? wrap_get_stamped : NULL;
    w->st.copy_ms = inner->copy_ms;
    w->st.child_init = inner->child_init ? wrap_child_init : NULL;
    w->st.baton = inner->baton;
    w->st.inner = inner;
    return &w->st;
}

/* ---- the text format ------------------------------------------------- */

typedef struct buf_t {
    apr_pool_t *p;
    char *s;
    apr_size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    apr_size_t need;
    char *s;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = apr_vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        /* apr_vsnprintf returns what it wrote, at most cap - len - 1: a
         * full buffer may mean a cut line, so grow and write again. */
        if (n >= 0 && (apr_size_t)n + 1 < b->cap - b->len) {
            b->len += (apr_size_t)n;
            return;
        }
        need = b->cap * 2;
        s = apr_palloc(b->p, need);
        memcpy(s, b->s, b->len);
        b->s = s;
        b->cap = need;
    }
}

const char *fa_metrics_label_escape(apr_pool_t *p, const char *v)
{
    char *out, *o;

    if (!strpbrk(v, "\\\"\n")) {
        return v;
    }
    o = out = apr_palloc(p, strlen(v) * 2 + 1);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            *o++ = '\\';
            *o++ = *v;
        }
        else if (*v == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *v;
        }
    }
    *o = '\0';
    return out;
}

static void head(buf_t *b, const char *name, const char *type,
                 const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void format_providers(const fa_metrics_t *m, buf_t *b)
{
    apr_size_t o, k;
    const char *id;
    int i;

    head(b, "fedauth_signins_total", "counter", "Sign-ins by provider and "
         "outcome: ok, or the FEDAUTH_ERROR code that refused it.");
    for (i = 0; i < m->nprov; i++) {
        id = fa_metrics_label_escape(b->p, m->prov[i]);
        for (o = 0; o < N_OUTCOMES; o++) {
            put(b, "fedauth_signins_total{provider=\"%s\",outcome=\"%s\"} "
                "%" APR_UINT64_T_FMT "\n", id, fa_metrics_outcomes[o],
                get(m, m->signins + (apr_size_t)i * N_OUTCOMES + o));
        }
    }
    head(b, "fedauth_sessions_created_total", "counter", "Sessions made, "
         "by provider.");
    for (i = 0; i < m->nprov; i++) {
        put(b, "fedauth_sessions_created_total{provider=\"%s\"} %"
            APR_UINT64_T_FMT "\n", fa_metrics_label_escape(b->p, m->prov[i]),
            get(m, m->created + (apr_size_t)i));
    }
    for (k = 0; k < 2; k++) {
        const char *name = k ? "fedauth_idp_fetch_failures_total"
                             : "fedauth_idp_fetches_total";
        head(b, name, "counter", k ? "Fetches that gave no usable document "
             "(no answer, not 200, or not valid)." : "Fetches of discovery "
             "documents and JWKS from identity providers.");
        for (i = 0; i < m->nprov; i++) {
            id = fa_metrics_label_escape(b->p, m->prov[i]);
            for (o = 0; o < FA_METRICS_FETCH_COUNT; o++) {
                put(b, "%s{provider=\"%s\",document=\"%s\"} %"
                    APR_UINT64_T_FMT "\n", name, id, fetch_names[o],
                    get(m, m->fetches + ((apr_size_t)i * FA_METRICS_FETCH_COUNT
                                         + o) * 2 + k));
            }
        }
    }
}

static void format_graph(const fa_metrics_t *m, buf_t *b)
{
    const char *id;
    int i, o;

    head(b, "fedauth_graph_lookups_total", "counter", "Group lookups at "
         "Microsoft Graph (GroupsSource graph), by provider and outcome.");
    for (i = 0; i < m->nprov; i++) {
        id = fa_metrics_label_escape(b->p, m->prov[i]);
        for (o = 0; o < FA_GRAPH_OUTCOME_COUNT; o++) {
            put(b, "fedauth_graph_lookups_total{provider=\"%s\",outcome="
                "\"%s\"} %" APR_UINT64_T_FMT "\n", id,
                fa_graph_outcome_name((fa_graph_outcome_t)o),
                get(m, m->graph + (apr_size_t)i * FA_GRAPH_OUTCOME_COUNT
                       + (apr_size_t)o));
        }
    }
}

static void format_store(const fa_metrics_t *m, buf_t *b)
{
    apr_uint64_t count, sum;
    apr_size_t op, k;

    head(b, "fedauth_store_operation_seconds", "histogram", "Time taken "
         "by session store operations.");
    for (op = 0; op < FA_METRICS_OP_COUNT; op++) {
        count = 0;
        for (k = 0; k < N_BUCKET_SLOTS; k++) {
            count += get(m, m->buckets + op * N_BUCKET_SLOTS + k);
            put(b, "fedauth_store_operation_seconds_bucket{op=\"%s\","
                "le=\"%s\"} %" APR_UINT64_T_FMT "\n", op_names[op],
                bucket_le[k], count);
        }
        sum = get(m, m->sum_ns + op);
        put(b, "fedauth_store_operation_seconds_sum{op=\"%s\"} %"
            APR_UINT64_T_FMT ".%09" APR_UINT64_T_FMT "\n", op_names[op],
            sum / 1000000000u, sum % 1000000000u);
        put(b, "fedauth_store_operation_seconds_count{op=\"%s\"} %"
            APR_UINT64_T_FMT "\n", op_names[op], count);
    }
    head(b, "fedauth_store_errors_total", "counter", "Session store "
         "operations that failed (store unavailable).");
    for (op = 0; op < FA_METRICS_OP_COUNT; op++) {
        put(b, "fedauth_store_errors_total{op=\"%s\"} %" APR_UINT64_T_FMT
            "\n", op_names[op], get(m, m->errors + op));
    }
}

/* Token revocations at logout, by provider, and front-channel logout
 * requests, by outcome. */
static void format_logout(const fa_metrics_t *m, buf_t *b)
{
    apr_size_t k;
    int i;

    for (k = 0; k < 2; k++) {
        const char *name = k ? "fedauth_token_revocation_failures_total"
                             : "fedauth_token_revocations_total";
        head(b, name, "counter", k ? "Token revocations that failed (no "
             "answer, or not 200); the logout went on." : "Tokens revoked "
             "at identity providers at logout (RFC 7009).");
        for (i = 0; i < m->nprov; i++) {
            put(b, "%s{provider=\"%s\"} %" APR_UINT64_T_FMT "\n", name,
                fa_metrics_label_escape(b->p, m->prov[i]),
                get(m, m->revoked + (apr_size_t)i * 2 + k));
        }
    }
    head(b, "fedauth_frontchannel_logouts_total", "counter", "Front-channel "
         "logout requests: ok (answered; a session ended or not), refused "
         "(400).");
    put(b, "fedauth_frontchannel_logouts_total{outcome=\"ok\"} %"
        APR_UINT64_T_FMT "\n", get(m, m->frontchan));
    put(b, "fedauth_frontchannel_logouts_total{outcome=\"refused\"} %"
        APR_UINT64_T_FMT "\n", get(m, m->frontchan + 1));
}

static void format_claimrules(const fa_metrics_t *m, buf_t *b)
{
    head(b, "fedauth_cors_preflights_total", "counter", "CORS preflights "
         "to protected locations, answered without a session: allowed "
         "(a FedAuthAllowedOrigin), refused (any other origin).");
    put(b, "fedauth_cors_preflights_total{outcome=\"allowed\"} %"
        APR_UINT64_T_FMT "\n", get(m, m->claimrules));
    put(b, "fedauth_cors_preflights_total{outcome=\"refused\"} %"
        APR_UINT64_T_FMT "\n", get(m, m->claimrules + 1));
    head(b, "fedauth_claim_regex_gave_up_total", "counter", "Matches of a "
         "Require fedauth-claim regex that PCRE gave up on (its step "
         "limit): the rule refused; fix the pattern.");
    put(b, "fedauth_claim_regex_gave_up_total %" APR_UINT64_T_FMT "\n",
        get(m, m->claimrules + 2));
}

static void format_userinfo(const fa_metrics_t *m, buf_t *b)
{
    apr_size_t o;
    const char *id;
    int i;

    head(b, "fedauth_userinfo_refreshes_total", "counter", "Re-reads of "
         "userinfo for active sessions (UserInfoRefresh), by provider and "
         "outcome.");
    for (i = 0; i < m->nprov; i++) {
        id = fa_metrics_label_escape(b->p, m->prov[i]);
        for (o = 0; o < FA_METRICS_USERINFO_COUNT; o++) {
            put(b, "fedauth_userinfo_refreshes_total{provider=\"%s\","
                "outcome=\"%s\"} %" APR_UINT64_T_FMT "\n", id,
                userinfo_names[o],
                get(m, m->userinfo + (apr_size_t)i * FA_METRICS_USERINFO_COUNT
                       + o));
        }
    }
}

static void format_post(const fa_metrics_t *m, buf_t *b)
{
    static const char *const names[FA_METRICS_POST_COUNT] = {
        "kept", "replayed", "refused", "lost" };
    int i;

    head(b, "fedauth_preserved_posts_total", "counter", "Form POSTs "
         "without a session (FedAuthPreservePost): kept across a sign-in, "
         "posted again after it, refused (not kept), lost (gone at the "
         "callback).");
    for (i = 0; i < FA_METRICS_POST_COUNT; i++) {
        put(b, "fedauth_preserved_posts_total{outcome=\"%s\"} %"
            APR_UINT64_T_FMT "\n", names[i], get(m, m->post + i));
    }
}

/* The embedded store's numbers: it keeps them in its own segment, so
 * they cover its whole life (they outlive restarts with the store). */
static void format_shm(const fa_shm_stats_t *st, buf_t *b)
{
    head(b, "fedauth_shm_sessions", "gauge", "Sessions in the embedded "
         "store.");
    put(b, "fedauth_shm_sessions %lu\n", (unsigned long)st->sessions);
    head(b, "fedauth_shm_entries", "gauge", "Entries in the embedded store: "
         "sessions, indexes of each user's sessions, used sign-in states.");
    put(b, "fedauth_shm_entries %lu\n", (unsigned long)st->entries);
    head(b, "fedauth_shm_size_bytes", "gauge", "Size of the embedded "
         "store's blocks.");
    put(b, "fedauth_shm_size_bytes %" APR_UINT64_T_FMT "\n",
        (apr_uint64_t)st->blocks * FA_SHM_BLOCK);
    head(b, "fedauth_shm_used_bytes", "gauge", "Bytes of those blocks in "
         "use.");
    put(b, "fedauth_shm_used_bytes %" APR_UINT64_T_FMT "\n",
        (apr_uint64_t)st->blocks_used * FA_SHM_BLOCK);
    head(b, "fedauth_shm_evictions_total", "counter", "Entries the "
         "embedded store ended early to make room (those not used "
         "lately first), since its file was made.");
    put(b, "fedauth_shm_evictions_total %" APR_UINT64_T_FMT "\n",
        (apr_uint64_t)st->evicted);
    head(b, "fedauth_shm_expired_total", "counter", "Expired entries the "
         "embedded store removed, since its file was made.");
    put(b, "fedauth_shm_expired_total %" APR_UINT64_T_FMT "\n",
        (apr_uint64_t)st->expired);
    head(b, "fedauth_shm_resets_total", "counter", "Times the embedded "
         "store was emptied because a process died while changing it.");
    put(b, "fedauth_shm_resets_total %" APR_UINT64_T_FMT "\n",
        (apr_uint64_t)st->resets);
}

/* The host's copies of Redis sessions (FedAuthSessionHostCache): an
 * embedded store of their own, made afresh at each start; and their
 * renewals, counted by the processes. */
static void format_host(const fa_metrics_t *m, const fa_shm_stats_t *st,
                        buf_t *b)
{
    int i;

    head(b, "fedauth_host_cache_entries", "gauge", "Copies of sessions in "
         "the host's shared memory (FedAuthSessionHostCache).");
    put(b, "fedauth_host_cache_entries %lu\n", (unsigned long)st->entries);
    head(b, "fedauth_host_cache_size_bytes", "gauge", "Size of its "
         "blocks.");
    put(b, "fedauth_host_cache_size_bytes %" APR_UINT64_T_FMT "\n",
        (apr_uint64_t)st->blocks * FA_SHM_BLOCK);
    head(b, "fedauth_host_cache_used_bytes", "gauge", "Bytes of those "
         "blocks in use.");
    put(b, "fedauth_host_cache_used_bytes %" APR_UINT64_T_FMT "\n",
        (apr_uint64_t)st->blocks_used * FA_SHM_BLOCK);
    head(b, "fedauth_host_cache_evictions_total", "counter", "Copies it "
         "dropped to make room (those not used lately first), since httpd "
         "started or restarted.");
    put(b, "fedauth_host_cache_evictions_total %" APR_UINT64_T_FMT "\n",
        (apr_uint64_t)st->evicted);
    head(b, "fedauth_host_cache_renewals_total", "counter", "Copies of "
         "sessions in use read again from Redis before they end, by "
         "outcome: renewed; ended (the session was gone, the copy "
         "removed); unread (Redis did not answer, the copy ends at its "
         "time).");
    for (i = 0; i < N_RENEWALS; i++) {
        put(b, "fedauth_host_cache_renewals_total{outcome=\"%s\"} %"
            APR_UINT64_T_FMT "\n", renewal_names[i],
            get(m, m->renewals + (apr_size_t)i));
    }
}

void fa_metrics_format(const fa_metrics_t *m, const fa_shm_stats_t *shm,
                       const fa_shm_stats_t *host, apr_pool_t *p,
                       char **out, apr_size_t *len)
{
    buf_t b;
    apr_size_t i;

    b.p = p;
    b.cap = 16384;
    b.s = apr_palloc(p, b.cap);
    b.len = 0;
    format_providers(m, &b);
    format_graph(m, &b);
    head(&b, "fedauth_sessions_ended_total", "counter", "Sessions ended, "
         "by reason.");
    for (i = 0; i < FA_METRICS_END_COUNT; i++) {
        put(&b, "fedauth_sessions_ended_total{reason=\"%s\"} %"
            APR_UINT64_T_FMT "\n", end_names[i], get(m, m->ended + i));
    }
    format_store(m, &b);
    head(&b, "fedauth_bearer_cache_hits_total", "counter", "Bearer tokens "
         "found in the worker's cache of verified tokens.");
    put(&b, "fedauth_bearer_cache_hits_total %" APR_UINT64_T_FMT "\n",
        get(m, m->bearer));
    head(&b, "fedauth_bearer_cache_misses_total", "counter", "Bearer tokens "
         "not in the cache (verified, or refused).");
    put(&b, "fedauth_bearer_cache_misses_total %" APR_UINT64_T_FMT "\n",
        get(m, m->bearer + 1));
    format_logout(m, &b);
    head(&b, "fedauth_introspection_total", "counter", "Introspection "
         "calls (RFC 7662) for opaque bearer tokens, by outcome.");
    for (i = 0; i < FA_METRICS_INTROSPECT_COUNT; i++) {
        put(&b, "fedauth_introspection_total{outcome=\"%s\"} %"
            APR_UINT64_T_FMT "\n", introspect_names[i],
            get(m, m->introspect + i));
    }
    head(&b, "fedauth_par_requests_total", "counter", "Pushed "
         "authorization requests (RFC 9126) at the start of sign-ins, by "
         "outcome.");
    put(&b, "fedauth_par_requests_total{outcome=\"ok\"} %" APR_UINT64_T_FMT
        "\n", get(m, m->par));
    put(&b, "fedauth_par_requests_total{outcome=\"error\"} %"
        APR_UINT64_T_FMT "\n", get(m, m->par + 1));
    format_userinfo(m, &b);
    format_post(m, &b);
    head(&b, "fedauth_sessions_rekeyed_total", "counter", "Sessions moved "
         "from an older FedAuthSecret value to the first (a rotation).");
    put(&b, "fedauth_sessions_rekeyed_total %" APR_UINT64_T_FMT "\n",
        get(m, m->rekeyed));
    format_claimrules(m, &b);
    head(&b, "fedauth_app_passwords_total", "counter", "Requests with an "
         "app password (FedAuthBasic), by outcome.");
    for (i = 0; i < FA_METRICS_APPPASS_COUNT; i++) {
        put(&b, "fedauth_app_passwords_total{outcome=\"%s\"} %"
            APR_UINT64_T_FMT "\n", apppass_names[i],
            get(m, m->apppass + i));
    }
    if (shm) {
        format_shm(shm, &b);
    }
    if (host) {
        format_host(m, host, &b);
    }
    *out = b.s;
    *len = b.len;
}
