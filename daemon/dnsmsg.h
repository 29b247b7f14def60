/* SPDX-License-Identifier: ISC */
/* dnsmsg: the DNS wire format (RFC 1035, 3596, 2782, 6891): reading headers, questions and
 * records with name decompression, and writing answers; no I/O, fuzzed alone. */
#ifndef OG_DNSMSG_H
#define OG_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 1024 /* presentation form, with \DDD escapes */
#define DNS_UDP_MIN 512
#define DNS_MSG_MAX 65535

enum dns_type {
	DNS_TYPE_A = 1, DNS_TYPE_NS = 2, DNS_TYPE_CNAME = 5, DNS_TYPE_SOA = 6, DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15, DNS_TYPE_TXT = 16, DNS_TYPE_AAAA = 28, DNS_TYPE_SRV = 33, DNS_TYPE_OPT = 41,
	DNS_TYPE_ANY = 255,
};
enum { DNS_CLASS_IN = 1 };
enum dns_rcode {
	DNS_RCODE_NOERROR = 0, DNS_RCODE_FORMERR = 1, DNS_RCODE_SERVFAIL = 2, DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4, DNS_RCODE_REFUSED = 5,
	DNS_RCODE_BADVERS = 16, /* extended: the low 4 bits in the header, the rest in the OPT record */
};
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_FLAG_AD 0x0020
#define DNS_FLAG_CD 0x0010
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags) & 0xf)

struct dns_header {
	uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

struct dns_question {
	char name[DNS_NAME_MAX]; /* lowercase, no trailing dot, "" for the root */
	uint16_t type, qclass;
};

struct dns_rr {
	char name[DNS_NAME_MAX];
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata; /* offset of the rdata in the packet */
};

struct dns_reader {
	const uint8_t *pkt;
	size_t len, off;
	struct dns_header h;
};

/* Each returns 0, or -1 when the packet is malformed there. */
int dns_reader_init(struct dns_reader *r, const uint8_t *pkt, size_t len);
int dns_read_question(struct dns_reader *r, struct dns_question *q);
int dns_read_rr(struct dns_reader *r, struct dns_rr *rr);
/* A name inside rdata (MX exchange at 2, SRV target at 6, PTR at 0), decompressed. */
int dns_rdata_name(const struct dns_reader *r, const struct dns_rr *rr, size_t at, char *out, size_t outlen);
int dns_rdata_u16(const struct dns_reader *r, const struct dns_rr *rr, size_t at, uint16_t *out);

/* A query as the LAN side needs it: header, the one question, its end, and EDNS. */
struct dns_query {
	struct dns_header h;
	struct dns_question q;
	size_t question_end;
	bool edns;
	uint16_t udp_size; /* what the client accepts over UDP */
	uint8_t edns_version;
	bool dnssec_ok;
};
int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q);

struct dns_writer {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};
void dns_writer_init(struct dns_writer *w, uint8_t *buf, size_t cap);
void dns_write_header(struct dns_writer *w, const struct dns_header *h);
void dns_write_name(struct dns_writer *w, const char *name);
void dns_write_question(struct dns_writer *w, const char *name, uint16_t type);
void dns_write_raw(struct dns_writer *w, const void *p, size_t n);
/* In the record writers an owner name of NULL means the question's name (offset 12). */
void dns_write_a(struct dns_writer *w, const char *name, uint32_t ttl, const uint8_t addr[4]);
void dns_write_aaaa(struct dns_writer *w, const char *name, uint32_t ttl, const uint8_t addr[16]);
void dns_write_mx(struct dns_writer *w, const char *name, uint32_t ttl, uint16_t pref, const char *exchange);
void dns_write_ptr(struct dns_writer *w, const char *name, uint32_t ttl, const char *target);
/* The OPT record (EDNS version 0) of a reply; ext_rcode is the upper 8 bits of a 12-bit rcode. */
void dns_write_opt(struct dns_writer *w, uint16_t udp_size, uint8_t ext_rcode);
/* Copies one record (A, AAAA, TXT, MX, CNAME, NS, PTR) from another packet, names expanded;
 * -1 for other types. */
int dns_write_rr_copy(struct dns_writer *w, const struct dns_reader *r, const struct dns_rr *rr);
void dns_set_u16(struct dns_writer *w, size_t at, uint16_t v);

/* A reply header for query q: same id and opcode, QR and RA set, RD and CD copied. */
struct dns_header dns_reply_header(const struct dns_query *q, enum dns_rcode rcode);

#endif
