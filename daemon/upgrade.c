/* SPDX-License-Identifier: ISC */
/* upgrade: the real MX addresses (IPv4, IPv6; port 25) that mx-mode upgrade sends to an onion MX,
 * learned as expiring claims by mail domains; no I/O: the caller installs the changes it reports. */
#include "upgrade.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define NIL UINT32_MAX
#define MAX_CLAIMS (1UL << 30)

struct claim {
	char domain[UPGRADE_NAME_MAX + 1];
	struct upgrade_target target; /* host "": the domain has no onion MX */
	time_t expires;
	uint32_t next;                /* the next claim on its address, or on the free list */
};

/* An address with claims, or with only a refused claim's conflict still running. */
struct address {
	struct upgrade_addr addr;       /* bytes past the family's length are zero */
	uint32_t first;                 /* its claims in the order made; NIL: none */
	time_t conflict_until;          /* a refused claim disagreed with the live ones until then */
	enum upgrade_state reported;    /* what on_change last said */
	time_t reported_until;          /* and the expiry it said with ONION */
	uint32_t next_free;
	bool used;
};

/* The addresses by keyed hash: open addressing, linear probing, at most half full, address index
 * + 1 per cell (0: empty); a removal shifts the cells after it back, so there are no tombstones.
 * Claims and addresses are taken from their free list, else the next never used one (claims_made,
 * addrs_made): the tables' pages become resident only as they fill, not at upgrade_new. */
struct upgrade {
	struct claim *claims;
	uint32_t free_claims;
	size_t claims_made;
	size_t n_claims;
	struct address *addrs;
	uint32_t free_addrs;
	size_t addrs_made;
	size_t max;
	uint32_t *cells;
	size_t mask;
	uint64_t key[2];
	time_t next_expiry;
	uint32_t slack;
	upgrade_change_fn *on_change;
	void *arg;
};

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static size_t cell_of(const struct upgrade *t, const struct upgrade_addr *a)
{
	uint64_t lo, hi;
	memcpy(&lo, a->bytes, 8);
	memcpy(&hi, a->bytes + 8, 8);
	return (size_t)mix(mix(lo ^ t->key[0] ^ (uint64_t)a->family) ^ hi ^ t->key[1]) & t->mask;
}

static bool same_addr(const struct upgrade_addr *x, const struct upgrade_addr *y)
{
	return x->family == y->family && memcmp(x->bytes, y->bytes, 16) == 0;
}

/* The cell holding a, or the empty cell where it would go. */
static size_t probe(const struct upgrade *t, const struct upgrade_addr *a)
{
	size_t i = cell_of(t, a);
	while (t->cells[i] != 0 && !same_addr(&t->addrs[t->cells[i] - 1].addr, a))
		i = (i + 1) & t->mask;
	return i;
}

/* Indices, not pointers, so that analyzers never see &t->addrs[i] compared with NULL. */
static uint32_t find_address(const struct upgrade *t, const struct upgrade_addr *a)
{
	uint32_t c = t->cells[probe(t, a)];
	return c == 0 ? NIL : c - 1;
}

/* Empties cell i and moves back every later cell of its run that may sit there. */
static void unindex(struct upgrade *t, size_t i)
{
	t->cells[i] = 0;
	for (size_t j = (i + 1) & t->mask; t->cells[j] != 0; j = (j + 1) & t->mask) {
		size_t home = cell_of(t, &t->addrs[t->cells[j] - 1].addr);
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->cells[i] = t->cells[j];
			t->cells[j] = 0;
			i = j;
		}
	}
}

static bool has_target(const struct claim *c)
{
	return c->target.host[0] != '\0';
}

static bool same_target(const struct upgrade_target *x, const struct upgrade_target *y)
{
	return x->port == y->port && strcasecmp(x->host, y->host) == 0;
}

/* The address's state over its claims live at now; *onion is the agreed target when ONION, and
 * *until the latest expiry of those claims. */
static enum upgrade_state state_of(const struct upgrade *t, const struct address *a, time_t now,
				   const struct upgrade_target **onion, time_t *until)
{
	const struct upgrade_target *first = NULL;
	bool plain = false;
	*onion = NULL;
	*until = 0;
	if (a->conflict_until > now)
		return UPGRADE_AMBIGUOUS;
	for (uint32_t i = a->first; i != NIL; i = t->claims[i].next) {
		const struct claim *c = &t->claims[i];
		if (c->expires <= now)
			continue;
		if (!has_target(c))
			plain = true;
		else if (first == NULL)
			first = &c->target;
		else if (!same_target(first, &c->target))
			return UPGRADE_AMBIGUOUS;
		if (has_target(c) && c->expires > *until)
			*until = c->expires;
	}
	if (first != NULL && plain)
		return UPGRADE_AMBIGUOUS;
	if (first != NULL)
		*onion = first;
	return first != NULL ? UPGRADE_ONION : plain ? UPGRADE_PLAIN : UPGRADE_NONE;
}

