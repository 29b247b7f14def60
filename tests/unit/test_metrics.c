/* SPDX-License-Identifier: ISC */
/* Unit tests for the metrics renderers (promtext: names, types, escaping, top onions, cumulative
 * histograms; statuspage: escaping, the facts) and the metrics-listen/metrics-allow directives. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "activity.h"
#include "config.h"
#include "onion_fixture.h"
#include "pool.h"
#include "promtext.h"
#include "stats.h"
#include "statuspage.h"
#include "strbuf.h"

static void test_stat_names(void **state)
{
	regex_t name;
	(void)state;
	assert_int_equal(regcomp(&name, "^oniongate_[a-z0-9_]+[a-z0-9]$", REG_EXTENDED | REG_NOSUB), 0);
	for (int c = 0; c < STAT_COUNT; c++) {
		const char *n = promtext_stat_name(c);
		print_message("counter %d: %s\n", c, n != NULL ? n : "(none)");
		assert_non_null(n); /* a counter appended to stats.h needs its line in promtext.c */
		assert_int_equal(regexec(&name, n, 0, NULL, 0), 0);
		for (int d = 0; d < c; d++)
			assert_string_not_equal(n, promtext_stat_name(d));
	}
	assert_null(promtext_stat_name(STAT_COUNT));
	regfree(&name);
}

static char *render_metrics(const struct status_snapshot *s)
{
	struct strbuf b;
	strbuf_init(&b, 1 << 20);
	promtext_render(&b, s);
	assert_false(b.failed);
	return b.data;
}

static struct status_snapshot snapshot(struct activity *a, struct pool *p)
{
	struct status_snapshot s = { .version = "0.1.0", .now = 100000, .started = 99000, .config_path = "/etc/og.conf",
				     .ready = true, .embedded_tor = true, .tor_progress = 100, .tor_circuits = true,
				     .mappings = 3, .mappings_max = 1000, .streams = 1, .activity = a, .pool = p };
	snprintf(s.tor_version, sizeof(s.tor_version), "0.4.8.\"x\\y\"");
	snprintf(s.tor_phase, sizeof(s.tor_phase), "Done <b>&</b>");
	snprintf(s.pool_v4, sizeof(s.pool_v4), "10.192.0.0/10");
	return s;
}

/* Every sample's family has HELP and TYPE lines before it; counters end in _total, others do not. */
static void check_families(const char *text)
{
	char *copy = strdup(text), *save = NULL, family[128] = "", type[16] = "";
	assert_non_null(copy);
	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char name[128], t[16];
		if (sscanf(line, "# TYPE %127s %15s", name, t) == 2) {
			snprintf(family, sizeof(family), "%s", name);
			snprintf(type, sizeof(type), "%s", t);
			bool total = strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") == 0;
			assert_int_equal(total, strcmp(t, "counter") == 0);
			continue;
		}
		if (line[0] == '#')
			continue;
		size_t n = strcspn(line, "{ ");
		if (strcmp(type, "histogram") == 0)
			assert_int_equal(strncmp(line, family, strlen(family)), 0);
		else
			assert_true(n == strlen(family) && strncmp(line, family, n) == 0);
	}
	free(copy);
}

