# SPDX-License-Identifier: ISC
# test_stall: the watchdog and the stall detector. The unit has WatchdogSec= and Restart=on-failure;
# under a notify socket of the test's own with WATCHDOG_USEC=2 s, WATCHDOG=1 arrives every second. A stream to the onion MX proves the path; then
# a drop table of the test's own on the gateway's WAN link cuts its Tor off from every relay and
# authority behind its established circuits, while LAN connects to the onion keep coming (each gets
# a 421 line): the log shows the stall, NEWNYM, then the exit with code 1, in that order. The test,
# playing supervisor, removes the drop table and starts the gateway again: the onion answers.

st_dir="$OG_TMP/stall"
st_timeout=10
st_conf=(
	"dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24"
	"pool-key 00112233445566778899aabbccddeeff" "transparent-port 9040" "lan-interface $GW_LAN_IF"
	"trust-anchor $OG_TMP/zones/trust-anchors" "warm-up off" "proxy-connect-timeout 5"
	"stall-timeout $st_timeout"
)
st_table="ogstall$$"
st_now() { date +%s.%N; }
st_since() { echo "$(st_now) $1" | awk '{printf "%.1f", $1 - $2}'; }
st_line() { ip netns exec "$LAN_NS" timeout "${3:-60}" bash -c "exec 3<>/dev/tcp/$1/$2 && head -1 <&3" 2>/dev/null | tr -d '\r'; }
# The line number of the first log line matching, 0 if none.
st_at() { grep -n -m1 -- "$1" "$st_dir/stalled.log" | cut -d: -f1 | grep . || echo 0; }

og_check "the unit restarts a daemon that stops pinging or exits non-zero: WatchdogSec=30s, Restart=on-failure" \
	test "$(grep -E '^(WatchdogSec|Restart)=' "$OG_TOP/systemd/oniongated.service" | sort | paste -sd' ')" = \
	"Restart=on-failure WatchdogSec=30s"
gw_config "$st_dir" "${st_conf[@]}"
og_spawn "$GW_NS" "$st_dir/notify.log" "$OG_TOOLS/notifyd" "$st_dir/notify"
st_notifyd=$OG_SPAWNED
og_wait_for 5 test -S "$st_dir/notify"
gw_start "$st_dir" "$OG_TOP/build/asan/oniongated" env NOTIFY_SOCKET="$st_dir/notify" WATCHDOG_USEC=2000000
og_check "the daemon keeps the watchdog: WATCHDOG=1 every 1000 ms" \
	og_wait_for 20 gw_log_has "$st_dir" "watchdog: WATCHDOG=1 every 1000 ms"
og_wait_for 60 gw_log_has "$st_dir" "tor ready"
sleep 4
# The intervals between WATCHDOG=1 datagrams, from notifyd's time stamps (ms).
grep ' WATCHDOG=1$' "$st_dir/notify.log" | awk '{split($2, t, ":"); ms = (t[1] * 3600 + t[2] * 60 + t[3]) * 1000;
	if (NR > 1) print int(ms - last + 0.5); last = ms}' > "$st_dir/watchdog.ms"
echo "watchdog: $(grep -c ' WATCHDOG=1$' "$st_dir/notify.log") WATCHDOG=1, intervals (ms): $(sort -n "$st_dir/watchdog.ms" | sed -n '1p;$p' | paste -sd-)"
og_check "WATCHDOG=1 arrives about every second (at least 5, every interval 700..1500 ms)" \
	awk '$1 < 700 || $1 > 1500 {bad = 1} END {exit bad || NR < 4}' "$st_dir/watchdog.ms"

mx_onion=$(privnet_onion mx)
st_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$mx_onion" A)
# The first rendezvous with an onion may fail on a young network: tried again for a minute.
st_banner_ok() { test "$(st_line "$st_addr" 25 30)" = "220 mx.onion.test ESMTP"; }
og_check "before the stall a LAN connect to the onion MX gets its banner" og_wait_for 60 st_banner_ok
# The descriptor detector's input: Tor's HS_DESC events reach the daemon (the first stream fetched the
# onion MX's descriptor).
kill -USR1 "$GW_PID" 2>/dev/null
og_check "HS_DESC events are read: the onion MX's descriptor fetch is counted (stats: tor_descriptors_received >= 1)" \
	og_wait_for 5 grep -Eq 'stats: tor_descriptors_received=[1-9]' "$st_dir/oniongated.log"

# Tor's network gone behind the established circuits: every packet between the gateway and the
# authorities' and relays' ports on the WAN link is dropped (no RST: Tor's connections stay open).
st_ports="5000-5002, 5100-5102, 7000-7002"
ip netns exec "$GW_NS" nft -f - <<EOF
table inet $st_table {
	chain out { type filter hook output priority 0; oifname "$GW_WAN_IF" ip daddr $WAN_ADDR tcp dport { $st_ports } drop; }
	chain in { type filter hook input priority 0; iifname "$GW_WAN_IF" ip saddr $WAN_ADDR tcp sport { $st_ports } drop; }
}
EOF
st_t0=$(st_now)
og_check "the test's drop table stands on the WAN link" ip netns exec "$GW_NS" nft list table inet "$st_table" >/dev/null

