/* SPDX-License-Identifier: ISC */
/* Unit tests for dnscache: hits patched (ID, 0x20 question, RD, AA, AD, aged TTLs, OPT kept), expiry,
 * RFC 2308 negative TTLs, the key (EDNS, DO, CD), what is never kept, OPT options dropped, the TTL cap,
 * the byte bound and LRU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dnscache.h"
#include "stats.h"

#define Q_EDNS 1
#define Q_DO 2
#define Q_CD 4
#define Q_AD 8

struct msg {
	uint8_t b[4096];
	size_t len;
	struct dns_query q; /* for queries */
};

static uint32_t ttl_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void raw16(struct dns_writer *w, uint16_t v)
{
	dns_write_raw(w, (uint8_t[]){ (uint8_t)(v >> 8), (uint8_t)v }, 2);
}

static void raw32(struct dns_writer *w, uint32_t v)
{
	dns_write_raw(w, (uint8_t[]){ (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v }, 4);
}

/* A query as a client spells it. */
static void ask(struct msg *m, const char *name, uint16_t type, unsigned opts)
{
	struct dns_writer w;
	uint16_t flags = DNS_FLAG_RD | ((opts & Q_CD) ? DNS_FLAG_CD : 0) | ((opts & Q_AD) ? DNS_FLAG_AD : 0);
	struct dns_header h = { .id = 0xbeef, .flags = flags, .qdcount = 1, .arcount = (opts & Q_EDNS) != 0 };
	dns_writer_init(&w, m->b, sizeof(m->b));
	dns_write_header(&w, &h);
	dns_write_name(&w, name);
	raw16(&w, type);
	raw16(&w, DNS_CLASS_IN);
	if (opts & Q_EDNS) {
		size_t at = w.len;
		dns_write_opt(&w, 1232, 0);
		if (opts & Q_DO)
			m->b[at + 7] = 0x80;
	}
	assert_false(w.overflow);
	m->len = w.len;
	assert_int_equal(dns_parse_query(m->b, m->len, &m->q), 0);
}

/* dns_write_name keeps case: the client's spelling goes on the wire as given. */
static void spell(struct msg *m, size_t at, const char *wire_name)
{
	memcpy(m->b + at, wire_name, strlen(wire_name));
}

/* The upstream's reply to q: rcode and flags, n A records of ttl, a SOA (ttl, minimum) in authority
 * when soa_ttl > 0, the OPT record (DO echoed) when the query had EDNS. */
static void reply(struct msg *r, const struct msg *q, uint16_t flags, int n_a, uint32_t ttl, uint32_t soa_ttl,
		  uint32_t soa_min)
{
	struct dns_writer w;
	struct dns_header h = { .id = 0x1234, .flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_RD | flags),
				.qdcount = 1, .ancount = (uint16_t)n_a, .nscount = soa_ttl > 0, .arcount = q->q.edns };
	dns_writer_init(&w, r->b, sizeof(r->b));
	dns_write_header(&w, &h);
	dns_write_raw(&w, q->b + 12, q->q.question_end - 12);
	for (int i = 0; i < n_a; i++)
		dns_write_a(&w, NULL, ttl, (uint8_t[]){ 192, 0, 2, (uint8_t)i });
	if (soa_ttl > 0) {
		dns_write_name(&w, "test");
		raw16(&w, DNS_TYPE_SOA);
		raw16(&w, DNS_CLASS_IN);
		raw32(&w, soa_ttl);
		raw16(&w, 1 + 1 + 20);
		dns_write_name(&w, "");
		dns_write_name(&w, "");
		raw32(&w, 1);
		raw32(&w, 3600);
		raw32(&w, 600);
		raw32(&w, 86400);
		raw32(&w, soa_min);
	}
	if (q->q.edns) {
		size_t at = w.len;
		dns_write_opt(&w, 1232, 0);
		r->b[at + 7] = q->q.dnssec_ok ? 0x80 : 0;
	}
	assert_false(w.overflow);
	r->len = w.len;
}

static uint8_t out[DNS_MSG_MAX];

static size_t hit(struct dnscache *c, const struct msg *q, uint64_t now)
{
	return dnscache_lookup(c, &q->q, q->b, now, out, sizeof(out));
}

/* The first answer's TTL sits after the question, the owner pointer (2), type, class. */
static uint32_t first_ttl(const struct msg *q)
{
	return ttl_at(out + q->q.question_end + 2 + 4);
}

