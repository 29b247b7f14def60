/* SPDX-License-Identifier: ISC */
/* dns: the LAN DNS service: its UDP and TCP listeners, each query's life from arrival to reply (our
 * own answers, SRV discovery, the upstream), and the bounds every client is held to (see below). */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "answer.h"
#include "dnscache.h"
#include "dnsmsg.h"
#include "listener.h"
#include "log.h"
#include "mxanswer.h"
#include "mxupgrade.h"
#include "onion.h"
#include "peers.h"
#include "stats.h"
#include "upstream.h"

/* Bounds. Requests waiting on discovery or the upstream: REQ_MAX in all, PEER_REQ_MAX per client
 * address; over either, SERVFAIL. TCP: connections only from client-network, TCP_MAX in all and
 * TCP_PER_PEER per address; per connection a query of at most TCP_QUERY_MAX bytes, TCP_IN_FLIGHT
 * queries at once, and no reading while TCP_OUT_HIGH bytes of replies wait to be read. Time per
 * TCP state: IDLE and WRITING 10 s, READING a begun query 5 s (bytes that trickle in do not extend
 * it). Memory per TCP connection is then at most 4 KiB of input, 16 KiB + 4 x 64 KiB of replies and
 * 4 requests of about 7 KiB: under 310 KiB, and under 20 MiB for all of them. The pass-through
 * cache holds at most dns-cache-size bytes (dnscache.c). */
#define REQ_MAX 1024
#define PEER_REQ_MAX 128
#define TCP_MAX 64
#define TCP_PER_PEER 8
#define TCP_QUERY_MAX 4096
#define TCP_IN_FLIGHT 4
#define TCP_OUT_HIGH (16 * 1024)
#define TCP_IDLE_SECONDS 10
#define TCP_READING_SECONDS 5
#define TCP_WRITING_SECONDS 10
#define DISCOVERY_WAIT_SECONDS 5
#define UDP_READS_PER_EVENT 64

/* A request lives while an answer is awaited: SRV discovery first for MX queries, then perhaps the
 * upstream: FORWARDING relays its reply (not an onion MX domain), MERGING puts the upstream's MX
 * after the onion hosts (onion-first). In mx-mode upgrade, UPGRADING awaits the upstream's MX
 * answer and LEARNING holds it while the domain's real MX addresses are claimed: it leaves
 * untouched (signatures intact) once the first connection to them will be redirected. */
enum req_state { REQ_DISCOVERING, REQ_FORWARDING, REQ_MERGING, REQ_UPGRADING, REQ_LEARNING };

/* A TCP connection: IDLE (nothing under way), READING (part of a query came), BUSY (queries at
 * the upstream), WRITING (replies wait for the client to read them). */
enum tcp_state { TCP_IDLE, TCP_READING, TCP_BUSY, TCP_WRITING };

struct tcp_client {
	struct dns *d;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	enum tcp_state state;
	struct event *timer;
	struct req *reqs;
	size_t n_reqs;
	bool in_input, eof;
	struct tcp_client *prev, *next;
};

struct req {
	struct dns *d;
	enum req_state state;
	int udp_fd;                       /* the listener it came on; -1 over TCP */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct tcp_client *tc;            /* NULL over UDP */
	struct req *tc_prev, *tc_next;
	uint8_t *pkt;                     /* the client's query */
	size_t len;
	struct dns_query q;
	struct onionmap_query *mq;
	struct upstream_query *uq;
	struct onionmap_result onion;     /* kept for an onion-first merge or an upgrade */
	struct mxupgrade_learn *learn;    /* LEARNING */
	uint8_t *held;                    /* LEARNING: the upstream's answer */
	size_t held_len;
	struct event *timer;              /* the discovery's or the learning's deadline */
	struct req *prev, *next;
};

struct udp_listener {
	int fd;
	struct event *ev;
};

struct dns {
	struct event_base *base;
	const struct config *cfg;
	struct pool *pool;
	struct onionmap *map;
	struct upstream *up;
	struct peers *req_peers, *tcp_peers;
	struct udp_listener *udp;
	size_t n_udp;
	struct listener **tcp;
	size_t n_tcp;
	struct req *reqs;
	size_t n_reqs;
	struct tcp_client *clients;
	size_t n_clients;
	dns_warm_fn *warm;
	void *warm_arg;
	struct mxupgrade *upgrade;
	struct dnscache *cache;           /* NULL: dns-cache-size 0 */
	size_t cache_size;
};

