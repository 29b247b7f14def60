# SPDX-License-Identifier: ISC
# test_service: oniongated exactly as systemd/oniongated.service runs it, from the tree `make install`
# puts in place: the unit's User= (made from the installed sysusers.d entry if absent, removed at the
# end if made here), only its AmbientCapabilities= (its bounding set the same), its UMask= and
# NoNewPrivileges=, its ExecStart= binary, a notify socket the test reads. Asserts: the unit's
# exposure <= 2.5; ExecStartPre's check passes as the user; READY=1 after the nft table is installed
# and before Tor is ready; STATUS lines with Tor's percentage, then "ready: N onion MX mappings";
# the daemon keeps no capability and its nft helper CAP_NET_ADMIN alone; a mail goes LAN -> onion MX;
# RELOADING=1 (MONOTONIC_USEC) then READY=1 around SIGHUP; STOPPING=1, exit 0, the table removed;
# everything it wrote is the user's and private.

svc_dir="$OG_TMP/service"
svc_root="$svc_dir/root"
mkdir -p "$svc_dir"
chmod 711 "$OG_TMP" # the user must reach its config and directories
og_check "make install DESTDIR PREFIX=/usr SYSCONFDIR=/etc" \
	make -s -C "$OG_TOP" install DESTDIR="$svc_root" PREFIX=/usr SYSCONFDIR=/etc
