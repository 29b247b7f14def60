/* SPDX-License-Identifier: ISC */
/* Unit tests for config: the oniongate.conf(5) grammar, defaults, and file:line: errors. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static void test_dns_directives(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("dns-listen 192.0.2.1\n"
				   "dns-listen ::1 5353\n"
				   "dns-upstream 198.51.100.53\n"
				   "client-network 192.0.2.0/24\n"
				   "client-network fd00::/8\n"
				   "pool-ipv4 10.64.0.0/16\n"
				   "pool-ipv6 fd00:1::/64\n"
				   "pool-key 000102030405060708090a0b0c0d0e0f\n"
				   "pool-max 1000\n"
				   "onion-ttl 30\n"
				   "onion-map /etc/oniongate/onionmx.map\n"
				   "srv-discovery off\n"
				   "dnssec require\n"
				   "trust-anchor /etc/oniongate/test.key\n"
				   "mx-policy onion-first\n"
				   "domain Example.ORG. onion-only\n",
				   err);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_dns_listen, 2);
	assert_int_equal(cfg->dns_listen[1].ss.ss_family, AF_INET6);
	assert_int_equal(cfg->n_client_nets, 2);
	assert_int_equal(cfg->pool_v4.prefix, 16);
	assert_true(cfg->pool_key_set);
	assert_int_equal(cfg->pool_key[15], 15);
	assert_int_equal(cfg->pool_max, 1000);
	assert_int_equal(cfg->onion_ttl, 30);
	assert_int_equal(cfg->stall_timeout, 600);
	assert_false(cfg->srv_discovery);
	assert_int_equal(cfg->dnssec, DNSSEC_REQUIRE);
	assert_int_equal(config_mx_policy(cfg, "example.org"), MX_POLICY_ONION_ONLY);
	assert_int_equal(config_mx_policy(cfg, "other.test"), MX_POLICY_ONION_FIRST);
	assert_true(config_client_allowed(cfg, AF_INET, (const uint8_t[]){ 192, 0, 2, 77 }));
	assert_false(config_client_allowed(cfg, AF_INET, (const uint8_t[]){ 192, 0, 3, 1 }));
	assert_true(config_client_allowed(cfg, AF_INET6, (const uint8_t[16]){ 0xfd, 0x12 }));
	config_free(cfg);

	expect_error("dns-listen 192.0.2.1\nclient-network 192.0.2.0/24\n",
		     "test.conf:1: dns-listen needs a dns-upstream or dns-upstream-file to pass other queries to");
	expect_error("dns-listen 192.0.2.1\nclient-network 192.0.2.0/24\ndns-upstream 192.0.2.9\n"
		     "dns-upstream-file /run/systemd/resolve/resolv.conf\n",
		     "test.conf:4: dns-upstream-file and dns-upstream (line 3) exclude each other");
	expect_error("dns-upstream-file /run/r.conf\n", "test.conf:1: dns-upstream-file has no effect without dns-listen");
	char many[1024] = "dns-listen 192.0.2.1\nclient-network 192.0.2.0/24\n";
	for (int i = 0; i <= CONFIG_MAX_DNS_UPSTREAM; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "dns-upstream 192.0.2.%d\n", 100 + i);
	expect_error(many, "test.conf:19: more than 16 dns-upstream lines");
	expect_error("dns-upstream-file run/r.conf\n", "test.conf:1: dns-upstream-file must be an absolute path, not 'run/r.conf'");
	expect_error("dns-upstream 192.0.2.9\n\ndns-listen 192.0.2.1\n",
		     "test.conf:3: dns-listen needs at least one client-network");
	/* Without dns-listen these would have no effect; a reload to such a config divided by zero. */
	expect_error("log-level info\nclient-network 192.0.2.0/24\n",
		     "test.conf:2: client-network has no effect without dns-listen");
	expect_error("dns-upstream 192.0.2.9\n",
		     "test.conf:1: dns-upstream has no effect without dns-listen");
	expect_error("dns-listen example.org\n", "test.conf:1: 'example.org' is not an IPv4 or IPv6 address");
	expect_error("dns-listen 192.0.2.1 99999\n", "test.conf:1: port must be a number from 1 to 65535, not '99999'");
	expect_error("client-network 192.0.2.1/24\n", "test.conf:1: '192.0.2.1/24' has host bits set");
	expect_error("client-network 192.0.2.0\n", "test.conf:1: '192.0.2.0' is not a network (address/prefix)");
	expect_error("pool-ipv4 fd00::/64\n", "test.conf:1: pool-ipv4 must be an IPv4 network from /8 to /29, not 'fd00::/64'");
	expect_error("pool-ipv4 10.0.0.0/28\npool-max 14\n",
		     "test.conf:2: pool-max 14 must be smaller than the 14 addresses of pool-ipv4");
	/* The IPv6 pool must hold pool-max too: a /112 with the default 65536 once hung the pool. */
	expect_error("pool-ipv6 fd00::/112\n",
		     "test.conf:1: pool-max 65536 must be smaller than the 65535 addresses of pool-ipv6");
	expect_error("pool-ipv6 fd00::/112\n\npool-max 65535\n",
		     "test.conf:3: pool-max 65535 must be smaller than the 65535 addresses of pool-ipv6");
	expect_error("pool-max 70000\npool-ipv6 fd00::/112\n",
		     "test.conf:1: pool-max 70000 must be smaller than the 65535 addresses of pool-ipv6");
	struct config *fits = parse("pool-ipv6 fd00::/112\npool-max 65534\n", err);
	assert_non_null(fits);
	config_free(fits);
	expect_error("pool-key 00zz\n", "test.conf:1: pool-key must be 32 hex digits");
	expect_error("dnssec maybe\n", "test.conf:1: dnssec must be require, prefer or off, not 'maybe'");
	expect_error("domain a.test onion-last\n",
		     "test.conf:1: domain takes an MX policy (onion-only, onion-first) and/or an MX mode (rewrite, upgrade), "
		     "not 'onion-last'");
	expect_error("mx-policy upgrade\n", "test.conf:1: the MX policy must be onion-only or onion-first, not 'upgrade'");
	expect_error("domain a.test onion-only\ndomain A.test. onion-first\n",
		     "test.conf:2: duplicate domain a.test (first given at line 1)");
	expect_error("onion-ttl -1\n", "test.conf:1: onion-ttl must be a number from 0 to 86400, not '-1'");
	expect_error("stall-timeout 9\n", "test.conf:1: stall-timeout must be a number from 10 to 86400, not '9'");
	expect_error("warm-up-keep 86401\n", "test.conf:1: warm-up-keep must be a number from 0 to 86400, not '86401'");
}

