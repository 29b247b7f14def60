/* SPDX-License-Identifier: ISC */
/* Unit tests for notify: the messages a supervisor's notify socket receives (READY, RELOADING with
 * MONOTONIC_USEC, STOPPING, WATCHDOG, STATUS), the STATUS lines for each state, a changed STATUS held
 * back within a second and an unchanged one never sent again, a control byte kept on one line; the
 * watchdog interval only for the PID it names; a socket in the abstract namespace ('@' name); and
 * nothing at all without NOTIFY_SOCKET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "notify.h"

static char dir[64];
static char path[96];
static int sock = -1;

static int open_socket(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/og-notify.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/notify", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return setenv("NOTIFY_SOCKET", path, 1);
}

static int close_socket(void **state)
{
	(void)state;
	close(sock);
	unlink(path);
	return rmdir(dir);
}

/* The next datagram on the socket, "" if none is waiting. */
static const char *received(void)
{
	static char msg[512];
	ssize_t n = recv(sock, msg, sizeof(msg) - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	return msg;
}

static void test_states(void **state)
{
	(void)state;
	assert_true(notify_enabled());
	notify_ready();
	assert_string_equal(received(), "READY=1");
	notify_stopping();
	assert_string_equal(received(), "STOPPING=1");
	notify_reloading();
	const char *msg = received();
	assert_int_equal(strncmp(msg, "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
	assert_true(strtoull(msg + 27, NULL, 10) > 0);
	assert_string_equal(received(), "");
}

static void test_watchdog(void **state)
{
	char pid[32];
	(void)state;
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "2000000", 1);
	assert_int_equal(notify_watchdog_usec(), 2000000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_watchdog_usec(), 2000000);
	/* Another process's watchdog (a wrapper that did not exec us) is not ours. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "soon", 1);
	assert_int_equal(notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
	notify_watchdog();
	assert_string_equal(received(), "WATCHDOG=1");
	assert_string_equal(received(), "");
}

static void test_status_text(void **state)
{
	char out[NOTIFY_STATUS_MAX];
	struct notify_state s = { .tor = true, .tor_progress = 0, .tor_summary = "" };
	(void)state;
	notify_status_text(&s, out);
	assert_string_equal(out, "Tor 0%");
	s.tor_progress = 45;
	s.tor_summary = "Loading relay descriptors";
	notify_status_text(&s, out);
	assert_string_equal(out, "Tor 45%: loading relay descriptors");
	s.tor_progress = 100;
	notify_status_text(&s, out);
	assert_string_equal(out, "Tor 100%: no circuits can be built; mail defers");
	s.tor_ready = true;
	s.mappings = 3;
	notify_status_text(&s, out);
	assert_string_equal(out, "ready: 3 onion MX mappings, 0 streams");
	struct notify_state socks = { .tor_summary = "", .mappings = 1, .streams = 1 };
	notify_status_text(&socks, out);
	assert_string_equal(out, "ready: 1 onion MX mapping, 1 stream");
	/* A clock skew Tor reported comes first, whatever the bootstrap says. */
	s.clock_skewed = true;
	s.clock_skew = -3600;
	s.clock_source = "CONSENSUS";
	notify_status_text(&s, out);
	assert_string_equal(out, "tor: clock skew -3600 s (source CONSENSUS): check the time");
	s.tor_ready = false;
	s.tor_progress = 10;
	s.clock_skew = 86400;
	s.clock_source = "OR:198.51.100.1:5000";
	notify_status_text(&s, out);
	assert_string_equal(out, "tor: clock skew 86400 s (source OR:198.51.100.1:5000): check the time");
}

static void test_status_rate(void **state)
{
	(void)state;
	assert_true(notify_status("Tor 5%: connecting", 10000));
	assert_string_equal(received(), "STATUS=Tor 5%: connecting");
	/* Changed, but within the second: held back; the same text later: never again. */
	assert_false(notify_status("Tor 10%: more", 10999));
	assert_string_equal(received(), "");
	assert_false(notify_status("Tor 5%: connecting", 12000));
	assert_string_equal(received(), "");
	assert_true(notify_status("Tor 10%: more", 11000 + NOTIFY_STATUS_INTERVAL_MS));
	assert_string_equal(received(), "STATUS=Tor 10%: more");
	assert_true(notify_status("two\nREADY=1", 20000));
	assert_string_equal(received(), "STATUS=two READY=1");
}

static void test_no_supervisor(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_false(notify_enabled());
	notify_ready();
	notify_stopping();
	notify_status("quiet", 30000);
	assert_string_equal(received(), "");
	setenv("NOTIFY_SOCKET", path, 1);
}

/* NOTIFY_SOCKET=@name: the abstract socket "\0name", its length without a trailing NUL. */
static void test_abstract_socket(void **state)
{
	char name[64], msg[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	(void)state;
	snprintf(name, sizeof(name), "@og-notify-test-%ld", (long)getpid());
	memcpy(sa.sun_path, name, strlen(name));
	sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	notify_ready();
	ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	assert_string_equal(msg, "READY=1");
	close(fd);
	setenv("NOTIFY_SOCKET", path, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_status_text),
		cmocka_unit_test(test_status_rate),
		cmocka_unit_test(test_no_supervisor),
		cmocka_unit_test(test_abstract_socket),
	};
	return cmocka_run_group_tests(tests, open_socket, close_socket);
}
