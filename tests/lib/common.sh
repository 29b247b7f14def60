# SPDX-License-Identifier: ISC
# common.sh: what every oniongate integration test shares: a scratch dir, namespaces and
# processes it made (and removes on any exit), pass/fail counting and the closing line.
# Source it; then call og_init NAME.

OG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OG_TOOLS="$OG_TOP/build/tools"
OG_PASSED=0
OG_FAILED=0
OG_PIDS=()
OG_NETNS=()
OG_ETC_NETNS=()

og_log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

og_init() {
	local name=$1
	OG_RUN_ID="og$$"
	OG_TMP=$(mktemp -d "/tmp/oniongate-$name.XXXXXX")
	export OG_TMP OG_RUN_ID
	trap og_cleanup EXIT
	trap 'exit 130' INT TERM
}

og_pass() { OG_PASSED=$((OG_PASSED + 1)); printf 'PASS: %s\n' "$*"; }
og_fail() { OG_FAILED=$((OG_FAILED + 1)); printf 'FAIL: %s\n' "$*"; }

# og_check "what" command...: passes when the command succeeds.
og_check() {
	local what=$1
	shift
	if "$@"; then og_pass "$what"; else og_fail "$what"; fi
}

og_summary() {
	printf '%d passed, %d failed\n' "$OG_PASSED" "$OG_FAILED"
	[ "$OG_FAILED" = 0 ]
}

og_netns_add() {
	local ns=$1
	ip netns add "$ns"
	OG_NETNS+=("$ns")
	ip -n "$ns" link set lo up
}

# og_link NS1 ADDR1/LEN NS2 ADDR2/LEN: a veth pair between two namespaces.
og_link() {
	local ns1=$1 a1=$2 ns2=$3 a2=$4
	local i1="v${#OG_NETNS[@]}a$RANDOM" i2="v${#OG_NETNS[@]}b$RANDOM"
	ip link add "$i1" netns "$ns1" type veth peer name "$i2" netns "$ns2"
	ip -n "$ns1" addr add "$a1" dev "$i1"
	ip -n "$ns2" addr add "$a2" dev "$i2"
	ip -n "$ns1" link set "$i1" up
	ip -n "$ns2" link set "$i2" up
	echo "$i1 $i2"
}

# og_nft_packets NS FAMILY TABLE CHAIN COMMENT: the packets counted by the rule of that chain
# whose comment is COMMENT (the tests' own nft tables: censors, probes).
og_nft_packets() {
	ip netns exec "$1" nft -j list chain "$2" "$3" "$4" |
		jq -r ".nftables[] | select(.rule.comment == \"$5\") | .rule.expr[] | select(.counter) | .counter.packets"
}

# The standard world: lan -- gw -- wan (the private Tor network and the test zones' DNS on wan).
WAN_ADDR=198.51.100.1 GW_WAN_ADDR=198.51.100.2 WAN_DNS_ADDR=198.51.100.53 GW_LAN_ADDR=192.0.2.1 LAN_ADDR=192.0.2.10

# og_world: the namespaces LAN_NS, GW_NS and WAN_NS linked lan -- gw -- wan with the standard
# addresses (interfaces WAN_IF, GW_WAN_IF, LAN_IF, GW_LAN_IF), wan's DNS address, lan routed via gw.
og_world() {
	LAN_NS="$OG_RUN_ID-lan" GW_NS="$OG_RUN_ID-gw" WAN_NS="$OG_RUN_ID-wan"
	og_netns_add "$LAN_NS"
	og_netns_add "$GW_NS"
	og_netns_add "$WAN_NS"
	read -r WAN_IF GW_WAN_IF < <(og_link "$WAN_NS" "$WAN_ADDR/24" "$GW_NS" "$GW_WAN_ADDR/24")
	read -r LAN_IF GW_LAN_IF < <(og_link "$LAN_NS" "$LAN_ADDR/24" "$GW_NS" "$GW_LAN_ADDR/24")
	ip -n "$WAN_NS" addr add "$WAN_DNS_ADDR/24" dev "$WAN_IF"
	ip -n "$LAN_NS" route add default via "$GW_LAN_ADDR"
}

# og_spawn NS LOG command...: starts a process in a namespace, records its PID in OG_SPAWNED.
og_spawn() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	OG_SPAWNED=$!
	OG_PIDS+=("$OG_SPAWNED")
}

# og_stop PID [SECONDS]: TERM, wait, then KILL; only PIDs this run started.
og_stop() {
	local pid=$1 wait_s=${2:-10} i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < wait_s * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# og_wait_for SECONDS command...: polls every 0.2 s until the command succeeds.
og_wait_for() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

og_cleanup() {
	local rc=$? pid ns
	for pid in "${OG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${OG_PIDS[@]}"; do
		og_stop "$pid" 5
	done
	for ns in "${OG_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for ns in "${OG_ETC_NETNS[@]}"; do
		rm -rf "$ns"
	done
	if [ "${OG_KEEP_TMP:-0}" = 1 ] || [ "$rc" != 0 ]; then
		og_log "scratch dir kept: $OG_TMP"
	else
		rm -rf "$OG_TMP"
	fi
	exit "$rc"
}
