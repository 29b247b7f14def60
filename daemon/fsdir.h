/* SPDX-License-Identifier: ISC */
/* fsdir: the daemon's own directories (run-dir, data-dir and Tor's below them): made with
 * their missing parents, each one made given its mode exactly; what they may hold. */
#ifndef OG_FSDIR_H
#define OG_FSDIR_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Makes path and its missing parents: the directories it makes get exactly mode (parents 0755),
 * whatever the umask; a directory that already exists keeps its mode and owner (it may not be
 * ours: `data-dir /var/lib`). 0, or -1 with errno set (ENOTDIR for a non-directory in the way,
 * ENAMETOOLONG for a path longer than PATH_MAX). */
int fsdir_make(const char *path, mode_t mode);
/* 0 when every entry of directory path is one of names; -1 with the first other entry in
 * stranger, or with errno set and stranger empty when the directory cannot be read. */
int fsdir_only(const char *path, const char *const names[], size_t n, char stranger[NAME_MAX + 1]);

#endif
