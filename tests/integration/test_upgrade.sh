# SPDX-License-Identifier: ISC
# test_upgrade: mx-mode upgrade behind a LAN mail server's own validating resolver (issue 12): an
# unmodified Postfix doing DANE, resolving through unbound that forwards to oniongated, delivers
# to a signed SRV domain, a signed map-file domain and an .onion recipient (and over IPv6 to a
# signed SRV domain whose MX host has only an AAAA record); the MX answers it gets
# validate (AD), its TLS is DANE-verified through the onion, and the clearnet MX never sees it.
# The ambiguity rule: an MX address of domains with different onion MX hosts, or of a domain that
# claims another domain's MX host, is never upgraded.

up_pfmx=$(privnet_onion pfmx)
up_dir="$OG_TMP/upgrade"
up_sink_addrs="198.51.100.36 198.51.100.37"
mkdir -p "$up_dir/mailbox" "$up_dir/sink"
chown nobody "$up_dir/mailbox" "$up_dir/sink"

# The onion MX: Postfix with STARTTLS, presenting the key the TLSA records of the real MX hosts name.
og_check "the onion MX's Postfix starts with STARTTLS" mail_start mx "$WAN_NS" "$up_dir/pf-mx" 127.0.0.1 \
	"myhostname = mx.dane.test" "inet_interfaces = 127.0.0.1" "mydestination = localhost" \
	"virtual_mailbox_domains = dane.test danemap.test dane6.test example.test $up_pfmx" "virtual_mailbox_base = $up_dir/mailbox" \
	"virtual_mailbox_maps = static:user/" "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534" \
	"smtpd_tls_cert_file = $OG_TMP/zones/mx-tls.crt" "smtpd_tls_key_file = $OG_TMP/zones/mx-tls.key" \
	"smtpd_tls_security_level = may" "smtpd_tls_loglevel = 1"

# The clearnet path a failed upgrade would take: the gateway forwards, the real MX addresses exist
# in the WAN namespace, and an smtp-sink listens on them (each mail it takes is dumped to a file).
up_fwd_was=$(ip netns exec "$GW_NS" sysctl -n net.ipv4.ip_forward)
ip netns exec "$GW_NS" sysctl -qw net.ipv4.ip_forward=1
up_added_addrs=()
for a in $up_sink_addrs 198.51.100.25; do
	if ! ip -n "$WAN_NS" -4 addr show dev "$WAN_IF" | grep -q "inet $a/"; then
		ip -n "$WAN_NS" addr add "$a/32" dev "$WAN_IF"
		up_added_addrs+=("$a")
	fi
done
up_added_route=0
if [ -z "$(ip -n "$WAN_NS" route show 192.0.2.0/24)" ]; then
	ip -n "$WAN_NS" route add 192.0.2.0/24 via "$GW_WAN_ADDR"
	up_added_route=1
fi
up_sink_pids=()
for a in $up_sink_addrs; do
	og_spawn "$WAN_NS" "$up_dir/sink-$a.log" smtp-sink -u nobody -h clearnet.mx.test -d "$up_dir/sink/%H%M%S." "$a:25" 100
	up_sink_pids+=("$OG_SPAWNED")
done

# Every SMTP and DNS packet on the gateway's WAN link, from before the probes of the clearnet path.
og_spawn "$GW_NS" "$up_dir/tcpdump.log" tcpdump -i "$GW_WAN_IF" -n -U -Z root -w "$up_dir/wan.pcap" \
	tcp port 25 or port 53
up_capture_pid=$OG_SPAWNED
og_wait_for 10 grep -q "listening on" "$up_dir/tcpdump.log"

up_probe() {
	ip netns exec "$LAN_NS" swaks --silent 2 --server "$1" --quit-after HELO --helo lan.test --timeout 10
}
for a in $up_sink_addrs; do
	og_check "without the gateway the clearnet MX $a:25 is reachable from the LAN (the path a failed upgrade takes)" \
		og_wait_for 10 up_probe "$a"
done

echo "danemap.test smtptor:[$up_pfmx]" > "$up_dir/onionmx.map"
gw_config "$up_dir/gw" "mx-mode upgrade" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" \
	"client-network 192.0.2.0/24" "client-network fd00:0:0:1::/64" "transparent-port 9040" \
	"lan-interface $GW_LAN_IF" "onion-map $up_dir/onionmx.map" "trust-anchor $OG_TMP/zones/trust-anchors" \
	"proxy-connect-timeout 20" "domain example.test rewrite"