static void test_hit_patched_and_aged(void **state)
{
	struct msg q, q2, r;
	(void)state;
	struct dnscache *c = dnscache_new(1 << 20);
	ask(&q, "www.example.test", DNS_TYPE_A, Q_EDNS | Q_DO);
	reply(&r, &q, DNS_FLAG_RA | DNS_FLAG_AD, 2, 300, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 100), 1);

	ask(&q2, "www.example.test", DNS_TYPE_A, Q_EDNS | Q_DO);
	spell(&q2, 12, "\003WwW\007ExAmPlE\004TEST");
	q2.b[0] = 0x77;
	q2.b[1] = 0x88;
	q2.b[2] &= (uint8_t)~(DNS_FLAG_RD >> 8);
	assert_int_equal(dns_parse_query(q2.b, q2.len, &q2.q), 0);
	uint64_t hits = stats_get(STAT_DNS_CACHE_HITS);
	assert_int_equal(hit(c, &q2, 130), r.len);
	assert_int_equal(stats_get(STAT_DNS_CACHE_HITS), hits + 1);
	assert_int_equal(out[0], 0x77);
	assert_int_equal(out[1], 0x88);
	assert_memory_equal(out + 12, "\003WwW\007ExAmPlE\004TEST", 18);
	uint16_t flags = (uint16_t)(out[2] << 8 | out[3]);
	assert_int_equal(flags & DNS_FLAG_RD, 0);
	assert_int_equal(flags & DNS_FLAG_AA, 0);
	assert_int_equal(flags & DNS_FLAG_AD, DNS_FLAG_AD); /* DO client: kept */
	assert_int_equal(first_ttl(&q2), 270);
	assert_int_equal(ttl_at(out + q2.q.question_end + 16 + 6), 270);
	/* The OPT record's TTL field (ext-rcode, version, DO) is not a TTL: untouched. */
	assert_int_equal(ttl_at(out + r.len - 6), 0x8000);
	dnscache_free(c);
}

static void test_ad_cleared_for_plain_client(void **state)
{
	struct msg q, r;
	(void)state;
	struct dnscache *c = dnscache_new(1 << 20);
	ask(&q, "a.test", DNS_TYPE_A, 0);
	reply(&r, &q, DNS_FLAG_AD, 1, 60, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 1);
	assert_int_equal(hit(c, &q, 1), r.len);
	assert_int_equal(out[3] & DNS_FLAG_AD, 0);
	ask(&q, "a.test", DNS_TYPE_A, Q_AD);
	assert_int_equal(hit(c, &q, 1), r.len);
	assert_int_equal(out[3] & DNS_FLAG_AD, DNS_FLAG_AD);
	dnscache_free(c);
}

static void test_expiry(void **state)
{
	struct msg q, r;
	(void)state;
	struct dnscache *c = dnscache_new(1 << 20);
	ask(&q, "a.test", DNS_TYPE_A, 0);
	reply(&r, &q, 0, 1, 30, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 1000), 1);
	assert_int_equal(hit(c, &q, 1029), r.len);
	assert_int_equal(first_ttl(&q), 1);
	uint64_t misses = stats_get(STAT_DNS_CACHE_MISSES);
	assert_int_equal(hit(c, &q, 1030), 0); /* a TTL of 0 is never served */
	assert_int_equal(stats_get(STAT_DNS_CACHE_MISSES), misses + 1);
	assert_int_equal(dnscache_entries(c), 0);
	dnscache_free(c);
}

/* RFC 2308 section 5: min(SOA TTL, SOA minimum), for NXDOMAIN and NODATA; no SOA, not kept. */
static void test_negative(void **state)
{
	struct msg q, r;
	(void)state;
	struct dnscache *c = dnscache_new(1 << 20);
	ask(&q, "nx.test", DNS_TYPE_A, 0);
	reply(&r, &q, DNS_RCODE_NXDOMAIN, 0, 0, 3600, 60);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 1);
	assert_int_equal(hit(c, &q, 59), r.len);
	assert_int_equal(out[3] & 0xf, DNS_RCODE_NXDOMAIN);
	assert_int_equal(ttl_at(out + q.q.question_end + 6 + 4), 1); /* the SOA's TTL: 60 then aged */
	assert_int_equal(hit(c, &q, 60), 0);

	ask(&q, "nodata.test", DNS_TYPE_AAAA, 0);
	reply(&r, &q, 0, 0, 0, 30, 600);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 1);
	assert_int_equal(hit(c, &q, 29), r.len);
	assert_int_equal(hit(c, &q, 30), 0);

	ask(&q, "nosoa.test", DNS_TYPE_A, 0);
	reply(&r, &q, DNS_RCODE_NXDOMAIN, 0, 0, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 0);

	ask(&q, "long.test", DNS_TYPE_A, 0);
	reply(&r, &q, DNS_RCODE_NXDOMAIN, 0, 0, 86400, 86400);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 1);
	assert_int_equal(hit(c, &q, DNSCACHE_MAX_NEG_TTL - 1), r.len);
	assert_int_equal(hit(c, &q, DNSCACHE_MAX_NEG_TTL), 0);
	dnscache_free(c);
}

/* An answer fetched without DO is never served to a DO query; CD and EDNS likewise. */
static void test_key_flags(void **state)
{
	struct msg q, r;
	static const unsigned others[] = { 0, Q_EDNS, Q_EDNS | Q_DO | Q_CD, Q_CD };
	(void)state;
	struct dnscache *c = dnscache_new(1 << 20);
	ask(&q, "k.test", DNS_TYPE_A, Q_EDNS | Q_DO);
	reply(&r, &q, 0, 1, 60, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 1);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		ask(&q, "k.test", DNS_TYPE_A, others[i]);
		assert_int_equal(hit(c, &q, 1), 0);
	}
	ask(&q, "k.test", DNS_TYPE_AAAA, Q_EDNS | Q_DO);
	assert_int_equal(hit(c, &q, 1), 0);
	ask(&q, "K.test", DNS_TYPE_A, Q_EDNS | Q_DO);
	assert_int_equal(hit(c, &q, 1), r.len);
	dnscache_free(c);
}

