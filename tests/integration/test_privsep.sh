# test_privsep: the nft table of a gateway with many rules (4 lan-interface lines, 63
# redirect-ports: one batch far beyond 256 KiB) installed whole under ASan+UBSan and counted by
# the kernel, and the bound on lan-interface lines that keeps that batch finite.

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

ps_nft_rules() { ip netns exec "$GW_NS" nft -j list table inet oniongate 2>/dev/null | jq '[.nftables[] | select(.rule)] | length'; }
ps_no_table() { ! ip netns exec "$GW_NS" nft list table inet oniongate >/dev/null 2>&1; }

# Item 8: 4 interfaces x 2 pools x 63 ports + 4 drops = 508 rules, a 333 KB batch.
ps_dir="$OG_TMP/privsep-many"
ps_config "$ps_dir" "lan-interface $GW_LAN_IF" "lan-interface lan1" "lan-interface lan2" "lan-interface lan3" \
	"redirect-ports $(seq -s ' ' 25 87)"
gw_start "$ps_dir" "$OG_TOP/build/asan/oniongated"
og_check "many rules: the table is installed (508 rules)" \
	og_wait_for 10 gw_log_has "$ps_dir" "nft: table inet oniongate installed (508 rules)"
og_check "many rules: the kernel holds 508 rules" test "$(ps_nft_rules)" = 508
og_check "many rules: port 87 on lan3 is the last redirect" \
	test "$(ip netns exec "$GW_NS" nft -j list chain inet oniongate prerouting |
		jq -c '[.nftables[] | select(.rule) | .rule.expr | [(.[] | select(.match.left.meta.key == "iifname") | .match.right),
			(.[] | select(.match.left.payload.field == "dport") | .match.right)]] | last')" = '["lan3",87]'
gw_stop "$ps_dir"
og_check "many rules: the ASan+UBSan build exits 0 on SIGTERM" test $? = 0
og_check "many rules: no sanitizer report" bash -c "! grep -q 'Sanitizer' '$ps_dir/oniongated.log'"
og_check "many rules: the table is removed at exit" ps_no_table

# The bound: 16 lan-interface lines (2052 rules with 63 ports) pass -t, a 17th is refused at its line.
ps_ifs=()
for i in $(seq 1 16); do ps_ifs+=("lan-interface lan$i"); done
ps_config "$OG_TMP/privsep-bound" "redirect-ports $(seq -s ' ' 25 87)" "${ps_ifs[@]}"
og_check "16 lan-interface lines pass -t" "$OG_TOP/daemon/oniongated" -t -c "$OG_TMP/privsep-bound/oniongate.conf"
ps_config "$OG_TMP/privsep-bound" "redirect-ports $(seq -s ' ' 25 87)" "${ps_ifs[@]}" "lan-interface lan17"
og_check "a 17th lan-interface line is refused at its line" \
	test "$("$OG_TOP/daemon/oniongated" -t -c "$OG_TMP/privsep-bound/oniongate.conf" 2>&1)" = \
	"$OG_TMP/privsep-bound/oniongate.conf:24: more than 16 lan-interface lines"
