/* SPDX-License-Identifier: ISC */
/* proxy: the transparent listener: the original destination of each redirected LAN connection,
 * the pool's onion name for it, a stream through Tor's SOCKS socket (or the warm one), and the
 * relay with back-pressure; an SMTP client that cannot be served gets a 421 line so its mail defers.
 * Bounds on what a LAN host controls, per stream: before the stream opens, nothing read (what it
 * sends waits in its socket; watched until LAN_EARLY_MAX bytes wait there) and proxy-connect-timeout
 * seconds (one that hangs up unheard frees its slot at once); open, RELAY_PIPE_BYTES buffered each
 * way and proxy-idle-timeout seconds without a byte (relay.c); refused, its 421 line in one send.
 * In all, proxy-max-streams streams (2 sockets each, and up to 4 pipe fds while relaying).
 * Memory: until the stream opens, the stream struct and the socksconn's (no bufferevent, no
 * buffer); then the stream struct and the relay's. */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event_struct.h>

#include "activity.h"
#include "listener.h"
#include "log.h"
#include "relay.h"
#include "socksconn.h"
#include "stats.h"
#include "warm.h"

#define LAN_EARLY_MAX (16 * 1024)
#define LISTEN_BACKLOG 128
/* What a LAN client sent before its stream opened is read and dropped, at most this many reads of
 * DRAIN_BYTES, when the stream ends then: its close is then a FIN (after a 421 line), not a reset. */
#define DRAIN_READS 16
#define DRAIN_BYTES 4096

/* SOCKS: waiting for the stream through Tor (the LAN socket is watched for a hang-up, not read);
 * RELAY: bytes both ways (relay.c holds both sockets). A refusal ends the stream at once. */
enum stream_state { STREAM_SOCKS, STREAM_RELAY };

struct stream {
	struct proxy *p;
	enum stream_state state;
	int lan;                /* until STREAM_RELAY, then -1 */
	struct event lan_watch; /* STREAM_SOCKS: the LAN socket's hang-up */
	struct relay *relay;    /* STREAM_RELAY */
	struct socksconn *sc;   /* STREAM_SOCKS */
	const struct pool_entry *entry;
	char dst[INET6_ADDRSTRLEN + 8];
	char lan_addr[INET6_ADDRSTRLEN + 8]; /* the LAN client, "addr:port" */
	uint16_t port;
	uint64_t up, down;
	bool counted; /* activity_stream_begin was called: end it once */
	time_t started;
	struct timespec t0; /* the LAN connect, monotonic: connect-to-first-byte */
	struct event timer; /* the connect timeout */
	struct stream *prev, *next;
};

struct proxy {
	struct event_base *base;
	const struct config *cfg;
	struct pool *pool;
	struct control *control;
	struct activity *activity;
	struct warm *warm;
	struct sockaddr_un socks;
	struct listener *listeners[2];
	struct stream *streams;
	size_t n_streams;
	bool stopping;
	struct mxupgrade *upgrade;
};

