/* SPDX-License-Identifier: ISC */
/* promtext: the gateway's facts (a status snapshot, its activity, the stats counters) in the
 * Prometheus text format 0.0.4, HELP and TYPE for every family. No I/O. */
#include "promtext.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "stall.h"
#include "stats.h"

struct stat_metric {
	const char *name, *help;
	bool gauge, is_signed;
};

#define COUNTER(n, h) { "oniongate_" n "_total", h, false, false }

/* Every stats counter under its Prometheus name; a counter appended to stats.h needs its line here
 * (the unit test says so). */
static const struct stat_metric stat_metrics[STAT_COUNT] = {
	[STAT_CONTROL_REPLIES] = COUNTER("tor_control_replies", "Replies read from Tor's control socket."),
	[STAT_CONTROL_EVENTS] = COUNTER("tor_control_events", "Asynchronous events read from Tor's control socket."),
	[STAT_CONTROL_MALFORMED] = COUNTER("tor_control_malformed", "Malformed lines from Tor's control socket."),
	[STAT_DNS_QUERIES] = COUNTER("dns_queries", "DNS queries received from the LAN."),
	[STAT_DNS_ONION_ANSWERS] = COUNTER("dns_onion_answers", "DNS answers giving an onion name a pool address."),
	[STAT_DNS_MX_ANSWERS] = COUNTER("dns_onion_mx_answers", "MX answers naming an onion MX."),
	[STAT_DNS_FORWARDED] = COUNTER("dns_forwarded", "DNS queries passed to the upstream servers."),
	[STAT_DNS_REFUSED] = COUNTER("dns_refused", "DNS queries refused (client outside client-network)."),
	[STAT_DNS_MALFORMED] = COUNTER("dns_malformed", "Malformed DNS queries from the LAN."),
	[STAT_DNS_UPSTREAM_MALFORMED] = COUNTER("dns_upstream_malformed", "Malformed answers from upstream DNS servers."),
	[STAT_DNS_TIMEOUTS] = COUNTER("dns_upstream_timeouts", "Upstream DNS queries that timed out."),
	[STAT_DNS_OVERLOADED] = COUNTER("dns_overloaded", "DNS queries dropped: too many in flight."),
	[STAT_DNS_TCP_TIMEOUTS] = COUNTER("dns_tcp_timeouts", "DNS TCP clients closed for idling."),
	[STAT_DNS_POOL_FULL] = COUNTER("dns_pool_full", "Onion answers that found no free pool address."),
	[STAT_DISCOVERY_LOOKUPS] = COUNTER("discovery_lookups", "SRV discovery lookups started."),
	[STAT_DISCOVERY_BOGUS] = COUNTER("discovery_bogus", "SRV discovery answers that failed DNSSEC validation."),
	[STAT_DISCOVERY_INSECURE] = COUNTER("discovery_insecure_refused", "SRV discovery answers refused as not DNSSEC-secure."),
	[STAT_DISCOVERY_MALFORMED] = COUNTER("discovery_malformed", "Malformed SRV discovery answers."),
	[STAT_PROXY_STREAMS] = COUNTER("proxy_streams", "LAN connections accepted by the transparent proxy."),
	[STAT_PROXY_REFUSED] = COUNTER("proxy_refused", "LAN connections the transparent proxy refused."),
	[STAT_PROXY_SOCKS_ERRORS] = COUNTER("proxy_socks_errors", "Streams Tor's SOCKS port answered with an error."),
	[STAT_PROXY_BYTES_UP] = COUNTER("proxy_up_bytes", "Bytes relayed from the LAN to onions."),
	[STAT_PROXY_BYTES_DOWN] = COUNTER("proxy_down_bytes", "Bytes relayed from onions to the LAN."),
	[STAT_PROXY_WARM_OPENED] = COUNTER("proxy_warm_opened", "Circuits warmed up ahead of a connection."),
	[STAT_PROXY_WARM_USED] = COUNTER("proxy_warm_used", "Streams that used a warmed-up circuit."),
	[STAT_PROXY_LAN_LEFT_EARLY] = COUNTER("proxy_lan_left_early", "LAN clients that closed before the onion answered."),
	[STAT_PROXY_LAN_EARLY_CAPPED] = COUNTER("proxy_lan_early_capped", "LAN clients that sent more than the early-data bound."),
	[STAT_ACCEPT_PAUSES] = COUNTER("accept_pauses", "Times a listener paused accepting (out of descriptors or memory)."),
	[STAT_UPGRADE_LEARNED] = COUNTER("upgrade_learned", "Real MX addresses learned for mx-mode upgrade."),
	[STAT_UPGRADE_LEARN_FAILED] = COUNTER("upgrade_learn_failed", "MX answers mx-mode upgrade could not learn from."),
	[STAT_UPGRADE_AMBIGUOUS] = COUNTER("upgrade_ambiguous", "Real MX addresses claimed by more than one domain."),
	[STAT_UPGRADE_FOREIGN_HOSTS] = COUNTER("upgrade_foreign_hosts", "MX hosts outside the domain left as they are."),
	[STAT_UPGRADE_FULL] = COUNTER("upgrade_full", "Claims dropped: upgrade-max reached."),
	[STAT_UPGRADE_MALFORMED] = COUNTER("upgrade_malformed", "Malformed MX answers seen by mx-mode upgrade."),
	[STAT_UPGRADE_NFT_ERRORS] = COUNTER("upgrade_nft_errors", "nft set updates for mx-mode upgrade that failed."),
	[STAT_UPGRADE_STREAMS] = COUNTER("upgrade_streams", "Streams to a real MX address sent to its onion MX."),
	[STAT_DNS_NO_UPSTREAM] = COUNTER("dns_no_upstream", "DNS queries answered SERVFAIL: no upstream server."),
	[STAT_UPSTREAM_FILE_READS] = COUNTER("dns_upstream_file_reads", "Reads of dns-upstream-file."),
	[STAT_UPSTREAM_SERVERS] = { "oniongate_dns_upstream_servers", "Upstream DNS servers in use.", true, false },
	[STAT_TOR_CLOCK_SKEW] = { "oniongate_tor_clock_skew_seconds", "Clock skew Tor reported (seconds, signed; 0: none).", true, true },
	[STAT_TOR_STATUS_MALFORMED] = COUNTER("tor_status_malformed", "Malformed status events from Tor."),
	[STAT_STALL_NEWNYM] = COUNTER("stall_newnym", "NEWNYM signals the stall detector sent to Tor."),
	[STAT_STALL_RESTARTS] = COUNTER("stall_restarts", "Exits for a restart the stall detector asked for."),
	[STAT_METRICS_REQUESTS] = COUNTER("metrics_requests", "HTTP requests to the metrics listener."),
	[STAT_METRICS_REFUSED] = COUNTER("metrics_refused", "Metrics connections closed: peer outside metrics-allow."),
	[STAT_METRICS_BUSY] = COUNTER("metrics_busy", "Metrics connections closed: the connection cap was reached."),
	[STAT_INBOUND_CONNS] = COUNTER("inbound_connections", "onion-mx: connections from the onion service relayed to the mail server."),
	[STAT_INBOUND_REFUSED] = COUNTER("inbound_refused", "onion-mx: connections from the onion service refused (cap, mail server down)."),
	[STAT_INBOUND_BYTES_IN] = COUNTER("inbound_in_bytes", "onion-mx: bytes from the onion to the mail server."),
	[STAT_INBOUND_BYTES_OUT] = COUNTER("inbound_out_bytes", "onion-mx: bytes from the mail server to the onion."),
	[STAT_TOR_DESC_RECEIVED] = COUNTER("tor_descriptors_received", "Onion service descriptors Tor fetched (HS_DESC RECEIVED)."),
	[STAT_TOR_DESC_FAILED] = COUNTER("tor_descriptor_fetches_failed", "Descriptor fetches that failed at an HSDir (HS_DESC FAILED)."),
	[STAT_DNS_CACHE_HITS] = COUNTER("dns_cache_hits", "Pass-through DNS queries answered from the cache."),
	[STAT_DNS_CACHE_MISSES] = COUNTER("dns_cache_misses", "Pass-through DNS queries the cache could not answer."),
	[STAT_DNS_CACHE_EVICTIONS] = COUNTER("dns_cache_evictions", "DNS cache entries dropped to stay within dns-cache-size."),
	[STAT_DNS_CACHE_BYTES] = { "oniongate_dns_cache_bytes", "Bytes the DNS cache holds (bounded by dns-cache-size).", true, false },
	[STAT_RELAY_NO_PIPE] = COUNTER("relay_reads_without_pipe", "Relay reads through a buffer: no pipe could be made (descriptors or pipe pages used up)."),
	[STAT_PROXY_WARM_KEPT] = COUNTER("proxy_warm_kept", "Streams that kept the circuit of an onion mailed lately."),
	[STAT_POOLSYNC_SENT] = COUNTER("poolsync_sent", "Queries telling a pool-peer of a new pool mapping."),
	[STAT_POOLSYNC_DROPPED] = COUNTER("poolsync_dropped", "New pool mappings not told to the pool-peers (queue full or send failed)."),
	[STAT_POOLSYNC_REPLIES] = COUNTER("poolsync_replies", "Replies of pool-peers to those queries (read and dropped)."),
};

