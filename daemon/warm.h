/* SPDX-License-Identifier: ISC */
/* warm: warm-up: a stream opened to an onion MX as soon as the DNS hands it out, held for the LAN
 * connection that follows (or ended politely), the periodic HSFETCH of the mapped onions, and the
 * rendezvous circuit kept for onions mailed lately (warm-up-keep). */
#ifndef OG_WARM_H
#define OG_WARM_H

#include <sys/un.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "control.h"
#include "onionmap.h"
#include "pool.h"
#include "socksconn.h"

struct warm;

enum warm_handover { WARM_NONE, WARM_CONNECTING, WARM_OPEN };

/* control is NULL with socks-server (no descriptor refreshes; the server counts as ready). */
struct warm *warm_new(struct event_base *base, const struct config *cfg, struct pool *pool, struct control *control,
		      struct onionmap *map, const struct sockaddr_un *socks);
/* The DNS has just handed out e as an MX: open a stream to it for the connection to port that will follow. */
void warm_open(struct warm *w, const struct pool_entry *e, uint16_t port);
/* A LAN connection to e:port (on 25, 587 or 465: a mail, whose circuit is then kept) takes the warm
 * stream there, if there is one: WARM_CONNECTING gives *sc, now reporting to cb(arg); WARM_OPEN
 * gives *tor, with what the onion has already sent. */
enum warm_handover warm_take(struct warm *w, const struct pool_entry *e, uint16_t port, socksconn_cb *cb, void *arg,
			     struct socksconn **sc, struct bufferevent **tor);
void warm_reconfigure(struct warm *w, const struct config *cfg);
/* Shutdown: every warm stream ends, none opens again, no more HSFETCH. */
void warm_stop(struct warm *w);
void warm_free(struct warm *w);

#endif