static void tcp_update(struct tcp_client *tc);

static const uint8_t *peer_address(const struct sockaddr_storage *peer, int *family)
{
	if (peer->ss_family == AF_INET) {
		*family = AF_INET;
		return (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
	}
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)peer)->sin6_addr;
	*family = IN6_IS_ADDR_V4MAPPED(a6) ? AF_INET : AF_INET6;
	return *family == AF_INET ? a6->s6_addr + 12 : a6->s6_addr;
}

static bool client_allowed(const struct dns *d, const struct sockaddr_storage *peer)
{
	int family;
	const uint8_t *addr = peer_address(peer, &family);
	return (peer->ss_family == AF_INET || peer->ss_family == AF_INET6) &&
	       config_client_allowed(d->cfg, family, addr);
}

/* ---- replies ---- */

static void send_reply(struct dns *d, int udp_fd, const struct sockaddr_storage *peer, socklen_t peerlen,
		       struct tcp_client *tc, const struct answer *a)
{
	/* One fixed line per reason, so a flood of such queries folds into "repeated N times". */
	if (a->pool_full) {
		stats_bump(STAT_DNS_POOL_FULL);
		log_warn("dns: onion names get SERVFAIL: %s", pool_shortage_text(pool_shortage(d->pool)));
	}
	if (tc != NULL) {
		uint8_t l[2] = { (uint8_t)(a->len >> 8), (uint8_t)a->len };
		struct evbuffer *out = bufferevent_get_output(tc->bev);
		evbuffer_add(out, l, 2);
		evbuffer_add(out, a->msg, a->len);
	} else {
		sendto(udp_fd, a->msg, a->len, 0, (const struct sockaddr *)peer, peerlen);
	}
	for (size_t i = 0; i < a->n_mx_hosts; i++)
		if (d->warm != NULL)
			d->warm(d->warm_arg, a->mx_hosts[i], 25);
}

static struct answer_query query_of(const struct req *r)
{
	return (struct answer_query){ .pkt = r->pkt, .q = &r->q, .limit = answer_limit(&r->q, r->tc != NULL) };
}

/* The pool's clock is monotonic: a wall clock stepped at a router's first NTP sync would free
 * every address at once (forward) or refuse new names for as long (back). */
static struct answer_env env_of(const struct dns *d)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (struct answer_env){ .pool = d->pool, .onion_ttl = d->cfg->onion_ttl, .now = ts.tv_sec };
}

static void req_reply(struct req *r, const struct answer *a)
{
	send_reply(r->d, r->udp_fd, &r->peer, r->peerlen, r->tc, a);
}

static void req_reply_rcode(struct req *r, int rcode)
{
	struct answer a;
	struct answer_query aq = query_of(r);
	answer_rcode(&a, &aq, rcode);
	req_reply(r, &a);
}

/* ---- the pass-through cache ---- */

static uint64_t monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static bool in_zone(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);
	return n == z ? strcmp(name, zone) == 0 : n > z && name[n - z - 1] == '.' && strcmp(name + n - z, zone) == 0;
}

/* Only plain pass-through answers are cached: MX queries go through discovery, and onion names
 * and pool PTRs are answered before the cache is asked (answer_local); the onion check stands guard.
 * Reverse names are never cached: the pools' reverse zones are ours, and a name above a pool
 * address (10.in-addr.arpa) still goes upstream. */
static bool cacheable(const struct dns_query *q)
{
	return q->q.type != DNS_TYPE_MX && !onion_is_onion_domain(q->q.name) && !in_zone(q->q.name, "in-addr.arpa") &&
	       !in_zone(q->q.name, "ip6.arpa");
}

static bool cache_answer(struct dns *d, const struct answer_query *aq, struct answer *a)
{
	static uint8_t hit[DNS_MSG_MAX];
	size_t n;
	if (d->cache == NULL || !cacheable(aq->q) ||
	    (n = dnscache_lookup(d->cache, aq->q, aq->pkt, monotonic_seconds(), hit, sizeof(hit))) == 0)
		return false;
	answer_relay(a, aq, hit, n);
	return true;
}

