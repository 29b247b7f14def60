/* privdrop: giving up root once the listeners are bound: the daemon's directories handed to the
 * user, its groups and IDs taken, and of all capabilities only CAP_NET_ADMIN kept (for nft). */
#include "privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* lchown of path and, for a directory, of everything below it. */
static int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	if (lstat(path, &st) < 0 || lchown(path, uid, gid) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	DIR *dir = opendir(path);
	if (dir == NULL)
		return -1;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		char child[PATH_MAX];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", path, de->d_name) >= (int)sizeof(child)) {
			errno = ENAMETOOLONG;
			rc = -1;
		} else {
			rc = chown_tree(child, uid, gid);
		}
	}
	closedir(dir);
	return rc;
}

static int keep_net_admin(void)
{
	cap_value_t keep = CAP_NET_ADMIN;
	cap_t caps = cap_init();
	if (caps == NULL)
		return -1;
	int rc = cap_set_flag(caps, CAP_PERMITTED, 1, &keep, CAP_SET) < 0 ||
			 cap_set_flag(caps, CAP_EFFECTIVE, 1, &keep, CAP_SET) < 0 || cap_set_proc(caps) < 0
		 ? -1
		 : 0;
	cap_free(caps);
	return rc;
}

int privdrop(const char *user, const char *const dirs[], size_t ndirs, char err[PRIVDROP_ERR_MAX])
{
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, PRIVDROP_ERR_MAX, "user '%s' does not exist", user);
		return -1;
	}
	for (size_t i = 0; i < ndirs; i++)
		if (chown_tree(dirs[i], pw->pw_uid, pw->pw_gid) < 0) {
			snprintf(err, PRIVDROP_ERR_MAX, "cannot give %s to %s: %s", dirs[i], user, strerror(errno));
			return -1;
		}
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0 || setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0 || prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0 || keep_net_admin() < 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "still able to become root after dropping to %s", user);
		return -1;
	}
	return 0;
}
