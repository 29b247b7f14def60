/* dns: the LAN DNS service: UDP and TCP listeners, answers for onion names, onion MX domains
 * and pool PTRs, and every other query relayed upstream as a packet (new ID, reply matched). */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "dnsmsg.h"
#include "log.h"
#include "onion.h"
#include "stats.h"

#define FWD_BUCKETS 1024
#define FWD_MAX 4096
#define ATTEMPT_SECONDS 2
#define DISCOVERY_WAIT_SECONDS 5
#define MAX_ATTEMPTS 3
#define TCP_CLIENTS_MAX 128
#define TCP_IDLE_SECONDS 10
#define OUR_UDP_SIZE 1232
#define UDP_READS_PER_EVENT 64

enum via { VIA_UDP, VIA_TCP };

struct tcp_client {
	struct dns *d;
	struct bufferevent *bev;
	struct req *reqs;
	struct tcp_client *prev, *next;
};

struct req {
	struct dns *d;
	enum via via;
	int udp_fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct tcp_client *tc;            /* NULL once the TCP client has gone */
	struct req *tc_prev, *tc_next;
	uint8_t *pkt;                     /* the client's query */
	size_t len;
	struct dns_query q;
	struct onionmap_query *mq;        /* discovery under way */
	struct onionmap_result onion;     /* kept for an onion-first merge */
	bool merge;
	bool forwarded;
	uint16_t up_id;
	size_t upstream;
	int attempts;
	struct event *timer;
	struct bufferevent *up_tcp;
	struct req *id_next;
	struct req *live_prev, *live_next; /* every request in progress, for the final free */
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
	struct udp_listener *udp;
	size_t n_udp;
	struct evconnlistener **tcp;
	size_t n_tcp;
	int up_fd[2];                     /* IPv4, IPv6 */
	struct event *up_ev[2];
	struct req *by_id[FWD_BUCKETS];
	size_t n_forwarded;
	struct tcp_client *clients;
	size_t n_clients;
	struct req *live;
	dns_warm_fn *warm;
	void *warm_arg;
};

static void req_free(struct req *r);

/* ---- replies to the client ---- */

static size_t reply_limit(const struct req *r)
{
	if (r->via == VIA_TCP)
		return DNS_MSG_MAX;
	if (!r->q.edns)
		return DNS_UDP_MIN;
	return r->q.udp_size < OUR_UDP_SIZE ? r->q.udp_size : OUR_UDP_SIZE;
}

static void send_to_client(struct req *r, const uint8_t *msg, size_t len)
{
	if (r->via == VIA_UDP) {
		sendto(r->udp_fd, msg, len, 0, (struct sockaddr *)&r->peer, r->peerlen);
	} else if (r->tc != NULL) {
		uint8_t l[2] = { (uint8_t)(len >> 8), (uint8_t)len };
		struct evbuffer *out = bufferevent_get_output(r->tc->bev);
		evbuffer_add(out, l, 2);
		evbuffer_add(out, msg, len);
	}
}

/* Header and the question as the client wrote it (its case kept). */
static void begin_reply(struct dns_writer *w, const struct req *r, enum dns_rcode rcode)
{
	struct dns_header h = dns_reply_header(&r->q, rcode);
	h.qdcount = 1;
	dns_write_header(w, &h);
	dns_write_raw(w, r->pkt + 12, r->q.question_end - 12);
}

/* An answer too long for this client: the question alone, with TC, so it asks over TCP. */
static void reply_truncated(struct req *r)
{
	uint8_t buf[DNS_MSG_MAX];
	struct dns_writer w;
	dns_writer_init(&w, buf, sizeof(buf));
	begin_reply(&w, r, DNS_RCODE_NOERROR);
	dns_set_u16(&w, 2, (uint16_t)(dns_reply_header(&r->q, DNS_RCODE_NOERROR).flags | DNS_FLAG_TC));
	send_to_client(r, buf, w.len);
}

static void finish_reply(struct dns_writer *w, struct req *r, uint16_t an, uint16_t ar)
{
	if (r->q.edns) {
		dns_write_opt(w, OUR_UDP_SIZE);
		ar++;
	}
	if (w->overflow) {
		reply_truncated(r);
		return;
	}
	dns_set_u16(w, 6, an);
	dns_set_u16(w, 10, ar);
	send_to_client(r, w->buf, w->len);
}

