/* SPDX-License-Identifier: ISC */
/* pool: onion name <-> fake IPv4 and IPv6 addresses, derived from the name by a keyed hash so
 * every restart and every gateway with the same key agrees; bounded, and an address changes name
 * only when no stream holds it and no answer that named it may still be cached. */
#ifndef OG_POOL_H
#define OG_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "onion.h"

#define POOL_KEY_LEN 16
/* An answer naming an entry protects it for its TTL plus this, which covers the answer's way to
 * the client, the whole-second clock, and a client connecting just as its cache expires. */
#define POOL_GRACE_SECONDS 5

struct pool_config {
	uint8_t v4_net[4];
	int v4_prefix;  /* 8..30 */
	uint8_t v6_net[16];
	int v6_prefix;  /* 16..120 */
	uint8_t key[POOL_KEY_LEN];
	size_t max_entries;
};

struct pool_entry {
	char name[ONION_NAME_LEN + 1];
	uint8_t v4[4];
	uint8_t v6[16];
	uint16_t smtp_port; /* where the onion MX listens (map or SRV); 0: the port the client dials */
};

/* Why pool_map returned NULL. */
enum pool_shortage {
	POOL_SHORT_NONE,
	POOL_SHORT_HELD,       /* every entry is held by a live stream */
	POOL_SHORT_NAMED,      /* every entry is held or named by an answer that may still be cached */
	POOL_SHORT_NO_ADDRESS, /* no free address for the name (pool-max does not fit the pool) */
	POOL_SHORT_MEMORY,     /* the indexes could not grow */
};

struct pool;

/* Told of each entry pool_map makes (a name the pool did not hold); not of names it already held. */
typedef void pool_new_entry_fn(void *arg, const struct pool_entry *e);

struct pool *pool_new(const struct pool_config *cfg);
void pool_free(struct pool *p);
/* The entry of a canonical onion name, made if new, for an answer sent at now (seconds on one
 * clock for every call; a monotonic one survives clock steps) that lives ttl seconds: the entry keeps its name until now + ttl + POOL_GRACE_SECONDS at least. When the pool
 * is full it evicts the idle entry whose protection ended first (with one TTL: the least recently
 * answered); NULL when there is none (pool_shortage says why). O(log pool-max). */
const struct pool_entry *pool_map(struct pool *p, const char *onion, time_t now, uint32_t ttl);
/* fn(arg) is called with each new entry (NULL: no one is told). */
void pool_on_new_entry(struct pool *p, pool_new_entry_fn *fn, void *arg);
/* Why the last failed pool_map failed. */
enum pool_shortage pool_shortage(const struct pool *p);
const char *pool_shortage_text(enum pool_shortage why);
/* The entry of a canonical onion name, if it has one now (never makes one). */
const struct pool_entry *pool_find(const struct pool *p, const char *onion);
const struct pool_entry *pool_lookup_ip4(struct pool *p, const uint8_t addr[4]);
const struct pool_entry *pool_lookup_ip6(struct pool *p, const uint8_t addr[16]);
bool pool_contains_ip4(const struct pool *p, const uint8_t addr[4]);
bool pool_contains_ip6(const struct pool *p, const uint8_t addr[16]);
/* Records the SMTP port an MX answer gave for this onion (its map line or SRV record). */
void pool_set_smtp_port(struct pool *p, const struct pool_entry *e, uint16_t port);
/* Live streams hold their entry: a held entry is never evicted. */
void pool_hold(struct pool *p, const struct pool_entry *e);
void pool_release(struct pool *p, const struct pool_entry *e);
size_t pool_count(const struct pool *p);
/* Bytes the pool allocates per mapping (entry plus its share of the hash tables). */
size_t pool_bytes_per_entry(const struct pool *p);

#endif
