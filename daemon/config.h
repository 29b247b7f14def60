/* SPDX-License-Identifier: ISC */
/* config: the oniongate.conf(5) grammar, its defaults, and "file:line: what is wrong"
 * errors; a parsed config is immutable and replaced whole on reload. */
#ifndef OG_CONFIG_H
#define OG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bridgeline.h"
#include "log.h"

#ifndef CONFIG_DEFAULT_PATH /* the Makefile sets it from SYSCONFDIR */
#define CONFIG_DEFAULT_PATH "/etc/oniongate/oniongate.conf"
#endif
#define CONFIG_ERR_MAX 512
#define CONFIG_MAX_DIRECTIVES 64
/* lan-interface lines: with 63 redirect-ports the nft table holds at most 2084 rules. */
#define CONFIG_MAX_LAN_INTERFACES 16
/* dns-upstream lines, and the servers taken from a dns-upstream-file. */
#define CONFIG_MAX_DNS_UPSTREAM 16

/* pool-peer lines: the other gateways of a pair told of each new pool mapping. */
#define CONFIG_MAX_POOL_PEERS 4

/* bridge lines; transport-plugin lines (each names one or more transports). */
#define CONFIG_MAX_BRIDGES 64
#define CONFIG_MAX_TRANSPORT_PLUGINS 8

/* A bridge line as Tor takes it (words joined by one blank) and the transport it names ("": none). */
struct config_bridge {
	char *line;
	char transport[BRIDGELINE_TRANSPORT_MAX + 1];
	int line_no;
};

/* A managed client transport: Tor runs "command" for the transports in names ("obfs4,meek_lite"). */
struct config_transport {
	char *names;
	char *command; /* the absolute path of an executable file, then its arguments */
	int line;
};

struct tor_option {
	char *name;
	char *value;
	int line;
};

enum mx_policy { MX_POLICY_ONION_ONLY, MX_POLICY_ONION_FIRST };
/* rewrite: the DNS answers MX queries with onion MX hosts at pool addresses; upgrade: MX answers
 * pass untouched and connections to the domain's real MX addresses are sent to its onion MX. */
enum mx_mode { MX_MODE_REWRITE, MX_MODE_UPGRADE };
enum dnssec_mode { DNSSEC_OFF, DNSSEC_PREFER, DNSSEC_REQUIRE };

struct config_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
	int line;
};

struct config_net {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
	int line;
};

/* A domain line: each of policy and mode is its own when given, else the global one. */
struct config_domain {
	char *domain;
	enum mx_policy policy;
	enum mx_mode mode;
	bool has_policy, has_mode;
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
	struct config_bridge *bridges; /* any: the embedded Tor reaches the network only through them */
	size_t n_bridges;
	struct config_transport *transports;
	size_t n_transports;
	char *socks_server;            /* NULL: the embedded Tor; else an external SOCKS5 unix socket */
	char *user;                    /* NULL: keep running as started; else drop to this user */
	int user_line;
	char *control_socket;          /* oniongatectl's socket; NULL: run-dir/control */

	struct config_sockaddr *dns_listen;
	size_t n_dns_listen;
	struct config_sockaddr *dns_upstream;
	size_t n_dns_upstream;
	char *dns_upstream_file;       /* NULL: dns-upstream; else the servers are this file's (resolvconf) */
	struct config_net *client_nets;
	size_t n_client_nets;
	struct config_net pool_v4, pool_v6;
	bool pool_key_set;
	uint8_t pool_key[16];
	size_t pool_max;
	struct config_sockaddr *pool_peers; /* port 53 unless given */
	size_t n_pool_peers;
	uint32_t onion_ttl;
	size_t dns_cache_size; /* bytes; 0: no pass-through cache */
	char *onion_map;
	bool srv_discovery;
	enum dnssec_mode dnssec;
	char *trust_anchor;
	enum mx_policy mx_policy;
	enum mx_mode mx_mode;
	struct config_domain *domains;
	size_t n_domains;
	size_t upgrade_max;            /* claims (domain, real MX address) mx-mode upgrade may hold */

	uint16_t transparent_port;     /* 0: no transparent proxy */
	size_t proxy_max_streams;
	unsigned proxy_idle_timeout;
	unsigned proxy_connect_timeout;
	unsigned stall_timeout;        /* streams failing this long with Tor ready: NEWNYM, then exit (stall.h) */
	bool warm_up;
	unsigned warm_up_hold;
	unsigned warm_up_keep;         /* seconds after an onion's last mail its circuit is kept; 0: never */
	bool nft;                      /* install the inet oniongate table */
	uint16_t *redirect_ports;      /* none: every TCP port */
	size_t n_redirect_ports;
	bool nft_dns_redirect;
	char **lan_interfaces;
	size_t n_lan_interfaces;
	struct config_sockaddr metrics_listen; /* len 0: no metrics listener */
	struct config_net *metrics_allow;      /* none: loopback only */
	size_t n_metrics_allow;

	/* onion-mx: the LAN mail server the embedded Tor publishes on an onion service's port 25
	 * (onion_mx.len 0: none), the domains it receives for, and the gateway's LAN address the
	 * relayed connections come from (onion-mx-source, never one of the MTA's trusted networks). */
	struct config_sockaddr onion_mx;
	char **onion_mx_domains;
	size_t n_onion_mx_domains;
	struct config_sockaddr onion_mx_source;

	int lines[CONFIG_MAX_DIRECTIVES]; /* where each directive was first given (read with config_line) */
};

/* The MX policy for domain: its own domain line, else the global mx-policy. */
enum mx_policy config_mx_policy(const struct config *cfg, const char *domain);
/* The MX mode for domain: its own domain line, else the global mx-mode. */
enum mx_mode config_mx_mode(const struct config *cfg, const char *domain);
/* True when the global mx-mode or a domain line asks for upgrade. */
bool config_upgrade_used(const struct config *cfg);
/* The transport-plugin line that provides transport, or NULL. */
const struct config_transport *config_transport_for(const struct config *cfg, const char *transport);
/* True when addr (4 or 16 bytes of family) lies in one of the client networks. */
bool config_client_allowed(const struct config *cfg, int family, const uint8_t *addr);
/* True when addr may read the metrics: in a metrics-allow network, or loopback when there is none. */
bool config_metrics_allowed(const struct config *cfg, int family, const uint8_t *addr);

/* The line a directive was first given on, 0 when the config does not have it. */
int config_line(const struct config *cfg, const char *keyword);
/* Whether fresh may replace running on SIGHUP: 0, or -1 with "file:line: <directive> changes
 * only on restart" in err for the first restart-only directive whose value differs (the line of
 * fresh that sets it; if fresh has dropped it, the line the running config had it on). */
int config_reload_check(const struct config *running, const struct config *fresh, char err[CONFIG_ERR_MAX]);

/* Both return NULL and fill err ("file:line: message") when the text is not valid. */
struct config *config_load(const char *path, char err[CONFIG_ERR_MAX]);
struct config *config_parse(const char *name, const char *text, size_t len, char err[CONFIG_ERR_MAX]);
void config_free(struct config *cfg);

#endif
