/* SPDX-License-Identifier: ISC */
/* Unit tests for answer: onion names, pool PTRs (strict reverse names), classes other than IN,
 * EDNS BADVERS, onion MX answers and the onion-first merge (preferences that never wrap), relay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "answer.h"
#include "onion_fixture.h"

struct fixture {
	struct pool *pool;
	struct answer_env env;
	uint8_t pkt[512];
	size_t len;
	struct dns_query q;
	struct answer_query aq;
	struct answer a;
};

static int setup(void **state)
{
	static struct fixture f;
	struct pool_config c = { .v4_net = { 10, 192, 0, 0 }, .v4_prefix = 10,
				 .v6_net = { 0xfd, 0x6f, 0x6e, 0x69, 0x6f, 0x6e }, .v6_prefix = 64, .max_entries = 64 };
	memset(&f, 0, sizeof(f));
	f.pool = pool_new(&c);
	f.env = (struct answer_env){ .pool = f.pool, .onion_ttl = 60, .now = 1000 };
	*state = &f;
	return f.pool == NULL;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pool_free(f->pool);
	return 0;
}

/* A query for name/type/class, with EDNS (version) when edns_version >= 0. */
static void ask(struct fixture *f, const char *name, uint16_t type, uint16_t qclass, int edns_version)
{
	struct dns_writer w;
	struct dns_header h = { .id = 0xbeef, .flags = DNS_FLAG_RD, .qdcount = 1, .arcount = edns_version >= 0 };
	dns_writer_init(&w, f->pkt, sizeof(f->pkt));
	dns_write_header(&w, &h);
	dns_write_name(&w, name);
	dns_write_raw(&w, (uint8_t[]){ (uint8_t)(type >> 8), (uint8_t)type, (uint8_t)(qclass >> 8), (uint8_t)qclass }, 4);
	if (edns_version >= 0) {
		size_t at = w.len;
		dns_write_opt(&w, 1232, 0);
		f->pkt[at + 6] = (uint8_t)edns_version; /* the OPT TTL: ext-rcode, version, flags */
	}
	assert_false(w.overflow);
	f->len = w.len;
	assert_int_equal(dns_parse_query(f->pkt, f->len, &f->q), 0);
	f->aq = (struct answer_query){ .pkt = f->pkt, .q = &f->q, .limit = answer_limit(&f->q, false) };
}

static struct dns_reader reply(struct fixture *f, int rcode, unsigned an)
{
	struct dns_reader r;
	struct dns_question q;
	assert_int_equal(dns_reader_init(&r, f->a.msg, f->a.len), 0);
	assert_int_equal(r.h.id, 0xbeef);
	assert_true(r.h.flags & DNS_FLAG_QR);
	assert_int_equal(DNS_RCODE(r.h.flags), rcode);
	assert_int_equal(r.h.ancount, an);
	assert_int_equal(dns_read_question(&r, &q), 0);
	return r;
}

