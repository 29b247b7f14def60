/* SPDX-License-Identifier: ISC */
/* strbuf: a growable text buffer with a size bound that the renderers (metrics, status page) write
 * into; once an append fails (out of memory, over the bound) it stays failed. No I/O. */
#ifndef OG_STRBUF_H
#define OG_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data; /* NUL-terminated once anything was added */
	size_t len, cap, max;
	bool failed;
};

/* An empty buffer that will hold at most max bytes. */
void strbuf_init(struct strbuf *b, size_t max);
void strbuf_free(struct strbuf *b);
void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
