/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_metrics.h - what mod_fedauth_metrics.c offers: the counters
 * of the module (FedAuthMetrics On), made once per start, and the
 * Prometheus endpoint /fedauth/metrics, answered after access control. */
#ifndef MOD_FEDAUTH_METRICS_H
#define MOD_FEDAUTH_METRICS_H

#include "mod_fedauth_types.h"
#include "fa_metrics.h"

/* In post_config, after the stores and providers are made: when any
 * server has FedAuthMetrics On (or FedAuthStatus On, whose page shows
 * counts), makes the counters (new at each start),
 * has every store counted and every provider count its fetches. */
apr_status_t fedauth_metrics_post_config(apr_pool_t *pconf, server_rec *s);
/* The counters, or NULL when metrics are off: the fa_metrics_* functions
 * then count nothing. */
fa_metrics_t *fedauth_metrics(void);
/* 1 when r asks for /fedauth/metrics of a server with FedAuthMetrics On:
 * the quick handler leaves it to access control and the handler. */
int fedauth_metrics_wanted(request_rec *r, const fedauth_srv_t *sc);
/* 1 when some <Location> other than "/" names path, or a URL above it
 * under /fedauth, or could (a regular expression): its Require is then the
 * administrator's choice. Otherwise whoever may read the site may read
 * what path answers. */
int fedauth_location_configured(server_rec *s, const char *path);
/* The handler hook: answers GET /fedauth/metrics. */
int fedauth_metrics_handler(request_rec *r);

#endif
