/* SPDX-License-Identifier: Apache-2.0 */
/* fa_status.h - the operator's page /fedauth/status: what one worker
 * process knows of its providers (discovery document, JWKS, last errors:
 * its own cache) and what all processes share (the session store, the
 * counters of fa_metrics.c), as a JSON document and as an HTML page made
 * from it. Counts and configuration only: no user names, subjects,
 * tokens, secrets or store passwords.
 * Part of the httpd-free core. */
#ifndef FA_STATUS_H
#define FA_STATUS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "fa_idp.h"
#include "fa_metrics.h"
#include "fa_store.h"

typedef struct fa_status_in_t {
    const apr_array_header_t *providers; /* fa_idp_t *, of the server */
    fa_store_t *store;                  /* the server's session store */
    const fa_shm_stats_t *shm;          /* the embedded store's numbers,
                                         * or NULL (another store) */
    const fa_metrics_t *metrics;        /* NULL: no counters */
    const char *proxy;                  /* FedAuthOutgoingProxy with its
                                         * password as ***, or NULL */
    const char *noproxy;                /* FedAuthOutgoingNoProxy or NULL */
    long pid;                           /* the process that answers */
    apr_int64_t now;                    /* seconds since the epoch */
} fa_status_in_t;

/* The status as a JSON object owned by p (see README "Status" for the
 * members). */
json_t *fa_status_json(apr_pool_t *p, const fa_status_in_t *in);

/* The HTML page of a document made by fa_status_json, from p: every
 * string in it escaped. */
const char *fa_status_html(apr_pool_t *p, json_t *doc);

#endif
