/* SPDX-License-Identifier: ISC */
/* notifyd: the supervisor's end of sd_notify for the tests: binds a unix datagram socket at PATH
 * (mode 0666, as systemd's), prints each message on one line (its newlines as spaces) with the
 * daemon log's time stamp, until killed. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void print_line(char *msg)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	for (char *c = msg; *c != '\0'; c++)
		if (*c == '\n')
			*c = ' ';
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s.%03ld %s\n", stamp, ts.tv_nsec / 1000000L, msg);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[4096];
	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notifyd PATH (shorter than %zu bytes)\n", sizeof(sa.sun_path));
		return 2;
	}
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(argv[1]);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(argv[1], 0666) < 0) {
		perror("notifyd");
		return 1;
	}
	for (;;) {
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
		if (n < 0) {
			perror("notifyd: recv");
			return 1;
		}
		msg[n] = '\0';
		print_line(msg);
	}
}
