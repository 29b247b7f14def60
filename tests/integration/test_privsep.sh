# SPDX-License-Identifier: ISC
# test_privsep: CAP_NET_ADMIN lives only in the nft helper. With and without `user`, the daemon
# (every thread, the embedded Tor's included) lacks it and the helper holds it alone; the helper
# outlives SIGTERM until the daemon is done with the table, and exits when the daemon is killed.
# A killed daemon leaves its table (LAN packets to the pools still go nowhere), a restart replaces
# it; a killed helper makes the daemon exit 1. Also the table with many rules (4 lan-interface
# lines, 63 redirect-ports: one batch far beyond 256 KiB) under ASan+UBSan, and the bound on
# lan-interface lines that keeps that batch finite; the helper under valgrind.
# Its own namespaces: lan -- gw (forwarding, a route for the IPv4 pool to wan) -- wan, where a
# capture counts every packet to a pool address that got through.

PS_LAN="$OG_RUN_ID-ps-lan"
PS_GW="$OG_RUN_ID-ps-gw"
PS_WAN="$OG_RUN_ID-ps-wan"
og_netns_add "$PS_LAN"
og_netns_add "$PS_GW"
og_netns_add "$PS_WAN"
read -r PS_LAN_IF PS_GW_LAN_IF < <(og_link "$PS_LAN" 192.0.2.10/24 "$PS_GW" 192.0.2.1/24)
read -r PS_WAN_IF _ < <(og_link "$PS_WAN" 198.51.100.1/24 "$PS_GW" 198.51.100.2/24)
ip -n "$PS_LAN" route add default via 192.0.2.1
ip -n "$PS_GW" route add 10.192.0.0/10 via 198.51.100.1
ip netns exec "$PS_GW" sysctl -qw net.ipv4.ip_forward=1
og_spawn "$PS_WAN" "$OG_TMP/privsep-tcpdump.log" tcpdump -i "$PS_WAN_IF" -n -U -Z root -w "$OG_TMP/privsep-pool.pcap" \
	dst net 10.192.0.0/10
ps_capture=$OG_SPAWNED
WORLD_GW_NS=$GW_NS
GW_NS=$PS_GW # gw_start and gw_stop run the daemon here

# ps_config DIR [extra lines...]: a gateway that relays through a SOCKS5 socket (no Tor: nothing
# here needs a circuit) and installs its nft table.
ps_config() {
	local dir=$1 line
	shift
	mkdir -p "$dir"
	{
		echo "run-dir $dir/run"
		echo "data-dir $dir/data"
		echo "log-level info"
		echo "log-target stderr"
		echo "socks-server $dir/socks"
		echo "transparent-port 9040"
		for line in "$@"; do echo "$line"; done
	} > "$dir/oniongate.conf"
}

