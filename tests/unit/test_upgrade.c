/* SPDX-License-Identifier: ISC */
/* Unit tests for upgrade: the ambiguity rule (agree, disagree, a claim without onion MX), expiry
 * and the sweep's reports, renewal, the bound (never evicting, a refused conflict still counts),
 * IPv4 vs IPv6, the hash index against a brute-force model, and tables that become resident only
 * as they fill. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <strings.h>

#include "upgrade.h"
#include "rss_fixture.h"

#define T0 1000
#define SLACK 60

static const uint8_t key[UPGRADE_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* What on_change said, in order. */
struct change {
	struct upgrade_addr addr;
	enum upgrade_state before, after;
	time_t until;
};

static struct change changes[64];
static size_t n_changes;

static void record(void *arg, const struct upgrade_addr *addr, enum upgrade_state before, enum upgrade_state after,
		   time_t until)
{
	(void)arg;
	assert_true(n_changes < sizeof(changes) / sizeof(changes[0]));
	changes[n_changes++] = (struct change){ *addr, before, after, until };
}

static struct upgrade *table(size_t max)
{
	n_changes = 0;
	struct upgrade *t = upgrade_new(max, key, SLACK, record, NULL);
	assert_non_null(t);
	return t;
}

static struct upgrade_addr v4(uint8_t last)
{
	return (struct upgrade_addr){ .family = AF_INET, .bytes = { 192, 0, 2, last } };
}

static struct upgrade_addr v6(uint8_t last)
{
	return (struct upgrade_addr){ .family = AF_INET6, .bytes = { 0x20, 0x01, 0x0d, 0xb8, [15] = last } };
}

static struct upgrade_target onion(const char *host, uint16_t port)
{
	struct upgrade_target t = { .port = port };
	snprintf(t.host, sizeof(t.host), "%s", host);
	return t;
}

static void expect_change(size_t i, const struct upgrade_addr *addr, enum upgrade_state before, enum upgrade_state after)
{
	assert_true(i < n_changes);
	assert_int_equal(changes[i].addr.family, addr->family);
	assert_memory_equal(changes[i].addr.bytes, addr->bytes, addr->family == AF_INET ? 4 : 16);
	assert_int_equal(changes[i].before, before);
	assert_int_equal(changes[i].after, after);
}

static void expect_target(const struct upgrade *t, const struct upgrade_addr *a, time_t now, const char *host, uint16_t port)
{
	const struct upgrade_target *got = upgrade_lookup(t, a, now);
	assert_non_null(got);
	assert_string_equal(got->host, host);
	assert_int_equal(got->port, port);
}

#define X "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion"
#define Y "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy.onion"

/* Domains naming the same onion MX (host in any case, same port) share the address. */
static void test_agree(void **state)
{
	(void)state;
	struct upgrade *t = table(8);
	struct upgrade_addr a = v4(25);
	struct upgrade_target x = onion(X, 25), x_upper = onion("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX.ONION", 25);
	assert_null(upgrade_lookup(t, &a, T0));
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0, 300), UPGRADE_CLAIMED);
	assert_int_equal(n_changes, 1);
	expect_change(0, &a, UPGRADE_NONE, UPGRADE_ONION);
	expect_target(t, &a, T0, X, 25);
	assert_int_equal(upgrade_claim(t, "b.test", &a, &x_upper, T0, 300), UPGRADE_CLAIMED);
	assert_int_equal(n_changes, 1);
	expect_target(t, &a, T0 + 299, X, 25);
	assert_null(upgrade_lookup(t, &a, T0 + 300));
	assert_int_equal(upgrade_claims(t), 2);
	upgrade_free(t);
}

/* Different onion MX hosts, or ports, on one address: ambiguous, reported once, never upgraded;
 * when the conflicting claim expires the address is upgraded again. */
