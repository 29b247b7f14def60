/* SPDX-License-Identifier: ISC */
/* dnscache: the pass-through DNS cache: upstream answer packets kept by (name, type, class, EDNS,
 * DO, CD), served with TTLs aged, bounded in bytes with LRU eviction; no I/O, fuzzed alone. */
#ifndef OG_DNSCACHE_H
#define OG_DNSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"

#define DNSCACHE_MAX_TTL 86400     /* a longer TTL is served as this */
#define DNSCACHE_MAX_NEG_TTL 3600  /* RFC 2308 section 5: negative answers at most an hour here */

struct dnscache;

/* A cache of at most max_bytes (entries: packet, TTL offsets, bookkeeping); NULL when out of
 * memory or max_bytes is 0 (no cache). */
struct dnscache *dnscache_new(size_t max_bytes);
void dnscache_free(struct dnscache *c);
/* Keeps the upstream's reply msg to the client's query q, received at now (monotonic seconds),
 * when it may be cached: NOERROR or NXDOMAIN, not truncated, the same question, a TTL above 0
 * (negative answers: their SOA's). Returns 1 when kept. */
int dnscache_store(struct dnscache *c, const struct dns_query *q, const uint8_t *msg, size_t len, uint64_t now);
/* The answer to the client's query pkt (q parsed from it) from the cache: written to out (cap
 * bytes) with the client's ID, question bytes and RD, every TTL lowered by its age (OPT's not);
 * its length, or 0 on a miss. The caller truncates it to the client's size. */
size_t dnscache_lookup(struct dnscache *c, const struct dns_query *q, const uint8_t *pkt, uint64_t now, uint8_t *out,
		       size_t cap);
size_t dnscache_bytes(const struct dnscache *c);
size_t dnscache_entries(const struct dnscache *c);

#endif
