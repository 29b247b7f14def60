# SPDX-License-Identifier: ISC
# zones.sh: the test DNS world: an authoritative nsd with test zones that publish
# _onion-mx._tcp SRV records: signed (with a trust anchor), unsigned, and one whose SRV
# signature is broken; and the DANE zones of mx-mode upgrade (a TLS key for the onion MX, TLSA
# records for the real MX hosts). Source after common.sh.
#
#   zones_start NS ADDR DIR ONION_A ONION_B [ONION_MAIL]
#       writes DIR/trust-anchors, starts nsd on ADDR:53; with ONION_MAIL, example.test
#       publishes it as its onion MX (SRV) and mapped.test exists without SRV
#       DIR/mx-tls.key, DIR/mx-tls.crt: the onion MX's key and self-signed certificate, which
#       the TLSA records of mx.dane.test and mx.danemap.test (DANE-EE, SPKI, SHA-256) match:
#         dane.test     signed, MX mx.dane.test (198.51.100.36), SRV ONION_MAIL
#         danemap.test  signed, MX mx.danemap.test (198.51.100.37), no SRV (for the map file)
#         dane6.test    signed, MX mx.dane6.test (IPv6 only: 2001:db8::36), SRV ONION_MAIL
#         alias.test    unsigned, MX mx.signed.test (signed.test's MX host, another onion MX)
#         hijack.test   unsigned, SRV ONION_A, MX mx.plain.test (another domain's MX host)
#   zones_alt_start NS ADDR DIR ONION
#       a second authoritative server on ADDR:53 (the other upstream of the reload tests): its
#       switch.test publishes ONION by SRV and other addresses than the first server's

zones_write() {
	local dir=$1 zone=$2 body=$3
	cat > "$dir/$zone.zone" <<EOT
\$ORIGIN $zone.
\$TTL 300
@ IN SOA ns.$zone. hostmaster.$zone. 1 3600 900 604800 300
@ IN NS ns.$zone.
ns IN A $ZONES_ADDR
$body
EOT
}

# Signs a zone with one key (a KSK used for everything) and appends its DNSKEY to the anchors.
zones_sign() {
	local dir=$1 zone=$2 key
	key=$(cd "$dir" && ldns-keygen -a ECDSAP256SHA256 -k "$zone") || return 1
	(cd "$dir" && ldns-signzone -n "$zone.zone" "$key") || return 1
	grep -v '^;' "$dir/$key.key" >> "$dir/trust-anchors"
}

# Breaks the RRSIG over the _onion-mx SRV set: one base64 character of the signature changes.
zones_break_srv_signature() {
	local file=$1
	awk '/^_onion-mx\._tcp\.[^ \t]*[ \t].*RRSIG[ \t]+SRV/ && !done {
		n = split($0, f, /[ \t]+/); sig = f[n];
		c = substr(sig, 10, 1); r = (c == "A") ? "B" : "A";
		f[n] = substr(sig, 1, 9) r substr(sig, 11);
		line = f[1]; for (i = 2; i <= n; i++) line = line "\t" f[i]; print line; done = 1; next }
		{ print }' "$file" > "$file.tmp" && mv "$file.tmp" "$file"
	grep -q 'RRSIG' "$file"
}

# zones_nsd_server ADDR DIR: the server part of an nsd.conf serving DIR's zones on ADDR:53.
zones_nsd_server() {
	cat <<EOT
server:
	ip-address: $1
	port: 53
	username: ""
	chroot: ""
	zonesdir: "$2"
	pidfile: "$2/nsd.pid"
	database: ""
	zonelistfile: "$2/zone.list"
	xfrdfile: "$2/xfrd.state"
	xfrdir: "$2"
	logfile: "$2/nsd.log"
	verbosity: 1
	rrl-ratelimit: 0
remote-control:
	control-enable: no
EOT
}

# zones_tls DIR: the onion MX's TLS key and certificate; prints the TLSA 3 1 1 data for it.
zones_tls() {
	local dir=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj /CN=mx.dane.test -addext "subjectAltName = DNS:mx.dane.test, DNS:mx.danemap.test" \
		-keyout "$dir/mx-tls.key" -out "$dir/mx-tls.crt" 2>/dev/null || return 1
	openssl x509 -in "$dir/mx-tls.crt" -noout -pubkey | openssl pkey -pubin -outform DER |
		sha256sum | cut -d' ' -f1
}