gw_start "$up_dir/gw" "$OG_TOP/build/asan/oniongated"
og_check "the gateway (mx-mode upgrade) starts and Tor is ready" og_wait_for 60 gw_log_has "$up_dir/gw" "tor ready"

og_check "the mail server's validating unbound starts (test zones' anchors, forwarding to the gateway)" \
	resolver_start "$LAN_NS" 127.0.0.1 "$up_dir/unbound" "$GW_LAN_ADDR" "$OG_TMP/zones/trust-anchors"
og_check "the LAN's Postfix starts (DANE: dnssec lookups, smtp_tls_security_level = dane)" mail_start lan \
	"$LAN_NS" "$up_dir/pf-lan" 127.0.0.1 "myhostname = mail.lan.test" "mydestination = localhost" \
	"mynetworks = 127.0.0.0/8 192.0.2.0/24 [fd00:0:0:1::]/64" "smtp_dns_support_level = dnssec" \
	"smtp_tls_security_level = dane" "smtp_tls_loglevel = 1" "dnssec_probe = ns:dane.test"

up_mailbox_count() { mail_count "$up_dir/mailbox"; }
up_submit() { mail_submit "$LAN_NS" "$1" "$2"; }
up_wait_delivered() { mail_wait_delivered "$up_dir/mailbox" "$1" "$2" "$LAN_NS" "$up_dir/pf-lan"; }
up_sent_via() { og_wait_for 10 grep -qE "to=<$1>, relay=$2, .*status=sent" "$up_dir/pf-lan/maillog"; }

# The first mails, before anything else asked about their domains: what an MTA's first contact sees.
# example.test (unsigned, SRV to the same onion MX) is in rewrite mode: the two modes side by side.
t0=$(date +%s.%N)
for rcpt in user@dane.test user@danemap.test "user@$up_pfmx" user@example.test; do
	og_check "swaks submits a mail for $rcpt to the LAN Postfix" up_submit "$rcpt" "to $rcpt"
done
og_check "all 4 mails reach the onion MX's mailbox" up_wait_delivered 4 90
echo "upgrade: $(up_mailbox_count) of 4 mails delivered $(privnet_since "$t0") s after submission"
# Each mail's first-contact latency, submission to delivery, as Postfix measured it (delay=).
sed -nE 's/.* to=<([^>]*)>, relay=([^,]*), delay=([0-9.]+), .*status=sent.*/upgrade: \1 delivered \3 s after submission (relay=\2)/p' \
	"$up_dir/pf-lan/maillog"
og_check "dane.test: sent to the real MX as Postfix sees it (relay=mx.dane.test[198.51.100.36]:25)" \
	up_sent_via user@dane.test 'mx\.dane\.test\[198\.51\.100\.36\]:25'
og_check "danemap.test: sent to the real MX as Postfix sees it (relay=mx.danemap.test[198.51.100.37]:25)" \
	up_sent_via user@danemap.test 'mx\.danemap\.test\[198\.51\.100\.37\]:25'
og_check "the .onion recipient: sent to relay=<onion>[<pool address>]:25" \
	up_sent_via "user@$up_pfmx" "$up_pfmx\[(10\.[0-9.]+|fd6f:6e69:6f6e:[0-9a-f:]+)\]:25"
for h in mx.dane.test mx.danemap.test; do
	og_check "DANE verified $h's certificate through the onion (Verified TLS connection established)" \
		grep -q "Verified TLS connection established to $h\[" "$up_dir/pf-lan/maillog"
done
og_check "the onion MX received them over TLS" \
	test "$(grep -c "TLS connection established from" "$up_dir/pf-mx/maillog")" -ge 2
up_pool_a=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$up_pfmx" A)
og_check "the onion MX offers STARTTLS through the onion (swaks --tls to its pool address $up_pool_a)" \
	ip netns exec "$LAN_NS" swaks --silent 2 --server "$up_pool_a" --tls --quit-after TLS --helo lan.test --timeout 30
for d in dane.test:198.51.100.36 danemap.test:198.51.100.37; do
	og_check "the gateway logs the upgrade of ${d#*:} to the onion MX (${d%%:*})" \
		gw_log_has "$up_dir/gw" "upgrade: ${d#*:} port 25 -> $up_pfmx:25 (${d%%:*})"
