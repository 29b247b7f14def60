/* SPDX-License-Identifier: ISC */
/* pool: onion name <-> fake IPv4 and IPv6 addresses, derived from the name by a keyed hash so
 * every restart and every gateway with the same key agrees; bounded, and an address changes name
 * only when no stream holds it and no answer that named it may still be cached. */
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	struct pool_entry e; /* first: what callers see */
	unsigned holds;
	bool used;
	time_t named_until;  /* an answer naming it may be cached until then */
	uint64_t last_use;   /* pool_map's sequence number: the older of two equal named_until goes first */
	uint32_t heap_pos;   /* its place in the idle heap + 1; 0 while held or unused */
	struct slot *next_spare;
};

/* Three open-addressing tables of slot indices (+1, 0 = empty), tombstones as UINT32_MAX. At most
 * 3/4 of the cells are filled (entries and tombstones) after any call, so every probe meets an
 * empty cell: a lookup always ends, after about 8 probes at worst on average. They grow with the
 * entries (at least twice as many cells, up to those for pool-max): names hash to random cells,
 * so tables sized for pool-max at once would be resident almost whole after a few thousand names
 * (1.1 MiB for 1000 names at pool-max 65536). */
struct index {
	uint32_t *cells;
	size_t mask;
	size_t filled;
};

/* The idle entries (used, held by no stream), a binary min-heap on (named_until, last_use): its
 * top is the only eviction candidate, so a full pool is told in O(1) and changed in O(log n). */
struct idle_heap {
	uint32_t *slots; /* slot indices */
	size_t len;
};

struct pool {
	struct pool_config cfg;
	struct slot *slots;
	size_t n_used;
	size_t n_fresh;       /* slots[n_fresh..] were never used */
	struct slot *spares;  /* unused slots below n_fresh (a name that found no address) */
	uint64_t uses;
	struct idle_heap idle;
	struct index by_name, by_v4, by_v6;
	enum pool_shortage shortage;
	pool_new_entry_fn *on_new; /* told of each entry pool_map makes */
	void *on_new_arg;
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

/* The cells for entries: a power of two, at least twice as many, 16 at least. */
static size_t index_cells(size_t entries)
{
	size_t n = 16;
	while (n < entries * 2)
		n <<= 1;
	return n;
}

static int index_init(struct index *ix, size_t entries)
{
	size_t n = index_cells(entries);
	ix->cells = calloc(n, sizeof(uint32_t));
	ix->mask = n - 1;
	ix->filled = 0;
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
	ix->filled += ix->cells[i] == 0;
	ix->cells[i] = slot + 1;
}

/* One more filled cell would pass 3/4 of them. */
static bool index_crowded(const struct index *ix)
{
	return ix->filled + 1 > (ix->mask + 1) / 4 * 3;
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

static bool evicts_before(const struct slot *a, const struct slot *b)
{
	return a->named_until != b->named_until ? a->named_until < b->named_until : a->last_use < b->last_use;
}

static struct slot *heap_at(const struct pool *p, size_t i)
{
	return &p->slots[p->idle.slots[i]];
}

static void heap_put(struct pool *p, size_t i, struct slot *s)
{
	p->idle.slots[i] = (uint32_t)(s - p->slots);
	s->heap_pos = (uint32_t)i + 1;
}

static void heap_up(struct pool *p, size_t i)
{
	struct slot *s = heap_at(p, i);
	while (i > 0 && evicts_before(s, heap_at(p, (i - 1) / 2))) {
		heap_put(p, i, heap_at(p, (i - 1) / 2));
		i = (i - 1) / 2;
	}
	heap_put(p, i, s);
}

static void heap_down(struct pool *p, size_t i)
{
	struct slot *s = heap_at(p, i);
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= p->idle.len)
			break;
		if (c + 1 < p->idle.len && evicts_before(heap_at(p, c + 1), heap_at(p, c)))
			c++;
		if (!evicts_before(heap_at(p, c), s))
			break;
		heap_put(p, i, heap_at(p, c));
		i = c;
	}
	heap_put(p, i, s);
}

static void heap_push(struct pool *p, struct slot *s)
{
	heap_put(p, p->idle.len++, s);
	heap_up(p, s->heap_pos - 1);
}

static void heap_remove(struct pool *p, struct slot *s)
{
	size_t i = s->heap_pos - 1;
	struct slot *last = heap_at(p, --p->idle.len);
	s->heap_pos = 0;
	if (last == s)
		return;
	heap_put(p, i, last);
	heap_up(p, i);
	heap_down(p, last->heap_pos - 1);
}

/* Its protection was extended (named_until and last_use only grow): it moves down. */
static void heap_later(struct pool *p, struct slot *s)
{
	heap_down(p, s->heap_pos - 1);
}

static void index_remove(struct index *ix, size_t cell)
{
	ix->cells[cell] = TOMB;
}

