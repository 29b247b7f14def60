/* SPDX-License-Identifier: ISC */
/* onionmap: which mail domains have onion MX hosts: the map file, SRV _onion-mx._tcp discovery
 * through libunbound on the daemon's loop (DNSSEC policy), a TTL cache, and MX policy. */
#include "onionmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <unbound-event.h>
#include <unbound.h>

#include "activity.h"
#include "dnsmsg.h"
#include "log.h"
#include "stats.h"

#define CACHE_MAX 4096
#define CACHE_BUCKETS 1024
#define TTL_MIN 30
#define TTL_MAX 3600
#define TTL_NEGATIVE 300
#define TTL_FAILURE 30
#define UB_SEC_BOGUS 1
#define UB_SEC_SECURE 2

struct onionmap_query {
	struct cache_entry *entry;
	onionmap_cb *cb;
	void *arg;
	struct onionmap_query *next;
};

/* An entry is cached (in a bucket and on the LRU), or retired: a discovery still running on a
 * libunbound context a reload replaced, out of the cache and on the retired list until it ends. */
struct cache_entry {
	char domain[256];
	struct onionmap_result res;
	time_t expires;
	bool pending;
	bool retired;
	int async_id;
	struct timespec asked; /* the discovery's start, monotonic: its time goes to the activity record */
	struct onionmap *map;
	struct onionmap_query *waiters;
	struct cache_entry *bucket_next;
	struct cache_entry *lru_prev, *lru_next; /* the LRU, or the retired list */
};

/* A lookup made for another module (mxhosts) on the discovery's context, listed until its answer:
 * a reload that deletes the context answers the ones libunbound left with SERVFAIL. */
struct resolve {
	struct onionmap *map;
	struct ub_ctx *ub;
	onionmap_answer_cb *cb;
	void *arg;
	struct resolve *prev, *next;
};

struct onionmap_next {
	const struct config *cfg;
	struct mapfile *file;
	struct ub_ctx *ub;
};

struct onionmap {
	struct event_base *base;
	const struct config *cfg;
	struct mapfile *file;
	struct ub_ctx *ub;
	struct cache_entry *buckets[CACHE_BUCKETS];
	struct cache_entry *lru_head, *lru_tail;
	size_t n_cached;
	struct cache_entry *retired;
	struct resolve *resolves;
	struct activity *activity; /* borrowed, NULL: discovery times are not recorded */
};

static unsigned bucket_of(const char *domain)
{
	unsigned h = 5381;
	for (const char *c = domain; *c; c++)
		h = h * 33 + (unsigned char)*c;
	return h % CACHE_BUCKETS;
}

