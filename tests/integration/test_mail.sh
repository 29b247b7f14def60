# SPDX-License-Identifier: ISC
# test_mail: an unmodified Debian Postfix on the LAN delivers through oniongated to a Postfix
# onion MX: by SRV (example.test), by the map file (mapped.test), and to a .onion recipient.
# Fault: the onion MX down for a while: mails defer with the 421 reason, none bounces, and all
# arrive once it is back and the queue runs.

pfmx=$(privnet_onion pfmx)
mail_dir="$OG_TMP/mail"
mkdir -p "$mail_dir/mailbox"
chown nobody "$mail_dir/mailbox"
mx_conf=("myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" "mydestination = localhost"
	"virtual_mailbox_domains = example.test mapped.test fresh.test $pfmx" "virtual_mailbox_base = $mail_dir/mailbox"
	"virtual_mailbox_maps = static:user/" "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534")
og_check "the onion MX's Postfix starts" mail_start mx "$WAN_NS" "$mail_dir/pf-mx" 127.0.0.1 "${mx_conf[@]}"

echo "mapped.test smtptor:[$pfmx]" > "$mail_dir/onionmx.map"
gw_config "$mail_dir/gw" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24" \
	"client-network fd00:0:0:1::/64" "transparent-port 9040" "lan-interface $GW_LAN_IF" \
	"onion-map $mail_dir/onionmx.map" "trust-anchor $OG_TMP/zones/trust-anchors" "proxy-connect-timeout 20"
gw_start "$mail_dir/gw"
og_wait_for 60 gw_log_has "$mail_dir/gw" "tor ready"
og_check "the LAN's Postfix starts (stock master.cf, resolver: the gateway)" mail_start lan "$LAN_NS" \
	"$mail_dir/pf-lan" "$GW_LAN_ADDR" "myhostname = mail.lan.test" "mydestination = localhost" \
	"mynetworks = 127.0.0.0/8 192.0.2.0/24 [fd00:0:0:1::]/64"

mailbox_count() { mail_count "$mail_dir/mailbox"; }
submit() { mail_submit "$LAN_NS" "$1" "$2"; }
wait_delivered() { mail_wait_delivered "$mail_dir/mailbox" "$1" "$2" "$LAN_NS" "$mail_dir/pf-lan"; }

t0=$(date +%s.%N)
for rcpt in user@example.test user@mapped.test "user@$pfmx"; do
	og_check "swaks submits a mail for $rcpt to the LAN Postfix" submit "$rcpt" "to $rcpt"
done
og_check "all 3 mails reach the onion MX's mailbox" wait_delivered 3 60
echo "mail: 3 mails delivered $(privnet_since "$t0") s after submission"
og_check "the LAN log shows relay=<onion>[<pool address>]:25 status=sent" \
	mail_wait_sent "$mail_dir/pf-lan" "$pfmx\[(10\.[0-9.]+|fd6f:6e69:6f6e:[0-9a-f:]+)\]:25" 3
og_check "the mailbox's Received headers show the LAN Postfix handing to the onion MX" \
	bash -c "grep -l 'by mail.lan.test (Postfix)' '$mail_dir'/mailbox/user/new/* | wc -l | grep -qx 3"

# Fault (a): the onion MX's Postfix stopped; then back.
mail_stop "$mail_dir/pf-mx"
t0=$(date +%s.%N)
submit user@example.test "while the MX is down"
og_check "with the MX down the mail defers with the gateway's 421 reason" \
	og_wait_for 60 grep -qE "status=deferred .*421 4\.4\.[12] $pfmx: " "$mail_dir/pf-lan/maillog"
grep -m1 "status=deferred" "$mail_dir/pf-lan/maillog" | sed 's/.*status=/mail: /'
og_check "the deferred mail waits in the LAN queue" test "$(mail_queue_count "$LAN_NS" "$mail_dir/pf-lan")" = 1
mail_start mx "$WAN_NS" "$mail_dir/pf-mx" 127.0.0.1 "${mx_conf[@]}"
og_check "once the MX is back the queue drains and the mail arrives" wait_delivered 4 90
echo "mail: the deferred mail arrived $(privnet_since "$t0") s after submission"

