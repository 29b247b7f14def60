/* SPDX-License-Identifier: ISC */
/* privdrop: the privileges each process of oniongated keeps. The daemon, which parses the network,
 * never keeps CAP_NET_ADMIN; the nft helper keeps that capability and nothing else. */
#include "privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
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

static bool holds(cap_flag_t set, cap_value_t cap);

/* Drops every capability but keep (NO_KEEP: all) from the bounding set: no later execve can
 * bring one back. Needs CAP_SETPCAP; started without it (a service's User= with ambient
 * capabilities) the bounding set is the supervisor's (CapabilityBoundingSet=) and stays. */
#define NO_KEEP ((cap_value_t)-1)
static int bound_to(cap_value_t keep)
{
	if (!holds(CAP_EFFECTIVE, CAP_SETPCAP))
		return 0;
	for (cap_value_t c = 0; prctl(PR_CAPBSET_READ, (unsigned long)c, 0L, 0L, 0L) >= 0; c++)
		if (c != keep && prctl(PR_CAPBSET_DROP, (unsigned long)c, 0L, 0L, 0L) < 0)
			return -1;
	return 0;
}

/* Permitted and effective hold keep alone (NO_KEEP: nothing); inheritable and ambient nothing. */
static int caps_to(cap_value_t keep)
{
	cap_t caps = cap_init();
	if (caps == NULL)
		return -1;
	int rc = (keep != NO_KEEP && (cap_set_flag(caps, CAP_PERMITTED, 1, &keep, CAP_SET) < 0 ||
				      cap_set_flag(caps, CAP_EFFECTIVE, 1, &keep, CAP_SET) < 0)) ||
			 cap_set_proc(caps) < 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0
		 ? -1
		 : 0;
	cap_free(caps);
	return rc;
}

static bool holds(cap_flag_t set, cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();
	if (caps == NULL || cap_get_flag(caps, cap, set, &v) < 0)
		v = CAP_SET;
	cap_free(caps);
	return v == CAP_SET;
}

/* Already pw (a service started as the user): nothing to change, and no right to change it. */
static int become(const struct passwd *pw)
{
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid && getgid() == pw->pw_gid && getegid() == pw->pw_gid)
		return 0;
	return setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ? -1 : 0;
}

int privdrop_user(const char *user, const char *const dirs[], size_t ndirs, char err[PRIVDROP_ERR_MAX])
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
	if (bound_to(NO_KEEP) < 0 || become(pw) < 0 || caps_to(NO_KEEP) < 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || holds(CAP_PERMITTED, CAP_NET_ADMIN)) {
		snprintf(err, PRIVDROP_ERR_MAX, "still root or CAP_NET_ADMIN after dropping to %s", user);
		return -1;
	}
	return 0;
}

/* Not root: every capability goes, but CAP_NET_BIND_SERVICE when keep_bind and held. */
static int drop_all_caps(bool keep_bind, char err[PRIVDROP_ERR_MAX])
{
	cap_value_t keep = keep_bind && holds(CAP_PERMITTED, CAP_NET_BIND_SERVICE) ? CAP_NET_BIND_SERVICE : NO_KEEP;
	if (caps_to(keep) < 0 || holds(CAP_PERMITTED, CAP_NET_ADMIN)) {
		snprintf(err, PRIVDROP_ERR_MAX, "cannot give up the capabilities: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int privdrop_net_admin(bool keep_bind, char err[PRIVDROP_ERR_MAX])
{
	cap_value_t drop = CAP_NET_ADMIN;
	if (getuid() != 0 && geteuid() != 0)
		return drop_all_caps(keep_bind, err);
	cap_t caps = cap_get_proc();
	int rc = -1;
	/* EPERM: started without CAP_SETPCAP, so without CAP_NET_ADMIN to lose either. */
	if (caps != NULL && (prctl(PR_CAPBSET_DROP, (unsigned long)drop, 0L, 0L, 0L) == 0 || errno == EPERM) &&
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, &drop, CAP_CLEAR) == 0 &&
	    cap_set_flag(caps, CAP_PERMITTED, 1, &drop, CAP_CLEAR) == 0 &&
	    cap_set_flag(caps, CAP_INHERITABLE, 1, &drop, CAP_CLEAR) == 0 && cap_set_proc(caps) == 0 &&
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) == 0)
		rc = 0;
	cap_free(caps);
	if (rc < 0 || holds(CAP_PERMITTED, CAP_NET_ADMIN)) {
		snprintf(err, PRIVDROP_ERR_MAX, "cannot give up CAP_NET_ADMIN: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int privdrop_nft_helper(const char *user, char err[PRIVDROP_ERR_MAX])
{
	struct passwd *pw = NULL;
	if (user != NULL && (pw = getpwnam(user)) == NULL) {
		snprintf(err, PRIVDROP_ERR_MAX, "user '%s' does not exist", user);
		return -1;
	}
	if (bound_to(CAP_NET_ADMIN) < 0 || prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0 ||
	    (pw != NULL && become(pw) < 0) || prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0 ||
	    caps_to(CAP_NET_ADMIN) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "cannot keep CAP_NET_ADMIN alone%s%s: %s", pw ? " as " : "",
			 pw ? user : "", strerror(errno));
		return -1;
	}
	if (pw != NULL && setuid(0) == 0) {
		snprintf(err, PRIVDROP_ERR_MAX, "still able to become root after dropping to %s", user);
		return -1;
	}
	return 0;
}
