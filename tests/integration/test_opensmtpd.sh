# SPDX-License-Identifier: ISC
# test_opensmtpd: Debian's opensmtpd on the LAN with its stock smtpd.conf ("match from local for
# any action relay") delivers through oniongated to the Postfix onion MX: by SRV, by the map file
# and to a .onion recipient, its resolver (libasr) reading resolv.conf. Fault: the onion MX down:
# the mail defers on the 421 (TempFail), none bounces, and it arrives once the MX is back.

smtpd_t_start=$(date +%s.%N)
pfmx=$(privnet_onion pfmx)
smtpd_dir="$OG_TMP/opensmtpd"
mail_mx_conf "$smtpd_dir" "example.test mapped.test $pfmx"
smtpd_mx_conf=("${MAIL_MX_CONF[@]}")
og_check "the onion MX's Postfix starts" mail_start mx "$WAN_NS" "$smtpd_dir/pf-mx" 127.0.0.1 "${smtpd_mx_conf[@]}"

t0=$(date +%s.%N)
smtpd_cache=$(smtpd_root)
og_check "Debian's opensmtpd is installed in its own root" test -x "$smtpd_cache/usr/sbin/smtpd"
echo "opensmtpd: root ready in $(privnet_since "$t0") s"
smtpd_root=$(mta_instance opensmtpd "$smtpd_cache" "$GW_LAN_ADDR")
og_check "its smtpd.conf is the stock one" cmp -s "$smtpd_root/etc/smtpd.conf" "$smtpd_cache/etc/smtpd.conf"
smtpctl() { mta_run "$smtpd_root" "$LAN_NS" smtpctl "$@"; }
smtpd_log() { grep -E -- "$1" "$smtpd_dir/smtpd.log"; }

echo "mapped.test smtptor:[$pfmx]" > "$smtpd_dir/onionmx.map"
gw_config "$smtpd_dir/gw" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24" \
	"client-network fd00:0:0:1::/64" "transparent-port 9040" "lan-interface $GW_LAN_IF" \
	"onion-map $smtpd_dir/onionmx.map" "trust-anchor $OG_TMP/zones/trust-anchors" "proxy-connect-timeout 20"
gw_start "$smtpd_dir/gw"
og_wait_for 60 gw_log_has "$smtpd_dir/gw" "tor ready"
# A young private network: wait until the MX's onion descriptor is out (as test_mail's flushes do).
og_check "the onion MX answers through the gateway" gw_banner "$smtpd_dir/gw" "$pfmx" 25 120

og_spawn "$LAN_NS" "$smtpd_dir/smtpd.log" unshare --uts chroot "$smtpd_root" /bin/sh -c \
	'hostname mail.lan.test && exec smtpd -d'
smtpd_pid=$OG_SPAWNED
og_check "the LAN's OpenSMTPD starts (stock smtpd.conf, resolver: the gateway)" \
	og_wait_for 20 mta_listening "$LAN_NS"

smtpd_flush() { smtpctl schedule all; }
mta_dns_watch "$LAN_NS" "$LAN_IF" "$smtpd_dir/dns.log"
opensmtpd_dns_pid=$OG_SPAWNED
sleep 1
n=0
for rcpt in user@example.test user@mapped.test "user@$pfmx"; do
	n=$((n + 1))
	t0=$(date +%s.%N)
	og_check "swaks submits a mail for $rcpt to the LAN OpenSMTPD" mail_submit "$LAN_NS" "$rcpt" "to $rcpt"
	og_check "it reaches the onion MX's mailbox" mta_wait_delivered "$smtpd_dir/mailbox" "$n" 60 smtpd_flush
	echo "opensmtpd: the mail for $rcpt delivered $(privnet_since "$t0") s after submission"
done
# smtpd_delivered N: exactly N deliveries to the onion's pool address with result Ok in the log (it is
# written after the MX took the mail: read it until it is there).
smtpd_delivered() { [ "$(smtpd_log "mta delivery .*relay=\"(10\.[0-9.]+|\[fd6f:6e69:6f6e:[0-9a-f:]+\]) \($pfmx\)\".*result=\"Ok\"" | wc -l)" = "$1" ]; }
og_check "the OpenSMTPD log shows 3 deliveries to the onion's pool address, result Ok" \
	og_wait_for 10 smtpd_delivered 3
og_check "the mailbox's Received headers show the LAN OpenSMTPD" \
	bash -c "grep -l 'by mail.lan.test (OpenSMTPD)' '$smtpd_dir'/mailbox/user/new/* | wc -l | grep -qx 3"
og_stop "$opensmtpd_dns_pid"
mta_dns_queries "$smtpd_dir/dns.log" | sed 's/^/opensmtpd: DNS query: /'
og_check "it asked the gateway for the MX of example.test" grep -q "MX? example.test\\." "$smtpd_dir/dns.log"

# Fault: the onion MX's Postfix stopped; then back. OpenSMTPD keeps an idle session to a relay
# for ~10 s: a mail sent on it when the MX stops fails with "Connection closed unexpectedly"
# (TempFail too); the fault here is the 421 of a new connection, so those sessions end first.
og_check "OpenSMTPD's cached sessions to the onion MX close" og_wait_for 30 mta_streams_idle "$smtpd_dir/gw"
mail_stop "$smtpd_dir/pf-mx"
t0=$(date +%s.%N)
mail_submit "$LAN_NS" user@example.test "while the MX is down"
og_check "with the MX down OpenSMTPD reads the gateway's 421 banner" \
	og_wait_for 60 smtpd_log "mta error reason=BANNER rejected: 421 4\.4\.[12] $pfmx: "
og_check "and the mail defers (TempFail)" og_wait_for 60 smtpd_log "to=<user@example.test>.*result=\"TempFail\""
smtpd_log 'BANNER rejected|result="TempFail"' | sed 's/^/opensmtpd: /'
og_check "the deferred mail waits in the OpenSMTPD queue" test "$(smtpctl show queue | wc -l)" = 1
mail_start mx "$WAN_NS" "$smtpd_dir/pf-mx" 127.0.0.1 "${smtpd_mx_conf[@]}"
og_check "once the MX is back a queue run (smtpctl schedule all) delivers it" \
	mta_wait_delivered "$smtpd_dir/mailbox" 4 90 smtpd_flush
echo "opensmtpd: the deferred mail arrived $(privnet_since "$t0") s after submission"
og_check "no mail bounced (no PermFail, no bounce)" test "$(smtpd_log 'PermFail|bounce' | wc -l)" = 0

og_stop "$smtpd_pid"
mail_stop "$smtpd_dir/pf-mx"
gw_stop "$smtpd_dir/gw"
og_check "the mail gateway stops with exit 0" test $? = 0
echo "opensmtpd: the test took $(privnet_since "$smtpd_t_start") s"
