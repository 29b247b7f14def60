/* SPDX-License-Identifier: ISC */
/* bridgeline: the grammar of a Tor Bridge line ("[transport] ADDR:PORT [FINGERPRINT] [k=v ...]")
 * and of a transport name, checked before Tor sees them; no I/O (unit-tested and fuzzed alone). */
#ifndef OG_BRIDGELINE_H
#define OG_BRIDGELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds: a line of at most 1024 bytes, at most 16 k=v arguments of at most 510 bytes together
 * (Tor hands them to the transport as SOCKS5 username and password, 255 bytes each). */
#define BRIDGELINE_MAX_BYTES 1024
#define BRIDGELINE_MAX_ARGS 16
#define BRIDGELINE_MAX_ARGS_BYTES 510
#define BRIDGELINE_TRANSPORT_MAX 32
#define BRIDGELINE_FINGERPRINT_LEN 40
#define BRIDGELINE_ERR_MAX 160

struct bridgeline {
	char transport[BRIDGELINE_TRANSPORT_MAX + 1]; /* "" for a plain bridge (Tor's own protocol) */
	int family;                                   /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;
	char fingerprint[BRIDGELINE_FINGERPRINT_LEN + 1]; /* uppercase hex, or "" when not given */
	size_t n_args;
};

/* True when name is a transport name as Tor takes it: a C identifier of at most 32 bytes. */
bool bridgeline_transport_valid(const char *name, size_t len);
/* Parses one line (words separated by blanks; a port is required). 0, or -1 with a reason in err.
 * The fingerprint is 40 hex digits (a plain bridge's may come in groups, as Tor prints it); an
 * obfs4 line must carry cert= and iat-mode=0|1|2. */
int bridgeline_parse(const char *line, struct bridgeline *out, char err[BRIDGELINE_ERR_MAX]);

#endif
