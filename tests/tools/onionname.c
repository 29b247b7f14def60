/* SPDX-License-Identifier: ISC */
/* onionname: prints N valid v3 onion names (for tests and benchmarks that need more onion names
 * than the private network runs services); the first 256 are the unit tests' seeded names. */
#include <stdio.h>
#include <stdlib.h>

#include "onion_fixture.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	char name[63];
	for (int i = 0; i < n && i < 256 + 65536; i++) {
		if (i < 256)
			make_onion((uint8_t)(i + 100), name);
		else
			make_onion_number((uint16_t)(i - 256), name);
		puts(name);
	}
	return 0;
}
