/* SPDX-License-Identifier: ISC */
/* ctlsock: the control socket oniongatectl talks to: a unix socket (mode 0660) on the daemon's loop,
 * one request and one reply per connection (ctlproto), bounded in clients, bytes and time. */
#include "ctlsock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "ctlproto.h"
#include "ctlrender.h"
#include "inbound.h"
#include "log.h"
#include "onion.h"
#include "relaycheck.h"
#include "smtpdialog.h"

#define BACKLOG 16
#define ACCEPTS_PER_CALL 16
#define PAUSE_MS 1000 /* out of descriptors or memory: accept nothing for this long */

/* A connection's life: it sends one request line (READING), a lookup may have to wait for the
 * discovery (LOOKING_UP) and onion-mx-check for the relay check (CHECKING), then the reply is
 * written (WRITING) and the connection closes. */
enum session_state { SESSION_FREE, SESSION_READING, SESSION_LOOKING_UP, SESSION_CHECKING, SESSION_WRITING };

struct session {
	struct ctlsock *cs;
	uint64_t id; /* what a lookup's answer finds it by; never 0 while in use */
	enum session_state state;
	struct bufferevent *bev;
	struct event *timer; /* READING and LOOKING_UP: CTLSOCK_IDLE_SECONDS each */
};

/* A lookup under way: it names its session by id, as the session may be gone when it ends. */
struct lookup {
	struct ctlsock *cs;
	uint64_t session;
	bool json;
	struct onionmap_query *q; /* NULL until onionmap_lookup returned */
	char domain[CTLPROTO_DOMAIN_MAX + 1];
	struct lookup *prev, *next;
};

/* The relay check under way (one at a time): it names its session by id, as the session may be gone
 * when it ends (the outcome is logged either way). */
struct check {
	struct ctlsock *cs;
	uint64_t session;
	bool json;
	struct relaycheck *rc;
};

struct ctlsock {
	struct event_base *base;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	int fd;
	struct event *accept_ev, *pause_ev;
	const struct status_source *status;
	struct onionmap *map;
	ctlsock_reload_fn *reload;
	void *reload_arg;
	struct session sessions[CTLSOCK_CLIENTS_MAX];
	uint64_t next_id;
	struct lookup *lookups;
	size_t n_lookups;
	struct inbound *inbound; /* onion-mx, NULL: none */
	const char *socks_path;  /* the embedded Tor's, for the relay check */
	struct check *check;
};

static const struct timeval idle = { CTLSOCK_IDLE_SECONDS, 0 };
static const struct timeval check_time = { RELAYCHECK_SECONDS + 5, 0 };

static void session_close(struct session *s)
{
	bufferevent_free(s->bev);
	event_free(s->timer);
	*s = (struct session){ .cs = s->cs, .state = SESSION_FREE };
}

static struct session *session_by_id(struct ctlsock *cs, uint64_t id)
{
	for (size_t i = 0; i < CTLSOCK_CLIENTS_MAX; i++)
		if (cs->sessions[i].state != SESSION_FREE && cs->sessions[i].id == id)
			return &cs->sessions[i];
	return NULL;
}

static void on_event(struct bufferevent *bev, short what, void *arg);

static void on_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_close(arg);
}

/* The reply: its header, then body (emptied); the connection closes once it is written. */
static void reply(struct session *s, enum ctlp_status st, struct evbuffer *body)
{
	char header[CTLPROTO_HEADER_MAX];
	size_t len = evbuffer_get_length(body);
	if (len > CTLPROTO_BODY_MAX) {
		evbuffer_drain(body, len);
		evbuffer_add_printf(body, "reply longer than %u bytes\n", CTLPROTO_BODY_MAX);
		st = CTLP_ERROR;
		len = evbuffer_get_length(body);
	}
	int n = ctlproto_format_header(st, len, header);
	struct evbuffer *out = bufferevent_get_output(s->bev);
	evtimer_del(s->timer);
	bufferevent_disable(s->bev, EV_READ);
	s->state = SESSION_WRITING;
	if (evbuffer_add(out, header, (size_t)n) < 0 || evbuffer_add_buffer(out, body) < 0) {
		session_close(s);
		return;
	}
	bufferevent_setcb(s->bev, NULL, on_written, on_event, s);
	bufferevent_enable(s->bev, EV_WRITE);
}

