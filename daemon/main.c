/* SPDX-License-Identifier: ISC */
/* main: start-up order, signals, reload, and the one libevent loop of oniongated; the
 * embedded Tor runs on its own thread and is reached only through its sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "activity.h"
#include "config.h"
#include "control.h"
#include "ctlsock.h"
#include "dns.h"
#include "fsdir.h"
#include "inbound.h"
#include "log.h"
#include "mapfile.h"
#include "metrics.h"
#include "nft.h"
#include "mxupgrade.h"
#include "nftd.h"
#include "notify.h"
#include "onionmap.h"
#include "pool.h"
#include "poolsync.h"
#include "privdrop.h"
#include "proxy.h"
#include "stall.h"
#include "stats.h"
#include "status.h"
#include "tor.h"
#include "upfile.h"

#define SHUTDOWN_GRACE_SECONDS 15

struct daemon {
	struct event_base *base;
	struct config *cfg;
	struct tor *tor;
	struct control *control;
	struct pool *pool;
	struct onionmap *onionmap;
	struct dns *dns;
	struct poolsync *poolsync; /* tells the pool-peers of new pool mappings */
	struct upfile *upfile; /* with dns-upstream-file: where the upstream servers come from */
	struct proxy *proxy;
	struct nftd *nftd; /* the nft helper, when there is a table to install */
	struct mxupgrade *upgrade; /* with the table: mx-mode upgrade's claims */
	struct activity *activity; /* what the relay and discovery did, for operators */
	struct inbound *inbound; /* onion-mx: the onion service's connections to the LAN mail server */
	struct status_source status; /* fills snapshots for the operators' views */
	struct ctlsock *ctlsock; /* oniongatectl's socket */
	struct metrics *metrics; /* with metrics-listen: /metrics and the status page */
	time_t started;
	time_t last_reload; /* 0: none since start */
	bool last_reload_ok;
	char last_reload_result[STATUS_TEXT_MAX];
	bool nft_installed;
	struct event *signals[5];
	struct event *grace;
	struct event *status_tick; /* with a supervisor: the STATUS line looked at every second */
	struct event *watchdog;    /* with WatchdogSec=: WATCHDOG=1 every half interval */
	struct event *stall_tick;  /* with the embedded Tor and the relay: the stall detector's samples */
	struct stall stall;         /* the relay's streams */
	struct stall desc_stall;    /* the client's onion descriptor fetches */
	bool force_stderr;
	bool stopping;
	bool tor_ended;
	unsigned reloads; /* numbered in the log */
	int exit_code;
};

static void usage(void)
{
	fprintf(stderr, "usage: oniongated [-dtV] [-c file]\n"
			"  -c file  configuration (default " CONFIG_DEFAULT_PATH ")\n"
			"  -d       log to stderr whatever log-target says\n"
			"  -t       check the configuration and exit\n"
			"  -V       print the version and exit\n");
	exit(2);
}

/* The supervisor's STATUS line: Tor's bootstrap, then the mappings and streams. */
static void tell_status(struct daemon *d)
{
	struct timespec now;
	char text[NOTIFY_STATUS_MAX];
	struct notify_state s = { .tor = d->control != NULL, .tor_summary = "" };
	if (d->control != NULL) {
		s.tor_ready = control_ready(d->control);
		s.tor_progress = control_progress(d->control);
		s.tor_summary = control_summary(d->control);
		s.clock_skewed = control_clock_skew(d->control, &s.clock_skew, &s.clock_source);
	}
	s.mappings = d->pool != NULL ? pool_count(d->pool) : 0;
	s.streams = proxy_streams(d->proxy);
	notify_status_text(&s, text);
	clock_gettime(CLOCK_MONOTONIC, &now);
	notify_status(text, (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000);
}

static void on_status_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tell_status(arg);
}

/* READY=1, then the STATUS line every second while a supervisor listens. */
static void tell_ready(struct daemon *d)
{
	struct timeval second = { 1, 0 };
	notify_ready();
	tell_status(d);
	if (!notify_enabled())
		return;
	d->status_tick = event_new(d->base, -1, EV_PERSIST, on_status_tick, d);
	if (d->status_tick == NULL || evtimer_add(d->status_tick, &second) < 0)
		log_warn("cannot refresh the supervisor's status line");
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_watchdog();
}

/* With a supervisor's watchdog: WATCHDOG=1 from this loop every half interval, so a loop that
 * stops turning gets the daemon killed and restarted. */
