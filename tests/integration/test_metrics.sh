# SPDX-License-Identifier: ISC
# test_metrics: metrics-listen. promtool check metrics finds nothing in a scrape; a peer outside
# metrics-allow is shut out; a real Prometheus (on the LAN host's loopback) scrapes the gateway every
# second and its query API sees the relayed stream; headless Chromium renders the status page at
# phone size (screenshot kept in build/test-artifacts/); bounds: the connection cap, an oversized
# header, a body; the daemon keeps serving and exits cleanly under ASan.

mt_dir="$OG_TMP/metrics"
mt_url="http://$GW_LAN_ADDR:9469"
mkdir -p "$mt_dir"

# The alert rules of docs/operating.md: promtool accepts them, and its rule tests (synthetic series in
# alerts.test.yml) fire OnionMailStalled and OniongateTorNotReady when they should, and not before.
awk '/^groups:$/ { on = 1 } /^```$/ { on = 0 } on' "$OG_TOP/docs/operating.md" > "$mt_dir/rules.yml"
cp "$OG_TOP/tests/integration/alerts.test.yml" "$mt_dir/"
rules_check() { promtool check rules "$mt_dir/rules.yml" > "$mt_dir/rules.check" 2>&1; }
rules_test() { promtool test rules "$mt_dir/alerts.test.yml" > "$mt_dir/rules.test" 2>&1; }
og_check "promtool check rules accepts the alert rules of docs/operating.md" rules_check
og_check "promtool test rules: the alerts fire on a stalled relay with a growing queue and on a Tor not ready" rules_test
gw_config "$mt_dir" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24" \
	"transparent-port 9040" "lan-interface $GW_LAN_IF" "trust-anchor $OG_TMP/zones/trust-anchors" \
	"metrics-listen $GW_LAN_ADDR:9469" "metrics-allow $LAN_ADDR/32"
gw_start "$mt_dir" "$OG_TOP/build/asan/oniongated"
og_wait_for 60 gw_log_has "$mt_dir" "tor ready"

