/* SPDX-License-Identifier: ISC */
/* nft: the daemon's own nftables table "inet oniongate" through libnftnl/libmnl: LAN TCP to
 * the pools, and to port 25 of the addresses in the upgrade sets, redirected to the transparent
 * port, optional DNS redirect, anything else to the pools dropped. Installed whole (replacing a
 * stale one), checked, and removed at exit; the upgrade sets' elements change one at a time. */
#include "nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

/* Room for one message: the longest one built here (a redirect with an interface, an IPv6 pool
 * and a port) takes under 700 bytes; a message that outgrows its room fails the batch. */
#define NFT_MSG_ROOM 1024
/* Messages besides the rules: begin, three table commands, three chains, two sets, end. */
#define NFT_MSGS_AROUND_RULES 10
/* nft's numbers for the key types ipv4_addr and ipv6_addr, so that `nft list` names them. */
#define NFT_KEY_IPV4_ADDR 7
#define NFT_KEY_IPV6_ADDR 8
#define SET_ID_V4 1
#define SET_ID_V6 2
#define SMTP_PORT 25
#define NFT_TIMEOUT_SECONDS 5
#define NFT_RECV_BYTES 32768

/* One netlink batch in a buffer sized for the messages it will hold; it never grows. */
struct batch {
	char *buf;
	size_t cap, len, last; /* last: offset of the latest command */
	uint32_t seq;
	bool overflow;
	char spill[NFT_MSG_ROOM]; /* where a message beyond the room is built: never sent */
};

static int batch_begin(struct batch *bt, size_t messages)
{
	bt->cap = messages * NFT_MSG_ROOM;
	bt->len = bt->last = 0;
	bt->overflow = false;
	bt->seq = (uint32_t)time(NULL);
	/* Zeroed: libmnl leaves the padding after an attribute as it finds it. */
	if ((bt->buf = calloc(1, bt->cap)) == NULL)
		return -1;
	bt->len = nftnl_batch_begin(bt->buf, bt->seq++)->nlmsg_len;
	return 0;
}

/* Where the next message is built: in the batch, or in the spill area once it is full. */
static char *batch_room(struct batch *bt)
{
	if (bt->overflow || bt->cap - bt->len < NFT_MSG_ROOM) {
		bt->overflow = true;
		return bt->spill;
	}
	return bt->buf + bt->len;
}

static struct nlmsghdr *batch_msg(struct batch *bt, int type)
{
	uint16_t flags = 0;
	if (type != NFT_MSG_DELTABLE && type != NFT_MSG_DELSETELEM)
		flags |= NLM_F_CREATE;
	if (type == NFT_MSG_NEWRULE)
		flags |= NLM_F_APPEND;
	return nftnl_nlmsg_build_hdr(batch_room(bt), (uint16_t)type, NFPROTO_INET, flags, bt->seq++);
}

static void batch_next(struct batch *bt)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)batch_room(bt);
	if (h->nlmsg_len > NFT_MSG_ROOM)
		bt->overflow = true;
	if (bt->overflow)
		return;
	bt->last = bt->len;
	bt->len += h->nlmsg_len;
}

static int nl_open(struct mnl_socket **nl, size_t send_bytes)
{
	const struct timeval timeout = { NFT_TIMEOUT_SECONDS, 0 };
	int on = 1, sndbuf = (int)send_bytes;
	*nl = mnl_socket_open(NETLINK_NETFILTER);
	if (*nl == NULL || mnl_socket_bind(*nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -1;
	int fd = mnl_socket_get_fd(*nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
	    mnl_socket_setsockopt(*nl, NETLINK_CAP_ACK, &on, sizeof(on)) < 0)
		return -1;
	/* A netlink write longer than the socket's send buffer fails (EMSGSIZE). */
	if (send_bytes > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		return -1;
	return 0;
}

/* Reads until the ack of the message numbered last_seq. The kernel reports a failed commit and
 * every failed message before that ack, and nothing for the others: they asked for no ack. */
static int read_ack(struct mnl_socket *nl, uint32_t last_seq)
{
	char buf[NFT_RECV_BYTES];
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n <= 0)
			return -1;
		int left = (int)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
			if (e->error != 0) {
				errno = -e->error;
				return -1;
			}
			if (e->msg.nlmsg_seq == last_seq)
				return 0;
		}
	}
}

