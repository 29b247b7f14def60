/* SPDX-License-Identifier: ISC */
/* statuspage: the read-only HTML status page (the facts of `oniongatectl status` and `onions`),
 * one inline style sheet, no scripts, no external assets, every fact HTML-escaped. No I/O. */
#include "statuspage.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>

#include "activity.h"
#include "pool.h"

static const char head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>oniongate status</title>\n<style>\n"
	"body{font:16px/1.4 system-ui,sans-serif;margin:0 auto;max-width:48em;padding:.5em;color:#222;background:#fafafa}\n"
	"h1{font-size:1.4em;margin:.3em 0}h2{font-size:1.1em;margin:1em 0 .3em;border-bottom:1px solid #ccc}\n"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em .8em;margin:0}dt{color:#555}dd{margin:0}\n"
	"dd,.onion{overflow-wrap:anywhere}.onion{font-family:monospace;font-weight:bold;margin:.8em 0 .2em}\n"
	".ok{color:#060}.bad{color:#a00}.state{padding:0 .4em;border-radius:.3em;color:#fff}\n"
	".state.ok{background:#060}.state.bad{background:#a00}footer{margin-top:1em;color:#777;font-size:.85em}\n"
	"</style>\n</head>\n<body>\n";

void statuspage_escape(struct strbuf *out, const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		switch (*p) {
		case '&': strbuf_puts(out, "&amp;"); break;
		case '<': strbuf_puts(out, "&lt;"); break;
		case '>': strbuf_puts(out, "&gt;"); break;
		case '"': strbuf_puts(out, "&quot;"); break;
		case '\'': strbuf_puts(out, "&#39;"); break;
		default: strbuf_add(out, p, 1);
		}
	}
}

static void row_start(struct strbuf *o, const char *term)
{
	strbuf_printf(o, "<dt>%s</dt><dd>", term);
}

/* One definition whose value is text (escaped). */
static void row(struct strbuf *o, const char *term, const char *text)
{
	row_start(o, term);
	statuspage_escape(o, text);
	strbuf_puts(o, "</dd>\n");
}

static void duration(struct strbuf *o, time_t secs)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		strbuf_printf(o, "%lld d ", (long long)(secs / 86400));
	if (secs >= 3600)
		strbuf_printf(o, "%lld h ", (long long)(secs % 86400 / 3600));
	if (secs >= 60)
		strbuf_printf(o, "%lld min", (long long)(secs % 3600 / 60));
	else
		strbuf_printf(o, "%lld s", (long long)secs);
}

