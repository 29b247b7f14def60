/* SPDX-License-Identifier: ISC */
/* upstream: queries relayed to the upstream servers (dns-upstream or dns-upstream-file). Each try leaves
 * from a fresh socket on a random source port with a fresh random ID (unbound's outside_network); TCP
 * when a reply is truncated. */
#include "upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "stats.h"

#define UDP_TRY_SECONDS 2
#define TCP_TRY_SECONDS 4
#define MAX_TRIES 3
#define READS_PER_EVENT 16
#define PORT_FIRST 1024
#define PORT_TRIES 10

/* A query goes through UDP tries (each from its own socket, to the next server) and, when a
 * reply comes back truncated, one TCP try to the server that truncated it. */
enum try_state { TRY_UDP, TRY_TCP };

struct upstream_query {
	struct upstream *u;
	enum try_state state;
	uint8_t *pkt;                /* the query; its ID is rewritten for every try */
	size_t len;
	struct dns_question q;       /* what a reply must answer */
	uint16_t id;                 /* of the current try */
	int tries;
	size_t server;               /* index into the servers: the first, then the next per try */
	struct config_sockaddr srv;  /* the current try's server (kept if the set changes meanwhile) */
	int fd;                      /* the current UDP try's socket, -1 if none */
	struct event *udp_ev;
	struct bufferevent *tcp;
	struct event *timer;
	upstream_cb *cb;
	void *arg;
	struct upstream_query *prev, *next;
};

struct upstream {
	struct event_base *base;
	struct config_sockaddr servers[CONFIG_MAX_DNS_UPSTREAM];
	size_t n_servers;
	struct upstream_query *live;
	size_t n_live;
};

static uint32_t random_u32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		abort(); /* the kernel's CSPRNG failing is not something to carry on without */
	return v;
}

static void close_try(struct upstream_query *uq)
{
	if (uq->udp_ev != NULL) {
		event_free(uq->udp_ev);
		uq->udp_ev = NULL;
	}
	if (uq->fd >= 0) {
		close(uq->fd);
		uq->fd = -1;
	}
	if (uq->tcp != NULL) {
		bufferevent_free(uq->tcp);
		uq->tcp = NULL;
	}
	evtimer_del(uq->timer);
}

static void query_free(struct upstream_query *uq)
{
	struct upstream *u = uq->u;
	close_try(uq);
	event_free(uq->timer);
	if (uq->prev)
		uq->prev->next = uq->next;
	else
		u->live = uq->next;
	if (uq->next)
		uq->next->prev = uq->prev;
	u->n_live--;
	free(uq->pkt);
	free(uq);
}

/* The query ends: its handle is freed first, so the callback may do anything. */
static void finish(struct upstream_query *uq, const uint8_t *msg, size_t len)
{
	upstream_cb *cb = uq->cb;
	void *arg = uq->arg;
	query_free(uq);
	cb(arg, msg, len);
}

/* A reply must answer the try in flight: same ID, QR set, the same one question. */
static bool reply_matches(const struct upstream_query *uq, const uint8_t *msg, size_t len)
{
	struct dns_reader rd;
	struct dns_question q;
	if (dns_reader_init(&rd, msg, len) < 0 || rd.h.id != uq->id || !(rd.h.flags & DNS_FLAG_QR) ||
	    DNS_OPCODE(rd.h.flags) != 0 || rd.h.qdcount != 1 || dns_read_question(&rd, &q) < 0)
		return false;
	return strcmp(q.name, uq->q.name) == 0 && q.type == uq->q.type && q.qclass == uq->q.qclass;
}

static void new_id(struct upstream_query *uq)
{
	uq->id = (uint16_t)random_u32();
	uq->pkt[0] = (uint8_t)(uq->id >> 8);
	uq->pkt[1] = (uint8_t)uq->id;
}

/* A random port from 1024 up; after PORT_TRIES ports in use, the kernel's choice (also random). */
static int bind_random_port(int fd, int family)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	in_port_t *port = family == AF_INET ? &((struct sockaddr_in *)&ss)->sin_port
					    : &((struct sockaddr_in6 *)&ss)->sin6_port;
	for (int i = 0; i < PORT_TRIES; i++) {
		*port = htons((uint16_t)(PORT_FIRST + random_u32() % (65536 - PORT_FIRST)));
		if (bind(fd, (struct sockaddr *)&ss, len) == 0)
			return 0;
		if (errno != EADDRINUSE)
			break;
	}
	*port = 0;
	return bind(fd, (struct sockaddr *)&ss, len);
}

static void try_timeout(evutil_socket_t fd, short what, void *arg);
static void udp_readable(evutil_socket_t fd, short what, void *arg);

/* A UDP try: a new socket connected to the next server, so the kernel drops what other hosts send. */
static int udp_try(struct upstream_query *uq)
{
	const struct config_sockaddr *srv = &uq->srv;
	struct timeval tv = { UDP_TRY_SECONDS, 0 };
	close_try(uq);
	if (uq->u->n_servers == 0) /* the set was emptied since the query began */
		return -1;
	uq->srv = uq->u->servers[uq->server % uq->u->n_servers];
	uq->state = TRY_UDP;
	uq->tries++;
	new_id(uq);
	uq->fd = socket(srv->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (uq->fd < 0 || bind_random_port(uq->fd, srv->ss.ss_family) < 0 ||
	    connect(uq->fd, (const struct sockaddr *)&srv->ss, srv->len) < 0)
		return -1;
	uq->udp_ev = event_new(uq->u->base, uq->fd, EV_READ | EV_PERSIST, udp_readable, uq);
	if (uq->udp_ev == NULL || event_add(uq->udp_ev, NULL) < 0)
		return -1;
	stats_bump(STAT_DNS_FORWARDED);
	send(uq->fd, uq->pkt, uq->len, 0); /* a lost datagram is a try that times out */
	evtimer_add(uq->timer, &tv);
	return 0;
}

static void next_try(struct upstream_query *uq)
{
	uq->server++;
	if (uq->tries >= MAX_TRIES || udp_try(uq) < 0)
		finish(uq, NULL, 0);
}

static void try_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_query *uq = arg;
	(void)fd;
	(void)what;
	stats_bump(STAT_DNS_TIMEOUTS);
	if (uq->state == TRY_TCP)
		finish(uq, NULL, 0);
	else
		next_try(uq);
}

