/* SPDX-License-Identifier: ISC */
/* inbound: onion-mx, the far end of the onion service: Tor's connections to port 25 relayed to the
 * LAN mail server from onion-mx-source; and the onion name with the DNS records to publish.
 * Bounds on what the internet controls (inbound.h): INBOUND_MAX_CONNS connections at once,
 * INBOUND_CONNECT_SECONDS to reach the mail server, INBOUND_IDLE_SECONDS without a byte, and
 * RELAY_PIPE_BYTES buffered each way (relay.c); a client the mail server cannot take gets a 421 line,
 * REFUSE_SECONDS to take it. */
#include "inbound.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event_struct.h>

#include "fsdir.h"
#include "listener.h"
#include "log.h"
#include "onion.h"
#include "relay.h"
#include "smtpdialog.h"
#include "stats.h"

#define LISTEN_BACKLOG 16
#define REFUSE_SECONDS 10
/* The records text: per domain two lines of at most a domain (253), an onion name and words. */
#define RECORD_LINE_MAX (253 + ONION_NAME_LEN + 64)

/* CONNECTING: the TCP connect to the mail server is under way (Tor's side waits unread, its
 * hang-up seen once the connect ends);
 * RELAY: bytes both ways (relay.c holds both sockets); REFUSING: the 421 line goes to Tor's side, then the close. */
enum conn_state { CONN_CONNECTING, CONN_RELAY, CONN_REFUSING };

struct conn {
	struct inbound *in;
	enum conn_state state;
	struct bufferevent *tor, *lan; /* until CONN_RELAY */
	struct relay *relay;           /* CONN_RELAY */
	uint64_t in_bytes, out_bytes; /* from Tor to the mail server, and back */
	time_t started;
	struct event timer; /* the connect timeout, then the refusal's */
	struct conn *prev, *next;
};

struct inbound {
	struct event_base *base;
	struct listener *listener;
	struct sockaddr_storage target, source;
	socklen_t target_len, source_len;
	char target_text[INET6_ADDRSTRLEN + 8], source_text[INET6_ADDRSTRLEN];
	char *domains; /* n_domains names, each NUL-terminated, one after another */
	size_t n_domains;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char hostname_path[PATH_MAX], records_path[PATH_MAX];
	char onion[ONION_NAME_LEN + 1];
	char *records;
	struct event *poll; /* until Tor has written the hostname file */
	struct conn *conns;
	size_t n_conns;
};

static void conn_free(struct conn *c)
{
	struct inbound *in = c->in;
	if (c->state == CONN_RELAY)
		log_info("onion-mx: connection to %s closed: %llu bytes in, %llu out, %lld s", in->target_text,
			 (unsigned long long)c->in_bytes, (unsigned long long)c->out_bytes,
			 (long long)(time(NULL) - c->started));
	relay_free(c->relay);
	if (c->tor != NULL)
		bufferevent_free(c->tor);
	if (c->lan != NULL)
		bufferevent_free(c->lan);
	event_del(&c->timer);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		in->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	in->n_conns--;
	free(c);
}

/* ---- refusing ---- */

static void refuse_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_free(arg);
}

static void refused_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_free(arg);
}

static void refused_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);
}

/* The sending MTA reads a 421 line and defers its mail; why is logged, never told to the internet. */
static void refuse(struct conn *c, const char *reason)
{
	struct timeval tv = { REFUSE_SECONDS, 0 };
	stats_bump(STAT_INBOUND_REFUSED);
	log_notice("onion-mx: connection refused: %s", reason);
	if (c->lan != NULL) {
		bufferevent_free(c->lan);
		c->lan = NULL;
	}
	c->state = CONN_REFUSING;
	bufferevent_disable(c->tor, EV_READ);
	bufferevent_setcb(c->tor, NULL, refused_written, refused_event, c);
	evbuffer_add_printf(bufferevent_get_output(c->tor), "421 4.4.1 the mail server is unreachable, try again later\r\n");
	bufferevent_enable(c->tor, EV_WRITE);
	evtimer_del(&c->timer);
	evtimer_assign(&c->timer, c->in->base, refuse_done, c);
	evtimer_add(&c->timer, &tv);
}

