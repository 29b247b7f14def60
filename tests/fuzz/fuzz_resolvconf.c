/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the dns-upstream-file (resolv.conf) parser on arbitrary bytes, with listen
 * addresses that make its own-address check run. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "resolvconf.h"

static void ignore(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_sockaddr listen[2], out[CONFIG_MAX_DNS_UPSTREAM];
	struct sockaddr_in *sin = (struct sockaddr_in *)&listen[0].ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&listen[1].ss;
	if (size > RESOLVCONF_MAX_BYTES)
		return 0;
	memset(listen, 0, sizeof(listen));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(53);
	inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
	listen[0].len = sizeof(*sin);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(53); /* :: : every loopback address is ours */
	listen[1].len = sizeof(*sin6);
	size_t n = resolvconf_parse("fuzz.conf", (const char *)data, size, listen, 2, out, CONFIG_MAX_DNS_UPSTREAM, ignore, NULL);
	if (n > CONFIG_MAX_DNS_UPSTREAM)
		__builtin_trap();
	resolvconf_same(out, n, out, n);
	return 0;
}
