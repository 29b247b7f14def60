/* SPDX-License-Identifier: ISC */
/* stall: the stall detector's state machine: fed Tor's readiness and the relay's stream totals every
 * few seconds, it says when to ask Tor for new circuits (NEWNYM) and when to exit for a restart. No I/O. */
#ifndef OG_STALL_H
#define OG_STALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activity.h"

/* How often main feeds the detector. */
#define STALL_TICK_SECONDS 2
#define STALL_REASON_MAX 160

/* WATCHING: nothing failed since the last opened stream, or Tor is not ready (then Tor knows and
 * says so itself). FAILING: streams fail and none opened since the episode began. NEWNYM_SENT:
 * stalled for stall-timeout; new circuits were asked for. RESTART: still stalled stall-timeout after
 * that: the daemon exits; no way back. */
enum stall_state { STALL_WATCHING, STALL_FAILING, STALL_NEWNYM_SENT, STALL_RESTART };

/* What the caller does after a sample: nothing; send SIGNAL NEWNYM; exit non-zero so that the
 * supervisor restarts the daemon (and its Tor); log that a stream opened after NEWNYM. */
enum stall_action { STALL_NONE, STALL_ASK_NEWNYM, STALL_EXIT, STALL_RECOVERED };

struct stall_sample {
	uint64_t now;      /* monotonic seconds */
	unsigned timeout;  /* stall-timeout in force */
	bool tor_ready;    /* Tor says circuits are established */
	uint64_t relayed;  /* streams opened since start */
	uint64_t failed;   /* streams failed since start, of the reasons stall_counts takes */
};

/* What one detector watches, for its log lines: {"streams", "opened", "a stream opened"}. */
struct stall_words {
	const char *tries;   /* plural: "streams", "descriptor fetches" */
	const char *success; /* past tense: "opened", "answered" */
	const char *one;     /* "a stream opened" */
};

struct stall {
	const struct stall_words *words;
	enum stall_state state;
	bool primed;                /* a first sample set the totals */
	uint64_t relayed, failed;   /* the totals of the last sample */
	uint64_t episode_start;     /* the first failure since the last opened stream */
	uint64_t step_at;           /* when NEWNYM was asked */
	uint64_t episode_failures;  /* failures since episode_start */
	uint64_t step_failures;     /* failures since step_at */
};

/* words is borrowed (static). The relay's streams use stall_streams; the client's onion descriptor
 * fetches (several onions that cannot be fetched while Tor says it has circuits) stall_descriptors. */
extern const struct stall_words stall_streams, stall_descriptors;
void stall_init(struct stall *s, const struct stall_words *words);
/* One sample; a failure is seen when failed grew, an opened stream when relayed grew. A stall: a
 * failure timeout seconds or more after the first one, with Tor ready and no stream opened in between:
 * then STALL_ASK_NEWNYM; a failure timeout or more after that, still none opened: STALL_EXIT. An
 * opened stream or a Tor not ready ends the episode (STALL_RECOVERED if NEWNYM was sent). */
enum stall_action stall_feed(struct stall *s, const struct stall_sample *in);
/* The reason for the last step, for its log line: "Tor has circuits, yet 7 streams failed and none
 * opened in 612 s". */
void stall_reason(const struct stall *s, uint64_t now, char out[STALL_REASON_MAX]);
/* "watching", "failing", "newnym_sent", "restarting": stable, for status output and metric labels. */
const char *stall_state_name(enum stall_state state);
/* Whether a failure of this kind tells of Tor's network (a timeout, an onion descriptor, introduction
 * or rendezvous that failed) rather than of the LAN or the gateway (no mapping, too many streams). */
bool stall_counts(enum activity_reason why);

#endif
