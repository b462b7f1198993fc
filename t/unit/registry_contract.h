/* SPDX-License-Identifier: Apache-2.0 */
/* registry_contract.h - what every registry backend must do alike, run by
 * the suites of each backend (test_registry.c for the directory,
 * test_redis.c for Redis) against an empty registry. */
#ifndef FA_REGISTRY_CONTRACT_H
#define FA_REGISTRY_CONTRACT_H

#include <apr_pools.h>
#include "fa_registry.h"

/* replace writes only over the value it names; then four threads change
 * one account 25 times each through fa_registry_account_update: all 100
 * changes are in the account at the end (none lost to another's write). */
void registry_contract_update(fa_registry_t *reg, apr_pool_t *p);

#endif