/* The LAN socket of a stream that ends before relaying. */
static void close_lan(int fd)
{
	char sink[DRAIN_BYTES];
	for (int i = 0; i < DRAIN_READS && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	close(fd);
}

static void stream_free(struct stream *s)
{
	struct proxy *p = s->p;
	if (s->state == STREAM_RELAY)
		log_info("stream %s -> %s:%u closed: %llu bytes up, %llu down, %lld s", s->dst,
			 s->entry ? s->entry->name : "?", s->port, (unsigned long long)s->up, (unsigned long long)s->down,
			 (long long)(time(NULL) - s->started));
	if (s->counted)
		activity_stream_end(p->activity, s->entry->name, s->up, s->down);
	if (s->entry != NULL)
		pool_release(p->pool, s->entry);
	socksconn_free(s->sc);
	relay_free(s->relay);
	event_del(&s->lan_watch);
	if (s->lan >= 0)
		close_lan(s->lan);
	event_del(&s->timer);
	if (s->prev)
		s->prev->next = s->next;
	else
		p->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	p->n_streams--;
	free(s);
}

static uint64_t ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

/* Why a SOCKS connect failed, for the activity record. */
static enum activity_reason socks_failure(const struct socksconn *sc)
{
	int reply = socksconn_reply(sc);
	return reply < 0 ? AR_SOCKS_UNREACHABLE : activity_reason_of_socks(reply);
}

static bool is_smtp_port(uint16_t port)
{
	return port == 25 || port == 587;
}

/* The 421 line, in one send: nothing was sent to the client before, so its socket's send buffer
 * takes the whole line (or the client is gone). */
static void send_refusal(int fd, const char *status, const char *name, const char *reason)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "421 %s %s: %s\r\n", status, name, reason);
	send(fd, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Ends the stream: SMTP ports first get "421 <status> <name>: <reason>" (the mail defers). */
static void refuse(struct stream *s, enum activity_reason why, const char *status, const char *reason)
{
	const char *name = s->entry ? s->entry->name : s->dst;
	stats_bump(STAT_PROXY_REFUSED);
	activity_stream_failed(s->p->activity, s->entry ? s->entry->name : NULL, why, time(NULL));
	log_notice("stream %s -> %s:%u refused: %s", s->dst, name, s->port, reason);
	if (is_smtp_port(s->port))
		send_refusal(s->lan, status, name, reason);
	stream_free(s);
}

/* ---- relay ---- */

static void relay_moved(void *arg, enum relay_way way, size_t n)
{
	struct stream *s = arg;
	if (way == RELAY_A_TO_B) {
		s->up += n;
		stats_add(STAT_PROXY_BYTES_UP, n);
		return;
	}
	if (s->down == 0)
		activity_first_byte(s->p->activity, ms_since(&s->t0));
	s->down += n;
	stats_add(STAT_PROXY_BYTES_DOWN, n);
}

static void relay_ended(void *arg, enum relay_end why)
{
	struct stream *s = arg;
	if (why == RELAY_IDLE)
		log_info("stream %s -> %s:%u idle for %lld s", s->dst, s->entry->name, s->port,
			 (long long)s->p->cfg->proxy_idle_timeout);
	stream_free(s);
}

static const struct relay_cbs relay_cbs = { relay_moved, relay_ended };

/* The stream through Tor is open: relay.c takes both sockets (a: the LAN, b: Tor, bare, or the warm
 * stream's bufferevent with what the onion sent ahead); what either side sent ahead goes across
 * first, a LAN half-close after it. */
static void start_relay(struct stream *s, int tor_fd, struct bufferevent *warm_tor)
{
	unsigned flags = is_smtp_port(s->port) ? RELAY_SMTP_CLIENT : 0;
	struct bufferevent *lan = NULL;
	event_del(&s->lan_watch);
	if (warm_tor != NULL && (lan = bufferevent_socket_new(s->p->base, s->lan, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		bufferevent_free(warm_tor);
		refuse(s, AR_SOCKS_UNREACHABLE, "4.3.0", "no memory for the stream");
		return;
	}
	s->state = STREAM_RELAY;
	stats_bump(STAT_PROXY_STREAMS);
	activity_stream_opened(s->p->activity, s->entry->name, time(NULL));
	log_info("stream %s -> %s:%u open after %lld s", s->dst, s->entry->name, socksconn_dial_port(s->entry, s->port),
		 (long long)(time(NULL) - s->started));
	evtimer_del(&s->timer);
	time_t idle = s->p->cfg->proxy_idle_timeout;
	s->relay = warm_tor != NULL ? relay_new(s->p->base, lan, warm_tor, flags, idle, &relay_cbs, s)
				    : relay_new_fds(s->p->base, s->lan, tor_fd, flags, idle, &relay_cbs, s);
	s->lan = -1;
	if (s->relay == NULL) {
		log_warn("stream %s -> %s:%u: cannot relay: %s", s->dst, s->entry->name, s->port, strerror(errno));
		stream_free(s);
	}
}

/* ---- waiting for the stream through Tor ---- */

/* The LAN socket changed while the stream waits (edge-triggered: bytes came, or its EOF or reset).
 * Bytes are left in the socket for the relay, and watched until LAN_EARLY_MAX wait there; a
 * half-close after a request is kept (the request goes across once the stream opens). A client
 * that hung up or reset before sending anything is gone: its slot is freed now, not at the
 * connect timeout. */
static void lan_changed(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	char c;
	int waiting = 0;
	(void)what;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if (ioctl(fd, FIONREAD, &waiting) < 0 || waiting < LAN_EARLY_MAX)
			return;
		event_del(&s->lan_watch);
		stats_bump(STAT_PROXY_LAN_EARLY_CAPPED);
		log_info("stream %s -> %s:%u: %d bytes from the LAN before the stream opened: not watching more",
			 s->dst, s->entry->name, s->port, LAN_EARLY_MAX);
		return;
	}
	stats_bump(STAT_PROXY_LAN_LEFT_EARLY);
	log_info("stream %s -> %s:%u: the LAN client left before the stream opened (%lld s)", s->dst, s->entry->name,
		 s->port, (long long)(time(NULL) - s->started));
	stream_free(s);
}

static void socks_done(struct socksconn *sc, bool open, void *arg)
{
	struct stream *s = arg;
	const char *status, *reason;
	if (!open && s->p->stopping) {
		refuse(s, AR_SHUTTING_DOWN, "4.3.2", "the gateway is shutting down");
		return;
	}
	if (!open) {
		reason = socksconn_reason(sc, &status);
		refuse(s, socks_failure(sc), status, reason);
		return;
	}
	s->sc = NULL;
	start_relay(s, socksconn_take(sc), NULL);
}

static void connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	(void)fd;
	(void)what;
	refuse(s, AR_TIMEOUT, "4.4.1", "timed out reaching the onion service");
}

static void await_socks(struct stream *s)
{
	struct timeval tv = { s->p->cfg->proxy_connect_timeout, 0 };
	s->state = STREAM_SOCKS;
	event_add(&s->lan_watch, NULL);
	evtimer_add(&s->timer, &tv);
}

/* A LAN connection takes over the warm stream to its destination, ready or still under way. */
static bool take_warm(struct stream *s)
{
	struct bufferevent *tor;
	enum warm_handover h = warm_take(s->p->warm, s->entry, s->port, socks_done, s, &s->sc, &tor);
	if (h == WARM_NONE)
		return false;
	log_info("stream %s -> %s:%u takes the warm stream (%s)", s->dst, s->entry->name, s->port,
		 h == WARM_OPEN ? "ready" : "still connecting");
	if (h == WARM_OPEN)
		start_relay(s, -1, tor);
	else
		await_socks(s);
	return true;
}

static void begin_socks(struct stream *s)
{
	struct proxy *p = s->p;
	char reason[96];
	s->sc = socksconn_new(p->base, &p->socks, s->entry->name, socksconn_dial_port(s->entry, s->port), socks_done, s);
	if (s->sc == NULL) {
		snprintf(reason, sizeof(reason), "cannot reach Tor's SOCKS socket (%s)", strerror(errno));
		refuse(s, AR_SOCKS_UNREACHABLE, "4.4.2", reason);
		return;
	}
	await_socks(s);
}

/* ---- accepting ---- */

static int original_destination(int fd, int family, uint8_t addr[16], uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (family == AF_INET) {
		if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len) < 0)
			return -1;
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		memcpy(addr, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return 4;
	}
	if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len) < 0)
		return -1;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	*port = ntohs(sin6->sin6_port);
	/* An IPv4 destination seen through an IPv6 socket is an IPv4 one from here on. */
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(addr, sin6->sin6_addr.s6_addr + 12, 4);
		return 4;
	}
	memcpy(addr, &sin6->sin6_addr, 16);
	return 16;
}

