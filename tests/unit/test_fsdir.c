/* SPDX-License-Identifier: ISC */
/* Unit tests for fsdir: missing parents made, the exact mode of what it makes, an existing
 * directory accepted and left as it was, a file in the way and an overlong path refused; a
 * directory holding only ours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsdir.h"

static char top[64];

static int make_top(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/og-fsdir.XXXXXX");
	return mkdtemp(top) == NULL ? -1 : 0;
}

static int remove_top(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	return st.st_mode & 07777;
}

static void test_parents_and_mode(void **state)
{
	char path[128], parent[128];
	(void)state;
	snprintf(parent, sizeof(parent), "%s/a/b", top);
	snprintf(path, sizeof(path), "%s/a/b/data", top);
	assert_int_equal(fsdir_make(path, 0700), 0);
	assert_int_equal(mode_of(path), 0700);
	assert_int_equal(mode_of(parent), 0755);
}

static void test_mode_exact_whatever_the_umask(void **state)
{
	char path[128], parent[128];
	(void)state;
	snprintf(parent, sizeof(parent), "%s/u", top);
	snprintf(path, sizeof(path), "%s/u/run", top);
	mode_t old = umask(077);
	int rc = fsdir_make(path, 0755);
	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(mode_of(path), 0755);
	assert_int_equal(mode_of(parent), 0755);
}

/* A directory that was there keeps its mode: `data-dir /var/lib` must not make /var/lib 0700. */
static void test_existing_left_alone(void **state)
{
	char path[128], below[160];
	(void)state;
	snprintf(path, sizeof(path), "%s/shared", top);
	snprintf(below, sizeof(below), "%s/shared/lib/own", top);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(fsdir_make(path, 0700), 0);
	assert_int_equal(mode_of(path), 0755);
	assert_int_equal(chmod(path, 0711), 0);
	assert_int_equal(fsdir_make(below, 0700), 0);
	assert_int_equal(mode_of(path), 0711);
	assert_int_equal(mode_of(below), 0700);
	assert_int_equal(chmod(below, 0750), 0);
	assert_int_equal(fsdir_make(below, 0700), 0);
	assert_int_equal(mode_of(below), 0750);
}

static void test_refusals(void **state)
{
	char file[128], below[160], *longpath;
	(void)state;
	snprintf(file, sizeof(file), "%s/file", top);
	snprintf(below, sizeof(below), "%s/file/dir", top);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(fsdir_make(below, 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	/* A file where the directory itself should be: refused, and its mode left as it was. */
	assert_int_equal(chmod(file, 0644), 0);
	assert_int_equal(fsdir_make(file, 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	longpath = malloc(PATH_MAX + 2);
	assert_non_null(longpath);
	memset(longpath, 'a', PATH_MAX + 1);
	longpath[0] = '/';
	longpath[PATH_MAX + 1] = '\0';
	assert_int_equal(fsdir_make(longpath, 0700), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	free(longpath);
}

static void test_only(void **state)
{
	static const char *const ours[] = { "tor", "pool.key" };
	char dir[128], path[160], stranger[NAME_MAX + 1];
	(void)state;
	snprintf(dir, sizeof(dir), "%s/own", top);
	assert_int_equal(fsdir_make(dir, 0700), 0);
	assert_int_equal(fsdir_only(dir, ours, 2, stranger), 0);
	snprintf(path, sizeof(path), "%s/tor", dir);
	assert_int_equal(fsdir_make(path, 0700), 0);
	assert_int_equal(fsdir_only(dir, ours, 2, stranger), 0);
	snprintf(path, sizeof(path), "%s/passwd", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(fsdir_only(dir, ours, 2, stranger), -1);
	assert_string_equal(stranger, "passwd");
	snprintf(path, sizeof(path), "%s/missing", top);
	assert_int_equal(fsdir_only(path, ours, 2, stranger), -1);
	assert_string_equal(stranger, "");
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parents_and_mode),
		cmocka_unit_test(test_mode_exact_whatever_the_umask),
		cmocka_unit_test(test_existing_left_alone),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_only),
	};
	return cmocka_run_group_tests(tests, make_top, remove_top);
}
