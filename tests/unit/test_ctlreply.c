/* SPDX-License-Identifier: ISC */
/* Unit tests for ctlreply: control-protocol replies, data blocks, events, KEY=VALUE lookups,
 * and the malformed input that must be dropped without harm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctlreply.h"

static enum ctl_status feed(struct ctl_parser *p, const char *line, struct ctl_reply **out)
{
	return ctl_parser_line(p, line, strlen(line), out);
}

static void test_single_line(void **state)
{
	struct ctl_parser *p = ctl_parser_new();
	struct ctl_reply *r;
	(void)state;
	assert_int_equal(feed(p, "250 OK", &r), CTL_REPLY_DONE);
	assert_int_equal(r->code, 250);
	assert_false(r->async);
	assert_int_equal(r->n_lines, 1);
	assert_string_equal(r->lines[0].text, "OK");
	ctl_reply_free(r);
	assert_int_equal(feed(p, "552 Unrecognized key \"x\"", &r), CTL_REPLY_DONE);
	assert_int_equal(r->code, 552);
	ctl_reply_free(r);
	ctl_parser_free(p);
}

static void test_multi_line_and_data(void **state)
{
	struct ctl_parser *p = ctl_parser_new();
	struct ctl_reply *r;
	(void)state;
	assert_int_equal(feed(p, "250-version=0.4.9.11", &r), CTL_NEED_MORE);
	assert_null(r);
	assert_int_equal(feed(p, "250+config-text=", &r), CTL_NEED_MORE);
	assert_int_equal(feed(p, "SocksPort 0", &r), CTL_NEED_MORE);
	assert_int_equal(feed(p, "..leading dot", &r), CTL_NEED_MORE);
	assert_int_equal(feed(p, "", &r), CTL_NEED_MORE);
	assert_int_equal(feed(p, ".", &r), CTL_NEED_MORE);
	assert_int_equal(feed(p, "250 OK", &r), CTL_REPLY_DONE);
	assert_int_equal(r->n_lines, 3);
	assert_string_equal(r->lines[0].text, "version=0.4.9.11");
	assert_int_equal(r->lines[1].sep, '+');
	assert_string_equal(r->lines[1].data, "SocksPort 0\n.leading dot\n");
	assert_int_equal(r->lines[1].data_len, strlen("SocksPort 0\n.leading dot\n"));
	assert_null(r->lines[2].data);
	ctl_reply_free(r);

	assert_int_equal(feed(p, "250+empty=", &r), CTL_NEED_MORE);
	assert_int_equal(feed(p, ".", &r), CTL_NEED_MORE);
	assert_int_equal(feed(p, "250 OK", &r), CTL_REPLY_DONE);
	assert_string_equal(r->lines[0].data, "");
	ctl_reply_free(r);
	ctl_parser_free(p);
}

static void test_async_event(void **state)
{
	struct ctl_parser *p = ctl_parser_new();
	struct ctl_reply *r;
	char v[64];
	(void)state;
	assert_int_equal(feed(p, "650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY=\"Done\"", &r),
			 CTL_REPLY_DONE);
	assert_true(r->async);
	assert_int_equal(r->code, 650);
	assert_int_equal(ctl_text_value(r->lines[0].text, "PROGRESS", v, sizeof(v)), 0);
	assert_string_equal(v, "100");
	assert_int_equal(ctl_text_value(r->lines[0].text, "SUMMARY", v, sizeof(v)), 0);
	assert_string_equal(v, "Done");
	ctl_reply_free(r);
	ctl_parser_free(p);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "25", "250", "25 OK", "abc OK", "250xOK", "750 nope", "099 low", "2a0 OK",
	};
	struct ctl_parser *p = ctl_parser_new();
	struct ctl_reply *r;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(feed(p, bad[i], &r), CTL_MALFORMED);

	/* A reply whose lines switch class is dropped whole; the next one parses. */
	assert_int_equal(feed(p, "250-first", &r), CTL_NEED_MORE);
	assert_int_equal(feed(p, "650 STATUS_CLIENT x", &r), CTL_MALFORMED);
	assert_int_equal(feed(p, "250 OK", &r), CTL_REPLY_DONE);
	assert_int_equal(r->n_lines, 1);
	ctl_reply_free(r);

	static const char with_nul[] = "250 O\0K";
	assert_int_equal(ctl_parser_line(p, with_nul, sizeof(with_nul) - 1, &r), CTL_MALFORMED);
	ctl_parser_free(p);
}

static void test_limits(void **state)
{
	struct ctl_parser *p = ctl_parser_new();
	struct ctl_reply *r;
	enum ctl_status st = CTL_NEED_MORE;
	char big[1024];
	(void)state;
	for (int i = 0; i <= CTL_MAX_LINES && st == CTL_NEED_MORE; i++)
		st = feed(p, "250-x=y", &r);
	assert_int_equal(st, CTL_MALFORMED);

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	st = feed(p, "250+huge=", &r);
	for (int i = 0; i < 2 * CTL_MAX_DATA / 1024 && st == CTL_NEED_MORE; i++)
		st = feed(p, big, &r);
	assert_int_equal(st, CTL_MALFORMED);
	assert_int_equal(feed(p, "250 OK", &r), CTL_REPLY_DONE);
	ctl_reply_free(r);
	ctl_parser_free(p);
}

static void test_text_value(void **state)
{
	char v[16];
	(void)state;
	const char *t = "status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=85 TAG=ap_conn "
			"SUMMARY=\"Connecting to a \\\"relay\\\" PROGRESS=9\" HOST=\"a b\" LAST=x";
	assert_int_equal(ctl_text_value(t, "PROGRESS", v, sizeof(v)), 0);
	assert_string_equal(v, "85");
	assert_int_equal(ctl_text_value(t, "HOST", v, sizeof(v)), 0);
	assert_string_equal(v, "a b");
	assert_int_equal(ctl_text_value(t, "LAST", v, sizeof(v)), 0);
	assert_string_equal(v, "x");
	assert_int_equal(ctl_text_value(t, "PROG", v, sizeof(v)), -1);
	assert_int_equal(ctl_text_value(t, "MISSING", v, sizeof(v)), -1);
	assert_int_equal(ctl_text_value(t, "SUMMARY", v, sizeof(v)), -1); /* longer than out */
	assert_int_equal(ctl_text_value("A=\"unterminated PROGRESS=1", "PROGRESS", v, sizeof(v)), -1);
	assert_int_equal(ctl_text_value("A=\"x\\q\"", "A", v, sizeof(v)), -1);
	assert_int_equal(ctl_text_value("A=\"tab\\tnl\\n\"", "A", v, sizeof(v)), 0);
	assert_string_equal(v, "tab\tnl\n");
	assert_int_equal(ctl_text_value("A=1", "A", v, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line), cmocka_unit_test(test_multi_line_and_data),
		cmocka_unit_test(test_async_event), cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),      cmocka_unit_test(test_text_value),
	};
	return cmocka_run_group_tests_name("ctlreply", tests, NULL, NULL);
}
