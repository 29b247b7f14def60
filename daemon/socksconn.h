/* SPDX-License-Identifier: ISC */
/* socksconn: one stream through a SOCKS5 unix socket (the embedded Tor's, or socks-server): the
 * connect, the handshake (socks5.c), and one outcome callback; an open stream's socket is then taken. */
#ifndef OG_SOCKSCONN_H
#define OG_SOCKSCONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "pool.h"

struct socksconn;

/* The outcome, once: open (take the stream with socksconn_take) or failed (socksconn_reason;
 * free it). The callback may free the socksconn. */
typedef void socksconn_cb(struct socksconn *sc, bool open, void *arg);

/* Starts the connect; the onion name is also the SOCKS username, so streams to one onion share
 * circuits and others never do. NULL (errno set) when it cannot start: cb never runs inside this call. */
struct socksconn *socksconn_new(struct event_base *base, const struct sockaddr_un *server, const char *onion,
				uint16_t port, socksconn_cb *cb, void *arg);
/* The port to dial for a LAN connection to e's address on lan_port: an SMTP connection (25)
 * goes where the MX answer said the onion MX listens. */
uint16_t socksconn_dial_port(const struct pool_entry *e, uint16_t lan_port);
/* Hands the stream to another owner (warm-up to a LAN connection). */
void socksconn_set_cb(struct socksconn *sc, socksconn_cb *cb, void *arg);
/* Frees the socksconn; after an open outcome, the stream's socket (non-blocking; what arrived after
 * the SOCKS reply is still in it). -1 if the stream is not open. */
int socksconn_take(struct socksconn *sc);
/* socksconn_take's socket in a new bufferevent (on the base given to socksconn_new; it closes the
 * socket when freed), for an owner that speaks through one. NULL if the stream is not open or
 * without memory: the socket is then closed. */
struct bufferevent *socksconn_take_bufferevent(struct socksconn *sc);
/* After a failed outcome: why, and the SMTP enhanced status that fits ("4.4.1", "4.4.2", "4.7.0"). */
const char *socksconn_reason(const struct socksconn *sc, const char **smtp_status);
/* After a failed outcome: the SOCKS server's reply code (socks5.h, with its pseudo codes), or -1 when
 * the socket itself failed (no SOCKS reply). */
int socksconn_reply(const struct socksconn *sc);
void socksconn_free(struct socksconn *sc);

#endif
