# SPDX-License-Identifier: ISC
# section_memory.sh: resident memory of oniongated (gw, serving the LAN) and of a standalone tor
# client with the same network options (rcp, SocksPort + DNSPort with automap for its mappings):
# after bootstrap, after MAPPINGS onion names were resolved, and with STREAMS streams held open
# to the echo onion. MEM_BIN: another oniongated binary to measure (e.g. an older build).

mem_names="$OG_TMP/mem-names"
"$OG_TOOLS/onionname" "$MAPPINGS" | sed 's/$/ A/' > "$mem_names"
echo_onion=$(privnet_onion echo)

mem_dir="$OG_TMP/mem-og"
gw_config "$mem_dir" "dns-listen 192.0.2.1" "dns-upstream 198.51.100.53" "client-network 192.0.2.0/24" \
	"transparent-port 9040" "lan-interface $GW_LAN_IF" "trust-anchor $OG_TMP/zones/trust-anchors" \
	"proxy-max-streams 1000"
sed -i 's/^log-level info/log-level notice/' "$mem_dir/oniongate.conf"
gw_start "$mem_dir" "${MEM_BIN:-$OG_TOP/daemon/oniongated}" || exit 1
og_wait_for 120 gw_log_has "$mem_dir" "tor ready" || { echo "oniongated (memory) did not bootstrap"; exit 1; }

mem_tor=$(bench_tor_dir mem-tor "SocksPort 127.0.0.1:9150" "DNSPort 127.0.0.1:5353" "AutomapHostsOnResolve 1")
bench_tor_start "$RCP_NS" "$mem_tor" || { echo "tor (memory) did not bootstrap"; exit 1; }
mem_tor_pid=$BENCH_TOR_PID
sleep 5
og_rss=("$(gw_rss_kb)")
tor_rss=("$(bench_rss_kb "$mem_tor_pid")")

ip netns exec "$LAN_NS" dig +short +time=2 +tries=1 @192.0.2.1 -f "$mem_names" | grep -c '^10\.' > "$OG_TMP/mem-og-mapped"
ip netns exec "$RCP_NS" dig +short +time=2 +tries=1 -p 5353 @127.0.0.1 -f "$mem_names" | grep -c '^' > "$OG_TMP/mem-tor-mapped"
og_log "bench: mappings made: oniongated $(cat "$OG_TMP/mem-og-mapped"), tor $(cat "$OG_TMP/mem-tor-mapped") of $MAPPINGS"
og_rss+=("$(gw_rss_kb)")
tor_rss+=("$(bench_rss_kb "$mem_tor_pid")")

# Streams are held by relaybench until its stdin closes.
echo_addr=$(ip netns exec "$LAN_NS" dig +short @192.0.2.1 "$echo_onion" A)
exec {og_hold_in}> >(ip netns exec "$LAN_NS" "$OG_TOOLS/relaybench" hold "$echo_addr" 7777 "$STREAMS" > "$OG_TMP/mem-og-held")
og_wait_for 180 grep -q '^held' "$OG_TMP/mem-og-held"
og_rss+=("$(gw_rss_kb)")
exec {tor_hold_in}> >(ip netns exec "$RCP_NS" "$OG_TOOLS/relaybench" hold 127.0.0.1 7777 "$STREAMS" 127.0.0.1:9150 "$echo_onion" \
	> "$OG_TMP/mem-tor-held")
og_wait_for 180 grep -q '^held' "$OG_TMP/mem-tor-held"
tor_rss+=("$(bench_rss_kb "$mem_tor_pid")")
og_log "bench: streams held: oniongated '$(cat "$OG_TMP/mem-og-held")', tor '$(cat "$OG_TMP/mem-tor-held")'"
exec {og_hold_in}>&- {tor_hold_in}>&-
bench_raw memory oniongate rss_kb "${og_rss[@]}"
bench_raw memory tor rss_kb "${tor_rss[@]}"

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
peer="tor $(bench_version tor) client, same network options"
bench_row memory "RSS after bootstrap" MiB lower "$(mib "${og_rss[0]}")" "$peer" "$(mib "${tor_rss[0]}")"
bench_row memory "RSS after $MAPPINGS onion mappings" MiB lower "$(mib "${og_rss[1]}")" "$peer" "$(mib "${tor_rss[1]}")"
bench_row memory "RSS with $STREAMS streams open as well" MiB lower "$(mib "${og_rss[2]}")" "$peer" "$(mib "${tor_rss[2]}")"
og_stop "$mem_tor_pid"
gw_stop "$mem_dir"
