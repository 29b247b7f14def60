/* SPDX-License-Identifier: ISC */
/* Unit tests for pool: deterministic addresses inside the pools, O(1) lookups both ways, bounded
 * size; an address changes name only when no stream holds it and no answer naming it may still be
 * cached (checked against a brute-force model too); placement always ends; the SMTP port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool.h"
#include "rss_fixture.h"

/* A step of the clock after which every answer with TTL 0 has expired. */
#define LATER (POOL_GRACE_SECONDS + 1)

static struct pool_config config(size_t max, int v4_prefix)
{
	struct pool_config c = { .v4_net = { 10, 192, 0, 0 }, .v4_prefix = v4_prefix,
				 .v6_net = { 0xfd, 0x6f, 0x6e, 0x69, 0x6f, 0x6e }, .v6_prefix = 64, .max_entries = max };
	if (v4_prefix > 10)
		c.v4_net[1] = 192, c.v4_net[2] = 0;
	for (int i = 0; i < POOL_KEY_LEN; i++)
		c.key[i] = (uint8_t)i;
	return c;
}

static void name_of(int i, char out[ONION_NAME_LEN + 1])
{
	snprintf(out, ONION_NAME_LEN + 1, "%056d.onion", i);
}

static const struct pool_entry *map(struct pool *p, int i, time_t now, uint32_t ttl)
{
	char name[ONION_NAME_LEN + 1];
	name_of(i, name);
	return pool_map(p, name, now, ttl);
}

static void test_deterministic(void **state)
{
	struct pool_config c = config(1000, 10);
	struct pool *a = pool_new(&c), *b = pool_new(&c);
	char name[ONION_NAME_LEN + 1];
	(void)state;
	/* Same key, different order of arrival: same addresses (no collisions at this size). */
	for (int i = 0; i < 500; i++)
		map(a, i, 0, 60);
	for (int i = 499; i >= 0; i--)
		map(b, i, 0, 60);
	for (int i = 0; i < 500; i++) {
		name_of(i, name);
		const struct pool_entry *ea = map(a, i, 0, 60), *eb = map(b, i, 0, 60);
		assert_memory_equal(ea->v4, eb->v4, 4);
		assert_memory_equal(ea->v6, eb->v6, 16);
		assert_true(pool_contains_ip4(a, ea->v4));
		assert_true(pool_contains_ip6(a, ea->v6));
		assert_int_equal(ea->v4[0], 10);
		assert_int_equal(ea->v4[1] & 0xc0, 192);
		assert_ptr_equal(pool_lookup_ip4(a, ea->v4), ea);
		assert_ptr_equal(pool_lookup_ip6(a, ea->v6), ea);
		assert_string_equal(pool_lookup_ip4(b, eb->v4)->name, name);
	}
	assert_int_equal(pool_count(a), 500);
	/* Another key gives other addresses. */
	c.key[0] ^= 0xff;
	struct pool *k = pool_new(&c);
	assert_memory_not_equal(map(k, 1, 0, 60)->v4, map(a, 1, 0, 60)->v4, 4);
	pool_free(a);
	pool_free(b);
	pool_free(k);
}

static void test_unknown_and_outside(void **state)
{
	struct pool_config c = config(16, 10);
	struct pool *p = pool_new(&c);
	uint8_t outside[4] = { 10, 1, 2, 3 }, inside[4] = { 10, 200, 0, 1 };
	(void)state;
	assert_false(pool_contains_ip4(p, outside));
	assert_true(pool_contains_ip4(p, inside));
	assert_null(pool_lookup_ip4(p, inside));
	pool_free(p);
}

static void test_tiny_pool_collisions(void **state)
{
	/* A /29 has 6 host addresses: 5 names must get 5 distinct ones, never network/broadcast. */
	struct pool_config c = config(5, 29);
	struct pool *p = pool_new(&c);
	uint8_t seen[8] = { 0 };
	(void)state;
	for (int i = 0; i < 5; i++) {
		const struct pool_entry *e = map(p, i, 0, 60);
		assert_non_null(e);
		int host = e->v4[3] & 7;
		assert_true(host >= 1 && host <= 6);
		assert_int_equal(seen[host], 0);
		seen[host] = 1;
	}
	pool_free(p);
}

