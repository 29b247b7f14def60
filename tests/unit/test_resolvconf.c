/* SPDX-License-Identifier: ISC */
/* Unit tests for resolvconf: nameserver lines of a resolv.conf(5) file, comments and other
 * lines ignored, scoped IPv6 and the daemon's own listen addresses skipped with a warning, the bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "resolvconf.h"

struct warnings {
	char text[16][RESOLVCONF_WARN_MAX];
	size_t n;
};

static void collect(void *arg, const char *msg)
{
	struct warnings *w = arg;
	assert_true(w->n < 16);
	snprintf(w->text[w->n++], RESOLVCONF_WARN_MAX, "%s", msg);
}

static struct config_sockaddr listen_at(const char *addr, uint16_t port)
{
	struct config_sockaddr a;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&a.ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&a.ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&a.ss)->sin_port = htons(port);
		a.len = sizeof(struct sockaddr_in);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&a.ss)->sin6_addr), 1);
		((struct sockaddr_in6 *)&a.ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&a.ss)->sin6_port = htons(port);
		a.len = sizeof(struct sockaddr_in6);
	}
	return a;
}

static void assert_server(const struct config_sockaddr *s, const char *addr, int line)
{
	char text[INET6_ADDRSTRLEN];
	const void *ip = s->ss.ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)&s->ss)->sin_addr
						     : (const void *)&((const struct sockaddr_in6 *)&s->ss)->sin6_addr;
	inet_ntop(s->ss.ss_family, ip, text, sizeof(text));
	assert_string_equal(text, addr);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&s->ss)->sin_port), 53);
	assert_int_equal(s->line, line);
}

static size_t parse(const char *text, const struct config_sockaddr *listen, size_t n_listen,
		    struct config_sockaddr *out, size_t max, struct warnings *w)
{
	memset(w, 0, sizeof(*w));
	return resolvconf_parse("r.conf", text, strlen(text), listen, n_listen, out, max, collect, w);
}

/* What systemd-resolved writes, with comments, options and search lines around the servers. */
static void test_resolved_file(void **state)
{
	struct config_sockaddr out[CONFIG_MAX_DNS_UPSTREAM];
	struct warnings w;
	(void)state;
	size_t n = parse("# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\n"
			 "; another comment\n"
			 "nameserver 198.51.100.53\n"
			 "\tnameserver   2001:db8::53  # trailing\r\n"
			 "search lan.example\n"
			 "options edns0 trust-ad\n"
			 "nameservers 192.0.2.99\n"
			 "#nameserver 192.0.2.98\n",
			 NULL, 0, out, CONFIG_MAX_DNS_UPSTREAM, &w);
	assert_int_equal(n, 2);
	assert_server(&out[0], "198.51.100.53", 3);
	assert_server(&out[1], "2001:db8::53", 4);
	assert_int_equal(w.n, 0);
}

static void test_empty(void **state)
{
	struct config_sockaddr out[4];
	struct warnings w;
	(void)state;
	assert_int_equal(parse("", NULL, 0, out, 4, &w), 0);
	assert_int_equal(parse("# only a comment\nsearch x\n", NULL, 0, out, 4, &w), 0);
	assert_int_equal(w.n, 0);
}

static void test_bad_lines(void **state)
{
	struct config_sockaddr out[4];
	struct warnings w;
	(void)state;
	size_t n = parse("nameserver fe80::1%eth0\n"
			 "nameserver\n"
			 "nameserver dns.example\n"
			 "nameserver 192.0.2.300\n"
			 "nameserver 192.0.2.7\n",
			 NULL, 0, out, 4, &w);
	assert_int_equal(n, 1);
	assert_server(&out[0], "192.0.2.7", 5);
	assert_int_equal(w.n, 4);
	assert_string_equal(w.text[0], "r.conf:1: nameserver fe80::1%eth0 skipped: an IPv6 address with a scope is not supported");
	assert_string_equal(w.text[1], "r.conf:2: nameserver without an address skipped");
	assert_string_equal(w.text[2], "r.conf:3: nameserver dns.example skipped: not an IPv4 or IPv6 address");
	assert_string_equal(w.text[3], "r.conf:4: nameserver 192.0.2.300 skipped: not an IPv4 or IPv6 address");
}