static void test_disagree(void **state)
{
	(void)state;
	struct upgrade *t = table(8);
	struct upgrade_addr a = v4(25);
	struct upgrade_target x = onion(X, 25), y = onion(Y, 25), x2525 = onion(X, 2525);
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0, 300), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "b.test", &a, &y, T0 + 10, 60), UPGRADE_CLAIMED);
	assert_int_equal(n_changes, 2);
	expect_change(1, &a, UPGRADE_ONION, UPGRADE_AMBIGUOUS);
	assert_null(upgrade_lookup(t, &a, T0 + 10));
	assert_int_equal(upgrade_claim(t, "c.test", &a, &x, T0 + 20, 300), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "b.test", &a, &y, T0 + 30, 60), UPGRADE_RENEWED);
	assert_int_equal(n_changes, 2);
	assert_null(upgrade_lookup(t, &a, T0 + 89));
	/* b.test's claim lives until T0 + 90 */
	expect_target(t, &a, T0 + 90, X, 25);
	assert_int_equal(upgrade_sweep(t, T0 + 90), 1);
	assert_int_equal(n_changes, 3);
	expect_change(2, &a, UPGRADE_AMBIGUOUS, UPGRADE_ONION);

	struct upgrade_addr b = v4(26);
	assert_int_equal(upgrade_claim(t, "a.test", &b, &x, T0 + 100, 300), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "d.test", &b, &x2525, T0 + 100, 300), UPGRADE_CLAIMED);
	assert_null(upgrade_lookup(t, &b, T0 + 100));
	expect_change(4, &b, UPGRADE_ONION, UPGRADE_AMBIGUOUS);
	upgrade_free(t);
}

/* A domain without onion MX on the address (in either order) makes it ambiguous; alone, plain. */
static void test_plain_claim(void **state)
{
	(void)state;
	struct upgrade *t = table(8);
	struct upgrade_addr a = v4(25), b = v4(26);
	struct upgrade_target x = onion(X, 25);
	assert_int_equal(upgrade_claim(t, "plain.test", &a, NULL, T0, 300), UPGRADE_CLAIMED);
	expect_change(0, &a, UPGRADE_NONE, UPGRADE_PLAIN);
	assert_null(upgrade_lookup(t, &a, T0));
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0, 300), UPGRADE_CLAIMED);
	expect_change(1, &a, UPGRADE_PLAIN, UPGRADE_AMBIGUOUS);
	assert_null(upgrade_lookup(t, &a, T0));

	assert_int_equal(upgrade_claim(t, "a.test", &b, &x, T0, 300), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "plain.test", &b, NULL, T0, 30), UPGRADE_CLAIMED);
	assert_int_equal(n_changes, 4);
	expect_change(2, &b, UPGRADE_NONE, UPGRADE_ONION);
	expect_change(3, &b, UPGRADE_ONION, UPGRADE_AMBIGUOUS);
	assert_null(upgrade_lookup(t, &b, T0 + 29));
	expect_target(t, &b, T0 + 30, X, 25);
	/* A domain's new answer without onion MX replaces its claim's target. */
	assert_int_equal(upgrade_claim(t, "a.test", &b, NULL, T0 + 40, 300), UPGRADE_RENEWED);
	assert_null(upgrade_lookup(t, &b, T0 + 40));
	upgrade_free(t);
}

/* Expired claims never upgrade (even before a sweep); the sweep reports exactly the addresses whose
 * state changed, drops the expired claims and frees their room. */
