# SPDX-License-Identifier: ISC
# test_proxy_memory: what streams cost oniongated in resident memory, on the plain build without a
# Tor (socks-server socksstall), each case from a fresh start: 200 LAN streams relayed, then 200
# waiting for their SOCKS connect; each case at most PM_MAX_KB KiB of RSS growth (2.5 KiB a
# stream). Streams used to wait on two bufferevents (LAN and SOCKS) and be handed to the relay
# through two more, which left 750-790 KiB behind for 200. PM_BIN: another binary to measure.

PM_STREAMS=200
PM_MAX_KB=512
pm_dir="$OG_TMP/proxy-memory"
mkdir -p "$pm_dir"
og_spawn "$GW_NS" "$OG_TMP/pm-socksstall.log" "$OG_TOOLS/socksstall" "$pm_dir/socks"
pm_stall_pid=$OG_SPAWNED
og_wait_for 5 test -S "$pm_dir/socks"
cat > "$pm_dir/oniongate.conf" <<EOT
run-dir $pm_dir/run
data-dir $pm_dir/data
log-level notice
log-target stderr
socks-server $pm_dir/socks
dns-listen $GW_LAN_ADDR
dns-upstream $WAN_DNS_ADDR
client-network 192.0.2.0/24
transparent-port 9040
lan-interface $GW_LAN_IF
proxy-max-streams 1000
EOT
# pm_start: a fresh daemon (no heap left behind by earlier streams); pm_addr, pm_rss0.
pm_start() {
	gw_start "$pm_dir" "${PM_BIN:-$OG_TOP/daemon/oniongated}"
	og_wait_for 10 gw_log_has "$pm_dir" "proxy: transparent port 9040"
	pm_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$("$OG_TOOLS/onionname" 1)" A)
	pm_rss0=$(gw_rss_kb)
}

# pm_growth_ok LABEL: the RSS growth since pm_start is at most PM_MAX_KB.
pm_growth_ok() {
	local grown=$(($(gw_rss_kb) - pm_rss0))
	og_check "$1: RSS grew $grown KiB for $PM_STREAMS streams (<= $PM_MAX_KB)" test "$grown" -le "$PM_MAX_KB"
}

# (1) Relayed streams: socksstall echoes any port but 9; each stream carries one byte each way.
pm_start
exec {pm_hold}> >(ip netns exec "$LAN_NS" "$OG_TOOLS/relaybench" hold "$pm_addr" 7777 "$PM_STREAMS" > "$pm_dir/held")
og_wait_for 20 grep -q '^held' "$pm_dir/held"
og_check "$PM_STREAMS streams relayed ($(cat "$pm_dir/held"))" grep -qx "held $PM_STREAMS failed 0" "$pm_dir/held"
pm_growth_ok "relayed"
exec {pm_hold}>&-
gw_stop "$pm_dir"
og_check "proxy memory (relayed): exit 0 on SIGTERM" test $? = 0

# (2) Streams waiting for SOCKS: socksstall never answers a connect to port 9.
pm_start
exec {pm_wait}> >(ip netns exec "$LAN_NS" bash -c "for ((i = 0; i < $PM_STREAMS; i++)); do exec {fd}<>/dev/tcp/$pm_addr/9; done; cat > /dev/null")
og_check "$PM_STREAMS streams wait for SOCKS" og_wait_for 20 bash -c "[ \$(ip netns exec '$GW_NS' ss -Htn state established '( sport = :9040 )' | wc -l) -ge $PM_STREAMS ]"
sleep 1
pm_growth_ok "waiting for SOCKS"
exec {pm_wait}>&-
gw_stop "$pm_dir"
og_check "proxy memory (waiting): exit 0 on SIGTERM" test $? = 0
og_stop "$pm_stall_pid"
