/* proxy: the transparent listener: the original destination of each redirected LAN connection,
 * the pool's onion name for it, SOCKS5 to the embedded Tor, and the relay with back-pressure;
 * an SMTP client that cannot be served gets a 421 line so its mail defers. */
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
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "listener.h"
#include "log.h"
#include "onion.h"
#include "socks5.h"
#include "stats.h"

#define HIGH_WATER (256 * 1024)
#define LISTEN_BACKLOG 128

/* A warm-up stream is one opened before any LAN connection wants it (lan == NULL): SOCKS,
 * then WARM until a LAN connection adopts it, or QUITTING when nobody did in time. */
enum stream_state { STREAM_SOCKS, STREAM_WARM, STREAM_RELAY, STREAM_REFUSING, STREAM_QUITTING };

#define WARM_MAX 16
#define WARM_BUFFER (16 * 1024)
#define QUIT_SECONDS 5
#define HSFETCH_FIRST_SECONDS 5
#define HSFETCH_EVERY_SECONDS 900
#define HSFETCH_MAX 64

struct stream {
	struct proxy *p;
	enum stream_state state;
	struct bufferevent *lan, *tor;
	struct socks5 s5;
	const struct pool_entry *entry;
	char dst[INET6_ADDRSTRLEN + 8];
	uint16_t port;
	uint64_t up, down;
	bool lan_eof, tor_eof;
	bool warm;              /* opened by warm-up and not adopted yet */
	time_t started, last_active;
	struct event *timer;
	struct stream *prev, *next;
};

struct proxy {
	struct event_base *base;
	const struct config *cfg;
	struct pool *pool;
	struct control *control;
	struct sockaddr_un socks;
	struct listener *listeners[2];
	struct stream *streams;
	size_t n_streams;
	size_t n_warm;
	struct onionmap *map;
	struct event *hsfetch;
	bool stopping;
};

static void stream_free(struct stream *s)
{
	struct proxy *p = s->p;
	if (s->state == STREAM_RELAY)
		log_info("stream %s -> %s:%u closed: %llu bytes up, %llu down, %lld s", s->dst,
			 s->entry ? s->entry->name : "?", s->port, (unsigned long long)s->up, (unsigned long long)s->down,
			 (long long)(time(NULL) - s->started));
	if (s->entry != NULL)
		pool_release(p->pool, s->entry);
	if (s->lan)
		bufferevent_free(s->lan);
	if (s->tor)
		bufferevent_free(s->tor);
	if (s->timer)
		event_free(s->timer);
	if (s->prev)
		s->prev->next = s->next;
	else
		p->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	p->n_streams--;
	if (s->warm)
		p->n_warm--;
	free(s);
}

/* The onion's port: an SMTP connection goes where the MX answer said the onion MX listens. */
static uint16_t onion_port(const struct stream *s)
{
	return s->port == 25 && s->entry->smtp_port != 0 ? s->entry->smtp_port : s->port;
}

static bool is_smtp_port(uint16_t port)
{
	return port == 25 || port == 587;
}

static void refused_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	stream_free(arg);
}

static void refused_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	stream_free(arg);
}

/* Ends the stream: SMTP ports first get "421 <status> <name>: <reason>" (the mail defers). */
static void refuse(struct stream *s, const char *status, const char *reason)
{
	const char *name = s->entry ? s->entry->name : s->dst;
	stats_bump(STAT_PROXY_REFUSED);
	log_notice("stream %s -> %s:%u refused: %s", s->dst, name, s->port, reason);
	if (s->tor) {
		bufferevent_free(s->tor);
		s->tor = NULL;
	}
	if (!is_smtp_port(s->port) || s->lan == NULL) {
		stream_free(s);
		return;
	}
	s->state = STREAM_REFUSING;
	evtimer_del(s->timer);
	bufferevent_disable(s->lan, EV_READ);
	bufferevent_setcb(s->lan, NULL, refused_written, refused_event, s);
	evbuffer_add_printf(bufferevent_get_output(s->lan), "421 %s %s: %s\r\n", status, name, reason);
	bufferevent_enable(s->lan, EV_WRITE);
}

/* ---- relay ---- */

static struct bufferevent *peer_of(struct stream *s, struct bufferevent *bev)
{
	return bev == s->lan ? s->tor : s->lan;
}

static void shut_if_drained(struct stream *s, struct bufferevent *to, bool from_eof)
{
	if (from_eof && evbuffer_get_length(bufferevent_get_output(to)) == 0)
		shutdown(bufferevent_getfd(to), SHUT_WR);
	if (s->lan_eof && s->tor_eof && evbuffer_get_length(bufferevent_get_output(s->lan)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(s->tor)) == 0)
		stream_free(s);
}

