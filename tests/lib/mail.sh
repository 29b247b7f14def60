# SPDX-License-Identifier: ISC
# mail.sh: real Postfix instances for the tests, one per namespace, each in its own directory
# (config, queue, data) with Debian's stock master.cf, run in the foreground (start-fg) with the
# log on stdout. Source after common.sh.
#
#   mail_start NAME NS DIR RESOLVER [main.cf lines...]   the log is DIR/maillog
#   mail_submit NS RCPT SUBJECT, mail_count MAILBOX, mail_wait_delivered MAILBOX N SECONDS NS DIR
#   mail_wait_sent DIR RELAY-REGEX N                      N status=sent lines by RELAY in DIR/maillog
#   (MAIL_MASTER_APPEND, when set, is appended to the stock master.cf: the benchmark's smtptor)
#   mail_stop DIR
#   mail_mx_conf DIR DOMAINS                               an onion MX's settings, in MAIL_MX_CONF

# mail_mx_conf DIR DOMAINS: the onion MX's Postfix settings (mx.onion.test on 127.0.0.1, virtual
# mailboxes for DOMAINS, a space-separated list, in DIR/mailbox, made here) in MAIL_MX_CONF.
mail_mx_conf() {
	mkdir -p "$1/mailbox"
	chown nobody "$1/mailbox"
	MAIL_MX_CONF=("myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" "mydestination = localhost"
		"virtual_mailbox_domains = $2" "virtual_mailbox_base = $1/mailbox" "virtual_mailbox_maps = static:user/"
		"virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534")
}

mail_start() {
	local name=$1 ns=$2 dir=$3 resolver=$4 f
	shift 4
	mkdir -p "$dir/etc" "$dir/spool/etc" "$dir/data"
	cp /etc/postfix/master.cf "$dir/etc/master.cf"
	[ -z "${MAIL_MASTER_APPEND:-}" ] || printf '%s\n' "$MAIL_MASTER_APPEND" >> "$dir/etc/master.cf"
	{
		echo "compatibility_level = 3.6"
		echo "queue_directory = $dir/spool"
		echo "data_directory = $dir/data"
		echo "maillog_file = /dev/stdout"
		echo "alias_maps ="
		echo "alias_database ="
		printf '%s\n' "$@"
	} > "$dir/etc/main.cf"
	chown postfix "$dir/data"
	chmod 711 "$OG_TMP" # Postfix's unprivileged processes must reach their directories
	# The smtp client runs chrooted in the queue directory: it reads the resolver from there.
	echo "nameserver $resolver" > "$dir/spool/etc/resolv.conf"
	for f in services hosts nsswitch.conf host.conf; do
		[ -e "/etc/$f" ] && cp "/etc/$f" "$dir/spool/etc/$f"
	done
	mkdir -p "/etc/netns/$ns"
	echo "nameserver $resolver" > "/etc/netns/$ns/resolv.conf"
	OG_ETC_NETNS+=("/etc/netns/$ns")
	ip netns exec "$ns" postfix -c "$dir/etc" check || { og_log "mail: postfix check failed for $name"; return 1; }
	# A restart must not read the last master's PID: the new master may log "daemon started"
	# before it rewrites the file, and the old PID would leave the new master running at the end.
	rm -f "$dir/spool/pid/master.pid"
	og_spawn "$ns" "$dir/maillog" postfix -c "$dir/etc" start-fg
	og_wait_for 20 grep -q "daemon started" "$dir/maillog" || { og_log "mail: $name did not start"; return 1; }
	# start-fg's master runs as its own process: it is the one to end.
	og_wait_for 5 test -s "$dir/spool/pid/master.pid"
	MAIL_MASTER_PID=$(tr -d ' \n' < "$dir/spool/pid/master.pid")
	OG_PIDS+=("$MAIL_MASTER_PID")
	echo "$MAIL_MASTER_PID" > "$dir/harness.pid"
}

mail_stop() {
	local dir=$1
	og_stop "$(cat "$dir/harness.pid")" 15
}

# mail_flush NS DIR: a queue run now, instead of waiting out Postfix's backoff.
mail_flush() {
	ip netns exec "$1" postqueue -c "$2/etc" -f
}

# mail_queue_count NS DIR: messages waiting in the queue.
mail_queue_count() {
	ip netns exec "$1" postqueue -c "$2/etc" -j 2>/dev/null | grep -c '"queue_id"'
}

# mail_submit NS RCPT SUBJECT: swaks hands a mail to the Postfix of NS on 127.0.0.1.
mail_submit() {
	ip netns exec "$1" swaks --silent 2 --server 127.0.0.1 --from alice@lan.test --to "$2" --header "Subject: $3"
}

# mail_count MAILBOX: the mails delivered to user under the virtual mailbox base MAILBOX.
mail_count() {
	ls "$1/user/new" 2>/dev/null | wc -l
}

# mail_wait_delivered MAILBOX N SECONDS NS DIR: looking every 0.5 s, and running the queue of the
# Postfix of NS in DIR every 5 s, until N mails are in MAILBOX.
mail_wait_delivered() {
	local box=$1 want=$2 limit=$3 ns=$4 dir=$5 t
	for ((t = 1; t <= limit * 2; t++)); do
		[ "$(mail_count "$box")" -ge "$want" ] && return 0
		sleep 0.5
		((t % 10)) || mail_flush "$ns" "$dir"
	done
	[ "$(mail_count "$box")" -ge "$want" ]
}