static void reply_rcode(struct req *r, enum dns_rcode rcode)
{
	uint8_t buf[DNS_MSG_MAX];
	struct dns_writer w;
	dns_writer_init(&w, buf, reply_limit(r));
	begin_reply(&w, r, rcode);
	finish_reply(&w, r, 0, 0);
}

/* A reply for a packet we could not parse: the header alone, FORMERR. */
static void reply_formerr(int fd, const struct sockaddr_storage *peer, socklen_t peerlen, struct tcp_client *tc,
			  const uint8_t *pkt)
{
	uint8_t buf[12] = { pkt[0], pkt[1], 0x80 | (pkt[2] & 0x79), 0x80 | DNS_RCODE_FORMERR };
	if (tc != NULL) {
		uint8_t l[2] = { 0, sizeof(buf) };
		evbuffer_add(bufferevent_get_output(tc->bev), l, 2);
		evbuffer_add(bufferevent_get_output(tc->bev), buf, sizeof(buf));
	} else {
		sendto(fd, buf, sizeof(buf), 0, (const struct sockaddr *)peer, peerlen);
	}
}

/* ---- answers of our own ---- */

static void warm(struct dns *d, const struct pool_entry *e, uint16_t port)
{
	if (d->warm != NULL)
		d->warm(d->warm_arg, e, port);
}

/* The pool refused a name (every address held or named by a live answer): one fixed line per
 * reason, so a flood of such queries folds into "repeated N times". */
static void pool_full(struct dns *d)
{
	stats_bump(STAT_DNS_POOL_FULL);
	log_warn("dns: onion names get SERVFAIL: %s", pool_shortage_text(pool_shortage(d->pool)));
}

static void write_addresses(struct dns_writer *w, const char *owner, const struct pool_entry *e, uint32_t ttl,
			    uint16_t *count, bool v4, bool v6)
{
	if (v4) {
		dns_write_a(w, owner, ttl, e->v4);
		(*count)++;
	}
	if (v6) {
		dns_write_aaaa(w, owner, ttl, e->v6);
		(*count)++;
	}
}

static void answer_onion_name(struct req *r)
{
	char canon[ONION_NAME_LEN + 1];
	uint8_t buf[DNS_MSG_MAX];
	struct dns_writer w;
	uint16_t an = 0, ar = 0;
	uint32_t ttl = r->d->cfg->onion_ttl;
	const struct pool_entry *e;

	if (onion_canonical(r->q.q.name, canon) < 0) {
		reply_rcode(r, DNS_RCODE_NXDOMAIN);
		return;
	}
	if ((e = pool_map(r->d->pool, canon, time(NULL), ttl)) == NULL) {
		pool_full(r->d);
		reply_rcode(r, DNS_RCODE_SERVFAIL);
		return;
	}
	stats_bump(STAT_DNS_ONION_ANSWERS);
	dns_writer_init(&w, buf, reply_limit(r));
	begin_reply(&w, r, DNS_RCODE_NOERROR);
	switch (r->q.q.type) {
	case DNS_TYPE_A: write_addresses(&w, NULL, e, ttl, &an, true, false); break;
	case DNS_TYPE_AAAA: write_addresses(&w, NULL, e, ttl, &an, false, true); break;
	case DNS_TYPE_ANY: write_addresses(&w, NULL, e, ttl, &an, true, true); break;
	case DNS_TYPE_MX:
		dns_write_mx(&w, NULL, ttl, 10, canon);
		an++;
		write_addresses(&w, canon, e, ttl, &ar, true, true);
		warm(r->d, e, 25);
		break;
	default: break;
	}
	finish_reply(&w, r, an, ar);
}