/* ---- requests ---- */

static void req_free(struct req *r)
{
	struct dns *d = r->d;
	if (r->prev)
		r->prev->next = r->next;
	else
		d->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	d->n_reqs--;
	peers_give(d->req_peers, &r->peer);
	if (r->mq != NULL)
		onionmap_cancel(r->mq);
	if (r->uq != NULL)
		upstream_cancel(r->uq);
	if (r->learn != NULL)
		mxupgrade_cancel(r->learn);
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->tc != NULL) {
		if (r->tc_prev)
			r->tc_prev->tc_next = r->tc_next;
		else
			r->tc->reqs = r->tc_next;
		if (r->tc_next)
			r->tc_next->tc_prev = r->tc_prev;
		r->tc->n_reqs--;
	}
	free(r->held);
	free(r->pkt);
	free(r);
}

/* The request has its reply: it goes, and its TCP connection may read on or close. */
static void req_done(struct req *r)
{
	struct tcp_client *tc = r->tc;
	req_free(r);
	if (tc != NULL)
		tcp_update(tc);
}

static struct req *req_new(struct dns *d, int udp_fd, const struct sockaddr_storage *peer, socklen_t peerlen,
			   struct tcp_client *tc, const uint8_t *pkt, size_t len, const struct dns_query *q)
{
	struct req *r;
	if (d->n_reqs >= REQ_MAX || !peers_take(d->req_peers, peer, PEER_REQ_MAX)) {
		stats_bump(STAT_DNS_OVERLOADED);
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->pkt = malloc(len)) == NULL) {
		free(r);
		peers_give(d->req_peers, peer);
		return NULL;
	}
	r->d = d;
	r->udp_fd = udp_fd;
	memcpy(&r->peer, peer, peerlen);
	r->peerlen = peerlen;
	memcpy(r->pkt, pkt, len);
	r->len = len;
	r->q = *q;
	r->next = d->reqs;
	if (d->reqs)
		d->reqs->prev = r;
	d->reqs = r;
	d->n_reqs++;
	if (tc != NULL) {
		r->tc = tc;
		r->tc_next = tc->reqs;
		if (tc->reqs)
			tc->reqs->tc_prev = r;
		tc->reqs = r;
		tc->n_reqs++;
	}
	return r;
}

static void learn(struct req *r, const uint8_t *msg, size_t len);

static void on_upstream(void *arg, const uint8_t *msg, size_t len)
{
	struct req *r = arg;
	struct answer a;
	struct answer_query aq = query_of(r);
	r->uq = NULL;
	if (r->state == REQ_UPGRADING && msg != NULL) {
		learn(r, msg, len);
		return;
	}
	if (r->state == REQ_MERGING) {
		/* Onion-first: the onion hosts come first whatever the upstream said, or without it. */
		struct answer_env env = env_of(r->d);
		stats_bump(STAT_DNS_MX_ANSWERS);
		answer_onion_mx(&a, &aq, &env, &r->onion, msg, len);
	} else if (msg == NULL) {
		answer_rcode(&a, &aq, DNS_RCODE_SERVFAIL);
	} else {
		if (r->state == REQ_FORWARDING && cacheable(&r->q))
			dnscache_store(r->d->cache, &r->q, msg, len, monotonic_seconds());
		answer_relay(&a, &aq, msg, len);
	}
	req_reply(r, &a);
	req_done(r);
}

static void forward(struct req *r, enum req_state state)
{
	r->state = state;
	r->uq = upstream_send(r->d->up, r->pkt, r->len, &r->q.q, on_upstream, r);
	if (r->uq == NULL) {
		stats_bump(upstream_servers(r->d->up) == 0 ? STAT_DNS_NO_UPSTREAM : STAT_DNS_OVERLOADED);
		req_reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_done(r);
	}
}

/* Warms a stream up to the onion MX, as an answer naming it does in rewrite mode. */
static void warm_target(struct dns *d, const struct onion_mx *mx)
{
	struct answer_env env = env_of(d);
	const struct pool_entry *e;
	if (d->warm == NULL || (e = pool_map(d->pool, mx->host, env.now, d->cfg->onion_ttl)) == NULL)
		return;
	pool_set_smtp_port(d->pool, e, mx->port);
	d->warm(d->warm_arg, e, 25);
}