zones_start() {
	local ns=$1 dir=$3 a=$4 b=$5 mail=${6:-$4} big i tlsa
	ZONES_ADDR=$2
	ZONES_DIR=$dir
	mkdir -p "$dir"
	: > "$dir/trust-anchors"
	zones_write "$dir" signed.test "@ IN MX 10 mx.signed.test.
mx IN A 198.51.100.25
_onion-mx._tcp IN SRV 10 0 25 $a."
	zones_write "$dir" broken.test "@ IN MX 10 mx.broken.test.
mx IN A 198.51.100.26
_onion-mx._tcp IN SRV 10 0 25 $a."
	zones_write "$dir" unsigned.test "@ IN MX 10 mx.unsigned.test.
mx IN A 198.51.100.27
_onion-mx._tcp IN SRV 10 0 25 $b."
	zones_write "$dir" unsigned2.test "@ IN MX 10 mx.unsigned2.test.
mx IN A 198.51.100.28
_onion-mx._tcp IN SRV 10 0 25 $b."
	zones_write "$dir" first.test "@ IN MX 5 mx.first.test.
@ IN MX 20 mx2.first.test.
mx IN A 198.51.100.29
_onion-mx._tcp IN SRV 10 0 25 $a.
_onion-mx._tcp IN SRV 20 0 25 $b."
	zones_write "$dir" example.test "@ IN MX 10 mx.example.test.
mx IN A 198.51.100.31
_onion-mx._tcp IN SRV 10 0 25 $mail."
	zones_write "$dir" fresh.test "@ IN MX 10 mx.fresh.test.
mx IN A 198.51.100.33
_onion-mx._tcp IN SRV 10 0 25 $mail."
	zones_write "$dir" mapped.test "@ IN MX 10 mx.mapped.test.
mx IN A 198.51.100.32"
	zones_write "$dir" switch.test "@ IN MX 10 mx.switch.test.
mx IN A 198.51.100.34
www IN A 198.51.100.90"
	big=""
	for ((i = 0; i < 12; i++)); do big="$big \"padding-$i-0123456789abcdefghijklmnopqrstuvwxyz0123456789\""; done
	zones_write "$dir" plain.test "@ IN MX 10 mx.plain.test.
mx IN A 198.51.100.30
www IN A 198.51.100.80
big IN TXT$big"
	tlsa=$(zones_tls "$dir") || return 1
	zones_write "$dir" dane.test "@ IN MX 10 mx.dane.test.
mx IN A 198.51.100.36
_onion-mx._tcp IN SRV 10 0 25 $mail.
_25._tcp.mx IN TLSA 3 1 1 $tlsa"
	zones_write "$dir" danemap.test "@ IN MX 10 mx.danemap.test.
mx IN A 198.51.100.37
_25._tcp.mx IN TLSA 3 1 1 $tlsa"
	zones_write "$dir" dane6.test "@ IN MX 10 mx.dane6.test.
mx IN AAAA 2001:db8::36
_onion-mx._tcp IN SRV 10 0 25 $mail.
_25._tcp.mx IN TLSA 3 1 1 $tlsa"
	zones_write "$dir" alias.test "@ IN MX 10 mx.signed.test."
	zones_write "$dir" hijack.test "@ IN MX 10 mx.plain.test.
_onion-mx._tcp IN SRV 10 0 25 $a."
	zones_sign "$dir" signed.test || return 1
	zones_sign "$dir" broken.test || return 1
	zones_break_srv_signature "$dir/broken.test.zone.signed" || return 1
	zones_sign "$dir" dane.test || return 1
	zones_sign "$dir" danemap.test || return 1
	zones_sign "$dir" dane6.test || return 1
	{
		zones_nsd_server "$ZONES_ADDR" "$dir"
		for z in signed.test broken.test dane.test danemap.test dane6.test; do
			printf 'zone:\n\tname: %s\n\tzonefile: %s.zone.signed\n' "$z" "$z"
		done
		for z in unsigned.test unsigned2.test first.test plain.test example.test mapped.test fresh.test switch.test \
			alias.test hijack.test; do
			printf 'zone:\n\tname: %s\n\tzonefile: %s.zone\n' "$z" "$z"
		done
	} > "$dir/nsd.conf"
	nsd-checkconf "$dir/nsd.conf" || return 1
	ZONES_NS=$ns
	zones_resume
}

# zones_pause / zones_resume: the authoritative server stopped and started again (fault tests).
zones_pause() {
	og_stop "$ZONES_PID"
}

zones_resume() {
	og_spawn "$ZONES_NS" "$ZONES_DIR/nsd.stdout" nsd -d -c "$ZONES_DIR/nsd.conf"
	ZONES_PID=$OG_SPAWNED
	og_wait_for 10 ip netns exec "$ZONES_NS" dig +short +time=1 +tries=1 @"$ZONES_ADDR" ns.plain.test A >/dev/null
}

zones_alt_start() {
	local ns=$1 addr=$2 dir=$3 onion=$4 main_addr=$ZONES_ADDR
	mkdir -p "$dir"
	ZONES_ADDR=$addr
	zones_write "$dir" switch.test "@ IN MX 10 mx.switch.test.
mx IN A 198.51.100.35
www IN A 198.51.100.91
_onion-mx._tcp IN SRV 10 0 25 $onion."
	ZONES_ADDR=$main_addr
	{
		zones_nsd_server "$addr" "$dir"
		cat <<EOT
zone:
	name: switch.test
	zonefile: switch.test.zone
EOT
	} > "$dir/nsd.conf"
	nsd-checkconf "$dir/nsd.conf" || return 1
	og_spawn "$ns" "$dir/nsd.stdout" nsd -d -c "$dir/nsd.conf"
	ZONES_ALT_PID=$OG_SPAWNED
	og_wait_for 10 ip netns exec "$ns" dig +short +time=1 +tries=1 @"$addr" www.switch.test A >/dev/null
}
