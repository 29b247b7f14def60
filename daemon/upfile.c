/* SPDX-License-Identifier: ISC */
/* upfile: follows the dns-upstream-file with no reload: a timer stats it and re-reads it when its
 * inode, mtime or size change, and tells its owner when the servers it names change. */
#include "upfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "resolvconf.h"
#include "stats.h"
#include "textfile.h"

/* What the file was when last read: a new inode (a rename over it, as systemd-resolved
 * writes it), mtime or size is a change; so is appearing or going away. */
struct identity {
	bool exists;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
};

struct upfile {
	char *path;
	struct config_sockaddr *listen; /* a copy of dns-listen */
	size_t n_listen;
	struct config_sockaddr servers[CONFIG_MAX_DNS_UPSTREAM];
	size_t n_servers;
	struct identity seen;
	struct event *timer;
	upfile_cb *cb;
	void *arg;
};

static struct identity identity_of(const char *path)
{
	struct identity id;
	struct stat st;
	memset(&id, 0, sizeof(id));
	if (stat(path, &st) < 0)
		return id;
	id.exists = true;
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	id.mtime = st.st_mtim;
	id.size = st.st_size;
	return id;
}

static bool same_identity(const struct identity *a, const struct identity *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->size == b->size;
}

static void warn_line(void *arg, const char *msg)
{
	(void)arg;
	log_warn("dns-upstream-file %s", msg);
}

/* "a, b, c" of the servers into out. */
static void list_servers(const struct upfile *f, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < f->n_servers && used < outlen; i++) {
		char addr[INET6_ADDRSTRLEN];
		const struct sockaddr_storage *ss = &f->servers[i].ss;
		const void *ip = ss->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
							  : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		inet_ntop(ss->ss_family, ip, addr, sizeof(addr));
		int n = snprintf(out + used, outlen - used, "%s%s", i > 0 ? " " : "", addr);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* The servers of the file as it is now; none when it cannot be read. Logged once per change. */
static void read_file(struct upfile *f)
{
	char err[256], list[CONFIG_MAX_DNS_UPSTREAM * (INET6_ADDRSTRLEN + 1)];
	size_t len;
	char *text = textfile_read(f->path, RESOLVCONF_MAX_BYTES, &len, err, sizeof(err));
	stats_bump(STAT_UPSTREAM_FILE_READS);
	if (text == NULL) {
		f->n_servers = 0;
		log_warn("dns-upstream-file %s: no upstream server: names other than .onion get SERVFAIL", err);
		return;
	}
	f->n_servers = resolvconf_parse(f->path, text, len, f->listen, f->n_listen, f->servers, CONFIG_MAX_DNS_UPSTREAM,
					warn_line, NULL);
	free(text);
	list_servers(f, list, sizeof(list));
	if (f->n_servers == 0)
		log_warn("dns-upstream-file %s: names no usable server: names other than .onion get SERVFAIL", f->path);
	else
		log_notice("dns-upstream-file %s: %zu upstream server%s: %s", f->path, f->n_servers,
			   f->n_servers == 1 ? "" : "s", list);
}

static void check(evutil_socket_t fd, short what, void *arg)
{
	struct upfile *f = arg;
	struct config_sockaddr before[CONFIG_MAX_DNS_UPSTREAM];
	size_t n_before = f->n_servers;
	(void)fd;
	(void)what;
	struct identity now = identity_of(f->path);
	if (same_identity(&now, &f->seen))
		return;
	f->seen = now;
	memcpy(before, f->servers, n_before * sizeof(before[0]));
	read_file(f);
	if (!resolvconf_same(before, n_before, f->servers, f->n_servers))
		f->cb(f->arg);
}

struct upfile *upfile_new(struct event_base *base, const struct config *cfg, upfile_cb *cb, void *arg)
{
	struct timeval every = { UPFILE_CHECK_SECONDS, 0 };
	struct upfile *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->path = strdup(cfg->dns_upstream_file);
	f->listen = calloc(cfg->n_dns_listen + 1, sizeof(*f->listen));
	f->timer = event_new(base, -1, EV_PERSIST, check, f);
	if (f->path == NULL || f->listen == NULL || f->timer == NULL || evtimer_add(f->timer, &every) < 0) {
		upfile_free(f);
		return NULL;
	}
	f->n_listen = cfg->n_dns_listen;
	memcpy(f->listen, cfg->dns_listen, f->n_listen * sizeof(f->listen[0]));
	f->cb = cb;
	f->arg = arg;
	f->seen = identity_of(f->path);
	read_file(f);
	return f;
}

const char *upfile_path(const struct upfile *f)
{
	return f->path;
}

const struct config_sockaddr *upfile_servers(const struct upfile *f, size_t *n)
{
	*n = f->n_servers;
	return f->servers;
}

void upfile_free(struct upfile *f)
{
	if (f == NULL)
		return;
	if (f->timer != NULL)
		event_free(f->timer);
	free(f->path);
	free(f->listen);
	free(f);
}
