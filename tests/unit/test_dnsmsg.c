/* SPDX-License-Identifier: ISC */
/* Unit tests for dnsmsg: queries, EDNS, records with compressed names, the writer, and the
 * malformed packets that must be refused without reading out of bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dnsmsg.h"

static size_t make_query(uint8_t *buf, size_t cap, const char *name, uint16_t type, int edns_size)
{
	struct dns_writer w;
	struct dns_header h = { .id = 0x1234, .flags = DNS_FLAG_RD, .qdcount = 1, .arcount = edns_size ? 1 : 0 };
	dns_writer_init(&w, buf, cap);
	dns_write_header(&w, &h);
	dns_write_question(&w, name, type);
	if (edns_size)
		dns_write_opt(&w, (uint16_t)edns_size, 0);
	assert_false(w.overflow);
	return w.len;
}

static void test_query(void **state)
{
	uint8_t buf[512];
	struct dns_query q;
	(void)state;
	size_t len = make_query(buf, sizeof(buf), "Mail.Example.ORG", DNS_TYPE_MX, 0);
	assert_int_equal(dns_parse_query(buf, len, &q), 0);
	assert_int_equal(q.h.id, 0x1234);
	assert_string_equal(q.q.name, "mail.example.org");
	assert_int_equal(q.q.type, DNS_TYPE_MX);
	assert_int_equal(q.q.qclass, DNS_CLASS_IN);
	assert_false(q.edns);
	assert_int_equal(q.udp_size, 512);
	assert_int_equal(q.question_end, len);

	len = make_query(buf, sizeof(buf), "", DNS_TYPE_NS, 4096);
	assert_int_equal(dns_parse_query(buf, len, &q), 0);
	assert_string_equal(q.q.name, "");
	assert_true(q.edns);
	assert_int_equal(q.udp_size, 4096);

	len = make_query(buf, sizeof(buf), "x.test", DNS_TYPE_A, 100);
	assert_int_equal(dns_parse_query(buf, len, &q), 0);
	assert_int_equal(q.udp_size, 512);
}

static void test_escapes_round_trip(void **state)
{
	uint8_t buf[512];
	struct dns_query q;
	/* A label holding a dot, a space and a byte 200, written raw. */
	static const uint8_t pkt[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 'a', '.', ' ', 200, 4, 't', 'e', 's',
				       't', 0, 0, 1, 0, 1 };
	(void)state;
	assert_int_equal(dns_parse_query(pkt, sizeof(pkt), &q), 0);
	assert_string_equal(q.q.name, "a\\046\\032\\200.test");
	size_t len = make_query(buf, sizeof(buf), q.q.name, DNS_TYPE_A, 0);
	assert_int_equal(len, sizeof(pkt));
	assert_memory_equal(buf + 12, pkt + 12, sizeof(pkt) - 12);
}

