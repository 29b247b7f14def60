# SPDX-License-Identifier: ISC
# test_dns: the LAN DNS of oniongated, queried with dig from the lan namespace: onion names get
# pool addresses (both ways), onion MX domains get their onion hosts by SRV discovery under the
# DNSSEC policy, everything else comes from the upstream unchanged (cached: TTLs aged, negative
# answers, DO apart, the byte bound); outsiders are REFUSED.

dns_dir="$OG_TMP/dns"
MX_ONION=$(privnet_onion mx)
MX2_ONION=$(privnet_onion mx2)
mkdir -p "$dns_dir"
cat > "$dns_dir/onionmx.map" <<EOT
# onionmx tor_transport format
mapped.test smtptor:[$MX_ONION]
ported.test smtptor:[$MX2_ONION]:2525
old.test smtptor:[expyuzz4wqqyqhjn.onion]
EOT
gw_config "$dns_dir" \
	"onion-map $dns_dir/onionmx.map" \
	"dns-listen $GW_LAN_ADDR" \
	"dns-upstream $WAN_DNS_ADDR" \
	"client-network 192.0.2.0/24" \
	"pool-key 00112233445566778899aabbccddeeff" \
	"dnssec prefer" \
	"trust-anchor $OG_TMP/zones/trust-anchors" \
	"domain first.test onion-first"
# Under valgrind: any memory error or leak of ours makes the exit code at the end non-zero.
gw_start "$dns_dir" "$OG_TOP/daemon/oniongated" valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
	--error-exitcode=99 --suppressions="$OG_TOP/tests/valgrind.supp"
og_check "oniongated answers DNS on the LAN" og_wait_for 40 gw_log_has "$dns_dir" "dns: listening on $GW_LAN_ADDR"

