/* SPDX-License-Identifier: ISC */
/* socksconn: one stream through a SOCKS5 unix socket (the embedded Tor's, or socks-server): the
 * connect, the handshake (socks5.c), and one outcome callback; an open stream's bufferevent is then taken. */
#include "socksconn.h"

#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "socks5.h"
#include "stats.h"

/* The longest SOCKS5 message (a reply with a 255-byte name): what is read of the server at once. */
#define SOCKS5_MESSAGE_MAX 262

enum socksconn_state { SOCKSCONN_CONNECTING, SOCKSCONN_HANDSHAKE, SOCKSCONN_OPEN, SOCKSCONN_FAILED };

struct socksconn {
	enum socksconn_state state;
	struct bufferevent *bev;
	struct socks5 s5;
	const char *status, *reason;
	socksconn_cb *cb;
	void *arg;
	bool in_connect; /* inside bufferevent_socket_connect */
};

/* The outcome: the callback is the last thing done here, so it may free sc. */
static void finish(struct socksconn *sc, bool open, const char *status, const char *reason)
{
	sc->state = open ? SOCKSCONN_OPEN : SOCKSCONN_FAILED;
	sc->status = status;
	sc->reason = reason;
	if (open) {
		bufferevent_disable(sc->bev, EV_READ);
		bufferevent_setcb(sc->bev, NULL, NULL, NULL, NULL);
	} else {
		bufferevent_free(sc->bev);
		sc->bev = NULL;
	}
	sc->cb(sc, open, sc->arg);
}

static void send_request(struct socksconn *sc)
{
	uint8_t buf[600];
	size_t n = socks5_request(&sc->s5, buf, sizeof(buf));
	bufferevent_write(sc->bev, buf, n);
}

static void readable(struct bufferevent *bev, void *arg)
{
	struct socksconn *sc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len, used;
	while ((len = evbuffer_get_length(in)) > 0) {
		if (len > SOCKS5_MESSAGE_MAX)
			len = SOCKS5_MESSAGE_MAX;
		enum socks5_event ev = socks5_input(&sc->s5, evbuffer_pullup(in, (ev_ssize_t)len), len, &used);
		evbuffer_drain(in, used);
		switch (ev) {
		case SOCKS5_NEED_MORE:
			return;
		case SOCKS5_SEND:
			send_request(sc);
			break;
		case SOCKS5_CONNECTED:
			finish(sc, true, NULL, NULL);
			return;
		case SOCKS5_ERROR:
			stats_bump(STAT_PROXY_SOCKS_ERRORS);
			finish(sc, false, socks5_smtp_status(sc->s5.reply), socks5_reason(sc->s5.reply));
			return;
		}
	}
}

static void event(struct bufferevent *bev, short what, void *arg)
{
	struct socksconn *sc = arg;
	/* libevent up to 2.1.8 reports a connect() that fails at once here and then returns -1 as
	 * well: the -1 is the one path for it. (2.1.9+ defers a refusal to the loop: it comes later.) */
	if (sc->in_connect)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		sc->state = SOCKSCONN_HANDSHAKE;
		send_request(sc);
		bufferevent_enable(bev, EV_READ);
		return;
	}
	finish(sc, false, "4.4.2", "no answer on Tor's SOCKS socket");
}

uint16_t socksconn_dial_port(const struct pool_entry *e, uint16_t lan_port)
{
	return lan_port == 25 && e->smtp_port != 0 ? e->smtp_port : lan_port;
}

struct socksconn *socksconn_new(struct event_base *base, const struct sockaddr_un *server, const char *onion,
				uint16_t port, socksconn_cb *cb, void *arg)
{
	struct socksconn *sc = calloc(1, sizeof(*sc));
	int err, rc;
	if (sc == NULL)
		return NULL;
	sc->cb = cb;
	sc->arg = arg;
	if (socks5_init(&sc->s5, onion, port, onion, "oniongate") < 0) {
		free(sc);
		errno = EINVAL;
		return NULL;
	}
	if ((sc->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(sc);
		return NULL;
	}
	bufferevent_setcb(sc->bev, readable, NULL, event, sc);
	sc->in_connect = true;
	rc = bufferevent_socket_connect(sc->bev, (const struct sockaddr *)server, sizeof(*server));
	sc->in_connect = false;
	if (rc < 0) {
		err = errno;
		bufferevent_free(sc->bev);
		free(sc);
		errno = err;
		return NULL;
	}
	return sc;
}

void socksconn_set_cb(struct socksconn *sc, socksconn_cb *cb, void *arg)
{
	sc->cb = cb;
	sc->arg = arg;
}

struct bufferevent *socksconn_take(struct socksconn *sc)
{
	struct bufferevent *bev = sc->bev;
	if (sc->state != SOCKSCONN_OPEN)
		return NULL;
	sc->bev = NULL;
	socksconn_free(sc);
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
	if (sc->bev != NULL)
		bufferevent_free(sc->bev);
	free(sc);
}