# LAN connects to the onion one after another until the daemon is gone; each reads one line.
(
	while kill -0 "$GW_PID" 2>/dev/null; do
		st_line "$st_addr" 25 20 >> "$st_dir/stalled.lines"
		echo >> "$st_dir/stalled.lines"
		sleep 0.5
	done
) &
st_loop=$!
OG_PIDS+=("$st_loop")
og_wait_for $((st_timeout * 4 + 30)) gw_log_has "$st_dir" "asking Tor for new circuits (SIGNAL NEWNYM)"
st_t_newnym=$(st_since "$st_t0")
kill -USR1 "$GW_PID" 2>/dev/null
og_check "NEWNYM is counted (stats: stall_newnym=1)" og_wait_for 5 gw_log_has "$st_dir" "stats: stall_newnym=1"
for ((i = 0; i < (st_timeout * 4 + 30) * 10; i++)); do
	kill -0 "$GW_PID" 2>/dev/null || break
	sleep 0.1
done
st_t_exit=$(st_since "$st_t0")
if kill -0 "$GW_PID" 2>/dev/null; then
	og_log "stall: the daemon is still running: stopping it"
	gw_stop "$st_dir"
else
	wait "$GW_PID"
fi
st_rc=$?
og_stop "$st_loop" 30
cp "$st_dir/oniongated.log" "$st_dir/stalled.log"
grep -E 'stall|exits with' "$st_dir/stalled.log" | sed 's/^/stall: /'
og_check "the stalled daemon exits with 1, for a restart" test "$st_rc" = 1
st_stall=$(st_at "stall: Tor has circuits, yet [0-9]* streams failed and none opened in [0-9]* s: asking Tor for new circuits (SIGNAL NEWNYM)")
st_exit=$(st_at "stall: new circuits did not help: [0-9]* more streams failed and none opened in [0-9]* s since NEWNYM: exiting so the supervisor restarts us")
st_down=$(st_at "stall: shutting down")
st_code=$(st_at "oniongated exits with 1")
echo "stall: log lines: stall and NEWNYM $st_stall, exit $st_exit, shutdown $st_down, exit code $st_code"
og_check "the log shows, in order: the stall with NEWNYM, the exit for a restart, the shutdown, exit code 1" \
	test "$st_stall" -gt 0 -a "$st_exit" -gt "$st_stall" -a "$st_down" -gt "$st_exit" -a "$st_code" -gt "$st_down"
og_check "each step is logged once" \
	test "$(grep -c 'SIGNAL NEWNYM)$' "$st_dir/stalled.log")" = 1 -a "$(grep -c 'since NEWNYM: exiting' "$st_dir/stalled.log")" = 1
og_check "Tor took SIGNAL NEWNYM" bash -c "! grep -q 'NEWNYM refused\|cannot send SIGNAL NEWNYM' '$st_dir/stalled.log'"
og_check "Tor said ready throughout (the detector, not Tor, saw the stall)" \
	bash -c "! grep -q 'tor not ready' '$st_dir/stalled.log'"
og_check "and no sanitizer report" bash -c "! grep -q Sanitizer '$st_dir/stalled.log'"
sed -i '/^$/d' "$st_dir/stalled.lines"
sort "$st_dir/stalled.lines" | uniq -c | sed 's/^/stall: LAN connects: /'
og_check "every LAN connect during the stall got a 421 line (4.4.x; 4.3.2 once it shuts down; at least 3)" \
	bash -c "[ \$(wc -l < '$st_dir/stalled.lines') -ge 3 ] && ! grep -qvE '^421 4\.(4\.[12]|3\.2) $mx_onion: ' '$st_dir/stalled.lines'"

# The supervisor's part: the network is back, the gateway starts again.
ip netns exec "$GW_NS" nft delete table inet "$st_table"
og_check "the drop table is gone" bash -c "! ip netns exec '$GW_NS' nft list table inet '$st_table' >/dev/null 2>&1"
st_t1=$(st_now)
gw_start "$st_dir"
og_wait_for 90 gw_log_has "$st_dir" "tor ready"
st_t_ready=$(st_since "$st_t1")
# As the MTA would: the MX's address first (the new daemon's pool starts empty; the key is the same).
og_check "the restarted daemon gives the onion the same fake address" \
	test "$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$mx_onion" A)" = "$st_addr"
og_wait_for 60 st_banner_ok
st_delivered=$?
st_t_stream=$(st_since "$st_t1")
og_check "after the restart a LAN connect to the onion MX gets its banner again" test "$st_delivered" = 0
echo "stall: timings: NEWNYM ${st_t_newnym} s after the network went, exit ${st_t_exit} s after;" \
	"restarted Tor ready ${st_t_ready} s after the start, the onion's banner after ${st_t_stream} s"
gw_stop "$st_dir"
og_check "the restarted gateway stops with exit 0" test $? = 0
og_stop "$st_notifyd"