static const struct pool_entry *destination_entry(struct proxy *p, int alen, const uint8_t *addr)
{
	if (alen == 4)
		return pool_contains_ip4(p->pool, addr) ? pool_lookup_ip4(p->pool, addr) : NULL;
	return pool_contains_ip6(p->pool, addr) ? pool_lookup_ip6(p->pool, addr) : NULL;
}

/* mx-mode upgrade: port 25 of a real MX address the upgrade table sends to an onion MX. */
static const struct pool_entry *upgrade_entry(struct proxy *p, int alen, const uint8_t *addr, uint16_t port)
{
	struct timespec ts;
	const struct upgrade_target *t;
	const struct pool_entry *e;
	if (p->upgrade == NULL || port != 25)
		return NULL;
	if ((t = mxupgrade_lookup(p->upgrade, alen == 4 ? AF_INET : AF_INET6, addr)) == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((e = pool_map(p->pool, t->host, ts.tv_sec, p->cfg->onion_ttl)) == NULL)
		return NULL;
	pool_set_smtp_port(p->pool, e, t->port);
	stats_bump(STAT_UPGRADE_STREAMS);
	return e;
}

/* Without an embedded Tor (socks-server), the external SOCKS server is taken as ready. */
static bool tor_ready(const struct proxy *p)
{
	return p->control == NULL || control_ready(p->control);
}

static void begin(struct stream *s)
{
	struct proxy *p = s->p;
	char progress[64];
	if (p->stopping) {
		refuse(s, AR_SHUTTING_DOWN, "4.3.2", "the gateway is shutting down");
		return;
	}
	if (p->n_streams > p->cfg->proxy_max_streams) {
		refuse(s, AR_TOO_MANY_STREAMS, "4.4.2", "too many streams through the gateway");
		return;
	}
	if (s->entry == NULL) {
		refuse(s, AR_NO_MAPPING, "4.4.1", "no onion name is known for this address");
		return;
	}
	if (!tor_ready(p)) {
		snprintf(progress, sizeof(progress), "Tor is not ready (bootstrap %d%%)", control_progress(p->control));
		refuse(s, AR_TOR_NOT_READY, "4.4.1", progress);
		return;
	}
	if (take_warm(s))
		return;
	begin_socks(s);
}

static struct stream *stream_new(struct proxy *p, int fd)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->p = p;
	s->lan = fd;
	s->started = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	s->next = p->streams;
	if (p->streams)
		p->streams->prev = s;
	p->streams = s;
	p->n_streams++;
	evtimer_assign(&s->timer, p->base, connect_timeout, s);
	event_assign(&s->lan_watch, p->base, fd, EV_READ | EV_PERSIST | EV_ET, lan_changed, s);
	return s;
}