done
grep "status=deferred" "$up_dir/pf-lan/maillog" | head -3 | sed 's/.*status=/upgrade: deferred: /'

# What the MTA's resolver answers: the real MX, validated.
up_dig() { ip netns exec "$LAN_NS" dig +dnssec +time=5 +tries=1 @127.0.0.1 "$@"; }
up_validated() {
	local out
	out=$(up_dig "$1" "$2") || return 1
	grep -qE '^;; flags:[a-z ]* ad[; ]' <<<"$out" || return 1
	grep -qE "^$1\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+$2[[:space:]]+$3" <<<"$out"
}
up_real_mx() { up_validated "$1" MX "10 mx\.$1\.\$" && ! up_dig "$1" MX | grep -qi '\.onion\.'; }
for d in dane.test danemap.test; do
	og_check "dig +dnssec $d MX through unbound: AD and the real MX mx.$d (no onion name)" up_real_mx "$d"
done
og_check "the TLSA record of mx.dane.test validates (AD)" up_validated _25._tcp.mx.dane.test TLSA "3 1 1 "
og_check "mx.dane.test A validates (AD) and is the real address" up_validated mx.dane.test A '198\.51\.100\.36$'
og_check "signed.test DNSKEY validates through the gateway (AD)" up_validated signed.test DNSKEY "257 3 13 "
og_check "unbound logged no validation failure" bash -c "! grep -q 'validation failure' '$up_dir/unbound/unbound.log'"

# The redirect set.
# up_set [SET]: the gateway's upgrade4 (or SET); up_in_set ADDR [SET]: ADDR is in it, with an expiry.
up_set() { ip netns exec "$GW_NS" nft list set inet oniongate "${1:-upgrade4}" 2>&1; }
# The listing is read whole before grep looks at it: grep -q may stop reading early, and under
# pipefail nft's write into a closed pipe would fail the check.
up_in_set() { local set; set=$(up_set "${2:-upgrade4}"); grep -qE "(^|[{ ,])${1//./\\.} [^,}]*expires" <<<"$set"; }
for a in $up_sink_addrs; do
	og_check "nft set upgrade4 holds $a with an expiry" up_in_set "$a"
done
up_set | sed -n 's/^[[:space:]]*elements = /upgrade: upgrade4 = /p'

# Nothing took the clearnet path: the only SYNs to the real MX addresses are the probes'.
og_stop "$up_capture_pid"
up_syns() {
	tcpdump -r "$up_dir/wan.pcap" -n "dst host $1 and tcp dst port 25 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" \
		2>/dev/null | wc -l
}
for a in $up_sink_addrs; do
	og_check "the WAN capture has one SYN to $a:25 (the probe's), none from the mails" test "$(up_syns "$a")" = 1
done
og_check "the clearnet smtp-sinks took no mail" test -z "$(ls -A "$up_dir/sink")"
og_check "no DNS query on the WAN link names an .onion" \
	bash -c "! tcpdump -r '$up_dir/wan.pcap' -n 'dst port 53' 2>/dev/null | grep -qi '\.onion\.'"
og_check "the WAN capture saw the gateway's DNS queries (it captured)" \
	test "$(tcpdump -r "$up_dir/wan.pcap" -n 'dst port 53' 2>/dev/null | wc -l)" -gt 0

# Ambiguity: signed.test's MX host upgraded to its onion MX until alias.test names the same host
# without one; an out-of-domain MX host of an SRV-learned domain (hijack.test) is never upgraded.
up_not_in_set() {
	local set
	set=$(up_set)
	grep -q '^[[:space:]]*set upgrade4 {' <<<"$set" && ! grep -qE "(^|[{ ,])${1//./\\.}( |,|\$)" <<<"$set"
}
up_dig signed.test MX >/dev/null
og_check "signed.test MX: its MX address 198.51.100.25 is upgraded" og_wait_for 5 up_in_set 198.51.100.25
up_dig alias.test MX >/dev/null
og_check "alias.test MX (the same host, no onion MX): 198.51.100.25 leaves the set" \
	og_wait_for 5 up_not_in_set 198.51.100.25
