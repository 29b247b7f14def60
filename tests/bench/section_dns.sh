# SPDX-License-Identifier: ISC
# section_dns.sh: dnsperf on loopback in the dns namespace: onion A answers from oniongated and
# from Tor's DNSPort with AutomapHostsOnResolve; pass-through answers from oniongated and from
# dnsmasq forwarding to the same nsd (once with its default cache, once with none); the same behind
# a 30 ms link to another nsd serving a router's query mix (oniongated's cache against dnsmasq's).

zones_start "$DNS_NS" 127.0.0.53 "$OG_TMP/dns-zones" "$(privnet_onion mx0)" "$(privnet_onion mx0)" \
	"$(privnet_onion mx0)" || { echo "nsd (dns section) did not start"; exit 1; }
dns_dir="$OG_TMP/dns-og"
gw_config "$dns_dir" "dns-listen 127.0.0.1" "dns-upstream 127.0.0.53" "client-network 127.0.0.0/8" \
	"trust-anchor $OG_TMP/dns-zones/trust-anchors"
sed -i 's/^log-level info/log-level notice/' "$dns_dir/oniongate.conf"
GW_NS=$DNS_NS gw_start "$dns_dir" || exit 1
dns_og_pid=$GW_PID
og_wait_for 120 gw_log_has "$dns_dir" "tor ready" || { echo "oniongated (dns) did not bootstrap"; exit 1; }

dns_tor=$(bench_tor_dir dns-tor "SocksPort 0" "DNSPort 127.0.0.2:53" "AutomapHostsOnResolve 1" \
	"VirtualAddrNetworkIPv4 10.192.0.0/10")
bench_tor_start "$DNS_NS" "$dns_tor" || { echo "tor (DNSPort) did not bootstrap"; exit 1; }
dns_tor_pid=$BENCH_TOR_PID

og_spawn "$DNS_NS" "$OG_TMP/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--user=root --server=127.0.0.53 --listen-address=127.0.0.3 --bind-interfaces --pid-file="$OG_TMP/dnsmasq.pid"
og_spawn "$DNS_NS" "$OG_TMP/dnsmasq0.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--user=root --server=127.0.0.53 --listen-address=127.0.0.4 --bind-interfaces --pid-file="$OG_TMP/dnsmasq0.pid" \
	--cache-size=0
og_wait_for 10 bash -c "ip netns exec '$DNS_NS' dig +short +time=1 +tries=1 @127.0.0.4 www.plain.test A | grep -q ."

"$OG_TOOLS/onionname" 1000 | sed 's/$/ A/' > "$OG_TMP/queries-onion"
printf '%s\n' "www.plain.test A" "mx.plain.test A" "plain.test MX" "mx.example.test A" "mx.mapped.test A" \
	"example.test MX" "mx.unsigned.test A" "unsigned.test MX" "mx.first.test A" "big.plain.test TXT" \
	> "$OG_TMP/queries-plain"

# dns_perf LABEL ADDR QUERIES: dnsperf for DNS_SECONDS with every answer's latency (-v), the same
# way for every server; prints "qps p99_ms", keeps the raw report.
dns_perf() {
	local label=$1 addr=$2 file=$3 out="$OG_TMP/dnsperf-$1.out" qps p99
	ip netns exec "$DNS_NS" dnsperf -s "$addr" -d "$file" -l "$DNS_SECONDS" -c 4 -v > "$out" 2>&1
	qps=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$out")
	p99=$(awk '/^> / && NF >= 5 { print $NF * 1000 }' "$out" | bench_pct 99)
	bench_raw dns "$label" summary "$(grep -E 'Queries (sent|completed|lost)|Response codes|Average Latency' "$out" | tr -s ' ' | paste -sd ';')"
	printf '%s %s\n' "${qps:-0}" "$p99"
}

# Every name is asked once before the runs, so both sides answer from an established mapping.
for addr in 127.0.0.1 127.0.0.2; do
	ip netns exec "$DNS_NS" dig +short +time=2 +tries=1 @"$addr" -f "$OG_TMP/queries-onion" >/dev/null
