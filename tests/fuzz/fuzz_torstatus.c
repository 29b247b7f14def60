/* SPDX-License-Identifier: ISC */
/* libFuzzer target: control-stream bytes fed line by line through the reply parser, each event's
 * text to the STATUS_GENERAL clock parser and its skew state and to the HS_DESC parser, as the
 * control connection does. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctlreply.h"
#include "torstatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_parser *p = ctl_parser_new();
	struct torstatus_clock clock = { 0 };
	const char *s = (const char *)data, *end = s + size;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl ? nl : end) - s);
		struct ctl_reply *r;
		struct torstatus_event ev;
		bool changed;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (ctl_parser_line(p, s, len, &r) == CTL_REPLY_DONE) {
			for (size_t i = 0; i < r->n_lines; i++) {
				char onion[ONION_NAME_LEN + 1];
				enum torstatus_desc d = torstatus_hs_desc(r->lines[i].text, onion);
				if ((d == TORSTATUS_DESC_RECEIVED || d == TORSTATUS_DESC_FAILED) && strlen(onion) != ONION_NAME_LEN)
					__builtin_trap();
				if (torstatus_clock_event(&clock, r->lines[i].text, &ev, &changed) == TORSTATUS_CLOCK_SKEW &&
				    (ev.source[0] == '\0' || strlen(ev.source) >= TORSTATUS_SOURCE_MAX))
					__builtin_trap();
			}
			if (!r->async && torstatus_clock_bootstrap(&clock, r->lines[0].text, &ev, &changed) == TORSTATUS_CLOCK_SKEW &&
			    ev.source[0] == '\0')
				__builtin_trap();
			if (!r->async)
				torstatus_clock_ready(&clock);
			ctl_reply_free(r);
		}
		s = nl ? nl + 1 : end;
	}
	ctl_parser_free(p);
	return 0;
}
