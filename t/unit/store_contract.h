/* SPDX-License-Identifier: Apache-2.0 */
/* store_contract.h - what every session store must do alike, run by the
 * suites of each backend (test_store_shm.c, test_redis.c) against a fresh,
 * empty store. */
#ifndef FA_STORE_CONTRACT_H
#define FA_STORE_CONTRACT_H

#include <apr_pools.h>
#include "fa_store.h"

/* get, put (binary values), take once, del, and the indexes: order,
 * re-adding, members whose key is gone, the bound and what it ends. */
void store_contract(fa_store_t *st, apr_pool_t *p);
/* add: a value only where none is, then APR_EEXIST until it is deleted or
 * has expired (this waits about two seconds for the expiry); del_if
 * deletes only the value it names. */
void store_contract_add(fa_store_t *st, apr_pool_t *p);

#endif