/* Never a loop: our own listen address on port 53, or loopback with a wildcard listener. */
static void test_own_address(void **state)
{
	struct config_sockaddr out[4], listen[3];
	struct warnings w;
	(void)state;
	listen[0] = listen_at("192.0.2.1", 53);
	listen[1] = listen_at("fd00::1", 53);
	listen[2] = listen_at("192.0.2.2", 5353);
	size_t n = parse("nameserver 192.0.2.1\nnameserver fd00::1\nnameserver 192.0.2.2\nnameserver 127.0.0.1\n",
			 listen, 3, out, 4, &w);
	assert_int_equal(n, 2);
	assert_server(&out[0], "192.0.2.2", 3); /* we listen there on 5353, not 53 */
	assert_server(&out[1], "127.0.0.1", 4);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.text[0], "r.conf:1: nameserver 192.0.2.1 skipped: it is oniongated's own dns-listen address");
	assert_string_equal(w.text[1], "r.conf:2: nameserver fd00::1 skipped: it is oniongated's own dns-listen address");

	listen[0] = listen_at("0.0.0.0", 53);
	listen[1] = listen_at("::", 53);
	n = parse("nameserver 127.0.0.53\nnameserver ::1\nnameserver 198.51.100.53\n", listen, 2, out, 4, &w);
	assert_int_equal(n, 1);
	assert_server(&out[0], "198.51.100.53", 3);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.text[0], "r.conf:1: nameserver 127.0.0.53 skipped: it is oniongated's own dns-listen address");
}

/* At most max servers; at most RESOLVCONF_MAX_WARNINGS warnings, the rest counted in one line. */
static void test_bounds(void **state)
{
	struct config_sockaddr out[CONFIG_MAX_DNS_UPSTREAM];
	struct warnings w;
	char text[4096];
	size_t len = 0;
	(void)state;
	for (int i = 0; i < 30; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "nameserver 192.0.2.%d\n", i + 1);
	size_t n = parse(text, NULL, 0, out, CONFIG_MAX_DNS_UPSTREAM, &w);
	assert_int_equal(n, CONFIG_MAX_DNS_UPSTREAM);
	assert_server(&out[15], "192.0.2.16", 16);
	assert_int_equal(w.n, RESOLVCONF_MAX_WARNINGS + 1);
	assert_string_equal(w.text[0], "r.conf:17: nameserver 192.0.2.17 skipped: at most 16 servers are used");
	assert_string_equal(w.text[RESOLVCONF_MAX_WARNINGS], "r.conf: 6 more nameserver lines skipped");
}

static void test_nul_and_same(void **state)
{
	struct config_sockaddr a[4], b[4];
	struct warnings w;
	static const char text[] = "nameserver 192.0.2.1\nname\0server 192.0.2.2\nnameserver 192.0.2.3\n";
	(void)state;
	memset(&w, 0, sizeof(w));
	size_t na = resolvconf_parse("r.conf", text, sizeof(text) - 1, NULL, 0, a, 4, collect, &w);
	assert_int_equal(na, 2);
	assert_server(&a[1], "192.0.2.3", 3);
	size_t nb = parse("nameserver 192.0.2.1\nnameserver 192.0.2.3\n", NULL, 0, b, 4, &w);
	assert_true(resolvconf_same(a, na, b, nb));
	assert_false(resolvconf_same(a, na, b, 1));
	nb = parse("nameserver 192.0.2.1\nnameserver 192.0.2.4\n", NULL, 0, b, 4, &w);
	assert_false(resolvconf_same(a, na, b, nb));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolved_file), cmocka_unit_test(test_empty), cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_own_address),   cmocka_unit_test(test_bounds), cmocka_unit_test(test_nul_and_same),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
