#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# make check's fuzzing: every target for SECONDS from its committed seeds into a fresh corpus, as many
# at once as there are cores; reports in target order. A crash, a leak or one input running 10 s fails.
#
#   tests/fuzz/check.sh BUILD_DIR SECONDS TARGET...
set -uo pipefail

dir=$1 seconds=$2
shift 2

# --one SECONDS TARGET BUILD_DIR: one bounded run; its exit code lands in BUILD_DIR/check-TARGET.rc.
if [ "$dir" = --one ]; then
	t=$1 dir=$2
	corpus=$dir/check-$t seeds=tests/fuzz/seeds/$t
	rm -rf "$corpus"
	mkdir -p "$corpus"
	[ -d "$seeds" ] || seeds=
	"$dir/fuzz_$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 -artifact_prefix="$dir/fuzz_$t-" \
		"$corpus" $seeds > "$dir/check-$t.log" 2>&1
	echo $? > "$dir/check-$t.rc"
	exit 0
fi

rm -f "$dir"/check-*.rc
for t in "$@"; do printf '%s\0' "$t"; done |
	xargs -0 -P "$(nproc)" -I{} bash "$0" --one "$seconds" {} "$dir"
failed=0
for t in "$@"; do
	log=$dir/check-$t.log
	[ -d "tests/fuzz/seeds/$t" ] || echo "fuzz_$t: no committed seeds (tests/fuzz/seeds/$t): it started from nothing"
	if [ "$(cat "$dir/check-$t.rc" 2>/dev/null)" = 0 ]; then
		echo "fuzz_$t: $seconds s, $(sed -n 's/^stat::number_of_executed_units: *//p' "$log") runs," \
			"$(ls "$dir/check-$t" | wc -l) new inputs, no crash"
	else
		failed=$((failed + 1))
		tail -40 "$log"
		echo "FAIL: fuzz_$t (log: $log)"
	fi
done
echo "fuzz-check: $# targets, $failed failed"
[ "$failed" = 0 ]
