/* config: the oniongate.conf(5) grammar, its defaults, and "file:line: what is wrong"
 * errors; a parsed config is immutable and replaced whole on reload. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_MAX_TOKENS 64

struct parse_state {
	struct config *cfg;
	const char *name;
	int line;
	int seen_run_dir, seen_data_dir, seen_log_level, seen_log_target;
	char *err;
};

struct directive {
	const char *keyword;
	int min_args, max_args;
	int (*apply)(struct parse_state *, char **args, int nargs);
};

/* Tor options the daemon sets itself: a tor-option line may not override them. */
static const char *const owned_tor_options[] = {
	"SocksPort", "ControlPort", "ControlSocket", "ControlSocketsGroupWritable", "DataDirectory",
	"RunAsDaemon", "Log", "PidFile", "User", "HashedControlPassword", "CookieAuthentication",
	"__OwningControllerFD", "__OwningControllerProcess", "__DisableSignalHandlers", "__ReloadTorrcOnSIGHUP",
};

static int fail(struct parse_state *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse_state *ps, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ps->err, CONFIG_ERR_MAX, "%s:%d: ", ps->name, ps->line);
	if (n < 0 || n >= CONFIG_ERR_MAX)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, CONFIG_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int once(struct parse_state *ps, int *seen, const char *keyword)
{
	if (*seen)
		return fail(ps, "duplicate %s (first given at line %d)", keyword, *seen);
	*seen = ps->line;
	return 0;
}

static int set_path(struct parse_state *ps, char **slot, int *seen, const char *keyword, const char *path)
{
	if (once(ps, seen, keyword) < 0)
		return -1;
	if (path[0] != '/')
		return fail(ps, "%s must be an absolute path, not '%s'", keyword, path);
	char *copy = strdup(path);
	if (copy == NULL)
		return fail(ps, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

static int apply_run_dir(struct parse_state *ps, char **args, int nargs)
{
	(void)nargs;
	return set_path(ps, &ps->cfg->run_dir, &ps->seen_run_dir, "run-dir", args[0]);
}

static int apply_data_dir(struct parse_state *ps, char **args, int nargs)
{
	(void)nargs;
	return set_path(ps, &ps->cfg->data_dir, &ps->seen_data_dir, "data-dir", args[0]);
}

static int apply_log_level(struct parse_state *ps, char **args, int nargs)
{
	(void)nargs;
	if (once(ps, &ps->seen_log_level, "log-level") < 0)
		return -1;
	if (log_level_parse(args[0], &ps->cfg->log_level) < 0)
		return fail(ps, "log-level must be err, warn, notice, info or debug, not '%s'", args[0]);
	return 0;
}

static int apply_log_target(struct parse_state *ps, char **args, int nargs)
{
	(void)nargs;
	if (once(ps, &ps->seen_log_target, "log-target") < 0)
		return -1;
	if (strcmp(args[0], "syslog") == 0)
		ps->cfg->log_target = LOG_TARGET_SYSLOG;
	else if (strcmp(args[0], "stderr") == 0)
		ps->cfg->log_target = LOG_TARGET_STDERR;
	else
		return fail(ps, "log-target must be syslog or stderr, not '%s'", args[0]);
	return 0;
}

static bool valid_tor_option_name(const char *name)
{
	if (!isalpha((unsigned char)name[0]) && name[0] != '_')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

static char *join_words(char **words, int n)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	char *out = malloc(len), *p = out;
	if (out == NULL)
		return NULL;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(words[i]);
		if (i > 0)
			*p++ = ' ';
		memcpy(p, words[i], l);
		p += l;
	}
	*p = '\0';
	return out;
}

static int apply_tor_option(struct parse_state *ps, char **args, int nargs)
{
	struct config *cfg = ps->cfg;
	if (!valid_tor_option_name(args[0]))
		return fail(ps, "'%s' is not a Tor option name", args[0]);
	for (size_t i = 0; i < sizeof(owned_tor_options) / sizeof(owned_tor_options[0]); i++)
		if (strcasecmp(args[0], owned_tor_options[i]) == 0)
			return fail(ps, "tor-option %s is set by oniongated itself and cannot be given", args[0]);

	struct tor_option *grown = realloc(cfg->tor_options, (cfg->n_tor_options + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail(ps, "out of memory");
	cfg->tor_options = grown;
	struct tor_option *opt = &cfg->tor_options[cfg->n_tor_options];
	opt->name = strdup(args[0]);
	opt->value = join_words(args + 1, nargs - 1);
	opt->line = ps->line;
	if (opt->name == NULL || opt->value == NULL) {
		free(opt->name);
		free(opt->value);
		return fail(ps, "out of memory");
	}
	cfg->n_tor_options++;
	return 0;
}

static const struct directive directives[] = {
	{ "run-dir", 1, 1, apply_run_dir },
	{ "data-dir", 1, 1, apply_data_dir },
	{ "log-level", 1, 1, apply_log_level },
	{ "log-target", 1, 1, apply_log_target },
	{ "tor-option", 2, CONFIG_MAX_TOKENS - 1, apply_tor_option },
};

/* Splits one line into words in place: blanks separate, "..." quotes (with \" and \\),
 * and # starts a comment where a word could start. Returns the word count or -1. */
static int split_words(struct parse_state *ps, char *line, char **words)
{
	int n = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#')
			return n;
		if (n == CONFIG_MAX_TOKENS)
			return fail(ps, "more than %d words on one line", CONFIG_MAX_TOKENS);
		if (*p == '"') {
			char *out = ++p;
			words[n++] = out;
			for (;;) {
				if (*p == '\0')
					return fail(ps, "unterminated quoted string");
				if (*p == '"')
					break;
				if (*p == '\\') {
					if (p[1] != '"' && p[1] != '\\')
						return fail(ps, "bad escape in quoted string (only \\\" and \\\\)");
					p++;
				}
				*out++ = *p++;
			}
			p++;
			if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
				return fail(ps, "a quoted string must be followed by a blank");
			*out = '\0';
		} else {
			words[n++] = p;
			while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r') {
				if (*p == '"')
					return fail(ps, "a quote inside a word");
				p++;
			}
		}
		if (*p != '\0')
			*p++ = '\0';
	}
}

static int parse_line(struct parse_state *ps, char *line)
{
	char *words[CONFIG_MAX_TOKENS];
	int n = split_words(ps, line, words);
	if (n <= 0)
		return n;
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
		const struct directive *d = &directives[i];
		if (strcmp(words[0], d->keyword) != 0)
			continue;
		int nargs = n - 1;
		if (nargs < d->min_args || nargs > d->max_args) {
			if (d->min_args == d->max_args)
				return fail(ps, "%s takes %d argument%s, not %d", d->keyword, d->min_args,
					    d->min_args == 1 ? "" : "s", nargs);
			return fail(ps, "%s takes at least %d arguments, not %d", d->keyword, d->min_args, nargs);
		}
		return d->apply(ps, words + 1, nargs);
	}
	return fail(ps, "unknown directive '%s'", words[0]);
}