static void test_expiry_and_sweep(void **state)
{
	(void)state;
	struct upgrade *t = table(8);
	struct upgrade_addr a = v4(1), b = v4(2), c = v6(3), d = v4(4);
	struct upgrade_target x = onion(X, 25), y = onion(Y, 25);
	assert_int_equal(upgrade_next_expiry(t), 0);
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0, 60), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "a.test", &b, &x, T0, 60), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "b.test", &b, &x, T0, 600), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "c.test", &c, &y, T0, 30), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "p.test", &d, NULL, T0, 60), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_next_expiry(t), T0 + 30);
	/* b.test's claim outlives a.test's by more than the slack: b is reported again. */
	assert_int_equal(n_changes, 5);
	expect_change(2, &b, UPGRADE_ONION, UPGRADE_ONION);
	assert_int_equal(changes[2].until, T0 + 600);
	n_changes = 0;

	assert_null(upgrade_lookup(t, &c, T0 + 30));
	assert_int_equal(upgrade_sweep(t, T0 + 29), 0);
	assert_int_equal(n_changes, 0);
	assert_int_equal(upgrade_sweep(t, T0 + 30), 1);
	assert_int_equal(n_changes, 1);
	expect_change(0, &c, UPGRADE_ONION, UPGRADE_NONE);
	assert_int_equal(upgrade_next_expiry(t), T0 + 60);

	n_changes = 0;
	assert_int_equal(upgrade_sweep(t, T0 + 60), 3);
	assert_int_equal(n_changes, 2);
	expect_change(0, &a, UPGRADE_ONION, UPGRADE_NONE);
	expect_change(1, &d, UPGRADE_PLAIN, UPGRADE_NONE);
	expect_target(t, &b, T0 + 60, X, 25);
	assert_int_equal(upgrade_claims(t), 1);
	assert_int_equal(upgrade_next_expiry(t), T0 + 600);
	assert_int_equal(upgrade_sweep(t, T0 + 600), 1);
	expect_change(2, &b, UPGRADE_ONION, UPGRADE_NONE);
	assert_int_equal(upgrade_claims(t), 0);
	assert_int_equal(upgrade_next_expiry(t), 0);
	/* An expired claim made again is a new claim, reported again. */
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0 + 700, 60), UPGRADE_CLAIMED);
	expect_change(3, &a, UPGRADE_NONE, UPGRADE_ONION);
	upgrade_free(t);
}

/* The same domain claiming the same address again extends its claim (never shortens it). */
static void test_renewal(void **state)
{
	(void)state;
	struct upgrade *t = table(2);
	struct upgrade_addr a = v6(25);
	struct upgrade_target x = onion(X, 25), y = onion(Y, 25);
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0, 10), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "A.Test", &a, &x, T0 + 5, 10), UPGRADE_RENEWED);
	assert_int_equal(upgrade_claims(t), 1);
	expect_target(t, &a, T0 + 14, X, 25);
	assert_null(upgrade_lookup(t, &a, T0 + 15));
	assert_int_equal(upgrade_claim(t, "a.test", &a, &y, T0 + 6, 1), UPGRADE_RENEWED);
	expect_target(t, &a, T0 + 14, Y, 25);
	assert_int_equal(upgrade_sweep(t, T0 + 14), 0);
	assert_int_equal(n_changes, 1);
	assert_int_equal(upgrade_sweep(t, T0 + 15), 1);
	assert_int_equal(n_changes, 2);
	upgrade_free(t);
}

/* An address that stays ONION is reported again only when its claims outlive the reported expiry
 * by more than the slack; the report carries the new expiry. */
static void test_renewal_slack(void **state)
{
	(void)state;
	struct upgrade *t = table(4);
	struct upgrade_addr a = v4(9);
	struct upgrade_target x = onion(X, 25);
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0, 100), UPGRADE_CLAIMED);
	assert_int_equal(n_changes, 1);
	assert_int_equal(changes[0].until, T0 + 100);
	for (time_t now = T0 + 1; now <= T0 + 60; now++)
		assert_int_equal(upgrade_claim(t, "a.test", &a, &x, now, 100), UPGRADE_RENEWED);
	assert_int_equal(n_changes, 1);
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0 + 61, 100), UPGRADE_RENEWED);
	assert_int_equal(n_changes, 2);
	expect_change(1, &a, UPGRADE_ONION, UPGRADE_ONION);
	assert_int_equal(changes[1].until, T0 + 161);
	assert_int_equal(upgrade_sweep(t, T0 + 161), 1);
	expect_change(2, &a, UPGRADE_ONION, UPGRADE_NONE);
	assert_int_equal(changes[2].until, 0);
	upgrade_free(t);
}

