/* SPDX-License-Identifier: ISC */
/* answer: the replies oniongated writes itself: onion names and pool PTRs from the pool, onion MX
 * answers (merged with the upstream's MX for onion-first), relayed and error replies; no I/O. */
#include "answer.h"

#include <string.h>

#include "onion.h"

#define REVERSE_V4_SUFFIX "in-addr.arpa"
#define REVERSE_V6_SUFFIX "ip6.arpa"

size_t answer_limit(const struct dns_query *q, bool tcp)
{
	if (tcp)
		return DNS_MSG_MAX;
	if (!q->edns)
		return DNS_UDP_MIN;
	return q->udp_size < ANSWER_UDP_SIZE ? q->udp_size : ANSWER_UDP_SIZE;
}

/* Header and the question as the client wrote it (its case kept). */
static void begin(struct dns_writer *w, struct answer *a, const struct answer_query *aq, int rcode, size_t cap)
{
	struct dns_header h = dns_reply_header(aq->q, (enum dns_rcode)(rcode & 0xf));
	a->n_mx_hosts = 0;
	a->pool_full = false;
	dns_writer_init(w, a->msg, cap);
	h.qdcount = 1;
	dns_write_header(w, &h);
	dns_write_raw(w, aq->pkt + 12, aq->q->question_end - 12);
}

/* Too long for this client: the question alone, with TC, so it asks again over TCP. */
static void truncated(struct answer *a, const struct answer_query *aq)
{
	struct dns_writer w;
	begin(&w, a, aq, DNS_RCODE_NOERROR, sizeof(a->msg));
	dns_set_u16(&w, 2, (uint16_t)(dns_reply_header(aq->q, DNS_RCODE_NOERROR).flags | DNS_FLAG_TC));
	a->len = w.len;
}

static void finish(struct dns_writer *w, struct answer *a, const struct answer_query *aq, uint16_t an, uint16_t ar,
		   int rcode)
{
	if (aq->q->edns) {
		dns_write_opt(w, ANSWER_UDP_SIZE, (uint8_t)(rcode >> 4));
		ar++;
	}
	if (w->overflow) {
		truncated(a, aq);
		return;
	}
	dns_set_u16(w, 6, an);
	dns_set_u16(w, 10, ar);
	a->len = w->len;
}

void answer_rcode(struct answer *a, const struct answer_query *aq, int rcode)
{
	struct dns_writer w;
	begin(&w, a, aq, rcode, aq->limit);
	finish(&w, a, aq, 0, 0, rcode);
}

bool answer_formerr(struct answer *a, const uint8_t *pkt, size_t len)
{
	if (len < 12)
		return false;
	memset(a->msg, 0, 12);
	a->msg[0] = pkt[0];
	a->msg[1] = pkt[1];
	a->msg[2] = (uint8_t)(0x80 | (pkt[2] & 0x79)); /* QR, the opcode and RD kept */
	a->msg[3] = 0x80 | DNS_RCODE_FORMERR;
	a->len = 12;
	a->n_mx_hosts = 0;
	a->pool_full = false;
	return true;
}

static void write_addresses(struct dns_writer *w, const char *owner, const struct pool_entry *e, uint32_t ttl,
			    uint16_t *count, bool v4, bool v6)
{
	if (v4) {
		dns_write_a(w, owner, ttl, e->v4);
		(*count)++;
	}
	if (v6) {
		dns_write_aaaa(w, owner, ttl, e->v6);
		(*count)++;
	}
}

static void pool_full(struct answer *a, const struct answer_query *aq)
{
	answer_rcode(a, aq, DNS_RCODE_SERVFAIL);
	a->pool_full = true;
}

static void onion_name(struct answer *a, const struct answer_query *aq, const struct answer_env *env)
{
	char canon[ONION_NAME_LEN + 1];
	struct dns_writer w;
	uint16_t an = 0, ar = 0;
	const struct pool_entry *e;

	if (onion_canonical(aq->q->q.name, canon) < 0) {
		answer_rcode(a, aq, DNS_RCODE_NXDOMAIN);
		return;
	}
	if ((e = pool_map(env->pool, canon, env->now, env->onion_ttl)) == NULL) {
		pool_full(a, aq);
		return;
	}
	begin(&w, a, aq, DNS_RCODE_NOERROR, aq->limit);
	switch (aq->q->q.type) {
	case DNS_TYPE_A: write_addresses(&w, NULL, e, env->onion_ttl, &an, true, false); break;
	case DNS_TYPE_AAAA: write_addresses(&w, NULL, e, env->onion_ttl, &an, false, true); break;
	case DNS_TYPE_ANY: write_addresses(&w, NULL, e, env->onion_ttl, &an, true, true); break;
	case DNS_TYPE_MX:
		dns_write_mx(&w, NULL, env->onion_ttl, 10, canon);
		an++;
		write_addresses(&w, canon, e, env->onion_ttl, &ar, true, true);
		a->mx_hosts[a->n_mx_hosts++] = e;
		break;
	default: break;
	}
	finish(&w, a, aq, an, ar, DNS_RCODE_NOERROR);
}

