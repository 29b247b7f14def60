# SPDX-License-Identifier: ISC
# test_proxy_limits: the relay under a hostile or careless LAN, without a Tor (socks-server), on
# the ASan+UBSan build: a SOCKS connect that fails at once is cleaned up once; a LAN client that
# hangs up before its stream opens frees its slot at once; bytes read before a stream opens are
# bounded; out of fds, the listener pauses instead of spinning and resumes once fds are free; the
# relay phase (splice) delivers exact bytes, holds a bounded amount each way and ends idle streams.

# pl_conf DIR SOCKS_PATH [extra lines...]: a socks-server gateway's config in DIR/oniongate.conf.
pl_conf() {
	local dir=$1 socks=$2 line
	shift 2
	mkdir -p "$dir"
	{
		echo "run-dir $dir/run"
		echo "data-dir $dir/data"
		echo "log-level info"
		echo "log-target stderr"
		echo "socks-server $socks"
		echo "dns-listen $GW_LAN_ADDR"
		echo "dns-upstream $WAN_DNS_ADDR"
		echo "client-network 192.0.2.0/24"
		echo "transparent-port 9040"
		echo "lan-interface $GW_LAN_IF"
		for line in "$@"; do echo "$line"; done
	} > "$dir/oniongate.conf"
}
# Running, not a zombie waiting to be reaped.
pl_alive() { [ "$(awk '{print $3}' "/proc/$GW_PID/stat" 2>/dev/null)" = S ] || [ "$(awk '{print $3}' "/proc/$GW_PID/stat" 2>/dev/null)" = R ]; }
pl_no_sanitizer_report() { ! grep -q 'Sanitizer' "$1/oniongated.log"; }
pl_cpu_ticks() { awk '{print $14 + $15}' "/proc/$GW_PID/stat"; }
# pl_read PORT SECONDS [LINE]: connects from the LAN to pl_addr:PORT, sends LINE if given, prints all it reads.
pl_read() {
	ip netns exec "$LAN_NS" timeout "$2" bash -c "exec 3<>/dev/tcp/$pl_addr/$1 || exit 1
		[ -z '${3:-}' ] || echo '${3:-}' >&3
		cat <&3" 2>/dev/null | tr -d '\r'
}
pl_echo() {
	ip netns exec "$LAN_NS" timeout "$2" bash -c "exec 3<>/dev/tcp/$pl_addr/$1 && echo hello >&3 && head -1 <&3" 2>/dev/null
}
pl_served() { [ "$(pl_echo 25 2)" = hello ]; }
pl_onion=$("$OG_TOOLS/onionname" 1)

# (1) The SOCKS socket is missing: connect() fails at once (ENOENT), which libevent 2.1 reports
# twice (the event callback inside bufferevent_socket_connect, and -1).
pl_dir="$OG_TMP/limits-nosocks"
pl_conf "$pl_dir" "$pl_dir/no-such-socket" "onion-map $pl_dir/onionmx.map"
echo "nosocks.test smtptor:[$pl_onion]" > "$pl_dir/onionmx.map"
gw_start "$pl_dir" "$OG_TOP/build/asan/oniongated"
og_wait_for 10 gw_log_has "$pl_dir" "proxy: transparent port 9040"
pl_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$pl_onion" A)
pl_out=$(pl_read 25 10)
og_check "no SOCKS socket: an SMTP client reads one 421 line ($pl_out)" \
	test "$pl_out" = "421 4.4.2 $pl_onion: cannot reach Tor's SOCKS socket (No such file or directory)"
og_check "no SOCKS socket: another port is closed without a word" test -z "$(pl_read 80 10)"
og_check "no SOCKS socket: the MX answer still names the onion" \
	test "$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" nosocks.test MX)" = "0 $pl_onion."
og_check "no SOCKS socket: the warm-up it starts fails once" og_wait_for 5 gw_log_has "$pl_dir" "warm-up: cannot open a stream to $pl_onion:25"
sleep 1
og_check "no SOCKS socket: the daemon is still running" pl_alive
gw_stop "$pl_dir"
og_check "no SOCKS socket: exit 0 on SIGTERM" test $? = 0
og_check "no SOCKS socket: no sanitizer report" pl_no_sanitizer_report "$pl_dir"

