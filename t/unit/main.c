/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - runs every unit suite of the core and exits non-zero when any
 * test fails. */
#include <stdlib.h>
#include <apr_general.h>
#include <openssl/crypto.h>
#include "unit.h"

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    /* check's default of 4 s per test is too little for the suites that
     * run 70,000 HMACs or four processes at once under AddressSanitizer on
     * a busy machine; a test that hangs still ends, after a minute. */
    setenv("CK_DEFAULT_TIMEOUT", "60", 0);
    sr = srunner_create(suite_util());
    srunner_add_suite(sr, suite_jose());
    srunner_add_suite(sr, suite_clientkey());
    srunner_add_suite(sr, suite_oidc());
    srunner_add_suite(sr, suite_introspect());
    srunner_add_suite(sr, suite_par());
    srunner_add_suite(sr, suite_form());
    srunner_add_suite(sr, suite_session());
    srunner_add_suite(sr, suite_cache());
    srunner_add_suite(sr, suite_idp());
    srunner_add_suite(sr, suite_redis());
    srunner_add_suite(sr, suite_redis_net());
    srunner_add_suite(sr, suite_redis_pure());
    srunner_add_suite(sr, suite_store_shm());
    srunner_add_suite(sr, suite_metrics());
    srunner_add_suite(sr, suite_registry());
    srunner_add_suite(sr, suite_graph());
    srunner_add_suite(sr, suite_apppass());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
