/* SPDX-License-Identifier: ISC */
/* tor: the embedded Tor: the argv it is given, its directories, the thread that runs
 * tor_run_main once, and the join after it ends. Reached only through its sockets. */

#include "tor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tor_api.h>

#include "fsdir.h"
#include "log.h"

struct tor {
	tor_main_configuration_t *tcfg;
	char **argv;
	int argc;
	char socks_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char torrc_path[PATH_MAX];
	pthread_t thread;
	int result;
	struct event *exit_ev;
	tor_exit_cb *on_exit;
	void *arg;
};

/* Tor wants a regular torrc file: an empty one, since every option is on its command line. */
static int write_torrc(struct tor *t, const char *dir)
{
	FILE *f;
	if (snprintf(t->torrc_path, sizeof(t->torrc_path), "%s/torrc", dir) >= (int)sizeof(t->torrc_path) ||
	    (f = fopen(t->torrc_path, "w")) == NULL) {
		log_err("cannot write %s/torrc: %s", dir, strerror(errno));
		return -1;
	}
	fputs("# Empty on purpose: oniongated gives the embedded Tor its options on the command line.\n", f);
	if (fclose(f) != 0) {
		log_err("cannot write %s: %s", t->torrc_path, strerror(errno));
		return -1;
	}
	return 0;
}

const char *tor_log_level(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERR: return "err";
	case LOG_LEVEL_WARN: return "warn";
	case LOG_LEVEL_NOTICE: case LOG_LEVEL_INFO: return "notice";
	case LOG_LEVEL_DEBUG: return "info";
	}
	return "notice";
}

