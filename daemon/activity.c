/* SPDX-License-Identifier: ISC */
/* activity: the relay's and the discovery's record for operators: per-onion records in one bounded
 * array (the least recently active one makes room), failures by reason, a per-minute ring for the last hour. */
#include "activity.h"

#include <stdlib.h>
#include <string.h>


struct minute {
	int64_t minute; /* now / 60 of the counts below */
	uint64_t relayed, failed;
};

struct record {
	struct activity_onion o;
	uint64_t touched; /* activity's clock when last used: larger is more recent */
};

struct activity {
	struct record records[ACTIVITY_MAX_ONIONS];
	size_t n;
	uint64_t clock;
	uint64_t dropped;
	uint64_t failures[AR_COUNT];
	uint64_t relayed, failed;
	struct minute hour[ACTIVITY_HOUR_SLOTS];
	struct activity_histogram connect, discovery;
};

static const uint32_t connect_bounds_ms[ACTIVITY_BUCKETS] = { 100,  250,   500,   1000,  2000,  3000,
							      5000, 10000, 20000, 30000, 60000, 120000 };
static const uint32_t discovery_bounds_ms[ACTIVITY_BUCKETS] = { 5,   10,   25,   50,   100,   250,
								500, 1000, 2500, 5000, 10000, 30000 };

static const char *const reason_names[AR_COUNT] = {
	[AR_TOR_NOT_READY] = "tor_not_ready",
	[AR_NO_MAPPING] = "no_mapping",
	[AR_NOT_REDIRECTED] = "not_redirected",
	[AR_TOO_MANY_STREAMS] = "too_many_streams",
	[AR_SHUTTING_DOWN] = "shutting_down",
	[AR_SOCKS_UNREACHABLE] = "socks_unreachable",
	[AR_TIMEOUT] = "timeout",
	[AR_DESC_NOT_FOUND] = "descriptor_not_found",
	[AR_DESC_INVALID] = "descriptor_invalid",
	[AR_INTRO_FAILED] = "introduction_failed",
	[AR_REND_FAILED] = "rendezvous_failed",
	[AR_CLIENT_AUTH] = "client_auth",
	[AR_BAD_ADDRESS] = "bad_address",
	[AR_INTRO_TIMEOUT] = "introduction_timeout",
	[AR_SOCKS_OTHER] = "socks_other",
};

struct activity *activity_new(void)
{
	struct activity *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->connect.bounds_ms = connect_bounds_ms;
	a->discovery.bounds_ms = discovery_bounds_ms;
	return a;
}

void activity_free(struct activity *a)
{
	free(a);
}

const char *activity_reason_name(enum activity_reason why)
{
	return (unsigned)why < AR_COUNT ? reason_names[why] : "unknown";
}

enum activity_reason activity_reason_of_socks(int reply)
{
	switch (reply) {
	case 0x06: /* TTL expired: Tor's word for a stream attempt that timed out */
		return AR_TIMEOUT;
	case 0xF0:
		return AR_DESC_NOT_FOUND;
	case 0xF1:
		return AR_DESC_INVALID;
	case 0xF2:
		return AR_INTRO_FAILED;
	case 0xF3:
		return AR_REND_FAILED;
	case 0xF4:
	case 0xF5:
		return AR_CLIENT_AUTH;
	case 0xF6:
		return AR_BAD_ADDRESS;
	case 0xF7:
		return AR_INTRO_TIMEOUT;
	default:
		return AR_SOCKS_OTHER;
	}
}

static struct record *find(const struct activity *a, const char *onion)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->records[i].o.name, onion) == 0)
			return (struct record *)&a->records[i];
	return NULL;
}

/* The slot to reuse when full: the least recently touched record with no open stream, else the least
 * recently touched of all (its streams then end unrecorded). */
static struct record *victim(struct activity *a)
{
	struct record *idle = NULL, *any = &a->records[0];
	for (size_t i = 0; i < a->n; i++) {
		struct record *r = &a->records[i];
		if (r->touched < any->touched)
			any = r;
		if (r->o.streams == 0 && (idle == NULL || r->touched < idle->touched))
			idle = r;
	}
	return idle != NULL ? idle : any;
}

/* The onion's record, made if new; touched. NULL for a name too long to be an onion. */
static struct record *touch(struct activity *a, const char *onion)
{
	struct record *r = find(a, onion);
	if (r == NULL) {
		if (strlen(onion) > ONION_NAME_LEN)
			return NULL;
		if (a->n < ACTIVITY_MAX_ONIONS) {
			r = &a->records[a->n++];
		} else {
			r = victim(a);
			a->dropped++;
		}
		memset(r, 0, sizeof(*r));
		strcpy(r->o.name, onion);
	}
	r->touched = ++a->clock;
	return r;
}

