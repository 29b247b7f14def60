/* SPDX-License-Identifier: ISC */
/* mxanswer: a mail domain's MX answer read into its mail hosts (RFC 5321 5.1: the implicit MX,
 * RFC 7505: the null MX), and address answers into addresses; no I/O, fuzzed alone. */
#ifndef OG_MXANSWER_H
#define OG_MXANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "upgrade.h"

#define MXANSWER_MAX_HOSTS 8  /* the most preferred; the rest are not read */
#define MXANSWER_MAX_ADDRS 16 /* per address answer */

struct mxanswer_hosts {
	size_t n;
	char name[MXANSWER_MAX_HOSTS][UPGRADE_NAME_MAX + 1]; /* lowercase, no final dot; by preference */
	uint32_t ttl;  /* the least of the MX records' TTLs; UINT32_MAX when there is none */
};

struct mxanswer_addrs {
	size_t n;
	struct upgrade_addr addr[MXANSWER_MAX_ADDRS];
	uint32_t ttl; /* the least of the address records' TTLs; UINT32_MAX when there is none */
};

/* The hosts of domain's MX answer (rcode NOERROR or NXDOMAIN; -1 for any other, or a packet that
 * is malformed or answers another question). No MX record: the domain itself (implicit MX);
 * NXDOMAIN or a null MX: none. Each host once. */
int mxanswer_read_hosts(const uint8_t *pkt, size_t len, const char *domain, struct mxanswer_hosts *out);
/* The A (type 1) or AAAA (type 28) records of an address answer, wherever its CNAME chain led;
 * -1 as above. */
int mxanswer_read_addrs(const uint8_t *pkt, size_t len, uint16_t type, struct mxanswer_addrs *out);

#endif
