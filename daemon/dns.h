/* SPDX-License-Identifier: ISC */
/* dns: the LAN DNS service: UDP and TCP listeners, answers for onion names, onion MX domains
 * and pool PTRs, and every other query relayed upstream as a packet (new ID, reply matched). */
#ifndef OG_DNS_H
#define OG_DNS_H

#include <event2/event.h>

#include "config.h"
#include "mxupgrade.h"
#include "onionmap.h"
#include "pool.h"

struct dns;

/* Binds every dns-listen address (UDP and TCP) and the upstream sockets; NULL on failure. */
struct dns *dns_new(struct event_base *base, const struct config *cfg, struct pool *pool, struct onionmap *map);
/* A reloaded config: client networks, TTLs and dns-cache-size change; listeners stay as bound. */
void dns_reconfigure(struct dns *d, const struct config *cfg);
/* The upstream servers other names go to (copied): dns-upstream, or dns-upstream-file's. None:
 * SERVFAIL, counted as dns_no_upstream. The pass-through cache starts empty. */
void dns_set_upstreams(struct dns *d, const struct config_sockaddr *servers, size_t n);
/* Told of every onion MX host the DNS hands out, so a stream to it can be opened early. */
typedef void dns_warm_fn(void *arg, const struct pool_entry *e, uint16_t port);
void dns_set_warmer(struct dns *d, dns_warm_fn *fn, void *arg);
/* mx-mode upgrade: MX answers of upgrade domains are relayed untouched once u has claimed their
 * hosts (u borrowed; NULL: every domain is answered as in rewrite mode). */
void dns_set_upgrade(struct dns *d, struct mxupgrade *u);
void dns_free(struct dns *d);

#endif
