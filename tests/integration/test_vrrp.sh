# SPDX-License-Identifier: ISC
# test_vrrp: two gateways as a keepalived VRRP pair on one LAN bridge (one virtual address for DNS
# and the pool route, the same pool-key on both); a LAN Postfix sends 100 mails to two onion MXs and
# the master dies (SIGKILL to its oniongated and keepalived, its LAN link down) mid-burst: the backup
# takes the address, every mail arrives, none bounces, a duplicate only where Postfix logged the MX's
# reply to end-of-data as lost; the DNS failover gap is measured. pool-peer: a name resolved on a is
# relayed by b without b being asked (a starts without pool-peer: 421 through b, until a reload adds it).

# LAN bridge namespace: br0 (the mail host, 192.0.2.10) with both gateways' LAN legs (lan0) on it;
# each gateway's WAN leg (wan0) goes to the private Tor network's namespace.
vr_started=$(date +%s.%N)
vr_dir="$OG_TMP/vrrp"
vr_lan_ns="$OG_RUN_ID-vlan"
declare -gA vr_ns=([a]="$OG_RUN_ID-va" [b]="$OG_RUN_ID-vb")
declare -gA vr_lan_addr=([a]=192.0.2.2 [b]=192.0.2.3) vr_wan_net=([a]=198.18.1 [b]=198.18.2) vr_prio=([a]=150 [b]=100)
declare -gA vr_gw_pid vr_ka_pid
vr_vip=192.0.2.1
vr_host=192.0.2.10
vr_key=5f3c0a9e81d27b4466e0c1a2b3d4e5f6
vr_saved_gw_ns=$GW_NS vr_saved_gw_pid=${GW_PID:-}
mkdir -p "$vr_dir/mailbox"
chown nobody "$vr_dir/mailbox"

og_netns_add "$vr_lan_ns"
ip -n "$vr_lan_ns" link add br0 type bridge
ip -n "$vr_lan_ns" addr add "$vr_host/24" dev br0
ip -n "$vr_lan_ns" link set br0 up
ip -n "$vr_lan_ns" route add default via "$vr_vip"
for vr_n in a b; do
	og_netns_add "${vr_ns[$vr_n]}"
	ip link add lan0 netns "${vr_ns[$vr_n]}" type veth peer name "$vr_n-lan" netns "$vr_lan_ns"
	ip -n "$vr_lan_ns" link set "$vr_n-lan" master br0 up
	ip -n "${vr_ns[$vr_n]}" addr add "${vr_lan_addr[$vr_n]}/24" dev lan0
	ip -n "${vr_ns[$vr_n]}" link set lan0 up
	ip link add wan0 netns "${vr_ns[$vr_n]}" type veth peer name "vrrp-$vr_n-wan" netns "$WAN_NS"
	ip -n "$WAN_NS" addr add "${vr_wan_net[$vr_n]}.1/24" dev "vrrp-$vr_n-wan"
	ip -n "$WAN_NS" link set "vrrp-$vr_n-wan" up
	ip -n "${vr_ns[$vr_n]}" addr add "${vr_wan_net[$vr_n]}.2/24" dev wan0
	ip -n "${vr_ns[$vr_n]}" link set wan0 up
	ip -n "${vr_ns[$vr_n]}" route add default via "${vr_wan_net[$vr_n]}.1"
done

# Each WAN leg's capture: no packet to a pool address, no VRRP advert (both stay on the LAN).
declare -gA vr_cap_pid
for vr_n in a b; do
	og_spawn "${vr_ns[$vr_n]}" "$vr_dir/tcpdump-$vr_n.log" tcpdump -i wan0 -n -U -Z root -w "$vr_dir/wan-$vr_n.pcap" \
		dst net 10.192.0.0/10 or ip proto 112
	vr_cap_pid[$vr_n]=$OG_SPAWNED
done

# The second onion MX: another onion service in front of the same Postfix as pfmx.
og_check "a second onion MX (vmx2) starts" privnet_start_onion vmx2=127.0.0.1:25:25
vr_mx1=$(privnet_onion pfmx) vr_mx2=$(privnet_onion vmx2)

