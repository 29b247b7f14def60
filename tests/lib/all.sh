# SPDX-License-Identifier: ISC
# all.sh: every harness library, in the order they build on each other (common, the private Tor
# network, the gateway, the DNS zones, the LAN's validating resolver, Postfix). Source it instead of
# each one.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$OG_TOP/tests/lib/privnet.sh"
. "$OG_TOP/tests/lib/gateway.sh"
. "$OG_TOP/tests/lib/zones.sh"
. "$OG_TOP/tests/lib/resolver.sh"
. "$OG_TOP/tests/lib/mail.sh"
