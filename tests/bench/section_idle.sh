# SPDX-License-Identifier: ISC
# section_idle.sh: the first mail to an onion MX after the sender was idle for longer than Tor keeps
# a circuit, oniongate against the onionmx recipe, with the hosts and helpers of section_mail.sh
# (run after it). Both client Tors get IDLE_TOR_OPTIONS, so they forget their circuits alike:
# MaxCircuitDirtiness (a used circuit, rendezvous ones included, takes no new stream and closes once
# its streams are gone: circuituse.c circuit_expire_old_circuits_clientside), CircuitsAvailableTimeout
# (how long after a use Tor keeps building and keeping clean circuits: predict_ports.c,
# channelpadding.c) and LearnCircuitBuildTimeout 0 (while learning, clean circuits live a fixed
# cbtlearntimeout of 180 s instead: circuitlist.c origin_circuit_new). Per sample: IDLE_SECONDS of
# nothing, then one mail ("after idle"), then one more as soon as it is delivered ("second": on
# oniongate it rides the rendezvous circuit the first built: one circuit RTT plus the MX's banner,
# the limit; the recipe's torsocks -i isolates per smtp process, so its second rides the first's
# circuit when the same smtp process delivers it).
# Connect-to-banner as in the mail section; the MX's "connect from" lines during each idle period
# are counted (a circuit kept for the gateway must not cost the MX an SMTP session).

IDLE_DIRTINESS=30
IDLE_SECONDS=90
IDLE_TOR_OPTIONS=("MaxCircuitDirtiness $IDLE_DIRTINESS" "CircuitsAvailableTimeout $IDLE_DIRTINESS" "LearnCircuitBuildTimeout 0")
if [ "${QUICK:-0}" = 1 ]; then IDLE_SAMPLES=${IDLE_SAMPLES:-2}; else IDLE_SAMPLES=${IDLE_SAMPLES:-5}; fi
IDLE_METHODS=${IDLE_METHODS:-recipe oniongate}

declare -F start_sender >/dev/null || { echo "section idle needs the mail section's hosts: world.sh DELAY mail idle"; exit 1; }
# Both sides' torrc come from privnet_client_options (gw_config's tor-option lines, bench_tor_dir).
eval "$(declare -f privnet_client_options | sed '1s/privnet_client_options/idle_network_options/')"
privnet_client_options() {
	idle_network_options
	printf '%s\n' "${IDLE_TOR_OPTIONS[@]}"
}

# The mail section stopped its MX: the same one again (no STARTTLS), through the harness.
start_mx plain
mx_dir="$OG_TMP/pf-mx"

mx_sessions() { grep -c 'smtpd\[[0-9]*\]: connect from' "$mx_dir/maillog"; }

# one_mail: submits one mail to d0.test and waits until it is delivered.
one_mail() {
	local before
	before=$(wc -l < "$SENDER_DIR/maillog")
	submit 1 d0.test
	og_wait_for "$LOAD_TIMEOUT" all_sent "$before" 1
}

# idle_samples METHOD: IDLE_SAMPLES idle periods, each followed by two mails; the banner times go to
# $OG_TMP/idle-METHOD-first and -second, the MX sessions during the idle periods to -mx.
idle_samples() {
	local method=$1 k pcap cap mx0
	: > "$OG_TMP/idle-$method-first"
	: > "$OG_TMP/idle-$method-second"
	: > "$OG_TMP/idle-$method-mx"
	one_mail || og_log "bench: idle $method: the priming mail was not delivered"
	for ((k = 0; k < IDLE_SAMPLES; k++)); do
		mx0=$(mx_sessions)
		sleep "$IDLE_SECONDS"
		echo $(($(mx_sessions) - mx0)) >> "$OG_TMP/idle-$method-mx"
		pcap="$OG_TMP/cap-idle-$method-$k.pcap"
		og_spawn "$SENDER_NS" "$pcap.log" tcpdump -i "$CAP_IF" -n -U -Z root -w "$pcap" tcp port "$CAP_PORT"
		cap=$OG_SPAWNED
		og_wait_for 5 grep -q 'listening on' "$pcap.log"
		one_mail || og_log "bench: idle $method: the mail after idle was not delivered"
		one_mail || og_log "bench: idle $method: the second mail was not delivered"
		sleep 0.5
		og_stop "$cap"
		connect_to_banner "$pcap" "$CAP_PORT" > "$OG_TMP/idle-$method-$k"
		sed -n 1p "$OG_TMP/idle-$method-$k" >> "$OG_TMP/idle-$method-first"
		sed -n 2p "$OG_TMP/idle-$method-$k" >> "$OG_TMP/idle-$method-second"
	done
	bench_raw idle "$method" "after_${IDLE_SECONDS}s_idle connect_to_banner_ms" $(cat "$OG_TMP/idle-$method-first")
	bench_raw idle "$method" "second_connection connect_to_banner_ms" $(cat "$OG_TMP/idle-$method-second")
	bench_raw idle "$method" "mx_sessions_while_idle" $(cat "$OG_TMP/idle-$method-mx")
	og_log "bench: idle $method: after idle $(paste -sd ' ' "$OG_TMP/idle-$method-first") ms;" \
		"second $(paste -sd ' ' "$OG_TMP/idle-$method-second") ms; MX sessions while idle $(paste -sd ' ' "$OG_TMP/idle-$method-mx")"
}

