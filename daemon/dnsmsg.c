/* SPDX-License-Identifier: ISC */
/* dnsmsg: the DNS wire format (RFC 1035, 3596, 2782, 6891): reading headers, questions and
 * records with name decompression, and writing answers; no I/O, fuzzed alone. */
#include "dnsmsg.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define DNS_HEADER_LEN 12
#define DNS_MAX_POINTERS 64

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the name at *off (advancing *off past it) into presentation form: lowercase, labels
 * joined by '.', bytes other than [a-z0-9-_] written as \DDD. */
static int read_name(const uint8_t *pkt, size_t len, size_t *off, char *out, size_t outlen)
{
	size_t pos = *off, n = 0, wire = 0;
	int jumps = 0;
	bool jumped = false;

	for (;;) {
		if (pos >= len)
			return -1;
		uint8_t l = pkt[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++jumps > DNS_MAX_POINTERS)
				return -1;
			size_t target = (size_t)(l & 0x3f) << 8 | pkt[pos + 1];
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		if (l & 0xc0)
			return -1;
		pos++;
		if (l == 0)
			break;
		wire += l + 1u;
		if (wire > 255 || pos + l > len)
			return -1;
		if (n > 0) {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = '.';
		}
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = (uint8_t)tolower(pkt[pos + i]);
			if (isalnum(c) || c == '-' || c == '_') {
				if (n + 1 >= outlen)
					return -1;
				out[n++] = (char)c;
			} else {
				if (n + 4 >= outlen)
					return -1;
				n += (size_t)snprintf(out + n, outlen - n, "\\%03u", c);
			}
		}
		pos += l;
	}
	if (!jumped)
		*off = pos;
	if (outlen == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

int dns_reader_init(struct dns_reader *r, const uint8_t *pkt, size_t len)
{
	r->pkt = pkt;
	r->len = len;
	r->off = DNS_HEADER_LEN;
	if (len < DNS_HEADER_LEN)
		return -1;
	r->h.id = get16(pkt);
	r->h.flags = get16(pkt + 2);
	r->h.qdcount = get16(pkt + 4);
	r->h.ancount = get16(pkt + 6);
	r->h.nscount = get16(pkt + 8);
	r->h.arcount = get16(pkt + 10);
	return 0;
}

int dns_read_question(struct dns_reader *r, struct dns_question *q)
{
	if (read_name(r->pkt, r->len, &r->off, q->name, sizeof(q->name)) < 0 || r->off + 4 > r->len)
		return -1;
	q->type = get16(r->pkt + r->off);
	q->qclass = get16(r->pkt + r->off + 2);
	r->off += 4;
	return 0;
}

int dns_read_rr(struct dns_reader *r, struct dns_rr *rr)
{
	if (read_name(r->pkt, r->len, &r->off, rr->name, sizeof(rr->name)) < 0 || r->off + 10 > r->len)
		return -1;
	const uint8_t *p = r->pkt + r->off;
	rr->type = get16(p);
	rr->rclass = get16(p + 2);
	rr->ttl = get32(p + 4);
	rr->rdlen = get16(p + 8);
	rr->rdata = r->off + 10;
	if (rr->rdata + rr->rdlen > r->len)
		return -1;
	r->off = rr->rdata + rr->rdlen;
	return 0;
}

int dns_rdata_name(const struct dns_reader *r, const struct dns_rr *rr, size_t at, char *out, size_t outlen)
{
	size_t off = rr->rdata + at;
	if (at >= rr->rdlen)
		return -1;
	if (read_name(r->pkt, r->len, &off, out, outlen) < 0 || off > rr->rdata + rr->rdlen)
		return -1;
	return 0;
}

int dns_rdata_u16(const struct dns_reader *r, const struct dns_rr *rr, size_t at, uint16_t *out)
{
	if (at + 2 > rr->rdlen)
		return -1;
	*out = get16(r->pkt + rr->rdata + at);
	return 0;
}

int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	struct dns_reader r;
	memset(q, 0, sizeof(*q));
	q->udp_size = DNS_UDP_MIN;
	if (dns_reader_init(&r, pkt, len) < 0)
		return -1;
	q->h = r.h;
	if ((r.h.flags & DNS_FLAG_QR) || r.h.qdcount != 1 || r.h.ancount != 0 || r.h.nscount != 0 ||
	    dns_read_question(&r, &q->q) < 0)
		return -1;
	q->question_end = r.off;
	for (unsigned i = 0; i < r.h.arcount; i++) {
		struct dns_rr rr;
		if (dns_read_rr(&r, &rr) < 0)
			return -1;
		if (rr.type == DNS_TYPE_OPT) {
			if (q->edns || rr.name[0] != '\0')
				return -1;
			q->edns = true;
			q->udp_size = rr.rclass < DNS_UDP_MIN ? DNS_UDP_MIN : rr.rclass;
			q->edns_version = (uint8_t)(rr.ttl >> 16);
			q->dnssec_ok = (rr.ttl & 0x8000) != 0;
		}
	}
	return r.off == len ? 0 : -1;
}

