/* SPDX-License-Identifier: Apache-2.0 */
/* fa_redis_url.c - what a FedAuthSessionStore URL and a Redis key mean,
 * with no I/O: fa_redis_parse (the URL into an fa_redis_conf_t, for the
 * configuration and fedauthctl) and the key slot of Redis Cluster
 * (fa_redis_keyslot, fa_redis_crc16, for fa_redis_cluster.c and the
 * tests). Declared in fa_store.h. Part of the httpd-free core. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "fa_store.h"

/* ---- configuration --------------------------------------------------- */

static const char *parse_host(apr_pool_t *p, const char *s, apr_size_t len,
                              int default_port, fa_redis_host_t *h)
{
    const char *colon, *end = s + len;
    char *endp;
    long port = default_port;

    if (len == 0) {
        return "a host is missing";
    }
    if (*s == '[') {
        const char *close = memchr(s, ']', len);
        if (!close) {
            return "an IPv6 address lacks its ']'";
        }
        if (close + 1 < end && close[1] != ':') {
            return apr_psprintf(p, "'%.*s' follows an IPv6 address's ']': "
                                "only :port, /db or the end may",
                                (int)(end - close - 1 > 32 ? 32
                                      : end - close - 1), close + 1);
        }
        h->host = apr_pstrmemdup(p, s + 1, (apr_size_t)(close - s - 1));
        colon = close + 1 < end ? close + 1 : NULL;
    }
    else {
        colon = memchr(s, ':', len);
        h->host = apr_pstrmemdup(p, s, colon ? (apr_size_t)(colon - s)
                                             : len);
    }
    if (colon) {
        port = strtol(apr_pstrmemdup(p, colon + 1,
                                     (apr_size_t)(end - colon - 1)),
                      &endp, 10);
        if (*endp || port < 1 || port > 65535) {
            return "a port is not a number from 1 to 65535";
        }
    }
    if (!*h->host || strpbrk(h->host, "/@ ")) {
        return "a host name is malformed";
    }
    h->port = (int)port;
    return NULL;
}

/* The URL schemes FedAuthSessionStore takes, and what each says. */
static const struct {
    const char *name;
    int sentinel, tls, cluster;
} schemes[] = {
    { "redis://", 0, 0, 0 },          { "rediss://", 0, 1, 0 },
    { "redis-sentinel://", 1, 0, 0 }, { "rediss-sentinel://", 1, 1, 0 },
    { "redis-cluster://", 0, 0, 1 },  { "rediss-cluster://", 0, 1, 1 },
};

/* user:password@ before the hosts, %-decoded; *rest moves past it. */
static const char *parse_credentials(apr_pool_t *p, const char **rest,
                                     fa_redis_conf_t *conf)
{
    const char *slash = strchr(*rest, '/'), *at = strchr(*rest, '@');
    char *user, *pass, *colon;

    if (!at || (slash && at > slash)) {
        return NULL;
    }
    user = apr_pstrmemdup(p, *rest, (apr_size_t)(at - *rest));
    colon = strchr(user, ':');
    if (!colon) {
        return "expects user:password@ before the host";
    }
    *colon = '\0';
    pass = colon + 1;
    if (fa_url_decode(p, user, strlen(user), &user) != APR_SUCCESS
        || fa_url_decode(p, pass, strlen(pass), &pass) != APR_SUCCESS) {
        return "the credentials are not properly %-encoded";
    }
    conf->user = *user ? user : NULL;
    conf->password = *pass ? pass : NULL;
    *rest = at + 1;
    return NULL;
}

/* The comma-separated hosts up to the first '/' (or the end); *rest
 * moves to that '/' (or the end). */
