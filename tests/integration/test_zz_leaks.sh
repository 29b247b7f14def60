# test_zz_leaks (runs last): the capture of the gateway's upstream link holds DNS queries, and
# not one of them names a .onion (RFC 7686).

og_stop "$UPSTREAM_CAPTURE_PID"
leak_queries=$(tcpdump -r "$OG_TMP/upstream.pcap" -n "src host $GW_WAN_ADDR and dst port 53" 2>/dev/null)
leak_total=$(printf '%s\n' "$leak_queries" | grep -c '?')
leak_onion=$(printf '%s\n' "$leak_queries" | grep -ci '\.onion\.')
echo "leaks: $leak_total DNS queries left the gateway, $leak_onion of them for .onion names"
og_check "the capture saw the gateway's upstream queries" test "$leak_total" -gt 0
og_check "no DNS query for a .onion name left the gateway" test "$leak_onion" = 0
