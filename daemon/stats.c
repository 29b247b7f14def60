/* stats: the daemon's counters; every module bumps its own, the status dump reads them.
 * The counter array is this module's and is touched only from the main thread. */
#include "stats.h"

#include <inttypes.h>

#include "log.h"

static const char *const names[STAT_COUNT] = {
	[STAT_CONTROL_REPLIES] = "control_replies",
	[STAT_CONTROL_EVENTS] = "control_events",
	[STAT_CONTROL_MALFORMED] = "control_malformed",
};

static uint64_t counters[STAT_COUNT];

void stats_bump(enum stat_counter c)
{
	counters[c]++;
}

uint64_t stats_get(enum stat_counter c)
{
	return counters[c];
}

void stats_log(void)
{
	for (int c = 0; c < STAT_COUNT; c++)
		log_notice("stats: %s=%" PRIu64, names[c], counters[c]);
}
