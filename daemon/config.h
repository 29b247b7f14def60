/* config: the oniongate.conf(5) grammar, its defaults, and "file:line: what is wrong"
 * errors; a parsed config is immutable and replaced whole on reload. */
#ifndef OG_CONFIG_H
#define OG_CONFIG_H

#include <stddef.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/oniongate/oniongate.conf"
#define CONFIG_ERR_MAX 512

struct tor_option {
	char *name;
	char *value;
	int line;
};

struct config {
	char *path;
	char *run_dir;
	char *data_dir;
	enum log_level log_level;
	enum log_target log_target;
	struct tor_option *tor_options;
	size_t n_tor_options;
};

/* Both return NULL and fill err ("file:line: message") when the text is not valid. */
struct config *config_load(const char *path, char err[CONFIG_ERR_MAX]);
struct config *config_parse(const char *name, const char *text, size_t len, char err[CONFIG_ERR_MAX]);
void config_free(struct config *cfg);

#endif