static void lru_unlink(struct onionmap *m, struct cache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		m->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		m->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_front(struct onionmap *m, struct cache_entry *e)
{
	e->lru_next = m->lru_head;
	e->lru_prev = NULL;
	if (m->lru_head)
		m->lru_head->lru_prev = e;
	m->lru_head = e;
	if (m->lru_tail == NULL)
		m->lru_tail = e;
}

static struct cache_entry *cache_find(struct onionmap *m, const char *domain)
{
	for (struct cache_entry *e = m->buckets[bucket_of(domain)]; e; e = e->bucket_next)
		if (strcmp(e->domain, domain) == 0)
			return e;
	return NULL;
}

static void cache_unlink(struct onionmap *m, struct cache_entry *e)
{
	struct cache_entry **pp = &m->buckets[bucket_of(e->domain)];
	while (*pp != e)
		pp = &(*pp)->bucket_next;
	*pp = e->bucket_next;
	lru_unlink(m, e);
	m->n_cached--;
}

static void cache_drop(struct onionmap *m, struct cache_entry *e)
{
	cache_unlink(m, e);
	free(e);
}

/* Empties the cache: its answers were decided under the policy and upstreams being replaced.
 * Entries with a discovery under way move to the retired list, where it ends. */
static void cache_retire_all(struct onionmap *m)
{
	for (struct cache_entry *e = m->lru_head, *next; e != NULL; e = next) {
		next = e->lru_next;
		cache_unlink(m, e);
		if (!e->pending) {
			free(e);
			continue;
		}
		e->retired = true;
		e->lru_next = m->retired;
		if (m->retired != NULL)
			m->retired->lru_prev = e;
		m->retired = e;
	}
}

static struct cache_entry *cache_add(struct onionmap *m, const char *domain)
{
	for (struct cache_entry *e = m->lru_tail; m->n_cached >= CACHE_MAX && e != NULL;) {
		struct cache_entry *prev = e->lru_prev;
		if (!e->pending)
			cache_drop(m, e);
		e = prev;
	}
	if (m->n_cached >= CACHE_MAX)
		return NULL;
	struct cache_entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	e->map = m;
	unsigned b = bucket_of(domain);
	e->bucket_next = m->buckets[b];
	m->buckets[b] = e;
	lru_front(m, e);
	m->n_cached++;
	return e;
}

static int by_priority(const void *a, const void *b)
{
	const struct onion_mx *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->weight > y->weight ? -1 : x->weight < y->weight;
}

/* The SRV records of the answer whose targets are valid v3 onion names. */
static void read_srv(const char *qname, const uint8_t *pkt, size_t len, struct onionmap_result *res)
{
	struct dns_reader r;
	struct dns_question q;
	uint32_t ttl = TTL_MAX;
	res->n = 0;
	res->failed = false;
	res->ttl = TTL_NEGATIVE;
	if (dns_reader_init(&r, pkt, len) < 0 || r.h.qdcount != 1 || dns_read_question(&r, &q) < 0) {
		stats_bump(STAT_DISCOVERY_MALFORMED);
		res->failed = true;
		res->ttl = TTL_FAILURE;
		return;
	}
	if (DNS_RCODE(r.h.flags) != DNS_RCODE_NOERROR && DNS_RCODE(r.h.flags) != DNS_RCODE_NXDOMAIN) {
		res->failed = true;
		res->ttl = TTL_FAILURE;
	}
	for (unsigned i = 0; i < r.h.ancount; i++) {
		struct dns_rr rr;
		struct onion_mx mx;
		char target[DNS_NAME_MAX];
		if (dns_read_rr(&r, &rr) < 0) {
			stats_bump(STAT_DISCOVERY_MALFORMED);
			break;
		}
		if (rr.type != DNS_TYPE_SRV || strcmp(rr.name, qname) != 0 || res->n == ONIONMAP_MAX_MX)
			continue;
		if (dns_rdata_u16(&r, &rr, 0, &mx.priority) < 0 || dns_rdata_u16(&r, &rr, 2, &mx.weight) < 0 ||
		    dns_rdata_u16(&r, &rr, 4, &mx.port) < 0 || dns_rdata_name(&r, &rr, 6, target, sizeof(target)) < 0) {
			stats_bump(STAT_DISCOVERY_MALFORMED);
			continue;
		}
		if (onion_canonical(target, mx.host) < 0) {
			log_info("discovery: %s names '%s', not a v3 onion: ignored", qname, target);
			continue;
		}
		res->mx[res->n++] = mx;
		if (rr.ttl < ttl)
			ttl = rr.ttl;
	}
	if (res->n > 0)
		res->ttl = ttl < TTL_MIN ? TTL_MIN : ttl;
	qsort(res->mx, res->n, sizeof(res->mx[0]), by_priority);
}

static void deliver(struct cache_entry *e)
{
	struct onionmap_query *q = e->waiters;
	e->waiters = NULL;
	e->res.policy = config_mx_policy(e->map->cfg, e->domain);
	while (q != NULL) {
		struct onionmap_query *next = q->next;
		q->cb(&e->res, q->arg);
		free(q);
		q = next;
	}
}

/* A retired discovery ends as a failure whatever its old context says: its waiters get
 * SERVFAIL and ask again under the new configuration. */
static void end_retired(struct cache_entry *e)
{
	struct onionmap *m = e->map;
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		m->retired = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	log_info("discovery: _onion-mx._tcp.%s ended by the reload: MX queries waiting for it get SERVFAIL", e->domain);
	e->pending = false;
	e->res = (struct onionmap_result){ .failed = true, .ttl = TTL_FAILURE, .source = ONIONMAP_FROM_SRV };
	deliver(e);
	free(e);
}

static void record_time(const struct cache_entry *e)
{
	struct timespec now;
	int64_t ms;
	if (e->map->activity == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - e->asked.tv_sec) * 1000 + (now.tv_nsec - e->asked.tv_nsec) / 1000000;
	activity_discovery(e->map->activity, ms > 0 ? (uint64_t)ms : 0);
}

static void srv_done(void *arg, int rcode, void *packet, int packet_len, int sec, char *why_bogus, int ratelimited)
{
	struct cache_entry *e = arg;
	enum dnssec_mode mode = e->map->cfg->dnssec;
	char qname[300];
	(void)ratelimited;
	if (e->retired) {
		end_retired(e);
		return;
	}
	snprintf(qname, sizeof(qname), "_onion-mx._tcp.%s", e->domain);
	log_debug("discovery: %s answered: rcode %d, %d bytes, security %d", qname, rcode, packet_len, sec);
	e->pending = false;
	record_time(e);
	if (packet == NULL || packet_len <= 0) {
		log_info("discovery: %s failed (rcode %d)", qname, rcode);
		e->res.n = 0;
		e->res.failed = true;
		e->res.ttl = TTL_FAILURE;
	} else {
		read_srv(qname, packet, (size_t)packet_len, &e->res);
		/* libunbound reports a failed resolution in rcode; the packet's header may not say so. */
		if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN) {
			e->res.n = 0;
			e->res.failed = true;
			e->res.ttl = TTL_FAILURE;
		}
	}
	if (e->res.failed)
		log_info("discovery: %s failed: MX queries for %s get SERVFAIL for %u s", qname, e->domain, e->res.ttl);
	e->res.source = ONIONMAP_FROM_SRV;
	e->res.security = sec == UB_SEC_SECURE ? ONIONMAP_SECURE
			  : sec == UB_SEC_BOGUS && mode != DNSSEC_OFF ? ONIONMAP_BOGUS
								      : ONIONMAP_INSECURE;
	e->res.refused = false;
	if (e->res.n > 0 && sec == UB_SEC_BOGUS && mode != DNSSEC_OFF) {
		e->res.refused = true;
		log_warn("discovery: %s is DNSSEC-bogus (%s): not used", qname, why_bogus ? why_bogus : "no reason");
		stats_bump(STAT_DISCOVERY_BOGUS);
		e->res.n = 0;
		e->res.ttl = TTL_FAILURE;
	} else if (e->res.n > 0 && sec != UB_SEC_SECURE && mode == DNSSEC_REQUIRE) {
		log_notice("discovery: %s is not DNSSEC-signed and dnssec is require: not used", qname);
		stats_bump(STAT_DISCOVERY_INSECURE);
		e->res.refused = true;
		e->res.n = 0;
	}
	if (e->res.n > 0)
		log_info("discovery: %s has %zu onion MX host%s, first %s (%s)", qname, e->res.n, e->res.n > 1 ? "s" : "",
			 e->res.mx[0].host, sec == UB_SEC_SECURE ? "DNSSEC-secure" : "unsigned");
	e->expires = time(NULL) + e->res.ttl;
	deliver(e);
}

