#!/usr/bin/env bash
# The demo: a private Tor network and an onion MX in one namespace, oniongated in another;
# shows the embedded Tor bootstrapping and the onion MX's banner read through it; tears down.
set -uo pipefail

. "$(dirname "$0")/lib/common.sh"
. "$OG_TOP/tests/lib/privnet.sh"
. "$OG_TOP/tests/lib/gateway.sh"

[ "$(id -u)" = 0 ] || { echo "the demo needs root (network namespaces)" >&2; exit 1; }
og_init demo
WAN_NS="$OG_RUN_ID-wan"
GW_NS="$OG_RUN_ID-gw"
og_netns_add "$WAN_NS"
og_netns_add "$GW_NS"
og_link "$WAN_NS" 198.51.100.1/24 "$GW_NS" 198.51.100.2/24 >/dev/null
echo "== namespaces: $GW_NS (oniongated) <-> $WAN_NS (private Tor network, onion MX)"

og_spawn "$WAN_NS" "$OG_TMP/smtp-sink.log" smtp-sink -u nobody -h mx.onion.test 127.0.0.1:2525 100
privnet_start "$WAN_NS" 198.51.100.1 "$OG_TMP/privnet" "${DELAY_MS:-0}" 3 mx=127.0.0.1:2525:25 || exit 1
onion=$(privnet_onion mx)
echo "== onion MX: $onion (smtp-sink behind a v3 onion service)"

dir="$OG_TMP/gw"
gw_config "$dir"
t0=$(date +%s.%N)
gw_start "$dir" || exit 1
og_wait_for 90 gw_log_has "$dir" "tor ready" || { echo "oniongated did not bootstrap"; exit 1; }
echo "== oniongated (embedded $("$OG_TOP/daemon/oniongated" -V | sed 's/.*(//; s/)//')) bootstrapped in $(privnet_since "$t0") s:"
grep -E "Bootstrapped 100%|tor ready" "$dir/oniongated.log" | sed 's/^/   /'
privnet_wait_ready 60 || exit 1
banner=$(gw_banner "$dir" "$onion" 25 60) || { echo "no banner through the onion"; exit 1; }
echo "== path: socksbanner -> $dir/run/tor/socks -> embedded Tor -> rendezvous -> $onion:25"
echo "   banner: $(echo "$banner" | head -1)   ($(echo "$banner" | tail -1) for the connect)"
echo "== oniongated RSS: $(gw_rss_kb) kB"
gw_stop "$dir"
rc=$?
echo "== oniongated stopped with exit $rc; everything torn down"
if [ "$rc" = 0 ]; then
	echo "verdict: OK - oniongated reached an onion MX through its embedded Tor"
else
	echo "verdict: FAILED"
	exit 1
fi
