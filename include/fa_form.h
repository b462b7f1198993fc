/* SPDX-License-Identifier: Apache-2.0 */
/* fa_form.h - a form POST kept across a sign-in (FedAuthPreservePost):
 * which bodies qualify, their fields in order, the digest the login
 * state keeps of one, and the page that posts it again after the
 * sign-in. Part of the httpd-free core. */
#ifndef FA_FORM_H
#define FA_FORM_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Most fields a kept body may have. */
#define FA_FORM_FIELDS_MAX 1000

typedef struct fa_form_field_t {
    const char *name;             /* decoded, UTF-8, not empty */
    const char *value;            /* decoded, UTF-8 */
} fa_form_field_t;

/* 1 when a Content-Type is application/x-www-form-urlencoded with no
 * charset parameter or charset=utf-8 (any case, optional quotes): the
 * only bodies kept. Other parameters are allowed. */
int fa_form_type_ok(const char *content_type);

/* The fields of a form body in order, names that appear twice kept
 * twice: an array of fa_form_field_t. APR_EINVAL when a field has no
 * name, a bad %-escape or an escaped NUL, when a name or value is not
 * UTF-8, or when there are more than max fields: such a body is not
 * kept, since its post again would not send the same bytes. An empty
 * body has no fields. */
apr_status_t fa_form_fields(apr_pool_t *p, const char *body, apr_size_t len,
                            int max, apr_array_header_t **out);

/* What a login state keeps of a body: "<len>.<base64url SHA-256>". */
char *fa_form_digest(apr_pool_t *p, const char *body, apr_size_t len);

/* The page that posts fields again to action (an absolute URL of the
 * site): a form, method POST, one hidden input per field in order, a
 * button inside <noscript>, and one script, with nonce, that submits
 * it. Every name, value and the action are escaped for a quoted
 * attribute (& < > " ' and CR, LF, TAB as character references, so
 * that the parser keeps them as they are). */
char *fa_form_page(apr_pool_t *p, const char *action,
                   const apr_array_header_t *fields, const char *nonce);

#endif
