/* SPDX-License-Identifier: ISC */
/* socksd: the benchmark's local SOCKS5 peer: accepts CONNECT (any address type, no auth or
 * username/password) on a unix socket and on TCP, and joins every stream to one fixed target. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define HIGH_WATER (256 * 1024)

enum state { ST_GREETING, ST_AUTH, ST_REQUEST, ST_CONNECTING, ST_RELAY };

struct conn {
	enum state state;
	struct bufferevent *client, *target;
};

static struct sockaddr_in target_addr;

static void conn_free(struct conn *c)
{
	if (c->client != NULL)
		bufferevent_free(c->client);
	if (c->target != NULL)
		bufferevent_free(c->target);
	free(c);
}

static struct bufferevent *other(struct conn *c, struct bufferevent *bev)
{
	return bev == c->client ? c->target : c->client;
}

static void relay_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct bufferevent *to = other(c, bev);
	bufferevent_write_buffer(to, bufferevent_get_input(bev));
	if (evbuffer_get_length(bufferevent_get_output(to)) >= HIGH_WATER)
		bufferevent_disable(bev, EV_READ);
}

static void relay_drained(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	bufferevent_enable(other(c, bev), EV_READ);
}

static void relay_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);
}

static void start_relay(struct conn *c)
{
	c->state = ST_RELAY;
	bufferevent_setwatermark(c->client, EV_WRITE, HIGH_WATER / 2, 0);
	bufferevent_setwatermark(c->target, EV_WRITE, HIGH_WATER / 2, 0);
	bufferevent_setcb(c->client, relay_read, relay_drained, relay_event, c);
	bufferevent_setcb(c->target, relay_read, relay_drained, relay_event, c);
	bufferevent_enable(c->target, EV_READ | EV_WRITE);
	bufferevent_enable(c->client, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
		relay_read(c->client, c);
}

static void target_event(struct bufferevent *bev, short what, void *arg)
{
	static const unsigned char ok[10] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	static const unsigned char refused[10] = { 5, 5, 0, 1, 0, 0, 0, 0, 0, 0 };
	struct conn *c = arg;
	int one = 1;
	if (!(what & BEV_EVENT_CONNECTED)) {
		bufferevent_write(c->client, refused, sizeof(refused));
		bufferevent_free(bev);
		c->target = NULL;
		return;
	}
	setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bufferevent_write(c->client, ok, sizeof(ok));
	start_relay(c);
}

/* One step of the handshake over what has arrived: 1 when it needs more bytes, -1 on garbage. */
static int handshake_step(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->client);
	size_t have = evbuffer_get_length(in);
	unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)(have < 262 ? have : 262));
	size_t need;
	if (c->state == ST_GREETING) {
		if (have < 2 || have < 2u + p[1])
			return 1;
		if (p[0] != 5)
			return -1;
		unsigned char method = memchr(p + 2, 2, p[1]) != NULL ? 2 : 0;
		unsigned char reply[2] = { 5, method };
		evbuffer_drain(in, 2u + p[1]);
		bufferevent_write(c->client, reply, sizeof(reply));
		c->state = method == 2 ? ST_AUTH : ST_REQUEST;
		return 0;
	}
	if (c->state == ST_AUTH) {
		if (have < 2 || have < 3u + p[1] || have < 3u + p[1] + p[2 + p[1]])
			return 1;
		evbuffer_drain(in, 3u + p[1] + p[2 + p[1]]);
		bufferevent_write(c->client, "\x01\x00", 2);
		c->state = ST_REQUEST;
		return 0;
	}
	if (have < 5)
		return 1;
	if (p[0] != 5 || p[1] != 1)
		return -1;
	switch (p[3]) {
	case 1: need = 4 + 4 + 2; break;
	case 4: need = 4 + 16 + 2; break;
	case 3: need = 4 + 1 + p[4] + 2; break;
	default: return -1;
	}
	if (have < need)
		return 1;
	evbuffer_drain(in, need);
	c->state = ST_CONNECTING;
	c->target = bufferevent_socket_new(bufferevent_get_base(c->client), -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->target, NULL, NULL, target_event, c);
	bufferevent_disable(c->client, EV_READ);
	if (bufferevent_socket_connect(c->target, (struct sockaddr *)&target_addr, sizeof(target_addr)) < 0)
		return -1;
	return 1;
}

static void client_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	int rc;
	(void)bev;
	while (c->state < ST_CONNECTING && (rc = handshake_step(c)) <= 0)
		if (rc < 0) {
			conn_free(c);
			return;
		}
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;
	(void)len;
	(void)arg;
	if (c == NULL) {
		close(fd);
		return;
	}
	if (sa->sa_family == AF_INET)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->client = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->client, client_read, NULL, client_event, c);
	bufferevent_enable(c->client, EV_READ | EV_WRITE);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE;
	if (argc != 6 || inet_pton(AF_INET, argv[2], &sin.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[4], &target_addr.sin_addr) != 1) {
		fprintf(stderr, "usage: socksd UNIX_PATH LISTEN_IP LISTEN_PORT TARGET_IP TARGET_PORT\n");
		return 2;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	sin.sin_port = htons((unsigned short)atoi(argv[3]));
	target_addr.sin_family = AF_INET;
	target_addr.sin_port = htons((unsigned short)atoi(argv[5]));
	signal(SIGPIPE, SIG_IGN);
	unlink(argv[1]);
	struct event_base *base = event_base_new();
	if (evconnlistener_new_bind(base, on_accept, NULL, flags, 256, (struct sockaddr *)&sun, sizeof(sun)) == NULL ||
	    evconnlistener_new_bind(base, on_accept, NULL, flags, 256, (struct sockaddr *)&sin, sizeof(sin)) == NULL) {
		perror("socksd: listen");
		return 1;
	}
	event_base_dispatch(base);
	return 0;
}
