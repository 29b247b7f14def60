/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the control reply parser and KEY=VALUE lookups, fed line by line as the
 * control connection feeds them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctlreply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "PROGRESS", "SUMMARY", "TAG", "status/bootstrap-phase" };
	struct ctl_parser *p = ctl_parser_new();
	const char *s = (const char *)data, *end = s + size;
	char value[64];

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl ? nl : end) - s);
		struct ctl_reply *r;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (ctl_parser_line(p, s, len, &r) == CTL_REPLY_DONE) {
			for (size_t i = 0; i < r->n_lines; i++)
				for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
					ctl_text_value(r->lines[i].text, keys[k], value, sizeof(value));
			ctl_reply_free(r);
		}
		s = nl ? nl + 1 : end;
	}
	ctl_parser_free(p);
	return 0;
}
