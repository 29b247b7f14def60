# SPDX-License-Identifier: ISC
# test_ctl: oniongatectl and the control socket. The socket is 0660 and the service user's group's:
# a process without the group is refused, one with it is served. status exits 1 before Tor is
# ready and 0 after (--wait-ready returns then); -j is JSON with the documented fields; streams
# shows a stream held open with its bytes; onions shows an onion MX's domains (map line, SRV) and its
# last success after an SMTP session; lookup says why for a map domain, SRV secure, insecure, bogus,
# none and a failed discovery (the upstream DNS down); reload prints ok, or file:line: while the old config stays. Bounds: an
# over-long request gets an error and is closed, a 9th client is refused, a silent one is closed
# after 10 s. The gateway is the ASan+UBSan build running as nobody. A sample of each output is kept in
# build/test-artifacts/ctl/.

ct_dir="$OG_TMP/ctl"
ct_conf="$ct_dir/oniongate.conf"
ct_sock="$ct_dir/run/control"
ct_map="$ct_dir/onionmx.map"
MX_ONION=$(privnet_onion mx)
MX2_ONION=$(privnet_onion mx2)
ECHO_ONION=$(privnet_onion echo)
chmod 711 "$OG_TMP" # nobody must reach its directories below the scratch dir
mkdir -p "$ct_dir"
echo "mapped.test smtptor:[$MX_ONION]" > "$ct_map"
gw_config "$ct_dir" "user nobody" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24" \
	"pool-key 00112233445566778899aabbccddeeff" "transparent-port 9040" "lan-interface $GW_LAN_IF" \
	"trust-anchor $OG_TMP/zones/trust-anchors" "onion-map $ct_map"
cp "$ct_conf" "$ct_dir/good.conf"

ctl() { "$OG_TOP/ctl/oniongatectl" -s "$ct_sock" "$@"; }
# ct_run NAME ARGS...: oniongatectl's stdout, stderr and exit code in $ct_dir/NAME.{out,err,rc}.
ct_run() {
	local name=$1
	shift
	ctl "$@" > "$ct_dir/$name.out" 2> "$ct_dir/$name.err"
	echo $? > "$ct_dir/$name.rc"
}
ct_rc() { cat "$ct_dir/$1.rc"; }
ct_has() { grep -q -- "$2" "$ct_dir/$1.out"; }
ct_jq() { jq -e "${@:2}" "$ct_dir/$1.out" > /dev/null; }
ct_dig() { ip netns exec "$LAN_NS" dig +short +time=3 +tries=1 @"$GW_LAN_ADDR" "$@"; }

gw_start "$ct_dir" "$OG_TOP/build/asan/oniongated"
og_check "ctl: the control socket appears before Tor is ready" og_wait_for 20 test -S "$ct_sock"
ct_run early status
ct_run early_json -j status
og_check "ctl: status before Tor is ready exits 1 and says 'ready: no' (rc $(ct_rc early))" \
	test "$(ct_rc early)" = 1 -a "$(grep -c '^ready: no$' "$ct_dir/early.out")" = 1
og_check "ctl: -j status before ready: .ready is false, bootstrap below 100" \
	ct_jq early_json '.ready == false and .tor.embedded == true and .tor.bootstrap_percent < 100'
ct_t0=$(date +%s)
ct_run wait status --wait-ready=90
og_check "ctl: status --wait-ready=90 exits 0 once ready ($(($(date +%s) - ct_t0)) s) and says 'ready: yes'" \
	test "$(ct_rc wait)" = 0 -a "$(grep -c '^ready: yes$' "$ct_dir/wait.out")" = 1
og_check "ctl: the daemon logged Tor ready before that" gw_log_has "$ct_dir" "tor ready"

# --- the socket: 0660, owner and group the service user's (made after the drop); others refused
og_check "ctl: the socket is 0660 nobody:$(id -gn nobody) ($(stat -c '%a %U:%G' "$ct_sock"))" \
	test "$(stat -c '%a %U:%G' "$ct_sock")" = "660 nobody:$(id -gn nobody)"