static void test_eviction_spares_held(void **state)
{
	struct pool_config c = config(4, 24);
	struct pool *p = pool_new(&c);
	char name[ONION_NAME_LEN + 1];
	const struct pool_entry *held;
	time_t now = 1000;
	(void)state;
	held = map(p, 0, now, 0);
	pool_hold(p, held);
	uint8_t held_v4[4];
	memcpy(held_v4, held->v4, 4);
	/* Every answer has expired by the next name: only the hold protects. */
	for (int i = 1; i < 100; i++) {
		now += LATER;
		assert_non_null(map(p, i, now, 0));
		assert_int_equal(pool_count(p), i < 4 ? i + 1 : 4);
	}
	/* The held name kept its address; the least recently used idle ones went. */
	name_of(0, name);
	assert_ptr_equal(pool_lookup_ip4(p, held_v4), held);
	assert_string_equal(held->name, name);
	/* The three most recent idle names are still mapped: mapping them again evicts nothing. */
	for (int i = 97; i < 100; i++) {
		const struct pool_entry *e = map(p, i, now, 0);
		assert_ptr_equal(pool_lookup_ip4(p, e->v4), e);
		assert_int_equal(pool_count(p), 4);
	}
	assert_ptr_equal(pool_lookup_ip4(p, held_v4), held);
	/* Every slot held: no room, no eviction, whatever the time. */
	for (int i = 97; i < 100; i++)
		pool_hold(p, map(p, i, now, 0));
	now += 1000;
	assert_null(map(p, 500, now, 0));
	assert_int_equal(pool_shortage(p), POOL_SHORT_HELD);
	/* A released entry whose answers expired is evicted. */
	pool_release(p, map(p, 98, now - 1000, 0));
	assert_non_null(map(p, 500, now, 0));
	name_of(98, name);
	assert_int_equal(pool_count(p), 4);
	pool_free(p);
}

/* Issue 11 item 4: a full pool does not evict a name whose answer may still be cached. */
static void test_named_entry_kept(void **state)
{
	struct pool_config c = config(4, 24);
	struct pool *p = pool_new(&c);
	time_t t0 = 100000;
	(void)state;
	const struct pool_entry *victim = map(p, 0, t0, 60);
	uint8_t victim_v4[4], victim_v6[16], others_v4[4][4];
	memcpy(victim_v4, victim->v4, 4);
	memcpy(victim_v6, victim->v6, 16);
	for (int i = 1; i < 4; i++)
		memcpy(others_v4[i], map(p, i, t0, 60)->v4, 4);
	/* The attacker churns names for the victim's whole TTL + grace: nothing is evicted. */
	for (time_t now = t0; now < t0 + 60 + POOL_GRACE_SECONDS; now++) {
		for (int i = 4; i < 44; i++)
			assert_null(map(p, i, now, 60));
		assert_int_equal(pool_shortage(p), POOL_SHORT_NAMED);
		assert_ptr_equal(pool_lookup_ip4(p, victim_v4), victim);
		assert_ptr_equal(pool_lookup_ip6(p, victim_v6), victim);
		assert_int_equal(pool_count(p), 4);
	}
	/* Then eviction resumes, the least recently answered first: the victim. */
	assert_non_null(map(p, 4, t0 + 60 + POOL_GRACE_SECONDS, 60));
	char name[ONION_NAME_LEN + 1];
	name_of(0, name);
	const struct pool_entry *at = pool_lookup_ip4(p, victim_v4);
	assert_true(at == NULL || strcmp(at->name, name) != 0);
	for (int i = 1; i < 4; i++) {
		name_of(i, name);
		assert_string_equal(pool_lookup_ip4(p, others_v4[i])->name, name);
	}
	assert_int_equal(pool_count(p), 4);
	pool_free(p);
}

