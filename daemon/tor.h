/* SPDX-License-Identifier: ISC */
/* tor: the embedded Tor: the argv it is given, its directories, the thread that runs
 * tor_run_main once, and the join after it ends. Reached only through its sockets. */
#ifndef OG_TOR_H
#define OG_TOR_H

#include <sys/types.h>

#include <event2/event.h>

#include "config.h"

struct tor;

typedef void tor_exit_cb(int code, void *arg);

/* Starts Tor on its own thread. *control_fd receives the owning control socket (closing it
 * stops Tor); on_exit runs on base's loop once tor_run_main has returned. */
struct tor *tor_start(struct event_base *base, const struct config *cfg, int *control_fd, tor_exit_cb *on_exit,
		      void *arg);
/* After on_exit: reaps the thread and frees everything. Returns tor_run_main's result. */
int tor_join(struct tor *t);
const char *tor_socks_path(const struct tor *t);
/* On SIGCHLD: reaps every child that has exited but helper (left to its owner). Any other child is
 * a transport plugin of the embedded Tor, which reaps and restarts its plugins only from signal
 * handlers it does not have here. Returns how many were reaped; the last one's pid and wait status
 * in *pid and *status. */
int tor_reap_plugins(pid_t helper, pid_t *pid, int *status);
const char *tor_version(void);
/* Tor's log level nearest the daemon's (Tor's notice is chatty enough for info). */
const char *tor_log_level(enum log_level level);

#endif