/* "d.c.b.a.in-addr.arpa" or the 32 nibbles of "ip6.arpa" to an address; 4, 16 or 0. */
static int reverse_address(const char *name, uint8_t out[16])
{
	size_t len = strlen(name);
	if (len > 13 && strcmp(name + len - 13, ".in-addr.arpa") == 0) {
		unsigned a, b, c, dd;
		char tail[2];
		if (sscanf(name, "%3u.%3u.%3u.%3u.in-addr.arp%1s", &dd, &c, &b, &a, tail) != 5 || a > 255 || b > 255 ||
		    c > 255 || dd > 255)
			return 0;
		out[0] = (uint8_t)a, out[1] = (uint8_t)b, out[2] = (uint8_t)c, out[3] = (uint8_t)dd;
		return 4;
	}
	if (len == 64 + 8 && strcmp(name + 64, "ip6.arpa") == 0) {
		memset(out, 0, 16);
		for (int i = 0; i < 32; i++) {
			char ch = name[2 * i];
			int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
			if (v < 0 || name[2 * i + 1] != '.')
				return 0;
			int nib = 31 - i;
			out[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
		}
		return 16;
	}
	return 0;
}

/* 1 when answered (a pool address), 0 when the name is not ours. */
static int answer_pool_ptr(struct req *r)
{
	uint8_t addr[16];
	int n = reverse_address(r->q.q.name, addr);
	const struct pool_entry *e;
	if (n == 4 && pool_contains_ip4(r->d->pool, addr))
		e = pool_lookup_ip4(r->d->pool, addr);
	else if (n == 16 && pool_contains_ip6(r->d->pool, addr))
		e = pool_lookup_ip6(r->d->pool, addr);
	else
		return 0;
	if (e == NULL || r->q.q.type != DNS_TYPE_PTR) {
		reply_rcode(r, e == NULL ? DNS_RCODE_NXDOMAIN : DNS_RCODE_NOERROR);
		return 1;
	}
	pool_map(r->d->pool, e->name, time(NULL), r->d->cfg->onion_ttl); /* the PTR names it too */
	uint8_t buf[DNS_MSG_MAX];
	struct dns_writer w;
	dns_writer_init(&w, buf, reply_limit(r));
	begin_reply(&w, r, DNS_RCODE_NOERROR);
	dns_write_ptr(&w, NULL, r->d->cfg->onion_ttl, e->name);
	finish_reply(&w, r, 1, 0);
	return 1;
}

/* The onion MX records of a domain, then (onion-first) the upstream's MX records after them. */
static void answer_onion_mx(struct req *r, const struct dns_reader *up)
{
	uint8_t buf[DNS_MSG_MAX];
	struct dns_writer w;
	uint16_t an = 0, ar = 0, top = 0;
	const struct onionmap_result *res = &r->onion;
	const struct pool_entry *hosts[ONIONMAP_MAX_MX];

	for (size_t i = 0; i < res->n; i++) {
		if ((hosts[i] = pool_map(r->d->pool, res->mx[i].host, time(NULL), r->d->cfg->onion_ttl)) == NULL) {
			pool_full(r->d);
			reply_rcode(r, DNS_RCODE_SERVFAIL);
			return;
		}
	}
	stats_bump(STAT_DNS_MX_ANSWERS);
	dns_writer_init(&w, buf, reply_limit(r));
	begin_reply(&w, r, DNS_RCODE_NOERROR);
	for (size_t i = 0; i < res->n; i++) {
		dns_write_mx(&w, NULL, res->ttl, res->mx[i].priority, res->mx[i].host);
		an++;
		if (res->mx[i].priority >= top)
			top = (uint16_t)(res->mx[i].priority + 1);
	}
	if (up != NULL) {
		struct dns_reader rd = *up;
		struct dns_question q;
		if (dns_read_question(&rd, &q) == 0) {
			for (unsigned i = 0; i < rd.h.ancount; i++) {
				struct dns_rr rr;
				char exch[DNS_NAME_MAX];
				uint16_t pref;
				if (dns_read_rr(&rd, &rr) < 0)
					break;
				if (rr.type != DNS_TYPE_MX || dns_rdata_u16(&rd, &rr, 0, &pref) < 0 ||
				    dns_rdata_name(&rd, &rr, 2, exch, sizeof(exch)) < 0)
					continue;
				uint32_t shifted = (uint32_t)pref + top;
				dns_write_mx(&w, NULL, rr.ttl, shifted > 65535 ? 65535 : (uint16_t)shifted, exch);
				an++;
			}
		}
	}
	for (size_t i = 0; i < res->n; i++)
		write_addresses(&w, res->mx[i].host, hosts[i], r->d->cfg->onion_ttl, &ar, true, true);
	finish_reply(&w, r, an, ar);
	for (size_t i = 0; i < res->n; i++) {
		pool_set_smtp_port(r->d->pool, hosts[i], res->mx[i].port);
		warm(r->d, hosts[i], 25);
	}
}

/* ---- forwarding ---- */

static struct req **id_slot(struct dns *d, uint16_t id)
{
	return &d->by_id[id % FWD_BUCKETS];
}

static struct req *find_forwarded(struct dns *d, uint16_t id)
{
	for (struct req *r = *id_slot(d, id); r != NULL; r = r->id_next)
		if (r->up_id == id)
			return r;
	return NULL;
}

static void unlink_forwarded(struct req *r)
{
	struct req **pp = id_slot(r->d, r->up_id);
	while (*pp != NULL && *pp != r)
		pp = &(*pp)->id_next;
	if (*pp == r) {
		*pp = r->id_next;
		r->d->n_forwarded--;
	}
	r->forwarded = false;
}

static const struct config_sockaddr *upstream_of(const struct req *r)
{
	const struct config *cfg = r->d->cfg;
	return &cfg->dns_upstream[r->upstream % cfg->n_dns_upstream];
}

static void upstream_readable(evutil_socket_t fd, short what, void *arg);

/* The unconnected UDP socket for upstreams of one family, made on first use. */
static int up_socket(struct dns *d, int family)
{
	int i = family == AF_INET6;
	if (d->up_fd[i] >= 0)
		return d->up_fd[i];
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	d->up_ev[i] = event_new(d->base, fd, EV_READ | EV_PERSIST, upstream_readable, d);
	if (d->up_ev[i] == NULL || event_add(d->up_ev[i], NULL) < 0) {
		if (d->up_ev[i] != NULL)
			event_free(d->up_ev[i]);
		d->up_ev[i] = NULL;
		close(fd);
		return -1;
	}
	d->up_fd[i] = fd;
	return fd;
}

static void send_upstream(struct req *r)
{
	const struct config_sockaddr *up = upstream_of(r);
	struct timeval tv = { ATTEMPT_SECONDS, 0 };
	int fd = up_socket(r->d, up->ss.ss_family);
	r->attempts++;
	if (fd >= 0)
		sendto(fd, r->pkt, r->len, 0, (const struct sockaddr *)&up->ss, up->len);
	evtimer_add(r->timer, &tv);
}

static void attempt_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;
	(void)fd;
	(void)what;
	stats_bump(STAT_DNS_TIMEOUTS);
	if (r->up_tcp != NULL || r->attempts >= MAX_ATTEMPTS) {
		reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_free(r);
		return;
	}
	r->upstream++;
	send_upstream(r);
}

