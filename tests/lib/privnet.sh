# SPDX-License-Identifier: ISC
# privnet.sh: a private Tor network from Debian's tor binary inside one namespace the test
# made: 3 directory authorities, N relays, any number of v3 onion services, optional hop delay.
# Source after common.sh. Never starts a tor whose torrc lacks DirAuthority lines.
# Only the authorities are HSDirs: relays run with DirCache 0 (so clients never fetch a consensus
# ahead of its descriptors), and a DirCache 0 relay voted HSDir swallows uploads and fetches.
#
#   privnet_start NS ADDR DIR DELAY_MS NRELAYS [ONION=TARGET_IP:TARGET_PORT:VIRTPORT ...]
#   privnet_wait_ready SECONDS      consensus lists every relay, every onion descriptor uploaded
#   privnet_onion NAME              the .onion hostname of an onion service
#   privnet_client_options          the options a client of this network needs, one per line
#   privnet_start_obfs4_bridge NS ADDR PORT DIR   an obfs4 bridge of this network (below)

PRIVNET_AUTHS=3

privnet_common_options() {
	cat <<EOT
TestingTorNetwork 1
UseDefaultFallbackDirs 0
ClientUseIPv6 0
ClientPreferIPv6ORPort 0
PathsNeededToBuildCircuits 0.67
SafeLogging 0
Schedulers Vanilla
EOT
	cat "$PRIVNET_DIR/dirauth-lines"
}

# The harness's guard, for every tor it starts: a torrc with no DirAuthority line would use the
# public network. privnet_spawn_tor NS DIR starts tor on DIR/torrc in NS (OG_SPAWNED is its PID).
privnet_spawn_tor() {
	local ns=$1 dir=$2
	if ! grep -q '^DirAuthority ' "$dir/torrc"; then
		og_log "privnet: refusing to start a tor: $dir/torrc has no DirAuthority line"
		return 1
	fi
	og_spawn "$ns" "$dir/stdout.log" tor --defaults-torrc /dev/null -f "$dir/torrc"
}

privnet_start_tor() {
	privnet_spawn_tor "$PRIVNET_NS" "$PRIVNET_DIR/$1" || return 1
	echo "$OG_SPAWNED" > "$PRIVNET_DIR/$1/harness.pid"
}

privnet_node_options() {
	local name=$1 orport=$2 d="$PRIVNET_DIR/$1"
	privnet_common_options
	cat <<EOT
Nickname $name
DataDirectory $d
PidFile $d/tor.pid
Log notice file $d/notice.log
ShutdownWaitLength 0
Sandbox 0
SocksPort 0
Address $PRIVNET_ADDR
AddressDisableIPv6 1
AssumeReachable 1
ContactInfo privnet@oniongate.test
TestingDirAuthVoteExit *
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir $PRIVNET_HSDIRS
TestingMinExitFlagThreshold 0
V3AuthNIntervalsValid 2
ExitRelay 1
ExitPolicy accept $PRIVNET_ADDR/32:*
ExitPolicy accept 127.0.0.0/8:*
ExitPolicy reject *:*
ServerDNSResolvConfFile $PRIVNET_DIR/resolv.conf
ServerDNSDetectHijacking 0
ServerDNSTestAddresses 127.0.0.1
EOT
	if [ "$PRIVNET_DELAY" -gt 0 ]; then
		echo "ORPort $PRIVNET_ADDR:$orport NoListen"
		echo "ORPort 127.0.0.1:$((orport + 1000)) NoAdvertise"
		PRIVNET_RELAY_MAP+=("$PRIVNET_ADDR:$orport=127.0.0.1:$((orport + 1000))")
	else
		echo "ORPort $PRIVNET_ADDR:$orport"
	fi
}

privnet_keys() {
	local i d v3 fp
	: > "$PRIVNET_DIR/dirauth-lines"
	PRIVNET_HSDIRS=""
	for ((i = 0; i < PRIVNET_AUTHS; i++)); do
		d="$PRIVNET_DIR/auth$i"
		mkdir -p "$d/keys"
		chmod 700 "$d"
		echo "" | tor-gencert --create-identity-key -m 12 -a "$PRIVNET_ADDR:$((7000 + i))" \
			-i "$d/keys/authority_identity_key" -s "$d/keys/authority_signing_key" \
			-c "$d/keys/authority_certificate" --passphrase-fd 0 >/dev/null 2>&1 || return 1
		v3=$(awk '/^fingerprint /{print $2}' "$d/keys/authority_certificate")
		fp=$(privnet_fingerprint "$d") || return 1
		echo "DirAuthority auth$i orport=$((5000 + i)) no-v2 v3ident=$v3 $PRIVNET_ADDR:$((7000 + i)) $fp" \
			>> "$PRIVNET_DIR/dirauth-lines"
		PRIVNET_HSDIRS="$PRIVNET_HSDIRS${PRIVNET_HSDIRS:+,}\$$fp"
	done
}