static void relay_read(struct bufferevent *bev, void *arg)
{
	struct stream *s = arg;
	struct bufferevent *to = peer_of(s, bev);
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);
	if (bev == s->lan) {
		s->up += n;
		stats_add(STAT_PROXY_BYTES_UP, n);
	} else {
		s->down += n;
		stats_add(STAT_PROXY_BYTES_DOWN, n);
	}
	s->last_active = time(NULL);
	evbuffer_add_buffer(bufferevent_get_output(to), in);
	if (evbuffer_get_length(bufferevent_get_output(to)) >= HIGH_WATER)
		bufferevent_disable(bev, EV_READ);
}

static void relay_written(struct bufferevent *bev, void *arg)
{
	struct stream *s = arg;
	struct bufferevent *from = peer_of(s, bev);
	bool from_eof = from == s->lan ? s->lan_eof : s->tor_eof;
	if (!from_eof)
		bufferevent_enable(from, EV_READ);
	shut_if_drained(s, bev, from_eof);
}

static void relay_event(struct bufferevent *bev, short what, void *arg)
{
	struct stream *s = arg;
	if (what & BEV_EVENT_EOF) {
		struct bufferevent *to = peer_of(s, bev);
		if (bev == s->lan)
			s->lan_eof = true;
		else
			s->tor_eof = true;
		bufferevent_disable(bev, EV_READ);
		shut_if_drained(s, to, true);
		return;
	}
	stream_free(s);
}

static void idle_check(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	time_t idle = s->p->cfg->proxy_idle_timeout;
	struct timeval tv = { idle, 0 };
	(void)fd;
	(void)what;
	if (time(NULL) - s->last_active >= idle) {
		log_info("stream %s -> %s:%u idle for %lld s", s->dst, s->entry->name, s->port, (long long)idle);
		stream_free(s);
		return;
	}
	evtimer_add(s->timer, &tv);
}

static void start_relay(struct stream *s)
{
	struct timeval tv = { s->p->cfg->proxy_idle_timeout, 0 };
	s->state = STREAM_RELAY;
	s->last_active = time(NULL);
	stats_bump(STAT_PROXY_STREAMS);
	log_info("stream %s -> %s:%u open after %lld s", s->dst, s->entry->name, onion_port(s),
		 (long long)(time(NULL) - s->started));
	evtimer_del(s->timer);
	evtimer_assign(s->timer, s->p->base, idle_check, s);
	evtimer_add(s->timer, &tv);
	bufferevent_setcb(s->lan, relay_read, relay_written, relay_event, s);
	bufferevent_setcb(s->tor, relay_read, relay_written, relay_event, s);
	bufferevent_setwatermark(s->lan, EV_WRITE, HIGH_WATER / 2, 0);
	bufferevent_setwatermark(s->tor, EV_WRITE, HIGH_WATER / 2, 0);
	bufferevent_enable(s->lan, EV_READ | EV_WRITE);
	bufferevent_enable(s->tor, EV_READ | EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_input(s->tor)) > 0)
		relay_read(s->tor, s);
}

/* ---- warm-up: streams opened when the DNS hands out an onion MX ---- */

static void quit_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	stream_free(arg);
}

static void quit_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	stream_free(arg);
}

static void quit_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stream_free(arg);
}

/* Nobody came for it: an SMTP peer gets its banner read and a QUIT; others just a close. */
static void warm_expired(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	struct timeval tv = { QUIT_SECONDS, 0 };
	(void)fd;
	(void)what;
	log_info("warm stream to %s:%u unclaimed: ending it", s->entry->name, s->port);
	if (!is_smtp_port(s->port)) {
		stream_free(s);
		return;
	}
	s->state = STREAM_QUITTING;
	evbuffer_drain(bufferevent_get_input(s->tor), evbuffer_get_length(bufferevent_get_input(s->tor)));
	bufferevent_setcb(s->tor, quit_read, NULL, quit_event, s);
	bufferevent_enable(s->tor, EV_READ);
	bufferevent_write(s->tor, "QUIT\r\n", 6);
	evtimer_assign(s->timer, s->p->base, quit_timeout, s);
	evtimer_add(s->timer, &tv);
}

static void warm_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_input(bev)) >= WARM_BUFFER)
		bufferevent_disable(bev, EV_READ);
}

static void warm_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	stream_free(arg);
}

static void hold_warm(struct stream *s)
{
	struct timeval tv = { s->p->cfg->warm_up_hold, 0 };
	s->state = STREAM_WARM;
	log_info("warm stream to %s:%u ready after %lld s", s->entry->name, s->port, (long long)(time(NULL) - s->started));
	bufferevent_setcb(s->tor, warm_read, NULL, warm_event, s);
	bufferevent_enable(s->tor, EV_READ);
	evtimer_del(s->timer);
	evtimer_assign(s->timer, s->p->base, warm_expired, s);
	evtimer_add(s->timer, &tv);
}

