/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_check.h - what mod_fedauth_config_check.c offers:
 * the checks that span several directives. */
#ifndef MOD_FEDAUTH_CONFIG_CHECK_H
#define MOD_FEDAUTH_CONFIG_CHECK_H

#include "mod_fedauth_types.h"

/* Checks what only the whole configuration can tell; NULL when fine. */
const char *fedauth_config_check(apr_pool_t *p, server_rec *s);

#endif
