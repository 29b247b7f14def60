# SPDX-License-Identifier: ISC
# mail.sh: real Postfix instances for the tests, one per namespace, each in its own directory
# (config, queue, data) with Debian's stock master.cf, run in the foreground (start-fg) with the
# log on stdout. Source after common.sh.
#
#   mail_start NAME NS DIR RESOLVER [main.cf lines...]   the log is DIR/maillog
#   mail_submit NS RCPT SUBJECT, mail_count MAILBOX, mail_wait_delivered MAILBOX N SECONDS NS DIR
#   (MAIL_MASTER_APPEND, when set, is appended to the stock master.cf: the benchmark's smtptor)
#   mail_stop DIR

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
