/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_attempts.h - what mod_fedauth_attempts.c offers: the end of
 * a sign-in attempt, counted in the metrics and written to the attempt
 * log (FedAuthAttemptLog), one line of JSON per attempt. */
#ifndef MOD_FEDAUTH_ATTEMPTS_H
#define MOD_FEDAUTH_ATTEMPTS_H

#include "mod_fedauth_types.h"

/* The key (after FedAuthRedisPrefix) of the FedAuthAttemptStream. */
#define FEDAUTH_STREAM_KEY "attempts"

/* post_config: opens every server's FedAuthAttemptLog (a file, or a
 * program after "|"), once per distinct one, in the parent so that the
 * children inherit it. !OK when one cannot be opened. */
int fedauth_attempts_open(apr_pool_t *pconf, server_rec *s);

/* What a sign-in knows of its user so far (any may be NULL: unchanged),
 * for the line fedauth_attempt_log writes. */
void fedauth_attempt_user(request_rec *r, const char *idp, const char *sub,
                          const char *account);

/* The request's attempt ended: a success when reason is NULL, else a
 * failure with that FEDAUTH_ERROR code. Counted (FedAuthMetrics On) and
 * written (FedAuthAttemptLog, FedAuthAttemptStream), once per request. */
void fedauth_attempt_log(request_rec *r, const char *reason);

#endif
