/* SPDX-License-Identifier: ISC */
/* warm: warm-up: a stream opened to an onion MX as soon as the DNS hands it out, held for the LAN
 * connection that follows (or ended politely), the periodic HSFETCH of the mapped onions, and the
 * rendezvous circuit kept for onions mailed lately (a stream to KEEP_PORT every MaxCircuitDirtiness/2).
 * Bounds: WARM_MAX streams; each proxy-connect-timeout seconds to open, then warm-up-hold seconds
 * and WARM_BUFFER bytes of what the onion sends held, then QUIT_SECONDS to end; KEEP_MAX onions kept,
 * each warm-up-keep seconds after its last mail, one keeping stream at a time, ended by the next round. */
#include "warm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "stats.h"

#define WARM_MAX 16
#define WARM_BUFFER (16 * 1024)
#define QUIT_SECONDS 5
#define HSFETCH_FIRST_SECONDS 5
#define HSFETCH_EVERY_SECONDS 900
#define HSFETCH_MAX 64
#define KEEP_MAX 16
/* A port no onion MX publishes: its service's Tor answers END (DONE) and keeps the circuit
 * (hs_service.c hs_service_set_conn_addr_port, unless HiddenServiceAllowUnknownPorts), the MX sees nothing. */
#define KEEP_PORT 1
#define SOCKS_REPLY_REFUSED 0x05
#define KEEP_DIRTINESS_DEFAULT 600 /* Tor's MaxCircuitDirtiness until GETCONF says */
#define KEEP_MIN_SECONDS 5

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

/* An onion mailed in the last warm-up-keep seconds; name[0] == '\0': a free slot. */
struct warm_keep {
	char name[ONION_NAME_LEN + 1];
	time_t last_mail;
	struct socksconn *sc; /* the keeping stream under way */
};

/* The GETCONF under way: owned by its reply callback (control calls it once, with NULL if the
 * connection ends first); warm_free only forgets w. */