/* Sends the batch in one write, the last command asking for the only ack; 0 when the kernel
 * committed it whole. Frees the batch. */
static int batch_send(struct batch *bt)
{
	struct mnl_socket *nl = NULL;
	int rc = -1;
	struct nlmsghdr *last = (struct nlmsghdr *)(bt->buf + bt->last);
	char *end = batch_room(bt);
	if (bt->overflow || bt->last == 0) {
		errno = EMSGSIZE;
		goto out;
	}
	last->nlmsg_flags |= NLM_F_ACK;
	bt->len += nftnl_batch_end(end, bt->seq++)->nlmsg_len;
	if (nl_open(&nl, bt->len) < 0 || mnl_socket_sendto(nl, bt->buf, bt->len) < 0)
		goto out;
	rc = read_ack(nl, last->nlmsg_seq);
out:
	if (nl != NULL)
		mnl_socket_close(nl);
	free(bt->buf);
	return rc;
}

static void add_table(struct batch *bt, int type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME);
	nftnl_table_nlmsg_build_payload(batch_msg(bt, type), t);
	batch_next(bt);
	nftnl_table_free(t);
}

static void add_chain(struct batch *bt, const char *name, const char *type, int hook, int prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE_NAME);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_nlmsg_build_payload(batch_msg(bt, NFT_MSG_NEWCHAIN), c);
	batch_next(bt);
	nftnl_chain_free(c);
}

/* An upgrade set: addresses of one family, each with its own timeout. */
static void add_set(struct batch *bt, int family)
{
	struct nftnl_set *s = nftnl_set_alloc();
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, family == AF_INET ? NFT_UPGRADE_SET_V4 : NFT_UPGRADE_SET_V6);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, family == AF_INET ? SET_ID_V4 : SET_ID_V6);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, family == AF_INET ? NFT_KEY_IPV4_ADDR : NFT_KEY_IPV6_ADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, family == AF_INET ? 4 : 16);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT);
	nftnl_set_nlmsg_build_payload(batch_msg(bt, NFT_MSG_NEWSET), s);
	batch_next(bt);
	nftnl_set_free(s);
}

static void expr_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

static void expr_cmp(struct nftnl_rule *r, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

static void expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

/* reg1 = reg1 & mask, then compared with the network address. */
static void expr_prefix(struct nftnl_rule *r, const uint8_t *net, int prefix, uint32_t len)
{
	uint8_t mask[16] = { 0 }, zero[16] = { 0 }, masked[16];
	for (int bit = 0; bit < prefix; bit++)
		mask[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	for (uint32_t i = 0; i < len; i++)
		masked[i] = net[i] & mask[i];
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	nftnl_rule_add_expr(r, e);
	expr_cmp(r, masked, len);
}

static void match_iifname(struct nftnl_rule *r, const char *ifname)
{
	char name[16] = { 0 };
	strncpy(name, ifname, sizeof(name) - 1);
	expr_meta(r, NFT_META_IIFNAME);
	expr_cmp(r, name, (uint32_t)strlen(name) + 1);
}

static void match_pool(struct nftnl_rule *r, const struct config_net *pool)
{
	uint8_t proto = pool->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	expr_meta(r, NFT_META_NFPROTO);
	expr_cmp(r, &proto, 1);
	if (pool->family == AF_INET) {
		expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
		expr_prefix(r, pool->addr, pool->prefix, 4);
	} else {
		expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 24, 16);
		expr_prefix(r, pool->addr, pool->prefix, 16);
	}
}

/* The destination address is in the upgrade set of its family. */
static void match_upgrade_set(struct nftnl_rule *r, int family)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	expr_meta(r, NFT_META_NFPROTO);
	expr_cmp(r, &proto, 1);
	expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, family == AF_INET ? 16 : 24, family == AF_INET ? 4 : 16);
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, family == AF_INET ? NFT_UPGRADE_SET_V4 : NFT_UPGRADE_SET_V6);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, family == AF_INET ? SET_ID_V4 : SET_ID_V6);
	nftnl_rule_add_expr(r, e);
}

