# SPDX-License-Identifier: ISC
# section_mail.sh: one sender Postfix (Debian's, default process and concurrency settings)
# delivering to onion MXs two ways: (a) the onionmx recipe as its docs give it (smtptor transport
# whose smtp is wrapped in `torsocks -i`, smtp_dns_support_level=disabled, smtp_tls_security_level=none,
# a tor_transport map, a standalone tor), (b) unmodified, behind oniongated with the same map.
# Loads: a burst of MAILS to one onion MX (after one priming mail), and a cold start (fresh client
# Tor, fresh Postfix) of MAILS spread over NMX onion MXs. A load ends when every mail is delivered
# or after LOAD_TIMEOUT s; mails not delivered by then count as slower than that. Connect-to-banner comes from a capture on
# the sender's side: its SYN to the first "220 " byte that reaches it.
# Two variants: "plain" (no TLS on either side) and "starttls": the onion MX offers STARTTLS with a
# self-signed RSA 2048 certificate made here, and both senders get the TLS lines Debian's postinst
# writes for an "Internet site" (main.cf.tls: smtp_tls_security_level = may, the btree session
# cache); the recipe keeps its transport's smtp_tls_security_level=none; recipe-exec runs plain only.
# MAIL_VARIANTS (default "plain starttls") may add, oniongate only: "tlsreuse" (STARTTLS with
# smtp_tls_connection_reuse = yes and tlsproxy on in master.cf, as an admin may set it) and
# "tlsnocache" (STARTTLS without the TLS session cache: what the cache saves).
# CPU per mail of a burst: the client Tor's (oniongated, or the recipe's tor) utime+stime from
# /proc, and the sender Postfix's cgroup v2 usage_usec (each sender runs in a cgroup of its own, so
# its short-lived smtp, sh and torsocks processes are counted).

mkdir -p "$OG_TMP/mailbox"
chown nobody "$OG_TMP/mailbox"
domains=()
for ((i = 0; i < NMX; i++)); do
	domains+=("d$i.test")
	echo "d$i.test smtptor:[$(privnet_onion "mx$i")]"
done > "$OG_TMP/tor_transport"

# Self-signed RSA 2048 certificates, as make-ssl-cert makes Debian's snakeoil (most onion MX hosts
# present a self-signed one): the onion MX's, and the sender's own for its smtpd lines.
tls_dir="$OG_TMP/tls"
mkdir -p "$tls_dir"
for cn in mx.onion.test mail.lan.test; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$cn" \
		-keyout "$tls_dir/$cn.key" -out "$tls_dir/$cn.pem" 2>/dev/null || { echo "openssl req failed"; exit 1; }
done

# debian_tls_lines CN: the TLS lines Debian's postinst appends to a new main.cf (main.cf.tls),
# with the snakeoil certificate replaced by CN's.
debian_tls_lines() {
	sed -n -e "s|/etc/ssl/certs/ssl-cert-snakeoil.pem|$tls_dir/$1.pem|" \
		-e "s|/etc/ssl/private/ssl-cert-snakeoil.key|$tls_dir/$1.key|" -e '/^[a-z]/p' /usr/share/postfix/main.cf.tls
}
[ "$(debian_tls_lines mx.onion.test | grep -c 'smtp_tls_security_level *= *may\|smtpd_tls_cert_file')" = 2 ] ||
	{ echo "/usr/share/postfix/main.cf.tls has not the lines expected"; exit 1; }

# start_mx VARIANT: the onion MX, offering STARTTLS in the starttls variant.
start_mx() {
	local tls=()
	[ -f "$OG_TMP/pf-mx/harness.pid" ] && mail_stop "$OG_TMP/pf-mx"
	[ "$1" = plain ] || mapfile -t tls < <(debian_tls_lines mx.onion.test)
	mail_start mx "$WAN_NS" "$OG_TMP/pf-mx" 127.0.0.1 "myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" \
		"mydestination = localhost" "virtual_mailbox_domains = ${domains[*]}" \
		"virtual_mailbox_base = $OG_TMP/mailbox" "virtual_mailbox_maps = static:user/" \
		"virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534" "${tls[@]}" || exit 1
}

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