static void tcp_read(struct bufferevent *bev, void *arg)
{
	struct upstream_query *uq = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t l[2], msg[DNS_MSG_MAX];
	if (evbuffer_copyout(in, l, 2) < 2)
		return;
	size_t len = (size_t)l[0] << 8 | l[1];
	if (evbuffer_get_length(in) < len + 2)
		return;
	evbuffer_drain(in, 2);
	evbuffer_remove(in, msg, len);
	if (!reply_matches(uq, msg, len)) {
		stats_bump(STAT_DNS_UPSTREAM_MALFORMED);
		finish(uq, NULL, 0);
		return;
	}
	finish(uq, msg, len);
}

static void tcp_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	finish(arg, NULL, 0);
}

/* The server truncated its reply: the same question over TCP to it, with a new ID. */
static void tcp_try(struct upstream_query *uq)
{
	const struct config_sockaddr *srv = &uq->srv;
	struct timeval tv = { TCP_TRY_SECONDS, 0 };
	uint8_t l[2] = { (uint8_t)(uq->len >> 8), (uint8_t)uq->len };
	close_try(uq);
	uq->state = TRY_TCP;
	new_id(uq);
	uq->tcp = bufferevent_socket_new(uq->u->base, -1, BEV_OPT_CLOSE_ON_FREE);
	/* The callbacks are set after connect: a connect that fails at once is reported by its
	 * return value alone, never also through tcp_event. */
	if (uq->tcp == NULL || bufferevent_socket_connect(uq->tcp, (const struct sockaddr *)&srv->ss, (int)srv->len) < 0) {
		finish(uq, NULL, 0);
		return;
	}
	bufferevent_setcb(uq->tcp, tcp_read, NULL, tcp_event, uq);
	bufferevent_setwatermark(uq->tcp, EV_READ, 0, DNS_MSG_MAX + 2);
	bufferevent_write(uq->tcp, l, 2);
	bufferevent_write(uq->tcp, uq->pkt, uq->len);
	bufferevent_enable(uq->tcp, EV_READ);
	evtimer_add(uq->timer, &tv);
}

static void udp_readable(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_query *uq = arg;
	uint8_t msg[DNS_MSG_MAX];
	(void)what;
	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = recv(fd, msg, sizeof(msg), 0);
		if (n < 0) {
			if (errno == ECONNREFUSED) /* the server's port is closed: no use waiting */
				next_try(uq);
			return;
		}
		if (!reply_matches(uq, msg, (size_t)n)) {
			stats_bump(STAT_DNS_UPSTREAM_MALFORMED);
			continue;
		}
		if (msg[2] & (DNS_FLAG_TC >> 8))
			tcp_try(uq);
		else
			finish(uq, msg, (size_t)n);
		return;
	}
}

struct upstream_query *upstream_send(struct upstream *u, const uint8_t *pkt, size_t len, const struct dns_question *q,
				     upstream_cb *cb, void *arg)
{
	struct upstream_query *uq;
	if (u->n_live >= UPSTREAM_MAX_QUERIES || u->n_servers == 0 || len < 12 ||
	    (uq = calloc(1, sizeof(*uq))) == NULL)
		return NULL;
	uq->u = u;
	uq->fd = -1;
	uq->q = *q;
	uq->cb = cb;
	uq->arg = arg;
	uq->len = len;
	uq->pkt = malloc(len);
	uq->timer = evtimer_new(u->base, try_timeout, uq);
	if (uq->pkt == NULL || uq->timer == NULL) {
		if (uq->timer != NULL)
			event_free(uq->timer);
		free(uq->pkt);
		free(uq);
		return NULL;
	}
	memcpy(uq->pkt, pkt, len);
	uq->next = u->live;
	if (u->live)
		u->live->prev = uq;
	u->live = uq;
	u->n_live++;
	if (udp_try(uq) < 0) {
		query_free(uq);
		return NULL;
	}
	return uq;
}

void upstream_cancel(struct upstream_query *uq)
{
	query_free(uq);
}

size_t upstream_in_flight(const struct upstream *u)
{
	return u->n_live;
}

size_t upstream_servers(const struct upstream *u)
{
	return u->n_servers;
}

struct upstream *upstream_new(struct event_base *base)
{
	struct upstream *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return NULL;
	u->base = base;
	return u;
}

void upstream_set_servers(struct upstream *u, const struct config_sockaddr *servers, size_t n)
{
	u->n_servers = n < CONFIG_MAX_DNS_UPSTREAM ? n : CONFIG_MAX_DNS_UPSTREAM;
	if (u->n_servers > 0)
		memcpy(u->servers, servers, u->n_servers * sizeof(*servers));
}

void upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	for (struct upstream_query *uq = u->live, *next; uq != NULL; uq = next) {
		next = uq->next;
		query_free(uq);
	}
	free(u);
}
