/* SPDX-License-Identifier: ISC */
/* bridgeline: the grammar of a Tor Bridge line ("[transport] ADDR:PORT [FINGERPRINT] [k=v ...]")
 * and of a transport name, checked before Tor sees them; no I/O (unit-tested and fuzzed alone). */
#include "bridgeline.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Words of one line: at most the transport, the address, 10 fingerprint groups and the arguments. */
#define MAX_WORDS (2 + 10 + BRIDGELINE_MAX_ARGS)

struct word {
	const char *p;
	size_t len;
};

static int fail(char err[BRIDGELINE_ERR_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char err[BRIDGELINE_ERR_MAX], const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, BRIDGELINE_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

bool bridgeline_transport_valid(const char *name, size_t len)
{
	if (len == 0 || len > BRIDGELINE_TRANSPORT_MAX || (!isalpha((unsigned char)name[0]) && name[0] != '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return false;
	return true;
}

static int split(const char *line, struct word *words, size_t *n, char err[BRIDGELINE_ERR_MAX])
{
	const char *p = line;
	*n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		if (*n == MAX_WORDS)
			return fail(err, "more than %d words", MAX_WORDS);
		words[*n].p = p;
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (!isgraph((unsigned char)*p))
				return fail(err, "a control or non-ASCII byte (0x%02x)", (unsigned char)*p);
			p++;
		}
		words[*n].len = (size_t)(p - words[*n].p);
		(*n)++;
	}
}

/* "a.b.c.d:port" or "[v6]:port" (a port is required; Tor would take 443 silently). */
static int parse_addrport(const struct word *w, struct bridgeline *out, char err[BRIDGELINE_ERR_MAX])
{
	char addr[INET6_ADDRSTRLEN];
	const char *colon = NULL, *start = w->p, *end;
	for (size_t i = 0; i < w->len; i++)
		if (w->p[i] == ':')
			colon = w->p + i;
	if (colon == NULL)
		return fail(err, "'%.*s' is not ADDRESS:PORT", (int)w->len, w->p);
	end = colon;
	if (w->p[0] == '[') {
		if (end[-1] != ']' || end - w->p < 3)
			return fail(err, "'%.*s' is not [IPv6]:PORT", (int)w->len, w->p);
		start++;
		end--;
	}
	size_t alen = (size_t)(end - start);
	if (alen == 0 || alen >= sizeof(addr))
		return fail(err, "'%.*s' is not ADDRESS:PORT", (int)w->len, w->p);
	memcpy(addr, start, alen);
	addr[alen] = '\0';
	if (w->p[0] != '[' && inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = AF_INET;
	else if (w->p[0] == '[' && inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = AF_INET6;
	else
		return fail(err, "'%s' is not an IPv4 address or a bracketed IPv6 address", addr);
	unsigned long port = 0;
	const char *q = colon + 1, *stop = w->p + w->len;
	if (q == stop || stop - q > 5)
		return fail(err, "'%.*s' has no port from 1 to 65535", (int)w->len, w->p);
	for (; q < stop; q++) {
		if (!isdigit((unsigned char)*q))
			return fail(err, "'%.*s' has no port from 1 to 65535", (int)w->len, w->p);
		port = port * 10 + (unsigned long)(*q - '0');
	}
	if (port == 0 || port > 65535)
		return fail(err, "'%.*s' has no port from 1 to 65535", (int)w->len, w->p);
	out->port = (uint16_t)port;
	return 0;
}

static bool is_key_value(const struct word *w)
{
	const char *eq = memchr(w->p, '=', w->len);
	return eq != NULL && eq != w->p;
}

/* The fingerprint from words (one word, or groups as Tor prints them), uppercased. */
static int parse_fingerprint(const struct word *words, size_t n, struct bridgeline *out, char err[BRIDGELINE_ERR_MAX])
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < words[i].len; j++) {
			char c = words[i].p[j];
			if (!isxdigit((unsigned char)c) || len == BRIDGELINE_FINGERPRINT_LEN)
				return fail(err, "the fingerprint must be %d hex digits", BRIDGELINE_FINGERPRINT_LEN);
			out->fingerprint[len++] = (char)toupper((unsigned char)c);
		}
	}
	if (len != BRIDGELINE_FINGERPRINT_LEN)
		return fail(err, "the fingerprint must be %d hex digits", BRIDGELINE_FINGERPRINT_LEN);
	out->fingerprint[len] = '\0';
	return 0;
}

/* The value of key= among args, or NULL. */
static const struct word *arg_value(const struct word *args, size_t n, const char *key, struct word *value)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < n; i++)
		if (args[i].len > klen && memcmp(args[i].p, key, klen) == 0 && args[i].p[klen] == '=') {
			value->p = args[i].p + klen + 1;
			value->len = args[i].len - klen - 1;
			return value;
		}
	return NULL;
}

static int check_args(const struct word *args, size_t n, struct bridgeline *out, char err[BRIDGELINE_ERR_MAX])
{
	size_t bytes = 0;
	if (n > BRIDGELINE_MAX_ARGS)
		return fail(err, "more than %d transport arguments", BRIDGELINE_MAX_ARGS);
	for (size_t i = 0; i < n; i++) {
		if (!is_key_value(&args[i]))
			return fail(err, "'%.*s' is not a key=value transport argument", (int)args[i].len, args[i].p);
		bytes += args[i].len + (i > 0);
	}
	if (bytes > BRIDGELINE_MAX_ARGS_BYTES)
		return fail(err, "the transport arguments take %zu bytes, more than %d", bytes, BRIDGELINE_MAX_ARGS_BYTES);
	out->n_args = n;
	if (strcmp(out->transport, "obfs4") != 0)
		return 0;
	struct word v;
	if (arg_value(args, n, "cert", &v) == NULL || v.len == 0)
		return fail(err, "an obfs4 bridge needs its cert= argument");
	if (arg_value(args, n, "iat-mode", &v) == NULL || v.len != 1 || v.p[0] < '0' || v.p[0] > '2')
		return fail(err, "an obfs4 bridge needs iat-mode=0, 1 or 2");
	return 0;
}

int bridgeline_parse(const char *line, struct bridgeline *out, char err[BRIDGELINE_ERR_MAX])
{
	struct word words[MAX_WORDS];
	size_t n, at = 0;
	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (strnlen(line, BRIDGELINE_MAX_BYTES + 1) > BRIDGELINE_MAX_BYTES)
		return fail(err, "longer than %d bytes", BRIDGELINE_MAX_BYTES);
	if (split(line, words, &n, err) < 0)
		return -1;
	if (n == 0)
		return fail(err, "empty: [TRANSPORT] ADDRESS:PORT [FINGERPRINT] [key=value ...]");
	if (bridgeline_transport_valid(words[0].p, words[0].len)) {
		memcpy(out->transport, words[0].p, words[0].len);
		out->transport[words[0].len] = '\0';
		if (++at == n)
			return fail(err, "transport %s names no ADDRESS:PORT", out->transport);
	}
	if (parse_addrport(&words[at++], out, err) < 0)
		return -1;
	if (out->transport[0] == '\0')
		return at == n ? 0 : parse_fingerprint(words + at, n - at, out, err);
	if (at < n && !is_key_value(&words[at]) && parse_fingerprint(&words[at++], 1, out, err) < 0)
		return -1;
	return check_args(words + at, n - at, out, err);
}
