/* SPDX-License-Identifier: ISC */
/* echod: a TCP echo server for the tests (every byte read is written back), the far end of
 * the relay's byte-count tests behind an onion service. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

static void echo_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void echo_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void echo_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	(void)sa;
	(void)len;
	(void)arg;
	bufferevent_setcb(bev, echo_read, NULL, echo_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	if (argc != 3 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "usage: echod IP PORT\n");
		return 2;
	}
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	if (evconnlistener_new_bind(base, echo_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
				    (struct sockaddr *)&sin, sizeof(sin)) == NULL) {
		perror("echod: listen");
		return 1;
	}
	event_base_dispatch(base);
	return 0;
}