static void match_l4(struct nftnl_rule *r, uint8_t proto, int dport)
{
	expr_meta(r, NFT_META_L4PROTO);
	expr_cmp(r, &proto, 1);
	if (dport > 0) {
		uint16_t p = htons((uint16_t)dport);
		expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
		expr_cmp(r, &p, 2);
	}
}

static void redirect_to(struct nftnl_rule *r, uint16_t port)
{
	uint16_t p = htons(port);
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &p, 2);
	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("redir");
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

static void drop(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	nftnl_rule_add_expr(r, e);
}

static struct nftnl_rule *rule_new(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static void rule_add(struct batch *bt, struct nftnl_rule *r, int *count)
{
	nftnl_rule_nlmsg_build_payload(batch_msg(bt, NFT_MSG_NEWRULE), r);
	batch_next(bt);
	nftnl_rule_free(r);
	(*count)++;
}

static uint16_t dns_port(const struct config *cfg)
{
	const struct sockaddr_storage *ss = &cfg->dns_listen[0].ss;
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* One rule per (LAN interface, pool, port) and per (LAN interface, upgrade set): no anonymous
 * set objects needed. */
static size_t rules_wanted(const struct config *cfg)
{
	size_t n_if = cfg->n_lan_interfaces ? cfg->n_lan_interfaces : 1;
	size_t n_ports = cfg->n_redirect_ports ? cfg->n_redirect_ports : 1;
	return n_if * (2 * n_ports + 2 + (cfg->nft_dns_redirect ? 2 : 0)) + 4;
}

static void add_redirects(struct batch *bt, const struct config *cfg, int *count)
{
	const struct config_net *pools[2] = { &cfg->pool_v4, &cfg->pool_v6 };
	size_t n_if = cfg->n_lan_interfaces ? cfg->n_lan_interfaces : 1;
	size_t n_ports = cfg->n_redirect_ports ? cfg->n_redirect_ports : 1;
	for (size_t i = 0; i < n_if; i++) {
		for (int p = 0; p < 2; p++) {
			for (size_t k = 0; k < n_ports; k++) {
				struct nftnl_rule *r = rule_new("prerouting");
				if (cfg->n_lan_interfaces)
					match_iifname(r, cfg->lan_interfaces[i]);
				match_pool(r, pools[p]);
				match_l4(r, IPPROTO_TCP, cfg->n_redirect_ports ? cfg->redirect_ports[k] : 0);
				redirect_to(r, cfg->transparent_port);
				rule_add(bt, r, count);
			}
		}
		for (int f = 0; f < 2; f++) {
			struct nftnl_rule *r = rule_new("prerouting");
			if (cfg->n_lan_interfaces)
				match_iifname(r, cfg->lan_interfaces[i]);
			match_upgrade_set(r, f == 0 ? AF_INET : AF_INET6);
			match_l4(r, IPPROTO_TCP, SMTP_PORT);
			redirect_to(r, cfg->transparent_port);
			rule_add(bt, r, count);
		}
		if (!cfg->nft_dns_redirect)
			continue;
		const uint8_t protos[2] = { IPPROTO_UDP, IPPROTO_TCP };
		for (int k = 0; k < 2; k++) {
			struct nftnl_rule *r = rule_new("prerouting");
			if (cfg->n_lan_interfaces)
				match_iifname(r, cfg->lan_interfaces[i]);
			match_l4(r, protos[k], 53);
			redirect_to(r, dns_port(cfg));
			rule_add(bt, r, count);
		}
	}
	for (const char *const *chain = (const char *const[]){ "forward", "output", NULL }; *chain; chain++) {
		for (int p = 0; p < 2; p++) {
			struct nftnl_rule *r = rule_new(*chain);
			match_pool(r, pools[p]);
			drop(r);
			rule_add(bt, r, count);
		}
	}
}

int nft_install(const struct config *cfg)
{
	struct batch bt;
	int count = 0;
	if (batch_begin(&bt, rules_wanted(cfg) + NFT_MSGS_AROUND_RULES) < 0)
		return -1;
	/* Add, delete, add: a table left by a crash goes, and the delete never fails. */
	add_table(&bt, NFT_MSG_NEWTABLE);
	add_table(&bt, NFT_MSG_DELTABLE);
	add_table(&bt, NFT_MSG_NEWTABLE);
	add_chain(&bt, "prerouting", "nat", NF_INET_PRE_ROUTING, -100);
	add_chain(&bt, "forward", "filter", NF_INET_FORWARD, 0);
	add_chain(&bt, "output", "filter", NF_INET_LOCAL_OUT, 0);
	add_set(&bt, AF_INET);
	add_set(&bt, AF_INET6);
	add_redirects(&bt, cfg, &count);
	return batch_send(&bt) < 0 ? -1 : count;
}

static int count_rule(const struct nlmsghdr *h, void *arg)
{
	(void)h;
	(*(int *)arg)++;
	return MNL_CB_OK;
}

int nft_rule_count(void)
{
	struct mnl_socket *nl = NULL;
	char buf[NFT_RECV_BYTES] = { 0 };
	uint32_t seq = (uint32_t)time(NULL);
	int count = 0, rc = -1;
	if (nl_open(&nl, 0) < 0)
		goto out;
	struct nlmsghdr *h = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, seq);
	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
	nftnl_rule_nlmsg_build_payload(h, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0)
		goto out;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n <= 0)
			goto out;
		int cb = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), count_rule, &count);
		if (cb < 0)
			goto out;
		if (cb == MNL_CB_STOP)
			break;
	}
	rc = count;
