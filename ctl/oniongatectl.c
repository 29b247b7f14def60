/* SPDX-License-Identifier: ISC */
/* oniongatectl: asks a running oniongated over its control socket (ctlproto) and prints the reply;
 * the exit status says ok (0), not ready or refused (1), or that the daemon could not be asked (2). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"

#define DEFAULT_SOCKET "/run/oniongate/control"
#define REPLY_TIMEOUT_MS 20000   /* the daemon gives a lookup 10 s */
#define WAIT_READY_DEFAULT 60    /* --wait-ready without seconds */
#define WAIT_READY_STEP_MS 500

enum exit_code { EXIT_OK = 0, EXIT_NOT_OK = 1, EXIT_TROUBLE = 2 };

static void usage(void)
{
	fprintf(stderr, "usage: oniongatectl [-j] [-s socket] command\n"
			"  status [--wait-ready[=SECONDS]]   exit 0 only when the gateway is ready\n"
			"  streams | onions | lookup DOMAIN | reload\n"
			"  onion-mx [--check]                the published onion MX, its records; --check: relay check\n"
			"  -j       JSON\n"
			"  -s path  the control socket (default " DEFAULT_SOCKET ")\n");
	exit(EXIT_TROUBLE);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is readable or deadline (ms) passes: 0, or -1 with errno ETIMEDOUT. */
static int wait_readable(int fd, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Up to size bytes (fewer only at EOF); -1 on an error or the deadline. */
static ssize_t read_full(int fd, char *buf, size_t size, long long deadline)
{
	size_t got = 0;
	while (got < size) {
		if (wait_readable(fd, deadline) < 0)
			return -1;
		ssize_t n = read(fd, buf + got, size - got);
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

/* The header line, byte by byte (it is short): 0, or -1. */
static int read_header(int fd, enum ctlp_status *st, size_t *len, long long deadline)
{
	char line[CTLPROTO_HEADER_MAX];
	for (size_t n = 0; n < sizeof(line); n++) {
		if (read_full(fd, &line[n], 1, deadline) != 1)
			return -1;
		if (line[n] == '\n')
			return ctlproto_parse_header(line, n, st, len);
	}
	return -1;
}

struct reply {
	enum ctlp_status status;
	char *body;
	size_t len;
};

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* One request, its whole reply: 0, or -1 with why in err. */
static int ask(const char *path, const struct ctlp_request *req, struct reply *r, char *err, size_t errlen)
{
	char line[CTLPROTO_LINE_MAX];
	long long deadline = now_ms() + (req->cmd == CTLP_ONION_MX_CHECK ? CTLPROTO_CHECK_REPLY_SECONDS * 1000LL
									 : REPLY_TIMEOUT_MS);
	int n = ctlproto_format_request(req, line, sizeof(line)), fd;
	memset(r, 0, sizeof(*r));
	errno = 0;
	if (n < 0) {
		snprintf(err, errlen, "request too long");
		return -1;
	}
	if ((fd = connect_to(path)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n || read_header(fd, &r->status, &r->len, deadline) < 0 ||
	    (r->body = malloc(r->len + 1)) == NULL || read_full(fd, r->body, r->len, deadline) != (ssize_t)r->len) {
		snprintf(err, errlen, "%s: %s", path, errno == 0 ? "the daemon's reply is not one" : strerror(errno));
		free(r->body);
		r->body = NULL;
		close(fd);
		return -1;
	}
	r->body[r->len] = '\0';
	close(fd);
	return 0;
}

static int print_reply(const struct reply *r)
{
	fwrite(r->body, 1, r->len, r->status == CTLP_ERROR ? stderr : stdout);
	return r->status == CTLP_OK ? EXIT_OK : EXIT_NOT_OK;
}

/* status --wait-ready: asks every WAIT_READY_STEP_MS until the gateway is ready or seconds pass
 * (a daemon not listening yet counts as not ready); prints the last answer. */
static int wait_ready(const char *path, const struct ctlp_request *req, long seconds)
{
	long long deadline = now_ms() + seconds * 1000;
	char err[256] = "";
	struct reply r = { 0 };
	for (;;) {
		free(r.body);
		int rc = ask(path, req, &r, err, sizeof(err));
		if (rc == 0 && r.status != CTLP_NOT_READY)
			break;
		if (now_ms() + WAIT_READY_STEP_MS > deadline)
			break;
		usleep(WAIT_READY_STEP_MS * 1000);
	}
	if (r.body == NULL) {
		fprintf(stderr, "oniongatectl: %s\n", err);
		return EXIT_NOT_OK;
	}
	int code = print_reply(&r);
	free(r.body);
	return code;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = { { "wait-ready", optional_argument, NULL, 'w' },
					       { "check", no_argument, NULL, 'C' },
					       { NULL, 0, NULL, 0 } };
	bool check = false;
	const char *path = DEFAULT_SOCKET;
	struct ctlp_request req = { 0 };
	long wait = -1;
	char *end;
	int ch;
	while ((ch = getopt_long(argc, argv, "js:h", longs, NULL)) != -1) {
		switch (ch) {
		case 'j': req.json = true; break;
		case 'C': check = true; break;
		case 's': path = optarg; break;
		case 'w':
			wait = WAIT_READY_DEFAULT;
			if (optarg != NULL && ((wait = strtol(optarg, &end, 10)) < 0 || *end != '\0' || end == optarg || wait > 86400))
				usage();
			break;
		default: usage();
		}
	}
	if (path == NULL || optind == argc || ctlproto_command_of(argv[optind], &req.cmd) < 0 ||
	    req.cmd == CTLP_ONION_MX_CHECK || (check && req.cmd != CTLP_ONION_MX))
		usage();
	if (check)
		req.cmd = CTLP_ONION_MX_CHECK;
	int args = req.cmd == CTLP_LOOKUP ? 1 : 0;
	if (argc - optind != 1 + args || (wait >= 0 && req.cmd != CTLP_STATUS))
		usage();
	if (args && ctlproto_domain(argv[optind + 1], strlen(argv[optind + 1]), req.domain) < 0) {
		fprintf(stderr, "oniongatectl: '%s' is not a domain name\n", argv[optind + 1]);
		return EXIT_TROUBLE;
	}
	if (wait >= 0)
		return wait_ready(path, &req, wait);
	struct reply r;
	char err[256];
	if (ask(path, &req, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "oniongatectl: %s\n", err);
		return EXIT_TROUBLE;
	}
	int code = print_reply(&r);
	free(r.body);
	return code;
}
