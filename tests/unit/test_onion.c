/* SPDX-License-Identifier: ISC */
/* Unit tests for onion: v3 name validation (length, base32, version, checksum) and the
 * canonical form of names under an onion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "onion.h"
#include "onion_fixture.h"

#define DDG "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"

static void test_valid(void **state)
{
	char out[ONION_NAME_LEN + 1], name[80];
	(void)state;
	assert_int_equal(onion_canonical(DDG, out), 0);
	assert_string_equal(out, DDG);
	assert_int_equal(onion_canonical("DuckDuckGoGG42XJOC72X3SJASOWOARFBGCMVFIMAFTT6TWAGSWZCZAD.ONION.", out), 0);
	assert_string_equal(out, DDG);
	assert_int_equal(onion_canonical("www.mail." DDG, out), 0);
	assert_string_equal(out, DDG);
	for (int seed = 0; seed < 256; seed += 17) {
		make_onion((uint8_t)seed, name);
		assert_int_equal(onion_canonical(name, out), 0);
		assert_string_equal(out, name);
	}
}

static void test_invalid(void **state)
{
	char out[ONION_NAME_LEN + 1], name[80];
	(void)state;
	assert_int_equal(onion_canonical("onion", out), -1);
	assert_int_equal(onion_canonical("x.onion", out), -1);
	assert_int_equal(onion_canonical("expyuzz4wqqyqhjn.onion", out), -1); /* v2 */
	assert_int_equal(onion_canonical("duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczae.onion", out), -1);
	assert_int_equal(onion_canonical("duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzcza1.onion", out), -1);
	assert_int_equal(onion_canonical("xduckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", out), -1);
	assert_int_equal(onion_canonical(DDG ".example", out), -1);
	make_onion(7, name);
	name[55] = name[55] == 'a' ? 'b' : 'a'; /* breaks the version byte or checksum */
	assert_int_equal(onion_canonical(name, out), -1);
}

static void test_onion_domain(void **state)
{
	(void)state;
	assert_true(onion_is_onion_domain("onion"));
	assert_true(onion_is_onion_domain("ONION."));
	assert_true(onion_is_onion_domain("bad.onion"));
	assert_true(onion_is_onion_domain("a.b.OnIoN"));
	assert_false(onion_is_onion_domain("notonion"));
	assert_false(onion_is_onion_domain("onion.example"));
	assert_false(onion_is_onion_domain("xonion"));
	assert_false(onion_is_onion_domain(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_onion_domain),
	};
	return cmocka_run_group_tests_name("onion", tests, NULL, NULL);
}
