# SPDX-License-Identifier: ISC
# test_bridges: a gateway on a censored uplink. A private obfs4 bridge (Debian's tor, BridgeRelay 1,
# PublishServerDescriptor 0, obfs4proxy as its server transport) runs in the WAN namespace; a gateway
# of this test's own (lan -- gw, its WAN link into the WAN namespace) has an nft table of the test's
# that drops every packet out of its WAN link but those to the bridge's obfs4 port. Asserts: broken
# bridge lines are refused with file:line:; the gateway bootstraps through the bridge with `bridge` +
# `transport-plugin obfs4 /usr/bin/obfs4proxy`; obfs4proxy runs as the gateway's child under its
# user, with no capability, no signal blocked and none of its sockets, and exits with it; a mail
# (swaks from the LAN host, MX looked up through the gateway's DNS) goes LAN -> onion MX (smtp-sink,
# 250); a reload that adds a bridge is refused (restart-only); a killed obfs4proxy makes the gateway
# exit 1 (Tor cannot restart it here) without a zombie; Tor never tried a relay directly (the table's
# counter) and a capture on the WAN link shows only the bridge's address and port. Prints the
# bootstrap times through the bridge against direct bootstraps of the same config (no bridge lines,
# no table) on the same network, BR_RUNS (3) cold starts each.

BR_LAN="$OG_RUN_ID-br-lan"
BR_GW="$OG_RUN_ID-br-gw"
BR_ADDR=198.18.16.1 # the bridge, on the WAN namespace's end of the link
BR_GW_WAN=198.18.16.2
BR_PORT=4430
BR_RUNS=${BR_RUNS:-3}
br_dir="$OG_TMP/bridges"
br_tor="$br_dir/bridge"
mkdir -p "$br_dir"
chmod 711 "$OG_TMP" # the gateway's user must reach its directories

og_netns_add "$BR_LAN"
og_netns_add "$BR_GW"
read -r BR_LAN_IF BR_GW_LAN_IF < <(og_link "$BR_LAN" 192.0.2.10/24 "$BR_GW" 192.0.2.1/24)
read -r BR_WAN_IF BR_GW_WAN_IF < <(og_link "$WAN_NS" "$BR_ADDR/24" "$BR_GW" "$BR_GW_WAN/24")
ip -n "$BR_LAN" route add default via 192.0.2.1
ip -n "$BR_GW" route add default via "$BR_ADDR"
# IPv4 only on the WAN link: no neighbour discovery or router solicitations from either end.
ip netns exec "$BR_GW" sysctl -qw "net.ipv6.conf.$BR_GW_WAN_IF.disable_ipv6=1"
ip netns exec "$WAN_NS" sysctl -qw "net.ipv6.conf.$BR_WAN_IF.disable_ipv6=1"

# The bridge: a relay of the private network that publishes no descriptor; clients reach it only
# through obfs4 on BR_ADDR:BR_PORT.
og_check "the obfs4 bridge starts (bootstrapped, obfs4_bridgeline.txt written)" \
	privnet_start_obfs4_bridge "$WAN_NS" "$BR_ADDR" "$BR_PORT" "$br_tor"
br_bridge_pid=$PRIVNET_BRIDGE_PID
# "Bridge obfs4 <IP ADDRESS>:<PORT> <FINGERPRINT> cert=... iat-mode=0" with the placeholders filled.
br_template=$PRIVNET_BRIDGE_TEMPLATE
br_fp=$PRIVNET_BRIDGE_FP
br_line=$PRIVNET_BRIDGE_LINE
echo "bridges: bridge line: $br_line"

mx=$(privnet_onion mx)
echo "mapped.test smtptor:[$mx]" > "$br_dir/onionmx.map"
br_conf=(
	"user nobody" "dns-listen 192.0.2.1" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24"
	"transparent-port 9040" "lan-interface $BR_GW_LAN_IF" "onion-map $br_dir/onionmx.map"
	"trust-anchor $OG_TMP/zones/trust-anchors" "proxy-connect-timeout 60"
)
br_bridged=("transport-plugin obfs4 /usr/bin/obfs4proxy" "bridge $br_line")

