# SPDX-License-Identifier: ISC
# test_reload: SIGHUP is all or nothing. A restart-only directive that changes refuses the whole
# reload with file:line: and the old setting stays in force; every reloadable class takes full
# effect: client-network, dns-upstream (forwarding and discovery ask the new server, a discovery
# in flight ends as SERVFAIL), srv-discovery off->on, dnssec off->require, the map file, proxy
# limits, log-level (the embedded Tor's too). The gateway is the ASan+UBSan build throughout.

rl_dir="$OG_TMP/reload"
rl_conf="$rl_dir/oniongate.conf"
rl_alt_addr=198.51.100.54
MX_ONION=$(privnet_onion mx)
MX2_ONION=$(privnet_onion mx2)
mkdir -p "$rl_dir"

# A second upstream with its own switch.test, and a SOCKS server in front of an echo (no Tor).
ip -n "$WAN_NS" addr add "$rl_alt_addr/24" dev "$WAN_IF"
zones_alt_start "$WAN_NS" "$rl_alt_addr" "$OG_TMP/zones-alt" "$MX2_ONION" ||
	og_fail "the second upstream serves switch.test"
og_spawn "$GW_NS" "$rl_dir/echod.log" "$OG_TOOLS/echod" 127.0.0.1 7789
rl_echod=$OG_SPAWNED
og_spawn "$GW_NS" "$rl_dir/socksd.log" "$OG_TOOLS/socksd" "$rl_dir/socks" 127.0.0.1 1089 127.0.0.1 7789
rl_socksd=$OG_SPAWNED
og_wait_for 5 test -S "$rl_dir/socks"

rl_upstream=$WAN_DNS_ADDR
rl_discovery=off
rl_dnssec=off
rl_level=info
rl_write() {
	local line
	{
		echo "run-dir $rl_dir/run"
		echo "data-dir $rl_dir/data"
		echo "log-level $rl_level"
		echo "log-target stderr"
		echo "socks-server $rl_dir/socks"
		echo "dns-listen $GW_LAN_ADDR"
		echo "dns-upstream $rl_upstream"
		echo "client-network 192.0.2.0/24"
		echo "pool-key 00112233445566778899aabbccddeeff"
		echo "transparent-port 9040"
		echo "lan-interface $GW_LAN_IF"
		echo "onion-map $rl_dir/onionmx.map"
		echo "trust-anchor $OG_TMP/zones/trust-anchors"
		echo "srv-discovery $rl_discovery"
		echo "dnssec $rl_dnssec"
		for line in "$@"; do echo "$line"; done
	} > "$rl_conf"
}
rl_line() { grep -n -- "^$1" "$rl_conf" | head -1 | cut -d: -f1; }

