/* SPDX-License-Identifier: ISC */
/* warm: warm-up: a stream opened to an onion MX as soon as the DNS hands it out, held for the LAN
 * connection that follows (or ended politely), and the periodic HSFETCH of the mapped onions.
 * Bounds: WARM_MAX streams; each proxy-connect-timeout seconds to open, then warm-up-hold seconds
 * and WARM_BUFFER bytes of what the onion sends held, then QUIT_SECONDS to end. */
#include "warm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "log.h"
#include "stats.h"

#define WARM_MAX 16
#define WARM_BUFFER (16 * 1024)
#define QUIT_SECONDS 5
#define HSFETCH_FIRST_SECONDS 5
#define HSFETCH_EVERY_SECONDS 900
#define HSFETCH_MAX 64

/* CONNECTING (SOCKS under way), READY (open, nobody has come), QUITTING (unclaimed, QUIT sent). */
enum warm_state { WARM_STREAM_CONNECTING, WARM_STREAM_READY, WARM_STREAM_QUITTING };

struct warm_stream {
	struct warm *w;
	enum warm_state state;
	const struct pool_entry *entry;
	uint16_t port;
	struct socksconn *sc;   /* CONNECTING */
	struct bufferevent *tor; /* READY, QUITTING */
	struct event *timer;
	time_t started;
	struct warm_stream *prev, *next;
};

struct warm {
	struct event_base *base;
	const struct config *cfg;
	struct pool *pool;
	struct control *control;
	struct onionmap *map;
	struct sockaddr_un socks;
	struct warm_stream *streams;
	size_t n_streams;
	struct event *hsfetch;
	bool stopped;
};

static void stream_free(struct warm_stream *ws)
{
	struct warm *w = ws->w;
	pool_release(w->pool, ws->entry);
	socksconn_free(ws->sc);
	if (ws->tor != NULL)
		bufferevent_free(ws->tor);
	event_free(ws->timer);
	if (ws->prev)
		ws->prev->next = ws->next;
	else
		w->streams = ws->next;
	if (ws->next)
		ws->next->prev = ws->prev;
	w->n_streams--;
	free(ws);
}

static bool tor_ready(const struct warm *w)
{
	return w->control == NULL || control_ready(w->control);
}

/* ---- an unclaimed stream: an SMTP peer gets its banner read and a QUIT, others a close ---- */

static void quit_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	stream_free(arg);
}

static void stream_event(struct bufferevent *bev, short what, void *arg)
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

static void expired(evutil_socket_t fd, short what, void *arg)
{
	struct warm_stream *ws = arg;
	struct timeval tv = { QUIT_SECONDS, 0 };
	(void)fd;
	(void)what;
	log_info("warm stream to %s:%u unclaimed: ending it", ws->entry->name, ws->port);
	if (ws->port != 25 && ws->port != 587) {
		stream_free(ws);
		return;
	}
	ws->state = WARM_STREAM_QUITTING;
	evbuffer_drain(bufferevent_get_input(ws->tor), evbuffer_get_length(bufferevent_get_input(ws->tor)));
	bufferevent_setcb(ws->tor, quit_read, NULL, stream_event, ws);
	bufferevent_write(ws->tor, "QUIT\r\n", 6);
	evtimer_assign(ws->timer, ws->w->base, quit_timeout, ws);
	evtimer_add(ws->timer, &tv);
}

/* ---- opening ---- */

static void hold(struct warm_stream *ws)
{
	struct timeval tv = { ws->w->cfg->warm_up_hold, 0 };
	ws->state = WARM_STREAM_READY;
	log_info("warm stream to %s:%u ready after %lld s", ws->entry->name, ws->port,
		 (long long)(time(NULL) - ws->started));
	bufferevent_setwatermark(ws->tor, EV_READ, 0, WARM_BUFFER);
	bufferevent_setcb(ws->tor, NULL, NULL, stream_event, ws);
	bufferevent_enable(ws->tor, EV_READ | EV_WRITE);
	evtimer_del(ws->timer);
	evtimer_assign(ws->timer, ws->w->base, expired, ws);
	evtimer_add(ws->timer, &tv);
}

static void opened(struct socksconn *sc, bool open, void *arg)
{
	struct warm_stream *ws = arg;
	const char *status;
	if (!open) {
		log_info("warm stream to %s:%u failed: %s", ws->entry->name, ws->port, socksconn_reason(sc, &status));
		stream_free(ws);
		return;
	}
	ws->tor = socksconn_take(sc);
	ws->sc = NULL;
	hold(ws);
}

static void connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct warm_stream *ws = arg;
	(void)fd;
	(void)what;
	log_info("warm stream to %s:%u timed out", ws->entry->name, ws->port);
	stream_free(ws);
}