# Each node: oniongated listening on its own LAN address and on the virtual one (IP_FREEBIND: the
# backup binds an address it does not hold yet), the same pool-key; keepalived in the foreground.
vr_keepalived_conf() {
	cat <<EOT
global_defs {
	router_id vrrp-$1
}
vrrp_instance lan {
	state BACKUP
	interface lan0
	virtual_router_id 18
	priority ${vr_prio[$1]}
	advert_int 1
	virtual_ipaddress {
		$vr_vip/24 dev lan0
	}
}
EOT
}

vr_start_node() {
	local n=$1 d="$vr_dir/gw$1"
	shift
	gw_config "$d" "dns-listen ${vr_lan_addr[$n]}" "dns-listen $vr_vip" "dns-upstream $WAN_DNS_ADDR" \
		"client-network 192.0.2.0/24" "transparent-port 9040" "lan-interface lan0" "pool-key $vr_key" \
		"trust-anchor $OG_TMP/zones/trust-anchors" "proxy-connect-timeout 20" "$@"
	GW_NS=${vr_ns[$n]}
	gw_start "$d"
	vr_gw_pid[$n]=$GW_PID
	vr_keepalived_conf "$n" > "$d/keepalived.conf"
	og_spawn "${vr_ns[$n]}" "$d/keepalived.log" keepalived -n -l -G -D -P -f "$d/keepalived.conf" \
		-p "$d/keepalived.pid" -r "$d/keepalived-vrrp.pid" -c "$d/keepalived-checkers.pid"
	vr_ka_pid[$n]=$OG_SPAWNED
}

vr_holds_vip() { ip -n "${vr_ns[$1]}" -4 addr show dev lan0 | grep -q " $vr_vip/"; }
vr_dig() { ip netns exec "$vr_lan_ns" dig +short +time=2 +tries=1 @"$1" "$2" A; }

# b tells a of its new mappings from the start; a tells b only after the reload below.
vr_start_node a
vr_start_node b "pool-peer ${vr_lan_addr[a]}"
og_check "both gateways bootstrap Tor" og_wait_for 90 \
	bash -c "grep -q 'tor ready' '$vr_dir/gwa/oniongated.log' && grep -q 'tor ready' '$vr_dir/gwb/oniongated.log'"
og_check "gateway a (priority 150) holds the virtual address" og_wait_for 20 vr_holds_vip a
og_check "gateway b stays backup without it" bash -c "! ip -n '${vr_ns[b]}' -4 addr show dev lan0 | grep -q ' $vr_vip/'"
og_check "vmx2's descriptor is uploaded" og_wait_for 120 privnet_onion_uploaded vmx2

# One Postfix behind both onion MXs.
og_check "the onion MXs' Postfix starts" mail_start vmx "$WAN_NS" "$vr_dir/pf-mx" 127.0.0.1 \
	"myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" "mydestination = localhost" \
	"virtual_mailbox_domains = $vr_mx1 $vr_mx2" "virtual_mailbox_base = $vr_dir/mailbox" \
	"virtual_mailbox_maps = static:user/" "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534"

# The same pool-key gives the same address on both. Without pool-peer on a, b relays it only once it
# has answered the name itself; with it, a name resolved on a is relayed by b at once.
vr_addr_a=$(vr_dig "${vr_lan_addr[a]}" "$vr_mx1")
og_check "gateway a gives $vr_mx1 a pool address ($vr_addr_a)" in_pool_v4 "$vr_addr_a"
vr_banner_via_b() {
	ip -n "$vr_lan_ns" route replace "$1/32" via "${vr_lan_addr[b]}"
	ip netns exec "$vr_lan_ns" timeout 40 bash -c \
		"exec 3<>/dev/tcp/$1/25 && IFS= read -r -t 35 line <&3 && printf '%s\n' \"\$line\"" | tr -d '\r'
	ip -n "$vr_lan_ns" route del "$1/32"
}
vr_banner=$(vr_banner_via_b "$vr_addr_a")
echo "vrrp: through b before b answered the name (a has no pool-peer): $vr_banner"
og_check "through b, the address a handed out without pool-peer (b has not answered the name) gets 421" \
	bash -c "[[ '$vr_banner' == 421* ]]"