/* Rebuilding into tables for entries (>= n_used) drops the tombstones, leaving at most half the
 * cells filled: it runs once per doubling of the entries, or after a quarter of the cells were
 * filled by new names since. -1 (the tables unchanged) without memory. */
static int rebuild_indexes(struct pool *p, size_t entries)
{
	struct index fresh[3] = { { .cells = NULL }, { .cells = NULL }, { .cells = NULL } };
	if (index_init(&fresh[0], entries) < 0 || index_init(&fresh[1], entries) < 0 ||
	    index_init(&fresh[2], entries) < 0) {
		for (int i = 0; i < 3; i++)
			free(fresh[i].cells);
		return -1;
	}
	free(p->by_name.cells);
	free(p->by_v4.cells);
	free(p->by_v6.cells);
	p->by_name = fresh[0];
	p->by_v4 = fresh[1];
	p->by_v6 = fresh[2];
	for (size_t i = 0; i < p->n_fresh; i++) {
		struct slot *s = &p->slots[i];
		if (!s->used)
			continue;
		index_insert(&p->by_name, h_name(p, s->e.name), (uint32_t)i);
		index_insert(&p->by_v4, h_v4(p, s->e.v4), (uint32_t)i);
		index_insert(&p->by_v6, h_v6(p, s->e.v6), (uint32_t)i);
	}
	return 0;
}

/* Room in the indexes for one more entry: rebuilt larger once the entries fill half the cells, or
 * rebuilt when crowded with tombstones. -1 without memory. */
static int index_room(struct pool *p)
{
	size_t want = index_cells(p->n_used + 1);
	if (want <= p->by_name.mask + 1 && !index_crowded(&p->by_name) && !index_crowded(&p->by_v4) &&
	    !index_crowded(&p->by_v6))
		return 0;
	return rebuild_indexes(p, p->n_used + 1);
}

static void evict(struct pool *p, struct slot *s)
{
	index_remove(&p->by_name, index_find(p, &p->by_name, h_name(p, s->e.name), match_name, s->e.name));
	index_remove(&p->by_v4, index_find(p, &p->by_v4, h_v4(p, s->e.v4), match_v4, s->e.v4));
	index_remove(&p->by_v6, index_find(p, &p->by_v6, h_v6(p, s->e.v6), match_v6, s->e.v6));
	heap_remove(p, s);
	s->used = false;
	p->n_used--;
}

/* An unused slot: a spare, a fresh one, or the heap's top if no answer may still name it. */
static struct slot *take_slot(struct pool *p, time_t now)
{
	struct slot *s = p->spares;
	if (s != NULL) {
		p->spares = s->next_spare;
		return s;
	}
	if (p->n_fresh < p->cfg.max_entries)
		return &p->slots[p->n_fresh++];
	if (p->idle.len == 0) {
		p->shortage = POOL_SHORT_HELD;
		return NULL;
	}
	s = heap_at(p, 0);
	if (s->named_until > now) {
		p->shortage = POOL_SHORT_NAMED;
		return NULL;
	}
	evict(p, s);
	return s;
}

static uint32_t v4_hosts(const struct pool *p)
{
	return (1u << (32 - p->cfg.v4_prefix)) - 2;
}

/* Address number n (< v4_hosts) of the pool: host parts 1 .. size-2 (no network, no broadcast). */
static void v4_address(const struct pool *p, uint64_t n, uint8_t out[4])
{
	uint32_t net = (uint32_t)p->cfg.v4_net[0] << 24 | (uint32_t)p->cfg.v4_net[1] << 16 |
		       (uint32_t)p->cfg.v4_net[2] << 8 | p->cfg.v4_net[3];
	uint32_t a = net + 1 + (uint32_t)n;
	out[0] = (uint8_t)(a >> 24);
	out[1] = (uint8_t)(a >> 16);
	out[2] = (uint8_t)(a >> 8);
	out[3] = (uint8_t)a;
}

/* How many addresses place() may use in the IPv6 pool (host parts 1 .. 2^bits-1, at most 64 bits). */
static uint64_t v6_hosts(const struct pool *p)
{
	int host_bits = 128 - p->cfg.v6_prefix;
	return host_bits < 64 ? (1ULL << host_bits) - 1 : UINT64_MAX;
}