static void start_watchdog(struct daemon *d)
{
	uint64_t usec = notify_watchdog_usec() / 2;
	struct timeval half = { (time_t)(usec / 1000000), (suseconds_t)(usec % 1000000) };
	if (usec == 0)
		return;
	d->watchdog = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
	if (d->watchdog == NULL || evtimer_add(d->watchdog, &half) < 0) {
		log_err("cannot keep the supervisor's watchdog");
		return;
	}
	log_notice("watchdog: WATCHDOG=1 every %llu ms", (unsigned long long)(usec / 1000));
	notify_watchdog();
}

static void on_tor_state(bool ready, int progress, void *arg)
{
	struct daemon *d = arg;
	if (d->stopping)
		return;
	if (ready)
		log_notice("tor ready: bootstrap 100%%, circuits established");
	else if (progress == 100)
		log_warn("tor not ready: no circuits can be built");
	else
		log_info("tor bootstrap %d%%", progress);
	tell_status(d);
}

static void on_tor_clock(void *arg)
{
	struct daemon *d = arg;
	if (!d->stopping)
		tell_status(d);
}

static void on_tor_exit(int code, void *arg)
{
	struct daemon *d = arg;
	if (d->stopping) {
		log_notice("embedded Tor stopped");
	} else {
		log_err("embedded Tor exited on its own (code %d); exiting so the supervisor restarts us", code);
		d->exit_code = 1;
	}
	d->stopping = true;
	d->tor_ended = true;
	event_base_loopexit(d->base, NULL);
}

static void on_grace_expired(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	(void)fd;
	(void)what;
	log_err("embedded Tor did not stop within %d s", SHUTDOWN_GRACE_SECONDS);
	d->exit_code = 1;
	event_base_loopbreak(d->base);
}

static void begin_shutdown(struct daemon *d, const char *why)
{
	struct timeval grace = { SHUTDOWN_GRACE_SECONDS, 0 };
	if (d->stopping)
		return;
	log_notice("%s: shutting down", why);
	d->stopping = true;
	notify_stopping();
	if (d->proxy != NULL)
		proxy_stop(d->proxy);
	if (d->tor == NULL) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	/* The proxy borrows d->control: only the socket closes now; the struct lives until teardown. */
	control_close(d->control);
	d->grace = evtimer_new(d->base, on_grace_expired, d);
	if (d->grace != NULL)
		evtimer_add(d->grace, &grace);
}

/* Failed streams of the kinds that tell of Tor's network (stall_counts). */
static uint64_t network_failures(const struct activity *a)
{
	uint64_t n = 0;
	for (int why = 0; why < AR_COUNT; why++)
		if (stall_counts((enum activity_reason)why))
			n += activity_failures(a, (enum activity_reason)why);
	return n;
}

static void on_newnym_reply(const struct ctl_reply *r, void *arg)
{
	(void)arg;
	if (r != NULL && r->code != 250)
		log_warn("stall: SIGNAL NEWNYM refused: %d %s", r->code, r->n_lines > 0 ? r->lines[0].text : "");
}

/* One sample for one detector; its steps are logged once each, with the reason, and counted. */
static void stall_sample(struct daemon *d, struct stall *st, const struct stall_sample *in)
{
	char why[STALL_REASON_MAX];
	enum stall_action action = stall_feed(st, in);
	stall_reason(st, in->now, why);
	switch (action) {
	case STALL_ASK_NEWNYM:
		log_warn("stall: %s: asking Tor for new circuits (SIGNAL NEWNYM)", why);
		stats_bump(STAT_STALL_NEWNYM);
		if (control_command(d->control, "SIGNAL NEWNYM", on_newnym_reply, NULL) < 0)
			log_warn("stall: cannot send SIGNAL NEWNYM");
		break;
	case STALL_EXIT:
		log_err("stall: %s: exiting so the supervisor restarts us with a new Tor", why);
		stats_bump(STAT_STALL_RESTARTS);
		d->exit_code = 1;
		begin_shutdown(d, "stall");
		break;
	case STALL_RECOVERED: log_notice("stall: %s after NEWNYM: recovered", why); break;
	case STALL_NONE: break;
	}
}

/* Both detectors, every STALL_TICK_SECONDS: the relay's streams, and the descriptor fetches Tor makes
 * for them and for the warm-up (an idle gateway's only sign of a stalled Tor). */
static void on_stall_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timespec now;
	uint64_t failed_all;
	(void)fd;
	(void)what;
	if (d->stopping)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct stall_sample in = { .now = (uint64_t)now.tv_sec, .timeout = d->cfg->stall_timeout,
				   .tor_ready = control_ready(d->control), .failed = network_failures(d->activity) };
	activity_totals(d->activity, &in.relayed, &failed_all);
	stall_sample(d, &d->stall, &in);
	if (d->stopping)
		return;
	control_desc_totals(d->control, &in.relayed, &in.failed);
	stall_sample(d, &d->desc_stall, &in);
}

