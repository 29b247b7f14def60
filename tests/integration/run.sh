#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Integration tests: builds one world (namespaces + one private Tor network) and runs every
# test_*.sh in it, in order, sharing that network; ends with "N passed, N failed".
set -uo pipefail

. "$(dirname "$0")/../lib/all.sh"

if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root (network namespaces)" >&2
	exit 1
fi

og_init integration
# lan (192.0.2.10, and 203.0.113.10 outside the client networks) -- gw -- wan (198.51.100.0/24)
LAN_OUTSIDER_ADDR=203.0.113.10
og_world
ip -n "$LAN_NS" addr add "$LAN_OUTSIDER_ADDR/24" dev "$LAN_IF"
ip -n "$GW_NS" route add 203.0.113.0/24 dev "$GW_LAN_IF"
ip -n "$LAN_NS" addr add fd00:0:0:1::10/64 dev "$LAN_IF" nodad
ip -n "$GW_NS" addr add fd00:0:0:1::1/64 dev "$GW_LAN_IF" nodad
ip -n "$LAN_NS" -6 route add default via fd00:0:0:1::1

# Every DNS packet on the gateway's upstream link, for the leak checks at the end.
og_spawn "$GW_NS" "$OG_TMP/tcpdump.log" tcpdump -i "$GW_WAN_IF" -n -U -Z root -w "$OG_TMP/upstream.pcap" port 53
UPSTREAM_CAPTURE_PID=$OG_SPAWNED
# And every packet to a pool address that reaches it (there must be none): the default pools, and
# 100.64.0.0/10, test_exim's pool-ipv4 (no link of the gateway is in it).
og_spawn "$GW_NS" "$OG_TMP/tcpdump-pool.log" tcpdump -i "$GW_WAN_IF" -n -U -Z root -w "$OG_TMP/pool.pcap" \
	dst net 10.192.0.0/10 or dst net 100.64.0.0/10 or dst net fd6f:6e69:6f6e::/64
POOL_CAPTURE_PID=$OG_SPAWNED

# The onion MX of the tests: Postfix's smtp-sink, reachable only as a v3 onion service.
og_spawn "$WAN_NS" "$OG_TMP/smtp-sink.log" smtp-sink -u nobody -h mx.onion.test 127.0.0.1:2525 100
og_spawn "$WAN_NS" "$OG_TMP/echod.log" "$OG_TOOLS/echod" 127.0.0.1 7777
privnet_start "$WAN_NS" "$WAN_ADDR" "$OG_TMP/privnet" "${PRIVNET_DELAY_MS:-0}" 3 \
	mx=127.0.0.1:2525:25 mx2=127.0.0.1:2525:25 echo=127.0.0.1:7777:7777 pfmx=127.0.0.1:25:25 ||
	{ og_fail "private Tor network starts"; og_summary; exit 1; }
og_pass "private Tor network starts (3 authorities, 3 relays, 4 onion services)"
if zones_start "$WAN_NS" "$WAN_DNS_ADDR" "$OG_TMP/zones" "$(privnet_onion mx)" "$(privnet_onion mx2)" \
	"$(privnet_onion pfmx)"; then
	og_pass "authoritative test zones served (signed, unsigned, broken signature)"
else
	og_fail "authoritative test zones served"
fi

in_pool_v4() { [[ $1 =~ ^10\.([0-9]+)\.[0-9]+\.[0-9]+$ ]] && [ "${BASH_REMATCH[1]}" -ge 192 ]; }

# OG_TESTS="dns proxy" runs only those (for development); CI runs them all.
for t in "$OG_TOP"/tests/integration/test_*.sh; do
	name=$(basename "$t" .sh)
	[ -z "${OG_TESTS:-}" ] || [[ " $OG_TESTS " == *" ${name#test_} "* ]] || continue
	echo "== $(basename "$t")"
	t_start=$SECONDS
	. "$t"
	echo "-- $(basename "$t"): $((SECONDS - t_start)) s"
done
og_summary