og_check "gateway b gives $vr_mx1 the same address" test "$(vr_dig "${vr_lan_addr[b]}" "$vr_mx1")" = "$vr_addr_a"
vr_banner=$(vr_banner_via_b "$vr_addr_a")
echo "vrrp: through b: $vr_banner"
og_check "through b, that address reaches the onion MX (its banner)" bash -c "[[ '$vr_banner' == '220 mx.onion.test'* ]]"

# SIGUSR1 logs the counters; $2 is one "name=value" of them.
vr_counter_is() {
	kill -USR1 "${vr_gw_pid[$1]}"
	sleep 0.2
	grep -q "stats: $2\$" "$vr_dir/gw$1/oniongated.log"
}
echo "pool-peer ${vr_lan_addr[b]}" >> "$vr_dir/gwa/oniongate.conf"
kill -HUP "${vr_gw_pid[a]}"
og_check "gateway a reloads with pool-peer ${vr_lan_addr[b]}" og_wait_for 10 gw_log_has "$vr_dir/gwa" "configuration reloaded"
vr_addr2_a=$(vr_dig "${vr_lan_addr[a]}" "$vr_mx2")
og_check "gateway a gives $vr_mx2 a pool address ($vr_addr2_a)" in_pool_v4 "$vr_addr2_a"
og_check "gateway a told b of the new mapping (a: poolsync_sent=1)" og_wait_for 10 vr_counter_is a poolsync_sent=1
og_check "b mapped it from a's query and told a back: b's second new mapping (b: poolsync_sent=2)" \
	og_wait_for 10 vr_counter_is b poolsync_sent=2
og_check "b read a's replies to both (b: poolsync_replies=2)" og_wait_for 10 vr_counter_is b poolsync_replies=2
og_check "a's echo ended the exchange: a sent nothing more (a: poolsync_sent=1)" vr_counter_is a poolsync_sent=1
vr_banner=$(vr_banner_via_b "$vr_addr2_a")
echo "vrrp: through b, a name only a was asked for (pool-peer): $vr_banner"
og_check "through b, the address a handed out reaches the onion MX without b being asked (pool-peer)" \
	bash -c "[[ '$vr_banner' == '220 mx.onion.test'* ]]"
og_check "b answered no LAN query for $vr_mx2 (its only answers: $vr_mx1 to the LAN, $vr_mx2 to a)" \
	vr_counter_is b dns_onion_answers=2

# pool-peer's bounds: 400 new names asked of a at once. At most 64 queries a second go to b (so at
# most 64 per whole second the burst took, plus one), at most 256 wait, the rest are dropped and
# counted; every name is sent or dropped.
vr_counter() {
	kill -USR1 "${vr_gw_pid[$1]}"
	sleep 0.2
	grep "stats: $2=" "$vr_dir/gw$1/oniongated.log" | tail -n 1 | sed 's/.*=//'
}
"$OG_TOOLS/onionname" 400 | sed 's/$/ A/' > "$vr_dir/burst.names"
vr_t0=$(date +%s.%N)
ip netns exec "$vr_lan_ns" dig @"${vr_lan_addr[a]}" +short +time=2 +tries=1 -f "$vr_dir/burst.names" > "$vr_dir/burst.out"
vr_burst_s=$(privnet_since "$vr_t0")
vr_sent_now=$(vr_counter a poolsync_sent)
vr_all_out() { [ $(($(vr_counter a poolsync_sent) + $(vr_counter a poolsync_dropped))) = 401 ]; }
og_check "every one of the 400 new names is sent to b or dropped" og_wait_for 20 vr_all_out
vr_dropped=$(vr_counter a poolsync_dropped)
echo "vrrp: pool-peer burst: 400 names answered in $vr_burst_s s; $vr_sent_now sent by then; $vr_dropped dropped (queue of 256)"
og_check "a answered all 400" test "$(grep -c . "$vr_dir/burst.out")" = 400
og_check "the queue bound is hit: 1 to 80 of 400 dropped (64 sent at once, 256 queued)" \
	test "$vr_dropped" -ge 1 -a "$vr_dropped" -le 80
