/* SPDX-License-Identifier: ISC */
/* nftd: the nft helper (relayd's pfe in small): a child forked before anything reads the network,
 * the only process of oniongated with CAP_NET_ADMIN, driven over a socketpair. It reads nothing
 * but fixed-size requests naming one of four operations on the table of the config it was forked
 * with (install, remove, an address into or out of an upgrade set), and exits when the daemon's
 * end of the socketpair closes, leaving the table in place. */
#include "nftd.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "nft.h"
#include "privdrop.h"

/* A table install or a dump takes milliseconds; each netlink read in nft.c gives up after 5 s. */
#define NFTD_TIMEOUT_MS 10000

enum nftd_op { NFTD_INSTALL = 1, NFTD_REMOVE = 2, NFTD_UPGRADE_ADD = 3, NFTD_UPGRADE_DELETE = 4 };

struct nftd_request {
	uint32_t op;
	uint32_t family;  /* the upgrade operations: AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint32_t timeout; /* NFTD_UPGRADE_ADD: 1..NFTD_UPGRADE_TIMEOUT_MAX seconds */
};

struct nftd_reply {
	int32_t rules;   /* installed, or -1 */
	int32_t counted; /* listed by the kernel after an install, or -1 */
	int32_t error;   /* errno when rules is -1 */
};

struct nftd {
	pid_t pid;
	int fd;
	bool gone;
	struct event *watch;
	void (*gone_cb)(void *arg);
	void *arg;
};

/* Stop signals go to the whole service (systemd's KillMode=control-group, a terminal's ^C): the
 * helper outlives them until the daemon, done with the table, closes its end. */
static void ignore_signals(void)
{
	const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_IGN);
}

static bool request_valid(const struct nftd_request *req)
{
	switch (req->op) {
	case NFTD_INSTALL:
	case NFTD_REMOVE:
		return true;
	case NFTD_UPGRADE_ADD:
		if (req->timeout == 0 || req->timeout > NFTD_UPGRADE_TIMEOUT_MAX)
			return false;
		/* fall through */
	case NFTD_UPGRADE_DELETE:
		return req->family == AF_INET || req->family == AF_INET6;
	}
	return false;
}

static struct nftd_reply serve(const struct config *cfg, const struct nftd_request *req)
{
	struct nftd_reply rep = { -1, -1, 0 };
	if (req->op == NFTD_INSTALL && (rep.rules = nft_install(cfg)) >= 0)
		rep.counted = nft_rule_count();
	else if (req->op == NFTD_REMOVE)
		rep.rules = nft_remove();
	else if (req->op == NFTD_UPGRADE_ADD)
		rep.rules = nft_upgrade_add((int)req->family, req->addr, req->timeout);
	else if (req->op == NFTD_UPGRADE_DELETE)
		rep.rules = nft_upgrade_delete((int)req->family, req->addr);
	if (rep.rules < 0)
		rep.error = errno;
	return rep;
}

/* The helper's whole life: requests until the daemon is gone (EOF) or has had the table removed. */
static void __attribute__((noreturn)) helper_loop(int fd, const struct config *cfg)
{
	for (;;) {
		struct nftd_request req;
		ssize_t n = recv(fd, &req, sizeof(req), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		if (n != (ssize_t)sizeof(req) || !request_valid(&req)) {
			log_err("nft helper: malformed request (%zd bytes): exiting", n);
			_exit(1);
		}
		struct nftd_reply rep = serve(cfg, &req);
		if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) != (ssize_t)sizeof(rep) || req.op == NFTD_REMOVE)
			_exit(0);
	}
}

static void __attribute__((noreturn)) helper_main(int fd, const struct config *cfg)
{
	char err[PRIVDROP_ERR_MAX];
	struct nftd_reply hello = { 0, 0, 0 };
	ignore_signals();
	prctl(PR_SET_NAME, "oniongated-nft", 0L, 0L, 0L);
	if (privdrop_nft_helper(cfg->user, err) < 0) {
		if (cfg->user != NULL)
			log_err("%s:%d: nft helper: %s", cfg->path, cfg->user_line, err);
		else
			log_err("nft helper: %s", err);
		hello.rules = -1;
	} else {
		log_info("nft helper: pid %d, as %s, with CAP_NET_ADMIN alone", (int)getpid(),
			 cfg->user ? cfg->user : "root");
	}
	if (send(fd, &hello, sizeof(hello), MSG_NOSIGNAL) != (ssize_t)sizeof(hello) || hello.rules < 0)
		_exit(1);
	helper_loop(fd, cfg);
}