static void test_onion_name(void **state)
{
	struct fixture *f = *state;
	char onion[63], upper[80];
	struct dns_rr rr;
	make_onion(1, onion);
	ask(f, onion, DNS_TYPE_A, DNS_CLASS_IN, -1);
	assert_true(answer_local(&f->a, &f->aq, &f->env));
	struct dns_reader r = reply(f, DNS_RCODE_NOERROR, 1);
	assert_int_equal(dns_read_rr(&r, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_A);
	assert_int_equal(rr.ttl, 60);
	const struct pool_entry *e = pool_lookup_ip4(f->pool, f->a.msg + rr.rdata);
	assert_non_null(e);
	assert_string_equal(e->name, onion);

	/* A name below the onion, in capitals, maps to the same onion. */
	snprintf(upper, sizeof(upper), "SMTP.%s", onion);
	ask(f, upper, DNS_TYPE_AAAA, DNS_CLASS_IN, -1);
	assert_true(answer_local(&f->a, &f->aq, &f->env));
	r = reply(f, DNS_RCODE_NOERROR, 1);
	assert_int_equal(dns_read_rr(&r, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_AAAA);
	assert_memory_equal(f->a.msg + rr.rdata, e->v6, 16);

	/* MX of an onion name: itself, with its addresses, handed out for warm-up. */
	ask(f, onion, DNS_TYPE_MX, DNS_CLASS_IN, -1);
	assert_true(answer_local(&f->a, &f->aq, &f->env));
	reply(f, DNS_RCODE_NOERROR, 1);
	assert_int_equal(f->a.n_mx_hosts, 1);
	assert_ptr_equal(f->a.mx_hosts[0], e);

	ask(f, "nosuchname.onion", DNS_TYPE_A, DNS_CLASS_IN, -1);
	assert_true(answer_local(&f->a, &f->aq, &f->env));
	reply(f, DNS_RCODE_NXDOMAIN, 0);

	ask(f, "www.example.org", DNS_TYPE_A, DNS_CLASS_IN, -1);
	assert_false(answer_local(&f->a, &f->aq, &f->env));
}

/* Item 10: onion names exist in class IN only: CH, ANY and others are REFUSED, never IN answers. */
static void test_onion_other_classes(void **state)
{
	struct fixture *f = *state;
	char onion[63];
	make_onion(2, onion);
	const uint16_t classes[] = { 3 /* CH */, 4 /* HS */, 255 /* ANY */, 254 /* NONE */ };
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		ask(f, onion, DNS_TYPE_A, classes[i], -1);
		assert_true(answer_local(&f->a, &f->aq, &f->env));
		reply(f, DNS_RCODE_REFUSED, 0);
	}
	assert_int_equal(pool_count(f->pool), 0);
}

static void reverse_v4(const uint8_t a[4], const char *suffix, char *out, size_t len)
{
	snprintf(out, len, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], suffix);
}

static void test_pool_ptr(void **state)
{
	struct fixture *f = *state;
	char onion[63], name[128];
	struct dns_rr rr;
	make_onion(3, onion);
	const struct pool_entry *e = pool_map(f->pool, onion, 1000, 60);
	reverse_v4(e->v4, "in-addr.arpa", name, sizeof(name));
	ask(f, name, DNS_TYPE_PTR, DNS_CLASS_IN, -1);
	assert_true(answer_local(&f->a, &f->aq, &f->env));
	struct dns_reader r = reply(f, DNS_RCODE_NOERROR, 1);
	assert_int_equal(dns_read_rr(&r, &rr), 0);
	char target[DNS_NAME_MAX];
	assert_int_equal(dns_rdata_name(&r, &rr, 0, target, sizeof(target)), 0);
	assert_string_equal(target, onion);

	/* The IPv6 reverse name, nibble by nibble. */
	char *p = name;
	for (int i = 15; i >= 0; i--)
		p += sprintf(p, "%x.%x.", e->v6[i] & 0xf, e->v6[i] >> 4);
	strcpy(p, "ip6.arpa");
	ask(f, name, DNS_TYPE_PTR, DNS_CLASS_IN, -1);
	assert_true(answer_local(&f->a, &f->aq, &f->env));
	reply(f, DNS_RCODE_NOERROR, 1);

	/* A pool address nobody holds: NXDOMAIN, ours to say. */
	uint8_t free_addr[4] = { 10, 255, 255, 254 };
	if (pool_lookup_ip4(f->pool, free_addr) == NULL) {
		reverse_v4(free_addr, "in-addr.arpa", name, sizeof(name));
		ask(f, name, DNS_TYPE_PTR, DNS_CLASS_IN, -1);
		assert_true(answer_local(&f->a, &f->aq, &f->env));
		reply(f, DNS_RCODE_NXDOMAIN, 0);
	}
	/* Outside the pool: not ours, it goes upstream. */
	ask(f, "1.0.0.127.in-addr.arpa", DNS_TYPE_PTR, DNS_CLASS_IN, -1);
	assert_false(answer_local(&f->a, &f->aq, &f->env));
}

