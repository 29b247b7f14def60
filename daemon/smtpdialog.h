/* SPDX-License-Identifier: ISC */
/* smtpdialog: the relay check's SMTP client dialogue without I/O: the server's bytes in (bounded),
 * the next command out (banner, EHLO, MAIL FROM, RCPT TO, QUIT), and the verdict on RCPT. */
#ifndef OG_SMTPDIALOG_H
#define OG_SMTPDIALOG_H

#include <stdbool.h>
#include <stddef.h>

/* A reply line (RFC 5321 4.5.3.1.5: 512 octets with CRLF), lines in one reply, and the bytes
 * of the whole dialogue: a server that sends more has failed the check. */
#define SMTPDIALOG_LINE_MAX 512
#define SMTPDIALOG_REPLY_LINES_MAX 64
#define SMTPDIALOG_TOTAL_MAX (64 * 1024)
/* The longest command it writes: "RCPT TO:<...>" with a 254-octet address and CRLF. */
#define SMTPDIALOG_CMD_MAX 300

/* What is awaited: the reply to the banner wait, EHLO, MAIL, RCPT, QUIT; then DONE or FAILED. */
enum smtpdialog_state {
	SD_BANNER, SD_EHLO, SD_MAIL, SD_RCPT, SD_QUIT, SD_DONE, SD_FAILED
};

struct smtpdialog {
	enum smtpdialog_state state;
	char ehlo[SMTPDIALOG_CMD_MAX], from[SMTPDIALOG_CMD_MAX], rcpt[SMTPDIALOG_CMD_MAX];
	char banner[SMTPDIALOG_LINE_MAX + 1];     /* the banner's first line */
	char rcpt_reply[SMTPDIALOG_LINE_MAX + 1]; /* the RCPT reply's last line */
	int rcpt_code;                            /* 0 until RCPT was answered */
	char error[SMTPDIALOG_LINE_MAX + 96];     /* SD_FAILED: why */
	char line[SMTPDIALOG_LINE_MAX + 1];       /* the line being read */
	size_t line_len, total;
	int reply_code;                           /* of the multiline reply under way, 0 none */
	unsigned reply_lines;
	char out[SMTPDIALOG_CMD_MAX];             /* the command to send next, "" none */
};

/* 0, or -1 when a name does not fit a command (or holds CR, LF, < or >). */
int smtpdialog_init(struct smtpdialog *d, const char *ehlo_name, const char *mail_from, const char *rcpt_to);
/* The server's bytes; afterwards d->out holds the command to send (take it with smtpdialog_take),
 * and d->state says whether the dialogue goes on. Bytes after DONE or FAILED are ignored. */
void smtpdialog_feed(struct smtpdialog *d, const char *data, size_t len);
/* The server closed: DONE after the QUIT was sent or once RCPT was answered, else FAILED. */
void smtpdialog_eof(struct smtpdialog *d);
/* Copies the pending command (NUL-terminated) to out and clears it; its length, 0 when none. */
size_t smtpdialog_take(struct smtpdialog *d, char out[SMTPDIALOG_CMD_MAX]);
/* Once RCPT was answered: true when the server took a recipient it should not relay to. */
bool smtpdialog_open_relay(const struct smtpdialog *d);

#endif
