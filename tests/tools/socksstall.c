/* SPDX-License-Identifier: ISC */
/* socksstall: a SOCKS5 server on a unix socket for the relay's limit tests: a CONNECT to port 9
 * is never answered (like an onion that never answers); any other port is accepted and echoed. */
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

#define STALL_PORT 9

enum state { ST_GREETING, ST_AUTH, ST_REQUEST, ST_STALLED, ST_ECHO };

struct conn {
	enum state state;
	struct bufferevent *bev;
};

static void conn_free(struct conn *c)
{
	bufferevent_free(c->bev);
	free(c);
}

/* The request's port: 0 when more bytes are needed, -1 on garbage; *len is its length. */
static int request_port(const unsigned char *p, size_t have, size_t *len)
{
	if (have < 5)
		return 0;
	if (p[0] != 5 || p[1] != 1)
		return -1;
	switch (p[3]) {
	case 1: *len = 4 + 4 + 2; break;
	case 4: *len = 4 + 16 + 2; break;
	case 3: *len = 4 + 1 + p[4] + 2; break;
	default: return -1;
	}
	if (have < *len)
		return 0;
	return p[*len - 2] << 8 | p[*len - 1];
}

/* One step of the handshake over what has arrived: 1 when it needs more bytes, -1 on garbage. */
static int handshake_step(struct conn *c)
{
	static const unsigned char ok[10] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t have = evbuffer_get_length(in), len = 0;
	unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)(have < 262 ? have : 262));
	int port;
	if (c->state == ST_GREETING) {
		if (have < 2 || have < 2u + p[1])
			return 1;
		unsigned char reply[2] = { 5, memchr(p + 2, 2, p[1]) != NULL ? 2 : 0 };
		evbuffer_drain(in, 2u + p[1]);
		bufferevent_write(c->bev, reply, sizeof(reply));
		c->state = reply[1] == 2 ? ST_AUTH : ST_REQUEST;
		return 0;
	}
	if (c->state == ST_AUTH) {
		if (have < 2 || have < 3u + p[1] || have < 3u + p[1] + p[2 + p[1]])
			return 1;
		evbuffer_drain(in, 3u + p[1] + p[2 + p[1]]);
		bufferevent_write(c->bev, "\x01\x00", 2);
		c->state = ST_REQUEST;
		return 0;
	}
	if ((port = request_port(p, have, &len)) <= 0)
		return port < 0 ? -1 : 1;
	evbuffer_drain(in, len);
	if (port == STALL_PORT) {
		c->state = ST_STALLED;
		return 1;
	}
	bufferevent_write(c->bev, ok, sizeof(ok));
	c->state = ST_ECHO;
	return 0;
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc;
	while (c->state < ST_STALLED && (rc = handshake_step(c)) <= 0)
		if (rc < 0) {
			conn_free(c);
			return;
		}
	if (c->state == ST_ECHO)
		bufferevent_write_buffer(bev, in);
	else if (c->state == ST_STALLED)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));
	(void)sa;
	(void)len;
	(void)arg;
	if (c == NULL) {
		close(fd);
		return;
	}
	c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (argc != 2) {
		fprintf(stderr, "usage: socksstall UNIX_PATH\n");
		return 2;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	signal(SIGPIPE, SIG_IGN);
	unlink(argv[1]);
	struct event_base *base = event_base_new();
	if (evconnlistener_new_bind(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 256,
				    (struct sockaddr *)&sun, sizeof(sun)) == NULL) {
		perror("socksstall: listen");
		return 1;
	}
	event_base_dispatch(base);
	return 0;
}
