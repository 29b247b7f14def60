/* SPDX-License-Identifier: ISC */
/* upgrade: the real MX addresses (IPv4, IPv6; port 25) that mx-mode upgrade sends to an onion MX,
 * learned as expiring claims by mail domains; no I/O: the caller installs the changes it reports.
 *
 * The ambiguity rule. A claim is (mail domain, address, target, expiry): the address is an MX host
 * address of the domain, and the target is the domain's onion MX (host and port), or none when the
 * domain has no onion MX. A claim lives until its expiry (now + ttl when made); the same domain
 * claiming the same address again renews its claim (new target, the later expiry). Over the live
 * claims of an address, its state is:
 *   NONE       no claim;
 *   PLAIN      only claims without a target: not upgraded;
 *   ONION      every claim names the same target (host case-insensitive, and port): upgraded to it;
 *   AMBIGUOUS  claims with different targets, or with and without one: never upgraded.
 * on_change reports each change of an address's state (made by upgrade_claim, upgrade_sweep and
 * upgrade_drop only, never by lookups): to ONION, the caller adds the address to its redirect set
 * until `until` (the latest expiry of its claims); from ONION, it removes it; to AMBIGUOUS, it logs
 * and counts it, which happens once for as long as the conflicting claims live. An address that
 * stays ONION is reported again (before == after == ONION) when renewed claims outlive the
 * reported `until` by more than the slack: the caller's set entry, made to last `until` + slack,
 * thus never ends before a claim does, and a flood of renewals costs one report per slack.
 *
 * Bounds: at most max_claims claims and max_claims addresses. A live claim is never evicted (an MTA
 * may still use the address it was given); when full, a new claim is refused (UPGRADE_FULL) once the
 * expired ones are dropped. A refused claim that disagrees with an address's live claims still
 * makes that address AMBIGUOUS until the refused claim would have expired, so a full table never
 * upgrades an address it would not upgrade with room. Lookups hash the address (keyed) and walk
 * that address's claims only. */
#ifndef OG_UPGRADE_H
#define OG_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define UPGRADE_NAME_MAX 253 /* a domain or host name without the final dot */
#define UPGRADE_KEY_LEN 16

struct upgrade_addr {
	int family;        /* AF_INET (the first 4 bytes) or AF_INET6 */
	uint8_t bytes[16];
};

struct upgrade_target {
	char host[UPGRADE_NAME_MAX + 1]; /* the onion MX host */
	uint16_t port;                   /* where it listens: 1..65535 */
};

enum upgrade_state { UPGRADE_NONE, UPGRADE_PLAIN, UPGRADE_ONION, UPGRADE_AMBIGUOUS };

enum upgrade_claim_result {
	UPGRADE_CLAIMED, /* a new claim (or one that had expired, made again) */
	UPGRADE_RENEWED, /* the domain's live claim on the address: target replaced, expiry extended */
	UPGRADE_FULL,    /* refused: max_claims live claims (or addresses) */
	UPGRADE_INVALID, /* refused: not AF_INET/AF_INET6, a name empty or too long, or port 0 */
};

typedef void upgrade_change_fn(void *arg, const struct upgrade_addr *addr, enum upgrade_state before,
			       enum upgrade_state after, time_t until);

struct upgrade;

/* NULL when out of memory or max_claims is 0 or above 2^30. Allocates about
 * upgrade_bytes_per_claim() * max_claims at once. */
struct upgrade *upgrade_new(size_t max_claims, const uint8_t key[UPGRADE_KEY_LEN], uint32_t slack,
			    upgrade_change_fn *on_change, void *arg);
void upgrade_free(struct upgrade *t);
/* domain claims addr until now + ttl, for target, or NULL when the domain has no onion MX (times:
 * seconds on one clock for every call; names compare case-insensitively, the caller drops the
 * final dot). */
enum upgrade_claim_result upgrade_claim(struct upgrade *t, const char *domain, const struct upgrade_addr *addr,
					const struct upgrade_target *target, time_t now, uint32_t ttl);
/* Where a connection to addr goes, over the claims live at now (expiry after now): the target
 * when the address is ONION, else NULL. Valid until the next claim or sweep. */
const struct upgrade_target *upgrade_lookup(const struct upgrade *t, const struct upgrade_addr *addr, time_t now);
/* Drops the claims expired at now, reporting each address whose state changes (from ONION: take
 * it out of the redirect set); returns how many claims it dropped. */
size_t upgrade_sweep(struct upgrade *t, time_t now);
/* Ends at now every live claim of a domain for which drop(domain) is true (a reload took the
 * domain out of mx-mode upgrade), reporting as upgrade_sweep does; returns the claims dropped. */
size_t upgrade_drop(struct upgrade *t, bool (*drop)(const char *domain, void *arg), void *arg, time_t now);
/* When to sweep next: no later than the first expiry in the table; 0 when it is empty. */
time_t upgrade_next_expiry(const struct upgrade *t);
size_t upgrade_claims(const struct upgrade *t);
size_t upgrade_bytes_per_claim(void);

#endif
