/* SPDX-License-Identifier: ISC */
/* Unit tests for socks5: the client state machine against a scripted server: every reply
 * code, Tor's extended codes, short reads, bound addresses of each type, and garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "socks5.h"

#define ONION "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"

/* Feeds bytes one at a time (the shortest reads there are) until an event other than NEED_MORE. */
static enum socks5_event feed_bytewise(struct socks5 *s, const uint8_t *in, size_t len, size_t *consumed)
{
	enum socks5_event ev = SOCKS5_NEED_MORE;
	*consumed = 0;
	while (*consumed < len) {
		size_t used;
		ev = socks5_input(s, in + *consumed, 1, &used);
		*consumed += used;
		if (ev != SOCKS5_NEED_MORE)
			return ev;
	}
	return ev;
}

static void test_handshake_with_auth(void **state)
{
	struct socks5 s;
	uint8_t out[600];
	size_t n, used;
	(void)state;
	assert_int_equal(socks5_init(&s, ONION, 25, ONION, "oniongate"), 0);
	n = socks5_request(&s, out, sizeof(out));
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\x05\x01\x02", 3);
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x05\x02", 2, &used), SOCKS5_SEND);
	assert_int_equal(used, 2);
	/* The credentials and the CONNECT in one write. */
	n = socks5_request(&s, out, sizeof(out));
	size_t auth = 3 + strlen(ONION) + 9;
	assert_int_equal(n, auth + 7 + strlen(ONION));
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], strlen(ONION));
	assert_memory_equal(out + 2 + strlen(ONION), "\x09oniongate", 10);
	assert_memory_equal(out + auth, "\x05\x01\x00\x03", 4);
	assert_int_equal(out[auth + 4], strlen(ONION));
	assert_memory_equal(out + auth + 5, ONION, strlen(ONION));
	assert_int_equal(out[n - 2], 0);
	assert_int_equal(out[n - 1], 25);
	/* The auth status asks for nothing more to be sent. */
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x01\x00", 2, &used), SOCKS5_NEED_MORE);
	assert_int_equal(used, 2);
	assert_int_equal(socks5_request(&s, out, sizeof(out)), 7 + strlen(ONION));
	/* Success with an IPv4 bound address, then stream bytes in the same read. */
	static const uint8_t reply[] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0, '2', '2', '0' };
	assert_int_equal(socks5_input(&s, reply, sizeof(reply), &used), SOCKS5_CONNECTED);
	assert_int_equal(used, 10);
	assert_int_equal(s.state, SOCKS5_DONE);
}

/* The auth status and the CONNECT reply in one read (they answer one write): connected. */
static void test_auth_and_connect_replies_together(void **state)
{
	static const uint8_t replies[] = { 1, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0, 'x' };
	struct socks5 s;
	uint8_t out[600];
	size_t used;
	(void)state;
	socks5_init(&s, "x.onion", 80, "x.onion", "oniongate");
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x05\x02", 2, &used), SOCKS5_SEND);
	assert_int_equal(socks5_request(&s, out, sizeof(out)), 3 + 7 + 9 + 7 + 7);
	assert_int_equal(socks5_input(&s, replies, sizeof(replies), &used), SOCKS5_CONNECTED);
	assert_int_equal(used, sizeof(replies) - 1);
	/* A refused auth fails as such, whatever follows it. */
	socks5_init(&s, "x.onion", 80, "x.onion", "oniongate");
	socks5_input(&s, (const uint8_t *)"\x05\x02", 2, &used);
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x01\x01\x05\x00", 4, &used), SOCKS5_ERROR);
	assert_int_equal(s.reply, SOCKS5_ERR_AUTH);
	/* A short buffer gets nothing rather than half the pair. */
	socks5_init(&s, "x.onion", 80, "x.onion", "oniongate");
	socks5_input(&s, (const uint8_t *)"\x05\x02", 2, &used);
	assert_int_equal(socks5_request(&s, out, 3 + 7 + 9), 0);
}

