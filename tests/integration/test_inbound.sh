# SPDX-License-Identifier: ISC
# test_inbound: onion-mx: the gateway publishes the LAN's Postfix as an onion MX. A sender site
# outside (its own namespaces: a stock Postfix behind its own oniongated on the private network)
# finds it by the _onion-mx._tcp SRV record the gateway printed, put into the test's nsd zone.
# The LAN Postfix sees the mail come from onion-mx-source, and refuses to relay through the onion
# (5.7.1) while it relays for its trusted network; the onion name survives a restart; a mail
# LAN -> onion MX (pfmx) flows through the same gateway while an inbound one arrives.

ib_dir="$OG_TMP/inbound"
ib_source=192.0.2.200
ib_mx_log="$ib_dir/pf-lan/maillog"
mkdir -p "$ib_dir/lanbox" "$ib_dir/mxbox"
chown nobody "$ib_dir/lanbox" "$ib_dir/mxbox"

# The sender site: slan (its Postfix, 172.16.1.10) -- sgw (its oniongated) -- the WAN namespace.
IB_SLAN_NS="$OG_RUN_ID-slan"
IB_SGW_NS="$OG_RUN_ID-sgw"
og_netns_add "$IB_SLAN_NS"
og_netns_add "$IB_SGW_NS"
read -r _ IB_SGW_WAN_IF < <(og_link "$WAN_NS" 100.64.1.1/24 "$IB_SGW_NS" 100.64.1.2/24)
read -r _ IB_SGW_LAN_IF < <(og_link "$IB_SLAN_NS" 172.16.1.10/24 "$IB_SGW_NS" 172.16.1.1/24)
ip -n "$IB_SGW_NS" route add default via 100.64.1.1
ip -n "$IB_SLAN_NS" route add default via 172.16.1.1
ip -n "$GW_NS" addr add "$ib_source/24" dev "$GW_LAN_IF"

# Gateways by directory: GW_NS and GW_PID are gateway.sh's, one gateway at a time.
ib_gw_start() { # DIR NS [BINARY]
	GW_NS=$2 gw_start "$1" "${3:-$OG_TOP/daemon/oniongated}"
	echo "$GW_PID" > "$1/pid"
}
ib_gw_stop() { # DIR: the exit code of oniongated
	GW_PID=$(cat "$1/pid") gw_stop "$1"
}
ib_onion() { sed -n 's/^onion //p' "$ib_dir/gw/run/onion-mx.records" 2>/dev/null; }
ib_has_onion() { [ -n "$(ib_onion)" ]; }
# Every descriptor upload the service started has succeeded (as privnet_onion_uploaded): a client
# asking an HSDir that has not got it yet would hold that failure against the onion for 15 minutes.
ib_uploaded() {
	local started done
	started=$(grep -c 'initiated upload request to' "$ib_dir/gw/oniongated.log")
	done=$(grep -c 'Uploaded hidden service descriptor (status 200' "$ib_dir/gw/oniongated.log")
	[ "$done" -ge 1 ] && [ "$done" -ge "$started" ]
}
ib_banner_ok() { # the LAN Postfix's banner through the sender's gateway's Tor
	ip netns exec "$IB_SGW_NS" "$OG_TOOLS/socksbanner" "$ib_dir/sgw/run/tor/socks" "$ib_onion" 25 30 \
		2>>"$ib_dir/socksbanner.err" | grep -q '^220 mail.lan.test ESMTP'
}
ib_lan_count() { mail_count "$ib_dir/lanbox"; }

# The sender's gateway starts first: it bootstraps while the receiving one makes its onion.
gw_config "$ib_dir/sgw" "dns-listen 172.16.1.1" "dns-upstream $WAN_DNS_ADDR" "client-network 172.16.1.0/24" \
	"transparent-port 9040" "lan-interface $IB_SGW_LAN_IF" "trust-anchor $OG_TMP/zones/trust-anchors" \
	"proxy-connect-timeout 60"
ib_gw_start "$ib_dir/sgw" "$IB_SGW_NS"

