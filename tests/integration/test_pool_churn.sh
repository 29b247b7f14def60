# SPDX-License-Identifier: ISC
# test_pool_churn: a LAN host that churns onion names cannot take the address of another host's
# cached answer (issue 11 item 4). Tiny pool (/29, pool-max 5, onion-ttl 4): while the victim's
# answer lives (TTL + 5 s grace) its address is never handed to another name, the overflowing names
# get SERVFAIL and the log says why; once the answer has expired, eviction resumes.

pc_dir="$OG_TMP/pool-churn"
pc_ttl=4
pc_grace=5
gw_config "$pc_dir" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24" \
	"pool-ipv4 10.200.201.0/29" "pool-max 5" "onion-ttl $pc_ttl" "srv-discovery off" "warm-up off"
gw_start "$pc_dir"
og_check "the tiny-pool gateway answers DNS" og_wait_for 40 gw_log_has "$pc_dir" "dns: listening on $GW_LAN_ADDR"
og_wait_for 60 gw_log_has "$pc_dir" "tor ready" # no bootstrap lines between the refusals below

# pc_query NAME [TYPE]: "STATUS ANSWER..." (ANSWER empty on SERVFAIL).
pc_query() {
	ip netns exec "$LAN_NS" dig +time=2 +tries=1 @"$GW_LAN_ADDR" "$1" "${2:-A}" +noall +comments +answer |
		awk '/status:/ { sub(/,$/, "", $6); st = $6 } /^[^;]/ && NF >= 5 { an = an " " $NF } END { print st an }'
}
mapfile -t pc_names < <("$OG_TOOLS/onionname" 46)
pc_victim=${pc_names[0]}

read -r pc_status pc_addr < <(pc_query "$pc_victim")
pc_t0=$(date +%s)
echo "pool_churn: victim $pc_victim A $pc_addr ($pc_status)"
og_check "the victim's onion gets an address of the /29" \
	bash -c "[ '$pc_status' = NOERROR ] && [[ '$pc_addr' =~ ^10\.200\.201\.[1-6]$ ]]"

# The attacker: 40 other onion names, as fast as it can.
pc_ok=0 pc_servfail=0 pc_stolen=0 pc_other=0
declare -A pc_given=()
for n in "${pc_names[@]:1:40}"; do
	read -r st addr < <(pc_query "$n")
	case "$st" in
	NOERROR)
		pc_ok=$((pc_ok + 1))
		[ "$addr" = "$pc_addr" ] && pc_stolen=$((pc_stolen + 1))
		pc_given[$addr]=$n ;;
	SERVFAIL) pc_servfail=$((pc_servfail + 1)) ;;
	*) pc_other=$((pc_other + 1)) ;;
	esac
done
pc_t1=$(date +%s)
echo "pool_churn: $pc_ok answered, $pc_servfail SERVFAIL, $pc_other other, in $((pc_t1 - pc_t0)) s"
og_check "the churn ran within the victim's TTL + grace" test $((pc_t1 - pc_t0)) -lt $((pc_ttl + pc_grace - 1))
og_check "the victim's address went to no other name" test "$pc_stolen" = 0
og_check "the 4 free slots were given to 4 distinct addresses" \
	bash -c "[ $pc_ok = 4 ] && [ ${#pc_given[@]} = 4 ]"
og_check "the 36 overflowing names got SERVFAIL" test "$pc_servfail" = 36
pc_why="dns: onion names get SERVFAIL: every pool address is held by a stream or named by an answer that may still be cached"
og_check "the log says why" gw_log_has "$pc_dir" "$pc_why"
og_check "... in one line folded for the 36 refusals, not 36 lines" \
	test "$(grep -c -- "$pc_why" "$pc_dir/oniongated.log")" -le 3
og_check "the victim's name still has its address" test "$(pc_query "$pc_victim")" = "NOERROR $pc_addr"
og_check "the PTR of the victim's address still names it" \
	test "$(pc_query "$(echo "$pc_addr" | awk -F. '{ print $4 "." $3 "." $2 "." $1 ".in-addr.arpa" }')" PTR)" \
	= "NOERROR $pc_victim."
pc_t2=$(date +%s)

# After every answer has expired, new names get addresses again: the 5 slots are evicted.
sleep $((pc_t2 + pc_ttl + pc_grace + 1 - $(date +%s)))
pc_fresh=0
for n in "${pc_names[@]:41:5}"; do
	read -r st addr < <(pc_query "$n")
	[ "$st" = NOERROR ] && [[ "$addr" =~ ^10\.200\.201\.[1-6]$ ]] && pc_fresh=$((pc_fresh + 1))
done
og_check "after the TTL + grace, 5 new names get addresses (eviction resumes)" test "$pc_fresh" = 5
og_check "and the victim's name, now evicted, waits like any other (SERVFAIL)" \
	test "$(pc_query "$pc_victim")" = SERVFAIL
gw_stop "$pc_dir"
og_check "the tiny-pool gateway stops with exit 0" test $? = 0
