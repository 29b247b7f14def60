# SPDX-License-Identifier: ISC
# test_dhcp121: the gateway beside the LAN's router, not the router. One LAN switch holds the mail
# server, the gateway and a plain router to a host beyond it. The gateway's DHCP server is Debian's
# systemd-networkd running the image's 20-lan.network (its commented lines for this layout taken
# in): option 121 with the pool 10.192.0.0/10 via the gateway and the default route via the router,
# DNS: the gateway; and Router Advertisements routing the IPv6 pool to it (no default router).
# The mail server takes its lease with Debian's dhclient and dhclient-script (its rfc3442 hook),
# its unmodified Postfix delivers to the onion MX through the gateway, and its other traffic
# (TCP to the host beyond the router) goes by the router: the gateway's counters for it stay 0.
# The same lease then comes from dnsmasq with the dhcp-option lines of docs/deployment.md.

dhcp121_t0=$(date +%s.%N)
dhcp121_dir="$OG_TMP/dhcp121"
dhcp121_sw="$OG_RUN_ID-sw"
dhcp121_mta="$OG_RUN_ID-mta"
dhcp121_rtr="$OG_RUN_ID-rtr"
dhcp121_far="$OG_RUN_ID-far"
dhcp121_gw_addr=192.168.42.1
dhcp121_rtr_addr=192.168.42.254
dhcp121_far_addr=198.18.0.10
dhcp121_pool=10.192.0.0/10
dhcp121_pool6=fd6f:6e69:6f6e::/64
mkdir -p "$dhcp121_dir/mailbox" "$dhcp121_dir/etc-systemd/network"
chown nobody "$dhcp121_dir/mailbox"

# dhcp121_port NS IF: a veth from NS (named IF there) to a port of the switch's bridge.
dhcp121_port() {
	local ns=$1 ifname=$2 port="p$((${#OG_NETNS[@]}))$RANDOM"
	ip link add "$ifname" netns "$ns" type veth peer name "$port" netns "$dhcp121_sw"
	ip -n "$dhcp121_sw" link set "$port" master br0 up
	ip -n "$ns" link set "$ifname" up
}