static void test_not_kept(void **state)
{
	struct msg q, other, r;
	(void)state;
	struct dnscache *c = dnscache_new(1 << 20);
	ask(&q, "n.test", DNS_TYPE_A, 0);
	reply(&r, &q, DNS_RCODE_SERVFAIL, 0, 0, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 0);
	reply(&r, &q, DNS_RCODE_REFUSED, 0, 0, 60, 60);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 0);
	reply(&r, &q, DNS_FLAG_TC, 1, 60, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 0);
	reply(&r, &q, 0, 1, 0, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 0);
	reply(&r, &q, 0, 1, 60, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len + 1, 0), 0); /* trailing byte */
	r.b[2] &= (uint8_t)~(DNS_FLAG_QR >> 8);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 0);
	ask(&other, "other.test", DNS_TYPE_A, 0);
	reply(&r, &other, 0, 1, 60, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 0); /* another question */
	assert_int_equal(dnscache_entries(c), 0);
	assert_null(dnscache_new(0));
	dnscache_free(c);
}

/* A COOKIE the upstream made for the client that asked is not handed to the next one. */
static void test_opt_options_dropped(void **state)
{
	struct msg q, r;
	(void)state;
	struct dnscache *c = dnscache_new(1 << 20);
	ask(&q, "cookie.test", DNS_TYPE_A, Q_EDNS);
	reply(&r, &q, 0, 1, 60, 0, 0);
	size_t plain = r.len;
	static const uint8_t cookie[4 + 16] = { 0, 10, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	memcpy(r.b + r.len, cookie, sizeof(cookie));
	r.len += sizeof(cookie);
	r.b[plain - 1] = sizeof(cookie);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 1);
	assert_int_equal(hit(c, &q, 1), plain);
	assert_int_equal(out[plain - 2], 0);
	assert_int_equal(out[plain - 1], 0);
	dnscache_free(c);
}

static void test_ttl_cap(void **state)
{
	struct msg q, r;
	(void)state;
	struct dnscache *c = dnscache_new(1 << 20);
	ask(&q, "cap.test", DNS_TYPE_A, 0);
	reply(&r, &q, 0, 1, 1000000, 0, 0);
	assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 1);
	assert_int_equal(hit(c, &q, 10), r.len);
	assert_int_equal(first_ttl(&q), DNSCACHE_MAX_TTL - 10);
	assert_int_equal(hit(c, &q, DNSCACHE_MAX_TTL), 0);
	dnscache_free(c);
}

/* Stores over the bound evict the least recently used, counted; the bytes never pass the bound. */
static void test_byte_bound_lru(void **state)
{
	struct msg q, r;
	char name[64];
	const size_t bound = 16 * 1024;
	(void)state;
	struct dnscache *c = dnscache_new(bound);
	uint64_t evictions = stats_get(STAT_DNS_CACHE_EVICTIONS);
	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "host%d.test", i);
		ask(&q, name, DNS_TYPE_A, 0);
		reply(&r, &q, 0, 1, 600, 0, 0);
		assert_int_equal(dnscache_store(c, &q.q, r.b, r.len, 0), 1);
		assert_true(dnscache_bytes(c) <= bound);
		assert_int_equal(stats_get(STAT_DNS_CACHE_BYTES), dnscache_bytes(c));
		ask(&q, "host0.test", DNS_TYPE_A, 0); /* kept in use: never the oldest */
		assert_true(hit(c, &q, 1) > 0);
	}
	assert_true(stats_get(STAT_DNS_CACHE_EVICTIONS) > evictions);
	assert_true(dnscache_entries(c) < 400);
	assert_true(dnscache_entries(c) > 20);
	ask(&q, "host1.test", DNS_TYPE_A, 0);
	assert_int_equal(hit(c, &q, 1), 0);
	ask(&q, "host399.test", DNS_TYPE_A, 0);
	assert_true(hit(c, &q, 1) > 0);
	/* An entry larger than the whole cache is not kept, and evicts nothing. */
	size_t entries = dnscache_entries(c);
	ask(&q, "big.test", DNS_TYPE_A, 0);
	reply(&r, &q, 0, 200, 600, 0, 0);
	struct dnscache *small = dnscache_new(2048);
	assert_int_equal(dnscache_store(small, &q.q, r.b, r.len, 0), 0);
	assert_int_equal(dnscache_entries(c), entries);
	dnscache_free(small);
	dnscache_free(c);
	assert_int_equal(stats_get(STAT_DNS_CACHE_BYTES), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_patched_and_aged),
		cmocka_unit_test(test_ad_cleared_for_plain_client),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_key_flags),
		cmocka_unit_test(test_not_kept),
		cmocka_unit_test(test_opt_options_dropped),
		cmocka_unit_test(test_ttl_cap),
		cmocka_unit_test(test_byte_bound_lru),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
