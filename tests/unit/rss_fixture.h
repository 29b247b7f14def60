/* A test fixture: the resident size of this process from /proc/self/statm, for tests that bound
 * what a table touches. Include after <cmocka.h>. */
#ifndef OG_RSS_FIXTURE_H
#define OG_RSS_FIXTURE_H

#include <stdio.h>
#include <unistd.h>

static inline size_t rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

#endif