# A relay's identity fingerprint, generating its keys; the throwaway --dirserver keeps this
# key-only run off the public authorities (it opens no connection either way).
privnet_fingerprint() {
	local d=$1
	tor --defaults-torrc /dev/null --ignore-missing-torrc -f /nonexistent --quiet --list-fingerprint \
		--DataDirectory "$d" --ORPort 1 --dirserver "x 127.0.0.1:1 ffffffffffffffffffffffffffffffffffffffff" \
		2>/dev/null | tail -1 | cut -d' ' -f2- | tr -d ' '
}

privnet_start() {
	PRIVNET_NS=$1 PRIVNET_ADDR=$2 PRIVNET_DIR=$3 PRIVNET_DELAY=$4 PRIVNET_RELAYS=$5
	shift 5
	PRIVNET_ONIONS=("$@")
	PRIVNET_RELAY_MAP=()
	PRIVNET_NODES=()
	local i name d spec start
	start=$(date +%s.%N)
	mkdir -p "$PRIVNET_DIR"
	echo "nameserver 127.0.0.1" > "$PRIVNET_DIR/resolv.conf"
	privnet_keys || { og_log "privnet: key generation failed"; return 1; }

	for ((i = 0; i < PRIVNET_AUTHS; i++)); do
		name="auth$i" d="$PRIVNET_DIR/$name"
		{
			privnet_node_options "$name" $((5000 + i))
			cat <<EOT
DirPort $PRIVNET_ADDR:$((7000 + i))
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
TestingV3AuthInitialVotingInterval 5
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
AuthDirVoteStableGuaranteeMinUptime 0
AuthDirVoteStableGuaranteeMTBF 0
EOT
		} > "$d/torrc"
		PRIVNET_NODES+=("$name")
	done
	for ((i = 0; i < PRIVNET_RELAYS; i++)); do
		name="relay$i" d="$PRIVNET_DIR/$name"
		mkdir -p "$d"
		chmod 700 "$d"
		{ privnet_node_options "$name" $((5100 + i)); echo "DirCache 0"; } > "$d/torrc"
		PRIVNET_NODES+=("$name")
	done

	if [ "$PRIVNET_DELAY" -gt 0 ]; then
		og_spawn "$PRIVNET_NS" "$PRIVNET_DIR/delayrelay.log" \
			"$OG_TOOLS/delayrelay" "$PRIVNET_DELAY" "${PRIVNET_RELAY_MAP[@]}"
	fi
	for name in "${PRIVNET_NODES[@]}"; do
		privnet_start_tor "$name" || return 1
	done
	og_log "privnet: ${#PRIVNET_NODES[@]} nodes started on $PRIVNET_ADDR (delay ${PRIVNET_DELAY} ms per hop each way)"

	# Staged start: onion services join once the consensus lists every relay as usable.
	if ! og_wait_for 90 privnet_consensus_complete; then
		og_log "privnet: consensus incomplete after 90 s"
		return 1
	fi
	og_log "privnet: consensus complete after $(privnet_since "$start") s"
	for spec in "${PRIVNET_ONIONS[@]}"; do
		privnet_start_onion "$spec" || return 1
	done
	PRIVNET_STARTED_AT=$start
}

privnet_since() {
	echo "$(date +%s.%N) $1" | awk '{printf "%.1f", $1 - $2}'
}

privnet_consensus_complete() {
	local want=$((PRIVNET_AUTHS + PRIVNET_RELAYS)) have
	have=$(ip netns exec "$PRIVNET_NS" curl -s --max-time 2 \
		"http://$PRIVNET_ADDR:7000/tor/status-vote/current/consensus" 2>/dev/null |
		grep '^s ' | grep -c 'Running.*Stable.*Valid\|Running.*Valid.*Stable\|Stable.*Running.*Valid')
	[ "${have:-0}" -ge "$want" ]
}