static struct stream *find_warm(struct proxy *p, const struct pool_entry *e, uint16_t port)
{
	for (struct stream *s = p->streams; s != NULL; s = s->next)
		if (s->warm && s->entry == e && s->port == port &&
		    (s->state == STREAM_SOCKS || s->state == STREAM_WARM))
			return s;
	return NULL;
}

/* A LAN connection takes over the warm stream to its destination, ready or still under way. */
static bool adopt_warm(struct stream *s)
{
	struct stream *w = find_warm(s->p, s->entry, s->port);
	if (w == NULL)
		return false;
	stats_bump(STAT_PROXY_WARM_USED);
	w->lan = s->lan;
	s->lan = NULL;
	w->warm = false;
	s->p->n_warm--;
	memcpy(w->dst, s->dst, sizeof(w->dst));
	log_info("stream %s -> %s:%u takes the warm stream (%s)", w->dst, w->entry->name, w->port,
		 w->state == STREAM_WARM ? "ready" : "still connecting");
	w->started = time(NULL);
	if (w->state == STREAM_WARM)
		start_relay(w);
	stream_free(s);
	return true;
}

/* ---- SOCKS5 to the embedded Tor ---- */

static void socks_send(struct stream *s)
{
	uint8_t buf[600];
	size_t n = socks5_request(&s->s5, buf, sizeof(buf));
	bufferevent_write(s->tor, buf, n);
}

static void socks_read(struct bufferevent *bev, void *arg)
{
	struct stream *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in), used;
	uint8_t *data = evbuffer_pullup(in, (ssize_t)len);
	switch (socks5_input(&s->s5, data, len, &used)) {
	case SOCKS5_NEED_MORE:
		evbuffer_drain(in, used);
		return;
	case SOCKS5_SEND:
		evbuffer_drain(in, used);
		socks_send(s);
		if (evbuffer_get_length(in) > 0)
			socks_read(bev, s);
		return;
	case SOCKS5_CONNECTED:
		evbuffer_drain(in, used);
		if (s->lan == NULL)
			hold_warm(s);
		else
			start_relay(s);
		return;
	case SOCKS5_ERROR:
		stats_bump(STAT_PROXY_SOCKS_ERRORS);
		refuse(s, socks5_smtp_status(s->s5.reply), socks5_reason(s->s5.reply));
		return;
	}
}

static void socks_event(struct bufferevent *bev, short what, void *arg)
{
	struct stream *s = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		socks_send(s);
		bufferevent_enable(s->tor, EV_READ);
		return;
	}
	refuse(s, "4.4.2", "no answer on Tor's SOCKS socket");
}

static void connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	(void)fd;
	(void)what;
	refuse(s, "4.4.1", "timed out reaching the onion service");
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
	memcpy(addr, &sin6->sin6_addr, 16);
	*port = ntohs(sin6->sin6_port);
	return 16;
}

static const struct pool_entry *destination_entry(struct proxy *p, int alen, const uint8_t *addr)
{
	if (alen == 4)
		return pool_contains_ip4(p->pool, addr) ? pool_lookup_ip4(p->pool, addr) : NULL;
	if (alen == 16 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr))
		return pool_contains_ip4(p->pool, addr + 12) ? pool_lookup_ip4(p->pool, addr + 12) : NULL;
	return pool_contains_ip6(p->pool, addr) ? pool_lookup_ip6(p->pool, addr) : NULL;
}

static void begin_socks(struct stream *s);

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
		refuse(s, "4.3.2", "the gateway is shutting down");
		return;
	}
	if (p->n_streams > p->cfg->proxy_max_streams) {
		refuse(s, "4.4.2", "too many streams through the gateway");
		return;
	}
	if (s->entry == NULL) {
		refuse(s, "4.4.1", "no onion name is known for this address");
		return;
	}
	if (!tor_ready(p)) {
		snprintf(progress, sizeof(progress), "Tor is not ready (bootstrap %d%%)", control_progress(p->control));
		refuse(s, "4.4.1", progress);
		return;
	}
	if (adopt_warm(s))
		return;
	begin_socks(s);
}

static void begin_socks(struct stream *s)
{
	struct proxy *p = s->p;
	struct timeval tv = { p->cfg->proxy_connect_timeout, 0 };
	/* Credentials per destination: streams to one onion share a circuit, others never do. */
	socks5_init(&s->s5, s->entry->name, onion_port(s), s->entry->name, "oniongate");
	s->tor = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->tor == NULL) {
		refuse(s, "4.4.2", "out of memory");
		return;
	}
	bufferevent_setcb(s->tor, socks_read, NULL, socks_event, s);
	evtimer_add(s->timer, &tv);
	if (bufferevent_socket_connect(s->tor, (struct sockaddr *)&p->socks, sizeof(p->socks)) < 0)
		refuse(s, "4.4.2", "cannot reach Tor's SOCKS socket");
}