lan() { ip netns exec "$LAN_NS" "$@"; }
# HTTP status of a GET from the LAN host (000: no reply); extra curl arguments first.
lan_code() { lan curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" 2>/dev/null; }
scrape() { lan curl -s -m 5 "$mt_url/metrics"; }
sample() { scrape | awk -v s="$1" '$1 == s { print $2 }'; }

og_check "/metrics answers 200 with the Prometheus text type" \
	test "$(lan curl -s -o /dev/null -m 5 -w '%{http_code} %{content_type}' "$mt_url/metrics")" = \
	"200 text/plain; version=0.0.4; charset=utf-8"
og_check "oniongate_ready is 1 once Tor is ready" test "$(sample oniongate_ready)" = 1

# A relayed stream: the echo onion by its fake address, tried again while the young network has no
# descriptor for it yet (those tries count as failures, not as relayed streams).
echo_onion=$(privnet_onion echo)
echo_addr=$(lan dig +short @"$GW_LAN_ADDR" "$echo_onion" A)
echo_once() { test "$(lan timeout 30 bash -c "exec 3<>/dev/tcp/$echo_addr/7777 && echo metrics >&3 && head -1 <&3")" = metrics; }
echo_retry() { local i; for ((i = 0; i < 30; i++)); do echo_once && return 0; sleep 2; done; return 1; }
og_check "a stream to the echo onion is relayed" echo_retry
og_wait_for 10 gw_log_has "$mt_dir" "7777 closed"
scrape > "$mt_dir/scrape.txt"
og_check "promtool check metrics prints nothing and exits 0 on a scrape" \
	test -z "$(promtool check metrics < "$mt_dir/scrape.txt" 2>&1)"
og_check "the scrape counts the stream: relayed 1, the echo onion's own series 1" \
	grep -qx "oniongate_onion_streams_relayed_total{onion=\"$echo_onion\"} 1" "$mt_dir/scrape.txt"
og_check "the first-byte histogram has the stream in +Inf and _count" \
	test "$(awk '$1 == "oniongate_connect_first_byte_seconds_bucket{le=\"+Inf\"}" || $1 == "oniongate_connect_first_byte_seconds_count" { print $2 }' \
		"$mt_dir/scrape.txt" | sort -u)" = 1

# Age: a request trickled a byte a second (never idle for evhttp's 10 s, far from 4096 bytes) is cut
# at METRICS_MAX_AGE_SECONDS (60). It runs while Prometheus and Chromium do.
cat > "$mt_dir/trickle.py" <<'EOP'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
t0 = time.time()
s.settimeout(1)
try:
    s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
    while time.time() - t0 < 120:
        try:
            if s.recv(100) == b"":
                break
        except socket.timeout:
            pass
        s.sendall(b"a")
except OSError:
    pass
print("closed after %d s" % (time.time() - t0), flush=True)
EOP
og_spawn "$LAN_NS" "$mt_dir/age.txt" python3 "$mt_dir/trickle.py" "$GW_LAN_ADDR" 9469
AGE_PID=$OG_SPAWNED

# A real Prometheus on the LAN host's loopback, scraping the gateway every second.
prom_dir="$mt_dir/prometheus"
mkdir -p "$prom_dir"
cat > "$prom_dir/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: oniongate
    static_configs:
      - targets: ['$GW_LAN_ADDR:9469']
EOC
og_spawn "$LAN_NS" "$prom_dir/prometheus.log" prometheus --config.file="$prom_dir/prometheus.yml" \
	--storage.tsdb.path="$prom_dir/data" --web.listen-address=127.0.0.1:9090
PROM_PID=$OG_SPAWNED
prom_query() {
	lan curl -s -m 5 -G --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query | jq -r '.data.result[0].value[1] // empty'
}
prom_is() { test "$(prom_query "$1")" = "$2"; }
og_check "Prometheus's query API: oniongate_streams_relayed_total is 1" og_wait_for 60 prom_is oniongate_streams_relayed_total 1
og_check "Prometheus's query API: the echo onion's relayed streams are 1" \
	og_wait_for 10 prom_is "oniongate_onion_streams_relayed_total{onion=\"$echo_onion\"}" 1
og_check "Prometheus sees the target up with no scrape error" \
	test "$(lan curl -s -m 5 http://127.0.0.1:9090/api/v1/targets | jq -c '[.data.activeTargets[] | [.health, .lastError]]')" = '[["up",""]]'
og_stop "$PROM_PID"

# Headless Chromium as a phone (412x915) on the LAN host; it resolves no name at all.
chr_dir="$mt_dir/chromium"
chromium_run() {
	lan timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$chr_dir/profile" --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync --disable-default-apps \
		--disable-extensions --hide-scrollbars --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE $GW_LAN_ADDR" \
		--window-size=412,915 "$@" "$mt_url/" 2>>"$chr_dir/chromium.log"
}
png_size() { python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8] == b"\x89PNG\r\n\x1a\n" else "not a PNG")' "$1"; }
mkdir -p "$chr_dir"
chromium_run --screenshot="$chr_dir/status.png" >/dev/null
og_check "Chromium's screenshot of / is a 412x915 PNG" test "$(png_size "$chr_dir/status.png" 2>/dev/null)" = 412x915
mkdir -p "$OG_TOP/build/test-artifacts"
cp "$chr_dir/status.png" "$OG_TOP/build/test-artifacts/metrics-status-page.png" 2>/dev/null
chromium_run --dump-dom > "$chr_dir/dom.html"
og_check "Chromium's DOM of / shows the gateway ready" grep -q '<span class="state ok">ready</span>' "$chr_dir/dom.html"
og_check "Chromium's DOM of / shows the echo onion, its domains row and its fake address" \
	grep -qE "<div class=\"onion\">$echo_onion</div><dl><dt>Domains</dt><dd>[^<]*(<small>[^<]*</small>[^<]*)*</dd><dt>Addresses</dt><dd>${echo_addr//./\\.}, " \
	<(tr -d '\n' < "$chr_dir/dom.html")

# Refused: a LAN address outside metrics-allow gets its connection shut before a byte is read.
og_check "a peer outside metrics-allow ($LAN_OUTSIDER_ADDR) gets no reply" \
	test "$(lan_code --interface "$LAN_OUTSIDER_ADDR" "$mt_url/metrics")" = 000
og_check "it is counted in oniongate_metrics_refused_total" test "$(sample oniongate_metrics_refused_total)" = 1

wait "$AGE_PID"
age=$(sed -n 's/^closed after \([0-9]*\) s$/\1/p' "$mt_dir/age.txt")
og_check "a trickled request is cut at 60 s of age (after ${age:-?} s)" test "${age:-0}" -ge 58 -a "${age:-0}" -le 63

# Bounds: METRICS_MAX_CONNECTIONS (8) held open, the ninth is closed unanswered; a header over 4096
# bytes gets 400; a body gets 413; then the daemon still serves.
lan python3 - "$GW_LAN_ADDR" 9469 > "$mt_dir/cap.txt" 2>&1 <<'EOP'
import socket, sys, time
addr = (sys.argv[1], int(sys.argv[2]))
held = [socket.create_connection(addr) for _ in range(8)]
time.sleep(0.5)
extra = socket.create_connection(addr)
extra.settimeout(5)
try:
    extra.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    print("ninth:", "closed" if extra.recv(100) == b"" else "answered")
except OSError as e:
    print("ninth: closed", e.__class__.__name__)
held[0].sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
held[0].settimeout(5)
print("held:", held[0].recv(12).decode())
for s in held:
    s.close()
EOP
og_check "with 8 connections held, a ninth is closed unanswered" grep -q "^ninth: closed" "$mt_dir/cap.txt"
og_check "the held ones are still served" grep -qx "held: HTTP/1.0 200" "$mt_dir/cap.txt"
og_check "it is counted in oniongate_metrics_busy_total" og_wait_for 5 test "$(sample oniongate_metrics_busy_total)" = 1
og_check "a header over 4096 bytes gets 400" \
	test "$(lan_code -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" "$mt_url/metrics")" = 400
og_check "a request with a body gets 413" test "$(lan_code -X POST -d x "$mt_url/metrics")" = 413
og_check "another method gets no page (not 200)" test "$(lan_code -X DELETE "$mt_url/metrics")" != 200
og_check "an unknown path gets 404" test "$(lan_code "$mt_url/nope")" = 404
og_check "after all that, /metrics and / still answer 200" \
	test "$(lan_code "$mt_url/metrics") $(lan_code "$mt_url/")" = "200 200"

gw_stop "$mt_dir"
og_check "oniongated exits 0 after the metrics test (ASan: no error, no leak)" test $? = 0
og_check "the ASan build reported nothing" bash -c "! grep -q 'ERROR: AddressSanitizer\|LeakSanitizer\|runtime error' '$mt_dir/oniongated.log'"