static void answer_now(const struct onionmap *m, const char *domain, struct onionmap_result *res, onionmap_cb *cb,
		       void *arg)
{
	res->policy = config_mx_policy(m->cfg, domain);
	cb(res, arg);
}

static struct onionmap_query *add_waiter(struct cache_entry *e, onionmap_cb *cb, void *arg)
{
	struct onionmap_query *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->entry = e;
	q->cb = cb;
	q->arg = arg;
	q->next = e->waiters;
	e->waiters = q;
	return q;
}

struct onionmap_query *onionmap_lookup(struct onionmap *m, const char *domain, onionmap_cb *cb, void *arg)
{
	struct onionmap_result none = { .n = 0, .ttl = TTL_NEGATIVE };
	const struct map_entry *me = m->file ? mapfile_lookup(m->file, domain) : NULL;
	if (me != NULL) {
		struct onionmap_result res = { .n = 1, .ttl = m->cfg->onion_ttl, .source = ONIONMAP_FROM_MAP,
					       .map_line = me->line };
		res.mx[0] = (struct onion_mx){ .priority = 0, .weight = 0, .port = me->port };
		memcpy(res.mx[0].host, me->onion, sizeof(me->onion));
		answer_now(m, domain, &res, cb, arg);
		return NULL;
	}
	if (!m->cfg->srv_discovery || m->ub == NULL || onion_is_onion_domain(domain) || strchr(domain, '\\') ||
	    strlen(domain) > 253 - 15 || domain[0] == '\0') {
		answer_now(m, domain, &none, cb, arg);
		return NULL;
	}
	struct cache_entry *e = cache_find(m, domain);
	if (e != NULL && e->pending)
		return add_waiter(e, cb, arg);
	if (e != NULL && e->expires > time(NULL)) {
		lru_unlink(m, e);
		lru_front(m, e);
		answer_now(m, domain, &e->res, cb, arg);
		return NULL;
	}
	if (e == NULL && (e = cache_add(m, domain)) == NULL) {
		answer_now(m, domain, &none, cb, arg);
		return NULL;
	}
	char qname[300];
	snprintf(qname, sizeof(qname), "_onion-mx._tcp.%s", domain);
	struct onionmap_query *q = add_waiter(e, cb, arg);
	if (q == NULL) {
		answer_now(m, domain, &none, cb, arg);
		return NULL;
	}
	e->pending = true;
	clock_gettime(CLOCK_MONOTONIC, &e->asked);
	stats_bump(STAT_DISCOVERY_LOOKUPS);
	int err = ub_resolve_event(m->ub, qname, DNS_TYPE_SRV, DNS_CLASS_IN, e, srv_done, &e->async_id);
	if (err != 0) {
		log_warn("discovery: cannot resolve %s: %s", qname, ub_strerror(err));
		srv_done(e, DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL, 0);
		return NULL;
	}
	return e->pending ? q : NULL; /* an answer from libunbound's cache comes before it returns */
}

