#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench-appliance.sh: `make bench-appliance ARCH=arm64|armhf|amd64`: the built image booted in QEMU (TCG)
# as in image-test; in the same guest, oniongated beside Debian's tor of that arch (client only, the same
# private network's options): binary sizes, RSS after bootstrap, after MAPPINGS onion mappings and with
# STREAMS streams to an echo onion held open, boot times. Rows: docs/benchmarks-appliance.tsv.
# IMAGE= boots another image than build/image's; DEB= installs a newer oniongate .deb in the guest first.
set -uo pipefail

ARCH=${ARCH:-arm64}
MAPPINGS=${MAPPINGS:-200}
STREAMS=${STREAMS:-50}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
STEP_TIMEOUT=${STEP_TIMEOUT:-300} # each wait after the boot (SSH, Tor, streams)
. "$(dirname "$0")/../tests/lib/all.sh"
. "$OG_TOP/image/qemu-arch.sh"
. "$OG_TOP/image/guestlib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "bench-appliance needs root (network namespaces, taps)" >&2
	exit 1
fi

og_init "bench-appliance-$ARCH"
UPGRADED=
BENCH_OUT=$OG_TMP/bench
. "$OG_TOP/tests/bench/lib.sh"
TSV=${BENCH_TSV:-$OG_TOP/docs/benchmarks-appliance.tsv}
SECTION="appliance $ARCH"
NS_VM="$OG_RUN_ID-vm" NS_WAN="$OG_RUN_ID-wan" NS_LAN="$OG_RUN_ID-lan"
# The image's LAN address (image/rootfs/etc/systemd/network/20-lan.network); the LAN host's, outside
# the guest's DHCP range; the WAN, where the private Tor network and the echo onion's target run.
GUEST_LAN=192.168.42.1
LAN_HOST=192.168.42.50
WAN_ADDR=198.51.100.1
WAN_DNS_ADDR=198.51.100.53
ECHO_PORT=7777
GUEST_DIR=/root/bench-appliance

# world: guestlib's guest_world, and the LAN host's address and route through the guest.
world() {
	guest_world
	ip -n "$NS_LAN" addr add "$LAN_HOST/24" dev lan0
	ip -n "$NS_LAN" route add default via "$GUEST_LAN"
}

# wan: the private Tor network with an echo onion, and a DHCP server for the guest's WAN.
wan() {
	og_spawn "$NS_WAN" "$OG_TMP/echod.log" "$OG_TOOLS/echod" 127.0.0.1 "$ECHO_PORT"
	privnet_start "$NS_WAN" "$WAN_ADDR" "$OG_TMP/privnet" 0 3 "echo=127.0.0.1:$ECHO_PORT:$ECHO_PORT" ||
		{ og_log "bench-appliance: the private Tor network did not start"; return 1; }
	og_spawn "$NS_WAN" "$OG_TMP/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
		--interface=wan0 --bind-interfaces --dhcp-range=198.51.100.100,198.51.100.150,255.255.255.0,1h \
		--dhcp-option=option:router,"$WAN_ADDR" --dhcp-option=option:dns-server,"$WAN_DNS_ADDR" \
		--dhcp-leasefile="$OG_TMP/wan.leases" --pid-file= --log-dhcp --log-facility=-
	ECHO_ONION=$(privnet_onion echo)
}

# disk: a copy of the image (IMAGE=, else the newest build/image/oniongate-*-ARCH.img.xz) with the
# private network's config and this run's SSH key on it (guestlib's disk_private_config).
disk() {
	IMAGE=${IMAGE:-$(ls -t "$OG_TOP"/build/image/oniongate-*-"$ARCH".img.xz 2>/dev/null | head -1)}
	[ -f "$IMAGE" ] || { og_log "bench-appliance: no image (make image ARCH=$ARCH, or IMAGE=)"; return 1; }
	xz -dc "$IMAGE" > "$OG_TMP/disk.img" || return 1
	disk_private_config "$OG_TMP/disk.img" bench-appliance "$OG_TMP/oniongate.conf" "$OG_TMP/id_bench" || return 1
	qemu_arch "$ARCH" "$OG_TMP" "$OG_TMP/disk.img" ||
		{ og_log "bench-appliance: no QEMU or firmware for $ARCH (apt-get install ${QEMU_PKGS:-qemu})"; return 1; }
}

