/* SPDX-License-Identifier: ISC */
/* jsonw: a small JSON writer into a growing buffer (commas, nesting, string escaping); no I/O.
 * Out of memory or misuse sets failed; the text is then not to be used. */
#ifndef OG_JSONW_H
#define OG_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONW_DEPTH_MAX 16

struct jsonw {
	char *buf;
	size_t len, cap;
	bool failed;
	int depth;
	bool need_comma[JSONW_DEPTH_MAX];
	bool after_key;
};

void jsonw_init(struct jsonw *w);
void jsonw_free(struct jsonw *w);
void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);
/* A member's name inside an object; its value follows. */
void jsonw_key(struct jsonw *w, const char *name);
/* Any bytes: quotes, backslashes and control characters are escaped; bytes that are not UTF-8
 * become U+FFFD, so the output is always valid JSON. NULL writes null. */
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_uint(struct jsonw *w, uint64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* The document is complete (every object and array closed) and nothing failed. */
bool jsonw_done(const struct jsonw *w);

#endif
