#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# image-test.sh: `make image-test ARCH=...`: the built image booted whole (firmware, bootloader, kernel)
# in QEMU as the router between two namespaces this test makes: WAN (a private Tor network, nsd, a
# DHCP server, the onion MX's Postfix) and LAN (an unmodified Postfix that takes its address and DNS
# from the appliance by DHCP). Mail end to end, the leak checks, the sandbox, a reboot, a cold boot,
# a censored WAN (obfs4 bridge lines on OGCONFIG, every other packet dropped), the times.
set -uo pipefail

ARCH=${ARCH:-amd64}
. "$(dirname "$0")/../tests/lib/all.sh"
. "$OG_TOP/image/qemu-arch.sh"
. "$OG_TOP/image/guestlib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "image-test needs root (network namespaces, taps)" >&2
	exit 1
fi

# The image's own addresses (image/rootfs/etc/systemd/network/20-lan.network), and the WAN's.
GUEST_LAN=192.168.42.1
WAN_ADDR=198.51.100.1
WAN_DNS_ADDR=198.51.100.53
ECHO_PORT=8080
BR_ADDR=198.51.100.7 # the obfs4 bridge of the censored-WAN phase, beside the WAN's other services
BR_PORT=4430
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}

og_init "image-test-$ARCH"
NS_VM="$OG_RUN_ID-vm" NS_WAN="$OG_RUN_ID-wan" NS_LAN="$OG_RUN_ID-lan"
QEMU_PID=
T0=

# seconds_since T: whole seconds from T (date +%s.%N) to now.
seconds_since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.0f", t1 - t0 }'; }
since_power_on() { seconds_since "$T0"; }

# part_offset NAME: the byte offset of the test disk's GPT partition named NAME.
part_offset() { disk_part_offset "$OG_TMP/disk.img" "$1"; }

# wan_services: everything the appliance finds on its WAN: the private Tor network with the onion
# MX, the test zones (example.test publishes the onion MX by SRV), a DHCP server (dnsmasq, its DNS
# off) that names that DNS server, a TCP echo for the masquerade check, and a capture of it all.
wan_services() {
	og_spawn "$NS_WAN" "$OG_TMP/tcpdump-wan.log" tcpdump -i wan0 -n -U -Z root -w "$OG_TMP/wan.pcap" \
		not ether proto 0x0806
	WAN_CAPTURE_PID=$OG_SPAWNED
	privnet_start "$NS_WAN" "$WAN_ADDR" "$OG_TMP/privnet" 0 3 pfmx=127.0.0.1:25:25 ||
		{ og_fail "private Tor network starts"; return 1; }
	og_pass "private Tor network starts on the WAN (3 authorities, 3 relays, the onion MX)"
	PFMX=$(privnet_onion pfmx)
	zones_start "$NS_WAN" "$WAN_DNS_ADDR" "$OG_TMP/zones" "$PFMX" "$PFMX" "$PFMX" ||
		{ og_fail "the WAN's authoritative zones are served"; return 1; }
	MAILBOX="$OG_TMP/mail/mailbox"
	mkdir -p "$MAILBOX"
	chown nobody "$MAILBOX"
	og_check "the onion MX's Postfix starts" mail_start mx "$NS_WAN" "$OG_TMP/mail/pf-mx" 127.0.0.1 \
		"myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" "mydestination = localhost" \
		"virtual_mailbox_domains = example.test $PFMX" "virtual_mailbox_base = $MAILBOX" \
		"virtual_mailbox_maps = static:user/" "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534"
	og_spawn "$NS_WAN" "$OG_TMP/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
		--interface=wan0 --bind-interfaces --dhcp-range=198.51.100.100,198.51.100.150,255.255.255.0,1h \
		--dhcp-option=option:router,"$WAN_ADDR" --dhcp-option=option:dns-server,"$WAN_DNS_ADDR" \
		--dhcp-leasefile="$OG_TMP/wan.leases" --pid-file= --log-dhcp --log-facility=-
	og_spawn "$NS_WAN" "$OG_TMP/echod.log" "$OG_TOOLS/echod" "$WAN_ADDR" "$ECHO_PORT"
}

