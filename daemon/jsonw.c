/* SPDX-License-Identifier: ISC */
/* jsonw: a small JSON writer into a growing buffer (commas, nesting, string escaping); no I/O.
 * Out of memory or misuse sets failed; the text is then not to be used. */
#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
}

void jsonw_free(struct jsonw *w)
{
	free(w->buf);
	jsonw_init(w);
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *buf = realloc(w->buf, cap);
		if (buf == NULL) {
			w->failed = true;
			return;
		}
		w->buf = buf;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void puts_(struct jsonw *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Before any value: the comma that separates it from the one before (none after a key). */
static void value_begins(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0 && w->need_comma[w->depth - 1])
		put(w, ",", 1);
	if (w->depth > 0)
		w->need_comma[w->depth - 1] = true;
}

static void open_(struct jsonw *w, char c)
{
	value_begins(w);
	if (w->depth == JSONW_DEPTH_MAX) {
		w->failed = true;
		return;
	}
	put(w, &c, 1);
	w->need_comma[w->depth++] = false;
}

static void close_(struct jsonw *w, char c)
{
	if (w->depth == 0 || w->after_key) {
		w->failed = true;
		return;
	}
	w->depth--;
	put(w, &c, 1);
}

void jsonw_object_begin(struct jsonw *w) { open_(w, '{'); }
void jsonw_object_end(struct jsonw *w) { close_(w, '}'); }
void jsonw_array_begin(struct jsonw *w) { open_(w, '['); }
void jsonw_array_end(struct jsonw *w) { close_(w, ']'); }

/* The length of the valid UTF-8 sequence at s (0: none), RFC 3629: no overlongs, no surrogates. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

static void put_escaped(struct jsonw *w, const unsigned char *s)
{
	char esc[8];
	while (*s != '\0') {
		size_t n;
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s++;
			put(w, esc, 2);
		} else if (*s < 0x20 || *s == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *s++);
			puts_(w, esc);
		} else if (*s < 0x80) {
			put(w, (const char *)s++, 1);
		} else if ((n = utf8_len(s)) > 0) {
			put(w, (const char *)s, n);
			s += n;
		} else {
			puts_(w, "\\ufffd");
			s++;
		}
	}
}

void jsonw_key(struct jsonw *w, const char *name)
{
	if (w->depth == 0 || w->after_key) {
		w->failed = true;
		return;
	}
	value_begins(w);
	put(w, "\"", 1);
	put_escaped(w, (const unsigned char *)name);
	put(w, "\":", 2);
	w->after_key = true;
}

void jsonw_string(struct jsonw *w, const char *s)
{
	if (s == NULL) {
		jsonw_null(w);
		return;
	}
	value_begins(w);
	put(w, "\"", 1);
	put_escaped(w, (const unsigned char *)s);
	put(w, "\"", 1);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	char num[24];
	value_begins(w);
	snprintf(num, sizeof(num), "%" PRId64, v);
	puts_(w, num);
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
	char num[24];
	value_begins(w);
	snprintf(num, sizeof(num), "%" PRIu64, v);
	puts_(w, num);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	value_begins(w);
	puts_(w, v ? "true" : "false");
}

void jsonw_null(struct jsonw *w)
{
	value_begins(w);
	puts_(w, "null");
}

bool jsonw_done(const struct jsonw *w)
{
	return !w->failed && w->depth == 0 && !w->after_key && w->len > 0;
}
