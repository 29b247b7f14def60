#!/usr/bin/env bash
# Integration tests: builds one world (namespaces + one private Tor network) and runs every
# test_*.sh in it, in order, sharing that network; ends with "N passed, N failed".
set -uo pipefail

. "$(dirname "$0")/../lib/common.sh"
. "$OG_TOP/tests/lib/privnet.sh"
. "$OG_TOP/tests/lib/gateway.sh"

if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root (network namespaces)" >&2
	exit 1
fi

og_init integration
WAN_NS="$OG_RUN_ID-wan"
GW_NS="$OG_RUN_ID-gw"
WAN_ADDR=198.51.100.1
GW_WAN_ADDR=198.51.100.2
og_netns_add "$WAN_NS"
og_netns_add "$GW_NS"
og_link "$WAN_NS" "$WAN_ADDR/24" "$GW_NS" "$GW_WAN_ADDR/24" >/dev/null

# The onion MX of the tests: Postfix's smtp-sink, reachable only as a v3 onion service.
og_spawn "$WAN_NS" "$OG_TMP/smtp-sink.log" smtp-sink -u nobody -h mx.onion.test 127.0.0.1:2525 100
privnet_start "$WAN_NS" "$WAN_ADDR" "$OG_TMP/privnet" "${PRIVNET_DELAY_MS:-0}" 3 \
	mx=127.0.0.1:2525:25 || { og_fail "private Tor network starts"; og_summary; exit 1; }
og_pass "private Tor network starts (3 authorities, 3 relays, 1 onion service)"

for t in "$OG_TOP"/tests/integration/test_*.sh; do
	echo "== $(basename "$t")"
	. "$t"
done
og_summary