# (1b) The SOCKS socket is there but nobody listens (its server stopped): connect() is refused,
# which libevent 2.1.9+ reports from the loop, later.
pl_dir="$OG_TMP/limits-stale"
mkdir -p "$pl_dir"
og_spawn "$GW_NS" "$OG_TMP/socksstall-stale.log" "$OG_TOOLS/socksstall" "$pl_dir/socks"
og_wait_for 5 test -S "$pl_dir/socks"
og_stop "$OG_SPAWNED"
pl_conf "$pl_dir" "$pl_dir/socks" "onion-map $pl_dir/onionmx.map"
echo "stale.test smtptor:[$pl_onion]" > "$pl_dir/onionmx.map"
gw_start "$pl_dir" "$OG_TOP/build/asan/oniongated"
og_wait_for 10 gw_log_has "$pl_dir" "proxy: transparent port 9040"
pl_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$pl_onion" A)
pl_out=$(pl_read 25 10)
og_check "a SOCKS socket nobody listens on: an SMTP client reads one 421 line ($pl_out)" \
	test "$pl_out" = "421 4.4.2 $pl_onion: no answer on Tor's SOCKS socket"
ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" stale.test MX > /dev/null
og_check "a SOCKS socket nobody listens on: the warm-up fails once" \
	og_wait_for 5 gw_log_has "$pl_dir" "warm stream to $pl_onion:25 failed: no answer on Tor's SOCKS socket"
gw_stop "$pl_dir"
og_check "a SOCKS socket nobody listens on: exit 0 on SIGTERM" test $? = 0
og_check "a SOCKS socket nobody listens on: no sanitizer report" pl_no_sanitizer_report "$pl_dir"

# (2) A SOCKS server that never answers a CONNECT to port 9 (and echoes any other port).
pl_dir="$OG_TMP/limits-stall"
mkdir -p "$pl_dir"
og_spawn "$GW_NS" "$OG_TMP/socksstall.log" "$OG_TOOLS/socksstall" "$pl_dir/socks"
og_wait_for 5 test -S "$pl_dir/socks"
pl_socks="$pl_dir/socks"
pl_conf "$pl_dir" "$pl_socks" "proxy-max-streams 6"
gw_start "$pl_dir" "$OG_TOP/build/asan/oniongated"
og_wait_for 10 gw_log_has "$pl_dir" "proxy: transparent port 9040"
pl_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$pl_onion" A)
og_check "stall: port 25 is echoed through the relay" test "$(pl_echo 25 10)" = hello
for i in 1 2 3 4 5 6; do
	ip netns exec "$LAN_NS" timeout 5 bash -c "exec 3<>/dev/tcp/$pl_addr/9 && sleep 0.3"
done
pl_out=$(pl_echo 25 10)
og_check "6 clients left while their streams waited for SOCKS: a 7th is served at proxy-max-streams 6 ($pl_out)" \
	test "$pl_out" = hello
kill -USR1 "$GW_PID"
og_check "each early hang-up is counted (proxy_lan_left_early=6)" \
	og_wait_for 5 gw_log_has "$pl_dir" "stats: proxy_lan_left_early=6$"
pl_rss0=$(gw_rss_kb)
pl_t0=$(pl_cpu_ticks)
pl_senders=()
for i in 1 2 3 4; do
	ip netns exec "$LAN_NS" timeout 5 bash -c "exec 3<>/dev/tcp/$pl_addr/9 && head -c 8388608 /dev/zero >&3" &
	pl_senders+=($!)
done
sleep 4
pl_rss1=$(gw_rss_kb)
pl_ticks=$(($(pl_cpu_ticks) - pl_t0))
wait "${pl_senders[@]}"
kill -USR1 "$GW_PID"
og_check "4 clients sending 8 MiB each before their streams open: each is read up to 16 KiB (proxy_lan_early_capped=4)" \
	og_wait_for 5 gw_log_has "$pl_dir" "stats: proxy_lan_early_capped=4$"
og_check "meanwhile the daemon's RSS grew by $((pl_rss1 - pl_rss0)) KiB (< 4096)" test $((pl_rss1 - pl_rss0)) -lt 4096
og_check "and it used $pl_ticks ticks of CPU in 4 s (< 40: not spinning at the bound)" test "$pl_ticks" -lt 40
# Streams open at SIGTERM, one relayed and one waiting for SOCKS: their LAN clients read the
# close, which must leave before the nft table (and its NAT) goes.
pl_holders=()
for port in 25 9; do
	ip netns exec "$LAN_NS" timeout 20 bash -c "exec 3<>/dev/tcp/$pl_addr/$port && echo hello >&3 && cat <&3 >/dev/null &&
		echo eof" > "$pl_dir/held-$port.out" &
	pl_holders+=($!)
done
sleep 1
gw_stop "$pl_dir"
og_check "stall: exit 0 on SIGTERM" test $? = 0
wait "${pl_holders[@]}"
og_check "a stream relayed at SIGTERM: its LAN client reads the close" grep -qx eof "$pl_dir/held-25.out"
og_check "a stream waiting for SOCKS at SIGTERM: its LAN client reads the close" grep -qx eof "$pl_dir/held-9.out"
og_check "stall: no sanitizer report" pl_no_sanitizer_report "$pl_dir"

