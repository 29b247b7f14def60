/* nft: the daemon's own nftables table "inet oniongate" through libnftnl/libmnl: LAN TCP to
 * the pools redirected to the transparent port, optional DNS redirect, anything else to the
 * pools dropped. Installed whole (replacing a stale one), checked, and removed at exit. */
#ifndef OG_NFT_H
#define OG_NFT_H

#include "config.h"

#define NFT_TABLE_NAME "oniongate"

/* These need CAP_NET_ADMIN: only the nft helper (nftd) calls them. Each returns -1 with errno
 * set on failure. */

/* Replaces the table in one batch sized for its rules; the number of rules installed. */
int nft_install(const struct config *cfg);
/* The number of rules the kernel holds in the table. */
int nft_rule_count(void);
int nft_remove(void);

#endif
