#!/bin/sh
# small-initramfs.sh ROOTFS: mmdebstrap essential hook: the image's initramfs holds the storage
# and filesystem modules listed below only (MODULES=list), so mkinitramfs is quick and the initrd small.
set -eu
root=$1
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"
echo MODULES=list > "$root/etc/initramfs-tools/conf.d/oniongate-modules"
cat > "$root/etc/initramfs-tools/hooks/oniongate-modules" <<'HOOK'
#!/bin/sh
# The image's boot disks: virtio (VMs), SATA/AHCI, NVMe, USB storage; ext4 for the root.
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
for m in virtio_pci virtio_blk virtio_scsi sd_mod ahci nvme usb_storage uas xhci_pci ehci_pci ext4; do
	manual_add_modules "$m"
done
HOOK
chmod 0755 "$root/etc/initramfs-tools/hooks/oniongate-modules"
