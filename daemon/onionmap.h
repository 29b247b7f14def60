/* SPDX-License-Identifier: ISC */
/* onionmap: which mail domains have onion MX hosts: the map file, SRV _onion-mx._tcp discovery
 * through libunbound on the daemon's loop (DNSSEC policy), a TTL cache, and MX policy. */
#ifndef OG_ONIONMAP_H
#define OG_ONIONMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "mapfile.h"
#include "onion.h"

#define ONIONMAP_MAX_MX 8

struct onion_mx {
	char host[ONION_NAME_LEN + 1];
	uint16_t priority, weight, port;
};

enum onionmap_security { ONIONMAP_INSECURE, ONIONMAP_SECURE, ONIONMAP_BOGUS /* only when dnssec is on */ };
/* Where an answer came from: a map file line, an SRV answer, or nothing that applies (no map line,
 * and discovery off or not asked: an onion name, a name it cannot hold). */
enum onionmap_source { ONIONMAP_FROM_NONE, ONIONMAP_FROM_MAP, ONIONMAP_FROM_SRV };

struct onionmap_result {
	size_t n;                 /* 0: the domain has no onion MX */
	bool failed;              /* the discovery itself failed: nobody knows yet (SERVFAIL) */
	struct onion_mx mx[ONIONMAP_MAX_MX];
	enum mx_policy policy;
	uint32_t ttl;
	enum onionmap_source source;
	int map_line;                    /* FROM_MAP: the map file's line */
	enum onionmap_security security; /* FROM_SRV: the SRV answer's DNSSEC state */
	bool refused;                    /* FROM_SRV: onion hosts were named, the dnssec setting refused them (n 0) */
};

struct activity;
struct onionmap;
struct onionmap_query;
struct onionmap_next;

typedef void onionmap_cb(const struct onionmap_result *res, void *arg);

/* Loads cfg's map file (NULL and err when it is bad) and prepares SRV discovery, forwarding to
 * servers (cfg's dns-upstream, or what its dns-upstream-file names; none: no discovery). */
struct onionmap *onionmap_new(struct event_base *base, const struct config *cfg, const struct config_sockaddr *servers,
			       size_t n, char err[MAPFILE_ERR_MAX]);
void onionmap_free(struct onionmap *m);
/* A reload in two steps. prepare takes file (cfg's map file, already parsed, or NULL) and builds
 * what cfg asks for without touching the running map: a new libunbound context with cfg's
 * upstreams, DNSSEC mode and trust anchor. NULL and "file:line: why" in err when it cannot.
 * commit puts it in force: the SRV cache is emptied (decided under the old policy and
 * upstreams), and discoveries still running on the old context end as failures (their waiters
 * get res->failed: SERVFAIL, the MTA retries). abandon frees what prepare made. */
struct onionmap_next *onionmap_prepare(struct onionmap *m, const struct config *cfg, struct mapfile *file,
				       const struct config_sockaddr *servers, size_t n, char err[MAPFILE_ERR_MAX]);
void onionmap_commit(struct onionmap *m, struct onionmap_next *next);
void onionmap_abandon(struct onionmap_next *next);
/* The dns-upstream-file changed: a new context forwarding to servers replaces the running one,
 * as a commit does (cache emptied, running discoveries fail). -1 and err when it cannot be made:
 * the running one stays. */
int onionmap_set_upstreams(struct onionmap *m, const struct config_sockaddr *servers, size_t n, char err[MAPFILE_ERR_MAX]);
/* Answers from the map or the cache at once (returns NULL after calling cb), or starts a
 * discovery and calls cb later (returns a handle for onionmap_cancel). */
struct onionmap_query *onionmap_lookup(struct onionmap *m, const char *domain, onionmap_cb *cb, void *arg);
void onionmap_cancel(struct onionmap_query *q);
typedef void onionmap_answer_cb(void *arg, int rcode, const uint8_t *pkt, size_t len, enum onionmap_security sec);
/* Any lookup through the discovery's libunbound context (its upstreams, its trust anchor): cb is
 * called once, perhaps before this returns, with the answer (pkt NULL when there is none); -1
 * when there is no context (no dns-upstream) or libunbound refuses, and cb is not called. A
 * reload or onionmap_free ends the lookups still running with SERVFAIL. */
int onionmap_resolve(struct onionmap *m, const char *name, uint16_t type, onionmap_answer_cb *cb, void *arg);
/* Discovery times go to a's histogram (borrowed; it must outlive m). */
void onionmap_set_activity(struct onionmap *m, struct activity *a);
/* SRV answers cached now (positive, negative and failed). */
size_t onionmap_cache_size(const struct onionmap *m);
/* The map file in force (NULL: none); valid until the next onionmap_commit. */
const struct mapfile *onionmap_file(const struct onionmap *m);
/* One domain -> onion MX pair the map knows: a map file line, or an onion of a cached SRV answer. */
struct onionmap_pair {
	const char *domain;
	const char *onion;
	enum onionmap_source source;
	int line;			 /* FROM_MAP: the map file's line */
	enum onionmap_security security; /* FROM_SRV: the SRV answer's DNSSEC state */
	time_t expires;			 /* FROM_SRV: wall-clock seconds */
};
/* Calls fn for each pair: the map file's lines in order, then the answered SRV discoveries in the
 * cache (not those under way), most recently used first. */
void onionmap_each_pair(const struct onionmap *m, void (*fn)(const struct onionmap_pair *p, void *arg), void *arg);
/* Calls fn for each onion of the map file, at most max of them; returns how many. */
size_t onionmap_each_mapped(const struct onionmap *m, size_t max, void (*fn)(const char *onion, void *arg), void *arg);

#endif
