/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_table.h - what mod_fedauth_config_table.c offers:
 * the directive table of the module record. */
#ifndef MOD_FEDAUTH_CONFIG_TABLE_H
#define MOD_FEDAUTH_CONFIG_TABLE_H

#include "mod_fedauth_types.h"

extern const command_rec fedauth_cmds[];

#endif
