# SPDX-License-Identifier: ISC
# test_zz_leaks (runs last): the captures of the gateway's upstream link over the whole run:
# DNS queries are there, and not one of them names a .onion (RFC 7686); no packet went to a
# pool address. Both captures are kept in build/test-artifacts/.

og_stop "$UPSTREAM_CAPTURE_PID"
og_stop "$POOL_CAPTURE_PID"
leak_queries=$(tcpdump -r "$OG_TMP/upstream.pcap" -n "src host $GW_WAN_ADDR and dst port 53" 2>/dev/null)
leak_total=$(printf '%s\n' "$leak_queries" | grep -c '?')
leak_onion=$(printf '%s\n' "$leak_queries" | grep -ci '\.onion\.')
leak_pool=$(tcpdump -r "$OG_TMP/pool.pcap" -n 2>/dev/null | wc -l)
echo "leaks: $leak_total DNS queries left the gateway, $leak_onion of them for .onion names; $leak_pool packets to pool addresses"
og_check "the capture saw the gateway's upstream queries" test "$leak_total" -gt 0
og_check "no DNS query for a .onion name left the gateway" test "$leak_onion" = 0
og_check "no packet to a pool address left the gateway" test "$leak_pool" = 0
mkdir -p "$OG_TOP/build/test-artifacts"
cp "$OG_TMP/upstream.pcap" "$OG_TMP/pool.pcap" "$OG_TOP/build/test-artifacts/"
