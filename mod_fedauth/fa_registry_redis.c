/* SPDX-License-Identifier: Apache-2.0 */
/* fa_registry_redis.c - the account registry (fa_registry_t,
 * fa_registry.h) in Redis: fa_registry_redis_open builds it on a Redis
 * client (fa_store_redis_client of the session store), so it shares the
 * store's connections, Sentinel, TLS and Cluster routing. Keys
 * <prefix>reg:<key> (<prefix>{reg}:<key> in a Cluster: one slot) with no
 * expiry. Part of the httpd-free core. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fa_redis_int.h"
#include "fa_registry.h"

#define REG_SCAN_COUNT "500"
#define REG_SCAN_ROUNDS 100000

/* In a cluster the registry's keys share one slot, by the hash tag
 * {reg}: its list is one SCAN on the master of that slot. */
static const char *reg_key(apr_pool_t *p, const fa_redis_t *rs,
                           const char *key)
{
    return apr_pstrcat(p, rs->conf.prefix, rs->conf.cluster ? "{reg}:"
                       : "reg:", key, NULL);
}

static apr_status_t reg_simple(fa_registry_t *reg, int argc,
                               const char **argv, const size_t *lens,
                               apr_size_t max, redisReply **preply)
{
    fa_err_t err;

    if (fa_redis_command(reg->baton, argc, argv, lens, max, preply, &err)
        != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    return APR_SUCCESS;
}

static apr_status_t reg_get(fa_registry_t *reg, const char *key,
                            apr_pool_t *p, char **val, apr_size_t *len)
{
    const char *argv[2] = { "GET", reg_key(p, reg->baton, key) };
    redisReply *reply;
    apr_status_t rv = reg_simple(reg, 2, argv, NULL, FA_REDIS_REPLY_VALUE,
                                 &reply);

    return rv != APR_SUCCESS ? rv : fa_redis_string_reply(p, reply, val, len);
}

static apr_status_t reg_set(fa_registry_t *reg, const char *key,
                            const char *val, apr_size_t len, int nx,
                            apr_pool_t *p)
{
    const char *argv[4] = { "SET", reg_key(p, reg->baton, key), val, "NX" };
    size_t lens[4] = { 3, strlen(argv[1]), len, 2 };
    redisReply *reply;
    apr_status_t rv;

    if ((rv = reg_simple(reg, nx ? 4 : 3, argv, lens, FA_REDIS_REPLY_SMALL,
                         &reply)) != APR_SUCCESS) {
        return rv;
    }
    rv = reply->type == REDIS_REPLY_NIL ? APR_EEXIST : APR_SUCCESS;
    freeReplyObject(reply);
    return rv;
}

/* SET only while the key holds ARGV[1]: one script, so atomic. */
static const char REG_REPLACE_LUA[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "  redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0";

static apr_status_t reg_replace(fa_registry_t *reg, const char *key,
                                const char *old, apr_size_t olen,
                                const char *val, apr_size_t len,
                                apr_pool_t *p)
{
    const char *argv[6] = { "EVAL", REG_REPLACE_LUA, "1",
                            reg_key(p, reg->baton, key), old, val };
    size_t lens[6] = { 4, sizeof(REG_REPLACE_LUA) - 1, 1, strlen(argv[3]),
                       olen, len };
    redisReply *reply;
    apr_status_t rv;

    if ((rv = reg_simple(reg, 6, argv, lens, FA_REDIS_REPLY_SMALL, &reply))
        != APR_SUCCESS) {
        return rv;
    }
    rv = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1
         ? APR_SUCCESS : APR_EEXIST;
    freeReplyObject(reply);
    return rv;
}

static apr_status_t reg_create(fa_registry_t *reg, const char *key,
                               const char *val, apr_size_t len,
                               apr_pool_t *p)
{
    return reg_set(reg, key, val, len, 1, p);
}

static apr_status_t reg_put(fa_registry_t *reg, const char *key,
                            const char *val, apr_size_t len, apr_pool_t *p)
{
    return reg_set(reg, key, val, len, 0, p);
}

static apr_status_t reg_del(fa_registry_t *reg, const char *key,
                            apr_pool_t *p)
{
    const char *argv[2] = { "DEL", reg_key(p, reg->baton, key) };
    redisReply *reply;
    apr_status_t rv = reg_simple(reg, 2, argv, NULL, FA_REDIS_REPLY_SMALL,
                                 &reply);

    if (rv == APR_SUCCESS) {
        freeReplyObject(reply);
    }
    return rv;
}

/* A glob pattern matching exactly the keys that start with s. */
static const char *glob_prefix(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 2 + 2), *o = out;

    for (; *s; s++) {
        if (strchr("*?[]\\", *s)) {
            *o++ = '\\';
        }
        *o++ = *s;
    }
    *o++ = '*';
    *o = '\0';
    return out;
}

static int reg_by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static apr_status_t reg_list(fa_registry_t *reg, const char *prefix,
                             apr_pool_t *p, apr_array_header_t **keys)
{
    fa_redis_t *rs = reg->baton;
    const char *base = reg_key(p, rs, "");
    const char *argv[6] = { "SCAN", "0", "MATCH",
                            glob_prefix(p, reg_key(p, rs, prefix)), "COUNT",
                            REG_SCAN_COUNT };
    apr_size_t blen = strlen(base);
    redisReply *reply, *page;
    apr_status_t rv;
    size_t i;
    int rounds;

    *keys = apr_array_make(p, 16, sizeof(const char *));
    for (rounds = 0; rounds < REG_SCAN_ROUNDS; rounds++) {
        if ((rv = reg_simple(reg, 6, argv, NULL, FA_REDIS_REPLY_INDEX, &reply))
            != APR_SUCCESS) {
            return rv;
        }
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
            || reply->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(reply);
            return APR_EGENERAL;
        }
        page = reply->element[1];
        for (i = 0; i < page->elements
                    && (*keys)->nelts < FA_REGISTRY_LIST_MAX; i++) {
            if (page->element[i]->type == REDIS_REPLY_STRING
                && page->element[i]->len > blen) {
                APR_ARRAY_PUSH(*keys, const char *) = apr_pstrmemdup(p,
                    page->element[i]->str + blen, page->element[i]->len
                    - blen);
            }
        }
        argv[1] = apr_pstrdup(p, reply->element[0]->str);
        freeReplyObject(reply);
        if (!strcmp(argv[1], "0") || (*keys)->nelts >= FA_REGISTRY_LIST_MAX) {
            break;
        }
    }
    qsort((*keys)->elts, (size_t)(*keys)->nelts, sizeof(const char *),
          reg_by_string);
    return APR_SUCCESS;
}

apr_status_t fa_registry_redis_open(apr_pool_t *p, fa_redis_t *rs,
                                    fa_registry_t **preg)
{
    fa_registry_t *reg;

    *preg = NULL;
    if (!rs) {
        return APR_EINVAL;
    }
    reg = apr_pcalloc(p, sizeof(*reg));
    reg->name = "redis";
    reg->get = reg_get;
    reg->create = reg_create;
    reg->put = reg_put;
    reg->replace = reg_replace;
    reg->del = reg_del;
    reg->list = reg_list;
    reg->baton = rs;
    *preg = reg;
    return APR_SUCCESS;
}

