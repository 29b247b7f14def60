/* SPDX-License-Identifier: ISC */
/* Unit tests for bridgeline: Tor Bridge lines and transport names, accepted and refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "bridgeline.h"

#define FP "4C30B0D1A0F3B1E8C3A4E1F2D3C4B5A69788796A"
#define CERT "cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa+7kTOa9/m+tGWT1SmSYpQ9uTBGa6Hw"

static void expect_ok(const char *line, struct bridgeline *b)
{
	char err[BRIDGELINE_ERR_MAX];
	int rc = bridgeline_parse(line, b, err);
	if (rc != 0)
		print_error("'%s': %s\n", line, err);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
}

static void expect_error(const char *line, const char *want)
{
	char err[BRIDGELINE_ERR_MAX];
	struct bridgeline b;
	assert_int_equal(bridgeline_parse(line, &b, err), -1);
	assert_string_equal(err, want);
}

static void test_obfs4(void **state)
{
	struct bridgeline b;
	(void)state;
	expect_ok("obfs4 198.51.100.7:4430 " FP " " CERT " iat-mode=0", &b);
	assert_string_equal(b.transport, "obfs4");
	assert_int_equal(b.family, AF_INET);
	assert_memory_equal(b.addr, ((uint8_t[]){ 198, 51, 100, 7 }), 4);
	assert_int_equal(b.port, 4430);
	assert_string_equal(b.fingerprint, FP);
	assert_int_equal(b.n_args, 2);
	/* Blanks of any kind and number; the fingerprint uppercased; no fingerprint at all. */
	expect_ok("  obfs4\t[2001:db8::7]:443   4c30b0d1a0f3b1e8c3a4e1f2d3c4b5a69788796a iat-mode=2 " CERT "  ", &b);
	assert_int_equal(b.family, AF_INET6);
	assert_int_equal(b.port, 443);
	assert_string_equal(b.fingerprint, FP);
	expect_ok("obfs4 198.51.100.7:4430 " CERT " iat-mode=1", &b);
	assert_string_equal(b.fingerprint, "");
}

static void test_plain_and_other_transports(void **state)
{
	struct bridgeline b;
	(void)state;
	expect_ok("198.51.100.7:9001", &b);
	assert_string_equal(b.transport, "");
	assert_string_equal(b.fingerprint, "");
	expect_ok("198.51.100.7:9001 " FP, &b);
	assert_string_equal(b.fingerprint, FP);
	/* The fingerprint in groups of four, as `tor --list-fingerprint` prints it. */
	expect_ok("198.51.100.7:9001 4C30 B0D1 A0F3 B1E8 C3A4 E1F2 D3C4 B5A6 9788 796A", &b);
	assert_string_equal(b.fingerprint, FP);
	/* Another transport: arguments are its own business (key=value only). */
	expect_ok("meek_lite 192.0.2.2:80 " FP " url=https://example.test/ front=a.example.test", &b);
	assert_string_equal(b.transport, "meek_lite");
	assert_int_equal(b.n_args, 2);
	expect_ok("snowflake 192.0.2.3:80", &b);
	assert_int_equal(b.n_args, 0);
}