static struct stream *stream_new(struct proxy *p)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->p = p;
	s->started = time(NULL);
	s->next = p->streams;
	if (p->streams)
		p->streams->prev = s;
	p->streams = s;
	p->n_streams++;
	s->timer = evtimer_new(p->base, connect_timeout, s);
	if (s->timer == NULL) {
		stream_free(s);
		return NULL;
	}
	return s;
}

void proxy_warm(struct proxy *p, const struct pool_entry *e, uint16_t port)
{
	struct stream *s;
	if (p->stopping || !p->cfg->warm_up || !tor_ready(p) || p->n_warm >= WARM_MAX || find_warm(p, e, port) != NULL)
		return;
	if ((s = stream_new(p)) == NULL)
		return;
	s->entry = e;
	s->port = port;
	s->warm = true;
	p->n_warm++;
	pool_hold(p->pool, e);
	snprintf(s->dst, sizeof(s->dst), "warm-up");
	stats_bump(STAT_PROXY_WARM_OPENED);
	log_info("warming a stream to %s:%u", e->name, port);
	begin_socks(s);
}

static void accept_cb(evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct proxy *p = arg;
	struct stream *s = stream_new(p);
	uint8_t addr[16];
	int one = 1, alen;
	(void)salen;
	if (s == NULL) {
		close(fd);
		return;
	}
	s->lan = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->lan == NULL) {
		close(fd);
		stream_free(s);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	alen = original_destination(fd, sa->sa_family, addr, &s->port);
	if (alen < 0) {
		snprintf(s->dst, sizeof(s->dst), "(not redirected)");
		refuse(s, "4.4.1", "not a redirected connection");
		return;
	}
	inet_ntop(alen == 4 ? AF_INET : AF_INET6, addr, s->dst, sizeof(s->dst));
	s->entry = destination_entry(p, alen, addr);
	if (s->entry != NULL)
		pool_hold(p->pool, s->entry);
	begin(s);
}

static void fetched(const struct ctl_reply *r, void *arg)
{
	(void)arg;
	if (r != NULL && r->code != 250)
		log_warn("warm-up: HSFETCH refused: %d %s", r->code, r->lines[0].text);
}

static void fetch_one(const char *onion, void *arg)
{
	struct proxy *p = arg;
	char cmd[80];
	snprintf(cmd, sizeof(cmd), "HSFETCH %.56s", onion);
	control_command(p->control, cmd, fetched, NULL);
}

/* Keeps the descriptors of the map file's onions fresh, without contacting any MX. */
static void hsfetch_round(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;
	struct timeval tv = { HSFETCH_EVERY_SECONDS, 0 };
	(void)fd;
	(void)what;
	if (!control_ready(p->control))
		tv.tv_sec = HSFETCH_FIRST_SECONDS;
	else if (p->cfg->warm_up)
		log_info("warm-up: fetched the descriptors of %zu mapped onions",
			 onionmap_each_mapped(p->map, HSFETCH_MAX, fetch_one, p));
	evtimer_add(p->hsfetch, &tv);
}

struct proxy *proxy_new(struct event_base *base, const struct config *cfg, struct pool *pool, struct control *control,
			struct onionmap *map, const char *socks_path)
{
	struct timeval first = { HSFETCH_FIRST_SECONDS, 0 };
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
	p->map = map;
	p->hsfetch = evtimer_new(base, hsfetch_round, p);
	if (p->hsfetch == NULL) {
		free(p);
		return NULL;
	}
	if (control != NULL)
		evtimer_add(p->hsfetch, &first);
	p->socks.sun_family = AF_UNIX;
	snprintf(p->socks.sun_path, sizeof(p->socks.sun_path), "%s", socks_path);
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

void proxy_reconfigure(struct proxy *p, const struct config *cfg)
{
	p->cfg = cfg;
}

void proxy_stop(struct proxy *p)
{
	p->stopping = true;
	evtimer_del(p->hsfetch);
	for (struct stream *s = p->streams, *next; s != NULL; s = next) {
		next = s->next;
		if (s->warm)
			stream_free(s);
	}
}

void proxy_free(struct proxy *p)
{
	if (p == NULL)
		return;
	for (struct stream *s = p->streams, *next; s != NULL; s = next) {
		next = s->next;
		/* libevent closes a freed bufferevent's socket in a later turn of the loop, which has
		 * ended by now: the LAN client gets its FIN here, while the nft redirect translates it. */
		if (s->lan != NULL)
			shutdown(bufferevent_getfd(s->lan), SHUT_RDWR);
		stream_free(s);
	}
	event_free(p->hsfetch);
	for (int i = 0; i < 2; i++)
		listener_free(p->listeners[i]);
	free(p);
}