/* A new answer for a name extends its protection; a PTR answer does this through pool_map too. */
static void test_answer_again_extends(void **state)
{
	struct pool_config c = config(2, 24);
	struct pool *p = pool_new(&c);
	char name[ONION_NAME_LEN + 1];
	(void)state;
	const struct pool_entry *a = map(p, 0, 0, 60);
	map(p, 1, 0, 60);
	assert_ptr_equal(map(p, 0, 50, 60), a); /* now protected until 50 + 60 + grace */
	assert_non_null(map(p, 2, 60 + POOL_GRACE_SECONDS, 60)); /* evicts name 1 */
	name_of(0, name);
	assert_string_equal(a->name, name);
	assert_null(map(p, 3, 50 + 60 + POOL_GRACE_SECONDS - 1, 60));
	/* A shorter TTL later never shortens the protection. */
	assert_ptr_equal(map(p, 0, 51, 0), a);
	assert_null(map(p, 3, 50 + 60 + POOL_GRACE_SECONDS - 1, 60));
	assert_non_null(map(p, 3, 50 + 60 + POOL_GRACE_SECONDS, 60));
	pool_free(p);
}

/* pool-peer's signal: told once per entry made, again only for a name evicted in between. */
static int new_entries;
static char last_new[ONION_NAME_LEN + 1];

static void count_new(void *arg, const struct pool_entry *e)
{
	assert_ptr_equal(arg, &new_entries);
	new_entries++;
	memcpy(last_new, e->name, sizeof(last_new));
}

static void test_new_entry_signal(void **state)
{
	struct pool_config c = config(1, 24);
	struct pool *p = pool_new(&c);
	char name[ONION_NAME_LEN + 1];
	(void)state;
	pool_on_new_entry(p, count_new, &new_entries);
	map(p, 0, 0, 0);
	name_of(0, name);
	assert_int_equal(new_entries, 1);
	assert_string_equal(last_new, name);
	map(p, 0, 1, 0); /* held: no signal (a peer's echo ends here) */
	assert_int_equal(new_entries, 1);
	map(p, 1, LATER + 1, 0); /* evicts name 0 */
	assert_int_equal(new_entries, 2);
	map(p, 0, 2 * LATER + 2, 0); /* made again after its eviction: told again */
	assert_int_equal(new_entries, 3);
	assert_string_equal(last_new, name);
	pool_on_new_entry(p, NULL, NULL);
	map(p, 1, 3 * LATER + 3, 0);
	assert_int_equal(new_entries, 3);
	pool_free(p);
}

/* Different TTLs: the entry whose protection ends first goes first, not the least recently used. */
static void test_protection_order(void **state)
{
	struct pool_config c = config(2, 24);
	struct pool *p = pool_new(&c);
	char name[ONION_NAME_LEN + 1];
	(void)state;
	const struct pool_entry *long_lived = map(p, 0, 0, 300);
	map(p, 1, 1, 0);
	assert_null(map(p, 2, POOL_GRACE_SECONDS, 0));
	assert_non_null(map(p, 2, 1 + POOL_GRACE_SECONDS, 0));
	name_of(0, name);
	assert_string_equal(long_lived->name, name);
	assert_ptr_equal(pool_lookup_ip4(p, long_lived->v4), long_lived);
	pool_free(p);
}

/* "A small pool-max lets one MX answer alias two onions": names mapped for one answer (same now,
 * onion-ttl 0 even) never take each other's address. */
static void test_one_answer_no_alias(void **state)
{
	(void)state;
	for (size_t max = 1; max <= 2; max++) {
		struct pool_config c = config(max, 29);
		struct pool *p = pool_new(&c);
		const struct pool_entry *e[3];
		char name[ONION_NAME_LEN + 1];
		for (int i = 0; i < 3; i++)
			e[i] = map(p, i, 7, 0);
		for (size_t i = 0; i < max; i++) {
			assert_non_null(e[i]);
			name_of((int)i, name);
			assert_string_equal(e[i]->name, name);
			assert_ptr_equal(pool_lookup_ip4(p, e[i]->v4), e[i]);
		}
		if (max == 2)
			assert_memory_not_equal(e[0]->v4, e[1]->v4, 4);
		for (size_t i = max; i < 3; i++)
			assert_null(e[i]);
		assert_int_equal(pool_shortage(p), POOL_SHORT_NAMED);
		/* The next answer, once the grace has passed, gets an address again. */
		assert_non_null(map(p, 5, 7 + POOL_GRACE_SECONDS, 0));
		pool_free(p);
	}
}