# private_ok FILE PREFIX: FILE has the private authorities and TestingTorNetwork (lines after PREFIX).
private_ok() {
	grep -q "^$2DirAuthority " "$1" && grep -q "^$2TestingTorNetwork 1" "$1"
}

# conf_private_ok FILE: an oniongate.conf with the private authorities and TestingTorNetwork.
conf_private_ok() { private_ok "$1" "tor-option "; }

# boot: the guard reads both configs back from the disk (OGCONFIG's, the installed one), then QEMU
# boots it at nice 10.
boot() {
	disk_configs_pass "$OG_TMP/disk.img" conf_private_ok ||
		{ og_log "bench-appliance: refusing to boot: OGCONFIG's or the installed oniongate.conf lacks the private DirAuthority lines"; return 1; }
	: > "$OG_TMP/serial.log"
	T0=$(date +%s.%N)
	og_spawn "$NS_VM" "$OG_TMP/qemu.log" nice -n 10 "$QEMU_BIN" "${QEMU_ARGS[@]}" -m 512 -smp 2 \
		-nodefaults -display none -monitor none -serial "file:$OG_TMP/serial.log" \
		-netdev tap,id=wan,ifname=tapwan,script=no,downscript=no \
		-device "$QEMU_NIC,netdev=wan,mac=52:54:00:0e:5b:01" \
		-netdev tap,id=lan,ifname=taplan,script=no,downscript=no \
		-device "$QEMU_NIC,netdev=lan,mac=52:54:00:0e:5b:02"
	og_log "bench-appliance: QEMU pid $OG_SPAWNED ($ARCH, TCG, 512 MiB, nice 10), console $OG_TMP/serial.log"
}

since_power_on() { awk -v t0="$T0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.0f", t1 - t0 }'; }

# wait_clock SECONDS command...: polls until the command succeeds, bounded by the clock (a try
# through SSH takes seconds under TCG).
wait_clock() {
	local end=$(($(date +%s) + $1))
	shift
	while [ "$(date +%s)" -lt "$end" ]; do
		"$@" && return 0
		sleep 1
	done
	return 1
}

# g_ssh: a command in the guest. The connect timeout is long: under TCG on a loaded host sshd's
# banner took over 4 s.
g_ssh() {
	ip netns exec "$NS_LAN" ssh -i "$OG_TMP/id_bench" -o BatchMode=yes -o ConnectTimeout=30 -o LogLevel=ERROR \
		-o UserKnownHostsFile="$OG_TMP/known_hosts" -o StrictHostKeyChecking=accept-new root@"$GUEST_LAN" "$@"
}

serial_has() { grep -aqE "$1" "$OG_TMP/serial.log"; }
# tor_ready [N]: oniongated's journal of this boot has N (1) "tor ready" lines.
tor_ready() { [ "$(g_ssh journalctl -b -u oniongated -o cat 2>/dev/null | grep -c 'tor ready')" -ge "${1:-1}" ]; }
guest_tor_ready() { g_ssh journalctl -u bench-tor -o cat 2>/dev/null | grep -q 'Bootstrapped 100%'; }
guest_rss_kb() { g_ssh awk "'/^VmRSS:/ { print \$2 }'" "/proc/$1/status"; }
# guest_rss_parts PID: "VmRSS RssAnon RssFile RssShmem" in KiB from one read of the status file (heap
# and stacks apart from mapped files).
guest_rss_parts() {
	g_ssh awk "'/^VmRSS:/ { r = \$2 } /^RssAnon:/ { a = \$2 } /^RssFile:/ { f = \$2 } /^RssShmem:/ { s = \$2 }
		END { print r + 0, a + 0, f + 0, s + 0 }'" "/proc/$1/status"
}

# rss_split VMRSS ANON FILE SHMEM: "anon A + file F MiB" for a row's note; fails unless VMRSS (the
# row's value) is the sum of the others, i.e. the split comes from the read the row reports.
rss_split() {
	[ "${1:-0}" -gt 0 ] && [ "$1" -eq $(($2 + $3 + $4)) ] || return 1
	awk -v a="$2" -v f="$3" 'BEGIN { printf "anon %.1f + file %.1f MiB", a / 1024, f / 1024 }'
}

