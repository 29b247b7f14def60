/* SPDX-License-Identifier: ISC */
/* privdrop: the privileges each process of oniongated keeps. The daemon, which parses the network,
 * never keeps CAP_NET_ADMIN; the nft helper keeps that capability and nothing else. */
#ifndef OG_PRIVDROP_H
#define OG_PRIVDROP_H

#include <stddef.h>

#define PRIVDROP_ERR_MAX 256

/* Each returns 0, or -1 with err set; call while the process has one thread. */

/* The daemon with `user`: dirs handed to user, its ids taken, no capability left (the bounding
 * set emptied too). */
int privdrop_user(const char *user, const char *const dirs[], size_t ndirs, char err[PRIVDROP_ERR_MAX]);
/* The daemon without `user`: still root, but without CAP_NET_ADMIN in any set. */
int privdrop_net_admin(char err[PRIVDROP_ERR_MAX]);
/* The nft helper: user's ids (NULL: uid 0 stays), CAP_NET_ADMIN as its only capability, bounding
 * set included; no new privileges, not dumpable. */
int privdrop_nft_helper(const char *user, char err[PRIVDROP_ERR_MAX]);

#endif
