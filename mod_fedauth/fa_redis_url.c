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
 * the Redis Cluster specification computes key slots with it. The table
 * holds the remainder of each byte value shifted through the polynomial,
 * so that a key is hashed a byte at a time (every Cluster command hashes
 * its key). */
static const unsigned short crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
    0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
    0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de,
    0x2462, 0x3443, 0x0420, 0x1401, 0x64e6, 0x74c7, 0x44a4, 0x5485,
    0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4,
    0xb75b, 0xa77a, 0x9719, 0x8738, 0xf7df, 0xe7fe, 0xd79d, 0xc7bc,
    0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b,
    0x5af5, 0x4ad4, 0x7ab7, 0x6a96, 0x1a71, 0x0a50, 0x3a33, 0x2a12,
    0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41,
    0xedae, 0xfd8f, 0xcdec, 0xddcd, 0xad2a, 0xbd0b, 0x8d68, 0x9d49,
    0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78,
    0x9188, 0x81a9, 0xb1ca, 0xa1eb, 0xd10c, 0xc12d, 0xf14e, 0xe16f,
    0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e,
    0x02b1, 0x1290, 0x22f3, 0x32d2, 0x4235, 0x5214, 0x6277, 0x7256,
    0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
    0xa7db, 0xb7fa, 0x8799, 0x97b8, 0xe75f, 0xf77e, 0xc71d, 0xd73c,
    0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab,
    0x5844, 0x4865, 0x7806, 0x6827, 0x18c0, 0x08e1, 0x3882, 0x28a3,
    0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92,
    0xfd2e, 0xed0f, 0xdd6c, 0xcd4d, 0xbdaa, 0xad8b, 0x9de8, 0x8dc9,
    0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8,
    0x6e17, 0x7e36, 0x4e55, 0x5e74, 0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

static unsigned int crc16(const char *buf, apr_size_t len)
{
    unsigned int crc = 0;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        crc = ((crc << 8)
               ^ crc16_table[((crc >> 8) ^ (unsigned char)buf[i]) & 0xff])
              & 0xffff;
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
