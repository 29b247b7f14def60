/* SPDX-License-Identifier: ISC */
/* peers: how many slots each client address holds (TCP connections, requests in flight), so
 * that one LAN host cannot take them all; an address is forgotten when it holds none. */
#include "peers.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PEER_BUCKETS 256

/* An IPv4 address is kept as its v4-mapped IPv6 form, so both listeners count it once. */
struct peer {
	uint8_t addr[16];
	unsigned held;
	struct peer *next;
};

struct peers {
	struct peer *buckets[PEER_BUCKETS];
};

static void key_of(const struct sockaddr_storage *ss, uint8_t key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

static struct peer **slot_of(struct peers *p, const uint8_t key[16])
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	struct peer **pp = &p->buckets[h % PEER_BUCKETS];
	while (*pp != NULL && memcmp((*pp)->addr, key, 16) != 0)
		pp = &(*pp)->next;
	return pp;
}

struct peers *peers_new(void)
{
	return calloc(1, sizeof(struct peers));
}

bool peers_take(struct peers *p, const struct sockaddr_storage *addr, unsigned limit)
{
	uint8_t key[16];
	key_of(addr, key);
	struct peer **pp = slot_of(p, key), *peer = *pp;
	if (peer == NULL) {
		if (limit == 0 || (peer = calloc(1, sizeof(*peer))) == NULL)
			return false;
		memcpy(peer->addr, key, 16);
		*pp = peer; /* the end of its bucket's chain */
	}
	if (peer->held >= limit)
		return false;
	peer->held++;
	return true;
}

void peers_give(struct peers *p, const struct sockaddr_storage *addr)
{
	uint8_t key[16];
	key_of(addr, key);
	struct peer **pp = slot_of(p, key), *gone;
	if (*pp == NULL || --(*pp)->held > 0)
		return;
	gone = *pp;
	*pp = gone->next;
	free(gone);
}

unsigned peers_held(struct peers *p, const struct sockaddr_storage *addr)
{
	uint8_t key[16];
	key_of(addr, key);
	struct peer **pp = slot_of(p, key);
	return *pp != NULL ? (*pp)->held : 0;
}

void peers_free(struct peers *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < PEER_BUCKETS; i++)
		while (p->buckets[i] != NULL) {
			struct peer *gone = p->buckets[i];
			p->buckets[i] = gone->next;
			free(gone);
		}
	free(p);
}
