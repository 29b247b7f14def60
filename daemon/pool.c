/* pool: onion name <-> fake IPv4 and IPv6 addresses, derived from the name by a keyed hash so
 * every restart and every gateway with the same key agrees; bounded, evicting only idle names. */
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	struct pool_entry e; /* first: what callers see */
	unsigned holds;
	bool used;
	struct slot *lru_prev, *lru_next; /* most recent at head */
};

/* Three open-addressing tables of slot indices (+1, 0 = empty), tombstones as UINT32_MAX. */
struct index {
	uint32_t *cells;
	size_t mask;
};

struct pool {
	struct pool_config cfg;
	struct slot *slots;
	size_t n_used;
	size_t n_fresh;       /* slots[n_fresh..] were never used */
	size_t n_tombstones;
	struct slot *lru_head, *lru_tail;
	struct index by_name, by_v4, by_v6;
};

#define TOMB UINT32_MAX

/* SipHash-2-4 (Aumasson, Bernstein): the keyed hash that places names in the pool. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                   \
	do {                                                                                                       \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                          \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                             \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                             \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                          \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t siphash(const uint8_t key[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t hash_bytes(const struct pool *p, uint8_t domain, const void *data, size_t len)
{
	uint8_t buf[80];
	buf[0] = domain;
	memcpy(buf + 1, data, len);
	return siphash(p->cfg.key, buf, len + 1);
}

static int index_init(struct index *ix, size_t entries)
{
	size_t n = 16;
	while (n < entries * 2)
		n <<= 1;
	ix->cells = calloc(n, sizeof(uint32_t));
	ix->mask = n - 1;
	return ix->cells ? 0 : -1;
}

static size_t index_find(const struct pool *p, const struct index *ix, uint64_t h,
			 bool (*match)(const struct slot *, const void *), const void *key)
{
	for (size_t i = h & ix->mask;; i = (i + 1) & ix->mask) {
		uint32_t c = ix->cells[i];
		if (c == 0)
			return SIZE_MAX;
		if (c != TOMB && match(&p->slots[c - 1], key))
			return i;
	}
}

static void index_insert(struct index *ix, uint64_t h, uint32_t slot)
{
	size_t i = h & ix->mask;
	while (ix->cells[i] != 0 && ix->cells[i] != TOMB)
		i = (i + 1) & ix->mask;
	ix->cells[i] = slot + 1;
}

static bool match_name(const struct slot *s, const void *key)
{
	return strcmp(s->e.name, key) == 0;
}

static bool match_v4(const struct slot *s, const void *key)
{
	return memcmp(s->e.v4, key, 4) == 0;
}

static bool match_v6(const struct slot *s, const void *key)
{
	return memcmp(s->e.v6, key, 16) == 0;
}

static uint64_t h_name(const struct pool *p, const char *name)
{
	return hash_bytes(p, 'n', name, strlen(name));
}

static uint64_t h_v4(const struct pool *p, const uint8_t *a)
{
	return hash_bytes(p, '4', a, 4);
}

static uint64_t h_v6(const struct pool *p, const uint8_t *a)
{
	return hash_bytes(p, '6', a, 16);
}

static struct slot *find_name(const struct pool *p, const char *name)
{
	size_t i = index_find(p, &p->by_name, h_name(p, name), match_name, name);
	return i == SIZE_MAX ? NULL : &p->slots[p->by_name.cells[i] - 1];
}

static struct slot *find_v4(const struct pool *p, const uint8_t *a)
{
	size_t i = index_find(p, &p->by_v4, h_v4(p, a), match_v4, a);
	return i == SIZE_MAX ? NULL : &p->slots[p->by_v4.cells[i] - 1];
}

static struct slot *find_v6(const struct pool *p, const uint8_t *a)
{
	size_t i = index_find(p, &p->by_v6, h_v6(p, a), match_v6, a);
	return i == SIZE_MAX ? NULL : &p->slots[p->by_v6.cells[i] - 1];
}

static void lru_unlink(struct pool *p, struct slot *s)
{
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		p->lru_head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		p->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void lru_push_head(struct pool *p, struct slot *s)
{
	s->lru_prev = NULL;
	s->lru_next = p->lru_head;
	if (p->lru_head)
		p->lru_head->lru_prev = s;
	p->lru_head = s;
	if (p->lru_tail == NULL)
		p->lru_tail = s;
}

static void index_remove(struct pool *p, struct index *ix, size_t cell)
{
	ix->cells[cell] = TOMB;
	p->n_tombstones++;
}

/* Rebuilding keeps probe chains short once tombstones pile up; it runs at most once per
 * max_entries evictions. */
