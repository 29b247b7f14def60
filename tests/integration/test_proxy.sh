# SPDX-License-Identifier: ISC
# test_proxy: the transparent relay: the nft table as installed, listed and removed; a LAN
# host reaching onions by their fake addresses (banner, 1 MiB each way, a map line's port); 421 lines for an
# unknown address and for a Tor that is not bootstrapped; a crash leaves the table, a restart
# replaces it.

px_dir="$OG_TMP/proxy"
px_conf=(
	"dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24"
	"pool-key 00112233445566778899aabbccddeeff" "transparent-port 9040" "lan-interface $GW_LAN_IF"
	"trust-anchor $OG_TMP/zones/trust-anchors"
)
gw_config "$px_dir" "${px_conf[@]}" "onion-map $px_dir/onionmx.map"
echo "porttest.test smtptor:[$(privnet_onion echo)]:7777" > "$px_dir/onionmx.map"
gw_start "$px_dir" "$OG_TOP/build/asan/oniongated"
og_check "the nft table is installed" og_wait_for 20 gw_log_has "$px_dir" "nft: table inet oniongate installed (8 rules)"
og_wait_for 60 gw_log_has "$px_dir" "tor ready"

nft_json() { ip netns exec "$GW_NS" nft -j list ruleset; }
og_check "the gateway has exactly one table: inet oniongate" \
	test "$(nft_json | jq -c '[.nftables[] | select(.table) | .table | [.family, .name]]')" = '[["inet","oniongate"]]'
og_check "its chains: prerouting (nat), forward and output (filter)" \
	test "$(nft_json | jq -c '[.nftables[] | select(.chain) | .chain | [.name, .type, .hook]] | sort')" \
	= '[["forward","filter","forward"],["output","filter","output"],["prerouting","nat","prerouting"]]'
