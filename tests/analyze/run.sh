#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# analyze: gcc -fanalyzer and the clang static analyzer (scan-build's engine) over every daemon/*.c and
# tests/tools/*.c; a finding fails unless tests/analyze/suppressions names it with its reason.
#
#   tests/analyze/run.sh [FILE.c...]      (default: daemon/*.c ctl/*.c tests/tools/*.c)
# A finding is keyed by file, enclosing function, checker and the text of the line it points at (not
# its number), so a suppression survives edits elsewhere and lapses when that line changes.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
defs=(-std=c11 -D_GNU_SOURCE -DONIONGATE_VERSION='"analyze"' -Idaemon -Itests/unit -Ibuild/tor-src/src/feature/api)

# --one TOOL FILE LOG: one file through one analyzer, its diagnostics (paths included) in LOG.
if [ "${1:-}" = --one ]; then
	if [ "$2" = gcc ]; then
		gcc "${defs[@]}" -fanalyzer -fdiagnostics-plain-output -fno-diagnostics-show-caret -c -o /dev/null "$3" > "$4" 2>&1
	else
		clang "${defs[@]}" -include tests/analyze/plain-sockaddr.h --analyze -Xclang -analyzer-output=text \
			-o /dev/null "$3" > "$4" 2>&1
	fi
	rc=$?
	[ "$rc" = 0 ] || { echo "analyze: $2 could not compile $3:"; cat "$4"; }
	exit "$rc"
fi

supp=tests/analyze/suppressions
out=$(mktemp -d /tmp/oniongate-analyze.XXXXXX)
trap 'rm -rf "$out"' EXIT
if [ $# -gt 0 ]; then files=("$@"); else files=(daemon/*.c ctl/*.c tests/tools/*.c); fi

for tool in gcc clang; do
	for f in "${files[@]}"; do printf '%s\0%s\0%s\0' "$tool" "$f" "$out/$tool-${f//\//_}.log"; done
done | xargs -0 -n 3 -P "$(nproc)" bash "$0" --one || exit 1

# Findings, one per line: file, line, checker, message (tab-separated). gcc's -Wanalyzer-* and every
# clang analyzer checker; compiler warnings ([-W...] from clang) are the build's business.
sed -n 's/^\([^: ]*\):\([0-9]*\):[0-9]*: warning: \(.*\) \[\(-Wanalyzer-[a-z-]*\)\]$/\1\t\2\t\4\t\3/p' "$out"/gcc-*.log \
	> "$out/findings"
sed -n 's/^\([^: ]*\):\([0-9]*\):[0-9]*: warning: \(.*\) \[\([a-zA-Z][a-zA-Z0-9_.]*\)\]$/\1\t\2\t\4\t\3/p' "$out"/clang-*.log \
	>> "$out/findings"
sort -u -o "$out/findings" "$out/findings"

# Suppressions: "FILE:FUNCTION [CHECKER] SOURCE LINE", in groups under a "# why:" comment saying why it is not
# a bug; a blank line ends a group. Whitespace in the source text is squeezed before comparing.
squeeze() { tr -s ' \t' '  ' | sed 's/^ //; s/ $//'; }
# function_at FILE LINE: the function whose body holds LINE (definitions start in column 0 and end
# with "}" in column 0, as style(9) has them), or "-" outside any.
function_at() {
	awk -v n="$2" 'NR > n { exit }
		/^[A-Za-z_][A-Za-z0-9_ \t*]*\(/ && !/;[ \t]*$/ { f = $0 }
		/^}/ { f = "" }
		END { sub(/\(.*/, "", f); k = split(f, w, /[ \t*]+/); print (f == "") ? "-" : w[k] }' "$1"
}
awk -v file="$supp" '
	/^[[:space:]]*$/ { why = 0; next }
	/^# why:/ { why = 1; next }
	/^#/ { next }
	!why { printf "%s:%d: a suppression without a \"# why:\" reason above it\n", file, NR; bad = 1 }
	END { exit bad }' "$supp" || exit 1
grep -v '^#' "$supp" | grep -v '^[[:space:]]*$' | while read -r f checker code; do
	printf '%s\t%s\t%s\n' "$f" "$(printf '%s' "$checker" | tr -d '[]')" "$(printf '%s' "$code" | squeeze)"
done > "$out/keys"

failed=0 suppressed=0
: > "$out/used"
while IFS=$'\t' read -r f line checker msg; do
	code=$(sed -n "${line}p" "$f" 2>/dev/null | squeeze)
	key=$(printf '%s:%s\t%s\t%s' "$f" "$(function_at "$f" "$line")" "$checker" "$code")
	if grep -qxF -- "$key" "$out/keys"; then
		suppressed=$((suppressed + 1))
		echo "$key" >> "$out/used"
		continue
	fi
	failed=$((failed + 1))
	echo "$f:$line: in $(function_at "$f" "$line"): [$checker] $msg"
	echo "    $code"
	# The analyzer's path to it, for the reader: the notes up to the next warning.
	awk -v w="$f:$line:" -v c="[$checker]" 'index($0, w) == 1 && index($0, c) { on = 1; next }
		/ warning: / { on = 0 } on && / note: / { print "      " $0 }' "$out"/*-"${f//\//_}".log | head -60
done < "$out/findings"

while IFS= read -r key; do
	printf " %s " "${files[*]}" | grep -qF -- " ${key%%:*} " || continue
	grep -qxF -- "$key" "$out/used" || echo "analyze: stale suppression, it matches nothing now: ${key//$'\t'/ }"
done < "$out/keys"

echo "analyze: ${#files[@]} files through gcc $(gcc -dumpversion) -fanalyzer and clang $(clang -dumpversion) --analyze:" \
	"$failed findings, $suppressed suppressed"
[ "$failed" = 0 ]