static bool drop_named(const char *domain, void *arg)
{
	return strcasecmp(domain, arg) == 0;
}

/* A reload drops the claims of a domain: the addresses they made AMBIGUOUS or ONION change. */
static void test_drop(void **state)
{
	(void)state;
	struct upgrade *t = table(4);
	struct upgrade_addr a = v4(1);
	struct upgrade_target x = onion(X, 25);
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0, 100), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "p.test", &a, NULL, T0, 100), UPGRADE_CLAIMED);
	assert_null(upgrade_lookup(t, &a, T0));
	n_changes = 0;
	assert_int_equal(upgrade_drop(t, drop_named, "P.test", T0 + 1), 1);
	assert_int_equal(n_changes, 1);
	expect_change(0, &a, UPGRADE_AMBIGUOUS, UPGRADE_ONION);
	expect_target(t, &a, T0 + 1, X, 25);
	assert_int_equal(upgrade_drop(t, drop_named, "nobody.test", T0 + 2), 0);
	assert_int_equal(upgrade_drop(t, drop_named, "a.test", T0 + 2), 1);
	expect_change(1, &a, UPGRADE_ONION, UPGRADE_NONE);
	assert_int_equal(upgrade_claims(t), 0);
	upgrade_free(t);
}

/* At most max claims: a new one is refused when full and no live one is evicted; renewals still
 * go through; expired ones make room at once; a refused claim that disagrees with an address's
 * live claims still makes it ambiguous, until it would have expired. */
static void test_bound(void **state)
{
	(void)state;
	struct upgrade *t = table(3);
	struct upgrade_addr a = v4(1), b = v4(2), c = v4(3), d = v4(4);
	struct upgrade_target x = onion(X, 25), y = onion(Y, 25);
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0, 100), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "b.test", &b, &x, T0, 200), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "c.test", &c, &x, T0, 300), UPGRADE_CLAIMED);
	assert_int_equal(upgrade_claim(t, "d.test", &d, &x, T0 + 1, 300), UPGRADE_FULL);
	assert_null(upgrade_lookup(t, &d, T0 + 1));
	assert_int_equal(upgrade_claims(t), 3);
	for (int i = 1; i <= 3; i++) {
		struct upgrade_addr each = v4((uint8_t)i);
		expect_target(t, &each, T0 + 1, X, 25);
	}
	assert_int_equal(upgrade_claim(t, "a.test", &a, &x, T0 + 2, 100), UPGRADE_RENEWED);
	assert_int_equal(n_changes, 3);

	/* Refused, but it disagrees: a is not upgraded while the refused claim would live. */
	assert_int_equal(upgrade_claim(t, "e.test", &a, &y, T0 + 3, 50), UPGRADE_FULL);
	assert_int_equal(n_changes, 4);
	expect_change(3, &a, UPGRADE_ONION, UPGRADE_AMBIGUOUS);
	assert_null(upgrade_lookup(t, &a, T0 + 52));
	assert_int_equal(upgrade_claim(t, "p.test", &b, NULL, T0 + 3, 50), UPGRADE_FULL);
	expect_change(4, &b, UPGRADE_ONION, UPGRADE_AMBIGUOUS);
	/* One that agrees changes nothing. */
	assert_int_equal(upgrade_claim(t, "f.test", &c, &x, T0 + 3, 50), UPGRADE_FULL);
	assert_int_equal(n_changes, 5);
	assert_int_equal(upgrade_next_expiry(t), T0 + 53);
	assert_int_equal(upgrade_sweep(t, T0 + 53), 0);
	assert_int_equal(n_changes, 7);
	expect_change(5, &a, UPGRADE_AMBIGUOUS, UPGRADE_ONION);
	expect_change(6, &b, UPGRADE_AMBIGUOUS, UPGRADE_ONION);
	expect_target(t, &a, T0 + 53, X, 25);

	/* a.test's and b.test's claims have expired at T0 + 200: a new claim on a full table drops them
	 * first (reported as a sweep reports them) and takes their room. */
	assert_int_equal(upgrade_claims(t), 3);
	assert_int_equal(upgrade_claim(t, "d.test", &d, &y, T0 + 200, 300), UPGRADE_CLAIMED);
	assert_int_equal(n_changes, 10);
	expect_change(7, &a, UPGRADE_ONION, UPGRADE_NONE);
	expect_change(8, &b, UPGRADE_ONION, UPGRADE_NONE);
	expect_change(9, &d, UPGRADE_NONE, UPGRADE_ONION);
	expect_target(t, &d, T0 + 200, Y, 25);
	assert_int_equal(upgrade_claims(t), 2);
	upgrade_free(t);
}