# The receiving gateway: the LAN gateway of the other tests, with onion-mx (Tor at info: the
# descriptor uploads are logged).
gw_config "$ib_dir/gw" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24" \
	"transparent-port 9040" "lan-interface $GW_LAN_IF" "trust-anchor $OG_TMP/zones/trust-anchors" \
	"proxy-connect-timeout 60" "onion-mx $LAN_ADDR lan.test" "onion-mx-source $ib_source"
sed -i 's/^log-level info$/log-level debug/' "$ib_dir/gw/oniongate.conf"
ib_t0=$(date +%s.%N)
ib_gw_start "$ib_dir/gw" "$GW_NS" "$OG_TOP/build/asan/oniongated"
og_check "onion-mx: the gateway writes the records once Tor has made the keys" og_wait_for 60 ib_has_onion
ib_onion=$(ib_onion)
echo "inbound: onion name known $(privnet_since "$ib_t0") s after the first start: $ib_onion"
og_check "onion-mx: the records file holds the SRV record and the map line for lan.test" \
	grep -qxF "srv _onion-mx._tcp.lan.test. IN SRV 0 0 25 $ib_onion." "$ib_dir/gw/run/onion-mx.records"
og_check "onion-mx: the map line is the onionmx one" \
	grep -qxF "map lan.test smtptor:[$ib_onion]" "$ib_dir/gw/run/onion-mx.records"
og_check "onion-mx: the log prints the SRV record to publish" \
	gw_log_has "$ib_dir/gw" "onion-mx: publish for lan.test: _onion-mx._tcp.lan.test. IN SRV 0 0 25 $ib_onion."
og_check "onion-mx: the key directory is data-dir/onion-mx, mode 0700" \
	test "$(stat -c %a "$ib_dir/gw/data/onion-mx")" = 700
ib_key=$(sha256sum < "$ib_dir/gw/data/onion-mx/hs_ed25519_secret_key")

# The LAN's Postfix: receives for lan.test, trusts its LAN but not onion-mx-source.
og_check "onion-mx: the LAN Postfix starts (mynetworks without $ib_source)" mail_start lan "$LAN_NS" \
	"$ib_dir/pf-lan" "$GW_LAN_ADDR" "myhostname = mail.lan.test" "mydestination = localhost" \
	"mynetworks = 127.0.0.0/8 !$ib_source 192.0.2.0/24" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	"virtual_mailbox_domains = lan.test" "virtual_mailbox_base = $ib_dir/lanbox" \
	"virtual_mailbox_maps = static:user/" "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534"
pfmx=$(privnet_onion pfmx)
og_check "onion-mx: the onion MX's Postfix (pfmx) starts" mail_start mx "$WAN_NS" "$ib_dir/pf-mx" 127.0.0.1 \
	"myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" "mydestination = localhost" \
	"virtual_mailbox_domains = $pfmx" "virtual_mailbox_base = $ib_dir/mxbox" \
	"virtual_mailbox_maps = static:user/" "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534"
og_check "onion-mx: the sender's Postfix starts (resolver: its gateway)" mail_start sender "$IB_SLAN_NS" \
	"$ib_dir/pf-sender" 172.16.1.1 "myhostname = mail.sender.test" "mydestination = localhost" \
	"mynetworks = 127.0.0.0/8"

# The SRV record the gateway printed goes into the test's zone.
zones_pause
zones_write "$ZONES_DIR" lan.test "@ IN MX 10 mx.lan.test.
mx IN A 198.51.100.40
$(sed -n 's/^srv _onion-mx\._tcp\.lan\.test\. /_onion-mx._tcp /p' "$ib_dir/gw/run/onion-mx.records")"
printf 'zone:\n\tname: lan.test\n\tzonefile: lan.test.zone\n' >> "$ZONES_DIR/nsd.conf"
zones_resume
og_check "onion-mx: the zone publishes the printed SRV record" test "$(ip netns exec "$IB_SGW_NS" dig +short \
	@"$WAN_DNS_ADDR" _onion-mx._tcp.lan.test SRV)" = "0 0 25 $ib_onion."

og_check "onion-mx: the sender's gateway is ready" og_wait_for 90 gw_log_has "$ib_dir/sgw" "tor ready"
og_check "onion-mx: the service's descriptors are uploaded" og_wait_for 180 ib_uploaded
echo "inbound: descriptors uploaded $(privnet_since "$ib_t0") s after the first start"
og_check "onion-mx: the LAN Postfix's banner comes through the onion" \
	og_wait_for 120 ib_banner_ok
