/* SPDX-License-Identifier: ISC */
/* log: the daemon's one log sink (stderr or syslog), its level, and the folding of
 * identical repeated lines into "last message repeated N times". */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#define LOG_LINE_MAX 1024
#define LOG_REPEAT_WINDOW 30 /* seconds in which an identical line is folded */

static const char *const level_names[] = { "err", "warn", "notice", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

static struct {
	enum log_target target;
	enum log_level level;
	char last[LOG_LINE_MAX];
	enum log_level last_level;
	time_t last_first_seen;
	unsigned repeats;
} logger = { LOG_TARGET_STDERR, LOG_LEVEL_NOTICE, "", LOG_LEVEL_NOTICE, 0, 0 };

static void emit(enum log_level level, const char *line)
{
	if (logger.target == LOG_TARGET_SYSLOG) {
		syslog(syslog_prio[level], "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld [%s] %s\n", stamp, ts.tv_nsec / 1000000L, level_names[level], line);
}

static void flush_repeats(void)
{
	char line[64];
	if (logger.repeats == 0)
		return;
	snprintf(line, sizeof(line), "last message repeated %u times", logger.repeats);
	emit(logger.last_level, line);
	logger.repeats = 0;
}

void log_open(const char *ident, enum log_target target, enum log_level level)
{
	logger.target = target;
	logger.level = level;
	if (target == LOG_TARGET_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	logger.level = level;
}

void log_close(void)
{
	flush_repeats();
	if (logger.target == LOG_TARGET_SYSLOG)
		closelog();
	logger.target = LOG_TARGET_STDERR;
}

int log_level_parse(const char *word, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(word, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	time_t now;

	if (level > logger.level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	now = time(NULL);
	if (strcmp(line, logger.last) == 0 && now - logger.last_first_seen < LOG_REPEAT_WINDOW) {
		logger.repeats++;
		return;
	}
	flush_repeats();
	emit(level, line);
	memcpy(logger.last, line, sizeof(line));
	logger.last_level = level;
	logger.last_first_seen = now;
}
