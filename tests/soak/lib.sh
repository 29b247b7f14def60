# SPDX-License-Identifier: ISC
# lib.sh: the soak's pieces: the sampler of oniongated's RSS and fds, the load of each minute (mails,
# DNS with churned onion names), reloads, onion MX flaps, the drain, the verdicts and the report.
# Source after tests/lib/all.sh; run.sh sets the world up and calls these in order.

# Seconds since the load began (the sampler's clock).
soak_now() { awk -v a="$SOAK_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

soak_event() {
	printf '%s\t%s\n' "$(soak_now)" "$1" >> "$OG_TMP/events.tsv"
	og_log "soak: $1"
}

# soak_until SECONDS: sleeps until SECONDS after the load began.
soak_until() {
	local left
	left=$(awk -v a="$SOAK_T0" -v b="$(date +%s.%N)" -v s="$1" 'BEGIN { d = a + s - b; printf "%.2f", (d > 0 ? d : 0) }')
	sleep "$left"
}

# The map: mapped.test always; extra.test on odd reloads, so each reload changes what the daemon routes.
soak_map() {
	{
		echo "mapped.test smtptor:[$onion]"
		[ $(($1 % 2)) = 0 ] || echo "extra.test smtptor:[$onion]"
	} > "$gw/onionmx.map"
}

# The sampler: a line "seconds rss_kb fds threads" every SAMPLE_SECONDS from /proc of oniongated.
soak_sampler_start() {
	SOAK_T0=$(date +%s.%N)
	: > "$OG_TMP/samples.tsv"
	(
		while [ ! -e "$OG_TMP/sampler.stop" ]; do
			rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$GW_PID/status" 2>/dev/null) || break
			thr=$(awk '/^Threads:/ { print $2 }' "/proc/$GW_PID/status" 2>/dev/null)
			fds=$(ls "/proc/$GW_PID/fd" 2>/dev/null | wc -l)
			[ -n "$rss" ] || break
			printf '%s\t%s\t%s\t%s\n' "$(soak_now)" "$rss" "$fds" "$thr" >> "$OG_TMP/samples.tsv"
			sleep "$SAMPLE_SECONDS"
		done
	) &
	SOAK_SAMPLER=$!
	OG_PIDS+=("$SOAK_SAMPLER")
}

soak_sampler_stop() {
	touch "$OG_TMP/sampler.stop"
	wait "$SOAK_SAMPLER" 2>/dev/null
}

soak_last_sample() {
	tail -1 "$OG_TMP/samples.tsv" | awk '{ printf "RSS %.1f MiB, %d fds, %d threads", $2 / 1024, $3, $4 }'
}

# Flaps: a minute each, every 10 minutes from 5 minutes after warm-up, none in the last window and
# the minutes before it (deferred mail must have arrived by then); one in the middle of a short run.
# They alternate: the onion MX's Postfix stopped, then the onion service's tor stopped.
# SOAK_FLAP_MINUTES="2 3" sets the minutes instead (to see both kinds in a short run).
soak_schedule_flaps() {
	local m
	SOAK_FLAPS=()
	for ((m = WARM + 5; m + 1 < MINUTES - WINDOW - 2; m += 10)); do SOAK_FLAPS+=("$m"); done
	[ ${#SOAK_FLAPS[@]} -gt 0 ] || SOAK_FLAPS=($((MINUTES / 2)))
	[ -z "${SOAK_FLAP_MINUTES:-}" ] || read -r -a SOAK_FLAPS <<< "$SOAK_FLAP_MINUTES"
	SOAK_FLAP_KIND="" SOAK_FLAP_AT=-1 SOAK_FLAP_N=0
	og_log "soak: onion MX flaps at minutes ${SOAK_FLAPS[*]}"
}

soak_flap_starts() { [[ " ${SOAK_FLAPS[*]} " == *" $1 "* ]]; }
soak_flap_ends() { [ -n "$SOAK_FLAP_KIND" ] && [ "$1" -ge $((SOAK_FLAP_AT + 1)) ]; }
soak_flapping() { [ -n "$SOAK_FLAP_KIND" ]; }

soak_flap_begin() {
	SOAK_FLAP_AT=$1
	if [ $((SOAK_FLAP_N % 2)) = 0 ]; then
		SOAK_FLAP_KIND=postfix
		mail_stop "$OG_TMP/pf-mx"
		soak_event "flap: the onion MX's Postfix stopped"
	else
		SOAK_FLAP_KIND=onion
		og_stop "$(cat "$PRIVNET_DIR/hs-mx/harness.pid")"
		soak_event "flap: the onion service's tor stopped"
	fi
	SOAK_FLAP_N=$((SOAK_FLAP_N + 1))
}

soak_flap_end() {
	if [ "$SOAK_FLAP_KIND" = postfix ]; then
		mail_start mx "$WAN_NS" "$OG_TMP/pf-mx" 127.0.0.1 "${MX_CONF[@]}" || og_log "soak: the MX's Postfix did not restart"
		soak_event "flap over: the onion MX's Postfix started"
	else
		privnet_start_tor hs-mx || og_log "soak: the onion service's tor did not restart"
		soak_event "flap over: the onion service's tor started"
	fi
	SOAK_FLAP_KIND=""
}

# soak_submit_mails MINUTE: MAILS_PER_MINUTE mails through the LAN Postfix, by turns to the SRV domain,
# the mapped domain and the onion itself, each with its own subject.
SOAK_MAIL_N=0
soak_submit_mails() {
	local i rcpts=(user@example.test user@mapped.test "user@$onion") rcpt
	for ((i = 0; i < MAILS_PER_MINUTE; i++)); do
		SOAK_MAIL_N=$((SOAK_MAIL_N + 1))
		rcpt=${rcpts[$((SOAK_MAIL_N % 3))]}
		if ip netns exec "$LAN_NS" swaks --silent 2 --server 127.0.0.1 --from alice@lan.test --to "$rcpt" \
			--header "Subject: soak-$SOAK_MAIL_N" >> "$OG_TMP/swaks.log" 2>&1; then
			echo "soak-$SOAK_MAIL_N" >> "$OG_TMP/submitted"
		else
			echo "soak-$SOAK_MAIL_N minute $1" >> "$OG_TMP/submit-failed"
		fi
	done
}

# soak_dnsperf MINUTE NAME MODE FILE: one pass of FILE at 200 queries/s; appends
# "minute name mode sent completed lost rcodes" to dns.tsv.
soak_dnsperf() {
	local out="$OG_TMP/dnsperf-$2-$3.out"
	ip netns exec "$LAN_NS" dnsperf -s 192.0.2.1 -m "$3" -d "$4" -c 1 -n 1 -Q 200 -t 5 > "$out" 2>&1
	awk -v m="$1" -v n="$2" -v mode="$3" '
		/Queries sent:/ { s = $3 } /Queries completed:/ { c = $3 } /Queries lost:/ { l = $3 }
		/Response codes:/ { sub(/.*Response codes: */, ""); gsub(/ \([0-9.%]*\)/, ""); gsub(/, /, ","); gsub(/ /, "="); r = $0 }
		END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m, n, mode, s, c, l, r }' "$out" >> "$OG_TMP/dns.tsv"
}

# soak_dns_load MINUTE: CHURN_PER_MINUTE onion names never asked before (A, every fourth AAAA too),
# then the fixed set (MX by SRV, by map, relayed; A, AAAA and PTR of the onion MX) over UDP and TCP.
soak_dns_load() {
	local m=$1 first names="$OG_TMP/onion-names" q="$OG_TMP/q-churn" f="$OG_TMP/q-fixed" addr rev
	[ -s "$names" ] || "$OG_TOOLS/onionname" 65792 > "$names"
	first=$(( (m * CHURN_PER_MINUTE) % 65000 + 1 ))
	sed -n "${first},$((first + CHURN_PER_MINUTE - 1))p" "$names" | awk '{ print $1 " A"; if (NR % 4 == 0) print $1 " AAAA" }' > "$q"
	soak_dnsperf "$m" churn udp "$q"
	addr=$(ip netns exec "$LAN_NS" dig +short +time=2 +tries=1 @192.0.2.1 "$onion" A | head -1)
	rev=$(echo "$addr" | awk -F. 'NF == 4 { print $4 "." $3 "." $2 "." $1 ".in-addr.arpa" }')
	{
		printf '%s MX\n' example.test mapped.test extra.test plain.test signed.test unsigned.test first.test
		printf '%s A\n' www.plain.test "$onion" "mail.$onion"
		printf '%s AAAA\n' "$onion"
		printf '%s TXT\n' big.plain.test
		[ -z "$rev" ] || printf '%s PTR\n' "$rev"
	} > "$f"
	soak_dnsperf "$m" fixed udp "$f"
	soak_dnsperf "$m" fixed tcp "$f"
}

# soak_reload: the map changed (extra.test added or taken out), SIGHUP, and the change seen in DNS: the
# MX answer for extra.test names the onion exactly while the map has it. (The log cannot tell: it folds
# repeated lines into "last message repeated".)
SOAK_RELOADED=0
reloads=0
soak_extra_is_mapped() { ip netns exec "$LAN_NS" dig +short +time=2 +tries=1 @192.0.2.1 extra.test MX | grep -q '\.onion\.$'; }
soak_reload() {
	reloads=$((reloads + 1))
	soak_map "$reloads"
	kill -HUP "$GW_PID"
	if [ $((reloads % 2)) = 1 ]; then
		og_wait_for 10 soak_extra_is_mapped
	else
		og_wait_for 10 eval '! soak_extra_is_mapped'
	fi && { SOAK_RELOADED=$((SOAK_RELOADED + 1)); soak_event reload; return 0; }
	soak_event "reload not applied"
}

soak_delivered() {
	cat "$OG_TMP"/mailbox/user/new/* 2>/dev/null | sed -n 's/^Subject: \(soak-[0-9]*\)$/\1/p' | sort -u
}

# soak_drain SECONDS: queue runs every 10 s until every submitted mail is in the MX's mailbox.
soak_drain() {
	local limit=$1 t0 want
	t0=$(date +%s)
	want=$(wc -l < "$OG_TMP/submitted")
	while [ "$(soak_delivered | wc -l)" -lt "$want" ] && [ $(($(date +%s) - t0)) -lt "$limit" ]; do
		mail_flush "$LAN_NS" "$OG_TMP/pf-lan"
		sleep 10
	done
	SOAK_DRAIN_S=$(($(date +%s) - t0))
	soak_event "drained in $SOAK_DRAIN_S s"
}

# soak_window_stat FROM_S TO_S COLUMN: the median of a samples column within [FROM_S, TO_S).
soak_window_stat() {
	awk -v a="$1" -v b="$2" -v c="$3" '$1 >= a && $1 < b { print $c }' "$OG_TMP/samples.tsv" | sort -n |
		awk '{ v[NR] = $1 } END { print (NR == 0) ? 0 : v[int((NR + 1) / 2)] }'
}

soak_verdicts() {
	local post_a=$((WARM * 60)) post_b=$(((WARM + WINDOW) * 60)) last_a=$(((MINUTES - WINDOW) * 60)) last_b=$((MINUTES * 60))
	og_check "oniongated ran the whole soak as one process" kill -0 "$GW_PID"
	og_check "every SIGHUP reload was applied ($SOAK_RELOADED of $reloads)" test "$SOAK_RELOADED" = "$reloads"

	SOAK_SUBMITTED=$(wc -l < "$OG_TMP/submitted")
	SOAK_DELIVERED=$(soak_delivered | wc -l)
	SOAK_LOST=$(comm -23 <(sort -u "$OG_TMP/submitted") <(soak_delivered) | wc -l)
	SOAK_DEFERRED=$(grep 'status=deferred' "$OG_TMP/pf-lan/maillog" | sed -n 's/.*\]: \([0-9A-F]*\): .*/\1/p' | sort -u | wc -l)
	SOAK_BOUNCED=$(grep -c 'status=bounced' "$OG_TMP/pf-lan/maillog")
	og_check "the LAN Postfix accepted every submission ($SOAK_SUBMITTED)" test ! -s "$OG_TMP/submit-failed"
	og_check "0 mails lost: $SOAK_DELIVERED of $SOAK_SUBMITTED delivered ($SOAK_DRAIN_S s of drain)" test "$SOAK_LOST" = 0
	og_check "no mail bounced" test "$SOAK_BOUNCED" = 0
	og_check "the flaps deferred mail ($SOAK_DEFERRED), and it arrived after them" \
		test "$SOAK_DEFERRED" -gt 0 -a "$SOAK_LOST" = 0

	SOAK_DNS=$(awk -F'\t' '{ s += $4; c += $5; l += $6 } END { printf "%d %d %d", s, c, l }' "$OG_TMP/dns.tsv")
	read -r SOAK_DNS_SENT SOAK_DNS_DONE SOAK_DNS_LOST <<< "$SOAK_DNS"
	SOAK_CHURN_NOT_OK=$(awk -F'\t' '$2 == "churn" { n = split($7, r, ","); for (i = 1; i <= n; i++) {
		split(r[i], kv, "="); if (kv[1] != "NOERROR") bad += kv[2] } } END { print bad + 0 }' "$OG_TMP/dns.tsv")
	og_check "every DNS query answered ($SOAK_DNS_DONE of $SOAK_DNS_SENT, UDP and TCP)" test "$SOAK_DNS_LOST" = 0
	og_check "every churned onion name got an address (0 of them not NOERROR: $SOAK_CHURN_NOT_OK)" \
		test "$SOAK_CHURN_NOT_OK" = 0

	RSS_POST=$(soak_window_stat "$post_a" "$post_b" 2) RSS_LAST=$(soak_window_stat "$last_a" "$last_b" 2)
	FD_POST=$(soak_window_stat "$post_a" "$post_b" 3) FD_LAST=$(soak_window_stat "$last_a" "$last_b" 3)
	RSS_LIMIT=$(awk -v p="$RSS_POST" -v k="$RSS_SLACK_KB" -v pct="$RSS_SLACK_PCT" \
		'BEGIN { s = p * pct / 100; if (s < k) s = k; printf "%d", p + s }')
	# The trend, for the report: a least-squares slope of RSS from warm-up to the end of the load.
	RSS_SLOPE=$(awk -v a="$post_a" -v b="$last_b" '$1 >= a && $1 < b { n++; x = $1 / 3600; sx += x; sy += $2; sxx += x * x; sxy += x * $2 }
		END { d = n * sxx - sx * sx; printf "%.0f", (n > 1 && d > 0) ? (n * sxy - sx * sy) / d : 0 }' "$OG_TMP/samples.tsv")
	og_check "the samples cover both windows compared" test "$RSS_POST" -gt 0 -a "$RSS_LAST" -gt 0
	og_check "RSS does not grow after warm-up: $((RSS_LAST / 1024)) MiB at the end, $((RSS_POST / 1024)) MiB after warm-up (limit $((RSS_LIMIT / 1024)) MiB)" \
		test "$RSS_LAST" -le "$RSS_LIMIT"
	og_check "open fds do not grow after warm-up: $FD_LAST at the end, $FD_POST after warm-up (limit $((FD_POST + FD_SLACK)))" \
		test "$FD_LAST" -le $((FD_POST + FD_SLACK))
}

# soak_plot PNG: RSS and fds over the run; warm-up and the compared windows shaded, flaps in red,
# reloads as ticks at the bottom.
soak_plot() {
	local png=$1 gp="$OG_TMP/soak.gp" t label s=""
	{
		echo "set terminal pngcairo size 1100,560 font 'sans,10'"
		echo "set output '$png'"
		echo "set title \"oniongated soak, $(date -u +%F): $MINUTES min of mail and DNS load, SIGHUP every 2 min, onion MX flaps (red)\""
		echo "set xlabel 'minutes since the load began'"
		echo "set ylabel 'RSS (MiB)'; set y2label 'open fds'"
		echo "set ytics nomirror; set y2tics; set yrange [0:$(sort -k2 -n "$OG_TMP/samples.tsv" | tail -1 |
			awk -v l="$RSS_LIMIT" '{ m = ($2 > l) ? $2 : l; printf "%.1f", m / 1024 * 1.15 }')]; set y2range [0:*]; set key bottom right"
		echo "set grid ytics"
		echo "set xrange [0:$(tail -1 "$OG_TMP/samples.tsv" | awk '{ printf "%.1f", $1 / 60 }')]"
		echo "set object rect from 0, graph 0 to $WARM, graph 1 fc rgb '#e8e8e8' fs solid noborder behind"
		echo "set label 'warm-up' at $WARM / 2.0, graph 0.96 center"
		echo "set object rect from $WARM, graph 0 to $((WARM + WINDOW)), graph 1 fc rgb '#dde8ff' fs solid noborder behind"
		echo "set object rect from $((MINUTES - WINDOW)), graph 0 to $MINUTES, graph 1 fc rgb '#dde8ff' fs solid noborder behind"
		echo "set label 'compared' at $WARM + $WINDOW / 2.0, graph 0.96 center"
		echo "set label 'compared' at $MINUTES - $WINDOW / 2.0, graph 0.96 center"
		echo "set arrow from 0, $RSS_LIMIT / 1024.0 to $MINUTES, $RSS_LIMIT / 1024.0 nohead dt 2 lc rgb '#cc0000'"
		echo "set label 'RSS limit' at 0.5, $RSS_LIMIT / 1024.0 offset 0, 0.6 tc rgb '#cc0000'"
		while IFS=$'\t' read -r t label; do
			case $label in
			flap:*) s=$t ;;
			"flap over"*) echo "set object rect from $s / 60.0, graph 0 to $t / 60.0, graph 1 fc rgb '#ffd0d0' fs solid noborder behind" ;;
			reload) echo "set arrow from $t / 60.0, graph 0 to $t / 60.0, graph 0.04 nohead lc rgb '#3060c0'" ;;
			esac
		done < "$OG_TMP/events.tsv"
		echo "plot '$OG_TMP/samples.tsv' using (\$1 / 60):(\$2 / 1024) axes x1y1 with lines lw 2 lc rgb '#202080' title 'RSS (MiB)', \\"
		echo "     '' using (\$1 / 60):3 axes x1y2 with lines lw 1 lc rgb '#208020' title 'open fds'"
	} > "$gp"
	gnuplot "$gp"
}