og_check "the rate bound holds: at most 64 a second while the burst ran ($vr_sent_now sent in $vr_burst_s s)" \
	awk -v n="$vr_sent_now" -v s="$vr_burst_s" 'BEGIN { exit !(n - 1 <= 64 * (int(s) + 2)) }'

# The LAN Postfix resolves through the virtual address; it holds the 100 mails (defer_transports)
# until all are queued, then sends them at once: the burst. A session that waits for a reply when
# the node dies sends nothing, so no reset from the new master ends it: Postfix's own timeouts do
# (300 s for the greeting, 600 s after end-of-data by default; 30 s here, over proxy-connect-timeout 20).
vr_timeouts=()
for vr_t in helo mail rcpt data_init data_xfer data_done; do vr_timeouts+=("smtp_${vr_t}_timeout = 30s"); done
og_check "the LAN Postfix starts (resolver: the virtual address)" mail_start vlan "$vr_lan_ns" "$vr_dir/pf-lan" \
	"$vr_vip" "myhostname = mail.lan.test" "mydestination = localhost" "mynetworks = 127.0.0.0/8 192.0.2.0/24" \
	"inet_protocols = ipv4" "minimal_backoff_time = 5s" "maximal_backoff_time = 10s" "queue_run_delay = 5s" \
	"${vr_timeouts[@]}" "defer_transports = smtp"

vr_count() { mail_count "$vr_dir/mailbox"; }
t0=$(date +%s.%N)
for ((i = 1; i <= 100; i++)); do
	if ((i % 2)); then rcpt="user@$vr_mx1"; else rcpt="user@$vr_mx2"; fi
	mail_submit "$vr_lan_ns" "$rcpt" "vrrp $i" || og_fail "swaks submits mail $i"
done
echo "vrrp: 100 mails queued in $(privnet_since "$t0") s"
og_spawn "$vr_lan_ns" "$vr_dir/dnsprobe.out" "$OG_TOOLS/dnsprobe" "$vr_vip" "$vr_mx2" 50 30
vr_probe_pid=$OG_SPAWNED
ip netns exec "$vr_lan_ns" postconf -c "$vr_dir/pf-lan/etc" -e "defer_transports ="
ip netns exec "$vr_lan_ns" postfix -c "$vr_dir/pf-lan/etc" reload 2>/dev/null
t0=$(date +%s.%N)
mail_flush "$vr_lan_ns" "$vr_dir/pf-lan"

# The master dies mid-burst: SIGKILL to keepalived (its VRRP child first: no goodbye advert) and
# oniongated, and its LAN link down (a dead node neither answers ARP nor holds the address).
og_wait_for 60 bash -c "[ \$(ls '$vr_dir/mailbox/user/new' 2>/dev/null | wc -l) -ge 10 ]"
vr_before=$(vr_count)
vr_killed_at=$(date +%s.%N)
for vr_pid in $(pgrep -P "${vr_ka_pid[a]}") "${vr_ka_pid[a]}" $(pgrep -P "${vr_gw_pid[a]}") "${vr_gw_pid[a]}"; do
	kill -KILL "$vr_pid"
done
ip -n "${vr_ns[a]}" link set lan0 down
wait "${vr_ka_pid[a]}" "${vr_gw_pid[a]}" 2>/dev/null
echo "vrrp: node a killed with $vr_before of 100 mails delivered"
og_check "the node died mid-burst (some mails were still to deliver)" test "$vr_before" -lt 100
og_check "gateway b takes the virtual address" og_wait_for 20 vr_holds_vip b
og_check "b's keepalived logs its MASTER state" grep -q "Entering MASTER STATE" "$vr_dir/gwb/keepalived.log"
wait "$vr_probe_pid"
cat "$vr_dir/dnsprobe.out"
read -r vr_gap vr_gap_to < <(awk '/^dnsprobe:/ { print $7, $11 }' "$vr_dir/dnsprobe.out")
echo "vrrp: DNS failover gap on the virtual address: ${vr_gap:-?} ms (last answer of a to first answer of b)"
og_check "the DNS on the virtual address answers again after the kill, within 10 s" \
	awk -v g="${vr_gap:-0}" -v to="${vr_gap_to:-0}" -v k="$vr_killed_at" 'BEGIN { exit !(g > 0 && g < 10000 && to > k) }'

