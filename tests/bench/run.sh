#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# run.sh: `make bench`. Every figure beside its peer's, measured in this run on this machine:
# size, relay (no Tor), then per hop delay one private Tor network for DNS, memory (first delay
# only) and mail delivery. Writes docs/benchmarks.md and docs/benchmarks-raw.tsv, prints the table.
# QUICK=1: one delay, fewer mails, shorter runs (under 3 minutes). BENCH_DELAYS="10 25" overrides.
# BENCH_RENDER=DIR: measures nothing; writes the pages again from a run's work files in DIR (rows.tsv,
# raw.tsv, written, elapsed, and notes.md when rows were gathered from more than one world: it says how).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "the benchmarks need root (network namespaces)" >&2; exit 1; }
if [ "${QUICK:-0}" = 1 ]; then DELAYS=${BENCH_DELAYS:-10}; else DELAYS=${BENCH_DELAYS:-10 25}; fi
BENCH_OUT=${BENCH_RENDER:-$(mktemp -d /tmp/oniongate-bench.XXXXXX)}
export BENCH_OUT QUICK
. "$TOP/tests/bench/lib.sh"
started=$(date +%s)
failed=0

section() {
	echo "== $*" >&2
	"$@" || { echo "bench: '$*' failed" >&2; failed=1; }
}

size_rows() {
	local stripped="$BENCH_OUT/oniongated.stripped"
	strip -o "$stripped" "$TOP/daemon/oniongated" || return 1
	bench_row size "binary size, stripped (oniongated links Tor in, client only)" MB lower \
		"$(stat -c %s "$stripped" | awk '{ printf "%.2f", $1 / 1e6 }')" "Debian's /usr/bin/tor" \
		"$(stat -c %s /usr/bin/tor | awk '{ printf "%.2f", $1 / 1e6 }')" "tor alone, without the DNS, pool, relay and nft parts"
}

measure() {
	local delay first=1
	section size_rows
	section bash "$TOP/tests/bench/relay.sh"
	for delay in $DELAYS; do
		if [ "$first" = 1 ]; then
			section bash "$TOP/tests/bench/world.sh" "$delay" dns memory mail idle
		else
			section bash "$TOP/tests/bench/world.sh" "$delay" mail
		fi
		first=0
	done
	echo $(($(date +%s) - started)) > "$BENCH_OUT/elapsed"
	date -u '+%Y-%m-%d %H:%M UTC' > "$BENCH_OUT/written"
}

[ -n "${BENCH_RENDER:-}" ] || measure
elapsed=$(cat "$BENCH_OUT/elapsed")

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == a && b + 0 == b && b != 0) printf "%.2f", a / b; else print "n/a" }'
}

# verdict OURS PEER BETTER [PEER_NAME]: "ahead 1.27x", "behind 1.35x" or "even" (within 3%), by the
# factor in our favour or against it. A ">T" (not done within T s) is a lower bound: "ahead >17x".
# Against oniongate itself (a setting's cost, e.g. STARTTLS) the words are "costs" and "saves".
verdict() {
	local ahead=ahead behind=behind
	case ${4:-} in oniongate*) ahead=saves behind=costs ;; esac
	awk -v a="$1" -v b="$2" -v better="$3" -v ahead="$ahead" -v behind="$behind" 'BEGIN {
		la = sub(/^>/, "", a); lb = sub(/^>/, "", b)
		if (!(a + 0 == a && b + 0 == b) || a <= 0 || b <= 0 || (la && lb)) { print "n/a"; exit }
		f = (better == "higher") ? a / b : b / a
		bound = (la || lb) ? ">" : ""
		if (bound == "" && f >= 0.97 && f <= 1.03) print "even"
		else if (f > 1) printf "%s %s%.2fx\n", ahead, bound, f
		else printf "%s %s%.2fx\n", behind, bound, 1 / f }'
}

# summary: how many rows are ahead, even and behind a peer, and the rows behind, by the factor
# (rows against oniongate itself, what a setting costs, are counted apart).
summary() {
	local IFS=$'\t' sec measure unit better ours peer peerval note v ahead=0 even=0 behind=0 own=0 rows=""
	while read -r sec measure unit better ours peer peerval note; do
		v=$(verdict "$ours" "$peerval" "$better" "$peer")
		case $v in
		ahead*) ahead=$((ahead + 1)) ;;
		even) even=$((even + 1)) ;;
		behind*) behind=$((behind + 1)); rows+="- $sec: $measure, against $peer: $v"$'\n' ;;
		*) own=$((own + 1)) ;;
		esac
	done < "$BENCH_OUT/rows.tsv"
	echo "**Where we stand:** against a peer, ahead on $ahead rows, even on $even, behind on $behind; $own more rows measure what a setting of ours costs."
	[ -z "$rows" ] || { echo; printf '%s' "$rows"; }
}

