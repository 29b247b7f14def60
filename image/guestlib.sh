# SPDX-License-Identifier: ISC
# guestlib.sh: what the boot harnesses (image-test, boot-smoke, bench-appliance) share: the guest's
# links, and their hands on its disk while it is off: partition offsets, and the test's
# oniongate.conf written both onto OGCONFIG and over the installed /etc/oniongate/oniongate.conf, so
# that a boot whose OGCONFIG import fails (its device timed out under TCG on a loaded host: seen)
# never falls back to the shipped config, the real Tor network's.

# guest_world: the guest's two links are taps in NS_VM, each bridged to a veth whose other end is
# the only interface of NS_WAN or NS_LAN (wan0, lan0); WAN_ADDR and WAN_DNS_ADDR on wan0. Neither
# namespace has a route beyond its own subnet.
guest_world() {
	local side
	og_netns_add "$NS_VM"
	og_netns_add "$NS_WAN"
	og_netns_add "$NS_LAN"
	for side in wan lan; do
		ip -n "$NS_VM" tuntap add dev "tap$side" mode tap
		ip -n "$NS_VM" link add "br$side" type bridge
		ip -n "$NS_VM" link add "v$side" type veth peer name "${side}0" netns "$OG_RUN_ID-$side"
		ip -n "$NS_VM" link set "tap$side" master "br$side" up
		ip -n "$NS_VM" link set "v$side" master "br$side" up
		ip -n "$NS_VM" link set "br$side" up
		ip -n "$OG_RUN_ID-$side" link set "${side}0" up
	done
	ip -n "$NS_WAN" addr add "$WAN_ADDR/24" dev wan0
	ip -n "$NS_WAN" addr add "$WAN_DNS_ADDR/24" dev wan0
}

# disk_part_offset DISK NAME: the byte offset of DISK's GPT partition named NAME.
disk_part_offset() {
	sfdisk -J "$1" | jq --arg name "$2" '.partitiontable as $t | $t.partitions[] |
		select(.name == $name) | .start * ($t.sectorsize // 512)'
}

# disk_write_config DISK CONF [INSTALLED]: CONF as OGCONFIG's oniongate.conf, and INSTALLED (default
# CONF; another private config when a test must see the import happen) as the root partition's
# /etc/oniongate/oniongate.conf (root's, 0644, as the boot's import-config installs it).
disk_write_config() {
	local disk=$1 conf=$2 installed=${3:-$2} cmds
	MTOOLS_SKIP_CHECK=1 mcopy -o -i "$disk@@$(disk_part_offset "$disk" OGCONFIG)" "$conf" ::oniongate.conf || return 1
	cmds=$(mktemp)
	printf '%s\n' "cd /etc/oniongate" "rm oniongate.conf" "write $installed oniongate.conf" \
		"sif oniongate.conf mode 0100644" "sif oniongate.conf uid 0" "sif oniongate.conf gid 0" > "$cmds"
	debugfs -w -f "$cmds" "$disk?offset=$(disk_part_offset "$disk" root)" > /dev/null 2>&1
	rm -f "$cmds"
}

# disk_private_config DISK WHO CONF KEY: CONF is OGCONFIG's shipped oniongate.conf with the test's
# private Tor network's options appended (privnet_client_options as tor-option lines; dnssec off: the
# test's zones are not under the real root's DNSSEC chain), written onto DISK by disk_write_config;
# a new SSH key KEY (KEY.pub as OGCONFIG's authorized_keys). WHO names the harness in the comment.
disk_private_config() {
	local disk=$1 who=$2 conf=$3 key=$4 part
	part="$disk@@$(disk_part_offset "$disk" OGCONFIG)"
	MTOOLS_SKIP_CHECK=1 mtype -i "$part" ::oniongate.conf > "$conf" || return 1
	{
		echo "# $who: the test's private Tor network; never the real one."
		echo "# The test's zones are not under the real root's DNSSEC chain (the shipped trust anchor)."
		echo "dnssec off"
		privnet_client_options | while read -r line; do echo "tor-option $line"; done
	} >> "$conf" || return 1
	ssh-keygen -q -t ed25519 -N '' -C "$who" -f "$key" || return 1
	disk_write_config "$disk" "$conf" || return 1
	MTOOLS_SKIP_CHECK=1 mcopy -o -i "$part" "$key.pub" ::authorized_keys
}

# disk_configs_pass DISK CHECK: reads both copies back from the disk itself; 0 when CHECK FILE
# passes on each (a copy that cannot be read fails).
disk_configs_pass() {
	local disk=$1 check=$2 copy rc=0
	copy=$(mktemp)
	MTOOLS_SKIP_CHECK=1 mtype -i "$disk@@$(disk_part_offset "$disk" OGCONFIG)" ::oniongate.conf > "$copy" &&
		"$check" "$copy" || rc=1
	debugfs -R "cat /etc/oniongate/oniongate.conf" "$disk?offset=$(disk_part_offset "$disk" root)" > "$copy" 2>/dev/null &&
		[ -s "$copy" ] && "$check" "$copy" || rc=1
	rm -f "$copy"
	return "$rc"
}
