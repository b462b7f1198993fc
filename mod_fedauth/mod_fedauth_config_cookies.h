/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_cookies.h - what mod_fedauth_config_cookies.c offers: its
 * directive handlers, for the table in mod_fedauth_config_table.c. */
#ifndef MOD_FEDAUTH_CONFIG_COOKIES_H
#define MOD_FEDAUTH_CONFIG_COOKIES_H

#include "mod_fedauth_types.h"

const char *fedauth_set_cookie_samesite(cmd_parms *cmd, void *dummy,
                                        const char *arg, const char *flag);
const char *fedauth_set_login_samesite(cmd_parms *cmd, void *dummy,
                                       const char *arg);
const char *fedauth_set_cookie_domain(cmd_parms *cmd, void *dummy,
                                      const char *arg);
const char *fedauth_set_cookie_path(cmd_parms *cmd, void *dummy,
                                    const char *arg);

#endif