struct warm_getconf {
	struct warm *w;
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
	struct warm_keep keep[KEEP_MAX];
	struct event *keep_timer;
	unsigned dirtiness; /* Tor's MaxCircuitDirtiness, seconds */
	struct warm_getconf *getconf;
	bool asked_dirtiness;
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
	ws->tor = socksconn_take_bufferevent(sc);
	ws->sc = NULL;
	if (ws->tor == NULL) {
		stream_free(ws);
		return;
	}
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

/* ---- the rendezvous circuit kept for onions mailed lately ---- */

static void keep_end(struct warm_keep *k)
{
	socksconn_free(k->sc);
	k->sc = NULL;
}

static void keep_note_mail(struct warm *w, const char *name)
{
	struct warm_keep *slot = &w->keep[0];
	if (!w->cfg->warm_up || w->cfg->warm_up_keep == 0 || w->control == NULL)
		return;
	for (size_t i = 0; i < KEEP_MAX; i++) {
		struct warm_keep *k = &w->keep[i];
		if (strcmp(k->name, name) == 0) {
			k->last_mail = time(NULL);
			return;
		}
		if (k->name[0] == '\0' || (slot->name[0] != '\0' && k->last_mail < slot->last_mail))
			slot = k;
	}
	keep_end(slot);
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->last_mail = time(NULL);
}

/* The service's Tor ended the stream (END DONE before CONNECTED: Tor's SOCKS reply "connection
 * refused", reasons.c) or, unexpectedly, accepted it: either way the stream goes and the circuit,
 * now newly dirty (circuituse.c connection_ap_handshake_attach_circuit), stays. */
static void kept(struct socksconn *sc, bool open, void *arg)
{
	struct warm_keep *k = arg;
	const char *status;
	if (open) {
		close(socksconn_take(sc));
		k->sc = NULL;
		log_info("warm-up: circuit to %s kept (the onion publishes port %d)", k->name, KEEP_PORT);
		return;
	}
	if (socksconn_reply(sc) == SOCKS_REPLY_REFUSED)
		log_info("warm-up: circuit to %s kept (the service's Tor ended the stream)", k->name);
	else
		log_info("warm-up: keeping the circuit to %s failed: %s", k->name, socksconn_reason(sc, &status));
	keep_end(k);
}

static void keep_one(struct warm *w, struct warm_keep *k, time_t now)
{
	if (k->sc != NULL) {
		log_info("warm-up: keeping the circuit to %s takes longer than a round", k->name);
		keep_end(k);
	}
	if (!w->cfg->warm_up || now - k->last_mail > (time_t)w->cfg->warm_up_keep) {
		log_info("warm-up: no mail to %s for %lld s: its circuit is let go", k->name,
			 (long long)(now - k->last_mail));
		k->name[0] = '\0';
		return;
	}
	if ((k->sc = socksconn_new(w->base, &w->socks, k->name, KEEP_PORT, kept, k)) != NULL)
		stats_bump(STAT_PROXY_WARM_KEPT);
}

static unsigned keep_seconds(const struct warm *w)
{
	return w->dirtiness / 2 > KEEP_MIN_SECONDS ? w->dirtiness / 2 : KEEP_MIN_SECONDS;
}

static void keep_round(evutil_socket_t fd, short what, void *arg)
{
	struct warm *w = arg;
	struct timeval tv = { keep_seconds(w), 0 };
	time_t now = time(NULL);
	(void)fd;
	(void)what;
	if (tor_ready(w))
		for (size_t i = 0; i < KEEP_MAX; i++)
			if (w->keep[i].name[0] != '\0')
				keep_one(w, &w->keep[i], now);
	evtimer_add(w->keep_timer, &tv);
}

static void got_dirtiness(const struct ctl_reply *r, void *arg)
{
	struct warm_getconf *q = arg;
	struct warm *w = q->w;
	char value[16];
	struct timeval tv;
	free(q);
	if (w == NULL)
		return;
	w->getconf = NULL;
	if (r == NULL || r->code != 250 || r->n_lines != 1 ||
	    ctl_text_value(r->lines[0].text, "MaxCircuitDirtiness", value, sizeof(value)) < 0 ||
	    (w->dirtiness = (unsigned)strtoul(value, NULL, 10)) == 0)
		w->dirtiness = KEEP_DIRTINESS_DEFAULT;
	log_info("warm-up: Tor's MaxCircuitDirtiness is %u s: circuits of recent mail kept every %u s", w->dirtiness,
		 keep_seconds(w));
	tv.tv_sec = keep_seconds(w);
	tv.tv_usec = 0;
	if (!w->stopped)
		evtimer_add(w->keep_timer, &tv);
}

enum warm_handover warm_take(struct warm *w, const struct pool_entry *e, uint16_t port, socksconn_cb *cb, void *arg,
			     struct socksconn **sc, struct bufferevent **tor)
{
	struct warm_stream *ws = find(w, e, port);
	enum warm_handover h;
	if (port == 25 || port == 587 || port == 465)
		keep_note_mail(w, e->name);
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

static void ask_dirtiness(struct warm *w)
{
	if ((w->getconf = calloc(1, sizeof(*w->getconf))) == NULL)
		return;
	w->getconf->w = w;
	if (control_command(w->control, "GETCONF MaxCircuitDirtiness", got_dirtiness, w->getconf) < 0) {
		free(w->getconf);
		w->getconf = NULL;
	}
}

/* Keeps the descriptors of the map file's onions fresh, without contacting any MX. */
static void hsfetch_round(evutil_socket_t fd, short what, void *arg)
{
	struct warm *w = arg;
	struct timeval tv = { HSFETCH_EVERY_SECONDS, 0 };
	(void)fd;
	(void)what;
	if (!control_ready(w->control)) {
		tv.tv_sec = HSFETCH_FIRST_SECONDS;
	} else if (!w->asked_dirtiness) {
		w->asked_dirtiness = true;
		ask_dirtiness(w);
	}
	if (control_ready(w->control) && w->cfg->warm_up)
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
	w->dirtiness = KEEP_DIRTINESS_DEFAULT;
	if ((w->hsfetch = evtimer_new(base, hsfetch_round, w)) == NULL ||
	    (w->keep_timer = evtimer_new(base, keep_round, w)) == NULL) {
		if (w->hsfetch != NULL)
			event_free(w->hsfetch);
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
	evtimer_del(w->keep_timer);
	for (size_t i = 0; i < KEEP_MAX; i++)
		keep_end(&w->keep[i]);
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
	if (w->getconf != NULL)
		w->getconf->w = NULL;
	event_free(w->hsfetch);
	event_free(w->keep_timer);
	free(w);
}
