/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the oniongate.conf parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_MAX];
	config_free(config_parse("fuzz.conf", (const char *)data, size, err));
	return 0;
}
