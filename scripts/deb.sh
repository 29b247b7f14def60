#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# make deb: the Debian source package (with Debian's tor source as its "tor" component) and
# oniongate_<version>_<arch>.deb, built in a kept mmdebstrap chroot build/deb/chroot-<arch>; lintian, piuparts.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tor.pin"
arch=${ARCH:-$(dpkg --print-architecture)}
out="$top/build/deb"
suite=bookworm
mirrors=("deb http://deb.debian.org/debian $suite main"
	"deb http://deb.debian.org/debian $suite-updates main"
	"deb http://deb.debian.org/debian-security $suite-security main")
tools="mmdebstrap lintian piuparts dpkg-dev arch-test"
build_arch=$(dpkg --print-architecture)

say() { echo "deb: $*"; }
die() { echo "deb: $*" >&2; exit 1; }

case "$arch" in
amd64 | arm64 | armhf) ;;
*) die "ARCH=$arch: only amd64, arm64 and armhf are built" ;;
esac
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap chroots, apt)"

host_tools() {
	local p todo=""
	for p in $tools; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || todo="$todo $p"
	done
	[ -z "$todo" ] && return 0
	say "installing$todo"
	apt-get update -q
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $todo
}

# debian/changelog: the package's version (its upstream part must be the Makefile's VERSION) and the
# date every file in the tarballs gets.
read_version() {
	deb_version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
	upstream=${deb_version%-*}
	epoch=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Timestamp)
	pkg="oniongate_$upstream"
	local make_version
	make_version=$(sed -n 's/^VERSION *:= *//p' "$top/Makefile")
	[ "$upstream" = "$make_version" ] || die "debian/changelog is at $upstream, the Makefile's VERSION at $make_version"
}

remove_chroot() {
	if findmnt -rn -o TARGET | grep -q "^$1/"; then
		die "$1 has mounts (another build running?); not removing it"
	fi
	rm -rf "$1"
}

# A bookworm amd64 chroot for building for $1: the foreign architecture and its cross toolchain
# added for arm64/armhf. Kept; binary_package installs the build dependencies into it.
make_chroot() {
	local a=$1 dir="$out/chroot-$1"
	[ -f "$dir/.oniongate-chroot" ] && return 0
	remove_chroot "$dir"
	local archs=$build_arch inc="debhelper,fakeroot"
	if [ "$a" != "$build_arch" ]; then
		archs="$build_arch,$a"
		inc="$inc,crossbuild-essential-$a"
	fi
	say "creating the $a build chroot in $dir (mmdebstrap, once)"
	local start=$(date +%s)
	if ! mmdebstrap --quiet --variant=buildd --architectures="$archs" --include="$inc" \
		--skip=cleanup/apt/lists "$suite" "$dir" "${mirrors[@]}" > "$out/chroot-$a.log" 2>&1; then
		# A mirror whose security index for one architecture is mid-sync fails the whole run:
		# the build only needs headers and link libraries, the same ABI without the security suite.
		grep -E '^E:' "$out/chroot-$a.log" >&2 || true
		say "retrying the $a chroot without $suite-security"
		remove_chroot "$dir"
		mmdebstrap --quiet --variant=buildd --architectures="$archs" --include="$inc" \
			--skip=cleanup/apt/lists "$suite" "$dir" "${mirrors[@]:0:2}" >> "$out/chroot-$a.log" 2>&1 \
			|| { tail -20 "$out/chroot-$a.log" >&2; die "mmdebstrap for $a failed (log: $out/chroot-$a.log)"; }
	fi
	touch "$dir/.oniongate-chroot"
	say "chroot-$a made in $(( $(date +%s) - start )) s"
}

# Runs $2... inside chroot-$1 with build/deb at /build and a /proc, in a private mount namespace
# that takes both mounts away when it ends.
in_chroot() {
	local dir="$out/chroot-$1"
	shift
	mkdir -p "$dir/build"
	cp /etc/resolv.conf "$dir/etc/resolv.conf"
	unshare --mount --fork -- sh -c 'mount -t proc proc "$1/proc" && mount --bind "$2" "$1/build" && shift 2 &&
		exec chroot "$0" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"' \
		"$dir" "$dir" "$out" "$@"
}

# Debian's tor source at the pin, as `dpkg-source -x` gives it (Debian's patches applied), repacked as
# the "tor" component with the pin in tor/.oniongate-pin (scripts/build-tor.sh checks it). apt fetches it;
# the tarball is made again only when the pin changes.
tor_component() {
	local tarball="$out/$pkg.orig-tor.tar.xz" dl="$out/tor-dl"
	[ -f "$tarball" ] && [ "$(cat "$out/.tor-component" 2>/dev/null)" = "$TOR_DEB_VERSION" ] && return 0
	rm -rf "$dl"
	mkdir -p "$dl"
	if ! (cd "$dl" && apt-get source --download-only -q "tor=$TOR_DEB_VERSION") > "$dl.log" 2>&1; then
		apt-get update -q
		(cd "$dl" && apt-get source --download-only -q "tor=$TOR_DEB_VERSION") > "$dl.log" 2>&1 \
			|| die "apt-get source tor=$TOR_DEB_VERSION failed (deb-src entries: make deps; log: $dl.log)"
	fi
	(cd "$dl" && dpkg-source --no-check -x ./tor_*.dsc tor > /dev/null)
	# Tor's own packaging and quilt state are not built; its GeoIP databases (10 MB, CC-BY-SA-4.0
	# data) are neither built nor installed: a client-only libtor.a needs none of them.
	rm -rf "$dl/tor/debian" "$dl/tor/.pc" "$dl/tor/src/config/geoip" "$dl/tor/src/config/geoip6"
	echo "$TOR_DEB_VERSION" > "$dl/tor/.oniongate-pin"
	tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -C "$dl" -cf - tor | xz -6 -T0 > "$tarball"
	rm -rf "$dl" "$dl.log"
	echo "$TOR_DEB_VERSION" > "$out/.tor-component"
	say "tor $TOR_DEB_VERSION repacked as $(basename "$tarball")"
}

