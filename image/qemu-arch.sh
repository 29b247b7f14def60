# SPDX-License-Identifier: ISC
# qemu-arch.sh: sourced by the boot scripts: how QEMU boots a disk image of one ARCH through that
# arch's own firmware and bootloader (never -kernel), so each arch is described in one place.

# qemu_arch ARCH DIR DISK: sets QEMU_BIN, QEMU_PKGS (what to apt-get install), QEMU_NIC (the NIC
# device model for -device) and QEMU_ARGS (machine, CPU, firmware, the disk); writable firmware
# variables are copied into DIR. Returns 1 if the firmware is not installed.
qemu_arch() {
	local arch=$1 dir=$2 disk=$3
	case $arch in
	amd64)
		QEMU_BIN=qemu-system-x86_64 QEMU_PKGS="qemu-system-x86 ovmf" QEMU_NIC=virtio-net-pci
		local code=/usr/share/OVMF/OVMF_CODE_4M.fd vars=/usr/share/OVMF/OVMF_VARS_4M.fd
		[ -f "$code" ] && command -v "$QEMU_BIN" >/dev/null || return 1
		cp "$vars" "$dir/vars.fd"
		QEMU_ARGS=(-M q35 -accel tcg,thread=multi
			-drive "if=pflash,format=raw,readonly=on,file=$code"
			-drive "if=pflash,format=raw,file=$dir/vars.fd"
			-drive "file=$disk,format=raw,if=virtio")
		;;
	arm64)
		# U-Boot's EFI loader starts efi/boot/bootaa64.efi from the disk: the chain of real boards
		# (U-Boot -> systemd-boot -> kernel), and faster to multi-user than AAVMF.
		qemu_uboot qemu-system-aarch64 /usr/lib/u-boot/qemu_arm64/u-boot.bin cortex-a57 "$disk"
		;;
	armhf)
		# The same chain on 32-bit ARM: U-Boot (qemu_arm) -> efi/boot/bootarm.efi -> kernel (LPAE).
		qemu_uboot qemu-system-arm /usr/lib/u-boot/qemu_arm/u-boot.bin cortex-a15 "$disk"
		;;
	*) return 1 ;;
	esac
}

# qemu_uboot BIN UBOOT CPU DISK: QEMU's ARM `virt` machine with U-Boot as its firmware.
qemu_uboot() {
	QEMU_BIN=$1 QEMU_PKGS="qemu-system-arm u-boot-qemu" QEMU_NIC=virtio-net-pci
	[ -f "$2" ] && command -v "$QEMU_BIN" >/dev/null || return 1
	QEMU_ARGS=(-M virt -cpu "$3" -accel tcg,thread=multi -bios "$2" -drive "file=$4,format=raw,if=virtio")
}