# soak_report: docs/soak.png and docs/soak.md (to SOAK_OUT).
soak_report() {
	local rev
	mkdir -p "$OUT"
	soak_plot "$OUT/soak.png" && og_pass "the plot is written: $OUT/soak.png" || og_fail "the plot is written"
	rev=$(cd "$OG_TOP" && git rev-parse --short HEAD 2>/dev/null)$(cd "$OG_TOP" && git diff --quiet HEAD 2>/dev/null || echo "+changes")
	{
		cat <<EOT
# Soak

\`make soak\` (\`SOAK_MINUTES\`, default 60) runs oniongated for that long under steady load in the
private-network world of the tests and checks that it neither grows nor loses mail. Each minute: $MAILS_PER_MINUTE mails
from an unmodified LAN Postfix (by turns to an SRV domain, a map-file domain and the onion itself),
$CHURN_PER_MINUTE onion names never asked before (A, a quarter AAAA too; \`pool-max 1024\`, so the pool recycles),
and a fixed set of MX, A, AAAA, TXT and PTR queries over UDP and TCP. Every second minute the map
file changes and the daemon gets SIGHUP. Every 10 minutes (once in a short run) the onion MX flaps
for a minute: first its Postfix is stopped, next time the tor of its onion service. oniongated's RSS and
open fds are read from /proc every $SAMPLE_SECONDS s. After the load the LAN queue is flushed until every
mail has arrived ($DRAIN_SECONDS s at most).

Passes when: every mail submitted is in the onion MX's mailbox (deferred ones included), none bounced;
every reload was applied; every DNS query was answered and every churned name got an address; and
after warm-up (the first $WARM min) memory and fds stay flat: the median RSS of the last $WINDOW min is at
most max($((RSS_SLACK_KB / 1024)) MiB, $RSS_SLACK_PCT%) above the median of the $WINDOW min right after warm-up, and the median fd count
at most $FD_SLACK above.

## Last run

$(date -u '+%F %H:%M UTC'), commit $rev, $MINUTES min of load, $(nproc) cores, oniongated $("$OG_TOP/daemon/oniongated" -V 2>/dev/null | sed 's/^oniongated //').

| measure | value |
|---|---:|
| RSS, median of the $WINDOW min after warm-up | $(awk -v k="$RSS_POST" 'BEGIN { printf "%.1f MiB", k / 1024 }') |
| RSS, median of the last $WINDOW min | $(awk -v k="$RSS_LAST" 'BEGIN { printf "%.1f MiB", k / 1024 }') |
| RSS, highest sample | $(sort -k2 -n "$OG_TMP/samples.tsv" | tail -1 | awk '{ printf "%.1f MiB", $2 / 1024 }') |
| RSS trend after warm-up (least squares) | $RSS_SLOPE KiB per hour |
| open fds, median after warm-up / at the end / highest | $FD_POST / $FD_LAST / $(sort -k3 -n "$OG_TMP/samples.tsv" | tail -1 | cut -f3) |
| mails submitted / delivered / lost / bounced | $SOAK_SUBMITTED / $SOAK_DELIVERED / $SOAK_LOST / $SOAK_BOUNCED |
| mails deferred by the flaps (all arrived later) | $SOAK_DEFERRED |
| drain after the load | $SOAK_DRAIN_S s |
| DNS queries sent / answered / lost | $SOAK_DNS_SENT / $SOAK_DNS_DONE / $SOAK_DNS_LOST |
| churned onion names not given an address | $SOAK_CHURN_NOT_OK |
| reloads applied / sent | $SOAK_RELOADED / $reloads |
| onion MX flaps | $flaps |
| checks | $OG_PASSED passed, $OG_FAILED failed |

![RSS and open fds of oniongated over the soak](soak.png)

Grey: warm-up; blue: the two windows compared; red: onion MX flaps; ticks at the bottom: reloads.

<details><summary>Per minute: RSS (MiB) and open fds, the last sample of each minute</summary>

| minute | RSS | fds |
|---:|---:|---:|
$(awk '{ m = int($1 / 60); r[m] = $2; f[m] = $3; if (m > max) max = m } END { for (i = 0; i <= max; i++) if (i in r) printf "| %d | %.1f | %d |\n", i + 1, r[i] / 1024, f[i] }' "$OG_TMP/samples.tsv")

</details>
EOT
	} > "$OUT/soak.md"
	og_log "soak: report in $OUT/soak.md"
}