# Each sender Postfix runs in a cgroup v2 of its own: the shell joins it while it starts the
# master (whose children inherit it), then goes back.
cg_root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$cg_root" ] || { echo "no cgroup v2 mounted"; exit 1; }
cg_sender="$cg_root/$OG_RUN_ID-mail-sender"
cg_home="$cg_root$(sed -n 's/^0:://p' /proc/self/cgroup)"
mkdir -p "$cg_sender"
[ -f "$cg_sender/cpu.stat" ] || { echo "$cg_sender has no cpu.stat"; exit 1; }
# cgroup_remove: the sender stopped and its cgroup removed, also when the section exits early.
cgroup_remove() {
	[ -d "$cg_sender" ] || return 0
	echo "$BASHPID" > "$cg_home/cgroup.procs"
	[ -z "${SENDER_DIR:-}" ] || mail_stop "$SENDER_DIR"
	og_wait_for 10 rmdir "$cg_sender" 2>/dev/null || og_log "bench: $cg_sender not removed"
}
trap 'rc=$?; cgroup_remove; (exit $rc); og_cleanup' EXIT

# cpu_ms_of_pid PID, cpu_ms_of_sender: CPU time used so far, in ms.
cpu_ms_of_pid() {
	sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($12 + $13) * 1000 / hz }'
}
cpu_ms_of_sender() { awk '$1 == "usage_usec" { printf "%.0f\n", $2 / 1000 }' "$cg_sender/cpu.stat"; }

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