svc_unit="$svc_root/usr/lib/systemd/system/oniongated.service"
unit_value() { sed -n "s/^$1=//p" "$svc_unit" | tail -1; }
# "CAP_NET_BIND_SERVICE CAP_NET_ADMIN" -> "+net_bind_service,+net_admin", as setpriv takes them.
setpriv_caps() { echo "$1" | tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_\(.*\)/+\1/p' | paste -sd,; }

svc_score=$(systemd-analyze security --offline=true "$svc_unit" 2>/dev/null |
	sed -n 's/.*Overall exposure level for oniongated.service: \([0-9.]*\).*/\1/p')
echo "service: systemd-analyze security --offline=true: exposure ${svc_score:-?}"
og_check "the unit's exposure is at most 2.5 (OK)" awk -v s="${svc_score:-99}" 'BEGIN { exit !(s <= 2.5) }'
svc_user=$(unit_value User)
svc_caps=$(setpriv_caps "$(unit_value AmbientCapabilities)")
og_check "the unit: Type=notify, User=oniongate, NoNewPrivileges, bounding set = ambient set" \
	test "$(unit_value Type) $svc_user $(unit_value NoNewPrivileges) $svc_caps" = \
	"notify oniongate yes $(setpriv_caps "$(unit_value CapabilityBoundingSet)")"
svc_bin="$svc_root$(unit_value ExecStart | cut -d' ' -f1)"

svc_made_user=0
if ! getent passwd "$svc_user" >/dev/null; then
	systemd-sysusers "$svc_root/usr/lib/sysusers.d/oniongate.conf" && svc_made_user=1
fi
og_check "user $svc_user exists (systemd-sysusers from the installed entry)" getent passwd "$svc_user"
svc_uid=$(id -u "$svc_user")

# What systemd does for the unit: RuntimeDirectory= and StateDirectory= with their modes and owner,
# then the process: the user's ids, the unit's capabilities alone, its umask, no new privileges.
pfmx=$(privnet_onion pfmx)
svc_gw="$svc_dir/gw"
echo "mapped.test smtptor:[$pfmx]" > "$svc_dir/onionmx.map"
gw_config "$svc_gw" "dns-listen $GW_LAN_ADDR" "dns-upstream $WAN_DNS_ADDR" "client-network 192.0.2.0/24" \
	"transparent-port 9040" "lan-interface $GW_LAN_IF" "onion-map $svc_dir/onionmx.map" \
	"trust-anchor $OG_TMP/zones/trust-anchors" "proxy-connect-timeout 20"
install -d -o "$svc_user" -g "$svc_user" -m "$(unit_value RuntimeDirectoryMode)" "$svc_gw/run"
install -d -o "$svc_user" -g "$svc_user" -m "$(unit_value StateDirectoryMode)" "$svc_gw/data"
svc_as_unit=(env NOTIFY_SOCKET="$svc_dir/notify" bash -c 'umask "$0" && exec "$@"' "$(unit_value UMask)"
	setpriv --reuid "$svc_user" --regid "$svc_user" --init-groups --inh-caps "-all,$svc_caps"
	--ambient-caps "-all,$svc_caps" --bounding-set "-all,$svc_caps" --no-new-privs --)
og_check "ExecStartPre's check passes as $svc_user" \
	ip netns exec "$GW_NS" "${svc_as_unit[@]}" "$svc_bin" -t -c "$svc_gw/oniongate.conf"
og_check "the installed default configuration passes the check as $svc_user" \
	ip netns exec "$GW_NS" "${svc_as_unit[@]}" "$svc_bin" -t -c "$svc_root/etc/oniongate/oniongate.conf"

og_spawn "$GW_NS" "$svc_dir/notify.log" "$OG_TOOLS/notifyd" "$svc_dir/notify"
svc_notifyd=$OG_SPAWNED
og_wait_for 5 test -S "$svc_dir/notify"
gw_start "$svc_gw" "$svc_bin" "${svc_as_unit[@]}"
notified() { grep -qE "^[0-9-]+ [0-9:.]+ $1\$" "$svc_dir/notify.log"; }
# The time stamp (log and notify lines alike: "YYYY-mm-dd HH:MM:SS.mmm") of the first line matching.
stamp_of() { grep -m1 -E "$1" "$2" | cut -c1-23; }
og_check "READY=1 arrives" og_wait_for 30 notified "READY=1"
og_wait_for 90 gw_log_has "$svc_gw" "tor ready"
svc_ready=$(stamp_of ' READY=1$' "$svc_dir/notify.log")
svc_nft=$(stamp_of "nft: table inet oniongate installed" "$svc_gw/oniongated.log")
svc_tor=$(stamp_of "tor ready" "$svc_gw/oniongated.log")
echo "service: nft table installed $svc_nft, READY=1 $svc_ready, tor ready $svc_tor"
ready_in_order() { [[ -n $svc_nft && -n $svc_tor && ! $svc_ready < $svc_nft && $svc_ready < $svc_tor ]]; }
og_check "READY=1 came after the nft table was installed and before Tor was ready" ready_in_order
og_check "the daemon says it runs as uid $svc_uid without capabilities" \
	gw_log_has "$svc_gw" "running as uid $svc_uid, without capabilities$"

svc_field() { awk -v k="$2:" '$1 == k { print $2 }' "$1/status"; }
# svc_caps_are PID EFF PRM BND: every thread of PID runs as the user with these sets, none inheritable
# or ambient, no new privileges.
svc_caps_are() {
	local t n=0
	for t in /proc/"$1"/task/*; do
		n=$((n + 1))
		test "$(svc_field "$t" Uid | cut -f1)" = "$svc_uid" &&
			test "$(svc_field "$t" CapEff) $(svc_field "$t" CapPrm) $(svc_field "$t" CapBnd)" = "$2 $3 $4" &&
			test "$(svc_field "$t" CapInh) $(svc_field "$t" CapAmb) $(svc_field "$t" NoNewPrivs)" = \
				"0000000000000000 0000000000000000 1" || return 1
	done
	[ "$n" -ge 2 ] || [ "$(cat "/proc/$1/comm")" = oniongated-nft ]
}
og_check "every thread of the daemon (the embedded Tor's too) has no capability left (bounding: the unit's)" \
	svc_caps_are "$GW_PID" 0000000000000000 0000000000000000 0000000000001400
svc_helper=$(pgrep -P "$GW_PID" | head -1)
og_check "its nft helper has CAP_NET_ADMIN alone" \
	svc_caps_are "${svc_helper:-0}" 0000000000001000 0000000000001000 0000000000001400

# STATUS: Tor's bootstrap, then the mappings and streams.
og_check "STATUS told Tor's bootstrap percentage, then ready: N onion MX mappings, M streams" \
	og_wait_for 5 grep -qE ' STATUS=ready: [0-9]+ onion MX mappings?, [0-9]+ streams?$' "$svc_dir/notify.log"
svc_first_ready_status=$(grep -n -m1 ' STATUS=ready: ' "$svc_dir/notify.log" | cut -d: -f1)
svc_first_tor_status=$(grep -n -m1 -E ' STATUS=Tor [0-9]+%' "$svc_dir/notify.log" | cut -d: -f1)
og_check "the Tor percentage came first" test "${svc_first_tor_status:-9999}" -lt "${svc_first_ready_status:-0}"
grep -E ' STATUS=' "$svc_dir/notify.log" | sed 's/^/service: /'

# A mail LAN -> onion MX through the gateway as the unit runs it.
mkdir -p "$svc_dir/mailbox"
chown nobody "$svc_dir/mailbox"
og_check "the onion MX's Postfix starts" mail_start mx "$WAN_NS" "$svc_dir/pf-mx" 127.0.0.1 \
	"myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" "mydestination = localhost" \
	"virtual_mailbox_domains = example.test mapped.test" "virtual_mailbox_base = $svc_dir/mailbox" \
	"virtual_mailbox_maps = static:user/" "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534"
og_check "the LAN's Postfix starts (resolver: the gateway)" mail_start lan "$LAN_NS" "$svc_dir/pf-lan" \
	"$GW_LAN_ADDR" "myhostname = mail.lan.test" "mydestination = localhost" "mynetworks = 127.0.0.0/8 192.0.2.0/24"
t0=$(date +%s.%N)
mail_submit "$LAN_NS" user@example.test "through the service (SRV)"
mail_submit "$LAN_NS" user@mapped.test "through the service (map file)"
og_check "both mails reach the onion MX's mailbox" \
	mail_wait_delivered "$svc_dir/mailbox" 2 90 "$LAN_NS" "$svc_dir/pf-lan"
echo "service: 2 mails delivered $(privnet_since "$t0") s after submission"
og_check "the LAN log shows relay=<onion>[<pool address>]:25 status=sent" \
	mail_wait_sent "$svc_dir/pf-lan" "$pfmx\[(10\.[0-9.]+|fd6f:6e69:6f6e:[0-9a-f:]+)\]:25" 2
og_check "STATUS counts the mapping" \
	og_wait_for 5 grep -qE ' STATUS=ready: [1-9][0-9]* onion MX mappings?, ' "$svc_dir/notify.log"

# SIGHUP, as ExecReload= sends it.
kill -HUP "$GW_PID"
og_wait_for 10 gw_log_has "$svc_gw" "configuration reloaded"
og_check "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1 again" \
	og_wait_for 5 bash -c "grep -A1 -E ' RELOADING=1 MONOTONIC_USEC=[0-9]+$' '$svc_dir/notify.log' | grep -q ' READY=1$'"

gw_stop "$svc_gw"
og_check "the service stops with exit 0" test $? = 0
og_check "STOPPING=1 was sent" notified "STOPPING=1"
og_check "the nft table was removed" bash -c "! ip netns exec '$GW_NS' nft list table inet oniongate >/dev/null 2>&1"
og_check "everything it wrote is $svc_user's and private (UMask=0077)" \
	test -z "$(find "$svc_gw/run" "$svc_gw/data" -mindepth 1 \( ! -user "$svc_user" -o -perm /077 \) ! -type l -print)"

# SystemCallFilter= and MemoryDenyWriteExecute=: every system call the daemon, its threads and its
# nft helper make (strace, as the user, between setpriv and the daemon) from start through a mail,
# a reload and a stop is one the unit's filter allows, and no mapping is made writable and executable
# or made executable later (what the seccomp filter of MemoryDenyWriteExecute= refuses).
syscalls_of() {
	local e
	systemd-analyze syscall-filter "$1" | awk 'NR > 1 && NF == 1 && $1 !~ /^#/ { print $1 }' | while read -r e; do
		case $e in @*) syscalls_of "$e" ;; *) echo "$e" ;; esac
	done
}
svc_filter_set() {
	local line g
	sed -n 's/^SystemCallFilter=//p' "$svc_unit" | while read -r line; do
		[[ $line == "~"* ]] && [ "$1" = deny ] && for g in ${line#\~}; do syscalls_of "$g"; done
		[[ $line != "~"* ]] && [ "$1" = allow ] && for g in $line; do syscalls_of "$g"; done
	done | sort -u
}
comm -23 <(svc_filter_set allow) <(svc_filter_set deny) > "$svc_dir/syscalls.allowed"
install -o "$svc_user" -m 0600 /dev/null "$svc_dir/strace.txt"
gw_start "$svc_gw" "$svc_bin" "${svc_as_unit[@]}" strace -f -qq -e signal=none -o "$svc_dir/strace.txt" --
og_wait_for 90 gw_log_has "$svc_gw" "tor ready"
mail_submit "$LAN_NS" user@mapped.test "under strace"
og_check "under strace: the mail arrives" mail_wait_delivered "$svc_dir/mailbox" 3 90 "$LAN_NS" "$svc_dir/pf-lan"
kill -HUP "$(pgrep -P "$GW_PID" -x oniongated)"
og_wait_for 10 gw_log_has "$svc_gw" "configuration reloaded"
kill -TERM "$(pgrep -P "$GW_PID" -x oniongated)" # strace (GW_PID) ends with it
og_wait_for 30 bash -c "! kill -0 $GW_PID 2>/dev/null"
wait "$GW_PID" 2>/dev/null
sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$svc_dir/strace.txt" | sort -u > "$svc_dir/syscalls.used"
svc_outside=$(comm -23 "$svc_dir/syscalls.used" "$svc_dir/syscalls.allowed" | paste -sd' ')
echo "service: $(wc -l < "$svc_dir/syscalls.used") distinct system calls made, outside the filter: ${svc_outside:-none}"
og_check "every system call made is allowed by the unit's SystemCallFilter=" \
	test -s "$svc_dir/syscalls.used" -a -z "$svc_outside"
og_check "no mapping made writable and executable, none made executable later (MemoryDenyWriteExecute=)" \
	bash -c "! grep -E '^[0-9]+ +(mmap\(.*PROT_WRITE\|PROT_EXEC|mmap\(.*PROT_EXEC\|PROT_WRITE|(pkey_)?mprotect\(.*PROT_EXEC)' '$svc_dir/strace.txt'"
mail_stop "$svc_dir/pf-lan"
mail_stop "$svc_dir/pf-mx"
og_stop "$svc_notifyd"
if [ "$svc_made_user" = 1 ]; then
	userdel "$svc_user"
	getent group "$svc_user" >/dev/null && groupdel "$svc_user"
fi