static struct minute *minute_of(struct activity *a, time_t now)
{
	int64_t m = (int64_t)now / 60;
	struct minute *slot = &a->hour[(uint64_t)m % ACTIVITY_HOUR_SLOTS];
	if (slot->minute != m) {
		slot->minute = m;
		slot->relayed = slot->failed = 0;
	}
	return slot;
}

void activity_stream_begin(struct activity *a, const char *onion)
{
	struct record *r = touch(a, onion);
	if (r != NULL)
		r->o.streams++;
}

void activity_stream_opened(struct activity *a, const char *onion, time_t now)
{
	struct record *r = touch(a, onion);
	a->relayed++;
	minute_of(a, now)->relayed++;
	if (r == NULL)
		return;
	r->o.relayed++;
	r->o.last_success = now;
}

void activity_stream_failed(struct activity *a, const char *onion, enum activity_reason why, time_t now)
{
	struct record *r;
	if ((unsigned)why >= AR_COUNT)
		why = AR_SOCKS_OTHER;
	a->failures[why]++;
	a->failed++;
	minute_of(a, now)->failed++;
	if (onion == NULL || (r = touch(a, onion)) == NULL)
		return;
	r->o.failed++;
	r->o.last_failure = now;
	r->o.last_reason = why;
}

static void observe(struct activity_histogram *h, uint64_t ms)
{
	size_t i = 0;
	while (i < ACTIVITY_BUCKETS && ms > h->bounds_ms[i])
		i++;
	h->counts[i]++;
	h->sum_ms += ms;
	h->count++;
}

void activity_first_byte(struct activity *a, uint64_t connect_ms)
{
	observe(&a->connect, connect_ms);
}

void activity_discovery(struct activity *a, uint64_t ms)
{
	observe(&a->discovery, ms);
}

void activity_stream_end(struct activity *a, const char *onion, uint64_t up, uint64_t down)
{
	struct record *r = find(a, onion);
	if (r == NULL || r->o.streams == 0)
		return;
	r->o.streams--;
	r->o.bytes_up += up;
	r->o.bytes_down += down;
}

uint64_t activity_failures(const struct activity *a, enum activity_reason why)
{
	return (unsigned)why < AR_COUNT ? a->failures[why] : 0;
}

void activity_totals(const struct activity *a, uint64_t *relayed, uint64_t *failed)
{
	*relayed = a->relayed;
	*failed = a->failed;
}

void activity_last_hour(const struct activity *a, time_t now, uint64_t *relayed, uint64_t *failed)
{
	int64_t m = (int64_t)now / 60;
	*relayed = *failed = 0;
	for (size_t i = 0; i < ACTIVITY_HOUR_SLOTS; i++) {
		const struct minute *slot = &a->hour[i];
		if (slot->minute > m - ACTIVITY_HOUR_SLOTS && slot->minute <= m) {
			*relayed += slot->relayed;
			*failed += slot->failed;
		}
	}
}

const struct activity_onion *activity_onion(const struct activity *a, const char *onion)
{
	const struct record *r = find(a, onion);
	return r != NULL ? &r->o : NULL;
}

static int more_recent_first(const void *x, const void *y)
{
	const struct record *a = *(const struct record *const *)x, *b = *(const struct record *const *)y;
	return a->touched < b->touched ? 1 : a->touched > b->touched ? -1 : 0;
}

size_t activity_each_onion(const struct activity *a, void (*fn)(const struct activity_onion *o, void *arg), void *arg)
{
	const struct record *order[ACTIVITY_MAX_ONIONS];
	for (size_t i = 0; i < a->n; i++)
		order[i] = &a->records[i];
	qsort(order, a->n, sizeof(order[0]), more_recent_first);
	for (size_t i = 0; i < a->n; i++)
		fn(&order[i]->o, arg);
	return a->n;
}

size_t activity_onion_count(const struct activity *a)
{
	return a->n;
}

uint64_t activity_onions_dropped(const struct activity *a)
{
	return a->dropped;
}

const struct activity_histogram *activity_connect_histogram(const struct activity *a)
{
	return &a->connect;
}

const struct activity_histogram *activity_discovery_histogram(const struct activity *a)
{
	return &a->discovery;
}