const char *promtext_stat_name(int counter)
{
	return counter >= 0 && counter < STAT_COUNT ? stat_metrics[counter].name : NULL;
}

void promtext_label_value(struct strbuf *out, const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\')
			strbuf_puts(out, "\\\\");
		else if (*p == '"')
			strbuf_puts(out, "\\\"");
		else if (*p == '\n')
			strbuf_puts(out, "\\n");
		else
			strbuf_add(out, p, 1);
	}
}

static void family(struct strbuf *o, const char *name, const char *type, const char *help)
{
	strbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct strbuf *o, const char *name, const char *type, const char *help, uint64_t v)
{
	family(o, name, type, help);
	strbuf_printf(o, "%s %" PRIu64 "\n", name, v);
}

static void stats_part(struct strbuf *o)
{
	for (int c = 0; c < STAT_COUNT; c++) {
		const struct stat_metric *m = &stat_metrics[c];
		if (m->name == NULL)
			continue;
		family(o, m->name, m->gauge ? "gauge" : "counter", m->help);
		if (m->is_signed)
			strbuf_printf(o, "%s %" PRId64 "\n", m->name, (int64_t)stats_get(c));
		else
			strbuf_printf(o, "%s %" PRIu64 "\n", m->name, stats_get(c));
	}
}

