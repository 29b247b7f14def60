# SPDX-License-Identifier: ISC
# test_pool_pressure: a gateway with a tiny pool (/29, pool-max 4, onion-ttl 0: answers protect
# their address for the 5 s grace only) keeps a mapping that a live stream holds while more onion
# names than the pool has room for are resolved, each retried until a slot frees; the held stream
# keeps its onion, and no stream reaches the wrong onion.

pp_dir="$OG_TMP/pool-pressure"
gw_config "$pp_dir" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24" \
	"pool-ipv4 10.200.200.0/29" "pool-max 4" "onion-ttl 0" "transparent-port 9040" "lan-interface $GW_LAN_IF" \
	"srv-discovery off" "warm-up off"
gw_start "$pp_dir"
og_wait_for 60 gw_log_has "$pp_dir" "tor ready"
pp_a() { ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$1" A; }
# pp_a_wait NAME: its address, asking again while the pool is full (at most 10 s).
pp_a_wait() {
	local a i
	for ((i = 0; i < 40; i++)); do
		a=$(pp_a "$1")
		[ -n "$a" ] && { echo "$a"; return 0; }
		sleep 0.25
	done
	return 1
}
echo_onion=$(privnet_onion echo)
echo_addr=$(pp_a "$echo_onion")
# A live stream to the echo onion: a 4-byte ping every second while the pool churns.
ip netns exec "$LAN_NS" timeout 90 bash -c "exec 3<>/dev/tcp/$echo_addr/7777 || exit 1
	ok=0
	for i in \$(seq 1 30); do
		printf 'p%03d' \$i >&3; IFS= read -r -n 4 got <&3
		[ \"\$got\" = \"\$(printf 'p%03d' \$i)\" ] && ok=\$((ok+1))
		sleep 1
	done
	echo \$ok > '$pp_dir/held.ok'" &
held=$!
sleep 2
# 12 more valid onion names than the pool holds: 3 idle slots, freed again once answers expire.
mapfile -t churn_names < <("$OG_TOOLS/onionname" 12)
churned_ok=0
for n in "${churn_names[@]}"; do
	a=$(pp_a_wait "$n")
	[ -n "$a" ] && [ "$a" != "$echo_addr" ] && churned_ok=$((churned_ok + 1))
done
wait "$held"
og_check "the held stream kept working while the pool churned (30 of 30 echoes)" test "$(cat "$pp_dir/held.ok")" = 30
og_check "every other onion got an address, never the held stream's (12 of 12)" test "$churned_ok" = 12
og_check "the held onion still has its address" test "$(pp_a "$echo_onion")" = "$echo_addr"
mx_addr=$(pp_a_wait "$(privnet_onion mx)")
og_check "a fresh connect through the tiny pool reaches the right onion" \
	test "$(ip netns exec "$LAN_NS" timeout 30 bash -c "exec 3<>/dev/tcp/$mx_addr/25 && head -1 <&3" | tr -d '\r')" \
	= "220 mx.onion.test ESMTP"
gw_stop "$pp_dir"
og_check "the tiny-pool gateway stops with exit 0" test $? = 0