og_netns_add "$dhcp121_sw"
og_netns_add "$dhcp121_mta"
og_netns_add "$dhcp121_rtr"
og_netns_add "$dhcp121_far"
ip -n "$dhcp121_sw" link add br0 type bridge
ip -n "$dhcp121_sw" link set br0 up
# The router: 192.168.42.254 on the LAN, forwarding to the host beyond it (198.18.0.10).
dhcp121_port "$dhcp121_rtr" lan0
ip -n "$dhcp121_rtr" addr add "$dhcp121_rtr_addr/24" dev lan0
ip -n "$dhcp121_rtr" addr add fd42:42::fe/64 dev lan0 nodad
og_link "$dhcp121_rtr" 198.18.0.1/24 "$dhcp121_far" "$dhcp121_far_addr/24" > /dev/null
ip -n "$dhcp121_far" route add default via 198.18.0.1
ip netns exec "$dhcp121_rtr" sysctl -q -w net.ipv4.ip_forward=1
ip netns exec "$dhcp121_rtr" nft -f - <<EOF
table inet dhcp121_watch {
	chain forward_watch { type filter hook forward priority 0; ip daddr $dhcp121_far_addr counter; }
}
EOF
og_spawn "$dhcp121_far" "$dhcp121_dir/echod.log" "$OG_TOOLS/echod" "$dhcp121_far_addr" 7777
# dhcp121_gw_state: the gateway namespace's links, addresses and routes, which the later tests share.
dhcp121_gw_state() { ip -n "$GW_NS" -br addr; ip -n "$GW_NS" route; ip -n "$GW_NS" -6 route; }
dhcp121_gw_unchanged() { [ "$(dhcp121_gw_state)" = "$dhcp121_gw_before" ]; }
dhcp121_gw_before=$(dhcp121_gw_state)
# The gateway's LAN port (its WAN stays the world's link to the Tor network), with counters of
# what it takes from the LAN: to the host beyond the router, and to the pool.
dhcp121_port "$GW_NS" lan42
ip netns exec "$GW_NS" nft -f - <<EOF
table inet dhcp121_watch {
	chain pre {
		type filter hook prerouting priority -300;
		iifname "lan42" ip daddr $dhcp121_far_addr counter
		iifname "lan42" ip saddr $dhcp121_far_addr counter
		iifname "lan42" ip daddr $dhcp121_pool counter
		iifname "lan42" ip6 daddr $dhcp121_pool6 counter
	}
}
EOF
# dhcp121_counter NS MATCH: the packets counted by the dhcp121_watch rule whose text has MATCH.
dhcp121_counter() {
	ip netns exec "$1" nft list table inet dhcp121_watch |
		awk -v m="$2" 'index($0, m) { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# The image's LAN file as it ships, but for the interface name and its commented lines for this
# layout taken in (option 121; Router Advertisements routing the IPv6 pool, no default router).
sed -e 's/^Name=eth1$/Name=lan42/' -e 's/^#\([^ ]\)/\1/' \
	"$OG_TOP/image/rootfs/etc/systemd/network/20-lan.network" > "$dhcp121_dir/etc-systemd/network/20-lan.network"
printf '[Network]\nManageForeignRoutes=no\nManageForeignRoutingPolicyRules=no\n' > "$dhcp121_dir/etc-systemd/networkd.conf"
og_check "the image's 20-lan.network carries the lines (commented) for this layout: option 121, IPv6 pool route" \
	test "$(grep -cx 'SendOption=121:string:.*\|Route=fd6f:6e69:6f6e::/64' "$dhcp121_dir/etc-systemd/network/20-lan.network")" = 2
# networkd in the gateway's namespace, with its own /etc/systemd and /run/systemd (the mount
# namespace of ip netns exec), and /sys read-only: with no udev here it then takes links as they are.
og_spawn "$GW_NS" "$dhcp121_dir/networkd.log" env SYSTEMD_LOG_LEVEL=debug sh -c \
	"mount --bind '$dhcp121_dir/etc-systemd' /etc/systemd && mount -t tmpfs tmpfs /run/systemd &&
	 mount -o remount,bind,ro /sys && exec /usr/lib/systemd/systemd-networkd"
dhcp121_networkd_pid=$OG_SPAWNED
og_check "networkd's DHCP server starts on the gateway's LAN port" \
	og_wait_for 20 grep -q 'lan42: DHCPv4 server: STARTED' "$dhcp121_dir/networkd.log"
# The LAN's IPv6 prefix (the router's) is on the gateway's LAN port: it answers the mail server there.
ip -n "$GW_NS" -6 route add fd42:42::/64 dev lan42

pfmx=$(privnet_onion pfmx)
mx_conf=("myhostname = mx.onion.test" "inet_interfaces = 127.0.0.1" "mydestination = localhost"
	"virtual_mailbox_domains = example.test $pfmx" "virtual_mailbox_base = $dhcp121_dir/mailbox"
	"virtual_mailbox_maps = static:user/" "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534")
og_check "the onion MX's Postfix starts" mail_start mx "$WAN_NS" "$dhcp121_dir/pf-mx" 127.0.0.1 "${mx_conf[@]}"
gw_config "$dhcp121_dir/gw" "dns-listen $dhcp121_gw_addr" "dns-upstream $WAN_DNS_ADDR" \
	"client-network 192.168.42.0/24" "client-network fd42:42::/64" "transparent-port 9040" "lan-interface lan42" \
	"trust-anchor $OG_TMP/zones/trust-anchors" "proxy-connect-timeout 20"
gw_start "$dhcp121_dir/gw"
og_check "the gateway's Tor is ready" og_wait_for 60 gw_log_has "$dhcp121_dir/gw" "tor ready"

# The mail server: an address-less port, Debian's dhclient with its stock dhclient.conf and
# dhclient-script; resolv.conf is the namespace's (ip netns exec binds it over /etc/resolv.conf).
# IPv6: an address of the router's prefix and the default via the router (static: the router here
# sends no RA); a Route Information option is taken only with accept_ra_rt_info_max_plen >= 64.
ip netns exec "$dhcp121_mta" sysctl -q -w net.ipv6.conf.default.accept_ra_rt_info_max_plen=64
dhcp121_port "$dhcp121_mta" eth0
ip -n "$dhcp121_mta" addr add fd42:42::10/64 dev eth0 nodad
ip -n "$dhcp121_mta" -6 route add default via fd42:42::fe dev eth0
mkdir -p "/etc/netns/$dhcp121_mta"
OG_ETC_NETNS+=("/etc/netns/$dhcp121_mta")
: > "/etc/netns/$dhcp121_mta/resolv.conf"
# dhcp121_route DEST: the mail server's routes to DEST, one line each, with no trailing blank.
dhcp121_route() { ip -n "$dhcp121_mta" -4 route show "$1" | sed 's/ *$//'; }
# dhcp121_lease SERVER: dhclient takes a lease from SERVER (a name for the logs), and the lease,
# the routes and resolv.conf it leaves are checked.
dhcp121_lease() {
	local server=$1 leases="$dhcp121_dir/dhclient-$1.leases" log="$dhcp121_dir/dhclient-$1.log" t0
	t0=$(date +%s.%N)
	og_spawn "$dhcp121_mta" "$log" dhclient -4 -d -v -lf "$leases" -pf "$dhcp121_dir/dhclient.pid" eth0
	dhcp121_dhclient_pid=$OG_SPAWNED
	og_check "$server: dhclient is bound to a lease from the gateway" \
		og_wait_for 30 grep -q '^bound to 192\.168\.42\.' "$log"
	echo "dhcp121: $server: lease applied $(privnet_since "$t0") s after dhclient started"
	og_check "$server: the lease has option 121: the pool via the gateway, the default via the router" \
		grep -q "option rfc3442-classless-static-routes 10,10,192,192,168,42,1,0,192,168,42,254;" "$leases"
	og_check "$server: the lease's DNS server is the gateway" \
		grep -q "option domain-name-servers $dhcp121_gw_addr;" "$leases"
	ip -n "$dhcp121_mta" -4 route | sed "s/^/dhcp121: $server: route: /"
	og_check "$server: the mail server routes the pool via the gateway" \
		test "$(dhcp121_route "$dhcp121_pool")" = "$dhcp121_pool via $dhcp121_gw_addr dev eth0"
	og_check "$server: the mail server's default route is the router" \
		test "$(dhcp121_route default)" = "default via $dhcp121_rtr_addr dev eth0"
	og_check "$server: dhclient-script wrote the gateway as the resolver" \
		grep -qx "nameserver $dhcp121_gw_addr" "/etc/netns/$dhcp121_mta/resolv.conf"
}
dhcp121_lease networkd
dhcp121_resolver=$(awk '$1 == "nameserver" { print $2; exit }' "/etc/netns/$dhcp121_mta/resolv.conf")

og_check "the mail server's Postfix starts (stock master.cf, resolver: the lease's DNS server)" \
	mail_start lan "$dhcp121_mta" "$dhcp121_dir/pf-lan" "$dhcp121_resolver" "myhostname = mail.lan.test" \
	"mydestination = localhost" "mynetworks = 127.0.0.0/8 192.168.42.0/24"
pool_addr=$(ip netns exec "$dhcp121_mta" dig +short @"$dhcp121_resolver" "$pfmx" A)
og_check "the onion's pool address ($pool_addr) is routed via the gateway" \
	bash -c "ip -n '$dhcp121_mta' route get '$pool_addr' | grep -q ' via $dhcp121_gw_addr dev eth0 '"
t0=$(date +%s.%N)
for rcpt in user@example.test "user@$pfmx"; do
	og_check "swaks submits a mail for $rcpt to the mail server's Postfix" mail_submit "$dhcp121_mta" "$rcpt" "to $rcpt"
done
og_check "both mails reach the onion MX's mailbox" \
	mail_wait_delivered "$dhcp121_dir/mailbox" 2 60 "$dhcp121_mta" "$dhcp121_dir/pf-lan"
echo "dhcp121: $(mail_count "$dhcp121_dir/mailbox") of 2 mails delivered $(privnet_since "$t0") s after submission"
og_check "the mail server's log shows relay=<onion>[<pool address>]:25 status=sent, twice" \
	mail_wait_sent "$dhcp121_dir/pf-lan" "$pfmx\[(10\.[0-9.]+|fd6f:6e69:6f6e:[0-9a-f:]+)\]:25" 2

# Other traffic: TCP to the host beyond the router, bytes echoed back; the router forwarded it,
# the gateway took none of it (while it did take the mail's packets to the pool).
og_check "TCP from the mail server to the host beyond the router is echoed back" \
	bash -c "printf 'dhcp121 probe\n' | ip netns exec '$dhcp121_mta' nc -q 2 -w 5 $dhcp121_far_addr 7777 | grep -qx 'dhcp121 probe'"
echo "dhcp121: gateway counters: to the far host $(dhcp121_counter "$GW_NS" "daddr $dhcp121_far_addr")," \
	"from it $(dhcp121_counter "$GW_NS" "saddr $dhcp121_far_addr"), to the pools $(dhcp121_counter "$GW_NS" "daddr $dhcp121_pool")" \
	"and $(dhcp121_counter "$GW_NS" "daddr $dhcp121_pool6");" \
	"router forwarded to the far host $(dhcp121_counter "$dhcp121_rtr" "daddr $dhcp121_far_addr")"
og_check "the router forwarded that flow" test "$(dhcp121_counter "$dhcp121_rtr" "daddr $dhcp121_far_addr")" -gt 0
og_check "the gateway took no packet of it (to or from the far host: 0)" \
	test "$(dhcp121_counter "$GW_NS" "daddr $dhcp121_far_addr")/$(dhcp121_counter "$GW_NS" "saddr $dhcp121_far_addr")" = 0/0
og_check "the gateway did take the mail's packets to the pools" \
	test "$(($(dhcp121_counter "$GW_NS" "daddr $dhcp121_pool") + $(dhcp121_counter "$GW_NS" "daddr $dhcp121_pool6")))" -gt 0

# The IPv6 pool: routed via the gateway by its Router Advertisement, the default staying the router's.
og_check "the mail server routes the IPv6 pool via the gateway's link-local address (RA route information)" \
	og_wait_for 10 bash -c "ip -n '$dhcp121_mta' -6 route show $dhcp121_pool6 | grep -q '^$dhcp121_pool6 via fe80::[0-9a-f:]* dev eth0 proto ra '"
og_check "the gateway's RA made it no IPv6 default router (the default is still the router)" \
	test "$(ip -n "$dhcp121_mta" -6 route show default | awk '{ print $1, $2, $3 }')" = "default via fd42:42::fe"
pool6_addr=$(ip netns exec "$dhcp121_mta" dig +short @"$dhcp121_resolver" "$pfmx" AAAA)
dhcp121_v6_before=$(dhcp121_counter "$GW_NS" "daddr $dhcp121_pool6")
og_check "TCP to the onion's IPv6 pool address ($pool6_addr) reads the onion MX's banner" \
	bash -c "printf 'QUIT\r\n' | ip netns exec '$dhcp121_mta' nc -w 30 '$pool6_addr' 25 | grep -q '^220 mx.onion.test '"
og_check "the gateway took that connection's packets" \
	test "$(dhcp121_counter "$GW_NS" "daddr $dhcp121_pool6")" -gt "$dhcp121_v6_before"

# The same lease from dnsmasq instead, with the dhcp-option lines docs/deployment.md gives in its
# section on this layout (taken from there, as written); networkd stopped and the mail server's
# IPv4 lease, address and routes dropped first.
og_stop "$dhcp121_networkd_pid"
og_stop "$dhcp121_dhclient_pid"
ip -n "$dhcp121_mta" -4 route flush dev eth0
ip -n "$dhcp121_mta" -4 addr flush dev eth0
: > "/etc/netns/$dhcp121_mta/resolv.conf"
ip -n "$GW_NS" addr replace "$dhcp121_gw_addr/24" dev lan42
awk '/^## / { mine = ($0 == "## The gateway beside the LAN'"'"'s router") } mine && /^ *dhcp-option=/ { print $1 }' \
	"$OG_TOP/docs/deployment.md" > "$dhcp121_dir/dnsmasq-options.conf"
og_check "docs/deployment.md gives three dnsmasq dhcp-option lines, one of them option 121" \
	test "$(wc -l < "$dhcp121_dir/dnsmasq-options.conf")/$(grep -c '^dhcp-option=121,' "$dhcp121_dir/dnsmasq-options.conf")" = 3/1
og_spawn "$GW_NS" "$dhcp121_dir/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file="$dhcp121_dir/dnsmasq-options.conf" \
	--port=0 --interface=lan42 --bind-interfaces --dhcp-range=192.168.42.100,192.168.42.199,255.255.255.0,1h \
	--dhcp-leasefile="$dhcp121_dir/dnsmasq.leases" --pid-file= --log-dhcp --log-facility=-
dhcp121_dnsmasq_pid=$OG_SPAWNED
dhcp121_lease dnsmasq
t0=$(date +%s.%N)
og_check "dnsmasq: swaks submits a mail for the onion to the mail server's Postfix" \
	mail_submit "$dhcp121_mta" "user@$pfmx" "after the dnsmasq lease"
og_check "dnsmasq: the mail reaches the onion MX's mailbox" \
	mail_wait_delivered "$dhcp121_dir/mailbox" 3 60 "$dhcp121_mta" "$dhcp121_dir/pf-lan"
echo "dhcp121: dnsmasq: $(mail_count "$dhcp121_dir/mailbox") of 3 mails delivered $(privnet_since "$t0") s after submission"

og_check "no mail bounced" test "$(grep -c "status=bounced" "$dhcp121_dir/pf-lan/maillog")" = 0
mail_stop "$dhcp121_dir/pf-lan"
mail_stop "$dhcp121_dir/pf-mx"
gw_stop "$dhcp121_dir/gw"
og_check "the gateway stops with exit 0" test $? = 0
og_stop "$dhcp121_dhclient_pid"
og_stop "$dhcp121_dnsmasq_pid"
ip netns exec "$GW_NS" nft delete table inet dhcp121_watch
# The switch and the hosts on it go; with them the gateway's LAN port (its veth peer is in the switch).
for ns in "$dhcp121_mta" "$dhcp121_rtr" "$dhcp121_far" "$dhcp121_sw"; do
	ip netns del "$ns"
done
og_check "the gateway's LAN port went with the switch, its namespace's addresses and routes are as before" \
	og_wait_for 10 dhcp121_gw_unchanged
echo "dhcp121: the test took $(privnet_since "$dhcp121_t0") s"
