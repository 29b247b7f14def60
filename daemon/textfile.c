/* textfile: reading a whole line-oriented file under a size bound, and walking its lines for
 * the parsers (config, map file), so each parser sees one NUL-terminated line at a time. */
#include "textfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *textfile_read(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text;
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((text = malloc(max + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	*len = fread(text, 1, max + 1, f);
	if (ferror(f) || *len > max) {
		if (ferror(f))
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s: larger than %zu KiB", path, max / 1024);
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
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
