/* SPDX-License-Identifier: ISC */
/* udpdelay: a DNS-over-UDP relay in front of a server that sends each reply D ms after the server
 * gave it (this kernel has no sch_netem): the upstream's side of a slow link, for the bench.
 *   udpdelay LISTEN_ADDR PORT SERVER_ADDR PORT DELAY_MS */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 4096
#define SLOTS 65536 /* queries in flight to the server, by the ID we gave them */

struct slot {
	struct sockaddr_in client;
	uint8_t id[2];
};

struct reply {
	uint64_t due_ns;
	struct sockaddr_in client;
	size_t len;
	struct reply *next;
	uint8_t msg[];
};

static struct slot slots[SLOTS];
static struct reply *head, *tail;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int udp_socket(const char *addr, int port, int do_bind)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int size = 4 << 20;
	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if ((do_bind ? bind(fd, (struct sockaddr *)&sa, sizeof(sa)) : connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0)
		return -1;
	return fd;
}

/* Queries go on at once under an ID of ours (the slot of their client). */
static void read_queries(int lfd, int ufd)
{
	static uint16_t next;
	uint8_t msg[MSG_MAX];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(lfd, msg, sizeof(msg), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0)
			return;
		if (n < 12)
			continue;
		struct slot *s = &slots[next];
		s->client = from;
		memcpy(s->id, msg, 2);
		msg[0] = (uint8_t)(next >> 8);
		msg[1] = (uint8_t)next;
		next++;
		send(ufd, msg, (size_t)n, 0);
	}
}

/* Replies wait delay_ns, in the order they came (one delay for all: the queue stays sorted). */
static void read_replies(int ufd, uint64_t delay_ns)
{
	uint8_t msg[MSG_MAX];
	for (;;) {
		ssize_t n = recv(ufd, msg, sizeof(msg), 0);
		if (n < 0)
			return;
		if (n < 12)
			continue;
		struct reply *r = malloc(sizeof(*r) + (size_t)n);
		if (r == NULL)
			continue;
		struct slot *s = &slots[msg[0] << 8 | msg[1]];
		r->due_ns = now_ns() + delay_ns;
		r->client = s->client;
		r->len = (size_t)n;
		r->next = NULL;
		memcpy(r->msg, msg, (size_t)n);
		memcpy(r->msg, s->id, 2);
		if (tail)
			tail->next = r;
		else
			head = r;
		tail = r;
	}
}

static void send_due(int lfd)
{
	uint64_t now = now_ns();
	while (head != NULL && head->due_ns <= now) {
		struct reply *r = head;
		sendto(lfd, r->msg, r->len, 0, (struct sockaddr *)&r->client, sizeof(r->client));
		head = r->next;
		if (head == NULL)
			tail = NULL;
		free(r);
	}
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: udpdelay LISTEN_ADDR PORT SERVER_ADDR PORT DELAY_MS\n");
		return 2;
	}
	int lfd = udp_socket(argv[1], atoi(argv[2]), 1), ufd = udp_socket(argv[3], atoi(argv[4]), 0);
	uint64_t delay_ns = (uint64_t)atoi(argv[5]) * 1000000u;
	if (lfd < 0 || ufd < 0) {
		perror("udpdelay");
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = ufd, .events = POLLIN } };
		struct timespec wait = { 1, 0 };
		if (head != NULL) {
			uint64_t now = now_ns(), left = head->due_ns > now ? head->due_ns - now : 0;
			wait = (struct timespec){ (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
		}
		ppoll(p, 2, &wait, NULL);
		if (p[0].revents & POLLIN)
			read_queries(lfd, ufd);
		if (p[1].revents & POLLIN)
			read_replies(ufd, delay_ns);
		send_due(lfd);
	}
}