# mail_wait_sent DIR RELAY-REGEX N: waits up to 10 s until DIR/maillog holds exactly N status=sent
# lines for relay=RELAY-REGEX. The sender's smtp logs after the MX's 250, which may come after the
# MX's own delivery, and postlogd writes asynchronously: a mailbox count alone does not order them.
mail_wait_sent() {
	local dir=$1 relay=$2 want=$3
	og_wait_for 10 mail_sent_is "$dir" "$relay" "$want"
}
mail_sent_is() {
	test "$(grep -cE "relay=$2, .*status=sent" "$1/maillog")" = "$3"
}

# Exim and OpenSMTPD conflict with the machine's Postfix (all provide mail-transport-agent): each
# runs from its own Debian root (mmdebstrap, cached under build/mta/), installed by dpkg with its
# maintainer scripts, answered through debconf as an admin answers dpkg-reconfigure.
#
#   mta_root NAME PACKAGE [DEBCONF-LINES...]   build (once) build/mta/NAME; prints its path
#   exim_root, smtpd_root                      mta_root for Exim and for OpenSMTPD
#   mta_run ROOT NS command...                 the command inside ROOT in the namespace NS
MTA_CACHE="$OG_TOP/build/mta"

mta_root() {
	local name=$1 package="$2,netbase" root="$MTA_CACHE/$1" seed
	shift 2
	seed=$(printf '%s\n' "$@")
	# The cache is valid for the same package and answers (.complete holds them).
	if [ "$(cat "$root/.complete" 2>/dev/null)" != "$package $seed" ]; then
		mkdir -p "$MTA_CACHE"
		rm -rf "$root"
		mmdebstrap --mode=root --variant=minbase --include="$package" \
			--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
			--essential-hook="printf '%s\n' '${seed//\'/}' | chroot \"\$1\" debconf-set-selections" \
			bookworm "$root" >"$MTA_CACHE/$name.build.log" 2>&1 ||
			{ og_log "mta: mmdebstrap $package failed, see $MTA_CACHE/$name.build.log"; return 1; }
		echo "$package $seed" > "$root/.complete"
	fi
	echo "$root"
}

#   mta_run ROOT NS command...                 the command inside ROOT in the namespace NS, with
#                                              its own host name mail.lan.test (a UTS namespace)
#   mta_instance NAME ROOT RESOLVER            a fresh copy of ROOT in $OG_TMP; prints its path
#   mta_wait_delivered MAILBOX N SECONDS FLUSH...  mail_wait_delivered with any queue-run command
# The answers of "dpkg-reconfigure exim4-config" for an internet site, and of opensmtpd's question.
exim_root() {
	mta_root exim exim4-daemon-light \
		"exim4-config exim4/dc_eximconfig_configtype select internet site; mail is sent and received directly using SMTP" \
		"exim4-config exim4/mailname string mail.lan.test" "exim4-config exim4/dc_local_interfaces string 127.0.0.1 ; ::1"
}

smtpd_root() {
	mta_root opensmtpd opensmtpd "opensmtpd opensmtpd/mailname string mail.lan.test"
}

mta_run() {
	local root=$1 ns=$2
	shift 2
	ip netns exec "$ns" unshare --uts chroot "$root" /bin/sh -c 'hostname mail.lan.test && exec "$@"' sh "$@"
}

mta_instance() {
	local name=$1 root=$2 resolver=$3 dir="$OG_TMP/$1-root"
	rm -rf "$dir"
	cp -a "$root" "$dir"
	echo "nameserver $resolver" > "$dir/etc/resolv.conf"
	printf '%s\n' "127.0.0.1 localhost" "127.0.1.1 mail.lan.test mail" "::1 localhost ip6-localhost ip6-loopback" \
		> "$dir/etc/hosts" # as Debian's installer writes it
	echo "$dir"
}

mta_wait_delivered() {
	local box=$1 want=$2 limit=$3 t
	shift 3
	for ((t = 1; t <= limit * 2; t++)); do
		[ "$(mail_count "$box")" -ge "$want" ] && return 0
		sleep 0.5
		((t % 10)) || "$@" >/dev/null 2>&1
	done
	[ "$(mail_count "$box")" -ge "$want" ]
}

# mta_dns_watch NS IF LOG: every DNS query leaving the LAN host, as tcpdump text (OG_SPAWNED);
# mta_dns_queries LOG: the distinct "TYPE? name." the MTA asked, in order.
mta_dns_watch() {
	og_spawn "$1" "$3" tcpdump -i "$2" -n -U -l -Z root udp dst port 53 or tcp dst port 53
}

mta_dns_queries() {
	grep -oE '[A-Z0-9]+\? [^ ]+' "$1" | awk '!seen[$0]++'
}

# mta_listening NS: something listens on 127.0.0.1:25 in NS.
mta_listening() {
	ip netns exec "$1" ss -Hltn 'sport = :25' | grep -q '127\.0\.0\.1:25'
}

# mta_streams_idle GWDIR: every stream the gateway opened is closed (an MTA's cached sessions gone).
mta_streams_idle() {
	[ "$(grep -c ' open after ' "$1/oniongated.log")" = "$(grep -c ' closed: ' "$1/oniongated.log")" ]
}

# mta_banner_close ADDR: reads the banner of ADDR:25 from the LAN and closes without QUIT.
mta_banner_close() {
	ip netns exec "$LAN_NS" timeout 60 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 25), timeout=50)
print(s.makefile("rb").readline().decode(errors="replace").strip())
s.close()' "$1"
}

# mta_half_close_reply ADDR: connects to ADDR:25 from the LAN, sends QUIT, shuts its sending side
# (as Exim does after a pipelined QUIT) and prints the last reply line it reads before EOF.
mta_half_close_reply() {
	ip netns exec "$LAN_NS" timeout 60 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 25), timeout=50)
s.sendall(b"QUIT\r\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
lines = data.decode(errors="replace").strip().splitlines()
print(lines[-1].strip() if lines else "")' "$1"
}
