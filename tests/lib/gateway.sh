# SPDX-License-Identifier: ISC
# gateway.sh: oniongated as the tests run it: a config for the private network, the harness's
# DirAuthority guard, start in the gateway namespace, wait for readiness, stop and reap.

# gw_config DIR [extra lines...]: a config in DIR/oniongate.conf for the private network.
gw_config() {
	local dir=$1 line
	shift
	mkdir -p "$dir"
	{
		echo "run-dir $dir/run"
		echo "data-dir $dir/data"
		echo "log-level info"
		echo "log-target stderr"
		privnet_client_options | while read -r line; do echo "tor-option $line"; done
		for line in "$@"; do echo "$line"; done
	} > "$dir/oniongate.conf"
}

# gw_start DIR [BINARY [WRAPPER...]]: starts oniongated; GW_PID is its PID (or the wrapper's).
gw_start() {
	local dir=$1 bin=${2:-$OG_TOP/daemon/oniongated}
	shift 2 2>/dev/null || shift $#
	# A config with socks-server starts no Tor; any other must name the private authorities.
	if ! grep -q '^tor-option DirAuthority \|^socks-server ' "$dir/oniongate.conf"; then
		og_log "gateway: refusing to start oniongated: $dir/oniongate.conf has no DirAuthority line"
		return 1
	fi
	: > "$dir/oniongated.log" # now, not in the background: no wait may read the last run's log
	LSAN_OPTIONS="suppressions=$OG_TOP/tests/lsan.supp:print_suppressions=0" \
		og_spawn "$GW_NS" "$dir/oniongated.log" "$@" "$bin" -d -c "$dir/oniongate.conf"
	GW_PID=$OG_SPAWNED
}

gw_log_has() {
	grep -q -- "$2" "$1/oniongated.log"
}

# gw_stop DIR: SIGTERM; the exit code of oniongated (124 if it had to be killed).
gw_stop() {
	local i
	kill -TERM "$GW_PID" 2>/dev/null
	for ((i = 0; i < 600; i++)); do
		if ! kill -0 "$GW_PID" 2>/dev/null; then
			wait "$GW_PID"
			return $?
		fi
		sleep 0.1
	done
	kill -KILL "$GW_PID"
	wait "$GW_PID" 2>/dev/null
	return 124
}

gw_rss_kb() {
	awk '/^VmRSS:/{print $2}' "/proc/$GW_PID/status"
}

# gw_banner DIR HOST PORT SECONDS: the first line read through the daemon's SOCKS socket,
# retrying until SECONDS have passed (the first rendezvous may fail on a young network).
gw_banner() {
	local dir=$1 host=$2 port=$3 limit=$4 out end
	end=$(($(date +%s) + limit))
	while [ "$(date +%s)" -lt "$end" ]; do
		if out=$(ip netns exec "$GW_NS" "$OG_TOOLS/socksbanner" "$dir/run/tor/socks" "$host" "$port" 20 2>>"$dir/socksbanner.err"); then
			echo "$out"
			return 0
		fi
		sleep 1
	done
	return 1
}