/* The next label of a presentation-form name: its length, *p moved past it and its dot. */
static size_t next_label(const char **p, const char **label)
{
	size_t n = strcspn(*p, ".");
	*label = *p;
	*p += n;
	if (**p == '.')
		(*p)++;
	return n;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "d.c.b.a.in-addr.arpa": exactly four decimal labels 0-255 without leading zeros. */
static bool reverse_v4(const char *name, uint8_t out[4])
{
	const char *p = name, *label;
	for (int i = 0; i < 4; i++) {
		size_t n = next_label(&p, &label);
		unsigned v = 0;
		if (n == 0 || n > 3 || (n > 1 && label[0] == '0'))
			return false;
		for (size_t k = 0; k < n; k++) {
			if (label[k] < '0' || label[k] > '9')
				return false;
			v = v * 10 + (unsigned)(label[k] - '0');
		}
		if (v > 255)
			return false;
		out[3 - i] = (uint8_t)v;
	}
	return strcmp(p, REVERSE_V4_SUFFIX) == 0;
}

/* The 32 nibbles of "...ip6.arpa", one hex digit per label, lowest first. */
static bool reverse_v6(const char *name, uint8_t out[16])
{
	const char *p = name, *label;
	memset(out, 0, 16);
	for (int i = 0; i < 32; i++) {
		int v;
		if (next_label(&p, &label) != 1 || (v = hex_digit(label[0])) < 0)
			return false;
		int nib = 31 - i;
		out[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
	}
	return strcmp(p, REVERSE_V6_SUFFIX) == 0;
}

/* A reverse name to its address: 4 or 16, or 0 when the name is anything else. */
static int reverse_address(const char *name, uint8_t out[16])
{
	if (reverse_v4(name, out))
		return 4;
	return reverse_v6(name, out) ? 16 : 0;
}

/* The PTR of a pool address names its onion; an address nobody holds is NXDOMAIN. */
static bool pool_ptr(struct answer *a, const struct answer_query *aq, const struct answer_env *env)
{
	uint8_t addr[16];
	int n = reverse_address(aq->q->q.name, addr);
	const struct pool_entry *e;
	struct dns_writer w;
	if (n == 4 && pool_contains_ip4(env->pool, addr))
		e = pool_lookup_ip4(env->pool, addr);
	else if (n == 16 && pool_contains_ip6(env->pool, addr))
		e = pool_lookup_ip6(env->pool, addr);
	else
		return false;
	if (aq->q->q.qclass != DNS_CLASS_IN) {
		answer_rcode(a, aq, DNS_RCODE_REFUSED);
		return true;
	}
	if (e == NULL) {
		answer_rcode(a, aq, DNS_RCODE_NXDOMAIN);
		return true;
	}
	if (aq->q->q.type != DNS_TYPE_PTR) {
		answer_rcode(a, aq, DNS_RCODE_NOERROR);
		return true;
	}
	/* The answer names the onion for onion_ttl: its address stays its own that long. */
	if ((e = pool_map(env->pool, e->name, env->now, env->onion_ttl)) == NULL) {
		pool_full(a, aq);
		return true;
	}
	begin(&w, a, aq, DNS_RCODE_NOERROR, aq->limit);
	dns_write_ptr(&w, NULL, env->onion_ttl, e->name);
	finish(&w, a, aq, 1, 0, DNS_RCODE_NOERROR);
	return true;
}

bool answer_local(struct answer *a, const struct answer_query *aq, const struct answer_env *env)
{
	if (onion_is_onion_domain(aq->q->q.name)) {
		/* Onion names exist in class IN only; they are never looked up anywhere else. */
		if (aq->q->q.qclass != DNS_CLASS_IN)
			answer_rcode(a, aq, DNS_RCODE_REFUSED);
		else
			onion_name(a, aq, env);
		return true;
	}
	return pool_ptr(a, aq, env);
}

/* The upstream's MX records, read from its reply; calls fn for each one. */
static void each_upstream_mx(const uint8_t *msg, size_t len,
			     void (*fn)(const struct dns_rr *rr, uint16_t pref, const char *exch, void *arg), void *arg)
{
	struct dns_reader rd;
	struct dns_question q;
	if (msg == NULL || dns_reader_init(&rd, msg, len) < 0 || DNS_RCODE(rd.h.flags) != DNS_RCODE_NOERROR ||
	    dns_read_question(&rd, &q) < 0)
		return;
	for (unsigned i = 0; i < rd.h.ancount; i++) {
		struct dns_rr rr;
		char exch[DNS_NAME_MAX];
		uint16_t pref;
		if (dns_read_rr(&rd, &rr) < 0)
			return;
		if (rr.type == DNS_TYPE_MX && rr.rclass == DNS_CLASS_IN && dns_rdata_u16(&rd, &rr, 0, &pref) == 0 &&
		    dns_rdata_name(&rd, &rr, 2, exch, sizeof(exch)) == 0)
			fn(&rr, pref, exch, arg);
	}
}

static void highest_pref(const struct dns_rr *rr, uint16_t pref, const char *exch, void *arg)
{
	uint16_t *top = arg;
	(void)rr;
	(void)exch;
	if (pref > *top)
		*top = pref;
}

struct merge {
	struct dns_writer *w;
	uint32_t base;
	uint16_t an;
};

static void write_shifted(const struct dns_rr *rr, uint16_t pref, const char *exch, void *arg)
{
	struct merge *m = arg;
	uint32_t shifted = pref + m->base;
	dns_write_mx(m->w, NULL, rr->ttl, shifted > 65535 ? 65535 : (uint16_t)shifted, exch);
	m->an++;
}

/* Onion-first: the onion hosts keep their SRV priorities and the upstream's MX records follow above
 * the highest of them; when the upstream's would then pass 65535, the onion hosts get their ranks
 * (0, 1, ... in priority order) instead, so an onion host always comes first. Returns the base the
 * upstream's preferences are shifted by. res->mx is sorted by priority. */
static uint32_t onion_preferences(const struct onionmap_result *res, uint16_t upstream_top, uint16_t prefs[])
{
	uint32_t top = 0, rank = 0;
	for (size_t i = 0; i < res->n; i++) {
		prefs[i] = res->mx[i].priority;
		if (res->mx[i].priority + 1u > top)
			top = res->mx[i].priority + 1u;
	}
	if (top + upstream_top <= 65535)
		return top;
	for (size_t i = 0; i < res->n; i++) {
		if (i > 0 && res->mx[i].priority != res->mx[i - 1].priority)
			rank++;
		prefs[i] = (uint16_t)rank;
	}
	return rank + 1;
}

void answer_onion_mx(struct answer *a, const struct answer_query *aq, const struct answer_env *env,
		     const struct onionmap_result *res, const uint8_t *upstream, size_t uplen)
{
	const struct pool_entry *hosts[ONIONMAP_MAX_MX];
	uint16_t prefs[ONIONMAP_MAX_MX], upstream_top = 0, ar = 0;
	struct dns_writer w;
	struct merge m = { .w = &w };

	for (size_t i = 0; i < res->n; i++) {
		if ((hosts[i] = pool_map(env->pool, res->mx[i].host, env->now, env->onion_ttl)) == NULL) {
			pool_full(a, aq);
			return;
		}
	}
	each_upstream_mx(upstream, uplen, highest_pref, &upstream_top);
	m.base = onion_preferences(res, upstream_top, prefs);
	begin(&w, a, aq, DNS_RCODE_NOERROR, aq->limit);
	for (size_t i = 0; i < res->n; i++)
		dns_write_mx(&w, NULL, res->ttl, prefs[i], res->mx[i].host);
	m.an = (uint16_t)res->n;
	each_upstream_mx(upstream, uplen, write_shifted, &m);
	for (size_t i = 0; i < res->n; i++)
		write_addresses(&w, res->mx[i].host, hosts[i], env->onion_ttl, &ar, true, true);
	finish(&w, a, aq, m.an, ar, DNS_RCODE_NOERROR);
	for (size_t i = 0; i < res->n; i++) {
		pool_set_smtp_port(env->pool, hosts[i], res->mx[i].port);
		a->mx_hosts[a->n_mx_hosts++] = hosts[i];
	}
}

void answer_relay(struct answer *a, const struct answer_query *aq, const uint8_t *msg, size_t len)
{
	if (len > aq->limit || len < 12) {
		truncated(a, aq);
		return;
	}
	memcpy(a->msg, msg, len);
	a->msg[0] = (uint8_t)(aq->q->h.id >> 8);
	a->msg[1] = (uint8_t)aq->q->h.id;
	a->len = len;
	a->n_mx_hosts = 0;
	a->pool_full = false;
}
