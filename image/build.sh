#!/bin/bash
# SPDX-License-Identifier: ISC
# build.sh: `make image ARCH=amd64|arm64|armhf`: a bookworm root filesystem with the project's .deb
# (mmdebstrap; foreign arches through qemu-user), put on a GPT disk (EFI partition with systemd-boot,
# FAT config partition OGCONFIG, ext4 root) without loop devices; build/image/oniongate-<version>-
# <arch>.img.xz (.qcow2 for amd64 and arm64), for arm64 also the Raspberry Pi variant (image/raspi/),
# and SHA256SUMS.
set -euo pipefail

ARCH=${ARCH:-amd64}
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/build/image
WORK=$OUT/$ARCH
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# SECURITY_MIRROR=none leaves bookworm-security out: only for an archive whose security index of
# ARCH is broken (the build says so); an image for boards is built with it.
SECURITY_SOURCES=("deb $SECURITY_MIRROR bookworm-security main")
[ "$SECURITY_MIRROR" != none ] || SECURITY_SOURCES=()

# Disk layout in MiB: 1 MiB for the GPT, then the partitions; the root is last so it can grow.
ESP_MIB=128 CONFIG_MIB=16 ROOT_MIB=1024
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
CONFIG_TYPE=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
ROOT_TYPE_amd64=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
ROOT_TYPE_arm64=B921B045-1DF0-41C3-AF44-4C6F280D3FAE
ROOT_TYPE_armhf=69DAD710-2CE4-4E3C-B16C-21A1D49ABED3

log() { printf 'image: %s\n' "$*"; }
die() { printf 'image: %s\n' "$*" >&2; exit 1; }

check_arch() {
	case $ARCH in
	amd64) KERNEL_PKG=linux-image-amd64 EFI_BOOT=BOOTX64.EFI SERIAL=ttyS0 QEMU_USER= ;;
	arm64) KERNEL_PKG=linux-image-arm64 EFI_BOOT=BOOTAA64.EFI SERIAL=ttyAMA0 QEMU_USER=aarch64 ;;
	armhf) KERNEL_PKG=linux-image-armmp-lpae EFI_BOOT=BOOTARM.EFI SERIAL=ttyAMA0 QEMU_USER=arm ;;
	*) die "ARCH=$ARCH: amd64, arm64 or armhf (see firmware/README.md)" ;;
	esac
	local efi_arch=${EFI_BOOT#BOOT}
	SDBOOT=/usr/lib/systemd/boot/efi/systemd-boot$(echo "${efi_arch%.EFI}" | tr A-Z a-z).efi
	local tool
	for tool in mmdebstrap sfdisk mkfs.vfat mcopy mkfs.ext4 debugfs qemu-img xz; do
		command -v "$tool" >/dev/null || die "$tool missing: apt-get install mmdebstrap fdisk dosfstools mtools e2fsprogs qemu-utils xz-utils"
	done
	[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap --mode=root makes the root filesystem)"
}

# enable_binfmt: a foreign ARCH's programs in the chroot run through qemu-user's binfmt handler
# (qemu-user-static); binfmt_misc is mounted and the handler registered if this machine has not.
enable_binfmt() {
	[ -n "$QEMU_USER" ] || return 0
	local dir=/proc/sys/fs/binfmt_misc conf=/usr/lib/binfmt.d/qemu-$QEMU_USER.conf
	[ -f "$conf" ] || die "$conf missing: apt-get install qemu-user-static"
	[ -e "$dir/status" ] || mount -t binfmt_misc binfmt_misc "$dir"
	[ -e "$dir/qemu-$QEMU_USER" ] || grep -v '^#' "$conf" > "$dir/register"
	[ -e "$dir/qemu-$QEMU_USER" ] || die "could not register the binfmt handler qemu-$QEMU_USER"
}

# arch_apt ARGS: apt-get for ARCH's packages with its own lists under $WORK/apt (the archive the
# root filesystem comes from), so this machine needs no foreign dpkg architecture.
arch_apt() {
	local a=$WORK/apt
	apt-get -q -o APT::Architecture="$ARCH" -o APT::Architectures::="$ARCH" \
		-o Dir::State="$a/state" -o Dir::State::status="$a/state/status" -o Dir::Cache="$a/cache" \
		-o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null "$@"
}

# fetch_debs DIR PKG...: ARCH's .debs of PKGs downloaded into DIR (never installed on this machine).
fetch_debs() {
	local dir=$1 a=$WORK/apt
	shift
	mkdir -p "$a/state/lists/partial" "$a/cache/archives/partial"
	: > "$a/state/status"
	printf '%s\n' "deb $MIRROR bookworm main non-free-firmware" "deb $MIRROR bookworm-updates main" \
		"${SECURITY_SOURCES[@]}" > "$a/sources.list"
	arch_apt update > "$a/update.log" 2>&1 || die "apt-get update for $ARCH failed (see $a/update.log)"
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && arch_apt download "$@" > download.log 2>&1) || die "apt-get download $* failed (see $dir/download.log)"
}

