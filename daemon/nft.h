/* SPDX-License-Identifier: ISC */
/* nft: the daemon's own nftables table "inet oniongate" through libnftnl/libmnl: LAN TCP to
 * the pools, and to port 25 of the addresses in the upgrade sets, redirected to the transparent
 * port, optional DNS redirect, anything else to the pools dropped. Installed whole (replacing a
 * stale one), checked, and removed at exit; the upgrade sets' elements change one at a time. */
#ifndef OG_NFT_H
#define OG_NFT_H

#include "config.h"

#include <stdint.h>

#define NFT_TABLE_NAME "oniongate"
#define NFT_UPGRADE_SET_V4 "upgrade4"
#define NFT_UPGRADE_SET_V6 "upgrade6"

/* These need CAP_NET_ADMIN: only the nft helper (nftd) calls them. Each returns -1 with errno
 * set on failure. */

/* Replaces the table in one batch sized for its rules; the number of rules installed. */
int nft_install(const struct config *cfg);
/* The number of rules the kernel holds in the table. */
int nft_rule_count(void);
int nft_remove(void);
/* mx-mode upgrade: addr (4 or 16 bytes of family) into its upgrade set for timeout seconds
 * (an element already there gets the new timeout), or out of it. */
int nft_upgrade_add(int family, const uint8_t *addr, uint32_t timeout);
int nft_upgrade_delete(int family, const uint8_t *addr);

#endif
