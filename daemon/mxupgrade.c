/* SPDX-License-Identifier: ISC */
/* mxupgrade: mx-mode upgrade at work: the real MX addresses of mail domains learned from the
 * LAN's MX queries and the map file (mxhosts), claimed in the upgrade table, mirrored into the
 * nft upgrade sets (nftd), swept as they expire, and looked up by the relay. */
#include "mxupgrade.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/util.h>

#include "log.h"
#include "mapfile.h"
#include "mxhosts.h"
#include "stats.h"

#define UPGRADE_TTL_MAX 86400
/* The map file's domains: at most MAP_PARALLEL learned at once, looked at every MAP_TICK_SECONDS,
 * learned again after half their TTL (at least MAP_REFRESH_MIN s), MAP_RETRY_SECONDS after a
 * failure; at most half of upgrade-max of them, so the LAN's domains always find room. */
#define MAP_PARALLEL 8
#define MAP_TICK_SECONDS 5
#define MAP_REFRESH_MIN 30
#define MAP_RETRY_SECONDS 30

struct mxupgrade_learn {
	struct mxupgrade *u;
	char domain[UPGRADE_NAME_MAX + 1];
	bool has_target;
	struct upgrade_target target;
	bool trusted; /* named by the map file: every MX host is claimed */
	uint32_t min_ttl;
	struct mxhosts_job *job;
	mxupgrade_done_fn *done;
	void *arg;
};

/* A map file domain in mx-mode upgrade, kept learned. */
struct map_domain {
	struct mxupgrade *u;
	char domain[UPGRADE_NAME_MAX + 1];
	struct onion_mx onion;
	time_t due;
	struct mxupgrade_learn *learn; /* NULL: not being learned */
};

struct mxupgrade {
	struct event_base *base;
	const struct config *cfg;
	struct onionmap *map;
	struct nftd *nftd;
	struct upgrade *table;
	struct event *sweep;
	const struct mxupgrade_learn *claiming; /* whose claims on_change is reporting */
	bool install_failed;
	struct map_domain *domains;
	size_t n_domains, n_learning;
	struct event *map_tick;
};

static time_t now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void addr_text(const struct upgrade_addr *a, char *out, size_t len)
{
	inet_ntop(a->family, a->bytes, out, (socklen_t)len);
}

/* ---- the table and the nft sets ---- */

static void set_add(struct mxupgrade *u, const struct upgrade_addr *addr, const char *text, time_t until)
{
	char err[NFTD_ERR_MAX];
	time_t left = until - now_mono() + UPGRADE_NFT_SLACK;
	uint32_t timeout = left < 1 ? 1 : left > NFTD_UPGRADE_TIMEOUT_MAX ? NFTD_UPGRADE_TIMEOUT_MAX : (uint32_t)left;
	if (nftd_upgrade(u->nftd, addr->family, addr->bytes, timeout, err) < 0) {
		stats_bump(STAT_UPGRADE_NFT_ERRORS);
		log_err("upgrade: cannot add %s to the nft upgrade set: %s", text, err);
		u->install_failed = true;
	}
}

static void set_delete(struct mxupgrade *u, const struct upgrade_addr *addr, const char *text)
{
	char err[NFTD_ERR_MAX];
	if (nftd_upgrade(u->nftd, addr->family, addr->bytes, 0, err) < 0) {
		stats_bump(STAT_UPGRADE_NFT_ERRORS);
		log_err("upgrade: cannot take %s out of the nft upgrade set: %s", text, err);
	}
}

static void on_change(void *arg, const struct upgrade_addr *addr, enum upgrade_state before, enum upgrade_state after,
		      time_t until)
{
	struct mxupgrade *u = arg;
	char text[INET6_ADDRSTRLEN];
	addr_text(addr, text, sizeof(text));
	if (after == UPGRADE_ONION) {
		set_add(u, addr, text, until);
		const struct upgrade_target *t = upgrade_lookup(u->table, addr, now_mono());
		if (before != UPGRADE_ONION && t != NULL)
			log_notice("upgrade: %s port 25 -> %s:%u (%s)", text, t->host, t->port,
				   u->claiming != NULL ? u->claiming->domain : "a conflicting claim ended");
	} else if (before == UPGRADE_ONION) {
		set_delete(u, addr, text);
		log_info("upgrade: %s port 25 no longer upgraded (%s)", text,
			 after == UPGRADE_AMBIGUOUS ? "ambiguous" : "its claims ended");
	}
	if (after == UPGRADE_AMBIGUOUS) {
		stats_bump(STAT_UPGRADE_AMBIGUOUS);
		log_notice("upgrade: %s is ambiguous: an MX address of domains with different onion MX hosts, or with "
			   "and without one: not upgraded",
			   text);
	}
}