out:
	if (nl != NULL)
		mnl_socket_close(nl);
	return rc;
}

int nft_remove(void)
{
	struct batch bt;
	if (batch_begin(&bt, 1 + 2) < 0)
		return -1;
	add_table(&bt, NFT_MSG_DELTABLE);
	return batch_send(&bt);
}

/* One element command on an upgrade set: the address, with its timeout when adding. */
static void set_element(struct batch *bt, int type, int family, const uint8_t *addr, uint32_t timeout)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, family == AF_INET ? NFT_UPGRADE_SET_V4 : NFT_UPGRADE_SET_V6);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, addr, family == AF_INET ? 4 : 16);
	if (timeout > 0)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, (uint64_t)timeout * 1000);
	nftnl_set_elem_add(s, e);
	nftnl_set_elems_nlmsg_build_payload(batch_msg(bt, type), s);
	batch_next(bt);
	nftnl_set_free(s);
}

/* Add (without EXCL: a present element stays), delete, add: one transaction that leaves the
 * element with the new timeout whether or not it was there, on kernels that cannot update one. */
int nft_upgrade_add(int family, const uint8_t *addr, uint32_t timeout)
{
	struct batch bt;
	if ((family != AF_INET && family != AF_INET6) || timeout == 0) {
		errno = EINVAL;
		return -1;
	}
	if (batch_begin(&bt, 3 + 2) < 0)
		return -1;
	set_element(&bt, NFT_MSG_NEWSETELEM, family, addr, timeout);
	set_element(&bt, NFT_MSG_DELSETELEM, family, addr, 0);
	set_element(&bt, NFT_MSG_NEWSETELEM, family, addr, timeout);
	return batch_send(&bt);
}

/* An element the kernel has already timed out is gone as asked. */
int nft_upgrade_delete(int family, const uint8_t *addr)
{
	struct batch bt;
	if (family != AF_INET && family != AF_INET6) {
		errno = EINVAL;
		return -1;
	}
	if (batch_begin(&bt, 1 + 2) < 0)
		return -1;
	set_element(&bt, NFT_MSG_DELSETELEM, family, addr, 0);
	if (batch_send(&bt) < 0)
		return errno == ENOENT ? 0 : -1;
	return 0;
}