/* "192.0.2.10:41234", "[fd00::10]:41234" */
static void format_peer(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(sin->sin_port));
		return;
	}
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		inet_ntop(AF_INET, sin6->sin6_addr.s6_addr + 12, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(sin6->sin6_port));
		return;
	}
	inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
	snprintf(out, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
}

static void accept_cb(evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct proxy *p = arg;
	struct stream *s = stream_new(p, fd);
	uint8_t addr[16];
	int one = 1, alen;
	(void)salen;
	if (s == NULL) {
		close(fd);
		return;
	}
	format_peer(sa, s->lan_addr, sizeof(s->lan_addr));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	alen = original_destination(fd, sa->sa_family, addr, &s->port);
	if (alen < 0) {
		snprintf(s->dst, sizeof(s->dst), "(not redirected)");
		refuse(s, AR_NOT_REDIRECTED, "4.4.1", "not a redirected connection");
		return;
	}
	inet_ntop(alen == 4 ? AF_INET : AF_INET6, addr, s->dst, sizeof(s->dst));
	s->entry = destination_entry(p, alen, addr);
	if (s->entry == NULL)
		s->entry = upgrade_entry(p, alen, addr, s->port);
	if (s->entry != NULL) {
		pool_hold(p->pool, s->entry);
		activity_stream_begin(p->activity, s->entry->name);
		s->counted = true;
	}
	begin(s);
}