static void rebuild_indexes(struct pool *p)
{
	memset(p->by_name.cells, 0, (p->by_name.mask + 1) * sizeof(uint32_t));
	memset(p->by_v4.cells, 0, (p->by_v4.mask + 1) * sizeof(uint32_t));
	memset(p->by_v6.cells, 0, (p->by_v6.mask + 1) * sizeof(uint32_t));
	p->n_tombstones = 0;
	for (size_t i = 0; i < p->n_fresh; i++) {
		struct slot *s = &p->slots[i];
		if (!s->used)
			continue;
		index_insert(&p->by_name, h_name(p, s->e.name), (uint32_t)i);
		index_insert(&p->by_v4, h_v4(p, s->e.v4), (uint32_t)i);
		index_insert(&p->by_v6, h_v6(p, s->e.v6), (uint32_t)i);
	}
}

static void evict(struct pool *p, struct slot *s)
{
	index_remove(p, &p->by_name, index_find(p, &p->by_name, h_name(p, s->e.name), match_name, s->e.name));
	index_remove(p, &p->by_v4, index_find(p, &p->by_v4, h_v4(p, s->e.v4), match_v4, s->e.v4));
	index_remove(p, &p->by_v6, index_find(p, &p->by_v6, h_v6(p, s->e.v6), match_v6, s->e.v6));
	lru_unlink(p, s);
	s->used = false;
	p->n_used--;
}

static struct slot *take_slot(struct pool *p)
{
	if (p->n_fresh < p->cfg.max_entries)
		return &p->slots[p->n_fresh++];
	for (struct slot *s = p->lru_tail; s != NULL; s = s->lru_prev) {
		if (s->holds == 0) {
			evict(p, s);
			if (p->n_tombstones > p->cfg.max_entries)
				rebuild_indexes(p);
			return s;
		}
	}
	return NULL;
}

static uint32_t v4_hosts(const struct pool *p)
{
	return (1u << (32 - p->cfg.v4_prefix)) - 2;
}

/* Address number n of the pool: host parts 1 .. size-2 (no network, no broadcast address). */
static void v4_address(const struct pool *p, uint64_t n, uint8_t out[4])
{
	uint32_t net = (uint32_t)p->cfg.v4_net[0] << 24 | (uint32_t)p->cfg.v4_net[1] << 16 |
		       (uint32_t)p->cfg.v4_net[2] << 8 | p->cfg.v4_net[3];
	uint32_t a = net + 1 + (uint32_t)(n % v4_hosts(p));
	out[0] = (uint8_t)(a >> 24);
	out[1] = (uint8_t)(a >> 16);
	out[2] = (uint8_t)(a >> 8);
	out[3] = (uint8_t)a;
}

/* The low host bits (at most 64) of the IPv6 pool set from n; never the all-zero host. */
static void v6_address(const struct pool *p, uint64_t n, uint8_t out[16])
{
	int host_bits = 128 - p->cfg.v6_prefix;
	if (host_bits < 64)
		n %= (1ULL << host_bits) - 1;
	n += 1;
	memcpy(out, p->cfg.v6_net, 16);
	for (int bit = 0; bit < host_bits && bit < 64; bit++) {
		int pos = 127 - bit;
		uint8_t mask = (uint8_t)(0x80 >> (pos % 8));
		if (n >> bit & 1)
			out[pos / 8] |= mask;
		else
			out[pos / 8] &= (uint8_t)~mask;
	}
}

