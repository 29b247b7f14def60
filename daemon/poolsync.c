/* SPDX-License-Identifier: ISC */
/* poolsync: tells the pool-peer gateways of each new pool mapping by asking them "A <name>" (their
 * own DNS path makes the same mapping there); a bounded queue, a rate per peer, no retries. */
#include "poolsync.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsmsg.h"
#include "log.h"
#include "stats.h"

/* One UDP socket per address family the peers use: its read event drops the replies. */
struct family_socket {
	int fd; /* -1: none */
	struct event *ev;
};

struct poolsync {
	struct event_base *base;
	struct pool *pool;
	struct config_sockaddr peers[CONFIG_MAX_POOL_PEERS];
	size_t n_peers;
	struct family_socket v4, v6;
	char queue[POOLSYNC_QUEUE_MAX][ONION_NAME_LEN + 1]; /* a ring */
	size_t head, len;
	time_t second;      /* the monotonic second sent_this_second counts in */
	unsigned sent_this_second;
	struct event *flush; /* sends what the rate allows, then waits for the next second */
};

static time_t monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Reads at most POOLSYNC_RATE datagrams a wakeup (a flood waits for the next); counts the replies. */
static void on_reply(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[DNS_UDP_MIN];
	ssize_t n;
	(void)what;
	(void)arg;
	for (int i = 0; i < POOLSYNC_RATE && (n = recv(fd, buf, sizeof(buf), 0)) >= 0; i++)
		if (n >= 12 && (buf[2] & 0x80) != 0) /* a DNS header with QR set */
			stats_bump(STAT_POOLSYNC_REPLIES);
}

static void close_socket(struct family_socket *s)
{
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->fd >= 0)
		close(s->fd);
	s->ev = NULL;
	s->fd = -1;
}

static void open_socket(struct poolsync *ps, struct family_socket *s, int family)
{
	if (s->fd >= 0)
		return;
	if ((s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("pool-peer: cannot open a UDP socket: %s", strerror(errno));
		return;
	}
	if ((s->ev = event_new(ps->base, s->fd, EV_READ | EV_PERSIST, on_reply, ps)) == NULL ||
	    event_add(s->ev, NULL) < 0) {
		log_warn("pool-peer: out of memory");
		close_socket(s);
	}
}

static struct family_socket *socket_for(struct poolsync *ps, int family)
{
	return family == AF_INET ? &ps->v4 : &ps->v6;
}

static void send_query(struct poolsync *ps, const struct config_sockaddr *peer, const char *name)
{
	uint8_t pkt[DNS_UDP_MIN];
	uint16_t id;
	struct dns_writer w;
	struct family_socket *s = socket_for(ps, peer->ss.ss_family);
	if (s->fd < 0 || getrandom(&id, sizeof(id), 0) != sizeof(id)) {
		stats_bump(STAT_POOLSYNC_DROPPED);
		return;
	}
	dns_writer_init(&w, pkt, sizeof(pkt));
	dns_write_header(&w, &(struct dns_header){ .id = id, .qdcount = 1 }); /* RD=0: the peer answers itself */
	dns_write_question(&w, name, DNS_TYPE_A);
	if (w.overflow || sendto(s->fd, pkt, w.len, 0, (const struct sockaddr *)&peer->ss, peer->len) < 0)
		stats_bump(STAT_POOLSYNC_DROPPED);
	else
		stats_bump(STAT_POOLSYNC_SENT);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct poolsync *ps = arg;
	time_t now = monotonic_seconds();
	(void)fd;
	(void)what;
	if (now != ps->second) {
		ps->second = now;
		ps->sent_this_second = 0;
	}
	for (; ps->len > 0 && ps->sent_this_second < POOLSYNC_RATE; ps->sent_this_second++) {
		for (size_t i = 0; i < ps->n_peers; i++)
			send_query(ps, &ps->peers[i], ps->queue[ps->head]);
		ps->head = (ps->head + 1) % POOLSYNC_QUEUE_MAX;
		ps->len--;
	}
	if (ps->len > 0)
		evtimer_add(ps->flush, &(struct timeval){ .tv_sec = 1 });
}

static void on_new_entry(void *arg, const struct pool_entry *e)
{
	struct poolsync *ps = arg;
	if (ps->n_peers == 0)
		return;
	if (ps->len == POOLSYNC_QUEUE_MAX) {
		stats_bump(STAT_POOLSYNC_DROPPED);
		return;
	}
	memcpy(ps->queue[(ps->head + ps->len) % POOLSYNC_QUEUE_MAX], e->name, sizeof(e->name));
	ps->len++;
	if (!evtimer_pending(ps->flush, NULL))
		evtimer_add(ps->flush, &(struct timeval){ 0 });
}

void poolsync_reconfigure(struct poolsync *ps, const struct config *cfg)
{
	bool v4 = false, v6 = false;
	ps->n_peers = cfg->n_pool_peers;
	if (ps->n_peers > 0)
		memcpy(ps->peers, cfg->pool_peers, ps->n_peers * sizeof(ps->peers[0]));
	for (size_t i = 0; i < ps->n_peers; i++) {
		v4 |= ps->peers[i].ss.ss_family == AF_INET;
		v6 |= ps->peers[i].ss.ss_family == AF_INET6;
	}
	if (v4)
		open_socket(ps, &ps->v4, AF_INET);
	else
		close_socket(&ps->v4);
	if (v6)
		open_socket(ps, &ps->v6, AF_INET6);
	else
		close_socket(&ps->v6);
}

struct poolsync *poolsync_new(struct event_base *base, struct pool *pool, const struct config *cfg)
{
	struct poolsync *ps = calloc(1, sizeof(*ps));
	if (ps == NULL)
		return NULL;
	ps->base = base;
	ps->pool = pool;
	ps->v4.fd = ps->v6.fd = -1;
	if ((ps->flush = evtimer_new(base, on_flush, ps)) == NULL) {
		free(ps);
		return NULL;
	}
	poolsync_reconfigure(ps, cfg);
	pool_on_new_entry(pool, on_new_entry, ps);
	return ps;
}

void poolsync_free(struct poolsync *ps)
{
	if (ps == NULL)
		return;
	pool_on_new_entry(ps->pool, NULL, NULL);
	close_socket(&ps->v4);
	close_socket(&ps->v6);
	event_free(ps->flush);
	free(ps);
}
