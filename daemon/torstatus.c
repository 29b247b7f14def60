/* SPDX-License-Identifier: ISC */
/* torstatus: the STATUS_GENERAL events of Tor's control protocol the daemon acts on, CLOCK_SKEW
 * and CLOCK_JUMPED (control-spec 4.1.10), parsed from an event's text, and the clock-skew state
 * they make; no I/O, fuzzed alone. */
#include "torstatus.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctlreply.h"

#define PREFIX "STATUS_GENERAL "

/* "+n", "-n" or "n" seconds within TORSTATUS_SECONDS_MAX. */
static bool parse_seconds(const char *s, int64_t *out)
{
	const char *digits = s + (*s == '+' || *s == '-');
	char *end;
	if (!isdigit((unsigned char)*digits))
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > TORSTATUS_SECONDS_MAX || v < -TORSTATUS_SECONDS_MAX)
		return false;
	*out = v;
	return true;
}

/* A source is an address, a word or a path: letters, digits and ":.[]_-/" only (it goes into the
 * STATUS line). */
static bool plain_source(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(":.[]_-/", *s) == NULL)
			return false;
	return true;
}

/* The action word after the severity: a pointer into text, or NULL. */
static const char *action_of(const char *text)
{
	if (strncmp(text, PREFIX, strlen(PREFIX)) != 0)
		return NULL;
	const char *severity = text + strlen(PREFIX);
	const char *sp = strchr(severity, ' ');
	return sp != NULL ? sp + 1 : NULL;
}

static bool is_action(const char *action, const char *word)
{
	size_t n = strlen(word);
	return strncmp(action, word, n) == 0 && (action[n] == ' ' || action[n] == '\0');
}

static enum torstatus_kind clock_skew(const char *args, struct torstatus_event *ev)
{
	char value[32];
	if ((ctl_text_value(args, "SKEW", value, sizeof(value)) < 0 &&
	     ctl_text_value(args, "MIN_SKEW", value, sizeof(value)) < 0) ||
	    !parse_seconds(value, &ev->seconds))
		return TORSTATUS_MALFORMED;
	if (ctl_text_value(args, "SOURCE", ev->source, sizeof(ev->source)) < 0 || !plain_source(ev->source))
		return TORSTATUS_MALFORMED;
	return TORSTATUS_CLOCK_SKEW;
}

static enum torstatus_kind clock_jumped(const char *args, struct torstatus_event *ev)
{
	char value[32];
	if (ctl_text_value(args, "TIME", value, sizeof(value)) < 0 || !parse_seconds(value, &ev->seconds))
		return TORSTATUS_MALFORMED;
	return TORSTATUS_CLOCK_JUMPED;
}

enum torstatus_desc torstatus_hs_desc(const char *text, char onion[ONION_NAME_LEN + 1])
{
	char name[ONION_V3_LABEL_LEN + 7], reason[32];
	enum torstatus_desc kind;
	size_t len;
	if (strncmp(text, "HS_DESC RECEIVED ", 17) == 0) {
		kind = TORSTATUS_DESC_RECEIVED;
		text += 17;
	} else if (strncmp(text, "HS_DESC FAILED ", 15) == 0) {
		kind = TORSTATUS_DESC_FAILED;
		text += 15;
	} else {
		return TORSTATUS_DESC_OTHER;
	}
	if (kind == TORSTATUS_DESC_FAILED && ctl_text_value(text, "REASON", reason, sizeof(reason)) == 0 &&
	    strcmp(reason, "UPLOAD_REJECTED") == 0)
		return TORSTATUS_DESC_OTHER;
	len = strcspn(text, " ");
	if (len == 7 && strncmp(text, "UNKNOWN", 7) == 0)
		return TORSTATUS_DESC_OTHER;
	if (len != ONION_V3_LABEL_LEN)
		return TORSTATUS_DESC_MALFORMED;
	memcpy(name, text, len);
	memcpy(name + len, ".onion", 7);
	return onion_canonical(name, onion) == 0 ? kind : TORSTATUS_DESC_MALFORMED;
}

enum torstatus_kind torstatus_parse(const char *text, struct torstatus_event *ev)
{
	const char *action = action_of(text);
	ev->seconds = 0;
	ev->source[0] = '\0';
	if (action == NULL)
		return TORSTATUS_OTHER;
	if (is_action(action, "CLOCK_SKEW"))
		return clock_skew(action + strlen("CLOCK_SKEW"), ev);
	if (is_action(action, "CLOCK_JUMPED"))
		return clock_jumped(action + strlen("CLOCK_JUMPED"), ev);
	return TORSTATUS_OTHER;
}

/* "Clock skew N in WHAT from SOURCE" (connection.c clock_skew_warning). */
static enum torstatus_kind bootstrap_warning(const char *text, struct torstatus_event *ev)
{
	static const char prefix[] = "Clock skew ";
	char warning[TORSTATUS_SOURCE_MAX + 96], reason[16], number[32];
	if (strstr(text, "BOOTSTRAP ") == NULL || ctl_text_value(text, "REASON", reason, sizeof(reason)) < 0 ||
	    strcmp(reason, "CLOCK_SKEW") != 0)
		return TORSTATUS_OTHER;
	if (ctl_text_value(text, "WARNING", warning, sizeof(warning)) < 0 ||
	    strncmp(warning, prefix, sizeof(prefix) - 1) != 0)
		return TORSTATUS_MALFORMED;
	const char *n = warning + sizeof(prefix) - 1, *sp = strchr(n, ' '), *from = strstr(n, " from ");
	if (sp == NULL || from == NULL || (size_t)(sp - n) >= sizeof(number))
		return TORSTATUS_MALFORMED;
	memcpy(number, n, (size_t)(sp - n));
	number[sp - n] = '\0';
	from += strlen(" from ");
	if (!parse_seconds(number, &ev->seconds) || strlen(from) >= sizeof(ev->source) || !plain_source(from))
		return TORSTATUS_MALFORMED;
	memcpy(ev->source, from, strlen(from) + 1);
	return TORSTATUS_CLOCK_SKEW;
}

/* A skew begins or changes. */
static bool take_skew(struct torstatus_clock *c, const struct torstatus_event *ev)
{
	bool changed = !c->skewed || c->skew.seconds != ev->seconds || strcmp(c->skew.source, ev->source) != 0;
	c->skewed = true;
	c->skew = *ev;
	return changed;
}

enum torstatus_kind torstatus_clock_bootstrap(struct torstatus_clock *c, const char *text, struct torstatus_event *ev,
					      bool *changed)
{
	ev->seconds = 0;
	ev->source[0] = '\0';
	enum torstatus_kind kind = bootstrap_warning(text, ev);
	*changed = kind == TORSTATUS_CLOCK_SKEW && take_skew(c, ev);
	return kind;
}

enum torstatus_kind torstatus_clock_event(struct torstatus_clock *c, const char *text, struct torstatus_event *ev,
					  bool *changed)
{
	enum torstatus_kind kind = torstatus_parse(text, ev);
	*changed = false;
	if (kind == TORSTATUS_CLOCK_SKEW) {
		*changed = take_skew(c, ev);
	} else if (kind == TORSTATUS_CLOCK_JUMPED) {
		*changed = c->skewed;
		c->skewed = false;
	}
	return kind;
}

bool torstatus_clock_ready(struct torstatus_clock *c)
{
	bool ended = c->skewed;
	c->skewed = false;
	return ended;
}
