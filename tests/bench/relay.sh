#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# relay.sh: the relay alone, no Tor: LAN streams redirected to oniongated's transparent port,
# relayed to a local SOCKS5 peer (socksd) in front of an echo server; beside it redsocks, redirected
# by its own nft rule to the same SOCKS5 peer, and a direct loopback copy to the echo server.
# A ceiling row: relaybench as a SOCKS client straight to socksd's unix socket, the one oniongated
# uses (no transparent hop): what any transparent relay in front of this socksd can reach; the log
# also gives it through socksd's TCP port (redsocks's way, ceiling-tcp). Beside each figure the log
# gives the CPU time each process took per MiB relayed or per connection (relay, socksd, echod,
# relaybench: steadier than MiB/s on a loaded machine, and it shows who holds the 2 cores).
# RELAY_BIN: another oniongated binary to measure (e.g. an older build). RELAY_MEASURES: a subset of
# "tput1 tput64 conns" to run (for trying a change; rows are written only for a full run).
set -uo pipefail

. "$(dirname "$0")/../lib/common.sh"
. "$OG_TOP/tests/lib/gateway.sh"
. "$OG_TOP/tests/bench/lib.sh"

og_init bench-relay
LAN_NS="$OG_RUN_ID-rlan" GW_NS="$OG_RUN_ID-rgw"
og_netns_add "$LAN_NS"
og_netns_add "$GW_NS"
read -r LAN_IF GW_LAN_IF < <(og_link "$LAN_NS" 192.0.2.10/24 "$GW_NS" 192.0.2.1/24)
ip -n "$LAN_NS" route add default via 192.0.2.1

if [ "${QUICK:-0}" = 1 ]; then
	ONE_MIB=64 MANY_MIB=1 CONNS=500 REPS=1
else
	ONE_MIB=256 MANY_MIB=8 CONNS=2000 REPS=3
fi
dir="$OG_TMP/gw"
mkdir -p "$dir"
og_spawn "$GW_NS" "$OG_TMP/echod.log" "$OG_TOOLS/echod" 127.0.0.1 7777
ECHOD_PID=$OG_SPAWNED
og_spawn "$GW_NS" "$OG_TMP/socksd.log" "$OG_TOOLS/socksd" "$dir/socks" 127.0.0.1 1080 127.0.0.1 7777
SOCKSD_PID=$OG_SPAWNED
og_wait_for 5 test -S "$dir/socks" || { echo "socksd did not start"; exit 1; }

cat > "$dir/oniongate.conf" <<EOT
run-dir $dir/run
data-dir $dir/data
log-level notice
log-target stderr
socks-server $dir/socks
dns-listen 192.0.2.1
dns-upstream 127.0.0.53
client-network 192.0.2.0/24
transparent-port 9040
lan-interface $GW_LAN_IF
EOT
gw_start "$dir" "${RELAY_BIN:-$OG_TOP/daemon/oniongated}" || exit 1
og_wait_for 10 gw_log_has "$dir" "proxy: transparent port" || { echo "oniongated did not start"; exit 1; }
onion_addr=$(ip netns exec "$LAN_NS" dig +short @192.0.2.1 "$("$OG_TOOLS/onionname" 1)" A)

# redsocks as its README sets it up: a redirector on port 12345, socks5 to the same peer.
cat > "$OG_TMP/redsocks.conf" <<EOT
base { log_debug = off; log_info = off; log = stderr; daemon = off; redirector = iptables; }
redsocks { local_ip = 0.0.0.0; local_port = 12345; ip = 127.0.0.1; port = 1080; type = socks5; }
EOT
og_spawn "$GW_NS" "$OG_TMP/redsocks.log" redsocks -c "$OG_TMP/redsocks.conf"
REDSOCKS_PID=$OG_SPAWNED
ip netns exec "$GW_NS" nft -f - <<EOT
table ip redsocks_bench {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "$GW_LAN_IF" ip daddr 10.99.0.0/16 tcp dport 7777 redirect to :12345
	}
}
EOT
og_wait_for 5 bash -c "ip netns exec '$GW_NS' ss -ltn | grep -q ':12345 '" || { echo "redsocks did not start"; exit 1; }

