# SPDX-License-Identifier: ISC
# resolver.sh: a LAN mail server's own validating resolver: Debian's unbound, trusting only the
# test zones' anchors and forwarding everything to the gateway. Source after common.sh.
#
#   resolver_start NS ADDR DIR FORWARD_TO ANCHORS
#       unbound on ADDR:53 in NS (foreground, as root, no chroot; config, pidfile and log in
#       DIR), validating with the DNSKEY lines of ANCHORS and no root anchor (the test zones are
#       islands of trust), forwarding "." to FORWARD_TO; unbound's own local zones for test. and
#       onion. are off and onion. is insecure, so both reach the gateway. RESOLVER_PID is its PID.
#   resolver_stop

resolver_config() {
	local addr=$1 dir=$2 forward=$3 anchors=$4
	cat <<EOT
server:
	interface: $addr
	port: 53
	access-control: 0.0.0.0/0 allow
	do-ip6: no
	username: ""
	chroot: ""
	directory: "$dir"
	pidfile: "$dir/unbound.pid"
	logfile: "$dir/unbound.log"
	use-syslog: no
	log-time-ascii: yes
	verbosity: 1
	val-log-level: 2
	trust-anchor-file: "$anchors"
	local-zone: "test." nodefault
	local-zone: "onion." nodefault
	domain-insecure: "onion"
remote-control:
	control-enable: no
forward-zone:
	name: "."
	forward-addr: $forward
EOT
}

resolver_start() {
	local ns=$1 addr=$2 dir=$3 forward=$4 anchors=$5
	RESOLVER_DIR=$dir
	mkdir -p "$dir"
	resolver_config "$addr" "$dir" "$forward" "$anchors" > "$dir/unbound.conf"
	unbound-checkconf "$dir/unbound.conf" >/dev/null || { og_log "resolver: bad unbound.conf"; return 1; }
	og_spawn "$ns" "$dir/unbound.stdout" unbound -d -c "$dir/unbound.conf"
	RESOLVER_PID=$OG_SPAWNED
	og_wait_for 10 ip netns exec "$ns" dig +short +time=1 +tries=1 @"$addr" localhost A >/dev/null ||
		{ og_log "resolver: unbound does not answer on $addr"; return 1; }
}

resolver_stop() {
	og_stop "$RESOLVER_PID"
}
