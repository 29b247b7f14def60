/* SPDX-License-Identifier: ISC */
/* relaycheck: one check of the published onion MX through the embedded Tor: the banner, then a
 * relay try (EHLO, MAIL FROM, RCPT TO a domain the MTA does not serve, QUIT; no DATA) and its answer. */
#ifndef OG_RELAYCHECK_H
#define OG_RELAYCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

/* The whole check, from the SOCKS connect to the QUIT reply. */
#define RELAYCHECK_SECONDS 120
#define RELAYCHECK_FROM "check@oniongate.invalid"
#define RELAYCHECK_RCPT "relay-test@relay-check.oniongate.invalid"

struct relaycheck;

/* The outcome: completed (the dialogue reached RCPT's answer) and then open_relay; else error says
 * why. banner and rcpt_reply are the server's lines ("" when not seen). Valid during the call. */
struct relaycheck_result {
	bool completed;
	bool open_relay;
	const char *banner;
	const char *rcpt_reply;
	const char *error;
};

/* The callback runs once, from the event loop, and may free the check. */
typedef void relaycheck_cb(struct relaycheck *rc, const struct relaycheck_result *r, void *arg);

/* Connects through the SOCKS5 unix socket socks_path to onion's port 25. NULL (errno set) when it
 * cannot start; cb never runs inside this call. */
struct relaycheck *relaycheck_start(struct event_base *base, const char *socks_path, const char *onion,
				    relaycheck_cb *cb, void *arg);
void relaycheck_free(struct relaycheck *rc);
/* One line for an outcome: "relay refused: 554 5.7.1 ...", "OPEN RELAY: 250 2.1.5 Ok", or
 * "check failed: why"; the banner first when one was read. */
void relaycheck_summary(const struct relaycheck_result *r, char *out, size_t len);

#endif
