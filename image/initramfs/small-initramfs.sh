#!/bin/sh
# small-initramfs.sh ROOTFS: mmdebstrap essential hook: the image's initramfs holds the storage
# and filesystem modules listed below only (MODULES=list), so mkinitramfs is quick and the initrd small.
set -eu
root=$1
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"
echo MODULES=list > "$root/etc/initramfs-tools/conf.d/oniongate-modules"
cat > "$root/etc/initramfs-tools/hooks/oniongate-modules" <<'HOOK'
#!/bin/sh
# The image's boot disks, per architecture: virtio (VMs), then the SD/eMMC, USB and SATA host
# drivers of the boards the image is for (firmware/README.md); ext4 for the root. A name that is
# neither a module nor built into this kernel stops the build: the list does not rot silently.
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
modules="virtio_pci virtio_mmio virtio_blk virtio_scsi sd_mod usb_storage uas ext4"
case $(dpkg --print-architecture) in
amd64) modules="$modules ahci nvme xhci_pci ehci_pci" ;;
arm64) modules="$modules mmc_block sdhci sdhci_pltfm sdhci_of_arasan sdhci_of_dwcmshc sdhci_iproc
	sdhci_tegra sdhci_msm sdhci_esdhc_imx bcm2835 dw_mmc dw_mmc_pltfm dw_mmc_rockchip meson_gx_mmc
	sunxi_mmc armmmci pwrseq_simple pwrseq_emmc
	xhci_pci xhci_plat_hcd ehci_platform ohci_platform dwc2 dwc3 dwc3_of_simple pcie_brcmstb
	reset_raspberrypi gpio_regulator ahci ahci_platform nvme" ;;
armhf) modules="$modules mmc_block sdhci sdhci_pltfm sdhci_iproc sdhci_esdhc_imx sdhci_omap
	sdhci_dove sdhci_pxav3 bcm2835 dw_mmc dw_mmc_pltfm dw_mmc_rockchip dw_mmc_exynos sunxi_mmc
	omap_hsmmc mvsdio armmmci pwrseq_simple pwrseq_emmc
	ehci_platform ohci_platform dwc2 xhci_plat_hcd musb_hdrc ahci_platform ahci_sunxi ahci_imx
	ahci_mvebu gpio_regulator" ;;
esac
for m in $modules; do
	modprobe --set-version="$version" --show-depends "$m" >/dev/null 2>&1 ||
		{ echo "oniongate-modules: no module $m in kernel $version" >&2; exit 1; }
	manual_add_modules "$m"
done
HOOK
chmod 0755 "$root/etc/initramfs-tools/hooks/oniongate-modules"