# Refused at load, with the line: a transport no plugin provides, a plugin that is no executable,
# the unedited template line of obfs4_bridgeline.txt.
br_refused() {
	local want=$1 out
	shift
	gw_config "$br_dir/bad" "$@"
	out=$("$OG_TOP/daemon/oniongated" -t -c "$br_dir/bad/oniongate.conf" 2>&1) && return 1
	[[ $out == "$br_dir/bad/oniongate.conf:"*": $want" ]] || { echo "bridges: got: $out"; return 1; }
}
br_first=$(($(privnet_client_options | wc -l) + 5)) # the line of the first extra line in gw_config's file
og_check "a bridge obfs4 line without transport-plugin is refused: file:line: no transport-plugin line provides obfs4" \
	br_refused "bridge: no transport-plugin line provides obfs4" "bridge $br_line"
og_check "the error names the bridge's line ($br_first)" \
	bash -c "'$OG_TOP/daemon/oniongated' -t -c '$br_dir/bad/oniongate.conf' 2>&1 | grep -q ':$br_first: bridge:'"
og_check "a transport-plugin that is not an executable file is refused" \
	br_refused "transport-plugin: /etc/passwd is not an executable file" "transport-plugin obfs4 /etc/passwd" "bridge $br_line"
og_check "the unedited template line of obfs4_bridgeline.txt is refused" \
	br_refused "bridge: '<IP' is not ADDRESS:PORT" "transport-plugin obfs4 /usr/bin/obfs4proxy" "bridge ${br_template#Bridge }"
gw_config "$br_dir/good" "${br_conf[@]}" "${br_bridged[@]}"
og_check "the bridged config passes oniongated -t" "$OG_TOP/daemon/oniongated" -t -c "$br_dir/good/oniongate.conf"

# br_boot NAME [lines...]: a cold start of the gateway (fresh data-dir); BR_BOOT_S the seconds from
# its first log line to "tor ready" (empty if not within 120 s). The gateway keeps running.
br_boot() {
	local dir="$br_dir/$1" t0 t1
	shift
	rm -rf "$dir"
	gw_config "$dir" "${br_conf[@]}" "$@"
	gw_start "$dir" "$OG_TOP/build/asan/oniongated"
	BR_BOOT_S=""
	og_wait_for 120 gw_log_has "$dir" "tor ready" || return 1
	t0=$(head -1 "$dir/oniongated.log" | cut -d' ' -f2)
	t1=$(grep -m1 'tor ready' "$dir/oniongated.log" | cut -d' ' -f2)
	BR_BOOT_S=$(echo "$t0 $t1" | awk '{ split($1, a, ":"); split($2, b, ":");
		printf "%.1f", (b[1] * 3600 + b[2] * 60 + b[3]) - (a[1] * 3600 + a[2] * 60 + a[3]) }')
}
br_median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }

WORLD_GW_NS=$GW_NS
GW_NS=$BR_GW # gw_start and gw_stop run the daemon here
br_direct=()
for ((i = 1; i <= BR_RUNS; i++)); do
	br_boot "direct$i" && br_direct+=("$BR_BOOT_S")
	gw_stop "$br_dir/direct$i"
	[ "${#br_direct[@]}" = "$i" ] || break # one failure is enough to fail; no more 120 s waits
done
og_check "the same gateway without bridge lines bootstraps directly ($BR_RUNS of $BR_RUNS cold starts)" \
	test "${#br_direct[@]}" = "$BR_RUNS"

# The censor: only the bridge's obfs4 port; a counter for the relays' and authorities' address.
ip netns exec "$BR_GW" nft -f - <<EOT
table inet ogbridgetest {
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "$BR_GW_WAN_IF" ip daddr $BR_ADDR tcp dport $BR_PORT accept
		oifname "$BR_GW_WAN_IF" ip daddr $WAN_ADDR counter drop comment "relays"
		oifname "$BR_GW_WAN_IF" counter drop comment "other"
	}
}
EOT
br_counter() { og_nft_packets "$BR_GW" inet ogbridgetest out "$1"; }
og_spawn "$WAN_NS" "$br_dir/tcpdump.log" tcpdump -i "$BR_WAN_IF" -n -U -Z root -w "$br_dir/wan.pcap" ip or ip6
br_capture=$OG_SPAWNED
og_wait_for 5 grep -qs 'listening on' "$br_dir/tcpdump.log"