static struct warm_stream *find(struct warm *w, const struct pool_entry *e, uint16_t port)
{
	for (struct warm_stream *ws = w->streams; ws != NULL; ws = ws->next)
		if (ws->entry == e && ws->port == port && ws->state != WARM_STREAM_QUITTING)
			return ws;
	return NULL;
}

void warm_open(struct warm *w, const struct pool_entry *e, uint16_t port)
{
	struct timeval tv = { w->cfg->proxy_connect_timeout, 0 };
	struct warm_stream *ws;
	if (w->stopped || !w->cfg->warm_up || !tor_ready(w) || w->n_streams >= WARM_MAX || find(w, e, port) != NULL)
		return;
	if ((ws = calloc(1, sizeof(*ws))) == NULL)
		return;
	ws->w = w;
	ws->entry = e;
	ws->port = port;
	ws->started = time(NULL);
	if ((ws->timer = evtimer_new(w->base, connect_timeout, ws)) == NULL ||
	    (ws->sc = socksconn_new(w->base, &w->socks, e->name, socksconn_dial_port(e, port), opened, ws)) == NULL) {
		log_info("warm-up: cannot open a stream to %s:%u", e->name, port);
		if (ws->timer != NULL)
			event_free(ws->timer);
		free(ws);
		return;
	}
	pool_hold(w->pool, e);
	ws->next = w->streams;
	if (w->streams)
		w->streams->prev = ws;
	w->streams = ws;
	w->n_streams++;
	evtimer_add(ws->timer, &tv);
	stats_bump(STAT_PROXY_WARM_OPENED);
	log_info("warming a stream to %s:%u", e->name, port);
}

enum warm_handover warm_take(struct warm *w, const struct pool_entry *e, uint16_t port, socksconn_cb *cb, void *arg,
			     struct socksconn **sc, struct bufferevent **tor)
{
	struct warm_stream *ws = find(w, e, port);
	enum warm_handover h;
	*sc = NULL;
	*tor = NULL;
	if (ws == NULL)
		return WARM_NONE;
	stats_bump(STAT_PROXY_WARM_USED);
	h = ws->state == WARM_STREAM_READY ? WARM_OPEN : WARM_CONNECTING;
	if (h == WARM_OPEN) {
		bufferevent_setcb(ws->tor, NULL, NULL, NULL, NULL);
		*tor = ws->tor;
		ws->tor = NULL;
	} else {
		socksconn_set_cb(ws->sc, cb, arg);
		*sc = ws->sc;
		ws->sc = NULL;
	}
	stream_free(ws);
	return h;
}

/* ---- descriptor refreshes ---- */

static void fetched(const struct ctl_reply *r, void *arg)
{
	(void)arg;
	if (r != NULL && r->code != 250)
		log_warn("warm-up: HSFETCH refused: %d %s", r->code, r->lines[0].text);
}

static void fetch_one(const char *onion, void *arg)
{
	struct warm *w = arg;
	char cmd[80];
	snprintf(cmd, sizeof(cmd), "HSFETCH %.56s", onion);
	control_command(w->control, cmd, fetched, NULL);
}

/* Keeps the descriptors of the map file's onions fresh, without contacting any MX. */
static void hsfetch_round(evutil_socket_t fd, short what, void *arg)
{
	struct warm *w = arg;
	struct timeval tv = { HSFETCH_EVERY_SECONDS, 0 };
	(void)fd;
	(void)what;
	if (!control_ready(w->control))
		tv.tv_sec = HSFETCH_FIRST_SECONDS;
	else if (w->cfg->warm_up)
		log_info("warm-up: fetched the descriptors of %zu mapped onions",
			 onionmap_each_mapped(w->map, HSFETCH_MAX, fetch_one, w));
	evtimer_add(w->hsfetch, &tv);
}

struct warm *warm_new(struct event_base *base, const struct config *cfg, struct pool *pool, struct control *control,
		      struct onionmap *map, const struct sockaddr_un *socks)
{
	struct timeval first = { HSFETCH_FIRST_SECONDS, 0 };
	struct warm *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->base = base;
	w->cfg = cfg;
	w->pool = pool;
	w->control = control;
	w->map = map;
	w->socks = *socks;
	if ((w->hsfetch = evtimer_new(base, hsfetch_round, w)) == NULL) {
		free(w);
		return NULL;
	}
	if (control != NULL)
		evtimer_add(w->hsfetch, &first);
	return w;
}

void warm_reconfigure(struct warm *w, const struct config *cfg)
{
	w->cfg = cfg;
}

void warm_stop(struct warm *w)
{
	w->stopped = true;
	evtimer_del(w->hsfetch);
	for (struct warm_stream *ws = w->streams, *next; ws != NULL; ws = next) {
		next = ws->next;
		stream_free(ws);
	}
}

void warm_free(struct warm *w)
{
	if (w == NULL)
		return;
	warm_stop(w);
	event_free(w->hsfetch);
	free(w);
}