static void reply_error(struct session *s, bool json, const char *text)
{
	struct evbuffer *body = evbuffer_new();
	if (body == NULL || ctlrender_error(text, json, body) < 0) {
		evbuffer_free(body);
		session_close(s);
		return;
	}
	reply(s, CTLP_ERROR, body);
	evbuffer_free(body);
}

typedef int render_fn(const struct status_snapshot *s, bool json, struct evbuffer *out);

/* status, streams, onions: a fresh snapshot rendered. */
static void reply_facts(struct session *s, const struct ctlp_request *req, render_fn *render)
{
	struct status_snapshot snap;
	struct evbuffer *body = evbuffer_new();
	status_fill(s->cs->status, &snap);
	if (body == NULL || render(&snap, req->json, body) < 0) {
		evbuffer_free(body);
		reply_error(s, req->json, "out of memory");
		return;
	}
	reply(s, req->cmd == CTLP_STATUS && !snap.ready ? CTLP_NOT_READY : CTLP_OK, body);
	evbuffer_free(body);
}

static void reply_reload(struct session *s, const struct ctlp_request *req)
{
	char err[CONFIG_ERR_MAX];
	bool ok = s->cs->reload(s->cs->reload_arg, err) == 0;
	struct evbuffer *body = evbuffer_new();
	if (body == NULL || ctlrender_reload(ok, ok ? "ok" : err, req->json, body) < 0) {
		evbuffer_free(body);
		session_close(s);
		return;
	}
	reply(s, ok ? CTLP_OK : CTLP_ERROR, body);
	evbuffer_free(body);
}

static void lookup_unlink(struct lookup *l)
{
	struct ctlsock *cs = l->cs;
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		cs->lookups = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	cs->n_lookups--;
}

/* The discovery answered (perhaps at once): the reply goes to the session, if it is still there. */
static void on_lookup(const struct onionmap_result *res, void *arg)
{
	struct lookup *l = arg;
	struct session *s = session_by_id(l->cs, l->session);
	lookup_unlink(l);
	if (s != NULL && s->state == SESSION_LOOKING_UP) {
		struct status_snapshot snap;
		struct evbuffer *body = evbuffer_new();
		status_fill(s->cs->status, &snap);
		if (body != NULL && ctlrender_lookup(&snap, l->domain, res, l->json, body) == 0)
			reply(s, CTLP_OK, body);
		else
			reply_error(s, l->json, "out of memory");
		evbuffer_free(body);
	}
	free(l);
}

/* An onion name's MX is the DNS's own answer (answer.c): no discovery. */
static void reply_onion_name(struct session *s, const struct ctlp_request *req)
{
	struct evbuffer *body = evbuffer_new();
	if (body == NULL || ctlrender_lookup_onion(req->domain, req->json, body) < 0) {
		evbuffer_free(body);
		session_close(s);
		return;
	}
	reply(s, CTLP_OK, body);
	evbuffer_free(body);
}

