/* SPDX-License-Identifier: ISC */
/* statuspage: the read-only HTML status page (the facts of `oniongatectl status` and `onions`),
 * one inline style sheet, no scripts, no external assets, every fact HTML-escaped. No I/O. */
#ifndef OG_STATUSPAGE_H
#define OG_STATUSPAGE_H

#include "status.h"
#include "strbuf.h"

/* Onion MX records shown (most recently active first); the rest are counted. */
#define STATUSPAGE_MAX_ONIONS 100
/* Domains shown per onion MX; the rest are counted. */
#define STATUSPAGE_MAX_DOMAINS 20

void statuspage_render(struct strbuf *out, const struct status_snapshot *s);
/* text HTML-escaped (& < > " '). */
void statuspage_escape(struct strbuf *out, const char *text);

#endif
