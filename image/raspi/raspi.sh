# SPDX-License-Identifier: ISC
# raspi.sh: sourced by image/build.sh for ARCH=arm64: the Raspberry Pi 3/4 image as Debian's raspi
# images make it: raspi-firmware on the arm64 root, an MBR disk whose first FAT partition is /boot/firmware.

# Disk layout in MiB: the firmware partition at 4 MiB (SD erase blocks), OGCONFIG, then the root.
RASPI_FW_START=4 RASPI_FW_MIB=256

# raspi_image: oniongate-<version>-arm64-raspi.img.xz from a copy of the arm64 root filesystem.
raspi_image() {
	local t0=$SECONDS
	RASPI_NAME=$NAME-raspi RASPI_ROOT=$WORK/rootfs-raspi
	raspi_rootfs
	raspi_firmware_partition
	make_root "$RASPI_ROOT" "$WORK/root-raspi.img" 0e5b0003-0000-4000-8000-000000000013
	raspi_disk
	raspi_check
	rm -f "$OUT/$RASPI_NAME.img.xz"
	xz -T0 -6 -c "$WORK/$RASPI_NAME.img" > "$OUT/$RASPI_NAME.img.xz"
	write_sums
	log "$RASPI_NAME.img.xz $(du -m "$OUT/$RASPI_NAME.img.xz" | cut -f1) MiB in $((SECONDS - t0)) s"
}

