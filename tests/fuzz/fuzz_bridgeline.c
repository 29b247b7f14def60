/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the Tor Bridge line parser and the transport-name check on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridgeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[BRIDGELINE_ERR_MAX];
	struct bridgeline b;
	char *line = malloc(size + 1);
	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (bridgeline_parse(line, &b, err) == 0 && b.transport[0] != '\0' &&
	    !bridgeline_transport_valid(b.transport, strlen(b.transport)))
		abort();
	bridgeline_transport_valid(line, strnlen(line, size));
	free(line);
	return 0;
}
