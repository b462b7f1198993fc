/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_parse.h - what mod_fedauth_config_parse.c offers to
 * the directive handlers: pure parsers (NULL or what is wrong) and the
 * helpers every handler uses. */
#ifndef MOD_FEDAUTH_CONFIG_PARSE_H
#define MOD_FEDAUTH_CONFIG_PARSE_H

#include "mod_fedauth_types.h"

/* The record of the server whose configuration is being read. */
fedauth_srv_t *fedauth_cmd_srv(cmd_parms *cmd);
/* err prefixed with the directive's name; NULL when err is NULL. */
const char *fedauth_cmd_err(cmd_parms *cmd, const char *err);
/* "file:line" of the line being read. */
const char *fedauth_cmd_at(cmd_parms *cmd);

/* A whole number from min to max into *out. */
const char *fedauth_parse_int(apr_pool_t *p, const char *arg, int min,
                              int max, int *out);
/* On or Off (any case) into *out as 1 or 0. */
const char *fedauth_parse_flag(const char *arg, int *out);
/* An absolute URL the module may call or send browsers to: https, or
 * http to a loopback host; no fragment. */
const char *fedauth_parse_url(apr_pool_t *p, const char *arg);
/* The first line of a file (a secret), without its line end, into *out. */
const char *fedauth_read_secret(apr_pool_t *p, const char *path,
                                const char **out);
/* 1 to max bytes, none of them a control character. */
int fedauth_printable(const char *s, apr_size_t max);
/* A provider id: 1 to 32 of a-z 0-9 _ -. */
int fedauth_valid_id(const char *id);
/* A claim name: printable, at most 128 bytes, no space or quote. */
int fedauth_valid_claim(const char *s);
/* An attribute name: A-Z 0-9 _, at most 64, not one of the module's own. */
int fedauth_valid_attr(const char *s);
/* A role name: printable, at most 128 bytes, no comma or space. */
int fedauth_valid_role(const char *s);
/* A client authentication method by its OAuth name (TokenEndpointAuth). */
const char *fedauth_parse_token_auth(const char *w, fa_token_auth_t *out);
/* A URL for an <img src>: a local path or https (Icon). */
const char *fedauth_parse_icon(const char *arg);
/* #rgb or #rrggbb (AccentColor). */
const char *fedauth_parse_color(const char *arg);
/* One or more of login, consent, select_account, none (Prompt). */
const char *fedauth_parse_prompt(apr_pool_t *p, const char *arg);

#endif
