/* SPDX-License-Identifier: ISC */
/* ctlproto: the control socket's request/reply grammar (oniongatectl(8) PROTOCOL); no I/O.
 * A request is one line "COMMAND [ARGUMENT] [json]"; a reply is "STATUS LENGTH\n" and LENGTH bytes. */
#ifndef OG_CTLPROTO_H
#define OG_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>

#define CTLPROTO_LINE_MAX 512            /* a request line, its '\n' included */
#define CTLPROTO_HEADER_MAX 32           /* a reply's header line, its '\n' included */
#define CTLPROTO_BODY_MAX (4u << 20)     /* a reply's body */
#define CTLPROTO_DOMAIN_MAX 253
#define CTLPROTO_ERR_MAX 128

enum ctlp_command { CTLP_STATUS, CTLP_STREAMS, CTLP_ONIONS, CTLP_LOOKUP, CTLP_RELOAD, CTLP_ONION_MX, CTLP_ONION_MX_CHECK };
/* onion-mx-check's reply comes after the relay check (up to 120 s): what a client waits for it. */
#define CTLPROTO_CHECK_REPLY_SECONDS 130
/* ok; not-ready: the facts follow, but the gateway cannot relay yet; error: the body says why. */
enum ctlp_status { CTLP_OK, CTLP_NOT_READY, CTLP_ERROR };

struct ctlp_request {
	enum ctlp_command cmd;
	bool json;
	char domain[CTLPROTO_DOMAIN_MAX + 1]; /* lookup: lowercase, no trailing dot */
};

/* One request line, without its '\n' (a '\r' before it is allowed); -1 and why in err. */
int ctlproto_parse_request(const char *line, size_t len, struct ctlp_request *req, char err[CTLPROTO_ERR_MAX]);
/* The request's line, '\n' included, in buf: its length, or -1 when it does not fit. */
int ctlproto_format_request(const struct ctlp_request *req, char *buf, size_t size);
/* A command's name ("status"), and a name into a command (-1: none such). */
const char *ctlproto_command_name(enum ctlp_command cmd);
int ctlproto_command_of(const char *name, enum ctlp_command *cmd);
/* A lookup's domain, checked and made canonical (lowercase, letters, digits, '-', '_', labels of
 * 1-63 bytes, at most 253 in all, one trailing dot dropped); -1 when it is not a domain name. */
int ctlproto_domain(const char *s, size_t len, char out[CTLPROTO_DOMAIN_MAX + 1]);

/* The reply's header line ("ok 42\n") in buf; its length. */
int ctlproto_format_header(enum ctlp_status st, size_t body_len, char buf[CTLPROTO_HEADER_MAX]);
/* A header line without its '\n': 0, or -1 when it is not one (or the body is over CTLPROTO_BODY_MAX). */
int ctlproto_parse_header(const char *line, size_t len, enum ctlp_status *st, size_t *body_len);
const char *ctlproto_status_name(enum ctlp_status st);

#endif
