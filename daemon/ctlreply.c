/* SPDX-License-Identifier: ISC */
/* ctlreply: the Tor control-protocol reply grammar (control-spec 2.3 and 4): lines to
 * replies, data blocks, async events, and KEY=VALUE lookups; no I/O, fuzzed alone. */
#include "ctlreply.h"

#include <stdlib.h>
#include <string.h>

struct ctl_parser {
	struct ctl_reply *cur;  /* reply being assembled, NULL between replies */
	bool in_data;           /* reading the data block of cur's last line */
	size_t data_cap;
};

struct ctl_parser *ctl_parser_new(void)
{
	return calloc(1, sizeof(struct ctl_parser));
}

void ctl_reply_free(struct ctl_reply *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_lines; i++) {
		free(r->lines[i].text);
		free(r->lines[i].data);
	}
	free(r->lines);
	free(r);
}

static void reset(struct ctl_parser *p)
{
	ctl_reply_free(p->cur);
	p->cur = NULL;
	p->in_data = false;
	p->data_cap = 0;
}

void ctl_parser_free(struct ctl_parser *p)
{
	if (p == NULL)
		return;
	reset(p);
	free(p);
}

static enum ctl_status malformed(struct ctl_parser *p)
{
	reset(p);
	return CTL_MALFORMED;
}

static int data_append(struct ctl_parser *p, struct ctl_line *l, const char *s, size_t len)
{
	size_t need = l->data_len + len + 2;
	if (need > CTL_MAX_DATA)
		return -1;
	if (need > p->data_cap) {
		size_t cap = p->data_cap ? p->data_cap : 256;
		while (cap < need)
			cap *= 2;
		char *grown = realloc(l->data, cap);
		if (grown == NULL)
			return -1;
		l->data = grown;
		p->data_cap = cap;
	}
	if (l->data_len > 0)
		l->data[l->data_len++] = '\n';
	memcpy(l->data + l->data_len, s, len);
	l->data_len += len;
	l->data[l->data_len] = '\0';
	return 0;
}

static enum ctl_status data_line(struct ctl_parser *p, const char *line, size_t len)
{
	struct ctl_line *l = &p->cur->lines[p->cur->n_lines - 1];
	if (len == 1 && line[0] == '.') {
		p->in_data = false;
		p->data_cap = 0;
		if (l->data == NULL && (l->data = calloc(1, 1)) == NULL)
			return malformed(p);
		return CTL_NEED_MORE;
	}
	if (len > 0 && line[0] == '.') {
		line++;
		len--;
	}
	if (data_append(p, l, line, len) < 0)
		return malformed(p);
	return CTL_NEED_MORE;
}

static enum ctl_status reply_line(struct ctl_parser *p, const char *line, size_t len, struct ctl_reply **out)
{
	if (len < 4 || line[0] < '1' || line[0] > '6' || line[1] < '0' || line[1] > '9' || line[2] < '0' ||
	    line[2] > '9')
		return malformed(p);
	char sep = line[3];
	if (sep != ' ' && sep != '-' && sep != '+')
		return malformed(p);
	if (memchr(line, '\0', len) != NULL)
		return malformed(p);
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');

	if (p->cur == NULL) {
		p->cur = calloc(1, sizeof(*p->cur));
		if (p->cur == NULL)
			return malformed(p);
	} else if (p->cur->lines[0].code / 100 != code / 100) {
		return malformed(p);
	}
	struct ctl_reply *r = p->cur;
	if (r->n_lines == CTL_MAX_LINES)
		return malformed(p);
	struct ctl_line *grown = realloc(r->lines, (r->n_lines + 1) * sizeof(*grown));
	if (grown == NULL)
		return malformed(p);
	r->lines = grown;
	struct ctl_line *l = &r->lines[r->n_lines];
	memset(l, 0, sizeof(*l));
	l->code = code;
	l->sep = sep;
	l->text = malloc(len - 3);
	if (l->text == NULL)
		return malformed(p);
	memcpy(l->text, line + 4, len - 4);
	l->text[len - 4] = '\0';
	r->n_lines++;

	if (sep == '+') {
		p->in_data = true;
		p->data_cap = 0;
		return CTL_NEED_MORE;
	}
	if (sep == '-')
		return CTL_NEED_MORE;
	r->code = code;
	r->async = code / 100 == 6;
	*out = r;
	p->cur = NULL;
	return CTL_REPLY_DONE;
}

enum ctl_status ctl_parser_line(struct ctl_parser *p, const char *line, size_t len, struct ctl_reply **out)
{
	*out = NULL;
	if (p->in_data)
		return data_line(p, line, len);
	return reply_line(p, line, len, out);
}

/* Copies the quoted string whose opening quote is at s into out: 0, or -1 when it is
 * unterminated, holds an unknown escape or does not fit. */
static int unquote(const char *s, char *out, size_t outlen)
{
	size_t n = 0;
	for (s++; *s != '"'; s++) {
		if (*s == '\0')
			return -1;
		char c = *s;
		if (c == '\\') {
			s++;
			switch (*s) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '\\': case '"': case '\'': c = *s; break;
			default: return -1;
			}
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

int ctl_text_value(const char *text, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *s = text;

	if (outlen == 0)
		return -1;
	while (*s != '\0') {
		while (*s == ' ')
			s++;
		const char *word = s;
		bool match = strncmp(word, key, klen) == 0 && word[klen] == '=';
		const char *eq = strchr(word, '=');
		const char *sp = strchr(word, ' ');
		if (eq != NULL && (sp == NULL || eq < sp) && eq[1] == '"') {
			if (match)
				return unquote(eq + 1, out, outlen);
			const char *q = eq + 2;
			while (*q != '\0' && *q != '"') {
				if (*q == '\\' && q[1] != '\0')
					q++;
				q++;
			}
			if (*q == '\0')
				return -1;
			s = q + 1;
			continue;
		}
		size_t wlen = sp ? (size_t)(sp - word) : strlen(word);
		if (match) {
			size_t vlen = wlen - klen - 1;
			if (vlen + 1 > outlen)
				return -1;
			memcpy(out, word + klen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		s = word + wlen;
	}
	return -1;
}
