/* SPDX-License-Identifier: ISC */
/* mxhosts: a mail domain's real MX hosts and their addresses, looked up through the onionmap's
 * validating libunbound context: the MX answer first, then A and AAAA of every host at once. */
#include "mxhosts.h"

#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "onion.h"
#include "stats.h"

/* One lookup's place in its job: which host and type it asks for (the MX lookup is lookup 0). */
struct lookup {
	struct mxhosts_job *job;
	uint8_t host;
	uint16_t type;
};

struct mxhosts_job {
	struct onionmap *map;
	char domain[UPGRADE_NAME_MAX + 1];
	mxhosts_cb *cb;      /* NULL once cancelled */
	void *arg;
	unsigned pending;    /* lookups under way, + 1 while mxhosts_start runs */
	struct mxhosts_result res;
	struct lookup lookups[1 + 2 * MXANSWER_MAX_HOSTS];
};

static void fail(struct mxhosts_job *j)
{
	j->res.failed = true;
}

static void note_ttl(struct mxhosts_job *j, uint32_t ttl)
{
	if (ttl < j->res.ttl)
		j->res.ttl = ttl;
}

/* One lookup ended: the job ends with its last. */
static void release(struct mxhosts_job *j)
{
	if (--j->pending > 0)
		return;
	if (j->res.ttl == UINT32_MAX)
		j->res.ttl = 0;
	if (j->cb != NULL)
		j->cb(&j->res, j->arg);
	free(j);
}

static void on_answer(void *arg, int rcode, const uint8_t *pkt, size_t len, enum onionmap_security sec);

static void ask(struct mxhosts_job *j, size_t i, const char *name, uint8_t host, uint16_t type)
{
	j->lookups[i] = (struct lookup){ .job = j, .host = host, .type = type };
	j->pending++;
	if (onionmap_resolve(j->map, name, type, on_answer, &j->lookups[i]) < 0) {
		fail(j);
		j->pending--;
	}
}

/* The MX answer's hosts, each asked for its addresses; .onion hosts never leave the box. */
static void read_mx(struct mxhosts_job *j, const uint8_t *pkt, size_t len)
{
	struct mxanswer_hosts all;
	if (mxanswer_read_hosts(pkt, len, j->domain, &all) < 0) {
		stats_bump(STAT_UPGRADE_MALFORMED);
		fail(j);
		return;
	}
	note_ttl(j, all.ttl);
	for (size_t i = 0; i < all.n; i++)
		if (!onion_is_onion_domain(all.name[i]))
			memcpy(j->res.hosts.name[j->res.hosts.n++], all.name[i], sizeof(all.name[i]));
	j->res.hosts.ttl = all.ttl;
	for (size_t h = 0; h < j->res.hosts.n; h++) {
		ask(j, 1 + 2 * h, j->res.hosts.name[h], (uint8_t)h, DNS_TYPE_A);
		ask(j, 2 + 2 * h, j->res.hosts.name[h], (uint8_t)h, DNS_TYPE_AAAA);
	}
}

static void read_addrs(struct mxhosts_job *j, const struct lookup *l, const uint8_t *pkt, size_t len)
{
	struct mxanswer_addrs a;
	if (mxanswer_read_addrs(pkt, len, l->type, &a) < 0) {
		stats_bump(STAT_UPGRADE_MALFORMED);
		fail(j);
		return;
	}
	if (a.n > 0)
		note_ttl(j, a.ttl);
	for (size_t i = 0; i < a.n && j->res.n_addrs < MXHOSTS_MAX_ADDRS; i++)
		j->res.addrs[j->res.n_addrs++] = (struct mxhosts_addr){ .addr = a.addr[i], .host = l->host };
}

static void on_answer(void *arg, int rcode, const uint8_t *pkt, size_t len, enum onionmap_security sec)
{
	struct lookup *l = arg;
	struct mxhosts_job *j = l->job;
	if (j->cb == NULL) {
		release(j);
		return;
	}
	if (sec != ONIONMAP_SECURE)
		j->res.secure = false;
	/* libunbound reports a failed resolution in rcode; the packet's header may not say so. */
	if (sec == ONIONMAP_BOGUS || pkt == NULL || (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN))
		fail(j);
	else if (l->type == DNS_TYPE_MX)
		read_mx(j, pkt, len);
	else
		read_addrs(j, l, pkt, len);
	release(j);
}

struct mxhosts_job *mxhosts_start(struct onionmap *map, const char *domain, mxhosts_cb *cb, void *arg)
{
	struct mxhosts_job *j = calloc(1, sizeof(*j));
	if (j == NULL || strlen(domain) > UPGRADE_NAME_MAX || onion_is_onion_domain(domain)) {
		struct mxhosts_result failed = { .failed = true };
		free(j);
		cb(&failed, arg);
		return NULL;
	}
	j->map = map;
	memcpy(j->domain, domain, strlen(domain) + 1);
	j->cb = cb;
	j->arg = arg;
	j->res.secure = true;
	j->res.ttl = UINT32_MAX;
	j->pending = 1;
	ask(j, 0, domain, 0, DNS_TYPE_MX);
	if (j->pending == 1) {
		release(j);
		return NULL;
	}
	j->pending--;
	return j;
}

void mxhosts_cancel(struct mxhosts_job *job)
{
	job->cb = NULL;
}
