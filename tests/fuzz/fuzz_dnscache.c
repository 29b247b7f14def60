/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the DNS cache: a client query (the input up to a 0xff 0xff marker) and an upstream
 * reply (the rest) stored, then looked up as time moves on, in a small cache that must evict. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnscache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnscache *cache;
	static uint8_t out[DNS_MSG_MAX];
	static uint64_t now;
	struct dns_query q;
	size_t qlen = size;
	const uint8_t *up = NULL;
	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == 0xff && data[i + 1] == 0xff) {
			qlen = i;
			up = data + i + 2;
			break;
		}
	if (cache == NULL && (cache = dnscache_new(4096)) == NULL)
		return 0;
	if (dns_parse_query(data, qlen, &q) < 0)
		return 0;
	now += size & 7;
	if (up != NULL)
		dnscache_store(cache, &q, up, size - qlen - 2, now);
	size_t n = dnscache_lookup(cache, &q, data, now, out, sizeof(out));
	assert(n == 0 || n >= 12);
	assert(dnscache_bytes(cache) <= 4096);
	if (n > 0)
		assert(memcmp(out, data, 2) == 0 && memcmp(out + 12, data + 12, q.question_end - 12) == 0);
	return 0;
}