done
read -r og_qps og_p99 < <(dns_perf oniongate-onion 127.0.0.1 "$OG_TMP/queries-onion")
read -r tor_qps tor_p99 < <(dns_perf tor-dnsport-onion 127.0.0.2 "$OG_TMP/queries-onion")
read -r ogp_qps ogp_p99 < <(dns_perf oniongate-pass 127.0.0.1 "$OG_TMP/queries-plain")
read -r dm_qps dm_p99 < <(dns_perf dnsmasq-pass 127.0.0.3 "$OG_TMP/queries-plain")
read -r dm0_qps dm0_p99 < <(dns_perf dnsmasq-nocache-pass 127.0.0.4 "$OG_TMP/queries-plain")
read -r nsd_qps nsd_p99 < <(dns_perf nsd-direct 127.0.0.53 "$OG_TMP/queries-plain")
og_log "bench: nsd answering directly: $nsd_qps qps, p99 $nsd_p99 ms (the upstream's own ceiling)"

tor_ver=$(bench_version tor)
dm_ver=$(bench_version dnsmasq-base)
bench_row dns "onion A answers, 1000 names (qps)" qps higher "$og_qps" "Tor $tor_ver DNSPort + AutomapHostsOnResolve" "$tor_qps"
bench_row dns "onion A answers, p99 latency" ms lower "$og_p99" "Tor $tor_ver DNSPort + AutomapHostsOnResolve" "$tor_p99"
bench_row dns "pass-through answers from nsd (qps)" qps higher "$ogp_qps" "dnsmasq $dm_ver (default cache of 150)" "$dm_qps"
bench_row dns "pass-through answers, p99 latency" ms lower "$ogp_p99" "dnsmasq $dm_ver (default cache of 150)" "$dm_p99"
bench_row dns "pass-through answers from nsd (qps)" qps higher "$ogp_qps" "dnsmasq $dm_ver --cache-size=0" "$dm0_qps"
bench_row dns "pass-through answers, p99 latency" ms lower "$ogp_p99" "dnsmasq $dm_ver --cache-size=0" "$dm0_p99"
bench_row dns "pass-through answers from nsd (qps)" qps higher "$ogp_qps" "nsd answering directly (ceiling)" "$nsd_qps"
bench_row dns "pass-through answers, p99 latency" ms lower "$ogp_p99" "nsd answering directly (ceiling)" "$nsd_p99"
echo "nsd_direct_qps=$nsd_qps nsd_direct_p99_ms=$nsd_p99" > "$BENCH_OUT/dns-ceiling"

# Behind a 30 ms link: nsd in its own namespace serving router.test on loopback, in front of it
# tests/tools/udpdelay sending every reply 30 ms late (this kernel has no sch_netem): the delay is
# on the upstream's side only, both resolvers cross the same link. The query mix of a router's
# LAN, the same file for every server: 4000 queries drawn (fixed seed) from 300 names by
# popularity (Zipf, s=1): 85% A, 10% AAAA that the zone lacks (NODATA), 5% A of 30 names it lacks
# (NXDOMAIN); TTLs and the SOA minimum are 300 s. No warm-up: each server starts cold and pays its
# misses in the run; oniongated's cache is the default 1 MiB.
DNSUP_NS="$OG_RUN_ID-dnsup"
og_netns_add "$DNSUP_NS"
og_link "$DNSUP_NS" 100.64.2.1/30 "$DNS_NS" 100.64.2.2/30 >/dev/null
up_dir="$OG_TMP/dns-router-zone"
mkdir -p "$up_dir"
{
	printf '$ORIGIN router.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 900 604800 300\n@ IN NS ns\nns IN A 100.64.2.1\n'
	for ((i = 0; i < 300; i++)); do printf 'host%d IN A 10.%d.%d.1\n' "$i" $((i / 250)) $((i % 250)); done
} > "$up_dir/router.test.zone"
{
	zones_nsd_server 127.0.0.1 "$up_dir"
	printf 'zone:\n\tname: router.test\n\tzonefile: router.test.zone\n'
} > "$up_dir/nsd.conf"
og_spawn "$DNSUP_NS" "$up_dir/nsd.stdout" nsd -d -c "$up_dir/nsd.conf"
dns_up_pid=$OG_SPAWNED
og_spawn "$DNSUP_NS" "$up_dir/udpdelay.log" "$OG_TOOLS/udpdelay" 100.64.2.1 53 127.0.0.1 53 30
dns_delay_pid=$OG_SPAWNED
awk 'BEGIN { srand(17); n = 300; for (k = 1; k <= n; k++) { t += 1 / k; c[k] = t }
	for (i = 0; i < 4000; i++) {
		r = rand(); if (r >= 0.95) { printf "nx%d.router.test A\n", int(rand() * 30); continue }
		u = rand() * t; for (k = 1; c[k] < u; k++);
		printf "host%d.router.test %s\n", k - 1, r < 0.85 ? "A" : "AAAA" } }' > "$OG_TMP/queries-router"
