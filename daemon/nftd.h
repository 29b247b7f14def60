/* SPDX-License-Identifier: ISC */
/* nftd: the nft helper (relayd's pfe in small): a child forked before anything reads the network,
 * the only process of oniongated with CAP_NET_ADMIN, driven over a socketpair. */
#ifndef OG_NFTD_H
#define OG_NFTD_H

#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "config.h"

#define NFTD_ERR_MAX 320
#define NFTD_UPGRADE_TIMEOUT_MAX (7 * 86400)

struct nftd;

/* Forks the helper, which keeps the table of cfg and becomes cfg->user with CAP_NET_ADMIN alone;
 * NULL with err set when it could not. Call while the process has one thread. */
struct nftd *nftd_start(const struct config *cfg, char err[NFTD_ERR_MAX]);
/* Installs the table, replacing a stale one: the rules installed, *counted the rules the kernel
 * then lists (-1 if it could not); -1 with err set when nothing was installed. */
int nftd_install(struct nftd *h, int *counted, char err[NFTD_ERR_MAX]);
/* Removes the table; the helper exits after it. 0, or -1 with err set. */
int nftd_remove(struct nftd *h, char err[NFTD_ERR_MAX]);
/* mx-mode upgrade: addr (4 or 16 bytes of family) into its upgrade set for timeout seconds
 * (1..NFTD_UPGRADE_TIMEOUT_MAX; one already there gets the new timeout), or out of it with
 * timeout 0. 0, or -1 with err set. */
int nftd_upgrade(struct nftd *h, int family, const uint8_t addr[16], uint32_t timeout, char err[NFTD_ERR_MAX]);
/* gone(arg) is called once if the helper exits while the loop runs. */
int nftd_watch(struct nftd *h, struct event_base *base, void (*gone)(void *arg), void *arg);
/* The helper's process id (the daemon's SIGCHLD handler leaves it to nftd_free). */
pid_t nftd_pid(const struct nftd *h);
/* Closes the socket, at which the helper exits, and reaps it. NULL is fine. */
void nftd_free(struct nftd *h);

#endif
