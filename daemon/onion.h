/* SPDX-License-Identifier: ISC */
/* onion: what a valid v3 onion name is (56 base32 characters, version 3, SHA3 checksum), and
 * the canonical "x.onion" form of a name or of any name under it. */
#ifndef OG_ONION_H
#define OG_ONION_H

#include <stdbool.h>

#define ONION_V3_LABEL_LEN 56
#define ONION_NAME_LEN (ONION_V3_LABEL_LEN + 6) /* "<56>.onion" */

/* True when name (any case, with or without a trailing dot) ends in ".onion" or is "onion". */
bool onion_is_onion_domain(const char *name);
/* For "x.onion" or "sub.x.onion" with x a valid v3 address: 0 and the lowercase "x.onion" in
 * out; -1 otherwise. */
int onion_canonical(const char *name, char out[ONION_NAME_LEN + 1]);

#endif