static void gauges_part(struct strbuf *o, const struct status_snapshot *s)
{
	family(o, "oniongate_build_info", "gauge", "Always 1; the labels name the versions.");
	strbuf_puts(o, "oniongate_build_info{version=\"");
	promtext_label_value(o, s->version != NULL ? s->version : "");
	strbuf_puts(o, "\",tor_version=\"");
	promtext_label_value(o, s->tor_version);
	strbuf_puts(o, "\"} 1\n");
	one(o, "oniongate_ready", "gauge", "1 when the gateway can relay (Tor bootstrapped, or socks-server).", s->ready);
	one(o, "oniongate_tor_bootstrap_percent", "gauge", "Tor's bootstrap progress (0 to 100).",
	    (uint64_t)(s->tor_progress > 0 ? s->tor_progress : 0));
	one(o, "oniongate_tor_circuits_established", "gauge", "1 when Tor says it has established circuits.",
	    s->tor_circuits);
	if (s->stall_state != NULL) {
		family(o, "oniongate_stall_state", "gauge", "The stall detector's state: 1 for the one it is in.");
		for (int st = STALL_WATCHING; st <= STALL_RESTART; st++)
			strbuf_printf(o, "oniongate_stall_state{state=\"%s\"} %d\n", stall_state_name(st),
				      strcmp(s->stall_state, stall_state_name(st)) == 0);
	}
	one(o, "oniongate_pool_mappings", "gauge", "Onion names holding pool addresses.", s->mappings);
	one(o, "oniongate_pool_mappings_max", "gauge", "The most onion names the pool holds (pool-max).", s->mappings_max);
	one(o, "oniongate_streams_open", "gauge", "Relayed streams open now.", s->streams);
	one(o, "oniongate_discovery_cache_entries", "gauge", "SRV discovery answers cached.", s->discovery_cache);
	one(o, "oniongate_start_time_seconds", "gauge", "When the daemon started (Unix time).", (uint64_t)s->started);
	one(o, "oniongate_uptime_seconds", "gauge", "Seconds since the daemon started.",
	    (uint64_t)(s->now > s->started ? s->now - s->started : 0));
	one(o, "oniongate_last_reload_success", "gauge", "0 when the last reload failed (1 also when none yet).",
	    s->last_reload == 0 || s->last_reload_ok);
	one(o, "oniongate_last_reload_timestamp_seconds", "gauge", "When the last reload was tried (Unix time; 0: none).",
	    (uint64_t)s->last_reload);
}

