/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_location.h - what mod_fedauth_config_location.c
 * offers: its directive handlers, for the table in
 * mod_fedauth_config_table.c. */
#ifndef MOD_FEDAUTH_CONFIG_LOCATION_H
#define MOD_FEDAUTH_CONFIG_LOCATION_H

#include "mod_fedauth_types.h"

const char *fedauth_set_providers(cmd_parms *cmd, void *dcv, const char *arg);
const char *fedauth_set_unauth(cmd_parms *cmd, void *dcv, const char *arg);
const char *fedauth_set_bearer(cmd_parms *cmd, void *dcv, const char *arg);
const char *fedauth_set_bearer_audience(cmd_parms *cmd, void *dcv,
                                        const char *arg);
const char *fedauth_set_pass_token(cmd_parms *cmd, void *dcv,
                                   const char *arg);
const char *fedauth_set_preserve_post(cmd_parms *cmd, void *dcv,
                                      const char *arg);
const char *fedauth_set_preserve_post_max(cmd_parms *cmd, void *dcv,
                                          const char *arg);
const char *fedauth_set_basic(cmd_parms *cmd, void *dcv, const char *arg);
const char *fedauth_set_pass_as(cmd_parms *cmd, void *dcv, const char *arg);

#endif
