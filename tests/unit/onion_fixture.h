/* A test fixture: a valid v3 onion name made from a seed byte (public key = 32 seed bytes),
 * or from a 16-bit number (the seed byte with the number's two bytes in front). */
#ifndef OG_ONION_FIXTURE_H
#define OG_ONION_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

static inline void make_onion_key(const uint8_t key[32], char out[63])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t raw[35], digest[32];
	unsigned int dlen;
	uint8_t version = 3;
	memcpy(raw, key, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha3_256(), NULL);
	EVP_DigestUpdate(ctx, ".onion checksum", 15);
	EVP_DigestUpdate(ctx, raw, 32);
	EVP_DigestUpdate(ctx, &version, 1);
	EVP_DigestFinal_ex(ctx, digest, &dlen);
	EVP_MD_CTX_free(ctx);
	raw[32] = digest[0];
	raw[33] = digest[1];
	raw[34] = version;
	for (int i = 0; i < 56; i++) {
		int bit = i * 5, v = 0;
		for (int b = 0; b < 5; b++)
			v = v << 1 | (raw[(bit + b) / 8] >> (7 - (bit + b) % 8) & 1);
		out[i] = b32[v];
	}
	memcpy(out + 56, ".onion", 7);
}

static inline void make_onion(uint8_t seed, char out[63])
{
	uint8_t key[32];
	memset(key, seed, sizeof(key));
	make_onion_key(key, out);
}

static inline void make_onion_number(uint16_t n, char out[63])
{
	uint8_t key[32];
	memset(key, 0xa5, sizeof(key));
	key[0] = (uint8_t)(n >> 8);
	key[1] = (uint8_t)n;
	make_onion_key(key, out);
}

#endif