static int receive(struct nftd *h, struct nftd_reply *rep, char err[NFTD_ERR_MAX])
{
	struct pollfd p = { .fd = h->fd, .events = POLLIN };
	int ready;
	while ((ready = poll(&p, 1, NFTD_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	ssize_t n = ready > 0 ? recv(h->fd, rep, sizeof(*rep), MSG_TRUNC) : -1;
	if (n == (ssize_t)sizeof(*rep))
		return 0;
	h->gone = true;
	if (ready == 0)
		snprintf(err, NFTD_ERR_MAX, "the helper did not answer within %d s", NFTD_TIMEOUT_MS / 1000);
	else
		snprintf(err, NFTD_ERR_MAX, "the helper %s", n == 0 ? "has exited" : "broke the protocol");
	return -1;
}

static int call(struct nftd *h, const struct nftd_request *req, struct nftd_reply *rep, char err[NFTD_ERR_MAX])
{
	if (!h->gone && send(h->fd, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req))
		h->gone = true;
	if (h->gone) {
		snprintf(err, NFTD_ERR_MAX, "the helper has exited");
		return -1;
	}
	return receive(h, rep, err);
}

struct nftd *nftd_start(const struct config *cfg, char err[NFTD_ERR_MAX])
{
	int sv[2];
	struct nftd *h = calloc(1, sizeof(*h));
	if (h == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, NFTD_ERR_MAX, "cannot start the helper: %s", strerror(errno));
		free(h);
		return NULL;
	}
	if ((h->pid = fork()) == 0) {
		close(sv[0]);
		helper_main(sv[1], cfg);
	}
	close(sv[1]);
	h->fd = sv[0];
	struct nftd_reply hello;
	if (h->pid < 0) {
		snprintf(err, NFTD_ERR_MAX, "cannot start the helper: %s", strerror(errno));
	} else if (receive(h, &hello, err) == 0 && hello.rules < 0) {
		snprintf(err, NFTD_ERR_MAX, "the helper could not keep CAP_NET_ADMIN alone");
	} else if (!h->gone) {
		return h;
	}
	nftd_free(h);
	return NULL;
}

int nftd_install(struct nftd *h, int *counted, char err[NFTD_ERR_MAX])
{
	struct nftd_reply rep;
	const struct nftd_request req = { .op = NFTD_INSTALL };
	if (call(h, &req, &rep, err) < 0)
		return -1;
	*counted = rep.counted;
	if (rep.rules < 0)
		snprintf(err, NFTD_ERR_MAX, "cannot install table inet %s: %s", NFT_TABLE_NAME, strerror(rep.error));
	return rep.rules;
}

int nftd_remove(struct nftd *h, char err[NFTD_ERR_MAX])
{
	struct nftd_reply rep;
	const struct nftd_request req = { .op = NFTD_REMOVE };
	if (call(h, &req, &rep, err) < 0)
		return -1;
	h->gone = true;
	if (rep.rules < 0) {
		snprintf(err, NFTD_ERR_MAX, "%s", strerror(rep.error));
		return -1;
	}
	return 0;
}

int nftd_upgrade(struct nftd *h, int family, const uint8_t addr[16], uint32_t timeout, char err[NFTD_ERR_MAX])
{
	struct nftd_reply rep;
	struct nftd_request req = { .op = timeout > 0 ? NFTD_UPGRADE_ADD : NFTD_UPGRADE_DELETE, .family = (uint32_t)family,
				    .timeout = timeout };
	memcpy(req.addr, addr, family == AF_INET ? 4 : 16);
	if (!request_valid(&req)) {
		snprintf(err, NFTD_ERR_MAX, "not an upgrade request the helper takes");
		return -1;
	}
	if (call(h, &req, &rep, err) < 0)
		return -1;
	if (rep.rules < 0) {
		snprintf(err, NFTD_ERR_MAX, "%s", strerror(rep.error));
		return -1;
	}
	return 0;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct nftd *h = arg;
	(void)fd;
	(void)what;
	h->gone = true;
	h->gone_cb(h->arg);
}

int nftd_watch(struct nftd *h, struct event_base *base, void (*gone)(void *arg), void *arg)
{
	h->gone_cb = gone;
	h->arg = arg;
	h->watch = event_new(base, h->fd, EV_READ, on_readable, h);
	return h->watch == NULL ? -1 : event_add(h->watch, NULL);
}

pid_t nftd_pid(const struct nftd *h)
{
	return h->pid;
}

void nftd_free(struct nftd *h)
{
	int status;
	if (h == NULL)
		return;
	if (h->watch != NULL)
		event_free(h->watch);
	close(h->fd);
	while (h->pid > 0 && waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
		;
	free(h);
}
