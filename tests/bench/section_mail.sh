# SPDX-License-Identifier: ISC
# section_mail.sh: one sender Postfix (Debian's, default process and concurrency settings)
# delivering to onion MXs two ways: (a) the onionmx recipe as its docs give it (smtptor transport
# whose smtp is wrapped in `torsocks -i`, smtp_dns_support_level=disabled, smtp_tls_security_level=none,
# a tor_transport map, a standalone tor), (b) unmodified, behind oniongated with the same map.
# Loads: a burst of MAILS to one onion MX (after one priming mail), and a cold start (fresh client
# Tor, fresh Postfix) of MAILS spread over NMX onion MXs. A load ends when every mail is delivered
# or after LOAD_TIMEOUT s; mails not delivered by then count as slower than that. Connect-to-banner comes from a capture on
# the sender's side: its SYN to the first "220 " byte that reaches it.

mkdir -p "$OG_TMP/mailbox"
chown nobody "$OG_TMP/mailbox"
domains=()
for ((i = 0; i < NMX; i++)); do
	domains+=("d$i.test")
	echo "d$i.test smtptor:[$(privnet_onion "mx$i")]"
done > "$OG_TMP/tor_transport"
mail_start mx "$WAN_NS" "$OG_TMP/pf-mx" 127.0.0.1 "myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" \
	"mydestination = localhost" "virtual_mailbox_domains = ${domains[*]}" \
	"virtual_mailbox_base = $OG_TMP/mailbox" "virtual_mailbox_maps = static:user/" \
	"virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534" || exit 1

SENDER_CF=("myhostname = mail.lan.test" "mydestination = localhost" "mynetworks = 127.0.0.0/8" "inet_protocols = ipv4")

# The recipe host: the smtp_tor wrapper in a daemon_directory of the instance's own (links to
# Debian's daemons beside it), torsocks.conf with AllowInbound 1, the map hashed with postmap.
rcp_dir="$OG_TMP/pf-rcp"
mkdir -p "$rcp_dir/etc" "$rcp_dir/libexec"
cp -a /usr/lib/postfix/sbin/. "$rcp_dir/libexec/"
# write_smtp_tor [exec]: the recipe's wrapper word for word; "exec" gives the variant whose shell
# hands its PID to smtp (the recipe's shell stays the parent, so master hears from a PID it never started).
write_smtp_tor() {
	cat > "$rcp_dir/libexec/smtp_tor" <<EOT
#!/bin/sh
# The onionmx recipe's smtp_tor; TORSOCKS_CONF_FILE only because /etc/tor/torsocks.conf is not ours.
TORSOCKS_CONF_FILE=$rcp_dir/torsocks.conf
export TORSOCKS_CONF_FILE
${1:+$1 }/usr/bin/torsocks -i /usr/lib/postfix/sbin/smtp \$@
EOT
	chmod 755 "$rcp_dir/libexec/smtp_tor"
}
printf '%s\n' "TorAddress 127.0.0.1" "TorPort 9050" "OnionAddrRange 127.42.42.0/24" "AllowInbound 1" \
	> "$rcp_dir/torsocks.conf"
cp "$OG_TMP/tor_transport" "$rcp_dir/etc/tor_transport"
echo "compatibility_level = 3.6" > "$rcp_dir/etc/main.cf"
postmap -c "$rcp_dir/etc" "hash:$rcp_dir/etc/tor_transport" || { echo "postmap failed"; exit 1; }
RECIPE_MASTER=$'smtptor    unix  -       -       n       -       -      smtp_tor\n    -o smtp_dns_support_level=disabled -o smtp_tls_security_level=none'

og_dir="$OG_TMP/mail-og"
lan_dir="$OG_TMP/pf-lan"

start_client() {
	if [ "$1" != oniongate ]; then
		local d
		d=$(bench_tor_dir rcp-tor "SocksPort 127.0.0.1:9050")
		bench_tor_start "$RCP_NS" "$d" || { echo "recipe tor did not bootstrap"; exit 1; }
		CLIENT_PID=$BENCH_TOR_PID
	else
		rm -rf "$og_dir"
		gw_config "$og_dir" "dns-listen 192.0.2.1" "dns-upstream 198.51.100.53" "client-network 192.0.2.0/24" \
			"transparent-port 9040" "lan-interface $GW_LAN_IF" "onion-map $OG_TMP/tor_transport" \
			"trust-anchor $OG_TMP/zones/trust-anchors"
		sed -i 's/^log-level info/log-level notice/' "$og_dir/oniongate.conf"
		gw_start "$og_dir" || exit 1
		og_wait_for 120 gw_log_has "$og_dir" "tor ready" || { echo "oniongated did not bootstrap"; exit 1; }
		CLIENT_PID=$GW_PID
	fi
}