dly_dir="$OG_TMP/dns-og-delay"
gw_config "$dly_dir" "dns-listen 127.0.0.5" "dns-upstream 100.64.2.1" "client-network 127.0.0.0/8" \
	"socks-server $OG_TMP/no-tor.sock"
sed -i -e 's/^log-level info/log-level notice/' -e '/^tor-option /d' "$dly_dir/oniongate.conf" # DNS only: no Tor
GW_NS=$DNS_NS gw_start "$dly_dir" || exit 1
dns_dly_pid=$GW_PID
og_spawn "$DNS_NS" "$OG_TMP/dnsmasq-delay.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--user=root --server=100.64.2.1 --listen-address=127.0.0.6 --bind-interfaces --pid-file="$OG_TMP/dnsmasq-delay.pid"
og_wait_for 10 bash -c "ip netns exec '$DNS_NS' dig +short +time=1 +tries=1 @127.0.0.5 host1.router.test A | grep -q ." ||
	{ echo "oniongated (30 ms upstream) does not answer"; exit 1; }
og_wait_for 10 bash -c "ip netns exec '$DNS_NS' dig +short +time=1 +tries=1 @127.0.0.6 host2.router.test A | grep -q ."
read -r ogd_qps ogd_p99 < <(dns_perf oniongate-pass-30ms 127.0.0.5 "$OG_TMP/queries-router")
read -r dmd_qps dmd_p99 < <(dns_perf dnsmasq-pass-30ms 127.0.0.6 "$OG_TMP/queries-router")
read -r nsdd_qps nsdd_p99 < <(dns_perf nsd-direct-30ms 100.64.2.1 "$OG_TMP/queries-router")
bench_row dns "pass-through, 30 ms to nsd, router mix (qps)" qps higher "$ogd_qps" "dnsmasq $dm_ver (default cache of 150)" "$dmd_qps"
bench_row dns "pass-through, 30 ms to nsd, router mix, p99" ms lower "$ogd_p99" "dnsmasq $dm_ver (default cache of 150)" "$dmd_p99"
bench_row dns "pass-through, 30 ms to nsd, router mix (qps)" qps higher "$ogd_qps" "nsd answering directly over the same link" "$nsdd_qps"
bench_row dns "pass-through, 30 ms to nsd, router mix, p99" ms lower "$ogd_p99" "nsd answering directly over the same link" "$nsdd_p99"
kill -USR1 "$dns_dly_pid"
og_wait_for 10 gw_log_has "$dly_dir" "stats: dns_cache_bytes="
GW_PID=$dns_dly_pid gw_stop "$dly_dir"
bench_raw dns oniongate-pass-30ms cache "$(grep -o 'dns_cache_[a-z]*=[0-9]*' "$dly_dir/oniongated.log" | tail -4 | paste -sd ' ')"
og_stop "$dns_delay_pid"
og_stop "$dns_up_pid"

og_stop "$dns_tor_pid"
GW_PID=$dns_og_pid gw_stop "$dns_dir"
