/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the answer synthesis: a client query (the input up to a 0xff 0xff marker) answered
 * from the pool, as an onion MX merged with an upstream reply (the rest), and relayed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "answer.h"

static struct pool *fuzz_pool(void)
{
	static struct pool *pool;
	struct pool_config c = { .v4_net = { 10, 192, 0, 0 }, .v4_prefix = 24,
				 .v6_net = { 0xfd, 0x6f, 0x6e, 0x69, 0x6f, 0x6e }, .v6_prefix = 112, .max_entries = 16 };
	if (pool == NULL)
		pool = pool_new(&c);
	return pool;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct answer a;
	static time_t now;
	struct dns_query q;
	size_t qlen = size;
	const uint8_t *up = NULL;
	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == 0xff && data[i + 1] == 0xff) {
			qlen = i;
			up = data + i + 2;
			break;
		}
	if (dns_parse_query(data, qlen, &q) < 0) {
		answer_formerr(&a, data, qlen);
		return 0;
	}
	/* Time moves on, so entries expire and the pool both fills and evicts. */
	struct answer_env env = { .pool = fuzz_pool(), .onion_ttl = 5, .now = now++ };
	struct answer_query aq = { .pkt = data, .q = &q, .limit = answer_limit(&q, size & 1) };
	struct onionmap_result res = { .n = 2, .ttl = 60, .policy = MX_POLICY_ONION_FIRST };
	memcpy(res.mx[0].host, "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion", ONION_NAME_LEN + 1);
	memcpy(res.mx[1].host, "sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd.onion", ONION_NAME_LEN + 1);
	res.mx[0].priority = (uint16_t)(size * 257);
	res.mx[1].priority = 65535;
	answer_local(&a, &aq, &env);
	answer_rcode(&a, &aq, (int)(size % 24));
	answer_onion_mx(&a, &aq, &env, &res, up, up ? size - qlen - 2 : 0);
	if (up != NULL)
		answer_relay(&a, &aq, up, size - qlen - 2);
	return 0;
}
