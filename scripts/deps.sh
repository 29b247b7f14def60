#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Installs what oniongate's build and tests need (idempotent): Debian packages,
# deb-src entries, and Debian's tor source at the one pinned version (see tor.pin).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tor.pin"

# libclang-rt-dev: the libFuzzer and sanitizer runtimes (only recommended by clang); gnuplot-nox: the soak plot.
build_pkgs="build-essential pkg-config dpkg-dev libevent-dev libssl-dev zlib1g-dev libcap-dev
  libnftnl-dev libmnl-dev libunbound-dev libcmocka-dev clang libclang-rt-dev valgrind dns-root-data"
# unbound, openssl, libnet-ssleay-perl: the mail server's validating resolver, the onion MX's TLS
# key, and swaks --tls (test_upgrade); strace, systemd (systemd-analyze, systemd-sysusers): test_service;
# prometheus (promtool and the server), chromium (headless): test_metrics; obfs4proxy: test_bridges'
# private obfs4 bridge and the gateway's transport plugin; keepalived: test_vrrp's VRRP pair.
test_pkgs="tor obfs4proxy keepalived iproute2 nftables jq curl netcat-openbsd dnsutils knot-dnsutils nsd ldnsutils tcpdump procps psmisc
  postfix swaks dnsperf dnsmasq-base redsocks torsocks bsd-mailx gnuplot-nox unbound openssl
  libnet-ssleay-perl strace systemd prometheus chromium"
# isc-dhcp-client: test_dhcp121's mail server takes its lease (option 121) with Debian's dhclient
# and dhclient-script; the DHCP server there is systemd's networkd (package systemd, above).
test_pkgs="$test_pkgs isc-dhcp-client"
# The appliance images and their boot test (make image, image-smoke, image-test): the root filesystem
# and disk tools, QEMU with each arch's firmware, qemu-user for foreign root filesystems, the LAN
# host's DHCP client and the SSH client that logs into the guest.
image_pkgs="mmdebstrap fdisk dosfstools mtools e2fsprogs qemu-utils xz-utils systemd-boot-efi
  qemu-system-x86 ovmf qemu-system-arm qemu-efi-aarch64 qemu-efi-arm u-boot-qemu qemu-user-static
  udhcpc openssh-client"

missing() {
	local p out=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out="$out $p"
	done
	echo "$out"
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "deps: installing packages needs root: $*" >&2
		exit 1
	fi
}

add_deb_src() {
	if grep -rqsE '^Types:.*deb-src|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return 1
	fi
	need_root "deb-src entries"
	local f=/etc/apt/sources.list.d/oniongate-src.sources
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$f"
	else
		cat > "$f" <<'EOS'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	fi
	echo "deps: added deb-src entries in $f"
	return 0
}

# Debian's tor package would start a tor with the public directory authorities: never. Its
# prometheus package a server on :9090 scraping itself: not either (the test runs its own). Its
# unbound package would start a system resolver (the tests run their own): not either.
install_pkgs() {
	need_root "$*"
	local guard=/usr/sbin/policy-rc.d made=0
	if [ ! -e "$guard" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$guard"
		chmod 755 "$guard"
		made=1
	fi
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
	[ "$made" = 1 ] && rm -f "$guard"
	local svc
	for svc in tor unbound prometheus; do
		if [ -x "/etc/init.d/$svc" ] && command -v update-rc.d >/dev/null; then
			update-rc.d "$svc" disable >/dev/null 2>&1 || true
		fi
	done
	return 0
}

updated=0
apt_update() {
	[ "$updated" = 1 ] && return 0
	need_root "apt-get update"
	apt-get update -q
	updated=1
}

if add_deb_src; then apt_update; fi

todo=$(missing $build_pkgs $test_pkgs $image_pkgs)
if [ -n "$todo" ]; then
	apt_update
	# shellcheck disable=SC2086
	install_pkgs $todo
fi

# The tor source at the pinned version, unpacked once under build/.
srcdir="$top/build/tor-src"
stamp="$srcdir/.oniongate-pin"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$TOR_DEB_VERSION" ]; then
	rm -rf "$srcdir" "$top/build/tor-dl"
	mkdir -p "$top/build/tor-dl"
	cd "$top/build/tor-dl"
	if ! apt-get source --download-only -q "tor=$TOR_DEB_VERSION" >/dev/null 2>&1; then
		apt_update
		if ! apt-get source --download-only -q "tor=$TOR_DEB_VERSION"; then
			echo "deps: Debian's tor source $TOR_DEB_VERSION is not available from the configured deb-src entries." >&2
			echo "deps: check /etc/apt/sources.list.d for deb-src lines, or change the pin in tor.pin." >&2
			rm -rf "$top/build/tor-dl"
			exit 1
		fi
	fi
	dpkg-source --no-check -x ./*.dsc src >/dev/null
	mv src "$srcdir"
	cd "$top"
	rm -rf "$top/build/tor-dl"
	echo "$TOR_DEB_VERSION" > "$stamp"
	echo "deps: tor source $TOR_DEB_VERSION unpacked in $srcdir"
fi

# test_exim, test_opensmtpd: Debian's Exim and OpenSMTPD conflict with postfix (all provide
# mail-transport-agent), so they are never installed here: each gets its own root under build/mta
# (mmdebstrap, once, ~50 s each; the tests build it themselves when it is missing).
if [ "$(id -u)" = 0 ]; then
	(. "$top/tests/lib/common.sh" && . "$top/tests/lib/mail.sh" && exim_root && smtpd_root) >/dev/null
fi