stop_client() {
	if [ "$1" != oniongate ]; then og_stop "$CLIENT_PID"; else GW_PID=$CLIENT_PID gw_stop "$og_dir"; fi
}

# start_sender METHOD: a fresh sender Postfix with an empty queue.
start_sender() {
	if [ "$1" != oniongate ]; then
		if [ "$1" = recipe-exec ]; then write_smtp_tor exec; else write_smtp_tor; fi
		[ -f "$rcp_dir/spool/pid/master.pid" ] && postsuper -c "$rcp_dir/etc" -d ALL >/dev/null 2>&1
		MAIL_MASTER_APPEND=$RECIPE_MASTER mail_start rcp "$RCP_NS" "$rcp_dir" 198.51.100.53 "${SENDER_CF[@]}" \
			"transport_maps = hash:$rcp_dir/etc/tor_transport" "daemon_directory = $rcp_dir/libexec" || exit 1
		SENDER_NS=$RCP_NS SENDER_DIR=$rcp_dir CAP_IF=lo CAP_PORT=9050
	else
		[ -d "$lan_dir/spool" ] && postsuper -c "$lan_dir/etc" -d ALL >/dev/null 2>&1
		mail_start lan "$LAN_NS" "$lan_dir" 192.0.2.1 "${SENDER_CF[@]}" || exit 1
		SENDER_NS=$LAN_NS SENDER_DIR=$lan_dir CAP_IF=$LAN_IF CAP_PORT=25
	fi
}

sent_since() { tail -n +$(($1 + 1)) "$SENDER_DIR/maillog" | grep -c 'status=sent'; }
all_sent() { [ "$(sent_since "$1")" -ge "$2" ]; }

