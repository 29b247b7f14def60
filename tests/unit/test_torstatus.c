/* SPDX-License-Identifier: ISC */
/* Unit tests for torstatus: CLOCK_SKEW and CLOCK_JUMPED parsed from STATUS_GENERAL events,
 * malformed ones told apart, and a replay of a control stream (through the reply parser, as the
 * control connection feeds it) that starts, changes and ends a skew. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctlreply.h"
#include "onion_fixture.h"
#include "torstatus.h"

static void expect(const char *text, enum torstatus_kind kind, int64_t seconds, const char *source)
{
	struct torstatus_event ev;
	print_message("%s\n", text);
	assert_int_equal(torstatus_parse(text, &ev), kind);
	if (kind == TORSTATUS_CLOCK_SKEW || kind == TORSTATUS_CLOCK_JUMPED) {
		assert_int_equal(ev.seconds, seconds);
		assert_string_equal(ev.source, source);
	}
}

/* What Tor sends (connection.c clock_skew_warning, circuitbuild.c circuit_note_clock_jumped). */
static void test_parse(void **state)
{
	(void)state;
	expect("STATUS_GENERAL WARN CLOCK_SKEW SKEW=-3600 SOURCE=OR:198.51.100.1:5000", TORSTATUS_CLOCK_SKEW, -3600,
	       "OR:198.51.100.1:5000");
	expect("STATUS_GENERAL WARN CLOCK_SKEW SKEW=+86400 SOURCE=CONSENSUS", TORSTATUS_CLOCK_SKEW, 86400, "CONSENSUS");
	expect("STATUS_GENERAL WARN CLOCK_SKEW MIN_SKEW=7200 SOURCE=DIRSERV:[2001:db8::1]:80", TORSTATUS_CLOCK_SKEW, 7200,
	       "DIRSERV:[2001:db8::1]:80");
	expect("STATUS_GENERAL WARN CLOCK_JUMPED TIME=-120 IDLE=0", TORSTATUS_CLOCK_JUMPED, -120, "");
	expect("STATUS_GENERAL NOTICE CONSENSUS_ARRIVED", TORSTATUS_OTHER, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_SKEWED SKEW=1 SOURCE=X", TORSTATUS_OTHER, 0, "");
	expect("STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED", TORSTATUS_OTHER, 0, "");
	expect("STATUS_GENERAL", TORSTATUS_OTHER, 0, "");
	expect("", TORSTATUS_OTHER, 0, "");
}

static void test_malformed(void **state)
{
	(void)state;
	expect("STATUS_GENERAL WARN CLOCK_SKEW", TORSTATUS_MALFORMED, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_SKEW SKEW=abc SOURCE=CONSENSUS", TORSTATUS_MALFORMED, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_SKEW SKEW=- SOURCE=CONSENSUS", TORSTATUS_MALFORMED, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_SKEW SKEW=12x SOURCE=CONSENSUS", TORSTATUS_MALFORMED, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_SKEW SKEW=99999999999999999999 SOURCE=CONSENSUS", TORSTATUS_MALFORMED, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_SKEW SKEW=3155760001 SOURCE=CONSENSUS", TORSTATUS_MALFORMED, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_SKEW SKEW=5", TORSTATUS_MALFORMED, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_SKEW SKEW=5 SOURCE=\"a\\nSTATUS=x\"", TORSTATUS_MALFORMED, 0, "");
	char long_source[200] = "STATUS_GENERAL WARN CLOCK_SKEW SKEW=5 SOURCE=";
	memset(long_source + strlen(long_source), 'a', TORSTATUS_SOURCE_MAX); /* one more than fits */
	expect(long_source, TORSTATUS_MALFORMED, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_JUMPED", TORSTATUS_MALFORMED, 0, "");
	expect("STATUS_GENERAL WARN CLOCK_JUMPED TIME=", TORSTATUS_MALFORMED, 0, "");
}

/* GETINFO status/bootstrap-phase: a skew found before the events were subscribed to. */
static void test_bootstrap(void **state)
{
	struct torstatus_clock clock = { 0 };
	struct torstatus_event ev;
	bool changed;
	(void)state;
	assert_int_equal(torstatus_clock_bootstrap(&clock, "status/bootstrap-phase=WARN BOOTSTRAP PROGRESS=0 TAG=starting "
				 "SUMMARY=\"Starting\" WARNING=\"Clock skew -7200 in local state file from "
				 "/var/lib/oniongate/tor/state\" REASON=CLOCK_SKEW COUNT=1 RECOMMENDATION=warn "
				 "HOSTID=\"?\" HOSTADDR=\"?\"", &ev, &changed),
			 TORSTATUS_CLOCK_SKEW);
	assert_true(changed);
	assert_true(clock.skewed);
	assert_int_equal(clock.skew.seconds, -7200);
	assert_string_equal(clock.skew.source, "/var/lib/oniongate/tor/state");
	assert_int_equal(torstatus_clock_bootstrap(&clock, "status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=0 TAG=starting "
				 "SUMMARY=\"Starting\"", &ev, &changed),
			 TORSTATUS_OTHER);
	assert_false(changed);
	assert_true(clock.skewed);
	assert_int_equal(torstatus_clock_bootstrap(&clock, "status/bootstrap-phase=WARN BOOTSTRAP PROGRESS=10 "
				 "WARNING=\"Connection refused\" REASON=CONNECTREFUSED", &ev, &changed),
			 TORSTATUS_OTHER);
	static const char *const bad[] = {
		"status/bootstrap-phase=WARN BOOTSTRAP PROGRESS=0 REASON=CLOCK_SKEW",
		"status/bootstrap-phase=WARN BOOTSTRAP WARNING=\"Something else\" REASON=CLOCK_SKEW",
		"status/bootstrap-phase=WARN BOOTSTRAP WARNING=\"Clock skew x in consensus from CONSENSUS\" REASON=CLOCK_SKEW",
		"status/bootstrap-phase=WARN BOOTSTRAP WARNING=\"Clock skew 5 in consensus\" REASON=CLOCK_SKEW",
		"status/bootstrap-phase=WARN BOOTSTRAP WARNING=\"Clock skew 5 in consensus from \" REASON=CLOCK_SKEW",
		"status/bootstrap-phase=WARN BOOTSTRAP WARNING=\"Clock skew 5 in x from a b\" REASON=CLOCK_SKEW",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(torstatus_clock_bootstrap(&clock, bad[i], &ev, &changed), TORSTATUS_MALFORMED);
		assert_false(changed);
	}
	assert_int_equal(clock.skew.seconds, -7200);
}

/* A control stream as Tor sends it, line by line through the reply parser: each event's text goes
 * to the clock state as control.c does; the state after each is checked. */
static void test_replay(void **state)
{
	static const struct {
		const char *line;
		bool ready;   /* Tor becomes ready with this line (CIRCUIT_ESTABLISHED at 100%) */
		bool changed; /* the skew began, changed or ended */
		bool skewed;
		int64_t skew;
	} stream[] = {
		{ "250 OK", false, false, false, 0 },
		{ "650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY=\"Connecting to a relay\"", false, false, false, 0 },
		{ "650 STATUS_GENERAL WARN CLOCK_SKEW SKEW=-3600 SOURCE=CONSENSUS", false, true, true, -3600 },
		{ "650 STATUS_GENERAL WARN CLOCK_SKEW SKEW=-3600 SOURCE=CONSENSUS", false, false, true, -3600 },
		{ "650 STATUS_GENERAL WARN CLOCK_SKEW SKEW=nonsense SOURCE=CONSENSUS", false, false, true, -3600 },
		{ "650 STATUS_GENERAL WARN CLOCK_SKEW SKEW=-3599 SOURCE=OR:198.51.100.1:5000", false, true, true, -3599 },
		{ "650 STATUS_GENERAL NOTICE CONSENSUS_ARRIVED", false, false, true, -3599 },
		{ "650 STATUS_GENERAL WARN CLOCK_JUMPED TIME=3600 IDLE=0", false, true, false, -3599 },
		{ "650 STATUS_GENERAL WARN CLOCK_SKEW SKEW=7200 SOURCE=CONSENSUS", false, true, true, 7200 },
		{ "650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED", true, true, false, 7200 },
		{ "650 STATUS_GENERAL WARN CLOCK_JUMPED TIME=5 IDLE=1", false, false, false, 7200 },
	};
	struct ctl_parser *p = ctl_parser_new();
	struct torstatus_clock clock = { 0 };
	(void)state;
	assert_non_null(p);
	for (size_t i = 0; i < sizeof(stream) / sizeof(stream[0]); i++) {
		struct ctl_reply *r;
		struct torstatus_event ev;
		bool changed = false;
		print_message("%zu: %s\n", i, stream[i].line);
		assert_int_equal(ctl_parser_line(p, stream[i].line, strlen(stream[i].line), &r), CTL_REPLY_DONE);
		if (r->async && strncmp(r->lines[0].text, "STATUS_GENERAL ", 15) == 0)
			torstatus_clock_event(&clock, r->lines[0].text, &ev, &changed);
		if (stream[i].ready)
			changed = torstatus_clock_ready(&clock);
		ctl_reply_free(r);
		assert_int_equal(changed, stream[i].changed);
		assert_int_equal(clock.skewed, stream[i].skewed);
		assert_int_equal(clock.skew.seconds, stream[i].skew);
	}
	ctl_parser_free(p);
}

/* HS_DESC: a client fetch answered or failed at one HSDir; an upload's failure and an unknown address are
 * not ours; a bad address is malformed. */
static void test_hs_desc(void **state)
{
	char onion[ONION_NAME_LEN + 1], addr[63];
	char text[300];
	(void)state;
	make_onion(7, addr); /* "<56>.onion": the event carries the 56 characters */
	snprintf(text, sizeof(text), "HS_DESC RECEIVED %.56s NO_AUTH $%040d~relay2 %s", addr, 0, "xyz");
	assert_int_equal(torstatus_hs_desc(text, onion), TORSTATUS_DESC_RECEIVED);
	assert_int_equal(strlen(onion), ONION_NAME_LEN);
	assert_string_equal(onion, addr);
	snprintf(text, sizeof(text), "HS_DESC FAILED %.56s NO_AUTH $%040d REASON=NOT_FOUND", addr, 0);
	assert_int_equal(torstatus_hs_desc(text, onion), TORSTATUS_DESC_FAILED);
	snprintf(text, sizeof(text), "HS_DESC FAILED %.56s NO_AUTH $%040d REASON=UPLOAD_REJECTED", addr, 0);
	assert_int_equal(torstatus_hs_desc(text, onion), TORSTATUS_DESC_OTHER);
	assert_int_equal(torstatus_hs_desc("HS_DESC FAILED UNKNOWN NO_AUTH $AB REASON=QUERY_NO_HSDIR", onion),
			 TORSTATUS_DESC_OTHER);
	assert_int_equal(torstatus_hs_desc("HS_DESC REQUESTED x NO_AUTH $AB", onion), TORSTATUS_DESC_OTHER);
	assert_int_equal(torstatus_hs_desc("STATUS_GENERAL NOTICE X", onion), TORSTATUS_DESC_OTHER);
	assert_int_equal(torstatus_hs_desc("HS_DESC FAILED tooshort NO_AUTH", onion), TORSTATUS_DESC_MALFORMED);
	snprintf(text, sizeof(text), "HS_DESC RECEIVED %.55s%c NO_AUTH", addr, addr[55] == 'a' ? 'b' : 'a');
	assert_int_equal(torstatus_hs_desc(text, onion), TORSTATUS_DESC_MALFORMED); /* checksum broken */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bootstrap),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_hs_desc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