static void schedule_sweep(struct mxupgrade *u)
{
	time_t next = upgrade_next_expiry(u->table), now = now_mono();
	struct timeval tv = { next > now ? next - now : 1, 0 };
	evtimer_del(u->sweep);
	if (next != 0)
		evtimer_add(u->sweep, &tv);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct mxupgrade *u = arg;
	(void)fd;
	(void)what;
	upgrade_sweep(u->table, now_mono());
	schedule_sweep(u);
}

/* ---- learning a domain ---- */

static bool in_domain(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);
	return strcmp(host, domain) == 0 || (h > d && host[h - d - 1] == '.' && strcmp(host + h - d, domain) == 0);
}

static uint32_t claim_ttl(const struct mxupgrade_learn *l, const struct mxhosts_result *res)
{
	uint32_t ttl = res->ttl > l->min_ttl ? res->ttl : l->min_ttl;
	return (ttl > UPGRADE_TTL_MAX ? UPGRADE_TTL_MAX : ttl) + UPGRADE_GRACE;
}

/* Claims every address of res the learn may claim; false when one it must could not be. */
static bool claim_all(struct mxupgrade_learn *l, const struct mxhosts_result *res)
{
	struct mxupgrade *u = l->u;
	const struct upgrade_target *target = l->has_target ? &l->target : NULL;
	time_t now = now_mono();
	uint32_t ttl = claim_ttl(l, res);
	size_t foreign = 0;
	bool ok = true;
	u->claiming = l;
	u->install_failed = false;
	for (size_t i = 0; i < res->n_addrs; i++) {
		const struct mxhosts_addr *a = &res->addrs[i];
		char text[INET6_ADDRSTRLEN];
		if (target != NULL && !l->trusted && !in_domain(res->hosts.name[a->host], l->domain)) {
			foreign++;
			continue;
		}
		if (upgrade_claim(u->table, l->domain, &a->addr, target, now, ttl) != UPGRADE_FULL)
			continue;
		stats_bump(STAT_UPGRADE_FULL);
		addr_text(&a->addr, text, sizeof(text));
		log_warn("upgrade: the table is full (upgrade-max %zu): %s of %s not claimed", u->cfg->upgrade_max, text,
			 l->domain);
		ok = target == NULL;
	}
	u->claiming = NULL;
	if (u->install_failed && target != NULL)
		ok = false;
	if (foreign > 0) {
		stats_add(STAT_UPGRADE_FOREIGN_HOSTS, foreign);
		log_notice("upgrade: %s: %zu address%s of MX hosts outside the domain not upgraded (its onion MX comes "
			   "from SRV, which speaks for the domain's own hosts only)",
			   l->domain, foreign, foreign > 1 ? "es" : "");
	}
	schedule_sweep(u);
	return ok;
}

static void on_hosts(const struct mxhosts_result *res, void *arg)
{
	struct mxupgrade_learn *l = arg;
	bool ok;
	if (res->failed) {
		stats_bump(STAT_UPGRADE_LEARN_FAILED);
		log_info("upgrade: the MX hosts of %s could not be looked up%s", l->domain,
			 l->has_target ? ": its MX query fails (SERVFAIL), the mail waits" : "");
		ok = !l->has_target;
	} else {
		stats_bump(STAT_UPGRADE_LEARNED);
		ok = claim_all(l, res);
	}
	l->done(l->arg, ok, res->ttl);
	free(l);
}

struct mxupgrade_learn *mxupgrade_learn(struct mxupgrade *u, const char *domain, const struct onion_mx *onion,
					uint32_t min_ttl, mxupgrade_done_fn *done, void *arg)
{
	struct mxupgrade_learn *l = calloc(1, sizeof(*l));
	const struct mapfile *file = onionmap_file(u->map);
	if (l == NULL || strlen(domain) > UPGRADE_NAME_MAX) {
		free(l);
		done(arg, onion == NULL, 0);
		return NULL;
	}
	*l = (struct mxupgrade_learn){ .u = u, .min_ttl = min_ttl, .done = done, .arg = arg };
	memcpy(l->domain, domain, strlen(domain) + 1);
	if (onion != NULL) {
		l->has_target = true;
		memcpy(l->target.host, onion->host, sizeof(onion->host));
		l->target.port = onion->port;
		l->trusted = file != NULL && mapfile_lookup(file, domain) != NULL;
	}
	struct mxhosts_job *job = mxhosts_start(u->map, domain, on_hosts, l);
	if (job == NULL)
		return NULL; /* on_hosts has run and freed l */
	l->job = job;
	return l;
}

void mxupgrade_cancel(struct mxupgrade_learn *l)
{
	mxhosts_cancel(l->job);
	free(l);
}

/* ---- the map file's domains ---- */

static void map_learned(void *arg, bool ok, uint32_t ttl)
{
	struct map_domain *md = arg;
	struct mxupgrade *u = md->u;
	uint32_t again = ttl / 2 > MAP_REFRESH_MIN ? ttl / 2 : MAP_REFRESH_MIN;
	md->learn = NULL;
	md->due = now_mono() + (ok ? again : MAP_RETRY_SECONDS);
	u->n_learning--;
}

