/* nft: the daemon's own nftables table "inet oniongate" through libnftnl/libmnl: LAN TCP to
 * the pools redirected to the transparent port, optional DNS redirect, anything else to the
 * pools dropped. Installed whole (replacing a stale one), checked, and removed at exit. */
#ifndef OG_NFT_H
#define OG_NFT_H

#include "config.h"

#define NFT_TABLE_NAME "oniongate"

/* Replaces the table in one batch; returns the number of rules installed, or -1. */
int nft_install(const struct config *cfg);
/* The number of rules the kernel holds in the table, or -1 when there is no such table. */
int nft_rule_count(void);
int nft_remove(void);

#endif
