/* SPDX-License-Identifier: ISC */
/* notify: what oniongated tells its supervisor (systemd's sd_notify): READY, RELOADING, STOPPING,
 * WATCHDOG, and a STATUS line that follows Tor's bootstrap, then the mappings and streams. No-op
 * without NOTIFY_SOCKET. */
#ifndef OG_NOTIFY_H
#define OG_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_STATUS_MAX 192
/* A changed STATUS line reaches the supervisor at most once per this many milliseconds. */
#define NOTIFY_STATUS_INTERVAL_MS 1000

/* What the STATUS line tells. */
struct notify_state {
	bool tor;                /* an embedded Tor (false: socks-server) */
	bool tor_ready;
	int tor_progress;        /* 0..100 */
	const char *tor_summary; /* Tor's words for the phase, "" if none yet */
	bool clock_skewed;       /* Tor reported a clock skew and has not been ready since */
	int64_t clock_skew;      /* seconds (negative: our clock is behind) */
	const char *clock_source; /* where Tor saw it ("CONSENSUS", "OR:addr:port") */
	size_t mappings;         /* onion names with pool addresses */
	size_t streams;
};

/* NOTIFY_SOCKET is set: a supervisor listens. */
bool notify_enabled(void);
/* READY=1: the listeners are bound and the nft table is installed (also after a reload). */
void notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC: a SIGHUP is being handled; READY=1 follows. */
void notify_reloading(void);
/* STOPPING=1: shutdown has begun. */
void notify_stopping(void);
/* The supervisor's watchdog interval in microseconds: WATCHDOG_USEC when WATCHDOG_PID is unset or
 * names this process (sd_watchdog_enabled), else 0. */
uint64_t notify_watchdog_usec(void);
/* WATCHDOG=1: the main loop is alive (sent every half interval). */
void notify_watchdog(void);
/* "Tor 45%: loading relay descriptors", "ready: 3 onion MX mappings, 0 streams"; while a clock
 * skew lasts "tor: clock skew -3600 s (source CONSENSUS): check the time" instead. */
void notify_status_text(const struct notify_state *s, char out[NOTIFY_STATUS_MAX]);
/* STATUS=text, if it differs from the last line sent and NOTIFY_STATUS_INTERVAL_MS have passed
 * since that one (now_ms: a monotonic clock). True if sent. */
bool notify_status(const char *text, uint64_t now_ms);

#endif