/* ---- relay ---- */

static void relay_moved(void *arg, enum relay_way way, size_t n)
{
	struct conn *c = arg;
	if (way == RELAY_A_TO_B) {
		c->in_bytes += n;
		stats_add(STAT_INBOUND_BYTES_IN, n);
	} else {
		c->out_bytes += n;
		stats_add(STAT_INBOUND_BYTES_OUT, n);
	}
}

static void relay_ended(void *arg, enum relay_end why)
{
	struct conn *c = arg;
	if (why == RELAY_IDLE)
		log_info("onion-mx: connection to %s idle for %d s", c->in->target_text, INBOUND_IDLE_SECONDS);
	conn_free(c);
}

static const struct relay_cbs relay_cbs = { relay_moved, relay_ended };

/* Connected: relay.c takes both sockets (a: Tor's, b: the mail server's). */
static void start_relay(struct conn *c)
{
	struct bufferevent *tor = c->tor, *lan = c->lan;
	int one = 1;
	c->state = CONN_RELAY;
	setsockopt(bufferevent_getfd(lan), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	log_info("onion-mx: connected to %s from %s", c->in->target_text, c->in->source_text);
	evtimer_del(&c->timer);
	c->tor = c->lan = NULL;
	c->relay = relay_new(c->in->base, tor, lan, 0, INBOUND_IDLE_SECONDS, &relay_cbs, c);
	if (c->relay == NULL) {
		log_warn("onion-mx: cannot relay to %s: %s", c->in->target_text, strerror(errno));
		conn_free(c);
	}
}

/* ---- connecting to the mail server ---- */

static void connect_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char reason[128];
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		start_relay(c);
		return;
	}
	snprintf(reason, sizeof(reason), "the mail server %s is unreachable (%s)", c->in->target_text,
		 strerror(EVUTIL_SOCKET_ERROR()));
	refuse(c, reason);
}

static void connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char reason[128];
	(void)fd;
	(void)what;
	snprintf(reason, sizeof(reason), "the mail server %s did not answer within %d s", c->in->target_text,
		 INBOUND_CONNECT_SECONDS);
	refuse(c, reason);
}