br_bridged_s=()
for ((i = 1; i <= BR_RUNS; i++)); do
	br_gw="$br_dir/bridged$i" # the last one started keeps running for the checks below
	br_boot "bridged$i" "${br_bridged[@]}" && br_bridged_s+=("$BR_BOOT_S")
	[ "${#br_bridged_s[@]}" = "$i" ] || break
	[ "$i" = "$BR_RUNS" ] || gw_stop "$br_gw"
done
og_check "the gateway bootstraps through the obfs4 bridge ($BR_RUNS of $BR_RUNS cold starts)" \
	test "${#br_bridged_s[@]}" = "$BR_RUNS"
og_check "it says it runs only through 1 bridge" gw_log_has "$br_gw" "tor: only through 1 bridge (1 transport plugin)"
og_check "oniongatectl status says so too (bridges: 1; JSON tor.bridges 1)" \
	bash -c "'$OG_TOP/ctl/oniongatectl' -s '$br_gw/run/control' status | grep -qx 'bridges: 1 (Tor reaches the network through them alone)' &&
	'$OG_TOP/ctl/oniongatectl' -s '$br_gw/run/control' -j status | jq -e '.tor.bridges == 1' > /dev/null"

# The transport plugin: the gateway's child, as its user, without capabilities or blocked signals.
br_pt=$(ps --ppid "$GW_PID" -o pid=,comm= | awk '$2 == "obfs4proxy" { print $1 }')
br_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
og_check "obfs4proxy runs as a child of oniongated" test -n "$br_pt"
og_check "obfs4proxy runs as nobody (the gateway's user) with no capability (CapEff, CapPrm, CapBnd, CapAmb 0)" \
	test "$(br_field "$br_pt" Uid | cut -f1) $(br_field "$br_pt" CapEff) $(br_field "$br_pt" CapPrm) $(br_field "$br_pt" CapBnd) $(br_field "$br_pt" CapAmb)" \
	= "$(id -u nobody) 0000000000000000 0000000000000000 0000000000000000 0000000000000000"
# Go keeps its first thread's own mask; every other thread takes the mask the process started with.
br_blocked() { for t in /proc/"$br_pt"/task/*; do [ "${t##*/}" = "$br_pt" ] || awk '$1 == "SigBlk:" { print $2 }' "$t/status"; done | sort -u; }
og_check "obfs4proxy started with no signal blocked (SigBlk 0 in its threads; Tor's thread blocks them all)" \
	test "$(br_blocked)" = 0000000000000000
# Sockets both hold (its stdin, stdout and stderr are pipes to Tor; epoll descriptors all read alike).
br_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null | grep '^socket:' | sort -u; }
br_shared=$(comm -12 <(br_fds "$GW_PID") <(br_fds "$br_pt"))
og_check "obfs4proxy holds none of the gateway's sockets (the owning control socketpair was shared)" \
	test -z "$br_shared" -a -n "$(br_fds "$GW_PID")"
[ -z "$br_shared" ] || echo "bridges: shared with the gateway: $(echo $br_shared)"
og_check "Tor's transport state is in data-dir/tor/pt_state" test -d "$br_gw/data/tor/pt_state"

# A mail LAN -> onion MX through the bridge.
br_mx=$(ip netns exec "$BR_LAN" dig +short @192.0.2.1 mapped.test MX)
br_addr=$(ip netns exec "$BR_LAN" dig +short @192.0.2.1 "$mx" A)
og_check "the gateway's DNS answers MX mapped.test with the onion MX ($br_mx) at a pool address ($br_addr)" \
	test "$br_mx" = "0 $mx." -a -n "$br_addr"
br_t0=$(date +%s.%N)
og_check "swaks from the LAN host delivers a mail for user@mapped.test to the onion MX through the bridge" \
	ip netns exec "$BR_LAN" swaks --silent 2 --server "$br_addr" --to user@mapped.test --from lan@lan.test \
	--helo lan.test --timeout 60
echo "bridges: mail LAN -> onion MX through the bridge in $(privnet_since "$br_t0") s"
og_check "the relay's stream line names the onion MX" og_wait_for 10 gw_log_has "$br_gw" "$mx:25 closed"

