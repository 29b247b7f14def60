/* SPDX-License-Identifier: ISC */
/* log: the daemon's one log sink (stderr or syslog), its level, and the folding of
 * identical repeated lines into "last message repeated N times". */
#ifndef OG_LOG_H
#define OG_LOG_H

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_NOTICE, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

void log_open(const char *ident, enum log_target target, enum log_level level);
void log_set_level(enum log_level level);
void log_close(void);
int log_level_parse(const char *word, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
