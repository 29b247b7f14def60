/* SPDX-License-Identifier: ISC */
/* onion: what a valid v3 onion name is (56 base32 characters, version 3, SHA3 checksum), and
 * the canonical "x.onion" form of a name or of any name under it. */
#include "onion.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define ONION_PUBKEY_LEN 32
#define ONION_DECODED_LEN 35 /* pubkey, 2 bytes checksum, version */

static size_t name_len(const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	return len;
}

bool onion_is_onion_domain(const char *name)
{
	size_t len = name_len(name);
	if (len == 5)
		return strncasecmp(name, "onion", 5) == 0;
	return len > 6 && strncasecmp(name + len - 6, ".onion", 6) == 0;
}

static int base32_value(char c)
{
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

static int base32_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int v = base32_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n == outlen)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	return n == outlen ? 0 : -1;
}

static bool checksum_ok(const uint8_t decoded[ONION_DECODED_LEN])
{
	static const char prefix[] = ".onion checksum";
	uint8_t digest[32];
	unsigned int dlen = 0;
	uint8_t version = decoded[ONION_DECODED_LEN - 1];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha3_256(), NULL) == 1 &&
		  EVP_DigestUpdate(ctx, prefix, sizeof(prefix) - 1) == 1 &&
		  EVP_DigestUpdate(ctx, decoded, ONION_PUBKEY_LEN) == 1 && EVP_DigestUpdate(ctx, &version, 1) == 1 &&
		  EVP_DigestFinal_ex(ctx, digest, &dlen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok && dlen == 32 && digest[0] == decoded[ONION_PUBKEY_LEN] && digest[1] == decoded[ONION_PUBKEY_LEN + 1];
}

int onion_canonical(const char *name, char out[ONION_NAME_LEN + 1])
{
	uint8_t decoded[ONION_DECODED_LEN];
	size_t len = name_len(name);
	if (!onion_is_onion_domain(name) || len < ONION_NAME_LEN)
		return -1;
	const char *label = name + len - ONION_NAME_LEN;
	if (label != name && label[-1] != '.')
		return -1;
	if (base32_decode(label, ONION_V3_LABEL_LEN, decoded, sizeof(decoded)) < 0)
		return -1;
	if (decoded[ONION_DECODED_LEN - 1] != 3 || !checksum_ok(decoded))
		return -1;
	for (size_t i = 0; i < ONION_NAME_LEN; i++)
		out[i] = (char)tolower((unsigned char)label[i]);
	out[ONION_NAME_LEN] = '\0';
	return 0;
}