/* mx-mode and a domain line's mode: each domain's own policy and mode, else the global ones. */
#define UPGRADE "dns-listen 192.0.2.1\ndns-upstream 198.51.100.53\nclient-network 192.0.2.0/24\ntransparent-port 9040\n"

static void test_pool_peer(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("pool-peer 192.0.2.3\n"
				   "pool-peer 192.0.2.4:5353\n"
				   "pool-peer fd00::3\n"
				   "pool-peer [fd00::4]:5300\n",
				   err);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_pool_peers, 4);
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&cfg->pool_peers[0].ss;
	assert_int_equal(v4->sin_family, AF_INET);
	assert_int_equal(ntohs(v4->sin_port), 53);
	assert_int_equal(ntohl(v4->sin_addr.s_addr), 0xc0000203);
	v4 = (const struct sockaddr_in *)&cfg->pool_peers[1].ss;
	assert_int_equal(ntohs(v4->sin_port), 5353);
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&cfg->pool_peers[2].ss;
	assert_int_equal(v6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(v6->sin6_port), 53);
	v6 = (const struct sockaddr_in6 *)&cfg->pool_peers[3].ss;
	assert_int_equal(ntohs(v6->sin6_port), 5300);
	assert_int_equal(v6->sin6_addr.s6_addr[15], 4);
	assert_int_equal(cfg->pool_peers[3].line, 4);
	assert_int_equal(config_line(cfg, "pool-peer"), 1);
	config_free(cfg);

	expect_error("pool-peer gw2.lan\n", "test.conf:1: 'gw2.lan' is not an IPv4 or IPv6 address");
	expect_error("\npool-peer 192.0.2.3:0\n", "test.conf:2: port must be a number from 1 to 65535, not '0'");
	expect_error("pool-peer [fd00::4]5300\n",
		     "test.conf:1: pool-peer: '[fd00::4]5300' is not ADDRESS, IPV4:PORT or [IPV6]:PORT");
	expect_error("pool-peer 192.0.2.3 53\n", "test.conf:1: pool-peer takes 1 argument, not 2");
	char many[256] = "";
	for (int i = 0; i <= CONFIG_MAX_POOL_PEERS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "pool-peer 192.0.2.%d\n", 10 + i);
	expect_error(many, "test.conf:5: more than 4 pool-peer lines");
}