struct proxy *proxy_new(struct event_base *base, const struct config *cfg, struct pool *pool, struct control *control,
			struct onionmap *map, struct activity *activity, const char *socks_path)
{
	struct proxy *p = calloc(1, sizeof(*p));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(cfg->transparent_port) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(cfg->transparent_port),
				     .sin6_addr = IN6ADDR_ANY_INIT };
	if (p == NULL)
		return NULL;
	p->base = base;
	p->cfg = cfg;
	p->pool = pool;
	p->control = control;
	p->activity = activity;
	p->socks.sun_family = AF_UNIX;
	snprintf(p->socks.sun_path, sizeof(p->socks.sun_path), "%s", socks_path);
	if ((p->warm = warm_new(base, cfg, pool, control, map, &p->socks)) == NULL) {
		free(p);
		return NULL;
	}
	p->listeners[0] = listener_new(base, "proxy", (struct sockaddr *)&sin, sizeof(sin), LISTEN_BACKLOG, accept_cb, p);
	if (p->listeners[0] == NULL) {
		log_err("proxy: cannot listen on port %u: %s", cfg->transparent_port, strerror(errno));
		proxy_free(p);
		return NULL;
	}
	p->listeners[1] = listener_new(base, "proxy", (struct sockaddr *)&sin6, sizeof(sin6), LISTEN_BACKLOG, accept_cb, p);
	if (p->listeners[1] == NULL)
		log_notice("proxy: no IPv6 listener on port %u: %s", cfg->transparent_port, strerror(errno));
	log_notice("proxy: transparent port %u", cfg->transparent_port);
	return p;
}

void proxy_set_upgrade(struct proxy *p, struct mxupgrade *u)
{
	p->upgrade = u;
}

void proxy_warm(struct proxy *p, const struct pool_entry *e, uint16_t port)
{
	warm_open(p->warm, e, port);
}

void proxy_reconfigure(struct proxy *p, const struct config *cfg)
{
	p->cfg = cfg;
	warm_reconfigure(p->warm, cfg);
	for (struct stream *s = p->streams; s != NULL; s = s->next)
		if (s->relay != NULL)
			relay_set_idle(s->relay, cfg->proxy_idle_timeout);
}

void proxy_stop(struct proxy *p)
{
	p->stopping = true;
	warm_stop(p->warm);
}

size_t proxy_streams(const struct proxy *p)
{
	return p != NULL ? p->n_streams : 0;
}

static const char *state_name(enum stream_state st)
{
	switch (st) {
	case STREAM_SOCKS:
		return "connecting";
	case STREAM_RELAY:
		return "relaying";
	}
	return "?";
}

size_t proxy_each_stream(const struct proxy *p, void (*fn)(const struct proxy_stream_info *i, void *arg), void *arg)
{
	size_t n = 0;
	time_t now = time(NULL);
	for (const struct stream *s = p != NULL ? p->streams : NULL; s != NULL; s = s->next, n++) {
		struct proxy_stream_info i = {
			.lan = s->lan_addr,
			.dst = s->dst,
			.onion = s->entry != NULL ? s->entry->name : "",
			.port = s->entry != NULL ? socksconn_dial_port(s->entry, s->port) : s->port,
			.age = now - s->started,
			.up = s->up,
			.down = s->down,
			.state = state_name(s->state),
		};
		fn(&i, arg);
	}
	return n;
}

void proxy_free(struct proxy *p)
{
	if (p == NULL)
		return;
	for (struct stream *s = p->streams, *next; s != NULL; s = next) {
		next = s->next;
		/* stream_free and relay_free close their sockets at once: the LAN client gets its FIN
		 * here, while the nft redirect translates it. */
		stream_free(s);
	}
	warm_free(p->warm);
	for (int i = 0; i < 2; i++)
		listener_free(p->listeners[i]);
	free(p);
}
