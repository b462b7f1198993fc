/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_parse.c - the pure parsers that the directive
 * handlers of mod_fedauth_config_*.c share (numbers, flags, URLs, names,
 * a secret's file), and the three helpers every handler uses: its
 * server's record, its error prefixed with the directive's name, and the
 * "file:line" of the line being read. A parser takes a string and returns
 * NULL or what is wrong, without the directive's name. */
#include <string.h>
#include <stdlib.h>
#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_file_io.h"
#include "apr_uri.h"

#include "mod_fedauth_config_parse.h"

fedauth_srv_t *fedauth_cmd_srv(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &fedauth_module);
}

const char *fedauth_cmd_err(cmd_parms *cmd, const char *err)
{
    return err ? apr_pstrcat(cmd->pool, cmd->cmd->name, " ", err, NULL)
               : NULL;
}

const char *fedauth_cmd_at(cmd_parms *cmd)
{
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                        cmd->directive->line_num);
}

const char *fedauth_parse_int(apr_pool_t *p, const char *arg, int min,
                              int max, int *out)
{
    char *end;
    long v;

    if (!*arg) {
        return "expects a number";
    }
    v = strtol(arg, &end, 10);
    if (*end || v < min || v > max) {
        return apr_psprintf(p, "expects a whole number from %d to %d", min,
                            max);
    }
    *out = (int)v;
    return NULL;
}

int fedauth_valid_id(const char *id)
{
    const char *c;

    if (!*id || strlen(id) > 32) {
        return 0;
    }
    for (c = id; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')
              || *c == '_' || *c == '-')) {
            return 0;
        }
    }
    return 1;
}

int fedauth_printable(const char *s, apr_size_t max)
{
    apr_size_t n = 0;

    for (; *s; s++, n++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f || n >= max) {
            return 0;
        }
    }
    return n > 0;
}

int fedauth_valid_claim(const char *s)
{
    return fedauth_printable(s, 128) && !strpbrk(s, " \t\"'");
}

/* An absolute URL the module may call or send browsers to: https, or
 * http to a loopback host; no fragment. */
const char *fedauth_parse_url(apr_pool_t *p, const char *arg)
{
    apr_uri_t uri;

    if (apr_uri_parse(p, arg, &uri) != APR_SUCCESS
        || !uri.scheme || !uri.hostname || uri.fragment) {
        return "expects an absolute URL such as https://idp.example.com";
    }
    if (!fa_url_is_secure_enough(arg)) {
        return "must be an https URL (http only to 127.0.0.1, ::1 or "
               "localhost), without a user name or password";
    }
    return NULL;
}

const char *fedauth_read_secret(apr_pool_t *p, const char *path,
                                const char **out)
{
    apr_file_t *f;
    char buf[4097];
    apr_size_t n = sizeof(buf) - 1;
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot read %s", path);
    }
    rv = apr_file_read(f, buf, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(p, "cannot read %s", path);
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    *out = apr_pstrmemdup(p, buf, n);
    return NULL;
}

const char *fedauth_parse_flag(const char *arg, int *out)
{
    if (!strcasecmp(arg, "On")) {
        *out = 1;
    }
    else if (!strcasecmp(arg, "Off")) {
        *out = 0;
    }
    else {
        return "expects On or Off";
    }
    return NULL;
}

int fedauth_valid_attr(const char *s)
{
    const char *c;

    if (!*s || strlen(s) > 64) {
        return 0;
    }
    /* FEDAUTH_USER must be the user, never a claim */
    if (fa_attr_name_reserved(s)) {
        return 0;
    }
    for (c = s; *c; c++) {
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
              || *c == '_')) {
            return 0;
        }
    }
    return 1;
}

int fedauth_valid_role(const char *s)
{
    return fedauth_printable(s, 128) && !strpbrk(s, ", \t");
}


/* TokenEndpointAuth: a method by its OAuth name. */
const char *fedauth_parse_token_auth(const char *w,
                                     fa_token_auth_t *out)
{
    static const fa_token_auth_t methods[] = {
        FA_TOKEN_AUTH_BASIC, FA_TOKEN_AUTH_POST, FA_TOKEN_AUTH_SECRET_JWT,
        FA_TOKEN_AUTH_PRIVATE_KEY_JWT, FA_TOKEN_AUTH_NONE
    };
    apr_size_t i;

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (!strcmp(w, fa_oidc_token_auth_name(methods[i]))) {
            *out = methods[i];
            return NULL;
        }
    }
    return "expects client_secret_basic, client_secret_post, "
           "client_secret_jwt, private_key_jwt or none";
}

/* A URL for an <img src>: a local path or https, nothing that could leave
 * the attribute. */
const char *fedauth_parse_icon(const char *arg)
{
    const char *c;

    if (strlen(arg) > 512 || (arg[0] != '/' && strncmp(arg, "https://", 8))
        || !strncmp(arg, "//", 2)) {
        return "expects a path such as /icons/corp.svg or an https URL";
    }
    for (c = arg; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr("\"'<>\\`", *c)) {
            return "expects a URL without spaces, quotes or angle brackets";
        }
    }
    return NULL;
}

const char *fedauth_parse_color(const char *arg)
{
    apr_size_t len = strlen(arg), i;

    if (arg[0] != '#' || (len != 4 && len != 7)) {
        return "expects a colour as #rgb or #rrggbb";
    }
    for (i = 1; i < len; i++) {
        if (!apr_isxdigit(arg[i])) {
            return "expects a colour as #rgb or #rrggbb";
        }
    }
    return NULL;
}

const char *fedauth_parse_prompt(apr_pool_t *p, const char *arg)
{
    static const char *const allowed[] = { "login", "consent",
                                           "select_account", "none", NULL };
    char *copy = apr_pstrdup(p, arg), *tok, *last;
    int i, seen = 0, n = 0;

    for (tok = apr_strtok(copy, " ", &last); tok;
         tok = apr_strtok(NULL, " ", &last), n++) {
        for (i = 0; allowed[i] && strcmp(allowed[i], tok); i++) {
        }
        if (!allowed[i] || (seen & (1 << i))) {
            return "expects one or more of login, consent, select_account, "
                   "none";
        }
        seen |= 1 << i;
    }
    if (n == 0 || ((seen & 8) && n > 1)) {
        return "expects one or more of login, consent, select_account, "
               "none (none only alone)";
    }
    return NULL;
}
