/* SPDX-License-Identifier: ISC */
/* inbound: onion-mx, the far end of the onion service: Tor's connections to port 25 relayed to the
 * LAN mail server from onion-mx-source; and the onion name with the DNS records to publish. */
#ifndef OG_INBOUND_H
#define OG_INBOUND_H

#include <stddef.h>

#include <event2/event.h>

#include "config.h"
#include "relaycheck.h"

/* Connections relayed at once (2 fds each); more are closed at accept and Tor ends the stream. */
#define INBOUND_MAX_CONNS 64
/* Seconds to reach the mail server; then seconds without a byte either way before the close. */
#define INBOUND_CONNECT_SECONDS 30
#define INBOUND_IDLE_SECONDS 600

struct inbound;

/* Listens on run-dir/onion-mx.sock (the HiddenServicePort target tor.c gives Tor) and waits for
 * Tor to write data-dir/onion-mx/hostname; takes what it needs from cfg (which may go after).
 * NULL when it cannot listen (logged). */
struct inbound *inbound_new(struct event_base *base, const struct config *cfg);
void inbound_free(struct inbound *in);
/* The service's "x.onion", "" until Tor has made its keys. */
const char *inbound_onion(const struct inbound *in);
/* The records to publish, one a line (run-dir/onion-mx.records holds the same): per domain the
 * _onion-mx._tcp SRV record and the onionmx map line. NULL until the onion name is known. */
const char *inbound_records(const struct inbound *in);
size_t inbound_conns(const struct inbound *in);
/* The relay check (relaycheck.h) of the published service through Tor's SOCKS socket socks_path;
 * the caller owns it. NULL with errno EAGAIN until the onion name is known. */
struct relaycheck *inbound_check(struct inbound *in, const char *socks_path, relaycheck_cb *cb, void *arg);

#endif
