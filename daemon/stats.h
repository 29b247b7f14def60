/* stats: the daemon's counters; every module bumps its own, the status dump reads them.
 * The counter array is this module's and is touched only from the main thread. */
#ifndef OG_STATS_H
#define OG_STATS_H

#include <stdint.h>

enum stat_counter {
	STAT_CONTROL_REPLIES,
	STAT_CONTROL_EVENTS,
	STAT_CONTROL_MALFORMED,
	STAT_COUNT
};

void stats_bump(enum stat_counter c);
uint64_t stats_get(enum stat_counter c);
void stats_log(void);

#endif