void dns_writer_init(struct dns_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

static void put(struct dns_writer *w, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (w->overflow || w->len + n > w->cap) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put16(struct dns_writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(w, b, 2);
}

static void put32(struct dns_writer *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	put(w, b, 4);
}

void dns_set_u16(struct dns_writer *w, size_t at, uint16_t v)
{
	if (at + 2 <= w->len) {
		w->buf[at] = (uint8_t)(v >> 8);
		w->buf[at + 1] = (uint8_t)v;
	}
}

void dns_write_header(struct dns_writer *w, const struct dns_header *h)
{
	put16(w, h->id);
	put16(w, h->flags);
	put16(w, h->qdcount);
	put16(w, h->ancount);
	put16(w, h->nscount);
	put16(w, h->arcount);
}

/* Writes a presentation-form name (as read_name makes them) uncompressed. */
void dns_write_name(struct dns_writer *w, const char *name)
{
	const char *p = name;
	size_t total = 1;
	while (*p != '\0') {
		uint8_t label[63];
		size_t n = 0;
		while (*p != '\0' && *p != '.') {
			unsigned c = (unsigned char)*p;
			if (c == '\\' && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
			    isdigit((unsigned char)p[3])) {
				c = (unsigned)((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
				p += 3;
			}
			if (n == sizeof(label) || c > 255) {
				w->overflow = true;
				return;
			}
			label[n++] = (uint8_t)c;
			p++;
		}
		if (n == 0 || (total += n + 1) > 255) {
			w->overflow = true;
			return;
		}
		uint8_t l = (uint8_t)n;
		put(w, &l, 1);
		put(w, label, n);
		if (*p == '.')
			p++;
	}
	put(w, "", 1);
}

void dns_write_question(struct dns_writer *w, const char *name, uint16_t type)
{
	dns_write_name(w, name);
	put16(w, type);
	put16(w, DNS_CLASS_IN);
}

void dns_write_raw(struct dns_writer *w, const void *p, size_t n)
{
	put(w, p, n);
}

/* An owner name: NULL stands for the question's name, written as a pointer to offset 12. */
static void owner(struct dns_writer *w, const char *name)
{
	if (name == NULL)
		put16(w, 0xc000 | DNS_HEADER_LEN);
	else
		dns_write_name(w, name);
}

static void rr_head(struct dns_writer *w, const char *name, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	owner(w, name);
	put16(w, type);
	put16(w, DNS_CLASS_IN);
	put32(w, ttl);
	put16(w, rdlen);
}

void dns_write_a(struct dns_writer *w, const char *name, uint32_t ttl, const uint8_t addr[4])
{
	rr_head(w, name, DNS_TYPE_A, ttl, 4);
	put(w, addr, 4);
}

void dns_write_aaaa(struct dns_writer *w, const char *name, uint32_t ttl, const uint8_t addr[16])
{
	rr_head(w, name, DNS_TYPE_AAAA, ttl, 16);
	put(w, addr, 16);
}

/* Writes a record whose rdata is a prefix of 'lead' bytes then a name; fixes rdlen after. */
static void rr_with_name(struct dns_writer *w, const char *name, uint16_t type, uint32_t ttl, const uint8_t *lead,
			 size_t nlead, const char *target)
{
	rr_head(w, name, type, ttl, 0);
	size_t rdlen_at = w->len - 2;
	put(w, lead, nlead);
	dns_write_name(w, target);
	if (!w->overflow)
		dns_set_u16(w, rdlen_at, (uint16_t)(w->len - rdlen_at - 2));
}

void dns_write_mx(struct dns_writer *w, const char *name, uint32_t ttl, uint16_t pref, const char *exchange)
{
	uint8_t b[2] = { (uint8_t)(pref >> 8), (uint8_t)pref };
	rr_with_name(w, name, DNS_TYPE_MX, ttl, b, 2, exchange);
}

void dns_write_ptr(struct dns_writer *w, const char *name, uint32_t ttl, const char *target)
{
	rr_with_name(w, name, DNS_TYPE_PTR, ttl, NULL, 0, target);
}

void dns_write_opt(struct dns_writer *w, uint16_t udp_size, uint8_t ext_rcode)
{
	put(w, "", 1);
	put16(w, DNS_TYPE_OPT);
	put16(w, udp_size);
	put32(w, (uint32_t)ext_rcode << 24);
	put16(w, 0);
}

int dns_write_rr_copy(struct dns_writer *w, const struct dns_reader *r, const struct dns_rr *rr)
{
	char target[DNS_NAME_MAX];
	uint16_t u;
	switch (rr->type) {
	case DNS_TYPE_MX:
		if (dns_rdata_u16(r, rr, 0, &u) < 0 || dns_rdata_name(r, rr, 2, target, sizeof(target)) < 0)
			break;
		dns_write_mx(w, rr->name, rr->ttl, u, target);
		return 0;
	case DNS_TYPE_CNAME:
	case DNS_TYPE_NS:
	case DNS_TYPE_PTR:
		if (dns_rdata_name(r, rr, 0, target, sizeof(target)) < 0)
			break;
		rr_with_name(w, rr->name, rr->type, rr->ttl, NULL, 0, target);
		return 0;
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
	case DNS_TYPE_TXT:
		dns_write_name(w, rr->name);
		put16(w, rr->type);
		put16(w, rr->rclass);
		put32(w, rr->ttl);
		put16(w, rr->rdlen);
		put(w, r->pkt + rr->rdata, rr->rdlen);
		return 0;
	default:
		break;
	}
	return -1;
}

struct dns_header dns_reply_header(const struct dns_query *q, enum dns_rcode rcode)
{
	struct dns_header h = { 0 };
	h.id = q->h.id;
	h.flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA | (q->h.flags & (0x7800 | DNS_FLAG_RD | DNS_FLAG_CD)) | rcode);
	return h;
}
