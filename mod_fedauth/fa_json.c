/* SPDX-License-Identifier: Apache-2.0 */
/* fa_json.c - jansson values owned by an APR pool; see fa_json.h. */
#include "fa_json.h"

static apr_status_t json_release(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

json_t *fa_json_pool_own(apr_pool_t *p, json_t *j)
{
    if (j) {
        apr_pool_cleanup_register(p, j, json_release, apr_pool_cleanup_null);
    }
    return j;
}

json_t *fa_json_object_parse(apr_pool_t *p, const void *text,
                             apr_size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return fa_json_pool_own(p, j);
}
