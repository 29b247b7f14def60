/* SPDX-License-Identifier: ISC */
/* answer: the replies oniongated writes itself: onion names and pool PTRs from the pool, onion MX
 * answers (merged with the upstream's MX for onion-first), relayed and error replies; no I/O. */
#ifndef OG_ANSWER_H
#define OG_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dnsmsg.h"
#include "onionmap.h"
#include "pool.h"

#define ANSWER_UDP_SIZE 1232 /* the EDNS size we offer and the most we send over UDP */

/* The client's query as received, and the largest reply it takes. */
struct answer_query {
	const uint8_t *pkt;        /* as the client sent it, its ID the client's */
	const struct dns_query *q;
	size_t limit;
};

/* A reply, and the onion MX hosts it handed out (for warm-up). */
struct answer {
	uint8_t msg[DNS_MSG_MAX];
	size_t len;
	const struct pool_entry *mx_hosts[ONIONMAP_MAX_MX];
	size_t n_mx_hosts;
	bool pool_full;            /* SERVFAIL: the pool could not give a name an address */
};

/* What our own answers need from the daemon. */
struct answer_env {
	struct pool *pool;
	uint32_t onion_ttl;
	time_t now;
};

/* The largest reply for q: 65535 over TCP, else its EDNS size (at most ours) or 512. */
size_t answer_limit(const struct dns_query *q, bool tcp);
/* The question alone with rcode (BADVERS too: its upper bits go in the OPT record). */
void answer_rcode(struct answer *a, const struct answer_query *aq, int rcode);
/* FORMERR for a packet that could not be parsed: its header only; false when it has no header. */
bool answer_formerr(struct answer *a, const uint8_t *pkt, size_t len);
/* Onion names and reverse names of pool addresses: true when the query is ours and a holds its reply. */
bool answer_local(struct answer *a, const struct answer_query *aq, const struct answer_env *env);
/* The onion MX hosts of res with their pool addresses; for onion-first, the MX records of the
 * upstream's reply (NULL: none) follow at higher preferences. */
void answer_onion_mx(struct answer *a, const struct answer_query *aq, const struct answer_env *env,
		     const struct onionmap_result *res, const uint8_t *upstream, size_t uplen);
/* The upstream's reply unchanged but for the client's ID; the question with TC when it is too long. */
void answer_relay(struct answer *a, const struct answer_query *aq, const uint8_t *msg, size_t len);

#endif
