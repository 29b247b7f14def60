/* SPDX-License-Identifier: ISC */
/* privdrop: the privileges each process of oniongated keeps. The daemon, which parses the network,
 * never keeps CAP_NET_ADMIN; the nft helper keeps that capability and nothing else. */
#ifndef OG_PRIVDROP_H
#define OG_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>

#define PRIVDROP_ERR_MAX 256

/* Each returns 0, or -1 with err set; call while the process has one thread. */

/* The daemon with `user`: dirs handed to user, its ids taken (already them: kept), no capability
 * left (the bounding set emptied too, when the process may). */
int privdrop_user(const char *user, const char *const dirs[], size_t ndirs, char err[PRIVDROP_ERR_MAX]);
/* The daemon without `user`. Started as root: still root, but without CAP_NET_ADMIN in any set.
 * Started as another user (a service's User= with ambient capabilities): no capability left, but
 * CAP_NET_BIND_SERVICE when keep_bind (a listener below port 1024 is still to be bound). */
int privdrop_net_admin(bool keep_bind, char err[PRIVDROP_ERR_MAX]);
/* The nft helper: user's ids (NULL: the ids it was started with stay), CAP_NET_ADMIN as its only
 * capability (bounding set included when the process may shrink it); no new privileges, not dumpable. */
int privdrop_nft_helper(const char *user, char err[PRIVDROP_ERR_MAX]);

#endif