og_check "four redirects to :9040 (the IPv4 and IPv6 pools, port 25 of the upgrade sets), only from the LAN interface" \
	test "$(nft_json | jq -c "[.nftables[] | select(.rule and .rule.chain == \"prerouting\") | .rule.expr |
		[(.[] | select(.match.left.meta.key == \"iifname\") | .match.right),
		 (.[] | select(.match.left.payload.field == \"daddr\") | (.match.right | if type == \"object\" then .prefix.addr else . end)),
		 (.[] | select(.redirect) | .redirect.port)]] | sort")" \
	= "[[\"$GW_LAN_IF\",\"10.192.0.0\",9040],[\"$GW_LAN_IF\",\"@upgrade4\",9040],[\"$GW_LAN_IF\",\"@upgrade6\",9040],[\"$GW_LAN_IF\",\"fd6f:6e69:6f6e::\",9040]]"
og_check "the upgrade sets are empty in rewrite mode" \
	test "$(nft_json | jq -c '[.nftables[] | select(.set) | .set | [.name, .type, (.elem // [] | length)]] | sort')" \
	= '[["upgrade4","ipv4_addr",0],["upgrade6","ipv6_addr",0]]'
og_check "the pools are dropped in forward and output" \
	test "$(nft_json | jq -c '[.nftables[] | select(.rule and .rule.chain != "prerouting") | .rule |
		[.chain, (.expr[] | select(.match) | .match.right.prefix.addr // empty), (.expr[-1] | keys[0])]] | sort')" \
	= '[["forward","10.192.0.0","drop"],["forward","fd6f:6e69:6f6e::","drop"],["output","10.192.0.0","drop"],["output","fd6f:6e69:6f6e::","drop"]]'

og_netns_add "$OG_RUN_ID-nftfile"
sed "s/lan0/$GW_LAN_IF/" "$OG_TOP/nft/oniongate.nft" > "$OG_TMP/oniongate.nft"
ip netns exec "$OG_RUN_ID-nftfile" nft -f "$OG_TMP/oniongate.nft"
og_check "nft/oniongate.nft holds the same table the daemon installs" \
	test "$(ip netns exec "$OG_RUN_ID-nftfile" nft list table inet oniongate)" = "$(ip netns exec "$GW_NS" nft list table inet oniongate)"

lan_line() { ip netns exec "$LAN_NS" timeout "${3:-60}" bash -c "exec 3<>/dev/tcp/$1/$2 && head -1 <&3" 2>/dev/null | tr -d '\r'; }
mx_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$(privnet_onion mx)" A)
og_check "a LAN connect to the onion's fake address :25 gets the onion MX's banner" \
	test "$(lan_line "$mx_addr" 25)" = "220 mx.onion.test ESMTP"

echo_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$(privnet_onion echo)" A)
head -c 1048576 /dev/urandom > "$OG_TMP/mib.in"
ip netns exec "$LAN_NS" timeout 120 bash -c "exec 3<>/dev/tcp/$echo_addr/7777 || exit 1
	cat '$OG_TMP/mib.in' >&3 &
	head -c 1048576 <&3 > '$OG_TMP/mib.out'
	wait"
og_check "1 MiB each way through the relay arrives intact" \
	test "$(sha256sum < "$OG_TMP/mib.in")" = "$(sha256sum < "$OG_TMP/mib.out")"
og_check "the stream line counts 1048576 bytes each way" \
	og_wait_for 10 gw_log_has "$px_dir" "7777 closed: 1048576 bytes up, 1048576 down"
# The far end closes first (SMTP QUIT): its last line is delivered before the LAN side sees EOF.
og_check "a close by the onion side reaches the LAN after its last bytes" \
	test "$(printf 'QUIT\r\n' | ip netns exec "$LAN_NS" timeout 30 nc "$mx_addr" 25 | tr -d '\r' | tail -1 | cut -c1-3)" = 221

# A map line with a port: the MTA dials 25, the relay dials the port the map names (the echo).
ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" porttest.test MX > "$OG_TMP/porttest.mx"
og_check "the MX of a domain mapped with a port is its onion" \
	test "$(cat "$OG_TMP/porttest.mx")" = "0 $(privnet_onion echo)."
og_check "a connect to :25 of that onion reaches the port of the map line (7777, an echo)" \
	test "$(ip netns exec "$LAN_NS" timeout 60 bash -c "exec 3<>/dev/tcp/$echo_addr/25 && echo remapped >&3 && head -1 <&3")" = remapped
og_check "the stream line names the dialled port" og_wait_for 10 gw_log_has "$px_dir" "$(privnet_onion echo):7777 open"

og_check "an unknown pool address on port 25 gets a 421 line" \
	test "$(lan_line 10.200.0.1 25 10)" = "421 4.4.1 10.200.0.1: no onion name is known for this address"
og_check "an unknown pool address on another port is closed without a word" test -z "$(lan_line 10.200.0.1 80 10)"

# Shutdown: SIGTERM, then at once 60 LAN connects to :25 and 60 MX queries (that would warm a
# stream), one every 0.5 ms, while the embedded Tor stops (its control socket is closed then).
ip netns exec "$LAN_NS" "$OG_TOOLS/shutdownprobe" "$GW_PID" "$mx_addr" 25 "$GW_LAN_ADDR" porttest.test 60 500 \
	> "$px_dir/shutdown.probe"
wait "$GW_PID"
og_check "SIGTERM with LAN connects and MX queries in the grace window: exit 0 (ASan+UBSan build)" test $? = 0
cp "$px_dir/oniongated.log" "$px_dir/shutdown.log"
og_check "and no sanitizer report" bash -c "! grep -q Sanitizer '$px_dir/shutdown.log'"
og_check "a LAN connect in the grace window reads 421 4.3.2 <onion>: the gateway is shutting down" \
	grep -q "^line: 421 4.3.2 $(privnet_onion mx): the gateway is shutting down$" "$px_dir/shutdown.probe"
og_check "no LAN connect in the grace window hangs" bash -c "! grep -q '^timeout' '$px_dir/shutdown.probe'"
sort "$px_dir/shutdown.probe" | uniq -c | sed 's/^/shutdown probe: /'
og_check "its table is gone after the clean exit" test "$(nft_json | jq '[.nftables[] | select(.table)] | length')" = 0

gw_start "$px_dir"
og_wait_for 20 gw_log_has "$px_dir" "nft: table inet oniongate installed"
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null
og_check "a crashed daemon leaves its table" ip netns exec "$GW_NS" nft list table inet oniongate >/dev/null
gw_config "$px_dir" "${px_conf[@]}" "tor-option DisableNetwork 1"
gw_start "$px_dir"
og_check "the next start replaces it (8 rules, not 16)" og_wait_for 20 gw_log_has "$px_dir" "nft: table inet oniongate installed (8 rules)"
og_check "the kernel holds 8 rules" test "$(nft_json | jq '[.nftables[] | select(.rule)] | length')" = 8
mx_addr2=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$(privnet_onion mx)" A)
og_check "the restarted daemon gives the onion the same fake address" test "$mx_addr2" = "$mx_addr"
og_check "with Tor not bootstrapped a LAN connect gets a 421 line" \
	bash -c "[[ '$(lan_line "$mx_addr" 25 10)' == '421 4.4.1 $(privnet_onion mx): Tor is not ready (bootstrap '* ]]"
gw_stop "$px_dir"
og_check "the relay gateway stops with exit 0" test $? = 0
og_check "no table is left after a clean exit" test "$(nft_json | jq '[.nftables[] | select(.table)] | length')" = 0

# Warm-up: the MX answer starts the stream, the MTA's connect a moment later takes it over.
# Each run has a fresh Tor state, so both pay for a first rendezvous with the onion.
mx_connect_ms() {
	local dir=$1 onion=$2 addr t0 t1
	ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$onion" MX >/dev/null
	addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$onion" A)
	t0=$(date +%s%N)
	WARM_BANNER=$(lan_line "$addr" 25 60)
	t1=$(date +%s%N)
	WARM_MS=$(((t1 - t0) / 1000000))
}
for mode in off on; do
	wdir="$OG_TMP/warm-$mode"
	mkdir -p "$wdir"
	echo "mapped.test smtptor:[$(privnet_onion mx)]" > "$wdir/onionmx.map"
	limits=()
	[ "$mode" = off ] && limits=("proxy-max-streams 1" "proxy-idle-timeout 3")
	# The circuit kept for recent mail: a stream every MaxCircuitDirtiness/2, let go 12 s after the mail.
	[ "$mode" = on ] && limits=("tor-option MaxCircuitDirtiness 10" "warm-up-keep 12")
	gw_config "$wdir" "${px_conf[@]}" "warm-up $mode" "warm-up-hold 3" "nft-dns-redirect on" \
		"onion-map $wdir/onionmx.map" "${limits[@]}"
	gw_start "$wdir" "$OG_TOP/build/asan/oniongated"
	og_wait_for 60 gw_log_has "$wdir" "tor ready"
	mx_connect_ms "$wdir" "$(privnet_onion mx2)"
	echo "warm-up $mode: connect to banner in $WARM_MS ms"
	og_check "warm-up $mode: the banner arrives" test "$WARM_BANNER" = "220 mx.onion.test ESMTP"
	if [ "$mode" = on ]; then
		og_check "warm-up on: the LAN connection took over the warm stream" gw_log_has "$wdir" "takes the warm stream"
		og_check "warm-up on: the mapped onion's descriptor is fetched ahead (HSFETCH)" \
			og_wait_for 15 gw_log_has "$wdir" "warm-up: fetched the descriptors of 1 mapped onions"
		og_check "HSFETCH was accepted" bash -c "! grep -q 'HSFETCH refused' '$wdir/oniongated.log'"
		ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$(privnet_onion mx)" MX >/dev/null
		og_check "an unclaimed warm stream is ended politely (banner read, QUIT)" \
			og_wait_for 15 gw_log_has "$wdir" "warm stream to $(privnet_onion mx):25 unclaimed: ending it"
		og_check "warm-up-keep: the interval follows Tor's MaxCircuitDirtiness (GETCONF)" \
			gw_log_has "$wdir" "Tor's MaxCircuitDirtiness is 10 s: circuits of recent mail kept every 5 s"
		og_check "warm-up-keep: the mailed onion's circuit is kept by a stream the service's Tor ends" \
			og_wait_for 15 gw_log_has "$wdir" "warm-up: circuit to $(privnet_onion mx2) kept (the service's Tor ended the stream)"
		og_check "warm-up-keep: only the mailed onion is kept" bash -c "! grep -q 'circuit to $(privnet_onion mx) kept' '$wdir/oniongated.log'"
		og_check "warm-up-keep: 12 s after its last mail the circuit is let go" \
			og_wait_for 30 gw_log_has "$wdir" "warm-up: no mail to $(privnet_onion mx2) for 1[2-9] s: its circuit is let go"
		kept=$(grep -c "circuit to $(privnet_onion mx2) kept" "$wdir/oniongated.log")
		sleep 6
		og_check "warm-up-keep: no keeping stream after it was let go" \
			test "$(grep -c "circuit to $(privnet_onion mx2) kept" "$wdir/oniongated.log")" = "$kept"
	else
		og_check "warm-up off: no warm stream" bash -c "! grep -q 'warming a stream' '$wdir/oniongated.log'"
		og_check "nft-dns-redirect: 10 rules" gw_log_has "$wdir" "nft: table inet oniongate installed (10 rules)"
		og_check "nft-dns-redirect: a LAN query to any resolver is answered by the gateway" \
			in_pool_v4 "$(ip netns exec "$LAN_NS" dig +short +time=2 +tries=1 @198.51.100.99 "$(privnet_onion mx)" A)"
		# proxy-max-streams 1 and proxy-idle-timeout 3 in this run: a held stream, a second one
		# refused, then the held one closed once idle.
		mx_a=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$(privnet_onion mx)" A)
		ip netns exec "$LAN_NS" timeout 30 bash -c "exec 3<>/dev/tcp/$mx_a/25; head -1 <&3 >/dev/null;
			t0=\$(date +%s); cat <&3 >/dev/null; echo \$((\$(date +%s) - t0)) > '$wdir/idle.s'" &
		held=$!
		sleep 1
		og_check "proxy-max-streams: a stream beyond the bound gets a 421 line" \
			test "$(lan_line "$mx_a" 25 10)" = "421 4.4.2 $(privnet_onion mx): too many streams through the gateway"
		wait "$held"
		og_check "proxy-idle-timeout: the idle stream is closed after about 3 s" \
			bash -c "[ \$(cat '$wdir/idle.s') -ge 2 ] && [ \$(cat '$wdir/idle.s') -le 6 ]"
	fi
	gw_stop "$wdir"
	og_check "warm-up $mode: the ASan build reported nothing" \
		bash -c "! grep -q 'ERROR: AddressSanitizer\|LeakSanitizer\|runtime error' '$wdir/oniongated.log'"
done