# lan_dhcp: the LAN host's DHCP client (busybox udhcpc) on lan0; its script applies the lease and
# writes it to $OG_TMP/lan.lease (ip=, router=, dns=).
lan_dhcp() {
	cat > "$OG_TMP/udhcpc.sh" <<-'EOT'
	#!/bin/sh
	case $1 in
	deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
	bound|renew)
		ip addr flush dev "$interface"
		ip addr add "$ip/${mask:-24}" dev "$interface"
		ip route replace default via "${router%% *}" dev "$interface"
		printf 'ip=%s\nrouter=%s\ndns=%s\n' "$ip" "$router" "$dns" > "$LEASE_FILE.new"
		mv "$LEASE_FILE.new" "$LEASE_FILE" ;;
	esac
	EOT
	chmod 755 "$OG_TMP/udhcpc.sh"
	og_spawn "$NS_LAN" "$OG_TMP/udhcpc.log" env LEASE_FILE="$OG_TMP/lan.lease" \
		udhcpc -f -i lan0 -s "$OG_TMP/udhcpc.sh" -t 0 -T 2 -A 2
}

lease_value() { sed -n "s/^$1=//p" "$OG_TMP/lan.lease" 2>/dev/null | cut -d' ' -f1; }

# disk: a fresh copy of the published image; the guard must refuse its shipped config; then the
# private network's config and the test's SSH key on it (guestlib's disk_private_config).
disk() {
	IMAGE=$(ls -t "$OG_TOP"/build/image/oniongate-*-"$ARCH".img.xz 2>/dev/null | head -1)
	[ -n "$IMAGE" ] || { og_fail "an image: no build/image/oniongate-*-$ARCH.img.xz (make image ARCH=$ARCH)"; return 1; }
	xz -dc "$IMAGE" > "$OG_TMP/disk.img" || return 1
	# Flashed onto a card larger than the image: the root partition grows on the first boot.
	truncate -s +512M "$OG_TMP/disk.img"
	MTOOLS_SKIP_CHECK=1 mtype -i "$OG_TMP/disk.img@@$(part_offset OGCONFIG)" ::oniongate.conf > "$OG_TMP/shipped.conf" ||
		return 1
	og_check "the guard refuses to boot the image as shipped (its config reaches the real Tor network)" \
		bash -c "! guard_ok '$OG_TMP/shipped.conf'"
	disk_private_config "$OG_TMP/disk.img" image-test "$OG_TMP/oniongate.conf" "$OG_TMP/id_test" || return 1
	qemu_arch "$ARCH" "$OG_TMP" "$OG_TMP/disk.img" ||
		{ og_fail "QEMU and firmware for $ARCH (apt-get install ${QEMU_PKGS:-qemu})"; return 1; }
}

# guard_ok FILE: a config the harness may boot: the private authorities and TestingTorNetwork.
guard_ok() {
	grep -q '^tor-option DirAuthority ' "$1" && grep -q '^tor-option TestingTorNetwork 1' "$1"
}
export -f guard_ok

# boot [QEMU ARGS...]: the guard reads both configs back from the disk itself (OGCONFIG's and the
# installed one), then QEMU boots the disk.
boot() {
	if ! disk_configs_pass "$OG_TMP/disk.img" guard_ok; then
		og_fail "refusing to boot: OGCONFIG's or the installed oniongate.conf lacks the private DirAuthority or TestingTorNetwork lines"
		return 1
	fi
	: > "$OG_TMP/serial.log"
	T0=$(date +%s.%N)
	og_spawn "$NS_VM" "$OG_TMP/qemu.log" "$QEMU_BIN" "${QEMU_ARGS[@]}" -m 512 -smp 2 \
		-nodefaults -display none -monitor none -serial "file:$OG_TMP/serial.log" \
		-netdev tap,id=wan,ifname=tapwan,script=no,downscript=no \
		-device "$QEMU_NIC,netdev=wan,mac=52:54:00:0e:5b:01" \
		-netdev tap,id=lan,ifname=taplan,script=no,downscript=no \
		-device "$QEMU_NIC,netdev=lan,mac=52:54:00:0e:5b:02" "$@"
	QEMU_PID=$OG_SPAWNED
	og_log "image-test: QEMU pid $QEMU_PID ($ARCH, TCG, 512 MiB), serial console $OG_TMP/serial.log"
}

