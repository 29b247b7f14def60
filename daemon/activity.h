/* SPDX-License-Identifier: ISC */
/* activity: what the relay and the discovery did, kept for operators: each onion MX's last success and
 * last failure (why), failures by reason, the last hour's relayed and failed streams per minute, and two
 * latency histograms. Bounded (ACTIVITY_MAX_ONIONS records, the least recently active goes); no I/O. */
#ifndef OG_ACTIVITY_H
#define OG_ACTIVITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "onion.h"

#define ACTIVITY_MAX_ONIONS 1024
#define ACTIVITY_HOUR_SLOTS 60 /* one per minute */

/* Why a stream to an onion failed. Names (activity_reason_name) are stable: JSON and metric labels. */
enum activity_reason {
	AR_TOR_NOT_READY,     /* "tor_not_ready" */
	AR_NO_MAPPING,        /* "no_mapping": the fake address names no onion (any more) */
	AR_NOT_REDIRECTED,    /* "not_redirected" */
	AR_TOO_MANY_STREAMS,  /* "too_many_streams" */
	AR_SHUTTING_DOWN,     /* "shutting_down" */
	AR_SOCKS_UNREACHABLE, /* "socks_unreachable": Tor's SOCKS socket refused the connect */
	AR_TIMEOUT,           /* "timeout": proxy-connect-timeout passed */
	AR_DESC_NOT_FOUND,    /* "descriptor_not_found": 0xF0 */
	AR_DESC_INVALID,      /* "descriptor_invalid": 0xF1 */
	AR_INTRO_FAILED,      /* "introduction_failed": 0xF2 */
	AR_REND_FAILED,       /* "rendezvous_failed": 0xF3 */
	AR_CLIENT_AUTH,       /* "client_auth": 0xF4, 0xF5 */
	AR_BAD_ADDRESS,       /* "bad_address": 0xF6 */
	AR_INTRO_TIMEOUT,     /* "introduction_timeout": 0xF7 */
	AR_SOCKS_OTHER,       /* "socks_other": another SOCKS reply, or the exchange itself failed */
	AR_COUNT
};

/* Latency histograms, Prometheus style: counts[i] holds observations <= bounds_ms[i] (not cumulative);
 * counts[ACTIVITY_BUCKETS] the ones above the last bound. */
#define ACTIVITY_BUCKETS 12
struct activity_histogram {
	const uint32_t *bounds_ms; /* ACTIVITY_BUCKETS ascending bounds */
	uint64_t counts[ACTIVITY_BUCKETS + 1];
	uint64_t sum_ms, count;
};

/* One onion MX as the relay saw it; times are wall-clock seconds, 0 when never. */
struct activity_onion {
	char name[ONION_NAME_LEN + 1];
	time_t last_success, last_failure;
	enum activity_reason last_reason; /* of last_failure */
	uint64_t relayed, failed;         /* since start */
	uint64_t bytes_up, bytes_down;    /* of closed streams */
	unsigned streams;                 /* open now */
};

struct activity;

struct activity *activity_new(void);
void activity_free(struct activity *a);

/* The relay: a LAN connection for onion began (streams open +1); it opened through Tor (relayed, last
 * success); it failed (reason; onion NULL when no onion is known: counted by reason only); its first byte
 * from the onion side came connect_ms after the LAN connect (histogram); it ended (streams -1, bytes).
 * Every begin is followed by exactly one end; opened or failed at most once in between. */
void activity_stream_begin(struct activity *a, const char *onion);
void activity_stream_opened(struct activity *a, const char *onion, time_t now);
void activity_stream_failed(struct activity *a, const char *onion, enum activity_reason why, time_t now);
void activity_first_byte(struct activity *a, uint64_t connect_ms);
void activity_stream_end(struct activity *a, const char *onion, uint64_t up, uint64_t down);
/* The discovery: one SRV lookup took ms (histogram). */
void activity_discovery(struct activity *a, uint64_t ms);

/* The reason for a SOCKS reply code (socks5.h's reply, with its pseudo codes). */
enum activity_reason activity_reason_of_socks(int reply);
const char *activity_reason_name(enum activity_reason why);
/* Failures by reason since start. */
uint64_t activity_failures(const struct activity *a, enum activity_reason why);
/* Streams opened and failed since start (all onions, and failures with no onion known). */
void activity_totals(const struct activity *a, uint64_t *relayed, uint64_t *failed);
/* Streams opened and failed in the 60 minutes before now. */
void activity_last_hour(const struct activity *a, time_t now, uint64_t *relayed, uint64_t *failed);
/* The onion's record (NULL: none). */
const struct activity_onion *activity_onion(const struct activity *a, const char *onion);
/* Each record, most recently active first; returns how many. */
size_t activity_each_onion(const struct activity *a, void (*fn)(const struct activity_onion *o, void *arg), void *arg);
/* Records kept, and those dropped since start to stay within ACTIVITY_MAX_ONIONS. */
size_t activity_onion_count(const struct activity *a);
uint64_t activity_onions_dropped(const struct activity *a);
const struct activity_histogram *activity_connect_histogram(const struct activity *a);
const struct activity_histogram *activity_discovery_histogram(const struct activity *a);

#endif
