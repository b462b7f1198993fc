/* SPDX-License-Identifier: Apache-2.0 */
/* fa_form.c - a form POST kept across a sign-in; see fa_form.h. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "fa_form.h"
#include "fa_util.h"

#define FORM_TYPE "application/x-www-form-urlencoded"

/* The value of a charset parameter at v (after "charset="): 1 when it
 * is utf-8, quoted or not. */
static int charset_utf8(const char *v)
{
    apr_size_t n;

    if (*v == '"') {
        v++;
        n = strcspn(v, "\"");
        return n == 5 && !strncasecmp(v, "utf-8", 5) && v[5] == '"';
    }
    n = strcspn(v, "; \t");
    return n == 5 && !strncasecmp(v, "utf-8", 5);
}

int fa_form_type_ok(const char *ct)
{
    const char *c;
    apr_size_t n;

    if (!ct || strncasecmp(ct, FORM_TYPE, sizeof(FORM_TYPE) - 1)) {
        return 0;
    }
    c = ct + sizeof(FORM_TYPE) - 1;
    if (*c && *c != ';' && *c != ' ' && *c != '\t') {
        return 0;             /* another type with this one as prefix */
    }
    while (*c) {
        c += strspn(c, "; \t");
        n = strcspn(c, "=;");
        if (n == 7 && !strncasecmp(c, "charset", 7) && c[7] == '='
            && !charset_utf8(c + 8)) {
            return 0;
        }
        c += n;
        if (*c == '=') {
            c++;
            if (*c == '"') {
                c = strchr(c + 1, '"');
                if (!c) {
                    return 0;
                }
                c++;
            }
            c += strcspn(c, ";");
        }
    }
    return 1;
}

/* 1 when s is well-formed UTF-8 (no overlong forms, no surrogates, at
 * most U+10FFFF). */
static int utf8_ok(const unsigned char *s)
{
    unsigned int cp;
    int more, i;

    while (*s) {
        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xE0) == 0xC0 && *s >= 0xC2) {
            more = 1; cp = *s & 0x1F;
        }
        else if ((*s & 0xF0) == 0xE0) {
            more = 2; cp = *s & 0x0F;
        }
        else if ((*s & 0xF8) == 0xF0 && *s <= 0xF4) {
            more = 3; cp = *s & 0x07;
        }
        else {
            return 0;
        }
        for (i = 1; i <= more; i++) {
            if ((s[i] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
            return 0;
        }
        s += more + 1;
    }
    return 1;
}

apr_status_t fa_form_fields(apr_pool_t *p, const char *body, apr_size_t len,
                            int max, apr_array_header_t **out)
{
    apr_array_header_t *a = apr_array_make(p, 8, sizeof(fa_form_field_t));
    const char *end = body + len, *pair = body, *amp, *eq;
    fa_form_field_t *f;
    char *name, *value;

    *out = NULL;
    while (pair < end) {
        amp = memchr(pair, '&', (apr_size_t)(end - pair));
        amp = amp ? amp : end;
        if (amp == pair) {
            pair++;           /* "a=1&&b=2": browsers never send it, but
                               * an empty piece carries nothing */
            continue;
        }
        eq = memchr(pair, '=', (apr_size_t)(amp - pair));
        eq = eq ? eq : amp;
        if (eq == pair || a->nelts >= max
            || fa_url_decode(p, pair, (apr_size_t)(eq - pair), &name)
               != APR_SUCCESS
            || fa_url_decode(p, eq < amp ? eq + 1 : amp,
                             eq < amp ? (apr_size_t)(amp - eq - 1) : 0,
                             &value) != APR_SUCCESS
            || !*name || !utf8_ok((unsigned char *)name)
            || !utf8_ok((unsigned char *)value)) {
            return APR_EINVAL;
        }
        f = apr_array_push(a);
        f->name = name;
        f->value = value;
        pair = amp + 1;
    }
    *out = a;
    return APR_SUCCESS;
}

char *fa_form_digest(apr_pool_t *p, const char *body, apr_size_t len)
{
    unsigned char md[32];
    unsigned int n = 0;

    if (EVP_Digest(body, len, md, &n, EVP_sha256(), NULL) != 1
        || n != sizeof(md)) {
        return NULL;
    }
    return apr_psprintf(p, "%" APR_SIZE_T_FMT ".%s", len,
                        fa_b64url_encode(p, md, sizeof(md)));
}

/* s escaped for a quoted attribute value, appended to b. */
static void put_attr(apr_array_header_t *b, apr_pool_t *p, const char *s)
{
    const char *c = s, *run;
    const char *ref;

    while (*c) {
        run = c;
        c += strcspn(c, "&<>\"'\r\n\t");
        if (c > run) {
            APR_ARRAY_PUSH(b, const char *) =
                apr_pstrmemdup(p, run, (apr_size_t)(c - run));
        }
        if (!*c) {
            break;
        }
        switch (*c) {
        case '&': ref = "&amp;"; break;
        case '<': ref = "&lt;"; break;
        case '>': ref = "&gt;"; break;
        case '"': ref = "&#34;"; break;
        case '\'': ref = "&#39;"; break;
        case '\r': ref = "&#13;"; break;
        case '\n': ref = "&#10;"; break;
        default: ref = "&#9;"; break;
        }
        APR_ARRAY_PUSH(b, const char *) = ref;
        c++;
    }
}

#define PUT(s) (APR_ARRAY_PUSH(b, const char *) = (s))

char *fa_form_page(apr_pool_t *p, const char *action,
                   const apr_array_header_t *fields, const char *nonce)
{
    apr_array_header_t *b = apr_array_make(p, 16 + 8 * fields->nelts,
                                           sizeof(const char *));
    const fa_form_field_t *f;
    int i;

    PUT("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<title>Continuing</title></head>\n<body>\n"
        "<form id=\"fedauth-post\" method=\"post\" "
        "accept-charset=\"UTF-8\" "
        "enctype=\"application/x-www-form-urlencoded\" action=\"");
    put_attr(b, p, action);
    PUT("\">\n");
    for (i = 0; i < fields->nelts; i++) {
        f = &APR_ARRAY_IDX(fields, i, fa_form_field_t);
        PUT("<input type=\"hidden\" name=\"");
        put_attr(b, p, f->name);
        PUT("\" value=\"");
        put_attr(b, p, f->value);
        PUT("\">\n");
    }
    /* A field named "submit" hides the form's own submit(): the one of
     * the prototype is called instead. */
    PUT("<noscript><p>You are signed in. Press the button to send the "
        "form you filled in.</p><button type=\"submit\">Continue</button>"
        "</noscript>\n</form>\n<script nonce=\"");
    put_attr(b, p, nonce);
    PUT("\">HTMLFormElement.prototype.submit.call("
        "document.getElementById(\"fedauth-post\"));</script>\n"
        "</body></html>\n");
    return apr_array_pstrcat(p, b, 0);
}
