/* SPDX-License-Identifier: Apache-2.0 */
/* fa_attempt.h - the record of a sign-in attempt, as one line of JSON for
 * the attempt log (FedAuthAttemptLog). Part of the httpd-free core. */
#ifndef FA_ATTEMPT_H
#define FA_ATTEMPT_H

#include <apr_pools.h>
#include <apr_time.h>

/* The longest line fa_attempt_line makes, its newline and NUL included:
 * one write of it to a pipe is never split (PIPE_BUF is 4096). */
#define FA_ATTEMPT_LINE_MAX 4096

/* One attempt. Any string may be NULL (not known at that point: no sub
 * before the ID token was checked); reason is NULL for a success. */
typedef struct fa_attempt_t {
    apr_time_t time;
    const char *idp;
    const char *sub;
    const char *account;
    const char *reason;           /* the FEDAUTH_ERROR code of a failure */
    const char *client;           /* the client's address */
} fa_attempt_t;

/* The attempt as one line of JSON ending in a newline, in p:
 *   {"time":"2026-12-03T21:10:05.123Z","outcome":"failure",
 *    "reason":"state_mismatch","idp":"corp","sub":null,"account":null,
 *    "client":"192.0.2.7"}
 * A value is cut to FA_ATTEMPT_VALUE_MAX bytes, and to 512 bytes once
 * escaped (never inside a UTF-8 sequence or an escape); control
 * characters are escaped and a byte that is not UTF-8 becomes U+FFFD, so
 * the line is valid JSON whatever the IdP or the client sent. */
#define FA_ATTEMPT_VALUE_MAX 256
char *fa_attempt_line(apr_pool_t *p, const fa_attempt_t *a, apr_size_t *len);

#endif