/* Item 10: reverse names with anything but exactly the address's labels are not ours. */
static void test_ptr_junk(void **state)
{
	struct fixture *f = *state;
	char onion[63], name[160];
	make_onion(4, onion);
	const struct pool_entry *e = pool_map(f->pool, onion, 1000, 60);
	const uint8_t *a = e->v4;
	const char *fmt[] = {
		"%u.%u.%u.%u.in-addr.arpa.junk", "%u.%u.%u.%u.in-addr.arpajunk", "x.%u.%u.%u.%u.in-addr.arpa",
		"%u.%u.%u.%u.x.in-addr.arpa", "+%u.%u.%u.%u.in-addr.arpa", "%u.%u.%u.0%u.in-addr.arpa",
		"%u.%u.%u.%u.in-addr.arp", "%u.%u.%u.%u.ip6.arpa",
	};
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		snprintf(name, sizeof(name), fmt[i], a[3], a[2], a[1], a[0]);
		ask(f, name, DNS_TYPE_PTR, DNS_CLASS_IN, -1);
		if (answer_local(&f->a, &f->aq, &f->env))
			fail_msg("'%s' was answered as a pool PTR", name);
	}
	/* 31 or 33 nibbles, or a two-digit label, are not an ip6.arpa name either. */
	char *p = name;
	for (int i = 15; i >= 1; i--)
		p += sprintf(p, "%x.%x.", e->v6[i] & 0xf, e->v6[i] >> 4);
	strcpy(p, "d.ip6.arpa");
	ask(f, name, DNS_TYPE_PTR, DNS_CLASS_IN, -1);
	assert_false(answer_local(&f->a, &f->aq, &f->env));
	p = name;
	for (int i = 15; i >= 0; i--)
		p += sprintf(p, "%x.%x.", e->v6[i] & 0xf, e->v6[i] >> 4);
	strcpy(p, "ip6.arpa.x");
	ask(f, name, DNS_TYPE_PTR, DNS_CLASS_IN, -1);
	assert_false(answer_local(&f->a, &f->aq, &f->env));

	/* And a PTR query of class CH for a pool address is REFUSED. */
	snprintf(name, sizeof(name), "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
	ask(f, name, DNS_TYPE_PTR, 3, -1);
	assert_true(answer_local(&f->a, &f->aq, &f->env));
	reply(f, DNS_RCODE_REFUSED, 0);
}

