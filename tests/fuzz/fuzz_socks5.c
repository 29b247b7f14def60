/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the SOCKS5 client state machine fed an arbitrary server, in arbitrary
 * slices (the first byte of the input picks the slice length). */
#include <stddef.h>
#include <stdint.h>

#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks5 s;
	uint8_t out[600];
	if (size < 2)
		return 0;
	size_t slice = (size_t)(data[0] % 16) + 1;
	socks5_init(&s, "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", 25, data[1] & 1 ? "u" : NULL,
		    data[1] & 1 ? "p" : NULL);
	socks5_request(&s, out, sizeof(out));
	for (size_t off = 2; off < size;) {
		size_t len = size - off < slice ? size - off : slice, used;
		enum socks5_event ev = socks5_input(&s, data + off, len, &used);
		if (used > len)
			__builtin_trap();
		off += used;
		if (ev == SOCKS5_SEND)
			socks5_request(&s, out, sizeof(out));
		else if (ev == SOCKS5_ERROR || ev == SOCKS5_CONNECTED || used == 0)
			break;
	}
	socks5_reason(s.reply);
	socks5_smtp_status(s.reply);
	return 0;
}