/* Starts the due domains, MAP_PARALLEL at most at once. */
static void map_kick(struct mxupgrade *u)
{
	time_t now = now_mono();
	for (size_t i = 0; i < u->n_domains && u->n_learning < MAP_PARALLEL; i++) {
		struct map_domain *md = &u->domains[i];
		if (md->learn != NULL || md->due > now)
			continue;
		u->n_learning++;
		md->learn = mxupgrade_learn(u, md->domain, &md->onion, 0, map_learned, md);
	}
}

static void on_map_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	map_kick(arg);
}

static void map_clear(struct mxupgrade *u)
{
	for (size_t i = 0; i < u->n_domains; i++)
		if (u->domains[i].learn != NULL)
			mxupgrade_cancel(u->domains[i].learn);
	free(u->domains);
	u->domains = NULL;
	u->n_domains = u->n_learning = 0;
	evtimer_del(u->map_tick);
}

/* The map file's own domains (not its ".sub" patterns) in mx-mode upgrade, learned from now on. */
static void map_load(struct mxupgrade *u)
{
	const struct mapfile *file = onionmap_file(u->map);
	size_t max = u->cfg->upgrade_max / 2, skipped = 0;
	struct timeval tick = { MAP_TICK_SECONDS, 0 };
	map_clear(u);
	if (file == NULL || file->n == 0 || (u->domains = calloc(file->n, sizeof(*u->domains))) == NULL)
		return;
	for (size_t i = 0; i < file->n; i++) {
		const struct map_entry *e = &file->entries[i];
		if (e->domain[0] == '.' || config_mx_mode(u->cfg, e->domain) != MX_MODE_UPGRADE ||
		    strlen(e->domain) > UPGRADE_NAME_MAX)
			continue;
		if (u->n_domains == max) {
			skipped++;
			continue;
		}
		struct map_domain *md = &u->domains[u->n_domains++];
		*md = (struct map_domain){ .u = u, .onion = { .port = e->port } };
		memcpy(md->domain, e->domain, strlen(e->domain) + 1);
		memcpy(md->onion.host, e->onion, sizeof(e->onion));
	}
	if (skipped > 0)
		log_warn("upgrade: %zu map file domains beyond half of upgrade-max (%zu) are learned only from MX queries",
			 skipped, u->cfg->upgrade_max);
	if (u->n_domains > 0) {
		log_info("upgrade: learning the MX hosts of %zu map file domains", u->n_domains);
		event_add(u->map_tick, &tick);
		map_kick(u);
	}
}

/* ---- life ---- */

struct mxupgrade *mxupgrade_new(struct event_base *base, const struct config *cfg, struct onionmap *map,
				struct nftd *nftd)
{
	struct mxupgrade *u = calloc(1, sizeof(*u));
	uint8_t key[UPGRADE_KEY_LEN];
	if (u == NULL)
		return NULL;
	evutil_secure_rng_get_bytes(key, sizeof(key));
	*u = (struct mxupgrade){ .base = base, .cfg = cfg, .map = map, .nftd = nftd };
	u->table = upgrade_new(cfg->upgrade_max, key, UPGRADE_NFT_SLACK, on_change, u);
	u->sweep = evtimer_new(base, on_sweep, u);
	u->map_tick = event_new(base, -1, EV_PERSIST, on_map_tick, u);
	if (u->table == NULL || u->sweep == NULL || u->map_tick == NULL) {
		mxupgrade_free(u);
		return NULL;
	}
	map_load(u);
	return u;
}

static bool left_upgrade(const char *domain, void *arg)
{
	const struct mxupgrade *u = arg;
	return config_mx_mode(u->cfg, domain) != MX_MODE_UPGRADE;
}

void mxupgrade_reconfigure(struct mxupgrade *u, const struct config *cfg)
{
	u->cfg = cfg;
	size_t dropped = upgrade_drop(u->table, left_upgrade, u, now_mono());
	if (dropped > 0)
		log_info("upgrade: %zu claims of domains no longer in mx-mode upgrade dropped", dropped);
	schedule_sweep(u);
	map_load(u);
}

void mxupgrade_free(struct mxupgrade *u)
{
	if (u == NULL)
		return;
	if (u->map_tick != NULL) {
		map_clear(u);
		event_free(u->map_tick);
	}
	if (u->sweep != NULL)
		event_free(u->sweep);
	upgrade_free(u->table);
	free(u);
}

const struct upgrade_target *mxupgrade_lookup(struct mxupgrade *u, int family, const uint8_t *addr)
{
	struct upgrade_addr a = { .family = family };
	memcpy(a.bytes, addr, family == AF_INET ? 4 : 16);
	return upgrade_lookup(u->table, &a, now_mono());
}
