/* SPDX-License-Identifier: ISC */
/* metrics: the metrics-listen HTTP listener (libevent's evhttp on the daemon's loop): /metrics in the
 * Prometheus text format, / the status page; metrics-allow peers only, bounded in connections, bytes, time. */
#include "metrics.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "listener.h"
#include "log.h"
#include "promtext.h"
#include "stats.h"
#include "statuspage.h"
#include "strbuf.h"

#define METRICS_BACKLOG 16

/* libevent 2.1 gives no accepted socket to the caller (evhttp_get_request is internal), tells nothing when
 * a connection ends, and has no cap: evhttp makes each connection's bufferevent with ours (evhttp_set_bevcb),
 * which we look at once, right after evhttp gave it the socket and before a byte is read (peer, cap); from
 * then on a connection is its socket, and its slot is free once that fd no longer names it (dev, inode). */
struct fresh {
	struct bufferevent *bev; /* a reference of ours until it is checked */
	TAILQ_ENTRY(fresh) link;
};

struct slot {
	int fd;
	dev_t dev;
	ino_t ino;
	time_t since; /* monotonic */
};

struct metrics {
	const struct config *cfg;
	const struct status_source *src;
	struct evhttp *http;
	struct evconnlistener *listener; /* evhttp's, which frees it */
	struct event *admit;             /* made active by a new connection: it is checked in this loop turn */
	struct event *sweeper;           /* every second: connections past METRICS_MAX_AGE_SECONDS are shut down */
	struct event *resume;            /* accept() failed for want of fds or memory: accepting again */
	TAILQ_HEAD(, fresh) fresh;
	struct slot slots[METRICS_MAX_CONNECTIONS];
	size_t used;
};

static time_t monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static bool peer_allowed(const struct config *cfg, const struct sockaddr *peer)
{
	if (peer->sa_family == AF_INET)
		return config_metrics_allowed(cfg, AF_INET, (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr);
	if (peer->sa_family == AF_INET6)
		return config_metrics_allowed(cfg, AF_INET6,
					      ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr);
	return false;
}

static bool slot_alive(const struct slot *s)
{
	struct stat st;
	return fstat(s->fd, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino;
}

/* Ended connections leave their slot; old ones are shut down (evhttp reads the end and frees them). */
static void sweep(struct metrics *m)
{
	time_t now = monotonic();
	for (size_t i = 0; i < m->used;) {
		struct slot *s = &m->slots[i];
		if (!slot_alive(s)) {
			*s = m->slots[--m->used];
			continue;
		}
		if (now - s->since >= METRICS_MAX_AGE_SECONDS)
			shutdown(s->fd, SHUT_RDWR);
		i++;
	}
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sweep(arg);
}

/* A peer outside metrics-allow, or one over the cap, is shut out before a byte is read: no HTTP parsing,
 * and nothing said to it (evhttp reads the end and frees the connection). */
static void check(struct metrics *m, struct bufferevent *bev)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	struct stat st;
	evutil_socket_t fd = bufferevent_getfd(bev);
	if (fd < 0)
		return;
	if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0 || !peer_allowed(m->cfg, (struct sockaddr *)&peer)) {
		stats_bump(STAT_METRICS_REFUSED);
		shutdown(fd, SHUT_RDWR);
	} else if (m->used == METRICS_MAX_CONNECTIONS || fstat(fd, &st) < 0) {
		stats_bump(STAT_METRICS_BUSY);
		shutdown(fd, SHUT_RDWR);
	} else {
		m->slots[m->used++] = (struct slot){ fd, st.st_dev, st.st_ino, monotonic() };
	}
}

static void on_admit(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;
	struct fresh *f;
	(void)fd;
	(void)what;
	sweep(m);
	while ((f = TAILQ_FIRST(&m->fresh)) != NULL) {
		TAILQ_REMOVE(&m->fresh, f, link);
		check(m, f->bev);
		bufferevent_decref(f->bev);
		free(f);
	}
}

/* evhttp's new connection: its bufferevent (evhttp sets the socket on it next). */
static struct bufferevent *on_connection(struct event_base *base, void *arg)
{
	struct metrics *m = arg;
	struct fresh *f = calloc(1, sizeof(*f));
	if (f == NULL || (f->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		/* evhttp makes a plain one: the request callback still checks the peer. */
		log_warn("metrics: out of memory for a connection");
		free(f);
		return NULL;
	}
	bufferevent_incref(f->bev);
	TAILQ_INSERT_TAIL(&m->fresh, f, link);
	event_active(m->admit, EV_READ, 0);
	return f->bev;
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *type, const struct strbuf *b)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evbuffer_new();
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
	if (body == NULL || (b != NULL && evbuffer_add(body, b->data, b->len) < 0)) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	} else {
		if (b == NULL)
			evbuffer_add_printf(body, "%d %s\n", code, reason);
		evhttp_send_reply(req, code, reason, body);
	}
	if (body != NULL)
		evbuffer_free(body);
}