/* The stall detector watches the relay's streams through the embedded Tor. */
static void start_stall_watch(struct daemon *d)
{
	struct timeval tick = { STALL_TICK_SECONDS, 0 };
	if (d->control == NULL || d->proxy == NULL)
		return;
	stall_init(&d->stall, &stall_streams);
	stall_init(&d->desc_stall, &stall_descriptors);
	d->stall_tick = event_new(d->base, -1, EV_PERSIST, on_stall_tick, d);
	if (d->stall_tick == NULL || evtimer_add(d->stall_tick, &tick) < 0)
		log_err("cannot start the stall detector");
}

static void log_map_warnings(const struct mapfile *m)
{
	for (size_t i = 0; m != NULL && i < m->n_warnings; i++)
		log_warn("%s", m->warnings[i]);
}

/* A config and its map file, both valid, or NULL with err set. */
static struct config *load_all(const char *path, struct mapfile **map, char err[CONFIG_ERR_MAX])
{
	struct config *cfg = config_load(path, err);
	*map = NULL;
	if (cfg != NULL && cfg->onion_map != NULL && (*map = mapfile_load(cfg->onion_map, err)) == NULL) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* The upstream servers cfg names: its dns-upstream lines, or what the dns-upstream-file f says now. */
static const struct config_sockaddr *servers_of(const struct config *cfg, const struct upfile *f, size_t *n)
{
	if (f == NULL) {
		*n = cfg->n_dns_upstream;
		return cfg->dns_upstream;
	}
	return upfile_servers(f, n);
}

/* The DNS forwards to the servers in force. */
static void use_servers(struct daemon *d)
{
	size_t n;
	const struct config_sockaddr *servers = servers_of(d->cfg, d->upfile, &n);
	if (d->dns != NULL)
		dns_set_upstreams(d->dns, servers, n);
	stats_set(STAT_UPSTREAM_SERVERS, n);
}

/* The dns-upstream-file names other servers: discovery and the DNS follow, no reload needed. */
static void on_upfile_change(void *arg)
{
	struct daemon *d = arg;
	char err[MAPFILE_ERR_MAX];
	size_t n;
	const struct config_sockaddr *servers = upfile_servers(d->upfile, &n);
	if (onionmap_set_upstreams(d->onionmap, servers, n, err) < 0)
		log_err("%s: discovery keeps the previous servers", err);
	use_servers(d);
}

/* The watcher cfg's dns-upstream-file needs: the running one when it follows the same file, else
 * a new one (read now). NULL (and *fresh_one false) when cfg has none; -1 out of memory. */
static int upfile_for(struct daemon *d, const struct config *cfg, struct upfile **f, bool *fresh_one)
{
	*f = NULL;
	*fresh_one = false;
	if (cfg->dns_upstream_file == NULL)
		return 0;
	if (d->upfile != NULL && strcmp(upfile_path(d->upfile), cfg->dns_upstream_file) == 0) {
		*f = d->upfile;
		return 0;
	}
	*fresh_one = true;
	*f = upfile_new(d->base, cfg, on_upfile_change, d);
	return *f != NULL ? 0 : -1;
}

/* Reload, phase one: everything the new file asks for is read, checked and built beside the
 * running state (config, map file, restart-only directives unchanged, the dns-upstream-file's
 * watcher, a new libunbound context); NULL and "file:line: why" in err if any of it fails. *map
 * stays readable (owned by *next) for its warnings. */
static struct config *reload_prepare(struct daemon *d, struct mapfile **map, struct onionmap_next **next,
				     struct upfile **upfile, char err[CONFIG_ERR_MAX])
{
	struct config *fresh = load_all(d->cfg->path, map, err);
	bool fresh_upfile;
	size_t n;
	*next = NULL;
	*upfile = NULL;
	if (fresh == NULL)
		return NULL;
	if (config_reload_check(d->cfg, fresh, err) < 0) {
		mapfile_free(*map);
		config_free(fresh);
		return NULL;
	}
	if (upfile_for(d, fresh, upfile, &fresh_upfile) < 0) {
		snprintf(err, CONFIG_ERR_MAX, "%s: out of memory", fresh->path);
		mapfile_free(*map);
		config_free(fresh);
		return NULL;
	}
	const struct config_sockaddr *servers = servers_of(fresh, *upfile, &n);
	if ((*next = onionmap_prepare(d->onionmap, fresh, *map, servers, n, err)) == NULL) {
		if (fresh_upfile)
			upfile_free(*upfile);
		config_free(fresh);
		return NULL;
	}
	return fresh;
}

static void tor_log_set(const struct ctl_reply *r, void *arg)
{
	(void)arg;
	if (r != NULL && r->code != 250)
		log_warn("tor: SETCONF Log refused: %d %s", r->code, r->n_lines > 0 ? r->lines[0].text : "");
}

/* The embedded Tor logs at the level nearest the daemon's: told through its control socket. */
static void tor_follow_log_level(struct daemon *d, const struct config *fresh)
{
	char cmd[64];
	const char *level = tor_log_level(fresh->log_level);
	if (d->control == NULL || strcmp(level, tor_log_level(d->cfg->log_level)) == 0)
		return;
	snprintf(cmd, sizeof(cmd), "SETCONF Log=\"%s %s\"", level,
		 fresh->log_target == LOG_TARGET_SYSLOG ? "syslog" : "stderr");
	if (control_command(d->control, cmd, tor_log_set, NULL) < 0)
		log_warn("tor: cannot ask for log level %s", level);
}

/* Reload, phase two: cannot fail; every module takes the new config at once. */
static void reload_commit(struct daemon *d, struct config *fresh, struct onionmap_next *next, struct upfile *upfile)
{
	log_set_level(fresh->log_level);
	tor_follow_log_level(d, fresh);
	onionmap_commit(d->onionmap, next);
	if (d->upgrade != NULL)
		mxupgrade_reconfigure(d->upgrade, fresh);
	if (d->dns != NULL)
		dns_reconfigure(d->dns, fresh);
	if (d->poolsync != NULL)
		poolsync_reconfigure(d->poolsync, fresh);
	if (d->proxy != NULL)
		proxy_reconfigure(d->proxy, fresh);
	if (d->metrics != NULL)
		metrics_reconfigure(d->metrics, fresh);
	config_free(d->cfg);
	d->cfg = fresh;
	if (upfile != d->upfile) {
		upfile_free(d->upfile);
		d->upfile = upfile;
	}
	use_servers(d);
}

static void remember_reload(struct daemon *d, bool ok, const char *result)
{
	d->last_reload = time(NULL);
	d->last_reload_ok = ok;
	snprintf(d->last_reload_result, sizeof(d->last_reload_result), "%s", result);
}

/* SIGHUP: the new configuration whole, or none of it and the running one stays whole. 0, or -1 with
 * the reason ("file:line: why") in err. */
static int reload(struct daemon *d, char err[CONFIG_ERR_MAX])
{
	struct mapfile *map;
	struct onionmap_next *next;
	struct upfile *upfile;
	if (d->stopping) {
		snprintf(err, CONFIG_ERR_MAX, "shutting down");
		log_notice("reload ignored: shutting down");
		return -1;
	}
	notify_reloading();
	struct config *fresh = reload_prepare(d, &map, &next, &upfile, err);
	if (fresh == NULL) {
		log_err("reload refused, keeping the running configuration: %s", err);
		remember_reload(d, false, err);
		notify_ready();
		return -1;
	}
	log_map_warnings(map);
	reload_commit(d, fresh, next, upfile);
	/* Numbered, so that the log never folds two reloads into "last message repeated". */
	log_notice("configuration reloaded from %s (reload %u)", fresh->path, ++d->reloads);
	remember_reload(d, true, "ok");
	notify_ready();
	return 0;
}

/* The pool key: pool-key from the config, else data-dir/pool.key, made once at random. */
static int pool_key(const struct config *cfg, uint8_t key[POOL_KEY_LEN])
{
	char path[4096];
	if (cfg->pool_key_set) {
		memcpy(key, cfg->pool_key, POOL_KEY_LEN);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/pool.key", cfg->data_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, key, POOL_KEY_LEN);
		close(fd);
		if (n == POOL_KEY_LEN)
			return 0;
		log_err("%s: not a %d-byte key", path, POOL_KEY_LEN);
		return -1;
	}
	if (fsdir_make(cfg->data_dir, 0700) < 0) {
		log_err("cannot create %s: %s", cfg->data_dir, strerror(errno));
		return -1;
	}
	if (getrandom(key, POOL_KEY_LEN, 0) != POOL_KEY_LEN ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, key, POOL_KEY_LEN) != POOL_KEY_LEN) {
		log_err("cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	log_notice("made a new pool key in %s", path);
	return 0;
}

static int start_dns(struct daemon *d)
{
	struct pool_config pc = { .v4_prefix = d->cfg->pool_v4.prefix, .v6_prefix = d->cfg->pool_v6.prefix,
				  .max_entries = d->cfg->pool_max };
	char err[MAPFILE_ERR_MAX];
	memcpy(pc.v4_net, d->cfg->pool_v4.addr, 4);
	memcpy(pc.v6_net, d->cfg->pool_v6.addr, 16);
	if (pool_key(d->cfg, pc.key) < 0)
		return -1;
	if ((d->pool = pool_new(&pc)) == NULL) {
		log_err("cannot allocate the address pool");
		return -1;
	}
	bool fresh_upfile;
	size_t n;
	if (upfile_for(d, d->cfg, &d->upfile, &fresh_upfile) < 0) {
		log_err("cannot follow %s: out of memory", d->cfg->dns_upstream_file);
		return -1;
	}
	const struct config_sockaddr *servers = servers_of(d->cfg, d->upfile, &n);
	if ((d->onionmap = onionmap_new(d->base, d->cfg, servers, n, err)) == NULL) {
		log_err("%s", err);
		return -1;
	}
	onionmap_set_activity(d->onionmap, d->activity);
	if (d->cfg->n_dns_listen > 0 && (d->dns = dns_new(d->base, d->cfg, d->pool, d->onionmap)) == NULL)
		return -1;
	if ((d->poolsync = poolsync_new(d->base, d->pool, d->cfg)) == NULL) {
		log_err("cannot start pool-peer: out of memory");
		return -1;
	}
	use_servers(d);
	return 0;
}

/* SIGCHLD: a transport plugin of the embedded Tor has exited. Tor cannot restart it here (it learns
 * of children only from signal handlers it does not have), so the bridges are gone for good: exit
 * so that the supervisor restarts us, as when Tor itself exits. */
static void on_child(struct daemon *d)
{
	pid_t pid;
	int status;
	if (tor_reap_plugins(d->nftd != NULL ? nftd_pid(d->nftd) : 0, &pid, &status) == 0 || d->stopping)
		return;
	log_err("tor: transport plugin (pid %d) %s %d; exiting so the supervisor restarts us", (int)pid,
		WIFSIGNALED(status) ? "killed by signal" : "exited with", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	d->exit_code = 1;
	begin_shutdown(d, "transport plugin gone");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char err[CONFIG_ERR_MAX];
	(void)what;
	switch (sig) {
	case SIGTERM: begin_shutdown(d, "SIGTERM"); break;
	case SIGINT: begin_shutdown(d, "SIGINT"); break;
	case SIGHUP: reload(d, err); break;
	case SIGUSR1: stats_log(); break;
	case SIGCHLD: on_child(d); break;
	}
}

static int add_signals(struct daemon *d)
{
	const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD };
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		d->signals[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		if (d->signals[i] == NULL || evsignal_add(d->signals[i], NULL) < 0)
			return -1;
	}
	return 0;
}

static void warm_stream(void *arg, const struct pool_entry *e, uint16_t port)
{
	proxy_warm(arg, e, port);
}

static void on_nft_helper_gone(void *arg)
{
	struct daemon *d = arg;
	log_err("nft: the helper exited: table inet %s stays until the next start; exiting so the supervisor restarts us",
		NFT_TABLE_NAME);
	d->exit_code = 1;
	begin_shutdown(d, "nft helper gone");
}

static int install_nft(struct daemon *d)
{
	char err[NFTD_ERR_MAX];
	int counted, rules = nftd_install(d->nftd, &counted, err);
	if (rules < 0) {
		log_err("nft: %s", err);
		return -1;
	}
	d->nft_installed = true;
	if (counted != rules) {
		log_err("nft: table inet %s holds %d rules, %d were installed", NFT_TABLE_NAME, counted, rules);
		return -1;
	}
	log_notice("nft: table inet %s installed (%d rules)", NFT_TABLE_NAME, rules);
	if (nftd_watch(d->nftd, d->base, on_nft_helper_gone, d) < 0) {
		log_err("nft: cannot watch the helper");
		return -1;
	}
	return 0;
}

/* The upgrade sets exist now: the map file's domains may be learned into them. */
static int start_upgrade(struct daemon *d)
{
	if ((d->upgrade = mxupgrade_new(d->base, d->cfg, d->onionmap, d->nftd)) == NULL) {
		log_err("cannot allocate the upgrade table (upgrade-max %zu)", d->cfg->upgrade_max);
		return -1;
	}
	if (d->dns != NULL)
		dns_set_upgrade(d->dns, d->upgrade);
	proxy_set_upgrade(d->proxy, d->upgrade);
	return 0;
}

static int start_proxy(struct daemon *d)
{
	if (d->cfg->transparent_port == 0)
		return 0;
	const char *socks = d->tor != NULL ? tor_socks_path(d->tor) : d->cfg->socks_server;
	d->proxy = proxy_new(d->base, d->cfg, d->pool, d->control, d->onionmap, d->activity, socks);
	if (d->proxy == NULL)
		return -1;
	if (d->dns != NULL)
		dns_set_warmer(d->dns, warm_stream, d->proxy);
	if (d->nftd == NULL)
		return 0;
	if (install_nft(d) < 0)
		return -1;
	return start_upgrade(d);
}

/* With `user`: the directories exist and hold nothing but ours (they are handed over whole);
 * checked before anything (pool.key) is written into them. */
static int own_dirs(const struct config *cfg)
{
	static const char *const ours[] = { "tor", "pool.key", "control", "onion-mx", "onion-mx.sock", "onion-mx.records" };
	const char *const dirs[] = { cfg->run_dir, cfg->data_dir };
	char stranger[NAME_MAX + 1];
	if (cfg->user == NULL)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		if (fsdir_make(dirs[i], i == 0 ? 0755 : 0700) < 0) {
			log_err("cannot create %s: %s", dirs[i], strerror(errno));
			return -1;
		}
		if (fsdir_only(dirs[i], ours, sizeof(ours) / sizeof(ours[0]), stranger) < 0) {
			log_err("%s:%d: user: %s holds '%s', so it is not oniongated's own directory to hand to %s",
				cfg->path, cfg->user_line, dirs[i], stranger[0] ? stranger : strerror(errno), cfg->user);
			return -1;
		}
	}
	return 0;
}

/* CAP_NET_ADMIN is the nft helper's alone. With `user`: the directories go to the user; then
 * root is given up whole. */
static int drop_privileges(const struct config *cfg)
{
	const char *const dirs[] = { cfg->run_dir, cfg->data_dir };
	char err[PRIVDROP_ERR_MAX];
	if (cfg->user == NULL) {
		if (privdrop_net_admin(cfg->transparent_port != 0 && cfg->transparent_port < 1024, err) < 0) {
			log_err("%s", err);
			return -1;
		}
		if (getuid() == 0)
			log_notice("running as root without CAP_NET_ADMIN");
		else
			log_notice("running as uid %u, without capabilities%s", (unsigned)getuid(),
				   cfg->transparent_port != 0 && cfg->transparent_port < 1024 ? " but CAP_NET_BIND_SERVICE" : "");
		return 0;
	}
	if (privdrop_user(cfg->user, dirs, 2, err) < 0) {
		log_err("%s:%d: %s", cfg->path, cfg->user_line, err);
		return -1;
	}
	log_notice("running as %s, without capabilities", cfg->user);
	return 0;
}

static void format_net(const struct config_net *n, int family, char *out, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(family, n->addr, addr, sizeof(addr));
	snprintf(out, len, "%s/%d", addr, n->prefix);
}

struct domains_of {
	const char *onion;
	status_domain_cb *fn;
	void *arg;
};

static void domain_of(const struct onionmap_pair *p, void *arg)
{
	static const char *const sec[] = { [ONIONMAP_INSECURE] = "srv insecure", [ONIONMAP_SECURE] = "srv secure",
					   [ONIONMAP_BOGUS] = "srv bogus" };
	struct domains_of *q = arg;
	char source[32];
	if (strcmp(p->onion, q->onion) != 0)
		return;
	if (p->source == ONIONMAP_FROM_MAP)
		snprintf(source, sizeof(source), "map line %d", p->line);
	else
		snprintf(source, sizeof(source), "%s", sec[p->security]);
	q->fn(p->domain, source, q->arg);
}

/* The domains that map to onion: the map file's lines, then the SRV answers cached. */
static void each_domain(const struct status_snapshot *s, const char *onion, status_domain_cb *fn, void *arg)
{
	onionmap_each_pair(s->onionmap, domain_of, &(struct domains_of){ onion, fn, arg });
}

/* The status snapshot for the operators' views (control socket, metrics, status page). */
static void fill_status(struct status_snapshot *s, void *arg)
{
	struct daemon *d = arg;
	const char *source;
	*s = (struct status_snapshot){ .version = ONIONGATE_VERSION, .now = time(NULL), .started = d->started,
				       .config_path = d->cfg->path, .embedded_tor = d->control != NULL,
				       .ready = d->control == NULL || control_ready(d->control),
				       .mappings = d->pool != NULL ? pool_count(d->pool) : 0,
				       .mappings_max = d->cfg->pool_max, .streams = proxy_streams(d->proxy),
				       .discovery_cache = onionmap_cache_size(d->onionmap),
				       .last_reload = d->last_reload, .last_reload_ok = d->last_reload_ok,
				       .activity = d->activity, .cfg = d->cfg, .pool = d->pool,
				       .onionmap = d->onionmap, .proxy = d->proxy,
				       .each_domain = d->onionmap != NULL ? each_domain : NULL };
	snprintf(s->last_reload_result, sizeof(s->last_reload_result), "%s", d->last_reload_result);
	s->stall_state = d->stall_tick != NULL ? stall_state_name(d->stall.state) : NULL;
	s->bridges = d->cfg->n_bridges;
	s->onion_mx = d->inbound != NULL ? inbound_onion(d->inbound) : NULL;
	format_net(&d->cfg->pool_v4, AF_INET, s->pool_v4, sizeof(s->pool_v4));
	format_net(&d->cfg->pool_v6, AF_INET6, s->pool_v6, sizeof(s->pool_v6));
	activity_last_hour(d->activity, s->now, &s->relayed_hour, &s->failed_hour);
	if (d->control == NULL)
		return;
	snprintf(s->tor_version, sizeof(s->tor_version), "%s",
		 control_tor_version(d->control)[0] != '\0' ? control_tor_version(d->control) : tor_version());
	s->tor_progress = control_progress(d->control);
	snprintf(s->tor_phase, sizeof(s->tor_phase), "%s", control_summary(d->control));
	s->tor_circuits = control_circuits(d->control);
	s->clock_skewed = control_clock_skew(d->control, &s->clock_skew, &source);
	if (s->clock_skewed)
		snprintf(s->clock_source, sizeof(s->clock_source), "%s", source);
}

static int ctl_reload(void *arg, char err[CONFIG_ERR_MAX])
{
	return reload(arg, err);
}

/* oniongatectl's socket, made after the privilege drop: the service user's owner and group. */
static int start_ctlsock(struct daemon *d)
{
	char path[PATH_MAX], err[CTLSOCK_ERR_MAX];
	const char *where = d->cfg->control_socket;
	if (where == NULL) {
		if (fsdir_make(d->cfg->run_dir, 0755) < 0) {
			log_err("cannot create %s: %s", d->cfg->run_dir, strerror(errno));
			return -1;
		}
		snprintf(path, sizeof(path), "%s/control", d->cfg->run_dir);
		where = path;
	}
	if ((d->ctlsock = ctlsock_new(d->base, where, &d->status, d->onionmap, ctl_reload, d, err)) == NULL) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

static int start_metrics(struct daemon *d)
{
	if (d->cfg->metrics_listen.len == 0)
		return 0;
	return (d->metrics = metrics_new(d->base, d->cfg, &d->status)) != NULL ? 0 : -1;
}

/* Forked before anything else exists: the helper inherits no listener, thread or event loop. */
static int start_nft_helper(struct daemon *d)
{
	char err[NFTD_ERR_MAX];
	if (!d->cfg->nft || d->cfg->transparent_port == 0)
		return 0;
	if ((d->nftd = nftd_start(d->cfg, err)) == NULL) {
		log_err("nft: %s", err);
		return -1;
	}
	return 0;
}

static int start(struct daemon *d)
{
	int control_fd = -1;
	if (start_nft_helper(d) < 0)
		return -1;
	if (evthread_use_pthreads() < 0 || (d->base = event_base_new()) == NULL) {
		log_err("cannot set up the event loop");
		return -1;
	}
	if (add_signals(d) < 0) {
		log_err("cannot install signal handlers");
		return -1;
	}
	if ((d->activity = activity_new()) == NULL) {
		log_err("cannot allocate the activity record");
		return -1;
	}
	d->status = (struct status_source){ fill_status, d };
	if (own_dirs(d->cfg) < 0 || start_dns(d) < 0 || start_metrics(d) < 0 || drop_privileges(d->cfg) < 0 ||
	    start_ctlsock(d) < 0)
		return -1;
	if (d->cfg->socks_server != NULL) {
		log_notice("no embedded Tor: streams go to the SOCKS5 server at %s", d->cfg->socks_server);
		return start_proxy(d);
	}
	if (d->cfg->onion_mx.len > 0 && (d->inbound = inbound_new(d->base, d->cfg)) == NULL)
		return -1;
	d->tor = tor_start(d->base, d->cfg, &control_fd, on_tor_exit, d);
	if (d->tor == NULL)
		return -1;
	if (d->inbound != NULL)
		ctlsock_set_inbound(d->ctlsock, d->inbound, tor_socks_path(d->tor));
	d->control = control_new(d->base, control_fd, on_tor_state, on_tor_clock, d);
	if (d->control == NULL) {
		log_err("cannot attach to Tor's control socket");
		close(control_fd);
		d->stopping = true;
		d->exit_code = 1;
		return 0;
	}
	if (start_proxy(d) < 0) {
		d->exit_code = 1;
		begin_shutdown(d, "start-up failed");
	}
	return 0;
}

static void remove_nft(struct daemon *d)
{
	char err[NFTD_ERR_MAX];
	if (d->nft_installed && nftd_remove(d->nftd, err) == 0)
		log_notice("nft: table inet %s removed", NFT_TABLE_NAME);
	else if (d->nft_installed)
		log_warn("nft: cannot remove table inet %s: %s", NFT_TABLE_NAME, err);
	nftd_free(d->nftd);
	d->nftd = NULL;
}

/* Descriptors: up to 512 upstream queries, 64 DNS TCP clients, two per stream, and the embedded
 * Tor's own all share the process's limit; the soft limit (often 1024) is raised to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("cannot raise the descriptor limit: %s", strerror(errno));
}

static void teardown(struct daemon *d)
{
	if (d->dns != NULL)
		dns_set_warmer(d->dns, NULL, NULL);
	metrics_free(d->metrics);
	/* Listeners and streams close while the redirect stands: the LAN's connections (even those
	 * still in a listen backlog) get their FIN or RST from the address they dialled. */
	ctlsock_free(d->ctlsock);
	proxy_free(d->proxy);
	inbound_free(d->inbound);
	dns_free(d->dns);
	upfile_free(d->upfile);
	mxupgrade_free(d->upgrade);
	remove_nft(d);
	onionmap_free(d->onionmap);
	activity_free(d->activity);
	poolsync_free(d->poolsync);
	pool_free(d->pool);
	control_free(d->control);
	if (d->tor_ended)
		tor_join(d->tor);
	for (size_t i = 0; i < sizeof(d->signals) / sizeof(d->signals[0]); i++)
		if (d->signals[i] != NULL)
			event_free(d->signals[i]);
	if (d->grace != NULL)
		event_free(d->grace);
	if (d->status_tick != NULL)
		event_free(d->status_tick);
	if (d->watchdog != NULL)
		event_free(d->watchdog);
	if (d->stall_tick != NULL)
		event_free(d->stall_tick);
	if (d->base != NULL)
		event_base_free(d->base);
	config_free(d->cfg);
}

/* Blocks of 64 KiB and more that a heap cannot serve come from mmap and go back to the system when
 * freed, instead of growing the heap for good (glibc's default: 128 KiB, raised as such blocks are
 * freed). The embedded Tor reads each SOCKS stream into a 64 KiB buffer chunk and frees it once
 * parsed: 200 streams opened at once left about 2.5 MiB resident in its arena. */
#define MMAP_THRESHOLD_BYTES (64 * 1024)

int main(int argc, char **argv)
{
	struct daemon d = { .started = time(NULL) };
	const char *path = CONFIG_DEFAULT_PATH;
	char err[CONFIG_ERR_MAX];
	bool check_only = false;
	int ch;

	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);