static void start_lookup(struct session *s, const struct ctlp_request *req)
{
	struct ctlsock *cs = s->cs;
	struct lookup *l;
	if (onion_is_onion_domain(req->domain)) {
		reply_onion_name(s, req);
		return;
	}
	if (cs->n_lookups == CTLSOCK_LOOKUPS_MAX) {
		reply_error(s, req->json, "too many lookups under way");
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		reply_error(s, req->json, "out of memory");
		return;
	}
	*l = (struct lookup){ .cs = cs, .session = s->id, .json = req->json, .next = cs->lookups };
	memcpy(l->domain, req->domain, sizeof(l->domain));
	if (cs->lookups != NULL)
		cs->lookups->prev = l;
	cs->lookups = l;
	cs->n_lookups++;
	s->state = SESSION_LOOKING_UP;
	evtimer_add(s->timer, &idle);
	/* An answer from the map or the cache comes before this returns, and frees l. */
	struct onionmap_query *q = onionmap_lookup(cs->map, l->domain, on_lookup, l);
	if (q != NULL)
		l->q = q;
}

static void reply_onion_mx(struct session *s, const struct ctlp_request *req)
{
	const struct inbound *in = s->cs->inbound;
	struct evbuffer *body;
	if (in == NULL) {
		reply_error(s, req->json, "no onion-mx in the configuration");
		return;
	}
	if ((body = evbuffer_new()) == NULL || ctlrender_onion_mx(inbound_onion(in), inbound_records(in), req->json, body) < 0) {
		evbuffer_free(body);
		session_close(s);
		return;
	}
	reply(s, inbound_records(in) != NULL ? CTLP_OK : CTLP_NOT_READY, body);
	evbuffer_free(body);
}

/* The relay check ended: logged (an open relay as an error), and the reply goes to the session if it
 * is still there. */
static void on_check(struct relaycheck *rc, const struct relaycheck_result *r, void *arg)
{
	struct check *c = arg;
	struct ctlsock *cs = c->cs;
	struct session *s = session_by_id(cs, c->session);
	const char *onion = inbound_onion(cs->inbound);
	char line[2 * SMTPDIALOG_LINE_MAX + 256];
	relaycheck_summary(r, line, sizeof(line));
	if (r->completed && r->open_relay)
		log_err("onion-mx: relay check of %s: %s", onion, line);
	else if (r->completed)
		log_notice("onion-mx: relay check of %s: %s", onion, line);
	else
		log_warn("onion-mx: relay check of %s: %s", onion, line);
	if (s != NULL && s->state == SESSION_CHECKING) {
		struct evbuffer *body = evbuffer_new();
		if (body != NULL && ctlrender_relay_check(r, line, c->json, body) == 0)
			reply(s, r->completed && !r->open_relay ? CTLP_OK : CTLP_ERROR, body);
		else
			session_close(s);
		evbuffer_free(body);
	}
	relaycheck_free(rc);
	cs->check = NULL;
	free(c);
}

static void start_check(struct session *s, const struct ctlp_request *req)
{
	struct ctlsock *cs = s->cs;
	struct check *c;
	if (cs->inbound == NULL) {
		reply_error(s, req->json, "no onion-mx in the configuration");
		return;
	}
	if (cs->check != NULL) {
		reply_error(s, req->json, "a relay check is under way already");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		reply_error(s, req->json, "out of memory");
		return;
	}
	*c = (struct check){ .cs = cs, .session = s->id, .json = req->json };
	if ((c->rc = inbound_check(cs->inbound, cs->socks_path, on_check, c)) == NULL) {
		reply_error(s, req->json, errno == EAGAIN ? "Tor has not made the onion name yet" : strerror(errno));
		free(c);
		return;
	}
	log_notice("onion-mx: relay check of %s starts", inbound_onion(cs->inbound));
	cs->check = c;
	s->state = SESSION_CHECKING;
	evtimer_add(s->timer, &check_time);
}

