/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_cookies.c - the handlers of the cookie directives
 * (FedAuthCookieSameSite, FedAuthLoginCookieSameSite, FedAuthCookieDomain,
 * FedAuthCookiePath): each value with the "file:line" it was set at, for
 * the checks at start (mod_fedauth_config_check.c). */
#include <string.h>
#include <stdlib.h>
#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include "mod_fedauth_config_cookies.h"
#include "mod_fedauth_config_parse.h"

const char *fedauth_set_cookie_samesite(cmd_parms *cmd, void *dummy,
                                        const char *arg, const char *flag)
{
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);

    if (!strcasecmp(arg, "Lax")) {
        sc->cookie_samesite = FEDAUTH_SAMESITE_LAX;
    }
    else if (!strcasecmp(arg, "Strict")) {
        sc->cookie_samesite = FEDAUTH_SAMESITE_STRICT;
    }
    else if (!strcasecmp(arg, "None")) {
        sc->cookie_samesite = FEDAUTH_SAMESITE_NONE;
    }
    else {
        return fedauth_cmd_err(cmd,
                               "expects Lax, Strict or None [Partitioned]");
    }
    sc->cookie_partitioned = 0;
    if (flag && strcasecmp(flag, "Partitioned")) {
        return fedauth_cmd_err(cmd, "expects Partitioned as its second word");
    }
    if (flag && sc->cookie_samesite != FEDAUTH_SAMESITE_NONE) {
        return fedauth_cmd_err(cmd, "Partitioned needs None: browsers keep a "
                      "partitioned cookie only with SameSite=None");
    }
    sc->cookie_partitioned = flag != NULL;
    sc->cookie_samesite_at = fedauth_cmd_at(cmd);
    return NULL;
}

const char *fedauth_set_login_samesite(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);

    if (!strcasecmp(arg, "Auto")) {
        sc->login_samesite = FEDAUTH_LOGIN_SAMESITE_AUTO;
    }
    else if (!strcasecmp(arg, "Lax")) {
        sc->login_samesite = FEDAUTH_SAMESITE_LAX;
    }
    else if (!strcasecmp(arg, "None")) {
        sc->login_samesite = FEDAUTH_SAMESITE_NONE;
    }
    else {
        return fedauth_cmd_err(cmd, "expects Auto, Lax or None (Strict "
                                    "would never come back from the "
                                    "identity provider)");
    }
    sc->login_samesite_at = fedauth_cmd_at(cmd);
    return NULL;
}

/* A cookie domain: two or more labels of a-z 0-9 -, the last not all
 * digits (an address), no empty label; a leading dot is dropped. */
static const char *parse_cookie_domain(const char *d)
{
    const char *c, *label = d;
    int labels = 1, digits_only = 1;

    if (*d == '.') {
        label = ++d;
    }
    if (!*d || strlen(d) > 253) {
        return "expects a domain such as .example.com";
    }
    for (c = d; ; c++) {
        if (*c == '.' || !*c) {
            if (c == label || c - label > 63 || *label == '-'
                || c[-1] == '-') {
                return "expects a domain of labels a-z 0-9 - (no empty "
                       "label, none starting or ending with -)";
            }
            if (!*c) {
                break;
            }
            labels++;
            label = c + 1;
            digits_only = 1;
        }
        else if (apr_isdigit(*c)) {
        }
        else if (apr_isalpha(*c) || *c == '-') {
            digits_only = 0;
        }
        else {
            return "expects a domain of a-z 0-9 - and dots (no ';', ',', "
                   "space, port or address)";
        }
    }
    if (digits_only) {
        return "expects a domain name, not an IP address (a cookie for an "
               "address is host-only: leave FedAuthCookieDomain out)";
    }
    if (labels < 2) {
        return "expects a domain under a top-level domain (.example.com), "
               "not a bare top-level domain";
    }
    return NULL;
}

const char *fedauth_set_cookie_domain(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);
    const char *err = parse_cookie_domain(arg);

    if (err) {
        return fedauth_cmd_err(cmd, err);
    }
    sc->cookie_domain = apr_pstrdup(cmd->pool, arg + (*arg == '.'));
    ap_str_tolower((char *)sc->cookie_domain);
    sc->cookie_domain_at = fedauth_cmd_at(cmd);
    return NULL;
}

const char *fedauth_set_cookie_path(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    fedauth_srv_t *sc = fedauth_cmd_srv(cmd);
    apr_size_t len = strlen(arg);
    const char *c;

    if (*arg != '/' || len > 200) {
        return fedauth_cmd_err(cmd, "expects a URL path of at most 200 "
                                    "characters starting with /");
    }
    for (c = arg; *c; c++) {
        if (*c <= ' ' || *c >= 0x7f || *c == ';' || *c == ','
            || *c == '?' || *c == '#' || *c == '"' || *c == '\\') {
            return fedauth_cmd_err(cmd, "expects a URL path without spaces, "
                                        "controls, ; , ? # \" or \\");
        }
    }
    while (len > 1 && arg[len - 1] == '/') {
        len--;
    }
    sc->cookie_path = apr_pstrmemdup(cmd->pool, arg, len);
    sc->cookie_path_at = fedauth_cmd_at(cmd);
    return NULL;
}

