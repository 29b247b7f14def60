# SPDX-License-Identifier: ISC
# test_socks_server: with socks-server, oniongated starts no Tor and relays the LAN's redirected
# streams through that SOCKS5 unix socket (here the benchmark's local peer in front of an echo server).

ss_dir="$OG_TMP/gw-socks-server"
mkdir -p "$ss_dir"
og_spawn "$GW_NS" "$OG_TMP/ss-echod.log" "$OG_TOOLS/echod" 127.0.0.1 7788
og_spawn "$GW_NS" "$OG_TMP/ss-socksd.log" "$OG_TOOLS/socksd" "$ss_dir/socks" 127.0.0.1 1088 127.0.0.1 7788
ss_socksd=$OG_SPAWNED
cat > "$ss_dir/oniongate.conf" <<EOT
run-dir $ss_dir/run
data-dir $ss_dir/state/oniongate
log-level info
log-target stderr
socks-server $ss_dir/socks
dns-listen $GW_LAN_ADDR
dns-upstream $WAN_DNS_ADDR
client-network 192.0.2.0/24
transparent-port 9040
lan-interface $GW_LAN_IF
EOT
og_wait_for 5 test -S "$ss_dir/socks"
gw_start "$ss_dir" "$OG_TOP/build/asan/oniongated"
og_check "socks-server: oniongated starts without an embedded Tor" \
	og_wait_for 10 gw_log_has "$ss_dir" "no embedded Tor: streams go to the SOCKS5 server at $ss_dir/socks"
og_check "socks-server: no Tor thread was started" bash -c "! grep -Eq 'embedded Tor.* starting|tor (ready|bootstrap)' '$ss_dir/oniongated.log'"
ss_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$("$OG_TOOLS/onionname" 1)" A)
og_check "socks-server: the onion name gets a pool address ($ss_addr)" in_pool_v4 "$ss_addr"
ss_out=$(ip netns exec "$LAN_NS" timeout 30 "$OG_TOOLS/relaybench" tput "$ss_addr" 7788 4 4 2>&1)
og_check "socks-server: 4 streams of 4 MiB each way relayed whole ($ss_out)" \
	grep -q '^streams 4 failed 0 ' <<<"$ss_out"
ss_out=$(ip netns exec "$LAN_NS" timeout 30 "$OG_TOOLS/relaybench" conns "$ss_addr" 7788 100 10 2>&1)
og_check "socks-server: 100 connections answered ($ss_out)" grep -q '^conns 100 failed 0 ' <<<"$ss_out"
og_stop "$ss_socksd"
ss_out=$(ip netns exec "$LAN_NS" timeout 10 bash -c "exec 3<>/dev/tcp/$ss_addr/25; head -c 200 <&3")
og_check "socks-server: with the SOCKS server gone, an SMTP client gets a 421 ($ss_out)" \
	grep -q '^421 4\.4\.' <<<"$ss_out"
gw_stop "$ss_dir"
og_check "socks-server: oniongated (ASan+UBSan build) exits 0 on SIGTERM" test $? = 0
og_check "socks-server: the nft table is removed" bash -c "! ip netns exec '$GW_NS' nft list table inet oniongate >/dev/null 2>&1"