# (3) Out of fds: 12 free (6 streams of 2 fds), 30 connections; 24 wait in the listen backlog.
pl_dir="$OG_TMP/limits-emfile"
pl_conf "$pl_dir" "$pl_socks"
gw_start "$pl_dir" "$OG_TOP/build/asan/oniongated"
og_wait_for 10 gw_log_has "$pl_dir" "proxy: transparent port 9040"
pl_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$pl_onion" A)
pl_limit=0
pl_free=0
while [ "$pl_free" -lt 12 ]; do
	[ -e "/proc/$GW_PID/fd/$pl_limit" ] || pl_free=$((pl_free + 1))
	pl_limit=$((pl_limit + 1))
done
prlimit --pid "$GW_PID" --nofile="$pl_limit:$pl_limit"
og_spawn "$LAN_NS" "$OG_TMP/limits-holder.log" bash -c "for i in \$(seq 1 30); do exec {fd}<>/dev/tcp/$pl_addr/9; done; sleep 60"
pl_holder=$OG_SPAWNED
sleep 2
pl_t0=$(pl_cpu_ticks)
sleep 3
pl_ticks=$(($(pl_cpu_ticks) - pl_t0))
og_check "out of fds with connections waiting: $pl_ticks ticks of CPU in 3 s (< 30: not spinning)" test "$pl_ticks" -lt 30
og_check "the listener logs its pause" gw_log_has "$pl_dir" "proxy: accept: Too many open files: not accepting for"
og_stop "$pl_holder"
og_check "once the connections close, accepting resumes: a new client is served" og_wait_for 10 pl_served
gw_stop "$pl_dir"
og_check "out of fds: exit 0 on SIGTERM" test $? = 0
og_check "out of fds: no sanitizer report" pl_no_sanitizer_report "$pl_dir"

# (4) The relay phase on its splice path (relay.c): 64 MiB each way arrive whole (sha256 on both
# sides) and are counted exactly; a LAN client that sends and never reads leaves at most
# RELAY_PIPE_BYTES (64 KiB) waiting in the daemon each way, which does not spin; out of
# descriptors for pipes a stream goes through a buffer; a silent stream ends at proxy-idle-timeout
# (3 s after a reload).
pl_dir="$OG_TMP/limits-splice"
pl_conf "$pl_dir" "$pl_socks" "proxy-idle-timeout 60"
gw_start "$pl_dir" "$OG_TOP/build/asan/oniongated"
og_wait_for 10 gw_log_has "$pl_dir" "proxy: transparent port 9040"
pl_addr=$(ip netns exec "$LAN_NS" dig +short @"$GW_LAN_ADDR" "$pl_onion" A)
pl_pipes() { find "/proc/$GW_PID/fd" -lname 'pipe:*' | wc -l; }
# pl_pipe_bytes: bytes waiting in the daemon's pipes now (FIONREAD on each).
pl_pipe_bytes() {
	python3 - "$GW_PID" <<'PY'
import fcntl, os, struct, sys, termios
pid, total = sys.argv[1], 0
for fd in os.listdir(f"/proc/{pid}/fd"):
    path = f"/proc/{pid}/fd/{fd}"
    try:
        if not os.readlink(path).startswith("pipe:"):
            continue
        f = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        continue
    total += struct.unpack("i", fcntl.ioctl(f, termios.FIONREAD, b"\0\0\0\0"))[0]
    os.close(f)
print(total)
PY
}
head -c 67108864 /dev/urandom > "$OG_TMP/splice-64m"
pl_sum_in=$(sha256sum < "$OG_TMP/splice-64m" | cut -d' ' -f1)
pl_pipes0=$(pl_pipes)
ip netns exec "$LAN_NS" timeout 120 bash -c "exec 3<>/dev/tcp/$pl_addr/80 || exit 1
	cat '$OG_TMP/splice-64m' >&3 &
	head -c 67108864 <&3 | sha256sum | cut -d' ' -f1" > "$pl_dir/sum-out" &
wait $!
og_check "64 MiB each way through the relay: the sha256 the LAN client reads back matches" \
	test "$(cat "$pl_dir/sum-out")" = "$pl_sum_in"
og_check "the stream's counters: 67108864 bytes up and 67108864 down" \
	og_wait_for 10 gw_log_has "$pl_dir" "closed: 67108864 bytes up, 67108864 down"
og_check "its pipes are closed with it" og_wait_for 5 test "$(pl_pipes)" -eq "$pl_pipes0"
kill -USR1 "$GW_PID"
og_wait_for 5 gw_log_has "$pl_dir" "stats: proxy_bytes_up="
og_check "no relay read went without a pipe (relay_reads_without_pipe not counted)" \
	bash -c "! grep -q 'stats: relay_reads_without_pipe=[1-9]' '$pl_dir/oniongated.log'"
