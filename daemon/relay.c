/* SPDX-License-Identifier: ISC */
/* relay: the bytes both ways between two connected sockets once a stream is open (proxy.c, inbound.c):
 * splice(2) through a pipe per direction, back-pressure, half-close, and the idle timeout.
 * Bounds per direction: RELAY_PIPE_BYTES held (reading the sender stops there); bytes go through a
 * buffer of RELAY_BUF_BYTES, malloc'd while it holds bytes, until as many have passed: then a pipe
 * (2 fds) is made for that direction, so a stream costs its 2 sockets and up to 4 pipe fds, and a
 * short exchange none; when no pipe can be made (out of descriptors), and always for an SMTP
 * client's way, the buffer stays. The idle time given without a byte ends it (also a relay whose
 * SMTP client's EOF is held, see relay.h). */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event_struct.h>

#include "stats.h"

#define RELAY_BUF_BYTES (16 * 1024)
#define PUMP_ROUNDS 16

/* One direction: bytes read from src wait in the pipe (or in buf, see above) until dst takes them.
 * buf also carries what a bufferevent had read before the relay began; while it holds bytes
 * nothing more is read. */
struct flow {
	struct relay *r;
	enum relay_way way;
	int src, dst;
	int pipe_rd, pipe_wr; /* -1 until RELAY_BUF_BYTES have passed through buf */
	char *buf;
	size_t off, held; /* held: bytes read and not yet written */
	bool eof, shut;   /* src sent its EOF; dst has been shut for writing (or is held open, below) */
	size_t through_buf; /* bytes read into buf: from RELAY_BUF_BYTES on, reads go through a pipe */
	bool smtp_client; /* RELAY_SMTP_CLIENT's way: no pipe, tail kept, EOF after QUIT held */
	char tail[6];	  /* smtp_client: the last bytes read */
};

struct relay {
	const struct relay_cbs *cbs;
	void *arg;
	time_t idle_seconds, last_active;
	struct flow flow[2];
	struct event io[2]; /* flow[i].src readable, flow[1 - i].dst writable: one event per socket,
			     * edge-triggered, added for good */
	struct event idle;
};

static bool flow_buffered(const struct flow *f)
{
	return f->buf != NULL;
}

static void flow_close_pipe(struct flow *f)
{
	if (f->pipe_rd >= 0) {
		close(f->pipe_rd);
		close(f->pipe_wr);
	}
	f->pipe_rd = f->pipe_wr = -1;
}

/* Keeps the last bytes of what src sent, for quit_before_eof. */
static void flow_note_tail(struct flow *f, const char *p, size_t n)
{
	size_t k = n < sizeof(f->tail) ? n : sizeof(f->tail);
	memmove(f->tail, f->tail + k, sizeof(f->tail) - k);
	memcpy(f->tail + sizeof(f->tail) - k, p + n - k, k);
}

static bool quit_before_eof(const struct flow *f)
{
	return f->smtp_client && strncasecmp(f->tail, "QUIT\r\n", sizeof(f->tail)) == 0;
}

static int flow_make_pipe(struct flow *f)
{
	int p[2];
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	f->pipe_rd = p[0];
	f->pipe_wr = p[1];
	return 0;
}

/* One read from src: into the pipe, or into buf when there is no pipe. Bytes read, 0 at EOF, -1
 * with errno. */
