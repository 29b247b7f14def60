/* onionname: prints N valid v3 onion names made from seeds (for tests that need more onion
 * names than the private network runs services). */
#include <stdio.h>
#include <stdlib.h>

#include "onion_fixture.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	char name[63];
	for (int i = 0; i < n && i < 256; i++) {
		make_onion((uint8_t)(i + 100), name);
		puts(name);
	}
	return 0;
}