/* The low host bits (at most 64) of the IPv6 pool set from n (< v6_hosts) + 1: never the all-zero host. */
static void v6_address(const struct pool *p, uint64_t n, uint8_t out[16])
{
	int host_bits = 128 - p->cfg.v6_prefix;
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

/* Address number i after start in a pool of hosts addresses (start, i < hosts), wrapping around. */
static uint64_t probe(uint64_t start, uint64_t i, uint64_t hosts)
{
	return i < hosts - start ? start + i : i - (hosts - start);
}

/* The name's hash picks a start; a taken address moves on to the next one, in a fixed order,
 * so names mapped in the same order always get the same addresses. The probes are distinct
 * addresses and at most n_used are taken, so n_used + 1 of them find a free one if the pool has
 * that many: -1 only when it has not (pool-max larger than the pool, which config refuses). */
static int place(struct pool *p, struct slot *s)
{
	uint64_t h = h_name(p, s->e.name) ^ 0x5bd1e9955bd1e995ULL;
	uint64_t hosts = v4_hosts(p), start = h % hosts, probes = p->n_used < hosts ? p->n_used + 1 : hosts;
	uint64_t i = 0;
	do
		v4_address(p, probe(start, i, hosts), s->e.v4);
	while (find_v4(p, s->e.v4) != NULL && ++i < probes);
	if (i == probes)
		return -1;
	hosts = v6_hosts(p), start = h % hosts, probes = p->n_used < hosts ? p->n_used + 1 : hosts;
	i = 0;
	do
		v6_address(p, probe(start, i, hosts), s->e.v6);
	while (find_v6(p, s->e.v6) != NULL && ++i < probes);
	return i == probes ? -1 : 0;
}

/* A new entry for onion in an unused slot; NULL (the slot kept as a spare) if it has no address
 * or the indexes cannot grow. */
static struct slot *add(struct pool *p, struct slot *s, const char *onion)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->e.name, sizeof(s->e.name), "%s", onion);
	enum pool_shortage why = place(p, s) < 0 ? POOL_SHORT_NO_ADDRESS
				 : index_room(p) < 0 ? POOL_SHORT_MEMORY
						     : POOL_SHORT_NONE;
	if (why != POOL_SHORT_NONE) {
		p->shortage = why;
		s->next_spare = p->spares;
		p->spares = s;
		return NULL;
	}
	s->used = true;
	p->n_used++;
	uint32_t idx = (uint32_t)(s - p->slots);
	index_insert(&p->by_name, h_name(p, s->e.name), idx);
	index_insert(&p->by_v4, h_v4(p, s->e.v4), idx);
	index_insert(&p->by_v6, h_v6(p, s->e.v6), idx);
	return s;
}

const struct pool_entry *pool_map(struct pool *p, const char *onion, time_t now, uint32_t ttl)
{
	time_t until = now + (time_t)ttl + POOL_GRACE_SECONDS;
	struct slot *s = find_name(p, onion);
	if (s == NULL) {
		if ((s = take_slot(p, now)) == NULL || (s = add(p, s, onion)) == NULL)
			return NULL;
		s->named_until = until;
		if (p->on_new != NULL)
			p->on_new(p->on_new_arg, &s->e);
	} else if (until > s->named_until) {
		s->named_until = until;
	}
	s->last_use = ++p->uses;
	if (s->holds > 0)
		return &s->e;
	if (s->heap_pos == 0)
		heap_push(p, s);
	else
		heap_later(p, s);
	return &s->e;
}

void pool_on_new_entry(struct pool *p, pool_new_entry_fn *fn, void *arg)
{
	p->on_new = fn;
	p->on_new_arg = arg;
}

enum pool_shortage pool_shortage(const struct pool *p)
{
	return p->shortage;
}

const char *pool_shortage_text(enum pool_shortage why)
{
	switch (why) {
	case POOL_SHORT_NONE: return "the pool has room";
	case POOL_SHORT_HELD: return "every pool address is held by a live stream";
	case POOL_SHORT_NAMED:
		return "every pool address is held by a stream or named by an answer that may still be cached";
	case POOL_SHORT_NO_ADDRESS: return "the pool has no free address (pool-max does not fit it)";
	case POOL_SHORT_MEMORY: return "no memory to grow the pool's indexes";
	}
	return "?";
}

const struct pool_entry *pool_find(const struct pool *p, const char *onion)
{
	struct slot *s = find_name(p, onion);
	return s ? &s->e : NULL;
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
	struct slot *s = slot_of(e);
	if (s->holds++ == 0)
		heap_remove(p, s);
}

void pool_release(struct pool *p, const struct pool_entry *e)
{
	struct slot *s = slot_of(e);
	if (s->holds > 0 && --s->holds == 0)
		heap_push(p, s);
}

size_t pool_count(const struct pool *p)
{
	return p->n_used;
}

size_t pool_bytes_per_entry(const struct pool *p)
{
	size_t cells = 3 * index_cells(p->cfg.max_entries);
	return sizeof(struct slot) + sizeof(uint32_t) + cells * sizeof(uint32_t) / p->cfg.max_entries;
}

struct pool *pool_new(const struct pool_config *cfg)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->cfg = *cfg;
	p->slots = calloc(cfg->max_entries, sizeof(struct slot));
	p->idle.slots = calloc(cfg->max_entries, sizeof(uint32_t));
	if (p->slots == NULL || p->idle.slots == NULL || index_init(&p->by_name, 0) < 0 || index_init(&p->by_v4, 0) < 0 ||
	    index_init(&p->by_v6, 0) < 0) {
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
	free(p->idle.slots);
	free(p->by_name.cells);
	free(p->by_v4.cells);
	free(p->by_v6.cells);
	free(p);
}
