/* SPDX-License-Identifier: ISC */
/* stats: the daemon's counters; every module bumps its own, the status dump reads them.
 * The counter array is this module's and is touched only from the main thread. */
#include "stats.h"

#include <inttypes.h>

#include "log.h"

static const char *const names[STAT_COUNT] = {
	[STAT_CONTROL_REPLIES] = "control_replies",
	[STAT_CONTROL_EVENTS] = "control_events",
	[STAT_CONTROL_MALFORMED] = "control_malformed",
	[STAT_DNS_QUERIES] = "dns_queries",
	[STAT_DNS_ONION_ANSWERS] = "dns_onion_answers",
	[STAT_DNS_MX_ANSWERS] = "dns_onion_mx_answers",
	[STAT_DNS_FORWARDED] = "dns_forwarded",
	[STAT_DNS_REFUSED] = "dns_refused",
	[STAT_DNS_MALFORMED] = "dns_malformed",
	[STAT_DNS_UPSTREAM_MALFORMED] = "dns_upstream_malformed",
	[STAT_DNS_TIMEOUTS] = "dns_upstream_timeouts",
	[STAT_DNS_OVERLOADED] = "dns_overloaded",
	[STAT_DNS_TCP_TIMEOUTS] = "dns_tcp_timeouts",
	[STAT_DNS_POOL_FULL] = "dns_pool_full",
	[STAT_DISCOVERY_LOOKUPS] = "discovery_lookups",
	[STAT_DISCOVERY_BOGUS] = "discovery_bogus",
	[STAT_DISCOVERY_INSECURE] = "discovery_insecure_refused",
	[STAT_DISCOVERY_MALFORMED] = "discovery_malformed",
	[STAT_PROXY_STREAMS] = "proxy_streams",
	[STAT_PROXY_REFUSED] = "proxy_refused",
	[STAT_PROXY_SOCKS_ERRORS] = "proxy_socks_errors",
	[STAT_PROXY_BYTES_UP] = "proxy_bytes_up",
	[STAT_PROXY_BYTES_DOWN] = "proxy_bytes_down",
	[STAT_PROXY_WARM_OPENED] = "proxy_warm_opened",
	[STAT_PROXY_WARM_USED] = "proxy_warm_used",
	[STAT_PROXY_LAN_LEFT_EARLY] = "proxy_lan_left_early",
	[STAT_PROXY_LAN_EARLY_CAPPED] = "proxy_lan_early_capped",
	[STAT_ACCEPT_PAUSES] = "accept_pauses",
	[STAT_UPGRADE_LEARNED] = "upgrade_learned",
	[STAT_UPGRADE_LEARN_FAILED] = "upgrade_learn_failed",
	[STAT_UPGRADE_AMBIGUOUS] = "upgrade_ambiguous",
	[STAT_UPGRADE_FOREIGN_HOSTS] = "upgrade_foreign_hosts",
	[STAT_UPGRADE_FULL] = "upgrade_full",
	[STAT_UPGRADE_MALFORMED] = "upgrade_malformed",
	[STAT_UPGRADE_NFT_ERRORS] = "upgrade_nft_errors",
	[STAT_UPGRADE_STREAMS] = "upgrade_streams",
	[STAT_DNS_NO_UPSTREAM] = "dns_no_upstream",
	[STAT_UPSTREAM_FILE_READS] = "upstream_file_reads",
	[STAT_UPSTREAM_SERVERS] = "upstream_servers",
	[STAT_TOR_CLOCK_SKEW] = "tor_clock_skew_seconds",
	[STAT_TOR_STATUS_MALFORMED] = "tor_status_malformed",
	[STAT_STALL_NEWNYM] = "stall_newnym",
	[STAT_STALL_RESTARTS] = "stall_restarts",
	[STAT_METRICS_REQUESTS] = "metrics_requests",
	[STAT_METRICS_REFUSED] = "metrics_refused",
	[STAT_METRICS_BUSY] = "metrics_busy",
	[STAT_INBOUND_CONNS] = "inbound_connections",
	[STAT_INBOUND_REFUSED] = "inbound_refused",
	[STAT_INBOUND_BYTES_IN] = "inbound_bytes_in",
	[STAT_INBOUND_BYTES_OUT] = "inbound_bytes_out",
	[STAT_TOR_DESC_RECEIVED] = "tor_descriptors_received",
	[STAT_TOR_DESC_FAILED] = "tor_descriptor_fetches_failed",
	[STAT_DNS_CACHE_HITS] = "dns_cache_hits",
	[STAT_DNS_CACHE_MISSES] = "dns_cache_misses",
	[STAT_DNS_CACHE_EVICTIONS] = "dns_cache_evictions",
	[STAT_DNS_CACHE_BYTES] = "dns_cache_bytes",
	[STAT_RELAY_NO_PIPE] = "relay_reads_without_pipe",
	[STAT_PROXY_WARM_KEPT] = "proxy_warm_kept",
	[STAT_POOLSYNC_SENT] = "poolsync_sent",
	[STAT_POOLSYNC_DROPPED] = "poolsync_dropped",
	[STAT_POOLSYNC_REPLIES] = "poolsync_replies",
};

static uint64_t counters[STAT_COUNT];

void stats_bump(enum stat_counter c)
{
	counters[c]++;
}

void stats_add(enum stat_counter c, uint64_t n)
{
	counters[c] += n;
}

void stats_set(enum stat_counter c, uint64_t v)
{
	counters[c] = v;
}

uint64_t stats_get(enum stat_counter c)
{
	return counters[c];
}

void stats_log(void)
{
	for (int c = 0; c < STAT_COUNT; c++) {
		if (c == STAT_TOR_CLOCK_SKEW)
			log_notice("stats: %s=%" PRId64, names[c], (int64_t)counters[c]);
		else
			log_notice("stats: %s=%" PRIu64, names[c], counters[c]);
	}
}
