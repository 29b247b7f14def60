# SPDX-License-Identifier: ISC
# section_memory.sh: resident memory of oniongated (gw, serving the LAN) and of a standalone tor
# client with the same network options (rcp, SocksPort + DNSPort with automap for its mappings):
# after bootstrap, after MAPPINGS onion names were resolved, and with STREAMS streams held open
# to the echo onion; then the same tor with oniongated's malloc setting (a second peer). Each runs
# alone, from a fresh start. MEM_BIN: another oniongated binary to measure (e.g. an older build);
# MEM_BINS: several, each measured in turn in this world (rows named by the binary's path).

mem_names="$OG_TMP/mem-names"
"$OG_TOOLS/onionname" "$MAPPINGS" | sed 's/$/ A/' > "$mem_names"
echo_onion=$(privnet_onion echo)
read -ra mem_bins <<<"${MEM_BINS:-${MEM_BIN:-$OG_TOP/daemon/oniongated}}"

# mem_gw_start BIN: oniongated from BIN, serving the LAN, once it has bootstrapped.
mem_gw_start() {
	mem_dir="$OG_TMP/mem-og"
	rm -rf "$mem_dir"
	gw_config "$mem_dir" "dns-listen 192.0.2.1" "dns-upstream 198.51.100.53" "client-network 192.0.2.0/24" \
		"transparent-port 9040" "lan-interface $GW_LAN_IF" "trust-anchor $OG_TMP/zones/trust-anchors" \
		"proxy-max-streams 1000"
	sed -i 's/^log-level info/log-level notice/' "$mem_dir/oniongate.conf"
	gw_start "$mem_dir" "$1" || exit 1
	og_wait_for 120 gw_log_has "$mem_dir" "tor ready" || { echo "oniongated (memory) did not bootstrap"; exit 1; }
}

# mem_map NS DIG_ARGS...: resolves the MAPPINGS names; prints how many were answered.
mem_map() {
	local ns=$1
	shift
	ip netns exec "$ns" dig +short +time=2 +tries=1 "$@" -f "$mem_names" | grep -c '^10\.\|^127\.'
}

# mem_hold NS OUT IP PORT [SOCKS_IP:SOCKS_PORT HOST]: holds STREAMS streams open through relaybench
# until mem_release; waits until each answered.
mem_hold() {
	local ns=$1 out=$2
	shift 2
	: > "$out"
	exec {mem_hold_in}> >(ip netns exec "$ns" "$OG_TOOLS/relaybench" hold "$1" "$2" "$STREAMS" "${@:3}" > "$out")
	og_wait_for 180 grep -q '^held' "$out"
}
mem_release() { exec {mem_hold_in}>&-; }

# mem_og_stages B: oniongated from mem_bins[B], from a fresh start, through the three stages; its
# RSS at each in og_rss[B,0..2].
mem_og_stages() {
	local b=$1 echo_addr
	mem_gw_start "${mem_bins[b]}"
	sleep 5
	og_rss[$b,0]=$(gw_rss_kb)
	og_log "bench: mappings made: ${mem_bins[b]} $(mem_map "$LAN_NS" @192.0.2.1) of $MAPPINGS"
	og_rss[$b,1]=$(gw_rss_kb)
	echo_addr=$(ip netns exec "$LAN_NS" dig +short @192.0.2.1 "$echo_onion" A)
	mem_hold "$LAN_NS" "$OG_TMP/mem-og-held" "$echo_addr" 7777
	og_rss[$b,2]=$(gw_rss_kb)
	og_log "bench: streams held: ${mem_bins[b]} '$(cat "$OG_TMP/mem-og-held")'"
	mem_release
	gw_stop "$mem_dir"
}

# mem_tor_stages NAME ARRAY [VAR=VALUE...]: a standalone tor client (the environment given added)
# through the three stages; its RSS at each in ARRAY.
mem_tor_stages() {
	local name=$1 d pid
	local -n rss=$2
	shift 2
	[ $# = 0 ] || local -x "$@"
	d=$(bench_tor_dir "$name" "SocksPort 127.0.0.1:9150" "DNSPort 127.0.0.1:5353" "AutomapHostsOnResolve 1")
	bench_tor_start "$RCP_NS" "$d" || { echo "tor ($name) did not bootstrap"; exit 1; }
	pid=$BENCH_TOR_PID
	sleep 5
	rss=("$(bench_rss_kb "$pid")")
	og_log "bench: mappings made: tor ($name) $(mem_map "$RCP_NS" -p 5353 @127.0.0.1) of $MAPPINGS"
	rss+=("$(bench_rss_kb "$pid")")
	mem_hold "$RCP_NS" "$OG_TMP/mem-tor-held" 127.0.0.1 7777 127.0.0.1:9150 "$echo_onion"
	rss+=("$(bench_rss_kb "$pid")")
	og_log "bench: streams held: tor ($name) '$(cat "$OG_TMP/mem-tor-held")'"
	mem_release
	og_stop "$pid"
}

declare -A og_rss
for ((b = 0; b < ${#mem_bins[@]}; b++)); do
	mem_og_stages "$b"
done
mem_tor_stages mem-tor tor_rss
# The same tor client once more with glibc's mmap threshold fixed at 64 KiB, as oniongated sets it
# for itself (main.c): what that allocator setting alone does for a tor, so the rows can tell it
# apart from what oniongated does differently.
mem_tor_stages mem-tor-mmap tor_mmap_rss MALLOC_MMAP_THRESHOLD_=65536

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
peer="tor $(bench_version tor) client, same network options"
peer_mmap="tor $(bench_version tor) client, same options, MALLOC_MMAP_THRESHOLD_=65536 as oniongated sets"
bench_raw memory tor rss_kb "${tor_rss[@]}"
bench_raw memory tor-mmap64k rss_kb "${tor_mmap_rss[@]}"
for ((b = 0; b < ${#mem_bins[@]}; b++)); do
	tag=""
	[ "${#mem_bins[@]}" -gt 1 ] && tag=" [${mem_bins[b]}]"
	bench_raw memory "oniongate$tag" rss_kb "${og_rss[$b,0]}" "${og_rss[$b,1]}" "${og_rss[$b,2]}"
	bench_row memory "RSS after bootstrap$tag" MiB lower "$(mib "${og_rss[$b,0]}")" "$peer" "$(mib "${tor_rss[0]}")"
	bench_row memory "RSS after $MAPPINGS onion mappings$tag" MiB lower "$(mib "${og_rss[$b,1]}")" "$peer" "$(mib "${tor_rss[1]}")"
	bench_row memory "RSS with $STREAMS streams open as well$tag" MiB lower "$(mib "${og_rss[$b,2]}")" "$peer" "$(mib "${tor_rss[2]}")"
	[ "$b" = 0 ] || continue
	bench_row memory "RSS after bootstrap$tag" MiB lower "$(mib "${og_rss[0,0]}")" "$peer_mmap" "$(mib "${tor_mmap_rss[0]}")"
	bench_row memory "RSS after $MAPPINGS onion mappings$tag" MiB lower "$(mib "${og_rss[0,1]}")" "$peer_mmap" "$(mib "${tor_mmap_rss[1]}")"
	bench_row memory "RSS with $STREAMS streams open as well$tag" MiB lower "$(mib "${og_rss[0,2]}")" "$peer_mmap" "$(mib "${tor_mmap_rss[2]}")"
done