static void activity_part(struct strbuf *o, const struct activity *a)
{
	uint64_t relayed, failed;
	activity_totals(a, &relayed, &failed);
	one(o, "oniongate_streams_relayed_total", "counter", "Streams opened through Tor to an onion.", relayed);
	one(o, "oniongate_streams_failed_total", "counter", "Streams to an onion that failed (any reason).", failed);
	family(o, "oniongate_stream_failures_total", "counter", "Streams to an onion that failed, by reason.");
	for (int r = 0; r < AR_COUNT; r++)
		strbuf_printf(o, "oniongate_stream_failures_total{reason=\"%s\"} %" PRIu64 "\n",
			      activity_reason_name(r), activity_failures(a, r));
	one(o, "oniongate_activity_onions", "gauge", "Onion MX records kept for the status page.", activity_onion_count(a));
	one(o, "oniongate_activity_onions_dropped_total", "counter",
	    "Onion MX records dropped to stay within the bound (the least recently active).", activity_onions_dropped(a));
}

/* The onions by traffic: the top ones by name, the rest summed as "other". */
struct onion_list {
	const struct activity_onion **v;
	size_t n, cap;
};

static void collect(const struct activity_onion *on, void *arg)
{
	struct onion_list *l = arg;
	if (l->n < l->cap)
		l->v[l->n++] = on;
}

static uint64_t traffic(const struct activity_onion *on)
{
	return on->bytes_up + on->bytes_down;
}

static int by_traffic(const void *x, const void *y)
{
	const struct activity_onion *a = *(const struct activity_onion *const *)x;
	const struct activity_onion *b = *(const struct activity_onion *const *)y;
	if (traffic(a) != traffic(b))
		return traffic(a) > traffic(b) ? -1 : 1;
	if (a->relayed + a->failed != b->relayed + b->failed)
		return a->relayed + a->failed > b->relayed + b->failed ? -1 : 1;
	return strcmp(a->name, b->name);
}

enum onion_field { OF_RELAYED, OF_FAILED, OF_UP, OF_DOWN, OF_OPEN, OF_COUNT };

static const struct {
	const char *name, *type, *help;
} onion_families[OF_COUNT] = {
	[OF_RELAYED] = { "oniongate_onion_streams_relayed_total", "counter", "Streams opened to this onion MX." },
	[OF_FAILED] = { "oniongate_onion_streams_failed_total", "counter", "Streams to this onion MX that failed." },
	[OF_UP] = { "oniongate_onion_up_bytes_total", "counter", "Bytes sent to this onion MX (closed streams)." },
	[OF_DOWN] = { "oniongate_onion_down_bytes_total", "counter", "Bytes received from this onion MX (closed streams)." },
	[OF_OPEN] = { "oniongate_onion_streams_open", "gauge", "Streams open to this onion MX now." },
};

