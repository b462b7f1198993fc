/* mod_fedauth_metrics.h - what mod_fedauth_metrics.c offers: the counters
 * of the module (FedAuthMetrics On), made once per start, and the
 * Prometheus endpoint /fedauth/metrics, answered after access control. */
#ifndef MOD_FEDAUTH_METRICS_H
#define MOD_FEDAUTH_METRICS_H

#include "mod_fedauth.h"
#include "fa_metrics.h"

/* In post_config, after the stores and providers are made: when any
 * server has FedAuthMetrics On, makes the counters (new at each start),
 * has every store counted and every provider count its fetches. */
apr_status_t fedauth_metrics_post_config(apr_pool_t *pconf, server_rec *s);
/* The counters, or NULL when metrics are off: the fa_metrics_* functions
 * then count nothing. */
fa_metrics_t *fedauth_metrics(void);
/* 1 when r asks for /fedauth/metrics of a server with FedAuthMetrics On:
 * the quick handler leaves it to access control and the handler. */
int fedauth_metrics_wanted(request_rec *r, const fedauth_srv_t *sc);
/* The handler hook: answers GET /fedauth/metrics. */
int fedauth_metrics_handler(request_rec *r);

#endif
