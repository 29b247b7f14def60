/* SPDX-License-Identifier: ISC */
/* Unit tests for stall: steady failures with Tor ready give NEWNYM after stall-timeout, then the exit
 * after another, each with its reason; an opened stream ends the episode (and says so after NEWNYM);
 * a Tor not ready, a lone failure, failures with successes between, never step (a second failure an
 * hour later does); after the exit no more steps; the failure kinds that count; the states' names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stall.h"

#define TIMEOUT 10

static struct stall st;
static struct stall_sample in;

static int fresh(void **state)
{
	(void)state;
	stall_init(&st, &stall_streams);
	in = (struct stall_sample){ .now = 1000, .timeout = TIMEOUT, .tor_ready = true, .relayed = 5, .failed = 3 };
	assert_int_equal(stall_feed(&st, &in), STALL_NONE); /* primes the totals */
	return 0;
}

/* The next sample, STALL_TICK_SECONDS later, with these many more failures and opened streams. */
static enum stall_action tick(uint64_t failed, uint64_t opened)
{
	in.now += STALL_TICK_SECONDS;
	in.failed += failed;
	in.relayed += opened;
	return stall_feed(&st, &in);
}

/* Ticks with a failure each until one returns an action; how many seconds that took. */
static uint64_t fail_until_action(enum stall_action *action)
{
	uint64_t from = in.now;
	while ((*action = tick(1, 0)) == STALL_NONE && in.now - from < 1000)
		;
	return in.now - from;
}

static void test_steps_in_order(void **state)
{
	char why[STALL_REASON_MAX];
	enum stall_action a;
	(void)state;
	/* The first failure at +2 begins the episode; the failure at +12 is TIMEOUT after it. */
	assert_int_equal(fail_until_action(&a), 2 + TIMEOUT);
	assert_int_equal(a, STALL_ASK_NEWNYM);
	assert_int_equal(st.state, STALL_NEWNYM_SENT);
	stall_reason(&st, in.now, why);
	assert_string_equal(why, "Tor has circuits, yet 6 streams failed and none opened in 10 s");
	assert_int_equal(fail_until_action(&a), TIMEOUT);
	assert_int_equal(a, STALL_EXIT);
	stall_reason(&st, in.now, why);
	assert_string_equal(why, "new circuits did not help: 5 more streams failed and none opened in 10 s since NEWNYM");
	/* Exiting: nothing more, not even for an opened stream. */
	assert_int_equal(tick(1, 0), STALL_NONE);
	assert_int_equal(tick(0, 1), STALL_NONE);
	assert_int_equal(st.state, STALL_RESTART);
}

static void test_opened_stream_resets(void **state)
{
	char why[STALL_REASON_MAX];
	enum stall_action a;
	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(tick(1, 0), STALL_NONE);
	assert_int_equal(st.state, STALL_FAILING);
	/* Failing, then one opens: back to watching, quietly. */
	assert_int_equal(tick(1, 1), STALL_NONE);
	assert_int_equal(st.state, STALL_WATCHING);
	/* A new episode needs the whole timeout again. */
	assert_int_equal(fail_until_action(&a), 2 + TIMEOUT);
	assert_int_equal(a, STALL_ASK_NEWNYM);
	assert_int_equal(tick(1, 0), STALL_NONE);
	/* One opens after NEWNYM: said once, and watching again. */
	assert_int_equal(tick(0, 1), STALL_RECOVERED);
	assert_int_equal(st.state, STALL_WATCHING);
	stall_reason(&st, in.now, why);
	assert_string_equal(why, "a stream opened");
	assert_int_equal(tick(0, 1), STALL_NONE);
	assert_int_equal(fail_until_action(&a), 2 + TIMEOUT);
	assert_int_equal(a, STALL_ASK_NEWNYM);
}

static void test_tor_not_ready(void **state)
{
	enum stall_action a;
	(void)state;
	in.tor_ready = false;
	for (int i = 0; i < 50; i++)
		assert_int_equal(tick(1, 0), STALL_NONE);
	assert_int_equal(st.state, STALL_WATCHING);
	/* Ready again: its episode begins then. */
	in.tor_ready = true;
	assert_int_equal(fail_until_action(&a), 2 + TIMEOUT);
	assert_int_equal(a, STALL_ASK_NEWNYM);
	/* Not ready after NEWNYM: Tor knows it has no circuits; no restart for that. */
	in.tor_ready = false;
	assert_int_equal(tick(1, 0), STALL_NONE);
	assert_int_equal(st.state, STALL_WATCHING);
}

