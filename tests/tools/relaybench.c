/* SPDX-License-Identifier: ISC */
/* relaybench: the benchmark's client against an echo server, straight or through a SOCKS5
 * server: bulk throughput over N streams, new connections per second, or N streams held open.
 * tput and conns also print the CPU time relaybench itself took (cpu_ms), before the figure. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define CHUNK (64 * 1024)

enum mode { MODE_TPUT, MODE_CONNS, MODE_HOLD };
enum state { ST_SOCKS_METHOD, ST_SOCKS_REPLY, ST_ECHO };

struct bench {
	struct event_base *base;
	enum mode mode;
	struct sockaddr_in addr;
	struct sockaddr_un socks_path; /* the SOCKS server's unix socket, when one is given */
	bool socks;
	const char *host;
	unsigned short port;
	size_t bytes;      /* per stream, each way (tput) */
	long total, started, done, failed, in_flight, parallel;
	struct event *stdin_ev;
};

struct conn {
	struct bench *b;
	enum state state;
	struct bufferevent *bev;
	size_t sent, received;
};

static char zeros[CHUNK];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time this process has used (user + system), in milliseconds. */
static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void start_conn(struct bench *b);
static void held(struct bench *b);

static void conn_end(struct conn *c, bool ok)
{
	struct bench *b = c->b;
	bufferevent_free(c->bev);
	free(c);
	b->in_flight--;
	if (ok)
		b->done++;
	else
		b->failed++;
	if (b->mode == MODE_HOLD && !ok)
		held(b);
	if (b->started < b->total)
		start_conn(b);
	else if (b->in_flight == 0 && b->mode != MODE_HOLD)
		event_base_loopexit(b->base, NULL);
}

static void fill(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	while (c->sent < c->b->bytes && evbuffer_get_length(out) < 4 * CHUNK) {
		size_t n = c->b->bytes - c->sent < CHUNK ? c->b->bytes - c->sent : CHUNK;
		evbuffer_add(out, zeros, n);
		c->sent += n;
	}
}

static void begin_echo(struct conn *c)
{
	c->state = ST_ECHO;
	if (c->b->mode == MODE_TPUT)
		fill(c);
	else
		bufferevent_write(c->bev, "x", 1);
}

