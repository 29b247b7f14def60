/* pool: onion name <-> fake IPv4 and IPv6 addresses, derived from the name by a keyed hash so
 * every restart and every gateway with the same key agrees; bounded, evicting only idle names. */
#ifndef OG_POOL_H
#define OG_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onion.h"

#define POOL_KEY_LEN 16

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

struct pool;

struct pool *pool_new(const struct pool_config *cfg);
void pool_free(struct pool *p);
/* The entry of a canonical onion name, made if new (evicting the least recently used idle
 * entry when full). NULL only when every entry is in use by a live stream. */
#include <time.h>
const struct pool_entry *pool_map(struct pool *p, const char *onion, time_t now, uint32_t ttl);
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
