# SPDX-License-Identifier: ISC
# test_wandns: the appliance's WAN DNS. dns-upstream-file names the upstream servers as
# systemd-resolved writes a DHCP lease's into /run/systemd/resolve/resolv.conf; the gateway follows
# the file with no SIGHUP: server A, then server B; an empty file: SERVFAIL for clearnet names
# while .onion still answers; its own listen address: skipped, no loop; a missing file and its
# return; a SIGHUP keeps following it. dns-listen binds with IP_FREEBIND: an address added to the
# LAN interface after the start answers. The embedded Tor takes the STATUS_GENERAL subscription,
# and a clock skew Tor finds (its state file from the future) reaches the log, the STATUS line and
# the stat. The gateways are the ASan+UBSan build.

wd_dir="$OG_TMP/wandns"
wd_file="$wd_dir/resolv.conf"
wd_b_addr=198.51.100.55
wd_late_addr=192.0.2.2
MX_ONION=$(privnet_onion mx)
mkdir -p "$wd_dir"

# Server B: dnsmasq, with its own answer for www.plain.test (A, nsd, says 198.51.100.80).
ip -n "$WAN_NS" addr add "$wd_b_addr/24" dev "$WAN_IF"
og_spawn "$WAN_NS" "$wd_dir/dnsmasq.log" dnsmasq -k --conf-file=/dev/null --bind-interfaces \
	--listen-address="$wd_b_addr" --port=53 --no-resolv --no-hosts --pid-file="$wd_dir/dnsmasq.pid" \
	--address=/plain.test/198.51.100.81
wd_dnsmasq=$OG_SPAWNED
og_wait_for 10 ip netns exec "$WAN_NS" dig +short +time=1 +tries=1 @"$wd_b_addr" www.plain.test A >/dev/null ||
	og_fail "server B (dnsmasq) answers"

# As systemd-resolved writes it: a comment, then the lease's servers; renamed into place.
wd_write() {
	{
		echo "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8)."
		for a in "$@"; do echo "nameserver $a"; done
		echo "search lan.example"
	} > "$wd_file.new"
	mv "$wd_file.new" "$wd_file"
}
wd_write "$WAN_DNS_ADDR"
gw_config "$wd_dir" \
	"dns-listen $GW_LAN_ADDR" \
	"dns-listen $wd_late_addr" \
	"dns-upstream-file $wd_file" \
	"client-network 192.0.2.0/24" \
	"pool-key 00112233445566778899aabbccddeeff" \
	"srv-discovery off"
gw_start "$wd_dir" "$OG_TOP/build/asan/oniongated"
og_check "the gateway starts with the dns-upstream-file naming server A" \
	og_wait_for 40 gw_log_has "$wd_dir" "dns-upstream-file $wd_file: 1 upstream server: $WAN_DNS_ADDR"
og_check "dns-listen $wd_late_addr is bound though no interface has it (IP_FREEBIND)" \
	og_wait_for 10 gw_log_has "$wd_dir" "dns: listening on $wd_late_addr port 53"

