# SPDX-License-Identifier: ISC
# test_cli: `oniongated -t` and start-up refuse a bad config with file:line: (and a FIFO
# without blocking), and a SIGHUP with a broken config keeps the running one (the daemon here
# runs with DisableNetwork 1); an unknown `user` stops the start, and so does one whose
# directories hold files not ours.

cli_dir="$OG_TMP/cli"
gw_config "$cli_dir" "tor-option DisableNetwork 1"
cli_out=$("$OG_TOP/daemon/oniongated" -t -c "$cli_dir/oniongate.conf" 2>&1)
og_check "oniongated -t accepts the test config" test $? = 0
og_check "oniongated -t says the config is valid" test "$cli_out" = "$cli_dir/oniongate.conf: configuration is valid"

cp "$cli_dir/oniongate.conf" "$cli_dir/broken.conf"
printf 'listen-everywhere yes\n' >> "$cli_dir/broken.conf"
broken_line=$(grep -n '^listen-everywhere' "$cli_dir/broken.conf" | cut -d: -f1)
cli_out=$("$OG_TOP/daemon/oniongated" -t -c "$cli_dir/broken.conf" 2>&1)
og_check "oniongated -t exits 1 on a broken config" test $? = 1
og_check "oniongated -t names file:line: of the error" \
	test "$cli_out" = "$cli_dir/broken.conf:$broken_line: unknown directive 'listen-everywhere'"
cli_out=$("$OG_TOP/daemon/oniongated" -d -c "$cli_dir/broken.conf" 2>&1)
og_check "oniongated refuses to start on a broken config" test $? = 1
og_check "no Tor was started for a broken config" test ! -e "$cli_dir/run/tor/torrc"
# Issue 11 item 6 and 10: -t refuses what used to pass or hang: client-network without
# dns-listen, a FIFO as onion-map or as the config, a map line with a third field.
cli_t() { CLI_OUT=$(timeout 10 "$OG_TOP/daemon/oniongated" -t -c "$1" 2>&1); CLI_RC=$?; }
cp "$cli_dir/oniongate.conf" "$cli_dir/nolisten.conf"
echo "client-network 192.0.2.0/24" >> "$cli_dir/nolisten.conf"
cli_t "$cli_dir/nolisten.conf"
og_check "oniongated -t refuses client-network without dns-listen, with file:line:" \
	test "$CLI_RC:$CLI_OUT" = "1:$cli_dir/nolisten.conf:$(wc -l < "$cli_dir/nolisten.conf"): client-network has no effect without dns-listen"
mkfifo "$cli_dir/map.fifo"
cp "$cli_dir/oniongate.conf" "$cli_dir/fifomap.conf"
echo "onion-map $cli_dir/map.fifo" >> "$cli_dir/fifomap.conf"
cli_t "$cli_dir/fifomap.conf"
og_check "oniongated -t refuses a FIFO as onion-map at once (no hang)" \
	test "$CLI_RC:$CLI_OUT" = "1:$cli_dir/map.fifo: not a regular file (a FIFO)"
mkfifo "$cli_dir/conf.fifo"
cli_t "$cli_dir/conf.fifo"
og_check "oniongated -t refuses a FIFO as the config at once (no hang)" \
	test "$CLI_RC:$CLI_OUT" = "1:$cli_dir/conf.fifo: not a regular file (a FIFO)"
printf 'a.test smtptor:[%s] 2525\n' "$("$OG_TOOLS/onionname" 1)" > "$cli_dir/third.map"
sed "s|map.fifo|third.map|" "$cli_dir/fifomap.conf" > "$cli_dir/thirdmap.conf"
cli_t "$cli_dir/thirdmap.conf"
og_check "oniongated -t refuses a map line with a third field, with file:line:" \
	test "$CLI_RC:$CLI_OUT" = "1:$cli_dir/third.map:1: more than two fields: '2525'"
og_check "oniongated -V names the embedded Tor" \
	bash -c "'$OG_TOP/daemon/oniongated' -V | grep -q '^oniongated .* (tor 0\.4\.'"

gw_start "$cli_dir"
og_check "a daemon with DisableNetwork 1 comes up" og_wait_for 20 gw_log_has "$cli_dir" "Bootstrapped 0%"
cp "$cli_dir/oniongate.conf" "$cli_dir/good.conf"
echo "log-target nowhere" >> "$cli_dir/oniongate.conf"
kill -HUP "$GW_PID"
og_check "SIGHUP with a broken config is refused with file:line:" og_wait_for 10 gw_log_has "$cli_dir" \
	"reload refused, keeping the running configuration: $cli_dir/oniongate.conf:$(wc -l < "$cli_dir/oniongate.conf"): duplicate log-target"
og_check "the daemon still runs after the refused reload" kill -0 "$GW_PID"
cp "$cli_dir/good.conf" "$cli_dir/oniongate.conf"
kill -HUP "$GW_PID"
og_check "SIGHUP with a good config reloads it" og_wait_for 10 gw_log_has "$cli_dir" "configuration reloaded from"
kill -USR1 "$GW_PID"
og_check "SIGUSR1 logs the counters" og_wait_for 10 gw_log_has "$cli_dir" "stats: control_replies="
gw_stop "$cli_dir"
og_check "the DisableNetwork daemon stops with exit 0" test $? = 0

cp "$cli_dir/oniongate.conf" "$cli_dir/nouser.conf"
echo "user og-no-such-user" >> "$cli_dir/nouser.conf"
cli_out=$(ip netns exec "$GW_NS" "$OG_TOP/daemon/oniongated" -d -c "$cli_dir/nouser.conf" 2>&1)
og_check "a user that does not exist stops the start with exit 1" test $? = 1
og_check "... named as file:line:" grep -q "\[err\] $cli_dir/nouser.conf:$(wc -l < "$cli_dir/nouser.conf"): user 'og-no-such-user' does not exist" <<<"$cli_out"
# `user` hands run-dir and data-dir over whole: a directory holding anything else is refused.
mkdir -p "$cli_dir/shared"
touch "$cli_dir/shared/important.db"
sed "s|^data-dir .*|data-dir $cli_dir/shared|" "$cli_dir/oniongate.conf" > "$cli_dir/shared.conf"
echo "user nobody" >> "$cli_dir/shared.conf"
cli_out=$(ip netns exec "$GW_NS" "$OG_TOP/daemon/oniongated" -d -c "$cli_dir/shared.conf" 2>&1)
og_check "user with a data-dir that holds other files stops the start with exit 1" test $? = 1
cli_refused_whole() {
	grep -q "holds 'important.db', so it is not oniongated's own directory" <<<"$cli_out" &&
		test "$(stat -c %U "$cli_dir/shared" "$cli_dir/shared/important.db" | sort -u)" = root
}
og_check "... saying which file, and nothing was handed over" cli_refused_whole
