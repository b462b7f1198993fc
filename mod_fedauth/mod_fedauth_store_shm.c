/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_store_shm.c - the embedded session store in httpd: where its
 * file is, when it is opened, and what it says in the error log. The store
 * itself (a hash table in shared memory, see fa_store_shm.c) is in the
 * core; its lock lives in the shared segment, so children need no set-up.
 *
 * The file is <DefaultRuntimeDir>/fedauth-sessions.shm, mapped by the
 * parent before it forks the children. A restart (graceful or not) finds
 * it again and keeps its sessions when the size is the same. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "mod_fedauth_store_shm.h"

APLOG_USE_MODULE(fedauth);

#define STORE_FILE "fedauth-sessions.shm"
/* An ordinary session record (user, roles, six attributes, an ID token),
 * for the capacity the log states; each session also takes a block for
 * its entry in the index of its user's sessions. */
#define TYPICAL_RECORD 1400

static fa_store_t *shm_store;

static unsigned long mib(apr_uint64_t bytes)
{
    return (unsigned long)((bytes + (1 << 19)) >> 20);
}

/* A child's thread has mapped the store's used part (or was refused). */
static void shm_prefault_log(server_rec *s, const fa_shm_stats_t *st)
{
    if (st->prefault_errno) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, st->prefault_errno, s,
                     FALOGNO(01681) "session store: the kernel did not map "
                     "its used part ahead (%lu of %lu MiB); its pages are "
                     "mapped as requests touch them",
                     mib(st->prefault_bytes), mib(st->prefault_span));
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, FALOGNO(01680)
                 "session store: this process mapped its used part ahead "
                 "of requests, %lu MiB of %lu in %ld ms",
                 mib(st->prefault_span), mib(st->size),
                 (long)(st->prefault_us / 1000));
}

/* The store's reports, at most once a minute each across all children
 * (and FA_SHM_PREFAULT once per child). */
static void shm_notify(void *baton, fa_shm_event_t ev,
                       const fa_shm_stats_t *st)
{
    server_rec *s = baton;
    apr_uint64_t used = (apr_uint64_t)st->blocks_used * FA_SHM_BLOCK;
    apr_uint64_t all = (apr_uint64_t)st->blocks * FA_SHM_BLOCK;

    switch (ev) {
    case FA_SHM_FULL:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FALOGNO(00107)
                     "session store full: %lu entries ended early to make "
                     "room since the last report, those not used lately first "
                     "(the most recently used of them idle %ld s); it holds "
                     "%lu sessions in %lu MiB: give it more with "
                     "FedAuthSessionStore shm:<size>",
                     (unsigned long)st->evicted_recent,
                     (long)st->evicted_idle, (unsigned long)st->sessions,
                     mib(st->size));
        break;
    case FA_SHM_HIGH:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FALOGNO(00108)
                     "session store %lu%% full: %lu sessions, %lu of %lu "
                     "MiB; when it is full, the sessions not used lately "
                     "end first",
                     (unsigned long)(used * 100 / (all ? all : 1)),
                     (unsigned long)st->sessions, mib(used), mib(all));
        break;
    case FA_SHM_RESET:
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FALOGNO(00109)
                     "session store emptied: a process died while changing "
                     "it, or it was damaged; everyone signs in again");
        break;    case FA_SHM_PREFAULT:
        shm_prefault_log(s, st);
        break;
    }
}

apr_status_t fedauth_shm_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                     server_rec *s, apr_size_t size)
{
    fa_shm_conf_t conf;
    fa_shm_stats_t st;
    fa_err_t err;
    int reused = 0;

    shm_store = NULL;
    memset(&conf, 0, sizeof(conf));
    memset(&err, 0, sizeof(err));
    conf.path = ap_runtime_dir_relative(pconf, STORE_FILE);
    conf.size = size;
    conf.notify = shm_notify;
    conf.baton = s;
    if (fa_store_shm_open(pconf, &conf, &shm_store, &reused, &err)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00102)
                     "FedAuthSessionStore shm: %s", err.desc);
        return APR_EGENERAL;
    }
    fa_store_shm_stats(shm_store, &st);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, FALOGNO(00110)
                 "session store %s: %lu MiB, room for about %lu sessions; "
                 "%s", conf.path, mib(st.size),
                 (unsigned long)(st.blocks / (1 + fa_store_shm_entry_bytes(
                     FA_SESSION_KEY_LEN, TYPICAL_RECORD)
                     / FA_SHM_BLOCK_BYTES)),
                 reused ? apr_psprintf(ptemp, "%lu session(s) kept from "
                                       "before the restart",
                                       (unsigned long)st.sessions)
                        : "new");
    return APR_SUCCESS;
}

fa_store_t *fedauth_shm_store(void)
{
    return shm_store;
}

/* FedAuthSessionHostCache: an embedded store of its own, in anonymous
 * memory (no file: made afresh at each start, shared with the children
 * forked after). */
static fa_store_t *host_store;

apr_status_t fedauth_host_cache_open(apr_pool_t *pconf, server_rec *s,
                                     apr_size_t size, int seconds)
{
    fa_shm_conf_t conf;
    fa_err_t err;
    int reused = 0;

    host_store = NULL;
    if (!size) {
        return APR_SUCCESS;
    }
    memset(&conf, 0, sizeof(conf));
    memset(&err, 0, sizeof(err));
    conf.size = size;
    if (fa_store_shm_open(pconf, &conf, &host_store, &reused, &err)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FALOGNO(00320)
                     "FedAuthSessionHostCache: %s; each process keeps its "
                     "own copies only", err.desc);
        host_store = NULL;
        return APR_EGENERAL;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, FALOGNO(00322)
                 "FedAuthSessionHostCache: %lu MiB of copies of sessions "
                 "shared by this host's processes, each for %d s at most",
                 mib(size), seconds);
    return APR_SUCCESS;
}

fa_store_t *fedauth_host_cache(void)
{
    return host_store;
}

fa_store_t *fedauth_shm_store_of(const fa_store_t *st)
{
    if (shm_store && st && (st == shm_store || st->inner == shm_store)) {
        return shm_store;
    }
    return NULL;
}
