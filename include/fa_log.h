/* SPDX-License-Identifier: Apache-2.0 */
/* fa_log.h - how the core speaks to the log: through a callback that the
 * httpd glue installs (tests install their own or none). */
#ifndef FA_LOG_H
#define FA_LOG_H

typedef enum {
    FA_LOG_ERR = 0,
    FA_LOG_WARN,
    FA_LOG_INFO,
    FA_LOG_DEBUG
} fa_log_level_t;

typedef void fa_log_fn(void *baton, fa_log_level_t level, const char *file,
                       int line, const char *msg);

/* Installs the log callback; NULL silences the core. Call once at startup
 * before any thread runs. */
void fa_log_set(fa_log_fn *fn, void *baton, fa_log_level_t max_level);
int fa_log_enabled(fa_log_level_t level);
void fa_log_msg(fa_log_level_t level, const char *file, int line,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Each call site gives its own tag, the same string macro the glue uses
 * (mod_fedauth_types.h), first in its format:
 * fa_log(FA_LOG_WARN, FALOGNO(01234) "what happened: %s", why). The glue
 * logs a tagged message as it is; build/check-logtags.sh keeps the tags
 * unique and documented. */
#ifndef FALOGNO
#define FALOGNO(n) "FA" #n ": "
#endif

#define fa_log(level, ...) \
    do { if (fa_log_enabled(level)) \
        fa_log_msg((level), __FILE__, __LINE__, __VA_ARGS__); } while (0)

#endif
