#!/bin/bash
# SPDX-License-Identifier: ISC
# customize.sh ROOTFS ARCH: mmdebstrap customize hook: image/rootfs copied in, the router's units
# enabled, module directories a router does not load removed, no machine id and no secret left.
set -euo pipefail
root=$1
TOP=$(cd "$(dirname "$0")/.." && pwd)

# Kernel module directories a router never loads: the largest part of the root filesystem.
TRIM_MODULES="sound drivers/gpu drivers/media drivers/infiniband drivers/staging drivers/isdn
drivers/input/joystick drivers/input/touchscreen drivers/iio drivers/bluetooth
net/bluetooth drivers/net/wireless net/mac80211 net/wireless drivers/scsi/qla2xxx drivers/scsi/lpfc"

cp -a "$TOP/image/rootfs/." "$root/"
mkdir -p "$root/boot/oniongate" "$root/boot/efi"
chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
	nftables.service oniongated.service oniongate-config.service oniongate-report.service ssh.service \
	oniongate-clock.service oniongate-clock-save.timer
# The box's own lookups (NTP, apt) go to systemd-resolved's stub; the LAN's go to oniongated.
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
# A router starts its gateway whether or not the WAN is up: network-online.target does not wait.
chroot "$root" systemctl disable systemd-networkd-wait-online.service
# No package lists fetched daily onto flash: the image is updated as a whole or by hand.
chroot "$root" systemctl disable apt-daily.timer apt-daily-upgrade.timer

for kdir in "$root"/lib/modules/*; do
	for sub in $TRIM_MODULES; do rm -rf "${kdir:?}/kernel/$sub"; done
	chroot "$root" depmod -a "$(basename "$kdir")"
done

# The clock file systemd-timesyncd restores the time from at boot: a new board starts no earlier
# than the image's build (oniongate-clock.service keeps it moving on).
mkdir -p "$root/var/lib/systemd/timesync"
touch "$root/var/lib/systemd/timesync/clock"
chroot "$root" chown systemd-timesync:systemd-timesync /var/lib/systemd/timesync /var/lib/systemd/timesync/clock

# First boot makes these: the machine id, SSH's host keys (ssh.service), and (in oniongated) the
# pool key and Tor's keys.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_* "$root/var/lib/oniongate/pool.key"
rm -rf "$root/var/lib/oniongate/tor" "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
