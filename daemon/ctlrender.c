/* SPDX-License-Identifier: ISC */
/* ctlrender: the bodies of oniongatectl's replies (status, streams, onions, lookup) as text or JSON,
 * from a status snapshot and an onionmap result; no I/O but the buffer it appends to. */
#include "ctlrender.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "activity.h"
#include "config.h"
#include "jsonw.h"
#include "mapfile.h"
#include "onion.h"
#include "pool.h"
#include "proxy.h"

#define TIME_TEXT_MAX 32

/* A wall-clock time as "2026-11-27T17:03:50Z", "never" for 0. */
static const char *time_text(time_t t, char buf[TIME_TEXT_MAX])
{
	struct tm tm;
	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		return "never";
	strftime(buf, TIME_TEXT_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* A JSON time: seconds since the epoch, null for never. */
static void json_time(struct jsonw *w, const char *key, time_t t)
{
	jsonw_key(w, key);
	if (t == 0)
		jsonw_null(w);
	else
		jsonw_int(w, (int64_t)t);
}

/* The finished document into out, with a newline. */
static int json_out(struct jsonw *w, struct evbuffer *out)
{
	int rc = jsonw_done(w) && evbuffer_add(out, w->buf, w->len) == 0 && evbuffer_add(out, "\n", 1) == 0 ? 0 : -1;
	jsonw_free(w);
	return rc;
}

static const char *security_name(enum onionmap_security sec)
{
	return sec == ONIONMAP_SECURE ? "secure" : sec == ONIONMAP_BOGUS ? "bogus" : "insecure";
}

static const char *policy_name(enum mx_policy p)
{
	return p == MX_POLICY_ONION_FIRST ? "onion-first" : "onion-only";
}

/* ---- status */

static void status_json(const struct status_snapshot *s, struct jsonw *w)
{
	uint64_t failures;
	jsonw_object_begin(w);
	jsonw_key(w, "version");
	jsonw_string(w, s->version);
	json_time(w, "started", s->started);
	jsonw_key(w, "uptime_seconds");
	jsonw_int(w, (int64_t)(s->now - s->started));
	jsonw_key(w, "config");
	jsonw_string(w, s->config_path);
	jsonw_key(w, "ready");
	jsonw_bool(w, s->ready);
	jsonw_key(w, "tor");
	jsonw_object_begin(w);
	jsonw_key(w, "embedded");
	jsonw_bool(w, s->embedded_tor);
	jsonw_key(w, "bridges");
	jsonw_uint(w, s->bridges);
	jsonw_key(w, "version");
	jsonw_string(w, s->tor_version[0] ? s->tor_version : NULL);
	jsonw_key(w, "bootstrap_percent");
	jsonw_int(w, s->tor_progress);
	jsonw_key(w, "bootstrap_phase");
	jsonw_string(w, s->tor_phase);
	jsonw_key(w, "circuits_established");
	jsonw_bool(w, s->tor_circuits);
	jsonw_key(w, "clock_skew_seconds");
	if (s->clock_skewed)
		jsonw_int(w, s->clock_skew);
	else
		jsonw_null(w);
	jsonw_key(w, "clock_skew_source");
	jsonw_string(w, s->clock_skewed ? s->clock_source : NULL);
	jsonw_object_end(w);
	jsonw_key(w, "pool");
	jsonw_object_begin(w);
	jsonw_key(w, "mappings");
	jsonw_uint(w, s->mappings);
	jsonw_key(w, "max");
	jsonw_uint(w, s->mappings_max);
	jsonw_key(w, "ipv4");
	jsonw_string(w, s->pool_v4);
	jsonw_key(w, "ipv6");
	jsonw_string(w, s->pool_v6);
	jsonw_object_end(w);
	jsonw_key(w, "streams_open");
	jsonw_uint(w, s->streams);
	jsonw_key(w, "last_hour");
	jsonw_object_begin(w);
	jsonw_key(w, "relayed");
	jsonw_uint(w, s->relayed_hour);
	jsonw_key(w, "failed");
	jsonw_uint(w, s->failed_hour);
	jsonw_object_end(w);
	jsonw_key(w, "failures");
	jsonw_object_begin(w);
	for (int r = 0; r < AR_COUNT; r++) {
		failures = s->activity != NULL ? activity_failures(s->activity, (enum activity_reason)r) : 0;
		jsonw_key(w, activity_reason_name((enum activity_reason)r));
		jsonw_uint(w, failures);
	}
	jsonw_object_end(w);
	jsonw_key(w, "discovery_cache");
	jsonw_uint(w, s->discovery_cache);
	jsonw_key(w, "onion_mx");
	jsonw_string(w, s->onion_mx != NULL && s->onion_mx[0] != '\0' ? s->onion_mx : NULL);
	jsonw_key(w, "stall");
	jsonw_string(w, s->stall_state != NULL ? s->stall_state : "off");
	jsonw_key(w, "last_reload");
	if (s->last_reload == 0) {
		jsonw_null(w);
	} else {
		jsonw_object_begin(w);
		json_time(w, "time", s->last_reload);
		jsonw_key(w, "ok");
		jsonw_bool(w, s->last_reload_ok);
		jsonw_key(w, "result");
		jsonw_string(w, s->last_reload_result);
		jsonw_object_end(w);
	}
	jsonw_object_end(w);
}

static int tor_text(const struct status_snapshot *s, struct evbuffer *out)
{
	if (!s->embedded_tor)
		return evbuffer_add_printf(out, "tor: none (socks-server)\n") < 0 ? -1 : 0;
	if (evbuffer_add_printf(out, "tor: %s, bootstrap %d%% (%s), circuits %s\n",
				s->tor_version[0] ? s->tor_version : "version unknown", s->tor_progress,
				s->tor_phase[0] ? s->tor_phase : "no phase yet",
				s->tor_circuits ? "established" : "not established") < 0)
		return -1;
	if (s->clock_skewed &&
	    evbuffer_add_printf(out, "clock skew: %" PRId64 " s (source %s)\n", s->clock_skew, s->clock_source) < 0)
		return -1;
	if (s->bridges > 0 && evbuffer_add_printf(out, "bridges: %zu (Tor reaches the network through them alone)\n",
						  s->bridges) < 0)
		return -1;
	if (s->onion_mx != NULL &&
	    evbuffer_add_printf(out, "onion-mx: %s\n", s->onion_mx[0] != '\0' ? s->onion_mx : "(keys not made yet)") < 0)
		return -1;
	return 0;
}

static int failures_text(const struct status_snapshot *s, struct evbuffer *out)
{
	int any = 0;
	if (evbuffer_add_printf(out, "failures since start:") < 0)
		return -1;
	for (int r = 0; s->activity != NULL && r < AR_COUNT; r++) {
		uint64_t n = activity_failures(s->activity, (enum activity_reason)r);
		if (n > 0 && evbuffer_add_printf(out, "%s %s %" PRIu64, any++ ? "," : "",
						 activity_reason_name((enum activity_reason)r), n) < 0)
			return -1;
	}
	return evbuffer_add_printf(out, "%s\n", any ? "" : " none") < 0 ? -1 : 0;
}

static int status_text(const struct status_snapshot *s, struct evbuffer *out)
{
	char t[TIME_TEXT_MAX];
	long up = (long)(s->now - s->started);
	if (evbuffer_add_printf(out, "version: oniongated %s\nuptime: %ldd %02ldh %02ldm %02lds (since %s)\nconfig: %s\n"
				     "ready: %s\n",
				s->version, up / 86400, up / 3600 % 24, up / 60 % 60, up % 60, time_text(s->started, t),
				s->config_path, s->ready ? "yes" : "no") < 0 ||
	    tor_text(s, out) < 0)
		return -1;
	if (evbuffer_add_printf(out, "pool: %zu of %zu mappings (%s, %s)\nstreams: %zu open\n"
				     "last hour: %" PRIu64 " relayed, %" PRIu64 " failed\n",
				s->mappings, s->mappings_max, s->pool_v4, s->pool_v6, s->streams, s->relayed_hour,
				s->failed_hour) < 0 ||
	    failures_text(s, out) < 0 ||
	    evbuffer_add_printf(out, "discovery cache: %zu\nstall detector: %s\n", s->discovery_cache,
				s->stall_state != NULL ? s->stall_state : "off") < 0)
		return -1;
	if (s->last_reload == 0)
		return evbuffer_add_printf(out, "last reload: none\n") < 0 ? -1 : 0;
	return evbuffer_add_printf(out, "last reload: %s %s\n", time_text(s->last_reload, t), s->last_reload_result) < 0
		       ? -1
		       : 0;
}

int ctlrender_status(const struct status_snapshot *s, bool json, struct evbuffer *out)
{
	struct jsonw w;
	if (!json)
		return status_text(s, out);
	jsonw_init(&w);
	status_json(s, &w);
	return json_out(&w, out);
}

/* ---- streams: one line per open stream */

struct streams_out {
	struct evbuffer *out;
	struct jsonw *w; /* NULL: text */
	int rc;
};

static void stream_one(const struct proxy_stream_info *i, void *arg)
{
	struct streams_out *so = arg;
	struct jsonw *w = so->w;
	if (w == NULL) {
		if (evbuffer_add_printf(so->out, "%s -> %s:%u (%s) age %llds up %" PRIu64 " down %" PRIu64 " %s\n", i->lan,
					i->onion[0] ? i->onion : "-", i->port, i->dst, (long long)i->age, i->up, i->down,
					i->state) < 0)
			so->rc = -1;
		return;
	}
	jsonw_object_begin(w);
	jsonw_key(w, "lan");
	jsonw_string(w, i->lan);
	jsonw_key(w, "dialled");
	jsonw_string(w, i->dst);
	jsonw_key(w, "onion");
	jsonw_string(w, i->onion[0] ? i->onion : NULL);
	jsonw_key(w, "port");
	jsonw_uint(w, i->port);
	jsonw_key(w, "age_seconds");
	jsonw_int(w, (int64_t)i->age);
	jsonw_key(w, "bytes_up");
	jsonw_uint(w, i->up);
	jsonw_key(w, "bytes_down");
	jsonw_uint(w, i->down);
	jsonw_key(w, "state");
	jsonw_string(w, i->state);
	jsonw_object_end(w);
}

int ctlrender_streams(const struct status_snapshot *s, bool json, struct evbuffer *out)
{
	struct jsonw w;
	struct streams_out so = { .out = out, .w = json ? &w : NULL };
	if (!json) {
		if (s->proxy != NULL)
			proxy_each_stream(s->proxy, stream_one, &so);
		return so.rc;
	}
	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "streams");
	jsonw_array_begin(&w);
	if (s->proxy != NULL)
		proxy_each_stream(s->proxy, stream_one, &so);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	return json_out(&w, out);
}

/* ---- onions: every onion MX known, from the map file, the SRV cache and the relay's records */

struct known {
	const char *onion;
	const char *domain;            /* NULL: known to the relay only */
	enum onionmap_source source;
	int line;                      /* FROM_MAP */
	enum onionmap_security security; /* FROM_SRV */
	time_t expires;                /* FROM_SRV */
};

struct known_list {
	struct known *v;
	size_t n, cap;
	bool failed;
};

static void known_add(struct known_list *l, const struct known *k)
{
	if (l->failed)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct known *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL) {
			l->failed = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *k;
}

static void known_pair(const struct onionmap_pair *p, void *arg)
{
	known_add(arg, &(struct known){ .onion = p->onion, .domain = p->domain, .source = p->source, .line = p->line,
					.security = p->security, .expires = p->expires });
}

static void known_active(const struct activity_onion *o, void *arg)
{
	known_add(arg, &(struct known){ .onion = o->name });
}

/* By onion, then the domains (map lines first), the relay's record (no domain) last. */
static int by_onion(const void *a, const void *b)
{
	const struct known *x = a, *y = b;
	int c = strcmp(x->onion, y->onion);
	if (c != 0)
		return c;
	if ((x->domain == NULL) != (y->domain == NULL))
		return x->domain == NULL ? 1 : -1;
	if (x->domain == NULL)
		return 0;
	if (x->source != y->source)
		return x->source == ONIONMAP_FROM_MAP ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static int gather(const struct status_snapshot *s, struct known_list *l)
{
	if (s->onionmap != NULL)
		onionmap_each_pair(s->onionmap, known_pair, l);
	if (s->activity != NULL)
		activity_each_onion(s->activity, known_active, l);
	if (l->failed)
		return -1;
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(l->v[0]), by_onion);
	return 0;
}

static void addr_texts(const struct status_snapshot *s, const char *onion, char v4[INET_ADDRSTRLEN],
		       char v6[INET6_ADDRSTRLEN])
{
	const struct pool_entry *e = s->pool != NULL ? pool_find(s->pool, onion) : NULL;
	v4[0] = v6[0] = '\0';
	if (e == NULL)
		return;
	inet_ntop(AF_INET, e->v4, v4, INET_ADDRSTRLEN);
	inet_ntop(AF_INET6, e->v6, v6, INET6_ADDRSTRLEN);
}

static void onion_json(const struct status_snapshot *s, const struct known *k, size_t n, struct jsonw *w)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	const struct activity_onion *a = s->activity != NULL ? activity_onion(s->activity, k->onion) : NULL;
	addr_texts(s, k->onion, v4, v6);
	jsonw_object_begin(w);
	jsonw_key(w, "onion");
	jsonw_string(w, k->onion);
	jsonw_key(w, "domains");
	jsonw_array_begin(w);
	for (size_t i = 0; i < n && k[i].domain != NULL; i++) {
		jsonw_object_begin(w);
		jsonw_key(w, "domain");
		jsonw_string(w, k[i].domain);
		jsonw_key(w, "source");
		jsonw_string(w, k[i].source == ONIONMAP_FROM_MAP ? "map" : "srv");
		if (k[i].source == ONIONMAP_FROM_MAP) {
			jsonw_key(w, "line");
			jsonw_int(w, k[i].line);
		} else {
			jsonw_key(w, "dnssec");
			jsonw_string(w, security_name(k[i].security));
			json_time(w, "expires", k[i].expires);
		}
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_key(w, "ipv4");
	jsonw_string(w, v4[0] ? v4 : NULL);
	jsonw_key(w, "ipv6");
	jsonw_string(w, v6[0] ? v6 : NULL);
	json_time(w, "last_success", a != NULL ? a->last_success : 0);
	json_time(w, "last_failure", a != NULL ? a->last_failure : 0);
	jsonw_key(w, "last_failure_reason");
	jsonw_string(w, a != NULL && a->last_failure != 0 ? activity_reason_name(a->last_reason) : NULL);
	jsonw_key(w, "streams_open");
	jsonw_uint(w, a != NULL ? a->streams : 0);
	jsonw_key(w, "relayed");
	jsonw_uint(w, a != NULL ? a->relayed : 0);
	jsonw_key(w, "failed");
	jsonw_uint(w, a != NULL ? a->failed : 0);
	jsonw_object_end(w);
}

static int onion_text(const struct status_snapshot *s, const struct known *k, size_t n, struct evbuffer *out)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], t1[TIME_TEXT_MAX], t2[TIME_TEXT_MAX];
	const struct activity_onion *a = s->activity != NULL ? activity_onion(s->activity, k->onion) : NULL;
	const char *file = onionmap_file(s->onionmap) != NULL && s->cfg != NULL ? s->cfg->onion_map : "map";
	addr_texts(s, k->onion, v4, v6);
	if (evbuffer_add_printf(out, "%s domains", k->onion) < 0)
		return -1;
	if (n == 0 || k[0].domain == NULL)
		evbuffer_add_printf(out, " -");
	for (size_t i = 0; i < n && k[i].domain != NULL; i++) {
		int rc = k[i].source == ONIONMAP_FROM_MAP
				 ? evbuffer_add_printf(out, "%s%s(%s:%d)", i ? "," : " ", k[i].domain, file, k[i].line)
				 : evbuffer_add_printf(out, "%s%s(srv %s)", i ? "," : " ", k[i].domain,
						       security_name(k[i].security));
		if (rc < 0)
			return -1;
	}
	return evbuffer_add_printf(out, " ipv4 %s ipv6 %s last-success %s last-failure %s%s%s%s streams %u relayed %" PRIu64
					" failed %" PRIu64 "\n",
				   v4[0] ? v4 : "-", v6[0] ? v6 : "-", time_text(a ? a->last_success : 0, t1),
				   time_text(a ? a->last_failure : 0, t2), a && a->last_failure ? " (" : "",
				   a && a->last_failure ? activity_reason_name(a->last_reason) : "",
				   a && a->last_failure ? ")" : "", a ? a->streams : 0, a ? a->relayed : 0,
				   a ? a->failed : 0) < 0
		       ? -1
		       : 0;
}

