/* SPDX-License-Identifier: ISC */
/* ctlrender: the bodies of oniongatectl's replies (status, streams, onions, lookup) as text or JSON,
 * from a status snapshot and an onionmap result; no I/O but the buffer it appends to. */
#ifndef OG_CTLRENDER_H
#define OG_CTLRENDER_H

#include <stdbool.h>

#include <event2/buffer.h>

#include "onionmap.h"
#include "relaycheck.h"
#include "status.h"

/* Each returns 0, or -1 when out of memory (out then holds a part). */
int ctlrender_status(const struct status_snapshot *s, bool json, struct evbuffer *out);
int ctlrender_streams(const struct status_snapshot *s, bool json, struct evbuffer *out);
int ctlrender_onions(const struct status_snapshot *s, bool json, struct evbuffer *out);
/* What the DNS would answer for domain's MX, and why: res is onionmap_lookup's result. */
int ctlrender_lookup(const struct status_snapshot *s, const char *domain, const struct onionmap_result *res, bool json,
		     struct evbuffer *out);
/* An onion name's MX (never asked upstream): the name itself, or NXDOMAIN for one that is not a
 * valid v3 name. */
int ctlrender_lookup_onion(const char *domain, bool json, struct evbuffer *out);
/* onion-mx: the onion name and the records to publish (inbound_records; NULL: no name yet). */
#define ONIONMX_LINE_MAX 600
int ctlrender_onion_mx(const char *onion, const char *records, bool json, struct evbuffer *out);
/* onion-mx-check's outcome: summary is relaycheck_summary's line. */
int ctlrender_relay_check(const struct relaycheck_result *r, const char *summary, bool json, struct evbuffer *out);
/* A reload's outcome: "ok", or the file:line: error. */
int ctlrender_reload(bool ok, const char *result, bool json, struct evbuffer *out);
/* An error's body: its text (json: {"error": text}). */
int ctlrender_error(const char *text, bool json, struct evbuffer *out);

#endif
