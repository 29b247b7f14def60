#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# soak: oniongated for SOAK_MINUTES (default 60) under mail and DNS load with churned onion names,
# SIGHUP reloads and onion MX flaps; its RSS and fd count sampled every SOAK_SAMPLE_SECONDS, plotted to
# docs/soak.png, summed up in docs/soak.md. Passes when memory and fds do not grow after warm-up and
# every mail submitted arrives. Ends with "N passed, N failed".
#   lan 192.0.2.10 (Postfix, swaks, dnsperf) -- gw 192.0.2.1 (oniongated) -- wan 198.51.100.1 (private
#   Tor network, nsd .53, the onion MX: a Postfix behind the onion service "mx")
set -uo pipefail

. "$(dirname "$0")/../lib/all.sh"
. "$OG_TOP/tests/soak/lib.sh"

[ "$(id -u)" = 0 ] || { echo "the soak needs root (network namespaces)" >&2; exit 1; }
MINUTES=${SOAK_MINUTES:-60}
SAMPLE_SECONDS=${SOAK_SAMPLE_SECONDS:-5}
MAILS_PER_MINUTE=${SOAK_MAILS_PER_MINUTE:-10}
CHURN_PER_MINUTE=${SOAK_CHURN_PER_MINUTE:-200}
DRAIN_SECONDS=${SOAK_DRAIN_SECONDS:-600}
OUT=${SOAK_OUT:-$OG_TOP/docs}
# Warm-up: the first sixth of the run (at least a minute); the windows compared are the same length
# (a tenth of the run, at least a minute) right after warm-up and at the end.
WARM=$(( MINUTES / 6 > 1 ? MINUTES / 6 : 1 ))
WINDOW=$(( MINUTES / 10 > 1 ? MINUTES / 10 : 1 ))
# The bound: the last window's median RSS at most the larger of 3 MiB or 10% above the median right
# after warm-up; its median fd count at most 4 above.
RSS_SLACK_KB=3072 RSS_SLACK_PCT=10 FD_SLACK=4
[ "$MINUTES" -ge $((WARM + 2 * WINDOW)) ] || { echo "soak: SOAK_MINUTES must be at least 3" >&2; exit 1; }

og_init soak
t_start=$(date +%s)
og_world

privnet_start "$WAN_NS" 198.51.100.1 "$OG_TMP/privnet" 0 3 mx=127.0.0.1:25:25 ||
	{ og_fail "the private Tor network starts"; og_summary; exit 1; }
onion=$(privnet_onion mx)
og_check "the test zones are served (example.test: SRV to the onion MX)" \
	zones_start "$WAN_NS" 198.51.100.53 "$OG_TMP/zones" "$onion" "$onion" "$onion"
mkdir -p "$OG_TMP/mailbox"
chown nobody "$OG_TMP/mailbox"
MX_CONF=("myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" "mydestination = localhost"
	"virtual_mailbox_domains = example.test mapped.test $onion" "virtual_mailbox_base = $OG_TMP/mailbox"
	"virtual_mailbox_maps = static:user/" "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534")
mail_start mx "$WAN_NS" "$OG_TMP/pf-mx" 127.0.0.1 "${MX_CONF[@]}" || { og_fail "the onion MX's Postfix starts"; og_summary; exit 1; }

gw="$OG_TMP/gw"
mkdir -p "$gw"
soak_map 0
gw_config "$gw" "dns-listen 192.0.2.1" "dns-upstream 198.51.100.53" "client-network 192.0.2.0/24" \
	"transparent-port 9040" "lan-interface $GW_LAN_IF" "onion-map $gw/onionmx.map" \
	"trust-anchor $OG_TMP/zones/trust-anchors" "pool-max 1024" "proxy-connect-timeout 30"
sed -i 's/^log-level info/log-level notice/' "$gw/oniongate.conf"
gw_start "$gw" && og_wait_for 5 test -e "$gw/oniongated.log" || { og_fail "oniongated starts"; og_summary; exit 1; }
og_wait_for 120 gw_log_has "$gw" "tor ready" || { og_fail "oniongated's Tor bootstraps"; og_summary; exit 1; }
privnet_wait_ready 120 || { og_fail "the onion MX's descriptor is published"; og_summary; exit 1; }
mail_start lan "$LAN_NS" "$OG_TMP/pf-lan" 192.0.2.1 "myhostname = mail.lan.test" "mydestination = localhost" \
	"mynetworks = 127.0.0.0/8 192.0.2.0/24" "inet_protocols = ipv4" || { og_fail "the LAN's Postfix starts"; og_summary; exit 1; }
og_pass "the world is up in $(( $(date +%s) - t_start )) s: private Tor network, onion MX, oniongated, LAN Postfix"
og_log "soak: $MINUTES min of load (warm-up $WARM min, windows $WINDOW min), a sample every $SAMPLE_SECONDS s"

: > "$OG_TMP/events.tsv"
soak_sampler_start
soak_schedule_flaps
flaps=0
for ((m = 0; m < MINUTES; m++)); do
	soak_until $((m * 60))
	[ "$m" = "$WARM" ] && soak_event "warm-up over"
	if soak_flap_ends "$m"; then soak_flap_end; fi
	if soak_flap_starts "$m"; then soak_flap_begin "$m"; flaps=$((flaps + 1)); fi
	soak_submit_mails "$m"
	soak_dns_load "$m"
	[ $((m % 2)) = 0 ] || soak_reload
	soak_flapping || mail_flush "$LAN_NS" "$OG_TMP/pf-lan"
	og_log "soak: minute $((m + 1))/$MINUTES: $(soak_last_sample)"
done
soak_until $((MINUTES * 60))
soak_flapping && soak_flap_end
soak_event "load over"
soak_drain "$DRAIN_SECONDS"
soak_sampler_stop
soak_verdicts
gw_stop "$gw"
og_check "oniongated stops with exit 0 after the soak" test $? = 0
soak_report
og_summary
