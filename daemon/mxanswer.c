/* SPDX-License-Identifier: ISC */
/* mxanswer: a mail domain's MX answer read into its mail hosts (RFC 5321 5.1: the implicit MX,
 * RFC 7505: the null MX), and address answers into addresses; no I/O, fuzzed alone. */
#include "mxanswer.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsmsg.h"

/* The reader past the question, which must be (name, type, IN); the rcode in *rcode. */
static int read_head(struct dns_reader *r, const uint8_t *pkt, size_t len, const char *name, uint16_t type)
{
	struct dns_question q;
	if (dns_reader_init(r, pkt, len) < 0 || r->h.qdcount != 1 || dns_read_question(r, &q) < 0)
		return -1;
	if (q.type != type || q.qclass != DNS_CLASS_IN || (name != NULL && strcmp(q.name, name) != 0))
		return -1;
	int rcode = DNS_RCODE(r->h.flags);
	return rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN ? rcode : -1;
}

struct mx {
	uint16_t pref;
	char host[UPGRADE_NAME_MAX + 1];
};

/* Keeps the MAX most preferred (the first read wins a tie), each host once. */
static void keep(struct mx *kept, size_t *n, const struct mx *mx)
{
	size_t i;
	for (i = 0; i < *n; i++)
		if (strcmp(kept[i].host, mx->host) == 0) {
			if (mx->pref < kept[i].pref)
				kept[i].pref = mx->pref;
			return;
		}
	if (*n < MXANSWER_MAX_HOSTS) {
		kept[(*n)++] = *mx;
		return;
	}
	size_t worst = 0;
	for (i = 1; i < *n; i++)
		if (kept[i].pref >= kept[worst].pref)
			worst = i;
	if (mx->pref < kept[worst].pref)
		kept[worst] = *mx;
}

int mxanswer_read_hosts(const uint8_t *pkt, size_t len, const char *domain, struct mxanswer_hosts *out)
{
	struct dns_reader r;
	struct mx kept[MXANSWER_MAX_HOSTS] = { 0 };
	size_t n = 0;
	bool null_mx = false, any = false;
	memset(out, 0, sizeof(*out));
	out->ttl = UINT32_MAX;
	int rcode = read_head(&r, pkt, len, domain, DNS_TYPE_MX);
	if (rcode < 0)
		return -1;
	for (unsigned i = 0; i < r.h.ancount; i++) {
		struct dns_rr rr;
		struct mx mx;
		char host[DNS_NAME_MAX];
		if (dns_read_rr(&r, &rr) < 0)
			return -1;
		if (rr.type != DNS_TYPE_MX || rr.rclass != DNS_CLASS_IN || strcmp(rr.name, domain) != 0)
			continue;
		if (dns_rdata_u16(&r, &rr, 0, &mx.pref) < 0 || dns_rdata_name(&r, &rr, 2, host, sizeof(host)) < 0)
			return -1;
		any = true;
		if (rr.ttl < out->ttl)
			out->ttl = rr.ttl;
		if (host[0] == '\0') {
			null_mx = true;
			continue;
		}
		if (strlen(host) > UPGRADE_NAME_MAX || strchr(host, '\\') != NULL)
			continue;
		memcpy(mx.host, host, strlen(host) + 1);
		keep(kept, &n, &mx);
	}
	if (rcode == DNS_RCODE_NXDOMAIN || null_mx)
		return 0;
	if (!any) {
		if (strlen(domain) > UPGRADE_NAME_MAX || domain[0] == '\0')
			return 0;
		memcpy(out->name[0], domain, strlen(domain) + 1);
		out->n = 1;
		return 0;
	}
	/* By preference: insertion sort, stable, at most 8. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && kept[j].pref < kept[j - 1].pref; j--) {
			struct mx t = kept[j];
			kept[j] = kept[j - 1];
			kept[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		memcpy(out->name[i], kept[i].host, sizeof(out->name[i]));
	out->n = n;
	return 0;
}

int mxanswer_read_addrs(const uint8_t *pkt, size_t len, uint16_t type, struct mxanswer_addrs *out)
{
	struct dns_reader r;
	size_t alen = type == DNS_TYPE_A ? 4 : 16;
	memset(out, 0, sizeof(*out));
	out->ttl = UINT32_MAX;
	if ((type != DNS_TYPE_A && type != DNS_TYPE_AAAA) || read_head(&r, pkt, len, NULL, type) < 0)
		return -1;
	for (unsigned i = 0; i < r.h.ancount; i++) {
		struct dns_rr rr;
		if (dns_read_rr(&r, &rr) < 0)
			return -1;
		if (rr.type != type || rr.rclass != DNS_CLASS_IN)
			continue;
		if (rr.rdlen != alen)
			return -1;
		if (rr.ttl < out->ttl)
			out->ttl = rr.ttl;
		if (out->n == MXANSWER_MAX_ADDRS)
			continue;
		struct upgrade_addr *a = &out->addr[out->n++];
		a->family = type == DNS_TYPE_A ? AF_INET : AF_INET6;
		memcpy(a->bytes, pkt + rr.rdata, alen);
	}
	return 0;
}
