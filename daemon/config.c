/* SPDX-License-Identifier: ISC */
/* config: the oniongate.conf(5) grammar, its defaults, and "file:line: what is wrong"
 * errors; a parsed config is immutable and replaced whole on reload. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bridgeline.h"
#include "textfile.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_MAX_TOKENS 64

struct parse_state {
	struct config *cfg;
	const char *name;
	int line;
	char *err;
};

struct directive;

/* Whether a running config (a) and a new one (b) agree on a restart-only directive: 0 when they
 * do, else where they differ: a line of b, or minus a line of a when b no longer has it. */
typedef int differs_fn(const struct config *a, const struct config *b, const struct directive *d);

/* A directive: its words, whether it may appear once only, the config field it sets (offset,
 * size) with a number's bounds for the generic appliers, and how a reload treats it: differs is
 * NULL for a directive that takes full effect on SIGHUP, else it is restart-only. */
struct directive {
	const char *keyword;
	int min_args, max_args;
	int (*apply)(struct parse_state *, const struct directive *, char **args, int nargs);
	bool once;
	size_t offset, size;
	unsigned long min, max;
	differs_fn *differs;
};

#define FIELD(ps, d, type) ((type *)(void *)((char *)(ps)->cfg + (d)->offset))

/* Tor options the bridge and transport-plugin directives set: with either, no tor-option may. */
static const char *const bridge_tor_options[] = { "UseBridges", "Bridge", "ClientTransportPlugin" };

/* Tor options the daemon sets itself: a tor-option line may not override them. */
static const char *const owned_tor_options[] = {
	"SocksPort", "ControlPort", "ControlSocket", "ControlSocketsGroupWritable", "DataDirectory",
	"RunAsDaemon", "Log", "PidFile", "User", "HashedControlPassword", "CookieAuthentication",
	"__OwningControllerFD", "__OwningControllerProcess", "__DisableSignalHandlers", "__ReloadTorrcOnSIGHUP",
};

static void report(struct parse_state *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct parse_state *ps, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ps->err, CONFIG_ERR_MAX, "%s:%d: ", ps->name, ps->line);
	if (n < 0 || n >= CONFIG_ERR_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, CONFIG_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
}

/* "file:line: message" into the error, and -1 (a macro, so that analyzers see the -1). */
#define fail(ps, ...) (report((ps), __VA_ARGS__), -1)

static int apply_path(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	char **slot = FIELD(ps, d, char *);
	(void)nargs;
	if (args[0][0] != '/')
		return fail(ps, "%s must be an absolute path, not '%s'", d->keyword, args[0]);
	char *copy = strdup(args[0]);
	if (copy == NULL)
		return fail(ps, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

static int apply_bool(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)nargs;
	if (strcmp(args[0], "on") != 0 && strcmp(args[0], "off") != 0)
		return fail(ps, "%s must be on or off, not '%s'", d->keyword, args[0]);
	*FIELD(ps, d, bool) = strcmp(args[0], "on") == 0;
	return 0;
}

static int parse_uint(struct parse_state *ps, const char *what, const char *word, unsigned long min,
		      unsigned long max, unsigned long *out);

static int apply_u16(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	unsigned long v;
	(void)nargs;
	if (parse_uint(ps, d->keyword, args[0], d->min, d->max, &v) < 0)
		return -1;
	*FIELD(ps, d, uint16_t) = (uint16_t)v;
	return 0;
}

static int apply_unsigned(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	unsigned long v;
	(void)nargs;
	if (parse_uint(ps, d->keyword, args[0], d->min, d->max, &v) < 0)
		return -1;
	*FIELD(ps, d, unsigned) = (unsigned)v;
	return 0;
}

static int apply_size(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	unsigned long v;
	(void)nargs;
	if (parse_uint(ps, d->keyword, args[0], d->min, d->max, &v) < 0)
		return -1;
	*FIELD(ps, d, size_t) = v;
	return 0;
}

static int apply_log_level(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	if (log_level_parse(args[0], &ps->cfg->log_level) < 0)
		return fail(ps, "log-level must be err, warn, notice, info or debug, not '%s'", args[0]);
	return 0;
}

static int apply_log_target(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	if (strcmp(args[0], "syslog") == 0)
		ps->cfg->log_target = LOG_TARGET_SYSLOG;
	else if (strcmp(args[0], "stderr") == 0)
		ps->cfg->log_target = LOG_TARGET_STDERR;
	else
		return fail(ps, "log-target must be syslog or stderr, not '%s'", args[0]);
	return 0;
}

static bool valid_tor_option_name(const char *name)
{
	if (!isalpha((unsigned char)name[0]) && name[0] != '_')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

static char *join_words(char **words, int n)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	char *out = malloc(len), *p = out;
	if (out == NULL)
		return NULL;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(words[i]);
		if (i > 0)
			*p++ = ' ';
		memcpy(p, words[i], l);
		p += l;
	}
	*p = '\0';
	return out;
}