static uint16_t fresh_id(struct dns *d)
{
	uint16_t id;
	do {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint16_t)random();
	} while (find_forwarded(d, id) != NULL);
	return id;
}

static void forward(struct req *r)
{
	struct dns *d = r->d;
	if (d->n_forwarded >= FWD_MAX) {
		reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_free(r);
		return;
	}
	r->timer = evtimer_new(d->base, attempt_timeout, r);
	if (r->timer == NULL) {
		reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_free(r);
		return;
	}
	r->up_id = fresh_id(d);
	r->pkt[0] = (uint8_t)(r->up_id >> 8);
	r->pkt[1] = (uint8_t)r->up_id;
	r->forwarded = true;
	r->id_next = *id_slot(d, r->up_id);
	*id_slot(d, r->up_id) = r;
	d->n_forwarded++;
	stats_bump(STAT_DNS_FORWARDED);
	send_upstream(r);
}

/* The upstream's reply, its ID put back, unchanged otherwise; merged for onion-first. */
static void deliver_upstream(struct req *r, uint8_t *msg, size_t len)
{
	struct dns_reader rd;
	if (r->merge) {
		dns_reader_init(&rd, msg, len);
		answer_onion_mx(r, DNS_RCODE(rd.h.flags) == DNS_RCODE_NOERROR ? &rd : NULL);
		return;
	}
	msg[0] = (uint8_t)(r->q.h.id >> 8);
	msg[1] = (uint8_t)r->q.h.id;
	if (len > reply_limit(r)) {
		reply_truncated(r);
		return;
	}
	send_to_client(r, msg, len);
}

