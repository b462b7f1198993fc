/* SPDX-License-Identifier: Apache-2.0 */
/* fa_log.c - the core's log callback; see fa_log.h. */
#include <stdarg.h>
#include <stdio.h>
#include "fa_log.h"

static fa_log_fn *log_fn;
static void *log_baton;
static fa_log_level_t log_max = FA_LOG_WARN;

void fa_log_set(fa_log_fn *fn, void *baton, fa_log_level_t max_level)
{
    log_fn = fn;
    log_baton = baton;
    log_max = max_level;
}

int fa_log_enabled(fa_log_level_t level)
{
    return log_fn != NULL && level <= log_max;
}

void fa_log_msg(fa_log_level_t level, const char *file, int line,
                const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!fa_log_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_fn(log_baton, level, file, line, buf);
}
