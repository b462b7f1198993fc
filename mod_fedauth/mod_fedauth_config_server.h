/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_server.h - what mod_fedauth_config_server.c offers: its
 * directive handlers, for the table in mod_fedauth_config_table.c. */
#ifndef MOD_FEDAUTH_CONFIG_SERVER_H
#define MOD_FEDAUTH_CONFIG_SERVER_H

#include "mod_fedauth_types.h"

const char *fedauth_set_store(cmd_parms *cmd, void *dummy, const char *arg);
const char *fedauth_set_secret(cmd_parms *cmd, void *dummy, int argc,
                               char *const argv[]);
const char *fedauth_set_cookie_name(cmd_parms *cmd, void *dummy,
                                    const char *arg);
const char *fedauth_set_srv_int(cmd_parms *cmd, void *dummy, const char *arg);
const char *fedauth_set_redirect_base(cmd_parms *cmd, void *dummy,
                                       const char *arg);
const char *fedauth_set_default_role(cmd_parms *cmd, void *dummy,
                                     const char *arg);
const char *fedauth_set_remember(cmd_parms *cmd, void *dummy,
                                 const char *arg);
const char *fedauth_set_chooser_template(cmd_parms *cmd, void *dummy,
                                         const char *arg);
const char *fedauth_set_attempt_log(cmd_parms *cmd, void *dummy,
                                    const char *arg);
const char *fedauth_set_attempt_stream(cmd_parms *cmd, void *dummy,
                                       const char *arg);
const char *fedauth_set_redis_prefix(cmd_parms *cmd, void *dummy,
                                     const char *arg);
const char *fedauth_set_redis_timeout(cmd_parms *cmd, void *dummy,
                                      const char *arg);
const char *fedauth_set_redis_tls(cmd_parms *cmd, void *dummy, const char *arg);
const char *fedauth_set_local_cache(cmd_parms *cmd, void *dummy,
                                    const char *arg);
const char *fedauth_set_host_cache(cmd_parms *cmd, void *dummy,
                                   const char *arg, const char *secs);
const char *fedauth_set_logout_at_idp(cmd_parms *cmd, void *dummy,
                                      const char *arg);
const char *fedauth_set_registry(cmd_parms *cmd, void *dummy,
                                 const char *arg);
const char *fedauth_set_register(cmd_parms *cmd, void *dummy,
                                 const char *arg);
const char *fedauth_set_registry_dir(cmd_parms *cmd, void *dummy,
                                     const char *arg);
const char *fedauth_set_token_login(cmd_parms *cmd, void *dummy,
                                    const char *arg);
const char *fedauth_set_metrics(cmd_parms *cmd, void *dummy, const char *arg);
const char *fedauth_set_status(cmd_parms *cmd, void *dummy, const char *arg);
const char *fedauth_set_allowed_origin(cmd_parms *cmd, void *dummy,
                                       const char *arg);
const char *fedauth_set_refresh_before(cmd_parms *cmd, void *dummy,
                                       const char *arg);
const char *fedauth_set_refresh_failure(cmd_parms *cmd, void *dummy,
                                        const char *arg);
const char *fedauth_set_introspection_cache(cmd_parms *cmd, void *dummy,
                                            const char *arg);
const char *fedauth_set_basic_cache(cmd_parms *cmd, void *dummy,
                                    const char *arg);
const char *fedauth_set_basic_limit(cmd_parms *cmd, void *dummy,
                                    const char *account, const char *client,
                                    const char *window);
const char *fedauth_set_outgoing_proxy(cmd_parms *cmd, void *dummy,
                                       const char *arg);
const char *fedauth_set_outgoing_noproxy(cmd_parms *cmd, void *dummy,
                                         const char *arg);

#endif