# rows_table FILE: bench_row's rows as markdown, one table per section, each row with its verdict.
rows_table() {
	local IFS=$'\t' sec measure unit better ours peer peerval note last=""
	while read -r sec measure unit better ours peer peerval note; do
		if [ "$sec" != "$last" ]; then
			echo
			echo "## $sec"
			echo
			echo "| measure | unit | oniongate | peer | peer's | ratio | better | verdict | note |"
			echo "|---|---|---:|---|---:|---:|---|---|---|"
			last=$sec
		fi
		echo "| $measure | $unit | $ours | $peer | $peerval | $(ratio "$ours" "$peerval") | $better | $(verdict "$ours" "$peerval" "$better" "$peer") | ${note:-} |"
	done < "$1"
}

render() {
	echo "# oniongate benchmarks"
	echo
	echo "Written by \`make bench${QUICK:+ QUICK=$QUICK}\` on $(cat "$BENCH_OUT/written") in ${elapsed} s. Every row was measured"
	echo "in this run, beside its peer, on the same machine; no figure is asserted anywhere."
	echo
	echo "- machine: $(uname -m), $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(free -g | awk '/^Mem:/ { print $2 }') GiB, kernel $(uname -r)"
	echo "- versions: $("$TOP/daemon/oniongated" -V); Debian tor $(bench_version tor), postfix $(bench_version postfix),"
	echo "  torsocks $(bench_version torsocks), redsocks $(bench_version redsocks), dnsmasq $(bench_version dnsmasq-base), nsd $(bench_version nsd), dnsperf $(bench_version dnsperf)"
	echo "- private Tor network: 3 authorities, 3 relays, onion services from Debian's tor; hop delay (each way, on every"
	echo "  relay's ORPort) for the mail rows: ${DELAYS// / and } ms; DNS and memory rows ran on the first."
	echo "- ratio = oniongate ÷ peer; the last column says which way is better. Raw samples: \`docs/benchmarks-raw.tsv\`."
	echo "- how each row is made: tests/bench/*.sh; read them before quoting a figure."
	echo "- verdict: the factor by which we are ahead or behind the peer on that row (even: within 3%)."
	[ ! -f "$BENCH_OUT/notes.md" ] || { echo; cat "$BENCH_OUT/notes.md"; }
	echo
	summary
	rows_table "$BENCH_OUT/rows.tsv"
	if [ -f "$BENCH_OUT/dns-ceiling" ]; then
		echo
		echo "DNS ceiling on the same loopback: nsd answering dnsperf directly: $(cat "$BENCH_OUT/dns-ceiling")."
	fi
	if [ -f "$TOP/docs/benchmarks-appliance.tsv" ]; then
		echo
		echo "The appliance sections were not measured in this run: \`make bench-appliance ARCH=...\` wrote them"
		echo "to docs/benchmarks-appliance.tsv (committed $(TZ=UTC git -C "$TOP" log -1 --format=%cd --date=format-local:'%Y-%m-%d %H:%M UTC' -- docs/benchmarks-appliance.tsv 2>/dev/null))."
		rows_table "$TOP/docs/benchmarks-appliance.tsv"
	fi
	cat <<'EOT'

## How the rows are made

- **size**: `strip` of `daemon/oniongated` (Tor linked in, client only) against Debian's `/usr/bin/tor`.
- **relay**: no Tor. A LAN namespace's streams are redirected by nft to oniongated
  (`socks-server`, unix socket) or to redsocks (its own nft `redirect`, TCP), both relaying
  through the same local SOCKS5 peer (`tests/tools/socksd`) to an echo server; the direct row
  copies to the echo server on loopback; the ceiling row is relaybench speaking SOCKS5 itself to
  socksd's unix socket (what any transparent relay in front of that peer can reach).
  `relaybench` sends N MiB and reads them back per stream. The log also gives the CPU time per MiB
  and per connection of every process on the path, and each relay's RSS growth with 200 streams
  held open.
- **dns**: dnsperf (4 clients, every answer's latency recorded with `-v`, the same for every
  server) on loopback in one namespace. Onion A: 1000 v3 names, each asked once before the run
  so both sides answer from a mapping they already hold. Pass-through: 10 names of the nsd zones
  on loopback, caches warm after the first queries; dnsmasq is run as shipped (cache of 150) and
  with `--cache-size=0`, oniongated with its cache (dns-cache-size 1 MiB); the ceiling is nsd
  answered directly. 30 ms rows: nsd in its own namespace behind `tests/tools/udpdelay` (every
  reply 30 ms late; no sch_netem on this kernel), a router's query mix (4000 queries over 300
  names, Zipf s=1, 10% NODATA, 5% NXDOMAIN, same file for all), each server starting cold.
- **memory**: VmRSS of oniongated serving the LAN and of a standalone tor client with the same
  network options (plus SocksPort, DNSPort, AutomapHostsOnResolve to make its mappings): after
  bootstrap, after the onion names were resolved, and with streams to an echo onion held open.
  The second peer is the same tor run with `MALLOC_MMAP_THRESHOLD_=65536`, the glibc setting
  oniongated makes for itself, so that setting's share is visible.
