/* SPDX-License-Identifier: ISC */
/* upfile: follows the dns-upstream-file with no reload: a timer stats it and re-reads it when its
 * inode, mtime or size change, and tells its owner when the servers it names change. */
#ifndef OG_UPFILE_H
#define OG_UPFILE_H

#include <stddef.h>

#include <event2/event.h>

#include "config.h"

#define UPFILE_CHECK_SECONDS 5

struct upfile;

/* The servers changed (read them with upfile_servers). */
typedef void upfile_cb(void *arg);

/* Reads cfg's dns-upstream-file now (a missing, unreadable or empty file is no error: no servers)
 * and checks it every UPFILE_CHECK_SECONDS from then on. Keeps copies of the path and of the
 * dns-listen addresses (never a server). NULL only when out of memory. */
struct upfile *upfile_new(struct event_base *base, const struct config *cfg, upfile_cb *cb, void *arg);
const char *upfile_path(const struct upfile *f);
/* The servers the file names now (at most CONFIG_MAX_DNS_UPSTREAM; perhaps none). */
const struct config_sockaddr *upfile_servers(const struct upfile *f, size_t *n);
void upfile_free(struct upfile *f);

#endif