static struct config *config_defaults(const char *name)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return NULL;
	cfg->path = strdup(name);
	cfg->run_dir = strdup("/run/oniongate");
	cfg->data_dir = strdup("/var/lib/oniongate");
	cfg->log_level = LOG_LEVEL_NOTICE;
	cfg->log_target = LOG_TARGET_SYSLOG;
	if (cfg->path == NULL || cfg->run_dir == NULL || cfg->data_dir == NULL) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct config *config_parse(const char *name, const char *text, size_t len, char err[CONFIG_ERR_MAX])
{
	struct parse_state ps = { .name = name, .line = 0, .err = err };
	char *buf = NULL;

	err[0] = '\0';
	ps.cfg = config_defaults(name);
	if (ps.cfg == NULL || (buf = malloc(len + 1)) == NULL) {
		snprintf(err, CONFIG_ERR_MAX, "%s: out of memory", name);
		goto bad;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';

	char *line = buf, *end = buf + len;
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *stop = nl ? nl : end;
		ps.line++;
		if (memchr(line, '\0', (size_t)(stop - line)) != NULL) {
			fail(&ps, "NUL byte in line");
			goto bad;
		}
		*stop = '\0';
		if (parse_line(&ps, line) < 0)
			goto bad;
		line = stop + 1;
	}
	free(buf);
	return ps.cfg;
bad:
	free(buf);
	config_free(ps.cfg);
	return NULL;
}

struct config *config_load(const char *path, char err[CONFIG_ERR_MAX])
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t len;

	if (f == NULL) {
		snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, strerror(errno));
		return NULL;
	}
	text = malloc(CONFIG_MAX_BYTES + 1);
	if (text == NULL) {
		fclose(f);
		snprintf(err, CONFIG_ERR_MAX, "%s: out of memory", path);
		return NULL;
	}
	len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
	if (ferror(f) || len > CONFIG_MAX_BYTES) {
		snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, ferror(f) ? strerror(errno) : "larger than 1 MiB");
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	struct config *cfg = config_parse(path, text, len, err);
	free(text);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_tor_options; i++) {
		free(cfg->tor_options[i].name);
		free(cfg->tor_options[i].value);
	}
	free(cfg->tor_options);
	free(cfg->path);
	free(cfg->run_dir);
	free(cfg->data_dir);
	free(cfg);
}
