/* SPDX-License-Identifier: ISC */
/* socksbanner: a test probe that connects through a SOCKS5 server (unix socket or TCP) to
 * HOST:PORT, prints the first line the far end sends, and the milliseconds it took. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int read_exact(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int connect_proxy(const char *proxy)
{
	int fd;
	if (proxy[0] == '/') {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", proxy);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return -1;
		return fd;
	}
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(proxy, ':');
	if (colon == NULL || (size_t)(colon - proxy) >= sizeof(host))
		return -1;
	memcpy(host, proxy, (size_t)(colon - proxy));
	host[colon - proxy] = '\0';
	sin.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	unsigned char buf[600];
	size_t hlen;
	int fd, timeout_s = argc > 4 ? atoi(argv[4]) : 30;
	struct timeval tv = { timeout_s, 0 };
	double start = now_ms();

	if (argc < 4) {
		fprintf(stderr, "usage: socksbanner PROXY(/path|ip:port) HOST PORT [TIMEOUT_S]\n");
		return 2;
	}
	hlen = strlen(argv[2]);
	if (hlen > 255)
		return 2;
	fd = connect_proxy(argv[1]);
	if (fd < 0) {
		perror("socksbanner: connect to proxy");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, "\x05\x01\x00", 3) != 3 || read_exact(fd, buf, 2) < 0 || buf[0] != 5 || buf[1] != 0) {
		fprintf(stderr, "socksbanner: SOCKS greeting refused\n");
		return 1;
	}
	size_t n = 0;
	buf[n++] = 5; buf[n++] = 1; buf[n++] = 0; buf[n++] = 3; buf[n++] = (unsigned char)hlen;
	memcpy(buf + n, argv[2], hlen);
	n += hlen;
	buf[n++] = (unsigned char)(atoi(argv[3]) >> 8);
	buf[n++] = (unsigned char)(atoi(argv[3]) & 0xff);
	if (write(fd, buf, n) != (ssize_t)n || read_exact(fd, buf, 4) < 0) {
		fprintf(stderr, "socksbanner: no SOCKS reply\n");
		return 1;
	}
	if (buf[1] != 0) {
		fprintf(stderr, "socksbanner: SOCKS reply code 0x%02x\n", buf[1]);
		return 3;
	}
	size_t rest = buf[3] == 1 ? 4 + 2 : buf[3] == 4 ? 16 + 2 : 0;
	if (buf[3] == 3 && read_exact(fd, buf, 1) == 0)
		rest = buf[0] + 2u;
	if (rest == 0 || read_exact(fd, buf, rest) < 0) {
		fprintf(stderr, "socksbanner: bad SOCKS reply address\n");
		return 1;
	}
	size_t got = 0;
	while (got < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + got, 1);
		if (r <= 0 || buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = '\0';
	if (got > 0 && buf[got - 1] == '\r')
		buf[got - 1] = '\0';
	if (got == 0) {
		fprintf(stderr, "socksbanner: no banner\n");
		return 1;
	}
	printf("%s\n%.1f ms\n", buf, now_ms() - start);
	close(fd);
	return 0;
}