ip netns exec "$LAN_NS" dig +time=5 +tries=1 @"$GW_LAN_ADDR" alias.test MX >/dev/null
ip netns exec "$LAN_NS" dig +time=5 +tries=1 @"$GW_LAN_ADDR" signed.test MX >/dev/null
sleep 1
og_check "asked again, 198.51.100.25 stays out" up_not_in_set 198.51.100.25
og_check "the gateway logs 'upgrade: 198.51.100.25 is ambiguous' once" \
	test "$(grep -c "upgrade: 198.51.100.25 is ambiguous" "$up_dir/gw/oniongated.log")" = 1
up_dig hijack.test MX >/dev/null
ip netns exec "$LAN_NS" dig +time=5 +tries=1 @"$GW_LAN_ADDR" hijack.test MX >/dev/null
sleep 1
og_check "hijack.test (SRV, MX host in plain.test): 198.51.100.30 is never upgraded" up_not_in_set 198.51.100.30
og_check "and the gateway logs no upgrade of it" bash -c "! grep -q 'upgrade: 198.51.100.30 port' '$up_dir/gw/oniongated.log'"

# IPv6: a signed SRV domain whose MX host has only an AAAA record goes through the upgrade6 set
# (the WAN has no IPv6: without the upgrade the mail could only defer).
t0=$(date +%s.%N)
og_check "swaks submits a mail for user@dane6.test to the LAN Postfix" up_submit user@dane6.test "to dane6.test"
og_check "it reaches the onion MX's mailbox" up_wait_delivered 5 90
echo "upgrade: the IPv6 MX's mail delivered $(privnet_since "$t0") s after submission"
og_check "dane6.test: sent to the real MX as Postfix sees it (relay=mx.dane6.test[2001:db8::36]:25)" \
	up_sent_via user@dane6.test 'mx\.dane6\.test\[2001:db8::36\]:25'
og_check "DANE verified mx.dane6.test's certificate through the onion" \
	grep -q "Verified TLS connection established to mx.dane6.test\[" "$up_dir/pf-lan/maillog"
og_check "the gateway logs the upgrade of 2001:db8::36 to the onion MX (dane6.test)" \
	gw_log_has "$up_dir/gw" "upgrade: 2001:db8::36 port 25 -> $up_pfmx:25 (dane6.test)"
og_check "nft set upgrade6 holds 2001:db8::36 with an expiry" up_in_set 2001:db8::36 upgrade6

og_check "example.test (domain ... rewrite): sent to the onion at its pool address, as in rewrite mode" \
	up_sent_via user@example.test "$up_pfmx\\[(10\\.[0-9.]+|fd6f:6e69:6f6e:[0-9a-f:]+)\\]:25"

# Reload: dane.test leaves upgrade mode; its claims end at once and its address leaves the set.
cp "$up_dir/gw/oniongate.conf" "$up_dir/gw/oniongate.conf.upgrade"
echo "domain dane.test rewrite" >> "$up_dir/gw/oniongate.conf"
kill -HUP "$GW_PID"
og_check "SIGHUP with dane.test in rewrite mode: its claims are dropped" \
	og_wait_for 10 gw_log_has "$up_dir/gw" "claims of domains no longer in mx-mode upgrade dropped"
og_check "and 198.51.100.36 leaves upgrade4" up_not_in_set 198.51.100.36
og_check "while danemap.test's 198.51.100.37 stays" up_in_set 198.51.100.37 upgrade4
cp "$up_dir/gw/oniongate.conf.upgrade" "$up_dir/gw/oniongate.conf"

og_check "no mail bounced" test "$(grep -c "status=bounced" "$up_dir/pf-lan/maillog")" = 0
mail_stop "$up_dir/pf-lan"
resolver_stop
mail_stop "$up_dir/pf-mx"
gw_stop "$up_dir/gw"
og_check "the upgrade gateway (ASan+UBSan build) stops with exit 0" test $? = 0
og_check "and no sanitizer report" bash -c "! grep -q 'Sanitizer' '$up_dir/gw/oniongated.log'"
og_check "its nft table (and the upgrade sets) are gone" \
	bash -c "! ip netns exec '$GW_NS' nft list table inet oniongate >/dev/null 2>&1"
for pid in "${up_sink_pids[@]}"; do og_stop "$pid"; done
ip netns exec "$GW_NS" sysctl -qw "net.ipv4.ip_forward=$up_fwd_was"
[ "$up_added_route" = 0 ] || ip -n "$WAN_NS" route del 192.0.2.0/24 via "$GW_WAN_ADDR"
for a in "${up_added_addrs[@]}"; do ip -n "$WAN_NS" addr del "$a/32" dev "$WAN_IF"; done