static void on_learned(void *arg, bool ok, uint32_t ttl)
{
	struct req *r = arg;
	struct answer a;
	struct answer_query aq = query_of(r);
	(void)ttl;
	r->learn = NULL;
	if (ok) {
		answer_relay(&a, &aq, r->held, r->held_len);
		if (r->onion.n > 0)
			warm_target(r->d, &r->onion.mx[0]);
	} else {
		answer_rcode(&a, &aq, DNS_RCODE_SERVFAIL);
	}
	req_reply(r, &a);
	req_done(r);
}

static void discovery_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;
	(void)fd;
	(void)what;
	stats_bump(STAT_DNS_TIMEOUTS);
	req_reply_rcode(r, DNS_RCODE_SERVFAIL);
	req_done(r);
}

static void on_onionmap(const struct onionmap_result *res, void *arg)
{
	struct req *r = arg;
	r->mq = NULL;
	if (r->timer != NULL) {
		event_free(r->timer);
		r->timer = NULL;
	}
	if (res->failed) {
		/* Unknown whether the domain has an onion MX: the MTA must retry, never go clearnet. */
		req_reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_done(r);
		return;
	}
	if (r->d->upgrade != NULL && config_mx_mode(r->d->cfg, r->q.q.name) == MX_MODE_UPGRADE) {
		r->onion = *res;
		forward(r, REQ_UPGRADING);
		return;
	}
	if (res->n == 0) {
		forward(r, REQ_FORWARDING);
		return;
	}
	r->onion = *res;
	if (res->policy == MX_POLICY_ONION_FIRST) {
		forward(r, REQ_MERGING);
		return;
	}
	struct answer a;
	struct answer_query aq = query_of(r);
	struct answer_env env = env_of(r->d);
	stats_bump(STAT_DNS_MX_ANSWERS);
	answer_onion_mx(&a, &aq, &env, res, NULL, 0);
	req_reply(r, &a);
	req_done(r);
}

/* The upstream's MX answer is held while the domain's MX hosts are claimed (for its onion MX, the
 * most preferred one, or as plain when it has none); an answer without hosts leaves at once. */
static void learn(struct req *r, const uint8_t *msg, size_t len)
{
	struct timeval tv = { DISCOVERY_WAIT_SECONDS, 0 };
	struct mxanswer_hosts hosts;
	struct answer a;
	struct answer_query aq = query_of(r);
	struct mxupgrade_learn *l;
	if (mxanswer_read_hosts(msg, len, r->q.q.name, &hosts) < 0 || hosts.n == 0) {
		answer_relay(&a, &aq, msg, len);
		req_reply(r, &a);
		req_done(r);
		return;
	}
	r->state = REQ_LEARNING;
	if ((r->held = malloc(len)) == NULL || (r->timer = evtimer_new(r->d->base, discovery_timeout, r)) == NULL) {
		req_reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_done(r);
		return;
	}
	memcpy(r->held, msg, len);
	r->held_len = len;
	evtimer_add(r->timer, &tv);
	/* on_learned may run before mxupgrade_learn returns, and end the request. */
	l = mxupgrade_learn(r->d->upgrade, r->q.q.name, r->onion.n > 0 ? &r->onion.mx[0] : NULL,
			    hosts.ttl == UINT32_MAX ? 0 : hosts.ttl, on_learned, r);
	if (l != NULL)
		r->learn = l;
}

/* A discovery that does not answer in time is a failure: SERVFAIL, the MTA retries. */
static void discover(struct req *r)
{
	struct timeval tv = { DISCOVERY_WAIT_SECONDS, 0 };
	struct onionmap_query *mq;
	r->state = REQ_DISCOVERING;
	if ((r->timer = evtimer_new(r->d->base, discovery_timeout, r)) == NULL) {
		req_reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_done(r);
		return;
	}
	/* The callback may run before onionmap_lookup returns, and end the request. */
	mq = onionmap_lookup(r->d->map, r->q.q.name, on_onionmap, r);
	if (mq != NULL) {
		r->mq = mq;
		evtimer_add(r->timer, &tv);
	}
}