static uint64_t field_of(const struct activity_onion *on, enum onion_field f)
{
	switch (f) {
	case OF_RELAYED: return on->relayed;
	case OF_FAILED: return on->failed;
	case OF_UP: return on->bytes_up;
	case OF_DOWN: return on->bytes_down;
	case OF_OPEN: return on->streams;
	case OF_COUNT: break;
	}
	return 0;
}

static void onion_family(struct strbuf *o, const struct onion_list *l, enum onion_field f)
{
	const char *name = onion_families[f].name;
	family(o, name, onion_families[f].type, onion_families[f].help);
	uint64_t other = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (i >= PROMTEXT_TOP_ONIONS) {
			other += field_of(l->v[i], f);
			continue;
		}
		strbuf_printf(o, "%s{onion=\"", name);
		promtext_label_value(o, l->v[i]->name);
		strbuf_printf(o, "\"} %" PRIu64 "\n", field_of(l->v[i], f));
	}
	if (l->n > PROMTEXT_TOP_ONIONS)
		strbuf_printf(o, "%s{onion=\"other\"} %" PRIu64 "\n", name, other);
}

static void onions_part(struct strbuf *o, const struct activity *a)
{
	struct onion_list l = { 0 };
	l.cap = activity_onion_count(a);
	if (l.cap > 0 && (l.v = calloc(l.cap, sizeof(*l.v))) == NULL) {
		o->failed = true;
		return;
	}
	activity_each_onion(a, collect, &l);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_traffic);
	for (int f = 0; f < OF_COUNT; f++)
		onion_family(o, &l, f);
	free(l.v);
}

/* ms as seconds, exactly ("0.05", "2.5", "10"). */
static void seconds(struct strbuf *o, uint64_t ms)
{
	unsigned frac = (unsigned)(ms % 1000);
	if (frac == 0) {
		strbuf_printf(o, "%" PRIu64, ms / 1000);
		return;
	}
	char digits[4];
	snprintf(digits, sizeof(digits), "%03u", frac);
	for (int i = 2; i > 0 && digits[i] == '0'; i--)
		digits[i] = '\0';
	strbuf_printf(o, "%" PRIu64 ".%s", ms / 1000, digits);
}

static void histogram(struct strbuf *o, const char *name, const char *help, const struct activity_histogram *h)
{
	family(o, name, "histogram", help);
	uint64_t cumulative = 0;
	for (int i = 0; i < ACTIVITY_BUCKETS; i++) {
		cumulative += h->counts[i];
		strbuf_printf(o, "%s_bucket{le=\"", name);
		seconds(o, h->bounds_ms[i]);
		strbuf_printf(o, "\"} %" PRIu64 "\n", cumulative);
	}
	cumulative += h->counts[ACTIVITY_BUCKETS];
	strbuf_printf(o, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cumulative);
	strbuf_printf(o, "%s_sum ", name);
	seconds(o, h->sum_ms);
	strbuf_printf(o, "\n%s_count %" PRIu64 "\n", name, h->count);
}

void promtext_render(struct strbuf *out, const struct status_snapshot *s)
{
	gauges_part(out, s);
	stats_part(out);
	if (s->activity == NULL)
		return;
	activity_part(out, s->activity);
	onions_part(out, s->activity);
	histogram(out, "oniongate_connect_first_byte_seconds",
		  "From a LAN connect to the first byte from the onion, of relayed streams.",
		  activity_connect_histogram(s->activity));
	histogram(out, "oniongate_discovery_lookup_seconds", "SRV discovery lookup times.",
		  activity_discovery_histogram(s->activity));
}
