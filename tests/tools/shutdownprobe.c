/* SPDX-License-Identifier: ISC */
/* shutdownprobe: sends SIGTERM to a daemon and at once probes it as a LAN host would during its
 * shutdown: up to COUNT TCP connects and DNS MX queries, one every SPACING_US, until a connect
 * fails; then prints what each connection read first (a line, "closed", "error: ..." or
 * "timeout") and the DNS replies. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define COUNT_MAX 512
#define READ_SECONDS 25

struct probe {
	int fd;
	char line[512];
	size_t have;
	const char *outcome; /* NULL while waiting */
	int err;
};

static size_t dns_query(unsigned char *buf, size_t cap, unsigned id, const char *name)
{
	size_t n = 12;
	const char *label = name;
	memset(buf, 0, 12);
	buf[0] = (unsigned char)(id >> 8);
	buf[1] = (unsigned char)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (*label != '\0') {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);
		if (len == 0 || len > 63 || n + len + 6 > cap)
			return 0;
		buf[n++] = (unsigned char)len;
		memcpy(buf + n, label, len);
		n += len;
		label += len + (dot ? 1 : 0);
	}
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = 15; /* MX */
	buf[n++] = 0;
	buf[n++] = 1; /* IN */
	return n;
}

static int tcp_connect(const struct sockaddr_in *sin, int *err)
{
	struct timeval tv = { 1, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what is there; sets the outcome once a line, EOF or an error came. */
static void probe_read(struct probe *pr)
{
	ssize_t n = read(pr->fd, pr->line + pr->have, sizeof(pr->line) - 1 - pr->have);
	if (n < 0) {
		pr->err = errno;
		pr->outcome = "error";
		return;
	}
	pr->have += (size_t)n;
	pr->line[pr->have] = '\0';
	if (strchr(pr->line, '\n') != NULL || pr->have == sizeof(pr->line) - 1) {
		pr->line[strcspn(pr->line, "\r\n")] = '\0';
		pr->outcome = "line";
	} else if (n == 0) {
		pr->outcome = pr->have > 0 ? "line" : "closed";
	}
}

int main(int argc, char **argv)
{
	static struct probe probes[COUNT_MAX];
	struct sockaddr_in tcp = { .sin_family = AF_INET }, dns = { .sin_family = AF_INET, .sin_port = htons(53) };
	unsigned char buf[512];
	int count, spacing_us, udp, answers = 0;
	pid_t pid;
	if (argc != 8 || inet_pton(AF_INET, argv[2], &tcp.sin_addr) != 1 || inet_pton(AF_INET, argv[4], &dns.sin_addr) != 1 ||
	    (count = atoi(argv[6])) < 1 || count > COUNT_MAX || (spacing_us = atoi(argv[7])) < 0) {
		fprintf(stderr, "usage: shutdownprobe PID TCP_ADDR TCP_PORT DNS_ADDR MX_NAME COUNT SPACING_US\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	tcp.sin_port = htons((unsigned short)atoi(argv[3]));
	if ((udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) < 0 || kill(pid, SIGTERM) < 0) {
		perror("shutdownprobe");
		return 1;
	}
	for (int i = 0; i < count; i++) {
		struct timespec ts = { 0, spacing_us * 1000L };
		size_t n = dns_query(buf, sizeof(buf), (unsigned)i, argv[5]);
		probes[i].fd = tcp_connect(&tcp, &probes[i].err);
		if (probes[i].fd < 0) {
			probes[i].outcome = "error";
			count = i + 1; /* the daemon is gone: no more probes */
		}
		if (n > 0)
			sendto(udp, buf, n, 0, (struct sockaddr *)&dns, sizeof(dns));
		nanosleep(&ts, NULL);
	}
	for (time_t end = time(NULL) + READ_SECONDS; time(NULL) < end;) {
		struct pollfd pfd[COUNT_MAX + 1];
		int waiting = 0;
		for (int i = 0; i < count; i++) {
			pfd[i].fd = probes[i].outcome == NULL ? probes[i].fd : -1;
			pfd[i].events = POLLIN;
			waiting += probes[i].outcome == NULL;
		}
		pfd[count].fd = udp;
		pfd[count].events = POLLIN;
		if (waiting == 0 || poll(pfd, (nfds_t)count + 1, 1000) < 0)
			break;
		for (int i = 0; i < count; i++)
			if (pfd[i].revents != 0)
				probe_read(&probes[i]);
		while (recv(udp, buf, sizeof(buf), 0) > 0)
			answers++;
	}
	for (int i = 0; i < count; i++) {
		if (probes[i].outcome == NULL)
			printf("timeout\n");
		else if (strcmp(probes[i].outcome, "error") == 0)
			printf("error: %s\n", strerror(probes[i].err));
		else if (strcmp(probes[i].outcome, "closed") == 0)
			printf("closed\n");
		else
			printf("line: %s\n", probes[i].line);
	}
	printf("dns answers: %d of %d\n", answers, count);
	return 0;
}
