/* SPDX-License-Identifier: ISC */
/* Unit tests for activity: per-onion records (success, failure and its reason, open streams, bytes),
 * the hour window, the histograms' buckets, the SOCKS reasons, and the bound on records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "activity.h"

#define ONION_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.onion"
#define ONION_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.onion"

static void test_one_onion(void **state)
{
	struct activity *a = activity_new();
	const struct activity_onion *o;
	uint64_t relayed, failed;
	(void)state;
	activity_stream_begin(a, ONION_A);
	activity_stream_opened(a, ONION_A, 1000);
	o = activity_onion(a, ONION_A);
	assert_non_null(o);
	assert_int_equal(o->streams, 1);
	assert_int_equal(o->relayed, 1);
	assert_int_equal(o->last_success, 1000);
	activity_stream_end(a, ONION_A, 300, 4000);
	activity_stream_begin(a, ONION_A);
	activity_stream_failed(a, ONION_A, AR_DESC_NOT_FOUND, 1010);
	activity_stream_end(a, ONION_A, 0, 0);
	o = activity_onion(a, ONION_A);
	assert_int_equal(o->streams, 0);
	assert_int_equal(o->bytes_up, 300);
	assert_int_equal(o->bytes_down, 4000);
	assert_int_equal(o->failed, 1);
	assert_int_equal(o->last_failure, 1010);
	assert_int_equal(o->last_reason, AR_DESC_NOT_FOUND);
	assert_int_equal(activity_failures(a, AR_DESC_NOT_FOUND), 1);
	activity_totals(a, &relayed, &failed);
	assert_int_equal(relayed, 1);
	assert_int_equal(failed, 1);
	assert_null(activity_onion(a, ONION_B));
	activity_free(a);
}

static void test_failure_without_onion(void **state)
{
	struct activity *a = activity_new();
	(void)state;
	activity_stream_failed(a, NULL, AR_NO_MAPPING, 50);
	activity_stream_failed(a, NULL, AR_COUNT + 3, 50);
	assert_int_equal(activity_onion_count(a), 0);
	assert_int_equal(activity_failures(a, AR_NO_MAPPING), 1);
	assert_int_equal(activity_failures(a, AR_SOCKS_OTHER), 1);
	assert_string_equal(activity_reason_name(AR_NO_MAPPING), "no_mapping");
	assert_string_equal(activity_reason_name(AR_COUNT), "unknown");
	activity_free(a);
}

/* Only the 60 minutes before now count; a minute's slot is reused an hour later. */
static void test_last_hour(void **state)
{
	struct activity *a = activity_new();
	uint64_t relayed, failed;
	(void)state;
	activity_stream_opened(a, ONION_A, 60 * 100);
	activity_stream_opened(a, ONION_A, 60 * 130 + 59);
	activity_stream_failed(a, ONION_A, AR_TIMEOUT, 60 * 150);
	activity_last_hour(a, 60 * 150, &relayed, &failed);
	assert_int_equal(relayed, 2);
	assert_int_equal(failed, 1);
	activity_last_hour(a, 60 * 160, &relayed, &failed);
	assert_int_equal(relayed, 1);
	assert_int_equal(failed, 1);
	activity_stream_opened(a, ONION_A, 60 * 190); /* the slot of minute 130 */
	activity_last_hour(a, 60 * 190, &relayed, &failed);
	assert_int_equal(relayed, 1);
	assert_int_equal(failed, 1);
	activity_last_hour(a, 60 * 300, &relayed, &failed);
	assert_int_equal(relayed + failed, 0);
	activity_free(a);
}

static void test_histogram(void **state)
{
	struct activity *a = activity_new();
	const struct activity_histogram *h = activity_connect_histogram(a);
	(void)state;
	activity_first_byte(a, 100);    /* <= 100: bucket 0 */
	activity_first_byte(a, 101);    /* bucket 1 (250) */
	activity_first_byte(a, 999999); /* above the last bound */
	assert_int_equal(h->counts[0], 1);
	assert_int_equal(h->counts[1], 1);
	assert_int_equal(h->counts[ACTIVITY_BUCKETS], 1);
	assert_int_equal(h->count, 3);
	assert_int_equal(h->sum_ms, 100 + 101 + 999999);
	for (int i = 1; i < ACTIVITY_BUCKETS; i++)
		assert_true(h->bounds_ms[i] > h->bounds_ms[i - 1]);
	activity_discovery(a, 7);
	assert_int_equal(activity_discovery_histogram(a)->counts[1], 1);
	activity_free(a);
}

static void test_socks_reasons(void **state)
{
	(void)state;
	assert_int_equal(activity_reason_of_socks(0xF0), AR_DESC_NOT_FOUND);
	assert_int_equal(activity_reason_of_socks(0xF2), AR_INTRO_FAILED);
	assert_int_equal(activity_reason_of_socks(0xF5), AR_CLIENT_AUTH);
	assert_int_equal(activity_reason_of_socks(0xF7), AR_INTRO_TIMEOUT);
	assert_int_equal(activity_reason_of_socks(0x06), AR_TIMEOUT);
	assert_int_equal(activity_reason_of_socks(0x01), AR_SOCKS_OTHER);
	assert_int_equal(activity_reason_of_socks(0x100), AR_SOCKS_OTHER);
	for (int r = 0; r < AR_COUNT; r++)
		assert_string_not_equal(activity_reason_name(r), "unknown");
}

static void count_onion(const struct activity_onion *o, void *arg)
{
	size_t *n = arg;
	(void)o;
	(*n)++;
}

/* ACTIVITY_MAX_ONIONS records at most: the least recently active one without streams goes first. */
static void test_bound(void **state)
{
	struct activity *a = activity_new();
	char name[ONION_NAME_LEN + 1];
	size_t n = 0;
	(void)state;
	activity_stream_begin(a, ONION_A); /* the oldest, but it holds a stream */
	for (int i = 0; i < ACTIVITY_MAX_ONIONS + 10; i++) {
		snprintf(name, sizeof(name), "%056d.onion", i);
		activity_stream_opened(a, name, 100 + i);
	}
	assert_int_equal(activity_onion_count(a), ACTIVITY_MAX_ONIONS);
	assert_int_equal(activity_onions_dropped(a), 11);
	assert_non_null(activity_onion(a, ONION_A));
	assert_null(activity_onion(a, "00000000000000000000000000000000000000000000000000000000.onion"));
	snprintf(name, sizeof(name), "%056d.onion", ACTIVITY_MAX_ONIONS + 9);
	assert_non_null(activity_onion(a, name));
	assert_int_equal(activity_each_onion(a, count_onion, &n), ACTIVITY_MAX_ONIONS);
	assert_int_equal(n, ACTIVITY_MAX_ONIONS);
	activity_free(a);
}

static void first_name(const struct activity_onion *o, void *arg)
{
	const char **first = arg;
	if (*first == NULL)
		*first = o->name;
}

static void test_most_recent_first(void **state)
{
	struct activity *a = activity_new();
	const char *first = NULL;
	(void)state;
	activity_stream_opened(a, ONION_A, 10);
	activity_stream_opened(a, ONION_B, 11);
	activity_stream_failed(a, ONION_A, AR_TIMEOUT, 12);
	activity_each_onion(a, first_name, &first);
	assert_string_equal(first, ONION_A);
	activity_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_onion),       cmocka_unit_test(test_failure_without_onion),
		cmocka_unit_test(test_last_hour),       cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_socks_reasons),   cmocka_unit_test(test_bound),
		cmocka_unit_test(test_most_recent_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