/* Every query from a LAN client starts here; answers that need nobody else go out at once. */
static void handle_query(struct dns *d, int udp_fd, const struct sockaddr_storage *peer, socklen_t peerlen,
			 struct tcp_client *tc, const uint8_t *pkt, size_t len)
{
	struct dns_query q;
	struct answer a;
	struct answer_query aq = { .pkt = pkt, .q = &q };
	struct answer_env env = env_of(d);
	struct req *r;

	stats_bump(STAT_DNS_QUERIES);
	if (len < 12 || (pkt[2] & 0x80)) {
		stats_bump(STAT_DNS_MALFORMED);
		return;
	}
	bool parsed = dns_parse_query(pkt, len, &q) == 0;
	aq.limit = answer_limit(&q, tc != NULL);
	if (!client_allowed(d, peer)) {
		stats_bump(STAT_DNS_REFUSED);
		if (!parsed)
			return;
		answer_rcode(&a, &aq, DNS_RCODE_REFUSED);
	} else if (!parsed) {
		stats_bump(STAT_DNS_MALFORMED);
		answer_formerr(&a, pkt, len);
	} else if (DNS_OPCODE(q.h.flags) != 0) {
		answer_rcode(&a, &aq, DNS_RCODE_NOTIMP);
	} else if (q.edns && q.edns_version != 0) {
		answer_rcode(&a, &aq, DNS_RCODE_BADVERS);
	} else if (answer_local(&a, &aq, &env)) {
		if (a.pool_full == false && onion_is_onion_domain(q.q.name))
			stats_bump(STAT_DNS_ONION_ANSWERS);
	} else if (cache_answer(d, &aq, &a)) {
		/* counted as dns_cache_hits */
	} else if ((r = req_new(d, udp_fd, peer, peerlen, tc, pkt, len, &q)) == NULL) {
		answer_rcode(&a, &aq, DNS_RCODE_SERVFAIL);
	} else {
		if (q.q.type == DNS_TYPE_MX && q.q.qclass == DNS_CLASS_IN)
			discover(r);
		else
			forward(r, REQ_FORWARDING);
		return;
	}
	send_reply(d, udp_fd, peer, peerlen, tc, &a);
}

static void udp_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	uint8_t pkt[DNS_MSG_MAX];
	(void)what;
	for (int i = 0; i < UDP_READS_PER_EVENT; i++) {
		struct sockaddr_storage peer;
		socklen_t peerlen = sizeof(peer);
		ssize_t n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&peer, &peerlen);
		if (n < 0)
			return;
		handle_query(d, fd, &peer, peerlen, NULL, pkt, (size_t)n);
	}
}

/* ---- TCP clients ---- */

static void tcp_free(struct tcp_client *tc)
{
	struct dns *d = tc->d;
	for (struct req *r = tc->reqs, *next; r != NULL; r = next) {
		next = r->tc_next;
		req_free(r);
	}
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		d->clients = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	d->n_clients--;
	peers_give(d->tcp_peers, &tc->peer);
	event_free(tc->timer);
	bufferevent_free(tc->bev);
	free(tc);
}

static enum tcp_state tcp_state_now(const struct tcp_client *tc)
{
	if (evbuffer_get_length(bufferevent_get_output(tc->bev)) > 0)
		return TCP_WRITING;
	if (tc->n_reqs > 0)
		return TCP_BUSY;
	if (evbuffer_get_length(bufferevent_get_input(tc->bev)) > 0)
		return TCP_READING;
	return TCP_IDLE;
}

static bool tcp_may_read(const struct tcp_client *tc)
{
	return !tc->eof && tc->n_reqs < TCP_IN_FLIGHT &&
	       evbuffer_get_length(bufferevent_get_output(tc->bev)) < TCP_OUT_HIGH;
}

/* The queries waiting in the input, while the bounds allow; a bad length ends the connection. */
static void tcp_read_queries(struct tcp_client *tc)
{
	struct evbuffer *in = bufferevent_get_input(tc->bev);
	uint8_t l[2], pkt[TCP_QUERY_MAX];
	tc->in_input = true;
	while (tcp_may_read(tc) && evbuffer_copyout(in, l, 2) == 2) {
		size_t len = (size_t)l[0] << 8 | l[1];
		if (len < 12 || len > TCP_QUERY_MAX) {
			stats_bump(STAT_DNS_MALFORMED);
			tcp_free(tc);
			return;
		}
		if (evbuffer_get_length(in) < len + 2)
			break;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, pkt, len);
		handle_query(tc->d, -1, &tc->peer, sizeof(tc->peer), tc, pkt, len);
	}
	tc->in_input = false;
	tcp_update(tc);
}

