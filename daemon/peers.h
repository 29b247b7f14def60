/* SPDX-License-Identifier: ISC */
/* peers: how many slots each client address holds (TCP connections, requests in flight), so
 * that one LAN host cannot take them all; an address is forgotten when it holds none. */
#ifndef OG_PEERS_H
#define OG_PEERS_H

#include <stdbool.h>
#include <sys/socket.h>

struct peers;

struct peers *peers_new(void);
/* Takes a slot for addr unless it already holds limit of them; false then (or out of memory). */
bool peers_take(struct peers *p, const struct sockaddr_storage *addr, unsigned limit);
void peers_give(struct peers *p, const struct sockaddr_storage *addr);
unsigned peers_held(struct peers *p, const struct sockaddr_storage *addr);
void peers_free(struct peers *p);

#endif
