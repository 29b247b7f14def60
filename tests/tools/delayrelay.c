/* SPDX-License-Identifier: ISC */
/* delayrelay: a TCP relay that delivers every chunk it reads D ms later, in order, in each
 * direction; put in front of a Tor ORPort it gives a private network realistic hop latency. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define HIGH_WATER (1024 * 1024)

struct chunk {
	struct timeval due;
	struct evbuffer *data;
	struct chunk *next;
};

struct pair;

struct side {
	struct bufferevent *bev;
	struct side *peer;
	struct pair *pair;
	struct chunk *head, *tail; /* read here, waiting to be written to peer */
	struct event *timer;
	int eof;
};

struct pair {
	struct side a, b;
	int open_sides;
};

struct mapping {
	struct sockaddr_in target;
};

static struct timeval delay;

static void side_free(struct side *s)
{
	while (s->head != NULL) {
		struct chunk *c = s->head;
		s->head = c->next;
		evbuffer_free(c->data);
		free(c);
	}
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
}

static void pair_close(struct pair *p)
{
	side_free(&p->a);
	side_free(&p->b);
	free(p);
}

static void arm(struct side *s)
{
	struct timeval now, left;
	if (s->head == NULL)
		return;
	gettimeofday(&now, NULL);
	if (timercmp(&s->head->due, &now, <))
		timerclear(&left);
	else
		timersub(&s->head->due, &now, &left);
	evtimer_add(s->timer, &left);
}

static int drained(struct side *s)
{
	return s->eof && s->head == NULL;
}

static void finish_if_done(struct pair *p)
{
	if ((drained(&p->a) || drained(&p->b)) &&
	    evbuffer_get_length(bufferevent_get_output(p->a.bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(p->b.bev)) == 0)
		pair_close(p);
}

static void due_cb(evutil_socket_t fd, short what, void *arg)
{
	struct side *s = arg;
	struct timeval now;
	(void)fd;
	(void)what;
	gettimeofday(&now, NULL);
	while (s->head != NULL && !timercmp(&s->head->due, &now, >)) {
		struct chunk *c = s->head;
		s->head = c->next;
		if (s->head == NULL)
			s->tail = NULL;
		bufferevent_write_buffer(s->peer->bev, c->data);
		evbuffer_free(c->data);
		free(c);
	}
	arm(s);
	if (evbuffer_get_length(bufferevent_get_output(s->peer->bev)) > HIGH_WATER)
		bufferevent_disable(s->bev, EV_READ);
	finish_if_done(s->pair);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct side *s = arg;
	struct chunk *c = calloc(1, sizeof(*c));
	(void)bev;
	if (c == NULL || (c->data = evbuffer_new()) == NULL) {
		free(c);
		pair_close(s->pair);
		return;
	}
	gettimeofday(&c->due, NULL);
	timeradd(&c->due, &delay, &c->due);
	evbuffer_add_buffer(c->data, bufferevent_get_input(s->bev));
	if (s->tail != NULL)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	if (!evtimer_pending(s->timer, NULL))
		arm(s);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct side *s = arg; /* bev is s's; s->peer reads what lands here */
	(void)bev;
	bufferevent_enable(s->peer->bev, EV_READ);
	finish_if_done(s->pair);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct side *s = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		setsockopt(bufferevent_getfd(s->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		bufferevent_enable(s->bev, EV_READ);
		bufferevent_enable(s->peer->bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		pair_close(s->pair);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		s->eof = 1;
		finish_if_done(s->pair);
	}
}

static int side_init(struct side *s, struct side *peer, struct pair *p, struct event_base *base, int fd)
{
	s->peer = peer;
	s->pair = p;
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->timer = evtimer_new(base, due_cb, s);
	if (s->bev == NULL || s->timer == NULL)
		return -1;
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	return 0;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct mapping *m = arg;
	struct event_base *base = evconnlistener_get_base(l);
	struct pair *p = calloc(1, sizeof(*p));
	int one = 1;
	(void)sa;
	(void)salen;
	if (p == NULL) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (side_init(&p->a, &p->b, p, base, fd) < 0 || side_init(&p->b, &p->a, p, base, -1) < 0 ||
	    bufferevent_socket_connect(p->b.bev, (struct sockaddr *)&m->target, sizeof(m->target)) < 0) {
		pair_close(p);
		return;
	}
}

static int parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct event_base *base;
	if (argc < 3) {
		fprintf(stderr, "usage: delayrelay DELAY_MS LISTEN_IP:PORT=TARGET_IP:PORT...\n");
		return 2;
	}
	long ms = atol(argv[1]);
	delay.tv_sec = ms / 1000;
	delay.tv_usec = (ms % 1000) * 1000;
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	for (int i = 2; i < argc; i++) {
		struct sockaddr_in listen_at;
		struct mapping *m = calloc(1, sizeof(*m));
		char *eq = strchr(argv[i], '=');
		if (m == NULL || eq == NULL)
			return 2;
		*eq = '\0';
		if (parse_addr(argv[i], &listen_at) < 0 || parse_addr(eq + 1, &m->target) < 0) {
			fprintf(stderr, "delayrelay: bad mapping %s=%s\n", argv[i], eq + 1);
			return 2;
		}
		if (evconnlistener_new_bind(base, accept_cb, m, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
					    (struct sockaddr *)&listen_at, sizeof(listen_at)) == NULL) {
			fprintf(stderr, "delayrelay: cannot listen on %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
	}
	event_base_dispatch(base);
	return 0;
}