setpriv --reuid=daemon --regid=daemon --clear-groups "$OG_TOP/ctl/oniongatectl" -s "$ct_sock" status \
	> "$ct_dir/stranger.out" 2>&1
og_check "ctl: a process without the group is refused (exit $?: $(cat "$ct_dir/stranger.out"))" \
	grep -q "Permission denied" "$ct_dir/stranger.out"
setpriv --reuid=daemon --regid=daemon --groups="$(id -g nobody)" "$OG_TOP/ctl/oniongatectl" -s "$ct_sock" status \
	> "$ct_dir/member.out" 2>&1
og_check "ctl: a process with the group is served (exit $?)" grep -q '^ready: yes$' "$ct_dir/member.out"

# --- status: text and JSON
ct_run status status
og_check "ctl: status names the version, the config and Tor at 100% with circuits" \
	bash -c "grep -q '^version: oniongated ' '$ct_dir/status.out' && grep -q '^config: $ct_conf$' '$ct_dir/status.out' &&
		grep -Eq '^tor: [0-9.]+.*, bootstrap 100% \(.*\), circuits established$' '$ct_dir/status.out'"
og_check "ctl: status names the pool, streams, the hour, failures, the cache and the last reload" \
	bash -c "grep -q '^pool: [0-9]* of 65536 mappings (10.192.0.0/10, fd6f:6e69:6f6e::/64)$' '$ct_dir/status.out' &&
		grep -q '^streams: 0 open$' '$ct_dir/status.out' && grep -q '^last hour: [0-9]* relayed, [0-9]* failed$' '$ct_dir/status.out' &&
		grep -q '^failures since start:' '$ct_dir/status.out' && grep -q '^discovery cache: [0-9]*$' '$ct_dir/status.out' &&
		grep -q '^stall detector: watching$' '$ct_dir/status.out' &&
		grep -q '^last reload: none$' '$ct_dir/status.out'"
ct_run status_json -j status
og_check "ctl: -j status parses and has the fields (ready, tor, pool, streams, hour, failures, reload)" \
	ct_jq status_json --arg conf "$ct_conf" '.ready == true and .config == $conf and (.version | length > 0) and
		.uptime_seconds >= 0 and .tor.embedded and .tor.bootstrap_percent == 100 and .tor.circuits_established and
		(.tor.version | test("^[0-9]")) and .tor.clock_skew_seconds == null and .pool.max == 65536 and
		.pool.ipv4 == "10.192.0.0/10" and .streams_open == 0 and (.last_hour | has("relayed") and has("failed")) and
		(.failures | has("timeout") and has("descriptor_not_found") and has("socks_unreachable")) and
		(.discovery_cache | type == "number") and .stall == "watching" and .last_reload == null'

# --- lookup: what the DNS would answer for MX, and why
ct_run l_map lookup mapped.test
og_check "ctl: lookup mapped.test: onion MX from the map file's line 1" \
	bash -c "grep -q '^mapped.test MX: onion MX$' '$ct_dir/l_map.out' && grep -q '^why: map file $ct_map:1$' '$ct_dir/l_map.out' &&
		grep -q '^mx: 0 $MX_ONION port 25$' '$ct_dir/l_map.out'"
ct_run l_signed -j lookup signed.test
og_check "ctl: lookup signed.test: SRV, DNSSEC secure, the onion MX" \
	ct_jq l_signed --arg o "$MX_ONION" '.answer == "onion" and .source == "srv" and .dnssec == "secure" and
		.refused == false and .mx[0].host == $o and .mx[0].priority == 10 and .policy == "onion-only"'