wd_dig() { ip netns exec "$LAN_NS" dig +time=2 +tries=1 @"${WD_AT:-$GW_LAN_ADDR}" "$@"; }
wd_a() { wd_dig +short www.plain.test A; }
wd_status() { wd_dig "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
wd_answer_is() { [ "$(wd_a)" = "$1" ]; }
wd_stat() {
	local mark
	mark=$(wc -l < "$wd_dir/oniongated.log")
	kill -USR1 "$GW_PID"
	og_wait_for 5 bash -c "tail -n +$((mark + 1)) '$wd_dir/oniongated.log' | grep -q 'stats: $1='" || return 1
	tail -n +$((mark + 1)) "$wd_dir/oniongated.log" | sed -n "s/.*stats: $1=\(-*[0-9]*\).*/\1/p" | tail -1
}

og_check "a clearnet name is answered by server A (198.51.100.80)" wd_answer_is 198.51.100.80
og_check "upstream_servers=1" test "$(wd_stat upstream_servers)" = 1

wd_write "$wd_b_addr"
wd_t0=$(date +%s.%N)
og_check "the file names server B: within 10 s, no SIGHUP, the answer is B's (198.51.100.81)" \
	og_wait_for 10 wd_answer_is 198.51.100.81
echo "wandns: server B answered $(echo "$(date +%s.%N) - $wd_t0" | bc) s after the file changed"
og_check "the change is logged once, with B" \
	test "$(grep -c "dns-upstream-file $wd_file: 1 upstream server: $wd_b_addr" "$wd_dir/oniongated.log")" = 1

# Both servers, A first: A answers again; then B alone, written in place (same inode, new size).
wd_write "$WAN_DNS_ADDR" "$wd_b_addr"
og_check "two servers: the first (A) answers" og_wait_for 10 wd_answer_is 198.51.100.80
og_check "upstream_servers=2" test "$(wd_stat upstream_servers)" = 2
printf 'nameserver %s\n' "$wd_b_addr" > "$wd_file"
og_check "rewritten in place: B answers" og_wait_for 10 wd_answer_is 198.51.100.81

: > "$wd_file"
og_check "an empty file is logged: no usable server" \
	og_wait_for 10 gw_log_has "$wd_dir" "dns-upstream-file $wd_file: names no usable server"
wd_noup_before=$(wd_stat dns_no_upstream)
og_check "empty file: a clearnet name gets SERVFAIL" test "$(wd_status www.plain.test A)" = SERVFAIL
og_check "empty file: the SERVFAIL is counted (dns_no_upstream)" \
	test "$(wd_stat dns_no_upstream)" -gt "${wd_noup_before:-0}"
wd_onion=$(wd_dig +short "$MX_ONION" A)
og_check "empty file: an onion name still gets a pool address ($wd_onion)" in_pool_v4 "$wd_onion"

# The gateway's own listen address: skipped with a log line; the query is not sent to itself.
wd_write "$GW_LAN_ADDR"
og_check "the gateway's own address in the file is skipped with a log line" \
	og_wait_for 10 gw_log_has "$wd_dir" "$wd_file:2: nameserver $GW_LAN_ADDR skipped: it is oniongated's own dns-listen address"
wd_q_before=$(wd_stat dns_queries)
og_check "own address only: a clearnet name gets SERVFAIL" test "$(wd_status www.plain.test A)" = SERVFAIL
og_check "own address only: one query came in, none looped back" test "$(wd_stat dns_queries)" = $((wd_q_before + 1))

rm -f "$wd_file"
og_check "a missing file is logged" og_wait_for 10 gw_log_has "$wd_dir" "$wd_file: No such file or directory: no upstream server"
og_check "missing file: a clearnet name gets SERVFAIL" test "$(wd_status www.plain.test A)" = SERVFAIL
wd_write "$wd_b_addr"
og_check "the file is back: B answers" og_wait_for 10 wd_answer_is 198.51.100.81

# The bound: a file over 64 KiB is not read, whatever it names.
{ head -c 66000 /dev/zero | tr '\0' '#'; printf '\nnameserver %s\n' "$wd_b_addr"; } > "$wd_file.new"
mv "$wd_file.new" "$wd_file"
og_check "a file over 64 KiB is refused with a log line" \
	og_wait_for 10 gw_log_has "$wd_dir" "$wd_file: larger than 64 KiB: no upstream server"
og_check "over 64 KiB: a clearnet name gets SERVFAIL" test "$(wd_status www.plain.test A)" = SERVFAIL
wd_write "$wd_b_addr"
og_check "back under the bound: B answers" og_wait_for 10 wd_answer_is 198.51.100.81

kill -HUP "$GW_PID"
og_check "SIGHUP: the reload is applied" og_wait_for 10 gw_log_has "$wd_dir" "configuration reloaded from"
og_check "after SIGHUP the same file is still in force: B answers" wd_answer_is 198.51.100.81
wd_write "$WAN_DNS_ADDR"
og_check "after SIGHUP the file is still followed: A answers" og_wait_for 10 wd_answer_is 198.51.100.80
og_check "the file was re-read for each change (upstream_file_reads >= 10)" test "$(wd_stat upstream_file_reads)" -ge 10

# IP_FREEBIND: the address comes after the daemon bound it, as networkd's LAN address at boot.
og_check "before the address exists, nothing answers at $wd_late_addr" \
	bash -c "! ip netns exec '$LAN_NS' dig +time=1 +tries=1 @$wd_late_addr www.plain.test A >/dev/null"
ip -n "$GW_NS" addr add "$wd_late_addr/24" dev "$GW_LAN_IF"
WD_AT=$wd_late_addr
og_check "the address added later answers over UDP (IP_FREEBIND)" og_wait_for 5 wd_answer_is 198.51.100.80
og_check "and over TCP" test "$(wd_dig +tcp +short www.plain.test A)" = 198.51.100.80
unset WD_AT
ip -n "$GW_NS" addr del "$wd_late_addr/24" dev "$GW_LAN_IF"

og_check "the embedded Tor accepted SETEVENTS STATUS_CLIENT STATUS_GENERAL" bash -c "! grep -q 'SETEVENTS:' '$wd_dir/oniongated.log'"
og_check "no clock skew reported by the private network (tor_clock_skew_seconds=0)" test "$(wd_stat tor_clock_skew_seconds)" = 0
gw_stop "$wd_dir"
og_check "wandns: the gateway (ASan+UBSan) stops with exit 0" test $? = 0
og_stop "$wd_dnsmasq"
ip -n "$WAN_NS" addr del "$wd_b_addr/24" dev "$WAN_IF"

# Clock skew: Tor's state file was last written two hours from now, as on a board whose clock came
# up behind the time it last ran; Tor finds it at start, before SETEVENTS, and the daemon reads it
# from the bootstrap phase. No network (DisableNetwork 1): Tor stays unbootstrapped, the skew stays.
wd_skew_dir="$wd_dir/skew"
mkdir -p "$wd_skew_dir/data/tor"
chmod 700 "$wd_skew_dir/data" "$wd_skew_dir/data/tor"
printf '# Tor state file\nLastWritten %s\n' "$(date -u -d '+2 hours' '+%Y-%m-%d %H:%M:%S')" > "$wd_skew_dir/data/tor/state"
gw_config "$wd_skew_dir" "tor-option DisableNetwork 1"
og_spawn "$GW_NS" "$wd_skew_dir/notify.log" "$OG_TOOLS/notifyd" "$wd_skew_dir/notify"
wd_notifyd=$OG_SPAWNED
og_wait_for 5 test -S "$wd_skew_dir/notify"
gw_start "$wd_skew_dir" "$OG_TOP/build/asan/oniongated" env NOTIFY_SOCKET="$wd_skew_dir/notify"
og_check "clock skew: the daemon logs Tor's skew of about -7200 s from its state file" og_wait_for 40 bash -c \
	"grep -Eq 'tor: clock skew -7[12][0-9]{2} s \(source $wd_skew_dir/data/tor/state\): check the time' '$wd_skew_dir/oniongated.log'"
og_check "clock skew: the STATUS line says so" og_wait_for 10 bash -c \
	"grep -Eq 'STATUS=tor: clock skew -7[12][0-9]{2} s \(source $wd_skew_dir/data/tor/state\): check the time' '$wd_skew_dir/notify.log'"
wd_dir=$wd_skew_dir
wd_skew=$(wd_stat tor_clock_skew_seconds)
echo "wandns: tor_clock_skew_seconds=$wd_skew"
og_check "clock skew: the stat holds it (tor_clock_skew_seconds=$wd_skew)" test "${wd_skew:-0}" -le -7100 -a "${wd_skew:-0}" -ge -7300
og_check "clock skew: no status line was malformed (tor_status_malformed=0)" test "$(wd_stat tor_status_malformed)" = 0
gw_stop "$wd_skew_dir"
og_check "clock skew: the gateway (ASan+UBSan) stops with exit 0" test $? = 0
og_stop "$wd_notifyd"
