/* SPDX-License-Identifier: ISC */
/* socksconn: one stream through a SOCKS5 unix socket (the embedded Tor's, or socks-server): the
 * connect, the handshake (socks5.c), and one outcome callback; an open stream's socket is then taken.
 * The handshake runs on the bare socket with one event and no buffer (a stream waiting for Tor costs
 * its struct alone): each request goes out in one send, and the server's bytes are peeked and only
 * those that belong to SOCKS consumed, so what follows the reply stays in the socket for the taker. */
#include "socksconn.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "socks5.h"
#include "stats.h"

/* The longest SOCKS5 message (a reply with a 255-byte name): what is read of the server at once. */
#define SOCKS5_MESSAGE_MAX 262
/* The longest request (username/password with 255 bytes each). */
#define SOCKS5_REQUEST_MAX 600

enum socksconn_state { SOCKSCONN_CONNECTING, SOCKSCONN_HANDSHAKE, SOCKSCONN_OPEN, SOCKSCONN_FAILED };

struct socksconn {
	enum socksconn_state state;
	int fd;
	bool refused; /* connect() was refused at once: reported from the loop, never inside socksconn_new */
	struct event_base *base;
	struct event ev; /* SOCKSCONN_CONNECTING: writable; SOCKSCONN_HANDSHAKE: readable */
	struct socks5 s5;
	const char *status, *reason;
	socksconn_cb *cb;
	void *arg;
};

#define NO_ANSWER "no answer on Tor's SOCKS socket"

/* The outcome: the callback is the last thing done here, so it may free sc. */
static void finish(struct socksconn *sc, bool open, const char *status, const char *reason)
{
	event_del(&sc->ev);
	sc->state = open ? SOCKSCONN_OPEN : SOCKSCONN_FAILED;
	sc->status = status;
	sc->reason = reason;
	if (!open) {
		close(sc->fd);
		sc->fd = -1;
	}
	sc->cb(sc, open, sc->arg);
}

/* A request to a server that has read all before it: the socket's send buffer takes it whole. */
static bool send_request(struct socksconn *sc)
{
	uint8_t buf[SOCKS5_REQUEST_MAX];
	size_t n = socks5_request(&sc->s5, buf, sizeof(buf));
	return send(sc->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* One message's worth of the server's bytes: 1 when more may follow, 0 when the outcome was given. */
static int handshake_step(struct socksconn *sc)
{
	uint8_t in[SOCKS5_MESSAGE_MAX];
	size_t used;
	ssize_t n = recv(sc->fd, in, sizeof(in), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		finish(sc, false, "4.4.2", NO_ANSWER);
		return 0;
	}
	enum socks5_event ev = socks5_input(&sc->s5, in, (size_t)n, &used);
	if (used > 0 && recv(sc->fd, in, used, 0) != (ssize_t)used) {
		finish(sc, false, "4.4.2", NO_ANSWER);
		return 0;
	}
	switch (ev) {
	case SOCKS5_NEED_MORE:
		return 0;
	case SOCKS5_SEND:
		if (send_request(sc))
			return 1;
		finish(sc, false, "4.4.2", NO_ANSWER);
		return 0;
	case SOCKS5_CONNECTED:
		finish(sc, true, NULL, NULL);
		return 0;
	case SOCKS5_ERROR:
		stats_bump(STAT_PROXY_SOCKS_ERRORS);
		finish(sc, false, socks5_smtp_status(sc->s5.reply), socks5_reason(sc->s5.reply));
		return 0;
	}
	return 0;
}

static void readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	while (handshake_step(arg))
		;
}

/* The greeting goes out once the connect is done; the replies are then waited for. */
static void connected(evutil_socket_t fd, short what, void *arg)
{
	struct socksconn *sc = arg;
	int err = 0;
	socklen_t len = sizeof(err);
	(void)what;
	if (sc->refused || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0 || !send_request(sc)) {
		finish(sc, false, "4.4.2", NO_ANSWER);
		return;
	}
	sc->state = SOCKSCONN_HANDSHAKE;
	event_del(&sc->ev);
	event_assign(&sc->ev, sc->base, sc->fd, EV_READ | EV_PERSIST, readable, sc);
	event_add(&sc->ev, NULL);
}

uint16_t socksconn_dial_port(const struct pool_entry *e, uint16_t lan_port)
{
	return lan_port == 25 && e->smtp_port != 0 ? e->smtp_port : lan_port;
}

/* A non-blocking connect: 0 under way or done, -1 with errno when it cannot start. A refusal
 * (nobody listens) is no error here: sc->refused, and the outcome comes from the loop. */
static int start_connect(struct socksconn *sc, const struct sockaddr_un *server)
{
	sc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sc->fd < 0)
		return -1;
	if (connect(sc->fd, (const struct sockaddr *)server, sizeof(*server)) == 0 || errno == EINPROGRESS)
		return 0;
	if (errno == ECONNREFUSED) {
		sc->refused = true;
		return 0;
	}
	int err = errno;
	close(sc->fd);
	errno = err;
	return -1;
}

struct socksconn *socksconn_new(struct event_base *base, const struct sockaddr_un *server, const char *onion,
				uint16_t port, socksconn_cb *cb, void *arg)
{
	struct socksconn *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	sc->base = base;
	sc->cb = cb;
	sc->arg = arg;
	if (socks5_init(&sc->s5, onion, port, onion, "oniongate") < 0) {
		free(sc);
		errno = EINVAL;
		return NULL;
	}
	if (start_connect(sc, server) < 0) {
		int err = errno;
		free(sc);
		errno = err;
		return NULL;
	}
	event_assign(&sc->ev, base, sc->fd, EV_WRITE | EV_PERSIST, connected, sc);
	event_add(&sc->ev, NULL);
	if (sc->refused)
		event_active(&sc->ev, EV_WRITE, 1);
	return sc;
}

void socksconn_set_cb(struct socksconn *sc, socksconn_cb *cb, void *arg)
{
	sc->cb = cb;
	sc->arg = arg;
}

int socksconn_take(struct socksconn *sc)
{
	int fd = -1;
	if (sc->state == SOCKSCONN_OPEN) {
		fd = sc->fd;
		sc->fd = -1;
	}
	socksconn_free(sc);
	return fd;
}

struct bufferevent *socksconn_take_bufferevent(struct socksconn *sc)
{
	struct event_base *base = sc->base;
	struct bufferevent *bev;
	int fd = socksconn_take(sc);
	if (fd < 0)
		return NULL;
	if ((bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		close(fd);
	return bev;
}

int socksconn_reply(const struct socksconn *sc)
{
	return sc->s5.reply != 0 ? sc->s5.reply : -1;
}

const char *socksconn_reason(const struct socksconn *sc, const char **smtp_status)
{
	*smtp_status = sc->status;
	return sc->reason;
}

void socksconn_free(struct socksconn *sc)
{
	if (sc == NULL)
		return;
	event_del(&sc->ev);
	if (sc->fd >= 0)
		close(sc->fd);
	free(sc);
}