static void handle(struct session *s, const char *line, size_t len)
{
	struct ctlp_request req;
	char err[CTLPROTO_ERR_MAX];
	if (ctlproto_parse_request(line, len, &req, err) < 0) {
		reply_error(s, false, err);
		return;
	}
	log_debug("control: %s%s%s", ctlproto_command_name(req.cmd), req.cmd == CTLP_LOOKUP ? " " : "", req.domain);
	switch (req.cmd) {
	case CTLP_STATUS: reply_facts(s, &req, ctlrender_status); break;
	case CTLP_STREAMS: reply_facts(s, &req, ctlrender_streams); break;
	case CTLP_ONIONS: reply_facts(s, &req, ctlrender_onions); break;
	case CTLP_LOOKUP: start_lookup(s, &req); break;
	case CTLP_RELOAD: reply_reload(s, &req); break;
	case CTLP_ONION_MX: reply_onion_mx(s, &req); break;
	case CTLP_ONION_MX_CHECK: start_check(s, &req); break;
	}
}

static void on_readable(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	if (s->state != SESSION_READING)
		return;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) >= CTLPROTO_LINE_MAX)
			reply_error(s, false, "request longer than 512 bytes");
		return;
	}
	bufferevent_disable(bev, EV_READ);
	handle(s, line, len);
	free(line);
}

/* EOF, an error, or the write timeout. */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	session_close(arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	(void)fd;
	(void)what;
	if (s->state == SESSION_LOOKING_UP)
		reply_error(s, false, "no answer from the discovery within 10 s");
	else if (s->state == SESSION_CHECKING)
		reply_error(s, false, "the relay check did not end in time");
	else
		session_close(s);
}

