/* SPDX-License-Identifier: ISC */
/* ctlreply: the Tor control-protocol reply grammar (control-spec 2.3 and 4): lines to
 * replies, data blocks, async events, and KEY=VALUE lookups; no I/O, fuzzed alone. */
#ifndef OG_CTLREPLY_H
#define OG_CTLREPLY_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_MAX_LINES 4096
#define CTL_MAX_DATA (1024 * 1024)

struct ctl_line {
	int code;
	char sep;     /* ' ' last line, '-' more lines, '+' data block follows */
	char *text;   /* after the separator */
	char *data;   /* the data block of a '+' line, dot-unstuffed, lines joined by '\n' */
	size_t data_len;
};

struct ctl_reply {
	int code;     /* of the final line */
	bool async;   /* 6xx: an event, not the answer to a command */
	size_t n_lines;
	struct ctl_line *lines;
};

enum ctl_status { CTL_NEED_MORE, CTL_REPLY_DONE, CTL_MALFORMED };

struct ctl_parser;

struct ctl_parser *ctl_parser_new(void);
void ctl_parser_free(struct ctl_parser *p);
/* Feeds one line without its CRLF. On CTL_REPLY_DONE *out is a reply the caller frees;
 * on CTL_MALFORMED the partial reply is dropped and the parser starts afresh. */
enum ctl_status ctl_parser_line(struct ctl_parser *p, const char *line, size_t len, struct ctl_reply **out);
void ctl_reply_free(struct ctl_reply *r);

/* Finds KEY=VALUE among a line's words (VALUE plain or a quoted string with C escapes);
 * 0 and the value in out when found and it fits, -1 otherwise. */
int ctl_text_value(const char *text, const char *key, char *out, size_t outlen);

#endif