/* A reply must answer the question we asked: same name, type and class. */
static bool reply_matches(const struct req *r, const uint8_t *msg, size_t len)
{
	struct dns_reader rd;
	struct dns_question q;
	if (dns_reader_init(&rd, msg, len) < 0 || !(rd.h.flags & DNS_FLAG_QR) || rd.h.qdcount != 1 ||
	    dns_read_question(&rd, &q) < 0)
		return false;
	return strcmp(q.name, r->q.q.name) == 0 && q.type == r->q.q.type && q.qclass == r->q.q.qclass;
}

static void up_tcp_read(struct bufferevent *bev, void *arg)
{
	struct req *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t l[2];
	if (evbuffer_copyout(in, l, 2) < 2)
		return;
	size_t len = (size_t)l[0] << 8 | l[1];
	if (evbuffer_get_length(in) < len + 2)
		return;
	uint8_t *msg = malloc(len > 12 ? len : 12);
	if (msg == NULL) {
		reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_free(r);
		return;
	}
	evbuffer_drain(in, 2);
	evbuffer_remove(in, msg, len);
	if (len >= 12 && msg[0] == (uint8_t)(r->up_id >> 8) && msg[1] == (uint8_t)r->up_id &&
	    reply_matches(r, msg, len)) {
		deliver_upstream(r, msg, len);
	} else {
		stats_bump(STAT_DNS_UPSTREAM_MALFORMED);
		reply_rcode(r, DNS_RCODE_SERVFAIL);
	}
	free(msg);
	req_free(r);
}

static void up_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct req *r = arg;
	if (what & BEV_EVENT_CONNECTED) {
		uint8_t l[2] = { (uint8_t)(r->len >> 8), (uint8_t)r->len };
		bufferevent_write(bev, l, 2);
		bufferevent_write(bev, r->pkt, r->len);
		bufferevent_enable(bev, EV_READ);
		return;
	}
	reply_rcode(r, DNS_RCODE_SERVFAIL);
	req_free(r);
}

/* A truncated UDP reply: ask the same upstream again over TCP. */
static void retry_over_tcp(struct req *r)
{
	const struct config_sockaddr *up = upstream_of(r);
	struct timeval tv = { ATTEMPT_SECONDS * 2, 0 };
	r->up_tcp = bufferevent_socket_new(r->d->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->up_tcp == NULL) {
		reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_free(r);
		return;
	}
	bufferevent_setcb(r->up_tcp, up_tcp_read, NULL, up_tcp_event, r);
	evtimer_add(r->timer, &tv);
	if (bufferevent_socket_connect(r->up_tcp, (const struct sockaddr *)&up->ss, (int)up->len) < 0) {
		reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_free(r);
	}
}

static bool from_upstream(const struct config *cfg, const struct sockaddr_storage *src)
{
	for (size_t i = 0; i < cfg->n_dns_upstream; i++) {
		const struct sockaddr_storage *u = &cfg->dns_upstream[i].ss;
		if (u->ss_family != src->ss_family)
			continue;
		if (u->ss_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)u, *b = (const void *)src;
			if (a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr)
				return true;
		} else {
			const struct sockaddr_in6 *a = (const void *)u, *b = (const void *)src;
			if (a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0)
				return true;
		}
	}
	return false;
}

static void upstream_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	uint8_t msg[DNS_MSG_MAX];
	(void)what;
	for (int i = 0; i < UDP_READS_PER_EVENT; i++) {
		struct sockaddr_storage src;
		socklen_t srclen = sizeof(src);
		ssize_t n = recvfrom(fd, msg, sizeof(msg), 0, (struct sockaddr *)&src, &srclen);
		if (n < 0)
			return;
		struct req *r = n >= 12 ? find_forwarded(d, (uint16_t)(msg[0] << 8 | msg[1])) : NULL;
		if (r == NULL || r->up_tcp != NULL || !from_upstream(d->cfg, &src) || !reply_matches(r, msg, (size_t)n)) {
			stats_bump(STAT_DNS_UPSTREAM_MALFORMED);
			continue;
		}
		if (msg[2] & (DNS_FLAG_TC >> 8)) {
			evtimer_del(r->timer);
			retry_over_tcp(r);
			continue;
		}
		deliver_upstream(r, msg, (size_t)n);
		req_free(r);
	}
}