	while ((ch = getopt(argc, argv, "c:dtV")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'd': d.force_stderr = true; break;
		case 't': check_only = true; break;
		case 'V': printf("oniongated %s (%s)\n", ONIONGATE_VERSION, tor_version()); return 0;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	struct mapfile *map;
	d.cfg = load_all(path, &map, err);
	if (d.cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check_only) {
		for (size_t i = 0; map != NULL && i < map->n_warnings; i++)
			fprintf(stderr, "%s\n", map->warnings[i]);
		printf("%s: configuration is valid\n", path);
		mapfile_free(map);
		config_free(d.cfg);
		return 0;
	}
	log_open("oniongated", d.force_stderr ? LOG_TARGET_STDERR : d.cfg->log_target, d.cfg->log_level);
	log_notice("oniongated %s starting with %s", ONIONGATE_VERSION, path);
	log_map_warnings(map);
	mapfile_free(map);
	raise_fd_limit();
	if (start(&d) < 0) {
		d.exit_code = 1;
	} else {
		if (!d.stopping)
			tell_ready(&d);
		start_watchdog(&d);
		start_stall_watch(&d);
		event_base_dispatch(d.base);
	}
	teardown(&d);
	log_notice("oniongated exits with %d", d.exit_code);
	log_close();
	return d.exit_code;
}
