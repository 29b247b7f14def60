# SPDX-License-Identifier: ISC
# section_dns.sh: dnsperf on loopback in the dns namespace: onion A answers from oniongated and
# from Tor's DNSPort with AutomapHostsOnResolve; pass-through answers from oniongated and from
# dnsmasq forwarding to the same nsd (once with its default cache, once with none).

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
echo "nsd_direct_qps=$nsd_qps nsd_direct_p99_ms=$nsd_p99" > "$BENCH_OUT/dns-ceiling"

og_stop "$dns_tor_pid"
GW_PID=$dns_og_pid gw_stop "$dns_dir"
