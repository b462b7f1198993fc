/* SPDX-License-Identifier: Apache-2.0 */
/* fa_redis_stream.c - the attempt stream (FedAuthAttemptStream) on a Redis
 * client: fa_redis_stream_add (XADD, capped) for the glue, one per
 * sign-in attempt, and fa_redis_stream_read (XRANGE) for fedauthctl.
 * Declared in fa_store.h. Part of the httpd-free core. */
#include <string.h>
#include <apr_strings.h>
#include "fa_redis_int.h"

apr_status_t fa_redis_stream_add(fa_redis_t *rs, const char *key,
                                 int maxlen, const char *line,
                                 apr_size_t len, apr_pool_t *p)
{
    const char *argv[7];
    size_t lens[7];
    redisReply *reply;
    fa_err_t err;
    int i;

    if (!rs || maxlen < 1) {
        return APR_EINVAL;
    }
    argv[0] = "XADD";
    argv[1] = fa_redis_key(p, rs, key);
    argv[2] = "MAXLEN";
    argv[3] = apr_itoa(p, maxlen);
    argv[4] = "*";
    argv[5] = "a";
    argv[6] = line;
    for (i = 0; i < 7; i++) {
        lens[i] = i == 6 ? len : strlen(argv[i]);
    }
    if (fa_redis_command(rs, 7, argv, lens, FA_REDIS_REPLY_SMALL, &reply,
                         &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

apr_status_t fa_redis_stream_read(fa_redis_t *rs, const char *key,
                                  int max, apr_pool_t *p,
                                  apr_array_header_t **lines)
{
    const char *argv[6] = { "XRANGE", NULL, "-", "+", "COUNT", NULL };
    redisReply *reply, *entry, *fields;
    fa_err_t err;
    size_t i, j;

    *lines = apr_array_make(p, 16, sizeof(const char *));
    if (!rs || max < 1) {
        return APR_EINVAL;
    }
    argv[1] = fa_redis_key(p, rs, key);
    argv[5] = apr_itoa(p, max);
    if (fa_redis_command(rs, 6, argv, NULL, (apr_size_t)max * 5000 + 1024,
                         &reply, &err) != APR_SUCCESS) {
        return fa_redis_log_failure(&err);
    }
    for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
         i++) {
        entry = reply->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
            || entry->element[1]->type != REDIS_REPLY_ARRAY) {
            continue;
        }
        fields = entry->element[1];
        for (j = 0; j + 1 < fields->elements; j += 2) {
            if (fields->element[j + 1]->type == REDIS_REPLY_STRING) {
                APR_ARRAY_PUSH(*lines, const char *) = apr_pstrmemdup(p,
                    fields->element[j + 1]->str,
                    fields->element[j + 1]->len);
            }
        }
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}
