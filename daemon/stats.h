/* SPDX-License-Identifier: ISC */
/* stats: the daemon's counters; every module bumps its own, the status dump reads them.
 * The counter array is this module's and is touched only from the main thread. */
#ifndef OG_STATS_H
#define OG_STATS_H

#include <stdint.h>

enum stat_counter {
	STAT_CONTROL_REPLIES,
	STAT_CONTROL_EVENTS,
	STAT_CONTROL_MALFORMED,
	STAT_DNS_QUERIES,
	STAT_DNS_ONION_ANSWERS,
	STAT_DNS_MX_ANSWERS,
	STAT_DNS_FORWARDED,
	STAT_DNS_REFUSED,
	STAT_DNS_MALFORMED,
	STAT_DNS_UPSTREAM_MALFORMED,
	STAT_DNS_TIMEOUTS,
	STAT_DNS_OVERLOADED,
	STAT_DNS_TCP_TIMEOUTS,
	STAT_DNS_POOL_FULL,
	STAT_DISCOVERY_LOOKUPS,
	STAT_DISCOVERY_BOGUS,
	STAT_DISCOVERY_INSECURE,
	STAT_DISCOVERY_MALFORMED,
	STAT_PROXY_STREAMS,
	STAT_PROXY_REFUSED,
	STAT_PROXY_SOCKS_ERRORS,
	STAT_PROXY_BYTES_UP,
	STAT_PROXY_BYTES_DOWN,
	STAT_PROXY_WARM_OPENED,
	STAT_PROXY_WARM_USED,
	STAT_PROXY_LAN_LEFT_EARLY,
	STAT_PROXY_LAN_EARLY_CAPPED,
	STAT_ACCEPT_PAUSES,
	STAT_UPGRADE_LEARNED,
	STAT_UPGRADE_LEARN_FAILED,
	STAT_UPGRADE_AMBIGUOUS,
	STAT_UPGRADE_FOREIGN_HOSTS,
	STAT_UPGRADE_FULL,
	STAT_UPGRADE_MALFORMED,
	STAT_UPGRADE_NFT_ERRORS,
	STAT_UPGRADE_STREAMS,
	STAT_DNS_NO_UPSTREAM,
	STAT_UPSTREAM_FILE_READS,
	STAT_UPSTREAM_SERVERS,
	STAT_TOR_CLOCK_SKEW,
	STAT_TOR_STATUS_MALFORMED,
	STAT_COUNT
};

void stats_bump(enum stat_counter c);
void stats_add(enum stat_counter c, uint64_t n);
uint64_t stats_get(enum stat_counter c);
/* A gauge (upstream_servers, tor_clock_skew_seconds): the value now; tor_clock_skew_seconds is signed. */
void stats_set(enum stat_counter c, uint64_t v);
void stats_log(void);

#endif
