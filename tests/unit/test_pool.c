/* Unit tests for pool: deterministic addresses inside the pools, O(1) lookups both ways,
 * bounded size with LRU eviction that never takes a held entry, the SMTP port of an entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pool.h"

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

static void test_deterministic(void **state)
{
	struct pool_config c = config(1000, 10);
	struct pool *a = pool_new(&c), *b = pool_new(&c);
	char name[ONION_NAME_LEN + 1];
	(void)state;
	/* Same key, different order of arrival: same addresses (no collisions at this size). */
	for (int i = 0; i < 500; i++) {
		name_of(i, name);
		pool_map(a, name, 0, 0);
	}
	for (int i = 499; i >= 0; i--) {
		name_of(i, name);
		pool_map(b, name, 0, 0);
	}
	for (int i = 0; i < 500; i++) {
		name_of(i, name);
		const struct pool_entry *ea = pool_map(a, name, 0, 0), *eb = pool_map(b, name, 0, 0);
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
	name_of(1, name);
	assert_memory_not_equal(pool_map(k, name, 0, 0)->v4, pool_map(a, name, 0, 0)->v4, 4);
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
	char name[ONION_NAME_LEN + 1];
	uint8_t seen[8] = { 0 };
	(void)state;
	for (int i = 0; i < 5; i++) {
		name_of(i, name);
		const struct pool_entry *e = pool_map(p, name, 0, 0);
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
	(void)state;
	name_of(0, name);
	held = pool_map(p, name, 0, 0);
	pool_hold(p, held);
	uint8_t held_v4[4];
	memcpy(held_v4, held->v4, 4);
	for (int i = 1; i < 100; i++) {
		name_of(i, name);
		assert_non_null(pool_map(p, name, 0, 0));
		assert_int_equal(pool_count(p), i < 4 ? i + 1 : 4);
	}
	/* The held name kept its address; the least recently used idle ones went. */
	name_of(0, name);
	assert_ptr_equal(pool_lookup_ip4(p, held_v4), held);
	assert_string_equal(held->name, name);
	/* The three most recent idle names are still mapped: mapping them again evicts nothing. */
	for (int i = 97; i < 100; i++) {
		name_of(i, name);
		const struct pool_entry *e = pool_map(p, name, 0, 0);
		assert_ptr_equal(pool_lookup_ip4(p, e->v4), e);
		assert_int_equal(pool_count(p), 4);
	}
	assert_ptr_equal(pool_lookup_ip4(p, held_v4), held);
	/* Every slot held: no room, no eviction. */
	for (int i = 97; i < 100; i++) {
		name_of(i, name);
		pool_hold(p, pool_map(p, name, 0, 0));
	}
	name_of(500, name);
	assert_null(pool_map(p, name, 0, 0));
	name_of(98, name);
	pool_release(p, pool_map(p, name, 0, 0));
	name_of(500, name);
	assert_non_null(pool_map(p, name, 0, 0));
	name_of(98, name);
	assert_int_equal(pool_count(p), 4);
	pool_free(p);
}

static void test_smtp_port(void **state)
{
	struct pool_config c = config(2, 24);
	struct pool *p = pool_new(&c);
	char name[ONION_NAME_LEN + 1];
	(void)state;
	name_of(0, name);
	const struct pool_entry *e = pool_map(p, name, 0, 0);
	assert_int_equal(e->smtp_port, 0);
	pool_set_smtp_port(p, e, 2525);
	assert_int_equal(pool_map(p, name, 0, 0)->smtp_port, 2525);
	/* A slot given to another name starts without a port. */
	name_of(1, name);
	pool_map(p, name, 0, 0);
	name_of(2, name);
	e = pool_map(p, name, 0, 0);
	assert_int_equal(e->smtp_port, 0);
	name_of(0, name);
	assert_int_equal(pool_map(p, name, 0, 0)->smtp_port, 0);
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
		name_of(i, name);
		const struct pool_entry *e = pool_map(p, name, 0, 0);
		assert_non_null(e);
		assert_ptr_equal(pool_lookup_ip4(p, e->v4), e);
		assert_ptr_equal(pool_lookup_ip6(p, e->v6), e);
	}
	for (int i = 5000 - 64; i < 5000; i++) {
		name_of(i, name);
		const struct pool_entry *e = pool_map(p, name, 0, 0);
		assert_string_equal(pool_lookup_ip4(p, e->v4)->name, name);
	}
	assert_int_equal(pool_count(p), 64);
	printf("pool: %zu bytes per mapping\n", pool_bytes_per_entry(p));
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),        cmocka_unit_test(test_unknown_and_outside),
		cmocka_unit_test(test_tiny_pool_collisions), cmocka_unit_test(test_eviction_spares_held),
		cmocka_unit_test(test_churn_keeps_lookups_right), cmocka_unit_test(test_smtp_port),
	};
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
