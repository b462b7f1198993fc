/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_endpoint_login.c - /fedauth/login and the chooser page:
 * a login at the provider the query names, else at the remembered or the
 * only one, else a page of buttons, one per provider offered (the
 * built-in page, or FedAuthChooserTemplate with its placeholders). The
 * login itself starts in mod_fedauth_signin.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "mod_fedauth_endpoint_login.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_helpers.h"
#include "mod_fedauth_signin.h"
#include "fa_oidc.h"

APLOG_USE_MODULE(fedauth);

#define MAX_HINT 256

/* ---- the chooser ----------------------------------------------------- */

/* Text on a colour: black or white, whichever contrasts more (WCAG). */
static const char *text_on(const char *hex)
{
    unsigned int v[3];
    double c[3], lum;
    int i;

    if (strlen(hex) == 4) {
        for (i = 0; i < 3; i++) {
            sscanf(hex + 1 + i, "%1x", &v[i]);
            v[i] *= 17;
        }
    }
    else {
        sscanf(hex + 1, "%2x%2x%2x", &v[0], &v[1], &v[2]);
    }
    for (i = 0; i < 3; i++) {
        c[i] = v[i] / 255.0;
        c[i] = c[i] <= 0.03928 ? c[i] / 12.92
                               : pow((c[i] + 0.055) / 1.055, 2.4);
    }
    lum = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    return (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) ? "#fff" : "#000";
}

static const char *chooser_form(request_rec *r, const fedauth_srv_t *sc,
                                const apr_array_header_t *list,
                                const char *return_to, const char *only,
                                const apr_table_t *hints)
{
    apr_pool_t *p = r->pool;
    const char *html, *style;
    fedauth_provider_t *prov;
    int i;

    html = apr_pstrcat(p, "<form method=\"get\" action=\"/fedauth/login\" "
        "class=\"fedauth-chooser\">\n<input type=\"hidden\" "
        "name=\"return_to\" value=\"", fa_html_escape(p, return_to), "\">\n",
        only ? apr_pstrcat(p, "<input type=\"hidden\" name=\"idps\" value=\"",
                           fa_html_escape(p, only), "\">\n", NULL) : "",
        NULL);
    /* login_hint / domain_hint go on to the provider chosen. */
    for (i = 0; hints && i < 2; i++) {
        const char *name = i ? "domain_hint" : "login_hint";
        const char *v = apr_table_get(hints, name);
        if (v) {
            html = apr_pstrcat(p, html, "<input type=\"hidden\" name=\"",
                               name, "\" value=\"", fa_html_escape(p, v),
                               "\">\n", NULL);
        }
    }
    html = apr_pstrcat(p, html, "<ul class=\"fedauth-providers\">\n", NULL);
    for (i = 0; i < list->nelts; i++) {
        prov = APR_ARRAY_IDX(list, i, fedauth_provider_t *);
        style = prov->accent
                ? apr_pstrcat(p, " style=\"background:", prov->accent,
                              ";border-color:", prov->accent, ";color:",
                              text_on(prov->accent), "\"", NULL) : "";
        html = apr_pstrcat(p, html, "<li><button type=\"submit\" name=\"idp\" "
            "value=\"", prov->idp.id, "\" id=\"fedauth-idp-", prov->idp.id,
            "\" class=\"fedauth-button\"", style, ">",
            prov->icon ? apr_pstrcat(p, "<img src=\"",
                                     fa_html_escape(p, prov->icon),
                                     "\" alt=\"\" width=\"24\" "
                                     "height=\"24\">", NULL) : "",
            "<span>Continue with ",
            fa_html_escape(p, prov->idp.display_name),
            "</span></button></li>\n", NULL);
    }
    return apr_pstrcat(p, html, "</ul>\n", fedauth_remember_choice(sc)
        ? "<label class=\"fedauth-remember\"><input type=\"checkbox\" "
          "name=\"remember\" value=\"1\"> Remember my choice on this "
          "device</label>\n" : "", "</form>\n", NULL);
}