/* The same bytes in the two families are two addresses; bytes past an IPv4 address do not count. */
static void test_families(void **state)
{
	(void)state;
	struct upgrade *t = table(8);
	struct upgrade_addr a4 = { .family = AF_INET, .bytes = { 192, 0, 2, 25 } };
	struct upgrade_addr a6 = { .family = AF_INET6, .bytes = { 192, 0, 2, 25 } };
	struct upgrade_addr a4_junk = { .family = AF_INET, .bytes = { 192, 0, 2, 25, 0xee, 0xee } };
	struct upgrade_target x = onion(X, 25), y = onion(Y, 25);
	assert_int_equal(upgrade_claim(t, "a.test", &a4, &x, T0, 60), UPGRADE_CLAIMED);
	assert_null(upgrade_lookup(t, &a6, T0));
	assert_int_equal(upgrade_claim(t, "b.test", &a6, &y, T0, 60), UPGRADE_CLAIMED);
	expect_target(t, &a4, T0, X, 25);
	expect_target(t, &a6, T0, Y, 25);
	expect_target(t, &a4_junk, T0, X, 25);
	assert_int_equal(upgrade_claim(t, "a.test", &a4_junk, &x, T0, 60), UPGRADE_RENEWED);
	assert_int_equal(n_changes, 2);
	upgrade_free(t);
}