# The project's files (tracked and new, not ignored, not debian/) as the main orig tarball.
orig_tarball() {
	(cd "$top" && git ls-files -z --cached --others --exclude-standard) |
		while IFS= read -r -d '' f; do
			case "$f" in debian/*) continue ;; esac
			[ -e "$top/$f" ] && printf '%s\0' "$f"
		done |
		tar -C "$top" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
			--transform "s,^,oniongate-$upstream/," --null -T - -cf - | xz -6 -T0 > "$out/$pkg.orig.tar.xz"
}

# The source package (.dsc, both orig tarballs, debian.tar.xz) in build/deb.
source_package() {
	tor_component
	orig_tarball
	local tree="$out/oniongate-$upstream"
	rm -rf "$tree" "$out"/oniongate_*.dsc "$out"/oniongate_*.debian.tar.xz
	tar -xJf "$out/$pkg.orig.tar.xz" -C "$out"
	mkdir "$tree/tor"
	tar -xJf "$out/$pkg.orig-tor.tar.xz" -C "$tree/tor" --strip-components=1
	cp -a "$top/debian" "$tree/debian"
	(cd "$out" && dpkg-source -b "oniongate-$upstream" > source.log 2>&1) || { cat "$out/source.log" >&2; die "dpkg-source -b failed"; }
	rm -rf "$tree"
	say "source package: $(cd "$out" && ls oniongate_"$deb_version".dsc "$pkg".orig*.tar.xz oniongate_"$deb_version".debian.tar.xz | tr '\n' ' ')"
}

# Unpacks the .dsc in build/deb/work-$arch and builds the binary package in chroot-$arch, the build
# dependencies from debian/control installed into the chroot first when missing.
binary_package() {
	local work="$out/work-$arch" opts=""
	[ "$arch" != "$build_arch" ] && opts="-a$arch -Pcross,nocheck"
	rm -rf "$work"
	mkdir -p "$work"
	dpkg-source -x "$out/oniongate_$deb_version.dsc" "$work/oniongate-$upstream" > /dev/null
	local start=$(date +%s)
	say "building oniongate_${deb_version}_$arch.deb in chroot-$arch (log: build/deb/build-$arch.log)"
	in_chroot "$arch" sh -c 'cd "$0" && { dpkg-checkbuilddeps $1 > /dev/null 2>&1 ||
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q --no-install-recommends $1 ./; }; } &&
		dpkg-buildpackage $1 -us -uc -b' "/build/work-$arch/oniongate-$upstream" "$opts" > "$work/build.log" 2>&1 \
		|| { tail -40 "$work/build.log" >&2; die "the $arch build failed (log: $work/build.log)"; }
	mv "$work"/oniongate_"$deb_version"_"$arch".{deb,buildinfo,changes} \
		"$work"/oniongate-dbgsym_"$deb_version"_"$arch".deb "$out/"
	mv "$work/build.log" "$out/build-$arch.log"
	local deb="$out/oniongate_${deb_version}_$arch.deb"
	say "built $(basename "$deb") in $(( $(date +%s) - start )) s: $(stat -c %s "$deb") bytes," \
		"installed size $(dpkg-deb -f "$deb" Installed-Size) KiB"
	rm -rf "$work"
}

# lintian on the .deb and the .dsc: errors and warnings fail (each one fixed or overridden with its reason).
check_lintian() {
	say "lintian $*"
	(cd "$out" && lintian -I --fail-on error,warning "$@") || die "lintian found errors or warnings"
}

# piuparts: install, remove, purge of the amd64 package in a clean bookworm chroot leave nothing behind.
# The base has systemd, as every system the unit runs on: installed and purged as a dependency, systemd
# itself would leave its own tmpfiles directories (/root/.ssh, /var/lib/private, ...) behind.
check_piuparts() {
	local base="$out/piuparts-base-systemd.tar.gz"
	if [ ! -f "$base" ]; then
		say "creating the piuparts base tarball (mmdebstrap, once)"
		mmdebstrap --quiet --variant=minbase --include=systemd "$suite" "$base" "${mirrors[@]}" > "$out/piuparts-base.log" 2>&1 \
			|| { tail -20 "$out/piuparts-base.log" >&2; rm -f "$base"; die "mmdebstrap for piuparts failed"; }
	fi
	say "piuparts (log: $out/piuparts.log)"
	piuparts --basetgz="$base" --distribution="$suite" --mirror="http://deb.debian.org/debian main" \
		--extra-repo="${mirrors[1]}" --extra-repo="${mirrors[2]}" \
		"$out/oniongate_${deb_version}_$arch.deb" > "$out/piuparts.log" 2>&1 \
		|| { tail -30 "$out/piuparts.log" >&2; die "piuparts failed (log: $out/piuparts.log)"; }
	grep -h "PASS: All tests" "$out/piuparts.log"
}

host_tools
read_version
mkdir -p "$out"
make_chroot "$arch"
source_package
binary_package
check_lintian "oniongate_$deb_version.dsc" "oniongate_${deb_version}_$arch.deb"
[ "$arch" = amd64 ] && [ "$build_arch" = amd64 ] && check_piuparts
say "done: $out/oniongate_${deb_version}_$arch.deb"
