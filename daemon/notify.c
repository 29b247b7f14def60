/* SPDX-License-Identifier: ISC */
/* notify: what oniongated tells its supervisor (systemd's sd_notify): READY, RELOADING, STOPPING,
 * WATCHDOG, and a STATUS line that follows Tor's bootstrap, then the mappings and streams. No-op
 * without NOTIFY_SOCKET. The protocol (one datagram to $NOTIFY_SOCKET, a path or '@' + an abstract
 * name) is written here rather than linking libsystemd, whose libraries cost ~1 MiB resident. */
#include "notify.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static char last_status[NOTIFY_STATUS_MAX];
static uint64_t last_status_ms;
static bool status_sent;

/* One datagram to $NOTIFY_SOCKET: 0 if sent or if there is no supervisor, else -errno. */
static int send_datagram(const char *msg)
{
	const char *where = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = where != NULL ? strlen(where) : 0;
	if (len == 0)
		return 0;
	if ((where[0] != '/' && where[0] != '@') || len >= sizeof(sa.sun_path))
		return -EAFNOSUPPORT;
	memcpy(sa.sun_path, where, len);
	if (where[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (where[0] == '/'));
	int rc = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static void send_state(const char *state)
{
	int rc = send_datagram(state);
	if (rc < 0)
		log_warn("sd_notify %s: %s", state, strerror(-rc));
}

/* An unsigned decimal environment variable: 1 and *out if set and valid, 0 if unset, -EINVAL. */
static int env_number(const char *name, unsigned long long *out)
{
	const char *text = getenv(name);
	char *end;
	if (text == NULL)
		return 0;
	errno = 0;
	*out = strtoull(text, &end, 10);
	if (!isdigit((unsigned char)text[0]) || *end != '\0' || errno != 0)
		return -EINVAL;
	return 1;
}

bool notify_enabled(void)
{
	return getenv("NOTIFY_SOCKET") != NULL;
}

void notify_ready(void)
{
	send_state("READY=1");
}

void notify_reloading(void)
{
	struct timespec ts;
	char msg[64];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	send_state(msg);
}

void notify_stopping(void)
{
	send_state("STOPPING=1");
}

uint64_t notify_watchdog_usec(void)
{
	unsigned long long usec = 0, pid = 0;
	int rc = env_number("WATCHDOG_USEC", &usec);
	int pid_rc = rc > 0 ? env_number("WATCHDOG_PID", &pid) : 0;
	if (rc < 0 || pid_rc < 0 || (rc > 0 && usec == 0)) {
		log_warn("WATCHDOG_USEC: %s", strerror(EINVAL));
		return 0;
	}
	/* Another process's watchdog (a wrapper that did not exec us) is not ours. */
	if (rc == 0 || (pid_rc > 0 && pid != (unsigned long long)getpid()))
		return 0;
	return usec;
}

void notify_watchdog(void)
{
	send_state("WATCHDOG=1");
}

void notify_status_text(const struct notify_state *s, char out[NOTIFY_STATUS_MAX])
{
	if (s->tor && s->clock_skewed) {
		snprintf(out, NOTIFY_STATUS_MAX, "tor: clock skew %" PRId64 " s (source %s): check the time", s->clock_skew,
			 s->clock_source);
	} else if (s->tor && !s->tor_ready && s->tor_progress == 100) {
		snprintf(out, NOTIFY_STATUS_MAX, "Tor 100%%: no circuits can be built; mail defers");
	} else if (s->tor && !s->tor_ready) {
		int n = snprintf(out, NOTIFY_STATUS_MAX, "Tor %d%%%s%s", s->tor_progress,
				 s->tor_summary[0] != '\0' ? ": " : "", s->tor_summary);
		/* Tor's summary starts a sentence; here it follows a colon. */
		if (s->tor_summary[0] != '\0' && n > 0 && (size_t)n < NOTIFY_STATUS_MAX)
			out[n - strlen(s->tor_summary)] = (char)tolower((unsigned char)s->tor_summary[0]);
	} else {
		snprintf(out, NOTIFY_STATUS_MAX, "ready: %zu onion MX mapping%s, %zu stream%s", s->mappings,
			 s->mappings == 1 ? "" : "s", s->streams, s->streams == 1 ? "" : "s");
	}
}

bool notify_status(const char *text, uint64_t now_ms)
{
	char msg[NOTIFY_STATUS_MAX + 8];
	if (status_sent && (strcmp(text, last_status) == 0 || now_ms - last_status_ms < NOTIFY_STATUS_INTERVAL_MS))
		return false;
	snprintf(last_status, sizeof(last_status), "%s", text);
	last_status_ms = now_ms;
	status_sent = true;
	snprintf(msg, sizeof(msg), "STATUS=%s", last_status);
	/* One line: a control byte in Tor's summary must not start another assignment. */
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	send_state(msg);
	return true;
}
