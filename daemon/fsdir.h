/* fsdir: the daemon's own directories (run-dir, data-dir and Tor's below them): made with
 * their missing parents, the last one given the mode asked for. */
#ifndef OG_FSDIR_H
#define OG_FSDIR_H

#include <sys/types.h>

/* 0, or -1 with errno set (ENAMETOOLONG for a path longer than PATH_MAX). Parents get 0755. */
int fsdir_make(const char *path, mode_t mode);

#endif
