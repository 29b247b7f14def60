/* SPDX-License-Identifier: ISC */
/* mapfile: the onionmx tor_transport map grammar ("domain smtptor:[x.onion]:port"), parsed
 * into a sorted table with file:line: errors and warnings; no I/O beyond reading the file. */
#include "mapfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfile.h"

#define MAPFILE_MAX_BYTES (16 * 1024 * 1024)
#define V2_LABEL_LEN 16

struct mparse {
	const char *name;
	int line;
	char *err;
	struct mapfile *m;
};

static void report(struct mparse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct mparse *ps, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ps->err, MAPFILE_ERR_MAX, "%s:%d: ", ps->name, ps->line);
	if (n < 0 || n >= MAPFILE_ERR_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, MAPFILE_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
}

/* "file:line: message" into the error, and -1 (a macro, so that analyzers see the -1). */
#define fail(ps, ...) (report((ps), __VA_ARGS__), -1)

static void warn(struct mparse *ps, const char *what)
{
	char *w;
	if (ps->m->n_warnings == MAPFILE_MAX_WARNINGS)
		return;
	if (asprintf(&w, "%s:%d: %s", ps->name, ps->line, what) >= 0)
		ps->m->warnings[ps->m->n_warnings++] = w;
}

static bool valid_domain(const char *d)
{
	size_t len = strlen(d), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = d[i];
		if (c == '.') {
			if (label == 0 && i != 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* "smtptor:[x.onion]", "smtptor:[x.onion]:2525", "smtptor:x.onion", "smtptor:" */
static int parse_nexthop(struct mparse *ps, char *value, char **host, long *port)
{
	char *p;
	if (strncmp(value, "smtptor:", 8) != 0)
		return fail(ps, "next hop must be smtptor:[host.onion], not '%s'", value);
	p = value + 8;
	*port = 25;
	if (*p == '[') {
		char *close = strchr(p, ']');
		if (close == NULL)
			return fail(ps, "missing ']' in '%s'", value);
		*close = '\0';
		*host = p + 1;
		p = close + 1;
		if (*p == ':') {
			char *end;
			errno = 0;
			*port = strtol(p + 1, &end, 10);
			if (p[1] == '\0' || *end != '\0' || errno != 0 || *port < 1 || *port > 65535)
				return fail(ps, "bad port '%s'", p + 1);
		} else if (*p != '\0') {
			return fail(ps, "unexpected '%s' after ']'", p);
		}
	} else {
		*host = p;
		if (strchr(p, ':') != NULL)
			return fail(ps, "a port needs the host in brackets: smtptor:[host.onion]:port");
	}
	return 0;
}

static int add_entry(struct mparse *ps, const char *domain, const char *onion, long port)
{
	struct mapfile *m = ps->m;
	struct map_entry *grown = realloc(m->entries, (m->n + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail(ps, "out of memory");
	m->entries = grown;
	struct map_entry *e = &m->entries[m->n];
	e->domain = strdup(domain);
	if (e->domain == NULL)
		return fail(ps, "out of memory");
	for (char *c = e->domain; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	snprintf(e->onion, sizeof(e->onion), "%s", onion);
	e->port = (uint16_t)port;
	e->line = ps->line;
	m->n++;
	return 0;
}

static int parse_line(struct mparse *ps, char *line)
{
	char *words[2], *save = NULL, *host = NULL;
	int n = 0;
	long port = 25;
	char *hash = strchr(line, '#');
	if (hash != NULL)
		*hash = '\0';
	for (char *w = strtok_r(line, " \t\r", &save); w != NULL; w = strtok_r(NULL, " \t\r", &save)) {
		if (n == 2)
			return fail(ps, "more than two fields: '%s'", w);
		words[n++] = w;
	}
	if (n == 0)
		return 0;
	if (n == 1)
		return fail(ps, "'%s' has no next hop", words[0]);
	size_t dlen = strlen(words[0]);
	if (dlen > 0 && words[0][dlen - 1] == '.')
		words[0][dlen - 1] = '\0';
	if (!valid_domain(words[0]))
		return fail(ps, "'%s' is not a domain", words[0]);
	if (parse_nexthop(ps, words[1], &host, &port) < 0)
		return -1;
	if (strcmp(words[0], ".onion") == 0 || strcmp(words[0], "onion") == 0) {
		if (*host != '\0')
			return fail(ps, "the .onion catch-all takes a bare 'smtptor:'");
		ps->m->catch_all_line = ps->line;
		return 0;
	}
	if (*host == '\0')
		return fail(ps, "'%s' has no onion host", words[0]);
	char canon[ONION_NAME_LEN + 1];
	if (onion_canonical(host, canon) < 0) {
		size_t hlen = strlen(host);
		if (hlen == V2_LABEL_LEN + 6 && onion_is_onion_domain(host)) {
			warn(ps, "v2 onion address skipped (Tor no longer reaches v2 services)");
			return 0;
		}
		return fail(ps, "'%s' is not a valid v3 onion address", host);
	}
	return add_entry(ps, words[0], canon, port);
}

static int by_domain(const void *a, const void *b)
{
	return strcmp(((const struct map_entry *)a)->domain, ((const struct map_entry *)b)->domain);
}

static int parse_one(char *line, int lineno, void *arg)
{
	struct mparse *ps = arg;
	ps->line = lineno;
	if (line == NULL)
		return fail(ps, "NUL byte in line");
	return parse_line(ps, line);
}

static int check_duplicates(struct mparse *ps)
{
	for (size_t i = 1; i < ps->m->n; i++) {
		const struct map_entry *a = &ps->m->entries[i - 1], *b = &ps->m->entries[i];
		if (strcmp(a->domain, b->domain) != 0)
			continue;
		ps->line = a->line > b->line ? a->line : b->line;
		return fail(ps, "duplicate domain '%s' (first given at line %d)", a->domain,
			    a->line < b->line ? a->line : b->line);
	}
	return 0;
}

struct mapfile *mapfile_parse(const char *name, const char *text, size_t len, char err[MAPFILE_ERR_MAX])
{
	struct mparse ps = { .name = name, .err = err };
	err[0] = '\0';
	ps.m = calloc(1, sizeof(*ps.m));
	if (ps.m == NULL) {
		snprintf(err, MAPFILE_ERR_MAX, "%s: out of memory", name);
		return NULL;
	}
	if (textfile_lines(text, len, parse_one, &ps) != 0)
		goto bad;
	qsort(ps.m->entries, ps.m->n, sizeof(struct map_entry), by_domain);
	if (check_duplicates(&ps) < 0)
		goto bad;
	return ps.m;
bad:
	if (err[0] == '\0')
		snprintf(err, MAPFILE_ERR_MAX, "%s: out of memory", name);
	mapfile_free(ps.m);
	return NULL;
}

struct mapfile *mapfile_load(const char *path, char err[MAPFILE_ERR_MAX])
{
	size_t len;
	char *text = textfile_read(path, MAPFILE_MAX_BYTES, &len, err, MAPFILE_ERR_MAX);
	if (text == NULL)
		return NULL;
	struct mapfile *m = mapfile_parse(path, text, len, err);
	free(text);
	return m;
}

static const struct map_entry *find_exact(const struct mapfile *m, const char *domain)
{
	struct map_entry key = { .domain = (char *)(uintptr_t)domain };
	return bsearch(&key, m->entries, m->n, sizeof(struct map_entry), by_domain);
}

const struct map_entry *mapfile_lookup(const struct mapfile *m, const char *domain)
{
	const struct map_entry *e = find_exact(m, domain);
	if (e != NULL)
		return e;
	for (const char *dot = strchr(domain, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		e = find_exact(m, dot);
		if (e != NULL)
			return e;
	}
	return NULL;
}

void mapfile_free(struct mapfile *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->entries[i].domain);
	for (size_t i = 0; i < m->n_warnings; i++)
		free(m->warnings[i]);
	free(m->entries);
	free(m);
}