/* After anything that changes a connection: reading on or off by the bounds, the state's timer,
 * and the close of a connection the client has ended once nothing is left to send. */
static void tcp_update(struct tcp_client *tc)
{
	static const int seconds[] = { [TCP_IDLE] = TCP_IDLE_SECONDS, [TCP_READING] = TCP_READING_SECONDS,
				       [TCP_BUSY] = 0, [TCP_WRITING] = TCP_WRITING_SECONDS };
	if (tc->in_input)
		return;
	bool may_read = tcp_may_read(tc), reading = (bufferevent_get_enabled(tc->bev) & EV_READ) != 0;
	if (may_read && !reading) {
		bufferevent_enable(tc->bev, EV_READ);
		tcp_read_queries(tc);
		return;
	}
	if (!may_read && reading)
		bufferevent_disable(tc->bev, EV_READ);
	enum tcp_state state = tcp_state_now(tc);
	if (tc->eof && (state == TCP_IDLE || state == TCP_READING)) {
		tcp_free(tc);
		return;
	}
	if (state == tc->state)
		return;
	tc->state = state;
	evtimer_del(tc->timer);
	if (seconds[state] > 0) {
		struct timeval tv = { seconds[state], 0 };
		evtimer_add(tc->timer, &tv);
	}
}

static void tcp_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_client *tc = arg;
	static const char *const names[] = { "idle", "reading a query", "busy", "not reading its replies" };
	(void)fd;
	(void)what;
	stats_bump(STAT_DNS_TCP_TIMEOUTS);
	log_debug("dns: TCP client closed: %s for too long", names[tc->state]);
	tcp_free(tc);
}

static void tcp_readable(struct bufferevent *bev, void *arg)
{
	(void)bev;
	tcp_read_queries(arg);
}

static void tcp_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	tcp_update(arg);
}

static void tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_client *tc = arg;
	if (what & BEV_EVENT_EOF) {
		/* The client has sent all it will: answer what it asked, then close. */
		tc->eof = true;
		bufferevent_disable(bev, EV_READ);
		tcp_update(tc);
		return;
	}
	tcp_free(tc);
}

