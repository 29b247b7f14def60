/* SPDX-License-Identifier: ISC */
/* mapfile: the onionmx tor_transport map grammar ("domain smtptor:[x.onion]:port"), parsed
 * into a sorted table with file:line: errors and warnings; no I/O beyond reading the file. */
#ifndef OG_MAPFILE_H
#define OG_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "onion.h"

#define MAPFILE_ERR_MAX 512
#define MAPFILE_MAX_WARNINGS 16

struct map_entry {
	char *domain;   /* lowercase, no trailing dot; a leading '.' matches every subdomain */
	char onion[ONION_NAME_LEN + 1];
	uint16_t port;
	int line;
};

struct mapfile {
	struct map_entry *entries; /* sorted by domain */
	size_t n;
	int catch_all_line;        /* the ".onion smtptor:" line, 0 when absent */
	char *warnings[MAPFILE_MAX_WARNINGS];
	size_t n_warnings;
};

struct mapfile *mapfile_parse(const char *name, const char *text, size_t len, char err[MAPFILE_ERR_MAX]);
struct mapfile *mapfile_load(const char *path, char err[MAPFILE_ERR_MAX]);
/* The entry for domain: an exact line first, then the nearest ".parent" line. */
const struct map_entry *mapfile_lookup(const struct mapfile *m, const char *domain);
void mapfile_free(struct mapfile *m);

#endif