void onionmap_cancel(struct onionmap_query *q)
{
	struct onionmap_query **pp = &q->entry->waiters;
	while (*pp != NULL && *pp != q)
		pp = &(*pp)->next;
	if (*pp == q)
		*pp = q->next;
	free(q);
}

static void resolve_unlink(struct resolve *rs)
{
	if (rs->prev != NULL)
		rs->prev->next = rs->next;
	else
		rs->map->resolves = rs->next;
	if (rs->next != NULL)
		rs->next->prev = rs->prev;
}

static void resolve_done(void *arg, int rcode, void *packet, int packet_len, int sec, char *why_bogus, int ratelimited)
{
	struct resolve *rs = arg;
	enum onionmap_security security = ONIONMAP_INSECURE;
	(void)ratelimited;
	resolve_unlink(rs);
	if (sec == UB_SEC_SECURE)
		security = ONIONMAP_SECURE;
	else if (sec == UB_SEC_BOGUS && rs->map->cfg->dnssec != DNSSEC_OFF)
		security = ONIONMAP_BOGUS;
	if (security == ONIONMAP_BOGUS)
		log_debug("discovery: a lookup is DNSSEC-bogus: %s", why_bogus ? why_bogus : "no reason");
	rs->cb(rs->arg, rcode, packet, packet_len > 0 ? (size_t)packet_len : 0, security);
	free(rs);
}

/* The lookups of a deleted context that libunbound did not end: SERVFAIL. */
static void resolve_end_all(struct onionmap *m, const struct ub_ctx *ub)
{
	for (struct resolve *rs = m->resolves, *next; rs != NULL; rs = next) {
		next = rs->next;
		if (ub == NULL || rs->ub == ub)
			resolve_done(rs, DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL, 0);
	}
}

int onionmap_resolve(struct onionmap *m, const char *name, uint16_t type, onionmap_answer_cb *cb, void *arg)
{
	struct resolve *rs;
	int async_id;
	if (m->ub == NULL || (rs = calloc(1, sizeof(*rs))) == NULL)
		return -1;
	*rs = (struct resolve){ .map = m, .ub = m->ub, .cb = cb, .arg = arg, .next = m->resolves };
	if (m->resolves != NULL)
		m->resolves->prev = rs;
	m->resolves = rs;
	int err = ub_resolve_event(m->ub, name, type, DNS_CLASS_IN, rs, resolve_done, &async_id);
	if (err != 0) {
		log_warn("discovery: cannot resolve %s: %s", name, ub_strerror(err));
		resolve_unlink(rs);
		free(rs);
		return -1;
	}
	return 0;
}

const struct mapfile *onionmap_file(const struct onionmap *m)
{
	return m->file;
}

/* The line of cfg that asked for a trust anchor: trust-anchor, else dnssec, else the first
 * directive that turns discovery on. */
static int anchor_line(const struct config *cfg)
{
	static const char *const asked[] = { "trust-anchor", "dnssec", "srv-discovery", "dns-upstream" };
	for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++)
		if (config_line(cfg, asked[i]) != 0)
			return config_line(cfg, asked[i]);
	return 0;
}