static ssize_t flow_fill(struct flow *f)
{
	if (f->pipe_rd < 0 && f->through_buf >= RELAY_BUF_BYTES && !f->smtp_client && flow_make_pipe(f) < 0)
		stats_bump(STAT_RELAY_NO_PIPE);
	if (f->pipe_rd >= 0)
		return splice(f->src, NULL, f->pipe_wr, NULL, RELAY_PIPE_BYTES - f->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if ((f->buf = malloc(RELAY_BUF_BYTES)) == NULL)
		return -1;
	f->off = 0;
	ssize_t n = recv(f->src, f->buf, RELAY_BUF_BYTES, 0);
	if (n <= 0) {
		free(f->buf);
		f->buf = NULL;
	} else {
		f->through_buf += (size_t)n;
		if (f->smtp_client)
			flow_note_tail(f, f->buf, (size_t)n);
	}
	return n;
}

/* Writes what is held until dst takes no more: the bytes written, -1 on an error. */
static ssize_t flow_flush(struct flow *f)
{
	ssize_t total = 0;
	while (f->held > 0) {
		ssize_t n = flow_buffered(f) ? send(f->dst, f->buf + f->off, f->held, MSG_NOSIGNAL)
					     : splice(f->pipe_rd, NULL, f->dst, NULL, f->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? total : -1;
		f->held -= (size_t)n;
		f->off += (size_t)n;
		total += n;
	}
	free(f->buf);
	f->buf = NULL;
	return total;
}

static bool flow_has_room(const struct flow *f)
{
	return !f->eof && !flow_buffered(f) && f->held < RELAY_PIPE_BYTES;
}

/* One read: 1 when bytes came, 0 when none did (EAGAIN, or the EOF now seen), -1 on an error. */
static int flow_read(struct flow *f)
{
	struct relay *r = f->r;
	ssize_t n = flow_fill(f);
	if (n > 0) {
		f->held += (size_t)n;
		r->last_active = time(NULL);
		r->cbs->moved(r->arg, f->way, (size_t)n);
		return 1;
	}
	if (n == 0) {
		f->eof = true;
		return 0;
	}
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

/* Reads and writes until neither moves a byte: a socket's next edge comes only after it said
 * EAGAIN, and a write that makes room lets reading go on. After PUMP_ROUNDS rounds the rest waits
 * for a later turn of the loop, so one busy stream does not starve the others. -1 on an error. */
static int flow_pump(struct flow *f)
{
	for (int round = 0; round < PUMP_ROUNDS; round++) {
		int got = flow_has_room(f) ? flow_read(f) : 0;
		ssize_t put = got < 0 ? -1 : flow_flush(f);
		if (put < 0)
			return -1;
		if (f->eof && f->held == 0 && !f->shut) {
			if (!quit_before_eof(f))
				shutdown(f->dst, SHUT_WR);
			f->shut = true;
		}
		if (got == 0 && put == 0)
			return 0;
	}
	event_active(&f->r->io[f->way], EV_READ, 1);
	return 0;
}

static void relay_end(struct relay *r, enum relay_end why)
{
	for (int i = 0; i < 2; i++)
		event_del(&r->io[i]);
	event_del(&r->idle);
	r->cbs->ended(r->arg, why);
}

/* false when the relay has ended (it may be freed). */
static bool flow_run(struct flow *f)
{
	struct relay *r = f->r;
	if (flow_pump(f) < 0)
		relay_end(r, RELAY_ERROR);
	else if (r->flow[0].shut && r->flow[1].shut)
		relay_end(r, RELAY_DONE);
	else
		return true;
	return false;
}

/* arg: the flow reading this socket; readable runs it, writable runs the other way's flow (it
 * writes here) when it holds bytes. */
static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct flow *f = arg, *back = &f->r->flow[1 - f->way];
	(void)fd;
	if ((what & EV_READ) && !flow_run(f))
		return;
	if ((what & EV_WRITE) && back->held > 0)
		flow_run(back);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct timeval tv = { r->idle_seconds, 0 };
	(void)fd;
	(void)what;
	if (time(NULL) - r->last_active >= r->idle_seconds) {
		relay_end(r, RELAY_IDLE);
		return;
	}
	event_add(&r->idle, &tv);
}

/* The socket of bev, with the bytes it had read moved to f->buf; the bufferevent is freed. */
static int take_socket(struct bufferevent *bev, struct flow *f)
{
	struct evbuffer *input = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(input);
	int fd = bufferevent_getfd(bev);
	bufferevent_setfd(bev, -1);
	if (len > 0 && (f->buf = malloc(len)) != NULL)
		f->held = (size_t)evbuffer_remove(input, f->buf, len);
	bufferevent_free(bev);
	return len > 0 && f->buf == NULL ? -1 : fd;
}

static void flow_init(struct relay *r, struct event_base *base, enum relay_way way, int src, int dst)
{
	struct flow *f = &r->flow[way];
	f->r = r;
	f->way = way;
	f->src = src;
	f->dst = dst;
	f->pipe_rd = f->pipe_wr = -1;
	event_assign(&r->io[way], base, src, EV_READ | EV_WRITE | EV_PERSIST | EV_ET, on_socket, f);
}

/* relay_new's work on bare sockets; early[way] holds what was read of its source before. */
static struct relay *relay_start(struct event_base *base, int fa, int fb, struct flow early[2],
				 unsigned flags, time_t idle_seconds, const struct relay_cbs *cbs, void *arg)
{
	struct relay *r = calloc(1, sizeof(*r));
	struct timeval tv = { idle_seconds, 0 };
	if (r == NULL || fa < 0 || fb < 0) {
		free(r);
		free(early[0].buf);
		free(early[1].buf);
		if (fa >= 0)
			close(fa);
		if (fb >= 0)
			close(fb);
		return NULL;
	}
	r->cbs = cbs;
	r->arg = arg;
	r->idle_seconds = idle_seconds;
	r->last_active = time(NULL);
	flow_init(r, base, RELAY_A_TO_B, fa, fb);
	flow_init(r, base, RELAY_B_TO_A, fb, fa);
	r->flow[RELAY_A_TO_B].smtp_client = (flags & RELAY_SMTP_CLIENT) != 0;
	evtimer_assign(&r->idle, base, on_idle, r);
	event_add(&r->idle, &tv);
	for (int i = 0; i < 2; i++) {
		struct flow *f = &r->flow[i];
		f->buf = early[i].buf;
		f->held = early[i].held;
		if (f->held > 0 && f->smtp_client)
			flow_note_tail(f, f->buf, f->held);
		if (f->held > 0)
			cbs->moved(arg, f->way, f->held);
		if (f->buf != NULL && f->held == 0) {
			free(f->buf);
			f->buf = NULL;
		}
		event_add(&r->io[i], NULL);
		event_active(&r->io[i], EV_READ, 1);
	}
	return r;
}

struct relay *relay_new(struct event_base *base, struct bufferevent *a, struct bufferevent *b, unsigned flags,
			time_t idle_seconds, const struct relay_cbs *cbs, void *arg)
{
	struct flow early[2] = { { .buf = NULL }, { .buf = NULL } };
	int fa = take_socket(a, &early[RELAY_A_TO_B]), fb = take_socket(b, &early[RELAY_B_TO_A]);
	return relay_start(base, fa, fb, early, flags, idle_seconds, cbs, arg);
}

struct relay *relay_new_fds(struct event_base *base, int a, int b, unsigned flags, time_t idle_seconds,
			    const struct relay_cbs *cbs, void *arg)
{
	struct flow early[2] = { { .buf = NULL }, { .buf = NULL } };
	return relay_start(base, a, b, early, flags, idle_seconds, cbs, arg);
}

void relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < 2; i++) {
		struct flow *f = &r->flow[i];
		event_del(&r->io[i]);
		flow_close_pipe(f);
		free(f->buf);
		close(f->src);
	}
	event_del(&r->idle);
	free(r);
}

void relay_set_idle(struct relay *r, time_t idle_seconds)
{
	r->idle_seconds = idle_seconds;
}
