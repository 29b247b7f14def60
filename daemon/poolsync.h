/* SPDX-License-Identifier: ISC */
/* poolsync: tells the pool-peer gateways of each new pool mapping by asking them "A <name>" (their
 * own DNS path makes the same mapping there); a bounded queue, a rate per peer, no retries. */
#ifndef OG_POOLSYNC_H
#define OG_POOLSYNC_H

#include <event2/event.h>

#include "config.h"
#include "pool.h"

#define POOLSYNC_QUEUE_MAX 256 /* names waiting to be sent; a new name beyond it is dropped */
#define POOLSYNC_RATE 64       /* queries a second to each peer */

struct poolsync;

/* Listens for the pool's new entries; sends to cfg's pool-peer lines (none: sends nothing). */
struct poolsync *poolsync_new(struct event_base *base, struct pool *pool, const struct config *cfg);
/* Takes the pool-peer lines of a reloaded config; names still queued go to the new peers. */
void poolsync_reconfigure(struct poolsync *ps, const struct config *cfg);
void poolsync_free(struct poolsync *ps);

#endif