static void test_render(void **state)
{
	char onion[63], other[63];
	(void)state;
	struct activity *a = activity_new();
	make_onion(1, onion);
	make_onion(2, other);
	activity_stream_begin(a, onion);
	activity_stream_opened(a, onion, 99990);
	activity_first_byte(a, 80);
	activity_stream_end(a, onion, 1000, 2000);
	activity_stream_begin(a, other);
	activity_stream_failed(a, other, AR_TIMEOUT, 99995);
	activity_stream_end(a, other, 0, 0);
	stats_add(STAT_DNS_QUERIES, 7);
	stats_set(STAT_TOR_CLOCK_SKEW, (uint64_t)(int64_t)-30);
	struct status_snapshot s = snapshot(a, NULL);
	s.stall_state = "failing";
	char *text = render_metrics(&s);
	check_families(text);
	assert_non_null(strstr(text, "\noniongate_stall_state{state=\"failing\"} 1\n"));
	assert_non_null(strstr(text, "\noniongate_stall_state{state=\"watching\"} 0\n"));
	assert_non_null(strstr(text, "\noniongate_dns_queries_total 7\n"));
	assert_non_null(strstr(text, "\noniongate_tor_clock_skew_seconds -30\n"));
	assert_non_null(strstr(text, "\noniongate_streams_relayed_total 1\n"));
	assert_non_null(strstr(text, "\noniongate_streams_failed_total 1\n"));
	assert_non_null(strstr(text, "\noniongate_stream_failures_total{reason=\"timeout\"} 1\n"));
	assert_non_null(strstr(text, "\noniongate_stream_failures_total{reason=\"tor_not_ready\"} 0\n"));
	assert_non_null(strstr(text, "\noniongate_ready 1\n"));
	assert_non_null(strstr(text, "\noniongate_uptime_seconds 1000\n"));
	assert_non_null(strstr(text, "\noniongate_pool_mappings_max 1000\n"));
	assert_non_null(strstr(text, "oniongate_build_info{version=\"0.1.0\",tor_version=\"0.4.8.\\\"x\\\\y\\\"\"} 1\n"));
	char want[256];
	snprintf(want, sizeof(want), "\noniongate_onion_up_bytes_total{onion=\"%s\"} 1000\n", onion);
	assert_non_null(strstr(text, want));
	assert_null(strstr(text, "onion=\"other\""));
	free(text);
	stats_set(STAT_TOR_CLOCK_SKEW, 0);
	activity_free(a);
}

static void test_label_escaping(void **state)
{
	struct strbuf b;
	(void)state;
	strbuf_init(&b, 100);
	promtext_label_value(&b, "a\"b\\c\nd");
	assert_string_equal(b.data, "a\\\"b\\\\c\\nd");
	strbuf_free(&b);
}

/* Onions past PROMTEXT_TOP_ONIONS by traffic are summed under onion="other". */
static void test_top_onions(void **state)
{
	char name[63], want[256];
	(void)state;
	struct activity *a = activity_new();
	for (int i = 0; i < PROMTEXT_TOP_ONIONS + 3; i++) {
		make_onion((uint8_t)(10 + i), name);
		activity_stream_begin(a, name);
		activity_stream_opened(a, name, 99990);
		activity_stream_end(a, name, 100 * (uint64_t)(i + 1), 0);
	}
	struct status_snapshot s = snapshot(a, NULL);
	char *text = render_metrics(&s);
	check_families(text);
	/* The three least: 100 + 200 + 300 bytes. */
	assert_non_null(strstr(text, "\noniongate_onion_up_bytes_total{onion=\"other\"} 600\n"));
	assert_non_null(strstr(text, "\noniongate_onion_streams_relayed_total{onion=\"other\"} 3\n"));
	make_onion(10 + PROMTEXT_TOP_ONIONS + 2, name);
	snprintf(want, sizeof(want), "{onion=\"%s\"} %u\n", name, 100 * (PROMTEXT_TOP_ONIONS + 3));
	assert_non_null(strstr(text, want));
	make_onion(10, name);
	assert_null(strstr(text, name));
	size_t labelled = 0;
	for (const char *p = text; (p = strstr(p, "\noniongate_onion_up_bytes_total{")) != NULL; p++)
		labelled++;
	assert_int_equal(labelled, PROMTEXT_TOP_ONIONS + 1);
	free(text);
	activity_free(a);
}

static uint64_t sample(const char *text, const char *series)
{
	const char *p = strstr(text, series);
	assert_non_null(p);
	return strtoull(p + strlen(series), NULL, 10);
}