static void test_mx_mode(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("", err);
	assert_non_null(cfg);
	assert_int_equal(cfg->mx_mode, MX_MODE_REWRITE);
	assert_int_equal(config_mx_mode(cfg, "a.test"), MX_MODE_REWRITE);
	config_free(cfg);

	cfg = parse(UPGRADE "mx-mode upgrade\n"
		    "mx-policy onion-first\n"
		    "domain old.test onion-only\n"
		    "domain up.test rewrite\n"
		    "domain both.test onion-only upgrade\n"
		    "domain swapped.test rewrite onion-first\n",
		    err);
	assert_non_null(cfg);
	assert_int_equal(config_mx_mode(cfg, "other.test"), MX_MODE_UPGRADE);
	assert_int_equal(config_mx_policy(cfg, "other.test"), MX_POLICY_ONION_FIRST);
	assert_int_equal(config_mx_mode(cfg, "old.test"), MX_MODE_UPGRADE);
	assert_int_equal(config_mx_policy(cfg, "old.test"), MX_POLICY_ONION_ONLY);
	assert_int_equal(config_mx_mode(cfg, "up.test"), MX_MODE_REWRITE);
	assert_int_equal(config_mx_policy(cfg, "up.test"), MX_POLICY_ONION_FIRST);
	assert_int_equal(config_mx_mode(cfg, "both.test"), MX_MODE_UPGRADE);
	assert_int_equal(config_mx_policy(cfg, "both.test"), MX_POLICY_ONION_ONLY);
	assert_int_equal(config_mx_mode(cfg, "swapped.test"), MX_MODE_REWRITE);
	assert_int_equal(config_mx_policy(cfg, "swapped.test"), MX_POLICY_ONION_FIRST);
	config_free(cfg);

	cfg = parse(UPGRADE "domain a.test upgrade\n", err);
	assert_non_null(cfg);
	assert_int_equal(config_mx_mode(cfg, "a.test"), MX_MODE_UPGRADE);
	assert_int_equal(config_mx_policy(cfg, "a.test"), MX_POLICY_ONION_ONLY);
	assert_int_equal(config_mx_mode(cfg, "b.test"), MX_MODE_REWRITE);
	config_free(cfg);

	cfg = parse(UPGRADE "upgrade-max 100\n", err);
	assert_non_null(cfg);
	assert_int_equal(cfg->upgrade_max, 100);
	assert_false(config_upgrade_used(cfg));
	config_free(cfg);
	expect_error("dns-listen 192.0.2.1\ndns-upstream 198.51.100.53\nclient-network 192.0.2.0/24\nmx-mode upgrade\n",
		     "test.conf:4: mx-mode upgrade needs transparent-port and nft on: connections to the real MX hosts are "
		     "redirected to the relay");
	expect_error(UPGRADE "nft off\n\ndomain a.test rewrite\ndomain b.test upgrade\n",
		     "test.conf:8: mx-mode upgrade needs transparent-port and nft on: connections to the real MX hosts are "
		     "redirected to the relay");
	expect_error("transparent-port 9040\nmx-mode upgrade\n",
		     "test.conf:2: mx-mode upgrade needs dns-listen: the real MX hosts are learned from the LAN's MX queries");
	expect_error(UPGRADE "upgrade-max 15\n", "test.conf:5: upgrade-max must be a number from 16 to 1048576, not '15'");
	expect_error("mx-mode transparent\n", "test.conf:1: mx-mode must be rewrite or upgrade, not 'transparent'");
	expect_error("mx-mode rewrite\nmx-mode upgrade\n", "test.conf:2: duplicate mx-mode (first given at line 1)");
	expect_error("mx-mode\n", "test.conf:1: mx-mode takes 1 argument, not 0");
	expect_error("\ndomain a.test upgrade rewrite\n", "test.conf:2: domain gives two MX modes");
	expect_error("domain a.test onion-first onion-only\n", "test.conf:1: domain gives two MX policies");
	expect_error("domain a.test\n", "test.conf:1: domain takes at least 2 arguments, not 1");
	expect_error("domain a.test onion-only upgrade x\n", "test.conf:1: domain takes at most 3 arguments, not 4");
	expect_error("domain a.test upgrade\ndomain A.TEST. rewrite\n",
		     "test.conf:2: duplicate domain a.test (first given at line 1)");
}