ct_run l_unsigned -j lookup unsigned.test
og_check "ctl: lookup unsigned.test: SRV insecure, used (dnssec prefer)" \
	ct_jq l_unsigned --arg o "$MX2_ONION" '.answer == "onion" and .source == "srv" and .dnssec == "insecure" and .mx[0].host == $o'
ct_run l_bogus -j lookup broken.test
og_check "ctl: lookup broken.test: SRV bogus, refused, the upstream's answer" \
	ct_jq l_bogus '.answer == "upstream" and .source == "srv" and .dnssec == "bogus" and .refused == true and (.mx | length) == 0'
ct_run l_bogus_text lookup broken.test
og_check "ctl: lookup broken.test (text) says why" grep -q "^why: SRV _onion-mx._tcp.broken.test is DNSSEC-bogus: refused$" "$ct_dir/l_bogus_text.out"
ct_run l_none -j lookup plain.test
og_check "ctl: lookup plain.test: no onion MX, the upstream's answer unchanged" \
	ct_jq l_none '.answer == "upstream" and .source == "srv" and .refused == false and (.mx | length) == 0'
zones_pause
ct_t0=$(date +%s.%N)
ct_run l_fail -j lookup fresh.test
ct_t1=$(date +%s.%N)
zones_resume
og_check "ctl: lookup fresh.test with the upstream DNS down: discovery failed, SERVFAIL ($(awk -v a="$ct_t0" -v b="$ct_t1" 'BEGIN { printf "%.1f", b - a }') s)" \
	ct_jq l_fail '.answer == "servfail" and .source == "srv" and (.why | startswith("discovery failed"))'
ct_run l_onion -j lookup "www.$MX_ONION"
og_check "ctl: lookup of a name under an onion: the onion itself, as the DNS answers it (no discovery)" \
	ct_jq l_onion --arg o "$MX_ONION" '.answer == "onion" and .source == "onion-name" and .mx == [{"host": $o, "priority": 10, "port": 0}]'
og_check "ctl: ... and the DNS agrees" test "$(ct_dig "www.$MX_ONION" MX)" = "10 $MX_ONION."
ct_run l_badonion -j lookup nope.onion
og_check "ctl: lookup nope.onion: NXDOMAIN, as the DNS answers it" \
	bash -c "jq -e '.answer == \"nxdomain\" and .mx == []' '$ct_dir/l_badonion.out' >/dev/null &&
		ip netns exec '$LAN_NS' dig +time=3 +tries=1 @'$GW_LAN_ADDR' nope.onion MX | grep -q 'status: NXDOMAIN'"
ct_run l_bad lookup 'exa mple..test'
og_check "ctl: lookup of a non-name exits 2 before asking" test "$(ct_rc l_bad)" = 2
og_check "ctl: the DNS agrees with lookup: signed.test MX is the onion" test "$(ct_dig signed.test MX)" = "10 $MX_ONION."

# --- streams: one held open to the echo onion, with its bytes
echo_addr=$(ct_dig "$ECHO_ONION" A)
# Tries again while the young network's first rendezvous fails (the relay then closes the connection);
# holds the stream until a line comes through the fifo.
mkfifo "$ct_dir/release"
og_spawn "$LAN_NS" "$ct_dir/hold.log" bash -c "for try in 1 2 3 4 5 6 7 8 9 10; do
	( exec 3<>/dev/tcp/$echo_addr/7777 && echo hello-ctl >&3 && read -r line <&3 && [ \"\$line\" = hello-ctl ] &&
		echo \"\$line\" && read -r -t 60 _ < '$ct_dir/release' ) && exit 0
	sleep 2
done"
ct_hold=$OG_SPAWNED
og_check "ctl: a stream to the echo onion ($echo_addr) is open and echoed" og_wait_for 60 grep -qs hello-ctl "$ct_dir/hold.log"
og_log "ctl: the held stream: $(cat "$ct_dir/hold.log" 2>&1)"
ct_run streams streams
ct_run streams_json -j streams
og_check "ctl: streams shows it: LAN address, onion:7777, bytes, relaying ($(head -1 "$ct_dir/streams.out"))" \
	grep -Eq "^$LAN_ADDR:[0-9]+ -> $ECHO_ONION:7777 \($echo_addr\) age [0-9]+s up 10 down 10 relaying$" "$ct_dir/streams.out"
og_check "ctl: -j streams: the stream with its bytes and state" \
	ct_jq streams_json --arg o "$ECHO_ONION" '[.streams[] | select(.onion == $o and .port == 7777 and .bytes_up == 10 and
		.bytes_down == 10 and .state == "relaying" and (.lan | startswith("'"$LAN_ADDR"':")))] | length == 1'
