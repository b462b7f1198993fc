/* SPDX-License-Identifier: Apache-2.0 */
/* fa_store.c - what every store backend decides the same way, written
 * once: the rule of fa_store_t.index_add (fa_store_index_plan). The
 * backends (fa_store_shm.c, fa_store_redis.c) only read the index, ask
 * whether each member's key is still there, and write the outcome. Pure:
 * no I/O but through the caller's alive callback. Part of the httpd-free
 * core. */
#include <string.h>
#include "fa_store.h"

apr_status_t fa_store_index_plan(apr_pool_t *p,
                                 const apr_array_header_t *members,
                                 const char *member, int max,
                                 fa_store_alive_fn *alive, void *baton,
                                 fa_store_index_plan_t *plan)
{
    apr_array_header_t *keep;
    const char *m;
    int k, over, live;

    plan->keep = keep = apr_array_make(p, members->nelts + 1,
                                       sizeof(const char *));
    plan->gone = apr_array_make(p, 1, sizeof(const char *));
    plan->dropped = apr_array_make(p, 1, sizeof(const char *));
    if (max < 1 || max > FA_STORE_INDEX_MAX) {
        return APR_EINVAL;
    }
    /* The members whose key is still there, in their order; the new one
     * moves to the end (a member added again is the newest). */
    for (k = 0; k < members->nelts; k++) {
        m = APR_ARRAY_IDX(members, k, const char *);
        if (!strcmp(m, member)) {
            continue;
        }
        if ((live = alive(baton, m)) < 0) {
            return APR_EGENERAL;
        }
        APR_ARRAY_PUSH(live ? keep : plan->gone, const char *) = m;
    }
    APR_ARRAY_PUSH(keep, const char *) = member;
    /* Beyond max, the oldest go, and their keys with them. */
    over = keep->nelts > max ? keep->nelts - max : 0;
    for (k = 0; k < over; k++) {
        APR_ARRAY_PUSH(plan->dropped, const char *) =
            APR_ARRAY_IDX(keep, k, const char *);
    }
    if (over) {
        memmove(keep->elts, keep->elts + (size_t)over * sizeof(const char *),
                (size_t)(keep->nelts - over) * sizeof(const char *));
        keep->nelts -= over;
    }
    return APR_SUCCESS;
}
