/* SPDX-License-Identifier: ISC */
/* Unit tests for ctlproto: request lines (commands, json flag, lookup domains, what is refused),
 * and reply headers both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctlproto.h"

static int parse(const char *line, struct ctlp_request *req)
{
	char err[CTLPROTO_ERR_MAX];
	return ctlproto_parse_request(line, strlen(line), req, err);
}

static void test_commands(void **state)
{
	struct ctlp_request r;
	(void)state;
	assert_int_equal(parse("status", &r), 0);
	assert_int_equal(r.cmd, CTLP_STATUS);
	assert_false(r.json);
	assert_int_equal(parse("streams json", &r), 0);
	assert_int_equal(r.cmd, CTLP_STREAMS);
	assert_true(r.json);
	assert_int_equal(parse("onions\r", &r), 0);
	assert_int_equal(r.cmd, CTLP_ONIONS);
	assert_int_equal(parse("reload", &r), 0);
	assert_int_equal(r.cmd, CTLP_RELOAD);
	assert_int_equal(parse("onion-mx json", &r), 0);
	assert_int_equal(r.cmd, CTLP_ONION_MX);
	assert_true(r.json);
	assert_int_equal(parse("onion-mx-check", &r), 0);
	assert_int_equal(r.cmd, CTLP_ONION_MX_CHECK);
	assert_int_equal(parse("lookup Example.ORG.", &r), 0);
	assert_int_equal(r.cmd, CTLP_LOOKUP);
	assert_string_equal(r.domain, "example.org");
	assert_false(r.json);
	/* the arity decides: a domain named json, then the flag */
	assert_int_equal(parse("lookup json", &r), 0);
	assert_string_equal(r.domain, "json");
	assert_false(r.json);
	assert_int_equal(parse("lookup json json", &r), 0);
	assert_true(r.json);
}

static void test_refused(void **state)
{
	struct ctlp_request r;
	char err[CTLPROTO_ERR_MAX], line[CTLPROTO_LINE_MAX + 8];
	(void)state;
	const char *bad[] = { "", " ", "Status", "status  json", " status", "status ", "status xml", "status json json",
			      "lookup", "lookup a..b", "lookup .", "lookup a_b$", "lookup a b", "reload now", "stop", "onion-mx now", "onion-mx-check example.org",
			      "status\tjson", "lookup \xc3\xa9.org", "lookup a.b..", "lookup a.b json x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &r), -1);
	/* A label of 64 bytes, a name over 253. */
	snprintf(line, sizeof(line), "lookup %064d.org", 0);
	assert_int_equal(parse(line, &r), -1);
	snprintf(line, sizeof(line), "lookup %063d.%063d.%063d.%062d", 0, 0, 0, 0);
	assert_int_equal(parse(line, &r), -1);
	snprintf(line, sizeof(line), "lookup %063d.%063d.%063d.%061d", 0, 0, 0, 0);
	assert_int_equal(parse(line, &r), 0);
	assert_int_equal(strlen(r.domain), 253);
	/* The line bound itself. */
	memset(line, 'a', sizeof(line));
	assert_int_equal(ctlproto_parse_request(line, CTLPROTO_LINE_MAX, &r, err), -1);
	assert_non_null(strstr(err, "longer"));
}

static void test_format_request(void **state)
{
	struct ctlp_request r = { .cmd = CTLP_LOOKUP, .json = true }, back;
	char buf[CTLPROTO_LINE_MAX];
	(void)state;
	strcpy(r.domain, "example.org");
	int n = ctlproto_format_request(&r, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen("lookup example.org json\n"));
	assert_string_equal(buf, "lookup example.org json\n");
	char err[CTLPROTO_ERR_MAX];
	assert_int_equal(ctlproto_parse_request(buf, (size_t)n - 1, &back, err), 0);
	assert_int_equal(back.cmd, CTLP_LOOKUP);
	assert_true(back.json);
	assert_string_equal(back.domain, "example.org");
	r = (struct ctlp_request){ .cmd = CTLP_STATUS };
	assert_int_equal(ctlproto_format_request(&r, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "status\n");
	assert_int_equal(ctlproto_format_request(&r, buf, 4), -1);
}

static void test_headers(void **state)
{
	char buf[CTLPROTO_HEADER_MAX];
	enum ctlp_status st;
	size_t len;
	(void)state;
	int n = ctlproto_format_header(CTLP_NOT_READY, 1234, buf);
	assert_string_equal(buf, "not-ready 1234\n");
	assert_int_equal(ctlproto_parse_header(buf, (size_t)n - 1, &st, &len), 0);
	assert_int_equal(st, CTLP_NOT_READY);
	assert_int_equal(len, 1234);
	assert_int_equal(ctlproto_parse_header("ok 0", 4, &st, &len), 0);
	assert_int_equal(st, CTLP_OK);
	assert_int_equal(len, 0);
	assert_int_equal(ctlproto_parse_header("error 4194304", 13, &st, &len), 0);
	assert_int_equal(st, CTLP_ERROR);
	const char *bad[] = { "ok", "ok ", "ok 01", "ok -1", "ok 4194305", "fine 1", "ok 1 ", "ok 123456789", " ok 1", "ok x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ctlproto_parse_header(bad[i], strlen(bad[i]), &st, &len), -1);
}

static void test_names(void **state)
{
	enum ctlp_command c;
	(void)state;
	assert_int_equal(ctlproto_command_of("onions", &c), 0);
	assert_int_equal(c, CTLP_ONIONS);
	assert_string_equal(ctlproto_command_name(CTLP_LOOKUP), "lookup");
	assert_int_equal(ctlproto_command_of("onion", &c), -1);
	assert_string_equal(ctlproto_status_name(CTLP_ERROR), "error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),       cmocka_unit_test(test_refused), cmocka_unit_test(test_format_request),
		cmocka_unit_test(test_headers),        cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
