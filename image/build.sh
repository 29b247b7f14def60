#!/bin/bash
# SPDX-License-Identifier: ISC
# build.sh: `make image ARCH=amd64`: a bookworm root filesystem with the project's .deb (mmdebstrap),
# put on a GPT disk (EFI partition with systemd-boot, FAT config partition OGCONFIG, ext4 root)
# without loop devices; build/image/oniongate-<version>-<arch>.img.xz, .qcow2 and SHA256SUMS.
set -euo pipefail

ARCH=${ARCH:-amd64}
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/build/image
WORK=$OUT/$ARCH
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# Disk layout in MiB: 1 MiB for the GPT, then the partitions; the root is last so it can grow.
ESP_MIB=128 CONFIG_MIB=16 ROOT_MIB=1024
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
CONFIG_TYPE=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
ROOT_TYPE_amd64=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709

log() { printf 'image: %s\n' "$*"; }
die() { printf 'image: %s\n' "$*" >&2; exit 1; }

check_arch() {
	case $ARCH in
	amd64) KERNEL_PKG=linux-image-amd64 EFI_BOOT=BOOTX64.EFI SERIAL=ttyS0
		SDBOOT=/usr/lib/systemd/boot/efi/systemd-bootx64.efi ;;
	*) die "ARCH=$ARCH: only amd64 is built so far (see firmware/README.md)" ;;
	esac
	local tool
	for tool in mmdebstrap sfdisk mkfs.vfat mcopy mkfs.ext4 debugfs qemu-img xz; do
		command -v "$tool" >/dev/null || die "$tool missing: apt-get install mmdebstrap fdisk dosfstools mtools e2fsprogs qemu-utils xz-utils"
	done
	[ -f "$SDBOOT" ] || die "$SDBOOT missing: apt-get install systemd-boot-efi"
	[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap --mode=root makes the root filesystem)"
}

# find_deb: the project's .deb for ARCH (make deb ARCH=...); VERSION is its upstream version.
find_deb() {
	DEB=$(ls -t "$TOP"/build/deb/oniongate_*_"$ARCH".deb 2>/dev/null | head -1)
	[ -n "$DEB" ] || die "no build/deb/oniongate_*_$ARCH.deb: run make deb ARCH=$ARCH first"
	VERSION=$(dpkg-deb -f "$DEB" Version)
	VERSION=${VERSION%-*}
	NAME=oniongate-$VERSION-$ARCH
}

# make_rootfs: the bookworm system in $WORK/rootfs. The essential hook makes the initramfs small
# before the kernel is installed; the customize hook adds image/rootfs and enables the units.
make_rootfs() {
	rm -rf "$WORK/rootfs"
	mkdir -p "$WORK"
	local t0=$SECONDS
	mmdebstrap --mode=root --variant=minbase --architectures="$ARCH" \
		--include=systemd,systemd-sysv,udev,kmod,dbus,iproute2,nftables,systemd-timesyncd,systemd-resolved \
		--include=openssh-server,netbase \
		--include=ca-certificates,"$KERNEL_PKG" --include="$DEB" \
		--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--essential-hook="$TOP/image/initramfs/small-initramfs.sh \"\$1\"" \
		--customize-hook="$TOP/image/customize.sh \"\$1\" $ARCH" \
		bookworm "$WORK/rootfs" \
		"deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
		"deb $SECURITY_MIRROR bookworm-security main"
	log "root filesystem in $((SECONDS - t0)) s: $(du -sm "$WORK/rootfs" | cut -f1) MiB"
	clamp_mtimes "$WORK/rootfs"
}

# clamp_mtimes DIR: no file newer than SOURCE_DATE_EPOCH (the last commit), for a reproducible image.
clamp_mtimes() {
	find "$1" -xdev -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
}

# make_esp: the EFI system partition: systemd-boot as the removable-media loader, one entry.
make_esp() {
	local esp=$WORK/esp.img kver
	kver=$(ls "$WORK/rootfs/lib/modules")
	rm -f "$esp"
	mkfs.vfat --invariant -C -n ESP -i 0e5b0001 "$esp" $((ESP_MIB * 1024)) >/dev/null
	export MTOOLS_SKIP_CHECK=1
	mmd -i "$esp" ::EFI ::EFI/BOOT ::loader ::loader/entries
	mcopy -m -i "$esp" "$SDBOOT" "::EFI/BOOT/$EFI_BOOT"
	mcopy -m -i "$esp" "$WORK/rootfs/boot/vmlinuz-$kver" ::vmlinuz
	mcopy -m -i "$esp" "$WORK/rootfs/boot/initrd.img-$kver" ::initrd.img
	printf 'default oniongate.conf\ntimeout 0\n' > "$WORK/loader.conf"
	printf 'title oniongate %s\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=LABEL=root rw net.ifnames=0 console=tty0 console=%s,115200\n' \
		"$VERSION" "$SERIAL" > "$WORK/entry.conf"
	clamp_mtimes "$WORK/loader.conf"
	clamp_mtimes "$WORK/entry.conf"
	mcopy -m -i "$esp" "$WORK/loader.conf" ::loader/loader.conf
	mcopy -m -i "$esp" "$WORK/entry.conf" ::loader/entries/oniongate.conf
	log "EFI partition: kernel $kver, initrd $(du -k "$WORK/rootfs/boot/initrd.img-$kver" | cut -f1) KiB"
}