static void held(struct bench *b)
{
	if (b->done + b->failed == b->total) {
		printf("held %ld failed %ld\n", b->done, b->failed);
		fflush(stdout);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned char *p;
	if (c->state == ST_SOCKS_METHOD) {
		if (evbuffer_get_length(in) < 2)
			return;
		p = evbuffer_pullup(in, 2);
		if (p[0] != 5 || p[1] != 0) {
			conn_end(c, false);
			return;
		}
		evbuffer_drain(in, 2);
		c->state = ST_SOCKS_REPLY;
	}
	if (c->state == ST_SOCKS_REPLY) {
		if (evbuffer_get_length(in) < 10)
			return;
		p = evbuffer_pullup(in, 10);
		if (p[1] != 0 || p[3] != 1) {
			conn_end(c, false);
			return;
		}
		evbuffer_drain(in, 10);
		begin_echo(c);
	}
	c->received += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->b->mode == MODE_TPUT) {
		fill(c);
		if (c->received >= c->b->bytes)
			conn_end(c, c->received == c->b->bytes);
	} else if (c->received >= 1) {
		if (c->b->mode == MODE_CONNS) {
			conn_end(c, true);
		} else if (c->received == 1) {
			c->b->done++;
			held(c->b);
		}
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	(void)bev;
	if (c->state == ST_ECHO && c->b->mode == MODE_TPUT)
		fill(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct bench *b = c->b;
	int one = 1;
	if (what & BEV_EVENT_CONNECTED) {
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!b->socks) {
			begin_echo(c);
			return;
		}
		size_t hl = strlen(b->host);
		unsigned char req[3 + 4 + 1 + 255 + 2] = { 5, 1, 0, 5, 1, 0, 3, (unsigned char)hl };
		memcpy(req + 8, b->host, hl);
		req[8 + hl] = (unsigned char)(b->port >> 8);
		req[9 + hl] = (unsigned char)b->port;
		bufferevent_write(bev, req, 10 + hl);
		return;
	}
	if (b->mode == MODE_HOLD && c->state == ST_ECHO && c->received > 0)
		b->done--;
	conn_end(c, false);
}

static void start_conn(struct bench *b)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->b = b;
	c->state = b->socks ? ST_SOCKS_METHOD : ST_ECHO;
	c->bev = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setwatermark(c->bev, EV_WRITE, CHUNK, 0);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	b->started++;
	b->in_flight++;
	struct sockaddr *sa = b->socks_path.sun_path[0] ? (struct sockaddr *)&b->socks_path : (struct sockaddr *)&b->addr;
	socklen_t salen = b->socks_path.sun_path[0] ? sizeof(b->socks_path) : sizeof(b->addr);
	if (bufferevent_socket_connect(c->bev, sa, salen) < 0)
		conn_end(c, false);
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	char buf[256];
	(void)what;
	if (read(fd, buf, sizeof(buf)) <= 0)
		event_base_loopbreak(b->base);
}

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
	fprintf(stderr, "usage: relaybench tput  IP PORT STREAMS MIB      [SOCKS_IP:SOCKS_PORT|SOCKS_PATH HOST]\n"
			"       relaybench conns IP PORT COUNT PARALLEL   [SOCKS_IP:SOCKS_PORT|SOCKS_PATH HOST]\n"
			"       relaybench hold  IP PORT COUNT            [SOCKS_IP:SOCKS_PORT|SOCKS_PATH HOST]\n"
			"SOCKS_PATH: a unix socket (starts with /)\n"
			"hold prints 'held N failed M' once every stream answered, then waits for stdin to close\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench b = { .addr.sin_family = AF_INET };
	int nfixed;
	if (argc < 5)
		usage();
	if (strcmp(argv[1], "tput") == 0)
		b.mode = MODE_TPUT, nfixed = 6;
	else if (strcmp(argv[1], "conns") == 0)
		b.mode = MODE_CONNS, nfixed = 6;
	else if (strcmp(argv[1], "hold") == 0)
		b.mode = MODE_HOLD, nfixed = 5;
	else
		usage();
	if ((argc != nfixed && argc != nfixed + 2) || inet_pton(AF_INET, argv[2], &b.addr.sin_addr) != 1)
		usage();
	b.port = (unsigned short)atoi(argv[3]);
	b.addr.sin_port = htons(b.port);
	b.total = atol(argv[4]);
	b.parallel = b.total;
	if (b.mode == MODE_TPUT)
		b.bytes = (size_t)atol(argv[5]) * 1024 * 1024;
	else if (b.mode == MODE_CONNS)
		b.parallel = atol(argv[5]);
	if (argc == nfixed + 2) {
		char *colon = strchr(argv[nfixed], ':');
		if (strlen(argv[nfixed + 1]) > 255)
			usage();
		if (argv[nfixed][0] == '/') {
			if (strlen(argv[nfixed]) >= sizeof(b.socks_path.sun_path))
				usage();
			b.socks_path.sun_family = AF_UNIX;
			strcpy(b.socks_path.sun_path, argv[nfixed]);
		} else {
			if (colon == NULL)
				usage();
			*colon = '\0';
			if (inet_pton(AF_INET, argv[nfixed], &b.addr.sin_addr) != 1)
				usage();
			b.addr.sin_port = htons((unsigned short)atoi(colon + 1));
		}
		b.socks = true;
		b.host = argv[nfixed + 1];
	}
	if (b.total < 1 || b.parallel < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	b.base = event_base_new();
	if (b.mode == MODE_HOLD) {
		b.stdin_ev = event_new(b.base, 0, EV_READ | EV_PERSIST, on_stdin, &b);
		event_add(b.stdin_ev, NULL);
	}
	double t0 = now_s(), cpu0 = cpu_ms();
	for (long i = 0; i < b.parallel && i < b.total; i++)
		start_conn(&b);
	event_base_dispatch(b.base);
	double dt = now_s() - t0, cpu = cpu_ms() - cpu0;
	if (b.mode == MODE_TPUT)
		printf("streams %ld failed %ld seconds %.3f cpu_ms %.0f mibps %.1f\n", b.done, b.failed, dt, cpu,
		       (double)b.done * (double)b.bytes / (1024.0 * 1024.0) / dt);
	else if (b.mode == MODE_CONNS)
		printf("conns %ld failed %ld seconds %.3f cpu_ms %.0f per_second %.0f\n", b.done, b.failed, dt, cpu,
		       (double)b.done / dt);
	return b.failed == 0 ? 0 : 1;
}