echo "inbound: first start to the onion service reachable: $(privnet_since "$ib_t0") s"

# A mail from the sender's site to user@lan.test, found by SRV; and one the other way at once.
ib_t1=$(date +%s.%N)
og_check "onion-mx: swaks submits to the sender's Postfix for user@lan.test" ip netns exec "$IB_SLAN_NS" \
	swaks --silent 2 --server 127.0.0.1 --from bob@sender.test --to user@lan.test --header "Subject: inbound 1"
og_check "onion-mx: swaks submits to the LAN Postfix for user@<pfmx> (the other direction, at once)" \
	mail_submit "$LAN_NS" "user@$pfmx" "outbound while inbound"
og_check "onion-mx: the mail reaches the LAN mailbox" \
	mail_wait_delivered "$ib_dir/lanbox" 1 120 "$IB_SLAN_NS" "$ib_dir/pf-sender"
echo "inbound: sender -> onion MX -> LAN delivered $(privnet_since "$ib_t1") s after submission"
og_check "onion-mx: the LAN -> pfmx mail arrives meanwhile" \
	mail_wait_delivered "$ib_dir/mxbox" 1 120 "$LAN_NS" "$ib_dir/pf-lan"
echo "inbound: LAN -> onion MX delivered $(privnet_since "$ib_t1") s after submission"
og_check "onion-mx: the sender's Postfix found the onion by SRV (relay=<onion>[<pool address>]:25 sent)" \
	og_wait_for 10 grep -qE "to=<user@lan.test>, relay=$ib_onion\[10\.[0-9.]+\]:25, .*status=sent" "$ib_dir/pf-sender/maillog"
og_check "onion-mx: the LAN Postfix saw the client as onion-mx-source" \
	grep -qF "connect from unknown[$ib_source]" "$ib_mx_log"
og_check "onion-mx: never as the gateway's usual address" bash -c "! grep -qF '[$GW_LAN_ADDR]' '$ib_mx_log'"
og_check "onion-mx: the mail's Received header names the sender's Postfix at onion-mx-source" \
	grep -qF "Received: from mail.sender.test (unknown [$ib_source])" -r "$ib_dir/lanbox/user/new"

# Relay safety: a third domain through the onion is refused; from the trusted LAN it is not.
ib_relay=$(ip netns exec "$IB_SLAN_NS" swaks --server "$ib_onion" --timeout 60 --from check@oniongate.invalid \
	--to relay-test@third.test --quit-after RCPT 2>&1)
og_check "onion-mx: relaying through the onion to third.test is refused 5.7.1" \
	grep -qE '^<\*\* +554 5\.7\.1 .*Relay access denied' <<<"$ib_relay"
og_check "onion-mx: the same relay try from the gateway's usual address is accepted (the source is what decides)" \
	bash -c "ip netns exec '$GW_NS' swaks --server $LAN_ADDR --local-interface $GW_LAN_ADDR \
	--from check@oniongate.invalid --to relay-test@third.test --quit-after RCPT 2>&1 | grep -qE '^<- +250 .*Ok'"

# oniongatectl onion-mx: the onion name and the records, as the records file has them.
ib_ctl() { "$OG_TOP/ctl/oniongatectl" -s "$ib_dir/gw/run/control" "$@"; }
og_check "onion-mx: oniongatectl onion-mx prints the records file's lines" \
	diff <(ib_ctl onion-mx) "$ib_dir/gw/run/onion-mx.records"
og_check "onion-mx: oniongatectl status names the published onion (text and JSON)" \
	bash -c "'$OG_TOP/ctl/oniongatectl' -s '$ib_dir/gw/run/control' status | grep -qxF 'onion-mx: $ib_onion' &&
	'$OG_TOP/ctl/oniongatectl' -s '$ib_dir/gw/run/control' -j status | jq -e --arg o '$ib_onion' '.onion_mx == \$o' > /dev/null"
