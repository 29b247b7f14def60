# SPDX-License-Identifier: ISC
# test_bootstrap: oniongated with its embedded Tor bootstraps on the private network, reads
# the onion MX's banner through its own SOCKS socket, stops cleanly; again under ASan+UBSan
# and under valgrind, where any error or leak of ours makes the exit code non-zero. The plain
# run drops root (`user nobody`) with an nft table to install and remove.

bootstrap_run() {
	local label=$1 bin=$2 dir="$OG_TMP/bootstrap-$1" t0 banner secs
	shift 2
	gw_config "$dir" "${BOOTSTRAP_CONF[@]}"
	t0=$(date +%s.%N)
	gw_start "$dir" "$bin" "$@" || { og_fail "$label: oniongated starts"; return; }
	if og_wait_for 90 gw_log_has "$dir" "tor ready: bootstrap 100%"; then
		secs=$(privnet_since "$t0")
		og_pass "$label: embedded Tor bootstraps to 100% ($secs s)"
		echo "$label: RSS after bootstrap $(gw_rss_kb) kB"
	else
		og_fail "$label: embedded Tor bootstraps to 100% within 60 s"
	fi
	og_check "$label: onion descriptor published" privnet_wait_ready 60
	[ ${#BOOTSTRAP_CONF[@]} = 0 ] || bootstrap_unprivileged "$label" "$dir"
	if banner=$(gw_banner "$dir" "$(privnet_onion mx)" 25 60); then
		echo "$label: banner '$(echo "$banner" | head -1)' after $(privnet_since "$t0") s from start"
		og_check "$label: onion MX banner read through the SOCKS socket" \
			test "$(echo "$banner" | head -1 | cut -c1-19)" = "220 mx.onion.test E"
	else
		og_fail "$label: onion MX banner read through the SOCKS socket (see $dir/socksbanner.err)"
	fi
	gw_stop "$dir"
	og_check "$label: SIGTERM stops oniongated with exit 0 (sanitizer and valgrind findings exit non-zero)" test $? = 0
	og_check "$label: embedded Tor stopped before exit" gw_log_has "$dir" "embedded Tor stopped"
}

bootstrap_unprivileged() {
	local label=$1 dir=$2
	og_check "$label: runs as nobody" test "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$GW_PID/status")" = \
		"$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)"
	og_check "$label: keeps no capability (CAP_NET_ADMIN is the nft helper's)" \
		grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$GW_PID/status"
	og_check "$label: its data dir and Tor's belong to nobody" \
		test "$(stat -c %U "$dir/data" "$dir/data/tor" "$dir/run/tor" | sort -u)" = nobody
	og_check "$label: installed its nft table after dropping root" gw_log_has "$dir" "nft: table inet oniongate installed"
}

chmod 711 "$OG_TMP" # nobody must reach its directories below the scratch dir
BOOTSTRAP_CONF=("user nobody" "transparent-port 9040" "lan-interface $GW_LAN_IF")
bootstrap_run plain "$OG_TOP/daemon/oniongated"
og_check "plain: removed its nft table at exit, without root" \
	bash -c "! ip netns exec '$GW_NS' nft list table inet oniongate >/dev/null 2>&1"
BOOTSTRAP_CONF=()
bootstrap_run asan "$OG_TOP/build/asan/oniongated"
bootstrap_run valgrind "$OG_TOP/daemon/oniongated" valgrind --quiet --leak-check=full \
	--errors-for-leak-kinds=definite --error-exitcode=99 --suppressions="$OG_TOP/tests/valgrind.supp"