static void test_smtp_port(void **state)
{
	struct pool_config c = config(2, 24);
	struct pool *p = pool_new(&c);
	(void)state;
	const struct pool_entry *e = map(p, 0, 0, 0);
	assert_int_equal(e->smtp_port, 0);
	pool_set_smtp_port(p, e, 2525);
	assert_int_equal(map(p, 0, 0, 0)->smtp_port, 2525);
	/* A slot given to another name starts without a port. */
	map(p, 1, 0, 0);
	e = map(p, 2, LATER, 0);
	assert_int_equal(e->smtp_port, 0);
	assert_int_equal(map(p, 0, 2 * LATER, 0)->smtp_port, 0);
	pool_free(p);
}

static void test_churn_keeps_lookups_right(void **state)
{
	/* Many evictions (tombstones, index rebuilds): every live name still maps both ways. */
	struct pool_config c = config(64, 16);
	struct pool *p = pool_new(&c);
	char name[ONION_NAME_LEN + 1];
	(void)state;
	for (int i = 0; i < 5000; i++) {
		const struct pool_entry *e = map(p, i, i, 0);
		assert_non_null(e);
		assert_ptr_equal(pool_lookup_ip4(p, e->v4), e);
		assert_ptr_equal(pool_lookup_ip6(p, e->v6), e);
	}
	for (int i = 5000 - 64; i < 5000; i++) {
		name_of(i, name);
		const struct pool_entry *e = map(p, i, 5000, 0);
		assert_string_equal(pool_lookup_ip4(p, e->v4)->name, name);
	}
	assert_int_equal(pool_count(p), 64);
	printf("pool: %zu bytes per mapping\n", pool_bytes_per_entry(p));
	pool_free(p);
}

/* Issue 11 item 5: more names than the IPv6 pool has addresses (config refuses that; the pool
 * must not rely on it): placement gives up, pool_map returns NULL, the slot is not lost. */
static void test_placement_bounded(void **state)
{
	struct pool_config c = config(300, 16);
	(void)state;
	c.v6_prefix = 120;
	struct pool *p = pool_new(&c);
	for (int i = 0; i < 255; i++)
		assert_non_null(map(p, i, 0, 0));
	assert_null(map(p, 255, 0, 0));
	assert_int_equal(pool_shortage(p), POOL_SHORT_NO_ADDRESS);
	assert_null(map(p, 256, 0, 0));
	assert_int_equal(pool_count(p), 255);
	/* The slots that found no address are tried again, and fail again: nothing is lost. */
	for (int i = 1000; i < 1100; i++)
		assert_null(map(p, i, LATER, 0));
	assert_int_equal(pool_count(p), 255);
	for (int i = 0; i < 255; i++)
		assert_non_null(map(p, i, LATER, 0));
	pool_free(p);
}

/* The config of the issue: pool-ipv6 /112 (65535 addresses) and pool-max 65536. */
static void test_v6_112_full(void **state)
{
	struct pool_config c = config(65536, 8);
	(void)state;
	c.v6_prefix = 112;
	struct pool *p = pool_new(&c);
	for (int i = 0; i < 65535; i++)
		assert_non_null(map(p, i, 0, 0));
	assert_null(map(p, 65535, 0, 0));
	assert_int_equal(pool_shortage(p), POOL_SHORT_NO_ADDRESS);
	pool_free(p);
}

/* Random answers, holds and releases against a model that scans everything: pool_map fails only
 * when no entry is both idle and expired, and never evicts one that is held or still named. */