# ONION=TARGET_IP:TARGET_PORT:VIRTPORT
privnet_start_onion() {
	local spec=$1 name=${1%%=*} target=${1#*=} d
	local tip=${target%%:*} rest=${target#*:}
	local tport=${rest%%:*} vport=${rest#*:}
	d="$PRIVNET_DIR/hs-$name"
	mkdir -p "$d/hs"
	chmod 700 "$d" "$d/hs"
	{
		privnet_common_options
		cat <<EOT
Nickname hs$name
DataDirectory $d
PidFile $d/tor.pid
Log notice file $d/notice.log
Log [rend]info file $d/rend.log
ShutdownWaitLength 0
SocksPort 0
HiddenServiceDir $d/hs
HiddenServicePort $vport $tip:$tport
EOT
	} > "$d/torrc"
	privnet_start_tor "hs-$name" || return 1
	og_wait_for 15 test -s "$d/hs/hostname" || { og_log "privnet: onion $name wrote no hostname"; return 1; }
}

# Every upload the service started has succeeded: a client asking an HSDir that has not got the
# descriptor yet would hold that failure against the onion for 15 minutes.
privnet_onion_uploaded() {
	local log="$PRIVNET_DIR/hs-$1/rend.log" started done
	started=$(grep -c 'initiated upload request to' "$log" 2>/dev/null)
	done=$(grep -c 'Uploaded hidden service descriptor (status 200' "$log" 2>/dev/null)
	[ "${done:-0}" -ge 1 ] && [ "${done:-0}" -ge "${started:-0}" ]
}

privnet_wait_ready() {
	local limit=$1 spec name
	for spec in "${PRIVNET_ONIONS[@]}"; do
		name=${spec%%=*}
		if ! og_wait_for "$limit" privnet_onion_uploaded "$name"; then
			og_log "privnet: onion $name published no descriptor in $limit s"
			return 1
		fi
	done
	og_log "privnet: ready (every onion descriptor upload done) after $(privnet_since "$PRIVNET_STARTED_AT") s"
}

privnet_onion() {
	cat "$PRIVNET_DIR/hs-$1/hs/hostname"
}

privnet_client_options() {
	privnet_common_options
}

# privnet_start_obfs4_bridge NS ADDR PORT DIR: a bridge of the network (Debian's tor, BridgeRelay 1,
# PublishServerDescriptor 0, ORPort ADDR:5300) whose clients reach it only through obfs4proxy, its
# server transport, on ADDR:PORT; started in NS through the harness' guard, state in DIR. Waits up to
# 90 s for it to bootstrap and write its bridge line. Leaves PRIVNET_BRIDGE_PID, PRIVNET_BRIDGE_FP
# (its fingerprint), PRIVNET_BRIDGE_TEMPLATE (obfs4_bridgeline.txt's "Bridge obfs4 <IP ADDRESS>:<PORT>
# <FINGERPRINT> cert=... iat-mode=0") and PRIVNET_BRIDGE_LINE (that line filled in, without
# "Bridge": what a bridge directive takes).
privnet_start_obfs4_bridge() {
	local ns=$1 addr=$2 port=$3 dir=$4
	PRIVNET_BRIDGE_PID="" PRIVNET_BRIDGE_FP="" PRIVNET_BRIDGE_TEMPLATE="" PRIVNET_BRIDGE_LINE=""
	mkdir -p "$dir"
	chmod 700 "$dir"
	{
		privnet_common_options
		cat <<EOT
Nickname bridge0
DataDirectory $dir
PidFile $dir/tor.pid
Log notice file $dir/notice.log
ShutdownWaitLength 0
Sandbox 0
SocksPort 0
Address $addr
AddressDisableIPv6 1
AssumeReachable 1
ContactInfo privnet@oniongate.test
BridgeRelay 1
BridgeDistribution none
PublishServerDescriptor 0
ExitRelay 0
ORPort $addr:5300
ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy
ServerTransportListenAddr obfs4 $addr:$port
EOT
	} > "$dir/torrc"
	privnet_spawn_tor "$ns" "$dir" || return 1
	PRIVNET_BRIDGE_PID=$OG_SPAWNED
	if ! og_wait_for 90 privnet_bridge_ready "$dir"; then
		og_log "privnet: the obfs4 bridge in $dir did not bootstrap or write its bridge line in 90 s"
		return 1
	fi
	PRIVNET_BRIDGE_TEMPLATE=$(grep '^Bridge obfs4 ' "$dir/pt_state/obfs4_bridgeline.txt")
	PRIVNET_BRIDGE_FP=$(awk '{ print $2 }' "$dir/fingerprint")
	PRIVNET_BRIDGE_LINE="obfs4 $addr:$port $PRIVNET_BRIDGE_FP ${PRIVNET_BRIDGE_TEMPLATE#*<FINGERPRINT> }"
}

privnet_bridge_ready() {
	grep -q 'Bootstrapped 100%' "$1/notice.log" 2>/dev/null &&
		grep -q '^Bridge obfs4 ' "$1/pt_state/obfs4_bridgeline.txt" 2>/dev/null && test -s "$1/fingerprint"
}