static bool request_allowed(const struct metrics *m, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct sockaddr *peer = evcon != NULL ? evhttp_connection_get_addr(evcon) : NULL;
	return peer != NULL && peer_allowed(m->cfg, peer);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	bool is_metrics = path != NULL && strcmp(path, "/metrics") == 0;
	stats_bump(STAT_METRICS_REQUESTS);
	if (!request_allowed(m, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		reply(req, 403, "Forbidden", "text/plain; charset=utf-8", NULL);
		return;
	}
	if (!is_metrics && (path == NULL || strcmp(path, "/") != 0)) {
		reply(req, HTTP_NOTFOUND, "Not Found", "text/plain; charset=utf-8", NULL);
		return;
	}
	struct status_snapshot s;
	struct strbuf b;
	memset(&s, 0, sizeof(s));
	status_fill(m->src, &s);
	strbuf_init(&b, METRICS_MAX_REPLY_BYTES);
	if (is_metrics)
		promtext_render(&b, &s);
	else
		statuspage_render(&b, &s);
	if (b.failed) {
		log_warn("metrics: the %s reply does not fit in %u bytes", path, METRICS_MAX_REPLY_BYTES);
		reply(req, HTTP_INTERNAL, "Internal Server Error", "text/plain; charset=utf-8", NULL);
	} else {
		reply(req, HTTP_OK, "OK", is_metrics ? "text/plain; version=0.0.4; charset=utf-8" : "text/html; charset=utf-8",
		      &b);
	}
	strbuf_free(&b);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;
	(void)fd;
	(void)what;
	evconnlistener_enable(m->listener);
}

/* accept() failed with what evconnlistener does not retry itself (EMFILE, ENFILE, ENOBUFS, ENOMEM):
 * a pause instead of a spin. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	static const struct timeval pause = { 0, LISTENER_BACKOFF_MAX_MS * 1000 };
	struct metrics *m = arg;
	log_warn("metrics: accept: %s: not accepting for %d ms", strerror(errno), LISTENER_BACKOFF_MAX_MS);
	stats_bump(STAT_ACCEPT_PAUSES);
	evconnlistener_disable(lev);
	evtimer_add(m->resume, &pause);
}

static int bind_listener(struct metrics *m, struct event_base *base, const struct config_sockaddr *at)
{
	int one = 1, fd = socket(at->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (at->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    listener_freebind(fd, at->ss.ss_family) < 0 || bind(fd, (const struct sockaddr *)&at->ss, at->len) < 0 ||
	    (m->listener = evconnlistener_new(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
					       METRICS_BACKLOG, fd)) == NULL) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	evconnlistener_set_error_cb(m->listener, on_accept_error);
	if (evhttp_bind_listener(m->http, m->listener) == NULL) {
		evconnlistener_free(m->listener);
		m->listener = NULL;
		return -1;
	}
	return 0;
}

static struct evhttp *http_new(struct event_base *base, struct metrics *m)
{
	struct evhttp *http = evhttp_new(base);
	if (http == NULL)
		return NULL;
	evhttp_set_max_headers_size(http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET);
	evhttp_set_timeout(http, METRICS_TIMEOUT_SECONDS);
	evhttp_set_gencb(http, on_request, m);
	evhttp_set_bevcb(http, on_connection, m);
	return http;
}

struct metrics *metrics_new(struct event_base *base, const struct config *cfg, const struct status_source *src)
{
	static const struct timeval second = { 1, 0 };
	struct metrics *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		log_err("metrics: out of memory");
		return NULL;
	}
	m->cfg = cfg;
	m->src = src;
	TAILQ_INIT(&m->fresh);
	if ((m->http = http_new(base, m)) == NULL || (m->admit = event_new(base, -1, 0, on_admit, m)) == NULL ||
	    (m->resume = evtimer_new(base, on_resume, m)) == NULL ||
	    (m->sweeper = event_new(base, -1, EV_PERSIST, on_sweep, m)) == NULL || evtimer_add(m->sweeper, &second) < 0) {
		log_err("metrics: cannot set up the HTTP server");
		metrics_free(m);
		return NULL;
	}
	if (bind_listener(m, base, &cfg->metrics_listen) < 0) {
		log_err("metrics: cannot listen (%s:%d): %s", cfg->path, cfg->metrics_listen.line, strerror(errno));
		metrics_free(m);
		return NULL;
	}
	return m;
}

void metrics_reconfigure(struct metrics *m, const struct config *cfg)
{
	m->cfg = cfg;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http); /* its listener and connections with it */
	struct fresh *f;
	while ((f = TAILQ_FIRST(&m->fresh)) != NULL) {
		TAILQ_REMOVE(&m->fresh, f, link);
		bufferevent_decref(f->bev);
		free(f);
	}
	if (m->admit != NULL)
		event_free(m->admit);
	if (m->resume != NULL)
		event_free(m->resume);
	if (m->sweeper != NULL)
		event_free(m->sweeper);
	free(m);
}
