# SPDX-License-Identifier: ISC
# test_dns: the LAN DNS of oniongated, queried with dig from the lan namespace: onion names get
# pool addresses (both ways), onion MX domains get their onion hosts by SRV discovery under the
# DNSSEC policy, everything else comes from the upstream unchanged; outsiders are REFUSED.

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
