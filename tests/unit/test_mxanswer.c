/* SPDX-License-Identifier: ISC */
/* Unit tests for mxanswer: MX answers into hosts (preference order, the implicit and the null MX,
 * duplicates, the bound of 8), address answers into addresses, and answers refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "dnsmsg.h"
#include "mxanswer.h"

static uint8_t buf[4096];
static struct dns_writer w;

static void begin(const char *qname, uint16_t type, int rcode, uint16_t ancount)
{
	struct dns_header h = { .id = 7, .flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | rcode),
				.qdcount = 1, .ancount = ancount };
	dns_writer_init(&w, buf, sizeof(buf));
	dns_write_header(&w, &h);
	dns_write_question(&w, qname, type);
}

static void test_hosts_by_preference(void **state)
{
	struct mxanswer_hosts h;
	(void)state;
	begin("mail.test", DNS_TYPE_MX, 0, 4);
	dns_write_mx(&w, NULL, 300, 20, "mx2.mail.test");
	dns_write_mx(&w, NULL, 60, 10, "MX1.mail.test");
	dns_write_mx(&w, NULL, 300, 30, "mx2.mail.test");
	dns_write_mx(&w, "other.test", 5, 1, "evil.test");
	assert_int_equal(mxanswer_read_hosts(buf, w.len, "mail.test", &h), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.name[0], "mx1.mail.test");
	assert_string_equal(h.name[1], "mx2.mail.test");
	assert_int_equal(h.ttl, 60);
}

static void test_implicit_and_null(void **state)
{
	struct mxanswer_hosts h;
	(void)state;
	begin("implicit.test", DNS_TYPE_MX, 0, 0);
	assert_int_equal(mxanswer_read_hosts(buf, w.len, "implicit.test", &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.name[0], "implicit.test");
	assert_int_equal(h.ttl, UINT32_MAX);

	begin("nomail.test", DNS_TYPE_MX, 0, 1);
	dns_write_mx(&w, NULL, 300, 0, "");
	assert_int_equal(mxanswer_read_hosts(buf, w.len, "nomail.test", &h), 0);
	assert_int_equal(h.n, 0);

	begin("gone.test", DNS_TYPE_MX, DNS_RCODE_NXDOMAIN, 0);
	assert_int_equal(mxanswer_read_hosts(buf, w.len, "gone.test", &h), 0);
	assert_int_equal(h.n, 0);
}

static void test_bound(void **state)
{
	struct mxanswer_hosts h;
	char host[64];
	(void)state;
	begin("many.test", DNS_TYPE_MX, 0, 12);
	for (int i = 11; i >= 0; i--) {
		snprintf(host, sizeof(host), "mx%02d.many.test", i);
		dns_write_mx(&w, NULL, 300, (uint16_t)(10 * i), host);
	}
	assert_int_equal(mxanswer_read_hosts(buf, w.len, "many.test", &h), 0);
	assert_int_equal(h.n, MXANSWER_MAX_HOSTS);
	for (size_t i = 0; i < h.n; i++) {
		snprintf(host, sizeof(host), "mx%02zu.many.test", i);
		assert_string_equal(h.name[i], host);
	}
}

static void test_refused(void **state)
{
	struct mxanswer_hosts h;
	struct mxanswer_addrs a;
	(void)state;
	begin("mail.test", DNS_TYPE_MX, DNS_RCODE_SERVFAIL, 0);
	assert_int_equal(mxanswer_read_hosts(buf, w.len, "mail.test", &h), -1);
	begin("mail.test", DNS_TYPE_MX, 0, 0);
	assert_int_equal(mxanswer_read_hosts(buf, w.len, "other.test", &h), -1);
	assert_int_equal(mxanswer_read_addrs(buf, w.len, DNS_TYPE_A, &a), -1);
	begin("mail.test", DNS_TYPE_MX, 0, 1);
	dns_write_mx(&w, NULL, 300, 10, "mx.mail.test");
	assert_int_equal(mxanswer_read_hosts(buf, w.len - 3, "mail.test", &h), -1);
	assert_int_equal(mxanswer_read_hosts(buf, 5, "mail.test", &h), -1);
}

static void test_addrs(void **state)
{
	struct mxanswer_addrs a;
	static const uint8_t v4[4] = { 198, 51, 100, 25 }, v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x25 };
	(void)state;
	begin("mx.mail.test", DNS_TYPE_A, 0, 3);
	dns_write_a(&w, NULL, 300, v4);
	dns_write_aaaa(&w, NULL, 300, v6);
	dns_write_a(&w, "alias.mail.test", 30, v4);
	assert_int_equal(mxanswer_read_addrs(buf, w.len, DNS_TYPE_A, &a), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.addr[0].family, AF_INET);
	assert_memory_equal(a.addr[0].bytes, v4, 4);
	assert_int_equal(a.ttl, 30);

	begin("mx.mail.test", DNS_TYPE_AAAA, 0, 1);
	dns_write_aaaa(&w, NULL, 300, v6);
	assert_int_equal(mxanswer_read_addrs(buf, w.len, DNS_TYPE_AAAA, &a), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.addr[0].family, AF_INET6);
	assert_memory_equal(a.addr[0].bytes, v6, 16);
	assert_int_equal(mxanswer_read_addrs(buf, w.len, DNS_TYPE_MX, &a), -1);

	begin("many.mail.test", DNS_TYPE_A, 0, 20);
	for (int i = 0; i < 20; i++)
		dns_write_a(&w, NULL, 300, (const uint8_t[4]){ 198, 51, 100, (uint8_t)i });
	assert_int_equal(mxanswer_read_addrs(buf, w.len, DNS_TYPE_A, &a), 0);
	assert_int_equal(a.n, MXANSWER_MAX_ADDRS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts_by_preference), cmocka_unit_test(test_implicit_and_null),
		cmocka_unit_test(test_bound), cmocka_unit_test(test_refused), cmocka_unit_test(test_addrs),
	};
	return cmocka_run_group_tests_name("mxanswer", tests, NULL, NULL);
}
