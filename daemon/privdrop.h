/* privdrop: giving up root once the listeners are bound: the daemon's directories handed to the
 * user, its groups and IDs taken, and of all capabilities only CAP_NET_ADMIN kept (for nft). */
#ifndef OG_PRIVDROP_H
#define OG_PRIVDROP_H

#include <stddef.h>

#define PRIVDROP_ERR_MAX 256

/* 0, or -1 with err set. Call while the process has one thread. */
int privdrop(const char *user, const char *const dirs[], size_t ndirs, char err[PRIVDROP_ERR_MAX]);

#endif
