/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the control socket's request lines and reply headers, and the JSON writer's
 * escaping of whatever bytes a request carried. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CTLPROTO_ERR_MAX], line[CTLPROTO_LINE_MAX];
	struct ctlp_request req, back;
	enum ctlp_status st;
	size_t body;
	const char *s = (const char *)data;

	if (ctlproto_parse_request(s, size, &req, err) == 0) {
		int n = ctlproto_format_request(&req, line, sizeof(line));
		if (n <= 0 || ctlproto_parse_request(line, (size_t)n - 1, &back, err) < 0 || back.cmd != req.cmd ||
		    back.json != req.json || strcmp(back.domain, req.domain) != 0)
			abort();
	}
	if (ctlproto_parse_header(s, size, &st, &body) == 0 && body > CTLPROTO_BODY_MAX)
		abort();
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct jsonw w;
	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, text);
	jsonw_string(&w, text);
	jsonw_object_end(&w);
	if (!jsonw_done(&w) || memchr(w.buf, '\n', w.len) != NULL)
		abort();
	jsonw_free(&w);
	free(text);
	return 0;
}
