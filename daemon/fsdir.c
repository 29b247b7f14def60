/* fsdir: the daemon's own directories (run-dir, data-dir and Tor's below them): made with
 * their missing parents, the last one given the mode asked for; what they may hold. */
#include "fsdir.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return chmod(buf, mode);
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
