/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_store_shm.h - what mod_fedauth_store_shm.c offers: the
 * embedded session store, shared by all workers of a host. */
#ifndef MOD_FEDAUTH_STORE_SHM_H
#define MOD_FEDAUTH_STORE_SHM_H

#include "mod_fedauth_types.h"

/* Opens the store (or finds it again after a restart) in post_config,
 * before the children fork; logs why when it cannot. */
apr_status_t fedauth_shm_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                     server_rec *s, apr_size_t size);
/* The store opened last, or NULL. */
fa_store_t *fedauth_shm_store(void);
/* FedAuthSessionHostCache: opens the host's copies of Redis sessions, an
 * embedded store of size bytes in anonymous memory, in post_config before
 * the fork (size 0: none); logs it, or why it cannot. */
apr_status_t fedauth_host_cache_open(apr_pool_t *pconf, server_rec *s,
                                     apr_size_t size, int seconds);
/* That store, or NULL. */
fa_store_t *fedauth_host_cache(void);
/* The embedded store when st is it (or the metrics' wrapper of it),
 * else NULL: decided by construction, not by the store's name. */
fa_store_t *fedauth_shm_store_of(const fa_store_t *st);

#endif
