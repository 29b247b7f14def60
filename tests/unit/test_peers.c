/* SPDX-License-Identifier: ISC */
/* Unit tests for peers: slots per client address up to a limit, IPv4 and its v4-mapped IPv6 form
 * counted as one address, and an address forgotten when it holds no slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "peers.h"

static struct sockaddr_storage v4(const char *a)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5353);
	inet_pton(AF_INET, a, &sin->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *a)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	sin6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &sin6->sin6_addr);
	return ss;
}

static void test_limit(void **state)
{
	struct peers *p = peers_new();
	struct sockaddr_storage a = v4("192.0.2.10"), b = v4("192.0.2.11"), mapped = v6("::ffff:192.0.2.10");
	(void)state;
	for (int i = 0; i < 8; i++)
		assert_true(peers_take(p, &a, 8));
	assert_false(peers_take(p, &a, 8));
	assert_false(peers_take(p, &mapped, 8));
	assert_true(peers_take(p, &b, 8));
	assert_int_equal(peers_held(p, &a), 8);
	assert_int_equal(peers_held(p, &mapped), 8);
	peers_give(p, &mapped);
	assert_true(peers_take(p, &a, 8));
	for (int i = 0; i < 8; i++)
		peers_give(p, &a);
	assert_int_equal(peers_held(p, &a), 0);
	peers_give(p, &a); /* one give too many changes nothing */
	assert_int_equal(peers_held(p, &b), 1);
	assert_false(peers_take(p, &a, 0));
	peers_free(p);
}

static void test_many_addresses(void **state)
{
	struct peers *p = peers_new();
	char buf[64];
	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "fd00::%x", i);
		struct sockaddr_storage a = v6(buf);
		assert_true(peers_take(p, &a, 1));
		assert_false(peers_take(p, &a, 1));
	}
	for (int i = 0; i < 5000; i += 2) {
		snprintf(buf, sizeof(buf), "fd00::%x", i);
		struct sockaddr_storage a = v6(buf);
		peers_give(p, &a);
		assert_int_equal(peers_held(p, &a), 0);
	}
	peers_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_many_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