static int push(struct tor *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int push(struct tor *t, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	t->argv[t->argc++] = s;
	return 0;
}

/* bridge and transport-plugin lines: Tor reaches the network through the bridges alone, and runs
 * each plugin as a managed transport (a child of this process, so under its user and sandbox). */
static int push_bridges(struct tor *t, const struct config *cfg)
{
	int rc = 0;
	if (cfg->n_bridges == 0)
		return 0;
	rc |= push(t, "--UseBridges");
	rc |= push(t, "1");
	for (size_t i = 0; i < cfg->n_bridges; i++) {
		rc |= push(t, "--Bridge");
		rc |= push(t, "%s", cfg->bridges[i].line);
	}
	for (size_t i = 0; i < cfg->n_transports; i++) {
		rc |= push(t, "--ClientTransportPlugin");
		rc |= push(t, "%s exec %s", cfg->transports[i].names, cfg->transports[i].command);
	}
	return rc;
}

static int build_argv(struct tor *t, const struct config *cfg)
{
	const char *target = cfg->log_target == LOG_TARGET_SYSLOG ? "syslog" : "stderr";
	t->argv = calloc(24 + 2 * (cfg->n_tor_options + cfg->n_bridges + cfg->n_transports), sizeof(char *));
	if (t->argv == NULL)
		return -1;
	int rc = 0;
	rc |= push(t, "oniongated-tor");
	rc |= push(t, "--defaults-torrc");
	rc |= push(t, "/dev/null");
	rc |= push(t, "-f");
	rc |= push(t, "%s", t->torrc_path);
	rc |= push(t, "--DataDirectory");
	rc |= push(t, "%s/tor", cfg->data_dir);
	rc |= push(t, "--SocksPort");
	rc |= push(t, "unix:%s OnionTrafficOnly IsolateSOCKSAuth ExtendedErrors", t->socks_path);
	rc |= push(t, "--Log");
	rc |= push(t, "%s %s", tor_log_level(cfg->log_level), target);
	rc |= push(t, "--SyslogIdentityTag");
	rc |= push(t, "oniongated");
	rc |= push(t, "--RunAsDaemon");
	rc |= push(t, "0");
	rc |= push(t, "--__DisableSignalHandlers");
	rc |= push(t, "1");
	rc |= push_bridges(t, cfg);
	if (cfg->onion_mx.len > 0) { /* onion-mx: the service's keys in data-dir, port 25 to inbound.c's socket */
		rc |= push(t, "--HiddenServiceDir");
		rc |= push(t, "%s/onion-mx", cfg->data_dir);
		rc |= push(t, "--HiddenServicePort");
		rc |= push(t, "25 unix:%s/onion-mx.sock", cfg->run_dir);
	}
	for (size_t i = 0; i < cfg->n_tor_options; i++) {
		rc |= push(t, "--%s", cfg->tor_options[i].name);
		rc |= push(t, "%s", cfg->tor_options[i].value);
	}
	return rc;
}

/* In a child Tor forks for a transport plugin, between fork and execve. Tor relies on every
 * descriptor being close-on-exec, but the owning control socketpair tor_api makes is not: without
 * this the plugin holds both its ends, so Tor never sees the daemon's end close and never stops
 * (and any descriptor a library opens without the flag would leak to it too). Tor's thread blocks
 * every signal: the plugin would start with them blocked. Only async-signal-safe calls here. */
static void plugin_child_after_fork(void)
{
	sigset_t none;
	struct rlimit rl;
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		for (rlim_t fd = 3; fd < rl.rlim_cur; fd++)
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void *tor_thread(void *arg)
{
	struct tor *t = arg;
	t->result = tor_run_main(t->tcfg);
	event_active(t->exit_ev, EV_READ, 0);
	return NULL;
}

static void tor_exited(evutil_socket_t fd, short what, void *arg)
{
	struct tor *t = arg;
	(void)fd;
	(void)what;
	t->on_exit(t->result, t->arg);
}

static void tor_free(struct tor *t)
{
	if (t->tcfg != NULL)
		tor_main_configuration_free(t->tcfg);
	for (int i = 0; t->argv != NULL && i < t->argc; i++)
		free(t->argv[i]);
	free(t->argv);
	if (t->exit_ev != NULL)
		event_free(t->exit_ev);
	free(t);
}

static int prepare_dirs(struct tor *t, const struct config *cfg)
{
	char tor_run[PATH_MAX];
	if (snprintf(tor_run, sizeof(tor_run), "%s/tor", cfg->run_dir) >= (int)sizeof(tor_run) ||
	    snprintf(t->socks_path, sizeof(t->socks_path), "%s/socks", tor_run) >= (int)sizeof(t->socks_path)) {
		log_err("run-dir %s is too long for a unix socket path", cfg->run_dir);
		return -1;
	}
	if (fsdir_make(cfg->run_dir, 0755) < 0 || fsdir_make(tor_run, 0700) < 0) {
		log_err("cannot create %s: %s", tor_run, strerror(errno));
		return -1;
	}
	if (fsdir_make(cfg->data_dir, 0700) < 0) {
		log_err("cannot create %s: %s", cfg->data_dir, strerror(errno));
		return -1;
	}
	return write_torrc(t, tor_run);
}

struct tor *tor_start(struct event_base *base, const struct config *cfg, int *control_fd, tor_exit_cb *on_exit,
		      void *arg)
{
	struct tor *t = calloc(1, sizeof(*t));
	sigset_t all, old;
	int err;

	if (t == NULL)
		return NULL;
	t->on_exit = on_exit;
	t->arg = arg;
	if (prepare_dirs(t, cfg) < 0 || build_argv(t, cfg) < 0)
		goto fail;
	t->exit_ev = event_new(base, -1, 0, tor_exited, t);
	t->tcfg = tor_main_configuration_new();
	if (t->exit_ev == NULL || t->tcfg == NULL ||
	    tor_main_configuration_set_command_line(t->tcfg, t->argc, t->argv) < 0)
		goto fail;
	*control_fd = tor_main_configuration_setup_control_socket(t->tcfg);
	if (*control_fd == INVALID_TOR_CONTROL_SOCKET) {
		log_err("cannot make the control socket for Tor");
		goto fail;
	}
	/* Signals stay with the main thread's event loop. The plugins Tor forks (the only forks after
	 * this point; from transport-plugin or a tor-option ClientTransportPlugin line) get none
	 * blocked and none of the daemon's descriptors. */
	if ((err = pthread_atfork(NULL, NULL, plugin_child_after_fork)) != 0) {
		log_err("cannot prepare the transport plugins' start: %s", strerror(err));
		close(*control_fd);
		*control_fd = -1;
		goto fail;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&t->thread, NULL, tor_thread, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		log_err("cannot start Tor's thread: %s", strerror(err));
		close(*control_fd);
		*control_fd = -1;
		goto fail;
	}
	log_notice("embedded %s starting: socks %s, data %s/tor", tor_version(), t->socks_path, cfg->data_dir);
	if (cfg->n_bridges > 0)
		log_notice("tor: only through %zu bridge%s (%zu transport plugin%s)", cfg->n_bridges,
			   cfg->n_bridges == 1 ? "" : "s", cfg->n_transports, cfg->n_transports == 1 ? "" : "s");
	return t;
fail:
	tor_free(t);
	return NULL;
}

int tor_join(struct tor *t)
{
	int result;
	pthread_join(t->thread, NULL);
	result = t->result;
	tor_free(t);
	return result;
}

const char *tor_socks_path(const struct tor *t)
{
	return t->socks_path;
}

int tor_reap_plugins(pid_t helper, pid_t *pid, int *status)
{
	siginfo_t si;
	int reaped = 0;
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0 || si.si_pid == helper)
			return reaped;
		if (waitpid(si.si_pid, status, 0) == si.si_pid) {
			*pid = si.si_pid;
			reaped++;
		}
	}
}

const char *tor_version(void)
{
	return tor_api_get_provider_version();
}