/* activity counts per bucket; Prometheus wants each le to count everything at or below it. */
static void test_histogram_cumulative(void **state)
{
	(void)state;
	struct activity *a = activity_new();
	const uint64_t ms[] = { 50, 100, 101, 400, 400, 200000 };
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		activity_first_byte(a, ms[i]);
	struct status_snapshot s = snapshot(a, NULL);
	char *text = render_metrics(&s);
	check_families(text);
	assert_int_equal(sample(text, "\noniongate_connect_first_byte_seconds_bucket{le=\"0.1\"} "), 2);
	assert_int_equal(sample(text, "\noniongate_connect_first_byte_seconds_bucket{le=\"0.25\"} "), 3);
	assert_int_equal(sample(text, "\noniongate_connect_first_byte_seconds_bucket{le=\"0.5\"} "), 5);
	assert_int_equal(sample(text, "\noniongate_connect_first_byte_seconds_bucket{le=\"120\"} "), 5);
	assert_int_equal(sample(text, "\noniongate_connect_first_byte_seconds_bucket{le=\"+Inf\"} "), 6);
	assert_int_equal(sample(text, "\noniongate_connect_first_byte_seconds_count "), 6);
	assert_non_null(strstr(text, "\noniongate_connect_first_byte_seconds_sum 201.051\n"));
	assert_non_null(strstr(text, "\noniongate_discovery_lookup_seconds_bucket{le=\"0.005\"} 0\n"));
	assert_non_null(strstr(text, "\noniongate_discovery_lookup_seconds_bucket{le=\"+Inf\"} 0\n"));
	/* Never decreasing. */
	uint64_t last = 0;
	for (const char *p = text; (p = strstr(p, "oniongate_connect_first_byte_seconds_bucket{")) != NULL; p++) {
		uint64_t v = strtoull(strchr(p, '}') + 2, NULL, 10);
		assert_true(v >= last);
		last = v;
	}
	free(text);
	activity_free(a);
}

/* Two domains map to any onion: one from a map line, one by SRV, the second needing escapes. */
static void two_domains(const struct status_snapshot *s, const char *onion, status_domain_cb *fn, void *arg)
{
	(void)s;
	(void)onion;
	fn("mapped.test", "map line 3", arg);
	fn("a<b>.test", "srv secure", arg);
}

static void test_statuspage(void **state)
{
	char onion[63];
	(void)state;
	struct pool_config pc = { .v4_net = { 10, 192, 0, 0 }, .v4_prefix = 10, .v6_net = { 0xfd, 0x6f }, .v6_prefix = 64,
				  .max_entries = 16 };
	struct pool *p = pool_new(&pc);
	struct activity *a = activity_new();
	make_onion(3, onion);
	const struct pool_entry *e = pool_map(p, onion, 1, 60);
	assert_non_null(e);
	activity_stream_begin(a, onion);
	activity_stream_failed(a, onion, AR_INTRO_FAILED, 99940);
	struct status_snapshot s = snapshot(a, p);
	s.each_domain = two_domains;
	s.last_reload = 99950;
	snprintf(s.last_reload_result, sizeof(s.last_reload_result), "og.conf:3: 'x<script>' is not a number");
	struct strbuf b;
	strbuf_init(&b, 1 << 20);
	statuspage_render(&b, &s);
	assert_false(b.failed);
	char v4[INET_ADDRSTRLEN], want[128];
	inet_ntop(AF_INET, e->v4, v4, sizeof(v4));
	assert_non_null(strstr(b.data, "<meta name=\"viewport\""));
	assert_null(strstr(b.data, "<script"));
	assert_null(strstr(b.data, "http"));
	assert_non_null(strstr(b.data, "&#39;x&lt;script&gt;&#39;"));
	assert_non_null(strstr(b.data, "Done &lt;b&gt;&amp;&lt;/b&gt;"));
	assert_non_null(strstr(b.data, "0.4.8.&quot;x\\y&quot;"));
	assert_non_null(strstr(b.data, ">ready<"));
	assert_non_null(strstr(b.data, onion));
	snprintf(want, sizeof(want), "<dd>%s, ", v4);
	assert_non_null(strstr(b.data, want));
	assert_non_null(strstr(b.data, "introduction_failed"));
	assert_non_null(strstr(b.data, "<dt>Domains</dt><dd>mapped.test <small>(map line 3)</small>, "
				       "a&lt;b&gt;.test <small>(srv secure)</small></dd>"));
	assert_non_null(strstr(b.data, "<dt>Uptime</dt><dd>16 min</dd>"));
	strbuf_free(&b);
	activity_free(a);
	pool_free(p);
}