static int apply_tor_option(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	struct config *cfg = ps->cfg;
	if (!valid_tor_option_name(args[0]))
		return fail(ps, "'%s' is not a Tor option name", args[0]);
	for (size_t i = 0; i < sizeof(owned_tor_options) / sizeof(owned_tor_options[0]); i++)
		if (strcasecmp(args[0], owned_tor_options[i]) == 0)
			return fail(ps, "tor-option %s is set by oniongated itself and cannot be given", args[0]);

	struct tor_option *grown = realloc(cfg->tor_options, (cfg->n_tor_options + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail(ps, "out of memory");
	cfg->tor_options = grown;
	struct tor_option *opt = &cfg->tor_options[cfg->n_tor_options];
	opt->name = strdup(args[0]);
	opt->value = join_words(args + 1, nargs - 1);
	opt->line = ps->line;
	if (opt->name == NULL || opt->value == NULL) {
		free(opt->name);
		free(opt->value);
		return fail(ps, "out of memory");
	}
	cfg->n_tor_options++;
	return 0;
}

static int apply_bridge(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	struct config *cfg = ps->cfg;
	char why[BRIDGELINE_ERR_MAX];
	struct bridgeline parsed;
	(void)d;
	if (cfg->n_bridges == CONFIG_MAX_BRIDGES)
		return fail(ps, "more than %d bridge lines", CONFIG_MAX_BRIDGES);
	char *line = join_words(args, nargs);
	if (line == NULL)
		return fail(ps, "out of memory");
	if (bridgeline_parse(line, &parsed, why) < 0) {
		free(line);
		return fail(ps, "bridge: %s", why);
	}
	struct config_bridge *grown = realloc(cfg->bridges, (cfg->n_bridges + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(line);
		return fail(ps, "out of memory");
	}
	cfg->bridges = grown;
	grown[cfg->n_bridges].line = line;
	memcpy(grown[cfg->n_bridges].transport, parsed.transport, sizeof(parsed.transport));
	grown[cfg->n_bridges++].line_no = ps->line;
	return 0;
}

/* Each name of "a,b" is a transport name no earlier transport-plugin line provides. */
static int check_transport_names(struct parse_state *ps, const char *names)
{
	char name[BRIDGELINE_TRANSPORT_MAX + 1];
	for (const char *p = names;; p++) {
		size_t len = strcspn(p, ",");
		if (!bridgeline_transport_valid(p, len))
			return fail(ps, "transport-plugin: '%.*s' is not a transport name (letters, digits, _)", (int)len, p);
		memcpy(name, p, len);
		name[len] = '\0';
		const struct config_transport *other = config_transport_for(ps->cfg, name);
		if (other != NULL)
			return fail(ps, "transport-plugin: %s already comes from line %d", name, other->line);
		p += len;
		if (*p == '\0')
			return 0;
	}
}

/* Checked where the config is read (ExecStartPre runs as the service's user): Tor would only
 * log that the plugin failed to launch, and then never bootstrap. */
static int check_executable(struct parse_state *ps, const char *path)
{
	struct stat st;
	if (path[0] != '/')
		return fail(ps, "transport-plugin: the plugin must be an absolute path, not '%s'", path);
	if (stat(path, &st) < 0)
		return fail(ps, "transport-plugin: %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
		return fail(ps, "transport-plugin: %s is not an executable file", path);
	return 0;
}

static int apply_transport_plugin(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	struct config *cfg = ps->cfg;
	(void)d;
	if (cfg->n_transports == CONFIG_MAX_TRANSPORT_PLUGINS)
		return fail(ps, "more than %d transport-plugin lines", CONFIG_MAX_TRANSPORT_PLUGINS);
	if (check_transport_names(ps, args[0]) < 0 || check_executable(ps, args[1]) < 0)
		return -1;
	struct config_transport *grown = realloc(cfg->transports, (cfg->n_transports + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail(ps, "out of memory");
	cfg->transports = grown;
	struct config_transport *t = &grown[cfg->n_transports];
	t->names = strdup(args[0]);
	t->command = join_words(args + 1, nargs - 1);
	t->line = ps->line;
	if (t->names == NULL || t->command == NULL) {
		free(t->names);
		free(t->command);
		return fail(ps, "out of memory");
	}
	cfg->n_transports++;
	return 0;
}

static int parse_uint(struct parse_state *ps, const char *what, const char *word, unsigned long min,
		      unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)word[0]))
		return fail(ps, "%s must be a number from %lu to %lu, not '%s'", what, min, max, word);
	*out = strtoul(word, &end, 10);
	if (*end != '\0' || errno != 0 || *out < min || *out > max)
		return fail(ps, "%s must be a number from %lu to %lu, not '%s'", what, min, max, word);
	return 0;
}

static int parse_sockaddr(struct parse_state *ps, char **args, int nargs, struct config_sockaddr *out)
{
	unsigned long port = 53;
	memset(out, 0, sizeof(*out));
	out->line = ps->line;
	if (nargs == 2 && parse_uint(ps, "port", args[1], 1, 65535, &port) < 0)
		return -1;
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, args[0], &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, args[0], &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*sin6);
	} else {
		return fail(ps, "'%s' is not an IPv4 or IPv6 address", args[0]);
	}
	return 0;
}

static int push_sockaddr(struct parse_state *ps, char **args, int nargs, struct config_sockaddr **list, size_t *n)
{
	struct config_sockaddr sa;
	if (parse_sockaddr(ps, args, nargs, &sa) < 0)
		return -1;
	struct config_sockaddr *grown = realloc(*list, (*n + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail(ps, "out of memory");
	grown[(*n)++] = sa;
	*list = grown;
	return 0;
}

static int apply_dns_listen(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	return push_sockaddr(ps, args, nargs, &ps->cfg->dns_listen, &ps->cfg->n_dns_listen);
}

static int apply_dns_upstream(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	if (ps->cfg->n_dns_upstream == CONFIG_MAX_DNS_UPSTREAM)
		return fail(ps, "more than %d dns-upstream lines", CONFIG_MAX_DNS_UPSTREAM);
	return push_sockaddr(ps, args, nargs, &ps->cfg->dns_upstream, &ps->cfg->n_dns_upstream);
}

/* ADDRESS, IPV4:PORT or [IPV6]:PORT (a bare IPv6 address has no port). */
static int apply_pool_peer(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	char addr[64], *port = NULL;
	(void)d;
	(void)nargs;
	if (ps->cfg->n_pool_peers == CONFIG_MAX_POOL_PEERS)
		return fail(ps, "more than %d pool-peer lines", CONFIG_MAX_POOL_PEERS);
	if (strlen(args[0]) >= sizeof(addr))
		return fail(ps, "'%s' is not an IPv4 or IPv6 address", args[0]);
	strcpy(addr, args[0]);
	char *close = strchr(addr, ']');
	if (addr[0] == '[' && close != NULL && close[1] == ':') {
		*close = '\0';
		port = close + 2;
	} else if (addr[0] == '[') {
		return fail(ps, "pool-peer: '%s' is not ADDRESS, IPV4:PORT or [IPV6]:PORT", args[0]);
	} else if (strchr(addr, ':') != NULL && strchr(addr, ':') == strrchr(addr, ':')) {
		port = strchr(addr, ':');
		*port++ = '\0';
	}
	char *words[2] = { addr[0] == '[' ? addr + 1 : addr, port };
	return push_sockaddr(ps, words, port != NULL ? 2 : 1, &ps->cfg->pool_peers, &ps->cfg->n_pool_peers);
}

static int parse_net(struct parse_state *ps, const char *word, struct config_net *net)
{
	char addr[64];
	unsigned long prefix;
	const char *slash = strchr(word, '/');
	memset(net, 0, sizeof(*net));
	net->line = ps->line;
	if (slash == NULL || (size_t)(slash - word) >= sizeof(addr))
		return fail(ps, "'%s' is not a network (address/prefix)", word);
	memcpy(addr, word, (size_t)(slash - word));
	addr[slash - word] = '\0';
	if (inet_pton(AF_INET, addr, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, net->addr) == 1)
		net->family = AF_INET6;
	else
		return fail(ps, "'%s' is not a network (address/prefix)", word);
	if (parse_uint(ps, "the prefix length", slash + 1, 0, net->family == AF_INET ? 32 : 128, &prefix) < 0)
		return -1;
	net->prefix = (int)prefix;
	for (int bit = net->prefix; bit < (net->family == AF_INET ? 32 : 128); bit++)
		if (net->addr[bit / 8] & (0x80 >> (bit % 8)))
			return fail(ps, "'%s' has host bits set", word);
	return 0;
}

static int apply_client_network(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	struct config *cfg = ps->cfg;
	struct config_net net;
	(void)nargs;
	if (parse_net(ps, args[0], &net) < 0)
		return -1;
	struct config_net *grown = realloc(cfg->client_nets, (cfg->n_client_nets + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail(ps, "out of memory");
	grown[cfg->n_client_nets++] = net;
	cfg->client_nets = grown;
	return 0;
}

static int apply_pool_ipv4(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	if (parse_net(ps, args[0], &ps->cfg->pool_v4) < 0)
		return -1;
	if (ps->cfg->pool_v4.family != AF_INET || ps->cfg->pool_v4.prefix < 8 || ps->cfg->pool_v4.prefix > 29)
		return fail(ps, "pool-ipv4 must be an IPv4 network from /8 to /29, not '%s'", args[0]);
	return 0;
}

static int apply_pool_ipv6(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	if (parse_net(ps, args[0], &ps->cfg->pool_v6) < 0)
		return -1;
	if (ps->cfg->pool_v6.family != AF_INET6 || ps->cfg->pool_v6.prefix < 16 || ps->cfg->pool_v6.prefix > 112)
		return fail(ps, "pool-ipv6 must be an IPv6 network from /16 to /112, not '%s'", args[0]);
	return 0;
}

static int apply_pool_key(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	if (strlen(args[0]) != 32)
		return fail(ps, "pool-key must be 32 hex digits");
	for (int i = 0; i < 16; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)args[0][2 * i]) || !isxdigit((unsigned char)args[0][2 * i + 1]) ||
		    sscanf(args[0] + 2 * i, "%2x", &v) != 1)
			return fail(ps, "pool-key must be 32 hex digits");
		ps->cfg->pool_key[i] = (uint8_t)v;
	}
	ps->cfg->pool_key_set = true;
	return 0;
}

static int apply_dnssec(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	if (strcmp(args[0], "require") == 0)
		ps->cfg->dnssec = DNSSEC_REQUIRE;
	else if (strcmp(args[0], "prefer") == 0)
		ps->cfg->dnssec = DNSSEC_PREFER;
	else if (strcmp(args[0], "off") == 0)
		ps->cfg->dnssec = DNSSEC_OFF;
	else
		return fail(ps, "dnssec must be require, prefer or off, not '%s'", args[0]);
	return 0;
}

static bool parse_policy(const char *word, enum mx_policy *out)
{
	if (strcmp(word, "onion-only") == 0)
		*out = MX_POLICY_ONION_ONLY;
	else if (strcmp(word, "onion-first") == 0)
		*out = MX_POLICY_ONION_FIRST;
	else
		return false;
	return true;
}

static bool parse_mode(const char *word, enum mx_mode *out)
{
	if (strcmp(word, "rewrite") == 0)
		*out = MX_MODE_REWRITE;
	else if (strcmp(word, "upgrade") == 0)
		*out = MX_MODE_UPGRADE;
	else
		return false;
	return true;
}

static int apply_mx_policy(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	if (!parse_policy(args[0], &ps->cfg->mx_policy))
		return fail(ps, "the MX policy must be onion-only or onion-first, not '%s'", args[0]);
	return 0;
}

static int apply_mx_mode(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	if (!parse_mode(args[0], &ps->cfg->mx_mode))
		return fail(ps, "mx-mode must be rewrite or upgrade, not '%s'", args[0]);
	return 0;
}

/* The words after a domain's name: an MX policy, an MX mode, or one of each in either order. */
static int parse_domain_words(struct parse_state *ps, char **words, int n, struct config_domain *out)
{
	for (int i = 0; i < n; i++) {
		enum mx_policy policy;
		enum mx_mode mode;
		if (parse_policy(words[i], &policy)) {
			if (out->has_policy)
				return fail(ps, "domain gives two MX policies");
			out->policy = policy;
			out->has_policy = true;
		} else if (parse_mode(words[i], &mode)) {
			if (out->has_mode)
				return fail(ps, "domain gives two MX modes");
			out->mode = mode;
			out->has_mode = true;
		} else {
			return fail(ps, "domain takes an MX policy (onion-only, onion-first) and/or an MX mode "
				    "(rewrite, upgrade), not '%s'", words[i]);
		}
	}
	return 0;
}

static int apply_domain(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	struct config *cfg = ps->cfg;
	struct config_domain entry = { .line = ps->line };
	if (parse_domain_words(ps, args + 1, nargs - 1, &entry) < 0)
		return -1;
	for (char *c = args[0]; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	size_t len = strlen(args[0]);
	if (len > 0 && args[0][len - 1] == '.')
		args[0][len - 1] = '\0';
	if (args[0][0] == '\0' || strchr(args[0], ' ') != NULL)
		return fail(ps, "'%s' is not a domain", args[0]);
	for (size_t i = 0; i < cfg->n_domains; i++)
		if (strcmp(cfg->domains[i].domain, args[0]) == 0)
			return fail(ps, "duplicate domain %s (first given at line %d)", args[0], cfg->domains[i].line);
	struct config_domain *grown = realloc(cfg->domains, (cfg->n_domains + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail(ps, "out of memory");
	cfg->domains = grown;
	if ((entry.domain = strdup(args[0])) == NULL)
		return fail(ps, "out of memory");
	grown[cfg->n_domains++] = entry;
	return 0;
}

static int apply_redirect_ports(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	struct config *cfg = ps->cfg;
	(void)d;
	cfg->redirect_ports = calloc((size_t)nargs, sizeof(uint16_t));
	if (cfg->redirect_ports == NULL)
		return fail(ps, "out of memory");
	for (int i = 0; i < nargs; i++) {
		unsigned long v;
		if (parse_uint(ps, "a port", args[i], 1, 65535, &v) < 0)
			return -1;
		cfg->redirect_ports[cfg->n_redirect_ports++] = (uint16_t)v;
	}
	return 0;
}

static int apply_user(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	size_t len = strlen(args[0]);
	bool ok = len > 0 && len <= 32 && (islower((unsigned char)args[0][0]) || args[0][0] == '_');
	for (size_t i = 1; ok && i < len; i++)
		ok = islower((unsigned char)args[0][i]) || isdigit((unsigned char)args[0][i]) || args[0][i] == '_' ||
		     args[0][i] == '-';
	if (!ok)
		return fail(ps, "'%s' is not a user name", args[0]);
	if ((ps->cfg->user = strdup(args[0])) == NULL)
		return fail(ps, "out of memory");
	ps->cfg->user_line = ps->line;
	return 0;
}

static int apply_lan_interface(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	struct config *cfg = ps->cfg;
	(void)nargs;
	if (strlen(args[0]) >= 16)
		return fail(ps, "'%s' is longer than an interface name can be", args[0]);
	if (cfg->n_lan_interfaces == CONFIG_MAX_LAN_INTERFACES)
		return fail(ps, "more than %d lan-interface lines", CONFIG_MAX_LAN_INTERFACES);
	char **grown = realloc(cfg->lan_interfaces, (cfg->n_lan_interfaces + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail(ps, "out of memory");
	cfg->lan_interfaces = grown;
	if ((grown[cfg->n_lan_interfaces] = strdup(args[0])) == NULL)
		return fail(ps, "out of memory");
	cfg->n_lan_interfaces++;
	return 0;
}

/* metrics-listen ADDRESS:PORT, an IPv6 address in brackets ([::1]:9469). */
static int apply_metrics_listen(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	char addr[64];
	const char *colon = strrchr(args[0], ':');
	const char *start = args[0], *end = colon;
	if (colon != NULL && args[0][0] == '[' && colon > args[0] && colon[-1] == ']') {
		start++;
		end--;
	}
	if (colon == NULL || end <= start || (size_t)(end - start) >= sizeof(addr) || (start == args[0] && strchr(start, ':') != colon))
		return fail(ps, "metrics-listen needs ADDRESS:PORT ([ADDRESS]:PORT for IPv6), not '%s'", args[0]);
	memcpy(addr, start, (size_t)(end - start));
	addr[end - start] = '\0';
	char *words[2] = { addr, (char *)colon + 1 };
	return parse_sockaddr(ps, words, 2, &ps->cfg->metrics_listen);
}

static int apply_metrics_allow(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	struct config *cfg = ps->cfg;
	struct config_net net;
	if (parse_net(ps, args[0], &net) < 0)
		return -1;
	struct config_net *grown = realloc(cfg->metrics_allow, (cfg->n_metrics_allow + 1) * sizeof(*grown));
	if (grown == NULL)
		return fail(ps, "out of memory");
	cfg->metrics_allow = grown;
	cfg->metrics_allow[cfg->n_metrics_allow++] = net;
	return 0;
}

/* onion-mx ADDRESS[:PORT] [domain ...]: "192.0.2.10", "192.0.2.10:2525", "fd00::25", "[fd00::25]:2525". */
static int parse_host_port(struct parse_state *ps, const char *word, struct config_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *colon = strrchr(word, ':');
	size_t len = strlen(word);
	if (word[0] == '[' && (colon == NULL || colon[-1] != ']'))
		return fail(ps, "'%s' is not ADDRESS[:PORT] ([IPv6]:PORT for IPv6 with a port)", word);
	if (word[0] == '[') {
		len = (size_t)(colon - word) - 2;
		word++;
		port = colon + 1;
	} else if (colon != NULL && strchr(word, ':') == colon) {
		len = (size_t)(colon - word);
		port = colon + 1;
	}
	if (len >= sizeof(host))
		return fail(ps, "'%s' is not an IPv4 or IPv6 address", word);
	memcpy(host, word, len);
	host[len] = '\0';
	char *args[2] = { host, (char *)(port != NULL ? port : "25") };
	return parse_sockaddr(ps, args, 2, out);
}

static int apply_onion_mx(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	struct config *cfg = ps->cfg;
	(void)d;
	if (parse_host_port(ps, args[0], &cfg->onion_mx) < 0)
		return -1;
	if ((cfg->onion_mx_domains = calloc((size_t)nargs, sizeof(char *))) == NULL)
		return fail(ps, "out of memory");
	for (int i = 1; i < nargs; i++) {
		char *name = args[i];
		size_t len = strlen(name);
		for (char *c = name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (len > 0 && name[len - 1] == '.')
			name[--len] = '\0';
		if (len == 0 || len > 253 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-.") != len ||
		    name[0] == '.' || strstr(name, "..") != NULL)
			return fail(ps, "onion-mx: '%s' is not a domain", args[i]);
		if ((cfg->onion_mx_domains[cfg->n_onion_mx_domains++] = strdup(name)) == NULL)
			return fail(ps, "out of memory");
	}
	return 0;
}

static int apply_onion_mx_source(struct parse_state *ps, const struct directive *d, char **args, int nargs)
{
	(void)d;
	(void)nargs;
	struct config_sockaddr *src = &ps->cfg->onion_mx_source;
	if (parse_sockaddr(ps, args, 1, src) < 0)
		return -1;
	/* Any port: the address alone is what the MTA sees. */
	if (src->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&src->ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&src->ss)->sin6_port = 0;
	return 0;
}

static differs_fn bytes_differ, string_differs, net_differs, key_differs, ports_differ, tor_options_differ,
	listen_differs, interfaces_differ, metrics_listen_differs, bridges_differ, transports_differ, onion_mx_differs;

#define SIZE(field) sizeof(((struct config *)0)->field)
#define ONCE(kw, fn, field, differs) { kw, 1, 1, fn, true, offsetof(struct config, field), SIZE(field), 0, 0, differs }
#define PATH(kw, field, differs) ONCE(kw, apply_path, field, differs)
#define BOOL(kw, field, differs) ONCE(kw, apply_bool, field, differs)
#define NUM(kw, fn, field, lo, hi, differs) \
	{ kw, 1, 1, fn, true, offsetof(struct config, field), SIZE(field), lo, hi, differs }
#define MANY(kw, lo, hi, fn, differs) { kw, lo, hi, fn, false, 0, 0, 0, 0, differs }
#define RELOADS NULL

/* What is bound, started or installed once is restart-only; the rest the running modules read
 * from the current config (docs/oniongate.conf.5 says which is which). */
static const struct directive directives[] = {
	PATH("run-dir", run_dir, string_differs),
	PATH("data-dir", data_dir, string_differs),
	ONCE("log-level", apply_log_level, log_level, RELOADS),
	ONCE("log-target", apply_log_target, log_target, bytes_differ),
	MANY("tor-option", 2, CONFIG_MAX_TOKENS - 1, apply_tor_option, tor_options_differ),
	MANY("bridge", 1, CONFIG_MAX_TOKENS - 1, apply_bridge, bridges_differ),
	MANY("transport-plugin", 2, CONFIG_MAX_TOKENS - 1, apply_transport_plugin, transports_differ),
	PATH("socks-server", socks_server, string_differs),
	ONCE("user", apply_user, user, string_differs),
	PATH("control-socket", control_socket, string_differs),
	MANY("dns-listen", 1, 2, apply_dns_listen, listen_differs),
	MANY("dns-upstream", 1, 2, apply_dns_upstream, RELOADS),
	PATH("dns-upstream-file", dns_upstream_file, RELOADS),
	MANY("client-network", 1, 1, apply_client_network, RELOADS),
	ONCE("pool-ipv4", apply_pool_ipv4, pool_v4, net_differs),
	ONCE("pool-ipv6", apply_pool_ipv6, pool_v6, net_differs),
	ONCE("pool-key", apply_pool_key, pool_key, key_differs),
	NUM("pool-max", apply_size, pool_max, 1, 1UL << 22, bytes_differ),
	MANY("pool-peer", 1, 1, apply_pool_peer, RELOADS),
	NUM("onion-ttl", apply_unsigned, onion_ttl, 0, 86400, RELOADS),
	NUM("dns-cache-size", apply_size, dns_cache_size, 0, 1UL << 30, RELOADS),
	PATH("onion-map", onion_map, RELOADS),
	BOOL("srv-discovery", srv_discovery, RELOADS),
	ONCE("dnssec", apply_dnssec, dnssec, RELOADS),
	PATH("trust-anchor", trust_anchor, RELOADS),
	ONCE("mx-policy", apply_mx_policy, mx_policy, RELOADS),
	ONCE("mx-mode", apply_mx_mode, mx_mode, RELOADS),
	MANY("domain", 2, 3, apply_domain, RELOADS),
	NUM("upgrade-max", apply_size, upgrade_max, 16, 1UL << 20, bytes_differ),
	NUM("transparent-port", apply_u16, transparent_port, 1, 65535, bytes_differ),
	NUM("proxy-max-streams", apply_size, proxy_max_streams, 1, 100000, RELOADS),
	NUM("proxy-idle-timeout", apply_unsigned, proxy_idle_timeout, 1, 86400, RELOADS),
	NUM("proxy-connect-timeout", apply_unsigned, proxy_connect_timeout, 1, 3600, RELOADS),
	NUM("stall-timeout", apply_unsigned, stall_timeout, 10, 86400, RELOADS),
	BOOL("warm-up", warm_up, RELOADS),
	NUM("warm-up-hold", apply_unsigned, warm_up_hold, 1, 600, RELOADS),
	NUM("warm-up-keep", apply_unsigned, warm_up_keep, 0, 86400, RELOADS),
	BOOL("nft", nft, bytes_differ),
	BOOL("nft-dns-redirect", nft_dns_redirect, bytes_differ),
	{ "redirect-ports", 1, CONFIG_MAX_TOKENS - 1, apply_redirect_ports, true, 0, 0, 0, 0, ports_differ },
	MANY("lan-interface", 1, 1, apply_lan_interface, interfaces_differ),
	ONCE("metrics-listen", apply_metrics_listen, metrics_listen, metrics_listen_differs),
	MANY("metrics-allow", 1, 1, apply_metrics_allow, RELOADS),
	{ "onion-mx", 1, CONFIG_MAX_TOKENS - 1, apply_onion_mx, true, 0, 0, 0, 0, onion_mx_differs },
	{ "onion-mx-source", 1, 1, apply_onion_mx_source, true, 0, 0, 0, 0, onion_mx_differs },
};

#define N_DIRECTIVES (sizeof(directives) / sizeof(directives[0]))
_Static_assert(N_DIRECTIVES <= CONFIG_MAX_DIRECTIVES, "raise CONFIG_MAX_DIRECTIVES");

int config_line(const struct config *cfg, const char *keyword)
{
	for (size_t i = 0; i < N_DIRECTIVES; i++)
		if (strcmp(directives[i].keyword, keyword) == 0)
			return cfg->lines[i];
	return 0;
}

/* Where a and b differ on d as a whole: its first line in b, or where a had it. */
static int where(const struct config *a, const struct config *b, const struct directive *d)
{
	size_t i = (size_t)(d - directives);
	if (b->lines[i] != 0)
		return b->lines[i];
	return a->lines[i] != 0 ? -a->lines[i] : 1;
}

static const void *field_of(const struct config *cfg, const struct directive *d)
{
	return (const char *)cfg + d->offset;
}

static int bytes_differ(const struct config *a, const struct config *b, const struct directive *d)
{
	return memcmp(field_of(a, d), field_of(b, d), d->size) == 0 ? 0 : where(a, b, d);
}

static int string_differs(const struct config *a, const struct config *b, const struct directive *d)
{
	const char *x = *(char *const *)field_of(a, d), *y = *(char *const *)field_of(b, d);
	bool same = x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
	return same ? 0 : where(a, b, d);
}

static int net_differs(const struct config *a, const struct config *b, const struct directive *d)
{
	const struct config_net *x = field_of(a, d), *y = field_of(b, d);
	bool same = x->family == y->family && x->prefix == y->prefix && memcmp(x->addr, y->addr, sizeof(x->addr)) == 0;
	return same ? 0 : where(a, b, d);
}

static int key_differs(const struct config *a, const struct config *b, const struct directive *d)
{
	bool same = a->pool_key_set == b->pool_key_set && memcmp(a->pool_key, b->pool_key, sizeof(a->pool_key)) == 0;
	return same ? 0 : where(a, b, d);
}

static int ports_differ(const struct config *a, const struct config *b, const struct directive *d)
{
	bool same = a->n_redirect_ports == b->n_redirect_ports &&
		    (a->n_redirect_ports == 0 ||
		     memcmp(a->redirect_ports, b->redirect_ports, a->n_redirect_ports * sizeof(uint16_t)) == 0);
	return same ? 0 : where(a, b, d);
}

static int interfaces_differ(const struct config *a, const struct config *b, const struct directive *d)
{
	bool same = a->n_lan_interfaces == b->n_lan_interfaces;
	for (size_t i = 0; same && i < a->n_lan_interfaces; i++)
		same = strcmp(a->lan_interfaces[i], b->lan_interfaces[i]) == 0;
	return same ? 0 : where(a, b, d);
}

/* Lists whose entries keep their lines: the first entry that differs names the line. */
static int tor_options_differ(const struct config *a, const struct config *b, const struct directive *d)
{
	(void)d;
	for (size_t i = 0; i < a->n_tor_options || i < b->n_tor_options; i++) {
		if (i >= b->n_tor_options)
			return -a->tor_options[i].line;
		if (i >= a->n_tor_options || strcmp(a->tor_options[i].name, b->tor_options[i].name) != 0 ||
		    strcmp(a->tor_options[i].value, b->tor_options[i].value) != 0)
			return b->tor_options[i].line;
	}
	return 0;
}

static int bridges_differ(const struct config *a, const struct config *b, const struct directive *d)
{
	(void)d;
	for (size_t i = 0; i < a->n_bridges || i < b->n_bridges; i++) {
		if (i >= b->n_bridges)
			return -a->bridges[i].line_no;
		if (i >= a->n_bridges || strcmp(a->bridges[i].line, b->bridges[i].line) != 0)
			return b->bridges[i].line_no;
	}
	return 0;
}

static int transports_differ(const struct config *a, const struct config *b, const struct directive *d)
{
	(void)d;
	for (size_t i = 0; i < a->n_transports || i < b->n_transports; i++) {
		if (i >= b->n_transports)
			return -a->transports[i].line;
		if (i >= a->n_transports || strcmp(a->transports[i].names, b->transports[i].names) != 0 ||
		    strcmp(a->transports[i].command, b->transports[i].command) != 0)
			return b->transports[i].line;
	}
	return 0;
}

static int listen_differs(const struct config *a, const struct config *b, const struct directive *d)
{
	(void)d;
	for (size_t i = 0; i < a->n_dns_listen || i < b->n_dns_listen; i++) {
		if (i >= b->n_dns_listen)
			return -a->dns_listen[i].line;
		if (i >= a->n_dns_listen || a->dns_listen[i].len != b->dns_listen[i].len ||
		    memcmp(&a->dns_listen[i].ss, &b->dns_listen[i].ss, a->dns_listen[i].len) != 0)
			return b->dns_listen[i].line;
	}
	return 0;
}

static int metrics_listen_differs(const struct config *a, const struct config *b, const struct directive *d)
{
	const struct config_sockaddr *x = &a->metrics_listen, *y = &b->metrics_listen;
	bool same = x->len == y->len && memcmp(&x->ss, &y->ss, x->len) == 0;
	return same ? 0 : where(a, b, d);
}

/* The onion service is Tor's from its start: its target, source and domains change on restart. */
static int onion_mx_differs(const struct config *a, const struct config *b, const struct directive *d)
{
	bool same = a->onion_mx.len == b->onion_mx.len && memcmp(&a->onion_mx.ss, &b->onion_mx.ss, a->onion_mx.len) == 0 &&
		    a->onion_mx_source.len == b->onion_mx_source.len &&
		    memcmp(&a->onion_mx_source.ss, &b->onion_mx_source.ss, a->onion_mx_source.len) == 0 &&
		    a->n_onion_mx_domains == b->n_onion_mx_domains;
	for (size_t i = 0; same && i < a->n_onion_mx_domains; i++)
		same = strcmp(a->onion_mx_domains[i], b->onion_mx_domains[i]) == 0;
	return same ? 0 : where(a, b, d);
}

int config_reload_check(const struct config *running, const struct config *fresh, char err[CONFIG_ERR_MAX])
{
	err[0] = '\0';
	for (size_t i = 0; i < N_DIRECTIVES; i++) {
		const struct directive *d = &directives[i];
		int at = d->differs != NULL ? d->differs(running, fresh, d) : 0;
		if (at > 0)
			snprintf(err, CONFIG_ERR_MAX, "%s:%d: %s changes only on restart", fresh->path, at, d->keyword);
		else if (at < 0)
			snprintf(err, CONFIG_ERR_MAX,
				 "%s:%d: %s changes only on restart (removed from this line of the running configuration)",
				 fresh->path, -at, d->keyword);
		if (at != 0)
			return -1;
	}
	return 0;
}

/* Splits one line into words in place: blanks separate, "..." quotes (with \" and \\),
 * and # starts a comment where a word could start. Returns the word count or -1. */
static int split_words(struct parse_state *ps, char *line, char **words)
{
	int n = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#')
			return n;
		if (n == CONFIG_MAX_TOKENS)
			return fail(ps, "more than %d words on one line", CONFIG_MAX_TOKENS);
		if (*p == '"') {
			char *out = ++p;
			words[n++] = out;
			for (;;) {
				if (*p == '\0')
					return fail(ps, "unterminated quoted string");
				if (*p == '"')
					break;
				if (*p == '\\') {
					if (p[1] != '"' && p[1] != '\\')
						return fail(ps, "bad escape in quoted string (only \\\" and \\\\)");
					p++;
				}
				*out++ = *p++;
			}
			p++;
			if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
				return fail(ps, "a quoted string must be followed by a blank");
			*out = '\0';
		} else {
			words[n++] = p;
			while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r') {
				if (*p == '"')
					return fail(ps, "a quote inside a word");
				p++;
			}
		}
		if (*p != '\0')
			*p++ = '\0';
	}
}

static int parse_line(struct parse_state *ps, char *line)
{
	char *words[CONFIG_MAX_TOKENS];
	int n = split_words(ps, line, words);
	if (n <= 0)
		return n;
	for (size_t i = 0; i < N_DIRECTIVES; i++) {
		const struct directive *d = &directives[i];
		if (strcmp(words[0], d->keyword) != 0)
			continue;
		int nargs = n - 1;
		if (nargs < d->min_args || nargs > d->max_args) {
			if (d->min_args == d->max_args)
				return fail(ps, "%s takes %d argument%s, not %d", d->keyword, d->min_args,
					    d->min_args == 1 ? "" : "s", nargs);
			if (nargs > d->max_args)
				return fail(ps, "%s takes at most %d arguments, not %d", d->keyword, d->max_args, nargs);
			return fail(ps, "%s takes at least %d arguments, not %d", d->keyword, d->min_args, nargs);
		}
		if (d->once && ps->cfg->lines[i] != 0)
			return fail(ps, "duplicate %s (first given at line %d)", d->keyword, ps->cfg->lines[i]);
		if (ps->cfg->lines[i] == 0)
			ps->cfg->lines[i] = ps->line;
		return d->apply(ps, d, words + 1, nargs);
	}
	return fail(ps, "unknown directive '%s'", words[0]);
}

/* The first line that asks for mx-mode upgrade: the global mx-mode, else a domain line. */
static int upgrade_line(const struct config *cfg)
{
	if (cfg->mx_mode == MX_MODE_UPGRADE)
		return config_line(cfg, "mx-mode");
	for (size_t i = 0; i < cfg->n_domains; i++)
		if (cfg->domains[i].has_mode && cfg->domains[i].mode == MX_MODE_UPGRADE)
			return cfg->domains[i].line;
	return 0;
}

/* bridge and transport-plugin: every transport a bridge names has its plugin, every plugin a
 * bridge, an embedded Tor to run them, and no tor-option line that sets what they set. */
static int check_bridges(struct parse_state *ps)
{
	struct config *cfg = ps->cfg;
	for (size_t i = 0; i < cfg->n_bridges; i++) {
		ps->line = cfg->bridges[i].line_no;
		if (cfg->bridges[i].transport[0] != '\0' && config_transport_for(cfg, cfg->bridges[i].transport) == NULL)
			return fail(ps, "bridge: no transport-plugin line provides %s", cfg->bridges[i].transport);
	}
	if (cfg->n_transports > 0 && cfg->n_bridges == 0) {
		ps->line = cfg->transports[0].line;
		return fail(ps, "transport-plugin has no effect without a bridge line");
	}
	if (cfg->n_bridges > 0 && cfg->socks_server != NULL) {
		ps->line = cfg->bridges[0].line_no;
		return fail(ps, "bridge has no effect with socks-server (line %d): no embedded Tor is started",
			    config_line(cfg, "socks-server"));
	}
	for (size_t i = 0; cfg->n_bridges > 0 && i < cfg->n_tor_options; i++)
		for (size_t j = 0; j < sizeof(bridge_tor_options) / sizeof(bridge_tor_options[0]); j++)
			if (strcasecmp(cfg->tor_options[i].name, bridge_tor_options[j]) == 0) {
				ps->line = cfg->tor_options[i].line;
				return fail(ps, "tor-option %s is set by the bridge lines (line %d) and cannot be given with them",
					    cfg->tor_options[i].name, cfg->bridges[0].line_no);
			}
	return 0;
}

/* onion-mx and onion-mx-source come together, in one address family, with the embedded Tor. */
static int check_onion_mx(struct parse_state *ps)
{
	struct config *cfg = ps->cfg;
	int mx = config_line(cfg, "onion-mx"), src = config_line(cfg, "onion-mx-source");
	if (mx == 0 && src == 0)
		return 0;
	ps->line = mx != 0 ? mx : src;
	if (src == 0)
		return fail(ps, "onion-mx needs an onion-mx-source: the gateway's LAN address the mail server sees "
			    "(one outside its trusted networks)");
	if (mx == 0)
		return fail(ps, "onion-mx-source has no effect without onion-mx");
	if (cfg->socks_server != NULL)
		return fail(ps, "onion-mx needs the embedded Tor: socks-server (line %d) starts none",
			    config_line(cfg, "socks-server"));
	if (cfg->onion_mx.ss.ss_family != cfg->onion_mx_source.ss.ss_family) {
		ps->line = src;
		return fail(ps, "onion-mx-source must be of onion-mx's address family (line %d)", mx);
	}
	return 0;
}

/* Rules between directives, reported at the line that breaks them. */
static int check_whole(struct parse_state *ps)
{
	struct config *cfg = ps->cfg;
	if (check_bridges(ps) < 0)
		return -1;
	if (cfg->n_dns_upstream > 0 && cfg->dns_upstream_file != NULL) {
		ps->line = config_line(cfg, "dns-upstream-file");
		return fail(ps, "dns-upstream-file and dns-upstream (line %d) exclude each other",
			    config_line(cfg, "dns-upstream"));
	}
	if (cfg->n_dns_listen > 0) {
		ps->line = cfg->dns_listen[0].line;
		if (cfg->n_dns_upstream == 0 && cfg->dns_upstream_file == NULL)
			return fail(ps, "dns-listen needs a dns-upstream or dns-upstream-file to pass other queries to");
		if (cfg->n_client_nets == 0)
			return fail(ps, "dns-listen needs at least one client-network");
	} else if (cfg->n_client_nets > 0 || cfg->n_dns_upstream > 0 || cfg->dns_upstream_file != NULL) {
		const char *what = cfg->n_client_nets > 0 ? "client-network"
				   : cfg->n_dns_upstream > 0 ? "dns-upstream" : "dns-upstream-file";
		ps->line = config_line(cfg, what);
		return fail(ps, "%s has no effect without dns-listen", what);
	}
	if (cfg->n_metrics_allow > 0 && cfg->metrics_listen.len == 0) {
		ps->line = config_line(cfg, "metrics-allow");
		return fail(ps, "metrics-allow has no effect without metrics-listen");
	}
	if (cfg->nft_dns_redirect && cfg->n_dns_listen == 0) {
		ps->line = config_line(cfg, "nft-dns-redirect");
		return fail(ps, "nft-dns-redirect needs a dns-listen to redirect to");
	}
	if (cfg->socks_server != NULL && strlen(cfg->socks_server) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		ps->line = config_line(cfg, "socks-server");
		return fail(ps, "socks-server path is longer than a unix socket path may be");
	}
	if (cfg->control_socket != NULL && strlen(cfg->control_socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		ps->line = config_line(cfg, "control-socket");
		return fail(ps, "control-socket path is longer than a unix socket path may be");
	}
	if (cfg->socks_server != NULL && cfg->n_tor_options > 0) {
		ps->line = cfg->tor_options[0].line;
		return fail(ps, "tor-option has no effect with socks-server (line %d): no embedded Tor is started",
			    config_line(cfg, "socks-server"));
	}
	if (cfg->user != NULL && cfg->transparent_port != 0 && cfg->transparent_port < 1024) {
		ps->line = config_line(cfg, "transparent-port");
		return fail(ps, "transparent-port %u is bound after dropping to user %s (line %d): use a port above 1023",
			    cfg->transparent_port, cfg->user, cfg->user_line);
	}
	if (config_upgrade_used(cfg) && (cfg->transparent_port == 0 || !cfg->nft || cfg->n_dns_listen == 0)) {
		ps->line = upgrade_line(cfg);
		return fail(ps, "mx-mode upgrade needs %s: %s", cfg->n_dns_listen == 0 ? "dns-listen" : "transparent-port and nft on",
			    cfg->n_dns_listen == 0 ? "the real MX hosts are learned from the LAN's MX queries"
						   : "connections to the real MX hosts are redirected to the relay");
	}
	if (check_onion_mx(ps) < 0)
		return -1;
	/* Each pool must have more addresses than names (pool.c places a name in a free one). */
	uint64_t v4_hosts = (1ULL << (32 - cfg->pool_v4.prefix)) - 2;
	if (cfg->pool_max >= v4_hosts) {
		ps->line = config_line(cfg, "pool-max") ? config_line(cfg, "pool-max") : config_line(cfg, "pool-ipv4");
		return fail(ps, "pool-max %zu must be smaller than the %llu addresses of pool-ipv4", cfg->pool_max,
			    (unsigned long long)v4_hosts);
	}
	int v6_host_bits = 128 - cfg->pool_v6.prefix;
	uint64_t v6_hosts = v6_host_bits < 64 ? (1ULL << v6_host_bits) - 1 : UINT64_MAX;
	if (cfg->pool_max >= v6_hosts) {
		ps->line = config_line(cfg, "pool-max") ? config_line(cfg, "pool-max") : config_line(cfg, "pool-ipv6");
		return fail(ps, "pool-max %zu must be smaller than the %llu addresses of pool-ipv6", cfg->pool_max,
			    (unsigned long long)v6_hosts);
	}
	return 0;
}

static struct config *config_defaults(const char *name)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return NULL;
	cfg->path = strdup(name);
	cfg->run_dir = strdup("/run/oniongate");
	cfg->data_dir = strdup("/var/lib/oniongate");
	cfg->log_level = LOG_LEVEL_NOTICE;
	cfg->log_target = LOG_TARGET_SYSLOG;
	cfg->pool_v4 = (struct config_net){ .family = AF_INET, .addr = { 10, 192 }, .prefix = 10 };
	cfg->pool_v6 = (struct config_net){ .family = AF_INET6, .addr = { 0xfd, 0x6f, 0x6e, 0x69, 0x6f, 0x6e }, .prefix = 64 };
	cfg->pool_max = 65536;
	cfg->onion_ttl = 60;
	cfg->dns_cache_size = 1UL << 20;
	cfg->srv_discovery = true;
	cfg->dnssec = DNSSEC_PREFER;
	cfg->trust_anchor = strdup("/usr/share/dns/root.key");
	cfg->mx_policy = MX_POLICY_ONION_ONLY;
	cfg->mx_mode = MX_MODE_REWRITE;
	cfg->upgrade_max = 4096;
	cfg->proxy_max_streams = 256;
	cfg->proxy_idle_timeout = 600;
	cfg->proxy_connect_timeout = 120;
	cfg->stall_timeout = 600;
	cfg->nft = true;
	cfg->warm_up = true;
	cfg->warm_up_hold = 30;
	cfg->warm_up_keep = 3600;
	if (cfg->path == NULL || cfg->run_dir == NULL || cfg->data_dir == NULL || cfg->trust_anchor == NULL) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static int parse_one(char *line, int lineno, void *arg)
{
	struct parse_state *ps = arg;
	ps->line = lineno;
	if (line == NULL)
		return fail(ps, "NUL byte in line");
	return parse_line(ps, line);
}

struct config *config_parse(const char *name, const char *text, size_t len, char err[CONFIG_ERR_MAX])
{
	struct parse_state ps = { .name = name, .line = 0, .err = err };
	err[0] = '\0';
	ps.cfg = config_defaults(name);
	if (ps.cfg == NULL) {
		snprintf(err, CONFIG_ERR_MAX, "%s: out of memory", name);
		return NULL;
	}
	if (textfile_lines(text, len, parse_one, &ps) != 0 || check_whole(&ps) < 0) {
		if (err[0] == '\0')
			snprintf(err, CONFIG_ERR_MAX, "%s: out of memory", name);
		config_free(ps.cfg);
		return NULL;
	}
	return ps.cfg;
}

struct config *config_load(const char *path, char err[CONFIG_ERR_MAX])
{
	size_t len;
	char *text = textfile_read(path, CONFIG_MAX_BYTES, &len, err, CONFIG_ERR_MAX);
	if (text == NULL)
		return NULL;
	struct config *cfg = config_parse(path, text, len, err);
	free(text);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_tor_options; i++) {
		free(cfg->tor_options[i].name);
		free(cfg->tor_options[i].value);
	}
	free(cfg->tor_options);
	for (size_t i = 0; i < cfg->n_bridges; i++)
		free(cfg->bridges[i].line);
	free(cfg->bridges);
	for (size_t i = 0; i < cfg->n_transports; i++) {
		free(cfg->transports[i].names);
		free(cfg->transports[i].command);
	}
	free(cfg->transports);
	for (size_t i = 0; i < cfg->n_domains; i++)
		free(cfg->domains[i].domain);
	free(cfg->domains);
	for (size_t i = 0; i < cfg->n_lan_interfaces; i++)
		free(cfg->lan_interfaces[i]);
	free(cfg->lan_interfaces);
	for (size_t i = 0; i < cfg->n_onion_mx_domains; i++)
		free(cfg->onion_mx_domains[i]);
	free(cfg->onion_mx_domains);
	free(cfg->redirect_ports);
	free(cfg->dns_listen);
	free(cfg->dns_upstream);
	free(cfg->pool_peers);
	free(cfg->dns_upstream_file);
	free(cfg->client_nets);
	free(cfg->metrics_allow);
	free(cfg->onion_map);
	free(cfg->socks_server);
	free(cfg->user);
	free(cfg->control_socket);
	free(cfg->trust_anchor);
	free(cfg->path);
	free(cfg->run_dir);
	free(cfg->data_dir);
	free(cfg);
}

static const struct config_domain *find_domain(const struct config *cfg, const char *domain)
{
	for (size_t i = 0; i < cfg->n_domains; i++)
		if (strcmp(cfg->domains[i].domain, domain) == 0)
			return &cfg->domains[i];
	return NULL;
}

enum mx_policy config_mx_policy(const struct config *cfg, const char *domain)
{
	const struct config_domain *d = find_domain(cfg, domain);
	return d != NULL && d->has_policy ? d->policy : cfg->mx_policy;
}

enum mx_mode config_mx_mode(const struct config *cfg, const char *domain)
{
	const struct config_domain *d = find_domain(cfg, domain);
	return d != NULL && d->has_mode ? d->mode : cfg->mx_mode;
}

bool config_upgrade_used(const struct config *cfg)
{
	return upgrade_line(cfg) != 0;
}

const struct config_transport *config_transport_for(const struct config *cfg, const char *transport)
{
	size_t len = strlen(transport);
	for (size_t i = 0; i < cfg->n_transports; i++)
		for (const char *p = cfg->transports[i].names; *p != '\0'; p += *p == ',') {
			size_t n = strcspn(p, ",");
			if (n == len && memcmp(p, transport, len) == 0)
				return &cfg->transports[i];
			p += n;
		}
	return NULL;
}

static bool nets_contain(const struct config_net *nets, size_t n, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++) {
		const struct config_net *net = &nets[i];
		if (net->family != family)
			continue;
		int full = net->prefix / 8, rest = net->prefix % 8;
		if (memcmp(addr, net->addr, (size_t)full) != 0)
			continue;
		if (rest == 0 || ((addr[full] ^ net->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0)
			return true;
	}
	return false;
}

bool config_client_allowed(const struct config *cfg, int family, const uint8_t *addr)
{
	return nets_contain(cfg->client_nets, cfg->n_client_nets, family, addr);
}

bool config_metrics_allowed(const struct config *cfg, int family, const uint8_t *addr)
{
	static const struct config_net loopback[] = {
		{ .family = AF_INET, .addr = { 127 }, .prefix = 8 },
		{ .family = AF_INET6, .addr = { [15] = 1 }, .prefix = 128 },
	};
	if (cfg->n_metrics_allow == 0)
		return nets_contain(loopback, 2, family, addr);
	return nets_contain(cfg->metrics_allow, cfg->n_metrics_allow, family, addr);
}