# guest_seconds UNIT PATTERN: seconds from UNIT's start (this boot) to its first journal line with PATTERN.
guest_seconds() {
	local start ready
	start=$(g_ssh systemctl show -p ExecMainStartTimestampMonotonic --value "$1")
	ready=$(g_ssh journalctl -b -u "$1" -o short-monotonic | grep -m1 -- "$2" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
	[ -n "$start" ] && [ -n "$ready" ] && awk -v s="$start" -v r="$ready" 'BEGIN { printf "%.1f", r - s / 1e6 }'
}

# socks.pl, run in the guest by its perl-base (the image has no other client of its own):
#   resolve FILE: a SOCKS5 RESOLVE (Tor's 0xF0) of every name in FILE: with AutomapHostsOnResolve
#     each .onion gets a virtual address, the mapping DNSPort would make; prints the count answered.
#   hold N HOST PORT: N SOCKS5 streams to HOST:PORT, each echoing one byte; prints 'held N failed M'
#     and holds them until stdin closes.
socks_pl() {
	cat <<-'EOT'
	use strict; use warnings; use IO::Socket::INET;
	sub sock { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => 9150, Proto => 'tcp') }
	sub request { my ($cmd, $host, $port) = @_;
		return pack('C3', 5, 1, 0) . pack('C5', 5, $cmd, 0, 3, length $host) . $host . pack('n', $port) }
	sub reply_ok { my ($s) = @_; my $r = '';
		while (length $r < 12) { my $n = sysread($s, $r, 12 - length $r, length $r); return 0 unless $n }
		return substr($r, 3, 1) eq "\0"; }
	my $mode = shift @ARGV;
	if ($mode eq 'resolve') {
		open(my $f, '<', $ARGV[0]) or die; my $ok = 0;
		while (my $name = <$f>) { chomp $name; my $s = sock() or next;
			syswrite($s, request(0xF0, $name, 0)); $ok++ if reply_ok($s); close $s }
		print "$ok\n"; exit 0;
	}
	my ($n, $host, $port) = @ARGV; my (@open, @held); my $failed = 0;
	for (1 .. $n) { my $s = sock(); if ($s) { syswrite($s, request(1, $host, $port)); push @open, $s } else { $failed++ } }
	for my $s (@open) { my $c = '';
		if (reply_ok($s) && syswrite($s, 'x') && sysread($s, $c, 1) && $c eq 'x') { push @held, $s } else { $failed++ } }
	$| = 1; printf "held %d failed %d\n", scalar @held, $failed;
	1 while <STDIN>;
	EOT
}

# fetch_tor_deb: Debian's tor of ARCH into build/appliance/ARCH/debs, with an apt of its own (its
# lists under build/appliance/ARCH/apt, APT::Architecture=ARCH), as image/build.sh fetches systemd-boot;
# SECURITY_MIRROR=none leaves bookworm-security out, as there (bookworm's main has the same tor).
fetch_tor_deb() {
	local a="$OG_TOP/build/appliance/$ARCH/apt"
	local opts=(-q -o APT::Architecture="$ARCH" -o APT::Architectures::="$ARCH" -o Dir::State="$a/state"
		-o Dir::State::status="$a/state/status" -o Dir::Cache="$a/cache" -o Dir::Etc::SourceList="$a/sources.list"
		-o Dir::Etc::SourceParts=/dev/null -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null)
	ls "$OG_TOP/build/appliance/$ARCH"/debs/tor_*_"$ARCH".deb >/dev/null 2>&1 && return 0
	mkdir -p "$a/state/lists/partial" "$a/cache/archives/partial" "$OG_TOP/build/appliance/$ARCH/debs"
	if [ ! -f "$a/sources.list" ]; then
		: > "$a/state/status"
		printf '%s\n' "deb ${MIRROR:-http://deb.debian.org/debian} bookworm main" > "$a/sources.list"
		[ "${SECURITY_MIRROR:-}" = none ] || echo "deb ${SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main" \
			>> "$a/sources.list"
		apt-get "${opts[@]}" update > "$a/update.log" 2>&1 || { og_log "bench-appliance: apt-get update for $ARCH failed"; return 1; }
	fi
	(cd "$OG_TOP/build/appliance/$ARCH/debs" && apt-get "${opts[@]}" download tor) > "$a/download.log" 2>&1 ||
		{ og_log "bench-appliance: apt-get download tor:$ARCH failed (see $a/download.log)"; return 1; }
}

