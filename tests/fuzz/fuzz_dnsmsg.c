/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the DNS packet parser: queries, every record with its rdata names, and
 * copying records into a new packet, as the dns and onionmap modules use them. */
#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	struct dns_reader r;
	struct dns_question qq;
	uint8_t out[4096];
	struct dns_writer w;

	dns_parse_query(data, size, &q);
	if (dns_reader_init(&r, data, size) < 0)
		return 0;
	dns_writer_init(&w, out, sizeof(out));
	for (unsigned i = 0; i < r.h.qdcount; i++)
		if (dns_read_question(&r, &qq) < 0)
			return 0;
	unsigned total = (unsigned)r.h.ancount + r.h.nscount + r.h.arcount;
	for (unsigned i = 0; i < total; i++) {
		struct dns_rr rr;
		char name[DNS_NAME_MAX];
		uint16_t v;
		if (dns_read_rr(&r, &rr) < 0)
			return 0;
		dns_rdata_u16(&r, &rr, 0, &v);
		dns_rdata_name(&r, &rr, 0, name, sizeof(name));
		dns_rdata_name(&r, &rr, 2, name, sizeof(name));
		dns_rdata_name(&r, &rr, 6, name, sizeof(name));
		dns_write_rr_copy(&w, &r, &rr);
	}
	return 0;
}