# Restart-only: a SIGHUP that adds a bridge is refused at its line, the running config stays.
cp "$br_gw/oniongate.conf" "$br_dir/bridged.conf"
echo "bridge $BR_ADDR:5300 $br_fp" >> "$br_gw/oniongate.conf"
kill -HUP "$GW_PID"
og_check "a reload that adds a bridge line is refused: file:$(wc -l < "$br_gw/oniongate.conf"): bridge changes only on restart" \
	og_wait_for 10 gw_log_has "$br_gw" "reload refused, keeping the running configuration: $br_gw/oniongate.conf:$(wc -l < "$br_gw/oniongate.conf"): bridge changes only on restart"
cp "$br_dir/bridged.conf" "$br_gw/oniongate.conf"

gw_stop "$br_gw"
og_check "the ASan+UBSan gateway exits 0" test $? = 0
og_check "no sanitizer report from any gateway" bash -c "! grep -l 'Sanitizer' '$br_dir'/*/oniongated.log"
og_check "obfs4proxy has exited with the gateway" og_wait_for 10 bash -c "! kill -0 $br_pt 2>/dev/null"

# The same through tor-option lines (unchecked, as the docs once said): the plugin gets the same
# start (no descriptor of the daemon's), so Tor still stops when asked.
br_gw="$br_dir/tor-option"
br_boot tor-option "tor-option ClientTransportPlugin obfs4 exec /usr/bin/obfs4proxy" "tor-option UseBridges 1" \
	"tor-option Bridge $br_line"
og_check "tor-option UseBridges, Bridge, ClientTransportPlugin: the gateway bootstraps through the bridge too" \
	gw_log_has "$br_gw" "tor ready"
gw_stop "$br_gw"
og_check "... and stops at once with exit 0 (its plugin held no copy of Tor's control socket)" test $? = 0

# A plugin that dies: Tor here cannot reap or restart it, so the daemon exits 1 for its supervisor.
br_gw="$br_dir/plugin-killed"
br_pt=""
if [ "${#br_bridged_s[@]}" = "$BR_RUNS" ] && br_boot plugin-killed "${br_bridged[@]}"; then
	br_pt=$(ps --ppid "$GW_PID" -o pid=,comm= | awk '$2 == "obfs4proxy" { print $1 }')
	kill -KILL "$br_pt"
fi
og_check "a killed obfs4proxy makes the gateway say so and exit (for its supervisor to restart it)" \
	og_wait_for 30 gw_log_has "$br_gw" "tor: transport plugin (pid $br_pt) killed by signal 9; exiting so the supervisor restarts us"
# It exits by itself: a SIGTERM from gw_stop during its teardown (the handlers gone) would end it by
# the signal instead of its exit code.
og_wait_for 30 bash -c "! kill -0 $GW_PID 2>/dev/null"
gw_stop "$br_gw"
og_check "... with exit code 1" test $? = 1
og_check "... leaving no zombie behind" bash -c "! ps --ppid '$GW_PID' -o pid= | grep -q ."

og_check "Tor never tried a relay or an authority directly (the table's counter: 0 packets)" \
	test "$(br_counter relays)" = 0
echo "bridges: other packets the table dropped: $(br_counter other)"
og_stop "$br_capture"
tcpdump -n -r "$br_dir/wan.pcap" 2>/dev/null > "$br_dir/wan.txt"
# Each line: "time IP src.port > dst.port: ..."; the gateway's side must be the bridge's port.
br_foreign=$(awk -v b="$BR_ADDR.$BR_PORT" '{ s = $3; d = $5; sub(/:$/, "", d) } s != b && d != b' "$br_dir/wan.txt" | head -5)
og_check "the capture on the WAN link holds $(wc -l < "$br_dir/wan.txt") packets, all to or from $BR_ADDR:$BR_PORT" \
	test -s "$br_dir/wan.txt" -a -z "$br_foreign"
[ -z "$br_foreign" ] || printf 'bridges: not the bridge: %s\n' "$br_foreign"

echo "bridges: cold bootstrap to 'tor ready', direct (s): ${br_direct[*]:-none}; median $(br_median "${br_direct[@]}")"
echo "bridges: cold bootstrap to 'tor ready', through the obfs4 bridge (s): ${br_bridged_s[*]:-none}; median $(br_median "${br_bridged_s[@]}")"

og_stop "$br_bridge_pid"
GW_NS=$WORLD_GW_NS
ip netns del "$BR_GW"
ip netns del "$BR_LAN"
