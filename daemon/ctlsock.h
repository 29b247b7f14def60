/* SPDX-License-Identifier: ISC */
/* ctlsock: the control socket oniongatectl talks to: a unix socket (mode 0660) on the daemon's loop,
 * one request and one reply per connection (ctlproto), bounded in clients, bytes and time. */
#ifndef OG_CTLSOCK_H
#define OG_CTLSOCK_H

#include <event2/event.h>

#include "config.h"
#include "onionmap.h"
#include "status.h"

#define CTLSOCK_CLIENTS_MAX 8     /* connections at once; the next one gets an error and is closed */
#define CTLSOCK_IDLE_SECONDS 10   /* to send the request, and to read the reply */
#define CTLSOCK_LOOKUPS_MAX 16    /* lookups under way (one may outlive its client's connection) */
#define CTLSOCK_ERR_MAX 512

/* main's reload: 0, or -1 with "file:line: why" in err. */
typedef int ctlsock_reload_fn(void *arg, char err[CONFIG_ERR_MAX]);

struct ctlsock;

/* Binds path (a stale socket there is replaced; one a live daemon answers on is not) with mode 0660
 * and listens. The socket's owner and group are the process's: made after the privilege drop, those
 * of the service user. status, map and reload are borrowed and must outlive it. NULL and err. */
struct ctlsock *ctlsock_new(struct event_base *base, const char *path, const struct status_source *status,
			    struct onionmap *map, ctlsock_reload_fn *reload, void *reload_arg, char err[CTLSOCK_ERR_MAX]);
/* onion-mx: the published service (borrowed, it must outlive cs) for `onion-mx` and its relay check
 * through Tor's SOCKS socket at socks_path (one check at a time, RELAYCHECK_SECONDS at most). */
struct inbound;
void ctlsock_set_inbound(struct ctlsock *cs, struct inbound *in, const char *socks_path);
/* Closes every connection, forgets the lookups under way, removes the socket file. */
void ctlsock_free(struct ctlsock *c);

#endif
