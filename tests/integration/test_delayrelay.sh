# SPDX-License-Identifier: ISC
# test_delayrelay: the harness's hop delay is real: a banner read through delayrelay (50 ms)
# arrives no sooner than 50 ms after the connect, and intact.

og_spawn "$WAN_NS" "$OG_TMP/delayrelay-test.log" "$OG_TOOLS/delayrelay" 50 127.0.0.1:2600=127.0.0.1:2525
og_wait_for 5 ip netns exec "$WAN_NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/2600' 2>/dev/null
delay_out=$(ip netns exec "$WAN_NS" bash -c '
	t0=$(date +%s%N)
	exec 3<>/dev/tcp/127.0.0.1/2600
	IFS= read -r line <&3
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / 1000000 )) ${line%$'"'"'\r'"'"'}"')
delay_ms=${delay_out%% *}
echo "delayrelay: banner after ${delay_ms} ms: ${delay_out#* }"
og_check "delayrelay passes the bytes intact" test "${delay_out#* }" = "220 mx.onion.test ESMTP"
og_check "delayrelay holds them at least 50 ms" test "${delay_ms:-0}" -ge 50