# make_config: the FAT partition OGCONFIG, readable on any PC: the shipped oniongate.conf to edit
# and a README (firmware/README.md says what the partition may hold).
make_config() {
	local cfg=$WORK/config.img
	rm -f "$cfg"
	mkfs.vfat --invariant -C -n OGCONFIG -i 0e5b0002 "$cfg" $((CONFIG_MIB * 1024)) >/dev/null
	mcopy -m -i "$cfg" "$WORK/rootfs/etc/oniongate/oniongate.conf" ::oniongate.conf
	cp "$TOP/image/config-partition/README.txt" "$WORK/README.txt"
	clamp_mtimes "$WORK/README.txt"
	mcopy -m -i "$cfg" "$WORK/README.txt" ::README.txt
}

# make_root: the ext4 root from the root filesystem. e2fsprogs 1.47.0 takes its clock from
# E2FSPROGS_FAKE_TIME, the UUID and hash seed are fixed; `mkfs.ext4 -d` copies each file's ctime and
# atime from this machine, so debugfs sets both to SOURCE_DATE_EPOCH afterwards.
make_root() {
	rm -f "$WORK/root.img"
	export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
	mkfs.ext4 -q -F -L root -U 0e5b0003-0000-4000-8000-000000000003 \
		-E hash_seed=0e5b0003-0000-4000-8000-000000000004 -d "$WORK/rootfs" "$WORK/root.img" "${ROOT_MIB}M"
	(cd "$WORK/rootfs" && find . -xdev -printf '%P\n') |
		awk -v t="@$SOURCE_DATE_EPOCH" '{ printf "sif \"/%s\" ctime %s\nsif \"/%s\" atime %s\n", $0, t, $0, t }' \
		> "$WORK/root-times.debugfs"
	debugfs -w -f "$WORK/root-times.debugfs" "$WORK/root.img" > "$WORK/root-times.log" 2>&1
	unset E2FSPROGS_FAKE_TIME
	e2fsck -fn "$WORK/root.img" > "$WORK/root-fsck.log" 2>&1 || die "e2fsck found errors in $WORK/root.img (see $WORK/root-fsck.log)"
}

# make_disk: the GPT on a file and the three partitions copied in at their offsets.
make_disk() {
	local disk=$WORK/$NAME.img esp_start=1 cfg_start root_start root_type_var=ROOT_TYPE_$ARCH
	cfg_start=$((esp_start + ESP_MIB)) root_start=$((cfg_start + CONFIG_MIB))
	rm -f "$disk"
	truncate -s $(((root_start + ROOT_MIB + 1) * 1024 * 1024)) "$disk"
	sfdisk -q "$disk" <<-EOT
	label: gpt
	label-id: 0E5B0000-0000-4000-8000-000000000000
	start=$((esp_start * 2048)), size=$((ESP_MIB * 2048)), type=$ESP_TYPE, name=ESP, uuid=0E5B0000-0000-4000-8000-000000000001
	start=$((cfg_start * 2048)), size=$((CONFIG_MIB * 2048)), type=$CONFIG_TYPE, name=OGCONFIG, uuid=0E5B0000-0000-4000-8000-000000000002
	start=$((root_start * 2048)), size=$((ROOT_MIB * 2048)), type=${!root_type_var}, name=root, uuid=0E5B0000-0000-4000-8000-000000000003
	EOT
	dd if="$WORK/esp.img" of="$disk" bs=1M seek=$esp_start conv=notrunc,sparse status=none
	dd if="$WORK/config.img" of="$disk" bs=1M seek=$cfg_start conv=notrunc,sparse status=none
	dd if="$WORK/root.img" of="$disk" bs=1M seek=$root_start conv=notrunc,sparse status=none
}

# publish: the compressed raw image, the qcow2 and their checksums in build/image/.
publish() {
	local t0=$SECONDS
	rm -f "$OUT/$NAME.img.xz" "$OUT/$NAME.qcow2"
	xz -T0 -6 -c "$WORK/$NAME.img" > "$OUT/$NAME.img.xz"
	qemu-img convert -c -O qcow2 "$WORK/$NAME.img" "$OUT/$NAME.qcow2"
	(cd "$OUT" && sha256sum oniongate-*.img.xz oniongate-*.qcow2 > SHA256SUMS)
	log "compressed in $((SECONDS - t0)) s: $NAME.img.xz $(du -m "$OUT/$NAME.img.xz" | cut -f1) MiB," \
		"$NAME.qcow2 $(du -m "$OUT/$NAME.qcow2" | cut -f1) MiB"
}

main() {
	local t0=$SECONDS
	check_arch
	find_deb
	export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || date +%s)}
	make_rootfs
	make_esp
	make_config
	make_root
	make_disk
	publish
	log "$NAME built in $((SECONDS - t0)) s (raw image kept in $WORK/$NAME.img)"
}

main "$@"