/* Past CTLSOCK_CLIENTS_MAX: the error is written at once, if the socket takes it, and the connection closed. */
static void refuse(int fd)
{
	static const char text[] = "error 40\ntoo many control connections (8 at once)\n";
	if (send(fd, text, sizeof(text) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("control: refusing a connection: %s", strerror(errno));
	close(fd);
}

static void session_open(struct ctlsock *cs, int fd)
{
	struct session *s = NULL;
	for (size_t i = 0; s == NULL && i < CTLSOCK_CLIENTS_MAX; i++)
		if (cs->sessions[i].state == SESSION_FREE)
			s = &cs->sessions[i];
	if (s == NULL) {
		log_info("control: %d connections already: refused", CTLSOCK_CLIENTS_MAX);
		refuse(fd);
		return;
	}
	s->bev = bufferevent_socket_new(cs->base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->timer = evtimer_new(cs->base, on_timer, s);
	if (s->bev == NULL || s->timer == NULL) {
		if (s->bev != NULL)
			bufferevent_free(s->bev);
		else
			close(fd);
		if (s->timer != NULL)
			event_free(s->timer);
		*s = (struct session){ .cs = cs };
		return;
	}
	s->id = ++cs->next_id;
	s->state = SESSION_READING;
	bufferevent_setwatermark(s->bev, EV_READ, 0, CTLPROTO_LINE_MAX);
	bufferevent_set_timeouts(s->bev, NULL, &idle);
	bufferevent_setcb(s->bev, on_readable, NULL, on_event, s);
	bufferevent_enable(s->bev, EV_READ);
	evtimer_add(s->timer, &idle);
}

static void on_pause_over(evutil_socket_t fd, short what, void *arg)
{
	struct ctlsock *cs = arg;
	(void)fd;
	(void)what;
	event_add(cs->accept_ev, NULL);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct ctlsock *cs = arg;
	struct timeval pause = { PAUSE_MS / 1000, (PAUSE_MS % 1000) * 1000 };
	(void)what;
	for (int i = 0; i < ACCEPTS_PER_CALL; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c >= 0) {
			session_open(cs, c);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			log_warn("control: cannot accept: %s: pausing %d ms", strerror(errno), PAUSE_MS);
			event_del(cs->accept_ev);
			evtimer_add(cs->pause_ev, &pause);
		}
		return;
	}
}

/* Whether a daemon answers on the socket at path (a nonblocking connect: a full backlog counts). */
static bool in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	bool used = fd >= 0 && (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN);
	if (fd >= 0)
		close(fd);
	return used;
}

static int bind_socket(struct ctlsock *cs, char *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	memcpy(sa.sun_path, cs->path, sizeof(sa.sun_path));
	if (lstat(cs->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode) || in_use(&sa)) {
			snprintf(err, CTLSOCK_ERR_MAX, "control socket %s: %s", cs->path,
				 S_ISSOCK(st.st_mode) ? "another daemon answers on it" : "exists and is not a socket");
			return -1;
		}
		unlink(cs->path);
	}
	if ((cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, CTLSOCK_ERR_MAX, "control socket: %s", strerror(errno));
		return -1;
	}
	/* Never reachable by others, not even between bind and chmod. */
	mode_t mask = umask(0117);
	int rc = bind(cs->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (rc < 0 || chmod(cs->path, 0660) < 0 || listen(cs->fd, BACKLOG) < 0 || stat(cs->path, &st) < 0) {
		snprintf(err, CTLSOCK_ERR_MAX, "control socket %s: %s", cs->path, strerror(errno));
		return -1;
	}
	cs->dev = st.st_dev;
	cs->ino = st.st_ino;
	return 0;
}

struct ctlsock *ctlsock_new(struct event_base *base, const char *path, const struct status_source *status,
			    struct onionmap *map, ctlsock_reload_fn *reload, void *reload_arg, char err[CTLSOCK_ERR_MAX])
{
	struct ctlsock *cs = calloc(1, sizeof(*cs));
	if (cs == NULL) {
		snprintf(err, CTLSOCK_ERR_MAX, "control socket: out of memory");
		return NULL;
	}
	*cs = (struct ctlsock){ .base = base, .fd = -1, .status = status, .map = map, .reload = reload,
				.reload_arg = reload_arg };
	for (size_t i = 0; i < CTLSOCK_CLIENTS_MAX; i++)
		cs->sessions[i].cs = cs;
	if (strlen(path) >= sizeof(cs->path)) {
		snprintf(err, CTLSOCK_ERR_MAX, "control socket %.300s: path too long for a unix socket", path);
		free(cs);
		return NULL;
	}
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	if (bind_socket(cs, err) < 0) {
		ctlsock_free(cs);
		return NULL;
	}
	cs->accept_ev = event_new(base, cs->fd, EV_READ | EV_PERSIST, on_accept, cs);
	cs->pause_ev = evtimer_new(base, on_pause_over, cs);
	if (cs->accept_ev == NULL || cs->pause_ev == NULL || event_add(cs->accept_ev, NULL) < 0) {
		snprintf(err, CTLSOCK_ERR_MAX, "control socket %s: cannot watch it", path);
		ctlsock_free(cs);
		return NULL;
	}
	log_notice("control: listening on %s", path);
	return cs;
}

void ctlsock_set_inbound(struct ctlsock *cs, struct inbound *in, const char *socks_path)
{
	cs->inbound = in;
	cs->socks_path = socks_path;
}

void ctlsock_free(struct ctlsock *cs)
{
	struct stat st;
	if (cs == NULL)
		return;
	for (size_t i = 0; i < CTLSOCK_CLIENTS_MAX; i++)
		if (cs->sessions[i].state != SESSION_FREE)
			session_close(&cs->sessions[i]);
	if (cs->check != NULL) {
		relaycheck_free(cs->check->rc);
		free(cs->check);
	}
	while (cs->lookups != NULL) {
		struct lookup *l = cs->lookups;
		lookup_unlink(l);
		if (l->q != NULL)
			onionmap_cancel(l->q);
		free(l);
	}
	if (cs->accept_ev != NULL)
		event_free(cs->accept_ev);
	if (cs->pause_ev != NULL)
		event_free(cs->pause_ev);
	if (cs->fd >= 0) {
		/* Only the socket we made: a later daemon's stays. */
		if (stat(cs->path, &st) == 0 && st.st_dev == cs->dev && st.st_ino == cs->ino)
			unlink(cs->path);
		close(cs->fd);
	}
	free(cs);
}
