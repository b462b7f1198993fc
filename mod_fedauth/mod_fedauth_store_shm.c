/* mod_fedauth_store_shm.c - the embedded session store: httpd's socache
 * shmcb in shared memory, so every worker of one host sees every session.
 * shmcb is not safe across processes by itself, so a global mutex guards
 * each operation; "take" holds it across retrieve and remove, which makes
 * a login state usable once even when two workers race.
 *
 * Beside the cache, a small shared table of change counters: every write
 * or delete of a key bumps the counter its key hashes to, after the
 * change. A worker that read the counter before reading a session may
 * reuse its copy for as long as the counter stays the same: the request
 * path then takes no lock, and a logout in any worker is seen by all of
 * them on their next request. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"
#include "apr_strings.h"
#include "apr_shm.h"
#include "apr_atomic.h"

#include "mod_fedauth.h"

#define MUTEX_TYPE "fedauth-shm"

static const ap_socache_provider_t *shm_provider;
static ap_socache_instance_t *shm_instance;
static apr_global_mutex_t *shm_mutex;
static server_rec *shm_server;
static fa_store_t shm_store;
static apr_shm_t *gen_shm;
static volatile apr_uint32_t *gen;

#define GEN_SLOTS 16384           /* a power of two; 64 KiB of counters */

static apr_uint32_t *gen_slot(const char *key)
{
    apr_uint32_t h = 2166136261u;  /* FNV-1a */

    while (*key) {
        h = (h ^ (unsigned char)*key++) * 16777619u;
    }
    return (apr_uint32_t *)&gen[h & (GEN_SLOTS - 1)];
}

/* After a change to key (the mutex is still held, so a reader that sees
 * the old count has not yet read the new value). */
static void gen_bump(const char *key)
{
    if (gen) {
        apr_atomic_inc32(gen_slot(key));
    }
}

static apr_uint32_t shm_version(fa_store_t *st, const char *key)
{
    (void)st;
    return apr_atomic_read32(gen_slot(key));
}

static apr_status_t shm_lock(void)
{
    return shm_mutex ? apr_global_mutex_lock(shm_mutex) : APR_SUCCESS;
}

static void shm_unlock(void)
{
    if (shm_mutex) {
        apr_global_mutex_unlock(shm_mutex);
    }
}

static apr_status_t shm_get_locked(const char *key, apr_pool_t *p,
                                   char **val, apr_size_t *len)
{
    unsigned char buf[FA_STORE_MAX_VALUE];
    unsigned int n = sizeof(buf);
    apr_status_t rv;

    rv = shm_provider->retrieve(shm_instance, shm_server,
                                (const unsigned char *)key,
                                (unsigned int)strlen(key), buf, &n, p);
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? APR_NOTFOUND : rv;
    }
    *val = apr_palloc(p, n + 1);
    memcpy(*val, buf, n);
    (*val)[n] = '\0';
    *len = n;
    return APR_SUCCESS;
}

static apr_status_t shm_put_locked(const char *key, const char *val,
                                   apr_size_t len, apr_int64_t expires_at,
                                   apr_pool_t *p);

static apr_status_t shm_get(fa_store_t *st, const char *key, apr_pool_t *p,
                            char **val, apr_size_t *len)
{
    apr_status_t rv;

    if ((rv = shm_lock()) != APR_SUCCESS) {
        return rv;
    }
    rv = shm_get_locked(key, p, val, len);
    shm_unlock();
    return rv;
}

static apr_status_t shm_put(fa_store_t *st, const char *key, const char *val,
                            apr_size_t len, apr_int64_t expires_at,
                            apr_pool_t *p)
{
    apr_status_t rv;

    if (len > FA_STORE_MAX_VALUE) {
        return APR_ENOSPC;
    }
    if ((rv = shm_lock()) != APR_SUCCESS) {
        return rv;
    }
    rv = shm_put_locked(key, val, len, expires_at, p);
    shm_unlock();
    return rv;
}