ct_run status_open -j status
og_check "ctl: status counts the open stream" ct_jq status_open '.streams_open == 1'
timeout 5 bash -c "echo > '$ct_dir/release'"
og_stop "$ct_hold"

# --- onions: after an SMTP session to the onion MX of mapped.test (and signed.test by SRV)
mx_addr=$(ct_dig "$MX_ONION" A)
printf 'EHLO lan.test\r\nMAIL FROM:<a@lan.test>\r\nRCPT TO:<b@mapped.test>\r\nDATA\r\nSubject: ctl\r\n\r\nhi\r\n.\r\nQUIT\r\n' |
	ip netns exec "$LAN_NS" timeout 60 nc "$mx_addr" 25 > "$ct_dir/smtp.out"
og_check "ctl: an SMTP session through the gateway to the onion MX ends with 221" \
	bash -c "tr -d '\r' < '$ct_dir/smtp.out' | tail -1 | grep -q '^221'"
og_wait_for 10 bash -c "[ \"\$('$OG_TOP/ctl/oniongatectl' -s '$ct_sock' -j status | jq .streams_open)\" = 0 ]"
ct_run onions onions
ct_run onions_json -j onions
og_check "ctl: onions: the MX onion with its map line, its SRV domain, its address and a last success" \
	grep -Eq "^$MX_ONION domains mapped.test\($ct_map:1\),signed.test\(srv secure\) ipv4 $mx_addr ipv6 fd6f:[0-9a-f:]+ last-success 20[0-9-]+T[0-9:]+Z " \
	"$ct_dir/onions.out"
og_check "ctl: -j onions: domains, sources, addresses, last success, relayed, no stream open" \
	ct_jq onions_json --arg o "$MX_ONION" --arg a "$mx_addr" '[.onions[] | select(.onion == $o and
		.domains[0] == {"domain": "mapped.test", "source": "map", "line": 1} and
		.domains[1].domain == "signed.test" and .domains[1].dnssec == "secure" and .ipv4 == $a and
		.last_success != null and .relayed >= 1 and .streams_open == 0)] | length == 1'
og_check "ctl: -j onions: the echo onion (no domain) with its relayed stream" \
	ct_jq onions_json --arg o "$ECHO_ONION" '[.onions[] | select(.onion == $o and .domains == [] and .relayed >= 1)] | length == 1'

# --- reload: ok; a broken config: file:line:, and the old config (and its map file) stay
ct_run reload_ok reload
og_check "ctl: reload prints ok and exits 0" test "$(cat "$ct_dir/reload_ok.out")" = ok -a "$(ct_rc reload_ok)" = 0
echo "mapped.test smtptor:[$MX2_ONION]" > "$ct_map"
echo "no-such-directive 1" >> "$ct_conf"
ct_line=$(grep -n '^no-such-directive' "$ct_conf" | cut -d: -f1)
ct_run reload_bad reload
og_check "ctl: a broken reload exits 1 and prints file:line: ($(cat "$ct_dir/reload_bad.err"))" \
	test "$(ct_rc reload_bad)" = 1 -a "$(cat "$ct_dir/reload_bad.err")" = "$ct_conf:$ct_line: unknown directive 'no-such-directive'"