/* A socket bound to onion-mx-source (any port), so the mail server sees that address; -1 with errno. */
static int source_socket(const struct inbound *in)
{
	int one = 1, err;
	int fd = socket(in->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&in->source, in->source_len) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int begin_connect(struct conn *c)
{
	struct inbound *in = c->in;
	struct timeval tv = { INBOUND_CONNECT_SECONDS, 0 };
	int fd = source_socket(in);
	if (fd < 0)
		return -1;
	if ((c->lan = bufferevent_socket_new(in->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		return -1;
	}
	bufferevent_setcb(c->lan, NULL, NULL, connect_event, c);
	evtimer_add(&c->timer, &tv);
	if (bufferevent_socket_connect(c->lan, (const struct sockaddr *)&in->target, (int)in->target_len) < 0)
		return -1;
	return 0;
}

static void accepted(evutil_socket_t fd, struct sockaddr *peer, int peerlen, void *arg)
{
	struct inbound *in = arg;
	char reason[160];
	(void)peer;
	(void)peerlen;
	if (in->n_conns >= INBOUND_MAX_CONNS) {
		stats_bump(STAT_INBOUND_REFUSED);
		log_notice("onion-mx: %d connections at once: closing a new one", INBOUND_MAX_CONNS);
		close(fd);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->in = in;
	c->started = time(NULL);
	c->next = in->conns;
	if (in->conns != NULL)
		in->conns->prev = c;
	in->conns = c;
	in->n_conns++;
	evtimer_assign(&c->timer, in->base, connect_timeout, c);
	c->tor = bufferevent_socket_new(in->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->tor == NULL) {
		close(fd);
		conn_free(c);
		return;
	}
	stats_bump(STAT_INBOUND_CONNS);
	if (begin_connect(c) < 0) {
		snprintf(reason, sizeof(reason), "cannot connect from %s to the mail server %s (%s)", in->source_text,
			 in->target_text, strerror(errno));
		refuse(c, reason);
	}
}

/* ---- the onion name and the records ---- */

/* One line each: "onion <name>", then per domain "srv <the SRV record>" and "map <the map line>". */
static char *format_records(const struct inbound *in)
{
	size_t len = (2 * in->n_domains + 1) * RECORD_LINE_MAX + 1, used;
	char *text = malloc(len);
	if (text == NULL)
		return NULL;
	used = (size_t)snprintf(text, len, "onion %s\n", in->onion);
	const char *d = in->domains;
	for (size_t i = 0; i < in->n_domains; i++, d += strlen(d) + 1)
		used += (size_t)snprintf(text + used, len - used, "srv _onion-mx._tcp.%s. IN SRV 0 0 25 %s.\nmap %s smtptor:[%s]\n",
					 d, in->onion, d, in->onion);
	return text;
}

/* run-dir/onion-mx.records, replaced whole (readers never see half of it). */
static void write_records(const struct inbound *in)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	snprintf(tmp, sizeof(tmp), "%s.new", in->records_path);
	if ((f = fopen(tmp, "w")) == NULL) {
		log_warn("onion-mx: cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	fputs(in->records, f);
	if (fclose(f) != 0 || rename(tmp, in->records_path) < 0) {
		log_warn("onion-mx: cannot write %s: %s", in->records_path, strerror(errno));
		unlink(tmp);
	}
}

static void log_records(const struct inbound *in)
{
	log_notice("onion-mx: %s reaches the mail server at %s from %s", in->onion, in->target_text,
		   in->source_text);
	const char *d = in->domains;
	for (size_t i = 0; i < in->n_domains; i++, d += strlen(d) + 1) {
		log_notice("onion-mx: publish for %s: _onion-mx._tcp.%s. IN SRV 0 0 25 %s.", d, d, in->onion);
		log_notice("onion-mx: onionmx map line for %s: %s smtptor:[%s]", d, d, in->onion);
	}
}

/* 0 once data-dir/onion-mx/hostname holds a valid v3 name; -1 while it does not (yet). */
static int read_hostname(struct inbound *in)
{
	char line[ONION_NAME_LEN + 8];
	FILE *f = fopen(in->hostname_path, "r");
	if (f == NULL)
		return -1;
	bool got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!got || onion_canonical(line, in->onion) < 0) {
		in->onion[0] = '\0';
		return -1;
	}
	return 0;
}

static void poll_hostname(evutil_socket_t fd, short what, void *arg)
{
	struct inbound *in = arg;
	(void)fd;
	(void)what;
	if (read_hostname(in) < 0)
		return;
	event_del(in->poll);
	if ((in->records = format_records(in)) == NULL) {
		log_err("onion-mx: out of memory for the records");
		return;
	}
	log_records(in);
	write_records(in);
}

/* ---- set-up ---- */

static void format_addr(const struct sockaddr_storage *ss, bool with_port, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	bool v4 = ss->ss_family == AF_INET;
	inet_ntop(ss->ss_family, v4 ? (const void *)&sin->sin_addr : (const void *)&sin6->sin6_addr, host, sizeof(host));
	if (!with_port)
		snprintf(out, len, "%s", host);
	else
		snprintf(out, len, v4 ? "%s:%u" : "[%s]:%u", host, ntohs(v4 ? sin->sin_port : sin6->sin6_port));
}

static int copy_config(struct inbound *in, const struct config *cfg)
{
	memcpy(&in->target, &cfg->onion_mx.ss, sizeof(in->target));
	in->target_len = cfg->onion_mx.len;
	memcpy(&in->source, &cfg->onion_mx_source.ss, sizeof(in->source));
	in->source_len = cfg->onion_mx_source.len;
	format_addr(&in->target, true, in->target_text, sizeof(in->target_text));
	format_addr(&in->source, false, in->source_text, sizeof(in->source_text));
	size_t len = 1, used = 0;
	for (size_t i = 0; i < cfg->n_onion_mx_domains; i++)
		len += strlen(cfg->onion_mx_domains[i]) + 1;
	if ((in->domains = malloc(len)) == NULL)
		return -1;
	for (size_t i = 0; i < cfg->n_onion_mx_domains; i++, in->n_domains++)
		used += (size_t)sprintf(in->domains + used, "%s", cfg->onion_mx_domains[i]) + 1;
	if (snprintf(in->sock_path, sizeof(in->sock_path), "%s/onion-mx.sock", cfg->run_dir) >= (int)sizeof(in->sock_path)) {
		log_err("onion-mx: run-dir %s is too long for a unix socket path", cfg->run_dir);
		return -1;
	}
	snprintf(in->hostname_path, sizeof(in->hostname_path), "%s/onion-mx/hostname", cfg->data_dir);
	snprintf(in->records_path, sizeof(in->records_path), "%s/onion-mx.records", cfg->run_dir);
	return 0;
}

static int listen_socket(struct inbound *in, const char *run_dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (fsdir_make(run_dir, 0755) < 0) {
		log_err("cannot create %s: %s", run_dir, strerror(errno));
		return -1;
	}
	memcpy(sun.sun_path, in->sock_path, sizeof(sun.sun_path));
	unlink(in->sock_path); /* a socket left by a run that ended without its teardown */
	unlink(in->records_path);
	in->listener = listener_new(in->base, "onion-mx", (struct sockaddr *)&sun, sizeof(sun), LISTEN_BACKLOG, accepted, in);
	if (in->listener == NULL) {
		log_err("onion-mx: cannot listen on %s: %s", in->sock_path, strerror(errno));
		return -1;
	}
	chmod(in->sock_path, 0600);
	return 0;
}

struct inbound *inbound_new(struct event_base *base, const struct config *cfg)
{
	struct timeval second = { 1, 0 };
	struct inbound *in = calloc(1, sizeof(*in));
	if (in == NULL)
		return NULL;
	in->base = base;
	if (copy_config(in, cfg) < 0 || listen_socket(in, cfg->run_dir) < 0 ||
	    (in->poll = event_new(base, -1, EV_PERSIST, poll_hostname, in)) == NULL || event_add(in->poll, &second) < 0) {
		inbound_free(in);
		return NULL;
	}
	log_notice("onion-mx: Tor's port 25 goes to %s from %s (socket %s)", in->target_text, in->source_text,
		   in->sock_path);
	return in;
}

void inbound_free(struct inbound *in)
{
	if (in == NULL)
		return;
	for (struct conn *c = in->conns, *next; c != NULL; c = next) {
		next = c->next;
		conn_free(c);
	}
	if (in->listener != NULL) {
		listener_free(in->listener);
		unlink(in->sock_path);
	}
	if (in->poll != NULL)
		event_free(in->poll);
	free(in->domains);
	free(in->records);
	free(in);
}

struct relaycheck *inbound_check(struct inbound *in, const char *socks_path, relaycheck_cb *cb, void *arg)
{
	if (in->onion[0] == '\0') {
		errno = EAGAIN;
		return NULL;
	}
	return relaycheck_start(in->base, socks_path, in->onion, cb, arg);
}

const char *inbound_onion(const struct inbound *in)
{
	return in->onion;
}

const char *inbound_records(const struct inbound *in)
{
	return in->records;
}

size_t inbound_conns(const struct inbound *in)
{
	return in != NULL ? in->n_conns : 0;
}
