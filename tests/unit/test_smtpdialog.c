/* SPDX-License-Identifier: ISC */
/* Unit tests for smtpdialog: the relay check's SMTP dialogue against scripted servers: a relay
 * refused and one accepted, multiline and split replies, and each bound (line, lines, bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtpdialog.h"

static void start(struct smtpdialog *d)
{
	assert_int_equal(smtpdialog_init(d, "oniongate.invalid", "check@oniongate.invalid", "relay-test@third.invalid"), 0);
}

static void feed(struct smtpdialog *d, const char *s)
{
	smtpdialog_feed(d, s, strlen(s));
}

static void expect_cmd(struct smtpdialog *d, const char *want)
{
	char out[SMTPDIALOG_CMD_MAX];
	assert_int_equal(smtpdialog_take(d, out), strlen(want));
	assert_string_equal(out, want);
}

/* Up to RCPT: banner, EHLO (multiline), MAIL. */
static void to_rcpt(struct smtpdialog *d)
{
	start(d);
	feed(d, "220 mail.lan.test ESMTP Postfix\r\n");
	expect_cmd(d, "EHLO oniongate.invalid\r\n");
	feed(d, "250-mail.lan.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	expect_cmd(d, "MAIL FROM:<check@oniongate.invalid>\r\n");
	feed(d, "250 2.1.0 Ok\r\n");
	expect_cmd(d, "RCPT TO:<relay-test@third.invalid>\r\n");
	assert_int_equal(d->state, SD_RCPT);
}

static void test_relay_refused(void **state)
{
	struct smtpdialog d;
	(void)state;
	to_rcpt(&d);
	feed(&d, "554 5.7.1 <relay-test@third.invalid>: Relay access denied\r\n");
	expect_cmd(&d, "QUIT\r\n");
	assert_int_equal(d.rcpt_code, 554);
	assert_false(smtpdialog_open_relay(&d));
	assert_string_equal(d.rcpt_reply, "554 5.7.1 <relay-test@third.invalid>: Relay access denied");
	assert_string_equal(d.banner, "220 mail.lan.test ESMTP Postfix");
	feed(&d, "221 2.0.0 Bye\r\n");
	assert_int_equal(d.state, SD_DONE);
}

static void test_open_relay_and_eof_after_quit(void **state)
{
	struct smtpdialog d;
	(void)state;
	to_rcpt(&d);
	feed(&d, "250 2.1.5 Ok\r\n");
	expect_cmd(&d, "QUIT\r\n");
	assert_true(smtpdialog_open_relay(&d));
	smtpdialog_eof(&d);
	assert_int_equal(d.state, SD_DONE);
}

static void test_deferred_relay_is_refused(void **state)
{
	struct smtpdialog d;
	(void)state;
	to_rcpt(&d);
	feed(&d, "454 4.7.1 <relay-test@third.invalid>: Relay access denied\r\n");
	assert_int_equal(d.rcpt_code, 454);
	assert_false(smtpdialog_open_relay(&d));
}

/* A byte at a time, bare LF line ends: the same dialogue. */
static void test_split_reads(void **state)
{
	struct smtpdialog d;
	const char *banner = "220-first\n220 second\n";
	(void)state;
	start(&d);
	for (const char *p = banner; *p; p++)
		smtpdialog_feed(&d, p, 1);
	assert_string_equal(d.banner, "220-first");
	expect_cmd(&d, "EHLO oniongate.invalid\r\n");
}

static void test_bad_replies(void **state)
{
	struct smtpdialog d;
	(void)state;
	start(&d);
	feed(&d, "554 5.3.2 not now\r\n");
	assert_int_equal(d.state, SD_FAILED);
	assert_string_equal(d.error, "the banner is not 220: 554 5.3.2 not now");

	start(&d);
	feed(&d, "HTTP/1.1 400 Bad Request\r\n");
	assert_int_equal(d.state, SD_FAILED);

	start(&d);
	feed(&d, "220-a\r\n250 b\r\n");
	assert_int_equal(d.state, SD_FAILED);

	start(&d);
	feed(&d, "220 x\r\n");
	expect_cmd(&d, "EHLO oniongate.invalid\r\n");
	feed(&d, "502 5.5.1 no\r\n");
	assert_int_equal(d.state, SD_FAILED);
	assert_string_equal(d.error, "EHLO refused: 502 5.5.1 no");

	start(&d);
	feed(&d, "220 x\r\n");
	smtpdialog_eof(&d);
	assert_int_equal(d.state, SD_FAILED);
	assert_string_equal(d.error, "the server closed the connection before the EHLO reply");

	start(&d);
	smtpdialog_feed(&d, "220 a\0b\r\n", 9);
	assert_int_equal(d.state, SD_FAILED);
}

static void test_bounds(void **state)
{
	struct smtpdialog d;
	char line[SMTPDIALOG_LINE_MAX + 10];
	(void)state;
	start(&d);
	memset(line, 'x', sizeof(line));
	memcpy(line, "220 ", 4);
	smtpdialog_feed(&d, line, SMTPDIALOG_LINE_MAX);
	assert_int_equal(d.state, SD_BANNER);
	smtpdialog_feed(&d, line, 1);
	assert_int_equal(d.state, SD_FAILED);
	assert_string_equal(d.error, "a reply line longer than 512 bytes in banner");

	start(&d);
	for (int i = 0; i < SMTPDIALOG_REPLY_LINES_MAX; i++)
		feed(&d, "220-more\r\n");
	assert_int_equal(d.state, SD_BANNER);
	feed(&d, "220-more\r\n");
	assert_int_equal(d.state, SD_FAILED);

	/* Long multiline replies within the line bounds still end at the byte bound: the banner
	 * EHLO and MAIL replies of 60 lines of 500 bytes each. */
	char big[501];
	start(&d);
	memset(big, 'x', sizeof(big));
	for (int reply = 0; reply < 3 && d.state != SD_FAILED; reply++) {
		for (int i = 0; i < 60 && d.state != SD_FAILED; i++) {
			memcpy(big, reply == 0 ? (i < 59 ? "220-" : "220 ") : (i < 59 ? "250-" : "250 "), 4);
			big[498] = '\r';
			big[499] = '\n';
			smtpdialog_feed(&d, big, 500);
		}
		smtpdialog_take(&d, line);
	}
	assert_int_equal(d.state, SD_FAILED);
	assert_string_equal(d.error, "the server sent more than 65536 bytes");
}

static void test_init_refuses_injection(void **state)
{
	struct smtpdialog d;
	(void)state;
	assert_int_equal(smtpdialog_init(&d, "a\r\nDATA", "x@y", "z@w"), -1);
	assert_int_equal(smtpdialog_init(&d, "a", "x>@y", "z@w"), -1);
	char big[SMTPDIALOG_CMD_MAX];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(smtpdialog_init(&d, "a", "x@y", big), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_refused),
		cmocka_unit_test(test_open_relay_and_eof_after_quit),
		cmocka_unit_test(test_deferred_relay_is_refused),
		cmocka_unit_test(test_split_reads),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_init_refuses_injection),
	};
	return cmocka_run_group_tests_name("smtpdialog", tests, NULL, NULL);
}
