/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_provider.h - what mod_fedauth_config_provider.c
 * offers: the handler of <FedAuthProvider id> ... </FedAuthProvider>,
 * which reads the block's sub-directives through its own table. */
#ifndef MOD_FEDAUTH_CONFIG_PROVIDER_H
#define MOD_FEDAUTH_CONFIG_PROVIDER_H

#include "mod_fedauth_types.h"

const char *fedauth_provider_section(cmd_parms *cmd, void *dummy,
                                     const char *arg);

#endif
