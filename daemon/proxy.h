/* SPDX-License-Identifier: ISC */
/* proxy: the transparent listener: the original destination of each redirected LAN connection,
 * the pool's onion name for it (or the upgrade table's onion MX for a real MX address), a stream through Tor's SOCKS socket (or the warm one), and the
 * relay with back-pressure; an SMTP client that cannot be served gets a 421 line so its mail defers. */
#ifndef OG_PROXY_H
#define OG_PROXY_H

#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "control.h"
#include "mxupgrade.h"
#include "onionmap.h"
#include "pool.h"

struct activity;
struct proxy;

/* One open stream, for operators (valid during the callback only). */
struct proxy_stream_info {
	const char *lan;   /* the LAN client, "addr:port" */
	const char *dst;   /* the address it dialled (a pool address, or a real MX address upgraded) */
	const char *onion; /* "" when none is known */
	uint16_t port;     /* the onion's port dialled */
	time_t age;        /* seconds since the LAN connect */
	uint64_t up, down; /* bytes relayed LAN -> onion, onion -> LAN */
	const char *state; /* "connecting", "relaying" */
};

/* control and activity are borrowed (control NULL with socks-server): they must outlive the proxy. */
struct proxy *proxy_new(struct event_base *base, const struct config *cfg, struct pool *pool, struct control *control,
			struct onionmap *map, struct activity *activity, const char *socks_path);
/* The DNS has just handed out this onion as an MX: warm a stream up for the LAN connection
 * that will follow (warm.c). */
void proxy_warm(struct proxy *p, const struct pool_entry *e, uint16_t port);
/* mx-mode upgrade: connections to port 25 of the real MX addresses u upgrades go to their onion
 * MX (u borrowed; NULL: none). */
void proxy_set_upgrade(struct proxy *p, struct mxupgrade *u);
/* A reloaded config: limits and timeouts change; the listeners stay as bound. */
void proxy_reconfigure(struct proxy *p, const struct config *cfg);
/* Shutdown has begun: new LAN connections get a 421 line, warm-up ends; streams already open
 * run on until proxy_free. */
void proxy_stop(struct proxy *p);
/* Streams open now (NULL: 0). */
size_t proxy_streams(const struct proxy *p);
/* Calls fn for each open stream, newest first; returns how many. */
size_t proxy_each_stream(const struct proxy *p, void (*fn)(const struct proxy_stream_info *i, void *arg), void *arg);
void proxy_free(struct proxy *p);

#endif
