/* SPDX-License-Identifier: ISC */
/* stall: the stall detector's state machine: fed Tor's readiness and the relay's stream totals every
 * few seconds, it says when to ask Tor for new circuits (NEWNYM) and when to exit for a restart. No I/O. */
#include "stall.h"

#include <inttypes.h>
#include <stdio.h>

const struct stall_words stall_streams = { "streams", "opened", "a stream opened" };
const struct stall_words stall_descriptors = { "descriptor fetches", "answered", "a descriptor fetch answered" };

void stall_init(struct stall *s, const struct stall_words *words)
{
	*s = (struct stall){ .words = words, .state = STALL_WATCHING };
}

const char *stall_state_name(enum stall_state state)
{
	static const char *const names[] = {
		[STALL_WATCHING] = "watching",
		[STALL_FAILING] = "failing",
		[STALL_NEWNYM_SENT] = "newnym_sent",
		[STALL_RESTART] = "restarting",
	};
	return names[state];
}

bool stall_counts(enum activity_reason why)
{
	switch (why) {
	case AR_SOCKS_UNREACHABLE:
	case AR_TIMEOUT:
	case AR_DESC_NOT_FOUND:
	case AR_INTRO_FAILED:
	case AR_REND_FAILED:
	case AR_INTRO_TIMEOUT:
	case AR_SOCKS_OTHER:
		return true;
	default:
		return false;
	}
}

/* A failure in this sample: it begins an episode, or adds to the one under way. */
static void saw_failure(struct stall *s, const struct stall_sample *in, uint64_t n)
{
	if (s->state == STALL_WATCHING) {
		s->state = STALL_FAILING;
		s->episode_start = in->now;
		s->episode_failures = 0;
	}
	s->episode_failures += n;
	if (s->state == STALL_NEWNYM_SENT)
		s->step_failures += n;
}

/* The steps, taken on a failure that comes timeout or more after the episode began (NEWNYM), or
 * after NEWNYM (exit). */
static enum stall_action step(struct stall *s, const struct stall_sample *in)
{
	if (s->state == STALL_FAILING && in->now - s->episode_start >= in->timeout) {
		s->state = STALL_NEWNYM_SENT;
		s->step_at = in->now;
		s->step_failures = 0;
		return STALL_ASK_NEWNYM;
	}
	if (s->state == STALL_NEWNYM_SENT && in->now - s->step_at >= in->timeout) {
		s->state = STALL_RESTART;
		return STALL_EXIT;
	}
	return STALL_NONE;
}

enum stall_action stall_feed(struct stall *s, const struct stall_sample *in)
{
	uint64_t opened = in->relayed - s->relayed, failed = in->failed - s->failed;
	bool first = !s->primed;
	s->primed = true;
	s->relayed = in->relayed;
	s->failed = in->failed;
	if (s->state == STALL_RESTART || first)
		return STALL_NONE;
	if (opened > 0 || !in->tor_ready) {
		bool was_stepped = s->state == STALL_NEWNYM_SENT;
		s->state = STALL_WATCHING;
		return was_stepped && opened > 0 ? STALL_RECOVERED : STALL_NONE;
	}
	if (failed == 0)
		return STALL_NONE;
	saw_failure(s, in, failed);
	return step(s, in);
}

void stall_reason(const struct stall *s, uint64_t now, char out[STALL_REASON_MAX])
{
	switch (s->state) {
	case STALL_NEWNYM_SENT:
		snprintf(out, STALL_REASON_MAX, "Tor has circuits, yet %" PRIu64 " %s failed and none %s in %" PRIu64 " s",
			 s->episode_failures, s->words->tries, s->words->success, now - s->episode_start);
		break;
	case STALL_RESTART:
		snprintf(out, STALL_REASON_MAX, "new circuits did not help: %" PRIu64 " more %s failed and none %s in %" PRIu64
			 " s since NEWNYM", s->step_failures, s->words->tries, s->words->success, now - s->step_at);
		break;
	case STALL_WATCHING:
		snprintf(out, STALL_REASON_MAX, "%s", s->words->one);
		break;
	case STALL_FAILING:
		snprintf(out, STALL_REASON_MAX, "%" PRIu64 " %s failed and none %s in %" PRIu64 " s", s->episode_failures,
			 s->words->tries, s->words->success, now - s->episode_start);
		break;
	}
}
