#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# world.sh DELAY_MS SECTION...: one private Tor network with DELAY_MS on every hop, the namespaces
# around it, and the sections named (dns, memory, mail, idle: after mail), each measured beside its peer in this run.
#   lan 192.0.2.10 -- gw 192.0.2.1 / 198.51.100.2 (oniongated) -- wan 198.51.100.1 (Tor network,
#   nsd .53, the onion MXs: one Postfix behind NMX onion services, an echo onion)
#   rcp 100.64.0.2 -- wan: the onionmx recipe host (Postfix + torsocks -i + a standalone tor)
#   dns 100.64.1.2 -- wan: the DNS servers compared on loopback (their Tors bootstrap via wan)
set -uo pipefail

. "$(dirname "$0")/../lib/all.sh"
. "$OG_TOP/tests/bench/lib.sh"

BENCH_DELAY=$1
shift
SECTIONS=" $* "
if [ "${QUICK:-0}" = 1 ]; then
	NMX=3 MAILS=18 LOAD_TIMEOUT=45 DNS_SECONDS=2 MAPPINGS=200 STREAMS=50 MAIL_METHODS="recipe oniongate"
else
	NMX=10 MAILS=200 LOAD_TIMEOUT=90 DNS_SECONDS=5 MAPPINGS=1000 STREAMS=200 MAIL_METHODS="recipe recipe-exec oniongate"
fi
# BENCH_MAIL_METHODS: the mail section's senders (e.g. "oniongate" alone, to set the hosts up for
# the idle section without the comparison loads).
MAIL_METHODS=${BENCH_MAIL_METHODS:-$MAIL_METHODS}

og_init bench-world
og_world
RCP_NS="$OG_RUN_ID-rcp" DNS_NS="$OG_RUN_ID-dns"
og_netns_add "$RCP_NS"
og_netns_add "$DNS_NS"
og_link "$RCP_NS" 100.64.0.2/30 "$WAN_NS" 100.64.0.1/30 >/dev/null
og_link "$DNS_NS" 100.64.1.2/30 "$WAN_NS" 100.64.1.1/30 >/dev/null
ip -n "$RCP_NS" route add default via 100.64.0.1
ip -n "$DNS_NS" route add default via 100.64.1.1

onions=()
for ((i = 0; i < NMX; i++)); do onions+=("mx$i=127.0.0.1:25:25"); done
og_spawn "$WAN_NS" "$OG_TMP/echod.log" "$OG_TOOLS/echod" 127.0.0.1 7777
privnet_start "$WAN_NS" 198.51.100.1 "$OG_TMP/privnet" "$BENCH_DELAY" 3 "${onions[@]}" echo=127.0.0.1:7777:7777 ||
	{ echo "private Tor network did not start"; exit 1; }
zones_start "$WAN_NS" 198.51.100.53 "$OG_TMP/zones" "$(privnet_onion mx0)" "$(privnet_onion mx0)" "$(privnet_onion mx0)" ||
	{ echo "nsd did not start"; exit 1; }
privnet_wait_ready 180 || exit 1

# bench_tor_start NS DIR: a standalone Debian tor on DIR/torrc (the harness's guard refuses one
# without DirAuthority lines), once it has bootstrapped.
bench_tor_start() {
	local ns=$1 d=$2
	privnet_spawn_tor "$ns" "$d" || return 1
	BENCH_TOR_PID=$OG_SPAWNED
	og_wait_for 120 grep -qs 'Bootstrapped 100%' "$d/notice.log"
}

# bench_tor_dir NAME OPTION...: a fresh data directory and torrc for a standalone client tor.
bench_tor_dir() {
	local d="$OG_TMP/$1"
	shift
	rm -rf "$d"
	mkdir -p "$d"
	chmod 700 "$d"
	{
		privnet_client_options
		echo "DataDirectory $d"
		echo "Log notice file $d/notice.log"
		printf '%s\n' "$@"
	} > "$d/torrc"
	echo "$d"
}

for section in dns memory mail idle; do
	[[ $SECTIONS == *" $section "* ]] || continue
	og_log "bench: section $section (hop delay $BENCH_DELAY ms)"
	. "$OG_TOP/tests/bench/section_$section.sh"
done