static void test_short_reads_and_address_types(void **state)
{
	static const uint8_t v6[] = { 5, 0, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0, 25 };
	static const uint8_t dom[] = { 5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 25 };
	const uint8_t *replies[] = { v6, dom };
	size_t lens[] = { sizeof(v6), sizeof(dom) };
	(void)state;
	for (int i = 0; i < 2; i++) {
		struct socks5 s;
		size_t used;
		socks5_init(&s, "x.onion", 25, NULL, NULL);
		assert_int_equal(feed_bytewise(&s, (const uint8_t *)"\x05\x00", 2, &used), SOCKS5_SEND);
		assert_int_equal(feed_bytewise(&s, replies[i], lens[i], &used), SOCKS5_CONNECTED);
		assert_int_equal(used, lens[i]);
	}
}

static void test_reply_codes(void **state)
{
	(void)state;
	for (int code = 1; code <= 0xff; code++) {
		if (code > 8 && code < 0xf0)
			continue;
		struct socks5 s;
		size_t used;
		uint8_t reply[] = { 5, (uint8_t)code, 0, 1, 0, 0, 0, 0, 0, 0 };
		socks5_init(&s, "x.onion", 25, NULL, NULL);
		socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used);
		assert_int_equal(socks5_input(&s, reply, sizeof(reply), &used), SOCKS5_ERROR);
		assert_int_equal(s.reply, code);
		assert_non_null(socks5_reason(code));
		if (code > 8 && code < 0xf8)
			assert_string_not_equal(socks5_reason(code), "SOCKS protocol error");
	}
	assert_string_equal(socks5_reason(0xf0), "onion service descriptor not found");
	assert_string_equal(socks5_reason(0xf2), "onion service introduction failed");
	assert_string_equal(socks5_reason(0xf3), "onion service rendezvous failed");
	assert_string_equal(socks5_reason(0xf7), "onion service introduction timed out");
	assert_string_equal(socks5_smtp_status(0xf0), "4.4.1");
	assert_string_equal(socks5_smtp_status(0xf4), "4.7.0");
	assert_string_equal(socks5_smtp_status(0x01), "4.4.2");
}

static void test_garbage(void **state)
{
	struct socks5 s;
	size_t used;
	(void)state;
	socks5_init(&s, "x.onion", 25, NULL, NULL);
	assert_int_equal(socks5_input(&s, (const uint8_t *)"HTTP/1.0 400", 12, &used), SOCKS5_ERROR);
	assert_int_equal(s.reply, SOCKS5_ERR_PROTOCOL);
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used), SOCKS5_ERROR);

	socks5_init(&s, "x.onion", 25, NULL, NULL);
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x05\xff", 2, &used), SOCKS5_ERROR);
	assert_int_equal(s.reply, SOCKS5_ERR_AUTH);

	socks5_init(&s, "x.onion", 25, "u", "p");
	socks5_input(&s, (const uint8_t *)"\x05\x02", 2, &used);
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x01\x01", 2, &used), SOCKS5_ERROR);
	assert_int_equal(s.reply, SOCKS5_ERR_AUTH);

	socks5_init(&s, "x.onion", 25, NULL, NULL);
	socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used);
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x05\x00\x00\x09\x00", 5, &used), SOCKS5_ERROR);
	socks5_init(&s, "x.onion", 25, NULL, NULL);
	socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used);
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x04\x00\x00\x01\x00", 5, &used), SOCKS5_ERROR);

	char long_host[300];
	memset(long_host, 'a', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	assert_int_equal(socks5_init(&s, long_host, 25, NULL, NULL), -1);
	assert_int_equal(socks5_init(&s, "x", 25, "only-user", NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_with_auth),
		cmocka_unit_test(test_auth_and_connect_replies_together),
		cmocka_unit_test(test_short_reads_and_address_types),
		cmocka_unit_test(test_reply_codes),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests_name("socks5", tests, NULL, NULL);
}