# cpu_ns PID...: CPU time, in ns, the processes have used, all their threads (0 for "").
cpu_ns() {
	local pid
	for pid in "$@"; do
		[ -n "$pid" ] && cat /proc/"$pid"/task/*/schedstat 2>/dev/null
	done | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

# sleeps PID: how many times the process has gone to sleep (voluntary context switches, all its
# threads): the relay's wakeups.
sleeps() {
	[ -n "$1" ] && cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }' || echo 0
}

# cpu_per MODE NS A B: CPU time per MiB relayed each way (tput: A streams of B MiB), or per
# connection (conns: A connections).
cpu_per() {
	awk -v mode="$1" -v t="$2" -v a="$3" -v b="$4" 'BEGIN {
		if (mode == "tput") printf "%.2f", t / 1e6 / (a * b)
		else printf "%.1f", t / 1e3 / a }'
}

# run_bench LABEL NS ADDR PID ARGS...: REPS runs of relaybench; prints the median of its figure and
# logs the CPU time each process took per MiB (ms) or per connection (us): PID (the relay, "" for
# none), socksd (when the run goes through it), echod and relaybench itself; and how often the relay
# slept per MiB or per connection.
run_bench() {
	local label=$1 ns=$2 addr=$3 pid=$4 i out vals=() t0 t1 s0 s1 e0 e1 w0 w1 socks=$SOCKSD_PID unit
	shift 4
	[ "$label" = direct ] && socks=""
	[ "$1" = tput ] && unit="ms/MiB" || unit="us/conn"
	for ((i = 0; i < REPS; i++)); do
		t0=$(cpu_ns "$pid") s0=$(cpu_ns "$socks") e0=$(cpu_ns "$ECHOD_PID") w0=$(sleeps "$pid")
		out=$(ip netns exec "$ns" timeout 120 "$OG_TOOLS/relaybench" "$1" "$addr" 7777 "${@:2}") ||
			og_log "relay bench $label: $out"
		t1=$(cpu_ns "$pid") s1=$(cpu_ns "$socks") e1=$(cpu_ns "$ECHOD_PID") w1=$(sleeps "$pid")
		vals+=("$(awk '{ print $NF }' <<<"$out")")
		bench_raw relay "$label" "$*" "$out"
		og_log "relay: $label $*: ${vals[-1]}, CPU $unit: relay $(cpu_per "$1" $((t1 - t0)) "$2" "$3")," \
			"socksd $(cpu_per "$1" $((s1 - s0)) "$2" "$3"), echod $(cpu_per "$1" $((e1 - e0)) "$2" "$3")," \
			"relaybench $(cpu_per "$1" "$(awk '{ for (i = 1; i < NF; i++) if ($i == "cpu_ms") print $(i + 1) * 1e6 }' <<<"$out")" "$2" "$3");" \
			"relay sleeps $(awk -v w=$((w1 - w0)) -v mode="$1" -v a="$2" -v b="$3" 'BEGIN {
				if (mode == "tput") printf "%.1f per MiB", w / (a * b); else printf "%.2f per conn", w / a }')"
	done
	printf '%s\n' "${vals[@]}" | bench_median
}

declare -A fig
measures=${RELAY_MEASURES:-tput1 tput64 conns}
for what in "tput1 tput 1 $ONE_MIB" "tput64 tput 64 $MANY_MIB" "conns conns $CONNS 16"; do
	read -r key mode a b <<<"$what"
	[[ " $measures " == *" $key "* ]] || continue
	fig[og,$mode$a]=$(run_bench oniongate "$LAN_NS" "$onion_addr" "$GW_PID" $mode $a $b)
	fig[rs,$mode$a]=$(run_bench redsocks "$LAN_NS" 10.99.0.1 "$REDSOCKS_PID" $mode $a $b)
	fig[ceiling,$mode$a]=$(run_bench ceiling "$GW_NS" 127.0.0.1 "" $mode $a $b "$dir/socks" 127.0.0.1)
	run_bench ceiling-tcp "$GW_NS" 127.0.0.1 "" $mode $a $b 127.0.0.1:1080 127.0.0.1 > /dev/null
	fig[direct,$mode$a]=$(run_bench direct "$GW_NS" 127.0.0.1 "" $mode $a $b)
done
[ -z "${RELAY_MEASURES:-}" ] || { gw_stop "$dir"; exit 0; }
og_log "relay: RSS after the runs: oniongated $(bench_rss_kb "$GW_PID") KiB, redsocks $(bench_rss_kb "$REDSOCKS_PID") KiB"
# hold_rss LABEL ADDR PID: the relay's RSS growth with 200 streams held open through it (no Tor),
# and the pipes it holds for them.
hold_rss() {
	local rss0 hold held="$OG_TMP/held-$1"
	rss0=$(bench_rss_kb "$3")
	exec {hold}> >(ip netns exec "$LAN_NS" "$OG_TOOLS/relaybench" hold "$2" 7777 200 > "$held")
	og_wait_for 60 grep -q '^held' "$held"
	og_log "relay: $1 with 200 streams held ($(cat "$held")): RSS $(bench_rss_kb "$3") KiB, $(($(bench_rss_kb "$3") - rss0)) KiB more," \
		"$(find /proc/"$3"/fd -lname 'pipe:*' | wc -l) pipe fds open"
	exec {hold}>&-
	sleep 1
}
hold_rss oniongate "$onion_addr" "$GW_PID"
hold_rss redsocks 10.99.0.1 "$REDSOCKS_PID"

for what in "tput1|MiB/s|throughput, 1 stream ($ONE_MIB MiB each way)" \
	"tput64|MiB/s|throughput, 64 streams ($MANY_MIB MiB each way each)" \
	"conns$CONNS|conn/s|new connections ($CONNS, 16 at a time, 1 byte echoed)"; do
	IFS='|' read -r key unit measure <<<"$what"
	bench_row relay "relay $measure" "$unit" higher "${fig[og,$key]}" "redsocks 0.5" "${fig[rs,$key]}"
	bench_row relay "relay $measure" "$unit" higher "${fig[og,$key]}" "direct loopback copy (no relay)" "${fig[direct,$key]}"
	bench_row relay "relay $measure" "$unit" higher "${fig[og,$key]}" "SOCKS client straight to socksd's unix socket (ceiling)" \
		"${fig[ceiling,$key]}" "no transparent hop: what any relay in front of this SOCKS peer can reach"
done
gw_stop "$dir"