# start_sender METHOD VARIANT: a fresh sender Postfix with an empty queue, in the sender cgroup;
# in the TLS variants with Debian's TLS lines (and smtp_tls_loglevel = 1: one line per session).
start_sender() {
	local cf=("${SENDER_CF[@]}") master=
	[ "$2" = plain ] || mapfile -t -O ${#cf[@]} cf < <(debian_tls_lines mail.lan.test; echo "smtp_tls_loglevel = 1")
	[ "$2" != tlsreuse ] || { cf+=("smtp_tls_connection_reuse = yes"); master="tlsproxy  unix  -       -       y       -       0       tlsproxy"; }
	[ "$2" != tlsnocache ] || cf+=("smtp_tls_session_cache_database =")
	echo "$BASHPID" > "$cg_sender/cgroup.procs"
	if [ "$1" != oniongate ]; then
		if [ "$1" = recipe-exec ]; then write_smtp_tor exec; else write_smtp_tor; fi
		[ -f "$rcp_dir/spool/pid/master.pid" ] && postsuper -c "$rcp_dir/etc" -d ALL >/dev/null 2>&1
		MAIL_MASTER_APPEND=$RECIPE_MASTER mail_start rcp "$RCP_NS" "$rcp_dir" 198.51.100.53 "${cf[@]}" \
			"transport_maps = hash:$rcp_dir/etc/tor_transport" "daemon_directory = $rcp_dir/libexec" || exit 1
		SENDER_NS=$RCP_NS SENDER_DIR=$rcp_dir CAP_IF=lo CAP_PORT=9050
	else
		[ -d "$lan_dir/spool" ] && postsuper -c "$lan_dir/etc" -d ALL >/dev/null 2>&1
		MAIL_MASTER_APPEND=$master mail_start lan "$LAN_NS" "$lan_dir" 192.0.2.1 "${cf[@]}" || exit 1
		SENDER_NS=$LAN_NS SENDER_DIR=$lan_dir CAP_IF=$LAN_IF CAP_PORT=25
	fi
	echo "$BASHPID" > "$cg_home/cgroup.procs"
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

# sessions PCAP PORT: per SMTP session of the sender, from the banner on: "B2M RTTS HS_MS HS_BYTES".
# A turn is the sender's data after the server's; the turn carrying the message (its first with
# 1024 bytes or more: smtp-source sends 1 KiB) follows the one with MAIL FROM (pipelined with RCPT
# and DATA): B2M is the banner to the first MAIL FROM byte in ms, RTTS the round trips between (1
# plain: EHLO; 4 with STARTTLS and TLS 1.3: EHLO, STARTTLS, handshake, EHLO again). HS_MS and
# HS_BYTES: the server's answer to the sender's third turn (with STARTTLS its ClientHello): from
# that turn to the next, and the bytes (a resumed session's answer carries no certificate).
sessions() {
	tcpdump -r "$1" -tt -nn -A "tcp port $2" 2>/dev/null | awk -v port="$2" '
		function flush() {
			if (cur == "") return
			if (from_server && banner[cur] == "" && (cur in syn) && index(buf, "220 ")) {
				banner[cur] = t; turns[cur] = 0; last[cur] = "server"; buf = ""; return
			}
			if (banner[cur] == "" || done[cur] || len == 0) { buf = ""; return }
			if (from_server) {
				if (turns[cur] == 3) hsb[cur] += len
				last[cur] = "server"
			} else {
				if (last[cur] == "server") {
					at[cur, ++turns[cur]] = t; bytes[cur] = 0; last[cur] = "client"
				}
				bytes[cur] += len
				if (bytes[cur] >= 1024 && turns[cur] >= 2) {
					m = turns[cur] - 1
					printf "%.1f %d %.1f %d\n", (at[cur, m] - banner[cur]) * 1000, m - 1,
						(m >= 4 ? (at[cur, 4] - at[cur, 3]) * 1000 : 0), hsb[cur]
					done[cur] = 1
				}
			}
			buf = ""
		}
		/^[0-9]+\.[0-9]+ IP / {
			flush()
			t = $1; src = $3; dst = $5; sub(/:$/, "", dst)
			from_server = src ~ ("\\." port "$")
			cur = from_server ? dst : src
			len = 0; if (match($0, /length [0-9]+/)) len = substr($0, RSTART + 7, RLENGTH - 7) + 0
			if ($0 ~ /Flags \[S\]/ && !from_server) { syn[cur] = t; banner[cur] = ""; done[cur] = 0; hsb[cur] = 0 }
			next
		}
		{ buf = buf $0 }
		END { flush() }'
}

# check_tls KEY LOAD: the variant ran as labelled: oniongate's deliveries in a TLS variant used TLS
# (one Postfix log line per session), and none of the recipe's or of the plain ones did.
check_tls() {
	local sessions=$(($(fig "$1" "$2" tls_new) + $(fig "$1" "$2" tls_reused)))
	case $1 in
	oniongate-*) [ "$sessions" -gt 0 ] || [ "$(fig "$1" "$2" sent)" = 0 ] ||
		{ og_log "bench: mail $1 $2: no TLS session logged"; exit 1; } ;;
	*) [ "$sessions" = 0 ] || { og_log "bench: mail $1 $2: $sessions TLS sessions logged"; exit 1; } ;;
	esac
}

fig() { sed -n "s/^$3=//p" "$OG_TMP/fig-$1-$2"; }