static void test_invalid(void **state)
{
	(void)state;
	char long_name[UPGRADE_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	struct upgrade *t = table(2);
	struct upgrade_addr a = v4(1), unix_addr = { .family = AF_UNIX };
	struct upgrade_target x = onion(X, 25), port0 = onion(X, 0), nohost = onion("", 25);
	assert_int_equal(upgrade_claim(t, "a.test", &unix_addr, &x, T0, 60), UPGRADE_INVALID);
	assert_int_equal(upgrade_claim(t, "", &a, &x, T0, 60), UPGRADE_INVALID);
	assert_int_equal(upgrade_claim(t, long_name, &a, &x, T0, 60), UPGRADE_INVALID);
	assert_int_equal(upgrade_claim(t, "a.test", &a, &port0, T0, 60), UPGRADE_INVALID);
	assert_int_equal(upgrade_claim(t, "a.test", &a, &nohost, T0, 60), UPGRADE_INVALID);
	long_name[UPGRADE_NAME_MAX] = '\0';
	assert_int_equal(upgrade_claim(t, long_name, &a, &x, T0, 60), UPGRADE_CLAIMED);
	assert_null(upgrade_lookup(t, &unix_addr, T0));
	assert_int_equal(upgrade_claims(t), 1);
	assert_null(upgrade_new(0, key, SLACK, NULL, NULL));
	upgrade_free(NULL);
	upgrade_free(t);
}

/* Many addresses, claims and sweeps in a pseudo-random order against a brute-force model: the
 * index finds every address after removals (its cells shift back), and the bound holds. */
#define MODEL_MAX 128
#define MODEL_ADDRS 96

struct model_claim {
	int domain, addr, target; /* target -1: none */
	time_t expires;
	bool used;
};

static struct model_claim model[MODEL_MAX * 4];

static int model_lookup(int addr, time_t now)
{
	int target = -2; /* -2: no live claim yet */
	for (size_t i = 0; i < sizeof(model) / sizeof(model[0]); i++) {
		const struct model_claim *m = &model[i];
		if (!m->used || m->addr != addr || m->expires <= now)
			continue;
		if (m->target < 0 || (target != -2 && target != m->target))
			return -1;
		target = m->target;
	}
	return target < 0 ? -1 : target;
}

static struct upgrade_addr model_addr(int i)
{
	return i % 2 ? v4((uint8_t)i) : v6((uint8_t)i);
}

static void test_model(void **state)
{
	(void)state;
	struct upgrade *t = upgrade_new(MODEL_MAX * 4, key, SLACK, NULL, NULL);
	assert_non_null(t);
	uint32_t seed = 12345;
	time_t now = T0;
	memset(model, 0, sizeof(model));
	for (int step = 0; step < 20000; step++) {
		seed = seed * 1103515245 + 12345;
		int domain = (int)(seed >> 8) % 16, addr = (int)(seed >> 12) % MODEL_ADDRS;
		int target = (int)(seed >> 20) % 3 - 1;
		uint32_t ttl = 1 + (seed >> 24) % 40;
		char name[16];
		snprintf(name, sizeof(name), "d%d.test", domain);
		struct upgrade_target tg = onion(target == 0 ? X : Y, 25);
		struct upgrade_addr a = model_addr(addr);
		enum upgrade_claim_result r = upgrade_claim(t, name, &a, target < 0 ? NULL : &tg, now, ttl);
		assert_int_not_equal(r, UPGRADE_FULL);
		size_t slot = sizeof(model) / sizeof(model[0]);
		for (size_t i = 0; i < sizeof(model) / sizeof(model[0]); i++)
			if (model[i].used && model[i].domain == domain && model[i].addr == addr)
				slot = i;
		if (slot == sizeof(model) / sizeof(model[0])) {
			for (slot = 0; model[slot].used; slot++)
				;
			model[slot] = (struct model_claim){ domain, addr, target, now + ttl, true };
		} else {
			model[slot].target = target;
			if (now + (time_t)ttl > model[slot].expires)
				model[slot].expires = now + ttl;
		}
		if (step % 7 == 0)
			now++;
		if (step % 50 == 0) {
			upgrade_sweep(t, now);
			for (size_t i = 0; i < sizeof(model) / sizeof(model[0]); i++)
				if (model[i].expires <= now)
					model[i].used = false;
		}
		for (int i = 0; i < MODEL_ADDRS; i++) {
			struct upgrade_addr each = model_addr(i);
			const struct upgrade_target *got = upgrade_lookup(t, &each, now);
			int want = model_lookup(i, now);
			if (want < 0)
				assert_null(got);
			else
				assert_string_equal(got->host, want == 0 ? X : Y);
		}
	}
	upgrade_free(t);
}

/* A table for 65536 claims (~37 MiB reserved) adds at most 4 MiB resident until claims fill it. */
static void test_tables_resident_as_they_fill(void **state)
{
	(void)state;
	size_t before = rss_bytes();
	struct upgrade *t = upgrade_new(1u << 16, key, SLACK, NULL, NULL);
	assert_non_null(t);
	size_t grown = rss_bytes() - before;
	assert_true(grown < (4u << 20));
	upgrade_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree),    cmocka_unit_test(test_disagree),
		cmocka_unit_test(test_plain_claim), cmocka_unit_test(test_expiry_and_sweep),
		cmocka_unit_test(test_renewal),  cmocka_unit_test(test_renewal_slack),
		cmocka_unit_test(test_drop),     cmocka_unit_test(test_bound),
		cmocka_unit_test(test_families), cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_model),    cmocka_unit_test(test_tables_resident_as_they_fill),
	};
	return cmocka_run_group_tests_name("upgrade", tests, NULL, NULL);
}
