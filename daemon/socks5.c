/* SPDX-License-Identifier: ISC */
/* socks5: the client side of SOCKS5 (RFC 1928, 1929) as an explicit state machine over bytes,
 * with Tor's extended error codes (0xF0-0xF7) mapped to reasons; no I/O, fuzzed alone. */
#include "socks5.h"

#include <stdio.h>
#include <string.h>

int socks5_init(struct socks5 *s, const char *host, uint16_t port, const char *user, const char *pass)
{
	memset(s, 0, sizeof(*s));
	if (strlen(host) > 255 || (user && strlen(user) > 255) || (pass && strlen(pass) > 255) || (!user != !pass))
		return -1;
	snprintf(s->host, sizeof(s->host), "%s", host);
	if (user) {
		snprintf(s->user, sizeof(s->user), "%s", user);
		snprintf(s->pass, sizeof(s->pass), "%s", pass);
	}
	s->port = port;
	s->state = SOCKS5_GREETING;
	return 0;
}

static size_t put_auth(const struct socks5 *s, uint8_t *out)
{
	size_t n = 0, ul = strlen(s->user), pl = strlen(s->pass);
	out[n++] = 1;
	out[n++] = (uint8_t)ul;
	memcpy(out + n, s->user, ul);
	n += ul;
	out[n++] = (uint8_t)pl;
	memcpy(out + n, s->pass, pl);
	return n + pl;
}

static size_t put_connect(const struct socks5 *s, uint8_t *out)
{
	size_t n = 0, hl = strlen(s->host);
	out[n++] = 5;
	out[n++] = 1;
	out[n++] = 0;
	out[n++] = 3;
	out[n++] = (uint8_t)hl;
	memcpy(out + n, s->host, hl);
	n += hl;
	out[n++] = (uint8_t)(s->port >> 8);
	out[n++] = (uint8_t)s->port;
	return n;
}

size_t socks5_request(const struct socks5 *s, uint8_t *out, size_t cap)
{
	size_t n, ul = strlen(s->user), pl = strlen(s->pass), hl = strlen(s->host);
	switch (s->state) {
	case SOCKS5_GREETING:
		if (cap < 3)
			return 0;
		out[0] = 5;
		out[1] = 1;
		out[2] = ul ? 2 : 0;
		return 3;
	case SOCKS5_AUTH:
		if (cap < 3 + ul + pl + 7 + hl)
			return 0;
		n = put_auth(s, out);
		return n + put_connect(s, out + n);
	case SOCKS5_CONNECT:
		if (cap < 7 + hl)
			return 0;
		return put_connect(s, out);
	default:
		return 0;
	}
}

static enum socks5_event fail(struct socks5 *s, int reply)
{
	s->state = SOCKS5_FAILED;
	s->reply = reply;
	return SOCKS5_ERROR;
}

/* Collects want bytes into head; 1 when complete. */
static int gather(struct socks5 *s, size_t want, const uint8_t *in, size_t len, size_t *used)
{
	while (s->have < want && *used < len)
		s->head[s->have++] = in[(*used)++];
	return s->have == want;
}

enum socks5_event socks5_input(struct socks5 *s, const uint8_t *in, size_t len, size_t *used)
{
	*used = 0;
	for (;;) {
		switch (s->state) {
		case SOCKS5_GREETING:
			if (!gather(s, 2, in, len, used))
				return SOCKS5_NEED_MORE;
			if (s->head[0] != 5)
				return fail(s, SOCKS5_ERR_PROTOCOL);
			if (s->head[1] != (s->user[0] ? 2 : 0))
				return fail(s, SOCKS5_ERR_AUTH);
			s->have = 0;
			s->state = s->user[0] ? SOCKS5_AUTH : SOCKS5_CONNECT;
			return SOCKS5_SEND;
		case SOCKS5_AUTH:
			if (!gather(s, 2, in, len, used))
				return SOCKS5_NEED_MORE;
			if (s->head[0] != 1 || s->head[1] != 0)
				return fail(s, SOCKS5_ERR_AUTH);
			s->have = 0;
			s->state = SOCKS5_CONNECT; /* the CONNECT went with the credentials */
			break;
		case SOCKS5_CONNECT:
			if (!gather(s, 5, in, len, used))
				return SOCKS5_NEED_MORE;
			if (s->head[0] != 5 || s->head[2] != 0)
				return fail(s, SOCKS5_ERR_PROTOCOL);
			if (s->head[1] != 0)
				return fail(s, s->head[1]);
			switch (s->head[3]) {
			case 1: s->skip = 4 - 1 + 2; break;
			case 4: s->skip = 16 - 1 + 2; break;
			case 3: s->skip = (size_t)s->head[4] + 2; break;
			default: return fail(s, SOCKS5_ERR_PROTOCOL);
			}
			s->state = SOCKS5_BOUND;
			break;
		case SOCKS5_BOUND: {
			size_t take = len - *used < s->skip ? len - *used : s->skip;
			*used += take;
			s->skip -= take;
			if (s->skip > 0)
				return SOCKS5_NEED_MORE;
			s->state = SOCKS5_DONE;
			return SOCKS5_CONNECTED;
		}
		case SOCKS5_DONE:
			return SOCKS5_CONNECTED;
		case SOCKS5_FAILED:
			return SOCKS5_ERROR;
		}
	}
}

const char *socks5_reason(int reply)
{
	switch (reply) {
	case 0x01: return "general SOCKS server failure";
	case 0x02: return "connection not allowed by ruleset";
	case 0x03: return "network unreachable";
	case 0x04: return "host unreachable";
	case 0x05: return "connection refused";
	case 0x06: return "TTL expired (stream timed out)";
	case 0x07: return "command not supported";
	case 0x08: return "address type not supported";
	case 0xf0: return "onion service descriptor not found";
	case 0xf1: return "onion service descriptor is invalid";
	case 0xf2: return "onion service introduction failed";
	case 0xf3: return "onion service rendezvous failed";
	case 0xf4: return "onion service needs client authorization";
	case 0xf5: return "onion service client authorization is wrong";
	case 0xf6: return "invalid onion address";
	case 0xf7: return "onion service introduction timed out";
	case SOCKS5_ERR_AUTH: return "the SOCKS server refused the authentication";
	default: return "SOCKS protocol error";
	}
}

const char *socks5_smtp_status(int reply)
{
	switch (reply) {
	case 0x02: case 0xf4: case 0xf5: return "4.7.0";
	case 0x01: case 0x07: case 0x08: case SOCKS5_ERR_PROTOCOL: case SOCKS5_ERR_AUTH: return "4.4.2";
	default: return "4.4.1";
	}
}
