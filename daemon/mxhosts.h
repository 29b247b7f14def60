/* SPDX-License-Identifier: ISC */
/* mxhosts: a mail domain's real MX hosts and their addresses, looked up through the onionmap's
 * validating libunbound context: the MX answer first, then A and AAAA of every host at once. */
#ifndef OG_MXHOSTS_H
#define OG_MXHOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxanswer.h"
#include "onionmap.h"

#define MXHOSTS_MAX_ADDRS 64 /* over all hosts; those past it are not read */

struct mxhosts_addr {
	struct upgrade_addr addr;
	uint8_t host; /* its index in hosts */
};

struct mxhosts_result {
	bool failed;                  /* a lookup failed or was DNSSEC-bogus: claim nothing */
	bool secure;                  /* every answer was DNSSEC-secure */
	struct mxanswer_hosts hosts;  /* .onion hosts are left out: they are never looked up */
	size_t n_addrs;
	struct mxhosts_addr addrs[MXHOSTS_MAX_ADDRS];
	uint32_t ttl;                 /* the least TTL of the answers; 0 when none had a record */
};

typedef void mxhosts_cb(const struct mxhosts_result *res, void *arg);
struct mxhosts_job;

/* Looks domain (lowercase, no final dot) up; cb is called once, perhaps before this returns, in
 * which case NULL is returned. */
struct mxhosts_job *mxhosts_start(struct onionmap *map, const char *domain, mxhosts_cb *cb, void *arg);
/* cb will not be called; the job frees itself when its last lookup ends. */
void mxhosts_cancel(struct mxhosts_job *job);

#endif