# raspi_rootfs: raspi-firmware (and its dependency dosfstools) installed by dpkg in a copy of the
# root: its postinst copies the GPU firmware to /boot/firmware and its kernel hook adds the kernel,
# initrd and bcm* device trees and writes config.txt and cmdline.txt from /etc/default/raspi-firmware,
# as it will again on every kernel upgrade on the board.
raspi_rootfs() {
	rm -rf "$RASPI_ROOT"
	cp -a "$WORK/rootfs" "$RASPI_ROOT"
	# raspi-firmware's own hook puts kernels on RASPIFIRM: no EFI partition and its hooks here; an MBR
	# disk, which systemd-repart does not grow.
	rm -f "$RASPI_ROOT/etc/kernel/postinst.d/zz-oniongate-esp" "$RASPI_ROOT/etc/initramfs/post-update.d/zz-oniongate-esp"
	rm -rf "$RASPI_ROOT/etc/repart.d" "$RASPI_ROOT/boot/efi"
	sed -i '/^LABEL=ESP /d; s/,x-systemd.growfs//' "$RASPI_ROOT/etc/fstab"
	fetch_debs "$WORK/raspi-debs" raspi-firmware dosfstools
	cp "$TOP/image/raspi/raspi-firmware" "$RASPI_ROOT/etc/default/raspi-firmware"
	mkdir -p "$RASPI_ROOT/tmp/raspi-debs"
	cp "$WORK"/raspi-debs/*.deb "$RASPI_ROOT/tmp/raspi-debs/"
	mount -t proc proc "$RASPI_ROOT/proc"
	chroot "$RASPI_ROOT" sh -c 'dpkg -i --force-confold /tmp/raspi-debs/*.deb' > "$WORK/raspi-dpkg.log" 2>&1 || { umount "$RASPI_ROOT/proc"; die "dpkg -i raspi-firmware failed (see $WORK/raspi-dpkg.log)"; }
	umount "$RASPI_ROOT/proc"
	# What dpkg logged with this machine's clock goes, as mmdebstrap removes it (reproducible build).
	rm -rf "$RASPI_ROOT/tmp/raspi-debs" "$RASPI_ROOT"/var/cache/apt/*.bin "$RASPI_ROOT"/var/lib/dpkg/*-old \
		"$RASPI_ROOT/var/log/dpkg.log" "$RASPI_ROOT/var/log/alternatives.log" "$RASPI_ROOT/var/cache/ldconfig/aux-cache"
	printf 'LABEL=RASPIFIRM /boot/firmware  vfat  rw,nofail,umask=0077,x-systemd.device-timeout=90s  0 2\n' \
		>> "$RASPI_ROOT/etc/fstab"
	clamp_mtimes "$RASPI_ROOT"
}

# raspi_firmware_partition: /boot/firmware of the root moved onto the FAT partition RASPIFIRM
# (the directory stays, empty, as its mount point).
raspi_firmware_partition() {
	local fw=$WORK/raspi-firmware.img
	rm -f "$fw"
	mkfs.vfat --invariant -C -F 32 -n RASPIFIRM -i 0e5b0011 "$fw" $((RASPI_FW_MIB * 1024)) >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -m -s -i "$fw" "$RASPI_ROOT"/boot/firmware/* ::
	rm -rf "$RASPI_ROOT"/boot/firmware/*
	clamp_mtimes "$RASPI_ROOT/boot"
}

# raspi_disk: the MBR (the Pi's boot ROM and EEPROM read the first FAT partition of an MBR disk).
raspi_disk() {
	local disk=$WORK/$RASPI_NAME.img cfg_start=$((RASPI_FW_START + RASPI_FW_MIB)) root_start
	root_start=$((cfg_start + CONFIG_MIB))
	rm -f "$disk"
	truncate -s $(((root_start + ROOT_MIB) * 1024 * 1024)) "$disk"
	sfdisk -q "$disk" <<-EOT
	label: dos
	label-id: 0x0e5b0010
	start=$((RASPI_FW_START * 2048)), size=$((RASPI_FW_MIB * 2048)), type=c, bootable
	start=$((cfg_start * 2048)), size=$((CONFIG_MIB * 2048)), type=c
	start=$((root_start * 2048)), size=$((ROOT_MIB * 2048)), type=83
	EOT
	dd if="$WORK/raspi-firmware.img" of="$disk" bs=1M seek=$RASPI_FW_START conv=notrunc,sparse status=none
	dd if="$WORK/config.img" of="$disk" bs=1M seek=$cfg_start conv=notrunc,sparse status=none
	dd if="$WORK/root-raspi.img" of="$disk" bs=1M seek=$root_start conv=notrunc,sparse status=none
}

# raspi_check: what the boards need, read back from the disk image itself (it cannot be booted here):
# the partition table, the firmware files, config.txt and cmdline.txt.
raspi_check() {
	local disk=$WORK/$RASPI_NAME.img fw list f
	sfdisk -J "$disk" | python3 -c 'import json, sys
p = json.load(sys.stdin)["partitiontable"]
assert p["label"] == "dos", p["label"]
types = [q["type"] for q in p["partitions"]]
assert types == ["c", "c", "83"], types
assert p["partitions"][0]["start"] == 8192, p["partitions"][0]' || die "$RASPI_NAME: unexpected partition table"
	fw="$disk@@$((RASPI_FW_START * 1024 * 1024))"
	export MTOOLS_SKIP_CHECK=1
	list=$(mdir -b -i "$fw" ::/ | sed 's|^::/||')
	for f in bootcode.bin start.elf fixup.dat start4.elf fixup4.dat config.txt cmdline.txt \
		bcm2837-rpi-3-b.dtb bcm2837-rpi-3-b-plus.dtb bcm2711-rpi-4-b.dtb; do
		grep -qx "$f" <<< "$list" || die "$RASPI_NAME: no $f on RASPIFIRM"
	done
	grep -q '^vmlinuz-' <<< "$list" && grep -q '^initrd.img-' <<< "$list" || die "$RASPI_NAME: no kernel or initrd on RASPIFIRM"
	mtype -i "$fw" ::config.txt > "$WORK/raspi-config.txt"
	mtype -i "$fw" ::cmdline.txt > "$WORK/raspi-cmdline.txt"
	grep -qx 'arm_64bit=1' "$WORK/raspi-config.txt" && grep -q '^kernel=vmlinuz-' "$WORK/raspi-config.txt" &&
		grep -q '^initramfs initrd.img-' "$WORK/raspi-config.txt" || die "$RASPI_NAME: config.txt lacks arm_64bit, kernel or initramfs"
	grep -q 'root=LABEL=root ' "$WORK/raspi-cmdline.txt" && grep -q 'console=ttyS1,115200' "$WORK/raspi-cmdline.txt" ||
		die "$RASPI_NAME: cmdline.txt: $(cat "$WORK/raspi-cmdline.txt")"
	log "$RASPI_NAME: MBR (RASPIFIRM, OGCONFIG, root), RASPIFIRM holds $(wc -l <<< "$list") files;" \
		"cmdline.txt: $(tr -s ' ' <<< "$(cat "$WORK/raspi-cmdline.txt")")"
}
