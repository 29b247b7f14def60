/* SPDX-License-Identifier: ISC */
/* smtpdialog: the relay check's SMTP client dialogue without I/O: the server's bytes in (bounded),
 * the next command out (banner, EHLO, MAIL FROM, RCPT TO, QUIT), and the verdict on RCPT. */
#include "smtpdialog.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void fail(struct smtpdialog *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct smtpdialog *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->error, sizeof(d->error), fmt, ap);
	va_end(ap);
	d->state = SD_FAILED;
	d->out[0] = '\0';
}

static bool fits(const char *s, size_t room)
{
	return strlen(s) < room && strpbrk(s, "\r\n<>") == NULL;
}

int smtpdialog_init(struct smtpdialog *d, const char *ehlo_name, const char *mail_from, const char *rcpt_to)
{
	memset(d, 0, sizeof(*d));
	if (!fits(ehlo_name, SMTPDIALOG_CMD_MAX - 8) || !fits(mail_from, SMTPDIALOG_CMD_MAX - 16) ||
	    !fits(rcpt_to, SMTPDIALOG_CMD_MAX - 16))
		return -1;
	snprintf(d->ehlo, sizeof(d->ehlo), "EHLO %s\r\n", ehlo_name);
	snprintf(d->from, sizeof(d->from), "MAIL FROM:<%s>\r\n", mail_from);
	snprintf(d->rcpt, sizeof(d->rcpt), "RCPT TO:<%s>\r\n", rcpt_to);
	d->state = SD_BANNER;
	return 0;
}

static const char *state_name(enum smtpdialog_state s)
{
	switch (s) {
	case SD_BANNER: return "banner";
	case SD_EHLO: return "EHLO";
	case SD_MAIL: return "MAIL FROM";
	case SD_RCPT: return "RCPT TO";
	case SD_QUIT: return "QUIT";
	case SD_DONE: return "done";
	case SD_FAILED: return "failed";
	}
	return "?";
}

/* A whole reply has come (code, its last line): the next command, or the end. */
static void reply_done(struct smtpdialog *d, int code, const char *last)
{
	bool ok = code / 100 == 2;
	switch (d->state) {
	case SD_BANNER:
		if (code != 220) {
			fail(d, "the banner is not 220: %s", d->banner);
			return;
		}
		d->state = SD_EHLO;
		snprintf(d->out, sizeof(d->out), "%s", d->ehlo);
		return;
	case SD_EHLO:
	case SD_MAIL:
		if (!ok) {
			fail(d, "%s refused: %s", state_name(d->state), last);
			return;
		}
		snprintf(d->out, sizeof(d->out), "%s", d->state == SD_EHLO ? d->from : d->rcpt);
		d->state = d->state == SD_EHLO ? SD_MAIL : SD_RCPT;
		return;
	case SD_RCPT:
		d->rcpt_code = code;
		snprintf(d->rcpt_reply, sizeof(d->rcpt_reply), "%s", last);
		d->state = SD_QUIT;
		snprintf(d->out, sizeof(d->out), "QUIT\r\n");
		return;
	case SD_QUIT:
		d->state = SD_DONE;
		return;
	case SD_DONE:
	case SD_FAILED:
		return;
	}
}

/* "250-text", "250 text" or "250": the code, and whether more lines follow; -1 if not a reply line. */
static int parse_code(const char *line, size_t len, bool *more)
{
	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	*more = len > 3 && line[3] == '-';
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

static void line_done(struct smtpdialog *d)
{
	bool more;
	size_t len = d->line_len;
	if (len > 0 && d->line[len - 1] == '\r')
		len--;
	d->line[len] = '\0';
	d->line_len = 0;
	int code = parse_code(d->line, len, &more);
	if (code < 0) {
		fail(d, "not an SMTP reply in %s: %.80s", state_name(d->state), d->line);
		return;
	}
	if (d->reply_code != 0 && code != d->reply_code) {
		fail(d, "a reply's lines change their code (%d, then %d)", d->reply_code, code);
		return;
	}
	if (++d->reply_lines > SMTPDIALOG_REPLY_LINES_MAX) {
		fail(d, "a reply of more than %d lines", SMTPDIALOG_REPLY_LINES_MAX);
		return;
	}
	if (d->state == SD_BANNER && d->reply_lines == 1)
		snprintf(d->banner, sizeof(d->banner), "%s", d->line);
	if (more) {
		d->reply_code = code;
		return;
	}
	d->reply_code = 0;
	d->reply_lines = 0;
	reply_done(d, code, d->line);
}

void smtpdialog_feed(struct smtpdialog *d, const char *data, size_t len)
{
	for (size_t i = 0; i < len && d->state != SD_DONE && d->state != SD_FAILED; i++) {
		if (++d->total > SMTPDIALOG_TOTAL_MAX) {
			fail(d, "the server sent more than %d bytes", SMTPDIALOG_TOTAL_MAX);
			return;
		}
		if (data[i] == '\n') {
			line_done(d);
			continue;
		}
		if (d->line_len == SMTPDIALOG_LINE_MAX) {
			fail(d, "a reply line longer than %d bytes in %s", SMTPDIALOG_LINE_MAX, state_name(d->state));
			return;
		}
		if (data[i] == '\0') {
			fail(d, "a NUL byte in a reply in %s", state_name(d->state));
			return;
		}
		d->line[d->line_len++] = data[i];
	}
}

void smtpdialog_eof(struct smtpdialog *d)
{
	if (d->state == SD_QUIT)
		d->state = SD_DONE;
	else if (d->state != SD_DONE && d->state != SD_FAILED)
		fail(d, "the server closed the connection before the %s reply", state_name(d->state));
}

size_t smtpdialog_take(struct smtpdialog *d, char out[SMTPDIALOG_CMD_MAX])
{
	size_t len = strlen(d->out);
	memcpy(out, d->out, len + 1);
	d->out[0] = '\0';
	return len;
}

bool smtpdialog_open_relay(const struct smtpdialog *d)
{
	return d->rcpt_code / 100 == 2;
}