# fetch_sdboot: systemd-boot for ARCH: this machine's if it is of ARCH, else unpacked from
# systemd-boot-efi:ARCH.
fetch_sdboot() {
	[ "$ARCH" != "$(dpkg --print-architecture)" ] || {
		[ -f "$SDBOOT" ] || die "$SDBOOT missing: apt-get install systemd-boot-efi"
		return 0
	}
	fetch_debs "$WORK/sdboot-deb" systemd-boot-efi
	rm -rf "$WORK/sdboot"
	dpkg-deb -x "$WORK"/sdboot-deb/systemd-boot-efi_*.deb "$WORK/sdboot"
	SDBOOT=$WORK/sdboot$SDBOOT
	[ -f "$SDBOOT" ] || die "systemd-boot-efi:$ARCH has no $SDBOOT"
	log "systemd-boot: $(basename "$WORK"/sdboot-deb/systemd-boot-efi_*.deb)"
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
# obfs4proxy (~5 MiB): a config on OGCONFIG with bridge and transport-plugin lines works on a censored WAN.
make_rootfs() {
	rm -rf "$WORK/rootfs"
	mkdir -p "$WORK"
	local t0=$SECONDS
	mmdebstrap --mode=root --variant=minbase --architectures="$ARCH" \
		--include=systemd,systemd-sysv,udev,kmod,dbus,iproute2,nftables,systemd-timesyncd,systemd-resolved \
		--include=openssh-server,netbase \
		--include=obfs4proxy \
		--include=ca-certificates,"$KERNEL_PKG" --include="$DEB" \
		--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--essential-hook="$TOP/image/initramfs/small-initramfs.sh \"\$1\"" \
		--customize-hook="$TOP/image/customize.sh \"\$1\" $ARCH" \
		bookworm "$WORK/rootfs" \
		"deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
		"${SECURITY_SOURCES[@]}"
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

# make_root [TREE IMG UUID]: the ext4 root from a root filesystem (default: $WORK/rootfs into
# $WORK/root.img). e2fsprogs 1.47.0 takes its clock from E2FSPROGS_FAKE_TIME, the UUID and hash seed
# are fixed; `mkfs.ext4 -d` copies each file's ctime and atime from this machine, so debugfs sets
# both to SOURCE_DATE_EPOCH afterwards.
make_root() {
	local tree=${1:-$WORK/rootfs} img=${2:-$WORK/root.img} uuid=${3:-0e5b0003-0000-4000-8000-000000000003}
	rm -f "$img"
	export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
	mkfs.ext4 -q -F -L root -U "$uuid" \
		-E hash_seed=0e5b0003-0000-4000-8000-000000000004 -d "$tree" "$img" "${ROOT_MIB}M"
	(cd "$tree" && find . -xdev -printf '%P\n') |
		awk -v t="@$SOURCE_DATE_EPOCH" '{ printf "sif \"/%s\" ctime %s\nsif \"/%s\" atime %s\n", $0, t, $0, t }' \
		> "$img.debugfs"
	debugfs -w -f "$img.debugfs" "$img" > "$img.debugfs.log" 2>&1
	unset E2FSPROGS_FAKE_TIME
	e2fsck -fn "$img" > "$img.fsck.log" 2>&1 || die "e2fsck found errors in $img (see $img.fsck.log)"
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
	log "compressed in $((SECONDS - t0)) s: $NAME.img.xz $(du -m "$OUT/$NAME.img.xz" | cut -f1) MiB"
	case $ARCH in amd64|arm64)
		qemu-img convert -c -O qcow2 "$WORK/$NAME.img" "$OUT/$NAME.qcow2"
		log "$NAME.qcow2 $(du -m "$OUT/$NAME.qcow2" | cut -f1) MiB" ;;
	esac
	write_sums
}

# write_sums: SHA256SUMS lists every image in build/image/, of every arch built there.
write_sums() {
	(cd "$OUT" && sha256sum $(ls oniongate-*.img.xz oniongate-*.qcow2 2>/dev/null) > SHA256SUMS)
}

# make_raspi: arm64's Raspberry Pi 3/4 variant (image/raspi/raspi.sh).
make_raspi() {
	[ "$ARCH" = arm64 ] || return 0
	. "$TOP/image/raspi/raspi.sh"
	raspi_image
}

main() {
	local t0=$SECONDS
	check_arch
	[ "$SECURITY_MIRROR" != none ] || log "WARNING: SECURITY_MIRROR=none: no bookworm-security updates in this image"
	find_deb
	export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || date +%s)}
	mkdir -p "$WORK"
	enable_binfmt
	fetch_sdboot
	make_rootfs
	make_esp
	make_config
	make_root
	make_disk
	publish
	make_raspi
	log "$NAME built in $((SECONDS - t0)) s (raw image kept in $WORK/$NAME.img)"
}

main "$@"