ps_nft_rules() { ip netns exec "$PS_GW" nft -j list table inet oniongate 2>/dev/null | jq '[.nftables[] | select(.rule)] | length'; }
ps_no_table() { ! ip netns exec "$PS_GW" nft list table inet oniongate >/dev/null 2>&1; }
ps_field() { awk -v k="$2:" '$1 == k { print $2 }' "$1/status"; }
ps_helper() { pgrep -P "$GW_PID"; }
ps_comm() { cat "/proc/$1/comm"; }
ps_ended() { [ ! -e "/proc/$1" ] || [ "$(ps_field "/proc/$1" State)" = Z ]; }
# ps_lacks_net_admin PID: no thread of PID has CAP_NET_ADMIN (bit 12) in any set.
ps_lacks_net_admin() {
	local t
	[ "$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 | wc -l)" -ge 1 ] || return 1
	for t in /proc/"$1"/task/*; do
		for f in CapEff CapPrm CapBnd CapInh CapAmb; do
			(((0x$(ps_field "$t" $f) & 0x1000) == 0)) || return 1
		done
	done
}
# ps_helper_alone PID UID: the helper runs as UID with CAP_NET_ADMIN and no other capability.
ps_helper_alone() {
	local p=/proc/$1
	test "$(ps_comm "$1")" = oniongated-nft &&
		test "$(ps_field "$p" Uid)" = "$2" &&
		test "$(ps_field "$p" CapEff) $(ps_field "$p" CapPrm) $(ps_field "$p" CapBnd)" = \
			"0000000000001000 0000000000001000 0000000000001000" &&
		test "$(ps_field "$p" CapInh) $(ps_field "$p" CapAmb) $(ps_field "$p" NoNewPrivs)" = \
			"0000000000000000 0000000000000000 1"
}
# ps_probe: from the LAN, TCP to port 25 and UDP to port 9 of a pool address.
ps_probe() {
	ip netns exec "$PS_LAN" timeout 3 bash -c 'echo > /dev/tcp/10.200.0.1/25' 2>/dev/null
	ip netns exec "$PS_LAN" bash -c 'echo probe > /dev/udp/10.200.0.1/9' 2>/dev/null
	sleep 1
}
ps_leaked() { tcpdump -r "$OG_TMP/privsep-pool.pcap" -n 2>/dev/null | wc -l; }

# Without a table the gateway forwards pool traffic to the WAN: the capture sees it.
ps_probe
ps_open=$(ps_leaked)
og_check "privsep: with no table, LAN packets to a pool address reach the WAN ($ps_open seen)" test "$ps_open" -ge 2

# Item 8: 4 interfaces x 2 pools x 63 ports + 4 drops + 8 upgrade-set redirects = 516 rules, a 338 KB batch, as root.
ps_dir="$OG_TMP/privsep-many"
ps_config "$ps_dir" "lan-interface $PS_GW_LAN_IF" "lan-interface lan1" "lan-interface lan2" "lan-interface lan3" \
	"redirect-ports $(seq -s ' ' 25 87)"
gw_start "$ps_dir" "$OG_TOP/build/asan/oniongated"
og_check "many rules: the table is installed (516 rules)" \
	og_wait_for 10 gw_log_has "$ps_dir" "nft: table inet oniongate installed (516 rules)"
og_check "many rules: the kernel holds 516 rules" test "$(ps_nft_rules)" = 516
og_check "many rules: lan3's last rule redirects port 25 of the IPv6 upgrade set" \
	test "$(ip netns exec "$PS_GW" nft -j list chain inet oniongate prerouting |
		jq -c '[.nftables[] | select(.rule) | .rule.expr | [(.[] | select(.match.left.meta.key == "iifname") | .match.right),
			(.[] | select(.match.right | tostring | startswith("@")) | .match.right),
			(.[] | select(.match.left.payload.field == "dport") | .match.right)]] | last')" = '["lan3","@upgrade6",25]'
og_check "many rules: port 87 on lan3 is the last pool redirect" \
	test "$(ip netns exec "$PS_GW" nft -j list chain inet oniongate prerouting |
		jq -c '[.nftables[] | select(.rule) | .rule.expr | select(all(.[]; (.match.right | tostring | startswith("@")) | not))
			| [(.[] | select(.match.left.meta.key == "iifname") | .match.right),
			(.[] | select(.match.left.payload.field == "dport") | .match.right)]] | last')" = '["lan3",87]'
ps_pid=$(ps_helper)
og_check "root: the daemon, every thread, has no CAP_NET_ADMIN in any set" ps_lacks_net_admin "$GW_PID"
og_check "root: its one child is the nft helper, uid 0 with CAP_NET_ADMIN alone" ps_helper_alone "$ps_pid" 0
kill -TERM "$ps_pid"
sleep 1
og_check "root: the helper outlives a SIGTERM of its own" test "$(ps_comm "$ps_pid" 2>/dev/null)" = oniongated-nft
gw_stop "$ps_dir"
og_check "many rules: the ASan+UBSan build exits 0 on SIGTERM" test $? = 0
og_check "many rules: no sanitizer report" bash -c "! grep -q 'Sanitizer' '$ps_dir/oniongated.log'"
og_check "many rules: the table is removed at exit" ps_no_table
og_check "root: the helper has exited with the daemon" ps_ended "$ps_pid"

# Under valgrind: the helper is a fork of the daemon and reports its own errors, which do not
# change the daemon's exit code: the log must hold no report at all.
ps_dir="$OG_TMP/privsep-valgrind"
ps_config "$ps_dir" "lan-interface $PS_GW_LAN_IF"
gw_start "$ps_dir" "$OG_TOP/daemon/oniongated" valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
	--error-exitcode=99 --suppressions="$OG_TOP/tests/valgrind.supp"
og_check "valgrind: the table is installed (8 rules)" og_wait_for 30 gw_log_has "$ps_dir" "nft: table inet oniongate installed (8 rules)"
gw_stop "$ps_dir"
og_check "valgrind: the daemon exits 0" test $? = 0
og_check "valgrind: neither the daemon nor its helper reports an error" bash -c "! grep -q '^==[0-9]*==' '$ps_dir/oniongated.log'"
og_check "valgrind: the table is removed at exit" ps_no_table

# A removal the kernel refuses (the table was deleted behind the daemon's back) is reported, and
# the exit does not wait for an ack that never comes.
ps_dir="$OG_TMP/privsep-gone"
ps_config "$ps_dir" "lan-interface $PS_GW_LAN_IF"
gw_start "$ps_dir"
og_wait_for 10 gw_log_has "$ps_dir" "nft: table inet oniongate installed (8 rules)"
ip netns exec "$PS_GW" nft delete table inet oniongate
ps_t0=$(date +%s)
gw_stop "$ps_dir"
og_check "table deleted by hand: the daemon still exits 0, within 3 s" test $? = 0 -a $(($(date +%s) - ps_t0)) -le 3
og_check "table deleted by hand: the removal's error is logged" \
	gw_log_has "$ps_dir" "nft: cannot remove table inet oniongate: No such file or directory"

# With `user nobody`: no capability at all in the daemon, the helper runs as nobody.
chmod 711 "$OG_TMP"
ps_dir="$OG_TMP/privsep-user"
ps_config "$ps_dir" "user nobody" "lan-interface $PS_GW_LAN_IF"
gw_start "$ps_dir"
og_check "user: the table is installed (8 rules)" og_wait_for 10 gw_log_has "$ps_dir" "nft: table inet oniongate installed (8 rules)"
og_check "user: the kernel holds 8 rules" test "$(ps_nft_rules)" = 8
ps_pid=$(ps_helper)
nobody=$(id -u nobody)
og_check "user: the daemon runs as nobody with no capability (CapEff, CapPrm, CapBnd all 0)" \
	test "$(ps_field "/proc/$GW_PID" Uid) $(ps_field "/proc/$GW_PID" CapEff) $(ps_field "/proc/$GW_PID" CapPrm) $(ps_field "/proc/$GW_PID" CapBnd)" = \
	"$nobody 0000000000000000 0000000000000000 0000000000000000"
og_check "user: the nft helper runs as nobody with CAP_NET_ADMIN alone" ps_helper_alone "$ps_pid" "$nobody"

# SIGKILL of the daemon: the helper exits, the table stays and keeps the pools from the WAN.
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null
og_check "SIGKILL: the helper exits with the daemon (no orphan)" og_wait_for 5 ps_ended "$ps_pid"
og_check "SIGKILL: the table stays, whole (8 rules)" test "$(ps_nft_rules)" = 8
ps_probe
og_check "SIGKILL: LAN packets to a pool address still do not reach the WAN" test "$(ps_leaked)" = "$ps_open"
gw_start "$ps_dir"
og_check "restart: the stale table is replaced (8 rules, not 16)" \
	og_wait_for 10 gw_log_has "$ps_dir" "nft: table inet oniongate installed (8 rules)"
og_check "restart: the kernel holds 8 rules" test "$(ps_nft_rules)" = 8

# A killed helper: the daemon cannot remove its table any more, so it exits 1 and leaves it.
ps_pid=$(ps_helper)
[ -n "$ps_pid" ] && kill -KILL "$ps_pid"
if og_wait_for 10 ps_ended "$GW_PID"; then
	og_pass "helper killed: the daemon exits"
	wait "$GW_PID"
else
	og_fail "helper killed: the daemon exits"
	gw_stop "$ps_dir"
fi
og_check "helper killed: ... with exit 1" test $? = 1
og_check "helper killed: ... saying why" gw_log_has "$ps_dir" "nft: the helper exited: table inet oniongate stays until the next start"
og_check "helper killed: ... and that it could not remove the table" \
	gw_log_has "$ps_dir" "nft: cannot remove table inet oniongate: the helper has exited"
og_check "helper killed: the table stays (8 rules)" test "$(ps_nft_rules)" = 8
gw_start "$ps_dir"
og_wait_for 10 gw_log_has "$ps_dir" "nft: table inet oniongate installed (8 rules)"
gw_stop "$ps_dir"
og_check "user: SIGTERM stops the daemon with exit 0" test $? = 0
og_check "user: SIGTERM removes the table" ps_no_table

# The embedded Tor's threads are started after the drop: none of them holds CAP_NET_ADMIN.
ps_dir="$OG_TMP/privsep-tor"
gw_config "$ps_dir" "user nobody" "transparent-port 9040" "lan-interface $PS_GW_LAN_IF" "tor-option DisableNetwork 1"
gw_start "$ps_dir"
og_wait_for 20 gw_log_has "$ps_dir" "Bootstrapped 0%"
og_check "embedded Tor: $(find "/proc/$GW_PID/task" -mindepth 1 -maxdepth 1 | wc -l) threads, none with CAP_NET_ADMIN" \
	ps_lacks_net_admin "$GW_PID"
gw_stop "$ps_dir"
og_check "embedded Tor: SIGTERM stops the daemon with exit 0" test $? = 0
og_check "embedded Tor: the table is removed" ps_no_table

og_stop "$ps_capture"
GW_NS=$WORLD_GW_NS

# The bound: 16 lan-interface lines (2084 rules with 63 ports) pass -t, a 17th is refused at its line.
ps_ifs=()
for i in $(seq 1 16); do ps_ifs+=("lan-interface lan$i"); done
ps_config "$OG_TMP/privsep-bound" "redirect-ports $(seq -s ' ' 25 87)" "${ps_ifs[@]}"
og_check "16 lan-interface lines pass -t" "$OG_TOP/daemon/oniongated" -t -c "$OG_TMP/privsep-bound/oniongate.conf"
ps_config "$OG_TMP/privsep-bound" "redirect-ports $(seq -s ' ' 25 87)" "${ps_ifs[@]}" "lan-interface lan17"
og_check "a 17th lan-interface line is refused at its line" \
	test "$("$OG_TOP/daemon/oniongated" -t -c "$OG_TMP/privsep-bound/oniongate.conf" 2>&1)" = \
	"$OG_TMP/privsep-bound/oniongate.conf:24: more than 16 lan-interface lines"