# load KEY LOAD PER DOMAIN...: submits PER mails to each domain, waits for every status=sent
# (LOAD_TIMEOUT at most), and writes the figures to $OG_TMP/fig-KEY-LOAD (KEY: the method, with
# "-starttls" in that variant): delivery, connect-to-banner, sessions, CPU of the client Tor and sender.
# load METHOD LOAD PER DOMAIN...: submits PER mails to each domain, waits for every status=sent
# (LOAD_TIMEOUT at most), and writes the figures to $OG_TMP/fig-METHOD-LOAD.
load() {
	local key=$1 name=$2 per=$3 before t0 elapsed total sent pcap="$OG_TMP/cap-$1-$2.pcap" cap
	local gw0 snd0 gw snd f="$OG_TMP/$1-$2"
	shift 3
	total=$((per * $#))
	before=$(wc -l < "$SENDER_DIR/maillog")
	og_spawn "$SENDER_NS" "$pcap.log" tcpdump -i "$CAP_IF" -n -U -Z root -w "$pcap" tcp port "$CAP_PORT"
	cap=$OG_SPAWNED
	og_wait_for 5 grep -q 'listening on' "$pcap.log"
	gw0=$(cpu_ms_of_pid "$CLIENT_PID") snd0=$(cpu_ms_of_sender)
	t0=$(bench_now)
	submit "$per" "$@"
	og_wait_for "$LOAD_TIMEOUT" all_sent "$before" "$total"
	elapsed=$(bench_since "$t0")
	sleep 0.5
	gw=$(($(cpu_ms_of_pid "$CLIENT_PID") - gw0)) snd=$(($(cpu_ms_of_sender) - snd0))
	og_stop "$cap"
	tail -n +$((before + 1)) "$SENDER_DIR/maillog" > "$f.log"
	grep 'status=sent' "$f.log" > "$f.sent"
	sent=$(wc -l < "$f.sent")
	sed -n 's/.* delay=\([0-9.]*\),.*/\1/p' "$f.sent" > "$f.delays"
	# Postfix's delays=a/b/c/d: c is the connection setup (DNS, HELO, TLS) of a new connection.
	grep -v 'conn_use=' "$f.sent" | sed -n 's/.* delays=[0-9.]*\/[0-9.]*\/\([0-9.]*\)\/.*/\1/p' > "$f.setup"
	connect_to_banner "$pcap" "$CAP_PORT" > "$f.banner"
	sessions "$pcap" "$CAP_PORT" > "$f.sessions"
	bench_raw mail "$key" "$name submit_to_delivered_s" $(cat "$f.delays")
	bench_raw mail "$key" "$name connect_to_banner_ms" $(cat "$f.banner")
	bench_raw mail "$key" "$name banner_to_mail_from_ms" $(cut -d' ' -f1 "$f.sessions")
	bench_raw mail "$key" "$name setup_delay_c_s" $(cat "$f.setup")
	{
		echo "sent=$sent"
		echo "total=$total"
		echo "elapsed=$elapsed"
		echo "deferred=$(grep -c 'status=deferred' "$f.log")"
		echo "bounced=$(grep -c 'status=bounced' "$f.log")"
		echo "mps=$(awk -v n="$sent" -v t="$elapsed" 'BEGIN { printf "%.2f", n / t }')"
		echo "d50=$(bench_pct_of 50 "$total" "$elapsed" < "$f.delays")"
		echo "d95=$(bench_pct_of 95 "$total" "$elapsed" < "$f.delays")"
		echo "c50=$(bench_pct 50 < "$f.banner")"
		echo "c95=$(bench_pct 95 < "$f.banner")"
		echo "connections=$(wc -l < "$f.banner")"
		echo "smtp_processes=$(sed -n 's/.*\/smtp\[\([0-9]*\)\].*/\1/p' "$f.sent" | sort -u | wc -l)"
		echo "conn_reused=$(grep -c 'conn_use=' "$f.sent")"
		# smtp logs a new TLS connection "established", one from its connection cache "reused"
		# (tlsproxy, in tlsreuse, logs each new one too: not counted).
		echo "tls_new=$(grep -c '/smtp\[[0-9]*\]: .*TLS connection established to' "$f.log")"
		echo "tls_reused=$(grep -c '/smtp\[[0-9]*\]: .*TLS connection reused to' "$f.log")"
		echo "b2m50=$(cut -d' ' -f1 "$f.sessions" | bench_pct 50)"
		echo "rtts=$(cut -d' ' -f2 "$f.sessions" | bench_pct 50)"
		echo "hs50=$(cut -d' ' -f3 "$f.sessions" | bench_pct 50)"
		echo "setup50=$(bench_pct 50 < "$f.setup")"
		# With STARTTLS, the server's answer to the ClientHello is ~1350 bytes with the certificate
		# (a full handshake), ~240 without (resumed from Postfix's TLS session cache): 700 between.
		echo "hs_full=$(awk '$4 >= 700' "$f.sessions" | wc -l)"
		echo "hs_resumed=$(awk '$4 > 0 && $4 < 700' "$f.sessions" | wc -l)"
		echo "b2m_full50=$(awk '$4 >= 700 { print $1 }' "$f.sessions" | bench_pct 50)"
		echo "b2m_resumed50=$(awk '$4 > 0 && $4 < 700 { print $1 }' "$f.sessions" | bench_pct 50)"
		echo "cpu_gw_ms=$gw"
		echo "cpu_sender_ms=$snd"
		echo "cpu_gw_per_mail=$(awk -v c="$gw" -v n="$sent" 'BEGIN { if (n) printf "%.1f", c / n; else print "n/a" }')"
		echo "cpu_path_per_mail=$(awk -v c="$((gw + snd))" -v n="$sent" 'BEGIN { if (n) printf "%.1f", c / n; else print "n/a" }')"
	} > "$OG_TMP/fig-$key-$name"
	check_tls "$key" "$name"
	bench_raw mail "$key" "$name summary" "$(paste -sd ' ' "$OG_TMP/fig-$key-$name")"
	og_log "bench: mail $key $name: $(paste -sd ' ' "$OG_TMP/fig-$key-$name")"
}

burst_domains=()
for ((i = 0; i < NMX; i++)); do burst_domains+=(d0.test); done
per=$((MAILS / NMX))
MAIL_VARIANTS=${MAIL_VARIANTS:-plain starttls}
variant_methods() {
	case $1 in
	plain) echo "$MAIL_METHODS" ;;
	starttls) echo "${MAIL_METHODS/recipe-exec/}" ;;
	*) echo oniongate ;;
	esac
}
variant_suffix() { [ "$1" = plain ] || echo "-$1"; }
mx_variant=
for variant in $MAIL_VARIANTS; do
	[ "$variant" = plain ] || [ "$mx_variant" = starttls ] || { start_mx starttls; mx_variant=starttls; }
	[ "$variant" != plain ] || [ "$mx_variant" = plain ] || { start_mx plain; mx_variant=plain; }
	for method in $(variant_methods "$variant"); do
		key=$method$(variant_suffix "$variant")
		start_client "$method"
		start_sender "$method" "$variant"
		before=$(wc -l < "$SENDER_DIR/maillog")
		submit 1 d0.test
		og_wait_for "$LOAD_TIMEOUT" all_sent "$before" 1 || og_log "bench: $key: the priming mail was not delivered"
		load "$key" burst "$per" "${burst_domains[@]}"
		mail_stop "$SENDER_DIR"
		stop_client "$method"
		start_client "$method"
		start_sender "$method" "$variant"
		load "$key" cold "$per" "${domains[@]}"
		mail_stop "$SENDER_DIR"
		stop_client "$method"
	done