og_check "ctl: the daemon is alive and keeps the old map (mapped.test MX is still the first onion)" \
	test "$(ct_dig mapped.test MX)" = "0 $MX_ONION."
ct_run reload_json -j status
og_check "ctl: status -j shows the refused reload" \
	ct_jq reload_json --arg e "$ct_conf:$ct_line: unknown directive 'no-such-directive'" \
	'.last_reload.ok == false and .last_reload.result == $e and .last_reload.time > 0'
cp "$ct_dir/good.conf" "$ct_conf"
ct_run reload_again -j reload
og_check "ctl: reload -j of the mended config: ok, and the new map is in force" \
	bash -c "jq -e '.ok == true and .result == \"ok\"' '$ct_dir/reload_again.out' >/dev/null && [ \"\$(ip netns exec '$LAN_NS' dig +short @'$GW_LAN_ADDR' mapped.test MX)\" = '0 $MX2_ONION.' ]"

# --- bounds: a request over 512 bytes, a 9th client, a silent client
python3 - "$ct_sock" "$GW_PID" > "$ct_dir/bounds.out" 2>&1 <<'PY'
import socket, sys, time
path, pid = sys.argv[1], sys.argv[2]
def rss_kb():
    with open("/proc/%s/status" % pid) as f:
        return int([l for l in f if l.startswith("VmRSS:")][0].split()[1])
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(15)
    return s
def read_all(s):
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data, "eof"
            data += chunk
    except ConnectionResetError:
        return data, "reset"
s = conn()
s.sendall(b"s" * 600)
data, end = read_all(s)
print("long:", data, end)
rss0 = rss_kb()
held = [conn() for _ in range(8)]
for h in held:
    h.sendall(b"s" * 500)
time.sleep(0.5)
print("rss: %d KiB before, %d KiB with 8 clients holding 500 bytes each" % (rss0, rss_kb()))
data, end = read_all(conn())
print("ninth:", data, end)
t0 = time.time()
data, end = read_all(held[0])
print("silent: %r %s %.1f" % (data, end, time.time() - t0))
for h in held:
    h.close()
time.sleep(0.2)
s = conn()
s.sendall(b"status\n")
data, end = read_all(s)
print("after:", data.split(b"\n")[0], end)
PY
og_check "bounds: a 600-byte request line gets 'request longer than 512 bytes' and is closed" \
	grep -Eq "^long: b'error 30\\\\nrequest longer than 512 bytes\\\\n' (eof|reset)$" "$ct_dir/bounds.out"
og_check "bounds: the 9th client at once gets an error and is closed" \
	grep -Eq "^ninth: b'error 40\\\\ntoo many control connections \(8 at once\)\\\\n' eof$" "$ct_dir/bounds.out"
og_check "bounds: a client that sends nothing is closed after 10 s ($(grep '^silent' "$ct_dir/bounds.out"))" \
	grep -Eq "^silent: b'' eof (9\.[0-9]|10\.[0-9])$" "$ct_dir/bounds.out"
og_check "bounds: a client after those is served" grep -Eq "^after: b'ok [0-9]+' eof$" "$ct_dir/bounds.out"
og_log "ctl: memory (ASan build): $(grep '^rss:' "$ct_dir/bounds.out")"

# A sample of each output, for the docs and the closing note.
mkdir -p "$OG_TOP/build/test-artifacts/ctl"
for f in status status_json streams streams_json onions onions_json l_map l_signed l_bogus_text l_none reload_ok reload_bad; do
	cat "$ct_dir/$f.out" "$ct_dir/$f.err" > "$OG_TOP/build/test-artifacts/ctl/$f.txt" 2>/dev/null
done

gw_stop "$ct_dir"
og_check "ctl: SIGTERM: the daemon exits 0 (ASan+UBSan, LeakSanitizer clean)" test $? = 0
og_check "ctl: the socket is removed at exit" test ! -e "$ct_sock"
