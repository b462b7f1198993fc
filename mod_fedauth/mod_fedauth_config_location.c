/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_location.c - the handlers of the directives of a
 * location (<Location>, <Directory>, .htaccess where AuthConfig is
 * allowed): which providers it offers, what an unauthenticated request
 * gets, bearer tokens, how claims are passed, keeping a POST across
 * sign-in, and app passwords. Stored unset-or-set, never defaulted here
 * (the defaults are mod_fedauth_config.h's). */
#include <string.h>
#include <stdlib.h>
#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include "mod_fedauth_config_location.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_config_parse.h"

const char *fedauth_set_providers(cmd_parms *cmd, void *dcv, const char *arg)
{
    fedauth_dir_t *dc = dcv;
    if (!fedauth_valid_id(arg)) {
        return fedauth_cmd_err(cmd, "expects provider ids (a-z 0-9 _ -)");
    }
    if (!dc->providers) {
        dc->providers = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(dc->providers, const char *) = arg;
    return fedauth_provider_ref(cmd, "FedAuthProviders", arg);
}

const char *fedauth_set_unauth(cmd_parms *cmd, void *dcv, const char *arg)
{
    fedauth_dir_t *dc = dcv;

    if (!strcasecmp(arg, "redirect")) {
        dc->unauth = FEDAUTH_UNAUTH_REDIRECT;
    }
    else if (!strcmp(arg, "401")) {
        dc->unauth = FEDAUTH_UNAUTH_401;
    }
    else if (!strcasecmp(arg, "pass")) {
        dc->unauth = FEDAUTH_UNAUTH_PASS;
    }
    else if (!strcasecmp(arg, "auto")) {
        dc->unauth = FEDAUTH_UNAUTH_AUTO;
    }
    else {
        return fedauth_cmd_err(cmd, "expects redirect, 401, pass or auto");
    }
    return NULL;
}

const char *fedauth_set_bearer(cmd_parms *cmd, void *dcv, const char *arg)
{
    int *v = &((fedauth_dir_t *)dcv)->bearer;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

const char *fedauth_set_bearer_audience(cmd_parms *cmd, void *dcv,
                                        const char *arg)
{
    if (!fedauth_printable(arg, 512) || strpbrk(arg, " \t")) {
        return fedauth_cmd_err(cmd, "expects one audience value");
    }
    ((fedauth_dir_t *)dcv)->bearer_audience = arg;
    return NULL;
}

const char *fedauth_set_pass_token(cmd_parms *cmd, void *dcv,
                                   const char *arg)
{
    fedauth_dir_t *dc = dcv;
    const char *err = fedauth_parse_flag(arg, &dc->pass_token);

    if (!err && dc->pass_token == 1) {
        fedauth_pass_token_seen();
    }
    return fedauth_cmd_err(cmd, err);
}

/* ---- keeping a POST across sign-in ---------------------------------- */

const char *fedauth_set_preserve_post(cmd_parms *cmd, void *dcv,
                                      const char *arg)
{
    int *v = &((fedauth_dir_t *)dcv)->preserve_post;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

const char *fedauth_set_preserve_post_max(cmd_parms *cmd, void *dcv,
                                          const char *arg)
{
    return fedauth_cmd_err(cmd, fedauth_parse_int(cmd->pool, arg,
                                 FEDAUTH_PRESERVE_POST_MIN_LIMIT,
                                 FEDAUTH_PRESERVE_POST_MAX_LIMIT,
                                 &((fedauth_dir_t *)dcv)->preserve_post_max));
}

/* App passwords: FedAuthBasic On|Off (FedAuthBasicCache and
 * FedAuthBasicLimit are the server's: mod_fedauth_config_server.c). */
const char *fedauth_set_basic(cmd_parms *cmd, void *dcv, const char *arg)
{
    int *v = &((fedauth_dir_t *)dcv)->basic;

    return fedauth_cmd_err(cmd, fedauth_parse_flag(arg, v));
}

const char *fedauth_set_pass_as(cmd_parms *cmd, void *dcv, const char *arg)
{
    fedauth_dir_t *dc = dcv;
    int bits = dc->pass_as == FEDAUTH_UNSET ? 0 : dc->pass_as;

    if (!strcasecmp(arg, "headers")) {
        bits |= FEDAUTH_PASS_HEADERS;
    }
    else if (!strcasecmp(arg, "env")) {
        bits |= FEDAUTH_PASS_ENV;
    }
    else if (!strcasecmp(arg, "both")) {
        bits |= FEDAUTH_PASS_HEADERS | FEDAUTH_PASS_ENV;
    }
    else if (!strcasecmp(arg, "none")) {
        bits = 0;
    }
    else {
        return fedauth_cmd_err(cmd, "expects headers, env, both or none");
    }
    dc->pass_as = bits;
    return NULL;
}

