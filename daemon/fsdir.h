/* fsdir: the daemon's own directories (run-dir, data-dir and Tor's below them): made with
 * their missing parents, the last one given the mode asked for; what they may hold. */
#ifndef OG_FSDIR_H
#define OG_FSDIR_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* 0, or -1 with errno set (ENAMETOOLONG for a path longer than PATH_MAX). Parents get 0755. */
int fsdir_make(const char *path, mode_t mode);
/* 0 when every entry of directory path is one of names; -1 with the first other entry in
 * stranger, or with errno set and stranger empty when the directory cannot be read. */
int fsdir_only(const char *path, const char *const names[], size_t n, char stranger[NAME_MAX + 1]);

#endif