# submit N DOMAIN...: N mails to user@ each domain in turn, one smtp-source per domain, at once.
submit() {
	local n=$1 d pids=()
	shift
	for d in "$@"; do
		ip netns exec "$SENDER_NS" smtp-source -m "$n" -s 1 -l 1024 -f alice@lan.test -t "user@$d" 127.0.0.1:25 &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# load METHOD LOAD PER DOMAIN...: submits PER mails to each domain, waits for every status=sent
# (LOAD_TIMEOUT at most), and writes the figures to $OG_TMP/fig-METHOD-LOAD.
load() {
	local method=$1 name=$2 per=$3 before t0 elapsed total sent pcap="$OG_TMP/cap-$1-$2.pcap" cap
	shift 3
	total=$((per * $#))
	before=$(wc -l < "$SENDER_DIR/maillog")
	og_spawn "$SENDER_NS" "$pcap.log" tcpdump -i "$CAP_IF" -n -U -Z root -w "$pcap" tcp port "$CAP_PORT"
	cap=$OG_SPAWNED
	og_wait_for 5 grep -q 'listening on' "$pcap.log"
	t0=$(bench_now)
	submit "$per" "$@"
	og_wait_for "$LOAD_TIMEOUT" all_sent "$before" "$total"
	elapsed=$(bench_since "$t0")
	sleep 0.5
	og_stop "$cap"
	tail -n +$((before + 1)) "$SENDER_DIR/maillog" > "$OG_TMP/log-$method-$name"
	grep 'status=sent' "$OG_TMP/log-$method-$name" > "$OG_TMP/sent-$method-$name"
	sent=$(wc -l < "$OG_TMP/sent-$method-$name")
	sed -n 's/.* delay=\([0-9.]*\),.*/\1/p' "$OG_TMP/sent-$method-$name" > "$OG_TMP/delays-$method-$name"
	connect_to_banner "$pcap" "$CAP_PORT" > "$OG_TMP/banner-$method-$name"
	bench_raw mail "$method" "$name submit_to_delivered_s" $(cat "$OG_TMP/delays-$method-$name")
	bench_raw mail "$method" "$name connect_to_banner_ms" $(cat "$OG_TMP/banner-$method-$name")
	{
		echo "sent=$sent"
		echo "total=$total"
		echo "elapsed=$elapsed"
		echo "deferred=$(grep -c 'status=deferred' "$OG_TMP/log-$method-$name")"
		echo "bounced=$(grep -c 'status=bounced' "$OG_TMP/log-$method-$name")"
		echo "mps=$(awk -v n="$sent" -v t="$elapsed" 'BEGIN { printf "%.2f", n / t }')"
		echo "d50=$(bench_pct_of 50 "$total" "$elapsed" < "$OG_TMP/delays-$method-$name")"
		echo "d95=$(bench_pct_of 95 "$total" "$elapsed" < "$OG_TMP/delays-$method-$name")"
		echo "c50=$(bench_pct 50 < "$OG_TMP/banner-$method-$name")"
		echo "c95=$(bench_pct 95 < "$OG_TMP/banner-$method-$name")"
		echo "connections=$(wc -l < "$OG_TMP/banner-$method-$name")"
		echo "smtp_processes=$(sed -n 's/.*\/smtp\[\([0-9]*\)\].*/\1/p' "$OG_TMP/sent-$method-$name" | sort -u | wc -l)"
	} > "$OG_TMP/fig-$method-$name"
	bench_raw mail "$method" "$name summary" "$(paste -sd ' ' "$OG_TMP/fig-$method-$name")"
	og_log "bench: mail $method $name: $(paste -sd ' ' "$OG_TMP/fig-$method-$name")"
}

burst_domains=()
for ((i = 0; i < NMX; i++)); do burst_domains+=(d0.test); done
per=$((MAILS / NMX))
for method in $MAIL_METHODS; do
	start_client "$method"
	start_sender "$method"
	before=$(wc -l < "$SENDER_DIR/maillog")
	submit 1 d0.test
	og_wait_for "$LOAD_TIMEOUT" all_sent "$before" 1 || og_log "bench: $method: the priming mail was not delivered"
	load "$method" burst "$per" "${burst_domains[@]}"
	mail_stop "$SENDER_DIR"
	stop_client "$method"
	start_client "$method"
	start_sender "$method"
	load "$method" cold "$per" "${domains[@]}"
	mail_stop "$SENDER_DIR"
	stop_client "$method"
done

fig() { sed -n "s/^$3=//p" "$OG_TMP/fig-$1-$2"; }
torsocks_ver=$(bench_version torsocks)
for peer_method in $MAIL_METHODS; do
	[ "$peer_method" != oniongate ] || continue
	peer="onionmx recipe (torsocks $torsocks_ver -i, tor)"
	[ "$peer_method" = recipe ] || peer="recipe + exec in smtp_tor"
	for name in burst cold; do
		if [ "$name" = burst ]; then what="burst of $((per * NMX)) to 1 onion MX"; else what="cold start, $((per * NMX)) over $NMX onion MXs"; fi
		what="[$BENCH_DELAY ms/hop] $what"
		note="sent $(fig oniongate $name sent)/$(fig oniongate $name total) vs $(fig $peer_method $name sent)/$(fig $peer_method $name total); deferred $(fig oniongate $name deferred) vs $(fig $peer_method $name deferred); smtp processes $(fig oniongate $name smtp_processes) vs $(fig $peer_method $name smtp_processes)"
		bench_row mail "$what: mails/s" mails/s higher "$(fig oniongate $name mps)" "$peer" "$(fig $peer_method $name mps)" "$note"
		bench_row mail "$what: submit-to-delivered median" s lower "$(fig oniongate $name d50)" "$peer" "$(fig $peer_method $name d50)"
		bench_row mail "$what: submit-to-delivered p95" s lower "$(fig oniongate $name d95)" "$peer" "$(fig $peer_method $name d95)"
		bench_row mail "$what: connect-to-banner median" ms lower "$(fig oniongate $name c50)" "$peer" "$(fig $peer_method $name c50)" \
			"connections: $(fig oniongate $name connections) vs $(fig $peer_method $name connections)"
		bench_row mail "$what: connect-to-banner p95" ms lower "$(fig oniongate $name c95)" "$peer" "$(fig $peer_method $name c95)"
	done
done
mail_stop "$OG_TMP/pf-mx"
