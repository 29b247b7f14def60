/* SPDX-License-Identifier: ISC */
/* metrics: the metrics-listen HTTP listener (libevent's evhttp on the daemon's loop): /metrics in the
 * Prometheus text format, / the status page; metrics-allow peers only, bounded in connections, bytes, time. */
#ifndef OG_METRICS_H
#define OG_METRICS_H

#include <event2/event.h>

#include "config.h"
#include "status.h"

/* Connections at once; one more is closed at accept (libevent 2.1's evhttp has no cap of its own). */
#define METRICS_MAX_CONNECTIONS 8
/* Request line and headers, bytes; a request may have no body (GET only). */
#define METRICS_MAX_HEADERS 4096
/* evhttp's read and write timeout: a request must arrive, and a reply leave, within it. */
#define METRICS_TIMEOUT_SECONDS 10
/* A connection (keep-alive or trickling) is shut down at this age. */
#define METRICS_MAX_AGE_SECONDS 60
/* The most a reply may hold. */
#define METRICS_MAX_REPLY_BYTES (4u << 20)

struct metrics;

/* Listens on cfg's metrics-listen; NULL when it cannot (logged). src fills a snapshot per request. */
struct metrics *metrics_new(struct event_base *base, const struct config *cfg, const struct status_source *src);
/* After a reload: metrics-allow is read from cfg from now on. */
void metrics_reconfigure(struct metrics *m, const struct config *cfg);
void metrics_free(struct metrics *m);

#endif