/* Item 10: EDNS version 1 gets BADVERS (16): 0 in the header, 1 in the OPT's extended rcode. */
static void test_badvers(void **state)
{
	struct fixture *f = *state;
	struct dns_rr rr;
	ask(f, "www.example.org", DNS_TYPE_A, DNS_CLASS_IN, 1);
	assert_int_equal(f->q.edns_version, 1);
	answer_rcode(&f->a, &f->aq, DNS_RCODE_BADVERS);
	struct dns_reader r = reply(f, 0, 0);
	assert_int_equal(r.h.arcount, 1);
	assert_int_equal(dns_read_rr(&r, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_OPT);
	assert_int_equal(rr.ttl >> 24, 1);
	assert_int_equal((rr.ttl >> 16) & 0xff, 0);
}

static void mx_of(struct onionmap_result *res, const uint16_t *prios, size_t n)
{
	memset(res, 0, sizeof(*res));
	res->n = n;
	res->ttl = 300;
	for (size_t i = 0; i < n; i++) {
		make_onion((uint8_t)(40 + i), res->mx[i].host);
		res->mx[i].priority = prios[i];
		res->mx[i].port = (uint16_t)(2525 + i);
	}
}

/* An upstream MX reply for the question in f->pkt, with these preferences. */
static size_t upstream_mx(struct fixture *f, uint8_t *buf, size_t cap, const uint16_t *prefs, size_t n)
{
	struct dns_writer w;
	struct dns_header h = { .id = 7, .flags = DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA, .qdcount = 1,
				.ancount = (uint16_t)n };
	dns_writer_init(&w, buf, cap);
	dns_write_header(&w, &h);
	dns_write_raw(&w, f->pkt + 12, f->q.question_end - 12);
	for (size_t i = 0; i < n; i++) {
		char exch[64];
		snprintf(exch, sizeof(exch), "mx%zu.example.org", i);
		dns_write_mx(&w, NULL, 3600, prefs[i], exch);
	}
	assert_false(w.overflow);
	return w.len;
}

/* The MX preferences of the reply in answer order, and their exchanges. */
static size_t read_mx(struct fixture *f, uint16_t *prefs, char exch[][DNS_NAME_MAX], size_t max)
{
	struct dns_reader r = reply(f, DNS_RCODE_NOERROR, f->a.msg[7]);
	size_t n = 0;
	for (unsigned i = 0; i < r.h.ancount && n < max; i++) {
		struct dns_rr rr;
		assert_int_equal(dns_read_rr(&r, &rr), 0);
		assert_int_equal(rr.type, DNS_TYPE_MX);
		assert_int_equal(dns_rdata_u16(&r, &rr, 0, &prefs[n]), 0);
		assert_int_equal(dns_rdata_name(&r, &rr, 2, exch[n], DNS_NAME_MAX), 0);
		n++;
	}
	return n;
}

static void test_onion_mx(void **state)
{
	struct fixture *f = *state;
	struct onionmap_result res;
	uint16_t prefs[16];
	char exch[16][DNS_NAME_MAX];
	mx_of(&res, (const uint16_t[]){ 10, 20 }, 2);
	ask(f, "example.org", DNS_TYPE_MX, DNS_CLASS_IN, 0);
	answer_onion_mx(&f->a, &f->aq, &f->env, &res, NULL, 0);
	assert_int_equal(read_mx(f, prefs, exch, 16), 2);
	assert_int_equal(prefs[0], 10);
	assert_string_equal(exch[0], res.mx[0].host);
	assert_int_equal(prefs[1], 20);
	assert_int_equal(f->a.msg[11], 5); /* additional: A + AAAA per host, and OPT */
	assert_int_equal(f->a.n_mx_hosts, 2);
	assert_int_equal(f->a.mx_hosts[1]->smtp_port, 2526);
}

/* Onion-first: the onion hosts first, the upstream's MX after them in their order. */
static void test_onion_first(void **state)
{
	struct fixture *f = *state;
	struct onionmap_result res;
	uint8_t up[512];
	uint16_t prefs[16];
	char exch[16][DNS_NAME_MAX];
	mx_of(&res, (const uint16_t[]){ 10, 20 }, 2);
	ask(f, "example.org", DNS_TYPE_MX, DNS_CLASS_IN, 0);
	size_t uplen = upstream_mx(f, up, sizeof(up), (const uint16_t[]){ 5, 20 }, 2);
	answer_onion_mx(&f->a, &f->aq, &f->env, &res, up, uplen);
	assert_int_equal(read_mx(f, prefs, exch, 16), 4);
	assert_int_equal(prefs[0], 10);
	assert_int_equal(prefs[1], 20);
	assert_int_equal(prefs[2], 26);
	assert_string_equal(exch[2], "mx0.example.org");
	assert_int_equal(prefs[3], 41);
}

/* Item 10: an onion SRV priority of 65535 wrapped the shift to 0 and put the clearnet MX first. */
static void test_onion_first_no_wrap(void **state)
{
	struct fixture *f = *state;
	struct onionmap_result res;
	uint8_t up[512];
	uint16_t prefs[16];
	char exch[16][DNS_NAME_MAX];
	const uint16_t cases[][3] = { { 65535, 65535, 0 }, { 65000, 65535, 100 }, { 0, 65535, 65535 } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		mx_of(&res, cases[c], 2);
		ask(f, "example.org", DNS_TYPE_MX, DNS_CLASS_IN, 0);
		size_t uplen = upstream_mx(f, up, sizeof(up), (const uint16_t[]){ 0, cases[c][2] }, 2);
		answer_onion_mx(&f->a, &f->aq, &f->env, &res, up, uplen);
		assert_int_equal(read_mx(f, prefs, exch, 16), 4);
		uint16_t onion_top = prefs[0] > prefs[1] ? prefs[0] : prefs[1];
		if (!(prefs[2] > onion_top && prefs[3] > onion_top))
			fail_msg("case %zu: onion %u %u, upstream %u %u", c, prefs[0], prefs[1], prefs[2], prefs[3]);
		assert_true(prefs[0] <= prefs[1]);
		assert_true(prefs[2] <= prefs[3]);
	}
}

/* A reply that does not fit the client's UDP size: the question alone, with TC. */
static void test_truncation(void **state)
{
	struct fixture *f = *state;
	struct onionmap_result res;
	uint16_t many[ONIONMAP_MAX_MX];
	for (size_t i = 0; i < ONIONMAP_MAX_MX; i++)
		many[i] = (uint16_t)i;
	mx_of(&res, many, ONIONMAP_MAX_MX);
	ask(f, "example.org", DNS_TYPE_MX, DNS_CLASS_IN, -1);
	answer_onion_mx(&f->a, &f->aq, &f->env, &res, NULL, 0);
	struct dns_reader r = reply(f, DNS_RCODE_NOERROR, 0);
	assert_true(r.h.flags & DNS_FLAG_TC);
	f->aq.limit = answer_limit(&f->q, true);
	answer_onion_mx(&f->a, &f->aq, &f->env, &res, NULL, 0);
	r = reply(f, DNS_RCODE_NOERROR, ONIONMAP_MAX_MX);
	assert_false(r.h.flags & DNS_FLAG_TC);
}

/* The pool cannot map a name: SERVFAIL, and the answer says why. */
static void test_pool_full(void **state)
{
	struct fixture *f = *state;
	struct pool_config c = { .v4_net = { 10, 192, 0, 0 }, .v4_prefix = 29,
				 .v6_net = { 0xfd, 0x6f, 0x6e, 0x69, 0x6f, 0x6e }, .v6_prefix = 64, .max_entries = 1 };
	struct pool *small = pool_new(&c);
	struct answer_env env = { .pool = small, .onion_ttl = 60, .now = 1000 };
	char a[63], b[63];
	make_onion(5, a);
	make_onion(6, b);
	ask(f, a, DNS_TYPE_A, DNS_CLASS_IN, -1);
	assert_true(answer_local(&f->a, &f->aq, &env));
	assert_false(f->a.pool_full);
	ask(f, b, DNS_TYPE_A, DNS_CLASS_IN, -1);
	assert_true(answer_local(&f->a, &f->aq, &env));
	assert_true(f->a.pool_full);
	reply(f, DNS_RCODE_SERVFAIL, 0);
	pool_free(small);
}

static void test_relay(void **state)
{
	struct fixture *f = *state;
	uint8_t up[512];
	ask(f, "example.org", DNS_TYPE_MX, DNS_CLASS_IN, -1);
	size_t uplen = upstream_mx(f, up, sizeof(up), (const uint16_t[]){ 5 }, 1);
	answer_relay(&f->a, &f->aq, up, uplen);
	assert_int_equal(f->a.len, uplen);
	reply(f, DNS_RCODE_NOERROR, 1);
	assert_memory_equal(f->a.msg + 2, up + 2, uplen - 2);
	f->aq.limit = 40;
	answer_relay(&f->a, &f->aq, up, uplen);
	struct dns_reader r = reply(f, DNS_RCODE_NOERROR, 0);
	assert_true(r.h.flags & DNS_FLAG_TC);
}

static void test_formerr(void **state)
{
	struct fixture *f = *state;
	const uint8_t junk[12] = { 0x12, 0x34, 0x01, 0x00, 0, 5 };
	assert_false(answer_formerr(&f->a, junk, 11));
	assert_true(answer_formerr(&f->a, junk, sizeof(junk)));
	assert_int_equal(f->a.len, 12);
	assert_int_equal(f->a.msg[0], 0x12);
	assert_int_equal(f->a.msg[3] & 0xf, DNS_RCODE_FORMERR);
	assert_true(f->a.msg[2] & 0x80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_onion_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_onion_other_classes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_ptr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_junk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_badvers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_onion_mx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_onion_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_onion_first_no_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formerr, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