og_check "onion-mx: oniongatectl -j onion-mx has the onion, the SRV record and the map line" \
	bash -c "'$OG_TOP/ctl/oniongatectl' -s '$ib_dir/gw/run/control' -j onion-mx | jq -e --arg o '$ib_onion' \
	'.onion == \$o and .srv == [\"_onion-mx._tcp.lan.test. IN SRV 0 0 25 \" + \$o + \".\"] and
	 .map == [\"lan.test smtptor:[\" + \$o + \"]\"]' > /dev/null"

# The relay check (oniongatectl onion-mx --check): through the gateway's own Tor to its onion;
# refused now (exit 0), and reported as an open relay once the MTA trusts onion-mx-source (exit 1).
ib_check() { # RC LEVEL PATTERN: oniongatectl's exit code, its output and the log's outcome line (at LEVEL)
	local out rc
	out=$(ib_ctl onion-mx --check 2>&1)
	rc=$?
	echo "inbound: oniongatectl onion-mx --check: exit $rc: $out"
	[ "$rc" = "$1" ] && grep -q -- "$3" <<<"$out" &&
		grep 'onion-mx: relay check of .*: ' "$ib_dir/gw/oniongated.log" | tail -1 | grep -q -- "\[$2\] onion-mx: relay check of $ib_onion: .*$3"
}
ib_t3=$(date +%s.%N)
og_check "onion-mx: the relay check reports the banner and the relay refused (554 5.7.1)" \
	ib_check 0 notice "220 mail.lan.test ESMTP Postfix; relay refused: 554 5\.7\.1 "
echo "inbound: the relay check took $(privnet_since "$ib_t3") s"
# (A reload reaches smtpd processes already running only when they next exit: the check is retried
# until the new mynetworks answers.)
ib_postfix_trusts() { # NETWORKS: the LAN Postfix's mynetworks, reloaded
	ip netns exec "$LAN_NS" postconf -c "$ib_dir/pf-lan/etc" -e "mynetworks = $1" &&
		ip netns exec "$LAN_NS" postfix -c "$ib_dir/pf-lan/etc" reload 2>/dev/null
}
ib_postfix_trusts "127.0.0.0/8 192.0.2.0/24"
og_check "onion-mx: with onion-mx-source in mynetworks the relay check reports the open relay as an error" \
	og_wait_for 30 ib_check 1 err "OPEN RELAY: RCPT TO:<relay-test@relay-check.oniongate.invalid> accepted: 250 "
ib_postfix_trusts "127.0.0.0/8 !$ib_source 192.0.2.0/24"

# Bounds: with the mail server silent (its SYNs dropped), 64 connections wait at once, each up to
# 30 s, then read a 421; a 65th is closed at once.
ip netns exec "$LAN_NS" nft add table inet ib_block
ip netns exec "$LAN_NS" nft add chain inet ib_block in "{ type filter hook input priority 0; }"
ip netns exec "$LAN_NS" nft add rule inet ib_block in ip saddr "$ib_source" tcp dport 25 drop
ib_sock="$ib_dir/gw/run/onion-mx.sock"
ib_ncs=()
for ((i = 0; i < 64; i++)); do
	nc -U "$ib_sock" < /dev/null > "$ib_dir/nc.$i" 2>&1 &
	ib_ncs+=("$!")
	OG_PIDS+=("$!")
done
ib_t4=$(date +%s.%N)
sleep 2
og_check "onion-mx: a 65th connection at once is closed unanswered" \
	test "$(timeout 5 nc -U "$ib_sock" < /dev/null 2>&1 | wc -c)" = 0
og_check "onion-mx: and logged" gw_log_has "$ib_dir/gw" "onion-mx: 64 connections at once: closing a new one"
ib_ncs_done() { local p; for p in "${ib_ncs[@]}"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
og_check "onion-mx: the 64 waiting connections end within the 30 s connect bound" og_wait_for 40 ib_ncs_done
echo "inbound: 64 connections to a silent mail server ended $(privnet_since "$ib_t4") s after they began"
og_check "onion-mx: each read 421 4.4.1 (its mail defers)" \
	test "$(cat "$ib_dir"/nc.* | grep -c '^421 4\.4\.1 the mail server is unreachable, try again later')" = 64
og_check "onion-mx: the log says the mail server did not answer within 30 s" \
	gw_log_has "$ib_dir/gw" "onion-mx: connection refused: the mail server $LAN_ADDR:25 did not answer within 30 s"
ip netns exec "$LAN_NS" nft delete table inet ib_block

# A restart keeps the onion name (the keys stay in data-dir) and the service comes back; this
# time with `user nobody`: the keys are handed over with data-dir, and Tor runs as nobody.
ib_gw_stop "$ib_dir/gw"
og_check "onion-mx: the gateway stops with exit 0" test $? = 0
og_check "onion-mx: the unix socket is gone after the stop" test ! -e "$ib_dir/gw/run/onion-mx.sock"
echo "user nobody" >> "$ib_dir/gw/oniongate.conf"
ib_t2=$(date +%s.%N)
ib_gw_start "$ib_dir/gw" "$GW_NS" "$OG_TOP/build/asan/oniongated"
# The records file is rewritten once the new Tor has read the keys (the log starts empty).
og_check "onion-mx: the restarted gateway prints its onion name" \
	og_wait_for 60 gw_log_has "$ib_dir/gw" "onion-mx: [a-z2-7]*\.onion reaches the mail server"
og_check "onion-mx: after a restart (as nobody) the onion name is the same" test "$(ib_onion)" = "$ib_onion"
og_check "onion-mx: and the log names the same one" gw_log_has "$ib_dir/gw" "onion-mx: $ib_onion reaches the mail server"
og_check "onion-mx: and the key is the one made at the first start" \
	test "$(sha256sum < "$ib_dir/gw/data/onion-mx/hs_ed25519_secret_key")" = "$ib_key"
og_check "onion-mx: the key directory is nobody's now, still 0700" \
	test "$(stat -c %U:%a "$ib_dir/gw/data/onion-mx")" = nobody:700
og_check "onion-mx: the socket Tor connects to is nobody's, 0600" \
	test "$(stat -c %U:%a "$ib_dir/gw/run/onion-mx.sock")" = nobody:600
og_wait_for 180 ib_uploaded
og_check "onion-mx: after the restart the relay check reaches the service again" \
	og_wait_for 30 ib_check 0 notice "220 mail.lan.test ESMTP Postfix; relay refused: 554 5\.7\.1 "
echo "inbound: after a restart, reachable (relay check) $(privnet_since "$ib_t2") s after the restart"
# A sender whose Tor still held the old descriptor (the old introduction points) did not reach the
# restarted service within 3 minutes on this small network; a sender with a fresh Tor does.
ib_gw_stop "$ib_dir/sgw"
ib_gw_start "$ib_dir/sgw" "$IB_SGW_NS"
og_wait_for 90 gw_log_has "$ib_dir/sgw" "tor ready"
ib_t5=$(date +%s.%N)
ip netns exec "$IB_SLAN_NS" swaks --silent 2 --server 127.0.0.1 --from bob@sender.test --to user@lan.test \
	--header "Subject: inbound after restart"
og_check "onion-mx: after the restart a mail from a fresh sender reaches the LAN mailbox" \
	mail_wait_delivered "$ib_dir/lanbox" 2 120 "$IB_SLAN_NS" "$ib_dir/pf-sender"
echo "inbound: after a restart, delivered $(privnet_since "$ib_t5") s after submission"
og_check "onion-mx: no mail bounced" bash -c "! grep -q status=bounced '$ib_dir/pf-sender/maillog' '$ib_mx_log'"

mail_stop "$ib_dir/pf-sender"
mail_stop "$ib_dir/pf-lan"
mail_stop "$ib_dir/pf-mx"
og_check "onion-mx: with the mail server down a client reads 421 4.4.1 at once" \
	grep -q '^421 4\.4\.1 ' <(timeout 5 nc -U "$ib_dir/gw/run/onion-mx.sock" < /dev/null)
og_check "onion-mx: and the log says why" gw_log_has "$ib_dir/gw" \
	"onion-mx: connection refused: the mail server $LAN_ADDR:25 is unreachable (Connection refused)"
ib_gw_stop "$ib_dir/gw"
og_check "onion-mx: the receiving gateway stops with exit 0" test $? = 0
ib_gw_stop "$ib_dir/sgw"
ip -n "$GW_NS" addr del "$ib_source/24" dev "$GW_LAN_IF"