static const char *parse_hosts(apr_pool_t *p, const char **rest,
                               int several, int default_port,
                               fa_redis_conf_t *conf)
{
    const char *hosts = *rest, *slash = strchr(hosts, '/'), *comma, *err;
    const char *end = slash ? slash : hosts + strlen(hosts);

    conf->hosts = apr_array_make(p, 3, sizeof(fa_redis_host_t));
    for (;;) {
        comma = memchr(hosts, ',', (apr_size_t)(end - hosts));
        err = parse_host(p, hosts, (apr_size_t)((comma ? comma : end)
                                                - hosts),
                         default_port, apr_array_push(conf->hosts));
        if (err || !comma) {
            *rest = end;
            return err;
        }
        if (!several) {
            return "redis:// takes one host; use redis-sentinel:// or "
                   "redis-cluster:// for several";
        }
        if (conf->hosts->nelts >= FA_REDIS_MAX_HOSTS) {
            return apr_psprintf(p, "takes at most %d hosts",
                                FA_REDIS_MAX_HOSTS);
        }
        hosts = comma + 1;
    }
}

/* What follows the hosts' '/': [master name/]database. */
static const char *parse_path(apr_pool_t *p, const char *path, int sentinel,
                              fa_redis_conf_t *conf)
{
    const char *slash;
    char *endp;
    long db;

    if (sentinel) {
        slash = strchr(path, '/');
        conf->master_name = apr_pstrmemdup(p, path, slash
                                           ? (apr_size_t)(slash - path)
                                           : strlen(path));
        if (!*conf->master_name) {
            return "redis-sentinel:// needs the master's name after the "
                   "hosts";
        }
        path = slash ? slash + 1 : "";
    }
    if (*path) {
        db = strtol(path, &endp, 10);
        if (*endp || db < 0 || db > 10000) {
            return "the database must be a number";
        }
        conf->db = (int)db;
        if (conf->cluster && db != 0) {
            return "a Redis Cluster has only database 0";
        }
    }
    return NULL;
}

const char *fa_redis_parse(apr_pool_t *p, const char *spec,
                           fa_redis_conf_t *conf)
{
    const apr_size_t nschemes = sizeof(schemes) / sizeof(schemes[0]);
    const char *rest, *err;
    apr_size_t k, n = 0;
    int sentinel;

    memset(conf, 0, sizeof(*conf));
    conf->prefix = "fedauth:";
    conf->timeout_ms = 1000;
    for (k = 0; k < nschemes; k++) {
        n = strlen(schemes[k].name);
        if (!strncmp(spec, schemes[k].name, n)) {
            break;
        }
    }
    if (k == nschemes) {
        return "expects redis://..., rediss://..., redis-sentinel://..., "
               "rediss-sentinel://..., redis-cluster://... or "
               "rediss-cluster://...";
    }
    rest = spec + n;
    sentinel = schemes[k].sentinel;
    conf->tls = schemes[k].tls;
    conf->cluster = schemes[k].cluster;
    if ((err = parse_credentials(p, &rest, conf)) != NULL
        || (err = parse_hosts(p, &rest, sentinel || conf->cluster,
                              sentinel ? 26379 : 6379, conf)) != NULL) {
        return err;
    }
    return parse_path(p, *rest ? rest + 1 : "", sentinel, conf);
}

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0, not reflected), as
 * the Redis Cluster specification computes key slots with it. */
static unsigned int crc16(const char *buf, apr_size_t len)
{
    unsigned int crc = 0;
    apr_size_t i;
    int b;

    for (i = 0; i < len; i++) {
        crc ^= (unsigned int)(unsigned char)buf[i] << 8;
        for (b = 0; b < 8; b++) {
            crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) : (crc << 1);
        }
        crc &= 0xffff;
    }
    return crc;
}

unsigned int fa_redis_crc16(const char *buf, apr_size_t len)
{
    return crc16(buf, len);
}

unsigned int fa_redis_keyslot(const char *key, apr_size_t len)
{
    const char *open = memchr(key, '{', len), *close;

    if (open) {
        close = memchr(open + 1, '}', len - (apr_size_t)(open + 1 - key));
        if (close && close > open + 1) {
            return crc16(open + 1, (apr_size_t)(close - open - 1))
                   & (FA_REDIS_SLOTS - 1);
        }
    }
    return crc16(key, len) & (FA_REDIS_SLOTS - 1);
}
