/* SPDX-License-Identifier: ISC */
/* control: the owning control connection to the embedded Tor: commands and their replies
 * in order, STATUS_CLIENT and STATUS_GENERAL events, and the ready/not-ready and clock-skew state
 * the rest of the daemon reads. */
#include "control.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "stats.h"
#include "torstatus.h"

#define CONTROL_LINE_MAX (64 * 1024)

/* Distinct onions whose descriptors must fail, none answered, before a failed fetch tells of Tor. */
#define DESC_SEVERAL 2

struct pending {
	control_reply_cb *cb;
	void *arg;
	struct pending *next;
};

struct control {
	struct bufferevent *bev;
	struct ctl_parser *parser;
	struct pending *head, *tail;
	control_state_cb *on_state;
	control_clock_cb *on_clock;
	void *arg;
	int progress;
	char summary[CONTROL_SUMMARY_MAX]; /* of the last bootstrap phase */
	bool circuits_ok;
	bool ready;
	char version[CONTROL_VERSION_MAX]; /* GETINFO version, "" until answered */
	uint64_t desc_received, desc_failed; /* HS_DESC: fetches answered; failed once several onions failed */
	char desc_failing[DESC_SEVERAL][ONION_NAME_LEN + 1]; /* distinct onions failed since the last answer */
	size_t n_desc_failing;
	struct torstatus_clock clock;
};

static void set_state(struct control *c, int progress, bool circuits_ok)
{
	bool ready = progress == 100 && circuits_ok;
	bool changed = ready != c->ready || progress != c->progress;
	c->progress = progress;
	c->circuits_ok = circuits_ok;
	if (!changed)
		return;
	c->ready = ready;
	c->on_state(ready, progress, c->arg);
	if (ready && torstatus_clock_ready(&c->clock)) {
		log_notice("tor: ready again after a clock skew of %" PRId64 " s", c->clock.skew.seconds);
		c->on_clock(c->arg);
	}
}

/* text holds "... BOOTSTRAP PROGRESS=n TAG=t SUMMARY=\"s\"" or a circuit status word. */
static void client_status(struct control *c, const char *text)
{
	char value[CONTROL_SUMMARY_MAX];
	if (strstr(text, " BOOTSTRAP ") != NULL) {
		if (ctl_text_value(text, "PROGRESS", value, sizeof(value)) < 0) {
			stats_bump(STAT_CONTROL_MALFORMED);
			return;
		}
		int progress = atoi(value);
		if (progress < 0 || progress > 100) {
			stats_bump(STAT_CONTROL_MALFORMED);
			return;
		}
		if (progress != c->progress && ctl_text_value(text, "SUMMARY", value, sizeof(value)) == 0) {
			log_info("tor bootstrap %d%%: %s", progress, value);
			snprintf(c->summary, sizeof(c->summary), "%s", value);
		}
		set_state(c, progress, progress == 100 ? true : c->circuits_ok);
	} else if (strstr(text, " CIRCUIT_NOT_ESTABLISHED") != NULL) {
		set_state(c, c->progress, false);
	} else if (strstr(text, " CIRCUIT_ESTABLISHED") != NULL) {
		set_state(c, c->progress, true);
	}
}

/* What a clock event did: counted, logged, told. */
static void clock_news(struct control *c, enum torstatus_kind kind, const struct torstatus_event *ev, bool changed)
{
	switch (kind) {
	case TORSTATUS_OTHER: return;
	case TORSTATUS_MALFORMED: stats_bump(STAT_TOR_STATUS_MALFORMED); return;
	case TORSTATUS_CLOCK_SKEW:
		stats_set(STAT_TOR_CLOCK_SKEW, (uint64_t)ev->seconds);
		if (changed)
			log_warn("tor: clock skew %" PRId64 " s (source %s): check the time", ev->seconds, ev->source);
		break;
	case TORSTATUS_CLOCK_JUMPED:
		log_notice("tor: the clock jumped %" PRId64 " s", ev->seconds);
		break;
	}
	if (changed)
		c->on_clock(c->arg);
}

/* CLOCK_SKEW: shown until Tor is ready again; CLOCK_JUMPED (the time was set): skew over. */
static void general_status(struct control *c, const char *text)
{
	struct torstatus_event ev;
	bool changed;
	enum torstatus_kind kind = torstatus_clock_event(&c->clock, text, &ev, &changed);
	clock_news(c, kind, &ev, changed);
}

static bool already_failing(const struct control *c, const char *onion)
{
	for (size_t i = 0; i < c->n_desc_failing; i++)
		if (strcmp(c->desc_failing[i], onion) == 0)
			return true;
	return false;
}

/* A failed fetch counts for the stall detector once DESC_SEVERAL distinct onions failed since the last
 * answer: one onion that is gone is that onion's trouble, not Tor's. */
static void descriptor_failed(struct control *c, const char *onion)
{
	if (!already_failing(c, onion) && c->n_desc_failing < DESC_SEVERAL)
		memcpy(c->desc_failing[c->n_desc_failing++], onion, ONION_NAME_LEN + 1);
	if (c->n_desc_failing == DESC_SEVERAL)
		c->desc_failed++;
}

/* A descriptor fetch answered or failed at one HSDir. */
static void descriptor_event(struct control *c, const char *text)
{
	char onion[ONION_NAME_LEN + 1];
	switch (torstatus_hs_desc(text, onion)) {
	case TORSTATUS_DESC_RECEIVED:
		c->desc_received++;
		c->n_desc_failing = 0;
		stats_bump(STAT_TOR_DESC_RECEIVED);
		break;
	case TORSTATUS_DESC_FAILED:
		stats_bump(STAT_TOR_DESC_FAILED);
		log_debug("tor: descriptor fetch of %s failed at an HSDir", onion);
		descriptor_failed(c, onion);
		break;
	case TORSTATUS_DESC_MALFORMED:
		stats_bump(STAT_TOR_STATUS_MALFORMED);
		break;
	case TORSTATUS_DESC_OTHER:
		break;
	}
}