static void test_socks_server(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("", err);
	assert_non_null(cfg);
	assert_null(cfg->socks_server);
	config_free(cfg);
	cfg = parse("socks-server /run/tor/socks\n", err);
	assert_non_null(cfg);
	assert_string_equal(cfg->socks_server, "/run/tor/socks");
	config_free(cfg);
	expect_error("socks-server 127.0.0.1:9050\n", "test.conf:1: socks-server must be an absolute path, not '127.0.0.1:9050'");
	expect_error("socks-server /run/tor/socks\ntor-option TestingTorNetwork 1\n",
		     "test.conf:2: tor-option has no effect with socks-server (line 1): no embedded Tor is started");
	expect_error("\nsocks-server /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		     "test.conf:2: socks-server path is longer than a unix socket path may be");
}

/* control-socket: default none (run-dir/control), an absolute path that fits a unix socket, restart-only. */
static void test_control_socket(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("", err), *fresh = parse("control-socket /run/og.sock\n", err);
	assert_non_null(cfg);
	assert_null(cfg->control_socket);
	assert_non_null(fresh);
	assert_string_equal(fresh->control_socket, "/run/og.sock");
	assert_int_equal(config_reload_check(cfg, fresh, err), -1);
	assert_string_equal(err, "test.conf:1: control-socket changes only on restart");
	config_free(cfg);
	config_free(fresh);
	expect_error("control-socket og.sock\n", "test.conf:1: control-socket must be an absolute path, not 'og.sock'");
	expect_error("\ncontrol-socket /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		     "test.conf:2: control-socket path is longer than a unix socket path may be");
}

static void test_user(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("\nuser oniongate\n", err);
	assert_non_null(cfg);
	assert_string_equal(cfg->user, "oniongate");
	assert_int_equal(cfg->user_line, 2);
	config_free(cfg);
	expect_error("user Root\n", "test.conf:1: 'Root' is not a user name");
	expect_error("user a/b\n", "test.conf:1: 'a/b' is not a user name");
	expect_error("user a\nuser b\n", "test.conf:2: duplicate user (first given at line 1)");
	expect_error("user og\ntransparent-port 25\n",
		     "test.conf:2: transparent-port 25 is bound after dropping to user og (line 1): use a port above 1023");
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

/* A FIFO as the config is refused at once instead of blocking -t or a reload (an alarm fails
 * the test rather than hanging it). */
static void test_load_fifo(void **state)
{
	char dir[] = "/tmp/og-test-config.XXXXXX", fifo[64], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/oniongate.conf", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(5);
	assert_null(config_load(fifo, err));
	alarm(0);
	snprintf(want, sizeof(want), "%s: not a regular file (a FIFO)", fifo);
	assert_string_equal(err, want);
	unlink(fifo);
	rmdir(dir);
}

/* bridge and transport-plugin: the lines Tor gets, and each refusal at its line. */
#define BFP "4C30B0D1A0F3B1E8C3A4E1F2D3C4B5A69788796A"
#define OBFS4 "bridge obfs4 198.51.100.7:4430 " BFP " cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa iat-mode=0\n"
#define PLUGIN "transport-plugin obfs4,meek_lite /bin/sh\n"

static void test_bridges(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse(PLUGIN OBFS4 "bridge  198.51.100.8:9001\t" BFP "\n"
				   "transport-plugin snowflake /bin/sh -url https://x.test/\nbridge snowflake 192.0.2.3:80\n", err);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_bridges, 3);
	assert_string_equal(cfg->bridges[0].line,
			    "obfs4 198.51.100.7:4430 " BFP " cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa iat-mode=0");
	assert_string_equal(cfg->bridges[0].transport, "obfs4");
	assert_int_equal(cfg->bridges[0].line_no, 2);
	assert_string_equal(cfg->bridges[1].line, "198.51.100.8:9001 " BFP);
	assert_string_equal(cfg->bridges[1].transport, "");
	assert_string_equal(cfg->bridges[2].transport, "snowflake");
	assert_int_equal(cfg->n_transports, 2);
	assert_string_equal(cfg->transports[0].names, "obfs4,meek_lite");
	assert_string_equal(cfg->transports[0].command, "/bin/sh");
	assert_string_equal(cfg->transports[1].command, "/bin/sh -url https://x.test/");
	assert_ptr_equal(config_transport_for(cfg, "meek_lite"), &cfg->transports[0]);
	assert_ptr_equal(config_transport_for(cfg, "snowflake"), &cfg->transports[1]);
	assert_null(config_transport_for(cfg, "obfs"));
	assert_null(config_transport_for(cfg, "meek"));
	config_free(cfg);

	expect_error("\n" OBFS4, "test.conf:2: bridge: no transport-plugin line provides obfs4");
	expect_error(OBFS4 "transport-plugin meek_lite /bin/sh\n", "test.conf:1: bridge: no transport-plugin line provides obfs4");
	expect_error(PLUGIN, "test.conf:1: transport-plugin has no effect without a bridge line");
	expect_error(PLUGIN "bridge obfs4 198.51.100.7 " BFP " cert=x iat-mode=0\n",
		     "test.conf:2: bridge: '198.51.100.7' is not ADDRESS:PORT");
	expect_error(PLUGIN "bridge obfs4 198.51.100.7:4430 " BFP "0 cert=x iat-mode=0\n",
		     "test.conf:2: bridge: the fingerprint must be 40 hex digits");
	expect_error(PLUGIN "bridge obfs4 198.51.100.7:4430 " BFP " iat-mode=0\n",
		     "test.conf:2: bridge: an obfs4 bridge needs its cert= argument");
	expect_error("transport-plugin obfs4 /nonexistent/obfs4proxy\n",
		     "test.conf:1: transport-plugin: /nonexistent/obfs4proxy: No such file or directory");
	expect_error("transport-plugin obfs4 /etc/passwd\n", "test.conf:1: transport-plugin: /etc/passwd is not an executable file");
	expect_error("transport-plugin obfs4 /\n", "test.conf:1: transport-plugin: / is not an executable file");
	expect_error("transport-plugin obfs4 obfs4proxy\n",
		     "test.conf:1: transport-plugin: the plugin must be an absolute path, not 'obfs4proxy'");
	expect_error("transport-plugin obfs-4 /bin/sh\n",
		     "test.conf:1: transport-plugin: 'obfs-4' is not a transport name (letters, digits, _)");
	expect_error("transport-plugin obfs4, /bin/sh\n", "test.conf:1: transport-plugin: '' is not a transport name (letters, digits, _)");
	expect_error(PLUGIN "transport-plugin obfs4 /bin/sh\n", "test.conf:2: transport-plugin: obfs4 already comes from line 1");
	expect_error("bridge\n", "test.conf:1: bridge takes at least 1 arguments, not 0");
	expect_error("transport-plugin obfs4\n", "test.conf:1: transport-plugin takes at least 2 arguments, not 1");
	expect_error(PLUGIN OBFS4 "socks-server /run/tor/socks\n",
		     "test.conf:2: bridge has no effect with socks-server (line 3): no embedded Tor is started");
	expect_error(PLUGIN OBFS4 "tor-option UseBridges 0\n",
		     "test.conf:3: tor-option UseBridges is set by the bridge lines (line 2) and cannot be given with them");
	expect_error("tor-option clienttransportplugin obfs4 exec /bin/sh\n" PLUGIN OBFS4,
		     "test.conf:1: tor-option clienttransportplugin is set by the bridge lines (line 3) and cannot be given with them");
	/* Without bridge lines, tor-option lines may still set Tor's own (unchecked). */
	cfg = parse("tor-option UseBridges 1\ntor-option Bridge 198.51.100.8:9001\n", err);
	assert_non_null(cfg);
	config_free(cfg);

	/* Bounds: 64 bridge lines, 8 transport-plugin lines. */
	char text[8192];
	int n = 0;
	for (int i = 0; i <= CONFIG_MAX_BRIDGES; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "bridge 198.51.100.8:%d\n", 9000 + i);
	expect_error(text, "test.conf:65: more than 64 bridge lines");
	n = 0;
	for (int i = 0; i <= CONFIG_MAX_TRANSPORT_PLUGINS; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "transport-plugin t%d /bin/sh\n", i);
	expect_error(text, "test.conf:9: more than 8 transport-plugin lines");
}

/* Reload classes: for each directive, a running config and a new one -> reloadable (NULL) or the
 * refusal naming the directive and the line. DNS is lines 1-3 of every config here. */
#define DNS "dns-listen 192.0.2.1\ndns-upstream 198.51.100.53\nclient-network 192.0.2.0/24\n"
#define REMOVED " (removed from this line of the running configuration)"

static const struct reload_case {
	const char *running, *fresh, *want;
} reload_cases[] = {
#define TPORT "transparent-port 9040\n"
	/* reloadable: every one takes effect on SIGHUP */
	{ DNS, DNS "log-level debug\n", NULL },
	{ DNS, DNS "dns-upstream 198.51.100.54 5353\n", NULL },
	{ DNS "dns-upstream ::1\n", DNS, NULL },
	{ DNS, DNS "client-network 203.0.113.0/24\n", NULL },
	{ DNS "client-network 203.0.113.0/24\n", DNS, NULL },
	{ DNS, DNS "onion-ttl 5\n", NULL },
	{ DNS, DNS "onion-map /etc/oniongate/onionmx.map\n", NULL },
	{ DNS "onion-map /a.map\n", DNS "onion-map /b.map\n", NULL },
	{ DNS, DNS "srv-discovery off\n", NULL },
	{ DNS "dnssec off\n", DNS "dnssec require\n", NULL },
	{ DNS, DNS "trust-anchor /etc/oniongate/test.key\n", NULL },
	{ DNS, DNS "mx-policy onion-first\n", NULL },
	{ DNS "domain a.test onion-only\n", DNS "domain a.test onion-first\ndomain b.test onion-only\n", NULL },
	{ DNS TPORT, DNS TPORT "mx-mode upgrade\n", NULL },
	{ DNS TPORT "mx-mode upgrade\n", DNS TPORT, NULL },
	{ DNS TPORT "domain a.test onion-only\n", DNS TPORT "domain a.test onion-only upgrade\ndomain b.test rewrite\n", NULL },
	{ DNS TPORT "upgrade-max 100\n", DNS TPORT "upgrade-max 200\n", "test.conf:5: upgrade-max changes only on restart" },
	{ DNS, DNS "proxy-max-streams 1\n", NULL },
	{ DNS, DNS "proxy-idle-timeout 3\n", NULL },
	{ DNS, DNS "proxy-connect-timeout 10\n", NULL },
	{ DNS, DNS "warm-up off\n", NULL },
	{ DNS, DNS "warm-up-hold 5\n", NULL },
	{ DNS, DNS "warm-up-keep 0\n", NULL },
	{ DNS, DNS "stall-timeout 10\n", NULL },
	/* restart-only, but the same value written differently, or the default made explicit */
	{ DNS, DNS "run-dir /run/oniongate\npool-max 65536\nnft on\nlog-target syslog\n", NULL },
	{ DNS, "dns-listen 192.0.2.1 53\ndns-upstream 198.51.100.53\nclient-network 192.0.2.0/24\n", NULL },
	{ DNS "pool-key 000102030405060708090a0b0c0d0e0f\n", DNS "\n\npool-key 000102030405060708090A0B0C0D0E0F\n", NULL },
	/* restart-only: changed, added or removed */
	{ DNS, DNS "run-dir /run/og\n", "test.conf:4: run-dir changes only on restart" },
	{ DNS "data-dir /a\n", DNS "data-dir /b\n", "test.conf:4: data-dir changes only on restart" },
	{ DNS "log-target syslog\n", DNS "log-target stderr\n", "test.conf:4: log-target changes only on restart" },
	{ DNS "tor-option A 1\ntor-option B 2\n", DNS "tor-option A 1\ntor-option B 3\n",
	  "test.conf:5: tor-option changes only on restart" },
	{ DNS "tor-option A 1\ntor-option B 2\n", DNS "tor-option A 1\n", "test.conf:5: tor-option changes only on restart" REMOVED },
	{ DNS, DNS "\ntor-option A 1\n", "test.conf:5: tor-option changes only on restart" },
	{ DNS, DNS "socks-server /run/tor/socks\n", "test.conf:4: socks-server changes only on restart" },
	{ DNS "user og\n", DNS, "test.conf:4: user changes only on restart" REMOVED },
	{ DNS, DNS "user og\n", "test.conf:4: user changes only on restart" },
	{ DNS, "log-level info\n", "test.conf:1: dns-listen changes only on restart" REMOVED },
	{ DNS, "dns-listen 192.0.2.2\ndns-upstream 198.51.100.53\nclient-network 192.0.2.0/24\n",
	  "test.conf:1: dns-listen changes only on restart" },
	{ DNS, DNS "dns-listen ::1\n", "test.conf:4: dns-listen changes only on restart" },
	{ DNS "dns-listen ::1\n", DNS, "test.conf:4: dns-listen changes only on restart" REMOVED },
	{ DNS, DNS "pool-ipv4 10.64.0.0/15\n", "test.conf:4: pool-ipv4 changes only on restart" },
	{ DNS, DNS "pool-ipv6 fd00:1::/64\n", "test.conf:4: pool-ipv6 changes only on restart" },
	{ DNS, DNS "pool-key 000102030405060708090a0b0c0d0e0f\n", "test.conf:4: pool-key changes only on restart" },
	{ DNS "pool-max 100\n", DNS "# more room\npool-max 200\n", "test.conf:5: pool-max changes only on restart" },
	{ DNS, DNS "transparent-port 9040\n", "test.conf:4: transparent-port changes only on restart" },
	{ DNS, DNS "nft off\n", "test.conf:4: nft changes only on restart" },
	{ DNS, DNS "nft-dns-redirect on\n", "test.conf:4: nft-dns-redirect changes only on restart" },
	{ DNS "redirect-ports 25 587\n", DNS "redirect-ports 587 25\n", "test.conf:4: redirect-ports changes only on restart" },
	{ DNS "lan-interface lan0\n", DNS "lan-interface lan1\n", "test.conf:4: lan-interface changes only on restart" },
	{ DNS "lan-interface lan0\nlan-interface lan1\n", DNS "lan-interface lan0\n",
	  "test.conf:4: lan-interface changes only on restart" },
	{ DNS, DNS PLUGIN OBFS4, "test.conf:5: bridge changes only on restart" },
	{ DNS PLUGIN OBFS4, DNS, "test.conf:5: bridge changes only on restart" REMOVED },
	{ DNS PLUGIN OBFS4 "bridge 198.51.100.8:9001\n", DNS PLUGIN OBFS4 "bridge 198.51.100.8:9002\n",
	  "test.conf:6: bridge changes only on restart" },
	{ DNS PLUGIN OBFS4, DNS "transport-plugin obfs4 /bin/sh\n" OBFS4, "test.conf:4: transport-plugin changes only on restart" },
	{ DNS PLUGIN OBFS4, DNS "transport-plugin obfs4,meek_lite /bin/sh -x\n" OBFS4,
	  "test.conf:4: transport-plugin changes only on restart" },
	{ DNS PLUGIN OBFS4, DNS "\n" PLUGIN OBFS4, NULL },
	/* all or nothing: a reloadable change beside a restart-only one refuses the whole file */
	{ DNS, DNS "client-network 203.0.113.0/24\npool-max 10\nonion-ttl 1\n", "test.conf:5: pool-max changes only on restart" },
};

static void test_reload_classes(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	for (size_t i = 0; i < sizeof(reload_cases) / sizeof(reload_cases[0]); i++) {
		const struct reload_case *c = &reload_cases[i];
		struct config *running = parse(c->running, err), *fresh = parse(c->fresh, err);
		print_message("case %zu: %s\n", i, c->want ? c->want : "reloadable");
		assert_non_null(running);
		assert_non_null(fresh);
		assert_int_equal(config_reload_check(fresh, fresh, err), 0);
		if (c->want == NULL) {
			assert_int_equal(config_reload_check(running, fresh, err), 0);
		} else {
			assert_int_equal(config_reload_check(running, fresh, err), -1);
			assert_string_equal(err, c->want);
		}
		config_free(running);
		config_free(fresh);
	}
}

/* config_line: the line each directive was first given on (what reload errors name). */
static void test_config_line(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse(DNS "\n# x\ndnssec off\ndns-upstream ::1\n", err);
	assert_non_null(cfg);
	assert_int_equal(config_line(cfg, "dns-listen"), 1);
	assert_int_equal(config_line(cfg, "dns-upstream"), 2);
	assert_int_equal(config_line(cfg, "dnssec"), 6);
	assert_int_equal(config_line(cfg, "trust-anchor"), 0);
	assert_int_equal(config_line(cfg, "no-such-directive"), 0);
	config_free(cfg);
}

/* onion-mx ADDRESS[:PORT] [domain ...] with onion-mx-source: the forms, the domains, the pairing
 * rules reported at their lines, and restart-only. */
static void test_onion_mx(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("onion-mx 192.0.2.10 Lan.TEST. b.test\nonion-mx-source 192.0.2.200\n", err);
	assert_non_null(cfg);
	const struct sockaddr_in *mx = (const struct sockaddr_in *)&cfg->onion_mx.ss;
	assert_int_equal(mx->sin_family, AF_INET);
	assert_int_equal(ntohs(mx->sin_port), 25);
	assert_int_equal(cfg->n_onion_mx_domains, 2);
	assert_string_equal(cfg->onion_mx_domains[0], "lan.test");
	assert_string_equal(cfg->onion_mx_domains[1], "b.test");
	assert_int_equal(ntohs(((const struct sockaddr_in *)&cfg->onion_mx_source.ss)->sin_port), 0);
	config_free(cfg);

	cfg = parse("onion-mx [fd00::25]:2525\nonion-mx-source fd00::200\n", err);
	assert_non_null(cfg);
	assert_int_equal(cfg->onion_mx.ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((const struct sockaddr_in6 *)&cfg->onion_mx.ss)->sin6_port), 2525);
	assert_int_equal(cfg->n_onion_mx_domains, 0);
	config_free(cfg);
	cfg = parse("onion-mx fd00::25\nonion-mx-source fd00::200\n", err);
	assert_non_null(cfg);
	assert_int_equal(ntohs(((const struct sockaddr_in6 *)&cfg->onion_mx.ss)->sin6_port), 25);
	config_free(cfg);

	expect_error("onion-mx 192.0.2.10 lan.test\n", "test.conf:1: onion-mx needs an onion-mx-source: the gateway's "
		     "LAN address the mail server sees (one outside its trusted networks)");
	expect_error("log-level info\nonion-mx-source 192.0.2.1\n", "test.conf:2: onion-mx-source has no effect without onion-mx");
	expect_error("onion-mx 192.0.2.10\nonion-mx-source fd00::1\n",
		     "test.conf:2: onion-mx-source must be of onion-mx's address family (line 1)");
	expect_error("socks-server /run/s\nonion-mx 192.0.2.10\nonion-mx-source 192.0.2.1\n",
		     "test.conf:2: onion-mx needs the embedded Tor: socks-server (line 1) starts none");
	expect_error("onion-mx 192.0.2.10 lan_test\n", "test.conf:1: onion-mx: 'lan_test' is not a domain");
	expect_error("onion-mx 192.0.2.10 a..test\n", "test.conf:1: onion-mx: 'a..test' is not a domain");
	expect_error("onion-mx 192.0.2.10 .\n", "test.conf:1: onion-mx: '' is not a domain");
	expect_error("onion-mx 192.0.2.10:0\n", "test.conf:1: port must be a number from 1 to 65535, not '0'");
	expect_error("onion-mx [fd00::25\n", "test.conf:1: '[fd00::25' is not ADDRESS[:PORT] ([IPv6]:PORT for IPv6 with a port)");
	expect_error("onion-mx mail.lan.test\n", "test.conf:1: 'mail.lan.test' is not an IPv4 or IPv6 address");
	expect_error("onion-mx 192.0.2.10\nonion-mx 192.0.2.11\n", "test.conf:2: duplicate onion-mx (first given at line 1)");

	struct config *running = parse("onion-mx 192.0.2.10 a.test\nonion-mx-source 192.0.2.200\n", err);
	struct config *fresh = parse("onion-mx 192.0.2.10 a.test b.test\nonion-mx-source 192.0.2.200\n", err);
	assert_int_equal(config_reload_check(running, running, err), 0);
	assert_int_equal(config_reload_check(running, fresh, err), -1);
	assert_string_equal(err, "test.conf:1: onion-mx changes only on restart");
	config_free(fresh);
	fresh = parse("onion-mx 192.0.2.10 a.test\nonion-mx-source 192.0.2.201\n", err);
	assert_int_equal(config_reload_check(running, fresh, err), -1);
	config_free(fresh);
	config_free(running);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),   cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),     cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_too_many_words), cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_fifo),
		cmocka_unit_test(test_reload_classes), cmocka_unit_test(test_config_line),
		cmocka_unit_test(test_bridges),
		cmocka_unit_test(test_dns_directives), cmocka_unit_test(test_mx_mode), cmocka_unit_test(test_socks_server),
		cmocka_unit_test(test_control_socket), cmocka_unit_test(test_user),
		cmocka_unit_test(test_onion_mx),   cmocka_unit_test(test_pool_peer),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