/* ---- queries ---- */

static void discovery_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;
	(void)fd;
	(void)what;
	stats_bump(STAT_DNS_TIMEOUTS);
	reply_rcode(r, DNS_RCODE_SERVFAIL);
	req_free(r);
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
		reply_rcode(r, DNS_RCODE_SERVFAIL);
		req_free(r);
		return;
	}
	if (res->n == 0) {
		forward(r);
		return;
	}
	r->onion = *res;
	if (res->policy == MX_POLICY_ONION_FIRST) {
		r->merge = true;
		forward(r);
		return;
	}
	answer_onion_mx(r, NULL);
	req_free(r);
}

static bool client_allowed(const struct dns *d, const struct sockaddr_storage *peer)
{
	if (peer->ss_family == AF_INET)
		return config_client_allowed(d->cfg, AF_INET,
					     (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr);
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)peer)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return config_client_allowed(d->cfg, AF_INET, a6->s6_addr + 12);
	return config_client_allowed(d->cfg, AF_INET6, a6->s6_addr);
}

static void handle_query(struct dns *d, enum via via, int fd, const struct sockaddr_storage *peer, socklen_t peerlen,
			 struct tcp_client *tc, const uint8_t *pkt, size_t len)
{
	struct req *r;
	stats_bump(STAT_DNS_QUERIES);
	if (len < 12 || (pkt[2] & 0x80)) {
		stats_bump(STAT_DNS_MALFORMED);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->pkt = malloc(len)) == NULL) {
		free(r);
		return;
	}
	r->d = d;
	r->live_next = d->live;
	if (d->live)
		d->live->live_prev = r;
	d->live = r;
	r->via = via;
	r->udp_fd = fd;
	memcpy(&r->peer, peer, peerlen);
	r->peerlen = peerlen;
	memcpy(r->pkt, pkt, len);
	r->len = len;
	if (tc != NULL) {
		r->tc = tc;
		r->tc_next = tc->reqs;
		if (tc->reqs)
			tc->reqs->tc_prev = r;
		tc->reqs = r;
	}
	bool parsed = dns_parse_query(pkt, len, &r->q) == 0;
	if (!client_allowed(d, peer)) {
		stats_bump(STAT_DNS_REFUSED);
		if (parsed)
			reply_rcode(r, DNS_RCODE_REFUSED);
		req_free(r);
		return;
	}
	if (!parsed) {
		stats_bump(STAT_DNS_MALFORMED);
		reply_formerr(fd, peer, peerlen, tc, pkt);
		req_free(r);
		return;
	}
	if (DNS_OPCODE(r->q.h.flags) != 0) {
		reply_rcode(r, DNS_RCODE_NOTIMP);
		req_free(r);
		return;
	}
	if (onion_is_onion_domain(r->q.q.name)) {
		answer_onion_name(r);
		req_free(r);
		return;
	}
	if (answer_pool_ptr(r)) {
		req_free(r);
		return;
	}
	if (r->q.q.type == DNS_TYPE_MX && r->q.q.qclass == DNS_CLASS_IN) {
		struct onionmap_query *mq = onionmap_lookup(d->map, r->q.q.name, on_onionmap, r);
		if (mq != NULL) {
			/* A discovery that does not answer in time is a failure: SERVFAIL, the MTA retries. */
			struct timeval tv = { DISCOVERY_WAIT_SECONDS, 0 };
			r->mq = mq;
			r->timer = evtimer_new(d->base, discovery_timeout, r);
			if (r->timer == NULL || evtimer_add(r->timer, &tv) < 0) {
				reply_rcode(r, DNS_RCODE_SERVFAIL);
				req_free(r);
			}
		}
		return;
	}
	forward(r);
}