static void test_no_evidence(void **state)
{
	(void)state;
	/* One failure, then nothing for an hour: no second failure, no step. */
	assert_int_equal(tick(1, 0), STALL_NONE);
	for (int i = 0; i < 1800; i++)
		assert_int_equal(tick(0, 0), STALL_NONE);
	assert_int_equal(st.state, STALL_FAILING);
	/* The next failure is a stall: nothing opened in that hour either. */
	assert_int_equal(tick(1, 0), STALL_ASK_NEWNYM);
	/* Failures with a success every 8 s: never a stall. */
	assert_int_equal(tick(0, 1), STALL_RECOVERED);
	for (int i = 1; i <= 100; i++)
		assert_int_equal(tick(1, i % 4 == 0), STALL_NONE);
	/* The same totals again and again: nothing. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(tick(0, 0), STALL_NONE);
}

static void test_timeout_change(void **state)
{
	enum stall_action a;
	(void)state;
	assert_int_equal(tick(1, 0), STALL_NONE);
	/* A reload shortens stall-timeout: the episode under way is judged by the new one. */
	in.timeout = 4;
	assert_int_equal(fail_until_action(&a), 4);
	assert_int_equal(a, STALL_ASK_NEWNYM);
}

static void test_kinds(void **state)
{
	(void)state;
	assert_string_equal(stall_state_name(STALL_WATCHING), "watching");
	assert_string_equal(stall_state_name(STALL_FAILING), "failing");
	assert_string_equal(stall_state_name(STALL_NEWNYM_SENT), "newnym_sent");
	assert_string_equal(stall_state_name(STALL_RESTART), "restarting");
	assert_true(stall_counts(AR_TIMEOUT));
	assert_true(stall_counts(AR_DESC_NOT_FOUND));
	assert_true(stall_counts(AR_INTRO_FAILED));
	assert_true(stall_counts(AR_REND_FAILED));
	assert_true(stall_counts(AR_INTRO_TIMEOUT));
	assert_true(stall_counts(AR_SOCKS_UNREACHABLE));
	assert_true(stall_counts(AR_SOCKS_OTHER));
	assert_false(stall_counts(AR_TOR_NOT_READY));
	assert_false(stall_counts(AR_NO_MAPPING));
	assert_false(stall_counts(AR_NOT_REDIRECTED));
	assert_false(stall_counts(AR_TOO_MANY_STREAMS));
	assert_false(stall_counts(AR_SHUTTING_DOWN));
	assert_false(stall_counts(AR_DESC_INVALID));
	assert_false(stall_counts(AR_CLIENT_AUTH));
	assert_false(stall_counts(AR_BAD_ADDRESS));
}

/* The descriptor detector: the same machine, its own words (RECEIVED is its success). */
static void test_descriptor_words(void **state)
{
	char why[STALL_REASON_MAX];
	enum stall_action a;
	(void)state;
	stall_init(&st, &stall_descriptors);
	assert_int_equal(stall_feed(&st, &in), STALL_NONE);
	assert_int_equal(fail_until_action(&a), 2 + TIMEOUT);
	assert_int_equal(a, STALL_ASK_NEWNYM);
	stall_reason(&st, in.now, why);
	assert_string_equal(why, "Tor has circuits, yet 6 descriptor fetches failed and none answered in 10 s");
	assert_int_equal(tick(0, 1), STALL_RECOVERED);
	stall_reason(&st, in.now, why);
	assert_string_equal(why, "a descriptor fetch answered");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_steps_in_order, fresh),
		cmocka_unit_test_setup(test_opened_stream_resets, fresh),
		cmocka_unit_test_setup(test_tor_not_ready, fresh),
		cmocka_unit_test_setup(test_no_evidence, fresh),
		cmocka_unit_test_setup(test_timeout_change, fresh),
		cmocka_unit_test_setup(test_kinds, fresh),
		cmocka_unit_test_setup(test_descriptor_words, fresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
