/* SPDX-License-Identifier: ISC */
/* resolvconf: the dns-upstream-file parser: the nameserver lines of a resolv.conf(5) file, minus
 * any that would send queries back to the daemon itself. */
#ifndef OG_RESOLVCONF_H
#define OG_RESOLVCONF_H

#include <stddef.h>

#include "config.h"

#define RESOLVCONF_MAX_BYTES (64 * 1024) /* a larger file is not read: it names no server */
#define RESOLVCONF_MAX_WARNINGS 8        /* per parse; the lines skipped beyond them are only counted */
#define RESOLVCONF_WARN_MAX 256

/* Told "file:line: why" for a nameserver line that is skipped. */
typedef void resolvconf_warn_fn(void *arg, const char *msg);

/* The servers of text (port 53, in file order, line numbers kept) into out, at most max of them
 * (CONFIG_MAX_DNS_UPSTREAM); returns how many. Skipped, each with a warning: an address that is
 * not IPv4 or IPv6, an IPv6 with %scope, one of the daemon's own dns-listen addresses (with a
 * wildcard dns-listen, any loopback address) on the same port, and servers beyond max. Lines
 * other than nameserver, and # or ; comments, are ignored. */
size_t resolvconf_parse(const char *name, const char *text, size_t len, const struct config_sockaddr *listen,
			size_t n_listen, struct config_sockaddr *out, size_t max, resolvconf_warn_fn *warn, void *arg);

/* Whether two server lists are the same addresses in the same order. */
int resolvconf_same(const struct config_sockaddr *a, size_t na, const struct config_sockaddr *b, size_t nb);

#endif