static apr_status_t shm_del(fa_store_t *st, const char *key, apr_pool_t *p)
{
    apr_status_t rv;

    if ((rv = shm_lock()) != APR_SUCCESS) {
        return rv;
    }
    rv = shm_provider->remove(shm_instance, shm_server,
                              (const unsigned char *)key,
                              (unsigned int)strlen(key), p);
    gen_bump(key);
    shm_unlock();
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

static apr_status_t shm_take(fa_store_t *st, const char *key, apr_pool_t *p,
                             char **val, apr_size_t *len)
{
    apr_status_t rv;

    if ((rv = shm_lock()) != APR_SUCCESS) {
        return rv;
    }
    rv = shm_get_locked(key, p, val, len);
    if (rv == APR_SUCCESS) {
        shm_provider->remove(shm_instance, shm_server,
                             (const unsigned char *)key,
                             (unsigned int)strlen(key), p);
        gen_bump(key);
    }
    shm_unlock();
    return rv;
}

static apr_status_t shm_put_locked(const char *key, const char *val,
                                   apr_size_t len, apr_int64_t expires_at,
                                   apr_pool_t *p)
{
    apr_status_t rv;

    rv = shm_provider->store(shm_instance, shm_server,
                             (const unsigned char *)key,
                             (unsigned int)strlen(key),
                             apr_time_from_sec(expires_at),
                             (unsigned char *)val, (unsigned int)len, p);
    gen_bump(key);                /* also on failure: the old value may be
                                   * gone */
    return rv;
}

/* A set is a value of newline-separated members; its expiry is pushed out
 * to the latest of its members'. shmcb does not say when a value expires,
 * so the first line holds that time. */
static apr_status_t shm_set_add(fa_store_t *st, const char *key,
                                const char *member, apr_int64_t expires_at,
                                apr_pool_t *p)
{
    char *val = NULL, *line, *last;
    apr_size_t len = 0;
    apr_int64_t until = expires_at;
    const char *out;
    apr_status_t rv;

    if ((rv = shm_lock()) != APR_SUCCESS) {
        return rv;
    }
    rv = shm_get_locked(key, p, &val, &len);
    out = apr_psprintf(p, "%" APR_INT64_T_FMT "\n%s\n", until, member);
    if (rv == APR_SUCCESS) {
        line = apr_strtok(val, "\n", &last);
        if (line && apr_atoi64(line) > until) {
            until = apr_atoi64(line);
        }
        out = apr_psprintf(p, "%" APR_INT64_T_FMT "\n", until);
        while ((line = apr_strtok(NULL, "\n", &last)) != NULL) {
            if (strcmp(line, member)) {
                out = apr_pstrcat(p, out, line, "\n", NULL);
            }
        }
        out = apr_pstrcat(p, out, member, "\n", NULL);
    }
    if (strlen(out) > FA_STORE_MAX_VALUE) {
        rv = APR_ENOSPC;
    }
    else {
        rv = shm_put_locked(key, out, strlen(out), until, p);
    }
    shm_unlock();
    return rv;
}

static apr_status_t shm_set_take(fa_store_t *st, const char *key,
                                 apr_pool_t *p, apr_array_header_t **members)
{
    char *val, *line, *last;
    apr_size_t len;
    apr_status_t rv;

    *members = apr_array_make(p, 4, sizeof(const char *));
    rv = shm_take(st, key, p, &val, &len);
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_strtok(val, "\n", &last);   /* the expiry line */
    while ((line = apr_strtok(NULL, "\n", &last)) != NULL) {
        APR_ARRAY_PUSH(*members, const char *) = line;
    }
    return APR_SUCCESS;
}

static apr_status_t shm_cleanup(void *data)
{
    if (shm_instance) {
        shm_provider->destroy(shm_instance, (server_rec *)data);
        shm_instance = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t fedauth_shm_pre_config(apr_pool_t *pconf)
{
    shm_provider = NULL;
    shm_instance = NULL;
    shm_mutex = NULL;
    gen_shm = NULL;
    gen = NULL;
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

apr_status_t fedauth_shm_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                     server_rec *s, apr_size_t size)
{
    struct ap_socache_hints hints = { 24, 2048, 60 };
    const char *err, *arg;
    apr_status_t rv;

    shm_provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb",
                                      AP_SOCACHE_PROVIDER_VERSION);
    if (!shm_provider) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00101)
                     "FedAuthSessionStore shm needs mod_socache_shmcb: "
                     "add LoadModule socache_shmcb_module");
        return APR_EGENERAL;
    }
    arg = apr_psprintf(ptemp, "%s(%" APR_SIZE_T_FMT ")",
                       ap_runtime_dir_relative(ptemp, "fedauth-sessions"),
                       size);
    err = shm_provider->create(&shm_instance, arg, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00102)
                     "FedAuthSessionStore shm: %s", err);
        return APR_EGENERAL;
    }
    if (shm_provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&shm_mutex, NULL, MUTEX_TYPE, NULL, s,
                                    pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, FALOGNO(00103)
                         "FedAuthSessionStore shm: cannot create its mutex");
            return rv;
        }
    }
    rv = shm_provider->init(shm_instance, "fedauth", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, FALOGNO(00104)
                     "FedAuthSessionStore shm: cannot create the cache");
        return rv;
    }
    apr_pool_cleanup_register(pconf, s, shm_cleanup, apr_pool_cleanup_null);
    /* Anonymous shared memory: the children inherit it across fork. */
    rv = apr_shm_create(&gen_shm, GEN_SLOTS * sizeof(apr_uint32_t), NULL,
                        pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, FALOGNO(00106)
                     "FedAuthSessionStore shm: cannot create the table of "
                     "change counters");
        return rv;
    }
    gen = apr_shm_baseaddr_get(gen_shm);
    memset((void *)gen, 0, GEN_SLOTS * sizeof(apr_uint32_t));
    shm_server = s;
    shm_store.name = "shm";
    shm_store.get = shm_get;
    shm_store.put = shm_put;
    shm_store.take = shm_take;
    shm_store.del = shm_del;
    shm_store.set_add = shm_set_add;
    shm_store.set_take = shm_set_take;
    shm_store.version = shm_version;
    return APR_SUCCESS;
}

void fedauth_shm_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (shm_mutex) {
        rv = apr_global_mutex_child_init(&shm_mutex,
            apr_global_mutex_lockfile(shm_mutex), p);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, FALOGNO(00105)
                         "FedAuthSessionStore shm: cannot attach the mutex "
                         "in this child");
        }
    }
}

fa_store_t *fedauth_shm_store(void)
{
    return shm_instance ? &shm_store : NULL;
}
