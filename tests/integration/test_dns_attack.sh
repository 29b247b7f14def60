# SPDX-License-Identifier: ISC
# test_dns_attack: the LAN DNS under attack (issue 11): a TCP client that pipelines queries and never
# reads (memory bounded, read from /proc), slowloris from outside and inside client-network (the LAN
# still gets TCP answers), a burst of forwarded queries (many source ports), a flood of queries the
# upstream never answers (slots per client), and an off-path spoofer who learned a source port.
# No Tor is needed: the gateway runs with socks-server and no transparent port.

att_dir="$OG_TMP/dns-attack"
SPOOF_ADDR=198.51.100.64
LAN2_ADDR=192.0.2.11
mkdir -p "$att_dir"
ip -n "$WAN_NS" addr add "$SPOOF_ADDR/24" dev "$WAN_IF"
ip -n "$LAN_NS" addr add "$LAN2_ADDR/24" dev "$LAN_IF"

# att_start UPSTREAM: a DNS-only gateway on the LAN address, relaying to UPSTREAM.
att_start() {
	cat > "$att_dir/oniongate.conf" <<EOT
run-dir $att_dir/run
data-dir $att_dir/data
log-level info
log-target stderr
socks-server $att_dir/no-tor.sock
dns-listen $GW_LAN_ADDR
dns-upstream $1
client-network 192.0.2.0/24
pool-key 00112233445566778899aabbccddeeff
srv-discovery off
EOT
	gw_start "$att_dir" && og_wait_for 20 gw_log_has "$att_dir" "dns: listening on $GW_LAN_ADDR"
}

att_dig() { ip netns exec "$LAN_NS" dig +time=3 +tries=1 @"$GW_LAN_ADDR" "$@"; }
att_stat() {
	kill -USR1 "$GW_PID"
	sleep 0.5
	sed -n "s/.*stats: $1=\\([0-9]*\\).*/\\1/p" "$att_dir/oniongated.log" | tail -1
}

og_check "attack gateway starts (DNS only)" att_start "$WAN_DNS_ADDR"
onion=$(printf '%s' "$(privnet_onion mx)")

# 1. Three LAN clients and an outsider pipeline queries for 10 s and never read a reply.
rss_before=$(gw_rss_kb)
pipe_pids=()
for src in "$LAN_ADDR" "$LAN_ADDR" "$LAN2_ADDR" "$LAN_OUTSIDER_ADDR"; do
	ip netns exec "$LAN_NS" "$OG_TOOLS/dnsattack" pipeline "$GW_LAN_ADDR" 53 10 "$onion" "$src" \
		>> "$att_dir/pipeline.out" 2>&1 &
	pipe_pids+=("$!")
	OG_PIDS+=("$!")
done
rss_peak=$rss_before
for ((i = 0; i < 24; i++)); do
	rss=$(gw_rss_kb)
	[ "${rss:-0}" -gt "$rss_peak" ] && rss_peak=$rss
	sleep 0.5
done
wait "${pipe_pids[@]}"
sed 's/^/dns-attack: /' "$att_dir/pipeline.out"
growth=$((rss_peak - rss_before))
echo "dns-attack: RSS before ${rss_before} KiB, peak ${rss_peak} KiB under 4 pipelining readers (growth ${growth} KiB)"
og_check "pipelining TCP clients that never read: RSS grows by at most 4 MiB (grew ${growth} KiB)" \
	test "$growth" -le 4096
og_check "the pipelining clients did send (over 1000 queries in all)" \
	test "$(awk '{s += $2} END {print s + 0}' "$att_dir/pipeline.out")" -gt 1000
og_check "after them the DNS answers over TCP" \
	test "$(att_dig +tcp +short www.plain.test A)" = "198.51.100.80"

# att_slowloris SRC WHO: 130 connections from SRC, one byte each every 2 s for 12 s; 3 s in, a LAN
# host asks over TCP (and must get its answer); the tool's report ends in DIR/slow-SRC.out.
att_slowloris() {
	local src=$1 who=$2 pid
	ip netns exec "$LAN_NS" "$OG_TOOLS/dnsattack" slowloris "$GW_LAN_ADDR" 53 130 2 12 "$src" \
		> "$att_dir/slow-$src.out" 2>&1 &
	pid=$!
	OG_PIDS+=("$pid")
	sleep 3
	og_check "with 130 slow connections from $who, the LAN gets TCP answers" \
		test "$(att_dig +tcp +short www.plain.test A)" = "198.51.100.80"
	wait "$pid"
	cat "$att_dir/slow-$src.out"
}

# 2. Slowloris from outside client-network: no connection is kept.
att_slowloris "$LAN_OUTSIDER_ADDR" "outside client-network"
og_check "no connection from outside client-network is kept" \
	grep -q ' 0 still open' "$att_dir/slow-$LAN_OUTSIDER_ADDR.out"