/* "2026-11-27 17:05:00 UTC"; false for 0 (never). */
static bool utc(struct strbuf *o, time_t t)
{
	struct tm tm;
	char text[32];
	if (t == 0 || gmtime_r(&t, &tm) == NULL || strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		return false;
	strbuf_puts(o, text);
	return true;
}

/* "2026-11-27 17:05:00 UTC (3 min ago)", or "never". */
static void moment(struct strbuf *o, time_t t, time_t now)
{
	if (!utc(o, t)) {
		strbuf_puts(o, "never");
		return;
	}
	strbuf_puts(o, " (");
	duration(o, now - t);
	strbuf_puts(o, " ago)");
}

static void gateway_part(struct strbuf *o, const struct status_snapshot *s)
{
	strbuf_printf(o, "<h1>oniongate <span class=\"state %s\">%s</span></h1>\n<h2>Gateway</h2>\n<dl>\n",
		      s->ready ? "ok" : "bad", s->ready ? "ready" : "not ready");
	row(o, "Version", s->version != NULL ? s->version : "");
	row_start(o, "Uptime");
	duration(o, s->now - s->started);
	strbuf_puts(o, "</dd>\n");
	row(o, "Config", s->config_path != NULL ? s->config_path : "");
	row_start(o, "Last reload");
	if (s->last_reload == 0) {
		strbuf_puts(o, "none since start");
	} else {
		moment(o, s->last_reload, s->now);
		strbuf_printf(o, ": <span class=\"%s\">", s->last_reload_ok ? "ok" : "bad");
		statuspage_escape(o, s->last_reload_result);
		strbuf_puts(o, "</span>");
	}
	strbuf_puts(o, "</dd>\n</dl>\n");
}

static void tor_part(struct strbuf *o, const struct status_snapshot *s)
{
	strbuf_puts(o, "<h2>Tor</h2>\n<dl>\n");
	if (!s->embedded_tor) {
		row(o, "Tor", "external SOCKS server (socks-server)");
		strbuf_puts(o, "</dl>\n");
		return;
	}
	row(o, "Version", s->tor_version[0] != '\0' ? s->tor_version : "not known yet");
	row_start(o, "Bootstrap");
	strbuf_printf(o, "%d %% ", s->tor_progress);
	statuspage_escape(o, s->tor_phase);
	strbuf_puts(o, "</dd>\n");
	row(o, "Circuits", s->tor_circuits ? "established" : "not established");
	if (s->stall_state != NULL)
		row(o, "Stall detector", s->stall_state);
	row_start(o, "Clock skew");
	if (s->clock_skewed) {
		strbuf_printf(o, "<span class=\"bad\">%" PRId64 " s</span> (", s->clock_skew);
		statuspage_escape(o, s->clock_source);
		strbuf_puts(o, ")");
	} else {
		strbuf_puts(o, "none reported");
	}
	strbuf_puts(o, "</dd>\n</dl>\n");
}

static void traffic_part(struct strbuf *o, const struct status_snapshot *s)
{
	strbuf_puts(o, "<h2>Pool and streams</h2>\n<dl>\n");
	row(o, "IPv4 pool", s->pool_v4);
	row(o, "IPv6 pool", s->pool_v6);
	row_start(o, "Mappings");
	strbuf_printf(o, "%zu of %zu</dd>\n", s->mappings, s->mappings_max);
	row_start(o, "Streams open");
	strbuf_printf(o, "%zu</dd>\n", s->streams);
	row_start(o, "Last hour");
	strbuf_printf(o, "%" PRIu64 " relayed, <span class=\"%s\">%" PRIu64 " failed</span></dd>\n", s->relayed_hour,
		      s->failed_hour > 0 ? "bad" : "ok", s->failed_hour);
	row_start(o, "Discovery cache");
	strbuf_printf(o, "%zu answers</dd>\n</dl>\n", s->discovery_cache);
}

static void failures_part(struct strbuf *o, const struct activity *a)
{
	strbuf_puts(o, "<h2>Failures by reason (since start)</h2>\n<dl>\n");
	bool any = false;
	for (int r = 0; r < AR_COUNT; r++) {
		uint64_t n = activity_failures(a, r);
		if (n == 0)
			continue;
		row_start(o, activity_reason_name(r));
		strbuf_printf(o, "%" PRIu64 "</dd>\n", n);
		any = true;
	}
	if (!any)
		row(o, "none", "no stream has failed");
	strbuf_puts(o, "</dl>\n");
}

struct onions_ctx {
	struct strbuf *o;
	const struct status_snapshot *s;
	size_t shown;
};

static void fake_addresses(struct strbuf *o, struct pool *pool, const char *name)
{
	const struct pool_entry *e = pool != NULL ? pool_find(pool, name) : NULL;
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	if (e == NULL || inet_ntop(AF_INET, e->v4, v4, sizeof(v4)) == NULL ||
	    inet_ntop(AF_INET6, e->v6, v6, sizeof(v6)) == NULL) {
		row(o, "Addresses", "none held now");
		return;
	}
	row_start(o, "Addresses");
	strbuf_printf(o, "%s, %s</dd>\n", v4, v6);
}

struct domains_ctx {
	struct strbuf *o;
	size_t shown;
};

static void one_domain(const char *domain, const char *source, void *arg)
{
	struct domains_ctx *c = arg;
	if (c->shown++ >= STATUSPAGE_MAX_DOMAINS)
		return;
	if (c->shown > 1)
		strbuf_puts(c->o, ", ");
	statuspage_escape(c->o, domain);
	strbuf_puts(c->o, " <small>(");
	statuspage_escape(c->o, source);
	strbuf_puts(c->o, ")</small>");
}

/* The mail domains that send to this onion MX (the map file's lines, the SRV answers cached). */
static void domains(struct strbuf *o, const struct status_snapshot *s, const char *onion)
{
	struct domains_ctx c = { o, 0 };
	if (s->each_domain == NULL)
		return;
	row_start(o, "Domains");
	s->each_domain(s, onion, one_domain, &c);
	if (c.shown == 0)
		strbuf_puts(o, "none known now");
	else if (c.shown > STATUSPAGE_MAX_DOMAINS)
		strbuf_printf(o, " and %zu more", c.shown - STATUSPAGE_MAX_DOMAINS);
	strbuf_puts(o, "</dd>\n");
}

static void one_onion(const struct activity_onion *on, void *arg)
{
	struct onions_ctx *c = arg;
	struct strbuf *o = c->o;
	if (c->shown++ >= STATUSPAGE_MAX_ONIONS)
		return;
	strbuf_puts(o, "<div class=\"onion\">");
	statuspage_escape(o, on->name);
	strbuf_puts(o, "</div>\n<dl>\n");
	domains(o, c->s, on->name);
	fake_addresses(o, c->s->pool, on->name);
	row_start(o, "Last success");
	moment(o, on->last_success, c->s->now);
	strbuf_puts(o, "</dd>\n");
	row_start(o, "Last failure");
	moment(o, on->last_failure, c->s->now);
	if (on->last_failure != 0)
		strbuf_printf(o, ": <span class=\"bad\">%s</span>", activity_reason_name(on->last_reason));
	strbuf_puts(o, "</dd>\n");
	row_start(o, "Streams");
	strbuf_printf(o, "%u open, %" PRIu64 " relayed, %" PRIu64 " failed since start</dd>\n</dl>\n", on->streams,
		      on->relayed, on->failed);
}

static void onions_part(struct strbuf *o, const struct status_snapshot *s)
{
	struct onions_ctx c = { o, s, 0 };
	strbuf_puts(o, "<h2>Onion MX</h2>\n");
	size_t n = activity_each_onion(s->activity, one_onion, &c);
	if (n == 0)
		strbuf_puts(o, "<p>No stream to an onion MX yet.</p>\n");
	else if (n > STATUSPAGE_MAX_ONIONS)
		strbuf_printf(o, "<p>And %zu less recently active ones.</p>\n", n - STATUSPAGE_MAX_ONIONS);
}

void statuspage_render(struct strbuf *out, const struct status_snapshot *s)
{
	strbuf_puts(out, head);
	gateway_part(out, s);
	tor_part(out, s);
	traffic_part(out, s);
	if (s->activity != NULL) {
		failures_part(out, s->activity);
		onions_part(out, s);
	}
	strbuf_puts(out, "<footer>As of ");
	utc(out, s->now);
	strbuf_puts(out, "; reload the page to refresh.</footer>\n</body>\n</html>\n");
}