# guest_wait_for SECONDS command...: og_wait_for by the clock, for commands that go through SSH
# (each try may take seconds under TCG: og_wait_for's count of tries would wait many times longer).
guest_wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	while [ "$(date +%s)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# serial_count REGEX: lines of the serial console matching REGEX.
serial_count() { grep -acE "$1" "$OG_TMP/serial.log"; }

g_ssh() {
	ip netns exec "$NS_LAN" ssh -i "$OG_TMP/id_test" -o BatchMode=yes -o ConnectTimeout=4 -o LogLevel=ERROR \
		-o UserKnownHostsFile="$OG_TMP/known_hosts" -o StrictHostKeyChecking="${SSH_STRICT:-accept-new}" \
		root@"$GUEST_LAN" "$@"
}

g_ssh_quiet() { g_ssh "$@" 2>/dev/null; }

lan_dig() { ip netns exec "$NS_LAN" dig +short +time=2 +tries=2 "$@"; }

tor_ready() { g_ssh journalctl -b -u oniongated -o cat 2>/dev/null | grep -q 'tor ready'; }

# journal_has TEXT: oniongated's journal of this boot has a line with TEXT.
journal_has() { g_ssh journalctl -b -u oniongated -o cat 2>/dev/null | grep -qF -- "$1"; }

mail_delivered() { mail_wait_delivered "$MAILBOX" "$1" "$2" "$NS_LAN" "$OG_TMP/mail/pf-lan"; }

# first_boot: DHCP on the LAN, SSH, Tor, then a mail LAN -> onion MX, with the times from power-on.
first_boot() {
	og_check "the LAN host gets a lease from the appliance" og_wait_for "$BOOT_TIMEOUT" test -s "$OG_TMP/lan.lease"
	T_LEASE=$(since_power_on)
	og_check "the lease names the appliance as router and DNS server" \
		test "$(lease_value router) $(lease_value dns)" = "$GUEST_LAN $GUEST_LAN"
	og_check "SSH with the test's key (OGCONFIG's authorized_keys) answers on the LAN" \
		guest_wait_for "$BOOT_TIMEOUT" g_ssh_quiet true
	T_SSH=$(since_power_on)
	og_check "oniongated reaches tor ready (its journal)" guest_wait_for "$BOOT_TIMEOUT" tor_ready
	T_TOR=$(since_power_on)
	og_check "the OGCONFIG copy was made before oniongated started" \
		serial_has 1 'oniongate-config: /etc/oniongate/oniongate.conf from'
	og_check "the appliance's WAN took its address by DHCP" grep -q '52:54:00:0e:5b:01' "$OG_TMP/wan.leases"
	GUEST_WAN=$(awk '$2 == "52:54:00:0e:5b:01" { print $3 }' "$OG_TMP/wan.leases")

	og_check "the LAN's Postfix starts (stock master.cf, resolver: the lease's DNS)" mail_start lan "$NS_LAN" \
		"$OG_TMP/mail/pf-lan" "$(lease_value dns)" "myhostname = mail.lan.test" "mydestination = localhost" \
		"mynetworks = 127.0.0.0/8 192.168.42.0/24"
	og_check "swaks submits a mail for user@example.test to the LAN Postfix" \
		mail_submit "$NS_LAN" user@example.test "through the appliance"
	og_check "the mail reaches the onion MX's mailbox" mail_delivered 1 180
	T_MAIL=$(since_power_on)
	og_check "the LAN log shows relay=<onion>[<pool address>]:25 status=sent" \
		grep -qE "relay=$PFMX\[10\.[0-9.]+\]:25, .*status=sent" "$OG_TMP/mail/pf-lan/maillog"
}

# router: the appliance's DNS follows the WAN lease, answers LAN DNS sent elsewhere, masquerades.
router() {
	local answer
	answer=$(lan_dig @"$GUEST_LAN" www.plain.test A)
	og_check "a clearnet name resolves through the lease's DNS server (no dns-upstream in the config)" \
		test "$answer" = 198.51.100.80
	answer=$(lan_dig @198.51.100.99 "$PFMX" A)
	og_check "a .onion query the LAN sends to another server is answered by the appliance (pool address)" \
		bash -c "[[ '$answer' =~ ^10\. ]]"
	answer=$(printf 'ping\n' | ip netns exec "$NS_LAN" timeout 10 nc -N "$WAN_ADDR" "$ECHO_PORT")
	og_check "LAN TCP to the WAN is forwarded (echo answered)" test "$answer" = ping
	sleep 1
	og_check "the WAN sees it from the appliance's WAN address (masquerade), never from the LAN's" \
		bash -c "tcpdump -r '$OG_TMP/wan.pcap' -n 'tcp dst port $ECHO_PORT and tcp[tcpflags] & tcp-syn != 0' 2>/dev/null |
			grep -q ' $GUEST_WAN\.[0-9]* > $WAN_ADDR.$ECHO_PORT:' &&
			! tcpdump -r '$OG_TMP/wan.pcap' -n 'src net 192.168.42.0/24' 2>/dev/null | grep -q ."
}

# inside: what the guest itself says: the sandbox in force, the memory in use.
inside() {
	local sec
	sec=$(g_ssh systemd-analyze security --no-pager oniongated.service 2>&1 | tail -1)
	og_check "systemd-analyze security in the guest: oniongated's exposure is OK ($sec)" \
		bash -c "[[ '$sec' =~ exposure\ level\ for\ oniongated.service:\ ([0-9.]+)\ OK ]]"
	og_check "oniongated runs as user oniongate in the guest" \
		test "$(g_ssh ps -o user= -C oniongated | tr -d ' ' | sort -u)" = oniongate
	MEM_KIB=$(g_ssh awk \''/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print t - a }'\' /proc/meminfo)
	og_check "the running system uses <= 256 MiB with the gateway ready (${MEM_KIB:-?} KiB)" \
		test "${MEM_KIB:-999999}" -le $((256 * 1024))
	local root_mib
	root_mib=$(g_ssh df -BM --output=size / | tail -1 | tr -dc 0-9)
	og_check "the root filesystem grew into the larger disk on the first boot (${root_mib:-?} MiB, image 1024)" \
		test "${root_mib:-0}" -gt 1400
	og_check "the kernel hook puts the running kernel and initrd on the EFI partition (what apt's kernel updates run)" \
		g_ssh 'v=$(uname -r); /etc/kernel/postinst.d/zz-oniongate-esp "$v" | grep -q "boots kernel $v" &&
			cmp -s /boot/efi/vmlinuz "/boot/vmlinuz-$v" && cmp -s /boot/efi/initrd.img "/boot/initrd.img-$v"'
	og_check "no secret shipped: the machine id, SSH host keys and pool key were made in this guest" \
		g_ssh test -s /etc/machine-id -a -s /etc/ssh/ssh_host_ed25519_key -a -s /var/lib/oniongate/pool.key
}

# reboot: the fake addresses, the pool key, Tor's state and SSH's host key survive; mail still flows.
reboot_keeps_state() {
	local addr_before key_before t_reboot
	addr_before=$(lan_dig @"$GUEST_LAN" "$PFMX" A)
	key_before=$(g_ssh sha256sum /var/lib/oniongate/pool.key)
	g_ssh systemctl reboot
	t_reboot=$(date +%s.%N)
	if ! og_wait_for "$BOOT_TIMEOUT" serial_has 2 'oniongate-report: oniongated=active'; then
		og_fail "the guest reboots and oniongated is ready again (not within $BOOT_TIMEOUT s; the console's end:)"
		serial_tail
		return 1
	fi
	og_pass "the guest reboots and oniongated is ready again"
	T_REBOOT=$(seconds_since "$t_reboot")
	SSH_STRICT=yes og_check "SSH after the reboot, with the host key of the first boot (strict check)" \
		guest_wait_for 120 g_ssh_quiet true
	og_check "the pool key is the same after the reboot" \
		test "$(g_ssh sha256sum /var/lib/oniongate/pool.key)" = "$key_before"
	og_check "tor ready after the reboot" guest_wait_for 180 tor_ready
	og_check "the onion keeps its fake IPv4 address across the reboot" \
		same_nonempty "$addr_before" "$(lan_dig @"$GUEST_LAN" "$PFMX" A)"
	mail_submit "$NS_LAN" user@example.test "after the reboot"
	og_check "a mail after the reboot reaches the onion MX" mail_delivered 2 180
}

# cold_boot_wrong_clock: powered off, then on with a real-time clock years behind (a board with no
# RTC): the clock comes back from timesyncd's saved time before oniongated starts; mail still flows.
cold_boot_wrong_clock() {
	local saved host_now guest_now guards
	g_ssh systemctl poweroff
	og_check "the guest powers off" og_wait_for 120 qemu_gone
	wait "$QEMU_PID" 2>/dev/null
	saved=$(date +%s)
	guards=$(disk_cat /var/lib/oniongate/tor/state | state_guards)
	og_check "Tor's state on the powered-off disk holds its sampled guards" test -n "$guards"
	boot -rtc base=2020-01-01T00:00:00
	if ! og_wait_for "$BOOT_TIMEOUT" serial_has 1 'oniongate-report: oniongated=active'; then
		og_fail "the cold boot with its RTC at 2020-01-01 reaches oniongated ready (not within $BOOT_TIMEOUT s; the console's end:)"
		serial_tail
		return 1
	fi
	og_pass "the cold boot with its RTC at 2020-01-01 reaches oniongated ready"
	og_check "SSH after the cold boot" guest_wait_for 120 g_ssh_quiet true
	guest_now=$(g_ssh date +%s) host_now=$(date +%s)
	og_check "the guest's clock is back within 2 min before the power-off, not in 2020 (guest $guest_now, host $host_now)" \
		test "${guest_now:-0}" -ge $((saved - 120))
	og_check "tor ready after the cold boot" guest_wait_for 180 tor_ready
	og_check "Tor kept its guards across the power cycle (state read back, not made anew)" \
		same_nonempty "$guards" "$(g_ssh cat /var/lib/oniongate/tor/state | state_guards)"
	mail_submit "$NS_LAN" user@example.test "after a cold boot with a wrong clock"
	og_check "a mail after the cold boot reaches the onion MX" mail_delivered 3 180
}

# bridges_from_ogconfig: a censored WAN. With the guest off, an obfs4 bridge of the private network
# starts in the WAN namespace, OGCONFIG's oniongate.conf gets its transport-plugin and bridge lines,
# and a bridge-family table of the test's in NS_VM (between the guest's WAN tap and the WAN) drops
# every packet the guest sends but ARP, DHCP, DNS to the WAN's server and the bridge's obfs4 port.
# Booted: the lines were copied into place, obfs4proxy runs as oniongated's child under its user,
# Tor bootstraps through the bridge, a mail flows, Tor never tried a relay or an authority directly.
bridges_from_ogconfig() {
	local mails lines main_pid pt t_mail
	T_DIRECT_TOR=$(tor_start_to_ready)
	g_ssh systemctl poweroff
	if ! og_wait_for 120 qemu_gone; then
		og_fail "the guest powers off for the bridge boot (the console's end:)"
		serial_tail
		return 1
	fi
	wait "$QEMU_PID" 2>/dev/null
	ip -n "$NS_WAN" addr add "$BR_ADDR/24" dev wan0
	if ! privnet_start_obfs4_bridge "$NS_WAN" "$BR_ADDR" "$BR_PORT" "$OG_TMP/bridge"; then
		og_fail "an obfs4 bridge of the private network starts on the WAN ($BR_ADDR:$BR_PORT)"
		return 1
	fi
	og_pass "an obfs4 bridge of the private network starts on the WAN ($BR_ADDR:$BR_PORT)"
	lines=("transport-plugin obfs4 /usr/bin/obfs4proxy" "bridge $PRIVNET_BRIDGE_LINE")
	{
		cat "$OG_TMP/oniongate.conf"
		echo "# image-test: a censored WAN: Tor through the private network's obfs4 bridge alone."
		printf '%s\n' "${lines[@]}"
	} > "$OG_TMP/bridged.conf"
	# The installed copy stays the private config without bridges: the lines in the guest prove the import.
	disk_write_config "$OG_TMP/disk.img" "$OG_TMP/bridged.conf" "$OG_TMP/oniongate.conf" || return 1
	censor_start
	og_spawn "$NS_VM" "$OG_TMP/tcpdump-tap.log" tcpdump -i tapwan -n -U -Z root -w "$OG_TMP/tapwan.pcap" ip or ip6
	TAP_CAPTURE_PID=$OG_SPAWNED
	og_wait_for 5 grep -qs 'listening on' "$OG_TMP/tcpdump-tap.log"
	mails=$(mail_count "$MAILBOX")
	boot || return 1
	if ! og_wait_for "$BOOT_TIMEOUT" serial_has 1 'oniongate-report: '; then
		og_fail "the boot with bridges on OGCONFIG reaches oniongated's report (not within $BOOT_TIMEOUT s; the console's end:)"
		serial_tail
		return 1
	fi
	if ! serial_has 1 'oniongate-report: oniongated=active'; then
		og_fail "the boot with bridges on OGCONFIG has oniongated active (the console's end:)"
		serial_tail
		return 1
	fi
	og_pass "the boot with bridges on OGCONFIG has oniongated active"
	og_check "SSH after the boot with bridges" guest_wait_for 120 g_ssh_quiet true
	g_ssh cat /etc/oniongate/oniongate.conf > "$OG_TMP/bridged-guest.conf"
	og_check "import-config copied OGCONFIG's transport-plugin and bridge lines to /etc/oniongate/oniongate.conf" \
		bash -c 'for l in "$@"; do grep -qFx -- "$l" "$0" || exit 1; done' "$OG_TMP/bridged-guest.conf" "${lines[@]}"
	if ! guest_wait_for 180 tor_ready; then
		og_fail "oniongated reaches tor ready through the bridge (not within 180 s; its journal's end:)"
		g_ssh journalctl -b -u oniongated -o cat -n 30 2>&1 | sed 's/^/  oniongated: /'
		censor_verdict
		return 1
	fi
	og_pass "oniongated reaches tor ready through the bridge (its journal)"
	T_BR_TOR=$(since_power_on)
	T_BRIDGE_TOR=$(tor_start_to_ready)
	og_check "oniongated says Tor runs only through the bridge (its journal)" \
		journal_has 'tor: only through 1 bridge (1 transport plugin)'
	main_pid=$(g_ssh systemctl show -p MainPID --value oniongated)
	# user last: ps shortens a user name longer than its column ("oniong+") unless it ends the line.
	pt=$(g_ssh ps -o ppid=,comm=,user= -C obfs4proxy | awk '{ print $1, $2, $3 }')
	og_check "obfs4proxy runs as user oniongate, a child of oniongated (ps in the guest: '$pt', MainPID $main_pid)" \
		test "$pt" = "$main_pid obfs4proxy oniongate"
	og_check "oniongated was not restarted (NRestarts=0)" \
		test "$(g_ssh systemctl show -p NRestarts --value oniongated)" = 0
	MEM_BR_KIB=$(g_ssh awk \''/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print t - a }'\' /proc/meminfo)
	PT_RSS_KIB=$(g_ssh ps -o rss= -C obfs4proxy | tr -dc 0-9)
	og_check "the running system uses <= 256 MiB with Tor through the bridge (${MEM_BR_KIB:-?} KiB; obfs4proxy's RSS ${PT_RSS_KIB:-?} KiB)" \
		test "${MEM_BR_KIB:-999999}" -le $((256 * 1024))
	t_mail=$(date +%s.%N)
	mail_submit "$NS_LAN" user@example.test "through the obfs4 bridge"
	og_check "a mail LAN -> onion MX through the bridge reaches the mailbox" mail_delivered $((mails + 1)) 180
	T_BR_MAIL=$(privnet_since "$t_mail")
	og_check "... the mail with that subject" grep -qs 'Subject: through the obfs4 bridge' -r "$MAILBOX/user/new"
	censor_verdict
}

# censor_start: the test's table in NS_VM, at the bridge's forward hook, on frames from the guest's WAN
# tap: ARP, DHCP, DNS to the WAN's server and the bridge's obfs4 port pass; the relays' and
# authorities' address (WAN_ADDR: the private network's nodes all listen there) and anything else is
# counted and dropped.
censor_start() {
	ip netns exec "$NS_VM" nft -f - <<-EOT
	table bridge ogimagecensor {
		chain guest {
			type filter hook forward priority 0; policy accept;
			iifname "tapwan" ether type arp accept
			iifname "tapwan" udp sport 68 udp dport 67 accept
			iifname "tapwan" ip daddr $WAN_DNS_ADDR udp dport 53 accept
			iifname "tapwan" ip daddr $WAN_DNS_ADDR tcp dport 53 accept
			iifname "tapwan" ip daddr $BR_ADDR tcp dport $BR_PORT accept
			iifname "tapwan" ip daddr $WAN_ADDR counter drop comment "relays"
			iifname "tapwan" counter drop comment "other"
		}
	}
	EOT
}

censor_counter() { og_nft_packets "$NS_VM" bridge ogimagecensor guest "$1"; }

# censor_verdict: the table's relay counter is 0 and a capture of the guest's tap holds nothing but
# DHCP, DNS with the WAN's server, the bridge's obfs4 port (IPv4) and link-local IPv6; then a probe
# from the guest to an authority's ORPort shows that the counter counts.
censor_verdict() {
	local relays foreign probe
	relays=$(censor_counter relays)
	og_check "Tor never tried a relay or an authority directly (the censor table's counter: ${relays:-?} packets)" \
		test "$relays" = 0
	echo "image-test: the censor table dropped $(censor_counter other) other packets from the guest (IPv6 link-local, multicast)"
	sleep 1
	og_stop "$TAP_CAPTURE_PID"
	tcpdump -n -r "$OG_TMP/tapwan.pcap" ip 2>/dev/null > "$OG_TMP/tapwan.txt"
	# Each line: "time IP src.port > dst.port: ...".
	foreign=$(awk -v b="$BR_ADDR.$BR_PORT" -v d="$WAN_DNS_ADDR.53" '{ s = $3; t = $5; sub(/:$/, "", t) }
		s == b || t == b || s == d || t == d { next }
		s ~ /\.6[78]$/ && t ~ /\.6[78]$/ { next }
		{ print }' "$OG_TMP/tapwan.txt" | head -5)
	og_check "the capture on the guest's WAN tap holds $(wc -l < "$OG_TMP/tapwan.txt") IPv4 packets, all DHCP, DNS with $WAN_DNS_ADDR or $BR_ADDR:$BR_PORT" \
		test -s "$OG_TMP/tapwan.txt" -a -z "$foreign"
	[ -z "$foreign" ] || printf 'image-test: not DHCP, DNS or the bridge: %s\n' "$foreign"
	og_check "... and no IPv6 packet to a global address" bash -c "! tcpdump -n -r '$OG_TMP/tapwan.pcap' \
		'ip6 and not dst net ff00::/8 and not dst net fe80::/10' 2>/dev/null | grep -q ."
	g_ssh "timeout 5 bash -c 'echo > /dev/tcp/$WAN_ADDR/5000'" 2>/dev/null
	probe=$(censor_counter relays)
	og_check "the counter counts: the guest's own probe of $WAN_ADDR:5000 was dropped there (${probe:-?} packets)" \
		test "${probe:-0}" -gt 0
}

# tor_start_to_ready: seconds from oniongated's start (this boot) to its "tor ready" journal line.
tor_start_to_ready() {
	local start ready
	start=$(g_ssh systemctl show -p ExecMainStartTimestampMonotonic --value oniongated)
	ready=$(g_ssh journalctl -b -u oniongated -o short-monotonic | grep -m1 'tor ready' |
		sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
	[ -n "$start" ] && [ -n "$ready" ] && awk -v s="$start" -v r="$ready" 'BEGIN { printf "%.1f", r - s / 1e6 }'
}

# qemu_gone: QEMU has exited (a zombie not yet reaped counts).
qemu_gone() {
	local st
	st=$(ps -o stat= -p "$QEMU_PID" 2>/dev/null)
	[ -z "$st" ] || [[ $st == Z* ]]
}

# serial_tail: the console's last lines, for a boot that did not come back (the checks after it
# are skipped rather than each waiting out its own timeout).
serial_tail() { tail -n 40 "$OG_TMP/serial.log" | tr -d '\r' | sed 's/^/  console: /'; }

# serial_has N REGEX: the serial console has at least N lines matching REGEX.
serial_has() { [ "$(serial_count "$2")" -ge "$1" ]; }
same_nonempty() { [ -n "$1" ] && [ "$1" = "$2" ]; }

# state_guards: the identities of the guards Tor sampled, from its state file on stdin.
state_guards() { sed -n 's/^Guard .*rsa_id=\([0-9A-F]*\).*/\1/p' | sort; }

# disk_cat PATH: a file of the guest's root filesystem, read from the disk while the guest is off.
disk_cat() {
	debugfs -R "cat $1" "$OG_TMP/disk.img?offset=$(part_offset root)" 2>/dev/null
}

leaks() {
	og_stop "$WAN_CAPTURE_PID"
	local dns
	dns=$(tcpdump -r "$OG_TMP/wan.pcap" -n 'port 53' 2>/dev/null)
	og_check "the WAN capture holds the appliance's clearnet DNS queries (the capture works)" \
		grep -q "$GUEST_WAN\.[0-9]* > $WAN_DNS_ADDR\.53:.*example\.test" <<<"$dns"
	og_check "no DNS query on the WAN names a .onion (answers may: the SRV records name the onion MX)" \
		bash -c "! grep -qiE '\\? [^ ]*\\.onion\\. ' <<<'$dns'"
	og_check "no packet to the fake pool on the WAN" \
		bash -c "! tcpdump -r '$OG_TMP/wan.pcap' -n 'dst net 10.192.0.0/10' 2>/dev/null | grep -q ."
}

main() {
	guest_world
	wan_services || { og_summary; exit 1; }
	disk || { og_summary; exit 1; }
	lan_dhcp
	boot || { og_summary; exit 1; }
	first_boot
	router
	inside
	reboot_keeps_state && cold_boot_wrong_clock && bridges_from_ogconfig
	leaks
	echo "image-test: $ARCH: power-on to LAN lease ${T_LEASE:-?} s, to SSH ${T_SSH:-?} s, to tor ready ${T_TOR:-?} s," \
		"to first mail delivered ${T_MAIL:-?} s; reboot to ready ${T_REBOOT:-?} s; RAM in use $(( ${MEM_KIB:-0} / 1024 )) MiB"
	echo "image-test: $ARCH: oniongated start to tor ready: direct ${T_DIRECT_TOR:-?} s (cold boot), through the obfs4" \
		"bridge ${T_BRIDGE_TOR:-?} s; bridge boot: power-on to tor ready ${T_BR_TOR:-?} s, a mail submitted to delivered in ${T_BR_MAIL:-?} s;" \
		"RAM in use $(( ${MEM_BR_KIB:-0} / 1024 )) MiB, obfs4proxy's RSS $(( ${PT_RSS_KIB:-0} / 1024 )) MiB"
	og_summary
}

main "$@"
