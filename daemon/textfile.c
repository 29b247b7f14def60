/* SPDX-License-Identifier: ISC */
/* textfile: reading a whole line-oriented file under a size bound, and walking its lines for
 * the parsers (config, map file), so each parser sees one NUL-terminated line at a time. */
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a file";
}

/* Opens path for reading only if it is a regular file: opening is non-blocking, so a FIFO
 * without a writer cannot stall the caller, and fstat decides before any read. */
static int open_regular(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (%s)", path, kind_of(st.st_mode));
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads up to max + 1 bytes, so a file over the bound is told apart from one at it. */
static ssize_t read_bounded(int fd, char *buf, size_t max)
{
	size_t got = 0;
	while (got <= max) {
		ssize_t n = read(fd, buf + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

char *textfile_read(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	int fd = open_regular(path, err, errlen);
	char *text;
	if (fd < 0)
		return NULL;
	if ((text = malloc(max + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	ssize_t n = read_bounded(fd, text, max);
	if (n < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if ((size_t)n > max)
		snprintf(err, errlen, "%s: larger than %zu KiB", path, max / 1024);
	close(fd);
	if (n < 0 || (size_t)n > max) {
		free(text);
		return NULL;
	}
	*len = (size_t)n;
	return text;
}

int textfile_lines(const char *text, size_t len, textfile_line_fn *each, void *arg)
{
	char *buf = malloc(len + 1);
	int lineno = 0, rc = 0;
	if (buf == NULL)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (char *line = buf, *end = buf + len; line < end && rc == 0;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *stop = nl ? nl : end;
		int has_nul = memchr(line, '\0', (size_t)(stop - line)) != NULL;
		*stop = '\0';
		rc = each(has_nul ? NULL : line, ++lineno, arg);
		line = stop + 1;
	}
	free(buf);
	return rc;
}