static const char BUILTIN_CHOOSER[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, "
    "initial-scale=1\">\n<title>{{title}}</title>\n<style>\n"
    "body{margin:0;background:#f3f4f6;color:#111827;font-family:system-ui,"
    "-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,"
    "sans-serif;line-height:1.5}\n"
    "main{box-sizing:border-box;max-width:26rem;margin:12vh auto;"
    "padding:2rem;background:#fff;border-radius:12px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.15)}\n"
    "h1{font-size:1.5rem;margin:0 0 1.5rem}\n"
    ".fedauth-providers{list-style:none;margin:0;padding:0}\n"
    ".fedauth-providers li{margin:0 0 .75rem}\n"
    ".fedauth-button{display:flex;align-items:center;gap:.75rem;"
    "box-sizing:border-box;width:100%;min-height:3rem;padding:.75rem 1rem;"
    "font:inherit;font-weight:600;text-align:left;cursor:pointer;"
    "color:#111827;background:#fff;border:1px solid #6b7280;"
    "border-radius:8px}\n"
    ".fedauth-button:hover{filter:brightness(.93)}\n"
    ".fedauth-button:focus-visible{outline:3px solid #1d4ed8;"
    "outline-offset:2px}\n"
    ".fedauth-button img{flex:none}\n"
    ".fedauth-remember{display:flex;gap:.5rem;align-items:center;"
    "margin-top:1.25rem}\n"
    "@media (max-width:30rem){main{margin:0;min-height:100vh;"
    "border-radius:0;box-shadow:none}}\n"
    "</style></head>\n<body><main>\n<h1>{{title}}</h1>\n{{buttons}}"
    "</main></body></html>\n";

/* Fills the placeholders {{title}}, {{buttons}} and {{return_to}}; any
 * other {{...}} stays as it is. */
static const char *fill_template(apr_pool_t *p, const char *tmpl,
                                 const char *buttons, const char *return_to)
{
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(const char *));
    const char *c = tmpl, *open, *value;

    while ((open = strstr(c, "{{")) != NULL) {
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrmemdup(p, c, (apr_size_t)(open - c));
        if (!strncmp(open, "{{title}}", 9)) {
            value = "Sign in";
            c = open + 9;
        }
        else if (!strncmp(open, "{{buttons}}", 11)) {
            value = buttons;
            c = open + 11;
        }
        else if (!strncmp(open, "{{return_to}}", 13)) {
            value = fa_html_escape(p, return_to);
            c = open + 13;
        }
        else {
            value = "{{";
            c = open + 2;
        }
        APR_ARRAY_PUSH(out, const char *) = value;
    }
    APR_ARRAY_PUSH(out, const char *) = c;
    return apr_array_pstrcat(p, out, '\0');
}

static int send_chooser(request_rec *r, const fedauth_srv_t *sc,
                        const apr_array_header_t *list,
                        const char *return_to, const char *only,
                        const apr_table_t *hints)
{
    const char *buttons = chooser_form(r, sc, list, return_to, only, hints);

    ap_set_content_type(r, "text/html; charset=utf-8");
    fedauth_no_store(r);
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "frame-ancestors 'none'");
    ap_rputs(fill_template(r->pool, sc->chooser_template
                           ? sc->chooser_template : BUILTIN_CHOOSER,
                           buttons, return_to), r);
    return OK;
}

/* ---- /fedauth/login -------------------------------------------------- */

static int hint_ok(const char *v)
{
    const char *c;

    if (!v || !*v || strlen(v) > MAX_HINT) {
        return 0;
    }
    for (c = v; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int fedauth_handle_login(request_rec *r, fedauth_srv_t *sc)
{
    apr_table_t *q = NULL, *hints = apr_table_make(r->pool, 2);
    const char *idp, *return_to, *only, *v;
    apr_array_header_t *list;
    fedauth_provider_t *prov;
    fa_err_t err;

    if (r->args && fa_form_parse(r->pool, r->args, strlen(r->args),
                                 FEDAUTH_MAX_PARAMS, &q) != APR_SUCCESS) {
        return fedauth_error(r, HTTP_BAD_REQUEST, "invalid_request",
                             "The address is malformed.");
    }
    if (!q) {
        q = apr_table_make(r->pool, 1);
    }
    idp = apr_table_get(q, "idp");
    only = apr_table_get(q, "idps");
    return_to = fedauth_return_to_or_root(r, apr_table_get(q, "return_to"));
    if (hint_ok(v = apr_table_get(q, "login_hint"))) {
        apr_table_setn(hints, "login_hint", v);
    }
    if (hint_ok(v = apr_table_get(q, "domain_hint"))) {
        apr_table_setn(hints, "domain_hint", v);
    }
    if (idp) {
        prov = fedauth_provider_find(sc, idp);
        if (!prov || !prov->enabled) {
            fa_err_set(&err, "unknown_provider", "no enabled provider %s",
                       fa_oidc_loggable(r->pool, idp, 40));
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FALOGNO(00204)
                          "login refused: %s", err.desc);
            return fedauth_error(r, HTTP_NOT_FOUND, err.code,
                                 "There is no such identity provider.");
        }
        if (fedauth_remember_choice(sc)
            && (v = apr_table_get(q, "remember")) && !strcmp(v, "1")) {
            fedauth_remember_set(r, sc, prov);
        }
        return fedauth_start_login(r, prov, return_to, hints);
    }
    list = fedauth_providers_for(r, sc, only);
    prov = NULL;
    if ((v = apr_table_get(q, "choose")) && !strcmp(v, "1")) {
        fedauth_remember_clear(r, sc);
    }
    else {
        prov = fedauth_remembered(r, sc, list);
    }
    if (!prov && list->nelts == 1) {
        prov = APR_ARRAY_IDX(list, 0, fedauth_provider_t *);
    }
    if (prov) {
        return fedauth_start_login(r, prov, return_to, hints);
    }
    if (list->nelts == 0) {
        return fedauth_error(r, HTTP_NOT_FOUND, "no_provider",
                             "No identity provider is available here.");
    }
    return send_chooser(r, sc, list, return_to, only, hints);
}
