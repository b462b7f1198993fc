/* SPDX-License-Identifier: Apache-2.0 */
/* fa_json.h - jansson values owned by an APR pool: the pool releases the
 * reference when it is cleared or destroyed, so callers need no
 * json_decref on any path.
 * Part of the httpd-free core. */
#ifndef FA_JSON_H
#define FA_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Hands the reference j to p. Returns j (NULL stays NULL). */
json_t *fa_json_pool_own(apr_pool_t *p, json_t *j);

/* Parses len bytes that must be one JSON object (duplicate member names
 * refused); the object belongs to p. NULL when the text is not a JSON
 * object. */
json_t *fa_json_object_parse(apr_pool_t *p, const void *text,
                             apr_size_t len);

#endif