/* The end of the group of records about the onion at i. */
static size_t group_end(const struct known_list *l, size_t i)
{
	size_t j = i + 1;
	while (j < l->n && strcmp(l->v[j].onion, l->v[i].onion) == 0)
		j++;
	return j;
}

static int onions_json(const struct status_snapshot *s, const struct known_list *l, struct evbuffer *out)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "onions");
	jsonw_array_begin(&w);
	for (size_t i = 0, j; i < l->n; i = j) {
		j = group_end(l, i);
		onion_json(s, &l->v[i], j - i, &w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	return json_out(&w, out);
}

int ctlrender_onions(const struct status_snapshot *s, bool json, struct evbuffer *out)
{
	struct known_list l = { 0 };
	int rc = gather(s, &l);
	if (rc == 0 && json)
		rc = onions_json(s, &l, out);
	for (size_t i = 0, j; rc == 0 && !json && i < l.n; i = j) {
		j = group_end(&l, i);
		rc = onion_text(s, &l.v[i], j - i, out);
	}
	free(l.v);
	return rc;
}

/* ---- lookup */

enum verdict { V_ONION, V_UPSTREAM, V_SERVFAIL };

static enum verdict verdict_of(const struct onionmap_result *res)
{
	return res->n > 0 ? V_ONION : res->failed ? V_SERVFAIL : V_UPSTREAM;
}

/* Why, in words: the map line, the SRV answer and its DNSSEC state, or what was not there. */
static void why_text(const struct status_snapshot *s, const char *domain, const struct onionmap_result *res, char *why,
		     size_t size)
{
	if (res->source == ONIONMAP_FROM_MAP)
		snprintf(why, size, "map file %s:%d", s->cfg->onion_map, res->map_line);
	else if (res->source == ONIONMAP_FROM_NONE)
		snprintf(why, size, "no map line, and %s", s->cfg->srv_discovery ? "no SRV lookup: no upstream to ask, or not a name to ask about"
											 : "srv-discovery off");
	else if (res->failed)
		snprintf(why, size, "discovery failed: _onion-mx._tcp.%s could not be resolved (SERVFAIL until it can)", domain);
	else if (res->refused && res->security == ONIONMAP_BOGUS)
		snprintf(why, size, "SRV _onion-mx._tcp.%s is DNSSEC-bogus: refused", domain);
	else if (res->refused)
		snprintf(why, size, "SRV _onion-mx._tcp.%s is insecure and dnssec is require: refused", domain);
	else if (res->n == 0)
		snprintf(why, size, "no map line, no onion SRV record (%s)", security_name(res->security));
	else
		snprintf(why, size, "SRV _onion-mx._tcp.%s, DNSSEC %s", domain, security_name(res->security));
}

static const char *verdict_name(enum verdict v)
{
	return v == V_ONION ? "onion" : v == V_SERVFAIL ? "servfail" : "upstream";
}

static void lookup_json(const struct status_snapshot *s, const char *domain, const struct onionmap_result *res,
			const char *why, struct jsonw *w)
{
	static const char *const sources[] = { [ONIONMAP_FROM_NONE] = "none", [ONIONMAP_FROM_MAP] = "map",
					       [ONIONMAP_FROM_SRV] = "srv" };
	jsonw_object_begin(w);
	jsonw_key(w, "domain");
	jsonw_string(w, domain);
	jsonw_key(w, "answer");
	jsonw_string(w, verdict_name(verdict_of(res)));
	jsonw_key(w, "source");
	jsonw_string(w, sources[res->source]);
	jsonw_key(w, "map_line");
	if (res->source == ONIONMAP_FROM_MAP)
		jsonw_int(w, res->map_line);
	else
		jsonw_null(w);
	jsonw_key(w, "dnssec");
	jsonw_string(w, res->source == ONIONMAP_FROM_SRV && !res->failed ? security_name(res->security) : NULL);
	jsonw_key(w, "refused");
	jsonw_bool(w, res->refused);
	jsonw_key(w, "policy");
	jsonw_string(w, policy_name(res->policy));
	jsonw_key(w, "mode");
	jsonw_string(w, config_mx_mode(s->cfg, domain) == MX_MODE_UPGRADE ? "upgrade" : "rewrite");
	jsonw_key(w, "why");
	jsonw_string(w, why);
	jsonw_key(w, "mx");
	jsonw_array_begin(w);
	for (size_t i = 0; i < res->n; i++) {
		jsonw_object_begin(w);
		jsonw_key(w, "host");
		jsonw_string(w, res->mx[i].host);
		jsonw_key(w, "priority");
		jsonw_uint(w, res->mx[i].priority);
		jsonw_key(w, "port");
		jsonw_uint(w, res->mx[i].port);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static int lookup_text(const struct status_snapshot *s, const char *domain, const struct onionmap_result *res,
		       const char *why, struct evbuffer *out)
{
	static const char *const answers[] = {
		[V_ONION] = "onion MX", [V_UPSTREAM] = "the upstream's answer, unchanged", [V_SERVFAIL] = "SERVFAIL",
	};
	enum verdict v = verdict_of(res);
	if (evbuffer_add_printf(out, "%s MX: %s\nwhy: %s\npolicy: %s, mx-mode %s\n", domain, answers[v], why,
				policy_name(res->policy),
				config_mx_mode(s->cfg, domain) == MX_MODE_UPGRADE ? "upgrade" : "rewrite") < 0)
		return -1;
	for (size_t i = 0; i < res->n; i++)
		if (evbuffer_add_printf(out, "mx: %u %s%s%.0u\n", res->mx[i].priority, res->mx[i].host,
					res->mx[i].port ? " port " : "", res->mx[i].port) < 0)
			return -1;
	return 0;
}

int ctlrender_lookup(const struct status_snapshot *s, const char *domain, const struct onionmap_result *res, bool json,
		     struct evbuffer *out)
{
	char why[512];
	struct jsonw w;
	why_text(s, domain, res, why, sizeof(why));
	if (!json)
		return lookup_text(s, domain, res, why, out);
	jsonw_init(&w);
	lookup_json(s, domain, res, why, &w);
	return json_out(&w, out);
}

int ctlrender_lookup_onion(const char *domain, bool json, struct evbuffer *out)
{
	static const char *const not_applying[] = { "map_line", "dnssec", "policy", "mode" };
	char onion[ONION_NAME_LEN + 1];
	bool valid = onion_canonical(domain, onion) == 0;
	const char *why = valid ? "an onion name: its MX is the onion itself" : "not a valid v3 onion name: NXDOMAIN";
	struct jsonw w;
	if (!json) {
		if (evbuffer_add_printf(out, "%s MX: %s\nwhy: %s\n", domain, valid ? "onion MX" : "NXDOMAIN", why) < 0)
			return -1;
		return valid && evbuffer_add_printf(out, "mx: 10 %s\n", onion) < 0 ? -1 : 0;
	}
	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "domain");
	jsonw_string(&w, domain);
	jsonw_key(&w, "answer");
	jsonw_string(&w, valid ? "onion" : "nxdomain");
	jsonw_key(&w, "source");
	jsonw_string(&w, "onion-name");
	/* The fields of every lookup reply; these do not apply. */
	for (size_t i = 0; i < sizeof(not_applying) / sizeof(not_applying[0]); i++) {
		jsonw_key(&w, not_applying[i]);
		jsonw_null(&w);
	}
	jsonw_key(&w, "refused");
	jsonw_bool(&w, false);
	jsonw_key(&w, "why");
	jsonw_string(&w, why);
	jsonw_key(&w, "mx");
	jsonw_array_begin(&w);
	if (valid) {
		jsonw_object_begin(&w);
		jsonw_key(&w, "host");
		jsonw_string(&w, onion);
		jsonw_key(&w, "priority");
		jsonw_uint(&w, 10); /* as answer.c writes it */
		jsonw_key(&w, "port");
		jsonw_uint(&w, 0);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	return json_out(&w, out);
}

/* ---- onion-mx: the published onion MX, and its relay check */

/* The records' lines of one kind ("srv ...", "map ..."), without the kind, as a JSON array. */
static void record_lines(struct jsonw *w, const char *records, const char *kind)
{
	size_t klen = strlen(kind);
	char line[ONIONMX_LINE_MAX];
	jsonw_array_begin(w);
	for (const char *p = records; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, "\n");
		if (len > klen && len - klen - 1 < sizeof(line) && strncmp(p, kind, klen) == 0 && p[klen] == ' ') {
			memcpy(line, p + klen + 1, len - klen - 1);
			line[len - klen - 1] = '\0';
			jsonw_string(w, line);
		}
		p += len + (p[len] == '\n');
	}
	jsonw_array_end(w);
}

int ctlrender_onion_mx(const char *onion, const char *records, bool json, struct evbuffer *out)
{
	struct jsonw w;
	if (!json)
		return evbuffer_add_printf(out, "%s", records != NULL ? records : "onion: not made yet (the embedded Tor makes its keys at its start)\n") < 0 ? -1 : 0;
	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "onion");
	jsonw_string(&w, records != NULL ? onion : NULL);
	jsonw_key(&w, "srv");
	record_lines(&w, records, "srv");
	jsonw_key(&w, "map");
	record_lines(&w, records, "map");
	jsonw_object_end(&w);
	return json_out(&w, out);
}

int ctlrender_relay_check(const struct relaycheck_result *r, const char *summary, bool json, struct evbuffer *out)
{
	struct jsonw w;
	if (!json)
		return evbuffer_add_printf(out, "%s\n", summary) < 0 ? -1 : 0;
	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "completed");
	jsonw_bool(&w, r->completed);
	jsonw_key(&w, "open_relay");
	jsonw_bool(&w, r->completed && r->open_relay);
	jsonw_key(&w, "banner");
	jsonw_string(&w, r->banner != NULL && r->banner[0] != '\0' ? r->banner : NULL);
	jsonw_key(&w, "rcpt_reply");
	jsonw_string(&w, r->rcpt_reply != NULL && r->rcpt_reply[0] != '\0' ? r->rcpt_reply : NULL);
	jsonw_key(&w, "error");
	jsonw_string(&w, r->completed ? NULL : r->error);
	jsonw_key(&w, "summary");
	jsonw_string(&w, summary);
	jsonw_object_end(&w);
	return json_out(&w, out);
}

/* ---- reload, errors */

static int one_fact(const char *key, const char *text, const char *ok_key, bool ok, bool json, struct evbuffer *out)
{
	struct jsonw w;
	if (!json)
		return evbuffer_add_printf(out, "%s\n", text) < 0 ? -1 : 0;
	jsonw_init(&w);
	jsonw_object_begin(&w);
	if (ok_key != NULL) {
		jsonw_key(&w, ok_key);
		jsonw_bool(&w, ok);
	}
	jsonw_key(&w, key);
	jsonw_string(&w, text);
	jsonw_object_end(&w);
	return json_out(&w, out);
}

int ctlrender_reload(bool ok, const char *result, bool json, struct evbuffer *out)
{
	return one_fact("result", result, "ok", ok, json, out);
}

int ctlrender_error(const char *text, bool json, struct evbuffer *out)
{
	return one_fact("error", text, NULL, false, json, out);
}
