#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The demo: an unmodified Debian Postfix on a LAN delivers to an onion MX through oniongated.
# lan (Postfix, swaks) -- gw (oniongated, nft) -- wan (private Tor network, nsd, the onion MX:
# a second Postfix reachable only as a v3 onion service). Prints the path; tears everything down.
set -uo pipefail

. "$(dirname "$0")/lib/all.sh"

[ "$(id -u)" = 0 ] || { echo "the demo needs root (network namespaces)" >&2; exit 1; }
og_init demo
t_start=$(date +%s.%N)
og_world
ip -n "$LAN_NS" addr add fd00:0:0:1::10/64 dev "$LAN_IF" nodad
ip -n "$GW_NS" addr add fd00:0:0:1::1/64 dev "$GW_LAN_IF" nodad
ip -n "$LAN_NS" -6 route add default via fd00:0:0:1::1
echo "== namespaces: $LAN_NS (Postfix) -- $GW_NS (oniongated) -- $WAN_NS (Tor network, DNS, onion MX)"

privnet_start "$WAN_NS" 198.51.100.1 "$OG_TMP/privnet" "${DELAY_MS:-0}" 3 mx=127.0.0.1:25:25 || exit 1
onion=$(privnet_onion mx)
zones_start "$WAN_NS" 198.51.100.53 "$OG_TMP/zones" "$onion" "$onion" "$onion" || exit 1
mkdir -p "$OG_TMP/mailbox"
chown nobody "$OG_TMP/mailbox"
mail_start mx "$WAN_NS" "$OG_TMP/pf-mx" 127.0.0.1 "myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" \
	"mydestination = localhost" "virtual_mailbox_domains = example.test mapped.test $onion" \
	"virtual_mailbox_base = $OG_TMP/mailbox" "virtual_mailbox_maps = static:user/" \
	"virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534" || exit 1
echo "== onion MX: Postfix at $onion (example.test by SRV, mapped.test by map file)"

dir="$OG_TMP/gw"
mkdir -p "$dir"
echo "mapped.test smtptor:[$onion]" > "$dir/onionmx.map"
gw_config "$dir" "dns-listen 192.0.2.1" "dns-upstream 198.51.100.53" "client-network 192.0.2.0/24" \
	"client-network fd00:0:0:1::/64" "transparent-port 9040" "lan-interface $GW_LAN_IF" \
	"onion-map $dir/onionmx.map" "trust-anchor $OG_TMP/zones/trust-anchors"
gw_start "$dir" || exit 1
og_wait_for 90 gw_log_has "$dir" "tor ready" || { echo "oniongated did not bootstrap"; exit 1; }
privnet_wait_ready 60 || exit 1
echo "== oniongated ($("$OG_TOP/daemon/oniongated" -V)): Tor ready, nft table installed"

mail_start lan "$LAN_NS" "$OG_TMP/pf-lan" 192.0.2.1 "myhostname = mail.lan.test" "mydestination = localhost" \
	"mynetworks = 127.0.0.0/8 192.0.2.0/24 [fd00:0:0:1::]/64" || exit 1
echo "== LAN Postfix: stock master.cf, no transport map, no torsocks, resolver 192.0.2.1"

t_submit=$(date +%s.%N)
for rcpt in user@example.test user@mapped.test "user@$onion"; do
	mail_submit "$LAN_NS" "$rcpt" "oniongate demo to $rcpt" || { echo "swaks could not submit to $rcpt"; exit 1; }
done
mail_wait_delivered "$OG_TMP/mailbox" 3 120 "$LAN_NS" "$OG_TMP/pf-lan"
echo "== the LAN Postfix's log:"
grep -E "status=" "$OG_TMP/pf-lan/maillog" | sed 's/^.*postfix\//   postfix\//'
echo "== oniongated's streams:"
grep -E "stream .* (open|closed)" "$dir/oniongated.log" | sed 's/^[^[]*\[[a-z]*\] /   /'
echo "== the onion MX's mailbox:"
for m in "$OG_TMP"/mailbox/user/new/*; do
	[ -f "$m" ] || continue
	echo "   $(grep -m1 '^Subject:' "$m")"
	awk '/^Received:/{p=1} p&&/^[^ \t]/&&!/^Received:/{p=0} p' "$m" | sed 's/^/      /'
done
n=$(mail_count "$OG_TMP/mailbox")
bounced=$(grep -c "status=bounced" "$OG_TMP/pf-lan/maillog")
printf '== %d of 3 mails delivered, %d bounced, %.0f s from submission, %.0f s in all\n' "$n" "$bounced" \
	"$(privnet_since "$t_submit")" "$(privnet_since "$t_start")"
gw_stop "$dir"
if [ "$n" = 3 ] && [ "$bounced" = 0 ]; then
	echo "verdict: OK - an unmodified Postfix delivered LAN -> onion MX through oniongated"
else
	echo "verdict: FAILED"
	exit 1
fi
