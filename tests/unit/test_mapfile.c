/* SPDX-License-Identifier: ISC */
/* Unit tests for mapfile: the onionmx tor_transport grammar, lookups with ".parent" lines,
 * v2 warnings, and file:line: errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mapfile.h"
#include "onion_fixture.h"

static struct mapfile *parse(const char *text, char *err)
{
	return mapfile_parse("map", text, strlen(text), err);
}

static void expect_error(const char *text, const char *want)
{
	char err[MAPFILE_ERR_MAX];
	assert_null(parse(text, err));
	assert_string_equal(err, want);
}

static void test_good(void **state)
{
	char a[63], b[63], text[1024], err[MAPFILE_ERR_MAX];
	(void)state;
	make_onion(1, a);
	make_onion(2, b);
	snprintf(text, sizeof(text),
		 "# onionmx tor_transport\n"
		 "example.org   smtptor:[%s]\n"
		 "Example.NET.\tsmtptor:[%s]:2525   # a comment\r\n"
		 ".sub.example.com smtptor:%s\n"
		 "old.example smtptor:[expyuzz4wqqyqhjn.onion]\n"
		 ".onion smtptor:\n",
		 a, b, a);
	struct mapfile *m = parse(text, err);
	assert_non_null(m);
	assert_int_equal(m->n, 3);
	assert_int_equal(m->catch_all_line, 6);
	assert_int_equal(m->n_warnings, 1);
	assert_string_equal(m->warnings[0], "map:5: v2 onion address skipped (Tor no longer reaches v2 services)");
	const struct map_entry *e = mapfile_lookup(m, "example.org");
	assert_non_null(e);
	assert_string_equal(e->onion, a);
	assert_int_equal(e->port, 25);
	e = mapfile_lookup(m, "example.net");
	assert_string_equal(e->onion, b);
	assert_int_equal(e->port, 2525);
	assert_int_equal(e->line, 3);
	assert_null(mapfile_lookup(m, "www.example.org"));
	assert_null(mapfile_lookup(m, "sub.example.com"));
	e = mapfile_lookup(m, "mx.sub.example.com");
	assert_non_null(e);
	assert_string_equal(e->domain, ".sub.example.com");
	assert_null(mapfile_lookup(m, "other.test"));
	mapfile_free(m);
}

static void test_errors(void **state)
{
	char a[63], text[512];
	(void)state;
	make_onion(3, a);
	expect_error("example.org\n", "map:1: 'example.org' has no next hop");
	expect_error("example.org smtp:[x]\n", "map:1: next hop must be smtptor:[host.onion], not 'smtp:[x]'");
	expect_error("ex..ample smtptor:[x]\n", "map:1: 'ex..ample' is not a domain");
	expect_error("a b c d\n", "map:1: more than two fields: 'c'");
	snprintf(text, sizeof(text), "example.org smtptor:[%s] 2525\n", a);
	expect_error(text, "map:1: more than two fields: '2525'");
	snprintf(text, sizeof(text), "\nexample.org smtptor:[%s] # a comment is no field\nx.test smtptor:[%s] y\n", a, a);
	expect_error(text, "map:3: more than two fields: 'y'");
	expect_error("example.org smtptor:[nope.onion]\n", "map:1: 'nope.onion' is not a valid v3 onion address");
	expect_error("example.org smtptor:[x.onion\n", "map:1: missing ']' in 'smtptor:[x.onion'");
	expect_error("example.org smtptor:\n", "map:1: 'example.org' has no onion host");
	expect_error(".onion smtptor:[x.onion]\n", "map:1: the .onion catch-all takes a bare 'smtptor:'");
	snprintf(text, sizeof(text), "example.org smtptor:[%s]:0\n", a);
	expect_error(text, "map:1: bad port '0'");
	snprintf(text, sizeof(text), "example.org smtptor:[%s]:70000\n", a);
	expect_error(text, "map:1: bad port '70000'");
	snprintf(text, sizeof(text), "example.org smtptor:%s:25\n", a);
	expect_error(text, "map:1: a port needs the host in brackets: smtptor:[host.onion]:port");
	snprintf(text, sizeof(text), "example.org smtptor:[%s]\n\nEXAMPLE.org smtptor:[%s]\n", a, a);
	expect_error(text, "map:3: duplicate domain 'example.org' (first given at line 1)");
	static const char nul[] = "x\0y smtptor:\n";
	char err[MAPFILE_ERR_MAX];
	assert_null(mapfile_parse("map", nul, sizeof(nul) - 1, err));
	assert_string_equal(err, "map:1: NUL byte in line");
}

/* A FIFO, a directory or a device as the map file is refused at once: reading one would block
 * the daemon (and -t) or never end. An alarm fails the test instead of hanging it. */
static void test_load_regular_files_only(void **state)
{
	char dir[] = "/tmp/og-test-mapfile.XXXXXX", fifo[64], err[MAPFILE_ERR_MAX], want[MAPFILE_ERR_MAX];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(5);
	assert_null(mapfile_load(fifo, err));
	snprintf(want, sizeof(want), "%s: not a regular file (a FIFO)", fifo);
	assert_string_equal(err, want);
	assert_null(mapfile_load(dir, err));
	snprintf(want, sizeof(want), "%s: not a regular file (a directory)", dir);
	assert_string_equal(err, want);
	assert_null(mapfile_load("/dev/zero", err));
	assert_string_equal(err, "/dev/zero: not a regular file (a character device)");
	alarm(0);
	unlink(fifo);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load_regular_files_only),
	};
	return cmocka_run_group_tests_name("mapfile", tests, NULL, NULL);
}
