/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_redis_spec.c - libFuzzer target: FedAuthSessionStore values
 * (fa_redis_parse): redis://[user:password@]host[:port][/db] and
 * redis-sentinel://[user:password@]host:port[,host:port...]/master[/db],
 * redis-cluster://[user:password@]host[:port][,host[:port]...][/0], and
 * rediss:// / rediss-sentinel:// / rediss-cluster:// (TLS); and the
 * Cluster key slot of the same bytes. */
#include "fuzz_common.h"
#include "fa_store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *spec = fuzz_copy(p, data, size), *why;
    fa_redis_conf_t conf;
    fa_redis_host_t *h;
    int i;

    why = fa_redis_parse(p, spec, &conf);
    if (why == NULL) {
        FUZZ_CHECK(conf.hosts && conf.hosts->nelts >= 1);
        FUZZ_CHECK(conf.db >= 0 && conf.prefix && conf.timeout_ms > 0);
        FUZZ_CHECK((!strncmp(spec, "redis-sentinel://", 17)
                    || !strncmp(spec, "rediss-sentinel://", 18))
                   == (conf.master_name != NULL));
        FUZZ_CHECK(conf.tls == !strncmp(spec, "rediss", 6));
        FUZZ_CHECK(!conf.master_name || *conf.master_name);
        FUZZ_CHECK(conf.cluster == (!strncmp(spec, "redis-cluster://", 16)
                                    || !strncmp(spec, "rediss-cluster://",
                                                17)));
        FUZZ_CHECK(!conf.cluster || conf.db == 0);
        FUZZ_CHECK(conf.hosts->nelts <= FA_REDIS_MAX_HOSTS);
        for (i = 0; i < conf.hosts->nelts; i++) {
            h = &APR_ARRAY_IDX(conf.hosts, i, fa_redis_host_t);
            FUZZ_CHECK(h->host && *h->host);
            FUZZ_CHECK(h->port >= 1 && h->port <= 65535);
        }
    }
    else {
        FUZZ_CHECK(*why);
    }
    FUZZ_CHECK(fa_redis_keyslot((const char *)data, size) < FA_REDIS_SLOTS);
    apr_pool_destroy(p);
    return 0;
}
