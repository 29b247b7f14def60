/* SPDX-License-Identifier: ISC */
/* listener: a TCP listener that, when the process is out of fds or memory (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM), stops accepting for a while instead of spinning on accept() (as redsocks does). */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>

#include "log.h"
#include "stats.h"

/* A pause is logged at most once in this many seconds (the counter has them all). */
#define PAUSE_LOG_SECONDS 10

struct listener {
	struct evconnlistener *lev;
	struct event *resume;
	const char *name;
	listener_cb *cb;
	void *arg;
	unsigned backoff_ms; /* 0 while accepting; else the pause under way */
	time_t logged;
};

static bool out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void accepted(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *peer, int peerlen, void *arg)
{
	struct listener *l = arg;
	(void)lev;
	l->backoff_ms = 0;
	l->cb(fd, peer, peerlen, l->arg);
}

static void resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

/* accept() failed with what evconnlistener does not retry itself. */
static void accept_failed(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	time_t now = time(NULL);
	if (!out_of_resources(err)) {
		log_warn("%s: accept: %s", l->name, strerror(err));
		return;
	}
	l->backoff_ms = l->backoff_ms == 0 ? LISTENER_BACKOFF_FIRST_MS : l->backoff_ms * 2;
	if (l->backoff_ms > LISTENER_BACKOFF_MAX_MS)
		l->backoff_ms = LISTENER_BACKOFF_MAX_MS;
	struct timeval tv = { l->backoff_ms / 1000, (l->backoff_ms % 1000) * 1000 };
	stats_bump(STAT_ACCEPT_PAUSES);
	if (now - l->logged >= PAUSE_LOG_SECONDS) {
		log_warn("%s: accept: %s: not accepting for %u ms", l->name, strerror(err), l->backoff_ms);
		l->logged = now;
	}
	evconnlistener_disable(lev);
	evtimer_add(l->resume, &tv);
}

int listener_freebind(int fd, int family)
{
	int one = 1;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) == 0)
		return 0;
	return setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)); /* also for IPv6 before Linux 4.15 */
}

/* A non-blocking socket bound to sa (address reuse, IPv6-only, free-bind), or -1 with errno. */
static int bound_socket(const struct sockaddr *sa, int salen)
{
	int one = 1, err;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    (sa->sa_family != AF_UNIX && listener_freebind(fd, sa->sa_family) < 0) || bind(fd, sa, (socklen_t)salen) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

struct listener *listener_new(struct event_base *base, const char *name, const struct sockaddr *sa, int salen,
			      int backlog, listener_cb *cb, void *arg)
{
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
	struct listener *l = calloc(1, sizeof(*l));
	int err, fd = -1;
	if (l == NULL)
		return NULL;
	l->name = name;
	l->cb = cb;
	l->arg = arg;
	if ((l->resume = evtimer_new(base, resume, l)) == NULL || (fd = bound_socket(sa, salen)) < 0 ||
	    (l->lev = evconnlistener_new(base, accepted, l, flags, backlog, fd)) == NULL) {
		err = errno;
		if (fd >= 0 && l->lev == NULL)
			close(fd);
		listener_free(l);
		errno = err;
		return NULL;
	}
	evconnlistener_set_error_cb(l->lev, accept_failed);
	return l;
}

void listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	if (l->resume != NULL)
		event_free(l->resume);
	free(l);
}