# guest_tor: Debian's tor of ARCH (its .deb fetched with image/build.sh's apt of that arch, unpacked on
# this machine, never installed: its package would start tor.service with the default config) copied
# into the guest with socks.pl and a torrc: the tor-option lines of the guest's oniongate.conf (the
# private network's and the image's own), so both Tors run with the same options; the guard reads the
# torrc back from the guest before systemd-run starts it.
guest_tor() {
	local deb_dir="$OG_TOP/build/appliance/$ARCH" deb
	deb=$(ls -t "$deb_dir"/debs/tor_*_"$ARCH".deb 2>/dev/null | head -1)
	[ -n "$deb" ] || { og_log "bench-appliance: no $deb_dir/debs/tor_*_$ARCH.deb "; return 1; }
	rm -rf "$OG_TMP/tor-deb"
	dpkg-deb -x "$deb" "$OG_TMP/tor-deb" || return 1
	TOR_DEB_VERSION=$(dpkg-deb -f "$deb" Version)
	{
		sed -n 's/^tor-option //p' "$OG_TMP/oniongate.conf"
		echo "DataDirectory $GUEST_DIR/data"
		echo "Log notice stdout"
		echo "SocksPort 127.0.0.1:9150"
		echo "DNSPort 127.0.0.1:5353"
		echo "AutomapHostsOnResolve 1"
	} > "$OG_TMP/guest-torrc"
	g_ssh "mkdir -p -m 700 $GUEST_DIR $GUEST_DIR/data" &&
		g_ssh "cat > $GUEST_DIR/tor && chmod 755 $GUEST_DIR/tor" < "$OG_TMP/tor-deb/usr/bin/tor" &&
		g_ssh "cat > $GUEST_DIR/torrc" < "$OG_TMP/guest-torrc" &&
		g_ssh "cat > $GUEST_DIR/socks.pl" < <(socks_pl) &&
		g_ssh "cat > $GUEST_DIR/names" < "$OG_TMP/names" ||
		{ og_log "bench-appliance: copying tor, its torrc and socks.pl into the guest failed"; return 1; }
	g_ssh cat "$GUEST_DIR/torrc" > "$OG_TMP/guest-torrc.read"
	private_ok "$OG_TMP/guest-torrc.read" "" ||
		{ og_log "bench-appliance: refusing to start the guest's tor: its torrc lacks DirAuthority lines"; return 1; }
	g_ssh systemd-run --unit=bench-tor --collect "$GUEST_DIR/tor" --defaults-torrc /dev/null -f "$GUEST_DIR/torrc" \
		>/dev/null 2>&1 || { og_log "bench-appliance: systemd-run of the guest's tor failed"; return 1; }
	GUEST_TOR_PID=$(g_ssh systemctl show -p MainPID --value bench-tor)
}

# sizes: the installed oniongated (the .deb's, stripped) and Debian's /usr/bin/tor of the same arch.
sizes() {
	g_ssh cat /usr/sbin/oniongated > "$OG_TMP/oniongated.$ARCH"
	local og_size tor_size note="$OG_VERSION, Tor linked in, client only"
	og_size=$(stat -c %s "$OG_TMP/oniongated.$ARCH")
	tor_size=$(stat -c %s "$OG_TMP/tor-deb/usr/bin/tor")
	file "$OG_TMP/oniongated.$ARCH" | grep -q ', stripped' || note="NOT stripped; $note"
	bench_row "$SECTION" "binary size (/usr/sbin/oniongated as installed, stripped)" MB lower \
		"$(awk -v s="$og_size" 'BEGIN { printf "%.2f", s / 1e6 }')" "Debian's /usr/bin/tor ($TOR_DEB_VERSION)" \
		"$(awk -v s="$tor_size" 'BEGIN { printf "%.2f", s / 1e6 }')" "$note"
}

mib() { awk -v k="$1" 'BEGIN { if (k + 0 == k && k != "") printf "%.1f", k / 1024; else print "n/a" }'; }

