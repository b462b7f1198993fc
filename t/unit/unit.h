/* SPDX-License-Identifier: Apache-2.0 */
/* unit.h - the unit test suites of the core (libcheck). Each test file
 * defines one suite; main.c runs them all. */
#ifndef FA_UNIT_H
#define FA_UNIT_H

#include <check.h>

Suite *suite_util(void);
Suite *suite_jose(void);
Suite *suite_clientkey(void);
Suite *suite_oidc(void);
Suite *suite_introspect(void);
Suite *suite_par(void);
Suite *suite_form(void);
Suite *suite_session(void);
Suite *suite_idp(void);
Suite *suite_redis(void);
Suite *suite_redis_net(void);
Suite *suite_redis_pure(void);
Suite *suite_cache(void);
Suite *suite_store_shm(void);
Suite *suite_metrics(void);
Suite *suite_registry(void);
Suite *suite_graph(void);
Suite *suite_apppass(void);

#endif
