# SPDX-License-Identifier: ISC
# test_exim: Debian's exim4-daemon-light on the LAN, configured as dpkg-reconfigure writes an
# "internet site", delivers through oniongated to the Postfix onion MX: by SRV, by the map file
# and to a .onion recipient. Its dnslookup router ignores targets in 10.0.0.0/8 and fc00::/7 (the
# default pools), so the gateway runs with pool-ipv4 100.64.0.0/10. Fault: the onion MX down:
# the mail defers on the 421, none bounces, and it arrives once the MX is back.

exim_t_start=$(date +%s.%N)
pfmx=$(privnet_onion pfmx)
exim_dir="$OG_TMP/exim"
mail_mx_conf "$exim_dir" "example.test mapped.test $pfmx"
exim_mx_conf=("${MAIL_MX_CONF[@]}")
og_check "the onion MX's Postfix starts" mail_start mx "$WAN_NS" "$exim_dir/pf-mx" 127.0.0.1 "${exim_mx_conf[@]}"

t0=$(date +%s.%N)
exim_cache=$(exim_root)
og_check "Debian's exim4-daemon-light is installed in its own root" test -x "$exim_cache/usr/sbin/exim4"
echo "exim: root ready in $(privnet_since "$t0") s"
exim_root=$(mta_instance exim "$exim_cache" "$GW_LAN_ADDR")
og_check "its configuration is the stock internet site" \
	grep -qx "dc_eximconfig_configtype='internet'" "$exim_root/etc/exim4/update-exim4.conf.conf"
exim() { mta_run "$exim_root" "$LAN_NS" exim4 "$@"; }
exim_log() { grep -E -- "$1" "$exim_root/var/log/exim4/mainlog"; }

echo "mapped.test smtptor:[$pfmx]" > "$exim_dir/onionmx.map"
exim_gw_config() {
	gw_config "$exim_dir/gw" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24" \
		"client-network fd00:0:0:1::/64" "transparent-port 9040" "lan-interface $GW_LAN_IF" \
		"onion-map $exim_dir/onionmx.map" "trust-anchor $OG_TMP/zones/trust-anchors" "proxy-connect-timeout 20" "$@"
}

# With the default pools Exim's router drops every address of the onion MX.
exim_gw_config
gw_start "$exim_dir/gw"
og_wait_for 60 gw_log_has "$exim_dir/gw" "tor ready"
exim -bt user@example.test > "$exim_dir/bt-default-pool.txt" 2>&1
sed 's/^/exim -bt (default pool): /' "$exim_dir/bt-default-pool.txt"
og_check "with the default pool Exim finds the onion MX unroutable (its ignore_target_hosts)" \
	grep -q "all relevant MX records point to non-existent hosts" "$exim_dir/bt-default-pool.txt"
gw_stop "$exim_dir/gw"

exim_gw_config "pool-ipv4 100.64.0.0/10"
gw_start "$exim_dir/gw"
og_wait_for 60 gw_log_has "$exim_dir/gw" "tor ready"
# A young private network: wait until the MX's onion descriptor is out (as test_mail's flushes do).
og_check "the onion MX answers through the gateway" gw_banner "$exim_dir/gw" "$pfmx" 25 120
exim -bt user@example.test > "$exim_dir/bt.txt" 2>&1
sed 's/^/exim -bt (pool-ipv4 100.64.0.0\/10): /' "$exim_dir/bt.txt"
og_check "with pool-ipv4 100.64.0.0/10 Exim routes to the onion MX's pool address" \
	grep -qE "host $pfmx \[100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.[0-9.]+\]" "$exim_dir/bt.txt"

og_spawn "$LAN_NS" "$exim_dir/exim.out" unshare --uts chroot "$exim_root" /bin/sh -c \
	'hostname mail.lan.test && exec exim4 -bdf -q30m'
exim_pid=$OG_SPAWNED
og_check "the LAN's Exim starts (stock config, resolver: the gateway)" \
	og_wait_for 20 mta_listening "$LAN_NS"

