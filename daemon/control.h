/* SPDX-License-Identifier: ISC */
/* control: the owning control connection to the embedded Tor: commands and their replies
 * in order, STATUS_CLIENT and STATUS_GENERAL events, and the ready/not-ready and clock-skew state
 * the rest of the daemon reads. */
#ifndef OG_CONTROL_H
#define OG_CONTROL_H

#include <stdbool.h>

#include <event2/event.h>

#include "ctlreply.h"

struct control;

/* Called when readiness or bootstrap progress changes. */
typedef void control_state_cb(bool ready, int progress, void *arg);
/* Called when a clock skew begins, changes or ends (read it with control_clock_skew). */
typedef void control_clock_cb(void *arg);
/* Called with a command's reply, or with NULL when the connection ended first. */
typedef void control_reply_cb(const struct ctl_reply *reply, void *arg);

/* Takes ownership of fd. Subscribes to STATUS_CLIENT and STATUS_GENERAL and asks for the
 * bootstrap phase. */
struct control *control_new(struct event_base *base, int fd, control_state_cb *on_state, control_clock_cb *on_clock,
			    void *arg);
/* Sends one command line (no CRLF); the reply goes to cb. 0, or -1 if it cannot be sent
 * (also once closed). */
int control_command(struct control *c, const char *line, control_reply_cb *cb, void *arg);
bool control_ready(const struct control *c);
int control_progress(const struct control *c);
/* Tor says circuits can be built (CIRCUIT_ESTABLISHED since the last CIRCUIT_NOT_ESTABLISHED). */
bool control_circuits(const struct control *c);
/* Tor's words for the last bootstrap phase ("Loading relay descriptors"), "" before the first. */
#define CONTROL_SUMMARY_MAX 256
const char *control_summary(const struct control *c);
/* Whether Tor reported a clock skew (CLOCK_SKEW) and has not become ready or seen the clock jump
 * since; then its seconds and source (valid until the next event). */
bool control_clock_skew(const struct control *c, int64_t *seconds, const char **source);
/* Onion descriptors fetched (HS_DESC RECEIVED) since start, and fetches failed (HS_DESC FAILED, one per
 * HSDir asked) counted only while several distinct onions have failed since the last one fetched. */
void control_desc_totals(const struct control *c, uint64_t *received, uint64_t *failed);
/* Tor's version ("0.4.7.16"), "" until Tor has said it. */
#define CONTROL_VERSION_MAX 64
const char *control_tor_version(const struct control *c);
/* Closes the owning socket: the embedded Tor shuts down. Pending replies get NULL; the struct
 * stays valid (not ready) for whoever borrowed it, until control_free. */
void control_close(struct control *c);
/* Closes the socket if still open, and frees. */
void control_free(struct control *c);

#endif