static void tcp_accept(evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct dns *d = arg;
	struct tcp_client *tc;
	struct sockaddr_storage peer;
	memset(&peer, 0, sizeof(peer));
	memcpy(&peer, sa, (size_t)salen < sizeof(peer) ? (size_t)salen : sizeof(peer));
	if (!client_allowed(d, &peer)) {
		stats_bump(STAT_DNS_REFUSED);
		close(fd);
		return;
	}
	if (d->n_clients >= TCP_MAX || !peers_take(d->tcp_peers, &peer, TCP_PER_PEER)) {
		stats_bump(STAT_DNS_OVERLOADED);
		close(fd);
		return;
	}
	if ((tc = calloc(1, sizeof(*tc))) == NULL ||
	    (tc->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (tc->timer = evtimer_new(d->base, tcp_timeout, tc)) == NULL) {
		if (tc != NULL && tc->bev != NULL)
			bufferevent_free(tc->bev);
		else
			close(fd);
		free(tc);
		peers_give(d->tcp_peers, &peer);
		return;
	}
	tc->d = d;
	tc->peer = peer;
	tc->state = TCP_BUSY; /* not a state it is in: the first update arms the idle timer */
	tc->next = d->clients;
	if (d->clients)
		d->clients->prev = tc;
	d->clients = tc;
	d->n_clients++;
	bufferevent_setcb(tc->bev, tcp_readable, tcp_written, tcp_event, tc);
	bufferevent_setwatermark(tc->bev, EV_READ, 0, TCP_QUERY_MAX + 2);
	tcp_update(tc);
}

/* ---- set-up ---- */

static int bind_udp(struct dns *d, const struct config_sockaddr *a)
{
	int one = 1;
	int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* Free-bind: at boot the LAN address may come after us (systemd-networkd). */
	if (listener_freebind(fd, a->ss.ss_family) < 0 || bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		close(fd);
		return -1;
	}
	struct udp_listener *u = &d->udp[d->n_udp];
	u->fd = fd;
	u->ev = event_new(d->base, fd, EV_READ | EV_PERSIST, udp_readable, d);
	if (u->ev == NULL || event_add(u->ev, NULL) < 0) {
		if (u->ev)
			event_free(u->ev);
		close(fd);
		return -1;
	}
	d->n_udp++;
	return 0;
}

static int bind_tcp(struct dns *d, const struct config_sockaddr *a)
{
	struct listener *l = listener_new(d->base, "dns", (const struct sockaddr *)&a->ss, (int)a->len, 64, tcp_accept, d);
	if (l == NULL)
		return -1;
	d->tcp[d->n_tcp++] = l;
	return 0;
}

struct dns *dns_new(struct event_base *base, const struct config *cfg, struct pool *pool, struct onionmap *map)
{
	struct dns *d = calloc(1, sizeof(*d));
	char addr[INET6_ADDRSTRLEN];
	if (d == NULL)
		return NULL;
	d->base = base;
	d->cfg = cfg;
	d->pool = pool;
	d->map = map;
	d->cache_size = cfg->dns_cache_size;
	d->cache = dnscache_new(cfg->dns_cache_size);
	d->up = upstream_new(base);
	d->req_peers = peers_new();
	d->tcp_peers = peers_new();
	d->udp = calloc(cfg->n_dns_listen + 1, sizeof(*d->udp));
	d->tcp = calloc(cfg->n_dns_listen + 1, sizeof(*d->tcp));
	if (d->up == NULL || d->req_peers == NULL || d->tcp_peers == NULL || d->udp == NULL || d->tcp == NULL)
		goto fail;
	for (size_t i = 0; i < cfg->n_dns_listen; i++) {
		const struct config_sockaddr *a = &cfg->dns_listen[i];
		const void *ip = a->ss.ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)&a->ss)->sin_addr
							    : (const void *)&((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		inet_ntop(a->ss.ss_family, ip, addr, sizeof(addr));
		if (bind_udp(d, a) < 0 || bind_tcp(d, a) < 0) {
			log_err("dns: cannot listen on %s (line %d): %s", addr, a->line, strerror(errno));
			goto fail;
		}
		log_notice("dns: listening on %s port %u (UDP and TCP)", addr,
			   ntohs(((const struct sockaddr_in *)&a->ss)->sin_port));
	}
	return d;
fail:
	dns_free(d);
	return NULL;
}

/* The cache starts empty: no answer of a server left behind is served. */
static void cache_renew(struct dns *d)
{
	dnscache_free(d->cache);
	d->cache = dnscache_new(d->cache_size);
}

void dns_reconfigure(struct dns *d, const struct config *cfg)
{
	d->cfg = cfg;
	if (cfg->dns_cache_size != d->cache_size) {
		d->cache_size = cfg->dns_cache_size;
		cache_renew(d);
	}
}

void dns_set_upstreams(struct dns *d, const struct config_sockaddr *servers, size_t n)
{
	upstream_set_servers(d->up, servers, n);
	cache_renew(d);
}

void dns_set_upgrade(struct dns *d, struct mxupgrade *u)
{
	d->upgrade = u;
}

void dns_set_warmer(struct dns *d, dns_warm_fn *fn, void *arg)
{
	d->warm = fn;
	d->warm_arg = arg;
}

void dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	/* libevent closes a freed socket on a later turn of the loop, which never comes at exit:
	 * the FIN goes now, while an nft DNS redirect still stands. */
	for (struct tcp_client *tc = d->clients, *next; tc != NULL; tc = next) {
		next = tc->next;
		shutdown(bufferevent_getfd(tc->bev), SHUT_RDWR);
		tcp_free(tc);
	}
	for (struct req *r = d->reqs, *next; r != NULL; r = next) {
		next = r->next;
		req_free(r);
	}
	for (size_t i = 0; i < d->n_udp; i++) {
		event_free(d->udp[i].ev);
		close(d->udp[i].fd);
	}
	for (size_t i = 0; i < d->n_tcp; i++)
		listener_free(d->tcp[i]);
	upstream_free(d->up);
	dnscache_free(d->cache);
	peers_free(d->req_peers);
	peers_free(d->tcp_peers);
	free(d->udp);
	free(d->tcp);
	free(d);
}
