#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# gen.sh: writes the generated seeds of tests/fuzz/seeds/<target>/ (the g-* files): DNS packets of every
# shape the daemon reads, SOCKS5 servers' replies, Tor control replies, configs and map files that use
# every directive. Run by hand after a format change; `make fuzz-check` starts from these corpora.
set -euo pipefail
cd "$(dirname "$0")"

# bin FILE HEX...: the bytes the hex digits spell (spaces ignored).
bin() {
	local f=$1 hex
	shift
	hex=$(printf '%s' "$*" | tr -d ' \n')
	printf '%b' "$(printf '%s' "$hex" | sed 's/../\\x&/g')" > "$f"
}
# name a.b.c: a DNS name in wire form, as hex.
name() {
	local l out="" IFS=.
	for l in $1; do out="$out$(printf '%02x' "${#l}")$(printf '%s' "$l" | od -An -tx1 | tr -d ' \n')"; done
	printf '%s00' "$out"
}
# str TEXT: a character-string (length byte and text), as hex.
str() { printf '%02x%s' "${#1}" "$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')"; }
# rr TYPE CLASS TTL RDATA_HEX: the part of a record after its owner name.
rr() { local d=${4// /}; printf '%04x%04x%08x%04x%s' "$1" "$2" "$3" $((${#d} / 2)) "$d"; }

onion=duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion
d=dnsmsg
# Queries: header (id, flags, qd, an, ns, ar), question, OPT when asked.
bin $d/g-query-a-onion.bin   "a001 0100 0001 0000 0000 0000" "$(name $onion)" 0001 0001
bin $d/g-query-aaaa-onion.bin "a002 0100 0001 0000 0000 0001" "$(name mail.$onion)" 001c 0001 \
	00 0029 04d0 00 00 8000 0000
bin $d/g-query-ptr-v4.bin    "a003 0100 0001 0000 0000 0000" "$(name 78.58.206.10.in-addr.arpa)" 000c 0001
bin $d/g-query-ptr-v6.bin    "a004 0100 0001 0000 0000 0000" \
	"$(name 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.6.f.6.9.6.e.6.f.6.d.f.ip6.arpa)" 000c 0001
bin $d/g-query-ptr-junk.bin  "a005 0100 0001 0000 0000 0000" "$(name 1.0.192.10.in-addr.arpa.evil)" 000c 0001
bin $d/g-query-any-ch.bin    "a006 0100 0001 0000 0000 0000" "$(name $onion)" 00ff 0003
bin $d/g-query-srv.bin       "a007 0100 0001 0000 0000 0001" "$(name _onion-mx._tcp.example.test)" 0021 0001 \
	00 0029 1000 00 00 8000 0000
# EDNS version 1 with a cookie option, DO set.
bin $d/g-query-edns-v1.bin   "a008 0100 0001 0000 0000 0001" "$(name example.test)" 000f 0001 \
	00 0029 0200 00 01 8000 000c 000a 0008 0102030405060708
# Escaped label bytes: a dot, a NUL and a space inside labels.
bin $d/g-query-escapes.bin   "a009 0100 0001 0000 0000 0000" 03 612e62 02 0020 04 74657374 00 0001 0001
# Responses as upstream sends them: compression pointers to the question (c00c) and further in.
q_mx="$(name example.test) 000f 0001"
bin $d/g-resp-mx.bin "b001 8180 0001 0002 0000 0002" "$q_mx" \
	c00c "$(rr 15 1 300 "000a$(name mx.example.test)")" \
	c00c "$(rr 15 1 300 "0014 02 6d32 c00c")" \
	c02c "$(rr 1 1 300 c6336419)" \
	c00c "$(rr 28 1 300 20010db8000000000000000000000019)"
bin $d/g-resp-cname.bin "b002 8180 0001 0002 0000 0000" "$(name www.plain.test) 0001 0001" \
	c00c "$(rr 5 1 60 "$(name web.plain.test)")" \
	"$(name web.plain.test)" "$(rr 1 1 60 c6336450)"
bin $d/g-resp-txt.bin "b003 8180 0001 0001 0000 0000" "$(name big.plain.test) 0010 0001" \
	c00c "$(rr 16 1 300 "$(str padding-0-0123456789abcdefghijklmnopqrstuvwxyz)$(str padding-1)$(str '')")"
bin $d/g-resp-nxdomain.bin "b004 8183 0001 0000 0001 0000" "$(name nope.plain.test) 0001 0001" \
	"$(name plain.test)" "$(rr 6 1 300 "$(name ns.plain.test)$(name hostmaster.plain.test)0000000100000e100000038400093a800000012c")"
# A signed SRV answer (RRSIG type 46 with a short fake signature), AD set.
bin $d/g-resp-srv-signed.bin "b005 81a0 0001 0002 0000 0000" "$(name _onion-mx._tcp.signed.test) 0021 0001" \
	c00c "$(rr 33 1 300 "000a 0000 0019 $(name $onion)")" \
	c00c "$(rr 46 1 300 "0021 0d 04 0000012c 70000000 60000000 1234 $(name signed.test) 00112233445566778899")"
bin $d/g-resp-tc.bin "b006 8380 0001 0000 0000 0000" "$(name big.plain.test) 0010 0001"
# Malformed: a pointer to itself, a pointer past the end, a label running off the packet.
bin $d/g-bad-loop.bin "b007 8180 0001 0001 0000 0000" "$(name a.test) 0001 0001" c018 "$(rr 1 1 1 01020304)"
bin $d/g-bad-ptr.bin  "b008 8180 0001 0001 0000 0000" "$(name a.test) 0001 0001" cfff "$(rr 1 1 1 01020304)"
bin $d/g-bad-label.bin "b009 0100 0001 0000 0000 0000" 3f 6162

s=socks5
# Byte 0 picks the slice length, bit 0 of byte 1 asks for username/password auth; then the server.
bin $s/g-auth-ok.bin   00 01 0502 0100 05000001 7f000001 0019 "$(printf '220 mx ESMTP\r\n' | od -An -tx1 | tr -d ' \n')"
bin $s/g-auth-fail.bin 03 01 0502 0101
bin $s/g-no-method.bin 00 00 05ff
bin $s/g-bad-version.bin 00 00 0400
bin $s/g-bound-domain.bin 06 00 0500 05000003 "$(str example.test)" 0019 3232302068690d0a
bin $s/g-bound-v6.bin  01 00 0500 05000004 20010db8000000000000000000000001 0019
bin $s/g-bad-atyp.bin  00 00 0500 05000009
for code in 01 02 03 04 05 06 07 08 f0 f1 f3 f4 f5 f6 f7; do
	bin $s/g-reply-$code.bin 00 00 0500 05${code}0001 00000000 0000
done

c=ctlreply
printf '250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/run/og/tor/control_auth_cookie"\r\n250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n' \
	> $c/g-protocolinfo.txt
printf '250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=85 TAG=ap_conn_done SUMMARY="Connecting to a relay to build circuits"\r\n250 OK\r\n' \
	> $c/g-bootstrap-phase.txt
printf '552 Unrecognized key "status/nope"\r\n515 Authentication failed: wrong length\r\n510 Unrecognized command\r\n' \
	> $c/g-errors.txt
printf '650 STATUS_CLIENT WARN BOOTSTRAP PROGRESS=10 TAG=conn_done SUMMARY="Connected" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=3 RECOMMENDATION=warn HOSTID="x" HOST=198.51.100.1:5000\r\n650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n650-HS_DESC REQUESTED abc NO_AUTH\r\n650 OK\r\n' \
	> $c/g-events.txt
printf '250+onions/current=\r\nabc\r\n..def\r\n.\r\n250 OK\r\n' > $c/g-data-dot.txt
printf '250-a=1\r\n550 mixed class\r\n250 OK\r\n' > $c/g-mixed-class.txt

f=config
cat > $f/g-every-directive.conf <<EOC
# every directive once, the many-valued ones twice
run-dir /run/oniongate
data-dir /var/lib/oniongate
log-level notice
log-target syslog
tor-option DirAuthority auth0 orport=5000 no-v2 v3ident=0123456789ABCDEF0123456789ABCDEF01234567 198.51.100.1:7000 0123456789ABCDEF0123456789ABCDEF01234567
tor-option TestingTorNetwork 1
user _oniongate
dns-listen 192.0.2.1
dns-listen fd00:0:0:1::1 5353
dns-upstream 198.51.100.53
dns-upstream 2001:db8::53 53
client-network 192.0.2.0/24
client-network fd00:0:0:1::/64
pool-ipv4 10.192.0.0/10
pool-ipv6 fd6f:6e69:6f6e::/64
pool-key 000102030405060708090a0b0c0d0e0f
pool-max 65536
onion-ttl 300
onion-map /etc/oniongate/onionmx.map
srv-discovery on
dnssec require
trust-anchor /usr/share/dns/root.key
mx-policy onion-first
domain example.test onion-only
domain Example.ORG. onion-first
transparent-port 9040
proxy-max-streams 512
proxy-idle-timeout 300
proxy-connect-timeout 120
warm-up on
warm-up-hold 30
nft on
nft-dns-redirect off
redirect-ports 25 465 587
lan-interface eth0
lan-interface br-lan
onion-mx 192.0.2.25 lan.test Example.ORG.
onion-mx-source 192.0.2.200
mx-mode upgrade
upgrade-max 4096
dns-cache-size 1048576
warm-up-keep 3600
control-socket /run/oniongate/control
metrics-listen 192.0.2.1:9099
metrics-allow 192.0.2.0/24
metrics-allow fd00:0:0:1::/64
stall-timeout 300
pool-peer 192.0.2.2
pool-peer [fd00:0:0:1::2]:5353
transport-plugin obfs4 /usr/bin/obfs4proxy
bridge obfs4 198.51.100.7:9443 0123456789ABCDEF0123456789ABCDEF01234567 cert=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA iat-mode=0
EOC
printf 'socks-server /run/tor/socks\ndns-listen 192.0.2.1\nclient-network 192.0.2.0/24\npool-ipv6 fd6f:6e69:6f6e::/112\ndnssec off\nsrv-discovery off\n' \
	> $f/g-socks-server.conf
printf 'pool-max 0\npool-ipv4 10.0.0.1/8\nclient-network 192.0.2.1/24\ndomain a\ndns-listen 300.1.1.1\nlog-level loud\nuser Root\nlan-interface waytoolonginterfacename\nredirect-ports 0 70000\ntransparent-port 9040\ntransparent-port 9041\n' \
	> $f/g-errors.conf

m=mapfile
cat > $m/g-every-form.map <<EOM
# every next-hop form, comments, blank lines, a trailing dot
example.test	smtptor:[$onion]   # brackets
port.test smtptor:[$onion]:2525
bare.test smtptor:$onion
Upper.Test. smtptor:[${onion^^}]

.sub.example.test smtptor:[$onion]
.onion smtptor:
EOM
printf 'a.test smtptor:[%s] extra\nb.test\nc.test relay:[x]\nd.test smtptor:[%s\ne.test smtptor:[%s]:0\nf.test smtptor:%s:25\n.onion smtptor:[%s]\n' \
	"$onion" "$onion" "$onion" "$onion" "$onion" > $m/g-errors.map

x=mxanswer
mkdir -p $x
# Answers as libunbound hands them to mxhosts: MX (two hosts, a tie, a null MX, none), A through a
# CNAME, AAAA, NXDOMAIN.
bin $x/g-mx-two.bin "b001 8180 0001 0002 0000 0000" "$(name signed.test)" 000f 0001 \
	c00c "$(rr 15 1 300 "000a$(name mx.signed.test)")" c00c "$(rr 15 1 60 "0014$(name mx2.other.test)")"
bin $x/g-mx-null.bin "b002 8180 0001 0001 0000 0000" "$(name nomail.test)" 000f 0001 c00c "$(rr 15 1 300 "000000")"
bin $x/g-mx-nodata.bin "b003 8180 0001 0000 0001 0000" "$(name implicit.test)" 000f 0001 \
	c00c "$(rr 6 1 300 "$(name ns.test)$(name host.test)00000001000000010000000100000001 00000001")"
bin $x/g-a-cname.bin "b004 8180 0001 0002 0000 0000" "$(name mx.signed.test)" 0001 0001 \
	c00c "$(rr 5 1 300 "$(name real.signed.test)")" "$(name real.signed.test)" "$(rr 1 1 120 c6336419)"
bin $x/g-aaaa.bin "b005 8180 0001 0001 0000 0000" "$(name mx.signed.test)" 001c 0001 \
	c00c "$(rr 28 1 300 20010db8000000000000000000000019)"
bin $x/g-nxdomain.bin "b006 8183 0001 0000 0000 0000" "$(name gone.test)" 000f 0001

s=smtpdialog
mkdir -p $s
# An MTA's side of the relay check (the first byte picks the slice length): refused, an open relay,
# a multiline banner and EHLO with bare LF, a refused banner, a reply that changes its code.
printf '\x07220 mail.lan.test ESMTP Postfix\r\n250-mail.lan.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.1.0 Ok\r\n554 5.7.1 <relay-test@relay-check.oniongate.invalid>: Relay access denied\r\n221 2.0.0 Bye\r\n' \
	> $s/g-refused.txt
printf '\x1f220 open.test ESMTP\r\n250 open.test\r\n250 Ok\r\n250 Ok\r\n221 Bye\r\n' > $s/g-open.txt
printf '\x00220-first\n220-second\n220 third\n250-a\n250-b\n250 c\n250 ok\n454 4.7.1 relay denied\n' > $s/g-multiline.txt
printf '\x03554 5.3.2 go away\r\n' > $s/g-banner-refused.txt
printf '\x05220-a\r\n250 b\r\n' > $s/g-code-change.txt
