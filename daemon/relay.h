/* SPDX-License-Identifier: ISC */
/* relay: the bytes both ways between two connected sockets once a stream is open (proxy.c, inbound.c):
 * splice(2) through a pipe per direction, back-pressure, half-close, and the idle timeout. */
#ifndef OG_RELAY_H
#define OG_RELAY_H

#include <stddef.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

/* Bytes buffered each way (a pipe's capacity) before the sending side is read no more. */
#define RELAY_PIPE_BYTES (64 * 1024)

enum relay_way { RELAY_A_TO_B, RELAY_B_TO_A };
/* DONE: both sides sent their EOF and all was delivered; IDLE: no byte for the idle time;
 * ERROR: a socket failed (a reset, an error, no pipe and no memory). */
enum relay_end { RELAY_DONE, RELAY_IDLE, RELAY_ERROR };

struct relay_cbs {
	/* n bytes were read from one side (they will be delivered, or the relay ends). */
	void (*moved)(void *arg, enum relay_way way, size_t n);
	/* The relay is over: the owner calls relay_free (here or later); no callback follows. */
	void (*ended)(void *arg, enum relay_end why);
};

struct relay;

/* RELAY_SMTP_CLIENT: a is an SMTP client. Tor has no half-close (a SOCKS client's EOF ends the
 * stream both ways and drops the replies on their way, such as the 250 and 221 after Exim's
 * pipelined end of data and QUIT), so a's EOF right after "QUIT\r\n" is not passed on to b: the
 * server closes once it has replied, or the idle time ends the relay. a's bytes then go through a
 * buffer (no pipe), where their last bytes can be seen; any other EOF of a is passed on at once. */
#define RELAY_SMTP_CLIENT 0x1

/* Takes over the sockets of a and b (connected; the bufferevents are freed): bytes they have read
 * already go across first (reported through moved before this returns); an EOF either has read is
 * read again from its socket (a socket's EOF stays). flags: 0 or RELAY_SMTP_CLIENT. cbs is
 * borrowed. NULL on failure: both sockets are closed. */
struct relay *relay_new(struct event_base *base, struct bufferevent *a, struct bufferevent *b, unsigned flags,
			time_t idle_seconds, const struct relay_cbs *cbs, void *arg);
/* The same for two bare sockets from which nothing was read yet (a stream that waited without a
 * bufferevent: what either side sent is still in its socket). */
struct relay *relay_new_fds(struct event_base *base, int a, int b, unsigned flags, time_t idle_seconds,
			    const struct relay_cbs *cbs, void *arg);
/* Closes both sockets (the peers get their FIN at once). NULL: nothing. */
void relay_free(struct relay *r);
/* A new idle time, in force from the next check (the one pending runs out first). */
void relay_set_idle(struct relay *r, time_t idle_seconds);

#endif