# Done when both queues are empty (a count of files alone would count a duplicate as another mail).
vr_drained() {
	[ "$(mail_queue_count "$vr_lan_ns" "$vr_dir/pf-lan")" = 0 ] && [ "$(mail_queue_count "$WAN_NS" "$vr_dir/pf-mx")" = 0 ]
}
vr_wait_drained() {
	local t
	for ((t = 1; t <= 240; t++)); do
		vr_drained && return 0
		sleep 1
		((t % 5)) || mail_flush "$vr_lan_ns" "$vr_dir/pf-lan"
	done
	return 1
}
og_check "every mail leaves the LAN queue through gateway b" vr_wait_drained
echo "vrrp: the queues drained $(privnet_since "$t0") s after the burst began, $(privnet_since "$vr_killed_at") s after the kill"
# A duplicate can only be a mail whose end-of-data the MX took while the dead node lost its 250:
# Postfix logs each such try as "while sending end of data -- message may be sent more than once".
vr_ids=$(cat "$vr_dir"/mailbox/user/new/* | awk 'tolower($1) == "message-id:" { print $2 }' | sort)
vr_dup_ids=$(uniq -d <<< "$vr_ids")
vr_flagged_ids=$(grep 'while sending end of data -- message may be sent more than once' "$vr_dir/pf-lan/maillog" |
	grep -v 'delivery temporarily suspended' | awk '{ print $6 }' | sort -u | while read -r q; do
		grep -F " $q message-id=" "$vr_dir/pf-lan/maillog" | sed 's/.*message-id=//'
	done | sort -u)
vr_deferred=$(grep 'status=deferred' "$vr_dir/pf-lan/maillog" | grep -v 'deferred transport' | awk '{ print $6 }' | sort -u | wc -l)
vr_timed_out=$(grep -c 'status=deferred (conversation with .* timed out' "$vr_dir/pf-lan/maillog")
echo "vrrp: mailbox $(vr_count) files, $(uniq <<< "$vr_ids" | wc -l) distinct Message-IDs," \
	"$(grep -c . <<< "$vr_dup_ids") duplicated, $(grep -c . <<< "$vr_flagged_ids") flagged by Postfix as maybe sent twice," \
	"$vr_deferred deferred at least once, $vr_timed_out tries ended by Postfix's timeout"
og_check "all 100 Message-IDs are in the mailbox" test "$(uniq <<< "$vr_ids" | wc -l)" = 100
og_check "every subject 1..100 is there" \
	test "$(cat "$vr_dir"/mailbox/user/new/* | grep '^Subject: vrrp ' | sort -u | wc -l)" = 100
og_check "every duplicate is a mail Postfix logged as maybe sent more than once (lost 250)" \
	test -z "$(comm -23 <(echo "$vr_dup_ids" | grep .) <(echo "$vr_flagged_ids" | grep .))"
og_check "no mail bounced" test "$(grep -c 'status=bounced' "$vr_dir/pf-lan/maillog")" = 0

mail_stop "$vr_dir/pf-lan"
mail_stop "$vr_dir/pf-mx"
og_stop "${vr_ka_pid[b]}"
GW_PID=${vr_gw_pid[b]}
gw_stop "$vr_dir/gwb"
og_check "gateway b stops with exit 0" test $? = 0
for vr_n in a b; do
	og_stop "${vr_cap_pid[$vr_n]}"
	og_check "no pool address and no VRRP advert left gateway $vr_n's WAN leg" \
		test "$(tcpdump -r "$vr_dir/wan-$vr_n.pcap" -n 2>/dev/null | wc -l)" = 0
done
GW_NS=$vr_saved_gw_ns GW_PID=$vr_saved_gw_pid
echo "vrrp: the test took $(privnet_since "$vr_started") s"
