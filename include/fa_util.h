/* SPDX-License-Identifier: Apache-2.0 */
/* fa_util.h - small helpers of the core: errors, encodings, randomness,
 * constant-time comparison, escaping and the return_to rule.
 * Part of the httpd-free core: never include httpd headers here. */
#ifndef FA_UTIL_H
#define FA_UTIL_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/* An error as the core reports it: a stable code (it becomes FEDAUTH_ERROR,
 * e.g. "invalid_signature") and a one-line description for the log.
 * Neither ever contains a secret or a whole token. */
typedef struct fa_err_t {
    const char *code;
    char desc[256];
} fa_err_t;

/* Sets err (when not NULL) and returns APR_EGENERAL, so that a failing
 * check can read: return fa_err_set(err, "wrong_iss", "iss is %s", v); */
apr_status_t fa_err_set(fa_err_t *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* base64url without padding (RFC 7515 section 2). */
char *fa_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len);
/* Decodes base64url; padding and characters outside the alphabet are
 * refused. *out is NUL-terminated (not counted in *outlen). */
apr_status_t fa_b64url_decode(apr_pool_t *p, const char *in, apr_size_t inlen,
                              unsigned char **out, apr_size_t *outlen);
/* The same into a caller's buffer of cap bytes (no allocation). */
apr_status_t fa_b64url_decode_buf(const char *in, apr_size_t inlen,
                                  unsigned char *out, apr_size_t cap,
                                  apr_size_t *outlen);
/* Standard base64 with padding, for HTTP Basic credentials. */
char *fa_b64_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len);

/* An OpenSSL passphrase callback (pem_password_cb) that gives none:
 * encrypted keys are refused at once, never asked for on a terminal
 * where no one is at start. */
int fa_no_passphrase(char *buf, int size, int rwflag, void *u);

/* Bytes from the OS CSPRNG (OpenSSL RAND_bytes, seeded by getrandom). */
apr_status_t fa_random(unsigned char *buf, apr_size_t len);
/* len random bytes, base64url-encoded. */
char *fa_random_token(apr_pool_t *p, apr_size_t len);

/* 1 when equal; the time taken depends only on len. */
int fa_ct_equal(const void *a, const void *b, apr_size_t len);
/* 1 when both strings are equal; the time depends only on their lengths. */
int fa_ct_streq(const char *a, const char *b);

/* HTML-escapes & < > " ' so that the result is safe in text and in
 * quoted attribute values. */
const char *fa_html_escape(apr_pool_t *p, const char *s);
/* Percent-encodes all but RFC 3986 unreserved characters. */
char *fa_url_encode(apr_pool_t *p, const char *s);
/* Decodes %XX and '+' (form encoding); refuses bad escapes and NUL. */
apr_status_t fa_url_decode(apr_pool_t *p, const char *in, apr_size_t len,
                           char **out);
/* Parses an application/x-www-form-urlencoded string (a query string or a
 * form body) into a table; at most max_params parameters, and a name that
 * appears twice is refused (a parameter smuggling guard). */
apr_status_t fa_form_parse(apr_pool_t *p, const char *in, apr_size_t len,
                           int max_params, apr_table_t **out);

/* 1 when path is a safe local return_to target: starts with a single '/',
 * no "//" or "/\" prefix, no backslash, no control characters, no scheme,
 * at most 2048 bytes. Anything else must be replaced by "/". */
int fa_return_to_ok(const char *path);

/* 1 when s can be a header value as is: no CR, LF or NUL. */
int fa_header_value_ok(const char *s);
/* A copy fit for a header value: CR, LF and other control characters but
 * TAB become spaces, cut at max bytes (on a UTF-8 boundary). */
const char *fa_header_value(apr_pool_t *p, const char *s, apr_size_t max);
/* The request header an attribute is passed on as: "GIVEN_NAME" ->
 * "X-FedAuth-Given-Name" (attribute names are [A-Z0-9_], checked when
 * the configuration is read). */
const char *fa_header_name(apr_pool_t *p, const char *attr);
/* 1 when attr is one of the names the module passes on itself (USER,
 * SUB, IDP, ROLES, ERROR, ...), which no attribute may take. */
int fa_attr_name_reserved(const char *attr);
/* Both names an attribute is passed on as: "FEDAUTH_" + attr and the
 * header of fa_header_name. Made once per name and process and kept
 * (a few hundred names at most; any further ones are made in p each
 * time), so the request path builds no names. 0 (and no names) for a
 * reserved name: such an attribute is never passed on, whatever a store
 * written by another configuration holds. */
int fa_attr_names(apr_pool_t *p, const char *attr, const char **env,
                  const char **header);

/* 1 when host (no port) is a loopback name or address: localhost, a
 * dotted IPv4 address in 127.0.0.0/8, or ::1. */
int fa_host_is_loopback(const char *host);

/* The URL rule for every URL of an IdP (Issuer, MetadataURL, each
 * endpoint of a discovery document), decided on libcurl's own parse so
 * that the host checked is the host libcurl connects to: an explicit
 * http:// or https:// with an authority, printable ASCII without
 * backslash, a host, no user name, password or login options (userinfo),
 * and http only to a loopback host (fa_host_is_loopback of libcurl's
 * host). FA_CURLU_FLAGS are the flags libcurl's transfer parses
 * CURLOPT_URL with (lib/url.c), so the rule reads a URL as a transfer
 * would. */
#define FA_CURLU_FLAGS (CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)
struct Curl_URL;
/* libcurl's parse of url when url keeps the rule, else NULL; the caller
 * frees it with curl_url_cleanup (fa_http_curl.c hands it to libcurl as
 * CURLOPT_CURLU, so the parse checked is the parse used). */
struct Curl_URL *fa_url_parse_checked(const char *url);
/* 1 when url keeps the rule. */
int fa_url_is_secure_enough(const char *url);

/* The release (configure.ac's AC_INIT) and the libraries this process
 * runs with, e.g. "0.3.0 (OpenSSL 3.0.13, libcurl 8.5.0, jansson 2.14,
 * hiredis 1.2.0)", for the start-up log line and fedauthctl --version. */
const char *fa_version_line(apr_pool_t *p);

/* Seconds since the epoch as the core counts time. */
#define fa_now_sec() ((apr_int64_t)apr_time_sec(apr_time_now()))

#endif
