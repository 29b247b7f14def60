/* SPDX-License-Identifier: ISC */
/* dnsprobe: asks one DNS server for one name's A record every INTERVAL ms for SECONDS (bounded), and
 * prints the answers counted and the longest silence between two answers: a failover's gap. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct probe_stats {
	unsigned long sent, answered;
	double first_answer, last_answer; /* monotonic seconds; 0 before the first */
	double gap, gap_from, gap_to;     /* the longest silence between two answers */
};

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A query for NAME IN A with id ID into BUF; its length, or 0 if a label does not fit. */
static size_t build_query(uint8_t *buf, size_t cap, const char *name, uint16_t id)
{
	size_t n = 12;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t len = dot != NULL ? (size_t)(dot - name) : strlen(name);
		if (len == 0 || len > 63 || n + len + 6 > cap)
			return 0;
		buf[n++] = (uint8_t)len;
		memcpy(buf + n, name, len);
		n += len;
		name += len + (dot != NULL);
	}
	buf[n++] = 0;
	buf[n++] = 0, buf[n++] = 1; /* A */
	buf[n++] = 0, buf[n++] = 1; /* IN */
	return n;
}

static void note_answer(struct probe_stats *st, double t)
{
	if (st->answered > 0 && t - st->last_answer > st->gap) {
		st->gap = t - st->last_answer;
		st->gap_from = st->last_answer;
		st->gap_to = t;
	}
	if (st->answered == 0)
		st->first_answer = t;
	st->answered++;
	st->last_answer = t;
}

/* Reads every waiting reply; a NOERROR answer with at least one record counts. */
static void read_replies(int fd, struct probe_stats *st)
{
	uint8_t buf[512];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0 || errno == ECONNREFUSED) {
		if (n >= 12 && (buf[2] & 0x80) && (buf[3] & 0x0f) == 0 && (buf[6] | buf[7]) != 0)
			note_answer(st, now_mono());
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	struct probe_stats st = {0};
	uint8_t query[300];
	if (argc != 5 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: dnsprobe SERVER-IPV4 NAME INTERVAL-MS SECONDS\n");
		return 2;
	}
	int interval_ms = atoi(argv[3]), seconds = atoi(argv[4]);
	if (interval_ms < 1 || interval_ms > 10000 || seconds < 1 || seconds > 3600) {
		fprintf(stderr, "dnsprobe: interval 1..10000 ms, duration 1..3600 s\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("dnsprobe: socket");
		return 1;
	}
	double start = now_mono(), wall_offset = now_wall() - start, end = start + seconds;
	for (double next = start; now_mono() < end; next += interval_ms / 1000.0) {
		size_t len = build_query(query, sizeof(query), argv[2], (uint16_t)st.sent);
		if (len == 0 || (send(fd, query, len, 0) < 0 && errno != ECONNREFUSED)) {
			perror("dnsprobe: send");
			close(fd);
			return 1;
		}
		st.sent++;
		double wait;
		while ((wait = next + interval_ms / 1000.0 - now_mono()) > 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (poll(&p, 1, (int)(wait * 1000) + 1) > 0)
				read_replies(fd, &st);
		}
	}
	close(fd);
	printf("dnsprobe: sent %lu answered %lu max_gap_ms %.0f gap_from %.3f gap_to %.3f\n", st.sent, st.answered,
	       st.gap * 1000, st.gap_from + wall_offset, st.gap_to + wall_offset);
	return st.answered > 0 ? 0 : 1;
}