# rl_hup: SIGHUP, then the daemon's verdict on it in RL_VERDICT (only lines logged after it).
rl_hup() {
	RL_MARK=$(wc -l < "$rl_dir/oniongated.log")
	kill -HUP "$GW_PID"
	og_wait_for 10 rl_verdict
}
rl_since() { tail -n +"$((RL_MARK + 1))" "$rl_dir/oniongated.log"; }
rl_verdict() {
	RL_VERDICT=$(rl_since | grep -m1 -e 'configuration reloaded from' -e 'reload refused')
	[ -n "$RL_VERDICT" ]
}
rl_reloaded() { [[ $RL_VERDICT == *"configuration reloaded from $rl_conf (reload "* ]]; }
rl_refused() { [[ $RL_VERDICT == *"reload refused, keeping the running configuration: $1" ]]; }
rl_dig() { ip netns exec "$LAN_NS" dig +time=3 +tries=1 @"$GW_LAN_ADDR" "$@"; }
rl_status() { rl_dig "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
rl_mx() { rl_dig +short "$1" MX; }

echo "mapped.test smtptor:[$MX_ONION]" > "$rl_dir/onionmx.map"
rl_write
gw_start "$rl_dir" "$OG_TOP/build/asan/oniongated"
og_check "reload: the gateway answers DNS" og_wait_for 20 gw_log_has "$rl_dir" "dns: listening on $GW_LAN_ADDR"
rl_onion=$("$OG_TOOLS/onionname" 2 | tail -1)
rl_addr=$(rl_dig +short "$rl_onion" A)
og_check "reload: an onion gets a pool address ($rl_addr)" in_pool_v4 "$rl_addr"

# --- restart-only directives: refused whole, with file:line:, the old setting still in force
cp "$rl_conf" "$rl_dir/good.conf"
rl_write "client-network 203.0.113.0/24"
sed -i 's/^pool-key .*/pool-key ffeeddccbbaa99887766554433221100/' "$rl_conf"
rl_hup
og_check "restart-only: a new pool-key is refused with file:line: ($RL_VERDICT)" \
	rl_refused "$rl_conf:$(rl_line pool-key): pool-key changes only on restart"
og_check "restart-only: the onion keeps its address" test "$(rl_dig +short "$rl_onion" A)" = "$rl_addr"
og_check "all or nothing: the client-network given beside it was not applied (outsider REFUSED)" \
	test "$(rl_status -b "$LAN_OUTSIDER_ADDR" www.plain.test A)" = REFUSED

rl_write
sed -i "s/^dns-listen .*/dns-listen $GW_LAN_ADDR 5353/" "$rl_conf"
rl_hup
og_check "restart-only: a changed dns-listen is refused with file:line:" \
	rl_refused "$rl_conf:$(rl_line dns-listen): dns-listen changes only on restart"
og_check "restart-only: the DNS still answers on the old address" test "$(rl_dig +short www.plain.test A)" = 198.51.100.80
og_check "restart-only: nothing was bound on the new port" \
	bash -c "! ip netns exec '$GW_NS' ss -Hlun 'sport = :5353' | grep -q ."

rl_write
sed -i 's/^transparent-port .*/transparent-port 9041/' "$rl_conf"
rl_hup
og_check "restart-only: a new transparent-port is refused with file:line:" \
	rl_refused "$rl_conf:$(rl_line transparent-port): transparent-port changes only on restart"
og_check "restart-only: the relay still listens on the old port" \
	bash -c "ip netns exec '$GW_NS' ss -Hltn 'sport = :9040' | grep -q . && ! ip netns exec '$GW_NS' ss -Hltn 'sport = :9041' | grep -q ."

# Issue 11 item 6: client-network without dns-listen passed and divided by zero in the DNS.
dns_listen_line=$(rl_line dns-listen)
rl_write
sed -i -e '/^dns-listen /d' -e '/^dns-upstream /d' "$rl_conf"
rl_hup
og_check "a config with client-network but no dns-listen is refused with file:line:" \
	rl_refused "$rl_conf:$(rl_line client-network): client-network has no effect without dns-listen"
og_check "... and the DNS keeps forwarding (no division by zero)" test "$(rl_dig +short www.plain.test A)" = 198.51.100.80
rl_write
sed -i -e '/^dns-listen /d' -e '/^dns-upstream /d' -e '/^client-network /d' "$rl_conf"
rl_hup
og_check "removing dns-listen is refused, naming its line in the running file" \
	rl_refused "$rl_conf:$dns_listen_line: dns-listen changes only on restart (removed from this line of the running configuration)"
og_check "the daemon is alive after the refused reloads" kill -0 "$GW_PID"

# --- client-network
rl_write "client-network 203.0.113.0/24"
rl_hup
og_check "client-network: the reload is applied" rl_reloaded
og_check "client-network: a host of the added network is answered" \
	test "$(rl_dig -b "$LAN_OUTSIDER_ADDR" +short www.plain.test A)" = 198.51.100.80
rl_write
rl_hup
og_check "client-network: removed again, that host is REFUSED" \
	test "$(rl_status -b "$LAN_OUTSIDER_ADDR" www.plain.test A)" = REFUSED

# --- srv-discovery off -> on (it did nothing when the daemon had started with it off)
og_check "srv-discovery off: example.test's MX is the upstream's" test "$(rl_mx example.test)" = "10 mx.example.test."
rl_discovery=on
rl_write
rl_hup
og_check "srv-discovery off->on: the reload is applied" rl_reloaded
og_check "srv-discovery off->on: example.test's MX is its onion" \
	test "$(rl_mx example.test)" = "10 $(privnet_onion pfmx)."

# --- dns-upstream: forwarding and discovery both ask the new server
og_check "dns-upstream: the first upstream's switch.test (no onion MX)" test "$(rl_mx switch.test)" = "10 mx.switch.test."
og_check "dns-upstream: the first upstream's www.switch.test" test "$(rl_dig +short www.switch.test A)" = 198.51.100.90
rl_upstream=$rl_alt_addr
rl_write
rl_hup
og_check "dns-upstream: the reload is applied" rl_reloaded
og_check "dns-upstream: forwarding asks the new server" test "$(rl_dig +short www.switch.test A)" = 198.51.100.91
og_check "dns-upstream: discovery asks the new server (its switch.test has an onion MX)" \
	test "$(rl_mx switch.test)" = "10 $MX2_ONION."

# A discovery under way on the replaced context ends as SERVFAIL at once (the MTA retries).
ip netns exec "$WAN_NS" nft -f - <<EOT
table inet og_reload_drop {
	chain input { type filter hook input priority 0; ip daddr $rl_alt_addr udp dport 53 drop; ip daddr $rl_alt_addr tcp dport 53 drop; }
}
EOT
rl_t0=$(date +%s%N)
rl_dig +time=10 unsigned2.test MX > "$rl_dir/inflight.out" &
rl_inflight=$!
sleep 0.5
rl_upstream=$WAN_DNS_ADDR
rl_write
rl_hup
wait "$rl_inflight"
rl_ms=$((($(date +%s%N) - rl_t0) / 1000000))
ip netns exec "$WAN_NS" nft delete table inet og_reload_drop
echo "reload: the MX query in flight was answered after $rl_ms ms"
og_check "in flight: the discovery on the old context is ended by the reload" \
	gw_log_has "$rl_dir" "discovery: _onion-mx._tcp.unsigned2.test ended by the reload"
og_check "in flight: the waiting MX query gets SERVFAIL at once ($rl_ms ms), not after the 5 s wait" \
	bash -c "grep -q 'status: SERVFAIL' '$rl_dir/inflight.out' && [ $rl_ms -lt 4000 ]"
og_check "in flight: asked again, it is answered through the new upstream" test "$(rl_mx unsigned2.test)" = "10 $MX2_ONION."

# --- dnssec off -> require (the trust anchor was never loaded: every SRV looked unsigned)
og_check "dnssec off: an unsigned onion SRV is used" test "$(rl_mx unsigned.test)" = "10 $MX2_ONION."
rl_dnssec=require
rl_write
rl_hup
og_check "dnssec off->require: the reload is applied" rl_reloaded
og_check "dnssec require: the unsigned onion SRV is no longer used (cached answer dropped)" \
	test "$(rl_mx unsigned.test)" = "10 mx.unsigned.test."
og_check "dnssec require: a signed onion SRV is used (the trust anchor is loaded)" \
	test "$(rl_mx signed.test)" = "10 $MX_ONION."
rl_write
sed -i "s|^trust-anchor .*|trust-anchor $rl_dir/no-such.key|" "$rl_conf"
rl_hup
og_check "dnssec: a missing trust anchor refuses the reload with file:line:" \
	rl_refused "$rl_conf:$(rl_line trust-anchor): cannot read the trust anchor $rl_dir/no-such.key: No such file or directory"
og_check "dnssec: the running validation is kept" test "$(rl_mx broken.test)" = "10 mx.broken.test."
og_check "dnssec: ... and the signed domain still gets its onion" test "$(rl_mx signed.test)" = "10 $MX_ONION."

# --- the map file
rl_write
echo "mapped.test smtptor:[$MX2_ONION]" > "$rl_dir/onionmx.map"
rl_hup
og_check "onion-map: an edited map file is applied" test "$(rl_mx mapped.test)" = "0 $MX2_ONION."
echo "other.test smtptor:[$MX_ONION] 2525" >> "$rl_dir/onionmx.map"
rl_hup
og_check "onion-map: a line with a third field refuses the reload with file:line:" \
	rl_refused "$rl_dir/onionmx.map:2: more than two fields: '2525'"
og_check "onion-map: the running map stays" test "$(rl_mx mapped.test)" = "0 $MX2_ONION."
echo "mapped.test smtptor:[$MX2_ONION]" > "$rl_dir/onionmx.map"

# --- proxy limits: proxy-max-streams 1 by reload, one held stream, the next gets a 421 line
rl_echo() {
	ip netns exec "$LAN_NS" timeout 10 bash -c "exec 3<>/dev/tcp/$1/$2 && echo $3 >&3 && head -1 <&3" 2>/dev/null | tr -d '\r'
}
rl_first_line() {
	ip netns exec "$LAN_NS" timeout 10 bash -c "exec 3<>/dev/tcp/$1/$2 && head -1 <&3" 2>/dev/null | tr -d '\r'
}
rl_hold() {
	ip netns exec "$LAN_NS" timeout 20 bash -c "exec 3<>/dev/tcp/$rl_addr/7789 && echo held >&3 && head -1 <&3 && sleep 4" \
		> "$rl_dir/held.out" 2>/dev/null &
	RL_HELD=$!
	og_wait_for 5 grep -q held "$rl_dir/held.out"
}
rl_hold
og_check "proxy: with the default limit a second stream is relayed" test "$(rl_echo "$rl_addr" 25 second)" = second
wait "$RL_HELD"
rl_write "proxy-max-streams 1"
rl_hup
og_check "proxy-max-streams: the reload is applied" rl_reloaded
rl_hold
og_check "proxy-max-streams 1: the stream beyond the new bound gets a 421 line" \
	test "$(rl_first_line "$rl_addr" 25)" = "421 4.4.2 $rl_onion: too many streams through the gateway"
wait "$RL_HELD"

# --- log-level (the daemon's own lines here; the embedded Tor's below)
rl_level=debug
rl_write
rl_hup
rl_mx plain.test > /dev/null
og_check "log-level info->debug: debug lines appear" \
	og_wait_for 5 bash -c "tail -n +$((RL_MARK + 1)) '$rl_dir/oniongated.log' | grep -q 'discovery: _onion-mx._tcp.plain.test answered'"

gw_stop "$rl_dir"
og_check "reload: the gateway (ASan+UBSan build) stops with exit 0 after all the reloads" test $? = 0
og_stop "$rl_socksd"
og_stop "$rl_echod"
og_stop "$ZONES_ALT_PID"

# --- the embedded Tor: tor-option is restart-only; log-level reaches Tor through SETCONF
rl_tor_dir="$OG_TMP/reload-tor"
gw_config "$rl_tor_dir" "tor-option DisableNetwork 1"
gw_start "$rl_tor_dir" "$OG_TOP/build/asan/oniongated"
og_check "reload: a daemon with an embedded Tor (DisableNetwork 1) comes up" \
	og_wait_for 30 gw_log_has "$rl_tor_dir" "Bootstrapped 0%"
rl_dir=$rl_tor_dir
rl_conf="$rl_tor_dir/oniongate.conf"
cp "$rl_conf" "$rl_tor_dir/good.conf"
echo "tor-option SafeLogging 0" >> "$rl_conf"
rl_hup
og_check "restart-only: an added tor-option is refused with file:line:" \
	rl_refused "$rl_conf:$(wc -l < "$rl_conf"): tor-option changes only on restart"
sed 's/^log-level info$/log-level debug/' "$rl_tor_dir/good.conf" > "$rl_conf"
rl_hup
og_check "log-level debug: the reload is applied" rl_reloaded
# Tor's own lines start with the month ("Nov 27 ..."), the daemon's with the year.
og_check "log-level debug: the embedded Tor logs at info now" og_wait_for 10 bash -c \
	"tail -n +$((RL_MARK + 1)) '$rl_tor_dir/oniongated.log' | grep -Eq '^[A-Z][a-z]{2} [ 0-9][0-9] .*\[info\]'"
og_check "log-level debug: Tor accepted the new level" bash -c "! grep -q 'SETCONF Log refused' '$rl_tor_dir/oniongated.log'"
gw_stop "$rl_tor_dir"
og_check "reload: the embedded-Tor gateway stops with exit 0" test $? = 0
