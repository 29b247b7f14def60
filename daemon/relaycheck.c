/* SPDX-License-Identifier: ISC */
/* relaycheck: one check of the published onion MX through the embedded Tor: the banner, then a
 * relay try (EHLO, MAIL FROM, RCPT TO a domain the MTA does not serve, QUIT; no DATA) and its answer.
 * Bounds: what the server sends is smtpdialog's (line, lines per reply, bytes); the whole check
 * RELAYCHECK_SECONDS. */
#include "relaycheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "smtpdialog.h"
#include "socksconn.h"

/* SOCKS: the stream through Tor is being opened; DIALOGUE: SMTP; REPORTED: the callback has run. */
enum relaycheck_state { RC_SOCKS, RC_DIALOGUE, RC_REPORTED };

struct relaycheck {
	enum relaycheck_state state;
	struct socksconn *sc;
	struct bufferevent *bev;
	struct event *timer;
	struct smtpdialog dlg;
	char onion[256];
	char error[SMTPDIALOG_LINE_MAX + 160];
	relaycheck_cb *cb;
	void *arg;
};

/* The callback is the last thing done here: it may free rc. */
static void report(struct relaycheck *rc, const char *error)
{
	struct relaycheck_result r = { .completed = rc->dlg.rcpt_code != 0, .open_relay = smtpdialog_open_relay(&rc->dlg),
				       .banner = rc->dlg.banner, .rcpt_reply = rc->dlg.rcpt_reply, .error = "" };
	if (!r.completed) {
		snprintf(rc->error, sizeof(rc->error), "%s", error);
		r.error = rc->error;
	}
	rc->state = RC_REPORTED;
	evtimer_del(rc->timer);
	if (rc->bev != NULL)
		bufferevent_disable(rc->bev, EV_READ | EV_WRITE);
	rc->cb(rc, &r, rc->arg);
}

static void flush_command(struct relaycheck *rc)
{
	char cmd[SMTPDIALOG_CMD_MAX];
	size_t n = smtpdialog_take(&rc->dlg, cmd);
	if (n > 0)
		bufferevent_write(rc->bev, cmd, n);
}

static void readable(struct bufferevent *bev, void *arg)
{
	struct relaycheck *rc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char buf[1024];
	int n;
	while (rc->dlg.state != SD_DONE && rc->dlg.state != SD_FAILED && (n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		smtpdialog_feed(&rc->dlg, buf, (size_t)n);
		flush_command(rc);
	}
	if (rc->dlg.state == SD_DONE || rc->dlg.state == SD_FAILED)
		report(rc, rc->dlg.error);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relaycheck *rc = arg;
	(void)bev;
	if (what & BEV_EVENT_EOF) {
		smtpdialog_eof(&rc->dlg);
		report(rc, rc->dlg.error);
		return;
	}
	snprintf(rc->error, sizeof(rc->error), "the stream to %s failed in the %s", rc->onion,
		 rc->dlg.state == SD_BANNER ? "banner" : "dialogue");
	report(rc, rc->error);
}

static void opened(struct socksconn *sc, bool open, void *arg)
{
	struct relaycheck *rc = arg;
	const char *status;
	if (!open) {
		snprintf(rc->error, sizeof(rc->error), "Tor cannot reach %s:25: %s", rc->onion, socksconn_reason(sc, &status));
		socksconn_free(sc);
		rc->sc = NULL;
		report(rc, rc->error);
		return;
	}
	rc->bev = socksconn_take_bufferevent(sc);
	rc->sc = NULL;
	if (rc->bev == NULL) {
		report(rc, "no memory for the stream");
		return;
	}
	rc->state = RC_DIALOGUE;
	bufferevent_setcb(rc->bev, readable, NULL, event_cb, rc);
	bufferevent_enable(rc->bev, EV_READ | EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_input(rc->bev)) > 0)
		readable(rc->bev, rc);
}

static void timed_out(evutil_socket_t fd, short what, void *arg)
{
	struct relaycheck *rc = arg;
	(void)fd;
	(void)what;
	snprintf(rc->error, sizeof(rc->error), "no outcome within %d s (%s)", RELAYCHECK_SECONDS,
		 rc->state == RC_SOCKS ? "opening the stream through Tor" : "in the SMTP dialogue");
	report(rc, rc->error);
}

struct relaycheck *relaycheck_start(struct event_base *base, const char *socks_path, const char *onion,
				    relaycheck_cb *cb, void *arg)
{
	struct timeval tv = { RELAYCHECK_SECONDS, 0 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct relaycheck *rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return NULL;
	rc->cb = cb;
	rc->arg = arg;
	snprintf(rc->onion, sizeof(rc->onion), "%s", onion);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socks_path);
	if (smtpdialog_init(&rc->dlg, "oniongate.invalid", RELAYCHECK_FROM, RELAYCHECK_RCPT) < 0 ||
	    (rc->timer = evtimer_new(base, timed_out, rc)) == NULL || evtimer_add(rc->timer, &tv) < 0 ||
	    (rc->sc = socksconn_new(base, &sun, onion, 25, opened, rc)) == NULL) {
		int err = errno;
		relaycheck_free(rc);
		errno = err;
		return NULL;
	}
	return rc;
}

void relaycheck_free(struct relaycheck *rc)
{
	if (rc == NULL)
		return;
	socksconn_free(rc->sc);
	if (rc->bev != NULL)
		bufferevent_free(rc->bev);
	if (rc->timer != NULL)
		event_free(rc->timer);
	free(rc);
}

void relaycheck_summary(const struct relaycheck_result *r, char *out, size_t len)
{
	const char *sep = r->banner[0] != '\0' ? "; " : "";
	if (!r->completed)
		snprintf(out, len, "%s%scheck failed: %s", r->banner, sep, r->error);
	else if (r->open_relay)
		snprintf(out, len, "%s%sOPEN RELAY: RCPT TO:<%s> accepted: %s", r->banner, sep, RELAYCHECK_RCPT, r->rcpt_reply);
	else
		snprintf(out, len, "%s%srelay refused: %s", r->banner, sep, r->rcpt_reply);
}