# Fault (b): oniongated killed with SIGKILL right after a submission, then started again.
pool_a() { ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$pfmx" A; }
addr_before=$(pool_a)
t0=$(date +%s.%N)
submit user@example.test "while the gateway restarts"
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null
gw_start "$mail_dir/gw"
og_wait_for 60 gw_log_has "$mail_dir/gw" "tor ready"
og_check "after a SIGKILL and a restart the mail arrives" wait_delivered 5 90
echo "mail: delivered $(privnet_since "$t0") s after submission across a gateway crash"
og_check "the onion kept its fake IPv4 address across the restart" \
	test "$(pool_a)" = "$addr_before"

# Fault (d): the upstream DNS server stopped: a domain not yet known defers, then arrives.
zones_pause
t0=$(date +%s.%N)
submit user@fresh.test "while the DNS is down"
og_check "with the upstream DNS down the mail defers" \
	og_wait_for 60 grep -qE "to=<user@fresh.test>.*status=deferred" "$mail_dir/pf-lan/maillog"
zones_resume
og_check "once the DNS is back the mail arrives" wait_delivered 6 90
echo "mail: the DNS-deferred mail arrived $(privnet_since "$t0") s after submission"

# Fault (f): SIGHUP with a broken config, then with a broken map: both refused with file:line:,
# and the running map keeps routing mapped.test to the onion.
cp "$mail_dir/gw/oniongate.conf" "$mail_dir/gw/oniongate.conf.good"
echo "pool-max lots" >> "$mail_dir/gw/oniongate.conf"
kill -HUP "$GW_PID"
og_check "SIGHUP with a broken config is refused with file:line:" og_wait_for 10 gw_log_has "$mail_dir/gw" \
	"reload refused, keeping the running configuration: $mail_dir/gw/oniongate.conf:$(wc -l < "$mail_dir/gw/oniongate.conf"): pool-max"
cp "$mail_dir/gw/oniongate.conf.good" "$mail_dir/gw/oniongate.conf"
cp "$mail_dir/onionmx.map" "$mail_dir/onionmx.map.good"
echo "mapped.test smtptor:[not-valid.onion]" >> "$mail_dir/onionmx.map"
kill -HUP "$GW_PID"
og_check "SIGHUP with a broken map is refused with file:line:" og_wait_for 10 gw_log_has "$mail_dir/gw" \
	"reload refused, keeping the running configuration: $mail_dir/onionmx.map:2:"
t0=$(date +%s.%N)
submit user@mapped.test "after a refused reload"
og_check "the old map keeps delivering mapped.test to the onion" wait_delivered 7 60
echo "mail: delivered $(privnet_since "$t0") s after submission with the old map after a refused reload"
cp "$mail_dir/onionmx.map.good" "$mail_dir/onionmx.map"

# Fault (c): oniongated started while the Tor network is unreachable (the DNS still is).
gw_stop "$mail_dir/gw"
ip netns exec "$GW_NS" nft add table inet test_block
ip netns exec "$GW_NS" nft add chain inet test_block out "{ type filter hook output priority 0; }"
ip netns exec "$GW_NS" nft add rule inet test_block out ip daddr "$WAN_ADDR" drop
rm -rf "$mail_dir/gw/data/tor"
gw_start "$mail_dir/gw"
og_wait_for 20 gw_log_has "$mail_dir/gw" "nft: table inet oniongate installed"
t0=$(date +%s.%N)
submit "user@$pfmx" "while Tor cannot bootstrap"
og_check "with Tor unable to bootstrap the mail defers with 421 ... Tor is not ready" \
	og_wait_for 60 grep -qE "status=deferred .*421 4\.4\.1 $pfmx: Tor is not ready" "$mail_dir/pf-lan/maillog"
ip netns exec "$GW_NS" nft delete table inet test_block
og_check "once the network is reachable Tor bootstraps" og_wait_for 120 gw_log_has "$mail_dir/gw" "tor ready"
og_check "and the mail arrives" wait_delivered 8 90
echo "mail: the mail deferred for an unbootstrapped Tor arrived $(privnet_since "$t0") s after submission"

# Fault (g): the WAN link down for 60 s while a mail is sent.
ip -n "$GW_NS" link set "$GW_WAN_IF" down
t0=$(date +%s.%N)
submit user@example.test "while the WAN is down"
og_check "with the WAN down the mail defers (no SRV answer: SERVFAIL, never the clearnet MX)" \
	og_wait_for 60 grep -qE "to=<user@example.test>.*status=deferred" "$mail_dir/pf-lan/maillog"
og_check "the LAN Postfix never tried the clearnet MX" bash -c "! grep -q 'mx.example.test\[' '$mail_dir/pf-lan/maillog'"
sleep $((60 - $(printf '%.0f' "$(privnet_since "$t0")") > 0 ? 60 - $(printf '%.0f' "$(privnet_since "$t0")") : 0))
ip -n "$GW_NS" link set "$GW_WAN_IF" up
og_check "once the WAN is back the mail arrives" wait_delivered 9 180
og_check "and it went to the onion MX, never to the clearnet one" \
	bash -c "! grep -q 'mx.example.test\[' '$mail_dir/pf-lan/maillog'"
echo "mail: the mail sent during a 60 s WAN outage arrived $(privnet_since "$t0") s after submission"

og_check "no mail bounced" test "$(grep -c "status=bounced" "$mail_dir/pf-lan/maillog")" = 0
mail_stop "$mail_dir/pf-lan"
mail_stop "$mail_dir/pf-mx"
gw_stop "$mail_dir/gw"
og_check "the mail gateway stops with exit 0" test $? = 0