/* Tells on_change when the address's state is not the one it last reported, or when it stays
 * ONION with claims that now outlive the reported expiry by more than the slack. */
static void refresh(struct upgrade *t, struct address *a, time_t now)
{
	const struct upgrade_target *onion;
	time_t until;
	enum upgrade_state before = a->reported, after = state_of(t, a, now, &onion, &until);
	if (after == before && (after != UPGRADE_ONION || until <= a->reported_until + (time_t)t->slack))
		return;
	a->reported = after;
	a->reported_until = after == UPGRADE_ONION ? until : 0;
	if (t->on_change != NULL)
		t->on_change(t->arg, &a->addr, before, after, a->reported_until);
}

static void note_expiry(struct upgrade *t, time_t at)
{
	if (t->next_expiry == 0 || at < t->next_expiry)
		t->next_expiry = at;
}

struct upgrade *upgrade_new(size_t max_claims, const uint8_t key[UPGRADE_KEY_LEN], uint32_t slack,
			    upgrade_change_fn *on_change, void *arg)
{
	if (max_claims == 0 || max_claims > MAX_CLAIMS)
		return NULL;
	struct upgrade *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	size_t cells = 16;
	while (cells < max_claims * 2)
		cells <<= 1;
	t->claims = calloc(max_claims, sizeof(*t->claims));
	t->addrs = calloc(max_claims, sizeof(*t->addrs));
	t->cells = calloc(cells, sizeof(*t->cells));
	if (t->claims == NULL || t->addrs == NULL || t->cells == NULL) {
		upgrade_free(t);
		return NULL;
	}
	t->mask = cells - 1;
	t->max = max_claims;
	t->slack = slack;
	memcpy(t->key, key, UPGRADE_KEY_LEN);
	t->on_change = on_change;
	t->arg = arg;
	t->free_claims = NIL;
	t->free_addrs = NIL;
	return t;
}

void upgrade_free(struct upgrade *t)
{
	if (t == NULL)
		return;
	free(t->claims);
	free(t->addrs);
	free(t->cells);
	free(t);
}

static bool valid_name(const char *name)
{
	size_t len = strnlen(name, UPGRADE_NAME_MAX + 1);
	return len > 0 && len <= UPGRADE_NAME_MAX;
}

static bool valid_claim(const char *domain, const struct upgrade_addr *addr, const struct upgrade_target *target)
{
	if (addr->family != AF_INET && addr->family != AF_INET6)
		return false;
	return valid_name(domain) && (target == NULL || (valid_name(target->host) && target->port != 0));
}

static void set_target(struct claim *c, const struct upgrade_target *target)
{
	memset(&c->target, 0, sizeof(c->target));
	if (target != NULL)
		c->target = *target;
}

static uint32_t find_claim(const struct upgrade *t, const struct address *a, const char *domain)
{
	for (uint32_t i = a->first; i != NIL; i = t->claims[i].next)
		if (strcasecmp(t->claims[i].domain, domain) == 0)
			return i;
	return NIL;
}

/* A claim for target would make the address AMBIGUOUS at now. */
static bool disagrees(const struct upgrade *t, const struct address *a, const struct upgrade_target *target,
		      time_t now)
{
	const struct upgrade_target *onion;
	time_t until;
	switch (state_of(t, a, now, &onion, &until)) {
	case UPGRADE_NONE:
		return false;
	case UPGRADE_PLAIN:
		return target != NULL;
	case UPGRADE_ONION:
		return target == NULL || !same_target(onion, target);
	case UPGRADE_AMBIGUOUS:
		break;
	}
	return true;
}

static uint32_t add_address(struct upgrade *t, const struct upgrade_addr *addr)
{
	uint32_t i = t->free_addrs;
	if (i != NIL)
		t->free_addrs = t->addrs[i].next_free;
	else if (t->addrs_made < t->max)
		i = (uint32_t)t->addrs_made++;
	else
		return NIL;
	t->addrs[i] = (struct address){ .addr = *addr, .first = NIL, .reported = UPGRADE_NONE, .used = true };
	t->cells[probe(t, addr)] = i + 1;
	return i;
}

static void add_claim(struct upgrade *t, struct address *a, const char *domain, const struct upgrade_target *target,
		      time_t expires)
{
	uint32_t i = t->free_claims;
	if (i != NIL)
		t->free_claims = t->claims[i].next;
	else
		i = (uint32_t)t->claims_made++; /* n_claims < max: a free or a never used one is left */
	struct claim *c = &t->claims[i];
	memset(c->domain, 0, sizeof(c->domain));
	memcpy(c->domain, domain, strlen(domain));
	set_target(c, target);
	c->expires = expires;
	c->next = NIL;
	uint32_t *link = &a->first;
	while (*link != NIL)
		link = &t->claims[*link].next;
	*link = i;
	t->n_claims++;
	note_expiry(t, expires);
}

