/* SPDX-License-Identifier: ISC */
/* status: the gateway's facts at one moment, as the control socket, the metrics and the status page
 * show them. main fills a snapshot on request (status_fill); the readers render it. No I/O. */
#ifndef OG_STATUS_H
#define OG_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STATUS_TEXT_MAX 512 /* CONFIG_ERR_MAX: a reload error whole */

struct activity;
struct config;
struct pool;
struct onionmap;
struct proxy;

/* One domain that maps to an onion, and where that comes from ("map line 3", "srv secure"). */
typedef void status_domain_cb(const char *domain, const char *source, void *arg);

struct status_snapshot {
	const char *version;
	time_t now, started;            /* wall clock */
	const char *config_path;
	bool ready;                     /* what `oniongatectl status` exits 0 on: Tor ready (or socks-server) */
	bool embedded_tor;              /* false: socks-server */
	char tor_version[64];           /* "" until Tor told it */
	int tor_progress;               /* 0..100 */
	char tor_phase[STATUS_TEXT_MAX]; /* Tor's words for the bootstrap phase */
	bool tor_circuits;              /* circuits established */
	bool clock_skewed;
	int64_t clock_skew;             /* seconds, with clock_skewed */
	char clock_source[64];
	char pool_v4[48], pool_v6[64];  /* the pools as configured ("10.192.0.0/10") */
	size_t mappings, mappings_max;  /* onion names holding pool addresses; pool-max */
	size_t streams;                 /* open now */
	uint64_t relayed_hour, failed_hour;
	size_t discovery_cache;         /* SRV answers cached */
	const char *stall_state;        /* the stall detector: "watching", "failing", "newnym_sent", "restarting" */
	size_t bridges;                 /* bridge lines: the embedded Tor reaches the network only through them */
	const char *onion_mx;           /* onion-mx: the published name ("" until Tor made it); NULL: none */
	time_t last_reload;             /* 0: none since start */
	bool last_reload_ok;
	char last_reload_result[STATUS_TEXT_MAX]; /* "ok" or the file:line: error */
	const struct activity *activity; /* failures by reason, onions, histograms */
	const struct config *cfg;
	struct pool *pool;               /* read-only use: lookups by name */
	const struct onionmap *onionmap;
	const struct proxy *proxy;       /* streams */
	/* Calls fn for each domain the map file or the SRV cache maps to onion (NULL: not known). */
	void (*each_domain)(const struct status_snapshot *s, const char *onion, status_domain_cb *fn, void *arg);
};

/* Who fills a snapshot (main): the readers hold this, never the daemon itself. */
struct status_source {
	void (*fill)(struct status_snapshot *s, void *arg);
	void *arg;
};

static inline void status_fill(const struct status_source *src, struct status_snapshot *s)
{
	src->fill(s, src->arg);
}

#endif