static void handle_event(struct control *c, const struct ctl_reply *r)
{
	const char *text = r->lines[0].text;
	stats_bump(STAT_CONTROL_EVENTS);
	if (strncmp(text, "STATUS_CLIENT ", 14) == 0)
		client_status(c, text);
	else if (strncmp(text, "STATUS_GENERAL ", 15) == 0)
		general_status(c, text);
	else if (strncmp(text, "HS_DESC ", 8) == 0)
		descriptor_event(c, text);
}

static void handle_reply(struct control *c, const struct ctl_reply *r)
{
	struct pending *p = c->head;
	if (p == NULL) {
		stats_bump(STAT_CONTROL_MALFORMED);
		return;
	}
	stats_bump(STAT_CONTROL_REPLIES);
	c->head = p->next;
	if (c->head == NULL)
		c->tail = NULL;
	if (p->cb != NULL)
		p->cb(r, p->arg);
	free(p);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct control *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		struct ctl_reply *r;
		enum ctl_status st = ctl_parser_line(c->parser, line, len, &r);
		free(line);
		if (st == CTL_MALFORMED) {
			stats_bump(STAT_CONTROL_MALFORMED);
		} else if (st == CTL_REPLY_DONE) {
			if (r->async)
				handle_event(c, r);
			else
				handle_reply(c, r);
			ctl_reply_free(r);
		}
	}
	if (evbuffer_get_length(in) > CONTROL_LINE_MAX) {
		stats_bump(STAT_CONTROL_MALFORMED);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

static void fail_pending(struct control *c)
{
	while (c->head != NULL) {
		struct pending *p = c->head;
		c->head = p->next;
		if (p->cb != NULL)
			p->cb(NULL, p->arg);
		free(p);
	}
	c->tail = NULL;
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control *c = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		log_info("control connection to Tor closed");
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		fail_pending(c);
		set_state(c, c->progress, false);
	}
}

static void bootstrap_phase(const struct ctl_reply *r, void *arg)
{
	struct control *c = arg;
	if (r == NULL)
		return;
	if (r->code != 250) {
		log_warn("GETINFO status/bootstrap-phase: %d %s", r->code, r->lines[0].text);
		return;
	}
	/* A skew found before SETEVENTS took effect (Tor's state file from the future) is only here. */
	struct torstatus_event ev;
	bool changed;
	enum torstatus_kind kind = torstatus_clock_bootstrap(&c->clock, r->lines[0].text, &ev, &changed);
	clock_news(c, kind, &ev, changed);
	client_status(c, r->lines[0].text);
}

static void version_known(const struct ctl_reply *r, void *arg)
{
	struct control *c = arg;
	const char *text;
	if (r == NULL || r->code != 250 || r->n_lines == 0)
		return;
	text = r->lines[0].text;
	if (strncmp(text, "version=", 8) == 0)
		snprintf(c->version, sizeof(c->version), "%s", text + 8);
}

static void setevents_done(const struct ctl_reply *r, void *arg)
{
	(void)arg;
	if (r != NULL && r->code != 250)
		log_warn("SETEVENTS: %d %s", r->code, r->lines[0].text);
}

struct control *control_new(struct event_base *base, int fd, control_state_cb *on_state, control_clock_cb *on_clock,
			    void *arg)
{
	struct control *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->on_state = on_state;
	c->on_clock = on_clock;
	c->arg = arg;
	c->parser = ctl_parser_new();
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->parser == NULL || c->bev == NULL) {
		ctl_parser_free(c->parser);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	if (control_command(c, "SETEVENTS STATUS_CLIENT STATUS_GENERAL HS_DESC", setevents_done, c) < 0 ||
	    control_command(c, "GETINFO status/bootstrap-phase", bootstrap_phase, c) < 0 ||
	    control_command(c, "GETINFO version", version_known, c) < 0) {
		control_free(c);
		return NULL;
	}
	return c;
}

int control_command(struct control *c, const char *line, control_reply_cb *cb, void *arg)
{
	struct pending *p;
	if (c->bev == NULL || strpbrk(line, "\r\n") != NULL || (p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	if (evbuffer_add_printf(bufferevent_get_output(c->bev), "%s\r\n", line) < 0) {
		free(p);
		return -1;
	}
	p->cb = cb;
	p->arg = arg;
	if (c->tail != NULL)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	return 0;
}

bool control_ready(const struct control *c)
{
	return c->ready;
}

int control_progress(const struct control *c)
{
	return c->progress;
}

const char *control_summary(const struct control *c)
{
	return c->summary;
}

bool control_clock_skew(const struct control *c, int64_t *seconds, const char **source)
{
	*seconds = c->clock.skew.seconds;
	*source = c->clock.skew.source;
	return c->clock.skewed;
}

void control_close(struct control *c)
{
	if (c == NULL || c->bev == NULL)
		return;
	bufferevent_free(c->bev);
	c->bev = NULL;
	c->ready = false;
	fail_pending(c);
}

void control_free(struct control *c)
{
	if (c == NULL)
		return;
	control_close(c);
	ctl_parser_free(c->parser);
	free(c);
}

const char *control_tor_version(const struct control *c)
{
	return c->version;
}

bool control_circuits(const struct control *c)
{
	return c->circuits_ok;
}

void control_desc_totals(const struct control *c, uint64_t *received, uint64_t *failed)
{
	*received = c->desc_received;
	*failed = c->desc_failed;
}