static enum upgrade_claim_result renew(struct upgrade *t, struct address *a, struct claim *c,
				      const struct upgrade_target *target, time_t now, time_t expires)
{
	bool live = c->expires > now;
	set_target(c, target);
	if (expires > c->expires)
		c->expires = expires;
	note_expiry(t, c->expires);
	refresh(t, a, now);
	return live ? UPGRADE_RENEWED : UPGRADE_CLAIMED;
}

/* Full: a claim that disagrees with the address's live ones keeps it AMBIGUOUS as if made. */
static enum upgrade_claim_result refuse(struct upgrade *t, uint32_t ai, const struct upgrade_target *target,
					time_t now, time_t expires)
{
	struct address *a = ai != NIL ? &t->addrs[ai] : NULL;
	if (a != NULL && expires > now && disagrees(t, a, target, now)) {
		if (expires > a->conflict_until)
			a->conflict_until = expires;
		note_expiry(t, expires);
		refresh(t, a, now);
	}
	return UPGRADE_FULL;
}

enum upgrade_claim_result upgrade_claim(struct upgrade *t, const char *domain, const struct upgrade_addr *addr,
					const struct upgrade_target *target, time_t now, uint32_t ttl)
{
	if (!valid_claim(domain, addr, target))
		return UPGRADE_INVALID;
	struct upgrade_addr key = { .family = addr->family };
	memcpy(key.bytes, addr->bytes, addr_len(addr->family));
	time_t expires = now + (time_t)ttl;
	uint32_t ai = find_address(t, &key);
	uint32_t ci = ai != NIL ? find_claim(t, &t->addrs[ai], domain) : NIL;
	if (ci != NIL)
		return renew(t, &t->addrs[ai], &t->claims[ci], target, now, expires);
	if (t->n_claims == t->max && t->next_expiry <= now) {
		upgrade_sweep(t, now);
		ai = find_address(t, &key);
	}
	if (t->n_claims == t->max || (ai == NIL && (ai = add_address(t, &key)) == NIL))
		return refuse(t, ai, target, now, expires);
	add_claim(t, &t->addrs[ai], domain, target, expires);
	refresh(t, &t->addrs[ai], now);
	return UPGRADE_CLAIMED;
}

const struct upgrade_target *upgrade_lookup(const struct upgrade *t, const struct upgrade_addr *addr, time_t now)
{
	if (addr->family != AF_INET && addr->family != AF_INET6)
		return NULL;
	struct upgrade_addr key = { .family = addr->family };
	memcpy(key.bytes, addr->bytes, addr_len(addr->family));
	uint32_t ai = find_address(t, &key);
	const struct upgrade_target *onion = NULL;
	time_t until;
	if (ai != NIL)
		state_of(t, &t->addrs[ai], now, &onion, &until);
	return onion;
}

/* Unlinks the address's claims expired at now; how many. */
static size_t drop_expired(struct upgrade *t, struct address *a, time_t now)
{
	size_t dropped = 0;
	uint32_t *link = &a->first;
	while (*link != NIL) {
		struct claim *c = &t->claims[*link];
		if (c->expires > now) {
			note_expiry(t, c->expires);
			link = &c->next;
			continue;
		}
		uint32_t i = *link;
		*link = c->next;
		c->next = t->free_claims;
		t->free_claims = i;
		dropped++;
	}
	if (a->conflict_until > now)
		note_expiry(t, a->conflict_until);
	else
		a->conflict_until = 0;
	return dropped;
}

static void remove_address(struct upgrade *t, struct address *a)
{
	uint32_t i = (uint32_t)(a - t->addrs);
	unindex(t, probe(t, &a->addr));
	a->used = false;
	a->next_free = t->free_addrs;
	t->free_addrs = i;
}

size_t upgrade_sweep(struct upgrade *t, time_t now)
{
	size_t dropped = 0;
	t->next_expiry = 0;
	for (size_t i = 0; i < t->addrs_made; i++) {
		struct address *a = &t->addrs[i];
		if (!a->used)
			continue;
		dropped += drop_expired(t, a, now);
		refresh(t, a, now);
		if (a->first == NIL && a->conflict_until == 0)
			remove_address(t, a);
	}
	t->n_claims -= dropped;
	return dropped;
}

size_t upgrade_drop(struct upgrade *t, bool (*drop)(const char *domain, void *arg), void *arg, time_t now)
{
	for (size_t i = 0; i < t->addrs_made; i++) {
		if (!t->addrs[i].used)
			continue;
		for (uint32_t c = t->addrs[i].first; c != NIL; c = t->claims[c].next)
			if (t->claims[c].expires > now && drop(t->claims[c].domain, arg))
				t->claims[c].expires = now;
	}
	return upgrade_sweep(t, now);
}

time_t upgrade_next_expiry(const struct upgrade *t)
{
	return t->next_expiry;
}

size_t upgrade_claims(const struct upgrade *t)
{
	return t->n_claims;
}

size_t upgrade_bytes_per_claim(void)
{
	return sizeof(struct claim) + sizeof(struct address) + 2 * sizeof(uint32_t);
}