/* The forwarders: the upstream servers in force (dns-upstream, or dns-upstream-file's). */
static int add_upstreams(struct ub_ctx *ub, const struct config *cfg, const struct config_sockaddr *servers, size_t n,
			 char *err)
{
	for (size_t i = 0; i < n; i++) {
		char addr[INET6_ADDRSTRLEN], spec[INET6_ADDRSTRLEN + 8];
		const struct sockaddr_storage *ss = &servers[i].ss;
		int port;
		if (ss->ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
			inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
			port = ntohs(sin->sin_port);
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
			inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
			port = ntohs(sin6->sin6_port);
		}
		snprintf(spec, sizeof(spec), "%s@%d", addr, port);
		if (ub_ctx_set_fwd(ub, spec) != 0) {
			snprintf(err, MAPFILE_ERR_MAX, "%s:%d: libunbound refuses upstream %s",
				 cfg->dns_upstream_file != NULL ? cfg->dns_upstream_file : cfg->path, servers[i].line, spec);
			return -1;
		}
	}
	return 0;
}

/* Reads the trust anchor when DNSSEC is on; the context checks it when it is finalized. */
static int add_trust_anchor(struct ub_ctx *ub, const struct config *cfg, char *err)
{
	int rc;
	if (cfg->dnssec == DNSSEC_OFF)
		return 0;
	if (access(cfg->trust_anchor, R_OK) < 0) {
		snprintf(err, MAPFILE_ERR_MAX, "%s:%d: cannot read the trust anchor %s: %s", cfg->path, anchor_line(cfg),
			 cfg->trust_anchor, strerror(errno));
		return -1;
	}
	if ((rc = ub_ctx_add_ta_file(ub, cfg->trust_anchor)) != 0) {
		snprintf(err, MAPFILE_ERR_MAX, "%s:%d: cannot read the trust anchor %s: %s", cfg->path, anchor_line(cfg),
			 cfg->trust_anchor, ub_strerror(rc));
		return -1;
	}
	return 0;
}

/* A new libunbound context on the daemon's loop for cfg: the servers, cfg's trust anchor. */
static struct ub_ctx *new_unbound(struct event_base *base, const struct config *cfg, const struct config_sockaddr *servers,
				  size_t n, char *err)
{
	struct ub_ctx *ub = ub_ctx_create_event(base);
	int rc;
	if (ub == NULL) {
		snprintf(err, MAPFILE_ERR_MAX, "%s: cannot create the libunbound context", cfg->path);
		return NULL;
	}
	if (add_upstreams(ub, cfg, servers, n, err) < 0 || add_trust_anchor(ub, cfg, err) < 0) {
		ub_ctx_delete(ub);
		return NULL;
	}
	/* Discovery asks the upstream, as every passed-through query does: libunbound's built-in
	 * answer for the special-use name test. (RFC 6761) would hide what the upstream serves.
	 * Last, as adding a zone finalizes the context (and loads the trust anchor). */
	if ((rc = ub_ctx_zone_add(ub, "test.", "transparent")) != 0) {
		if (cfg->dnssec != DNSSEC_OFF)
			snprintf(err, MAPFILE_ERR_MAX, "%s:%d: libunbound cannot start with the trust anchor %s: %s", cfg->path,
				 anchor_line(cfg), cfg->trust_anchor, ub_strerror(rc));
		else
			snprintf(err, MAPFILE_ERR_MAX, "%s: libunbound cannot start: %s", cfg->path, ub_strerror(rc));
		ub_ctx_delete(ub);
		return NULL;
	}
	return ub;
}

/* Whether cfg looks anything up through libunbound: SRV discovery, or mx-mode upgrade's MX hosts. */
static bool wants_unbound(const struct config *cfg)
{
	return cfg->srv_discovery || config_upgrade_used(cfg);
}

struct onionmap_next *onionmap_prepare(struct onionmap *m, const struct config *cfg, struct mapfile *file,
				       const struct config_sockaddr *servers, size_t n, char err[MAPFILE_ERR_MAX])
{
	struct onionmap_next *next = calloc(1, sizeof(*next));
	err[0] = '\0';
	if (next == NULL) {
		snprintf(err, MAPFILE_ERR_MAX, "%s: out of memory", cfg->path);
		mapfile_free(file);
		return NULL;
	}
	next->cfg = cfg;
	next->file = file;
	if (wants_unbound(cfg) && n > 0 && (next->ub = new_unbound(m->base, cfg, servers, n, err)) == NULL) {
		onionmap_abandon(next);
		return NULL;
	}
	return next;
}

void onionmap_abandon(struct onionmap_next *next)
{
	if (next == NULL)
		return;
	if (next->ub != NULL)
		ub_ctx_delete(next->ub);
	mapfile_free(next->file);
	free(next);
}