# ... and from a LAN host: it gets 8 connections, and a query that trickles in is cut off after 5 s.
att_slowloris "$LAN2_ADDR" "one LAN host"
og_check "a LAN host's trickling queries are cut off (none open after 12 s)" \
	grep -q ' 0 still open' "$att_dir/slow-$LAN2_ADDR.out"
og_check "the cut-offs are counted (dns_tcp_timeouts=$(att_stat dns_tcp_timeouts))" \
	test "$(att_stat dns_tcp_timeouts)" -ge 8

# 3. 1000 forwarded queries: each leaves from its own random source port.
og_spawn "$GW_NS" "$att_dir/tcpdump.log" tcpdump -i "$GW_WAN_IF" -n -U -Z root -w "$att_dir/ports.pcap" \
	udp and dst host "$WAN_DNS_ADDR" and dst port 53
cap_pid=$OG_SPAWNED
sleep 1
ip netns exec "$LAN_NS" "$OG_TOOLS/dnsattack" burst "$GW_LAN_ADDR" 53 1000 plain.test 32 > "$att_dir/burst.out"
sleep 1
og_stop "$cap_pid"
cat "$att_dir/burst.out"
tcpdump -r "$att_dir/ports.pcap" -n 2>/dev/null | awk '{print $3}' | sed 's/.*\.//' > "$att_dir/ports.txt"
forwarded=$(wc -l < "$att_dir/ports.txt")
ports=$(sort -u "$att_dir/ports.txt" | wc -l)
echo "dns-attack: $forwarded queries forwarded from $ports distinct source ports"
og_check "1000 forwarded queries left from at least 900 distinct source ports ($ports of $forwarded)" \
	test "$forwarded" -ge 1000 -a "$ports" -ge 900
gw_stop "$att_dir"
og_check "the attack gateway stops with exit 0" test $? = 0

# 4. An upstream that never answers: one client gets at most 128 queries in flight, then SERVFAIL.
og_spawn "$WAN_NS" "$att_dir/spoof.out" "$OG_TOOLS/dnsattack" spoof "$SPOOF_ADDR" probe.attacker.test \
	www.victim.test 6.6.6.6 60
spoof_pid=$OG_SPAWNED
og_wait_for 10 grep -qs listening "$att_dir/spoof.out"
og_check "gateway with the spoofer as its upstream starts" att_start "$SPOOF_ADDR"
ip netns exec "$LAN_NS" "$OG_TOOLS/dnsattack" burst "$GW_LAN_ADDR" 53 200 hole.test 200 > "$att_dir/flood.out"
cat "$att_dir/flood.out"
overloaded=$(att_stat dns_overloaded)
og_check "200 unanswered queries from one host: the 72 over its 128 slots get SERVFAIL at once (dns_overloaded=$overloaded)" \
	test "${overloaded:-0}" -ge 72

# 5. Off-path forgery: the spoofer learns the source port of a query for its own name, then floods
#    that port with a forged A (every ID) each time the victim name is asked.
og_check "the attacker's own name resolves through the gateway" \
	test "$(att_dig +short probe.attacker.test A)" = "192.0.2.99"
victim=$(ip netns exec "$LAN_NS" dig +time=12 +tries=1 @"$GW_LAN_ADDR" www.victim.test A)
echo "$victim" | grep -E 'status:|^www' | sed 's/^/dns-attack: /'
sleep 1
grep 'spoof:' "$att_dir/spoof.out" | tail -5
og_check "65,536 spoofed replies per try forge nothing: no 6.6.6.6" bash -c "! echo '$victim' | grep -q 6.6.6.6"
og_check "the victim query ends in SERVFAIL (the upstream never answered)" \
	bash -c "echo '$victim' | grep -q 'status: SERVFAIL'"
sprayed=$(grep -c '^spoof: victim query' "$att_dir/spoof.out")
og_check "the spoofer saw 3 tries and sprayed 65,536 replies at each (tries seen: $sprayed)" test "$sprayed" = 3
tries=$(sed -n 's/^spoof: victim query [0-9]* from port \([0-9]*\) id \([0-9]*\);.*/\1 \2/p' "$att_dir/spoof.out")
og_check "each try came from another source port with another ID" \
	test "$(echo "$tries" | awk '{print $1}' | sort -u | wc -l)" = 3 -a "$(echo "$tries" | awk '{print $2}' | sort -u | wc -l)" = 3
gw_stop "$att_dir"
og_check "the gateway stops with exit 0 after the spoofing" test $? = 0
og_stop "$spoof_pid"
ip -n "$WAN_NS" addr del "$SPOOF_ADDR/24" dev "$WAN_IF"
ip -n "$LAN_NS" addr del "$LAN2_ADDR/24" dev "$LAN_IF"
