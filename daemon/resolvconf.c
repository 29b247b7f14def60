/* SPDX-License-Identifier: ISC */
/* resolvconf: the dns-upstream-file parser: the nameserver lines of a resolv.conf(5) file, minus
 * any that would send queries back to the daemon itself. */
#include "resolvconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "textfile.h"

#define DNS_PORT 53

struct parse {
	const char *name;
	const struct config_sockaddr *listen;
	size_t n_listen;
	struct config_sockaddr *out;
	size_t max, n;
	resolvconf_warn_fn *warn;
	void *arg;
	size_t warned, unsaid; /* warnings given; lines skipped once RESOLVCONF_MAX_WARNINGS were */
};

static void skip(struct parse *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void skip(struct parse *p, int line, const char *fmt, ...)
{
	char msg[RESOLVCONF_WARN_MAX];
	va_list ap;
	if (p->warned == RESOLVCONF_MAX_WARNINGS) {
		p->unsaid++;
		return;
	}
	p->warned++;
	int n = snprintf(msg, sizeof(msg), "%s:%d: ", p->name, line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (p->warn != NULL)
		p->warn(p->arg, msg);
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
		      sizeof(struct in6_addr)) == 0;
}

static in_port_t port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					: ((const struct sockaddr_in6 *)ss)->sin6_port;
}

/* Whether a query sent to srv would reach one of our own listeners. */
static bool is_ours(const struct parse *p, const struct sockaddr_storage *srv)
{
	for (size_t i = 0; i < p->n_listen; i++) {
		const struct sockaddr_storage *l = &p->listen[i].ss;
		if (l->ss_family != srv->ss_family || port_of(l) != port_of(srv))
			continue;
		if (same_addr(l, srv) || (is_wildcard(l) && is_loopback(srv)))
			return true;
	}
	return false;
}

static int parse_addr(const char *word, struct config_sockaddr *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, word, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(DNS_PORT);
		out->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, word, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(DNS_PORT);
		out->len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* The next blank-separated word of *s (NUL-terminated in place), or NULL at the end. */
static char *next_word(char **s)
{
	char *p = *s;
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p == '\0')
		return NULL;
	char *word = p;
	while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return word;
}

static int parse_line(char *line, int lineno, void *arg)
{
	struct parse *p = arg;
	struct config_sockaddr srv;
	char *word, *addr;
	if (line == NULL || (word = next_word(&line)) == NULL || word[0] == '#' || word[0] == ';' ||
	    strcmp(word, "nameserver") != 0)
		return 0;
	memset(&srv, 0, sizeof(srv));
	srv.line = lineno;
	if ((addr = next_word(&line)) == NULL)
		skip(p, lineno, "nameserver without an address skipped");
	else if (strchr(addr, '%') != NULL)
		skip(p, lineno, "nameserver %.64s skipped: an IPv6 address with a scope is not supported", addr);
	else if (parse_addr(addr, &srv) < 0)
		skip(p, lineno, "nameserver %.64s skipped: not an IPv4 or IPv6 address", addr);
	else if (is_ours(p, &srv.ss))
		skip(p, lineno, "nameserver %s skipped: it is oniongated's own dns-listen address", addr);
	else if (p->n == p->max)
		skip(p, lineno, "nameserver %s skipped: at most %zu servers are used", addr, p->max);
	else
		p->out[p->n++] = srv;
	return 0;
}

size_t resolvconf_parse(const char *name, const char *text, size_t len, const struct config_sockaddr *listen,
			size_t n_listen, struct config_sockaddr *out, size_t max, resolvconf_warn_fn *warn, void *arg)
{
	struct parse p = { .name = name, .listen = listen, .n_listen = n_listen, .out = out, .max = max,
			   .warn = warn, .arg = arg };
	char msg[RESOLVCONF_WARN_MAX];
	textfile_lines(text, len, parse_line, &p);
	if (p.unsaid > 0 && warn != NULL) {
		snprintf(msg, sizeof(msg), "%s: %zu more nameserver lines skipped", name, p.unsaid);
		warn(arg, msg);
	}
	return p.n;
}

int resolvconf_same(const struct config_sockaddr *a, size_t na, const struct config_sockaddr *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (a[i].len != b[i].len || memcmp(&a[i].ss, &b[i].ss, a[i].len) != 0)
			return 0;
	return 1;
}
