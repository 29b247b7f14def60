/* SPDX-License-Identifier: ISC */
/* torstatus: the STATUS_GENERAL events of Tor's control protocol the daemon acts on, CLOCK_SKEW
 * and CLOCK_JUMPED (control-spec 4.1.10), parsed from an event's text, and the clock-skew state
 * they make; no I/O, fuzzed alone. */
#ifndef OG_TORSTATUS_H
#define OG_TORSTATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "onion.h"

#define TORSTATUS_SOURCE_MAX 128
/* A skew or jump beyond this many seconds (about 100 years) is not believed: malformed. */
#define TORSTATUS_SECONDS_MAX 3155760000LL

enum torstatus_kind {
	TORSTATUS_OTHER,      /* not STATUS_GENERAL, or an action we do not act on */
	TORSTATUS_CLOCK_SKEW, /* seconds: our clock minus the source's (-3600: an hour behind) */
	TORSTATUS_CLOCK_JUMPED, /* seconds: how far the clock jumped (negative: backward) */
	TORSTATUS_MALFORMED,  /* a CLOCK_SKEW or CLOCK_JUMPED without a usable value */
};

struct torstatus_event {
	int64_t seconds;
	char source[TORSTATUS_SOURCE_MAX]; /* CLOCK_SKEW's SOURCE ("OR:192.0.2.1:9001", "CONSENSUS", the
					    * state file's path), or "" */
};

/* text: an event line's text after "650 " ("STATUS_GENERAL WARN CLOCK_SKEW SKEW=-3600 SOURCE=..."). */
enum torstatus_kind torstatus_parse(const char *text, struct torstatus_event *ev);

/* A clock skew lasts from Tor's CLOCK_SKEW until Tor is ready again or reports that the clock
 * jumped (it was set). */
struct torstatus_clock {
	bool skewed;
	struct torstatus_event skew; /* the last CLOCK_SKEW */
};
/* Feeds an event's text: what it was (ev filled); *changed when the skew began, changed or ended. */
enum torstatus_kind torstatus_clock_event(struct torstatus_clock *c, const char *text, struct torstatus_event *ev,
					  bool *changed);
/* The reply to GETINFO status/bootstrap-phase (its line's text): a clock skew Tor found before
 * the events were subscribed to (its state file written in the future, as on a board whose clock
 * came up behind) is there as REASON=CLOCK_SKEW WARNING="Clock skew N in WHAT from SOURCE". */
enum torstatus_kind torstatus_clock_bootstrap(struct torstatus_clock *c, const char *text, struct torstatus_event *ev,
					      bool *changed);
/* Tor became ready: true when that ended a skew. */
bool torstatus_clock_ready(struct torstatus_clock *c);

/* HS_DESC events (control-spec 4.1.25) of the client's descriptor fetches: one HSDir answered with
 * the descriptor of onion, or failed to (an upload's failure, REASON=UPLOAD_REJECTED, is OTHER). */
enum torstatus_desc { TORSTATUS_DESC_OTHER, TORSTATUS_DESC_RECEIVED, TORSTATUS_DESC_FAILED, TORSTATUS_DESC_MALFORMED };
/* text: "HS_DESC FAILED <56 base32> NO_AUTH $<hsdir> REASON=NOT_FOUND ..."; onion gets "<56>.onion". */
enum torstatus_desc torstatus_hs_desc(const char *text, char onion[ONION_NAME_LEN + 1]);

#endif
