#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Builds the client-only libtor.a from Debian's tor source (unpacked by deps.sh at the pin),
# in build/tor-build; configure runs again only when the pin or the host changes. A cross build
# sets TOR_HOST (a GNU triplet) and CC for it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tor.pin"
src="$top/build/tor-src"
out="$top/build/tor-build"

if [ "$(cat "$src/.oniongate-pin" 2>/dev/null)" != "$TOR_DEB_VERSION" ]; then
	echo "build-tor: no tor source at $TOR_DEB_VERSION in $src; run 'make deps'" >&2
	exit 1
fi
stamp="$TOR_DEB_VERSION${TOR_HOST:+ $TOR_HOST}"
if [ "$(cat "$out/.oniongate-pin" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$out"
	mkdir -p "$out"
	echo "build-tor: configuring tor $TOR_DEB_VERSION (client only) in $out"
	(cd "$out" && "$src/configure" ${TOR_HOST:+--host="$TOR_HOST"} --disable-module-relay --disable-module-dirauth \
		--disable-unittests --disable-asciidoc --disable-manpage --disable-html-manual \
		--disable-lzma --disable-zstd --disable-seccomp --disable-systemd --disable-libscrypt \
		> configure.log 2>&1) || { echo "build-tor: configure failed, see $out/configure.log" >&2; exit 1; }
	echo "$stamp" > "$out/.oniongate-pin"
fi
echo "build-tor: make libtor.a (log in $out/make.log)"
start=$(date +%s)
make -C "$out" -j"$(nproc)" libtor.a > "$out/make.log" 2>&1 || { tail -30 "$out/make.log" >&2; exit 1; }
echo "build-tor: libtor.a ready in $(( $(date +%s) - start )) s"