static void test_records(void **state)
{
	uint8_t buf[1024];
	struct dns_writer w;
	struct dns_header h = { .id = 7, .flags = DNS_FLAG_QR, .qdcount = 1, .ancount = 3, .arcount = 1 };
	const uint8_t a[4] = { 10, 201, 7, 33 };
	(void)state;
	dns_writer_init(&w, buf, sizeof(buf));
	dns_write_header(&w, &h);
	dns_write_question(&w, "_onion-mx._tcp.example.org", DNS_TYPE_SRV);
	/* An SRV record by hand: owner compressed to the question, target uncompressed. */
	uint8_t srv_head[] = { 0xc0, 12, 0, 33, 0, 1, 0, 0, 1, 44, 0, 0, 0, 10, 0, 5, 0, 25 };
	size_t rdlen_at = w.len + 10;
	dns_write_raw(&w, srv_head, sizeof(srv_head));
	size_t rdata_start = w.len - 6;
	dns_write_name(&w, "abc.onion");
	dns_set_u16(&w, rdlen_at, (uint16_t)(w.len - rdata_start));
	dns_write_mx(&w, NULL, 60, 10, "mx.example.org");
	dns_write_ptr(&w, "33.7.201.10.in-addr.arpa", 60, "abc.onion");
	dns_write_a(&w, "abc.onion", 60, a);
	assert_false(w.overflow);

	struct dns_reader r;
	struct dns_question q;
	struct dns_rr rr;
	char name[DNS_NAME_MAX];
	uint16_t v;
	assert_int_equal(dns_reader_init(&r, buf, w.len), 0);
	assert_int_equal(dns_read_question(&r, &q), 0);
	assert_int_equal(dns_read_rr(&r, &rr), 0);
	assert_string_equal(rr.name, "_onion-mx._tcp.example.org");
	assert_int_equal(rr.type, DNS_TYPE_SRV);
	assert_int_equal(rr.ttl, 300);
	assert_int_equal(dns_rdata_u16(&r, &rr, 0, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(dns_rdata_u16(&r, &rr, 4, &v), 0);
	assert_int_equal(v, 25);
	assert_int_equal(dns_rdata_name(&r, &rr, 6, name, sizeof(name)), 0);
	assert_string_equal(name, "abc.onion");
	assert_int_equal(dns_rdata_u16(&r, &rr, rr.rdlen - 1, &v), -1);
	assert_int_equal(dns_read_rr(&r, &rr), 0);
	assert_string_equal(rr.name, "_onion-mx._tcp.example.org");
	assert_int_equal(dns_rdata_name(&r, &rr, 2, name, sizeof(name)), 0);
	assert_string_equal(name, "mx.example.org");
	assert_int_equal(dns_read_rr(&r, &rr), 0);
	assert_int_equal(dns_rdata_name(&r, &rr, 0, name, sizeof(name)), 0);
	assert_string_equal(name, "abc.onion");
	assert_int_equal(dns_read_rr(&r, &rr), 0);
	assert_int_equal(rr.rdlen, 4);
	assert_memory_equal(buf + rr.rdata, a, 4);
	assert_int_equal(r.off, w.len);

	/* Copying a compressed MX into a new packet expands its names. */
	uint8_t out[512];
	struct dns_writer w2;
	struct dns_reader r2;
	dns_reader_init(&r2, buf, w.len);
	dns_read_question(&r2, &q);
	dns_read_rr(&r2, &rr);
	dns_read_rr(&r2, &rr);
	dns_writer_init(&w2, out, sizeof(out));
	assert_int_equal(dns_write_rr_copy(&w2, &r2, &rr), 0);
	dns_read_rr(&r2, &rr);
	dns_read_rr(&r2, &rr);
	assert_int_equal(dns_write_rr_copy(&w2, &r2, &rr), 0);
	struct dns_rr soa = { .type = DNS_TYPE_SOA };
	assert_int_equal(dns_write_rr_copy(&w2, &r2, &soa), -1);
}

static void test_writer_overflow(void **state)
{
	uint8_t buf[40];
	struct dns_writer w;
	(void)state;
	dns_writer_init(&w, buf, sizeof(buf));
	dns_write_question(&w, "a-rather-long-label-that-does-not-fit.example", DNS_TYPE_A);
	assert_true(w.overflow);
	dns_writer_init(&w, buf, sizeof(buf));
	dns_write_name(&w, "a..b");
	assert_true(w.overflow);
	char label64[80];
	memset(label64, 'x', 64);
	label64[64] = '\0';
	uint8_t big[512];
	dns_writer_init(&w, big, sizeof(big));
	dns_write_name(&w, label64);
	assert_true(w.overflow);
}

static void test_malformed(void **state)
{
	struct dns_query q;
	struct dns_reader r;
	struct dns_question qq;
	(void)state;
	static const uint8_t short_hdr[] = { 0, 1, 0, 0, 0, 1 };
	static const uint8_t loop[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 };
	static const uint8_t forward_ptr[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 200, 0, 1, 0, 1 };
	static const uint8_t reserved_bits[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1 };
	static const uint8_t cut_label[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'a', 'b' };
	static const uint8_t no_type[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0 };
	static const uint8_t two_q[] = { 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1 };
	static const uint8_t response[] = { 0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 };
	static const uint8_t trailing[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 9 };
	static const uint8_t bad_opt_owner[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1,
						 1, 'a', 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t rdlen_past_end[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1,
						  0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 9 };
	assert_int_equal(dns_parse_query(short_hdr, sizeof(short_hdr), &q), -1);
	assert_int_equal(dns_parse_query(loop, sizeof(loop), &q), -1);
	assert_int_equal(dns_parse_query(forward_ptr, sizeof(forward_ptr), &q), -1);
	assert_int_equal(dns_parse_query(reserved_bits, sizeof(reserved_bits), &q), -1);
	assert_int_equal(dns_parse_query(cut_label, sizeof(cut_label), &q), -1);
	assert_int_equal(dns_parse_query(no_type, sizeof(no_type), &q), -1);
	assert_int_equal(dns_parse_query(two_q, sizeof(two_q), &q), -1);
	assert_int_equal(dns_parse_query(response, sizeof(response), &q), -1);
	assert_int_equal(dns_parse_query(trailing, sizeof(trailing), &q), -1);
	assert_int_equal(dns_parse_query(bad_opt_owner, sizeof(bad_opt_owner), &q), -1);
	assert_int_equal(dns_parse_query(rdlen_past_end, sizeof(rdlen_past_end), &q), -1);

	/* A name longer than 255 bytes on the wire. */
	uint8_t longname[12 + 320 + 5] = { 0, 1, 0, 0, 0, 1 };
	size_t off = 12;
	for (int i = 0; i < 5; i++) {
		longname[off++] = 60;
		memset(longname + off, 'a', 60);
		off += 60;
	}
	longname[off++] = 0;
	assert_int_equal(dns_reader_init(&r, longname, off + 4), 0);
	assert_int_equal(dns_read_question(&r, &qq), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),           cmocka_unit_test(test_escapes_round_trip),
		cmocka_unit_test(test_records),         cmocka_unit_test(test_writer_overflow),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests_name("dnsmsg", tests, NULL, NULL);
}
