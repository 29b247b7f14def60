# SPDX-License-Identifier: ISC
# lib.sh: what the benchmark sections share: where results go, one table row per measure, raw
# samples, and the statistics taken of them. Source after tests/lib/common.sh.
#
#   bench_row SECTION MEASURE UNIT BETTER OURS PEER_NAME PEER [NOTE]   (BETTER: higher | lower)
#   bench_raw SECTION METHOD METRIC VALUE...                           (one line per value)

BENCH_OUT=${BENCH_OUT:?BENCH_OUT must name the results directory}
mkdir -p "$BENCH_OUT"

bench_row() {
	local IFS=$'\t'
	echo "$*" >> "$BENCH_OUT/rows.tsv"
	printf 'bench: %-52s %12s %s | %-28s %12s\n' "$2" "$5" "$3" "$6" "$7" >&2
}

bench_raw() {
	local section=$1 method=$2 metric=$3 v
	shift 3
	for v in "$@"; do
		printf '%s\t%s\t%s\t%s\t%s\n' "${BENCH_DELAY:--}" "$section" "$method" "$metric" "$v" >> "$BENCH_OUT/raw.tsv"
	done
}

# bench_pct P: the P-th percentile (nearest rank) of the numbers on stdin; "n/a" when none.
bench_pct() {
	sort -g | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
		print v[r] }'
}

bench_median() { bench_pct 50; }

# bench_pct_of P TOTAL CAP: the P-th percentile of TOTAL samples of which stdin holds those that
# finished; one that falls among the unfinished is ">CAP" (they took longer than the run allowed).
bench_pct_of() {
	sort -g | awk -v p="$1" -v total="$2" -v cap="$3" '{ v[NR] = $1 } END {
		r = int((p / 100) * total + 0.999999); if (r < 1) r = 1
		if (r > NR) printf ">%.0f\n", cap; else print v[r] }'
}

bench_now() { date +%s.%N; }

bench_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# bench_version PACKAGE: the upstream version of an installed Debian package.
bench_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null | cut -d- -f1 | sed 's/^[0-9]*://'; }

# bench_rss_kb PID: resident memory of a process, in KiB.
bench_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# connect_to_banner PCAP PORT: milliseconds from each SYN of the sender to the first packet that
# brings it "220 " (through a SOCKS port the banner may share a segment with the SOCKS reply).
connect_to_banner() {
	tcpdump -r "$1" -tt -nn -A "tcp port $2" 2>/dev/null | awk -v port="$2" '
		function flush() {
			if (from_server && (dst in syn) && index(buf, "220 ")) {
				printf "%.1f\n", (t - syn[dst]) * 1000
				delete syn[dst]
			}
			buf = ""
		}
		/^[0-9]+\.[0-9]+ IP / {
			flush()
			t = $1; src = $3; dst = $5; sub(/:$/, "", dst)
			from_server = src ~ ("\\." port "$")
			if ($0 ~ /Flags \[S\]/ && !from_server) syn[src] = t
			next
		}
		{ buf = buf $0 }
		END { flush() }'
}
