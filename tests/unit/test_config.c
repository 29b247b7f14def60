/* Unit tests for config: the oniongate.conf(5) grammar, defaults, and file:line: errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static struct config *parse(const char *text, char *err)
{
	return config_parse("test.conf", text, strlen(text), err);
}

static void expect_error(const char *text, const char *want)
{
	char err[CONFIG_ERR_MAX];
	struct config *cfg = parse(text, err);
	assert_null(cfg);
	assert_string_equal(err, want);
}

static void test_defaults(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("", err);
	assert_non_null(cfg);
	assert_string_equal(cfg->path, "test.conf");
	assert_string_equal(cfg->run_dir, "/run/oniongate");
	assert_string_equal(cfg->data_dir, "/var/lib/oniongate");
	assert_int_equal(cfg->log_level, LOG_LEVEL_NOTICE);
	assert_int_equal(cfg->log_target, LOG_TARGET_SYSLOG);
	assert_int_equal(cfg->n_tor_options, 0);
	config_free(cfg);
}

static void test_full(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("# oniongate\n"
				   "run-dir /run/og   # trailing comment\r\n"
				   "\n"
				   "  data-dir \"/var/lib/with space\"\n"
				   "log-level debug\n"
				   "log-target stderr\n"
				   "tor-option DirAuthority a0 orport=5000 no-v2 v3ident=AB 198.51.100.1:7000 CD\n"
				   "tor-option TestingTorNetwork 1\n"
				   "tor-option Bridge \"obfs4 192.0.2.1:443 cert=a\\\"b\"",
				   err);
	assert_non_null(cfg);
	assert_string_equal(cfg->run_dir, "/run/og");
	assert_string_equal(cfg->data_dir, "/var/lib/with space");
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->log_target, LOG_TARGET_STDERR);
	assert_int_equal(cfg->n_tor_options, 3);
	assert_string_equal(cfg->tor_options[0].name, "DirAuthority");
	assert_string_equal(cfg->tor_options[0].value, "a0 orport=5000 no-v2 v3ident=AB 198.51.100.1:7000 CD");
	assert_int_equal(cfg->tor_options[0].line, 7);
	assert_string_equal(cfg->tor_options[1].value, "1");
	assert_string_equal(cfg->tor_options[2].value, "obfs4 192.0.2.1:443 cert=a\"b");
	config_free(cfg);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("run-dir /a\nbogus 1\n", "test.conf:2: unknown directive 'bogus'");
	expect_error("run-dir\n", "test.conf:1: run-dir takes 1 argument, not 0");
	expect_error("run-dir /a /b\n", "test.conf:1: run-dir takes 1 argument, not 2");
	expect_error("tor-option DisableNetwork\n", "test.conf:1: tor-option takes at least 2 arguments, not 1");
	expect_error("run-dir /a\n\nrun-dir /b\n", "test.conf:3: duplicate run-dir (first given at line 1)");
	expect_error("data-dir relative/path\n", "test.conf:1: data-dir must be an absolute path, not 'relative/path'");
	expect_error("log-level loud\n", "test.conf:1: log-level must be err, warn, notice, info or debug, not 'loud'");
	expect_error("log-target file\n", "test.conf:1: log-target must be syslog or stderr, not 'file'");
	expect_error("tor-option SocksPort 9050\n",
		     "test.conf:1: tor-option SocksPort is set by oniongated itself and cannot be given");
	expect_error("tor-option datadirectory /x\n",
		     "test.conf:1: tor-option datadirectory is set by oniongated itself and cannot be given");
	expect_error("tor-option 9Lives 1\n", "test.conf:1: '9Lives' is not a Tor option name");
	expect_error("tor-option Foo-Bar 1\n", "test.conf:1: 'Foo-Bar' is not a Tor option name");
	expect_error("run-dir \"/a\n", "test.conf:1: unterminated quoted string");
	expect_error("run-dir \"/a\\n\"\n", "test.conf:1: bad escape in quoted string (only \\\" and \\\\)");
	expect_error("run-dir \"/a\"b\n", "test.conf:1: a quoted string must be followed by a blank");
	expect_error("run-dir /a\"b\"\n", "test.conf:1: a quote inside a word");
	expect_error("# ok\nlog-level err extra\n", "test.conf:2: log-level takes 1 argument, not 2");
}

static void test_nul_byte(void **state)
{
	char err[CONFIG_ERR_MAX];
	static const char text[] = "run-dir /a\nlog-level\0debug\n";
	(void)state;
	assert_null(config_parse("nul.conf", text, sizeof(text) - 1, err));
	assert_string_equal(err, "nul.conf:2: NUL byte in line");
}

static void test_too_many_words(void **state)
{
	char text[4096] = "tor-option X";
	(void)state;
	for (int i = 0; i < 70; i++)
		strcat(text, " w");
	expect_error(text, "test.conf:1: more than 64 words on one line");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/og-test-config.XXXXXX", err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX + 64];
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "log-level info\nlog-level warn\n", 30), 30);
	close(fd);
	assert_null(config_load(path, err));
	snprintf(want, sizeof(want), "%s:2: duplicate log-level (first given at line 1)", path);
	assert_string_equal(err, want);
	unlink(path);

	assert_null(config_load("/nonexistent/oniongate.conf", err));
	assert_string_equal(err, "/nonexistent/oniongate.conf: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),   cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),     cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_too_many_words), cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