static void test_refused(void **state)
{
	(void)state;
	expect_error("", "empty: [TRANSPORT] ADDRESS:PORT [FINGERPRINT] [key=value ...]");
	expect_error("obfs4", "transport obfs4 names no ADDRESS:PORT");
	/* The template line of obfs4proxy's obfs4_bridgeline.txt, copied unedited. */
	expect_error("obfs4 <IP ADDRESS>:<PORT> <FINGERPRINT> " CERT " iat-mode=0", "'<IP' is not ADDRESS:PORT");
	expect_error("obfs4 198.51.100.7 " FP " " CERT " iat-mode=0", "'198.51.100.7' is not ADDRESS:PORT");
	expect_error("198.51.100.7:0", "'198.51.100.7:0' has no port from 1 to 65535");
	expect_error("198.51.100.7:65536", "'198.51.100.7:65536' has no port from 1 to 65535");
	expect_error("198.51.100.7:", "'198.51.100.7:' has no port from 1 to 65535");
	expect_error("198.51.100.7:4x3", "'198.51.100.7:4x3' has no port from 1 to 65535");
	expect_error("198.51.100.700:443", "'198.51.100.700' is not an IPv4 address or a bracketed IPv6 address");
	expect_error("2001:db8::7:443", "'2001:db8::7' is not an IPv4 address or a bracketed IPv6 address");
	expect_error("[2001:db8::7]", "'[2001:db8::7]' is not [IPv6]:PORT");
	expect_error("[]:443", "'[]:443' is not [IPv6]:PORT");
	expect_error("[198.51.100.7]:443", "'198.51.100.7' is not an IPv4 address or a bracketed IPv6 address");
	expect_error("mail.example.test:443", "'mail.example.test' is not an IPv4 address or a bracketed IPv6 address");
	expect_error("198.51.100.7:9001 " FP "AA", "the fingerprint must be 40 hex digits");
	expect_error("198.51.100.7:9001 4C30B0D1A0F3B1E8C3A4E1F2D3C4B5A69788796", "the fingerprint must be 40 hex digits");
	expect_error("198.51.100.7:9001 " FP " cert=x", "the fingerprint must be 40 hex digits");
	expect_error("obfs4 198.51.100.7:4430 ZZ30B0D1A0F3B1E8C3A4E1F2D3C4B5A69788796A " CERT " iat-mode=0",
		     "the fingerprint must be 40 hex digits");
	expect_error("obfs4 198.51.100.7:4430 " FP " iat-mode=0", "an obfs4 bridge needs its cert= argument");
	expect_error("obfs4 198.51.100.7:4430 " FP " cert= iat-mode=0", "an obfs4 bridge needs its cert= argument");
	expect_error("obfs4 198.51.100.7:4430 " FP " " CERT, "an obfs4 bridge needs iat-mode=0, 1 or 2");
	expect_error("obfs4 198.51.100.7:4430 " FP " " CERT " iat-mode=3", "an obfs4 bridge needs iat-mode=0, 1 or 2");
	expect_error("obfs4 198.51.100.7:4430 " FP " " CERT " iat-mode=0 extra",
		     "'extra' is not a key=value transport argument");
	expect_error("obfs4 198.51.100.7:4430 " FP " " CERT " =0", "'=0' is not a key=value transport argument");
	expect_error("obfs4 198.51.100.7:4430 " FP " caf\xc3\xa9=1", "a control or non-ASCII byte (0xc3)");
	expect_error("9obfs4 198.51.100.7:4430", "'9obfs4' is not ADDRESS:PORT");
}

static void test_bounds(void **state)
{
	char line[BRIDGELINE_MAX_BYTES + 64], err[BRIDGELINE_ERR_MAX];
	struct bridgeline b;
	(void)state;
	/* 16 arguments pass, 17 do not. */
	int n = snprintf(line, sizeof(line), "x 192.0.2.1:1");
	for (int i = 0; i < BRIDGELINE_MAX_ARGS; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " k%d=v", i);
	expect_ok(line, &b);
	assert_int_equal(b.n_args, BRIDGELINE_MAX_ARGS);
	snprintf(line + n, sizeof(line) - (size_t)n, " k=v");
	expect_error(line, "more than 16 transport arguments");
	/* 510 bytes of arguments pass, 511 do not. */
	n = snprintf(line, sizeof(line), "x 192.0.2.1:1 a=");
	memset(line + n, 'v', BRIDGELINE_MAX_ARGS_BYTES - 2);
	line[n + BRIDGELINE_MAX_ARGS_BYTES - 2] = '\0';
	expect_ok(line, &b);
	strcat(line, "v");
	expect_error(line, "the transport arguments take 511 bytes, more than 510");
	/* A line longer than 1024 bytes. */
	memset(line, ' ', BRIDGELINE_MAX_BYTES + 1);
	line[BRIDGELINE_MAX_BYTES + 1] = '\0';
	assert_int_equal(bridgeline_parse(line, &b, err), -1);
	assert_string_equal(err, "longer than 1024 bytes");
	/* Words: the split stops at its bound before the arguments are counted. */
	n = snprintf(line, sizeof(line), "192.0.2.1:1");
	for (int i = 0; i < 40; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " A");
	expect_error(line, "more than 28 words");
}

static void test_transport_names(void **state)
{
	(void)state;
	assert_true(bridgeline_transport_valid("obfs4", 5));
	assert_true(bridgeline_transport_valid("meek_lite", 9));
	assert_true(bridgeline_transport_valid("_x", 2));
	assert_false(bridgeline_transport_valid("", 0));
	assert_false(bridgeline_transport_valid("4obfs", 5));
	assert_false(bridgeline_transport_valid("obfs-4", 6));
	assert_false(bridgeline_transport_valid("abcdefghijklmnopqrstuvwxyz0123456", 33));
	assert_true(bridgeline_transport_valid("abcdefghijklmnopqrstuvwxyz012345", 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_obfs4),
		cmocka_unit_test(test_plain_and_other_transports),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_transport_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