done

torsocks_ver=$(bench_version torsocks)
for variant in $MAIL_VARIANTS; do
	sfx=$(variant_suffix "$variant") og=oniongate$(variant_suffix "$variant")
	tag="$BENCH_DELAY ms/hop"
	[ "$variant" = plain ] || tag="$tag, STARTTLS"
	for peer_method in $(variant_methods "$variant"); do
		[ "$peer_method" != oniongate ] || continue
		pk=$peer_method$sfx
		peer="onionmx recipe (torsocks $torsocks_ver -i, tor)"
		[ "$peer_method" = recipe ] || peer="recipe + exec in smtp_tor"
		[ "$variant" = plain ] || peer="$peer, TLS none as documented"
		for name in burst cold; do
			if [ "$name" = burst ]; then what="burst of $((per * NMX)) to 1 onion MX"; else what="cold start, $((per * NMX)) over $NMX onion MXs"; fi
			what="[$tag] $what"
			note="sent $(fig $og $name sent)/$(fig $og $name total) vs $(fig $pk $name sent)/$(fig $pk $name total); deferred $(fig $og $name deferred) vs $(fig $pk $name deferred); smtp processes $(fig $og $name smtp_processes) vs $(fig $pk $name smtp_processes)"
			[ "$variant" = plain ] || note="$note; oniongate: Debian's smtp_tls_security_level = may, the MX offers STARTTLS; the recipe: its smtp_tls_security_level=none"
			bench_row mail "$what: mails/s" mails/s higher "$(fig $og $name mps)" "$peer" "$(fig $pk $name mps)" "$note"
			bench_row mail "$what: submit-to-delivered median" s lower "$(fig $og $name d50)" "$peer" "$(fig $pk $name d50)"
			bench_row mail "$what: submit-to-delivered p95" s lower "$(fig $og $name d95)" "$peer" "$(fig $pk $name d95)"
			bench_row mail "$what: connect-to-banner median" ms lower "$(fig $og $name c50)" "$peer" "$(fig $pk $name c50)" \
				"connections: $(fig $og $name connections) vs $(fig $pk $name connections)"
			bench_row mail "$what: connect-to-banner p95" ms lower "$(fig $og $name c95)" "$peer" "$(fig $pk $name c95)"
		done
		what="[$tag] burst of $((per * NMX)) to 1 onion MX: CPU per mail"
		bench_row mail "$what, gateway side (oniongated vs tor)" ms lower "$(fig $og burst cpu_gw_per_mail)" "$peer" \
			"$(fig $pk burst cpu_gw_per_mail)" "utime+stime from /proc over the load: $(fig $og burst cpu_gw_ms) ms vs $(fig $pk burst cpu_gw_ms) ms, for $(fig $og burst sent) vs $(fig $pk burst sent) mails delivered"
		bench_row mail "$what, whole sending path (+ sender Postfix)" ms lower "$(fig $og burst cpu_path_per_mail)" "$peer" \
			"$(fig $pk burst cpu_path_per_mail)" "the sender Postfix's cgroup (smtp, and the recipe's sh + torsocks): $(fig $og burst cpu_sender_ms) ms vs $(fig $pk burst cpu_sender_ms) ms"
	done