og_spawn "$LAN_NS" "$OG_TMP/splice-sender.log" bash -c "exec 3<>/dev/tcp/$pl_addr/80 && head -c 16777216 /dev/zero >&3; sleep 30"
pl_sender=$OG_SPAWNED
sleep 3
pl_t0=$(pl_cpu_ticks)
pl_held=$(pl_pipe_bytes)
pl_pipes1=$(pl_pipes)
sleep 2
pl_ticks=$(($(pl_cpu_ticks) - pl_t0))
og_check "a LAN client that sends 16 MiB and never reads: $pl_held bytes wait in the daemon's pipes (32 KiB..128 KiB)" \
	test "$pl_held" -ge 32768 -a "$pl_held" -le 131072
og_check "that stream relays through pipes: $pl_pipes0 pipe fds before, $pl_pipes1 with it open (4 more)" \
	test "$pl_pipes1" -eq $((pl_pipes0 + 4))
og_check "and the daemon used $pl_ticks ticks of CPU in 2 s meanwhile (< 20: not spinning at the bound)" test "$pl_ticks" -lt 20
og_stop "$pl_sender"
# Two descriptors free (the LAN socket and the SOCKS one): no pipe can be made, the bytes go
# through the relay's buffer (200 kB: past its first 16 KiB a pipe is asked for).
og_wait_for 5 test "$(pl_pipes)" -eq "$pl_pipes0"
# A short exchange stays in the relay's buffer: no pipe is made for it.
ip netns exec "$LAN_NS" timeout 20 bash -c "exec 3<>/dev/tcp/$pl_addr/80 && echo short >&3 && head -1 <&3 && sleep 3" \
	> "$pl_dir/short" &
pl_short=$!
og_wait_for 15 grep -q short "$pl_dir/short"
og_check "a short exchange relays without a pipe: $(pl_pipes) pipe fds with it open, $pl_pipes0 before" \
	test "$(grep -c short "$pl_dir/short")" = 1 -a "$(pl_pipes)" -eq "$pl_pipes0"
wait "$pl_short"
read -r pl_soft pl_hard < <(prlimit --pid "$GW_PID" --nofile --noheadings --raw -o SOFT,HARD)
pl_limit=0
pl_free=0
while [ "$pl_free" -lt 2 ]; do
	[ -e "/proc/$GW_PID/fd/$pl_limit" ] || pl_free=$((pl_free + 1))
	pl_limit=$((pl_limit + 1))
done
prlimit --pid "$GW_PID" --nofile="$pl_limit:$pl_hard"
pl_out=$(ip netns exec "$LAN_NS" timeout 10 bash -c "exec 3<>/dev/tcp/$pl_addr/80 || exit 1
	{ head -c 200000 /dev/zero | tr '\\0' n; echo; } >&3 &
	head -1 <&3 | wc -c")
prlimit --pid "$GW_PID" --nofile="$pl_soft:$pl_hard"
kill -USR1 "$GW_PID"
og_check "out of descriptors for pipes, a stream is still echoed ($pl_out of 200001 bytes)" test "$pl_out" = 200001
og_check "through the buffer: relay_reads_without_pipe counted" \
	og_wait_for 5 grep -q 'stats: relay_reads_without_pipe=[1-9]' "$pl_dir/oniongated.log"
sed -i 's/^proxy-idle-timeout 60$/proxy-idle-timeout 3/' "$pl_dir/oniongate.conf"
kill -HUP "$GW_PID"
og_check "the reload to proxy-idle-timeout 3 is taken" og_wait_for 5 gw_log_has "$pl_dir" "configuration reloaded"
pl_t0=$(date +%s)
pl_out=$(ip netns exec "$LAN_NS" timeout 15 bash -c "exec 3<>/dev/tcp/$pl_addr/80 && echo hello >&3 && head -1 <&3 &&
	cat <&3 && echo eof")
pl_secs=$(($(date +%s) - pl_t0))
og_check "a stream silent after one line is closed at proxy-idle-timeout 3 (after $pl_secs s: 3..7)" \
	test "$pl_out" = "$(printf 'hello\neof')" -a "$pl_secs" -ge 3 -a "$pl_secs" -le 7
og_check "the idle close is logged" gw_log_has "$pl_dir" "idle for 3 s"
kill -USR1 "$GW_PID"
gw_stop "$pl_dir"
og_check "splice: exit 0 on SIGTERM" test $? = 0
og_check "splice: no sanitizer report" pl_no_sanitizer_report "$pl_dir"
