/* SPDX-License-Identifier: ISC */
/* upstream: queries relayed to the upstream servers (dns-upstream or dns-upstream-file). Each try leaves
 * from a fresh socket on a random source port with a fresh random ID (unbound's outside_network); TCP
 * when a reply is truncated. */
#ifndef OG_UPSTREAM_H
#define OG_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "dnsmsg.h"

#define UPSTREAM_MAX_QUERIES 512 /* in flight at once: each holds one socket */

struct upstream;
struct upstream_query;

/* The reply (its ID the one we chose), or NULL when no upstream answered in time. The query's
 * handle is gone when this runs; the callback may do anything with the upstream module. */
typedef void upstream_cb(void *arg, const uint8_t *msg, size_t len);

/* Starts with no server: upstream_set_servers gives them. */
struct upstream *upstream_new(struct event_base *base);
/* The servers later tries go to (copied; at most CONFIG_MAX_DNS_UPSTREAM): a reloaded config's
 * dns-upstream, or a changed dns-upstream-file. A try under way finishes with its server. */
void upstream_set_servers(struct upstream *u, const struct config_sockaddr *servers, size_t n);
size_t upstream_servers(const struct upstream *u);
/* Sends pkt (a query for q) upstream; NULL when there is no server, every slot is taken or no
 * socket can be made. */
struct upstream_query *upstream_send(struct upstream *u, const uint8_t *pkt, size_t len, const struct dns_question *q,
				     upstream_cb *cb, void *arg);
/* The callback of a cancelled query never runs. */
void upstream_cancel(struct upstream_query *uq);
size_t upstream_in_flight(const struct upstream *u);
void upstream_free(struct upstream *u);

#endif
