/* SPDX-License-Identifier: ISC */
/* listener: a TCP listener that, when the process is out of fds or memory (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM), stops accepting for a while instead of spinning on accept() (as redsocks does). */
#ifndef OG_LISTENER_H
#define OG_LISTENER_H

#include <sys/socket.h>

#include <event2/event.h>

/* The first pause, doubled on each failure in a row up to the last; a success starts over. */
#define LISTENER_BACKOFF_FIRST_MS 100
#define LISTENER_BACKOFF_MAX_MS 1000

struct listener;

/* A new connection; fd is the callback's (to keep or close). */
typedef void listener_cb(evutil_socket_t fd, struct sockaddr *peer, int peerlen, void *arg);

/* Binds sa (an IPv6 address is bound IPv6-only; free-bind, so the address need not be on an
 * interface yet; a unix socket path as it is) and listens; name says whose it is in the log ("proxy", "dns"; a string that
 * outlives it). NULL with errno set when it cannot. */
struct listener *listener_new(struct event_base *base, const char *name, const struct sockaddr *sa, int salen,
			      int backlog, listener_cb *cb, void *arg);
void listener_free(struct listener *l);
/* IP_FREEBIND (IPV6_FREEBIND): fd may bind an address no interface has yet, as at boot before
 * the network is configured; it receives once the address is added. */
int listener_freebind(int fd, int family);

#endif
