/* SPDX-License-Identifier: ISC */
/* mxupgrade: mx-mode upgrade at work: the real MX addresses of mail domains learned from the
 * LAN's MX queries and the map file (mxhosts), claimed in the upgrade table, mirrored into the
 * nft upgrade sets (nftd), swept as they expire, and looked up by the relay. */
#ifndef OG_MXUPGRADE_H
#define OG_MXUPGRADE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "nftd.h"
#include "onionmap.h"
#include "upgrade.h"

/* A claim outlives the TTL it was learned with by UPGRADE_GRACE seconds (the MTA connects a
 * moment after its lookup), a set element its claims by UPGRADE_NFT_SLACK. */
#define UPGRADE_GRACE 30
#define UPGRADE_NFT_SLACK 60

struct mxupgrade;
struct mxupgrade_learn;

/* map and nftd are borrowed and must outlive it; NULL when out of memory. */
struct mxupgrade *mxupgrade_new(struct event_base *base, const struct config *cfg, struct onionmap *map,
				struct nftd *nftd);
/* After a reload's onionmap_commit: the claims of domains no longer in mx-mode upgrade end, and the
 * map file's domains are learned again. */
void mxupgrade_reconfigure(struct mxupgrade *u, const struct config *cfg);
void mxupgrade_free(struct mxupgrade *u);

/* ok false: a domain with an onion MX could not be learned whole (lookups failed, the table is
 * full, the set refused an address): its MX query must fail rather than send mail in the clear. */
typedef void mxupgrade_done_fn(void *arg, bool ok, uint32_t ttl);

/* The LAN asked for domain's MX (lowercase, no final dot): its real MX hosts' addresses are
 * looked up and claimed for onion (NULL: the domain has no onion MX) for the longer of the
 * answers' TTLs and min_ttl, plus UPGRADE_GRACE; done follows, perhaps before this returns (NULL
 * is returned then). A domain's hosts outside the domain are claimed only when the map file names
 * it (an SRV record is the domain's word for its own hosts alone). */
struct mxupgrade_learn *mxupgrade_learn(struct mxupgrade *u, const char *domain, const struct onion_mx *onion,
					uint32_t min_ttl, mxupgrade_done_fn *done, void *arg);
/* done will not be called. */
void mxupgrade_cancel(struct mxupgrade_learn *l);

/* Where a redirected connection to port 25 of addr (4 or 16 bytes of family) goes: the onion
 * MX, or NULL; valid until the loop runs again. */
const struct upgrade_target *mxupgrade_lookup(struct mxupgrade *u, int family, const uint8_t *addr);

#endif
