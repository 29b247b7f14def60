/* SPDX-License-Identifier: ISC */
/* socks5: the client side of SOCKS5 (RFC 1928, 1929) as an explicit state machine over bytes,
 * with Tor's extended error codes (0xF0-0xF7) mapped to reasons; no I/O, fuzzed alone. */
#ifndef OG_SOCKS5_H
#define OG_SOCKS5_H

#include <stddef.h>
#include <stdint.h>

enum socks5_state {
	SOCKS5_GREETING,  /* method selection sent, waiting for the chosen method */
	SOCKS5_AUTH,      /* username/password and CONNECT sent, waiting for the auth status */
	SOCKS5_CONNECT,   /* CONNECT sent, waiting for the reply head */
	SOCKS5_BOUND,     /* reply head read, skipping the bound address */
	SOCKS5_DONE,      /* connected: what follows is the stream */
	SOCKS5_FAILED,
};

enum socks5_event { SOCKS5_NEED_MORE, SOCKS5_SEND, SOCKS5_CONNECTED, SOCKS5_ERROR };

/* Pseudo reply codes for failures of the exchange itself. */
#define SOCKS5_ERR_PROTOCOL 0x100
#define SOCKS5_ERR_AUTH 0x101

struct socks5 {
	enum socks5_state state;
	char host[256];
	uint16_t port;
	char user[256], pass[256];
	int reply;              /* the server's reply code, or a SOCKS5_ERR_ pseudo code */
	size_t skip;            /* bound-address bytes still to skip */
	uint8_t head[5];
	size_t have;
};

/* user/pass (may be NULL) select username/password auth: Tor isolates circuits by them. */
int socks5_init(struct socks5 *s, const char *host, uint16_t port, const char *user, const char *pass);
/* The bytes to send now (the greeting first, then whatever SOCKS5_SEND asked for). The greeting
 * offers one method, so after the server's choice the credentials and the CONNECT go in one write
 * (Tor reads them in one go: one round trip less per stream; the greeting is not sent with them,
 * as Tor keeps only its last reply of a batch and the method choice would be lost). */
size_t socks5_request(const struct socks5 *s, uint8_t *out, size_t cap);
/* Feeds bytes from the server; *used says how many belonged to SOCKS (the rest is stream). */
enum socks5_event socks5_input(struct socks5 *s, const uint8_t *in, size_t len, size_t *used);
/* A reason for the failure, for logs and SMTP replies. */
const char *socks5_reason(int reply);
/* The SMTP enhanced status code that fits the failure: "4.4.1", "4.4.2" or "4.7.0". */
const char *socks5_smtp_status(int reply);

#endif