/* ub replaces the running context (NULL: none). */
static void swap_unbound(struct onionmap *m, struct ub_ctx *ub)
{
	struct ub_ctx *old = m->ub;
	m->ub = ub;
	cache_retire_all(m);
	/* Deleting a context ends each of its queries with SERVFAIL through srv_done, which ends
	 * the retired entries; any it left are ended here. Lookups from their waiters see the
	 * new context and an empty cache. */
	if (old != NULL) {
		ub_ctx_delete(old);
		resolve_end_all(m, old);
	}
	while (m->retired != NULL)
		end_retired(m->retired);
}

void onionmap_commit(struct onionmap *m, struct onionmap_next *next)
{
	struct ub_ctx *ub = next->ub;
	m->cfg = next->cfg;
	mapfile_free(m->file);
	m->file = next->file;
	free(next);
	swap_unbound(m, ub);
}

int onionmap_set_upstreams(struct onionmap *m, const struct config_sockaddr *servers, size_t n, char err[MAPFILE_ERR_MAX])
{
	struct ub_ctx *ub = NULL;
	err[0] = '\0';
	if (wants_unbound(m->cfg) && n > 0 && (ub = new_unbound(m->base, m->cfg, servers, n, err)) == NULL)
		return -1;
	swap_unbound(m, ub);
	return 0;
}

struct onionmap *onionmap_new(struct event_base *base, const struct config *cfg, const struct config_sockaddr *servers,
			       size_t n, char err[MAPFILE_ERR_MAX])
{
	struct onionmap *m = calloc(1, sizeof(*m));
	struct mapfile *file = NULL;
	struct onionmap_next *next;
	err[0] = '\0';
	if (m == NULL) {
		snprintf(err, MAPFILE_ERR_MAX, "out of memory");
		return NULL;
	}
	m->base = base;
	m->cfg = cfg;
	if ((cfg->onion_map != NULL && (file = mapfile_load(cfg->onion_map, err)) == NULL) ||
	    (next = onionmap_prepare(m, cfg, file, servers, n, err)) == NULL) {
		free(m);
		return NULL;
	}
	onionmap_commit(m, next);
	return m;
}

void onionmap_set_activity(struct onionmap *m, struct activity *a)
{
	m->activity = a;
}

size_t onionmap_cache_size(const struct onionmap *m)
{
	return m != NULL ? m->n_cached : 0;
}

/* Waiters are dropped without a call: whoever asked is being freed too. */
void onionmap_free(struct onionmap *m)
{
	if (m == NULL)
		return;
	for (struct cache_entry *e = m->lru_head; e != NULL; e = e->lru_next) {
		while (e->waiters != NULL) {
			struct onionmap_query *q = e->waiters;
			e->waiters = q->next;
			free(q);
		}
	}
	struct ub_ctx *ub = m->ub;
	m->ub = NULL; /* no lookup may start from a callback of the deletion */
	if (ub != NULL)
		ub_ctx_delete(ub);
	resolve_end_all(m, NULL);
	for (struct cache_entry *e = m->lru_head, *next; e != NULL; e = next) {
		next = e->lru_next;
		free(e);
	}
	mapfile_free(m->file);
	free(m);
}

size_t onionmap_each_mapped(const struct onionmap *m, size_t max, void (*fn)(const char *onion, void *arg), void *arg)
{
	size_t n = 0;
	for (size_t i = 0; m->file != NULL && i < m->file->n && n < max; i++, n++)
		fn(m->file->entries[i].onion, arg);
	return n;
}

void onionmap_each_pair(const struct onionmap *m, void (*fn)(const struct onionmap_pair *p, void *arg), void *arg)
{
	for (size_t i = 0; m->file != NULL && i < m->file->n; i++)
		fn(&(struct onionmap_pair){ .domain = m->file->entries[i].domain, .onion = m->file->entries[i].onion,
					    .source = ONIONMAP_FROM_MAP, .line = m->file->entries[i].line },
		   arg);
	for (const struct cache_entry *e = m->lru_head; e != NULL; e = e->lru_next)
		for (size_t i = 0; !e->pending && i < e->res.n; i++)
			fn(&(struct onionmap_pair){ .domain = e->domain, .onion = e->res.mx[i].host,
						    .source = ONIONMAP_FROM_SRV, .security = e->res.security,
						    .expires = e->expires },
			   arg);
}