/* The name's hash picks a start; a taken address moves on to the next one, in a fixed order,
 * so names mapped in the same order always get the same addresses. */
static void place(struct pool *p, struct slot *s)
{
	uint64_t h = h_name(p, s->e.name) ^ 0x5bd1e9955bd1e995ULL;
	uint64_t i = 0;
	do {
		v4_address(p, h + i, s->e.v4);
		i++;
	} while (find_v4(p, s->e.v4) != NULL);
	i = 0;
	do {
		v6_address(p, h + i, s->e.v6);
		i++;
	} while (find_v6(p, s->e.v6) != NULL);
}

const struct pool_entry *pool_map(struct pool *p, const char *onion, time_t now, uint32_t ttl)
{
	(void)now; (void)ttl;
	struct slot *s = find_name(p, onion);
	if (s == NULL) {
		s = take_slot(p);
		if (s == NULL)
			return NULL;
		memset(s, 0, sizeof(*s));
		snprintf(s->e.name, sizeof(s->e.name), "%s", onion);
		place(p, s);
		s->used = true;
		p->n_used++;
		uint32_t idx = (uint32_t)(s - p->slots);
		index_insert(&p->by_name, h_name(p, s->e.name), idx);
		index_insert(&p->by_v4, h_v4(p, s->e.v4), idx);
		index_insert(&p->by_v6, h_v6(p, s->e.v6), idx);
	} else {
		lru_unlink(p, s);
	}
	lru_push_head(p, s);
	return &s->e;
}

const struct pool_entry *pool_lookup_ip4(struct pool *p, const uint8_t addr[4])
{
	struct slot *s = find_v4(p, addr);
	return s ? &s->e : NULL;
}

const struct pool_entry *pool_lookup_ip6(struct pool *p, const uint8_t addr[16])
{
	struct slot *s = find_v6(p, addr);
	return s ? &s->e : NULL;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, int prefix)
{
	int full = prefix / 8, rest = prefix % 8;
	if (memcmp(a, net, (size_t)full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool pool_contains_ip4(const struct pool *p, const uint8_t addr[4])
{
	return prefix_match(addr, p->cfg.v4_net, p->cfg.v4_prefix);
}

bool pool_contains_ip6(const struct pool *p, const uint8_t addr[16])
{
	return prefix_match(addr, p->cfg.v6_net, p->cfg.v6_prefix);
}

static struct slot *slot_of(const struct pool_entry *e)
{
	return (struct slot *)(uintptr_t)e;
}

void pool_set_smtp_port(struct pool *p, const struct pool_entry *e, uint16_t port)
{
	(void)p;
	slot_of(e)->e.smtp_port = port;
}

void pool_hold(struct pool *p, const struct pool_entry *e)
{
	(void)p;
	slot_of(e)->holds++;
}

void pool_release(struct pool *p, const struct pool_entry *e)
{
	struct slot *s = slot_of(e);
	(void)p;
	if (s->holds > 0)
		s->holds--;
}

size_t pool_count(const struct pool *p)
{
	return p->n_used;
}

size_t pool_bytes_per_entry(const struct pool *p)
{
	size_t cells = p->by_name.mask + 1 + p->by_v4.mask + 1 + p->by_v6.mask + 1;
	return sizeof(struct slot) + cells * sizeof(uint32_t) / p->cfg.max_entries;
}

struct pool *pool_new(const struct pool_config *cfg)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->cfg = *cfg;
	p->slots = calloc(cfg->max_entries, sizeof(struct slot));
	if (p->slots == NULL || index_init(&p->by_name, cfg->max_entries) < 0 ||
	    index_init(&p->by_v4, cfg->max_entries) < 0 || index_init(&p->by_v6, cfg->max_entries) < 0) {
		pool_free(p);
		return NULL;
	}
	return p;
}

void pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	free(p->slots);
	free(p->by_name.cells);
	free(p->by_v4.cells);
	free(p->by_v6.cells);
	free(p);
}