dig_lan() { ip netns exec "$LAN_NS" dig +time=3 +tries=2 @"$GW_LAN_ADDR" "$@"; }
dig_status() { dig_lan "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }

onion_a=$(dig_lan +short "$MX_ONION" A)
echo "dns: $MX_ONION A $onion_a"
og_check "A for a v3 onion is an address of the pool 10.192.0.0/10" in_pool_v4 "$onion_a"
og_check "the same onion gets the same address again" test "$(dig_lan +short "$MX_ONION" A)" = "$onion_a"
og_check "a name under the onion gets the onion's address" test "$(dig_lan +short "smtp.$MX_ONION" A)" = "$onion_a"
onion_aaaa=$(dig_lan +short "$MX_ONION" AAAA)
og_check "AAAA for a v3 onion is in the IPv6 pool fd6f:6e69:6f6e::/64" test "${onion_aaaa#fd6f:6e69:6f6e:0:}" != "$onion_aaaa"
og_check "PTR of the pool address names the onion" test "$(dig_lan +short -x "$onion_a")" = "$MX_ONION."
og_check "an invalid .onion name is NXDOMAIN" test "$(dig_status nosuchname.onion A)" = NXDOMAIN
og_check "MX for an onion name is that name" test "$(dig_lan +short "$MX_ONION" MX)" = "10 $MX_ONION."

og_check "MX of a DNSSEC-signed domain with an onion SRV: its onion host" \
	test "$(dig_lan +short signed.test MX)" = "10 $MX_ONION."
og_check "that MX answer carries the onion's pool address" \
	bash -c "ip netns exec '$LAN_NS' dig +noall +additional @'$GW_LAN_ADDR' signed.test MX | grep -q 'IN[[:space:]]A[[:space:]]$onion_a\$'"
og_check "MX of an unsigned domain with an onion SRV (dnssec prefer): its onion host" \
	test "$(dig_lan +short unsigned.test MX)" = "10 $MX2_ONION."
og_check "MX of a domain whose SRV signature is broken: the real MX, no onion" \
	test "$(dig_lan +short broken.test MX)" = "10 mx.broken.test."
og_check "MX of a domain without SRV: the upstream's answer" test "$(dig_lan +short plain.test MX)" = "10 mx.plain.test."
og_check "A of an ordinary name: the upstream's answer" test "$(dig_lan +short www.plain.test A)" = "198.51.100.80"
first_mx=$(dig_lan +short first.test MX | sort -n | tr '\n' ' ')
echo "dns: first.test MX (onion-first): $first_mx"
og_check "onion-first: onion hosts first, the real MX after them at higher preferences" \
	test "$first_mx" = "10 $MX_ONION. 20 $MX2_ONION. 26 mx.first.test. 41 mx2.first.test. "

og_check "a truncated upstream answer is fetched over TCP and reaches a TCP client whole" \
	test "$(dig_lan +noedns +short big.plain.test TXT | grep -o padding- | wc -l)" = 12
og_check "a UDP client without EDNS gets TC for an answer over 512 bytes" \
	bash -c "ip netns exec '$LAN_NS' dig +noedns +ignore @'$GW_LAN_ADDR' big.plain.test TXT | grep -q 'flags: qr tc'"
og_check "a query from outside the client networks is REFUSED" \
	test "$(dig_status -b "$LAN_OUTSIDER_ADDR" www.plain.test A)" = REFUSED
og_check "an onion query from outside the client networks is REFUSED too" \
	test "$(dig_status -b "$LAN_OUTSIDER_ADDR" "$MX_ONION" A)" = REFUSED

ip netns exec "$LAN_NS" bash -c "printf '\\x00\\x01garbage' > /dev/udp/$GW_LAN_ADDR/53"
ip netns exec "$LAN_NS" bash -c "printf '\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\xc0\\x0c\\x00\\x01\\x00\\x01' > /dev/udp/$GW_LAN_ADDR/53"
og_check "after malformed packets the DNS still answers" test "$(dig_lan +short www.plain.test A)" = "198.51.100.80"
kill -USR1 "$GW_PID"
og_wait_for 5 gw_log_has "$dns_dir" "stats: dns_malformed="
malformed=$(sed -n 's/.*stats: dns_malformed=\([0-9]*\).*/\1/p' "$dns_dir/oniongated.log" | tail -1)
og_check "malformed packets are counted (dns_malformed=$malformed)" test "${malformed:-0}" -ge 2

# The pass-through cache (dns-cache-size, default 1 MiB). stats_now: a fresh stats dump in the log.
stats_now() {
	local n
	n=$(grep -c "stats: dns_cache_bytes=" "$dns_dir/oniongated.log")
	kill -USR1 "$GW_PID"
	og_wait_for 5 bash -c "[ \$(grep -c 'stats: dns_cache_bytes=' '$dns_dir/oniongated.log') -gt $n ]"
}
stat_of() { sed -n "s/.*stats: $1=\([0-9]*\).*/\1/p" "$dns_dir/oniongated.log" | tail -1; }
ttl_of() { dig_lan +noall "$@" | awk 'NF >= 5 && $1 !~ /^;/ { print $2; exit }'; }

ttl1=$(ttl_of +answer mx.plain.test A)
sleep 2
ttl2=$(ttl_of +answer mx.plain.test A)
echo "dns: mx.plain.test A TTL $ttl1, 2 s later $ttl2 (the zone says 300)"
og_check "a cached answer's TTL goes down with its age" test "${ttl2:-300}" -le $((${ttl1:-0} - 2))
og_check "the cached answer is the upstream's" test "$(dig_lan +short mx.plain.test A)" = "198.51.100.30"
nx1=$(ttl_of +authority nosuch.plain.test A)
og_check "a name the zone lacks is NXDOMAIN" test "$(dig_status nosuch.plain.test A)" = NXDOMAIN
sleep 2
nx2=$(ttl_of +authority nosuch.plain.test A)
echo "dns: nosuch.plain.test NXDOMAIN, SOA TTL $nx1, 2 s later $nx2 (SOA TTL and minimum 300)"
og_check "NXDOMAIN is cached for the SOA's TTL, aged" \
	bash -c "[ '${nx1:-0}' -le 300 ] && [ '${nx2:-300}' -le $((${nx1:-0} - 2)) ]"
og_check "an answer fetched without DO is not served to a DO query" \
	bash -c "ip netns exec '$LAN_NS' dig +noall +answer @'$GW_LAN_ADDR' mx.signed.test A | grep -qv RRSIG &&
		ip netns exec '$LAN_NS' dig +dnssec +noall +answer @'$GW_LAN_ADDR' mx.signed.test A | grep -q RRSIG"
og_check "an answer fetched with DO is not served to a query without DO" \
	bash -c "! ip netns exec '$LAN_NS' dig +noall +answer @'$GW_LAN_ADDR' ns.signed.test A | grep -q RRSIG &&
		ip netns exec '$LAN_NS' dig +dnssec +noall +answer @'$GW_LAN_ADDR' ns.broken.test A | grep -q RRSIG &&
		! ip netns exec '$LAN_NS' dig +noall +answer @'$GW_LAN_ADDR' ns.broken.test A | grep -q RRSIG"
stats_now
hits=$(stat_of dns_cache_hits) misses=$(stat_of dns_cache_misses) bytes=$(stat_of dns_cache_bytes)
echo "dns: cache hits $hits, misses $misses, bytes $bytes"
og_check "the cache counts its hits (dns_cache_hits=$hits)" test "${hits:-0}" -ge 4
dig_lan +short "$MX_ONION" A > /dev/null
dig_lan +short "$MX_ONION" AAAA > /dev/null
dig_lan +short -x "$onion_a" > /dev/null
dig_lan +short 192.10.in-addr.arpa NS > /dev/null
stats_now
og_check "onion names and the pools' reverse zones never reach the cache" \
	test "$(stat_of dns_cache_hits) $(stat_of dns_cache_misses) $(stat_of dns_cache_bytes)" = "$hits $misses $bytes"
echo "dns-cache-size 4096" >> "$dns_dir/oniongate.conf"
n_reloads=$(grep -c "configuration reloaded" "$dns_dir/oniongated.log")
kill -HUP "$GW_PID"
og_wait_for 10 bash -c "[ \$(grep -c 'configuration reloaded' '$dns_dir/oniongated.log') -gt $n_reloads ]"
for i in $(seq 1 40); do dig_lan +short "nx$i.plain.test" A > /dev/null; done
stats_now
echo "dns: after 40 names in a 4096-byte cache: evictions $(stat_of dns_cache_evictions), bytes $(stat_of dns_cache_bytes)"
og_check "more than dns-cache-size evicts, counted (dns_cache_evictions=$(stat_of dns_cache_evictions))" \
	test "$(stat_of dns_cache_evictions)" -ge 10
og_check "the cache stays within dns-cache-size (dns_cache_bytes=$(stat_of dns_cache_bytes))" \
	test "$(stat_of dns_cache_bytes)" -le 4096
sed -i '/^dns-cache-size /d' "$dns_dir/oniongate.conf"

og_check "the map file's v2 line is reported as file:line:" \
	gw_log_has "$dns_dir" "$dns_dir/onionmx.map:4: v2 onion address skipped"
og_check "MX of a domain in the map file: its onion host" test "$(dig_lan +short mapped.test MX)" = "0 $MX_ONION."
cp "$dns_dir/onionmx.map" "$dns_dir/onionmx.map.good"
echo "broken.test smtptor:[not-an-onion.onion]" >> "$dns_dir/onionmx.map"
kill -HUP "$GW_PID"
og_check "SIGHUP with a broken map file is refused with file:line:" og_wait_for 10 gw_log_has "$dns_dir" \
	"reload refused, keeping the running configuration: $dns_dir/onionmx.map:5: 'not-an-onion.onion' is not a valid v3"
og_check "the old map keeps serving" test "$(dig_lan +short mapped.test MX)" = "0 $MX_ONION."
cp "$dns_dir/onionmx.map.good" "$dns_dir/onionmx.map"

sed -i 's/^dnssec prefer$/dnssec require/' "$dns_dir/oniongate.conf"
kill -HUP "$GW_PID"
og_wait_for 10 gw_log_has "$dns_dir" "configuration reloaded"
og_check "dnssec require: an unsigned onion SRV is not used" \
	test "$(dig_lan +short unsigned2.test MX)" = "10 mx.unsigned2.test."
gw_stop "$dns_dir"
og_check "the DNS gateway stops with exit 0 (valgrind-clean)" test $? = 0