measure() {
	local og_pid og_rss=() tor_rss=() og_boot tor_boot og_split tor_split og_mapped tor_mapped pool og_hold tor_hold og_held tor_held peer
	og_pid=$(g_ssh systemctl show -p MainPID --value oniongated)
	sleep 5
	og_boot=$(guest_rss_parts "$og_pid") tor_boot=$(guest_rss_parts "$GUEST_TOR_PID")
	og_rss+=("${og_boot%% *}") tor_rss+=("${tor_boot%% *}")

	og_mapped=$(ip netns exec "$NS_LAN" dig +short +time=3 +tries=2 @"$GUEST_LAN" -f "$OG_TMP/names.dig" | grep -c '^10\.')
	tor_mapped=$(g_ssh perl "$GUEST_DIR/socks.pl" resolve "$GUEST_DIR/names")
	og_log "bench-appliance: mappings made: oniongated $og_mapped, tor ${tor_mapped:-?} of $MAPPINGS"
	og_rss+=("$(guest_rss_kb "$og_pid")") tor_rss+=("$(guest_rss_kb "$GUEST_TOR_PID")")

	pool=$(ip netns exec "$NS_LAN" dig +short +time=3 @"$GUEST_LAN" "$ECHO_ONION" A)
	exec {og_hold}> >(ip netns exec "$NS_LAN" "$OG_TOOLS/relaybench" hold "$pool" "$ECHO_PORT" "$STREAMS" \
		> "$OG_TMP/og-held")
	OG_PIDS+=("$!") # the holders are ended with the run (og_cleanup) if a guest stops answering
	wait_clock "$STEP_TIMEOUT" grep -q '^held' "$OG_TMP/og-held"
	og_rss+=("$(guest_rss_kb "$og_pid")")
	exec {tor_hold}> >(g_ssh perl "$GUEST_DIR/socks.pl" hold "$STREAMS" "$ECHO_ONION" "$ECHO_PORT" > "$OG_TMP/tor-held")
	OG_PIDS+=("$!")
	wait_clock "$STEP_TIMEOUT" grep -q '^held' "$OG_TMP/tor-held"
	tor_rss+=("$(guest_rss_kb "$GUEST_TOR_PID")")
	og_held=$(cat "$OG_TMP/og-held") tor_held=$(cat "$OG_TMP/tor-held")
	og_log "bench-appliance: streams: oniongated '$og_held', tor '$tor_held'"
	MEM_KIB=$(g_ssh awk "'/^MemTotal:/ { t = \$2 } /^MemAvailable:/ { a = \$2 } END { print t - a }'" /proc/meminfo)
	exec {og_hold}>&- {tor_hold}>&-
	bench_raw "$SECTION" oniongate rss_kb "${og_rss[@]}"
	bench_raw "$SECTION" tor rss_kb "${tor_rss[@]}"

	# shellcheck disable=SC2086 # the reads' fields, one argument each
	og_split=$(rss_split "${og_rss[0]}" ${og_boot#* }) && tor_split=$(rss_split "${tor_rss[0]}" ${tor_boot#* }) ||
		{ og_log "bench-appliance: the anon/file split ('$og_boot', '$tor_boot') is not the read of the bootstrap row"; return 1; }
	peer="Debian's tor $TOR_DEB_VERSION client, same guest and options"
	bench_row "$SECTION" "RSS after bootstrap" MiB lower "$(mib "${og_rss[0]}")" "$peer" "$(mib "${tor_rss[0]}")" \
		"VmRSS in the guest; oniongated $og_split, tor $tor_split"
	bench_row "$SECTION" "RSS after $MAPPINGS onion mappings" MiB lower "$(mib "${og_rss[1]}")" "$peer" \
		"$(mib "${tor_rss[1]}")" "mapped: oniongated $og_mapped (LAN DNS), tor ${tor_mapped:-?} (SOCKS RESOLVE, automap)"
	bench_row "$SECTION" "RSS with $STREAMS streams open as well" MiB lower "$(mib "${og_rss[2]}")" "$peer" \
		"$(mib "${tor_rss[2]}")" "oniongated '$og_held' (LAN TCP), tor '$tor_held' (SOCKS)"
}

# publish: this arch's rows replace its earlier ones in docs/benchmarks-appliance.tsv.
publish() {
	local tmp="$TSV.tmp"
	{ [ -f "$TSV" ] && awk -F'\t' -v s="$SECTION" '$1 != s' "$TSV"; cat "$BENCH_OUT/rows.tsv"; } > "$tmp"
	mv "$tmp" "$TSV"
	og_log "bench-appliance: rows written to $TSV"
}

# upgrade: DEB= (an oniongate .deb of ARCH newer than the image's) installed in the booted guest as
# apt would, oniongated restarted on it: the image's system with that daemon, without a new image.
upgrade() {
	[ -n "${DEB:-}" ] || return 0
	{ g_ssh "cat > /root/oniongate-upgrade.deb" < "$DEB" &&
		g_ssh "dpkg -i /root/oniongate-upgrade.deb && systemctl restart oniongated"; } > "$OG_TMP/upgrade.log" 2>&1 ||
		{ og_log "bench-appliance: installing $DEB in the guest failed"; cat "$OG_TMP/upgrade.log"; return 1; }
	wait_clock "$STEP_TIMEOUT" tor_ready 2 || { og_log "bench-appliance: the upgraded oniongated never said tor ready"; return 1; }
	UPGRADED=", $(basename "$DEB") installed on it"
}

main() {
	local t_ssh t_tor t_report og_start_ready tor_boot
	"$OG_TOOLS/onionname" "$MAPPINGS" > "$OG_TMP/names"
	sed 's/$/ A/' "$OG_TMP/names" > "$OG_TMP/names.dig"
	fetch_tor_deb || exit 1
	world
	wan || exit 1
	disk || exit 1
	boot || exit 1
	wait_clock "$BOOT_TIMEOUT" serial_has 'oniongate-report: oniongated=' ||
		{ og_log "bench-appliance: no oniongate-report on the console in $BOOT_TIMEOUT s"; tail -30 "$OG_TMP/serial.log"; exit 1; }
	t_report=$(since_power_on)
	serial_has 'oniongate-config: /etc/oniongate/oniongate.conf from' ||
		{ og_log "bench-appliance: OGCONFIG was not imported (no SSH key): the console's failures:"
			grep -a 'Dependency failed\|result .timeout' "$OG_TMP/serial.log" | tail -5; exit 1; }
	serial_has 'oniongate-report: oniongated=active' ||
		{ og_log "bench-appliance: oniongated is not active"; grep -a 'oniongate-report' "$OG_TMP/serial.log"; exit 1; }
	wait_clock "$BOOT_TIMEOUT" g_ssh true 2>/dev/null || { og_log "bench-appliance: no SSH"; exit 1; }
	t_ssh=$(since_power_on)
	privnet_wait_ready 180 || exit 1
	wait_clock "$STEP_TIMEOUT" tor_ready || { og_log "bench-appliance: oniongated never said tor ready"; exit 1; }
	t_tor=$(since_power_on)
	og_start_ready=$(guest_seconds oniongated 'tor ready')
	og_log "bench-appliance: $ARCH: power-on to oniongated's report ${t_report} s, to SSH ${t_ssh} s, to tor ready ${t_tor} s"
	upgrade || exit 1
	OG_VERSION=$(g_ssh oniongated -V 2>&1 | head -1)
	guest_tor || exit 1
	wait_clock "$STEP_TIMEOUT" guest_tor_ready || { og_log "bench-appliance: the guest's tor did not bootstrap"; exit 1; }
	tor_boot=$(guest_seconds bench-tor 'Bootstrapped 100%')
	sizes
	measure || exit 1
	bench_row "$SECTION" "Tor start to bootstrapped (oniongated: start to 'tor ready')" s lower "${og_start_ready:-n/a}" \
		"Debian's tor $TOR_DEB_VERSION, same guest" "${tor_boot:-n/a}" \
		"empty Tor state both; unit start to the journal line; oniongated's during the boot (the image's), tor's after it"
	bench_row "$SECTION" "power-on to oniongated ready (console report)" s lower "$t_report" - n/a \
		"QEMU virt TCG, nice 10, 512 MiB; image $(basename "$IMAGE")${UPGRADED:-}; to tor ready ${t_tor} s; RAM in use $(mib "${MEM_KIB:-}") MiB"
	publish
	cat "$BENCH_OUT/rows.tsv"
}

main "$@"