- **mail**: one Debian Postfix as sender, stock settings, `inet_protocols = ipv4`; one Postfix as
  the onion MX behind 10 onion services (3 with QUICK=1). The recipe is the onionmx Postfix
  recipe word for word (smtptor transport, `smtp_tor` = `torsocks -i .../smtp $@`,
  `smtp_dns_support_level=disabled`, `smtp_tls_security_level=none`, hashed `tor_transport` map,
  torsocks.conf with `AllowInbound 1`, a standalone tor with SocksPort 9050); "recipe + exec"
  differs only by `exec` before `torsocks`. oniongate: the same Postfix unmodified, resolver
  oniongated, which reads the same map. A burst comes after one priming mail; a cold start has a
  fresh client Tor and a fresh Postfix. Mails are submitted with `smtp-source` (one per domain, at
  once); submit-to-delivered is Postfix's own `delay=` of each `status=sent`; mails/s is delivered
  mails over the time from first submission to last delivery (or to the load's time limit: then
  `>T` in a percentile means the mail was not delivered within T s); connect-to-banner is taken
  from a capture on the sender's side, its SYN to the first segment that brings "220 ".
  STARTTLS rows: the onion MX offers STARTTLS with a self-signed RSA 2048 certificate made in the
  run, and both senders get the TLS lines Debian's postinst writes (`main.cf.tls`:
  `smtp_tls_security_level = may`, `btree:${data_directory}/smtp_scache`; `smtp_tls_loglevel = 1`
  added); the recipe keeps its `smtp_tls_security_level=none` ("TLS none as documented"); recipe +
  exec runs without TLS only (`MAIL_VARIANTS="plain starttls tlsreuse tlsnocache"` adds oniongate
  with `smtp_tls_connection_reuse = yes` and tlsproxy, and without the TLS session cache). STARTTLS
  cost rows: oniongate with STARTTLS against oniongate without (mails/s, submit-to-delivered,
  connections), and from the capture: banner to the sender's first MAIL FROM (the turn before the
  one that carries the 1 KiB message) and its round trips; handshakes count as resumed when the
  server's answer to the ClientHello carries no certificate. CPU per mail (burst): utime+stime of
  oniongated or the recipe's tor from /proc over the load ("gateway side"), plus the sender
  Postfix's cgroup v2 `usage_usec` (all its processes, short-lived smtp, sh, torsocks included:
  "whole sending path"), divided by the mails delivered.
- **idle** (first delay only): the mail section's hosts; both client Tors get `MaxCircuitDirtiness 30`,
  `CircuitsAvailableTimeout 30`, `LearnCircuitBuildTimeout 0`, so after 90 s of nothing neither holds a
  circuit (the guard's TLS link, kept 3-4.5 min, still stands: a colder start costs more). Per idle
  period (5; 2 with QUICK=1) one mail, then a second as soon as it is delivered; connect-to-banner
  as in mail. The limit is oniongate's second connection: a stream on the rendezvous circuit already
  built (one circuit RTT plus the MX's banner, from an smtpd the first mail woke). oniongated keeps
  that circuit for onions mailed in the last `warm-up-keep` seconds by a stream every
  MaxCircuitDirtiness/2 to a port the onion does not publish: the service's Tor ends it without
  touching the MX (the note counts the MX's sessions while idle and those keeping streams).
- **appliance ARCH** (`make bench-appliance ARCH=arm64|armhf`, image/bench-appliance.sh, not part of
  `make bench`): the built image booted whole in QEMU `virt` (TCG, 512 MiB) as in `make image-test`, its
  WAN a private Tor network with an echo onion; in the same guest, Debian's tor of that arch (the
  `.deb` unpacked, never installed; client, SocksPort + AutomapHostsOnResolve) beside the image's
  oniongated. Size: the installed (stripped) `/usr/sbin/oniongated` against the `.deb`'s `/usr/bin/tor`.
  VmRSS after bootstrap, after the onion names were mapped (oniongated: LAN DNS; tor: SOCKS RESOLVE in
  the guest) and with streams to the echo onion held open (LAN TCP through the pool; tor: SOCKS).
EOT
}

render > "$BENCH_OUT/benchmarks.md"
{
	printf 'delay_ms\tsection\tmethod\tmetric\tvalue\n'
	cat "$BENCH_OUT/raw.tsv"
} > "$BENCH_OUT/benchmarks-raw.tsv"
cp "$BENCH_OUT/benchmarks.md" "$TOP/docs/benchmarks.md"
cp "$BENCH_OUT/benchmarks-raw.tsv" "$TOP/docs/benchmarks-raw.tsv"
[ "${QUICK:-0}" = 1 ] || bash "$TOP/tests/bench/readme.sh" || failed=1
cat "$BENCH_OUT/benchmarks.md"
echo
echo "written: docs/benchmarks.md, docs/benchmarks-raw.tsv${QUICK:+ (the README table only from a full run)} (work files in $BENCH_OUT); ${elapsed} s"
exit "$failed"
