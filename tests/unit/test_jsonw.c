/* SPDX-License-Identifier: ISC */
/* Unit tests for jsonw: commas and nesting, string escaping (quotes, control bytes, invalid
 * UTF-8), numbers, and misuse that must fail rather than write broken JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jsonw.h"

static void test_nesting(void **state)
{
	struct jsonw w;
	(void)state;
	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "a");
	jsonw_int(&w, -3);
	jsonw_key(&w, "b");
	jsonw_array_begin(&w);
	jsonw_uint(&w, UINT64_MAX);
	jsonw_bool(&w, true);
	jsonw_null(&w);
	jsonw_object_begin(&w);
	jsonw_object_end(&w);
	jsonw_array_begin(&w);
	jsonw_array_end(&w);
	jsonw_array_end(&w);
	jsonw_key(&w, "c");
	jsonw_string(&w, NULL);
	jsonw_object_end(&w);
	assert_true(jsonw_done(&w));
	assert_string_equal(w.buf, "{\"a\":-3,\"b\":[18446744073709551615,true,null,{},[]],\"c\":null}");
	jsonw_free(&w);
}

static void test_escaping(void **state)
{
	struct jsonw w;
	(void)state;
	jsonw_init(&w);
	jsonw_array_begin(&w);
	jsonw_string(&w, "q\"b\\s/\n\t\x01\x7f");
	jsonw_string(&w, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	jsonw_string(&w, "bad \xff \xc3 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80.");
	jsonw_array_end(&w);
	assert_true(jsonw_done(&w));
	assert_string_equal(w.buf, "[\"q\\\"b\\\\s/\\u000a\\u0009\\u0001\\u007f\","
				   "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
				   "\"bad \\ufffd \\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\\ufffd.\"]");
	jsonw_free(&w);
}

static void test_misuse(void **state)
{
	struct jsonw w;
	(void)state;
	jsonw_init(&w);
	jsonw_key(&w, "k"); /* a key outside an object */
	assert_true(w.failed);
	jsonw_free(&w);
	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "k");
	jsonw_object_end(&w); /* a key without its value */
	assert_false(jsonw_done(&w));
	jsonw_free(&w);
	jsonw_init(&w);
	jsonw_array_begin(&w);
	assert_false(jsonw_done(&w)); /* not closed */
	jsonw_array_end(&w);
	jsonw_array_end(&w); /* closed twice */
	assert_false(jsonw_done(&w));
	jsonw_free(&w);
	jsonw_init(&w);
	for (int i = 0; i <= JSONW_DEPTH_MAX; i++)
		jsonw_array_begin(&w);
	assert_true(w.failed);
	jsonw_free(&w);
}

static void test_grows(void **state)
{
	struct jsonw w;
	char big[5000];
	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jsonw_init(&w);
	jsonw_array_begin(&w);
	for (int i = 0; i < 10; i++)
		jsonw_string(&w, big);
	jsonw_array_end(&w);
	assert_true(jsonw_done(&w));
	assert_int_equal(w.len, 2 + 10 * (sizeof(big) - 1 + 2) + 9);
	assert_int_equal(strlen(w.buf), w.len);
	jsonw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_grows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
