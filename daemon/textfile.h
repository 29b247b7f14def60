/* SPDX-License-Identifier: ISC */
/* textfile: reading a whole line-oriented file under a size bound, and walking its lines for
 * the parsers (config, map file), so each parser sees one NUL-terminated line at a time. */
#ifndef OG_TEXTFILE_H
#define OG_TEXTFILE_H

#include <stddef.h>

/* The file's bytes (caller frees) and their count, or NULL with "path: why" in err. Only a
 * regular file is read (a FIFO, device or directory is refused without blocking), and at most
 * max bytes of it: a larger file is refused. */
char *textfile_read(const char *path, size_t max, size_t *len, char *err, size_t errlen);

/* Called for each line (numbered from 1, newline removed); line is NULL when it holds a NUL
 * byte. A non-zero return stops the walk and is returned. */
typedef int textfile_line_fn(char *line, int lineno, void *arg);
int textfile_lines(const char *text, size_t len, textfile_line_fn *each, void *arg);

#endif
