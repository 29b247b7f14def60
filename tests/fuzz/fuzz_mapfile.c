/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the onionmx map-file parser and its lookups on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "mapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[MAPFILE_ERR_MAX];
	struct mapfile *m = mapfile_parse("fuzz.map", (const char *)data, size, err);
	if (m != NULL) {
		for (size_t i = 0; i < m->n; i++)
			mapfile_lookup(m, m->entries[i].domain);
		mapfile_lookup(m, "mx.example.org");
	}
	mapfile_free(m);
	return 0;
}