static void req_free(struct req *r)
{
	if (r->live_prev)
		r->live_prev->live_next = r->live_next;
	else
		r->d->live = r->live_next;
	if (r->live_next)
		r->live_next->live_prev = r->live_prev;
	if (r->forwarded)
		unlink_forwarded(r);
	if (r->mq != NULL)
		onionmap_cancel(r->mq);
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->up_tcp != NULL)
		bufferevent_free(r->up_tcp);
	if (r->tc != NULL) {
		if (r->tc_prev)
			r->tc_prev->tc_next = r->tc_next;
		else
			r->tc->reqs = r->tc_next;
		if (r->tc_next)
			r->tc_next->tc_prev = r->tc_prev;
	}
	free(r->pkt);
	free(r);
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
		handle_query(d, VIA_UDP, fd, &peer, peerlen, NULL, pkt, (size_t)n);
	}
}

/* ---- TCP clients ---- */

static void client_free(struct tcp_client *tc)
{
	struct dns *d = tc->d;
	for (struct req *r = tc->reqs; r != NULL; r = r->tc_next)
		r->tc = NULL;
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		d->clients = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	d->n_clients--;
	bufferevent_free(tc->bev);
	free(tc);
}

static void client_read(struct bufferevent *bev, void *arg)
{
	struct tcp_client *tc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t l[2];
	while (evbuffer_copyout(in, l, 2) == 2) {
		size_t len = (size_t)l[0] << 8 | l[1];
		if (evbuffer_get_length(in) < len + 2)
			return;
		uint8_t *pkt = malloc(len + 1);
		if (pkt == NULL) {
			client_free(tc);
			return;
		}
		evbuffer_drain(in, 2);
		evbuffer_remove(in, pkt, len);
		struct sockaddr_storage peer;
		socklen_t peerlen = sizeof(peer);
		getpeername(bufferevent_getfd(bev), (struct sockaddr *)&peer, &peerlen);
		handle_query(tc->d, VIA_TCP, -1, &peer, peerlen, tc, pkt, len);
		free(pkt);
	}
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	client_free(arg);
}

static void client_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct dns *d = arg;
	struct timeval idle = { TCP_IDLE_SECONDS, 0 };
	struct tcp_client *tc;
	(void)l;
	(void)sa;
	(void)salen;
	if (d->n_clients >= TCP_CLIENTS_MAX || (tc = calloc(1, sizeof(*tc))) == NULL) {
		close(fd);
		return;
	}
	tc->d = d;
	tc->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (tc->bev == NULL) {
		close(fd);
		free(tc);
		return;
	}
	tc->next = d->clients;
	if (d->clients)
		d->clients->prev = tc;
	d->clients = tc;
	d->n_clients++;
	bufferevent_setcb(tc->bev, client_read, NULL, client_event, tc);
	bufferevent_set_timeouts(tc->bev, &idle, &idle);
	bufferevent_enable(tc->bev, EV_READ);
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
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
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
	struct evconnlistener *l = evconnlistener_new_bind(
		d->base, client_accept, d, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
		(const struct sockaddr *)&a->ss, (int)a->len);
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
	d->up_fd[0] = d->up_fd[1] = -1;
	d->udp = calloc(cfg->n_dns_listen + 1, sizeof(*d->udp));
	d->tcp = calloc(cfg->n_dns_listen + 1, sizeof(*d->tcp));
	if (d->udp == NULL || d->tcp == NULL)
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

void dns_reconfigure(struct dns *d, const struct config *cfg)
{
	d->cfg = cfg;
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
	while (d->clients != NULL)
		client_free(d->clients);
	while (d->live != NULL)
		req_free(d->live);
	for (size_t i = 0; i < d->n_udp; i++) {
		event_free(d->udp[i].ev);
		close(d->udp[i].fd);
	}
	for (size_t i = 0; i < d->n_tcp; i++)
		evconnlistener_free(d->tcp[i]);
	for (int i = 0; i < 2; i++) {
		if (d->up_ev[i] != NULL)
			event_free(d->up_ev[i]);
		if (d->up_fd[i] >= 0)
			close(d->up_fd[i]);
	}
	free(d->udp);
	free(d->tcp);
	free(d);
}