done
# cost_rows VARIANT: what STARTTLS costs a session over the onion circuit, and what Postfix's
# caches save: oniongate in a TLS variant against oniongate plain, both measured in this run.
cost_rows() {
	local og=oniongate-$1 name what label="STARTTLS cost"
	[ "$1" != tlsreuse ] || label="STARTTLS + smtp_tls_connection_reuse cost"
	[ "$1" != tlsnocache ] || label="STARTTLS without TLS session cache cost"
	for name in burst cold; do
		if [ "$name" = burst ]; then what="burst of $((per * NMX)) to 1 onion MX"; else what="cold start, $((per * NMX)) over $NMX onion MXs"; fi
		what="[$BENCH_DELAY ms/hop, $label] $what"
		bench_row mail "$what: mails/s" mails/s higher "$(fig $og $name mps)" "oniongate, no TLS" "$(fig oniongate $name mps)" \
			"sent $(fig $og $name sent)/$(fig $og $name total) vs $(fig oniongate $name sent)/$(fig oniongate $name total)"
		bench_row mail "$what: submit-to-delivered median" s lower "$(fig $og $name d50)" "oniongate, no TLS" "$(fig oniongate $name d50)"
		bench_row mail "$what: banner to MAIL FROM per session, median" ms lower "$(fig $og $name b2m50)" \
			"oniongate, no TLS" "$(fig oniongate $name b2m50)" \
			"round trips banner to MAIL FROM: $(fig $og $name rtts) vs $(fig oniongate $name rtts); the TLS handshake (ClientHello to the sender's Finished) $(fig $og $name hs50) ms; Postfix's delays c (setup of a new connection) median $(fig $og $name setup50) s vs $(fig oniongate $name setup50) s"
		bench_row mail "$what: SMTP connections" connections lower "$(fig $og $name connections)" \
			"oniongate, no TLS" "$(fig oniongate $name connections)" \
			"mails over a cached connection: $(fig $og $name conn_reused) vs $(fig oniongate $name conn_reused) (TLS connections reused, Postfix log: $(fig $og $name tls_reused) of $(($(fig $og $name tls_new) + $(fig $og $name tls_reused)))); TLS handshakes full $(fig $og $name hs_full), resumed from the session cache $(fig $og $name hs_resumed); banner to MAIL FROM median full $(fig $og $name b2m_full50) ms, resumed $(fig $og $name b2m_resumed50) ms"
	done
}
for variant in $MAIL_VARIANTS; do
	[ "$variant" = plain ] || cost_rows "$variant"
done
# The sender's cgroup stays until the world ends (the EXIT trap): the idle section's senders use it.
mail_stop "$OG_TMP/pf-mx"
