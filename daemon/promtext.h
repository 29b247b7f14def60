/* SPDX-License-Identifier: ISC */
/* promtext: the gateway's facts (a status snapshot, its activity, the stats counters) in the
 * Prometheus text format 0.0.4, HELP and TYPE for every family. No I/O. */
#ifndef OG_PROMTEXT_H
#define OG_PROMTEXT_H

#include "status.h"
#include "strbuf.h"

/* Onions with their own `onion` label, by traffic; the rest are summed under onion="other". */
#define PROMTEXT_TOP_ONIONS 10

void promtext_render(struct strbuf *out, const struct status_snapshot *s);
/* value as a label value: backslash, double quote and newline escaped. */
void promtext_label_value(struct strbuf *out, const char *value);
/* The Prometheus name of a stats counter (NULL: it has none yet; it is left out). */
const char *promtext_stat_name(int counter);

#endif