# Exim pipelines QUIT after the last data and shuts its sending side at once; Tor has no
# half-close (a SOCKS client's EOF ends the stream both ways), so the gateway must keep the onion
# side open for the replies: else the 250 is lost and the mail, already delivered, is sent again.
exim_mx_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$pfmx" A)
og_check "a LAN client that sends QUIT and half-closes still gets the onion MX's 221" \
	test "$(mta_half_close_reply "$exim_mx_addr" | cut -c1-3)" = 221
# Any other close is passed on at once: a banner grab does not hold a stream slot.
og_check "a LAN client that reads the banner and closes without QUIT" \
	test "$(mta_banner_close "$exim_mx_addr" | cut -c1-3)" = 220
og_check "ends its stream at once (within 5 s)" og_wait_for 5 mta_streams_idle "$exim_dir/gw"

exim_flush() { exim -qff; }
mta_dns_watch "$LAN_NS" "$LAN_IF" "$exim_dir/dns.log"
exim_dns_pid=$OG_SPAWNED
sleep 1
n=0
for rcpt in user@example.test user@mapped.test "user@$pfmx"; do
	n=$((n + 1))
	t0=$(date +%s.%N)
	og_check "swaks submits a mail for $rcpt to the LAN Exim" mail_submit "$LAN_NS" "$rcpt" "to $rcpt"
	og_check "it reaches the onion MX's mailbox" mta_wait_delivered "$exim_dir/mailbox" "$n" 60 exim_flush
	echo "exim: the mail for $rcpt delivered $(privnet_since "$t0") s after submission"
done
og_check "the Exim log shows 3 deliveries to H=<onion> [<100.64/10 address>]" \
	test "$(exim_log "=> user@.* R=dnslookup T=remote_smtp H=$pfmx \[100\.[0-9.]+\]" | wc -l)" = 3
og_check "Exim deferred none of them (each accepted on its first try)" test "$(exim_log " == " | wc -l)" = 0
og_check "the mailbox's Received headers show the LAN Exim" \
	bash -c "grep -l 'by mail.lan.test with esmtp (Exim 4' '$exim_dir'/mailbox/user/new/* | wc -l | grep -qx 3"
og_stop "$exim_dns_pid"
mta_dns_queries "$exim_dir/dns.log" | sed 's/^/exim: DNS query: /'
og_check "it asked the gateway for the MX of example.test" grep -q "MX? example.test\\." "$exim_dir/dns.log"

# Fault: the onion MX's Postfix stopped; then back.
mail_stop "$exim_dir/pf-mx"
t0=$(date +%s.%N)
mail_submit "$LAN_NS" user@example.test "while the MX is down"
og_check "with the MX down the mail defers with the gateway's 421 reason" \
	og_wait_for 60 exim_log "== user@example.test R=dnslookup T=remote_smtp defer .*: 421 4\.4\.[12] $pfmx: "
exim_log "== user@example.test" | head -n1 | sed 's/^/exim: /'
og_check "the deferred mail waits in the Exim queue" test "$(exim -bpc)" = 1
mail_start mx "$WAN_NS" "$exim_dir/pf-mx" 127.0.0.1 "${exim_mx_conf[@]}"
og_check "once the MX is back a queue run (exim -qff) delivers it" mta_wait_delivered "$exim_dir/mailbox" 4 90 exim_flush
echo "exim: the deferred mail arrived $(privnet_since "$t0") s after submission"
og_check "no mail bounced (no ** line in the Exim log)" test "$(exim_log '^\S+ \S+ \S+ \*\* ' | wc -l)" = 0

og_stop "$exim_pid"
mail_stop "$exim_dir/pf-mx"
gw_stop "$exim_dir/gw"
og_check "the mail gateway stops with exit 0" test $? = 0
echo "exim: the test took $(privnet_since "$exim_t_start") s"
