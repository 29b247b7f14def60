/* SPDX-License-Identifier: ISC */
/* ctlproto: the control socket's request/reply grammar (oniongatectl(8) PROTOCOL); no I/O.
 * A request is one line "COMMAND [ARGUMENT] [json]"; a reply is "STATUS LENGTH\n" and LENGTH bytes. */
#include "ctlproto.h"

#include <stdio.h>
#include <string.h>

#define WORDS_MAX 4

static const char *const command_names[] = {
	[CTLP_STATUS] = "status", [CTLP_STREAMS] = "streams", [CTLP_ONIONS] = "onions",
	[CTLP_LOOKUP] = "lookup", [CTLP_RELOAD] = "reload", [CTLP_ONION_MX] = "onion-mx",
	[CTLP_ONION_MX_CHECK] = "onion-mx-check",
};
static const char *const status_names[] = { [CTLP_OK] = "ok", [CTLP_NOT_READY] = "not-ready", [CTLP_ERROR] = "error" };

const char *ctlproto_command_name(enum ctlp_command cmd)
{
	return command_names[cmd];
}

const char *ctlproto_status_name(enum ctlp_status st)
{
	return status_names[st];
}

static int name_is(const char *name, const char *s, size_t len)
{
	return strlen(name) == len && memcmp(name, s, len) == 0;
}

static int command_of_span(const char *s, size_t len, enum ctlp_command *cmd)
{
	for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++)
		if (name_is(command_names[i], s, len)) {
			*cmd = (enum ctlp_command)i;
			return 0;
		}
	return -1;
}

int ctlproto_command_of(const char *name, enum ctlp_command *cmd)
{
	return command_of_span(name, strlen(name), cmd);
}

static int domain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int ctlproto_domain(const char *s, size_t len, char out[CTLPROTO_DOMAIN_MAX + 1])
{
	size_t label = 0;
	if (len > 1 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > CTLPROTO_DOMAIN_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!domain_char(c) || ++label > 63) {
			return -1;
		}
		out[i] = c;
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return 0;
}

struct span {
	const char *s;
	size_t len;
};

/* Words separated by one space each: their count, or -1 (an empty word, a byte that is not printable
 * ASCII, more than WORDS_MAX words). */
static int split(const char *line, size_t len, struct span words[WORDS_MAX], char *err)
{
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && (line[i] < 0x21 || line[i] > 0x7e) && line[i] != ' ') {
			snprintf(err, CTLPROTO_ERR_MAX, "the request holds a byte that is not printable ASCII");
			return -1;
		}
		if (i < len && line[i] != ' ')
			continue;
		if (i == start) {
			snprintf(err, CTLPROTO_ERR_MAX, "empty request or empty word");
			return -1;
		}
		if (n == WORDS_MAX) {
			snprintf(err, CTLPROTO_ERR_MAX, "too many words");
			return -1;
		}
		words[n++] = (struct span){ line + start, i - start };
		start = i + 1;
	}
	return n;
}

int ctlproto_parse_request(const char *line, size_t len, struct ctlp_request *req, char err[CTLPROTO_ERR_MAX])
{
	struct span w[WORDS_MAX];
	memset(req, 0, sizeof(*req));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len + 1 > CTLPROTO_LINE_MAX) {
		snprintf(err, CTLPROTO_ERR_MAX, "request longer than %d bytes", CTLPROTO_LINE_MAX);
		return -1;
	}
	int n = split(line, len, w, err), args;
	if (n < 0)
		return -1;
	if (command_of_span(w[0].s, w[0].len, &req->cmd) < 0) {
		snprintf(err, CTLPROTO_ERR_MAX, "unknown command '%.*s'", (int)(w[0].len > 32 ? 32 : w[0].len), w[0].s);
		return -1;
	}
	args = req->cmd == CTLP_LOOKUP ? 1 : 0;
	if (n == args + 2 && name_is("json", w[n - 1].s, w[n - 1].len)) {
		req->json = true;
		n--;
	}
	if (n != args + 1) {
		snprintf(err, CTLPROTO_ERR_MAX, "%s takes %s", command_names[req->cmd],
			 args ? "one domain and an optional 'json'" : "only an optional 'json'");
		return -1;
	}
	if (args && ctlproto_domain(w[1].s, w[1].len, req->domain) < 0) {
		snprintf(err, CTLPROTO_ERR_MAX, "lookup: not a domain name");
		return -1;
	}
	return 0;
}

int ctlproto_format_request(const struct ctlp_request *req, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%s%s%s\n", command_names[req->cmd], req->cmd == CTLP_LOOKUP ? " " : "",
			 req->cmd == CTLP_LOOKUP ? req->domain : "", req->json ? " json" : "");
	return n < 0 || (size_t)n >= size || n > CTLPROTO_LINE_MAX ? -1 : n;
}

int ctlproto_format_header(enum ctlp_status st, size_t body_len, char buf[CTLPROTO_HEADER_MAX])
{
	return snprintf(buf, CTLPROTO_HEADER_MAX, "%s %zu\n", status_names[st], body_len);
}

int ctlproto_parse_header(const char *line, size_t len, enum ctlp_status *st, size_t *body_len)
{
	const char *space = memchr(line, ' ', len);
	size_t digits, n = 0;
	if (space == NULL)
		return -1;
	size_t word = (size_t)(space - line);
	for (size_t i = 0;; i++) {
		if (i == sizeof(status_names) / sizeof(status_names[0]))
			return -1;
		if (name_is(status_names[i], line, word)) {
			*st = (enum ctlp_status)i;
			break;
		}
	}
	digits = len - word - 1;
	if (digits == 0 || digits > 8 || (digits > 1 && space[1] == '0'))
		return -1;
	for (size_t i = 1; i <= digits; i++) {
		if (space[i] < '0' || space[i] > '9')
			return -1;
		n = n * 10 + (size_t)(space[i] - '0');
	}
	if (n > CTLPROTO_BODY_MAX)
		return -1;
	*body_len = n;
	return 0;
}
