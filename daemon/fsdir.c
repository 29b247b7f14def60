/* SPDX-License-Identifier: ISC */
/* fsdir: the daemon's own directories (run-dir, data-dir and Tor's below them): made with
 * their missing parents, each one made given its mode exactly; what they may hold. */
#include "fsdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A directory made here gets mode exactly (the umask aside), set through the descriptor so a
 * path swapped for a symlink meanwhile is refused, not followed. */
static int set_mode(const char *path, mode_t mode)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fchmod(fd, mode);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Makes one level; one that exists must be a directory and is left exactly as it is. */
static int make_level(const char *path, mode_t mode)
{
	struct stat st;
	if (mkdir(path, mode) == 0)
		return set_mode(path, mode);
	if (errno != EEXIST || stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int fsdir_make(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (make_level(buf, 0755) < 0)
			return -1;
		*p = '/';
	}
	return make_level(buf, mode);
}

int fsdir_only(const char *path, const char *const names[], size_t n, char stranger[NAME_MAX + 1])
{
	DIR *dir = opendir(path);
	struct dirent *de;
	stranger[0] = '\0';
	if (dir == NULL)
		return -1;
	while (stranger[0] == '\0' && (de = readdir(dir)) != NULL) {
		bool known = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
		for (size_t i = 0; !known && i < n; i++)
			known = strcmp(de->d_name, names[i]) == 0;
		if (!known)
			snprintf(stranger, NAME_MAX + 1, "%s", de->d_name);
	}
	closedir(dir);
	return stranger[0] == '\0' ? 0 : -1;
}