static void test_strbuf_bound(void **state)
{
	struct strbuf b;
	(void)state;
	strbuf_init(&b, 10);
	strbuf_puts(&b, "12345");
	strbuf_printf(&b, "%d", 6789);
	assert_false(b.failed);
	assert_string_equal(b.data, "123456789");
	strbuf_puts(&b, "ab");
	assert_true(b.failed);
	strbuf_puts(&b, "");
	assert_string_equal(b.data, "123456789");
	strbuf_free(&b);
	strbuf_init(&b, 1000);
	strbuf_printf(&b, "%0500d", 1);
	assert_int_equal(b.len, 500);
	strbuf_free(&b);
}

static struct config *parse(const char *text, char *err)
{
	return config_parse("test.conf", text, strlen(text), err);
}

static void test_config(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	struct config *cfg = parse("metrics-listen 127.0.0.1:9469\n", err);
	assert_non_null(cfg);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&cfg->metrics_listen.ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 9469);
	assert_true(config_metrics_allowed(cfg, AF_INET, (const uint8_t[]){ 127, 0, 0, 1 }));
	assert_true(config_metrics_allowed(cfg, AF_INET, (const uint8_t[]){ 127, 9, 0, 1 }));
	assert_true(config_metrics_allowed(cfg, AF_INET6, (const uint8_t[16]){ [15] = 1 }));
	assert_false(config_metrics_allowed(cfg, AF_INET, (const uint8_t[]){ 10, 0, 0, 1 }));
	config_free(cfg);

	cfg = parse("metrics-listen [fd00::1]:80\nmetrics-allow 192.0.2.0/24\nmetrics-allow fd00::/8\n", err);
	assert_non_null(cfg);
	assert_int_equal(cfg->metrics_listen.ss.ss_family, AF_INET6);
	assert_true(config_metrics_allowed(cfg, AF_INET, (const uint8_t[]){ 192, 0, 2, 9 }));
	assert_true(config_metrics_allowed(cfg, AF_INET6, (const uint8_t[16]){ 0xfd, 1 }));
	assert_false(config_metrics_allowed(cfg, AF_INET, (const uint8_t[]){ 127, 0, 0, 1 }));
	config_free(cfg);

	cfg = parse("", err);
	assert_int_equal(cfg->metrics_listen.len, 0);
	config_free(cfg);

	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "metrics-listen 127.0.0.1\n", "test.conf:1: metrics-listen needs ADDRESS:PORT ([ADDRESS]:PORT for IPv6), not '127.0.0.1'" },
		{ "metrics-listen ::1:80\n", "test.conf:1: metrics-listen needs ADDRESS:PORT ([ADDRESS]:PORT for IPv6), not '::1:80'" },
		{ "metrics-listen [::1]\n", "test.conf:1: metrics-listen needs ADDRESS:PORT ([ADDRESS]:PORT for IPv6), not '[::1]'" },
		{ "metrics-listen 127.0.0.1:0\n", "test.conf:1: port must be a number from 1 to 65535, not '0'" },
		{ "metrics-listen host:80\n", "test.conf:1: 'host' is not an IPv4 or IPv6 address" },
		{ "metrics-listen 127.0.0.1:80\nmetrics-allow 10.0.0.1/8\n", "test.conf:2: '10.0.0.1/8' has host bits set" },
		{ "metrics-allow 10.0.0.0/8\n", "test.conf:1: metrics-allow has no effect without metrics-listen" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(parse(bad[i].text, err));
		assert_string_equal(err, bad[i].err);
	}

	/* metrics-listen is bound once; metrics-allow reloads. */
	struct config *running = parse("metrics-listen 127.0.0.1:9469\n", err);
	struct config *moved = parse("\nmetrics-listen 127.0.0.1:9469\nmetrics-allow 10.0.0.0/8\n", err);
	struct config *other = parse("metrics-listen 127.0.0.1:9470\n", err);
	assert_int_equal(config_reload_check(running, moved, err), 0);
	assert_int_equal(config_reload_check(running, other, err), -1);
	assert_string_equal(err, "test.conf:1: metrics-listen changes only on restart");
	config_free(running);
	config_free(moved);
	config_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_names),     cmocka_unit_test(test_render),
		cmocka_unit_test(test_label_escaping), cmocka_unit_test(test_top_onions),
		cmocka_unit_test(test_histogram_cumulative), cmocka_unit_test(test_statuspage),
		cmocka_unit_test(test_strbuf_bound),   cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
