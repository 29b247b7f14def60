/* SPDX-License-Identifier: ISC */
/* libFuzzer target: mxanswer: an answer read as the MX answer of its own question's name, and as
 * an A and an AAAA answer. */
#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"
#include "mxanswer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_reader r;
	struct dns_question q;
	struct mxanswer_hosts hosts;
	struct mxanswer_addrs addrs;
	if (dns_reader_init(&r, data, size) == 0 && r.h.qdcount >= 1 && dns_read_question(&r, &q) == 0)
		mxanswer_read_hosts(data, size, q.name, &hosts);
	mxanswer_read_addrs(data, size, DNS_TYPE_A, &addrs);
	mxanswer_read_addrs(data, size, DNS_TYPE_AAAA, &addrs);
	return 0;
}