static void test_model(void **state)
{
	enum { MAX = 8, NAMES = 40, STEPS = 200000 };
	struct pool_config c = config(MAX, 24);
	struct pool *p = pool_new(&c);
	time_t until[NAMES] = { 0 }, now = 0;
	unsigned holds[NAMES] = { 0 };
	bool mapped[NAMES] = { false };
	uint8_t addr[NAMES][4];
	(void)state;
	srand(11);
	for (int step = 0; step < STEPS; step++) {
		int n = rand() % NAMES, op = rand() % 10;
		uint32_t ttl = op < 2 ? 0 : (uint32_t)(rand() % 4);
		size_t count = 0;
		bool evictable = false;
		now += rand() % 3;
		for (int i = 0; i < NAMES; i++) {
			count += mapped[i];
			evictable |= mapped[i] && holds[i] == 0 && until[i] <= now;
		}
		const struct pool_entry *e = map(p, n, now, ttl);
		assert_true((e != NULL) == (mapped[n] || count < MAX || evictable));
		if (e == NULL)
			continue;
		time_t want = now + (time_t)ttl + POOL_GRACE_SECONDS;
		if (!mapped[n] || until[n] < want)
			until[n] = want;
		mapped[n] = true;
		memcpy(addr[n], e->v4, 4);
		if (op == 0 || (op == 1 && holds[n] == 0)) {
			pool_hold(p, e);
			holds[n]++;
		} else if (op == 1) {
			pool_release(p, e);
			holds[n]--;
		}
		/* Whoever lost its address was idle and expired; every other name keeps its own. */
		size_t live = 0;
		for (int i = 0; i < NAMES; i++) {
			char name[ONION_NAME_LEN + 1];
			if (!mapped[i])
				continue;
			name_of(i, name);
			const struct pool_entry *x = pool_lookup_ip4(p, addr[i]);
			if (x != NULL && strcmp(x->name, name) == 0) {
				live++;
				continue;
			}
			assert_int_equal(holds[i], 0);
			assert_true(until[i] <= now);
			mapped[i] = false;
		}
		assert_int_equal(live, pool_count(p));
	}
	pool_free(p);
}

/* The indexes grow with the entries: 1000 names in a pool for 65536 add at most 512 KiB resident
 * (tables sized for pool-max at once: 1000 random cells touched most of their 1.5 MiB), and
 * every name and address is still found, through the rebuilds, and once the pool is full. */
static void test_indexes_grow_with_entries(void **state)
{
	struct pool_config cfg = config(65536, 10);
	char name[ONION_NAME_LEN + 1];
	(void)state;
	size_t before = rss_bytes();
	struct pool *p = pool_new(&cfg);
	assert_non_null(p);
	for (int i = 0; i < 1000; i++)
		assert_non_null(map(p, i, 1000, 0));
	size_t grown = rss_bytes() - before;
	printf("pool: %zu KiB resident for 1000 names\n", grown / 1024);
	assert_true(grown < (512u << 10));
	for (int i = 1000; i < 65536; i++)
		assert_non_null(map(p, i, 1000, 0));
	assert_int_equal(pool_count(p), 65536);
	for (int i = 0; i < 65536; i += 97) {
		name_of(i, name);
		const struct pool_entry *e = pool_find(p, name);
		assert_non_null(e);
		assert_string_equal(pool_lookup_ip4(p, e->v4)->name, name);
		assert_string_equal(pool_lookup_ip6(p, e->v6)->name, name);
	}
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),        cmocka_unit_test(test_unknown_and_outside),
		cmocka_unit_test(test_tiny_pool_collisions), cmocka_unit_test(test_eviction_spares_held),
		cmocka_unit_test(test_named_entry_kept),     cmocka_unit_test(test_answer_again_extends),
		cmocka_unit_test(test_protection_order),     cmocka_unit_test(test_one_answer_no_alias),
		cmocka_unit_test(test_churn_keeps_lookups_right), cmocka_unit_test(test_smtp_port),
		cmocka_unit_test(test_placement_bounded),    cmocka_unit_test(test_v6_112_full),
		cmocka_unit_test(test_model),                cmocka_unit_test(test_new_entry_signal),
		cmocka_unit_test(test_indexes_grow_with_entries),
	};
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