# idle_kept METHOD: oniongated's keeping streams so far (proxy_warm_kept, logged on SIGUSR1).
idle_kept() {
	kill -USR1 "$CLIENT_PID"
	og_wait_for 5 grep -q 'stats: proxy_warm_kept=' "$og_dir/oniongated.log"
	sed -n 's/.*stats: proxy_warm_kept=//p' "$og_dir/oniongated.log" | tail -n 1 > "$OG_TMP/idle-$1-kept"
	bench_raw idle "$1" proxy_warm_kept "$(cat "$OG_TMP/idle-$1-kept")"
	og_log "bench: idle $1: keeping streams sent: $(cat "$OG_TMP/idle-$1-kept")"
}

for method in $IDLE_METHODS; do
	start_client "${method%-*}"
	# oniongate-nokeep: the same without the circuit kept for recent onions (warm-up-keep 0).
	if [ "$method" = oniongate-nokeep ]; then
		echo "warm-up-keep 0" >> "$og_dir/oniongate.conf"
		kill -HUP "$CLIENT_PID"
	fi
	start_sender "${method%-*}" plain
	idle_samples "$method"
	[ "${method%-*}" != oniongate ] || idle_kept "$method"
	mail_stop "$SENDER_DIR"
	stop_client "${method%-*}"
done
mail_stop "$mx_dir"

idle_fig() { bench_pct "$3" < "$OG_TMP/idle-$1-$2"; }
idle_max() { sort -g "$OG_TMP/idle-$1-$2" | tail -n 1; }
idle_sum() { awk '{ s += $1 } END { print s + 0 }' "$OG_TMP/idle-$1-$2"; }
what="[$BENCH_DELAY ms/hop] first mail after ${IDLE_SECONDS} s idle (MaxCircuitDirtiness $IDLE_DIRTINESS)"
if [[ " $IDLE_METHODS " == *" recipe "* && " $IDLE_METHODS " == *" oniongate "* ]]; then
	peer="onionmx recipe (torsocks $(bench_version torsocks) -i, tor)"
	note="$IDLE_SAMPLES idle periods each; MX sessions while idle: $(idle_sum oniongate mx) vs $(idle_sum recipe mx); oniongated's keeping streams: $(cat "$OG_TMP/idle-oniongate-kept")"
	bench_row idle "$what: connect-to-banner median" ms lower "$(idle_fig oniongate first 50)" "$peer" "$(idle_fig recipe first 50)" "$note"
	bench_row idle "$what: connect-to-banner max" ms lower "$(idle_max oniongate first)" "$peer" "$(idle_max recipe first)"
	limit="limit: 2nd connection on oniongate's built rendezvous circuit"
	bench_row idle "$what: connect-to-banner median, against one circuit RTT" ms lower "$(idle_fig oniongate first 50)" "$limit" \
		"$(idle_fig oniongate second 50)" "limit's max $(idle_max oniongate second) ms; the recipe's 2nd connection: median $(idle_fig recipe second 50) ms"
fi
if [[ " $IDLE_METHODS " == *" oniongate-nokeep "* && " $IDLE_METHODS " == *" recipe "* ]]; then
	bench_row idle "$what, warm-up-keep 0: connect-to-banner median" ms lower "$(idle_fig oniongate-nokeep first 50)" \
		"onionmx recipe (torsocks $(bench_version torsocks) -i, tor)" "$(idle_fig recipe first 50)" "max $(idle_max oniongate-nokeep first) vs $(idle_max recipe first) ms"
fi
